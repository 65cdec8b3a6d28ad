/*
 * test_sharecache.c: the storage probe's kept answers (sharecache.h):
 * lifetime, the unordered pair, forgetting a pair, the bound on the
 * table; and the probe through the cache on libvirt's test driver, where
 * a kept answer is returned without asking libvirt.
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include "unit.h"
#include "ferry/sharecache.h"

#define S 1000000LL /* µs */

static void table(void)
{
    char h[32];
    int i;

    CHECK_INT(sharecache_get("a", "b", "/d", 0, 300 * S), -1);
    CHECK_INT(sharecache_put("a", "b", "/d", 1, 10 * S), 0);
    CHECK_INT(sharecache_put("a", "b", "/local", 0, 10 * S), 0);
    CHECK_INT(sharecache_get("a", "b", "/d", 11 * S, 300 * S), 1);
    CHECK_INT(sharecache_get("b", "a", "/d", 11 * S, 300 * S), 1); /* mutual */
    CHECK_INT(sharecache_get("a", "b", "/local", 11 * S, 300 * S), 0);
    CHECK_INT(sharecache_get("a", "c", "/d", 11 * S, 300 * S), -1);
    CHECK_INT(sharecache_get("a", "b", "/e", 11 * S, 300 * S), -1);
    /* too old, a clock that went back, caching off */
    CHECK_INT(sharecache_get("a", "b", "/d", 310 * S, 300 * S), -1);
    CHECK_INT(sharecache_get("a", "b", "/d", 9 * S, 300 * S), -1);
    CHECK_INT(sharecache_get("a", "b", "/d", 11 * S, 0), -1);
    /* a new answer replaces the old one, and is as young as it */
    CHECK_INT(sharecache_put("b", "a", "/d", 0, 400 * S), 0);
    CHECK_INT(sharecache_get("a", "b", "/d", 410 * S, 300 * S), 0);
    /* forgetting a pair (either order) leaves the others */
    CHECK_INT(sharecache_put("a", "c", "/d", 1, 400 * S), 0);
    sharecache_forget("b", "a");
    CHECK_INT(sharecache_get("a", "b", "/d", 410 * S, 300 * S), -1);
    CHECK_INT(sharecache_get("a", "b", "/local", 11 * S, 300 * S), -1);
    CHECK_INT(sharecache_get("a", "c", "/d", 410 * S, 300 * S), 1);
    /* bounded: past SHARECACHE_MAX the oldest answers go, the new stay */
    for (i = 0; i < SHARECACHE_MAX + 10; i++) {
        snprintf(h, sizeof(h), "h%d", i);
        CHECK_INT(sharecache_put("x", h, "/d", 1, (1000 + i) * S), 0);
    }
    CHECK_INT(sharecache_get("a", "c", "/d", 1000 * S, 100000 * S), -1);
    CHECK_INT(sharecache_get("x", "h0", "/d", 2000 * S, 100000 * S), -1);
    snprintf(h, sizeof(h), "h%d", SHARECACHE_MAX + 9);
    CHECK_INT(sharecache_get("x", h, "/d", 2000 * S, 100000 * S), 1);
    snprintf(h, sizeof(h), "h%d", 10);
    CHECK_INT(sharecache_get("x", h, "/d", 2000 * S, 100000 * S), 1);
    sharecache_clear();
    CHECK_INT(sharecache_get("x", h, "/d", 2000 * S, 100000 * S), -1);
}

/* The test driver: test:///default is one state for all its connections
 * (a marker made through one is seen through the other: shared); a
 * test://FILE connection has a state of its own (not shared). */
static void probe(void)
{
    char dir[] = "/tmp/ferry-test-sharecache-XXXXXX", path[128], uri[160];
    struct vconn *c1 = NULL, *c2 = NULL, *own = NULL;
    struct ferr e = { 0 };

    if (unit_node(dir, path, sizeof(path), uri, sizeof(uri)) < 0) {
        return;
    }
    virt_init();
    CHECK_INT(virt_connect("test:///default", &c1, &e), 0);
    CHECK_INT(virt_connect("test:///default", &c2, &e), 0);
    CHECK_INT(virt_connect(uri, &own, &e), 0);
    if (c1 == NULL || c2 == NULL || own == NULL) {
        return;
    }
    /* the probe itself, not kept (0 s) */
    CHECK_INT(sharecache_dir_shared(c1, c2, "a", "b", "/srv/i", 0, &e), 1);
    CHECK_INT(sharecache_dir_shared(c1, own, "a", "b", "/srv/i", 0, &e), 0);
    CHECK_INT(sharecache_get("a", "b", "/srv/i", time_now_us(), 300 * S), -1);
    /* kept: the same pair answers "shared" without asking libvirt, even
     * through connections whose probe says otherwise */
    CHECK_INT(sharecache_dir_shared(c1, c2, "a", "b", "/srv/i", 300, &e), 1);
    CHECK_INT(sharecache_get("b", "a", "/srv/i", time_now_us(), 300 * S), 1);
    CHECK_INT(sharecache_dir_shared(c1, own, "a", "b", "/srv/i", 300, &e), 1);
    CHECK_INT(sharecache_dir_shared(own, c1, "b", "a", "/srv/i", 300, &e), 1);
    /* once forgotten, probed again */
    sharecache_forget("a", "b");
    CHECK_INT(sharecache_dir_shared(c1, own, "a", "b", "/srv/i", 300, &e), 0);
    CHECK_INT(sharecache_get("a", "b", "/srv/i", time_now_us(), 300 * S), 0);
    CHECK_STR(ferr_msg(&e), "");
    ferr_clear(&e);
    sharecache_clear();
    virt_close(own);
    virt_close(c2);
    virt_close(c1);
    unlink(path);
    rmdir(dir);
}

int main(void)
{
    table();
    probe();
    return unit_done("test_sharecache");
}
