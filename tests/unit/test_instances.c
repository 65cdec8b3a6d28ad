/* test_instances.c: the store's instances index (instances.h): a server
 * written and read back whole, one row per domain per host with the
 * active one winning, the list order, project filter and marker, the
 * resync sweep, and the hosts table. */
#include <stdlib.h>
#include <unistd.h>
#include "unit.h"
#include "ferry/instances.h"

static void server(struct server *s, const char *uuid, const char *host,
                   const char *name, const char *project, int64_t created,
                   int power)
{
    memset(s, 0, sizeof(*s));
    snprintf(s->uuid, sizeof(s->uuid), "%s", uuid);
    s->host = host;
    s->node = "node";
    s->name = name;
    s->instance_name = "instance-1";
    s->project_id = project;
    s->user_id = "u1";
    s->power_state = power;
    s->vm_state = power == 1 ? "active" : "stopped";
    s->created = created;
    s->flavor_id = "f1";
    s->flavor_name = "m1.tiny";
    s->image_id = "";
    s->az = "nova";
}

struct seen {
    char ids[8][37];
    const char *hosts[8];
    int n, stop_at;
};

static int collect(void *ctx, const struct server *s, struct ferr *err)
{
    struct seen *v = ctx;

    (void) err;
    snprintf(v->ids[v->n], 37, "%s", s->uuid);
    v->hosts[v->n] = strcmp(s->host, "a") == 0 ? "a" : "b";
    v->n++;
    return v->n == v->stop_at;
}

#define U1 "10000000-0000-4000-8000-000000000001"
#define U2 "20000000-0000-4000-8000-000000000002"
#define U3 "30000000-0000-4000-8000-000000000003"

static void round_trip(struct store *st, struct arena *a)
{
    struct server s, got;
    struct ferr e = { 0 };

    server(&s, U1, "a", "web", "p1", 100, 4);
    s.locked = 1;
    s.locked_reason = NULL;
    s.description = "d";
    s.key_name = NULL;
    s.has_tpm = 1;
    s.launched_at = 50;
    s.launched = 1;
    s.ram_mb = 512;
    s.meta[0].key = "k1";
    s.meta[0].value = "";
    s.meta[1].key = "k2";
    s.meta[1].value = "v2";
    s.nmeta = 2;
    CHECK_INT(instances_put(st, &s, 1000, &e), 0);
    CHECK_INT(instances_get(st, U1, a, &got, &e), 1);
    CHECK_STR(got.name, "web");
    CHECK_STR(got.host, "a");
    CHECK_STR(got.node, "node");
    CHECK_STR(got.vm_state, "stopped");
    CHECK_INT(got.power_state, 4);
    CHECK_INT(got.locked, 1);
    CHECK(got.locked_reason == NULL);
    CHECK(got.key_name == NULL);
    CHECK_STR(got.description, "d");
    CHECK_INT(got.has_tpm, 1);
    CHECK_INT(got.has_sev, 0);
    CHECK_INT(got.launched_at, 50);
    CHECK_INT(got.ram_mb, 512);
    CHECK_INT(got.nmeta, 2);
    CHECK_STR(got.meta[0].key, "k1");
    CHECK_STR(got.meta[0].value, "");
    CHECK_STR(got.meta[1].value, "v2");
    CHECK_INT(instances_get(st, U3, a, &got, &e), 0);
}

