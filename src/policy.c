/*
 * policy.c: oslo.policy-compatible rules (spec §7).
 *
 * Owns the rule set: the parser of the oslo.policy check language, the
 * evaluator and the loader of policy.json.  Each rule is parsed once into a
 * small tree (an array of nodes, children by index) whose strings live in
 * the rule's own pool; rules are kept sorted by name so that rule:NAME is a
 * binary search.  Evaluation reads the set only and keeps no state outside
 * the call, so one set may be shared by every worker.
 *
 * The language is oslo.policy 4.0's (_parser.py, _checks.py): words are
 * split on whitespace, leading '(' and trailing ')' of a word are tokens of
 * their own, and/or/not are keywords in any case, "" is always, "@" always,
 * "!" never.  Precedence: not > and > or.  Checks are kind:match:
 *   rule:NAME     the named rule; a missing rule, or a rule already being
 *                 evaluated on the current path (a loop), is false
 *   role:R        R with %(key)s substituted from the target, compared with
 *                 each role case-insensitively
 *   http:, https: remote checks: parsed, always false (ferry calls nobody)
 *   FIELD:MATCH   MATCH with %(key)s substituted from the target (a missing
 *                 key makes the check false), compared as text with str()
 *                 of the credential FIELD (user_id, project_id, is_admin,
 *                 roles: any element), or, if FIELD is a Python literal
 *                 (True, False, None, an integer, a quoted string), with
 *                 str() of that literal.  A NULL credential is Python None.
 * Unlike oslo, which logs and denies a rule it cannot parse, a syntax error
 * is reported (-FE_CONFIG) so the operator learns of it at start-up.
 * A check evaluates at most the policy's node count plus POLICY_MAX_STEPS
 * nodes, and one that would need more denies: each rule of a loop-free
 * policy is evaluated at most once per check, so only rules that loop (or
 * chain deeper than POLICY_MAX_CHAIN) and branch can reach the bound,
 * where naive evaluation takes exponential time (oslo recurses until
 * RecursionError).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ferry/err.h"
#include "ferry/json.h"
#include "ferry/policy.h"

#define POLICY_MAX_NEST 100   /* parentheses and not, per rule */
#define POLICY_MAX_CHAIN 64   /* rule:NAME depth at evaluation */
#define POLICY_MAX_STEPS 4096 /* check steps beyond the nodes */
#define POLICY_MAX_FILE (16 * 1024 * 1024)

enum pn_kind {
    PN_TRUE,
    PN_FALSE,
    PN_AND,
    PN_OR,
    PN_NOT,
    PN_RULE,
    PN_ROLE,
    PN_HTTP,
    PN_GENERIC
};

/* How the left side of a generic check is read. */
enum pf_kind {
    PF_CRED,   /* a credential name */
    PF_LITERAL /* a Python literal; lit holds str() of it */
};

struct pnode {
    unsigned char kind;  /* enum pn_kind */
    unsigned char field; /* enum pf_kind, PN_GENERIC only */
    int a, b;            /* children: AND/OR a, b; NOT a */
    const char *left;    /* PN_GENERIC: credential name or literal */
    const char *match;   /* right side (rule name, role, template) */
};

struct prule {
    char *name;
    char *text;
    char *pool; /* the node strings */
    struct pnode *nodes;
    int nnodes;
    int root;
};

struct policy {
    struct prule *rules; /* sorted by name (strcmp) */
    size_t n;
    size_t cap;
    size_t nodes; /* of all rules: bounds a check's steps */
};

enum tok_kind {
    TK_LPAREN,
    TK_RPAREN,
    TK_AND,
    TK_OR,
    TK_NOT,
    TK_CHECK,
    TK_STRING,
    TK_END
};

struct token {
    enum tok_kind kind;
    size_t col;    /* 1-based offset in the check string */
    const char *s; /* TK_CHECK, TK_STRING: the text */
    size_t len;
};

struct parser {
    const char *text;
    struct token *toks;
    size_t ntoks;
    size_t pos;
    struct pnode *nodes;
    int nnodes;
    char *pool;
    size_t poollen;
    int nest;
    char reason[256];
};

/*
 * The credentials of one check: the identity plus is_admin.  Rules can
 * share sub-rules (a DAG: r0 = "rule:r1 or rule:r1", r1 = ...), which
 * naive evaluation visits exponentially often, so a rule's result is kept
 * for the rest of the check (memo, by index in p->rules) once it is known
 * not to depend on the path: no loop was cut and no limit hit while it was
 * evaluated (cuts unchanged).  Loops can still branch exponentially, so
 * steps bounds the whole check (see the top of the file).
 */
