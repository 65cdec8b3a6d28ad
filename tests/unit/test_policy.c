/*
 * test_policy.c: the oslo.policy check language of policy.c (every
 * construct, precedence, rule chains, loops, substitution, literals, the
 * errors reported) and the shipped policy/policy.json giving the outcomes
 * of spec §7.  Run from the repository root (make check-unit does).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "ferry/policy.h"
#include "ferry/util.h"
#include "unit.h"

#define SHIPPED "policy/policy.json"

static const char *const r_admin[] = { "admin" };
static const char *const r_admin_uc[] = { "reader", "ADMIN" };
static const char *const r_member[] = { "member", "reader" };
static const char *const r_reader[] = { "reader" };
static const char *const r_other[] = { "_member_" };

static const struct identity admin_b = { "u-admin", "proj-b", r_admin, 1 };
static const struct identity admin_uc = { "u-admin", "proj-b", r_admin_uc, 2 };
static const struct identity member_a = { "u-mem", "proj-a", r_member, 2 };
static const struct identity reader_a = { "u-read", "proj-a", r_reader, 1 };
static const struct identity other_a = { "u-oth", "proj-a", r_other, 1 };
static const struct identity member_b = { "u-memb", "proj-b", r_member, 2 };
static const struct identity noroles_a = { "u-none", "proj-a", NULL, 0 };

static const struct policy_target tgt_a = { "proj-a", "u-mem" };
static const struct policy_target tgt_nouser = { "proj-a", NULL };

/* Evaluates text as the rule "t" (plus any rules already in p). */
static int ev(struct policy *p, const char *text, const struct identity *id,
              const struct policy_target *t)
{
    struct ferr err;

    memset(&err, 0, sizeof(err));
    if (policy_set_rule(p, "t", text, &err) != 0) {
        fprintf(stderr, "unexpected parse error: %s\n", ferr_msg(&err));
        ferr_clear(&err);
        return -1;
    }
    return policy_check(p, "t", id, t);
}

/* Returns the error code of a rule that must not parse; msg gets it. */
static int bad(struct policy *p, const char *text, char *msg, size_t size)
{
    struct ferr err;
    int rc;

    memset(&err, 0, sizeof(err));
    rc = policy_set_rule(p, "bad", text, &err);
    snprintf(msg, size, "%s", rc ? ferr_msg(&err) : "");
    ferr_clear(&err);
    return rc;
}

