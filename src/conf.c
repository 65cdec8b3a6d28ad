/*
 * conf.c: parses ferry.conf into struct conf (see conf.h).  Keys are a
 * table of (section, key, parser, offset); adding an option is one row.
 * Every error names file:line and the reason, and nothing half-parsed is
 * returned: start-up fails, and a SIGHUP reload keeps the old config.
 */
#include <ctype.h>
#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "ferry/conf.h"
#include "ferry/paths.h"
#include "ferry/util.h"

enum sect { S_NONE, S_FERRYD, S_HOST, S_LIBVIRT };

#define INCLUDE_DEPTH 8   /* files open at once: the main + 7 */
#define LINE_MAX_LEN 4095 /* bytes of one line, without the '\n' */
#define STR_(x) #x
#define STR(x) STR_(x)

struct pstate {
    struct conf *c;
    const char *file;
    int line;
    enum sect sect;
    struct conf_host *host;
    int depth;
    /* the files being read, outermost first: an include loop is named
     * as one instead of running into the depth limit */
    dev_t dev[INCLUDE_DEPTH];
    ino_t ino[INCLUDE_DEPTH];
    struct ferr *err;
};

typedef int (*val_fn)(struct pstate *st, const char *val, void *dst);

static int bad(struct pstate *st, const char *fmt, const char *arg)
{
    char reason[512];

    snprintf(reason, sizeof(reason), fmt, arg);
    return ferr_set(st->err, FE_CONFIG, "%s:%d: %s", st->file, st->line,
                    reason);
}

static int v_str(struct pstate *st, const char *val, void *dst)
{
    char **p = dst;

    if (*val == '\0') {
        return bad(st, "%s", "empty value");
    }
    free(*p);
    *p = strdup(val);
    if (*p == NULL) {
        return ferr_set(st->err, FE_NOMEM, "out of memory");
    }
    return 0;
}

static int v_int(struct pstate *st, const char *val, void *dst, int lo, int hi,
                 int base)
{
    char *end;
    long v;

    errno = 0;
    v = strtol(val, &end, base);
    if (errno != 0 || *val == '\0' || *end != '\0' || v < lo || v > hi) {
        char range[64];

        snprintf(range, sizeof(range), "%d..%d", lo, hi);
        return bad(st, "expected a whole number in %s", range);
    }
    *(int *) dst = (int) v;
    return 0;
}

static int v_workers(struct pstate *st, const char *val, void *dst)
{
    return v_int(st, val, dst, 1, 256, 10);
}

static int v_runners(struct pstate *st, const char *val, void *dst)
{
    return v_int(st, val, dst, 0, 64, 10);
}

static int v_bandwidth(struct pstate *st, const char *val, void *dst)
{
    return v_int(st, val, dst, 0, 1000000, 10);
}

static int v_downtime(struct pstate *st, const char *val, void *dst)
{
    return v_int(st, val, dst, 100, 1000000, 10);
}

static int v_min3(struct pstate *st, const char *val, void *dst)
{
    return v_int(st, val, dst, 3, 1000000, 10);
}

/* The store's URL (db.h says which backend a form names): a path,
 * sqlite:///path, postgresql://..., postgres://..., a libpq conninfo.
 * Its value is never echoed: it may hold a password. */
static int v_store(struct pstate *st, const char *val, void *dst)
{
    if (strcmp(val, "sqlite://") == 0) {
        return bad(st, "%s", "store: sqlite:// names no file");
    }
    return v_str(st, val, dst);
}

/* This node's name among the nodes of one store: what its runners and
 * its inventory's host leases are known by.  Letters, digits, '.', '-'
 * and '_', at most 63 (a host name's label). */
