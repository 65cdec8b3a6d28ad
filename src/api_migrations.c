/*
 * api_migrations.c: GET /servers/{id}/migrations[/{migration_id}]
 * (spec §6.2, µv 2.23+): the in-progress live migrations of a server,
 * with progress bytes; uuid from 2.59, user and project from 2.80.
 */
#include <stdlib.h>
#include <string.h>
#include "ferry/api.h"
#include "ferry/fault.h"
#include "ferry/iaction.h"
#include "ferry/log.h"
#include "ferry/schema.h"
#include "ferry/store.h"

static void render(struct req *r, struct jw *j, const struct migration *m)
{
    jw_obj_open(j);
    api_kusec(j, "created_at", m->created_at);
    jw_kstr(j, "dest_compute", m->dest_compute);
    jw_kstr(j, "dest_host", m->dest_host);
    jw_kstr(j, "dest_node", m->dest_node);
    api_kint_null(j, "disk_processed_bytes", m->disk_processed);
    api_kint_null(j, "disk_remaining_bytes", m->disk_remaining);
    api_kint_null(j, "disk_total_bytes", m->disk_total);
    jw_kint(j, "id", m->id);
    api_kint_null(j, "memory_processed_bytes", m->memory_processed);
    api_kint_null(j, "memory_remaining_bytes", m->memory_remaining);
    api_kint_null(j, "memory_total_bytes", m->memory_total);
    jw_kstr(j, "server_uuid", m->instance_uuid);
    jw_kstr(j, "source_compute", m->source_compute);
    jw_kstr(j, "source_node", m->source_node);
    jw_kstr(j, "status", m->status);
    api_kusec(j, "updated_at", m->updated_at);
    if (r->mv_minor >= 59) {
        jw_kstr(j, "uuid", m->uuid);
    }
    if (r->mv_minor >= 80) {
        jw_kstr(j, "user_id", m->user_id);
        jw_kstr(j, "project_id", m->project_id);
    }
    jw_obj_close(j);
}

/* The server's records, without the hidden ones: hidden records are
 * never output (spec 6.1), so they count as absent. */
static int load(struct app *app, struct req *r, const char *rule,
                struct server *s, struct migration **list, size_t *n,
                struct ferr *err)
{
    size_t i, k = 0;

    if (api_find_server(app, r, r->args[0], s, err) < 0
        || api_authorize(app, r, rule, s, err) < 0
        || store_migrations_of(app->store, s->uuid, r->arena, list, n, err)
            < 0) {
        return ferr_fail(err);
    }
    for (i = 0; i < *n; i++) {
        if (!(*list)[i].hidden) {
            (*list)[k++] = (*list)[i];
        }
    }
    *n = k;
    return 0;
}

int h_server_migrations(struct app *app, struct req *r, struct resp *w,
                        struct ferr *err)
{
    struct migration *list;
    struct server s;
    struct jw j;
    size_t n, i;

    if (load(app, r, "os_compute_api:servers:migrations:index", &s, &list, &n,
             err)
        < 0) {
        return ferr_fail(err);
    }
    resp_ok(w);
    jw_init(&j, &w->body);
    jw_obj_open(&j);
    jw_key(&j, "migrations");
    jw_arr_open(&j);
    for (i = 0; i < n; i++) {
        if (mig_live_in_progress(&list[i])) {
            render(r, &j, &list[i]);
        }
    }
    jw_arr_close(&j);
    jw_obj_close(&j);
    return 0;
}

int h_server_migration_show(struct app *app, struct req *r, struct resp *w,
                            struct ferr *err)
{
    const char *mid = r->args[1];
    struct migration *list, *m = NULL;
    struct server s;
    struct jw j;
    size_t n, i;
    char *end;
    long long id;

    if (load(app, r, "os_compute_api:servers:migrations:show", &s, &list, &n,
             err)
        < 0) {
        return ferr_fail(err);
    }
    id = strtoll(mid, &end, 10);
    for (i = 0; *mid != '\0' && *end == '\0' && i < n; i++) {
        if (list[i].id == id) {
            m = &list[i];
        }
    }
    if (m == NULL) {
        return ferr_set(err, FE_NOTFOUND,
                        "In-progress live migration %s is "
                        "not found for server %s.",
                        mid, r->args[0]);
    }
    if (strcmp(m->migration_type, "live-migration") != 0) {
        return ferr_set(err, FE_NOTFOUND,
                        "Migration %s for server %s is not "
                        "live-migration.",
                        mid, r->args[0]);
    }
    if (!mig_live_in_progress(m)) {
        return ferr_set(err, FE_NOTFOUND,
                        "Live migration %s for server %s "
                        "is not in progress.",
                        mid, r->args[0]);
    }
    resp_ok(w);
    jw_init(&j, &w->body);
    jw_obj_open(&j);
    jw_key(&j, "migration");
    render(r, &j, m);
    jw_obj_close(&j);
    return 0;
}

/* The record <mid> of server s, of any type, or NULL with err filled:
 * missing is the code of Nova's answer when there is no such record (404
 * for an abort, 400 for a force complete). */
