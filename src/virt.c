/*
 * virt.c: every libvirt call ferry makes, and the reading of domain XML
 * (libxml2 XPath) into struct server.  Nothing outside this file includes
 * libvirt.h or libxml2.  libvirt's default error printing is turned off;
 * each failure is reported once into struct ferr.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <libxml/parser.h>
#include <libxml/xpath.h>
#include <libxml/xpathInternals.h>
#include "ferry/virt.h"

struct vconn {
    virConnectPtr conn;
    char *uri;
    char *hostname;
    /* virt_watch_domains: its callback ids (-1 none) and the watcher */
    int watch_ids[3];
    int close_cb;
    struct dwatch *dw;
};

/* What the event callbacks of a connection call.  libvirt may still be
 * running a callback when it is deregistered, so this lives until the
 * last of its users (each registration, through libvirt's freecb, and
 * the connection) lets it go. */
struct dwatch {
    virt_domain_fn on_domain;
    virt_closed_fn on_close;
    void *opaque;
    int refs;
};

static void dwatch_unref(void *opaque)
{
    struct dwatch *w = opaque;

    if (__atomic_sub_fetch(&w->refs, 1, __ATOMIC_ACQ_REL) == 0) {
        free(w);
    }
}

static void quiet(void *ud, virErrorPtr e)
{
    (void) ud;
    (void) e;
}

static void init_once(void)
{
    virInitialize();
    virSetErrorFunc(NULL, quiet);
    xmlInitParser();
}

/* Only in a process that speaks to libvirt (virt_connect,
 * virt_events_start): virInitialize initializes curl, libssh2 and
 * OpenSSL, ~2 MB of a process's RSS. */
void virt_init(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;

    pthread_once(&once, init_once);
}

static int lv_err(struct ferr *err, int code, const char *what)
{
    virErrorPtr e = virGetLastError();

    return ferr_set(err, code, "%s: %s", what,
                    e && e->message ? e->message : "unknown libvirt error");
}

int virt_connect(const char *uri, struct vconn **out, struct ferr *err)
{
    struct vconn *c;
    virConnectPtr conn;

    virt_init();
    conn = virConnectOpen(uri);
    if (conn == NULL) {
        return lv_err(err, FE_UNAVAILABLE, uri);
    }
    c = calloc(1, sizeof(*c));
    if (c == NULL) {
        virConnectClose(conn);
        return ferr_set(err, FE_NOMEM, "out of memory");
    }
    c->conn = conn;
    c->uri = strdup(uri);
    c->watch_ids[0] = c->watch_ids[1] = c->watch_ids[2] = -1;
    if (c->uri == NULL) {
        virt_close(c);
        return ferr_set(err, FE_NOMEM, "out of memory");
    }
    *out = c;
    return 0;
}

void virt_close(struct vconn *c)
{
    if (c == NULL) {
        return;
    }
    virt_unwatch_domains(c);
    virConnectClose(c->conn);
    free(c->uri);
    free(c->hostname);
    free(c);
}

int virt_alive(struct vconn *c)
{
    return c != NULL && virConnectIsAlive(c->conn) == 1;
}

const char *virt_hostname(struct vconn *c)
{
    if (c->hostname == NULL) {
        c->hostname = virConnectGetHostname(c->conn);
    }
    return c->hostname;
}

/* libvirt domain state -> Nova power_state and vm_state (spec §1.5). */
struct state_row {
    int lv;
    enum power_state power;
    const char *vm;
};

static const struct state_row states[] = {
    { VIR_DOMAIN_NOSTATE, POWER_NOSTATE, "active" },
    { VIR_DOMAIN_RUNNING, POWER_RUNNING, "active" },
    { VIR_DOMAIN_BLOCKED, POWER_RUNNING, "active" },
    { VIR_DOMAIN_PAUSED, POWER_PAUSED, "paused" },
    { VIR_DOMAIN_SHUTDOWN, POWER_SHUTDOWN, "stopped" },
    { VIR_DOMAIN_SHUTOFF, POWER_SHUTDOWN, "stopped" },
    { VIR_DOMAIN_CRASHED, POWER_CRASHED, "error" },
    { VIR_DOMAIN_PMSUSPENDED, POWER_SUSPENDED, "suspended" },
};

static int64_t parse_time(const char *s)
{
    struct tm tm;
    const char *end;

    if (s == NULL || *s == '\0') {
        return 0;
    }
    memset(&tm, 0, sizeof(tm));
    end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
    if (end == NULL) {
        return 0;
    }
    return (int64_t) timegm(&tm);
}

struct xq {
    xmlDocPtr doc;
    xmlXPathContextPtr ctx;
    struct arena *a;
};

/* The text of the first node of expr, from the arena, or NULL. */
static const char *xtext(struct xq *q, const char *expr)
{
    xmlXPathObjectPtr o = xmlXPathEvalExpression(BAD_CAST expr, q->ctx);
    const char *out = NULL;

    if (o != NULL && o->nodesetval != NULL && o->nodesetval->nodeNr > 0) {
        xmlChar *t = xmlNodeGetContent(o->nodesetval->nodeTab[0]);

        if (t != NULL) {
            out = arena_strdup(q->a, (const char *) t);
            xmlFree(t);
        }
    }
    xmlXPathFreeObject(o);
    return out;
}

static int xcount(struct xq *q, const char *expr)
{
    xmlXPathObjectPtr o = xmlXPathEvalExpression(BAD_CAST expr, q->ctx);
    int n = 0;

    if (o != NULL && o->nodesetval != NULL) {
        n = o->nodesetval->nodeNr;
    }
    xmlXPathFreeObject(o);
    return n;
}

static int64_t xint(struct xq *q, const char *expr, int64_t dflt)
{
    const char *t = xtext(q, expr);

    return t && *t ? strtoll(t, NULL, 10) : dflt;
}

static void read_meta(struct xq *q, struct server *s)
{
    xmlXPathObjectPtr o;
    const char *t;
    int i;

    s->has_metadata = xcount(q, "/domain/metadata/f:instance") > 0;
    if (!s->has_metadata) {
        return;
    }
#define M(x) "/domain/metadata/f:instance/f:" x
    if ((t = xtext(q, M("name"))) != NULL) {
        s->name = t;
    }
    if ((t = xtext(q, M("project"))) != NULL) {
        s->project_id = t;
    }
    if ((t = xtext(q, M("user"))) != NULL) {
        s->user_id = t;
    }
    s->created = parse_time(xtext(q, M("created")));
    s->launched_at = parse_time(xtext(q, M("launched_at")));
    s->launched = s->launched_at != 0;
    t = xtext(q, M("locked"));
    s->locked = t != NULL && strcmp(t, "true") == 0;
    s->locked_reason = xtext(q, M("locked_reason"));
    s->description = xtext(q, M("description"));
    if ((t = xtext(q, M("flavor/@id"))) != NULL) {
        s->flavor_id = t;
    }
    if ((t = xtext(q, M("flavor/@name"))) != NULL) {
        s->flavor_name = t;
    }
    s->disk_gb = xint(q, M("flavor/@disk"), 0);
    s->ephemeral_gb = xint(q, M("flavor/@ephemeral"), 0);
    s->swap_mb = xint(q, M("flavor/@swap"), 0);
    if ((t = xtext(q, M("image"))) != NULL) {
        s->image_id = t;
    }
    if ((t = xtext(q, M("availability_zone"))) != NULL) {
        s->az = t;
    }
    s->key_name = xtext(q, M("key_name"));
    o = xmlXPathEvalExpression(BAD_CAST M("meta"), q->ctx);
    for (i = 0; o != NULL && o->nodesetval != NULL && i < o->nodesetval->nodeNr
         && s->nmeta < SERVER_MAX_META;
         i++) {
        xmlNodePtr n = o->nodesetval->nodeTab[i];
        xmlChar *k = xmlGetProp(n, BAD_CAST "key");
        xmlChar *v = xmlNodeGetContent(n);

        if (k != NULL) {
            s->meta[s->nmeta].key = arena_strdup(q->a, (char *) k);
            s->meta[s->nmeta].value = arena_strdup(q->a, v ? (char *) v : "");
            s->nmeta++;
        }
        xmlFree(k);
        xmlFree(v);
    }
    xmlXPathFreeObject(o);
#undef M
}