static int v_node_name(struct pstate *st, const char *val, void *dst)
{
    size_t n = strspn(val,
                      "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                      "0123456789.-_");

    if (*val == '\0' || val[n] != '\0' || n > 63) {
        return bad(st, "%s",
                   "node_name: 1 to 63 letters, digits, '.', '-' or '_'");
    }
    return v_str(st, val, dst);
}

/* Seconds a store statement may wait: held in ms by SQLite (an int). */
static int v_store_timeout(struct pstate *st, const char *val, void *dst)
{
    return v_int(st, val, dst, 0, 3600, 10);
}

/* Seconds a request below µv 2.34 waits for its prechecks: at least one,
 * at most an hour (nginx's fastcgi_read_timeout must be longer). */
static int v_precheck_timeout(struct pstate *st, const char *val, void *dst)
{
    return v_int(st, val, dst, 1, 3600, 10);
}

/* A full resync per host at most every second, at least once a day. */
static int v_resync(struct pstate *st, const char *val, void *dst)
{
    return v_int(st, val, dst, 1, 86400, 10);
}

/* A storage probe's answer is kept at most a day. */
static int v_probe_cache(struct pstate *st, const char *val, void *dst)
{
    return v_int(st, val, dst, 0, 86400, 10);
}

static int v_seconds(struct pstate *st, const char *val, void *dst)
{
    return v_int(st, val, dst, 0, 100000000, 10);
}

static int v_concurrent(struct pstate *st, const char *val, void *dst)
{
    return v_int(st, val, dst, 1, 64, 10);
}

static int v_timeout_action(struct pstate *st, const char *val, void *dst)
{
    if (strcmp(val, "abort") == 0) {
        *(int *) dst = TIMEOUT_ABORT;
    } else if (strcmp(val, "force_complete") == 0) {
        *(int *) dst = TIMEOUT_FORCE_COMPLETE;
    } else {
        return bad(st, "expected abort or force_complete, got '%s'", val);
    }
    return 0;
}

static int v_convergence(struct pstate *st, const char *val, void *dst)
{
    if (strcmp(val, "timeout") == 0) {
        *(int *) dst = CONVERGE_TIMEOUT;
    } else if (strcmp(val, "predict") == 0) {
        *(int *) dst = CONVERGE_PREDICT;
    } else {
        return bad(st, "expected timeout or predict, got '%s'", val);
    }
    return 0;
}

static int v_mode(struct pstate *st, const char *val, void *dst)
{
    return v_int(st, val, dst, 0, 0777, 8);
}

static int v_bool(struct pstate *st, const char *val, void *dst)
{
    int v = str_bool(val, strlen(val), BOOL_CONF);

    if (v < 0) {
        return bad(st, "expected true or false, got '%s'", val);
    }
    *(int *) dst = v;
    return 0;
}

static int v_loglevel(struct pstate *st, const char *val, void *dst)
{
    if (strcmp(val, "info") == 0) {
        *(int *) dst = 0;
    } else if (strcmp(val, "debug") == 0) {
        *(int *) dst = 1;
    } else {
        return bad(st, "log_level must be info or debug, got '%s'", val);
    }
    return 0;
}

static int v_logtarget(struct pstate *st, const char *val, void *dst)
{
    if (strcmp(val, "stderr") == 0) {
        *(int *) dst = 0;
    } else if (strcmp(val, "syslog") == 0) {
        *(int *) dst = 1;
    } else {
        return bad(st, "log_target must be stderr or syslog, got '%s'", val);
    }
    return 0;
}

static int ids_add(struct pstate *st, struct conf_ids *l, unsigned id)
{
    unsigned *t = realloc(l->id, (l->n + 1) * sizeof(*t));

    if (t == NULL) {
        return ferr_set(st->err, FE_NOMEM, "out of memory");
    }
    l->id = t;
    l->id[l->n++] = id;
    return 0;
}

/* "root, 33, www-data": names or numbers, users (gids 0) or groups. */
static int v_ids(struct pstate *st, const char *val, struct conf_ids *l,
                 int groups)
{
    char *copy = strdup(val), *tok, *save = NULL, *end;
    unsigned long v;
    int rc = 0;

    if (copy == NULL) {
        return ferr_set(st->err, FE_NOMEM, "out of memory");
    }
    l->n = 0;
    l->set = 1;
    for (tok = strtok_r(copy, ", \t", &save); tok != NULL && rc == 0;
         tok = strtok_r(NULL, ", \t", &save)) {
        errno = 0;
        v = strtoul(tok, &end, 10);
        if (isdigit((unsigned char) *tok)) {
            if (errno != 0 || *end != '\0' || v >= (unsigned) -1) {
                rc = bad(st, "bad id '%s'", tok);
            } else {
                rc = ids_add(st, l, (unsigned) v);
            }
        } else if (groups) {
            struct group *g = getgrnam(tok);

            rc = g ? ids_add(st, l, (unsigned) g->gr_gid)
                   : bad(st, "no such group '%s'", tok);
        } else {
            struct passwd *pw = getpwnam(tok);

            rc = pw ? ids_add(st, l, (unsigned) pw->pw_uid)
                    : bad(st, "no such user '%s'", tok);
        }
    }
    free(copy);
    if (rc == 0 && l->n == 0) {
        rc = bad(st, "%s", "empty value");
    }
    return rc;
}

static int v_uids(struct pstate *st, const char *val, void *dst)
{
    return v_ids(st, val, dst, 0);
}

static int v_gids(struct pstate *st, const char *val, void *dst)
{
    return v_ids(st, val, dst, 1);
}

struct key {
    enum sect sect;
    const char *name;
    val_fn fn;
    size_t off;
    int in_host; /* offset is into struct conf_host */
};

static const struct key keys[] = {
    { S_FERRYD, "socket", v_str, offsetof(struct conf, socket), 0 },
    { S_FERRYD, "socket_mode", v_mode, offsetof(struct conf, socket_mode), 0 },
    { S_FERRYD, "socket_group", v_str, offsetof(struct conf, socket_group), 0 },
    { S_FERRYD, "fastcgi_allow_uids", v_uids,
      offsetof(struct conf, fastcgi_allow_uids), 0 },
    { S_FERRYD, "fastcgi_allow_gids", v_gids,
      offsetof(struct conf, fastcgi_allow_gids), 0 },
    { S_FERRYD, "workers", v_workers, offsetof(struct conf, workers), 0 },
    { S_FERRYD, "runners", v_runners, offsetof(struct conf, runners), 0 },
    { S_FERRYD, "store", v_store, offsetof(struct conf, store), 0 },
    { S_FERRYD, "node_name", v_node_name, offsetof(struct conf, node_name), 0 },
    { S_FERRYD, "policy", v_str, offsetof(struct conf, policy), 0 },
    { S_FERRYD, "link_prefix", v_str, offsetof(struct conf, link_prefix), 0 },
    { S_FERRYD, "log_level", v_loglevel, offsetof(struct conf, log_debug), 0 },
    { S_FERRYD, "log_target", v_logtarget, offsetof(struct conf, log_syslog),
      0 },
    { S_FERRYD, "shutdown_timeout", v_seconds,
      offsetof(struct conf, shutdown_timeout), 0 },
    { S_FERRYD, "host_answer_timeout", v_seconds,
      offsetof(struct conf, host_answer_timeout), 0 },
    { S_FERRYD, "store_timeout", v_store_timeout,
      offsetof(struct conf, store_timeout), 0 },
    { S_FERRYD, "precheck_timeout", v_precheck_timeout,
      offsetof(struct conf, precheck_timeout), 0 },
    { S_FERRYD, "inventory_resync_interval", v_resync,
      offsetof(struct conf, inventory_resync_interval), 0 },
    { S_FERRYD, "storage_probe_cache", v_probe_cache,
      offsetof(struct conf, storage_probe_cache), 0 },
#define LV(name, fn)                                         \
    {                                                        \
        S_LIBVIRT, #name, fn, offsetof(struct conf, name), 0 \
    }
    LV(live_migration_bandwidth, v_bandwidth),
    LV(live_migration_downtime, v_downtime),
    LV(live_migration_downtime_steps, v_min3),
    LV(live_migration_downtime_delay, v_min3),
    LV(live_migration_completion_timeout, v_seconds),
    LV(live_migration_timeout_action, v_timeout_action),
    LV(live_migration_permit_post_copy, v_bool),
    LV(live_migration_permit_auto_converge, v_bool),
    LV(max_concurrent_live_migrations, v_concurrent),
    LV(live_migration_progress_timeout, v_seconds),
    LV(live_migration_convergence, v_convergence),
#undef LV
    { S_HOST, "uri", v_str, offsetof(struct conf_host, uri), 1 },
    { S_HOST, "migration_address", v_str,
      offsetof(struct conf_host, migration_address), 1 },
    { S_HOST, "enabled", v_bool, offsetof(struct conf_host, enabled), 1 },
};

static char *trim(char *s)
{
    char *e;

    while (isspace((unsigned char) *s)) {
        s++;
    }
    e = s + strlen(s);
    while (e > s && isspace((unsigned char) e[-1])) {
        *--e = '\0';
    }
    return s;
}

/* Host names follow the pattern Nova's API accepts for "host". */
static int host_name_ok(const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || n > 255) {
        return 0;
    }
    return strspn(s,
                  "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                  "0123456789-._")
        == n;
}

static int end_host(struct pstate *st)
{
    struct conf_host *h = st->host;

    st->host = NULL;
    if (h == NULL) {
        return 0;
    }
    if (h->uri == NULL) {
        return ferr_set(st->err, FE_CONFIG, "%s:%d: [host %s] has no uri",
                        st->file, st->line, h->name);
    }
    return 0;
}

static int section(struct pstate *st, char *s)
{
    struct conf *c = st->c;
    struct conf_host *h;
    char *name;
    size_t i;

    if (end_host(st) < 0) {
        return -FE_CONFIG;
    }
    if (strcmp(s, "ferryd") == 0) {
        st->sect = S_FERRYD;
        return 0;
    }
    if (strcmp(s, "libvirt") == 0) {
        st->sect = S_LIBVIRT;
        return 0;
    }
    if (strncmp(s, "host", 4) != 0 || !isspace((unsigned char) s[4])) {
        return bad(st,
                   "unknown section [%s] (expected [ferryd], [libvirt] "
                   "or [host NAME])",
                   s);
    }
    name = trim(s + 4);
    if (!host_name_ok(name)) {
        return bad(st, "bad host name '%s' (1-255 of a-z A-Z 0-9 - . _)", name);
    }
    for (i = 0; i < c->nhosts; i++) {
        if (strcmp(c->hosts[i].name, name) == 0) {
            return bad(st, "host '%s' defined twice", name);
        }
    }
    h = realloc(c->hosts, (c->nhosts + 1) * sizeof(*h));
    if (h == NULL) {
        return ferr_set(st->err, FE_NOMEM, "out of memory");
    }
    c->hosts = h;
    h = &c->hosts[c->nhosts++];
    memset(h, 0, sizeof(*h));
    h->name = strdup(name);
    if (h->name == NULL) {
        c->nhosts--;
        return ferr_set(st->err, FE_NOMEM, "out of memory");
    }
    h->enabled = 1;
    st->sect = S_HOST;
    st->host = h;
    return 0;
}

static int parse_file(struct pstate *st, const char *path);

static int include(struct pstate *st, const char *val)
{
    char full[PATH_MAX];
    const char *slash = strrchr(st->file, '/');
    const char *file = st->file;
    int line = st->line, rc, n;
    enum sect prev;

    if (*val == '\0') {
        return bad(st, "%s", "include needs a file name");
    }
    if (val[0] == '/' || slash == NULL) {
        n = snprintf(full, sizeof(full), "%s", val);
    } else {
        n = snprintf(full, sizeof(full), "%.*s/%s", (int) (slash - st->file),
                     st->file, val);
    }
    if (n < 0 || (size_t) n >= sizeof(full)) {
        return bad(st, "%s", "include path too long");
    }
    if (st->depth + 1 >= INCLUDE_DEPTH) {
        return bad(st, "include nested too deeply at '%s'", val);
    }
    if (end_host(st) < 0) {
        return -FE_CONFIG;
    }
    /* an included file starts outside any section: its keys never land
     * in the including file's [host] (whose struct end_host let go of).
     * Back in the including file, [ferryd] or [libvirt] goes on ("read in
     * place"); a [host] ended at the include. */
    prev = st->sect;
    st->sect = S_NONE;
    st->depth++;
    rc = parse_file(st, full);
    st->depth--;
    st->file = file;
    st->line = line;
    st->sect = prev == S_HOST ? S_NONE : prev;
    return rc;
}

static int assign(struct pstate *st, char *k, char *v)
{
    size_t i;
    void *base;

    if (strcmp(k, "include") == 0) {
        return include(st, v);
    }
    if (st->sect == S_NONE) {
        return bad(st, "'%s' outside a section", k);
    }
    for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        if (keys[i].sect == st->sect && strcmp(keys[i].name, k) == 0) {
            base = keys[i].in_host ? (void *) st->host : (void *) st->c;
            return keys[i].fn(st, v, (char *) base + keys[i].off);
        }
    }
    return bad(st, "unknown key '%s'", k);
}

