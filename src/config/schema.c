/* The experiment language (docs/experiment-language.md) as data: one row
 * per key, with its type, range, default, offset in struct amx_run_config
 * and the sizeof of that member, how it bears on a run's identity (config.h:
 * enum amx_key_class) and the tasks whose runs have it, in the order
 * config.yaml lists them; and the check that each row's type writes exactly
 * its member's width. Also the word lists
 * of the enums and their name functions. No parsing here (bind.c), no
 * writing (to_node.c), no path lookup (paths.c).
 *
 * Changing the language means changing a row here, then
 * docs/experiment-language.md. */
#include "schema.h"

#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define OFF(member) offsetof(struct amx_run_config, member)
#define SIZE(member) sizeof(((struct amx_run_config *)0)->member)

const char *const amx_unit_words[] = {"logistic", "linear", "relu", "tanh", "softmax", NULL};
const char *const amx_task_words[] = {"autoencoder", "classifier", NULL};
const char *const amx_loss_words[] = {"cross_entropy", "squared_error", NULL};
const char *const amx_metric_words[] = {"test_error", "train_error", "validation_error", NULL};
const char *const amx_report_x_words[] = {"epoch", "seconds", NULL};
const char *const amx_clock_words[] = {"epoch", "step", NULL};
const char *const amx_precision_words[] = {"fp32", "bf16", NULL};

const char *amx_unit_name(enum amx_unit u)
{
    return (unsigned)u <= AMX_UNIT_SOFTMAX ? amx_unit_words[u] : "?";
}

const char *amx_loss_name(enum amx_loss l)
{
    return (unsigned)l <= AMX_LOSS_SQUARED_ERROR ? amx_loss_words[l] : "?";
}

const char *amx_metric_name(enum amx_metric m)
{
    return (unsigned)m <= AMX_METRIC_VALIDATION_ERROR ? amx_metric_words[m] : "?";
}

const char *amx_task_name(enum amx_task t)
{
    return (unsigned)t <= AMX_TASK_CLASSIFIER ? amx_task_words[t] : "?";
}

const char *amx_precision_name(enum amx_precision p)
{
    return (unsigned)p <= AMX_PRECISION_BF16 ? amx_precision_words[p] : "?";
}

/* Every row records the sizeof of its member (SIZE), which amx_schema_check
 * compares with the width its type writes.
 *
 * Integers: positive (sizes, epochs) or non-negative (counts where 0 means
 * "none" or "all"). */
#define POS_INT(n, member, d)                                                                      \
    {                                                                                              \
        .name = n, .type = KT_INT, .off = OFF(member), .size = SIZE(member), .lo = 1,              \
        .hi = INT_MAX, .def = d                                                                    \
    }
#define BATCH_SIZE(n, member, d)                                                                   \
    {                                                                                              \
        .name = n, .type = KT_INT, .off = OFF(member), .size = SIZE(member), .lo = 1,              \
        .hi = AMX_MAX_BATCH_SIZE, .def = d                                                         \
    }
#define NONNEG_INT(n, member, d)                                                                   \
    {                                                                                              \
        .name = n, .type = KT_INT, .off = OFF(member), .size = SIZE(member), .lo = 0,              \
        .hi = INT_MAX, .def = d                                                                    \
    }
#define NONNEG_LONG(n, member, d)                                                                  \
    {                                                                                              \
        .name = n, .type = KT_LONG, .off = OFF(member), .size = SIZE(member), .lo = 0,             \
        .hi = (double)LONG_MAX, .def = d                                                           \
    }
#define REAL(n, member, l, h, r, d)                                                                \
    {                                                                                              \
        .name = n, .type = KT_DOUBLE, .off = OFF(member), .size = SIZE(member), .lo = l, .hi = h,  \
        .range = r, .def = d                                                                       \
    }
#define ENUM(n, member, w, d)                                                                      \
    {                                                                                              \
        .name = n, .type = KT_ENUM, .off = OFF(member), .size = SIZE(member), .words = w, .def = d \
    }
#define TEXT(n, member, d, o)                                                                      \
    {                                                                                              \
        .name = n, .type = KT_STRING, .off = OFF(member), .size = SIZE(member), .sdef = d,         \
        .opts = o                                                                                  \
    }
