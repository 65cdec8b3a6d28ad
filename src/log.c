/*
 * log.c: one line per decision, to stderr (never to the FastCGI error
 * stream, which nginx would log at error level).  Each line carries a UTC
 * timestamp, the process role and pid, and, while a runner has a record
 * in hand, the request id of that record's action (log_context), so that
 * grep req-<uuid> finds the request and everything done for it.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "ferry/app.h"

static const char *log_name = "ferryd";
static int log_dbg;
static char log_ctx[64];        /* "req-<uuid>" or "" */

void log_init(const char *name, int debug)
{
    log_name = name;
    log_dbg = debug;
}

static void vlog(const char *level, const char *fmt, va_list ap)
{
    char ts[32], line[2048];
    struct timespec now;
    struct tm tm;
    int n;

    clock_gettime(CLOCK_REALTIME, &now);
    gmtime_r(&now.tv_sec, &tm);
    strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
    n = snprintf(line, sizeof(line), "%s.%03ldZ %s[%d] %s: ", ts,
                 now.tv_nsec / 1000000, log_name, (int) getpid(), level);
    if (n > 0 && n < (int) sizeof(line)) {
        vsnprintf(line + n, sizeof(line) - (size_t) n, fmt, ap);
    }
    fprintf(stderr, "%s%s%s\n", line, log_ctx[0] ? " " : "", log_ctx);
}

void log_context(const char *request_id)
{
    snprintf(log_ctx, sizeof(log_ctx), "%s", request_id ? request_id : "");
}

void log_info(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vlog("info", fmt, ap);
    va_end(ap);
}

void log_error(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vlog("error", fmt, ap);
    va_end(ap);
}

void log_debug(const char *fmt, ...)
{
    va_list ap;

    if (!log_dbg) {
        return;
    }
    va_start(ap, fmt);
    vlog("debug", fmt, ap);
    va_end(ap);
}