static int fill(virDomainPtr d, struct arena *a, struct server *s,
                struct ferr *err)
{
    char *xml;
    struct xq q;
    int state = 0, reason = 0;
    size_t i;

    memset(s, 0, sizeof(*s));
    if (virDomainGetUUIDString(d, s->uuid) < 0
        || virDomainGetState(d, &state, &reason, 0) < 0) {
        return lv_err(err, FE_INTERNAL, "domain state");
    }
    xml = virDomainGetXMLDesc(d, 0);
    if (xml == NULL) {
        return lv_err(err, FE_INTERNAL, "domain XML");
    }
    q.a = a;
    q.doc = xmlReadMemory(xml, (int) strlen(xml), "domain.xml", NULL,
                          XML_PARSE_NONET | XML_PARSE_NOERROR
                              | XML_PARSE_NOWARNING);
    free(xml);
    if (q.doc == NULL) {
        return ferr_set(err, FE_INTERNAL, "domain XML does not parse");
    }
    q.ctx = xmlXPathNewContext(q.doc);
    xmlXPathRegisterNs(q.ctx, BAD_CAST "f", BAD_CAST FERRY_XMLNS);

    s->instance_name = xtext(&q, "/domain/name");
    s->name = s->instance_name;
    s->project_id = "";
    s->user_id = "";
    s->image_id = "";
    s->az = "nova";
    s->vcpus = (int) xint(&q, "/domain/vcpu", 1);
    s->ram_mb = xint(&q, "/domain/memory", 0) / 1024;
    s->has_tpm = xcount(&q, "/domain/devices/tpm") > 0;
    s->has_sev = xcount(&q, "/domain/launchSecurity[@type='sev']") > 0;
    s->has_vdpa = xcount(&q, "/domain/devices/interface[@type='vdpa']") > 0;
    s->has_hostdev = xcount(&q, "/domain/devices/hostdev") > 0;
    s->power_state = POWER_NOSTATE;
    s->vm_state = "error";
    for (i = 0; i < ARRAY_LEN(states); i++) {
        if (states[i].lv == state) {
            s->power_state = states[i].power;
            s->vm_state = states[i].vm;
        }
    }
    read_meta(&q, s);
    if (!s->has_metadata) {
        s->launched = server_is_active(s->power_state);
    }
    if (s->flavor_id == NULL) {
        s->flavor_id =
            arena_printf(a, "ferry-%dc-%lldm", s->vcpus, (long long) s->ram_mb);
    }
    if (s->flavor_name == NULL) {
        s->flavor_name = s->flavor_id;
    }
    xmlXPathFreeContext(q.ctx);
    xmlFreeDoc(q.doc);
    return 0;
}

int virt_lookup(struct vconn *c, const char *uuid, struct arena *a,
                struct server *s, struct ferr *err)
{
    virDomainPtr d = virDomainLookupByUUIDString(c->conn, uuid);
    virErrorPtr e;
    int rc;

    if (d == NULL) {
        e = virGetLastError();
        if (e != NULL && e->code == VIR_ERR_NO_DOMAIN) {
            return 0;
        }
        return lv_err(err, FE_UNAVAILABLE, c->uri);
    }
    rc = fill(d, a, s, err);
    virDomainFree(d);
    return rc < 0 ? rc : 1;
}

int virt_list(struct vconn *c, struct arena *a, struct server **out, size_t *n,
              struct ferr *err)
{
    virDomainPtr *doms = NULL;
    int count, i, rc = 0;
    struct server *list;

    count = virConnectListAllDomains(c->conn, &doms, 0);
    if (count < 0) {
        return lv_err(err, FE_UNAVAILABLE, c->uri);
    }
    list = arena_alloc(a, sizeof(*list) * (size_t) (count ? count : 1));
    *n = 0;
    for (i = 0; i < count; i++) {
        if (rc == 0 && fill(doms[i], a, &list[*n], err) == 0) {
            (*n)++;
        }
        virDomainFree(doms[i]);
    }
    free(doms);
    *out = list;
    return 0;
}

/* ---- prechecks and migration ------------------------------------------ */

int virt_host_info(struct vconn *c, struct vhost_info *out, struct ferr *err)
{
    const char *type = virConnectGetType(c->conn);
    virNodeInfo ni;
    virDomainPtr *doms = NULL;
    int n, i;

    memset(out, 0, sizeof(*out));
    if (type == NULL || virConnectGetVersion(c->conn, &out->version) < 0
        || virNodeGetInfo(c->conn, &ni) < 0) {
        return lv_err(err, FE_UNAVAILABLE, c->uri);
    }
    snprintf(out->type, sizeof(out->type), "%s", type);
    out->total_mb = (int64_t) (ni.memory / 1024);
    n = virConnectListAllDomains(c->conn, &doms,
                                 VIR_CONNECT_LIST_DOMAINS_ACTIVE);
    if (n < 0) {
        return lv_err(err, FE_UNAVAILABLE, c->uri);
    }
    for (i = 0; i < n; i++) {
        out->guests_mb += (int64_t) (virDomainGetMaxMemory(doms[i]) / 1024);
        virDomainFree(doms[i]);
    }
    free(doms);
    return 0;
}

static virDomainPtr dom_of(struct vconn *c, const char *uuid, struct ferr *err)
{
    virDomainPtr d = virDomainLookupByUUIDString(c->conn, uuid);

    if (d == NULL) {
        lv_err(err, FE_INTERNAL, uuid);
    }
    return d;
}

