/*
 * runner_int.h: what the files of a migration runner share, and nothing
 * else of ferryd may use (runner.h is the runner's interface):
 *
 *   runner.c     the loop: register, heartbeat, claim, wake; the record
 *                under this runner's claim (save, finish, requests)
 *   live.c       a live migration: prechecks, preparing, the transfer
 *                with the monitor's actions carried out
 *   monitor.c    the monitor's decisions (pure; monitor.h)
 *   settle.c     where the guest is once a transfer ends; the record
 *                closed accordingly and the disk copies left removed
 *   cold.c       a cold migration: move, confirm, revert
 *   reconcile.c  a record whose runner is gone, taken over
 */
#ifndef FERRY_RUNNER_INT_H
#define FERRY_RUNNER_INT_H

#include <signal.h>
#include "ferry/app.h"
#include "ferry/monitor.h"
#include "ferry/store.h"
#include "ferry/virt.h"

#define POLL_US 250000 /* job samples while a transfer runs */

struct runner {
    struct app *app;
    const struct conf *conf;
    int64_t id; /* runners row */
    volatile sig_atomic_t *stop;
    int lost; /* the record in hand was taken over */
};

/* runner.c */

/* Saves m under its claim: 0, or -1 when the claim is lost (rn->lost set:
 * from then on this runner touches neither the record nor the guest). */
int runner_save(struct runner *rn, struct migration *m);
/* Ends the record with status and reason (reason may be NULL): 0 when the
 * end is recorded, -1 when not (claim lost, or left in progress). */
int runner_finish(struct runner *rn, struct migration *m,
                  enum mig_status status, const char *reason);
/* The API's requests for m, re-read from the store; -1 (and rn->lost)
 * when another runner has claimed it since, or it has ended. */
int runner_requests(struct runner *rn, struct arena *a, struct migration *m);
/* A job sample's counts into the record. */
void runner_stats_into(struct migration *m, const struct vjob *j);

/* live.c */

/* accepted: prechecks, then queued and released for a claim in order. */
void live_run_accepted(struct runner *rn, struct arena *a, struct migration *m);
/* queued (claimed): preparing, running with the monitor, then settled. */
void live_run_queued(struct runner *rn, struct arena *a, struct migration *m);
/* One job sample of an unbounded job on sc: the record's counts saved
 * (n: the sample's number), the requests re-read, and every action the
 * monitor decides carried out. */
void live_monitor_poll(struct runner *rn, struct arena *a, struct monitor *mo,
                       struct migration *m, struct vconn *sc,
                       const struct vjob *job, int n);

/* settle.c */

/* Where is the guest, after a transfer (call_ok: libvirt's call
 * succeeded) or after a runner died?  Closes the record accordingly;
 * mo says whether a guest it paused is resumed; final is the source's
 * completed job, or NULL. */
void settle(struct runner *rn, struct arena *a, struct migration *m,
            int call_ok, int aborted, const struct monitor *mo,
            const char *reason, const struct vjob *final);
/* Removes the copies of a domain's local disks on c (host): those not in
 * a directory shared with other. */
void settle_drop_local_disks(struct vconn *c, struct vconn *other,
                             struct vdisk *disks, size_t n, struct arena *a,
                             const struct migration *m, const char *host);

/* cold.c */

/* A claimed cold migration: pre-migrating moves, confirming and
 * reverting settle. */
void cold_run(struct runner *rn, struct arena *a, struct migration *m);
/* The fault a failed cold migration leaves (vm_error: the guest was
 * touched, the instance errors out). */
void cold_fault(struct runner *rn, struct arena *a, const struct migration *m,
                const struct ferr *e, int vm_error);

/* reconcile.c */

/* A record whose runner is gone (spec: crash safety). */
void reconcile(struct runner *rn, struct arena *a, struct migration *m);
/* A runner of this ferryd that runs (its heartbeat is late only because
 * the store kept it from writing): not taken over. */
int reconcile_sibling_alive(int64_t pid);

#endif
