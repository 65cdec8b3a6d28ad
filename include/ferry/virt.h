/*
 * virt.h: the only door to libvirt (and to libxml2, which reads the
 * domain XML libvirt returns).  libvirt errors are reported once, here,
 * as FE_UNAVAILABLE (host unreachable) or FE_INTERNAL, with libvirt's text.
 */
#ifndef FERRY_VIRT_H
#define FERRY_VIRT_H

#include <stddef.h>
#include "ferry/err.h"
#include "ferry/server.h"
#include "ferry/util.h"

struct vconn;

/* Domain events for the inventory: the uuid of a domain that changed
 * (defined, undefined, started, stopped, paused, resumed, metadata, a job
 * ended), and the connection's end; both called from the event thread. */
typedef void (*virt_domain_fn)(void *opaque, const char *uuid);
typedef void (*virt_closed_fn)(void *opaque);

void virt_init(void);
int virt_connect(const char *uri, struct vconn **out, struct ferr *err);
void virt_close(struct vconn *c);
int virt_alive(struct vconn *c);
/* The hypervisor's host name (cached per connection). */
const char *virt_hostname(struct vconn *c);

/* 1 and *s filled (strings from a) if the domain exists, 0 if not. */
int virt_lookup(struct vconn *c, const char *uuid, struct arena *a,
                struct server *s, struct ferr *err);
/* Every domain of the host; *out is an arena array of *n servers. */
int virt_list(struct vconn *c, struct arena *a, struct server **out, size_t *n,
              struct ferr *err);

/* --- what the prechecks and the runner need --------------------------- */

struct vhost_info {
    char type[32];         /* virConnectGetType(), e.g. QEMU */
    unsigned long version; /* virConnectGetVersion() */
    int64_t total_mb;      /* node memory */
    int64_t guests_mb;     /* RAM of the defined, active guests */
};
int virt_host_info(struct vconn *c, struct vhost_info *out, struct ferr *err);

struct vdisk {
    const char *path;   /* source file */
    const char *dev;    /* target dev, e.g. vda */
    const char *format; /* driver type: qcow2, raw */
    int64_t capacity;   /* virtual size in bytes */
    int64_t allocation; /* bytes used on the host */
};
/* The writable, non-shareable file disks of a domain. */
int virt_domain_disks(struct vconn *c, const char *uuid, struct arena *a,
                      struct vdisk **out, size_t *n, struct ferr *err);

/* 1 when dir is one storage seen by both hosts (a marker file created
 * through dst's libvirt is visible through src's), 0 when not (including
 * when dst has no such directory), <0 on a libvirt error. */
int virt_dir_shared(struct vconn *src, struct vconn *dst, const char *dir,
                    struct ferr *err);
/* Creates an empty sparse disk like d (same path, format and virtual size)
 * on dst, making its directory if needed. */
int virt_disk_create(struct vconn *dst, const struct vdisk *d,
                     struct ferr *err);
/* 1 when a volume (file) exists at path on c, 0 when not (or when its
 * directory does not exist there), <0 on a libvirt error. */
int virt_disk_exists(struct vconn *c, const char *path, struct ferr *err);
/* Removes a disk file through dst's libvirt (rollback); errors ignored. */
void virt_disk_delete(struct vconn *dst, const char *path);

/* The free bytes of the file system holding dir on c (a dir pool's
 * available, for dir or its nearest existing parent: libvirt reads
 * statvfs f_bfree, where Nova's get_fs_info reads f_bavail, so the
 * root-reserved blocks count as free here), and the over-commit
 * of c's domains: the sum of capacity - allocation of their file disks. */
int virt_disk_space(struct vconn *c, const char *dir, struct arena *a,
                    int64_t *avail, int64_t *overcommit, struct ferr *err);

/* The guest CPU to compare on the destination (spec §8.4): the domain's
 * <cpu> when it names a model, else the source host's CPU from its
 * capabilities; *xml is NULL when the domain type is not kvm (emulated
 * guests are not compared, as Nova's _compare_cpu). */
int virt_guest_cpu(struct vconn *src, const char *uuid, struct arena *a,
                   const char **xml, struct ferr *err);
struct vcpu_cmp {
    int result;         /* virCPUCompareResult, -1 on error */
    int lv_code;        /* libvirt's error code, 0 if none */
    const char *lv_msg; /* libvirt's message, or NULL */
};
/* virConnectCompareCPU(xml) on c; the answer, error included, in out. */
void virt_cpu_compare(struct vconn *c, const char *xml, struct arena *a,
                      struct vcpu_cmp *out);
/* libvirt's VIR_ERR_NO_SUPPORT: the host cannot compare CPUs. */
extern const int VIRT_ERR_NO_SUPPORT;

/* Power state of a domain: 1 found (*power set, Nova numbering), 0 no
 * such domain, <0 error. */
int virt_domain_power(struct vconn *c, const char *uuid, int *power,
                      int *persistent, struct ferr *err);

