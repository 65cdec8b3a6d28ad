/* test_fcgi_proto.c: the FastCGI records ferryd reads and writes
 * (fcgi_proto.c), over a real socketpair: streams split anywhere, kept
 * connections, bounds, management records, malformed input. */
#include <pthread.h>
#include <sys/wait.h>
#include <sys/socket.h>
#include <unistd.h>
#include "unit.h"
#include "ferry/fcgi_proto.h"

enum { BEGIN = 1, ABORT = 2, END = 3, PARAMS = 4, STDIN = 5, STDOUT = 6 };

/* A byte stream as nginx would send it. */
static void rec(struct sbuf *s, int type, int id, const void *c, size_t n,
                int pad)
{
    unsigned char h[8] = { 1,
                           (unsigned char) type,
                           (unsigned char) (id >> 8),
                           (unsigned char) id,
                           (unsigned char) (n >> 8),
                           (unsigned char) n,
                           (unsigned char) pad,
                           0 };

    sbuf_putn(s, (const char *) h, 8);
    sbuf_putn(s, c, n);
    while (pad-- > 0) {
        sbuf_putc(s, 'P');
    }
}

static void begin(struct sbuf *s, int id, int role, int keep)
{
    unsigned char b[8] = { 0, (unsigned char) role, (unsigned char) keep };

    rec(s, BEGIN, id, b, 8, 0);
}

static void pair(struct sbuf *s, const char *n, const char *v)
{
    size_t ln = strlen(n), lv = strlen(v), i;
    size_t l[2] = { ln, lv };

    for (i = 0; i < 2; i++) {
        if (l[i] < 128) {
            sbuf_putc(s, (char) l[i]);
        } else {
            sbuf_putc(s, (char) (0x80 | (l[i] >> 24)));
            sbuf_putc(s, (char) (l[i] >> 16));
            sbuf_putc(s, (char) (l[i] >> 8));
            sbuf_putc(s, (char) l[i]);
        }
    }
    sbuf_puts(s, n);
    sbuf_puts(s, v);
}

/* A whole request: params pairs split into records of at most cut
 * bytes (anywhere, also inside a pair), body likewise. */
static void request(struct sbuf *s, int id, int keep, const struct sbuf *pp,
                    const char *body, size_t blen, size_t cut)
{
    size_t off;

    begin(s, id, 1, keep);
    for (off = 0; off < pp->len; off += cut) {
        rec(s, PARAMS, id, pp->buf + off,
            pp->len - off < cut ? pp->len - off : cut, (int) (off % 3));
    }
    rec(s, PARAMS, id, "", 0, 0);
    for (off = 0; off < blen; off += cut) {
        rec(s, STDIN, id, body + off, blen - off < cut ? blen - off : cut, 0);
    }
    rec(s, STDIN, id, "", 0, 0);
}

struct feed {
    int fd;
    const struct sbuf *data;
};

static void *writer(void *arg)
{
    struct feed *f = arg;
    size_t off = 0;

    while (off < f->data->len) {
        ssize_t w = write(f->fd, f->data->buf + off, f->data->len - off);

        if (w <= 0) {
            break;
        }
        off += (size_t) w;
    }
    shutdown(f->fd, SHUT_WR);
    return NULL;
}

/* Connects in to a peer that sends data (then ends its side); sv[1] is
 * left open to read what the reader answered. */
static void connect_feed(struct fcgi_in *in, int sv[2], pthread_t *t,
                         struct feed *f, const struct sbuf *data)
{
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    f->fd = sv[1];
    f->data = data;
    pthread_create(t, NULL, writer, f);
    fcgi_in_attach(in, sv[0]);
}

static const char *param_of(const struct fcgi_request *rq, const char *name)
{
    static char v[400];
    const char *n, *val;
    size_t pos = 0, nl, vl;

    while (fcgi_param_next(rq, &pos, &n, &nl, &val, &vl)) {
        if (nl == strlen(name) && memcmp(n, name, nl) == 0 && vl < sizeof(v)) {
            memcpy(v, val, vl);
            v[vl] = '\0';
            return v;
        }
    }
    return NULL;
}

