/*
 * main.c: the ferryd master, and the only caller of exit().
 *
 * The master reads ferry.conf and policy.json (failing at start-up with
 * file:line and the reason), prepares the store, opens the FastCGI socket
 * and forks the request workers.  It restarts a worker that dies (with a
 * back-off if they die young), stops gracefully on SIGTERM/SIGINT (workers
 * finish the request in hand), and on SIGHUP re-reads config and policy:
 * if both load, a new generation of workers is forked on the same socket
 * first, and only then is the old one told to finish the request in hand
 * and exit, so the socket never lacks a worker and no request is dropped
 * (connections wait in the listen backlog until some worker accepts); if
 * either file fails, the error is logged and the running generation stays.
 *
 * Under systemd (Type=notify) the master tells the service manager it is
 * ready, reloading or stopping with sd_notify datagrams on $NOTIFY_SOCKET,
 * written here by hand (the protocol is one sendto; no libsystemd).
 *
 * The inventory process (inventoryd.c) is started first and supervised
 * like the others; the request workers start once it has tried every
 * host (bounded by READY_WAIT_S), so the first answers already come from
 * a synced index.  Until then nginx's connections wait in the socket's
 * backlog.  The inventory process also runs the precheck service
 * (precheckd.h) on a channel the master makes before its first fork and
 * keeps, so requests queued while an inventory restarts are not lost.
 *
 * One ferryd per socket: SOCKET.lock is held by the master and inherited
 * by its children, and children die with the master (PR_SET_PDEATHSIG), so
 * a master killed with -9 leaves nothing behind for long, and a new one
 * never runs beside an old generation.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "ferry/app.h"
#include "ferry/log.h"
#include "ferry/metrics.h"
#include "ferry/paths.h"
#include "ferry/store.h"
#include "ferry/inventory.h"
#include "ferry/inventoryd.h"
#include "ferry/precheckd.h"
#include "ferry/runner.h"
#include "ferry/virt.h"

enum { KIND_REQUEST, KIND_RUNNER, KIND_INVENTORY };

static const char *const kind_names[] = {
    [KIND_REQUEST] = "worker",
    [KIND_RUNNER] = "runner",
    [KIND_INVENTORY] = "inventory",
};

/* How long the master waits for the inventory's first pass over the
 * hosts before it starts the request workers anyway. */
#define READY_WAIT_S 120

struct worker {
    pid_t pid; /* 0: a free slot */
    int kind;
    int generation;
    time_t started;
};

/* The master's table of children.  It grows to whatever the config asks
 * for (workers + runners, twice that while a reload overlaps two
 * generations), so no configured number can overrun it. */
static struct worker *workers;
static size_t nworkers;

/* A free slot, growing the table when all are taken; NULL only when out
 * of memory.  The pointer is good until the next call. */
static struct worker *free_slot(void)
{
    struct worker *t;
    size_t i, n;

    for (i = 0; i < nworkers; i++) {
        if (workers[i].pid == 0) {
            return &workers[i];
        }
    }
    n = nworkers ? nworkers * 2 : 16;
    t = realloc(workers, n * sizeof(*t));
    if (t == NULL) {
        return NULL;
    }
    memset(t + nworkers, 0, (n - nworkers) * sizeof(*t));
    workers = t;
    i = nworkers;
    nworkers = n;
    return &workers[i];
}

static volatile sig_atomic_t got_term, got_hup, got_chld;
static int wake_pipe[2] = { -1, -1 };
static pid_t master_pid;

static void on_signal(int sig)
{
    int saved = errno;
    char c = (char) sig;

    if (sig == SIGTERM || sig == SIGINT) {
        got_term = 1;
    } else if (sig == SIGHUP) {
        got_hup = 1;
    } else if (sig == SIGCHLD) {
        got_chld = 1;
    }
    /* a full pipe already holds a wake-up: nothing to do on failure */
    if (wake_pipe[1] >= 0 && write(wake_pipe[1], &c, 1) < 0) {
        errno = saved;
    }
    errno = saved;
}

static void install_flags(int sig, void (*fn)(int), int flags)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = fn;
    sa.sa_flags = flags;
    sigemptyset(&sa.sa_mask);
    sigaction(sig, &sa, NULL);
}

/* The master's: no SA_RESTART, so its poll() returns. */
static void install(int sig, void (*fn)(int))
{
    install_flags(sig, fn, 0);
}

