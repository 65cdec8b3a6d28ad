/*
 * api_servers.c: GET /servers/{id}, /servers and /servers/detail (spec
 * §1.5, §1.6), the server lookup with Nova's visibility rule, the lock and
 * state checks of the server actions, the links every collection shares
 * (base URL, next link), and the one renderer of a server object, whose
 * fields appear exactly from their microversion on (tempest's schemas
 * forbid extra keys).
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include "ferry/api.h"
#include "ferry/drain.h"
#include "ferry/fault.h"
#include "ferry/instances.h"
#include "ferry/inventory.h"
#include "ferry/regex.h"
#include "ferry/schema.h"
#include "ferry/store.h"

/* Nova puts the caller's project into links when the project id occurs
 * anywhere in the request URL, a plain substring test (spec 1.1); a
 * project segment is the usual way it gets there. */
static const char *link_project(struct req *r)
{
    const char *p = r->ident.project_id;
    const char *url;

    if (r->project_seg != NULL) {
        return r->project_seg;
    }
    if (p == NULL || *p == '\0') {
        return NULL;
    }
    url = arena_printf(r->arena, "%s%s%s%s", r->app_url, r->uri,
                       r->query[0] ? "?" : "", r->query);
    return strstr(url, p) != NULL ? p : NULL;
}

const char *api_base(struct req *r, int versioned)
{
    const char *p;

    versioned = versioned != 0;
    if (r->base[versioned] == NULL) {
        p = link_project(r);
        r->base[versioned] =
            arena_cat(r->arena, r->link_url, versioned ? "/v2.1" : "",
                      p ? "/" : "", p ? p : "", (char *) NULL);
    }
    return r->base[versioned];
}

/* application/x-www-form-urlencoded, as Python's urlencode. */
static void form_encode(struct sbuf *b, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";

    for (; *s != '\0'; s++) {
        unsigned char c = (unsigned char) *s;

        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
            || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-'
            || c == '~') {
            sbuf_putc(b, (char) c);
        } else if (c == ' ') {
            sbuf_putc(b, '+');
        } else {
            sbuf_putc(b, '%');
            sbuf_putc(b, hex[c >> 4]);
            sbuf_putc(b, hex[c & 15]);
        }
    }
}

static int by_name_value(const void *x, const void *y)
{
    const struct qparam *a = x, *b = y;
    int c = strcmp(a->name, b->name);

    return c ? c : strcmp(a->value, b->value);
}

/* <query> of a next link (spec §6.5): every parameter sorted by (name,
 * value), one value per name (the greatest), marker replaced in place or
 * appended, each name and value form-encoded. */
static const char *next_query(struct req *r, const struct qparam *q, size_t nq,
                              const char *marker)
{
    struct qparam *s = arena_alloc(r->arena, sizeof(*s) * (nq + 1));
    struct sbuf b;
    const char *out;
    size_t i, n = 0;
    int have_marker = 0;

    memcpy(s, q, sizeof(*s) * nq);
    qsort(s, nq, sizeof(*s), by_name_value);
    sbuf_init(&b);
    for (i = 0; i < nq; i++) {
        if (i + 1 < nq && strcmp(s[i].name, s[i + 1].name) == 0) {
            continue; /* keep the last (greatest) value */
        }
        if (n++ > 0) {
            sbuf_putc(&b, '&');
        }
        form_encode(&b, s[i].name);
        sbuf_putc(&b, '=');
        if (strcmp(s[i].name, "marker") == 0) {
            form_encode(&b, marker);
            have_marker = 1;
        } else {
            form_encode(&b, s[i].value);
        }
    }
    if (!have_marker) {
        sbuf_printf(&b, "%smarker=", n ? "&" : "");
        form_encode(&b, marker);
    }
    out = arena_strdup(r->arena, b.buf ? b.buf : "");
    sbuf_free(&b);
    return out;
}

