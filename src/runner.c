/*
 * runner.c: a migration runner process.  Claims records from the store,
 * carries each one out with libvirt and finishes it truthfully:
 *
 *   accepted -> queued -> preparing -> running [-> running (post-copy)]
 *            -> completed | failed | cancelled        (error: before the
 *   transfer, or when the guest is found on neither host)
 *
 * accepted: the prechecks of spec §8 run, the record becomes queued and is
 * released.  queued: claimed only while its source has fewer outgoing and
 * its destination fewer incoming migrations in flight than
 * max_concurrent_live_migrations (the store decides, oldest first).
 * running: virDomainMigrateToURI3 (peer-to-peer) runs in a thread while
 * this thread is the monitor of spec §9.3: job statistics, progress saved
 * every 0.5 s, the max-downtime steps, the completion timeout and ferry's
 * progress timeout with their action (abort or force-complete), and the
 * abort / force-complete requests of the API.  After the call returns,
 * libvirt is asked where the guest really is before the record is closed.
 *
 * Runners register in the store with a heartbeat.  A record in progress
 * whose runner stopped beating (killed, or all of ferryd) is claimed by a
 * live runner and reconciled with libvirt: a job still active on the
 * source is monitored to its end; a guest running on the destination is
 * completed; a guest back on the source with no job has failed.
 */
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "ferry/app.h"
#include "ferry/iaction.h"
#include "ferry/inventory.h"
#include "ferry/precheck.h"
#include "ferry/log.h"
#include "ferry/runner.h"
#include "ferry/store.h"
#include "ferry/virt.h"

#define BASE_FLAGS (VMIG_LIVE | VMIG_PEER2PEER | VMIG_PERSIST_DEST \
                    | VMIG_UNDEFINE_SOURCE)
#define POLL_US 250000
#define HEARTBEAT_US 2000000
#define STALE_US 10000000           /* no heartbeat for 10 s: gone */

static double max2(double x)
{
    return x > 2.0 ? x : 2.0;
}

struct runner {
    struct app *app;
    const struct conf *conf;
    int64_t id;                     /* runners row */
    volatile sig_atomic_t *stop;
    int lost;                       /* the record in hand was taken over */
};

struct transfer {
    struct vconn *src;
    const char *uuid;
    struct vmigrate vm;
    struct ferr err;
    int rc;
    int done;
};

static void *transfer_main(void *arg)
{
    struct transfer *t = arg;

    t->rc = virt_migrate(t->src, t->uuid, &t->vm, &t->err);
    __atomic_store_n(&t->done, 1, __ATOMIC_RELEASE);
    return NULL;
}

/* The heartbeat has a thread and a store handle of its own, so a runner
 * blocked in a long libvirt call (a host that does not answer) is still
 * seen alive, and only a dead or frozen process loses its records. */
struct heart {
    struct store *store;
    int64_t id;
};

static void *heart_main(void *arg)
{
    struct heart *h = arg;

    for (;;) {
        store_runner_heartbeat(h->store, h->id);
        usleep(HEARTBEAT_US);
    }
    return NULL;
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
        log_migration(m);           /* a line when the status changed */
    }
    ferr_clear(&err);
    return rc;
}

static int save(struct runner *rn, struct migration *m)
{
    int code;

    return save_once(rn, m, &code);
}

/* Ends the record with status and reason (reason may be NULL): 0 when
 * the end is recorded, -1 when not (claim lost, or left in progress). */
static int finish(struct runner *rn, struct migration *m,
                  const char *status, const char *reason)
{
    int code, tries = 0;

    m->status = status;
    m->error_reason = reason;
    m->finished_at = time_now_us();
    /* the end must be written: a store that is busy or full is asked
     * again each second (a live sibling is not taken over meanwhile);
     * only a stop leaves the record in progress, for reconciliation */
    while (save_once(rn, m, &code) == 0 && code != 0) {
        if (*rn->stop || code != FE_UNAVAILABLE) {
            log_error("migration %lld of %s: ended %s but could not record "
                      "it; left for reconciliation", (long long) m->id,
                      m->instance_uuid, status);
            return -1;
        }
        if (tries++ == 0) {
            log_error("migration %lld of %s: ended %s; the store is "
                      "unavailable, saving again each second",
                      (long long) m->id, m->instance_uuid, status);
        }
        usleep(1000000);
    }
    if (rn->lost) {
        return -1;
    }
    iaction_record_end(rn->app->store, m);
    log_info("migration %lld of %s: %s%s%s", (long long) m->id,
             m->instance_uuid, status, reason ? ": " : "",
             reason ? reason : "");
    return 0;
}

static void stats_into(struct migration *m, const struct vjob *j)
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
        || m->disk_total == 0)
    {
        m->disk_total = j->disk_total > 0 ? j->disk_total : 0;
        m->disk_processed = j->disk_processed > 0 ? j->disk_processed : 0;
        m->disk_remaining = j->disk_remaining > 0 ? j->disk_remaining : 0;
    }
}

/* The API's requests for this record, re-read from the store; -1 (and
 * rn->lost) when another runner has claimed it since, or it has ended:
 * checked before every action, since a runner frozen for a while (a
 * SIGSTOP, a host under pressure) wakes up to stale decisions. */
static int requests_of(struct runner *rn, struct arena *a,
                       struct migration *m)
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
                      "%s); this runner lets go of it", (long long) m->id,
                      m->instance_uuid, (long long) m->claim_gen,
                      (long long) cur.claim_gen, cur.status);
            return -1;
        }
        m->abort_requested = cur.abort_requested;
        m->force_requested = cur.force_requested;
    }
    ferr_clear(&err);
    return 0;
}

