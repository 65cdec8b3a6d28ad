/*
 * util.c: arena and sbuf memory helpers, UTF-8 checks, UUIDs, SHA-224 and
 * timestamps.  Nothing here knows about HTTP or libraries; allocation
 * failure aborts the process (a worker is restarted by the master).
 *
 * SHA-224 is hand-written (FIPS 180-4) because none of ferry's libraries
 * exports one and Nova's hostId needs it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/random.h>
#include "ferry/util.h"

struct arena_chunk {
    struct arena_chunk *next;
    size_t size;
    size_t used;
    unsigned char data[] __attribute__((aligned(16)));
};

static void *xmalloc(size_t n)
{
    void *p = malloc(n);

    if (p == NULL) {
        fputs("ferry: out of memory\n", stderr);
        abort();
    }
    return p;
}

void arena_init(struct arena *a, size_t chunk_size)
{
    a->head = NULL;
    a->chunk_size = chunk_size ? chunk_size : 16384;
}

/* n bytes of the arena, not cleared: for what the caller fills whole. */
static void *arena_raw(struct arena *a, size_t n)
{
    struct arena_chunk *c = a->head;
    size_t need = (n + 15) & ~(size_t) 15;
    void *p;

    if (c == NULL || c->size - c->used < need) {
        size_t size = a->chunk_size;

        if (size < need) {
            size = need;
        }
        c = xmalloc(sizeof(*c) + size);
        c->size = size;
        c->used = 0;
        c->next = a->head;
        a->head = c;
    }
    p = c->data + c->used;
    c->used += need;
    return p;
}

void *arena_alloc(struct arena *a, size_t n)
{
    return memset(arena_raw(a, n), 0, n);
}

