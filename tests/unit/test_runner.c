/*
 * test_runner.c: the runner's claim fencing (runner.c, settle.c) on a
 * store of its own and libvirt's test driver: a runner whose claim was
 * taken over while it asked the hosts where the guest is touches neither
 * the guest nor the record; and a job sample's counts and rate.
 */
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>
#include "unit.h"
#include "ferry/inventory.h"
#include "ferry/runner_int.h"

#define UUID "6695eb01-f6a4-8304-79aa-97f2502e193f" /* test:///default */

static int64_t add(struct store *s)
{
    struct migration m;
    struct ferr e = { 0 };

    memset(&m, 0, sizeof(m));
    snprintf(m.instance_uuid, sizeof(m.instance_uuid), "%s", UUID);
    m.migration_type = "live-migration";
    m.status = mig_status_name(MIG_RUNNING);
    m.source_compute = "a";
    m.dest_compute = "b";
    m.old_instance_type_id = m.new_instance_type_id = MIG_NULL_INT;
    m.memory_total = m.memory_remaining = MIG_NULL_INT;
    m.disk_total = m.disk_processed = m.disk_remaining = MIG_NULL_INT;
    m.total_time_ms = m.downtime_ms = MIG_NULL_INT;
    m.memory_processed = MIG_NULL_INT;
    m.user_id = "u";
    m.project_id = "p";
    m.mv_minor = 25;
    CHECK_INT(store_migration_create(s, &m, &e), 0);
    ferr_clear(&e);
    return m.id;
}

static int power_of(struct inventory *inv)
{
    struct ferr e = { 0 };
    struct vconn *c = inventory_conn(inv, "a", &e);
    int power = -1;

    CHECK(c != NULL);
    CHECK_INT(virt_domain_power(c, UUID, &power, NULL, &e), 1);
    ferr_clear(&e);
    return power;
}

/* The transfer failed with the guest paused by this runner's monitor on
 * the source; meanwhile another runner took the record over. */
static void test_settle_lost_claim(struct app *app, const char *db)
{
    static volatile sig_atomic_t stop;
    struct runner rn = { app, app->conf, 1, &stop, 0 };
    struct mon_opts o;
    struct monitor mo;
    struct migration m, cur;
    struct arena a;
    struct ferr e = { 0 };
    char cmd[512];
    int64_t id = add(app->store);

    arena_init(&a, 4096);
    CHECK_INT(store_migration_get(app->store, id, &a, &m, &e), 1);
    CHECK_INT(virt_suspend(inventory_conn(app->inv, "a", &e), UUID, &e), 0);
    CHECK_INT(power_of(app->inv), POWER_PAUSED);
    memset(&o, 0, sizeof(o));
    monitor_takeover(&mo, &o, m.created_at, 1, 0); /* paused by us */
    snprintf(cmd, sizeof(cmd),
             "sqlite3 '%s' 'UPDATE migrations SET claim_gen = claim_gen + 1'",
             db);
    CHECK_INT(system(cmd), 0);

    settle(&rn, &a, &m, 0, 0, &mo, "transfer failed", NULL);
    CHECK(rn.lost);
    CHECK_INT(power_of(app->inv), POWER_PAUSED); /* not resumed */
    CHECK_INT(store_migration_get(app->store, id, &a, &cur, &e), 1);
    CHECK_STR(cur.status, "running");

    /* the same with the claim held: resumed and failed */
    CHECK_INT(store_migration_get(app->store, id, &a, &m, &e), 1);
    rn.lost = 0;
    settle(&rn, &a, &m, 0, 0, &mo, "transfer failed", NULL);
    CHECK(!rn.lost);
    CHECK_INT(power_of(app->inv), POWER_RUNNING);
    CHECK_INT(store_migration_get(app->store, id, &a, &cur, &e), 1);
    CHECK_STR(cur.status, "failed");
    ferr_clear(&e);
    arena_free(&a);
}

/* A job sample's counts into the record: the rate is the sample's memory
 * and disk rates (an unknown one counts 0); a completed job's average
 * rate is not taken; disk counts are kept against a sample without. */
static void test_stats_into(void)
{
    struct migration m;
    struct vjob j;

    memset(&m, 0, sizeof(m));
    m.disk_total = MIG_NULL_INT;
    memset(&j, 0, sizeof(j));
    j.type = VJOB_UNBOUNDED;
    j.mem_total = 100;
    j.mem_processed = 40;
    j.mem_remaining = 60;
    j.disk_total = 50;
    j.disk_processed = 10;
    j.disk_remaining = 40;
    j.mem_bps = 1000;
    j.disk_bps = 24;
    runner_stats_into(&m, &j);
    CHECK_INT(m.transfer_bps, 1024);
    CHECK_INT(m.memory_remaining, 60);
    CHECK_INT(m.disk_total, 50);
    j.disk_bps = -1; /* libvirt left it out */
    runner_stats_into(&m, &j);
    CHECK_INT(m.transfer_bps, 1000);
    j.type = VJOB_COMPLETED;
    j.mem_bps = 7;
    j.disk_total = j.disk_processed = j.disk_remaining = -1;
    runner_stats_into(&m, &j);
    CHECK_INT(m.transfer_bps, 1000);
    CHECK_INT(m.disk_total, 50);
}

int main(void)
{
    char dir[] = "/tmp/ferry-test-runner-XXXXXX", path[256];
    struct conf_host hosts[] = {
        { "a", "test:///default", NULL, 1 },
        { "b", "test:///default", NULL, 1 },
    };
    struct conf conf;
    struct app app;
    struct ferr e = { 0 };

    CHECK(mkdtemp(dir) != NULL);
    snprintf(path, sizeof(path), "%s/ferry.db", dir);
    memset(&conf, 0, sizeof(conf));
    memset(&app, 0, sizeof(app));
    conf.hosts = hosts;
    conf.nhosts = ARRAY_LEN(hosts);
    app.conf = &conf;
    CHECK_INT(store_open(path, &app.store, &e), 0);
    CHECK_INT(inventory_open(&conf, &app.inv, &e), 0);

    test_stats_into();
    test_settle_lost_claim(&app, path);

    inventory_close(app.inv);
    store_close(app.store);
    unlink(path);
    rmdir(dir);
    return unit_done("test_runner");
}
