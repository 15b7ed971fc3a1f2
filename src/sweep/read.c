/* Reading the sweep section of an experiment (docs/experiment-language.md) into
 * axes, grid dimensions and exclude entries, before anything is expanded.
 *
 * Each key of `sweep` other than zip and exclude is an axis: a sequence gives
 * values, a mapping gives named variants (whole subtrees). Each group of
 * `zip` is one dimension whose axes advance together; `exclude` entries are
 * turned into, per axis, the values they match. Every axis path is checked
 * against the schema table (amx_config_path_check), as --set paths are. A
 * value's label is the value as compact flow YAML ("0.01", "[1, 2]"), the
 * text the dry-run listing, summary.csv and the report print for it.
 *
 * Errors are noted in the expander (expand.c), never printed. Nothing here
 * binds a run: that is expanding's job. */
#include "adamix/config.h"
#include "adamix/sweep.h"
#include "sweep_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- growing strings ---- */

struct sbuf {
    char *s;
    size_t len, cap;
    bool failed;
};

static void sb_addn(struct sbuf *b, const char *text, size_t n)
{
    if (b->failed) return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *p = realloc(b->s, cap);
        if (!p) {
            b->failed = true;
            return;
        }
        b->s = p;
        b->cap = cap;
    }
    memcpy(b->s + b->len, text, n);
    b->len += n;
    b->s[b->len] = '\0';
}

static void sb_add(struct sbuf *b, const char *text)
{
    sb_addn(b, text, strlen(text));
}

/* The string, or NULL (and nothing leaked) on out of memory. */
static char *sb_take(struct sbuf *b)
{
    if (b->failed) {
        free(b->s);
        return NULL;
    }
    if (!b->s) sb_addn(b, "", 0);
    return b->failed ? NULL : b->s;
}

/* ---- labels: a value as compact flow YAML ---- */

bool sweep_parse_number(const char *text, double *out)
{
    char *end;
    if (!text[0]) return false;
    double d = strtod(text, &end);
    if (*end != '\0' || !isfinite(d)) return false;
    *out = d;
    return true;
}

/* Whether a string read as plain flow YAML would become something else. */
static bool needs_quotes(const char *t)
{
    double d;
    static const char *const words[] = {"true", "false", "null",  "~",    "yes",  "no",   "on",
                                        "off",  "True",  "False", "Null", "NULL", "TRUE", "FALSE"};
    if (!t[0] || sweep_parse_number(t, &d)) return true;
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
        if (strcmp(t, words[i]) == 0) return true;
    if (strpbrk(t, ",[]{}#&*!|>'\"%@`\n\t") || strstr(t, ": ") || t[strlen(t) - 1] == ':')
        return true;
    if (t[0] == ' ' || t[strlen(t) - 1] == ' ' || t[0] == '-' || t[0] == '?') return true;
    return false;
}

static void flow_label(struct sbuf *b, const struct amx_node *n)
{
    switch (n->kind) {
    case AMX_NODE_SCALAR:
        if (n->quoted && needs_quotes(n->text)) {
            sb_add(b, "\"");
            for (const char *c = n->text; *c; c++) {
                if (*c == '"' || *c == '\\') sb_add(b, "\\");
                if (*c == '\n')
                    sb_add(b, "\\n");
                else
                    sb_addn(b, c, 1);
            }
            sb_add(b, "\"");
        } else {
            sb_add(b, n->text);
        }
        break;
    case AMX_NODE_SEQ:
        sb_add(b, "[");
        for (size_t i = 0; i < n->n; i++) {
            if (i) sb_add(b, ", ");
            flow_label(b, n->items[i]);
        }
        sb_add(b, "]");
        break;
    case AMX_NODE_MAP:
        sb_add(b, "{");
        for (size_t i = 0; i < n->n; i++) {
            if (i) sb_add(b, ", ");
            sb_add(b, n->pairs[i].key);
            sb_add(b, ": ");
            flow_label(b, n->pairs[i].value);
        }
        sb_add(b, "}");
        break;
    }
}

