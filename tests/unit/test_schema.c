/*
 * test_schema.c: every schema message example of spec §4.6, §5.1, §6.4 and
 * the schema rows of §6.5, at the microversions they apply to, plus the
 * servers query schemas, date-time, keyword order and bool_from_string.
 */
#include <stdlib.h>

#include "unit.h"
#include "ferry/schema.h"

#define E_LIST                                                            \
    "[True, 'True', 'TRUE', 'true', '1', 'ON', 'On', 'on', "              \
    "'YES', 'Yes', 'yes', False, 'False', 'FALSE', 'false', '0', 'OFF', " \
    "'Off', 'off', 'NO', 'No', 'no']"
#define EA_LIST                                                           \
    "[True, 'True', 'TRUE', 'true', '1', 'ON', 'On', 'on', "              \
    "'YES', 'Yes', 'yes', False, 'False', 'FALSE', 'false', '0', 'OFF', " \
    "'Off', 'off', 'NO', 'No', 'no', 'auto']"

#define FA "Invalid input for field/attribute "
#define QP "Invalid input for query parameters "

/* The message for body json under schema id, "OK", or "PARSE ERROR". */
static const char *body(enum schema_id id, const char *json)
{
    static char out[65536];
    struct ferr e = { 0 };
    jnode *n;
    int rc;

    if (json_parse(json, strlen(json), &n) != 0) {
        return "PARSE ERROR";
    }
    rc = schema_validate(id, n, &e);
    json_free(n);
    if (rc == 0) {
        CHECK_INT(e.code, 0);
        return "OK";
    }
    CHECK_INT(rc, -FE_BADREQ);
    CHECK_INT(e.code, FE_BADREQ);
    snprintf(out, sizeof(out), "%s", ferr_msg(&e));
    ferr_clear(&e);
    return out;
}

/* os-migrateLive at microversion 2.<minor>, inner value v. */
static const char *live(int minor, const char *v)
{
    static char doc[8192];

    snprintf(doc, sizeof(doc), "{\"os-migrateLive\": %s}", v);
    return body(schema_live_for(minor), doc);
}

/* A query "a=1&b=2" (no percent-decoding here) under schema id. */
static const char *query(enum query_schema_id id, const char *qs)
{
    static char out[8192];
    struct qparam q[32];
    struct ferr e = { 0 };
    char *dup, *p, *amp, *eq;
    size_t n;
    int rc;

    dup = strdup(qs);
    n = 0;

    for (p = dup; *p != '\0' && n < 32; p = amp) {
        amp = strchr(p, '&');
        if (amp != NULL) {
            *amp++ = '\0';
        } else {
            amp = p + strlen(p);
        }
        eq = strchr(p, '=');
        if (eq != NULL) {
            *eq++ = '\0';
        } else {
            eq = p + strlen(p);
        }
        q[n].name = p;
        q[n].value = eq;
        n++;
    }

    rc = schema_validate_query(id, q, n, &e);
    free(dup);
    if (rc == 0) {
        return "OK";
    }
    CHECK_INT(rc, -FE_BADREQ);
    snprintf(out, sizeof(out), "%s", ferr_msg(&e));
    ferr_clear(&e);
    return out;
}

static void test_live_for(void)
{
    CHECK_INT(schema_live_for(1), SCHEMA_LIVE_2_1);
    CHECK_INT(schema_live_for(24), SCHEMA_LIVE_2_1);
    CHECK_INT(schema_live_for(25), SCHEMA_LIVE_2_25);
    CHECK_INT(schema_live_for(29), SCHEMA_LIVE_2_25);
    CHECK_INT(schema_live_for(30), SCHEMA_LIVE_2_30);
    CHECK_INT(schema_live_for(67), SCHEMA_LIVE_2_30);
    CHECK_INT(schema_live_for(68), SCHEMA_LIVE_2_25);
    CHECK_INT(schema_live_for(93), SCHEMA_LIVE_2_25);

    CHECK_INT(schema_servers_query_for(1), QSCHEMA_SERVERS_2_1);
    CHECK_INT(schema_servers_query_for(25), QSCHEMA_SERVERS_2_1);
    CHECK_INT(schema_servers_query_for(26), QSCHEMA_SERVERS_2_26);
    CHECK_INT(schema_servers_query_for(65), QSCHEMA_SERVERS_2_26);
    CHECK_INT(schema_servers_query_for(66), QSCHEMA_SERVERS_2_66);
    CHECK_INT(schema_servers_query_for(72), QSCHEMA_SERVERS_2_66);
    CHECK_INT(schema_servers_query_for(73), QSCHEMA_SERVERS_2_73);
    CHECK_INT(schema_servers_query_for(74), QSCHEMA_SERVERS_2_73);
    CHECK_INT(schema_servers_query_for(75), QSCHEMA_SERVERS_2_75);
    CHECK_INT(schema_servers_query_for(93), QSCHEMA_SERVERS_2_75);

    CHECK_INT(schema_migrations_query_for(1), QSCHEMA_MIGRATIONS_2_1);
    CHECK_INT(schema_migrations_query_for(58), QSCHEMA_MIGRATIONS_2_1);
    CHECK_INT(schema_migrations_query_for(59), QSCHEMA_MIGRATIONS_2_59);
    CHECK_INT(schema_migrations_query_for(65), QSCHEMA_MIGRATIONS_2_59);
    CHECK_INT(schema_migrations_query_for(66), QSCHEMA_MIGRATIONS_2_66);
    CHECK_INT(schema_migrations_query_for(79), QSCHEMA_MIGRATIONS_2_66);
    CHECK_INT(schema_migrations_query_for(80), QSCHEMA_MIGRATIONS_2_80);
}

