/*
 * fcgi_proto.c: the FastCGI records ferryd reads and writes (FastCGI 1.0
 * specification, sections 3 to 8): a request's BEGIN_REQUEST, PARAMS and
 * STDIN streams in, its STDOUT stream and END_REQUEST out.
 *
 * Why not libfcgi: it allocated two streams with their buffers and every
 * param (name=value, one malloc each) for each request and freed them all
 * after it, a third of a request worker's time on a small GET; and serving
 * the connections nginx keeps needed its internals (ipcFd,
 * keepConnection).  Here a worker reuses one read buffer and two growing
 * buffers for every request, and a response leaves in one sendmsg.
 *
 * Only nginx may speak to ferryd (fcgi.c checks the peer), but a malformed
 * stream still only closes the connection: every length is checked
 * against what arrived, and the params and body are bounded.
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>
#include "ferry/fcgi_proto.h"

enum {
    REC_BEGIN_REQUEST = 1,
    REC_ABORT_REQUEST = 2,
    REC_END_REQUEST = 3,
    REC_PARAMS = 4,
    REC_STDIN = 5,
    REC_STDOUT = 6,
    REC_GET_VALUES = 9,
    REC_GET_VALUES_RESULT = 10,
    REC_UNKNOWN_TYPE = 11,
};

enum { ROLE_RESPONDER = 1, FLAG_KEEP_CONN = 1 };
enum { END_COMPLETE = 0, END_CANT_MPX_CONN = 1, END_UNKNOWN_ROLE = 3 };

#define HDR_LEN 8
#define REC_MAX 65528 /* content of one record we write: 8-aligned */

struct rec {
    int type;
    uint16_t id;
    size_t clen, plen;
};

void fcgi_in_init(struct fcgi_in *in)
{
    memset(in, 0, sizeof(*in));
    in->fd = -1;
    sbuf_init(&in->params);
    sbuf_init(&in->body);
}

void fcgi_in_free(struct fcgi_in *in)
{
    sbuf_free(&in->params);
    sbuf_free(&in->body);
}

void fcgi_in_attach(struct fcgi_in *in, int fd)
{
    in->fd = fd;
    in->off = in->len = 0;
}

/* Makes n (<= sizeof buf) bytes readable at buf + off: 1; 0 at the end
 * of the stream with nothing buffered; -1 on an error or a short end. */
static int need(struct fcgi_in *in, size_t n)
{
    if (in->len - in->off >= n) {
        return 1;
    }
    memmove(in->buf, in->buf + in->off, in->len - in->off);
    in->len -= in->off;
    in->off = 0;
    while (in->len < n) {
        ssize_t r = read(in->fd, in->buf + in->len, sizeof(in->buf) - in->len);

        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r <= 0) {
            return r == 0 && in->len == 0 ? 0 : -1;
        }
        in->len += (size_t) r;
    }
    return 1;
}

/* Passes n bytes of the stream: appended to to (NULL: dropped) while to
 * stays within max bytes, the rest dropped and *over set.  0 or -1. */
static int take(struct fcgi_in *in, size_t n, struct sbuf *to, size_t max,
                int *over)
{
    while (n > 0) {
        size_t k;

        if (need(in, 1) <= 0) {
            return -1;
        }
        k = in->len - in->off < n ? in->len - in->off : n;
        if (to != NULL) {
            size_t room = max - to->len, keep = k < room ? k : room;

            sbuf_putn(to, (const char *) in->buf + in->off, keep);
            *over |= keep < k;
        }
        in->off += k;
        n -= k;
    }
    return 0;
}

static void put_header(unsigned char *h, int type, uint16_t id, size_t clen)
{
    h[0] = 1;
    h[1] = (unsigned char) type;
    h[2] = (unsigned char) (id >> 8);
    h[3] = (unsigned char) id;
    h[4] = (unsigned char) (clen >> 8);
    h[5] = (unsigned char) clen;
    h[6] = 0; /* no padding */
    h[7] = 0;
}

/* All of iov (advanced in place), never raising SIGPIPE. */
static int send_all(int fd, struct iovec *iov, size_t n)
{
    while (n > 0) {
        struct msghdr m = { .msg_iov = iov, .msg_iovlen = n };
        ssize_t w = sendmsg(fd, &m, MSG_NOSIGNAL);

        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w < 0) {
            return -1;
        }
        while (n > 0 && (size_t) w >= iov->iov_len) {
            w -= (ssize_t) iov->iov_len;
            iov++;
            n--;
        }
        if (n > 0) {
            iov->iov_base = (char *) iov->iov_base + w;
            iov->iov_len -= (size_t) w;
        }
    }
    return 0;
}

