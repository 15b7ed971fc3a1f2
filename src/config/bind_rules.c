/* Binding finetune.rules: parameter groups -> rules, through the rule
 * registry of optim.h (names, aliases, parameters with their ranges), not the
 * schema table: what a rule takes depends on the rule. Each entry is
 * `selector: {rule: NAME, eta0: .., momentum: .., per: .., plateau: {..},
 * <params>}` or the shorthand `selector: NAME`. Whether every parameter is covered exactly once
 * needs the layer count: bind.c's cross-field checks do that. */
#include "bind_internal.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* "constant, power-exponential (or power), ..." */
static void rule_list(char *buf, size_t size)
{
    buf[0] = '\0';
    for (size_t i = 0; i < amx_rule_count(); i++) {
        const struct amx_rule *r = amx_rule_at(i);
        size_t l = strlen(buf);
        snprintf(buf + l, size - l, "%s%s", i ? ", " : "", r->name);
        if (r->alias) {
            l = strlen(buf);
            snprintf(buf + l, size - l, " (or %s)", r->alias);
        }
    }
}

static void unknown_rule(struct ctx *c, const struct amx_node *v, const char *path)
{
    const char *names[2 * 64];
    size_t n = 0;
    for (size_t i = 0; i < amx_rule_count() && n + 2 <= sizeof names / sizeof *names; i++) {
        names[n++] = amx_rule_at(i)->name;
        if (amx_rule_at(i)->alias) names[n++] = amx_rule_at(i)->alias;
    }
    char list[600], d[96];
    rule_list(list, sizeof list);
    const char *s = v->kind == AMX_NODE_SCALAR ? amx_suggest(v->text, names, n) : NULL;
    if (s)
        ERROR(c, v, "unknown rule %s in %s; did you mean '%s'?", bind_describe(v, d, sizeof d),
              path, s);
    else
        ERROR(c, v, "unknown rule %s in %s (expected one of: %s)", bind_describe(v, d, sizeof d),
              path, list);
}

/* One parameter of a table (a rule's, the plateau modifier's) into *out. */
static bool bind_param(struct ctx *c, const struct amx_rule_param_def *def,
                       const struct amx_node *v, const char *path, double *out)
{
    if (def->choices) {
        int w = bind_word(c, v, path, def->choices);
        if (w < 0) return false;
        *out = w;
        return true;
    }
    double x;
    if (def->flags & AMX_PARAM_INTEGER) {
        long long i;
        if (!bind_integer(c, v, path, &i)) return false;
        x = (double)i;
    } else if (!bind_real(c, v, path, "a number", &x)) {
        return false;
    }
    if (!bind_check_range(c, v, path, x, def->lo, def->hi, def->flags)) return false;
    *out = x;
    return true;
}

/* `plateau: {factor: .., patience: .., ...}` of a rule entry at path
 * (every parameter optional; `plateau: {}` is every default). */
static bool bind_plateau(struct ctx *c, const struct amx_node_pair *p, const char *path,
                         struct amx_plateau *pl)
{
    char d[96], kpath[PATH_LEN];
    const struct amx_node *v = p->value;
    amx_plateau_defaults(pl);
    pl->on = true;
    pl->line = p->line;
    pl->col = p->col;
    if (v->kind != AMX_NODE_MAP) {
        ERROR(c, v, "%s must be a mapping like {factor: 0.5, patience: 2} (got %s)", path,
              bind_describe(v, d, sizeof d));
        return false;
    }
    bool ok = true;
    for (size_t i = 0; i < v->n; i++) {
        const struct amx_node_pair *kp = &v->pairs[i];
        bind_join(kpath, path, kp->key);
        int idx = -1;
        for (int j = 0; j < AMX_PLATEAU_N_PARAMS; j++)
            if (strcmp(amx_plateau_params[j].name, kp->key) == 0) idx = j;
        if (idx >= 0) {
            ok = bind_param(c, &amx_plateau_params[idx], kp->value, kpath, &pl->p[idx]) && ok;
            continue;
        }
        const char *names[AMX_PLATEAU_N_PARAMS];
        char list[300] = "";
        for (int j = 0; j < AMX_PLATEAU_N_PARAMS; j++) {
            names[j] = amx_plateau_params[j].name;
            size_t l = strlen(list);
            snprintf(list + l, sizeof list - l, "%s%s", j ? ", " : "", names[j]);
        }
        const char *s = amx_suggest(kp->key, names, AMX_PLATEAU_N_PARAMS);
        if (s)
            bind_error_at(c, kp->value, kp->line, kp->col,
                          "unknown parameter '%s' in %s; did you mean '%s'?", kp->key, path, s);
        else
            bind_error_at(c, kp->value, kp->line, kp->col,
                          "unknown parameter '%s' in %s (plateau takes %s)", kp->key, path, list);
        ok = false;
    }
    return ok;
}

