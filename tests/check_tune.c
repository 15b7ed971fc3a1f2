/* The `tune` section (include/adamix/tune.h): the selection over hand-made
 * points (ties, a diverged value, NaN, the best at each edge, an incomplete
 * tuning), the growth of a grid at an edge, the located errors of a bad
 * section, and the trees of the two stages: every tuning run measures no
 * test error, and the final runs are those an experiment written by hand
 * with the chosen values has (the same run ids). */
#define _DEFAULT_SOURCE /* strsep */
#include "adamix/config.h"
#include "adamix/node.h"
#include "adamix/sweep.h"
#include "adamix/tune.h"

#include <check.h>
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the selection ---- */

static struct amx_tune_point pt(double value, double metric)
{
    return (struct amx_tune_point){.value = value,
                                   .n_done = 1,
                                   .n_wanted = 1,
                                   .diverged = !isfinite(metric),
                                   .metric = metric};
}

START_TEST(test_select_smallest_inside)
{
    struct amx_tune_point p[] = {pt(0.001, 5.0), pt(0.01, 4.0), pt(0.1, 4.5)};
    struct amx_tune_choice c = amx_tune_select(p, 3, AMX_TUNE_TIES_SMALLER);
    ck_assert(c.complete);
    ck_assert_int_eq(c.chosen, 1);
    ck_assert_int_eq(c.edge, 0);
}
END_TEST

START_TEST(test_select_ties)
{
    struct amx_tune_point p[] = {pt(0.001, 5.0), pt(0.01, 4.0), pt(0.1, 4.0), pt(1, 6)};
    ck_assert_int_eq(amx_tune_select(p, 4, AMX_TUNE_TIES_SMALLER).chosen, 1);
    ck_assert_int_eq(amx_tune_select(p, 4, AMX_TUNE_TIES_LARGER).chosen, 2);
}
END_TEST

/* A diverged value, or one whose metric is NaN, is never chosen, however
 * small the number it left behind. */
START_TEST(test_select_diverged_and_nan)
{
    struct amx_tune_point p[] = {pt(0.001, 5.0), pt(0.01, 4.0), pt(0.1, NAN), pt(1, 1.0)};
    p[3].diverged = true; /* stopped early with a small error: still diverged */
    struct amx_tune_choice c = amx_tune_select(p, 4, AMX_TUNE_TIES_SMALLER);
    ck_assert_int_eq(c.chosen, 1);
    struct amx_tune_point q[] = {pt(0.1, NAN), pt(1, INFINITY)};
    ck_assert_int_eq(amx_tune_select(q, 2, AMX_TUNE_TIES_SMALLER).chosen, -1);
}
END_TEST

START_TEST(test_select_edges)
{
    struct amx_tune_point lo[] = {pt(0.001, 3.0), pt(0.01, 4.0), pt(0.1, 4.5)};
    struct amx_tune_choice c = amx_tune_select(lo, 3, AMX_TUNE_TIES_SMALLER);
    ck_assert_int_eq(c.chosen, 0);
    ck_assert_int_eq(c.edge, -1);
    struct amx_tune_point hi[] = {pt(0.001, 5.0), pt(0.01, 4.0), pt(0.1, 3.5)};
    c = amx_tune_select(hi, 3, AMX_TUNE_TIES_SMALLER);
    ck_assert_int_eq(c.chosen, 2);
    ck_assert_int_eq(c.edge, 1);
}
END_TEST

/* A value with a repeat still to run: the selection is not complete (the
 * final stage waits), and the value is not chosen. */
START_TEST(test_select_incomplete)
{
    struct amx_tune_point p[] = {pt(0.001, 5.0), pt(0.01, 1.0)};
    p[1].n_wanted = 2;
    struct amx_tune_choice c = amx_tune_select(p, 2, AMX_TUNE_TIES_SMALLER);
    ck_assert(!c.complete);
    ck_assert_int_eq(c.chosen, 0);
}
END_TEST

/* ---- growing a grid ---- */

static struct amx_tune_member member_of(const double *g, size_t n)
{
    struct amx_tune_member m = {0};
    memcpy(m.grid, g, n * sizeof *g);
    m.n_grid = m.n_base = n;
    return m;
}

