/*
 * nullfcgi.c: tools/bench's ceiling for a FastCGI application behind
 * nginx: it does no work at all, and answers every request with the same
 * headers and 400-byte body (GET /v2.1's size), speaking FastCGI with
 * ferryd's own fcgi_proto.c, in as many processes as ferryd has request
 * workers, each serving its connections from one epoll set as ferryd's
 * do.  What nginx and the kernel cost per upstream request, with nothing
 * of ferryd's.
 *
 *   nullfcgi SOCKET NPROC      (built and run by tools/bench)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include "ferry/fcgi_proto.h"

static const char head[] =
    "Status: 200 OK\r\n"
    "x-openstack-request-id: req-00000000-0000-4000-8000-000000000000\r\n"
    "x-compute-request-id: req-00000000-0000-4000-8000-000000000000\r\n"
    "Content-Type: application/json\r\n"
    "Content-Length: 400\r\n\r\n";

static void serve(int ls)
{
    struct epoll_event ev = { .events = EPOLLIN | EPOLLEXCLUSIVE }, evs[16];
    struct fcgi_in in;
    struct fcgi_request rq;
    const char *why;
    char body[400];
    int ep = epoll_create1(0), n, i, fd;

    memset(body, 'x', sizeof(body));
    fcgi_in_init(&in);
    ev.data.fd = ls;
    epoll_ctl(ep, EPOLL_CTL_ADD, ls, &ev);
    for (;;) {
        n = epoll_wait(ep, evs, 16, -1);
        for (i = 0; i < n; i++) {
            fd = evs[i].data.fd;
            if (fd == ls) {
                fd = accept(ls, NULL, NULL);
                ev.events = EPOLLIN | EPOLLRDHUP;
                ev.data.fd = fd;
                if (fd >= 0 && epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) != 0) {
                    close(fd);
                }
            } else if (evs[i].events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
                close(fd);
            } else {
                fcgi_in_attach(&in, fd);
                if (fcgi_read_request(&in, 1 << 20, &rq, &why) != 1
                    || fcgi_write_response(fd, rq.id, head, sizeof(head) - 1,
                                           body, sizeof(body))
                        < 0
                    || !rq.keep_conn) {
                    close(fd);
                }
            }
        }
    }
}

int main(int argc, char **argv)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    int ls, k, nproc = argc > 2 ? atoi(argv[2]) : 1;

    if (argc < 2 || strlen(argv[1]) >= sizeof(sa.sun_path)) {
        fprintf(stderr, "usage: nullfcgi SOCKET [NPROC]\n");
        return 2;
    }
    strcpy(sa.sun_path, argv[1]);
    unlink(argv[1]);
    ls = socket(AF_UNIX, SOCK_STREAM, 0);
    if (ls < 0 || bind(ls, (struct sockaddr *) &sa, sizeof(sa)) != 0
        || listen(ls, 128) != 0) {
        perror(argv[1]);
        return 1;
    }
    for (k = 1; k < nproc; k++) {
        if (fork() == 0) {
            break; /* the children serve too; the parent's group ends */
        }
    }
    serve(ls);
    return 0;
}