static void unknown_rule_key(struct ctx *c, const struct amx_rule *r,
                             const struct amx_node_pair *kp, const char *path)
{
    const char *names[4 + AMX_RULE_MAX_PARAMS] = {"eta0", "momentum", "per", "plateau"};
    size_t n = 4;
    char list[300] = "rule, eta0, momentum, per, plateau";
    for (int i = 0; i < r->n_params && i < AMX_RULE_MAX_PARAMS; i++) {
        names[n++] = r->params[i].name;
        size_t l = strlen(list);
        snprintf(list + l, sizeof list - l, ", %s", r->params[i].name);
    }
    const char *s = amx_suggest(kp->key, names, n);
    if (s)
        bind_error_at(c, kp->value, kp->line, kp->col,
                      "unknown parameter '%s' for rule %s in %s; did you mean '%s'?", kp->key,
                      r->name, path, s);
    else
        bind_error_at(c, kp->value, kp->line, kp->col,
                      "unknown parameter '%s' for rule %s in %s (%s takes %s)", kp->key, r->name,
                      path, r->name, list);
}

/* One `selector: {rule: NAME, eta0: .., momentum: .., per: .., <params>}`
 * entry, or the shorthand `selector: NAME` (every value its default). */
static bool bind_rule(struct ctx *c, const struct amx_node_pair *q, struct amx_rule_binding *b)
{
    char d[96], path[PATH_LEN], kpath[PATH_LEN];
    const struct amx_node *v = q->value;
    bind_join(path, "finetune.rules", q->key);
    const struct amx_node *name = v;
    if (v->kind == AMX_NODE_MAP) {
        name = amx_node_map_get(v, "rule");
        if (!name) {
            char list[600];
            rule_list(list, sizeof list);
            ERROR(c, v, "%s.rule is required: which rule? (one of: %s)", path, list);
            return false;
        }
    } else if (v->kind != AMX_NODE_SCALAR) {
        ERROR(c, v, "%s must be a mapping like {rule: adagrad, eta0: 0.01} or a rule name (got %s)",
              path, bind_describe(v, d, sizeof d));
        return false;
    }
    const struct amx_rule *r = name->kind == AMX_NODE_SCALAR ? amx_rule_find(name->text) : NULL;
    if (!r) {
        unknown_rule(c, name, path);
        return false;
    }
    amx_rule_spec_defaults(&b->spec, r);
    snprintf(b->selector, sizeof b->selector, "%s", q->key);
    b->line = q->line;
    b->col = q->col;
    if (v->kind != AMX_NODE_MAP) return true;
    bool ok = true;
    for (size_t i = 0; i < v->n; i++) {
        const struct amx_node_pair *kp = &v->pairs[i];
        const struct amx_node *x = kp->value;
        bind_join(kpath, path, kp->key);
        int idx;
        double val;
        if (strcmp(kp->key, "rule") == 0) {
            continue;
        } else if (strcmp(kp->key, "eta0") == 0) {
            if (bind_real(c, x, kpath, "a number", &val) &&
                bind_check_range(c, x, kpath, val, 0, HUGE_VAL, 0))
                b->spec.eta0 = val;
            else
                ok = false;
        } else if (strcmp(kp->key, "momentum") == 0) {
            if (bind_real(c, x, kpath, "a number", &val) &&
                bind_check_range(c, x, kpath, val, 0, 1, AMX_PARAM_HI_OPEN))
                b->spec.momentum = val;
            else
                ok = false;
        } else if (strcmp(kp->key, "per") == 0) {
            int w = bind_word(c, x, kpath, amx_clock_words);
            if (w < 0) {
                ok = false;
            } else if (!r->uses_clock && w != AMX_CLOCK_EPOCH) {
                /* it would change nothing but the run id */
                ERROR(c, x,
                      "%s: rule %s has no schedule, so per has no effect (got per: step); "
                      "per applies to power-exponential, exponential, step and adadec",
                      kpath, r->name);
                ok = false;
            } else {
                b->spec.per = (enum amx_clock)w;
            }
        } else if (strcmp(kp->key, "plateau") == 0) {
            if (!bind_plateau(c, kp, kpath, &b->spec.plateau)) ok = false;
        } else if ((idx = amx_rule_param_index(r, kp->key)) >= 0) {
            if (!bind_param(c, &r->params[idx], x, kpath, &b->spec.p[idx])) ok = false;
        } else {
            unknown_rule_key(c, r, kp, path);
            ok = false;
        }
    }
    return ok;
}

