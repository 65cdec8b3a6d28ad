/*
 * metrics.c: ferryd's Prometheus metrics (see metrics.h for what lives
 * where).  The shared block is a fixed table: routes and statuses are
 * classified into the short lists below (anything else is "other"), so a
 * client sending odd paths cannot grow it.  Names follow Prometheus
 * conventions (_total, _seconds, _bytes) and KubeVirt's migration metrics.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include "ferry/app.h"
#include "ferry/drain.h"
#include "ferry/inventory.h"
#include "ferry/metrics.h"
#include "ferry/instances.h"
#include "ferry/paths.h"
#include "ferry/store.h"

/* Route labels: segments after /v2.1/ (and after a project segment);
 * "*" matches one segment; the first match wins. */
static const struct {
    const char *name;
    const char *seg[5];
} routes[] = {
    { "servers", { "servers" } },
    { "servers_detail", { "servers", "detail" } },
    { "server", { "servers", "*" } },
    { "server_action", { "servers", "*", "action" } },
    { "server_migrations", { "servers", "*", "migrations" } },
    { "server_migration", { "servers", "*", "migrations", "*" } },
    { "server_migration_action",
      { "servers", "*", "migrations", "*", "action" } },
    { "instance_actions", { "servers", "*", "os-instance-actions" } },
    { "instance_action", { "servers", "*", "os-instance-actions", "*" } },
    { "os_migrations", { "os-migrations" } },
    { "drains", { "os-ferry-drains" } },
    { "drain", { "os-ferry-drains", "*" } },
    { "drain_action", { "os-ferry-drains", "*", "action" } },
};
/* after the table's rows */
enum { R_VERSIONS = ARRAY_LEN(routes), R_HEALTH, R_METRICS, R_OTHER, NROUTES };
static const char *const extra_routes[] = { "versions", "healthz", "metrics",
                                            "other" };

static const char *const methods[] = { "GET", "POST", "DELETE", "other" };
#define NMETHODS ARRAY_LEN(methods)

static const int statuses[] = {
    200, 202, 204, 300, 400, 401, 403, 404, 405,
    406, 409, 413, 415, 429, 500, 501, 503, 0 /* 0: any other */
};
#define NSTATUSES ARRAY_LEN(statuses)

/* request duration buckets, µs (the exposition says seconds) */
static const int64_t req_le_us[] = { 1000,    5000,    10000,   25000,
                                     50000,   100000,  250000,  500000,
                                     1000000, 2500000, 5000000, 10000000 };
#define NREQ_LE ARRAY_LEN(req_le_us)

/* migration duration and downtime buckets, ms */
static const int64_t mig_time_le_ms[] = { 1000,    5000,   10000,  30000,
                                          60000,   120000, 300000, 600000,
                                          1800000, 3600000 };
static const int64_t mig_down_le_ms[] = { 10,   50,   100,  250,  500,
                                          1000, 2500, 5000, 10000 };

static const char *const kinds[METRIC_NKINDS] = { "worker", "runner" };

struct shm {
    uint64_t requests[NROUTES][NMETHODS][NSTATUSES];
    /* per bucket, not cumulative; the last one is above every bound.
     * The count is their sum, never a counter of its own: a scrape
     * between two atomic adds could otherwise show a bucket above
     * +Inf. */
    uint64_t req_le[NREQ_LE + 1];
    uint64_t req_sum_us;
    uint64_t restarts[METRIC_NKINDS];
    uint64_t fcgi_conns; /* FastCGI connections accepted from nginx */
    int32_t wanted[METRIC_NKINDS], up[METRIC_NKINDS];
};

static struct shm *shm;

int metrics_init(struct ferr *err)
{
    void *p = mmap(NULL, sizeof(*shm), PROT_READ | PROT_WRITE,
                   MAP_SHARED | MAP_ANONYMOUS, -1, 0);

    if (p == MAP_FAILED) {
        return ferr_set(err, FE_NOMEM, "metrics: mmap: %s", strerror(errno));
    }
    shm = p;
    return 0;
}

