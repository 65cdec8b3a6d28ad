/*
 * test_monitor.c: the live-migration monitor (monitor.c) without libvirt:
 * recorded job-sample sequences, each through every decision the runner
 * would carry out, written as a trace "<s>:<action>" per action:
 * D<ms> max downtime, PC post-copy, PA pause, AB(<reason>) abort.
 * Covers the downtime steps, the completion and progress timeouts with
 * each action, post-copy, the pause fallback and its resume when the
 * transfer fails, the abort and force-complete requests, the monitor
 * rebuilt from the record after a runner died, and the prediction
 * (live_migration_convergence = predict) on sequences recorded in the lab.
 */
#include <stdlib.h>
#include "unit.h"
#include "ferry/monitor.h"
#include "ferry/util.h"

#define S 1000000LL /* µs */
#define GIB (1024.0 * 1024.0 * 1024.0)
#define T0 (1700000000LL * S) /* a transfer's start */

/* One recorded sample: when (ms after T0), the job, the requests. */
struct rec {
    int64_t ms;
    int64_t total, remaining; /* memory; data_remaining = -1 */
    int abort_rq, force_rq;
};

/* Actions that fail when the runner carries them out (bit per action). */
#define FAIL(a) (1u << (a))

/* Feeds the samples, carrying out every action (ok unless in fail) and
 * writes the trace into out. */
static const char *drive_stats(struct monitor *mo, const struct rec *r,
                               const struct mon_stats *stats, size_t n,
                               unsigned fail, char *out, size_t size)
{
    size_t i, len = 0;

    out[0] = '\0';
    for (i = 0; i < n; i++) {
        struct mon_sample s = { T0 + r[i].ms * 1000, r[i].total,
                                r[i].remaining,      -1,
                                r[i].abort_rq,       r[i].force_rq };
        struct mon_cmd cmd;
        int k = 0;
        char t[32];

        if (stats != NULL) {
            monitor_stats(mo, &stats[i]);
        }
        snprintf(t, sizeof(t), "%lld", (long long) (r[i].ms / 1000));
        while (monitor_next(mo, &s, &cmd) != MON_NONE) {
            CHECK(++k <= 3); /* each action once: the loop ends */
            if (k > 3) {
                break;
            }
            switch (cmd.action) {
            case MON_SET_DOWNTIME:
                len += snprintf(out + len, size - len, "%s%s:D%lld",
                                len ? " " : "", t, (long long) cmd.downtime_ms);
                break;
            case MON_POSTCOPY:
                len += snprintf(out + len, size - len, "%s%s:PC",
                                len ? " " : "", t);
                break;
            case MON_PAUSE:
                len += snprintf(out + len, size - len, "%s%s:PA",
                                len ? " " : "", t);
                break;
            case MON_ABORT:
                len += snprintf(out + len, size - len, "%s%s:AB(%s)",
                                len ? " " : "", t, cmd.reason);
                break;
            default:
                len += snprintf(out + len, size - len, "%s%s:?", len ? " " : "",
                                t);
            }
            monitor_done(mo, cmd.action, !(fail & FAIL(cmd.action)));
        }
    }
    return out;
}

static const char *drive(struct monitor *mo, const struct rec *r, size_t n,
                         unsigned fail, char *out, size_t size)
{
    return drive_stats(mo, r, NULL, n, fail, out, size);
}

/* The options of a migration of data_gb GiB: downtime 500 ms in 3 steps
 * of delay s per GiB, completion timeout 5 s per GiB, progress timeout
 * progress s. */
static void opts(struct mon_opts *o, int delay, double data_gb, int action,
                 int postcopy, int completion, int progress)
{
    struct conf c;

    memset(&c, 0, sizeof(c));
    c.live_migration_downtime = 500;
    c.live_migration_downtime_steps = 3;
    c.live_migration_downtime_delay = delay;
    c.live_migration_completion_timeout = completion;
    c.live_migration_progress_timeout = progress;
    c.live_migration_timeout_action = action;
    monitor_opts(&c, data_gb, postcopy, o);
}

static void test_options(void)
{
    struct mon_opts o;

    CHECK(monitor_gib(1 * GIB) == 2.0); /* at least 2 GiB */
    CHECK(monitor_gib(0) == 2.0);
    CHECK(monitor_gib(3 * GIB) == 3.0);
    opts(&o, 75, 2.5, TIMEOUT_ABORT, 1, 800, 150);
    CHECK_INT(o.steps, 3);
    CHECK(o.delay == 187.0); /* (int) (75 x 2.5) */
    CHECK_INT((int64_t) o.base, 166);
    CHECK_INT(o.timeout_s, 2000); /* 800 s per GiB */
    CHECK_INT(o.progress_timeout_s, 150);
    CHECK_INT(o.timeout_action, TIMEOUT_ABORT);
    CHECK_INT(o.postcopy_allowed, 1);
}

