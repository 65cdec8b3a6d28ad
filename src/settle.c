/*
 * settle.c: the end of a live transfer, told by libvirt, not assumed.
 * Once virDomainMigrateToURI3 returns (or a runner died during it) both
 * hosts are asked where the guest is, and the record is closed as
 * completed, failed or cancelled, or error when the guest is found on
 * neither host; a host that cannot be asked is asked again for
 * host_answer_timeout s before the one that answers decides.  Then a
 * block migration's disk copies on the host the guest left are removed,
 * never a file in a directory both hosts share.
 */
#include <string.h>
#include <unistd.h>
#include "ferry/inventory.h"
#include "ferry/runner_int.h"

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

/* Deleting a shared file would delete it for both hosts; a failed check
 * keeps the file. */
void settle_drop_local_disks(struct vconn *c, struct vconn *other,
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
                     (long long) m->id, m->instance_uuid, disks[i].path, host);
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
    int64_t deadline =
        time_now_us() + (int64_t) rn->conf->host_answer_timeout * 1000000;
    struct vdisk *disks = NULL;
    struct ferr err = { 0 };
    struct vconn *c;
    size_t n = 0;
    int power, rc;

    if (!m->block_migration || rn->lost) {
        return;
    }
    if (holder == NULL
        || virt_domain_disks(holder, m->instance_uuid, a, &disks, &n, &err)
            < 0) {
        log_error("migration %lld of %s: copies on %s kept: the disk list "
                  "cannot be read: %s",
                  (long long) m->id, m->instance_uuid, host,
                  holder ? ferr_msg(&err) : "no host has the guest");
        ferr_clear(&err);
        return;
    }
    while ((rc = ask(rn, host, m->instance_uuid, &power, &c)) != 0) {
        if (*rn->stop || time_now_us() > deadline) {
            log_error("migration %lld of %s: copies on %s kept: %s",
                      (long long) m->id, m->instance_uuid, host,
                      rc < 0 ? "the host does not answer"
                             : "the host still has the guest");
            return;
        }
        usleep(1000000);
    }
    settle_drop_local_disks(c, holder, disks, n, a, m, host);
}

/* What the two hosts said of the guest: 1 there, 0 not, -1 no answer. */
struct where {
    int src, drc;
    int spower, dpower;
    struct vconn *sc, *dc;
};

/* Asks both hosts until they can say where the guest is; a guest running
 * (not paused) on one side is where it is: p2p resumes it on the
 * destination only once the source is done, and a failed transfer
 * resumes it on the source.  -1 to leave the record as it is: a stop
 * (reconciled after the restart) or a lost claim. */
static int where_is(struct runner *rn, struct arena *a, struct migration *m,
                    int call_ok, struct where *w)
{
    int said = 0, limit = rn->conf->host_answer_timeout;
    int64_t deadline = time_now_us() + (int64_t) limit * 1000000;

    memset(w, 0, sizeof(*w));
    for (;;) {
        w->drc = ask(rn, m->dest_compute, m->instance_uuid, &w->dpower, &w->dc);
        w->src =
            ask(rn, m->source_compute, m->instance_uuid, &w->spower, &w->sc);
        if (call_ok || (w->drc >= 0 && w->src >= 0)
            || (w->src == 1 && w->spower == POWER_RUNNING)
            || (w->drc == 1 && w->dpower == POWER_RUNNING)) {
            return 0;
        }
        if (*rn->stop) {
            return -1;
        }
        if (time_now_us() > deadline) {
            log_error("migration %lld of %s: %s could not be asked for %d "
                      "s; settling from what %s says",
                      (long long) m->id, m->instance_uuid,
                      w->src < 0 ? m->source_compute : m->dest_compute, limit,
                      w->src < 0 && w->drc < 0 ? "neither host"
                          : w->src < 0         ? m->dest_compute
                                               : m->source_compute);
            return 0;
        }
        if (!said++) {
            log_error("migration %lld of %s: %s cannot be asked where the "
                      "guest is; the record stays in progress (asking "
                      "again for up to %d s)",
                      (long long) m->id, m->instance_uuid,
                      w->src < 0 ? m->source_compute : m->dest_compute, limit);
        }
        if (runner_requests(rn, a, m) < 0) {
            return -1;
        }
        usleep(1000000);
    }
}

