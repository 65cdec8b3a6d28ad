/* test_util.c: arena, sbuf, UTF-8, UUID, SHA-224, time formats and the
 * spellings of a boolean. */
#include <stdlib.h>
#include <time.h>
#include "unit.h"
#include "ferry/util.h"
#include "ferry/err.h"

/* Each caller's spellings, as they were before str_bool: oslo's (the API)
 * with the one-letter forms, ferry.conf's without; any case; no trim. */
static void test_str_bool(void)
{
    static const char *const oslo_yes[] = { "1",   "t",    "true", "on", "y",
                                            "yes", "TRUE", "Yes",  "T" };
    static const char *const oslo_no[] = { "0",  "f",     "false", "off", "n",
                                           "no", "FALSE", "No",    "F" };
    static const char *const conf_yes[] = { "1", "true", "on", "yes", "ON" };
    static const char *const conf_no[] = { "0", "false", "off", "no", "NO" };
    static const char *const neither[] = { "",      " true", "true ", "tru",
                                           "truee", "2",     "yess",  "nope" };
    size_t i;

    for (i = 0; i < ARRAY_LEN(oslo_yes); i++) {
        CHECK_INT(str_bool(oslo_yes[i], strlen(oslo_yes[i]), BOOL_OSLO), 1);
    }
    for (i = 0; i < ARRAY_LEN(oslo_no); i++) {
        CHECK_INT(str_bool(oslo_no[i], strlen(oslo_no[i]), BOOL_OSLO), 0);
    }
    for (i = 0; i < ARRAY_LEN(conf_yes); i++) {
        CHECK_INT(str_bool(conf_yes[i], strlen(conf_yes[i]), BOOL_CONF), 1);
    }
    for (i = 0; i < ARRAY_LEN(conf_no); i++) {
        CHECK_INT(str_bool(conf_no[i], strlen(conf_no[i]), BOOL_CONF), 0);
    }
    for (i = 0; i < ARRAY_LEN(neither); i++) {
        CHECK_INT(str_bool(neither[i], strlen(neither[i]), BOOL_OSLO), -1);
        CHECK_INT(str_bool(neither[i], strlen(neither[i]), BOOL_CONF), -1);
    }
    /* the one-letter forms are oslo's only */
    CHECK_INT(str_bool("t", 1, BOOL_CONF), -1);
    CHECK_INT(str_bool("Y", 1, BOOL_CONF), -1);
    CHECK_INT(str_bool("n", 1, BOOL_CONF), -1);
    /* the length counts, not a NUL */
    CHECK_INT(str_bool("yes", 2, BOOL_OSLO), -1);
    CHECK_INT(str_bool("on\0x", 4, BOOL_OSLO), -1);
    CHECK_INT(str_bool("ye", 3, BOOL_OSLO), -1);
}

