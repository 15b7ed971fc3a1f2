/* Learning-rate rules and parameter groups (docs/learning-rate-rules.md).
 *
 * A rule is one small unit: a table of its own parameters (name, default,
 * range) and one update function over a contiguous tensor. The registry in
 * src/optim/registry.c maps names to rules; adding a rule is one file plus one
 * registry line. src/config validates a rule's parameters from this same
 * table, so the YAML language grows with the registry.
 *
 * Every rule also has the common parameters eta0, momentum (default 0) and
 * per (epoch | step): those live in struct amx_rule_spec, not in the table.
 *
 * Worked example (what the run module does):
 *
 *   struct amx_param_tensor t[] = {{"layer1.weights", 1, false, "encoder", W1, dW1, 784 * 1000,
 * NULL},
 * ...}; struct amx_optimizer *opt; amx_optimizer_init(&opt, t, nt, bindings, nb, &err);   //
 * resolves selectors for each epoch: amx_optimizer_epoch_begin(opt, epoch); for each batch:
 * backprop fills the grad arrays; amx_optimizer_step(opt); amx_optimizer_group_stats(opt, i); //
 * rate_mean/min/max of group i
 *
 * Nothing here does I/O or knows about YAML. */
#ifndef ADAMIX_OPTIM_H
#define ADAMIX_OPTIM_H

#include "adamix/error.h"
#include "adamix/tensor.h"
#include "adamix/vocab.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AMX_RULE_MAX_PARAMS 8
#define AMX_MAX_RULE_BINDINGS 32

enum amx_clock { AMX_CLOCK_EPOCH, AMX_CLOCK_STEP };

enum amx_param_flags {
    AMX_PARAM_LO_OPEN = 1, /* value must be > lo (else >= lo) */
    AMX_PARAM_HI_OPEN = 2, /* value must be < hi (else <= hi) */
    AMX_PARAM_INTEGER = 4  /* value must be a whole number */
};

struct amx_rule_param_def {
    const char *name;
    double def;
    double lo, hi; /* range; use -HUGE_VAL / HUGE_VAL for none */
    unsigned flags;
    const char *const *choices; /* NULL-terminated words for an enumerated
                                   parameter (stored as the index), else NULL */
    const char *help;           /* one line for docs and errors */
};

struct amx_rule;

/* The plateau modifier of a rule (PyTorch's ReduceLROnPlateau): eta0 is
 * multiplied by factor once the validation error has not improved for more
 * than patience epochs. Its parameters are a table like a rule's
 * (amx_plateau_params, in the order of enum amx_plateau_param). */
enum amx_plateau_param {
    AMX_PLATEAU_MODE,           /* min: the validation error is minimised (the only choice) */
    AMX_PLATEAU_FACTOR,         /* in (0, 1) */
    AMX_PLATEAU_PATIENCE,       /* epochs without improvement tolerated */
    AMX_PLATEAU_THRESHOLD,      /* what counts as an improvement */
    AMX_PLATEAU_THRESHOLD_MODE, /* 0: rel, 1: abs */
    AMX_PLATEAU_COOLDOWN,       /* epochs after a reduction before counting again */
    AMX_PLATEAU_MIN_LR,         /* eta0 never falls below it */
    AMX_PLATEAU_EPS,            /* a reduction by less than eps is skipped */
    AMX_PLATEAU_N_PARAMS
};

struct amx_plateau {
    bool on;                        /* the rule entry has `plateau:` */
    double p[AMX_PLATEAU_N_PARAMS]; /* defaults filled */
    int line, col;                  /* of `plateau:` in the experiment file */
};

/* Where ReduceLROnPlateau stands after some epochs. */
struct amx_plateau_state {
    double eta;      /* the eta0 of the next epoch */
    double best;     /* the best validation error so far (+inf at first) */
    long bad_epochs; /* epochs since the last improvement */
    long cooldown;   /* epochs of cooldown left */
};

