/* Loading an experiment (sweep.h): parse the file, apply the --set overrides
 * in order, refuse an override that a sweep axis would overwrite, then
 * expand the sweep and bind every run (read.c, expand.c). Also freeing one.
 *
 * Every problem is added to the error list; nothing is printed. */
#include "adamix/config.h"
#include "adamix/sweep.h"
#include "adamix/tune.h"
#include "sweep_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *copy_string(const char *s)
{
    char *c = malloc(strlen(s) + 1);
    if (c) strcpy(c, s);
    return c;
}

static enum amx_status nomem(struct amx_errlist *errs, const char *file)
{
    struct amx_error e;
    amx_fail(&e, AMX_ERR_NOMEM, file, 0, 0, "out of memory");
    amx_errlist_add(errs, &e);
    return AMX_ERR_NOMEM;
}

/* The sweep axis (key of `sweep`, or of one of its zip groups) that path is
 * or lies under, or NULL. */
static const struct amx_node_pair *swept_by(const struct amx_node *root, const char *path,
                                            size_t plen)
{
    const struct amx_node *sweep = amx_node_map_get(root, "sweep");
    if (!sweep || sweep->kind != AMX_NODE_MAP) return NULL;
    for (size_t i = 0; i < sweep->n; i++) {
        const struct amx_node_pair *p = &sweep->pairs[i];
        const struct amx_node *group = NULL;
        if (strcmp(p->key, "exclude") == 0) continue;
        if (strcmp(p->key, "zip") == 0) {
            if (p->value->kind != AMX_NODE_SEQ) continue;
            for (size_t g = 0; g < p->value->n; g++) {
                group = p->value->items[g];
                if (group->kind != AMX_NODE_MAP) continue;
                for (size_t k = 0; k < group->n; k++) {
                    size_t al = strlen(group->pairs[k].key);
                    if (plen >= al && strncmp(path, group->pairs[k].key, al) == 0 &&
                        (plen == al || path[al] == '.'))
                        return &group->pairs[k];
                }
            }
            continue;
        }
        size_t al = strlen(p->key);
        if (plen >= al && strncmp(path, p->key, al) == 0 && (plen == al || path[al] == '.'))
            return p;
    }
    return NULL;
}

/* Takes the `tune` section out of the root: the runs of the experiment as
 * written are bound without it (tune.h). */
static void detach_tune(struct amx_experiment *exp)
{
    struct amx_node_pair *p = amx_node_map_pair(exp->root, "tune");
    if (!p) return;
    exp->tune_node = p->value;
    exp->tune_line = p->line;
    exp->tune_col = p->col;
    p->value = NULL;
    amx_node_map_remove(exp->root, "tune");
}

