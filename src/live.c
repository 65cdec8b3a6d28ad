/*
 * live.c: a live migration in a runner.  accepted: the prechecks of spec
 * §8 (precheck.c), then queued and released.  queued: preparing (the
 * instance found, both hosts connected, a block migration's disks created
 * on the destination), then running: virDomainMigrateToURI3 (peer-to-
 * peer) runs in a thread while this thread samples the job every POLL_US,
 * saves the progress every 0.5 s and carries out what the monitor
 * (monitor.c) decides; the transfer thread's end wakes it at once (a
 * sleep of POLL_US cost up to 250 ms a migration).  After the call returns, settle.c asks libvirt
 * where the guest really is before the record is closed.
 *
 * Invariant: a runner whose claim is lost (rn->lost) touches neither the
 * record nor the guest, and leaves the disk copies to the new holder.
 */
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "ferry/iaction.h"
#include "ferry/inventory.h"
#include "ferry/precheck.h"
#include "ferry/runner_int.h"
#include "ferry/sharecache.h"

#define BASE_FLAGS \
    (VMIG_LIVE | VMIG_PEER2PEER | VMIG_PERSIST_DEST | VMIG_UNDEFINE_SOURCE)

struct transfer {
    struct vconn *src;
    const char *uuid;
    long long id; /* the record's, for the log */
    struct vmigrate vm;
    struct ferr err;
    int rc;
    pthread_mutex_t mu; /* done, and its signal */
    pthread_cond_t cv;  /* on CLOCK_MONOTONIC */
    int done;
};

/* One queued migration in hand, from preparing to settled. */
struct live {
    struct server s;
    const struct conf_host *dh;
    struct vconn *sc, *dc;
    struct vconn *tc; /* the transfer's own connection */
    struct vdisk *disks;
    const char **devs;
    size_t ndisks, created; /* created: copies made on dc */
    double data_gb;
    struct transfer t;
    struct mon_opts opts;
    struct monitor mo;
    int64_t dirty_at_us;    /* the dirty-rate measure started, 0 none */
    const char *dirty_mode; /* its mode (virt_dirty_rate_start) */
};

/* The dirty-rate measure's span: at least the max downtime, whole s. */
#define DIRTY_S(c) (((c)->live_migration_downtime + 999) / 1000)

/* What a step of run_queued leaves to do. */
enum { STEP_OK, STEP_OUT, STEP_ROLLBACK };

static void *transfer_main(void *arg)
{
    struct transfer *t = arg;

    int64_t t0 = time_now_us();

    t->rc = virt_migrate(t->src, t->uuid, &t->vm, &t->err);
    /* the runner's next lines say how soon it went on */
    log_info("migration %lld of %s: libvirt's migration call returned "
             "(%s) after %lld ms",
             t->id, t->uuid, t->rc == 0 ? "ok" : "failed",
             (long long) (time_now_us() - t0) / 1000);
    pthread_mutex_lock(&t->mu);
    t->done = 1;
    pthread_cond_signal(&t->cv);
    pthread_mutex_unlock(&t->mu);
    return NULL;
}

static void transfer_init(struct transfer *t)
{
    pthread_condattr_t ca;

    pthread_mutex_init(&t->mu, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&t->cv, &ca);
    pthread_condattr_destroy(&ca);
}

static void transfer_fini(struct transfer *t)
{
    pthread_cond_destroy(&t->cv);
    pthread_mutex_destroy(&t->mu);
}

/* Waits up to us for the transfer's end: 1 when it has ended. */
static int transfer_wait(struct transfer *t, long us)
{
    struct timespec until;
    int done;

    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_nsec += (us % 1000000) * 1000;
    until.tv_sec += us / 1000000 + until.tv_nsec / 1000000000;
    until.tv_nsec %= 1000000000;
    pthread_mutex_lock(&t->mu);
    while (!t->done
           && pthread_cond_timedwait(&t->cv, &t->mu, &until) != ETIMEDOUT) {
    }
    done = t->done;
    pthread_mutex_unlock(&t->mu);
    return done;
}

