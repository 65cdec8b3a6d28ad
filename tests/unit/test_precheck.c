/*
 * test_precheck.c: the CPU pre-check of spec §8.4 (Nova's _compare_cpu):
 * every branch of the decision, and the libvirt call on libvirt's test
 * driver, in memory.
 */
#include <stdlib.h>
#include <unistd.h>
#include <libvirt/libvirt.h>
#include "unit.h"
#include "ferry/precheck.h"

#define REFUSED                                              \
    "Migration pre-check error: Unacceptable CPU info: CPU " \
    "doesn't have compatibility.\n\n%s\n\nRefer to "         \
    "http://libvirt.org/html/libvirt-libvirt-host.html#"     \
    "virCPUCompareResult"

static void verdict(int result, int code, const char *msg, const char *want_ret)
{
    struct vcpu_cmp c = { result, code, msg };
    struct ferr e = { 0 };
    char want[512];
    int rc = precheck_cpu_verdict(&c, &e);

    if (want_ret == NULL) {
        CHECK_INT(rc, 0);
        CHECK_STR(ferr_msg(&e), "");
    } else {
        snprintf(want, sizeof(want), REFUSED, want_ret);
        CHECK_INT(rc, -FE_BADREQ);
        CHECK_INT(e.code, FE_BADREQ);
        CHECK_STR(ferr_msg(&e), want);
    }
    ferr_clear(&e);
}

/* Which CPU is compared (virt_guest_cpu): none for a domain that is not
 * kvm; a kvm domain's own <cpu> when it names a model; else the source
 * host's CPU from its capabilities, as Nova's LibvirtConfigCPU. */
static void guest_cpu(struct vconn *c, struct arena *a)
{
    static const char with_model[] =
        "<domain type='kvm'><name>k-model</name>"
        "<uuid>11111111-2222-3333-4444-555555555555</uuid>"
        "<memory>65536</memory><os><type arch='x86_64'>hvm</type></os>"
        "<cpu mode='custom' match='exact'><model>qemu64</model>"
        "<feature policy='require' name='sse4.2'/></cpu></domain>";
    static const char without[] =
        "<domain type='kvm'><name>k-plain</name>"
        "<uuid>11111111-2222-3333-4444-666666666666</uuid>"
        "<memory>65536</memory><os><type arch='x86_64'>hvm</type></os>"
        "</domain>";
    virConnectPtr lv = virConnectOpen("test:///default");
    virDomainPtr d1, d2;
    struct ferr e = { 0 };
    const char *xml = "x";

    CHECK(lv != NULL);
    if (lv == NULL) {
        return;
    }
    /* the test driver's own domain is of type "test": not compared */
    CHECK_INT(
        virt_guest_cpu(c, "6695eb01-f6a4-8304-79aa-97f2502e193f", a, &xml, &e),
        0);
    CHECK(xml == NULL);
    d1 = virDomainDefineXML(lv, with_model);
    d2 = virDomainDefineXML(lv, without);
    CHECK(d1 != NULL && d2 != NULL);
    CHECK_INT(
        virt_guest_cpu(c, "11111111-2222-3333-4444-555555555555", a, &xml, &e),
        0);
    CHECK(xml != NULL && strncmp(xml, "<cpu mode=\"custom\"", 18) == 0
          && strstr(xml, "<model fallback=\"allow\">qemu64</model>")
          && strstr(xml, "name=\"sse4.2\""));
    CHECK_INT(
        virt_guest_cpu(c, "11111111-2222-3333-4444-666666666666", a, &xml, &e),
        0);
    CHECK(xml != NULL && strncmp(xml, "<cpu><arch>", 11) == 0
          && strstr(xml, "</cpu>") != NULL);
    printf("host CPU compared for a kvm guest without a model: %s\n",
           xml ? xml : "(null)");
    CHECK_STR(ferr_msg(&e), "");
    if (d1 != NULL) {
        virDomainUndefine(d1);
        virDomainFree(d1);
    }
    if (d2 != NULL) {
        virDomainUndefine(d2);
        virDomainFree(d2);
    }
    virConnectClose(lv);
}

/* The scheduler's pick among hosts with the same memory (test:// hosts
 * all report the same): the first in the configuration, whatever order
 * qsort leaves equals in; a named host only; the memory rule. */
