/*
 * inventory.h: the configured libvirt hosts, their connections (opened on
 * first use, reopened when they die) and the lookup of servers on them.
 */
#ifndef FERRY_INVENTORY_H
#define FERRY_INVENTORY_H

#include <stddef.h>
#include "ferry/conf.h"
#include "ferry/server.h"
#include "ferry/store.h"

struct inventory;

int  inventory_open(const struct conf *c, struct inventory **out,
                    struct ferr *err);
void inventory_close(struct inventory *inv);

/* 1: found (s filled, host and task_state set); 0: no such server;
 * <0: error (FE_UNAVAILABLE when its host cannot be reached). */
int inventory_find(struct inventory *inv, struct store *st,
                   const char *uuid, struct arena *a, struct server *s,
                   struct ferr *err);
/* Every server on every reachable host. */
int inventory_list(struct inventory *inv, struct store *st, struct arena *a,
                   struct server **out, size_t *n, struct ferr *err);
const struct conf_host *inventory_host(struct inventory *inv,
                                       const char *name);
/* The live connection to a configured host, or NULL (err set) when it
 * cannot be reached. */
struct vconn *inventory_conn(struct inventory *inv, const char *name,
                             struct ferr *err);
const struct conf *inventory_conf(struct inventory *inv);

#endif
