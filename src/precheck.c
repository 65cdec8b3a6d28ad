/*
 * precheck.c: the checks of spec §8 that need the real hosts, and the
 * scheduler, one for live and cold migration.  The forced path reports
 * every failure as it is; the scheduler path tries candidates (enabled,
 * reachable, not the source), most available memory first, moving on
 * after a hypervisor, memory, CPU, disk-space or host-down failure and
 * stopping at once on a storage failure (as Nova).  When candidates run
 * out the answer is NoValidHost.  precheck_migration runs them for a
 * migration record, in a runner or (below µv 2.34, for the request that
 * waits) in the precheck service of the inventory process (precheckd.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ferry/app.h"
#include "ferry/drain.h"
#include "ferry/iaction.h"
#include "ferry/precheck.h"
#include "ferry/sharecache.h"

#define NO_VALID_HOST                                      \
    "No valid host was found. There are not enough hosts " \
    "available."
/* a host a drain disabled, named by a forced migration or a plan */
#define DRAINED_MSG                                            \
    "Compute host %s is disabled by a drain: it takes no new " \
    "servers until it is enabled again."
#define RESERVED_HOST_MEMORY_MB 512
#define RAM_ALLOCATION_RATIO 1.5
#define RESERVED_HOST_DISK_MB 0
#define GIB (1024LL * 1024 * 1024)
#define MIB (1024LL * 1024)

/* avail = total x ratio - (total - free), free = total - reserved - used */
static double avail_mb(const struct vhost_info *h)
{
    int64_t free_mb = h->total_mb - RESERVED_HOST_MEMORY_MB - h->guests_mb;

    return (double) h->total_mb * RAM_ALLOCATION_RATIO
        - (double) (h->total_mb - free_mb);
}

/* Nova's RAM filter, for live and cold migration: room for ram_mb on h
 * (an unknown size, 0, has none). */
static int mem_fits(const struct vhost_info *h, int64_t ram_mb)
{
    return ram_mb != 0 && avail_mb(h) > (double) ram_mb;
}

/* §8.3: hypervisor type and version; memory on the forced path. */
static int check_hypervisor(const struct precheck_req *rq,
                            const struct vhost_info *src,
                            const struct vhost_info *dst, const char *dest,
                            int forced, struct ferr *err)
{
    if (strcmp(src->type, dst->type) != 0) {
        return ferr_set(err, FE_BADREQ,
                        "The supplied hypervisor type of "
                        "is invalid.");
    }
    if (src->version > dst->version) {
        return ferr_set(err, FE_BADREQ,
                        "The instance requires a newer "
                        "hypervisor version than has been provided.");
    }
    if (!mem_fits(dst, rq->ram_mb)) {
        if (forced) {
            return ferr_set(err, FE_BADREQ,
                            "Migration pre-check error: "
                            "Unable to migrate %s to %s: Lack of memory("
                            "host:%.1f <= instance:%lld)",
                            rq->uuid, dest, avail_mb(dst),
                            (long long) rq->ram_mb);
        }
        return ferr_set(err, FE_BADREQ, NO_VALID_HOST);
    }
    return 0;
}

/* A local disk is copied to the same path on the destination: a file
 * already there is not ours (ours are removed when a migration ends) and
 * is never overwritten nor deleted.  Nova refuses the same case in
 * pre_live_migration (virt/libvirt/driver.py) with DestinationDiskExists
 * (nova/exception.py); ferry refuses before anything is touched. */
int precheck_disk_absent(struct vconn *dc, const char *path, struct ferr *err)
{
    int rc = virt_disk_exists(dc, path, err);

    if (rc < 0) {
        return rc;
    }
    if (rc == 1) {
        return ferr_set(err, FE_BADREQ,
                        "The supplied disk path (%s) "
                        "already exists, it is expected not to exist.",
                        path);
    }
    return 0;
}

/* 1 when every disk's directory is shared by the two hosts, 0 when one
 * is not, or < 0: the storage probe's answers, kept a while (sharecache.h)
 * for the pair rq->source, dest. */
