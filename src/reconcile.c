/*
 * reconcile.c: a record whose runner is gone (spec: crash safety), taken
 * over by a live runner and reconciled with libvirt before anything else
 * is done with it.  A step that had not touched the guest starts again; a
 * cold move that had is ended in error (the guest left as the move left
 * it); a live transfer whose job is still active on the source is
 * monitored to its end by a monitor rebuilt from the record; then
 * settle.c asks where the guest is: running on the destination is
 * completed, back on the source with no job has failed.
 *
 * It also decides which records are taken over: a sibling runner that
 * still runs keeps its records (reconcile_sibling_alive).
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "ferry/inventory.h"
#include "ferry/runner_int.h"

/* A record whose step had not touched the guest: 1 released (to start
 * that step again) or ended, 0 not such a record. */
static int reconcile_untouched(struct runner *rn, struct migration *m,
                               int by_request)
{
    if (mig_status_is(m->status, MIG_ACCEPTED)) {
        if (by_request) {
            runner_finish(rn, m, MIG_ERROR,
                          "the request ended before its "
                          "prechecks did");
        } else {
            m->claimed_by = MIG_UNCLAIMED; /* prechecks again */
            runner_save(rn, m);
        }
        return 1;
    }
    if (mig_status_is(m->status, MIG_QUEUED)
        || (strcmp(m->migration_type, "migration") == 0
            && !mig_status_is(m->status, MIG_MIGRATING)
            && !mig_status_is(m->status, MIG_POST_MIGRATING))) {
        m->claimed_by = MIG_UNCLAIMED; /* start that step again */
        runner_save(rn, m);
        return 1;
    }
    return 0;
}

/* The monitor of the record's transfer, rebuilt from the record: the
 * data size from its counts, times from its creation. */
static void monitor_of(const struct runner *rn, const struct migration *m,
                       struct monitor *mo)
{
    struct mon_opts o;
    double data_gb;

    data_gb = monitor_gib((double) (m->memory_total > 0 ? m->memory_total : 0));
    if (m->block_migration && m->disk_total > 0) {
        data_gb += monitor_gib((double) m->disk_total);
    }
    monitor_opts(rn->conf, data_gb, rn->conf->live_migration_permit_post_copy,
                 &o);
    monitor_takeover(mo, &o, m->created_at, m->paused_by_migration,
                     mig_status_is(m->status, MIG_POSTCOPY));
}

/* A live transfer: a job still active on the source is monitored to its
 * end, with its requests, timeouts and downtime steps; then settled. */
static void reconcile_transfer(struct runner *rn, struct arena *a,
                               struct migration *m)
{
    struct ferr err = { 0 };
    struct vconn *sc;
    struct monitor mo;
    struct vjob job;
    int n = 0;

    sc = inventory_conn(rn->app->inv, m->source_compute, &err);
    ferr_clear(&err);
    monitor_of(rn, m, &mo);
    while (!rn->lost && sc != NULL
           && virt_job(sc, m->instance_uuid, 0, &job, &err) == 0
           && (job.type == VJOB_UNBOUNDED || job.type == VJOB_BOUNDED)) {
        if (n == 0) {
            log_info("migration %lld: the transfer is still running; "
                     "monitoring it",
                     (long long) m->id);
        }
        live_monitor_poll(rn, a, &mo, m, sc, &job, ++n);
        usleep(POLL_US);
    }
    ferr_clear(&err);
    if (runner_requests(rn, a, m) < 0) {
        return;
    }
    settle(rn, a, m, 0, mo.aborted || m->abort_requested, &mo,
           mo.timeout_reason ? mo.timeout_reason
               : mo.aborted || m->abort_requested
               ? NULL
               : "the runner stopped during the transfer",
           NULL);
}

void reconcile(struct runner *rn, struct arena *a, struct migration *m)
{
    struct ferr err = { 0 };
    /* below 2.34 the request itself holds an accepted record */
    int by_request = mig_status_is(m->status, MIG_ACCEPTED) && m->mv_minor < 34;

    log_info("migration %lld of %s: reconciling a %s record left by %s",
             (long long) m->id, m->instance_uuid, m->status,
             by_request ? "a request" : "a stopped runner");
    if (reconcile_untouched(rn, m, by_request)) {
        return;
    }
    if (strcmp(m->migration_type, "migration") == 0) {
        /* the guest was touched and is left as the move left it */
        ferr_set(&err, FE_INTERNAL,
                 "the runner stopped during a cold "
                 "migration");
        cold_fault(rn, a, m, &err, 1);
        runner_finish(rn, m, MIG_ERROR, arena_strdup(a, ferr_msg(&err)));
        ferr_clear(&err);
        return;
    }
    reconcile_transfer(rn, a, m);
}

/* Its heartbeat is late only because the store kept it from writing.  A
 * stopped (SIGSTOP, state T) or dead runner, or one of another master, is
 * taken over; fencing (claim_gen) keeps it off the record if it wakes. */
int reconcile_sibling_alive(int64_t pid)
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
    p = strrchr(buf, ')'); /* comm may hold spaces and ')' */
    if (p == NULL || sscanf(p + 1, " %c %ld", &state, &ppid) != 2) {
        return 0;
    }
    return ppid == (long) getppid() && state != 'T' && state != 't'
        && state != 'Z' && state != 'X';
}
