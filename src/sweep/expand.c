/* Expanding an experiment's sweep into runs (docs/experiment-language.md), once
 * read.c has read the section into axes and dimensions.
 *
 * Axes multiply in file order, the first slowest; each zip group is one
 * position in that order (where `zip` stands) whose axes advance together;
 * `exclude` removes the points matching all pairs of one of its entries;
 * every point is run `repeats` times, the repeat varying fastest. A point's
 * tree is the root without `sweep`, with each axis value (a clone of the node
 * from the file, marks and all) set at its path; binding it then reports a
 * bad value at the line and column of that value in the sweep section.
 *
 * Errors are collected, never printed: each distinct error once, prefixed
 * with the sweep point it belongs to when it does not hold for every point.
 * Nothing here runs, reads data or writes files. */
#include "adamix/config.h"
#include "adamix/sweep.h"
#include "sweep_internal.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Grids beyond this are refused rather than allocated: each run holds its
 * config (~10 kB) and tree, so 20000 runs take a few hundred MB, and that
 * many trainings of an autoencoder are beyond one experiment file anyway. */
#define MAX_POINTS 100000
#define MAX_RUNS 20000

/* ---- errors ---- */

void sweep_note(struct expander *x, const struct amx_error *e, long axis, const size_t *point)
{
    for (size_t i = 0; i < x->n_seen; i++) {
        struct amx_error *s = &x->seen[i].e;
        if (s->code == e->code && s->line == e->line && s->col == e->col &&
            strcmp(s->path, e->path) == 0 && strcmp(s->msg, e->msg) == 0) {
            x->seen[i].n_points++;
            return;
        }
    }
    if (x->n_seen == x->cap_seen) {
        size_t cap = x->cap_seen ? 2 * x->cap_seen : 16;
        struct seen_error *p = realloc(x->seen, cap * sizeof *p);
        if (!p) {
            x->nomem = true;
            return;
        }
        x->seen = p;
        x->cap_seen = cap;
    }
    struct seen_error *s = &x->seen[x->n_seen];
    s->e = *e;
    s->axis = axis;
    s->n_points = 1;
    s->point = NULL;
    if (point && x->exp->n_axes) {
        s->point = malloc(x->exp->n_axes * sizeof *s->point);
        if (!s->point) {
            x->nomem = true;
            return;
        }
        memcpy(s->point, point, x->exp->n_axes * sizeof *s->point);
    }
    x->n_seen++;
}

void sweep_fail(struct expander *x, enum amx_status code, const char *file, int line, int col,
                const char *fmt, ...)
{
    struct amx_error e;
    va_list ap;
    va_start(ap, fmt);
    amx_vfail(&e, code, file, line, col, fmt, ap);
    va_end(ap);
    sweep_note(x, &e, -1, NULL);
}

size_t sweep_count_errors(const struct expander *x)
{
    return x->n_seen + (x->nomem ? 1 : 0);
}

/* "a=1, b=AdaMix" for the axes in `only` (all when NULL). */
static void describe_point(const struct expander *x, const size_t *point, const bool *only,
                           char *buf, size_t size)
{
    const struct amx_experiment *exp = x->exp;
    size_t used = 0;
    buf[0] = '\0';
    for (size_t a = 0; a < exp->n_axes && used < size; a++) {
        if (only && !only[a]) continue;
        int k = snprintf(buf + used, size - used, "%s%s=%s", used ? ", " : "", exp->axes[a].path,
                         exp->axes[a].labels[point[a]]);
        if (k < 0) break;
        used += (size_t)k;
    }
}

/* ---- expanding ---- */

static bool mark_in(const struct amx_node *n, const struct amx_error *e)
{
    if (n->line == e->line && n->col == e->col && strcmp(n->file ? n->file : "", e->path) == 0)
        return true;
    for (size_t i = 0; i < n->n; i++) {
        if (n->kind == AMX_NODE_SEQ && mark_in(n->items[i], e)) return true;
        if (n->kind == AMX_NODE_MAP) {
            if (n->pairs[i].line == e->line && n->pairs[i].col == e->col &&
                strcmp(n->file ? n->file : "", e->path) == 0)
                return true;
            if (mark_in(n->pairs[i].value, e)) return true;
        }
    }
    return false;
}