static int dirs_shared(struct arena *a, struct vconn *sc, struct vconn *dc,
                       const char *dest, int ttl_s,
                       const struct precheck_req *rq, const struct vdisk *disks,
                       size_t n, struct ferr *err)
{
    int shared = 1;
    size_t i;

    for (i = 0; i < n && shared == 1; i++) {
        char *dir = arena_strdup(a, disks[i].path), *slash;

        slash = strrchr(dir, '/');
        if (slash != NULL && slash != dir) {
            *slash = '\0';
        }
        shared =
            sharecache_dir_shared(sc, dc, rq->source, dest, dir, ttl_s, err);
    }
    return shared;
}

/* §8.4: shared or local storage, and the block_migration rules.  On
 * failure the message names the source host, as Nova's does.  A kept
 * probe answer never refuses: a refusal is probed again first, and any
 * failure here forgets the pair's answers. */
static int check_storage(struct arena *a, struct vconn *sc, struct vconn *dc,
                         const char *dest, int ttl_s,
                         const struct precheck_req *rq,
                         struct precheck_out *out, struct ferr *err)
{
    struct vdisk *disks;
    size_t n, i;
    int shared;

    if (virt_domain_disks(sc, rq->uuid, a, &disks, &n, err) < 0) {
        return ferr_fail(err);
    }
    shared = dirs_shared(a, sc, dc, dest, ttl_s, rq, disks, n, err);
    if (shared >= 0 && ttl_s > 0 && rq->block == shared) {
        sharecache_forget(rq->source, dest);
        shared = dirs_shared(a, sc, dc, dest, ttl_s, rq, disks, n, err);
    }
    if (shared < 0) {
        return shared;
    }
    out->block = rq->block < 0 ? !shared : rq->block;
    if (out->block && shared) {
        sharecache_forget(rq->source, dest);
        return ferr_set(err, FE_BADREQ,
                        "%s is not on local storage: Block "
                        "migration can not be used with shared storage.",
                        rq->source);
    }
    if (!out->block && !shared) {
        sharecache_forget(rq->source, dest);
        return ferr_set(err, FE_BADREQ,
                        "%s is not on shared storage: "
                        "Shared storage live-migration requires either "
                        "shared storage or boot-from-volume with no local "
                        "disks.",
                        rq->source);
    }
    for (i = 0; out->block && i < n; i++) {
        if (precheck_disk_absent(dc, disks[i].path, err) < 0) {
            sharecache_forget(rq->source, dest);
            return ferr_fail(err);
        }
    }
    out->disks = out->block ? disks : NULL;
    out->ndisks = out->block ? n : 0;
    return 0;
}

/* §8.4 CPU, Nova's _compare_cpu (virt/libvirt/driver.py): a result of
 * ERROR or INCOMPATIBLE refuses, and so does any libvirt error but "not
 * supported", which skips the check.  Its InvalidCPUInfo is re-raised by
 * check_can_live_migrate_destination as MigrationPreCheckError. */
int precheck_cpu_verdict(const struct vcpu_cmp *c, struct ferr *err)
{
    char ret[32];

    if (c->lv_code == VIRT_ERR_NO_SUPPORT) {
        return 0;
    }
    if (c->lv_code == 0 && c->result > 0) {
        return 0;
    }
    snprintf(ret, sizeof(ret), "%d", c->result);
    return ferr_set(err, FE_BADREQ,
                    "Migration pre-check error: "
                    "Unacceptable CPU info: CPU doesn't have compatibility."
                    "\n\n%s\n\nRefer to http://libvirt.org/html/"
                    "libvirt-libvirt-host.html#virCPUCompareResult",
                    c->lv_code != 0 ? c->lv_msg : ret);
}

static int check_cpu(struct arena *a, struct vconn *sc, struct vconn *dc,
                     const struct precheck_req *rq, struct ferr *err)
{
    struct vcpu_cmp c;
    const char *xml;

    if (virt_guest_cpu(sc, rq->uuid, a, &xml, err) < 0) {
        return ferr_fail(err);
    }
    if (xml == NULL) {
        return 0; /* not kvm: emulated CPUs are not compared */
    }
    virt_cpu_compare(dc, xml, a, &c);
    return precheck_cpu_verdict(&c, err);
}

