/*
 * store_instances.c: the instances index and the hosts table of the store
 * (see instances.h), on the handle of store.c.  Its statements are
 * prepared once per handle and kept, so a read compiles no SQL.
 *
 * A row holds everything a server renders from libvirt: the domain's
 * state, its sizes and ferry's instance metadata (server.h), the
 * <meta key> items as a blob of NUL-terminated key, value pairs.  What a
 * server shows from the store (task state, fault) is added by the reader.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ferry/instances.h"
#include "store_priv.h"

const char store_instances_sql[] =
    "CREATE TABLE IF NOT EXISTS instances ("
    " uuid TEXT NOT NULL, host TEXT NOT NULL, node TEXT,"
    " name TEXT NOT NULL, instance_name TEXT NOT NULL,"
    " project_id TEXT NOT NULL, user_id TEXT NOT NULL,"
    " power_state INTEGER NOT NULL, vm_state TEXT NOT NULL,"
    " active INTEGER NOT NULL, has_metadata INTEGER NOT NULL,"
    " launched INTEGER NOT NULL, locked INTEGER NOT NULL,"
    " locked_reason TEXT, description TEXT,"
    " created INTEGER NOT NULL, launched_at INTEGER NOT NULL,"
    " vcpus INTEGER NOT NULL, ram_mb INTEGER NOT NULL,"
    " disk_gb INTEGER NOT NULL, ephemeral_gb INTEGER NOT NULL,"
    " swap_mb INTEGER NOT NULL, flavor_id TEXT NOT NULL,"
    " flavor_name TEXT NOT NULL, image_id TEXT NOT NULL, az TEXT NOT NULL,"
    " key_name TEXT, meta BLOB, flags INTEGER NOT NULL,"
    " updated_at INTEGER NOT NULL, PRIMARY KEY (uuid, host));"
    /* the list order; name in the index so that the name prefilter
     * reads no table row it does not keep */
    "CREATE INDEX IF NOT EXISTS instances_order_name"
    " ON instances(created DESC, uuid DESC, active DESC, name);"
    "CREATE INDEX IF NOT EXISTS instances_project_name ON instances("
    "project_id, created DESC, uuid DESC, active DESC, name);"
    "CREATE INDEX IF NOT EXISTS instances_name ON instances(name);"
    /* GET /servers/{id}'s row in the index's order: without it every
     * lookup sorted its rows in a temporary b-tree (a dozen mallocs) */
    "CREATE INDEX IF NOT EXISTS instances_pick"
    " ON instances(uuid, active DESC, updated_at DESC);"
    "CREATE INDEX IF NOT EXISTS instances_host"
    " ON instances(host, updated_at);"
    /* where a runner last put an instance (it says so at once; the
     * inventory confirms with libvirt) */
    "CREATE TABLE IF NOT EXISTS instance_hosts ("
    " uuid TEXT PRIMARY KEY, host TEXT NOT NULL, updated_at INTEGER);"
    "CREATE TABLE IF NOT EXISTS inventory_hosts ("
    " name TEXT PRIMARY KEY, up INTEGER NOT NULL, node TEXT, error TEXT,"
    " synced_at INTEGER, updated_at INTEGER NOT NULL);"
    /* which node's inventory keeps each host (store_leases.c) */
    "CREATE TABLE IF NOT EXISTS inventory_leases ("
    " host TEXT PRIMARY KEY, node TEXT NOT NULL, pid INTEGER NOT NULL,"
    " expires INTEGER NOT NULL);";

#define INST_COLUMNS                                                     \
    "uuid, host, node, name, instance_name, project_id, user_id,"        \
    " power_state, vm_state, has_metadata, launched, locked,"            \
    " locked_reason, description, created, launched_at, vcpus, ram_mb,"  \
    " disk_gb, ephemeral_gb, swap_mb, flavor_id, flavor_name, image_id," \
    " az, key_name, meta, flags"
#define INST_ORDER " ORDER BY created DESC, uuid DESC, active DESC"
#define INST_AFTER " (created < ?1 OR (created = ?1 AND uuid < ?2))"
/* the optional name prefilter (instances_each) */
#define INST_NAME " (?4 IS NULL OR name LIKE ?4 ESCAPE '\\')"

