/*
 * schema.c: request validation with Nova's exact messages (spec §3.4).
 *
 * Every schema is a static tree of struct snode, written from the schemas
 * of spec §4.1, §5.1, §6.4, §6.5 and Nova's servers query schema.  Each
 * node lists its keywords in the order Nova's schema dict has them, which
 * is the order jsonschema 4.10.3 evaluates them in; the first failing
 * keyword, depth first, is the one reported.  A query is turned into the
 * instance Nova validates (a JSON object from each name to the list of its
 * values, names in order of first appearance) and goes through the same
 * evaluator, so bodies and queries share every keyword and every message.
 *
 * Only the keywords these schemas use exist here.  'pattern' is a C
 * matcher per pattern (each pattern is "^[class]*$"), run with Python
 * re.search semantics, where '$' also matches before a final "\n".
 * 'format: regex' is Python's re.compile as regex.c emulates it, within
 * regex.c's bounds (a pattern beyond them is not a 'regex').
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "ferry/drain.h"
#include "ferry/regex.h"
#include "ferry/schema.h"

enum skw {
    SK_END = 0,
    SK_TYPE,
    SK_ENUM,
    SK_PROPS,
    SK_REQUIRED,
    SK_ADDL,
    SK_PPROPS,
    SK_MINLEN,
    SK_MAXLEN,
    SK_PATTERN,
    SK_FORMAT,
    SK_MINIMUM,
    SK_ITEMS,
    SK_MAXITEMS,
    SK_MAXIMUM
};

/* An enum member: a boolean (s == NULL) or a string. */
struct sval {
    const char *s;
    int b;
};

struct sprop {
    const char *name;
    const struct snode *schema;
};

struct spattern {
    const char *text;  /* as quoted in messages */
    int (*cls)(int c); /* "^[cls]*$" */
};

struct sformat {
    const char *name;
    int (*check)(const char *s, size_t n);
};

struct snode {
    unsigned char kw[8];      /* keywords, evaluation order */
    const char *const *types; /* NULL-terminated, schema order */
    const struct sval *enums;
    size_t nenums;
    const struct sprop *props;    /* name == NULL ends */
    const char *const *required;  /* NULL-terminated */
    int addl;                     /* additionalProperties */
    const struct spattern *pprop; /* patternProperties: the regex */
    const struct snode *pprop_schema;
    long min_len;
    long max_len;
    const struct spattern *pattern;
    const struct sformat *format;
    long minimum;
    const struct snode *items;
    long max_items;
    long maximum;
};

/* Patterns and formats */

static int cls_host(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
        || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_';
}

static int cls_digit(int c)
{
    return c >= '0' && c <= '9';
}

static const struct spattern pat_host = { "^[a-zA-Z0-9-._]*$", cls_host };
static const struct spattern pat_digits = { "^[0-9]*$", cls_digit };
static const struct spattern pat_underscore = { "^_", NULL };

static int pattern_match(const struct spattern *pat, const char *s, size_t n)
{
    size_t i;

    if (pat->cls == NULL) {
        return n > 0 && s[0] == '_'; /* "^_" */
    }

    if (n > 0 && s[n - 1] == '\n') {
        n--; /* '$' matches before a final \n */
    }

    for (i = 0; i < n; i++) {
        if (!pat->cls((unsigned char) s[i])) {
            return 0;
        }
    }

    return 1;
}

/*
 * Nova's validators._validate_regex_format: not empty, and re.compile()
 * accepts it.  A NUL byte is an ordinary character to Python and to
 * regex.c (lengths, not strlen).
 */
static int fmt_regex(const char *s, size_t n)
{
    return regex_valid(s, n);
}

static int fmt_datetime(const char *s, size_t n)
{
    int64_t t;

    if (memchr(s, '\0', n) != NULL) {
        return 0;
    }

    return schema_parse_datetime(s, &t) == 0;
}

static const struct sformat fmt_re = { "regex", fmt_regex };
static const struct sformat fmt_dt = { "date-time", fmt_datetime };

/*
 * date-time: iso8601.parse_date as oslo's parse_isotime calls it.  The
 * grammar is iso8601's regex; where the regex can match a string in more
 * than one way the alternatives are tried in the regex engine's order
 * (left branch first, greedy counts first), because the fields it picks
 * decide the range check that follows.
 */

struct dt {
    const char *s;
    size_t n;
    int year, mon, day, hour, min, sec;
    long usec;
    int has_tz, tz_sign, tz_hour, tz_min;
};

static int dt_num(const struct dt *d, size_t p, size_t len, int *out)
{
    size_t i;
    int v;

    if (p + len > d->n) {
        return 0;
    }

    v = 0;

    for (i = 0; i < len; i++) {
        if (!cls_digit((unsigned char) d->s[p + i])) {
            return 0;
        }
        v = v * 10 + (d->s[p + i] - '0');
    }

    *out = v;
    return 1;
}

static int dt_end(const struct dt *d, size_t p)
{
    return p == d->n || (p + 1 == d->n && d->s[p] == '\n');
}

/* The optional timezone, then '$'. */
static int dt_tz(struct dt *d, size_t p)
{
    size_t q;

    d->has_tz = 0;

    if (p < d->n && d->s[p] == 'Z') {
        if (dt_end(d, p + 1)) {
            d->has_tz = 1;
            d->tz_sign = 1;
            d->tz_hour = 0;
            d->tz_min = 0;
            return 1;
        }

    } else if (p < d->n && (d->s[p] == '+' || d->s[p] == '-')
               && dt_num(d, p + 1, 2, &d->tz_hour)) {
        q = p + 3;

        if (q < d->n && d->s[q] == ':') {
            q++;
        }

        d->has_tz = 1;
        d->tz_sign = (d->s[p] == '-') ? -1 : 1;

        if (dt_num(d, q, 2, &d->tz_min) && dt_end(d, q + 2)) {
            return 1;
        }

        d->tz_min = 0;

        if (dt_end(d, q)) {
            return 1;
        }

        d->has_tz = 0;
    }

    return dt_end(d, p);
}

/* Fraction digits, then the timezone. */
static int dt_frac(struct dt *d, size_t p)
{
    size_t q;
    long scale;

    d->usec = 0;

    if (p < d->n && (d->s[p] == '.' || d->s[p] == ',') && p + 1 < d->n
        && cls_digit((unsigned char) d->s[p + 1])) {
        scale = 100000;

        for (q = p + 1; q < d->n && cls_digit((unsigned char) d->s[q]); q++) {
            d->usec += (d->s[q] - '0') * scale;
            scale /= 10;
        }

        if (dt_tz(d, q)) {
            return 1;
        }

        d->usec = 0;
    }

    return dt_tz(d, p);
}