static void test_constructs(void)
{
    struct policy *p = policy_new();

    CHECK(p != NULL);

    /* Always, never, empty. */
    CHECK_INT(ev(p, "@", &reader_a, &tgt_a), 1);
    CHECK_INT(ev(p, "!", &admin_b, &tgt_a), 0);
    CHECK_INT(ev(p, "", &noroles_a, &tgt_a), 1);

    /* role: any of the roles, case-insensitively both ways. */
    CHECK_INT(ev(p, "role:admin", &admin_b, &tgt_a), 1);
    CHECK_INT(ev(p, "role:admin", &admin_uc, &tgt_a), 1);
    CHECK_INT(ev(p, "role:AdMiN", &admin_b, &tgt_a), 1);
    CHECK_INT(ev(p, "role:reader", &member_a, &tgt_a), 1);
    CHECK_INT(ev(p, "role:admin", &member_a, &tgt_a), 0);
    CHECK_INT(ev(p, "role:admin", &noroles_a, &tgt_a), 0);
    CHECK_INT(ev(p, "role:adm", &admin_b, &tgt_a), 0);
    CHECK_INT(ev(p, "role:admins", &admin_b, &tgt_a), 0);

    /* and / or / not, and the keywords in any case. */
    CHECK_INT(ev(p, "role:member and role:reader", &member_a, &tgt_a), 1);
    CHECK_INT(ev(p, "role:member and role:admin", &member_a, &tgt_a), 0);
    CHECK_INT(ev(p, "role:admin or role:reader", &reader_a, &tgt_a), 1);
    CHECK_INT(ev(p, "role:admin or role:member", &reader_a, &tgt_a), 0);
    CHECK_INT(ev(p, "not role:admin", &reader_a, &tgt_a), 1);
    CHECK_INT(ev(p, "not role:admin", &admin_b, &tgt_a), 0);
    CHECK_INT(ev(p, "not not role:admin", &admin_b, &tgt_a), 1);
    CHECK_INT(ev(p, "role:admin OR role:reader", &reader_a, &tgt_a), 1);
    CHECK_INT(ev(p, "NOT role:admin And @", &reader_a, &tgt_a), 1);
    CHECK_INT(ev(p, "  @\tand\n@  ", &reader_a, &tgt_a), 1);

    /* Precedence: not > and > or. */
    CHECK_INT(ev(p, "@ or ! and !", &reader_a, &tgt_a), 1);
    CHECK_INT(ev(p, "! and ! or @", &reader_a, &tgt_a), 1);
    CHECK_INT(ev(p, "! or @ and !", &reader_a, &tgt_a), 0);
    CHECK_INT(ev(p, "@ and ! or ! and @", &reader_a, &tgt_a), 0);
    CHECK_INT(ev(p, "! or ! or @ and @ and @", &reader_a, &tgt_a), 1);
    CHECK_INT(ev(p, "not @ and !", &reader_a, &tgt_a), 0);
    CHECK_INT(ev(p, "not ! and @", &reader_a, &tgt_a), 1);
    CHECK_INT(ev(p, "not @ or @", &reader_a, &tgt_a), 1);

    /* Parentheses, glued to checks or standing alone. */
    CHECK_INT(ev(p, "(@ or !) and !", &reader_a, &tgt_a), 0);
    CHECK_INT(ev(p, "@ and (! or @)", &reader_a, &tgt_a), 1);
    CHECK_INT(ev(p, "not (@ and !)", &reader_a, &tgt_a), 1);
    CHECK_INT(ev(p, "not (@ or !)", &reader_a, &tgt_a), 0);
    CHECK_INT(ev(p, "( ( role:reader ) )", &reader_a, &tgt_a), 1);
    CHECK_INT(ev(p, "((role:admin or role:reader))", &reader_a, &tgt_a), 1);
    CHECK_INT(ev(p, "(not role:admin)", &admin_b, &tgt_a), 0);

    /* %(key)s substitution from the target. */
    CHECK_INT(ev(p, "project_id:%(project_id)s", &member_a, &tgt_a), 1);
    CHECK_INT(ev(p, "project_id:%(project_id)s", &member_b, &tgt_a), 0);
    CHECK_INT(ev(p, "project_id:%(project_id)s", &admin_b, &tgt_a), 0);
    CHECK_INT(ev(p, "user_id:%(user_id)s", &member_a, &tgt_a), 1);
    CHECK_INT(ev(p, "user_id:%(user_id)s", &reader_a, &tgt_a), 0);
    CHECK_INT(ev(p, "(project_id:%(project_id)s)", &member_a, &tgt_a), 1);
    CHECK_INT(ev(p, "project_id:proj-%(project_id)s", &member_a, &tgt_a), 0);
    /* A key the target lacks makes the check false, even under not. */
    CHECK_INT(ev(p, "user_id:%(user_id)s", &member_a, &tgt_nouser), 0);
    CHECK_INT(ev(p, "user_id:%(user_id)s", &member_a, NULL), 0);
    CHECK_INT(ev(p, "project_id:%(tenant_id)s", &member_a, &tgt_a), 0);
    CHECK_INT(ev(p, "not project_id:%(tenant_id)s", &member_a, &tgt_a), 1);
    CHECK_INT(ev(p, "role:%(tenant_id)s", &member_a, &tgt_a), 0);
    /* Substitution in a role name. */
    {
        static const char *const r_pa[] = { "Owner-PROJ-A" };
        static const struct identity o = { "u", "proj-a", r_pa, 1 };

        CHECK_INT(ev(p, "role:owner-%(project_id)s", &o, &tgt_a), 1);
        CHECK_INT(ev(p, "role:owner-%(user_id)s", &o, &tgt_a), 0);
    }
    /* Literal text, compared exactly with the credential. */
    CHECK_INT(ev(p, "project_id:proj-a", &member_a, &tgt_a), 1);
    CHECK_INT(ev(p, "project_id:PROJ-A", &member_a, &tgt_a), 0);
    CHECK_INT(ev(p, "user_id:u-mem", &member_a, NULL), 1);
    CHECK_INT(ev(p, "project_id:50%%", &member_a, &tgt_a), 0);
    CHECK_INT(ev(p, "nosuchcred:x", &member_a, &tgt_a), 0);
    /* roles is a list credential: any element, case-sensitive. */
    CHECK_INT(ev(p, "roles:reader", &member_a, &tgt_a), 1);
    CHECK_INT(ev(p, "roles:READER", &member_a, &tgt_a), 0);

    /* is_admin is the context_is_admin rule (absent here: False). */
    CHECK_INT(ev(p, "is_admin:True", &admin_b, &tgt_a), 0);
    CHECK_INT(ev(p, "is_admin:False", &admin_b, &tgt_a), 1);
    CHECK(policy_set_rule(p, "context_is_admin", "role:admin", NULL) == 0);
    CHECK_INT(ev(p, "is_admin:True", &admin_b, &tgt_a), 1);
    CHECK_INT(ev(p, "is_admin:True", &admin_uc, &tgt_a), 1);
    CHECK_INT(ev(p, "is_admin:True", &member_a, &tgt_a), 0);
    CHECK_INT(ev(p, "is_admin:False", &member_a, &tgt_a), 1);
    CHECK_INT(ev(p, "is_admin:true", &admin_b, &tgt_a), 0);
    /* A context_is_admin that asks is_admin itself sees None, not itself. */
    CHECK(policy_set_rule(p, "context_is_admin", "role:admin or is_admin:True",
                          NULL)
          == 0);
    CHECK_INT(policy_is_admin(p, &admin_b), 1);
    CHECK_INT(policy_is_admin(p, &member_a), 0);
    CHECK(policy_set_rule(p, "context_is_admin", "is_admin:None", NULL) == 0);
    CHECK_INT(policy_is_admin(p, &member_a), 1);
    CHECK(policy_set_rule(p, "context_is_admin", "not is_admin:True", NULL)
          == 0);
    CHECK_INT(policy_is_admin(p, &member_a), 1);
    /* context_is_admin sees the caller's own project as the target. */
    CHECK(policy_set_rule(p, "context_is_admin", "project_id:%(project_id)s",
                          NULL)
          == 0);
    CHECK_INT(policy_is_admin(p, &member_b), 1);
    CHECK(policy_set_rule(p, "context_is_admin", "role:admin", NULL) == 0);

    /* Python literals on the left compare with the matched text. */
    CHECK_INT(ev(p, "True:%(project_id)s", &member_a, &tgt_a), 0);
    CHECK_INT(ev(p, "'proj-a':%(project_id)s", &member_a, &tgt_a), 1);
    CHECK_INT(ev(p, "\"proj-a\":%(project_id)s", &member_a, &tgt_a), 1);
    CHECK_INT(ev(p, "'proj-b':%(project_id)s", &member_a, &tgt_a), 0);
    CHECK_INT(ev(p, "True:True", &member_a, &tgt_a), 1);
    CHECK_INT(ev(p, "False:True", &member_a, &tgt_a), 0);
    CHECK_INT(ev(p, "None:None", &member_a, &tgt_a), 1);
    CHECK_INT(ev(p, "42:42", &member_a, &tgt_a), 1);
    CHECK_INT(ev(p, "+42:42", &member_a, &tgt_a), 1);
    /* A quoted match keeps its quotes (oslo compares the raw text). */
    CHECK_INT(ev(p, "project_id:'proj-a'", &member_a, &tgt_a), 0);

    /* Remote checks are never made. */
    CHECK_INT(ev(p, "http://example.org/check", &admin_b, &tgt_a), 0);
    CHECK_INT(ev(p, "not https://example.org/", &admin_b, &tgt_a), 1);

    policy_free(p);
}

