/*
 * store.c: the store (see store.h): migration records, runners, instance
 * actions and faults, on a database behind db.h (SQLite or PostgreSQL).
 *
 * Invariants: a partial unique index allows one in-progress migration per
 * instance; every write is one statement or one transaction, with a lock
 * timeout so concurrent workers and runners queue rather than fail.  An
 * instance action is written in the transaction of the record change that
 * starts it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "ferry/drain.h"
#include "store_priv.h"

int mig_live_in_progress(const struct migration *m)
{
    return strcmp(m->migration_type, "live-migration") == 0
        && mig_status_has(mig_status_of(m->status), MIG_F_LIVE_API);
}

static const char schema_sql[] =
    "CREATE TABLE IF NOT EXISTS migrations ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " uuid TEXT NOT NULL UNIQUE,"
    " instance_uuid TEXT NOT NULL,"
    " migration_type TEXT NOT NULL,"
    " status TEXT NOT NULL,"
    " source_compute TEXT, source_node TEXT,"
    " dest_compute TEXT, dest_node TEXT, dest_host TEXT,"
    " old_instance_type_id INTEGER, new_instance_type_id INTEGER,"
    " memory_total INTEGER, memory_processed INTEGER,"
    " memory_remaining INTEGER,"
    " disk_total INTEGER, disk_processed INTEGER, disk_remaining INTEGER,"
    " user_id TEXT, project_id TEXT,"
    " hidden INTEGER NOT NULL DEFAULT 0,"
    " deleted INTEGER NOT NULL DEFAULT 0,"
    " created_at INTEGER NOT NULL, updated_at INTEGER,"
    " block_migration INTEGER, disk_over_commit INTEGER,"
    " force INTEGER, mv_minor INTEGER, requested_host TEXT,"
    " error_reason TEXT, claimed_by INTEGER, total_time_ms INTEGER,"
    " downtime_ms INTEGER, finished_at INTEGER);"
    "DROP INDEX IF EXISTS migrations_one_in_progress;"
    "CREATE INDEX IF NOT EXISTS migrations_status ON migrations(status);"
    /* a claim counts each waiting record's hosts' migrations in flight:
     * by host, not by status (every queued record is a status row) */
    "CREATE INDEX IF NOT EXISTS migrations_flight_src"
    " ON migrations(source_compute, status) WHERE claimed_by IS NOT NULL;"
    "CREATE INDEX IF NOT EXISTS migrations_flight_dst"
    " ON migrations(dest_compute, status) WHERE claimed_by IS NOT NULL;"
    "CREATE TABLE IF NOT EXISTS runners ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT, pid INTEGER NOT NULL,"
    " started_at INTEGER NOT NULL, heartbeat INTEGER NOT NULL);"
    /* Nova's instance_actions / instance_actions_events (times in µs) */
    "CREATE TABLE IF NOT EXISTS instance_actions ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT, action TEXT NOT NULL,"
    " instance_uuid TEXT NOT NULL, request_id TEXT NOT NULL,"
    " user_id TEXT, project_id TEXT, start_time INTEGER NOT NULL,"
    " finish_time INTEGER, message TEXT, created_at INTEGER NOT NULL,"
    " updated_at INTEGER);"
    "CREATE INDEX IF NOT EXISTS instance_actions_instance"
    " ON instance_actions(instance_uuid, request_id);"
    "CREATE TABLE IF NOT EXISTS instance_actions_events ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " action_id INTEGER NOT NULL REFERENCES instance_actions(id),"
    " event TEXT NOT NULL, start_time INTEGER NOT NULL,"
    " finish_time INTEGER, result TEXT, traceback TEXT, host TEXT,"
    " details TEXT, created_at INTEGER NOT NULL);"
    "CREATE INDEX IF NOT EXISTS instance_actions_events_action"
    " ON instance_actions_events(action_id);";

static const char faults_sql[] =
    "CREATE TABLE IF NOT EXISTS instance_faults ("
    " instance_uuid TEXT PRIMARY KEY, code INTEGER NOT NULL,"
    " message TEXT NOT NULL, created_at INTEGER NOT NULL,"
    " vm_error INTEGER NOT NULL DEFAULT 0, migration_id INTEGER);";

/* One in-progress migration per instance.  SQLite keeps the text of an
 * index as created and IF NOT EXISTS keeps an existing one: a store made
 * by an older ferryd keeps its index, which is right as long as the set
 * of MIG_F_HOLDS statuses is the same (the table lists them in the order
 * of the text written before the table existed, so even the text is the
 * same; tests/unit/test_status.c checks it).  A change of that set needs
 * a new index name (_v3) and a DROP of this one. */
static const char index_sql[] =
    "CREATE UNIQUE INDEX IF NOT EXISTS migrations_one_in_progress_v2"
    " ON migrations(instance_uuid) WHERE status IN ({HOLDS})";

/* Columns added after the first release of the schema: a store written by
 * an older ferryd gets them on open (ALTER TABLE ... ADD COLUMN). */
static const struct {
    const char *table, *name, *decl;
} late_columns[] = {
    { "migrations", "abort_requested", "INTEGER NOT NULL DEFAULT 0" },
    { "migrations", "force_requested", "INTEGER NOT NULL DEFAULT 0" },
    { "migrations", "claim_gen", "INTEGER NOT NULL DEFAULT 0" },
    { "migrations", "paused_by_migration", "INTEGER NOT NULL DEFAULT 0" },
    { "migrations", "request_id", "TEXT" },
    { "migrations", "transfer_bps", "INTEGER NOT NULL DEFAULT 0" },
    { "migrations", "convergence", "TEXT" },
    { "runners", "node", "TEXT" },
};

/* A store that is busy (locked by another process past the timeout),
 * full, read-only or failing I/O is unavailable (503, retry later); any
 * other failure is ferry's bug (500). */
static int db_err(struct store *s, struct ferr *err, const char *what)
{
    switch (db_errkind(s->db)) {
    case DB_E_BUSY:
    case DB_E_UNAVAILABLE:
        return ferr_set(err, FE_UNAVAILABLE,
                        "The migration store is "
                        "unavailable at this time (%s). Please retry "
                        "later.",
                        db_errmsg(s->db));
    default:
        return ferr_set(err, FE_INTERNAL, "store: %s: %s", what,
                        db_errmsg(s->db));
    }
}

/* Statements that name statuses are written with {NAME} where the SQL
 * list of the statuses with flag NAME goes (status.h's table, the one
 * place that says which status is which): sql_expand writes them out. */
static const struct {
    const char *name;
    unsigned flag;
} sql_lists[] = {
    { "ENDED", MIG_F_ENDED },     { "HOLDS", MIG_F_HOLDS },
    { "WORKED", MIG_F_WORKED },   { "IN_FLIGHT", MIG_F_IN_FLIGHT },
    { "WAITING", MIG_F_WAITING }, { "COLD_STEP", MIG_F_COLD_STEP },
};

/* tmpl with its {NAME}s expanded, in out[SQL_MAX]: a status list, or
 * else the backend's text of a token (db_token): 0, or <0 (a template
 * too long or naming neither is ferry's bug). */
static int sql_expand(struct store *s, const char *tmpl, char *out,
                      struct ferr *err)
{
    size_t len = 0, i, n;
    const char *p = tmpl, *close, *tok = NULL;
    int w;

