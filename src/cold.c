/*
 * cold.c: a cold migration (spec §5) in a runner.  pre-migrating: the
 * destination chosen by the scheduler (precheck.c), the guest shut down,
 * its local disks copied, its definition copied and, if it ran, started
 * on the destination: "finished", awaiting the user's confirm or revert.
 * confirming: the source copy goes; reverting: the destination copy goes
 * and the guest comes back.
 *
 * Invariants: a refusal leaves the guest untouched; a failed move deletes
 * only the copies it made (which disks are local is decided before the
 * guest is touched) and restarts a guest it stopped; a failure after the
 * guest was touched errors the instance out, with a fault written before
 * the record ends.
 */
#include <string.h>
#include "ferry/iaction.h"
#include "ferry/inventory.h"
#include "ferry/precheck.h"
#include "ferry/runner_int.h"

/* One move in hand, and how far it went (for the undo). */
struct cold {
    struct server s;
    const struct conf_host *dh;
    struct vconn *sc, *dc;
    struct vdisk *disks;
    size_t n, copied;
    int *local; /* per disk: not in a shared directory */
    int was_running, touched, defined;
};

/* The fault a failed cold migration leaves, written before its record
 * ends so that a client never sees the server back to normal first.
 * vm_error: the guest was touched, and the instance errors out as Nova's
 * _error_out_instance_on_exception does; a refusal before that leaves
 * its vm_state (Nova's InstanceFaultRollback).  Code: a refusal's 400 as
 * Nova's Invalid, else 500 (compute/utils.py exception_to_dict); the
 * message cut to 255 bytes (safe_truncate). */
void cold_fault(struct runner *rn, struct arena *a, const struct migration *m,
                const struct ferr *e, int vm_error)
{
    struct instance_fault f;
    struct ferr err = { 0 };
    char *msg = arena_strdup(a, ferr_msg(e));
    size_t n = strlen(msg);

    if (n > 255) {
        n = 255;
        while (n > 0 && ((unsigned char) msg[n] & 0xc0) == 0x80) {
            n--; /* not inside a UTF-8 sequence */
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
        return ferr_fail(err);
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
            return ferr_fail(err);
        }
    }
    return 0;
}

/* The destination, both hosts, "migrating".  -1: the record has ended
 * (or is no longer ours). */
static int cold_begin(struct runner *rn, struct arena *a, struct migration *m,
                      struct cold *c)
{
    struct precheck_req rq;
    struct ferr err = { 0 };
    int rc;

    /* the conductor's migrate_server wraps its cold_migrate reporter */
    iaction_ev_start(rn->app->store, m, IE_CONDUCTOR_MIGRATE_SERVER,
                     iaction_conductor_host());
    iaction_ev_start(rn->app->store, m, IE_COLD_MIGRATE,
                     iaction_conductor_host());
    rc = inventory_find(rn->app->inv, rn->app->store, m->instance_uuid, a,
                        &c->s, &err);
    if (rc == 1) {
        memset(&rq, 0, sizeof(rq));
        rq.uuid = m->instance_uuid;
        rq.source = c->s.host;
        rq.ram_mb = c->s.ram_mb;
        rq.host = m->requested_host;
        rq.cold = 1;
        precheck_drained_from(rn->app->store, a, &rq);
        c->dh = precheck_cold_dest(rn->app->inv, a, &rq, &err);
    }
    if (rc != 1 || c->dh == NULL) {
        runner_finish(rn, m, MIG_ERROR,
                      rc == 0 ? "instance not found"
                              : arena_strdup(a, ferr_msg(&err)));
        ferr_clear(&err);
        return -1;
    }
    iaction_ev_end(rn->app->store, m, NULL, 1, NULL);
    iaction_ev_start(rn->app->store, m, IE_PREP_RESIZE, c->dh->name);
    c->sc = inventory_conn(rn->app->inv, c->s.host, &err);
    c->dc = c->sc ? inventory_conn(rn->app->inv, c->dh->name, &err) : NULL;
    if (c->dc == NULL) {
        runner_finish(rn, m, MIG_ERROR, arena_strdup(a, ferr_msg(&err)));
        ferr_clear(&err);
        return -1;
    }
    m->dest_compute = c->dh->name;
    m->source_node = arena_strdup(a, virt_hostname(c->sc));
    m->dest_node = arena_strdup(a, virt_hostname(c->dc));
    m->dest_host = c->dh->migration_address;
    m->status = mig_status_name(MIG_MIGRATING);
    return runner_save(rn, m);
}

