/*
 * db.c: what the store's two backends share (see db.h): which backend a
 * store URL names, its redacted form (the only one logged), and the open
 * that picks the backend.
 */
#include <stdio.h>
#include <string.h>
#include "db.h"

static int has_prefix(const char *s, const char *p)
{
    return strncmp(s, p, strlen(p)) == 0;
}

enum db_backend db_backend_of(const char *url)
{
    if (has_prefix(url, "postgresql://") || has_prefix(url, "postgres://")) {
        return DB_PG;
    }
    /* a conninfo is key=value pairs; a path starts with / or . */
    if (url[0] != '/' && url[0] != '.' && !has_prefix(url, "sqlite:")
        && strchr(url, '=') != NULL) {
        return DB_PG;
    }
    return DB_SQLITE;
}

/* Copies n bytes of s to the sbuf-less out (bounded). */
static size_t put(char *out, size_t size, size_t len, const char *s, size_t n)
{
    while (n-- > 0 && *s != '\0' && len + 1 < size) {
        out[len++] = *s++;
    }
    out[len < size ? len : size - 1] = '\0';
    return len;
}

void db_redact(const char *url, char *out, size_t size)
{
    const char *p = url, *at, *colon, *slash, *pw;
    size_t len = 0;

    if (size == 0) {
        return;
    }
    out[0] = '\0';
    if (db_backend_of(url) != DB_PG) {
        put(out, size, 0, url, strlen(url));
        return;
    }
    /* postgresql://user:password@host/...: the userinfo's password */
    if (strstr(url, "://") != NULL) {
        p = strstr(url, "://") + 3;
        slash = p + strcspn(p, "/?");
        at = memchr(p, '@', (size_t) (slash - p));
        colon = at ? memchr(p, ':', (size_t) (at - p)) : NULL;
        if (colon != NULL) {
            len = put(out, size, len, url, (size_t) (colon + 1 - url));
            len = put(out, size, len, "***", 3);
            url = at;
        }
    }
    /* password=... as a conninfo pair or a URI parameter */
    while ((pw = strstr(url, "password=")) != NULL) {
        len = put(out, size, len, url, (size_t) (pw + 9 - url));
        len = put(out, size, len, "***", 3);
        url = pw + 9;
        if (*url == '\'') {
            for (url++; *url != '\0' && *url != '\''; url++) {
                url += url[0] == '\\' && url[1] != '\0';
            }
            url += *url == '\'';
        } else {
            url += strcspn(url, " &");
        }
    }
    put(out, size, len, url, strlen(url));
}

int db_open(const char *url, int timeout_ms, struct db **out, struct ferr *err)
{
    const struct db_ops *ops =
        db_backend_of(url) == DB_PG ? &db_pg_ops : &db_sqlite_ops;

    return ops->open(url, timeout_ms, out, err);
}