int runner_precheck(struct app *app, struct arena *a, struct migration *m,
                    const struct server *s, struct ferr *err)
{
    struct precheck_req rq;
    struct precheck_out out;
    /* below 2.34 the API calls the conductor's migrate_server, from 2.34
     * its live_migrate_instance (nova/conductor/api.py) */
    const char *ev = m->mv_minor < 34 ? IE_CONDUCTOR_MIGRATE_SERVER
                     : IE_CONDUCTOR_LIVE_MIGRATE;

    iaction_ev_start(app->store, m, ev, iaction_conductor_host());
    memset(&rq, 0, sizeof(rq));
    rq.uuid = m->instance_uuid;
    rq.source = s->host;
    rq.ram_mb = s->ram_mb;
    rq.host = m->requested_host;
    rq.forced = m->dest_compute != NULL;
    rq.block = m->block_migration;
    rq.disk_over_commit = m->disk_over_commit;
    rq.mv_minor = m->mv_minor;
    if (precheck_run(app->inv, a, &rq, &out, err) < 0) {
        iaction_ev_end(app->store, m, ev, 0, ferr_msg(err));
        return -err->code;
    }
    iaction_ev_end(app->store, m, ev, 1, NULL);
    m->dest_compute = out.dest;
    m->source_node = out.source_node;
    m->dest_node = out.dest_node;
    m->block_migration = out.block;
    m->status = "queued";
    return 0;
}

/* accepted: prechecks, then queued and released for a claim in order. */
static void run_accepted(struct runner *rn, struct arena *a,
                         struct migration *m)
{
    struct ferr err = { 0 };
    struct server s;
    int rc;

    rc = inventory_find(rn->app->inv, rn->app->store, m->instance_uuid, a,
                        &s, &err);
    if (rc != 1) {
        finish(rn, m, "error", rc == 0 ? "instance not found"
               : arena_strdup(a, ferr_msg(&err)));
    } else if (m->abort_requested) {
        finish(rn, m, "cancelled", NULL);
    } else if (runner_precheck(rn->app, a, m, &s, &err) < 0) {
        finish(rn, m, "error", arena_strdup(a, ferr_msg(&err)));
    } else {
        m->claimed_by = MIG_NULL_INT;
        save(rn, m);
        log_info("migration %lld of %s: queued for %s (%s)",
                 (long long) m->id, m->instance_uuid, m->dest_compute,
                 m->block_migration ? "block" : "shared storage");
    }
    ferr_clear(&err);
}

/* Nova's downtime steps (spec §9.3): step i (0..steps) starts after
 * (int) (delay x i) s with a max downtime of base + offset x i ms.  Kept
 * as the formula, not a table, so any number of steps the config accepts
 * is honoured. */
struct dsteps {
    int steps;
    double delay, base, offset;
};

static void downtime_steps(const struct conf *c, double data_gb,
                           struct dsteps *d)
{
    d->steps = c->live_migration_downtime_steps;
    d->delay = (double) (int64_t) (c->live_migration_downtime_delay
                                   * data_gb);
    d->base = (double) c->live_migration_downtime / d->steps;
    d->offset = ((double) c->live_migration_downtime - d->base) / d->steps;
}

/* The max downtime elapsed s into the transfer: the last step whose start
 * has passed (the first step at once), or -1 before the start. */
static int64_t downtime_at(const struct dsteps *d, int64_t elapsed)
{
    int i = 0;

    if (elapsed < 0) {
        return -1;
    }
    if (d->delay <= 0) {
        i = elapsed > 0 ? d->steps : 0;     /* every step starts at 0 s */
    } else {
        while (i < d->steps && elapsed > (int64_t) (d->delay * (i + 1))) {
            i++;
        }
    }
    return (int64_t) (d->base + d->offset * i);
}

struct monitor {
    int64_t start_us;
    struct dsteps steps;
    int64_t cur_downtime;
    int64_t timeout_s;              /* completion timeout, 0 = never */
    int64_t best_remaining;         /* lowest remaining seen */
    int64_t best_at_us;             /* when it was seen */
    int postcopy_allowed;
    int paused_by_us;               /* force-complete paused the guest */
    int aborted;                    /* we asked libvirt to abort */
    int forced;                     /* force-complete done */
    const char *timeout_reason;
};

/* The force-complete task (spec §9.3). */
static void force_complete(struct runner *rn, struct monitor *mo,
                           struct migration *m, struct vconn *sc)
{
    struct ferr err = { 0 };

    if (mo->forced || strcmp(m->status, "running (post-copy)") == 0) {
        return;
    }
    mo->forced = 1;
    if (mo->postcopy_allowed) {
        if (virt_start_postcopy(sc, m->instance_uuid, &err) == 0) {
            m->status = "running (post-copy)";
            save(rn, m);
            log_info("migration %lld of %s: switched to post-copy",
                     (long long) m->id, m->instance_uuid);
        } else {
            log_error("migration %lld: post-copy: %s", (long long) m->id,
                      ferr_msg(&err));
        }
    } else if (virt_suspend(sc, m->instance_uuid, &err) == 0) {
        mo->paused_by_us = 1;
        m->paused_by_migration = 1;     /* Nova: vm_state stays active */
        save(rn, m);
        log_info("migration %lld of %s: guest paused to complete",
                 (long long) m->id, m->instance_uuid);
    } else {
        log_error("migration %lld: pause: %s", (long long) m->id,
                  ferr_msg(&err));
    }
    if (m->force_requested) {
        iaction_request_event(rn->app->store, m,
                              IA_LIVE_MIGRATION_FORCE_COMPLETE,
                              IE_LIVE_MIGRATION_FORCE_COMPLETE,
                              m->source_compute, err.code == 0,
                              ferr_msg(&err));
    }
    ferr_clear(&err);
}

static void do_abort(struct runner *rn, struct monitor *mo,
                     struct migration *m, struct vconn *sc, const char *why)
{
    struct ferr err = { 0 };

    if (mo->aborted) {
        return;
    }
    mo->aborted = 1;
    mo->timeout_reason = why;
    if (virt_abort_job(sc, m->instance_uuid, &err) < 0) {
        log_error("migration %lld: abort: %s", (long long) m->id,
                  ferr_msg(&err));
    }
    if (m->abort_requested) {
        iaction_request_event(rn->app->store, m, IA_LIVE_MIGRATION_CANCEL,
                              IE_LIVE_MIGRATION_ABORT, m->source_compute,
                              err.code == 0, ferr_msg(&err));
    }
    log_info("migration %lld of %s: aborting (%s)", (long long) m->id,
             m->instance_uuid, why);
    ferr_clear(&err);
}