static int send_end(int fd, uint16_t id, int protocol_status)
{
    unsigned char r[HDR_LEN + 8] = { 0 };
    struct iovec iov = { r, sizeof(r) };

    put_header(r, REC_END_REQUEST, id, 8);
    r[HDR_LEN + 4] = (unsigned char) protocol_status;
    return send_all(fd, &iov, 1);
}

/* A record for request id 0 (section 4): GET_VALUES gets an empty
 * result (ferryd has none of the variables to announce), anything else
 * UNKNOWN_TYPE. */
static int management(struct fcgi_in *in, const struct rec *h)
{
    unsigned char r[HDR_LEN + 8] = { 0 };
    struct iovec iov = { r, HDR_LEN };

    if (take(in, h->clen + h->plen, NULL, 0, NULL) < 0) {
        return -1;
    }
    if (h->type == REC_GET_VALUES) {
        put_header(r, REC_GET_VALUES_RESULT, 0, 0);
    } else {
        put_header(r, REC_UNKNOWN_TYPE, 0, 8);
        r[HDR_LEN] = (unsigned char) h->type;
        iov.iov_len = sizeof(r);
    }
    return send_all(in->fd, &iov, 1);
}

/* One length of a name-value pair (section 3.4): 1 byte, or 4 with the
 * top bit set. */
static int pair_len(const unsigned char *p, size_t n, size_t *pos, size_t *out)
{
    if (*pos >= n) {
        return -1;
    }
    if ((p[*pos] & 0x80) == 0) {
        *out = p[(*pos)++];
        return 0;
    }
    if (n - *pos < 4) {
        return -1;
    }
    *out = ((size_t) (p[*pos] & 0x7f) << 24) | ((size_t) p[*pos + 1] << 16)
        | ((size_t) p[*pos + 2] << 8) | p[*pos + 3];
    *pos += 4;
    return 0;
}

int fcgi_param_next(const struct fcgi_request *rq, size_t *pos,
                    const char **name, size_t *nlen, const char **value,
                    size_t *vlen)
{
    const unsigned char *p = rq->params;
    size_t n = rq->params_len;

    if (*pos >= n || pair_len(p, n, pos, nlen) < 0
        || pair_len(p, n, pos, vlen) < 0 || *nlen > n - *pos
        || *vlen > n - *pos - *nlen) {
        return 0;
    }
    *name = (const char *) p + *pos;
    *value = *name + *nlen;
    *pos += *nlen + *vlen;
    return 1;
}

/* The PARAMS stream is whole: every pair must fit exactly. */
static int params_valid(const struct fcgi_request *rq)
{
    const char *name, *value;
    size_t pos = 0, nlen, vlen;

    while (fcgi_param_next(rq, &pos, &name, &nlen, &value, &vlen)) {
    }
    return pos == rq->params_len;
}

struct reading {
    struct fcgi_in *in;
    struct fcgi_request *rq;
    size_t body_max;
    int began, params_done;
};

/* BEGIN_REQUEST: the one request of this connection begins, or another
 * is answered at once (a second one meanwhile: no multiplexing; another
 * role: unknown). */
static int on_begin(struct reading *st, const struct rec *h, const char **why)
{
    const unsigned char *b;
    int role, flags;

    if (h->clen != 8 || need(st->in, 8) <= 0) {
        *why = "malformed BEGIN_REQUEST";
        return -1;
    }
    b = st->in->buf + st->in->off;
    role = (b[0] << 8) | b[1];
    flags = b[2];
    st->in->off += 8;
    if (take(st->in, h->plen, NULL, 0, NULL) < 0) {
        *why = "connection closed mid-record";
        return -1;
    }
    if (st->began) {
        return send_end(st->in->fd, h->id, END_CANT_MPX_CONN);
    }
    if (role != ROLE_RESPONDER) {
        return send_end(st->in->fd, h->id, END_UNKNOWN_ROLE);
    }
    st->began = 1;
    st->rq->id = h->id;
    st->rq->keep_conn = (flags & FLAG_KEEP_CONN) != 0;
    return 0;
}

/* A record of the request begun: 1 when its STDIN has ended, 0 to go
 * on, -1 on a malformed stream. */
