/*
 * fuzz_policy.c: libFuzzer target for the policy loader and evaluator
 * (policy.c).
 *
 * Byte 0 picks the mode, the rest is its input:
 *   byte0 % 3 == 0  a policy.json document: loaded with policy_load() (from
 *                   a memfd, no file on disk), then every rule it names is
 *                   checked for each of a fixed set of identities and
 *                   targets
 *             == 1  rules as lines "name<TAB>check string" set with
 *                   policy_set_rule(), then checked the same way (the check
 *                   language without the JSON around it)
 *             == 2  the shipped policy/policy.json with a fuzzed request:
 *                   lines rule, user_id, project_id, target project_id,
 *                   target user_id, then roles; a line "-" is NULL
 * A load or a set either succeeds or fails with FE_CONFIG and a reason;
 * a check answers 0 or 1.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "ferry/err.h"
#include "ferry/json.h"
#include "ferry/policy.h"

#ifndef FUZZ_TOPDIR
#define FUZZ_TOPDIR "."
#endif

#define MAX_NAMES 64
#define MAX_ROLES 16

static int memfd = -1;
static char memfd_path[64];
static struct policy *shipped;
static char *shipped_names[MAX_NAMES];
static size_t nshipped;

static const char *const r_admin[] = { "admin" };
static const char *const r_member[] = { "member", "reader" };
static const char *const r_odd[] = { NULL, "ADMIN", "", "%(project_id)s" };

static const struct identity idents[] = {
    { "u-admin", "p-admin", r_admin, 1 },
    { "u1", "p1", r_member, 2 },
    { "u2", "p2", NULL, 0 },
    { NULL, NULL, r_odd, 4 },
    { "", "", r_member, 1 },
};

static const struct policy_target targets[] = {
    { "p1", "u1" },
    { "p2", "u9" },
    { NULL, NULL },
    { "", "%(project_id)s" },
};

static void check_all(const struct policy *p, char *const *names, size_t nnames)
{
    size_t i, j, k;
    int rc;

    for (i = 0; i < nnames; i++) {
        for (j = 0; j < sizeof(idents) / sizeof(idents[0]); j++) {
            rc = policy_is_admin(p, &idents[j]);
            if (rc != 0 && rc != 1) {
                abort();
            }
            for (k = 0; k < sizeof(targets) / sizeof(targets[0]); k++) {
                rc = policy_check(p, names[i], &idents[j], &targets[k]);
                if (rc != 0 && rc != 1) {
                    abort();
                }
            }
            (void) policy_check(p, names[i], &idents[j], NULL);
        }
    }
}

/* The names of a JSON object's members, at most MAX_NAMES (strdup()ed). */
static size_t object_names(const char *buf, size_t len, char **names)
{
    struct jiter it;
    const char *key;
    jnode *root, *val;
    size_t n;

    if (json_parse(buf, len, &root) != 0) {
        return 0;
    }
    n = 0;
    jnode_obj_iter(root, &it);
    while (n < MAX_NAMES && jnode_obj_next(&it, &key, &val)) {
        names[n] = strdup(key);
        if (names[n] == NULL) {
            abort();
        }
        n++;
    }
    json_free(root);
    return n;
}

static void free_names(char **names, size_t n)
{
    while (n > 0) {
        free(names[--n]);
    }
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    struct ferr err;
    const char *path = FUZZ_TOPDIR "/policy/policy.json";
    FILE *f;
    char *buf;
    long len;

    memfd = memfd_create("fuzz_policy", 0);
    if (memfd < 0) {
        perror("memfd_create");
        abort();
    }
    snprintf(memfd_path, sizeof(memfd_path), "/proc/self/fd/%d", memfd);

    memset(&err, 0, sizeof(err));
    if (policy_load(path, &shipped, &err) != 0) {
        fprintf(stderr, "fuzz_policy: %s\n", ferr_msg(&err));
        abort();
    }

    f = fopen(path, "rb");
    if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (len = ftell(f)) < 0) {
        abort();
    }
    rewind(f);
    buf = malloc((size_t) len);
    if (buf == NULL || fread(buf, 1, (size_t) len, f) != (size_t) len) {
        abort();
    }
    fclose(f);
    nshipped = object_names(buf, (size_t) len, shipped_names);
    free(buf);
    return 0;
}