static void timeout_action(struct runner *rn, struct monitor *mo,
                           struct migration *m, struct vconn *sc,
                           const char *why)
{
    if (rn->conf->live_migration_timeout_action == TIMEOUT_FORCE_COMPLETE) {
        force_complete(rn, mo, m, sc);
    } else {
        do_abort(rn, mo, m, sc, why);
    }
}

/* One monitor step while the job is unbounded (spec §9.3). */
static void monitor_step(struct runner *rn, struct arena *a,
                         struct monitor *mo, struct migration *m,
                         struct vconn *sc, const struct vjob *job, int n)
{
    const struct conf *c = rn->conf;
    int64_t now = time_now_us(), elapsed = (now - mo->start_us) / 1000000;
    int64_t remaining, want;

    stats_into(m, job);
    if (requests_of(rn, a, m) < 0 || (n % 2 == 0 && save(rn, m) < 0)) {
        return;                     /* not ours any more: hands off */
    }
    if (m->abort_requested) {
        do_abort(rn, mo, m, sc, "abort requested");
        return;
    }
    if (m->force_requested) {
        force_complete(rn, mo, m, sc);
    }
    if (mo->timeout_s > 0 && elapsed > mo->timeout_s
        && strcmp(m->status, "running (post-copy)") != 0)
    {
        timeout_action(rn, mo, m, sc, "completion timeout");
    }
    remaining = job->data_remaining >= 0 ? job->data_remaining
                : job->mem_remaining;
    /* A job's first samples, before QEMU has sized the RAM, read 0 of 0
     * remaining: that is no progress mark to beat (Nova, too, starts its
     * watermark again when it reads 0). */
    if (job->mem_total > 0 && remaining >= 0
        && (mo->best_remaining <= 0 || remaining < mo->best_remaining))
    {
        mo->best_remaining = remaining;
        mo->best_at_us = now;
    }
    if (c->live_migration_progress_timeout > 0 && mo->best_at_us > 0
        && now - mo->best_at_us > (int64_t) c->live_migration_progress_timeout
                                  * 1000000
        && strcmp(m->status, "running (post-copy)") != 0)
    {
        timeout_action(rn, mo, m, sc, "progress timeout");
    }
    want = downtime_at(&mo->steps, elapsed);
    if (want >= 0 && want != mo->cur_downtime) {
        struct ferr err = { 0 };

        if (virt_set_max_downtime(sc, m->instance_uuid, want, &err) < 0) {
            log_error("migration %lld: %s", (long long) m->id,
                      ferr_msg(&err));
        }
        ferr_clear(&err);
        mo->cur_downtime = want;
    }
}

/* Asks host where the guest is: 1 defined there (*power, *c set), 0 not
 * there, -1 the host cannot be asked (down, unreachable, no such host). */
static int ask(struct runner *rn, const char *host, const char *uuid,
               int *power, struct vconn **c)
{
    struct ferr err = { 0 };
    int rc;

    *c = host ? inventory_conn(rn->app->inv, host, &err) : NULL;
    if (*c == NULL) {
        ferr_clear(&err);
        return -1;
    }
    rc = virt_domain_power(*c, uuid, power, NULL, &err);
    ferr_clear(&err);
    return rc < 0 ? -1 : rc;
}

static int active(int power)
{
    return power == 1 || power == 3;
}

/* Removes the copies of a domain's local disks on c (host): those not in
 * a directory shared with other (deleting a shared file would delete it
 * for both hosts; a failed check keeps the file). */
static void drop_local_disks(struct vconn *c, struct vconn *other,
                             struct vdisk *disks, size_t n, struct arena *a,
                             const struct migration *m, const char *host)
{
    struct ferr err = { 0 };
    size_t i;

    for (i = 0; i < n; i++) {
        char *dir = arena_strdup(a, disks[i].path), *slash;

        slash = strrchr(dir, '/');
        if (slash != NULL && slash != dir) {
            *slash = '\0';
        }
        if (virt_dir_shared(c, other, dir, &err) == 0) {
            virt_disk_delete(c, disks[i].path);
            log_info("migration %lld of %s: removing %s on %s",
                     (long long) m->id, m->instance_uuid, disks[i].path,
                     host);
        }
        ferr_clear(&err);
    }
}

/* Nova's disk cleanup of a block migration (compute/manager.py
 * _live_migration_cleanup_flags: destroy_disks when the block storage is
 * not shared): once completed, the source's copies (driver.cleanup in
 * _post_live_migration); once failed or cancelled, the destination's
 * (rollback_live_migration_at_destination, which the destination runs
 * when it is back).  The copies on host go once host answers without
 * the guest, asked each second for up to host_answer_timeout s; the
 * paths are those of the guest's domain on holder.  Only after the end
 * is recorded under this runner's claim. */
static void drop_copies(struct runner *rn, struct arena *a,
                        const struct migration *m, const char *host,
                        struct vconn *holder)
{
    int64_t deadline = time_now_us()
                       + (int64_t) rn->conf->host_answer_timeout * 1000000;
    struct vdisk *disks = NULL;
    struct ferr err = { 0 };
    struct vconn *c;
    size_t n = 0;
    int power, rc;

    if (!m->block_migration || rn->lost) {
        return;
    }
    if (holder == NULL
        || virt_domain_disks(holder, m->instance_uuid, a, &disks, &n,
                             &err) < 0)
    {
        log_error("migration %lld of %s: copies on %s kept: the disk list "
                  "cannot be read: %s", (long long) m->id, m->instance_uuid,
                  host, holder ? ferr_msg(&err) : "no host has the guest");
        ferr_clear(&err);
        return;
    }
    while ((rc = ask(rn, host, m->instance_uuid, &power, &c)) != 0) {
        if (*rn->stop || time_now_us() > deadline) {
            log_error("migration %lld of %s: copies on %s kept: %s",
                      (long long) m->id, m->instance_uuid, host, rc < 0
                      ? "the host does not answer"
                      : "the host still has the guest");
            return;
        }
        usleep(1000000);
    }
    drop_local_disks(c, holder, disks, n, a, m, host);
}

/* Where is the guest, after a transfer or after a runner died?  Closes the
 * record accordingly; paused_by_us resumes a guest force-complete paused.
 * A host that cannot be asked is not a host without the guest: the record
 * stays in progress while both are asked again, once a second, for
 * host_answer_timeout s; then the host that answers decides. */