void live_run_accepted(struct runner *rn, struct arena *a, struct migration *m)
{
    struct ferr err = { 0 };
    struct server s;
    int rc;

    rc = inventory_find(rn->app->inv, rn->app->store, m->instance_uuid, a, &s,
                        &err);
    if (rc != 1) {
        runner_finish(rn, m, MIG_ERROR,
                      rc == 0 ? "instance not found"
                              : arena_strdup(a, ferr_msg(&err)));
    } else if (m->abort_requested) {
        runner_finish(rn, m, MIG_CANCELLED, NULL);
    } else if (precheck_migration(rn->app, a, m, &s, &err) < 0) {
        runner_finish(rn, m, MIG_ERROR, arena_strdup(a, ferr_msg(&err)));
    } else {
        m->claimed_by = MIG_UNCLAIMED;
        runner_save(rn, m);
        log_info("migration %lld of %s: queued for %s (%s)", (long long) m->id,
                 m->instance_uuid, m->dest_compute,
                 m->block_migration ? "block" : "shared storage");
    }
    ferr_clear(&err);
}

/* ---- the monitor's actions -------------------------------------------- */

/* MON_POSTCOPY and MON_PAUSE: force-complete (spec §9.3).  1 done. */
static int act_force(struct runner *rn, struct migration *m, struct vconn *sc,
                     enum mon_action act)
{
    struct ferr err = { 0 };
    int ok;

    if (act == MON_POSTCOPY) {
        ok = virt_start_postcopy(sc, m->instance_uuid, &err) == 0;
        if (ok) {
            m->status = mig_status_name(MIG_POSTCOPY);
            runner_save(rn, m);
            log_info("migration %lld of %s: switched to post-copy",
                     (long long) m->id, m->instance_uuid);
        } else {
            log_error("migration %lld: post-copy: %s", (long long) m->id,
                      ferr_msg(&err));
        }
    } else {
        ok = virt_suspend(sc, m->instance_uuid, &err) == 0;
        if (ok) {
            m->paused_by_migration = 1; /* Nova: vm_state stays active */
            runner_save(rn, m);
            log_info("migration %lld of %s: guest paused to complete",
                     (long long) m->id, m->instance_uuid);
        } else {
            log_error("migration %lld: pause: %s", (long long) m->id,
                      ferr_msg(&err));
        }
    }
    if (m->force_requested) {
        iaction_request_event(rn->app->store, m,
                              IA_LIVE_MIGRATION_FORCE_COMPLETE,
                              IE_LIVE_MIGRATION_FORCE_COMPLETE,
                              m->source_compute, ok, ferr_msg(&err));
    }
    ferr_clear(&err);
    return ok;
}

static int act_abort(struct runner *rn, struct migration *m, struct vconn *sc,
                     const char *why)
{
    struct ferr err = { 0 };
    int ok = virt_abort_job(sc, m->instance_uuid, &err) == 0;

    if (!ok) {
        log_error("migration %lld: abort: %s", (long long) m->id,
                  ferr_msg(&err));
    }
    if (m->abort_requested) {
        iaction_request_event(rn->app->store, m, IA_LIVE_MIGRATION_CANCEL,
                              IE_LIVE_MIGRATION_ABORT, m->source_compute, ok,
                              ferr_msg(&err));
    }
    log_info("migration %lld of %s: aborting (%s)", (long long) m->id,
             m->instance_uuid, why);
    ferr_clear(&err);
    return ok;
}

static int act_downtime(struct migration *m, struct vconn *sc, int64_t ms)
{
    struct ferr err = { 0 };
    int ok = virt_set_max_downtime(sc, m->instance_uuid, ms, &err) == 0;

    if (!ok) {
        log_error("migration %lld: %s", (long long) m->id, ferr_msg(&err));
    }
    ferr_clear(&err);
    return ok;
}

/* Carries out one action of the monitor: 1 done, 0 failed. */
static int act(struct runner *rn, struct migration *m, struct vconn *sc,
               const struct mon_cmd *cmd)
{
    switch (cmd->action) {
    case MON_SET_DOWNTIME:
        return act_downtime(m, sc, cmd->downtime_ms);
    case MON_POSTCOPY:
    case MON_PAUSE:
        return act_force(rn, m, sc, cmd->action);
    case MON_ABORT:
        return act_abort(rn, m, sc, cmd->reason);
    default:
        return 0; /* MON_RESUME is settle's, after the job */
    }
}

