/*
 * db_sqlite.c: the SQLite backend of db.h, the only includer of
 * sqlite3.h.  WAL journal (readers never block the writer), a busy
 * timeout (concurrent workers and runners queue rather than fail), and the
 * SQL as the store writes it: SQLite's is the store's own spelling.
 */
#include <stdlib.h>
#include <string.h>
#include <sqlite3.h>
#include "db.h"

struct lite {
    struct db base;
    sqlite3 *h;
    sqlite3_stmt *begin, *commit; /* db_read_begin's, kept */
};

struct lite_stmt {
    struct db_stmt base;
    sqlite3_stmt *st;
    int keep;
};

#define LITE(d) ((struct lite *) (d))
#define LST(s) (((struct lite_stmt *) (s))->st)

static int lite_open(const char *url, int timeout_ms, struct db **out,
                     struct ferr *err)
{
    struct lite *l = calloc(1, sizeof(*l));
    const char *path = url;
    int rc;

    if (l == NULL) {
        return ferr_set(err, FE_NOMEM, "out of memory");
    }
    if (strncmp(path, "sqlite://", 9) == 0) {
        path += 9;
    }
    l->base.ops = &db_sqlite_ops;
    l->base.backend = DB_SQLITE;
    l->base.writes_serialized = 1;
    rc = sqlite3_open_v2(
        path, &l->h,
        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_busy_timeout(l->h, timeout_ms);
        rc = sqlite3_exec(l->h,
                          "PRAGMA journal_mode=WAL;"
                          "PRAGMA synchronous=NORMAL;",
                          NULL, NULL, NULL);
    }
    if (rc != SQLITE_OK) {
        rc = ferr_set(err, FE_CONFIG, "%s: cannot open the store: %s", path,
                      l->h ? sqlite3_errmsg(l->h) : "out of memory");
        sqlite3_close(l->h);
        free(l);
        return rc;
    }
    *out = &l->base;
    return 0;
}

static void lite_close(struct db *db)
{
    sqlite3_finalize(LITE(db)->begin);
    sqlite3_finalize(LITE(db)->commit);
    sqlite3_close(LITE(db)->h);
    free(db);
}

static void lite_set_timeout(struct db *db, int ms)
{
    sqlite3_busy_timeout(LITE(db)->h, ms);
}

static int lite_exec(struct db *db, const char *sql)
{
    return sqlite3_exec(LITE(db)->h, sql, NULL, NULL, NULL) == SQLITE_OK
        ? 0
        : DB_ERR;
}