/* §8.4 disk space, below µv 2.25 for block migrations: Nova's
 * check_can_live_migrate_destination takes disk_available_least (or
 * free_disk_gb with disk_over_commit), whole GiB, and
 * _assert_dest_node_has_enough_disk compares it in bytes with the virtual
 * sizes of the disks (their allocation with disk_over_commit). */
static int check_disk_space(struct arena *a, struct vconn *dc,
                            const struct precheck_req *rq,
                            const struct precheck_out *out, struct ferr *err)
{
    int64_t free_b, over, avail_gb, avail, need = 0;
    char *dir, *slash;
    size_t i;

    if (rq->mv_minor >= 25 || !out->block || out->ndisks == 0) {
        return 0;
    }
    dir = arena_strdup(a, out->disks[0].path);
    slash = strrchr(dir, '/');
    if (slash != NULL && slash != dir) {
        *slash = '\0';
    }
    if (virt_disk_space(dc, dir, a, &free_b, &over, err) < 0) {
        return ferr_fail(err);
    }
    /* Nova stores whole GiB (an int: truncated toward zero) */
    avail_gb = rq->disk_over_commit ? free_b / GIB : (free_b - over) / GIB;
    avail = (avail_gb * 1024 - RESERVED_HOST_DISK_MB) * MIB;
    for (i = 0; i < out->ndisks; i++) {
        need += rq->disk_over_commit ? out->disks[i].allocation
                                     : out->disks[i].capacity;
    }
    if (avail - need < 0) {
        return ferr_set(err, FE_BADREQ,
                        "Migration pre-check error: Unable "
                        "to migrate %s: Disk of instance is too large("
                        "available on destination host:%lld < need:%lld)",
                        rq->uuid, (long long) avail, (long long) need);
    }
    return 0;
}

/* 1 when a drain disabled host name (rq->drained). */
static int host_drained(const struct precheck_req *rq, const char *name)
{
    for (size_t i = 0; i < rq->ndrained; i++) {
        if (strcmp(rq->drained[i], name) == 0) {
            return 1;
        }
    }
    return 0;
}

struct cand {
    const struct conf_host *h;
    struct vconn *c;
    struct vhost_info info;
};

/* Equals keep the configuration's order (cands point into conf->hosts):
 * qsort need not be stable, and the host picked among equals must not
 * depend on the C library (cold migration's first-found rule). */
static int by_free_memory(const void *x, const void *y)
{
    const struct cand *cx = x, *cy = y;
    double ax = avail_mb(&cx->info), ay = avail_mb(&cy->info);

    if (ax != ay) {
        return ax < ay ? 1 : -1;
    }
    return cx->h < cy->h ? -1 : cx->h > cy->h;
}

/* The scheduler's candidates for rq, most available memory first (Nova's
 * RAM weigher): reachable hosts other than the source, enabled ones or
 * only rq->host when it is named (a cold migration may name a disabled
 * one).  A host that does not answer is not a candidate. */
static size_t schedule(struct inventory *inv, struct arena *a,
                       const struct precheck_req *rq, struct cand **out)
{
    const struct conf *conf = inventory_conf(inv);
    struct cand *cands;
    struct ferr e = { 0 };
    size_t n = 0, i;

    cands = arena_alloc(a, sizeof(*cands) * (conf->nhosts + 1));
    for (i = 0; i < conf->nhosts; i++) {
        const struct conf_host *h = &conf->hosts[i];

        if (strcmp(h->name, rq->source) == 0
            || (rq->host != NULL && strcmp(h->name, rq->host) != 0)
            || (!h->enabled && !(rq->cold && rq->host != NULL))
            || host_drained(rq, h->name)) {
            continue;
        }
        cands[n].h = h;
        cands[n].c = inventory_conn(inv, h->name, &e);
        ferr_clear(&e);
        if (cands[n].c == NULL
            || virt_host_info(cands[n].c, &cands[n].info, &e) < 0) {
            ferr_clear(&e);
            continue; /* down: not a candidate */
        }
        n++;
    }
    qsort(cands, n, sizeof(*cands), by_free_memory);
    *out = cands;
    return n;
}

