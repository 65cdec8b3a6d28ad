/*
 * api_instance_actions.c: GET /servers/{id}/os-instance-actions[/{req}]
 * as Nova 26.2.2 serves them (nova/api/openstack/compute/
 * instance_actions.py): the actions recorded for a server, newest first;
 * from 2.58 updated_at, paging by limit and marker (a request id) with a
 * next link, and changes-since (changes-before from 2.66); one action
 * with its events, shown to whom policy allows: all events with host and
 * traceback under :events, events without them from 2.51 otherwise,
 * hostId from 2.62, details from 2.84 under :events:details.
 *
 * Also the one place that writes an action for a request
 * (api_action_start); the handlers that start one call it inside their
 * record's transaction.
 */
#include <stdio.h>
#include <string.h>
#include "ferry/api.h"
#include "ferry/fault.h"
#include "ferry/schema.h"
#include "ferry/store.h"

#define RULE(x) "os_compute_api:os-instance-actions:" x

int api_action_start(struct app *app, struct req *r, const char *instance_uuid,
                     const char *action, struct ferr *err)
{
    struct iaction a;

    memset(&a, 0, sizeof(a));
    a.action = action;
    snprintf(a.instance_uuid, sizeof(a.instance_uuid), "%s", instance_uuid);
    a.request_id = r->request_id;
    a.user_id = r->ident.user_id;
    a.project_id = r->ident.project_id;
    return store_action_start(app->store, &a, err);
}

/* ACTION_KEYS, and ACTION_KEYS_V258 from 2.58 */
static void render_fields(struct req *r, struct jw *j, const struct iaction *a)
{
    jw_kstr(j, "action", a->action);
    jw_kstr(j, "instance_uuid", a->instance_uuid);
    jw_kstr(j, "message", a->message);
    jw_kstr(j, "project_id", a->project_id);
    jw_kstr(j, "request_id", a->request_id);
    api_kusec(j, "start_time", a->start_time);
    jw_kstr(j, "user_id", a->user_id);
    if (r->mv_minor >= 58) {
        api_kusec(j, "updated_at", a->updated_at);
    }
}

/* The server and the right to see its actions: 404 before 403, as
 * _get_instance comes before context.can. */
static int load(struct app *app, struct req *r, const char *rule,
                struct server *s, struct iaction **list, size_t *n,
                struct ferr *err)
{
    if (api_find_server(app, r, r->args[0], s, err) < 0
        || api_authorize(app, r, rule, s, err) < 0
        || store_actions_of(app->store, s->uuid, r->arena, list, n, err) < 0) {
        return ferr_fail(err);
    }
    return 0;
}

/* The paging of a list from 2.58: changes-since, changes-before (2.66+),
 * limit and marker. */
struct paging {
    int64_t since, before; /* 0: not given */
    long limit;
    const char *marker; /* NULL: not given */
};

static int read_paging(struct req *r, const struct qparam *q, size_t nq,
                       struct paging *pg, struct ferr *err)
{
    const char *v;

    if ((v = api_qlast(q, nq, "changes-since")) != NULL) {
        schema_parse_datetime(v, &pg->since);
    }
    if (r->mv_minor >= 66 && (v = api_qlast(q, nq, "changes-before")) != NULL) {
        schema_parse_datetime(v, &pg->before);
        if (pg->since && pg->before < pg->since) {
            return ferr_set(err, FE_BADREQ,
                            "The value of changes-since "
                            "must be less than or equal to "
                            "changes-before.");
        }
    }
    if ((v = api_qlast(q, nq, "limit")) != NULL
        && api_parse_limit(v, &pg->limit, err) < 0) {
        return ferr_fail(err);
    }
    pg->marker = api_qlast(q, nq, "marker");
    return 0;
}

int h_instance_actions(struct app *app, struct req *r, struct resp *w,
                       struct ferr *err)
{
    struct iaction *all;
    struct qparam *q = NULL;
    struct server s;
    struct jw j;
    size_t nq = 0, n, i, start = 0, shown = 0;
    const char *last = NULL;
    struct paging pg = { 0, 0, 1000, NULL };
    int paged = r->mv_minor >= 58;