static int load_all(const char *path, struct conf **conf, struct policy **pol,
                    struct ferr *err)
{
    if (conf_load(path, conf, err) < 0) {
        return -1;
    }
    if (policy_load((*conf)->policy, pol, err) < 0) {
        conf_free(*conf);
        *conf = NULL;
        return -1;
    }
    return 0;
}

/* The inventory's "every host tried" pipe: the write end goes to the
 * inventory process, the master waits on the read end. */
static int ready_pipe[2] = { -1, -1 };

/* The precheck service's channel (precheckd.h), made before the first
 * fork and held by the master for its life, so that queued requests
 * outlive an inventory that restarts: [0] the inventory reads requests,
 * [1] request workers send them. */
static int precheck_chan[2] = { -1, -1 };

/* Keeps the end of the precheck channel a child of kind uses (the other
 * closed), or none; returns it, or -1. */
static int precheck_end(int kind)
{
    int keep = kind == KIND_INVENTORY ? 0 : kind == KIND_REQUEST ? 1 : -1;
    int i;

    for (i = 0; i < 2; i++) {
        if (i != keep && precheck_chan[i] >= 0) {
            close(precheck_chan[i]);
        }
    }
    return keep >= 0 ? precheck_chan[keep] : -1;
}

/* The inventory process: its precheck threads beside the index. */
static int inventory_main(struct app *app, int chan)
{
    struct precheckd *pd = NULL;
    struct ferr err = { 0 };
    int rc;

    if (precheckd_start(app->conf, chan, &pd, &err) < 0) {
        log_error("precheck service: %s", ferr_msg(&err));
        _exit(71);
    }
    rc = inventoryd_main(app, &got_term, wake_pipe[0], ready_pipe[1]);
    precheckd_stop(pd);
    return rc;
}

/* The body of a request worker, a runner or the inventory; never
 * returns. */
static void worker_main(int kind, int listen_fd, const char *conf_path)
{
    static const char *const log_names[] = {
        [KIND_REQUEST] = "ferryd-worker",
        [KIND_RUNNER] = "ferryd-runner",
        [KIND_INVENTORY] = "ferryd-inventory",
    };
    struct app app;
    struct ferr err = { 0 };
    int rc, chan = precheck_end(kind);

    memset(&app, 0, sizeof(app));
    app.precheck_fd = kind == KIND_REQUEST ? chan : -1;
    /* children die with their master, so a master killed with -9 leaves
     * no orphans serving or migrating on an old configuration: a worker
     * finishes the request in hand (SIGTERM), a runner stops at once (its
     * record is reconciled by the next generation's runners, as after any
     * crash).  The parent check covers a master that died before prctl. */
    prctl(PR_SET_PDEATHSIG, kind == KIND_REQUEST ? SIGTERM : SIGKILL);
    if (getppid() != master_pid) {
        _exit(0);
    }
    close(wake_pipe[0]);
    close(wake_pipe[1]);
    if (pipe2(wake_pipe, O_CLOEXEC | O_NONBLOCK) != 0) {
        _exit(70);
    }
    /* a SIGTERM that came between fork and here (the master stopping
     * right after a reload) was caught by the inherited handler: keep it */
    got_hup = 0;
    /* SA_RESTART: a SIGTERM while a worker reads a request or writes its
     * answer must not fail that read(2)/sendmsg(2) (a dropped request is
     * a 502 during a reload; fcgi_proto.c retries EINTR as well); the wait
     * for work still returns, as epoll_wait and poll never restart and the
     * wake pipe is written too */
    install_flags(SIGTERM, on_signal, SA_RESTART);
    install(SIGINT, SIG_IGN); /* the master decides */
    install(SIGHUP, SIG_IGN);
    install(SIGCHLD, SIG_DFL);
    if (kind != KIND_INVENTORY && ready_pipe[1] >= 0) {
        close(ready_pipe[1]);
    }
    if (ready_pipe[0] >= 0) {
        close(ready_pipe[0]);
    }
    log_init(log_names[kind], 0);
    if (load_all(conf_path, &app.conf, &app.policy, &err) < 0
        || store_open(app.conf->store, &app.store, &err) < 0
        || inventory_open(app.conf, &app.inv, &err) < 0
        || (kind != KIND_REQUEST && virt_events_start(&err) < 0)) {
        log_error("worker start: %s", ferr_msg(&err));
        _exit(71);
    }
    log_target(app.conf->log_syslog ? LOG_TO_SYSLOG : LOG_TO_STDERR);
    log_init(log_names[kind], app.conf->log_debug);
    /* a store locked by another process: a request answers 503 after
     * store_timeout s, not after tens of seconds */
    store_set_timeout(app.store, app.conf->store_timeout * 1000);
    if (kind == KIND_RUNNER) {
        close(listen_fd);
        rc = runner_main(&app, &got_term, wake_pipe[0]);
    } else if (kind == KIND_INVENTORY) {
        close(listen_fd);
        prctl(PR_SET_NAME, "ferry-inventory"); /* for ps, and tests */
        rc = inventory_main(&app, chan);
        /* its threads still hold the configuration and the connections:
         * nothing is freed under them */
        _exit(rc == 0 ? 0 : 1);
    } else {
        rc = fcgi_serve(listen_fd, &app, &got_term, wake_pipe[0]);
    }
    inventory_close(app.inv);
    store_close(app.store);
    policy_free(app.policy);
    conf_free(app.conf);
    _exit(rc == 0 ? 0 : 1);
}