void live_monitor_poll(struct runner *rn, struct arena *a, struct monitor *mo,
                       struct migration *m, struct vconn *sc,
                       const struct vjob *job, int n)
{
    struct mon_sample smp;
    struct mon_stats st;
    struct mon_cmd cmd;

    smp.now_us = time_now_us();
    runner_stats_into(m, job);
    if (runner_requests(rn, a, m) < 0
        || (n % 2 == 0 && runner_save(rn, m) < 0)) {
        return; /* not ours any more: hands off */
    }
    smp.mem_total = job->mem_total;
    smp.mem_remaining = job->mem_remaining;
    smp.data_remaining = job->data_remaining;
    smp.abort_requested = m->abort_requested;
    smp.force_requested = m->force_requested;
    st.mem_processed = job->mem_processed;
    st.dirty_bps = job->dirty_bps;
    st.iteration = job->iteration;
    monitor_stats(mo, &st);
    while (!rn->lost && monitor_next(mo, &smp, &cmd) != MON_NONE) {
        if (cmd.strategy != NULL) { /* saved with the action's record */
            m->convergence = arena_strdup(a, cmd.strategy);
            log_info("migration %lld of %s: %s%s%s", (long long) m->id,
                     m->instance_uuid, cmd.strategy, mo->why[0] ? ": " : "",
                     mo->why);
        }
        monitor_done(mo, cmd.action, act(rn, m, sc, &cmd));
    }
}

/* ---- a queued migration, step by step --------------------------------- */

/* preparing: the instance, the hosts, the data size. */
static int live_prepare(struct runner *rn, struct arena *a, struct migration *m,
                        struct live *lv)
{
    struct ferr err = { 0 };
    int rc;

    rc = inventory_find(rn->app->inv, rn->app->store, m->instance_uuid, a,
                        &lv->s, &err);
    if (rc != 1) {
        runner_finish(rn, m, MIG_ERROR,
                      rc == 0 ? "instance not found"
                              : arena_strdup(a, ferr_msg(&err)));
        ferr_clear(&err);
        return STEP_OUT;
    }
    m->status = mig_status_name(MIG_PREPARING);
    if (runner_save(rn, m) < 0) {
        return STEP_OUT;
    }
    iaction_ev_start(rn->app->store, m, IE_PRE_LIVE_MIGRATION, m->dest_compute);
    lv->dh = inventory_host(rn->app->inv, m->dest_compute);
    lv->sc = inventory_conn(rn->app->inv, lv->s.host, &err);
    lv->dc = lv->dh ? inventory_conn(rn->app->inv, lv->dh->name, &err) : NULL;
    ferr_clear(&err);
    if (lv->sc == NULL || lv->dc == NULL) {
        runner_finish(rn, m, MIG_ERROR,
                      arena_printf(a,
                                   "Compute service of "
                                   "%s is unavailable at this time.",
                                   lv->sc ? m->dest_compute : lv->s.host));
        return STEP_OUT;
    }
    lv->data_gb = monitor_gib((double) lv->s.ram_mb * 1024.0 * 1024.0);
    /* predict: the guest's dirty rate, measured as the transfer starts
     * (live_dirty_rate) */
    if (rn->conf->live_migration_convergence == CONVERGE_PREDICT) {
        if (virt_dirty_rate_start(lv->sc, m->instance_uuid, DIRTY_S(rn->conf),
                                  &lv->dirty_mode, &err)
            == 0) {
            lv->dirty_at_us = time_now_us();
        } else {
            log_error("migration %lld: no dirty rate (%s): %s",
                      (long long) m->id, lv->dirty_mode, ferr_msg(&err));
        }
    }
    ferr_clear(&err);
    return STEP_OK;
}

/* The measure live_prepare started, once it is done (polled with the
 * job, for up to 5 s past its span): the monitor weighs it. */
static void live_dirty_rate(struct runner *rn, struct migration *m,
                            struct live *lv)
{
    struct ferr err = { 0 };
    int64_t bps = 0, since = time_now_us() - lv->dirty_at_us;
    int rc;

    if (lv->dirty_at_us <= 0 || since < DIRTY_S(rn->conf) * 1000000LL) {
        return;
    }
    rc = virt_dirty_rate(lv->sc, m->instance_uuid, &bps, &err);
    if (rc == 1) {
        monitor_dirty_rate(&lv->mo, bps);
        log_info("migration %lld of %s: the guest dirties %.1f MiB/s "
                 "(libvirt's %s over %d s)",
                 (long long) m->id, m->instance_uuid, (double) bps / 1048576.0,
                 lv->dirty_mode, DIRTY_S(rn->conf));
    } else if (rc < 0 || since > (DIRTY_S(rn->conf) + 5) * 1000000LL) {
        log_error("migration %lld: no dirty rate: %s", (long long) m->id,
                  rc < 0 ? ferr_msg(&err) : "not measured in time");
    }
    if (rc != 0 || since > (DIRTY_S(rn->conf) + 5) * 1000000LL) {
        lv->dirty_at_us = 0; /* asked for the last time */
    }
    ferr_clear(&err);
}

