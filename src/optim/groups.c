/* Parameter groups: which `finetune.rules` selector governs which tensor.
 *
 * Selectors: all | weights | biases | PART[.weights|.biases] |
 * layerN[.weights|.biases] (N 1-based over the network's dense layers, no
 * leading zeros), PART one of the named parts a network's tensors carry
 * (tensor.h: encoder and decoder for an autoencoder, softmax for a
 * classifier). Precedence, highest first: layerN.kind, layerN, PART.kind,
 * PART, weights/biases, all. So specificity = 2*level + (kind given), level
 * 0 for all/weights/biases, 1 for a part, 2 for layerN. Each tensor takes the one binding of
 * highest specificity that matches it; a tie at that level, no match at all, or a selector that
 * matches no tensor is a configuration error. A selector that matches tensors but is outranked on
 * every one of them (e.g. `all` beside `weights` and `biases`) is allowed: its group simply has no
 * parameters. This file checks and assigns; it allocates only in amx_groups_check_layers (a tensor
 * list built from the layer count) and never does I/O. */
#include "adamix/optim.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { KIND_ANY, KIND_WEIGHTS, KIND_BIASES };
enum { LEVEL_ALL, LEVEL_PART, LEVEL_LAYER };

/* The parts a selector may name, every task's. */
static const char *const part_words[] = {"encoder", "decoder", "softmax"};

struct selector {
    int level;
    int kind;
    const char *part; /* LEVEL_PART: one of part_words */
    long layer;       /* LEVEL_LAYER: 1-based */
};

/* The part word s starts with, or NULL. */
static const char *part_word(const char *s)
{
    for (size_t i = 0; i < sizeof part_words / sizeof *part_words; i++)
        if (strncmp(s, part_words[i], strlen(part_words[i])) == 0) return part_words[i];
    return NULL;
}

/* "", ".weights" or ".biases" after a prefix; false for anything else. */
static bool parse_kind(const char *s, int *kind)
{
    if (s[0] == '\0')
        *kind = KIND_ANY;
    else if (strcmp(s, ".weights") == 0)
        *kind = KIND_WEIGHTS;
    else if (strcmp(s, ".biases") == 0)
        *kind = KIND_BIASES;
    else
        return false;
    return true;
}

static bool parse_selector(const char *s, struct selector *out)
{
    struct selector sel = {0};
    if (!s) return false;
    if (strcmp(s, "all") == 0) {
        sel.level = LEVEL_ALL;
        sel.kind = KIND_ANY;
    } else if (strcmp(s, "weights") == 0 || strcmp(s, "biases") == 0) {
        sel.level = LEVEL_ALL;
        sel.kind = s[0] == 'w' ? KIND_WEIGHTS : KIND_BIASES;
    } else if ((sel.part = part_word(s)) != NULL) {
        sel.level = LEVEL_PART;
        if (!parse_kind(s + strlen(sel.part), &sel.kind)) return false;
    } else if (strncmp(s, "layer", 5) == 0) {
        const char *p = s + 5;
        /* 1..999999: digits only, no sign, no leading zero */
        if (*p < '1' || *p > '9') return false;
        long v = 0;
        int digits = 0;
        while (*p >= '0' && *p <= '9') {
            if (++digits > 6) return false;
            v = 10 * v + (*p++ - '0');
        }
        sel.level = LEVEL_LAYER;
        sel.layer = v;
        if (!parse_kind(p, &sel.kind)) return false;
    } else {
        return false;
    }
    if (out) *out = sel;
    return true;
}

bool amx_selector_valid(const char *selector)
{
    return parse_selector(selector, NULL);
}

static int specificity(const struct selector *s)
{
    return 2 * s->level + (s->kind != KIND_ANY);
}

static bool matches(const struct selector *s, const struct amx_param_tensor *t)
{
    if (s->kind == KIND_WEIGHTS && t->is_bias) return false;
    if (s->kind == KIND_BIASES && !t->is_bias) return false;
    switch (s->level) {
    case LEVEL_PART:
        return t->part && strcmp(s->part, t->part) == 0;
    case LEVEL_LAYER:
        return s->layer == t->layer;
    default:
        return true;
    }
}

/* Appends ", name" (or "name" first) to a bounded list; counts what did not fit. */
struct namelist {
    char buf[600];
    size_t len;
    int n, dropped;
};

static void namelist_add(struct namelist *l, const char *name)
{
    size_t need = strlen(name) + (l->n ? 2 : 0);
    if (l->dropped || l->len + need + 1 > sizeof l->buf) {
        l->dropped++;
        return;
    }
    l->len +=
        (size_t)snprintf(l->buf + l->len, sizeof l->buf - l->len, "%s%s", l->n ? ", " : "", name);
    l->n++;
}

static const char *namelist_more(const struct namelist *l, char *tmp, size_t size)
{
    if (l->dropped)
        snprintf(tmp, size, " and %d more", l->dropped);
    else
        tmp[0] = '\0';
    return tmp;
}

static int max_layer(const struct amx_param_tensor *tensors, size_t n)
{
    int m = 0;
    for (size_t i = 0; i < n; i++)
        if (tensors[i].layer > m) m = tensors[i].layer;
    return m;
}

enum amx_status amx_groups_resolve(const struct amx_param_tensor *tensors, size_t n_tensors,
                                   const struct amx_rule_binding *bindings, size_t n_bindings,
                                   int *assign, const char *file, int line, int col,
                                   struct amx_error *err)
{
    struct selector sel[AMX_MAX_RULE_BINDINGS];
    bool used[AMX_MAX_RULE_BINDINGS] = {false};
    char more[32];