struct pctx {
    const struct policy *p;
    const struct identity *id;
    const struct policy_target *t;
    int is_admin; /* -1 None, 0 False, 1 True */
    const struct prule *stack[POLICY_MAX_CHAIN];
    int depth;
    signed char *memo; /* -1 unknown, 0, 1; or NULL */
    unsigned long cuts;
    unsigned long steps;
};

static const char *tok_names[] = { "'('",           "')'",        "'and'",
                                   "'or'",          "'not'",      "check",
                                   "quoted string", "end of rule" };

/* Python's str.isspace() for the ASCII range (re's \s for str). */
static int py_space(unsigned char c)
{
    return c == ' ' || (c >= '\t' && c <= '\r') || (c >= 0x1c && c <= 0x1f);
}

static unsigned char ascii_lower(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? (unsigned char) (c + 32) : c;
}

static int word_is(const char *s, size_t len, const char *kw)
{
    size_t i;

    if (strlen(kw) != len) {
        return 0;
    }
    for (i = 0; i < len; i++) {
        if (ascii_lower((unsigned char) s[i]) != (unsigned char) kw[i]) {
            return 0;
        }
    }
    return 1;
}

static void push_tok(struct parser *ps, enum tok_kind kind, size_t off,
                     const char *s, size_t len)
{
    struct token *t = &ps->toks[ps->ntoks++];

    t->kind = kind;
    t->col = off + 1;
    t->s = s;
    t->len = len;
}

/* oslo's _parse_tokenize; toks must hold strlen(text) + 1 entries. */
static void tokenize(struct parser *ps)
{
    const char *p = ps->text, *w, *end, *c;
    size_t wlen, trail, i;

    for (;;) {
        while (*p != '\0' && py_space((unsigned char) *p)) {
            p++;
        }
        if (*p == '\0') {
            break;
        }
        w = p;
        while (*p != '\0' && !py_space((unsigned char) *p)) {
            p++;
        }
        end = p;

        while (w < end && *w == '(') {
            push_tok(ps, TK_LPAREN, (size_t) (w - ps->text), w, 1);
            w++;
        }
        if (w == end) {
            continue;
        }
        wlen = (size_t) (end - w);

        c = end;
        while (c > w && c[-1] == ')') {
            c--;
        }
        trail = (size_t) (end - c);

        if (word_is(w, (size_t) (c - w), "and")) {
            push_tok(ps, TK_AND, (size_t) (w - ps->text), w, 3);
        } else if (word_is(w, (size_t) (c - w), "or")) {
            push_tok(ps, TK_OR, (size_t) (w - ps->text), w, 2);
        } else if (word_is(w, (size_t) (c - w), "not")) {
            push_tok(ps, TK_NOT, (size_t) (w - ps->text), w, 3);
        } else if (c > w) {
            /* oslo tests the quotes on the word with its ')'s. */
            if (wlen >= 2 && (w[0] == '"' || w[0] == '\'') && end[-1] == w[0]) {
                push_tok(ps, TK_STRING, (size_t) (w - ps->text), w + 1,
                         wlen - 2);
            } else {
                push_tok(ps, TK_CHECK, (size_t) (w - ps->text), w,
                         (size_t) (c - w));
            }
        }

        for (i = 0; i < trail; i++) {
            push_tok(ps, TK_RPAREN, (size_t) (c + i - ps->text), c + i, 1);
        }
    }
    push_tok(ps, TK_END, strlen(ps->text), p, 0);
}

static int parse_fail(struct parser *ps, const struct token *t,
                      const char *what)
{
    if (what != NULL) {
        snprintf(ps->reason, sizeof(ps->reason), "%s at column %zu", what,
                 t->col);
    } else if (t->kind == TK_END) {
        snprintf(ps->reason, sizeof(ps->reason), "unexpected end of rule");
    } else if (t->kind == TK_CHECK || t->kind == TK_STRING) {
        snprintf(ps->reason, sizeof(ps->reason),
                 "unexpected %s \"%.*s\" at column %zu", tok_names[t->kind],
                 (int) (t->len > 64 ? 64 : t->len), t->s, t->col);
    } else {
        snprintf(ps->reason, sizeof(ps->reason), "unexpected %s at column %zu",
                 tok_names[t->kind], t->col);
    }
    return -1;
}