/* The pair that holds the value of a dotted path in a tree, and the file of
 * its mapping (pairs carry no file of their own). */
static const struct amx_node_pair *pair_at(const struct amx_node *tree, const char *path,
                                           const char **file)
{
    const struct amx_node *map = tree;
    const char *last = strrchr(path, '.');
    if (last) {
        char parent[AMX_ERROR_PATH_MAX];
        snprintf(parent, sizeof parent, "%.*s", (int)(last - path), path);
        map = amx_node_get_path(tree, parent);
        last++;
    } else {
        last = path;
    }
    if (!map || map->kind != AMX_NODE_MAP) return NULL;
    *file = map->file ? map->file : "";
    return amx_node_map_pair(map, last);
}

/* The axis an error of a point belongs to: the one whose value (or key in the
 * sweep section) holds its location; -1 when none does. An error located at
 * the key that holds an axis value in the point's tree (a key the base file
 * had: replacing its value kept the key's mark, e.g. a rule coverage error at
 * `rules:`) is about that value, and is moved to the value's mark. */
static long attribute(const struct expander *x, struct amx_error *e, const size_t *point,
                      const struct amx_node *tree)
{
    const struct amx_experiment *exp = x->exp;
    for (size_t a = 0; a < exp->n_axes; a++) {
        if (e->line == exp->axes[a].line && e->col == exp->axes[a].col &&
            strcmp(e->path, x->key_file[a]) == 0)
            return (long)a;
        if (mark_in(x->values[a][point[a]], e)) return (long)a;
    }
    for (size_t a = 0; a < exp->n_axes; a++) {
        const char *file = "";
        const struct amx_node_pair *p = pair_at(tree, exp->axes[a].path, &file);
        if (p && p->line == e->line && p->col == e->col && strcmp(file, e->path) == 0) {
            const struct amx_node *v = x->values[a][point[a]];
            snprintf(e->path, sizeof e->path, "%s", v->file ? v->file : "");
            e->line = v->line;
            e->col = v->col;
            return (long)a;
        }
    }
    return -1;
}

static bool excluded(const struct expander *x, const size_t *point)
{
    for (size_t i = 0; i < x->n_excl; i++) {
        const struct excl_entry *xe = &x->excl[i];
        bool all = xe->n > 0;
        for (size_t k = 0; k < xe->n && all; k++)
            all = xe->pairs[k].match[point[xe->pairs[k].axis]];
        if (all) return true;
    }
    return false;
}

static int depth(const char *path)
{
    int d = 0;
    for (; *path; path++)
        d += *path == '.';
    return d;
}

/* The resolved tree of one point: root without sweep, axis values set. A
 * shorter path is set before a longer one, so an axis inside another axis's
 * subtree (finetune.rules and finetune.rules.weights.eta0) refines it. */
static struct amx_node *point_tree(struct expander *x, const size_t *point)
{
    const struct amx_experiment *exp = x->exp;
    struct amx_node *tree = amx_node_clone(exp->root);
    if (!tree) {
        x->nomem = true;
        return NULL;
    }
    amx_node_map_remove(tree, "sweep");
    int max_depth = 0;
    for (size_t a = 0; a < exp->n_axes; a++)
        if (depth(exp->axes[a].path) > max_depth) max_depth = depth(exp->axes[a].path);
    for (int d = 0; d <= max_depth; d++)
        for (size_t a = 0; a < exp->n_axes; a++) {
            if (depth(exp->axes[a].path) != d) continue;
            struct amx_node *v = amx_node_clone(x->values[a][point[a]]);
            struct amx_error e;
            if (!v) {
                x->nomem = true;
                amx_node_free(tree);
                return NULL;
            }
            if (sweep_set_path(tree, exp->axes[a].path, v, x->key_file[a], exp->axes[a].line,
                               exp->axes[a].col, &e) != AMX_OK) {
                amx_node_free(tree);
                sweep_note(x, &e, (long)a, point);
                return NULL;
            }
        }
    return tree;
}