static void test_rules(void)
{
    struct policy *p = policy_new();
    struct ferr err;

    memset(&err, 0, sizeof(err));

    /* Chains. */
    CHECK(policy_set_rule(p, "is_reader", "role:reader", &err) == 0);
    CHECK(policy_set_rule(p, "owner", "project_id:%(project_id)s", &err) == 0);
    CHECK(policy_set_rule(p, "reader_owner", "rule:is_reader and rule:owner",
                          &err)
          == 0);
    CHECK(policy_set_rule(p, "top", "rule:reader_owner or role:admin", &err)
          == 0);
    CHECK_INT(policy_check(p, "top", &reader_a, &tgt_a), 1);
    CHECK_INT(policy_check(p, "top", &member_b, &tgt_a), 0);
    CHECK_INT(policy_check(p, "top", &admin_b, &tgt_a), 1);
    CHECK_INT(policy_check(p, "top", &other_a, &tgt_a), 0);
    CHECK(policy_has_rule(p, "top"));
    CHECK(!policy_has_rule(p, "Top"));
    CHECK_INT(policy_count(p), 4);

    /* Missing rules deny, directly or when referenced. */
    CHECK_INT(policy_check(p, "nosuch", &admin_b, &tgt_a), 0);
    CHECK_INT(ev(p, "rule:nosuch", &admin_b, &tgt_a), 0);
    CHECK_INT(ev(p, "not rule:nosuch", &admin_b, &tgt_a), 1);
    CHECK_INT(ev(p, "rule:nosuch or @", &admin_b, &tgt_a), 1);

    /* Replacing a rule keeps one entry. */
    CHECK(policy_set_rule(p, "is_reader", "!", &err) == 0);
    CHECK_INT(policy_count(p), 5); /* 4 + "t" */
    CHECK_INT(policy_check(p, "top", &reader_a, &tgt_a), 0);

    /* Loops are false, and terminate quickly even when they branch. */
    CHECK(policy_set_rule(p, "loop", "rule:loop", &err) == 0);
    CHECK_INT(policy_check(p, "loop", &admin_b, &tgt_a), 0);
    CHECK(policy_set_rule(p, "l1", "rule:l2 or rule:l2 or rule:l2", &err) == 0);
    CHECK(policy_set_rule(p, "l2", "rule:l1 or rule:l1 or rule:l1", &err) == 0);
    CHECK_INT(policy_check(p, "l1", &admin_b, &tgt_a), 0);
    CHECK(policy_set_rule(p, "l3", "rule:l1 or role:admin", &err) == 0);
    CHECK_INT(policy_check(p, "l3", &admin_b, &tgt_a), 1);
    CHECK(policy_set_rule(p, "l4", "not rule:l4", &err) == 0);
    CHECK_INT(policy_check(p, "l4", &admin_b, &tgt_a), 1);
    /* A rule used twice on one path is not a loop. */
    CHECK(policy_set_rule(p, "twice", "rule:owner and rule:owner", &err) == 0);
    CHECK_INT(policy_check(p, "twice", &reader_a, &tgt_a), 1);
    CHECK_INT(err.code, 0);

    /* Defensive NULLs deny. */
    CHECK_INT(policy_check(NULL, "top", &admin_b, &tgt_a), 0);
    CHECK_INT(policy_check(p, "top", NULL, &tgt_a), 0);
    CHECK_INT(policy_is_admin(p, NULL), 0);

    policy_free(p);
    policy_free(NULL);
}