/* [:]ss (two digits, then one), then the fraction; or no seconds. */
static int dt_sec(struct dt *d, size_t p)
{
    size_t q;
    int w;

    q = (p < d->n && d->s[p] == ':') ? p + 1 : p;

    for (w = 2; w >= 1; w--) {
        if (dt_num(d, q, (size_t) w, &d->sec) && dt_frac(d, q + (size_t) w)) {
            return 1;
        }
    }

    d->sec = 0;
    d->usec = 0;
    return dt_tz(d, p);
}

/* The optional time part, then '$'. */
static int dt_time(struct dt *d, size_t p)
{
    size_t q;

    if (p < d->n && (d->s[p] == 'T' || d->s[p] == ' ')
        && dt_num(d, p + 1, 2, &d->hour)) {
        q = p + 3;

        if (dt_num(d, (q < d->n && d->s[q] == ':') ? q + 1 : q, 2, &d->min)
            && dt_sec(d, ((q < d->n && d->s[q] == ':') ? q + 1 : q) + 2)) {
            return 1;
        }

        d->min = 0;

        if (dt_sec(d, q)) {
            return 1;
        }
    }

    d->hour = 0;
    d->min = 0;
    d->sec = 0;
    d->usec = 0;
    d->has_tz = 0;
    return dt_end(d, p);
}

/* -D[D] (two digits, then one) or DD, then the time. */
static int dt_day(struct dt *d, size_t p)
{
    int w;

    if (p < d->n && d->s[p] == '-') {
        for (w = 2; w >= 1; w--) {
            if (dt_num(d, p + 1, (size_t) w, &d->day)
                && dt_time(d, p + 1 + (size_t) w)) {
                return 1;
            }
        }
    }

    return dt_num(d, p, 2, &d->day) && dt_time(d, p + 2);
}

static int dt_match(struct dt *d)
{
    int w;

    if (!dt_num(d, 0, 4, &d->year)) {
        return 0;
    }

    d->mon = 1;
    d->day = 1;

    /* -M[M] or MM (not at the end: no YYYYMM), each then a day or not. */
    if (d->n > 4 && d->s[4] == '-') {
        for (w = 2; w >= 1; w--) {
            if (dt_num(d, 5, (size_t) w, &d->mon)) {
                if (dt_day(d, 5 + (size_t) w)) {
                    return 1;
                }
                d->day = 1;
                if (dt_end(d, 5 + (size_t) w)) {
                    return 1;
                }
            }
        }
    }

    if (dt_num(d, 4, 2, &d->mon) && !dt_end(d, 6)) {
        if (dt_day(d, 6)) {
            return 1;
        }
    }

    d->mon = 1;
    d->day = 1;
    return dt_end(d, 4);
}

static int64_t days_from_civil(int64_t y, int m, int d)
{
    int64_t era;
    unsigned yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = (unsigned) (y - era * 400);
    doy = (unsigned) ((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1);
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t) doe - 719468;
}

int schema_parse_datetime(const char *s, int64_t *epoch_us)
{
    static const int mdays[] = {
        31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31
    };
    struct dt d;
    int dim, off;

    memset(&d, 0, sizeof(d));
    d.s = s;
    d.n = strlen(s);

    if (!dt_match(&d)) {
        return -1;
    }

    /* datetime() and timezone() range checks */
    if (d.year < 1 || d.mon < 1 || d.mon > 12) {
        return -1;
    }

    dim = mdays[d.mon - 1];

    if (d.mon == 2 && d.year % 4 == 0
        && (d.year % 100 != 0 || d.year % 400 == 0)) {
        dim = 29;
    }

    if (d.day < 1 || d.day > dim || d.hour > 23 || d.min > 59 || d.sec > 59) {
        return -1;
    }

    off = 0;

    if (d.has_tz) {
        off = d.tz_hour * 60 + d.tz_min;
        if (off >= 24 * 60) {
            return -1;
        }
        off *= d.tz_sign;
    }

    *epoch_us = ((days_from_civil(d.year, d.mon, d.day) * 86400 + d.hour * 3600
                  + d.min * 60 + d.sec - off * 60)
                 * 1000000)
        + d.usec;
    return 0;
}

/* The schemas */

#define KW(...) .kw = { __VA_ARGS__ }

static const char *const t_object[] = { "object", NULL };
static const char *const t_object_null[] = { "object", "null", NULL };
static const char *const t_null[] = { "null", NULL };
static const char *const t_string[] = { "string", NULL };
static const char *const t_string_null[] = { "string", "null", NULL };
static const char *const t_bool_string[] = { "boolean", "string", NULL };
static const char *const t_int_string[] = { "integer", "string", NULL };
static const char *const t_array[] = { "array", NULL };
static const char *const t_array_null[] = { "array", "null", NULL };
static const char *const t_integer[] = { "integer", NULL };

/* parameter_types.boolean, then with 'auto' appended (live 2.25+) */
static const struct sval e_bool_auto[] = {
    { NULL, 1 },  { "True", 0 }, { "TRUE", 0 },  { "true", 0 },  { "1", 0 },
    { "ON", 0 },  { "On", 0 },   { "on", 0 },    { "YES", 0 },   { "Yes", 0 },
    { "yes", 0 }, { NULL, 0 },   { "False", 0 }, { "FALSE", 0 }, { "false", 0 },
    { "0", 0 },   { "OFF", 0 },  { "Off", 0 },   { "off", 0 },   { "NO", 0 },
    { "No", 0 },  { "no", 0 },   { "auto", 0 }
};

static const struct snode s_bool = { KW(SK_TYPE, SK_ENUM),
                                     .types = t_bool_string,
                                     .enums = e_bool_auto,
                                     .nenums = ARRAY_LEN(e_bool_auto) - 1 };

static const struct snode s_bool_auto = { KW(SK_TYPE, SK_ENUM),
                                          .types = t_bool_string,
                                          .enums = e_bool_auto,
                                          .nenums = ARRAY_LEN(e_bool_auto) };

/* parameter_types.fqdn with null allowed */
static const struct snode s_host = {
    KW(SK_TYPE, SK_MINLEN, SK_MAXLEN, SK_PATTERN), .types = t_string_null,
    .min_len = 1, .max_len = 255, .pattern = &pat_host
};

/* os-migrateLive */

static const struct sprop p_live_2_1[] = { { "block_migration", &s_bool },
                                           { "disk_over_commit", &s_bool },
                                           { "host", &s_host },
                                           { NULL, NULL } };

