/*
 * fuzz_router.c: libFuzzer target for the request line (route.c) and the
 * microversion headers (microversion.c).
 *
 * Input: up to five lines, then the body:
 *   METHOD\n PATH[?QUERY]\n OpenStack-API-Version\n
 *   X-OpenStack-Nova-API-Version\n Content-Type\n BODY
 * An empty header line means the header is absent.  Each piece goes
 * through what the dispatcher does with it: slash merging, route_find
 * (split, project segment, match), api_parse_query, mv_parse, the
 * Content-Type check and, on an .../action route, the action lookup on
 * the raw body.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "ferry/api.h"
#include "ferry/microversion.h"
#include "ferry/route.h"
#include "ferry/schema.h"

/* The next line of [*p, end) as a NUL-terminated copy (NUL bytes kept as
 * in a FastCGI param: the string ends at the first one). */
static char *line(struct arena *a, const uint8_t **p, const uint8_t *end)
{
    const uint8_t *e = memchr(*p, '\n', (size_t) (end - *p));
    char *s;

    if (e == NULL) {
        e = end;
    }
    s = arena_strndup(a, (const char *) *p, (size_t) (e - *p));
    *p = e < end ? e + 1 : e;
    return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const methods[] = { "GET", "POST", "DELETE", "PUT" };
    const uint8_t *p = data, *end = data + size;
    struct arena a;
    struct req r;
    struct route_hit hit;
    struct qparam *q;
    struct ferr err = { 0 };
    const struct action *act;
    struct mv mv;
    jnode *body;
    char *m, *path, *api, *nova, *ct, *qs;
    size_t nq, i;

    arena_init(&a, 4096);
    memset(&r, 0, sizeof(r));
    r.arena = &a;
    m = line(&a, &p, end);
    path = line(&a, &p, end);
    api = line(&a, &p, end);
    nova = line(&a, &p, end);
    ct = line(&a, &p, end);

    /* a method byte picks one of the route table's methods too */
    r.method = m[0] != '\0' && m[1] == '\0'
        ? methods[(unsigned char) m[0] % ARRAY_LEN(methods)]
        : m;
    qs = strchr(path, '?');
    r.query = "";
    if (qs != NULL) {
        *qs = '\0';
        r.query = qs + 1;
    }
    r.uri = route_merge_slashes(&a, path);
    if (strstr(r.uri, "//") != NULL) {
        abort();
    }
    route_find(&a, r.method, r.uri, &hit);
    route_find(&a, r.method,
               strncmp(r.uri, "/v2.1/", 6) == 0 ? r.uri + 6 : r.uri, &hit);
    if (hit.nargs > ROUTE_MAX_ARGS) {
        abort();
    }
    for (i = 0; i < hit.nargs; i++) {
        (void) strlen(hit.args[i]);
    }
    if (api_parse_query(&r, &q, &nq, &err) == 0) {
        for (i = 0; i < nq; i++) {
            (void) strlen(q[i].name);
            (void) strlen(q[i].value);
        }
        (void) api_qlast(q, nq, "limit");
    }
    ferr_clear(&err);
    (void) mv_parse(&a, api[0] ? api : NULL, nova[0] ? nova : NULL, &mv, &err);
    ferr_clear(&err);
    (void) route_content_type_ok(ct[0] ? ct : NULL);
    if (hit.rt != NULL && hit.rt->actions != NULL) {
        if (route_action(hit.rt, (const char *) p, (size_t) (end - p), &act,
                         &body, &err)
            == 0) {
            json_free(body);
        }
        ferr_clear(&err);
    }
    (void) route_link_url(&a, "https://x.example:8774/c", "http://h", "/p");
    arena_free(&a);
    return 0;
}
