/* Sweep expansion, canonical form and run identity (docs/experiment-language.md).
 *
 * Pure: no I/O. Takes the experiment's node tree (after overrides), expands
 * the `sweep` section into one resolved tree per point and repeat, binds each
 * with amx_config_bind, and names each run by a hash of its canonical form.
 *
 *   sweep:
 *     finetune.rules: {AdaMix: {...}, AdaGrad: {...}}  # mapping: named variants
 *     finetune.epochs: [10, 50]                        # sequence: values
 *     zip: [{a: [..], b: [..]}]                        # axes that vary together
 *     exclude: [{finetune.rules: AdaGrad, finetune.epochs: 10}]
 *
 * Axes multiply in file order (the first axis varies slowest); a zip group is
 * one position in that order, at its first appearance; repeats vary fastest. */
#ifndef ADAMIX_SWEEP_H
#define ADAMIX_SWEEP_H

#include "adamix/config.h"
#include "adamix/node.h"

#include <stddef.h>

#define AMX_RUN_ID_LEN 16 /* hex digits of the SHA-256 of the canonical form */

struct amx_sweep_axis {
    char *path;    /* dotted path, e.g. "finetune.rules" */
    int line, col; /* of the axis key in the sweep section */
    size_t n_values;
    char **labels; /* one per value: the variant name for a mapping axis, the
                      value as flow YAML for a sequence axis ("0.01", "[1, 2]") */
    int zip_group; /* -1, or the index of the zip group it belongs to */
};

struct amx_run {
    char id[AMX_RUN_ID_LEN + 1];
    size_t *value;         /* value index per axis */
    int repeat;            /* 0-based */
    struct amx_node *tree; /* the resolved tree of this run (no sweep key) */
    struct amx_run_config cfg;
};

struct amx_experiment {
    char *file;
    struct amx_node *root; /* as given, overrides applied */
    size_t n_overrides;
    char **overrides; /* as given on the command line, "PATH=VALUE" */
    size_t n_axes;
    struct amx_sweep_axis *axes;
    size_t n_runs;
    struct amx_run *runs; /* in expansion order */
    /* the `tune` section (include/adamix/tune.h), taken out of root before
     * the sweep is expanded: NULL when there is none */
    struct amx_node *tune_node;
    int tune_line, tune_col;
    struct amx_tune *tune;
};

/* Applies one override "PATH=VALUE" (VALUE parsed as YAML) to root. An unknown
 * PATH (one the schema does not have, checked by binding afterwards) is an
 * error naming it; a path inside `sweep` is allowed.
 *
 * PATH is a dotted path of keys ("finetune.epochs", "pretrain.momentum.final").
 * A key the language does not have is refused at once, with a "did you mean"
 * (keys below finetune.rules, i.e. selectors and rule parameters, are checked
 * when the tree is bound). Missing mappings on the way are created.
 * Into the sweep: "sweep=..." replaces the whole section; "sweep.<axis>=..."
 * sets or replaces one axis, everything after "sweep." being the axis key, dots
 * and all ("sweep.finetune.epochs=[5, 10]" sets the axis "finetune.epochs");
 * "sweep.zip=..." and "sweep.exclude=..." replace those lists. One value inside
 * an axis cannot be addressed: give the axis again.
 * VALUE is parsed under the file name "--set PATH", so errors in it (and
 * range errors found when it is bound) point at the override. */
enum amx_status amx_override_apply(struct amx_node *root, const char *assignment,
                                   struct amx_error *err);

/* Parses the file, applies the overrides in order, expands the sweep and binds
 * every run. Every problem is added to errs; an invalid expanded point is
 * reported with the location of the sweep value that produced it. On failure
 * *out stays NULL. */
enum amx_status amx_experiment_load(const char *path, const char *const *overrides,
                                    size_t n_overrides, struct amx_experiment **out,
                                    struct amx_errlist *errs);
/* Same, from text already in memory (tests). */
enum amx_status amx_experiment_load_string(const char *text, size_t len, const char *name,
                                           const char *const *overrides, size_t n_overrides,
                                           struct amx_experiment **out, struct amx_errlist *errs);
void amx_experiment_free(struct amx_experiment *exp);

/* The canonical form of what a run computes: data, network, pretrain,
 * finetune, seed and repeat of cfg, keys sorted, numbers in one spelling
 * (%.17g of the bound value). malloc'ed string. Independent of name,
 * description, report, key order, comments and number spelling. */
char *amx_canonical_form(const struct amx_run_config *cfg);
/* id = first AMX_RUN_ID_LEN hex digits of SHA-256(canonical form). */
void amx_run_id(const struct amx_run_config *cfg, char id[AMX_RUN_ID_LEN + 1]);

#endif