static const struct sprop p_live_2_25[] = { { "block_migration", &s_bool_auto },
                                            { "host", &s_host },
                                            { NULL, NULL } };

static const struct sprop p_live_2_30[] = { { "block_migration", &s_bool_auto },
                                            { "host", &s_host },
                                            { "force", &s_bool },
                                            { NULL, NULL } };

static const char *const r_live_2_1[] = { "block_migration", "disk_over_commit",
                                          "host", NULL };

static const char *const r_live_2_25[] = { "block_migration", "host", NULL };

#define OBJECT_NODE(p, r)                                           \
    {                                                               \
        KW(SK_TYPE, SK_PROPS, SK_REQUIRED, SK_ADDL),                \
            .types = t_object, .props = p, .required = r, .addl = 0 \
    }

static const struct snode s_live_2_1_in = OBJECT_NODE(p_live_2_1, r_live_2_1);
static const struct snode s_live_2_25_in =
    OBJECT_NODE(p_live_2_25, r_live_2_25);
static const struct snode s_live_2_30_in =
    OBJECT_NODE(p_live_2_30, r_live_2_25);

static const char *const r_live[] = { "os-migrateLive", NULL };

static const struct sprop p_live_2_1_top[] = {
    { "os-migrateLive", &s_live_2_1_in }, { NULL, NULL }
};

static const struct sprop p_live_2_25_top[] = {
    { "os-migrateLive", &s_live_2_25_in }, { NULL, NULL }
};

static const struct sprop p_live_2_30_top[] = {
    { "os-migrateLive", &s_live_2_30_in }, { NULL, NULL }
};

/* migrate 2.56 */

static const struct sprop p_migrate_in[] = { { "host", &s_host },
                                             { NULL, NULL } };

static const struct snode s_migrate_in = { KW(SK_TYPE, SK_PROPS, SK_ADDL),
                                           .types = t_object_null,
                                           .props = p_migrate_in, .addl = 0 };

static const struct sprop p_migrate[] = { { "migrate", &s_migrate_in },
                                          { NULL, NULL } };

static const char *const r_migrate[] = { "migrate", NULL };

/* force_complete */

static const struct snode s_null = { KW(SK_TYPE), .types = t_null };

static const struct sprop p_force[] = { { "force_complete", &s_null },
                                        { NULL, NULL } };

static const char *const r_force[] = { "force_complete", NULL };

/* os-ferry-drains (ferry's own: doc/api.md) */

static const struct snode s_drain_host = {
    KW(SK_TYPE, SK_MINLEN, SK_MAXLEN, SK_PATTERN), .types = t_string,
    .min_len = 1, .max_len = 255, .pattern = &pat_host
};

static const struct snode s_drain_targets = {
    KW(SK_TYPE, SK_ITEMS, SK_MAXITEMS), .types = t_array_null,
    .items = &s_drain_host, .max_items = DRAIN_MAX_TARGETS
};

static const struct snode s_drain_parallel = {
    KW(SK_TYPE, SK_MINIMUM, SK_MAXIMUM), .types = t_integer, .minimum = 1,
    .maximum = DRAIN_MAX_PARALLEL
};

static const struct sval e_shut_off[] = { { "cold_migrate", 0 },
                                          { "leave", 0 } };

static const struct snode s_drain_shut_off = {
    KW(SK_TYPE, SK_ENUM), .types = t_string, .enums = e_shut_off,
    .nenums = ARRAY_LEN(e_shut_off)
};

static const struct sprop p_drain_in[] = { { "host", &s_drain_host },
                                           { "target_hosts", &s_drain_targets },
                                           { "max_parallel",
                                             &s_drain_parallel },
                                           { "block_migration", &s_bool_auto },
                                           { "shut_off", &s_drain_shut_off },
                                           { NULL, NULL } };

static const char *const r_drain_in[] = { "host", NULL };

static const struct snode s_drain_in = OBJECT_NODE(p_drain_in, r_drain_in);

static const struct sprop p_drain[] = { { "drain", &s_drain_in },
                                        { NULL, NULL } };

static const char *const r_drain[] = { "drain", NULL };

static const struct sprop p_enable_host[] = { { "enable_host", &s_null },
                                              { NULL, NULL } };

static const char *const r_enable_host[] = { "enable_host", NULL };

static const struct snode body_schemas[SCHEMA__BODY_COUNT] = {
    [SCHEMA_LIVE_2_1] = OBJECT_NODE(p_live_2_1_top, r_live),
    [SCHEMA_LIVE_2_25] = OBJECT_NODE(p_live_2_25_top, r_live),
    [SCHEMA_LIVE_2_30] = OBJECT_NODE(p_live_2_30_top, r_live),
    [SCHEMA_MIGRATE_2_56] = OBJECT_NODE(p_migrate, r_migrate),
    [SCHEMA_FORCE_COMPLETE] = OBJECT_NODE(p_force, r_force),
    [SCHEMA_DRAIN_CREATE] = OBJECT_NODE(p_drain, r_drain),
    [SCHEMA_DRAIN_ENABLE_HOST] = OBJECT_NODE(p_enable_host, r_enable_host),
};

/* Query parameters: parameter_types.multi_params / single_param */

static const struct snode s_qstr = { KW(SK_TYPE), .types = t_string };

static const struct snode s_qregex = { KW(SK_TYPE, SK_FORMAT),
                                       .types = t_string, .format = &fmt_re };

static const struct snode s_qdatetime = { KW(SK_TYPE, SK_FORMAT),
                                          .types = t_string,
                                          .format = &fmt_dt };

/* parameter_types.non_negative_integer */
static const struct snode s_qnonneg = {
    KW(SK_TYPE, SK_PATTERN, SK_MINIMUM, SK_MINLEN), .types = t_int_string,
    .pattern = &pat_digits, .minimum = 0, .min_len = 1
};

#define MULTI(s)                                            \
    {                                                       \
        KW(SK_TYPE, SK_ITEMS), .types = t_array, .items = s \
    }
#define SINGLE(s)                                                         \
    {                                                                     \
        KW(SK_TYPE, SK_ITEMS, SK_MAXITEMS), .types = t_array, .items = s, \
                                            .max_items = 1                \
    }

static const struct snode q_multi = MULTI(&s_qstr);
static const struct snode q_multi_regex = MULTI(&s_qregex);
static const struct snode q_multi_datetime = MULTI(&s_qdatetime);
static const struct snode q_multi_nonneg = MULTI(&s_qnonneg);
static const struct snode q_single = SINGLE(&s_qstr);
static const struct snode q_single_datetime = SINGLE(&s_qdatetime);
static const struct snode q_single_nonneg = SINGLE(&s_qnonneg);

/* os-migrations */

