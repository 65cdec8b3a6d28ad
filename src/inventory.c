/*
 * inventory.c: where servers are.  libvirt is the truth for where a
 * domain runs; the store's instance -> host index only says which host to
 * ask first.  When a domain is defined on two hosts (the moment of a
 * migration), the host where it is active wins.
 */
#include <stdlib.h>
#include <string.h>
#include "ferry/inventory.h"
#include "ferry/app.h"
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
    virt_init();
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
        && virt_connect(inv->conf->hosts[i].uri, &inv->conns[i], err) < 0)
    {
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
static void decorate_fault(struct store *st, struct arena *a,
                           struct server *s)
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
    struct migration m;
    struct ferr err = { 0 };

    /* copies: the connection (and its hostname) may be reopened, and the
     * configuration reloaded, while the request still holds s */
    s->host = arena_strdup(a, inv->conf->hosts[i].name);
    s->node = arena_strdup(a, virt_hostname(inv->conns[i]));
    if (s->node == NULL) {
        s->node = s->host;
    }
    if (store_migration_active(st, s->uuid, a, &m, &err) != 1) {
        ferr_clear(&err);
        decorate_fault(st, a, s);
        return;
    }
    if (strcmp(m.migration_type, "migration") == 0) {
        cold_states(s, &m);
        return;
    }
    s->task_state = "migrating";
    /* a source paused by the migration itself (post-copy, or the pause of
     * a force-complete) is no paused server: Nova's vm_state stays active
     * and its power state is not synced while the task runs */
    if (strcmp(s->vm_state, "paused") == 0
        && (m.paused_by_migration
            || mig_status_is(m.status, MIG_POSTCOPY)))
    {
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

int inventory_find(struct inventory *inv, struct store *st,
                   const char *uuid, struct arena *a, struct server *s,
                   struct ferr *err)
{
    char hint[256];
    size_t i, order[64], n = 0, k, found_at = 0;
    int have_hint, rc, found = 0, unreachable = 0;
    struct server cand;

    have_hint = store_host_get(st, uuid, hint, sizeof(hint));
    for (i = 0; i < inv->conf->nhosts && n < ARRAY_LEN(order); i++) {
        if (have_hint && strcmp(inv->conf->hosts[i].name, hint) == 0) {
            memmove(order + 1, order, n * sizeof(order[0]));
            order[0] = i;
            n++;
        } else {
            order[n++] = i;
        }
    }
    for (k = 0; k < n; k++) {
        struct ferr e = { 0 };
        struct vconn *c;

        i = order[k];
        c = conn(inv, i, &e);
        rc = c ? virt_lookup(c, uuid, a, &cand, &e) : -1;
        if (rc < 0) {
            /* a host that cannot be asked may hold it: not "not found" */
            if (!unreachable) {
                ferr_set(err, FE_UNAVAILABLE, "Compute service of %s is "
                         "unavailable at this time.",
                         inv->conf->hosts[i].name);
            }
            unreachable = 1;
        }
        ferr_clear(&e);
        if (rc != 1) {
            continue;
        }
        if (!found || server_is_active(cand.power_state)) {
            *s = cand;
            found_at = i;
            found = 1;
        }
        if (server_is_active(s->power_state)) {
            break;      /* active here: this is where it runs */
        }
    }
    if (!found) {
        return unreachable ? -FE_UNAVAILABLE : 0;
    }
    if (unreachable) {
        ferr_clear(err);
    }
    decorate(inv, st, found_at, a, s);
    if (!have_hint || strcmp(hint, s->host) != 0) {
        store_host_set(st, s->uuid, s->host);
    }
    return 1;
}

int inventory_list(struct inventory *inv, struct store *st, struct arena *a,
                   struct server **out, size_t *n, struct ferr *err)
{
    struct server *all = NULL, *part;
    size_t total = 0, cap = 0, np, i, j;

    for (i = 0; i < inv->conf->nhosts; i++) {
        struct ferr e = { 0 };
        struct vconn *c = conn(inv, i, &e);

        if (c == NULL || virt_list(c, a, &part, &np, &e) < 0) {
            ferr_clear(&e);
            continue;       /* an unreachable host lists nothing */
        }
        if (total + np > cap) {
            struct server *grown;

            cap = (total + np) * 2;
            grown = arena_alloc(a, cap * sizeof(*grown));
            if (total > 0) {
                memcpy(grown, all, total * sizeof(*grown));
            }
            all = grown;
        }
        for (j = 0; j < np; j++) {
            /* a domain defined on two hosts is listed where active */
            size_t k;
            int dup = 0;

            for (k = 0; k < total; k++) {
                if (strcmp(all[k].uuid, part[j].uuid) == 0) {
                    dup = 1;
                    if (server_is_active(part[j].power_state)) {
                        all[k] = part[j];
                        decorate(inv, st, i, a, &all[k]);
                    }
                }
            }
            if (!dup) {
                all[total] = part[j];
                decorate(inv, st, i, a, &all[total]);
                total++;
            }
        }
    }
    *out = all;
    *n = total;
    return 0;
}

const struct conf_host *inventory_host(struct inventory *inv,
                                       const char *name)
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
