/*
 * inventoryd.c: the inventory process.  One libvirt connection per
 * configured host, subscribed to its domain events; the store's instances
 * index follows them (instances.h).
 *
 * Threads: libvirt's event loop (virt_events_start), which only queues
 * work; a pool of workers, which connect, resync and refresh, one host at
 * a time each (a host's mutex serialises the work on it, so an event's
 * refresh never interleaves with that host's resync); and the main thread,
 * which schedules: (re)connects with back-off (1 s doubling to 60 s),
 * a full resync of each host every inventory_resync_interval seconds and
 * at every (re)connect.  The store handle is shared by the workers under
 * one mutex (SQLite writes are serial anyway).
 *
 * A host that cannot be reached keeps its rows as last seen, and the
 * hosts table says it is down and why: the API reads its servers in their
 * last known state (as Nova shows the servers of a compute service that
 * is down), and answers 503 for a server it cannot find while a host is
 * down (it may be there).  Hosts are connected in parallel at start; the
 * master starts the request workers once every host has been tried.
 *
 * Several nodes on one store: each host is kept by one node's inventory
 * at a time, the holder of its lease (instances.h), renewed every
 * LEASE_RENEW_S.  The others leave the host alone and take it over when
 * its lease runs out; a host whose lease was taken from this process (it
 * was frozen, or cut off from the store) is let go at its next job.  A
 * host kept by another node counts as tried.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "ferry/inventoryd.h"
#include "ferry/instances.h"
#include "ferry/store.h"
#include "ferry/virt.h"

#define BACKOFF_MAX 60
#define MAX_THREADS 16
/* Refreshes queued per host at most: past it (an event storm, or a host
 * whose lookups are slower than its events) the queue stops growing and
 * the host is resynced whole instead, which covers every dropped event. */
#define MAX_PENDING 1024
/* A lease is renewed this often and lasts this long: a node that dies
 * leaves its hosts to another within their sum. */
#define LEASE_RENEW_S 3
#define LEASE_TTL_S 12

enum { J_CONNECT, J_SYNC, J_REFRESH };

struct job {
    struct job *next;
    size_t host;
    int kind;
    char uuid[37];
};

struct ihost {
    struct inventoryd *d;
    const struct conf_host *h;
    pthread_mutex_t mu; /* the work on this host, and c */
    struct vconn *c;
    char *node;
    /* the rest under d->qmu */
    int held; /* this process holds the host's lease */
    int seen; /* (main thread) the last renewal named it */
    int up, queued, lost, tried;
    int resync;     /* events were dropped: a full resync is due */
    size_t pending; /* its refreshes in the queue */
    time_t next_try, next_sync;
    int backoff;
};

struct inventoryd {
    const struct conf *conf;
    struct store *st;
    pthread_mutex_t smu; /* st */
    pthread_mutex_t qmu; /* the queue and the hosts' state */
    pthread_cond_t qcv;
    struct job *head, *tail;
    int quit;
    struct ihost *hosts;
    size_t nhosts;
    const char **names; /* the configured hosts' names */
    size_t *by_name;    /* hosts' indexes in the order of their names */
    int64_t next_keep;  /* µs: when to drop unconfigured hosts' rows again */
    int64_t next_lease; /* µs: when to renew and take leases again */
    int leased;         /* a lease round has been done */
    int64_t pid;        /* the holder of its leases, with its node's name */
    int wake[2];        /* a worker or an event wakes the main loop */
};

static void wake_main(struct inventoryd *d)
{
    char c = 1;

    if (write(d->wake[1], &c, 1) < 0) {
        return; /* full: a wake-up is already pending */
    }
}

/* Queues a job (d->qmu held): 0, or -1 when out of memory (the host is
 * then resynced whole as soon as memory allows). */
static int push(struct inventoryd *d, size_t host, int kind, const char *uuid)
{
    struct job *j = calloc(1, sizeof(*j));

    if (j == NULL) {
        log_error("inventory: out of memory; %s resyncs later",
                  d->hosts[host].h->name);
        d->hosts[host].resync = 1;
        return -1;
    }
    j->host = host;
    j->kind = kind;
    if (uuid != NULL) {
        memcpy(j->uuid, uuid, 36);
    }
    if (d->tail != NULL) {
        d->tail->next = j;
    } else {
        d->head = j;
    }
    d->tail = j;
    pthread_cond_signal(&d->qcv);
    return 0;
}