#define MIGRATIONS_2_1                                                 \
    { "hidden", &q_multi }, { "host", &q_multi },                      \
        { "instance_uuid", &q_multi }, { "source_compute", &q_multi }, \
        { "status", &q_multi },                                        \
    {                                                                  \
        "migration_type", &q_multi                                     \
    }

#define MIGRATIONS_2_59                                                     \
    MIGRATIONS_2_1, { "limit", &q_single_nonneg }, { "marker", &q_single }, \
    {                                                                       \
        "changes-since", &q_single_datetime                                 \
    }

#define MIGRATIONS_2_66                      \
    MIGRATIONS_2_59,                         \
    {                                        \
        "changes-before", &q_single_datetime \
    }

static const struct sprop p_mig_2_1[] = { MIGRATIONS_2_1, { NULL, NULL } };
static const struct sprop p_mig_2_59[] = { MIGRATIONS_2_59, { NULL, NULL } };
static const struct sprop p_mig_2_66[] = { MIGRATIONS_2_66, { NULL, NULL } };

/* os-instance-actions (schemas/instance_actions.py) */

#define ACTIONS_2_58                                        \
    { "limit", &q_single_nonneg }, { "marker", &q_single }, \
    {                                                       \
        "changes-since", &q_single_datetime                 \
    }

static const struct sprop p_act_2_58[] = { ACTIONS_2_58, { NULL, NULL } };
static const struct sprop p_act_2_66[] = {
    ACTIONS_2_58, { "changes-before", &q_single_datetime }, { NULL, NULL }
};

static const struct sprop p_mig_2_80[] = { MIGRATIONS_2_66,
                                           { "user_id", &q_single },
                                           { "project_id", &q_single },
                                           { NULL, NULL } };

/* servers: VALID_SORT_KEYS (before 2.73), then 2.73's and 2.75's lists.
 * Nova builds the last two from a set(), so their order changes from one
 * Nova process to the next; ours keeps the 2.1 list's order. */

#define SORT_KEYS_VALID                                                      \
    { "access_ip_v4", 0 }, { "access_ip_v6", 0 }, { "auto_disk_config", 0 }, \
        { "availability_zone", 0 }, { "config_drive", 0 },                   \
        { "created_at", 0 }, { "display_description", 0 },                   \
        { "display_name", 0 }, { "host", 0 }, { "hostname", 0 },             \
        { "image_ref", 0 }, { "instance_type_id", 0 }, { "kernel_id", 0 },   \
        { "key_name", 0 }, { "launch_index", 0 }, { "launched_at", 0 },      \
        { "locked_by", 0 }, { "node", 0 }, { "power_state", 0 },             \
        { "progress", 0 }, { "project_id", 0 }, { "ramdisk_id", 0 },         \
        { "root_device_name", 0 }, { "task_state", 0 },                      \
        { "terminated_at", 0 }, { "updated_at", 0 }, { "user_id", 0 },       \
        { "uuid", 0 },                                                       \
    {                                                                        \
        "vm_state", 0                                                        \
    }

#define SORT_KEYS_IGNORED_A                                                \
    { "architecture", 0 }, { "cell_name", 0 }, { "cleaned", 0 },           \
        { "default_ephemeral_device", 0 }, { "default_swap_device", 0 },   \
        { "deleted", 0 }, { "deleted_at", 0 }, { "disable_terminate", 0 }, \
        { "ephemeral_gb", 0 }, { "ephemeral_key_uuid", 0 }, { "id", 0 },   \
        { "key_data", 0 },                                                 \
    {                                                                      \
        "launched_on", 0                                                   \
    }

#define SORT_KEYS_IGNORED_B                                                \
    { "memory_mb", 0 }, { "os_type", 0 }, { "reservation_id", 0 },         \
        { "root_gb", 0 }, { "shutdown_terminate", 0 }, { "user_data", 0 }, \
        { "vcpus", 0 },                                                    \
    {                                                                      \
        "vm_mode", 0                                                       \
    }

static const struct sval e_sort_2_1[] = {
    SORT_KEYS_VALID, SORT_KEYS_IGNORED_A, { "locked", 0 }, SORT_KEYS_IGNORED_B
};

static const struct sval e_sort_2_73[] = {
    { "locked", 0 }, SORT_KEYS_VALID, SORT_KEYS_IGNORED_A, SORT_KEYS_IGNORED_B
};

static const struct sval e_sort_2_75[] = { { "locked", 0 }, SORT_KEYS_VALID };

#define SORT_NODE(e)                                         \
    {                                                        \
        KW(SK_TYPE, SK_ENUM), .types = t_string, .enums = e, \
                              .nenums = ARRAY_LEN(e)         \
    }

static const struct snode s_sort_2_1 = SORT_NODE(e_sort_2_1);
static const struct snode s_sort_2_73 = SORT_NODE(e_sort_2_73);
static const struct snode s_sort_2_75 = SORT_NODE(e_sort_2_75);

static const struct snode q_sort_2_1 = MULTI(&s_sort_2_1);
static const struct snode q_sort_2_73 = MULTI(&s_sort_2_73);
static const struct snode q_sort_2_75 = MULTI(&s_sort_2_75);

#define SERVERS_2_1(sort)                                                      \
    { "user_id", &q_multi }, { "project_id", &q_multi },                       \
        { "tenant_id", &q_multi }, { "launch_index", &q_multi },               \
        { "image_ref", &q_multi }, { "image", &q_multi },                      \
        { "kernel_id", &q_multi_regex }, { "ramdisk_id", &q_multi_regex },     \
        { "hostname", &q_multi_regex }, { "key_name", &q_multi_regex },        \
        { "power_state", &q_multi_regex }, { "vm_state", &q_multi },           \
        { "task_state", &q_multi }, { "host", &q_multi },                      \
        { "node", &q_multi_regex }, { "flavor", &q_multi_regex },              \
        { "reservation_id", &q_multi_regex },                                  \
        { "launched_at", &q_multi_regex },                                     \
        { "terminated_at", &q_multi_regex },                                   \
        { "availability_zone", &q_multi_regex }, { "name", &q_multi_regex },   \
        { "display_name", &q_multi_regex }, { "description", &q_multi_regex }, \
        { "display_description", &q_multi_regex },                             \
        { "locked_by", &q_multi_regex }, { "uuid", &q_multi },                 \
        { "root_device_name", &q_multi_regex },                                \
        { "config_drive", &q_multi_regex },                                    \
        { "access_ip_v4", &q_multi_regex },                                    \
        { "access_ip_v6", &q_multi_regex },                                    \
        { "auto_disk_config", &q_multi_regex },                                \
        { "progress", &q_multi_regex }, { "sort_key", sort },                  \
        { "sort_dir", &q_multi }, { "all_tenants", &q_multi },                 \
        { "soft_deleted", &q_multi }, { "deleted", &q_multi },                 \
        { "status", &q_multi }, { "changes-since", &q_multi_datetime },        \
        { "ip", &q_multi_regex }, { "ip6", &q_multi_regex },                   \
        { "created_at", &q_multi_regex },                                      \
        { "block_device_mapping", &q_multi }, { "services", &q_multi },        \
        { "metadata", &q_multi }, { "system_metadata", &q_multi },             \
        { "info_cache", &q_multi }, { "security_groups", &q_multi },           \
        { "pci_devices", &q_multi }, { "limit", &q_multi_nonneg },             \
    {                                                                          \
        "marker", &q_multi                                                     \
    }

