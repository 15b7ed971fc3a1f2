/* The `tune` section (include/adamix/tune.h): reading and checking it,
 * growing a grid at an edge, the tuning and final experiments' trees, and
 * the selection. Pure: no I/O; every problem goes to the error list. */
#include "adamix/tune.h"
#include "adamix/config.h"
#include "sweep_internal.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- errors ---- */

struct reader {
    const char *file;
    struct amx_errlist *errs;
    size_t n_errors;
    const struct amx_node *bad_grid; /* a grid shared by the members, refused once */
};

static void fail_at(struct reader *r, const struct amx_node *n, int line, int col, const char *fmt,
                    ...) __attribute__((format(printf, 5, 6)));
static void fail_at(struct reader *r, const struct amx_node *n, int line, int col, const char *fmt,
                    ...)
{
    struct amx_error e;
    char msg[AMX_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    const char *file = n && n->file && n->file[0] ? n->file : r->file;
    amx_fail(&e, AMX_ERR_CONFIG, file, n && !line ? n->line : line, n && !col ? n->col : col, "%s",
             msg);
    amx_errlist_add(r->errs, &e);
    r->n_errors++;
}

static char *dup(const char *s)
{
    char *c = malloc(strlen(s) + 1);
    if (c) strcpy(c, s);
    return c;
}

/* ---- numbers ---- */

/* A value rounded to 12 significant digits: 0.003 / 10 is 0.0003, so a
 * grown grid spells its values as a person would (and keeps run ids). */
static double tidy(double x)
{
    char buf[40];
    snprintf(buf, sizeof buf, "%.12g", x);
    return strtod(buf, NULL);
}

static bool read_number(const struct amx_node *n, double *out)
{
    return n && n->kind == AMX_NODE_SCALAR && !n->quoted && sweep_parse_number(n->text, out);
}

/* An integer >= lo at key of map (default when absent). */
static void read_int(struct reader *r, const struct amx_node *map, const char *key, int lo,
                     int *out)
{
    const struct amx_node_pair *p = amx_node_map_pair(map, key);
    if (!p) return;
    double d;
    if (!read_number(p->value, &d) || d != floor(d) || d < lo || d > 1e6) {
        fail_at(r, p->value, 0, 0, "tune.%s must be a whole number >= %d (got %s)", key, lo,
                p->value->kind == AMX_NODE_SCALAR ? p->value->text : "a collection");
        return;
    }
    *out = (int)d;
}

static void read_word(struct reader *r, const struct amx_node *map, const char *key,
                      const char *const *words, int *out)
{
    const struct amx_node_pair *p = amx_node_map_pair(map, key);
    if (!p) return;
    for (int i = 0; words[i]; i++)
        if (p->value->kind == AMX_NODE_SCALAR && strcmp(p->value->text, words[i]) == 0) {
            *out = i;
            return;
        }
    fail_at(r, p->value, 0, 0, "tune.%s must be one of %s, %s (got %s)", key, words[0], words[1],
            p->value->kind == AMX_NODE_SCALAR ? p->value->text : "a collection");
}

/* ---- grids ---- */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Explicit values: at least two, positive, distinct. */
static bool grid_values(struct reader *r, const struct amx_node *g, const char *where,
                        struct amx_tune_member *m)
{
    m->n_grid = 0;
    for (size_t i = 0; i < g->n; i++) {
        double d;
        if (!read_number(g->items[i], &d) || d <= 0) {
            fail_at(r, g->items[i], 0, 0, "%s: a grid value must be a number > 0 (got %s)", where,
                    g->items[i]->kind == AMX_NODE_SCALAR ? g->items[i]->text : "a collection");
            return false;
        }
        if (m->n_grid == AMX_TUNE_MAX_GRID) {
            fail_at(r, g, 0, 0, "%s: more than %d values", where, AMX_TUNE_MAX_GRID);
            return false;
        }
        m->grid[m->n_grid++] = d;
    }
    qsort(m->grid, m->n_grid, sizeof *m->grid, cmp_double);
    for (size_t i = 1; i < m->n_grid; i++)
        if (m->grid[i] == m->grid[i - 1]) {
            fail_at(r, g, 0, 0, "%s: the value %g is given twice", where, m->grid[i]);
            return false;
        }
    if (m->n_grid < 2) {
        fail_at(r, g, 0, 0,
                "%s: a grid of %zu value%s chooses nothing; give at least two values to choose "
                "from",
                where, m->n_grid, m->n_grid == 1 ? "" : "s");
        return false;
    }
    return true;
}

/* {from, to, per_decade}: from, then every 10^(1/per_decade) up to to. */
static bool grid_log(struct reader *r, const struct amx_node *g, const char *where,
                     struct amx_tune_member *m)
{
    static const char *const keys[] = {"from", "to", "per_decade"};
    double v[3] = {0, 0, 0};
    for (size_t i = 0; i < g->n; i++) {
        size_t k = 0;
        while (k < 3 && strcmp(g->pairs[i].key, keys[k]) != 0)
            k++;
        if (k == 3) {
            fail_at(r, g->pairs[i].value, g->pairs[i].line, g->pairs[i].col,
                    "unknown key '%s' in %s (a log grid has from, to, per_decade)", g->pairs[i].key,
                    where);
            return false;
        }
        if (!read_number(g->pairs[i].value, &v[k]) || v[k] <= 0) {
            fail_at(r, g->pairs[i].value, 0, 0,
                    "%s.%s must be a number > 0: a log grid has positive bounds (got %s)", where,
                    keys[k],
                    g->pairs[i].value->kind == AMX_NODE_SCALAR ? g->pairs[i].value->text
                                                               : "a collection");
            return false;
        }
    }
    for (int k = 0; k < 3; k++)
        if (v[k] == 0) {
            fail_at(r, g, 0, 0, "%s: a log grid needs %s", where, keys[k]);
            return false;
        }
    if (v[2] != floor(v[2])) {
        fail_at(r, g, 0, 0, "%s.per_decade must be a whole number (got %g)", where, v[2]);
        return false;
    }
    m->n_grid = 0;
    double lo = log10(v[0]);
    for (int k = 0; m->n_grid < AMX_TUNE_MAX_GRID; k++) {
        double x = tidy(pow(10, lo + k / v[2]));
        if (x > v[1] * (1 + 1e-9)) break;
        m->grid[m->n_grid++] = x;
    }
    if (m->n_grid < 2) {
        fail_at(r, g, 0, 0,
                "%s: from %g to %g at %g per decade is a grid of %zu value; it chooses nothing",
                where, v[0], v[1], v[2], m->n_grid);
        return false;
    }
    return true;
}

static bool read_grid(struct reader *r, const struct amx_node *g, const char *where,
                      struct amx_tune_member *m)
{
    bool ok;
    if (g->kind == AMX_NODE_SEQ)
        ok = grid_values(r, g, where, m);
    else if (g->kind == AMX_NODE_MAP)
        ok = grid_log(r, g, where, m);
    else {
        fail_at(r, g, 0, 0,
                "%s must be a list of values ([0.001, 0.01, 0.1]) or a log grid ({from: 0.001, "
                "to: 0.1, per_decade: 2}); got %s",
                where, g->text);
        ok = false;
    }
    m->n_base = m->n_grid;
    return ok;
}

/* ---- members ---- */

/* Whether values names something in the member: "eta0" needs groups of
 * rules (the series is finetune.rules); a path needs every step but the
 * last to be there, a mapping or a rule's name. */
static bool member_has(const struct amx_node *member, const char *values, const char *series)
{
    if (strcmp(values, "eta0") == 0)
        return strcmp(series, "finetune.rules") == 0 && member->kind == AMX_NODE_MAP &&
               member->n > 0;
    const struct amx_node *cur = member;
    for (const char *w = values; cur;) {
        const char *dot = strchr(w, '.');
        size_t len = dot ? (size_t)(dot - w) : strlen(w);
        if (len == 0 || len >= 128) return false;
        if (!dot) return cur->kind == AMX_NODE_MAP;
        if (cur->kind != AMX_NODE_MAP) return false;
        char key[128];
        memcpy(key, w, len);
        key[len] = '\0';
        cur = amx_node_map_get(cur, key);
        w = dot + 1;
    }
    return false;
}

static const char *const metric_words[] = {"final", "best", NULL};
static const char *const ties_words[] = {"smaller", "larger", NULL};
static const char *const tune_keys[] = {"values", "grid",   "epochs",  "repeats", "metric",
                                        "ties",   "extend", "studies", "members", NULL};

static void check_keys(struct reader *r, const struct amx_node *map, const char *where,
                       const char *const *keys)
{
    for (size_t i = 0; i < map->n; i++) {
        bool known = false;
        for (int k = 0; keys[k]; k++)
            known = known || strcmp(map->pairs[i].key, keys[k]) == 0;
        if (!known) {
            char list[256] = "";
            for (int k = 0; keys[k]; k++)
                snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", k ? ", " : "",
                         keys[k]);
            fail_at(r, map->pairs[i].value, map->pairs[i].line, map->pairs[i].col,
                    "unknown key '%s' in %s (expected one of: %s)", map->pairs[i].key, where, list);
        }
    }
}

