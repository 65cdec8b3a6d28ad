/*
 * status.h: the states ferry names, as types, each in one table
 * (status.c): a migration record's status (enum mig_status, with what
 * each status means to the store, the API and the runner) and a server's
 * power state (enum power_state, Nova's numbering).
 *
 * struct migration keeps the status as its wire name (the store's and the
 * API's text); compare and assign through this table, never through a
 * literal:
 *
 *     m->status = mig_status_name(MIG_QUEUED);
 *     if (mig_status_is(m->status, MIG_RUNNING)) ...
 *     if (mig_status_has(mig_status_of(m->status), MIG_F_ENDED)) ...
 */
#ifndef FERRY_STATUS_H
#define FERRY_STATUS_H

#include <stddef.h>

/* What a status means (the columns of the table). */
#define MIG_F_ENDED 0x01u /* terminal: never overwritten */
#define MIG_F_HOLDS \
    0x02u /* in progress: holds its instance, one
                                 * per server (the store's unique index) */
#define MIG_F_WORKED \
    0x04u                     /* a runner (or a request) works on it: a
                                 * dead holder's record is taken over */
#define MIG_F_IN_FLIGHT 0x08u /* counts against a host's max in flight */
#define MIG_F_LIVE_API \
    0x10u /* "in progress" as Nova's live-migration
                                 * endpoints mean it (spec §9.1) */
#define MIG_F_WAITING \
    0x20u                     /* no runner has started it: an abort
                                 * cancels it at once when unclaimed */
#define MIG_F_COLD_STEP 0x40u /* a cold-migration step a runner claims */
#define MIG_F_SUCCEEDED 0x80u /* ended as asked (its action succeeded) */

/* Which migration types use a status. */
#define MIG_K_LIVE 0x1u
#define MIG_K_COLD 0x2u
#define MIG_K_BOTH (MIG_K_LIVE | MIG_K_COLD)

/* X(enum, wire name, flags, kind): one row per status.  The order of the
 * MIG_F_HOLDS rows is the order of the store's partial unique index text
 * (store.c): keep it. */
#define MIG_STATUS_TABLE(X)                                                  \
    X(MIG_ACCEPTED, "accepted", MIG_F_HOLDS | MIG_F_WORKED | MIG_F_WAITING,  \
      MIG_K_LIVE)                                                            \
    X(MIG_QUEUED, "queued",                                                  \
      MIG_F_HOLDS | MIG_F_WORKED | MIG_F_IN_FLIGHT | MIG_F_LIVE_API          \
          | MIG_F_WAITING,                                                   \
      MIG_K_LIVE)                                                            \
    X(MIG_PREPARING, "preparing",                                            \
      MIG_F_HOLDS | MIG_F_WORKED | MIG_F_IN_FLIGHT | MIG_F_LIVE_API,         \
      MIG_K_LIVE)                                                            \
    X(MIG_RUNNING, "running",                                                \
      MIG_F_HOLDS | MIG_F_WORKED | MIG_F_IN_FLIGHT | MIG_F_LIVE_API,         \
      MIG_K_LIVE)                                                            \
    X(MIG_POSTCOPY, "running (post-copy)",                                   \
      MIG_F_HOLDS | MIG_F_WORKED | MIG_F_IN_FLIGHT, MIG_K_LIVE)              \
    X(MIG_POST_MIGRATING, "post-migrating",                                  \
      MIG_F_HOLDS | MIG_F_WORKED | MIG_F_LIVE_API, MIG_K_BOTH)               \
    X(MIG_PRE_MIGRATING, "pre-migrating",                                    \
      MIG_F_HOLDS | MIG_F_WORKED | MIG_F_COLD_STEP, MIG_K_COLD)              \
    X(MIG_MIGRATING, "migrating", MIG_F_HOLDS | MIG_F_WORKED, MIG_K_COLD)    \
    /* moved, waiting for confirm or revert: nobody works on it */           \
    X(MIG_FINISHED, "finished", MIG_F_HOLDS, MIG_K_COLD)                     \
    X(MIG_CONFIRMING, "confirming",                                          \
      MIG_F_HOLDS | MIG_F_WORKED | MIG_F_COLD_STEP, MIG_K_COLD)              \
    X(MIG_REVERTING, "reverting",                                            \
      MIG_F_HOLDS | MIG_F_WORKED | MIG_F_COLD_STEP, MIG_K_COLD)              \
    X(MIG_COMPLETED, "completed", MIG_F_ENDED | MIG_F_SUCCEEDED, MIG_K_LIVE) \
    X(MIG_FAILED, "failed", MIG_F_ENDED, MIG_K_BOTH)                         \
    X(MIG_CANCELLED, "cancelled", MIG_F_ENDED, MIG_K_LIVE)                   \
    X(MIG_ERROR, "error", MIG_F_ENDED, MIG_K_BOTH)                           \
    X(MIG_CONFIRMED, "confirmed", MIG_F_ENDED | MIG_F_SUCCEEDED, MIG_K_COLD) \
    X(MIG_REVERTED, "reverted", MIG_F_ENDED | MIG_F_SUCCEEDED, MIG_K_COLD)

enum mig_status {
#define MIG_STATUS_ENUM(e, name, flags, kind) e,
    MIG_STATUS_TABLE(MIG_STATUS_ENUM)
#undef MIG_STATUS_ENUM
        MIG_STATUS__COUNT,
    MIG_UNKNOWN = MIG_STATUS__COUNT /* not a status ferry writes */
};

/* The wire name; "" for MIG_UNKNOWN. */
const char *mig_status_name(enum mig_status s);
/* The status named name (NULL or unknown: MIG_UNKNOWN). */
enum mig_status mig_status_of(const char *name);
/* name is status s. */
int mig_status_is(const char *name, enum mig_status s);
/* The MIG_F_* of s (MIG_UNKNOWN: none), and whether it has all of f. */
unsigned mig_status_flags(enum mig_status s);
int mig_status_has(enum mig_status s, unsigned f);
/* The MIG_K_* of s (MIG_UNKNOWN: 0). */
unsigned mig_status_kind(enum mig_status s);

/* Statuses a migration ends in (never overwritten): MIG_F_ENDED. */
int mig_status_ended(const char *status);
/* Statuses in which a migration holds its instance (spec §9.1):
 * MIG_F_HOLDS. */
int mig_status_in_progress(const char *status);

/* Writes the SQL list of the statuses with all flags f, quoted and comma
 * separated ("'a', 'b'"), to buf: its length, or -1 when it does not fit
 * (or no status has f). */
int mig_status_sql_list(unsigned f, char *buf, size_t size);

/* Nova's power_state (nova/compute/power_state.py): the numbers are the
 * API's (OS-EXT-STS:power_state). */
enum power_state {
    POWER_NOSTATE = 0,
    POWER_RUNNING = 1,
    POWER_PAUSED = 3,
    POWER_SHUTDOWN = 4,
    POWER_CRASHED = 6,
    POWER_SUSPENDED = 7,
};

/* Nova's name of a power state ("pending" for NOSTATE or unknown). */
const char *power_state_name(int power);
/* Running or paused: the guest is active (where a domain defined on two
 * hosts runs; what a live migration can move). */
int server_is_active(int power);

#endif
