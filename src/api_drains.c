/*
 * api_drains.c: /v2.1/os-ferry-drains, ferry's own admin API for host
 * drains (drain.h; doc/api.md "Host drains").  Outside Nova's names and
 * microversions: every microversion sees the same API.  Each endpoint has
 * a policy rule of its own (ferry:drains:*, admin-only as shipped); the
 * body is checked against its schema before the policy, as Nova's
 * validation decorators run before a handler's context.can.
 *
 * A request worker never plans: it checks what it can without libvirt
 * (the hosts are configured, the host is not being drained already),
 * records the drain (planning) and answers 202 with it; the runners plan
 * and carry it out, and GET shows how far they are.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ferry/api.h"
#include "ferry/drain.h"
#include "ferry/fault.h"
#include "ferry/inventory.h"
#include "ferry/log.h"
#include "ferry/runner.h"
#include "ferry/schema.h"
#include "ferry/store.h"

#define RULE_CREATE "ferry:drains:create"
#define RULE_INDEX "ferry:drains:index"
#define RULE_SHOW "ferry:drains:show"
#define RULE_CANCEL "ferry:drains:cancel"
#define RULE_ENABLE "ferry:drains:enable_host"

static const char *const move_names[] = {
    [DM_LIVE] = "live",
    [DM_COLD] = "cold",
    [DM_LEAVE] = "leave",
};

static const char *const shut_off_names[] = {
    [DSO_COLD_MIGRATE] = "cold_migrate",
    [DSO_LEAVE] = "leave",
};

/* A host a drain may name: configured, or 400 as Nova words it. */
static int known_host(struct app *app, const char *host, struct ferr *err)
{
    if (conf_host_find(app->conf, host) == NULL) {
        return ferr_set(err, FE_BADREQ, "Compute host %s could not be found.",
                        host);
    }
    return 0;
}

/* 1 when host takes new servers: enabled in ferry.conf and not disabled
 * by a drain. */
static int host_enabled(struct app *app, const char *host)
{
    const struct conf_host *h = conf_host_find(app->conf, host);

    return h != NULL && h->enabled && !store_host_is_disabled(app->store, host);
}

static void render_links(struct req *r, struct jw *j, const struct drain *d)
{
    const char *path =
        arena_printf(r->arena, "os-ferry-drains/%lld", (long long) d->id);

    jw_key(j, "links");
    jw_arr_open(j);
    jw_obj_open(j);
    jw_kstr(j, "rel", "self");
    jw_kstr(j, "href", arena_printf(r->arena, "%s/%s", api_base(r, 1), path));
    jw_obj_close(j);
    jw_arr_close(j);
}

static void render_drain(struct app *app, struct req *r, struct jw *j,
                         const struct drain *d)
{
    size_t i;

    jw_kint(j, "id", d->id);
    jw_kstr(j, "uuid", d->uuid);
    jw_kstr(j, "host", d->host);
    jw_kstr(j, "status", drain_status_name(d->status));
    jw_kbool(j, "dry_run", d->dry_run);
    jw_key(j, "target_hosts");
    if (d->targets == NULL) {
        jw_null(j);
    } else {
        jw_arr_open(j);
        for (i = 0; i < d->ntargets; i++) {
            jw_str(j, d->targets[i]);
        }
        jw_arr_close(j);
    }
    jw_kint(j, "max_parallel", d->max_parallel);
    if (d->block_migration < 0) {
        jw_kstr(j, "block_migration", "auto");
    } else {
        jw_kbool(j, "block_migration", d->block_migration);
    }
    jw_kstr(j, "shut_off", shut_off_names[d->shut_off == DSO_LEAVE]);
    jw_kbool(j, "host_enabled", host_enabled(app, d->host));
    jw_kstr(j, "error", d->error);
    jw_kstr(j, "user_id", d->user_id);
    jw_kstr(j, "project_id", d->project_id);
    jw_kstr(j, "request_id", d->request_id);
    api_kusec(j, "created_at", d->created_at);
    api_kusec(j, "updated_at", d->updated_at);
    api_kusec(j, "finished_at", d->finished_at);
    render_links(r, j, d);
}

