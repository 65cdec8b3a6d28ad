/*
 * health.h: the operator endpoints, GET /healthz and GET /metrics.
 *
 * nginx passes them to ferryd only from the `location`s of
 * ferry-ops-location.conf, which allow only the networks listed there and
 * set the FastCGI param FERRY_OPS=1 (req.ops); a request without it (the
 * API location, or an nginx without the ops snippet) is not answered
 * here, so these paths stay as unknown as before on the public API.
 */
#ifndef FERRY_HEALTH_H
#define FERRY_HEALTH_H

#include "ferry/app.h"

/* 1: answered (w filled); 0: not an operator request, carry on. */
int health_handle(struct app *app, struct req *r, struct resp *w);

#endif