static void two_hosts_and_lists(struct store *st, struct arena *a)
{
    struct server s, got;
    struct ferr e = { 0 };
    struct seen v;

    /* U1 also defined (active) on b: the active row wins, listed once */
    server(&s, U1, "b", "web", "p1", 100, 1);
    CHECK_INT(instances_put(st, &s, 1000, &e), 0);
    CHECK_INT(instances_get(st, U1, a, &got, &e), 1);
    CHECK_STR(got.host, "b");
    server(&s, U2, "a", "db", "p2", 300, 1);
    CHECK_INT(instances_put(st, &s, 1000, &e), 0);
    server(&s, U3, "a", "cache", "p1", 200, 1);
    CHECK_INT(instances_put(st, &s, 1000, &e), 0);

    memset(&v, 0, sizeof(v));
    CHECK_INT(instances_each(st, NULL, NULL, NULL, a, collect, &v, &e), 1);
    CHECK_INT(v.n, 3); /* created desc: U2, U3, U1 (on b) */
    CHECK_STR(v.ids[0], U2);
    CHECK_STR(v.ids[1], U3);
    CHECK_STR(v.ids[2], U1);
    CHECK_STR(v.hosts[2], "b");
    memset(&v, 0, sizeof(v));
    CHECK_INT(instances_each(st, "p1", NULL, NULL, a, collect, &v, &e), 1);
    CHECK_INT(v.n, 2);
    memset(&v, 0, sizeof(v));
    /* the marker is a position in the list of every project */
    CHECK_INT(instances_each(st, "p1", U2, NULL, a, collect, &v, &e), 1);
    CHECK_INT(v.n, 2);
    CHECK_STR(v.ids[0], U3);
    memset(&v, 0, sizeof(v));
    v.stop_at = 1;
    CHECK_INT(instances_each(st, NULL, U3, NULL, a, collect, &v, &e), 1);
    CHECK_INT(v.n, 1);
    CHECK_STR(v.ids[0], U1);
    memset(&v, 0, sizeof(v));
    CHECK_INT(instances_each(st, NULL, "nosuch", NULL, a, collect, &v, &e), 0);
    CHECK_INT(v.n, 0);
    /* the name prefilter: any case, its LIKE characters taken literally */
    memset(&v, 0, sizeof(v));
    CHECK_INT(instances_each(st, NULL, NULL, "ACH", a, collect, &v, &e), 1);
    CHECK_INT(v.n, 1);
    CHECK_STR(v.ids[0], U3);
    memset(&v, 0, sizeof(v));
    CHECK_INT(instances_each(st, NULL, NULL, "c_che", a, collect, &v, &e), 1);
    CHECK_INT(v.n, 0);
    memset(&v, 0, sizeof(v));
    CHECK_INT(instances_each(st, NULL, NULL, "%", a, collect, &v, &e), 1);
    CHECK_INT(v.n, 0);
}

static void resync_and_hosts(struct store *st, struct arena *a)
{
    struct server s, got;
    struct ferr e = { 0 };
    struct host_state hs;
    const char *keep[] = { "b" };
    char host[16];

    /* a resync of a at 2000 that no longer has U2 */
    server(&s, U3, "a", "cache", "p1", 200, 1);
    CHECK_INT(instances_put(st, &s, 2000, &e), 0);
    CHECK_INT(instances_sweep(st, "a", 2000, &e), 0);
    CHECK_INT(instances_get(st, U2, a, &got, &e), 0);
    CHECK_INT(instances_get(st, U3, a, &got, &e), 1);
    CHECK_INT(instances_get(st, U1, a, &got, &e), 1); /* on b: kept */
    CHECK_INT(instances_delete(st, U1, "b", &e), 0);
    CHECK_INT(instances_get(st, U1, a, &got, &e), 0);

    CHECK_INT(instances_host_get(st, "a", a, &hs, &e), 0);
    CHECK_INT(hs.known, 0);
    CHECK_INT(instances_host_set(st, "a", 1, "node-a", NULL, 2000, &e), 0);
    CHECK_INT(instances_host_set(st, "a", 0, NULL, "refused", 0, &e), 0);
    CHECK_INT(instances_host_get(st, "a", a, &hs, &e), 0);
    CHECK_INT(hs.known, 1);
    CHECK_INT(hs.up, 0);
    CHECK_STR(hs.node, "node-a"); /* kept from when it was up */
    CHECK_STR(hs.error, "refused");
    CHECK_INT(hs.synced_at, 2000);

    /* the row of a given host (every cached statement is used here) */
    CHECK_INT(instances_get_on(st, U3, "a", a, &got, &e), 1);
    CHECK_STR(got.name, "cache");
    CHECK_INT(instances_get_on(st, U3, "b", a, &got, &e), 0);

    /* the runner's word moves the row at once */
    CHECK_INT(store_host_set(st, U3, "b"), 0);
    CHECK_INT(instances_get(st, U3, a, &got, &e), 1);
    CHECK_STR(got.host, "b");
    CHECK_INT(store_host_get(st, U3, host, sizeof(host)), 1);
    CHECK_STR(host, "b");

    /* the runner's word when the destination's row exists already (the
     * incoming domain, seen paused) and the source's row is the newer:
     * the move must still win over the source's last event */
    server(&s, U3, "b", "cache", "p1", 200, 3);
    CHECK_INT(instances_put(st, &s, 2500, &e), 0);
    server(&s, U3, "a", "cache", "p1", 200, 1);
    CHECK_INT(instances_put(st, &s, 2600, &e), 0);
    CHECK_INT(instances_get(st, U3, a, &got, &e), 1);
    CHECK_STR(got.host, "a");
    CHECK_INT(store_host_set(st, U3, "b"), 0);
    CHECK_INT(instances_get(st, U3, a, &got, &e), 1);
    CHECK_STR(got.host, "b");
    CHECK_INT(instances_delete(st, U3, "a", &e), 0);

    /* host a taken out of the configuration */
    server(&s, U2, "a", "db", "p2", 300, 1);
    CHECK_INT(instances_put(st, &s, 3000, &e), 0);
    CHECK_INT(instances_keep_hosts(st, keep, 1, "n1", 3000, &e), 0);
    CHECK_INT(instances_get(st, U2, a, &got, &e), 0);
    CHECK_INT(instances_get(st, U3, a, &got, &e), 1);
    CHECK_INT(instances_host_get(st, "a", a, &hs, &e), 0);
    CHECK_INT(hs.known, 0);
}

