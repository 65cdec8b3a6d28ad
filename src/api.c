/*
 * api.c: the path of one request (spec §3.1); route.c reads the request
 * line, this file decides the order of the checks and the answers.
 *
 * Order, first failure wins: body size (413), the version documents,
 * identity (401), route (plain 404), microversion (400/406), Content-Type
 * (415), action lookup on the raw body, project segment (400), then the
 * endpoint's own version gate and handler.  From the microversion step on,
 * every answer carries the version headers; under /v2 and /v2.1 every
 * answer carries the request id.
 */
#include <string.h>
#include "ferry/api.h"
#include "ferry/fault.h"
#include "ferry/health.h"
#include "ferry/microversion.h"
#include "ferry/route.h"
#include "ferry/store.h"

static void request_id_headers(struct req *r, struct resp *w)
{
    resp_header(r, w, "x-openstack-request-id", r->request_id);
    resp_header(r, w, "x-compute-request-id", r->request_id);
}

void api_version_headers(struct req *r, struct resp *w, const char *echo)
{
    resp_header(r, w, "OpenStack-API-Version",
                arena_printf(r->arena, "compute %s", echo));
    resp_header(r, w, "X-OpenStack-Nova-API-Version",
                arena_strdup(r->arena, echo));
    resp_header(r, w, "Vary", "OpenStack-API-Version");
    resp_header(r, w, "Vary", "X-OpenStack-Nova-API-Version");
}

void api_kusec(struct jw *j, const char *k, int64_t us)
{
    char t[27];

    if (us == 0) {
        jw_knull(j, k);
        return;
    }
    time_usformat(us, t);
    jw_kstr(j, k, t);
}

void api_kint_null(struct jw *j, const char *k, int64_t v)
{
    if (v == MIG_NULL_INT) {
        jw_knull(j, k);
    } else {
        jw_kint(j, k, v);
    }
}

static void keystone_401(struct req *r, struct resp *w)
{
    struct jw j;

    w->status = 401;
    w->content_type = "application/json; charset=UTF-8";
    resp_header(
        r, w, "WWW-Authenticate",
        arena_printf(r->arena, "Keystone uri=\"%s/identity\"", r->app_url));
    jw_init(&j, &w->body);
    jw_obj_open(&j);
    jw_key(&j, "error");
    jw_obj_open(&j);
    jw_kint(&j, "code", 401);
    jw_kstr(&j, "title", "Unauthorized");
    jw_kstr(&j, "message",
            "The request you have made requires "
            "authentication.");
    jw_obj_close(&j);
    jw_obj_close(&j);
}

/* The identity step (spec 3.1): 1 when the request has none it may use,
 * answered here with the 401 of keystonemiddleware or of the API. */
static int refused_identity(struct req *r, struct resp *w)
{
    if (!r->authenticated || r->token_headers > 1) {
        /* nginx answers this itself; a request that got here anyway
         * (a large body without a token) gets the same answer.  nginx
         * 1.22 authenticates with the first of several X-Auth-Token
         * headers and ignores the rest; keystonemiddleware sees them
         * joined ("a, b"), which is no token: 401 whatever they are. */
        keystone_401(r, w);
        return 1;
    }
    if (r->ident.user_id == NULL || r->ident.user_id[0] == '\0') {
        fault_plain(r, w, FE_UNAUTH,
                    "This server could not verify that you "
                    "are authorized to access the document you requested. "
                    "Either you supplied the wrong credentials (e.g., bad "
                    "password), or your browser does not understand how to "
                    "supply the credentials required.");
        return 1;
    }
    return 0;
}

/* The route's (or the action's) handler; a GET's reads in one store
 * snapshot (store_snapshot_begin). */
static int run_handler(struct app *app, struct req *r, struct resp *w,
                       const struct route *rt, const struct action *act,
                       struct ferr *err)
{
    int read_only =
        strcmp(r->method, "GET") == 0 || strcmp(r->method, "HEAD") == 0;
    int rc;

    if (read_only) {
        store_snapshot_begin(app->store);
    }
    rc = act != NULL ? act->fn(app, r, w, err) : rt->fn(app, r, w, err);
    if (read_only) {
        store_snapshot_end(app->store);
    }
    return rc;
}

