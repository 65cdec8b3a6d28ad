/*
 * store.h: migration records, the one-migration-per-instance lock and the
 * instance -> host index, on a database behind src/db.h (SQLite, WAL, by
 * default: db_sqlite.c is the only includer of sqlite3.h).  Every process
 * opens its own handle.
 */
#ifndef FERRY_STORE_H
#define FERRY_STORE_H

#include <stdint.h>
#include "ferry/err.h"
#include "ferry/status.h"
#include "ferry/util.h"

struct store;

#define MIG_NULL_INT INT64_MIN /* a NULL integer column */

/* Who holds a record (claimed_by): a runner (its id, > 0), the request
 * that runs its prechecks, or nobody.  The store writes nobody as NULL
 * (as every ferryd did) and reads NULL as MIG_UNCLAIMED; a zeroed record
 * is unclaimed. */
#define MIG_UNCLAIMED 0
#define MIG_HELD_BY_REQUEST (-1)

struct migration {
    int64_t id;
    char uuid[37];
    char instance_uuid[37];
    const char *migration_type; /* live-migration, migration, ... */
    const char *status;         /* a wire name (status.h) */
    const char *source_compute, *source_node;
    const char *dest_compute, *dest_node, *dest_host;
    int64_t old_instance_type_id, new_instance_type_id;
    int64_t memory_total, memory_processed, memory_remaining;
    int64_t disk_total, disk_processed, disk_remaining;
    const char *user_id, *project_id;
    int hidden;
    int64_t created_at, updated_at; /* µs since the epoch; 0 = NULL */
    /* the request, for the runner */
    int block_migration; /* 1, 0, or -1 for "auto" */
    int disk_over_commit;
    int force;
    int mv_minor;
    const char *requested_host; /* the request's host, or NULL */
    const char *error_reason;   /* why it failed, or NULL */
    const char *request_id;     /* req-<uuid> of the request whose
                                         * step is in progress (the
                                         * instance action's), or NULL */
    /* the runner's side */
    int64_t claimed_by;                 /* runner id, MIG_HELD_BY_REQUEST
                                         * or MIG_UNCLAIMED */
    int64_t claim_gen;                  /* bumped by every claim: the
                                         * fencing token of its holder */
    int64_t total_time_ms, downtime_ms; /* on completion */
    int64_t finished_at;                /* µs, 0 while running */
    int abort_requested;                /* DELETE .../migrations/{id} */
    int paused_by_migration;            /* force-complete paused the guest:
                                         * the server is still active */
    int force_requested;                /* force_complete action */
    int64_t transfer_bps;               /* memory + disk bytes/s of the
                                         * latest sample, 0 unknown */
    const char *convergence;            /* the monitor's change of
                                         * strategy ("post-copy
                                         * (predicted)"), or NULL */
};

/* mig_status_ended, mig_status_in_progress and the other status
 * predicates: status.h. */
/* "In progress" as the live-migration endpoints mean it (spec §9.1): a
 * live migration queued, preparing, running or post-migrating. */
int mig_live_in_progress(const struct migration *m);

int store_open(const char *path, struct store **out, struct ferr *err);
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
int store_migration_set_status(struct store *s, int64_t id, const char *status,
                               const char *reason, struct ferr *err);

/* Claims for runner, atomically (two runners never get the same one),
 * the oldest unclaimed record that is accepted (prechecks to run), or
 * queued with its source below max outgoing and its destination below max
 * incoming migrations in flight.  1, 0 none, <0. */
int store_migration_claim(struct store *s, int64_t runner, int max,
                          struct arena *a, struct migration *out,
                          struct ferr *err);
/* Claims a record in progress whose runner is gone: its heartbeat is older
 * than stale_us (or a request holding it for prechecks went silent) and,
 * when alive is given and the holder ran on this node (its name, or a
 * runner registered without one), alive(holder's pid) says no.  A pid is
 * only asked on its own node: another node's may be anything here, and
 * its runners are judged on their heartbeats alone, only when `others`
 * is set (the caller's own heartbeats have been written for stale_us: a
 * store that was away for everyone left every heartbeat old). */
typedef int (*store_alive_fn)(int64_t pid);
int store_migration_claim_stale(struct store *s, int64_t runner,
                                const char *node, int64_t stale_us, int others,
                                store_alive_fn alive, struct arena *a,
                                struct migration *out, struct ferr *err);
/* Runner liveness: a row per runner process (this pid on node) with a
 * heartbeat. */
int store_runner_register(struct store *s, const char *node, int64_t *id,
                          struct ferr *err);
/* 0 written, <0 not (the store away or busy). */
int store_runner_heartbeat(struct store *s, int64_t id);
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

/* Migrations grouped by type and status, for metrics (bounded by the
 * number of groups, not of records): counts, sums, and how many have
 * total_time_ms / downtime_ms at or below each of the nb bounds (ms). */