static int new_node(struct parser *ps, enum pn_kind kind, int a, int b)
{
    struct pnode *n = &ps->nodes[ps->nnodes];

    memset(n, 0, sizeof(*n));
    n->kind = (unsigned char) kind;
    n->a = a;
    n->b = b;
    return ps->nnodes++;
}

static const char *pool_add(struct parser *ps, const char *s, size_t len)
{
    char *d = ps->pool + ps->poollen;

    memcpy(d, s, len);
    d[len] = '\0';
    ps->poollen += len + 1;
    return d;
}

/*
 * The left side of a generic check as ast.literal_eval would read it: 1 and
 * str() of the value stored if it is True, False, None, a decimal integer
 * or a quoted string without escapes; 0 if it names a credential.
 */
static int py_literal(struct parser *ps, struct pnode *n, const char *s,
                      size_t len)
{
    size_t i, start;

    if ((len == 4 && memcmp(s, "True", 4) == 0)
        || (len == 5 && memcmp(s, "False", 5) == 0)
        || (len == 4 && memcmp(s, "None", 4) == 0)) {
        n->left = pool_add(ps, s, len);
        return 1;
    }

    if (len >= 2 && (s[0] == '\'' || s[0] == '"') && s[len - 1] == s[0]) {
        for (i = 1; i < len - 1; i++) {
            if (s[i] == s[0] || s[i] == '\\') {
                return 0;
            }
        }
        n->left = pool_add(ps, s + 1, len - 2);
        return 1;
    }

    start = (len > 0 && (s[0] == '+' || s[0] == '-')) ? 1 : 0;
    if (len == start) {
        return 0;
    }
    for (i = start; i < len; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return 0;
        }
    }
    if (s[start] == '0') {
        for (i = start; i < len; i++) {
            if (s[i] != '0') {
                return 0; /* 007: a SyntaxError in Python 3 */
            }
        }
        n->left = pool_add(ps, "0", 1);
        return 1;
    }
    if (s[0] == '+') {
        s++;
        len--;
    }
    n->left = pool_add(ps, s, len);
    return 1;
}

/* oslo's _parse_check. */
static int parse_check(struct parser *ps, const struct token *t)
{
    const char *colon;
    size_t klen;
    struct pnode *n;
    int i;

    if (t->len == 1 && t->s[0] == '!') {
        return new_node(ps, PN_FALSE, -1, -1);
    }
    if (t->len == 1 && t->s[0] == '@') {
        return new_node(ps, PN_TRUE, -1, -1);
    }

    colon = memchr(t->s, ':', t->len);
    if (colon == NULL) {
        snprintf(ps->reason, sizeof(ps->reason),
                 "check \"%.*s\" at column %zu is not kind:match, @ or !",
                 (int) (t->len > 64 ? 64 : t->len), t->s, t->col);
        return -1;
    }
    klen = (size_t) (colon - t->s);

    if (klen == 4 && memcmp(t->s, "rule", 4) == 0) {
        i = new_node(ps, PN_RULE, -1, -1);
    } else if (klen == 4 && memcmp(t->s, "role", 4) == 0) {
        i = new_node(ps, PN_ROLE, -1, -1);
    } else if ((klen == 4 && memcmp(t->s, "http", 4) == 0)
               || (klen == 5 && memcmp(t->s, "https", 5) == 0)) {
        i = new_node(ps, PN_HTTP, -1, -1);
    } else {
        i = new_node(ps, PN_GENERIC, -1, -1);
        n = &ps->nodes[i];
        if (py_literal(ps, n, t->s, klen)) {
            n->field = PF_LITERAL;
        } else {
            n->field = PF_CRED;
            n->left = pool_add(ps, t->s, klen);
        }
    }
    n = &ps->nodes[i];
    n->match = pool_add(ps, colon + 1, t->len - klen - 1);
    return i;
}

static int parse_or(struct parser *ps);

