/* The typed experiment (docs/experiment-language.md).
 *
 * src/config binds a node tree (node.h) to these structs, checking every key,
 * type and range, filling every default, and reporting each problem at its
 * file:line:col. Cross-field checks that need no data (layer count, rule
 * coverage) happen here; the checks against the data (the first layer
 * against the image size, data.validation and evaluation.train_subset against
 * the number of images) happen when the data is opened, located with the
 * line, col and file marks binding records for those keys.
 *
 * One struct amx_run_config describes one run completely: it is what the
 * sweep produces for each expanded point and what the run module consumes. */
#ifndef ADAMIX_CONFIG_H
#define ADAMIX_CONFIG_H

#include "adamix/error.h"
#include "adamix/node.h"
#include "adamix/optim.h"
#include "adamix/vocab.h" /* enum amx_unit, amx_loss, amx_task, amx_precision, AMX_MAX_LAYERS */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AMX_NAME_MAX 128
#define AMX_PATH_MAX 1024
#define AMX_TEXT_MAX 512
#define AMX_MAX_TARGETS 8
/* Caps on sizes, so that every product of sizes (slabs of parameters and
 * activations) stays far from overflowing size_t: a layer at most as large
 * as the largest image the IDX reader takes (2^24 pixels), a mini-batch at
 * most 2^20 images. */
#define AMX_MAX_LAYER_SIZE (1 << 24)
#define AMX_MAX_BATCH_SIZE (1 << 20)

enum amx_metric { AMX_METRIC_TEST_ERROR, AMX_METRIC_TRAIN_ERROR, AMX_METRIC_VALIDATION_ERROR };
/* The figure's horizontal axis: the fine-tuning epoch, or the cumulative
 * fine-tuning seconds (mean over the repeats). */
enum amx_report_x { AMX_X_EPOCH, AMX_X_SECONDS };

const char *amx_unit_name(enum amx_unit u);
const char *amx_loss_name(enum amx_loss l);
const char *amx_metric_name(enum amx_metric m);
const char *amx_precision_name(enum amx_precision p);
const char *amx_task_name(enum amx_task t);

struct amx_data_config {
    char dir[AMX_PATH_MAX];          /* default "data/mnist" */
    char train[AMX_PATH_MAX];        /* default "train-images-idx3-ubyte.gz" */
    char test[AMX_PATH_MAX];         /* default "t10k-images-idx3-ubyte.gz" */
    char train_labels[AMX_PATH_MAX]; /* a classifier's; default "train-labels-idx1-ubyte.gz" */
    char test_labels[AMX_PATH_MAX];  /* a classifier's; default "t10k-labels-idx1-ubyte.gz" */
    bool transpose;                  /* images stored column by column (EMNIST); default false */
    int label_offset;                /* subtracted from every label (EMNIST letters: 1); 0 */
    long train_limit;                /* 0 = all */
    long test_limit;                 /* 0 = all */
    long validation;                 /* last N training images held out; 0 = none */
    int validation_line, validation_col; /* where it is, for the data check */
    char validation_file[AMX_PATH_MAX];  /* the file (or --set) it came from */
};

struct amx_network_config {
    enum amx_task task;             /* default autoencoder */
    int classes;                    /* a classifier's softmax width; 0: from the labels */
    int n_layers;                   /* number of sizes, >= 2 (a classifier: >= 1) */
    int layers[AMX_MAX_LAYERS];     /* layers[0] = image size */
    int layers_line, layers_col;    /* where `layers` is, for the data check */
    char layers_file[AMX_PATH_MAX]; /* the file (or --set) it came from */
    enum amx_unit hidden;           /* default logistic */
    enum amx_unit code;             /* default linear */
    enum amx_unit output;           /* default logistic; a classifier's: softmax */
};

struct amx_pretrain_config {
    bool enabled;              /* false for `pretrain: none` */
    int epochs;                /* default 50 */
    int batch_size;            /* default 100 */
    int cd_k;                  /* default 1 */
    double learning_rate;      /* default 0.1 */
    double code_learning_rate; /* default 0.001 */
    double momentum_initial;   /* default 0.5 */
    double momentum_final;     /* default 0.9 */
    int momentum_switch_epoch; /* default 5 */
    double weight_decay;       /* default 0.0002 */
    double init_std;           /* default 0.1 */
};

/* finetune.early_stop (Keras' EarlyStopping on the validation error). */
struct amx_early_stop_config {
    bool enabled;      /* default false: `early_stop: none` */
    int patience;      /* default 0: epochs without improvement before stopping */
    double min_delta;  /* default 0: an improvement is an error below best - min_delta */
    int start_epoch;   /* default 0: epochs 1..start_epoch are not watched */
    bool restore_best; /* default false: the final weights are the best epoch's */
};

/* finetune.newbob (Kaldi's newbob schedule on the validation error). */
struct amx_newbob_config {
    bool enabled;              /* default false: `newbob: none` */
    double start_halving_impr; /* default 0.01 */
    double end_halving_impr;   /* default 0.001 */
    double halving_factor;     /* default 0.5 */
    int min_iters;             /* default 0 */
    int keep_lr_iters;         /* default 0 */
};

struct amx_finetune_config {
    int epochs;         /* default 50 */
    int batch_size;     /* default 100 */
    enum amx_loss loss; /* default cross_entropy */
    size_t n_rules;
    struct amx_rule_binding rules[AMX_MAX_RULE_BINDINGS];
    int rules_line, rules_col; /* where `rules` is, for coverage errors */
    double divergence_limit;   /* default 1e6 */
    struct amx_early_stop_config early_stop;
    struct amx_newbob_config newbob;
};

