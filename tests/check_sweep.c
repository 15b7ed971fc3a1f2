/* Unit tests of src/sweep: grid expansion (product, variants, zip, exclude,
 * repeats), overrides, run-id stability and sensitivity, error locations,
 * and the --print-config round trip. Expected counts, orders and locations
 * are worked out by hand from the experiment texts below. */
#define _POSIX_C_SOURCE 200809L
#include "adamix/config.h"
#include "adamix/sha256.h"
#include "adamix/sweep.h"
#include "testutil.h"

#include "private.h" /* the schema table, to walk every key of the language */

#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The smallest valid experiment; lines 1-4. */
#define BASE                                                                                       \
    "name: t\n"                                                                                    \
    "network: {layers: [4, 3, 2]}\n"                                                               \
    "finetune:\n"                                                                                  \
    "  rules: {all: {rule: constant, eta0: 0.1}}\n"

static enum amx_status load(const char *text, const char *const *ov, size_t n_ov,
                            struct amx_experiment **exp, struct amx_errlist *errs)
{
    return amx_experiment_load_string(text, strlen(text), "x.yaml", ov, n_ov, exp, errs);
}

/* Loads text that must be valid; fails the test with the first error. */
static struct amx_experiment *load_ok(const char *text, const char *const *ov, size_t n_ov)
{
    struct amx_experiment *exp = NULL;
    struct amx_errlist errs = {0};
    enum amx_status st = load(text, ov, n_ov, &exp, &errs);
    char buf[2200] = "";
    if (errs.n) amx_error_format(&errs.items[0], buf, sizeof buf);
    ck_assert_msg(st == AMX_OK, "expected a valid experiment, got: %s", buf);
    ck_assert_uint_eq(errs.n, 0);
    ck_assert_ptr_nonnull(exp);
    amx_errlist_free(&errs);
    return exp;
}

/* Loads text that must be invalid; checks *out stays NULL. The caller frees errs. */
static void load_bad(const char *text, const char *const *ov, size_t n_ov, struct amx_errlist *errs)
{
    struct amx_experiment *exp = (struct amx_experiment *)&exp; /* not NULL */
    enum amx_status st = load(text, ov, n_ov, &exp, errs);
    ck_assert_int_ne(st, AMX_OK);
    ck_assert_ptr_null(exp);
    ck_assert_uint_ge(errs->n, 1);
}

static void dump_errors(const struct amx_errlist *errs)
{
    for (size_t i = 0; i < errs->n; i++) {
        char buf[2200];
        amx_error_format(&errs->items[i], buf, sizeof buf);
        fprintf(stderr, "  %s\n", buf);
    }
}

/* The number of errors at (path, line, col) whose message contains `part`. */
static size_t count_errors_at(const struct amx_errlist *errs, const char *path, int line, int col,
                              const char *part)
{
    size_t n = 0;
    for (size_t i = 0; i < errs->n; i++) {
        const struct amx_error *e = &errs->items[i];
        if ((!path || strcmp(e->path, path) == 0) && (line < 0 || e->line == line) &&
            (col < 0 || e->col == col) && (!part || strstr(e->msg, part)))
            n++;
    }
    return n;
}