/* On the destination: completed, with the final job's counts. */
static void settle_completed(struct runner *rn, struct arena *a,
                             struct migration *m, const struct where *w,
                             const struct vjob *final)
{
    struct ferr err = { 0 };
    struct vjob job;

    memset(&job, 0, sizeof(job));
    if (final != NULL && final->type == VJOB_COMPLETED) {
        job = *final;
        runner_stats_into(m, &job);
    } else if (w->dc != NULL
               && virt_job(w->dc, m->instance_uuid, 1, &job, &err) == 0) {
        runner_stats_into(m, &job);
    } else {
        job.elapsed_ms = job.downtime_ms = -1;
    }
    ferr_clear(&err);
    if (job.elapsed_ms >= 0) {
        m->total_time_ms = job.elapsed_ms;
    }
    m->downtime_ms = job.downtime_ms >= 0 ? job.downtime_ms : MIG_NULL_INT;
    store_host_set(rn->app->store, m->instance_uuid, m->dest_compute);
    if (runner_finish(rn, m, MIG_COMPLETED, NULL) == 0) {
        drop_copies(rn, a, m, m->source_compute, w->dc);
    }
}

/* On the source, or the source is silent and the destination does not
 * have it: it never left.  A guest the monitor paused is resumed. */
static void settle_stayed(struct runner *rn, struct arena *a,
                          struct migration *m, const struct where *w,
                          int aborted, const struct monitor *mo,
                          const char *reason)
{
    struct ferr err = { 0 };

    if (monitor_after(mo, w->src == 1, w->spower == POWER_PAUSED)
        == MON_RESUME) {
        virt_resume(w->sc, m->instance_uuid, &err); /* recovery */
        ferr_clear(&err);
    }
    if (w->src < 0) {
        reason = arena_printf(a,
                              "%s; %s could not be asked for %d s and "
                              "%s does not have the guest",
                              reason ? reason : "failed", m->source_compute,
                              rn->conf->host_answer_timeout, m->dest_compute);
    }
    /* the runner's word, as after a move: the source's row is the one to
     * read, not the destination's incoming domain (paused, and newer in
     * the index until the inventory sweeps it, later still when the
     * destination is the host that went away) */
    if (w->src == 1) {
        store_host_set(rn->app->store, m->instance_uuid, m->source_compute);
    }
    if (runner_finish(rn, m, aborted ? MIG_CANCELLED : MIG_FAILED,
                      aborted && reason == NULL
                          ? NULL
                          : arena_strdup(a, reason ? reason : "failed"))
        == 0) {
        drop_copies(rn, a, m, m->dest_compute, w->src == 1 ? w->sc : NULL);
    }
}

void settle(struct runner *rn, struct arena *a, struct migration *m,
            int call_ok, int aborted, const struct monitor *mo,
            const char *reason, const struct vjob *final)
{
    struct where w;

    /* asked again after the hosts answered: their calls can take long,
     * and a runner taken over meanwhile touches neither guest nor record */
    if (where_is(rn, a, m, call_ok, &w) < 0 || runner_requests(rn, a, m) < 0) {
        return; /* a stop: reconciled after the restart; or not ours */
    }
    /* with a silent source, only a running destination says it moved: a
     * paused one may be the incoming domain of an unfinished pre-copy */
    if (call_ok
        || (w.drc == 1
            && (w.src < 0 ? w.dpower == POWER_RUNNING
                          : server_is_active(w.dpower))
            && !(w.src == 1 && server_is_active(w.spower)))) {
        settle_completed(rn, a, m, &w, final);
    } else if (w.src == 1 || (w.src < 0 && w.drc == 0)) {
        settle_stayed(rn, a, m, &w, aborted, mo, reason);
    } else if (w.src < 0 || w.drc < 0) {
        runner_finish(
            rn, m, MIG_ERROR,
            arena_printf(
                a,
                "%s; %s could not be "
                "asked for %d s%s",
                reason ? reason : "the transfer ended",
                w.src < 0 && w.drc < 0 ? "neither host" : m->dest_compute,
                rn->conf->host_answer_timeout,
                w.src < 0 ? "" : " and the source no longer has the guest"));
    } else {
        runner_finish(rn, m, MIG_ERROR,
                      arena_printf(a,
                                   "%s; the guest is "
                                   "found on neither host",
                                   reason ? reason : "the transfer ended"));
    }
}