struct vjob {
    int type; /* VJOB_* */
    int64_t elapsed_ms, downtime_ms;
    int64_t mem_total, mem_processed, mem_remaining;
    int64_t disk_total, disk_processed, disk_remaining;
    int64_t data_remaining;
    int64_t mem_bps, disk_bps; /* transfer rates, bytes/s */
    int64_t dirty_bps;         /* the guest's, over the last pass */
    int64_t iteration;         /* the pass over memory */
};
enum {
    VJOB_NONE,
    VJOB_BOUNDED,
    VJOB_UNBOUNDED,
    VJOB_COMPLETED,
    VJOB_FAILED,
    VJOB_CANCELLED
};
/* The job running on the domain (or its completed stats with
 * completed=1).  Fields it does not report are -1. */
int virt_job(struct vconn *c, const char *uuid, int completed, struct vjob *out,
             struct ferr *err);

#define VMIG_LIVE 1u
#define VMIG_PEER2PEER 2u
#define VMIG_TUNNELLED 4u
#define VMIG_PERSIST_DEST 8u
#define VMIG_UNDEFINE_SOURCE 16u
#define VMIG_PAUSED 32u
#define VMIG_NON_SHARED_DISK 64u
#define VMIG_NON_SHARED_INC 128u
#define VMIG_AUTO_CONVERGE 8192u
#define VMIG_POSTCOPY 32768u
/* flags as words for the log ("live+p2p+..."), into buf of size n */
const char *virt_migrate_flags_str(unsigned flags, char *buf, size_t n);

struct vmigrate {
    const char *dconnuri;     /* qemu+tcp://<dest>/system */
    const char *migrate_uri;  /* tcp://<dest address>, or NULL */
    unsigned flags;           /* VMIG_* */
    const char *const *disks; /* migrate_disks (block migration) */
    size_t ndisks;
    unsigned long bandwidth_mib; /* 0: unlimited */
};
/* Blocks until the migration ends: 0 done, <0 failed with libvirt's
 * reason.  Safe to call from a thread while another polls virt_job(). */
int virt_migrate(struct vconn *src, const char *uuid, const struct vmigrate *m,
                 struct ferr *err);
int virt_abort_job(struct vconn *c, const char *uuid, struct ferr *err);
int virt_set_max_downtime(struct vconn *c, const char *uuid, int64_t ms,
                          struct ferr *err);
int virt_start_postcopy(struct vconn *c, const char *uuid, struct ferr *err);
/* libvirt's dirty-rate calculation over seconds s, in the best mode the
 * guest allows (*mode names it): KVM's dirty ring or dirty bitmap (every
 * write counts), else (TCG) page sampling, the share of sampled pages whose
 * content changed (a page rewritten with the same bytes does not count;
 * the dirty-bitmap mode kills QEMU 7.2 under TCG). */
int virt_dirty_rate_start(struct vconn *c, const char *uuid, int seconds,
                          const char **mode, struct ferr *err);
/* 1 and *bps once measured, 0 while measuring, <0 failed. */
int virt_dirty_rate(struct vconn *c, const char *uuid, int64_t *bps,
                    struct ferr *err);
int virt_suspend(struct vconn *c, const char *uuid, struct ferr *err);
int virt_resume(struct vconn *c, const char *uuid, struct ferr *err);

/* --- cold migration ----------------------------------------------------- */
/* Shuts the guest down (ACPI), destroying it after timeout_s. */
int virt_shutdown(struct vconn *c, const char *uuid, int timeout_s,
                  struct ferr *err);
int virt_start(struct vconn *c, const char *uuid, struct ferr *err);
int virt_destroy(struct vconn *c, const char *uuid, struct ferr *err);
int virt_undefine(struct vconn *c, const char *uuid, struct ferr *err);
/* Defines on dst the persistent definition the domain has on src. */
int virt_copy_definition(struct vconn *src, struct vconn *dst, const char *uuid,
                         struct ferr *err);
/* Copies a disk file's content from src to the same path on dst (which
 * virt_disk_create made), through libvirt storage streams. */
int virt_disk_copy(struct vconn *src, struct vconn *dst, const struct vdisk *d,
                   struct ferr *err);

/* The libvirt event loop, in a thread of its own: call once per process
 * before any connection is opened (runners need it for job events). */
int virt_events_start(struct ferr *err);
/* Watches for the job-completed event of a domain on c: the only place
 * that has the final disk byte counts once the source domain is gone.
 * out is filled and *done set from the event thread. */
struct vwatch;
struct vwatch *virt_watch_job(struct vconn *c, const char *uuid,
                              struct ferr *err);
/* 1 and *out filled once the event came (waits up to wait_ms), else 0;
 * then stops watching and frees w. */
int virt_watch_end(struct vwatch *w, int wait_ms, struct vjob *out);

/* Subscribes c to the domain events above (virt_events_start first);
 * virt_close ends the subscription. */
int virt_watch_domains(struct vconn *c, virt_domain_fn on_domain,
                       virt_closed_fn on_close, void *opaque, struct ferr *err);
void virt_unwatch_domains(struct vconn *c);

#endif