static void expect_error(const struct amx_errlist *errs, const char *path, int line, int col,
                         const char *part)
{
    if (count_errors_at(errs, path, line, col, part) == 0) {
        fprintf(stderr, "expected an error at %s:%d:%d containing '%s'; got:\n", path ? path : "*",
                line, col, part ? part : "");
        dump_errors(errs);
        ck_abort_msg("missing error '%s' at %d:%d", part ? part : "", line, col);
    }
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* The id of the single run of a text. */
static void single_id(const char *text, char id[AMX_RUN_ID_LEN + 1])
{
    struct amx_experiment *exp = load_ok(text, NULL, 0);
    ck_assert_uint_eq(exp->n_runs, 1);
    memcpy(id, exp->runs[0].id, AMX_RUN_ID_LEN + 1);
    amx_experiment_free(exp);
}

/* The id of the first run (repeat 0) of a text. */
static void first_id(const char *text, char id[AMX_RUN_ID_LEN + 1])
{
    struct amx_experiment *exp = load_ok(text, NULL, 0);
    ck_assert_uint_ge(exp->n_runs, 1);
    memcpy(id, exp->runs[0].id, AMX_RUN_ID_LEN + 1);
    amx_experiment_free(exp);
}

/* ------------------------------------------------------------ expansion -- */

START_TEST(test_no_sweep_one_run)
{
    struct amx_experiment *exp = load_ok(BASE, NULL, 0);
    ck_assert_uint_eq(exp->n_axes, 0);
    ck_assert_uint_eq(exp->n_runs, 1);
    ck_assert_int_eq(exp->runs[0].repeat, 0);
    ck_assert_str_eq(exp->runs[0].cfg.name, "t");
    ck_assert_ptr_null(amx_node_map_get(exp->runs[0].tree, "sweep"));
    ck_assert_uint_eq(strlen(exp->runs[0].id), AMX_RUN_ID_LEN);
    ck_assert_str_eq(exp->file, "x.yaml");
    amx_experiment_free(exp);
}
END_TEST

START_TEST(test_product_order)
{
    const char *text = BASE "sweep:\n"
                            "  finetune.epochs: [5, 10]\n"
                            "  finetune.batch_size: [10, 20, 30]\n";
    struct amx_experiment *exp = load_ok(text, NULL, 0);
    ck_assert_uint_eq(exp->n_axes, 2);
    ck_assert_str_eq(exp->axes[0].path, "finetune.epochs");
    ck_assert_str_eq(exp->axes[1].path, "finetune.batch_size");
    ck_assert_int_eq(exp->axes[0].line, 6);
    ck_assert_int_eq(exp->axes[0].col, 3);
    ck_assert_int_eq(exp->axes[0].zip_group, -1);
    ck_assert_uint_eq(exp->axes[0].n_values, 2);
    ck_assert_uint_eq(exp->axes[1].n_values, 3);
    ck_assert_str_eq(exp->axes[0].labels[1], "10");
    ck_assert_str_eq(exp->axes[1].labels[2], "30");
    ck_assert_uint_eq(exp->n_runs, 6);
    /* first axis slowest */
    static const int epochs[6] = {5, 5, 5, 10, 10, 10};
    static const int batch[6] = {10, 20, 30, 10, 20, 30};
    for (size_t i = 0; i < 6; i++) {
        const struct amx_run *r = &exp->runs[i];
        ck_assert_int_eq(r->cfg.finetune.epochs, epochs[i]);
        ck_assert_int_eq(r->cfg.finetune.batch_size, batch[i]);
        ck_assert_uint_eq(r->value[0], i / 3);
        ck_assert_uint_eq(r->value[1], i % 3);
        ck_assert_int_eq(r->repeat, 0);
        ck_assert_ptr_null(amx_node_map_get(r->tree, "sweep"));
        for (size_t j = 0; j < i; j++)
            ck_assert_str_ne(r->id, exp->runs[j].id);
    }
    /* the experiment's tree keeps its sweep */
    ck_assert_ptr_nonnull(amx_node_map_get(exp->root, "sweep"));
    amx_experiment_free(exp);
}
END_TEST

START_TEST(test_variants_and_list_labels)
{
    const char *text = BASE "sweep:\n"
                            "  finetune.rules:\n"
                            "    Const: {all: {rule: constant, eta0: 0.1}}\n"
                            "    AdaGrad: {all: {rule: adagrad, eta0: 0.01}}\n"
                            "    AdaMix:\n"
                            "      weights: {rule: current-gradient, eta0: 0.01}\n"
                            "      biases: {rule: power-exponential, eta0: 0.01, r: 10}\n"
                            "  network.layers: [[4, 3, 2], [4, 2]]\n";
    struct amx_experiment *exp = load_ok(text, NULL, 0);
    ck_assert_uint_eq(exp->n_axes, 2);
    ck_assert_str_eq(exp->axes[0].labels[0], "Const");
    ck_assert_str_eq(exp->axes[0].labels[1], "AdaGrad");
    ck_assert_str_eq(exp->axes[0].labels[2], "AdaMix");
    ck_assert_str_eq(exp->axes[1].labels[0], "[4, 3, 2]");
    ck_assert_str_eq(exp->axes[1].labels[1], "[4, 2]");
    ck_assert_uint_eq(exp->n_runs, 6);
    const struct amx_run *r = &exp->runs[2]; /* AdaGrad, [4, 3, 2] */
    ck_assert_uint_eq(r->value[0], 1);
    ck_assert_uint_eq(r->cfg.finetune.n_rules, 1);
    ck_assert_ptr_eq(r->cfg.finetune.rules[0].spec.rule, amx_rule_find("adagrad"));
    ck_assert_int_eq(r->cfg.network.n_layers, 3);
    r = &exp->runs[5]; /* AdaMix, [4, 2] */
    ck_assert_uint_eq(r->cfg.finetune.n_rules, 2);
    ck_assert_int_eq(r->cfg.network.n_layers, 2);
    ck_assert_int_eq(r->cfg.network.layers[1], 2);
    /* the variant replaced the whole subtree: no `all` left from the base */
    const struct amx_node *rules = amx_node_get_path(r->tree, "finetune.rules");
    ck_assert_ptr_nonnull(rules);
    ck_assert_ptr_null(amx_node_map_get(rules, "all"));
    ck_assert_ptr_nonnull(amx_node_map_get(rules, "weights"));
    amx_experiment_free(exp);
}
END_TEST

START_TEST(test_zip)
{
    const char *text = BASE "sweep:\n"
                            "  finetune.epochs: [1, 2]\n"
                            "  zip:\n"
                            "    - {pretrain.epochs: [3, 4, 5], pretrain.batch_size: [6, 7, 8]}\n";
    struct amx_experiment *exp = load_ok(text, NULL, 0);
    ck_assert_uint_eq(exp->n_axes, 3);
    ck_assert_int_eq(exp->axes[0].zip_group, -1);
    ck_assert_int_eq(exp->axes[1].zip_group, 0);
    ck_assert_int_eq(exp->axes[2].zip_group, 0);
    ck_assert_uint_eq(exp->n_runs, 6); /* 2 x 3, not 2 x 3 x 3 */
    for (size_t i = 0; i < 6; i++) {
        const struct amx_run *r = &exp->runs[i];
        ck_assert_int_eq(r->cfg.finetune.epochs, 1 + (int)(i / 3));
        ck_assert_int_eq(r->cfg.pretrain.epochs, 3 + (int)(i % 3));
        ck_assert_int_eq(r->cfg.pretrain.batch_size, r->cfg.pretrain.epochs + 3);
        ck_assert_uint_eq(r->value[1], r->value[2]);
    }
    amx_experiment_free(exp);
}
END_TEST

START_TEST(test_zip_unequal_lengths)
{
    const char *text = BASE "sweep:\n"
                            "  zip:\n"
                            "    - {pretrain.epochs: [3, 4], pretrain.batch_size: [6, 7, 8]}\n";
    struct amx_errlist errs = {0};
    load_bad(text, NULL, 0, &errs);
    /* the group's mapping starts at line 7, column 7 */
    expect_error(&errs, "x.yaml", 7, 7, "same number of values");
    amx_errlist_free(&errs);
}
END_TEST

START_TEST(test_exclude)
{
    const char *text = BASE "sweep:\n"
                            "  finetune.rules:\n"
                            "    A: {all: {rule: constant, eta0: 0.1}}\n"
                            "    B: {all: {rule: adagrad, eta0: 0.01}}\n"
                            "  finetune.epochs: [1, 2, 3]\n"
                            "  exclude:\n"
                            "    - {finetune.rules: B, finetune.epochs: 1.0}\n"
                            "    - {finetune.epochs: 3}\n";
    struct amx_experiment *exp = load_ok(text, NULL, 0);
    /* 2 x 3 = 6 points; minus (B, 1) and the two with epochs 3 */
    ck_assert_uint_eq(exp->n_runs, 3);
    ck_assert_uint_eq(exp->runs[0].value[0], 0);
    ck_assert_int_eq(exp->runs[0].cfg.finetune.epochs, 1);
    ck_assert_uint_eq(exp->runs[1].value[0], 0);
    ck_assert_int_eq(exp->runs[1].cfg.finetune.epochs, 2);
    ck_assert_uint_eq(exp->runs[2].value[0], 1);
    ck_assert_int_eq(exp->runs[2].cfg.finetune.epochs, 2);
    amx_experiment_free(exp);
}
END_TEST

START_TEST(test_exclude_errors)
{
    const char *text = BASE "sweep:\n"
                            "  finetune.rules:\n"
                            "    A: {all: {rule: constant, eta0: 0.1}}\n"
                            "  finetune.epochs: [1, 2]\n"
                            "  exclude:\n"
                            "    - {finetune.epoch: 1}\n"
                            "    - {finetune.epochs: 4}\n"
                            "    - {finetune.rules: B}\n";
    struct amx_errlist errs = {0};
    load_bad(text, NULL, 0, &errs);
    expect_error(&errs, "x.yaml", 10, 8, "finetune.epoch");
    expect_error(&errs, "x.yaml", 10, 8, "did you mean 'finetune.epochs'");
    expect_error(&errs, "x.yaml", 11, 25, "not a value");
    expect_error(&errs, "x.yaml", 12, 24, "not a variant");
    ck_assert_uint_eq(errs.n, 3);
    amx_errlist_free(&errs);
}
END_TEST

START_TEST(test_repeats)
{
    const char *text = BASE "repeats: 3\n"
                            "sweep:\n"
                            "  finetune.epochs: [1, 2]\n";
    struct amx_experiment *exp = load_ok(text, NULL, 0);
    ck_assert_uint_eq(exp->n_runs, 6);
    for (size_t i = 0; i < 6; i++) {
        const struct amx_run *r = &exp->runs[i];
        ck_assert_int_eq(r->repeat, (int)(i % 3)); /* repeat fastest */
        ck_assert_int_eq(r->cfg.repeat, (int)(i % 3));
        ck_assert_int_eq(r->cfg.repeats, 3);
        ck_assert_int_eq(r->cfg.finetune.epochs, 1 + (int)(i / 3));
        for (size_t j = 0; j < i; j++)
            ck_assert_str_ne(r->id, exp->runs[j].id);
    }
    /* runs of one point differ by their repeat only */
    char *f0 = amx_canonical_form(&exp->runs[0].cfg);
    char *f1 = amx_canonical_form(&exp->runs[1].cfg);
    ck_assert_ptr_nonnull(f0);
    ck_assert_ptr_nonnull(f1);
    ck_assert_ptr_nonnull(strstr(f0, "repeat=0"));
    ck_assert_ptr_nonnull(strstr(f1, "repeat=1"));
    char *p = strstr(f1, "repeat=1");
    p[7] = '0';
    ck_assert_str_eq(f0, f1);
    free(f0);
    free(f1);
    /* and the same configuration with the repeat set by hand has that id */
    struct amx_run_config c = exp->runs[4].cfg;
    c.repeat = 0;
    char id[AMX_RUN_ID_LEN + 1];
    amx_run_id(&c, id);
    ck_assert_str_eq(id, exp->runs[3].id);
    amx_experiment_free(exp);
}
END_TEST

START_TEST(test_invalid_point_location)
{
    /* line 7: "  finetune.epochs: [5, -5]", the -5 at column 24 */
    const char *text = BASE "repeats: 2\n"
                            "sweep:\n"
                            "  finetune.epochs: [5, -5]\n"
                            "  finetune.batch_size: [10, 20]\n";
    struct amx_errlist errs = {0};
    load_bad(text, NULL, 0, &errs);
    expect_error(&errs, "x.yaml", 7, 24, "in sweep point finetune.epochs=-5: ");
    /* two points hold -5; the error is reported once */
    ck_assert_uint_eq(errs.n, 1);
    amx_errlist_free(&errs);
}
END_TEST

START_TEST(test_invalid_variant_location)
{
    /* line 8: "    B: {all: {rule: constant, eta0: -1}}", eta0's value at column 37 */
    const char *text = BASE "sweep:\n"
                            "  finetune.rules:\n"
                            "    A: {all: {rule: constant, eta0: 0.1}}\n"
                            "    B: {all: {rule: constant, eta0: -1}}\n";
    struct amx_errlist errs = {0};
    load_bad(text, NULL, 0, &errs);
    expect_error(&errs, "x.yaml", 8, 37, "in sweep point finetune.rules=B: ");
    ck_assert_uint_eq(errs.n, 1);
    amx_errlist_free(&errs);
}
END_TEST

START_TEST(test_variant_coverage_error_location)
{
    /* variant B covers no biases; the base file's `rules:` key (line 4) is
     * not where the problem is: the error points at B's value, line 8 col 8 */
    const char *text = BASE "sweep:\n"
                            "  finetune.rules:\n"
                            "    A: {all: {rule: constant, eta0: 0.1}}\n"
                            "    B: {weights: {rule: constant, eta0: 0.1}}\n"
                            "  finetune.epochs: [1, 2]\n";
    struct amx_errlist errs = {0};
    load_bad(text, NULL, 0, &errs);
    expect_error(&errs, "x.yaml", 8, 8, "in sweep point finetune.rules=B: ");
    ck_assert_uint_eq(errs.n, 1);
    amx_errlist_free(&errs);
}
END_TEST

START_TEST(test_partial_error_prefix)
{
    /* layer4.weights exists only in the 4-layer unrolled network: the error
     * lies in the base file, holds for 4 of the 6 points, and names the first */
    const char *text =
        "name: t\n"
        "network: {layers: [4, 3, 2]}\n"
        "finetune:\n"
        "  rules: {all: {rule: constant, eta0: 0.1}, layer4.weights: {rule: adagrad, eta0: 0.1}}\n"
        "repeats: 2\n"
        "sweep:\n"
        "  network.layers: [[4, 3, 2], [4, 2], [5, 2]]\n"
        "  finetune.epochs: [1, 2]\n";
    struct amx_errlist errs = {0};
    load_bad(text, NULL, 0, &errs);
    ck_assert_uint_eq(errs.n, 1);
    expect_error(&errs, "x.yaml", 4, 45,
                 "in sweep point network.layers=[4, 2], finetune.epochs=1 (and 3 other points): ");
    amx_errlist_free(&errs);
}
END_TEST

START_TEST(test_base_error_reported_once_unprefixed)
{
    /* a base error holds for every point: once, without a point prefix */
    const char *text = "name: t\n"
                       "network: {layers: [4, 3, 2]}\n"
                       "finetune:\n"
                       "  epochs: 0\n"
                       "  rules: {all: {rule: constant, eta0: 0.1}}\n"
                       "sweep:\n"
                       "  finetune.batch_size: [10, 20, 30]\n";
    struct amx_errlist errs = {0};
    load_bad(text, NULL, 0, &errs);
    ck_assert_uint_eq(errs.n, 1);
    ck_assert_int_eq(errs.items[0].line, 4);
    ck_assert_ptr_null(strstr(errs.items[0].msg, "sweep point"));
    amx_errlist_free(&errs);
}
END_TEST

START_TEST(test_axis_errors)
{
    const char *text = BASE "sweep:\n"
                            "  finetune.epoch: [1, 2]\n"
                            "  nmae: [a, b]\n"
                            "  finetune.batch_size: 10\n"
                            "  finetune.loss: []\n";
    struct amx_errlist errs = {0};
    load_bad(text, NULL, 0, &errs);
    expect_error(&errs, "x.yaml", 6, 3, "did you mean 'epochs'");
    expect_error(&errs, "x.yaml", 7, 3, "did you mean 'name'");
    expect_error(&errs, "x.yaml", 8, 24, "list of values");
    expect_error(&errs, "x.yaml", 9, 18, "list of values");
    amx_errlist_free(&errs);
}
END_TEST

START_TEST(test_duplicate_ids)
{
    const char *text = BASE "sweep:\n"
                            "  finetune.rules:\n"
                            "    A: {all: {rule: constant, eta0: 0.1}}\n"
                            "    B: {all: {rule: adagrad, eta0: 0.1}}\n"
                            "  finetune.divergence_limit: [1000, 1e3]\n";
    struct amx_errlist errs = {0};
    load_bad(text, NULL, 0, &errs);
    /* 1e3 on line 9 at column 37; one error for both variants */
    expect_error(&errs, "x.yaml", 9, 37,
                 "finetune.divergence_limit=1000 and finetune.divergence_limit=1e3");
    ck_assert_uint_eq(errs.n, 1);
    amx_errlist_free(&errs);

    /* an axis over something that computes nothing different */
    const char *t2 = BASE "sweep:\n"
                          "  description: [one, two]\n";
    struct amx_errlist e2 = {0};
    load_bad(t2, NULL, 0, &e2);
    expect_error(&e2, "x.yaml", 6, 22, "description=one and description=two");
    amx_errlist_free(&e2);
}
END_TEST

START_TEST(test_grid_too_large)
{
    /* 10^6 points: refused before anything is bound or allocated per point */
    const char *text = BASE "sweep:\n"
                            "  finetune.epochs: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]\n"
                            "  finetune.batch_size: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]\n"
                            "  pretrain.epochs: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]\n"
                            "  pretrain.batch_size: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]\n"
                            "  pretrain.cd_k: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]\n"
                            "  seed: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]\n";
    struct amx_errlist errs = {0};
    load_bad(text, NULL, 0, &errs);
    ck_assert_uint_eq(errs.n, 1);
    expect_error(&errs, "x.yaml", 11, 3, "more than 100000 points");
    amx_errlist_free(&errs);
}
END_TEST

/* an exclude that leaves no point is an invalid experiment
 * (it would validate as "0 runs" and make an empty results folder),
 * located at the exclude key; --set sweep.exclude=... at the override. */
START_TEST(test_exclude_everything)
{
    const char *text = BASE "sweep:\n"                      /* 5 */
                            "  finetune.epochs: [1, 2]\n"   /* 6 */
                            "  exclude:\n"                  /* 7 */
                            "    - {finetune.epochs: 1}\n"  /* 8 */
                            "    - {finetune.epochs: 2}\n"; /* 9 */
    struct amx_errlist errs = {0};
    load_bad(text, NULL, 0, &errs);
    ck_assert_uint_eq(errs.n, 1);
    expect_error(&errs, "x.yaml", 7, 3, "sweep.exclude removes every point of the sweep (all 2)");
    amx_errlist_free(&errs);
    const char *ov[] = {"sweep.exclude=[{finetune.epochs: 1}, {finetune.epochs: 2.0}]"};
    memset(&errs, 0, sizeof errs);
    load_bad(BASE "sweep:\n  finetune.epochs: [1, 2]\n", ov, 1, &errs);
    ck_assert_uint_eq(errs.n, 1);
    expect_error(&errs, "--set sweep.exclude", 1, 1, "removes every point");
    amx_errlist_free(&errs);
    /* one point left is fine */
    struct amx_experiment *exp = load_ok(BASE "sweep:\n"
                                              "  finetune.epochs: [1, 2]\n"
                                              "  exclude: [{finetune.epochs: 1}]\n",
                                         NULL, 0);
    ck_assert_uint_eq(exp->n_runs, 1);
    amx_experiment_free(exp);
}
END_TEST

/* points x repeats above the run limit is refused before
 * any run is built (the old code bound and cloned 20,000 runs first: over a
 * second and hundreds of MB), located at `repeats`. */
START_TEST(test_too_many_runs_located)
{
    struct amx_errlist errs = {0};
    double t0 = now_s();
    load_bad(BASE "repeats: 1000000\n", NULL, 0, &errs); /* repeats at 5:10 */
    double took = now_s() - t0;
    ck_assert_uint_eq(errs.n, 1);
    expect_error(&errs, "x.yaml", 5, 10,
                 "the experiment has 1000000 runs (1 sweep point x 1000000 repeats), more than "
                 "the limit of 20000");
    ck_assert_msg(took < 0.5, "refusing took %.2f s", took);
    amx_errlist_free(&errs);
    /* the product counts: 3 points x 7000 repeats, one point excluded: 14000 */
    const char *grid = BASE "repeats: 7000\n"
                            "sweep:\n"
                            "  finetune.epochs: [1, 2, 3]\n";
    memset(&errs, 0, sizeof errs);
    load_bad(grid, NULL, 0, &errs);
    expect_error(&errs, "x.yaml", 5, 10, "21000 runs (3 sweep points x 7000 repeats)");
    amx_errlist_free(&errs);
    const char *ok_ov[] = {"sweep.exclude=[{finetune.epochs: 3}]", "repeats=2"};
    struct amx_experiment *exp = load_ok(grid, ok_ov, 2);
    ck_assert_uint_eq(exp->n_runs, 4);
    amx_experiment_free(exp);
    /* repeats from --set: located at the override */
    const char *ov[] = {"repeats=30000"};
    memset(&errs, 0, sizeof errs);
    load_bad(BASE, ov, 1, &errs);
    expect_error(&errs, "--set repeats", 1, 1, "more than the limit of 20000");
    amx_errlist_free(&errs);
    /* a swept repeats: at the value that makes it too many */
    memset(&errs, 0, sizeof errs);
    load_bad(BASE "sweep:\n  repeats: [2, 30000]\n", NULL, 0, &errs); /* 30000 at 6:16 */
    ck_assert_uint_eq(errs.n, 1);
    expect_error(&errs, "x.yaml", 6, 16,
                 "30000 repeats of this sweep point make more than 20000 runs");
    amx_errlist_free(&errs);
    /* many points without repeats: at the sweep */
    memset(&errs, 0, sizeof errs);
    load_bad(BASE "sweep:\n"
                  "  seed: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, "
                  "21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40, "
                  "41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 58, 59, 60, "
                  "61, 62, 63, 64, 65, 66, 67, 68, 69, 70, 71, 72, 73, 74, 75, 76, 77, 78, 79, 80, "
                  "81, 82, 83, 84, 85, 86, 87, 88, 89, 90, 91, 92, 93, 94, 95, 96, 97, 98, 99, "
                  "100, 101]\n"
                  "  finetune.epochs: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, "
                  "18, 19, 20]\n"
                  "  finetune.batch_size: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]\n",
             NULL, 0, &errs);
    ck_assert_uint_eq(errs.n, 1);
    expect_error(&errs, "x.yaml", 5, 1, "the sweep has 20200 points, more than the limit of 20000");
    amx_errlist_free(&errs);
}
END_TEST

/* logistic RBMs are not unrolled into other units. */
START_TEST(test_pretraining_units)
{
    struct amx_errlist errs = {0};
    const char *hidden[] = {"network.hidden=relu"};
    load_bad(BASE, hidden, 1, &errs);
    expect_error(&errs, "--set network.hidden", 1, 1,
                 "network.hidden relu cannot be pretrained: the RBMs of pretraining have "
                 "logistic hidden units");
    expect_error(&errs, "--set network.hidden", 1, 1, "or pretrain: none");
    amx_errlist_free(&errs);
    /* swept: located at the value, and only that point */
    memset(&errs, 0, sizeof errs);
    load_bad(BASE "sweep:\n  network.code: [linear, logistic, tanh]\n", NULL, 0, &errs);
    ck_assert_uint_eq(errs.n, 1);
    expect_error(&errs, "x.yaml", 6, 36, "network.code tanh cannot be pretrained");
    amx_errlist_free(&errs);
    /* without pretraining, or with pretrainable units, fine */
    const char *none[] = {"network.hidden=tanh", "network.code=relu", "pretrain=none"};
    struct amx_experiment *exp = load_ok(BASE, none, 3);
    ck_assert_int_eq(exp->runs[0].cfg.network.hidden, AMX_UNIT_TANH);
    ck_assert_int_eq(exp->runs[0].cfg.network.code, AMX_UNIT_RELU);
    amx_experiment_free(exp);
    const char *fine[] = {"network.code=logistic"};
    exp = load_ok(BASE, fine, 1);
    amx_experiment_free(exp);
    /* two sizes have no hidden layer: hidden does not matter */
    const char *two[] = {"network.layers=[4, 2]", "network.hidden=relu"};
    exp = load_ok(BASE, two, 2);
    amx_experiment_free(exp);
}
END_TEST

START_TEST(test_series_must_be_axis)
{
    const char *text = BASE "report: {series: finetune.epoch}\n"
                            "sweep:\n"
                            "  finetune.epochs: [1, 2]\n";
    struct amx_errlist errs = {0};
    load_bad(text, NULL, 0, &errs);
    expect_error(&errs, "x.yaml", 5, 18, "not a sweep axis");
    ck_assert_uint_eq(errs.n, 1);
    amx_errlist_free(&errs);
    struct amx_experiment *exp = load_ok(BASE "report: {series: finetune.epochs}\n"
                                              "sweep: {finetune.epochs: [1, 2]}\n",
                                         NULL, 0);
    ck_assert_str_eq(exp->runs[0].cfg.report.series, "finetune.epochs");
    amx_experiment_free(exp);
}
END_TEST

/* ------------------------------------------------------------ overrides -- */

START_TEST(test_override_scalar_list_mapping)
{
    const char *ov[] = {"finetune.epochs=7",
                        "network.layers=[4, 2]",
                        "finetune.rules={all: {rule: adagrad, eta0: 0.5}}",
                        "seed=99",
                        "pretrain.momentum.final=0.8",
                        "data.train_limit=100"};
    struct amx_experiment *exp = load_ok(BASE, ov, 6);
    ck_assert_uint_eq(exp->n_overrides, 6);
    ck_assert_str_eq(exp->overrides[1], "network.layers=[4, 2]");
    const struct amx_run_config *c = &exp->runs[0].cfg;
    ck_assert_int_eq(c->finetune.epochs, 7);
    ck_assert_int_eq(c->network.n_layers, 2);
    ck_assert_ptr_eq(c->finetune.rules[0].spec.rule, amx_rule_find("adagrad"));
    ck_assert_double_eq(c->finetune.rules[0].spec.eta0, 0.5);
    ck_assert_uint_eq(c->seed, 99);
    ck_assert_double_eq(c->pretrain.momentum_final, 0.8);
    ck_assert_int_eq(c->data.train_limit, 100);
    amx_experiment_free(exp);
}
END_TEST

START_TEST(test_override_apply_direct)
{
    struct amx_node *root = NULL;
    struct amx_error err;
    ck_assert_int_eq(amx_node_parse_string(BASE, strlen(BASE), "x.yaml", true, &root, &err),
                     AMX_OK);
    ck_assert_int_eq(amx_override_apply(root, "finetune.epochs = 12", &err), AMX_OK);
    const struct amx_node *n = amx_node_get_path(root, "finetune.epochs");
    ck_assert_ptr_nonnull(n);
    ck_assert_str_eq(n->text, "12");
    ck_assert_str_eq(n->file, "--set finetune.epochs");
    /* a new nested section is created */
    ck_assert_int_eq(amx_override_apply(root, "pretrain.momentum.initial=0.3", &err), AMX_OK);
    n = amx_node_get_path(root, "pretrain.momentum.initial");
    ck_assert_ptr_nonnull(n);
    ck_assert_str_eq(n->text, "0.3");
    /* unknown paths, named */
    ck_assert_int_eq(amx_override_apply(root, "finetune.epoch=3", &err), AMX_ERR_CONFIG);
    ck_assert_str_eq(err.path, "--set finetune.epoch");
    ck_assert_ptr_nonnull(strstr(err.msg, "'epoch'"));
    ck_assert_ptr_nonnull(strstr(err.msg, "did you mean 'epochs'"));
    ck_assert_int_eq(amx_override_apply(root, "nmae=x", &err), AMX_ERR_CONFIG);
    ck_assert_str_eq(err.path, "--set nmae");
    ck_assert_ptr_nonnull(strstr(err.msg, "did you mean 'name'"));
    ck_assert_int_eq(amx_override_apply(root, "finetune.epochs.x=1", &err), AMX_ERR_CONFIG);
    ck_assert_ptr_nonnull(strstr(err.msg, "finetune.epochs"));
    ck_assert_int_eq(amx_override_apply(root, "data.dirr=/tmp", &err), AMX_ERR_CONFIG);
    ck_assert_ptr_nonnull(strstr(err.msg, "did you mean 'dir'"));
    /* malformed assignments */
    ck_assert_int_eq(amx_override_apply(root, "finetune.epochs", &err), AMX_ERR_CONFIG);
    ck_assert_int_eq(amx_override_apply(root, "=3", &err), AMX_ERR_CONFIG);
    ck_assert_int_eq(amx_override_apply(root, "finetune.epochs=", &err), AMX_ERR_CONFIG);
    ck_assert_int_eq(amx_override_apply(root, "finetune..epochs=3", &err), AMX_ERR_CONFIG);
    ck_assert_int_eq(amx_override_apply(root, "finetune.epochs=[1, 2", &err), AMX_ERR_CONFIG);
    ck_assert_str_eq(err.path, "--set finetune.epochs");
    /* a step that is not a mapping */
    ck_assert_int_eq(amx_override_apply(root, "pretrain=none", &err), AMX_OK);
    ck_assert_int_eq(amx_override_apply(root, "pretrain.epochs=3", &err), AMX_ERR_CONFIG);
    ck_assert_ptr_nonnull(strstr(err.msg, "not a mapping"));
    /* rule selectors and parameters are left to binding */
    ck_assert_int_eq(amx_override_apply(root, "finetune.rules.all.eta0=0.2", &err), AMX_OK);
    ck_assert_str_eq(amx_node_get_path(root, "finetune.rules.all.eta0")->text, "0.2");
    amx_node_free(root);
}
END_TEST

/* What loading gives: run 0's resolved configuration as YAML (with the run
 * count and id), or every error message (locations aside: a file and --set
 * place the same value differently). */
static char *outcome(const char *text, const char *assignment, bool *ok)
{
    struct amx_experiment *exp = NULL;
    struct amx_errlist errs = {0};
    const char *ov[] = {assignment};
    *ok = load(text, ov, assignment ? 1 : 0, &exp, &errs) == AMX_OK;
    char *out;
    if (*ok) {
        struct amx_node *n = amx_config_to_node(&exp->runs[0].cfg);
        char *y = amx_node_emit_string(n);
        out = tu_fmt("%zu runs, %s\n%s", exp->n_runs, exp->runs[0].id, y);
        free(y);
        amx_node_free(n);
    } else {
        out = tu_fmt("%s", "");
        for (size_t i = 0; i < errs.n; i++) {
            char *more = tu_fmt("%s%s\n", out, errs.items[i].msg);
            free(out);
            out = more;
        }
    }
    amx_experiment_free(exp);
    amx_errlist_free(&errs);
    return out;
}

/* A classifier's BASE, for the keys of classifiers only. */
#define BASE_NO_RULES                                                                              \
    "name: t\n"                                                                                    \
    "network: {layers: [4, 3, 2]}\n"                                                               \
    "finetune:\n"

#define BASE_CLS                                                                                   \
    "name: t\n"                                                                                    \
    "network: {task: classifier, layers: [4, 3]}\n"                                                \
    "finetune:\n"                                                                                  \
    "  rules: {all: {rule: constant, eta0: 0.1}}\n"

/* base with the key at path set to value (YAML), as a file would say it. */
static char *file_with_base(const char *base, const char *path, const char *value)
{
    struct amx_node *root = NULL, *v = NULL;
    struct amx_error e;
    ck_assert_int_eq(amx_node_parse_string(base, strlen(base), "x.yaml", true, &root, &e), AMX_OK);
    ck_assert_int_eq(amx_node_parse_string(value, strlen(value), "value", false, &v, &e), AMX_OK);
    ck_assert_int_eq(amx_node_set_path(root, path, v, &e), AMX_OK);
    char *text = amx_node_emit_string(root);
    ck_assert_ptr_nonnull(text);
    amx_node_free(root);
    return text;
}

static char *file_with(const char *path, const char *value)
{
    return file_with_base(BASE, path, value);
}

/* Values to try for a key: valid ones unlike the default first, where the
 * row's type and range allow. */
static size_t candidates(const struct key *k, char out[][64], size_t max)
{
    size_t n = 0;
    switch (k->type) {
    case KT_SECTION:
        snprintf(out[n++], 64, "{}");
        if (k->opts & KO_NONE) snprintf(out[n++], 64, "none");
        break;
    case KT_STRING:
    case KT_NAME:
        snprintf(out[n++], 64, "other-name");
        snprintf(out[n++], 64, "\"1\"");
        break;
    case KT_SEED:
        snprintf(out[n++], 64, "12345");
        break;
    case KT_INT:
    case KT_LONG:
        snprintf(out[n++], 64, "%.0f", k->def + 1);
        snprintf(out[n++], 64, "%.0f", k->lo + 2);
        snprintf(out[n++], 64, "%.0f", k->lo);
        break;
    case KT_DOUBLE:
        snprintf(out[n++], 64, "%.17g", k->def / 2);
        snprintf(out[n++], 64, "%.17g", k->def * 2);
        if (isfinite(k->hi)) snprintf(out[n++], 64, "%.17g", (k->lo + k->hi) / 2);
        break;
    case KT_BOOL:
        snprintf(out[n++], 64, "%s", k->def ? "false" : "true");
        break;
    case KT_ENUM:
        for (int w = 0; k->words[w] && n < max; w++)
            if (w != (int)k->def) snprintf(out[n++], 64, "%s", k->words[w]);
        break;
    case KT_LAYERS:
        snprintf(out[n++], 64, "[4, 5, 2]");
        break;
    case KT_RULES:
        snprintf(out[n++], 64, "{all: {rule: adagrad, eta0: 0.5}}");
        break;
    case KT_TARGETS:
        snprintf(out[n++], 64, "[1.5, 2]");
        break;
    }
    return n;
}

/* Every key the schema accepts in a file, --set accepts too, and sets the
 * same field: for each row of the table (walked here, not taken from the
 * override code), a file giving the key and --set PATH=VALUE on BASE load to
 * the same configuration, or fail with the same messages. And each key
 * misspelt is refused by both, with the same "did you mean". */
START_TEST(test_set_accepts_every_schema_key)
{
    bool ok;
    char *base_ae = outcome(BASE, NULL, &ok);
    ck_assert(ok);
    char *base_cls = outcome(BASE_CLS, NULL, &ok);
    ck_assert(ok);
    /* the keys that watch the validation error need held-out images */
    const char *base_valid_text = BASE "data: {validation: 1}\n";
    char *base_valid = outcome(base_valid_text, NULL, &ok);
    ck_assert(ok);
    const struct section *stack[16] = {&amx_schema_top};
    size_t depth = 1, rows = 0, bound = 0, changed = 0, id_rows = 0, same_rows = 0;
    bool saw_repeat = false;
    while (depth > 0) {
        const struct section *sec = stack[--depth];
        for (size_t i = 0; i < sec->n; i++) {
            const struct key *k = &sec->keys[i];
            char path[300], bad[302], value[8][64];
            snprintf(path, sizeof path, "%s%s%s", sec->path, sec->path[0] ? "." : "", k->name);
            rows++;
            /* a key of classifiers only is tried on a classifier */
            bool cls = k->tasks && !(k->tasks & TASK_BIT(AMX_TASK_AUTOENCODER));
            const char *base_text = cls ? BASE_CLS : BASE, *base = cls ? base_cls : base_ae;
            if (strncmp(path, "finetune.early_stop.", 20) == 0 ||
                strncmp(path, "finetune.newbob.", 16) == 0)
                base_text = base_valid_text, base = base_valid;
            saw_repeat = saw_repeat || strcmp(path, "repeat") == 0;
            if (k->type == KT_SECTION) {
                ck_assert_uint_lt(depth, 16);
                stack[depth++] = k->sub;
            }
            /* the value: the first that binds to something else than BASE,
             * else the first that binds, else the first */
            size_t nv = candidates(k, value, 8), pick = 0;
            int best = -1;
            for (size_t v = 0; v < nv && best < 2; v++) {
                char *text = file_with_base(base_text, path, value[v]);
                char *o = outcome(text, NULL, &ok);
                int rank = ok ? (strcmp(o, base) != 0 ? 2 : 1) : 0;
                if (rank > best) best = rank, pick = v;
                free(o);
                free(text);
            }
            ck_assert_msg(nv > 0, "%s: no value to try", path);
            char *text = file_with_base(base_text, path, value[pick]);
            char *assignment = tu_fmt("%s=%s", path, value[pick]);
            bool file_ok, set_ok;
            char *by_file = outcome(text, NULL, &file_ok);
            char *by_set = outcome(base_text, assignment, &set_ok);
            ck_assert_msg(set_ok == file_ok && strcmp(by_file, by_set) == 0,
                          "%s: a file and --set %s disagree:\nfile:\n%s\n--set:\n%s", path,
                          assignment, by_file, by_set);
            bound += file_ok;
            changed += best == 2;
            /* every key but these was set to a value that binds and changes
             * the configuration: repeat can only be 0 with one repeat
             * (test_set_repeat sets another), series and baseline need a
             * sweep, and no other hidden or output unit goes with BASE's
             * pretraining and cross_entropy; those fail alike both ways */
            static const char *const unchangeable[] = {"repeat", "report.series", "report.baseline",
                                                       "network.hidden", "network.output"};
            bool exempt = k->type == KT_SECTION;
            for (size_t u = 0; u < sizeof unchangeable / sizeof *unchangeable; u++)
                exempt = exempt || strcmp(path, unchangeable[u]) == 0;
            ck_assert_msg(exempt || best == 2, "%s: no value tried binds and changes the config",
                          path);
            /* and the run id: a new one for an identity row, the same for a
             * provenance or report row (the table's flag decides, which
             * sweep/canonical.c walks) */
            if (best == 2 && file_ok) {
                char id_base[AMX_RUN_ID_LEN + 1], id_new[AMX_RUN_ID_LEN + 1];
                first_id(base_text, id_base);
                first_id(text, id_new);
                bool identity =
                    k->id == AMX_KEY_IDENTITY || k->id == AMX_KEY_IDENTITY_UNLESS_DEFAULT;
                ck_assert_msg(identity == (strcmp(id_base, id_new) != 0),
                              "%s=%s: %s row, but the run id %s", path, value[pick],
                              identity ? "an identity" : "a provenance or report",
                              identity ? "stayed" : "changed");
                id_rows += identity;
                same_rows += !identity;
            }
            free(by_file);
            free(by_set);
            free(assignment);
            free(text);

            /* misspelt: the last two letters swapped (a doubled last letter
             * would make "repeatt", as near to repeats as to repeat) */
            size_t len = strlen(path);
            snprintf(bad, sizeof bad, "%s", path);
            if (strlen(k->name) >= 2 && bad[len - 1] != bad[len - 2]) {
                bad[len - 1] = path[len - 2];
                bad[len - 2] = path[len - 1];
            } else {
                snprintf(bad, sizeof bad, "%s%c", path, path[len - 1]);
            }
            char *want = tu_fmt("did you mean '%s'?", k->name);
            assignment = tu_fmt("%s=%s", bad, value[pick]);
            by_set = outcome(BASE, assignment, &set_ok);
            text = file_with(bad, value[pick]);
            by_file = outcome(text, NULL, &file_ok);
            ck_assert_msg(!set_ok && strstr(by_set, want), "--set %s: %s", assignment, by_set);
            ck_assert_msg(!file_ok && strstr(by_file, want), "%s in a file: %s", bad, by_file);
            free(by_file);
            free(by_set);
            free(assignment);
            free(want);
            free(text);
        }
    }
    ck_assert(saw_repeat);
    ck_assert_uint_ge(rows, 40);
    ck_assert_uint_ge(changed, 30);
    ck_assert_uint_ge(bound, changed);
    /* the id checks above ran on most rows of both kinds */
    ck_assert_uint_ge(id_rows, 25);
    ck_assert_uint_ge(same_rows, 8);
    free(base_ae);
    free(base_cls);
    free(base_valid);
}
END_TEST

/* `repeat` (which repeat a run is, written into each config.yaml) is a key
 * of the language: given in a file or by --set, the experiment is that one
 * repeat. */
START_TEST(test_set_repeat)
{
    const char *ov[] = {"repeat=1"};
    struct amx_experiment *a = load_ok(BASE "repeats: 3\n", ov, 1);
    struct amx_experiment *b = load_ok(BASE "repeats: 3\nrepeat: 1\n", NULL, 0);
    struct amx_experiment *all = load_ok(BASE "repeats: 3\n", NULL, 0);
    ck_assert_uint_eq(a->n_runs, 1);
    ck_assert_int_eq(a->runs[0].repeat, 1);
    ck_assert_uint_eq(b->n_runs, 1);
    ck_assert_str_eq(a->runs[0].id, b->runs[0].id);
    ck_assert_uint_eq(all->n_runs, 3);
    ck_assert_str_eq(a->runs[0].id, all->runs[1].id);
    amx_experiment_free(a);
    amx_experiment_free(b);
    amx_experiment_free(all);
}
END_TEST

START_TEST(test_override_errors_in_load)
{
    const char *ov[] = {"finetune.epoch=3", "finetune.epochs=-5", "nmae=x"};
    struct amx_errlist errs = {0};
    load_bad(BASE, ov, 3, &errs);
    /* every bad override is reported, each at its --set */
    expect_error(&errs, "--set finetune.epoch", -1, -1, "epoch");
    expect_error(&errs, "--set nmae", -1, -1, "nmae");
    amx_errlist_free(&errs);

    /* a value out of range: found by binding, located at the override */
    const char *ov2[] = {"finetune.epochs=-5"};
    struct amx_errlist e2 = {0};
    load_bad(BASE, ov2, 1, &e2);
    expect_error(&e2, "--set finetune.epochs", 1, 1, NULL);
    amx_errlist_free(&e2);
}
END_TEST

START_TEST(test_override_into_sweep)
{
    const char *text = BASE "sweep:\n"
                            "  finetune.epochs: [1, 2, 3]\n"
                            "  finetune.batch_size: [10, 20]\n";
    /* replaces an existing axis */
    const char *ov[] = {"sweep.finetune.epochs=[5, 10]"};
    struct amx_experiment *exp = load_ok(text, ov, 1);
    ck_assert_uint_eq(exp->n_axes, 2);
    ck_assert_str_eq(exp->axes[0].path, "finetune.epochs");
    ck_assert_uint_eq(exp->n_runs, 4);
    ck_assert_int_eq(exp->runs[3].cfg.finetune.epochs, 10);
    amx_experiment_free(exp);

    /* adds an axis to an experiment without a sweep */
    const char *ov2[] = {"sweep.finetune.epochs=[5, 10]", "sweep.pretrain.epochs=[1, 2]"};
    exp = load_ok(BASE, ov2, 2);
    ck_assert_uint_eq(exp->n_axes, 2);
    ck_assert_uint_eq(exp->n_runs, 4);
    ck_assert_int_eq(exp->runs[1].cfg.pretrain.epochs, 2);
    amx_experiment_free(exp);

    /* replaces the whole sweep */
    const char *ov3[] = {"sweep={finetune.loss: [squared_error]}"};
    exp = load_ok(text, ov3, 1);
    ck_assert_uint_eq(exp->n_axes, 1);
    ck_assert_uint_eq(exp->n_runs, 1);
    ck_assert_int_eq(exp->runs[0].cfg.finetune.loss, AMX_LOSS_SQUARED_ERROR);
    amx_experiment_free(exp);

    /* a bad value given in an override is located in it */
    const char *ov4[] = {"sweep.finetune.epochs=[5, -1]"};
    struct amx_errlist errs = {0};
    load_bad(text, ov4, 1, &errs);
    expect_error(&errs, "--set sweep.finetune.epochs", 1, 5, "in sweep point finetune.epochs=-1");
    amx_errlist_free(&errs);

    /* an axis that is not a path */
    const char *ov5[] = {"sweep.finetune.epoch=[5]"};
    struct amx_errlist e5 = {0};
    load_bad(text, ov5, 1, &e5);
    expect_error(&e5, "--set sweep.finetune.epoch", -1, -1, "did you mean 'epochs'");
    amx_errlist_free(&e5);
}
END_TEST

/* -------------------------------------------------------------- run ids -- */

START_TEST(test_id_stability)
{
    const char *a = "name: first\n"
                    "description: one\n"
                    "seed: 5\n"
                    "network: {layers: [4, 3, 2], hidden: logistic}\n"
                    "pretrain: {epochs: 2, learning_rate: 0.1}\n"
                    "finetune:\n"
                    "  epochs: 3\n"
                    "  rules:\n"
                    "    weights: {rule: current-gradient, eta0: 0.01, K: 1}\n"
                    "    biases: {rule: power-exponential, eta0: 1e-2, r: 10, c: 1.0}\n"
                    "report: {title: A}\n";
    /* other name, description, report, key order, comments, spacing and
     * spelling of numbers (1e-2 = 0.01 = 0.010, 1 = 1.0 = 1e0) */
    const char *b = "# a comment\n"
                    "finetune:\n"
                    "    rules:   # another\n"
                    "        biases:  {c: 1, r: 1.0e1, eta0: 0.010, rule: power-exponential}\n"
                    "        weights: {K: 1e0, eta0: 0.01, rule: current-gradient}\n"
                    "    epochs:   3\n"
                    "pretrain:\n"
                    "    learning_rate: .1\n"
                    "    epochs: 2\n"
                    "network:\n"
                    "    layers:\n"
                    "      - 4\n"
                    "      - 3\n"
                    "      - 2\n"
                    "seed: 5\n"
                    "name: second\n"
                    "description: two\n"
                    "report: {title: B, log_y: true}\n";
    char ia[AMX_RUN_ID_LEN + 1], ib[AMX_RUN_ID_LEN + 1];
    single_id(a, ia);
    single_id(b, ib);
    ck_assert_str_eq(ia, ib);
    /* also a default written out is the same as the default left out */
    char ic[AMX_RUN_ID_LEN + 1];
    const char *c = "name: t\n"
                    "network: {layers: [4, 3, 2]}\n"
                    "finetune:\n"
                    "  rules: {all: {rule: constant, eta0: 0.1}}\n";
    const char *d = "name: t\n"
                    "network: {layers: [4, 3, 2], hidden: logistic}\n"
                    "finetune:\n"
                    "  loss: cross_entropy\n"
                    "  rules: {all: {rule: constant, eta0: 0.1, momentum: 0}}\n"
                    "seed: 1\n";
    single_id(c, ia);
    single_id(d, ic);
    ck_assert_str_eq(ia, ic);
}
END_TEST

START_TEST(test_id_sensitivity)
{
    /* every change below changes what is computed: all ids differ */
    static const char *const ov[] = {
        NULL,
        "data.dir=other",
        "data.train=train.idx",
        "data.test=test.idx",
        "data.train_limit=1000",
        "data.test_limit=100",
        "data.validation=10",
        "network.layers=[4, 3, 3]",
        "network.hidden=tanh && pretrain=none", /* logistic RBMs are not unrolled into tanh */
        "network.code=logistic",
        "finetune.loss=squared_error && network.output=linear", /* cross_entropy: logistic */
        "pretrain=none",
        "pretrain.epochs=3",
        "pretrain.batch_size=7",
        "pretrain.cd_k=2",
        "pretrain.learning_rate=0.2",
        "pretrain.code_learning_rate=0.002",
        "pretrain.momentum.initial=0.4",
        "pretrain.momentum.final=0.8",
        "pretrain.momentum.switch_epoch=3",
        "pretrain.weight_decay=0.001",
        "pretrain.init_std=0.05",
        "finetune.epochs=9",
        "finetune.batch_size=9",
        "finetune.loss=squared_error",
        "finetune.divergence_limit=1e5",
        "finetune.rules.all.eta0=0.2",
        "finetune.rules.all.momentum=0.5",
        "finetune.rules.all.rule=power",
        "finetune.rules.all.rule=power && finetune.rules.all.per=step", /* a schedule's clock */
        "finetune.rules.all.rule=adagrad",
        "finetune.rules={all: {rule: adagrad, eta0: 0.1, K: 2}}",
        "finetune.rules={weights: {rule: constant, eta0: 0.1}, biases: {rule: constant, eta0: "
        "0.2}}",
        "finetune.rules={all: {rule: current-gradient, eta0: 0.1, window: step}}",
        "finetune.rules={all: {rule: current-gradient, eta0: 0.1, window: epoch}}",
        "seed=2",
    };
    size_t n = sizeof ov / sizeof ov[0];
    char(*ids)[AMX_RUN_ID_LEN + 1] = calloc(n + 1, sizeof *ids);
    ck_assert_ptr_nonnull(ids);
    for (size_t i = 0; i < n; i++) {
        /* a case is one override, or several joined by " && " */
        char buf[512];
        const char *parts[4];
        size_t np = 0;
        if (ov[i]) {
            snprintf(buf, sizeof buf, "%s", ov[i]);
            for (char *p = buf; p && np < 4;) {
                parts[np++] = p;
                char *sep = strstr(p, " && ");
                if (sep) {
                    *sep = '\0';
                    p = sep + 4;
                } else {
                    p = NULL;
                }
            }
        }
        struct amx_experiment *exp = load_ok(BASE, np ? parts : NULL, np);
        memcpy(ids[i], exp->runs[0].id, sizeof ids[i]);
        amx_experiment_free(exp);
        for (size_t j = 0; j < i; j++)
            ck_assert_msg(strcmp(ids[i], ids[j]) != 0, "'%s' and '%s' give the same id",
                          ov[i] ? ov[i] : "(base)", ov[j] ? ov[j] : "(base)");
    }
    /* the repeat */
    struct amx_experiment *exp = load_ok(BASE "repeats: 2\n", NULL, 0);
    ck_assert_str_eq(exp->runs[0].id, ids[0]);
    ck_assert_str_ne(exp->runs[1].id, ids[0]);
    amx_experiment_free(exp);
    free(ids);
}
END_TEST

START_TEST(test_named_repeat_is_one_run)
{
    /* a run's config.yaml read back as an experiment is that run alone */
    struct amx_experiment *all = load_ok(BASE "repeats: 3\n", NULL, 0);
    struct amx_experiment *one = load_ok(BASE "repeats: 3\nrepeat: 2\n", NULL, 0);
    ck_assert_uint_eq(all->n_runs, 3);
    ck_assert_uint_eq(one->n_runs, 1);
    ck_assert_int_eq(one->runs[0].repeat, 2);
    ck_assert_str_eq(one->runs[0].id, all->runs[2].id);
    amx_experiment_free(all);
    amx_experiment_free(one);
}
END_TEST

START_TEST(test_override_of_swept_path_refused)
{
    /* an override under a sweep axis would be overwritten by every point */
    const char *text = BASE "sweep:\n"
                            "  finetune.epochs: [1, 2]\n";
    static const char *const ov[] = {"finetune.epochs=7"};
    struct amx_experiment *exp = NULL;
    struct amx_errlist errs = {0};
    ck_assert_int_eq(amx_experiment_load_string(text, strlen(text), "t.yaml", ov, 1, &exp, &errs),
                     AMX_ERR_CONFIG);
    ck_assert_ptr_null(exp);
    ck_assert_uint_eq(errs.n, 1);
    ck_assert_msg(strstr(errs.items[0].msg, "set by the sweep axis 'finetune.epochs'"), "%s",
                  errs.items[0].msg);
    ck_assert_str_eq(errs.items[0].path, "t.yaml");
    amx_errlist_free(&errs);
    /* the axis itself can be overridden */
    static const char *const ov2[] = {"sweep.finetune.epochs=[7]"};
    ck_assert_int_eq(amx_experiment_load_string(text, strlen(text), "t.yaml", ov2, 1, &exp, &errs),
                     AMX_OK);
    ck_assert_uint_eq(exp->n_runs, 1);
    ck_assert_int_eq(exp->runs[0].cfg.finetune.epochs, 7);
    amx_experiment_free(exp);
    amx_errlist_free(&errs);
}
END_TEST

START_TEST(test_id_is_hash_of_canonical_form)
{
    struct amx_experiment *exp = load_ok(BASE, NULL, 0);
    char *form = amx_canonical_form(&exp->runs[0].cfg);
    ck_assert_ptr_nonnull(form);
    char hex[65];
    amx_sha256_hex(form, strlen(form), hex);
    ck_assert(strncmp(hex, exp->runs[0].id, AMX_RUN_ID_LEN) == 0);
    free(form);
    amx_experiment_free(exp);
}
END_TEST

START_TEST(test_canonical_form_contents)
{
    const char *text = "name: uniquename123\n"
                       "description: uniquedescription456\n"
                       "repeats: 4\n"
                       "network: {layers: [4, 3, 2]}\n"
                       "finetune:\n"
                       "  rules: {all: {rule: power, eta0: 1e-2, r: 10}}\n"
                       "report: {title: uniquetitle789}\n";
    struct amx_experiment *exp = load_ok(text, NULL, 0);
    char *form = amx_canonical_form(&exp->runs[0].cfg);
    ck_assert_ptr_nonnull(form);
    ck_assert_ptr_null(strstr(form, "uniquename123"));
    ck_assert_ptr_null(strstr(form, "uniquedescription456"));
    ck_assert_ptr_null(strstr(form, "uniquetitle789"));
    ck_assert_ptr_null(strstr(form, "repeats"));
    ck_assert_ptr_null(strstr(form, "x.yaml"));
    /* the alias resolved to the registry name; numbers in one spelling */
    ck_assert_ptr_nonnull(strstr(form, "\"power-exponential\""));
    ck_assert_ptr_nonnull(strstr(form, "finetune.rules.all.eta0=0.01\n"));
    /* sorted lines */
    char *save = NULL, *prev = NULL;
    char *copy = malloc(strlen(form) + 1);
    strcpy(copy, form);
    size_t lines = 0;
    for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (prev) ck_assert_msg(strcmp(prev, line) < 0, "'%s' before '%s'", prev, line);
        prev = line;
        lines++;
    }
    ck_assert_uint_gt(lines, 20);
    free(copy);
    free(form);
    amx_experiment_free(exp);
}
END_TEST

