/*
 * test_json.c: json_parse against Python's json.loads (what it accepts and
 * what it refuses), the Python str()/repr() printer of spec §3.4, and the
 * streaming writer.
 */
#include <math.h>
#include <stdlib.h>

#include "unit.h"
#include "ferry/json.h"

static int parses(const char *s)
{
    jnode *n;

    if (json_parse(s, strlen(s), &n) != 0) {
        return 0;
    }
    json_free(n);
    return 1;
}

static int parses_n(const char *s, size_t len)
{
    jnode *n;

    if (json_parse(s, len, &n) != 0) {
        return 0;
    }
    json_free(n);
    return 1;
}

/* repr() of the parsed document, or "PARSE ERROR". */
static const char *repr_of(const char *s)
{
    static char out[4096];
    struct sbuf sb;
    jnode *n;

    if (json_parse(s, strlen(s), &n) != 0) {
        return "PARSE ERROR";
    }
    sbuf_init(&sb);
    json_pyrepr(&sb, n);
    snprintf(out, sizeof(out), "%s", sb.buf);
    sbuf_free(&sb);
    json_free(n);
    return out;
}

static const char *str_of(const char *s)
{
    static char out[4096];
    struct sbuf sb;
    jnode *n;

    if (json_parse(s, strlen(s), &n) != 0) {
        return "PARSE ERROR";
    }
    sbuf_init(&sb);
    json_pystr(&sb, n);
    snprintf(out, sizeof(out), "%s", sb.buf);
    sbuf_free(&sb);
    json_free(n);
    return out;
}

static void test_accept(void)
{
    /* whitespace around the value is only JSON whitespace */
    CHECK(parses(" \t\r\n{\"a\": 1} \n"));
    CHECK(parses("null"));
    CHECK(parses("1"));
    CHECK(parses("-0"));
    CHECK(parses("1.5e-3"));
    CHECK(parses("1E+2"));
    CHECK(parses("\"x\""));
    CHECK(parses("[]"));
    CHECK(parses("{}"));
    CHECK(parses("NaN"));
    CHECK(parses("Infinity"));
    CHECK(parses("-Infinity"));
    CHECK(parses("[NaN, Infinity, -Infinity]"));
    CHECK(parses("\"\\u00e9\\ud83d\\ude00\\/\\b\\f\\n\\r\\t\\\"\\\\\""));
    CHECK(parses("\"\x7f\"")); /* DEL is no control char */
    CHECK(parses("\"\xc3\xa9\""));
    CHECK(parses("\"\\ud800\"")); /* lone surrogate escape */
    CHECK(parses("123456789012345678901234567890"));

    /* depth beyond json-c's default of 32 */
    {
        char buf[402];
        int i;

        for (i = 0; i < 200; i++) {
            buf[i] = '[';
            buf[200 + i] = ']';
        }
        CHECK(parses_n(buf, 400));
    }
}

static void test_reject(void)
{
    jnode *n;

    CHECK(!parses(""));
    CHECK(!parses("   "));
    CHECK(!parses("{\"a\": 1} x")); /* trailing bytes */
    CHECK(!parses("{\"a\": 1}{}"));
    CHECK(!parses("1 2"));
    CHECK(!parses("\xef\xbb\xbf{}"));       /* BOM */
    CHECK(!parses("\"\xff\""));             /* bad UTF-8 */
    CHECK(!parses("\"\xc0\xaf\""));         /* overlong */
    CHECK(!parses("\"\xed\xa0\x80\""));     /* encoded surrogate */
    CHECK(!parses("\"\xf4\x90\x80\x80\"")); /* above U+10FFFF */
    CHECK(!parses("{} \xff"));
    CHECK(!parses("\"a\tb\"")); /* raw control chars */
    CHECK(!parses("\"a\nb\""));
    CHECK(!parses("\"\x01\""));
    CHECK(!parses("'a'"));
    CHECK(!parses("[1,]"));
    CHECK(!parses("{\"a\":1,}"));
    CHECK(!parses("/* c */ 1"));
    CHECK(!parses("[1 /* c */]"));
    CHECK(!parses("// c\n1"));
    CHECK(!parses("{a: 1}"));
    CHECK(!parses("+1"));
    CHECK(!parses("0x10"));
    CHECK(!parses("01"));
    CHECK(!parses("1."));
    CHECK(!parses(".5"));
    CHECK(!parses("1e"));
    CHECK(!parses("-"));
    CHECK(!parses("nan"));
    CHECK(!parses("-NaN"));
    CHECK(!parses("infinity"));
    CHECK(!parses("inf"));
    CHECK(!parses("True"));
    CHECK(!parses("NULL"));
    CHECK(!parses("tru"));
    CHECK(!parses("\"\\x41\""));
    CHECK(!parses("\"\\u12\""));
    CHECK(!parses("\"abc"));
    CHECK(!parses("[1"));
    CHECK(!parses("{\"a\" 1}"));
    CHECK(!parses("\f1")); /* not JSON whitespace */
    CHECK(!parses("\v1"));
    CHECK(!parses("\xc2\xa0"
                  "1"));        /* NBSP is no whitespace */
    CHECK(!parses_n("1\0", 2)); /* NUL after the value */

    /* beyond our depth cap (Python fails near 1000 too) */
    {
        char *buf = malloc(4000);
        int i;

        for (i = 0; i < 2000; i++) {
            buf[i] = '[';
            buf[2000 + i] = ']';
        }
        CHECK(!parses_n(buf, 4000));
        free(buf);
    }

    n = (jnode *) 1;
    CHECK(json_parse("x", 1, &n) == -1);
    CHECK(n == NULL);
}

