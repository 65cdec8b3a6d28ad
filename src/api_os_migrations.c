/*
 * api_os_migrations.c: GET /os-migrations (spec §6.5): every migration
 * record, fields per microversion, the filters, and from 2.59 paging
 * (created_at then id descending, limit, marker by uuid, next link).
 */
#include <stdlib.h>
#include <string.h>
#include "ferry/api.h"
#include "ferry/fault.h"
#include "ferry/schema.h"
#include "ferry/store.h"

static void render(struct req *r, struct jw *j, const struct migration *m)
{
    int mv = r->mv_minor;

    jw_obj_open(j);
    api_kusec(j, "created_at", m->created_at);
    api_kusec(j, "updated_at", m->updated_at);
    jw_kint(j, "id", m->id);
    jw_kstr(j, "source_compute", m->source_compute);
    jw_kstr(j, "dest_compute", m->dest_compute);
    jw_kstr(j, "source_node", m->source_node);
    jw_kstr(j, "dest_node", m->dest_node);
    jw_kstr(j, "dest_host", m->dest_host);
    api_kint_null(j, "old_instance_type_id", m->old_instance_type_id);
    api_kint_null(j, "new_instance_type_id", m->new_instance_type_id);
    jw_kstr(j, "instance_uuid", m->instance_uuid);
    jw_kstr(j, "status", m->status);
    if (mv >= 23) {
        jw_kstr(j, "migration_type", m->migration_type);
        if (mig_live_in_progress(m)) {
            const char *path =
                arena_printf(r->arena,
                             "servers/%s/migrations"
                             "/%lld",
                             m->instance_uuid, (long long) m->id);

            jw_key(j, "links");
            jw_arr_open(j);
            jw_obj_open(j);
            jw_kstr(j, "rel", "self");
            jw_kstr(j, "href",
                    arena_printf(r->arena, "%s/%s", api_base(r, 1), path));
            jw_obj_close(j);
            jw_obj_open(j);
            jw_kstr(j, "rel", "bookmark");
            jw_kstr(j, "href",
                    arena_printf(r->arena, "%s/%s", api_base(r, 0), path));
            jw_obj_close(j);
            jw_arr_close(j);
        }
    }
    if (mv >= 59) {
        jw_kstr(j, "uuid", m->uuid);
    }
    if (mv >= 80) {
        jw_kstr(j, "user_id", m->user_id);
        jw_kstr(j, "project_id", m->project_id);
    }
    jw_obj_close(j);
}

static int by_created_desc(const void *x, const void *y)
{
    const struct migration *a = x, *b = y;

    if (a->created_at != b->created_at) {
        return a->created_at < b->created_at ? 1 : -1;
    }
    return a->id < b->id ? 1 : a->id > b->id ? -1 : 0;
}

static int str_eq(const char *a, const char *b)
{
    return a != NULL && b != NULL && strcmp(a, b) == 0;
}

#define MV_PAGING 59 /* limit, marker, changes-since, next link */

struct filters {
    const char *status, *host, *source, *type, *instance, *user, *project;
    int hidden;            /* -1: not given */
    int64_t since, before; /* 0: not given */
    long limit;            /* paging (2.59+) */
    const char *marker;    /* NULL: none */
};

static int keep(const struct filters *f, const struct migration *m)
{
    if (m->hidden || (f->hidden >= 0 && m->hidden != f->hidden)) {
        return 0;
    }
    if ((f->status && !str_eq(m->status, f->status))
        || (f->type && !str_eq(m->migration_type, f->type))
        || (f->instance && !str_eq(m->instance_uuid, f->instance))
        || (f->user && !str_eq(m->user_id, f->user))
        || (f->project && !str_eq(m->project_id, f->project))) {
        return 0;
    }
    if (f->host != NULL) {
        if (!str_eq(m->source_compute, f->host)
            && !str_eq(m->dest_compute, f->host)) {
            return 0;
        }
    } else if (f->source && !str_eq(m->source_compute, f->source)) {
        return 0;
    }
    if ((f->since && (m->updated_at == 0 || m->updated_at < f->since))
        || (f->before && (m->updated_at == 0 || m->updated_at > f->before))) {
        return 0;
    }
    return 1;
}

