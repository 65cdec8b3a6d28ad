/*
 * monitor.c: the decisions of the live-migration monitor (spec §9.3),
 * pure: the max-downtime steps, the completion timeout and ferry's
 * progress timeout with their action (abort, or force-complete: post-copy
 * when permitted, else a pause), the prediction that pre-copy cannot
 * finish (live_migration_convergence = predict) with the strategy it
 * switches to, and the abort / force-complete requests of the API.  It
 * owns struct monitor; the runner (live.c) owns the libvirt calls and the
 * record.
 *
 * Invariants: every action is returned at most once (each one flips the
 * state that asked for it), so the runner's loop over monitor_next ends;
 * an abort request stops every other decision; nothing is forced or
 * timed out once the transfer is in post-copy (it can only finish).
 */
#include <stdio.h>
#include <string.h>
#include "ferry/monitor.h"

#define GIB (1024.0 * 1024.0 * 1024.0)
#define MIB (1024.0 * 1024.0)
#define PASSES_MAX 3    /* further passes pre-copy may need at best */
#define STUCK_SHARE 0.9 /* a pass that leaves this much of the last: stuck */

double monitor_gib(double bytes)
{
    double gb = bytes / GIB;

    return gb > 2.0 ? gb : 2.0;
}

void monitor_opts(const struct conf *c, double data_gb, int postcopy_allowed,
                  struct mon_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->steps = c->live_migration_downtime_steps;
    o->delay = (double) (int64_t) (c->live_migration_downtime_delay * data_gb);
    o->base = (double) c->live_migration_downtime / o->steps;
    o->offset = ((double) c->live_migration_downtime - o->base) / o->steps;
    o->timeout_s = (int64_t) (c->live_migration_completion_timeout * data_gb);
    o->progress_timeout_s = c->live_migration_progress_timeout;
    o->timeout_action = c->live_migration_timeout_action;
    o->postcopy_allowed = postcopy_allowed;
    o->predict = c->live_migration_convergence == CONVERGE_PREDICT;
    /* live.c's rule for the flag: auto-converge when permitted and
     * post-copy is not (Nova's) */
    o->autoconverge = c->live_migration_permit_auto_converge
        && !c->live_migration_permit_post_copy;
    o->max_downtime_ms = c->live_migration_downtime;
    o->bandwidth_bps = (int64_t) c->live_migration_bandwidth * 1024 * 1024;
}

void monitor_init(struct monitor *mo, const struct mon_opts *o,
                  int64_t start_us)
{
    memset(mo, 0, sizeof(*mo));
    mo->o = *o;
    mo->start_us = start_us;
    mo->cur_downtime = -1;
    mo->best_remaining = -1;
}

void monitor_takeover(struct monitor *mo, const struct mon_opts *o,
                      int64_t created_at_us, int paused_by_migration,
                      int in_postcopy)
{
    monitor_init(mo, o, created_at_us);
    mo->paused_by_us = paused_by_migration;
    mo->forced = paused_by_migration;
    mo->postcopy = in_postcopy;
}

/* The max downtime elapsed s into the transfer: the last step whose start
 * has passed (the first step at once), or -1 before the start.  Kept as
 * the formula, not a table, so any number of steps the config accepts is
 * honoured. */
static int64_t downtime_at(const struct mon_opts *o, int64_t elapsed)
{
    int i = 0;

    if (elapsed < 0) {
        return -1;
    }
    if (o->delay <= 0) {
        i = elapsed > 0 ? o->steps : 0; /* every step starts at 0 s */
    } else {
        while (i < o->steps && elapsed > (int64_t) (o->delay * (i + 1))) {
            i++;
        }
    }
    return (int64_t) (o->base + o->offset * i);
}

static enum mon_action abort_once(struct monitor *mo, struct mon_cmd *cmd,
                                  const char *why, int timeout)
{
    if (mo->aborted) {
        return MON_NONE;
    }
    mo->aborted = 1;
    if (timeout) {
        mo->timeout_reason = why;
    }
    cmd->reason = why;
    return cmd->action = MON_ABORT;
}

/* Force-complete (spec §9.3): post-copy when permitted, else a pause;
 * tried once, and never in post-copy. */
static enum mon_action force_once(struct monitor *mo, struct mon_cmd *cmd)
{
    if (mo->forced || mo->postcopy) {
        return MON_NONE;
    }
    mo->forced = 1;
    return cmd->action = mo->o.postcopy_allowed ? MON_POSTCOPY : MON_PAUSE;
}

/* A change of strategy, named for the log and the record: the action
 * and what asked for it. */
static enum mon_action changed(struct monitor *mo, struct mon_cmd *cmd,
                               const char *trigger)
{
    static const char *const names[] = {
        [MON_SET_DOWNTIME] = "auto-converge",
        [MON_POSTCOPY] = "post-copy",
        [MON_PAUSE] = "pause",
        [MON_ABORT] = "abort",
    };

    if (cmd->action != MON_NONE && cmd->action < sizeof(names) / sizeof(*names)
        && names[cmd->action] != NULL) {
        snprintf(mo->strategy, sizeof(mo->strategy), "%s (%s)",
                 names[cmd->action], trigger);
        cmd->strategy = mo->strategy;
    }
    return cmd->action;
}