char *arena_strndup(struct arena *a, const char *s, size_t n)
{
    char *p = arena_raw(a, n + 1);

    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *arena_strdup(struct arena *a, const char *s)
{
    return s ? arena_strndup(a, s, strlen(s)) : NULL;
}

char *arena_printf(struct arena *a, const char *fmt, ...)
{
    va_list ap;
    int n;
    char *p;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    p = arena_raw(a, (size_t) n + 1);
    va_start(ap, fmt);
    vsnprintf(p, (size_t) n + 1, fmt, ap);
    va_end(ap);
    return p;
}

char *arena_cat(struct arena *a, ...)
{
    va_list ap;
    const char *s;
    size_t n = 0;
    char *p, *o;

    va_start(ap, a);
    while ((s = va_arg(ap, const char *)) != NULL) {
        n += strlen(s);
    }
    va_end(ap);
    o = p = arena_raw(a, n + 1);
    va_start(ap, a);
    while ((s = va_arg(ap, const char *)) != NULL) {
        size_t k = strlen(s);

        memcpy(o, s, k);
        o += k;
    }
    va_end(ap);
    *o = '\0';
    return p;
}

void arena_reset(struct arena *a)
{
    struct arena_chunk *c = a->head, *next;

    if (c == NULL) {
        return;
    }
    /* keep the oldest chunk (the normal-size one) for the next request */
    while (c->next != NULL) {
        next = c->next;
        free(c);
        c = next;
    }
    if (c->size != a->chunk_size) {
        free(c);
        a->head = NULL;
        return;
    }
    c->used = 0;
    a->head = c;
}

void arena_free(struct arena *a)
{
    struct arena_chunk *c = a->head, *next;

    while (c != NULL) {
        next = c->next;
        free(c);
        c = next;
    }
    a->head = NULL;
}

void sbuf_init(struct sbuf *s)
{
    s->buf = NULL;
    s->len = 0;
    s->cap = 0;
}

static void sbuf_grow(struct sbuf *s, size_t extra)
{
    size_t cap = s->cap ? s->cap : 256;
    char *p;

    if (s->len + extra + 1 <= s->cap) {
        return;
    }
    while (cap < s->len + extra + 1) {
        cap *= 2;
    }
    p = realloc(s->buf, cap);
    if (p == NULL) {
        fputs("ferry: out of memory\n", stderr);
        abort();
    }
    s->buf = p;
    s->cap = cap;
}

void sbuf_putn(struct sbuf *s, const char *p, size_t n)
{
    if (s->len + n + 1 > s->cap) {
        sbuf_grow(s, n);
    }
    memcpy(s->buf + s->len, p, n);
    s->len += n;
    s->buf[s->len] = '\0';
}

void sbuf_put_u64(struct sbuf *s, uint64_t v)
{
    char buf[24], *e = buf + sizeof(buf), *p = e;

    do {
        *--p = (char) ('0' + v % 10);
        v /= 10;
    } while (v != 0);
    sbuf_putn(s, p, (size_t) (e - p));
}

void sbuf_puts(struct sbuf *s, const char *p)
{
    sbuf_putn(s, p, strlen(p));
}

void sbuf_putc(struct sbuf *s, char c)
{
    if (s->len + 2 > s->cap) {
        sbuf_grow(s, 1);
    }
    s->buf[s->len++] = c;
    s->buf[s->len] = '\0';
}

void sbuf_vprintf(struct sbuf *s, const char *fmt, va_list ap)
{
    va_list ap2;
    int n;

    va_copy(ap2, ap);
    n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    sbuf_grow(s, (size_t) n);
    vsnprintf(s->buf + s->len, (size_t) n + 1, fmt, ap);
    s->len += (size_t) n;
}

void sbuf_printf(struct sbuf *s, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    sbuf_vprintf(s, fmt, ap);
    va_end(ap);
}

void sbuf_reset(struct sbuf *s)
{
    s->len = 0;
    if (s->buf != NULL) {
        s->buf[0] = '\0';
    }
}

void sbuf_free(struct sbuf *s)
{
    free(s->buf);
    sbuf_init(s);
}

char *sbuf_take(struct sbuf *s)
{
    char *p = s->buf;

    if (p == NULL) {
        p = xmalloc(1);
        p[0] = '\0';
    }
    sbuf_init(s);
    return p;
}

void sbuf_put_xml(struct sbuf *s, const char *text)
{
    static const struct {
        char c;
        const char *ent;
    } ents[] = {
        { '&', "&amp;" },  { '<', "&lt;" },    { '>', "&gt;" },
        { '"', "&quot;" }, { '\'', "&apos;" },
    };
    size_t i, run;

    while (*text != '\0') {
        run = strcspn(text, "&<>\"'");
        sbuf_putn(s, text, run);
        text += run;
        if (*text == '\0') {
            break;
        }
        for (i = 0; i < ARRAY_LEN(ents); i++) {
            if (ents[i].c == *text) {
                sbuf_puts(s, ents[i].ent);
                break;
            }
        }
        text++;
    }
}

/* Strict UTF-8 (RFC 3629): no overlongs, max U+10FFFF, and no surrogates
 * unless allowed (Python's json keeps lone surrogates from \u escapes, so
 * its printer meets them re-encoded). */
size_t utf8_decode(const unsigned char *p, size_t n, int surrogates,
                   uint32_t *cp)
{
    uint32_t c;
    size_t len, i;

    if (n == 0) {
        return 0;
    }
    c = p[0];
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    if (c >= 0xc2 && c <= 0xdf) {
        len = 2;
        c &= 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
        len = 3;
        c &= 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4;
        c &= 0x07;
    } else {
        return 0;
    }
    if (n < len) {
        return 0;
    }
    for (i = 1; i < len; i++) {
        if ((p[i] & 0xc0) != 0x80) {
            return 0;
        }
        c = (c << 6) | (p[i] & 0x3f);
    }
    if ((len == 3 && c < 0x800) || (len == 4 && c < 0x10000) || c > 0x10ffff
        || (!surrogates && c >= 0xd800 && c <= 0xdfff)) {
        return 0;
    }
    *cp = c;
    return len;
}

int utf8_valid(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *) s;
    size_t i = 0, k;
    uint32_t cp;

    while (i < n) {
        k = utf8_decode(p + i, n - i, 0, &cp);
        if (k == 0) {
            return 0;
        }
        i += k;
    }
    return 1;
}

int utf8_valid_esc(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *) s;
    size_t i = 0, k;
    uint32_t cp;

    while (i < n) {
        if (n - i >= 2 && p[i] == 0xc0 && p[i + 1] == 0x80) {
            i += 2;
            continue;
        }
        k = utf8_decode(p + i, n - i, 0, &cp);
        if (k == 0) {
            return 0;
        }
        i += k;
    }
    return 1;
}

