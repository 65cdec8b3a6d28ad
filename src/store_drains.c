/*
 * store_drains.c: the drains of the store (see drain.h), on the handle of
 * store.c: the drains table, their servers and the hosts a drain
 * disabled.  Statuses are stored by their wire names (drain.c's tables).
 * A drain is written by one runner at a time (its lease), and created or
 * cancelled by request workers in one statement or transaction each.
 * Statements are prepared per use: drains are few and rare.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ferry/drain.h"
#include "store_priv.h"

const char store_drains_sql[] =
    "CREATE TABLE IF NOT EXISTS drains ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT, uuid TEXT NOT NULL UNIQUE,"
    " host TEXT NOT NULL, status TEXT NOT NULL,"
    " dry_run INTEGER NOT NULL, targets TEXT,"
    " max_parallel INTEGER NOT NULL, block_migration INTEGER NOT NULL,"
    " shut_off INTEGER NOT NULL, user_id TEXT, project_id TEXT,"
    " request_id TEXT, error TEXT, lease INTEGER,"
    " created_at INTEGER NOT NULL, updated_at INTEGER,"
    " finished_at INTEGER);"
    "CREATE INDEX IF NOT EXISTS drains_status ON drains(status);"
    "CREATE TABLE IF NOT EXISTS drain_servers ("
    " drain_id INTEGER NOT NULL REFERENCES drains(id),"
    " seq INTEGER NOT NULL, uuid TEXT NOT NULL, name TEXT,"
    " move INTEGER NOT NULL, state TEXT NOT NULL, planned_host TEXT,"
    " failed_host TEXT, migration_id INTEGER, attempts INTEGER NOT NULL,"
    " error TEXT, reasons TEXT, ram_mb INTEGER NOT NULL,"
    " PRIMARY KEY (drain_id, uuid));"
    /* a host a drain disabled stays so until enable_host */
    "CREATE TABLE IF NOT EXISTS hosts_disabled ("
    " host TEXT PRIMARY KEY, drain_id INTEGER, disabled_at INTEGER);";

/* The statuses a drain that has not ended has, as an SQL list. */
#define OPEN_STATUSES "('planning', 'running', 'cancelling')"

int store_drains_prepare(struct store *s, struct ferr *err)
{
    if (db_exec(s->db, store_drains_sql) < 0) {
        return ferr_set(err, FE_CONFIG, "cannot prepare the drains: %s",
                        db_errmsg(s->db));
    }
    return 0;
}

static int prep(struct store *s, const char *sql, struct db_stmt **st,
                struct ferr *err)
{
    *st = db_prepare(s->db, sql, 0);
    if (*st == NULL) {
        return store_db_err(s, err, "prepare drains");
    }
    return 0;
}

static void btext(struct db_stmt *st, int i, const char *v)
{
    db_bind_text(st, i, v);
}

/* One statement without rows: 0 and the changes, or <0. */
static int run(struct store *s, struct db_stmt *st, struct ferr *err,
               const char *what)
{
    int rc = db_step(st);

    db_done(st);
    if (rc != DB_DONE) {
        return store_db_err(s, err, what);
    }
    return db_changes(s->db);
}

static int status_of(const char *name)
{
    for (int i = 0; i < DR__COUNT; i++) {
        if (name != NULL && strcmp(drain_status_name(i), name) == 0) {
            return i;
        }
    }
    return DR_ERROR;
}

static int state_of(const char *name)
{
    for (int i = 0; i < DS__COUNT; i++) {
        if (name != NULL && strcmp(drain_srv_state_name(i), name) == 0) {
            return i;
        }
    }
    return DS_FAILED;
}

/* The target hosts, "\n"-joined (host names hold no newline). */
static char *join_targets(struct arena *a, const struct drain *d)
{
    struct sbuf b;
    char *out;

    if (d->targets == NULL) {
        return NULL;
    }
    sbuf_init(&b);
    for (size_t i = 0; i < d->ntargets; i++) {
        sbuf_printf(&b, "%s%s", i ? "\n" : "", d->targets[i]);
    }
    out = arena_strdup(a, b.len ? b.buf : "");
    sbuf_free(&b);
    return out;
}

