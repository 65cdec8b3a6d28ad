/*
 * inventoryd.h: the inventory process (inventoryd.c), a child of the
 * master like the runners.  It holds one libvirt connection per configured
 * host and keeps the store's instances index (instances.h) current.
 */
#ifndef FERRY_INVENTORYD_H
#define FERRY_INVENTORYD_H

#include <signal.h>
#include "ferry/app.h"

/* Runs until *stop.  Writes one byte to ready_fd (then closes it) once
 * every host has been tried: synced, or found unreachable.  The libvirt
 * event loop must be running (virt_events_start) before the call. */
int inventoryd_main(struct app *app, volatile sig_atomic_t *stop, int wake_fd,
                    int ready_fd);

#endif