/* "a\nb" as ["a", "b"] (no reason: []). */
static void render_reasons(struct jw *j, const char *reasons)
{
    const char *p = reasons, *nl;

    jw_key(j, "reasons");
    jw_arr_open(j);
    while (p != NULL && *p != '\0') {
        nl = strchr(p, '\n');
        jw_strn(j, p, nl ? (size_t) (nl - p) : strlen(p));
        p = nl ? nl + 1 : NULL;
    }
    jw_arr_close(j);
}

static void render_server(struct jw *j, const struct drain_server *s)
{
    jw_obj_open(j);
    jw_kstr(j, "server_id", s->uuid);
    jw_kstr(j, "name", s->name);
    jw_kstr(j, "move",
            move_names[(unsigned) s->move <= DM_LEAVE ? s->move : DM_LEAVE]);
    jw_kstr(j, "state", drain_srv_state_name(s->state));
    jw_kstr(j, "planned_host", s->planned_host);
    jw_kstr(j, "failed_host", s->failed_host);
    if (s->migration_id > 0) {
        jw_kint(j, "migration_id", s->migration_id);
    } else {
        jw_knull(j, "migration_id");
    }
    jw_kint(j, "attempts", s->attempts);
    jw_kstr(j, "error", s->error);
    render_reasons(j, s->reasons);
    jw_obj_close(j);
}

/* The drain {id} of the path: 1 found, or -FE_NOTFOUND. */
static int find_drain(struct app *app, struct req *r, struct drain *d,
                      struct ferr *err)
{
    const char *id = r->args[0];
    char *end;
    long long v;
    int rc;

    v = strtoll(id, &end, 10);
    if (*id < '0' || *id > '9' || *end != '\0' || v <= 0 || v > (1LL << 53)) {
        return ferr_set(err, FE_NOTFOUND, "Drain %s could not be found.", id);
    }
    rc = store_drain_get(app->store, v, r->arena, d, err);
    if (rc < 0) {
        return rc;
    }
    if (rc == 0) {
        return ferr_set(err, FE_NOTFOUND, "Drain %s could not be found.", id);
    }
    return 1;
}

/* ?dry_run=<bool>: 1, 0, or -FE_BADREQ. */
static int dry_run_of(struct req *r, int *dry, struct ferr *err)
{
    struct qparam *q;
    const char *v;
    size_t n;

    if (api_parse_query(r, &q, &n, err) < 0) {
        return ferr_fail(err);
    }
    v = api_qlast(q, n, "dry_run");
    *dry = v == NULL ? 0 : schema_bool_from_str(v);
    if (*dry < 0) {
        return ferr_set(err, FE_BADREQ,
                        "Invalid input for query parameters dry_run. Value: "
                        "%s. Unrecognized value '%s', acceptable values are: "
                        "'0', '1', 'f', 'false', 'n', 'no', 'off', 'on', "
                        "'t', 'true', 'y', 'yes'",
                        v, v);
    }
    return 0;
}

/* The targets of a validated body: NULL (absent or null: the scheduler),
 * else each configured, none the drained host, none twice. */
static int targets_of(struct app *app, struct req *r, const jnode *in,
                      struct drain *d, struct ferr *err)
{
    jnode *v;
    size_t i, k, n;