static int disks_of(virDomainPtr d, struct arena *a, struct vdisk **out,
                    size_t *n, struct ferr *err)
{
    xmlXPathObjectPtr o;
    struct vdisk *disks;
    struct xq q;
    char *xml;
    int i;

    *n = 0;
    xml = virDomainGetXMLDesc(d, 0);
    if (xml == NULL) {
        return lv_err(err, FE_INTERNAL, "domain XML");
    }
    q.a = a;
    q.doc = xmlReadMemory(xml, (int) strlen(xml), "domain.xml", NULL,
                          XML_PARSE_NONET | XML_PARSE_NOERROR);
    free(xml);
    if (q.doc == NULL) {
        return ferr_set(err, FE_INTERNAL, "domain XML does not parse");
    }
    q.ctx = xmlXPathNewContext(q.doc);
    o = xmlXPathEvalExpression(BAD_CAST "/domain/devices/disk[@type='file'"
                                        " and @device='disk' and not(readonly)"
                                        " and not(shareable)]",
                               q.ctx);
    i = (o && o->nodesetval) ? o->nodesetval->nodeNr : 0;
    disks = arena_alloc(a, sizeof(*disks) * (size_t) (i ? i : 1));
    for (i = 0; o && o->nodesetval && i < o->nodesetval->nodeNr; i++) {
        xmlNodePtr node = o->nodesetval->nodeTab[i];
        virDomainBlockInfo bi;
        struct vdisk *k = &disks[*n];

        q.ctx->node = node;
        k->path = xtext(&q, "source/@file");
        k->dev = xtext(&q, "target/@dev");
        k->format = xtext(&q, "driver/@type");
        if (k->format == NULL) {
            k->format = "raw";
        }
        if (k->path == NULL || k->dev == NULL) {
            continue;
        }
        if (virDomainGetBlockInfo(d, k->dev, &bi, 0) == 0) {
            k->capacity = (int64_t) bi.capacity;
            k->allocation = (int64_t) bi.allocation;
        }
        (*n)++;
    }
    xmlXPathFreeObject(o);
    xmlXPathFreeContext(q.ctx);
    xmlFreeDoc(q.doc);
    *out = disks;
    return 0;
}

int virt_domain_disks(struct vconn *c, const char *uuid, struct arena *a,
                      struct vdisk **out, size_t *n, struct ferr *err)
{
    virDomainPtr d = dom_of(c, uuid, err);
    int rc;

    *n = 0;
    if (d == NULL) {
        return ferr_fail(err);
    }
    rc = disks_of(d, a, out, n, err);
    virDomainFree(d);
    return rc;
}

/* 1 if the storage pool XML pxml has exactly dir as its target path
 * (compared as parsed text: libvirt writes the path escaped). */
static int pool_path_is(const char *pxml, const char *dir)
{
    xmlDocPtr doc;
    xmlXPathContextPtr ctx;
    xmlXPathObjectPtr o = NULL;
    int same = 0;

    doc = xmlReadMemory(pxml, (int) strlen(pxml), "pool.xml", NULL,
                        XML_PARSE_NONET | XML_PARSE_NOERROR
                            | XML_PARSE_NOWARNING);
    if (doc == NULL) {
        return 0;
    }
    ctx = xmlXPathNewContext(doc);
    if (ctx != NULL) {
        o = xmlXPathEvalExpression(BAD_CAST "/pool/target/path", ctx);
    }
    if (o != NULL && o->nodesetval != NULL && o->nodesetval->nodeNr == 1) {
        xmlChar *t = xmlNodeGetContent(o->nodesetval->nodeTab[0]);

        same = t != NULL && strcmp((const char *) t, dir) == 0;
        xmlFree(t);
    }
    xmlXPathFreeObject(o);
    xmlXPathFreeContext(ctx);
    xmlFreeDoc(doc);
    return same;
}

/* A dir storage pool for dir on c: an existing one with that target, or
 * a transient one ferry creates (*made = 1; destroy it when done).  dir
 * comes from a domain's XML: it is escaped into the pool's. */
static virStoragePoolPtr pool_for(struct vconn *c, const char *dir, int build,
                                  int *made, struct ferr *err)
{
    virStoragePoolPtr *pools = NULL, found = NULL, p;
    char name[64], hash[57], *xml;
    struct sbuf b;
    int n, i;

    *made = 0;
    n = virConnectListAllStoragePools(c->conn, &pools,
                                      VIR_CONNECT_LIST_STORAGE_POOLS_ACTIVE);
    for (i = 0; i < n; i++) {
        char *pxml = virStoragePoolGetXMLDesc(pools[i], 0);

        if (found == NULL && pxml != NULL && pool_path_is(pxml, dir)) {
            found = pools[i];
        } else {
            virStoragePoolFree(pools[i]);
        }
        free(pxml);
    }
    free(pools);
    if (found != NULL) {
        virStoragePoolRefresh(found, 0);
        return found;
    }
    sha224_hex(dir, strlen(dir), hash);
    snprintf(name, sizeof(name), "ferry-%.16s", hash);
    sbuf_init(&b);
    sbuf_printf(&b, "<pool type='dir'><name>%s</name><target><path>", name);
    sbuf_put_xml(&b, dir);
    sbuf_puts(&b, "</path></target></pool>");
    xml = sbuf_take(&b);
    p = virStoragePoolCreateXML(c->conn, xml,
                                build ? VIR_STORAGE_POOL_CREATE_WITH_BUILD : 0);
    free(xml);
    if (p == NULL) {
        p = virStoragePoolLookupByName(c->conn, name);
        if (p != NULL) {
            virStoragePoolRefresh(p, 0);
            return p;
        }
        lv_err(err, FE_INTERNAL, dir);
        return NULL;
    }
    *made = 1;
    return p;
}

static void pool_done(virStoragePoolPtr p, int made)
{
    if (p == NULL) {
        return;
    }
    if (made) {
        virStoragePoolDestroy(p); /* stops it; the directory stays */
    }
    virStoragePoolFree(p);
}

int virt_dir_shared(struct vconn *src, struct vconn *dst, const char *dir,
                    struct ferr *err)
{
    virStoragePoolPtr pd, ps = NULL;
    virStorageVolPtr v, seen;
    char u[37], name[80], xml[256];
    int made_d, made_s = 0, shared = 0;
    struct ferr e = { 0 };

    pd = pool_for(dst, dir, 0, &made_d, &e);
    ferr_clear(&e);
    if (pd == NULL) {
        /* fail closed: a host that cannot be asked is no answer, and a
         * caller deletes only what is "not shared" */
        if (!virt_alive(dst)) {
            return ferr_set(err, FE_UNAVAILABLE, "%s does not answer",
                            dst->uri);
        }
        return 0; /* no such directory on the destination */
    }
    uuid4(u);
    snprintf(name, sizeof(name), ".ferry-shared-check-%s", u);
    snprintf(xml, sizeof(xml),
             "<volume><name>%s</name><capacity>0"
             "</capacity><target><format type='raw'/></target></volume>",
             name);
    v = virStorageVolCreateXML(pd, xml, 0);
    if (v == NULL) {
        pool_done(pd, made_d);
        return lv_err(err, FE_INTERNAL, "shared storage check");
    }
    ps = pool_for(src, dir, 0, &made_s, &e);
    ferr_clear(&e);
    if (ps != NULL) {
        seen = virStorageVolLookupByName(ps, name);
        if (seen != NULL) {
            shared = 1;
            virStorageVolFree(seen);
        }
    }
    virStorageVolDelete(v, 0);
    virStorageVolFree(v);
    pool_done(ps, made_s);
    pool_done(pd, made_d);
    if (ps == NULL && !virt_alive(src)) {
        return ferr_set(err, FE_UNAVAILABLE, "%s does not answer", src->uri);
    }
    if (ps != NULL) {
        /* the source's pool may list the deleted marker until refreshed */
        ps = pool_for(src, dir, 0, &made_s, &e);
        ferr_clear(&e);
        pool_done(ps, made_s);
    }
    return shared;
}