static void on_domain(void *opaque, const char *uuid)
{
    struct ihost *h = opaque;
    struct inventoryd *d = h->d;
    int drop;

    pthread_mutex_lock(&d->qmu);
    drop = h->lost || h->pending >= MAX_PENDING;
    if (!h->lost && drop && !h->resync) {
        h->resync = 1;
        log_error("inventory: %s: more than %d events queued; resyncing",
                  h->h->name, MAX_PENDING);
    }
    if (!drop && push(d, (size_t) (h - d->hosts), J_REFRESH, uuid) == 0) {
        h->pending++;
    }
    pthread_mutex_unlock(&d->qmu);
    if (drop) {
        wake_main(d);
    }
}

static void on_closed(void *opaque)
{
    struct ihost *h = opaque;

    pthread_mutex_lock(&h->d->qmu);
    h->lost = 1;
    pthread_mutex_unlock(&h->d->qmu);
    wake_main(h->d);
}

/* Records the host's state and, on a failure, when to try again. */
static void host_state(struct ihost *h, int up, const struct ferr *why,
                       int64_t synced_at)
{
    struct inventoryd *d = h->d;
    struct ferr e = { 0 };
    time_t now = time(NULL);

    pthread_mutex_lock(&d->smu);
    if (instances_host_set(d->st, h->h->name, up, h->node,
                           up ? NULL : ferr_msg(why), synced_at, &e)
        < 0) {
        log_error("inventory: %s: %s", h->h->name, ferr_msg(&e));
        ferr_clear(&e);
    }
    pthread_mutex_unlock(&d->smu);
    pthread_mutex_lock(&d->qmu);
    if (!up && (h->up || !h->tried)) {
        log_error("inventory: host %s unreachable (retry in %d s): %s",
                  h->h->name, h->backoff, ferr_msg(why));
    }
    h->tried = 1;
    h->up = up;
    if (up) {
        h->backoff = 1;
        h->next_sync = now + d->conf->inventory_resync_interval;
    } else {
        h->next_try = now + h->backoff;
        h->backoff =
            h->backoff * 2 > BACKOFF_MAX ? BACKOFF_MAX : h->backoff * 2;
    }
    pthread_mutex_unlock(&d->qmu);
    wake_main(d);
}

/* A write the store refused (busy, full) is no fault of the host: its
 * connection stays, and a full sync follows after this many seconds
 * (not after the resync interval: an event it lost is caught up). */
#define STORE_RETRY_S 2

static void store_retry(struct ihost *h)
{
    pthread_mutex_lock(&h->d->qmu);
    h->tried = 1;
    h->up = h->c != NULL; /* connected: the hosts table says so later */
    h->next_sync = time(NULL) + STORE_RETRY_S;
    pthread_mutex_unlock(&h->d->qmu);
}

/* Every domain of the host, in one transaction: written with one time,
 * then the rows of the host older than it (domains gone) removed.  *in_store
 * says whether a failure was the store's. */
static int full_sync(struct ihost *h, int *in_store, struct ferr *err)
{
    struct inventoryd *d = h->d;
    struct arena a;
    struct server *list;
    size_t n, i;
    int64_t at;
    int rc;

    arena_init(&a, 64 * 1024);
    if (virt_list(h->c, &a, &list, &n, err) < 0) {
        arena_free(&a);
        return ferr_fail(err);
    }
    ferr_clear(err); /* a domain gone while listed: skipped */
    *in_store = 1;
    pthread_mutex_lock(&d->smu);
    at = time_now_us();
    rc = store_begin(d->st, err);
    for (i = 0; rc == 0 && i < n; i++) {
        list[i].host = h->h->name;
        list[i].node = h->node;
        rc = instances_put(d->st, &list[i], at, err);
    }
    if (rc == 0) {
        rc = instances_sweep(d->st, h->h->name, at, err);
    }
    rc = rc == 0 ? store_commit(d->st, err) : rc;
    if (rc < 0) {
        store_rollback(d->st);
    }
    pthread_mutex_unlock(&d->smu);
    arena_free(&a);
    if (rc == 0) {
        log_debug("inventory: %s synced, %zu domains", h->h->name, n);
        host_state(h, 1, NULL, at);
    }
    return rc;
}

static int connect_host(struct ihost *h, struct ferr *err)
{
    const char *node;

    pthread_mutex_lock(&h->d->qmu);
    h->lost = 0;
    pthread_mutex_unlock(&h->d->qmu);
    virt_close(h->c);
    h->c = NULL;
    if (virt_connect(h->h->uri, &h->c, err) < 0
        || virt_watch_domains(h->c, on_domain, on_closed, h, err) < 0) {
        return ferr_fail(err);
    }
    node = virt_hostname(h->c);
    free(h->node);
    h->node = strdup(node != NULL ? node : h->h->name);
    return 0;
}