/* The member's values and grid: its own from tune.members, else tune's. */
static void read_member(struct reader *r, struct amx_tune *t, struct amx_tune_member *m,
                        const struct amx_node *tune, const struct amx_node *own)
{
    static const char *const member_keys[] = {"values", "grid", NULL};
    if (own) check_keys(r, own, "tune.members", member_keys);
    const struct amx_node *v = own ? amx_node_map_get(own, "values") : NULL;
    if (!v) v = amx_node_map_get(tune, "values");
    const char *values = v && v->kind == AMX_NODE_SCALAR ? v->text : "eta0";
    if (v && v->kind != AMX_NODE_SCALAR)
        fail_at(r, v, 0, 0, "tune.values must be eta0 or a path inside the member");
    m->values = dup(values);
    if (!member_has(m->node, values, t->series)) {
        if (strcmp(values, "eta0") == 0)
            fail_at(r, v ? v : tune, v ? 0 : t->line, v ? 0 : t->col,
                    "tune.values: eta0 (every group's eta0) needs report.series to be "
                    "finetune.rules, whose members are groups of rules (it is %s); name a path "
                    "inside the member instead",
                    t->series);
        else
            fail_at(r, v, 0, 0,
                    "tune.values: '%s' names nothing in the member '%s' of %s (its keys are "
                    "those of its subtree, such as weights.eta0)",
                    values, m->name, t->series);
    }
    const struct amx_node *g = own ? amx_node_map_get(own, "grid") : NULL;
    const char *where = g ? "tune.members.grid" : "tune.grid";
    if (!g) g = amx_node_map_get(tune, "grid");
    if (!g)
        fail_at(r, tune, t->line, t->col, "tune needs a grid (for the member '%s')", m->name);
    else if (g != r->bad_grid && !read_grid(r, g, where, m))
        r->bad_grid = g;
}