enum {
    Q_PUT,
    Q_DELETE,
    Q_SWEEP,
    Q_GET,
    Q_MARKER,
    Q_ALL,
    Q_ALL_AFTER,
    Q_PROJ,
    Q_PROJ_AFTER,
    Q_HOST_SET,
    Q_HOST_GET,
    Q_MOVE,
    Q_MOVED,
    Q_HINT_GET,
    Q_HINT_SET,
    Q_MARKED,
    Q_IS_MARKED,
    Q_GET_ON,
    Q_HOSTS_UP,
    Q__COUNT
};

static const char *const queries[Q__COUNT] = {
    [Q_PUT] =
        "INSERT INTO instances (" INST_COLUMNS ", active, updated_at)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13,"
        " ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26,"
        " ?27, ?28, ?29, ?30) ON CONFLICT (uuid, host) DO UPDATE SET"
        " node = ?3, name = ?4, instance_name = ?5, project_id = ?6,"
        " user_id = ?7, power_state = ?8, vm_state = ?9, has_metadata = ?10,"
        " launched = ?11, locked = ?12, locked_reason = ?13,"
        " description = ?14, created = ?15, launched_at = ?16, vcpus = ?17,"
        " ram_mb = ?18, disk_gb = ?19, ephemeral_gb = ?20, swap_mb = ?21,"
        " flavor_id = ?22, flavor_name = ?23, image_id = ?24, az = ?25,"
        " key_name = ?26, meta = ?27, flags = ?28, active = ?29,"
        " updated_at = ?30",
    [Q_DELETE] = "DELETE FROM instances WHERE uuid = ?1 AND host = ?2",
    [Q_SWEEP] = "DELETE FROM instances WHERE host = ?1 AND updated_at < ?2",
    [Q_GET] = "SELECT " INST_COLUMNS " FROM instances WHERE uuid = ?1"
              " ORDER BY active DESC, updated_at DESC LIMIT 1",
    [Q_GET_ON] = "SELECT " INST_COLUMNS " FROM instances WHERE uuid = ?1"
                 " AND host = ?2",
    [Q_MARKER] = "SELECT created, uuid FROM instances WHERE uuid = ?1"
                 " LIMIT 1",
    [Q_ALL] =
        "SELECT " INST_COLUMNS " FROM instances WHERE" INST_NAME INST_ORDER,
    [Q_ALL_AFTER] = "SELECT " INST_COLUMNS " FROM instances WHERE" INST_AFTER
                    " AND" INST_NAME INST_ORDER,
    [Q_PROJ] = "SELECT " INST_COLUMNS " FROM instances WHERE"
               " project_id = ?3 AND" INST_NAME INST_ORDER,
    [Q_PROJ_AFTER] =
        "SELECT " INST_COLUMNS " FROM instances WHERE"
        " project_id = ?3 AND" INST_AFTER " AND" INST_NAME INST_ORDER,
    [Q_HOST_SET] = "INSERT INTO inventory_hosts (name, up, node, error,"
                   " synced_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"
                   " ON CONFLICT (name) DO UPDATE SET up = ?2,"
                   " node = coalesce(?3, inventory_hosts.node), error = ?4,"
                   " synced_at = coalesce(?5, inventory_hosts.synced_at),"
                   " updated_at = ?6",
    [Q_HOST_GET] = "SELECT up, node, error, synced_at, updated_at"
                   " FROM inventory_hosts WHERE name = ?1",
    [Q_HOSTS_UP] = "SELECT name FROM inventory_hosts WHERE up = 1",
    /* a runner that moved a guest says so at once; the inventory's events
     * from both hosts follow */
    [Q_MOVE] = "UPDATE{OR_IGNORE} instances SET host = ?2, updated_at = ?3"
               " WHERE uuid = ?1 AND host != ?2{ONLY_FREE}",
    /* the destination's row, when there was one already (the incoming
     * domain), is the newest: the move above was ignored for it */
    [Q_MOVED] = "UPDATE instances SET updated_at = ?3"
                " WHERE uuid = ?1 AND host = ?2",
    /* the newer of the index (where it is active) and the runner's word */
    [Q_HINT_GET] =
        "SELECT host FROM (SELECT host, updated_at FROM"
        " (SELECT host, updated_at FROM instances WHERE uuid = ?1"
        " ORDER BY active DESC, updated_at DESC LIMIT 1) AS i UNION ALL"
        " SELECT host, updated_at FROM instance_hosts WHERE uuid = ?1) AS h"
        " ORDER BY updated_at DESC LIMIT 1",
    /* instances a record may decorate: few, whatever the cloud's size */
    [Q_MARKED] =
        "SELECT instance_uuid FROM migrations WHERE"
        " deleted = 0 AND status IN ({HOLDS}) UNION ALL SELECT DISTINCT"
        " instance_uuid FROM instance_faults",
    [Q_IS_MARKED] =
        "SELECT 1 FROM migrations WHERE instance_uuid = ?1"
        " AND deleted = 0 AND status IN ({HOLDS}) UNION ALL SELECT 1 FROM"
        " instance_faults WHERE instance_uuid = ?1 LIMIT 1",
    [Q_HINT_SET] = "INSERT INTO instance_hosts (uuid, host, updated_at)"
                   " VALUES (?1, ?2, ?3) ON CONFLICT (uuid) DO UPDATE SET"
                   " host = ?2, updated_at = ?3",
};