static pid_t spawn(struct worker *w, int kind, int gen, int listen_fd,
                   const char *conf_path)
{
    pid_t pid;

    if (w == NULL) {
        log_error("out of memory: cannot start a %s", kind_names[kind]);
        return -1;
    }
    pid = fork();

    if (pid == 0) {
        worker_main(kind, listen_fd, conf_path);
    }
    if (pid > 0) {
        w->pid = pid;
        w->kind = kind;
        w->generation = gen;
        w->started = time(NULL);
    }
    return pid;
}

/* One generation of ferryd per socket: the master takes an exclusive lock
 * on SOCKET.lock, and its children inherit it (flock follows the open
 * file, which fork shares), so the lock is free only once the master and
 * every child of it are gone.  A new master waits a little for the
 * children of a dead one to finish, then refuses to start. */
static int take_lock(const struct conf *c, struct ferr *err)
{
    char path[4096 + 8], buf[32];
    int fd, i;

    if ((size_t) snprintf(path, sizeof(path), "%s.lock", c->socket)
        >= sizeof(path)) {
        return ferr_set(err, FE_CONFIG, "%s: path too long", c->socket);
    }
    fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        return ferr_set(err, FE_CONFIG, "%s: %s", path, strerror(errno));
    }
    for (i = 0; flock(fd, LOCK_EX | LOCK_NB) != 0; i++) {
        if (errno != EWOULDBLOCK || i == 100) {
            ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
            const char *holder;

            buf[n > 0 ? n : 0] = '\0';
            holder = strtok(buf, "\n");
            close(fd);
            return ferr_set(err, FE_CONFIG,
                            "%s is held by another ferryd "
                            "(master pid %s, or children it left): stop "
                            "it first",
                            path, holder ? holder : "unknown");
        }
        usleep(100000); /* up to 10 s */
    }
    snprintf(buf, sizeof(buf), "%d\n", (int) getpid());
    if (ftruncate(fd, 0) != 0
        || pwrite(fd, buf, strlen(buf), 0) != (ssize_t) strlen(buf)) {
        log_error("%s: cannot write the master pid: %s", path, strerror(errno));
    }
    return fd; /* held for the life of this generation */
}

/* Starts the inventory and waits until it has tried every host (or died,
 * or READY_WAIT_S passed, or the master is told to stop). */
static void wait_inventory(struct worker *w, int gen, int listen_fd,
                           const char *conf_path)
{
    struct pollfd p;
    time_t until = time(NULL) + READY_WAIT_S;
    char c;

    if (pipe2(ready_pipe, O_CLOEXEC) != 0) {
        log_error("pipe: %s; not waiting for the inventory", strerror(errno));
        spawn(w, KIND_INVENTORY, gen, listen_fd, conf_path);
        return;
    }
    spawn(w, KIND_INVENTORY, gen, listen_fd, conf_path);
    close(ready_pipe[1]);
    ready_pipe[1] = -1;
    p.fd = ready_pipe[0];
    p.events = POLLIN;
    while (!got_term && time(NULL) < until) {
        int rc = poll(&p, 1, 1000);

        if (rc < 0 && errno != EINTR) {
            break;
        }
        if (rc > 0) {
            if (read(ready_pipe[0], &c, 1) != 1) {
                log_error("the inventory ended before its first pass");
            }
            break;
        }
    }
    if (time(NULL) >= until) {
        log_error("the inventory has not tried every host in %d s; "
                  "serving anyway",
                  READY_WAIT_S);
    }
    close(ready_pipe[0]);
    ready_pipe[0] = -1;
}