#define SECTION(n, s, o, e)                                                                        \
    {                                                                                              \
        .name = n, .type = KT_SECTION, .sub = &s, .opts = o, .example = e                          \
    }
/* A section that may also be the word `none`, which clears the bool flag. */
#define SECTION_OR_NONE(n, s, flag)                                                                \
    {                                                                                              \
        .name = n, .type = KT_SECTION, .sub = &s, .opts = KO_NONE, .aux = OFF(flag),               \
        .size = SIZE(flag)                                                                         \
    }

/* A row's identity class and tasks, written into a row in full:
 * NEW for a key added after runs were committed (in the id only when not
 * at its default), PROV and RPT for keys outside the id, CLS_ONLY and AE_ONLY
 * for a key of one task's runs. A row without them is IDENTITY, all tasks. */
#define CLS_ONLY .tasks = TASK_BIT(AMX_TASK_CLASSIFIER)
#define AE_ONLY .tasks = TASK_BIT(AMX_TASK_AUTOENCODER)
#define NEW .id = AMX_KEY_IDENTITY_UNLESS_DEFAULT
#define PROV .id = AMX_KEY_PROVENANCE
#define RPT .id = AMX_KEY_REPORT

static const struct key data_keys[] = {
    TEXT("dir", data.dir, "data/mnist", KO_NONEMPTY),
    TEXT("train", data.train, "train-images-idx3-ubyte.gz", KO_NONEMPTY),
    TEXT("test", data.test, "t10k-images-idx3-ubyte.gz", KO_NONEMPTY),
    {.name = "train_labels",
     .type = KT_STRING,
     .off = OFF(data.train_labels),
     .size = SIZE(data.train_labels),
     .sdef = "train-labels-idx1-ubyte.gz",
     .opts = KO_NONEMPTY,
     CLS_ONLY},
    {.name = "test_labels",
     .type = KT_STRING,
     .off = OFF(data.test_labels),
     .size = SIZE(data.test_labels),
     .sdef = "t10k-labels-idx1-ubyte.gz",
     .opts = KO_NONEMPTY,
     CLS_ONLY},
    NONNEG_LONG("train_limit", data.train_limit, 0),
    NONNEG_LONG("test_limit", data.test_limit, 0),
    NONNEG_LONG("validation", data.validation, 0),
    {.name = "transpose",
     .type = KT_BOOL,
     .off = OFF(data.transpose),
     .size = SIZE(data.transpose),
     .def = 0,
     NEW},
    {.name = "label_offset",
     .type = KT_INT,
     .off = OFF(data.label_offset),
     .size = SIZE(data.label_offset),
     .lo = 0,
     .hi = 255,
     .def = 0,
     NEW,
     CLS_ONLY},
};
static const struct section data_section = {"data", data_keys,
                                            sizeof data_keys / sizeof *data_keys};

static const struct key network_keys[] = {
    {.name = "layers",
     .type = KT_LAYERS,
     .off = OFF(network),
     .size = SIZE(network),
     .lo = 1,
     .hi = AMX_MAX_LAYER_SIZE,
     .opts = KO_REQUIRED,
     .example = "layers: [784, 1000, 500, 250, 30]"},
    {.name = "task",
     .type = KT_ENUM,
     .off = OFF(network.task),
     .size = SIZE(network.task),
     .words = amx_task_words,
     .def = AMX_TASK_AUTOENCODER,
     NEW},
    {.name = "classes",
     .type = KT_INT,
     .off = OFF(network.classes),
     .size = SIZE(network.classes),
     .lo = 0,
     .hi = 256,
     .def = 0,
     NEW,
     CLS_ONLY},
    ENUM("hidden", network.hidden, amx_unit_words, AMX_UNIT_LOGISTIC),
    {.name = "code",
     .type = KT_ENUM,
     .off = OFF(network.code),
     .size = SIZE(network.code),
     .words = amx_unit_words,
     .def = AMX_UNIT_LINEAR,
     AE_ONLY},
    ENUM("output", network.output, amx_unit_words, AMX_UNIT_LOGISTIC),
};
static const struct section network_section = {"network", network_keys,
                                               sizeof network_keys / sizeof *network_keys};

