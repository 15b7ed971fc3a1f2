/* Private to src/run: the model interface. A model kind is one row of a
 * table (model.c), as a rule is one row of the optimiser's registry: how to
 * build the network from a run's configuration, how to start it from a
 * pretrained stack, what an evaluation measures (curve.csv's columns per
 * split), and which pictures a run draws. The step, the update of the
 * AMX_NN_SPLIT parts, the evaluation and the rate statistics are the same
 * for every kind (struct amx_model's functions below), so train.c tells the
 * story of a run without knowing which kind it trains. A new task is one
 * model_<task>.c with its row, and its network shape in src/nn/net.c. */
#ifndef ADAMIX_RUN_MODEL_H
#define ADAMIX_RUN_MODEL_H

#include "internal.h"

#include "adamix/optim.h"

struct amx_model;

/* What an evaluation of one split gives, in curve.csv column order after
 * the split's name ("test" + "_error", "test" + "_loss"). */
#define AMX_MODEL_MAX_METRICS 2

struct amx_model_kind {
    enum amx_task task;
    int n_metrics;
    const char *metric[AMX_MODEL_MAX_METRICS]; /* "error" first: the report's measure */
    /* The network of cfg, its shape only (parameters zero). classes: the
     * softmax width the data gave (0 for a kind without labels). */
    enum amx_status (*init)(struct amx_net *net, const struct amx_run_config *cfg, int classes,
                            struct amx_error *err);
    /* Whether RBM l of the pretrained stack (of n) has linear hidden units. */
    bool (*rbm_linear)(const struct amx_run_config *cfg, int l, int n);
    /* The initial weights from a pretrained stack of n RBMs; init: the
     * run's TOP_INIT stream, for any weights the stack does not give. */
    enum amx_status (*from_rbms)(struct amx_net *net, const struct amx_rbm *rbms, int n,
                                 const struct amx_run_config *cfg, struct amx_rng *init,
                                 struct amx_error *err);
    /* Pictures of the first repeat: `before` right after initialisation
     * (may keep what it needs in the model's picture state), `after` once
     * training ended, writing into the run folder. Either may be NULL. */
    enum amx_status (*pictures_before)(struct amx_model *m, const struct amx_run_data *d,
                                       struct amx_error *err);
    enum amx_status (*pictures_after)(struct amx_model *m, const struct amx_run_data *d,
                                      const char *run_dir, struct amx_error *err);
    void (*pictures_free)(struct amx_model *m);
};

/* The row of a task. */
const struct amx_model_kind *amx_model_kind_of(enum amx_task task);

/* A network with its optimisers: one per AMX_NN_SPLIT part, each updating
 * its part's slice of every tensor on the thread that computed those
 * gradients (nn/net.h: amx_net_tensor_part), all with the same groups. */
struct amx_model {
    const struct amx_model_kind *kind;
    struct amx_net net;
    struct amx_optimizer *opt[AMX_NN_SPLIT];
    struct amx_param_tensor *tensors;
    struct amx_param_tensor *all; /* every tensor whole (amx_net_tensors) */
    size_t n_all;
    enum amx_loss loss;
    void *pictures; /* the kind's picture state, or NULL */
};

/* Builds the network of cfg (threads, precision), initialises it from the
 * pretrained stack at cache_path (*cached_seconds: what it took when it was
 * computed) or at random, and makes the optimisers of cfg's rules. On
 * failure m is freed (amx_model_free is safe on it). */
enum amx_status amx_model_init(struct amx_model *m, const struct amx_run_config *cfg, int classes,
                               const char *cache_path, int threads, double *cached_seconds,
                               struct amx_error *err);
void amx_model_free(struct amx_model *m);
/* compute.precision, or why this backend and CPU cannot compute it (an
 * error naming the key, before any training): pretraining and fine-tuning
 * both check it. */
enum amx_status amx_model_check_precision(const struct amx_run_config *cfg, struct amx_error *err);
/* The RBMs of cfg's pretrained stack, allocated (amx_rbm_init), their
 * hidden units as the kind says; free with amx_model_free_rbms. */
enum amx_status amx_model_alloc_rbms(const struct amx_run_config *cfg, struct amx_rbm *rbms,
                                     struct amx_error *err);
void amx_model_free_rbms(struct amx_rbm *rbms, int n);
/* One mini-batch: x (B x s_0) and, for a classifier, its labels; forward,
 * loss, backward and the update of every part. Returns the mean batch loss
 * (not finite: the update was not made). */
double amx_model_step(struct amx_model *m, const float *x, const uint8_t *labels, int B);
/* Every part's rules at the start of an epoch (0-based). */
void amx_model_epoch_begin(struct amx_model *m, long epoch);
/* The kind's measures of n images (and their labels) into v[0 ..
 * kind->n_metrics). */
void amx_model_evaluate(struct amx_model *m, const float *x, const uint8_t *labels, size_t n,
                        double v[AMX_MODEL_MAX_METRICS]);
size_t amx_model_group_count(const struct amx_model *m);
const char *amx_model_group_name(const struct amx_model *m, size_t g);
/* The network's parameters, every tensor's in order: how many floats, a
 * copy into buf, and back from buf (the bf16 copies follow theta). */
size_t amx_model_param_floats(const struct amx_model *m);
void amx_model_params_save(const struct amx_model *m, float *buf);
void amx_model_params_load(struct amx_model *m, const float *buf);
/* Every part's rule state, momentum and update count: how many floats, a
 * copy into buf and step[], and back. */
size_t amx_model_state_floats(const struct amx_model *m);
void amx_model_state_save(const struct amx_model *m, float *buf, long step[AMX_NN_SPLIT]);
void amx_model_state_load(struct amx_model *m, const float *buf, const long step[AMX_NN_SPLIT]);
/* Group g's eta0 in every part from the next update on, and what it is. */
void amx_model_set_eta0(struct amx_model *m, size_t g, double eta0);
double amx_model_eta0(const struct amx_model *m, size_t g);
/* Group g's rate statistics since the epoch began, over every part (merged
 * in part order). */
struct amx_rate_stats amx_model_group_stats(const struct amx_model *m, size_t g);

/* The kinds' rows (model_autoencoder.c, model_classifier.c). */
extern const struct amx_model_kind amx_model_autoencoder;
extern const struct amx_model_kind amx_model_classifier;

#endif