/* spec §4.6, row by row, at each microversion range it names */
static void test_live_examples(void)
{
    static const int any[] = { 1, 24, 25, 29, 30, 67, 68, 93 };
    static const int ge25[] = { 25, 29, 30, 67, 68, 93 };
    static const int no_force[] = { 25, 29, 68, 93 };
    char host256[300], doc[600], want[1200];
    size_t i;

    CHECK_STR(live(1,
                   "{\"host\":\"h1\",\"block_migration\":\"auto\","
                   "\"disk_over_commit\":false}"),
              FA "block_migration. Value: auto. 'auto' is not one of " E_LIST);
    CHECK_STR(live(24, "{\"host\":\"h1\"}"),
              FA "os-migrateLive. Value: {'host': 'h1'}. 'block_migration' "
                 "is a required property");
    CHECK_STR(live(1, "{\"host\":\"h1\",\"block_migration\":false}"),
              FA "os-migrateLive. Value: {'host': 'h1', 'block_migration': "
                 "False}. 'disk_over_commit' is a required property");

    for (i = 0; i < ARRAY_LEN(any); i++) {
        CHECK_STR(live(any[i],
                       "{\"host\":\"h1\",\"block_migration\":1,"
                       "\"disk_over_commit\":false}"),
                  FA "block_migration. Value: 1. 1 is not of type "
                     "'boolean', 'string'");
        CHECK_STR(live(any[i],
                       "{\"host\":\"h1\",\"block_migration\":null,"
                       "\"disk_over_commit\":false}"),
                  FA "block_migration. Value: None. None is not of type "
                     "'boolean', 'string'");
        CHECK_STR(live(any[i], "null"),
                  FA "os-migrateLive. Value: None. None is not of type "
                     "'object'");
        CHECK_STR(live(any[i], "\"x\""),
                  FA "os-migrateLive. Value: x. 'x' is not of type "
                     "'object'");
        CHECK_STR(live(any[i], "{}"),
                  FA "os-migrateLive. Value: {}. 'block_migration' is a "
                     "required property");
    }

    for (i = 0; i < ARRAY_LEN(ge25); i++) {
        CHECK_STR(live(ge25[i],
                       "{\"host\":\"h1\",\"block_migration\":false,"
                       "\"disk_over_commit\":false}"),
                  FA "os-migrateLive. Value: {'host': 'h1', "
                     "'block_migration': False, 'disk_over_commit': False}. "
                     "Additional properties are not allowed "
                     "('disk_over_commit' was unexpected)");
        CHECK_STR(live(ge25[i], "{\"block_migration\":\"auto\"}"),
                  FA "os-migrateLive. Value: {'block_migration': 'auto'}. "
                     "'host' is a required property");
        CHECK_STR(
            live(ge25[i],
                 "{\"host\":\"h1\","
                 "\"block_migration\":\"AUTO\"}"),
            FA "block_migration. Value: AUTO. 'AUTO' is not one of " EA_LIST);
        CHECK_STR(live(ge25[i], "{\"host\":\"\",\"block_migration\":\"auto\"}"),
                  FA "host. Value: . '' is too short");
        CHECK_STR(live(ge25[i],
                       "{\"host\":\"bad host!\","
                       "\"block_migration\":\"auto\"}"),
                  FA "host. Value: bad host!. 'bad host!' does not match "
                     "'^[a-zA-Z0-9-._]*$'");
        CHECK_STR(live(ge25[i], "{\"host\":5,\"block_migration\":\"auto\"}"),
                  FA "host. Value: 5. 5 is not of type 'string', 'null'");
        CHECK_STR(live(ge25[i],
                       "{\"host\":\"h1\",\"block_migration\":"
                       "\"auto\",\"dummy\":1}"),
                  FA "os-migrateLive. Value: {'host': 'h1', "
                     "'block_migration': 'auto', 'dummy': 1}. Additional "
                     "properties are not allowed ('dummy' was unexpected)");

        memset(host256, 'a', 256);
        host256[256] = '\0';
        snprintf(doc, sizeof(doc),
                 "{\"host\":\"%s\",\"block_migration\":"
                 "\"auto\"}",
                 host256);
        snprintf(want, sizeof(want), FA "host. Value: %s. '%s' is too long",
                 host256, host256);
        CHECK_STR(live(ge25[i], doc), want);

        /* 255 is fine */
        host256[255] = '\0';
        snprintf(doc, sizeof(doc),
                 "{\"host\":\"%s\",\"block_migration\":"
                 "\"auto\"}",
                 host256);
        CHECK_STR(live(ge25[i], doc), "OK");
    }

    for (i = 0; i < ARRAY_LEN(no_force); i++) {
        CHECK_STR(live(no_force[i],
                       "{\"host\":\"h1\",\"block_migration\":"
                       "\"auto\",\"force\":true}"),
                  FA "os-migrateLive. Value: {'host': 'h1', "
                     "'block_migration': 'auto', 'force': True}. Additional "
                     "properties are not allowed ('force' was unexpected)");
    }

    CHECK_STR(live(30,
                   "{\"host\":\"h1\",\"block_migration\":\"auto\","
                   "\"force\":\"maybe\"}"),
              FA "force. Value: maybe. 'maybe' is not one of " E_LIST);
    CHECK_STR(live(67,
                   "{\"host\":\"h1\",\"block_migration\":\"auto\","
                   "\"force\":\"auto\"}"),
              FA "force. Value: auto. 'auto' is not one of " E_LIST);
}