/* Nova's steps: the first at once, step i once (delay x i) s passed;
 * each level set once. */
static void test_downtime_steps(void)
{
    static const struct rec r[] = {
        { 0, 0, 0, 0, 0 },     { 500, 0, 0, 0, 0 },  { 1000, 1, 1, 0, 0 },
        { 2000, 1, 1, 0, 0 },  { 3000, 1, 1, 0, 0 }, { 4000, 1, 1, 0, 0 },
        { 5000, 1, 1, 0, 0 },  { 7000, 1, 1, 0, 0 }, { 9000, 1, 1, 0, 0 },
        { 60000, 1, 1, 0, 0 },
    };
    struct mon_opts o;
    struct monitor mo;
    char out[512];

    opts(&o, 1, 2.0, TIMEOUT_ABORT, 0, 0, 0); /* delay 2 s */
    monitor_init(&mo, &o, T0);
    CHECK_STR(drive(&mo, r, ARRAY_LEN(r), 0, out, sizeof(out)),
              "0:D166 3:D277 5:D388 7:D500");
    CHECK_INT(mo.cur_downtime, 500);
    CHECK(!mo.aborted && !mo.forced && mo.timeout_reason == NULL);

    /* no delay: every step has started after the first second */
    opts(&o, 0, 2.0, TIMEOUT_ABORT, 0, 0, 0);
    monitor_init(&mo, &o, T0);
    CHECK_STR(drive(&mo, r, 4, 0, out, sizeof(out)), "0:D166 1:D500");

    /* a setting that fails is not retried at the same level */
    opts(&o, 1, 2.0, TIMEOUT_ABORT, 0, 0, 0);
    monitor_init(&mo, &o, T0);
    CHECK_STR(drive(&mo, r, 3, FAIL(MON_SET_DOWNTIME), out, sizeof(out)),
              "0:D166");

    /* a sample from before the start (a clock step): nothing */
    monitor_init(&mo, &o, T0 + 5 * S);
    CHECK_STR(drive(&mo, r, 1, 0, out, sizeof(out)), "");
}

/* The completion timeout (5 s/GiB x 2 GiB = 10 s), action abort: once,
 * after 10 whole seconds; the steps go on after it. */
static void test_completion_abort(void)
{
    static const struct rec r[] = {
        { 0, 100, 90, 0, 0 },     { 10000, 100, 80, 0, 0 },
        { 10900, 100, 70, 0, 0 }, { 11000, 100, 60, 0, 0 },
        { 12000, 100, 50, 0, 0 }, { 13000, 100, 40, 0, 0 },
    };
    struct mon_opts o;
    struct monitor mo;
    char out[512];

    opts(&o, 10, 2.0, TIMEOUT_ABORT, 1, 5, 0);
    monitor_init(&mo, &o, T0);
    CHECK_STR(drive(&mo, r, ARRAY_LEN(r), 0, out, sizeof(out)),
              "0:D166 11:AB(completion timeout)");
    CHECK(mo.aborted);
    CHECK_STR(mo.timeout_reason, "completion timeout");
    CHECK_INT(monitor_after(&mo, 1, 1), MON_NONE); /* nothing paused */

    /* an abort that libvirt refuses is not asked again either */
    monitor_init(&mo, &o, T0);
    CHECK_STR(drive(&mo, r, ARRAY_LEN(r), FAIL(MON_ABORT), out, sizeof(out)),
              "0:D166 11:AB(completion timeout)");

    /* no completion timeout configured: never */
    opts(&o, 10, 2.0, TIMEOUT_ABORT, 1, 0, 0);
    monitor_init(&mo, &o, T0);
    CHECK_STR(drive(&mo, r, ARRAY_LEN(r), 0, out, sizeof(out)), "0:D166");
}

/* The completion timeout, action force-complete: post-copy when
 * permitted, and then nothing more is forced or timed out. */
