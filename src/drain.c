/*
 * drain.c: a host drain carried out by the migration runners (drain.h).
 * Each runner calls drain_step between migrations; a step takes a drain's
 * lease (one runner at a time, taken over when its holder's heartbeat
 * stops, so a restarted ferryd resumes where the store says), does what
 * its status asks and lets go:
 *
 *   planning    every server of the host planned: its move (live, cold,
 *               or left when shut off and shut_off = leave), and either a
 *               destination (the candidate with no reason against it and
 *               the most memory left once the plan's earlier servers are
 *               counted) or every reason of every candidate
 *   running     ended migrations read back (a server moved, or failed:
 *               retried once on another host when one fits), a finished
 *               cold migration confirmed, new ones started while fewer
 *               than max_parallel are in flight; the end when none is left
 *   cancelling  nothing new starts; the drain ends once what ran ended
 *
 * A server is moved by an ordinary migration record (as the API would
 * create it, with its instance action): the runners' claim then applies
 * the queue and max_concurrent_live_migrations, the prechecks run again
 * and reconciliation covers a crash; no server is on two hosts or none
 * beyond what a single migration guarantees.
 */
#include <stdio.h>
#include <string.h>
#include "ferry/drain.h"
#include "ferry/iaction.h"
#include "ferry/inventory.h"
#include "ferry/log.h"
#include "ferry/precheck.h"
#include "ferry/runner.h"
#include "ferry/store.h"

#define DRAIN_STALE_US 10000000 /* a lease whose runner is silent 10 s */
#define DRAIN_MV \
    93 /* the records' microversion: the latest
                                 * behaviour (no disk-space check) */

static const char *const status_names[DR__COUNT] = {
    [DR_PLANNING] = "planning",   [DR_PLANNED] = "planned",
    [DR_RUNNING] = "running",     [DR_CANCELLING] = "cancelling",
    [DR_COMPLETED] = "completed", [DR_FAILED] = "failed",
    [DR_CANCELLED] = "cancelled", [DR_ERROR] = "error",
};

static const char *const state_names[DS__COUNT] = {
    [DS_PLANNED] = "planned",     [DS_UNMOVABLE] = "unmovable",
    [DS_WAITING] = "waiting",     [DS_MIGRATING] = "migrating",
    [DS_RETRYING] = "retrying",   [DS_MOVED] = "moved",
    [DS_FAILED] = "failed",       [DS_LEFT] = "left",
    [DS_CANCELLED] = "cancelled",
};

const char *drain_status_name(int status)
{
    return (unsigned) status < DR__COUNT ? status_names[status] : "";
}

const char *drain_srv_state_name(int state)
{
    return (unsigned) state < DS__COUNT ? state_names[state] : "";
}

int drain_status_ended(int status)
{
    return status != DR_PLANNING && status != DR_RUNNING
        && status != DR_CANCELLING;
}

/* ---- the plan ---------------------------------------------------------- */

/* The reasons against one server, "host: reason" lines. */
struct reasons {
    struct sbuf b;
    const char *host;
};

static void add_reason(void *ctx, const char *reason)
{
    struct reasons *r = ctx;

    sbuf_printf(&r->b, "%s%s: %s", r->b.len ? "\n" : "", r->host, reason);
}

/* The plan's candidates: the drain's targets, or every configured host
 * but the source that the scheduler would take (enabled, not drained). */
struct cands {
    const char **host;
    int64_t *planned_mb; /* what the plan puts there */
    size_t n;
};

static void cands_of(struct app *app, struct arena *a, const struct drain *d,
                     const struct precheck_req *rq, struct cands *c)
{
    const struct conf *conf = inventory_conf(app->inv);
    size_t i, k, cap = conf->nhosts + d->ntargets + 1;

    c->host = arena_alloc(a, cap * sizeof(*c->host));
    c->planned_mb = arena_alloc(a, cap * sizeof(*c->planned_mb));
    c->n = 0;
    if (d->targets != NULL) {
        for (i = 0; i < d->ntargets; i++) {
            c->host[c->n++] = d->targets[i];
        }
        return;
    }
    for (i = 0; i < conf->nhosts; i++) {
        const struct conf_host *h = &conf->hosts[i];
        int drained = 0;

        for (k = 0; k < rq->ndrained; k++) {
            drained |= strcmp(rq->drained[k], h->name) == 0;
        }
        if (h->enabled && !drained && strcmp(h->name, d->host) != 0) {
            c->host[c->n++] = h->name;
        }
    }
}