static void cold_dest(struct arena *a)
{
    char dir[] = "/tmp/ferry-test-precheck-XXXXXX", path[128], uri[160];
    struct conf_host hosts[] = {
        { "a", uri, NULL, 1 }, { "b", uri, NULL, 0 }, { "c", uri, NULL, 1 },
        { "d", uri, NULL, 1 }, { "e", uri, NULL, 1 },
    };
    struct precheck_req rq;
    struct conf conf;
    struct inventory *inv = NULL;
    const struct conf_host *h;
    struct ferr e = { 0 };

    /* an 8 GiB node without guests: every host the same */
    if (unit_node(dir, path, sizeof(path), uri, sizeof(uri)) < 0) {
        return;
    }
    memset(&conf, 0, sizeof(conf));
    conf.hosts = hosts;
    conf.nhosts = ARRAY_LEN(hosts);
    CHECK_INT(inventory_open(&conf, &inv, &e), 0);
    memset(&rq, 0, sizeof(rq));
    rq.uuid = "6695eb01-f6a4-8304-79aa-97f2502e193f";
    rq.source = "a";
    rq.ram_mb = 512;
    rq.cold = 1;
    h = precheck_cold_dest(inv, a, &rq, &e);
    CHECK_STR(h ? h->name : "(none)", "c"); /* b is disabled */
    rq.host = "b";                          /* named: taken even disabled */
    h = precheck_cold_dest(inv, a, &rq, &e);
    CHECK_STR(h ? h->name : "(none)", "b");
    rq.host = NULL;
    rq.ram_mb = 1LL << 40; /* no room anywhere */
    CHECK(precheck_cold_dest(inv, a, &rq, &e) == NULL);
    CHECK_INT(e.code, FE_BADREQ);
    ferr_clear(&e);
    inventory_close(inv);
    unlink(path);
    rmdir(dir);
}

/* Reasons collected by precheck_reasons, "\n"-joined. */
static void collect(void *ctx, const char *reason)
{
    struct sbuf *b = ctx;

    sbuf_printf(b, "%s%s", b->len ? "\n" : "", reason);
}

/* A host a drain disabled: never scheduled, not even named for a cold
 * migration; a plan's reasons all at once, not only the first. */
static void drained_and_reasons(struct arena *a)
{
    char dir[] = "/tmp/ferry-test-precheck-XXXXXX", path[128], uri[160];
    struct conf_host hosts[] = {
        { "a", uri, NULL, 1 },
        { "b", uri, NULL, 0 },
        { "c", uri, NULL, 1 },
        { "d", uri, NULL, 1 },
    };
    static const char *const drained[] = { "b", "c" };
    struct precheck_req rq;
    struct conf conf;
    struct inventory *inv = NULL;
    const struct conf_host *h;
    struct ferr e = { 0 };
    struct sbuf b;
    double avail = 0;

    if (unit_node(dir, path, sizeof(path), uri, sizeof(uri)) < 0) {
        return;
    }
    memset(&conf, 0, sizeof(conf));
    conf.hosts = hosts;
    conf.nhosts = ARRAY_LEN(hosts);
    CHECK_INT(inventory_open(&conf, &inv, &e), 0);
    memset(&rq, 0, sizeof(rq));
    rq.uuid = "6695eb01-f6a4-8304-79aa-97f2502e193f";
    rq.source = "a";
    rq.ram_mb = 512;
    rq.cold = 1;
    rq.drained = drained;
    rq.ndrained = ARRAY_LEN(drained);
    h = precheck_cold_dest(inv, a, &rq, &e);
    CHECK_STR(h ? h->name : "(none)", "d"); /* c is drained */
    rq.host = "b"; /* named: a disabled host is taken, a drained one not */
    CHECK(precheck_cold_dest(inv, a, &rq, &e) == NULL);
    CHECK_INT(e.code, FE_BADREQ);
    ferr_clear(&e);
    rq.host = NULL;

    /* every reason against b: disabled, drained, no memory */
    rq.ram_mb = 1LL << 40;
    sbuf_init(&b);
    CHECK_INT(precheck_reasons(inv, a, &rq, "b", 0, collect, &b, &avail), 3);
    CHECK(b.buf != NULL
          && strstr(b.buf, "Compute host b is disabled.\n") != NULL);
    CHECK(b.buf != NULL
          && strstr(b.buf, "Compute host b is disabled by a drain") != NULL);
    CHECK(b.buf != NULL && strstr(b.buf, "Lack of memory") != NULL);
    sbuf_free(&b);
    /* d fits, less what the plan put there already */
    rq.ram_mb = 512;
    sbuf_init(&b);
    CHECK_INT(precheck_reasons(inv, a, &rq, "d", 0, collect, &b, &avail), 0);
    CHECK_INT(b.len, 0);
    CHECK_INT(precheck_reasons(inv, a, &rq, "d", (int64_t) avail, collect, &b,
                               &avail),
              1);
    sbuf_free(&b);
    /* the source itself and an unknown host */
    sbuf_init(&b);
    CHECK_INT(precheck_reasons(inv, a, &rq, "a", 0, collect, &b, &avail), 1);
    CHECK(b.buf != NULL && strstr(b.buf, "to current host (a)") != NULL);
    CHECK_INT(precheck_reasons(inv, a, &rq, "zz", 0, collect, &b, &avail), 1);
    CHECK(b.buf != NULL
          && strstr(b.buf, "Compute host zz could not be found.") != NULL);
    sbuf_free(&b);
    inventory_close(inv);
    unlink(path);
    rmdir(dir);
}