static enum mon_action on_timeout(struct monitor *mo, struct mon_cmd *cmd,
                                  const char *why)
{
    if (mo->o.timeout_action == TIMEOUT_FORCE_COMPLETE) {
        force_once(mo, cmd);
    } else {
        abort_once(mo, cmd, why, 1);
    }
    return changed(mo, cmd, why);
}

/* The prediction (live_migration_convergence = predict).  QEMU sends
 * memory in passes: the first sends all of it, each next one what the
 * guest dirtied during the one before, and pre-copy stops once what is
 * left fits in the allowed downtime at the transfer rate.  The job says
 * nothing of the guest's writes before the first pass ends (QEMU syncs
 * its dirty bitmap only between passes), so each pass is judged when it
 * ends, from its own average rate b (bytes sent / its length) and q, the
 * guest's dirty rate over it divided by b: the next pass is q times as
 * long, and each after it q times as long again at best (a guest that
 * keeps rewriting a fixed set dirties more of a shorter pass, never
 * less), so pre-copy cannot finish when q >= 1, when even the best
 * case needs more than PASSES_MAX further passes or ends after the
 * completion timeout, or when two passes in a row left as much to send.
 * 1: cannot finish (mo->why says why). */
static int judge_pass(struct monitor *mo, const struct mon_sample *s)
{
    const struct mon_stats *st = &mo->st;
    double dt = (double) (s->now_us - mo->pass_at_us) / 1e6;
    double sent = (double) (st->mem_processed - mo->pass_sent);
    double left = (double) s->mem_remaining, b, q, fit, r, eta = 0;
    const char *rule = NULL;
    char more[48];
    int n = 0;

    if (dt <= 0 || sent <= 0 || left < 0) {
        return 0;
    }
    b = sent / dt;
    q = (st->dirty_bps > 0 ? (double) st->dirty_bps : left / dt) / b;
    fit = b * (double) mo->o.max_downtime_ms / 1000.0;
    mo->stuck = left > fit && left >= STUCK_SHARE * (double) mo->pass_left
        ? mo->stuck + 1
        : 0;
    for (r = left; r > fit && q < 1 && n <= PASSES_MAX; n++) {
        eta += r / b;
        r *= q;
    }
    if (left <= fit) {
        return 0; /* it can stop now */
    } else if (q >= 1) {
        rule = "the guest dirties memory as fast as it is sent";
    } else if (mo->stuck >= 2) {
        rule = "two passes left as much to send";
    } else if (n > PASSES_MAX) {
        snprintf(more, sizeof(more), "more than %d further passes at best",
                 PASSES_MAX);
        rule = more;
    } else if (mo->o.timeout_s > 0
               && s->now_us + (int64_t) (eta * 1e6)
                   > mo->start_us + mo->o.timeout_s * 1000000) {
        rule = "it would end after the completion timeout at best";
    } else {
        return 0;
    }
    snprintf(mo->why, sizeof(mo->why),
             "pass %lld: %.1f MiB left, dirtied %.1f MiB/s, sent %.1f MiB/s: "
             "%s",
             (long long) st->iteration, left / MIB, q * b / MIB, b / MIB, rule);
    return 1;
}

/* The rate libvirt measured as the transfer started, weighed once it and
 * the transfer's rate b are known (the cap, else the first pass's average
 * over a second): a guest that dirtied more than twice b a second (twice:
 * the measure samples pages) cannot converge.  Over a span of at least
 * the downtime it dirties more than b sends in that span, so each pass is
 * longer than the downtime and leaves more than fits in it. */
static int dirties_too_fast(struct monitor *mo, const struct mon_sample *s)
{
    const struct mon_stats *st = &mo->st;
    double b = (double) mo->o.bandwidth_bps, dt;

    if (mo->pre_dirty_bps <= 0 || mo->pre_judged || mo->pass <= 0) {
        return 0;
    }
    dt = (double) (s->now_us - mo->pass_at_us) / 1e6;
    if (b <= 0 && dt >= 1.0 && st->mem_processed > mo->pass_sent) {
        b = (double) (st->mem_processed - mo->pass_sent) / dt;
    }
    if (b <= 0) {
        return 0; /* not yet known */
    }
    mo->pre_judged = 1;
    if ((double) mo->pre_dirty_bps < 2 * b) {
        return 0;
    }
    snprintf(mo->why, sizeof(mo->why),
             "the guest dirties %.1f MiB/s, the transfer sends %.1f MiB/s",
             (double) mo->pre_dirty_bps / MIB, b / MIB);
    return 1;
}

