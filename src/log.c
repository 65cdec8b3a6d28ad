/*
 * log.c: one line per decision, to stderr (never to the FastCGI error
 * stream, which nginx would log at error level) or to syslog.  Each line
 * carries a UTC timestamp (syslog adds its own), the process role and
 * pid, and, while a runner has a record in hand, the request id of that
 * record's action (log_context), so that grep req-<uuid> finds the
 * request and everything done for it.  A migration's transitions are one
 * key=value line each, written only by log_migration.
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>
#include "ferry/app.h"
#include "ferry/log.h"
#include "ferry/store.h"

static const char *log_name = "ferryd";
static int log_dbg;
static int log_syslog;
static char log_ctx[64]; /* "req-<uuid>" or "" */
static pid_t log_pid;    /* getpid() of this process, 0: unknown */

/* A child of fork() asks for its own pid again at its first line. */
static void forget_pid(void)
{
    log_pid = 0;
}

void log_init(const char *name, int debug)
{
    static int registered;

    if (!registered) {
        pthread_atfork(NULL, NULL, forget_pid);
        registered = 1;
    }
    log_name = name;
    log_dbg = debug;
    if (log_syslog) {
        closelog();
        openlog(log_name, LOG_PID, LOG_DAEMON);
    }
}

void log_target(int target)
{
    if (target == LOG_TO_SYSLOG && !log_syslog) {
        openlog(log_name, LOG_PID, LOG_DAEMON);
    } else if (target != LOG_TO_SYSLOG && log_syslog) {
        closelog();
    }
    log_syslog = target == LOG_TO_SYSLOG;
}

/* Lines a request worker holds while requests keep coming (log_hold):
 * written in one write(2) when the worker finds no request waiting, when
 * the next line would not fit, or at once for an error. */
static char held[8192];
static size_t held_len;
static int holding;

static void write_all(const char *buf, size_t n)
{
    size_t done;
    ssize_t w;

    for (done = 0; done < n; done += (size_t) w) {
        w = write(STDERR_FILENO, buf + done, n - done);
        if (w < 0 && errno == EINTR) {
            w = 0;
        } else if (w <= 0) {
            return; /* nowhere to say it */
        }
    }
}

void log_flush(void)
{
    if (held_len > 0) {
        write_all(held, held_len);
        held_len = 0;
    }
}

void log_hold(int on)
{
    holding = on;
    if (!on) {
        log_flush();
    }
}

int log_held(void)
{
    return held_len > 0;
}

/* line[len] with the context and a newline, to stderr in one write (or
 * held, see above). */
static void write_line(const char *line, size_t len)
{
    char out[2048 + sizeof(log_ctx) + 2];
    size_t n = 0;

    memcpy(out, line, len);
    n = len;
    if (log_ctx[0] != '\0') {
        out[n++] = ' ';
        memcpy(out + n, log_ctx, strlen(log_ctx));
        n += strlen(log_ctx);
    }
    out[n++] = '\n';
    if (!holding) {
        write_all(out, n);
        return;
    }
    if (held_len + n > sizeof(held)) {
        log_flush();
    }
    memcpy(held + held_len, out, n);
    held_len += n;
}

/* A line is put together in one buffer and written with one write(2),
 * the time formatted by hand (util.c) and the pid remembered: one system
 * call a line (getpid was a second), no stdio pass over the line. */
