/* test_db.c: the store's database seam (src/db.h): which backend a store
 * URL names, its redacted form (no password in a log or an error), and
 * the schema version a store records: once, whoever opens it first and
 * however many open it together, refused when newer than ferryd, made
 * again when the text of the version changed. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>
#include "unit.h"
#include "../../src/db.h"
#include "ferry/store.h"

static void backends(void)
{
    CHECK_INT(db_backend_of("/var/lib/ferry/ferry.db"), DB_SQLITE);
    CHECK_INT(db_backend_of("ferry.db"), DB_SQLITE);
    CHECK_INT(db_backend_of("./a=b.db"), DB_SQLITE);
    CHECK_INT(db_backend_of("sqlite:///var/lib/ferry/ferry.db"), DB_SQLITE);
    CHECK_INT(db_backend_of("postgresql://ferry@db/ferry"), DB_PG);
    CHECK_INT(db_backend_of("postgres:///ferry?host=/run/pg"), DB_PG);
    CHECK_INT(db_backend_of("host=db dbname=ferry"), DB_PG);
    CHECK_INT(db_backend_of("service=ferry"), DB_PG);
}

static void redacted(const char *url, const char *want)
{
    char out[256];

    db_redact(url, out, sizeof(out));
    CHECK_STR(out, want);
}

static void redaction(void)
{
    char small[8];

    redacted("/var/lib/ferry/ferry.db", "/var/lib/ferry/ferry.db");
    redacted("postgresql://ferry@db/ferry", "postgresql://ferry@db/ferry");
    redacted("postgresql://ferry:s3cret@db:5432/ferry",
             "postgresql://ferry:***@db:5432/ferry");
    redacted("postgres://u:p%40ss@h/d?sslmode=require&password=x2&a=b",
             "postgres://u:***@h/d?sslmode=require&password=***&a=b");
    redacted("host=db password=s3cret dbname=ferry",
             "host=db password=*** dbname=ferry");
    redacted("host=db password='s3 \\'cret' dbname=ferry",
             "host=db password=*** dbname=ferry");
    redacted("password=s3cret", "password=***");
    /* a short buffer cuts, never overruns */
    db_redact("postgresql://u:s3cret@h/d", small, sizeof(small));
    CHECK_STR(small, "postgre");
}

/* The rows of schema_version in the store at path. */
static int versions(const char *path, int64_t *max)
{
    struct db *db;
    struct db_stmt *st;
    struct ferr e = { 0 };
    int n = -1;

    if (db_open(path, 1000, &db, &e) < 0) {
        return -1;
    }
    st = db_prepare(db, "SELECT count(*), max(version) FROM schema_version", 0);
    if (st != NULL && db_step(st) == DB_ROW) {
        n = (int) db_col_int(st, 0);
        *max = db_col_int(st, 1);
    }
    if (st != NULL) {
        db_done(st);
    }
    db_close(db);
    return n;
}

/* Eight processes open a new store (a path or URL) at once: one
 * upgrades it. */
static void opens_at_once(const char *where)
{
    int i, status, ok = 0;
    int64_t max = 0;

    for (i = 0; i < 8; i++) {
        if (fork() == 0) {
            struct store *s;
            struct ferr e = { 0 };

            if (store_open(where, &s, &e) < 0) {
                fprintf(stderr, "open: %s\n", ferr_msg(&e));
                _exit(1);
            }
            store_close(s);
            _exit(0);
        }
    }
    for (i = 0; i < 8; i++) {
        wait(&status);
        ok += WIFEXITED(status) && WEXITSTATUS(status) == 0;
    }
    CHECK_INT(ok, 8);
    CHECK_INT(versions(where, &max), 1);
    CHECK_INT(max, 1);
}

static void concurrent_opens(const char *dir)
{
    char path[256];

    snprintf(path, sizeof(path), "%s/race.db", dir);
    opens_at_once(path);
}