#define SERVERS_2_26(sort)                                              \
    SERVERS_2_1(sort), { "tags", &q_multi_regex },                      \
        { "tags-any", &q_multi_regex }, { "not-tags", &q_multi_regex }, \
    {                                                                   \
        "not-tags-any", &q_multi_regex                                  \
    }

#define SERVERS_2_66(sort)                  \
    SERVERS_2_26(sort),                     \
    {                                       \
        "changes-before", &q_multi_datetime \
    }

static const struct sprop p_srv_2_1[] = { SERVERS_2_1(&q_sort_2_1),
                                          { NULL, NULL } };

static const struct sprop p_srv_2_26[] = { SERVERS_2_26(&q_sort_2_1),
                                           { NULL, NULL } };

static const struct sprop p_srv_2_66[] = { SERVERS_2_66(&q_sort_2_1),
                                           { NULL, NULL } };

static const struct sprop p_srv_2_73[] = { SERVERS_2_66(&q_sort_2_73),
                                           { "locked", &q_multi },
                                           { NULL, NULL } };

static const struct sprop p_srv_2_75[] = { SERVERS_2_66(&q_sort_2_75),
                                           { "locked", &q_multi },
                                           { NULL, NULL } };

#define QUERY_NODE(p, a)                                               \
    {                                                                  \
        KW(SK_TYPE, SK_PROPS, SK_ADDL), .types = t_object, .props = p, \
                                        .addl = a                      \
    }

/*
 * Nova's servers query schemas also let "^_" names through (the API
 * refuses them later).  With patternProperties present, jsonschema words
 * Nova's 2.75 error for an unknown name as "'x' does not match any of the
 * regexes: '^_'"; the contract (spec §1.6) asks for the plain
 * "Additional properties are not allowed (...)", which is what we send.
 */
#define SERVERS_NODE(p, a)                                     \
    {                                                          \
        KW(SK_TYPE, SK_PROPS, SK_ADDL, SK_PPROPS),             \
            .types = t_object, .props = p, .addl = a,          \
            .pprop = &pat_underscore, .pprop_schema = &q_multi \
    }

static const struct snode query_schemas[QSCHEMA__COUNT] = {
    [QSCHEMA_SERVERS_2_1] = SERVERS_NODE(p_srv_2_1, 1),
    [QSCHEMA_SERVERS_2_26] = SERVERS_NODE(p_srv_2_26, 1),
    [QSCHEMA_SERVERS_2_66] = SERVERS_NODE(p_srv_2_66, 1),
    [QSCHEMA_SERVERS_2_73] = SERVERS_NODE(p_srv_2_73, 1),
    [QSCHEMA_SERVERS_2_75] = SERVERS_NODE(p_srv_2_75, 0),
    [QSCHEMA_MIGRATIONS_2_1] = QUERY_NODE(p_mig_2_1, 1),
    [QSCHEMA_MIGRATIONS_2_59] = QUERY_NODE(p_mig_2_59, 0),
    [QSCHEMA_MIGRATIONS_2_66] = QUERY_NODE(p_mig_2_66, 0),
    [QSCHEMA_MIGRATIONS_2_80] = QUERY_NODE(p_mig_2_80, 0),
    [QSCHEMA_ACTIONS_2_58] = QUERY_NODE(p_act_2_58, 0),
    [QSCHEMA_ACTIONS_2_66] = QUERY_NODE(p_act_2_66, 0),
};

/* The evaluator */

#define SV_MAX_PATH 16

struct sv {
    int query; /* message form: query or body */
    int depth;
    struct {
        const char *key; /* or NULL: idx */
        size_t idx;
    } path[SV_MAX_PATH];
    struct ferr *err;
};

static void sv_push_key(struct sv *c, const char *key)
{
    if (c->depth < SV_MAX_PATH) {
        c->path[c->depth].key = key;
    }
    c->depth++;
}

static void sv_push_idx(struct sv *c, size_t idx)
{
    if (c->depth < SV_MAX_PATH) {
        c->path[c->depth].key = NULL;
        c->path[c->depth].idx = idx;
    }
    c->depth++;
}

/*
 * str(v) for a C-string message: a U+0000 in a request string becomes the
 * two bytes C0 80, which jw writes back as \u0000 (see json.h), instead of
 * cutting the message short.
 */
static void sv_pystr_c(struct sbuf *out, const jnode *v)
{
    struct sbuf tmp;
    const char *p, *nul, *end;

    sbuf_init(&tmp);
    json_pystr(&tmp, v);
    p = tmp.buf;
    end = tmp.buf + tmp.len;

    while ((nul = memchr(p, '\0', (size_t) (end - p))) != NULL) {
        sbuf_putn(out, p, (size_t) (nul - p));
        sbuf_putn(out, "\xc0\x80", 2);
        p = nul + 1;
    }

    sbuf_putn(out, p, (size_t) (end - p));
    sbuf_free(&tmp);
}

/*
 * Reports the error found at instance v with the keyword message msg:
 * the body form names the last path element, the query form the first,
 * and an error at the root is the message alone (validators.py).
 */
static int sv_fail(struct sv *c, const jnode *v, struct sbuf *msg)
{
    struct sbuf out;
    int i, rc;

    if (c->depth == 0) {
        rc = ferr_set(c->err, FE_BADREQ, "%s", msg->buf);
        sbuf_free(msg);
        return rc;
    }

    i = c->query ? 0 : c->depth - 1;
    if (i >= SV_MAX_PATH) {
        i = SV_MAX_PATH - 1;
    }

    sbuf_init(&out);
    sbuf_puts(&out,
              c->query ? "Invalid input for query parameters "
                       : "Invalid input for field/attribute ");

    if (c->path[i].key != NULL) {
        sbuf_puts(&out, c->path[i].key);

    } else {
        sbuf_printf(&out, "%zu", c->path[i].idx);
    }

    sbuf_puts(&out, ". Value: ");
    sv_pystr_c(&out, v);
    sbuf_puts(&out, ". ");
    sbuf_putn(&out, msg->buf, msg->len);

    rc = ferr_set(c->err, FE_BADREQ, "%s", out.buf);
    sbuf_free(&out);
    sbuf_free(msg);
    return rc;
}