/* The filters and paging of the query (validated), as of microversion
 * r->mv_minor. */
static int read_filters(struct req *r, const struct qparam *q, size_t nq,
                        struct filters *f, struct ferr *err)
{
    int mv = r->mv_minor;
    const char *v;

    memset(f, 0, sizeof(*f));
    f->limit = 1000;
    f->status = api_qlast(q, nq, "status");
    f->host = api_qlast(q, nq, "host");
    f->source = api_qlast(q, nq, "source_compute");
    f->type = api_qlast(q, nq, "migration_type");
    f->instance = api_qlast(q, nq, "instance_uuid");
    v = api_qlast(q, nq, "hidden");
    f->hidden = v ? schema_bool_from_str(v) : -1;
    if (f->hidden < -1) {
        f->hidden = -1;
    }
    if (mv >= 80) {
        f->user = api_qlast(q, nq, "user_id");
        f->project = api_qlast(q, nq, "project_id");
    }
    if (mv >= MV_PAGING) {
        if ((v = api_qlast(q, nq, "changes-since")) != NULL) {
            schema_parse_datetime(v, &f->since);
        }
        if (mv >= 66 && (v = api_qlast(q, nq, "changes-before")) != NULL) {
            schema_parse_datetime(v, &f->before);
        }
        if (f->since && f->before && f->since > f->before) {
            return ferr_set(err, FE_BADREQ,
                            "The value of changes-since must "
                            "be less than or equal to changes-before.");
        }
        if ((v = api_qlast(q, nq, "limit")) != NULL
            && api_parse_limit(v, &f->limit, err) < 0) {
            return ferr_fail(err);
        }
        /* get_limit_and_marker: migration_list tests "if marker:", so an
         * empty marker is no marker */
        f->marker = api_qlast(q, nq, "marker");
        if (f->marker != NULL && f->marker[0] == '\0') {
            f->marker = NULL;
        }
    }
    return 0;
}

int h_os_migrations(struct app *app, struct req *r, struct resp *w,
                    struct ferr *err)
{
    struct migration *all;
    struct qparam *q = NULL;
    struct filters f;
    struct jw j;
    size_t nq = 0, n, i, start = 0, shown = 0;
    const char *last = NULL;
    int mv = r->mv_minor, paged = mv >= MV_PAGING;

    if (api_parse_query(r, &q, &nq, err) < 0
        || schema_validate_query(schema_migrations_query_for(mv), q, nq, err)
            < 0
        || api_authorize(app, r, "os_compute_api:os-migrations:index", NULL,
                         err)
            < 0) {
        return ferr_fail(err);
    }
    if (read_filters(r, q, nq, &f, err) < 0) {
        return ferr_fail(err);
    }
    if (store_migrations_of(app->store, NULL, r->arena, &all, &n, err) < 0) {
        return ferr_fail(err);
    }
    if (paged) {
        qsort(all, n, sizeof(*all), by_created_desc);
    }
    if (f.marker != NULL) {
        for (i = 0; i < n && strcmp(all[i].uuid, f.marker) != 0; i++) {
        }
        if (i == n) {
            return ferr_set(err, FE_BADREQ, "Marker %s could not be found.",
                            f.marker);
        }
        start = i + 1;
    }
    resp_ok(w);
    jw_init(&j, &w->body);
    jw_obj_open(&j);
    jw_key(&j, "migrations");
    jw_arr_open(&j);
    for (i = start; i < n && (!paged || (long) shown < f.limit); i++) {
        if (keep(&f, &all[i])) {
            render(r, &j, &all[i]);
            last = all[i].uuid;
            shown++;
        }
    }
    jw_arr_close(&j);
    if (paged && shown > 0 && (long) shown == f.limit) {
        api_next_link(r, &j, "migrations_links", "os-migrations", q, nq, last);
    }
    jw_obj_close(&j);
    return 0;
}
