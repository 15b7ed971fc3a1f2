/* A resolved configuration back to a node tree: every key of the schema table
 * that the run's task has, with its value, defaults included, in the table's
 * order (docs/experiment-language.md), so a run's config.yaml says everything
 * that ran. Numbers are written in their shortest spelling that reads back to
 * the same double ("0.0002", not
 * "0.00020000000000000001"); strings are marked quoted, so the emitter quotes
 * any that would read back as something else. Rules are written in full:
 * selector -> {rule, eta0, momentum, per, every parameter of the rule}.
 *
 * amx_config_bind(amx_config_to_node(cfg)) gives cfg again (tested). Writing
 * the tree to a file is the caller's business (amx_node_emit). */
#include "schema.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

struct out {
    const char *file;
    bool oom;
};

static struct amx_node *scalar(struct out *o, const char *text, bool quoted)
{
    struct amx_node *n = amx_node_new_scalar(text, quoted, o->file, 0, 0);
    if (!n) o->oom = true;
    return n;
}

static struct amx_node *number(struct out *o, double x)
{
    char buf[40];
    amx_format_double(x, buf, sizeof buf);
    return scalar(o, buf, false);
}

static struct amx_node *integer(struct out *o, long long x)
{
    char buf[32];
    snprintf(buf, sizeof buf, "%lld", x);
    return scalar(o, buf, false);
}

static struct amx_node *map(struct out *o)
{
    struct amx_node *n = amx_node_new_map(o->file, 0, 0);
    if (!n) o->oom = true;
    return n;
}

/* Takes ownership of value (NULL after an allocation failure is fine). */
static void add(struct out *o, struct amx_node *m, const char *key, struct amx_node *value)
{
    if (!m || !value) {
        amx_node_free(value);
        o->oom = true;
        return;
    }
    if (amx_node_map_set(m, key, value) != AMX_OK) o->oom = true;
}

/* A parameter of a table by its word (a choice) or its number. */
static struct amx_node *param_node(struct out *o, const struct amx_rule_param_def *def, double v)
{
    return def->choices ? scalar(o, def->choices[(int)v], false) : number(o, v);
}

/* One baseline of KO_POINT's lines, from l up to "|" or the end: a series
 * value ("=value") as a scalar, a point as a mapping. *next: where the next
 * starts. */
static struct amx_node *baseline_node(struct out *o, const char *l, const char **next)
{
    struct amx_node *m = NULL;
    while (*l && *l != '|') {
        size_t n = strcspn(l, "\n"), k = strcspn(l, "=");
        char key[AMX_TEXT_MAX], val[AMX_TEXT_MAX];
        snprintf(key, sizeof key, "%.*s", (int)(k < n ? k : n), l);
        snprintf(val, sizeof val, "%.*s", (int)(k < n ? n - k - 1 : 0), l + (k < n ? k + 1 : n));
        l += n + (l[n] == '\n');
        if (!key[0]) { /* a series value */
            amx_node_free(m);
            m = scalar(o, val, false);
            continue;
        }
        if (!m) m = map(o);
        add(o, m, key, scalar(o, val, false));
    }
    if (*l == '|') l += 1 + (l[1] == '\n');
    *next = l;
    return m;
}

/* KO_POINT's lines as what they were given as: all-pairs, a point, or a
 * list of baselines. */
static struct amx_node *point_node(struct out *o, const char *lines)
{
    if (lines[0] == '*') return scalar(o, "all-pairs", false);
    const char *next;
    struct amx_node *first = baseline_node(o, lines, &next);
    if (!*next && first && first->kind == AMX_NODE_MAP) return first;
    struct amx_node *seq = amx_node_new_seq(o->file, 0, 0);
    if (!seq) o->oom = true;
    for (struct amx_node *x = first;; x = baseline_node(o, next, &next)) {
        if (!x || !seq || amx_node_seq_append(seq, x) != AMX_OK) {
            amx_node_free(x);
            o->oom = true;
        }
        if (!*next) break;
    }
    return seq;
}

