/*
 * runner.h: migration runners (runner.c) and the prechecks a sync request
 * shares with them.
 */
#ifndef FERRY_RUNNER_H
#define FERRY_RUNNER_H

#include <signal.h>
#include "ferry/app.h"
#include "ferry/server.h"
#include "ferry/store.h"

/* Runs until *stop; a migration in hand is always finished first. */
int runner_main(struct app *app, volatile sig_atomic_t *stop, int wake_fd);
/* §8 prechecks and scheduling for record m of server s: on success m has
 * its destination, nodes and resolved block mode, status "queued". */
int runner_precheck(struct app *app, struct arena *a, struct migration *m,
                    const struct server *s, struct ferr *err);

#endif