static void test_live_more(void)
{
    /* valid bodies */
    CHECK_STR(live(1,
                   "{\"host\":null,\"block_migration\":false,"
                   "\"disk_over_commit\":\"False\"}"),
              "OK");
    CHECK_STR(live(25, "{\"host\":\"h-1.b_c\",\"block_migration\":\"auto\"}"),
              "OK");
    CHECK_STR(live(30,
                   "{\"host\":null,\"block_migration\":true,"
                   "\"force\":\"yes\"}"),
              "OK");
    CHECK_STR(live(68, "{\"block_migration\":\"no\",\"host\":null}"), "OK");

    /* '$' matches before a final newline; lengths are code points */
    CHECK_STR(live(25, "{\"host\":\"abc\\n\",\"block_migration\":\"auto\"}"),
              "OK");
    CHECK_STR(live(25, "{\"host\":\"abc\\n\\n\",\"block_migration\":true}"),
              FA "host. Value: abc\n\n. 'abc\\n\\n' does not match "
                 "'^[a-zA-Z0-9-._]*$'");
    CHECK_STR(live(25, "{\"host\":\"\\u00e9\",\"block_migration\":true}"),
              FA "host. Value: \xc3\xa9. '\xc3\xa9' does not match "
                 "'^[a-zA-Z0-9-._]*$'");

    /* length before pattern */
    {
        char doc[1200], want[3000], h[300];

        memset(h, '!', 256);
        h[256] = '\0';
        snprintf(doc, sizeof(doc),
                 "{\"host\":\"%s\",\"block_migration\":"
                 "true}",
                 h);
        snprintf(want, sizeof(want), FA "host. Value: %s. '%s' is too long", h,
                 h);
        CHECK_STR(live(25, doc), want);

        /* 255 two-byte characters are 255 code points: only the pattern */
        want[0] = '\0';
        strcpy(doc, "{\"block_migration\":true,\"host\":\"");
        for (int i = 0; i < 255; i++) {
            strcat(doc, "\xc3\xa9");
        }
        strcat(doc, "\"}");
        CHECK(strstr(live(25, doc), "does not match") != NULL);
    }

    /* enum is exact and case-sensitive */
    CHECK_STR(live(25, "{\"host\":\"h\",\"block_migration\":\"t\"}"),
              FA "block_migration. Value: t. 't' is not one of " EA_LIST);
    CHECK_STR(live(25, "{\"host\":\"h\",\"block_migration\":\" true\"}"),
              FA
              "block_migration. Value:  true. ' true' is not one of " EA_LIST);
    CHECK_STR(live(25, "{\"host\":\"h\",\"block_migration\":0}"),
              FA "block_migration. Value: 0. 0 is not of type 'boolean', "
                 "'string'");
    CHECK_STR(live(25, "{\"host\":\"h\",\"block_migration\":1.0}"),
              FA "block_migration. Value: 1.0. 1.0 is not of type "
                 "'boolean', 'string'");
    CHECK_STR(live(25, "{\"host\":\"h\",\"block_migration\":[\"a\"]}"),
              FA "block_migration. Value: ['a']. ['a'] is not of type "
                 "'boolean', 'string'");
    CHECK_STR(live(25, "{\"host\":\"h\",\"block_migration\":NaN}"),
              FA "block_migration. Value: nan. nan is not of type "
                 "'boolean', 'string'");
    CHECK_STR(live(25,
                   "{\"host\":123456789012345678901234567890,"
                   "\"block_migration\":true}"),
              FA "host. Value: 123456789012345678901234567890. "
                 "123456789012345678901234567890 is not of type 'string', "
                 "'null'");

    /* properties in schema order, not request order */
    CHECK_STR(live(1,
                   "{\"host\":\"bad!\",\"disk_over_commit\":5,"
                   "\"block_migration\":\"x\"}"),
              FA "block_migration. Value: x. 'x' is not one of " E_LIST);
    CHECK_STR(live(1,
                   "{\"host\":\"bad!\",\"disk_over_commit\":5,"
                   "\"block_migration\":true}"),
              FA "disk_over_commit. Value: 5. 5 is not of type 'boolean', "
                 "'string'");
    CHECK_STR(live(30,
                   "{\"force\":1,\"host\":\"\","
                   "\"block_migration\":true}"),
              FA "host. Value: . '' is too short");

    /* properties before required before additionalProperties */
    CHECK_STR(live(25, "{\"zzz\":1,\"host\":5}"),
              FA "host. Value: 5. 5 is not of type 'string', 'null'");
    CHECK_STR(live(25, "{\"zzz\":1,\"host\":null}"),
              FA "os-migrateLive. Value: {'zzz': 1, 'host': None}. "
                 "'block_migration' is a required property");

    /* extras sorted by code point; the nested value as repr */
    CHECK_STR(live(25,
                   "{\"host\":\"h\",\"block_migration\":true,"
                   "\"b\":{\"x\":[1.5,\"it's\"]},\"B\":null,\"a\":1}"),
              FA "os-migrateLive. Value: {'host': 'h', 'block_migration': "
                 "True, 'b': {'x': [1.5, \"it's\"]}, 'B': None, 'a': 1}. "
                 "Additional properties are not allowed ('B', 'a', 'b' were "
                 "unexpected)");

    /* a repeated key: last value, first position */
    CHECK_STR(live(25,
                   "{\"x\":1,\"host\":\"h\",\"block_migration\":true,"
                   "\"x\":2}"),
              FA "os-migrateLive. Value: {'x': 2, 'host': 'h', "
                 "'block_migration': True}. Additional properties are not "
                 "allowed ('x' was unexpected)");

    /* quotes and escapes inside the messages */
    CHECK_STR(live(25, "{\"host\":\"it's\",\"block_migration\":true}"),
              FA "host. Value: it's. \"it's\" does not match "
                 "'^[a-zA-Z0-9-._]*$'");
    CHECK_STR(live(25, "{\"host\":\"a\\tb\",\"block_migration\":true}"),
              FA "host. Value: a\tb. 'a\\tb' does not match "
                 "'^[a-zA-Z0-9-._]*$'");

    /* a NUL in the value: kept as C0 80 in the C-string message */
    CHECK_STR(live(25, "{\"host\":\"a\\u0000b\",\"block_migration\":true}"),
              FA "host. Value: a\xc0\x80"
                 "b. 'a\\x00b' does not match "
                 "'^[a-zA-Z0-9-._]*$'");

    /* the top level (never reached through the API, still Nova's words) */
    CHECK_STR(body(SCHEMA_LIVE_2_25, "[]"), "[] is not of type 'object'");
    CHECK_STR(body(SCHEMA_LIVE_2_25, "{}"),
              "'os-migrateLive' is a required property");
    CHECK_STR(body(SCHEMA_LIVE_2_25,
                   "{\"os-migrateLive\": {\"host\": null, "
                   "\"block_migration\": true}, \"b\": 1, \"a\": 2}"),
              "Additional properties are not allowed ('a', 'b' were "
              "unexpected)");
}