/* Only instances with a migration in progress or a fault are marked. */
static void marked(struct store *st, struct arena *a)
{
    struct migration m;
    struct ferr e = { 0 };
    const char **v;
    size_t n;

    CHECK_INT(instances_marked(st, a, &v, &n, &e), 0);
    CHECK_INT(n, 0);
    CHECK_INT(instances_is_marked(st, U2), 0);
    memset(&m, 0, sizeof(m));
    snprintf(m.instance_uuid, sizeof(m.instance_uuid), "%s", U2);
    m.migration_type = "live-migration";
    m.status = "accepted";
    m.source_compute = "a";
    m.old_instance_type_id = m.new_instance_type_id = MIG_NULL_INT;
    m.user_id = "u";
    m.project_id = "p";
    CHECK_INT(store_migration_create(st, &m, &e), 0);
    snprintf(m.instance_uuid, sizeof(m.instance_uuid), "%s", U1);
    CHECK_INT(store_migration_create(st, &m, &e), 0);
    CHECK_INT(store_migration_set_status(st, m.id, "completed", NULL, &e), 0);
    CHECK_INT(instances_marked(st, a, &v, &n, &e), 0);
    CHECK_INT(n, 1);
    CHECK_STR(v[0], U2);
    CHECK_INT(instances_is_marked(st, U2), 1);
    CHECK_INT(instances_is_marked(st, U1), 0);
}

struct names {
    const char *v[8];
    size_t n;
};

static void note_host(void *arg, const char *host)
{
    struct names *got = arg;

    if (got->n < ARRAY_LEN(got->v)) {
        got->v[got->n] = strdup(host);
        got->n++;
    }
}

static void names_clear(struct names *got)
{
    while (got->n > 0) {
        free((char *) got->v[--got->n]);
    }
}

static int gone(int64_t pid)
{
    return 0;
}

static int lives(int64_t pid)
{
    return 1;
}

/* Host leases (issue 13): one holder per host; a lease that ran out, or
 * one of a dead process of the taker's own node, is taken over; renewing
 * names what is still held; releasing frees at once; a host another node
 * keeps is not dropped by a node whose configuration lacks it. */