/* Appends a run; takes ownership of tree in every case. */
static bool add_run(struct expander *x, const size_t *point, int repeat,
                    const struct amx_run_config *cfg, struct amx_node *tree)
{
    struct amx_experiment *exp = x->exp;
    /* grow by doubling: the capacity is the next power of two of n_runs */
    size_t n = exp->n_runs;
    if ((n & (n - 1)) == 0) {
        size_t cap = n ? 2 * n : 1;
        struct amx_run *r = realloc(exp->runs, cap * sizeof *r);
        if (!r) {
            amx_node_free(tree);
            x->nomem = true;
            return false;
        }
        exp->runs = r;
    }
    struct amx_run *run = &exp->runs[n];
    memset(run, 0, sizeof *run);
    run->value = malloc((exp->n_axes ? exp->n_axes : 1) * sizeof *run->value);
    run->tree = tree;
    exp->n_runs++; /* amx_experiment_free now owns tree and value */
    if (!run->value) {
        x->nomem = true;
        return false;
    }
    if (exp->n_axes) memcpy(run->value, point, exp->n_axes * sizeof *run->value);
    run->repeat = repeat;
    run->cfg = *cfg;
    run->cfg.repeat = repeat;
    if (!sweep_run_id(&run->cfg, run->id)) {
        x->nomem = true;
        return false;
    }
    return true;
}

/* report.series must name a sweep axis (the figure draws one line per value),
 * and report.baseline a value of that axis (the series axis: report.series, or
 * the first axis). Checked on the first point that binds: report is not meant
 * to be swept. */
static void check_series(struct expander *x, const struct amx_run_config *cfg,
                         const struct amx_node *tree)
{
    const struct amx_experiment *exp = x->exp;
    char buf[600];
    struct amx_error e;
    long series = exp->n_axes ? 0 : -1;
    if (cfg->report.series[0]) {
        series = sweep_find_axis(exp, cfg->report.series);
        if (series < 0) {
            const struct amx_node *n = amx_node_get_path(tree, "report.series");
            sweep_list_axes(exp, buf, sizeof buf);
            amx_fail(&e, AMX_ERR_CONFIG, n ? n->file : exp->file, n ? n->line : 0, n ? n->col : 0,
                     "report.series '%s' is not a sweep axis (%s%s)", cfg->report.series,
                     exp->n_axes ? "the axes are: " : "the experiment has no sweep", buf);
            sweep_note(x, &e, -1, NULL);
            return;
        }
    }
    if (!cfg->report.baseline[0]) return;
    const struct amx_node *n = amx_node_get_path(tree, "report.baseline");
    const char *file = n ? n->file : exp->file;
    int line = n ? n->line : 0, col = n ? n->col : 0;
    if (series < 0) {
        amx_fail(&e, AMX_ERR_CONFIG, file, line, col,
                 "report.baseline '%s' needs a sweep: it names a value of the series axis, and "
                 "the experiment has no sweep",
                 cfg->report.baseline);
        sweep_note(x, &e, -1, NULL);
        return;
    }
    const struct amx_sweep_axis *ax = &exp->axes[series];
    for (size_t v = 0; v < ax->n_values; v++)
        if (strcmp(ax->labels[v], cfg->report.baseline) == 0) return;
    sweep_list_labels(ax, buf, sizeof buf);
    const char *s =
        amx_suggest(cfg->report.baseline, (const char *const *)ax->labels, ax->n_values);
    char sugg[300] = "";
    if (s) snprintf(sugg, sizeof sugg, "; did you mean '%s'?", s);
    amx_fail(&e, AMX_ERR_CONFIG, file, line, col,
             "report.baseline '%s' is not a value of the series axis %s (its values: %s)%s",
             cfg->report.baseline, ax->path, buf, sugg);
    sweep_note(x, &e, -1, NULL);
}

/* The axis values of point p (mixed radix, the last dimension fastest). */
static void point_at(const struct expander *x, size_t p, size_t *point)
{
    for (size_t d = x->n_dims; d-- > 0;) {
        size_t v = p % x->dims[d].n_values;
        p /= x->dims[d].n_values;
        for (size_t k = 0; k < x->dims[d].count; k++)
            point[x->dims[d].first + k] = v;
    }
}

