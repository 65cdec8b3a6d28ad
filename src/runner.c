/*
 * runner.c: a migration runner process.  Claims records from the store
 * (accepted: prechecks first; queued: already prechecked by a sync
 * request), carries each one out with libvirt and finishes it truthfully:
 *
 *   accepted -> queued -> preparing -> running -> completed
 *                                           \--> failed (guest on source)
 *   any failure before the transfer      ---> error, with the reason
 *
 * The transfer (virDomainMigrateToURI3, peer-to-peer) runs in a thread;
 * this thread polls the job every 0.25 s and saves progress every 0.5 s.
 * After the call returns, libvirt is asked where the guest really is
 * before the record is closed: the store never claims what libvirt denies.
 */
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "ferry/app.h"
#include "ferry/inventory.h"
#include "ferry/precheck.h"
#include "ferry/runner.h"
#include "ferry/store.h"
#include "ferry/virt.h"

#define BASE_FLAGS (VMIG_LIVE | VMIG_PEER2PEER | VMIG_PERSIST_DEST \
                    | VMIG_UNDEFINE_SOURCE)

struct transfer {
    struct vconn *src;
    const char *uuid;
    struct vmigrate vm;
    struct ferr err;
    int rc;
    volatile int done;
};

static void *transfer_main(void *arg)
{
    struct transfer *t = arg;

    t->rc = virt_migrate(t->src, t->uuid, &t->vm, &t->err);
    __atomic_store_n(&t->done, 1, __ATOMIC_RELEASE);
    return NULL;
}

static void save(struct app *app, struct migration *m)
{
    struct ferr err = { 0 };

    if (store_migration_save(app->store, m, &err) < 0) {
        log_error("migration %lld: cannot save: %s", (long long) m->id,
                  ferr_msg(&err));
    }
    ferr_clear(&err);
}

/* Ends the record with status and reason (reason may be NULL). */
static void finish(struct app *app, struct migration *m, const char *status,
                   const char *reason)
{
    m->status = status;
    m->error_reason = reason;
    m->finished_at = time_now_us();
    save(app, m);
    log_info("migration %lld of %s: %s%s%s", (long long) m->id,
             m->instance_uuid, status, reason ? ": " : "",
             reason ? reason : "");
}

static void stats_into(struct migration *m, const struct vjob *j)
{
    if (j->mem_total >= 0) {
        m->memory_total = j->mem_total;
        m->memory_processed = j->mem_processed;
        m->memory_remaining = j->mem_remaining;
    }
    if (j->disk_total >= 0) {
        m->disk_total = j->disk_total;
        m->disk_processed = j->disk_processed;
        m->disk_remaining = j->disk_remaining;
    }
}

int runner_precheck(struct app *app, struct arena *a, struct migration *m,
                    const struct server *s, struct ferr *err)
{
    struct precheck_req rq;
    struct precheck_out out;

    memset(&rq, 0, sizeof(rq));
    rq.uuid = m->instance_uuid;
    rq.source = s->host;
    rq.ram_mb = s->ram_mb;
    rq.host = m->requested_host;
    rq.forced = m->dest_compute != NULL;
    rq.block = m->block_migration;
    if (precheck_run(app->inv, a, &rq, &out, err) < 0) {
        return -err->code;
    }
    m->dest_compute = out.dest;
    m->source_node = out.source_node;
    m->dest_node = out.dest_node;
    m->block_migration = out.block;
    m->status = "queued";
    return 0;
}

