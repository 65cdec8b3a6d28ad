/* test_regex.c: regex.c's bounds, its Python re semantics and syntax. */
#include <stdlib.h>
#include <time.h>
#include "unit.h"
#include "ferry/regex.h"

static int search(const char *pat, unsigned flags, const char *s, size_t n)
{
    struct regex *re = regex_compile(pat, strlen(pat), flags, NULL);
    int rc;

    if (re == NULL) {
        return -2;
    }
    rc = regex_search(re, s, n);
    regex_free(re);
    return rc;
}

#define S(pat, subj) search(pat, 0, subj, strlen(subj))
#define SI(pat, subj) search(pat, REGEX_ICASE, subj, strlen(subj))
#define VALID(pat) regex_valid(pat, strlen(pat))

static double now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

int main(void)
{
    char pat[4096], subj[300];
    const char *why = NULL;
    struct regex *re;
    double t0;
    int i;

    /* search, not full match; case only where asked */
    CHECK_INT(S("vm1", "myvm10"), REGEX_MATCH);
    CHECK_INT(S("^vm1$", "myvm10"), REGEX_NOMATCH);
    CHECK_INT(S("VM1", "myvm10"), REGEX_NOMATCH);
    CHECK_INT(SI("VM1", "myvm10"), REGEX_MATCH);
    CHECK_INT(SI("\xc3\x89T\xc3\x89", "\xc3\xa9t\xc3\xa9"), REGEX_MATCH);
    CHECK_INT(S("ed-1|^sev", "sev-1"), REGEX_MATCH);
    CHECK_INT(S("^(vm|myvm)1", "myvm10"), REGEX_MATCH);
    /* '$' before a final newline, \Z only at the end (Python) */
    CHECK_INT(S("a$", "a\n"), REGEX_MATCH);
    CHECK_INT(S("a\\Z", "a\n"), REGEX_NOMATCH);
    CHECK_INT(S("a\\Z", "ba"), REGEX_MATCH);
    CHECK_INT(S("\\Aa", "ab"), REGEX_MATCH);
    /* Python syntax that PCRE2 spells differently */
    CHECK_INT(S("(?P<x>a)(?P=x)", "baab"), REGEX_MATCH);
    CHECK_INT(S("\\u00e9", "caf\xc3\xa9"), REGEX_MATCH);
    CHECK_INT(S("\\U0001F600", "\xf0\x9f\x98\x80"), REGEX_MATCH);
    CHECK_INT(S("\\x41", "A"), REGEX_MATCH);
    CHECK_INT(S("\\v", "\v"), REGEX_MATCH);
    CHECK_INT(S("\\v", "\n"), REGEX_NOMATCH);
    CHECK_INT(S("^a{,2}$", "aa"), REGEX_MATCH);
    CHECK_INT(S("^a{,2}$", "aaa"), REGEX_NOMATCH);
    CHECK_INT(S("[[:a]", ":"), REGEX_MATCH); /* '[' literal in a set */
    CHECK_INT(S("[]a]", "]"), REGEX_MATCH);
    CHECK_INT(S("[(*]", "*"), REGEX_MATCH);
    CHECK_INT(S("a(?#(*comment)b", "ab"), REGEX_MATCH);
    CHECK_INT(S("(?i)AB", "ab"), REGEX_MATCH);
    CHECK_INT(S("(?>a+)b", "aab"), REGEX_MATCH);
    CHECK_INT(S("\\w+", "\xc3\xa9"), REGEX_MATCH); /* Unicode \w */
    /* refused where Python 3.11 refuses */
    CHECK(!VALID(""));
    CHECK(!VALID("("));
    CHECK(!VALID("["));
    CHECK(!VALID("*"));
    CHECK(!VALID("a(b"));
    CHECK(!VALID("\\"));
    CHECK(!VALID("a+++"));
    CHECK(!VALID("(*FAIL)"));
    CHECK(!VALID("(*LIMIT_MATCH=99999999)a"));
    CHECK(!VALID("a\\K"));
    CHECK(!VALID("\\Qa\\E"));
    CHECK(!VALID("\\C"));
    CHECK(!VALID("\\p{L}"));
    CHECK(!VALID("\\u12"));
    CHECK(!VALID("\\x4"));
    CHECK(!VALID("(?R)"));
    CHECK(!VALID("(a)(?1)"));
    CHECK(!VALID("(?<n>a)"));
    CHECK(!VALID("(?P>n)"));
    CHECK(!VALID("(?|a)"));
    CHECK(!VALID("(?C1)a"));
    CHECK(!VALID("\\N{DIGIT ONE}"));
    CHECK(VALID("a++")); /* possessive: Python 3.11 */
    CHECK(VALID("(?<=a)b(?<!c)"));
    CHECK(regex_compile("(", 1, 0, &why) == NULL && why != NULL);

    /* subjects: lengths, not strlen; NUL and invalid UTF-8 are data */
    CHECK_INT(search("b", 0, "a\0b", 3), REGEX_MATCH);
    CHECK_INT(search("a\\x00b", 0, "a\0b", 3), REGEX_MATCH);
    CHECK_INT(search("b", 0,
                     "\xff\xfe"
                     "b",
                     3),
              REGEX_MATCH);
    CHECK_INT(search("^.b", 0,
                     "\xff"
                     "b",
                     2),
              REGEX_NOMATCH);
    CHECK_INT(search("x", 0, "\xc3", 1), REGEX_NOMATCH);
    CHECK_INT(search("a", 0, NULL, 0), REGEX_NOMATCH);
    CHECK_INT(regex_valid("a\0b", 3), 1);
    CHECK_INT(regex_valid("\xff", 1), 0); /* pattern: UTF-8 */

    /* bounds at compile time: length, nesting, memory */
    memset(pat, 'a', REGEX_MAX_PATTERN);
    CHECK_INT(regex_valid(pat, REGEX_MAX_PATTERN), 1);
    CHECK_INT(regex_valid(pat, REGEX_MAX_PATTERN + 1), 0);
    for (i = 0; i < REGEX_MAX_NEST + 1; i++) {
        pat[i] = '(';
        pat[2 * (REGEX_MAX_NEST + 1) - i] = ')';
    }
    pat[REGEX_MAX_NEST + 1] = 'a';
    CHECK_INT(regex_valid(pat, 2 * (REGEX_MAX_NEST + 1) + 1), 0);
    t0 = now_ms();
    CHECK(!VALID("(((a{1,50}){1,50}){1,50}){1,50}"));
    CHECK(!VALID("(((((((((a{1,65535}){1,65535}){1,65535}){1,65535})"
                 "{1,65535}){1,65535}){1,65535}){1,65535}){1,65535})"));
    CHECK(!VALID("a{70000}"));
    for (i = 18; i <= 30; i++) {
        memset(pat, '+', (size_t) i + 1);
        pat[0] = 'a';
        CHECK_INT(regex_valid(pat, (size_t) i + 1), 0);
    }
    /* a long pattern of costly pieces stays within the budget or fails */
    pat[0] = '\0';
    while (strlen(pat) + 12 < REGEX_MAX_PATTERN) {
        strcat(pat, "(a{1,999})");
    }
    (void) VALID(pat);
    CHECK(now_ms() - t0 < 200);

    /* bounds at run time: catastrophic backtracking stops promptly */
    memset(subj, 'a', 255);
    subj[254] = 'b';
    subj[255] = '\0';
    t0 = now_ms();
    CHECK_INT(S("(a+)+$", subj), REGEX_LIMIT);
    CHECK_INT(S("^(a|a)*$", subj), REGEX_LIMIT);
    CHECK_INT(S("^(.*a){20}$", subj), REGEX_LIMIT);
    CHECK_INT(S("^(a?){25}a{25}$", "aaaaaaaaaaaaaaaaaaaaaaaaa"), REGEX_LIMIT);
    /* ... while an ordinary amount of backtracking is answered */
    CHECK_INT(S("^(a?){10}a{10}$", "aaaaaaaaaa"), REGEX_MATCH);
    CHECK_INT(S("(a+)+b", subj), REGEX_MATCH);
    CHECK(now_ms() - t0 < 100);
    /* deep recursion of a long subject: depth or heap limit */
    {
        static char big[200000];

        memset(big, 'a', sizeof(big) - 1);
        CHECK_INT(search("^(a|b)*$", 0, big, sizeof(big) - 1), REGEX_LIMIT);
    }
    /* one regex, many subjects: the CPU budget ends a slow run */
    re = regex_compile("(a+)+$", 6, 0, NULL);
    CHECK(re != NULL);
    t0 = now_ms();
    for (i = 0; i < 100000; i++) {
        if (regex_search(re, subj, 20) == REGEX_LIMIT) {
            break;
        }
    }
    CHECK(i < 100000);
    CHECK(now_ms() - t0 < 500);
    CHECK_INT(regex_search(re, "x", 1), REGEX_LIMIT); /* stays spent */
    regex_free(re);

    return unit_done("test_regex");
}