void api_next_link(struct req *r, struct jw *j, const char *key,
                   const char *path, const struct qparam *q, size_t nq,
                   const char *marker)
{
    jw_key(j, key);
    jw_arr_open(j);
    jw_obj_open(j);
    jw_kstr(j, "rel", "next");
    jw_kstr(j, "href",
            arena_printf(r->arena, "%s/%s?%s", api_base(r, 1), path,
                         next_query(r, q, nq, marker)));
    jw_obj_close(j);
    jw_arr_close(j);
}

int api_find_server(struct app *app, struct req *r, const char *id,
                    struct server *s, struct ferr *err)
{
    char uuid[37];
    size_t i;
    int rc;

    if (uuid_valid(id)) {
        for (i = 0; i < 36; i++) {
            uuid[i] = (char) tolower((unsigned char) id[i]);
        }
        uuid[36] = '\0';
        rc = inventory_lookup(app->conf, app->store, uuid, r->arena, s, err);
        if (rc < 0) {
            return rc;
        }
        if (rc == 1
            && (r->is_admin
                || strcmp(s->project_id,
                          r->ident.project_id ? r->ident.project_id : "")
                    == 0)) {
            return 0;
        }
    }
    return ferr_set(err, FE_NOTFOUND, "Instance %s could not be found.", id);
}

int api_authorize(struct app *app, struct req *r, const char *rule,
                  const struct server *s, struct ferr *err)
{
    struct policy_target t;

    t.project_id = s ? s->project_id : r->ident.project_id;
    t.user_id = s ? s->user_id : r->ident.user_id;
    if (policy_check(app->policy, rule, &r->ident, &t)) {
        return 0;
    }
    return ferr_set(err, FE_FORBIDDEN,
                    "Policy doesn't allow %s to be "
                    "performed.",
                    rule);
}

/*
 * Nova's check_instance_lock and check_instance_state (nova/compute/api.py)
 * of each server action ferry has, one row each, checked in Nova's order:
 * lock, vm_state, task_state, launched_at.  An empty vm list allows any
 * vm_state; an empty task list allows only no task.  confirmResize and
 * revertResize check the task and the launch too, as Nova's decorators do
 * (check_instance_state's defaults): a revert in progress (task
 * resize_reverting) is a 409 before the record's status is looked at.
 * abort words a lock as server_migrations.py does.
 */
static const struct state_rule {
    const char *action; /* as the 409 messages name it */
    const char *vm[3];
    const char *task[2];
    unsigned launched : 1;
    unsigned lock_as_state : 1;
} state_rules[] = {
    [AS_LIVE_MIGRATE] = { "os-migrateLive",
                          { "active", "paused" },
                          { 0 },
                          1,
                          0 },
    [AS_MIGRATE] = { "migrate", { "active", "stopped" }, { 0 }, 1, 0 },
    [AS_CONFIRM_RESIZE] = { "confirmResize", { "resized" }, { 0 }, 1, 0 },
    [AS_REVERT_RESIZE] = { "revertResize", { "resized" }, { 0 }, 1, 0 },
    [AS_FORCE_COMPLETE] = { "force_complete",
                            { "active" },
                            { "migrating" },
                            1,
                            0 },
    [AS_ABORT] = { "abort live migration", { 0 }, { "migrating" }, 1, 1 },
};

/* 1 if state is one of the n (or fewer, NULL-ended) names of list. */
static int state_in(const char *state, const char *const *list, size_t n)
{
    size_t i;

    for (i = 0; i < n && list[i] != NULL; i++) {
        if (strcmp(state, list[i]) == 0) {
            return 1;
        }
    }
    return 0;
}

int api_check_state(struct req *r, const struct server *s,
                    enum api_state_action a, struct ferr *err)
{
    const struct state_rule *rule = &state_rules[a];
    const char *id = r->args[0], *task = s->task_state;
    int task_ok;