static void api_v21(struct app *app, struct req *r, struct resp *w,
                    const char *rest)
{
    struct ferr err = { 0 };
    struct route_hit hit;
    const struct route *rt;
    const struct action *act = NULL;
    jnode *body = NULL;
    struct mv mv;
    int rc;

    if (refused_identity(r, w)) {
        return;
    }
    route_find(r->arena, r->method, rest, &hit);
    rt = hit.rt;
    if (rt == NULL) {
        fault_plain(r, w, FE_NOTFOUND, "The resource could not be found.");
        return;
    }
    r->project_seg = hit.project;
    memcpy(r->args, hit.args, hit.nargs * sizeof(r->args[0]));
    r->nargs = hit.nargs;
    rc = mv_parse(r->arena, r->hdr_api_version, r->hdr_nova_version, &mv, &err);
    if (rc == -FE_BADREQ) {
        fault_json(r, w, &err);
        ferr_clear(&err);
        return;
    }
    api_version_headers(r, w, mv.echo);
    if (rc < 0) {
        goto fault;
    }
    r->mv_minor = mv.minor;
    r->is_admin = policy_is_admin(app->policy, &r->ident);
    if (!route_content_type_ok(r->content_type)) {
        ferr_set(&err, FE_MEDIATYPE, "Unsupported Content-Type");
        goto fault;
    }
    if (rt->actions != NULL
        && route_action(rt, r->body, r->body_len, &act, &body, &err) < 0) {
        goto fault;
    }
    if (r->project_seg != NULL
        && strcmp(r->project_seg,
                  r->ident.project_id ? r->ident.project_id : "")
            != 0) {
        ferr_set(&err, FE_BADREQ,
                 "Malformed request URL: URL's project_id "
                 "'%s' doesn't match Context's project_id '%s'",
                 r->project_seg,
                 r->ident.project_id ? r->ident.project_id : "");
        goto fault;
    }
    if (r->mv_minor < rt->min_mv) {
        ferr_set(&err, FE_NOTFOUND, "The resource could not be found.");
        goto fault;
    }
    r->action_body = body;
    rc = run_handler(app, r, w, rt, act, &err);
    r->action_body = NULL;
    if (rc < 0) {
        goto fault;
    }
    json_free(body);
    return;
fault:
    json_free(body);
    ferr_fail(&err);
    if (fault_status(err.code) >= 500) {
        log_error("%s %s: %s (%s)", r->method, r->uri, ferr_msg(&err),
                  r->request_id);
    }
    fault_json(r, w, &err);
    ferr_clear(&err);
}

void api_handle(struct app *app, struct req *r, struct resp *w)
{
    static const struct {
        const char *path;
        handler_fn fn;
        int request_id;
    } docs[] = {
        { "/", h_versions_root, 0 },    { "/v2", h_version_v2, 1 },
        { "/v2/", h_version_v2, 1 },    { "/v2.1", h_version_v21, 1 },
        { "/v2.1/", h_version_v21, 1 },
    };
    struct ferr err = { 0 };
    int under;
    size_t i;

    r->uri = route_merge_slashes(r->arena, r->uri);
    r->link_url =
        route_link_url(r->arena, app->conf->link_prefix, r->app_url, r->prefix);
    if (health_handle(app, r, w)) {
        return;
    }
    under = strncmp(r->uri, "/v2/", 4) == 0 || strncmp(r->uri, "/v2.1/", 6) == 0
        || strcmp(r->uri, "/v2") == 0 || strcmp(r->uri, "/v2.1") == 0;
    if (under) {
        request_id_headers(r, w);
    }
    if (r->prefix_mismatch) {
        fault_plain(r, w, FE_NOTFOUND, "The resource could not be found.");
        return;
    }
    if (r->body_too_large) {
        fault_plain(r, w, FE_TOOLARGE,
                    r->body_too_large == 1
                        ? "Request is too large. Larger than "
                          "max_request_body_size (114688)."
                        : "Request is too large. Larger than 114688.");
        return;
    }
    for (i = 0; i < ARRAY_LEN(docs); i++) {
        if (strcmp(r->uri, docs[i].path) == 0) {
            if (strcmp(r->method, "GET") != 0
                && strcmp(r->method, "HEAD") != 0) {
                fault_plain(r, w, FE_NOTFOUND,
                            "The resource could not be found.");
                return;
            }
            if (docs[i].fn(app, r, w, &err) < 0) {
                ferr_fail(&err);
                fault_json(r, w, &err);
                ferr_clear(&err);
            }
            return;
        }
    }
    if (strncmp(r->uri, "/v2.1/", 6) == 0) {
        api_v21(app, r, w, r->uri + 6);
        return;
    }
    if (strncmp(r->uri, "/v2/", 4) == 0) {
        /* the legacy v2.0 API is out of scope (spec §1.1) */
        fault_plain(r, w, FE_NOTFOUND, "The resource could not be found.");
        return;
    }
    h_choices(app, r, w, &err);
}