static void test_errors(void)
{
    static const struct {
        const char *text;
        const char *want; /* substring of the message */
    } cases[] = {
        { "role:admin and", "unexpected end of rule" },
        { "and role:admin", "unexpected 'and' at column 1" },
        { "role:a or or role:b", "unexpected 'or' at column 11" },
        { "(role:admin", "missing ')' at column 12" },
        { "role:admin)", "unexpected ')' at column 11" },
        { "()", "unexpected ')' at column 2" },
        { "role:a role:b", "unexpected check \"role:b\" at column 8" },
        { "not", "unexpected end of rule" },
        { "admin", "check \"admin\" at column 1 is not kind:match" },
        { "role:a or @@", "check \"@@\" at column 11" },
        { "'role:admin'", "unexpected quoted string \"role:admin\"" },
        { "   ", "only whitespace" },
        /* A word quoted from end to end is a string token, never a check. */
        { "'x':'x'", "unexpected quoted string \"x':'x\" at column 1" },
    };
    struct policy *p = policy_new();
    char msg[512];
    size_t i;
    int rc;

    for (i = 0; i < ARRAY_LEN(cases); i++) {
        rc = bad(p, cases[i].text, msg, sizeof(msg));
        CHECK_INT(rc, -FE_CONFIG);
        if (strstr(msg, cases[i].want) == NULL
            || strncmp(msg, "rule \"bad\": ", 12) != 0) {
            fprintf(stderr, "rule %s: message \"%s\" lacks \"%s\"\n",
                    cases[i].text, msg, cases[i].want);
            CHECK(0);
        }
    }
    /* A failed parse leaves no rule behind and an old one untouched. */
    CHECK(!policy_has_rule(p, "bad"));
    CHECK(policy_set_rule(p, "bad", "@", NULL) == 0);
    CHECK(bad(p, "(", msg, sizeof(msg)) == -FE_CONFIG);
    CHECK_INT(policy_check(p, "bad", &reader_a, &tgt_a), 1);

    /* Deep nesting is refused, not a stack overflow. */
    {
        char deep[1024];

        memset(deep, '(', 500);
        strcpy(deep + 500, "@");
        memset(deep + 501, ')', 500);
        deep[1001] = '\0';
        CHECK(bad(p, deep, msg, sizeof(msg)) == -FE_CONFIG);
        CHECK(strstr(msg, "nesting too deep") != NULL);
    }
    policy_free(p);
}

