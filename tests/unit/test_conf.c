/* test_conf.c: ferry.conf parsing, defaults, includes and every error
 * naming file:line. */
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include "unit.h"
#include "ferry/conf.h"

static char dir[] = "/tmp/ferry-test-conf-XXXXXX";

static const char *write_file(const char *name, const char *text)
{
    static char path[512];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
    return path;
}

/* Writes n bytes (which may hold NULs). */
static void write_bytes(const char *name, const char *bytes, size_t n)
{
    char path[512];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    f = fopen(path, "w");
    fwrite(bytes, 1, n, f);
    fclose(f);
}

/* The error message of loading file name, or "ok", with every "DIR/"
 * taken out for stable comparisons. */
static const char *err_of_file(const char *name)
{
    static struct ferr e;
    static char out[FERR_MSG_MAX];
    struct conf *c = NULL;
    char path[512];
    const char *m, *hit;
    size_t dl = strlen(dir), o = 0;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    ferr_clear(&e);
    if (conf_load(path, &c, &e) == 0) {
        conf_free(c);
        return "ok";
    }
    for (m = ferr_msg(&e); *m != '\0' && o + 1 < sizeof(out);) {
        hit = strstr(m, dir);
        if (hit == m && m[dl] == '/') {
            m += dl + 1;
            continue;
        }
        out[o++] = *m++;
    }
    out[o] = '\0';
    ferr_clear(&e);
    return out;
}

/* The error message of loading text, or "ok". */
static const char *err_of(const char *text)
{
    write_file("t.conf", text);
    return err_of_file("t.conf");
}

/* Defect: a host key in an included file dereferenced the NULL host of
 * the including file's ended [host] section; and include, line and
 * value errors of every kind each get file:line and a reason. */