const struct conf_host *precheck_cold_dest(struct inventory *inv,
                                           struct arena *a,
                                           const struct precheck_req *rq,
                                           struct ferr *err)
{
    struct cand *cands;
    size_t n = schedule(inv, a, rq, &cands), i;

    for (i = 0; i < n; i++) {
        if (mem_fits(&cands[i].info, rq->ram_mb)) {
            return cands[i].h;
        }
    }
    ferr_set(err, FE_BADREQ, NO_VALID_HOST);
    return NULL;
}

/* §8.1 and the source of §8.2: the source answers, the guest runs or is
 * paused there. */
static int check_source(struct inventory *inv, struct arena *a,
                        const struct precheck_req *rq, struct vconn **sc,
                        struct vhost_info *info, struct precheck_out *out,
                        struct ferr *err)
{
    struct ferr e = { 0 };
    int power = POWER_NOSTATE, rc;

    *sc = inventory_conn(inv, rq->source, &e);
    ferr_clear(&e);
    if (*sc == NULL || virt_host_info(*sc, info, &e) < 0) {
        ferr_clear(&e);
        return ferr_set(err, FE_BADREQ,
                        "Compute service of %s is "
                        "unavailable at this time.",
                        rq->source);
    }
    rc = virt_domain_power(*sc, rq->uuid, &power, NULL, err);
    if (rc < 0) {
        return rc;
    }
    if (rc == 0 || !server_is_active(power)) {
        return ferr_set(err, FE_CONFLICT,
                        "Cannot 'os-migrateLive' instance "
                        "%s while it is in power_state %s",
                        rq->uuid, power_state_name(power));
    }
    out->source_node = arena_strdup(a, virt_hostname(*sc));
    return 0;
}

/* A forced host: every check, each failure reported as it is. */
static int run_forced(struct inventory *inv, struct arena *a,
                      const struct precheck_req *rq, struct vconn *sc,
                      const struct vhost_info *src_info,
                      struct precheck_out *out, struct ferr *err)
{
    struct vhost_info dst_info;
    struct ferr e = { 0 };
    struct vconn *dc;

    if (strcmp(rq->host, rq->source) == 0) {
        return ferr_set(err, FE_BADREQ,
                        "Unable to migrate instance (%s) "
                        "to current host (%s).",
                        rq->uuid, rq->host);
    }
    if (host_drained(rq, rq->host)) {
        return ferr_set(err, FE_BADREQ, DRAINED_MSG, rq->host);
    }
    dc = inventory_conn(inv, rq->host, &e);
    ferr_clear(&e);
    if (dc == NULL || virt_host_info(dc, &dst_info, &e) < 0) {
        ferr_clear(&e);
        return ferr_set(err, FE_BADREQ,
                        "Compute service of %s is "
                        "unavailable at this time.",
                        rq->host);
    }
    if (check_hypervisor(rq, src_info, &dst_info, rq->host, 1, err) < 0
        || check_cpu(a, sc, dc, rq, err) < 0
        || check_storage(a, sc, dc, rq->host,
                         inventory_conf(inv)->storage_probe_cache, rq, out, err)
            < 0
        || check_disk_space(a, dc, rq, out, err) < 0) {
        return ferr_fail(err);
    }
    out->dest = rq->host;
    out->dest_node = arena_strdup(a, virt_hostname(dc));
    return 0;
}

/* 0 when cand c passes the checks a candidate may fail, -1 when the
 * scheduler moves on (the reason logged). */