static void settle(struct runner *rn, struct arena *a, struct migration *m,
                   int call_ok, int aborted, int paused_by_us,
                   const char *reason, const struct vjob *final)
{
    struct ferr err = { 0 };
    struct vjob job;
    struct vconn *sc = NULL, *dc = NULL;
    int dpower = 0, spower = 0, drc, src, said = 0;
    int64_t deadline = time_now_us()
                       + (int64_t) rn->conf->host_answer_timeout * 1000000;

    memset(&job, 0, sizeof(job));
    for (;;) {
        drc = ask(rn, m->dest_compute, m->instance_uuid, &dpower, &dc);
        src = ask(rn, m->source_compute, m->instance_uuid, &spower, &sc);
        /* a guest running (not paused) on one side is where it is: p2p
         * resumes it on the destination only once the source is done,
         * and a failed transfer resumes it on the source */
        if (call_ok || (drc >= 0 && src >= 0) || (src == 1 && spower == 1)
            || (drc == 1 && dpower == 1))
        {
            break;
        }
        if (*rn->stop) {
            return;     /* left in progress: reconciled after the restart */
        }
        if (time_now_us() > deadline) {
            log_error("migration %lld of %s: %s could not be asked for %d "
                      "s; settling from what %s says", (long long) m->id,
                      m->instance_uuid, src < 0 ? m->source_compute
                      : m->dest_compute, rn->conf->host_answer_timeout,
                      src < 0 && drc < 0 ? "neither host"
                      : src < 0 ? m->dest_compute : m->source_compute);
            break;
        }
        if (!said++) {
            log_error("migration %lld of %s: %s cannot be asked where the "
                      "guest is; the record stays in progress (asking "
                      "again for up to %d s)", (long long) m->id,
                      m->instance_uuid, src < 0 ? m->source_compute
                      : m->dest_compute, rn->conf->host_answer_timeout);
        }
        if (requests_of(rn, a, m) < 0) {
            return;
        }
        usleep(1000000);
    }
    /* with a silent source, only a running destination says it moved: a
     * paused one may be the incoming domain of an unfinished pre-copy */
    if (call_ok || (drc == 1 && (src < 0 ? dpower == 1 : active(dpower))
                    && !(src == 1 && active(spower))))
    {
        if (final != NULL && final->type == VJOB_COMPLETED) {
            job = *final;
            stats_into(m, &job);
        } else if (dc != NULL
                   && virt_job(dc, m->instance_uuid, 1, &job, &err) == 0) {
            stats_into(m, &job);
        } else {
            job.elapsed_ms = job.downtime_ms = -1;
        }
        ferr_clear(&err);
        if (job.elapsed_ms >= 0) {
            m->total_time_ms = job.elapsed_ms;
        }
        m->downtime_ms = job.downtime_ms >= 0 ? job.downtime_ms
                                              : MIG_NULL_INT;
        store_host_set(rn->app->store, m->instance_uuid, m->dest_compute);
        if (finish(rn, m, "completed", NULL) == 0) {
            drop_copies(rn, a, m, m->source_compute, dc);
        }
        return;
    }
    if (src == 1 || (src < 0 && drc == 0)) {
        /* on the source, or the source is silent and the destination
         * does not have it: it never left */
        if (src == 1 && paused_by_us && spower == 3) {
            virt_resume(sc, m->instance_uuid, &err);    /* recovery */
            ferr_clear(&err);
        }
        if (src < 0) {
            reason = arena_printf(a, "%s; %s could not be asked for %d s "
                                  "and %s does not have the guest",
                                  reason ? reason : "failed",
                                  m->source_compute,
                                  rn->conf->host_answer_timeout,
                                  m->dest_compute);
        }
        if (finish(rn, m, aborted ? "cancelled" : "failed",
                   aborted && reason == NULL ? NULL
                   : arena_strdup(a, reason ? reason : "failed")) == 0)
        {
            drop_copies(rn, a, m, m->dest_compute, src == 1 ? sc : NULL);
        }
        return;
    }
    if (src < 0 || drc < 0) {
        finish(rn, m, "error", arena_printf(a, "%s; %s could not be asked "
               "for %d s%s", reason ? reason : "the transfer ended",
               src < 0 && drc < 0 ? "neither host" : m->dest_compute,
               rn->conf->host_answer_timeout, src < 0 ? ""
               : " and the source no longer has the guest"));
        return;
    }
    finish(rn, m, "error", arena_printf(a, "%s; the guest is found on "
           "neither host", reason ? reason : "the transfer ended"));
}

/* queued (claimed): preparing, running with the monitor, then settle. */
static void run_queued(struct runner *rn, struct arena *a,
                       struct migration *m)
{
    const struct conf_host *dh, *sh;
    struct transfer t;
    struct monitor mo;
    struct server s;
    struct vconn *sc, *dc, *tc = NULL;
    struct vdisk *disks = NULL;
    const char **devs = NULL;
    struct ferr err = { 0 };
    struct vjob job, final;
    struct vwatch *watch;
    pthread_t th;
    size_t ndisks = 0, i, created = 0;
    double data_gb;
    int n = 0, rc, have_final;