static const struct key momentum_keys[] = {
    REAL("initial", pretrain.momentum_initial, 0, 1, AMX_PARAM_HI_OPEN, 0.5),
    REAL("final", pretrain.momentum_final, 0, 1, AMX_PARAM_HI_OPEN, 0.9),
    NONNEG_INT("switch_epoch", pretrain.momentum_switch_epoch, 5),
};
static const struct section momentum_section = {"pretrain.momentum", momentum_keys,
                                                sizeof momentum_keys / sizeof *momentum_keys};

static const struct key pretrain_keys[] = {
    POS_INT("epochs", pretrain.epochs, 50),
    BATCH_SIZE("batch_size", pretrain.batch_size, 100),
    POS_INT("cd_k", pretrain.cd_k, 1),
    REAL("learning_rate", pretrain.learning_rate, 0, HUGE_VAL, 0, 0.1),
    REAL("code_learning_rate", pretrain.code_learning_rate, 0, HUGE_VAL, 0, 0.001),
    SECTION("momentum", momentum_section, 0, NULL),
    REAL("weight_decay", pretrain.weight_decay, 0, HUGE_VAL, 0, 0.0002),
    REAL("init_std", pretrain.init_std, 0, HUGE_VAL, AMX_PARAM_LO_OPEN, 0.1),
};
static const struct section pretrain_section = {"pretrain", pretrain_keys,
                                                sizeof pretrain_keys / sizeof *pretrain_keys};

static const struct key early_stop_keys[] = {
    {.name = "patience",
     .type = KT_INT,
     .off = OFF(finetune.early_stop.patience),
     .size = SIZE(finetune.early_stop.patience),
     .lo = 0,
     .hi = INT_MAX,
     .def = 0,
     NEW},
    {.name = "min_delta",
     .type = KT_DOUBLE,
     .off = OFF(finetune.early_stop.min_delta),
     .size = SIZE(finetune.early_stop.min_delta),
     .lo = 0,
     .hi = HUGE_VAL,
     .def = 0,
     NEW},
    {.name = "start_epoch",
     .type = KT_INT,
     .off = OFF(finetune.early_stop.start_epoch),
     .size = SIZE(finetune.early_stop.start_epoch),
     .lo = 0,
     .hi = INT_MAX,
     .def = 0,
     NEW},
    {.name = "restore_best",
     .type = KT_BOOL,
     .off = OFF(finetune.early_stop.restore_best),
     .size = SIZE(finetune.early_stop.restore_best),
     .def = 0,
     NEW},
};
static const struct section early_stop_section = {"finetune.early_stop", early_stop_keys,
                                                  sizeof early_stop_keys / sizeof *early_stop_keys};

#define NEWBOB_REAL(n, member, d, r)                                                               \
    {                                                                                              \
        .name = n, .type = KT_DOUBLE, .off = OFF(finetune.newbob.member),                          \
        .size = SIZE(finetune.newbob.member), .lo = 0, .hi = HUGE_VAL, .range = r, .def = d, NEW   \
    }
#define NEWBOB_INT(n, member)                                                                      \
    {                                                                                              \
        .name = n, .type = KT_INT, .off = OFF(finetune.newbob.member),                             \
        .size = SIZE(finetune.newbob.member), .lo = 0, .hi = INT_MAX, .def = 0, NEW                \
    }
static const struct key newbob_keys[] = {
    NEWBOB_REAL("start_halving_impr", start_halving_impr, 0.01, 0),
    NEWBOB_REAL("end_halving_impr", end_halving_impr, 0.001, 0),
    {.name = "halving_factor",
     .type = KT_DOUBLE,
     .off = OFF(finetune.newbob.halving_factor),
     .size = SIZE(finetune.newbob.halving_factor),
     .lo = 0,
     .hi = 1,
     .range = AMX_PARAM_LO_OPEN | AMX_PARAM_HI_OPEN,
     .def = 0.5,
     NEW},
    NEWBOB_INT("min_iters", min_iters),
    NEWBOB_INT("keep_lr_iters", keep_lr_iters),
};
static const struct section newbob_section = {"finetune.newbob", newbob_keys,
                                              sizeof newbob_keys / sizeof *newbob_keys};

