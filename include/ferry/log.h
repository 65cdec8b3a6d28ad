/*
 * log.h: the lines ferryd writes besides the per-request one (app.h has
 * log_info/log_error/log_debug): where they go, and the one key=value line
 * per migration transition.
 */
#ifndef FERRY_LOG_H
#define FERRY_LOG_H

struct migration;

enum { LOG_TO_STDERR, LOG_TO_SYSLOG };

/* stderr (journald under systemd) or syslog, facility daemon; from
 * ferry.conf's log_target, once the file is read. */
void log_target(int target);

/* A request worker's lines, held in a buffer while requests keep coming
 * and written together (one write(2) for many lines): log_hold(1) starts
 * holding, log_flush writes what is held, log_hold(0) flushes and stops.
 * Errors are written at once.  Syslog lines are never held. */
void log_hold(int on);
void log_flush(void);
int log_held(void);

/* One line when m's status differs from the last one logged for it in
 * this process (a save that only updates progress writes nothing):
 *   migration id=7 uuid=... type=live-migration from=queued to=running
 *   request_id=req-... user=... project=... server=... source=...
 *   dest=...
 * and, once it ends: total_s=, downtime_ms=, bytes= (memory and disk
 * processed) and reason= when it failed.  Values with a space or a quote
 * are quoted; an unknown value is "-". */
void log_migration(const struct migration *m);
/* The same line for a status change made outside the runner (a request's
 * confirm, revert or abort): from is the status m had before. */
void log_migration_from(const struct migration *m, const char *from);

#endif
