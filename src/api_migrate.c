/*
 * api_migrate.c: POST /servers/{id}/action {"os-migrateLive": ...}
 * (spec §4).  Runs the checks of §4.3 in Nova's order, then records the
 * migration (status "accepted") in the store, which also marks the server
 * as migrating, and answers 202.  The store's unique in-progress row
 * decides a race between two requests for one server.  Each action starts
 * an instance action (Nova's _record_action_start, nova/compute/api.py)
 * in the transaction of its record change.  Below µv 2.34 the request
 * waits for the prechecks of the precheck service (precheckd.h).
 */
#include <stdio.h>
#include <string.h>
#include "ferry/api.h"
#include "ferry/fault.h"
#include "ferry/iaction.h"
#include "ferry/inventory.h"
#include "ferry/log.h"
#include "ferry/precheckd.h"
#include "ferry/runner.h"
#include "ferry/schema.h"
#include "ferry/store.h"

#define LIVE_RULE "os_compute_api:os-migrate-server:migrate_live"

/* Creates record m and the action of the request, both or neither. */
static int create_with_action(struct app *app, struct req *r,
                              struct migration *m, const char *action,
                              struct ferr *err)
{
    m->request_id = r->request_id;
    if (store_begin(app->store, err) < 0
        || store_migration_create(app->store, m, err) < 0
        || api_action_start(app, r, m->instance_uuid, action, err) < 0
        || store_commit(app->store, err) < 0) {
        store_rollback(app->store);
        return ferr_fail(err);
    }
    log_migration(m);
    runner_wake(); /* held by the request below 2.34: no claim yet */
    return 0;
}

/* Sync mode: the request waits for its prechecks, which the precheck
 * service runs (a request worker never speaks to libvirt).  Failure: the
 * record ends in "error" and the error is the answer (400s / 409 / 500,
 * spec 4.4); a service that does not answer in precheck_timeout is such
 * a failure, a 500 as any other (Nova's API answers an RPC timeout of
 * the conductor's migrate_server with a 500 too).  Success: the record
 * is "queued" for a runner.  Either way the request releases it. */
static int sync_precheck(struct app *app, struct req *r, struct migration *m,
                         struct ferr *err)
{
    struct ferr e = { 0 };
    int rc = precheckd_ask(app->precheck_fd, app->conf->precheck_timeout,
                           r->arena, m, err);

    m->claimed_by = MIG_UNCLAIMED;
    if (rc < 0) {
        m->status = mig_status_name(MIG_ERROR);
        m->error_reason = ferr_msg(err);
        m->finished_at = time_now_us();
        log_info("live migration %lld of %s refused: %s %s", (long long) m->id,
                 m->instance_uuid, ferr_msg(err), r->request_id);
    }
    if (store_migration_save(app->store, m, &e) < 0) {
        log_error("live migration %lld: %s %s", (long long) m->id, ferr_msg(&e),
                  r->request_id);
        ferr_clear(&e);
        if (rc == 0) {
            return ferr_set(err, FE_INTERNAL, "store");
        }
    } else {
        log_migration(m);
        runner_wake();
    }
    if (rc < 0 && err->code != FE_BADREQ && err->code != FE_CONFLICT) {
        int code = err->code;

        ferr_clear(err);
        return ferr_set(err, FE_INTERNAL, "precheck failed (%d)", code);
    }
    return rc;
}

/* An optional bool member; dflt when absent. */
static int opt_bool(const jnode *o, const char *key, int dflt)
{
    jnode *v;

    if (!jnode_obj_get(o, key, &v)) {
        return dflt;
    }
    return schema_bool_from(v);
}

/* The refusals of a live migration after the policy, in Nova's order
 * (the controller's force check, then the decorators of live_migrate in
 * nova/compute/api.py, then the host lookup). */
static int live_refused(struct app *app, struct req *r, const struct server *s,
                        const char *host, int force, struct ferr *err)
{
    if (force && host == NULL) {
        return ferr_set(err, FE_BADREQ,
                        "Can't force to a non-provided "
                        "destination");
    }
    if (s->has_tpm) {
        return ferr_set(err, FE_BADREQ,
                        "Operation 'live-migration' not "
                        "supported for vTPM-enabled instance (%s).",
                        s->uuid);
    }
    if (s->has_sev) {
        return ferr_set(err, FE_BADREQ,
                        "Operation 'live-migration' not "
                        "supported for SEV-enabled instance (%s).",
                        s->uuid);
    }
    if (api_check_state(r, s, AS_LIVE_MIGRATE, err) < 0) {
        return ferr_fail(err);
    }
    if (host != NULL && inventory_host(app->inv, host) == NULL) {
        return ferr_set(err, FE_BADREQ,
                        "Compute host %s could not be "
                        "found.",
                        host);
    }
    return 0;
}