static int match_segs(const char *const *pat, char **segs, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (i >= ARRAY_LEN(routes[0].seg) || pat[i] == NULL
            || (strcmp(pat[i], "*") != 0 && strcmp(pat[i], segs[i]) != 0)) {
            return 0;
        }
    }
    return n == ARRAY_LEN(routes[0].seg) || pat[n] == NULL;
}

static int route_of(const char *uri)
{
    char buf[512], *segs[7], *p, *save = NULL;
    size_t n = 0, i, skip;

    if (strcmp(uri, "/") == 0 || strcmp(uri, "/v2") == 0
        || strcmp(uri, "/v2/") == 0 || strcmp(uri, "/v2.1") == 0
        || strcmp(uri, "/v2.1/") == 0) {
        return R_VERSIONS;
    }
    if (strcmp(uri, "/healthz") == 0 || strcmp(uri, "/metrics") == 0) {
        return uri[1] == 'h' ? R_HEALTH : R_METRICS;
    }
    if (strncmp(uri, "/v2.1/", 6) != 0
        || (size_t) snprintf(buf, sizeof(buf), "%s", uri + 6) >= sizeof(buf)) {
        return R_OTHER;
    }
    for (p = strtok_r(buf, "/", &save); p != NULL;
         p = strtok_r(NULL, "/", &save)) {
        if (n == ARRAY_LEN(segs)) {
            return R_OTHER;
        }
        segs[n++] = p;
    }
    /* a project segment comes first when the next one is a resource */
    skip = n > 1 && strcmp(segs[0], "servers") != 0
        && strcmp(segs[0], "os-migrations") != 0
        && strcmp(segs[0], "os-ferry-drains") != 0;
    for (i = 0; i < ARRAY_LEN(routes); i++) {
        if (n > skip && match_segs(routes[i].seg, segs + skip, n - skip)) {
            return (int) i;
        }
    }
    return R_OTHER;
}

static const char *route_name(int i)
{
    return i < R_VERSIONS ? routes[i].name : extra_routes[i - R_VERSIONS];
}

void metrics_request(const char *method, const char *uri, int status,
                     int64_t elapsed_us)
{
    size_t m, s, b;

    if (shm == NULL) {
        return;
    }
    for (m = 0; m < NMETHODS - 1 && strcmp(methods[m], method) != 0; m++) {
    }
    for (s = 0; s < NSTATUSES - 1 && statuses[s] != status; s++) {
    }
    for (b = 0; b < NREQ_LE && elapsed_us > req_le_us[b]; b++) {
    }
    __atomic_fetch_add(&shm->requests[route_of(uri)][m][s], 1,
                       __ATOMIC_RELAXED);
    __atomic_fetch_add(&shm->req_le[b], 1, __ATOMIC_RELAXED);
    __atomic_fetch_add(&shm->req_sum_us,
                       (uint64_t) (elapsed_us > 0 ? elapsed_us : 0),
                       __ATOMIC_RELAXED);
}

void metrics_fcgi_connection(void)
{
    if (shm != NULL) {
        __atomic_fetch_add(&shm->fcgi_conns, 1, __ATOMIC_RELAXED);
    }
}

void metrics_restart(int kind)
{
    if (shm != NULL && kind >= 0 && kind < METRIC_NKINDS) {
        __atomic_fetch_add(&shm->restarts[kind], 1, __ATOMIC_RELAXED);
    }
}

void metrics_children(int kind, int wanted, int up)
{
    if (shm != NULL && kind >= 0 && kind < METRIC_NKINDS) {
        __atomic_store_n(&shm->wanted[kind], wanted, __ATOMIC_RELAXED);
        __atomic_store_n(&shm->up[kind], up, __ATOMIC_RELAXED);
    }
}