static char *label_of(const struct amx_node *n)
{
    struct sbuf b = {0};
    flow_label(&b, n);
    return sb_take(&b);
}

/* Two values of a value axis are the same when they are structurally equal or
 * are both plain numbers of equal value (so `exclude` may write 1e-2 for 0.01). */
static bool same_value(const struct amx_node *a, const struct amx_node *b)
{
    double x, y;
    if (amx_node_equal(a, b)) return true;
    return a->kind == AMX_NODE_SCALAR && b->kind == AMX_NODE_SCALAR && !a->quoted && !b->quoted &&
           sweep_parse_number(a->text, &x) && sweep_parse_number(b->text, &y) && x == y;
}

void sweep_list_labels(const struct amx_sweep_axis *ax, char *buf, size_t size)
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t v = 0; v < ax->n_values && used < size; v++) {
        int k = snprintf(buf + used, size - used, "%s%s", v ? ", " : "", ax->labels[v]);
        if (k < 0) break;
        used += (size_t)k;
    }
}

void sweep_list_axes(const struct amx_experiment *exp, char *buf, size_t size)
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t a = 0; a < exp->n_axes && used < size; a++) {
        int k = snprintf(buf + used, size - used, "%s%s", a ? ", " : "", exp->axes[a].path);
        if (k < 0) break;
        used += (size_t)k;
    }
}

/* ---- reading the sweep section ---- */

static bool add_axis(struct expander *x, const struct amx_node_pair *pair, const char *file,
                     int zip_group)
{
    struct amx_experiment *exp = x->exp;
    const struct amx_node *v = pair->value;
    char msg[AMX_ERROR_MSG_MAX];
    /* A key added by --set sweep.AXIS carries its value's mark (node.h), and
     * its file is the override's, not the sweep section's. */
    const char *kf = pair->line == v->line && pair->col == v->col && v->file ? v->file : file;
    for (size_t a = 0; a < exp->n_axes; a++)
        if (strcmp(exp->axes[a].path, pair->key) == 0) {
            sweep_fail(x, AMX_ERR_CONFIG, kf, pair->line, pair->col,
                       "sweep axis '%s' is given twice (first at line %d)", pair->key,
                       exp->axes[a].line);
            return false;
        }
    if (strcmp(pair->key, "sweep") == 0 || strncmp(pair->key, "sweep.", 6) == 0) {
        sweep_fail(x, AMX_ERR_CONFIG, kf, pair->line, pair->col,
                   "a sweep axis cannot be a path into sweep ('%s')", pair->key);
        return false;
    }
    if (!amx_config_path_check(pair->key, msg, sizeof msg)) {
        sweep_fail(x, AMX_ERR_CONFIG, kf, pair->line, pair->col,
                   "sweep axis '%s' is not a path of the experiment: %s", pair->key, msg);
        return false;
    }
    if (v->kind == AMX_NODE_SCALAR || v->n == 0) {
        sweep_fail(
            x, AMX_ERR_CONFIG, v->file, v->line, v->col,
            "sweep axis '%s' must be a non-empty list of values or a mapping of named variants%s",
            pair->key, v->kind == AMX_NODE_SCALAR ? " (write [v] for a single value)" : "");
        return false;
    }

    size_t a = exp->n_axes;
    struct amx_sweep_axis *axes = realloc(exp->axes, (a + 1) * sizeof *axes);
    if (axes) exp->axes = axes;
    const struct amx_node ***values = realloc(x->values, (a + 1) * sizeof *values);
    if (values) x->values = values;
    bool *variant = realloc(x->variant, (a + 1) * sizeof *variant);
    if (variant) x->variant = variant;
    const char **key_file = realloc(x->key_file, (a + 1) * sizeof *key_file);
    if (key_file) x->key_file = key_file;
    if (!axes || !values || !variant || !key_file) {
        x->nomem = true;
        return false;
    }
    struct amx_sweep_axis *ax = &exp->axes[a];
    memset(ax, 0, sizeof *ax);
    x->values[a] = NULL;
    exp->n_axes++; /* from here on, amx_experiment_free frees it */
    ax->path = malloc(strlen(pair->key) + 1);
    ax->labels = calloc(v->n, sizeof *ax->labels);
    x->values[a] = calloc(v->n, sizeof *x->values[a]);
    if (!ax->path || !ax->labels || !x->values[a]) {
        x->nomem = true;
        return false;
    }
    strcpy(ax->path, pair->key);
    ax->line = pair->line;
    ax->col = pair->col;
    ax->zip_group = zip_group;
    ax->n_values = v->n;
    x->variant[a] = v->kind == AMX_NODE_MAP;
    x->key_file[a] = kf;
    for (size_t i = 0; i < v->n; i++) {
        if (v->kind == AMX_NODE_MAP) {
            x->values[a][i] = v->pairs[i].value;
            ax->labels[i] = malloc(strlen(v->pairs[i].key) + 1);
            if (ax->labels[i]) strcpy(ax->labels[i], v->pairs[i].key);
        } else {
            x->values[a][i] = v->items[i];
            ax->labels[i] = label_of(v->items[i]);
        }
        if (!ax->labels[i]) {
            x->nomem = true;
            return false;
        }
    }
    return true;
}