/* The directory of path (malloc'd), or NULL and FE_NOMEM. */
static char *dir_of(const char *path, struct ferr *err)
{
    char *d = strdup(path), *slash;

    if (d == NULL) {
        ferr_set(err, FE_NOMEM, "out of memory");
        return NULL;
    }
    slash = strrchr(d, '/');
    if (slash != NULL && slash != d) {
        *slash = '\0';
    }
    return d;
}

int virt_disk_create(struct vconn *dst, const struct vdisk *d, struct ferr *err)
{
    char *dir = dir_of(d->path, err), *xml = NULL;
    const char *base =
        strrchr(d->path, '/') ? strrchr(d->path, '/') + 1 : d->path;
    virStoragePoolPtr p;
    virStorageVolPtr v;
    struct sbuf b;
    int made, rc = 0;

    if (dir == NULL) {
        return ferr_fail(err);
    }
    p = pool_for(dst, dir, 1, &made, err);
    free(dir);
    if (p == NULL) {
        return ferr_fail(err);
    }
    /* base and format come from the domain's XML: escaped */
    sbuf_init(&b);
    sbuf_puts(&b, "<volume><name>");
    sbuf_put_xml(&b, base);
    sbuf_printf(&b,
                "</name><capacity unit='bytes'>%lld</capacity>"
                "<allocation>0</allocation><target><format type='",
                (long long) d->capacity);
    sbuf_put_xml(&b, d->format);
    sbuf_puts(&b, "'/></target></volume>");
    xml = sbuf_take(&b);
    v = virStorageVolCreateXML(p, xml, 0);
    free(xml);
    if (v == NULL) {
        rc = lv_err(err, FE_INTERNAL, d->path);
    } else {
        virStorageVolFree(v);
    }
    pool_done(p, made);
    return rc;
}

int virt_disk_exists(struct vconn *c, const char *path, struct ferr *err)
{
    char *dir = dir_of(path, err);
    virStoragePoolPtr p;
    virStorageVolPtr v;
    int made, rc = 0;
    struct ferr e = { 0 };

    if (dir == NULL) {
        return ferr_fail(err);
    }

    /* pool_for refreshes an existing pool, so a file made behind libvirt's
     * back is seen; no pool can be made: no such directory, no such file */
    p = pool_for(c, dir, 0, &made, &e);
    free(dir);
    ferr_clear(&e);
    if (p == NULL) {
        return 0;
    }
    v = virStorageVolLookupByPath(c->conn, path);
    if (v != NULL) {
        rc = 1;
        virStorageVolFree(v);
    } else if (virGetLastErrorCode() != VIR_ERR_NO_STORAGE_VOL) {
        rc = lv_err(err, FE_INTERNAL, path);
    }
    pool_done(p, made);
    return rc;
}

void virt_disk_delete(struct vconn *dst, const char *path)
{
    struct ferr e = { 0 };
    char *dir = dir_of(path, &e);
    virStoragePoolPtr p;
    virStorageVolPtr v;
    int made;

    p = dir ? pool_for(dst, dir, 0, &made, &e) : NULL;
    free(dir);
    if (p != NULL) {
        v = virStorageVolLookupByPath(dst->conn, path);
        if (v != NULL) {
            virStorageVolDelete(v, 0);
            virStorageVolFree(v);
        }
        pool_done(p, made);
    }
    ferr_clear(&e);
}

/* Nova reads instances_path's file system (_get_local_gb_info) and
 * subtracts what its guests' disks may still grow by
 * (_get_disk_over_committed_size_total); ferry reads the file system of
 * the disk's directory through a dir pool, as the copy will land there. */
int virt_disk_space(struct vconn *c, const char *dir, struct arena *a,
                    int64_t *avail, int64_t *overcommit, struct ferr *err)
{
    virStoragePoolPtr p = NULL;
    virStoragePoolInfo pi;
    virDomainPtr *doms = NULL;
    char *d = strdup(dir), *slash;
    struct ferr e = { 0 };
    int made = 0, n, i, rc = 0;

    *avail = *overcommit = 0;
    if (d == NULL) {
        return ferr_set(err, FE_NOMEM, "out of memory");
    }
    /* the directory may not exist on the destination yet: the copy makes
     * it, on its parent's file system */
    for (;;) {
        p = pool_for(c, d, 0, &made, &e);
        ferr_clear(&e);
        slash = strrchr(d, '/');
        if (p != NULL || slash == NULL || slash[1] == '\0') {
            break;
        }
        slash[slash == d ? 1 : 0] = '\0';
    }
    free(d);
    if (p == NULL) {
        return ferr_set(err, FE_INTERNAL, "%s: no storage pool", dir);
    }
    memset(&pi, 0, sizeof(pi));
    if (virStoragePoolGetInfo(p, &pi) < 0) {
        rc = lv_err(err, FE_INTERNAL, dir);
    }
    *avail = (int64_t) pi.available;
    pool_done(p, made);
    if (rc < 0) {
        return rc;
    }
    n = virConnectListAllDomains(c->conn, &doms, 0);
    if (n < 0) {
        return lv_err(err, FE_UNAVAILABLE, c->uri);
    }
    for (i = 0; i < n; i++) {
        struct vdisk *disks;
        size_t nd = 0, k;

        if (disks_of(doms[i], a, &disks, &nd, &e) < 0) {
            ferr_clear(&e); /* a domain gone meanwhile: nothing */
        }
        for (k = 0; k < nd; k++) {
            if (disks[k].capacity > disks[k].allocation) {
                *overcommit += disks[k].capacity - disks[k].allocation;
            }
        }
        virDomainFree(doms[i]);
    }
    free(doms);
    return 0;
}

const int VIRT_ERR_NO_SUPPORT = VIR_ERR_NO_SUPPORT;

/* Nova's _compare_cpu builds the source CPU as <cpu> with arch, model,
 * vendor, topology and features (LibvirtConfigCPU) from the source's
 * capabilities; the same here, from the XML nodes. */
static const char *host_cpu_xml(struct vconn *src, struct arena *a,
                                struct ferr *err)
{
    static const char *const parts[] = {
        "/capabilities/host/cpu/arch",    "/capabilities/host/cpu/model",
        "/capabilities/host/cpu/vendor",  "/capabilities/host/cpu/topology",
        "/capabilities/host/cpu/feature",
    };
    char *caps = virConnectGetCapabilities(src->conn);
    xmlXPathObjectPtr o;
    xmlBufferPtr buf;
    struct sbuf b;
    struct xq q;
    const char *out;
    size_t i;
    int k;