static void test_completion_postcopy(void)
{
    static const struct rec r[] = {
        { 0, 100, 90, 0, 0 },
        { 11000, 100, 80, 0, 0 },
        { 12000, 100, 80, 0, 0 },
        { 30000, 100, 80, 0, 1 },
    };
    struct mon_opts o;
    struct monitor mo;
    char out[512];

    opts(&o, 10, 2.0, TIMEOUT_FORCE_COMPLETE, 1, 5, 1);
    monitor_init(&mo, &o, T0);
    CHECK_STR(drive(&mo, r, ARRAY_LEN(r), 0, out, sizeof(out)),
              "0:D166 11:PC 30:D277");
    CHECK(mo.postcopy && mo.forced && !mo.aborted && !mo.paused_by_us);
    CHECK(mo.timeout_reason == NULL);

    /* a post-copy switch that fails has no pause fallback and is not
     * tried again; the transfer runs on */
    monitor_init(&mo, &o, T0);
    CHECK_STR(drive(&mo, r, ARRAY_LEN(r), FAIL(MON_POSTCOPY), out, sizeof(out)),
              "0:D166 11:PC 30:D277");
    CHECK(!mo.postcopy && mo.forced && !mo.aborted);
}

/* The completion timeout, action force-complete, post-copy not permitted
 * (or a paused guest): the guest is paused; resumed if the transfer then
 * fails with the guest still paused on the source. */
static void test_completion_pause(void)
{
    static const struct rec r[] = {
        { 0, 100, 90, 0, 0 },
        { 11000, 100, 80, 0, 0 },
        { 12000, 100, 80, 0, 0 },
    };
    struct mon_opts o;
    struct monitor mo;
    char out[512];

    opts(&o, 10, 2.0, TIMEOUT_FORCE_COMPLETE, 0, 5, 0);
    monitor_init(&mo, &o, T0);
    CHECK_STR(drive(&mo, r, ARRAY_LEN(r), 0, out, sizeof(out)), "0:D166 11:PA");
    CHECK(mo.paused_by_us && mo.forced && !mo.postcopy);
    CHECK_INT(monitor_after(&mo, 1, 1), MON_RESUME);
    CHECK_INT(monitor_after(&mo, 1, 0), MON_NONE); /* running again */
    CHECK_INT(monitor_after(&mo, 0, 1), MON_NONE); /* not on the source */

    /* a pause that fails: nothing to resume, not tried again */
    monitor_init(&mo, &o, T0);
    CHECK_STR(drive(&mo, r, ARRAY_LEN(r), FAIL(MON_PAUSE), out, sizeof(out)),
              "0:D166 11:PA");
    CHECK(!mo.paused_by_us);
    CHECK_INT(monitor_after(&mo, 1, 1), MON_NONE);
}

/* The progress timeout (3 s without a new low of remaining), with each
 * action; samples before QEMU sized the RAM (0 of 0) are no mark, and a
 * remaining of 0 starts the watermark again. */
static void test_progress(void)
{
    static const struct rec r[] = {
        { 0, 0, 0, 0, 0 },        { 5000, 0, 0, 0, 0 },     /* not sized yet */
        { 6000, 100, 90, 0, 0 },  { 7000, 100, 80, 0, 0 },  /* 80 at 7 s */
        { 8000, 100, 85, 0, 0 },  { 10000, 100, 80, 0, 0 }, /* not lower */
        { 10100, 100, 81, 0, 0 }, /* 3.1 s since 7 s */
        { 11000, 100, 10, 0, 0 },
    };
    static const struct rec zero[] = {
        { 0, 100, 50, 0, 0 },    { 1000, 100, 0, 0, 0 },
        { 3500, 100, 60, 0, 0 }, { 6000, 100, 60, 0, 0 },
        { 6600, 100, 60, 0, 0 },
    };
    struct mon_opts o;
    struct monitor mo;
    char out[512];

    opts(&o, 100, 2.0, TIMEOUT_ABORT, 1, 0, 3);
    monitor_init(&mo, &o, T0);
    CHECK_STR(drive(&mo, r, ARRAY_LEN(r), 0, out, sizeof(out)),
              "0:D166 10:AB(progress timeout)");
    CHECK_STR(mo.timeout_reason, "progress timeout");
    CHECK_INT(mo.best_remaining, 10); /* the mark goes on after it */
    CHECK_INT(mo.best_at_us, T0 + 11 * S);

    opts(&o, 100, 2.0, TIMEOUT_FORCE_COMPLETE, 1, 0, 3);
    monitor_init(&mo, &o, T0);
    CHECK_STR(drive(&mo, r, ARRAY_LEN(r), 0, out, sizeof(out)), "0:D166 10:PC");

    opts(&o, 100, 2.0, TIMEOUT_FORCE_COMPLETE, 0, 0, 3);
    monitor_init(&mo, &o, T0);
    CHECK_STR(drive(&mo, r, ARRAY_LEN(r), 0, out, sizeof(out)), "0:D166 10:PA");

    /* 0 remaining at 1 s; 60 at 3.5 s is taken as the new mark (not a
     * rise from 0), so 3 s without progress end only after 6.5 s */
    opts(&o, 100, 2.0, TIMEOUT_ABORT, 1, 0, 3);
    monitor_init(&mo, &o, T0);
    CHECK_STR(drive(&mo, zero, ARRAY_LEN(zero), 0, out, sizeof(out)),
              "0:D166 6:AB(progress timeout)");
    CHECK_INT(mo.best_at_us, T0 + 3500000);

    /* data_remaining (memory and disks) is the measure when known */
    {
        struct mon_sample s = { T0, 100, 90, 500, 0, 0 };
        struct mon_cmd cmd;

        monitor_init(&mo, &o, T0);
        while (monitor_next(&mo, &s, &cmd) != MON_NONE) {
            monitor_done(&mo, cmd.action, 1);
        }
        CHECK_INT(mo.best_remaining, 500);
    }
}