/* `repeats` as the file gives it, read leniently (binding checks it): a plain
 * whole number >= 1, else 0. */
static long long given_repeats(const struct amx_node *v)
{
    double d;
    if (!v || v->kind != AMX_NODE_SCALAR || v->quoted || !sweep_parse_number(v->text, &d)) return 0;
    return d >= 1 && d <= 1e15 && d == floor(d) ? (long long)d : 0;
}

/* Refuses a sweep of more than MAX_RUNS runs (points left after exclude,
 * times repeats) before any run is built: building them first would cost
 * seconds and hundreds of MB before saying no. Located at `repeats` when it
 * multiplies, else at the sweep. A swept `repeats` is checked per point. */
static bool check_run_count(struct expander *x, size_t total, size_t *point)
{
    const struct amx_experiment *exp = x->exp;
    size_t points = 0;
    for (size_t p = 0; p < total; p++) {
        point_at(x, p, point);
        if (!excluded(x, point)) points++;
    }
    const struct amx_node *rep = amx_node_map_get(exp->root, "repeats");
    long long repeats = amx_node_map_get(exp->root, "repeat") ? 1 : given_repeats(rep);
    if (repeats < 1) repeats = 1; /* absent or invalid: binding says which */
    if ((double)points * (double)repeats <= MAX_RUNS) return true;
    if (repeats > 1) {
        sweep_fail(x, AMX_ERR_CONFIG, rep->file, rep->line, rep->col,
                   "the experiment has %.0f runs (%zu sweep point%s x %lld repeats), more than the "
                   "limit of %d; expected at most %d: lower repeats or split the experiment",
                   (double)points * (double)repeats, points, points == 1 ? "" : "s", repeats,
                   MAX_RUNS, MAX_RUNS);
    } else {
        const struct amx_node_pair *sw = amx_node_map_pair(exp->root, "sweep");
        sweep_fail(x, AMX_ERR_CONFIG, sw ? exp->root->file : exp->file, sw ? sw->line : 0,
                   sw ? sw->col : 0,
                   "the sweep has %zu points, more than the limit of %d runs; expected at most %d: "
                   "split the experiment",
                   points, MAX_RUNS, MAX_RUNS);
    }
    return false;
}