    if (s->locked && !r->is_admin) {
        return rule->lock_as_state
            ? ferr_set(err, FE_CONFLICT,
                       "Instance %s is in an invalid "
                       "state for '%s'",
                       id, rule->action)
            : ferr_set(err, FE_CONFLICT, "Instance %s is locked", s->uuid);
    }
    if (rule->vm[0] != NULL
        && !state_in(s->vm_state, rule->vm, ARRAY_LEN(rule->vm))) {
        return ferr_set(err, FE_CONFLICT,
                        "Cannot '%s' instance %s while it "
                        "is in vm_state %s",
                        rule->action, id, s->vm_state);
    }
    task_ok = rule->task[0] == NULL
        ? task == NULL
        : task != NULL && state_in(task, rule->task, ARRAY_LEN(rule->task));
    if (!task_ok) {
        return ferr_set(err, FE_CONFLICT,
                        "Cannot '%s' instance %s while it "
                        "is in task_state %s",
                        rule->action, id, task ? task : "None");
    }
    if (rule->launched && !s->launched) {
        return ferr_set(err, FE_CONFLICT,
                        "Cannot '%s' instance %s while it "
                        "is in launched_at None",
                        rule->action, id);
    }
    return 0;
}

/* status from vm_state and task_state (spec §1.5): the default status
 * of a vm_state, then the task states that override it. */
static const char *server_status(const struct server *s)
{
    static const struct {
        const char *vm, *status;
    } base[] = {
        { "active", "ACTIVE" },
        { "building", "BUILD" },
        { "paused", "PAUSED" },
        { "suspended", "SUSPENDED" },
        { "stopped", "SHUTOFF" },
        { "rescued", "RESCUE" },
        { "resized", "VERIFY_RESIZE" },
        { "soft-delete", "SOFT_DELETED" },
        { "deleted", "DELETED" },
        { "error", "ERROR" },
        { "shelved", "SHELVED" },
        { "shelved_offloaded", "SHELVED_OFFLOADED" },
    };
    static const struct {
        const char *vm, *task, *status;
    } over[] = {
        { "active", "migrating", "MIGRATING" },
        { "paused", "migrating", "MIGRATING" },
        { "active", "resize_prep", "RESIZE" },
        { "active", "resize_migrating", "RESIZE" },
        { "active", "resize_migrated", "RESIZE" },
        { "active", "resize_finish", "RESIZE" },
        { "stopped", "resize_prep", "RESIZE" },
        { "stopped", "resize_migrating", "RESIZE" },
        { "stopped", "resize_migrated", "RESIZE" },
        { "stopped", "resize_finish", "RESIZE" },
        { "resized", "resize_reverting", "REVERT_RESIZE" },
    };
    size_t i;

    for (i = 0; s->task_state != NULL && i < ARRAY_LEN(over); i++) {
        if (strcmp(over[i].vm, s->vm_state) == 0
            && strcmp(over[i].task, s->task_state) == 0) {
            return over[i].status;
        }
    }
    for (i = 0; i < ARRAY_LEN(base); i++) {
        if (strcmp(base[i].vm, s->vm_state) == 0) {
            return base[i].status;
        }
    }
    return "UNKNOWN";
}

static void links(struct jw *j, struct req *r, const char *kind, const char *id,
                  int self)
{
    jw_key(j, "links");
    jw_arr_open(j);
    if (self) {
        jw_obj_open(j);
        jw_kstr(j, "rel", "self");
        jw_kstr(j, "href",
                arena_cat(r->arena, api_base(r, 1), "/", kind, "/", id,
                          (char *) NULL));
        jw_obj_close(j);
    }
    jw_obj_open(j);
    jw_kstr(j, "rel", "bookmark");
    jw_kstr(
        j, "href",
        arena_cat(r->arena, api_base(r, 0), "/", kind, "/", id, (char *) NULL));
    jw_obj_close(j);
    jw_arr_close(j);
}

static void kzulu(struct jw *j, const char *k, int64_t epoch)
{
    char t[21];

    time_zformat(epoch, t);
    jw_kstr(j, k, t);
}

/* Nova's views/servers.py _get_fault: code, created (isotime) and the
 * message.  Nova adds details only when a fault has them: a traceback,
 * which ferry does not keep, so there are none. */
static void fault_field(struct jw *j, const struct server *s)
{
    jw_key(j, "fault");
    jw_obj_open(j);
    jw_kint(j, "code", fault_status(s->fault_code));
    kzulu(j, "created", s->fault_created / 1000000);
    jw_kstr(j, "message", s->fault_message);
    jw_obj_close(j);
}