/* A store of a newer ferryd is refused, by name, and left as it was. */
static void newer_refused(const char *dir)
{
    char path[256];
    struct store *s;
    struct db *db;
    struct ferr e = { 0 };
    int64_t max = 0;

    snprintf(path, sizeof(path), "%s/newer.db", dir);
    CHECK_INT(store_open(path, &s, &e), 0);
    store_close(s);
    CHECK_INT(db_open(path, 1000, &db, &e), 0);
    CHECK_INT(db_exec(db,
                      "INSERT INTO schema_version (version, applied_at)"
                      " VALUES (99, 0)"),
              0);
    db_close(db);
    CHECK_INT(store_open(path, &s, &e), -FE_CONFIG);
    CHECK(strstr(ferr_msg(&e), "schema version 99 is newer") != NULL);
    ferr_clear(&e);
    CHECK_INT(versions(path, &max), 2);
    CHECK_INT(max, 99);
}

/* A store of a ferryd before versions (no schema_version) is version 1
 * after an open, its records kept; opening again adds no row. */
static void unversioned(const char *dir)
{
    char path[256];
    struct store *s;
    struct db *db;
    struct ferr e = { 0 };
    struct arena a;
    struct migration m, got;
    int64_t max = 0;

    arena_init(&a, 1024);
    snprintf(path, sizeof(path), "%s/old.db", dir);
    CHECK_INT(store_open(path, &s, &e), 0);
    memset(&m, 0, sizeof(m));
    snprintf(m.instance_uuid, sizeof(m.instance_uuid), "%s",
             "12121212-2222-4333-8444-555555555555");
    m.migration_type = "live-migration";
    m.status = "accepted";
    m.old_instance_type_id = m.new_instance_type_id = MIG_NULL_INT;
    CHECK_INT(store_migration_create(s, &m, &e), 0);
    store_close(s);
    CHECK_INT(db_open(path, 1000, &db, &e), 0);
    CHECK_INT(db_exec(db, "DROP TABLE schema_version"), 0);
    db_close(db);
    CHECK_INT(store_open(path, &s, &e), 0);
    CHECK_INT(store_migration_get(s, m.id, &a, &got, &e), 1);
    store_close(s);
    CHECK_INT(store_open(path, &s, &e), 0);
    store_close(s);
    CHECK_INT(versions(path, &max), 1);
    CHECK_INT(max, 1);
    arena_free(&a);
}

/* How many rows query (one count) gives on the store at path. */
static int64_t count(const char *path, const char *query)
{
    struct db *db;
    struct db_stmt *st;
    struct ferr e = { 0 };
    int64_t n = -1;

    if (db_open(path, 1000, &db, &e) < 0) {
        return -1;
    }
    st = db_prepare(db, query, 0);
    if (st != NULL && db_step(st) == DB_ROW) {
        n = db_col_int(st, 0);
    }
    if (st != NULL) {
        db_done(st);
    }
    db_close(db);
    return n;
}

/* A store of this version made by other text (an index added to it
 * since, as a ferryd of the same version but older text left it): the
 * next open adds what is missing and stamps the new digest; with the
 * digest current, an open changes nothing. */
static void text_changed(const char *dir)
{
    char path[256];
    struct store *s;
    struct db *db;
    struct ferr e = { 0 };
    int64_t max = 0;
    static const char idx[] = "SELECT count(*) FROM sqlite_master WHERE"
                              " name = 'instances_order_name'";

    snprintf(path, sizeof(path), "%s/text.db", dir);
    CHECK_INT(store_open(path, &s, &e), 0);
    store_close(s);
    CHECK_INT(count(path, idx), 1);
    CHECK_INT(db_open(path, 1000, &db, &e), 0);
    CHECK_INT(db_exec(db, "DROP INDEX instances_order_name"), 0);
    db_close(db);
    CHECK_INT(store_open(path, &s, &e), 0); /* same digest: no DDL */
    store_close(s);
    CHECK_INT(count(path, idx), 0);
    CHECK_INT(db_open(path, 1000, &db, &e), 0);
    CHECK_INT(db_exec(db, "UPDATE schema_version SET digest = 'older'"), 0);
    db_close(db);
    CHECK_INT(store_open(path, &s, &e), 0);
    store_close(s);
    CHECK_INT(count(path, idx), 1);
    CHECK_INT(count(path,
                    "SELECT count(*) FROM schema_version WHERE"
                    " digest = 'older'"),
              0);
    CHECK_INT(versions(path, &max), 1);
}

