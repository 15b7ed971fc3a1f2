/* The networks that are fine-tuned: a stack of dense layers over one
 * parameter slab, trained a mini-batch at a time on (inputs, targets).
 *
 * Two shapes are built from an experiment's layer sizes s_0..s_{L-1}:
 * - an autoencoder (amx_autoencoder_init): 2(L-1) layers, the encoder
 *   s_0 -> ... -> s_{L-1} and its mirror back to s_0; its targets are its
 *   inputs (logistic or other output units, cross-entropy or squared error);
 * - a classifier (amx_classifier_init): L-1 hidden layers s_0 -> ... ->
 *   s_{L-1} and a softmax layer of `classes` units on top; its targets are
 *   labels (softmax cross-entropy, softmax.c).
 * The output layer's unit says which: AMX_UNIT_SOFTMAX takes labels, every
 * other unit target values. Everything else (the step, its split into the
 * AMX_NN_SPLIT parts of kernels.h, threads, bf16 copies, tensors) is one
 * code path (src/nn/net.c).
 *
 *   struct amx_net net;
 *   amx_classifier_init(&net, sizes, L, AMX_UNIT_LOGISTIC, 10, 100, &err);
 *   amx_classifier_from_rbms(&net, rbms, L - 1, 0.1, &init, &err);  // or amx_net_init_random
 *   nt = amx_net_tensors(&net, tensors);                // for amx_optimizer_init
 *   struct amx_target t = {.labels = y};
 *   per batch: amx_net_train_step(&net, x, &t, B, AMX_LOSS_CROSS_ENTROPY); update;
 *   per epoch: amx_net_evaluate(&net, test_x, test_y, n_test, &metrics);
 *
 * Stream use: amx_net_init_random draws the weights of layers 1, 2, ... in
 * order, each W row-major (biases start at 0 and draw nothing);
 * amx_classifier_from_rbms draws only the softmax layer's W, row-major. */
#ifndef ADAMIX_NET_H
#define ADAMIX_NET_H

#include "adamix/blas.h"
#include "adamix/error.h"
#include "adamix/kernels.h"
#include "adamix/rbm.h"
#include "adamix/rng.h"
#include "adamix/tensor.h"
#include "adamix/vocab.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AMX_NN_MAX_DENSE (2 * (AMX_MAX_LAYERS - 1))

/* One dense layer Y = f(X W + b), a view into the network's slabs. */
struct amx_dense {
    int in, out;
    enum amx_unit unit;
    float *W, *b;   /* in x out, out: in the parameter slab */
    float *dW, *db; /* same shapes, same offsets in the gradient slab */
    float *Y;       /* max_batch x out: this layer's output, kept for backward */
};

/* What a step learns from: an autoencoder's target values (B x the output
 * width; its own input), or a classifier's labels (B class indices in
 * [0, classes)). The output layer's unit says which one is read. */
struct amx_target {
    const float *x;
    const uint8_t *labels;
};

/* What an evaluation measures over a data set. error: an autoencoder's
 * reconstruction error (the mean over the images of the summed squared
 * pixel error), a classifier's classification error in percent. loss: a
 * classifier's mean cross-entropy -log p(label) (NAN for an autoencoder,
 * whose error is its measure). */
struct amx_eval {
    double error;
    double loss;
};

struct amx_net {
    int n_sizes;
    int sizes[AMX_MAX_LAYERS]; /* the experiment's layer sizes s_0..s_{L-1} */
    int classes;               /* a classifier's softmax width; 0 for an autoencoder */
    int n_layers;              /* dense layers */
    struct amx_dense layer[AMX_NN_MAX_DENSE];
    int max_batch;
    size_t n_params;
    /* Slab layout: layer 1 weights, layer 1 biases, layer 2 weights, ... */
    float *params;   /* n_params */
    float *grads;    /* n_params, identical layout */
    float *acts;     /* every layer's Y */
    float *delta[2]; /* max_batch x the widest width each: backward ping-pong */
    float
        *partial[2][AMX_NN_SPLIT > 1 ? AMX_NN_SPLIT - 1 : 1]; /* same size: the partial
                               products of parts 1.. of a split forward, for even and odd layers */
    int n_threads;                /* 1 unless amx_net_set_threads said more */
    struct amx_nn_pool *pool;     /* the threads beyond the caller's; NULL with 1 */
    enum amx_precision precision; /* of every product; fp32 unless set */
    size_t n_acts;                /* floats in acts */
    /* At bf16 only (else NULL): the bf16 copies the products read
     * (adamix/bf16.h). params16: n_params, the weights' copies (the biases'
     * places unused), kept by the optimiser through the weight tensors'
     * theta16 (amx_net_tensors); acts16: n_acts, at acts' offsets, the
     * activations and deltas, written by the kernels that make them; x16:
     * max_batch x s_0, the batch, converted at the start of a pass. */
    uint16_t *params16, *acts16, *x16;
};