static void vlog(const char *level, const char *fmt, va_list ap)
{
    char ts[20], line[2048];
    struct timespec now;
    struct tm tm;
    size_t len = 0;
    int n;

    if (log_syslog) {
        vsnprintf(line, sizeof(line), fmt, ap);
        syslog(level[0] == 'e'       ? LOG_ERR
                   : level[0] == 'd' ? LOG_DEBUG
                                     : LOG_INFO,
               "%s%s%s", line, log_ctx[0] ? " " : "", log_ctx);
        return;
    }
    if (log_pid == 0) {
        log_pid = getpid();
    }
    clock_gettime(CLOCK_REALTIME, &now);
    gmtime_r(&now.tv_sec, &tm);
    time_tmformat(&tm, ts);
    n = snprintf(line, sizeof(line), "%s.%03ldZ %s[%d] %s: ", ts,
                 now.tv_nsec / 1000000, log_name, (int) log_pid, level);
    if (n > 0 && n < (int) sizeof(line)) {
        len = (size_t) n;
        n = vsnprintf(line + len, sizeof(line) - len, fmt, ap);
        len += n > 0 ? (size_t) n : 0;
    }
    /* as fprintf("%s%s%s\n") did: the line cut to its buffer, then the
     * context and the newline in full */
    len = len < sizeof(line) ? len : sizeof(line) - 1;
    write_line(line, len);
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
    log_flush(); /* an error is not kept waiting */
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

/* " key=value", the value quoted when it holds a space, a quote, a
 * backslash or '=' (so the line splits on spaces), "-" when unknown;
 * control bytes become '?'. */
static void kv(char *line, size_t size, size_t *len, const char *key,
               const char *val)
{
    char v[512];
    size_t i, o = 0;
    int quote;

    if (val == NULL || *val == '\0') {
        val = "-";
    }
    quote = strpbrk(val, " \"\\=") != NULL;
    for (i = 0; val[i] != '\0' && o + 2 < sizeof(v); i++) {
        unsigned char c = (unsigned char) val[i];

        if (quote && (c == '"' || c == '\\')) {
            v[o++] = '\\';
        }
        v[o++] = c < 0x20 || c == 0x7f ? '?' : (char) c;
    }
    v[o] = '\0';
    if (*len < size) {
        int n = snprintf(line + *len, size - *len,
                         quote ? " %s=\"%s\"" : " %s=%s", key, v);

        *len += n > 0 ? (size_t) n : 0;
    }
}

/* the last status logged for a record in this process: the next line's
 * from= */
static int64_t last_id = -1;
static char last[32];

void log_migration(const struct migration *m)
{
    char line[2048], num[64];
    size_t len = 0;

    if (m->status == NULL
        || (m->id == last_id && strcmp(last, m->status) == 0)) {
        return;
    }
    snprintf(num, sizeof(num), "%lld", (long long) m->id);
    kv(line, sizeof(line), &len, "id", num);
    kv(line, sizeof(line), &len, "uuid", m->uuid);
    kv(line, sizeof(line), &len, "type", m->migration_type);
    kv(line, sizeof(line), &len, "from", m->id == last_id ? last : NULL);
    kv(line, sizeof(line), &len, "to", m->status);
    kv(line, sizeof(line), &len, "request_id", m->request_id);
    kv(line, sizeof(line), &len, "user", m->user_id);
    kv(line, sizeof(line), &len, "project", m->project_id);
    kv(line, sizeof(line), &len, "server", m->instance_uuid);
    kv(line, sizeof(line), &len, "source", m->source_compute);
    kv(line, sizeof(line), &len, "dest", m->dest_compute);
    if (mig_status_ended(m->status)) {
        snprintf(num, sizeof(num), "%.3f", (double) m->total_time_ms / 1e3);
        kv(line, sizeof(line), &len, "total_s",
           m->total_time_ms > 0 ? num : NULL);
        snprintf(num, sizeof(num), "%lld", (long long) m->downtime_ms);
        kv(line, sizeof(line), &len, "downtime_ms",
           m->downtime_ms > 0 ? num : NULL);
        snprintf(
            num, sizeof(num), "%lld",
            (long long) ((m->memory_processed > 0 ? m->memory_processed : 0)
                         + (m->disk_processed > 0 ? m->disk_processed : 0)));
        kv(line, sizeof(line), &len, "bytes", num);
        kv(line, sizeof(line), &len, "reason", m->error_reason);
    }
    last_id = m->id;
    snprintf(last, sizeof(last), "%s", m->status);
    log_info("migration%s", line);
}

void log_migration_from(const struct migration *m, const char *from)
{
    last_id = m->id;
    snprintf(last, sizeof(last), "%s", from);
    log_migration(m);
}
