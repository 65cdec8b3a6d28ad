/* test_virt.c: what virt.c writes into libvirt XML from a domain's XML
 * (disk paths, formats) is escaped, never markup (libvirt's test driver,
 * in memory). */
#include <stdlib.h>
#include <libvirt/libvirt.h>
#include "unit.h"
#include "ferry/virt.h"

int main(void)
{
    static const char dir[] =
        "/ferry-test/x</path><target><path>/etc</path></target>&'\"";
    static const char dir_xml[] = /* dir, as libvirt writes it */
        "<pool type='dir'><name>hostile</name><target><path>/ferry-test/x"
        "&lt;/path&gt;&lt;target&gt;&lt;path&gt;/etc&lt;/path&gt;&lt;"
        "/target&gt;&amp;&apos;&quot;</path></target></pool>";
    static const char path[] =
        "/ferry-test/x</path><target><path>/etc</path></target>&'\"/"
        "d<i>sk'.img";
    struct vconn *c = NULL;
    struct ferr e = { 0 };
    struct vdisk d = { path, "vda", "raw", 1 << 20, 0 };
    virConnectPtr lv;
    virStoragePoolPtr pool;
    virStorageVolPtr v;
    char *got, words[64], tiny[8];

    /* migration flags as words in the log, never a bare number */
    CHECK_STR(
        virt_migrate_flags_str(VMIG_LIVE | VMIG_PEER2PEER | VMIG_NON_SHARED_INC,
                               words, sizeof(words)),
        "live+p2p+copy-storage-inc");
    CHECK_STR(virt_migrate_flags_str(0, words, sizeof(words)), "");
    CHECK_STR(
        virt_migrate_flags_str(VMIG_LIVE | VMIG_POSTCOPY, tiny, sizeof(tiny)),
        "live+po");
    virt_init();
    CHECK_INT(virt_connect("test:///default", &c, &e), 0);
    lv = virConnectOpen("test:///default"); /* the same driver state */
    CHECK(lv != NULL);
    if (c == NULL || lv == NULL) {
        return unit_done("test_virt");
    }
    /* a transient pool for the directory (the shared-storage check): its
     * XML holds the directory as text */
    CHECK_INT(virt_dir_shared(c, c, dir, &e), 1);
    CHECK_STR(ferr_msg(&e), "");
    ferr_clear(&e);
    /* an existing pool is recognised by its exact path, and the volume
     * gets the file name verbatim (the test driver cannot build a pool,
     * so virt_disk_create needs one to exist) */
    pool = virStoragePoolCreateXML(lv, dir_xml, 0);
    CHECK(pool != NULL);
    CHECK_INT(virt_disk_create(c, &d, &e), 0);
    CHECK_STR(ferr_msg(&e), "");
    v = virStorageVolLookupByPath(lv, path);
    CHECK(v != NULL);
    if (v != NULL) {
        got = virStorageVolGetPath(v);
        CHECK_STR(got, path);
        free(got);
        virStorageVolFree(v);
    }
    /* a format that would close the element and add markup is just an
     * unknown format to libvirt */
    ferr_clear(&e);
    d.path = "/ferry-test/x</path><target><path>/etc</path></target>&'\"/"
             "y.img";
    d.format = "raw'/><x a='";
    CHECK(virt_disk_create(c, &d, &e) < 0);
    CHECK(virStorageVolLookupByPath(lv, d.path) == NULL);
    ferr_clear(&e);
    if (pool != NULL) {
        virStoragePoolDestroy(pool);
        virStoragePoolFree(pool);
    }
    virConnectClose(lv);
    virt_close(c);
    return unit_done("test_virt");
}