int metrics_children_ok(int *kind, int *wanted, int *up)
{
    int k;

    if (shm == NULL) {
        return -1;
    }
    for (k = 0; k < METRIC_NKINDS; k++) {
        *kind = k;
        *wanted = __atomic_load_n(&shm->wanted[k], __ATOMIC_RELAXED);
        *up = __atomic_load_n(&shm->up[k], __ATOMIC_RELAXED);
        if (*up < *wanted) {
            return 0;
        }
    }
    return 1;
}

const char *metrics_kind_name(int kind)
{
    return kind >= 0 && kind < METRIC_NKINDS ? kinds[kind] : "?";
}

static void head(struct sbuf *o, const char *name, const char *type,
                 const char *help)
{
    sbuf_printf(o, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A label value: \ " and newline escaped, as the text format wants. */
static void label(struct sbuf *o, const char *v)
{
    for (; v != NULL && *v != '\0'; v++) {
        if (*v == '\\' || *v == '"') {
            sbuf_putc(o, '\\');
            sbuf_putc(o, *v);
        } else if (*v == '\n') {
            sbuf_puts(o, "\\n");
        } else {
            sbuf_putc(o, *v);
        }
    }
}

static void render_requests(struct sbuf *o)
{
    uint64_t v, cum = 0;
    size_t r, m, s, b;

    head(o, "ferry_http_requests_total", "counter",
         "Requests answered by ferryd, by route, method and status.");
    for (r = 0; r < NROUTES; r++) {
        for (m = 0; m < NMETHODS; m++) {
            for (s = 0; s < NSTATUSES; s++) {
                v = __atomic_load_n(&shm->requests[r][m][s], __ATOMIC_RELAXED);
                if (v == 0) {
                    continue;
                }
                sbuf_printf(o,
                            "ferry_http_requests_total{route=\"%s\","
                            "method=\"%s\",status=\"",
                            route_name((int) r), methods[m]);
                if (statuses[s]) {
                    sbuf_printf(o, "%d", statuses[s]);
                } else {
                    sbuf_puts(o, "other");
                }
                sbuf_printf(o, "\"} %llu\n", (unsigned long long) v);
            }
        }
    }
    head(o, "ferry_http_request_duration_seconds", "histogram",
         "Time from a request's arrival at ferryd to its answer.");
    for (b = 0; b < NREQ_LE; b++) {
        cum += __atomic_load_n(&shm->req_le[b], __ATOMIC_RELAXED);
        sbuf_printf(o,
                    "ferry_http_request_duration_seconds_bucket"
                    "{le=\"%g\"} %llu\n",
                    (double) req_le_us[b] / 1e6, (unsigned long long) cum);
    }
    v = cum + __atomic_load_n(&shm->req_le[NREQ_LE], __ATOMIC_RELAXED);
    sbuf_printf(o,
                "ferry_http_request_duration_seconds_bucket{le=\"+Inf\"}"
                " %llu\nferry_http_request_duration_seconds_sum %.6f\n"
                "ferry_http_request_duration_seconds_count %llu\n",
                (unsigned long long) v,
                (double) __atomic_load_n(&shm->req_sum_us, __ATOMIC_RELAXED)
                    / 1e6,
                (unsigned long long) v);
}

static void render_processes(struct sbuf *o)
{
    int k;

    head(o, "ferry_fastcgi_connections_total", "counter",
         "FastCGI connections the request workers accepted from nginx "
         "(with kept connections, far fewer than requests).");
    sbuf_printf(o, "ferry_fastcgi_connections_total %llu\n",
                (unsigned long long) __atomic_load_n(&shm->fcgi_conns,
                                                     __ATOMIC_RELAXED));
    head(o, "ferry_process_restarts_total", "counter",
         "Workers and runners restarted by the master after they died.");
    for (k = 0; k < METRIC_NKINDS; k++) {
        sbuf_printf(o, "ferry_process_restarts_total{kind=\"%s\"} %llu\n",
                    kinds[k],
                    (unsigned long long) __atomic_load_n(&shm->restarts[k],
                                                         __ATOMIC_RELAXED));
    }
    head(o, "ferry_processes_up", "gauge",
         "Workers and runners of the running generation alive.");
    for (k = 0; k < METRIC_NKINDS; k++) {
        sbuf_printf(o, "ferry_processes_up{kind=\"%s\"} %d\n", kinds[k],
                    __atomic_load_n(&shm->up[k], __ATOMIC_RELAXED));
    }
    head(o, "ferry_processes_configured", "gauge",
         "Workers and runners the configuration asks for.");
    for (k = 0; k < METRIC_NKINDS; k++) {
        sbuf_printf(o, "ferry_processes_configured{kind=\"%s\"} %d\n", kinds[k],
                    __atomic_load_n(&shm->wanted[k], __ATOMIC_RELAXED));
    }
}

/* One histogram series of a migration type, from the store's counts. */
static void mig_hist(struct sbuf *o, const char *name, const char *type,
                     const int64_t *le_ms, size_t nb, const int64_t *le,
                     int64_t count, int64_t sum_ms)
{
    size_t b;

    for (b = 0; b < nb; b++) {
        sbuf_printf(o, "%s_bucket{type=\"", name);
        label(o, type);
        sbuf_printf(o, "\",le=\"%g\"} %lld\n", (double) le_ms[b] / 1e3,
                    (long long) le[b]);
    }
    sbuf_printf(o, "%s_bucket{type=\"", name);
    label(o, type);
    sbuf_printf(o, "\",le=\"+Inf\"} %lld\n%s_sum{type=\"", (long long) count,
                name);
    label(o, type);
    sbuf_printf(o, "\"} %.3f\n%s_count{type=\"", (double) sum_ms / 1e3, name);
    label(o, type);
    sbuf_printf(o, "\"} %lld\n", (long long) count);
}

/* "ferry_x{type="T",LABEL="V"} N" */
static void mig_line(struct sbuf *o, const char *name, const char *type,
                     const char *lname, const char *lval, long long v)
{
    sbuf_printf(o, "%s{type=\"", name);
    label(o, type);
    if (lname != NULL) {
        sbuf_printf(o, "\",%s=\"", lname);
        label(o, lval);
    }
    sbuf_printf(o, "\"} %lld\n", v);
}

/* The migration types ferry creates, and which statuses each goes
 * through (status.h's MIG_K_*). */
static const struct {
    const char *name;
    unsigned kind;
} mig_types[] = {
    { "live-migration", MIG_K_LIVE },
    { "migration", MIG_K_COLD },
};

static int known_type(const char *type, unsigned kind)
{
    size_t t;

    for (t = 0; t < ARRAY_LEN(mig_types); t++) {
        if (strcmp(type, mig_types[t].name) == 0) {
            return (mig_types[t].kind & kind) != 0;
        }
    }
    return 0;
}

/* One series per type and status (ended ones, or those in progress),
 * every status the type goes through written even at 0, so a series
 * never vanishes when its last migration moves on; the field at off of
 * the matching group is the value.  Groups of a type or status not in
 * the tables (an older ferryd's records) follow as they are. */
static void by_status(struct sbuf *o, const char *name, const char *lname,
                      int ended, size_t off, const struct mig_group *g,
                      size_t n)
{
    size_t t, i;
    int s;
    long long v;

    for (t = 0; t < ARRAY_LEN(mig_types); t++) {
        for (s = 0; s < MIG_STATUS__COUNT; s++) {
            if (!(mig_status_kind(s) & mig_types[t].kind)
                || mig_status_has(s, MIG_F_ENDED) != ended) {
                continue;
            }
            for (v = 0, i = 0; i < n; i++) {
                if (strcmp(g[i].type, mig_types[t].name) == 0
                    && mig_status_is(g[i].status, s)) {
                    v = *(const int64_t *) ((const char *) &g[i] + off);
                }
            }
            mig_line(o, name, mig_types[t].name, lname, mig_status_name(s), v);
        }
    }
    for (i = 0; i < n; i++) {
        if (mig_status_ended(g[i].status) == ended
            && !known_type(g[i].type,
                           mig_status_kind(mig_status_of(g[i].status)))) {
            mig_line(o, name, g[i].type, lname, g[i].status,
                     *(const int64_t *) ((const char *) &g[i] + off));
        }
    }
}

static void render_migrations(struct sbuf *o, const struct mig_group *g,
                              size_t n)
{
    size_t i;

    /* the by-status families, one row each; counters only over ended
     * migrations: a series per status in progress would drop when its
     * migrations move on, which a counter must never do */
    static const struct {
        const char *name, *type, *help, *label;
        int ended;
        size_t off;
    } fams[] = {
        { "ferry_migrations_total", "counter",
          "Migrations that ended, by type and outcome (final status).",
          "outcome", 1, offsetof(struct mig_group, count) },
        { "ferry_migrations_in_phase", "gauge",
          "Migrations in progress, by type and phase (status).", "phase", 0,
          offsetof(struct mig_group, count) },
        { "ferry_migration_data_processed_bytes_total", "counter",
          "Memory and disk bytes moved by migrations that ended, by type "
          "and outcome (libvirt's counts).",
          "outcome", 1, offsetof(struct mig_group, bytes_sum) },
        { "ferry_migration_data_remaining_bytes", "gauge",
          "Memory and disk bytes still to move, migrations in progress.",
          "phase", 0, offsetof(struct mig_group, remaining_sum) },
        { "ferry_migration_transfer_rate_bytes_per_second", "gauge",
          "Memory and disk transfer rate of migrations in progress, as "
          "libvirt's latest job sample gives it.",
          "phase", 0, offsetof(struct mig_group, rate_sum) },
    };
    size_t f;

    for (f = 0; f < ARRAY_LEN(fams); f++) {
        head(o, fams[f].name, fams[f].type, fams[f].help);
        by_status(o, fams[f].name, fams[f].label, fams[f].ended, fams[f].off, g,
                  n);
    }
    head(o, "ferry_migration_duration_seconds", "histogram",
         "Total time of completed migrations.");
    for (i = 0; i < n; i++) {
        if (mig_status_is(g[i].status, MIG_COMPLETED)) {
            mig_hist(o, "ferry_migration_duration_seconds", g[i].type,
                     mig_time_le_ms, ARRAY_LEN(mig_time_le_ms), g[i].time_le,
                     g[i].timed, g[i].time_ms_sum);
        }
    }
}

/* Downtime bounds differ from the duration ones: a second query. */
static int render_downtime(struct app *app, struct sbuf *o, struct arena *a,
                           struct ferr *err)
{
    struct mig_group *g;
    size_t n, i;

    if (store_migration_groups(app->store, mig_down_le_ms,
                               ARRAY_LEN(mig_down_le_ms), a, &g, &n, err)
        < 0) {
        return ferr_fail(err);
    }
    head(o, "ferry_migration_downtime_seconds", "histogram",
         "Guest downtime of completed live migrations.");
    for (i = 0; i < n; i++) {
        if (mig_status_is(g[i].status, MIG_COMPLETED) && g[i].downed > 0) {
            mig_hist(o, "ferry_migration_downtime_seconds", g[i].type,
                     mig_down_le_ms, ARRAY_LEN(mig_down_le_ms), g[i].down_le,
                     g[i].downed, g[i].downtime_ms_sum);
        }
    }
    return 0;
}

/* The inventory's word (its hosts table): a request worker has no libvirt
 * connection of its own.  Freshness: the time of a host's last full
 * resync, between which its events keep the index current. */
/* The hosts a drain disabled, sorted: enabled="false" as for a host the
 * configuration disables (Nova's disabled compute service). */
struct hosts_off {
    const char **v;
    size_t n;
};

/* One sample of a per-host family: its labels, then the value. */
static void host_sample(struct sbuf *o, const char *name,
                        const struct conf_host *h, const struct hosts_off *off)
{
    int enabled = h->enabled && !strv_sorted_has(off->v, off->n, h->name);

    sbuf_printf(o, "%s{host=\"", name);
    label(o, h->name);
    sbuf_printf(o, "\",enabled=\"%s\"} ", enabled ? "true" : "false");
}

static void render_hosts(struct app *app, struct sbuf *o)
{
    const struct conf *c = app->conf;
    struct host_state *hs;
    struct hosts_off off = { NULL, 0 };
    struct ferr e = { 0 };
    struct arena a;
    size_t i;

    /* each host's row read once, for both families */
    arena_init(&a, 1024);
    if (store_hosts_disabled(app->store, &a, &off.v, &off.n, &e) < 0) {
        off.n = 0; /* the configuration's word alone */
        ferr_clear(&e);
    }
    hs = arena_alloc(&a, (c->nhosts ? c->nhosts : 1) * sizeof(*hs));
    for (i = 0; i < c->nhosts; i++) {
        struct ferr err = { 0 };

        if (instances_host_get(app->store, c->hosts[i].name, &a, &hs[i], &err)
            < 0) {
            memset(&hs[i], 0, sizeof(hs[i]));
        }
        ferr_clear(&err);
    }
    head(o, "ferry_host_reachable", "gauge",
         "1 when the inventory process holds a live libvirt connection to "
         "the host.");
    for (i = 0; i < c->nhosts; i++) {
        host_sample(o, "ferry_host_reachable", &c->hosts[i], &off);
        sbuf_printf(o, "%d\n", hs[i].up);
    }
    head(o, "ferry_inventory_synced_timestamp_seconds", "gauge",
         "When the inventory last read every domain of the host (0: never).");
    for (i = 0; i < c->nhosts; i++) {
        host_sample(o, "ferry_inventory_synced_timestamp_seconds", &c->hosts[i],
                    &off);
        sbuf_printf(o, "%.3f\n", (double) hs[i].synced_at / 1e6);
    }
    arena_free(&a);
}

/* Drains (drain.h): every drain by status, and the servers of the drains
 * not ended by their state, from the store. */
static int render_drains(struct app *app, struct sbuf *o, struct ferr *err)
{
    int64_t counts[DR__COUNT], srv[DS__COUNT];
    int i;

    if (store_drain_counts(app->store, counts, srv, err) < 0) {
        return ferr_fail(err);
    }
    head(o, "ferry_drains", "gauge", "Host drains by status.");
    for (i = 0; i < DR__COUNT; i++) {
        sbuf_printf(o, "ferry_drains{status=\"%s\"} %lld\n",
                    drain_status_name(i), (long long) counts[i]);
    }
    head(o, "ferry_drains_servers", "gauge",
         "The servers of the host drains not ended, by state.");
    for (i = 0; i < DS__COUNT; i++) {
        sbuf_printf(o, "ferry_drains_servers{state=\"%s\"} %lld\n",
                    drain_srv_state_name(i), (long long) srv[i]);
    }
    return 0;
}

int metrics_render(struct app *app, struct sbuf *out, struct ferr *err)
{
    struct mig_group *g;
    struct arena a;
    size_t n;
    int rc;

    head(out, "ferry_build_info", "gauge", "ferryd's version.");
    sbuf_printf(out, "ferry_build_info{version=\"%s\"} 1\n", FERRY_VERSION);
    if (shm != NULL) {
        render_requests(out);
        render_processes(out);
    }
    arena_init(&a, 16384);
    rc = store_migration_groups(app->store, mig_time_le_ms,
                                ARRAY_LEN(mig_time_le_ms), &a, &g, &n, err);
    if (rc == 0) {
        render_migrations(out, g, n);
        rc = render_downtime(app, out, &a, err);
    }
    arena_free(&a);
    if (rc < 0) {
        return rc;
    }
    render_hosts(app, out);
    return render_drains(app, out, err);
}