extern const struct amx_rule_param_def amx_plateau_params[AMX_PLATEAU_N_PARAMS];
/* Every default (on stays false). */
void amx_plateau_defaults(struct amx_plateau *pl);
/* The state before the first epoch, whose eta0 is eta0. */
void amx_plateau_start(struct amx_plateau_state *s, double eta0);
/* One epoch ended with validation error `metric` (PyTorch's step(metric));
 * returns the eta0 of the next epoch (also s->eta). */
double amx_plateau_step(const struct amx_plateau *pl, struct amx_plateau_state *s, double metric);

/* Kaldi's newbob schedule (steps/nnet/train_scheduler.sh) as a decision
 * after each epoch (iter, 1-based) from the validation loss: keep or reject
 * the epoch's weights, halve the rate, stop. */
struct amx_newbob {
    double start_halving_impr; /* halving starts once the relative improvement is below it */
    double end_halving_impr;   /* halving on and the improvement below it: stop */
    int min_iters;             /* no rejection and no stop up to this iter */
    int keep_lr_iters;         /* no rejection and no halving up to this iter */
};

struct amx_newbob_state {
    double loss;  /* the validation loss of the last kept weights */
    bool halving; /* halving is on */
};

struct amx_newbob_decision {
    bool keep;  /* the epoch's weights are kept (else restored to the last kept) */
    bool halve; /* the next epoch's rate is multiplied by the halving factor */
    bool stop;  /* training ends */
};

void amx_newbob_start(struct amx_newbob_state *s, double initial_loss);
struct amx_newbob_decision amx_newbob_after(const struct amx_newbob *nb, struct amx_newbob_state *s,
                                            int iter, double loss_new);

/* A configured rule: what config produces and optim consumes. */
struct amx_rule_spec {
    const struct amx_rule *rule;
    double eta0;
    double momentum;               /* mu in v <- mu*v - eta*g; theta <- theta + v */
    enum amx_clock per;            /* what t counts */
    double p[AMX_RULE_MAX_PARAMS]; /* rule->params[i] value, defaults filled */
    struct amx_plateau plateau;    /* off unless the entry has `plateau:` */
};

/* Effective rates of one group over one epoch (every parameter, every update). */
struct amx_rate_stats {
    double sum;   /* sum of rates */
    double count; /* number of (parameter, update) pairs */
    double min, max;
};

/* Everything an update may need besides the tensor. */
struct amx_rule_ctx {
    const struct amx_rule_spec *spec;
    double t;           /* epoch index from 0, or update index from 0 with per: step */
    long epoch;         /* epoch index from 0 */
    long step;          /* update index from 0 over the whole fine-tuning */
    long step_in_epoch; /* update index from 0 within this epoch */
    uint16_t *theta16;  /* the tensor's bf16 copies, or NULL (amx_param_tensor) */
};

struct amx_rule {
    const char *name;
    const char *alias;   /* or NULL */
    const char *summary; /* the formula in one line */
    const struct amx_rule_param_def *params;
    int n_params;
    int state_floats; /* per parameter, besides the momentum velocity: the most */
    /* The state arrays this spec needs, at most state_floats (NULL: always
     * state_floats): a rule whose parameters leave its state unread gets
     * none (state is then NULL in update and epoch_begin). */
    int (*state_floats_for)(const struct amx_rule_spec *spec);
    bool uses_clock; /* the rate depends on t (so `per` matters) */
    /* Applies one update to theta[0..n) given g[0..n). state has
     * n*state_floats floats (zeroed at init, laid out as state_floats arrays of
     * n floats, i.e. state + k*n is the k-th array); velocity has n floats or is NULL when
     * momentum is 0. Adds every effective rate to stats. When ctx->theta16
     * is set, writes theta16[i] = amx_bf16_bits(theta[i]) for every i in the
     * same pass (adamix/bf16.h). Allocates nothing. */
    void (*update)(const struct amx_rule_ctx *ctx, float *theta, const float *g, float *state,
                   float *velocity, size_t n, struct amx_rate_stats *stats);
    /* Called at the start of every epoch (may be NULL), e.g. to reset a window. */
    void (*epoch_begin)(const struct amx_rule_spec *spec, float *state, size_t n);
};