/* The abort request: at once, once, and nothing else is decided while
 * it stands (no downtime step, no timeout). */
static void test_abort_request(void)
{
    static const struct rec r[] = {
        { 0, 100, 90, 1, 0 },
        { 1000, 100, 90, 1, 0 },
        { 20000, 100, 90, 1, 0 },
    };
    static const struct rec later[] = {
        { 0, 100, 90, 0, 0 },
        { 2000, 100, 90, 0, 1 },
        { 3000, 100, 90, 1, 0 },
    };
    struct mon_opts o;
    struct monitor mo;
    char out[512];

    opts(&o, 1, 2.0, TIMEOUT_ABORT, 1, 5, 3);
    monitor_init(&mo, &o, T0);
    CHECK_STR(drive(&mo, r, ARRAY_LEN(r), 0, out, sizeof(out)),
              "0:AB(abort requested)");
    CHECK(mo.aborted && mo.timeout_reason == NULL);
    CHECK_INT(mo.cur_downtime, -1);

    /* after a force-complete that paused the guest: aborted, and the
     * guest is resumed when the transfer has failed */
    opts(&o, 1, 2.0, TIMEOUT_ABORT, 0, 5, 3);
    monitor_init(&mo, &o, T0);
    CHECK_STR(drive(&mo, later, ARRAY_LEN(later), 0, out, sizeof(out)),
              "0:D166 2:PA 3:AB(abort requested)");
    CHECK_INT(monitor_after(&mo, 1, 1), MON_RESUME);
}

/* The force-complete request: post-copy or pause, once; a completion
 * timeout with action abort still aborts a paused transfer. */
static void test_force_request(void)
{
    static const struct rec r[] = {
        { 0, 100, 90, 0, 0 },
        { 2000, 100, 90, 0, 1 },
        { 2500, 100, 90, 0, 1 },
        { 11000, 100, 90, 0, 1 },
    };
    struct mon_opts o;
    struct monitor mo;
    char out[512];

    opts(&o, 100, 2.0, TIMEOUT_ABORT, 1, 5, 0);
    monitor_init(&mo, &o, T0);
    CHECK_STR(drive(&mo, r, ARRAY_LEN(r), 0, out, sizeof(out)), "0:D166 2:PC");
    CHECK(mo.postcopy && !mo.aborted); /* post-copy: no timeout */

    opts(&o, 100, 2.0, TIMEOUT_ABORT, 0, 5, 0);
    monitor_init(&mo, &o, T0);
    CHECK_STR(drive(&mo, r, ARRAY_LEN(r), 0, out, sizeof(out)),
              "0:D166 2:PA 11:AB(completion timeout)");
    CHECK(mo.paused_by_us && mo.aborted);

    /* force and timeout in the same sample: one force-complete */
    opts(&o, 100, 2.0, TIMEOUT_FORCE_COMPLETE, 0, 5, 0);
    monitor_init(&mo, &o, T0);
    CHECK_STR(drive(&mo, r + 3, 1, 0, out, sizeof(out)), "11:PA 11:D166");
}

/* Takeover after a runner died: the monitor rebuilt from the record.
 * Times count from the record's creation; a guest the dead runner
 * paused is not paused again and is resumed if the transfer fails; a
 * transfer already in post-copy is neither forced nor timed out. */
