/*
 * fcgi_proto.h: the FastCGI wire protocol (the FastCGI 1.0 specification)
 * as ferryd speaks it to nginx: one request at a time per connection, the
 * responder role only.  No sockets are opened here and nothing is
 * allocated per request once the buffers have grown (fcgi.c serves the
 * connections).
 */
#ifndef FERRY_FCGI_PROTO_H
#define FERRY_FCGI_PROTO_H

#include <stddef.h>
#include <stdint.h>
#include "ferry/util.h"

/* The params of one request (name-value pairs) are refused above this
 * size: nginx sends a few KiB (its header buffers bound them). */
#define FCGI_PARAMS_MAX (1024 * 1024)

/* What a connection has sent and not yet been used; one per worker,
 * reused for every request of every connection it serves. */
struct fcgi_in {
    int fd;
    unsigned char buf[16384];
    size_t off, len;
    struct sbuf params; /* the PARAMS stream, whole */
    struct sbuf body;   /* the STDIN stream, up to body_max bytes */
};

struct fcgi_request {
    uint16_t id;
    int keep_conn; /* FCGI_KEEP_CONN: the connection stays open */
    /* the name-value pairs, checked: iterate with fcgi_param_next */
    const unsigned char *params;
    size_t params_len;
    const char *body; /* NUL-terminated, body_len bytes */
    size_t body_len;
    int body_over; /* STDIN went beyond body_max: the rest was read and
                    * dropped, body holds the first body_max bytes */
};

void fcgi_in_init(struct fcgi_in *in);
void fcgi_in_free(struct fcgi_in *in);
/* Starts reading a connection (what was buffered from another is gone). */
void fcgi_in_attach(struct fcgi_in *in, int fd);

/* Reads one request from in->fd (blocking reads): 1 and *rq filled,
 * 0 when the peer closed the connection before a request began, -1 on a
 * read error or a malformed stream (*why says which).  Management
 * records and requests of other roles are answered on the way, as the
 * specification asks.  rq points into in until the next call. */
int fcgi_read_request(struct fcgi_in *in, size_t body_max,
                      struct fcgi_request *rq, const char **why);

/* The next pair at *pos of rq's params: 1 and the name and value with
 * their lengths (not NUL-terminated), 0 at the end. */
int fcgi_param_next(const struct fcgi_request *rq, size_t *pos,
                    const char **name, size_t *nlen, const char **value,
                    size_t *vlen);

/* Writes the response to request id: head (status line and headers, as
 * CGI) and body as STDOUT records, then END_REQUEST; blocking, all of
 * it.  0, or -1 with errno when the connection failed. */
int fcgi_write_response(int fd, uint16_t id, const char *head, size_t hlen,
                        const char *body, size_t blen);

#endif
