/*
 * virt.h: the only door to libvirt (and to libxml2, which reads the
 * domain XML libvirt returns).  libvirt errors are reported once, here,
 * as FE_UNAVAILABLE (host unreachable) or FE_INTERNAL, with libvirt's text.
 */
#ifndef FERRY_VIRT_H
#define FERRY_VIRT_H

#include <stddef.h>
#include "ferry/err.h"
#include "ferry/server.h"
#include "ferry/util.h"

struct vconn;

void virt_init(void);
int  virt_connect(const char *uri, struct vconn **out, struct ferr *err);
void virt_close(struct vconn *c);
int  virt_alive(struct vconn *c);
/* The hypervisor's host name (cached per connection). */
const char *virt_hostname(struct vconn *c);

/* 1 and *s filled (strings from a) if the domain exists, 0 if not. */
int virt_lookup(struct vconn *c, const char *uuid, struct arena *a,
                struct server *s, struct ferr *err);
/* Every domain of the host; *out is an arena array of *n servers. */
int virt_list(struct vconn *c, struct arena *a, struct server **out,
              size_t *n, struct ferr *err);

#endif
