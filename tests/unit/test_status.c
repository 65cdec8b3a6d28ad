/* test_status.c: the migration status and power state tables: names
 * round-trip, the predicates, and the SQL lists the store's statements
 * and its unique index are built from (which must equal the lists
 * written out before the table, so an existing store keeps its index). */
#include <stdlib.h>
#include <unistd.h>
#include "unit.h"
#include "ferry/status.h"
#include "ferry/store.h"

static void names(void)
{
    static const char *const all[] = {
        "accepted",
        "queued",
        "preparing",
        "running",
        "running (post-copy)",
        "post-migrating",
        "pre-migrating",
        "migrating",
        "finished",
        "confirming",
        "reverting",
        "completed",
        "failed",
        "cancelled",
        "error",
        "confirmed",
        "reverted",
    };
    size_t i;
    int s;

    CHECK_INT(MIG_STATUS__COUNT, sizeof(all) / sizeof(all[0]));
    for (i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
        s = mig_status_of(all[i]);
        CHECK(s != MIG_UNKNOWN);
        CHECK_STR(mig_status_name(s), all[i]);
        CHECK(mig_status_is(all[i], s));
    }
    for (s = 0; s < MIG_STATUS__COUNT; s++) {
        CHECK_INT(mig_status_of(mig_status_name(s)), s);
        /* every status either ends or holds its instance, not both */
        CHECK(mig_status_has(s, MIG_F_ENDED) != mig_status_has(s, MIG_F_HOLDS));
        /* worked on implies held; in flight, waiting and cold steps are
         * worked on */
        if (mig_status_has(s, MIG_F_WORKED)) {
            CHECK(mig_status_has(s, MIG_F_HOLDS));
        }
        if (mig_status_flags(s)
            & (MIG_F_IN_FLIGHT | MIG_F_WAITING | MIG_F_COLD_STEP)) {
            CHECK(mig_status_has(s, MIG_F_WORKED));
        }
        if (mig_status_has(s, MIG_F_COLD_STEP)) {
            CHECK(mig_status_kind(s) & MIG_K_COLD);
        }
        CHECK(mig_status_kind(s) != 0);
    }
    CHECK_INT(mig_status_of("cancelling"), MIG_UNKNOWN);
    CHECK_INT(mig_status_of("Running"), MIG_UNKNOWN);
    CHECK_INT(mig_status_of(NULL), MIG_UNKNOWN);
    CHECK_STR(mig_status_name(MIG_UNKNOWN), "");
    CHECK_INT(mig_status_flags(MIG_UNKNOWN), 0);
    CHECK(!mig_status_is(NULL, MIG_QUEUED));
    CHECK(!mig_status_is("queued", MIG_UNKNOWN));
    CHECK(!mig_status_is("queued", MIG_RUNNING));
}

static void predicates(void)
{
    struct migration m;

    CHECK(mig_status_ended("completed") && mig_status_ended("cancelled"));
    CHECK(mig_status_ended("error") && mig_status_ended("confirmed"));
    CHECK(!mig_status_ended("finished") && !mig_status_ended(NULL));
    CHECK(!mig_status_ended("bogus"));
    CHECK(mig_status_in_progress("accepted"));
    CHECK(mig_status_in_progress("finished"));
    CHECK(!mig_status_in_progress("reverted"));
    CHECK(!mig_status_in_progress(NULL));

    memset(&m, 0, sizeof(m));
    m.migration_type = "live-migration";
    m.status = "post-migrating";
    CHECK(mig_live_in_progress(&m));
    m.status = "running (post-copy)"; /* as Nova's list: not in it */
    CHECK(!mig_live_in_progress(&m));
    m.status = "accepted";
    CHECK(!mig_live_in_progress(&m));
    m.migration_type = "migration";
    m.status = "running";
    CHECK(!mig_live_in_progress(&m));
}

/* The lists the store used before the table, verbatim. */
static void sql_lists(void)
{
    static const struct {
        unsigned flag;
        const char *want;
    } rows[] = {
        { MIG_F_HOLDS,
          "'accepted', 'queued', 'preparing', 'running', "
          "'running (post-copy)', 'post-migrating', 'pre-migrating', "
          "'migrating', 'finished', 'confirming', 'reverting'" },
        { MIG_F_ENDED,
          "'completed', 'failed', 'cancelled', 'error', "
          "'confirmed', 'reverted'" },
        { MIG_F_IN_FLIGHT,
          "'queued', 'preparing', 'running', "
          "'running (post-copy)'" },
        { MIG_F_WORKED,
          "'accepted', 'queued', 'preparing', 'running', "
          "'running (post-copy)', 'post-migrating', 'pre-migrating', "
          "'migrating', 'confirming', 'reverting'" },
        { MIG_F_WAITING, "'accepted', 'queued'" },
        { MIG_F_COLD_STEP, "'pre-migrating', 'confirming', 'reverting'" },
        { MIG_F_LIVE_API,
          "'queued', 'preparing', 'running', "
          "'post-migrating'" },
        { MIG_F_SUCCEEDED, "'completed', 'confirmed', 'reverted'" },
    };
    char buf[512];
    size_t i;

    for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        CHECK_INT(mig_status_sql_list(rows[i].flag, buf, sizeof(buf)),
                  strlen(rows[i].want));
        CHECK_STR(buf, rows[i].want);
    }
    /* too small a buffer, or a set with no status: -1 */
    CHECK_INT(mig_status_sql_list(MIG_F_HOLDS, buf, 20), -1);
    CHECK_INT(mig_status_sql_list(MIG_F_WAITING, buf, 0), -1);
    CHECK_INT(mig_status_sql_list(MIG_F_ENDED | MIG_F_HOLDS, buf, sizeof(buf)),
              -1);
}

