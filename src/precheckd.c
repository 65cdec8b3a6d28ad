/*
 * precheckd.c: the precheck service (precheckd.h): a request's wire, the
 * service's threads in the inventory process, and the answer's wire.
 *
 * Threads: PRECHECK_THREADS, each with its own store handle and its own
 * inventory (libvirt connections opened on first use), so a precheck
 * waiting on a slow host holds up no other one, and none of them shares
 * anything with the inventory's event loop or its workers.  Each takes
 * one request at a time off the shared channel; the answer goes back on
 * the socket the request brought, so concurrent requests never see each
 * other's answers.  A request whose worker already gave up (its end is
 * closed: the timeout passed) is dropped unanswered, and a record no
 * longer held by its request is refused, so a backlog left by a slow host
 * drains at once and never runs a precheck twice.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include "ferry/precheckd.h"
#include "ferry/app.h"
#include "ferry/iaction.h"
#include "ferry/inventory.h"
#include "ferry/precheck.h"
#include "ferry/status.h"

/* Prechecks run at once in one inventory process: more than one, so one
 * slow or unreachable host does not hold up the others' answers. */
#define PRECHECK_THREADS 4
/* The largest answer: the strings and a message, cut to fit. */
#define ANSWER_MAX (64 * 1024)
#define NO_STR UINT32_MAX

struct pc_request {
    int64_t id; /* the held migration record */
};

/* The answer: code (0: passed) and the strings that follow it in order,
 * each len bytes (NO_STR: NULL). */
enum { S_MSG, S_DEST, S_SOURCE_NODE, S_DEST_NODE, S__COUNT };

struct pc_answer {
    int32_t code;
    int32_t block;
    uint32_t len[S__COUNT];
};

struct pthread_ctx {
    struct precheckd *d;
    struct app app; /* conf shared; store and inventory its own */
    pthread_t th;
    int started;
};

struct precheckd {
    int fd;
    int wake[2]; /* written once to stop every thread */
    volatile int quit;
    struct pthread_ctx t[PRECHECK_THREADS];
};

/* ---- the answer's wire ------------------------------------------------ */

static size_t put_str(char *buf, size_t at, size_t max, uint32_t *len,
                      const char *s)
{
    size_t n;

    if (s == NULL) {
        *len = NO_STR;
        return at;
    }
    n = strlen(s);
    n = n < max - at ? n : max - at;
    memcpy(buf + at, s, n);
    *len = (uint32_t) n;
    return at + n;
}

/* Sends the outcome of precheck_migration (rc, err, m) on rfd; the
 * message goes last so that only it is cut when too long. */
static void answer(struct arena *a, int rfd, int rc, const struct ferr *err,
                   const struct migration *m)
{
    char *buf = arena_alloc(a, ANSWER_MAX);
    struct pc_answer h;
    size_t at = sizeof(h);

    memset(&h, 0, sizeof(h));
    h.code = rc >= 0 ? 0 : err->code != 0 ? err->code : FE_INTERNAL;
    h.block = m->block_migration;
    at = put_str(buf, at, ANSWER_MAX, &h.len[S_DEST],
                 rc < 0 ? NULL : m->dest_compute);
    at = put_str(buf, at, ANSWER_MAX, &h.len[S_SOURCE_NODE],
                 rc < 0 ? NULL : m->source_node);
    at = put_str(buf, at, ANSWER_MAX, &h.len[S_DEST_NODE],
                 rc < 0 ? NULL : m->dest_node);
    at = put_str(buf, at, ANSWER_MAX, &h.len[S_MSG],
                 rc < 0 ? ferr_msg(err) : NULL);
    memcpy(buf, &h, sizeof(h));
    if (send(rfd, buf, at, MSG_NOSIGNAL) < 0) {
        log_error("precheck of migration %lld: answer lost: %s",
                  (long long) m->id, strerror(errno));
    }
}

/* String i of answer h at *at in buf (NULL when absent), copied to a. */
static const char *take_str(struct arena *a, const struct pc_answer *h,
                            const char *buf, size_t *at, int i)
{
    const char *s;

    if (h->len[i] == NO_STR) {
        return NULL;
    }
    s = arena_strndup(a, buf + *at, h->len[i]);
    *at += h->len[i];
    return s;
}

/* Reads answer buf[n] into m or err, as precheck_migration returns. */
static int parse_answer(struct arena *a, const char *buf, size_t n,
                        struct migration *m, struct ferr *err)
{
    struct pc_answer h;
    size_t at = sizeof(h), need = sizeof(h);
    const char *s[S__COUNT];
    int i;