/* The half-decade grid of the paper grows by its own pattern: 0.0003 below,
 * 1 above; a grid narrower than a decade by the ratio at its edge. */
START_TEST(test_extend_values)
{
    const double half[] = {0.001, 0.003, 0.01, 0.03, 0.1, 0.3};
    struct amx_tune_member m = member_of(half, 6);
    ck_assert(amx_tune_next_value(&m, -1) == 0.0003);
    ck_assert(amx_tune_next_value(&m, +1) == 1.0);
    ck_assert(amx_tune_extend(&m, -1));
    ck_assert(m.grid[0] == 0.0003 && m.n_grid == 7 && m.ext_low == 1);
    ck_assert(amx_tune_next_value(&m, -1) == 0.0001);
    const double narrow[] = {0.01, 0.02};
    m = member_of(narrow, 2);
    ck_assert(amx_tune_next_value(&m, -1) == 0.005);
    ck_assert(amx_tune_next_value(&m, +1) == 0.04);
}
END_TEST

/* ---- reading the section ---- */

#define TUNE_BASE                                                                                  \
    "name: t\n"                                                                                    \
    "data: {validation: 50, train_limit: 250}\n"                                                   \
    "network: {layers: [784, 8]}\n"                                                                \
    "pretrain: none\n"                                                                             \
    "finetune:\n"                                                                                  \
    "  epochs: 5\n"                                                                                \
    "  rules: {all: {rule: constant, eta0: 0.01}}\n"                                               \
    "sweep:\n"                                                                                     \
    "  finetune.rules:\n"                                                                          \
    "    AdaMix: {weights: {rule: current-gradient, eta0: 0.01}, biases: power-exponential}\n"     \
    "    constant: {all: constant}\n"

static struct amx_experiment *load(const char *text, struct amx_errlist *errs)
{
    struct amx_experiment *exp = NULL;
    amx_experiment_load_string(text, strlen(text), "x.yaml", NULL, 0, &exp, errs);
    return exp;
}

static void expect_error(const char *text, int line, int col, const char *part)
{
    struct amx_errlist errs = {0};
    struct amx_experiment *exp = load(text, &errs);
    ck_assert_ptr_null(exp);
    bool found = false;
    for (size_t i = 0; i < errs.n; i++) {
        const struct amx_error *e = &errs.items[i];
        if (strcmp(e->path, "x.yaml") == 0 && e->line == line && e->col == col &&
            strstr(e->msg, part))
            found = true;
    }
    if (!found)
        for (size_t i = 0; i < errs.n; i++)
            fprintf(stderr, "  %s:%d:%d: %s\n", errs.items[i].path, errs.items[i].line,
                    errs.items[i].col, errs.items[i].msg);
    ck_assert_msg(found, "no error at %d:%d containing '%s'", line, col, part);
    amx_errlist_free(&errs);
}

START_TEST(test_read_ok)
{
    struct amx_errlist errs = {0};
    struct amx_experiment *exp = load(TUNE_BASE "tune:\n"
                                                "  grid: {from: 0.001, to: 0.1, per_decade: 1}\n"
                                                "  epochs: 2\n"
                                                "  studies: 3\n"
                                                "  members: {AdaMix: {values: weights.eta0}}\n",
                                      &errs);
    ck_assert_uint_eq(errs.n, 0);
    ck_assert_ptr_nonnull(exp);
    const struct amx_tune *t = exp->tune;
    ck_assert_ptr_nonnull(t);
    ck_assert_int_eq(t->epochs, 2);
    ck_assert_int_eq(t->studies, 3);
    ck_assert_int_eq(t->repeats, 1);
    ck_assert_int_eq(t->extend, 1);
    ck_assert_uint_eq(t->n_members, 2);
    ck_assert_str_eq(t->members[0].values, "weights.eta0");
    ck_assert_str_eq(t->members[1].values, "eta0");
    ck_assert_uint_eq(t->members[0].n_grid, 3);
    ck_assert(t->members[0].grid[0] == 0.001 && t->members[0].grid[2] == 0.1);
    /* the experiment as written binds without its tune section */
    ck_assert_uint_eq(exp->n_runs, 2);
    amx_experiment_free(exp);
}
END_TEST

