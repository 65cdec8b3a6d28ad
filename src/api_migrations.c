/*
 * api_migrations.c: GET /servers/{id}/migrations[/{migration_id}]
 * (spec §6.2, µv 2.23+): the in-progress live migrations of a server,
 * with progress bytes; uuid from 2.59, user and project from 2.80.
 */
#include <stdlib.h>
#include <string.h>
#include "ferry/api.h"
#include "ferry/fault.h"
#include "ferry/store.h"

/* "In progress" for these endpoints (spec §9.1). */
static int listed(const struct migration *m)
{
    static const char *const st[] = { "queued", "preparing", "running",
                                      "post-migrating" };
    size_t i;

    if (strcmp(m->migration_type, "live-migration") != 0) {
        return 0;
    }
    for (i = 0; i < ARRAY_LEN(st); i++) {
        if (strcmp(m->status, st[i]) == 0) {
            return 1;
        }
    }
    return 0;
}

static void kint_or_null(struct jw *j, const char *k, int64_t v)
{
    if (v == MIG_NULL_INT) {
        jw_knull(j, k);
    } else {
        jw_kint(j, k, v);
    }
}

static void kusec(struct jw *j, const char *k, int64_t us)
{
    char t[27];

    if (us == 0) {
        jw_knull(j, k);
        return;
    }
    time_usformat(us, t);
    jw_kstr(j, k, t);
}

static void render(struct req *r, struct jw *j, const struct migration *m)
{
    jw_obj_open(j);
    kusec(j, "created_at", m->created_at);
    jw_kstr(j, "dest_compute", m->dest_compute);
    jw_kstr(j, "dest_host", m->dest_host);
    jw_kstr(j, "dest_node", m->dest_node);
    kint_or_null(j, "disk_processed_bytes", m->disk_processed);
    kint_or_null(j, "disk_remaining_bytes", m->disk_remaining);
    kint_or_null(j, "disk_total_bytes", m->disk_total);
    jw_kint(j, "id", m->id);
    kint_or_null(j, "memory_processed_bytes", m->memory_processed);
    kint_or_null(j, "memory_remaining_bytes", m->memory_remaining);
    kint_or_null(j, "memory_total_bytes", m->memory_total);
    jw_kstr(j, "server_uuid", m->instance_uuid);
    jw_kstr(j, "source_compute", m->source_compute);
    jw_kstr(j, "source_node", m->source_node);
    jw_kstr(j, "status", m->status);
    kusec(j, "updated_at", m->updated_at);
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
           < 0)
    {
        return -err->code;
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

    if (load(app, r, "os_compute_api:servers:migrations:index", &s, &list,
             &n, err) < 0)
    {
        return -err->code;
    }
    resp_ok(w);
    jw_init(&j, &w->body);
    jw_obj_open(&j);
    jw_key(&j, "migrations");
    jw_arr_open(&j);
    for (i = 0; i < n; i++) {
        if (listed(&list[i])) {
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

    if (load(app, r, "os_compute_api:servers:migrations:show", &s, &list,
             &n, err) < 0)
    {
        return -err->code;
    }
    id = strtoll(mid, &end, 10);
    for (i = 0; *mid != '\0' && *end == '\0' && i < n; i++) {
        if (list[i].id == id) {
            m = &list[i];
        }
    }
    if (m == NULL) {
        return ferr_set(err, FE_NOTFOUND, "In-progress live migration %s is "
                        "not found for server %s.", mid, r->args[0]);
    }
    if (strcmp(m->migration_type, "live-migration") != 0) {
        return ferr_set(err, FE_NOTFOUND, "Migration %s for server %s is not "
                        "live-migration.", mid, r->args[0]);
    }
    if (!listed(m)) {
        return ferr_set(err, FE_NOTFOUND, "Live migration %s for server %s "
                        "is not in progress.", mid, r->args[0]);
    }
    resp_ok(w);
    jw_init(&j, &w->body);
    jw_obj_open(&j);
    jw_key(&j, "migration");
    render(r, &j, m);
    jw_obj_close(&j);
    return 0;
}