static struct migration *record_of(struct app *app, struct req *r,
                                   const struct server *s, const char *mid,
                                   int missing, struct ferr *err)
{
    struct migration *list;
    size_t n, i;
    char *end;
    long long id = strtoll(mid, &end, 10);

    if (store_migrations_of(app->store, s->uuid, r->arena, &list, &n, err)
        < 0) {
        return NULL;
    }
    for (i = 0; *mid != '\0' && *end == '\0' && i < n; i++) {
        if (list[i].id == id && !list[i].hidden) {
            return &list[i];
        }
    }
    ferr_set(err, missing, "Migration %s not found for instance %s", mid,
             s->uuid);
    return NULL;
}

/* DELETE /servers/{id}/migrations/{mid}: abort (spec §6.3, 2.24+). */
int h_server_migration_abort(struct app *app, struct req *r, struct resp *w,
                             struct ferr *err)
{
    const char *id = r->args[0], *mid = r->args[1];
    struct migration *m;
    struct server s;
    int waiting, rc;

    if (api_find_server(app, r, id, &s, err) < 0
        || api_authorize(app, r, "os_compute_api:servers:migrations:delete", &s,
                         err)
            < 0
        || api_check_state(r, &s, AS_ABORT, err) < 0) {
        return ferr_fail(err);
    }
    m = record_of(app, r, &s, mid, FE_NOTFOUND, err);
    if (m == NULL) {
        return ferr_fail(err);
    }
    waiting = mig_status_is(m->status, MIG_QUEUED)
        || mig_status_is(m->status, MIG_PREPARING);
    if (!mig_status_is(m->status, MIG_RUNNING)
        && !(r->mv_minor >= 65 && waiting)) {
        return ferr_set(err, FE_BADREQ,
                        "Migration %s state of instance %s "
                        "is %s. Cannot abort live migration while the "
                        "migration is in this state.",
                        mid, s.uuid, m->status);
    }
    /* the request and its live_migration_cancel action
     * (nova/compute/api.py live_migrate_abort) go together */
    rc = store_begin(app->store, err);
    if (rc == 0) {
        rc = store_migration_cancel_waiting(app->store, m->id, err);
    }
    if (rc == 0) {
        rc = store_migration_request(app->store, m->id, "abort", err);
    }
    if (rc >= 0
        && (api_action_start(app, r, s.uuid, IA_LIVE_MIGRATION_CANCEL, err) < 0
            || store_commit(app->store, err) < 0)) {
        rc = ferr_fail(err);
    }
    if (rc < 0) {
        store_rollback(app->store);
        return rc;
    }
    if (rc == 1) {
        /* no runner had it: the abort is done here, as the source
         * compute's live_migration_abort cancels a queued job */
        struct migration x = *m;

        x.request_id = r->request_id;
        x.status = mig_status_name(MIG_CANCELLED);
        log_migration_from(&x, m->status);
        x.status = m->status;
        iaction_ev_start(app->store, &x, IE_LIVE_MIGRATION_ABORT,
                         m->source_compute);
        iaction_ev_end(app->store, &x, IE_LIVE_MIGRATION_ABORT, 1, NULL);
    }
    log_info("migration %lld of %s: abort requested (%s) %s", (long long) m->id,
             s.uuid, m->status, r->request_id);
    resp_accepted(w);
    return 0;
}

/* POST /servers/{id}/migrations/{mid}/action {"force_complete": null}
 * (spec §6.4, 2.22+). */
static int force_complete(struct app *app, struct req *r, struct resp *w,
                          struct ferr *err)
{
    const jnode *body = r->action_body;
    const char *id = r->args[0], *mid = r->args[1];
    struct migration *m;
    struct server s;

    if (schema_validate(SCHEMA_FORCE_COMPLETE, body, err) < 0
        || api_find_server(app, r, id, &s, err) < 0
        || api_authorize(app, r,
                         "os_compute_api:servers:migrations:force_complete", &s,
                         err)
            < 0
        || api_check_state(r, &s, AS_FORCE_COMPLETE, err) < 0) {
        return ferr_fail(err);
    }
    m = record_of(app, r, &s, mid, FE_BADREQ, err);
    if (m == NULL) {
        return ferr_fail(err);
    }
    if (!mig_status_is(m->status, MIG_RUNNING)) {
        return ferr_set(err, FE_BADREQ,
                        "Migration %s state of instance %s is "
                        "%s. Cannot force complete while the migration is in "
                        "this state.",
                        mid, s.uuid, m->status);
    }
    if (store_begin(app->store, err) < 0
        || store_migration_request(app->store, m->id, "force_complete", err) < 0
        || api_action_start(app, r, s.uuid, IA_LIVE_MIGRATION_FORCE_COMPLETE,
                            err)
            < 0
        || store_commit(app->store, err) < 0) {
        store_rollback(app->store);
        return ferr_fail(err);
    }
    log_info("migration %lld of %s: force complete requested %s",
             (long long) m->id, s.uuid, r->request_id);
    resp_accepted(w);
    return 0;
}

const struct action migration_actions[] = {
    { "force_complete", force_complete },
    { NULL, NULL },
};