char *arena_nul_escape(struct arena *a, const char *s, size_t n)
{
    size_t i, nul = 0;
    char *out, *o;

    for (i = 0; i < n; i++) {
        nul += s[i] == '\0';
    }
    out = o = arena_alloc(a, n + nul + 1);
    for (i = 0; i < n; i++) {
        if (s[i] == '\0') {
            memcpy(o, NUL_ESC, 2);
            o += 2;
        } else {
            *o++ = s[i];
        }
    }
    *o = '\0';
    return out;
}

size_t utf8_codepoints(const char *s, size_t n)
{
    size_t i, count = 0;

    for (i = 0; i < n; i++) {
        if (((unsigned char) s[i] & 0xc0) != 0x80) {
            count++;
        }
    }
    return count;
}

void uuid4(char out[37])
{
    unsigned char b[16];
    size_t got = 0;
    ssize_t r;

    while (got < sizeof(b)) {
        r = getrandom(b + got, sizeof(b) - got, 0);
        if (r <= 0) {
            fputs("ferry: getrandom failed\n", stderr);
            abort();
        }
        got += (size_t) r;
    }
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    snprintf(out, 37,
             "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
             "%02x%02x%02x%02x%02x%02x",
             b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10],
             b[11], b[12], b[13], b[14], b[15]);
}

int uuid_valid(const char *s)
{
    static const char hex[] = "0123456789abcdefABCDEF";
    size_t i;

    if (s == NULL || strlen(s) != 36) {
        return 0;
    }
    for (i = 0; i < 36; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (s[i] != '-') {
                return 0;
            }
        } else if (strchr(hex, s[i]) == NULL || s[i] == '\0') {
            return 0;
        }
    }
    return 1;
}

/* SHA-224: SHA-256 with other initial values, truncated to 224 bits. */
static const uint32_t sha_k[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1,
    0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3,
    0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
    0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147,
    0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
    0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
    0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
    0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
    0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2
};

#define ROR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))