    while (*p != '\0') {
        if (*p != '{') {
            if (len + 1 >= SQL_MAX) {
                break;
            }
            out[len++] = *p++;
            continue;
        }
        close = strchr(p, '}');
        for (i = 0; close != NULL && i < ARRAY_LEN(sql_lists); i++) {
            n = strlen(sql_lists[i].name);
            if ((size_t) (close - p - 1) == n
                && memcmp(p + 1, sql_lists[i].name, n) == 0) {
                break;
            }
        }
        if (close != NULL && i == ARRAY_LEN(sql_lists)) {
            tok = db_token(s->db, p + 1, (size_t) (close - p - 1));
        }
        if (close == NULL || (i == ARRAY_LEN(sql_lists) && tok == NULL)) {
            return ferr_set(err, FE_INTERNAL,
                            "store: no status list in "
                            "%.40s",
                            p);
        }
        if (tok != NULL) {
            w = snprintf(out + len, SQL_MAX - len, "%s", tok);
            w = (size_t) w < SQL_MAX - len ? w : -1;
            tok = NULL;
        } else {
            w = mig_status_sql_list(sql_lists[i].flag, out + len,
                                    SQL_MAX - len);
        }
        if (w < 0) {
            break;
        }
        len += (size_t) w;
        p = close + 1;
    }
    if (*p != '\0') {
        return ferr_set(err, FE_INTERNAL, "store: statement too long: %.40s",
                        tmpl);
    }
    out[len] = '\0';
    return 0;
}

/* Statements are prepared at their first use in a process and kept in
 * s->kept, keyed by the address of their static text: a request does not
 * compile SQL.  stmt_done() resets a kept statement (ending its read
 * transaction, so it holds no lock and no WAL snapshot between uses) and
 * clears its bindings; store_close finalizes them.  A schema change is
 * no concern: a prepared statement re-prepares itself.  Only static text
 * may be a key: a statement built in a buffer is prepared and finalized
 * per use (store_migration_groups). */
static struct db_stmt *stmt_kept(struct store *s, const char *text)
{
    for (int i = 0; i < s->nkept; i++) {
        if (s->kept[i].text == text) {
            return s->kept[i].st;
        }
    }
    return NULL;
}

static void stmt_keep(struct store *s, const char *text, struct db_stmt *st)
{
    if (s->nkept < STORE_NKEPT) {
        s->kept[s->nkept].text = text;
        s->kept[s->nkept++].st = st;
    }
}

/* A statement of static text, kept (one past STORE_NKEPT is for one
 * use): 0 and *st, or DB_ERR. */
static int stmt_prepare(struct store *s, const char *text, struct db_stmt **st)
{
    *st = stmt_kept(s, text);
    if (*st != NULL) {
        return 0;
    }
    *st = db_prepare(s->db, text, s->nkept < STORE_NKEPT);
    if (*st == NULL) {
        return DB_ERR;
    }
    stmt_keep(s, text, *st);
    return 0;
}

/* The end of a use of st: reset and unbound if kept, else finalized
 * (db_done); the error of its last step stays the handle's, for db_err. */
static void stmt_done(struct store *s, struct db_stmt *st)
{
    db_done(st);
}

static void stmt_close_all(struct store *s)
{
    for (int i = 0; i < s->nkept; i++) {
        db_finalize(s->kept[i].st);
    }
    s->nkept = 0;
}

/* Prepares template tmpl (sql_expand), kept: 0 and *st, or <0. */
static int prepare_tmpl(struct store *s, const char *tmpl, struct db_stmt **st,
                        struct ferr *err, const char *what)
{
    char sql[SQL_MAX];
    int rc;

    *st = stmt_kept(s, tmpl);
    if (*st != NULL) {
        return 0;
    }
    rc = sql_expand(s, tmpl, sql, err);
    if (rc < 0) {
        return rc;
    }
    *st = db_prepare(s->db, sql, s->nkept < STORE_NKEPT);
    if (*st == NULL) {
        return db_err(s, err, what);
    }
    stmt_keep(s, tmpl, *st);
    return 0;
}

int store_sql_expand(struct store *s, const char *tmpl, char *out,
                     struct ferr *err)
{
    return sql_expand(s, tmpl, out, err);
}

int store_db_err(struct store *s, struct ferr *err, const char *what)
{
    return db_err(s, err, what);
}

void store_set_timeout(struct store *s, int ms)
{
    s->timeout_ms = ms;
    db_set_timeout(s->db, ms);
}

/* Columns added since the first schema: an older store gains them. */
static int add_late_columns(struct store *s, const char *shown,
                            struct ferr *err)
{
    for (size_t i = 0; i < ARRAY_LEN(late_columns); i++) {
        char sql[256];
        int have =
            db_has_column(s->db, late_columns[i].table, late_columns[i].name);

        snprintf(sql, sizeof(sql), "ALTER TABLE %s ADD COLUMN %s %s",
                 late_columns[i].table, late_columns[i].name,
                 late_columns[i].decl);
        if (have == 0 && db_exec(s->db, sql) < 0
            && db_errkind(s->db) != DB_E_OTHER) {
            return ferr_set(err, FE_CONFIG, "%s: cannot upgrade the store: %s",
                            shown, db_errmsg(s->db));
        }
    }
    return 0;
}

/* The schema of ferry 0.9, its index (rendered from the status table)
 * and the columns added before versions: every statement is idempotent,
 * so a store of an earlier ferryd (version 0) takes it too. */
static int schema_v1(struct store *s, const char *shown, struct ferr *err)
{
    char index[SQL_MAX];
    int rc = sql_expand(s, index_sql, index, err);

    if (rc < 0) {
        return rc;
    }
    if (db_exec(s->db, schema_sql) < 0 || db_exec(s->db, index) < 0) {
        return ferr_set(err, FE_CONFIG, "%s: cannot prepare the store: %s",
                        shown, db_errmsg(s->db));
    }
    rc = store_faults_prepare(s, err);
    if (rc == 0) {
        rc = store_instances_prepare(s, err);
    }
    if (rc == 0) {
        rc = store_drains_prepare(s, err);
    }
    if (rc == 0) {
        rc = add_late_columns(s, shown, err);
    }
    return rc;
}

/* The schema's versions: upgrades[n - 1] makes version n of version
 * n - 1.  A change that idempotent text cannot make (a type, a column
 * dropped, data moved) is a new entry here, written for both backends;
 * an index, a table or a late column added to the current version's
 * text is taken by every store whose digest differs (schema_digest). */
static int (*const upgrades[])(struct store *s, const char *shown,
                               struct ferr *err) = {
    schema_v1,
};
#define SCHEMA_VERSION ((int64_t) ARRAY_LEN(upgrades))

static const char version_sql[] =
    "CREATE TABLE IF NOT EXISTS schema_version ("
    " version INTEGER NOT NULL PRIMARY KEY, applied_at INTEGER NOT NULL,"
    " applied_by TEXT, digest TEXT)";

/* A digest of every statement of the schema (FNV-1a, in hex into
 * out[17]): a store stamped with another one has the current version
 * made by other text (an index or a column added since, in place), and
 * takes the version's idempotent statements again. */
static uint64_t fnv(uint64_t h, const char *t)
{
    for (; *t != '\0'; t++) {
        h = (h ^ (unsigned char) *t) * 0x100000001b3ULL;
    }
    return (h ^ 0xff) * 0x100000001b3ULL; /* the end of a text */
}

static void schema_digest(char out[17])
{
    const char *texts[] = { schema_sql, index_sql, faults_sql,
                            store_instances_sql, store_drains_sql };
    uint64_t h = 0xcbf29ce484222325ULL;
    size_t i;

    for (i = 0; i < ARRAY_LEN(texts); i++) {
        h = fnv(h, texts[i]);
    }
    for (i = 0; i < ARRAY_LEN(late_columns); i++) {
        h = fnv(fnv(fnv(h, late_columns[i].table), late_columns[i].name),
                late_columns[i].decl);
    }
    snprintf(out, 17, "%016llx", (unsigned long long) h);
}

