/*
 * store_priv.h: what the files of the store module (store.c,
 * store_instances.c, store_drains.c, store_leases.c) share and nothing
 * else includes: the
 * handle and its error mapping.  The database is behind db.h.
 */
#ifndef FERRY_STORE_PRIV_H
#define FERRY_STORE_PRIV_H

#include "db.h"
#include "ferry/store.h"

/* Statements prepared once per handle and kept (store_instances.c, which
 * asserts at compile time that its queries fit). */
#define STORE_NCACHED 24
/* store.c's statements kept by the address of their text (more than
 * store.c has: one past it is prepared per use, still correct). */
#define STORE_NKEPT 48

struct store {
    struct db *db;
    int timeout_ms; /* lock wait of its statements */
    struct db_stmt *cached[STORE_NCACHED];
    struct {
        const char *text; /* a static string: the key */
        struct db_stmt *st;
    } kept[STORE_NKEPT];
    int nkept;
    int snapshot; /* a read transaction of store_snapshot_begin is open */
};

/* The longest statement a template expands to. */
#define SQL_MAX 4096

/* tmpl with its {NAME} status lists written out (store.c's sql_lists:
 * ENDED, HOLDS, ...) and its backend tokens (db_token) into out[SQL_MAX]. */
int store_sql_expand(struct store *s, const char *tmpl, char *out,
                     struct ferr *err);
/* A failed statement as FE_UNAVAILABLE (busy, full, I/O, the database
 * gone) or FE_INTERNAL. */
int store_db_err(struct store *s, struct ferr *err, const char *what);
/* The schema statements of store_instances.c and store_drains.c (their
 * text goes into store.c's schema digest). */
extern const char store_instances_sql[];
extern const char store_drains_sql[];
/* Creates (or upgrades) the instances index and the hosts table. */
int store_instances_prepare(struct store *s, struct ferr *err);
/* Finalizes the cached statements. */
void store_instances_close(struct store *s);

#endif