START_TEST(test_read_errors)
{
    /* a path that names nothing in a member */
    expect_error(TUNE_BASE "tune:\n"
                           "  grid: [0.01, 0.1]\n"
                           "  members: {constant: {values: weights.eta0}}\n",
                 14, 32, "names nothing in the member 'constant'");
    /* a grid of one value */
    expect_error(TUNE_BASE "tune:\n"
                           "  grid: [0.01]\n",
                 13, 9, "a grid of 1 value chooses nothing");
    /* non-positive bounds of a log grid */
    expect_error(TUNE_BASE "tune:\n"
                           "  grid: {from: 0, to: 0.1, per_decade: 2}\n",
                 13, 16, "tune.grid.from must be a number > 0");
    expect_error(TUNE_BASE "tune:\n"
                           "  grid: {from: 0.1, to: -1, per_decade: 2}\n",
                 13, 25, "tune.grid.to must be a number > 0");
    /* studies < 1 */
    expect_error(TUNE_BASE "tune:\n"
                           "  grid: [0.01, 0.1]\n"
                           "  studies: 0\n",
                 14, 12, "tune.studies must be a whole number >= 1");
    /* tune without validation images */
    expect_error("name: t\n"
                 "network: {layers: [784, 8]}\n"
                 "finetune: {rules: {all: constant}}\n"
                 "sweep: {finetune.rules: {a: {all: constant}, b: {all: adagrad}}}\n"
                 "tune: {grid: [0.01, 0.1]}\n",
                 5, 1, "hold out validation images");
    /* an unknown key, a member that is not one, a series that is no mapping */
    expect_error(TUNE_BASE "tune:\n"
                           "  grid: [0.01, 0.1]\n"
                           "  epoch: 3\n",
                 14, 3, "unknown key 'epoch' in tune");
    expect_error(TUNE_BASE "tune:\n"
                           "  grid: [0.01, 0.1]\n"
                           "  members: {AdaGrad: {grid: [1, 2]}}\n",
                 14, 13, "'AdaGrad' is not a member of finetune.rules");
}
END_TEST

/* ---- the trees ---- */

static void first_ids(const char *text, char ids[][AMX_RUN_ID_LEN + 1], size_t *n)
{
    struct amx_errlist errs = {0};
    struct amx_experiment *exp = load(text, &errs);
    ck_assert_msg(exp != NULL, "%s", errs.n ? errs.items[0].msg : "");
    *n = exp->n_runs;
    for (size_t i = 0; i < exp->n_runs; i++)
        strcpy(ids[i], exp->runs[i].id);
    amx_experiment_free(exp);
    amx_errlist_free(&errs);
}

static double eta0_of(const struct amx_run_config *c, const char *selector)
{
    for (size_t i = 0; i < c->finetune.n_rules; i++)
        if (strcmp(c->finetune.rules[i].selector, selector) == 0)
            return c->finetune.rules[i].spec.eta0;
    return NAN;
}