/* The store's schema version: >= 0 (0: none yet), or DB_ERR (no table
 * is version 0 too). */
static int64_t schema_version(struct store *s)
{
    struct db_stmt *st =
        db_prepare(s->db, "SELECT max(version) FROM schema_version", 0);
    int64_t v = 0;

    if (st == NULL) {
        return 0; /* no table yet */
    }
    if (db_step(st) == DB_ROW) {
        v = db_col_int(st, 0);
    } else {
        v = DB_ERR;
    }
    db_done(st);
    return v;
}

/* Whether the store is as this ferryd writes it: its version, made by
 * the same text (digest).  One read; no lock. */
static int schema_current(struct store *s, const char *digest)
{
    struct db_stmt *st = db_prepare(s->db,
                                    "SELECT version, digest FROM"
                                    " schema_version ORDER BY version DESC"
                                    " LIMIT 1",
                                    0);
    int ok = 0;

    if (st == NULL) {
        return 0; /* no table yet */
    }
    if (db_step(st) == DB_ROW) {
        ok = db_col_int(st, 0) == SCHEMA_VERSION && db_col_text(st, 1) != NULL
            && strcmp(db_col_text(st, 1), digest) == 0;
    }
    db_done(st);
    return ok;
}

/* Records version v as applied (again), by this host and process, made
 * by the text of digest. */
static int version_stamp(struct store *s, int64_t v, const char *digest)
{
    struct db_stmt *st = db_prepare(
        s->db,
        "INSERT INTO schema_version (version, applied_at, applied_by,"
        " digest) VALUES (?1, ?2, ?3, ?4) ON CONFLICT (version) DO UPDATE"
        " SET applied_at = excluded.applied_at,"
        " applied_by = excluded.applied_by, digest = excluded.digest",
        0);
    char by[300], host[256] = "";
    int rc;

    if (st == NULL) {
        return DB_ERR;
    }
    gethostname(host, sizeof(host) - 1);
    snprintf(by, sizeof(by), "%s pid %d", host, (int) getpid());
    db_bind_int(st, 1, v);
    db_bind_int(st, 2, time_now_us());
    db_bind_text(st, 3, by);
    db_bind_text(st, 4, digest);
    rc = db_step(st);
    db_done(st);
    return rc == DB_DONE ? 0 : DB_ERR;
}

/* Brings the schema to SCHEMA_VERSION under the schema lock (SQLite:
 * BEGIN EXCLUSIVE; PostgreSQL: an advisory lock), so that of several
 * processes or nodes starting together one upgrades and the others find
 * it done.  The version is read again under the lock. */
static int schema_upgrade(struct store *s, const char *shown, struct ferr *err)
{
    char digest[17];
    int64_t v;
    int rc = 0;

    schema_digest(digest);
    if (schema_current(s, digest)) {
        return 0; /* every open but the first: no lock taken */
    }
    if (db_begin(s->db, DB_TX_SCHEMA) < 0 || db_exec(s->db, version_sql) < 0
        || (v = schema_version(s)) < 0) {
        rc = ferr_set(err, FE_CONFIG, "%s: cannot prepare the store: %s", shown,
                      db_errmsg(s->db));
        db_rollback(s->db);
        return rc;
    }
    if (v > SCHEMA_VERSION) {
        db_rollback(s->db);
        return ferr_set(err, FE_CONFIG,
                        "%s: the store's schema version %lld is newer than"
                        " this ferryd's (%lld): upgrade ferryd",
                        shown, (long long) v, (long long) SCHEMA_VERSION);
    }
    if (v == SCHEMA_VERSION && schema_current(s, digest)) {
        db_rollback(s->db); /* another process made it meanwhile */
        return 0;
    }
    /* the last version again: what its text gained since (idempotent) */
    for (v = v > 0 ? v - 1 : 0; rc == 0 && v < SCHEMA_VERSION; v++) {
        rc = upgrades[v](s, shown, err);
        if (rc == 0 && version_stamp(s, v + 1, digest) < 0) {
            rc = ferr_set(err, FE_CONFIG, "%s: cannot upgrade the store: %s",
                          shown, db_errmsg(s->db));
        }
    }
    if (rc == 0 && db_commit(s->db) < 0) {
        rc = ferr_set(err, FE_CONFIG, "%s: cannot upgrade the store: %s", shown,
                      db_errmsg(s->db));
    }
    if (rc < 0) {
        db_rollback(s->db);
    }
    return rc;
}

int store_open(const char *url, struct store **out, struct ferr *err)
{
    struct store *s = calloc(1, sizeof(*s));
    char shown[512];
    int rc;

    if (s == NULL) {
        return ferr_set(err, FE_NOMEM, "out of memory");
    }
    db_redact(url, shown, sizeof(shown));
    s->timeout_ms = 10000;
    rc = db_open(url, s->timeout_ms, &s->db, err);
    if (rc < 0) {
        free(s);
        return rc;
    }
    rc = schema_upgrade(s, shown, err);
    if (rc < 0) {
        store_close(s); /* also the statements prepared so far */
        return rc;
    }
    *out = s;
    return 0;
}

void store_close(struct store *s)
{
    if (s != NULL) {
        store_instances_close(s);
        stmt_close_all(s);
        db_close(s->db);
        free(s);
    }
}

static void bind_text(struct db_stmt *st, int i, const char *v)
{
    db_bind_text(st, i, v);
}

static void bind_int(struct db_stmt *st, int i, int64_t v)
{
    if (v == MIG_NULL_INT) {
        db_bind_null(st, i);
    } else {
        db_bind_int(st, i, v);
    }
}

/* claimed_by: nobody is NULL in the store.  MIG_NULL_INT is read as
 * nobody too: the runner's spelling of it until it uses MIG_UNCLAIMED. */
static void bind_claim(struct db_stmt *st, int i, int64_t holder)
{
    bind_int(st, i, holder == MIG_UNCLAIMED ? MIG_NULL_INT : holder);
}

/* Steps an INSERT ... RETURNING id: DB_DONE and *id, or DB_ERR. */
static int step_id(struct db_stmt *st, int64_t *id)
{
    int rc = db_step(st);

    if (rc == DB_ROW) {
        *id = db_col_int(st, 0);
        rc = db_step(st);
    }
    return rc == DB_DONE ? DB_DONE : DB_ERR;
}

int store_migration_create(struct store *s, struct migration *m,
                           struct ferr *err)
{
    static const char sql[] =
        "INSERT INTO migrations (uuid, instance_uuid, migration_type,"
        " status, source_compute, source_node, dest_compute, dest_node,"
        " dest_host, old_instance_type_id, new_instance_type_id, user_id,"
        " project_id, created_at, updated_at, block_migration,"
        " disk_over_commit, force, mv_minor, requested_host, claimed_by,"
        " request_id)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13,"
        " ?14, NULL, ?15, ?16, ?17, ?18, ?19, ?20, ?21) RETURNING id";
    struct db_stmt *st;
    int rc;