/* spec §5.1 and §6.4 */
static void test_migrate_force(void)
{
    CHECK_STR(body(SCHEMA_MIGRATE_2_56, "{\"migrate\": null}"), "OK");
    CHECK_STR(body(SCHEMA_MIGRATE_2_56, "{\"migrate\": {}}"), "OK");
    CHECK_STR(body(SCHEMA_MIGRATE_2_56, "{\"migrate\": {\"host\": null}}"),
              "OK");
    CHECK_STR(body(SCHEMA_MIGRATE_2_56, "{\"migrate\": {\"host\": \"h1\"}}"),
              "OK");
    CHECK_STR(body(SCHEMA_MIGRATE_2_56, "{\"migrate\":\"h1\"}"),
              FA "migrate. Value: h1. 'h1' is not of type 'object', 'null'");
    CHECK_STR(body(SCHEMA_MIGRATE_2_56,
                   "{\"migrate\":{\"host\":\"h1\","
                   "\"x\":1}}"),
              FA "migrate. Value: {'host': 'h1', 'x': 1}. Additional "
                 "properties are not allowed ('x' was unexpected)");
    CHECK_STR(body(SCHEMA_MIGRATE_2_56, "{\"migrate\":{\"host\":\"\"}}"),
              FA "host. Value: . '' is too short");
    CHECK_STR(body(SCHEMA_MIGRATE_2_56, "{\"migrate\":5}"),
              FA "migrate. Value: 5. 5 is not of type 'object', 'null'");
    CHECK_STR(body(SCHEMA_MIGRATE_2_56,
                   "{\"migrate\":{\"x\":1,"
                   "\"host\":\"a b\"}}"),
              FA "host. Value: a b. 'a b' does not match "
                 "'^[a-zA-Z0-9-._]*$'");

    CHECK_STR(body(SCHEMA_FORCE_COMPLETE, "{\"force_complete\": null}"), "OK");
    CHECK_STR(body(SCHEMA_FORCE_COMPLETE, "{\"force_complete\": {}}"),
              FA "force_complete. Value: {}. {} is not of type 'null'");
    CHECK_STR(body(SCHEMA_FORCE_COMPLETE, "{\"force_complete\": \"\"}"),
              FA "force_complete. Value: . '' is not of type 'null'");
    CHECK_STR(body(SCHEMA_FORCE_COMPLETE, "{\"force_complete\": false}"),
              FA "force_complete. Value: False. False is not of type 'null'");
}