int main(void)
{
    struct arena a;
    struct sbuf s;
    struct ferr e = { 0 };
    char u[37], h[57], t[27];
    char big[5000];
    int i;

    arena_init(&a, 64);
    CHECK_STR(arena_printf(&a, "%s-%d", "x", 42), "x-42");
    for (i = 0; i < 100; i++) {
        CHECK(arena_alloc(&a, 100) != NULL);
    }
    arena_reset(&a);
    CHECK_STR(arena_strndup(&a, "abcdef", 3), "abc");
    CHECK_STR(arena_cat(&a, (char *) NULL), "");
    CHECK_STR(arena_cat(&a, "https://h", "/v2.1", "", "/p1", (char *) NULL),
              "https://h/v2.1/p1");
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    CHECK(strlen(arena_cat(&a, big, "/", big, (char *) NULL))
          == 2 * (sizeof(big) - 1) + 1); /* beyond the 64-byte chunk */
    arena_free(&a);

    sbuf_init(&s);
    for (i = 0; i < 1000; i++) {
        sbuf_printf(&s, "%d,", i % 10);
    }
    CHECK_INT(s.len, 2000);
    sbuf_reset(&s);
    sbuf_put_u64(&s, 0);
    sbuf_putc(&s, ' ');
    sbuf_put_u64(&s, 413);
    sbuf_putc(&s, ' ');
    sbuf_put_u64(&s, UINT64_MAX);
    CHECK_STR(s.buf, "0 413 18446744073709551615");
    sbuf_free(&s);

    /* XML escaping of text from domain XML going into pool/volume XML */
    sbuf_init(&s);
    sbuf_put_xml(&s, "a<b>c&d'e\"f");
    CHECK_STR(s.buf, "a&lt;b&gt;c&amp;d&apos;e&quot;f");
    sbuf_reset(&s);
    sbuf_put_xml(&s, "/var/x</path><target>/etc</target>");
    CHECK_STR(s.buf, "/var/x&lt;/path&gt;&lt;target&gt;/etc&lt;/target&gt;");
    sbuf_reset(&s);
    sbuf_put_xml(&s, "raw'/><x a='");
    CHECK_STR(s.buf, "raw&apos;/&gt;&lt;x a=&apos;");
    sbuf_reset(&s);
    sbuf_put_xml(&s, "");
    sbuf_put_xml(&s, "&amp;");
    sbuf_put_xml(&s, "plain/path.qcow2");
    CHECK_STR(s.buf, "&amp;amp;plain/path.qcow2");
    sbuf_free(&s);

    CHECK(utf8_valid("h\xc3\xa9llo", 6));
    CHECK(!utf8_valid("\xc3", 1));
    CHECK(!utf8_valid("\xc0\xaf", 2));         /* overlong */
    CHECK(!utf8_valid("\xed\xa0\x80", 3));     /* surrogate */
    CHECK(!utf8_valid("\xf4\x90\x80\x80", 4)); /* > U+10FFFF */
    CHECK_INT(utf8_codepoints("h\xc3\xa9", 3), 2);

    uuid4(u);
    CHECK(uuid_valid(u));
    CHECK(u[14] == '4');
    CHECK(uuid_valid("6F9619FF-8B86-D011-B42D-00C04FC964FF"));
    CHECK(!uuid_valid("6f9619ff8b86d011b42d00c04fc964ff"));
    CHECK(!uuid_valid("6f9619ff-8b86-d011-b42d-00c04fc964fg"));

    sha224_hex("", 0, h);
    CHECK_STR(h, "d14a028c2a3a2bc9476102bb288234c415a2b01f828ea62ac5b3e42f");
    sha224_hex("abc", 3, h);
    CHECK_STR(h, "23097d223405d8228642a477bda255b32aadbce4bda0b3f7e36c9da7");
    sha224_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56,
               h);
    CHECK_STR(h, "75388b16512776cc5dba5da1fd890150b0c6455cb4f58b1952522525");

    time_usformat(1700000000123456LL, t);
    CHECK_STR(t, "2023-11-14T22:13:20.123456");
    time_zformat(1700000000, t);
    CHECK_STR(t, "2023-11-14T22:13:20Z");
    time_zformat(0, t);
    CHECK_STR(t, "1970-01-01T00:00:00Z");
    time_usformat(951782399000007LL, t); /* a leap year's day */
    CHECK_STR(t, "2000-02-28T23:59:59.000007");
    time_zformat(253402300799LL, t); /* the last of 9999 */
    CHECK_STR(t, "9999-12-31T23:59:59Z");
    {
        /* time_tmformat spells what strftime does, over a century */
        struct tm tm;
        char want[32], got[20];
        time_t x;

        for (x = 0; x < 4102444800; x += 86399 * 37 + 13) {
            gmtime_r(&x, &tm);
            strftime(want, sizeof(want), "%Y-%m-%dT%H:%M:%S", &tm);
            time_tmformat(&tm, got);
            if (strcmp(want, got) != 0) {
                CHECK_STR(got, want);
                break;
            }
        }
    }

    CHECK_INT(ferr_set(&e, FE_CONFLICT, "x %d", 1), -FE_CONFLICT);
    CHECK_INT(ferr_set(&e, FE_BADREQ, "second"), -FE_CONFLICT);
    CHECK_STR(ferr_msg(&e), "x 1");
    ferr_clear(&e);
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    ferr_set(&e, FE_BADREQ, "%s", big);
    CHECK_INT(strlen(ferr_msg(&e)), sizeof(big) - 1);
    ferr_clear(&e);
    test_str_bool();
    return unit_done("test_util");
}