static void test_kept_connection(void)
{
    struct fcgi_in in;
    struct fcgi_request rq;
    struct sbuf s, pp;
    struct feed f;
    pthread_t t;
    const char *why;
    char longv[300];
    int sv[2];

    memset(longv, 'v', sizeof(longv) - 1);
    longv[sizeof(longv) - 1] = '\0';
    sbuf_init(&s);
    sbuf_init(&pp);
    pair(&pp, "REQUEST_METHOD", "POST");
    pair(&pp, "HTTP_X_LONG", longv); /* 4-byte length */
    pair(&pp, "EMPTY", "");
    request(&s, 1, 1, &pp, "{\"a\": 1}", 8, 5); /* cut inside pairs */
    rec(&s, PARAMS, 9, "junk", 4, 0);           /* another id: ignored */
    request(&s, 2, 0, &pp, NULL, 0, 1000);
    fcgi_in_init(&in);
    connect_feed(&in, sv, &t, &f, &s);

    CHECK_INT(fcgi_read_request(&in, 100, &rq, &why), 1);
    CHECK_INT(rq.id, 1);
    CHECK_INT(rq.keep_conn, 1);
    CHECK_STR(param_of(&rq, "REQUEST_METHOD"), "POST");
    CHECK_STR(param_of(&rq, "HTTP_X_LONG"), longv);
    CHECK_STR(param_of(&rq, "EMPTY"), "");
    CHECK(param_of(&rq, "MISSING") == NULL);
    CHECK_INT(rq.body_len, 8);
    CHECK_STR(rq.body, "{\"a\": 1}");
    CHECK_INT(rq.body_over, 0);

    CHECK_INT(fcgi_read_request(&in, 100, &rq, &why), 1);
    CHECK_INT(rq.id, 2);
    CHECK_INT(rq.keep_conn, 0);
    CHECK_INT(rq.body_len, 0);
    CHECK_STR(param_of(&rq, "HTTP_X_LONG"), longv);
    /* nginx closed the connection between requests */
    CHECK_INT(fcgi_read_request(&in, 100, &rq, &why), 0);
    pthread_join(t, NULL);
    close(sv[0]);
    close(sv[1]);
    fcgi_in_free(&in);
    sbuf_free(&s);
    sbuf_free(&pp);
}

/* A body over the limit is read to its end (the stream stays in step
 * for the next request) and only its first bytes kept. */
static void test_body_over(void)
{
    struct fcgi_in in;
    struct fcgi_request rq;
    struct sbuf s, pp, body;
    struct feed f;
    pthread_t t;
    const char *why;
    int sv[2], i;

    sbuf_init(&s);
    sbuf_init(&pp);
    sbuf_init(&body);
    for (i = 0; i < 200000; i++) {
        sbuf_putc(&body, (char) ('a' + i % 26));
    }
    pair(&pp, "REQUEST_METHOD", "PUT");
    request(&s, 1, 1, &pp, body.buf, body.len, 65535);
    request(&s, 1, 1, &pp, "x", 1, 10);
    fcgi_in_init(&in);
    connect_feed(&in, sv, &t, &f, &s);
    CHECK_INT(fcgi_read_request(&in, 1000, &rq, &why), 1);
    CHECK_INT(rq.body_over, 1);
    CHECK(rq.body_len <= 1000);
    CHECK(memcmp(rq.body, body.buf, rq.body_len) == 0);
    CHECK_INT(fcgi_read_request(&in, 1000, &rq, &why), 1);
    CHECK_INT(rq.body_over, 0);
    CHECK_STR(rq.body, "x");
    pthread_join(t, NULL);
    close(sv[0]);
    close(sv[1]);
    fcgi_in_free(&in);
    sbuf_free(&s);
    sbuf_free(&pp);
    sbuf_free(&body);
}