static void split_targets(struct arena *a, const char *t, struct drain *d)
{
    size_t n = 1, i = 0;
    char *copy, *p, *save = NULL;

    d->targets = NULL;
    d->ntargets = 0;
    if (t == NULL) {
        return;
    }
    for (const char *c = t; *c; c++) {
        n += *c == '\n';
    }
    d->targets = arena_alloc(a, n * sizeof(*d->targets));
    copy = arena_strdup(a, t);
    for (p = strtok_r(copy, "\n", &save); p != NULL;
         p = strtok_r(NULL, "\n", &save)) {
        d->targets[i++] = p;
    }
    d->ntargets = i;
}

#define DRAIN_COLUMNS                                                     \
    "id, uuid, host, status, dry_run, targets, max_parallel,"             \
    " block_migration, shut_off, user_id, project_id, request_id, error," \
    " created_at, updated_at, finished_at"

static void read_drain(struct db_stmt *st, struct arena *a, struct drain *d)
{
    memset(d, 0, sizeof(*d));
    d->id = db_col_int(st, 0);
    db_col_copy(st, 1, d->uuid, sizeof(d->uuid));
    d->host = db_col_dup(st, 2, a);
    d->status = status_of(db_col_text(st, 3));
    d->dry_run = db_col_int(st, 4);
    split_targets(a, db_col_text(st, 5), d);
    d->max_parallel = db_col_int(st, 6);
    d->block_migration = db_col_int(st, 7);
    d->shut_off = db_col_int(st, 8);
    d->user_id = db_col_dup(st, 9, a);
    d->project_id = db_col_dup(st, 10, a);
    d->request_id = db_col_dup(st, 11, a);
    d->error = db_col_dup(st, 12, a);
    d->created_at = db_col_int(st, 13);
    d->updated_at = db_col_int(st, 14);
    d->finished_at = db_col_int(st, 15);
}

/* An open drain of host d->host: -FE_CONFLICT; else the host disabled. */
static int claim_host(struct store *s, const struct drain *d, struct ferr *err)
{
    struct db_stmt *st;
    int rc, busy;

    rc = prep(s,
              "SELECT id FROM drains WHERE host = ?1 AND dry_run = 0"
              " AND id != ?2 AND status IN " OPEN_STATUSES,
              &st, err);
    if (rc < 0) {
        return rc;
    }
    btext(st, 1, d->host);
    db_bind_int(st, 2, d->id);
    rc = db_step(st);
    busy = rc == DB_ROW ? db_col_int(st, 0) : 0;
    db_done(st);
    if (rc != DB_ROW && rc != DB_DONE) {
        return store_db_err(s, err, "read drains");
    }
    if (busy) {
        return ferr_set(err, FE_CONFLICT,
                        "Host %s is already being drained "
                        "(drain %d).",
                        d->host, busy);
    }
    rc = prep(s,
              "INSERT INTO hosts_disabled (host, drain_id, disabled_at)"
              " VALUES (?1, ?2, ?3) ON CONFLICT (host) DO UPDATE SET"
              " drain_id = ?2",
              &st, err);
    if (rc < 0) {
        return rc;
    }
    btext(st, 1, d->host);
    db_bind_int(st, 2, d->id);
    db_bind_int(st, 3, time_now_us());
    return run(s, st, err, "disable host") < 0 ? ferr_fail(err) : 0;
}

static int insert_drain(struct store *s, struct drain *d, struct ferr *err)
{
    struct arena a;
    struct db_stmt *st;
    int rc;

    rc = prep(s,
              "INSERT INTO drains (uuid, host, status, dry_run, targets,"
              " max_parallel, block_migration, shut_off, user_id,"
              " project_id, request_id, created_at, updated_at)"
              " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12,"
              " ?12) RETURNING id",
              &st, err);
    if (rc < 0) {
        return rc;
    }
    arena_init(&a, 1024);
    uuid4(d->uuid);
    d->created_at = d->updated_at = time_now_us();
    btext(st, 1, d->uuid);
    btext(st, 2, d->host);
    btext(st, 3, drain_status_name(DR_PLANNING));
    db_bind_int(st, 4, d->dry_run);
    btext(st, 5, join_targets(&a, d));
    db_bind_int(st, 6, d->max_parallel);
    db_bind_int(st, 7, d->block_migration);
    db_bind_int(st, 8, d->shut_off);
    btext(st, 9, d->user_id);
    btext(st, 10, d->project_id);
    btext(st, 11, d->request_id);
    db_bind_int(st, 12, d->created_at);
    rc = db_step(st);
    if (rc == DB_ROW) {
        d->id = db_col_int(st, 0);
        rc = db_step(st);
    }
    db_done(st);
    arena_free(&a);
    if (rc != DB_DONE) {
        return store_db_err(s, err, "insert drain");
    }
    d->status = DR_PLANNING;
    return 0;
}