    if (caps == NULL) {
        lv_err(err, FE_UNAVAILABLE, src->uri);
        return NULL;
    }
    q.a = a;
    q.doc = xmlReadMemory(caps, (int) strlen(caps), "caps.xml", NULL,
                          XML_PARSE_NONET | XML_PARSE_NOERROR);
    free(caps);
    if (q.doc == NULL) {
        ferr_set(err, FE_INTERNAL, "capabilities XML does not parse");
        return NULL;
    }
    q.ctx = xmlXPathNewContext(q.doc);
    buf = xmlBufferCreate();
    if (q.ctx == NULL || buf == NULL) {
        xmlBufferFree(buf);
        xmlXPathFreeContext(q.ctx);
        xmlFreeDoc(q.doc);
        ferr_set(err, FE_NOMEM, "out of memory");
        return NULL;
    }
    sbuf_init(&b);
    sbuf_puts(&b, "<cpu>");
    for (i = 0; i < ARRAY_LEN(parts); i++) {
        o = xmlXPathEvalExpression(BAD_CAST parts[i], q.ctx);
        for (k = 0; o && o->nodesetval && k < o->nodesetval->nodeNr; k++) {
            xmlNodePtr node = o->nodesetval->nodeTab[k];

            if (i == 4) { /* a feature is its name only */
                xmlChar *name = xmlGetProp(node, BAD_CAST "name");

                if (name != NULL) {
                    sbuf_puts(&b, "<feature name='");
                    sbuf_put_xml(&b, (const char *) name);
                    sbuf_puts(&b, "'/>");
                    xmlFree(name);
                }
                continue;
            }
            xmlBufferEmpty(buf);
            xmlNodeDump(buf, q.doc, node, 0, 0);
            sbuf_puts(&b, (const char *) xmlBufferContent(buf));
        }
        xmlXPathFreeObject(o);
    }
    sbuf_puts(&b, "</cpu>");
    xmlBufferFree(buf);
    xmlXPathFreeContext(q.ctx);
    xmlFreeDoc(q.doc);
    caps = sbuf_take(&b);
    out = arena_strdup(a, caps);
    free(caps);
    return out;
}

int virt_guest_cpu(struct vconn *src, const char *uuid, struct arena *a,
                   const char **xml, struct ferr *err)
{
    virDomainPtr d = dom_of(src, uuid, err);
    xmlXPathObjectPtr o;
    const char *type, *model;
    struct xq q;
    char *dx;
    int nomem = 0;

    *xml = NULL;
    if (d == NULL) {
        return ferr_fail(err);
    }
    dx = virDomainGetXMLDesc(d, 0);
    virDomainFree(d);
    if (dx == NULL) {
        return lv_err(err, FE_INTERNAL, "domain XML");
    }
    q.a = a;
    q.doc = xmlReadMemory(dx, (int) strlen(dx), "domain.xml", NULL,
                          XML_PARSE_NONET | XML_PARSE_NOERROR);
    free(dx);
    if (q.doc == NULL) {
        return ferr_set(err, FE_INTERNAL, "domain XML does not parse");
    }
    q.ctx = xmlXPathNewContext(q.doc);
    type = xtext(&q, "/domain/@type");
    model = xtext(&q, "/domain/cpu/model");
    if (type != NULL && strcmp(type, "kvm") == 0 && model != NULL
        && model[0] != '\0') {
        o = xmlXPathEvalExpression(BAD_CAST "/domain/cpu", q.ctx);
        if (o != NULL && o->nodesetval != NULL && o->nodesetval->nodeNr == 1) {
            xmlBufferPtr buf = xmlBufferCreate();

            if (buf == NULL) {
                nomem = 1;
            } else {
                xmlNodeDump(buf, q.doc, o->nodesetval->nodeTab[0], 0, 0);
                *xml = arena_strdup(a, (const char *) xmlBufferContent(buf));
                xmlBufferFree(buf);
            }
        }
        xmlXPathFreeObject(o);
    }
    xmlXPathFreeContext(q.ctx);
    xmlFreeDoc(q.doc);
    if (nomem) {
        return ferr_set(err, FE_NOMEM, "out of memory");
    }
    if (type == NULL || strcmp(type, "kvm") != 0 || *xml != NULL) {
        return 0;
    }
    *xml = host_cpu_xml(src, a, err);
    return *xml == NULL ? ferr_fail(err) : 0;
}

void virt_cpu_compare(struct vconn *c, const char *xml, struct arena *a,
                      struct vcpu_cmp *out)
{
    memset(out, 0, sizeof(*out));
    out->result = virConnectCompareCPU(c->conn, xml, 0);
    if (out->result < 0) {
        virErrorPtr e = virGetLastError();

        out->result = -1;
        out->lv_code = e != NULL ? e->code : VIR_ERR_INTERNAL_ERROR;
        out->lv_msg = arena_strdup(a,
                                   e != NULL && e->message != NULL
                                       ? e->message
                                       : "unknown libvirt error");
    }
}

int virt_domain_power(struct vconn *c, const char *uuid, int *power,
                      int *persistent, struct ferr *err)
{
    virDomainPtr d = virDomainLookupByUUIDString(c->conn, uuid);
    virErrorPtr e;
    int state = 0, reason = 0;
    size_t i;

    if (d == NULL) {
        e = virGetLastError();
        if (e != NULL && e->code == VIR_ERR_NO_DOMAIN) {
            return 0;
        }
        return lv_err(err, FE_UNAVAILABLE, c->uri);
    }
    if (virDomainGetState(d, &state, &reason, 0) < 0) {
        virDomainFree(d);
        return lv_err(err, FE_UNAVAILABLE, c->uri);
    }
    *power = POWER_NOSTATE;
    for (i = 0; i < ARRAY_LEN(states); i++) {
        if (states[i].lv == state) {
            *power = states[i].power;
        }
    }
    if (persistent != NULL) {
        *persistent = virDomainIsPersistent(d) == 1;
    }
    virDomainFree(d);
    return 1;
}

static int64_t tp_ull(virTypedParameterPtr p, int n, const char *name)
{
    unsigned long long v;

    return virTypedParamsGetULLong(p, n, name, &v) == 1 ? (int64_t) v : -1;
}

int virt_job(struct vconn *c, const char *uuid, int completed, struct vjob *out,
             struct ferr *err)
{
    static const struct {
        int lv, ours;
    } types[] = {
        { VIR_DOMAIN_JOB_NONE, VJOB_NONE },
        { VIR_DOMAIN_JOB_BOUNDED, VJOB_BOUNDED },
        { VIR_DOMAIN_JOB_UNBOUNDED, VJOB_UNBOUNDED },
        { VIR_DOMAIN_JOB_COMPLETED, VJOB_COMPLETED },
        { VIR_DOMAIN_JOB_FAILED, VJOB_FAILED },
        { VIR_DOMAIN_JOB_CANCELLED, VJOB_CANCELLED },
    };
    virDomainPtr d = dom_of(c, uuid, err);
    virTypedParameterPtr p = NULL;
    int n = 0, type = 0;
    int64_t page;
    size_t i;

    memset(out, 0, sizeof(*out));
    if (d == NULL) {
        return ferr_fail(err);
    }
    if (virDomainGetJobStats(d, &type, &p, &n,
                             completed ? VIR_DOMAIN_JOB_STATS_COMPLETED : 0)
        < 0) {
        virDomainFree(d);
        return lv_err(err, FE_INTERNAL, "job stats");
    }
    for (i = 0; i < ARRAY_LEN(types); i++) {
        if (types[i].lv == type) {
            out->type = types[i].ours;
        }
    }
    out->elapsed_ms = tp_ull(p, n, VIR_DOMAIN_JOB_TIME_ELAPSED);
    out->downtime_ms = tp_ull(p, n, VIR_DOMAIN_JOB_DOWNTIME);
    out->mem_total = tp_ull(p, n, VIR_DOMAIN_JOB_MEMORY_TOTAL);
    out->mem_processed = tp_ull(p, n, VIR_DOMAIN_JOB_MEMORY_PROCESSED);
    out->mem_remaining = tp_ull(p, n, VIR_DOMAIN_JOB_MEMORY_REMAINING);
    out->disk_total = tp_ull(p, n, VIR_DOMAIN_JOB_DISK_TOTAL);
    out->disk_processed = tp_ull(p, n, VIR_DOMAIN_JOB_DISK_PROCESSED);
    out->disk_remaining = tp_ull(p, n, VIR_DOMAIN_JOB_DISK_REMAINING);
    out->data_remaining = tp_ull(p, n, VIR_DOMAIN_JOB_DATA_REMAINING);
    out->mem_bps = tp_ull(p, n, VIR_DOMAIN_JOB_MEMORY_BPS);
    out->disk_bps = tp_ull(p, n, VIR_DOMAIN_JOB_DISK_BPS);
    out->iteration = tp_ull(p, n, VIR_DOMAIN_JOB_MEMORY_ITERATION);
    out->dirty_bps = tp_ull(p, n, VIR_DOMAIN_JOB_MEMORY_DIRTY_RATE);
    if (out->dirty_bps > 0) { /* pages/s */
        page = tp_ull(p, n, VIR_DOMAIN_JOB_MEMORY_PAGE_SIZE);
        out->dirty_bps *= page > 0 ? page : 4096;
    }
    virTypedParamsFree(p, n);
    virDomainFree(d);
    return 0;
}

