/*
 * unit.h: the minimal harness of the C unit tests.  Each test file is one
 * program: CHECK() records a failure and goes on; main() returns
 * unit_done(), which prints the plain closing line "N passed, N failed".
 */
#ifndef FERRY_UNIT_H
#define FERRY_UNIT_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int unit_pass, unit_fail;

#define CHECK(cond)                                                          \
    do {                                                                     \
        if (cond) {                                                          \
            unit_pass++;                                                     \
        } else {                                                             \
            unit_fail++;                                                     \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, \
                    #cond);                                                  \
        }                                                                    \
    } while (0)

#define CHECK_STR(got, want)                                                   \
    do {                                                                       \
        const char *g_ = (got), *w_ = (want);                                  \
        if (g_ && w_ && strcmp(g_, w_) == 0) {                                 \
            unit_pass++;                                                       \
        } else {                                                               \
            unit_fail++;                                                       \
            fprintf(stderr, "%s:%d: got  \"%s\"\n%*s want \"%s\"\n", __FILE__, \
                    __LINE__, g_ ? g_ : "(null)", (int) strlen(__FILE__) + 6,  \
                    "", w_ ? w_ : "(null)");                                   \
        }                                                                      \
    } while (0)

#define CHECK_INT(got, want)                                           \
    do {                                                               \
        long long g_ = (long long) (got), w_ = (long long) (want);     \
        if (g_ == w_) {                                                \
            unit_pass++;                                               \
        } else {                                                       \
            unit_fail++;                                               \
            fprintf(stderr, "%s:%d: %s = %lld, want %lld\n", __FILE__, \
                    __LINE__, #got, g_, w_);                           \
        }                                                              \
    } while (0)

/* A test:// node of 8 GiB without guests in a new directory made from
 * the template dir ("/tmp/...-XXXXXX"): its file in path, its URI in uri.
 * 0, or -1 (a failed CHECK recorded). */
static inline int unit_node(char *dir, char *path, size_t pathsz, char *uri,
                            size_t urisz)
{
    FILE *f;

    CHECK(mkdtemp(dir) != NULL);
    snprintf(path, pathsz, "%s/node.xml", dir);
    snprintf(uri, urisz, "test://%s", path);
    f = fopen(path, "w");
    CHECK(f != NULL);
    if (f == NULL) {
        return -1;
    }
    fputs("<node><memory>8388608</memory></node>\n", f);
    fclose(f);
    return 0;
}

static inline int unit_done(const char *name)
{
    printf("%s: %d passed, %d failed\n", name, unit_pass, unit_fail);
    return unit_fail ? 1 : 0;
}

#endif
