/*
 * fuzz_regex.c: regex.c under arbitrary patterns.  Input: the pattern
 * bytes; an optional first line "\x01<subject>\n" picks the subject
 * instead of the fixed ones.  Each pattern is compiled with and without
 * REGEX_ICASE and searched in fixed subjects (server names, one that
 * backtracks, NUL and invalid UTF-8).  Checked: no crash or leak, every
 * search answers one of the three results, and compile + searches stay
 * within the bounds (time: a generous multiple of the CPU budget).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ferry/regex.h"

static const struct {
    const char *s;
    size_t n;
} subjects[] = {
#define S(lit)               \
    {                        \
        lit, sizeof(lit) - 1 \
    }
    S("suspended-1"),
    S("web-1"),
    S(""),
    S("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab"),
    S("a\0b\n"),
    S("\xff\xfe\xc3(\xe2\x82\xac\xf0\x9f\x98\x80"),
    S("CAF\xc3\x89 caf\xc3\xa9\n"),
#undef S
};

static double now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void run(const char *pat, size_t n, unsigned flags, const char *subj,
                size_t sn)
{
    struct regex *re;
    const char *why = NULL;
    size_t i;
    int rc;

    re = regex_compile(pat, n, flags, &why);
    if (re == NULL) {
        if (why == NULL) {
            abort(); /* a refusal always says why */
        }
        return;
    }

    if (subj != NULL) {
        rc = regex_search(re, subj, sn);
        if (rc != REGEX_MATCH && rc != REGEX_NOMATCH && rc != REGEX_LIMIT) {
            abort();
        }
    }

    for (i = 0; i < sizeof(subjects) / sizeof(subjects[0]); i++) {
        rc = regex_search(re, subjects[i].s, subjects[i].n);
        if (rc != REGEX_MATCH && rc != REGEX_NOMATCH && rc != REGEX_LIMIT) {
            abort();
        }
    }

    regex_free(re);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *p = (const char *) data, *subj = NULL, *nl;
    size_t n = size, sn = 0;
    double t0;

    if (n > 0 && p[0] == '\x01' && (nl = memchr(p, '\n', n)) != NULL) {
        subj = p + 1;
        sn = (size_t) (nl - subj);
        n -= (size_t) (nl + 1 - p);
        p = nl + 1;
    }

    t0 = now_ms();
    run(p, n, 0, subj, sn);
    run(p, n, REGEX_ICASE, subj, sn);

    /* two compiles and 16 searches, sanitizers on: far under 2 s unless a
     * bound does not hold */
    if (now_ms() - t0 > 2000) {
        abort();
    }

    return 0;
}
