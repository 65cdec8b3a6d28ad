/*
 * inventory.c: where servers are.  Request workers read them from the
 * store's instances index (inventory_lookup), which the inventory process
 * keeps current (inventoryd.c); runners ask libvirt itself
 * (inventory_find), the index only saying which host to ask first.  When
 * a domain is defined on two hosts (the moment of a migration), the host
 * where it is active wins.  Either way a server gets its task state and
 * fault from the store's records (inventory_decorate).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "ferry/inventory.h"
#include "ferry/app.h"
#include "ferry/instances.h"
#include "ferry/virt.h"

struct inventory {
    const struct conf *conf;
    struct vconn **conns;
};

int inventory_open(const struct conf *c, struct inventory **out,
                   struct ferr *err)
{
    struct inventory *inv = calloc(1, sizeof(*inv));

    if (inv == NULL) {
        return ferr_set(err, FE_NOMEM, "out of memory");
    }
    inv->conf = c;
    inv->conns = calloc(c->nhosts ? c->nhosts : 1, sizeof(*inv->conns));
    if (inv->conns == NULL) {
        free(inv);
        return ferr_set(err, FE_NOMEM, "out of memory");
    }
    /* no virt_init here: a request worker never speaks to libvirt, and
     * virInitialize costs it ~2 MB of RSS (curl, libssh2 and OpenSSL's
     * engines are initialized); virt_connect and virt_events_start do */
    *out = inv;
    return 0;
}

void inventory_close(struct inventory *inv)
{
    size_t i;

    if (inv == NULL) {
        return;
    }
    for (i = 0; i < inv->conf->nhosts; i++) {
        virt_close(inv->conns[i]);
    }
    free(inv->conns);
    free(inv);
}

/* The connection to host i, opened or reopened as needed. */
static struct vconn *conn(struct inventory *inv, size_t i, struct ferr *err)
{
    if (inv->conns[i] != NULL && !virt_alive(inv->conns[i])) {
        virt_close(inv->conns[i]);
        inv->conns[i] = NULL;
    }
    if (inv->conns[i] == NULL
        && virt_connect(inv->conf->hosts[i].uri, &inv->conns[i], err) < 0) {
        log_error("host %s unreachable: %s", inv->conf->hosts[i].name,
                  ferr_msg(err));
        return NULL;
    }
    return inv->conns[i];
}

/* A cold migration in progress shows as Nova's resize states (spec §5.3):
 * RESIZE while it moves, VERIFY_RESIZE once finished, REVERT_RESIZE while
 * it goes back. */
static void cold_states(struct server *s, const struct migration *m)
{
    static const struct {
        enum mig_status status;
        const char *vm_state, *task_state;
    } rows[] = {
        { MIG_PRE_MIGRATING, NULL, "resize_prep" },
        { MIG_MIGRATING, NULL, "resize_migrating" },
        { MIG_POST_MIGRATING, NULL, "resize_finish" },
        { MIG_FINISHED, "resized", NULL },
        { MIG_CONFIRMING, "resized", NULL },
        { MIG_REVERTING, "resized", "resize_reverting" },
    };
    size_t i;

    for (i = 0; i < ARRAY_LEN(rows); i++) {
        if (mig_status_is(m->status, rows[i].status)) {
            if (rows[i].vm_state != NULL) {
                s->vm_state = rows[i].vm_state;
            }
            s->task_state = rows[i].task_state;
        }
    }
}

/* The instance's latest fault; a failure that errored the instance out
 * (a failed cold migration, as Nova's _error_out_instance_on_exception)
 * shows as vm_state error with no task.  As in Nova, nothing clears that
 * by itself and no migration starts from error: Nova's way out, the
 * admin's os-resetState, is not served yet (the row must be deleted from
 * the store's instance_faults by hand). */
static void decorate_fault(struct store *st, struct arena *a, struct server *s)
{
    struct instance_fault f;
    struct ferr err = { 0 };

    if (store_fault_get(st, s->uuid, a, &f, &err) != 1) {
        ferr_clear(&err);
        return;
    }
    s->fault_code = f.code;
    s->fault_message = f.message;
    s->fault_created = f.created_at;
    if (f.vm_error) {
        s->vm_state = "error";
        s->task_state = NULL;
    }
}

static void decorate(struct inventory *inv, struct store *st, size_t i,
                     struct arena *a, struct server *s)
{
    /* copies: the connection (and its hostname) may be reopened, and the
     * configuration reloaded, while the request still holds s */
    s->host = arena_strdup(a, inv->conf->hosts[i].name);
    s->node = arena_strdup(a, virt_hostname(inv->conns[i]));
    if (s->node == NULL) {
        s->node = s->host;
    }
    inventory_decorate(st, a, s);
}

/* While a live migration runs the guest is on its source, as Nova shows
 * it until post_live_migration moves instance.host: the destination's
 * domain (paused for the incoming transfer, or running in post-copy) may
 * be the newer row of the index, but it is not where the server is. */
static void live_on_source(struct store *st, struct arena *a, struct server *s,
                           const struct migration *m)
{
    struct server src;
    struct ferr err = { 0 };

    if (m->source_compute != NULL && s->host != NULL
        && strcmp(s->host, m->source_compute) != 0
        && instances_get_on(st, s->uuid, m->source_compute, a, &src, &err) == 1
        && server_is_active(src.power_state)) {
        *s = src;
    }
    ferr_clear(&err);
}