    d->targets = NULL;
    d->ntargets = 0;
    if (!jnode_obj_get(in, "target_hosts", &v) || jnode_type(v) == JT_NULL) {
        return 0;
    }
    n = jnode_arr_len(v);
    if (n == 0) {
        return ferr_set(err, FE_BADREQ,
                        "target_hosts is empty: name at least one host, or "
                        "leave it out for the scheduler.");
    }
    d->targets = arena_alloc(r->arena, n * sizeof(*d->targets));
    for (i = 0; i < n; i++) {
        const char *h = jnode_str(jnode_arr_get(v, i));

        if (known_host(app, h, err) < 0) {
            return ferr_fail(err);
        }
        if (strcmp(h, d->host) == 0) {
            return ferr_set(err, FE_BADREQ, "Cannot drain host %s to itself.",
                            h);
        }
        for (k = 0; k < i; k++) {
            if (strcmp(d->targets[k], h) == 0) {
                return ferr_set(err, FE_BADREQ,
                                "Host %s is named twice in target_hosts.", h);
            }
        }
        d->targets[d->ntargets++] = arena_strdup(r->arena, h);
    }
    return 0;
}

/* The drain a validated body asks for. */
static int drain_of(struct app *app, struct req *r, const jnode *body,
                    struct drain *d, struct ferr *err)
{
    jnode *in, *v;

    jnode_obj_get(body, "drain", &in);
    jnode_obj_get(in, "host", &v);
    d->host = arena_strdup(r->arena, jnode_str(v));
    d->max_parallel = app->conf->max_concurrent_live_migrations;
    if (jnode_obj_get(in, "max_parallel", &v)) {
        d->max_parallel = (int) jnode_int(v);
    }
    d->block_migration = -1;
    if (jnode_obj_get(in, "block_migration", &v)
        && !(jnode_type(v) == JT_STRING && strcmp(jnode_str(v), "auto") == 0)) {
        d->block_migration = schema_bool_from(v);
    }
    d->shut_off = DSO_COLD_MIGRATE;
    if (jnode_obj_get(in, "shut_off", &v)
        && strcmp(jnode_str(v), shut_off_names[DSO_LEAVE]) == 0) {
        d->shut_off = DSO_LEAVE;
    }
    if (known_host(app, d->host, err) < 0
        || targets_of(app, r, in, d, err) < 0) {
        return ferr_fail(err);
    }
    return 0;
}

int h_drains_create(struct app *app, struct req *r, struct resp *w,
                    struct ferr *err)
{
    struct drain d;
    struct jw j;
    jnode *body = NULL;
    int rc = 0;

    memset(&d, 0, sizeof(d));
    if (r->body == NULL || r->body_len == 0
        || json_parse(r->body, r->body_len, &body) < 0) {
        return ferr_set(err, FE_BADREQ, "Malformed request body");
    }
    if (schema_validate(SCHEMA_DRAIN_CREATE, body, err) < 0
        || dry_run_of(r, &d.dry_run, err) < 0
        || api_authorize(app, r, RULE_CREATE, NULL, err) < 0
        || drain_of(app, r, body, &d, err) < 0) {
        rc = ferr_fail(err);
    }
    json_free(body);
    if (rc < 0) {
        return rc;
    }
    d.user_id = r->ident.user_id;
    d.project_id = r->ident.project_id;
    d.request_id = r->request_id;
    if (store_drain_create(app->store, &d, err) < 0) {
        return ferr_fail(err);
    }
    runner_wake(); /* an idle runner plans it now, not a poll later */
    log_info("drain %lld of %s %s (max_parallel %d, targets %s, shut_off %s)"
             "%s %s",
             (long long) d.id, d.host, d.dry_run ? "planning" : "accepted",
             d.max_parallel, d.targets ? "given" : "(scheduler)",
             shut_off_names[d.shut_off],
             d.dry_run ? " (dry run)" : "; the host is disabled",
             r->request_id);
    resp_ok(w);
    w->status = 202;
    resp_header(r, w, "Location",
                arena_printf(r->arena, "%s/os-ferry-drains/%lld",
                             api_base(r, 1), (long long) d.id));
    jw_init(&j, &w->body);
    jw_obj_open(&j);
    jw_key(&j, "drain");
    jw_obj_open(&j);
    render_drain(app, r, &j, &d);
    jw_obj_close(&j);
    jw_obj_close(&j);
    return 0;
}