static void expand_points(struct expander *x)
{
    struct amx_experiment *exp = x->exp;
    size_t total = 1;
    for (size_t d = 0; d < x->n_dims; d++) {
        if (total > MAX_POINTS / x->dims[d].n_values) {
            sweep_fail(x, AMX_ERR_CONFIG, x->key_file[x->dims[d].first],
                       exp->axes[x->dims[d].first].line, exp->axes[x->dims[d].first].col,
                       "the sweep has more than %d points; split the experiment", MAX_POINTS);
            return;
        }
        total *= x->dims[d].n_values;
    }
    size_t *point = calloc(exp->n_axes ? exp->n_axes : 1, sizeof *point);
    struct amx_run_config *cfg = malloc(sizeof *cfg);
    if (!point || !cfg) {
        x->nomem = true;
        goto done;
    }
    if (!check_run_count(x, total, point)) goto done;
    bool series_checked = false;
    for (size_t p = 0; p < total && !x->nomem; p++) {
        point_at(x, p, point);
        if (excluded(x, point)) continue;
        x->n_tried++;
        struct amx_node *tree = point_tree(x, point);
        if (!tree) continue;
        struct amx_errlist errs = {0};
        memset(cfg, 0, sizeof *cfg);
        if (amx_config_bind(tree, cfg, &errs) != AMX_OK) {
            for (size_t i = 0; i < errs.n; i++)
                sweep_note(x, &errs.items[i], attribute(x, &errs.items[i], point, tree), point);
            if (errs.n == 0) sweep_fail(x, AMX_ERR_CONFIG, exp->file, 0, 0, "invalid experiment");
            amx_errlist_free(&errs);
            amx_node_free(tree);
            continue;
        }
        amx_errlist_free(&errs);
        if (!cfg->file[0]) snprintf(cfg->file, sizeof cfg->file, "%s", exp->file);
        if (!series_checked) check_series(x, cfg, tree);
        series_checked = true;
        int repeats = cfg->repeats >= 1 ? cfg->repeats : 1;
        /* A file that names its repeat (a run's config.yaml read back as an
         * experiment) is that one run, not every repeat. */
        bool one = amx_node_map_get(tree, "repeat") != NULL;
        int first = one ? cfg->repeat : 0, last = one ? cfg->repeat + 1 : repeats;
        /* checked before the point's runs are built (repeats may be swept) */
        if (exp->n_runs + (size_t)(last - first) > MAX_RUNS) {
            const struct amx_node *rep = amx_node_map_get(tree, "repeats");
            const struct amx_node_pair *sw = amx_node_map_pair(exp->root, "sweep");
            sweep_fail(x, AMX_ERR_CONFIG, rep ? rep->file : exp->root->file,
                       rep  ? rep->line
                       : sw ? sw->line
                            : 0,
                       rep  ? rep->col
                       : sw ? sw->col
                            : 0,
                       "%d repeat%s of this sweep point make more than %d runs (%zu before it); "
                       "expected at most %d in all: lower repeats or split the experiment",
                       last - first, last - first == 1 ? "" : "s", MAX_RUNS, exp->n_runs, MAX_RUNS);
            amx_node_free(tree);
            goto done;
        }
        for (int r = first; r < last; r++) {
            struct amx_node *t = r + 1 < last ? amx_node_clone(tree) : tree;
            if (!t || !add_run(x, point, r, cfg, t)) {
                if (t != tree) amx_node_free(tree);
                x->nomem = x->nomem || !t;
                goto done;
            }
        }
    }
done:
    free(cfg);
    free(point);
}

struct id_index {
    char id[AMX_RUN_ID_LEN + 1];
    size_t run;
};

static int cmp_id_index(const void *a, const void *b)
{
    const struct id_index *p = a, *q = b;
    int c = strcmp(p->id, q->id);
    return c ? c : (p->run < q->run ? -1 : p->run > q->run);
}

/* Two runs with one id would share a result folder: an axis value that does
 * not change what is computed (a duplicate, 1e-2 next to 0.01, an axis over
 * report or name). Named by the axes in which the two points differ. */
static void check_duplicates(struct expander *x)
{
    const struct amx_experiment *exp = x->exp;
    if (exp->n_runs < 2) return;
    struct id_index *ix = malloc(exp->n_runs * sizeof *ix);
    bool *differ = calloc(exp->n_axes ? exp->n_axes : 1, sizeof *differ);
    if (!ix || !differ) {
        x->nomem = true;
        goto done;
    }
    for (size_t i = 0; i < exp->n_runs; i++) {
        memcpy(ix[i].id, exp->runs[i].id, sizeof ix[i].id);
        ix[i].run = i;
    }
    qsort(ix, exp->n_runs, sizeof *ix, cmp_id_index);
    for (size_t k = 1; k < exp->n_runs; k++) {
        if (strcmp(ix[k - 1].id, ix[k].id) != 0) continue;
        const struct amx_run *a = &exp->runs[ix[k - 1].run], *b = &exp->runs[ix[k].run];
        long first = -1;
        for (size_t ax = 0; ax < exp->n_axes; ax++) {
            differ[ax] = a->value[ax] != b->value[ax];
            if (differ[ax] && first < 0) first = (long)ax;
        }
        char da[400], db[400];
        describe_point(x, a->value, differ, da, sizeof da);
        describe_point(x, b->value, differ, db, sizeof db);
        const struct amx_node *at = first >= 0 ? x->values[first][b->value[first]] : NULL;
        sweep_fail(x, AMX_ERR_CONFIG, at ? at->file : exp->file, at ? at->line : 0,
                   at ? at->col : 0,
                   "sweep points %s and %s give the same run: each sweep value must change what "
                   "is computed (data, network, pretrain, finetune or seed)",
                   da, db);
    }
done:
    free(differ);
    free(ix);
}

