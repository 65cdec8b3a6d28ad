/* test_conf.c: ferry.conf parsing, defaults, includes and every error
 * naming file:line. */
#include <stdlib.h>
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

/* The error message of loading text, or "ok". */
static const char *err_of(const char *text)
{
    static struct ferr e;
    struct conf *c = NULL;
    const char *p = write_file("t.conf", text);

    ferr_clear(&e);
    if (conf_load(p, &c, &e) == 0) {
        conf_free(c);
        return "ok";
    }
    /* strip the directory for stable comparisons */
    return strstr(ferr_msg(&e), "t.conf") ? strstr(ferr_msg(&e), "t.conf")
                                          : ferr_msg(&e);
}

int main(void)
{
    struct conf *c = NULL;
    struct ferr e = { 0 };
    const char *p;

    if (mkdtemp(dir) == NULL) {
        return 1;
    }
    write_file("hosts.conf", "[host b]\nuri = test:///default\n"
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
        CHECK_STR(c->store, "/var/lib/ferry/ferry.db");
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
    CHECK_STR(err_of("workers = 2\n"), "t.conf:1: 'workers' outside a "
              "section");
    CHECK_STR(err_of("[host a]\nuri = x\n[host a]\nuri = y\n"),
              "t.conf:3: host 'a' defined twice");
    CHECK_STR(err_of("[host bad name!]\n"), "t.conf:1: bad host name "
              "'bad name!' (1-255 of a-z A-Z 0-9 - . _)");
    CHECK_STR(err_of("[host a]\nmigration_address = 1.2.3.4\n"),
              "t.conf:2: [host a] has no uri");
    CHECK_STR(err_of("[host a]\nuri = x\nenabled = maybe\n"),
              "t.conf:3: expected true or false, got 'maybe'");
    CHECK_STR(err_of("[libvirt]\nlive_migration_timeout_action = wait\n"),
              "t.conf:2: expected abort or force_complete, got 'wait'");
    CHECK_STR(err_of("[libvirt]\nlive_migration_downtime = 50\n"),
              "t.conf:2: expected a whole number in 100..1000000");
    CHECK_STR(err_of("[ferryd]\nno equals sign\n"),
              "t.conf:2: expected 'key = value', got 'no equals sign'");
    CHECK_STR(err_of("[nova]\n"), "t.conf:1: unknown section [nova] "
              "(expected [ferryd], [libvirt] or [host NAME])");
    CHECK_STR(err_of("[ferryd]\nworkers = 2\n"), "t.conf: no [host NAME] "
              "section");
    p = err_of("[host a]\nuri = x\ninclude = missing.conf\n");
    CHECK(strncmp(p, "t.conf:3: include /", 19) == 0);
    CHECK(strstr(p, "/missing.conf: No such file or directory") != NULL);
    ferr_clear(&e);
    CHECK(conf_load("/nonexistent/ferry.conf", &c, &e) < 0);
    CHECK_STR(ferr_msg(&e), "/nonexistent/ferry.conf: No such file or "
              "directory");
    ferr_clear(&e);
    unlink(write_file("t.conf", ""));
    unlink(write_file("hosts.conf", ""));
    rmdir(dir);
    return unit_done("test_conf");
}
