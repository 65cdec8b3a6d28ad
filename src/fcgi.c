/*
 * fcgi.c: ferryd's FastCGI side.  Opens the listening unix socket (in
 * the master), and in each worker accepts connections, reads requests
 * (fcgi_proto.c), builds struct req from the params nginx sends (the body
 * kept up to Nova's limit), runs api_handle() and writes the response.
 *
 * Workers share the listening socket, which is non-blocking: each waits in
 * epoll together with its wake pipe, so SIGTERM is noticed at once.  The
 * socket is watched EPOLLEXCLUSIVE: a connection wakes one idle worker,
 * not all of them (each woken loser cost an accept4 and a poll, ~0.8 of
 * each per request with 2 workers); a worker that still loses the race
 * for a connection simply waits again.  A
 * request already accepted is always finished before the worker exits.
 *
 * Trust boundary: ferryd believes the FERRY_* identity params of whoever
 * speaks FastCGI to it, so only nginx may.  The socket is created 0600
 * (umask) and only then given its group and mode, and every connection
 * is accepted here and its peer (SO_PEERCRED) checked
 * against fastcgi_allow_uids / _gids before one byte of it is read; a
 * stranger's connection is closed unanswered and logged.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include "ferry/app.h"
#include "ferry/fcgi_proto.h"
#include "ferry/fault.h"
#include "ferry/log.h"
#include "ferry/metrics.h"

/* A listening unix socket at path, non-blocking, bound while the umask
 * makes it 0600; -1 with errno. */
