/*
 * fault.c: maps ferry's error codes to HTTP and renders every error body.
 * Nova's faults (spec §3.2) are JSON with a fault key per status; errors
 * from outside Nova's resource layer (404 route miss, 413, 401 without a
 * user) use webob's plain/HTML/JSON templates chosen by Accept (§3.3).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ferry/fault.h"
#include "ferry/json.h"

struct fault_row {
    int code;
    int status;
    const char *key;
    const char *title;       /* webob title, for plain errors */
    const char *retry_after; /* Retry-After seconds, or NULL */
};

static const struct fault_row rows[] = {
    { FE_BADREQ, 400, "badRequest", "Bad Request", NULL },
    { FE_UNAUTH, 401, "unauthorized", "Unauthorized", NULL },
    { FE_FORBIDDEN, 403, "forbidden", "Forbidden", NULL },
    { FE_NOTFOUND, 404, "itemNotFound", "Not Found", NULL },
    { FE_NOTACCEPT, 406, "computeFault", "Not Acceptable", NULL },
    { FE_CONFLICT, 409, "conflictingRequest", "Conflict", NULL },
    { FE_TOOLARGE, 413, "overLimit", "Request Entity Too Large", NULL },
    { FE_MEDIATYPE, 415, "badMediaType", "Unsupported Media Type", NULL },
    { FE_UNAVAILABLE, 503, "serviceUnavailable", "Service Unavailable", "2" },
    { FE_INTERNAL, 500, "computeFault", "Internal Server Error", NULL },
};

static const struct fault_row *row_of(int code)
{
    size_t i;

    for (i = 0; i < ARRAY_LEN(rows); i++) {
        if (rows[i].code == code) {
            return &rows[i];
        }
    }
    return &rows[ARRAY_LEN(rows) - 1]; /* anything else: 500 */
}

int fault_status(int code)
{
    return row_of(code)->status;
}

static const char internal_msg[] =
    "Unexpected API Error. Please report this at "
    "http://bugs.launchpad.net/nova/ and attach the Nova API log if "
    "possible.\n<class 'ferry.InternalError'>";

void fault_json(struct req *r, struct resp *w, const struct ferr *e)
{
    const struct fault_row *row = row_of(e->code);
    const char *msg = ferr_msg(e);
    struct jw j;

    if (row->status == 500) {
        msg = internal_msg;
    }
    w->status = row->status;
    w->content_type = "application/json; charset=UTF-8";
    if (row->retry_after != NULL) {
        resp_header(r, w, "Retry-After", row->retry_after);
    }
    sbuf_reset(&w->body);
    jw_init(&j, &w->body);
    jw_obj_open(&j);
    jw_key(&j, row->key);
    jw_obj_open(&j);
    jw_kint(&j, "code", row->status);
    jw_kstr(&j, "message", msg);
    jw_obj_close(&j);
    jw_obj_close(&j);
}

/* The q-value the Accept header gives to type/subtype: the most specific
 * matching range decides (RFC 7231 §5.3.2).  -1 when nothing matches. */
static double accept_q(const char *accept, const char *type)
{
    const char *p = accept, *slash = strchr(type, '/');
    double best_q = -1;
    int best_spec = -1;

    while (*p != '\0') {
        const char *end = strchr(p, ','), *semi, *b, *e;
        size_t n;
        int spec = -1;
        double q = 1.0;

        if (end == NULL) {
            end = p + strlen(p);
        }
        semi = memchr(p, ';', (size_t) (end - p));
        b = p;
        e = semi ? semi : end;
        while (b < e && isspace((unsigned char) *b)) {
            b++;
        }
        while (e > b && isspace((unsigned char) e[-1])) {
            e--;
        }
        n = (size_t) (e - b);
        if (n == 3 && strncmp(b, "*/*", 3) == 0) {
            spec = 0;
        } else if (n == (size_t) (slash - type) + 2
                   && strncasecmp(b, type, (size_t) (slash - type) + 1) == 0
                   && b[n - 1] == '*') {
            spec = 1;
        } else if (n == strlen(type) && strncasecmp(b, type, n) == 0) {
            spec = 2;
        }
        for (const char *s = semi; s != NULL && s < end;
             s = memchr(s + 1, ';', (size_t) (end - s - 1))) {
            const char *v = s + 1;

            while (v < end && isspace((unsigned char) *v)) {
                v++;
            }
            if (end - v > 2 && (v[0] == 'q' || v[0] == 'Q') && v[1] == '=') {
                q = strtod(v + 2, NULL);
            }
        }
        if (spec > best_spec) {
            best_spec = spec;
            best_q = q;
        }
        p = *end ? end + 1 : end;
    }
    return best_q;
}