/* spec §6.5 */
static void test_migrations_query(void)
{
    static const enum query_schema_id ge59[] = { QSCHEMA_MIGRATIONS_2_59,
                                                 QSCHEMA_MIGRATIONS_2_66,
                                                 QSCHEMA_MIGRATIONS_2_80 };
    size_t i;

    for (i = 0; i < ARRAY_LEN(ge59); i++) {
        CHECK_STR(query(ge59[i], "limit=x"),
                  QP "limit. Value: x. 'x' does not match '^[0-9]*$'");
        CHECK_STR(query(ge59[i], "limit=-1"),
                  QP "limit. Value: -1. '-1' does not match '^[0-9]*$'");
        CHECK_STR(query(ge59[i], "limit="),
                  QP "limit. Value: . '' is too short");
        CHECK_STR(query(ge59[i], "limit=1&limit=2"),
                  QP "limit. Value: ['1', '2']. ['1', '2'] is too long");
        CHECK_STR(query(ge59[i], "foo=bar"),
                  "Additional properties are not allowed ('foo' was "
                  "unexpected)");
        CHECK_STR(query(ge59[i], "changes-since=wrong_time"),
                  QP "changes-since. Value: wrong_time. 'wrong_time' is not "
                     "a 'date-time'");
        CHECK_STR(query(ge59[i],
                        "limit=0&marker=abc&changes-since="
                        "2020-01-01T00:00:00Z&host=h&status=running"),
                  "OK");
        CHECK_STR(query(ge59[i], "marker=a&marker=b"),
                  QP "marker. Value: ['a', 'b']. ['a', 'b'] is too long");
        /* items before maxItems */
        CHECK_STR(query(ge59[i], "limit=1&limit=x"),
                  QP "limit. Value: x. 'x' does not match '^[0-9]*$'");
        CHECK_STR(query(ge59[i], "limit=5\n"), "OK");
        CHECK_STR(query(ge59[i], "status=a&status=b&host=x&host=y"), "OK");
        /* properties (schema order) before additionalProperties */
        CHECK_STR(query(ge59[i], "zz=1&limit=x"),
                  QP "limit. Value: x. 'x' does not match '^[0-9]*$'");
        CHECK_STR(query(ge59[i], "zz=1&b=2&a=3&b=4"),
                  "Additional properties are not allowed ('a', 'b', 'zz' "
                  "were unexpected)");
        CHECK_STR(query(ge59[i], "changes-since=x&limit=y"),
                  QP "limit. Value: y. 'y' does not match '^[0-9]*$'");
    }

    /* below 2.59 anything goes */
    CHECK_STR(query(QSCHEMA_MIGRATIONS_2_1, "limit=x&foo=bar&limit=1"), "OK");
    CHECK_STR(query(QSCHEMA_MIGRATIONS_2_1, "changes-since=x"), "OK");
    CHECK_STR(query(QSCHEMA_MIGRATIONS_2_1, ""), "OK");

    /* parameters that arrive with a later microversion */
    CHECK_STR(query(QSCHEMA_MIGRATIONS_2_59, "changes-before=2020-01-01"),
              "Additional properties are not allowed ('changes-before' was "
              "unexpected)");
    CHECK_STR(query(QSCHEMA_MIGRATIONS_2_59, "user_id=u"),
              "Additional properties are not allowed ('user_id' was "
              "unexpected)");
    CHECK_STR(query(QSCHEMA_MIGRATIONS_2_66, "user_id=u&project_id=p"),
              "Additional properties are not allowed ('project_id', "
              "'user_id' were unexpected)");
    CHECK_STR(query(QSCHEMA_MIGRATIONS_2_66, "changes-before=x"),
              QP "changes-before. Value: x. 'x' is not a 'date-time'");
    CHECK_STR(query(QSCHEMA_MIGRATIONS_2_80, "user_id=u&project_id=p"), "OK");
    CHECK_STR(query(QSCHEMA_MIGRATIONS_2_80, "user_id=u&user_id=v"),
              QP "user_id. Value: ['u', 'v']. ['u', 'v'] is too long");

    /* not UTF-8 */
    CHECK_STR(query(QSCHEMA_MIGRATIONS_2_1, "host=\xff"),
              "Query string is not UTF-8 encoded");
}

