/*
 * db.h: the store's database connection: one small interface over SQLite
 * (db_sqlite.c, the only includer of sqlite3.h) and PostgreSQL (db_pg.c,
 * the only includer of libpq-fe.h).  Only the store's files (store*.c)
 * include it; they hold the statements they keep.
 *
 * SQL is written once, in SQLite's spelling with numbered parameters
 * (?1, ?2, ...).  What the dialects spell differently is said by each
 * backend in one place: the words a backend rewrites when it prepares a
 * statement (db_pg.c: ?N, INTEGER, BLOB, LIKE) and the {TOKEN}s of a
 * template (db_token: a lock clause, a conflict clause).
 *
 * A statement's text values and blobs are not copied: they must stay
 * valid until its step.  Its column values are valid until its next step
 * or db_done.  Errors: a call that fails returns DB_ERR (or NULL) and
 * leaves its reason on the handle (db_errkind, db_errmsg) for the store to
 * map to a ferry error (store.c's store_db_err), once.
 */
#ifndef FERRY_DB_H
#define FERRY_DB_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "ferry/err.h"
#include "ferry/util.h"

struct db;
struct db_stmt;

enum { DB_DONE = 0, DB_ROW = 1, DB_ERR = -1 };

/* What went wrong, as the store sees it. */
enum db_errkind {
    DB_E_NONE,
    DB_E_BUSY,        /* locked by another writer past the timeout */
    DB_E_CONSTRAINT,  /* a unique (or other) constraint said no */
    DB_E_UNAVAILABLE, /* full, read-only, I/O, the server gone */
    DB_E_OTHER,       /* anything else: ferry's bug */
};

/* Transactions: a writer's (SQLite BEGIN IMMEDIATE: the write lock up
 * front) or the schema upgrade's (BEGIN EXCLUSIVE; on PostgreSQL an
 * advisory lock that one node holds at a time). */
enum db_tx { DB_TX_WRITE, DB_TX_SCHEMA };

/* The backend a store URL names: "sqlite:///path" or a path; or
 * "postgresql://...", "postgres://...", a libpq conninfo (key=value) or
 * "service=name". */
enum db_backend { DB_SQLITE, DB_PG };
enum db_backend db_backend_of(const char *url);
/* url with its password (if any) replaced by "***", into out[size]: the
 * only form of a store URL that goes to a log or an error message. */
void db_redact(const char *url, char *out, size_t size);

/* The backends' entries (db.c dispatches). */
struct db_ops {
    int (*open)(const char *url, int timeout_ms, struct db **out,
                struct ferr *err);
    void (*close)(struct db *db);
    void (*set_timeout)(struct db *db, int ms);
    int (*exec)(struct db *db, const char *sql);
    int (*has_column)(struct db *db, const char *table, const char *column);
    struct db_stmt *(*prepare)(struct db *db, const char *sql, int keep);
    void (*done)(struct db_stmt *st);
    void (*finalize)(struct db_stmt *st);
    void (*bind_text)(struct db_stmt *st, int i, const char *v);
    void (*bind_int)(struct db_stmt *st, int i, int64_t v);
    void (*bind_null)(struct db_stmt *st, int i);
    void (*bind_blob)(struct db_stmt *st, int i, const void *p, size_t n);
    int (*step)(struct db_stmt *st);
    int (*col_null)(struct db_stmt *st, int i);
    int64_t (*col_int)(struct db_stmt *st, int i);
    const char *(*col_text)(struct db_stmt *st, int i);
    const void *(*col_blob)(struct db_stmt *st, int i, size_t *n);
    int64_t (*changes)(struct db *db);
    int (*begin)(struct db *db, enum db_tx tx);
    int (*commit)(struct db *db);
    void (*rollback)(struct db *db);
    int (*in_tx)(struct db *db);
    int (*read_begin)(struct db *db);
    int (*read_end)(struct db *db);
    const char *(*token)(const char *name, size_t len);
    enum db_errkind (*errkind)(struct db *db);
    const char *(*errmsg)(struct db *db);
};

/* The head of every backend's handle and statement. */
struct db {
    const struct db_ops *ops;
    enum db_backend backend;
    /* every write waits for every other (SQLite's one writer lock): a
     * statement that counts what it then writes needs no lock of its own */
    int writes_serialized;
};
struct db_stmt {
    struct db *db;
};

extern const struct db_ops db_sqlite_ops;
extern const struct db_ops db_pg_ops;

/* Opens the store url names, with timeout_ms for a statement (a lock
 * wait; on PostgreSQL also the connect).  0, or <0 with err filled
 * (FE_CONFIG: cannot open; the message names the URL redacted). */