static void test_include_and_bad_input(void)
{
    static const char tail[] = "\n[host a]\nuri = x\n";
    static char big[6000];
    char name[512], text[64];
    int i;

    /* the crash: a key before any section in an included file */
    write_file("inc.conf", "uri = test:///default\n");
    CHECK_STR(err_of("[host a]\nuri = x\ninclude = inc.conf\n"),
              "inc.conf:1: 'uri' outside a section");
    CHECK_STR(err_of("[ferryd]\nworkers = 2\ninclude = inc.conf\n"),
              "inc.conf:1: 'uri' outside a section");
    write_file("inc.conf", "enabled = no\n");
    CHECK_STR(err_of("[host a]\nuri = x\ninclude = inc.conf\n"),
              "inc.conf:1: 'enabled' outside a section");
    /* after the include, the including file is outside a section too */
    write_file("inc.conf", "[host b]\nuri = y\n");
    CHECK_STR(err_of("[host a]\nuri = x\ninclude = inc.conf\nenabled = 0\n"),
              "t.conf:4: 'enabled' outside a section");
    CHECK_STR(err_of("[host a]\ninclude = inc.conf\n"),
              "t.conf:2: [host a] has no uri");
    /* ... but [ferryd] and [libvirt] go on after it (read in place) */
    CHECK_STR(err_of("[ferryd]\ninclude = inc.conf\nworkers = 4\n"
                     "[libvirt]\ninclude = inc.conf\n"
                     "live_migration_bandwidth = 5\n"),
              "inc.conf:1: host 'b' defined twice");
    CHECK_STR(err_of("[ferryd]\ninclude = inc.conf\nworkers = 4\n"), "ok");
    /* duplicate hosts across files */
    CHECK_STR(err_of("[host b]\nuri = x\ninclude = inc.conf\n"),
              "inc.conf:1: host 'b' defined twice");
    write_file("inc.conf", "[host b]\n");
    CHECK_STR(err_of("[host a]\nuri = x\ninclude = inc.conf\n"),
              "inc.conf:1: [host b] has no uri");
    /* loops: self, and a -> b -> a */
    CHECK_STR(err_of("[host a]\nuri = x\ninclude = t.conf\n"),
              "t.conf:3: include t.conf: include loop (the file is "
              "already being read)");
    write_file("inc.conf", "include = t.conf\n");
    CHECK_STR(err_of("[host a]\nuri = x\ninclude = inc.conf\n"),
              "inc.conf:1: include t.conf: include loop (the file is "
              "already being read)");
    /* missing, directory, empty name, too long a path */
    CHECK_STR(err_of("[host a]\nuri = x\ninclude = nope.conf\n"),
              "t.conf:3: include nope.conf: No such file or directory");
    CHECK_STR(err_of("[host a]\nuri = x\ninclude = .\n"),
              "t.conf:3: include .: is a directory");
    CHECK_STR(err_of("[host a]\nuri = x\ninclude = \n"),
              "t.conf:3: include needs a file name");
    CHECK_STR(err_of("[host a]\nuri = x\ninclude = /dev/null\n"), "ok");
    memset(big, 'x', 4090);
    memcpy(big, "include = ", 10);
    CHECK_STR(err_of(big), "t.conf:1: include path too long");
    /* unreadable (root reads anything, so only checked as a user) */
    if (geteuid() != 0) {
        write_file("inc.conf", "[host b]\nuri = y\n");
        snprintf(name, sizeof(name), "%s/inc.conf", dir);
        chmod(name, 0);
        CHECK_STR(err_of("[host a]\nuri = x\ninclude = inc.conf\n"),
                  "t.conf:3: include inc.conf: Permission denied");
        chmod(name, 0600);
    }
    /* depth: d0 -> d1 -> ... ; the main file and 7 includes are fine */
    for (i = 0; i < 9; i++) {
        snprintf(name, sizeof(name), "d%d.conf", i);
        snprintf(text, sizeof(text), "include = d%d.conf\n", i + 1);
        write_file(name, text);
    }
    write_file("d7.conf", "[host a]\nuri = x\n");
    CHECK_STR(err_of_file("d0.conf"), "ok");
    write_file("d7.conf", "include = d8.conf\n");
    write_file("d8.conf", "[host a]\nuri = x\n");
    CHECK_STR(err_of_file("d0.conf"),
              "d7.conf:1: include nested too deeply at 'd8.conf'");
    /* the main file itself a directory */
    CHECK_STR(err_of_file(""), ": is a directory");

    /* lines: the longest allowed, one byte more, a huge one, a NUL */
    memset(big, 'x', sizeof(big));
    big[0] = '#';
    memcpy(big + 4095, tail, sizeof(tail));
    CHECK_STR(err_of(big), "ok");
    memmove(big + 1, big, 4095 + sizeof(tail));
    CHECK_STR(err_of(big),
              "t.conf:1: line too long (more than 4095 "
              "bytes)");
    memset(big, 'y', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    CHECK_STR(err_of(big),
              "t.conf:1: line too long (more than 4095 "
              "bytes)");
    write_bytes("t.conf", "[host a]\nuri = x\0junk\n", 22);
    CHECK_STR(err_of_file("t.conf"), "t.conf:2: NUL byte in line");
    write_bytes("t.conf", "[host a]\nuri = x", 16); /* no final \n */
    CHECK_STR(err_of_file("t.conf"), "ok");

    /* sections and values */
    CHECK_STR(err_of("[host]\nuri = x\n"),
              "t.conf:1: unknown section "
              "[host] (expected [ferryd], [libvirt] or [host NAME])");
    CHECK_STR(err_of("[ferryd\n"), "t.conf:1: bad section line '[ferryd'");
    CHECK_STR(err_of("[ferryd] x\n"),
              "t.conf:1: bad section line "
              "'[ferryd] x'");
    CHECK_STR(err_of("= x\n"), "t.conf:1: '' outside a section");
    CHECK_STR(err_of("[ferryd]\n= x\n"), "t.conf:2: unknown key ''");
    CHECK_STR(err_of("[ferryd]\nsocket =\n"), "t.conf:2: empty value");
    CHECK_STR(err_of("[ferryd]\nworkers =\n"),
              "t.conf:2: expected a whole number in 1..256");
    CHECK_STR(err_of("[ferryd]\nworkers = four\n"),
              "t.conf:2: expected a whole number in 1..256");
    CHECK_STR(err_of("[ferryd]\nworkers = 2x\n"),
              "t.conf:2: expected a whole number in 1..256");
    CHECK_STR(err_of("[ferryd]\nworkers = 99999999999999999999999\n"),
              "t.conf:2: expected a whole number in 1..256");
    CHECK_STR(err_of("[ferryd]\nworkers = -4294967295\n"),
              "t.conf:2: expected a whole number in 1..256");
    CHECK_STR(err_of("[libvirt]\nlive_migration_completion_timeout = "
                     "4294967296\n"),
              "t.conf:2: expected a whole number in 0..100000000");
    CHECK_STR(err_of("[ferryd]\nnode_name = a b\n"),
              "t.conf:2: node_name: 1 to 63 letters, digits, '.', '-' or "
              "'_'");
    CHECK_STR(
        err_of(
            "[ferryd]\nnode_name = "
            "abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcd"
            "\n"),
        "t.conf:2: node_name: 1 to 63 letters, digits, '.', '-' or "
        "'_'");
    CHECK_STR(
        err_of("[ferryd]\nnode_name = node-1.rack_2\n[host a]\nuri = x\n"),
        "ok");
    CHECK_STR(err_of("[ferryd]\nsocket_mode = 0999\n"),
              "t.conf:2: expected a whole number in 0..511");
    CHECK_STR(err_of("[ferryd]\nsocket_mode = 01777\n"),
              "t.conf:2: expected a whole number in 0..511");
    CHECK_STR(err_of("[host a]\nuri = x\nenabled =\n"),
              "t.conf:3: expected true or false, got ''");
    /* FastCGI peer lists: names or numbers; defaults root (+ ferryd's
     * uid) and the socket group */
    CHECK_STR(err_of("[ferryd]\nfastcgi_allow_uids = root, nosuchuser9\n"),
              "t.conf:2: no such user 'nosuchuser9'");
    CHECK_STR(err_of("[ferryd]\nfastcgi_allow_gids = nosuchgroup9\n"),
              "t.conf:2: no such group 'nosuchgroup9'");
    CHECK_STR(err_of("[ferryd]\nfastcgi_allow_uids = 1x\n"),
              "t.conf:2: bad id '1x'");
    CHECK_STR(err_of("[ferryd]\nfastcgi_allow_uids = 4294967295\n"),
              "t.conf:2: bad id '4294967295'");
    CHECK_STR(err_of("[ferryd]\nfastcgi_allow_gids = , ,\n"),
              "t.conf:2: empty value");
    CHECK_STR(err_of("[ferryd]\nsocket_group = nosuchgroup9\n"
                     "[host a]\nuri = x\n"),
              "t.conf: socket_group: no such group 'nosuchgroup9'");
    {
        struct conf *c = NULL;
        struct ferr e = { 0 };

        CHECK_INT(
            conf_load(
                write_file(
                    "t.conf",
                    "[ferryd]\n"
                    "fastcgi_allow_uids = root, 33 nobody\n"
                    "fastcgi_allow_gids = nogroup,7\n[host a]\nuri = x\n"),
                &c, &e),
            0);
        if (c != NULL) {
            CHECK_INT(c->fastcgi_allow_uids.n, 3);
            CHECK_INT(c->fastcgi_allow_uids.id[0], 0);
            CHECK_INT(c->fastcgi_allow_uids.id[1], 33);
            CHECK_INT(c->fastcgi_allow_uids.id[2], 65534);
            CHECK_INT(c->fastcgi_allow_gids.n, 2);
            CHECK_INT(c->fastcgi_allow_gids.id[0], 65534);
            CHECK_INT(c->fastcgi_allow_gids.id[1], 7);
            conf_free(c);
            c = NULL;
        }
        CHECK_INT(
            conf_load(write_file("t.conf",
                                 "[ferryd]\n"
                                 "socket_group = daemon\n[host a]\nuri = x\n"),
                      &c, &e),
            0);
        if (c != NULL) {
            CHECK_INT(c->fastcgi_allow_uids.n, geteuid() == 0 ? 1 : 2);
            CHECK_INT(c->fastcgi_allow_uids.id[0], 0);
            CHECK_INT(c->fastcgi_allow_gids.n, 1);
            CHECK_INT(c->fastcgi_allow_gids.id[0], 1);
            conf_free(c);
        }
        ferr_clear(&e);
    }
    CHECK_STR(err_of("[ferryd]\nlog_level =\n"),
              "t.conf:2: log_level must be info or debug, got ''");
}

int main(void)
{
    struct conf *c = NULL;
    struct ferr e = { 0 };
    const char *p;

    if (mkdtemp(dir) == NULL) {
        return 1;
    }
    write_file("hosts.conf",
               "[host b]\nuri = test:///default\n"
               "enabled = no\n");
    p = write_file("t.conf",
                   "# comment\n[ferryd]\nsocket = /tmp/x.sock\n"
                   "workers = 3\n  socket_mode = 0600  \n"
                   "[libvirt]\nlive_migration_bandwidth = 40\n"
                   "[host a]\nuri = test:///default\n"
                   "migration_address = 10.0.0.1\ninclude = hosts.conf\n");
    CHECK_INT(conf_load(p, &c, &e), 0);
    if (c != NULL) {
        CHECK_STR(c->socket, "/tmp/x.sock");
        CHECK_INT(c->workers, 3);
        CHECK_INT(c->socket_mode, 0600);
        CHECK_INT(c->live_migration_bandwidth, 40);
        CHECK_INT(c->runners, 2);
        CHECK_INT(c->live_migration_downtime, 500);
        CHECK_INT(c->live_migration_completion_timeout, 800);
        CHECK_INT(c->max_concurrent_live_migrations, 1);
        CHECK_INT(c->precheck_timeout, 30);
        CHECK_INT(c->live_migration_convergence, CONVERGE_TIMEOUT);
        CHECK_INT(c->storage_probe_cache, 300);
        CHECK_STR(c->store, "/var/lib/ferry/ferry.db");
        {
            char host[256] = "";

            gethostname(host, sizeof(host) - 1);
            host[strcspn(host, ".")] = '\0';
            CHECK(host[0] == '\0' || strcmp(c->node_name, host) == 0);
            CHECK(c->node_name[0] != '\0');
        }
        CHECK_INT(c->nhosts, 2);
        CHECK_STR(c->hosts[0].name, "a");
        CHECK_INT(c->hosts[0].enabled, 1);
        CHECK_STR(c->hosts[0].migration_address, "10.0.0.1");
        CHECK_STR(c->hosts[1].name, "b");
        CHECK_INT(c->hosts[1].enabled, 0);
        CHECK(conf_host_find(c, "b") == &c->hosts[1]);
        CHECK(conf_host_find(c, "B") == NULL);
        conf_free(c);
    }

    CHECK_STR(err_of("[ferryd]\nworkers = 0\n[host a]\nuri = x\n"),
              "t.conf:2: expected a whole number in 1..256");
    CHECK_STR(err_of("[ferryd]\nwrokers = 2\n"),
              "t.conf:2: unknown key 'wrokers'");
    CHECK_STR(err_of("workers = 2\n"),
              "t.conf:1: 'workers' outside a "
              "section");
    CHECK_STR(err_of("[host a]\nuri = x\n[host a]\nuri = y\n"),
              "t.conf:3: host 'a' defined twice");
    CHECK_STR(err_of("[host bad name!]\n"),
              "t.conf:1: bad host name "
              "'bad name!' (1-255 of a-z A-Z 0-9 - . _)");
    CHECK_STR(err_of("[host a]\nmigration_address = 1.2.3.4\n"),
              "t.conf:2: [host a] has no uri");
    CHECK_STR(err_of("[host a]\nuri = x\nenabled = maybe\n"),
              "t.conf:3: expected true or false, got 'maybe'");
    CHECK_STR(err_of("[libvirt]\nlive_migration_timeout_action = wait\n"),
              "t.conf:2: expected abort or force_complete, got 'wait'");
    CHECK_STR(err_of("[libvirt]\nlive_migration_convergence = guess\n"),
              "t.conf:2: expected timeout or predict, got 'guess'");
    CHECK_STR(err_of("[libvirt]\nlive_migration_convergence = predict\n"
                     "[host a]\nuri = x\n"),
              "ok");
    CHECK_STR(err_of("[libvirt]\nlive_migration_downtime = 50\n"),
              "t.conf:2: expected a whole number in 100..1000000");
    CHECK_STR(err_of("[ferryd]\ninventory_resync_interval = 0\n"),
              "t.conf:2: expected a whole number in 1..86400");
    CHECK_STR(err_of("[ferryd]\ninventory_resync_interval = 5\n"
                     "[host a]\nuri = x\n"),
              "ok");
    CHECK_STR(err_of("[ferryd]\nprecheck_timeout = 0\n"),
              "t.conf:2: expected a whole number in 1..3600");
    CHECK_STR(err_of("[ferryd]\nprecheck_timeout = 3601\n"),
              "t.conf:2: expected a whole number in 1..3600");
    CHECK_STR(err_of("[ferryd]\nprecheck_timeout = 5\n[host a]\nuri = x\n"),
              "ok");
    CHECK_STR(err_of("[ferryd]\nstorage_probe_cache = 86401\n"),
              "t.conf:2: expected a whole number in 0..86400");
    CHECK_STR(err_of("[ferryd]\nstorage_probe_cache = 0\n[host a]\nuri = x\n"),
              "ok");
    CHECK_STR(err_of("[ferryd]\nno equals sign\n"),
              "t.conf:2: expected 'key = value', got 'no equals sign'");
    CHECK_STR(err_of("[nova]\n"),
              "t.conf:1: unknown section [nova] "
              "(expected [ferryd], [libvirt] or [host NAME])");
    CHECK_STR(err_of("[ferryd]\nworkers = 2\n"),
              "t.conf: no [host NAME] "
              "section");
    p = err_of("[host a]\nuri = x\ninclude = missing.conf\n");
    CHECK_STR(p,
              "t.conf:3: include missing.conf: No such file or "
              "directory");
    ferr_clear(&e);
    CHECK(conf_load("/nonexistent/ferry.conf", &c, &e) < 0);
    CHECK_STR(ferr_msg(&e),
              "/nonexistent/ferry.conf: No such file or "
              "directory");
    ferr_clear(&e);
    test_include_and_bad_input();
    {
        static const char *const files[] = {
            "t.conf",  "hosts.conf", "inc.conf", "d0.conf",
            "d1.conf", "d2.conf",    "d3.conf",  "d4.conf",
            "d5.conf", "d6.conf",    "d7.conf",  "d8.conf",
        };
        size_t i;

        for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
            unlink(write_file(files[i], ""));
        }
    }
    rmdir(dir);
    return unit_done("test_conf");
}