/* A block migration's disks, created empty on the destination (each one
 * after the claim is checked again). */
static int live_create_disks(struct runner *rn, struct arena *a,
                             struct migration *m, struct live *lv)
{
    struct ferr err = { 0 };
    size_t i;

    if (virt_domain_disks(lv->sc, m->instance_uuid, a, &lv->disks, &lv->ndisks,
                          &err)
        < 0) {
        runner_finish(rn, m, MIG_FAILED, arena_strdup(a, ferr_msg(&err)));
        ferr_clear(&err);
        return STEP_OUT;
    }
    lv->devs = arena_alloc(a, sizeof(*lv->devs) * (lv->ndisks + 1));
    for (i = 0; i < lv->ndisks; i++) {
        if (runner_requests(rn, a, m) < 0) {
            return STEP_OUT; /* the new holder disposes of the copies */
        }
        if (virt_disk_create(lv->dc, &lv->disks[i], &err) < 0) {
            runner_finish(
                rn, m, MIG_FAILED,
                arena_printf(a,
                             "The supplied "
                             "disk path (%s) could not be prepared on %s: %s",
                             lv->disks[i].path, m->dest_compute,
                             ferr_msg(&err)));
            ferr_clear(&err);
            return STEP_ROLLBACK;
        }
        lv->created = i + 1;
        lv->devs[i] = lv->disks[i].dev;
        lv->data_gb += monitor_gib((double) lv->disks[i].allocation);
    }
    return STEP_OK;
}

/* The transfer's parameters: its own source connection, the URIs, the
 * flags; and the monitor's options that follow from them. */
static void live_setup(struct runner *rn, struct arena *a, struct migration *m,
                       struct live *lv)
{
    const struct conf_host *sh, *dh = lv->dh;
    struct transfer *t = &lv->t;
    struct ferr err = { 0 };
    const char *addr = dh->migration_address ? dh->migration_address : dh->name;

    /* While a thread waits in virDomainMigrateToURI3 on a connection, the
     * monitor's calls on that connection can wait for its next keepalive
     * (up to 5 s), and progress, aborts and timeouts would come late. */
    sh = inventory_host(rn->app->inv, lv->s.host);
    if (sh == NULL || virt_connect(sh->uri, &lv->tc, &err) < 0) {
        log_error("migration %lld: no second connection to %s, the "
                  "transfer shares the monitor's: %s",
                  (long long) m->id, lv->s.host, ferr_msg(&err));
        ferr_clear(&err);
        lv->tc = NULL;
    }
    memset(t, 0, sizeof(*t));
    transfer_init(t);
    t->src = lv->tc ? lv->tc : lv->sc;
    t->uuid = m->instance_uuid;
    t->id = (long long) m->id;
    t->vm.dconnuri = arena_printf(a, "qemu+tcp://%s/system", addr);
    t->vm.migrate_uri = arena_printf(a, "tcp://%s", addr);
    t->vm.flags = BASE_FLAGS | (m->block_migration ? VMIG_NON_SHARED_INC : 0);
    if (rn->conf->live_migration_permit_post_copy) {
        t->vm.flags |= VMIG_POSTCOPY;
    } else if (rn->conf->live_migration_permit_auto_converge) {
        t->vm.flags |= VMIG_AUTO_CONVERGE;
    }
    if (lv->s.power_state == POWER_PAUSED) {
        t->vm.flags &= ~VMIG_POSTCOPY; /* a paused guest: no post-copy */
    }
    if (lv->ndisks == 0) {
        t->vm.flags &= ~VMIG_NON_SHARED_INC;
    }
    t->vm.bandwidth_mib = (unsigned long) rn->conf->live_migration_bandwidth;
    t->vm.disks = lv->devs;
    t->vm.ndisks = lv->ndisks;
    monitor_opts(rn->conf, lv->data_gb, (t->vm.flags & VMIG_POSTCOPY) != 0,
                 &lv->opts);
}

/* Samples the job until the transfer thread is done. */
static void live_watch(struct runner *rn, struct arena *a, struct migration *m,
                       struct live *lv)
{
    struct vjob job;
    int n = 0;

