/*
 * json.h: the only door to json-c (json.c and schema.c alone include it).
 *
 * Parsing follows Python's json.loads, because Nova parses request bodies
 * with it: the whole buffer must be one JSON value with only whitespace
 * around it; NaN, Infinity and -Infinity are accepted; for a duplicate key
 * the last value wins at the position of the first occurrence; the body
 * must be valid UTF-8 with no BOM.  Object key order is the request order.
 *
 * Printing in Python's str()/repr() forms (spec §3.4) lives here too, since
 * validation messages quote request values that way.
 *
 * jw is a streaming writer for response bodies (no tree is built).
 */
#ifndef FERRY_JSON_H
#define FERRY_JSON_H

#include <stddef.h>
#include <stdint.h>
#include "ferry/util.h"

typedef struct json_object jnode; /* opaque; NULL is JSON null */

enum jtype {
    JT_NULL,
    JT_BOOL,
    JT_INT,
    JT_DOUBLE,
    JT_STRING,
    JT_ARRAY,
    JT_OBJECT
};

/* 0 and *out set (caller json_free()s it), or -1 if the buffer is not one
 * valid JSON document under the rules above.  *out may be NULL on success
 * (the document "null"). */
int json_parse(const char *buf, size_t len, jnode **out);
void json_free(jnode *n);

enum jtype jnode_type(const jnode *n);
int jnode_bool(const jnode *n);
int64_t jnode_int(const jnode *n);
double jnode_double(const jnode *n);
const char *jnode_str(const jnode *n); /* NUL-terminated */
size_t jnode_strlen(const jnode *n);   /* bytes */

size_t jnode_obj_len(const jnode *o);
/* 1 and *val set (possibly NULL for a JSON null) if key is present. */
int jnode_obj_get(const jnode *o, const char *key, jnode **val);

struct jiter {
    void *entry;
};
void jnode_obj_iter(const jnode *o, struct jiter *it);
/* 1 while there is a next member (in request order), 0 at the end. */
int jnode_obj_next(struct jiter *it, const char **key, jnode **val);

size_t jnode_arr_len(const jnode *a);
jnode *jnode_arr_get(const jnode *a, size_t i);

/* Python str(value) and repr(value) of a parsed JSON value, appended. */
void json_pystr(struct sbuf *out, const jnode *v);
void json_pyrepr(struct sbuf *out, const jnode *v);
/* repr() of a plain C string (Python str rules). */
void py_repr_cstr(struct sbuf *out, const char *s, size_t n);

/* Streaming writer.  Commas are inserted automatically; separators are
 * Python's (", " and ": ").  Strings pass UTF-8 through.  Two encodings
 * that only ferry produces are written as JSON escapes: a lone surrogate
 * kept from a \uD8xx request escape (3-byte WTF-8) as \ud8xx, and the
 * bytes C0 80 as \u0000 (schema messages carry a request's NUL that way,
 * since struct ferr holds C strings).  Other invalid bytes become \ufffd. */
#define JW_MAX_DEPTH 32
struct jw {
    struct sbuf *sb;
    int depth;
    unsigned char first[JW_MAX_DEPTH];
};
void jw_init(struct jw *w, struct sbuf *sb);
void jw_obj_open(struct jw *w);
void jw_obj_close(struct jw *w);
void jw_arr_open(struct jw *w);
void jw_arr_close(struct jw *w);
void jw_key(struct jw *w, const char *k);
void jw_str(struct jw *w, const char *s); /* NULL writes null */
void jw_strn(struct jw *w, const char *s, size_t n);
void jw_int(struct jw *w, int64_t v);
void jw_bool(struct jw *w, int v);
void jw_null(struct jw *w);
/* Convenience: key + value. */
void jw_kstr(struct jw *w, const char *k, const char *v);
void jw_kint(struct jw *w, const char *k, int64_t v);
void jw_kbool(struct jw *w, const char *k, int v);
void jw_knull(struct jw *w, const char *k);

#endif
