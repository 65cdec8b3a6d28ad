/*
 * metrics.h: ferryd's Prometheus metrics.
 *
 * Counters that live only in processes (requests by route and status,
 * request durations, worker and runner restarts, the children up) are in
 * one shared memory block that the master maps (MAP_SHARED, anonymous)
 * before it forks, so every worker increments the same counters with
 * atomic adds and any worker can render them.  Everything the store knows
 * (migrations by type and outcome, their durations, downtime and bytes,
 * the phases of those in progress) is computed from the store when
 * scraped: the store is the truth, shared by every worker and API node.
 */
#ifndef FERRY_METRICS_H
#define FERRY_METRICS_H

#include <stdint.h>
#include "ferry/err.h"
#include "ferry/util.h"

struct app;

enum { METRIC_WORKER, METRIC_RUNNER, METRIC_NKINDS };

/* The master, once, before the first fork.  <0: no shared memory (the
 * process counters then read 0; ferryd still serves). */
int metrics_init(struct ferr *err);
/* A request worker, after answering: route label from method and path. */
void metrics_request(const char *method, const char *uri, int status,
                     int64_t elapsed_us);
/* A request worker: a FastCGI connection accepted (and its peer
 * allowed). */
void metrics_fcgi_connection(void);
/* The master: a child of kind restarted after it died. */
void metrics_restart(int kind);
/* The master: children of the running generation, wanted and alive. */
void metrics_children(int kind, int wanted, int up);
/* 1 when every kind has as many children up as wanted, else 0 with
 * *kind set to the first kind short of them and *wanted, *up its counts;
 * -1 when there is no shared block (not under a master). */
int metrics_children_ok(int *kind, int *wanted, int *up);
/* "worker" or "runner" */
const char *metrics_kind_name(int kind);
/* The exposition text (format 0.0.4) into out. */
int metrics_render(struct app *app, struct sbuf *out, struct ferr *err);

#endif