static int live_migrate(struct app *app, struct req *r, struct resp *w,
                        struct ferr *err)
{
    const jnode *body = r->action_body;
    const char *id = r->args[0], *host = NULL;
    struct migration m;
    struct server s;
    jnode *args, *v;
    int mv = r->mv_minor, force, block;

    if (schema_validate(schema_live_for(mv), body, err) < 0
        || api_find_server(app, r, id, &s, err) < 0
        || api_authorize(app, r, LIVE_RULE, &s, err) < 0) {
        return ferr_fail(err);
    }
    jnode_obj_get(body, "os-migrateLive", &args);
    if (jnode_obj_get(args, "host", &v) && jnode_type(v) == JT_STRING) {
        host = jnode_str(v);
    }
    force = (mv >= 30 && mv < 68) ? opt_bool(args, "force", 0) : 0;
    if (live_refused(app, r, &s, host, force, err) < 0) {
        return ferr_fail(err);
    }
    jnode_obj_get(args, "block_migration", &v);
    block = (jnode_type(v) == JT_STRING && strcmp(jnode_str(v), "auto") == 0)
        ? -1
        : schema_bool_from(v);

    memset(&m, 0, sizeof(m));
    snprintf(m.instance_uuid, sizeof(m.instance_uuid), "%s", s.uuid);
    m.migration_type = "live-migration";
    m.status = mig_status_name(MIG_ACCEPTED);
    m.source_compute = s.host;
    /* forced (below 2.30 any host; 2.30-2.67 with force) goes straight to
     * the named host; otherwise it is a scheduler-validated request */
    m.dest_compute = (host != NULL && (mv < 30 || force)) ? host : NULL;
    m.requested_host = host;
    m.memory_total = m.memory_processed = m.memory_remaining = MIG_NULL_INT;
    m.disk_total = m.disk_processed = m.disk_remaining = MIG_NULL_INT;
    m.total_time_ms = m.downtime_ms = MIG_NULL_INT;
    m.old_instance_type_id = MIG_NULL_INT;
    m.new_instance_type_id = MIG_NULL_INT;
    m.user_id = r->ident.user_id;
    m.project_id = r->ident.project_id;
    m.block_migration = block;
    m.disk_over_commit = mv < 25 ? opt_bool(args, "disk_over_commit", 0) : 0;
    m.force = mv < 30 ? (host != NULL) : force;
    m.mv_minor = mv;
    /* below 2.34 the request itself runs the prechecks (spec 4.4); the
     * record is held (MIG_HELD_BY_REQUEST) so no runner takes it meanwhile */
    m.claimed_by = mv < 34 ? MIG_HELD_BY_REQUEST : MIG_UNCLAIMED;
    if (create_with_action(app, r, &m, IA_LIVE_MIGRATION, err) < 0) {
        if (err->code == FE_CONFLICT) {
            ferr_clear(err);
            return ferr_set(err, FE_CONFLICT,
                            "Cannot 'os-migrateLive' "
                            "instance %s while it is in task_state "
                            "migrating",
                            id);
        }
        return ferr_fail(err);
    }
    if (mv < 34 && sync_precheck(app, r, &m, err) < 0) {
        return ferr_fail(err);
    }
    log_info("live migration %lld of %s from %s accepted (host %s, "
             "block_migration %s, microversion 2.%d) %s",
             (long long) m.id, s.uuid, s.host, host ? host : "(scheduler)",
             block < 0   ? "auto"
                 : block ? "true"
                         : "false",
             mv, r->request_id);
    resp_accepted(w);
    return 0;
}

/* ---- cold migration (spec §5) ------------------------------------------ */

static int cold_migrate(struct app *app, struct req *r, struct resp *w,
                        struct ferr *err)
{
    const jnode *body = r->action_body;
    const char *host = NULL;
    struct migration m;
    struct server s;
    jnode *args, *v;

