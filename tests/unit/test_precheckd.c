/*
 * test_precheckd.c: the request side of the precheck service against a
 * service played by this test: every way it can fail to answer is a
 * bounded FE_UNAVAILABLE or FE_INTERNAL with its reason, never a hang nor
 * a crash.  (The real service's answers: tests/api/test_precheckd.py.)
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include "ferry/precheckd.h"
#include "unit.h"

enum { ACT_CLOSE, ACT_SEND, ACT_KEEP };

struct fake {
    int fd;           /* the service's end of the channel */
    int act;          /* what it does with the request */
    const char *send; /* ACT_SEND: these bytes */
    size_t n;
    int64_t id;  /* the request's id, as read */
    int held;    /* ACT_KEEP: the answer socket, kept open */
    int got_fds; /* answer sockets the request brought */
};

/* Reads one request and answers it as f->act says. */
static void *serve(void *arg)
{
    struct fake *f = arg;
    union {
        char buf[CMSG_SPACE(sizeof(int) * 4)];
        struct cmsghdr align;
    } u;
    struct iovec iov = { &f->id, sizeof(f->id) };
    struct msghdr mh;
    struct cmsghdr *c;
    int rfd = -1;

    memset(&mh, 0, sizeof(mh));
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    mh.msg_control = u.buf;
    mh.msg_controllen = sizeof(u.buf);
    if (recvmsg(f->fd, &mh, 0) < 0) {
        return NULL;
    }
    for (c = CMSG_FIRSTHDR(&mh); c != NULL; c = CMSG_NXTHDR(&mh, c)) {
        if (c->cmsg_type == SCM_RIGHTS) {
            f->got_fds += (int) ((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
            memcpy(&rfd, CMSG_DATA(c), sizeof(int));
        }
    }
    if (f->act == ACT_SEND && send(rfd, f->send, f->n, 0) < 0) {
        perror("send");
    }
    if (f->act == ACT_KEEP) {
        f->held = rfd;
    } else {
        close(rfd);
    }
    return NULL;
}

/* precheckd_ask of record 42 against a fake doing act; its error. */
static const char *ask(int act, const char *bytes, size_t n, int *code,
                       double *took)
{
    static struct ferr e;
    struct fake f = { 0 };
    struct migration m;
    struct arena a;
    struct timespec t0, t1;
    pthread_t th;
    int ch[2], rc;

    ferr_clear(&e);
    memset(&m, 0, sizeof(m));
    m.id = 42;
    CHECK_INT(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, ch), 0);
    f.fd = ch[0];
    f.act = act;
    f.send = bytes;
    f.n = n;
    f.held = -1;
    pthread_create(&th, NULL, serve, &f);
    arena_init(&a, 4096);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    rc = precheckd_ask(ch[1], 1, &a, &m, &e);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    *took = (double) (t1.tv_sec - t0.tv_sec)
        + (double) (t1.tv_nsec - t0.tv_nsec) / 1e9;
    pthread_join(th, NULL);
    CHECK_INT(f.id, 42);
    CHECK_INT(f.got_fds, 1);
    CHECK(rc < 0);
    CHECK_INT(rc, -e.code);
    *code = e.code;
    if (f.held >= 0) {
        close(f.held);
    }
    close(ch[0]);
    close(ch[1]);
    arena_free(&a);
    return ferr_msg(&e);
}

int main(void)
{
    static const char ff[40] = { [0 ... 39] = (char) 0xff };
    struct ferr e = { 0 };
    struct migration m;
    struct arena a;
    double took;
    int code, ch[2], i;

    /* the service takes the request and hangs up: at once, not after
     * the timeout */
    CHECK_STR(ask(ACT_CLOSE, NULL, 0, &code, &took),
              "the precheck service ended before it answered");
    CHECK_INT(code, FE_UNAVAILABLE);
    CHECK(took < 0.5);
    /* it keeps the request unanswered: the timeout (1 s) bounds the wait */
    CHECK_STR(ask(ACT_KEEP, NULL, 0, &code, &took),
              "the precheck service did not answer in 1 s");
    CHECK_INT(code, FE_UNAVAILABLE);
    CHECK(took >= 0.95 && took < 2);
    /* answers that are not answers */
    CHECK_STR(ask(ACT_SEND, "abc", 3, &code, &took),
              "precheck service: short answer");
    CHECK_INT(code, FE_INTERNAL);
    CHECK_STR(ask(ACT_SEND, ff, sizeof(ff), &code, &took),
              "precheck service: bad answer");
    CHECK_INT(code, FE_INTERNAL);

    /* no channel; a channel nobody reads, full: refused at once */
    arena_init(&a, 4096);
    memset(&m, 0, sizeof(m));
    CHECK_INT(precheckd_ask(-1, 1, &a, &m, &e), -FE_UNAVAILABLE);
    CHECK_STR(ferr_msg(&e), "no precheck service");
    ferr_clear(&e);
    CHECK_INT(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, ch), 0);
    for (i = 0; i < 100000; i++) {
        int64_t id = i;

        if (send(ch[1], &id, sizeof(id), MSG_DONTWAIT) < 0) {
            break;
        }
    }
    CHECK(errno == EAGAIN || errno == EWOULDBLOCK);
    CHECK_INT(precheckd_ask(ch[1], 1, &a, &m, &e), -FE_UNAVAILABLE);
    CHECK(strncmp(ferr_msg(&e), "the precheck service cannot be reached", 38)
          == 0);
    ferr_clear(&e);
    close(ch[0]);
    close(ch[1]);
    arena_free(&a);
    return unit_done("test_precheckd");
}