static int cand_ok(struct arena *a, const struct precheck_req *rq,
                   struct vconn *sc, const struct vhost_info *src_info,
                   const struct cand *c)
{
    struct ferr e = { 0 };

    if (check_hypervisor(rq, src_info, &c->info, c->h->name, 0, &e) < 0
        || check_cpu(a, sc, c->c, rq, &e) < 0) {
        log_debug("scheduler: %s rejected: %s", c->h->name, ferr_msg(&e));
        ferr_clear(&e);
        return -1;
    }
    return 0;
}

/* The scheduler's path: the first candidate that passes. */
static int run_scheduled(struct inventory *inv, struct arena *a,
                         const struct precheck_req *rq, struct vconn *sc,
                         const struct vhost_info *src_info,
                         struct precheck_out *out, struct ferr *err)
{
    struct ferr e = { 0 };
    struct cand *cands;
    size_t n = schedule(inv, a, rq, &cands), i;

    for (i = 0; i < n; i++) {
        if (cand_ok(a, rq, sc, src_info, &cands[i]) < 0) {
            continue;
        }
        if (check_storage(a, sc, cands[i].c, cands[i].h->name,
                          inventory_conf(inv)->storage_probe_cache, rq, out,
                          err)
            < 0) {
            return ferr_fail(err); /* storage failures are not retried */
        }
        if (check_disk_space(a, cands[i].c, rq, out, &e) < 0) {
            log_debug("scheduler: %s rejected: %s", cands[i].h->name,
                      ferr_msg(&e));
            ferr_clear(&e); /* a pre-check error: the next one */
            continue;
        }
        out->dest = cands[i].h->name;
        out->dest_node = arena_strdup(a, virt_hostname(cands[i].c));
        return 0;
    }
    return ferr_set(err, FE_BADREQ, NO_VALID_HOST);
}

int precheck_run(struct inventory *inv, struct arena *a,
                 const struct precheck_req *rq, struct precheck_out *out,
                 struct ferr *err)
{
    struct vhost_info src_info;
    struct vconn *sc;
    int rc;

    memset(out, 0, sizeof(*out));
    rc = check_source(inv, a, rq, &sc, &src_info, out, err);
    if (rc < 0) {
        return rc;
    }
    if (rq->forced) {
        return run_forced(inv, a, rq, sc, &src_info, out, err);
    }
    return run_scheduled(inv, a, rq, sc, &src_info, out, err);
}

int precheck_migration(struct app *app, struct arena *a, struct migration *m,
                       const struct server *s, struct ferr *err)
{
    struct precheck_req rq;
    struct precheck_out out;
    /* below 2.34 the API calls the conductor's migrate_server, from 2.34
     * its live_migrate_instance (nova/conductor/api.py) */
    const char *ev = m->mv_minor < 34 ? IE_CONDUCTOR_MIGRATE_SERVER
                                      : IE_CONDUCTOR_LIVE_MIGRATE;

    iaction_ev_start(app->store, m, ev, iaction_conductor_host());
    memset(&rq, 0, sizeof(rq));
    rq.uuid = m->instance_uuid;
    rq.source = s->host;
    rq.ram_mb = s->ram_mb;
    rq.host = m->requested_host;
    rq.forced = m->dest_compute != NULL;
    rq.block = m->block_migration;
    rq.disk_over_commit = m->disk_over_commit;
    rq.mv_minor = m->mv_minor;
    precheck_drained_from(app->store, a, &rq);
    if (precheck_run(app->inv, a, &rq, &out, err) < 0) {
        iaction_ev_end(app->store, m, ev, 0, ferr_msg(err));
        return ferr_fail(err);
    }
    iaction_ev_end(app->store, m, ev, 1, NULL);
    m->dest_compute = out.dest;
    m->source_node = out.source_node;
    m->dest_node = out.dest_node;
    m->block_migration = out.block;
    m->status = mig_status_name(MIG_QUEUED);
    return 0;
}

void precheck_drained_from(struct store *st, struct arena *a,
                           struct precheck_req *rq)
{
    struct ferr e = { 0 };
    const char **names = NULL;
    size_t n = 0;