static void bad_selector(struct ctx *c, const struct amx_node_pair *q)
{
    static const char *const fixed[] = {"all",     "weights",         "biases",
                                        "encoder", "encoder.weights", "encoder.biases",
                                        "decoder", "decoder.weights", "decoder.biases"};
    const char *names[12];
    char layer[3][AMX_SELECTOR_MAX];
    size_t n = 0;
    for (; n < sizeof fixed / sizeof *fixed; n++)
        names[n] = fixed[n];
    /* "layer3.weight" -> "layer3.weights": candidates with the same number */
    long num = 0;
    if (strncmp(q->key, "layer", 5) == 0 && sscanf(q->key + 5, "%ld", &num) == 1 && num > 0 &&
        num < 1000000) {
        snprintf(layer[0], sizeof layer[0], "layer%ld", num);
        snprintf(layer[1], sizeof layer[1], "layer%ld.weights", num);
        snprintf(layer[2], sizeof layer[2], "layer%ld.biases", num);
        for (int i = 0; i < 3; i++)
            names[n++] = layer[i];
    }
    const char *s = amx_suggest(q->key, names, n);
    if (s)
        bind_error_at(c, q->value, q->line, q->col,
                      "unknown parameter group '%s' in finetune.rules; did you mean '%s'?", q->key,
                      s);
    else
        bind_error_at(
            c, q->value, q->line, q->col,
            "unknown parameter group '%s' in finetune.rules (expected all, weights, biases, "
            "encoder, decoder or layerN, N from 1, each optionally followed by .weights or "
            ".biases)",
            q->key);
}

void bind_rules(struct ctx *c, const struct amx_node_pair *p)
{
    char d[96];
    struct amx_finetune_config *ft = &c->cfg->finetune;
    const struct amx_node *v = p->value;
    ft->rules_line = p->line;
    ft->rules_col = p->col;
    ft->n_rules = 0;
    if (v->kind != AMX_NODE_MAP) {
        ERROR(c, v,
              "finetune.rules must be a mapping of parameter groups to rules, like "
              "{all: {rule: constant, eta0: 0.01}} (got %s)",
              bind_describe(v, d, sizeof d));
        return;
    }
    bool ok = true;
    if (v->n == 0) {
        ERROR(c, v,
              "finetune.rules is empty; expected at least one parameter group, like "
              "all: {rule: constant, eta0: 0.01}");
        ok = false;
    }
    for (size_t i = 0; i < v->n; i++) {
        const struct amx_node_pair *q = &v->pairs[i];
        if (ft->n_rules == AMX_MAX_RULE_BINDINGS) {
            bind_error_at(c, q->value, q->line, q->col, "finetune.rules has more than %d entries",
                          AMX_MAX_RULE_BINDINGS);
            ok = false;
            break;
        }
        if (strlen(q->key) >= AMX_SELECTOR_MAX || !amx_selector_valid(q->key)) {
            bad_selector(c, q);
            ok = false;
            continue;
        }
        if (bind_rule(c, q, &ft->rules[ft->n_rules]))
            ft->n_rules++;
        else
            ok = false;
    }
    c->rules_ok = ok;
}