int h_drains_index(struct app *app, struct req *r, struct resp *w,
                   struct ferr *err)
{
    struct drain *d;
    struct jw j;
    size_t n, i;

    if (api_authorize(app, r, RULE_INDEX, NULL, err) < 0
        || store_drains_list(app->store, r->arena, &d, &n, err) < 0) {
        return ferr_fail(err);
    }
    resp_ok(w);
    jw_init(&j, &w->body);
    jw_obj_open(&j);
    jw_key(&j, "drains");
    jw_arr_open(&j);
    for (i = 0; i < n; i++) {
        jw_obj_open(&j);
        render_drain(app, r, &j, &d[i]);
        jw_obj_close(&j);
    }
    jw_arr_close(&j);
    jw_obj_close(&j);
    return 0;
}

int h_drain_show(struct app *app, struct req *r, struct resp *w,
                 struct ferr *err)
{
    struct drain_server *s;
    struct drain d;
    struct jw j;
    size_t n, i;

    if (api_authorize(app, r, RULE_SHOW, NULL, err) < 0
        || find_drain(app, r, &d, err) < 0
        || store_drain_servers(app->store, d.id, r->arena, &s, &n, err) < 0) {
        return ferr_fail(err);
    }
    resp_ok(w);
    jw_init(&j, &w->body);
    jw_obj_open(&j);
    jw_key(&j, "drain");
    jw_obj_open(&j);
    render_drain(app, r, &j, &d);
    jw_key(&j, "servers");
    jw_arr_open(&j);
    for (i = 0; i < n; i++) {
        render_server(&j, &s[i]);
    }
    jw_arr_close(&j);
    jw_obj_close(&j);
    jw_obj_close(&j);
    return 0;
}

int h_drain_cancel(struct app *app, struct req *r, struct resp *w,
                   struct ferr *err)
{
    struct drain d;
    int rc;

    if (api_authorize(app, r, RULE_CANCEL, NULL, err) < 0
        || find_drain(app, r, &d, err) < 0) {
        return ferr_fail(err);
    }
    rc = store_drain_cancel(app->store, d.id, err);
    if (rc < 0) {
        return rc;
    }
    if (rc == 0) {
        return ferr_set(err, FE_CONFLICT,
                        "Cannot cancel drain %lld while it is in status %s.",
                        (long long) d.id, drain_status_name(d.status));
    }
    log_info("drain %lld of %s: cancelling (migrations running finish; "
             "none starts) %s",
             (long long) d.id, d.host, r->request_id);
    resp_accepted(w);
    return 0;
}

/* enable_host: the host of an ended drain takes servers again. */
static int enable_host(struct app *app, struct req *r, struct resp *w,
                       struct ferr *err)
{
    struct drain d;
    int rc;

    if (schema_validate(SCHEMA_DRAIN_ENABLE_HOST, r->action_body, err) < 0
        || api_authorize(app, r, RULE_ENABLE, NULL, err) < 0
        || find_drain(app, r, &d, err) < 0) {
        return ferr_fail(err);
    }
    if (d.dry_run || !drain_status_ended(d.status)) {
        return ferr_set(err, FE_CONFLICT,
                        "Cannot 'enable_host' for drain %lld while it is in "
                        "status %s%s.",
                        (long long) d.id, drain_status_name(d.status),
                        d.dry_run ? " (a dry run disables nothing)" : "");
    }
    rc = store_host_enable(app->store, d.host, err);
    if (rc < 0) {
        return rc;
    }
    log_info("drain %lld: host %s enabled%s %s", (long long) d.id, d.host,
             rc ? "" : " (it was not disabled)", r->request_id);
    resp_accepted(w);
    return 0;
}

const struct action drain_actions[] = {
    { "enable_host", enable_host },
    { NULL, NULL },
};
