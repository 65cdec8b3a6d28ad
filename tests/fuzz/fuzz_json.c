/*
 * fuzz_json.c: libFuzzer target for the request-body parser (json.c).
 *
 * The input is a request body.  A body json_parse() accepts is printed with
 * Python's repr() and str() (as validation messages quote it), written back
 * with the streaming writer and parsed again: the second tree must equal
 * the first, with the writer's known limits (it has no doubles, so a double
 * is written as null, and a big integer is written saturated, as ferry's
 * accessors read it), and writing it again must give the same text.
 * The writer is only tried up to its depth limit JW_MAX_DEPTH.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ferry/json.h"
#include "ferry/util.h"

static void write_node(struct jw *w, const jnode *v)
{
    struct jiter it;
    const char *key;
    jnode *val;
    size_t i, n;

    switch (jnode_type(v)) {
    case JT_NULL:
    case JT_DOUBLE:
        jw_null(w);
        break;
    case JT_BOOL:
        jw_bool(w, jnode_bool(v));
        break;
    case JT_INT:
        jw_int(w, jnode_int(v));
        break;
    case JT_STRING:
        jw_strn(w, jnode_str(v), jnode_strlen(v));
        break;
    case JT_ARRAY:
        jw_arr_open(w);
        n = jnode_arr_len(v);
        for (i = 0; i < n; i++) {
            write_node(w, jnode_arr_get(v, i));
        }
        jw_arr_close(w);
        break;
    case JT_OBJECT:
        jw_obj_open(w);
        jnode_obj_iter(v, &it);
        while (jnode_obj_next(&it, &key, &val)) {
            jw_key(w, key);
            write_node(w, val);
        }
        jw_obj_close(w);
        break;
    }
}

/* Containers on the deepest path (a scalar is 0). */
static size_t depth(const jnode *v)
{
    struct jiter it;
    const char *key;
    jnode *val;
    size_t i, n, d, max;

    max = 0;
    if (jnode_type(v) == JT_ARRAY) {
        n = jnode_arr_len(v);
        for (i = 0; i < n; i++) {
            d = depth(jnode_arr_get(v, i));
            max = d > max ? d : max;
        }
        return max + 1;
    }
    if (jnode_type(v) == JT_OBJECT) {
        jnode_obj_iter(v, &it);
        while (jnode_obj_next(&it, &key, &val)) {
            d = depth(val);
            max = d > max ? d : max;
        }
        return max + 1;
    }
    return 0;
}

/* 1 if b is what the writer and the parser make of a. */
static int same(const jnode *a, const jnode *b)
{
    struct jiter ia, ib;
    const char *ka, *kb;
    jnode *va, *vb;
    size_t i, n;

    if (jnode_type(a) == JT_DOUBLE) {
        return jnode_type(b) == JT_NULL;
    }
    if (jnode_type(a) != jnode_type(b)) {
        return 0;
    }

    switch (jnode_type(a)) {
    case JT_NULL:
        return 1;
    case JT_BOOL:
        return jnode_bool(a) == jnode_bool(b);
    case JT_INT:
        return jnode_int(a) == jnode_int(b);
    case JT_STRING:
        return jnode_strlen(a) == jnode_strlen(b)
            && memcmp(jnode_str(a), jnode_str(b), jnode_strlen(a)) == 0;
    case JT_ARRAY:
        n = jnode_arr_len(a);
        if (jnode_arr_len(b) != n) {
            return 0;
        }
        for (i = 0; i < n; i++) {
            if (!same(jnode_arr_get(a, i), jnode_arr_get(b, i))) {
                return 0;
            }
        }
        return 1;
    case JT_OBJECT:
        if (jnode_obj_len(a) != jnode_obj_len(b)) {
            return 0;
        }
        jnode_obj_iter(a, &ia);
        jnode_obj_iter(b, &ib);
        while (jnode_obj_next(&ia, &ka, &va)) {
            if (!jnode_obj_next(&ib, &kb, &vb) || strcmp(ka, kb) != 0
                || !same(va, vb)) {
                return 0;
            }
        }
        return 1;
    default:
        return 1;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct sbuf out, again;
    struct jw w;
    jnode *v, *v2;
    const char *s;

    if (json_parse((const char *) data, size, &v) != 0) {
        return 0;
    }

    sbuf_init(&out);
    json_pyrepr(&out, v);
    sbuf_reset(&out);
    json_pystr(&out, v);

    /* Scalars other than strings behave the same through the accessors. */
    s = jnode_str(v);
    if (s != NULL && strlen(s) > jnode_strlen(v)) {
        abort();
    }

    /* Round trip through the writer, wrapped in an array since the
     * writer's separators assume a container.  The writer keeps separator
     * state for JW_MAX_DEPTH levels only (responses are shallow), so deeper
     * documents are not written. */
    if (depth(v) >= JW_MAX_DEPTH) {
        sbuf_free(&out);
        json_free(v);
        return 0;
    }
    sbuf_reset(&out);
    jw_init(&w, &out);
    jw_arr_open(&w);
    write_node(&w, v);
    jw_arr_close(&w);

    if (json_parse(out.buf, out.len, &v2) != 0) {
        abort(); /* the writer wrote invalid JSON */
    }
    if (jnode_arr_len(v2) != 1 || !same(v, jnode_arr_get(v2, 0))) {
        abort(); /* the round trip changed the value */
    }

    sbuf_init(&again);
    jw_init(&w, &again);
    jw_arr_open(&w);
    write_node(&w, jnode_arr_get(v2, 0));
    jw_arr_close(&w);
    if (again.len != out.len || memcmp(again.buf, out.buf, out.len) != 0) {
        abort(); /* writing is not stable */
    }

    sbuf_free(&again);
    sbuf_free(&out);
    json_free(v2);
    json_free(v);
    return 0;
}