    if (m->abort_requested) {
        finish(rn, m, "cancelled", NULL);
        return;
    }
    rc = inventory_find(rn->app->inv, rn->app->store, m->instance_uuid, a,
                        &s, &err);
    if (rc != 1) {
        finish(rn, m, "error", rc == 0 ? "instance not found"
               : arena_strdup(a, ferr_msg(&err)));
        goto out;
    }
    m->status = "preparing";
    if (save(rn, m) < 0) {
        goto out;
    }
    iaction_ev_start(rn->app->store, m, IE_PRE_LIVE_MIGRATION,
                     m->dest_compute);
    dh = inventory_host(rn->app->inv, m->dest_compute);
    sc = inventory_conn(rn->app->inv, s.host, &err);
    dc = dh ? inventory_conn(rn->app->inv, dh->name, &err) : NULL;
    if (sc == NULL || dc == NULL) {
        finish(rn, m, "error", arena_printf(a, "Compute service of %s is "
               "unavailable at this time.", sc ? m->dest_compute : s.host));
        goto out;
    }
    data_gb = max2((double) s.ram_mb / 1024.0);
    if (m->block_migration) {
        if (virt_domain_disks(sc, m->instance_uuid, a, &disks, &ndisks,
                              &err) < 0)
        {
            finish(rn, m, "failed", arena_strdup(a, ferr_msg(&err)));
            goto out;
        }
        devs = arena_alloc(a, sizeof(*devs) * (ndisks + 1));
        for (i = 0; i < ndisks; i++) {
            if (requests_of(rn, a, m) < 0) {
                goto out;       /* the new holder disposes of the copies */
            }
            if (virt_disk_create(dc, &disks[i], &err) < 0) {
                finish(rn, m, "failed", arena_printf(a, "The supplied disk "
                       "path (%s) could not be prepared on %s: %s",
                       disks[i].path, m->dest_compute, ferr_msg(&err)));
                goto rollback;
            }
            created = i + 1;
            devs[i] = disks[i].dev;
            data_gb += max2((double) disks[i].allocation
                            / (1024.0 * 1024.0 * 1024.0));
        }
    }
    if (requests_of(rn, a, m) < 0) {
        goto out;
    }
    if (m->abort_requested) {
        finish(rn, m, "cancelled", NULL);
        goto rollback;
    }

    memset(&t, 0, sizeof(t));
    /* The transfer gets a source connection of its own: while a thread
     * waits in virDomainMigrateToURI3 on a connection, the monitor's calls
     * on that connection can wait for its next keepalive (up to 5 s), and
     * progress, aborts and timeouts would come late. */
    sh = inventory_host(rn->app->inv, s.host);
    if (sh == NULL || virt_connect(sh->uri, &tc, &err) < 0) {
        log_error("migration %lld: no second connection to %s, the "
                  "transfer shares the monitor's: %s", (long long) m->id,
                  s.host, ferr_msg(&err));
        ferr_clear(&err);
        tc = NULL;
    }
    t.src = tc ? tc : sc;
    t.uuid = m->instance_uuid;
    t.vm.dconnuri = arena_printf(a, "qemu+tcp://%s/system",
                                 dh->migration_address
                                 ? dh->migration_address : dh->name);
    t.vm.migrate_uri = arena_printf(a, "tcp://%s", dh->migration_address
                                    ? dh->migration_address : dh->name);
    t.vm.flags = BASE_FLAGS | (m->block_migration ? VMIG_NON_SHARED_INC : 0);
    if (rn->conf->live_migration_permit_post_copy) {
        t.vm.flags |= VMIG_POSTCOPY;
    } else if (rn->conf->live_migration_permit_auto_converge) {
        t.vm.flags |= VMIG_AUTO_CONVERGE;
    }
    if (s.power_state == 3) {
        t.vm.flags &= ~VMIG_POSTCOPY;   /* a paused guest: no post-copy */
    }
    if (ndisks == 0) {
        t.vm.flags &= ~VMIG_NON_SHARED_INC;
    }
    t.vm.bandwidth_mib = (unsigned long) rn->conf->live_migration_bandwidth;
    t.vm.disks = devs;
    t.vm.ndisks = ndisks;

    memset(&mo, 0, sizeof(mo));
    downtime_steps(rn->conf, data_gb, &mo.steps);
    mo.cur_downtime = -1;
    mo.best_remaining = -1;
    mo.timeout_s = (int64_t) (rn->conf->live_migration_completion_timeout
                              * data_gb);
    mo.postcopy_allowed = (t.vm.flags & VMIG_POSTCOPY) != 0;

    m->status = "running";
    if (save(rn, m) < 0) {
        goto rollback;
    }
    /* Nova's compute_live_migration ends once the job is queued on the
     * source; ferry's spans the transfer, so its result is the transfer's
     * and a failure's reason is its details */
    iaction_ev_end(rn->app->store, m, IE_PRE_LIVE_MIGRATION, 1, NULL);
    iaction_ev_start(rn->app->store, m, IE_LIVE_MIGRATION, s.host);
    log_info("migration %lld of %s: running %s -> %s (flags %u, %s, "
             "%.1f GiB, timeout %lld s)", (long long) m->id,
             m->instance_uuid, s.host, m->dest_compute, t.vm.flags,
             t.vm.dconnuri, data_gb, (long long) mo.timeout_s);
    mo.start_us = time_now_us();
    watch = virt_watch_job(sc, m->instance_uuid, &err);
    ferr_clear(&err);
    if (pthread_create(&th, NULL, transfer_main, &t) != 0) {
        virt_watch_end(watch, 0, &job);
        finish(rn, m, "error", "cannot start the transfer thread");
        goto rollback;
    }
    while (!__atomic_load_n(&t.done, __ATOMIC_ACQUIRE)) {
        struct ferr e = { 0 };

        usleep(POLL_US);
        if (!rn->lost && virt_job(sc, m->instance_uuid, 0, &job, &e) == 0
            && (job.type == VJOB_UNBOUNDED || job.type == VJOB_BOUNDED))
        {
            monitor_step(rn, a, &mo, m, sc, &job, ++n);
        }
        ferr_clear(&e);
    }
    /* a lost claim still waits for its libvirt call: the transfer is the
     * guest's, and only the new holder may abort or settle it */
    pthread_join(th, NULL);
    m->total_time_ms = (time_now_us() - mo.start_us) / 1000;
    /* the source's job-completed event has the final counts, disks too */
    have_final = virt_watch_end(watch, t.rc == 0 ? 2000 : 0, &final);
    if (requests_of(rn, a, m) < 0) {
        ferr_clear(&t.err);
        goto out;
    }
    settle(rn, a, m, t.rc == 0, mo.aborted || m->abort_requested,
           mo.paused_by_us, t.rc == 0 ? NULL
           : mo.timeout_reason && strcmp(mo.timeout_reason,
                                         "abort requested") != 0
             ? mo.timeout_reason : (mo.aborted ? NULL : ferr_msg(&t.err)),
           have_final ? &final : NULL);
    ferr_clear(&t.err);
    goto out;                   /* settle disposed of the copies */
rollback:
    for (i = 0; i < created && !rn->lost; i++) {
        virt_disk_delete(dc, disks[i].path);
    }
out:
    virt_close(tc);
    ferr_clear(&err);
}

/* ---- cold migration (spec §5) ----------------------------------------- */