static int listen_unix(const char *path)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    mode_t old_mask;
    int fd, rc;

    if (strlen(path) >= sizeof(sa.sun_path)) {
        errno = ENAMETOOLONG;
        return -1;
    }
    strcpy(sa.sun_path, path);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return -1;
    }
    old_mask = umask(0177);
    rc = bind(fd, (struct sockaddr *) &sa, sizeof(sa));
    umask(old_mask);
    if (rc != 0 || listen(fd, 128) != 0) {
        int e = errno;

        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

int fcgi_open(const struct conf *c, struct ferr *err)
{
    int fd;

    unlink(c->socket);
    /* bound as 0600: never connectable by others before chown/chmod */
    fd = listen_unix(c->socket);
    if (fd < 0) {
        return ferr_set(err, FE_CONFIG, "%s: cannot listen: %s", c->socket,
                        strerror(errno));
    }
    if (c->socket_group != NULL) {
        struct group *g = getgrnam(c->socket_group);

        if (g == NULL || chown(c->socket, (uid_t) -1, g->gr_gid) != 0) {
            close(fd);
            return ferr_set(err, FE_CONFIG,
                            "%s: cannot give it to group "
                            "%s",
                            c->socket, c->socket_group);
        }
    }
    if (chmod(c->socket, (mode_t) c->socket_mode) != 0) {
        close(fd);
        return ferr_set(err, FE_CONFIG, "%s: chmod: %s", c->socket,
                        strerror(errno));
    }
    return fd;
}

/* The params build_req takes, found in one pass over what nginx sent. */
enum param_id {
    P_METHOD,
    P_URI,
    P_QUERY,
    P_PREFIX,
    P_CTYPE,
    P_ACCEPT,
    P_API_VERSION,
    P_NOVA_VERSION,
    P_CLEN,
    P_TE,
    P_HTTPS,
    P_SCHEME,
    P_HOST,
    P_SERVER_NAME,
    P_REQUEST_ID,
    P_USER,
    P_PROJECT,
    P_ROLES,
    P_AUTHENTICATED,
    P_OPS,
    P_TOKEN,
    P_COUNT
};

static const char *const param_names[P_COUNT] = {
    [P_METHOD] = "REQUEST_METHOD",
    [P_URI] = "REQUEST_URI",
    [P_QUERY] = "QUERY_STRING",
    [P_PREFIX] = "FERRY_PREFIX",
    [P_CTYPE] = "CONTENT_TYPE",
    [P_ACCEPT] = "HTTP_ACCEPT",
    [P_API_VERSION] = "HTTP_OPENSTACK_API_VERSION",
    [P_NOVA_VERSION] = "HTTP_X_OPENSTACK_NOVA_API_VERSION",
    [P_CLEN] = "CONTENT_LENGTH",
    [P_TE] = "HTTP_TRANSFER_ENCODING",
    [P_HTTPS] = "HTTPS",
    [P_SCHEME] = "REQUEST_SCHEME",
    [P_HOST] = "HTTP_HOST",
    [P_SERVER_NAME] = "SERVER_NAME",
    [P_REQUEST_ID] = "FERRY_REQUEST_ID",
    [P_USER] = "FERRY_USER_ID",
    [P_PROJECT] = "FERRY_PROJECT_ID",
    [P_ROLES] = "FERRY_ROLES",
    [P_AUTHENTICATED] = "FERRY_AUTHENTICATED",
    [P_OPS] = "FERRY_OPS",
    [P_TOKEN] = "HTTP_X_AUTH_TOKEN",
};

struct params {
    const char *v[P_COUNT]; /* the first value of each, NULL if absent */
    int ntoken;             /* how many X-Auth-Token headers came */
};

/* The value of each param in param_names (the first of its name) and how
 * many X-Auth-Token params came; only those values are copied (into the
 * request's arena, NUL-terminated). */
static void scan_params(const struct fcgi_request *rq, struct arena *a,
                        struct params *p)
{
    static size_t len[P_COUNT];
    const char *name, *value;
    size_t pos = 0, nlen, vlen;
    int i;

    if (len[0] == 0) {
        for (i = 0; i < P_COUNT; i++) {
            len[i] = strlen(param_names[i]);
        }
    }
    memset(p, 0, sizeof(*p));
    while (fcgi_param_next(rq, &pos, &name, &nlen, &value, &vlen)) {
        for (i = 0; i < P_COUNT; i++) {
            if (nlen == len[i] && memcmp(name, param_names[i], nlen) == 0) {
                if (p->v[i] == NULL) {
                    p->v[i] = arena_strndup(a, value, vlen);
                }
                p->ntoken += i == P_TOKEN;
                break;
            }
        }
    }
}

static const char *param_or(const struct params *p, enum param_id id,
                            const char *dflt)
{
    return p->v[id] ? p->v[id] : dflt;
}

/* The body as the stream brought it: a Content-Length over Nova's limit
 * is refused unread (1), a body found over it by counting too (2). */
static void take_body(const struct fcgi_request *rq, struct req *r)
{
    if (r->content_length > REQ_BODY_MAX) {
        r->body_too_large = 1;
    } else if (rq->body_over) {
        r->body_too_large = 2;
    } else if (rq->body_len > 0) {
        r->body = rq->body;
        r->body_len = rq->body_len;
    }
}

/* FERRY_ROLES "a, b,c" -> ident.roles, every one of them: the array is
 * sized by counting commas first, so no role is ever cut off (a 9th
 * "admin" used to be dropped by a fixed 8). */
static void split_roles(struct req *r)
{
    const char **roles;
    const char *p;
    char *s, *tok, *save = NULL;
    size_t n = 0, cap = 1;

    if (r->roles_raw == NULL) {
        return;
    }
    for (p = r->roles_raw; *p != '\0'; p++) {
        cap += *p == ',';
    }
    roles = arena_alloc(r->arena, cap * sizeof(*roles));
    s = arena_strdup(r->arena, r->roles_raw);
    for (tok = strtok_r(s, ",", &save); tok != NULL;
         tok = strtok_r(NULL, ",", &save)) {
        while (*tok == ' ' || *tok == '\t') {
            tok++;
        }
        for (char *e = tok + strlen(tok);
             e > tok && (e[-1] == ' ' || e[-1] == '\t'); e--) {
            e[-1] = '\0';
        }
        if (*tok != '\0') {
            roles[n++] = tok;
        }
    }
    r->ident.roles = roles;
    r->ident.nroles = n;
}

static void build_req(const struct fcgi_request *rq, struct req *r)
{
    struct arena *a = r->arena;
    const char *uri, *q, *cl, *te, *https, *scheme, *host;
    struct params p;
    size_t plen;

    scan_params(rq, a, &p);
    r->method = param_or(&p, P_METHOD, "GET");
    uri = param_or(&p, P_URI, "/");
    q = strchr(uri, '?');
    r->query = param_or(&p, P_QUERY, "");
    r->uri = q ? arena_strndup(a, uri, (size_t) (q - uri)) : uri;
    r->prefix = param_or(&p, P_PREFIX, "");
    plen = strlen(r->prefix);
    if (plen > 0) {
        if (strncmp(r->uri, r->prefix, plen) != 0
            || (r->uri[plen] != '\0' && r->uri[plen] != '/')) {
            r->prefix_mismatch = 1; /* e.g. /computex under /compute */
        } else {
            r->uri += plen;
            if (*r->uri == '\0') {
                r->uri = "/";
            }
        }
    }
    r->content_type = p.v[P_CTYPE];
    r->accept = p.v[P_ACCEPT];
    r->hdr_api_version = p.v[P_API_VERSION];
    r->hdr_nova_version = p.v[P_NOVA_VERSION];
    cl = p.v[P_CLEN];
    r->content_length = (cl && *cl) ? strtoll(cl, NULL, 10) : -1;
    te = p.v[P_TE];
    if (te != NULL && strcasestr(te, "chunked") != NULL) {
        /* nginx de-chunks the body and passes the length it counted; the
         * client sent none, so the size is known only by counting (spec
         * 3.3: the chunked 413 has its own message) */
        r->content_length = -1;
    }
    https = p.v[P_HTTPS];
    scheme = p.v[P_SCHEME];
    if (scheme == NULL) {
        scheme = (https && *https) ? "https" : "http";
    }
    host = p.v[P_HOST] ? p.v[P_HOST] : p.v[P_SERVER_NAME];
    r->app_url =
        arena_printf(a, "%s://%s%s", scheme, host ? host : "", r->prefix);
    r->request_id = p.v[P_REQUEST_ID];
    if (r->request_id == NULL || strncmp(r->request_id, "req-", 4) != 0
        || !uuid_valid(r->request_id + 4)) {
        char u[37];

        uuid4(u);
        r->request_id = arena_printf(a, "req-%s", u);
    }
    /* identity: FERRY_* only; nginx sets them from the token map */
    r->ident.user_id = p.v[P_USER];
    r->ident.project_id = p.v[P_PROJECT];
    r->roles_raw = p.v[P_ROLES];
    r->authenticated = param_or(&p, P_AUTHENTICATED, "0")[0] == '1';
    r->token_headers = p.ntoken;
    r->ops = strcmp(param_or(&p, P_OPS, ""), "1") == 0;
    split_roles(r);
}

/* The CGI head (status and headers) into head, then head and body out
 * as one response: 0, or -1 when the connection failed. */
static int write_resp(int fd, const struct fcgi_request *rq, struct req *r,
                      struct resp *w, struct sbuf *head)
{
    size_t i;
    int with_body = w->body.len > 0 && strcmp(r->method, "HEAD") != 0;

    /* by hand, not printf: every request writes these */
    sbuf_reset(head);
    sbuf_puts(head, "Status: ");
    sbuf_put_u64(head, (uint64_t) w->status);
    sbuf_putc(head, ' ');
    sbuf_puts(head, http_reason(w->status));
    for (i = 0; i < w->nheaders; i++) {
        sbuf_puts(head, "\r\n");
        sbuf_puts(head, w->headers[i].name);
        sbuf_puts(head, ": ");
        sbuf_puts(head, w->headers[i].value);
    }
    if (w->content_type != NULL) {
        sbuf_puts(head, "\r\nContent-Type: ");
        sbuf_puts(head, w->content_type);
    }
    sbuf_puts(head, "\r\nContent-Length: ");
    sbuf_put_u64(head, w->body.len);
    sbuf_puts(head, "\r\n\r\n");
    return fcgi_write_response(fd, rq->id, head->buf, head->len,
                               with_body ? w->body.buf : NULL,
                               with_body ? w->body.len : 0);
}

static int id_in(const struct conf_ids *l, unsigned id)
{
    size_t i;

    for (i = 0; i < l->n; i++) {
        if (l->id[i] == id) {
            return 1;
        }
    }
    return 0;
}

/* Accepts one connection and checks its peer: the fd of an allowed one,
 * or -1 (none pending, or a stranger's, closed and logged). */
static int accept_peer(int listen_fd, const struct conf *c)
{
    struct ucred cr;
    socklen_t len = sizeof(cr);
    int fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);

    if (fd < 0) {
        return -1; /* another worker took it */
    }
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) != 0) {
        log_error("FastCGI peer refused: SO_PEERCRED: %s", strerror(errno));
        close(fd);
        return -1;
    }
    if (!id_in(&c->fastcgi_allow_uids, (unsigned) cr.uid)
        && !id_in(&c->fastcgi_allow_gids, (unsigned) cr.gid)) {
        log_error("FastCGI peer refused: pid %d uid %u gid %u is not in "
                  "fastcgi_allow_uids/fastcgi_allow_gids",
                  (int) cr.pid, (unsigned) cr.uid, (unsigned) cr.gid);
        close(fd);
        return -1;
    }
    metrics_fcgi_connection();
    return fd;
}

