/* test_metrics.c: the Prometheus exposition of metrics.c, rendered from
 * the shared block and a store of its own: one HELP and TYPE per family,
 * a histogram whose +Inf bucket and count agree with its buckets (a
 * request slower than every bound included), and counters whose series
 * cannot fall as migrations move on. */
#include <stdlib.h>
#include <unistd.h>
#include "unit.h"
#include "ferry/app.h"
#include "ferry/conf.h"
#include "ferry/metrics.h"
#include "ferry/store.h"

/* The value of the exposition line that starts with prefix, or -1. */
static double sample(const char *text, const char *prefix)
{
    const char *p = text;
    size_t n = strlen(prefix);

    while (p != NULL && *p != '\0') {
        if (strncmp(p, prefix, n) == 0 && p[n] == ' ') {
            return atof(p + n + 1);
        }
        p = strchr(p, '\n');
        p = p != NULL ? p + 1 : NULL;
    }
    return -1;
}

static int count_of(const char *text, const char *needle)
{
    const char *p = text;
    int n = 0;

    while ((p = strstr(p, needle)) != NULL) {
        n++;
        p += strlen(needle);
    }
    return n;
}

static void add(struct store *s, const char *inst, const char *status)
{
    struct migration m;
    struct ferr e = { 0 };

    memset(&m, 0, sizeof(m));
    snprintf(m.instance_uuid, sizeof(m.instance_uuid), "%s", inst);
    m.migration_type = "live-migration";
    m.status = status;
    m.source_compute = "a";
    m.old_instance_type_id = m.new_instance_type_id = MIG_NULL_INT;
    m.memory_total = m.memory_remaining = MIG_NULL_INT;
    m.disk_total = m.disk_processed = m.disk_remaining = MIG_NULL_INT;
    m.total_time_ms = m.downtime_ms = MIG_NULL_INT;
    m.memory_processed = MIG_NULL_INT;
    m.user_id = "u";
    m.project_id = "p";
    m.block_migration = -1;
    m.mv_minor = 25;
    CHECK_INT(store_migration_create(s, &m, &e), 0);
}

int main(void)
{
    char dir[] = "/tmp/ferry-test-metrics-XXXXXX", path[256], cmd[512];
    static const char *const families[] = {
        "ferry_http_requests_total",
        "ferry_http_request_duration_seconds",
        "ferry_migrations_total",
        "ferry_migrations_in_phase",
        "ferry_migration_data_processed_bytes_total",
        "ferry_migration_data_remaining_bytes",
        "ferry_migration_transfer_rate_bytes_per_second",
        "ferry_migration_duration_seconds",
        "ferry_migration_downtime_seconds",
    };
    struct conf conf;
    struct app app;
    struct sbuf out;
    struct ferr e = { 0 };
    char type[128];
    size_t i;

    CHECK(mkdtemp(dir) != NULL);
    snprintf(path, sizeof(path), "%s/ferry.db", dir);
    memset(&conf, 0, sizeof(conf));
    memset(&app, 0, sizeof(app));
    app.conf = &conf;
    CHECK_INT(store_open(path, &app.store, &e), 0);
    CHECK_INT(metrics_init(&e), 0);

    metrics_request("GET", "/v2.1/servers", 200, 2000);
    metrics_request("GET", "/v2.1/servers", 200, 60000000); /* 60 s */
    add(app.store, "11111111-2222-4333-8444-555555555555", "running");
    add(app.store, "22222222-2222-4333-8444-555555555555", "failed");
    /* a record is created without progress: the runner's saves add it */
    snprintf(cmd, sizeof(cmd),
             "sqlite3 '%s' 'UPDATE migrations SET"
             " memory_processed = CASE id WHEN 2 THEN 5 ELSE 700 END,"
             " transfer_bps = CASE id WHEN 2 THEN 9 ELSE 4096 END'",
             path);
    CHECK_INT(system(cmd), 0);

    sbuf_init(&out);
    CHECK_INT(metrics_render(&app, &out, &e), 0);
    for (i = 0; i < sizeof(families) / sizeof(families[0]); i++) {
        snprintf(type, sizeof(type), "# TYPE %s ", families[i]);
        CHECK_INT(count_of(out.buf, type), 1);
    }
    /* the slow request is in +Inf and in the count, as are the others */
    CHECK(sample(out.buf,
                 "ferry_http_request_duration_seconds_bucket"
                 "{le=\"0.005\"}")
          == 1);
    CHECK(sample(out.buf,
                 "ferry_http_request_duration_seconds_bucket"
                 "{le=\"10\"}")
          == 1);
    CHECK(sample(out.buf,
                 "ferry_http_request_duration_seconds_bucket"
                 "{le=\"+Inf\"}")
          == 2);
    CHECK(sample(out.buf, "ferry_http_request_duration_seconds_count") == 2);
    /* bytes moved: ended migrations by outcome, never a status in
     * progress (that series would fall when the migration ends) */
    CHECK(sample(out.buf,
                 "ferry_migration_data_processed_bytes_total"
                 "{type=\"live-migration\",outcome=\"failed\"}")
          == 5);
    CHECK_INT(count_of(out.buf,
                       "processed_bytes_total{type=\"live-"
                       "migration\",status="),
              0);
    CHECK_INT(count_of(out.buf, "outcome=\"running\""), 0);
    CHECK(sample(out.buf,
                 "ferry_migrations_in_phase"
                 "{type=\"live-migration\",phase=\"running\"}")
          == 1);
    /* every status a type goes through has its series, 0 when empty (a
     * phase that empties must read 0, not vanish) */
    CHECK(sample(out.buf,
                 "ferry_migrations_in_phase"
                 "{type=\"live-migration\",phase=\"queued\"}")
          == 0);
    CHECK(sample(out.buf,
                 "ferry_migrations_in_phase"
                 "{type=\"migration\",phase=\"finished\"}")
          == 0);
    CHECK(sample(out.buf,
                 "ferry_migrations_total"
                 "{type=\"live-migration\",outcome=\"completed\"}")
          == 0);
    CHECK(sample(out.buf,
                 "ferry_migrations_total"
                 "{type=\"live-migration\",outcome=\"failed\"}")
          == 1);
    CHECK(sample(out.buf,
                 "ferry_migration_data_remaining_bytes"
                 "{type=\"migration\",phase=\"reverting\"}")
          == 0);
    /* the rate of the running migration; an ended one has none */
    CHECK(sample(out.buf,
                 "ferry_migration_transfer_rate_bytes_per_second"
                 "{type=\"live-migration\",phase=\"running\"}")
          == 4096);
    CHECK_INT(count_of(out.buf,
                       "ferry_migration_transfer_rate_bytes_per_second"
                       "{type=\"live-migration\",outcome"),
              0);
    /* no series for a status the type never takes */
    CHECK_INT(count_of(out.buf, "type=\"migration\",outcome=\"completed"), 0);
    CHECK_INT(count_of(out.buf, "type=\"live-migration\",phase=\"finished"), 0);
    if (unit_fail) {
        fputs(out.buf, stderr);
    }
    sbuf_free(&out);
    store_close(app.store);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    CHECK_INT(system(cmd), 0);
    return unit_done("test_metrics");
}