static void leases(struct store *st, struct arena *a)
{
    const char *hosts[] = { "h1", "h2" };
    struct names got = { 0 };
    struct server s, out;
    struct ferr e = { 0 };

    /* node n1 (pid 10) takes both at t=1000 until 2000 */
    CHECK_INT(leases_take_free(st, hosts, 2, "n1", 10, 1000, 2000, gone,
                               note_host, &got, &e),
              0);
    CHECK_INT(got.n, 2);
    names_clear(&got);
    /* n2 finds them held, n1 (same pid) does not take them again */
    CHECK_INT(leases_take_free(st, hosts, 2, "n2", 20, 1500, 2500, gone,
                               note_host, &got, &e),
              0);
    CHECK_INT(leases_take_free(st, hosts, 2, "n1", 10, 1500, 2500, gone,
                               note_host, &got, &e),
              0);
    CHECK_INT(got.n, 0);
    /* n1 renews: both held, until 3000 */
    CHECK_INT(leases_renew(st, "n1", 10, 3000, note_host, &got, &e), 0);
    CHECK_INT(got.n, 2);
    names_clear(&got);
    /* n1 falls silent: at 3001 n2 takes both over */
    CHECK_INT(leases_take_free(st, hosts, 1, "n2", 20, 2999, 5000, gone,
                               note_host, &got, &e),
              0);
    CHECK_INT(got.n, 0);
    CHECK_INT(leases_take_free(st, hosts, 2, "n2", 20, 3001, 5000, gone,
                               note_host, &got, &e),
              0);
    CHECK_INT(got.n, 2);
    names_clear(&got);
    /* n1 wakes: its renewal names nothing (it must let go) */
    CHECK_INT(leases_renew(st, "n1", 10, 6000, note_host, &got, &e), 0);
    CHECK_INT(got.n, 0);
    /* n2 restarted as pid 21 after a crash: its old leases are free to it
     * at once if pid 20 is gone, not while it lives */
    CHECK_INT(leases_take_free(st, hosts, 2, "n2", 21, 3100, 6000, lives,
                               note_host, &got, &e),
              0);
    CHECK_INT(got.n, 0);
    CHECK_INT(leases_take_free(st, hosts, 2, "n2", 21, 3100, 6000, gone,
                               note_host, &got, &e),
              0);
    CHECK_INT(got.n, 2);
    names_clear(&got);
    /* ... and a pid of node n2 means nothing to node n1 */
    CHECK_INT(leases_take_free(st, hosts, 2, "n1", 10, 3200, 6000, gone,
                               note_host, &got, &e),
              0);
    CHECK_INT(got.n, 0);
    /* n2 (pid 21) keeps h2 and leaves h1: released, h1 is n1's at once */
    CHECK_INT(leases_release(st, "n2", 21, &e), 0);
    CHECK_INT(leases_take_free(st, hosts + 1, 1, "n2", 21, 3300, 6000, gone,
                               note_host, &got, &e),
              0);
    CHECK_INT(leases_take_free(st, hosts, 1, "n1", 10, 3300, 6000, gone,
                               note_host, &got, &e),
              0);
    CHECK_INT(got.n, 2);
    CHECK_STR(got.v[0], "h2");
    CHECK_STR(got.v[1], "h1");
    names_clear(&got);

    /* n1's configuration has h1 only: h2, kept by n2, keeps its rows */
    server(&s, U1, "h2", "web", "p1", 100, 1);
    CHECK_INT(instances_put(st, &s, 3400, &e), 0);
    CHECK_INT(instances_keep_hosts(st, hosts, 1, "n1", 3400, &e), 0);
    CHECK_INT(instances_get(st, U1, a, &out, &e), 1);
    /* once n2's lease has run out, n1 drops them, and the lease */
    CHECK_INT(instances_keep_hosts(st, hosts, 1, "n1", 6001, &e), 0);
    CHECK_INT(instances_get(st, U1, a, &out, &e), 0);
    CHECK_INT(leases_take_free(st, hosts + 1, 1, "n2", 21, 6001, 9000, gone,
                               note_host, &got, &e),
              0);
    CHECK_INT(got.n, 1);
    names_clear(&got);
    CHECK_INT(leases_release(st, "n2", 21, &e), 0);
    CHECK_INT(leases_release(st, "n1", 10, &e), 0);
}

int main(void)
{
    char dir[] = "/tmp/ferry-test-inst-XXXXXX", path[256];
    struct store *st = NULL;
    struct ferr e = { 0 };
    struct arena a;

    if (mkdtemp(dir) == NULL) {
        return 1;
    }
    snprintf(path, sizeof(path), "%s/ferry.db", dir);
    arena_init(&a, 4096);
    /* FERRY_TEST_PG (tests/api/test_store_pg.py): the leases on an empty
     * PostgreSQL database, where several nodes share them */
    if (getenv("FERRY_TEST_PG") != NULL) {
        CHECK_INT(store_open(getenv("FERRY_TEST_PG"), &st, &e), 0);
        if (st != NULL) {
            leases(st, &a);
            store_close(st);
        }
        arena_free(&a);
        rmdir(dir);
        return unit_done("test_instances");
    }
    CHECK_INT(store_open(path, &st, &e), 0);
    round_trip(st, &a);
    two_hosts_and_lists(st, &a);
    resync_and_hosts(st, &a);
    marked(st, &a);
    leases(st, &a);
    store_close(st);
    arena_free(&a);
    snprintf(path, sizeof(path), "rm -rf '%s'", dir);
    CHECK_INT(system(path), 0);
    return unit_done("test_instances");
}