    while (!transfer_wait(&lv->t, POLL_US)) {
        struct ferr e = { 0 };

        if (!rn->lost && virt_job(lv->sc, m->instance_uuid, 0, &job, &e) == 0
            && (job.type == VJOB_UNBOUNDED || job.type == VJOB_BOUNDED)) {
            live_dirty_rate(rn, m, lv);
            live_monitor_poll(rn, a, &lv->mo, m, lv->sc, &job, ++n);
        }
        ferr_clear(&e);
    }
}

/* running: the transfer under the monitor, then settled. */
static int live_transfer(struct runner *rn, struct arena *a,
                         struct migration *m, struct live *lv)
{
    struct transfer *t = &lv->t;
    struct ferr err = { 0 };
    struct vjob final;
    struct vwatch *watch;
    pthread_t th;
    char words[160];
    int have_final;

    m->status = mig_status_name(MIG_RUNNING);
    if (runner_save(rn, m) < 0) {
        return STEP_ROLLBACK;
    }
    /* Nova's compute_live_migration ends once the job is queued on the
     * source; ferry's spans the transfer, so its result is the transfer's
     * and a failure's reason is its details */
    iaction_ev_end(rn->app->store, m, IE_PRE_LIVE_MIGRATION, 1, NULL);
    iaction_ev_start(rn->app->store, m, IE_LIVE_MIGRATION, lv->s.host);
    log_info("migration %lld of %s: running %s -> %s (flags %s, %s, "
             "%.1f GiB, timeout %lld s)",
             (long long) m->id, m->instance_uuid, lv->s.host, m->dest_compute,
             virt_migrate_flags_str(t->vm.flags, words, sizeof(words)),
             t->vm.dconnuri, lv->data_gb, (long long) lv->opts.timeout_s);
    monitor_init(&lv->mo, &lv->opts, time_now_us());
    watch = virt_watch_job(lv->sc, m->instance_uuid, &err);
    ferr_clear(&err);
    if (pthread_create(&th, NULL, transfer_main, t) != 0) {
        virt_watch_end(watch, 0, &final);
        runner_finish(rn, m, MIG_ERROR, "cannot start the transfer thread");
        return STEP_ROLLBACK;
    }
    live_watch(rn, a, m, lv);
    /* a lost claim still waits for its libvirt call: the transfer is the
     * guest's, and only the new holder may abort or settle it */
    pthread_join(th, NULL);
    m->total_time_ms = (time_now_us() - lv->mo.start_us) / 1000;
    /* the source's job-completed event has the final counts, disks too */
    have_final = virt_watch_end(watch, t->rc == 0 ? 2000 : 0, &final);
    if (runner_requests(rn, a, m) == 0) {
        settle(rn, a, m, t->rc == 0, lv->mo.aborted || m->abort_requested,
               &lv->mo,
               t->rc == 0                  ? NULL
                   : lv->mo.timeout_reason ? lv->mo.timeout_reason
                   : lv->mo.aborted        ? NULL
                                           : ferr_msg(&t->err),
               have_final ? &final : NULL);
    }
    ferr_clear(&t->err);
    return STEP_OUT; /* settle disposed of the copies */
}

void live_run_queued(struct runner *rn, struct arena *a, struct migration *m)
{
    struct live lv;
    size_t i;
    int rc;

    if (m->abort_requested) {
        runner_finish(rn, m, MIG_CANCELLED, NULL);
        return;
    }
    memset(&lv, 0, sizeof(lv));
    rc = live_prepare(rn, a, m, &lv);
    if (rc == STEP_OK && m->block_migration) {
        rc = live_create_disks(rn, a, m, &lv);
    }
    if (rc == STEP_OK && runner_requests(rn, a, m) < 0) {
        rc = STEP_OUT;
    }
    if (rc == STEP_OK && m->abort_requested) {
        runner_finish(rn, m, MIG_CANCELLED, NULL);
        rc = STEP_ROLLBACK;
    }
    if (rc == STEP_OK) {
        live_setup(rn, a, m, &lv);
        rc = live_transfer(rn, a, m, &lv);
        transfer_fini(&lv.t);
    }
    for (i = 0; rc == STEP_ROLLBACK && i < lv.created && !rn->lost; i++) {
        virt_disk_delete(lv.dc, lv.disks[i].path);
    }
    virt_close(lv.tc);
    /* anything but success between the two hosts: their storage is
     * probed again next time (a kept answer may be why it failed) */
    if (!mig_status_is(m->status, MIG_COMPLETED) && m->source_compute != NULL
        && m->dest_compute != NULL) {
        sharecache_forget(m->source_compute, m->dest_compute);
    }
}