/* The series axis: report.series, a mapping of variants, the only axis. */
static const struct amx_node *series_axis(struct reader *r, struct amx_tune *t,
                                          const struct amx_experiment *exp)
{
    const char *series = exp->n_runs ? exp->runs[0].cfg.report.series : "";
    if (!series[0] && exp->n_axes) series = exp->axes[0].path;
    t->series = dup(series);
    const struct amx_node *sweep = amx_node_map_get(exp->root, "sweep");
    const struct amx_node *axis = series[0] ? amx_node_map_get(sweep, series) : NULL;
    if (!axis || axis->kind != AMX_NODE_MAP) {
        fail_at(r, NULL, t->line, t->col,
                "tune chooses values per member of report.series, a sweep axis of named "
                "variants (such as finetune.rules: {AdaGrad: ..., constant: ...}); %s%s%s",
                series[0] ? "report.series is " : "the experiment has no sweep",
                series[0] ? series : "", series[0] ? ", not a mapping of variants" : "");
        return NULL;
    }
    if (exp->n_axes != 1) {
        fail_at(r, NULL, t->line, t->col,
                "tune chooses per member of %s and needs it to be the only sweep axis (this "
                "experiment has %zu)",
                series, exp->n_axes);
        return NULL;
    }
    return axis;
}

