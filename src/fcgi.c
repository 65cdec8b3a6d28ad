/*
 * fcgi.c: the only user of libfcgi.  Opens the listening unix socket (in
 * the master), and in each worker accepts requests, builds struct req from
 * the params nginx sends, reads the body (never more than Nova's limit + 1
 * bytes), runs api_handle() and writes the response.
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
 * is accepted here, not by libfcgi, and its peer (SO_PEERCRED) checked
 * against fastcgi_allow_uids / _gids before one byte of it is read; a
 * stranger's connection is closed unanswered and logged.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <fcgiapp.h>
#include "ferry/app.h"
#include "ferry/fault.h"
#include "ferry/metrics.h"

int fcgi_open(const struct conf *c, struct ferr *err)
{
    mode_t old_mask;
    int fd, flags;

    if (FCGX_Init() != 0) {
        return ferr_set(err, FE_INTERNAL, "FCGX_Init failed");
    }
    unlink(c->socket);
    /* bound as 0600: never connectable by others before chown/chmod */
    old_mask = umask(0177);
    fd = FCGX_OpenSocket(c->socket, 128);
    umask(old_mask);
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
    flags = fcntl(fd, F_GETFL);
    fcntl(fd, F_SETFL, flags | O_NONBLOCK);
    fcntl(fd, F_SETFD, FD_CLOEXEC);
    return fd;
}

static const char *param(FCGX_Request *rq, struct arena *a, const char *name)
{
    const char *v = FCGX_GetParam(name, rq->envp);

    return v ? arena_strdup(a, v) : NULL;
}

/* How many params named <name> nginx sent: FCGX_GetParam sees only the
 * first.  Only the count is taken; the values are never copied. */
static int count_params(FCGX_Request *rq, const char *name)
{
    size_t len = strlen(name);
    char **e;
    int n = 0;

    for (e = rq->envp; e != NULL && *e != NULL; e++) {
        if (strncmp(*e, name, len) == 0 && (*e)[len] == '=') {
            n++;
        }
    }
    return n;
}

static const char *param_or(FCGX_Request *rq, struct arena *a, const char *name,
                            const char *dflt)
{
    const char *v = param(rq, a, name);

    return v ? v : dflt;
}

static void read_body(FCGX_Request *rq, struct req *r)
{
    struct sbuf b;
    char chunk[8192];
    int n;

    if (r->content_length > REQ_BODY_MAX) {
        r->body_too_large = 1;
        return;
    }
    sbuf_init(&b);
    while ((n = FCGX_GetStr(chunk, sizeof(chunk), rq->in)) > 0) {
        if (b.len + (size_t) n > REQ_BODY_MAX) {
            r->body_too_large = 2;
            break;
        }
        sbuf_putn(&b, chunk, (size_t) n);
    }
    if (!r->body_too_large && b.len > 0) {
        r->body = arena_strndup(r->arena, b.buf, b.len);
        r->body_len = b.len;
    }
    sbuf_free(&b);
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

static void build_req(FCGX_Request *rq, struct req *r)
{
    struct arena *a = r->arena;
    const char *uri, *q, *cl, *te, *https, *scheme, *host;
    size_t plen;

    r->method = param_or(rq, a, "REQUEST_METHOD", "GET");
    uri = param_or(rq, a, "REQUEST_URI", "/");
    q = strchr(uri, '?');
    r->query = param_or(rq, a, "QUERY_STRING", "");
    r->uri = q ? arena_strndup(a, uri, (size_t) (q - uri)) : uri;
    r->prefix = param_or(rq, a, "FERRY_PREFIX", "");
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
    r->content_type = param(rq, a, "CONTENT_TYPE");
    r->accept = param(rq, a, "HTTP_ACCEPT");
    r->hdr_api_version = param(rq, a, "HTTP_OPENSTACK_API_VERSION");
    r->hdr_nova_version = param(rq, a, "HTTP_X_OPENSTACK_NOVA_API_VERSION");
    cl = FCGX_GetParam("CONTENT_LENGTH", rq->envp);
    r->content_length = (cl && *cl) ? strtoll(cl, NULL, 10) : -1;
    te = FCGX_GetParam("HTTP_TRANSFER_ENCODING", rq->envp);
    if (te != NULL && strcasestr(te, "chunked") != NULL) {
        /* nginx de-chunks the body and passes the length it counted; the
         * client sent none, so the size is known only by counting (spec
         * 3.3: the chunked 413 has its own message) */
        r->content_length = -1;
    }
    https = FCGX_GetParam("HTTPS", rq->envp);
    scheme = FCGX_GetParam("REQUEST_SCHEME", rq->envp);
    if (scheme == NULL) {
        scheme = (https && *https) ? "https" : "http";
    }
    host = FCGX_GetParam("HTTP_HOST", rq->envp);
    if (host == NULL) {
        host = FCGX_GetParam("SERVER_NAME", rq->envp);
    }
    r->app_url =
        arena_printf(a, "%s://%s%s", scheme, host ? host : "", r->prefix);
    r->request_id = param(rq, a, "FERRY_REQUEST_ID");
    if (r->request_id == NULL || strncmp(r->request_id, "req-", 4) != 0
        || !uuid_valid(r->request_id + 4)) {
        char u[37];

        uuid4(u);
        r->request_id = arena_printf(a, "req-%s", u);
    }
    /* identity: FERRY_* only; nginx sets them from the token map */
    r->ident.user_id = param(rq, a, "FERRY_USER_ID");
    r->ident.project_id = param(rq, a, "FERRY_PROJECT_ID");
    r->roles_raw = param(rq, a, "FERRY_ROLES");
    r->authenticated = param_or(rq, a, "FERRY_AUTHENTICATED", "0")[0] == '1';
    r->token_headers = count_params(rq, "HTTP_X_AUTH_TOKEN");
    r->ops = strcmp(param_or(rq, a, "FERRY_OPS", ""), "1") == 0;
    split_roles(r);
}

static void write_resp(FCGX_Request *rq, struct req *r, struct resp *w)
{
    size_t i;

    FCGX_FPrintF(rq->out, "Status: %d %s\r\n", w->status,
                 http_reason(w->status));
    for (i = 0; i < w->nheaders; i++) {
        FCGX_FPrintF(rq->out, "%s: %s\r\n", w->headers[i].name,
                     w->headers[i].value);
    }
    if (w->content_type != NULL) {
        FCGX_FPrintF(rq->out, "Content-Type: %s\r\n", w->content_type);
    }
    FCGX_FPrintF(rq->out, "Content-Length: %lu\r\n\r\n",
                 (unsigned long) w->body.len);
    if (w->body.len > 0 && strcmp(r->method, "HEAD") != 0) {
        FCGX_PutStr(w->body.buf, (int) w->body.len, rq->out);
    }
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
    return fd;
}

/* An epoll instance of this worker's: the listening socket (exclusive
 * wake-ups) and the wake pipe; -1 on failure (logged). */
static int wait_set(int listen_fd, int wake_fd)
{
    struct epoll_event ev = { .events = EPOLLIN | EPOLLEXCLUSIVE };
    int ep = epoll_create1(EPOLL_CLOEXEC);

    ev.data.fd = listen_fd;
    if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, listen_fd, &ev) != 0) {
        goto fail;
    }
    ev.events = EPOLLIN;
    ev.data.fd = wake_fd;
    if (epoll_ctl(ep, EPOLL_CTL_ADD, wake_fd, &ev) != 0) {
        goto fail;
    }
    return ep;
