/*
 * api_versions.c: the version documents (spec §1.4): GET /, /v2[/],
 * /v2.1[/], and the 300 Multiple Choices for any other path.  Hrefs are
 * built from the request scheme, Host and mount prefix.
 */
#include <string.h>
#include "ferry/api.h"
#include "ferry/fault.h"
#include "ferry/microversion.h"
#include "ferry/route.h"

struct vdoc {
    const char *id, *status, *version, *min_version, *updated, *path;
    const char *media;
};

static const struct vdoc docs[] = {
    { "v2.0", "SUPPORTED", "", "", "2011-01-21T11:33:21Z", "v2",
      "application/vnd.openstack.compute+json;version=2" },
    { "v2.1", "CURRENT", "2.93", "2.1", "2013-07-23T11:33:21Z", "v2.1",
      "application/vnd.openstack.compute+json;version=2.1" },
};

static void self_link(struct jw *j, struct req *r, const struct vdoc *d,
                      const char *rest)
{
    jw_obj_open(j);
    jw_kstr(j, "rel", "self");
    jw_kstr(j, "href",
            arena_printf(r->arena, "%s/%s/%s", r->link_url, d->path, rest));
    jw_obj_close(j);
}

static void media_types(struct jw *j, const struct vdoc *d)
{
    jw_key(j, "media-types");
    jw_arr_open(j);
    jw_obj_open(j);
    jw_kstr(j, "base", "application/json");
    jw_kstr(j, "type", d->media);
    jw_obj_close(j);
    jw_arr_close(j);
}

static void head(struct jw *j, const struct vdoc *d)
{
    jw_kstr(j, "id", d->id);
    jw_kstr(j, "status", d->status);
    jw_kstr(j, "version", d->version);
    jw_kstr(j, "min_version", d->min_version);
    jw_kstr(j, "updated", d->updated);
}

int h_versions_root(struct app *app, struct req *r, struct resp *w,
                    struct ferr *err)
{
    struct jw j;
    size_t i;

    resp_ok(w);
    jw_init(&j, &w->body);
    jw_obj_open(&j);
    jw_key(&j, "versions");
    jw_arr_open(&j);
    for (i = 0; i < ARRAY_LEN(docs); i++) {
        jw_obj_open(&j);
        head(&j, &docs[i]);
        jw_key(&j, "links");
        jw_arr_open(&j);
        self_link(&j, r, &docs[i], "");
        jw_arr_close(&j);
        jw_obj_close(&j);
    }
    jw_arr_close(&j);
    jw_obj_close(&j);
    return 0;
}

static void version_doc(struct req *r, struct resp *w, const struct vdoc *d)
{
    struct jw j;

    resp_ok(w);
    jw_init(&j, &w->body);
    jw_obj_open(&j);
    jw_key(&j, "version");
    jw_obj_open(&j);
    head(&j, d);
    jw_key(&j, "links");
    jw_arr_open(&j);
    self_link(&j, r, d, "");
    jw_obj_open(&j);
    jw_kstr(&j, "rel", "describedby");
    jw_kstr(&j, "type", "text/html");
    jw_kstr(&j, "href", "http://docs.openstack.org/");
    jw_obj_close(&j);
    jw_arr_close(&j);
    media_types(&j, d);
    jw_obj_close(&j);
    jw_obj_close(&j);
}

int h_version_v2(struct app *app, struct req *r, struct resp *w,
                 struct ferr *err)
{
    version_doc(r, w, &docs[0]);
    return 0;
}

int h_version_v21(struct app *app, struct req *r, struct resp *w,
                  struct ferr *err)
{
    struct mv mv;
    int rc =
        mv_parse(r->arena, r->hdr_api_version, r->hdr_nova_version, &mv, err);

    if (rc == -FE_BADREQ) {
        return rc;
    }
    api_version_headers(r, w, mv.echo);
    if (rc < 0) {
        return rc;
    }
    /* E2 is a route of the API like the others: step 5 of spec 3.1 */
    if (!route_content_type_ok(r->content_type)) {
        return ferr_set(err, FE_MEDIATYPE, "Unsupported Content-Type");
    }
    version_doc(r, w, &docs[1]);
    return 0;
}

int h_choices(struct app *app, struct req *r, struct resp *w, struct ferr *err)
{
    const char *rest = r->uri[0] == '/' ? r->uri + 1 : r->uri;
    struct jw j;
    size_t i;

    resp_multiple_choices(w);
    jw_init(&j, &w->body);
    jw_obj_open(&j);
    jw_key(&j, "choices");
    jw_arr_open(&j);
    for (i = 0; i < ARRAY_LEN(docs); i++) {
        jw_obj_open(&j);
        jw_kstr(&j, "id", docs[i].id);
        jw_kstr(&j, "status", docs[i].status);
        jw_key(&j, "links");
        jw_arr_open(&j);
        self_link(&j, r, &docs[i], rest);
        jw_arr_close(&j);
        media_types(&j, &docs[i]);
        jw_obj_close(&j);
    }
    jw_arr_close(&j);
    jw_obj_close(&j);
    return 0;
}