/* sd_notify(3)'s protocol: one datagram of NAME=VALUE lines to the unix
 * socket named by $NOTIFY_SOCKET ("@..." is an abstract name).  No
 * $NOTIFY_SOCKET (not under systemd, or Type=simple): nothing to do. */
static void notify(const char *state)
{
    const char *path = getenv("NOTIFY_SOCKET");
    struct sockaddr_un sa;
    size_t n;
    int fd;

    if (path == NULL || (path[0] != '/' && path[0] != '@')) {
        return;
    }
    n = strlen(path);
    if (n >= sizeof(sa.sun_path)) {
        log_error("NOTIFY_SOCKET too long; systemd not told %s", state);
        return;
    }
    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    memcpy(sa.sun_path, path, n);
    if (path[0] == '@') {
        sa.sun_path[0] = '\0';
    }
    fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0
        || sendto(fd, state, strlen(state), MSG_NOSIGNAL,
                  (struct sockaddr *) &sa,
                  (socklen_t) (offsetof(struct sockaddr_un, sun_path) + n))
            < 0) {
        log_error("cannot notify systemd (%s): %s", state, strerror(errno));
    }
    if (fd >= 0) {
        close(fd);
    }
}

/* RELOADING=1 carries the monotonic time (systemd >= 253 wants it) */
static void notify_reloading(void)
{
    struct timespec ts;
    char buf[80];

    clock_gettime(CLOCK_MONOTONIC, &ts);
    snprintf(buf, sizeof(buf), "RELOADING=1\nMONOTONIC_USEC=%lld",
             (long long) ts.tv_sec * 1000000 + ts.tv_nsec / 1000);
    notify(buf);
}

static void usage(FILE *out)
{
    fputs("usage: ferryd [-c FILE] [-t]\n"
          "  -c, --config FILE  configuration file\n"
          "                     (default " FERRY_CONF_PATH ")\n"
          "  -t, --test         check the configuration and policy, "
          "then exit\n"
          "  -h, --help         this help, then exit\n"
          "  -V, --version      the version, then exit\n"
          "Signals: SIGHUP reloads ferry.conf and the policy; SIGTERM "
          "stops.\nSee ferryd(8) and ferry.conf(5).\n",
          out);
}

/* The generation's children: workers + runners, counted from the table
 * (what is running, not what was asked for). */
static void count_gen(int gen, int *nreq, int *nrun)
{
    size_t j;

    *nreq = *nrun = 0;
    for (j = 0; j < nworkers; j++) {
        /* the inventory is neither: it is not in the counts the
         * configuration asks for */
        if (workers[j].pid > 0 && workers[j].generation == gen
            && workers[j].kind != KIND_INVENTORY) {
            ++*(workers[j].kind == KIND_RUNNER ? nrun : nreq);
        }
    }
}

/* What /healthz and the metrics show: the running generation's children
 * against what the configuration asks for. */
static void publish_children(int gen, const struct conf *c)
{
    int nreq, nrun;

    count_gen(gen, &nreq, &nrun);
    metrics_children(METRIC_WORKER, c->workers, nreq);
    metrics_children(METRIC_RUNNER, c->runners, nrun);
}

/* SIGHUP: a new generation from the files as they are now, or, when
 * either does not load, the running one untouched.  The new generation is
 * forked before the old one is told to stop: old workers keep accepting
 * until their successors exist, then finish the request in hand.  The old
 * children keep their slots until they are reaped, and their generation
 * number keeps them from being restarted. */
static void reload(const char *conf_path, int listen_fd, int *gen,
                   struct conf **conf, struct policy **pol)
{
    struct conf *nconf = NULL;
    struct policy *npol = NULL;
    struct ferr err = { 0 };
    char *sock;
    int old = *gen, i, nreq, nrun;
    size_t j;