/* Reads one line into buf (at most LINE_MAX_LEN bytes and a NUL):
 * 1 a line, 0 end of file, or -1 with the error set.  A NUL byte or an
 * over-long line is an error, never a line cut short. */
static int read_line(struct pstate *st, FILE *f, char *buf)
{
    size_t n = 0;
    int ch;

    while ((ch = getc(f)) != EOF && ch != '\n') {
        if (ch == '\0') {
            st->line++;
            return bad(st, "%s", "NUL byte in line");
        }
        if (n == LINE_MAX_LEN) {
            st->line++;
            return bad(st, "%s",
                       "line too long (more than " STR(LINE_MAX_LEN) " bytes)");
        }
        buf[n++] = (char) ch;
    }
    buf[n] = '\0';
    if (ferror(f)) {
        st->line++;
        return bad(st, "read error: %s", strerror(errno));
    }
    if (ch == EOF && n == 0) {
        return 0;
    }
    st->line++;
    return 1;
}

/* Opens path for parse_file: a regular file (or a character device such
 * as /dev/null), not already being read further out. */
static FILE *open_conf(struct pstate *st, const char *path)
{
    const char *why = NULL;
    struct stat sb;
    FILE *f;
    int i;

    f = fopen(path, "r");
    if (f == NULL) {
        why = strerror(errno);
    } else if (fstat(fileno(f), &sb) != 0) {
        why = strerror(errno);
    } else if (S_ISDIR(sb.st_mode)) {
        why = "is a directory";
    } else if (!S_ISREG(sb.st_mode) && !S_ISCHR(sb.st_mode)) {
        why = "not a regular file";
    } else {
        for (i = 0; i < st->depth; i++) {
            if (st->dev[i] == sb.st_dev && st->ino[i] == sb.st_ino) {
                why = "include loop (the file is already being read)";
                break;
            }
        }
    }
    if (why == NULL) {
        st->dev[st->depth] = sb.st_dev;
        st->ino[st->depth] = sb.st_ino;
        return f;
    }
    if (f != NULL) {
        fclose(f);
    }
    if (st->depth == 0) {
        ferr_set(st->err, FE_CONFIG, "%s: %s", path, why);
    } else {
        ferr_set(st->err, FE_CONFIG, "%s:%d: include %s: %s", st->file,
                 st->line, path, why);
    }
    return NULL;
}

