/*
 * store.h: migration records, the one-migration-per-instance lock and the
 * instance -> host index.  SQLite (WAL) behind this interface; sqlite3.h
 * is included only by store.c.  Every process opens its own handle.
 */
#ifndef FERRY_STORE_H
#define FERRY_STORE_H

#include <stdint.h>
#include "ferry/err.h"
#include "ferry/util.h"

struct store;

#define MIG_NULL_INT INT64_MIN      /* a NULL integer column */

struct migration {
    int64_t id;
    char uuid[37];
    char instance_uuid[37];
    const char *migration_type;     /* live-migration, migration, ... */
    const char *status;
    const char *source_compute, *source_node;
    const char *dest_compute, *dest_node, *dest_host;
    int64_t old_instance_type_id, new_instance_type_id;
    int64_t memory_total, memory_processed, memory_remaining;
    int64_t disk_total, disk_processed, disk_remaining;
    const char *user_id, *project_id;
    int hidden;
    int64_t created_at, updated_at;     /* µs since the epoch; 0 = NULL */
    /* the request, for the runner */
    int block_migration;                /* 1, 0, or -1 for "auto" */
    int disk_over_commit;
    int force;
    int mv_minor;
    const char *requested_host;         /* the request's host, or NULL */
    const char *error_reason;           /* why it failed, or NULL */
    /* the runner's side */
    int64_t claimed_by;                 /* runner id, -1 a request, or
                                         * MIG_NULL_INT: nobody */
    int64_t claim_gen;                  /* bumped by every claim: the
                                         * fencing token of its holder */
    int64_t total_time_ms, downtime_ms; /* on completion */
    int64_t finished_at;                /* µs, 0 while running */
    int abort_requested;                /* DELETE .../migrations/{id} */
    int paused_by_migration;            /* force-complete paused the guest:
                                         * the server is still active */
    int force_requested;                /* force_complete action */
};

/* Statuses a migration ends in (never overwritten). */
int mig_status_ended(const char *status);
/* Statuses in which a migration holds its instance (spec §9.1). */
int mig_status_in_progress(const char *status);
/* "In progress" as the live-migration endpoints mean it (spec §9.1): a
 * live migration queued, preparing, running or post-migrating. */
int mig_live_in_progress(const struct migration *m);

int  store_open(const char *path, struct store **out, struct ferr *err);
/* How long one statement waits for a lock another process holds before
 * it fails with -FE_UNAVAILABLE (the default is 10 s). */
void store_set_timeout(struct store *s, int ms);
void store_close(struct store *s);

/* Inserts m (status as given); fills id, uuid, created_at.  -FE_CONFLICT
 * when the instance already has a migration in progress: the unique index
 * decides, so this holds across workers and processes. */
int store_migration_create(struct store *s, struct migration *m,
                           struct ferr *err);
/* The in-progress migration of an instance: 1 found, 0 none, <0 error.
 * Strings are allocated from a. */
int store_migration_active(struct store *s, const char *instance_uuid,
                           struct arena *a, struct migration *out,
                           struct ferr *err);
/* Sets status (and the error reason, may be NULL) of record id. */
int store_migration_set_status(struct store *s, int64_t id,
                               const char *status, const char *reason,
                               struct ferr *err);

/* Claims for runner, atomically (two runners never get the same one),
 * the oldest unclaimed record that is accepted (prechecks to run), or
 * queued with its source below max outgoing and its destination below max
 * incoming migrations in flight.  1, 0 none, <0. */
int store_migration_claim(struct store *s, int64_t runner, int max,
                          struct arena *a, struct migration *out,
                          struct ferr *err);
/* Claims a record in progress whose runner is gone: its heartbeat is older
 * than stale_us (or a request holding it for prechecks went silent) and,
 * when alive is given, alive(holder's pid) says no. */
typedef int (*store_alive_fn)(int64_t pid);
int store_migration_claim_stale(struct store *s, int64_t runner,
                                int64_t stale_us, store_alive_fn alive,
                                struct arena *a, struct migration *out,
                                struct ferr *err);
/* Runner liveness: a row per runner process with a heartbeat. */
int  store_runner_register(struct store *s, int64_t *id, struct ferr *err);
void store_runner_heartbeat(struct store *s, int64_t id);
void store_runner_unregister(struct store *s, int64_t id);
/* Writes the runner-side fields of m (status, nodes, destination,
 * statistics, reason, times) back to its record, only while the record is
 * still under the claim m was read with (m->claim_gen) and not ended:
 * -FE_CONFLICT otherwise (another runner took it over; the caller must
 * stop touching the record and the guest).  Ended records are never
 * overwritten. */
int store_migration_save(struct store *s, const struct migration *m,
                         struct ferr *err);
int store_migration_get(struct store *s, int64_t id, struct arena *a,
                        struct migration *out, struct ferr *err);

/* Marks record id for the runner: what is "abort" or "force_complete". */
int store_migration_request(struct store *s, int64_t id, const char *what,
                            struct ferr *err);
/* Cancels record id at once if no runner holds it yet (accepted or
 * queued): 1 cancelled, 0 a runner has it (it will see the request). */
int store_migration_cancel_waiting(struct store *s, int64_t id,
                                   struct ferr *err);

/* Moves record id from status from to status to: 1 done, 0 it was not in
 * from (someone else moved it), <0 error. */
int store_migration_cas(struct store *s, int64_t id, const char *from,
                        const char *to, struct ferr *err);

/* Every record of an instance (of all instances when instance_uuid is
 * NULL), oldest first. */
int store_migrations_of(struct store *s, const char *instance_uuid,
                        struct arena *a, struct migration **out, size_t *n,
                        struct ferr *err);

/* Instance -> host index: 1 found (host copied), 0 unknown. */
int store_host_get(struct store *s, const char *uuid, char *host,
                   size_t hostsz);
int store_host_set(struct store *s, const char *uuid, const char *host);

#endif