static void test_takeover(void)
{
    static const struct rec r[] = {
        { 20000, 100, 90, 0, 0 },
        { 21000, 100, 90, 0, 1 },
        { 22000, 100, 90, 0, 0 },
    };
    struct mon_opts o;
    struct monitor mo;
    char out[512];

    /* created 20 s before the first sample: past the 10 s timeout */
    opts(&o, 1, 2.0, TIMEOUT_ABORT, 1, 5, 0);
    monitor_takeover(&mo, &o, T0, 0, 0);
    CHECK_STR(drive(&mo, r, 1, 0, out, sizeof(out)),
              "20:AB(completion timeout) 20:D500");

    /* the dead runner had paused the guest */
    opts(&o, 1, 2.0, TIMEOUT_FORCE_COMPLETE, 0, 5, 0);
    monitor_takeover(&mo, &o, T0, 1, 0);
    CHECK(mo.paused_by_us && mo.forced);
    CHECK_STR(drive(&mo, r, ARRAY_LEN(r), 0, out, sizeof(out)), "20:D500");
    CHECK_INT(monitor_after(&mo, 1, 1), MON_RESUME);

    /* the dead runner had switched to post-copy */
    opts(&o, 1, 2.0, TIMEOUT_ABORT, 1, 5, 0);
    monitor_takeover(&mo, &o, T0, 0, 1);
    CHECK_STR(drive(&mo, r, ARRAY_LEN(r), 0, out, sizeof(out)), "20:D500");
    CHECK(!mo.aborted && !mo.forced);

    /* an abort request still stops it (libvirt decides what it can do) */
    {
        static const struct rec ab[] = { { 20000, 100, 90, 1, 0 } };

        monitor_takeover(&mo, &o, T0, 0, 1);
        CHECK_STR(drive(&mo, ab, 1, 0, out, sizeof(out)),
                  "20:AB(abort requested)");
    }
}

/* ---- the prediction --------------------------------------------------- */

#define M(mib) ((int64_t) ((mib) *1048576.0))

/* A recorded sample with what the prediction reads (0 unknown): when
 * (ms after T0), memory total and remaining, bytes sent, QEMU's dirty
 * rate over the last pass (bytes/s), the pass over memory. */
struct prec {
    int64_t ms, total, remaining, processed, dirty_bps, iteration;
};

/* drive() over recorded samples with their statistics. */
static const char *drive_pred(struct monitor *mo, const struct prec *p,
                              size_t n, unsigned fail, char *out, size_t size)
{
    struct rec r[32];
    struct mon_stats st[32];
    size_t i;

    CHECK(n <= ARRAY_LEN(r));
    for (i = 0; i < n && i < ARRAY_LEN(r); i++) {
        memset(&r[i], 0, sizeof(r[i]));
        r[i].ms = p[i].ms;
        r[i].total = p[i].total;
        r[i].remaining = p[i].remaining;
        st[i].mem_processed = p[i].processed;
        st[i].dirty_bps = p[i].dirty_bps;
        st[i].iteration = p[i].iteration;
    }
    return drive_stats(mo, r, st, i, fail, out, size);
}

/* The lab's 256 MiB guest rewriting 64 MiB of its RAM, 8 MiB/s cap
 * (tools/bench-converge), as libvirt reported it: the first pass sends
 * all of it in 16 s, then 63 MiB are dirty again (4.5 MiB/s over that
 * pass), and the second pass ends with 66 MiB left (7.9 MiB/s). */
static const struct prec dirtying[] = {
    { 0, 0, 0, 0, 0, 0 }, /* not sized yet */
    { 600, M(256), M(239.1), M(1.6), 0, 1 },
    { 2653, M(256), M(228.7), M(12.0), 0, 1 },
    { 4468, M(256), M(212.7), M(27.3), 0, 1 },
    { 6326, M(256), M(184.7), M(40.9), 0, 1 },
    { 8514, M(256), M(156.1), M(59.4), 0, 1 },
    { 10553, M(256), M(140.9), M(74.6), 0, 1 },
    { 12432, M(256), M(125.6), M(89.9), 0, 1 },
    { 14813, M(256), M(106.4), M(109.1), 0, 1 },
    { 15454, M(256), M(6.4), M(113.9), 0, 1 },
    { 16079, M(256), M(1.3), M(118.7), 0, 1 },
    { 16687, M(256), M(62.8), M(123.6), M(4.48), 2 },
    { 20300, M(256), M(33.9), M(152.4), M(4.48), 2 },
    { 24506, M(256), M(65.8), M(186.1), M(7.89), 3 },
    { 26871, M(256), M(47.3), M(204.6), M(7.89), 3 },
};

/* Options with live_migration_convergence = predict: downtime 500 ms in
 * 3 steps of delay s per GiB (2 GiB), completion timeout s per GiB. */