    if (stmt_prepare(s, sql, &st) < 0) {
        return db_err(s, err, "prepare insert");
    }
    uuid4(m->uuid);
    m->created_at = time_now_us();
    bind_text(st, 1, m->uuid);
    bind_text(st, 2, m->instance_uuid);
    bind_text(st, 3, m->migration_type);
    bind_text(st, 4, m->status);
    bind_text(st, 5, m->source_compute);
    bind_text(st, 6, m->source_node);
    bind_text(st, 7, m->dest_compute);
    bind_text(st, 8, m->dest_node);
    bind_text(st, 9, m->dest_host);
    bind_int(st, 10, m->old_instance_type_id);
    bind_int(st, 11, m->new_instance_type_id);
    bind_text(st, 12, m->user_id);
    bind_text(st, 13, m->project_id);
    db_bind_int(st, 14, m->created_at);
    db_bind_int(st, 15, m->block_migration);
    db_bind_int(st, 16, m->disk_over_commit);
    db_bind_int(st, 17, m->force);
    db_bind_int(st, 18, m->mv_minor);
    bind_text(st, 19, m->requested_host);
    bind_claim(st, 20, m->claimed_by);
    bind_text(st, 21, m->request_id);
    rc = step_id(st, &m->id);
    stmt_done(s, st);
    if (rc != DB_DONE && db_errkind(s->db) == DB_E_CONSTRAINT) {
        return ferr_set(err, FE_CONFLICT,
                        "instance %s already has a "
                        "migration in progress",
                        m->instance_uuid);
    }
    if (rc != DB_DONE) {
        return db_err(s, err, "insert migration");
    }
    return 0;
}

/* A result array (from the arena) with room for one more than n
 * elements, doubled when full. */
static void *room_for_one(struct arena *a, void *arr, size_t n, size_t *cap,
                          size_t size)
{
    void *g;

    if (n < *cap) {
        return arr;
    }
    g = arena_alloc(a, 2 * *cap * size);
    memcpy(g, arr, *cap * size);
    *cap *= 2;
    return g;
}

static int64_t col_int(struct db_stmt *st, int i)
{
    return db_col_null(st, i) ? MIG_NULL_INT : db_col_int(st, i);
}

#define MIG_COLUMNS                                                    \
    "id, uuid, instance_uuid, migration_type, status, source_compute," \
    " source_node, dest_compute, dest_node, dest_host,"                \
    " old_instance_type_id, new_instance_type_id, memory_total,"       \
    " memory_processed, memory_remaining, disk_total, disk_processed," \
    " disk_remaining, user_id, project_id, hidden, created_at,"        \
    " updated_at, block_migration, disk_over_commit, force, mv_minor," \
    " error_reason, requested_host, claimed_by, total_time_ms,"        \
    " downtime_ms, finished_at, abort_requested, force_requested,"     \
    " claim_gen, paused_by_migration, request_id, transfer_bps,"       \
    " convergence"

static void read_row(struct db_stmt *st, struct arena *a, struct migration *m)
{
    memset(m, 0, sizeof(*m));
    m->id = db_col_int(st, 0);
    db_col_copy(st, 1, m->uuid, sizeof(m->uuid));
    db_col_copy(st, 2, m->instance_uuid, sizeof(m->instance_uuid));
    m->migration_type = db_col_dup(st, 3, a);
    m->status = db_col_dup(st, 4, a);
    m->source_compute = db_col_dup(st, 5, a);
    m->source_node = db_col_dup(st, 6, a);
    m->dest_compute = db_col_dup(st, 7, a);
    m->dest_node = db_col_dup(st, 8, a);
    m->dest_host = db_col_dup(st, 9, a);
    m->old_instance_type_id = col_int(st, 10);
    m->new_instance_type_id = col_int(st, 11);
    m->memory_total = col_int(st, 12);
    m->memory_processed = col_int(st, 13);
    m->memory_remaining = col_int(st, 14);
    m->disk_total = col_int(st, 15);
    m->disk_processed = col_int(st, 16);
    m->disk_remaining = col_int(st, 17);
    m->user_id = db_col_dup(st, 18, a);
    m->project_id = db_col_dup(st, 19, a);
    m->hidden = (int) db_col_int(st, 20);
    m->created_at = db_col_int(st, 21);
    m->updated_at = col_int(st, 22) == MIG_NULL_INT ? 0 : col_int(st, 22);
    m->block_migration = db_col_int(st, 23);
    m->disk_over_commit = db_col_int(st, 24);
    m->force = db_col_int(st, 25);
    m->mv_minor = db_col_int(st, 26);
    m->error_reason = db_col_dup(st, 27, a);
    m->requested_host = db_col_dup(st, 28, a);
    m->claimed_by =
        col_int(st, 29) == MIG_NULL_INT ? MIG_UNCLAIMED : col_int(st, 29);
    m->total_time_ms = col_int(st, 30);
    m->downtime_ms = col_int(st, 31);
    m->finished_at = col_int(st, 32) == MIG_NULL_INT ? 0 : col_int(st, 32);
    m->abort_requested = db_col_int(st, 33);
    m->force_requested = db_col_int(st, 34);
    m->claim_gen = db_col_int(st, 35);
    m->paused_by_migration = db_col_int(st, 36);
    m->request_id = db_col_dup(st, 37, a);
    m->transfer_bps = db_col_int(st, 38);
    m->convergence = db_col_dup(st, 39, a);
}

static int one_row(struct store *s, struct db_stmt *st, struct arena *a,
                   struct migration *out, struct ferr *err);

int store_migration_active(struct store *s, const char *instance_uuid,
                           struct arena *a, struct migration *out,
                           struct ferr *err)
{
    static const char sql[] =
        "SELECT " MIG_COLUMNS " FROM migrations WHERE instance_uuid = ?1"
        " AND deleted = 0 AND status IN ({HOLDS})";
    struct db_stmt *st;
    int rc = prepare_tmpl(s, sql, &st, err, "prepare select");

    if (rc < 0) {
        return rc;
    }
    bind_text(st, 1, instance_uuid);
    return one_row(s, st, a, out, err);
}

int store_migration_set_status(struct store *s, int64_t id, const char *status,
                               const char *reason, struct ferr *err)
{
    static const char sql[] =
        "UPDATE migrations SET status = ?1, error_reason = ?2,"
        " updated_at = ?3 WHERE id = ?4 AND status NOT IN ({ENDED})";
    struct db_stmt *st;
    int rc = prepare_tmpl(s, sql, &st, err, "prepare update");

    if (rc < 0) {
        return rc;
    }
    bind_text(st, 1, status);
    bind_text(st, 2, reason);
    db_bind_int(st, 3, time_now_us());
    db_bind_int(st, 4, id);
    rc = db_step(st);
    stmt_done(s, st);
    return rc == DB_DONE ? 0 : db_err(s, err, "update migration");
}

/* Runs a statement that yields at most one record (a SELECT by a unique
 * key, or an UPDATE ... RETURNING): 1 and *out, 0, or <0. */
static int one_row(struct store *s, struct db_stmt *st, struct arena *a,
                   struct migration *out, struct ferr *err)
{
    int rc, found = 0;

    rc = db_step(st);
    if (rc == DB_ROW) {
        read_row(st, a, out);
        found = 1;
        rc = db_step(st);
    }
    stmt_done(s, st);
    if (rc != DB_DONE) {
        return db_err(s, err, "read migration");
    }
    return found;
}

/* In flight: a claimed record past its prechecks.  A queued record can be
 * claimed when its source has fewer than max outgoing and its destination
 * fewer than max incoming; the oldest such record goes first. */
#define IN_FLIGHT "x.claimed_by IS NOT NULL AND x.status IN ({IN_FLIGHT})"

/* Whether any record waits for a runner: 1, 0 or <0.  One read, no
 * lock: an idle runner looks every 200 ms, and the claim itself takes the
 * write lock (on PostgreSQL the writer lock every node's claims share). */