START_TEST(test_print_config_round_trip)
{
    const char *text = BASE "repeats: 2\n"
                            "data: {dir: \"some dir\", train_limit: 50}\n"
                            "pretrain: {epochs: 2, momentum: {initial: 0.4}}\n"
                            "sweep:\n"
                            "  finetune.rules:\n"
                            "    A: {all: {rule: adagrad, eta0: 1e-2, K: 2}}\n"
                            "    B:\n"
                            "      weights: {rule: current-gradient, eta0: 0.01, window: epoch}\n"
                            "      biases: {rule: power, eta0: 0.01, r: 5, c: 0.5}\n"
                            "  finetune.epochs: [1, 3]\n";
    /* values whose meaning the text must keep: strings that read as a
     * number, a boolean or null when plain, YAML's indicators, a line break,
     * non-ASCII; doubles that need 17 digits, the smallest normal, the
     * largest finite */
    const char *ov[] = {"description='a: b #c, [d] {e} -- \"f\"'",
                        "report.title=\"1e3\"",
                        "data.train=\"true\"",
                        "data.test=\"~\"",
                        "report.baseline=\"\"",
                        "data.dir=\"dir\\nwith a break, \xc3\xa9\"",
                        "pretrain.learning_rate=0.30000000000000004",
                        "pretrain.weight_decay=2.2250738585072014e-308",
                        "finetune.divergence_limit=1.7976931348623157e308",
                        "pretrain.momentum.final=0.99999999999999989"};
    size_t n_ov = sizeof ov / sizeof *ov;
    struct amx_experiment *exp = load_ok(text, ov, n_ov);
    ck_assert_uint_eq(exp->n_runs, 8);
    ck_assert_str_eq(exp->runs[0].cfg.data.dir, "dir\nwith a break, \xc3\xa9");
    for (size_t i = 0; i < exp->n_runs; i++) {
        const struct amx_run *r = &exp->runs[i];
        struct amx_node *node = amx_config_to_node(&r->cfg);
        ck_assert_ptr_nonnull(node);
        char *yaml = amx_node_emit_string(node);
        ck_assert_ptr_nonnull(yaml);
        struct amx_node *back = NULL;
        struct amx_error err;
        ck_assert_int_eq(
            amx_node_parse_string(yaml, strlen(yaml), "config.yaml", true, &back, &err), AMX_OK);
        struct amx_run_config *cfg = calloc(1, sizeof *cfg);
        struct amx_errlist errs = {0};
        ck_assert_int_eq(amx_config_bind(back, cfg, &errs), AMX_OK);
        cfg->repeat = r->repeat;
        char id[AMX_RUN_ID_LEN + 1];
        amx_run_id(cfg, id);
        ck_assert_str_eq(id, r->id);
        /* what the id leaves out is kept too */
        ck_assert_str_eq(cfg->description, r->cfg.description);
        ck_assert_str_eq(cfg->report.title, "1e3");
        ck_assert_str_eq(cfg->report.baseline, "");
        ck_assert_str_eq(cfg->data.train, "true");
        ck_assert_str_eq(cfg->data.test, "~");
        ck_assert_str_eq(cfg->data.dir, r->cfg.data.dir);
        const double *x[] = {&cfg->pretrain.learning_rate, &cfg->pretrain.weight_decay,
                             &cfg->finetune.divergence_limit, &cfg->pretrain.momentum_final};
        const double *y[] = {&r->cfg.pretrain.learning_rate, &r->cfg.pretrain.weight_decay,
                             &r->cfg.finetune.divergence_limit, &r->cfg.pretrain.momentum_final};
        for (size_t k = 0; k < 4; k++)
            ck_assert_msg(memcmp(x[k], y[k], sizeof(double)) == 0, "double %zu: %.17g != %.17g", k,
                          *x[k], *y[k]);
        amx_errlist_free(&errs);
        free(cfg);
        amx_node_free(back);
        free(yaml);
        amx_node_free(node);
    }
    amx_experiment_free(exp);
}
END_TEST