static int parse_unary(struct parser *ps)
{
    const struct token *t = &ps->toks[ps->pos];
    int i;

    switch (t->kind) {
    case TK_NOT:
    case TK_LPAREN:
        if (++ps->nest > POLICY_MAX_NEST) {
            return parse_fail(ps, t, "nesting too deep");
        }
        ps->pos++;
        if (t->kind == TK_NOT) {
            i = parse_unary(ps);
            if (i < 0) {
                return -1;
            }
            i = new_node(ps, PN_NOT, i, -1);
        } else {
            i = parse_or(ps);
            if (i < 0) {
                return -1;
            }
            if (ps->toks[ps->pos].kind != TK_RPAREN) {
                return parse_fail(
                    ps, &ps->toks[ps->pos],
                    ps->toks[ps->pos].kind == TK_END ? "missing ')'" : NULL);
            }
            ps->pos++;
        }
        ps->nest--;
        return i;

    case TK_CHECK:
        ps->pos++;
        return parse_check(ps, t);

    default:
        return parse_fail(ps, t, NULL);
    }
}

/*
 * operand (tok operand)*.  The chain a OP b OP c is built leaning right,
 * OP(a, OP(b, c)), so that eval_node() walks it in a loop instead of
 * recursing once per operator (a rule of 400000 "and"s overflowed the
 * stack); and/or being associative, the result and the left-to-right
 * short-circuit order are the same.
 */
static int parse_chain(struct parser *ps, enum tok_kind tok, enum pn_kind kind,
                       int (*operand)(struct parser *))
{
    int head, tail, l, r, n;

    l = operand(ps);
    head = l;
    tail = -1;
    while (l >= 0 && ps->toks[ps->pos].kind == tok) {
        ps->pos++;
        r = operand(ps);
        if (r < 0) {
            return -1;
        }
        if (tail < 0) {
            head = tail = new_node(ps, kind, l, r);
        } else {
            n = new_node(ps, kind, ps->nodes[tail].b, r);
            ps->nodes[tail].b = n;
            tail = n;
        }
    }
    return head;
}

static int parse_and(struct parser *ps)
{
    return parse_chain(ps, TK_AND, PN_AND, parse_unary);
}

static int parse_or(struct parser *ps)
{
    return parse_chain(ps, TK_OR, PN_OR, parse_and);
}

static void prule_free(struct prule *r)
{
    free(r->name);
    free(r->text);
    free(r->pool);
    free(r->nodes);
}

/*
 * Parses text into r (name left to the caller).  0, or -1 with the reason
 * in reason[]; -2 when out of memory.
 */
static int prule_parse(struct prule *r, const char *text, char *reason,
                       size_t rsize)
{
    struct parser ps;
    size_t len = strlen(text);
    int root;

    memset(&ps, 0, sizeof(ps));
    memset(r, 0, sizeof(*r));
    ps.text = text;

    /* Every byte yields at most one token; every token at most one node. */
    ps.toks = malloc((len + 1) * sizeof(struct token));
    ps.nodes = malloc((len + 1) * sizeof(struct pnode));
    ps.pool = malloc(2 * len + 2);
    r->text = strdup(text);
    if (ps.toks == NULL || ps.nodes == NULL || ps.pool == NULL
        || r->text == NULL) {
        goto nomem;
    }

    if (len == 0) {
        root = new_node(&ps, PN_TRUE, -1, -1); /* "" is always */
    } else {
        tokenize(&ps);
        if (ps.toks[0].kind == TK_END) {
            /* oslo: only "" is always; blanks fail to parse (deny). */
            snprintf(ps.reason, sizeof(ps.reason),
                     "check string is only whitespace");
            root = -1;
        } else {
            root = parse_or(&ps);
            if (root >= 0 && ps.toks[ps.pos].kind != TK_END) {
                root = parse_fail(&ps, &ps.toks[ps.pos], NULL);
            }
        }
    }
    free(ps.toks);

    if (root < 0) {
        snprintf(reason, rsize, "%s", ps.reason);
        free(ps.nodes);
        free(ps.pool);
        free(r->text);
        r->text = NULL;
        return -1;
    }

    r->nodes = ps.nodes;
    r->pool = ps.pool;
    r->nnodes = ps.nnodes;
    r->root = root;
    return 0;

nomem:
    free(ps.toks);
    free(ps.nodes);
    free(ps.pool);
    free(r->text);
    r->text = NULL;
    return -2;
}