/* The destination of a cold migration: the requested host, or the
 * enabled, reachable host other than the source with the most free
 * memory that can hold the guest. */
static const struct conf_host *cold_dest(struct runner *rn,
                                         const struct migration *m,
                                         const struct server *s)
{
    const struct conf_host *best = NULL;
    int64_t best_free = 0;
    size_t i;

    for (i = 0; i < rn->conf->nhosts; i++) {
        const struct conf_host *h = &rn->conf->hosts[i];
        struct vhost_info info;
        struct ferr err = { 0 };
        struct vconn *c;
        int64_t free_mb;

        if (strcmp(h->name, s->host) == 0
            || (m->requested_host != NULL
                && strcmp(h->name, m->requested_host) != 0)
            || (m->requested_host == NULL && !h->enabled))
        {
            continue;
        }
        c = inventory_conn(rn->app->inv, h->name, &err);
        if (c == NULL || virt_host_info(c, &info, &err) < 0) {
            ferr_clear(&err);
            continue;
        }
        free_mb = info.total_mb - 512 - info.guests_mb;
        if (free_mb >= s->ram_mb && (best == NULL || free_mb > best_free)) {
            best = h;
            best_free = free_mb;
        }
    }
    return best;
}

/* The fault a failed cold migration leaves, written before its record
 * ends so that a client never sees the server back to normal first.
 * vm_error: the guest was touched, and the instance errors out as Nova's
 * _error_out_instance_on_exception does; a refusal before that leaves
 * its vm_state (Nova's InstanceFaultRollback).  Code: a refusal's 400 as
 * Nova's Invalid, else 500 (compute/utils.py exception_to_dict); the
 * message cut to 255 bytes (safe_truncate). */
static void cold_fault(struct runner *rn, struct arena *a,
                       const struct migration *m, const struct ferr *e,
                       int vm_error)
{
    struct instance_fault f;
    struct ferr err = { 0 };
    char *msg = arena_strdup(a, ferr_msg(e));
    size_t n = strlen(msg);

    if (n > 255) {
        n = 255;
        while (n > 0 && ((unsigned char) msg[n] & 0xc0) == 0x80) {
            n--;                /* not inside a UTF-8 sequence */
        }
        msg[n] = '\0';
    }
    memset(&f, 0, sizeof(f));
    f.code = e->code == FE_BADREQ ? FE_BADREQ : FE_INTERNAL;
    f.message = msg;
    f.vm_error = vm_error;
    if (!rn->lost && store_fault_save(rn->app->store, m, &f, &err) < 0) {
        log_error("migration %lld of %s: fault not recorded: %s",
                  (long long) m->id, m->instance_uuid, ferr_msg(&err));
    }
    ferr_clear(&err);
}

/* Before the guest is touched: its local disks (local[i] set: not in a
 * directory dc shares) and that none of them would land on a file dc
 * already has at that path (refused, as precheck_disk_absent says). */
static int cold_check(struct arena *a, struct vconn *sc, struct vconn *dc,
                      const struct migration *m, struct vdisk **disks,
                      size_t *n, int **local, struct ferr *err)
{
    size_t i;
    int rc;

    if (virt_domain_disks(sc, m->instance_uuid, a, disks, n, err) < 0) {
        return -err->code;
    }
    *local = arena_alloc(a, sizeof(**local) * (*n + 1));
    for (i = 0; i < *n; i++) {
        char *dir = arena_strdup(a, (*disks)[i].path), *slash;

        slash = strrchr(dir, '/');
        if (slash != NULL && slash != dir) {
            *slash = '\0';
        }
        rc = virt_dir_shared(sc, dc, dir, err);
        if (rc < 0) {
            return rc;
        }
        (*local)[i] = rc == 0;
        if (rc == 0 && precheck_disk_absent(dc, (*disks)[i].path, err) < 0) {
            return -err->code;
        }
    }
    return 0;
}

static void cold_move(struct runner *rn, struct arena *a,
                      struct migration *m)
{
    const struct conf_host *dh;
    struct vconn *sc, *dc;
    struct vdisk *disks = NULL;
    struct ferr err = { 0 };
    struct server s;
    size_t n = 0, i, copied = 0;
    int was_running, defined = 0, touched = 0, *local = NULL, rc;