START_TEST(test_trees)
{
    struct amx_errlist errs = {0};
    struct amx_experiment *exp = load(TUNE_BASE "repeats: 2\n"
                                                "tune:\n"
                                                "  grid: [0.01, 0.03, 0.1]\n"
                                                "  epochs: 2\n"
                                                "  members: {AdaMix: {values: weights.eta0}}\n",
                                      &errs);
    ck_assert_ptr_nonnull(exp);
    size_t *member = NULL, nv = 0;
    double *value = NULL;
    struct amx_node *tree = amx_tune_tuning_tree(exp->root, exp->tune, 0, &member, &value, &nv);
    ck_assert_uint_eq(nv, 6);
    ck_assert(member[3] == 1 && value[3] == 0.01);
    struct amx_experiment *texp = NULL;
    ck_assert_int_eq(amx_experiment_load_tree(tree, "x.yaml", &texp, &errs), AMX_OK);
    ck_assert_uint_eq(texp->n_runs, 6); /* one tuning repeat (the default) */
    for (size_t i = 0; i < texp->n_runs; i++) {
        const struct amx_run_config *c = &texp->runs[i].cfg;
        ck_assert(!c->evaluation.test);
        ck_assert_int_eq(c->finetune.epochs, 2);
        ck_assert_int_eq(c->report.metric, AMX_METRIC_VALIDATION_ERROR);
    }
    /* AdaMix@0.03: its weights' eta0 only; constant@0.1: every group's */
    ck_assert(eta0_of(&texp->runs[1].cfg, "weights") == 0.03);
    ck_assert(eta0_of(&texp->runs[1].cfg, "biases") == 0.01);
    ck_assert(eta0_of(&texp->runs[5].cfg, "all") == 0.1);
    amx_experiment_free(texp);
    free(member);
    free(value);

    /* the final runs are those written by hand with the chosen values */
    const double chosen[] = {0.03, 0.1};
    struct amx_experiment *fexp = NULL;
    ck_assert_int_eq(amx_experiment_load_tree(amx_tune_final_tree(exp->root, exp->tune, 0, chosen),
                                              "x.yaml", &fexp, &errs),
                     AMX_OK);
    char by_hand[8][AMX_RUN_ID_LEN + 1];
    size_t n;
    first_ids("name: t\n"
              "repeats: 2\n"
              "data: {validation: 50, train_limit: 250}\n"
              "network: {layers: [784, 8]}\n"
              "pretrain: none\n"
              "finetune:\n"
              "  epochs: 5\n"
              "  rules: {all: {rule: constant, eta0: 0.01}}\n"
              "sweep:\n"
              "  finetune.rules:\n"
              "    AdaMix: {weights: {rule: current-gradient, eta0: 0.03}, biases: "
              "power-exponential}\n"
              "    constant: {all: {rule: constant, eta0: 0.1}}\n",
              by_hand, &n);
    ck_assert_uint_eq(fexp->n_runs, n);
    for (size_t i = 0; i < n; i++)
        ck_assert_str_eq(fexp->runs[i].id, by_hand[i]);
    amx_experiment_free(fexp);
    /* another study: another seed, other runs */
    struct amx_experiment *s2 = NULL;
    ck_assert_int_eq(amx_experiment_load_tree(amx_tune_final_tree(exp->root, exp->tune, 1, chosen),
                                              "x.yaml", &s2, &errs),
                     AMX_OK);
    ck_assert_str_ne(s2->runs[0].id, by_hand[0]);
    ck_assert_uint_eq(s2->runs[0].cfg.seed, 2); /* the file's seed is the default, 1 */
    amx_experiment_free(s2);
    amx_experiment_free(exp);
    amx_errlist_free(&errs);
}
END_TEST

/* ---- Figure 4: this protocol over the committed tuning runs ---- */

/* One committed tuning run: its configuration's canonical form as a run of
 * fig4-full-mnist-tune.yaml would have it (no test error measured, the
 * divergence limit of 25), and its validation error after the last epoch;
 * diverged when an error of its curve passed 25 (what that limit would
 * have done) or its status says so. */
struct committed {
    char *canon;
    double valid;
    bool diverged;
};

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc((size_t)n + 1);
    if (b && fread(b, 1, (size_t)n, f) != (size_t)n) n = 0;
    if (b) b[n] = '\0';
    fclose(f);
    return b;
}

/* The curve's train and validation errors all <= limit and finite; the last
 * row's validation error into *last. */
static bool curve_within(const char *path, double limit, double *last)
{
    char *text = slurp(path);
    ck_assert_ptr_nonnull(text);
    int tcol = -1, vcol = -1, col = 0;
    char *line = strtok(text, "\n");
    for (char *h = line, *c; (c = strsep(&h, ",")); col++) {
        if (strcmp(c, "train_error") == 0) tcol = col;
        if (strcmp(c, "validation_error") == 0) vcol = col;
    }
    ck_assert(tcol >= 0 && vcol >= 0);
    bool ok = true;
    while ((line = strtok(NULL, "\n"))) {
        col = 0;
        for (char *h = line, *c; (c = strsep(&h, ",")); col++) {
            if (col != tcol && col != vcol) continue;
            double x = strtod(c, NULL);
            if (!isfinite(x) || x > limit) ok = false;
            if (col == vcol) *last = x;
        }
    }
    free(text);
    return ok;
}