/* A queued live migration of instance n from src to dst. */
static int queue(struct store *s, int n, const char *src, const char *dst)
{
    struct migration m;
    struct ferr e = { 0 };

    memset(&m, 0, sizeof(m));
    snprintf(m.instance_uuid, sizeof(m.instance_uuid),
             "%08d-2222-4333-8444-555555555555", n);
    m.migration_type = "live-migration";
    m.status = "queued";
    m.source_compute = src;
    m.dest_compute = dst;
    m.old_instance_type_id = m.new_instance_type_id = MIG_NULL_INT;
    return store_migration_create(s, &m, &e);
}

/* Eight runners (processes: nodes, as far as the store can tell) claim
 * at once with max 1 in flight per host: how many records they got. */
static int race_claims(const char *url)
{
    int i, status, got = 0, gate[2];

    CHECK_INT(pipe(gate), 0);
    for (i = 0; i < 8; i++) {
        if (fork() == 0) {
            struct store *s;
            struct ferr e = { 0 };
            struct arena a;
            struct migration m;
            int64_t id;
            int rc;
            char c;

            close(gate[1]);
            if (store_open(url, &s, &e) < 0
                || store_runner_register(s, "n1", &id, &e) < 0) {
                _exit(100);
            }
            /* all claim together: the gate opens when the parent closes
             * its end */
            if (read(gate[0], &c, 1) != 0) {
                _exit(100);
            }
            arena_init(&a, 4096);
            rc = store_migration_claim(s, id, 1, &a, &m, &e);
            arena_free(&a);
            store_close(s);
            _exit(rc < 0 ? 100 : rc);
        }
    }
    close(gate[0]);
    usleep(300000); /* every runner opened its store */
    close(gate[1]);
    for (i = 0; i < 8; i++) {
        wait(&status);
        CHECK(WIFEXITED(status) && WEXITSTATUS(status) <= 1);
        got += WIFEXITED(status) ? WEXITSTATUS(status) : 0;
    }
    return got;
}

/* Another node's claim in progress (its transaction holds the writer
 * lock and has claimed one of two records from host m, not committed
 * yet): a claim here waits for it, then finds m at its max. */
static void claim_waits_for_a_claim(const char *url)
{
    struct store *s;
    struct db *x;
    struct ferr e = { 0 };
    int status;
    pid_t pid;

    CHECK_INT(store_open(url, &s, &e), 0);
    CHECK_INT(queue(s, 200, "m", "n"), 0);
    CHECK_INT(queue(s, 201, "m", "n"), 0);
    store_close(s);
    CHECK_INT(db_open(url, 5000, &x, &e), 0);
    CHECK_INT(db_begin(x, DB_TX_WRITE), 0);
    CHECK_INT(db_exec(x,
                      "UPDATE migrations SET claimed_by = 999,"
                      " claim_gen = claim_gen + 1 WHERE id = (SELECT"
                      " min(id) FROM migrations WHERE source_compute"
                      " = 'm')"),
              0);
    pid = fork();
    if (pid == 0) {
        struct arena a;
        struct migration m;
        int64_t id;
        int rc;

        if (store_open(url, &s, &e) < 0
            || store_runner_register(s, "n1", &id, &e) < 0) {
            _exit(100);
        }
        arena_init(&a, 4096);
        rc = store_migration_claim(s, id, 1, &a, &m, &e);
        _exit(rc < 0 ? 100 : rc);
    }
    usleep(500000);
    CHECK_INT(db_commit(x), 0);
    db_close(x);
    CHECK(waitpid(pid, &status, 0) == pid);
    CHECK(WIFEXITED(status));
    CHECK_INT(WEXITSTATUS(status), 0);
}

/* A GET's reads share one snapshot (store_snapshot_begin) on PostgreSQL
 * as on SQLite: a record another node changes meanwhile reads as it was
 * until the snapshot ends; then as it is. */
