/*
 * runner.h: migration runners (runner.c and the files runner_int.h
 * names): the entry point of a runner process.
 */
#ifndef FERRY_RUNNER_H
#define FERRY_RUNNER_H

#include <signal.h>
#include "ferry/app.h"

/* The wake-up of idle runners: an eventfd the master makes before its
 * first fork, so that every child holds it.  A request that creates a
 * record, and a runner that releases one or frees a slot, calls
 * runner_wake; an idle runner claims at once instead of at its next
 * look (still made every 200 ms: records of other API nodes, or a store
 * shared by another ferryd, wake nobody here). */
int runner_wake_open(struct ferr *err);
/* A record may be claimable: idle runners look now.  Never blocks; a
 * no-op in a process without the eventfd (unit tests, tools). */
void runner_wake(void);

/* Runs until *stop; a migration in hand is always finished first. */
int runner_main(struct app *app, volatile sig_atomic_t *stop, int wake_fd);

#endif
