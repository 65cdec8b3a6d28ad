/*
 * conf.h: ferry.conf, the one configuration file (and what it includes).
 *
 * Syntax: "# comment", "[section]", "key = value"; sections are [ferryd]
 * and [host NAME] (one per libvirt host); "include = PATH" (relative to
 * the including file) reads another file at that point, so the host list
 * can live in a file of its own.  Keys are a static table; an unknown key,
 * a bad value or a duplicate host fails naming file:line and the reason.
 */
#ifndef FERRY_CONF_H
#define FERRY_CONF_H

#include <stddef.h>
#include "ferry/err.h"

struct conf_host {
    char *name;              /* [a-zA-Z0-9-._]{1,255}, as Nova hosts */
    char *uri;               /* libvirt connection URI from ferryd */
    char *migration_address; /* where the destination listens */
    int enabled;
};

enum { TIMEOUT_ABORT, TIMEOUT_FORCE_COMPLETE };
/* live_migration_convergence: when the monitor changes strategy */
enum { CONVERGE_TIMEOUT, CONVERGE_PREDICT };

/* A list of uids or gids (names are resolved when the file is read). */
struct conf_ids {
    unsigned *id;
    size_t n;
    int set; /* given in the file (else the default) */
};

struct conf {
    char *path;
    char *socket; /* FastCGI unix socket */
    int socket_mode;
    char *socket_group; /* or NULL */
    /* who may speak FastCGI: a peer (SO_PEERCRED) whose uid is in the
     * first list or whose gid is in the second.  Defaults: uid 0 and
     * ferryd's own; the gid of socket_group when that is set. */
    struct conf_ids fastcgi_allow_uids;
    struct conf_ids fastcgi_allow_gids;
    int workers;
    int runners;       /* migration runner processes */
    char *store;       /* the store's URL (db.h) */
    char *node_name;   /* this node among the store's (default: host name) */
    char *policy;      /* policy.json */
    char *link_prefix; /* Nova's compute_link_prefix, or NULL */
    int log_debug;
    int log_syslog;                /* log_target = syslog (else stderr) */
    int shutdown_timeout;          /* s a guest gets to shut down (Nova's) */
    int host_answer_timeout;       /* s a runner waits for a host that cannot
                                 * be asked before it settles without it */
    int store_timeout;             /* s a statement waits for a store lock */
    int precheck_timeout;          /* s a request (µv < 2.34) waits for the
                                    * precheck service's answer */
    int inventory_resync_interval; /* s between full host resyncs */
    int storage_probe_cache;       /* s a storage probe's answer is kept
                                    * (sharecache.h); 0: probe each time */
    /* [libvirt], Nova's option names and defaults (spec 9.3) */
    int live_migration_bandwidth; /* MiB/s, 0 = unlimited */
    int live_migration_downtime;  /* ms, max allowed downtime */
    int live_migration_downtime_steps;
    int live_migration_downtime_delay;     /* s per GiB */
    int live_migration_completion_timeout; /* s per GiB, 0 = never */
    int live_migration_timeout_action;     /* TIMEOUT_ABORT, ... */
    int live_migration_permit_post_copy;
    int live_migration_permit_auto_converge;
    int max_concurrent_live_migrations; /* per host, each way */
    /* ferry's own: no progress for this many seconds -> the timeout
     * action (0 = off) */
    int live_migration_progress_timeout;
    /* ferry's own: CONVERGE_TIMEOUT (Nova's: only the timeouts change
     * the strategy) or CONVERGE_PREDICT (also as soon as the job's
     * statistics say pre-copy cannot finish) */
    int live_migration_convergence;
    struct conf_host *hosts;
    size_t nhosts;
};

int conf_load(const char *path, struct conf **out, struct ferr *err);
void conf_free(struct conf *c);
const struct conf_host *conf_host_find(const struct conf *c, const char *name);

#endif
