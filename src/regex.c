/*
 * regex.c: the regular-expression engine of the query filters (PCRE2), the
 * only includer of pcre2.h.  It owns the bounds that make a hostile
 * pattern cheap, and the translation from Python re syntax (Nova's
 * filters are Python patterns) to PCRE2 syntax.
 *
 * Bounds.  glibc regcomp() builds a DFA whose size is exponential in the
 * pattern ('a' and 18 '+' took 568 MB); PCRE2 is a backtracking matcher
 * whose cost is capped by counters instead:
 *   - the pattern is at most REGEX_MAX_PATTERN bytes and REGEX_MAX_NEST
 *     parentheses deep;
 *   - every allocation of compiling and matching goes through a counting
 *     allocator that refuses past REGEX_MEM_BUDGET (PCRE2 reports "no
 *     memory", which is a refusal); a compiled pattern is also at most 64
 *     KiB (LINK_SIZE 2), which bounds nested counted repeats;
 *   - each search stops after REGEX_MATCH_LIMIT backtracking steps,
 *     REGEX_DEPTH_LIMIT nested frames or REGEX_HEAP_LIMIT KiB of frames
 *     (1 to 7 ms measured on a loaded 2-core machine, at most 1 MiB);
 *   - all searches of one compiled regex together get REGEX_CPU_BUDGET_NS
 *     of thread CPU time, so a pattern that stays just under the step
 *     limit on each of a thousand servers is still stopped.
 * A search past a bound answers REGEX_LIMIT; the caller refuses the
 * pattern as Nova refuses an invalid one.
 *
 * Python re and PCRE2.  Both are backtracking Perl dialects; the pattern
 * is rewritten where they differ and refused where Python 3.11 (Nova 26 on
 * Debian 12) would refuse it, so that PCRE2-only syntax is not accepted:
 *   - \Z is Python's end of string, PCRE2's \z; \v is VT only (PCRE2: any
 *     vertical space); \uXXXX and \UXXXXXXXX become \x{...};
 *   - an escaped ASCII letter Python does not know is an error (so \K, \R,
 *     \X, \p, \g, \k, \h, \C, \Q, \E ... are refused); \N{name} is
 *     refused (no Unicode name table here: a pattern Nova accepts);
 *   - "(*" is Python's "nothing to repeat" (and every PCRE2 verb);
 *   - after "(?" only Python's extensions: (?: (?P<n> (?P=n) (?= (?! (?<=
 *     (?<! (?# (?( (?> and inline flags; (?R), (?1), (?|, (?C, (?<n> are
 *     refused;
 *   - inside a class '[' is a literal (Python has no [:alpha:] classes);
 *   - x{,n} is x{0,n} (PCRE2 10.42 reads it as a literal).
 * Python's unanchored re.search is PCRE2 without PCRE2_ANCHORED; '$'
 * matches before a final newline in both.  PCRE2_UCP gives \w, \d, \s and
 * \b Python's Unicode meaning; PCRE2_MATCH_INVALID_UTF matches subjects
 * that are not UTF-8 (and NUL bytes, the length is explicit).  Left as
 * PCRE2 has them: the inline flags a, L, u (refused by PCRE2), repeat
 * counts above 65535 (refused), global flags in mid-pattern (accepted).
 */
#define PCRE2_CODE_UNIT_WIDTH 8

#include <pcre2.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ferry/regex.h"

/* CPU time all searches of one compiled regex may take together. */
#define REGEX_CPU_BUDGET_NS (50 * 1000 * 1000LL)

/* The header of each counted block: its size, kept aligned. */
#define HDR 16

struct regex {
    size_t used;    /* bytes allocated, with headers */
    int64_t cpu_ns; /* CPU time spent in searches */
    pcre2_general_context *gc;
    pcre2_match_context *mc;
    pcre2_code *code;
    pcre2_match_data *md;
};

static void *budget_malloc(PCRE2_SIZE n, void *data)
{
    struct regex *re = data;
    unsigned char *p;

    if (n > REGEX_MEM_BUDGET || re->used + n + HDR > REGEX_MEM_BUDGET) {
        return NULL;
    }

    p = malloc(n + HDR);
    if (p == NULL) {
        return NULL;
    }

    memcpy(p, &n, sizeof(n));
    re->used += n + HDR;
    return p + HDR;
}

static void budget_free(void *q, void *data)
{
    struct regex *re = data;
    unsigned char *p;
    PCRE2_SIZE n;

    if (q == NULL) {
        return;
    }

    p = (unsigned char *) q - HDR;
    memcpy(&n, p, sizeof(n));
    re->used -= n + HDR;
    free(p);
}

static int is_hex(int c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')
        || (c >= 'A' && c <= 'F');
}

static int all_hex(const char *p, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (!is_hex((unsigned char) p[i])) {
            return 0;
        }
    }

    return 1;
}

