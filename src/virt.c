/*
 * virt.c: every libvirt call ferry makes, and the reading of domain XML
 * (libxml2 XPath) into struct server.  Nothing outside this file includes
 * libvirt.h or libxml2.  libvirt's default error printing is turned off;
 * each failure is reported once into struct ferr.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
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
};

static void quiet(void *ud, virErrorPtr e)
{
    (void) ud;
    (void) e;
}

void virt_init(void)
{
    virInitialize();
    virSetErrorFunc(NULL, quiet);
    xmlInitParser();
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
    virConnectPtr conn = virConnectOpen(uri);

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
    *out = c;
    return 0;
}

void virt_close(struct vconn *c)
{
    if (c == NULL) {
        return;
    }
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
    int power;
    const char *vm;
};

static const struct state_row states[] = {
    { VIR_DOMAIN_NOSTATE, 0, "active" },
    { VIR_DOMAIN_RUNNING, 1, "active" },
    { VIR_DOMAIN_BLOCKED, 1, "active" },
    { VIR_DOMAIN_PAUSED, 3, "paused" },
    { VIR_DOMAIN_SHUTDOWN, 4, "stopped" },
    { VIR_DOMAIN_SHUTOFF, 4, "stopped" },
    { VIR_DOMAIN_CRASHED, 6, "error" },
    { VIR_DOMAIN_PMSUSPENDED, 7, "suspended" },
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
    for (i = 0; o != NULL && o->nodesetval != NULL
         && i < o->nodesetval->nodeNr && s->nmeta < SERVER_MAX_META; i++)
    {
        xmlNodePtr n = o->nodesetval->nodeTab[i];
        xmlChar *k = xmlGetProp(n, BAD_CAST "key");
        xmlChar *v = xmlNodeGetContent(n);

        if (k != NULL) {
            s->meta[s->nmeta].key = arena_strdup(q->a, (char *) k);
            s->meta[s->nmeta].value = arena_strdup(q->a,
                                                   v ? (char *) v : "");
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
        || virDomainGetState(d, &state, &reason, 0) < 0)
    {
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
    s->power_state = 0;
    s->vm_state = "error";
    for (i = 0; i < ARRAY_LEN(states); i++) {
        if (states[i].lv == state) {
            s->power_state = states[i].power;
            s->vm_state = states[i].vm;
        }
    }
    read_meta(&q, s);
    if (!s->has_metadata) {
        s->launched = s->power_state == 1 || s->power_state == 3;
    }
    if (s->flavor_id == NULL) {
        s->flavor_id = arena_printf(a, "ferry-%dc-%lldm", s->vcpus,
                                    (long long) s->ram_mb);
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

int virt_list(struct vconn *c, struct arena *a, struct server **out,
              size_t *n, struct ferr *err)
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
