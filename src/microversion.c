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

/* The version of the last "compute" entry, or 0 if none. */
static int from_api_header(const char *h, char *out, size_t outsz)
{
    const char *end = h + strlen(h), *b, *e, *sp, *vb;
    size_t n;

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
            && strncasecmp(b, "compute", 7) == 0)
        {
            vb = sp;
            trim(&vb, &e);
            n = (size_t) (e - vb);
            if (n >= outsz) {
                n = outsz - 1;
            }
            memcpy(out, vb, n);
            out[n] = '\0';
            return 1;
        }
        if (b == h) {
            break;
        }
        end = b - 1;
    }
    return 0;
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

int mv_parse(const char *api, const char *nova, struct mv *out,
             struct ferr *err)
{
    char val[200];
    const char *b, *e, *dot;
    size_t nmaj, nmin;
    int minor;

    if (api != NULL && from_api_header(api, val, sizeof(val))) {
        /* found */
    } else if (nova != NULL) {
        b = strrchr(nova, ',');
        b = b ? b + 1 : nova;
        e = b + strlen(b);
        trim(&b, &e);
        snprintf(val, sizeof(val), "%.*s", (int) (e - b), b);
    } else {
        out->minor = MV_MIN;
        snprintf(out->echo, sizeof(out->echo), "2.%d", MV_MIN);
        return 0;
    }
    if (strcmp(val, "latest") == 0) {
        out->minor = MV_MAX;
        snprintf(out->echo, sizeof(out->echo), "2.%d", MV_MAX);
        return 0;
    }
    dot = strchr(val, '.');
    nmaj = dot ? (size_t) (dot - val) : 0;
    nmin = dot ? strlen(dot + 1) : 0;
    if (dot == NULL || !digits(val, nmaj) || !digits(dot + 1, nmin)
        || val[0] == '0' || (dot[1] == '0' && nmin > 1))
    {
        return ferr_set(err, FE_BADREQ, "API Version String %s is of invalid "
                        "format. Must be of format MajorNum.MinorNum.", val);
    }
    minor = nmin <= 3 ? atoi(dot + 1) : 100000;
    if (nmaj != 1 || val[0] != '2' || minor < MV_MIN || minor > MV_MAX) {
        snprintf(out->echo, sizeof(out->echo), "%s", val);
        return ferr_set(err, FE_NOTACCEPT, "Version %s is not supported by "
                        "the API. Minimum is 2.%d and maximum is 2.%d.", val,
                        MV_MIN, MV_MAX);
    }
    out->minor = minor;
    snprintf(out->echo, sizeof(out->echo), "2.%d", minor);
    return 0;
}