static void run_one(struct app *app, struct arena *a, struct migration *m,
                    volatile sig_atomic_t *stop)
{
    const struct conf_host *dh;
    struct transfer t;
    struct server s;
    struct vconn *sc, *dc;
    struct vdisk *disks = NULL;
    const char **devs = NULL;
    struct ferr err = { 0 };
    struct vjob job, final;
    struct vwatch *watch;
    pthread_t th;
    size_t ndisks = 0, i, created = 0;
    int64_t started;
    int n = 0, rc, power = 0, have_final;

    rc = inventory_find(app->inv, app->store, m->instance_uuid, a, &s, &err);
    if (rc != 1) {
        finish(app, m, "error", rc == 0 ? "instance not found"
               : arena_strdup(a, ferr_msg(&err)));
        goto out;
    }
    if (strcmp(m->status, "accepted") == 0) {
        if (runner_precheck(app, a, m, &s, &err) < 0) {
            finish(app, m, "error", arena_strdup(a, ferr_msg(&err)));
            goto out;
        }
        save(app, m);
        log_info("migration %lld of %s: queued for %s (%s)",
                 (long long) m->id, m->instance_uuid, m->dest_compute,
                 m->block_migration ? "block" : "shared storage");
    }
    m->status = "preparing";
    save(app, m);
    dh = inventory_host(app->inv, m->dest_compute);
    sc = inventory_conn(app->inv, s.host, &err);
    dc = dh ? inventory_conn(app->inv, dh->name, &err) : NULL;
    if (sc == NULL || dc == NULL) {
        finish(app, m, "error", arena_printf(a, "Compute service of %s is "
               "unavailable at this time.", sc ? m->dest_compute : s.host));
        goto out;
    }
    if (m->block_migration) {
        if (virt_domain_disks(sc, m->instance_uuid, a, &disks, &ndisks,
                              &err) < 0)
        {
            finish(app, m, "failed", arena_strdup(a, ferr_msg(&err)));
            goto out;
        }
        devs = arena_alloc(a, sizeof(*devs) * (ndisks + 1));
        for (i = 0; i < ndisks; i++) {
            if (virt_disk_create(dc, &disks[i], &err) < 0) {
                finish(app, m, "failed", arena_printf(a, "The supplied disk "
                       "path (%s) could not be prepared on %s: %s",
                       disks[i].path, m->dest_compute, ferr_msg(&err)));
                goto rollback;
            }
            created = i + 1;
            devs[i] = disks[i].dev;
        }
    }

    memset(&t, 0, sizeof(t));
    t.src = sc;
    t.uuid = m->instance_uuid;
    t.vm.dconnuri = arena_printf(a, "qemu+tcp://%s/system",
                                 dh->migration_address
                                 ? dh->migration_address : dh->name);
    t.vm.migrate_uri = arena_printf(a, "tcp://%s", dh->migration_address
                                    ? dh->migration_address : dh->name);
    t.vm.flags = BASE_FLAGS | (m->block_migration ? VMIG_NON_SHARED_INC : 0);
    if (ndisks == 0) {
        t.vm.flags &= ~VMIG_NON_SHARED_INC;
    }
    t.vm.bandwidth_mib = (unsigned long)
                         inventory_conf(app->inv)->live_migration_bandwidth;
    t.vm.disks = devs;
    t.vm.ndisks = ndisks;
    m->status = "running";
    save(app, m);
    log_info("migration %lld of %s: running %s -> %s (flags %u, %s)",
             (long long) m->id, m->instance_uuid, s.host, m->dest_compute,
             t.vm.flags, t.vm.dconnuri);
    started = time_now_us();
    watch = virt_watch_job(sc, m->instance_uuid, &err);
    ferr_clear(&err);
    if (pthread_create(&th, NULL, transfer_main, &t) != 0) {
        virt_watch_end(watch, 0, &job);
        finish(app, m, "error", "cannot start the transfer thread");
        goto rollback;
    }
    while (!__atomic_load_n(&t.done, __ATOMIC_ACQUIRE)) {
        struct ferr e = { 0 };

        usleep(250000);
        if (virt_job(sc, m->instance_uuid, 0, &job, &e) == 0
            && job.type != VJOB_NONE)
        {
            stats_into(m, &job);
            if (++n % 2 == 0) {
                save(app, m);       /* progress every 0.5 s */
            }
        }
        ferr_clear(&e);
        (void) stop;    /* a stopping runner still finishes the transfer */
    }
    pthread_join(th, NULL);
    m->total_time_ms = (time_now_us() - started) / 1000;
    /* the source's job-completed event has the final counts, disks too */
    have_final = virt_watch_end(watch, t.rc == 0 ? 2000 : 0, &final);

    /* where is the guest now?  libvirt decides, not the call's result */
    rc = virt_domain_power(dc, m->instance_uuid, &power, NULL, &err);
    ferr_clear(&err);
    if (t.rc == 0 || (rc == 1 && (power == 1 || power == 3))) {
        struct ferr e = { 0 };

        if (have_final) {
            job = final;
        } else if (virt_job(dc, m->instance_uuid, 1, &job, &e) < 0) {
            job.elapsed_ms = job.downtime_ms = -1;
        }
        if (have_final || job.type == VJOB_COMPLETED) {
            if (job.mem_total >= 0) {
                m->memory_total = job.mem_total;
                m->memory_processed = job.mem_processed;
                m->memory_remaining = job.mem_remaining;
            }
            if (job.disk_total > 0) {
                m->disk_total = job.disk_total;
                m->disk_processed = job.disk_processed;
                m->disk_remaining = job.disk_remaining;
            }
        }
        if (job.elapsed_ms >= 0) {
            m->total_time_ms = job.elapsed_ms;
        }
        m->downtime_ms = job.downtime_ms >= 0 ? job.downtime_ms
                                              : MIG_NULL_INT;
        ferr_clear(&e);
        store_host_set(app->store, m->instance_uuid, m->dest_compute);
        finish(app, m, "completed", NULL);
        ferr_clear(&t.err);
        goto out;
    }
    rc = virt_domain_power(sc, m->instance_uuid, &power, NULL, &err);
    ferr_clear(&err);
    if (rc == 1) {
        finish(app, m, "failed", arena_strdup(a, ferr_msg(&t.err)));
    } else {
        finish(app, m, "error", arena_printf(a, "%s; the guest is found on "
               "neither host", ferr_msg(&t.err)));
    }
    ferr_clear(&t.err);
rollback:
    for (i = 0; i < created; i++) {
        virt_disk_delete(dc, disks[i].path);
    }
out:
    ferr_clear(&err);
}

int runner_main(struct app *app, volatile sig_atomic_t *stop, int wake_fd)
{
    struct arena a;
    struct migration m;
    struct ferr err = { 0 };
    struct pollfd pfd;
    int rc;

    arena_init(&a, 65536);
    while (!*stop) {
        rc = store_migration_claim(app->store, (int64_t) getpid(), &a, &m,
                                   &err);
        if (rc < 0) {
            log_error("runner: %s", ferr_msg(&err));
            ferr_clear(&err);
        }
        if (rc == 1) {
            log_info("migration %lld of %s: claimed (%s)", (long long) m.id,
                     m.instance_uuid, m.status);
            run_one(app, &a, &m, stop);
            arena_reset(&a);
            continue;
        }
        pfd.fd = wake_fd;
        pfd.events = POLLIN;
        poll(&pfd, 1, 200);
    }
    arena_free(&a);
    return 0;
}