static int claimable(struct store *s, struct ferr *err)
{
    static const char sql[] =
        "SELECT 1 FROM migrations WHERE claimed_by IS NULL AND deleted = 0"
        " AND (status IN ({WAITING}) OR (migration_type = 'migration'"
        " AND status IN ({COLD_STEP}))) LIMIT 1";
    struct db_stmt *st;
    int rc = prepare_tmpl(s, sql, &st, err, "prepare claimable");

    if (rc < 0) {
        return rc;
    }
    rc = db_step(st);
    stmt_done(s, st);
    if (rc == DB_ERR) {
        return db_err(s, err, "claimable");
    }
    return rc == DB_ROW;
}

int store_migration_claim(struct store *s, int64_t runner, int max,
                          struct arena *a, struct migration *out,
                          struct ferr *err)
{
    static const char sql[] =
        "UPDATE migrations SET claimed_by = ?1, updated_at = ?2,"
        " claim_gen = claim_gen + 1"
        " WHERE id = (SELECT m.id FROM migrations m"
        " WHERE m.claimed_by IS NULL AND m.deleted = 0"
        " AND (m.status = ?4 OR (m.migration_type = 'migration'"
        " AND m.status IN ({COLD_STEP}))"
        " OR (m.status = ?5"
        " AND (SELECT count(*) FROM migrations x WHERE " IN_FLIGHT
        " AND x.source_compute = m.source_compute) < ?3"
        " AND (SELECT count(*) FROM migrations x WHERE " IN_FLIGHT
        " AND x.dest_compute = m.dest_compute) < ?3))"
        " ORDER BY m.id LIMIT 1{SKIP_LOCKED}) AND claimed_by IS NULL"
        " RETURNING " MIG_COLUMNS;
    struct db_stmt *st;
    /* the counts hold at the write only if no other claim runs between:
     * where writes do not wait for each other (PostgreSQL, several
     * nodes), the claim takes the writer lock */
    int own_tx = !db_writes_serialized(s->db);
    int rc = claimable(s, err);

    if (rc <= 0) {
        return rc;
    }
    rc = prepare_tmpl(s, sql, &st, err, "prepare claim");
    if (rc < 0 || (own_tx && store_begin(s, err) < 0)) {
        return rc < 0 ? rc : ferr_fail(err);
    }
    db_bind_int(st, 1, runner);
    db_bind_int(st, 2, time_now_us());
    db_bind_int(st, 3, max);
    bind_text(st, 4, mig_status_name(MIG_ACCEPTED));
    bind_text(st, 5, mig_status_name(MIG_QUEUED));
    rc = one_row(s, st, a, out, err);
    if (own_tx && rc < 0) {
        store_rollback(s);
    } else if (own_tx && store_commit(s, err) < 0) {
        return ferr_fail(err);
    }
    return rc;
}

int store_migration_claim_stale(struct store *s, int64_t runner,
                                const char *node, int64_t stale_us, int others,
                                store_alive_fn alive, struct arena *a,
                                struct migration *out, struct ferr *err)
{
    /* candidates, with their holder's pid (NULL: a request, or a runner
     * that unregistered) when it ran on this node, and whether it is a
     * live runner of another node */
    static const char pick[] =
        "SELECT m.id, m.claim_gen,"
        " CASE WHEN r.node IS NULL OR r.node = ?4 THEN r.pid END,"
        " CASE WHEN r.node IS NOT NULL AND r.node != ?4 THEN 1 ELSE 0 END"
        " FROM migrations m"
        " LEFT JOIN runners r ON r.id = m.claimed_by"
        " WHERE m.deleted = 0"
        " AND m.status IN ({WORKED})"
        " AND m.claimed_by IS NOT NULL"
        " AND ((m.claimed_by = ?3 AND m.updated_at < ?1 - ?2 * 4)"
        " OR (m.claimed_by > 0 AND (r.id IS NULL OR r.heartbeat < ?1 - ?2)))"
        " ORDER BY m.id";
    static const char take[] =
        "UPDATE migrations SET claimed_by = ?1, updated_at = ?2,"
        " claim_gen = claim_gen + 1 WHERE id = ?3 AND claim_gen = ?4"
        " RETURNING " MIG_COLUMNS;
    struct db_stmt *st;
    int64_t now = time_now_us(), id = 0, gen = 0;
    int rc;

    rc = prepare_tmpl(s, pick, &st, err, "prepare stale claim");
    if (rc < 0) {
        return rc;
    }
    db_bind_int(st, 1, now);
    db_bind_int(st, 2, stale_us);
    db_bind_int(st, 3, MIG_HELD_BY_REQUEST);
    db_bind_text(st, 4, node);
    while ((rc = db_step(st)) == DB_ROW) {
        /* a holder whose process lives was only kept from beating (a
         * store locked by someone else blocks heartbeats too) */
        if (!db_col_null(st, 2) && alive != NULL && alive(db_col_int(st, 2))) {
            continue;
        }
        if (db_col_int(st, 3) && !others) {
            continue; /* this runner's own heartbeats are not sure yet */
        }
        id = db_col_int(st, 0);
        gen = db_col_int(st, 1);
        break;
    }
    stmt_done(s, st);
    if (rc != DB_ROW && rc != DB_DONE) {
        return db_err(s, err, "stale claim");
    }
    if (id == 0) {
        return 0;
    }
    if (stmt_prepare(s, take, &st) < 0) {
        return db_err(s, err, "prepare take");
    }
    db_bind_int(st, 1, runner);
    db_bind_int(st, 2, now);
    db_bind_int(st, 3, id);
    db_bind_int(st, 4, gen);
    return one_row(s, st, a, out, err); /* 0: another runner was first */
}

int store_runner_register(struct store *s, const char *node, int64_t *id,
                          struct ferr *err)
{
    struct db_stmt *st;
    int rc;
    int64_t now = time_now_us();

    if (stmt_prepare(s,
                     "INSERT INTO runners (pid, started_at,"
                     " heartbeat, node) VALUES (?1, ?2, ?2, ?3) RETURNING id",
                     &st)
        < 0) {
        return db_err(s, err, "prepare register");
    }
    db_bind_int(st, 1, (int64_t) getpid());
    db_bind_int(st, 2, now);
    db_bind_text(st, 3, node);
    rc = step_id(st, id);
    stmt_done(s, st);
    if (rc != DB_DONE) {
        return db_err(s, err, "register runner");
    }
    return 0;
}

int store_runner_heartbeat(struct store *s, int64_t id)
{
    struct db_stmt *st;
    int rc;

    if (stmt_prepare(s,
                     "UPDATE runners SET heartbeat = ?2 WHERE"
                     " id = ?1",
                     &st)
        < 0) {
        return -1;
    }
    db_bind_int(st, 1, id);
    db_bind_int(st, 2, time_now_us());
    rc = db_step(st);
    stmt_done(s, st);
    return rc == DB_DONE ? 0 : -1;
}

void store_runner_unregister(struct store *s, int64_t id)
{
    struct db_stmt *st;

    if (stmt_prepare(s, "DELETE FROM runners WHERE id = ?1", &st) == 0) {
        db_bind_int(st, 1, id);
        db_step(st);
        stmt_done(s, st);
    }
}

int store_migration_save(struct store *s, const struct migration *m,
                         struct ferr *err)
{
    static const char sql[] =
        "UPDATE migrations SET status = ?2, source_node = ?3,"
        " dest_compute = ?4, dest_node = ?5, dest_host = ?6,"
        " memory_total = ?7, memory_processed = ?8, memory_remaining = ?9,"
        " disk_total = ?10, disk_processed = ?11, disk_remaining = ?12,"
        " block_migration = ?13, error_reason = ?14, total_time_ms = ?15,"
        " downtime_ms = ?16, finished_at = ?17, updated_at = ?18,"
        " claimed_by = ?19, paused_by_migration = ?21, transfer_bps = ?22,"
        " convergence = ?23"
        " WHERE id = ?1 AND claim_gen = ?20"
        " AND status NOT IN ({ENDED})";
    struct db_stmt *st;
    int rc = prepare_tmpl(s, sql, &st, err, "prepare save");

