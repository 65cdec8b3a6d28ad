/*
 * policy.h: oslo.policy-compatible rules (spec §7).
 *
 * Rules are loaded from a JSON object file mapping rule names to check
 * strings in the oslo.policy language: role:<r>, rule:<name>,
 * <field>:%(<target key>)s, <field>:<literal>, @ (always), ! (never),
 * and/or/not, parentheses; "" means always.  A rule absent from the file
 * denies.  Role names compare case-insensitively.
 */
#ifndef FERRY_POLICY_H
#define FERRY_POLICY_H

#include <stddef.h>
#include "ferry/err.h"

struct policy;

struct identity {
    const char *user_id;
    const char *project_id;
    const char *const *roles;
    size_t nroles;
};

/* What %(key)s may refer to: the resource's owner. */
struct policy_target {
    const char *project_id;
    const char *user_id;
};

struct policy *policy_new(void);
/* Parses one rule; -FE_CONFIG with the reason if the text does not parse.
 * Replaces an existing rule of the same name. */
int policy_set_rule(struct policy *p, const char *name, const char *text,
                    struct ferr *err);
/* Loads a policy.json; -FE_CONFIG naming the file and the reason. */
int policy_load(const char *path, struct policy **out, struct ferr *err);
void policy_free(struct policy *p);
/* 1 if the set holds a rule of that name (for start-up checks and tests). */
int policy_has_rule(const struct policy *p, const char *name);
size_t policy_count(const struct policy *p);

/* 1 allowed, 0 denied.  creds: the identity, plus is_admin computed from
 * the context_is_admin rule (as Nova's RequestContext does). */
int policy_check(const struct policy *p, const char *rule,
                 const struct identity *id, const struct policy_target *t);
/* context_is_admin evaluated for this identity (spec §7: target ignored). */
int policy_is_admin(const struct policy *p, const struct identity *id);

#endif