static int on_stream(struct reading *st, const struct rec *h, const char **why)
{
    struct fcgi_in *in = st->in;
    int over = 0;

    if (h->type == REC_ABORT_REQUEST) {
        *why = "request aborted";
        return -1;
    }
    if (h->type == REC_PARAMS && !st->params_done) {
        if (h->clen == 0) {
            st->params_done = 1;
            st->rq->params = (const unsigned char *) in->params.buf;
            st->rq->params_len = in->params.len;
            if (!params_valid(st->rq)) {
                *why = "malformed PARAMS";
                return -1;
            }
            return take(in, h->plen, NULL, 0, NULL);
        }
        if (take(in, h->clen, &in->params, FCGI_PARAMS_MAX, &over) < 0
            || over) {
            *why = over ? "PARAMS over FCGI_PARAMS_MAX" : "short PARAMS";
            return -1;
        }
        return take(in, h->plen, NULL, 0, NULL);
    }
    if (h->type == REC_STDIN && st->params_done) {
        if (h->clen == 0) {
            return take(in, h->plen, NULL, 0, NULL) < 0 ? -1 : 1;
        }
        if (take(in, h->clen, &in->body, st->body_max, &over) < 0) {
            *why = "short STDIN";
            return -1;
        }
        st->rq->body_over |= over;
        return take(in, h->plen, NULL, 0, NULL);
    }
    *why = "record out of order";
    return -1;
}

static int read_header(struct fcgi_in *in, struct rec *h)
{
    const unsigned char *b;
    int rc = need(in, HDR_LEN);

    if (rc <= 0) {
        return rc;
    }
    b = in->buf + in->off;
    in->off += HDR_LEN;
    if (b[0] != 1) {
        return -2;
    }
    h->type = b[1];
    h->id = (uint16_t) ((b[2] << 8) | b[3]);
    h->clen = ((size_t) b[4] << 8) | b[5];
    h->plen = b[6];
    return 1;
}

int fcgi_read_request(struct fcgi_in *in, size_t body_max,
                      struct fcgi_request *rq, const char **why)
{
    struct reading st = { in, rq, body_max, 0, 0 };
    struct rec h;
    int rc;

    *why = NULL;
    memset(rq, 0, sizeof(*rq));
    sbuf_reset(&in->params);
    sbuf_reset(&in->body);
    for (;;) {
        rc = read_header(in, &h);
        if (rc == 0 && !st.began) {
            return 0;
        }
        if (rc <= 0) {
            *why = rc == -2 ? "not FastCGI version 1"
                            : "connection closed mid-request";
            return -1;
        }
        if (h.id == 0) {
            rc = management(in, &h);
        } else if (h.type == REC_BEGIN_REQUEST) {
            rc = on_begin(&st, &h, why);
        } else if (!st.began || h.id != rq->id) {
            rc = take(in, h.clen + h.plen, NULL, 0, NULL); /* not ours */
        } else {
            rc = on_stream(&st, &h, why);
        }
        if (rc < 0) {
            *why = *why ? *why : "connection failed";
            return -1;
        }
        if (rc == 1) {
            rq->body = in->body.buf ? in->body.buf : "";
            rq->body_len = in->body.len;
            return 1;
        }
    }
}

/* The records of head and body, as many to a sendmsg as BATCH allows;
 * then the empty STDOUT and END_REQUEST. */
#define BATCH 32

int fcgi_write_response(int fd, uint16_t id, const char *head, size_t hlen,
                        const char *body, size_t blen)
{
    unsigned char hdr[BATCH][HDR_LEN], tail[2 * HDR_LEN + 8] = { 0 };
    struct iovec iov[3 * BATCH + 1];
    size_t niov = 0, nrec = 0;

    while (hlen > 0 || blen > 0) {
        size_t room = REC_MAX, k, at = niov++;

        if (hlen > 0) {
            k = hlen < room ? hlen : room;
            iov[niov++] = (struct iovec){ (void *) head, k };
            head += k, hlen -= k, room -= k;
        }
        if (blen > 0 && room > 0) {
            k = blen < room ? blen : room;
            iov[niov++] = (struct iovec){ (void *) body, k };
            body += k, blen -= k, room -= k;
        }
        put_header(hdr[nrec], REC_STDOUT, id, REC_MAX - room);
        iov[at] = (struct iovec){ hdr[nrec++], HDR_LEN };
        if (nrec == BATCH) {
            if (send_all(fd, iov, niov) < 0) {
                return -1;
            }
            niov = nrec = 0;
        }
    }
    put_header(tail, REC_STDOUT, id, 0);
    put_header(tail + HDR_LEN, REC_END_REQUEST, id, 8);
    tail[2 * HDR_LEN + 4] = END_COMPLETE;
    iov[niov++] = (struct iovec){ tail, sizeof(tail) };
    return send_all(fd, iov, niov);
}