    if (rc < 0) {
        return rc;
    }
    db_bind_int(st, 1, m->id);
    bind_text(st, 2, m->status);
    bind_text(st, 3, m->source_node);
    bind_text(st, 4, m->dest_compute);
    bind_text(st, 5, m->dest_node);
    bind_text(st, 6, m->dest_host);
    bind_int(st, 7, m->memory_total);
    bind_int(st, 8, m->memory_processed);
    bind_int(st, 9, m->memory_remaining);
    bind_int(st, 10, m->disk_total);
    bind_int(st, 11, m->disk_processed);
    bind_int(st, 12, m->disk_remaining);
    db_bind_int(st, 13, m->block_migration);
    bind_text(st, 14, m->error_reason);
    bind_int(st, 15, m->total_time_ms);
    bind_int(st, 16, m->downtime_ms);
    if (m->finished_at != 0) {
        db_bind_int(st, 17, m->finished_at);
    } else {
        db_bind_null(st, 17);
    }
    db_bind_int(st, 18, time_now_us());
    bind_claim(st, 19, m->claimed_by);
    db_bind_int(st, 20, m->claim_gen);
    db_bind_int(st, 21, m->paused_by_migration);
    db_bind_int(st, 22, m->transfer_bps);
    bind_text(st, 23, m->convergence);
    rc = db_step(st);
    stmt_done(s, st);
    if (rc != DB_DONE) {
        return db_err(s, err, "save migration");
    }
    if (db_changes(s->db) == 0) {
        return ferr_set(err, FE_CONFLICT,
                        "migration %lld: not saved: its "
                        "claim %lld was taken over, or it has ended",
                        (long long) m->id, (long long) m->claim_gen);
    }
    return 0;
}

int store_migration_get(struct store *s, int64_t id, struct arena *a,
                        struct migration *out, struct ferr *err)
{
    struct db_stmt *st;

    if (stmt_prepare(s,
                     "SELECT " MIG_COLUMNS " FROM migrations"
                     " WHERE id = ?1 AND deleted = 0",
                     &st)
        < 0) {
        return db_err(s, err, "prepare get");
    }
    db_bind_int(st, 1, id);
    return one_row(s, st, a, out, err);
}

int store_migrations_of(struct store *s, const char *instance_uuid,
                        struct arena *a, struct migration **out, size_t *n,
                        struct ferr *err)
{
    struct db_stmt *st;
    size_t cap = 8;
    int rc;

    *n = 0;
    *out = arena_alloc(a, cap * sizeof(**out));
    if (stmt_prepare(s,
                     "SELECT " MIG_COLUMNS " FROM migrations"
                     " WHERE (?1 IS NULL OR instance_uuid = ?1)"
                     " AND deleted = 0 ORDER BY id",
                     &st)
        < 0) {
        return db_err(s, err, "prepare list");
    }
    bind_text(st, 1, instance_uuid);
    while ((rc = db_step(st)) == DB_ROW) {
        *out = room_for_one(a, *out, *n, &cap, sizeof(**out));
        read_row(st, a, &(*out)[(*n)++]);
    }
    stmt_done(s, st);
    return rc == DB_DONE ? 0 : db_err(s, err, "list migrations");
}

int store_migration_request(struct store *s, int64_t id, const char *what,
                            struct ferr *err)
{
    static const char *const sql[] = {
        "UPDATE migrations SET abort_requested = 1, updated_at = ?2"
        " WHERE id = ?1",
        "UPDATE migrations SET force_requested = 1, updated_at = ?2"
        " WHERE id = ?1",
    };
    struct db_stmt *st;
    int rc;

    if (stmt_prepare(s, sql[strcmp(what, "abort") != 0], &st) < 0) {
        return db_err(s, err, "prepare request");
    }
    db_bind_int(st, 1, id);
    db_bind_int(st, 2, time_now_us());
    rc = db_step(st);
    stmt_done(s, st);
    return rc == DB_DONE ? 0 : db_err(s, err, "request");
}

int store_migration_cancel_waiting(struct store *s, int64_t id,
                                   struct ferr *err)
{
    struct db_stmt *st;
    int rc;
    int64_t now = time_now_us();

    rc = prepare_tmpl(s,
                      "UPDATE migrations SET status = ?3, updated_at = ?2,"
                      " finished_at = ?2, abort_requested = 1 WHERE id = ?1"
                      " AND claimed_by IS NULL AND status IN ({WAITING})",
                      &st, err, "prepare cancel");
    if (rc < 0) {
        return rc;
    }
    db_bind_int(st, 1, id);
    db_bind_int(st, 2, now);
    bind_text(st, 3, mig_status_name(MIG_CANCELLED));
    rc = db_step(st);
    stmt_done(s, st);
    if (rc != DB_DONE) {
        return db_err(s, err, "cancel");
    }
    return db_changes(s->db) == 1;
}

int store_migration_cas(struct store *s, int64_t id, const char *from,
                        const char *to, struct ferr *err)
{
    struct db_stmt *st;
    int rc;

    if (stmt_prepare(s,
                     "UPDATE migrations SET status = ?3,"
                     " updated_at = ?4 WHERE id = ?1 AND status = ?2",
                     &st)
        < 0) {
        return db_err(s, err, "prepare cas");
    }
    db_bind_int(st, 1, id);
    bind_text(st, 2, from);
    bind_text(st, 3, to);
    db_bind_int(st, 4, time_now_us());
    rc = db_step(st);
    stmt_done(s, st);
    if (rc != DB_DONE) {
        return db_err(s, err, "cas");
    }
    return db_changes(s->db) == 1;
}

/* ---- instance actions -------------------------------------------------- */

/* Runs a statement with no rows to return: 0 or <0. */
static int exec_done(struct store *s, struct db_stmt *st, struct ferr *err,
                     const char *what)
{
    int rc = db_step(st);

    stmt_done(s, st);
    return rc == DB_DONE ? 0 : db_err(s, err, what);
}

void store_snapshot_begin(struct store *s)
{
    if (!s->snapshot && !db_in_tx(s->db)) {
        s->snapshot = db_read_begin(s->db) == 0;
    }
}

void store_snapshot_end(struct store *s)
{
    if (s->snapshot) {
        s->snapshot = 0;
        db_read_end(s->db);
        store_rollback(s); /* a COMMIT that failed leaves it open */
    }
}

int store_begin(struct store *s, struct ferr *err)
{
    store_snapshot_end(s);
    return db_begin(s->db, DB_TX_WRITE) == 0 ? 0 : db_err(s, err, "begin");
}

int store_commit(struct store *s, struct ferr *err)
{
    if (db_commit(s->db) == 0) {
        return 0;
    }
    db_err(s, err, "commit");
    store_rollback(s);
    return ferr_fail(err);
}

void store_rollback(struct store *s)
{
    db_rollback(s->db);
}

int store_action_start(struct store *s, const struct iaction *a,
                       struct ferr *err)
{
    struct db_stmt *st;
    int64_t now = time_now_us();

    if (stmt_prepare(s,
                     "INSERT INTO instance_actions (action,"
                     " instance_uuid, request_id, user_id, project_id,"
                     " start_time, created_at, updated_at) VALUES (?1,"
                     " ?2, ?3, ?4, ?5, ?6, ?6, ?6)",
                     &st)
        < 0) {
        return db_err(s, err, "prepare action");
    }
    bind_text(st, 1, a->action);
    bind_text(st, 2, a->instance_uuid);
    bind_text(st, 3, a->request_id);
    bind_text(st, 4, a->user_id);
    bind_text(st, 5, a->project_id);
    db_bind_int(st, 6, now);
    return exec_done(s, st, err, "start action");
}

