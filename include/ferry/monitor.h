/*
 * monitor.h: the live-migration monitor of spec §9.3 as a pure decision
 * step (monitor.c): no libvirt, no store, no clock of its own.  The runner
 * gives it each job sample with the time and the API's pending requests,
 * carries out the actions it returns (through virt.c) and tells it how
 * each went; the monitor keeps its own state in struct monitor.
 */
#ifndef FERRY_MONITOR_H
#define FERRY_MONITOR_H

#include <stdint.h>
#include "ferry/conf.h"

enum mon_action {
    MON_NONE,
    MON_SET_DOWNTIME, /* max downtime cmd->downtime_ms */
    MON_POSTCOPY,     /* switch the transfer to post-copy */
    MON_PAUSE,        /* pause the guest so it converges */
    MON_RESUME,       /* resume a guest MON_PAUSE paused */
    MON_ABORT         /* abort the job (cmd->reason) */
};

struct mon_cmd {
    enum mon_action action;
    int64_t downtime_ms; /* MON_SET_DOWNTIME */
    const char *reason;  /* MON_ABORT: why; with strategy: why */
    /* a change of strategy (a timeout's or a prediction's action), for
     * the log and the record: "post-copy (predicted)", else NULL */
    const char *strategy;
};

/* What one migration is allowed, fixed when its monitoring starts. */
struct mon_opts {
    /* Nova's downtime steps: step i (0..steps) starts after (int)
     * (delay x i) s with a max downtime of base + offset x i ms */
    int steps;
    double delay, base, offset;
    int64_t timeout_s;          /* completion timeout, 0 = never */
    int64_t progress_timeout_s; /* no new low of remaining, 0 = never */
    int timeout_action;         /* TIMEOUT_ABORT, TIMEOUT_FORCE_... */
    int postcopy_allowed;       /* else force-complete pauses */
    int predict;                /* live_migration_convergence = predict */
    int autoconverge;           /* the transfer started with it */
    int64_t max_downtime_ms;    /* the last step's */
    int64_t bandwidth_bps;      /* the cap, 0 none */
};

/* One job sample and the requests pending when it was taken. */
struct mon_sample {
    int64_t now_us;
    int64_t mem_total, mem_remaining, data_remaining; /* -1: unknown */
    int abort_requested, force_requested;
};

/* What the prediction reads of the same sample (monitor_stats); 0 or
 * less: unknown. */
struct mon_stats {
    int64_t mem_processed; /* bytes sent so far */
    int64_t dirty_bps;     /* QEMU's dirty rate over the last pass */
    int64_t iteration;     /* the pass over memory in progress */
};

struct monitor {
    struct mon_opts o;
    int64_t start_us;
    int64_t cur_downtime;       /* ms last set, -1 none yet */
    int64_t best_remaining;     /* lowest remaining seen, -1 none */
    int64_t best_at_us;         /* when it was seen */
    int postcopy;               /* the transfer is in post-copy */
    int paused_by_us;           /* MON_PAUSE paused the guest */
    int aborted;                /* MON_ABORT was returned */
    int forced;                 /* force-complete was tried */
    const char *timeout_reason; /* the timeout that aborted, or NULL */
    struct mon_stats st;        /* of the latest sample */
    /* the prediction: the pass over memory in progress (iteration, when
     * it started, bytes sent and remaining then), passes in a row that
     * left as much to send, and what it decided */
    int64_t pass, pass_at_us, pass_sent, pass_left;
    int stuck;
    int64_t pre_dirty_bps;  /* libvirt's measure, 0 none (yet) */
    int pre_judged;         /* that measure was weighed */
    int predicted;          /* pre-copy cannot finish: acted on it */
    int64_t downtime_floor; /* ms the steps no longer go below */
    char why[128];          /* the numbers behind a change */
    char strategy[64];      /* the change, as cmd->strategy */
};

/* The data a transfer moves, in GiB for the per-GiB options: Nova counts
 * at least 2 GiB for the memory and for each disk. */
double monitor_gib(double bytes);
/* Options from the config for data_gb GiB of data; postcopy_allowed from
 * the migration's flags (not for a paused guest). */
void monitor_opts(const struct conf *c, double data_gb, int postcopy_allowed,
                  struct mon_opts *o);
/* A transfer that starts now (start_us). */
void monitor_init(struct monitor *mo, const struct mon_opts *o,
                  int64_t start_us);
/* A transfer taken over from a runner that died: the state rebuilt from
 * its record (times from its creation, a guest it paused is resumed if
 * the transfer fails, a post-copy is not forced again). */
void monitor_takeover(struct monitor *mo, const struct mon_opts *o,
                      int64_t created_at_us, int paused_by_migration,
                      int in_postcopy);
/* The guest's dirty rate libvirt measured as the transfer started, over
 * at least the max downtime: weighed once the transfer's rate is known. */
void monitor_dirty_rate(struct monitor *mo, int64_t bps);
/* The statistics of the sample monitor_next gets next (kept until the
 * next call): without them, nothing is predicted. */
void monitor_stats(struct monitor *mo, const struct mon_stats *st);
/* The next action for sample s, MON_NONE when there is nothing (more) to
 * do: call it again after each action, with the same sample, until it
 * says MON_NONE.  Each action is returned once. */
enum mon_action monitor_next(struct monitor *mo, const struct mon_sample *s,
                             struct mon_cmd *cmd);
/* How an action went (ok 1 or 0). */
void monitor_done(struct monitor *mo, enum mon_action a, int ok);
/* Once the transfer has failed: MON_RESUME when the guest is still on the
 * source, paused, and it was this monitor that paused it. */
enum mon_action monitor_after(const struct monitor *mo, int on_source,
                              int source_paused);

#endif