static void popts(struct mon_opts *o, int predict, int delay, int action,
                  int postcopy, int autoconverge, int completion)
{
    struct conf c;

    memset(&c, 0, sizeof(c));
    c.live_migration_downtime = 500;
    c.live_migration_downtime_steps = 3;
    c.live_migration_downtime_delay = delay;
    c.live_migration_completion_timeout = completion;
    c.live_migration_timeout_action = action;
    c.live_migration_permit_post_copy = postcopy;
    c.live_migration_permit_auto_converge = autoconverge;
    c.live_migration_bandwidth = 8; /* MiB/s, the lab's cap */
    c.live_migration_convergence =
        predict ? CONVERGE_PREDICT : CONVERGE_TIMEOUT;
    monitor_opts(&c, 2.0, postcopy, o);
}

/* A guest that cannot converge: the strategy changes when the first pass
 * ends (16 s), not after a timeout: post-copy when permitted, else the
 * max downtime at once under auto-converge (and the steps no longer
 * lower it), else the timeout action. */
static void test_predict_switches(void)
{
    struct mon_opts o;
    struct monitor mo;
    char out[512];
    size_t n = ARRAY_LEN(dirtying);

    popts(&o, 1, 100, TIMEOUT_ABORT, 1, 0, 800);
    CHECK(o.predict && !o.autoconverge);
    CHECK_INT(o.max_downtime_ms, 500);
    monitor_init(&mo, &o, T0);
    CHECK_STR(drive_pred(&mo, dirtying, n, 0, out, sizeof(out)),
              "0:D166 16:PC");
    CHECK(mo.postcopy && mo.forced && mo.predicted);
    CHECK_STR(mo.strategy, "post-copy (predicted)");
    CHECK(strstr(mo.why,
                 "pass 2: 62.8 MiB left, dirtied 4.5 MiB/s, sent "
                 "7.6 MiB/s: more than 3 further passes")
          != NULL);

    /* Nova's behaviour (timeout): nothing before the timeouts */
    popts(&o, 0, 100, TIMEOUT_ABORT, 1, 0, 800);
    monitor_init(&mo, &o, T0);
    CHECK_STR(drive_pred(&mo, dirtying, n, 0, out, sizeof(out)), "0:D166");
    CHECK(!mo.predicted && mo.strategy[0] == '\0');

    /* auto-converge: the last step's downtime at once, kept (24 s would
     * have been the 388 ms step) */
    popts(&o, 1, 5, TIMEOUT_ABORT, 0, 1, 800);
    CHECK(o.autoconverge);
    monitor_init(&mo, &o, T0);
    CHECK_STR(drive_pred(&mo, dirtying, n, 0, out, sizeof(out)),
              "0:D166 12:D277 16:D500");
    CHECK_STR(mo.strategy, "auto-converge (predicted)");
    CHECK(!mo.forced && !mo.aborted);

    /* neither: the timeout action, pause or abort */
    popts(&o, 1, 100, TIMEOUT_FORCE_COMPLETE, 0, 0, 800);
    monitor_init(&mo, &o, T0);
    CHECK_STR(drive_pred(&mo, dirtying, n, 0, out, sizeof(out)),
              "0:D166 16:PA");
    CHECK_STR(mo.strategy, "pause (predicted)");
    popts(&o, 1, 100, TIMEOUT_ABORT, 0, 0, 800);
    monitor_init(&mo, &o, T0);
    CHECK_STR(drive_pred(&mo, dirtying, n, 0, out, sizeof(out)),
              "0:D166 16:AB(pre-copy cannot converge)");
    CHECK_STR(mo.timeout_reason, "pre-copy cannot converge");
    CHECK_STR(mo.strategy, "abort (predicted)");

    /* a post-copy switch that fails is not asked again */
    popts(&o, 1, 100, TIMEOUT_ABORT, 1, 0, 800);
    monitor_init(&mo, &o, T0);
    CHECK_STR(
        drive_pred(&mo, dirtying, n, FAIL(MON_POSTCOPY), out, sizeof(out)),
        "0:D166 16:PC");
}

/* Guests that converge on their own: no switch.  Noisy early samples: not
 * sized, pass 0 reported, remaining going up, a dirty rate during the
 * first pass (QEMU's is only meaningful once a pass ended). */