void fault_plain(struct req *r, struct resp *w, int code,
                 const char *explanation)
{
    const struct fault_row *row = row_of(code);
    double qh = -1, qj = -1;
    struct jw j;
    char status[64];

    snprintf(status, sizeof(status), "%d %s", row->status, row->title);
    if (r->accept != NULL && r->accept[0] != '\0') {
        qh = accept_q(r->accept, "text/html");
        qj = accept_q(r->accept, "application/json");
    }
    w->status = row->status;
    sbuf_reset(&w->body);
    if (qh > 0 && qh >= qj) {
        w->content_type = "text/html; charset=UTF-8";
        sbuf_printf(&w->body,
                    "<html>\n <head>\n  <title>%s</title>\n "
                    "</head>\n <body>\n  <h1>%s</h1>\n  %s<br /><br />\n\n\n"
                    "\n </body>\n</html>",
                    status, status, explanation);
    } else if (qj > 0) {
        w->content_type = "application/json";
        jw_init(&j, &w->body);
        jw_obj_open(&j);
        {
            struct sbuf m;

            sbuf_init(&m);
            sbuf_printf(&m, "%s<br /><br />\n\n\n", explanation);
            jw_kstr(&j, "message", m.buf);
            sbuf_free(&m);
        }
        jw_kstr(&j, "code", status);
        jw_kstr(&j, "title", row->title);
        jw_obj_close(&j);
    } else {
        w->content_type = "text/plain; charset=UTF-8";
        sbuf_printf(&w->body, "%s\n\n%s\n\n   ", status, explanation);
    }
}

void resp_ok(struct resp *w)
{
    w->status = 200;
    w->content_type = "application/json";
}

void resp_accepted(struct resp *w)
{
    w->status = 202;
    w->content_type = "application/json";
    sbuf_reset(&w->body);
}

void resp_no_content(struct resp *w)
{
    w->status = 204;
    w->content_type = NULL;
    sbuf_reset(&w->body);
}

void resp_multiple_choices(struct resp *w)
{
    w->status = 300;
    w->content_type = "application/json";
}

const char *http_reason(int status)
{
    static const struct {
        int s;
        const char *t;
    } reasons[] = {
        { 200, "OK" },
        { 202, "Accepted" },
        { 204, "No Content" },
        { 300, "Multiple Choices" },
        { 400, "Bad Request" },
        { 401, "Unauthorized" },
        { 403, "Forbidden" },
        { 404, "Not Found" },
        { 406, "Not Acceptable" },
        { 409, "Conflict" },
        { 413, "Request Entity Too Large" },
        { 415, "Unsupported Media Type" },
        { 500, "Internal Server Error" },
        { 503, "Service Unavailable" },
    };
    size_t i;

    for (i = 0; i < ARRAY_LEN(reasons); i++) {
        if (reasons[i].s == status) {
            return reasons[i].t;
        }
    }
    return "Unknown";
}

void resp_header(struct req *r, struct resp *w, const char *name,
                 const char *value)
{
    struct resp_header *h;

    if (w->nheaders == 0) {
        w->headers = NULL; /* a new request: the old arena is gone */
        w->cap = 0;
    }
    if (w->nheaders == w->cap) {
        w->cap = w->cap ? 2 * w->cap : 16;
        h = arena_alloc(r->arena, w->cap * sizeof(*h));
        if (w->nheaders > 0) {
            memcpy(h, w->headers, w->nheaders * sizeof(*h));
        }
        w->headers = h;
    }
    w->headers[w->nheaders].name = name;
    w->headers[w->nheaders].value = value;
    w->nheaders++;
}