    if (paged
        && (api_parse_query(r, &q, &nq, err) < 0
            || schema_validate_query(schema_actions_query_for(r->mv_minor), q,
                                     nq, err)
                < 0)) {
        return ferr_fail(err);
    }
    if (load(app, r, RULE("list"), &s, &all, &n, err) < 0) {
        return ferr_fail(err);
    }
    if (paged && read_paging(r, q, nq, &pg, err) < 0) {
        return ferr_fail(err);
    }
    /* actions_get (nova/db/main/api.py): limit 0 is an empty page before
     * the marker is looked at; the marker is the newest action of that
     * request id, found among all of them (filters do not apply); and
     * MarkerNotFound is raised with the lookup's result, so its message
     * always reads "Marker None could not be found." */
    if (pg.limit == 0) {
        n = 0;
    } else if (pg.marker != NULL) {
        for (i = 0; i < n && strcmp(all[i].request_id, pg.marker) != 0; i++) {
        }
        if (i == n) {
            return ferr_set(err, FE_BADREQ,
                            "Marker None could not be "
                            "found.");
        }
        start = i + 1;
    }
    resp_ok(w);
    jw_init(&j, &w->body);
    jw_obj_open(&j);
    jw_key(&j, "instanceActions");
    jw_arr_open(&j);
    for (i = start; i < n && (!paged || (long) shown < pg.limit); i++) {
        /* _get_query_nova_resource_by_changes_time: on updated_at */
        if ((pg.since && all[i].updated_at < pg.since)
            || (pg.before && all[i].updated_at > pg.before)) {
            continue;
        }
        jw_obj_open(&j);
        render_fields(r, &j, &all[i]);
        jw_obj_close(&j);
        last = all[i].request_id;
        shown++;
    }
    jw_arr_close(&j);
    /* _get_collection_links: a full page has a next link */
    if (paged && shown > 0 && (long) shown == pg.limit) {
        const char *path = arena_printf(r->arena,
                                        "servers/%s/"
                                        "os-instance-actions",
                                        r->args[0]);

        api_next_link(r, &j, "links", path, q, nq, last);
    }
    jw_obj_close(&j);
    return 0;
}

static void render_event(struct req *r, struct jw *j, const struct ievent *e,
                         const char *project_id, int admin, int details)
{
    jw_obj_open(j);
    jw_kstr(j, "event", e->event);
    api_kusec(j, "start_time", e->start_time);
    api_kusec(j, "finish_time", e->finish_time);
    jw_kstr(j, "result", e->result);
    if (admin) {
        jw_kstr(j, "traceback", e->traceback);
        if (r->mv_minor >= 62) {
            jw_kstr(j, "host", e->host);
        }
    }
    if (r->mv_minor >= 62) {
        /* utils.generate_hostid: sha224(project_id + host), "" without
         * a host */
        char id[57] = "";

        if (e->host != NULL && e->host[0] != '\0') {
            const char *in =
                arena_printf(r->arena, "%s%s", project_id, e->host);

            sha224_hex(in, strlen(in), id);
        }
        jw_kstr(j, "hostId", id);
    }
    if (details) {
        jw_kstr(j, "details", e->details);
    }
    jw_obj_close(j);
}

int h_instance_action_show(struct app *app, struct req *r, struct resp *w,
                           struct ferr *err)
{
    struct policy_target t;
    struct iaction *all, *a = NULL;
    struct ievent *ev;
    struct server s;
    struct jw j;
    size_t n, nev, i;
    int events, admin, details = 0;
    const char *project;

    if (load(app, r, RULE("show"), &s, &all, &n, err) < 0) {
        return ferr_fail(err);
    }
    for (i = 0; i < n && a == NULL; i++) { /* newest first */
        if (strcmp(all[i].request_id, r->args[1]) == 0) {
            a = &all[i];
        }
    }
    if (a == NULL) {
        return ferr_set(err, FE_NOTFOUND, "Action %s not found", r->args[1]);
    }
    /* events with traceback (and host from 2.62) under :events; without
     * them from 2.51 for anyone who may show the action */
    t.project_id = s.project_id;
    t.user_id = s.user_id;
    admin = policy_check(app->policy, RULE("events"), &r->ident, &t);
    events = admin || r->mv_minor >= 51;
    if (events && r->mv_minor >= 84) {
        details =
            policy_check(app->policy, RULE("events:details"), &r->ident, &t);
    }
    if (events
        && store_action_events(app->store, a->id, r->arena, &ev, &nev, err)
            < 0) {
        return ferr_fail(err);
    }
    /* an action without a project (a periodic task's) takes the
     * server's for hostId */
    project = a->project_id && a->project_id[0] ? a->project_id : s.project_id;
    resp_ok(w);
    jw_init(&j, &w->body);
    jw_obj_open(&j);
    jw_key(&j, "instanceAction");
    jw_obj_open(&j);
    render_fields(r, &j, a);
    if (events) {
        jw_key(&j, "events");
        jw_arr_open(&j);
        for (i = 0; i < nev; i++) {
            render_event(r, &j, &ev[i], project, admin, details);
        }
        jw_arr_close(&j);
    }
    jw_obj_close(&j);
    jw_obj_close(&j);
    return 0;
}