/* The flavor of a server: a link below 2.47, its values from 2.47. */
static void render_flavor(struct app *app, struct req *r, struct jw *j,
                          const struct server *s, const struct policy_target *t)
{
    jw_key(j, "flavor");
    jw_obj_open(j);
    if (r->mv_minor < 47) {
        jw_kstr(j, "id", s->flavor_id);
        links(j, r, "flavors", s->flavor_id, 0);
    } else {
        jw_kint(j, "vcpus", s->vcpus);
        jw_kint(j, "ram", s->ram_mb);
        jw_kint(j, "disk", s->disk_gb);
        jw_kint(j, "ephemeral", s->ephemeral_gb);
        jw_kint(j, "swap", s->swap_mb);
        jw_kstr(j, "original_name", s->flavor_name);
        if (policy_check(app->policy,
                         "os_compute_api:servers:show:flavor-extra-specs",
                         &r->ident, t)) {
            jw_key(j, "extra_specs");
            jw_obj_open(j);
            jw_obj_close(j);
        }
    }
    jw_obj_close(j);
}

/* OS-EXT-SRV-ATTR: for whom the policy allows (more from 2.3); the
 * hostname alone for everyone from 2.90. */
static void render_srv_attrs(struct app *app, struct req *r, struct jw *j,
                             const struct server *s,
                             const struct policy_target *t)
{
    int mv = r->mv_minor;

    if (policy_check(app->policy,
                     "os_compute_api:os-extended-server-attributes", &r->ident,
                     t)) {
        jw_kstr(j, "OS-EXT-SRV-ATTR:host", s->host);
        jw_kstr(j, "OS-EXT-SRV-ATTR:hypervisor_hostname", s->node);
        jw_kstr(j, "OS-EXT-SRV-ATTR:instance_name", s->instance_name);
        if (mv >= 3) {
            jw_kstr(j, "OS-EXT-SRV-ATTR:reservation_id", "");
            jw_kint(j, "OS-EXT-SRV-ATTR:launch_index", 0);
            jw_kstr(j, "OS-EXT-SRV-ATTR:hostname", s->name);
            jw_knull(j, "OS-EXT-SRV-ATTR:kernel_id");
            jw_knull(j, "OS-EXT-SRV-ATTR:ramdisk_id");
            jw_kstr(j, "OS-EXT-SRV-ATTR:root_device_name", "/dev/vda");
            jw_knull(j, "OS-EXT-SRV-ATTR:user_data");
        }
    } else if (mv >= 90) {
        jw_kstr(j, "OS-EXT-SRV-ATTR:hostname", s->name);
    }
}

/* The host states one response shows: the drained hosts and the hosts
 * the inventory reaches, read once per request (a detail page would
 * otherwise ask the store twice per server) and only when a server
 * shows host_status. */
struct host_sets {
    int loaded;
    const char **off, **up;
    size_t noff, nup;
};

/* A set the store cannot give reads empty: not drained, not reached
 * (UNKNOWN), as a failed single lookup answered before. */
static void host_sets_load(struct app *app, struct arena *a,
                           struct host_sets *hs)
{
    struct ferr err = { 0 };

    hs->loaded = 1;
    if (store_hosts_disabled(app->store, a, &hs->off, &hs->noff, &err) < 0) {
        hs->noff = 0;
        ferr_clear(&err);
    }
    if (instances_hosts_up(app->store, a, &hs->up, &hs->nup, &err) < 0) {
        hs->nup = 0;
        ferr_clear(&err);
    }
}

/* Nova's host_status (get_instance_host_status): a host the inventory
 * cannot reach has no heartbeat, UNKNOWN; a disabled one (in the config,
 * or by a drain) MAINTENANCE. */
static const char *host_status(struct app *app, struct arena *a,
                               struct host_sets *hs, const struct conf_host *h)
{
    if (h == NULL) {
        return "";
    }
    if (!hs->loaded) {
        host_sets_load(app, a, hs);
    }
    if (!h->enabled || strv_sorted_has(hs->off, hs->noff, h->name)) {
        return "MAINTENANCE";
    }
    return strv_sorted_has(hs->up, hs->nup, h->name) ? "UP" : "UNKNOWN";
}