static void fuzz_load(const char *buf, size_t len)
{
    struct policy *p = NULL;
    struct ferr err;
    char *names[MAX_NAMES];
    size_t n;

    if (ftruncate(memfd, 0) != 0
        || pwrite(memfd, buf, len, 0) != (ssize_t) len) {
        abort();
    }

    memset(&err, 0, sizeof(err));
    if (policy_load(memfd_path, &p, &err) != 0) {
        if (err.code != FE_CONFIG || ferr_msg(&err)[0] == '\0') {
            abort();
        }
        ferr_clear(&err);
        return;
    }

    n = object_names(buf, len, names);
    check_all(p, names, n);
    check_all(p, (char **) shipped_names, nshipped);
    free_names(names, n);
    policy_free(p);
}

static void fuzz_rules(const char *buf, size_t len)
{
    struct policy *p;
    struct ferr err;
    char *copy, *line, *next, *tab, *names[MAX_NAMES];
    size_t n;

    copy = strndup(buf, len);
    p = policy_new();
    if (copy == NULL || p == NULL) {
        abort();
    }

    n = 0;
    for (line = copy; line != NULL; line = next) {
        next = strchr(line, '\n');
        if (next != NULL) {
            *next++ = '\0';
        }
        tab = strchr(line, '\t');
        if (tab == NULL) {
            continue;
        }
        *tab = '\0';
        memset(&err, 0, sizeof(err));
        if (policy_set_rule(p, line, tab + 1, &err) != 0) {
            if (err.code != FE_CONFIG || ferr_msg(&err)[0] == '\0') {
                abort();
            }
            ferr_clear(&err);
            continue;
        }
        if (!policy_has_rule(p, line)) {
            abort();
        }
        if (n < MAX_NAMES) {
            names[n++] = line;
        }
    }

    check_all(p, names, n);
    policy_free(p);
    free(copy);
}

static void fuzz_request(const char *buf, size_t len)
{
    struct identity id;
    struct policy_target t;
    const char *roles[MAX_ROLES], *f[5];
    char *copy, *line, *next;
    size_t nf;
    int rc;

    copy = strndup(buf, len);
    if (copy == NULL) {
        abort();
    }

    memset(f, 0, sizeof(f));
    nf = 0;
    id.nroles = 0;
    for (line = copy; line != NULL; line = next) {
        next = strchr(line, '\n');
        if (next != NULL) {
            *next++ = '\0';
        }
        if (strcmp(line, "-") == 0) {
            line = NULL;
        }
        if (nf < 5) {
            f[nf++] = line;
        } else if (id.nroles < MAX_ROLES) {
            roles[id.nroles++] = line;
        }
    }

    /* A rule line that is one byte picks a shipped rule. */
    if (f[0] != NULL && strlen(f[0]) == 1 && nshipped > 0) {
        f[0] = shipped_names[(unsigned char) f[0][0] % nshipped];
    }

    id.user_id = f[1];
    id.project_id = f[2];
    id.roles = roles;
    t.project_id = f[3];
    t.user_id = f[4];

    rc = policy_check(shipped, f[0], &id, &t);
    if (rc != 0 && rc != 1) {
        abort();
    }
    (void) policy_is_admin(shipped, &id);

    free(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) {
        return 0;
    }

    switch (data[0] % 3) {
    case 0:
        fuzz_load((const char *) data + 1, size - 1);
        break;
    case 1:
        fuzz_rules((const char *) data + 1, size - 1);
        break;
    default:
        fuzz_request((const char *) data + 1, size - 1);
        break;
    }
    return 0;
}
