/*
 * runner.h: migration runners (runner.c and the files runner_int.h
 * names): the entry point of a runner process.
 */
#ifndef FERRY_RUNNER_H
#define FERRY_RUNNER_H

#include <signal.h>
#include "ferry/app.h"

/* Runs until *stop; a migration in hand is always finished first. */
int runner_main(struct app *app, volatile sig_atomic_t *stop, int wake_fd);

#endif
