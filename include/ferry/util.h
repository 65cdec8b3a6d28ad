/*
 * util.h: small helpers shared by every module: memory, UTF-8, UUIDs,
 * hashes, times and the spellings of a boolean.
 *
 * arena: per-request bump allocator; everything allocated from it is freed
 * at once by arena_reset() at the end of the request.  Allocation failure
 * aborts (there is nothing sensible a request can do without memory).
 * sbuf: a growing byte buffer on the heap, always NUL-terminated.
 */
#ifndef FERRY_UTIL_H
#define FERRY_UTIL_H

#include <stddef.h>
#include <stdarg.h>
#include <stdint.h>

struct arena_chunk;
struct arena {
    struct arena_chunk *head;
    size_t chunk_size;
};

void arena_init(struct arena *a, size_t chunk_size);
void *arena_alloc(struct arena *a, size_t n); /* zeroed, 16-aligned */
char *arena_strdup(struct arena *a, const char *s);
char *arena_strndup(struct arena *a, const char *s, size_t n);
char *arena_printf(struct arena *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* The strings up to a NULL, joined (no printf: links are built per
 * server of a list). */
char *arena_cat(struct arena *a, ...) __attribute__((sentinel));
void arena_reset(struct arena *a); /* keeps first chunk */
void arena_free(struct arena *a);

struct sbuf {
    char *buf;
    size_t len;
    size_t cap;
};

void sbuf_init(struct sbuf *s);
void sbuf_putn(struct sbuf *s, const char *p, size_t n);
void sbuf_puts(struct sbuf *s, const char *p);
void sbuf_putc(struct sbuf *s, char c);
/* The decimal digits of v, by hand: per-request headers and lists of
 * thousands of numbers, where printf's machinery cost more than the
 * digits. */
void sbuf_put_u64(struct sbuf *s, uint64_t v);
void sbuf_printf(struct sbuf *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void sbuf_vprintf(struct sbuf *s, const char *fmt, va_list ap);
void sbuf_reset(struct sbuf *s);
void sbuf_free(struct sbuf *s);
/* Detaches the buffer (caller frees); s is left empty. */
char *sbuf_take(struct sbuf *s);
/* Appends text escaped for XML character data or an attribute value in
 * either quotes: & < > " ' become entities, nothing else changes. */
void sbuf_put_xml(struct sbuf *s, const char *text);

/* UTF-8 helpers.  utf8_decode: the length of the sequence at p and its
 * code point, or 0 when it is not valid UTF-8. */
size_t utf8_decode(const unsigned char *p, size_t n, int surrogates,
                   uint32_t *cp);
int utf8_valid(const char *p, size_t n); /* 1 if valid */
size_t utf8_codepoints(const char *p, size_t n);
/* A U+0000 inside a request string (a JSON key or value, a query
 * parameter, a path segment) cannot live in a C string.  Wherever such a
 * string must become one, the NUL is written as the two bytes C0 80
 * (Java's modified UTF-8): no valid UTF-8 request contains them, so the
 * string never equals a known name nor collides with another request
 * string, and it is never cut short.  jw writes C0 80 back as \u0000 and
 * py_repr_cstr as '\x00', as Python would print the NUL. */
#define NUL_ESC "\xc0\x80"
char *arena_nul_escape(struct arena *a, const char *s, size_t n);
/* utf8_valid, the C0 80 above allowed. */
int utf8_valid_esc(const char *p, size_t n);

/* A random RFC 4122 version-4 UUID, lower-case, into out[37]. */
void uuid4(char out[37]);
/* 1 if s is a UUID (8-4-4-4-12 hex, any case; Nova also accepts no dashes?
 * no: ferry accepts exactly the dashed form). */
int uuid_valid(const char *s);

/* Lower-case hex SHA-224 of data into out[57]. */
void sha224_hex(const void *data, size_t n, char out[57]);

/* Timestamps: now, in the two output formats of spec §0. */
struct tm;
void time_tmformat(const struct tm *tm, char out[20]); /* ...T..:..:.. */
void time_zformat(int64_t epoch, char out[21]);        /* ...T..:..:..Z */
void time_usformat(int64_t epoch_us, char out[27]);    /* ...T..:..:..... */
int64_t time_now_us(void);

/* The spellings a boolean may take, by who reads it. */
enum bool_set {
    BOOL_OSLO = 1, /* oslo strutils.bool_from_string: 1 t true on y
                         * yes / 0 f false off n no */
    BOOL_CONF = 2, /* ferry.conf: 1 true on yes / 0 false off no */
};
/* 1 or 0 when the n bytes at s are one of the words of set (ASCII letters
 * in any case), else -1.  Nothing is trimmed: callers that strip as Python
 * does strip first. */
int str_bool(const char *s, size_t n, enum bool_set set);

/* 1 when s is one of the n strings of v, sorted by strcmp (the store's
 * ORDER BY or collect_sorted), else 0. */
int strv_sorted_has(const char *const *v, size_t n, const char *s);

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

#endif