    if (n < sizeof(h)) {
        return ferr_set(err, FE_INTERNAL, "precheck service: short answer");
    }
    memcpy(&h, buf, sizeof(h));
    for (i = 0; i < S__COUNT; i++) {
        need += h.len[i] == NO_STR ? 0 : h.len[i];
    }
    if (need != n || h.code < 0 || h.code >= FE__COUNT) {
        return ferr_set(err, FE_INTERNAL, "precheck service: bad answer");
    }
    /* in the order answer() wrote them */
    s[S_DEST] = take_str(a, &h, buf, &at, S_DEST);
    s[S_SOURCE_NODE] = take_str(a, &h, buf, &at, S_SOURCE_NODE);
    s[S_DEST_NODE] = take_str(a, &h, buf, &at, S_DEST_NODE);
    s[S_MSG] = take_str(a, &h, buf, &at, S_MSG);
    if (h.code != 0) {
        return ferr_set(err, h.code, "%s", s[S_MSG] ? s[S_MSG] : "");
    }
    m->dest_compute = s[S_DEST];
    m->source_node = s[S_SOURCE_NODE];
    m->dest_node = s[S_DEST_NODE];
    m->block_migration = h.block;
    m->status = mig_status_name(MIG_QUEUED);
    return 0;
}

/* ---- the service ------------------------------------------------------ */

/* The prechecks of record id for the request that holds it, into *m. */
static int run_one(struct app *app, struct arena *a, int64_t id,
                   struct migration *m, struct ferr *err)
{
    struct server s;
    int rc = store_migration_get(app->store, id, a, m, err);

    if (rc < 0) {
        return rc;
    }
    if (rc == 0 || m->claimed_by != MIG_HELD_BY_REQUEST
        || !mig_status_is(m->status, MIG_ACCEPTED)) {
        return ferr_set(err, FE_INTERNAL,
                        "migration %lld is not waiting for its prechecks",
                        (long long) id);
    }
    rc = inventory_lookup(app->conf, app->store, m->instance_uuid, a, &s, err);
    if (rc < 0) {
        return rc;
    }
    if (rc == 0) {
        return ferr_set(err, FE_NOTFOUND, "Instance %s could not be found.",
                        m->instance_uuid);
    }
    return precheck_migration(app, a, m, &s, err);
}

/* 1 when the request's worker still waits on rfd. */
static int still_waiting(int rfd)
{
    struct pollfd p = { rfd, 0, 0 };

    return poll(&p, 1, 0) == 0 || !(p.revents & (POLLHUP | POLLERR));
}

static void serve_one(struct app *app, int64_t id, int rfd)
{
    struct migration m;
    struct ferr err = { 0 };
    struct arena a;
    int rc;

    if (!still_waiting(rfd)) {
        log_info("precheck of migration %lld dropped: its request is gone",
                 (long long) id);
        return;
    }
    memset(&m, 0, sizeof(m));
    m.id = id;
    arena_init(&a, 16384);
    rc = run_one(app, &a, id, &m, &err);
    log_info("precheck of migration %lld: %s %s", (long long) id,
             rc < 0 ? ferr_msg(&err) : "passed",
             m.request_id ? m.request_id : "");
    answer(&a, rfd, rc, &err, &m);
    ferr_clear(&err);
    arena_free(&a);
}

/* One request off the channel: its id and the socket for the answer.
 * Anything else (several threads and, during a reload, two inventory
 * processes read the channel: EAGAIN) is dropped. */