    if (n_bindings > AMX_MAX_RULE_BINDINGS)
        return amx_fail(err, AMX_ERR_CONFIG, file, line, col,
                        "too many rule entries (%zu, at most %d)", n_bindings,
                        AMX_MAX_RULE_BINDINGS);
    for (size_t b = 0; b < n_bindings; b++) {
        const struct amx_rule_binding *B = &bindings[b];
        if (!parse_selector(B->selector, &sel[b]))
            return amx_fail(err, AMX_ERR_CONFIG, file, B->line > 0 ? B->line : line,
                            B->line > 0 ? B->col : col,
                            "unknown parameter group '%s' (expected all, weights, biases, "
                            "encoder, decoder, softmax or layerN, optionally followed by "
                            ".weights or .biases)",
                            B->selector);
    }

    /* Each tensor: the most specific matching binding; remember ties. */
    struct namelist twice = {0}, uncovered = {0};
    int first_tie = -1;
    for (size_t i = 0; i < n_tensors; i++) {
        int best = -1, best_spec = -1;
        bool tie = false;
        for (size_t b = 0; b < n_bindings; b++) {
            if (!matches(&sel[b], &tensors[i])) continue;
            used[b] = true;
            int s = specificity(&sel[b]);
            if (s > best_spec) {
                best = (int)b;
                best_spec = s;
                tie = false;
            } else if (s == best_spec) {
                tie = true;
                if (first_tie < 0) first_tie = (int)b;
            }
        }
        if (assign) assign[i] = best;
        if (best < 0)
            namelist_add(&uncovered, tensors[i].name);
        else if (tie)
            namelist_add(&twice, tensors[i].name);
    }

    for (size_t b = 0; b < n_bindings; b++) {
        if (used[b]) continue;
        const struct amx_rule_binding *B = &bindings[b];
        int bl = B->line > 0 ? B->line : line, bc = B->line > 0 ? B->col : col;
        int layers = max_layer(tensors, n_tensors);
        if (sel[b].level == LEVEL_LAYER)
            return amx_fail(err, AMX_ERR_CONFIG, file, bl, bc,
                            "parameter group '%s' matches no parameter: the network has %d "
                            "layers (layer1 to layer%d)",
                            B->selector, layers, layers);
        if (sel[b].level == LEVEL_PART) {
            struct namelist parts = {0};
            for (size_t i = 0; i < n_tensors; i++) {
                const char *pt = tensors[i].part;
                if (pt && !strstr(parts.buf, pt)) namelist_add(&parts, pt);
            }
            return amx_fail(err, AMX_ERR_CONFIG, file, bl, bc,
                            "parameter group '%s' matches no parameter: this network has no "
                            "%s part (%s%s)",
                            B->selector, sel[b].part, parts.n ? "its parts: " : "it has no parts",
                            parts.buf);
        }
        return amx_fail(err, AMX_ERR_CONFIG, file, bl, bc,
                        "parameter group '%s' matches no parameter", B->selector);
    }
    if (twice.n) {
        const struct amx_rule_binding *B = &bindings[first_tie];
        return amx_fail(err, AMX_ERR_CONFIG, file, B->line > 0 ? B->line : line,
                        B->line > 0 ? B->col : col,
                        "parameters %s%s are covered twice at the same precedence (by '%s' "
                        "and another entry); give each parameter exactly one rule",
                        twice.buf, namelist_more(&twice, more, sizeof more), B->selector);
    }
    if (uncovered.n)
        return amx_fail(err, AMX_ERR_CONFIG, file, line, col,
                        "no rule covers parameters %s%s; give every parameter a rule (e.g. add "
                        "an 'all' entry)",
                        uncovered.buf, namelist_more(&uncovered, more, sizeof more));
    return AMX_OK;
}

enum amx_status amx_groups_check_layers(enum amx_task task, int n_layers,
                                        const struct amx_rule_binding *bindings, size_t n_bindings,
                                        const char *file, int line, int col, struct amx_error *err)
{
    const bool classifier = task == AMX_TASK_CLASSIFIER;
    if (n_layers < (classifier ? 1 : 2))
        return amx_fail(err, AMX_ERR_CONFIG, file, line, col,
                        "the network needs at least %d layer sizes (got %d)", classifier ? 1 : 2,
                        n_layers);
    const int depth = classifier ? n_layers : 2 * (n_layers - 1);
    const size_t n = 2 * (size_t)depth;
    struct amx_param_tensor *t = calloc(n, sizeof *t);
    if (!t) return amx_fail(err, AMX_ERR_NOMEM, file, 0, 0, "out of memory");
    for (int l = 1; l <= depth; l++) {
        for (int k = 0; k < 2; k++) {
            struct amx_param_tensor *p = &t[2 * (l - 1) + k];
            snprintf(p->name, sizeof p->name, "layer%d.%s", l, k ? "biases" : "weights");
            p->layer = l;
            p->is_bias = k == 1;
            if (classifier)
                p->part = l == depth ? "softmax" : NULL;
            else
                p->part = l <= n_layers - 1 ? "encoder" : "decoder";
        }
    }
    enum amx_status st = amx_groups_resolve(t, n, bindings, n_bindings, NULL, file, line, col, err);
    free(t);
    return st;
}
