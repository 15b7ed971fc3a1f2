/* The experiment language of DESIGN.md section 5 as data: one row per key,
 * with its type, range, default and offset in struct amx_run_config, in the
 * order config.yaml lists them. Also the word lists of the enums and their
 * name functions. No parsing here (bind.c) and no writing (to_node.c).
 *
 * Changing the language means changing a row here, then
 * docs/experiment-language.md. */
#include "schema.h"

#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#define OFF(member) offsetof(struct amx_run_config, member)
#define SIZE(member) sizeof(((struct amx_run_config *)0)->member)

const char *const amx_unit_words[] = {"logistic", "linear", "relu", "tanh", NULL};
const char *const amx_loss_words[] = {"cross_entropy", "squared_error", NULL};
const char *const amx_metric_words[] = {"test_error", "train_error", "validation_error", NULL};
const char *const amx_report_x_words[] = {"epoch", "seconds", NULL};
const char *const amx_clock_words[] = {"epoch", "step", NULL};

const char *amx_unit_name(enum amx_unit u)
{
    return (unsigned)u <= AMX_UNIT_TANH ? amx_unit_words[u] : "?";
}

const char *amx_loss_name(enum amx_loss l)
{
    return (unsigned)l <= AMX_LOSS_SQUARED_ERROR ? amx_loss_words[l] : "?";
}

const char *amx_metric_name(enum amx_metric m)
{
    return (unsigned)m <= AMX_METRIC_VALIDATION_ERROR ? amx_metric_words[m] : "?";
}

/* Integers: positive (sizes, epochs) or non-negative (counts where 0 means
 * "none" or "all"). */
#define POS_INT(n, member, d)                                                                      \
    {                                                                                              \
        .name = n, .type = KT_INT, .off = OFF(member), .lo = 1, .hi = INT_MAX, .def = d            \
    }
#define BATCH_SIZE(n, member, d)                                                                   \
    {                                                                                              \
        .name = n, .type = KT_INT, .off = OFF(member), .lo = 1, .hi = AMX_MAX_BATCH_SIZE, .def = d \
    }
#define NONNEG_INT(n, member, d)                                                                   \
    {                                                                                              \
        .name = n, .type = KT_INT, .off = OFF(member), .lo = 0, .hi = INT_MAX, .def = d            \
    }
#define NONNEG_LONG(n, member, d)                                                                  \
    {                                                                                              \
        .name = n, .type = KT_LONG, .off = OFF(member), .lo = 0, .hi = (double)LONG_MAX, .def = d  \
    }
#define REAL(n, member, l, h, r, d)                                                                \
    {                                                                                              \
        .name = n, .type = KT_DOUBLE, .off = OFF(member), .lo = l, .hi = h, .range = r, .def = d   \
    }
#define ENUM(n, member, w, d)                                                                      \
    {                                                                                              \
        .name = n, .type = KT_ENUM, .off = OFF(member), .words = w, .def = d                       \
    }
#define TEXT(n, member, d, o)                                                                      \
    {                                                                                              \
        .name = n, .type = KT_STRING, .off = OFF(member), .size = SIZE(member), .sdef = d,         \
        .opts = o                                                                                  \
    }
#define SECTION(n, s, o, a, e)                                                                     \
    {                                                                                              \
        .name = n, .type = KT_SECTION, .sub = &s, .opts = o, .aux = a, .example = e                \
    }

static const struct key data_keys[] = {
    TEXT("dir", data.dir, "data/mnist", KO_NONEMPTY),
    TEXT("train", data.train, "train-images-idx3-ubyte.gz", KO_NONEMPTY),
    TEXT("test", data.test, "t10k-images-idx3-ubyte.gz", KO_NONEMPTY),
    NONNEG_LONG("train_limit", data.train_limit, 0),
    NONNEG_LONG("test_limit", data.test_limit, 0),
    NONNEG_LONG("validation", data.validation, 0),
};
static const struct section data_section = {"data", data_keys,
                                            sizeof data_keys / sizeof *data_keys};

