/*
 * route.c: the request line (spec §1.1, §3.1 steps 3, 5 and 6): path
 * segments, the project segment, the route table, the Content-Type check,
 * the action key of a POST .../action body, and the query string.
 *
 * Everything here is a pure function of the request's strings; the
 * dispatcher (api.c) decides the order of the checks and the answers.
 */
#include <ctype.h>
#include <string.h>
#include "ferry/route.h"
#include "ferry/schema.h"

static const struct route routes[] = {
    { "GET", { "servers", NULL }, h_server_index, 1, NULL },
    { "GET", { "servers", "detail", NULL }, h_server_detail, 1, NULL },
    { "GET", { "servers", "*", NULL }, h_server_show, 1, NULL },
    { "GET", { "os-migrations", NULL }, h_os_migrations, 1, NULL },
    { "GET",
      { "servers", "*", "migrations", NULL },
      h_server_migrations,
      23,
      NULL },
    { "GET",
      { "servers", "*", "migrations", "*" },
      h_server_migration_show,
      23,
      NULL },
    { "DELETE",
      { "servers", "*", "migrations", "*" },
      h_server_migration_abort,
      24,
      NULL },
    { "POST",
      { "servers", "*", "migrations", "*", "action" },
      NULL,
      22,
      migration_actions },
    { "POST", { "servers", "*", "action", NULL }, NULL, 1, server_actions },
    { "GET",
      { "servers", "*", "os-instance-actions", NULL },
      h_instance_actions,
      1,
      NULL },
    { "GET",
      { "servers", "*", "os-instance-actions", "*" },
      h_instance_action_show,
      1,
      NULL },
    /* ferry's own admin API (api_drains.c): every microversion */
    { "GET", { "os-ferry-drains", NULL }, h_drains_index, 1, NULL },
    { "POST", { "os-ferry-drains", NULL }, h_drains_create, 1, NULL },
    { "GET", { "os-ferry-drains", "*", NULL }, h_drain_show, 1, NULL },
    { "DELETE", { "os-ferry-drains", "*", NULL }, h_drain_cancel, 1, NULL },
    { "POST",
      { "os-ferry-drains", "*", "action", NULL },
      NULL,
      1,
      drain_actions },
};

