/*
 * microversion.h: the Compute API microversion headers (spec §2).
 */
#ifndef FERRY_MICROVERSION_H
#define FERRY_MICROVERSION_H

#include "ferry/err.h"
#include "ferry/util.h"

#define MV_MIN 1  /* 2.1 */
#define MV_MAX 93 /* 2.93 */

struct mv {
    int minor;        /* resolved 2.<minor>, valid when rc == 0 */
    const char *echo; /* "X.Y" for the response headers (from the
                                 * arena, whole); set on success and on 406 */
};

/* api: OpenStack-API-Version, nova: X-OpenStack-Nova-API-Version (either
 * NULL when absent).  0; -FE_BADREQ for a malformed value (no version
 * headers go out); -FE_NOTACCEPT for a well-formed value out of range
 * (echo is set). */
int mv_parse(struct arena *a, const char *api, const char *nova, struct mv *out,
             struct ferr *err);

#endif