/* ds's destination among c but exclude (may be NULL): the one with no
 * reason and the most memory left; else every reason in ds->reasons. */
static void plan_server(struct app *app, struct arena *a, const struct drain *d,
                        struct precheck_req *rq, struct cands *c,
                        const char *exclude, struct drain_server *ds)
{
    struct reasons r;
    double avail, best_avail = 0;
    size_t i, best = c->n;

    sbuf_init(&r.b);
    rq->cold = ds->move == DM_COLD;
    for (i = 0; i < c->n; i++) {
        if (exclude != NULL && strcmp(c->host[i], exclude) == 0) {
            continue;
        }
        r.host = c->host[i];
        if (precheck_reasons(app->inv, a, rq, c->host[i], c->planned_mb[i],
                             add_reason, &r, &avail)
                == 0
            && (best == c->n || avail > best_avail)) {
            best = i;
            best_avail = avail;
        }
    }
    if (best < c->n) {
        c->planned_mb[best] += ds->ram_mb;
        ds->planned_host = c->host[best];
        ds->reasons = NULL;
    } else {
        if (r.b.len == 0) {
            sbuf_puts(&r.b,
                      "No valid host was found. There are not enough "
                      "hosts available.");
        }
        ds->planned_host = NULL;
        ds->reasons = arena_strdup(a, r.b.buf);
    }
    sbuf_free(&r.b);
}

/* The move of server s and the state it starts in; a reason when it
 * cannot be moved at all (ds->reasons). */
static void server_move(struct app *app, struct arena *a, const struct drain *d,
                        const struct server *s, struct drain_server *ds)
{
    struct migration m;
    struct ferr e = { 0 };

    ds->state = d->dry_run ? DS_PLANNED : DS_WAITING;
    if (s->power_state == POWER_RUNNING || s->power_state == POWER_PAUSED) {
        ds->move = DM_LIVE;
    } else if (s->power_state == POWER_SHUTDOWN) {
        ds->move = d->shut_off == DSO_LEAVE ? DM_LEAVE : DM_COLD;
    } else {
        ds->move = DM_LEAVE;
        ds->state = DS_UNMOVABLE;
        ds->reasons = arena_printf(a,
                                   "Cannot drain instance %s while it is "
                                   "in power_state %s",
                                   s->uuid, power_state_name(s->power_state));
        return;
    }
    if (store_migration_active(app->store, s->uuid, a, &m, &e) == 1) {
        ds->state = DS_UNMOVABLE;
        ds->reasons = arena_printf(a,
                                   "Instance %s has migration %lld in "
                                   "progress (%s)",
                                   s->uuid, (long long) m.id, m.status);
    }
    ferr_clear(&e);
    if (ds->move == DM_LEAVE && ds->state != DS_UNMOVABLE) {
        ds->state = DS_LEFT;
    }
}