/* The guest stopped, its local disks and its definition copied.  -1 with
 * err filled, c saying how far it went. */
static int cold_copy(struct runner *rn, struct arena *a, struct migration *m,
                     struct cold *c, struct ferr *err)
{
    size_t i;

    if (cold_check(a, c->sc, c->dc, m, &c->disks, &c->n, &c->local, err) < 0) {
        return -1; /* refused: the guest was not touched */
    }
    c->touched = 1;
    if (virt_shutdown(c->sc, m->instance_uuid, rn->conf->shutdown_timeout, err)
        < 0) {
        return -1;
    }
    for (i = 0; i < c->n; i++) {
        if (c->local[i]
            && (virt_disk_create(c->dc, &c->disks[i], err) < 0
                || (c->copied = i + 1,
                    virt_disk_copy(c->sc, c->dc, &c->disks[i], err) < 0))) {
            return -1;
        }
    }
    if (virt_copy_definition(c->sc, c->dc, m->instance_uuid, err) < 0) {
        return -1;
    }
    c->defined = 1;
    return 0;
}

/* Undoes what a failed move did, then ends the record in error. */
static void cold_undo(struct runner *rn, struct arena *a, struct migration *m,
                      struct cold *c, struct ferr *err)
{
    const char *reason = arena_strdup(a, ferr_msg(err));
    struct ferr e = { 0 };
    size_t i;

    /* the claim is asked again, not only remembered: a runner frozen
     * during a long copy may have been taken over and the record ended
     * (reconcile.c leaves the guest as the move left it) */
    if (runner_requests(rn, a, m) < 0) {
        return; /* the new holder decides */
    }
    if (c->defined) {
        virt_destroy(c->dc, m->instance_uuid, &e);
        ferr_clear(&e);
        virt_undefine(c->dc, m->instance_uuid, &e);
        ferr_clear(&e);
    }
    /* only the copies this move made: local[i] was decided before the
     * guest was touched; asking again now, with a host perhaps gone,
     * could take a shared disk for a local one */
    for (i = 0; i < c->copied; i++) {
        if (c->local[i]) {
            virt_disk_delete(c->dc, c->disks[i].path);
            log_info("migration %lld of %s: removing %s on %s",
                     (long long) m->id, m->instance_uuid, c->disks[i].path,
                     c->dh->name);
        }
    }
    if (c->touched && c->was_running) {
        virt_start(c->sc, m->instance_uuid, &e);
        ferr_clear(&e);
    }
    store_host_set(rn->app->store, m->instance_uuid, c->s.host);
    cold_fault(rn, a, m, err, c->touched);
    runner_finish(rn, m, MIG_ERROR, reason);
}

static void cold_move(struct runner *rn, struct arena *a, struct migration *m)
{
    struct ferr err = { 0 };
    struct cold c;

    memset(&c, 0, sizeof(c));
    if (cold_begin(rn, a, m, &c) < 0) {
        return;
    }
    iaction_ev_end(rn->app->store, m, IE_PREP_RESIZE, 1, NULL);
    iaction_ev_start(rn->app->store, m, IE_RESIZE_INSTANCE, c.s.host);
    c.was_running = c.s.power_state == POWER_RUNNING;
    log_info("migration %lld of %s: cold migration %s -> %s (guest %s)",
             (long long) m->id, m->instance_uuid, c.s.host, c.dh->name,
             c.was_running ? "running" : "stopped");
    if (cold_copy(rn, a, m, &c, &err) < 0) {
        goto fail;
    }
    m->status = mig_status_name(MIG_POST_MIGRATING);
    if (runner_save(rn, m) < 0) {
        return;
    }
    iaction_ev_end(rn->app->store, m, IE_RESIZE_INSTANCE, 1, NULL);
    iaction_ev_start(rn->app->store, m, IE_FINISH_RESIZE, c.dh->name);
    if (c.was_running && virt_start(c.dc, m->instance_uuid, &err) < 0) {
        goto fail;
    }
    store_host_set(rn->app->store, m->instance_uuid, c.dh->name);
    m->claimed_by = MIG_UNCLAIMED; /* confirm or revert comes later */
    m->status = mig_status_name(MIG_FINISHED);
    if (runner_save(rn, m) == 0) {
        iaction_ev_end(rn->app->store, m, IE_FINISH_RESIZE, 1, NULL);
        log_info("migration %lld of %s: finished on %s; awaiting "
                 "confirmation",
                 (long long) m->id, m->instance_uuid, c.dh->name);
    }
    return;
fail:
    cold_undo(rn, a, m, &c, &err);
    ferr_clear(&err);
}

