/*
 * err.c: the struct ferr every module reports through (see err.h).
 * The first failure wins: a set error is never overwritten, so the message
 * the client sees names the real cause, not a caller's summary of it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ferry/err.h"

int ferr_vset(struct ferr *e, int code, const char *fmt, va_list ap)
{
    va_list ap2;
    int n;

    if (e == NULL) {
        return -code;
    }
    if (e->code != 0) {
        return -e->code;
    }
    e->code = code;
    e->longmsg = NULL;
    va_copy(ap2, ap);
    n = vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
    if (n >= (int) sizeof(e->msg)) {
        e->longmsg = malloc((size_t) n + 1);
        if (e->longmsg != NULL) {
            vsnprintf(e->longmsg, (size_t) n + 1, fmt, ap2);
        }
    }
    va_end(ap2);
    return -code;
}

int ferr_set(struct ferr *e, int code, const char *fmt, ...)
{
    va_list ap;
    int rc;

    va_start(ap, fmt);
    rc = ferr_vset(e, code, fmt, ap);
    va_end(ap);
    return rc;
}

const char *ferr_msg(const struct ferr *e)
{
    return e->longmsg != NULL ? e->longmsg : e->msg;
}

void ferr_clear(struct ferr *e)
{
    free(e->longmsg);
    e->longmsg = NULL;
    e->code = 0;
    e->msg[0] = '\0';
}