/* The connections nginx keeps open to this worker (fastcgi_keep_conn
 * with an upstream keepalive pool).  A worker watches all of them and the
 * listening socket in one epoll set and serves whichever has a request:
 * a kept connection never pins a worker (each nginx worker process keeps
 * its own pool, and a worker that served one connection at a time was
 * held by another process's idle one).  At CONNS_MAX a worker stops
 * accepting and leaves new connections to the other workers. */
#define CONNS_MAX 256

/* How long a stopping worker goes on serving its kept connections: nginx
 * closes each within its keepalive_time / keepalive_timeout (2 s in
 * ferry's nginx files) after the request in flight, and only a close by
 * nginx is free of the race with a request nginx is sending on it. */
#define STOP_GRACE_MS 5000

#define NEV 16 /* events taken from epoll at once */

struct loop {
    int ep, listen_fd, wake_fd;
    int listening; /* listen_fd is in the set */
    size_t nconns;
};

static int watch(struct loop *l, int fd, uint32_t events)
{
    struct epoll_event ev = { .events = events, .data.fd = fd };

    if (epoll_ctl(l->ep, EPOLL_CTL_ADD, fd, &ev) != 0) {
        log_error("epoll: %s", strerror(errno));
        return -1;
    }
    return 0;
}

/* Accepts new connections only below CONNS_MAX and until stopping. */
static void set_listening(struct loop *l, int on)
{
    if (on == l->listening) {
        return;
    }
    if (on) {
        l->listening = watch(l, l->listen_fd, EPOLLIN | EPOLLEXCLUSIVE) == 0;
    } else {
        epoll_ctl(l->ep, EPOLL_CTL_DEL, l->listen_fd, NULL);
        l->listening = 0;
    }
}