static const struct key finetune_keys[] = {
    POS_INT("epochs", finetune.epochs, 50),
    BATCH_SIZE("batch_size", finetune.batch_size, 100),
    ENUM("loss", finetune.loss, amx_loss_words, AMX_LOSS_CROSS_ENTROPY),
    {.name = "rules",
     .type = KT_RULES,
     .off = OFF(finetune),
     .size = SIZE(finetune),
     .opts = KO_REQUIRED,
     .example = "rules: {all: {rule: constant, eta0: 0.01}}"},
    REAL("divergence_limit", finetune.divergence_limit, 0, HUGE_VAL, AMX_PARAM_LO_OPEN, 1e6),
    /* absent (none) unless given, and then out of the id and config.yaml */
    {.name = "early_stop",
     .type = KT_SECTION,
     .sub = &early_stop_section,
     .opts = KO_NONE | KO_OFF,
     .aux = OFF(finetune.early_stop.enabled),
     .size = SIZE(finetune.early_stop.enabled),
     NEW},
    {.name = "newbob",
     .type = KT_SECTION,
     .sub = &newbob_section,
     .opts = KO_NONE | KO_OFF,
     .aux = OFF(finetune.newbob.enabled),
     .size = SIZE(finetune.newbob.enabled),
     NEW},
};
static const struct section finetune_section = {"finetune", finetune_keys,
                                                sizeof finetune_keys / sizeof *finetune_keys};

static const struct key compute_keys[] = {
    {.name = "precision",
     .type = KT_ENUM,
     .off = OFF(compute.precision),
     .size = SIZE(compute.precision),
     .words = amx_precision_words,
     .def = AMX_PRECISION_FP32,
     NEW},
};
static const struct section compute_section = {"compute", compute_keys,
                                               sizeof compute_keys / sizeof *compute_keys};

static const struct key evaluation_keys[] = {
    {.name = "train_subset",
     .type = KT_LONG,
     .off = OFF(evaluation.train_subset),
     .size = SIZE(evaluation.train_subset),
     .lo = 0,
     .hi = (double)LONG_MAX,
     .def = 0,
     NEW},
    {.name = "test",
     .type = KT_BOOL,
     .off = OFF(evaluation.test),
     .size = SIZE(evaluation.test),
     .def = 1,
     NEW},
};
static const struct section evaluation_section = {"evaluation", evaluation_keys,
                                                  sizeof evaluation_keys / sizeof *evaluation_keys};

static const struct key output_keys[] = {
    {.name = "weights",
     .type = KT_BOOL,
     .off = OFF(output.weights),
     .size = SIZE(output.weights),
     .def = 0,
     PROV},
};
static const struct section output_section = {"output", output_keys,
                                              sizeof output_keys / sizeof *output_keys};

static const struct key report_keys[] = {
    {.name = "metric",
     .type = KT_ENUM,
     .off = OFF(report.metric),
     .size = SIZE(report.metric),
     .words = amx_metric_words,
     .def = AMX_METRIC_TEST_ERROR,
     .opts = KO_COLUMN,
     .aux = OFF(report.column),
     RPT},
    {.name = "series",
     .type = KT_STRING,
     .off = OFF(report.series),
     .size = SIZE(report.series),
     .sdef = "",
     RPT},
    {.name = "baseline",
     .type = KT_STRING,
     .off = OFF(report.baseline),
     .size = SIZE(report.baseline),
     .sdef = "",
     .opts = KO_POINT,
     .aux = OFF(report.baseline_point),
     RPT},
    {.name = "targets",
     .type = KT_TARGETS,
     .off = OFF(report),
     .size = SIZE(report),
     .lo = 0,
     .hi = HUGE_VAL,
     RPT},
    {.name = "x",
     .type = KT_ENUM,
     .off = OFF(report.x),
     .size = SIZE(report.x),
     .words = amx_report_x_words,
     .def = AMX_X_EPOCH,
     RPT},
    {.name = "title",
     .type = KT_STRING,
     .off = OFF(report.title),
     .size = SIZE(report.title),
     .sdef = "",
     .opts = KO_DEFAULT_NAME,
     RPT},
    {.name = "log_y",
     .type = KT_BOOL,
     .off = OFF(report.log_y),
     .size = SIZE(report.log_y),
     .def = 0,
     RPT},
};
static const struct section report_section = {"report", report_keys,
                                              sizeof report_keys / sizeof *report_keys};

