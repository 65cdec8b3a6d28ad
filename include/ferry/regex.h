/*
 * regex.h: the one regular-expression engine of ferry, for the query
 * filters Nova treats as Python re patterns ('format: regex' in the query
 * schemas, the servers name filter).
 *
 * Patterns come from any token holder, so every pattern has a bounded
 * cost: a length cap, a memory budget shared by compiling and matching,
 * and match, depth and heap limits per search.  A pattern that exceeds a
 * compile-time bound is refused exactly like a pattern that does not
 * compile; a search that reaches a run-time limit says so (REGEX_LIMIT)
 * and the caller refuses the pattern.  Subjects are (pointer, length):
 * NUL bytes and invalid UTF-8 in them are matched, never cut.
 */
#ifndef FERRY_REGEX_H
#define FERRY_REGEX_H

#include <stddef.h>

/* The bounds (see regex.c for why these numbers). */
#define REGEX_MAX_PATTERN 1024      /* bytes of the pattern as sent */
#define REGEX_MAX_NEST 64           /* nested parentheses */
#define REGEX_MEM_BUDGET (2u << 20) /* bytes: compile + match, per regex */
#define REGEX_MATCH_LIMIT 100000u   /* backtracking steps per search */
#define REGEX_DEPTH_LIMIT 5000u     /* nested backtracking frames */
#define REGEX_HEAP_LIMIT 1024u      /* KiB of backtracking frames */

enum regex_flags {
    REGEX_ICASE = 1 << 0 /* case-insensitive (Unicode folding) */
};

enum regex_result {
    REGEX_LIMIT = -1, /* a limit was reached: no answer */
    REGEX_NOMATCH = 0,
    REGEX_MATCH = 1
};

struct regex;

/* Compiles the Python re pattern pat[0..n) (UTF-8).  Returns NULL when
 * Python would reject it, PCRE2 cannot compile it, or it is beyond a
 * bound; *why (if not NULL) then names the reason, a static string. */
struct regex *regex_compile(const char *pat, size_t n, unsigned flags,
                            const char **why);

/* Python re.search: 1 if the pattern matches anywhere in s[0..n). */
int regex_search(struct regex *re, const char *s, size_t n);

void regex_free(struct regex *re);

/* 1 if pat[0..n) compiles within the bounds (Nova's format 'regex'). */
int regex_valid(const char *pat, size_t n);

#endif