static bool add_dim(struct expander *x, size_t first, size_t count)
{
    struct dim *d = realloc(x->dims, (x->n_dims + 1) * sizeof *d);
    if (!d) {
        x->nomem = true;
        return false;
    }
    x->dims = d;
    x->dims[x->n_dims].first = first;
    x->dims[x->n_dims].count = count;
    x->dims[x->n_dims].n_values = x->exp->axes[first].n_values;
    x->n_dims++;
    return true;
}

static void read_zip(struct expander *x, const struct amx_node *zip)
{
    if (zip->kind != AMX_NODE_SEQ) {
        sweep_fail(x, AMX_ERR_CONFIG, zip->file, zip->line, zip->col,
                   "sweep.zip must be a list of mappings, each of axes that vary together");
        return;
    }
    for (size_t g = 0; g < zip->n; g++) {
        const struct amx_node *group = zip->items[g];
        if (group->kind != AMX_NODE_MAP || group->n == 0) {
            sweep_fail(
                x, AMX_ERR_CONFIG, group->file, group->line, group->col,
                "each entry of sweep.zip must be a non-empty mapping of axes that vary together");
            continue;
        }
        size_t first = x->exp->n_axes;
        bool ok = true;
        for (size_t i = 0; i < group->n; i++)
            ok = add_axis(x, &group->pairs[i], group->file, (int)g) && ok;
        if (!ok) continue;
        const struct amx_sweep_axis *axes = x->exp->axes;
        for (size_t a = first + 1; a < x->exp->n_axes; a++)
            if (axes[a].n_values != axes[first].n_values) {
                sweep_fail(
                    x, AMX_ERR_CONFIG, group->file, group->line, group->col,
                    "zipped axes must have the same number of values: '%s' has %zu, '%s' has "
                    "%zu",
                    axes[first].path, axes[first].n_values, axes[a].path, axes[a].n_values);
                ok = false;
                break;
            }
        if (ok) add_dim(x, first, x->exp->n_axes - first);
    }
}

long sweep_find_axis(const struct amx_experiment *exp, const char *path)
{
    for (size_t a = 0; a < exp->n_axes; a++)
        if (strcmp(exp->axes[a].path, path) == 0) return (long)a;
    return -1;
}