const char *virt_migrate_flags_str(unsigned flags, char *buf, size_t n)
{
    static const struct {
        unsigned flag;
        const char *word;
    } words[] = {
        { VMIG_LIVE, "live" },
        { VMIG_PEER2PEER, "p2p" },
        { VMIG_TUNNELLED, "tunnelled" },
        { VMIG_PERSIST_DEST, "persist-dest" },
        { VMIG_UNDEFINE_SOURCE, "undefine-source" },
        { VMIG_PAUSED, "paused" },
        { VMIG_NON_SHARED_DISK, "copy-storage-all" },
        { VMIG_NON_SHARED_INC, "copy-storage-inc" },
        { VMIG_AUTO_CONVERGE, "auto-converge" },
        { VMIG_POSTCOPY, "postcopy" },
    };
    size_t i, at = 0;

    buf[0] = '\0';
    for (i = 0; i < ARRAY_LEN(words) && at < n; i++) {
        if (flags & words[i].flag) {
            int k = snprintf(buf + at, n - at, "%s%s", at ? "+" : "",
                             words[i].word);

            at += k > 0 ? (size_t) k : 0;
        }
    }
    return buf;
}

int virt_migrate(struct vconn *src, const char *uuid, const struct vmigrate *m,
                 struct ferr *err)
{
    virDomainPtr d = dom_of(src, uuid, err);
    virTypedParameterPtr p = NULL;
    int n = 0, max = 0, rc = 0;
    size_t i;

    if (d == NULL) {
        return ferr_fail(err);
    }
    if (m->migrate_uri != NULL) {
        virTypedParamsAddString(&p, &n, &max, VIR_MIGRATE_PARAM_URI,
                                m->migrate_uri);
    }
    if (m->bandwidth_mib > 0) {
        virTypedParamsAddULLong(&p, &n, &max, VIR_MIGRATE_PARAM_BANDWIDTH,
                                m->bandwidth_mib);
    }
    for (i = 0; i < m->ndisks; i++) {
        virTypedParamsAddString(&p, &n, &max, VIR_MIGRATE_PARAM_MIGRATE_DISKS,
                                m->disks[i]);
    }
    if (virDomainMigrateToURI3(d, m->dconnuri, p, (unsigned) n, m->flags) < 0) {
        rc = lv_err(err, FE_INTERNAL, "live migration");
    }
    virTypedParamsFree(p, n);
    virDomainFree(d);
    return rc;
}

/* One call on one domain, libvirt's error reported once. */
#define DOM_CALL(c, uuid, err, what, call)        \
    do {                                          \
        virDomainPtr d = dom_of(c, uuid, err);    \
        int rc_ = 0;                              \
        if (d == NULL) {                          \
            return -(err)->code;                  \
        }                                         \
        if ((call) < 0) {                         \
            rc_ = lv_err(err, FE_INTERNAL, what); \
        }                                         \
        virDomainFree(d);                         \
        return rc_;                               \
    } while (0)

int virt_abort_job(struct vconn *c, const char *uuid, struct ferr *err)
{
    DOM_CALL(c, uuid, err, "abort job", virDomainAbortJob(d));
}

int virt_set_max_downtime(struct vconn *c, const char *uuid, int64_t ms,
                          struct ferr *err)
{
    DOM_CALL(c, uuid, err, "max downtime",
             virDomainMigrateSetMaxDowntime(d, (unsigned long long) ms, 0));
}

int virt_start_postcopy(struct vconn *c, const char *uuid, struct ferr *err)
{
    DOM_CALL(c, uuid, err, "post-copy", virDomainMigrateStartPostCopy(d, 0));
}

/* The dirty-rate modes, best first, and what the domain's XML must say
 * for each: QEMU counts the dirty-ring and dirty-bitmap modes in KVM's
 * dirty log, the ring only when the guest started with it; under TCG the
 * bitmap mode kills QEMU 7.2 (the lab's guest crashed at once) and the
 * ring does not exist, so it is page sampling there. */
static const struct {
    const char *needs; /* an XPath the domain must match */
    unsigned int mode;
    const char *name;
} dirty_modes[] = {
    { "/domain[@type='kvm']/features/kvm/dirty-ring[@state='on']",
      VIR_DOMAIN_DIRTYRATE_MODE_DIRTY_RING, "dirty-ring" },
    { "/domain[@type='kvm']", VIR_DOMAIN_DIRTYRATE_MODE_DIRTY_BITMAP,
      "dirty-bitmap" },
    { "/domain", VIR_DOMAIN_DIRTYRATE_MODE_PAGE_SAMPLING, "page-sampling" },
};

/* The index in dirty_modes of the best mode domain d allows. */
static size_t dirty_mode_of(virDomainPtr d)
{
    size_t i = ARRAY_LEN(dirty_modes) - 1, k;
    char *xml = virDomainGetXMLDesc(d, 0);
    xmlDocPtr doc = NULL;
    struct xq q;

    if (xml != NULL) {
        doc = xmlReadMemory(xml, (int) strlen(xml), "domain.xml", NULL,
                            XML_PARSE_NONET | XML_PARSE_NOERROR
                                | XML_PARSE_NOWARNING);
        free(xml);
    }
    if (doc == NULL) {
        return i; /* page sampling is safe everywhere */
    }
    q.doc = doc;
    q.a = NULL;
    q.ctx = xmlXPathNewContext(doc);
    for (k = 0; k < i; k++) {
        if (q.ctx != NULL && xcount(&q, dirty_modes[k].needs) > 0) {
            i = k;
        }
    }
    xmlXPathFreeContext(q.ctx);
    xmlFreeDoc(doc);
    return i;
}

int virt_dirty_rate_start(struct vconn *c, const char *uuid, int seconds,
                          const char **mode, struct ferr *err)
{
    virDomainPtr d = dom_of(c, uuid, err);
    size_t i;
    int rc = 0;

    if (d == NULL) {
        return ferr_fail(err);
    }
    i = dirty_mode_of(d);
    *mode = dirty_modes[i].name;
    if (virDomainStartDirtyRateCalc(d, seconds, dirty_modes[i].mode) < 0) {
        rc = lv_err(err, FE_INTERNAL, "dirty rate");
    }
    virDomainFree(d);
    return rc;
}

