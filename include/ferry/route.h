/*
 * route.h: the request line as the dispatcher reads it (spec §1.1, §3.1
 * steps 3, 5 and 6): the path under /v2.1/ split into percent-decoded
 * segments, the project segment, the route table (method + segments →
 * handler), the Content-Type check, the action key of a POST .../action
 * body, and the query string.  Pure functions over strings and an arena:
 * no FastCGI, no store, so unit tests and the fuzz target call them as is.
 */
#ifndef FERRY_ROUTE_H
#define FERRY_ROUTE_H

#include <stddef.h>
#include "ferry/api.h"
#include "ferry/err.h"
#include "ferry/json.h"
#include "ferry/util.h"

#define ROUTE_SEGS 5     /* segments of the longest route */
#define ROUTE_MAX_ARGS 4 /* captures ("*") of one route */

struct route {
    const char *method;
    const char *seg[ROUTE_SEGS];  /* "*" captures a segment */
    handler_fn fn;                /* NULL for the .../action routes */
    int min_mv;                   /* below it: 404 itemNotFound */
    const struct action *actions; /* POST .../action routes */
};

struct route_hit {
    const struct route *rt;           /* NULL: no route (the plain 404) */
    const char *project;              /* project segment, or NULL */
    const char *args[ROUTE_MAX_ARGS]; /* captures, percent-decoded */
    size_t nargs;
};

/* Routes method + path, path being what follows "/v2.1/" (no query).
 * Sets hit->rt to NULL when nothing matches. */
void route_find(struct arena *a, const char *method, const char *path,
                struct route_hit *hit);

/* 1 when a request with this Content-Type header (NULL: absent) may go
 * on, 0 for the 415. */
int route_content_type_ok(const char *ct);

/* The action of a POST .../action body: 0 with *act and *body set (the
 * caller json_free()s it), or a negative FE_* code with err filled. */
int route_action(const struct route *rt, const char *buf, size_t len,
                 const struct action **act, jnode **body, struct ferr *err);

/* The path with every run of slashes merged into one, as Nova's URLMap
 * does before routing (a trailing slash stays). */
const char *route_merge_slashes(struct arena *a, const char *path);

/* The base of links: app_url, or with link_prefix (NULL: none) its
 * scheme and host, its path put before the mount prefix. */
const char *route_link_url(struct arena *a, const char *link_prefix,
                           const char *app_url, const char *prefix);

/* Percent-decodes n bytes of s into the arena (plus: '+' is a space); a
 * decoded NUL is written as NUL_ESC (util.h). */
char *route_pct_decode(struct arena *a, const char *s, size_t n, int plus);

#endif