/* One domain, as libvirt has it now on this host (or no longer). */
static int refresh(struct ihost *h, const char *uuid, int *in_store,
                   struct ferr *err)
{
    struct inventoryd *d = h->d;
    struct arena a;
    struct server s;
    int rc;

    if (h->c == NULL) {
        return 0; /* not connected: the reconnect resyncs */
    }
    arena_init(&a, 16 * 1024);
    rc = virt_lookup(h->c, uuid, &a, &s, err);
    if (rc >= 0) {
        s.host = h->h->name;
        s.node = h->node;
        *in_store = 1;
        pthread_mutex_lock(&d->smu);
        rc = rc == 1 ? instances_put(d->st, &s, time_now_us(), err)
                     : instances_delete(d->st, uuid, h->h->name, err);
        pthread_mutex_unlock(&d->smu);
    }
    arena_free(&a);
    return rc;
}

/* Whether this process still keeps the host (h->mu held); if not, its
 * connection is closed: another node keeps it now, and writes its state. */
static int still_held(struct ihost *h)
{
    int held;

    pthread_mutex_lock(&h->d->qmu);
    held = h->held;
    if (!held) {
        h->up = 0;
        h->lost = 0;
    }
    pthread_mutex_unlock(&h->d->qmu);
    if (!held && h->c != NULL) {
        virt_close(h->c);
        h->c = NULL;
        log_info("inventory: %s: let go (another node keeps it)", h->h->name);
    }
    return held;
}

static void run_job(struct inventoryd *d, const struct job *j)
{
    struct ihost *h = &d->hosts[j->host];
    struct ferr err = { 0 };
    int rc = 0, in_store = 0;

    pthread_mutex_lock(&h->mu);
    /* a host let go has no connection: nothing below touches it */
    if (still_held(h) && j->kind == J_CONNECT) {
        rc = connect_host(h, &err);
    }
    if (rc == 0 && j->kind != J_REFRESH) {
        rc = h->c != NULL ? full_sync(h, &in_store, &err) : 0;
    } else if (rc == 0) {
        rc = refresh(h, j->uuid, &in_store, &err);
    }
    if (rc < 0 && in_store) {
        log_error("inventory: %s: %s; full sync in %d s", h->h->name,
                  ferr_msg(&err), STORE_RETRY_S);
        store_retry(h);
    } else if (rc < 0 && err.code == FE_UNAVAILABLE) {
        virt_close(h->c);
        h->c = NULL;
        host_state(h, 0, &err, 0);
    } else if (rc < 0) {
        log_error("inventory: %s: %s", h->h->name, ferr_msg(&err));
        if (j->kind != J_REFRESH) {
            host_state(h, h->c != NULL, &err, 0);
        }
    }
    pthread_mutex_unlock(&h->mu);
    ferr_clear(&err);
    pthread_mutex_lock(&d->qmu);
    if (j->kind != J_REFRESH) {
        h->queued = 0;
    } else {
        h->pending--;
    }
    pthread_mutex_unlock(&d->qmu);
}

static void *worker(void *arg)
{
    struct inventoryd *d = arg;
    struct job *j;

    for (;;) {
        pthread_mutex_lock(&d->qmu);
        while (!d->quit && d->head == NULL) {
            pthread_cond_wait(&d->qcv, &d->qmu);
        }
        if (d->quit) {
            pthread_mutex_unlock(&d->qmu);
            return NULL;
        }
        j = d->head;
        d->head = j->next;
        if (d->head == NULL) {
            d->tail = NULL;
        }
        pthread_mutex_unlock(&d->qmu);
        run_job(d, j);
        free(j);
    }
}

/* Queues what is due; returns how many hosts have been tried. */
static size_t schedule(struct inventoryd *d)
{
    time_t now = time(NULL);
    size_t i, tried = 0;

    pthread_mutex_lock(&d->qmu);
    for (i = 0; i < d->nhosts; i++) {
        struct ihost *h = &d->hosts[i];

        /* a host another node keeps is that node's to try */
        tried += h->held ? h->tried : d->leased;
        if (h->queued || !h->held) {
            continue;
        }
        /* a resync clears the flag when it is queued, before it lists:
         * an event dropped after that sets it again */
        if ((!h->up && now >= h->next_try) || h->lost) {
            h->queued = push(d, i, J_CONNECT, NULL) == 0;
            h->resync = h->queued ? 0 : h->resync;
        } else if (h->up && (now >= h->next_sync || h->resync)) {
            h->queued = push(d, i, J_SYNC, NULL) == 0;
            h->resync = h->queued ? 0 : h->resync;
        }
    }
    pthread_mutex_unlock(&d->qmu);
    return tried;
}

