/*
 * fuzz_fcgi.c: libFuzzer target for the FastCGI records ferryd reads
 * (fcgi_proto.c).
 *
 * Input: the bytes a peer sends on one connection, then its end.  They
 * go through a real socketpair; every request read is iterated param by
 * param and answered with its own body, as a kept connection is served,
 * until the stream ends or is refused.
 */
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "ferry/fcgi_proto.h"

static void drain(int fd)
{
    char buf[65536];

    while (recv(fd, buf, sizeof(buf), MSG_DONTWAIT) > 0) {
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct fcgi_in in;
    static int ready;
    struct fcgi_request rq;
    const char *why, *name, *value;
    size_t pos, nlen, vlen, sum;
    int sv[2];

    if (!ready) {
        fcgi_in_init(&in);
        ready = 1;
    }
    if (size > 65536 || socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) {
        return 0;
    }
    if (size > 0 && write(sv[1], data, size) != (ssize_t) size) {
        close(sv[0]);
        close(sv[1]);
        return 0;
    }
    shutdown(sv[1], SHUT_WR);
    fcgi_in_attach(&in, sv[0]);
    while (fcgi_read_request(&in, 4096, &rq, &why) == 1) {
        sum = 0;
        pos = 0;
        while (fcgi_param_next(&rq, &pos, &name, &nlen, &value, &vlen)) {
            /* every byte of every pair lies inside the stream read */
            sum += (nlen ? (uint8_t) name[nlen - 1] : 0)
                + (vlen ? (uint8_t) value[vlen - 1] : 0);
        }
        if (rq.body_len > 4096 || rq.body[rq.body_len] != '\0') {
            __builtin_trap(); /* the body is bounded and terminated */
        }
        fcgi_write_response(sv[0], rq.id, "Status: 200 OK\r\n\r\n", 18, rq.body,
                            rq.body_len);
        drain(sv[1]);
        if (sum == SIZE_MAX) {
            break; /* keeps the reads above */
        }
    }
    close(sv[0]);
    close(sv[1]);
    return 0;
}