/* An epoll set of this worker's: the listening socket (exclusive
 * wake-ups) and the wake pipe; -1 on failure (logged). */
static int loop_open(struct loop *l, int listen_fd, int wake_fd)
{
    memset(l, 0, sizeof(*l));
    l->listen_fd = listen_fd;
    l->wake_fd = wake_fd;
    l->ep = epoll_create1(EPOLL_CLOEXEC);
    if (l->ep < 0) {
        log_error("epoll: %s", strerror(errno));
        return -1;
    }
    set_listening(l, 1);
    if (!l->listening || watch(l, wake_fd, EPOLLIN) < 0) {
        close(l->ep);
        return -1;
    }
    return 0;
}

/* A kept connection goes on being watched after its request; one that
 * serve_one closed (nginx did not ask to keep it) leaves the count. */
static void conn_done(struct loop *l, int fd, int was_kept, int kept)
{
    if (kept && !was_kept) {
        if (watch(l, fd, EPOLLIN | EPOLLRDHUP) < 0) {
            close(fd);
            return;
        }
        l->nconns++;
    } else if (!kept && was_kept) {
        l->nconns--; /* closing it took it out of the set */
    }
}

static void conn_close(struct loop *l, int fd)
{
    close(fd);
    l->nconns--;
}

struct worker_ctx {
    struct fcgi_in in;
    struct sbuf head;
    struct arena arena;
    struct resp w;
    struct app *app;
};

/* Serves the one request waiting on fd: 1 if nginx keeps the connection
 * (it stays open), 0 if it is closed (here). */