static void sha_block(uint32_t h[8], const unsigned char *p)
{
    uint32_t w[64], a, b, c, d, e, f, g, hh, t1, t2;
    int i;

    for (i = 0; i < 16; i++) {
        w[i] = (uint32_t) p[4 * i] << 24 | (uint32_t) p[4 * i + 1] << 16
            | (uint32_t) p[4 * i + 2] << 8 | (uint32_t) p[4 * i + 3];
    }
    for (i = 16; i < 64; i++) {
        uint32_t s0 = ROR(w[i - 15], 7) ^ ROR(w[i - 15], 18) ^ (w[i - 15] >> 3);
        uint32_t s1 = ROR(w[i - 2], 17) ^ ROR(w[i - 2], 19) ^ (w[i - 2] >> 10);
        w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    a = h[0];
    b = h[1];
    c = h[2];
    d = h[3];
    e = h[4];
    f = h[5];
    g = h[6];
    hh = h[7];
    for (i = 0; i < 64; i++) {
        t1 = hh + (ROR(e, 6) ^ ROR(e, 11) ^ ROR(e, 25)) + ((e & f) ^ (~e & g))
            + sha_k[i] + w[i];
        t2 = (ROR(a, 2) ^ ROR(a, 13) ^ ROR(a, 22))
            + ((a & b) ^ (a & c) ^ (b & c));
        hh = g;
        g = f;
        f = e;
        e = d + t1;
        d = c;
        c = b;
        b = a;
        a = t1 + t2;
    }
    h[0] += a;
    h[1] += b;
    h[2] += c;
    h[3] += d;
    h[4] += e;
    h[5] += f;
    h[6] += g;
    h[7] += hh;
}

void sha224_hex(const void *data, size_t n, char out[57])
{
    uint32_t h[8] = { 0xc1059ed8, 0x367cd507, 0x3070dd17, 0xf70e5939,
                      0xffc00b31, 0x68581511, 0x64f98fa7, 0xbefa4fa4 };
    const unsigned char *p = data;
    unsigned char tail[128];
    size_t rest = n % 64, tlen, i;
    uint64_t bits = (uint64_t) n * 8;

    for (i = 0; i + 64 <= n; i += 64) {
        sha_block(h, p + i);
    }
    memset(tail, 0, sizeof(tail));
    memcpy(tail, p + n - rest, rest);
    tail[rest] = 0x80;
    tlen = rest < 56 ? 64 : 128;
    for (i = 0; i < 8; i++) {
        tail[tlen - 1 - i] = (unsigned char) (bits >> (8 * i));
    }
    for (i = 0; i < tlen; i += 64) {
        sha_block(h, tail + i);
    }
    for (i = 0; i < 7; i++) {
        snprintf(out + 8 * i, 9, "%08x", h[i]);
    }
}

int64_t time_now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* "YYYY-MM-DDTHH:MM:SS" of tm into out[20].  By hand, not strftime,
 * which takes the time zone lock and looks TZ up (tzset) on every call,
 * and reads /etc/localtime in each new process, for a UTC time that
 * needs neither.  A year outside 0..9999 keeps strftime's spelling. */
void time_tmformat(const struct tm *tm, char out[20])
{
    int f[6] = { tm->tm_year + 1900, tm->tm_mon + 1, tm->tm_mday,
                 tm->tm_hour,        tm->tm_min,     tm->tm_sec };
    static const char sep[] = "--T::";
    char *o = out;
    int i;

    if (f[0] < 0 || f[0] > 9999) {
        strftime(out, 20, "%Y-%m-%dT%H:%M:%S", tm);
        return;
    }
    *o++ = (char) ('0' + f[0] / 1000);
    *o++ = (char) ('0' + f[0] / 100 % 10);
    for (i = 0; i < 6; i++) {
        *o++ = (char) ('0' + f[i] / 10 % 10);
        *o++ = (char) ('0' + f[i] % 10);
        if (i < 5) {
            *o++ = sep[i];
        }
    }
    *o = '\0';
}

void time_zformat(int64_t epoch, char out[21])
{
    time_t t = (time_t) epoch;
    struct tm tm;

    gmtime_r(&t, &tm);
    time_tmformat(&tm, out);
    if (strlen(out) < 20) {
        strcat(out, "Z");
    }
}

void time_usformat(int64_t epoch_us, char out[27])
{
    time_t t = (time_t) (epoch_us / 1000000);
    struct tm tm;
    char buf[20];

    gmtime_r(&t, &tm);
    time_tmformat(&tm, buf);
    snprintf(out, 27, "%.19s.%06u", buf,
             (unsigned) (epoch_us % 1000000) % 1000000u);
}

/* The spellings of a boolean and the sets that accept each: oslo's
 * strutils.bool_from_string has the one-letter forms, ferry.conf not. */
static const struct {
    const char *word;
    int value;
    unsigned sets;
} bool_words[] = {
    { "1", 1, BOOL_OSLO | BOOL_CONF },
    { "t", 1, BOOL_OSLO },
    { "true", 1, BOOL_OSLO | BOOL_CONF },
    { "on", 1, BOOL_OSLO | BOOL_CONF },
    { "y", 1, BOOL_OSLO },
    { "yes", 1, BOOL_OSLO | BOOL_CONF },
    { "0", 0, BOOL_OSLO | BOOL_CONF },
    { "f", 0, BOOL_OSLO },
    { "false", 0, BOOL_OSLO | BOOL_CONF },
    { "off", 0, BOOL_OSLO | BOOL_CONF },
    { "n", 0, BOOL_OSLO },
    { "no", 0, BOOL_OSLO | BOOL_CONF },
};

/* 1 if the n bytes at s are word, ASCII letters in any case (no locale:
 * oslo lowers with str.lower(), and no other letter lowers into these). */
static int word_eq(const char *s, size_t n, const char *word)
{
    size_t i;

    for (i = 0; i < n; i++) {
        char c = s[i];

        if (c >= 'A' && c <= 'Z') {
            c = (char) (c - 'A' + 'a');
        }
        if (word[i] == '\0' || c != word[i]) {
            return 0;
        }
    }
    return word[n] == '\0';
}

int str_bool(const char *s, size_t n, enum bool_set set)
{
    size_t i;

    for (i = 0; i < ARRAY_LEN(bool_words); i++) {
        if ((bool_words[i].sets & set) && word_eq(s, n, bool_words[i].word)) {
            return bool_words[i].value;
        }
    }
    return -1;
}

static int strv_cmp(const void *key, const void *elem)
{
    return strcmp(key, *(const char *const *) elem);
}

int strv_sorted_has(const char *const *v, size_t n, const char *s)
{
    return n > 0 && bsearch(s, v, n, sizeof(*v), strv_cmp) != NULL;
}
