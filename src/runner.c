/*
 * runner.c: a migration runner process, its loop and its claim.  Claims
 * records from the store, hands each to the file that carries it out and
 * owns the record while it holds it:
 *
 *   accepted -> queued -> preparing -> running [-> running (post-copy)]
 *            -> completed | failed | cancelled        (error: before the
 *   transfer, or when the guest is found on neither host)
 *
 * accepted: the prechecks of spec §8 run, the record becomes queued and is
 * released (live.c).  queued: claimed only while its source has fewer
 * outgoing and its destination fewer incoming migrations in flight than
 * max_concurrent_live_migrations (the store decides, oldest first), then
 * transferred under the monitor (live.c, monitor.c) and settled with
 * libvirt (settle.c).  Cold migrations: cold.c.
 *
 * An idle runner waits on the wake eventfd (runner_wake_open) and looks
 * again every CLAIM_POLL_MS in any case.
 *
 * Runners register in the store with a heartbeat.  A record in progress
 * whose runner stopped beating (killed, or all of ferryd) is claimed by a
 * live runner and reconciled with libvirt (reconcile.c).  Every write to
 * a record goes through runner_save / runner_finish, which fence it with
 * the claim: a runner that lost its claim lets go.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include "ferry/drain.h"
#include "ferry/iaction.h"
#include "ferry/inventory.h"
#include "ferry/log.h"
#include "ferry/runner.h"
#include "ferry/runner_int.h"

#define HEARTBEAT_US 2000000
#define STALE_US 10000000 /* no heartbeat for 10 s: gone */
#define CLAIM_POLL_MS 200 /* an idle runner looks this often anyway */

static int wake_efd = -1; /* runner_wake_open's eventfd, shared by fork */

int runner_wake_open(struct ferr *err)
{
    if (wake_efd < 0) {
        wake_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    }
    if (wake_efd < 0) {
        return ferr_set(err, FE_INTERNAL, "eventfd: %s", strerror(errno));
    }
    return 0;
}

void runner_wake(void)
{
    uint64_t one = 1;

    /* a full counter (EAGAIN) is a wake-up already pending */
    if (wake_efd >= 0 && write(wake_efd, &one, sizeof(one)) < 0) {
        return;
    }
}

/* Clears the pending wake-ups before a look at the store: a record made
 * after the read wakes the next wait, one made before is seen by the
 * look.  Several idle runners may all wake; one claims, the others find
 * nothing and wait again. */
static void wake_clear(void)
{
    uint64_t n;

    if (wake_efd >= 0 && read(wake_efd, &n, sizeof(n)) < 0) {
        return; /* EAGAIN: none pending */
    }
}

/* Waits for a wake-up, a signal (wake_fd, the process's own pipe) or
 * CLAIM_POLL_MS. */
static void wait_work(int wake_fd)
{
    struct pollfd pfd[2] = { { wake_fd, POLLIN, 0 }, { wake_efd, POLLIN, 0 } };

    poll(pfd, wake_efd >= 0 ? 2 : 1, CLAIM_POLL_MS);
}

/* The heartbeat has a thread and a store handle of its own, so a runner
 * blocked in a long libvirt call (a host that does not answer) is still
 * seen alive, and only a dead or frozen process loses its records. */
struct heart {
    struct store *store;
    int64_t id;
    int64_t since; /* (atomic) µs: heartbeats written without a miss since
                    * then; 0 the last one failed */
};

static void *heart_main(void *arg)
{
    struct heart *h = arg;
    int64_t since;

    for (;;) {
        since = __atomic_load_n(&h->since, __ATOMIC_RELAXED);
        if (store_runner_heartbeat(h->store, h->id) < 0) {
            since = 0;
        } else if (since == 0) {
            since = time_now_us();
        }
        __atomic_store_n(&h->since, since, __ATOMIC_RELAXED);
        usleep(HEARTBEAT_US);
    }
    return NULL;
}

/* Whether another node's silent runner may be judged gone: only when this
 * runner's own heartbeats have gone through for the stale limit.  After
 * the store was away from every node, every heartbeat is old, and the
 * live holder has written its own again by then. */
