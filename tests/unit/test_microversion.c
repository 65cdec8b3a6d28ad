/* test_microversion.c: spec §2 header parsing, every value rule. */
#include "unit.h"
#include "ferry/microversion.h"

static int minor_of(const char *api, const char *nova, int *code,
                    char *echo)
{
    struct mv mv = { 0 };
    struct ferr e = { 0 };
    int rc = mv_parse(api, nova, &mv, &e);

    *code = -rc;
    if (echo != NULL) {
        strcpy(echo, mv.echo);
    }
    if (rc == 0) {
        return mv.minor;
    }
    return -1;
}

static const char *msg_of(const char *api, const char *nova)
{
    static struct ferr e;
    struct mv mv = { 0 };

    ferr_clear(&e);
    mv_parse(api, nova, &mv, &e);
    return ferr_msg(&e);
}

int main(void)
{
    int code;
    char echo[256];

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
    CHECK_STR(msg_of(NULL, "2.94"), "Version 2.94 is not supported by the "
              "API. Minimum is 2.1 and maximum is 2.93.");
    CHECK_INT(minor_of(NULL, "2.0", &code, echo), -1);
    CHECK_INT(code, FE_NOTACCEPT);
    CHECK_INT(minor_of(NULL, "3.0", &code, echo), -1);
    CHECK_INT(code, FE_NOTACCEPT);
    CHECK_INT(minor_of(NULL, "1.5", &code, echo), -1);
    CHECK_INT(code, FE_NOTACCEPT);
    CHECK_INT(minor_of(NULL, "2.123456789012", &code, echo), -1);
    CHECK_INT(code, FE_NOTACCEPT);

    static const char *bad[] = { "2", "2.01", "02.1", "2.1.1", "v2.1",
                                 "Latest", "", "2.", ".1", "2.-1", "2.a" };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        CHECK_INT(minor_of(NULL, bad[i], &code, NULL), -1);
        CHECK_INT(code, FE_BADREQ);
    }
    CHECK_STR(msg_of(NULL, ""), "API Version String  is of invalid format. "
              "Must be of format MajorNum.MinorNum.");
    CHECK_STR(msg_of("compute v2.1", NULL), "API Version String v2.1 is of "
              "invalid format. Must be of format MajorNum.MinorNum.");
    return unit_done("test_microversion");
}
