/* Canonical form and run identity (DESIGN.md sections 8, 9).
 *
 * The canonical form is a text made from the bound configuration, never from
 * the YAML as written: one "key=value" line per field that changes what a run
 * computes, lines sorted by key. Numbers are written as %.17g of the bound
 * double (so 1e-2 and 0.01 are the same), enumerations by their one spelling
 * (amx_unit_name, ...), rules by their registry name (an alias is resolved at
 * binding), every rule parameter by name, strings quoted and escaped. Name,
 * description, repeats, report and every file location are left out, so
 * renaming an experiment, reordering keys or editing comments keeps run ids.
 * evaluation.train_subset changes what train_error measures, so it is part of
 * the form, written only when it is not 0 (the behaviour before it existed);
 * compute.precision likewise, only when it is not fp32. The backend
 * (--backend) is provenance, never part of the form.
 *
 * It does not decide whether two different configurations compute the same
 * thing ({all: X} and {weights: X, biases: X} get different ids): an id may be
 * over-cautious, never wrongly shared. */
#include "adamix/sha256.h"
#include "adamix/sweep.h"
#include "sweep_internal.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct line_list {
    char **items;
    size_t n, cap;
    bool failed; /* out of memory somewhere */
};

static void add_line(struct line_list *l, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void add_line(struct line_list *l, const char *fmt, ...)
{
    if (l->failed) return;
    va_list ap;
    va_start(ap, fmt);
    int len = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *s = len >= 0 ? malloc((size_t)len + 1) : NULL;
    if (!s) {
        l->failed = true;
        return;
    }
    va_start(ap, fmt);
    vsnprintf(s, (size_t)len + 1, fmt, ap);
    va_end(ap);
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 64;
        char **p = realloc(l->items, cap * sizeof *p);
        if (!p) {
            free(s);
            l->failed = true;
            return;
        }
        l->items = p;
        l->cap = cap;
    }
    l->items[l->n++] = s;
}

/* One spelling per double: %.17g round-trips every double; -0 is written 0. */
static void fmt_double(char buf[40], double v)
{
    if (v == 0) v = 0; /* turns -0.0 into +0.0 */
    snprintf(buf, 40, "%.17g", v);
}

static void add_double(struct line_list *l, const char *key, double v)
{
    char buf[40];
    fmt_double(buf, v);
    add_line(l, "%s=%s", key, buf);
}

/* A string in double quotes, with \", \\ and every byte outside printable
 * ASCII as \xHH, so no string can read as another line or value. */
static void add_string(struct line_list *l, const char *key, const char *s)
{
    size_t n = strlen(s);
    char *q = malloc(4 * n + 3);
    if (!q) {
        l->failed = true;
        return;
    }
    char *p = q;
    *p++ = '"';
    for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
        if (*c == '"' || *c == '\\') {
            *p++ = '\\';
            *p++ = (char)*c;
        } else if (*c < 0x20 || *c >= 0x7f) {
            p += sprintf(p, "\\x%02x", *c);
        } else {
            *p++ = (char)*c;
        }
    }
    *p++ = '"';
    *p = '\0';
    add_line(l, "%s=%s", key, q);
    free(q);
}

static void add_data(struct line_list *l, const struct amx_data_config *d)
{
    add_string(l, "data.dir", d->dir);
    add_string(l, "data.train", d->train);
    add_string(l, "data.test", d->test);
    add_line(l, "data.train_limit=%ld", d->train_limit);
    add_line(l, "data.test_limit=%ld", d->test_limit);
    add_line(l, "data.validation=%ld", d->validation);
}

static void add_network(struct line_list *l, const struct amx_network_config *n)
{
    char buf[AMX_MAX_LAYERS * 12 + 3];
    size_t used = 0;
    buf[used++] = '[';
    for (int i = 0; i < n->n_layers && i < AMX_MAX_LAYERS; i++)
        used += (size_t)snprintf(buf + used, sizeof buf - used, "%s%d", i ? "," : "", n->layers[i]);
    snprintf(buf + used, sizeof buf - used, "]");
    add_line(l, "network.layers=%s", buf);
    add_line(l, "network.hidden=%s", amx_unit_name(n->hidden));
    add_line(l, "network.code=%s", amx_unit_name(n->code));
    add_line(l, "network.output=%s", amx_unit_name(n->output));
}

static void add_pretrain(struct line_list *l, const struct amx_pretrain_config *p)
{
    /* Every field, even when disabled: the binder fills defaults, and an
     * unused field can only make an id over-cautious. */
    add_line(l, "pretrain.enabled=%s", p->enabled ? "true" : "false");
    add_line(l, "pretrain.epochs=%d", p->epochs);
    add_line(l, "pretrain.batch_size=%d", p->batch_size);
    add_line(l, "pretrain.cd_k=%d", p->cd_k);
    add_double(l, "pretrain.learning_rate", p->learning_rate);
    add_double(l, "pretrain.code_learning_rate", p->code_learning_rate);
    add_double(l, "pretrain.momentum.initial", p->momentum_initial);
    add_double(l, "pretrain.momentum.final", p->momentum_final);
    add_line(l, "pretrain.momentum.switch_epoch=%d", p->momentum_switch_epoch);
    add_double(l, "pretrain.weight_decay", p->weight_decay);
    add_double(l, "pretrain.init_std", p->init_std);
}

