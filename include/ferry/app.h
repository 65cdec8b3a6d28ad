/*
 * app.h: the long-lived state of one ferryd process, and the entry points
 * that tie the modules together.
 */
#ifndef FERRY_APP_H
#define FERRY_APP_H

#include <signal.h>
#include "ferry/conf.h"
#include "ferry/http.h"
#include "ferry/policy.h"

struct store;
struct inventory;

struct app {
    struct conf *conf;
    struct policy *policy;
    struct store *store;
    struct inventory *inv;
    int precheck_fd; /* a request worker's end of the precheck service's
                      * channel (precheckd.h), or -1 */
};

/* api.c: one request, start to end (never fails: errors become faults). */
void api_handle(struct app *app, struct req *r, struct resp *w);

/* fcgi.c: the FastCGI side. */
int fcgi_open(const struct conf *c, struct ferr *err);
/* Serves requests until *stop is set; wake_fd becomes readable on a
 * signal so a blocked worker notices. */
int fcgi_serve(int listen_fd, struct app *app, volatile sig_atomic_t *stop,
               int wake_fd);

/* log.c */
void log_init(const char *name, int debug);
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Every line from now on ends with request_id (NULL: no longer). */
void log_context(const char *request_id);

#endif