static void read_settings(struct reader *r, struct amx_tune *t, const struct amx_node *tune,
                          const struct amx_experiment *exp)
{
    t->epochs = exp->n_runs ? exp->runs[0].cfg.finetune.epochs : 1;
    t->repeats = t->studies = t->extend = 1;
    read_int(r, tune, "epochs", 1, &t->epochs);
    read_int(r, tune, "repeats", 1, &t->repeats);
    read_int(r, tune, "studies", 1, &t->studies);
    read_int(r, tune, "extend", 0, &t->extend);
    int w = 0;
    read_word(r, tune, "metric", metric_words, &w);
    t->metric = (enum amx_tune_metric)w;
    w = 0;
    read_word(r, tune, "ties", ties_words, &w);
    t->ties = (enum amx_tune_ties)w;
    if (exp->n_runs && exp->runs[0].cfg.data.validation == 0)
        fail_at(r, NULL, t->line, t->col,
                "tune chooses on the validation error, and data.validation is 0: hold out "
                "validation images (data.validation: N, the last N training images) so the test "
                "set stays hidden during the selection");
}

static void read_members(struct reader *r, struct amx_tune *t, const struct amx_node *tune,
                         const struct amx_node *axis)
{
    const struct amx_node *own = amx_node_map_get(tune, "members");
    if (own && own->kind != AMX_NODE_MAP) {
        fail_at(r, own, 0, 0, "tune.members must be a mapping: member -> {values, grid}");
        own = NULL;
    }
    for (size_t i = 0; own && i < own->n; i++)
        if (!amx_node_map_get(axis, own->pairs[i].key))
            fail_at(r, own->pairs[i].value, own->pairs[i].line, own->pairs[i].col,
                    "tune.members: '%s' is not a member of %s", own->pairs[i].key, t->series);
    if (axis->n > AMX_TUNE_MAX_MEMBERS) {
        fail_at(r, axis, 0, 0, "tune: %s has %zu members; at most %d can be tuned", t->series,
                axis->n, AMX_TUNE_MAX_MEMBERS);
        return;
    }
    t->members = calloc(axis->n, sizeof *t->members);
    if (!t->members) return;
    t->n_members = axis->n;
    for (size_t i = 0; i < axis->n; i++) {
        struct amx_tune_member *m = &t->members[i];
        m->name = dup(axis->pairs[i].key);
        m->node = axis->pairs[i].value;
        read_member(r, t, m, tune, own ? amx_node_map_get(own, m->name) : NULL);
    }
}

enum amx_status amx_tune_read(const struct amx_node *tune_node, const char *file, int line, int col,
                              const struct amx_experiment *exp, struct amx_tune **out,
                              struct amx_errlist *errs)
{
    struct reader r = {file, errs, 0, NULL};
    *out = NULL;
    struct amx_tune *t = calloc(1, sizeof *t);
    if (!t) return AMX_ERR_NOMEM;
    t->file = dup(file);
    t->line = line;
    t->col = col;
    if (tune_node->kind != AMX_NODE_MAP) {
        fail_at(&r, tune_node, 0, 0, "tune must be a mapping (values, grid, epochs, ...)");
        amx_tune_free(t);
        return AMX_ERR_CONFIG;
    }
    check_keys(&r, tune_node, "tune", tune_keys);
    read_settings(&r, t, tune_node, exp);
    const struct amx_node *axis = series_axis(&r, t, exp);
    if (axis) read_members(&r, t, tune_node, axis);
    if (r.n_errors) {
        amx_tune_free(t);
        return AMX_ERR_CONFIG;
    }
    *out = t;
    return AMX_OK;
}