/* --- leases ------------------------------------------------------------ */

static const struct inventoryd *sort_d; /* by_name's qsort (setup only) */

static int cmp_index(const void *x, const void *y)
{
    return strcmp(sort_d->names[*(const size_t *) x],
                  sort_d->names[*(const size_t *) y]);
}

static struct ihost *host_named(struct inventoryd *d, const char *name)
{
    size_t lo = 0, hi = d->nhosts;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(name, d->names[d->by_name[mid]]);

        if (c == 0) {
            return &d->hosts[d->by_name[mid]];
        }
        if (c < 0) {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    return NULL;
}

static void on_held(void *arg, const char *name)
{
    struct ihost *h = host_named(arg, name);

    if (h != NULL) {
        h->seen = 1;
    }
}

static void on_taken(void *arg, const char *name)
{
    struct inventoryd *d = arg;
    struct ihost *h = host_named(d, name);

    if (h == NULL) {
        return;
    }
    log_info("inventory: %s: keeping it (node %s)", name, d->conf->node_name);
    pthread_mutex_lock(&d->qmu);
    h->held = 1;
    h->seen = 1;
    h->up = 0;
    h->tried = 0;
    h->lost = 0;
    h->backoff = 1;
    h->next_try = 0; /* connected at once */
    pthread_mutex_unlock(&d->qmu);
}

/* An old inventory of this node (a previous run, or generation) is gone
 * when its process is: not there, or a zombie. */
static int holder_alive(int64_t pid)
{
    char path[64], buf[256], *p;
    FILE *f;
    size_t n;

    if (pid <= 0 || (kill((pid_t) pid, 0) != 0 && errno != EPERM)) {
        return 0;
    }
    snprintf(path, sizeof(path), "/proc/%lld/stat", (long long) pid);
    f = fopen(path, "r");
    if (f == NULL) {
        return 0;
    }
    n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    p = strrchr(buf, ')');
    return p != NULL && p[1] == ' ' && p[2] != 'Z' && p[2] != 'X';
}

/* Renews this process's leases, lets go of the hosts a renewal no longer
 * names and takes the free ones.  A store that fails leaves everything
 * as it is: the leases run out by themselves if it stays away. */
static void lease_round(struct inventoryd *d)
{
    const char **want; /* the hosts this process does not hold */
    const char *node = d->conf->node_name;
    int64_t now = time_now_us(), until = now + LEASE_TTL_S * 1000000LL;
    struct ferr err = { 0 };
    size_t i, nwant = 0;
    int rc;

    d->next_lease = now + LEASE_RENEW_S * 1000000LL;
    want = calloc(d->nhosts ? d->nhosts : 1, sizeof(*want));
    if (want == NULL) {
        return; /* again next round */
    }
    for (i = 0; i < d->nhosts; i++) {
        d->hosts[i].seen = 0;
    }
    pthread_mutex_lock(&d->smu);
    rc = leases_renew(d->st, node, d->pid, until, on_held, d, &err);
    for (i = 0; rc == 0 && i < d->nhosts; i++) {
        struct ihost *h = &d->hosts[i];

        pthread_mutex_lock(&d->qmu);
        if (h->held && !h->seen) {
            h->held = 0;
            log_info("inventory: %s: another node took it over", h->h->name);
            h->queued = h->queued || push(d, i, J_SYNC, NULL) == 0;
        }
        pthread_mutex_unlock(&d->qmu);
        if (!h->seen) {
            want[nwant++] = h->h->name;
        }
    }
    if (rc == 0 && nwant > 0) {
        rc = leases_take_free(d->st, want, nwant, node, d->pid, now, until,
                              holder_alive, on_taken, d, &err);
    }
    pthread_mutex_unlock(&d->smu);
    free(want);
    if (rc < 0) {
        log_error("inventory: leases: %s", ferr_msg(&err));
        ferr_clear(&err);
        return;
    }
    d->leased = 1;
}

/* Hosts taken out of the configuration take their servers along.  Done
 * at start and again every resync interval: after a reload the previous
 * generation's inventory may still be finishing a sync of a host the new
 * configuration dropped, and write its rows back. */
static int keep_hosts(struct inventoryd *d, struct ferr *err)
{
    int rc;

    pthread_mutex_lock(&d->smu);
    rc = instances_keep_hosts(d->st, d->names, d->nhosts, d->conf->node_name,
                              time_now_us(), err);
    pthread_mutex_unlock(&d->smu);
    d->next_keep =
        time_now_us() + (int64_t) d->conf->inventory_resync_interval * 1000000;
    return rc;
}

static int setup(struct inventoryd *d, struct app *app, struct ferr *err)
{
    size_t i;

    d->conf = app->conf;
    d->st = app->store;
    d->nhosts = app->conf->nhosts;
    d->hosts = calloc(d->nhosts ? d->nhosts : 1, sizeof(*d->hosts));
    d->names = calloc(d->nhosts ? d->nhosts : 1, sizeof(*d->names));
    d->by_name = calloc(d->nhosts ? d->nhosts : 1, sizeof(*d->by_name));
    d->pid = (int64_t) getpid();
    if (d->hosts == NULL || d->names == NULL || d->by_name == NULL
        || pipe2(d->wake, O_CLOEXEC | O_NONBLOCK) != 0) {
        return ferr_set(err, FE_NOMEM, "inventory: out of resources");
    }
    pthread_mutex_init(&d->smu, NULL);
    pthread_mutex_init(&d->qmu, NULL);
    pthread_cond_init(&d->qcv, NULL);
    for (i = 0; i < d->nhosts; i++) {
        d->hosts[i].d = d;
        d->hosts[i].h = &app->conf->hosts[i];
        d->hosts[i].backoff = 1;
        pthread_mutex_init(&d->hosts[i].mu, NULL);
        d->names[i] = app->conf->hosts[i].name;
        d->by_name[i] = i;
    }
    sort_d = d;
    qsort(d->by_name, d->nhosts, sizeof(*d->by_name), cmp_index);
    /* a busy store (a reload's crowd of new processes) is no reason to
     * die and be restarted into the same crowd: tried again soon */
    if (keep_hosts(d, err) < 0) {
        log_error("inventory: %s; again in %d s", ferr_msg(err), STORE_RETRY_S);
        ferr_clear(err);
        d->next_keep = time_now_us() + STORE_RETRY_S * 1000000LL;
    }
    return 0;
}

/* The process ends right after (_exit, nothing freed): the workers are
 * not joined (one may be waiting on a host that does not answer), but
 * none is in the middle of a store write, as this keeps the store's
 * mutex. */
static void stop_workers(struct inventoryd *d)
{
    struct ferr err = { 0 };

    pthread_mutex_lock(&d->qmu);
    d->quit = 1;
    pthread_cond_broadcast(&d->qcv);
    pthread_mutex_unlock(&d->qmu);
    pthread_mutex_lock(&d->smu);
    /* another node (or the next generation) keeps the hosts at once */
    if (leases_release(d->st, d->conf->node_name, d->pid, &err) < 0) {
        log_error("inventory: %s", ferr_msg(&err));
        ferr_clear(&err);
    }
}

int inventoryd_main(struct app *app, volatile sig_atomic_t *stop, int wake_fd,
                    int ready_fd)
{
    static struct inventoryd d; /* the event thread outlives the call */
    struct ferr err = { 0 };
    pthread_t th[MAX_THREADS];
    size_t nth = 0, want, i;

    memset(&d, 0, sizeof(d));
    d.wake[0] = d.wake[1] = -1;
    if (setup(&d, app, &err) < 0) {
        log_error("inventory: %s", ferr_msg(&err));
        return -1;
    }
    want = d.nhosts < MAX_THREADS ? d.nhosts : MAX_THREADS;
    for (nth = 0; nth < (want ? want : 1); nth++) {
        if (pthread_create(&th[nth], NULL, worker, &d) != 0) {
            break;
        }
    }
    log_info("inventory: %zu hosts, %zu threads, resync every %d s", d.nhosts,
             nth, app->conf->inventory_resync_interval);
    while (!*stop) {
        struct pollfd p[2] = {
            { d.wake[0], POLLIN, 0 },
            { wake_fd, POLLIN, 0 },
        };
        char buf[256];

        if (time_now_us() >= d.next_lease) {
            lease_round(&d);
        }
        if (schedule(&d) == d.nhosts && ready_fd >= 0) {
            if (write(ready_fd, "r", 1) < 0) {
                log_error("inventory: ready: %s", strerror(errno));
            }
            close(ready_fd);
            ready_fd = -1;
            log_info("inventory: every host tried; serving");
        }
        if (time_now_us() >= d.next_keep && keep_hosts(&d, &err) < 0) {
            log_error("inventory: %s", ferr_msg(&err));
            ferr_clear(&err);
        }
        poll(p, 2, 1000);
        for (i = 0; i < 2; i++) {
            while ((p[i].revents & POLLIN)
                   && read(p[i].fd, buf, sizeof(buf)) > 0) {
            }
        }
    }
    stop_workers(&d);
    return 0;
}