static void test_access(void)
{
    jnode *n, *v;
    struct jiter it;
    const char *k;
    const char *doc;
    char keys[64];

    doc = "{\"b\": 1, \"a\": [true, null, \"s\\u0000t\"], \"b\": 2.5}";
    CHECK(json_parse(doc, strlen(doc), &n) == 0);
    CHECK_INT(jnode_type(n), JT_OBJECT);
    CHECK_INT(jnode_obj_len(n), 2);

    /* duplicate key: last value at the first position */
    keys[0] = '\0';
    jnode_obj_iter(n, &it);
    while (jnode_obj_next(&it, &k, &v)) {
        strcat(keys, k);
    }
    CHECK_STR(keys, "ba");
    CHECK(jnode_obj_get(n, "b", &v) == 1);
    CHECK_INT(jnode_type(v), JT_DOUBLE);
    CHECK(jnode_double(v) == 2.5);
    CHECK(jnode_obj_get(n, "zz", &v) == 0);

    CHECK(jnode_obj_get(n, "a", &v) == 1);
    CHECK_INT(jnode_arr_len(v), 3);
    CHECK_INT(jnode_type(jnode_arr_get(v, 0)), JT_BOOL);
    CHECK_INT(jnode_bool(jnode_arr_get(v, 0)), 1);
    CHECK_INT(jnode_type(jnode_arr_get(v, 1)), JT_NULL);
    CHECK(jnode_arr_get(v, 1) == NULL);
    CHECK_INT(jnode_strlen(jnode_arr_get(v, 2)), 3);
    CHECK(jnode_arr_get(v, 3) == NULL);
    json_free(n);

    CHECK(json_parse("null", 4, &n) == 0);
    CHECK(n == NULL);

    CHECK(json_parse(" 42 ", 4, &n) == 0);
    CHECK_INT(jnode_type(n), JT_INT);
    CHECK_INT(jnode_int(n), 42);
    json_free(n);

    doc = "-9223372036854775808";
    CHECK(json_parse(doc, strlen(doc), &n) == 0);
    CHECK(jnode_int(n) == INT64_MIN);
    json_free(n);

    /* beyond int64: still an integer, saturated for C, exact in repr */
    doc = "99999999999999999999";
    CHECK(json_parse(doc, strlen(doc), &n) == 0);
    CHECK_INT(jnode_type(n), JT_INT);
    CHECK(jnode_int(n) == INT64_MAX);
    json_free(n);

    CHECK(json_parse("NaN", 3, &n) == 0);
    CHECK_INT(jnode_type(n), JT_DOUBLE);
    CHECK(isnan(jnode_double(n)));
    json_free(n);

    CHECK(json_parse("\"x\"", 3, &n) == 0);
    CHECK_STR(jnode_str(n), "x");
    CHECK(jnode_obj_len(n) == 0);
    json_free(n);
}