/* ---------------------------------------------------------------- files -- */

START_TEST(test_load_file)
{
    char *dir = tu_tmpdir("sweep");
    ck_assert_ptr_nonnull(dir);
    char *path = tu_fmt("%s/exp.yaml", dir);
    const char *text = BASE "sweep: {finetune.epochs: [1, -2]}\n";
    ck_assert_int_eq(tu_write_file(path, text, strlen(text)), 0);
    struct amx_experiment *exp = (struct amx_experiment *)&exp;
    struct amx_errlist errs = {0};
    ck_assert_int_eq(amx_experiment_load(path, NULL, 0, &exp, &errs), AMX_ERR_CONFIG);
    ck_assert_ptr_null(exp);
    expect_error(&errs, path, 5, 30, "finetune.epochs=-2");
    amx_errlist_free(&errs);
    const char *ov[] = {"sweep.finetune.epochs=[1, 2]"};
    ck_assert_int_eq(amx_experiment_load(path, ov, 1, &exp, &errs), AMX_OK);
    ck_assert_ptr_nonnull(exp);
    ck_assert_str_eq(exp->file, path);
    ck_assert_str_eq(exp->runs[0].cfg.file, path);
    ck_assert_uint_eq(exp->n_runs, 2);
    amx_experiment_free(exp);
    /* a missing file */
    char *missing = tu_fmt("%s/none.yaml", dir);
    exp = (struct amx_experiment *)&exp;
    ck_assert_int_ne(amx_experiment_load(missing, NULL, 0, &exp, &errs), AMX_OK);
    ck_assert_ptr_null(exp);
    ck_assert_uint_eq(errs.n, 1);
    amx_errlist_free(&errs);
    amx_experiment_free(NULL);
    tu_rmtree(dir);
    free(missing);
    free(path);
    free(dir);
}
END_TEST