/*
 * One escape at p[0] == '\\' of a pattern ending at e, written to *o.
 * Returns the bytes consumed, or 0 when Python refuses the escape.
 * The letters Python knows (sre_parse: CATEGORIES and ESCAPES, plus the
 * numeric escapes); \A \B \Z are not valid inside a class.
 */
static size_t escape(const char *p, const char *e, int in_class, char **o,
                     const char **why)
{
    static const char out_letters[] = "aAbBdDfnrsStuUvwWxZ";
    static const char in_letters[] = "abdDfnrsStuUvwWx";
    unsigned char c;
    size_t k;

    if (p + 1 >= e) {
        *why = "bad escape (end of pattern)";
        return 0;
    }

    c = (unsigned char) p[1];

    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))) {
        (*o)[0] = '\\';
        (*o)[1] = (char) c;
        *o += 2;
        return 2;
    }

    if (strchr(in_class ? in_letters : out_letters, c) == NULL) {
        *why = c == 'N' ? "named Unicode escapes \\N{...} are not supported"
                        : "bad escape";
        return 0;
    }

    switch (c) {
    case 'Z':
        memcpy(*o, "\\z", 2);
        *o += 2;
        return 2;

    case 'v':
        memcpy(*o, "\\x0b", 4);
        *o += 4;
        return 2;

    case 'x':
    case 'u':
    case 'U':
        k = c == 'x' ? 2 : c == 'u' ? 4 : 8;
        if ((size_t) (e - p - 2) < k || !all_hex(p + 2, k)) {
            *why = "incomplete escape";
            return 0;
        }
        memcpy(*o, "\\x{", 3);
        memcpy(*o + 3, p + 2, k);
        (*o)[3 + k] = '}';
        *o += 4 + k;
        return 2 + k;

    default:
        (*o)[0] = '\\';
        (*o)[1] = (char) c;
        *o += 2;
        return 2;
    }
}

/*
 * The "(?" extensions Python knows; p points at '(' and p[1] == '?'.
 * Returns 1 if Python accepts what follows.
 */
static int python_extension(const char *p, const char *e)
{
    static const char simple[] = ":=!#(>aiLmsux-";
    unsigned char c;

    if (p + 2 >= e) {
        return 0;
    }

    c = (unsigned char) p[2];

    if (c == 'P') {
        return p + 3 < e && (p[3] == '<' || p[3] == '=');
    }

    if (c == '<') {
        return p + 3 < e && (p[3] == '=' || p[3] == '!');
    }

    return c != '\0' && strchr(simple, c) != NULL;
}

/*
 * A class opening at p[0] == '[', copied to *o: '^' and a first ']'
 * belong to the class in both dialects.  Returns the bytes consumed.
 */
static size_t open_class(const char *p, const char *e, char **o)
{
    size_t k;

    k = 1;

    if (p + k < e && p[k] == '^') {
        k++;
    }

    if (p + k < e && p[k] == ']') {
        k++;
    }

    memcpy(*o, p, k);
    *o += k;
    return k;
}

/*
 * A group opening at p[0] == '(', copied to *o.  Returns the bytes
 * consumed, or 0 when Python refuses it.
 */
static size_t open_group(const char *p, const char *e, char **o,
                         const char **why)
{
    size_t k;

    if (p + 1 < e && p[1] == '*') {
        *why = "nothing to repeat";
        return 0;
    }

    k = 1;

    if (p + 1 < e && p[1] == '?') {
        if (!python_extension(p, e)) {
            *why = "unknown extension";
            return 0;
        }

        if (p[2] == '#') {
            /* a comment ends at the first ')', escapes or not */
            while (p + k < e && p[k] != ')') {
                k++;
            }
        }
    }

    memcpy(*o, p, k);
    *o += k;
    return k;
}

/* A '{' at p, copied to *o; Python's {,n}: PCRE2 10.42 needs the 0. */
static size_t open_count(const char *p, const char *e, char **o)
{
    size_t k;

    *(*o)++ = '{';

    if (p + 1 < e && p[1] == ',') {
        for (k = 2; p + k < e && p[k] >= '0' && p[k] <= '9'; k++) {
        }
        if (p + k < e && p[k] == '}') {
            *(*o)++ = '0';
        }
    }

    return 1;
}

/*
 * Rewrites the Python pattern pat[0..n) into PCRE2 syntax in out (room
 * for 2 n + 1 bytes: the longest rewrite, \v to \x0b, doubles 2 bytes).
 * Returns the length written, or -1 with *why set.
 */