static struct amx_node *rule_node(struct out *o, const struct amx_rule_binding *b)
{
    const struct amx_rule_spec *s = &b->spec;
    const struct amx_rule *r = s->rule;
    struct amx_node *m = map(o);
    add(o, m, "rule", scalar(o, r ? r->name : "", false));
    add(o, m, "eta0", number(o, s->eta0));
    add(o, m, "momentum", number(o, s->momentum));
    add(o, m, "per", scalar(o, amx_clock_words[s->per == AMX_CLOCK_STEP], false));
    for (int i = 0; r && i < r->n_params && i < AMX_RULE_MAX_PARAMS; i++)
        add(o, m, r->params[i].name, param_node(o, &r->params[i], s->p[i]));
    if (s->plateau.on) { /* only when given: a rule without it writes what it always did */
        struct amx_node *pl = map(o);
        for (int i = 0; i < AMX_PLATEAU_N_PARAMS; i++)
            add(o, pl, amx_plateau_params[i].name,
                param_node(o, &amx_plateau_params[i], s->plateau.p[i]));
        add(o, m, "plateau", pl);
    }
    return m;
}

static void emit_section(struct out *o, const struct amx_run_config *cfg, const struct section *sec,
                         struct amx_node *m)
{
    for (size_t i = 0; i < sec->n; i++) {
        const struct key *k = &sec->keys[i];
        if (!amx_schema_key_for(k, cfg->network.task)) continue; /* another task's key */
        const void *f = (const char *)cfg + k->off;
        struct amx_node *v = NULL;
        switch (k->type) {
        case KT_SECTION:
            if ((k->opts & KO_OFF) && !*(const bool *)((const char *)cfg + k->aux))
                continue; /* off unless given: config.yaml says nothing of it */
            if ((k->opts & KO_NONE) && !*(const bool *)((const char *)cfg + k->aux)) {
                v = scalar(o, "none", false);
            } else {
                v = map(o);
                if (v) emit_section(o, cfg, k->sub, v);
            }
            break;
        case KT_STRING:
        case KT_NAME:
            if ((k->opts & KO_POINT) && *((const char *)cfg + k->aux)) {
                v = point_node(o, (const char *)cfg + k->aux);
                break;
            }
            v = scalar(o, f, true);
            break;
        case KT_SEED: {
            char buf[32];
            snprintf(buf, sizeof buf, "%" PRIu64, *(const uint64_t *)f);
            v = scalar(o, buf, false);
            break;
        }
        case KT_INT:
            v = integer(o, *(const int *)f);
            break;
        case KT_LONG:
            v = integer(o, *(const long *)f);
            break;
        case KT_DOUBLE:
            v = number(o, *(const double *)f);
            break;
        case KT_BOOL:
            v = scalar(o, *(const bool *)f ? "true" : "false", false);
            break;
        case KT_ENUM: {
            if (k->opts & KO_COLUMN) { /* the column as named, an error word or not */
                v = scalar(o, (const char *)cfg + k->aux, false);
                break;
            }
            int w = *(const int *)f, n = 0;
            while (k->words[n])
                n++;
            v = scalar(o, w >= 0 && w < n ? k->words[w] : "?", false);
            break;
        }
        case KT_LAYERS:
            v = amx_node_new_seq(o->file, 0, 0);
            for (int j = 0; v && j < cfg->network.n_layers && j < AMX_MAX_LAYERS; j++) {
                struct amx_node *x = integer(o, cfg->network.layers[j]);
                if (!x || amx_node_seq_append(v, x) != AMX_OK) o->oom = true;
            }
            break;
        case KT_TARGETS:
            v = amx_node_new_seq(o->file, 0, 0);
            for (size_t j = 0; v && j < cfg->report.n_targets && j < AMX_MAX_TARGETS; j++) {
                struct amx_node *x = number(o, cfg->report.targets[j]);
                if (!x || amx_node_seq_append(v, x) != AMX_OK) o->oom = true;
            }
            if (!v) o->oom = true;
            break;
        case KT_RULES:
            v = map(o);
            for (size_t j = 0; v && j < cfg->finetune.n_rules && j < AMX_MAX_RULE_BINDINGS; j++)
                add(o, v, cfg->finetune.rules[j].selector, rule_node(o, &cfg->finetune.rules[j]));
            break;
        }
        add(o, m, k->name, v);
    }
}

struct amx_node *amx_config_to_node(const struct amx_run_config *cfg)
{
    struct out o = {.file = cfg->file};
    struct amx_node *root = map(&o);
    if (root) emit_section(&o, cfg, &amx_schema_top, root);
    if (o.oom) {
        amx_node_free(root);
        return NULL;
    }
    return root;
}
