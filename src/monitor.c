/*
 * monitor.c: the decisions of the live-migration monitor (spec §9.3),
 * pure: the max-downtime steps, the completion timeout and ferry's
 * progress timeout with their action (abort, or force-complete: post-copy
 * when permitted, else a pause), and the abort / force-complete requests
 * of the API.  It owns struct monitor; the runner (live.c) owns the
 * libvirt calls and the record.
 *
 * Invariants: every action is returned at most once (each one flips the
 * state that asked for it), so the runner's loop over monitor_next ends;
 * an abort request stops every other decision; nothing is forced or
 * timed out once the transfer is in post-copy (it can only finish).
 */
#include <string.h>
#include "ferry/monitor.h"

#define GIB (1024.0 * 1024.0 * 1024.0)

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

static enum mon_action on_timeout(struct monitor *mo, struct mon_cmd *cmd,
                                  const char *why)
{
    if (mo->o.timeout_action == TIMEOUT_FORCE_COMPLETE) {
        return force_once(mo, cmd);
    }
    return abort_once(mo, cmd, why, 1);
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
    want = downtime_at(&mo->o, elapsed);
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