static void test_servers_query(void)
{
    CHECK_STR(query(QSCHEMA_SERVERS_2_1, "name=("),
              QP "name. Value: (. '(' is not a 'regex'");
    CHECK_STR(query(QSCHEMA_SERVERS_2_75, "name="),
              QP "name. Value: . '' is not a 'regex'");
    CHECK_STR(query(QSCHEMA_SERVERS_2_1, "name=vm1&name=^v.*[0-9]+$"), "OK");
    CHECK_STR(query(QSCHEMA_SERVERS_2_1, "name=a&name=("),
              QP "name. Value: (. '(' is not a 'regex'");

    /* unknown names: ignored before 2.75, refused from it */
    CHECK_STR(query(QSCHEMA_SERVERS_2_1, "foo=bar&all_tenants="), "OK");
    CHECK_STR(query(QSCHEMA_SERVERS_2_73, "foo=bar"), "OK");
    CHECK_STR(query(QSCHEMA_SERVERS_2_75, "foo=bar"),
              "Additional properties are not allowed ('foo' was "
              "unexpected)");
    CHECK_STR(query(QSCHEMA_SERVERS_2_75, "_foo=bar"), "OK");
    CHECK_STR(query(QSCHEMA_SERVERS_2_75,
                    "all_tenants=1&limit=2&marker=m"
                    "&changes-before=2020-01-01&locked=true&tags=a"),
              "OK");

    /* limit: non-negative integer, repeats allowed (no maxItems here) */
    CHECK_STR(query(QSCHEMA_SERVERS_2_1, "limit=1&limit=2"), "OK");
    CHECK_STR(query(QSCHEMA_SERVERS_2_1, "limit=-1"),
              QP "limit. Value: -1. '-1' does not match '^[0-9]*$'");

    /* schema order: user_id comes before name */
    CHECK_STR(query(QSCHEMA_SERVERS_2_1, "name=(&changes-since=x"),
              QP "name. Value: (. '(' is not a 'regex'");
    CHECK_STR(query(QSCHEMA_SERVERS_2_1, "changes-since=x&ip=("),
              QP "changes-since. Value: x. 'x' is not a 'date-time'");

    /* tags are regexes from 2.26, unknown (ignored) before */
    CHECK_STR(query(QSCHEMA_SERVERS_2_1, "tags=("), "OK");
    CHECK_STR(query(QSCHEMA_SERVERS_2_26, "tags=("),
              QP "tags. Value: (. '(' is not a 'regex'");
    CHECK_STR(query(QSCHEMA_SERVERS_2_26, "changes-before=x"), "OK");
    CHECK_STR(query(QSCHEMA_SERVERS_2_66, "changes-before=x"),
              QP "changes-before. Value: x. 'x' is not a 'date-time'");

    /* sort_key */
    CHECK_STR(query(QSCHEMA_SERVERS_2_1, "sort_key=display_name&sort_key=id"),
              "OK");
    CHECK_STR(query(QSCHEMA_SERVERS_2_75, "sort_key=locked"), "OK");
    CHECK(strncmp(query(QSCHEMA_SERVERS_2_75, "sort_key=id"),
                  QP "sort_key. Value: id. 'id' is not one of ['locked', "
                     "'access_ip_v4', ",
                  strlen(QP "sort_key. Value: id. 'id' is not one of "
                            "['locked', 'access_ip_v4', "))
          == 0);
    CHECK_STR(query(QSCHEMA_SERVERS_2_1, "sort_key=foo"),
              QP "sort_key. Value: foo. 'foo' is not one of ['access_ip_v4', "
                 "'access_ip_v6', 'auto_disk_config', 'availability_zone', "
                 "'config_drive', 'created_at', 'display_description', "
                 "'display_name', 'host', 'hostname', 'image_ref', "
                 "'instance_type_id', 'kernel_id', 'key_name', 'launch_index', "
                 "'launched_at', 'locked_by', 'node', 'power_state', "
                 "'progress', 'project_id', 'ramdisk_id', 'root_device_name', "
                 "'task_state', 'terminated_at', 'updated_at', 'user_id', "
                 "'uuid', 'vm_state', 'architecture', 'cell_name', 'cleaned', "
                 "'default_ephemeral_device', 'default_swap_device', "
                 "'deleted', 'deleted_at', 'disable_terminate', "
                 "'ephemeral_gb', 'ephemeral_key_uuid', 'id', 'key_data', "
                 "'launched_on', 'locked', 'memory_mb', 'os_type', "
                 "'reservation_id', 'root_gb', 'shutdown_terminate', "
                 "'user_data', 'vcpus', 'vm_mode']");
}

