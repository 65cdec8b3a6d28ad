/* test_status.c: the migration status and power state tables: names
 * round-trip, the predicates, and the SQL lists the store's statements
 * and its unique index are built from (which must equal the lists
 * written out before the table, so an existing store keeps its index). */
#include "unit.h"
#include "ferry/status.h"
#include "ferry/store.h"

static void names(void)
{
    static const char *const all[] = {
        "accepted", "queued", "preparing", "running", "running (post-copy)",
        "post-migrating", "pre-migrating", "migrating", "finished",
        "confirming", "reverting", "completed", "failed", "cancelled",
        "error", "confirmed", "reverted",
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
        if (mig_status_flags(s) & (MIG_F_IN_FLIGHT | MIG_F_WAITING
                                   | MIG_F_COLD_STEP)) {
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
    m.status = "running (post-copy)";   /* as Nova's list: not in it */
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
        { MIG_F_HOLDS, "'accepted', 'queued', 'preparing', 'running', "
          "'running (post-copy)', 'post-migrating', 'pre-migrating', "
          "'migrating', 'finished', 'confirming', 'reverting'" },
        { MIG_F_ENDED, "'completed', 'failed', 'cancelled', 'error', "
          "'confirmed', 'reverted'" },
        { MIG_F_IN_FLIGHT, "'queued', 'preparing', 'running', "
          "'running (post-copy)'" },
        { MIG_F_WORKED, "'accepted', 'queued', 'preparing', 'running', "
          "'running (post-copy)', 'post-migrating', 'pre-migrating', "
          "'migrating', 'confirming', 'reverting'" },
        { MIG_F_WAITING, "'accepted', 'queued'" },
        { MIG_F_COLD_STEP, "'pre-migrating', 'confirming', 'reverting'" },
        { MIG_F_LIVE_API, "'queued', 'preparing', 'running', "
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
    CHECK_INT(mig_status_sql_list(MIG_F_ENDED | MIG_F_HOLDS, buf,
                                  sizeof(buf)), -1);
}

static void power(void)
{
    CHECK(server_is_active(POWER_RUNNING) && server_is_active(POWER_PAUSED));
    CHECK(!server_is_active(POWER_NOSTATE));
    CHECK(!server_is_active(POWER_SHUTDOWN));
    CHECK(!server_is_active(POWER_CRASHED));
    CHECK(!server_is_active(POWER_SUSPENDED));
    CHECK(!server_is_active(2) && !server_is_active(-1));
    CHECK_INT(POWER_RUNNING, 1);        /* Nova's numbers, the API's */
    CHECK_INT(POWER_PAUSED, 3);
    CHECK_INT(POWER_SHUTDOWN, 4);
    CHECK_STR(power_state_name(POWER_SHUTDOWN), "shutdown");
    CHECK_STR(power_state_name(POWER_SUSPENDED), "suspended");
    CHECK_STR(power_state_name(POWER_NOSTATE), "pending");
    CHECK_STR(power_state_name(5), "pending");
}

int main(void)
{
    names();
    predicates();
    sql_lists();
    power();
    return unit_done("test_status");
}