/* Moves the collected errors into errs, each prefixed with the point it
 * belongs to unless every point had it. */
static void report_errors(struct expander *x, struct amx_errlist *errs)
{
    const struct amx_experiment *exp = x->exp;
    for (size_t i = 0; i < x->n_seen; i++) {
        struct seen_error *s = &x->seen[i];
        struct amx_error e = s->e;
        char where[700];
        where[0] = '\0';
        if (s->point && s->axis >= 0) {
            const struct amx_sweep_axis *ax = &exp->axes[s->axis];
            snprintf(where, sizeof where, "in sweep point %s=%s: ", ax->path,
                     ax->labels[s->point[s->axis]]);
        } else if (s->point && s->n_points < x->n_tried) {
            char desc[600];
            describe_point(x, s->point, NULL, desc, sizeof desc);
            if (s->n_points > 1)
                snprintf(where, sizeof where, "in sweep point %s (and %zu other points): ", desc,
                         s->n_points - 1);
            else
                snprintf(where, sizeof where, "in sweep point %s: ", desc);
        }
        if (where[0]) {
            size_t w = strlen(where);
            if (w >= sizeof e.msg) w = sizeof e.msg - 1;
            memcpy(e.msg, where, w);
            snprintf(e.msg + w, sizeof e.msg - w, "%s", s->e.msg);
        }
        amx_errlist_add(errs, &e);
    }
    if (x->nomem) {
        struct amx_error e;
        amx_fail(&e, AMX_ERR_NOMEM, exp->file, 0, 0, "out of memory while expanding the sweep");
        amx_errlist_add(errs, &e);
    }
}

static void expander_free(struct expander *x)
{
    for (size_t a = 0; a < x->exp->n_axes && x->values; a++)
        free(x->values[a]);
    free(x->values);
    free(x->variant);
    free(x->key_file);
    free(x->dims);
    for (size_t i = 0; i < x->n_excl; i++) {
        for (size_t k = 0; k < x->excl[i].n; k++)
            free(x->excl[i].pairs[k].match);
        free(x->excl[i].pairs);
    }
    free(x->excl);
    for (size_t i = 0; i < x->n_seen; i++)
        free(x->seen[i].point);
    free(x->seen);
}

/* Every point excluded: nothing would run, and the results folder would be
 * made for nothing. Only `exclude` can do this (an axis has >= 1 value). */
static void no_runs(struct expander *x)
{
    const struct amx_experiment *exp = x->exp;
    size_t total = 1;
    for (size_t d = 0; d < x->n_dims; d++)
        total *= x->dims[d].n_values;
    const struct amx_node_pair *at = x->exclude;
    /* a pair set by --set sweep.exclude=... has its value's mark and file */
    const char *file = at && at->line == at->value->line && at->col == at->value->col
                           ? at->value->file
                           : x->sweep_file;
    if (at)
        sweep_fail(x, AMX_ERR_CONFIG, file, at->line, at->col,
                   "sweep.exclude removes every point of the sweep (all %zu), so there is no run; "
                   "expected an experiment of at least one run",
                   total);
    else
        sweep_fail(x, AMX_ERR_CONFIG, exp->file, 1, 1, "the experiment has no run");
}

enum amx_status sweep_expand(struct amx_experiment *exp, struct amx_errlist *errs)
{
    struct expander x = {0};
    x.exp = exp;
    const struct amx_node *sweep = amx_node_map_get(exp->root, "sweep");
    x.sweep_file = sweep && sweep->file ? sweep->file : exp->file;
    if (sweep) sweep_read(&x, sweep);
    if (sweep_count_errors(&x) == 0) expand_points(&x);
    if (sweep_count_errors(&x) == 0 && exp->n_runs == 0) no_runs(&x);
    if (sweep_count_errors(&x) == 0) check_duplicates(&x);
    enum amx_status st = x.nomem ? AMX_ERR_NOMEM : x.n_seen ? x.seen[0].e.code : AMX_OK;
    report_errors(&x, errs);
    expander_free(&x);
    return st;
}
