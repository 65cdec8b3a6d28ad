/*
 * main.c: the ferryd master, and the only caller of exit().
 *
 * The master reads ferry.conf and policy.json (failing at start-up with
 * file:line and the reason), prepares the store, opens the FastCGI socket
 * and forks the request workers.  It restarts a worker that dies (with a
 * back-off if they die young), stops gracefully on SIGTERM/SIGINT (workers
 * finish the request in hand), and on SIGHUP re-reads config and policy:
 * if both load, a new generation of workers starts on the same socket and
 * the old one is told to finish and exit, so no request is dropped; if
 * either fails, the error is logged and the running generation stays.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "ferry/app.h"
#include "ferry/store.h"
#include "ferry/inventory.h"
#include "ferry/runner.h"
#include "ferry/virt.h"

#define MAX_WORKERS 256

enum { KIND_REQUEST, KIND_RUNNER };

struct worker {
    pid_t pid;
    int kind;
    int generation;
    time_t started;
};

static volatile sig_atomic_t got_term, got_hup, got_chld;
static int wake_pipe[2] = { -1, -1 };

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

static void install(int sig, void (*fn)(int))
{
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = fn;
    sigemptyset(&sa.sa_mask);
    sigaction(sig, &sa, NULL);      /* no SA_RESTART: poll() returns */
}

static int load_all(const char *path, struct conf **conf,
                    struct policy **pol, struct ferr *err)
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