#define MIG_GROUP_BOUNDS 16
struct mig_group {
    const char *type, *status;
    int64_t count;
    int64_t timed, time_ms_sum;      /* records with total_time_ms */
    int64_t downed, downtime_ms_sum; /* records with downtime_ms */
    int64_t bytes_sum;               /* memory + disk processed */
    int64_t remaining_sum;           /* memory + disk remaining */
    int64_t rate_sum;                /* transfer_bps */
    int64_t time_le[MIG_GROUP_BOUNDS], down_le[MIG_GROUP_BOUNDS];
};
int store_migration_groups(struct store *s, const int64_t *bounds_ms, size_t nb,
                           struct arena *a, struct mig_group **out, size_t *n,
                           struct ferr *err);

/* ---- instance actions (Nova's instance_actions and
 * instance_actions_events tables, nova/db/main/models.py) ------------- */

/* An action: one request that changed the instance, keyed by
 * (instance_uuid, request_id). */
struct iaction {
    int64_t id;
    const char *action; /* nova/compute/instance_actions.py */
    char instance_uuid[37];
    const char *request_id, *user_id, *project_id;
    const char *message;            /* "Error" once an event failed */
    int64_t start_time, updated_at; /* µs */
};

/* A step of an action, on one host. */
struct ievent {
    const char *event;               /* e.g. compute_live_migration */
    const char *host;                /* where it ran, or NULL */
    const char *result;              /* "Success", "Error", NULL */
    const char *traceback;           /* ferry has none: always NULL */
    const char *details;             /* the failure reason, or NULL */
    int64_t start_time, finish_time; /* µs; finish 0 while running */
};

/* One transaction around several writes (a record and its action):
 * BEGIN IMMEDIATE, so the writer lock is taken up front and a busy store
 * fails here, before anything is written. */
int store_begin(struct store *s, struct ferr *err);
int store_commit(struct store *s, struct ferr *err);
void store_rollback(struct store *s);

/* One read transaction around the reads of a GET: every read sees the
 * same state, and the store's file locks are taken once a request, not
 * once a statement (each costs fcntl calls).  A store_begin inside ends
 * it first; a failed begin leaves the reads to autocommit. */
void store_snapshot_begin(struct store *s);
void store_snapshot_end(struct store *s);

/* Inserts action a (start_time and updated_at now, message NULL). */
int store_action_start(struct store *s, const struct iaction *a,
                       struct ferr *err);
/* Starts event of the action (instance_uuid, request_id) on host, as
 * Nova's action_event_start (nova/db/main/api.py): the action's
 * updated_at becomes the event's start.  -FE_NOTFOUND without the
 * action. */
int store_event_start(struct store *s, const char *instance_uuid,
                      const char *request_id, const char *event,
                      const char *host, struct ferr *err);
/* Finishes event (NULL: every event of the action still running) with
 * "Success", or "Error" and details, as action_event_finish: an error
 * sets the action's message to "Error"; updated_at becomes the finish. */
int store_event_finish(struct store *s, const char *instance_uuid,
                       const char *request_id, const char *event, int ok,
                       const char *details, struct ferr *err);
/* The actions of an instance, newest first (created_at, id descending,
 * as actions_get sorts them). */
int store_actions_of(struct store *s, const char *instance_uuid,
                     struct arena *a, struct iaction **out, size_t *n,
                     struct ferr *err);
/* The events of action id, newest first (action_events_get). */
int store_action_events(struct store *s, int64_t action_id, struct arena *a,
                        struct ievent **out, size_t *n, struct ferr *err);
/* The request id of the newest action named action of an instance: 1
 * found (copied to request_id), 0 none, <0. */
int store_action_latest(struct store *s, const char *instance_uuid,
                        const char *action, char *request_id, size_t size,
                        struct ferr *err);
/* Sets the request id of record id (a confirm or revert takes the record
 * over for its own action). */
int store_migration_set_request(struct store *s, int64_t id,
                                const char *request_id, struct ferr *err);

/* Instance -> host index: 1 found (host copied), 0 unknown. */
int store_host_get(struct store *s, const char *uuid, char *host,
                   size_t hostsz);
int store_host_set(struct store *s, const char *uuid, const char *host);

/* The latest fault of an instance (Nova's instance_faults as the server
 * view shows it).  code is an FE_* code (fault.c maps it); vm_error: the
 * failure left the instance in vm_state error. */
struct instance_fault {
    int code;
    const char *message;
    int64_t created_at; /* µs; 0: now, when saving */
    int vm_error;
};
/* Creates the faults table if needed (store_open calls it). */
int store_faults_prepare(struct store *s, struct ferr *err);
/* Records f as the latest fault of m's instance, only while m is still
 * held under the claim it was read with and not ended (-FE_CONFLICT
 * otherwise): a runner writes it before it ends the record. */
int store_fault_save(struct store *s, const struct migration *m,
                     const struct instance_fault *f, struct ferr *err);
/* 1 and *out filled (strings from a), 0 none, <0 error. */
int store_fault_get(struct store *s, const char *instance_uuid, struct arena *a,
                    struct instance_fault *out, struct ferr *err);

#endif