static int lite_has_column(struct db *db, const char *table, const char *column)
{
    sqlite3_stmt *st;
    int rc;

    if (sqlite3_prepare_v2(LITE(db)->h,
                           "SELECT 1 FROM pragma_table_info(?1)"
                           " WHERE name = ?2",
                           -1, &st, NULL)
        != SQLITE_OK) {
        return DB_ERR;
    }
    sqlite3_bind_text(st, 1, table, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, column, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : DB_ERR;
}

static struct db_stmt *lite_prepare(struct db *db, const char *sql, int keep)
{
    struct lite_stmt *s = malloc(sizeof(*s));

    if (s == NULL) {
        return NULL;
    }
    s->base.db = db;
    s->keep = keep;
    if (sqlite3_prepare_v3(LITE(db)->h, sql, -1,
                           keep ? SQLITE_PREPARE_PERSISTENT : 0, &s->st, NULL)
        != SQLITE_OK) {
        free(s);
        return NULL;
    }
    return &s->base;
}

static void lite_finalize(struct db_stmt *st)
{
    sqlite3_finalize(LST(st));
    free(st);
}

/* sqlite3_reset and _finalize both leave the error of the last step on
 * the handle, for db_errkind. */
static void lite_done(struct db_stmt *st)
{
    if (((struct lite_stmt *) st)->keep) {
        sqlite3_reset(LST(st));
        sqlite3_clear_bindings(LST(st));
    } else {
        lite_finalize(st);
    }
}

static void lite_bind_text(struct db_stmt *st, int i, const char *v)
{
    if (v == NULL) {
        sqlite3_bind_null(LST(st), i);
    } else {
        sqlite3_bind_text(LST(st), i, v, -1, SQLITE_STATIC);
    }
}

static void lite_bind_int(struct db_stmt *st, int i, int64_t v)
{
    sqlite3_bind_int64(LST(st), i, v);
}

static void lite_bind_null(struct db_stmt *st, int i)
{
    sqlite3_bind_null(LST(st), i);
}

static void lite_bind_blob(struct db_stmt *st, int i, const void *p, size_t n)
{
    sqlite3_bind_blob(LST(st), i, p, (int) n, SQLITE_STATIC);
}

static int lite_step(struct db_stmt *st)
{
    switch (sqlite3_step(LST(st))) {
    case SQLITE_ROW:
        return DB_ROW;
    case SQLITE_DONE:
        return DB_DONE;
    default:
        return DB_ERR;
    }
}

static int lite_col_null(struct db_stmt *st, int i)
{
    return sqlite3_column_type(LST(st), i) == SQLITE_NULL;
}

static int64_t lite_col_int(struct db_stmt *st, int i)
{
    return sqlite3_column_int64(LST(st), i);
}

static const char *lite_col_text(struct db_stmt *st, int i)
{
    return (const char *) sqlite3_column_text(LST(st), i);
}

static const void *lite_col_blob(struct db_stmt *st, int i, size_t *n)
{
    const void *b = sqlite3_column_blob(LST(st), i);

    *n = (size_t) sqlite3_column_bytes(LST(st), i);
    return b;
}

static int64_t lite_changes(struct db *db)
{
    return sqlite3_changes(LITE(db)->h);
}

static int lite_begin(struct db *db, enum db_tx tx)
{
    return lite_exec(
        db, tx == DB_TX_SCHEMA ? "BEGIN EXCLUSIVE" : "BEGIN IMMEDIATE");
}

static int lite_commit(struct db *db)
{
    return lite_exec(db, "COMMIT");
}

static int lite_in_tx(struct db *db)
{
    return !sqlite3_get_autocommit(LITE(db)->h);
}

static void lite_rollback(struct db *db)
{
    if (lite_in_tx(db)) {
        sqlite3_exec(LITE(db)->h, "ROLLBACK", NULL, NULL, NULL);
    }
}

/* A kept BEGIN (deferred: the read lock is taken by the first read) and
 * COMMIT: a GET compiles no SQL. */
static int run_kept(struct lite *l, sqlite3_stmt **st, const char *sql)
{
    if (*st == NULL
        && sqlite3_prepare_v2(l->h, sql, -1, st, NULL) != SQLITE_OK) {
        return DB_ERR;
    }
    sqlite3_step(*st);
    sqlite3_reset(*st);
    return 0;
}

static int lite_read_begin(struct db *db)
{
    run_kept(LITE(db), &LITE(db)->begin, "BEGIN");
    return lite_in_tx(db) ? 0 : DB_ERR;
}

static int lite_read_end(struct db *db)
{
    run_kept(LITE(db), &LITE(db)->commit, "COMMIT");
    return lite_in_tx(db) ? DB_ERR : 0;
}

/* The tokens of a template: SQLite's spelling. */
static const struct {
    const char *name, *text;
} tokens[] = {
    { "OR_IGNORE", " OR IGNORE" }, /* UPDATE OR IGNORE */
    { "ONLY_FREE", "" },           /* no row taken by the update */
    { "SKIP_LOCKED", "" },         /* writes are serialized already */
};

static const char *lite_token(const char *name, size_t len)
{
    for (size_t i = 0; i < sizeof(tokens) / sizeof(tokens[0]); i++) {
        if (strlen(tokens[i].name) == len
            && memcmp(tokens[i].name, name, len) == 0) {
            return tokens[i].text;
        }
    }
    return NULL;
}

/* Busy (locked by another process past the timeout), full, read-only or
 * failing I/O: unavailable, retry later. */
static enum db_errkind lite_errkind(struct db *db)
{
    switch (sqlite3_errcode(LITE(db)->h) & 0xff) {
    case SQLITE_OK:
    case SQLITE_ROW:
    case SQLITE_DONE:
        return DB_E_NONE;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return DB_E_BUSY;
    case SQLITE_CONSTRAINT:
        return DB_E_CONSTRAINT;
    case SQLITE_FULL:
    case SQLITE_IOERR:
    case SQLITE_READONLY:
    case SQLITE_CANTOPEN:
    case SQLITE_PROTOCOL:
        return DB_E_UNAVAILABLE;
    default:
        return DB_E_OTHER;
    }
}

static const char *lite_errmsg(struct db *db)
{
    return sqlite3_errmsg(LITE(db)->h);
}

const struct db_ops db_sqlite_ops = {
    .open = lite_open,
    .close = lite_close,
    .set_timeout = lite_set_timeout,
    .exec = lite_exec,
    .has_column = lite_has_column,
    .prepare = lite_prepare,
    .done = lite_done,
    .finalize = lite_finalize,
    .bind_text = lite_bind_text,
    .bind_int = lite_bind_int,
    .bind_null = lite_bind_null,
    .bind_blob = lite_bind_blob,
    .step = lite_step,
    .col_null = lite_col_null,
    .col_int = lite_col_int,
    .col_text = lite_col_text,
    .col_blob = lite_col_blob,
    .changes = lite_changes,
    .begin = lite_begin,
    .commit = lite_commit,
    .rollback = lite_rollback,
    .in_tx = lite_in_tx,
    .read_begin = lite_read_begin,
    .read_end = lite_read_end,
    .token = lite_token,
    .errkind = lite_errkind,
    .errmsg = lite_errmsg,
};