static int parse_file(struct pstate *st, const char *path)
{
    FILE *f = open_conf(st, path);
    char buf[LINE_MAX_LEN + 1], *s, *eq, *end;
    int rc = 0;

    if (f == NULL) {
        return -FE_CONFIG;
    }
    st->file = path;
    st->line = 0;
    while (rc == 0 && (rc = read_line(st, f, buf)) > 0) {
        rc = 0;
        s = trim(buf);
        if (*s == '\0' || *s == '#' || *s == ';') {
            continue;
        }
        if (*s == '[') {
            end = strchr(s, ']');
            if (end == NULL || trim(end + 1)[0] != '\0') {
                rc = bad(st, "bad section line '%s'", s);
                break;
            }
            *end = '\0';
            rc = section(st, trim(s + 1));
            continue;
        }
        eq = strchr(s, '=');
        if (eq == NULL) {
            rc = bad(st, "expected 'key = value', got '%s'", s);
            break;
        }
        *eq = '\0';
        rc = assign(st, trim(s), trim(eq + 1));
    }
    fclose(f);
    if (rc == 0) {
        rc = end_host(st);
    }
    return rc;
}

/* The FastCGI peers allowed when the file names none: root and ferryd's
 * own uid; the members of socket_group (by the peer's primary gid). */