/* A confirm or revert that fails errors the instance out (Nova's
 * confirm_resize and revert_resize run in _error_out_instance_on_exception
 * in compute/manager.py). */
static void cold_settle_failed(struct runner *rn, struct arena *a,
                               struct migration *m, struct ferr *err)
{
    cold_fault(rn, a, m, err, 1);
    runner_finish(rn, m, MIG_ERROR, arena_strdup(a, ferr_msg(err)));
    ferr_clear(err);
}

/* confirming: the source copy goes; reverting: the destination copy goes
 * and the guest comes back (running if it ran on the destination). */
static void cold_settle(struct runner *rn, struct arena *a, struct migration *m,
                        int confirm)
{
    const char *drop_host = confirm ? m->source_compute : m->dest_compute;
    const char *keep_host = confirm ? m->dest_compute : m->source_compute;
    struct vconn *drop, *keep;
    struct vdisk *disks = NULL;
    struct ferr err = { 0 };
    size_t n = 0;
    int power = POWER_NOSTATE, running;

    if (runner_requests(rn, a, m) < 0) {
        return; /* taken over while this runner stood */
    }
    iaction_ev_start(rn->app->store, m,
                     confirm ? IE_CONFIRM_RESIZE : IE_REVERT_RESIZE, drop_host);
    drop = inventory_conn(rn->app->inv, drop_host, &err);
    keep = drop ? inventory_conn(rn->app->inv, keep_host, &err) : NULL;
    if (keep == NULL) {
        cold_settle_failed(rn, a, m, &err);
        return;
    }
    running = virt_domain_power(drop, m->instance_uuid, &power, NULL, &err) == 1
        && power == POWER_RUNNING;
    ferr_clear(&err);
    if (runner_requests(rn, a, m) < 0) {
        return;
    }
    if (virt_shutdown(drop, m->instance_uuid, 0, &err) < 0
        || virt_domain_disks(drop, m->instance_uuid, a, &disks, &n, &err) < 0
        || virt_undefine(drop, m->instance_uuid, &err) < 0) {
        cold_settle_failed(rn, a, m, &err);
        return;
    }
    if (runner_requests(rn, a, m) < 0) {
        return;
    }
    settle_drop_local_disks(drop, keep, disks, n, a, m, drop_host);
    if (!confirm) {
        iaction_ev_end(rn->app->store, m, IE_REVERT_RESIZE, 1, NULL);
        iaction_ev_start(rn->app->store, m, IE_FINISH_REVERT_RESIZE, keep_host);
        store_host_set(rn->app->store, m->instance_uuid, keep_host);
        if (running && virt_start(keep, m->instance_uuid, &err) < 0) {
            cold_settle_failed(rn, a, m, &err);
            return;
        }
    }
    runner_finish(rn, m, confirm ? MIG_CONFIRMED : MIG_REVERTED, NULL);
}

void cold_run(struct runner *rn, struct arena *a, struct migration *m)
{
    if (mig_status_is(m->status, MIG_PRE_MIGRATING)) {
        cold_move(rn, a, m);
    } else {
        cold_settle(rn, a, m, mig_status_is(m->status, MIG_CONFIRMING));
    }
}