static int write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");

    if (f == NULL) {
        return -1;
    }
    fputs(text, f);
    return fclose(f);
}

static void test_load_errors(void)
{
    char path[] = "/tmp/test_policy_XXXXXX";
    struct policy *p = NULL;
    struct ferr err;
    int fd;

    fd = mkstemp(path);
    CHECK(fd >= 0);
    close(fd);

    memset(&err, 0, sizeof(err));
    CHECK(write_file(path, "{\"a\": \"@\", \"b\": \"role:x and\"}") == 0);
    CHECK_INT(policy_load(path, &p, &err), -FE_CONFIG);
    CHECK(p == NULL);
    CHECK(strncmp(ferr_msg(&err), path, strlen(path)) == 0);
    CHECK(strstr(ferr_msg(&err), ": rule \"b\": unexpected end of rule")
          != NULL);
    ferr_clear(&err);

    CHECK(write_file(path, "[\"role:admin\"]") == 0);
    CHECK_INT(policy_load(path, &p, &err), -FE_CONFIG);
    CHECK(strstr(ferr_msg(&err), "not a JSON object") != NULL);
    ferr_clear(&err);

    CHECK(write_file(path, "{\"a\": [\"role:admin\"]}") == 0);
    CHECK_INT(policy_load(path, &p, &err), -FE_CONFIG);
    CHECK(strstr(ferr_msg(&err), "rule \"a\": the check string is not")
          != NULL);
    ferr_clear(&err);

    CHECK(write_file(path, "{\"a\": \"@\"") == 0);
    CHECK_INT(policy_load(path, &p, &err), -FE_CONFIG);
    CHECK(strstr(ferr_msg(&err), "not valid JSON") != NULL);
    ferr_clear(&err);

    CHECK(write_file(path, "{\"a\": \"!\", \"a\": \"@\", \"b\": \"\"}") == 0);
    CHECK_INT(policy_load(path, &p, &err), 0);
    CHECK(p != NULL);
    if (p != NULL) {
        CHECK_INT(policy_count(p), 2);
        CHECK_INT(policy_check(p, "a", &reader_a, &tgt_a), 1);
        CHECK_INT(policy_check(p, "b", &reader_a, &tgt_a), 1);
        policy_free(p);
        p = NULL;
    }

    unlink(path);
    CHECK_INT(policy_load(path, &p, &err), -FE_CONFIG);
    CHECK(strncmp(ferr_msg(&err), path, strlen(path)) == 0);
    CHECK(strstr(ferr_msg(&err), "No such file") != NULL);
    ferr_clear(&err);
}