static long translate(const char *pat, size_t n, char *out, const char **why)
{
    const char *p = pat, *e = pat + n;
    char *o = out;
    size_t k;
    int in_class = 0;

    while (p < e) {
        if (*p == '\\') {
            k = escape(p, e, in_class, &o, why);

        } else if (in_class) {
            /* Python has no [:alpha:]: '[' is a literal in a class */
            if (*p == '[') {
                *o++ = '\\';
            }
            in_class = *p != ']';
            *o++ = *p;
            k = 1;

        } else if (*p == '[') {
            k = open_class(p, e, &o);
            in_class = 1;

        } else if (*p == '(') {
            k = open_group(p, e, &o, why);

        } else if (*p == '{') {
            k = open_count(p, e, &o);

        } else {
            *o++ = *p;
            k = 1;
        }

        if (k == 0) {
            return -1;
        }

        p += k;
    }

    *o = '\0';
    return (long) (o - out);
}

static int64_t cpu_now(void)
{
    struct timespec ts;

    if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) != 0) {
        return 0;
    }

    return (int64_t) ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/*
 * Compiles the translated pattern tr[0..len) into re, every allocation
 * counted against re's budget.  Returns 0, or -1 with *why set.
 */
static int compile_counted(struct regex *re, const char *tr, size_t len,
                           unsigned flags, const char **why)
{
    pcre2_compile_context *cc;
    int ec;
    PCRE2_SIZE eo;
    uint32_t opts;

    re->gc = pcre2_general_context_create(budget_malloc, budget_free, re);
    cc = re->gc ? pcre2_compile_context_create(re->gc) : NULL;
    if (cc == NULL) {
        *why = "out of memory";
        return -1;
    }

    pcre2_set_max_pattern_length(cc, 2 * REGEX_MAX_PATTERN);
    pcre2_set_parens_nest_limit(cc, REGEX_MAX_NEST);

    opts = PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF
        | PCRE2_NEVER_BACKSLASH_C;
    if (flags & REGEX_ICASE) {
        opts |= PCRE2_CASELESS;
    }

    re->code =
        pcre2_compile((PCRE2_SPTR) tr, (PCRE2_SIZE) len, opts, &ec, &eo, cc);
    pcre2_compile_context_free(cc);
    if (re->code == NULL) {
        *why = ec == PCRE2_ERROR_NOMEMORY || ec == PCRE2_ERROR_HEAP_FAILED
            ? "pattern too costly"
            : "does not compile";
        return -1;
    }

    return 0;
}

/* The match context with the per-search limits, and the match data. */
static int prepare_search(struct regex *re, const char **why)
{
    re->mc = pcre2_match_context_create(re->gc);
    re->md = pcre2_match_data_create(1, re->gc);
    if (re->mc == NULL || re->md == NULL) {
        *why = "pattern too costly";
        return -1;
    }

    pcre2_set_match_limit(re->mc, REGEX_MATCH_LIMIT);
    pcre2_set_depth_limit(re->mc, REGEX_DEPTH_LIMIT);
    pcre2_set_heap_limit(re->mc, REGEX_HEAP_LIMIT);
    return 0;
}

struct regex *regex_compile(const char *pat, size_t n, unsigned flags,
                            const char **why)
{
    struct regex *re;
    char *tr;
    const char *dummy;
    long len;

    if (why == NULL) {
        why = &dummy;
    }

    if (n == 0) {
        *why = "empty pattern";
        return NULL;
    }

    if (n > REGEX_MAX_PATTERN) {
        *why = "pattern too long";
        return NULL;
    }

    tr = malloc(2 * n + 1);
    re = calloc(1, sizeof(*re));
    if (tr == NULL || re == NULL) {
        free(tr);
        free(re);
        *why = "out of memory";
        return NULL;
    }

    len = translate(pat, n, tr, why);

    /* regex_free() takes a re that is only partly built */
    if (len < 0 || compile_counted(re, tr, (size_t) len, flags, why) != 0
        || prepare_search(re, why) != 0) {
        free(tr);
        regex_free(re);
        return NULL;
    }

    free(tr);
    return re;
}

int regex_search(struct regex *re, const char *s, size_t n)
{
    int64_t t0;
    int rc;

    if (re->cpu_ns > REGEX_CPU_BUDGET_NS) {
        return REGEX_LIMIT;
    }

    t0 = cpu_now();
    rc = pcre2_match(re->code, (PCRE2_SPTR) (s != NULL ? s : ""),
                     (PCRE2_SIZE) n, 0, 0, re->md, re->mc);
    re->cpu_ns += cpu_now() - t0;

    if (rc >= 0) {
        return REGEX_MATCH;
    }

    return rc == PCRE2_ERROR_NOMATCH ? REGEX_NOMATCH : REGEX_LIMIT;
}

void regex_free(struct regex *re)
{
    if (re == NULL) {
        return;
    }

    /* each free goes through budget_free, which needs re: free re last */
    pcre2_match_data_free(re->md);
    pcre2_match_context_free(re->mc);
    pcre2_code_free(re->code);
    pcre2_general_context_free(re->gc);
    free(re);
}

int regex_valid(const char *pat, size_t n)
{
    struct regex *re = regex_compile(pat, n, 0, NULL);

    regex_free(re);
    return re != NULL;
}