_Static_assert(Q__COUNT <= STORE_NCACHED,
               "store_priv.h: STORE_NCACHED too small");

/* flags bits */
enum { F_TPM = 1, F_SEV = 2, F_VDPA = 4, F_HOSTDEV = 8 };

int store_instances_prepare(struct store *s, struct ferr *err)
{
    /* the instance -> host hint table of earlier versions: replaced */
    int old = db_has_column(s->db, "instances", "uuid") == 1
        && db_has_column(s->db, "instances", "instance_name") == 0;

    if ((old && db_exec(s->db, "DROP TABLE instances") < 0)
        || db_exec(s->db, store_instances_sql) < 0) {
        return ferr_set(err, FE_CONFIG,
                        "cannot prepare the instances index: %s",
                        db_errmsg(s->db));
    }
    return 0;
}

void store_instances_close(struct store *s)
{
    size_t i;

    for (i = 0; i < STORE_NCACHED; i++) {
        if (s->cached[i] != NULL) {
            db_finalize(s->cached[i]);
            s->cached[i] = NULL;
        }
    }
}

/* The cached statement q (every use ends with db_done: reset and
 * unbound); NULL (err set) on failure. */
static struct db_stmt *stmt(struct store *s, int q, struct ferr *err)
{
    struct db_stmt *st = s->cached[q];
    char sql[SQL_MAX];

    if (st == NULL) {
        if (store_sql_expand(s, queries[q], sql, err) < 0) {
            return NULL;
        }
        st = db_prepare(s->db, sql, 1);
        if (st == NULL) {
            store_db_err(s, err, "prepare");
            return NULL;
        }
        s->cached[q] = st;
    }
    return st;
}

/* Steps a write; the statement is reset for the next user. */
static int done(struct store *s, struct db_stmt *st, struct ferr *err,
                const char *what)
{
    int rc = db_step(st);

    db_done(st);
    return rc == DB_DONE ? 0 : store_db_err(s, err, what);
}

static void btext(struct db_stmt *st, int i, const char *v)
{
    db_bind_text(st, i, v);
}

/* The <meta> items as key\0value\0... into buf (a malloc'd block). */
static char *meta_blob(const struct server *s, size_t *len)
{
    size_t i, n = 0;
    char *b, *p;

    for (i = 0; i < s->nmeta; i++) {
        n += strlen(s->meta[i].key) + strlen(s->meta[i].value) + 2;
    }
    b = p = malloc(n ? n : 1);
    for (i = 0; b != NULL && i < s->nmeta; i++) {
        p = stpcpy(p, s->meta[i].key) + 1;
        p = stpcpy(p, s->meta[i].value) + 1;
    }
    *len = n;
    return b;
}

int instances_put(struct store *st, const struct server *s, int64_t at,
                  struct ferr *err)
{
    struct db_stmt *q = stmt(st, Q_PUT, err);
    size_t mlen;
    char *meta;
    int rc;

