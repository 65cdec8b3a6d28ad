/*
 * api.h: what the handlers share: the route table's handler type, the
 * response-header helpers, the server lookup with Nova's visibility
 * rules, the lock and state checks of the server actions, the query and
 * the links of collections.  Handlers return 0, or a negative FE_* code
 * with err filled (ferr_fail(err) when passing a callee's failure up);
 * the dispatcher alone turns that into a fault (fault.c).
 */
#ifndef FERRY_API_H
#define FERRY_API_H

#include "ferry/app.h"
#include "ferry/err.h"
#include "ferry/http.h"
#include "ferry/json.h"
#include "ferry/server.h"

typedef int (*handler_fn)(struct app *app, struct req *r, struct resp *w,
                          struct ferr *err);

/* An action of a POST .../action route: the body key and its handler,
 * which finds the whole parsed body in r->action_body. */
struct action {
    const char *key;
    handler_fn fn;
};
extern const struct action server_actions[];
extern const struct action migration_actions[];
extern const struct action drain_actions[];

/* api_versions.c */
int h_versions_root(struct app *, struct req *, struct resp *, struct ferr *);
int h_version_v2(struct app *, struct req *, struct resp *, struct ferr *);
int h_version_v21(struct app *, struct req *, struct resp *, struct ferr *);
int h_choices(struct app *, struct req *, struct resp *, struct ferr *);

/* api_servers.c */
int h_server_show(struct app *, struct req *, struct resp *, struct ferr *);
int h_server_index(struct app *, struct req *, struct resp *, struct ferr *);
int h_server_detail(struct app *, struct req *, struct resp *, struct ferr *);

/* api_os_migrations.c */
int h_os_migrations(struct app *, struct req *, struct resp *, struct ferr *);

/* api_migrations.c */
int h_server_migrations(struct app *, struct req *, struct resp *,
                        struct ferr *);
int h_server_migration_show(struct app *, struct req *, struct resp *,
                            struct ferr *);
int h_server_migration_abort(struct app *, struct req *, struct resp *,
                             struct ferr *);

/* api_drains.c: /os-ferry-drains (ferry's own) */
int h_drains_create(struct app *, struct req *, struct resp *, struct ferr *);
int h_drains_index(struct app *, struct req *, struct resp *, struct ferr *);
int h_drain_show(struct app *, struct req *, struct resp *, struct ferr *);
int h_drain_cancel(struct app *, struct req *, struct resp *, struct ferr *);

struct qparam;

/* api_instance_actions.c */
int h_instance_actions(struct app *, struct req *, struct resp *,
                       struct ferr *);
int h_instance_action_show(struct app *, struct req *, struct resp *,
                           struct ferr *);
/* Starts the instance action of this request on an instance (Nova's
 * _record_action_start): callers put it in their record's transaction. */
int api_action_start(struct app *app, struct req *r, const char *instance_uuid,
                     const char *action, struct ferr *err);
/* "<key>": [{"rel": "next", "href": ...}], the next link of a full page
 * of the collection at <base>/v2.1[/<project>]/<path> (Nova's
 * _get_next_link): the query parameters q sorted, one value each, marker
 * set to marker, all form-encoded as urlencode() does. */
void api_next_link(struct req *r, struct jw *j, const char *key,
                   const char *path, const struct qparam *q, size_t nq,
                   const char *marker);

/* Finds server <id> as the caller may see it: -FE_NOTFOUND with Nova's
 * "Instance <id> could not be found." when it is not visible (spec §1.5). */
int api_find_server(struct app *app, struct req *r, const char *id,
                    struct server *s, struct ferr *err);
/* policy check with Nova's 403 message; target = the server's owner
 * (s may be NULL: the caller's own project). */
int api_authorize(struct app *app, struct req *r, const char *rule,
                  const struct server *s, struct ferr *err);
/* The server actions whose lock and state Nova checks before anything
 * else (check_instance_lock, check_instance_state). */
enum api_state_action {
    AS_LIVE_MIGRATE,
    AS_MIGRATE,
    AS_CONFIRM_RESIZE,
    AS_REVERT_RESIZE,
    AS_FORCE_COMPLETE,
    AS_ABORT,
};
/* 0 when server s may undergo action a now, else -FE_CONFLICT with Nova's
 * message ("Instance <uuid> is locked", "Cannot '<action>' instance <id>
 * while it is in vm_state|task_state|launched_at <state>"). */
int api_check_state(struct req *r, const struct server *s,
                    enum api_state_action a, struct ferr *err);
/* The query string, decoded (+ and %XX), in request order; 400 "Query
 * string is not UTF-8 encoded" when it is not. */
int api_parse_query(struct req *r, struct qparam **out, size_t *n,
                    struct ferr *err);
/* The last value of a parameter, or NULL. */
const char *api_qlast(const struct qparam *q, size_t n, const char *name);
/* Nova's paging limit (common._get_int_param, capped at max_limit 1000)
 * from a value the query schema has passed; 400 if int() refuses it. */
int api_parse_limit(const char *v, long *limit, struct ferr *err);

/* A µs-format time (null when 0), and an integer that may be NULL. */
void api_kusec(struct jw *j, const char *k, int64_t us);
void api_kint_null(struct jw *j, const char *k, int64_t v);

/* The microversion headers of an answer (OpenStack-API-Version,
 * X-OpenStack-Nova-API-Version and their Vary), echo being the version
 * as mv_parse() found it. */
void api_version_headers(struct req *r, struct resp *w, const char *echo);

/* The URL base for links: <app>/v2.1[/<p>] and <app>[/<p>]. */
const char *api_base(struct req *r, int versioned);

#endif