/* The action (instance_uuid, request_id), the newest of that key as
 * _action_get_by_request_id picks it: its id, 0 none, <0. */
static int64_t action_id_of(struct store *s, const char *instance_uuid,
                            const char *request_id, struct ferr *err)
{
    struct db_stmt *st;
    int64_t id = 0;
    int rc;

    if (stmt_prepare(s,
                     "SELECT id FROM instance_actions WHERE"
                     " instance_uuid = ?1 AND request_id = ?2"
                     " ORDER BY created_at DESC, id DESC LIMIT 1",
                     &st)
        < 0) {
        return db_err(s, err, "prepare action lookup");
    }
    bind_text(st, 1, instance_uuid);
    bind_text(st, 2, request_id);
    rc = db_step(st);
    if (rc == DB_ROW) {
        id = db_col_int(st, 0);
        rc = DB_DONE;
    }
    stmt_done(s, st);
    if (rc != DB_DONE) {
        return db_err(s, err, "action lookup");
    }
    if (id == 0) {
        /* InstanceActionNotFound (nova/exception.py) */
        return ferr_set(err, FE_NOTFOUND,
                        "Action for request_id %s on "
                        "instance %s not found",
                        request_id ? request_id : "None", instance_uuid);
    }
    return id;
}

int store_event_start(struct store *s, const char *instance_uuid,
                      const char *request_id, const char *event,
                      const char *host, struct ferr *err)
{
    struct db_stmt *st;
    int64_t now = time_now_us(), id;

    if (store_begin(s, err) < 0) {
        return ferr_fail(err);
    }
    id = action_id_of(s, instance_uuid, request_id, err);
    if (id < 0) {
        store_rollback(s);
        return (int) id;
    }
    if (stmt_prepare(s,
                     "INSERT INTO instance_actions_events"
                     " (action_id, event, start_time, host,"
                     " created_at) VALUES (?1, ?2, ?3, ?4, ?3)",
                     &st)
            < 0
        || (db_bind_int(st, 1, id), bind_text(st, 2, event),
            db_bind_int(st, 3, now), bind_text(st, 4, host),
            exec_done(s, st, err, "start event") < 0)
        || stmt_prepare(s,
                        "UPDATE instance_actions SET"
                        " updated_at = ?2 WHERE id = ?1",
                        &st)
            < 0
        || (db_bind_int(st, 1, id), db_bind_int(st, 2, now),
            exec_done(s, st, err, "touch action") < 0)) {
        if (err->code == 0) {
            db_err(s, err, "prepare event");
        }
        store_rollback(s);
        return ferr_fail(err);
    }
    return store_commit(s, err);
}

int store_event_finish(struct store *s, const char *instance_uuid,
                       const char *request_id, const char *event, int ok,
                       const char *details, struct ferr *err)
{
    struct db_stmt *st;
    int64_t now = time_now_us(), id;

    if (store_begin(s, err) < 0) {
        return ferr_fail(err);
    }
    id = action_id_of(s, instance_uuid, request_id, err);
    if (id < 0) {
        store_rollback(s);
        return (int) id;
    }
    if (stmt_prepare(s,
                     "UPDATE instance_actions_events SET"
                     " finish_time = ?3, result = ?4, details = ?5"
                     " WHERE action_id = ?1 AND finish_time IS NULL"
                     " AND (?2 IS NULL OR event = ?2)",
                     &st)
            < 0
        || (db_bind_int(st, 1, id), bind_text(st, 2, event),
            db_bind_int(st, 3, now), bind_text(st, 4, ok ? "Success" : "Error"),
            bind_text(st, 5, ok ? NULL : details),
            exec_done(s, st, err, "finish event") < 0)
        || stmt_prepare(s,
                        "UPDATE instance_actions SET"
                        " updated_at = ?2, message = CASE WHEN ?3"
                        " <> 0 THEN message ELSE 'Error' END WHERE id = ?1",
                        &st)
            < 0
        || (db_bind_int(st, 1, id), db_bind_int(st, 2, now),
            db_bind_int(st, 3, ok),
            exec_done(s, st, err, "touch action") < 0)) {
        if (err->code == 0) {
            db_err(s, err, "prepare event");
        }
        store_rollback(s);
        return ferr_fail(err);
    }
    return store_commit(s, err);
}

int store_actions_of(struct store *s, const char *instance_uuid,
                     struct arena *a, struct iaction **out, size_t *n,
                     struct ferr *err)
{
    struct db_stmt *st;
    size_t cap = 8;
    int rc;

    *n = 0;
    *out = arena_alloc(a, cap * sizeof(**out));
    if (stmt_prepare(s,
                     "SELECT id, action, instance_uuid,"
                     " request_id, user_id, project_id, message,"
                     " start_time, updated_at FROM instance_actions"
                     " WHERE instance_uuid = ?1"
                     " ORDER BY created_at DESC, id DESC",
                     &st)
        < 0) {
        return db_err(s, err, "prepare actions");
    }
    bind_text(st, 1, instance_uuid);
    while ((rc = db_step(st)) == DB_ROW) {
        struct iaction *x;

        *out = room_for_one(a, *out, *n, &cap, sizeof(**out));
        x = &(*out)[(*n)++];
        memset(x, 0, sizeof(*x));
        x->id = db_col_int(st, 0);
        x->action = db_col_dup(st, 1, a);
        db_col_copy(st, 2, x->instance_uuid, sizeof(x->instance_uuid));
        x->request_id = db_col_dup(st, 3, a);
        x->user_id = db_col_dup(st, 4, a);
        x->project_id = db_col_dup(st, 5, a);
        x->message = db_col_dup(st, 6, a);
        x->start_time = db_col_int(st, 7);
        x->updated_at = db_col_int(st, 8);
    }
    stmt_done(s, st);
    return rc == DB_DONE ? 0 : db_err(s, err, "list actions");
}

int store_action_events(struct store *s, int64_t action_id, struct arena *a,
                        struct ievent **out, size_t *n, struct ferr *err)
{
    struct db_stmt *st;
    size_t cap = 8;
    int rc;

    *n = 0;
    *out = arena_alloc(a, cap * sizeof(**out));
    if (stmt_prepare(s,
                     "SELECT event, host, result, traceback,"
                     " details, start_time, finish_time"
                     " FROM instance_actions_events WHERE action_id ="
                     " ?1 ORDER BY created_at DESC, id DESC",
                     &st)
        < 0) {
        return db_err(s, err, "prepare events");
    }
    db_bind_int(st, 1, action_id);
    while ((rc = db_step(st)) == DB_ROW) {
        struct ievent *e;

        *out = room_for_one(a, *out, *n, &cap, sizeof(**out));
        e = &(*out)[(*n)++];
        e->event = db_col_dup(st, 0, a);
        e->host = db_col_dup(st, 1, a);
        e->result = db_col_dup(st, 2, a);
        e->traceback = db_col_dup(st, 3, a);
        e->details = db_col_dup(st, 4, a);
        e->start_time = db_col_int(st, 5);
        e->finish_time = col_int(st, 6) == MIG_NULL_INT ? 0 : col_int(st, 6);
    }
    stmt_done(s, st);
    return rc == DB_DONE ? 0 : db_err(s, err, "list events");
}

int store_action_latest(struct store *s, const char *instance_uuid,
                        const char *action, char *request_id, size_t size,
                        struct ferr *err)
{
    struct db_stmt *st;
    int rc, found = 0;