START_TEST(test_not_a_mapping)
{
    struct amx_errlist errs = {0};
    load_bad("- a\n- b\n", NULL, 0, &errs);
    amx_errlist_free(&errs);
    load_bad(BASE "sweep: [1, 2]\n", NULL, 0, &errs);
    expect_error(&errs, "x.yaml", 5, 8, "sweep must be a mapping");
    amx_errlist_free(&errs);
    load_bad(BASE "sweep: {zip: {a: 1}}\n", NULL, 0, &errs);
    expect_error(&errs, "x.yaml", 5, 14, "zip");
    amx_errlist_free(&errs);
    load_bad(BASE "sweep: {exclude: 3}\n", NULL, 0, &errs);
    expect_error(&errs, "x.yaml", 5, 18, "exclude");
    amx_errlist_free(&errs);
}
END_TEST

/* ------------------------------------- report.baseline, targets, evaluation -- */

#define RULES_SWEEP                                                                                \
    "sweep:\n"                                                                                     \
    "  finetune.rules:\n"                                                                          \
    "    AdaGrad: {all: {rule: adagrad, eta0: 0.1}}\n"                                             \
    "    SGD: {all: {rule: constant, eta0: 0.1}}\n"

START_TEST(test_report_baseline)
{
    /* lines 1-4 BASE, 5-8 the sweep, 9 report:, 10 baseline */
    struct amx_experiment *exp =
        load_ok(BASE RULES_SWEEP "report:\n  baseline: AdaGrad\n  targets: [7.5, 7]\n", NULL, 0);
    ck_assert_str_eq(exp->runs[0].cfg.report.baseline, "AdaGrad");
    ck_assert_uint_eq(exp->runs[0].cfg.report.n_targets, 2);
    ck_assert_double_eq(exp->runs[0].cfg.report.targets[1], 7.0);
    amx_experiment_free(exp);

    struct amx_errlist errs = {0};
    load_bad(BASE RULES_SWEEP "report:\n  baseline: AdaGard\n", NULL, 0, &errs);
    expect_error(&errs, "x.yaml", 10, 13, "not a value of the series axis finetune.rules");
    expect_error(&errs, "x.yaml", 10, 13, "did you mean 'AdaGrad'?");
    amx_errlist_free(&errs);

    memset(&errs, 0, sizeof errs);
    load_bad(BASE "report: {baseline: AdaGrad}\n", NULL, 0, &errs);
    expect_error(&errs, "x.yaml", 5, 20, "needs a sweep");
    amx_errlist_free(&errs);

    /* targets: numbers >= 0, distinct, at most AMX_MAX_TARGETS */
    memset(&errs, 0, sizeof errs);
    load_bad(BASE "report: {targets: [7.5, -1, x, 7.5]}\n", NULL, 0, &errs);
    expect_error(&errs, "x.yaml", 5, 25, "report.targets[1] must be >= 0");
    expect_error(&errs, "x.yaml", 5, 29, "report.targets[2] must be a number");
    expect_error(&errs, "x.yaml", 5, 32, "repeats the target 7.5");
    amx_errlist_free(&errs);
    memset(&errs, 0, sizeof errs);
    load_bad(BASE "report: {targets: [1, 2, 3, 4, 5, 6, 7, 8, 9]}\n", NULL, 0, &errs);
    expect_error(&errs, "x.yaml", 5, 19, "at most 8");
    amx_errlist_free(&errs);
    /* a single number is one target */
    exp = load_ok(BASE "report: {targets: 7}\n", NULL, 0);
    ck_assert_uint_eq(exp->runs[0].cfg.report.n_targets, 1);
    amx_experiment_free(exp);
}
END_TEST