    notify_reloading();
    if (load_all(conf_path, &nconf, &npol, &err) < 0) {
        log_error("reload refused, keeping the running configuration: %s",
                  ferr_msg(&err));
        notify("READY=1\nSTATUS=serving (reload refused)");
        return;
    }
    if (strcmp(nconf->socket, (*conf)->socket) != 0) {
        log_error("reload: socket change needs a restart; still on %s",
                  (*conf)->socket);
    }
    /* keep the socket path of the running listener */
    sock = strdup((*conf)->socket);
    if (sock == NULL) {
        log_error("reload refused: out of memory");
        conf_free(nconf);
        policy_free(npol);
        notify("READY=1\nSTATUS=serving (reload refused)");
        return;
    }
    free(nconf->socket);
    nconf->socket = sock;
    ++*gen;
    /* the index is there already: no wait on a reload */
    spawn(free_slot(), KIND_INVENTORY, *gen, listen_fd, conf_path);
    for (i = 0; i < nconf->workers + nconf->runners; i++) {
        spawn(free_slot(), i < nconf->workers ? KIND_REQUEST : KIND_RUNNER,
              *gen, listen_fd, conf_path);
    }
    for (j = 0; j < nworkers; j++) {
        if (workers[j].pid > 0 && workers[j].generation == old) {
            kill(workers[j].pid, SIGTERM);
        }
    }
    policy_free(*pol);
    *pol = npol;
    conf_free(*conf);
    *conf = nconf;
    log_target(nconf->log_syslog ? LOG_TO_SYSLOG : LOG_TO_STDERR);
    log_init("ferryd", nconf->log_debug);
    count_gen(*gen, &nreq, &nrun);
    publish_children(*gen, *conf);
    log_info("reloaded %s: version=%s generation=%d workers=%d runners=%d "
             "hosts=%zu",
             conf_path, FERRY_VERSION, *gen, nreq, nrun, (*conf)->nhosts);
    notify("READY=1\nSTATUS=serving");
}

/* The command line: -c sets *conf_path, -t *test_only; -V, -h and a bad
 * argument exit here. */
static void parse_args(int argc, char **argv, const char **conf_path,
                       int *test_only)
{
    static const struct option longopts[] = {
        { "config", required_argument, NULL, 'c' },
        { "test", no_argument, NULL, 't' },
        { "help", no_argument, NULL, 'h' },
        { "version", no_argument, NULL, 'V' },
        { NULL, 0, NULL, 0 }
    };
    int opt;

    while ((opt = getopt_long(argc, argv, "c:thV", longopts, NULL)) != -1) {
        switch (opt) {
        case 'c':
            *conf_path = optarg;
            break;
        case 't':
            *test_only = 1;
            break;
        case 'V':
            printf("ferryd %s\n", FERRY_VERSION);
            exit(0);
        case 'h':
            usage(stdout);
            exit(0);
        default:
            usage(stderr);
            exit(2);
        }
    }
    if (optind < argc) {
        fprintf(stderr, "ferryd: unexpected argument: %s\n", argv[optind]);
        usage(stderr);
        exit(2);
    }
}

/* Everything the master needs before its first fork: the lock, the
 * store, the listening socket (returned), the wake pipe, the shared
 * counters and the signal handlers.  Exits when any is missing. */
static int open_master(const struct conf *conf)
{
    struct ferr err = { 0 };
    struct store *st;
    int listen_fd;

    log_target(conf->log_syslog ? LOG_TO_SYSLOG : LOG_TO_STDERR);
    log_init("ferryd", conf->log_debug);
    master_pid = getpid();
    if (take_lock(conf, &err) < 0 || store_open(conf->store, &st, &err) < 0) {
        fprintf(stderr, "ferryd: %s\n", ferr_msg(&err));
        exit(1);
    }
    store_close(st);
    listen_fd = fcgi_open(conf, &err);
    if (listen_fd < 0) {
        fprintf(stderr, "ferryd: %s\n", ferr_msg(&err));
        exit(1);
    }
    if (pipe2(wake_pipe, O_CLOEXEC | O_NONBLOCK) != 0) {
        perror("ferryd: pipe");
        exit(1);
    }
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, precheck_chan)
        != 0) {
        perror("ferryd: socketpair");
        exit(1);
    }
    if (runner_wake_open(&err) < 0) {
        fprintf(stderr, "ferryd: %s\n", ferr_msg(&err));
        exit(1);
    }
    /* before the first fork: every child shares the counters */
    if (metrics_init(&err) < 0) {
        log_error("%s; process metrics are off", ferr_msg(&err));
        ferr_clear(&err);
    }
    install(SIGTERM, on_signal);
    install(SIGINT, on_signal);
    install(SIGHUP, on_signal);
    install(SIGCHLD, on_signal);
    signal(SIGPIPE, SIG_IGN);
    return listen_fd;
}

/* The first generation: the inventory's first pass, then the workers and
 * runners; systemd is told once they are started. */