/* Takes ownership of root (NULL when parsing failed, with err filled). */
static enum amx_status load(const char *name, enum amx_status parsed, struct amx_node *root,
                            const struct amx_error *parse_err, const char *const *overrides,
                            size_t n_overrides, struct amx_experiment **out,
                            struct amx_errlist *errs)
{
    *out = NULL;
    if (parsed != AMX_OK) {
        amx_node_free(root);
        amx_errlist_add(errs, parse_err);
        return parsed;
    }
    struct amx_experiment *exp = calloc(1, sizeof *exp);
    if (!exp) {
        amx_node_free(root);
        return nomem(errs, name);
    }
    exp->root = root;
    exp->file = copy_string(name);
    exp->overrides = calloc(n_overrides ? n_overrides : 1, sizeof *exp->overrides);
    if (!exp->file || !exp->overrides) {
        amx_experiment_free(exp);
        return nomem(errs, name);
    }
    enum amx_status st = AMX_OK;
    if (root->kind != AMX_NODE_MAP) {
        struct amx_error e;
        st = amx_fail(&e, AMX_ERR_CONFIG, root->file, root->line, root->col,
                      "an experiment must be a mapping of keys (name, network, finetune, ...)");
        amx_errlist_add(errs, &e);
    }
    for (size_t i = 0; i < n_overrides && st == AMX_OK; i++) {
        exp->overrides[i] = copy_string(overrides[i]);
        if (!exp->overrides[i]) {
            amx_experiment_free(exp);
            return nomem(errs, name);
        }
        exp->n_overrides++;
    }
    /* every override is tried, so one invocation reports all bad ones */
    for (size_t i = 0; i < n_overrides && root->kind == AMX_NODE_MAP; i++) {
        struct amx_error e;
        enum amx_status s = amx_override_apply(root, overrides[i], &e);
        if (s != AMX_OK) {
            amx_errlist_add(errs, &e);
            if (st == AMX_OK) st = s;
        }
    }
    /* an override of a swept value would be overwritten by every point:
     * refuse it rather than drop it silently */
    for (size_t i = 0; i < n_overrides && st == AMX_OK; i++) {
        const char *eq = strchr(overrides[i], '=');
        size_t plen = eq ? (size_t)(eq - overrides[i]) : strlen(overrides[i]);
        if (plen >= 6 && strncmp(overrides[i], "sweep.", 6) == 0) continue;
        if (plen == 5 && strncmp(overrides[i], "sweep", 5) == 0) continue;
        const struct amx_node_pair *axis = swept_by(root, overrides[i], plen);
        if (axis) {
            struct amx_error e;
            st = amx_fail(&e, AMX_ERR_CONFIG, axis->value->file, axis->line, axis->col,
                          "--set %.*s: this value is set by the sweep axis '%s' (here) in every "
                          "run, so the override would be lost; change the axis instead, e.g. "
                          "--set 'sweep.%s=...'",
                          (int)plen, overrides[i], axis->key, axis->key);
            amx_errlist_add(errs, &e);
        }
    }
    if (st == AMX_OK) detach_tune(exp);
    if (st == AMX_OK) st = sweep_expand(exp, errs);
    if (st == AMX_OK && exp->tune_node)
        st = amx_tune_read(exp->tune_node, exp->file, exp->tune_line, exp->tune_col, exp,
                           &exp->tune, errs);
    if (st != AMX_OK) {
        amx_experiment_free(exp);
        return st;
    }
    *out = exp;
    return AMX_OK;
}

enum amx_status amx_experiment_load(const char *path, const char *const *overrides,
                                    size_t n_overrides, struct amx_experiment **out,
                                    struct amx_errlist *errs)
{
    struct amx_node *root = NULL;
    struct amx_error e;
    enum amx_status st = amx_node_parse_file(path, &root, &e);
    return load(path, st, root, &e, overrides, n_overrides, out, errs);
}

enum amx_status amx_experiment_load_string(const char *text, size_t len, const char *name,
                                           const char *const *overrides, size_t n_overrides,
                                           struct amx_experiment **out, struct amx_errlist *errs)
{
    struct amx_node *root = NULL;
    struct amx_error e;
    enum amx_status st = amx_node_parse_string(text, len, name, true, &root, &e);
    return load(name, st, root, &e, overrides, n_overrides, out, errs);
}

enum amx_status amx_experiment_load_tree(struct amx_node *root, const char *name,
                                         struct amx_experiment **out, struct amx_errlist *errs)
{
    struct amx_error e;
    if (!root) {
        amx_fail(&e, AMX_ERR_NOMEM, name, 0, 0, "out of memory");
        return load(name, AMX_ERR_NOMEM, NULL, &e, NULL, 0, out, errs);
    }
    return load(name, AMX_OK, root, NULL, NULL, 0, out, errs);
}

const struct amx_node *amx_experiment_tune(const struct amx_experiment *exp, int *line, int *col)
{
    if (line) *line = exp->tune_line;
    if (col) *col = exp->tune_col;
    return exp->tune_node;
}

void amx_experiment_free(struct amx_experiment *exp)
{
    if (!exp) return;
    amx_node_free(exp->tune_node);
    amx_tune_free(exp->tune);
    free(exp->file);
    amx_node_free(exp->root);
    for (size_t i = 0; i < exp->n_overrides; i++)
        free(exp->overrides[i]);
    free(exp->overrides);
    for (size_t a = 0; a < exp->n_axes; a++) {
        free(exp->axes[a].path);
        for (size_t v = 0; v < exp->axes[a].n_values && exp->axes[a].labels; v++)
            free(exp->axes[a].labels[v]);
        free(exp->axes[a].labels);
    }
    free(exp->axes);
    for (size_t r = 0; r < exp->n_runs; r++) {
        free(exp->runs[r].value);
        amx_node_free(exp->runs[r].tree);
    }
    free(exp->runs);
    free(exp);
}