static const struct key network_keys[] = {
    {.name = "layers",
     .type = KT_LAYERS,
     .off = OFF(network),
     .lo = 1,
     .hi = AMX_MAX_LAYER_SIZE,
     .opts = KO_REQUIRED,
     .example = "layers: [784, 1000, 500, 250, 30]"},
    ENUM("hidden", network.hidden, amx_unit_words, AMX_UNIT_LOGISTIC),
    ENUM("code", network.code, amx_unit_words, AMX_UNIT_LINEAR),
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
    SECTION("momentum", momentum_section, 0, 0, NULL),
    REAL("weight_decay", pretrain.weight_decay, 0, HUGE_VAL, 0, 0.0002),
    REAL("init_std", pretrain.init_std, 0, HUGE_VAL, AMX_PARAM_LO_OPEN, 0.1),
};
static const struct section pretrain_section = {"pretrain", pretrain_keys,
                                                sizeof pretrain_keys / sizeof *pretrain_keys};

static const struct key finetune_keys[] = {
    POS_INT("epochs", finetune.epochs, 50),
    BATCH_SIZE("batch_size", finetune.batch_size, 100),
    ENUM("loss", finetune.loss, amx_loss_words, AMX_LOSS_CROSS_ENTROPY),
    {.name = "rules",
     .type = KT_RULES,
     .off = OFF(finetune),
     .opts = KO_REQUIRED,
     .example = "rules: {all: {rule: constant, eta0: 0.01}}"},
    REAL("divergence_limit", finetune.divergence_limit, 0, HUGE_VAL, AMX_PARAM_LO_OPEN, 1e6),
};
static const struct section finetune_section = {"finetune", finetune_keys,
                                                sizeof finetune_keys / sizeof *finetune_keys};

static const struct key evaluation_keys[] = {
    NONNEG_LONG("train_subset", evaluation.train_subset, 0),
};
static const struct section evaluation_section = {"evaluation", evaluation_keys,
                                                  sizeof evaluation_keys / sizeof *evaluation_keys};

static const struct key output_keys[] = {
    {.name = "weights", .type = KT_BOOL, .off = OFF(output.weights), .def = 0},
};
static const struct section output_section = {"output", output_keys,
                                              sizeof output_keys / sizeof *output_keys};

static const struct key report_keys[] = {
    ENUM("metric", report.metric, amx_metric_words, AMX_METRIC_TEST_ERROR),
    TEXT("series", report.series, "", 0),
    TEXT("baseline", report.baseline, "", 0),
    {.name = "targets", .type = KT_TARGETS, .off = OFF(report), .lo = 0, .hi = HUGE_VAL},
    ENUM("x", report.x, amx_report_x_words, AMX_X_EPOCH),
    TEXT("title", report.title, "", KO_DEFAULT_NAME),
    {.name = "log_y", .type = KT_BOOL, .off = OFF(report.log_y), .def = 0},
};
static const struct section report_section = {"report", report_keys,
                                              sizeof report_keys / sizeof *report_keys};

static const struct key top_keys[] = {
    {.name = "name",
     .type = KT_NAME,
     .off = OFF(name),
     .size = SIZE(name),
     .opts = KO_REQUIRED,
     .example = "name: my-experiment"},
    TEXT("description", description, "", 0),
    {.name = "seed", .type = KT_SEED, .off = OFF(seed), .def = 1},
    POS_INT("repeats", repeats, 1),
    /* which repeat a run is: set for each run by the sweep expansion and
     * written into its config.yaml; an experiment file leaves it out */
    NONNEG_INT("repeat", repeat, 0),
    SECTION("data", data_section, 0, 0, NULL),
    SECTION("network", network_section, KO_REQUIRED, 0,
            "network: {layers: [784, 1000, 500, 250, 30]}"),
    SECTION("pretrain", pretrain_section, KO_NONE, OFF(pretrain.enabled), NULL),
    SECTION("finetune", finetune_section, KO_REQUIRED, 0,
            "finetune: {rules: {all: {rule: constant, eta0: 0.01}}}"),
    SECTION("evaluation", evaluation_section, 0, 0, NULL),
    SECTION("output", output_section, 0, 0, NULL),
    SECTION("report", report_section, 0, 0, NULL),
};
const struct section amx_schema_top = {"", top_keys, sizeof top_keys / sizeof *top_keys};

void amx_format_double(double x, char *buf, size_t size)
{
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(buf, size, "%.*g", prec, x);
        if (strtod(buf, NULL) == x) return;
    }
}