int store_drain_create(struct store *s, struct drain *d, struct ferr *err)
{
    if (store_begin(s, err) < 0) {
        return ferr_fail(err);
    }
    if (insert_drain(s, d, err) < 0
        || (!d->dry_run && claim_host(s, d, err) < 0)
        || store_commit(s, err) < 0) {
        store_rollback(s);
        return ferr_fail(err);
    }
    return 0;
}

int store_drain_get(struct store *s, int64_t id, struct arena *a,
                    struct drain *out, struct ferr *err)
{
    struct db_stmt *st;
    int rc =
        prep(s, "SELECT " DRAIN_COLUMNS " FROM drains WHERE id = ?1", &st, err);

    if (rc < 0) {
        return rc;
    }
    db_bind_int(st, 1, id);
    rc = db_step(st);
    if (rc == DB_ROW) {
        read_drain(st, a, out);
    }
    db_done(st);
    if (rc != DB_ROW && rc != DB_DONE) {
        return store_db_err(s, err, "read drain");
    }
    return rc == DB_ROW;
}

/* Grows *arr of *cap elements of size sz by doubling, in a. */
static void *grow(struct arena *a, void *arr, size_t n, size_t *cap, size_t sz)
{
    void *g;

    if (n < *cap) {
        return arr;
    }
    *cap = *cap ? *cap * 2 : 16;
    g = arena_alloc(a, *cap * sz);
    if (n > 0) {
        memcpy(g, arr, n * sz);
    }
    return g;
}

int store_drains_list(struct store *s, struct arena *a, struct drain **out,
                      size_t *n, struct ferr *err)
{
    struct db_stmt *st;
    size_t cap = 0;
    int rc = prep(s,
                  "SELECT " DRAIN_COLUMNS " FROM drains ORDER BY id"
                  " DESC",
                  &st, err);

    *out = NULL;
    *n = 0;
    if (rc < 0) {
        return rc;
    }
    while ((rc = db_step(st)) == DB_ROW) {
        *out = grow(a, *out, *n, &cap, sizeof(**out));
        read_drain(st, a, &(*out)[(*n)++]);
    }
    db_done(st);
    return rc == DB_DONE ? 0 : store_db_err(s, err, "list drains");
}

int store_drain_servers(struct store *s, int64_t id, struct arena *a,
                        struct drain_server **out, size_t *n, struct ferr *err)
{
    struct db_stmt *st;
    size_t cap = 0;
    int rc = prep(s,
                  "SELECT uuid, name, move, state, planned_host,"
                  " failed_host, migration_id, attempts, error, reasons,"
                  " ram_mb FROM drain_servers WHERE drain_id = ?1"
                  " ORDER BY seq",
                  &st, err);

    *out = NULL;
    *n = 0;
    if (rc < 0) {
        return rc;
    }
    db_bind_int(st, 1, id);
    while ((rc = db_step(st)) == DB_ROW) {
        struct drain_server *d;

        *out = grow(a, *out, *n, &cap, sizeof(**out));
        d = &(*out)[(*n)++];
        memset(d, 0, sizeof(*d));
        db_col_copy(st, 0, d->uuid, sizeof(d->uuid));
        d->name = db_col_dup(st, 1, a);
        d->move = db_col_int(st, 2);
        d->state = state_of(db_col_text(st, 3));
        d->planned_host = db_col_dup(st, 4, a);
        d->failed_host = db_col_dup(st, 5, a);
        d->migration_id = db_col_int(st, 6);
        d->attempts = db_col_int(st, 7);
        d->error = db_col_dup(st, 8, a);
        d->reasons = db_col_dup(st, 9, a);
        d->ram_mb = db_col_int(st, 10);
    }
    db_done(st);
    return rc == DB_DONE ? 0 : store_db_err(s, err, "read drain servers");
}

