/* test_microversion.c: spec §2 header parsing, every value rule. */
#include "unit.h"
#include "ferry/microversion.h"

static int minor_of(const char *api, const char *nova, int *code, char *echo)
{
    struct mv mv = { 0 };
    struct ferr e = { 0 };
    struct arena a;
    int rc;

    arena_init(&a, 1024);
    rc = mv_parse(&a, api, nova, &mv, &e);
    *code = -rc;
    if (echo != NULL) {
        snprintf(echo, 4096, "%s", mv.echo ? mv.echo : "");
    }
    arena_free(&a);
    if (rc == 0) {
        return mv.minor;
    }
    return -1;
}

static const char *msg_of(const char *api, const char *nova)
{
    static struct ferr e;
    struct mv mv = { 0 };

    static struct arena a;
    static int ready;

    if (!ready) {
        arena_init(&a, 1024);
        ready = 1;
    }
    ferr_clear(&e);
    mv_parse(&a, api, nova, &mv, &e);
    return ferr_msg(&e);
}

int main(void)
{
    int code;
    char echo[4096], longv[1024];

    CHECK_INT(minor_of(NULL, NULL, &code, echo), 1);
    CHECK_STR(echo, "2.1");
    CHECK_INT(minor_of("compute 2.25", NULL, &code, NULL), 25);
    CHECK_INT(minor_of("COMPUTE   2.30 ", NULL, &code, NULL), 30);
    CHECK_INT(minor_of("compute 2.10, compute 2.9", NULL, &code, NULL), 9);
    CHECK_INT(minor_of("compute 2.9, volume 3.1", NULL, &code, NULL), 9);
    CHECK_INT(minor_of("volume 3.1", "2.40", &code, NULL), 40);
    CHECK_INT(minor_of("compute2.5", "2.3", &code, NULL), 3);
    CHECK_INT(minor_of(NULL, "2.3, 2.7", &code, NULL), 7);
    CHECK_INT(minor_of(NULL, "latest", &code, echo), 93);
    CHECK_STR(echo, "2.93");
    CHECK_INT(minor_of("compute latest", "2.5", &code, NULL), 93);
    CHECK_INT(minor_of(NULL, "2.93", &code, NULL), 93);
    CHECK_INT(minor_of(NULL, "2.10", &code, NULL), 10);

    CHECK_INT(minor_of(NULL, "2.94", &code, echo), -1);
    CHECK_INT(code, FE_NOTACCEPT);
    CHECK_STR(echo, "2.94");
    CHECK_STR(msg_of(NULL, "2.94"),
              "Version 2.94 is not supported by the "
              "API. Minimum is 2.1 and maximum is 2.93.");
    /* a long value is taken whole (it was cut to 199 bytes): 406 with
     * the whole value echoed and in the message */
    memset(longv, '1', sizeof(longv) - 1);
    longv[0] = '2';
    longv[1] = '.';
    longv[sizeof(longv) - 1] = '\0';
    CHECK_INT(minor_of(NULL, longv, &code, echo), -1);
    CHECK_INT(code, FE_NOTACCEPT);
    CHECK_INT((int) strlen(echo), (int) strlen(longv));
    CHECK(strstr(msg_of(NULL, longv), longv) != NULL);
    longv[600] = 'x';
    CHECK_INT(minor_of(NULL, longv, &code, NULL), -1);
    CHECK_INT(code, FE_BADREQ);
    CHECK_INT(minor_of(NULL, "2.0", &code, echo), -1);
    CHECK_INT(code, FE_NOTACCEPT);
    CHECK_INT(minor_of(NULL, "3.0", &code, echo), -1);
    CHECK_INT(code, FE_NOTACCEPT);
    CHECK_INT(minor_of(NULL, "1.5", &code, echo), -1);
    CHECK_INT(code, FE_NOTACCEPT);
    CHECK_INT(minor_of(NULL, "2.123456789012", &code, echo), -1);
    CHECK_INT(code, FE_NOTACCEPT);

    static const char *bad[] = { "2", "2.01", "02.1", "2.1.1", "v2.1", "Latest",
                                 "",  "2.",   ".1",   "2.-1",  "2.a" };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        CHECK_INT(minor_of(NULL, bad[i], &code, NULL), -1);
        CHECK_INT(code, FE_BADREQ);
    }
    CHECK_STR(msg_of(NULL, ""),
              "API Version String  is of invalid format. "
              "Must be of format MajorNum.MinorNum.");
    CHECK_STR(msg_of("compute v2.1", NULL),
              "API Version String v2.1 is of "
              "invalid format. Must be of format MajorNum.MinorNum.");
    return unit_done("test_microversion");
}