static void add_rule(struct line_list *l, const struct amx_rule_binding *b)
{
    char key[AMX_SELECTOR_MAX + 64];
    const struct amx_rule_spec *s = &b->spec;
    snprintf(key, sizeof key, "finetune.rules.%s.rule", b->selector);
    add_string(l, key, s->rule ? s->rule->name : "");
    snprintf(key, sizeof key, "finetune.rules.%s.eta0", b->selector);
    add_double(l, key, s->eta0);
    snprintf(key, sizeof key, "finetune.rules.%s.momentum", b->selector);
    add_double(l, key, s->momentum);
    snprintf(key, sizeof key, "finetune.rules.%s.per", b->selector);
    add_string(l, key, s->per == AMX_CLOCK_STEP ? "step" : "epoch");
    if (!s->rule) return;
    for (int i = 0; i < s->rule->n_params && i < AMX_RULE_MAX_PARAMS; i++) {
        const struct amx_rule_param_def *d = &s->rule->params[i];
        /* a parameter name could never be "rule" etc.; still keep them apart */
        snprintf(key, sizeof key, "finetune.rules.%s.param.%s", b->selector, d->name);
        if (d->choices) {
            /* the word, not its index, so reordering a choice list keeps ids */
            long idx = (long)s->p[i];
            long count = 0;
            while (d->choices[count])
                count++;
            if (idx >= 0 && idx < count && (double)idx == s->p[i]) {
                add_string(l, key, d->choices[idx]);
                continue;
            }
        }
        add_double(l, key, s->p[i]);
    }
}

static void add_finetune(struct line_list *l, const struct amx_finetune_config *f)
{
    add_line(l, "finetune.epochs=%d", f->epochs);
    add_line(l, "finetune.batch_size=%d", f->batch_size);
    add_line(l, "finetune.loss=%s", amx_loss_name(f->loss));
    add_double(l, "finetune.divergence_limit", f->divergence_limit);
    for (size_t i = 0; i < f->n_rules && i < AMX_MAX_RULE_BINDINGS; i++)
        add_rule(l, &f->rules[i]);
}

static int cmp_lines(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorts the lines and joins them with '\n' (one after each line). */
static char *join_lines(struct line_list *l)
{
    char *out = NULL;
    if (!l->failed) {
        qsort(l->items, l->n, sizeof *l->items, cmp_lines);
        size_t total = 1;
        for (size_t i = 0; i < l->n; i++)
            total += strlen(l->items[i]) + 1;
        out = malloc(total);
        if (out) {
            char *p = out;
            for (size_t i = 0; i < l->n; i++) {
                size_t len = strlen(l->items[i]);
                memcpy(p, l->items[i], len);
                p += len;
                *p++ = '\n';
            }
            *p = '\0';
        }
    }
    for (size_t i = 0; i < l->n; i++)
        free(l->items[i]);
    free(l->items);
    return out;
}

char *amx_canonical_form(const struct amx_run_config *cfg)
{
    struct line_list l = {0};
    add_line(&l, "seed=%" PRIu64, cfg->seed);
    add_line(&l, "repeat=%d", cfg->repeat);
    add_data(&l, &cfg->data);
    add_network(&l, &cfg->network);
    add_pretrain(&l, &cfg->pretrain);
    add_finetune(&l, &cfg->finetune);
    /* Only when not the default: measuring train_error on every image is what
     * every run did before the key existed, and those runs keep their ids. */
    if (cfg->evaluation.train_subset != 0)
        add_line(&l, "evaluation.train_subset=%ld", cfg->evaluation.train_subset);
    /* Likewise: every run before compute.precision was fp32. */
    if (cfg->compute.precision != AMX_PRECISION_FP32)
        add_line(&l, "compute.precision=%s", amx_precision_name(cfg->compute.precision));
    return join_lines(&l);
}

bool sweep_run_id(const struct amx_run_config *cfg, char id[AMX_RUN_ID_LEN + 1])
{
    char hex[65];
    char *form = amx_canonical_form(cfg);
    if (!form) return false;
    amx_sha256_hex(form, strlen(form), hex);
    free(form);
    memcpy(id, hex, AMX_RUN_ID_LEN);
    id[AMX_RUN_ID_LEN] = '\0';
    return true;
}

void amx_run_id(const struct amx_run_config *cfg, char id[AMX_RUN_ID_LEN + 1])
{
    /* Out of memory leaves all zeros, which no SHA-256 prefix is in practice;
     * amx_experiment_load uses sweep_run_id and reports the failure. */
    if (!sweep_run_id(cfg, id)) {
        memset(id, '0', AMX_RUN_ID_LEN);
        id[AMX_RUN_ID_LEN] = '\0';
    }
}