/* format: "<repr(v)> is not a <repr(format)>" (jsonschema 4.10.3). */
static int sv_format_fail(struct sv *c, const jnode *v, const struct sformat *f)
{
    struct sbuf msg;

    sbuf_init(&msg);
    json_pyrepr(&msg, v);
    sbuf_puts(&msg, " is not a ");
    py_repr_cstr(&msg, f->name, strlen(f->name));
    return sv_fail(c, v, &msg);
}

static int sv_type_is(const jnode *v, const char *t)
{
    enum jtype jt;

    jt = jnode_type(v);

    switch (t[0]) {
    case 'a':
        return jt == JT_ARRAY;
    case 'b':
        return jt == JT_BOOL;
    case 'i':
        return jt == JT_INT;
    case 'n':
        return (t[1] == 'u') ? jt == JT_NULL
                             : (jt == JT_INT || jt == JT_DOUBLE);
    case 'o':
        return jt == JT_OBJECT;
    case 's':
        return jt == JT_STRING;
    default:
        return 0;
    }
}

static int sv_enum_has(const struct snode *s, const jnode *v)
{
    const char *str;
    size_t i, n;

    for (i = 0; i < s->nenums; i++) {
        if (s->enums[i].s == NULL) {
            if (jnode_type(v) == JT_BOOL && jnode_bool(v) == s->enums[i].b) {
                return 1;
            }
            continue;
        }

        if (jnode_type(v) != JT_STRING) {
            continue;
        }

        str = jnode_str(v);
        n = jnode_strlen(v);

        if (strlen(s->enums[i].s) == n && memcmp(str, s->enums[i].s, n) == 0) {
            return 1;
        }
    }

    return 0;
}

static void sv_repr_enum(struct sbuf *out, const struct snode *s)
{
    size_t i;

    sbuf_putc(out, '[');

    for (i = 0; i < s->nenums; i++) {
        if (i > 0) {
            sbuf_puts(out, ", ");
        }

        if (s->enums[i].s == NULL) {
            sbuf_puts(out, s->enums[i].b ? "True" : "False");

        } else {
            py_repr_cstr(out, s->enums[i].s, strlen(s->enums[i].s));
        }
    }

    sbuf_putc(out, ']');
}

static size_t sv_codepoints(const char *s, size_t n)
{
    size_t i, cps;

    cps = 0;

    for (i = 0; i < n; i++) {
        if (((unsigned char) s[i] & 0xc0) != 0x80) {
            cps++;
        }
    }

    return cps;
}

static int sv_prop_known(const struct snode *s, const char *name)
{
    const struct sprop *p;

    for (p = s->props; p != NULL && p->name != NULL; p++) {
        if (strcmp(p->name, name) == 0) {
            return 1;
        }
    }

    return 0;
}

static int sv_extra(const struct snode *s, const char *name)
{
    return !sv_prop_known(s, name)
        && !(s->pprop != NULL && pattern_match(s->pprop, name, strlen(name)));
}

static int sv_cmp_str(const void *a, const void *b)
{
    /* Code point order is byte order in UTF-8. */
    return strcmp(*(const char *const *) a, *(const char *const *) b);
}

static int sv_node(struct sv *c, const struct snode *s, const jnode *v);

static int sv_child(struct sv *c, const struct snode *s, const jnode *v,
                    const char *key, size_t idx)
{
    int rc;

    if (key != NULL) {
        sv_push_key(c, key);

    } else {
        sv_push_idx(c, idx);
    }

    rc = sv_node(c, s, v);
    c->depth--;
    return rc;
}

static int sv_addl(struct sv *c, const struct snode *s, const jnode *v)
{
    struct jiter it;
    struct sbuf msg;
    const char **extra, *key;
    jnode *val;
    size_t n, i;

    if (s->addl || jnode_type(v) != JT_OBJECT) {
        return 0;
    }

    extra = calloc(jnode_obj_len(v) + 1, sizeof(*extra));
    if (extra == NULL) {
        return ferr_set(c->err, FE_NOMEM, "out of memory");
    }

    n = 0;
    jnode_obj_iter(v, &it);

    while (jnode_obj_next(&it, &key, &val)) {
        if (sv_extra(s, key)) {
            extra[n++] = key;
        }
    }

    if (n == 0) {
        free(extra);
        return 0;
    }

    qsort(extra, n, sizeof(*extra), sv_cmp_str);

    sbuf_init(&msg);
    sbuf_puts(&msg, "Additional properties are not allowed (");

    for (i = 0; i < n; i++) {
        if (i > 0) {
            sbuf_puts(&msg, ", ");
        }
        py_repr_cstr(&msg, extra[i], strlen(extra[i]));
    }

    sbuf_puts(&msg, n == 1 ? " was unexpected)" : " were unexpected)");
    free(extra);
    return sv_fail(c, v, &msg);
}

/* Nova's _validate_minimum: a string counts by its int() value. */
static int sv_minimum(struct sv *c, const struct snode *s, const jnode *v)
{
    struct sbuf msg;
    const char *str;
    char *end;
    long long n;

    switch (jnode_type(v)) {
    case JT_INT:
    case JT_DOUBLE:
        if (jnode_double(v) >= (double) s->minimum) {
            return 0;
        }

        sbuf_init(&msg);
        json_pyrepr(&msg, v);
        break;

    case JT_STRING:
        str = jnode_str(v);
        n = strtoll(str, &end, 10);

        while (*end == ' ' || *end == '\t' || *end == '\n') {
            end++;
        }

        /* the whole string: int('5\x00') is a ValueError */
        if (end == str || end != str + jnode_strlen(v) || n >= s->minimum) {
            return 0;
        }

        sbuf_init(&msg);
        sbuf_printf(&msg, "%lld", n);
        break;

    default:
        return 0;
    }

    sbuf_printf(&msg, " is less than the minimum of %ld", s->minimum);
    return sv_fail(c, v, &msg);
}

/*
 * The keywords.  Each checks instance v against one keyword of schema s
 * and returns 0 when v passes it, or the error sv_fail filled.
 */