    /* the conductor's migrate_server wraps its cold_migrate reporter */
    iaction_ev_start(rn->app->store, m, IE_CONDUCTOR_MIGRATE_SERVER,
                     iaction_conductor_host());
    iaction_ev_start(rn->app->store, m, IE_COLD_MIGRATE,
                     iaction_conductor_host());
    rc = inventory_find(rn->app->inv, rn->app->store, m->instance_uuid, a,
                        &s, &err);
    if (rc != 1) {
        finish(rn, m, "error", rc == 0 ? "instance not found"
               : arena_strdup(a, ferr_msg(&err)));
        return;
    }
    dh = cold_dest(rn, m, &s);
    if (dh == NULL) {
        finish(rn, m, "error", "No valid host was found. There are not "
               "enough hosts available.");
        return;
    }
    iaction_ev_end(rn->app->store, m, NULL, 1, NULL);
    iaction_ev_start(rn->app->store, m, IE_PREP_RESIZE, dh->name);
    sc = inventory_conn(rn->app->inv, s.host, &err);
    dc = sc ? inventory_conn(rn->app->inv, dh->name, &err) : NULL;
    if (dc == NULL) {
        finish(rn, m, "error", arena_strdup(a, ferr_msg(&err)));
        return;
    }
    m->dest_compute = dh->name;
    m->source_node = arena_strdup(a, virt_hostname(sc));
    m->dest_node = arena_strdup(a, virt_hostname(dc));
    m->dest_host = dh->migration_address;
    m->status = "migrating";
    if (save(rn, m) < 0) {
        return;
    }
    iaction_ev_end(rn->app->store, m, IE_PREP_RESIZE, 1, NULL);
    iaction_ev_start(rn->app->store, m, IE_RESIZE_INSTANCE, s.host);
    was_running = s.power_state == 1;
    log_info("migration %lld of %s: cold migration %s -> %s (guest %s)",
             (long long) m->id, m->instance_uuid, s.host, dh->name,
             was_running ? "running" : "stopped");
    if (cold_check(a, sc, dc, m, &disks, &n, &local, &err) < 0) {
        goto fail;              /* refused: the guest was not touched */
    }
    touched = 1;
    if (virt_shutdown(sc, m->instance_uuid, rn->conf->shutdown_timeout,
                      &err) < 0)
    {
        goto fail;
    }
    for (i = 0; i < n; i++) {
        if (local[i] && (virt_disk_create(dc, &disks[i], &err) < 0
                         || (copied = i + 1,
                             virt_disk_copy(sc, dc, &disks[i], &err) < 0)))
        {
            goto fail;
        }
    }
    if (virt_copy_definition(sc, dc, m->instance_uuid, &err) < 0) {
        goto fail;
    }
    defined = 1;
    m->status = "post-migrating";
    if (save(rn, m) < 0) {
        return;
    }
    iaction_ev_end(rn->app->store, m, IE_RESIZE_INSTANCE, 1, NULL);
    iaction_ev_start(rn->app->store, m, IE_FINISH_RESIZE, dh->name);
    if (was_running && virt_start(dc, m->instance_uuid, &err) < 0) {
        goto fail;
    }
    store_host_set(rn->app->store, m->instance_uuid, dh->name);
    m->claimed_by = MIG_NULL_INT;       /* confirm or revert comes later */
    m->status = "finished";
    if (save(rn, m) == 0) {
        iaction_ev_end(rn->app->store, m, IE_FINISH_RESIZE, 1, NULL);
        log_info("migration %lld of %s: finished on %s; awaiting "
                 "confirmation", (long long) m->id, m->instance_uuid,
                 dh->name);
    }
    return;
fail:
    {
        const char *reason = arena_strdup(a, ferr_msg(&err));
        struct ferr e = { 0 };

        if (rn->lost) {
            ferr_clear(&err);
            return;             /* the new holder decides */
        }
        if (defined) {
            virt_destroy(dc, m->instance_uuid, &e);
            ferr_clear(&e);
            virt_undefine(dc, m->instance_uuid, &e);
            ferr_clear(&e);
        }
        /* only the copies this move made: local[i] was decided before
         * the guest was touched; asking again now, with a host perhaps
         * gone, could take a shared disk for a local one */
        for (i = 0; i < copied; i++) {
            if (local[i]) {
                virt_disk_delete(dc, disks[i].path);
                log_info("migration %lld of %s: removing %s on %s",
                         (long long) m->id, m->instance_uuid, disks[i].path,
                         dh->name);
            }
        }
        if (touched && was_running) {
            virt_start(sc, m->instance_uuid, &e);
            ferr_clear(&e);
        }
        store_host_set(rn->app->store, m->instance_uuid, s.host);
        cold_fault(rn, a, m, &err, touched);
        finish(rn, m, "error", reason);
    }
    ferr_clear(&err);
}

/* A confirm or revert that fails errors the instance out (Nova's
 * confirm_resize and revert_resize run in _error_out_instance_on_exception
 * in compute/manager.py). */
static void cold_settle_failed(struct runner *rn, struct arena *a,
                               struct migration *m, struct ferr *err)
{
    cold_fault(rn, a, m, err, 1);
    finish(rn, m, "error", arena_strdup(a, ferr_msg(err)));
    ferr_clear(err);
}

/* confirming: the source copy goes; reverting: the destination copy goes
 * and the guest comes back (running if it ran on the destination). */
static void cold_settle(struct runner *rn, struct arena *a,
                        struct migration *m, int confirm)
{
    const char *drop_host = confirm ? m->source_compute : m->dest_compute;
    const char *keep_host = confirm ? m->dest_compute : m->source_compute;
    struct vconn *drop, *keep;
    struct vdisk *disks = NULL;
    struct ferr err = { 0 };
    size_t n = 0;
    int power = 0, running;

    if (requests_of(rn, a, m) < 0) {
        return;                 /* taken over while this runner stood */
    }
    iaction_ev_start(rn->app->store, m, confirm ? IE_CONFIRM_RESIZE
                     : IE_REVERT_RESIZE, drop_host);
    drop = inventory_conn(rn->app->inv, drop_host, &err);
    keep = drop ? inventory_conn(rn->app->inv, keep_host, &err) : NULL;
    if (keep == NULL) {
        cold_settle_failed(rn, a, m, &err);
        return;
    }
    running = virt_domain_power(drop, m->instance_uuid, &power, NULL, &err)
              == 1 && power == 1;
    ferr_clear(&err);
    if (requests_of(rn, a, m) < 0) {
        return;
    }
    if (virt_shutdown(drop, m->instance_uuid, 0, &err) < 0
        || virt_domain_disks(drop, m->instance_uuid, a, &disks, &n, &err) < 0
        || virt_undefine(drop, m->instance_uuid, &err) < 0)
    {
        cold_settle_failed(rn, a, m, &err);
        return;
    }
    if (requests_of(rn, a, m) < 0) {
        return;
    }
    drop_local_disks(drop, keep, disks, n, a, m, drop_host);
    if (!confirm) {
        iaction_ev_end(rn->app->store, m, IE_REVERT_RESIZE, 1, NULL);
        iaction_ev_start(rn->app->store, m, IE_FINISH_REVERT_RESIZE,
                         keep_host);
        store_host_set(rn->app->store, m->instance_uuid, keep_host);
        if (running && virt_start(keep, m->instance_uuid, &err) < 0) {
            cold_settle_failed(rn, a, m, &err);
            return;
        }
    }
    finish(rn, m, confirm ? "confirmed" : "reverted", NULL);
}

static void run_cold(struct runner *rn, struct arena *a, struct migration *m)
{
    if (strcmp(m->status, "pre-migrating") == 0) {
        cold_move(rn, a, m);
    } else {
        cold_settle(rn, a, m, strcmp(m->status, "confirming") == 0);
    }
}

/* A record whose runner is gone (spec: crash safety). */
static void reconcile(struct runner *rn, struct arena *a,
                      struct migration *m)
{
    struct ferr err = { 0 };
    struct vconn *sc = NULL;
    struct monitor mo;
    struct vjob job;
    double data_gb;
    int n = 0;
    /* below 2.34 the request itself holds an accepted record */
    int by_request = strcmp(m->status, "accepted") == 0 && m->mv_minor < 34;

