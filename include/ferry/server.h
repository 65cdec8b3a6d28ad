/*
 * server.h: a server (Nova instance) as ferry sees it: a libvirt domain on
 * one configured host, plus ferry's instance metadata in the domain XML
 * (namespace FERRY_XMLNS) and the task state from the store.
 *
 * Metadata elements (all optional): name, project, user, created and
 * launched_at (ISO 8601 UTC), locked (true/false), locked_reason,
 * description, flavor (attributes id, name, disk, ephemeral, swap), image,
 * availability_zone, key_name, and <meta key="k">v</meta> items.  Without
 * metadata a domain is a server named after the domain, owned by nobody
 * (tenant_id ""), launched if it is running or paused.
 *
 * Ownership: every string of a struct server is in the arena it was read
 * with (virt_lookup, virt_list, inventory_find: the request's) or a
 * static constant (vm_state, task_state and the "" defaults); none points
 * into a libvirt connection, the configuration or another server.
 */
#ifndef FERRY_SERVER_H
#define FERRY_SERVER_H

#include <stddef.h>
#include <stdint.h>
#include "ferry/status.h"

#define FERRY_XMLNS "https://ferry.invalid/xmlns/instance/1"
#define SERVER_MAX_META 32

struct server_meta {
    const char *key;
    const char *value;
};

struct server {
    char uuid[37];
    const char *name;          /* display name */
    const char *instance_name; /* libvirt domain name */
    const char *host;          /* configured host name */
    const char *node;          /* virConnectGetHostname() */
    const char *project_id;    /* "" when unknown */
    const char *user_id;
    int has_metadata;
    int power_state; /* enum power_state (status.h) */
    const char *vm_state;
    const char *task_state; /* NULL, or "migrating" */
    int locked;
    const char *locked_reason;
    const char *description;
    int64_t created;     /* epoch seconds, 0 unknown */
    int64_t launched_at; /* epoch seconds, 0 unset */
    int launched;
    int vcpus;
    int64_t ram_mb;
    int64_t disk_gb, ephemeral_gb, swap_mb;
    const char *flavor_id, *flavor_name;
    const char *image_id; /* "" when none */
    const char *az;
    const char *key_name;
    struct server_meta meta[SERVER_MAX_META];
    size_t nmeta;
    int has_tpm, has_sev, has_vdpa, has_hostdev;
    int progress;
    /* the latest fault (store), shown in ERROR; fault_code 0: none */
    int fault_code; /* FE_* */
    const char *fault_message;
    int64_t fault_created; /* µs */
};

#endif