/* compute.precision: fp32 (the default, and what every run did before the
 * key) keeps the id; bf16 is another computation, another id; the canonical
 * form names it only then; a misspelt value is located. */
START_TEST(test_precision_identity)
{
    char a[AMX_RUN_ID_LEN + 1], b[AMX_RUN_ID_LEN + 1], c[AMX_RUN_ID_LEN + 1];
    single_id(BASE, a);
    single_id(BASE "compute: {precision: fp32}\n", b);
    ck_assert_str_eq(a, b);
    single_id(BASE "compute: {precision: bf16}\n", c);
    ck_assert_str_ne(a, c);
    struct amx_experiment *exp = load_ok(BASE "compute: {precision: bf16}\n", NULL, 0);
    ck_assert_int_eq(exp->runs[0].cfg.compute.precision, AMX_PRECISION_BF16);
    char *form = amx_canonical_form(&exp->runs[0].cfg);
    ck_assert_ptr_nonnull(strstr(form, "compute.precision=bf16\n"));
    free(form);
    amx_experiment_free(exp);
    exp = load_ok(BASE, NULL, 0);
    ck_assert_int_eq(exp->runs[0].cfg.compute.precision, AMX_PRECISION_FP32);
    form = amx_canonical_form(&exp->runs[0].cfg);
    ck_assert_ptr_null(strstr(form, "compute"));
    free(form);
    amx_experiment_free(exp);
    const char *ov[] = {"compute.precision=bf16"};
    exp = load_ok(BASE, ov, 1);
    ck_assert_int_eq(exp->runs[0].cfg.compute.precision, AMX_PRECISION_BF16);
    amx_experiment_free(exp);
    struct amx_errlist errs = {0};
    load_bad(BASE "compute: {precision: fp16}\n", NULL, 0, &errs);
    expect_error(&errs, "x.yaml", 5, 22, "must be one of fp32, bf16 (got fp16)");
    amx_errlist_free(&errs);
}
END_TEST