static void one_snapshot(const char *url)
{
    struct store *r, *w;
    struct ferr e = { 0 };
    struct arena a;
    struct migration m;
    int64_t id;

    arena_init(&a, 4096);
    CHECK_INT(store_open(url, &r, &e), 0);
    CHECK_INT(store_open(url, &w, &e), 0);
    memset(&m, 0, sizeof(m));
    snprintf(m.instance_uuid, sizeof(m.instance_uuid),
             "%08d-2222-4333-8444-555555555555", 300);
    m.migration_type = "live-migration";
    m.status = "queued";
    m.source_compute = "x";
    m.dest_compute = "y";
    m.old_instance_type_id = m.new_instance_type_id = MIG_NULL_INT;
    CHECK_INT(store_migration_create(w, &m, &e), 0);
    id = m.id;
    store_snapshot_begin(r);
    CHECK_INT(store_migration_get(r, id, &a, &m, &e), 1);
    CHECK_STR(m.status, "queued");
    CHECK_INT(store_migration_set_status(w, id, "error", "test", &e), 0);
    CHECK_INT(store_migration_get(r, id, &a, &m, &e), 1);
    CHECK_STR(m.status, "queued"); /* the snapshot's */
    store_snapshot_end(r);
    CHECK_INT(store_migration_get(r, id, &a, &m, &e), 1);
    CHECK_STR(m.status, "error");
    store_close(r);
    store_close(w);
    arena_free(&a);
}

/* The same on PostgreSQL (FERRY_TEST_PG: the URL of an empty database,
 * set by tests/api/test_store_pg.py): concurrent opens upgrade once, one
 * migration per instance, and claims counted over every node. */
static void on_postgresql(const char *url)
{
    struct store *s;
    struct ferr e = { 0 };
    int i;

    opens_at_once(url);
    CHECK_INT(store_open(url, &s, &e), 0);
    CHECK_INT(queue(s, 1, "a", "b"), 0);
    CHECK_INT(queue(s, 1, "a", "b"), -FE_CONFLICT);
    ferr_clear(&e);
    /* five records from one source: one goes in flight */
    for (i = 2; i <= 5; i++) {
        CHECK_INT(queue(s, i, "a", "b"), 0);
    }
    CHECK_INT(race_claims(url), 1);
    CHECK_INT(race_claims(url), 0);
    /* records of six other pairs of hosts: each claimed once */
    for (i = 0; i < 6; i++) {
        char src[16], dst[16];

        snprintf(src, sizeof(src), "s%d", i);
        snprintf(dst, sizeof(dst), "d%d", i);
        CHECK_INT(queue(s, 100 + i, src, dst), 0);
    }
    CHECK_INT(race_claims(url), 6);
    store_close(s);
    claim_waits_for_a_claim(url);
    one_snapshot(url);
}

int main(void)
{
    char dir[] = "/tmp/ferry-test-db-XXXXXX", cmd[256];
    struct store *s;
    struct ferr e = { 0 };

    backends();
    redaction();
    if (getenv("FERRY_TEST_PG") != NULL) {
        on_postgresql(getenv("FERRY_TEST_PG"));
        return unit_done("test_db");
    }
    if (mkdtemp(dir) == NULL) {
        return 1;
    }
    concurrent_opens(dir);
    newer_refused(dir);
    unversioned(dir);
    text_changed(dir);
    /* sqlite:// names the same file as its path */
    snprintf(cmd, sizeof(cmd), "sqlite://%s/race.db", dir);
    CHECK_INT(store_open(cmd, &s, &e), 0);
    store_close(s);
    /* a PostgreSQL store that cannot be reached: its password is not in
     * the error */
    CHECK(store_open("postgresql://u:Sekr1tPw@127.0.0.1:1/d?connect_timeout=2",
                     &s, &e)
          < 0);
    CHECK(strstr(ferr_msg(&e), "Sekr1tPw") == NULL);
    CHECK(strstr(ferr_msg(&e), "postgresql://u:***@127.0.0.1:1/d") != NULL);
    ferr_clear(&e);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    CHECK_INT(system(cmd), 0);
    return unit_done("test_db");
}
