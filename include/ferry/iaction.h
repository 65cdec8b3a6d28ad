/*
 * iaction.h: the instance actions and events ferry records for Nova's
 * os-instance-actions API: the names Nova uses (each name here only), and
 * the small calls the API and the runner make at the start and end of
 * each step.  Recording is best effort: a store that refuses an event is
 * logged, and the migration goes on (the guest matters more than its
 * account).
 */
#ifndef FERRY_IACTION_H
#define FERRY_IACTION_H

#include "ferry/store.h"

/* Action names (nova/compute/instance_actions.py) */
#define IA_LIVE_MIGRATION "live-migration"
#define IA_LIVE_MIGRATION_CANCEL "live_migration_cancel"
#define IA_LIVE_MIGRATION_FORCE_COMPLETE "live_migration_force_complete"
#define IA_MIGRATE "migrate"
#define IA_CONFIRM_RESIZE "confirmResize"
#define IA_REVERT_RESIZE "revertResize"

/* Event names: wrap_instance_event(prefix) + the method name, or the
 * EventReporter's name (nova/compute/manager.py, nova/conductor/manager.py)
 * and where Nova runs them: conductor (ferry: this machine), the source
 * or the destination compute host. */
#define IE_CONDUCTOR_MIGRATE_SERVER "conductor_migrate_server"      /* cond */
#define IE_CONDUCTOR_LIVE_MIGRATE "conductor_live_migrate_instance" /* cond */
#define IE_COLD_MIGRATE "cold_migrate"                              /* cond */
#define IE_PRE_LIVE_MIGRATION "compute_pre_live_migration"          /* dest */
#define IE_LIVE_MIGRATION "compute_live_migration"                  /* src */
#define IE_LIVE_MIGRATION_ABORT "compute_live_migration_abort"      /* src */
#define IE_LIVE_MIGRATION_FORCE_COMPLETE \
    "compute_live_migration_force_complete"                    /* src */
#define IE_PREP_RESIZE "compute_prep_resize"                   /* dest */
#define IE_RESIZE_INSTANCE "compute_resize_instance"           /* src */
#define IE_FINISH_RESIZE "compute_finish_resize"               /* dest */
#define IE_CONFIRM_RESIZE "compute_confirm_resize"             /* src */
#define IE_REVERT_RESIZE "compute_revert_resize"               /* dest */
#define IE_FINISH_REVERT_RESIZE "compute_finish_revert_resize" /* src */

/* The host name of ferry's conductor role: this machine's name, as
 * nova-conductor's CONF.host defaults to it. */
const char *iaction_conductor_host(void);

/* Starts / ends event of the action of record m (m->request_id; nothing
 * for a record without one, written by an older ferryd).  ev_end with
 * event NULL ends every event still running; details is the reason of an
 * error (Nova's event 'details': the exception message, no traceback). */
void iaction_ev_start(struct store *s, const struct migration *m,
                      const char *event, const char *host);
void iaction_ev_end(struct store *s, const struct migration *m,
                    const char *event, int ok, const char *details);
/* The end of record m (m->status, m->error_reason) on every event still
 * running: Success when it completed, confirmed or reverted. */
void iaction_record_end(struct store *s, const struct migration *m);
/* An event of the newest action named action of m's instance, started
 * and ended at once (the runner acting on an abort or force-complete
 * request); the action's request id goes to the log line. */
void iaction_request_event(struct store *s, const struct migration *m,
                           const char *action, const char *event,
                           const char *host, int ok, const char *details);

#endif