static size_t read_committed(const char *folder, struct committed *out, size_t cap)
{
    char runs[4096];
    snprintf(runs, sizeof runs, "%s/%s/runs", AMX_SOURCE_DIR, folder);
    DIR *d = opendir(runs);
    ck_assert_msg(d != NULL, "%s", runs);
    size_t n = 0;
    for (struct dirent *e; (e = readdir(d));) {
        if (e->d_name[0] == '.') continue;
        char path[8192];
        snprintf(path, sizeof path, "%s/%s/config.yaml", runs, e->d_name);
        struct amx_errlist errs = {0};
        struct amx_node *node = NULL;
        struct amx_error err;
        ck_assert_int_eq(amx_node_parse_file(path, &node, &err), AMX_OK);
        static struct amx_run_config cfg;
        ck_assert_int_eq(amx_config_bind(node, &cfg, &errs), AMX_OK);
        amx_node_free(node);
        cfg.evaluation.test = false;
        cfg.finetune.divergence_limit = 25;
        ck_assert_uint_lt(n, cap);
        out[n].canon = amx_canonical_form(&cfg);
        snprintf(path, sizeof path, "%s/%s/curve.csv", runs, e->d_name);
        out[n].diverged = !curve_within(path, 25, &out[n].valid);
        snprintf(path, sizeof path, "%s/%s/summary.json", runs, e->d_name);
        char *summary = slurp(path);
        out[n].diverged = out[n].diverged || strstr(summary, "\"status\": \"diverged\"");
        free(summary);
        amx_errlist_free(&errs);
        n++;
    }
    closedir(d);
    return n;
}

/* The committed run with this tuning run's computation, or NULL. */
static const struct committed *find_committed(const struct committed *c, size_t n,
                                              const struct amx_run_config *cfg)
{
    char *canon = amx_canonical_form(cfg);
    const struct committed *hit = NULL;
    for (size_t i = 0; i < n && !hit; i++)
        if (strcmp(c[i].canon, canon) == 0) hit = &c[i];
    free(canon);
    return hit;
}

/* Member m's points from the committed runs, for the grid as it stands. */
static size_t committed_points(struct amx_experiment *exp, size_t m, const struct committed *c,
                               size_t nc, struct amx_tune_point *pts)
{
    size_t *member = NULL, nv = 0, n = 0;
    double *value = NULL;
    struct amx_node *tree = amx_tune_tuning_tree(exp->root, exp->tune, 0, &member, &value, &nv);
    struct amx_experiment *texp = NULL;
    struct amx_errlist errs = {0};
    ck_assert_int_eq(amx_experiment_load_tree(tree, "fig4-tune", &texp, &errs), AMX_OK);
    for (size_t i = 0; i < texp->n_runs; i++) {
        size_t v = texp->runs[i].value[0];
        if (member[v] != m) continue;
        const struct committed *hit = find_committed(c, nc, &texp->runs[i].cfg);
        ck_assert_msg(hit != NULL, "no committed tuning run computes %s %s = %g",
                      exp->tune->members[m].name, exp->tune->members[m].values, value[v]);
        pts[n++] = (struct amx_tune_point){value[v], 1, 1, hit->diverged,
                                           hit->diverged ? NAN : hit->valid};
    }
    amx_experiment_free(texp);
    amx_errlist_free(&errs);
    free(member);
    free(value);
    return n;
}

/* The eta0 fig4-full-mnist.yaml gives the member (its weights' or all's). */
static double committed_eta0(const struct amx_experiment *fig4, const char *member)
{
    for (size_t i = 0; i < fig4->n_runs; i++) {
        const struct amx_run *r = &fig4->runs[i];
        if (strcmp(fig4->axes[0].labels[r->value[0]], member) != 0) continue;
        double w = eta0_of(&r->cfg, "weights");
        return isnan(w) ? eta0_of(&r->cfg, "all") : w;
    }
    return NAN;
}

/* fig4-full-mnist-tune.yaml's protocol (selection, growth at an edge) over
 * the committed tuning runs' validation errors chooses the eta0 that
 * fig4-full-mnist.yaml was given by hand, for every method; and its final
 * stage at those values is the committed Figure 4's runs, id for id. */