static int sv_type(struct sv *c, const struct snode *s, const jnode *v)
{
    const char *const *t;
    struct sbuf msg;

    for (t = s->types; *t != NULL; t++) {
        if (sv_type_is(v, *t)) {
            return 0;
        }
    }

    sbuf_init(&msg);
    json_pyrepr(&msg, v);
    sbuf_puts(&msg, " is not of type ");

    for (t = s->types; *t != NULL; t++) {
        sbuf_printf(&msg, "%s'%s'", t == s->types ? "" : ", ", *t);
    }

    return sv_fail(c, v, &msg);
}

static int sv_enum(struct sv *c, const struct snode *s, const jnode *v)
{
    struct sbuf msg;

    if (sv_enum_has(s, v)) {
        return 0;
    }

    sbuf_init(&msg);
    json_pyrepr(&msg, v);
    sbuf_puts(&msg, " is not one of ");
    sv_repr_enum(&msg, s);
    return sv_fail(c, v, &msg);
}

static int sv_props(struct sv *c, const struct snode *s, const jnode *v)
{
    const struct sprop *p;
    jnode *child;
    int rc;

    if (jnode_type(v) != JT_OBJECT) {
        return 0;
    }

    for (p = s->props; p->name != NULL; p++) {
        if (jnode_obj_get(v, p->name, &child)) {
            rc = sv_child(c, p->schema, child, p->name, 0);
            if (rc != 0) {
                return rc;
            }
        }
    }

    return 0;
}

static int sv_required(struct sv *c, const struct snode *s, const jnode *v)
{
    const char *const *t;
    struct sbuf msg;
    jnode *child;

    if (jnode_type(v) != JT_OBJECT) {
        return 0;
    }

    for (t = s->required; *t != NULL; t++) {
        if (!jnode_obj_get(v, *t, &child)) {
            sbuf_init(&msg);
            py_repr_cstr(&msg, *t, strlen(*t));
            sbuf_puts(&msg, " is a required property");
            return sv_fail(c, v, &msg);
        }
    }

    return 0;
}

static int sv_pprops(struct sv *c, const struct snode *s, const jnode *v)
{
    struct jiter it;
    const char *key;
    jnode *child;
    int rc;

    if (jnode_type(v) != JT_OBJECT) {
        return 0;
    }

    jnode_obj_iter(v, &it);

    while (jnode_obj_next(&it, &key, &child)) {
        if (pattern_match(s->pprop, key, strlen(key))) {
            rc = sv_child(c, s->pprop_schema, child, key, 0);
            if (rc != 0) {
                return rc;
            }
        }
    }

    return 0;
}

/* minLength and maxLength count code points, as Python's len(str). */
static int sv_length(struct sv *c, const jnode *v, int too_short, size_t bound)
{
    struct sbuf msg;
    size_t n;

    if (jnode_type(v) != JT_STRING) {
        return 0;
    }

    n = sv_codepoints(jnode_str(v), jnode_strlen(v));

    if (too_short ? n >= bound : n <= bound) {
        return 0;
    }

    sbuf_init(&msg);
    json_pyrepr(&msg, v);
    sbuf_puts(&msg, too_short ? " is too short" : " is too long");
    return sv_fail(c, v, &msg);
}

static int sv_minlen(struct sv *c, const struct snode *s, const jnode *v)
{
    return sv_length(c, v, 1, (size_t) s->min_len);
}

static int sv_maxlen(struct sv *c, const struct snode *s, const jnode *v)
{
    return sv_length(c, v, 0, (size_t) s->max_len);
}

static int sv_pattern(struct sv *c, const struct snode *s, const jnode *v)
{
    struct sbuf msg;

    if (jnode_type(v) != JT_STRING
        || pattern_match(s->pattern, jnode_str(v), jnode_strlen(v))) {
        return 0;
    }

    sbuf_init(&msg);
    json_pyrepr(&msg, v);
    sbuf_puts(&msg, " does not match ");
    py_repr_cstr(&msg, s->pattern->text, strlen(s->pattern->text));
    return sv_fail(c, v, &msg);
}

static int sv_format(struct sv *c, const struct snode *s, const jnode *v)
{
    const char *str;

    /* Both of Nova's checkers refuse anything but a string. */
    str = jnode_str(v);

    if (str != NULL && s->format->check(str, jnode_strlen(v))) {
        return 0;
    }

    return sv_format_fail(c, v, s->format);
}

static int sv_items(struct sv *c, const struct snode *s, const jnode *v)
{
    size_t i, n;
    int rc;

    n = jnode_arr_len(v);

    for (i = 0; i < n; i++) {
        rc = sv_child(c, s->items, jnode_arr_get(v, i), NULL, i);
        if (rc != 0) {
            return rc;
        }
    }

    return 0;
}

static int sv_maxitems(struct sv *c, const struct snode *s, const jnode *v)
{
    struct sbuf msg;

    if (jnode_type(v) != JT_ARRAY
        || jnode_arr_len(v) <= (size_t) s->max_items) {
        return 0;
    }

    sbuf_init(&msg);
    json_pyrepr(&msg, v);
    sbuf_puts(&msg, " is too long");
    return sv_fail(c, v, &msg);
}

/* jsonschema's maximum, for the integers of ferry's own schemas. */
static int sv_maximum(struct sv *c, const struct snode *s, const jnode *v)
{
    struct sbuf msg;

    if ((jnode_type(v) != JT_INT && jnode_type(v) != JT_DOUBLE)
        || jnode_double(v) <= (double) s->maximum) {
        return 0;
    }
    sbuf_init(&msg);
    json_pyrepr(&msg, v);
    sbuf_printf(&msg, " is greater than the maximum of %ld", s->maximum);
    return sv_fail(c, v, &msg);
}

typedef int sv_keyword_fn(struct sv *c, const struct snode *s, const jnode *v);

static sv_keyword_fn *const sv_keywords[] = {
    [SK_TYPE] = sv_type,         [SK_ENUM] = sv_enum,
    [SK_PROPS] = sv_props,       [SK_REQUIRED] = sv_required,
    [SK_ADDL] = sv_addl,         [SK_PPROPS] = sv_pprops,
    [SK_MINLEN] = sv_minlen,     [SK_MAXLEN] = sv_maxlen,
    [SK_PATTERN] = sv_pattern,   [SK_FORMAT] = sv_format,
    [SK_MINIMUM] = sv_minimum,   [SK_ITEMS] = sv_items,
    [SK_MAXITEMS] = sv_maxitems, [SK_MAXIMUM] = sv_maximum,
};

/* The keywords of s in order; the first that fails is the one reported. */
static int sv_node(struct sv *c, const struct snode *s, const jnode *v)
{
    size_t k;
    int rc;

    for (k = 0; k < sizeof(s->kw) && s->kw[k] != SK_END; k++) {
        rc = sv_keywords[s->kw[k]](c, s, v);
        if (rc != 0) {
            return rc;
        }
    }

    return 0;
}

