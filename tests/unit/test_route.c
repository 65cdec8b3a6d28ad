/*
 * test_route.c: the request line (route.c) and response headers: paths of
 * any depth, slash merging, the project segment, Content-Type as webob
 * reads it, action keys with a NUL, queries with %00, link_prefix.
 */
#include "unit.h"
#include "ferry/http.h"
#include "ferry/route.h"
#include "ferry/schema.h"

static struct arena A;

static const struct route *find(const char *method, const char *path,
                                struct route_hit *hit)
{
    route_find(&A, method, path, hit);
    return hit->rt;
}

static void test_depth(void)
{
    struct route_hit h;
    char buf[600];
    size_t i;

    /* defect: 8th segment followed by '/' overflowed segs[] */
    CHECK(find("GET", "a/b/c/d/e/f/g/h/", &h) == NULL);
    CHECK(find("GET", "x////////", &h) == NULL);
    CHECK(find("GET", "a/b/c/d/e/f/g/h/i/j/k/l/m/n/o/p/", &h) == NULL);
    for (i = 0; i + 2 < sizeof(buf); i += 2) {
        buf[i] = 'a';
        buf[i + 1] = '/';
    }
    buf[i] = '\0';
    CHECK(find("GET", buf, &h) == NULL);
    /* defect: 6+ segments read past a route's 5 */
    CHECK(find("POST", "servers/x/migrations/y/action/z", &h) == NULL);
    CHECK(find("POST", "servers/x/migrations/y/action/", &h) == NULL);
    CHECK(find("POST", "abc/servers/x/migrations/y/action/z", &h) == NULL);
    /* no silent cut: a deep path is not its first segments */
    CHECK(find("GET", "servers/x/migrations/y/a/b/c/d/e", &h) == NULL);
    /* the longest route, with and without a project segment */
    CHECK(find("POST", "servers/x/migrations/y/action", &h) != NULL);
    CHECK_INT(h.nargs, 2);
    CHECK_STR(h.args[0], "x");
    CHECK_STR(h.args[1], "y");
    CHECK(find("POST", "0123abcd/servers/x/migrations/y/action", &h) != NULL);
    CHECK_STR(h.project, "0123abcd");
    CHECK(find("GET", "servers", &h) != NULL);
    CHECK(find("GET", "servers/", &h) == NULL);
    CHECK(find("GET", "", &h) == NULL);
    CHECK(find("PUT", "servers", &h) == NULL);
}

/* The os-instance-actions rows (issue 8): list and show, GET only. */
static void test_instance_actions(void)
{
    struct route_hit h;

    CHECK(find("GET", "servers/x/os-instance-actions", &h) != NULL);
    CHECK(h.rt->fn == h_instance_actions);
    CHECK_INT(h.nargs, 1);
    CHECK_STR(h.args[0], "x");
    CHECK(find("GET", "p1/servers/x/os-instance-actions/req-1", &h) == NULL);
    CHECK(find("GET", "0a/servers/x/os-instance-actions/req%2D1", &h) != NULL);
    CHECK(h.rt->fn == h_instance_action_show);
    CHECK_STR(h.args[1], "req-1");
    CHECK(find("POST", "servers/x/os-instance-actions", &h) == NULL);
    CHECK(find("DELETE", "servers/x/os-instance-actions/r", &h) == NULL);
    CHECK(find("GET", "servers/x/os-instance-actions/", &h) == NULL);
    CHECK(find("GET", "servers/x/os-instance-actions/r/e", &h) == NULL);
}

static void test_slashes(void)
{
    CHECK_STR(route_merge_slashes(&A, "//os-migrations"), "/os-migrations");
    CHECK_STR(route_merge_slashes(&A, "/v2.1//servers/x//action"),
              "/v2.1/servers/x/action");
    CHECK_STR(route_merge_slashes(&A, "///v2.1///"), "/v2.1/");
    CHECK_STR(route_merge_slashes(&A, "/v2.1/servers%2F%2Fx"),
              "/v2.1/servers%2F%2Fx");
    CHECK_STR(route_merge_slashes(&A, "/"), "/");
}

static void test_segments_nul(void)
{
    struct route_hit h;

    /* %00 in a segment is kept (as NUL_ESC), never cut */
    CHECK(find("GET", "servers/abc%00def", &h) != NULL);
    CHECK_STR(h.args[0], "abc" NUL_ESC "def");
    CHECK(find("GET", "servers%00/detail", &h) == NULL);
}

static void test_content_type(void)
{
    static const char *const ok[] = {
        "",
        "text/plain",
        "text/plain; charset=utf-8",
        "application/json",
        "application/json; charset=UTF-8",
        "application/json;",
        "; charset=x",
        "application/vnd.openstack.compute+json",
        "application/vnd.openstack.compute+json; version=2.1",
    };
    static const char *const bad[] = {
        "application/json ; charset=utf-8",
        "application/json ",
        "APPLICATION/JSON",
        "Application/Json",
        "text/plain ",
        "TEXT/PLAIN",
        "text/html",
        "application/jsonx",
        "json",
        " ",
        "application/x-www-form-urlencoded",
    };
    size_t i;

    CHECK(route_content_type_ok(NULL));
    for (i = 0; i < ARRAY_LEN(ok); i++) {
        CHECK(route_content_type_ok(ok[i]));
    }
    for (i = 0; i < ARRAY_LEN(bad); i++) {
        if (route_content_type_ok(bad[i])) {
            fprintf(stderr, "accepted: '%s'\n", bad[i]);
        }
        CHECK(!route_content_type_ok(bad[i]));
    }
}