/* The fields that microversions 2.9 to 2.73 added, in Nova's order. */
static void render_later(struct app *app, struct req *r, struct jw *j,
                         const struct server *s, const struct policy_target *t,
                         struct host_sets *hs)
{
    const struct conf_host *h = inventory_host(app->inv, s->host);
    int mv = r->mv_minor;

    if (mv >= 9) {
        jw_kbool(j, "locked", s->locked);
    }
    if (mv >= 16
        && policy_check(app->policy, "os_compute_api:servers:show:host_status",
                        &r->ident, t)) {
        jw_kstr(j, "host_status", host_status(app, r->arena, hs, h));
    }
    if (mv >= 19) {
        jw_kstr(j, "description", s->description);
    }
    if (mv >= 26) {
        jw_key(j, "tags");
        jw_arr_open(j);
        jw_arr_close(j);
    }
    if (mv >= 63) {
        jw_knull(j, "trusted_image_certificates");
    }
    if (mv >= 71) {
        jw_key(j, "server_groups");
        jw_arr_open(j);
        jw_arr_close(j);
    }
    if (mv >= 73) {
        jw_kstr(j, "locked_reason", s->locked_reason);
    }
}

/* Nova's hostId: sha224 of project and host.  A list repeats the same
 * few pairs thousands of times: the last answer is kept (per process). */
static void host_id_of(struct arena *a, const char *project, const char *host,
                       char out[57])
{
    static char last_project[256], last_host[256], last_id[57];
    char *in;

    if (last_id[0] != '\0' && strcmp(project, last_project) == 0
        && strcmp(host, last_host) == 0) {
        memcpy(out, last_id, sizeof(last_id));
        return;
    }
    in = arena_printf(a, "%s%s", project, host);
    sha224_hex(in, strlen(in), out);
    if (strlen(project) < sizeof(last_project)
        && strlen(host) < sizeof(last_host)) {
        strcpy(last_project, project);
        strcpy(last_host, host);
        memcpy(last_id, out, sizeof(last_id));
    }
}

static void render(struct app *app, struct req *r, struct jw *j,
                   const struct server *s, struct host_sets *hs)
{
    static const char *const with_progress[] = {
        "ACTIVE", "BUILD", "REBUILD", "RESIZE", "VERIFY_RESIZE", "MIGRATING",
    };
    const char *status = server_status(s);
    struct policy_target t = { s->project_id, s->user_id };
    char host_id[57] = "";
    size_t k;

    if (s->host != NULL) {
        host_id_of(r->arena, s->project_id, s->host, host_id);
    }
    jw_obj_open(j);
    jw_kstr(j, "id", s->uuid);
    jw_kstr(j, "name", s->name);
    jw_kstr(j, "status", status);
    jw_kstr(j, "tenant_id", s->project_id);
    jw_kstr(j, "user_id", s->user_id);
    jw_key(j, "metadata");
    jw_obj_open(j);
    for (k = 0; k < s->nmeta; k++) {
        jw_kstr(j, s->meta[k].key, s->meta[k].value);
    }
    jw_obj_close(j);
    jw_kstr(j, "hostId", host_id);
    if (s->image_id[0] == '\0') {
        jw_kstr(j, "image", "");
    } else {
        jw_key(j, "image");
        jw_obj_open(j);
        jw_kstr(j, "id", s->image_id);
        links(j, r, "images", s->image_id, 0);
        jw_obj_close(j);
    }
    render_flavor(app, r, j, s, &t);
    kzulu(j, "created", s->created);
    kzulu(j, "updated",
          s->launched_at > s->created ? s->launched_at : s->created);
    jw_key(j, "addresses");
    jw_obj_open(j);
    jw_obj_close(j);
    jw_kstr(j, "accessIPv4", "");
    jw_kstr(j, "accessIPv6", "");
    links(j, r, "servers", s->uuid, 1);
    jw_kstr(j, "OS-DCF:diskConfig", "MANUAL");
    if (s->fault_code != 0
        && (strcmp(status, "ERROR") == 0 || strcmp(status, "DELETED") == 0)) {
        fault_field(j, s);
    }
    for (k = 0; k < ARRAY_LEN(with_progress); k++) {
        if (strcmp(status, with_progress[k]) == 0) {
            jw_kint(j, "progress", s->progress);
        }
    }
    jw_kstr(j, "OS-EXT-AZ:availability_zone", s->az);
    jw_kstr(j, "config_drive", "");
    jw_kstr(j, "key_name", s->key_name);
    api_kusec(j, "OS-SRV-USG:launched_at", s->launched_at * 1000000);
    jw_knull(j, "OS-SRV-USG:terminated_at");
    jw_kstr(j, "OS-EXT-STS:vm_state", s->vm_state);
    jw_kstr(j, "OS-EXT-STS:task_state", s->task_state);
    jw_kint(j, "OS-EXT-STS:power_state", s->power_state);
    jw_key(j, "os-extended-volumes:volumes_attached");
    jw_arr_open(j);
    jw_arr_close(j);
    render_srv_attrs(app, r, j, s, &t);
    render_later(app, r, j, s, &t, hs);
    jw_obj_close(j);
}