/* Public */

enum schema_id schema_live_for(int minor)
{
    if (minor < 25) {
        return SCHEMA_LIVE_2_1;
    }

    if (minor >= 30 && minor <= 67) {
        return SCHEMA_LIVE_2_30;
    }

    return SCHEMA_LIVE_2_25;
}

enum query_schema_id schema_servers_query_for(int minor)
{
    if (minor >= 75) {
        return QSCHEMA_SERVERS_2_75;
    }

    if (minor >= 73) {
        return QSCHEMA_SERVERS_2_73;
    }

    if (minor >= 66) {
        return QSCHEMA_SERVERS_2_66;
    }

    if (minor >= 26) {
        return QSCHEMA_SERVERS_2_26;
    }

    return QSCHEMA_SERVERS_2_1;
}

enum query_schema_id schema_migrations_query_for(int minor)
{
    if (minor >= 80) {
        return QSCHEMA_MIGRATIONS_2_80;
    }

    if (minor >= 66) {
        return QSCHEMA_MIGRATIONS_2_66;
    }

    if (minor >= 59) {
        return QSCHEMA_MIGRATIONS_2_59;
    }

    return QSCHEMA_MIGRATIONS_2_1;
}

enum query_schema_id schema_actions_query_for(int minor)
{
    return minor >= 66 ? QSCHEMA_ACTIONS_2_66 : QSCHEMA_ACTIONS_2_58;
}

int schema_validate(enum schema_id id, const jnode *body, struct ferr *err)
{
    struct sv c;

    if ((unsigned) id >= SCHEMA__BODY_COUNT) {
        return ferr_set(err, FE_INTERNAL, "unknown schema %d", (int) id);
    }

    memset(&c, 0, sizeof(c));
    c.err = err;
    return sv_node(&c, &body_schemas[id], body);
}

int schema_validate_query(enum query_schema_id id, const struct qparam *q,
                          size_t n, struct ferr *err)
{
    struct sv c;
    jnode *obj, *list, *str;
    size_t i;
    int rc;

    if ((unsigned) id >= QSCHEMA__COUNT) {
        return ferr_set(err, FE_INTERNAL, "unknown schema %d", (int) id);
    }

    for (i = 0; i < n; i++) {
        if (!utf8_valid_esc(q[i].name, strlen(q[i].name))
            || !utf8_valid_esc(q[i].value, strlen(q[i].value))) {
            return ferr_set(err, FE_BADREQ,
                            "Query string is not UTF-8 encoded");
        }
    }

    /* webob's dict_of_lists(): names in order of first appearance. */
    obj = json_object_new_object();
    if (obj == NULL) {
        return ferr_set(err, FE_NOMEM, "out of memory");
    }

    for (i = 0; i < n; i++) {
        if (!json_object_object_get_ex(obj, q[i].name, &list)) {
            list = json_object_new_array();
            if (list == NULL
                || json_object_object_add(obj, q[i].name, list) != 0) {
                json_object_put(list);
                json_object_put(obj);
                return ferr_set(err, FE_NOMEM, "out of memory");
            }
        }

        str = json_object_new_string(q[i].value);
        if (str == NULL || json_object_array_add(list, str) != 0) {
            json_object_put(str);
            json_object_put(obj);
            return ferr_set(err, FE_NOMEM, "out of memory");
        }
    }

    memset(&c, 0, sizeof(c));
    c.query = 1;
    c.err = err;
    rc = sv_node(&c, &query_schemas[id], obj);
    json_object_put(obj);
    return rc;
}

/*
 * A query value that its 'format' check refuses after validation passed
 * it (a regex that reaches a regex.c bound when it is run): the message
 * validation gives for a format failure.
 */
int schema_query_format_error(const char *param, const char *value,
                              const char *format, struct ferr *err)
{
    struct sv c;
    struct sformat f = { format, NULL };
    jnode *v;
    int rc;

    v = json_object_new_string(value);
    if (v == NULL) {
        return ferr_set(err, FE_NOMEM, "out of memory");
    }

    memset(&c, 0, sizeof(c));
    c.query = 1;
    c.err = err;
    sv_push_key(&c, param);
    rc = sv_format_fail(&c, v, &f);
    json_object_put(v);
    return rc;
}

/* Python's str.isspace(), which strip() uses. */
static int py_isspace(uint32_t c)
{
    return (c >= 0x09 && c <= 0x0d) || (c >= 0x1c && c <= 0x20) || c == 0x85
        || c == 0xa0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200a)
        || c == 0x2028 || c == 0x2029 || c == 0x202f || c == 0x205f
        || c == 0x3000;
}

/* The code point at s (valid UTF-8, n > 0 bytes); *len its length. */
static uint32_t utf8_first(const char *s, size_t n, size_t *len)
{
    unsigned char b;
    uint32_t c;
    size_t k, i;

    b = (unsigned char) s[0];
    k = (b < 0x80) ? 1 : (b < 0xe0) ? 2 : (b < 0xf0) ? 3 : 4;
    k = (k > n) ? n : k;
    c = (k == 1) ? b : (uint32_t) (b & (0x7f >> k));

    for (i = 1; i < k; i++) {
        c = (c << 6) | ((unsigned char) s[i] & 0x3f);
    }

    *len = k;
    return c;
}

/* The code point that ends at s[n - 1], and its length. */
static uint32_t utf8_last(const char *s, size_t n, size_t *len)
{
    size_t k;

    k = 1;

    while (k < n && k < 4 && ((unsigned char) s[n - k] & 0xc0) == 0x80) {
        k++;
    }

    return utf8_first(s + n - k, k, len);
}

/* oslo strutils.bool_from_string: str.strip(), then the words of
 * BOOL_OSLO in any case (str_bool). */
static int bool_from_n(const char *s, size_t n)
{
    size_t k;

    while (n > 0 && py_isspace(utf8_first(s, n, &k))) {
        s += k;
        n -= k;
    }

    while (n > 0 && py_isspace(utf8_last(s, n, &k))) {
        n -= k;
    }

    return str_bool(s, n, BOOL_OSLO);
}

int schema_bool_from(const jnode *v)
{
    if (jnode_type(v) == JT_BOOL) {
        return jnode_bool(v);
    }

    if (jnode_type(v) != JT_STRING) {
        return -1;
    }

    return bool_from_n(jnode_str(v), jnode_strlen(v));
}

int schema_bool_from_str(const char *s)
{
    return bool_from_n(s, strlen(s));
}