fail:
    log_error("epoll: %s", strerror(errno));
    if (ep >= 0) {
        close(ep);
    }
    return -1;
}

/* Waits for a connection or the wake pipe: 1 if one may be pending. */
static int wait_conn(int ep, int listen_fd)
{
    struct epoll_event ev[2];
    int i, n = epoll_wait(ep, ev, 2, -1);

    for (i = 0; i < n; i++) {
        if (ev[i].data.fd == listen_fd && (ev[i].events & EPOLLIN)) {
            return 1;
        }
    }
    return 0; /* EINTR or the wake pipe: *stop decides */
}

int fcgi_serve(int listen_fd, struct app *app, volatile sig_atomic_t *stop,
               int wake_fd)
{
    FCGX_Request rq;
    struct arena arena;
    struct resp w;
    struct req r;
    int fd, ep;

    /* no listening socket for libfcgi: it must never accept a connection
     * itself, unchecked (after a malformed request it would try) */
    if (FCGX_InitRequest(&rq, -1, 0) != 0) {
        log_error("FCGX_InitRequest failed");
        return -1;
    }
    ep = wait_set(listen_fd, wake_fd);
    if (ep < 0) {
        FCGX_Free(&rq, 1);
        return -1;
    }
    arena_init(&arena, 32768);
    sbuf_init(&w.body);
    while (!*stop) {
        if (!wait_conn(ep, listen_fd) || *stop) {
            continue; /* the loop re-checks *stop */
        }
        fd = accept_peer(listen_fd, app->conf);
        if (fd < 0) {
            continue;
        }
        /* FCGX_Accept_r reads a request from an open ipcFd instead of
         * accepting (fcgiapp.c); keepConnection keeps the Finish_r it
         * starts with from closing it.  The request's own begin record
         * sets keepConnection again. */
        rq.ipcFd = fd;
        rq.keepConnection = 1;
        if (FCGX_Accept_r(&rq) < 0) {
            continue; /* malformed: libfcgi closed it */
        }
        memset(&r, 0, sizeof(r));
        r.arena = &arena;
        r.start_us = time_now_us();
        r.ctx = app;
        build_req(&rq, &r);
        read_body(&rq, &r);
        w.status = 500;
        w.content_type = NULL;
        w.nheaders = 0;
        sbuf_reset(&w.body);
        api_handle(app, &r, &w);
        write_resp(&rq, &r, &w);
        FCGX_Finish_r(&rq);
        if (rq.ipcFd >= 0) {
            /* a kept connection (fastcgi_keep_conn): every request comes
             * through accept_peer, so it is not read again here */
            close(rq.ipcFd);
            rq.ipcFd = -1;
        }
        log_info("%s %s%s%s %d %.1fms %s", r.method, r.uri,
                 r.query[0] ? "?" : "", r.query, w.status,
                 (double) (time_now_us() - r.start_us) / 1000.0, r.request_id);
        metrics_request(r.method, r.uri, w.status, time_now_us() - r.start_us);
        arena_reset(&arena);
    }
    close(ep);
    sbuf_free(&w.body);
    arena_free(&arena);
    FCGX_Free(&rq, 1);
    return 0;
}