/* The registry. */
const struct amx_rule *amx_rule_find(const char *name); /* name or alias; NULL if none */
size_t amx_rule_count(void);
const struct amx_rule *amx_rule_at(size_t i);
/* Index of a rule parameter by name, or -1. */
int amx_rule_param_index(const struct amx_rule *rule, const char *name);
/* A spec with every default filled in. */
void amx_rule_spec_defaults(struct amx_rule_spec *spec, const struct amx_rule *rule);

/* One `finetune.rules` entry: selector -> configured rule. line/col locate
 * the entry in the experiment file for coverage errors. */
struct amx_rule_binding {
    char selector[AMX_SELECTOR_MAX]; /* all, weights, biases, encoder[.weights|.biases],
                                        decoder[...], softmax[...], layerN[.weights|.biases] */
    struct amx_rule_spec spec;
    int line, col;
};

/* Whether a selector is well-formed (layer numbers are checked at resolution). */
bool amx_selector_valid(const char *selector);

/* Checks that bindings cover each of the tensors exactly once (most specific
 * selector wins: layerN.* over a part's (encoder.*, decoder.*, softmax.*) over weights/biases over
 * all; a kind-qualified selector over the bare one at the same level). On
 * failure, an AMX_ERR_CONFIG message naming the uncovered or doubly covered
 * tensors, or the selector that matches nothing, located at (file, line, col).
 * assign[i] receives the binding index of tensor i. */
enum amx_status amx_groups_resolve(const struct amx_param_tensor *tensors, size_t n_tensors,
                                   const struct amx_rule_binding *bindings, size_t n_bindings,
                                   int *assign, const char *file, int line, int col,
                                   struct amx_error *err);

/* Same check, from the shape alone: the network of a task built from
 * n_layers layer sizes (net.h: an autoencoder's 2*(n_layers-1) layers, an
 * encoder and a decoder; a classifier's n_layers, the last its softmax
 * layer), each with weights and biases. */
enum amx_status amx_groups_check_layers(enum amx_task task, int n_layers,
                                        const struct amx_rule_binding *bindings, size_t n_bindings,
                                        const char *file, int line, int col, struct amx_error *err);

struct amx_optimizer;

/* Resolves the groups and allocates all rule state in one slab. Groups are the
 * bindings (one rate-stats entry per binding, named by its selector). */
enum amx_status amx_optimizer_init(struct amx_optimizer **out,
                                   const struct amx_param_tensor *tensors, size_t n_tensors,
                                   const struct amx_rule_binding *bindings, size_t n_bindings,
                                   struct amx_error *err);
void amx_optimizer_free(struct amx_optimizer *opt);
void amx_optimizer_epoch_begin(struct amx_optimizer *opt, long epoch);
/* One update of every tensor from its grad array. Allocates nothing. */
void amx_optimizer_step(struct amx_optimizer *opt);
size_t amx_optimizer_group_count(const struct amx_optimizer *opt);
/* Floats of rule state and momentum velocity the optimizer holds (each
 * tensor's rounded up to 16). */
size_t amx_optimizer_state_floats(const struct amx_optimizer *opt);
const char *amx_optimizer_group_name(const struct amx_optimizer *opt, size_t i);
/* The rule state and momentum of every tensor (amx_optimizer_state_floats
 * floats) and the update count: a copy into buf (and *step), and back (a
 * rejected epoch restores them bit for bit). */
void amx_optimizer_state_save(const struct amx_optimizer *opt, float *buf, long *step);
void amx_optimizer_state_load(struct amx_optimizer *opt, const float *buf, long step);
/* Group i's eta0 from the next update on (a validation-driven control:
 * the rule reads spec->eta0 in every update, so nothing else changes). */
void amx_optimizer_set_eta0(struct amx_optimizer *opt, size_t i, double eta0);
double amx_optimizer_eta0(const struct amx_optimizer *opt, size_t i);
/* Rate statistics of group i since the last epoch_begin. */
struct amx_rate_stats amx_optimizer_group_stats(const struct amx_optimizer *opt, size_t i);

#endif