int main(void)
{
    /* a minimal x86 CPU, as Nova builds it from the source host */
    static const char cpu[] =
        "<cpu><arch>x86_64</arch><model>qemu64</model></cpu>";
    struct vconn *c = NULL;
    struct ferr e = { 0 };
    struct vcpu_cmp r;
    struct arena a;
    int64_t avail, over;

    /* virCPUCompareResult: IDENTICAL 1, SUPERSET 2 pass */
    verdict(1, 0, NULL, NULL);
    verdict(2, 0, NULL, NULL);
    /* INCOMPATIBLE 0 and ERROR -1 refuse with the number */
    verdict(0, 0, NULL, "0");
    verdict(-1, 0, NULL, "-1");
    /* "not supported" skips the check */
    verdict(-1, VIRT_ERR_NO_SUPPORT, "this function is not supported", NULL);
    /* any other libvirt error refuses with libvirt's message */
    verdict(-1, 27, "XML error: Missing CPU model name",
            "XML error: Missing CPU model name");

    /* the libvirt call, on the test driver: whatever it answers is
     * recorded, never a crash; the verdict follows from it */
    arena_init(&a, 4096);
    virt_init();
    CHECK_INT(virt_connect("test:///default", &c, &e), 0);
    if (c != NULL) {
        virt_cpu_compare(c, cpu, &a, &r);
        CHECK(r.result >= -1 && r.result <= 2);
        CHECK((r.lv_code != 0) == (r.lv_msg != NULL));
        CHECK((r.lv_code != 0) == (r.result == -1));
        printf("test:///default compares: result %d, code %d (%s)\n", r.result,
               r.lv_code, r.lv_msg ? r.lv_msg : "");
        if (r.lv_code == VIRT_ERR_NO_SUPPORT) {
            /* the test driver cannot compare CPUs: the check is skipped */
            CHECK_INT(precheck_cpu_verdict(&r, &e), 0);
        }
        guest_cpu(c, &a);
        /* free space: the existing pool of the directory (the test
         * driver's default-pool has 100 GiB available); its domain has
         * no file disk, so nothing is over-committed */
        CHECK_INT(virt_disk_space(c, "/default-pool", &a, &avail, &over, &e),
                  0);
        CHECK_INT(avail, 100LL << 30);
        CHECK_INT(over, 0);
        CHECK_STR(ferr_msg(&e), "");
        virt_cpu_compare(c, "<cpu><bogus/>", &a, &r);
        CHECK_INT(r.result, -1);
        CHECK(r.lv_code != 0 && r.lv_msg != NULL);
        virt_close(c);
    }
    cold_dest(&a);
    drained_and_reasons(&a);
    arena_free(&a);
    return unit_done("test_precheck");
}
