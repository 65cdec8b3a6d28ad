/*
 * http.h: one request and its response, as the handlers see them.
 *
 * fcgi.c fills struct req from the FastCGI params nginx sends and writes
 * struct resp back; nothing else speaks FastCGI.  Every string in a req
 * lives in req->arena and dies with the request.  Identity comes only from
 * the FERRY_* params nginx sets from the token map, never from HTTP_*.
 */
#ifndef FERRY_HTTP_H
#define FERRY_HTTP_H

#include <stddef.h>
#include <stdint.h>
#include "ferry/util.h"
#include "ferry/policy.h"

#define REQ_BODY_MAX 114688 /* Nova's max_request_body_size */

struct json_object;

struct req {
    struct arena *arena;
    int64_t start_us;
    const char *method;
    const char *uri;              /* path as sent (no query), prefix removed */
    const char *query;            /* raw query string, "" when none */
    const char *prefix;           /* mount prefix, "" by default */
    const char *app_url;          /* scheme://host + prefix, as requested */
    const char *link_url;         /* the same for links in bodies, with
                                 * [ferryd] link_prefix applied */
    const char *base[2];          /* api_base(r, versioned), once made */
    const char *content_type;     /* or NULL */
    const char *accept;           /* or NULL */
    const char *hdr_api_version;  /* OpenStack-API-Version */
    const char *hdr_nova_version; /* X-OpenStack-Nova-API-Version */
    int64_t content_length;       /* -1 when absent */
    const char *body;             /* NUL-terminated copy, or NULL */
    size_t body_len;
    /* POST .../action: the parsed body, set by the dispatcher (which
     * frees it after the handler), else NULL */
    const struct json_object *action_body;
    int body_too_large;     /* 1: Content-Length over; 2: counted */
    const char *request_id; /* req-<uuid> */
    /* identity (from FERRY_* params only) */
    struct identity ident;
    const char *roles_raw;
    int authenticated;   /* FERRY_AUTHENTICATED: nginx took a token */
    int token_headers;   /* X-Auth-Token headers the client sent */
    int prefix_mismatch; /* REQUEST_URI is not under the prefix */
    int ops;             /* FERRY_OPS=1: nginx's operator location
                                 * (health.h) */
    int is_admin;        /* context_is_admin, set by the dispatcher */
    /* set by the dispatcher */
    int mv_minor;            /* microversion 2.<mv_minor> */
    const char *project_seg; /* project segment of the URL, or NULL */
    /* route captures, percent-decoded */
    const char *args[4];
    size_t nargs;
    void *ctx; /* struct app, for handlers */
};

struct resp_header {
    const char *name;
    const char *value;
};

struct resp {
    int status;
    const char *content_type; /* NULL: no body, no Content-Type */
    struct sbuf body;
    /* grown in the request arena by resp_header(); the array of a
     * finished request dies with its arena, so the owner clears a resp
     * for the next request by setting nheaders to 0 */
    struct resp_header *headers;
    size_t nheaders;
    size_t cap;
};

void resp_header(struct req *r, struct resp *w, const char *name,
                 const char *value);
const char *http_reason(int status);

#endif
