/*
 * inventory.h: the configured libvirt hosts, their connections (opened on
 * first use, reopened when they die) and the lookup of servers: from the
 * store's instances index for request workers, on the hosts for runners.
 */
#ifndef FERRY_INVENTORY_H
#define FERRY_INVENTORY_H

#include <stddef.h>
#include "ferry/conf.h"
#include "ferry/server.h"
#include "ferry/store.h"

struct inventory;

int inventory_open(const struct conf *c, struct inventory **out,
                   struct ferr *err);
void inventory_close(struct inventory *inv);

/* Asks the hosts (libvirt).  1: found (s filled, host and task_state
 * set); 0: no such server; <0: error (FE_UNAVAILABLE when a host that
 * may hold it cannot be reached). */
int inventory_find(struct inventory *inv, struct store *st, const char *uuid,
                   struct arena *a, struct server *s, struct ferr *err);
/* The same answer from the store's index, without libvirt: a server on
 * a host that is down reads as last seen; an unknown one is
 * FE_UNAVAILABLE while a configured host is down or not yet synced. */
int inventory_lookup(const struct conf *c, struct store *st, const char *uuid,
                     struct arena *a, struct server *s, struct ferr *err);
/* Adds what the store knows of s: task state of a migration in
 * progress, its progress, and the latest fault. */
void inventory_decorate(struct store *st, struct arena *a, struct server *s);
/* inventory_decorate for the n servers of a list, asking the store once
 * which servers have anything to add. */
void inventory_decorate_list(struct store *st, struct arena *a,
                             struct server **s, size_t n);
/* 1 when the inventory process last found host name up (store). */
int inventory_host_up(struct store *st, const char *name);
const struct conf_host *inventory_host(struct inventory *inv, const char *name);
/* The live connection to a configured host, or NULL (err set) when it
 * cannot be reached. */
struct vconn *inventory_conn(struct inventory *inv, const char *name,
                             struct ferr *err);
const struct conf *inventory_conf(struct inventory *inv);

#endif