static int dt_ok(const char *s)
{
    int64_t t;

    return schema_parse_datetime(s, &t) == 0;
}

static int64_t dt_us(const char *s)
{
    int64_t t = -1;

    if (schema_parse_datetime(s, &t) != 0) {
        return -1;
    }
    return t;
}

static void test_datetime(void)
{
    CHECK(dt_ok("2020"));
    CHECK(dt_ok("2020-1"));
    CHECK(dt_ok("2020-01"));
    CHECK(dt_ok("2020-1-2"));
    CHECK(dt_ok("2020-01-02"));
    CHECK(dt_ok("20200102"));
    CHECK(dt_ok("2020-01-02T03:04:05Z"));
    CHECK(dt_ok("2020-01-02 03:04:05"));
    CHECK(dt_ok("2020-01-02T0304"));
    CHECK(dt_ok("2020-01-02T03"));
    CHECK(dt_ok("2020-01-02T03:04:05.123456"));
    CHECK(dt_ok("2020-01-02T03:04:05,5"));
    CHECK(dt_ok("2020-01-02T03:04:05+05:30"));
    CHECK(dt_ok("2020-01-02T03:04:05-0530"));
    CHECK(dt_ok("2020-01-02T03:04:05+05"));
    CHECK(dt_ok("2020-01-02T03:04:05+05:"));
    CHECK(dt_ok("2020-01-02T03:04:05Z\n"));
    CHECK(dt_ok("2020\n"));
    CHECK(dt_ok("2020-02-29"));
    CHECK(dt_ok("2000-02-29"));
    CHECK(dt_ok("2020-01-01T10:5")); /* seconds, one digit */
    CHECK(dt_ok("2020-0101"));
    CHECK(dt_ok("202001-5"));
    CHECK(dt_ok("2020-01-01T00:00+00:99"));

    CHECK(!dt_ok(""));
    CHECK(!dt_ok("wrong_time"));
    CHECK(!dt_ok("202001")); /* no YYYYMM */
    CHECK(!dt_ok("2020-13-01"));
    CHECK(!dt_ok("2019-02-29"));
    CHECK(!dt_ok("1900-02-29"));
    CHECK(!dt_ok("2020-00-10"));
    CHECK(!dt_ok("0000-01-01"));
    CHECK(!dt_ok("2020-01-01t00:00:00")); /* 'T' is case-sensitive */
    CHECK(!dt_ok("2020-01-01T24:00:00"));
    CHECK(!dt_ok("2020-01-01T23:60:00"));
    CHECK(!dt_ok("2020-01-01T23:59:60"));
    CHECK(!dt_ok("2020-01-01T00:00:00+24:00"));
    CHECK(!dt_ok("2020-01-01T00:00:00+23:99"));
    CHECK(!dt_ok("2020-01-01T00:00:00 "));
    CHECK(!dt_ok("2020-01-01T00:00:00Zx"));
    CHECK(!dt_ok(" 2020"));
    CHECK(!dt_ok("2020-01-01\n\n"));

    CHECK(dt_us("1970-01-01T00:00:00Z") == 0);
    CHECK(dt_us("1970-01-01") == 0);
    CHECK(dt_us("1970-01-01T01:00:00+01:00") == 0);
    CHECK(dt_us("1970-01-01T00:00:01.5") == 1500000);
    CHECK(dt_us("2020-01-02T03:04:05Z") == 1577934245LL * 1000000);
    CHECK(dt_us("2020-01-02T03:04:05-01:30")
          == (1577934245LL + 5400) * 1000000);
    CHECK(dt_us("2020-01-01T10:5") == (1577836800LL + 36005) * 1000000);
    CHECK(dt_us("2020-101") == 1577836800LL * 1000000); /* 01-01 */
    CHECK(dt_us("2020-01-02T03045") == (1577934245LL) * 1000000);
    CHECK(dt_us("2020-01-02T03:04:5.5Z") == 1577934245LL * 1000000 + 500000);
    CHECK(dt_us("1970-01-01T00:00+00:99") == -99LL * 60 * 1000000);
    CHECK(!dt_ok("2020-1-2T3"));
    CHECK(!dt_ok("20201301"));
}