static int beats_sure(struct heart *h)
{
    int64_t since = __atomic_load_n(&h->since, __ATOMIC_RELAXED);

    return since != 0 && time_now_us() - since >= STALE_US;
}

/* Saves m under its claim.  -1 when the claim is lost: another runner
 * took the record over (this one was frozen or slow past the stale
 * limit) or it has ended; from then on this runner touches neither the
 * record nor the guest (rn->lost), the new holder decides. */
static int save_once(struct runner *rn, struct migration *m, int *code)
{
    struct ferr err = { 0 };
    int rc = 0;

    *code = 0;
    if (rn->lost) {
        return -1;
    }
    if (store_migration_save(rn->app->store, m, &err) < 0) {
        *code = err.code;
        if (err.code == FE_CONFLICT) {
            rn->lost = 1;
            rc = -1;
            log_error("migration %lld of %s: %s; this runner lets go of it",
                      (long long) m->id, m->instance_uuid, ferr_msg(&err));
        } else {
            log_error("migration %lld: cannot save: %s", (long long) m->id,
                      ferr_msg(&err));
        }
    } else {
        log_migration(m); /* a line when the status changed */
    }
    ferr_clear(&err);
    return rc;
}

int runner_save(struct runner *rn, struct migration *m)
{
    int code;

    return save_once(rn, m, &code);
}

int runner_finish(struct runner *rn, struct migration *m,
                  enum mig_status status, const char *reason)
{
    int code, tries = 0;

    m->status = mig_status_name(status);
    m->error_reason = reason;
    m->finished_at = time_now_us();
    /* the end must be written: a store that is busy or full is asked
     * again each second (a live sibling is not taken over meanwhile);
     * only a stop leaves the record in progress, for reconciliation */
    while (save_once(rn, m, &code) == 0 && code != 0) {
        if (*rn->stop || code != FE_UNAVAILABLE) {
            log_error("migration %lld of %s: ended %s but could not record "
                      "it; left for reconciliation",
                      (long long) m->id, m->instance_uuid, m->status);
            return -1;
        }
        if (tries++ == 0) {
            log_error("migration %lld of %s: ended %s; the store is "
                      "unavailable, saving again each second",
                      (long long) m->id, m->instance_uuid, m->status);
        }
        usleep(1000000);
    }
    if (rn->lost) {
        return -1;
    }
    runner_wake(); /* a slot is free for a queued record */
    iaction_record_end(rn->app->store, m);
    log_info("migration %lld of %s: %s%s%s", (long long) m->id,
             m->instance_uuid, m->status, reason ? ": " : "",
             reason ? reason : "");
    return 0;
}

void runner_stats_into(struct migration *m, const struct vjob *j)
{
    if (j->mem_total >= 0) {
        m->memory_total = j->mem_total;
        m->memory_processed = j->mem_processed;
        m->memory_remaining = j->mem_remaining;
    }
    /* Nova saves every sample's disk counts (libvirt/migration.py
     * save_stats), 0 for a migration without disks to copy and for what
     * libvirt leaves out (guest.py JobInfo); only a sample without disk
     * counts (the destination's completed job knows nothing of the
     * mirror) does not replace counts already seen */
    if (j->disk_total > 0 || m->disk_total == MIG_NULL_INT
        || m->disk_total == 0) {
        m->disk_total = j->disk_total > 0 ? j->disk_total : 0;
        m->disk_processed = j->disk_processed > 0 ? j->disk_processed : 0;
        m->disk_remaining = j->disk_remaining > 0 ? j->disk_remaining : 0;
    }
    /* the rate of this sample; a completed job's average is not one */
    if (j->type != VJOB_COMPLETED) {
        m->transfer_bps = (j->mem_bps > 0 ? j->mem_bps : 0)
            + (j->disk_bps > 0 ? j->disk_bps : 0);
    }
}

/* Checked before every action, since a runner frozen for a while (a
 * SIGSTOP, a host under pressure) wakes up to stale decisions. */