/* The body of a request worker or a runner; never returns. */
static void worker_main(int kind, int listen_fd, const char *conf_path)
{
    struct app app;
    struct ferr err = { 0 };
    int rc;

    memset(&app, 0, sizeof(app));
    close(wake_pipe[0]);
    close(wake_pipe[1]);
    if (pipe2(wake_pipe, O_CLOEXEC | O_NONBLOCK) != 0) {
        _exit(70);
    }
    got_term = got_hup = 0;
    install(SIGTERM, on_signal);
    install(SIGINT, SIG_IGN);       /* the master decides */
    install(SIGHUP, SIG_IGN);
    install(SIGCHLD, SIG_DFL);
    log_init(kind == KIND_RUNNER ? "ferryd-runner" : "ferryd-worker", 0);
    if (load_all(conf_path, &app.conf, &app.policy, &err) < 0
        || store_open(app.conf->store, &app.store, &err) < 0
        || inventory_open(app.conf, &app.inv, &err) < 0
        || (kind == KIND_RUNNER && virt_events_start(&err) < 0))
    {
        log_error("worker start: %s", ferr_msg(&err));
        _exit(71);
    }
    log_init(kind == KIND_RUNNER ? "ferryd-runner" : "ferryd-worker",
             app.conf->log_debug);
    /* a store locked by another process: a request answers 503 after
     * store_timeout s, not after tens of seconds */
    store_set_timeout(app.store, app.conf->store_timeout * 1000);
    if (kind == KIND_RUNNER) {
        close(listen_fd);
        rc = runner_main(&app, &got_term, wake_pipe[0]);
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
    pid_t pid = fork();

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

static void usage(void)
{
    fputs("usage: ferryd [-c ferry.conf] [-t]\n"
          "  -c FILE  configuration file (default /etc/ferry/ferry.conf)\n"
          "  -t       check the configuration and policy, then exit\n",
          stderr);
}

int main(int argc, char **argv)
{
    const char *conf_path = "/etc/ferry/ferry.conf";
    struct worker workers[MAX_WORKERS];
    struct conf *conf = NULL;
    struct policy *pol = NULL;
    struct ferr err = { 0 };
    struct store *st;
    int opt, test_only = 0, listen_fd, gen = 1, i, alive;
    time_t term_at = 0;

    while ((opt = getopt(argc, argv, "c:th")) != -1) {
        switch (opt) {
        case 'c':
            conf_path = optarg;
            break;
        case 't':
            test_only = 1;
            break;
        default:
            usage();
            exit(opt == 'h' ? 0 : 2);
        }
    }
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
    log_init("ferryd", conf->log_debug);
    if (store_open(conf->store, &st, &err) < 0) {
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
    install(SIGTERM, on_signal);
    install(SIGINT, on_signal);
    install(SIGHUP, on_signal);
    install(SIGCHLD, on_signal);
    signal(SIGPIPE, SIG_IGN);

    memset(workers, 0, sizeof(workers));
    for (i = 0; i < conf->workers + conf->runners; i++) {
        spawn(&workers[i], i < conf->workers ? KIND_REQUEST : KIND_RUNNER,
              gen, listen_fd, conf_path);
    }
    log_info("listening on %s with %d workers, %d runners, %zu hosts",
             conf->socket, conf->workers, conf->runners, conf->nhosts);

    for (;;) {
        char buf[64];
        pid_t pid;
        int status;

        while (read(wake_pipe[0], buf, sizeof(buf)) > 0) {
        }
        while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
            for (i = 0; i < MAX_WORKERS; i++) {
                if (workers[i].pid != pid) {
                    continue;
                }
                workers[i].pid = 0;
                if (got_term || workers[i].generation != gen) {
                    break;
                }
                log_error("%s %d exited (status %d); restarting",
                          workers[i].kind == KIND_RUNNER ? "runner"
                          : "worker", (int) pid, status);
                if (time(NULL) - workers[i].started < 1) {
                    sleep(1);       /* dying at start: do not spin */
                }
                spawn(&workers[i], workers[i].kind, gen, listen_fd,
                      conf_path);
                break;
            }
        }
        if (got_term) {
            if (term_at == 0) {
                log_info("stopping: waiting for in-flight requests");
                term_at = time(NULL);
                for (i = 0; i < MAX_WORKERS; i++) {
                    if (workers[i].pid > 0) {
                        kill(workers[i].pid, SIGTERM);
                    }
                }
            }
            alive = 0;
            for (i = 0; i < MAX_WORKERS; i++) {
                alive += workers[i].pid > 0;
            }
            if (alive == 0) {
                break;
            }
            if (time(NULL) - term_at > 120) {
                log_error("workers did not stop in 120 s; killing them");
                for (i = 0; i < MAX_WORKERS; i++) {
                    if (workers[i].pid > 0) {
                        kill(workers[i].pid, SIGKILL);
                    }
                }
            }
        } else if (got_hup) {
            struct conf *nconf = NULL;
            struct policy *npol = NULL;

            got_hup = 0;
            ferr_clear(&err);
            if (load_all(conf_path, &nconf, &npol, &err) < 0) {
                log_error("reload refused, keeping the running "
                          "configuration: %s", ferr_msg(&err));
            } else {
                int old = gen, n = 0;
                struct worker *fresh[MAX_WORKERS];

                if (strcmp(nconf->socket, conf->socket) != 0) {
                    log_error("reload: socket change needs a restart; "
                              "still on %s", conf->socket);
                }
                gen++;
                /* start the new generation first, then retire the old */
                for (i = 0; i < MAX_WORKERS
                     && n < nconf->workers + nconf->runners; i++)
                {
                    if (workers[i].pid == 0) {
                        fresh[n++] = &workers[i];
                    }
                }
                for (i = 0; i < MAX_WORKERS; i++) {
                    if (workers[i].pid > 0 && workers[i].generation == old) {
                        kill(workers[i].pid, SIGTERM);
                    }
                }
                /* slots of retired workers are reused once reaped; the
                 * generation number keeps them from being restarted */
                for (i = 0; i < n; i++) {
                    spawn(fresh[i], i < nconf->workers ? KIND_REQUEST
                          : KIND_RUNNER, gen, listen_fd, conf_path);
                }
                policy_free(pol);
                pol = npol;
                /* keep the socket path of the running listener */
                free(nconf->socket);
                nconf->socket = strdup(conf->socket);
                conf_free(conf);
                conf = nconf;
                log_info("reloaded %s: %d workers, %zu hosts", conf_path,
                         n, conf->nhosts);
            }
        }
        if (!got_term && !got_hup) {
            struct timespec ts = { 1, 0 };

            /* sleep until a signal arrives (it writes the wake pipe) */
            fd_set rfds;

            FD_ZERO(&rfds);
            FD_SET(wake_pipe[0], &rfds);
            pselect(wake_pipe[0] + 1, &rfds, NULL, NULL, &ts, NULL);
        } else if (got_term) {
            usleep(100000);
        }
    }
    unlink(conf->socket);
    policy_free(pol);
    conf_free(conf);
    log_info("stopped");
    exit(0);
}
