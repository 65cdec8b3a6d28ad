/*
 * fuzz_conf.c: libFuzzer target for the configuration parser (conf.c),
 * with include.
 *
 * The input is split at the first line "#--include--": what is before it is
 * written to ferry.conf, what is after it to inc.conf, both in a private
 * directory made for this input and removed after it, so that
 * "include = inc.conf" (or ferry.conf itself, up to the nesting limit)
 * reads fuzzed text too.  Whatever the files hold, conf_load() gives a
 * config or FE_CONFIG with "file:line: reason"; never a crash.
 *
 * conf_load() opens what an include names; an input whose include line
 * could leave the directory (a '/' anywhere on that line) is skipped, so
 * the fuzzer never reads /dev/stdin, a FIFO or the host's files.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ferry/conf.h"
#include "ferry/err.h"

#define MARKER "#--include--\n"

/* 1 if some line of buf mentions include and holds a '/'. */
static int include_leaves(const char *buf, size_t len)
{
    const char *p, *end, *nl;

    for (p = buf, end = buf + len; p < end; p = nl + 1) {
        nl = memchr(p, '\n', (size_t) (end - p));
        if (nl == NULL) {
            nl = end;
        }
        if (memmem(p, (size_t) (nl - p), "include", 7) != NULL
            && memchr(p, '/', (size_t) (nl - p)) != NULL) {
            return 1;
        }
    }
    return 0;
}

static void write_file(const char *path, const char *buf, size_t len)
{
    FILE *f;

    f = fopen(path, "wb");
    if (f == NULL || fwrite(buf, 1, len, f) != len || fclose(f) != 0) {
        perror(path);
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *buf = (const char *) data, *mark;
    char dir[64], main_path[96], inc_path[96];
    size_t main_len;
    struct conf *c;
    struct ferr err;
    const char *msg;

    if (include_leaves(buf, size)) {
        return 0;
    }

    /* The marker at the start of the input or of a line. */
    mark = NULL;
    if (size >= sizeof(MARKER) - 1
        && memcmp(buf, MARKER, sizeof(MARKER) - 1) == 0) {
        mark = buf;
    } else {
        mark = memmem(buf, size, "\n" MARKER, sizeof(MARKER));
        if (mark != NULL) {
            mark++;
        }
    }
    main_len = (mark != NULL) ? (size_t) (mark - buf) : size;

    /* tmpfs when there is one: three file operations per input. */
    snprintf(dir, sizeof(dir), "%s/fuzz_conf.XXXXXX",
             access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
    if (mkdtemp(dir) == NULL) {
        perror("mkdtemp");
        abort();
    }
    snprintf(main_path, sizeof(main_path), "%s/ferry.conf", dir);
    snprintf(inc_path, sizeof(inc_path), "%s/inc.conf", dir);

    write_file(main_path, buf, main_len);
    if (mark != NULL) {
        write_file(inc_path, mark + sizeof(MARKER) - 1,
                   size - main_len - (sizeof(MARKER) - 1));
    }

    memset(&err, 0, sizeof(err));
    if (conf_load(main_path, &c, &err) == 0) {
        if (c->nhosts == 0 || conf_host_find(c, c->hosts[0].name) == NULL) {
            abort();
        }
        conf_free(c);
    } else {
        msg = ferr_msg(&err);
        if (err.code != FE_CONFIG && err.code != FE_NOMEM) {
            abort();
        }
        if (strncmp(msg, dir, strlen(dir)) != 0) {
            abort(); /* every error names the file */
        }
        ferr_clear(&err);
    }

    unlink(main_path);
    if (mark != NULL) {
        unlink(inc_path);
    }
    rmdir(dir);
    return 0;
}
