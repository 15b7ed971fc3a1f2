/* The networks of adamix-run, in one include: the vocabulary (vocab.h), the
 * matrix products (blas.h), the kernels and the fixed split of a step
 * (kernels.h), RBMs trained with CD-k (rbm.h) and the fine-tuned networks,
 * autoencoder and classifier (net.h). Each of those headers can be included
 * alone; this one is for the code that uses them all.
 *
 * Everything is float32 in row-major matrices; sums of errors are double.
 * Dimension letters: B batch (rows), V visible / image size, H hidden,
 * In and Out the input and output widths of a dense layer. A weight matrix W
 * of a layer In -> Out is In x Out row-major, so a batch goes forward as
 * Y = f(X W + b) with X: B x In, Y: B x Out.
 *
 * Nothing here does I/O, knows of YAML or files, or keeps global state: every
 * random number comes from an amx_rng stream passed in by the caller, who
 * derives it with amx_rng_stream(seed, repeat, purpose) (docs/design.md).
 *
 * Worked example (what the run module does):
 *
 *   struct amx_rng init, order, sample;
 *   amx_rng_stream(&init, seed, repeat, AMX_STREAM_INIT);
 *   for (i = 0; i < L - 1; i++) {              // bottom-up, one RBM per pair of sizes
 *       amx_rbm_init(&rbm[i], sizes[i], sizes[i + 1], i == L - 2, 100, &err);
 *       amx_rbm_init_weights(&rbm[i], 0.1, &init);    // same INIT stream, layer order
 *       amx_rng_stream(&order, seed, repeat, AMX_STREAM_RBM_ORDER + i);
 *       amx_rng_stream(&sample, seed, repeat, AMX_STREAM_RBM_SAMPLE + i);
 *       for (e = 0; e < epochs; e++)
 *           amx_rbm_train_epoch(&rbm[i], data, n, 100, &hp, e, &order, &sample, &recon, &err);
 *       amx_rbm_hidden_probs(&rbm[i], data, n, next);  // next layer's data (n x H)
 *   }
 *   amx_autoencoder_init(&net, sizes, L, hidden, code, output, 100, &err);
 *   amx_autoencoder_from_rbms(&net, rbm, L - 1, &err);
 *   nt = amx_net_tensors(&net, tensors);                // for amx_optimizer_init
 *   per batch: amx_autoencoder_train_step(&net, x, B, loss); amx_optimizer_step(opt);
 *   per epoch: amx_autoencoder_recon_error(&net, test, n_test);
 *
 * With threads (results unchanged, see AMX_NN_SPLIT; BLAS single-threaded):
 *
 *   amx_rbm_set_threads(&rbm[i], 2, &err);  amx_net_set_threads(&net, 2, &err);
 *   for (p = 0; p < AMX_NN_SPLIT; p++) {              // one optimizer per part
 *       nt = amx_net_tensor_part(&net, p, AMX_NN_SPLIT, tensors);
 *       amx_optimizer_init(&opt[p], tensors, nt, bindings, nb, &err);
 *   }
 *   per batch: amx_autoencoder_train_step(&net, x, B, loss);
 *              amx_net_run_parts(&net, step_part, opt);  // amx_optimizer_step(opt[part])
 *
 * Stream use, fixed so that results are reproducible:
 * - INIT: the weights of RBM 0, then RBM 1, ... (each amx_rbm_init_weights
 *   call draws V*H normals in row-major order of W), or, without pretraining,
 *   the weights of unrolled layers 1, 2, ..., 2(L-1) in that order
 *   (amx_net_init_random). Biases start at 0 and draw nothing.
 * - RBM_ORDER + layer: one permutation of the training rows per epoch
 *   (amx_rng_shuffle of the identity).
 * - RBM_SAMPLE + layer: per mini-batch, per Gibbs step, B*H hidden samples in
 *   row-major order: a uniform (amx_rng_uniform) per logistic unit, a
 *   standard normal (amx_rng_normal) per linear unit. */
#ifndef ADAMIX_NN_H
#define ADAMIX_NN_H

#include "adamix/blas.h"
#include "adamix/kernels.h"
#include "adamix/net.h"
#include "adamix/rbm.h"
#include "adamix/vocab.h"

#endif
