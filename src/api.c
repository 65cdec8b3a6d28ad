/*
 * api.c: the path of one request (spec §3.1), and the route table.
 *
 * Order, first failure wins: body size (413), the version documents,
 * identity (401), route (plain 404), microversion (400/406), Content-Type
 * (415), action lookup on the raw body, project segment (400), then the
 * endpoint's own version gate and handler.  From the microversion step on,
 * every answer carries the version headers; under /v2 and /v2.1 every
 * answer carries the request id.
 */
#include <ctype.h>
#include <string.h>
#include "ferry/api.h"
#include "ferry/fault.h"
#include "ferry/microversion.h"
#include "ferry/store.h"

struct route {
    const char *method;
    const char *seg[5];         /* "*" captures a segment */
    handler_fn fn;
    int min_mv;                 /* below it: 404 itemNotFound */
    const struct action *actions;   /* POST .../action routes */
};

static int h_action(struct app *app, struct req *r, struct resp *w,
                    struct ferr *err);

static const struct route routes[] = {
    { "GET", { "servers", NULL }, h_server_index, 1, NULL },
    { "GET", { "servers", "detail", NULL }, h_server_detail, 1, NULL },
    { "GET", { "servers", "*", NULL }, h_server_show, 1, NULL },
    { "GET", { "os-migrations", NULL }, h_os_migrations, 1, NULL },
    { "GET", { "servers", "*", "migrations", NULL }, h_server_migrations,
      23, NULL },
    { "GET", { "servers", "*", "migrations", "*" }, h_server_migration_show,
      23, NULL },
    { "DELETE", { "servers", "*", "migrations", "*" },
      h_server_migration_abort, 24, NULL },
    { "POST", { "servers", "*", "migrations", "*", "action" }, h_action, 22,
      migration_actions },
    { "POST", { "servers", "*", "action", NULL }, h_action, 1,
      server_actions },
};

/* The action picked by the dispatcher, and the body it parsed. */
struct action_call {
    const struct action *act;
    jnode *body;
};

static void request_id_headers(struct req *r, struct resp *w)
{
    resp_header(r, w, "x-openstack-request-id", r->request_id);
    resp_header(r, w, "x-compute-request-id", r->request_id);
}

