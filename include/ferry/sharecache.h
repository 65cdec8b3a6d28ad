/*
 * sharecache.h: the storage probe's answers kept for a while.  Whether a
 * directory is shared by two hosts (virt_dir_shared) is asked by creating
 * a marker volume on one host and looking for it on the other, a dozen
 * libvirt calls; the answer rarely changes, so a migration's precheck
 * takes it from here for storage_probe_cache s (ferry.conf) and probes
 * only after that, or after anything between the two hosts failed.  Per
 * process (each runner, the precheck service), for an unordered pair of
 * hosts (sharing is mutual) and one directory.  Only the prechecks use
 * it: deleting a disk copy (settle.c, cold.c) always asks libvirt.
 */
#ifndef FERRY_SHARECACHE_H
#define FERRY_SHARECACHE_H

#include <stdint.h>
#include "ferry/virt.h"

/* At most this many answers are kept; a new one then replaces the
 * oldest. */
#define SHARECACHE_MAX 256

/* The answer for (h1, h2, dir) younger than ttl_us at now_us: 1 shared,
 * 0 not, -1 none (never asked, expired, forgotten, or ttl_us <= 0). */
int sharecache_get(const char *h1, const char *h2, const char *dir,
                   int64_t now_us, int64_t ttl_us);
/* Keeps an answer; 0, or -1 out of memory (then nothing is kept). */
int sharecache_put(const char *h1, const char *h2, const char *dir, int shared,
                   int64_t now_us);
/* Forgets every answer for the pair h1, h2 (either order): something
 * between them failed and the next migration probes again. */
void sharecache_forget(const char *h1, const char *h2);
/* Forgets everything (tests). */
void sharecache_clear(void);

/* virt_dir_shared(sc, dc, dir) through the cache: src and dst are the
 * hosts' names, ttl_s the lifetime of an answer (0: always probe).  A
 * probe that fails forgets the pair. */
int sharecache_dir_shared(struct vconn *sc, struct vconn *dc, const char *src,
                          const char *dst, const char *dir, int ttl_s,
                          struct ferr *err);

#endif
