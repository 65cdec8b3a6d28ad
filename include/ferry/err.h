/*
 * err.h: the one error type every module reports through.
 *
 * A function that can fail returns 0 or a negative FE_* code and, on the
 * first failure, fills the caller-owned struct ferr with the code and the
 * message the client should see (Nova's exact text where one exists).
 * Callers pass the struct up unchanged.  Only fault.c turns a code into an
 * HTTP status and a fault key.  A caller that passes a callee's failure up
 * returns ferr_fail(err), never -err->code: a failure is never 0.
 *
 * Out of memory, one policy: the arena and sbuf (util.c) never return
 * NULL, they abort the process (the master restarts a worker; a runner's
 * records are taken over).  Every other allocation (malloc, calloc,
 * strdup, a library's allocating call) is checked where it is made: the
 * function fills FE_NOMEM "out of memory", frees what it took and fails.
 */
#ifndef FERRY_ERR_H
#define FERRY_ERR_H

#include <stdarg.h>

enum fe_code {
    FE_OK = 0,
    FE_BADREQ,      /* 400 badRequest */
    FE_UNAUTH,      /* 401 */
    FE_FORBIDDEN,   /* 403 forbidden */
    FE_NOTFOUND,    /* 404 itemNotFound */
    FE_NOTACCEPT,   /* 406 computeFault (microversion out of range) */
    FE_CONFLICT,    /* 409 conflictingRequest */
    FE_TOOLARGE,    /* 413 */
    FE_MEDIATYPE,   /* 415 badMediaType */
    FE_INTERNAL,    /* 500 computeFault */
    FE_UNAVAILABLE, /* 503: a libvirt host or the store cannot be reached */
    FE_CONFIG,      /* configuration or policy file error (start-up) */
    FE_NOMEM,
    FE__COUNT
};

#define FERR_MSG_MAX 4096

struct ferr {
    int code;               /* enum fe_code, 0 when clear */
    char msg[FERR_MSG_MAX]; /* NUL-terminated; truncated if longer */
    char *longmsg;          /* heap copy when msg was too short, or NULL */
};

/* Sets e (only if still clear) and returns -code. */
int ferr_set(struct ferr *e, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int ferr_vset(struct ferr *e, int code, const char *fmt, va_list ap);
/* The message, whole (longmsg if set). */
const char *ferr_msg(const struct ferr *e);
void ferr_clear(struct ferr *e);

/* The failure e holds, as a return value: -code, or FE_INTERNAL filled
 * when a callee failed without saying why (a bug, never a success). */
static inline int ferr_fail(struct ferr *e)
{
    return e->code != 0 ? -e->code
                        : ferr_set(e, FE_INTERNAL, "failed without a reason");
}

#endif