static void start_first(int gen, int listen_fd, const char *conf_path,
                        const struct conf *conf)
{
    int i, nreq, nrun;

    wait_inventory(free_slot(), gen, listen_fd, conf_path);
    for (i = 0; i < conf->workers + conf->runners; i++) {
        spawn(free_slot(), i < conf->workers ? KIND_REQUEST : KIND_RUNNER, gen,
              listen_fd, conf_path);
    }
    count_gen(gen, &nreq, &nrun);
    publish_children(gen, conf);
    log_info("listening on %s: version=%s generation=%d workers=%d "
             "runners=%d hosts=%zu",
             conf->socket, FERRY_VERSION, gen, nreq, nrun, conf->nhosts);
    notify("READY=1\nSTATUS=serving");
}

/* Reaps every ended child; one of the running generation is restarted
 * unless the master is stopping. */
static void reap(int gen, int listen_fd, const char *conf_path,
                 const struct conf *conf)
{
    pid_t pid;
    int status;
    size_t j;

    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        for (j = 0; j < nworkers; j++) {
            if (workers[j].pid != pid) {
                continue;
            }
            workers[j].pid = 0;
            if (got_term || workers[j].generation != gen) {
                break;
            }
            log_error("%s %d exited (status %d); restarting",
                      kind_names[workers[j].kind], (int) pid, status);
            if (time(NULL) - workers[j].started < 1) {
                sleep(1); /* dying at start: do not spin */
            }
            spawn(&workers[j], workers[j].kind, gen, listen_fd, conf_path);
            /* an inventory restart counts as a worker's (it has no
             * kind of its own in the metrics yet) */
            metrics_restart(workers[j].kind == KIND_RUNNER ? METRIC_RUNNER
                                                           : METRIC_WORKER);
            break;
        }
        publish_children(gen, conf);
    }
}

static void signal_children(int sig)
{
    size_t j;

    for (j = 0; j < nworkers; j++) {
        if (workers[j].pid > 0) {
            kill(workers[j].pid, sig);
        }
    }
}

/* SIGTERM: the children are told to stop once (*term_at records when),
 * and killed after 120 s.  Returns 1 when none is left. */
static int stopping(time_t *term_at)
{
    size_t j;
    int alive;

    if (*term_at == 0) {
        log_info("stopping: waiting for in-flight requests");
        notify("STOPPING=1");
        *term_at = time(NULL);
        signal_children(SIGTERM);
    }
    alive = 0;
    for (j = 0; j < nworkers; j++) {
        alive += workers[j].pid > 0;
    }
    if (alive == 0) {
        return 1;
    }
    if (time(NULL) - *term_at > 120) {
        log_error("workers did not stop in 120 s; killing them");
        signal_children(SIGKILL);
    }
    return 0;
}

/* Sleeps until a signal arrives (it writes the wake pipe), 1 s at most. */
static void wait_signal(void)
{
    struct timespec ts = { 1, 0 };
    fd_set rfds;

    FD_ZERO(&rfds);
    FD_SET(wake_pipe[0], &rfds);
    pselect(wake_pipe[0] + 1, &rfds, NULL, NULL, &ts, NULL);
}

int main(int argc, char **argv)
{
    const char *conf_path = FERRY_CONF_PATH;
    struct conf *conf = NULL;
    struct policy *pol = NULL;
    struct ferr err = { 0 };
    int test_only = 0, listen_fd, gen = 1;
    time_t term_at = 0;
    char buf[64];

    parse_args(argc, argv, &conf_path, &test_only);
    /* the store holds who asked for what: private unless the operator
     * shares it (the socket's mode is set explicitly, not from this) */
    umask(077);
    log_init("ferryd", 0);
    if (load_all(conf_path, &conf, &pol, &err) < 0) {
        fprintf(stderr, "ferryd: %s\n", ferr_msg(&err));
        exit(1);
    }
    if (test_only) {
        printf("ferryd: %s: configuration ok (%zu hosts), policy %s ok\n",
               conf_path, conf->nhosts, conf->policy);
        exit(0);
    }
    listen_fd = open_master(conf);
    start_first(gen, listen_fd, conf_path, conf);

    for (;;) {
        while (read(wake_pipe[0], buf, sizeof(buf)) > 0) {
        }
        reap(gen, listen_fd, conf_path, conf);
        if (got_term) {
            if (stopping(&term_at)) {
                break;
            }
        } else if (got_hup) {
            got_hup = 0;
            reload(conf_path, listen_fd, &gen, &conf, &pol);
        }
        if (!got_term && !got_hup) {
            wait_signal();
        } else if (got_term) {
            usleep(100000);
        }
    }
    unlink(conf->socket);
    free(workers);
    policy_free(pol);
    conf_free(conf);
    log_info("stopped");
    exit(0);
}