static void version_headers(struct req *r, struct resp *w, const char *echo)
{
    resp_header(r, w, "OpenStack-API-Version",
                arena_printf(r->arena, "compute %s", echo));
    resp_header(r, w, "X-OpenStack-Nova-API-Version",
                arena_strdup(r->arena, echo));
    resp_header(r, w, "Vary", "OpenStack-API-Version");
    resp_header(r, w, "Vary", "X-OpenStack-Nova-API-Version");
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    c = tolower(c);
    return (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
}

/* Percent-decodes n bytes of s into the arena. */
static char *pct_decode(struct arena *a, const char *s, size_t n, int plus)
{
    char *out = arena_alloc(a, n + 1), *o = out;
    size_t i;

    for (i = 0; i < n; i++) {
        if (s[i] == '%' && i + 2 < n + 0 + 1 && i + 2 <= n - 1
            && hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0)
        {
            *o++ = (char) (hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
            i += 2;
        } else if (plus && s[i] == '+') {
            *o++ = ' ';
        } else {
            *o++ = s[i];
        }
    }
    *o = '\0';
    return out;
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

char *api_pct_decode(struct arena *a, const char *s, size_t n, int plus);
char *api_pct_decode(struct arena *a, const char *s, size_t n, int plus)
{
    return pct_decode(a, s, n, plus);
}

#define MAX_SEGS 8

static size_t split(struct req *r, const char *path, char **segs)
{
    size_t n = 0;
    const char *p = path, *e;

    while (*p != '\0' && n < MAX_SEGS) {
        e = strchr(p, '/');
        if (e == NULL) {
            e = p + strlen(p);
        }
        segs[n++] = pct_decode(r->arena, p, (size_t) (e - p), 0);
        if (*e == '\0') {
            break;
        }
        p = e + 1;
        if (*p == '\0') {
            segs[n++] = "";     /* trailing slash */
        }
    }
    return n;
}

static int is_project_seg(const char *s)
{
    return *s != '\0' && strspn(s, "0123456789abcdef-") == strlen(s);
}

static const struct route *match(struct req *r, char **segs, size_t n,
                                 int *path_known)
{
    size_t i, k;

    *path_known = 0;
    for (i = 0; i < ARRAY_LEN(routes); i++) {
        const struct route *rt = &routes[i];

        r->nargs = 0;
        for (k = 0; k < n && rt->seg[k] != NULL; k++) {
            if (strcmp(rt->seg[k], "*") == 0) {
                if (segs[k][0] == '\0') {
                    break;
                }
                r->args[r->nargs++] = segs[k];
            } else if (strcmp(rt->seg[k], segs[k]) != 0) {
                break;
            }
        }
        if (k == n && (k == ARRAY_LEN(rt->seg) || rt->seg[k] == NULL)) {
            *path_known = 1;
            if (strcmp(rt->method, r->method) == 0) {
                return rt;
            }
        }
    }
    r->nargs = 0;
    return NULL;
}

/* Step 5: Content-Type. */
static int content_type_ok(const char *ct)
{
    static const char *const ok[] = {
        "application/json", "application/vnd.openstack.compute+json",
        "text/plain",
    };
    size_t n, i;

    if (ct == NULL) {
        return 1;
    }
    while (isspace((unsigned char) *ct)) {
        ct++;
    }
    n = strcspn(ct, ";");
    while (n > 0 && isspace((unsigned char) ct[n - 1])) {
        n--;
    }
    if (n == 0) {
        return 1;
    }
    for (i = 0; i < ARRAY_LEN(ok); i++) {
        if (strlen(ok[i]) == n && strncasecmp(ct, ok[i], n) == 0) {
            return 1;
        }
    }
    return 0;
}

int api_content_type_ok(const char *ct);
int api_content_type_ok(const char *ct)
{
    return content_type_ok(ct);
}

/* Step 6: the action key of a POST .../action body (spec §3.1). */
static int action_lookup(struct req *r, const struct route *rt,
                         struct action_call *call, struct ferr *err)
{
    struct jiter it;
    const char *key = NULL;
    jnode *root = NULL, *val;
    size_t i;

    if (r->body == NULL || r->body_len == 0
        || json_parse(r->body, r->body_len, &root) < 0)
    {
        return ferr_set(err, FE_BADREQ, "Malformed request body");
    }
    switch (jnode_type(root)) {
    case JT_OBJECT:
        if (jnode_obj_len(root) != 1) {
            json_free(root);
            return ferr_set(err, FE_BADREQ, "Malformed request body");
        }
        jnode_obj_iter(root, &it);
        jnode_obj_next(&it, &key, &val);
        break;
    case JT_ARRAY:
    case JT_STRING:
        if ((jnode_type(root) == JT_ARRAY ? jnode_arr_len(root)
             : utf8_codepoints(jnode_str(root), jnode_strlen(root))) != 1)
        {
            json_free(root);
            return ferr_set(err, FE_BADREQ, "Malformed request body");
        }
        /* fall through */
    default:
        json_free(root);
        return ferr_set(err, FE_NOTFOUND, "The resource could not be "
                        "found.");
    }
    for (i = 0; rt->actions[i].key != NULL; i++) {
        if (strcmp(rt->actions[i].key, key) == 0) {
            call->act = &rt->actions[i];
            call->body = root;
            return 0;
        }
    }
    ferr_set(err, FE_BADREQ, "There is no such action: %s", key);
    json_free(root);
    return -FE_BADREQ;
}

static void keystone_401(struct req *r, struct resp *w)
{
    struct jw j;

    w->status = 401;
    w->content_type = "application/json; charset=UTF-8";
    resp_header(r, w, "WWW-Authenticate", arena_printf(r->arena,
                "Keystone uri=\"%s/identity\"", r->app_url));
    jw_init(&j, &w->body);
    jw_obj_open(&j);
    jw_key(&j, "error");
    jw_obj_open(&j);
    jw_kint(&j, "code", 401);
    jw_kstr(&j, "title", "Unauthorized");
    jw_kstr(&j, "message", "The request you have made requires "
            "authentication.");
    jw_obj_close(&j);
    jw_obj_close(&j);
}

static struct action_call *current_call;

static int h_action(struct app *app, struct req *r, struct resp *w,
                    struct ferr *err)
{
    return current_call->act->fn(app, r, w, current_call->body, err);
}

static void api_v21(struct app *app, struct req *r, struct resp *w,
                    const char *rest)
{
    struct ferr err = { 0 };
    char *segs[MAX_SEGS];
    const struct route *rt;
    struct action_call call = { NULL, NULL };
    struct mv mv;
    size_t n;
    int known, rc;

    if (!r->authenticated) {
        /* nginx answers this itself; a request that got here anyway
         * (a large body without a token) gets the same answer */
        keystone_401(r, w);
        return;
    }
    if (r->ident.user_id == NULL || r->ident.user_id[0] == '\0') {
        fault_plain(r, w, FE_UNAUTH, "This server could not verify that you "
                    "are authorized to access the document you requested. "
                    "Either you supplied the wrong credentials (e.g., bad "
                    "password), or your browser does not understand how to "
                    "supply the credentials required.");
        return;
    }
    n = split(r, rest, segs);
    if (n > 0 && is_project_seg(segs[0])) {
        r->project_seg = segs[0];
        memmove(segs, segs + 1, (n - 1) * sizeof(segs[0]));
        n--;
    }
    rt = match(r, segs, n, &known);
    if (rt == NULL) {
        fault_plain(r, w, FE_NOTFOUND, "The resource could not be found.");
        return;
    }
    rc = mv_parse(r->hdr_api_version, r->hdr_nova_version, &mv, &err);
    if (rc == -FE_BADREQ) {
        fault_json(r, w, &err);
        ferr_clear(&err);
        return;
    }
    version_headers(r, w, mv.echo);
    if (rc < 0) {
        goto fault;
    }
    r->mv_minor = mv.minor;
    r->is_admin = policy_is_admin(app->policy, &r->ident);
    if (!content_type_ok(r->content_type)) {
        ferr_set(&err, FE_MEDIATYPE, "Unsupported Content-Type");
        goto fault;
    }
    if (rt->actions != NULL && action_lookup(r, rt, &call, &err) < 0) {
        goto fault;
    }
    if (r->project_seg != NULL
        && strcmp(r->project_seg, r->ident.project_id
                  ? r->ident.project_id : "") != 0)
    {
        ferr_set(&err, FE_BADREQ, "Malformed request URL: URL's project_id "
                 "'%s' doesn't match Context's project_id '%s'",
                 r->project_seg, r->ident.project_id
                 ? r->ident.project_id : "");
        goto fault;
    }
    if (r->mv_minor < rt->min_mv) {
        ferr_set(&err, FE_NOTFOUND, "The resource could not be found.");
        goto fault;
    }
    current_call = &call;
    rc = rt->fn(app, r, w, &err);
    current_call = NULL;
    if (rc < 0) {
        goto fault;
    }
    json_free(call.body);
    return;
fault:
    json_free(call.body);
    if (err.code == 0) {
        ferr_set(&err, FE_INTERNAL, "unexpected failure");
    }
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
        { "/", h_versions_root, 0 },
        { "/v2", h_version_v2, 1 },
        { "/v2/", h_version_v2, 1 },
        { "/v2.1", h_version_v21, 1 },
        { "/v2.1/", h_version_v21, 1 },
    };
    struct ferr err = { 0 };
    int under = strncmp(r->uri, "/v2/", 4) == 0
                || strncmp(r->uri, "/v2.1/", 6) == 0
                || strcmp(r->uri, "/v2") == 0 || strcmp(r->uri, "/v2.1") == 0;
    size_t i;

    if (under) {
        request_id_headers(r, w);
    }
    if (r->prefix_mismatch) {
        fault_plain(r, w, FE_NOTFOUND, "The resource could not be found.");
        return;
    }
    if (r->body_too_large) {
        fault_plain(r, w, FE_TOOLARGE, r->body_too_large == 1
                    ? "Request is too large. Larger than "
                      "max_request_body_size (114688)."
                    : "Request is too large. Larger than 114688.");
        return;
    }
    for (i = 0; i < ARRAY_LEN(docs); i++) {
        if (strcmp(r->uri, docs[i].path) == 0) {
            if (strcmp(r->method, "GET") != 0
                && strcmp(r->method, "HEAD") != 0)
            {
                fault_plain(r, w, FE_NOTFOUND,
                            "The resource could not be found.");
                return;
            }
            if (docs[i].fn(app, r, w, &err) < 0) {
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