/* A key added after runs were committed enters the id only when not at its
 * default: written at its default, every such row keeps BASE's id (so every
 * committed run keeps its own). */
START_TEST(test_new_keys_at_default_keep_ids)
{
    char a[AMX_RUN_ID_LEN + 1], b[AMX_RUN_ID_LEN + 1];
    single_id(BASE, a);
    single_id(BASE "data: {transpose: false}\n"
                   "compute: {precision: fp32}\n"
                   "evaluation: {train_subset: 0, test: true}\n",
              b);
    ck_assert_str_eq(a, b);
    single_id("name: t\n"
              "network: {layers: [4, 3, 2], task: autoencoder}\n"
              "finetune:\n"
              "  rules: {all: {rule: constant, eta0: 0.1}}\n",
              b);
    ck_assert_str_eq(a, b);
    /* and the rows so flagged are exactly those keys (a row flagged so by
     * mistake would let an old id and a new configuration meet) */
    const char *path;
    enum amx_key_class cls;
    unsigned tasks;
    char seen[512] = "";
    for (size_t i = 0; amx_config_key_at(i, &path, &cls, &tasks); i++)
        if (cls == AMX_KEY_IDENTITY_UNLESS_DEFAULT)
            snprintf(seen + strlen(seen), sizeof seen - strlen(seen), "%s ", path);
    ck_assert_str_eq(seen, "data.transpose data.label_offset network.task network.classes "
                           "finetune.early_stop.patience finetune.early_stop.min_delta "
                           "finetune.early_stop.start_epoch finetune.early_stop.restore_best "
                           "finetune.newbob.start_halving_impr finetune.newbob.end_halving_impr "
                           "finetune.newbob.halving_factor finetune.newbob.min_iters "
                           "finetune.newbob.keep_lr_iters "
                           "compute.precision evaluation.train_subset evaluation.test ");
}
END_TEST

START_TEST(test_train_subset_identity)
{
    char a[AMX_RUN_ID_LEN + 1], b[AMX_RUN_ID_LEN + 1], c[AMX_RUN_ID_LEN + 1];
    single_id(BASE, a);
    /* 0 is the default and what every run did before the key: the same id */
    single_id(BASE "evaluation: {train_subset: 0}\n", b);
    ck_assert_str_eq(a, b);
    single_id(BASE "evaluation: {train_subset: 1000}\n", c);
    ck_assert_str_ne(a, c);
    /* report keys never change the id */
    single_id(BASE "report: {targets: [3], title: other}\n", b);
    ck_assert_str_eq(a, b);
    /* at most the training images when train_limit says how many */
    struct amx_errlist errs = {0};
    load_bad(BASE "data: {train_limit: 100, validation: 10}\nevaluation: {train_subset: 91}\n",
             NULL, 0, &errs);
    expect_error(&errs, "x.yaml", 6, 28, "must be at most the number of training images (90");
    amx_errlist_free(&errs);
    /* overrides know the new section and the top-level keys of the schema */
    const char *ov[] = {"evaluation.train_subset=5", "repeat=0"};
    struct amx_experiment *exp = load_ok(BASE, ov, 2);
    ck_assert_int_eq(exp->runs[0].cfg.evaluation.train_subset, 5);
    amx_experiment_free(exp);
    memset(&errs, 0, sizeof errs);
    const char *bad[] = {"evaluaton.train_subset=5"};
    load_bad(BASE, bad, 1, &errs);
    ck_assert_ptr_nonnull(strstr(errs.items[0].msg, "did you mean 'evaluation'?"));
    amx_errlist_free(&errs);
}
END_TEST

#define PLATEAU_BASE(entry)                                                                        \
    "name: t\n"                                                                                    \
    "data: {validation: 10}\n"                                                                     \
    "network: {layers: [4, 3, 2]}\n"                                                               \
    "finetune:\n"                                                                                  \
    "  rules: {all: " entry "}\n"

/* plateau enters the id only when given (an entry without it keeps its id:
 * no plateau line in its canonical form), and then by every parameter */
START_TEST(test_plateau_identity)
{
    char none[AMX_RUN_ID_LEN + 1], def[AMX_RUN_ID_LEN + 1], half[AMX_RUN_ID_LEN + 1],
        same[AMX_RUN_ID_LEN + 1], absm[AMX_RUN_ID_LEN + 1];
    single_id(PLATEAU_BASE("{rule: adagrad, eta0: 0.1}"), none);
    single_id(PLATEAU_BASE("{rule: adagrad, eta0: 0.1, plateau: {}}"), def);
    single_id(PLATEAU_BASE("{rule: adagrad, eta0: 0.1, plateau: {factor: 0.5}}"), half);
    single_id(PLATEAU_BASE("{rule: adagrad, eta0: 0.1, plateau: {factor: 0.5, patience: 10}}"),
              same);
    single_id(PLATEAU_BASE("{rule: adagrad, eta0: 0.1, plateau: {threshold_mode: abs}}"), absm);
    ck_assert_str_ne(none, def);
    ck_assert_str_ne(def, half);
    ck_assert_str_eq(half, same); /* patience 10 is the default */
    ck_assert_str_ne(def, absm);
    struct amx_experiment *exp = load_ok(PLATEAU_BASE("{rule: adagrad, eta0: 0.1}"), NULL, 0);
    char *form = amx_canonical_form(&exp->runs[0].cfg);
    ck_assert_ptr_null(strstr(form, "plateau"));
    free(form);
    amx_experiment_free(exp);
    exp = load_ok(PLATEAU_BASE("{rule: adagrad, eta0: 0.1, plateau: {factor: 0.5}}"), NULL, 0);
    form = amx_canonical_form(&exp->runs[0].cfg);
    static const char *const lines[] = {"finetune.rules.all.plateau.mode=\"min\"",
                                        "finetune.rules.all.plateau.factor=0.5",
                                        "finetune.rules.all.plateau.patience=10",
                                        "finetune.rules.all.plateau.threshold=0.0001",
                                        "finetune.rules.all.plateau.threshold_mode=\"rel\"",
                                        "finetune.rules.all.plateau.cooldown=0",
                                        "finetune.rules.all.plateau.min_lr=0",
                                        "finetune.rules.all.plateau.eps=1e-08"};
    for (size_t i = 0; i < sizeof lines / sizeof *lines; i++)
        ck_assert_msg(strstr(form, lines[i]), "no line %s in\n%s", lines[i], form);
    free(form);
    amx_experiment_free(exp);
}
END_TEST

