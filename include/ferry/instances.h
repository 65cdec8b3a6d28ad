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
/* Removes the rows, the state and the lease of every host not in names
 * (hosts taken out of the configuration) that no other node than `node`
 * keeps at `now` (µs): another node's configuration may have more. */
int instances_keep_hosts(struct store *st, const char *const *names, size_t n,
                         const char *node, int64_t now, struct ferr *err);

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

/* --- which node keeps each host (store_leases.c) ----------------------
 * One node's inventory at a time connects to a host and writes its rows:
 * the holder of its lease, a node's name and its inventory's pid, until
 * a time (µs) of the holder's clock, which it renews every few seconds.
 * A lease that ran out (its node died, or lost the store) is free to take,
 * and so is one of a process of this node that alive() says is gone. */
typedef void (*lease_fn)(void *arg, const char *host);

/* Renews every lease of (node, pid) until `until`; held(arg, host) for
 * each: a host not named has been taken over (or was never held). */
int leases_renew(struct store *st, const char *node, int64_t pid, int64_t until,
                 lease_fn held, void *arg, struct ferr *err);
/* Takes, until `until`, the lease of each of hosts[n] that is free at now
 * (no lease, or one free as said above); taken(arg, host) for each one
 * taken.  Of several nodes taking one host at once, one gets it. */
int leases_take_free(struct store *st, const char *const *hosts, size_t n,
                     const char *node, int64_t pid, int64_t now, int64_t until,
                     store_alive_fn alive, lease_fn taken, void *arg,
                     struct ferr *err);
/* Gives up every lease of (node, pid): another node takes them at once. */
int leases_release(struct store *st, const char *node, int64_t pid,
                   struct ferr *err);

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
