/*
 * health.c: GET /healthz and GET /metrics for operators (see health.h).
 *
 * /healthz answers 200 {"status": "ok", ...} only when the store takes a
 * write lock, every worker and runner of the running generation is up
 * and every enabled host answered the inventory's last try (the store's
 * hosts table: no libvirt call here); otherwise 503 with
 * "status": "fail" and one reason per failed check, for load balancers
 * and watchdogs.  Disabled hosts are reported but do not fail it.
 */
#include <string.h>
#include "ferry/fault.h"
#include "ferry/drain.h"
#include "ferry/health.h"
#include "ferry/instances.h"
#include "ferry/json.h"
#include "ferry/metrics.h"
#include "ferry/store.h"

static int check_store(struct app *app, struct jw *j, struct ferr *err)
{
    int ok = store_begin(app->store, err) == 0;

    if (ok) {
        store_rollback(app->store);
    }
    jw_kstr(j, "store", ok ? "ok" : ferr_msg(err));
    ferr_clear(err);
    return ok;
}

static int check_children(struct jw *j, struct arena *a)
{
    int kind, wanted, up, rc = metrics_children_ok(&kind, &wanted, &up);

    if (rc < 0) {
        jw_kstr(j, "processes", "unknown (no master)");
        return 0;
    }
    jw_kstr(j, "processes",
            rc ? "ok"
               : arena_printf(a, "%d of %d %ss up", up, wanted,
                              metrics_kind_name(kind)));
    return rc;
}

/* The hosts as the inventory process last found them (the store's hosts
 * table): a request worker asks no libvirt. */
static int check_hosts(struct app *app, struct arena *a, struct jw *j,
                       struct ferr *err)
{
    const struct conf *c = app->conf;
    struct host_state hs;
    size_t i;
    int ok = 1, up;

    jw_key(j, "hosts");
    jw_obj_open(j);
    for (i = 0; i < c->nhosts; i++) {
        up = instances_host_get(app->store, c->hosts[i].name, a, &hs, err) == 0
            && hs.up;
        jw_kstr(j, c->hosts[i].name,
                up              ? "ok"
                    : err->code ? ferr_msg(err)
                    : !hs.known ? "not tried yet"
                    : hs.error  ? hs.error
                                : "unreachable");
        ferr_clear(err);
        /* a host a drain disabled may be down for its maintenance */
        ok &= up || !c->hosts[i].enabled
            || store_host_is_disabled(app->store, c->hosts[i].name);
    }
    jw_obj_close(j);
    return ok;
}

static void healthz(struct app *app, struct req *r, struct resp *w)
{
    struct ferr err = { 0 };
    struct jw j;
    int ok;

    sbuf_reset(&w->body);
    jw_init(&j, &w->body);
    jw_obj_open(&j);
    jw_key(&j, "checks");
    jw_obj_open(&j);
    ok = check_store(app, &j, &err);
    ok &= check_children(&j, r->arena);
    ok &= check_hosts(app, r->arena, &j, &err);
    jw_obj_close(&j);
    jw_kstr(&j, "status", ok ? "ok" : "fail");
    jw_obj_close(&j);
    resp_ok(w);
    if (!ok) {
        w->status = fault_status(FE_UNAVAILABLE);
    }
}

static void metrics(struct app *app, struct req *r, struct resp *w)
{
    struct ferr err = { 0 };

    sbuf_reset(&w->body);
    if (metrics_render(app, &w->body, &err) < 0) {
        log_error("metrics: %s", ferr_msg(&err));
        fault_json(r, w, &err);
        ferr_clear(&err);
        return;
    }
    resp_ok(w);
    w->content_type = "text/plain; version=0.0.4; charset=utf-8";
}

int health_handle(struct app *app, struct req *r, struct resp *w)
{
    static const struct {
        const char *path;
        void (*fn)(struct app *, struct req *, struct resp *);
    } ops[] = {
        { "/healthz", healthz },
        { "/metrics", metrics },
    };
    size_t i;

    if (!r->ops) {
        return 0;
    }
    for (i = 0; i < ARRAY_LEN(ops); i++) {
        if (strcmp(r->uri, ops[i].path) == 0) {
            if (strcmp(r->method, "GET") != 0
                && strcmp(r->method, "HEAD") != 0) {
                fault_plain(r, w, FE_NOTFOUND,
                            "The resource could not be found.");
            } else {
                ops[i].fn(app, r, w);
            }
            return 1;
        }
    }
    fault_plain(r, w, FE_NOTFOUND, "The resource could not be found.");
    return 1;
}