    if (q == NULL) {
        return ferr_fail(err);
    }
    meta = meta_blob(s, &mlen);
    if (meta == NULL) {
        return ferr_set(err, FE_NOMEM, "out of memory");
    }
    btext(q, 1, s->uuid);
    btext(q, 2, s->host);
    btext(q, 3, s->node);
    btext(q, 4, s->name);
    btext(q, 5, s->instance_name);
    btext(q, 6, s->project_id);
    btext(q, 7, s->user_id);
    db_bind_int(q, 8, s->power_state);
    btext(q, 9, s->vm_state);
    db_bind_int(q, 10, s->has_metadata);
    db_bind_int(q, 11, s->launched);
    db_bind_int(q, 12, s->locked);
    btext(q, 13, s->locked_reason);
    btext(q, 14, s->description);
    db_bind_int(q, 15, s->created);
    db_bind_int(q, 16, s->launched_at);
    db_bind_int(q, 17, s->vcpus);
    db_bind_int(q, 18, s->ram_mb);
    db_bind_int(q, 19, s->disk_gb);
    db_bind_int(q, 20, s->ephemeral_gb);
    db_bind_int(q, 21, s->swap_mb);
    btext(q, 22, s->flavor_id);
    btext(q, 23, s->flavor_name);
    btext(q, 24, s->image_id);
    btext(q, 25, s->az);
    btext(q, 26, s->key_name);
    db_bind_blob(q, 27, meta, mlen);
    db_bind_int(q, 28,
                (s->has_tpm ? F_TPM : 0) | (s->has_sev ? F_SEV : 0)
                    | (s->has_vdpa ? F_VDPA : 0)
                    | (s->has_hostdev ? F_HOSTDEV : 0));
    db_bind_int(q, 29, server_is_active(s->power_state));
    db_bind_int(q, 30, at);
    rc = done(st, q, err, "put instance");
    free(meta);
    return rc;
}

int instances_delete(struct store *st, const char *uuid, const char *host,
                     struct ferr *err)
{
    struct db_stmt *q = stmt(st, Q_DELETE, err);

    if (q == NULL) {
        return ferr_fail(err);
    }
    btext(q, 1, uuid);
    btext(q, 2, host);
    return done(st, q, err, "delete instance");
}

int instances_sweep(struct store *st, const char *host, int64_t at,
                    struct ferr *err)
{
    struct db_stmt *q = stmt(st, Q_SWEEP, err);

    if (q == NULL) {
        return ferr_fail(err);
    }
    btext(q, 1, host);
    db_bind_int(q, 2, at);
    return done(st, q, err, "sweep instances");
}

/* The names into the temporary table k (the list has no bound), and
 * the hosts another node keeps now: its configuration may name hosts
 * this one does not. */
static int keep_names(struct store *st, const char *const *names, size_t n,
                      const char *node, int64_t now)
{
    struct db_stmt *q;
    size_t i;
    int rc = 0;

    if (db_exec(st->db,
                "CREATE TEMP TABLE IF NOT EXISTS k (value TEXT"
                " PRIMARY KEY); DELETE FROM k")
            < 0
        || (q = db_prepare(st->db,
                           "INSERT INTO k VALUES (?1)"
                           " ON CONFLICT DO NOTHING",
                           1))
            == NULL) {
        return DB_ERR;
    }
    for (i = 0; rc == 0 && i < n; i++) {
        btext(q, 1, names[i]);
        rc = db_step(q) == DB_DONE ? 0 : DB_ERR;
        db_done(q);
    }
    db_finalize(q);
    q = rc == 0 ? db_prepare(st->db,
                             "INSERT INTO k SELECT host FROM inventory_leases"
                             " WHERE expires >= ?1 AND node != ?2"
                             " ON CONFLICT DO NOTHING",
                             0)
                : NULL;
    if (q == NULL) {
        return DB_ERR;
    }
    db_bind_int(q, 1, now);
    btext(q, 2, node);
    rc = db_step(q) == DB_DONE ? 0 : DB_ERR;
    db_done(q);
    return rc;
}