void amx_tune_free(struct amx_tune *t)
{
    if (!t) return;
    for (size_t i = 0; i < t->n_members; i++) {
        free(t->members[i].name);
        free(t->members[i].values);
    }
    free(t->members);
    free(t->series);
    free(t->file);
    free(t);
}

/* ---- growing a grid ---- */

double amx_tune_next_value(const struct amx_tune_member *m, int side)
{
    const double *g = m->grid;
    size_t n = m->n_grid;
    double lo = g[0], hi = g[n - 1], best = NAN;
    if (hi / lo >= 10 * (1 - 1e-9)) {
        /* the grid's decade pattern: the nearest x/10 below lo, x*10 above hi */
        for (size_t i = 0; i < n; i++) {
            double x = tidy(side < 0 ? g[i] / 10 : g[i] * 10);
            if (side < 0 && x < lo * (1 - 1e-9) && (isnan(best) || x > best)) best = x;
            if (side > 0 && x > hi * (1 + 1e-9) && (isnan(best) || x < best)) best = x;
        }
        return best;
    }
    return side < 0 ? tidy(lo * lo / g[1]) : tidy(hi * hi / g[n - 2]);
}

bool amx_tune_extend(struct amx_tune_member *m, int side)
{
    if (m->n_grid >= AMX_TUNE_MAX_GRID) return false;
    double x = amx_tune_next_value(m, side);
    if (!(x > 0) || !isfinite(x)) return false;
    if (side < 0) {
        memmove(m->grid + 1, m->grid, m->n_grid * sizeof *m->grid);
        m->grid[0] = x;
        m->ext_low++;
    } else {
        m->grid[m->n_grid] = x;
        m->ext_high++;
    }
    m->n_grid++;
    return true;
}

/* ---- selection ---- */

struct amx_tune_choice amx_tune_select(const struct amx_tune_point *pts, size_t n,
                                       enum amx_tune_ties ties)
{
    struct amx_tune_choice c = {.complete = true, .chosen = -1, .edge = 0};
    for (size_t i = 0; i < n; i++) {
        const struct amx_tune_point *p = &pts[i];
        if (p->n_done < p->n_wanted) c.complete = false;
        if (p->n_done < p->n_wanted || p->diverged || !isfinite(p->metric)) continue;
        if (c.chosen < 0) {
            c.chosen = (long)i;
            continue;
        }
        double best = pts[c.chosen].metric;
        /* ascending values: a later equal metric is a larger value */
        if (p->metric < best || (p->metric == best && ties == AMX_TUNE_TIES_LARGER))
            c.chosen = (long)i;
    }
    if (c.chosen == 0 && n > 1) c.edge = -1;
    if (c.chosen == (long)n - 1 && n > 1) c.edge = 1;
    return c;
}

unsigned long long amx_tune_study_seed(unsigned long long seed, int study)
{
    return seed + (unsigned long long)study;
}

/* ---- the trees ---- */

static struct amx_node *number_node(double v)
{
    char buf[40];
    snprintf(buf, sizeof buf, "%.12g", v);
    return amx_node_new_scalar(buf, false, "", 0, 0);
}

/* Sets the member's tuned values (a clone of its subtree) to v. */
static bool set_values(struct amx_node *member, const char *values, double v)
{
    struct amx_error e;
    if (strcmp(values, "eta0") == 0) {
        for (size_t i = 0; i < member->n; i++) {
            struct amx_node *g = member->pairs[i].value;
            if (g->kind == AMX_NODE_SCALAR) { /* GROUP: NAME, the shorthand */
                struct amx_node *map = amx_node_new_map(g->file, g->line, g->col);
                struct amx_node *rule = amx_node_clone(g);
                if (!map || !rule || amx_node_map_set(map, "rule", rule) != AMX_OK) {
                    amx_node_free(map);
                    return false;
                }
                member->pairs[i].value = map;
                amx_node_free(g);
                g = map;
            }
            if (amx_node_map_set(g, "eta0", number_node(v)) != AMX_OK) return false;
        }
        return true;
    }
    return amx_node_set_path(member, values, number_node(v), &e) == AMX_OK;
}