/* From L sizes s_0..s_{L-1}: 2(L-1) dense layers, numbered from 1. Encoder
 * layers 1..L-1 map s_{i-1} -> s_i; decoder layers L..2(L-1) map back
 * s_{L-1} -> ... -> s_0. Units: `code` for layer L-1, `output` for the last,
 * `hidden` for every other (none of them softmax). Shapes are checked
 * (2 <= L <= AMX_MAX_LAYERS, sizes >= 1, max_batch >= 1: AMX_ERR_CONFIG);
 * all memory is allocated here, parameters zero. On failure the struct is
 * left zeroed. */
enum amx_status amx_autoencoder_init(struct amx_net *net, const int *layers, int n_layers,
                                     enum amx_unit hidden, enum amx_unit code, enum amx_unit output,
                                     int max_batch, struct amx_error *err);
/* From L sizes s_0..s_{L-1} (L >= 1: L == 1 is softmax regression): L-1
 * hidden layers of unit `hidden` (not softmax) and layer L, s_{L-1} ->
 * classes, of softmax units; classes in [2, 256]. As amx_autoencoder_init
 * otherwise. */
enum amx_status amx_classifier_init(struct amx_net *net, const int *layers, int n_layers,
                                    enum amx_unit hidden, int classes, int max_batch,
                                    struct amx_error *err);
void amx_net_free(struct amx_net *net);
/* Threads that split every step, forward pass and evaluation: 1 or
 * AMX_NN_SPLIT (more are clamped); results bit-identical whatever n. */
enum amx_status amx_net_set_threads(struct amx_net *net, int n, struct amx_error *err);
/* The precision of every product of the step, the forward pass and the
 * evaluation (fp32 after init), as amx_rbm_set_precision. Set it before
 * amx_net_tensors or _tensor_part hand out the tensors: their theta16 point
 * into the bf16 copies that a change of precision allocates or frees. */
enum amx_status amx_net_set_precision(struct amx_net *net, enum amx_precision precision,
                                      struct amx_error *err);
/* After weights were written other than by init_random, from_rbms or an
 * optimiser given the tensors' theta16: params16 = bf16 of the weights.
 * Nothing at fp32. */
void amx_net_sync_bf16(struct amx_net *net);
/* Without pretraining: W ~ N(0, init_std^2) for layers 1..n_layers in
 * order, each row-major, from rng; biases 0. */
void amx_net_init_random(struct amx_net *net, double init_std, struct amx_rng *rng);
/* Unrolls n = L-1 RBMs (rbms[i]: V = s_i, H = s_{i+1}) into an autoencoder:
 * encoder layer i+1 gets W = rbms[i].W and b = rbms[i].bh; the mirrored
 * decoder layer 2(L-1)-i gets W = rbms[i].W^T (transposed once here) and
 * b = rbms[i].bv. The copies are independent: fine-tuning unties them.
 * AMX_ERR_CONFIG when the net is no autoencoder, or the count or a shape
 * does not match. */
enum amx_status amx_autoencoder_from_rbms(struct amx_net *net, const struct amx_rbm *rbms, int n,
                                          struct amx_error *err);
/* A deep belief net's stack under a classifier: hidden layer i+1 gets
 * W = rbms[i].W, b = rbms[i].bh (n = L-1 RBMs); the softmax layer W ~
 * N(0, init_std^2) row-major from rng, b = 0. AMX_ERR_CONFIG when the net
 * is no classifier, or the count or a shape does not match. */