int instances_keep_hosts(struct store *st, const char *const *names, size_t n,
                         const char *node, int64_t now, struct ferr *err)
{
    static const char *const drop[] = {
        "DELETE FROM instances WHERE host NOT IN (SELECT value FROM k)",
        "DELETE FROM inventory_hosts WHERE name NOT IN (SELECT value FROM k)",
        "DELETE FROM inventory_leases WHERE host NOT IN (SELECT value FROM k)",
    };
    size_t i;

    if (keep_names(st, names, n, node, now) < 0) {
        return store_db_err(st, err, "keep hosts");
    }
    for (i = 0; i < ARRAY_LEN(drop); i++) {
        if (db_exec(st->db, drop[i]) < 0) {
            return store_db_err(st, err, "keep hosts");
        }
    }
    return 0;
}

static const char *ctext(struct db_stmt *q, int i)
{
    return db_col_text(q, i);
}

/* Row q into s; strings point into the row (valid until the next step)
 * unless a is given. */
static void read_inst(struct db_stmt *q, struct arena *a, struct server *s)
{
    const char *b, *end;
    size_t mlen;
    int flags, i;

    memset(s, 0, sizeof(*s));
    snprintf(s->uuid, sizeof(s->uuid), "%s", ctext(q, 0));
    s->host = ctext(q, 1);
    s->node = ctext(q, 2);
    s->name = ctext(q, 3);
    s->instance_name = ctext(q, 4);
    s->project_id = ctext(q, 5);
    s->user_id = ctext(q, 6);
    s->power_state = db_col_int(q, 7);
    s->vm_state = ctext(q, 8);
    s->has_metadata = db_col_int(q, 9);
    s->launched = db_col_int(q, 10);
    s->locked = db_col_int(q, 11);
    s->locked_reason = ctext(q, 12);
    s->description = ctext(q, 13);
    s->created = db_col_int(q, 14);
    s->launched_at = db_col_int(q, 15);
    s->vcpus = db_col_int(q, 16);
    s->ram_mb = db_col_int(q, 17);
    s->disk_gb = db_col_int(q, 18);
    s->ephemeral_gb = db_col_int(q, 19);
    s->swap_mb = db_col_int(q, 20);
    s->flavor_id = ctext(q, 21);
    s->flavor_name = ctext(q, 22);
    s->image_id = ctext(q, 23);
    s->az = ctext(q, 24);
    s->key_name = ctext(q, 25);
    b = db_col_blob(q, 26, &mlen);
    end = b + mlen;
    while (b != NULL && b < end && s->nmeta < SERVER_MAX_META) {
        s->meta[s->nmeta].key = b;
        b += strlen(b) + 1;
        s->meta[s->nmeta].value = b < end ? b : "";
        b += b < end ? strlen(b) + 1 : 0;
        s->nmeta++;
    }
    flags = db_col_int(q, 27);
    s->has_tpm = (flags & F_TPM) != 0;
    s->has_sev = (flags & F_SEV) != 0;
    s->has_vdpa = (flags & F_VDPA) != 0;
    s->has_hostdev = (flags & F_HOSTDEV) != 0;
    if (a != NULL) {
        const char **strs[] = {
            &s->host,        &s->node,      &s->name,        &s->instance_name,
            &s->project_id,  &s->user_id,   &s->vm_state,    &s->locked_reason,
            &s->description, &s->flavor_id, &s->flavor_name, &s->image_id,
            &s->az,          &s->key_name,
        };

        for (i = 0; i < (int) ARRAY_LEN(strs); i++) {
            *strs[i] = *strs[i] ? arena_strdup(a, *strs[i]) : NULL;
        }
        for (i = 0; i < (int) s->nmeta; i++) {
            s->meta[i].key = arena_strdup(a, s->meta[i].key);
            s->meta[i].value = arena_strdup(a, s->meta[i].value);
        }
    }
}

/* The one row statement i finds for uuid (and host, when not NULL). */
static int get_one(struct store *st, int i, const char *uuid, const char *host,
                   struct arena *a, struct server *out, struct ferr *err)
{
    struct db_stmt *q = stmt(st, i, err);
    int rc;

