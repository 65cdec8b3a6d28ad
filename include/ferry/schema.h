/*
 * schema.h: request validation with Nova's exact messages (spec §3.4).
 *
 * Schemas are static tables (schema.c), evaluated with JSON Schema draft-4
 * semantics as jsonschema 4.10.3 does, reporting the FIRST error in
 * evaluation order: keywords in the order written in the spec's schemas;
 * object keywords type, properties (schema order, present ones only),
 * required, additionalProperties; string keywords type, minLength,
 * maxLength, pattern; array keywords type, items, maxItems.
 */
#ifndef FERRY_SCHEMA_H
#define FERRY_SCHEMA_H

#include <stddef.h>
#include <stdint.h>
#include "ferry/err.h"
#include "ferry/json.h"

enum schema_id {
    SCHEMA_LIVE_2_1,          /* os-migrateLive 2.1 - 2.24 */
    SCHEMA_LIVE_2_25,         /* 2.25 - 2.29 and 2.68 - 2.93 */
    SCHEMA_LIVE_2_30,         /* 2.30 - 2.67 */
    SCHEMA_MIGRATE_2_56,      /* migrate, 2.56+ */
    SCHEMA_FORCE_COMPLETE,    /* force_complete action body */
    SCHEMA_DRAIN_CREATE,      /* POST /os-ferry-drains (ferry's own) */
    SCHEMA_DRAIN_ENABLE_HOST, /* its enable_host action */
    SCHEMA__BODY_COUNT
};

enum query_schema_id {
    QSCHEMA_SERVERS_2_1,  /* GET /servers[/detail] before 2.75 */
    QSCHEMA_SERVERS_2_75, /* 2.75+: unknown parameters are errors */
    QSCHEMA_MIGRATIONS_2_1,
    QSCHEMA_MIGRATIONS_2_59,
    QSCHEMA_MIGRATIONS_2_66,
    QSCHEMA_MIGRATIONS_2_80,
    QSCHEMA_SERVERS_2_26, /* 2.26 - 2.65: tags filters (regex) */
    QSCHEMA_SERVERS_2_66, /* 2.66 - 2.72: changes-before */
    QSCHEMA_SERVERS_2_73, /* 2.73 - 2.74: locked, sort_key locked */
    QSCHEMA_ACTIONS_2_58, /* os-instance-actions 2.58 - 2.65 */
    QSCHEMA_ACTIONS_2_66, /* 2.66+: changes-before */
    QSCHEMA__COUNT
};

/* The body schema of os-migrateLive for microversion 2.<minor>. */
enum schema_id schema_live_for(int minor);

/* The query schema of GET /servers[/detail] and of GET /os-migrations for
 * microversion 2.<minor> (Nova has five servers ranges, not two). */
enum query_schema_id schema_servers_query_for(int minor);
enum query_schema_id schema_migrations_query_for(int minor);
/* GET /servers/{id}/os-instance-actions, 2.58+ (none before). */
enum query_schema_id schema_actions_query_for(int minor);

/* 0, or -FE_BADREQ with err->msg = Nova's message. */
int schema_validate(enum schema_id id, const jnode *body, struct ferr *err);

/* A decoded query string: parameters in request order; a name may repeat. */
struct qparam {
    const char *name;
    const char *value;
};

/* Validates the query as Nova does: a map from each name to the list of its
 * values.  0, or -FE_BADREQ with Nova's message ("Invalid input for query
 * parameters <name>. Value: <str>. <message>" or a root message). */
int schema_validate_query(enum query_schema_id id, const struct qparam *q,
                          size_t n, struct ferr *err);

/* The 400 of query parameter param whose value fails 'format: <format>'
 * when used, worded as validation words it. */
int schema_query_format_error(const char *param, const char *value,
                              const char *format, struct ferr *err);

/* bool_from_string (spec §4.2): JSON booleans as they are; strings trimmed
 * and lower-cased, 1 t true on y yes / 0 f false off n no.  Returns 1 or 0,
 * or -1 when the value is neither (callers validated it first). */
int schema_bool_from(const jnode *v);
/* The same for a plain string (a query value): 1, 0 or -1. */
int schema_bool_from_str(const char *s);

/* A changes-since / changes-before value as Nova parses it (iso8601 with
 * the grammar of spec §6.5; no zone means UTC): 0 and *epoch_us, or -1
 * when it is not a 'date-time'. */
int schema_parse_datetime(const char *s, int64_t *epoch_us);

#endif