/* planning: every server of the host, in the order libvirt lists them. */
static void step_plan(struct app *app, struct arena *a, const struct drain *d)
{
    struct precheck_req rq;
    struct drain_server ds;
    struct server *srv;
    struct cands c;
    struct ferr e = { 0 };
    struct vconn *sc = inventory_conn(app->inv, d->host, &e);
    size_t n = 0, i, can = 0;

    log_info("drain %lld of %s: planning", (long long) d->id, d->host);
    if (sc == NULL || virt_list(sc, a, &srv, &n, &e) < 0) {
        log_error("drain %lld of %s: cannot list the servers: %s",
                  (long long) d->id, d->host, ferr_msg(&e));
        store_drain_move(app->store, d->id, DR_PLANNING, DR_ERROR, ferr_msg(&e),
                         &e);
        ferr_clear(&e);
        return;
    }
    memset(&rq, 0, sizeof(rq));
    precheck_drained_from(app->store, a, &rq);
    cands_of(app, a, d, &rq, &c);
    for (i = 0; i < n; i++) {
        memset(&ds, 0, sizeof(ds));
        snprintf(ds.uuid, sizeof(ds.uuid), "%s", srv[i].uuid);
        ds.name = srv[i].name;
        ds.ram_mb = srv[i].ram_mb;
        server_move(app, a, d, &srv[i], &ds);
        if (ds.state == DS_PLANNED || ds.state == DS_WAITING) {
            rq.uuid = srv[i].uuid;
            rq.source = d->host;
            rq.ram_mb = srv[i].ram_mb;
            rq.block = d->block_migration;
            rq.mv_minor = DRAIN_MV;
            plan_server(app, a, d, &rq, &c, NULL, &ds);
            if (ds.planned_host == NULL) {
                ds.state = DS_UNMOVABLE;
            }
        }
        can += ds.state != DS_UNMOVABLE;
        if (store_drain_server_put(app->store, d->id, &ds, &e) < 0) {
            log_error("drain %lld: %s", (long long) d->id, ferr_msg(&e));
            ferr_clear(&e);
            return; /* planned again at the next step */
        }
    }
    log_info("drain %lld of %s: planned %zu servers: %zu can go, %zu cannot%s",
             (long long) d->id, d->host, n, can, n - can,
             d->dry_run ? " (dry run)" : "");
    if (store_drain_move(app->store, d->id, DR_PLANNING,
                         d->dry_run ? DR_PLANNED : DR_RUNNING, NULL, &e)
            == 1
        && !d->dry_run) {
        runner_wake(); /* its first migrations are due: the next step now */
    }
    ferr_clear(&e);
}

/* ---- running ----------------------------------------------------------- */

/* Starts the migration of ds (state waiting) as the API would record it:
 * the record and its instance action, both or neither. */
static int start_migration(struct app *app, struct arena *a,
                           const struct drain *d, struct drain_server *ds,
                           struct ferr *err)
{
    struct migration m;
    struct iaction ia;
    char rid[37];

    uuid4(rid);
    memset(&m, 0, sizeof(m));
    snprintf(m.instance_uuid, sizeof(m.instance_uuid), "%s", ds->uuid);
    m.migration_type = ds->move == DM_LIVE ? "live-migration" : "migration";
    m.status =
        mig_status_name(ds->move == DM_LIVE ? MIG_ACCEPTED : MIG_PRE_MIGRATING);
    m.source_compute = d->host;
    m.requested_host = ds->planned_host;
    m.memory_total = m.memory_processed = m.memory_remaining = MIG_NULL_INT;
    m.disk_total = m.disk_processed = m.disk_remaining = MIG_NULL_INT;
    m.total_time_ms = m.downtime_ms = MIG_NULL_INT;
    m.old_instance_type_id = m.new_instance_type_id = MIG_NULL_INT;
    m.user_id = d->user_id;
    m.project_id = d->project_id;
    m.block_migration = d->block_migration;
    m.mv_minor = DRAIN_MV;
    m.claimed_by = MIG_UNCLAIMED;
    m.request_id = arena_printf(a, "req-%s", rid);
    memset(&ia, 0, sizeof(ia));
    ia.action = ds->move == DM_LIVE ? IA_LIVE_MIGRATION : IA_MIGRATE;
    snprintf(ia.instance_uuid, sizeof(ia.instance_uuid), "%s", ds->uuid);
    ia.request_id = m.request_id;
    ia.user_id = d->user_id;
    ia.project_id = d->project_id;
    if (store_begin(app->store, err) < 0
        || store_migration_create(app->store, &m, err) < 0
        || store_action_start(app->store, &ia, err) < 0
        || store_commit(app->store, err) < 0) {
        store_rollback(app->store);
        return ferr_fail(err);
    }
    log_migration(&m);
    runner_wake(); /* as the API's request does: idle runners claim now */
    ds->migration_id = m.id;
    ds->attempts++;
    ds->state = DS_MIGRATING;
    log_info("drain %lld of %s: server %s: %s migration %lld to %s "
             "(attempt %d) %s",
             (long long) d->id, d->host, ds->uuid, m.migration_type,
             (long long) m.id, ds->planned_host, ds->attempts, m.request_id);
    return 0;
}

/* A finished cold migration of a drain is confirmed (the drain moves the
 * server; nobody is asked to verify the resize). */