static void test_shipped(void)
{
    static const char *const rules[] = {
        "context_is_admin",
        "admin_or_owner",
        "admin_api",
        "project_member_api",
        "project_reader_api",
        "project_member_or_admin",
        "project_reader_or_admin",
        "os_compute_api:os-migrate-server:migrate_live",
        "os_compute_api:os-migrate-server:migrate",
        "os_compute_api:servers:migrations:index",
        "os_compute_api:servers:migrations:show",
        "os_compute_api:servers:migrations:delete",
        "os_compute_api:servers:migrations:force_complete",
        "os_compute_api:os-migrations:index",
        "os_compute_api:servers:show",
        "os_compute_api:servers:index",
        "os_compute_api:servers:detail",
        "os_compute_api:servers:index:get_all_tenants",
        "os_compute_api:servers:detail:get_all_tenants",
        "os_compute_api:servers:allow_all_filters",
        "os_compute_api:os-extended-server-attributes",
        "os_compute_api:servers:show:host_status",
        "os_compute_api:servers:show:flavor-extra-specs",
        "os_compute_api:os-instance-actions:list",
        "os_compute_api:os-instance-actions:show",
        "os_compute_api:os-instance-actions:events",
        "os_compute_api:os-instance-actions:events:details",
        "ferry:drains:create",
        "ferry:drains:index",
        "ferry:drains:show",
        "ferry:drains:cancel",
        "ferry:drains:enable_host",
    };
    static const char *const admin_only[] = {
        "os_compute_api:os-migrate-server:migrate_live",
        "os_compute_api:os-migrate-server:migrate",
        "os_compute_api:servers:migrations:index",
        "os_compute_api:servers:migrations:show",
        "os_compute_api:servers:migrations:delete",
        "os_compute_api:servers:migrations:force_complete",
        "os_compute_api:os-migrations:index",
        "os_compute_api:servers:index:get_all_tenants",
        "os_compute_api:servers:detail:get_all_tenants",
        "os_compute_api:servers:allow_all_filters",
        "os_compute_api:os-extended-server-attributes",
        "os_compute_api:servers:show:host_status",
        /* nova/policies/instance_actions.py: base.ADMIN */
        "os_compute_api:os-instance-actions:events",
        "os_compute_api:os-instance-actions:events:details",
        /* ferry's own (api_drains.c) */
        "ferry:drains:create",
        "ferry:drains:index",
        "ferry:drains:show",
        "ferry:drains:cancel",
        "ferry:drains:enable_host",
    };
    static const char *const readers[] = {
        "os_compute_api:servers:show",
        "os_compute_api:servers:index",
        "os_compute_api:servers:detail",
        "os_compute_api:servers:show:flavor-extra-specs",
        /* PROJECT_READER_OR_ADMIN or the deprecated ADMIN_OR_OWNER */
        "os_compute_api:os-instance-actions:list",
        "os_compute_api:os-instance-actions:show",
        "project_reader_or_admin",
        "project_member_or_admin",
        "project_member_api",
        "project_reader_api",
        "admin_or_owner",
    };
    struct policy *p = NULL;
    struct ferr err;
    size_t i;

    memset(&err, 0, sizeof(err));
    if (policy_load(SHIPPED, &p, &err) != 0) {
        fprintf(stderr, "%s\n", ferr_msg(&err));
        CHECK(0);
        ferr_clear(&err);
        return;
    }

    for (i = 0; i < ARRAY_LEN(rules); i++) {
        if (!policy_has_rule(p, rules[i])) {
            fprintf(stderr, "shipped policy lacks %s\n", rules[i]);
            CHECK(0);
        }
    }

    /* §7: context_is_admin is role:admin whatever the project. */
    CHECK_INT(policy_is_admin(p, &admin_b), 1);
    CHECK_INT(policy_is_admin(p, &admin_uc), 1);
    CHECK_INT(policy_is_admin(p, &member_a), 0);
    CHECK_INT(policy_is_admin(p, &noroles_a), 0);

    for (i = 0; i < ARRAY_LEN(admin_only); i++) {
        /* The admin of another project passes; the owners do not. */
        CHECK_INT(policy_check(p, admin_only[i], &admin_b, &tgt_a), 1);
        CHECK_INT(policy_check(p, admin_only[i], &admin_uc, &tgt_a), 1);
        CHECK_INT(policy_check(p, admin_only[i], &member_a, &tgt_a), 0);
        CHECK_INT(policy_check(p, admin_only[i], &reader_a, &tgt_a), 0);
        CHECK_INT(policy_check(p, admin_only[i], &other_a, &tgt_a), 0);
        CHECK_INT(policy_check(p, admin_only[i], &member_b, &tgt_a), 0);
    }

    for (i = 0; i < ARRAY_LEN(readers); i++) {
        /* Any role, or none, in the owning project passes (the deprecated
         * admin_or_owner fallback); admins anywhere pass; others fail. */
        CHECK_INT(policy_check(p, readers[i], &member_a, &tgt_a), 1);
        CHECK_INT(policy_check(p, readers[i], &reader_a, &tgt_a), 1);
        CHECK_INT(policy_check(p, readers[i], &other_a, &tgt_a), 1);
        CHECK_INT(policy_check(p, readers[i], &noroles_a, &tgt_a), 1);
        CHECK_INT(policy_check(p, readers[i], &admin_b, &tgt_a), 1);
        CHECK_INT(policy_check(p, readers[i], &member_b, &tgt_a), 0);
        CHECK_INT(policy_check(p, readers[i], &member_a, NULL), 0);
    }
    CHECK_INT(policy_check(p, "admin_api", &admin_b, &tgt_a), 1);
    CHECK_INT(policy_check(p, "admin_api", &member_a, &tgt_a), 0);

    /* Absent rules deny, even the admin. */
    CHECK_INT(policy_check(p, "os_compute_api:os-evacuate", &admin_b, &tgt_a),
              0);

    policy_free(p);
}