int store_drain_server_put(struct store *s, int64_t id,
                           const struct drain_server *ds, struct ferr *err)
{
    struct db_stmt *st;
    int rc = prep(
        s,
        "INSERT INTO drain_servers (drain_id, seq, uuid, name, move, state,"
        " planned_host, failed_host, migration_id, attempts, error, reasons,"
        " ram_mb) VALUES (?1, (SELECT count(*) FROM drain_servers WHERE"
        " drain_id = ?1), ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)"
        " ON CONFLICT (drain_id, uuid) DO UPDATE SET name = ?3, move = ?4,"
        " state = ?5, planned_host = ?6, failed_host = ?7,"
        " migration_id = ?8, attempts = ?9, error = ?10, reasons = ?11,"
        " ram_mb = ?12",
        &st, err);

    if (rc < 0) {
        return rc;
    }
    db_bind_int(st, 1, id);
    btext(st, 2, ds->uuid);
    btext(st, 3, ds->name);
    db_bind_int(st, 4, ds->move);
    btext(st, 5, drain_srv_state_name(ds->state));
    btext(st, 6, ds->planned_host);
    btext(st, 7, ds->failed_host);
    if (ds->migration_id > 0) {
        db_bind_int(st, 8, ds->migration_id);
    }
    db_bind_int(st, 9, ds->attempts);
    btext(st, 10, ds->error);
    btext(st, 11, ds->reasons);
    db_bind_int(st, 12, ds->ram_mb);
    return run(s, st, err, "write drain server") < 0 ? ferr_fail(err) : 0;
}

int store_drain_move(struct store *s, int64_t id, int from, int to,
                     const char *error, struct ferr *err)
{
    struct db_stmt *st;
    int64_t now = time_now_us();
    int rc = prep(s,
                  "UPDATE drains SET status = ?2, error = coalesce(?3, error),"
                  " updated_at = ?4, finished_at = CASE WHEN ?5 <> 0 THEN ?4"
                  " ELSE finished_at END WHERE id = ?1 AND status = ?6",
                  &st, err);

    if (rc < 0) {
        return rc;
    }
    db_bind_int(st, 1, id);
    btext(st, 2, drain_status_name(to));
    btext(st, 3, error);
    db_bind_int(st, 4, now);
    db_bind_int(st, 5, drain_status_ended(to));
    btext(st, 6, drain_status_name(from));
    rc = run(s, st, err, "write drain");
    return rc < 0 ? rc : rc > 0;
}

int store_drain_cancel(struct store *s, int64_t id, struct ferr *err)
{
    struct db_stmt *st;
    int rc = prep(s,
                  "UPDATE drains SET status = 'cancelling', updated_at = ?2"
                  " WHERE id = ?1 AND status IN ('planning', 'running')",
                  &st, err);

    if (rc < 0) {
        return rc;
    }
    db_bind_int(st, 1, id);
    db_bind_int(st, 2, time_now_us());
    rc = run(s, st, err, "cancel drain");
    return rc < 0 ? rc : rc > 0;
}

int store_drain_lease(struct store *s, int64_t id, int64_t runner,
                      int64_t stale_us, struct ferr *err)
{
    struct db_stmt *st;
    int rc = prep(s,
                  "UPDATE drains SET lease = ?2 WHERE id = ?1 AND (lease IS"
                  " NULL OR lease = ?2 OR lease NOT IN (SELECT id FROM"
                  " runners WHERE heartbeat > ?3))",
                  &st, err);

    if (rc < 0) {
        return rc;
    }
    db_bind_int(st, 1, id);
    db_bind_int(st, 2, runner);
    db_bind_int(st, 3, time_now_us() - stale_us);
    rc = run(s, st, err, "lease drain");
    return rc < 0 ? rc : rc > 0;
}