static void confirm_cold(struct app *app, struct arena *a,
                         const struct migration *m)
{
    struct iaction ia;
    struct ferr e = { 0 };
    char rid[37];
    int rc;

    uuid4(rid);
    memset(&ia, 0, sizeof(ia));
    ia.action = IA_CONFIRM_RESIZE;
    snprintf(ia.instance_uuid, sizeof(ia.instance_uuid), "%s",
             m->instance_uuid);
    ia.request_id = arena_printf(a, "req-%s", rid);
    ia.user_id = m->user_id;
    ia.project_id = m->project_id;
    if (store_begin(app->store, &e) < 0) {
        ferr_clear(&e);
        return;
    }
    rc = store_migration_cas(app->store, m->id, mig_status_name(MIG_FINISHED),
                             mig_status_name(MIG_CONFIRMING), &e);
    if (rc == 1
        && (store_migration_set_request(app->store, m->id, ia.request_id, &e)
                < 0
            || store_action_start(app->store, &ia, &e) < 0
            || store_commit(app->store, &e) < 0)) {
        rc = -1;
    }
    if (rc != 1) {
        store_rollback(app->store);
    } else {
        log_info("cold migration %lld of %s: confirming (drain) %s",
                 (long long) m->id, m->instance_uuid, ia.request_id);
    }
    ferr_clear(&e);
}

/* A row in flight: 1 still in flight, 0 ended (ds updated). */
static int follow(struct app *app, struct arena *a, const struct drain *d,
                  struct drain_server *ds)
{
    struct migration m;
    struct ferr e = { 0 };
    int rc = store_migration_get(app->store, ds->migration_id, a, &m, &e);

    ferr_clear(&e);
    if (rc != 1) {
        return 1; /* the store could not say: asked again next step */
    }
    if (mig_status_is(m.status, MIG_FINISHED)) {
        confirm_cold(app, a, &m);
        return 1;
    }
    if (!mig_status_ended(m.status)) {
        return 1;
    }
    if (mig_status_has(mig_status_of(m.status), MIG_F_SUCCEEDED)
        && !mig_status_is(m.status, MIG_REVERTED)) {
        ds->state = DS_MOVED;
        ds->error = NULL;
        log_info("drain %lld of %s: server %s moved to %s", (long long) d->id,
                 d->host, ds->uuid, ds->planned_host);
        return 0;
    }
    ds->error = arena_printf(a, "migration %lld %s%s%s", (long long) m.id,
                             m.status, m.error_reason ? ": " : "",
                             m.error_reason ? m.error_reason : "");
    if (ds->failed_host == NULL) {
        ds->failed_host = ds->planned_host; /* the first try's */
    }
    ds->state = ds->attempts >= 2 || d->status == DR_CANCELLING ? DS_FAILED
                                                                : DS_RETRYING;
    log_info("drain %lld of %s: server %s: %s%s", (long long) d->id, d->host,
             ds->uuid, ds->error,
             ds->state == DS_RETRYING ? "; retrying on another host" : "");
    return 0;
}

/* A failed server planned again, elsewhere. */
static void replan(struct app *app, struct arena *a, const struct drain *d,
                   struct drain_server *rows, size_t n, struct drain_server *ds)
{
    struct precheck_req rq;
    struct cands c;
    size_t i, k;

    memset(&rq, 0, sizeof(rq));
    precheck_drained_from(app->store, a, &rq);
    cands_of(app, a, d, &rq, &c);
    for (i = 0; i < n; i++) { /* what the plan already sends there */
        for (k = 0; k < c.n
             && (rows[i].state == DS_WAITING || rows[i].state == DS_MIGRATING);
             k++) {
            if (rows[i].planned_host != NULL
                && strcmp(rows[i].planned_host, c.host[k]) == 0) {
                c.planned_mb[k] += rows[i].ram_mb;
            }
        }
    }
    rq.uuid = ds->uuid;
    rq.source = d->host;
    rq.ram_mb = ds->ram_mb;
    rq.block = d->block_migration;
    rq.mv_minor = DRAIN_MV;
    plan_server(app, a, d, &rq, &c, ds->failed_host, ds);
    ds->state = ds->planned_host != NULL ? DS_WAITING : DS_FAILED;
    if (ds->planned_host == NULL) {
        ds->error = arena_printf(a, "%s; no other host fits", ds->error);
    }
}