    if (r->mv_minor >= 56) {
        if (schema_validate(SCHEMA_MIGRATE_2_56, body, err) < 0) {
            return ferr_fail(err);
        }
        jnode_obj_get(body, "migrate", &args);
        if (args != NULL && jnode_obj_get(args, "host", &v)
            && jnode_type(v) == JT_STRING) {
            host = jnode_str(v);
        }
    }
    if (api_find_server(app, r, r->args[0], &s, err) < 0
        || api_authorize(app, r, "os_compute_api:os-migrate-server:migrate", &s,
                         err)
            < 0
        || api_check_state(r, &s, AS_MIGRATE, err) < 0) {
        return ferr_fail(err);
    }
    if (!inventory_host_up(app->store, s.host)) {
        return ferr_set(err, FE_CONFLICT,
                        "Service is unavailable at this "
                        "time.");
    }
    if (host != NULL && strcmp(host, s.host) == 0) {
        return ferr_set(err, FE_BADREQ,
                        "Cannot migrate to the host where the "
                        "server exists.");
    }
    if (host != NULL && inventory_host(app->inv, host) == NULL) {
        return ferr_set(err, FE_BADREQ,
                        "Compute host %s could not be "
                        "found.",
                        host);
    }
    memset(&m, 0, sizeof(m));
    snprintf(m.instance_uuid, sizeof(m.instance_uuid), "%s", s.uuid);
    m.migration_type = "migration";
    m.status = mig_status_name(MIG_PRE_MIGRATING);
    m.source_compute = s.host;
    m.requested_host = host;
    m.old_instance_type_id = m.new_instance_type_id = MIG_NULL_INT;
    m.user_id = r->ident.user_id;
    m.project_id = r->ident.project_id;
    m.mv_minor = r->mv_minor;
    if (create_with_action(app, r, &m, IA_MIGRATE, err) < 0) {
        if (err->code == FE_CONFLICT) {
            ferr_clear(err);
            return ferr_set(err, FE_CONFLICT,
                            "Cannot 'migrate' instance %s "
                            "while it is in task_state resize_prep",
                            r->args[0]);
        }
        return ferr_fail(err);
    }
    log_info("cold migration %lld of %s from %s accepted (host %s) %s",
             (long long) m.id, s.uuid, s.host, host ? host : "(scheduler)",
             r->request_id);
    resp_accepted(w);
    return 0;
}

/* confirmResize / revertResize: the finished cold migration moves on.
 * action is the API's action and the instance action's name alike. */
static int settle_resize(struct app *app, struct req *r, const char *action,
                         enum api_state_action as, const char *rule,
                         const char *to, struct ferr *err)
{
    struct migration m;
    struct server s;
    int rc;

    if (api_find_server(app, r, r->args[0], &s, err) < 0
        || api_authorize(app, r, rule, &s, err) < 0
        || api_check_state(r, &s, as, err) < 0) {
        return ferr_fail(err);
    }
    rc = store_migration_active(app->store, s.uuid, r->arena, &m, err);
    if (rc < 0) {
        return rc;
    }
    if (rc == 0 || !mig_status_is(m.status, MIG_FINISHED)) {
        return ferr_set(err, FE_BADREQ, "Instance has not been resized.");
    }
    /* the record, its runner's request id and the action move together */
    if (store_begin(app->store, err) < 0) {
        return ferr_fail(err);
    }
    rc = store_migration_cas(app->store, m.id, mig_status_name(MIG_FINISHED),
                             to, err);
    if (rc == 1
        && (store_migration_set_request(app->store, m.id, r->request_id, err)
                < 0
            || api_action_start(app, r, s.uuid, action, err) < 0
            || store_commit(app->store, err) < 0)) {
        rc = ferr_fail(err);
    }
    if (rc != 1) {
        store_rollback(app->store);
    }
    if (rc < 0) {
        return rc;
    }
    if (rc == 0) {
        return ferr_set(err, FE_BADREQ, "Instance has not been resized.");
    }
    log_info("cold migration %lld of %s: %s %s", (long long) m.id, s.uuid, to,
             r->request_id);
    {
        struct migration x = m;

        x.status = to;
        x.request_id = r->request_id;
        log_migration_from(&x, m.status);
    }
    return 0;
}

static int confirm_resize(struct app *app, struct req *r, struct resp *w,
                          struct ferr *err)
{
    if (settle_resize(app, r, IA_CONFIRM_RESIZE, AS_CONFIRM_RESIZE,
                      "os_compute_api:servers:confirm_resize",
                      mig_status_name(MIG_CONFIRMING), err)
        < 0) {
        return ferr_fail(err);
    }
    resp_no_content(w);
    return 0;
}

static int revert_resize(struct app *app, struct req *r, struct resp *w,
                         struct ferr *err)
{
    if (settle_resize(app, r, IA_REVERT_RESIZE, AS_REVERT_RESIZE,
                      "os_compute_api:servers:revert_resize",
                      mig_status_name(MIG_REVERTING), err)
        < 0) {
        return ferr_fail(err);
    }
    resp_accepted(w);
    return 0;
}

const struct action server_actions[] = {
    { "os-migrateLive", live_migrate },
    { "migrate", cold_migrate },
    { "confirmResize", confirm_resize },
    { "revertResize", revert_resize },
    { NULL, NULL },
};
