/*
 * fuzz_schema.c: libFuzzer target for request validation (schema.c).
 *
 * Input: byte 0 picks what is validated, byte 1 the microversion 2.<minor>
 * (0 - 99), the rest is the request part:
 *   byte0 % 6 == 0  an os-migrateLive body (schema_live_for(minor))
 *             == 1  a migrate body (2.56)
 *             == 2  a force_complete body
 *             == 3  a GET /servers query (schema_servers_query_for(minor))
 *             == 4  a GET /os-migrations query
 *                   (schema_migrations_query_for(minor))
 *             == 5  the value parsers alone (date-time and bool)
 * A body goes through json_parse() first; a query is split on '&' and the
 * first '=' of each parameter, with no %-decoding (the router's fuzzer
 * covers that), as the already-decoded parameters the validator gets.
 * Whatever the input, validation answers 0 or -FE_BADREQ with a message.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ferry/err.h"
#include "ferry/json.h"
#include "ferry/schema.h"

static void check_rc(int rc, struct ferr *err)
{
    if (rc != 0 && (rc != -FE_BADREQ || ferr_msg(err)[0] == '\0')) {
        abort();
    }
    ferr_clear(err);
}

static void fuzz_body(enum schema_id id, const char *buf, size_t len)
{
    struct ferr err;
    jnode *body, *in, *v;

    if (json_parse(buf, len, &body) != 0) {
        return;
    }

    memset(&err, 0, sizeof(err));
    check_rc(schema_validate(id, body, &err), &err);

    /* What the handlers read after validation. */
    if (jnode_obj_get(body, "os-migrateLive", &in)) {
        if (jnode_obj_get(in, "block_migration", &v)) {
            (void) schema_bool_from(v);
        }
        if (jnode_obj_get(in, "force", &v)) {
            (void) schema_bool_from(v);
        }
    }

    json_free(body);
}

static void fuzz_query(enum query_schema_id id, const char *buf, size_t len)
{
    struct qparam *q;
    struct ferr err;
    char *copy, *p, *end, *amp, *eq;
    size_t n;
    int64_t t;

    copy = malloc(len + 1);
    q = calloc(len + 1, sizeof(*q)); /* one per '&', plus one */
    if (copy == NULL || q == NULL) {
        abort();
    }
    memcpy(copy, buf, len);
    copy[len] = '\0';

    /* name=value&name=value; a NUL ends a name or value early, as in a C
     * string (the router refuses %00 before it gets here). */
    n = 0;
    p = copy;
    end = copy + len;
    while (p < end) {
        amp = memchr(p, '&', (size_t) (end - p));
        if (amp == NULL) {
            amp = end;
        }
        *amp = '\0';
        eq = strchr(p, '=');
        if (eq != NULL) {
            *eq = '\0';
            q[n].name = p;
            q[n].value = eq + 1;
        } else {
            q[n].name = p;
            q[n].value = "";
        }
        n++;
        p = amp + 1;
    }

    memset(&err, 0, sizeof(err));
    check_rc(schema_validate_query(id, q, n, &err), &err);

    /* What the handlers read after validation. */
    if (n > 0) {
        (void) schema_parse_datetime(q[n - 1].value, &t);
        (void) schema_bool_from_str(q[n - 1].value);
    }

    free(q);
    free(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const enum schema_id bodies[] = { SCHEMA_MIGRATE_2_56,
                                             SCHEMA_FORCE_COMPLETE,
                                             SCHEMA_DRAIN_CREATE,
                                             SCHEMA_DRAIN_ENABLE_HOST };
    const char *rest;
    char *s;
    size_t len;
    int minor;
    int64_t t;

    if (size < 2) {
        return 0;
    }

    minor = data[1] % 100;
    rest = (const char *) data + 2;
    len = size - 2;

    switch (data[0] % 6) {
    case 0:
        fuzz_body(schema_live_for(minor), rest, len);
        break;
    case 1:
    case 2:
        fuzz_body(bodies[data[0] % 6 - 1], rest, len);
        /* the drains' bodies (ferry's own) on the same input */
        fuzz_body(bodies[data[0] % 6 + 1], rest, len);
        break;
    case 3:
        fuzz_query(schema_servers_query_for(minor), rest, len);
        break;
    case 4:
        fuzz_query(schema_migrations_query_for(minor), rest, len);
        break;
    default:
        s = strndup(rest, len);
        if (s == NULL) {
            abort();
        }
        (void) schema_parse_datetime(s, &t);
        (void) schema_bool_from_str(s);
        free(s);
        break;
    }

    return 0;
}