enum amx_status amx_classifier_from_rbms(struct amx_net *net, const struct amx_rbm *rbms, int n,
                                         double init_std, struct amx_rng *rng,
                                         struct amx_error *err);
/* Fills out[0 .. 2*n_layers) with the parameter tensors in slab order:
 * "layerN.weights" then "layerN.biases" for N = 1 .. n_layers, theta/grad
 * pointing into the slabs, part "encoder"/"decoder" (an autoencoder's
 * halves) or "softmax" (a classifier's top layer; its hidden layers have
 * none); at bf16 a weight tensor's theta16 points at its bf16 copies
 * (params16), which the optimiser's update then keeps (NULL otherwise).
 * out may be NULL to count. Returns the count. */
size_t amx_net_tensors(const struct amx_net *net, struct amx_param_tensor *out);
/* The same tensors, each cut into the AMX_NN_SPLIT parts that the step's
 * threads work on, out receiving part `part` (0-based) of every tensor, in
 * the same order and with the same names: for a weight tensor, the rows of
 * block `part` of its input width (amx_nn_block of In, a contiguous range);
 * for a bias tensor, block `part` of its output width. Each part can then get
 * its own optimizer, run on the thread that computed those gradients
 * (amx_net_run_parts). The update rules act element by element, so the
 * parameters move exactly as under one optimizer over whole tensors; only
 * the order in which rate statistics are summed differs. A part is empty
 * (n 0) only for a width smaller than AMX_NN_SPLIT. Returns the count (that
 * of amx_net_tensors); 0 unless n_parts == AMX_NN_SPLIT and part is in
 * [0, n_parts). */
size_t amx_net_tensor_part(const struct amx_net *net, int part, int n_parts,
                           struct amx_param_tensor *out);
/* AMX_OK when the loss suits the output unit: cross_entropy needs logistic
 * outputs (its gradient p - x is that of the logistic's logits) or a
 * softmax (a classifier's only loss); squared_error takes any but softmax.
 * Else AMX_ERR_CONFIG with a message. */
enum amx_status amx_net_check_loss(const struct amx_net *net, enum amx_loss loss,
                                   struct amx_error *err);
/* Forward pass of x (B x s_0, B <= max_batch); returns the output (B x the
 * output width: a reconstruction, or class probabilities), valid until the
 * next call. Allocates nothing. */
const float *amx_net_forward(struct amx_net *net, const float *x, int B);
/* Forward, loss and backward of one mini-batch x (B x s_0, 1 <= B <=
 * max_batch) against its targets: every gradient in the grad slab is
 * overwritten with the gradient of the mean batch loss, which is returned.
 * The loss must have passed amx_net_check_loss, and the target the output
 * unit reads must be given (else NAN is returned and grads are untouched).
 * Allocates nothing. */
double amx_net_train_step(struct amx_net *net, const float *x, const struct amx_target *target,
                          int B, enum amx_loss loss);
/* An autoencoder's step: amx_net_train_step with x its own target. */
double amx_autoencoder_train_step(struct amx_net *net, const float *x, int B, enum amx_loss loss);
/* Runs fn(ctx, part, AMX_NN_SPLIT) once for each part = 0 .. AMX_NN_SPLIT-1
 * on the network's threads (part k on thread k mod n, the caller's thread
 * being thread 0) and returns when all are done: for the caller's own
 * per-step work, e.g. a parameter update cut into AMX_NN_SPLIT fixed parts,
 * which then scales with the threads while its result, depending on the
 * parts only, never depends on their number. fn must not call back into the
 * network. */
void amx_net_run_parts(struct amx_net *net, void (*fn)(void *ctx, int part, int n_parts),
                       void *ctx);
/* The measures of struct amx_eval over the n images of x (n x s_0; labels:
 * n class indices, read by a classifier only, may be NULL for an
 * autoencoder), batched through the workspace, summed in double in a fixed
 * order. Both 0 when n == 0. Allocates nothing. */
void amx_net_evaluate(struct amx_net *net, const float *x, const uint8_t *labels, size_t n,
                      struct amx_eval *out);
/* An autoencoder's reconstruction error: amx_net_evaluate's error. */
double amx_autoencoder_recon_error(struct amx_net *net, const float *x, size_t n);

#endif