static struct prule *find_rule(const struct policy *p, const char *name,
                               size_t *at)
{
    size_t lo = 0, hi = p->n, mid;
    int c;

    while (lo < hi) {
        mid = lo + (hi - lo) / 2;
        c = strcmp(name, p->rules[mid].name);
        if (c == 0) {
            if (at != NULL) {
                *at = mid;
            }
            return &p->rules[mid];
        }
        if (c < 0) {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    if (at != NULL) {
        *at = lo;
    }
    return NULL;
}

/* Parses and stores; -1 with reason[] on a syntax error, -2 out of memory. */
static int set_rule(struct policy *p, const char *name, const char *text,
                    char *reason, size_t rsize)
{
    struct prule r, *old, *grown;
    size_t at, cap;
    int rc;

    rc = prule_parse(&r, text, reason, rsize);
    if (rc < 0) {
        return rc;
    }

    old = find_rule(p, name, &at);
    if (old != NULL) {
        p->nodes = p->nodes - (size_t) old->nnodes + (size_t) r.nnodes;
        r.name = old->name;
        old->name = NULL;
        prule_free(old);
        *old = r;
        return 0;
    }

    r.name = strdup(name);
    if (r.name == NULL) {
        prule_free(&r);
        return -2;
    }
    if (p->n == p->cap) {
        cap = p->cap ? p->cap * 2 : 32;
        grown = realloc(p->rules, cap * sizeof(struct prule));
        if (grown == NULL) {
            prule_free(&r);
            return -2;
        }
        p->rules = grown;
        p->cap = cap;
    }
    memmove(&p->rules[at + 1], &p->rules[at],
            (p->n - at) * sizeof(struct prule));
    p->rules[at] = r;
    p->n++;
    p->nodes += (size_t) r.nnodes;
    return 0;
}

struct policy *policy_new(void)
{
    return calloc(1, sizeof(struct policy));
}

int policy_set_rule(struct policy *p, const char *name, const char *text,
                    struct ferr *err)
{
    char reason[256];
    int rc;

    rc = set_rule(p, name, text, reason, sizeof(reason));
    if (rc == -2) {
        return ferr_set(err, FE_NOMEM, "out of memory");
    }
    if (rc < 0) {
        return ferr_set(err, FE_CONFIG, "rule \"%s\": %s", name, reason);
    }
    return 0;
}

int policy_has_rule(const struct policy *p, const char *name)
{
    return find_rule(p, name, NULL) != NULL;
}

size_t policy_count(const struct policy *p)
{
    return p->n;
}

void policy_free(struct policy *p)
{
    size_t i;

    if (p == NULL) {
        return;
    }
    for (i = 0; i < p->n; i++) {
        prule_free(&p->rules[i]);
    }
    free(p->rules);
    free(p);
}

/* The whole file, NUL-terminated, into *buf (caller frees). */
static int read_file(const char *path, char **buf, size_t *len,
                     struct ferr *err)
{
    FILE *f;
    char *b = NULL, *grown;
    size_t n = 0, cap = 0, got;
    int rc;

    f = fopen(path, "rb");
    if (f == NULL) {
        return ferr_set(err, FE_CONFIG, "%s: %s", path, strerror(errno));
    }
    for (;;) {
        if (cap - n < 4096) {
            cap = cap ? cap * 2 : 16384;
            if (cap > POLICY_MAX_FILE + 4096) {
                rc = ferr_set(err, FE_CONFIG, "%s: larger than %d bytes", path,
                              POLICY_MAX_FILE);
                goto fail;
            }
            grown = realloc(b, cap);
            if (grown == NULL) {
                rc = ferr_set(err, FE_NOMEM, "%s: out of memory", path);
                goto fail;
            }
            b = grown;
        }
        got = fread(b + n, 1, cap - n - 1, f);
        n += got;
        if (got == 0) {
            break;
        }
    }
    if (ferror(f)) {
        rc = ferr_set(err, FE_CONFIG, "%s: read error", path);
        goto fail;
    }
    fclose(f);
    b[n] = '\0';
    *buf = b;
    *len = n;
    return 0;

fail:
    fclose(f);
    free(b);
    return rc;
}

int policy_load(const char *path, struct policy **out, struct ferr *err)
{
    struct policy *p = NULL;
    struct jiter it;
    const char *name;
    jnode *root = NULL, *val;
    char *buf = NULL, reason[256];
    size_t len = 0;
    int rc;

    rc = read_file(path, &buf, &len, err);
    if (rc != 0) {
        return rc;
    }

    if (json_parse(buf, len, &root) != 0) {
        rc = ferr_set(err, FE_CONFIG, "%s: not valid JSON", path);
        goto done;
    }
    if (root == NULL || jnode_type(root) != JT_OBJECT) {
        rc = ferr_set(err, FE_CONFIG,
                      "%s: not a JSON object of rule names to check strings",
                      path);
        goto done;
    }

    p = policy_new();
    if (p == NULL) {
        rc = ferr_set(err, FE_NOMEM, "%s: out of memory", path);
        goto done;
    }

    rc = 0;
    jnode_obj_iter(root, &it);
    while (jnode_obj_next(&it, &name, &val)) {
        if (val == NULL || jnode_type(val) != JT_STRING) {
            rc = ferr_set(err, FE_CONFIG,
                          "%s: rule \"%s\": the check string is not a JSON "
                          "string",
                          path, name);
            break;
        }
        if (strlen(jnode_str(val)) != jnode_strlen(val)) {
            rc = ferr_set(err, FE_CONFIG,
                          "%s: rule \"%s\": the check string contains NUL",
                          path, name);
            break;
        }
        rc = set_rule(p, name, jnode_str(val), reason, sizeof(reason));
        if (rc == -2) {
            rc = ferr_set(err, FE_NOMEM, "%s: out of memory", path);
            break;
        }
        if (rc < 0) {
            rc = ferr_set(err, FE_CONFIG, "%s: rule \"%s\": %s", path, name,
                          reason);
            break;
        }
    }

    if (rc == 0) {
        *out = p;
        p = NULL;
    }

done:
    policy_free(p);
    json_free(root);
    free(buf);
    return rc;
}

/*
 * Python's `tpl % target` compared with want (NULL is None, "None"):
 * 1 equal, 0 not equal, -1 when Python would fail (a missing key, which
 * oslo reads as false) or when tpl uses a conversion other than %(key)s and
 * %% (Python would raise or print the dict; ferry says false).
 */
static int subst_eq(const char *tpl, const struct policy_target *t,
                    const char *want, int icase)
{
    const char *w = want != NULL ? want : "None";
    const char *val, *key, *close;
    size_t klen, vlen, i;
    int eq = 1;

    while (*tpl != '\0') {
        if (*tpl != '%') {
            if (eq
                && (*w == '\0'
                    || (icase ? ascii_lower((unsigned char) *tpl)
                                != ascii_lower((unsigned char) *w)
                              : *tpl != *w))) {
                eq = 0;
            }
            if (eq) {
                w++;
            }
            tpl++;
            continue;
        }

        if (tpl[1] == '%') {
            if (eq && *w != '%') {
                eq = 0;
            }
            if (eq) {
                w++;
            }
            tpl += 2;
            continue;
        }

        if (tpl[1] != '(') {
            return -1;
        }
        key = tpl + 2;
        close = strchr(key, ')');
        if (close == NULL || close[1] != 's') {
            return -1;
        }
        klen = (size_t) (close - key);
        if (klen == 10 && memcmp(key, "project_id", 10) == 0) {
            val = t != NULL ? t->project_id : NULL;
        } else if (klen == 7 && memcmp(key, "user_id", 7) == 0) {
            val = t != NULL ? t->user_id : NULL;
        } else {
            val = NULL;
        }
        if (val == NULL) {
            return -1;
        }
        vlen = strlen(val);
        for (i = 0; eq && i < vlen; i++) {
            if (w[i] == '\0'
                || (icase ? ascii_lower((unsigned char) val[i])
                            != ascii_lower((unsigned char) w[i])
                          : val[i] != w[i])) {
                eq = 0;
            }
        }
        if (eq) {
            w += vlen;
        }
        tpl = close + 2;
    }
    return eq && *w == '\0';
}

static int eval_rule(struct pctx *cx, const struct prule *r);

static int check_role(struct pctx *cx, const struct pnode *n)
{
    size_t i;
    int rc;

    /* Substitution first: a missing key is false even without roles. */
    rc = subst_eq(n->match, cx->t, "", 1);
    if (rc < 0) {
        return 0;
    }
    for (i = 0; i < cx->id->nroles; i++) {
        if (cx->id->roles[i] != NULL
            && subst_eq(n->match, cx->t, cx->id->roles[i], 1) == 1) {
            return 1;
        }
    }
    return 0;
}

static int check_generic(struct pctx *cx, const struct pnode *n)
{
    static const char *const bools[] = { "None", "False", "True" };
    const char *f = n->left;
    size_t i;

    if (subst_eq(n->match, cx->t, "", 0) < 0) {
        return 0;
    }

    if (n->field == PF_LITERAL) {
        return subst_eq(n->match, cx->t, f, 0) == 1;
    }

    if (strcmp(f, "user_id") == 0) {
        return subst_eq(n->match, cx->t, cx->id->user_id, 0) == 1;
    }
    if (strcmp(f, "project_id") == 0) {
        return subst_eq(n->match, cx->t, cx->id->project_id, 0) == 1;
    }
    if (strcmp(f, "is_admin") == 0) {
        return subst_eq(n->match, cx->t, bools[cx->is_admin + 1], 0) == 1;
    }
    if (strcmp(f, "roles") == 0) {
        /* A list credential: any element, exact (oslo's _find_in_dict). */
        for (i = 0; i < cx->id->nroles; i++) {
            if (cx->id->roles[i] != NULL
                && subst_eq(n->match, cx->t, cx->id->roles[i], 0) == 1) {
                return 1;
            }
        }
        return 0;
    }
    return 0; /* a credential ferry does not have: KeyError */
}

static int eval_node(struct pctx *cx, const struct prule *r, int i)
{
    const struct pnode *n;
    const struct prule *ref;
    int k;

next:
    n = &r->nodes[i];

    if (++cx->steps > cx->p->nodes + POLICY_MAX_STEPS) {
        cx->cuts++;
        return 0;
    }

    switch (n->kind) {
    case PN_TRUE:
        return 1;

    case PN_FALSE:
    case PN_HTTP:
        return 0;

    case PN_AND: /* chains lean right: loop on b */
        if (!eval_node(cx, r, n->a)) {
            return 0;
        }
        i = n->b;
        goto next;

    case PN_OR:
        if (eval_node(cx, r, n->a)) {
            return 1;
        }
        i = n->b;
        goto next;

    case PN_NOT:
        return !eval_node(cx, r, n->a);

    case PN_RULE:
        ref = find_rule(cx->p, n->match, NULL);
        if (ref == NULL) {
            return 0;
        }
        for (k = 0; k < cx->depth; k++) {
            if (cx->stack[k] == ref) {
                cx->cuts++;
                return 0; /* a loop: oslo would recurse forever */
            }
        }
        return eval_rule(cx, ref);

    case PN_ROLE:
        return check_role(cx, n);

    default:
        return check_generic(cx, n);
    }
}

static int eval_rule(struct pctx *cx, const struct prule *r)
{
    size_t at = (size_t) (r - cx->p->rules);
    unsigned long cuts = cx->cuts;
    int rc;

    if (cx->memo != NULL && cx->memo[at] >= 0) {
        return cx->memo[at];
    }
    if (cx->depth == POLICY_MAX_CHAIN) {
        cx->cuts++;
        return 0;
    }
    cx->stack[cx->depth++] = r;
    rc = eval_node(cx, r, r->root);
    cx->depth--;
    if (cx->memo != NULL && cx->cuts == cuts) {
        cx->memo[at] = (signed char) rc;
    }
    return rc;
}

static int check_as(const struct policy *p, const char *rule,
                    const struct identity *id, const struct policy_target *t,
                    int is_admin)
{
    const struct prule *r;
    struct pctx cx;
    int rc;

    if (p == NULL || rule == NULL || id == NULL) {
        return 0;
    }
    r = find_rule(p, rule, NULL);
    if (r == NULL) {
        return 0;
    }
    cx.p = p;
    cx.id = id;
    cx.t = t;
    cx.is_admin = is_admin;
    cx.depth = 0;
    cx.cuts = 0;
    cx.steps = 0;
    /* Without memory the check is only slower: steps still bounds it. */
    cx.memo = malloc(p->n);
    if (cx.memo != NULL) {
        memset(cx.memo, -1, p->n);
    }
    rc = eval_rule(&cx, r);
    free(cx.memo);
    return rc;
}

int policy_is_admin(const struct policy *p, const struct identity *id)
{
    struct policy_target self;

    if (id == NULL) {
        return 0;
    }
    /*
     * Nova's RequestContext: is_admin is still None while context_is_admin
     * is checked, with the caller's own credentials as the target.
     */
    self.project_id = id->project_id;
    self.user_id = id->user_id;
    return check_as(p, "context_is_admin", id, &self, -1);
}

int policy_check(const struct policy *p, const char *rule,
                 const struct identity *id, const struct policy_target *t)
{
    return check_as(p, rule, id, t, policy_is_admin(p, id));
}