int h_server_show(struct app *app, struct req *r, struct resp *w,
                  struct ferr *err)
{
    struct server s;
    struct host_sets hs = { 0 };
    struct jw j;

    if (api_find_server(app, r, r->args[0], &s, err) < 0
        || api_authorize(app, r, "os_compute_api:servers:show", &s, err) < 0) {
        return ferr_fail(err);
    }
    resp_ok(w);
    jw_init(&j, &w->body);
    jw_obj_open(&j);
    jw_key(&j, "server");
    render(app, r, &j, &s, &hs);
    jw_obj_close(&j);
    return 0;
}

/*
 * A name filter ferry will not run: Nova's format 'regex' answer.  Also
 * the answer when a search reaches a regex.c bound: Python's re (Nova on
 * SQLite) would hold the worker for as long as the backtracking takes,
 * MySQL 8 stops at regexp_time_limit with an error Nova turns into a 500;
 * ferry refuses the pattern instead, as a client error, before anything
 * of the list is written.
 */
static int bad_name(const char *param, const char *name, struct ferr *err)
{
    return schema_query_format_error(param, name, "regex", err);
}

/*
 * limit, as common._get_int_param reads it once the query schema has
 * passed it: strutils.validate_integer's int(str(value)), which strips
 * whitespace, then min(value, max_limit).  The schema's '^[0-9]*$' lets
 * through digits with one final "\n" (Python's '$'), which int() takes,
 * and "\n" alone, which it refuses.
 */
int api_parse_limit(const char *v, long *limit, struct ferr *err)
{
    static const char ws[] = " \t\n\v\f\r\x1c\x1d\x1e\x1f";
    const char *e;
    long n = 0;

    v += strspn(v, ws);
    for (e = v + strlen(v); e > v && strchr(ws, e[-1]) != NULL; e--) {
    }
    if (e == v || strspn(v, "0123456789") < (size_t) (e - v)) {
        return ferr_set(err, FE_BADREQ,
                        "Invalid input received: limit "
                        "must be an integer");
    }
    for (; v < e; v++) {
        n = n * 10 + (*v - '0');
        if (n > 1000) {
            n = 1000; /* CONF.api.max_limit */
        }
    }
    *limit = n;
    return 0;
}

/* A copy of s whose strings live in a (the index's rows do not). */
static struct server *server_dup(struct arena *a, const struct server *s)
{
    struct server *d = arena_alloc(a, sizeof(*d));
    const char **strs[] = {
        &d->name,        &d->instance_name, &d->host,        &d->node,
        &d->project_id,  &d->user_id,       &d->vm_state,    &d->locked_reason,
        &d->description, &d->flavor_id,     &d->flavor_name, &d->image_id,
        &d->az,          &d->key_name,
    };
    size_t i;