static void test_repr(void)
{
    /* scalars */
    CHECK_STR(repr_of("null"), "None");
    CHECK_STR(repr_of("true"), "True");
    CHECK_STR(repr_of("false"), "False");
    CHECK_STR(repr_of("5"), "5");
    CHECK_STR(repr_of("-0"), "0");
    CHECK_STR(repr_of("123456789012345678901234567890"),
              "123456789012345678901234567890");
    CHECK_STR(repr_of("-99999999999999999999"), "-99999999999999999999");

    /* floats: shortest round trip, Python's notation switch */
    CHECK_STR(repr_of("1.5"), "1.5");
    CHECK_STR(repr_of("1.0"), "1.0");
    CHECK_STR(repr_of("1.50"), "1.5");
    CHECK_STR(repr_of("1e16"), "1e+16");
    CHECK_STR(repr_of("1e15"), "1000000000000000.0");
    CHECK_STR(repr_of("123456789012345678.0"), "1.2345678901234568e+17");
    CHECK_STR(repr_of("0.1"), "0.1");
    CHECK_STR(repr_of("0.0001"), "0.0001");
    CHECK_STR(repr_of("0.00001"), "1e-05");
    CHECK_STR(repr_of("1.5e-7"), "1.5e-07");
    CHECK_STR(repr_of("-0.0"), "-0.0");
    CHECK_STR(repr_of("0e0"), "0.0");
    CHECK_STR(repr_of("1E+2"), "100.0");
    CHECK_STR(repr_of("1e400"), "inf");
    CHECK_STR(repr_of("-1e400"), "-inf");
    CHECK_STR(repr_of("1e-400"), "0.0");
    CHECK_STR(repr_of("5e-324"), "5e-324");
    CHECK_STR(repr_of("1.7976931348623157e308"), "1.7976931348623157e+308");
    CHECK_STR(repr_of("0.30000000000000004"), "0.30000000000000004");
    CHECK_STR(repr_of("NaN"), "nan");
    CHECK_STR(repr_of("Infinity"), "inf");
    CHECK_STR(repr_of("-Infinity"), "-inf");
    CHECK_STR(repr_of("3.14159"), "3.14159");
    CHECK_STR(repr_of("1e22"), "1e+22");
    CHECK_STR(repr_of("12345.678"), "12345.678");

    /* strings: quotes */
    CHECK_STR(repr_of("\"x\""), "'x'");
    CHECK_STR(repr_of("\"\""), "''");
    CHECK_STR(repr_of("\"it's\""), "\"it's\"");
    CHECK_STR(repr_of("\"say \\\"hi\\\"\""), "'say \"hi\"'");
    CHECK_STR(repr_of("\"it's \\\"x\\\"\""), "'it\\'s \"x\"'");
    CHECK_STR(repr_of("\"a\\\\b\""), "'a\\\\b'");

    /* strings: escapes */
    CHECK_STR(repr_of("\"a\\nb\\tc\\rd\""), "'a\\nb\\tc\\rd'");
    CHECK_STR(repr_of("\"\\u0000\\u0001\\b\\f\\u001f\\u007f\""),
              "'\\x00\\x01\\x08\\x0c\\x1f\\x7f'");
    CHECK_STR(repr_of("\"\\u0080\\u00a0\\u00ad\\u00e9\""),
              "'\\x80\\xa0\\xad\xc3\xa9'");
    CHECK_STR(repr_of("\"\\u200b\\u2028\\u4e2d\""),
              "'\\u200b\\u2028\xe4\xb8\xad'");
    CHECK_STR(repr_of("\"\\ud83d\\ude00\""), "'\xf0\x9f\x98\x80'");
    CHECK_STR(repr_of("\"\\udb40\\udc01\""), "'\\U000e0001'");
    CHECK_STR(repr_of("\"\\ud800\""), "'\\ud800'");
    CHECK_STR(repr_of("\"\\ud800x\\udfff\""), "'\\ud800x\\udfff'");
    CHECK_STR(repr_of("\"\\ud83d\\u0041\""), "'\\ud83dA'");
    CHECK_STR(repr_of("\"\\uffff\\u0378\""), "'\\uffff\\u0378'");

    /* containers, nested, in request order */
    CHECK_STR(repr_of("[]"), "[]");
    CHECK_STR(repr_of("{}"), "{}");
    CHECK_STR(repr_of("[1, \"a\", null, [true, {}]]"),
              "[1, 'a', None, [True, {}]]");
    CHECK_STR(repr_of("{\"host\":\"h1\",\"block_migration\":false}"),
              "{'host': 'h1', 'block_migration': False}");
    CHECK_STR(repr_of("{\"z\": {\"y\": [1.5, \"it's\"]}, \"a\": NaN}"),
              "{'z': {'y': [1.5, \"it's\"]}, 'a': nan}");
    CHECK_STR(repr_of("{\"a\":1,\"b\":2,\"a\":3}"), "{'a': 3, 'b': 2}");
    CHECK_STR(repr_of("{\"it's\": 1}"), "{\"it's\": 1}");

    /* str(): strings bare, everything else as repr */
    CHECK_STR(str_of("\"bad host!\""), "bad host!");
    CHECK_STR(str_of("\"\""), "");
    CHECK_STR(str_of("\"it's\""), "it's");
    CHECK_STR(str_of("null"), "None");
    CHECK_STR(str_of("1.0"), "1.0");
    CHECK_STR(str_of("[\"1\", \"2\"]"), "['1', '2']");
    CHECK_STR(str_of("{\"a\": \"b\"}"), "{'a': 'b'}");

    {
        struct sbuf sb;

        sbuf_init(&sb);
        py_repr_cstr(&sb, "a\0b", 3);
        CHECK_STR(sb.buf, "'a\\x00b'");
        sbuf_free(&sb);
    }
}

