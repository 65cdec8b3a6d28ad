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
    { "GET", { "servers", "*", "migrations", NULL }, h_server_migrations,
      23, NULL },
    { "GET", { "servers", "*", "migrations", "*" }, h_server_migration_show,
      23, NULL },
    { "DELETE", { "servers", "*", "migrations", "*" },
      h_server_migration_abort, 24, NULL },
    { "POST", { "servers", "*", "migrations", "*", "action" }, NULL, 22,
      migration_actions },
    { "POST", { "servers", "*", "action", NULL }, NULL, 1,
      server_actions },
};

static int hexval(int c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    c = tolower(c);
    return (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
}

char *route_pct_decode(struct arena *a, const char *s, size_t n, int plus)
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

#define MAX_SEGS 8

static size_t split(struct arena *a, const char *path, char **segs)
{
    size_t n = 0;
    const char *p = path, *e;

    while (*p != '\0' && n < MAX_SEGS) {
        e = strchr(p, '/');
        if (e == NULL) {
            e = p + strlen(p);
        }
        segs[n++] = route_pct_decode(a, p, (size_t) (e - p), 0);
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

static const struct route *match(const char *method, char **segs, size_t n,
                                 struct route_hit *hit)
{
    size_t i, k;

    for (i = 0; i < ARRAY_LEN(routes); i++) {
        const struct route *rt = &routes[i];

        hit->nargs = 0;
        for (k = 0; k < n && rt->seg[k] != NULL; k++) {
            if (strcmp(rt->seg[k], "*") == 0) {
                if (segs[k][0] == '\0') {
                    break;
                }
                hit->args[hit->nargs++] = segs[k];
            } else if (strcmp(rt->seg[k], segs[k]) != 0) {
                break;
            }
        }
        if (k == n && (k == ARRAY_LEN(rt->seg) || rt->seg[k] == NULL)) {
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
    size_t n;

    memset(hit, 0, sizeof(*hit));
    n = split(a, path, segs);
    if (n > 0 && is_project_seg(segs[0])) {
        hit->project = segs[0];
        memmove(segs, segs + 1, (n - 1) * sizeof(segs[0]));
        n--;
    }
    hit->rt = match(method, segs, n, hit);
}

/* Step 5: Content-Type. */
int route_content_type_ok(const char *ct)
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

        eq = memchr(p, '=', (size_t) (e - p));
        if (e > p) {
            if (*n == cap) {
                struct qparam *g = arena_alloc(r->arena,
                                               2 * cap * sizeof(*g));

                memcpy(g, q, cap * sizeof(*g));
                q = g;
                cap *= 2;
            }
            q[*n].name = route_pct_decode(r->arena, p,
                                          (size_t) ((eq ? eq : e) - p), 1);
            q[*n].value = eq ? route_pct_decode(r->arena, eq + 1,
                                                (size_t) (e - eq - 1), 1)
                             : "";
            if (!utf8_valid(q[*n].name, strlen(q[*n].name))
                || !utf8_valid(q[*n].value, strlen(q[*n].value)))
            {
                return ferr_set(err, FE_BADREQ, "Query string is not UTF-8 "
                                "encoded");
            }
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