/* Follows the passes (a new one when the iteration moves on) and judges
 * each that ended, and the rate measured before.  Idempotent for one
 * sample. */
static int cannot_finish(struct monitor *mo, const struct mon_sample *s)
{
    const struct mon_stats *st = &mo->st;
    int no = 0;

    if (st->iteration <= 0 || s->mem_total <= 0 || st->mem_processed < 0
        || st->iteration <= mo->pass) {
        return dirties_too_fast(mo, s);
    }
    if (mo->pass > 0) {
        no = judge_pass(mo, s);
    }
    mo->pass = st->iteration;
    mo->pass_at_us = s->now_us;
    mo->pass_sent = st->mem_processed;
    mo->pass_left = s->mem_remaining;
    return no || dirties_too_fast(mo, s);
}

/* Pre-copy cannot finish: post-copy when permitted; else, with auto-
 * converge (QEMU throttles the guest), the max downtime at once to the
 * last step's; else the timeout action. */
static enum mon_action on_prediction(struct monitor *mo, struct mon_cmd *cmd)
{
    mo->predicted = 1;
    if (mo->o.postcopy_allowed) {
        force_once(mo, cmd);
    } else if (mo->o.autoconverge) {
        mo->downtime_floor = mo->o.max_downtime_ms;
        mo->cur_downtime = mo->o.max_downtime_ms;
        cmd->downtime_ms = mo->o.max_downtime_ms;
        cmd->action = MON_SET_DOWNTIME;
    } else if (mo->o.timeout_action == TIMEOUT_FORCE_COMPLETE) {
        force_once(mo, cmd);
    } else {
        abort_once(mo, cmd, "pre-copy cannot converge", 1);
    }
    return changed(mo, cmd, "predicted");
}

/* The progress mark: the lowest remaining seen and when.  A job's first
 * samples, before QEMU has sized the RAM, read 0 of 0 remaining: that is
 * no mark to beat (Nova, too, starts its watermark again when it reads 0).
 * Idempotent for one sample. */
static void watermark(struct monitor *mo, const struct mon_sample *s)
{
    int64_t remaining =
        s->data_remaining >= 0 ? s->data_remaining : s->mem_remaining;

    if (s->mem_total > 0 && remaining >= 0
        && (mo->best_remaining <= 0 || remaining < mo->best_remaining)) {
        mo->best_remaining = remaining;
        mo->best_at_us = s->now_us;
    }
}

static int stalled(const struct monitor *mo, const struct mon_sample *s)
{
    return mo->o.progress_timeout_s > 0 && mo->best_at_us > 0
        && s->now_us - mo->best_at_us > mo->o.progress_timeout_s * 1000000;
}

void monitor_dirty_rate(struct monitor *mo, int64_t bps)
{
    mo->pre_dirty_bps = bps;
}

void monitor_stats(struct monitor *mo, const struct mon_stats *st)
{
    mo->st = *st;
}

enum mon_action monitor_next(struct monitor *mo, const struct mon_sample *s,
                             struct mon_cmd *cmd)
{
    int64_t elapsed = (s->now_us - mo->start_us) / 1000000, want;

    memset(cmd, 0, sizeof(*cmd));
    if (s->abort_requested) {
        return abort_once(mo, cmd, "abort requested", 0);
    }
    if (s->force_requested && force_once(mo, cmd) != MON_NONE) {
        return cmd->action;
    }
    if (mo->o.timeout_s > 0 && elapsed > mo->o.timeout_s && !mo->postcopy
        && on_timeout(mo, cmd, "completion timeout") != MON_NONE) {
        return cmd->action;
    }
    watermark(mo, s);
    if (stalled(mo, s) && !mo->postcopy
        && on_timeout(mo, cmd, "progress timeout") != MON_NONE) {
        return cmd->action;
    }
    if (mo->o.predict && !mo->predicted && !mo->postcopy && !mo->forced
        && !mo->aborted && cannot_finish(mo, s)
        && on_prediction(mo, cmd) != MON_NONE) {
        return cmd->action;
    }
    want = downtime_at(&mo->o, elapsed);
    if (want >= 0 && want < mo->downtime_floor) {
        want = mo->downtime_floor; /* auto-converge's: not lowered */
    }
    if (want >= 0 && want != mo->cur_downtime) {
        mo->cur_downtime = want; /* once, even if setting it fails */
        cmd->downtime_ms = want;
        return cmd->action = MON_SET_DOWNTIME;
    }
    return MON_NONE;
}

void monitor_done(struct monitor *mo, enum mon_action a, int ok)
{
    if (a == MON_POSTCOPY && ok) {
        mo->postcopy = 1;
    } else if (a == MON_PAUSE && ok) {
        mo->paused_by_us = 1;
    }
}

enum mon_action monitor_after(const struct monitor *mo, int on_source,
                              int source_paused)
{
    return mo->paused_by_us && on_source && source_paused ? MON_RESUME
                                                          : MON_NONE;
}