static const struct key top_keys[] = {
    {.name = "name",
     .type = KT_NAME,
     .off = OFF(name),
     .size = SIZE(name),
     .opts = KO_REQUIRED,
     .example = "name: my-experiment",
     PROV},
    {.name = "description",
     .type = KT_STRING,
     .off = OFF(description),
     .size = SIZE(description),
     .sdef = "",
     PROV},
    {.name = "seed", .type = KT_SEED, .off = OFF(seed), .size = SIZE(seed), .def = 1},
    {.name = "repeats",
     .type = KT_INT,
     .off = OFF(repeats),
     .size = SIZE(repeats),
     .lo = 1,
     .hi = INT_MAX,
     .def = 1,
     PROV},
    /* which repeat a run is: set for each run by the sweep expansion and
     * written into its config.yaml; an experiment file leaves it out */
    NONNEG_INT("repeat", repeat, 0),
    SECTION("data", data_section, 0, NULL),
    SECTION("network", network_section, KO_REQUIRED,
            "network: {layers: [784, 1000, 500, 250, 30]}"),
    SECTION_OR_NONE("pretrain", pretrain_section, pretrain.enabled),
    SECTION("finetune", finetune_section, KO_REQUIRED,
            "finetune: {rules: {all: {rule: constant, eta0: 0.01}}}"),
    SECTION("compute", compute_section, 0, NULL),
    SECTION("evaluation", evaluation_section, 0, NULL),
    SECTION("output", output_section, 0, NULL),
    SECTION("report", report_section, 0, NULL),
};
const struct section amx_schema_top = {"", top_keys, sizeof top_keys / sizeof *top_keys};

void amx_format_double(double x, char *buf, size_t size)
{
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(buf, size, "%.*g", prec, x);
        if (strtod(buf, NULL) == x) return;
    }
}

size_t amx_schema_width(const struct key *k)
{
    switch (k->type) {
    case KT_SECTION:
        return k->opts & KO_NONE ? sizeof(bool) : 0;
    case KT_STRING:
    case KT_NAME:
        return 0;
    case KT_SEED:
        return sizeof(uint64_t);
    case KT_INT:
    case KT_ENUM: /* stored through an int pointer (bind.c asserts enums are int-sized) */
        return sizeof(int);
    case KT_LONG:
        return sizeof(long);
    case KT_DOUBLE:
        return sizeof(double);
    case KT_BOOL:
        return sizeof(bool);
    case KT_LAYERS:
        return sizeof(struct amx_network_config);
    case KT_RULES:
        return sizeof(struct amx_finetune_config);
    case KT_TARGETS:
        return sizeof(struct amx_report_config);
    }
    return 0;
}

bool amx_schema_check(const struct section *sec, char *msg, size_t size)
{
    for (size_t i = 0; i < sec->n; i++) {
        const struct key *k = &sec->keys[i];
        const char *dot = sec->path[0] ? "." : "";
        size_t want = amx_schema_width(k);
        size_t at = k->opts & KO_NONE ? k->aux : k->off;
        if ((k->type == KT_STRING || k->type == KT_NAME) && k->size < 2) {
            snprintf(msg, size, "%s%s%s: a text key whose char array holds %zu bytes", sec->path,
                     dot, k->name, k->size);
            return false;
        }
        if (want != 0 && k->size != want) {
            snprintf(msg, size,
                     "%s%s%s: its type writes %zu bytes, but its member has %zu (sizeof recorded "
                     "in the row)",
                     sec->path, dot, k->name, want, k->size);
            return false;
        }
        if (k->type == KT_SECTION && !(k->opts & KO_NONE) && k->size != 0) {
            snprintf(msg, size, "%s%s%s: a section names no member, but has size %zu", sec->path,
                     dot, k->name, k->size);
            return false;
        }
        if (at > sizeof(struct amx_run_config) || k->size > sizeof(struct amx_run_config) - at) {
            snprintf(msg, size,
                     "%s%s%s: bytes %zu..%zu lie outside struct amx_run_config (%zu bytes)",
                     sec->path, dot, k->name, at, at + k->size, sizeof(struct amx_run_config));
            return false;
        }
        if (k->type == KT_ENUM && !k->words) {
            snprintf(msg, size, "%s%s%s: an enum key without its words", sec->path, dot, k->name);
            return false;
        }
        if (k->type == KT_SECTION && !k->sub) {
            snprintf(msg, size, "%s%s%s: a section without its keys", sec->path, dot, k->name);
            return false;
        }
        if (k->type == KT_SECTION && !amx_schema_check(k->sub, msg, size)) return false;
    }
    return true;
}