START_TEST(test_fig4_selection_from_committed_runs)
{
    static struct committed c[256];
    size_t nc = read_committed("results/paper/tune60k-baselines", c, 256);
    nc += read_committed("results/paper/adamix-readings-tune", c + nc, 256 - nc);
    ck_assert_uint_eq(nc, 18 + 64);
    struct amx_errlist errs = {0};
    struct amx_experiment *exp = NULL, *fig4 = NULL;
    ck_assert_int_eq(amx_experiment_load(AMX_SOURCE_DIR
                                         "/experiments/paper/fig4-full-mnist-tune.yaml",
                                         NULL, 0, &exp, &errs),
                     AMX_OK);
    ck_assert_int_eq(amx_experiment_load(AMX_SOURCE_DIR "/experiments/paper/fig4-full-mnist.yaml",
                                         NULL, 0, &fig4, &errs),
                     AMX_OK);
    struct amx_tune *t = exp->tune;
    double chosen[8];
    printf("| method | committed eta0 | selected eta0 | validation | grid grown |\n");
    for (size_t m = 0; m < t->n_members; m++) {
        struct amx_tune_point pts[AMX_TUNE_MAX_GRID];
        struct amx_tune_choice ch;
        for (;;) {
            size_t n = committed_points(exp, m, c, nc, pts);
            ch = amx_tune_select(pts, n, t->ties);
            ck_assert(ch.complete && ch.chosen >= 0);
            int used = ch.edge < 0 ? t->members[m].ext_low : t->members[m].ext_high;
            if (ch.edge == 0 || used >= t->extend) break;
            ck_assert(amx_tune_extend(&t->members[m], ch.edge));
        }
        ck_assert_int_eq(ch.edge, 0); /* no best left at an edge */
        chosen[m] = pts[ch.chosen].value;
        double want = committed_eta0(fig4, t->members[m].name);
        printf("| %s | %g | %g | %.4f | %d below, %d above |\n", t->members[m].name, want,
               chosen[m], pts[ch.chosen].metric, t->members[m].ext_low, t->members[m].ext_high);
        ck_assert_msg(chosen[m] == want, "%s: selected %g, fig4-full-mnist.yaml has %g",
                      t->members[m].name, chosen[m], want);
    }
    struct amx_experiment *fexp = NULL;
    ck_assert_int_eq(
        amx_experiment_load_tree(amx_tune_final_tree(exp->root, t, 0, chosen), "f", &fexp, &errs),
        AMX_OK);
    ck_assert_uint_eq(fexp->n_runs, fig4->n_runs);
    for (size_t i = 0; i < fexp->n_runs; i++) {
        ck_assert_str_eq(fexp->runs[i].id, fig4->runs[i].id);
        char path[8192];
        snprintf(path, sizeof path, "%s/results/paper/fig4-full-mnist/runs/%s/summary.json",
                 AMX_SOURCE_DIR, fexp->runs[i].id);
        char *s = slurp(path);
        ck_assert_msg(s != NULL, "no committed run %s", path);
        free(s);
    }
    for (size_t i = 0; i < nc; i++)
        free(c[i].canon);
    amx_experiment_free(fexp);
    amx_experiment_free(fig4);
    amx_experiment_free(exp);
    amx_errlist_free(&errs);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("tune");
    TCase *tc = tcase_create("select");
    tcase_add_test(tc, test_select_smallest_inside);
    tcase_add_test(tc, test_select_ties);
    tcase_add_test(tc, test_select_diverged_and_nan);
    tcase_add_test(tc, test_select_edges);
    tcase_add_test(tc, test_select_incomplete);
    tcase_add_test(tc, test_extend_values);
    suite_add_tcase(s, tc);
    tc = tcase_create("read");
    tcase_add_test(tc, test_read_ok);
    tcase_add_test(tc, test_read_errors);
    tcase_add_test(tc, test_trees);
    suite_add_tcase(s, tc);
    tc = tcase_create("paper");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_fig4_selection_from_committed_runs);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? 0 : 1;
}