int runner_requests(struct runner *rn, struct arena *a, struct migration *m)
{
    struct migration cur;
    struct ferr err = { 0 };

    if (rn->lost) {
        return -1;
    }
    if (store_migration_get(rn->app->store, m->id, a, &cur, &err) == 1) {
        if (cur.claim_gen != m->claim_gen || mig_status_ended(cur.status)) {
            rn->lost = 1;
            log_error("migration %lld of %s: claim %lld lost (now %lld, "
                      "%s); this runner lets go of it",
                      (long long) m->id, m->instance_uuid,
                      (long long) m->claim_gen, (long long) cur.claim_gen,
                      cur.status);
            return -1;
        }
        m->abort_requested = cur.abort_requested;
        m->force_requested = cur.force_requested;
    }
    ferr_clear(&err);
    return 0;
}

/* One claimed record, carried out by the file that owns its kind. */
static void run_claimed(struct runner *rn, struct arena *a, struct migration *m,
                        int stale)
{
    log_context(m->request_id);
    if (stale) {
        reconcile(rn, a, m);
    } else {
        log_info("migration %lld of %s: claimed (%s)", (long long) m->id,
                 m->instance_uuid, m->status);
        if (strcmp(m->migration_type, "migration") == 0) {
            cold_run(rn, a, m);
        } else if (mig_status_is(m->status, MIG_ACCEPTED)) {
            live_run_accepted(rn, a, m);
        } else {
            live_run_queued(rn, a, m);
        }
    }
    log_context(NULL);
    arena_reset(a);
}

/* Registers the runner and starts its heartbeat thread. */
static int runner_start(struct runner *rn, struct heart *heart)
{
    struct ferr err = { 0 };
    pthread_t hth;

    /* many processes starting at once (a large pool, a reload) may keep
     * the store busy past store_timeout: a busy store is waited for, not
     * a reason to die and be restarted into the same crowd */
    while (store_runner_register(rn->app->store, rn->conf->node_name, &rn->id,
                                 &err)
               < 0
           && err.code == FE_UNAVAILABLE && !*rn->stop) {
        log_info("runner: %s; registering again in 1 s", ferr_msg(&err));
        ferr_clear(&err);
        usleep(1000000);
    }
    if (err.code != 0 || store_open(rn->conf->store, &heart->store, &err) < 0) {
        log_error("runner: %s", ferr_msg(&err));
        ferr_clear(&err);
        return -1;
    }
    heart->id = rn->id;
    heart->since = 0;
    store_set_timeout(heart->store, rn->conf->store_timeout * 1000);
    if (pthread_create(&hth, NULL, heart_main, heart) != 0) {
        log_error("runner: cannot start the heartbeat thread");
        return -1;
    }
    pthread_detach(hth);
    return 0;
}

int runner_main(struct app *app, volatile sig_atomic_t *stop, int wake_fd)
{
    struct runner rn;
    struct heart heart;
    struct arena a;
    struct migration m;
    struct ferr err = { 0 };
    int rc;

    memset(&rn, 0, sizeof(rn));
    rn.app = app;
    rn.conf = inventory_conf(app->inv);
    rn.stop = stop;
    if (runner_start(&rn, &heart) < 0) {
        return -1;
    }
    arena_init(&a, 65536);
    while (!*stop) {
        wake_clear();
        drain_step(app, rn.id, stop); /* drains start records: drain.c */
        rc = store_migration_claim_stale(app->store, rn.id, rn.conf->node_name,
                                         STALE_US, beats_sure(&heart),
                                         reconcile_sibling_alive, &a, &m, &err);
        rn.lost = 0;
        if (rc == 1) {
            run_claimed(&rn, &a, &m, 1);
            continue;
        }
        if (rc == 0) {
            rc = store_migration_claim(app->store, rn.id,
                                       rn.conf->max_concurrent_live_migrations,
                                       &a, &m, &err);
        }
        if (rc < 0) {
            log_error("runner: %s", ferr_msg(&err));
            ferr_clear(&err);
        }
        if (rc == 1) {
            run_claimed(&rn, &a, &m, 0);
            continue;
        }
        wait_work(wake_fd);
    }
    store_runner_unregister(app->store, rn.id);
    arena_free(&a);
    return 0;
}