static int serve_one(struct worker_ctx *x, int fd)
{
    struct fcgi_request rq;
    const char *why;
    struct req r;
    int rc, kept;

    fcgi_in_attach(&x->in, fd);
    rc = fcgi_read_request(&x->in, REQ_BODY_MAX, &rq, &why);
    if (rc <= 0) {
        if (rc < 0) {
            log_error("FastCGI connection closed: %s", why);
        }
        close(fd);
        return 0;
    }
    memset(&r, 0, sizeof(r));
    r.arena = &x->arena;
    r.start_us = time_now_us();
    r.ctx = x->app;
    build_req(&rq, &r);
    take_body(&rq, &r);
    x->w.status = 500;
    x->w.content_type = NULL;
    x->w.nheaders = 0;
    sbuf_reset(&x->w.body);
    api_handle(x->app, &r, &x->w);
    kept = write_resp(fd, &rq, &r, &x->w, &x->head) == 0 && rq.keep_conn;
    if (!kept) {
        close(fd);
    }
    log_info("%s %s%s%s %d %.1fms %s", r.method, r.uri, r.query[0] ? "?" : "",
             r.query, x->w.status,
             (double) (time_now_us() - r.start_us) / 1000.0, r.request_id);
    metrics_request(r.method, r.uri, x->w.status, time_now_us() - r.start_us);
    arena_reset(&x->arena);
    return kept;
}

/* One event of the set. */
static void on_event(struct loop *l, struct worker_ctx *x,
                     const struct epoll_event *ev)
{
    int fd = ev->data.fd;

    if (fd == l->wake_fd) {
        return; /* a signal: the loop checks *stop */
    }
    if (fd == l->listen_fd) {
        fd = accept_peer(l->listen_fd, x->app->conf);
        if (fd >= 0) {
            conn_done(l, fd, 0, serve_one(x, fd));
        }
        return;
    }
    if (ev->events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
        conn_close(l, fd); /* nginx closed it (idle, or its client left) */
        return;
    }
    conn_done(l, fd, 1, serve_one(x, fd));
}

/* Stopping: no new connections and no more wake-ups from the pipe (it
 * stays readable); kept connections are served until nginx closes them
 * or STOP_GRACE_MS passes. */
static void stop_listening(struct loop *l)
{
    set_listening(l, 0);
    epoll_ctl(l->ep, EPOLL_CTL_DEL, l->wake_fd, NULL);
}

int fcgi_serve(int listen_fd, struct app *app, volatile sig_atomic_t *stop,
               int wake_fd)
{
    struct epoll_event ev[NEV];
    struct worker_ctx x;
    struct loop l;
    int64_t deadline = 0;
    int i, n, timeout;

    if (loop_open(&l, listen_fd, wake_fd) < 0) {
        return -1;
    }
    fcgi_in_init(&x.in);
    sbuf_init(&x.head);
    x.app = app;
    /* a large answer (a page of 1000 servers is ~2 MB) is freed after
     * each request; glibc gave the top of the heap back to the kernel
     * every time (brk), and each shrink cost a TLB flush on every CPU:
     * 13% of a worker listing servers.  The heap keeps up to 8 MiB free
     * (the worker's peak is unchanged: it reached that size anyway). */
    mallopt(M_TRIM_THRESHOLD, 8 << 20);
    log_hold(1);
    arena_init(&x.arena, 32768);
    sbuf_init(&x.w.body);
    for (;;) {
        if (*stop && deadline == 0) {
            stop_listening(&l);
            deadline = time_now_us() + STOP_GRACE_MS * 1000LL;
        }
        if (deadline != 0 && (l.nconns == 0 || time_now_us() >= deadline)) {
            break;
        }
        set_listening(&l, deadline == 0 && l.nconns < CONNS_MAX);
        timeout = deadline ? (int) ((deadline - time_now_us()) / 1000) + 1 : -1;
        /* held log lines wait only while another request is waiting */
        n = log_held() ? epoll_wait(l.ep, ev, NEV, 0) : 0;
        if (n <= 0) {
            log_flush();
            n = epoll_wait(l.ep, ev, NEV, timeout);
        }
        for (i = 0; i < n; i++) {
            on_event(&l, &x, &ev[i]);
        }
    }
    log_hold(0);
    close(l.ep); /* and every kept connection still open, by exit */
    sbuf_free(&x.w.body);
    sbuf_free(&x.head);
    fcgi_in_free(&x.in);
    arena_free(&x.arena);
    return 0;
}