static void test_action(void)
{
    static const char nul[] = "{\"os-migrateLive\\u0000junk\": {}}";
    static const char dup[] = "{\"migrate\\u0000\": 1, \"migrate\": null}";
    struct route_hit h;
    const struct action *act;
    struct ferr err = { 0 };
    jnode *body;
    struct sbuf sb;
    struct jw j;

    CHECK(find("POST", "servers/x/action", &h) != NULL);
    CHECK_INT(route_action(h.rt, nul, sizeof(nul) - 1, &act, &body, &err),
              -FE_BADREQ);
    CHECK(act == NULL);
    /* Nova: "There is no such action: %s" % key, the NUL in it */
    sbuf_init(&sb);
    jw_init(&j, &sb);
    jw_str(&j, ferr_msg(&err));
    sbuf_putc(&sb, '\0');
    CHECK_STR(sb.buf, "\"There is no such action: os-migrateLive\\u0000junk\"");
    sbuf_free(&sb);
    ferr_clear(&err);
    /* two keys: "migrate\0" is not "migrate" */
    CHECK_INT(route_action(h.rt, dup, sizeof(dup) - 1, &act, &body, &err),
              -FE_BADREQ);
    CHECK_STR(ferr_msg(&err), "Malformed request body");
    ferr_clear(&err);
    CHECK_INT(route_action(h.rt, "{\"migrate\": null}", 17, &act, &body, &err),
              0);
    CHECK(act != NULL && strcmp(act->key, "migrate") == 0);
    json_free(body);
}

static void test_key_repr(void)
{
    static const char s[] = "{\"a\\u0000b\": 1}";
    jnode *o, *v;
    struct sbuf sb;

    CHECK_INT(json_parse(s, sizeof(s) - 1, &o), 0);
    sbuf_init(&sb);
    json_pyrepr(&sb, o);
    sbuf_putc(&sb, '\0');
    CHECK_STR(sb.buf, "{'a\\x00b': 1}");
    sbuf_free(&sb);
    CHECK(!jnode_obj_get(o, "a", &v));
    json_free(o);
}

static void test_query(void)
{
    struct req r;
    struct qparam *q;
    struct ferr err = { 0 };
    size_t n;

    memset(&r, 0, sizeof(r));
    r.arena = &A;
    r.query = "status=migrating%00junk&limit%00=1&a=%ff";
    CHECK_INT(api_parse_query(&r, &q, &n, &err), -FE_BADREQ);
    ferr_clear(&err);
    r.query = "status=migrating%00junk&limit%00=1&&x";
    CHECK_INT(api_parse_query(&r, &q, &n, &err), 0);
    CHECK_INT(n, 3);
    CHECK_STR(api_qlast(q, n, "status"), "migrating" NUL_ESC "junk");
    CHECK(api_qlast(q, n, "limit") == NULL);
    CHECK_STR(api_qlast(q, n, "x"), "");
}

static void test_link_url(void)
{
    CHECK_STR(route_link_url(&A, NULL, "http://h:1", ""), "http://h:1");
    CHECK_STR(route_link_url(&A, "https://api.example.com", "http://h:1", ""),
              "https://api.example.com");
    CHECK_STR(route_link_url(&A, "https://api.example.com:8774/c/",
                             "http://h:1/compute", "/compute"),
              "https://api.example.com:8774/c//compute");
    CHECK_STR(route_link_url(&A, "https://api.example.com/", "http://h", ""),
              "https://api.example.com");
}

static void test_headers(void)
{
    struct req r;
    struct resp w;
    char name[16];
    size_t i;

    memset(&r, 0, sizeof(r));
    memset(&w, 0, sizeof(w));
    r.arena = &A;
    for (i = 0; i < 100; i++) {
        snprintf(name, sizeof(name), "X-%zu", i);
        resp_header(&r, &w, arena_strdup(&A, name), "v");
    }
    CHECK_INT(w.nheaders, 100); /* was cut at 16 */
    CHECK_STR(w.headers[99].name, "X-99");
    CHECK_STR(w.headers[16].name, "X-16");
    /* the next request starts over */
    w.nheaders = 0;
    arena_reset(&A);
    resp_header(&r, &w, "A", "1");
    CHECK_INT(w.nheaders, 1);
    CHECK_STR(w.headers[0].name, "A");
}

int main(void)
{
    arena_init(&A, 4096);
    test_depth();
    test_instance_actions();
    test_slashes();
    test_segments_nul();
    test_content_type();
    test_action();
    test_key_repr();
    test_query();
    test_link_url();
    test_headers();
    arena_free(&A);
    return unit_done("test_route");
}