void store_drain_release(struct store *s, int64_t id, int64_t runner)
{
    struct db_stmt *st;
    struct ferr err = { 0 };

    if (prep(s, "UPDATE drains SET lease = NULL WHERE id = ?1 AND lease = ?2",
             &st, &err)
        == 0) {
        db_bind_int(st, 1, id);
        db_bind_int(st, 2, runner);
        run(s, st, &err, "release drain");
    }
    ferr_clear(&err);
}

int store_drains_open(struct store *s, struct arena *a, int64_t **ids,
                      size_t *n, struct ferr *err)
{
    struct db_stmt *st;
    size_t cap = 0;
    int rc = prep(s,
                  "SELECT id FROM drains WHERE status IN " OPEN_STATUSES
                  " ORDER BY id",
                  &st, err);

    *ids = NULL;
    *n = 0;
    if (rc < 0) {
        return rc;
    }
    while ((rc = db_step(st)) == DB_ROW) {
        *ids = grow(a, *ids, *n, &cap, sizeof(**ids));
        (*ids)[(*n)++] = db_col_int(st, 0);
    }
    db_done(st);
    return rc == DB_DONE ? 0 : store_db_err(s, err, "read drains");
}

int store_hosts_disabled(struct store *s, struct arena *a, const char ***out,
                         size_t *n, struct ferr *err)
{
    struct db_stmt *st;
    size_t cap = 0;
    int rc = prep(s, "SELECT host FROM hosts_disabled ORDER BY host", &st, err);

    *out = NULL;
    *n = 0;
    if (rc < 0) {
        return rc;
    }
    while ((rc = db_step(st)) == DB_ROW) {
        *out = grow(a, *out, *n, &cap, sizeof(**out));
        (*out)[(*n)++] = db_col_dup(st, 0, a);
    }
    db_done(st);
    return rc == DB_DONE ? 0 : store_db_err(s, err, "read hosts");
}

int store_host_is_disabled(struct store *s, const char *host)
{
    struct db_stmt *st;
    struct ferr err = { 0 };
    int rc;

    if (prep(s, "SELECT 1 FROM hosts_disabled WHERE host = ?1", &st, &err)
        < 0) {
        ferr_clear(&err);
        return 0;
    }
    btext(st, 1, host);
    rc = db_step(st) == DB_ROW;
    db_done(st);
    return rc;
}

int store_host_enable(struct store *s, const char *host, struct ferr *err)
{
    struct db_stmt *st;
    /* never while a drain of the host runs */
    int rc = prep(s,
                  "DELETE FROM hosts_disabled WHERE host = ?1 AND NOT EXISTS"
                  " (SELECT 1 FROM drains WHERE host = ?1 AND dry_run = 0"
                  " AND status IN " OPEN_STATUSES ")",
                  &st, err);

    if (rc < 0) {
        return rc;
    }
    btext(st, 1, host);
    rc = run(s, st, err, "enable host");
    return rc < 0 ? rc : rc > 0;
}

static int count_into(struct store *s, const char *sql, int64_t *counts, int n,
                      int (*index)(const char *), struct ferr *err)
{
    struct db_stmt *st;
    int rc = prep(s, sql, &st, err);

    if (rc < 0) {
        return rc;
    }
    memset(counts, 0, (size_t) n * sizeof(*counts));
    while ((rc = db_step(st)) == DB_ROW) {
        counts[index(db_col_text(st, 0))] += db_col_int(st, 1);
    }
    db_done(st);
    return rc == DB_DONE ? 0 : store_db_err(s, err, "count drains");
}

int store_drain_counts(struct store *s, int64_t *counts, int64_t *srv,
                       struct ferr *err)
{
    if (count_into(s, "SELECT status, count(*) FROM drains GROUP BY status",
                   counts, DR__COUNT, status_of, err)
        < 0) {
        return ferr_fail(err);
    }
    return count_into(
        s,
        "SELECT state, count(*) FROM drain_servers WHERE"
        " drain_id IN (SELECT id FROM drains WHERE status IN " OPEN_STATUSES
        ") GROUP BY state",
        srv, DS__COUNT, state_of, err);
}