static void test_predict_converging(void)
{
    static const struct prec idle[] = {
        { 0, 0, 0, 0, 0, 0 },
        { 250, 0, 0, 0, 0, 0 },
        { 500, M(256), M(256), 0, 0, 0 },
        { 800, M(256), M(250), M(0.5), 0, 1 },
        { 1500, M(256), M(252), M(4), M(50), 1 },
        { 3000, M(256), M(230), M(16), 0, 1 },
        { 14000, M(256), M(110), M(100), 0, 1 },
        { 15400, M(256), M(3.0), M(112), 0, 1 },
        { 15900, M(256), M(2.5), M(116), M(0.2), 2 },
        { 16100, M(256), M(0.3), M(118.3), M(0.2), 3 },
    };
    /* dirtying 20 MiB while the first pass ran: the next pass leaves
     * 3 MiB, which fits */
    static const struct prec some[] = {
        { 600, M(256), M(239.1), M(1.6), 0, 1 },
        { 8514, M(256), M(156.1), M(59.4), 0, 1 },
        { 16079, M(256), M(1.3), M(118.7), 0, 1 },
        { 16687, M(256), M(20.0), M(123.6), M(1.3), 2 },
        { 18000, M(256), M(10.0), M(133.6), M(1.3), 2 },
        { 19200, M(256), M(3.0), M(143.6), M(2.4), 3 },
        { 19700, M(256), M(0.8), M(147.6), M(1.6), 4 },
    };
    struct mon_opts o;
    struct monitor mo;
    char out[512];

    popts(&o, 1, 100, TIMEOUT_ABORT, 1, 0, 800);
    monitor_init(&mo, &o, T0);
    CHECK_STR(drive_pred(&mo, idle, ARRAY_LEN(idle), 0, out, sizeof(out)),
              "0:D166");
    CHECK(!mo.predicted && !mo.forced && mo.strategy[0] == '\0');
    CHECK_INT(mo.pass, 3);

    monitor_init(&mo, &o, T0);
    CHECK_STR(drive_pred(&mo, some, ARRAY_LEN(some), 0, out, sizeof(out)),
              "0:D166");
    CHECK(!mo.predicted && !mo.forced);

    /* without libvirt's iteration (0): no prediction at all */
    {
        struct prec r[ARRAY_LEN(dirtying)];
        size_t i;

        for (i = 0; i < ARRAY_LEN(r); i++) {
            r[i] = dirtying[i];
            r[i].iteration = 0;
        }
        monitor_init(&mo, &o, T0);
        CHECK_STR(drive_pred(&mo, r, ARRAY_LEN(r), 0, out, sizeof(out)),
                  "0:D166");
    }
}

/* The other rules: a pass dirtied as fast as it sent; two passes that
 * left as much to send (a set rewritten faster than a pass); a best case
 * that ends after the completion timeout. */
static void test_predict_rules(void)
{
    static const struct prec fast[] = {
        { 600, M(256), M(239.1), M(1.6), 0, 1 },
        { 16687, M(256), M(62.8), M(123.6), M(8.0), 2 },
    };
    static const struct prec stuck[] = {
        { 600, M(256), M(239.1), M(1.6), 0, 1 },
        { 16000, M(256), M(10.0), M(117.1), M(0.6), 2 },
        { 17250, M(256), M(10.0), M(127.1), M(2.0), 3 },
        { 18500, M(256), M(9.5), M(137.1), M(2.0), 4 },
    };
    static const struct prec late[] = {
        { 600, M(256), M(239.1), M(1.6), 0, 1 },
        { 16687, M(256), M(40.0), M(123.6), M(2.2), 2 },
    };
    struct mon_opts o;
    struct monitor mo;
    char out[512];

    popts(&o, 1, 100, TIMEOUT_ABORT, 1, 0, 800);
    monitor_init(&mo, &o, T0);
    CHECK_STR(drive_pred(&mo, fast, ARRAY_LEN(fast), 0, out, sizeof(out)),
              "0:D166 16:PC");
    CHECK(strstr(mo.why, "as fast as it is sent") != NULL);

    monitor_init(&mo, &o, T0);
    CHECK_STR(drive_pred(&mo, stuck, 3, 0, out, sizeof(out)), "0:D166");
    CHECK_INT(mo.stuck, 1);
    CHECK_STR(drive_pred(&mo, stuck + 3, 1, 0, out, sizeof(out)), "18:PC");
    CHECK(strstr(mo.why, "two passes left as much") != NULL);

    /* 40 MiB at q 0.29: two more passes, 6.8 s, so at 23.5 s: past a
     * 20 s completion timeout, not past 1600 s */
    popts(&o, 1, 100, TIMEOUT_ABORT, 1, 0, 10);
    monitor_init(&mo, &o, T0);
    CHECK_STR(drive_pred(&mo, late, ARRAY_LEN(late), 0, out, sizeof(out)),
              "0:D166 16:PC");
    CHECK(strstr(mo.why, "after the completion timeout") != NULL);
    popts(&o, 1, 100, TIMEOUT_ABORT, 1, 0, 800);
    monitor_init(&mo, &o, T0);
    CHECK_STR(drive_pred(&mo, late, ARRAY_LEN(late), 0, out, sizeof(out)),
              "0:D166");
}