/* bad plateau input, located at the value (or at `plateau:`) */
START_TEST(test_plateau_errors)
{
    struct amx_errlist errs = {0};
    load_bad(PLATEAU_BASE("{rule: adagrad, plateau: {patience: -1}}"), NULL, 0, &errs);
    expect_error(&errs, "x.yaml", 5, 52, "finetune.rules.all.plateau.patience");
    amx_errlist_free(&errs);
    memset(&errs, 0, sizeof errs);
    load_bad(PLATEAU_BASE("{rule: adagrad, plateau: {factor: 1}}"), NULL, 0, &errs);
    expect_error(&errs, "x.yaml", 5, 50, "finetune.rules.all.plateau.factor");
    amx_errlist_free(&errs);
    memset(&errs, 0, sizeof errs);
    load_bad(PLATEAU_BASE("{rule: adagrad, plateau: {factor: 0}}"), NULL, 0, &errs);
    expect_error(&errs, "x.yaml", 5, 50, "finetune.rules.all.plateau.factor");
    amx_errlist_free(&errs);
    memset(&errs, 0, sizeof errs);
    load_bad(PLATEAU_BASE("{rule: adagrad, plateau: {patiense: 2}}"), NULL, 0, &errs);
    expect_error(&errs, "x.yaml", 5, 42, "did you mean 'patience'?");
    amx_errlist_free(&errs);
    memset(&errs, 0, sizeof errs);
    load_bad(PLATEAU_BASE("{rule: adagrad, plateau: {threshold_mode: max}}"), NULL, 0, &errs);
    expect_error(&errs, "x.yaml", 5, 58, "threshold_mode");
    amx_errlist_free(&errs);
    memset(&errs, 0, sizeof errs);
    load_bad(BASE_NO_RULES "  rules: {weights: constant, biases: {rule: adagrad, plateau: {}}}\n",
             NULL, 0, &errs);
    expect_error(&errs, "x.yaml", 4, 54, "needs held-out images: set data.validation");
    amx_errlist_free(&errs);
}
END_TEST

#define EARLY_BASE(data, es)                                                                       \
    "name: t\n" data "network: {layers: [4, 3, 2]}\n"                                              \
    "finetune:\n"                                                                                  \
    "  rules: {all: {rule: constant, eta0: 0.1}}\n" es

/* early_stop: off unless given (none, or absent: the id of before), then
 * in the id; bad values and a missing validation split located */
START_TEST(test_early_stop_config)
{
    char a[AMX_RUN_ID_LEN + 1], b[AMX_RUN_ID_LEN + 1], c[AMX_RUN_ID_LEN + 1], d[AMX_RUN_ID_LEN + 1];
    single_id(EARLY_BASE("data: {validation: 5}\n", ""), a);
    single_id(EARLY_BASE("data: {validation: 5}\n", "  early_stop: none\n"), b);
    ck_assert_str_eq(a, b);
    single_id(EARLY_BASE("data: {validation: 5}\n", "  early_stop: {}\n"), c);
    ck_assert_str_ne(a, c);
    single_id(EARLY_BASE("data: {validation: 5}\n", "  early_stop: {restore_best: true}\n"), d);
    ck_assert_str_ne(c, d);
    struct amx_experiment *exp =
        load_ok(EARLY_BASE("data: {validation: 5}\n", "  early_stop: {patience: 3}\n"), NULL, 0);
    const struct amx_early_stop_config *es = &exp->runs[0].cfg.finetune.early_stop;
    ck_assert(es->enabled && es->patience == 3 && es->min_delta == 0 && es->start_epoch == 0 &&
              !es->restore_best);
    amx_experiment_free(exp);
    exp = load_ok(EARLY_BASE("data: {validation: 5}\n", ""), NULL, 0);
    ck_assert(!exp->runs[0].cfg.finetune.early_stop.enabled);
    amx_experiment_free(exp);

    struct amx_errlist errs = {0};
    load_bad(EARLY_BASE("data: {validation: 5}\n", "  early_stop: {patience: -1}\n"), NULL, 0,
             &errs);
    expect_error(&errs, "x.yaml", 6, 26, "finetune.early_stop.patience");
    amx_errlist_free(&errs);
    memset(&errs, 0, sizeof errs);
    load_bad(EARLY_BASE("data: {validation: 5}\n", "  early_stop: {min_delta: -0.5}\n"), NULL, 0,
             &errs);
    expect_error(&errs, "x.yaml", 6, 27, "finetune.early_stop.min_delta");
    amx_errlist_free(&errs);
    memset(&errs, 0, sizeof errs);
    load_bad(EARLY_BASE("", "  early_stop: {patience: 2}\n"), NULL, 0, &errs);
    expect_error(&errs, "x.yaml", 5, 15, "needs held-out images: set data.validation");
    amx_errlist_free(&errs);
}
END_TEST

/* newbob: off unless given (the id of before), then in the id; refused
 * without a validation split, with early_stop or with a plateau */
START_TEST(test_newbob_config)
{
    char a[AMX_RUN_ID_LEN + 1], b[AMX_RUN_ID_LEN + 1], c[AMX_RUN_ID_LEN + 1];
    single_id(EARLY_BASE("data: {validation: 5}\n", ""), a);
    single_id(EARLY_BASE("data: {validation: 5}\n", "  newbob: none\n"), b);
    ck_assert_str_eq(a, b);
    single_id(EARLY_BASE("data: {validation: 5}\n", "  newbob: {}\n"), c);
    ck_assert_str_ne(a, c);
    struct amx_experiment *exp =
        load_ok(EARLY_BASE("data: {validation: 5}\n", "  newbob: {min_iters: 3}\n"), NULL, 0);
    const struct amx_newbob_config *nb = &exp->runs[0].cfg.finetune.newbob;
    ck_assert(nb->enabled && nb->start_halving_impr == 0.01 && nb->end_halving_impr == 0.001 &&
              nb->halving_factor == 0.5 && nb->min_iters == 3 && nb->keep_lr_iters == 0);
    amx_experiment_free(exp);
    struct amx_errlist errs = {0};
    load_bad(EARLY_BASE("", "  newbob: {}\n"), NULL, 0, &errs);
    expect_error(&errs, "x.yaml", 5, 11, "needs held-out images: set data.validation");
    amx_errlist_free(&errs);
    memset(&errs, 0, sizeof errs);
    load_bad(EARLY_BASE("data: {validation: 5}\n", "  newbob: {halving_factor: 1}\n"), NULL, 0,
             &errs);
    expect_error(&errs, "x.yaml", 6, 28, "finetune.newbob.halving_factor");
    amx_errlist_free(&errs);
    memset(&errs, 0, sizeof errs);
    load_bad(EARLY_BASE("data: {validation: 5}\n", "  newbob: {}\n  early_stop: {}\n"), NULL, 0,
             &errs);
    expect_error(&errs, "x.yaml", 6, 11, "cannot go with finetune.early_stop");
    amx_errlist_free(&errs);
}
END_TEST

static Suite *sweep_suite(void)
{
    Suite *s = suite_create("sweep");
    TCase *tc = tcase_create("expand");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_no_sweep_one_run);
    tcase_add_test(tc, test_product_order);
    tcase_add_test(tc, test_variants_and_list_labels);
    tcase_add_test(tc, test_zip);
    tcase_add_test(tc, test_zip_unequal_lengths);
    tcase_add_test(tc, test_exclude);
    tcase_add_test(tc, test_exclude_errors);
    tcase_add_test(tc, test_repeats);
    tcase_add_test(tc, test_invalid_point_location);
    tcase_add_test(tc, test_invalid_variant_location);
    tcase_add_test(tc, test_variant_coverage_error_location);
    tcase_add_test(tc, test_partial_error_prefix);
    tcase_add_test(tc, test_base_error_reported_once_unprefixed);
    tcase_add_test(tc, test_axis_errors);
    tcase_add_test(tc, test_duplicate_ids);
    tcase_add_test(tc, test_grid_too_large);
    tcase_add_test(tc, test_exclude_everything);
    tcase_add_test(tc, test_too_many_runs_located);
    tcase_add_test(tc, test_pretraining_units);
    tcase_add_test(tc, test_series_must_be_axis);
    tcase_add_test(tc, test_not_a_mapping);
    suite_add_tcase(s, tc);
    tc = tcase_create("override");
    tcase_add_test(tc, test_override_scalar_list_mapping);
    tcase_add_test(tc, test_override_apply_direct);
    tcase_add_test(tc, test_override_errors_in_load);
    tcase_add_test(tc, test_set_accepts_every_schema_key);
    tcase_add_test(tc, test_set_repeat);
    tcase_add_test(tc, test_override_into_sweep);
    suite_add_tcase(s, tc);
    tc = tcase_create("identity");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_id_stability);
    tcase_add_test(tc, test_id_sensitivity);
    tcase_add_test(tc, test_override_of_swept_path_refused);
    tcase_add_test(tc, test_named_repeat_is_one_run);
    tcase_add_test(tc, test_id_is_hash_of_canonical_form);
    tcase_add_test(tc, test_canonical_form_contents);
    tcase_add_test(tc, test_print_config_round_trip);
    tcase_add_test(tc, test_load_file);
    tcase_add_test(tc, test_report_baseline);
    tcase_add_test(tc, test_train_subset_identity);
    tcase_add_test(tc, test_new_keys_at_default_keep_ids);
    tcase_add_test(tc, test_precision_identity);
    tcase_add_test(tc, test_plateau_identity);
    tcase_add_test(tc, test_plateau_errors);
    tcase_add_test(tc, test_early_stop_config);
    tcase_add_test(tc, test_newbob_config);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(sweep_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
