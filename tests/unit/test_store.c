/* test_store.c: migration records, the one-in-progress-per-instance rule
 * (also across processes), status changes and the host index. */
#include <signal.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#include "unit.h"
#include "ferry/drain.h"
#include "ferry/store.h"

static void fill(struct migration *m, const char *inst)
{
    memset(m, 0, sizeof(*m));
    snprintf(m->instance_uuid, sizeof(m->instance_uuid), "%s", inst);
    m->migration_type = "live-migration";
    m->status = "accepted";
    m->source_compute = "a";
    m->old_instance_type_id = MIG_NULL_INT;
    m->new_instance_type_id = MIG_NULL_INT;
    m->user_id = "u";
    m->project_id = "p";
    m->block_migration = -1;
    m->mv_minor = 25;
}

/* A store that cannot grow (a full disk; here a file size limit) fails
 * a write with -FE_UNAVAILABLE, the API's 503, never FE_INTERNAL's 500
 * (issue 16, item 3).  In a child: the limit is the process's. */
static void full_disk(const char *dir)
{
    char path[256];
    pid_t pid;
    int status;

    snprintf(path, sizeof(path), "%s/full.db", dir);
    pid = fork();
    if (pid == 0) {
        struct rlimit rl = { 256 * 1024, 256 * 1024 };
        struct store *s;
        struct ferr e = { 0 };
        struct migration m;
        char inst[48];
        int i, rc = 0;

        signal(SIGXFSZ, SIG_IGN);
        if (store_open(path, &s, &e) < 0 || setrlimit(RLIMIT_FSIZE, &rl)) {
            _exit(3);
        }
        for (i = 0; i < 100000 && rc == 0; i++) {
            snprintf(inst, sizeof(inst), "%08d-2222-4333-8444-555555555555",
                     i % 100000000);
            fill(&m, inst);
            m.requested_host = "a-long-enough-host-name-to-fill-pages-fast";
            rc = store_migration_create(s, &m, &e);
        }
        _exit(rc == -FE_UNAVAILABLE && strstr(ferr_msg(&e), "unavailable") ? 0
                                                                           : 1);
    }
    CHECK(pid > 0);
    CHECK(waitpid(pid, &status, 0) == pid);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static int always_alive(int64_t pid)
{
    return pid > 0;
}

static int never_alive(int64_t pid)
{
    return 0;
}

/* A pid is asked only on its own node: on node n2 the pid of n1's silent
 * runner names some other process, and the record is taken over on its
 * heartbeat alone (issue 13).  A runner of no node is this node's (a
 * store written before runners had one). */
static void stale_across_nodes(struct store *s, struct arena *a)
{
    const char *inst = "77777777-2222-4333-8444-666666666666";
    struct migration m, r;
    struct ferr e = { 0 };
    int64_t run1, run2, run3;

    CHECK_INT(store_runner_register(s, "n1", &run1, &e), 0);
    CHECK_INT(store_runner_register(s, "n2", &run2, &e), 0);
    CHECK_INT(store_runner_register(s, NULL, &run3, &e), 0);
    fill(&m, inst);
    m.status = "queued";
    m.source_compute = "a";
    m.dest_compute = "b";
    m.claimed_by = MIG_NULL_INT;
    CHECK_INT(store_migration_create(s, &m, &e), 0);
    CHECK_INT(store_migration_claim(s, run1, 1, a, &r, &e), 1);
    r.status = "running";
    CHECK_INT(store_migration_save(s, &r, &e), 0);
    CHECK_INT(store_migration_claim_stale(s, run1, "n1", -1, 1, always_alive, a,
                                          &r, &e),
              0);
    /* not while n2's own heartbeats are not sure (the store was away) */
    CHECK_INT(store_migration_claim_stale(s, run2, "n2", -1, 0, always_alive, a,
                                          &r, &e),
              0);
    CHECK_INT(store_migration_claim_stale(s, run2, "n2", -1, 1, always_alive, a,
                                          &r, &e),
              1);
    CHECK_INT(r.claimed_by, run2);
    /* held by run2 of n2: n2 asks its pid, n1 does not */
    CHECK_INT(store_migration_claim_stale(s, run3, "n2", -1, 1, always_alive, a,
                                          &r, &e),
              0);
    CHECK_INT(store_migration_claim_stale(s, run3, "n1", -1, 1, always_alive, a,
                                          &r, &e),
              1);
    CHECK_INT(r.claimed_by, run3);
    /* run3 registered without a node: every node asks its pid */
    CHECK_INT(store_migration_claim_stale(s, run1, "n1", -1, 1, always_alive, a,
                                          &r, &e),
              0);
    CHECK_INT(store_migration_claim_stale(s, run2, "n2", -1, 1, always_alive, a,
                                          &r, &e),
              0);
    r.status = "completed";
    r.finished_at = time_now_us();
    CHECK_INT(store_migration_save(s, &r, &e), 0);
}

/* An idle runner's look (a claim with nothing to claim) takes no write
 * lock: a writer holding the store does not make it wait or fail. */
static void idle_claim_takes_no_lock(const char *path, struct store *s,
                                     struct arena *a)
{
    struct store *w;
    struct migration m;
    struct ferr e = { 0 };
    int64_t run;

    CHECK_INT(store_runner_register(s, "n1", &run, &e), 0);
    CHECK_INT(store_migration_claim(s, run, 1, a, &m, &e), 0);
    CHECK_INT(store_open(path, &w, &e), 0);
    if (w == NULL) {
        return;
    }
    CHECK_INT(store_begin(w, &e), 0); /* the write lock, held */
    store_set_timeout(s, 0);
    CHECK_INT(store_migration_claim(s, run, 1, a, &m, &e), 0);
    CHECK_INT(e.code, 0);
    ferr_clear(&e);
    store_rollback(w);
    store_close(w);
    store_set_timeout(s, 10000); /* store_open's */
    store_runner_unregister(s, run);
}

/* Every claim bumps the record's claim generation; a save under an older
 * one (a runner that was frozen while another took the record over) is
 * refused, and an ended record is never overwritten (issue 16, item 2). */
static void fencing(struct store *s, struct arena *a)
{
    const char *inst = "77777777-2222-4333-8444-555555555555";
    struct migration m, r1, r2, got, old;
    struct ferr e = { 0 };
    int64_t run1, run2;

    CHECK_INT(store_runner_register(s, "n1", &run1, &e), 0);
    CHECK_INT(store_runner_register(s, "n1", &run2, &e), 0);
    fill(&m, inst);
    m.status = "queued";
    m.source_compute = "a";
    m.dest_compute = "b";
    m.claimed_by = MIG_NULL_INT;
    CHECK_INT(store_migration_create(s, &m, &e), 0);
    CHECK_INT(store_migration_claim(s, run1, 1, a, &r1, &e), 1);
    CHECK_INT(r1.id, m.id);
    CHECK_INT(r1.claimed_by, run1);
    CHECK_INT(r1.claim_gen, 1);
    r1.status = "running";
    r1.memory_total = 100;
    CHECK(r1.convergence == NULL);
    r1.convergence = "post-copy (predicted)";
    CHECK_INT(store_migration_save(s, &r1, &e), 0);
    old = r1;

    /* runner 1 goes silent: runner 2 takes the record over */
    CHECK_INT(store_migration_claim_stale(s, run2, "n1", 10000000, 1, NULL, a,
                                          &r2, &e),
              0);
    /* a holder that is alive, though silent, is not taken over */
    CHECK_INT(store_migration_claim_stale(s, run2, "n1", -1, 1, always_alive, a,
                                          &r2, &e),
              0);
    CHECK_INT(store_migration_claim_stale(s, run2, "n1", -1, 1, never_alive, a,
                                          &r2, &e),
              1);
    CHECK_INT(r2.id, m.id);
    CHECK_INT(r2.claimed_by, run2);
    CHECK_INT(r2.claim_gen, 2);
    CHECK_STR(r2.convergence, "post-copy (predicted)"); /* saved, read */
    r2.status = "completed";
    r2.memory_processed = 100;
    r2.finished_at = time_now_us();
    CHECK_INT(store_migration_save(s, &r2, &e), 0);

    /* runner 1 wakes up: its save, an error over the completed record,
     * is refused and changes nothing */
    old.status = "error";
    old.error_reason = "late";
    old.memory_processed = 1;
    CHECK_INT(store_migration_save(s, &old, &e), -FE_CONFLICT);
    CHECK(strstr(ferr_msg(&e), "taken over") != NULL);
    ferr_clear(&e);
    CHECK_INT(store_migration_get(s, m.id, a, &got, &e), 1);
    CHECK_STR(got.status, "completed");
    CHECK(got.error_reason == NULL);
    CHECK_INT(got.memory_processed, 100);
    CHECK_INT(got.claimed_by, run2);

    /* the holder itself cannot reopen an ended record either */
    r2.status = "running";
    CHECK_INT(store_migration_save(s, &r2, &e), -FE_CONFLICT);
    ferr_clear(&e);
    CHECK_INT(store_migration_set_status(s, m.id, "error", "x", &e), 0);
    CHECK_INT(store_migration_get(s, m.id, a, &got, &e), 1);
    CHECK_STR(got.status, "completed");
    CHECK(mig_status_ended("completed") && mig_status_ended("reverted"));
    CHECK(!mig_status_ended("running") && !mig_status_ended("finished"));
    store_runner_unregister(s, run1);
    store_runner_unregister(s, run2);
}

/* Instance actions (issue 8): an action written with its record in one
 * transaction or not at all, events started and ended as Nova's
 * action_event_start / action_event_finish do, newest first. */
static void actions(struct store *s, struct arena *a)
{
    const char *inst = "66666666-2222-4333-8444-555555555555";
    const char *rid = "req-11111111-2222-4333-8444-555555555555";
    char latest[64];
    struct migration m, got;
    struct iaction act, *list;
    struct ievent *ev;
    struct ferr e = { 0 };
    size_t n;

    memset(&act, 0, sizeof(act));
    act.action = "live-migration";
    snprintf(act.instance_uuid, sizeof(act.instance_uuid), "%s", inst);
    act.request_id = rid;
    act.user_id = "u";
    act.project_id = "p";

    /* rolled back: neither the record nor the action */
    fill(&m, inst);
    m.request_id = rid;
    CHECK_INT(store_begin(s, &e), 0);
    CHECK_INT(store_migration_create(s, &m, &e), 0);
    CHECK_INT(store_action_start(s, &act, &e), 0);
    store_rollback(s);
    CHECK_INT(store_migration_active(s, inst, a, &got, &e), 0);
    CHECK_INT(store_actions_of(s, inst, a, &list, &n, &e), 0);
    CHECK_INT((int) n, 0);

    /* committed: both, and the record has the request id */
    CHECK_INT(store_begin(s, &e), 0);
    CHECK_INT(store_migration_create(s, &m, &e), 0);
    CHECK_INT(store_action_start(s, &act, &e), 0);
    CHECK_INT(store_commit(s, &e), 0);
    CHECK_INT(store_migration_get(s, m.id, a, &got, &e), 1);
    CHECK_STR(got.request_id, rid);

    /* events: unknown action -> not found; start, end, error */
    CHECK_INT(store_event_start(s, inst, "req-x", "ev", "h", &e), -FE_NOTFOUND);
    CHECK_STR(ferr_msg(&e),
              "Action for request_id req-x on instance "
              "66666666-2222-4333-8444-555555555555 not found");
    ferr_clear(&e);
    CHECK_INT(store_event_start(s, inst, rid, "one", "ha", &e), 0);
    CHECK_INT(store_event_finish(s, inst, rid, "one", 1, "no", &e), 0);
    CHECK_INT(store_event_start(s, inst, rid, "two", "hb", &e), 0);
    CHECK_INT(store_event_start(s, inst, rid, "three", NULL, &e), 0);
    CHECK_INT(store_actions_of(s, inst, a, &list, &n, &e), 0);
    CHECK_INT((int) n, 1);
    CHECK(list[0].message == NULL);
    /* every running event ends with the error */
    CHECK_INT(store_event_finish(s, inst, rid, NULL, 0, "why", &e), 0);
    CHECK_INT(store_actions_of(s, inst, a, &list, &n, &e), 0);
    CHECK_STR(list[0].message, "Error");
    CHECK_INT(store_action_events(s, list[0].id, a, &ev, &n, &e), 0);
    CHECK_INT((int) n, 3);
    CHECK_STR(ev[0].event, "three");
    CHECK_STR(ev[0].result, "Error");
    CHECK_STR(ev[0].details, "why");
    CHECK(ev[0].host == NULL);
    CHECK_STR(ev[1].event, "two");
    CHECK_STR(ev[1].host, "hb");
    CHECK_STR(ev[2].event, "one");
    CHECK_STR(ev[2].result, "Success");
    CHECK(ev[2].details == NULL); /* no details on success */
    CHECK(ev[2].finish_time >= ev[2].start_time);
    CHECK(list[0].updated_at == ev[0].finish_time);

    /* a second action: newest first, latest by name */
    act.action = "live_migration_cancel";
    act.request_id = "req-22222222-2222-4333-8444-555555555555";
    CHECK_INT(store_action_start(s, &act, &e), 0);
    CHECK_INT(store_actions_of(s, inst, a, &list, &n, &e), 0);
    CHECK_INT((int) n, 2);
    CHECK_STR(list[0].action, "live_migration_cancel");
    CHECK_INT(store_action_latest(s, inst, "live-migration", latest,
                                  sizeof(latest), &e),
              1);
    CHECK_STR(latest, rid);
    CHECK_INT(
        store_action_latest(s, inst, "migrate", latest, sizeof(latest), &e), 0);
    CHECK_INT(store_migration_set_request(s, m.id, act.request_id, &e), 0);
    CHECK_INT(store_migration_get(s, m.id, a, &got, &e), 1);
    CHECK_STR(got.request_id, act.request_id);
    CHECK_INT(store_migration_set_status(s, m.id, "completed", NULL, &e), 0);
}

/* A store written before instance actions gets their tables and the
 * request_id column on open. */
static void upgrade(const char *dir, struct arena *a)
{
    char path[256], cmd[2048];
    struct store *s;
    struct ferr e = { 0 };
    struct iaction *list;
    size_t n;

    if (system("command -v sqlite3 >/dev/null") != 0) {
        return;
    }
    snprintf(path, sizeof(path), "%s/old.db", dir);
    snprintf(cmd, sizeof(cmd),
             "sqlite3 '%s' 'CREATE TABLE migrations ("
             "id INTEGER PRIMARY KEY AUTOINCREMENT, uuid TEXT NOT NULL UNIQUE,"
             " instance_uuid TEXT NOT NULL, migration_type TEXT NOT NULL,"
             " status TEXT NOT NULL, source_compute TEXT, source_node TEXT,"
             " dest_compute TEXT, dest_node TEXT, dest_host TEXT,"
             " old_instance_type_id INTEGER, new_instance_type_id INTEGER,"
             " memory_total INTEGER, memory_processed INTEGER,"
             " memory_remaining INTEGER, disk_total INTEGER,"
             " disk_processed INTEGER, disk_remaining INTEGER, user_id TEXT,"
             " project_id TEXT, hidden INTEGER NOT NULL DEFAULT 0,"
             " deleted INTEGER NOT NULL DEFAULT 0,"
             " created_at INTEGER NOT NULL, updated_at INTEGER, "
             "block_migration INTEGER,"
             " disk_over_commit INTEGER, force INTEGER, mv_minor INTEGER,"
             " requested_host TEXT, error_reason TEXT, claimed_by INTEGER,"
             " total_time_ms INTEGER, downtime_ms INTEGER,"
             " finished_at INTEGER)'",
             path);
    CHECK_INT(system(cmd), 0);
    CHECK_INT(store_open(path, &s, &e), 0);
    CHECK_INT(store_actions_of(s, "x", a, &list, &n, &e), 0);
    CHECK_INT((int) n, 0);
    {
        struct migration m, got;

        fill(&m, "55555555-2222-4333-8444-555555555555");
        m.request_id = "req-33333333-2222-4333-8444-555555555555";
        CHECK_INT(store_migration_create(s, &m, &e), 0);
        CHECK_INT(store_migration_get(s, m.id, a, &got, &e), 1);
        CHECK_STR(got.request_id, m.request_id);
    }
    store_close(s);
}

/* A fault is recorded only under the claim its record is held with and
 * before the record ends (a runner that lost its claim, or writes after
 * the end, records nothing); the latest one wins. */
static void faults(struct store *s, struct arena *a)
{
    const char *inst = "88888888-2222-4333-8444-555555555555";
    struct migration m, r1, r2;
    struct instance_fault f, got;
    struct ferr e = { 0 };
    int64_t run1, run2;

    CHECK_INT(store_runner_register(s, "n1", &run1, &e), 0);
    CHECK_INT(store_runner_register(s, "n1", &run2, &e), 0);
    CHECK_INT(store_fault_get(s, inst, a, &got, &e), 0);
    fill(&m, inst);
    m.migration_type = "migration";
    m.status = "pre-migrating";
    m.claimed_by = MIG_NULL_INT;
    CHECK_INT(store_migration_create(s, &m, &e), 0);
    CHECK_INT(store_migration_claim(s, run1, 1, a, &r1, &e), 1);
    memset(&f, 0, sizeof(f));
    f.code = FE_BADREQ;
    f.message = "refused";
    CHECK_INT(store_fault_save(s, &r1, &f, &e), 0);
    CHECK_INT(store_fault_get(s, inst, a, &got, &e), 1);
    CHECK_INT(got.code, FE_BADREQ);
    CHECK_STR(got.message, "refused");
    CHECK_INT(got.vm_error, 0);
    CHECK(got.created_at > 0);

    /* taken over: the old holder's fault is refused */
    CHECK_INT(store_migration_claim_stale(s, run2, "n1", -1, 1, never_alive, a,
                                          &r2, &e),
              1);
    f.code = FE_INTERNAL;
    f.message = "late";
    f.vm_error = 1;
    CHECK_INT(store_fault_save(s, &r1, &f, &e), -FE_CONFLICT);
    ferr_clear(&e);
    CHECK_INT(store_fault_get(s, inst, a, &got, &e), 1);
    CHECK_STR(got.message, "refused");
    /* the holder's replaces it, until the record ends */
    f.message = "copy failed";
    CHECK_INT(store_fault_save(s, &r2, &f, &e), 0);
    r2.status = "error";
    CHECK_INT(store_migration_save(s, &r2, &e), 0);
    f.message = "after the end";
    CHECK_INT(store_fault_save(s, &r2, &f, &e), -FE_CONFLICT);
    ferr_clear(&e);
    CHECK_INT(store_fault_get(s, inst, a, &got, &e), 1);
    CHECK_STR(got.message, "copy failed");
    CHECK_INT(got.code, FE_INTERNAL);
    CHECK_INT(got.vm_error, 1);
    store_runner_unregister(s, run1);
    store_runner_unregister(s, run2);
}

/* Drains: one open drain per host, the host disabled with it and kept
 * disabled until enabled (never while a drain of it runs), a dry run
 * disables nothing, cancel and the status moves are compare-and-set,
 * one runner holds a drain's lease at a time. */
static void drains(struct store *s, struct arena *a)
{
    static const char *targets[] = { "b", "c" };
    struct drain d, d2, got, *list;
    struct drain_server ds, *rows;
    struct ferr e = { 0 };
    int64_t r1, r2, counts[DR__COUNT], srv[DS__COUNT];
    size_t n;

    memset(&d, 0, sizeof(d));
    d.host = "a";
    d.targets = targets;
    d.ntargets = 2;
    d.max_parallel = 2;
    d.block_migration = -1;
    d.shut_off = DSO_LEAVE;
    CHECK_INT(store_drain_create(s, &d, &e), 0);
    CHECK(d.id > 0 && uuid_valid(d.uuid));
    CHECK_INT(store_host_is_disabled(s, "a"), 1);
    CHECK_INT(store_drain_get(s, d.id, a, &got, &e), 1);
    CHECK_STR(got.host, "a");
    CHECK_INT(got.status, DR_PLANNING);
    CHECK_INT((int) got.ntargets, 2);
    CHECK_STR(got.targets[1], "c");
    CHECK_INT(got.block_migration, -1);
    CHECK_INT(got.shut_off, DSO_LEAVE);

    d2 = d;
    d2.targets = NULL;
    d2.ntargets = 0;
    CHECK_INT(store_drain_create(s, &d2, &e), -FE_CONFLICT);
    ferr_clear(&e);
    d2.dry_run = 1; /* a plan of a host being drained: allowed */
    CHECK_INT(store_drain_create(s, &d2, &e), 0);
    CHECK_INT(store_drain_get(s, d2.id, a, &got, &e), 1);
    CHECK(got.targets == NULL);

    /* the lease: one live runner at a time */
    CHECK_INT(store_runner_register(s, "n1", &r1, &e), 0);
    CHECK_INT(store_runner_register(s, "n1", &r2, &e), 0);
    CHECK_INT(store_drain_lease(s, d.id, r1, 10000000, &e), 1);
    CHECK_INT(store_drain_lease(s, d.id, r2, 10000000, &e), 0);
    CHECK_INT(store_drain_lease(s, d.id, r2, -1000000, &e), 1); /* stale */
    store_drain_release(s, d.id, r1); /* not r1's any more: kept */
    CHECK_INT(store_drain_lease(s, d.id, r1, 10000000, &e), 0);
    store_drain_release(s, d.id, r2);
    CHECK_INT(store_drain_lease(s, d.id, r1, 10000000, &e), 1);

    memset(&ds, 0, sizeof(ds));
    snprintf(ds.uuid, sizeof(ds.uuid), "%s",
             "11111111-2222-4333-8444-000000000001");
    ds.state = DS_WAITING;
    ds.planned_host = "b";
    ds.reasons = "x: one\ny: two";
    CHECK_INT(store_drain_server_put(s, d.id, &ds, &e), 0);
    ds.state = DS_MIGRATING;
    ds.migration_id = 7;
    CHECK_INT(store_drain_server_put(s, d.id, &ds, &e), 0); /* replaced */
    CHECK_INT(store_drain_servers(s, d.id, a, &rows, &n, &e), 0);
    CHECK_INT((int) n, 1);
    CHECK_INT(rows[0].state, DS_MIGRATING);
    CHECK_INT(rows[0].migration_id, 7);
    CHECK_STR(rows[0].reasons, "x: one\ny: two");

    CHECK_INT(store_drain_move(s, d.id, DR_PLANNING, DR_RUNNING, NULL, &e), 1);
    CHECK_INT(store_drain_counts(s, counts, srv, &e), 0);
    CHECK_INT(counts[DR_RUNNING], 1);
    CHECK_INT(counts[DR_PLANNING], 1);
    CHECK_INT(srv[DS_MIGRATING], 1);
    CHECK_INT(store_drain_cancel(s, d.id, &e), 1);
    CHECK_INT(store_drain_cancel(s, d.id, &e), 0);
    /* a cancel came first: the runner's move does not overwrite it */
    CHECK_INT(store_drain_move(s, d.id, DR_RUNNING, DR_COMPLETED, NULL, &e), 0);
    CHECK_INT(store_host_enable(s, "a", &e), 0); /* still open */
    CHECK_INT(store_host_is_disabled(s, "a"), 1);
    CHECK_INT(store_drain_move(s, d.id, DR_CANCELLING, DR_CANCELLED, "why", &e),
              1);
    CHECK_INT(store_drain_get(s, d.id, a, &got, &e), 1);
    CHECK_INT(got.status, DR_CANCELLED);
    CHECK(got.finished_at > 0);
    CHECK_STR(got.error, "why");
    CHECK_INT(store_host_is_disabled(s, "a"), 1); /* until enabled */
    CHECK_INT(store_host_enable(s, "a", &e), 1);
    CHECK_INT(store_host_is_disabled(s, "a"), 0);
    CHECK_INT(store_host_enable(s, "a", &e), 0);
    CHECK_INT(store_drains_list(s, a, &list, &n, &e), 0);
    CHECK_INT((int) n, 2);
    CHECK_INT(list[0].id, d2.id); /* newest first */
}

int main(void)
{
    char dir[] = "/tmp/ferry-test-store-XXXXXX", path[256], host[64];
    const char *inst = "11111111-2222-4333-8444-555555555555";
    struct store *s = NULL;
    struct ferr e = { 0 };
    struct migration m, got;
    struct arena a;
    int i, wins = 0, status;

    if (mkdtemp(dir) == NULL) {
        return 1;
    }
    snprintf(path, sizeof(path), "%s/ferry.db", dir);
    arena_init(&a, 4096);
    CHECK_INT(store_open(path, &s, &e), 0);

    fill(&m, inst);
    CHECK_INT(store_migration_create(s, &m, &e), 0);
    CHECK(m.id > 0);
    CHECK(uuid_valid(m.uuid));
    CHECK_INT(store_migration_active(s, inst, &a, &got, &e), 1);
    CHECK_INT(got.id, m.id);
    CHECK_STR(got.status, "accepted");
    CHECK_INT(got.block_migration, -1);
    CHECK(got.dest_compute == NULL);
    CHECK_INT(got.memory_total, MIG_NULL_INT);

    fill(&m, inst);
    CHECK_INT(store_migration_create(s, &m, &e), -FE_CONFLICT);
    ferr_clear(&e);

    /* a terminal status releases the instance */
    CHECK_INT(store_migration_set_status(s, got.id, "error", "no host", &e), 0);
    CHECK_INT(store_migration_active(s, inst, &a, &got, &e), 0);
    fill(&m, inst);
    CHECK_INT(store_migration_create(s, &m, &e), 0);
    CHECK(mig_status_in_progress("running (post-copy)"));
    CHECK(!mig_status_in_progress("completed"));
    CHECK_INT(store_migration_set_status(s, m.id, "completed", NULL, &e), 0);

    fencing(s, &a);
    stale_across_nodes(s, &a);
    idle_claim_takes_no_lock(path, s, &a);
    full_disk(dir);
    actions(s, &a);
    upgrade(dir, &a);

    faults(s, &a);
    drains(s, &a);

    /* eight processes race for one instance: exactly one wins */
    for (i = 0; i < 8; i++) {
        if (fork() == 0) {
            struct store *s2;
            struct ferr e2 = { 0 };
            struct migration m2;

            if (store_open(path, &s2, &e2) < 0) {
                _exit(2);
            }
            fill(&m2, "99999999-2222-4333-8444-555555555555");
            _exit(store_migration_create(s2, &m2, &e2) == 0 ? 0 : 1);
        }
    }
    for (i = 0; i < 8; i++) {
        wait(&status);
        wins += WIFEXITED(status) && WEXITSTATUS(status) == 0;
    }
    CHECK_INT(wins, 1);

    CHECK_INT(store_host_get(s, inst, host, sizeof(host)), 0);
    CHECK_INT(store_host_set(s, inst, "a"), 0);
    CHECK_INT(store_host_get(s, inst, host, sizeof(host)), 1);
    CHECK_STR(host, "a");
    CHECK_INT(store_host_set(s, inst, "b"), 0);
    store_host_get(s, inst, host, sizeof(host));
    CHECK_STR(host, "b");

    store_close(s);
    arena_free(&a);
    snprintf(path, sizeof(path), "rm -rf '%s'", dir);
    CHECK_INT(system(path), 0);
    return unit_done("test_store");
}