static int hexval(int c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    c = tolower(c);
    return (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
}

/* Percent-decodes n bytes of s into the arena; *len gets the decoded
 * length (a %00 stays a NUL byte inside it). */
static char *pct_decode(struct arena *a, const char *s, size_t n, int plus,
                        size_t *len)
{
    char *out = arena_alloc(a, n + 1), *o = out;
    size_t i;

    for (i = 0; i < n; i++) {
        if (s[i] == '%' && i + 2 < n && hexval(s[i + 1]) >= 0
            && hexval(s[i + 2]) >= 0) {
            *o++ = (char) (hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
            i += 2;
        } else if (plus && s[i] == '+') {
            *o++ = ' ';
        } else {
            *o++ = s[i];
        }
    }
    *o = '\0';
    *len = (size_t) (o - out);
    return out;
}

char *route_pct_decode(struct arena *a, const char *s, size_t n, int plus)
{
    size_t len;
    char *d = pct_decode(a, s, n, plus, &len);

    return memchr(d, '\0', len) != NULL ? arena_nul_escape(a, d, len) : d;
}

/*
 * Nova's URLMap (nova/api/openstack/urlmap.py, URLMap.__call__) passes
 * PATH_INFO through paste's normalize_url(path, False) before anything
 * else: the regex '//+' -> '/' merges every run of slashes, leading,
 * inner and trailing alike, and a trailing slash stays.  So
 * '//v2.1//p//servers//x//action' is '/v2.1/p/servers/x/action' and
 * '/v2.1//' is the version document.  Only literal slashes merge: the
 * spec (1.1) decodes each segment, so %2F stays inside its segment.
 */
const char *route_merge_slashes(struct arena *a, const char *path)
{
    char *out, *o;
    const char *p;

    if (strstr(path, "//") == NULL) {
        return path;
    }
    out = o = arena_alloc(a, strlen(path) + 1);
    for (p = path; *p != '\0'; p++) {
        if (*p != '/' || o == out || o[-1] != '/') {
            *o++ = *p;
        }
    }
    *o = '\0';
    return out;
}

/*
 * Nova's ViewBuilder._update_link_prefix (nova/api/openstack/common.py)
 * with CONF.api.compute_link_prefix: the scheme and netloc of the
 * prefix replace the request's, its path goes before the application's
 * path, and trailing slashes are stripped.  Every link ferry writes
 * starts with this base.
 */
const char *route_link_url(struct arena *a, const char *link_prefix,
                           const char *app_url, const char *prefix)
{
    const char *p = link_prefix, *scheme = "", *netloc = "", *c;
    size_t ns = 0, nn = 0, np;
    char *url;
    size_t n;

    if (link_prefix == NULL) {
        return app_url;
    }
    /* urlsplit: scheme ':' ['//' netloc] path ['?' ...] */
    c = strchr(p, ':');
    if (c != NULL && c > p && isalpha((unsigned char) *p)
        && strspn(p,
                  "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                  "0123456789+-.")
            == (size_t) (c - p)) {
        scheme = p;
        ns = (size_t) (c - p);
        p = c + 1;
    }
    if (p[0] == '/' && p[1] == '/') {
        netloc = p + 2;
        nn = strcspn(netloc, "/?#");
        p = netloc + nn;
    }
    np = strcspn(p, "?#");
    url = arena_printf(a, "%.*s%s%s%.*s%.*s%s", (int) ns, scheme, ns ? ":" : "",
                       (nn || ns) ? "//" : "", (int) nn, netloc, (int) np, p,
                       prefix);
    n = strlen(url);
    while (n > 0 && url[n - 1] == '/') {
        url[--n] = '\0';
    }
    return url;
}

/* A project segment plus the longest route: a longer path is no route,
 * whatever its first segments are. */
#define MAX_SEGS (ROUTE_SEGS + 1)

/* The segments of path, or -1 when it has more than max of them. */
static long split(struct arena *a, const char *path, char **segs, size_t max)
{
    size_t n = 0;
    const char *p = path, *e;

    if (*p == '\0') {
        return 0;
    }
    for (;;) {
        e = p + strcspn(p, "/");
        if (n == max) {
            return -1;
        }
        segs[n++] = route_pct_decode(a, p, (size_t) (e - p), 0);
        if (*e == '\0') {
            return (long) n; /* "a/" ends with the empty segment */
        }
        p = e + 1;
    }
}

static int is_project_seg(const char *s)
{
    return *s != '\0' && strspn(s, "0123456789abcdef-") == strlen(s);
}

static const struct route *match(const char *method, char **segs, size_t n,
                                 struct route_hit *hit)
{
    size_t i, k;

    for (i = 0; i < ARRAY_LEN(routes); i++) {
        const struct route *rt = &routes[i];

        hit->nargs = 0;
        for (k = 0; k < n && k < ROUTE_SEGS && rt->seg[k] != NULL; k++) {
            if (strcmp(rt->seg[k], "*") == 0) {
                if (segs[k][0] == '\0' || hit->nargs == ROUTE_MAX_ARGS) {
                    break;
                }
                hit->args[hit->nargs++] = segs[k];
            } else if (strcmp(rt->seg[k], segs[k]) != 0) {
                break;
            }
        }
        if (k == n && (k == ROUTE_SEGS || rt->seg[k] == NULL)) {
            if (strcmp(rt->method, method) == 0) {
                return rt;
            }
        }
    }
    hit->nargs = 0;
    return NULL;
}

void route_find(struct arena *a, const char *method, const char *path,
                struct route_hit *hit)
{
    char *segs[MAX_SEGS];
    long n;

    memset(hit, 0, sizeof(*hit));
    n = split(a, path, segs, MAX_SEGS);
    if (n < 0) {
        return;
    }
    if (n > 0 && is_project_seg(segs[0])) {
        hit->project = segs[0];
        memmove(segs, segs + 1, (size_t) (n - 1) * sizeof(segs[0]));
        n--;
    }
    hit->rt = match(method, segs, (size_t) n, hit);
}

/*
 * Step 5: Content-Type, as Nova's Request.get_content_type
 * (nova/api/openstack/wsgi.py) sees it: webob's content_type is the raw
 * header up to the first ';' (BaseRequest._content_type__get: split(';',
 * 1)[0]), neither stripped nor lowercased; empty or exactly "text/plain"
 * is no type at all; anything else must be one of
 * _SUPPORTED_CONTENT_TYPES, compared exactly.  So "application/json ;
 * charset=utf-8" and "Application/JSON" are 415.  (nginx trims the
 * whitespace around the whole header value, as any HTTP server does.)
 */
int route_content_type_ok(const char *ct)
{
    static const char *const ok[] = {
        "",
        "text/plain",
        "application/json",
        "application/vnd.openstack.compute+json",
    };
    size_t n, i;

    if (ct == NULL) {
        return 1;
    }
    n = strcspn(ct, ";");
    for (i = 0; i < ARRAY_LEN(ok); i++) {
        if (strlen(ok[i]) == n && memcmp(ct, ok[i], n) == 0) {
            return 1;
        }
    }
    return 0;
}

/* Step 6: the action key of a POST .../action body (spec §3.1). */
int route_action(const struct route *rt, const char *buf, size_t len,
                 const struct action **act, jnode **body, struct ferr *err)
{
    struct jiter it;
    const char *key = NULL;
    jnode *root = NULL, *val;
    size_t i;

    *act = NULL;
    *body = NULL;
    if (buf == NULL || len == 0 || json_parse(buf, len, &root) < 0) {
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
        if ((jnode_type(root) == JT_ARRAY
                 ? jnode_arr_len(root)
                 : utf8_codepoints(jnode_str(root), jnode_strlen(root)))
            != 1) {
            json_free(root);
            return ferr_set(err, FE_BADREQ, "Malformed request body");
        }
        /* fall through */
    default:
        json_free(root);
        return ferr_set(err, FE_NOTFOUND,
                        "The resource could not be "
                        "found.");
    }
    for (i = 0; rt->actions[i].key != NULL; i++) {
        if (strcmp(rt->actions[i].key, key) == 0) {
            *act = &rt->actions[i];
            *body = root;
            return 0;
        }
    }
    ferr_set(err, FE_BADREQ, "There is no such action: %s", key);
    json_free(root);
    return -FE_BADREQ;
}

/* Decoded query parameters, in request order. */
int api_parse_query(struct req *r, struct qparam **out, size_t *n,
                    struct ferr *err)
{
    const char *p = r->query;
    size_t cap = 8;
    struct qparam *q = arena_alloc(r->arena, cap * sizeof(*q));

    *n = 0;
    while (*p != '\0') {
        const char *e = p + strcspn(p, "&"), *eq;
        char *name, *value;
        size_t nlen, vlen;

        eq = memchr(p, '=', (size_t) (e - p));
        if (e > p) {
            if (*n == cap) {
                struct qparam *g = arena_alloc(r->arena, 2 * cap * sizeof(*g));

                memcpy(g, q, cap * sizeof(*g));
                q = g;
                cap *= 2;
            }
            name =
                pct_decode(r->arena, p, (size_t) ((eq ? eq : e) - p), 1, &nlen);
            value = pct_decode(r->arena, eq ? eq + 1 : e,
                               eq ? (size_t) (e - eq - 1) : 0, 1, &vlen);
            if (!utf8_valid(name, nlen) || !utf8_valid(value, vlen)) {
                return ferr_set(err, FE_BADREQ,
                                "Query string is not UTF-8 "
                                "encoded");
            }
            /* ?status=x%00y is not status x (see NUL_ESC) */
            q[*n].name = memchr(name, '\0', nlen) == NULL
                ? name
                : arena_nul_escape(r->arena, name, nlen);
            q[*n].value = memchr(value, '\0', vlen) == NULL
                ? value
                : arena_nul_escape(r->arena, value, vlen);
            (*n)++;
        }
        p = *e ? e + 1 : e;
    }
    *out = q;
    return 0;
}

/* The last value of a parameter, or NULL. */
const char *api_qlast(const struct qparam *q, size_t n, const char *name)
{
    const char *v = NULL;
    size_t i;

    for (i = 0; i < n; i++) {
        if (strcmp(q[i].name, name) == 0) {
            v = q[i].value;
        }
    }
    return v;
}