    log_info("migration %lld of %s: reconciling a %s record left by %s",
             (long long) m->id, m->instance_uuid, m->status,
             by_request ? "a request" : "a stopped runner");
    if (strcmp(m->status, "accepted") == 0) {
        if (by_request) {
            finish(rn, m, "error", "the request ended before its prechecks "
                   "did");
        } else {
            m->claimed_by = MIG_NULL_INT;   /* prechecks again */
            save(rn, m);
        }
        return;
    }
    if (strcmp(m->status, "queued") == 0
        || (strcmp(m->migration_type, "migration") == 0
            && strcmp(m->status, "migrating") != 0
            && strcmp(m->status, "post-migrating") != 0))
    {
        m->claimed_by = MIG_NULL_INT;       /* start that step again */
        save(rn, m);
        return;
    }
    if (strcmp(m->migration_type, "migration") == 0) {
        /* the guest was touched and is left as the move left it */
        ferr_set(&err, FE_INTERNAL, "the runner stopped during a cold "
                 "migration");
        cold_fault(rn, a, m, &err, 1);
        finish(rn, m, "error", arena_strdup(a, ferr_msg(&err)));
        ferr_clear(&err);
        return;
    }
    sc = inventory_conn(rn->app->inv, m->source_compute, &err);
    ferr_clear(&err);
    /* a job still active on the source: the monitor takes it over, with
     * its requests, timeouts and downtime steps (times from the record) */
    memset(&mo, 0, sizeof(mo));
    data_gb = max2((double) (m->memory_total > 0 ? m->memory_total : 0)
                   / (1024.0 * 1024.0 * 1024.0));
    if (m->block_migration && m->disk_total > 0) {
        data_gb += max2((double) m->disk_total / (1024.0 * 1024.0 * 1024.0));
    }
    downtime_steps(rn->conf, data_gb, &mo.steps);
    mo.cur_downtime = -1;
    mo.best_remaining = -1;
    mo.timeout_s = (int64_t) (rn->conf->live_migration_completion_timeout
                              * data_gb);
    mo.postcopy_allowed = rn->conf->live_migration_permit_post_copy;
    mo.start_us = m->created_at;
    mo.paused_by_us = m->paused_by_migration;   /* resumed if it fails */
    mo.forced = m->paused_by_migration;
    while (!rn->lost && sc != NULL
           && virt_job(sc, m->instance_uuid, 0, &job, &err) == 0
           && (job.type == VJOB_UNBOUNDED || job.type == VJOB_BOUNDED))
    {
        if (n == 0) {
            log_info("migration %lld: the transfer is still running; "
                     "monitoring it", (long long) m->id);
        }
        monitor_step(rn, a, &mo, m, sc, &job, ++n);
        usleep(POLL_US);
    }
    ferr_clear(&err);
    if (requests_of(rn, a, m) < 0) {
        return;
    }
    settle(rn, a, m, 0, mo.aborted || m->abort_requested,
           mo.paused_by_us, mo.timeout_reason && strcmp(mo.timeout_reason,
           "abort requested") != 0 ? mo.timeout_reason
           : mo.aborted || m->abort_requested ? NULL
           : "the runner stopped during the transfer", NULL);
}

/* A runner of this ferryd (a child of our master) that runs: its
 * heartbeat is late only because the store kept it from writing.  A
 * stopped (SIGSTOP, state T) or dead one, or one of another master, is
 * taken over; fencing (claim_gen) keeps it off the record if it wakes. */
static int sibling_alive(int64_t pid)
{
    char path[64], buf[512], *p, state;
    long ppid;
    FILE *f;
    int n;

    snprintf(path, sizeof(path), "/proc/%lld/stat", (long long) pid);
    f = fopen(path, "r");
    if (f == NULL) {
        return 0;
    }
    n = (int) fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n > 0 ? n : 0] = '\0';
    p = strrchr(buf, ')');      /* comm may hold spaces and ')' */
    if (p == NULL || sscanf(p + 1, " %c %ld", &state, &ppid) != 2) {
        return 0;
    }
    return ppid == (long) getppid() && state != 'T' && state != 't'
           && state != 'Z' && state != 'X';
}

int runner_main(struct app *app, volatile sig_atomic_t *stop, int wake_fd)
{
    struct runner rn;
    struct heart heart;
    pthread_t hth;
    struct arena a;
    struct migration m;
    struct ferr err = { 0 };
    struct pollfd pfd;
    int rc;

    memset(&rn, 0, sizeof(rn));
    rn.app = app;
    rn.conf = inventory_conf(app->inv);
    rn.stop = stop;
    if (store_runner_register(app->store, &rn.id, &err) < 0
        || store_open(rn.conf->store, &heart.store, &err) < 0)
    {
        log_error("runner: %s", ferr_msg(&err));
        return -1;
    }
    heart.id = rn.id;
    store_set_timeout(heart.store, rn.conf->store_timeout * 1000);
    if (pthread_create(&hth, NULL, heart_main, &heart) != 0) {
        log_error("runner: cannot start the heartbeat thread");
        return -1;
    }
    pthread_detach(hth);
    arena_init(&a, 65536);
    while (!*stop) {
        rc = store_migration_claim_stale(app->store, rn.id, STALE_US,
                                         sibling_alive, &a, &m, &err);
        rn.lost = 0;
        if (rc == 1) {
            log_context(m.request_id);
            reconcile(&rn, &a, &m);
            log_context(NULL);
            arena_reset(&a);
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
            log_context(m.request_id);
            log_info("migration %lld of %s: claimed (%s)", (long long) m.id,
                     m.instance_uuid, m.status);
            if (strcmp(m.migration_type, "migration") == 0) {
                run_cold(&rn, &a, &m);
            } else if (strcmp(m.status, "accepted") == 0) {
                run_accepted(&rn, &a, &m);
            } else {
                run_queued(&rn, &a, &m);
            }
            log_context(NULL);
            arena_reset(&a);
            continue;
        }
        pfd.fd = wake_fd;
        pfd.events = POLLIN;
        poll(&pfd, 1, 200);
    }
    store_runner_unregister(app->store, rn.id);
    arena_free(&a);
    return 0;
}
