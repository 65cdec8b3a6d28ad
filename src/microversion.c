/*
 * microversion.c: resolves the requested microversion from the two request
 * headers (spec §2).  The newer OpenStack-API-Version header wins when it
 * has a "compute" entry; the legacy header is used otherwise; no header
 * means 2.1.  Only "latest" and MAJOR.MINOR without leading zeros parse.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ferry/microversion.h"

/* Trims [*b, *e) in place. */
static void trim(const char **b, const char **e)
{
    while (*b < *e && isspace((unsigned char) **b)) {
        (*b)++;
    }
    while (*e > *b && isspace((unsigned char) (*e)[-1])) {
        (*e)--;
    }
}

/* The version of the last "compute" entry (whole, from the arena), or
 * NULL if none. */
static char *from_api_header(struct arena *a, const char *h)
{
    const char *end = h + strlen(h), *b, *e, *sp, *vb;

    while (end >= h) {
        b = end;
        while (b > h && b[-1] != ',') {
            b--;
        }
        e = end;
        trim(&b, &e);
        for (sp = b; sp < e && !isspace((unsigned char) *sp); sp++) {
        }
        if (sp < e && (size_t) (sp - b) == 7
            && strncasecmp(b, "compute", 7) == 0) {
            vb = sp;
            trim(&vb, &e);
            return arena_strndup(a, vb, (size_t) (e - vb));
        }
        if (b == h) {
            break;
        }
        end = b - 1;
    }
    return NULL;
}

static int digits(const char *s, size_t n)
{
    size_t i;

    if (n == 0) {
        return 0;
    }
    for (i = 0; i < n; i++) {
        if (!isdigit((unsigned char) s[i])) {
            return 0;
        }
    }
    return 1;
}

int mv_parse(struct arena *a, const char *api, const char *nova, struct mv *out,
             struct ferr *err)
{
    char *val = NULL;
    const char *b, *e, *dot;
    size_t nmaj, nmin;
    int minor;

    if (api != NULL) {
        val = from_api_header(a, api);
    }
    if (val == NULL && nova != NULL) {
        b = strrchr(nova, ',');
        b = b ? b + 1 : nova;
        e = b + strlen(b);
        trim(&b, &e);
        val = arena_strndup(a, b, (size_t) (e - b));
    }
    if (val == NULL) {
        out->minor = MV_MIN;
        out->echo = arena_printf(a, "2.%d", MV_MIN);
        return 0;
    }
    if (strcmp(val, "latest") == 0) {
        out->minor = MV_MAX;
        out->echo = arena_printf(a, "2.%d", MV_MAX);
        return 0;
    }
    dot = strchr(val, '.');
    nmaj = dot ? (size_t) (dot - val) : 0;
    nmin = dot ? strlen(dot + 1) : 0;
    if (dot == NULL || !digits(val, nmaj) || !digits(dot + 1, nmin)
        || val[0] == '0' || (dot[1] == '0' && nmin > 1)) {
        return ferr_set(err, FE_BADREQ,
                        "API Version String %s is of invalid "
                        "format. Must be of format MajorNum.MinorNum.",
                        val);
    }
    minor = nmin <= 3 ? atoi(dot + 1) : 100000;
    if (nmaj != 1 || val[0] != '2' || minor < MV_MIN || minor > MV_MAX) {
        out->echo = val;
        return ferr_set(err, FE_NOTACCEPT,
                        "Version %s is not supported by "
                        "the API. Minimum is 2.%d and maximum is 2.%d.",
                        val, MV_MIN, MV_MAX);
    }
    out->minor = minor;
    out->echo = arena_printf(a, "2.%d", minor);
    return 0;
}