/* Read what the reader answered on the way (the peer's side). */
static size_t answers(int fd, unsigned char *buf, size_t cap)
{
    size_t n = 0;
    ssize_t r;

    shutdown(fd, SHUT_WR);
    while (n < cap && (r = recv(fd, buf + n, cap - n, MSG_DONTWAIT)) > 0) {
        n += (size_t) r;
    }
    return n;
}

/* GET_VALUES and unknown management records, a role other than
 * responder, a second request meanwhile: each answered as the
 * specification says, and the request still read. */
static void test_answered_on_the_way(void)
{
    struct fcgi_in in;
    struct fcgi_request rq;
    struct sbuf s, pp;
    struct feed f;
    pthread_t t;
    const char *why;
    unsigned char a[256];
    int sv[2];

    sbuf_init(&s);
    sbuf_init(&pp);
    pair(&pp, "REQUEST_METHOD", "GET");
    rec(&s, 9, 0,
        "\x0e\x00"
        "FCGI_MAX_CONNS",
        16, 0);               /* GET_VALUES */
    rec(&s, 42, 0, "", 0, 0); /* unknown type */
    begin(&s, 7, 2, 0);       /* authorizer */
    begin(&s, 3, 1, 1);
    begin(&s, 4, 1, 1); /* multiplexing: refused */
    rec(&s, PARAMS, 3, pp.buf, pp.len, 0);
    rec(&s, PARAMS, 3, "", 0, 0);
    rec(&s, STDIN, 3, "", 0, 0);
    fcgi_in_init(&in);
    connect_feed(&in, sv, &t, &f, &s);
    CHECK_INT(fcgi_read_request(&in, 100, &rq, &why), 1);
    CHECK_INT(rq.id, 3);
    CHECK_STR(param_of(&rq, "REQUEST_METHOD"), "GET");
    pthread_join(t, NULL);
    CHECK_INT(answers(sv[1], a, sizeof(a)), 8 + 16 + 16 + 16);
    CHECK_INT(a[1], 10);         /* GET_VALUES_RESULT */
    CHECK_INT(a[8 + 1], 11);     /* UNKNOWN_TYPE */
    CHECK_INT(a[8 + 8], 42);     /* ... of type 42 */
    CHECK_INT(a[24 + 1], END);   /* the authorizer's end */
    CHECK_INT(a[24 + 3], 7);     /* ... for request 7 */
    CHECK_INT(a[24 + 8 + 4], 3); /* FCGI_UNKNOWN_ROLE */
    CHECK_INT(a[40 + 3], 4);     /* request 4 ... */
    CHECK_INT(a[40 + 8 + 4], 1); /* FCGI_CANT_MPX_CONN */
    close(sv[0]);
    close(sv[1]);
    fcgi_in_free(&in);
    sbuf_free(&s);
    sbuf_free(&pp);
}

/* Each malformed stream is refused (-1) with a reason, never read past. */
static void check_refused(const struct sbuf *s, const char *want_why)
{
    struct fcgi_in in;
    struct fcgi_request rq;
    struct feed f;
    pthread_t t;
    const char *why = NULL;
    int sv[2];

    fcgi_in_init(&in);
    connect_feed(&in, sv, &t, &f, s);
    CHECK_INT(fcgi_read_request(&in, 100, &rq, &why), -1);
    CHECK_STR(why, want_why);
    close(sv[0]); /* the writer of a big stream stops (EPIPE) */
    pthread_join(t, NULL);
    close(sv[1]);
    fcgi_in_free(&in);
}