/* The machine's host name (its first label), as Nova names a compute
 * service by its host: unique among the nodes of a store, or set. */
static int node_name_default(struct conf *c, struct ferr *err)
{
    char host[256] = "";

    if (gethostname(host, sizeof(host) - 1) != 0 || host[0] == '\0') {
        strcpy(host, "localhost");
    }
    host[strcspn(host, ".")] = '\0';
    host[63] = '\0';
    c->node_name = strdup(host);
    if (c->node_name == NULL) {
        return ferr_set(err, FE_NOMEM, "out of memory");
    }
    return 0;
}

static int allow_defaults(struct pstate *st)
{
    struct conf *c = st->c;
    struct group *g;
    int rc = 0;

    if (!c->fastcgi_allow_uids.set) {
        rc = ids_add(st, &c->fastcgi_allow_uids, 0);
        if (rc == 0 && geteuid() != 0) {
            rc = ids_add(st, &c->fastcgi_allow_uids, (unsigned) geteuid());
        }
    }
    if (rc == 0 && !c->fastcgi_allow_gids.set && c->socket_group != NULL) {
        g = getgrnam(c->socket_group);
        if (g == NULL) {
            return ferr_set(st->err, FE_CONFIG,
                            "%s: socket_group: no such "
                            "group '%s'",
                            c->path, c->socket_group);
        }
        rc = ids_add(st, &c->fastcgi_allow_gids, (unsigned) g->gr_gid);
    }
    return rc;
}