    *d = *s;
    for (i = 0; i < ARRAY_LEN(strs); i++) {
        *strs[i] = *strs[i] != NULL ? arena_strdup(a, *strs[i]) : NULL;
    }
    for (i = 0; i < d->nmeta; i++) {
        d->meta[i].key = arena_strdup(a, d->meta[i].key);
        d->meta[i].value = arena_strdup(a, d->meta[i].value);
    }
    return d;
}

/*
 * A piece of text every name the pattern matches holds (ASCII, any case),
 * for the store to skip the names that cannot match before the regex runs
 * (a search of each of 100,000 names would pass the regex's CPU budget);
 * NULL when none is sure.  The longest run of plain characters, less one
 * a quantifier (* ?) makes optional; a pattern with an alternative, a
 * group (inline flags: verbose mode ignores spaces), a class, a counted
 * repeat or an escape (\u0076 is one character) gets none.  i, k and s
 * are left out: Python's and PCRE2's caseless matching fold them with
 * non-ASCII letters (U+0130, U+212A, U+017F), which SQLite's LIKE does
 * not.
 */
static const char *name_literal(struct arena *a, const char *re)
{
    static const char plain[] = "abcdefghjlmnopqrtuvwxyzABCDEFGHJLMNOPQRTU"
                                "VWXYZ0123456789-_ :/=@,";
    size_t best = 0, best_at = 0, run = 0, start, i;
    char c;

    if (strpbrk(re, "|([{\\") != NULL) {
        return NULL;
    }
    for (i = 0;; i++) {
        c = re[i];
        if (c != '\0' && strchr(plain, c) != NULL) {
            run++;
            continue;
        }
        start = i - run;
        if (c != '\0' && strchr("*?", c) != NULL && run > 0) {
            run--;
        }
        if (run > best) {
            best = run;
            best_at = start;
        }
        run = 0;
        if (c == '\0') {
            break;
        }
    }
    return best > 0 ? arena_strndup(a, re + best_at, best) : NULL;
}

/* One page of a list, filled row by row from the index. */
struct page {
    struct arena *a;
    struct regex *re;
    const char *name, *name_param;
    long limit;
    struct server **s;
    size_t n, cap;
};

static int bad_name(const char *param, const char *name, struct ferr *err);

static int page_add(void *ctx, const struct server *s, struct ferr *err)
{
    struct page *p = ctx;
    int rc;

    if ((long) p->n >= p->limit) {
        return 1;
    }
    if (p->re != NULL) {
        rc = regex_search(p->re, s->name, strlen(s->name));
        if (rc == REGEX_LIMIT) {
            return bad_name(p->name_param, p->name, err);
        }
        if (rc == REGEX_NOMATCH) {
            return 0;
        }
    }
    if (p->n == p->cap) {
        struct server **g;

        p->cap = p->cap ? 2 * p->cap : 64;
        g = arena_alloc(p->a, p->cap * sizeof(*g));
        if (p->n > 0) {
            memcpy(g, p->s, p->n * sizeof(*g));
        }
        p->s = g;
    }
    p->s[p->n++] = server_dup(p->a, s);
    return (long) p->n >= p->limit;
}

/* What a list request asks for, from its (validated) query. */
struct list_query {
    int all_tenants;
    const char *name, *name_param; /* the name filter, or NULL */
    struct regex *re;              /* name compiled; caller frees */
    long limit;
};

/* all_tenants (with its own policy), the name filter and the limit, in
 * Nova's order; nothing to free on failure. */
static int list_query(struct app *app, struct req *r, int detail,
                      const struct qparam *q, size_t nq, struct list_query *lq,
                      struct ferr *err)
{
    const char *at = api_qlast(q, nq, "all_tenants"), *lim;