int db_open(const char *url, int timeout_ms, struct db **out, struct ferr *err);
static inline void db_close(struct db *db)
{
    db->ops->close(db);
}
static inline enum db_backend db_backend(const struct db *db)
{
    return db->backend;
}
static inline int db_writes_serialized(const struct db *db)
{
    return db->writes_serialized;
}
static inline void db_set_timeout(struct db *db, int ms)
{
    db->ops->set_timeout(db, ms);
}

/* Runs sql, one or more statements without parameters or rows. */
static inline int db_exec(struct db *db, const char *sql)
{
    return db->ops->exec(db, sql);
}
/* Whether table has column (for upgrades of older stores): 1, 0, DB_ERR. */
static inline int db_has_column(struct db *db, const char *table,
                                const char *column)
{
    return db->ops->has_column(db, table, column);
}

/* Prepares sql.  keep: the statement is used again and again (the caller
 * keeps it; prepared once per handle); else it is for one use.  NULL on
 * failure. */
static inline struct db_stmt *db_prepare(struct db *db, const char *sql,
                                         int keep)
{
    return db->ops->prepare(db, sql, keep);
}
/* The end of a use: a kept statement is reset and unbound, another is
 * finalized.  The error of its last step stays the handle's. */
static inline void db_done(struct db_stmt *st)
{
    st->db->ops->done(st);
}
/* Finalizes a kept statement (store_close). */
static inline void db_finalize(struct db_stmt *st)
{
    st->db->ops->finalize(st);
}

/* text NULL binds a null */
static inline void db_bind_text(struct db_stmt *st, int i, const char *v)
{
    st->db->ops->bind_text(st, i, v);
}
static inline void db_bind_int(struct db_stmt *st, int i, int64_t v)
{
    st->db->ops->bind_int(st, i, v);
}
static inline void db_bind_null(struct db_stmt *st, int i)
{
    st->db->ops->bind_null(st, i);
}
static inline void db_bind_blob(struct db_stmt *st, int i, const void *p,
                                size_t n)
{
    st->db->ops->bind_blob(st, i, p, n);
}

/* DB_ROW, DB_DONE or DB_ERR. */
static inline int db_step(struct db_stmt *st)
{
    return st->db->ops->step(st);
}
static inline int db_col_null(struct db_stmt *st, int i)
{
    return st->db->ops->col_null(st, i);
}
/* A null reads as 0 (an integer) or NULL (a text). */
static inline int64_t db_col_int(struct db_stmt *st, int i)
{
    return st->db->ops->col_int(st, i);
}
static inline const char *db_col_text(struct db_stmt *st, int i)
{
    return st->db->ops->col_text(st, i);
}
/* Column i copied into a (NULL stays NULL), or into buf ("" for NULL,
 * cut to size): the row's own text lives only until the next step. */
static inline const char *db_col_dup(struct db_stmt *st, int i, struct arena *a)
{
    const char *t = db_col_text(st, i);

    return t ? arena_strdup(a, t) : NULL;
}
static inline void db_col_copy(struct db_stmt *st, int i, char *buf,
                               size_t size)
{
    const char *t = db_col_text(st, i);

    snprintf(buf, size, "%s", t ? t : "");
}
static inline const void *db_col_blob(struct db_stmt *st, int i, size_t *n)
{
    return st->db->ops->col_blob(st, i, n);
}
/* Rows changed by the handle's last write. */
static inline int64_t db_changes(struct db *db)
{
    return db->ops->changes(db);
}

static inline int db_begin(struct db *db, enum db_tx tx)
{
    return db->ops->begin(db, tx);
}
static inline int db_commit(struct db *db)
{
    return db->ops->commit(db);
}
/* Rolls back the open transaction, if any. */
static inline void db_rollback(struct db *db)
{
    db->ops->rollback(db);
}
/* Whether a transaction is open. */
static inline int db_in_tx(struct db *db)
{
    return db->ops->in_tx(db);
}
/* A read transaction over several reads (one snapshot): 0 begun, DB_ERR
 * not (the reads then run one by one, as on PostgreSQL). */
static inline int db_read_begin(struct db *db)
{
    return db->ops->read_begin(db);
}
static inline int db_read_end(struct db *db)
{
    return db->ops->read_end(db);
}

/* The backend's text for template token name (len bytes), or NULL. */
static inline const char *db_token(const struct db *db, const char *name,
                                   size_t len)
{
    return db->ops->token(name, len);
}

static inline enum db_errkind db_errkind(struct db *db)
{
    return db->ops->errkind(db);
}
static inline const char *db_errmsg(struct db *db)
{
    return db->ops->errmsg(db);
}

#endif