    if (stmt_prepare(s,
                     "SELECT request_id FROM instance_actions"
                     " WHERE instance_uuid = ?1 AND action = ?2"
                     " ORDER BY created_at DESC, id DESC LIMIT 1",
                     &st)
        < 0) {
        return db_err(s, err, "prepare latest action");
    }
    bind_text(st, 1, instance_uuid);
    bind_text(st, 2, action);
    rc = db_step(st);
    if (rc == DB_ROW) {
        snprintf(request_id, size, "%s", db_col_text(st, 0));
        found = 1;
        rc = DB_DONE;
    }
    stmt_done(s, st);
    return rc == DB_DONE ? found : db_err(s, err, "latest action");
}

int store_migration_set_request(struct store *s, int64_t id,
                                const char *request_id, struct ferr *err)
{
    struct db_stmt *st;

    if (stmt_prepare(s,
                     "UPDATE migrations SET request_id = ?2"
                     " WHERE id = ?1",
                     &st)
        < 0) {
        return db_err(s, err, "prepare set request");
    }
    db_bind_int(st, 1, id);
    bind_text(st, 2, request_id);
    return exec_done(s, st, err, "set request");
}

/* ---- instance faults ---------------------------------------------------
 * Nova's instance_faults, reduced to what the server view shows: the
 * latest fault of an instance (views/servers.py _get_fault) and whether
 * it left the instance in vm_state error (compute/manager.py
 * _error_out_instance_on_exception).  A table of its own, made on open. */

int store_faults_prepare(struct store *s, struct ferr *err)
{
    if (db_exec(s->db, faults_sql) < 0) {
        return db_err(s, err, "instance_faults");
    }
    return 0;
}

int store_fault_save(struct store *s, const struct migration *m,
                     const struct instance_fault *f, struct ferr *err)
{
    /* written only under the claim m was read with, like a save */
    static const char sql[] =
        "INSERT INTO instance_faults (instance_uuid, code,"
        " message, created_at, vm_error, migration_id)"
        " SELECT instance_uuid, ?3, ?4, ?5, ?6, id FROM migrations"
        " WHERE id = ?1 AND claim_gen = ?2 AND status NOT IN ({ENDED})"
        " ON CONFLICT (instance_uuid) DO UPDATE SET code = excluded.code,"
        " message = excluded.message, created_at = excluded.created_at,"
        " vm_error = excluded.vm_error,"
        " migration_id = excluded.migration_id";
    struct db_stmt *st;
    int rc = prepare_tmpl(s, sql, &st, err, "prepare fault");

    if (rc < 0) {
        return rc;
    }
    db_bind_int(st, 1, m->id);
    db_bind_int(st, 2, m->claim_gen);
    db_bind_int(st, 3, f->code);
    bind_text(st, 4, f->message);
    db_bind_int(st, 5, f->created_at ? f->created_at : time_now_us());
    db_bind_int(st, 6, f->vm_error);
    rc = db_step(st);
    stmt_done(s, st);
    if (rc != DB_DONE) {
        return db_err(s, err, "fault");
    }
    if (db_changes(s->db) != 1) {
        return ferr_set(err, FE_CONFLICT,
                        "migration %lld is no longer "
                        "held by this claim",
                        (long long) m->id);
    }
    return 0;
}

int store_fault_get(struct store *s, const char *instance_uuid, struct arena *a,
                    struct instance_fault *out, struct ferr *err)
{
    struct db_stmt *st;
    int rc;

    memset(out, 0, sizeof(*out));
    if (stmt_prepare(s,
                     "SELECT code, message, created_at,"
                     " vm_error FROM instance_faults"
                     " WHERE instance_uuid = ?1",
                     &st)
        < 0) {
        return db_err(s, err, "prepare fault get");
    }
    bind_text(st, 1, instance_uuid);
    rc = db_step(st);
    if (rc == DB_ROW) {
        out->code = db_col_int(st, 0);
        out->message = db_col_dup(st, 1, a);
        out->created_at = db_col_int(st, 2);
        out->vm_error = db_col_int(st, 3);
    }
    stmt_done(s, st);
    if (rc != DB_ROW && rc != DB_DONE) {
        return db_err(s, err, "fault get");
    }
    return rc == DB_ROW;
}

/* The metrics' query: per type and status, counts and sums, and per
 * bound how many records took at most that long.  A sum is 0 over no rows
 * (SQLite's TOTAL) in both dialects: COALESCE(SUM(...), 0). */
static void groups_sql(struct sbuf *sql, const int64_t *bounds_ms, size_t nb)
{
    static const char head[] =
        "SELECT migration_type, status, COUNT(*), COUNT(total_time_ms),"
        " COALESCE(SUM(total_time_ms), 0), COUNT(downtime_ms),"
        " COALESCE(SUM(downtime_ms), 0),"
        " COALESCE(SUM(COALESCE(memory_processed, 0)"
        " + COALESCE(disk_processed, 0)), 0),"
        " COALESCE(SUM(COALESCE(memory_remaining, 0)"
        " + COALESCE(disk_remaining, 0)), 0),"
        " COALESCE(SUM(transfer_bps), 0)";

    sbuf_init(sql);
    sbuf_puts(sql, head);
    for (size_t i = 0; i < nb; i++) {
        sbuf_printf(sql,
                    ", COALESCE(SUM(CASE WHEN total_time_ms <= %lld THEN 1"
                    " ELSE 0 END), 0), COALESCE(SUM(CASE WHEN downtime_ms"
                    " <= %lld THEN 1 ELSE 0 END), 0)",
                    (long long) bounds_ms[i], (long long) bounds_ms[i]);
    }
    sbuf_puts(sql,
              " FROM migrations WHERE deleted = 0 GROUP BY 1, 2"
              " ORDER BY 1, 2");
}

int store_migration_groups(struct store *s, const int64_t *bounds_ms, size_t nb,
                           struct arena *a, struct mig_group **out, size_t *n,
                           struct ferr *err)
{
    struct sbuf sql;
    struct db_stmt *st;
    size_t cap = 8, i;
    int rc;

    *n = 0;
    *out = arena_alloc(a, cap * sizeof(**out));
    if (nb > MIG_GROUP_BOUNDS) {
        return ferr_set(err, FE_INTERNAL, "too many histogram bounds");
    }
    groups_sql(&sql, bounds_ms, nb);
    st = db_prepare(s->db, sql.buf, 0);
    sbuf_free(&sql);
    if (st == NULL) {
        return db_err(s, err, "prepare migration groups");
    }
    while ((rc = db_step(st)) == DB_ROW) {
        struct mig_group *g;

        *out = room_for_one(a, *out, *n, &cap, sizeof(**out));
        g = &(*out)[(*n)++];
        g->type = db_col_dup(st, 0, a);
        g->status = db_col_dup(st, 1, a);
        g->count = db_col_int(st, 2);
        g->timed = db_col_int(st, 3);
        g->time_ms_sum = db_col_int(st, 4);
        g->downed = db_col_int(st, 5);
        g->downtime_ms_sum = db_col_int(st, 6);
        g->bytes_sum = db_col_int(st, 7);
        g->remaining_sum = db_col_int(st, 8);
        g->rate_sum = db_col_int(st, 9);
        for (i = 0; i < nb; i++) {
            int c = 10 + 2 * (int) i;

            g->time_le[i] = db_col_int(st, c);
            g->down_le[i] = db_col_int(st, c + 1);
        }
    }
    db_done(st);
    return rc == DB_DONE ? 0 : db_err(s, err, "migration groups");
}