    if (store_hosts_disabled(st, a, &names, &n, &e) < 0) {
        log_error("prechecks: the drained hosts are unknown: %s", ferr_msg(&e));
        ferr_clear(&e);
        names = NULL;
        n = 0;
    }
    rq->drained = names;
    rq->ndrained = n;
}

/* A plan's reason: the message of e (cleared), counted in *n. */
static void plan_reason(precheck_reason_fn add, void *ctx, int *n,
                        struct ferr *e)
{
    add(ctx, ferr_msg(e));
    ferr_clear(e);
    (*n)++;
}

/* The reasons that need no libvirt: dest is no host a plan may use. */
static int plan_host_reasons(struct inventory *inv,
                             const struct precheck_req *rq, const char *dest,
                             precheck_reason_fn add, void *ctx)
{
    const struct conf_host *h = inventory_host(inv, dest);
    struct ferr e = { 0 };
    int n = 0;

    if (h == NULL) {
        ferr_set(&e, FE_BADREQ, "Compute host %s could not be found.", dest);
        plan_reason(add, ctx, &n, &e);
        return n;
    }
    if (strcmp(dest, rq->source) == 0) {
        ferr_set(&e, FE_BADREQ,
                 "Unable to migrate instance (%s) to current host (%s).",
                 rq->uuid, dest);
        plan_reason(add, ctx, &n, &e);
    }
    if (!h->enabled) {
        ferr_set(&e, FE_BADREQ, "Compute host %s is disabled.", dest);
        plan_reason(add, ctx, &n, &e);
    }
    if (host_drained(rq, dest)) {
        ferr_set(&e, FE_BADREQ, DRAINED_MSG, dest);
        plan_reason(add, ctx, &n, &e);
    }
    return n;
}

int precheck_reasons(struct inventory *inv, struct arena *a,
                     const struct precheck_req *rq, const char *dest,
                     int64_t planned_mb, precheck_reason_fn add, void *ctx,
                     double *avail)
{
    struct vhost_info si, di;
    struct precheck_out out;
    struct ferr e = { 0 };
    struct vconn *sc, *dc;
    int n = plan_host_reasons(inv, rq, dest, add, ctx);

    if (inventory_host(inv, dest) == NULL) {
        return n;
    }
    sc = inventory_conn(inv, rq->source, &e);
    ferr_clear(&e);
    dc = inventory_conn(inv, dest, &e);
    ferr_clear(&e);
    if (sc == NULL || virt_host_info(sc, &si, &e) < 0 || dc == NULL
        || virt_host_info(dc, &di, &e) < 0) {
        ferr_clear(&e);
        ferr_set(&e, FE_BADREQ,
                 "Compute service of %s is unavailable at this time.",
                 sc == NULL ? rq->source : dest);
        plan_reason(add, ctx, &n, &e);
        return n;
    }
    if (!rq->cold && strcmp(si.type, di.type) != 0) {
        ferr_set(&e, FE_BADREQ, "The supplied hypervisor type of is invalid.");
        plan_reason(add, ctx, &n, &e);
    }
    if (!rq->cold && si.version > di.version) {
        ferr_set(&e, FE_BADREQ,
                 "The instance requires a newer hypervisor version than has "
                 "been provided.");
        plan_reason(add, ctx, &n, &e);
    }
    *avail = avail_mb(&di) - (double) planned_mb;
    if (rq->ram_mb == 0 || *avail <= (double) rq->ram_mb) {
        ferr_set(&e, FE_BADREQ,
                 "Migration pre-check error: Unable to migrate %s to %s: "
                 "Lack of memory(host:%.1f <= instance:%lld)",
                 rq->uuid, dest, *avail, (long long) rq->ram_mb);
        plan_reason(add, ctx, &n, &e);
    }
    if (!rq->cold && check_cpu(a, sc, dc, rq, &e) < 0) {
        plan_reason(add, ctx, &n, &e);
    }
    if (!rq->cold
        && check_storage(a, sc, dc, dest,
                         inventory_conf(inv)->storage_probe_cache, rq, &out, &e)
            < 0) {
        plan_reason(add, ctx, &n, &e);
    }
    return n;
}
