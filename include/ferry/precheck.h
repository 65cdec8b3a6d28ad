/*
 * precheck.h: every reason a live migration is refused once both hosts
 * are known (spec §8.1 power state, §8.2 hosts, §8.3 hypervisor and
 * memory, §8.4 storage), and the scheduler that picks a destination when
 * none is forced (for cold migration too).  Failures carry Nova's exact
 * message: FE_BADREQ for the 400s class, FE_CONFLICT for the power-state
 * 409, FE_INTERNAL otherwise.  Below µv 2.34 the precheck service runs
 * this for the waiting request (precheckd.h); from 2.34, the runner.
 */
#ifndef FERRY_PRECHECK_H
#define FERRY_PRECHECK_H

#include "ferry/app.h"
#include "ferry/inventory.h"
#include "ferry/server.h"
#include "ferry/store.h"
#include "ferry/virt.h"

struct precheck_req {
    const char *uuid;
    const char *source;   /* the server's host */
    int64_t ram_mb;       /* the instance's memory */
    const char *host;     /* requested host, or NULL */
    int forced;           /* bypass the scheduler */
    int block;            /* 1, 0, or -1 for "auto" */
    int disk_over_commit; /* the request's (µv < 2.25) */
    int mv_minor;         /* the request's microversion 2.<n> */
    int cold;             /* a cold migration: a named host is
                                     * taken even when disabled */
    /* hosts a drain disabled (drain.h): neither scheduled nor forced */
    const char *const *drained;
    size_t ndrained;
};

struct precheck_out {
    const char *dest; /* chosen host */
    const char *source_node, *dest_node;
    int block;           /* resolved */
    struct vdisk *disks; /* disks to copy (block migration) */
    size_t ndisks;
};

/* 0 when path does not exist on dc; -FE_BADREQ with Nova's
 * DestinationDiskExists message when it does (a local disk would land
 * on a file that is not ours). */
int precheck_disk_absent(struct vconn *dc, const char *path, struct ferr *err);

/* §8.4 CPU: the decision on what virt_cpu_compare found (pure, so each
 * branch is unit-tested).  0 to go on; -FE_BADREQ with Nova's message. */
int precheck_cpu_verdict(const struct vcpu_cmp *c, struct ferr *err);

int precheck_run(struct inventory *inv, struct arena *a,
                 const struct precheck_req *rq, struct precheck_out *out,
                 struct ferr *err);

/* §8 prechecks and scheduling for live-migration record m of server s,
 * with their instance-action event: on success m has its destination,
 * nodes and resolved block mode, status "queued". */
int precheck_migration(struct app *app, struct arena *a, struct migration *m,
                       const struct server *s, struct ferr *err);

/* The scheduler's destination for a cold migration of rq (uuid, source,
 * ram_mb, host): the candidate with the most available memory that can
 * hold the guest; NULL with NoValidHost in err when none can. */
const struct conf_host *precheck_cold_dest(struct inventory *inv,
                                           struct arena *a,
                                           const struct precheck_req *rq,
                                           struct ferr *err);

/* Fills rq->drained from the store (empty when it cannot say). */
void precheck_drained_from(struct store *st, struct arena *a,
                           struct precheck_req *rq);

/* A plan (a drain's): every reason a migration of rq (rq->cold: a cold
 * one, which checks only the host and its memory) to host dest would be
 * refused, not only the first, each given to add(ctx, reason); planned_mb
 * is the memory the plan has already put on dest.  The source must
 * answer (else one reason).  Returns the number of reasons: 0, and
 * *avail_mb (dest's memory left for the plan), when it can go. */
typedef void (*precheck_reason_fn)(void *ctx, const char *reason);
int precheck_reasons(struct inventory *inv, struct arena *a,
                     const struct precheck_req *rq, const char *dest,
                     int64_t planned_mb, precheck_reason_fn add, void *ctx,
                     double *avail_mb);

#endif