static void test_writer(void)
{
    struct sbuf sb;
    struct jw w;

    sbuf_init(&sb);
    jw_init(&w, &sb);
    jw_obj_open(&w);
    jw_key(&w, "badRequest");
    jw_obj_open(&w);
    jw_kint(&w, "code", 400);
    jw_kstr(&w, "message", "a \"q\" \\ \n\t\x01 \xc3\xa9");
    jw_obj_close(&w);
    jw_obj_close(&w);
    CHECK_STR(sb.buf,
              "{\"badRequest\": {\"code\": 400, \"message\": "
              "\"a \\\"q\\\" \\\\ \\n\\t\\u0001 \xc3\xa9\"}}");

    sbuf_reset(&sb);
    jw_init(&w, &sb);
    jw_obj_open(&w);
    jw_key(&w, "migrations");
    jw_arr_open(&w);
    jw_obj_open(&w);
    jw_kint(&w, "id", 1);
    jw_knull(&w, "dest_host");
    jw_kbool(&w, "ok", 1);
    jw_key(&w, "links");
    jw_arr_open(&w);
    jw_arr_close(&w);
    jw_obj_close(&w);
    jw_obj_open(&w);
    jw_kstr(&w, "x", NULL);
    jw_obj_close(&w);
    jw_arr_close(&w);
    jw_obj_close(&w);
    CHECK_STR(sb.buf,
              "{\"migrations\": [{\"id\": 1, \"dest_host\": null, "
              "\"ok\": true, \"links\": []}, {\"x\": null}]}");

    /* jw_int writes its digits by hand: the edges */
    sbuf_reset(&sb);
    jw_init(&w, &sb);
    jw_arr_open(&w);
    jw_int(&w, 0);
    jw_int(&w, 7);
    jw_int(&w, -10);
    jw_int(&w, INT64_MAX);
    jw_int(&w, INT64_MIN);
    jw_arr_close(&w);
    CHECK_STR(sb.buf,
              "[0, 7, -10, 9223372036854775807, "
              "-9223372036854775808]");

    sbuf_reset(&sb);
    jw_init(&w, &sb);
    jw_arr_open(&w);
    jw_int(&w, -5);
    jw_bool(&w, 0);
    jw_null(&w);
    jw_str(&w, "s");
    jw_strn(&w, "a\0b", 3);
    jw_strn(&w, "\xed\xa0\x80", 3); /* a kept lone surrogate */
    jw_strn(&w, "\xff", 1);         /* never valid: U+FFFD */
    jw_str(&w,
           "a\xc0\x80"
           "b"); /* a message's NUL */
    jw_arr_close(&w);
    CHECK_STR(sb.buf,
              "[-5, false, null, \"s\", \"a\\u0000b\", "
              "\"\\ud800\", \"\\ufffd\", \"a\\u0000b\"]");
    sbuf_free(&sb);
}

int main(void)
{
    test_accept();
    test_reject();
    test_access();
    test_repr();
    test_writer();
    return unit_done("test_json");
}