int conf_load(const char *path, struct conf **out, struct ferr *err)
{
    struct conf *c = calloc(1, sizeof(*c));
    struct pstate st;
    int rc;

    if (c == NULL) {
        return ferr_set(err, FE_NOMEM, "out of memory");
    }
    c->path = strdup(path);
    c->socket = strdup(FERRY_SOCKET_PATH);
    c->socket_mode = 0660;
    c->workers = 4;
    c->runners = 2;
    c->live_migration_downtime = 500;
    c->live_migration_downtime_steps = 10;
    c->live_migration_downtime_delay = 75;
    c->live_migration_completion_timeout = 800;
    c->live_migration_timeout_action = TIMEOUT_ABORT;
    c->live_migration_convergence = CONVERGE_TIMEOUT;
    c->max_concurrent_live_migrations = 1;
    c->store = strdup(FERRY_STORE_PATH);
    c->policy = strdup(FERRY_POLICY_PATH);
    c->shutdown_timeout = 60;
    c->host_answer_timeout = 120;
    c->storage_probe_cache = 300;
    c->store_timeout = 3;
    c->precheck_timeout = 30;
    c->inventory_resync_interval = 60;
    if (c->path == NULL || c->socket == NULL || c->store == NULL
        || c->policy == NULL) {
        conf_free(c);
        return ferr_set(err, FE_NOMEM, "out of memory");
    }
    memset(&st, 0, sizeof(st));
    st.c = c;
    st.err = err;
    rc = parse_file(&st, path);
    if (rc == 0 && c->nhosts == 0) {
        rc = ferr_set(err, FE_CONFIG, "%s: no [host NAME] section", path);
    }
    if (rc == 0) {
        rc = allow_defaults(&st);
    }
    if (rc == 0 && c->node_name == NULL) {
        rc = node_name_default(c, err);
    }
    if (rc < 0) {
        conf_free(c);
        return rc;
    }
    *out = c;
    return 0;
}

void conf_free(struct conf *c)
{
    size_t i;

    if (c == NULL) {
        return;
    }
    for (i = 0; i < c->nhosts; i++) {
        free(c->hosts[i].name);
        free(c->hosts[i].uri);
        free(c->hosts[i].migration_address);
    }
    free(c->hosts);
    free(c->path);
    free(c->socket);
    free(c->socket_group);
    free(c->fastcgi_allow_uids.id);
    free(c->fastcgi_allow_gids.id);
    free(c->store);
    free(c->node_name);
    free(c->policy);
    free(c->link_prefix);
    free(c);
}

const struct conf_host *conf_host_find(const struct conf *c, const char *name)
{
    size_t i;

    for (i = 0; i < c->nhosts; i++) {
        if (strcmp(c->hosts[i].name, name) == 0) {
            return &c->hosts[i];
        }
    }
    return NULL;
}