static bool set_scalar(struct amx_node *root, const char *path, const char *text)
{
    struct amx_error e;
    return amx_node_set_path(root, path, amx_node_new_scalar(text, false, "", 0, 0), &e) == AMX_OK;
}

/* The experiment at the study's seed, with the series axis emptied. */
static struct amx_node *study_root(const struct amx_node *root, const struct amx_tune *t, int study,
                                   struct amx_node **axis)
{
    struct amx_node *tree = amx_node_clone(root);
    if (!tree) return NULL;
    struct amx_node *seed_node = amx_node_map_get(root, "seed");
    unsigned long long seed = seed_node ? strtoull(seed_node->text, NULL, 10) : 1;
    char buf[32];
    snprintf(buf, sizeof buf, "%llu", amx_tune_study_seed(seed, study));
    struct amx_node *sweep = amx_node_map_get(tree, "sweep");
    *axis = amx_node_new_map("", 0, 0);
    if (!*axis || !sweep || !set_scalar(tree, "seed", buf)) {
        amx_node_free(*axis);
        amx_node_free(tree);
        return NULL;
    }
    /* the mapping takes the axis, also when it fails */
    if (amx_node_map_set(sweep, t->series, *axis) != AMX_OK) {
        amx_node_free(tree);
        return NULL;
    }
    return tree;
}

static bool add_variant(struct amx_node *axis, const struct amx_tune_member *m, const char *name,
                        double v)
{
    struct amx_node *member = amx_node_clone(m->node);
    if (!member || !set_values(member, m->values, v)) {
        amx_node_free(member);
        return false;
    }
    return amx_node_map_set(axis, name, member) == AMX_OK;
}

struct amx_node *amx_tune_tuning_tree(const struct amx_node *root, const struct amx_tune *t,
                                      int study, size_t **member_of, double **value_of,
                                      size_t *n_variants)
{
    struct amx_node *axis, *tree = study_root(root, t, study, &axis);
    size_t n = 0;
    for (size_t i = 0; i < t->n_members; i++)
        n += t->members[i].n_grid;
    *member_of = malloc(n * sizeof **member_of);
    *value_of = malloc(n * sizeof **value_of);
    *n_variants = n;
    char buf[32];
    bool ok = tree && *member_of && *value_of;
    snprintf(buf, sizeof buf, "%d", t->epochs);
    ok = ok && set_scalar(tree, "finetune.epochs", buf);
    snprintf(buf, sizeof buf, "%d", t->repeats);
    ok = ok && set_scalar(tree, "repeats", buf) && set_scalar(tree, "evaluation.test", "false") &&
         set_scalar(tree, "report.metric", "validation_error");
    struct amx_node *report = tree ? amx_node_map_get(tree, "report") : NULL;
    if (report) {
        amx_node_map_remove(report, "baseline");
        amx_node_map_remove(report, "targets");
    }
    for (size_t i = 0, k = 0; ok && i < t->n_members; i++) {
        const struct amx_tune_member *m = &t->members[i];
        for (size_t j = 0; ok && j < m->n_grid; j++, k++) {
            char name[300];
            snprintf(name, sizeof name, "%s@%.12g", m->name, m->grid[j]);
            (*member_of)[k] = i;
            (*value_of)[k] = m->grid[j];
            ok = add_variant(axis, m, name, m->grid[j]);
        }
    }
    if (!ok) {
        amx_node_free(tree);
        free(*member_of);
        free(*value_of);
        *member_of = NULL;
        *value_of = NULL;
        return NULL;
    }
    return tree;
}

struct amx_node *amx_tune_final_tree(const struct amx_node *root, const struct amx_tune *t,
                                     int study, const double *chosen)
{
    struct amx_node *axis, *tree = study_root(root, t, study, &axis);
    bool ok = tree != NULL;
    for (size_t i = 0; ok && i < t->n_members; i++)
        ok = add_variant(axis, &t->members[i], t->members[i].name, chosen[i]);
    if (!ok) {
        amx_node_free(tree);
        return NULL;
    }
    return tree;
}