static void read_exclude(struct expander *x, const struct amx_node *ex)
{
    const struct amx_experiment *exp = x->exp;
    char buf[600], sugg[300];
    if (ex->kind != AMX_NODE_SEQ) {
        sweep_fail(x, AMX_ERR_CONFIG, ex->file, ex->line, ex->col,
                   "sweep.exclude must be a list of mappings (axis: value)");
        return;
    }
    x->excl = calloc(ex->n ? ex->n : 1, sizeof *x->excl);
    if (!x->excl) {
        x->nomem = true;
        return;
    }
    for (size_t i = 0; i < ex->n; i++) {
        const struct amx_node *entry = ex->items[i];
        if (entry->kind != AMX_NODE_MAP || entry->n == 0) {
            sweep_fail(x, AMX_ERR_CONFIG, entry->file, entry->line, entry->col,
                       "each entry of sweep.exclude must be a non-empty mapping of sweep axes to "
                       "values");
            continue;
        }
        struct excl_entry *xe = &x->excl[x->n_excl++];
        xe->pairs = calloc(entry->n, sizeof *xe->pairs);
        if (!xe->pairs) {
            x->nomem = true;
            return;
        }
        for (size_t k = 0; k < entry->n; k++) {
            const struct amx_node_pair *p = &entry->pairs[k];
            long a = sweep_find_axis(exp, p->key);
            if (a < 0) {
                const char **cands = malloc((exp->n_axes ? exp->n_axes : 1) * sizeof *cands);
                sugg[0] = '\0';
                if (cands) {
                    for (size_t j = 0; j < exp->n_axes; j++)
                        cands[j] = exp->axes[j].path;
                    const char *s = amx_suggest(p->key, cands, exp->n_axes);
                    if (s) snprintf(sugg, sizeof sugg, " (did you mean '%s'?)", s);
                    free(cands);
                }
                sweep_list_axes(exp, buf, sizeof buf);
                sweep_fail(x, AMX_ERR_CONFIG, entry->file, p->line, p->col,
                           "exclude names '%s', which is not a sweep axis%s; the axes are: %s",
                           p->key, sugg, exp->n_axes ? buf : "(none)");
                continue;
            }
            const struct amx_sweep_axis *ax = &exp->axes[a];
            struct excl_pair *xp = &xe->pairs[xe->n];
            xp->axis = (size_t)a;
            xp->match = calloc(ax->n_values, sizeof *xp->match);
            if (!xp->match) {
                x->nomem = true;
                return;
            }
            xe->n++;
            bool any = false;
            for (size_t v = 0; v < ax->n_values; v++) {
                if (x->variant[a])
                    xp->match[v] = p->value->kind == AMX_NODE_SCALAR &&
                                   strcmp(p->value->text, ax->labels[v]) == 0;
                else
                    xp->match[v] = same_value(x->values[a][v], p->value);
                any = any || xp->match[v];
            }
            if (!any) {
                char *label = label_of(p->value);
                sweep_list_labels(ax, buf, sizeof buf);
                sweep_fail(x, AMX_ERR_CONFIG, p->value->file, p->value->line, p->value->col,
                           "exclude: %s is not a %s of sweep axis '%s' (it has: %s)",
                           label ? label : "this", x->variant[a] ? "variant" : "value", ax->path,
                           buf);
                free(label);
            }
        }
    }
}

void sweep_read(struct expander *x, const struct amx_node *sweep)
{
    const struct amx_node *exclude = NULL;
    if (sweep->kind == AMX_NODE_SCALAR && !sweep->quoted &&
        (!sweep->text[0] || strcmp(sweep->text, "~") == 0 || strcmp(sweep->text, "null") == 0))
        return; /* `sweep:` with nothing: one point */
    if (sweep->kind != AMX_NODE_MAP) {
        sweep_fail(x, AMX_ERR_CONFIG, sweep->file, sweep->line, sweep->col,
                   "sweep must be a mapping of axes (path: [values] or path: {name: variant})");
        return;
    }
    for (size_t i = 0; i < sweep->n; i++) {
        const struct amx_node_pair *p = &sweep->pairs[i];
        if (strcmp(p->key, "zip") == 0)
            read_zip(x, p->value);
        else if (strcmp(p->key, "exclude") == 0)
            exclude = p->value, x->exclude = p;
        else if (add_axis(x, p, sweep->file, -1))
            add_dim(x, x->exp->n_axes - 1, 1);
    }
    if (sweep_count_errors(x) == 0 && exclude) read_exclude(x, exclude);
}