int virt_dirty_rate(struct vconn *c, const char *uuid, int64_t *bps,
                    struct ferr *err)
{
    virDomainPtr d = dom_of(c, uuid, err);
    virDomainPtr doms[2] = { d, NULL };
    virDomainStatsRecordPtr *recs = NULL;
    long long mbps = 0;
    int status = 0, rc = 0;

    if (d == NULL) {
        return ferr_fail(err);
    }
    if (virDomainListGetStats(doms, VIR_DOMAIN_STATS_DIRTYRATE, &recs, 0) < 1) {
        rc = lv_err(err, FE_INTERNAL, "dirty rate");
    } else if (virTypedParamsGetInt(recs[0]->params, recs[0]->nparams,
                                    "dirtyrate.calc_status", &status)
                   == 1
               && status == VIR_DOMAIN_DIRTYRATE_MEASURED
               && virTypedParamsGetLLong(recs[0]->params, recs[0]->nparams,
                                         "dirtyrate.megabytes_per_second",
                                         &mbps)
                   == 1) {
        *bps = (int64_t) mbps * 1024 * 1024;
        rc = 1;
    }
    virDomainStatsRecordListFree(recs);
    virDomainFree(d);
    return rc;
}

int virt_suspend(struct vconn *c, const char *uuid, struct ferr *err)
{
    DOM_CALL(c, uuid, err, "suspend", virDomainSuspend(d));
}

int virt_resume(struct vconn *c, const char *uuid, struct ferr *err)
{
    DOM_CALL(c, uuid, err, "resume", virDomainResume(d));
}

int virt_start(struct vconn *c, const char *uuid, struct ferr *err)
{
    DOM_CALL(c, uuid, err, "start", virDomainCreate(d));
}

int virt_destroy(struct vconn *c, const char *uuid, struct ferr *err)
{
    DOM_CALL(c, uuid, err, "destroy", virDomainDestroy(d));
}

int virt_undefine(struct vconn *c, const char *uuid, struct ferr *err)
{
    DOM_CALL(c, uuid, err, "undefine",
             virDomainUndefineFlags(d, VIR_DOMAIN_UNDEFINE_NVRAM));
}

int virt_shutdown(struct vconn *c, const char *uuid, int timeout_s,
                  struct ferr *err)
{
    int power = POWER_NOSTATE, waited;

    if (virt_domain_power(c, uuid, &power, NULL, err) != 1) {
        return err->code
            ? ferr_fail(err)
            : ferr_set(err, FE_INTERNAL, "%s: no such domain", uuid);
    }
    if (power == POWER_SHUTDOWN) {
        return 0;
    }
    {
        virDomainPtr d = dom_of(c, uuid, err);

        if (d == NULL) {
            return ferr_fail(err);
        }
        virDomainShutdown(d); /* a guest may ignore it: see below */
        virDomainFree(d);
    }
    for (waited = 0; waited < timeout_s * 10; waited++) {
        if (virt_domain_power(c, uuid, &power, NULL, err) == 1
            && power == POWER_SHUTDOWN) {
            return 0;
        }
        usleep(100000);
    }
    return virt_destroy(c, uuid, err);
}

int virt_copy_definition(struct vconn *src, struct vconn *dst, const char *uuid,
                         struct ferr *err)
{
    virDomainPtr d = dom_of(src, uuid, err), nd;
    char *xml;

    if (d == NULL) {
        return ferr_fail(err);
    }
    xml =
        virDomainGetXMLDesc(d, VIR_DOMAIN_XML_INACTIVE | VIR_DOMAIN_XML_SECURE);
    virDomainFree(d);
    if (xml == NULL) {
        return lv_err(err, FE_INTERNAL, "domain XML");
    }
    nd = virDomainDefineXML(dst->conn, xml);
    free(xml);
    if (nd == NULL) {
        return lv_err(err, FE_INTERNAL, "define on the destination");
    }
    virDomainFree(nd);
    return 0;
}

int virt_disk_copy(struct vconn *src, struct vconn *dst, const struct vdisk *d,
                   struct ferr *err)
{
    char *dir = dir_of(d->path, err), buf[256 * 1024];
    virStoragePoolPtr ps, pd;
    virStorageVolPtr sv = NULL, dv = NULL;
    virStreamPtr in = NULL, out = NULL;
    int made_s, made_d, rc = 0, n, off, k;

    if (dir == NULL) {
        return ferr_fail(err);
    }
    ps = pool_for(src, dir, 0, &made_s, err);
    pd = ps ? pool_for(dst, dir, 0, &made_d, err) : NULL;
    free(dir);
    if (ps == NULL || pd == NULL) {
        pool_done(ps, made_s);
        return ferr_fail(err);
    }
    sv = virStorageVolLookupByPath(src->conn, d->path);
    dv = virStorageVolLookupByPath(dst->conn, d->path);
    in = virStreamNew(src->conn, 0);
    out = virStreamNew(dst->conn, 0);
    if (sv == NULL || dv == NULL || in == NULL || out == NULL
        || virStorageVolDownload(sv, in, 0, 0, 0) < 0
        || virStorageVolUpload(dv, out, 0, 0, 0) < 0) {
        rc = lv_err(err, FE_INTERNAL, d->path);
        goto done;
    }
    while ((n = virStreamRecv(in, buf, sizeof(buf))) > 0) {
        for (off = 0; off < n; off += k) {
            k = virStreamSend(out, buf + off, (size_t) (n - off));
            if (k < 0) {
                rc = lv_err(err, FE_INTERNAL, "disk upload");
                goto done;
            }
        }
    }
    if (n < 0 || virStreamFinish(in) < 0 || virStreamFinish(out) < 0) {
        rc = lv_err(err, FE_INTERNAL, "disk copy");
    }
done:
    if (rc < 0) {
        if (in != NULL) {
            virStreamAbort(in);
        }
        if (out != NULL) {
            virStreamAbort(out);
        }
    }
    if (in != NULL) {
        virStreamFree(in);
    }
    if (out != NULL) {
        virStreamFree(out);
    }
    if (sv != NULL) {
        virStorageVolFree(sv);
    }
    if (dv != NULL) {
        virStorageVolFree(dv);
    }
    pool_done(ps, made_s);
    pool_done(pd, made_d);
    return rc;
}

/* ---- events ------------------------------------------------------------ */

static void *event_loop(void *arg)
{
    (void) arg;
    for (;;) {
        if (virEventRunDefaultImpl() < 0) {
            usleep(100000);
        }
    }
    return NULL;
}

int virt_events_start(struct ferr *err)
{
    pthread_t th;

    virt_init(); /* before any thread of the process */
    if (virEventRegisterDefaultImpl() < 0) {
        return lv_err(err, FE_INTERNAL, "event loop");
    }
    if (pthread_create(&th, NULL, event_loop, NULL) != 0) {
        return ferr_set(err, FE_INTERNAL, "event thread");
    }
    pthread_detach(th);
    return 0;
}

struct vwatch {
    struct vconn *c;
    int id;
    char uuid[VIR_UUID_STRING_BUFLEN];
    pthread_mutex_t mu;
    int done;
    struct vjob job;
};