/* How the matrix products are computed (nn.h, docs/backends.md): fp32, or
 * bf16 inputs with f32 accumulation (f32 parameters, gradients and errors). */
struct amx_compute_config {
    enum amx_precision precision; /* default fp32 */
};

/* What is measured after each epoch. */
struct amx_evaluation_config {
    long train_subset; /* 0 = train_error on every training image; N = on the first N */
    bool test;         /* measure the test set (whole) after each epoch; false in a tuning
                          run, whose curve and summary then hold no test error */
    int train_subset_line, train_subset_col; /* where it is, for the data check */
    char train_subset_file[AMX_PATH_MAX];
};

/* What a run writes besides its curve and summary. */
struct amx_output_config {
    bool weights; /* runs/<id>/weights.npz after the last epoch; default false */
};

struct amx_report_config {
    enum amx_metric metric;      /* default test_error; test_error for a column not an error */
    char column[AMX_NAME_MAX];   /* the curve column report.metric names: one of the errors or
                                    any other column of curve.csv (rate_mean.weights, test_loss) */
    char series[AMX_TEXT_MAX];   /* a sweep axis, or "" (default: the first axis) */
    char baseline[AMX_TEXT_MAX]; /* a value of the series axis, or "" (no paired statistics) */
    char baseline_point[AMX_TEXT_MAX]; /* report.baseline other than one series value (a point
                                          {axis: value}, a list, all-pairs) as lines (bind.c's
                                          bind_point says how); baseline then "" */
    size_t n_targets;                  /* time-to-target thresholds of the metric, in given order */
    double targets[AMX_MAX_TARGETS];
    enum amx_report_x x;      /* default epoch */
    char title[AMX_TEXT_MAX]; /* default: the name */
    bool log_y;               /* default false */
};

/* One fully resolved run. */
struct amx_run_config {
    char file[AMX_PATH_MAX]; /* the experiment file, for messages */
    char name[AMX_NAME_MAX]; /* [a-z0-9._-]+ */
    char description[AMX_TEXT_MAX];
    uint64_t seed; /* default 1 */
    int repeats;   /* default 1 */
    int repeat;    /* 0-based index of this run's repeat */
    struct amx_data_config data;
    struct amx_network_config network;
    struct amx_pretrain_config pretrain;
    struct amx_finetune_config finetune;
    struct amx_compute_config compute;
    struct amx_evaluation_config evaluation;
    struct amx_output_config output;
    struct amx_report_config report;
};

/* Binds a resolved tree (no `sweep` key: the sweep module removes it) to a
 * run config. Every problem found is added to errs (each AMX_ERR_CONFIG with
 * its location); returns AMX_OK only when there was none. Unknown keys get a
 * "did you mean" suggestion. */
enum amx_status amx_config_bind(const struct amx_node *root, struct amx_run_config *cfg,
                                struct amx_errlist *errs);

/* The resolved configuration as a node tree with every default written out,
 * in the order of docs/experiment-language.md (so `config.yaml` is complete). Binding
 * its output gives an equal config. NULL on out of memory. */
struct amx_node *amx_config_to_node(const struct amx_run_config *cfg);

/* How a key of the experiment language bears on a run's identity (the
 * schema table flags every row; sweep/canonical.c writes the identity rows
 * of a run into its canonical form, from which its id is hashed):
 * - IDENTITY: changes what a run computes, always in the form;
 * - IDENTITY_UNLESS_DEFAULT: the same, but written only when not at its
 *   default (keys added after runs were committed: those runs keep their ids);
 * - PROVENANCE: names or describes (name, description, repeats, what files a
 *   run writes besides its results);
 * - REPORT: how results are shown, never what they are. */
enum amx_key_class {
    AMX_KEY_IDENTITY,
    AMX_KEY_IDENTITY_UNLESS_DEFAULT,
    AMX_KEY_PROVENANCE,
    AMX_KEY_REPORT
};

/* The identity of cfg: one "key=value" line per identity row of the schema
 * that applies to cfg's task (in table order; the caller sorts), with
 * numbers as %.17g of the bound double (-0 as 0), enumerations by their one
 * spelling, strings quoted with \", \\ and \xHH escapes, rules by their
 * registry name and every parameter by name (a choice by its word). Calls
 * line(ctx, text) per line; false on out of memory. */
bool amx_config_identity(const struct amx_run_config *cfg,
                         void (*line)(void *ctx, const char *text), void *ctx);

/* The keys of the language, for the identity tests: key i's dotted path,
 * class and whether the rows of a task use it (task_mask bit 1 << task);
 * false past the last. Sections are not keys; finetune.rules is one. */
bool amx_config_key_at(size_t i, const char **path, enum amx_key_class *cls, unsigned *task_mask);

/* Whether a dotted path ("pretrain.momentum.final") names a key of the
 * experiment language, read from the same schema table binding reads a file
 * through, so --set and sweep axes accept exactly the keys a file may have.
 * `sweep` and anything below it, and anything below finetune.rules (parameter
 * groups and rule parameters, which binding checks against the rule), pass.
 * On false, msg says why, with a "did you mean" for a misspelt key. */
bool amx_config_path_check(const char *path, char *msg, size_t size);

/* "Did you mean": the candidate closest to word by edit distance, if close
 * enough to be a likely misspelling, else NULL. */
const char *amx_suggest(const char *word, const char *const *candidates, size_t n);

#endif