/* The dirty rate libvirt measured: a guest dirtying more
 * than twice what the link sends is switched as soon as its memory moves
 * (with the cap, the cap is the rate; without, the first pass's average
 * over a second); a slower one is left to the passes. */
static void test_predict_measured(void)
{
    static const struct prec uncapped[] = {
        { 0, 0, 0, 0, 0, 0 },
        { 250, M(256), M(250), M(2), 0, 1 },
        { 750, M(256), M(245), M(12), 0, 1 },  /* < 1 s: not weighed */
        { 1250, M(256), M(240), M(22), 0, 1 }, /* 20 MiB/s */
        { 1500, M(256), M(235), M(27), 0, 1 },
    };
    struct mon_opts o;
    struct monitor mo;
    char out[512];

    popts(&o, 1, 100, TIMEOUT_ABORT, 1, 0, 800);
    CHECK_INT(o.bandwidth_bps, M(8));
    monitor_init(&mo, &o, T0);
    monitor_dirty_rate(&mo, M(50));
    CHECK_STR(drive_pred(&mo, dirtying, 3, 0, out, sizeof(out)), "0:D166 0:PC");
    CHECK_STR(mo.strategy, "post-copy (predicted)");
    CHECK_STR(mo.why,
              "the guest dirties 50.0 MiB/s, the transfer sends 8.0 MiB/s");

    /* 15 MiB/s: under twice the cap; the passes still judge (16 s) */
    monitor_init(&mo, &o, T0);
    monitor_dirty_rate(&mo, M(15));
    CHECK_STR(
        drive_pred(&mo, dirtying, ARRAY_LEN(dirtying), 0, out, sizeof(out)),
        "0:D166 16:PC");
    CHECK(mo.pre_judged && strstr(mo.why, "pass 2") != NULL);

    /* the converging guest: nothing */
    monitor_init(&mo, &o, T0);
    monitor_dirty_rate(&mo, M(0.5));
    CHECK_STR(drive_pred(&mo, dirtying, 10, 0, out, sizeof(out)), "0:D166");

    /* no cap: weighed against 20 MiB/s once the pass ran a second */
    o.bandwidth_bps = 0;
    monitor_init(&mo, &o, T0);
    monitor_dirty_rate(&mo, M(50));
    CHECK_STR(
        drive_pred(&mo, uncapped, ARRAY_LEN(uncapped), 0, out, sizeof(out)),
        "0:D166 1:PC");
    monitor_init(&mo, &o, T0);
    monitor_dirty_rate(&mo, M(30));
    CHECK_STR(
        drive_pred(&mo, uncapped, ARRAY_LEN(uncapped), 0, out, sizeof(out)),
        "0:D166");
    CHECK(mo.pre_judged);
}

/* The timeouts name the strategy they take too. */
static void test_strategy_of_timeouts(void)
{
    static const struct rec r[] = {
        { 0, 100, 90, 0, 0 },
        { 11000, 100, 80, 0, 0 },
    };
    struct mon_opts o;
    struct monitor mo;
    char out[512];

    opts(&o, 10, 2.0, TIMEOUT_FORCE_COMPLETE, 1, 5, 0);
    monitor_init(&mo, &o, T0);
    CHECK_STR(drive(&mo, r, ARRAY_LEN(r), 0, out, sizeof(out)), "0:D166 11:PC");
    CHECK_STR(mo.strategy, "post-copy (completion timeout)");
    opts(&o, 10, 2.0, TIMEOUT_ABORT, 1, 5, 0);
    monitor_init(&mo, &o, T0);
    CHECK_STR(drive(&mo, r, ARRAY_LEN(r), 0, out, sizeof(out)),
              "0:D166 11:AB(completion timeout)");
    CHECK_STR(mo.strategy, "abort (completion timeout)");
    CHECK(mo.why[0] == '\0');
}

int main(void)
{
    test_options();
    test_downtime_steps();
    test_completion_abort();
    test_completion_postcopy();
    test_completion_pause();
    test_progress();
    test_abort_request();
    test_force_request();
    test_takeover();
    test_predict_switches();
    test_predict_converging();
    test_predict_rules();
    test_predict_measured();
    test_strategy_of_timeouts();
    return unit_done("test_monitor");
}
