/*
 * sharecache.c: the storage probe's answers (sharecache.h).  A small
 * table of this process, searched linearly (a few host pairs and their
 * instance directories), bounded by SHARECACHE_MAX; guarded by a mutex
 * as a runner has more than one thread.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include "ferry/app.h"
#include "ferry/sharecache.h"
#include "ferry/util.h"

struct answer {
    char *lo, *hi, *dir; /* the pair in strcmp order */
    int shared;
    int64_t at_us;
};

static struct answer *tab;
static size_t ntab, cap;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;

static void order(const char **h1, const char **h2)
{
    if (strcmp(*h1, *h2) > 0) {
        const char *t = *h1;

        *h1 = *h2;
        *h2 = t;
    }
}

static struct answer *find(const char *lo, const char *hi, const char *dir)
{
    size_t i;

    for (i = 0; i < ntab; i++) {
        if (strcmp(tab[i].lo, lo) == 0 && strcmp(tab[i].hi, hi) == 0
            && strcmp(tab[i].dir, dir) == 0) {
            return &tab[i];
        }
    }
    return NULL;
}

static void drop(size_t i)
{
    free(tab[i].lo);
    free(tab[i].hi);
    free(tab[i].dir);
    tab[i] = tab[--ntab];
}

int sharecache_get(const char *h1, const char *h2, const char *dir,
                   int64_t now_us, int64_t ttl_us)
{
    struct answer *a;
    int rc = -1;

    if (ttl_us <= 0) {
        return -1;
    }
    order(&h1, &h2);
    pthread_mutex_lock(&mu);
    a = find(h1, h2, dir);
    if (a != NULL && now_us - a->at_us < ttl_us && now_us >= a->at_us) {
        rc = a->shared;
    }
    pthread_mutex_unlock(&mu);
    return rc;
}

/* A free slot: the table grows up to SHARECACHE_MAX, then the oldest
 * answer goes.  NULL out of memory. */
static struct answer *slot(void)
{
    size_t i, old = 0;

    if (ntab == cap && cap < SHARECACHE_MAX) {
        size_t n = cap ? cap * 2 : 8;
        struct answer *t;

        n = n < SHARECACHE_MAX ? n : SHARECACHE_MAX;
        t = realloc(tab, n * sizeof(*t));
        if (t == NULL) {
            return NULL;
        }
        tab = t;
        cap = n;
    }
    if (ntab == cap) {
        for (i = 1; i < ntab; i++) {
            old = tab[i].at_us < tab[old].at_us ? i : old;
        }
        drop(old);
    }
    memset(&tab[ntab], 0, sizeof(tab[ntab]));
    return &tab[ntab++];
}

int sharecache_put(const char *h1, const char *h2, const char *dir, int shared,
                   int64_t now_us)
{
    struct answer *a;
    int rc = 0;

    order(&h1, &h2);
    pthread_mutex_lock(&mu);
    a = find(h1, h2, dir);
    if (a == NULL && (a = slot()) != NULL) {
        a->lo = strdup(h1);
        a->hi = strdup(h2);
        a->dir = strdup(dir);
        if (a->lo == NULL || a->hi == NULL || a->dir == NULL) {
            drop((size_t) (a - tab));
            a = NULL;
        }
    }
    if (a != NULL) {
        a->shared = shared;
        a->at_us = now_us;
    } else {
        rc = -1;
    }
    pthread_mutex_unlock(&mu);
    return rc;
}

void sharecache_forget(const char *h1, const char *h2)
{
    size_t i;

    order(&h1, &h2);
    pthread_mutex_lock(&mu);
    for (i = ntab; i-- > 0;) {
        if (strcmp(tab[i].lo, h1) == 0 && strcmp(tab[i].hi, h2) == 0) {
            drop(i);
        }
    }
    pthread_mutex_unlock(&mu);
}

void sharecache_clear(void)
{
    pthread_mutex_lock(&mu);
    while (ntab > 0) {
        drop(ntab - 1);
    }
    free(tab);
    tab = NULL;
    cap = 0;
    pthread_mutex_unlock(&mu);
}

int sharecache_dir_shared(struct vconn *sc, struct vconn *dc, const char *src,
                          const char *dst, const char *dir, int ttl_s,
                          struct ferr *err)
{
    int64_t t0 = time_now_us();
    int rc = sharecache_get(src, dst, dir, t0, (int64_t) ttl_s * 1000000);

    if (rc >= 0) {
        log_debug("storage probe %s %s %s: shared=%d (kept)", src, dst, dir,
                  rc);
        return rc;
    }
    rc = virt_dir_shared(sc, dc, dir, err);
    if (rc < 0) {
        sharecache_forget(src, dst);
        return rc;
    }
    log_debug("storage probe %s %s %s: shared=%d (%lld ms)", src, dst, dir, rc,
              (long long) (time_now_us() - t0) / 1000);
    if (ttl_s > 0) {
        sharecache_put(src, dst, dir, rc, t0);
    }
    return rc;
}