static void on_job_completed(virConnectPtr conn, virDomainPtr dom,
                             virTypedParameterPtr p, int n, void *opaque)
{
    struct vwatch *w = opaque;
    char uuid[VIR_UUID_STRING_BUFLEN];

    (void) conn;
    if (virDomainGetUUIDString(dom, uuid) < 0 || strcmp(uuid, w->uuid) != 0) {
        return;
    }
    pthread_mutex_lock(&w->mu);
    w->job.type = VJOB_COMPLETED;
    w->job.elapsed_ms = tp_ull(p, n, VIR_DOMAIN_JOB_TIME_ELAPSED);
    w->job.downtime_ms = tp_ull(p, n, VIR_DOMAIN_JOB_DOWNTIME);
    w->job.mem_total = tp_ull(p, n, VIR_DOMAIN_JOB_MEMORY_TOTAL);
    w->job.mem_processed = tp_ull(p, n, VIR_DOMAIN_JOB_MEMORY_PROCESSED);
    w->job.mem_remaining = tp_ull(p, n, VIR_DOMAIN_JOB_MEMORY_REMAINING);
    w->job.disk_total = tp_ull(p, n, VIR_DOMAIN_JOB_DISK_TOTAL);
    w->job.disk_processed = tp_ull(p, n, VIR_DOMAIN_JOB_DISK_PROCESSED);
    w->job.disk_remaining = tp_ull(p, n, VIR_DOMAIN_JOB_DISK_REMAINING);
    w->job.data_remaining = tp_ull(p, n, VIR_DOMAIN_JOB_DATA_REMAINING);
    w->job.mem_bps = tp_ull(p, n, VIR_DOMAIN_JOB_MEMORY_BPS);
    w->job.disk_bps = tp_ull(p, n, VIR_DOMAIN_JOB_DISK_BPS);
    w->done = 1;
    pthread_mutex_unlock(&w->mu);
}

struct vwatch *virt_watch_job(struct vconn *c, const char *uuid,
                              struct ferr *err)
{
    struct vwatch *w = calloc(1, sizeof(*w));

    if (w == NULL) {
        ferr_set(err, FE_NOMEM, "out of memory");
        return NULL;
    }
    w->c = c;
    snprintf(w->uuid, sizeof(w->uuid), "%s", uuid);
    pthread_mutex_init(&w->mu, NULL);
    w->id = virConnectDomainEventRegisterAny(
        c->conn, NULL, VIR_DOMAIN_EVENT_ID_JOB_COMPLETED,
        VIR_DOMAIN_EVENT_CALLBACK(on_job_completed), w, NULL);
    if (w->id < 0) {
        lv_err(err, FE_INTERNAL, "job event");
        pthread_mutex_destroy(&w->mu);
        free(w);
        return NULL;
    }
    return w;
}

int virt_watch_end(struct vwatch *w, int wait_ms, struct vjob *out)
{
    int done = 0, waited;

    for (waited = 0; w != NULL; waited += 50) {
        pthread_mutex_lock(&w->mu);
        done = w->done;
        if (done) {
            *out = w->job;
        }
        pthread_mutex_unlock(&w->mu);
        if (done || waited >= wait_ms) {
            break;
        }
        usleep(50000);
    }
    if (w != NULL) {
        virConnectDomainEventDeregisterAny(w->c->conn, w->id);
        pthread_mutex_destroy(&w->mu);
        free(w);
    }
    return done;
}

/* ---- domain events for the inventory ----------------------------------- */

static void on_dom(virDomainPtr dom, void *opaque)
{
    struct dwatch *w = opaque;
    char uuid[VIR_UUID_STRING_BUFLEN];

    if (virDomainGetUUIDString(dom, uuid) == 0) {
        w->on_domain(w->opaque, uuid);
    }
}

static int on_lifecycle(virConnectPtr conn, virDomainPtr dom, int event,
                        int detail, void *opaque)
{
    (void) conn;
    (void) event;
    (void) detail;
    on_dom(dom, opaque);
    return 0;
}

static void on_metadata(virConnectPtr conn, virDomainPtr dom, int type,
                        const char *nsuri, void *opaque)
{
    (void) conn;
    (void) type;
    (void) nsuri;
    on_dom(dom, opaque);
}

static void on_job_done(virConnectPtr conn, virDomainPtr dom,
                        virTypedParameterPtr p, int n, void *opaque)
{
    (void) conn;
    (void) p;
    (void) n;
    on_dom(dom, opaque);
}

static void on_conn_closed(virConnectPtr conn, int reason, void *opaque)
{
    struct dwatch *w = opaque;

    (void) conn;
    (void) reason;
    w->on_close(w->opaque);
}

int virt_watch_domains(struct vconn *c, virt_domain_fn on_domain,
                       virt_closed_fn on_close, void *opaque, struct ferr *err)
{
    static const struct {
        int id;
        virConnectDomainEventGenericCallback cb;
    } events[] = {
        /* define, undefine, start, stop, pause, resume, migrated */
        { VIR_DOMAIN_EVENT_ID_LIFECYCLE,
          VIR_DOMAIN_EVENT_CALLBACK(on_lifecycle) },
        { VIR_DOMAIN_EVENT_ID_METADATA_CHANGE,
          VIR_DOMAIN_EVENT_CALLBACK(on_metadata) },
        /* the end of a migration job, on either side */
        { VIR_DOMAIN_EVENT_ID_JOB_COMPLETED,
          VIR_DOMAIN_EVENT_CALLBACK(on_job_done) },
    };
    struct dwatch *w = calloc(1, sizeof(*w));
    size_t i;

    if (w == NULL) {
        return ferr_set(err, FE_NOMEM, "out of memory");
    }
    w->on_domain = on_domain;
    w->on_close = on_close;
    w->opaque = opaque;
    w->refs = 1;
    c->dw = w;
    for (i = 0; i < ARRAY_LEN(events); i++) {
        __atomic_add_fetch(&w->refs, 1, __ATOMIC_ACQ_REL);
        c->watch_ids[i] = virConnectDomainEventRegisterAny(
            c->conn, NULL, events[i].id, events[i].cb, w, dwatch_unref);
        if (c->watch_ids[i] < 0) {
            dwatch_unref(w);
            lv_err(err, FE_UNAVAILABLE, c->uri);
            virt_unwatch_domains(c);
            return ferr_fail(err);
        }
    }
    /* a remote host that stops answering is noticed in ~15 s; local
     * drivers (test://) have no keepalive and need none */
    virConnectSetKeepAlive(c->conn, 5, 3);
    __atomic_add_fetch(&w->refs, 1, __ATOMIC_ACQ_REL);
    c->close_cb = virConnectRegisterCloseCallback(c->conn, on_conn_closed, w,
                                                  dwatch_unref)
        == 0;
    if (!c->close_cb) {
        dwatch_unref(w);
    }
    return 0;
}

void virt_unwatch_domains(struct vconn *c)
{
    size_t i;

    for (i = 0; i < ARRAY_LEN(c->watch_ids); i++) {
        if (c->watch_ids[i] >= 0) {
            virConnectDomainEventDeregisterAny(c->conn, c->watch_ids[i]);
            c->watch_ids[i] = -1;
        }
    }
    if (c->close_cb) {
        virConnectUnregisterCloseCallback(c->conn, on_conn_closed);
        c->close_cb = 0;
    }
    if (c->dw != NULL) {
        dwatch_unref(c->dw);
        c->dw = NULL;
    }
}
