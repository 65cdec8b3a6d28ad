/*
 * drain.h: host drains (issue 15): every server moved off a host,
 * server-side, within limits, with a plan first.
 *
 *   planning -> planned                          (a dry run: the plan only)
 *   planning -> running -> completed | failed
 *            -> cancelling -> cancelled          (a cancel: what runs ends,
 *                                                  nothing new starts)
 *   planning -> error                            (no plan could be made)
 *
 * A request worker records a drain ("planning") and, unless it is a dry
 * run, disables its host in the same transaction (the hosts_disabled
 * table: the scheduler and the prechecks skip the host, as enabled =
 * false in ferry.conf does, until the operator's enable_host action).
 * The migration runners carry it out (drain.c, drain_step): one runner at
 * a time holds a drain for one step (a lease fenced by the runners'
 * heartbeats, so a ferryd restart resumes it); a step plans (every
 * precheck for every server, every reason), or starts ordinary migration
 * records up to max_parallel (the queue and the per-host limits then
 * apply as to any migration), follows them, retries a failed server once
 * on another host, and ends the drain.  Store side: store_drains.c.
 */
#ifndef FERRY_DRAIN_H
#define FERRY_DRAIN_H

#include <signal.h>
#include <stdint.h>
#include "ferry/app.h"
#include "ferry/err.h"
#include "ferry/util.h"

struct store;

/* A drain's status, wire names in drain_status_names (drain.c). */
enum drain_status {
    DR_PLANNING,
    DR_PLANNED,
    DR_RUNNING,
    DR_CANCELLING,
    DR_COMPLETED,
    DR_FAILED,
    DR_CANCELLED,
    DR_ERROR,
    DR__COUNT
};

/* A server's state in a drain. */
enum drain_srv_state {
    DS_PLANNED,   /* dry run: it can go (to planned_host) */
    DS_UNMOVABLE, /* it cannot go: every reason in reasons */
    DS_WAITING,   /* to be started, to planned_host */
    DS_MIGRATING, /* migration_id in flight */
    DS_RETRYING,  /* failed once: a new host is looked for */
    DS_MOVED,     /* on planned_host */
    DS_FAILED,    /* failed (twice, or no other host fits) */
    DS_LEFT,      /* shut off and left (shut_off = leave) */
    DS_CANCELLED, /* never started: the drain was cancelled */
    DS__COUNT
};

/* What happens to a server: a live or a cold migration, or nothing. */
enum drain_move { DM_LIVE, DM_COLD, DM_LEAVE };

/* shut_off option */
enum drain_shut_off { DSO_COLD_MIGRATE, DSO_LEAVE };

#define DRAIN_MAX_PARALLEL 64 /* the schema's maximum of max_parallel */
#define DRAIN_MAX_TARGETS 64  /* the schema's maxItems of target_hosts */

struct drain {
    int64_t id;
    char uuid[37];
    const char *host;
    int status; /* enum drain_status */
    int dry_run;
    const char **targets; /* NULL: the scheduler */
    size_t ntargets;
    int max_parallel;
    int block_migration; /* 1, 0, -1 auto */
    int shut_off;        /* enum drain_shut_off */
    const char *user_id, *project_id, *request_id;
    const char *error; /* why it ended failed/error, or NULL */
    int64_t created_at, updated_at, finished_at; /* µs; 0 NULL */
};

struct drain_server {
    char uuid[37];
    const char *name;
    int move;  /* enum drain_move */
    int state; /* enum drain_srv_state */
    const char *planned_host;
    const char *failed_host; /* the host of the failed first try */
    int64_t migration_id;    /* 0: none */
    int attempts;
    const char *error;   /* the latest failure, or NULL */
    const char *reasons; /* every reason it cannot go, "\n"-separated */
    int64_t ram_mb;
};

const char *drain_status_name(int status);
const char *drain_srv_state_name(int state);
/* 1 when a drain in status is over (nothing more happens to it). */
int drain_status_ended(int status);

/* ---- the runners' side (drain.c) ------------------------------------ */

/* One step of every drain that needs one, in the runner whose runner row
 * is runner (called from the runner's loop between migrations).  Returns
 * the number of drains stepped. */
int drain_step(struct app *app, int64_t runner, volatile sig_atomic_t *stop);

/* ---- the store (store_drains.c) ------------------------------------- */

/* Creates the drains tables if needed (store_open calls it). */
int store_drains_prepare(struct store *s, struct ferr *err);
/* Inserts d (status planning); fills id, uuid, created_at.  Unless a dry
 * run, in the same transaction: -FE_CONFLICT when the host has a drain
 * that has not ended, else the host is disabled. */
int store_drain_create(struct store *s, struct drain *d, struct ferr *err);
/* 1 found, 0 not, <0. */
int store_drain_get(struct store *s, int64_t id, struct arena *a,
                    struct drain *out, struct ferr *err);
/* Every drain, newest first. */
int store_drains_list(struct store *s, struct arena *a, struct drain **out,
                      size_t *n, struct ferr *err);
/* The servers of drain id, in plan order. */
int store_drain_servers(struct store *s, int64_t id, struct arena *a,
                        struct drain_server **out, size_t *n, struct ferr *err);
/* Writes server row ds of drain id (insert or replace). */
int store_drain_server_put(struct store *s, int64_t id,
                           const struct drain_server *ds, struct ferr *err);
/* Moves drain id from status from to status to (error may be NULL);
 * finished_at set when to has ended.  1 moved, 0 it was not in from (a
 * cancel came first), <0. */
int store_drain_move(struct store *s, int64_t id, int from, int to,
                     const char *error, struct ferr *err);
/* A cancel: planning or running -> cancelling.  1 done, 0 the drain had
 * ended already, <0. */
int store_drain_cancel(struct store *s, int64_t id, struct ferr *err);
/* Takes drain id for one step by runner (a lease nobody alive holds):
 * 1 taken, 0 another live runner holds it. */
int store_drain_lease(struct store *s, int64_t id, int64_t runner,
                      int64_t stale_us, struct ferr *err);
void store_drain_release(struct store *s, int64_t id, int64_t runner);
/* The ids of the drains not ended (planning, running, cancelling). */
int store_drains_open(struct store *s, struct arena *a, int64_t **ids,
                      size_t *n, struct ferr *err);

/* The hosts a drain disabled (until enabled again), sorted. */
int store_hosts_disabled(struct store *s, struct arena *a, const char ***out,
                         size_t *n, struct ferr *err);
/* 1 when host is disabled by a drain, 0 not (or the store cannot say). */
int store_host_is_disabled(struct store *s, const char *host);
/* Enables host again: 1 it was disabled, 0 not. */
int store_host_enable(struct store *s, const char *host, struct ferr *err);

/* Counts for metrics: drains by status (counts[DR__COUNT]) and servers of
 * open drains by state (srv[DS__COUNT]). */
int store_drain_counts(struct store *s, int64_t *counts, int64_t *srv,
                       struct ferr *err);

#endif
