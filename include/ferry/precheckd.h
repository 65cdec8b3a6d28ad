/*
 * precheckd.h: the precheck service.  Below µv 2.34 a live migration's
 * prechecks answer the request itself (spec 4.4), but a request worker
 * never speaks to libvirt: it hands the held record's id to this service
 * and waits, bounded by precheck_timeout, for the answer.  The service is
 * a few threads of the inventory process, each with its own libvirt
 * connections and store handle; they load the record and the server from
 * the store, run precheck_migration and answer its outcome.  The record
 * itself is written by the request, as before.
 *
 * The channel is a SOCK_SEQPACKET socketpair the master makes before its
 * first fork, so only ferryd's own processes hold it (no name in the file
 * system); each request sends its id with a fresh socketpair's end
 * (SCM_RIGHTS) on which its answer alone comes back.
 */
#ifndef FERRY_PRECHECKD_H
#define FERRY_PRECHECKD_H

#include "ferry/conf.h"
#include "ferry/store.h"
#include "ferry/util.h"

struct precheckd;

/* The service side: starts the threads serving requests read from fd
 * (the master's socketpair end), with configuration c. */
int precheckd_start(const struct conf *c, int fd, struct precheckd **out,
                    struct ferr *err);
/* Lets each thread finish the request in hand, then ends them. */
void precheckd_stop(struct precheckd *d);

/* The request side: the prechecks of held record m (MIG_HELD_BY_REQUEST),
 * asked of the service on fd, waiting at most timeout_s.  0: m has its
 * destination, nodes, resolved block mode and status "queued" (strings in
 * a), as precheck_migration leaves it; <0: err holds the refusal as
 * precheck_migration filled it, or FE_UNAVAILABLE when the service did
 * not answer in time or cannot be reached. */
int precheckd_ask(int fd, int timeout_s, struct arena *a, struct migration *m,
                  struct ferr *err);

#endif