    memset(lq, 0, sizeof(*lq));
    lq->limit = 1000;
    if (at != NULL
        && (at[0] == '\0' || str_bool(at, strlen(at), BOOL_OSLO) == 1)) {
        if (api_authorize(app, r,
                          detail
                              ? "os_compute_api:servers:detail:get_all_tenants"
                              : "os_compute_api:servers:index:get_all_tenants",
                          NULL, err)
            < 0) {
            return ferr_fail(err);
        }
        lq->all_tenants = 1;
    }
    lq->name_param = "name";
    lq->name = api_qlast(q, nq, lq->name_param);
    if (lq->name == NULL) {
        lq->name_param = "display_name";
        lq->name = api_qlast(q, nq, lq->name_param);
    }
    if (lq->name != NULL) {
        lq->re = regex_compile(lq->name, strlen(lq->name), REGEX_ICASE, NULL);
        if (lq->re == NULL) {
            return bad_name(lq->name_param, lq->name, err);
        }
    }
    lim = api_qlast(q, nq, "limit");
    if (lim != NULL && api_parse_limit(lim, &lq->limit, err) < 0) {
        regex_free(lq->re);
        lq->re = NULL;
        return ferr_fail(err);
    }
    return 0;
}

/* The page after marker (any project's server; an empty marker is no
 * marker, as common.get_limit_and_marker's "if marker:"): up to limit
 * servers the caller may list whose name matches, newest first, read from
 * the index.  Chosen before anything is written, so that a pattern that
 * reaches a regex bound on some name is refused whole. */
static int list_page(struct app *app, struct req *r,
                     const struct list_query *lq, const char *marker,
                     struct page *pg, struct ferr *err)
{
    int rc;

    memset(pg, 0, sizeof(*pg));
    pg->a = r->arena;
    pg->re = lq->re;
    pg->name = lq->name;
    pg->name_param = lq->name_param;
    pg->limit = lq->limit;
    rc = instances_each(app->store,
                        lq->all_tenants           ? NULL
                            : r->ident.project_id ? r->ident.project_id
                                                  : "",
                        marker != NULL && marker[0] != '\0' ? marker : NULL,
                        lq->name ? name_literal(r->arena, lq->name) : NULL,
                        r->arena, page_add, pg, err);
    if (rc == 0) {
        return ferr_set(err, FE_BADREQ, "marker [%s] not found", marker);
    }
    return rc < 0 ? rc : 0;
}

static int server_list(struct app *app, struct req *r, struct resp *w,
                       int detail, struct ferr *err)
{
    struct qparam *q = NULL;
    size_t nq, i, shown = 0;
    struct list_query lq;
    const struct server **page = NULL;
    struct page pg;
    struct host_sets hs = { 0 };
    struct jw j;
    int rc;

    if (api_parse_query(r, &q, &nq, err) < 0
        || schema_validate_query(schema_servers_query_for(r->mv_minor), q, nq,
                                 err)
            < 0
        || api_authorize(app, r,
                         detail ? "os_compute_api:servers:detail"
                                : "os_compute_api:servers:index",
                         NULL, err)
            < 0
        || list_query(app, r, detail, q, nq, &lq, err) < 0) {
        return ferr_fail(err);
    }
    rc = list_page(app, r, &lq, api_qlast(q, nq, "marker"), &pg, err);
    regex_free(lq.re);
    if (rc < 0) {
        return ferr_fail(err);
    }
    page = (const struct server **) pg.s;
    shown = pg.n;
    inventory_decorate_list(app->store, r->arena, pg.s, shown);
    resp_ok(w);
    jw_init(&j, &w->body);
    jw_obj_open(&j);
    jw_key(&j, "servers");
    jw_arr_open(&j);
    for (i = 0; i < shown; i++) {
        if (detail) {
            render(app, r, &j, page[i], &hs);
        } else {
            jw_obj_open(&j);
            jw_kstr(&j, "id", page[i]->uuid);
            jw_kstr(&j, "name", page[i]->name);
            links(&j, r, "servers", page[i]->uuid, 1);
            jw_obj_close(&j);
        }
    }
    jw_arr_close(&j);
    if (shown > 0 && (long) shown == lq.limit) {
        api_next_link(r, &j, "servers_links",
                      detail ? "servers/detail" : "servers", q, nq,
                      page[shown - 1]->uuid);
    }
    jw_obj_close(&j);
    return 0;
}

int h_server_index(struct app *app, struct req *r, struct resp *w,
                   struct ferr *err)
{
    return server_list(app, r, w, 0, err);
}

int h_server_detail(struct app *app, struct req *r, struct resp *w,
                    struct ferr *err)
{
    return server_list(app, r, w, 1, err);
}