    if (q == NULL) {
        return ferr_fail(err);
    }
    btext(q, 1, uuid);
    if (host != NULL) {
        btext(q, 2, host);
    }
    rc = db_step(q);
    if (rc == DB_ROW) {
        read_inst(q, a, out);
    }
    db_done(q);
    if (rc == DB_ROW) {
        return 1;
    }
    return rc == DB_DONE ? 0 : store_db_err(st, err, "get instance");
}

int instances_get(struct store *st, const char *uuid, struct arena *a,
                  struct server *out, struct ferr *err)
{
    return get_one(st, Q_GET, uuid, NULL, a, out, err);
}

int instances_get_on(struct store *st, const char *uuid, const char *host,
                     struct arena *a, struct server *out, struct ferr *err)
{
    return get_one(st, Q_GET_ON, uuid, host, a, out, err);
}

/* The sort key of marker: 1 found, 0 not, <0 error. */
static int marker_key(struct store *st, const char *marker, int64_t *created,
                      char uuid[37], struct ferr *err)
{
    struct db_stmt *q = stmt(st, Q_MARKER, err);
    int rc;

    if (q == NULL) {
        return ferr_fail(err);
    }
    btext(q, 1, marker);
    rc = db_step(q);
    if (rc == DB_ROW) {
        *created = db_col_int(q, 0);
        snprintf(uuid, 37, "%s", ctext(q, 1));
    }
    db_done(q);
    if (rc == DB_ROW || rc == DB_DONE) {
        return rc == DB_ROW;
    }
    return store_db_err(st, err, "marker");
}

int instances_each(struct store *st, const char *project, const char *marker,
                   const char *name_has, struct arena *a, instances_fn fn,
                   void *ctx, struct ferr *err)
{
    struct db_stmt *q;
    int64_t created = 0;
    char after[37], last[37] = "";
    int rc = 0, step = DB_DONE;
    struct server s;

    if (marker != NULL) {
        rc = marker_key(st, marker, &created, after, err);
        if (rc <= 0) {
            return rc;
        }
    }
    q = stmt(st,
             project ? (marker ? Q_PROJ_AFTER : Q_PROJ)
                     : (marker ? Q_ALL_AFTER : Q_ALL),
             err);
    if (q == NULL) {
        return ferr_fail(err);
    }
    if (marker != NULL) {
        db_bind_int(q, 1, created);
        btext(q, 2, after);
    }
    btext(q, 3, project);
    if (name_has != NULL) {
        /* LIKE '%name_has%', its own % _ \ escaped */
        char *like = arena_alloc(a, 2 * strlen(name_has) + 3), *o = like;

        *o++ = '%';
        for (; *name_has != '\0'; name_has++) {
            if (strchr("%_\\", *name_has) != NULL) {
                *o++ = '\\';
            }
            *o++ = *name_has;
        }
        *o++ = '%';
        *o = '\0';
        btext(q, 4, like);
    }
    rc = 0; /* fn's: 0 go on, 1 enough, <0 failed */
    while (rc == 0 && (step = db_step(q)) == DB_ROW) {
        if (strcmp(ctext(q, 0), last) == 0) {
            continue; /* the same domain on a second host */
        }
        snprintf(last, sizeof(last), "%s", ctext(q, 0));
        read_inst(q, NULL, &s);
        rc = fn(ctx, &s, err);
    }
    db_done(q);
    if (rc < 0) {
        return rc;
    }
    return rc == 1 || step == DB_DONE ? 1 : store_db_err(st, err, "list");
}

int instances_host_set(struct store *st, const char *host, int up,
                       const char *node, const char *error, int64_t synced_at,
                       struct ferr *err)
{
    struct db_stmt *q = stmt(st, Q_HOST_SET, err);

    if (q == NULL) {
        return ferr_fail(err);
    }
    btext(q, 1, host);
    db_bind_int(q, 2, up);
    btext(q, 3, node);
    btext(q, 4, error);
    if (synced_at != 0) {
        db_bind_int(q, 5, synced_at);
    }
    db_bind_int(q, 6, time_now_us());
    return done(st, q, err, "host state");
}

int instances_host_get(struct store *st, const char *host, struct arena *a,
                       struct host_state *out, struct ferr *err)
{
    struct db_stmt *q = stmt(st, Q_HOST_GET, err);
    int rc;