static void power(void)
{
    CHECK(server_is_active(POWER_RUNNING) && server_is_active(POWER_PAUSED));
    CHECK(!server_is_active(POWER_NOSTATE));
    CHECK(!server_is_active(POWER_SHUTDOWN));
    CHECK(!server_is_active(POWER_CRASHED));
    CHECK(!server_is_active(POWER_SUSPENDED));
    CHECK(!server_is_active(2) && !server_is_active(-1));
    CHECK_INT(POWER_RUNNING, 1); /* Nova's numbers, the API's */
    CHECK_INT(POWER_PAUSED, 3);
    CHECK_INT(POWER_SHUTDOWN, 4);
    CHECK_STR(power_state_name(POWER_SHUTDOWN), "shutdown");
    CHECK_STR(power_state_name(POWER_SUSPENDED), "suspended");
    CHECK_STR(power_state_name(POWER_NOSTATE), "pending");
    CHECK_STR(power_state_name(5), "pending");
}

/* A failure passed up is never 0, even when nobody said why. */
static void fail_never_zero(void)
{
    struct ferr e = { 0 };

    CHECK_INT(ferr_fail(&e), -FE_INTERNAL);
    CHECK_INT(e.code, FE_INTERNAL);
    ferr_clear(&e);
    ferr_set(&e, FE_NOMEM, "out of memory");
    CHECK_INT(ferr_fail(&e), -FE_NOMEM);
    ferr_clear(&e);
}

/* claimed_by: nobody is NULL in the store and MIG_UNCLAIMED in memory
 * (the older MIG_NULL_INT spelling is written as nobody too); a request's
 * hold stays MIG_HELD_BY_REQUEST; an unclaimed record is claimable, a
 * held one is not. */
static void claims(void)
{
    static const struct {
        int64_t written, read;
        int claimable;
    } rows[] = {
        { MIG_UNCLAIMED, MIG_UNCLAIMED, 1 },
        { MIG_NULL_INT, MIG_UNCLAIMED, 1 },
        { MIG_HELD_BY_REQUEST, MIG_HELD_BY_REQUEST, 0 },
    };
    char dir[] = "/tmp/ferry-test-status-XXXXXX", path[256];
    struct store *s = NULL;
    struct ferr e = { 0 };
    struct migration m, got;
    struct arena a;
    int64_t runner;
    size_t i;

    if (mkdtemp(dir) == NULL) {
        CHECK(0);
        return;
    }
    snprintf(path, sizeof(path), "%s/ferry.db", dir);
    arena_init(&a, 4096);
    CHECK_INT(store_open(path, &s, &e), 0);
    CHECK_INT(store_runner_register(s, "n1", &runner, &e), 0);
    for (i = 0; s != NULL && i < sizeof(rows) / sizeof(rows[0]); i++) {
        memset(&m, 0, sizeof(m));
        snprintf(m.instance_uuid, sizeof(m.instance_uuid),
                 "11111111-2222-4333-8444-55555555555%zu", i);
        m.migration_type = "live-migration";
        m.status = mig_status_name(MIG_ACCEPTED);
        m.source_compute = "a";
        m.claimed_by = rows[i].written;
        CHECK_INT(store_migration_create(s, &m, &e), 0);
        CHECK_INT(store_migration_get(s, m.id, &a, &got, &e), 1);
        CHECK_INT(got.claimed_by, rows[i].read);
        CHECK_INT(store_migration_claim(s, runner, 1, &a, &got, &e),
                  rows[i].claimable);
        if (rows[i].claimable) {
            CHECK_INT(got.id, m.id);
            CHECK_INT(got.claimed_by, runner);
        }
    }
    store_close(s);
    arena_free(&a);
    unlink(path);
    snprintf(path, sizeof(path), "%s/ferry.db-wal", dir);
    unlink(path);
    snprintf(path, sizeof(path), "%s/ferry.db-shm", dir);
    unlink(path);
    rmdir(dir);
}

int main(void)
{
    names();
    predicates();
    sql_lists();
    power();
    fail_never_zero();
    claims();
    return unit_done("test_status");
}