/*
 * Rules that share sub-rules: each level names the next twice, so a check
 * that evaluated every reference would take 2^40 steps (found by
 * fuzz_policy).  Each rule is evaluated once per check, and a policy whose
 * rules loop as well as branch is cut off after a bounded number of steps.
 * Without that the check never returns: alarm() ends the test.
 */
static void test_shared_rules(void)
{
    struct policy *p = policy_new();
    struct ferr err;
    char name[16], text[64];
    int i;

    memset(&err, 0, sizeof(err));
    alarm(20);

    for (i = 0; i < 40; i++) {
        snprintf(name, sizeof(name), "or%d", i);
        snprintf(text, sizeof(text), "rule:or%d or rule:or%d", i + 1, i + 1);
        CHECK(policy_set_rule(p, name, text, &err) == 0);
        snprintf(name, sizeof(name), "and%d", i);
        snprintf(text, sizeof(text), "rule:and%d and rule:and%d", i + 1, i + 1);
        CHECK(policy_set_rule(p, name, text, &err) == 0);
        snprintf(name, sizeof(name), "loop%d", i);
        snprintf(text, sizeof(text), "rule:loop%d or rule:loop%d", i + 1,
                 i + 1);
        CHECK(policy_set_rule(p, name, text, &err) == 0);
    }
    CHECK(policy_set_rule(p, "or40", "role:reader", &err) == 0);
    CHECK(policy_set_rule(p, "and40", "role:reader", &err) == 0);
    CHECK(policy_set_rule(p, "loop40", "rule:loop0 or role:nobody", &err) == 0);

    CHECK_INT(policy_check(p, "or0", &reader_a, &tgt_a), 1);
    CHECK_INT(policy_check(p, "or0", &admin_b, &tgt_a), 0);
    CHECK_INT(policy_check(p, "and0", &reader_a, &tgt_a), 1);
    CHECK_INT(policy_check(p, "and0", &admin_b, &tgt_a), 0);
    CHECK_INT(policy_check(p, "or20", &reader_a, &tgt_a), 1);
    CHECK_INT(policy_check(p, "loop0", &reader_a, &tgt_a), 0);
    CHECK_INT(policy_check(p, "loop39", &reader_a, &tgt_a), 0);
    CHECK_INT(err.code, 0);

    /* A result that depends on the path is not reused: c is true under a
     * (where rule:a is a loop) and true alone, d sees both. */
    CHECK(policy_set_rule(p, "a", "rule:c", &err) == 0);
    CHECK(policy_set_rule(p, "c", "not rule:a", &err) == 0);
    CHECK(policy_set_rule(p, "d", "rule:a and rule:c", &err) == 0);
    CHECK_INT(policy_check(p, "d", &reader_a, &tgt_a), 1);
    CHECK_INT(policy_check(p, "a", &reader_a, &tgt_a), 1);

    /* The bound grows with the policy: one long loop-free rule passes. */
    {
        struct sbuf big;

        sbuf_init(&big);
        for (i = 0; i < 3000; i++) {
            sbuf_puts(&big, "role:reader and ");
        }
        sbuf_puts(&big, "@");
        CHECK(policy_set_rule(p, "big", big.buf, &err) == 0);
        CHECK(policy_set_rule(p, "bigger", "rule:big and rule:big", &err) == 0);
        CHECK_INT(policy_check(p, "bigger", &reader_a, &tgt_a), 1);
        CHECK_INT(policy_check(p, "bigger", &admin_b, &tgt_a), 0);
        sbuf_free(&big);
    }

    alarm(0);
    policy_free(p);
}