    if (q == NULL) {
        return ferr_fail(err);
    }
    memset(out, 0, sizeof(*out));
    btext(q, 1, host);
    rc = db_step(q);
    if (rc == DB_ROW) {
        out->known = 1;
        out->up = db_col_int(q, 0);
        out->node = ctext(q, 1) ? arena_strdup(a, ctext(q, 1)) : NULL;
        out->error = ctext(q, 2) ? arena_strdup(a, ctext(q, 2)) : NULL;
        out->synced_at = db_col_int(q, 3);
        out->updated_at = db_col_int(q, 4);
    }
    db_done(q);
    return rc == DB_ROW || rc == DB_DONE ? 0
                                         : store_db_err(st, err, "host state");
}

static int by_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *) a, *(const char *const *) b);
}

/* The first column of every row of statement i, sorted (for bsearch). */
static int collect_sorted(struct store *st, int i, const char *what,
                          struct arena *a, const char ***out, size_t *n,
                          struct ferr *err)
{
    struct db_stmt *q = stmt(st, i, err);
    const char **v = NULL, **g;
    size_t cap = 0;
    int rc;

    *n = 0;
    if (q == NULL) {
        return ferr_fail(err);
    }
    while ((rc = db_step(q)) == DB_ROW) {
        if (*n == cap) {
            cap = cap ? 2 * cap : 64;
            g = arena_alloc(a, cap * sizeof(*g));
            if (*n > 0) {
                memcpy(g, v, *n * sizeof(*g));
            }
            v = g;
        }
        v[(*n)++] = arena_strdup(a, ctext(q, 0));
    }
    db_done(q);
    if (rc != DB_DONE) {
        return store_db_err(st, err, what);
    }
    if (*n > 0) {
        qsort(v, *n, sizeof(*v), by_str);
    }
    *out = v;
    return 0;
}

int instances_marked(struct store *st, struct arena *a, const char ***out,
                     size_t *n, struct ferr *err)
{
    return collect_sorted(st, Q_MARKED, "marked instances", a, out, n, err);
}

int instances_hosts_up(struct store *st, struct arena *a, const char ***out,
                       size_t *n, struct ferr *err)
{
    return collect_sorted(st, Q_HOSTS_UP, "hosts up", a, out, n, err);
}

int instances_is_marked(struct store *st, const char *uuid)
{
    struct ferr err = { 0 };
    struct db_stmt *q = stmt(st, Q_IS_MARKED, &err);
    int rc;

    if (q == NULL) {
        ferr_clear(&err);
        return 1;
    }
    btext(q, 1, uuid);
    rc = db_step(q);
    db_done(q);
    return rc != DB_DONE;
}

/* --- the host of an instance (store.h), for the runners --------------- */

int store_host_get(struct store *s, const char *uuid, char *host, size_t hostsz)
{
    struct ferr err = { 0 };
    struct db_stmt *q = stmt(s, Q_HINT_GET, &err);
    int found;

    if (q == NULL) {
        ferr_clear(&err);
        return 0;
    }
    btext(q, 1, uuid);
    found = db_step(q) == DB_ROW;
    if (found) {
        snprintf(host, hostsz, "%s", ctext(q, 0));
    }
    db_done(q);
    return found;
}

/* The runner's word, and the index's row moved with it so that the API
 * reads the new host before the inventory's events confirm it. */
int store_host_set(struct store *s, const char *uuid, const char *host)
{
    static const int steps[] = { Q_HINT_SET, Q_MOVE, Q_MOVED };
    struct ferr err = { 0 };
    int64_t now = time_now_us();
    size_t i;

    for (i = 0; i < ARRAY_LEN(steps); i++) {
        struct db_stmt *q = stmt(s, steps[i], &err);

        if (q == NULL) {
            ferr_clear(&err);
            return -FE_INTERNAL;
        }
        btext(q, 1, uuid);
        btext(q, 2, host);
        db_bind_int(q, 3, now);
        if (done(s, q, &err, "instance host") < 0) {
            ferr_clear(&err);
            return -FE_INTERNAL;
        }
    }
    return 0;
}