static void take_request(struct app *app, int fd)
{
    struct pc_request rq;
    union {
        char buf[CMSG_SPACE(sizeof(int) * 4)];
        struct cmsghdr align;
    } u;
    struct iovec iov = { &rq, sizeof(rq) };
    struct msghdr mh;
    struct cmsghdr *c;
    int rfd = -1, nfd, i;
    ssize_t n;

    memset(&mh, 0, sizeof(mh));
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    mh.msg_control = u.buf;
    mh.msg_controllen = sizeof(u.buf);
    n = recvmsg(fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
    if (n < 0) {
        return;
    }
    for (c = CMSG_FIRSTHDR(&mh); c != NULL; c = CMSG_NXTHDR(&mh, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) {
            continue;
        }
        nfd = (int) ((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
        for (i = 0; i < nfd; i++) {
            int f;

            memcpy(&f, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
            if (rfd < 0) {
                rfd = f;
            } else {
                close(f); /* one answer socket a request */
            }
        }
    }
    if (n != (ssize_t) sizeof(rq) || rfd < 0 || (mh.msg_flags & MSG_TRUNC)) {
        log_error("precheck service: malformed request dropped");
    } else {
        serve_one(app, rq.id, rfd);
    }
    if (rfd >= 0) {
        close(rfd);
    }
}

static void *serve(void *arg)
{
    struct pthread_ctx *t = arg;
    struct precheckd *d = t->d;
    struct pollfd p[2];

    p[0].fd = d->fd;
    p[0].events = POLLIN;
    p[1].fd = d->wake[0];
    p[1].events = POLLIN;
    while (!d->quit) {
        if (poll(p, 2, -1) < 0 && errno != EINTR) {
            log_error("precheck service: poll: %s", strerror(errno));
            break;
        }
        if (!d->quit && (p[0].revents & POLLIN)) {
            take_request(&t->app, d->fd);
        } else if (p[0].revents & (POLLHUP | POLLERR | POLLNVAL)) {
            /* the master's end is gone: so is the master */
            log_error("precheck service: its channel is closed");
            break;
        }
    }
    return NULL;
}

static int thread_open(struct precheckd *d, struct pthread_ctx *t,
                       const struct conf *c, struct ferr *err)
{
    t->d = d;
    t->app.conf = (struct conf *) c;
    t->app.precheck_fd = -1;
    if (store_open(c->store, &t->app.store, err) < 0
        || inventory_open(c, &t->app.inv, err) < 0) {
        return ferr_fail(err);
    }
    store_set_timeout(t->app.store, c->store_timeout * 1000);
    if (pthread_create(&t->th, NULL, serve, t) != 0) {
        return ferr_set(err, FE_INTERNAL, "precheck service: no thread");
    }
    t->started = 1;
    return 0;
}

int precheckd_start(const struct conf *c, int fd, struct precheckd **out,
                    struct ferr *err)
{
    struct precheckd *d = calloc(1, sizeof(*d));
    sigset_t all, old;
    int i, rc = 0;

    if (d == NULL) {
        return ferr_set(err, FE_NOMEM, "out of memory");
    }
    d->fd = fd;
    if (pipe2(d->wake, O_CLOEXEC) != 0) {
        free(d);
        return ferr_set(err, FE_INTERNAL, "pipe: %s", strerror(errno));
    }
    iaction_conductor_host(); /* its static buffer, filled before threads */
    /* signals stay the main thread's: it reads the wake pipe of the
     * process and stops the service */
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    for (i = 0; i < PRECHECK_THREADS && rc == 0; i++) {
        rc = thread_open(d, &d->t[i], c, err);
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc < 0) {
        precheckd_stop(d);
        return rc;
    }
    *out = d;
    return 0;
}

void precheckd_stop(struct precheckd *d)
{
    char c = 1;
    int i;

    if (d == NULL) {
        return;
    }
    d->quit = 1;
    if (write(d->wake[1], &c, 1) != 1) {
        log_error("precheck service: cannot wake its threads");
    }
    for (i = 0; i < PRECHECK_THREADS; i++) {
        if (d->t[i].started) {
            pthread_join(d->t[i].th, NULL);
        }
        inventory_close(d->t[i].app.inv);
        store_close(d->t[i].app.store);
    }
    close(d->wake[0]);
    close(d->wake[1]);
    free(d);
}

/* ---- the request's side ----------------------------------------------- */

/* Sends id with the answer socket ans to the service on fd. */
static int send_request(int fd, int64_t id, int ans, struct ferr *err)
{
    struct pc_request rq = { id };
    union {
        char buf[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } u;
    struct iovec iov = { &rq, sizeof(rq) };
    struct msghdr mh;
    struct cmsghdr *c;

    memset(&mh, 0, sizeof(mh));
    memset(&u, 0, sizeof(u));
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    mh.msg_control = u.buf;
    mh.msg_controllen = sizeof(u.buf);
    c = CMSG_FIRSTHDR(&mh);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &ans, sizeof(int));
    /* never blocks: a full channel (the service gone for long) fails */
    if (sendmsg(fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL) < 0) {
        return ferr_set(err, FE_UNAVAILABLE,
                        "the precheck service cannot be "
                        "reached: %s",
                        strerror(errno));
    }
    return 0;
}

/* Waits for the answer on ans until the deadline; its length, or <0. */
static ssize_t wait_answer(int ans, int timeout_s, char *buf, size_t max,
                           struct ferr *err)
{
    struct pollfd p = { ans, POLLIN, 0 };
    int64_t until = time_now_us() + (int64_t) timeout_s * 1000000;
    ssize_t n;
    int rc;

    do {
        int64_t left = until - time_now_us();

        /* a signal (SIGTERM: finish the request in hand) waits on */
        rc = left > 0 ? poll(&p, 1, (int) ((left + 999) / 1000)) : 0;
    } while (rc < 0 && errno == EINTR);
    if (rc == 0) {
        return ferr_set(err, FE_UNAVAILABLE,
                        "the precheck service did not "
                        "answer in %d s",
                        timeout_s);
    }
    n = rc > 0 ? recv(ans, buf, max, 0) : -1;
    if (n <= 0) {
        return ferr_set(err, FE_UNAVAILABLE,
                        "the precheck service ended "
                        "before it answered");
    }
    return n;
}

int precheckd_ask(int fd, int timeout_s, struct arena *a, struct migration *m,
                  struct ferr *err)
{
    char *buf;
    ssize_t n;
    int sp[2];

    if (fd < 0) {
        return ferr_set(err, FE_UNAVAILABLE, "no precheck service");
    }
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) != 0) {
        return ferr_set(err, FE_UNAVAILABLE, "socketpair: %s", strerror(errno));
    }
    if (send_request(fd, m->id, sp[1], err) < 0) {
        close(sp[0]);
        close(sp[1]);
        return ferr_fail(err);
    }
    close(sp[1]); /* the service's copy is its only one now */
    buf = arena_alloc(a, ANSWER_MAX);
    n = wait_answer(sp[0], timeout_s, buf, ANSWER_MAX, err);
    close(sp[0]);
    if (n < 0) {
        return (int) n;
    }
    return parse_answer(a, buf, (size_t) n, m, err);
}