/*
 * A rule of 400000 "and"s (or "or"s) fits the 16 MB policy file; its
 * evaluation recursed once per operator and overflowed the stack (found by
 * fuzz_policy).
 */
static void test_long_chains(void)
{
    static const char *const ops[] = { " and ", " or " };
    struct policy *p = policy_new();
    struct ferr err;
    struct sbuf text;
    size_t i, k;

    memset(&err, 0, sizeof(err));
    for (k = 0; k < ARRAY_LEN(ops); k++) {
        sbuf_init(&text);
        for (i = 0; i < 400000; i++) {
            sbuf_puts(&text, k == 0 ? "@" : "!");
            sbuf_puts(&text, ops[k]);
        }
        sbuf_puts(&text, "role:reader");
        CHECK(policy_set_rule(p, "long", text.buf, &err) == 0);
        CHECK_INT(policy_check(p, "long", &reader_a, &tgt_a), 1);
        CHECK_INT(policy_check(p, "long", &admin_b, &tgt_a), 0);
        sbuf_free(&text);
    }

    /* Mixed chains keep precedence and order. */
    CHECK_INT(ev(p, "! and @ or @ and @", &reader_a, &tgt_a), 1);
    CHECK_INT(ev(p, "@ and ! or ! and @ or !", &reader_a, &tgt_a), 0);
    CHECK_INT(ev(p, "@ or ! and !", &reader_a, &tgt_a), 1);
    CHECK_INT(ev(p, "not @ or not ! and @ and role:reader", &reader_a, &tgt_a),
              1);
    CHECK_INT(ev(p, "not @ or not ! and @ and role:reader", &admin_b, &tgt_a),
              0);
    CHECK_INT(err.code, 0);
    policy_free(p);
}

int main(void)
{
    test_constructs();
    test_rules();
    test_shared_rules();
    test_long_chains();
    test_errors();
    test_load_errors();
    test_shipped();
    return unit_done("test_policy");
}