void inventory_decorate(struct store *st, struct arena *a, struct server *s)
{
    struct migration m;
    struct ferr err = { 0 };

    if (store_migration_active(st, s->uuid, a, &m, &err) != 1) {
        ferr_clear(&err);
        decorate_fault(st, a, s);
        return;
    }
    if (strcmp(m.migration_type, "migration") == 0) {
        cold_states(s, &m);
        return;
    }
    live_on_source(st, a, s, &m);
    s->task_state = "migrating";
    /* a source paused by the migration itself (post-copy, or the pause of
     * a force-complete) is no paused server: Nova's vm_state stays active
     * and its power state is not synced while the task runs */
    if (strcmp(s->vm_state, "paused") == 0
        && (m.paused_by_migration || mig_status_is(m.status, MIG_POSTCOPY))) {
        s->vm_state = "active";
        s->power_state = POWER_RUNNING;
    }
    /* spec 9.3: 100 - round(remaining x 100 / total), half to even */
    if (m.memory_total > 0 && m.memory_remaining >= 0) {
        int64_t num = m.memory_remaining * 100, q = num / m.memory_total;
        int64_t r2 = 2 * (num % m.memory_total);

        if (r2 > m.memory_total || (r2 == m.memory_total && (q & 1))) {
            q++;
        }
        s->progress = (int) (100 - q);
    }
}

/* Asks host i for uuid into *best (where it is active wins): 1 found, 0
 * not, -1 the host cannot be asked (err set once). */
static int ask(struct inventory *inv, size_t i, const char *uuid,
               struct arena *a, struct server *best, size_t *best_at, int found,
               struct ferr *err)
{
    struct ferr e = { 0 };
    struct vconn *c = conn(inv, i, &e);
    struct server cand;
    int rc = c ? virt_lookup(c, uuid, a, &cand, &e) : -1;

    ferr_clear(&e);
    if (rc < 0) {
        /* a host that cannot be asked may hold it: not "not found" */
        ferr_set(err, FE_UNAVAILABLE,
                 "Compute service of %s is "
                 "unavailable at this time.",
                 inv->conf->hosts[i].name);
        return -1;
    }
    if (rc == 1 && (!found || server_is_active(cand.power_state))) {
        *best = cand;
        *best_at = i;
    }
    return rc;
}

int inventory_find(struct inventory *inv, struct store *st, const char *uuid,
                   struct arena *a, struct server *s, struct ferr *err)
{
    char hint[256];
    size_t i, found_at = 0, first = inv->conf->nhosts;
    int rc, found = 0, unreachable = 0;

    if (store_host_get(st, uuid, hint, sizeof(hint))) {
        for (first = 0; first < inv->conf->nhosts
             && strcmp(inv->conf->hosts[first].name, hint) != 0;
             first++) {
        }
    }
    /* the hinted host first, then every other one in config order, until
     * a host where it is active */
    for (i = 0; i <= inv->conf->nhosts; i++) {
        size_t h = i == 0 ? first : i - 1;

        if (h >= inv->conf->nhosts || (i > 0 && h == first)) {
            continue;
        }
        rc = ask(inv, h, uuid, a, s, &found_at, found, err);
        unreachable |= rc < 0;
        found |= rc == 1;
        if (found && server_is_active(s->power_state)) {
            break;
        }
    }
    if (!found) {
        return unreachable ? -FE_UNAVAILABLE : 0;
    }
    if (unreachable) {
        ferr_clear(err);
    }
    decorate(inv, st, found_at, a, s);
    return 1;
}

int inventory_lookup(const struct conf *c, struct store *st, const char *uuid,
                     struct arena *a, struct server *s, struct ferr *err)
{
    const char **up;
    size_t i, nup;
    int rc = instances_get(st, uuid, a, s, err);

    if (rc == 1) {
        if (instances_is_marked(st, s->uuid)) {
            inventory_decorate(st, a, s);
        }
        return 1;
    }
    /* not in the index: while a host is down (or not synced yet) it may
     * be there.  One statement for every host: a 404 costs the same with
     * 500 hosts as with 2. */
    if (rc < 0 || instances_hosts_up(st, a, &up, &nup, err) < 0) {
        return ferr_fail(err);
    }
    for (i = 0; i < c->nhosts; i++) {
        if (!strv_sorted_has(up, nup, c->hosts[i].name)) {
            return ferr_set(err, FE_UNAVAILABLE,
                            "Compute service of %s is "
                            "unavailable at this time.",
                            c->hosts[i].name);
        }
    }
    return 0;
}

void inventory_decorate_list(struct store *st, struct arena *a,
                             struct server **s, size_t n)
{
    const char **marked;
    size_t nm, i;
    struct ferr err = { 0 };

    if (instances_marked(st, a, &marked, &nm, &err) < 0) {
        ferr_clear(&err);
        nm = SIZE_MAX; /* decorate each, the slow way */
    }
    for (i = 0; i < n; i++) {
        if (nm == SIZE_MAX || strv_sorted_has(marked, nm, s[i]->uuid)) {
            inventory_decorate(st, a, s[i]);
        }
    }
}

int inventory_host_up(struct store *st, const char *name)
{
    struct host_state hs;
    struct arena a;
    struct ferr err = { 0 };
    int up;

    arena_init(&a, 1024);
    up = instances_host_get(st, name, &a, &hs, &err) == 0 && hs.up;
    arena_free(&a);
    ferr_clear(&err);
    return up;
}

const struct conf_host *inventory_host(struct inventory *inv, const char *name)
{
    return conf_host_find(inv->conf, name);
}

struct vconn *inventory_conn(struct inventory *inv, const char *name,
                             struct ferr *err)
{
    size_t i;

    for (i = 0; i < inv->conf->nhosts; i++) {
        if (strcmp(inv->conf->hosts[i].name, name) == 0) {
            return conn(inv, i, err);
        }
    }
    ferr_set(err, FE_BADREQ, "Compute host %s could not be found.", name);
    return NULL;
}

const struct conf *inventory_conf(struct inventory *inv)
{
    return inv->conf;
}