static void test_malformed(void)
{
    struct sbuf s, pp;
    size_t i;

    sbuf_init(&pp);
    pair(&pp, "A", "b");
    sbuf_init(&s);
    sbuf_puts(&s, "GET / HTTP/1.1\r\n\r\n");
    check_refused(&s, "not FastCGI version 1");
    sbuf_reset(&s);
    begin(&s, 1, 1, 0);
    rec(&s, PARAMS, 1, pp.buf, pp.len, 0);
    s.len -= 1; /* cut inside a record */
    check_refused(&s, "short PARAMS");
    sbuf_reset(&s);
    begin(&s, 1, 1, 0);
    rec(&s, PARAMS, 1,
        "\x05\x01"
        "AB",
        4, 0); /* name longer than sent */
    rec(&s, PARAMS, 1, "", 0, 0);
    check_refused(&s, "malformed PARAMS");
    sbuf_reset(&s);
    begin(&s, 1, 1, 0);
    rec(&s, STDIN, 1, "x", 1, 0); /* before the params ended */
    check_refused(&s, "record out of order");
    sbuf_reset(&s);
    rec(&s, BEGIN, 1, "\0\1\0", 3, 0);
    check_refused(&s, "malformed BEGIN_REQUEST");
    sbuf_reset(&s);
    begin(&s, 1, 1, 0);
    rec(&s, ABORT, 1, "", 0, 0);
    check_refused(&s, "request aborted");
    sbuf_reset(&s);
    begin(&s, 1, 1, 0);
    for (i = 0; i <= FCGI_PARAMS_MAX / 60000; i++) {
        char chunk[60000];

        memset(chunk, 'p', sizeof(chunk));
        rec(&s, PARAMS, 1, chunk, sizeof(chunk), 0);
    }
    check_refused(&s, "PARAMS over FCGI_PARAMS_MAX");
    sbuf_reset(&s);
    begin(&s, 1, 1, 0);
    check_refused(&s, "connection closed mid-request");
    sbuf_free(&s);
    sbuf_free(&pp);
}

/* A response parsed back: its STDOUT records joined equal head + body,
 * none over 65535 bytes, then the empty STDOUT and END_REQUEST. */
static void check_response(size_t blen)
{
    struct sbuf got, body;
    const char *head = "Status: 200 OK\r\nContent-Length: 0\r\n\r\n";
    unsigned char *p, *buf;
    size_t n = 0, cap = blen + 4096, off = 0, hlen = strlen(head);
    int sv[2], records = 0, ended = 0;
    ssize_t r;

    sbuf_init(&got);
    sbuf_init(&body);
    while (body.len < blen) {
        sbuf_putc(&body, (char) ('A' + body.len % 50));
    }
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    buf = malloc(cap);
    if (fork() == 0) {
        close(sv[1]);
        _exit(fcgi_write_response(sv[0], 258, head, hlen, body.buf, blen) != 0);
    }
    close(sv[0]);
    while ((r = read(sv[1], buf + n, cap - n)) > 0) {
        n += (size_t) r;
    }
    while (off + 8 <= n && !ended) {
        size_t clen = ((size_t) buf[off + 4] << 8) | buf[off + 5];

        p = buf + off;
        CHECK(p[0] == 1 && p[2] == 1 && p[3] == 2); /* id 258 */
        if (p[1] == STDOUT && clen > 0) {
            sbuf_putn(&got, (const char *) p + 8, clen);
            records++;
        } else if (p[1] == END) {
            ended = 1;
        }
        off += 8 + clen + p[6];
    }
    CHECK(ended);
    CHECK_INT(off, n);
    CHECK_INT(got.len, hlen + blen);
    CHECK(got.len >= hlen && memcmp(got.buf, head, hlen) == 0);
    CHECK(blen == 0 || memcmp(got.buf + hlen, body.buf, blen) == 0);
    CHECK(records == (int) ((hlen + blen + 65527) / 65528));
    wait(NULL);
    close(sv[1]);
    free(buf);
    sbuf_free(&got);
    sbuf_free(&body);
}

int main(void)
{
    test_kept_connection();
    test_body_over();
    test_answered_on_the_way();
    test_malformed();
    check_response(0);
    check_response(100);
    check_response(65528);
    check_response(3 * 1024 * 1024); /* more records than one batch */
    return unit_done("test_fcgi_proto");
}