static void test_bool_from(void)
{
    static const char *const yes[] = {
        "1",  "t", "T", "true", "TRUE",  "tRuE",     "on",
        "On", "y", "Y", "yes",  " yes ", "\ttrue\n", "\xc2\xa0on\xe3\x80\x80"
    };
    static const char *const no[] = { "0",   "f", "false", "False", "off",
                                      "OFF", "n", "no",    "No",    " 0" };
    static const char *const neither[] = { "",
                                           "2",
                                           "maybe",
                                           "auto",
                                           "truee",
                                           "yes!",
                                           "\xc2\xad"
                                           "yes",
                                           "ye s" };
    size_t i;
    jnode *n;

    for (i = 0; i < ARRAY_LEN(yes); i++) {
        CHECK_INT(schema_bool_from_str(yes[i]), 1);
    }
    for (i = 0; i < ARRAY_LEN(no); i++) {
        CHECK_INT(schema_bool_from_str(no[i]), 0);
    }
    for (i = 0; i < ARRAY_LEN(neither); i++) {
        CHECK_INT(schema_bool_from_str(neither[i]), -1);
    }

    CHECK(json_parse("true", 4, &n) == 0);
    CHECK_INT(schema_bool_from(n), 1);
    json_free(n);
    CHECK(json_parse("false", 5, &n) == 0);
    CHECK_INT(schema_bool_from(n), 0);
    json_free(n);
    CHECK(json_parse("\"Yes\"", 5, &n) == 0);
    CHECK_INT(schema_bool_from(n), 1);
    json_free(n);
    CHECK(json_parse("\"OFF\"", 5, &n) == 0);
    CHECK_INT(schema_bool_from(n), 0);
    json_free(n);
    CHECK(json_parse("\"auto\"", 6, &n) == 0);
    CHECK_INT(schema_bool_from(n), -1);
    json_free(n);
    CHECK(json_parse("1", 1, &n) == 0);
    CHECK_INT(schema_bool_from(n), -1);
    json_free(n);
    CHECK_INT(schema_bool_from(NULL), -1);
}

static void test_long_message(void)
{
    /* a repr longer than ferr's fixed buffer comes back whole */
    size_t n = 20000, i;
    char *doc = malloc(n + 100);
    char *p = doc;
    const char *m;

    p += sprintf(p,
                 "{\"os-migrateLive\": {\"host\": \"h\", "
                 "\"block_migration\": true, \"x\": \"");
    for (i = 0; i < n; i++) {
        *p++ = 'y';
    }
    strcpy(p, "\"}}");
    m = body(SCHEMA_LIVE_2_25, doc);
    CHECK(strlen(m) > n);
    CHECK(strstr(m,
                 "Additional properties are not allowed ('x' was "
                 "unexpected)")
          != NULL);
    CHECK(strncmp(m, FA "os-migrateLive. Value: {'host': 'h', ",
                  strlen(FA "os-migrateLive. Value: {'host': 'h', "))
          == 0);
    free(doc);
}

int main(void)
{
    test_live_for();
    test_live_examples();
    test_live_more();
    test_migrate_force();
    test_migrations_query();
    test_servers_query();
    test_datetime();
    test_bool_from();
    test_long_message();
    return unit_done("test_schema");
}
