/*
 * instances.h: the store's index of servers, which the inventory process
 * keeps current from libvirt (domain events and periodic resyncs) and
 * request workers read instead of asking libvirt.
 *
 * One row per domain per host: a domain defined on two hosts (the moment
 * of a migration) has two rows, and a read takes the one where it is
 * active (running or paused), as libvirt would answer.  updated_at is when
 * the inventory last confirmed the row with libvirt (µs).  A host that
 * cannot be reached keeps its rows as last seen; its state is in the
 * hosts table (up, when, why not).
 */
#ifndef FERRY_INSTANCES_H
#define FERRY_INSTANCES_H

#include <stddef.h>
#include <stdint.h>
#include "ferry/err.h"
#include "ferry/server.h"
#include "ferry/store.h"
#include "ferry/util.h"

/* Writes s (on s->host, hypervisor s->node) as confirmed at `at` µs. */
int instances_put(struct store *st, const struct server *s, int64_t at,
                  struct ferr *err);
/* Removes the row of uuid on host (undefined there, or gone). */
int instances_delete(struct store *st, const char *uuid, const char *host,
                     struct ferr *err);
/* Removes the rows of host not confirmed since `at` (a full resync wrote
 * every domain the host has with `at`). */
int instances_sweep(struct store *st, const char *host, int64_t at,
                    struct ferr *err);
/* Removes the rows and the state of every host not in names (hosts taken
 * out of the configuration). */
int instances_keep_hosts(struct store *st, const char *const *names, size_t n,
                         struct ferr *err);

/* 1 and *out filled (strings from a), 0 unknown, <0 error. */
int instances_get(struct store *st, const char *uuid, struct arena *a,
                  struct server *out, struct ferr *err);

/* The same for the row of uuid on host: 1, 0 none there, <0 error. */
int instances_get_on(struct store *st, const char *uuid, const char *host,
                     struct arena *a, struct server *out, struct ferr *err);

/* Calls fn for each server (one per uuid) in the order of Nova's default
 * list: created descending, then uuid descending; of project only unless
 * project is NULL; after the server marker (any project) when marker is
 * not NULL; only names that hold name_has (ASCII letters in any case)
 * when it is not NULL: a prefilter, the caller still decides.
 * fn returns 0 to go on, 1 to stop, <0 (err set) to fail.
 * Rows fn is given are valid until it returns; it copies what it keeps.
 * 1 done, 0 marker unknown, <0 error. */
typedef int (*instances_fn)(void *ctx, const struct server *s,
                            struct ferr *err);
int instances_each(struct store *st, const char *project, const char *marker,
                   const char *name_has, struct arena *a, instances_fn fn,
                   void *ctx, struct ferr *err);

/* The instances a store record may change the look of (a migration in
 * progress, a fault), sorted: a list decorates only those. */
int instances_marked(struct store *st, struct arena *a, const char ***out,
                     size_t *n, struct ferr *err);

/* 0 when no store record changes the look of uuid; 1 when one may (or
 * the store could not say). */
int instances_is_marked(struct store *st, const char *uuid);

/* --- the hosts as the inventory last saw them ------------------------- */
struct host_state {
    int known; /* 0: the inventory has not reported it */
    int up;
    const char *node;   /* virConnectGetHostname(), or NULL */
    const char *error;  /* why not up, or NULL */
    int64_t synced_at;  /* µs of the last full resync, 0 never */
    int64_t updated_at; /* µs */
};
int instances_host_set(struct store *st, const char *host, int up,
                       const char *node, const char *error, int64_t synced_at,
                       struct ferr *err);
int instances_host_get(struct store *st, const char *host, struct arena *a,
                       struct host_state *out, struct ferr *err);
/* The names of the hosts up, sorted: one statement however many hosts. */
int instances_hosts_up(struct store *st, struct arena *a, const char ***out,
                       size_t *n, struct ferr *err);

#endif
