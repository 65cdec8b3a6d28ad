/*
 * tools/bench.d/claims.c: the store's claim latency, as runners see it
 * (tools/bench-claims builds and runs it on SQLite and PostgreSQL).
 *
 *   claims URL PROCS RECORDS
 *
 * Makes RECORDS queued live migrations (each its own server, spread over
 * 50 host pairs), then PROCS processes, each a registered runner on its
 * own store handle, claim them as a runner does (store_migration_claim,
 * max 1000 per host so that only the store decides) and end each one
 * (store_migration_save: completed) until none is left.  Prints, over
 * every claim: the count, claims per second of wall time, and the
 * latency of a claim and of the save that ends it (p50, p99, max, µs);
 * then of an idle runner's look (a claim that finds nothing, as every
 * idle runner makes every 200 ms), 1000 times by one runner.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "ferry/store.h"
#include "ferry/util.h"

static int64_t now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int make_records(const char *url, int n)
{
    struct store *s;
    struct ferr e = { 0 };
    struct migration m;
    char src[16], dst[16];
    int i;

    if (store_open(url, &s, &e) < 0) {
        fprintf(stderr, "claims: %s\n", ferr_msg(&e));
        return -1;
    }
    for (i = 0; i < n; i++) {
        memset(&m, 0, sizeof(m));
        snprintf(m.instance_uuid, sizeof(m.instance_uuid),
                 "c1a10000-0000-4000-8000-%012d", i);
        snprintf(src, sizeof(src), "s%d", i % 50);
        snprintf(dst, sizeof(dst), "d%d", i % 50);
        m.migration_type = "live-migration";
        m.status = "queued";
        m.source_compute = src;
        m.dest_compute = dst;
        m.old_instance_type_id = MIG_NULL_INT;
        m.new_instance_type_id = MIG_NULL_INT;
        m.claimed_by = MIG_NULL_INT;
        m.user_id = "u";
        m.project_id = "p";
        m.block_migration = -1;
        m.mv_minor = 25;
        if (store_migration_create(s, &m, &e) < 0) {
            fprintf(stderr, "claims: create: %s\n", ferr_msg(&e));
            store_close(s);
            return -1;
        }
    }
    store_close(s);
    return 0;
}

/* One runner: claims and ends records until none is left; writes its
 * latencies (claim µs, save µs pairs) to fd. */
static int runner(const char *url, int fd)
{
    struct store *s;
    struct ferr e = { 0 };
    struct arena a;
    struct migration m;
    int64_t id, t0, t1, t2, pair[2];
    int rc;

    if (store_open(url, &s, &e) < 0) {
        fprintf(stderr, "claims: %s\n", ferr_msg(&e));
        return 1;
    }
    store_set_timeout(s, 3000); /* ferryd's default store_timeout */
    if (store_runner_register(s, "bench", &id, &e) < 0) {
        fprintf(stderr, "claims: %s\n", ferr_msg(&e));
        store_close(s);
        return 1;
    }
    arena_init(&a, 16384);
    for (;;) {
        t0 = now_us();
        rc = store_migration_claim(s, id, 1000, &a, &m, &e);
        t1 = now_us();
        if (rc <= 0) {
            break;
        }
        m.status = "completed";
        rc = store_migration_save(s, &m, &e);
        t2 = now_us();
        if (rc < 0) {
            break;
        }
        pair[0] = t1 - t0;
        pair[1] = t2 - t1;
        if (write(fd, pair, sizeof(pair)) != (ssize_t) sizeof(pair)) {
            break;
        }
        arena_reset(&a);
    }
    if (rc < 0) {
        fprintf(stderr, "claims: %s\n", ferr_msg(&e));
    }
    arena_free(&a);
    store_runner_unregister(s, id);
    store_close(s);
    return rc < 0;
}

/* An idle runner's look, n times, into v. */
static int idle_looks(const char *url, int64_t *v, int n)
{
    struct store *s;
    struct ferr e = { 0 };
    struct arena a;
    struct migration m;
    int64_t id, t0;
    int i, rc = 0;

    if (store_open(url, &s, &e) < 0
        || store_runner_register(s, "bench", &id, &e) < 0) {
        fprintf(stderr, "claims: %s\n", ferr_msg(&e));
        return -1;
    }
    arena_init(&a, 16384);
    for (i = 0; rc == 0 && i < n; i++) {
        t0 = now_us();
        rc = store_migration_claim(s, id, 1000, &a, &m, &e);
        v[i] = now_us() - t0;
    }
    if (rc != 0) {
        fprintf(stderr, "claims: idle look: %d %s\n", rc, ferr_msg(&e));
    }
    arena_free(&a);
    store_runner_unregister(s, id);
    store_close(s);
    return rc == 0 ? 0 : -1;
}

#define IDLE_LOOKS 1000
static int64_t idle[IDLE_LOOKS];

static int cmp64(const void *x, const void *y)
{
    int64_t a = *(const int64_t *) x, b = *(const int64_t *) y;

    return a < b ? -1 : a > b;
}

static void report(const char *what, int64_t *v, size_t n)
{
    qsort(v, n, sizeof(*v), cmp64);
    printf("  %s µs: p50 %lld  p99 %lld  max %lld\n", what,
           (long long) v[n / 2], (long long) v[n * 99 / 100],
           (long long) v[n - 1]);
}

int main(int argc, char **argv)
{
    int procs, nrec, p[2], i, failed = 0, status;
    int64_t *claim, *save, pair[2], t0, wall;
    size_t n = 0;

    if (argc != 4 || (procs = atoi(argv[2])) < 1
        || (nrec = atoi(argv[3])) < 1) {
        fprintf(stderr, "usage: claims URL PROCS RECORDS\n");
        return 2;
    }
    claim = calloc((size_t) nrec, sizeof(*claim));
    save = calloc((size_t) nrec, sizeof(*save));
    if (claim == NULL || save == NULL || make_records(argv[1], nrec) < 0
        || pipe(p) != 0) {
        return 1;
    }
    t0 = now_us();
    for (i = 0; i < procs; i++) {
        if (fork() == 0) {
            close(p[0]);
            _exit(runner(argv[1], p[1]));
        }
    }
    close(p[1]);
    while (read(p[0], pair, sizeof(pair)) == (ssize_t) sizeof(pair)) {
        if (n < (size_t) nrec) {
            claim[n] = pair[0];
            save[n] = pair[1];
            n++;
        }
    }
    wall = now_us() - t0;
    while (wait(&status) > 0) {
        failed += !WIFEXITED(status) || WEXITSTATUS(status) != 0;
    }
    printf("  %zu of %d claimed by %d runners in %.2f s: %.0f claims/s%s\n", n,
           nrec, procs, (double) wall / 1e6, (double) n * 1e6 / (double) wall,
           failed ? " (a runner failed)" : "");
    if (n > 0) {
        report("claim", claim, n);
        report("save ", save, n);
    }
    if (idle_looks(argv[1], idle, IDLE_LOOKS) == 0) {
        report("idle look", idle, IDLE_LOOKS);
    } else {
        failed = 1;
    }
    return failed || n != (size_t) nrec;
}