/* How a drain whose servers are all settled ends. */
static void finish(struct app *app, struct arena *a, const struct drain *d,
                   const struct drain_server *rows, size_t n)
{
    struct ferr e = { 0 };
    size_t i, bad = 0;
    int to;
    const char *why = NULL;

    for (i = 0; i < n; i++) {
        bad += rows[i].state == DS_FAILED || rows[i].state == DS_UNMOVABLE;
    }
    to = d->status == DR_CANCELLING ? DR_CANCELLED
        : bad                       ? DR_FAILED
                                    : DR_COMPLETED;
    if (bad) {
        why = arena_printf(a, "%zu of %zu servers were not moved", bad, n);
    }
    if (store_drain_move(app->store, d->id, d->status, to, why, &e) == 1) {
        log_info("drain %lld of %s: %s%s%s (host stays disabled until "
                 "enable_host)",
                 (long long) d->id, d->host, drain_status_name(to),
                 why ? ": " : "", why ? why : "");
    }
    ferr_clear(&e);
}

/* running or cancelling: one pass over the servers. */
static void step_run(struct app *app, struct arena *a, const struct drain *d)
{
    struct drain_server *rows;
    struct ferr e = { 0 };
    size_t n, i;
    int inflight = 0, open = 0, changed;

    if (store_drain_servers(app->store, d->id, a, &rows, &n, &e) < 0) {
        ferr_clear(&e);
        return;
    }
    for (i = 0; i < n; i++) {
        struct drain_server *ds = &rows[i];
        int was = ds->state;

        changed = 0;
        if (ds->state == DS_MIGRATING) {
            changed = !follow(app, a, d, ds);
            inflight += !changed;
        }
        if (d->status == DR_CANCELLING
            && (ds->state == DS_WAITING || ds->state == DS_RETRYING)) {
            ds->state = DS_CANCELLED;
        }
        if (ds->state == DS_RETRYING) {
            replan(app, a, d, rows, n, ds);
        }
        if (ds->state == DS_WAITING && inflight < d->max_parallel) {
            if (start_migration(app, a, d, ds, &e) < 0) {
                ds->error = arena_strdup(a, ferr_msg(&e));
                ds->state = ++ds->attempts >= 2 ? DS_FAILED : DS_WAITING;
                log_info("drain %lld of %s: server %s: %s", (long long) d->id,
                         d->host, ds->uuid, ds->error);
                ferr_clear(&e);
            }
            inflight += ds->state == DS_MIGRATING;
        }
        if ((changed || ds->state != was)
            && store_drain_server_put(app->store, d->id, ds, &e) < 0) {
            log_error("drain %lld: %s", (long long) d->id, ferr_msg(&e));
            ferr_clear(&e);
            return;
        }
        open += ds->state == DS_MIGRATING || ds->state == DS_WAITING
            || ds->state == DS_RETRYING;
    }
    if (open == 0) {
        finish(app, a, d, rows, n);
    }
}

static void step_one(struct app *app, struct arena *a, int64_t id)
{
    struct drain d;
    struct ferr e = { 0 };

    if (store_drain_get(app->store, id, a, &d, &e) != 1) {
        ferr_clear(&e);
        return;
    }
    log_context(d.request_id);
    if (d.status == DR_PLANNING) {
        step_plan(app, a, &d);
    } else if (d.status == DR_RUNNING || d.status == DR_CANCELLING) {
        step_run(app, a, &d);
    }
    log_context(NULL);
}

int drain_step(struct app *app, int64_t runner, volatile sig_atomic_t *stop)
{
    struct arena a;
    struct ferr e = { 0 };
    int64_t *ids;
    size_t n, i;
    int done = 0;

    arena_init(&a, 16384);
    if (store_drains_open(app->store, &a, &ids, &n, &e) < 0) {
        ferr_clear(&e);
        n = 0;
    }
    for (i = 0; i < n && !*stop; i++) {
        if (store_drain_lease(app->store, ids[i], runner, DRAIN_STALE_US, &e)
            != 1) {
            ferr_clear(&e);
            continue;
        }
        step_one(app, &a, ids[i]);
        store_drain_release(app->store, ids[i], runner);
        done++;
    }
    arena_free(&a);
    return done;
}
