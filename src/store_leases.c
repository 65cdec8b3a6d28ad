/*
 * store_leases.c: which node's inventory keeps each host (instances.h,
 * "host leases").  One row per host in inventory_leases: the holder (a
 * node's name and its inventory's pid) and when its lease runs out (µs,
 * the holder's clock).  The holder renews all its leases in one statement;
 * a lease is taken by compare-and-set against the row as it was read, so
 * of two nodes that find a host free one gets it.
 *
 * The table itself is in store_instances_sql (one schema text).
 */
#include <stdlib.h>
#include <string.h>
#include "ferry/instances.h"
#include "store_priv.h"

/* A statement of this file: few, and run every few seconds, so prepared
 * per use rather than kept. */
static struct db_stmt *prep(struct store *s, const char *sql, struct ferr *err)
{
    struct db_stmt *st = db_prepare(s->db, sql, 0);

    if (st == NULL) {
        store_db_err(s, err, "prepare lease");
    }
    return st;
}

/* A statement on the leases of a holder: node ?1, pid ?2. */
static struct db_stmt *of_holder(struct store *s, const char *sql,
                                 const char *node, int64_t pid,
                                 struct ferr *err)
{
    struct db_stmt *st = prep(s, sql, err);

    if (st != NULL) {
        db_bind_text(st, 1, node);
        db_bind_int(st, 2, pid);
    }
    return st;
}

int leases_renew(struct store *s, const char *node, int64_t pid, int64_t until,
                 lease_fn held, void *arg, struct ferr *err)
{
    struct db_stmt *st = of_holder(s,
                                   "UPDATE inventory_leases SET expires = ?3"
                                   " WHERE node = ?1 AND pid = ?2"
                                   " RETURNING host",
                                   node, pid, err);
    int rc;

    if (st == NULL) {
        return ferr_fail(err);
    }
    db_bind_int(st, 3, until);
    while ((rc = db_step(st)) == DB_ROW) {
        held(arg, db_col_text(st, 0));
    }
    db_done(st);
    return rc == DB_DONE ? 0 : store_db_err(s, err, "renew leases");
}

/* A lease as read: the compare half of a take. */
struct lease_row {
    const char *host, *node;
    int64_t pid, expires;
};

static int by_host(const void *x, const void *y)
{
    return strcmp(((const struct lease_row *) x)->host,
                  ((const struct lease_row *) y)->host);
}

/* Every lease, sorted by host (strcmp: the same on both backends). */
static int read_all(struct store *s, struct arena *a, struct lease_row **out,
                    size_t *n, struct ferr *err)
{
    struct db_stmt *st =
        prep(s, "SELECT host, node, pid, expires FROM inventory_leases", err);
    struct lease_row *v = NULL;
    size_t cap = 0;
    int rc;

    *n = 0;
    if (st == NULL) {
        return ferr_fail(err);
    }
    while ((rc = db_step(st)) == DB_ROW) {
        if (*n == cap) {
            struct lease_row *w;

            cap = cap ? cap * 2 : 64;
            w = arena_alloc(a, cap * sizeof(*w));
            if (w == NULL) {
                db_done(st);
                return ferr_set(err, FE_NOMEM, "leases: out of memory");
            }
            if (*n > 0) {
                memcpy(w, v, *n * sizeof(*w));
            }
            v = w;
        }
        v[*n].host = db_col_dup(st, 0, a);
        v[*n].node = db_col_dup(st, 1, a);
        v[*n].pid = db_col_int(st, 2);
        v[*n].expires = db_col_int(st, 3);
        if (v[*n].host == NULL || v[*n].node == NULL) {
            db_done(st);
            return ferr_set(err, FE_NOMEM, "leases: out of memory");
        }
        (*n)++;
    }
    db_done(st);
    if (rc != DB_DONE) {
        return store_db_err(s, err, "read leases");
    }
    if (*n > 1) {
        qsort(v, *n, sizeof(*v), by_host);
    }
    *out = v;
    return 0;
}

/* The host's lease for (node, pid) against the row as read (NULL: none
 * was): 1 taken, 0 another was first. */
static int take(struct store *s, const char *host, const struct lease_row *was,
                const char *node, int64_t pid, int64_t until, struct ferr *err)
{
    static const char insert[] =
        "INSERT INTO inventory_leases (host, node, pid, expires)"
        " VALUES (?1, ?2, ?3, ?4) ON CONFLICT (host) DO NOTHING"
        " RETURNING host";
    static const char update[] =
        "UPDATE inventory_leases SET node = ?2, pid = ?3, expires = ?4"
        " WHERE host = ?1 AND node = ?5 AND pid = ?6 AND expires = ?7"
        " RETURNING host";
    struct db_stmt *st = prep(s, was == NULL ? insert : update, err);
    int rc;

    if (st == NULL) {
        return ferr_fail(err);
    }
    db_bind_text(st, 1, host);
    db_bind_text(st, 2, node);
    db_bind_int(st, 3, pid);
    db_bind_int(st, 4, until);
    if (was != NULL) {
        db_bind_text(st, 5, was->node);
        db_bind_int(st, 6, was->pid);
        db_bind_int(st, 7, was->expires);
    }
    rc = db_step(st);
    db_done(st);
    if (rc == DB_ERR) {
        return store_db_err(s, err, "take lease");
    }
    return rc == DB_ROW;
}

/* Whether the lease as read is free for (node, pid) to take at now: run
 * out, or held by a process of this node that is gone (a node restarted
 * after a crash takes its hosts back at once, not after the lease). */
static int lease_free(const struct lease_row *l, const char *node, int64_t pid,
                      int64_t now, store_alive_fn alive)
{
    if (l->expires < now) {
        return 1;
    }
    return strcmp(l->node, node) == 0 && l->pid != pid && alive != NULL
        && !alive(l->pid);
}

int leases_take_free(struct store *s, const char *const *hosts, size_t n,
                     const char *node, int64_t pid, int64_t now, int64_t until,
                     store_alive_fn alive, lease_fn taken, void *arg,
                     struct ferr *err)
{
    struct arena a;
    struct lease_row *rows = NULL, key, *l;
    size_t nrows, i;
    int rc;

    arena_init(&a, 16 * 1024);
    rc = read_all(s, &a, &rows, &nrows, err);
    for (i = 0; rc >= 0 && i < n; i++) {
        key.host = hosts[i];
        l = nrows ? bsearch(&key, rows, nrows, sizeof(*rows), by_host) : NULL;
        if (l != NULL && (l->pid == pid && strcmp(l->node, node) == 0)) {
            continue; /* ours: renewed, not taken */
        }
        if (l != NULL && !lease_free(l, node, pid, now, alive)) {
            continue;
        }
        rc = take(s, hosts[i], l, node, pid, until, err);
        if (rc == 1) {
            taken(arg, hosts[i]);
        }
    }
    arena_free(&a);
    return rc < 0 ? rc : 0;
}

int leases_release(struct store *s, const char *node, int64_t pid,
                   struct ferr *err)
{
    struct db_stmt *st = of_holder(s,
                                   "DELETE FROM inventory_leases"
                                   " WHERE node = ?1 AND pid = ?2",
                                   node, pid, err);
    int rc;

    if (st == NULL) {
        return ferr_fail(err);
    }
    rc = db_step(st);
    db_done(st);
    return rc == DB_DONE ? 0 : store_db_err(s, err, "release leases");
}
