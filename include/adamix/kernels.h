/* The kernels the networks are made of, as <op>_forward / <op>_backward
 * pairs (dense layers, units, losses), and the fixed split of a step's work
 * into AMX_NN_SPLIT parts that makes results independent of the number of
 * threads. tests/check_nn_kernels.c checks every backward against central
 * differences; the RBM (rbm.h) and the networks (net.h) are sequences of
 * calls to these. Dimension letters: B batch (rows), In and Out a dense
 * layer's input and output widths, N a row's width, ld a row stride. */
#ifndef ADAMIX_KERNELS_H
#define ADAMIX_KERNELS_H

#include "adamix/error.h"
#include "adamix/vocab.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct amx_nn_pool; /* a thread pool (src/nn/pool.c), owned by an RBM or a network */

/* How work is split between threads, fixed so that the arithmetic never
 * depends on their number. Every matrix product of a network step or of
 * an RBM batch is cut into AMX_NN_SPLIT parts along the layer's INPUT width
 * (visible width for an RBM): part k is block k of that width, i.e. a range of
 * whole rows of W (In x Out) and dW, and of the optimizer's part k
 * (amx_net_tensor_part); block edges are multiples of 8 for widths >=
 * 64, else width * k / AMX_NN_SPLIT. A forward product becomes the sum of the
 * parts' partial products (added in part order, then the bias and the unit,
 * column block by column block); a backward product is computed block by
 * block. Threads take parts k = rank, rank + n, ...; one thread makes the
 * same calls one after another, so results are bit-identical whatever the
 * thread count. Splitting rows keeps each part's weights, gradients and
 * optimizer state on one core from step to step (only B x width activations
 * cross between cores), and each part's products are about as efficient as
 * the whole (measured: within 2% on an AMD EPYC; 0.87-1.02 with OpenBLAS and 0.98-0.99
 * with oneDNN on a Xeon, bench_finetune). Changing this constant changes results in
 * the last bits. */
#define AMX_NN_SPLIT 2

/* Block k of AMX_NN_SPLIT of a width n: [*lo, *hi), by the rule above;
 * blocks are empty only when n < AMX_NN_SPLIT. (Public so that benchmarks
 * time the very products a step makes.) */
void amx_nn_block(int n, int k, int *lo, int *hi);

/* ------------------------------------------------------------------------ */
/* Kernels: <op>_forward / <op>_backward pairs.                             */

/* The fine-tuning step, the evaluation pass and the RBM's CD-k are sequences
 * of calls to these kernels (src/nn/net.c, rbm.c), and
 * tests/check_nn_kernels.c checks each backward against central differences. So that
 * they serve a step split into the parts of AMX_NN_SPLIT, they work on
 * blocks: a dense kernel on a range [a, b) of the layer's input width (rows
 * a..b of W, columns a..b of X) and the forward also on a range [c0, c1) of
 * its output columns; an elementwise kernel on B rows of N values at a
 * leading dimension ld >= N, the pointers set to the block's first column.
 * The whole layer is a = 0, b = In, c0 = 0, c1 = Out, ld = N. */

/* Dense layer, the matrix part of Y = f(X W + b) (the bias is added by the
 * unit's pass that follows). X: B x In, W: In x Out, Y: B x Out, row-major at
 * their own widths. prec: the precision of its products (amx_gemm or, at
 * bf16, amx_gemm_bf16h). At bf16 an operand may come with its bf16 copy
 * (X16, W16, dZ16: the same layout, each value amx_bf16_bits of the f32 one
 * beside it): a product whose two operands both have one runs on them
 * (amx_gemm_bf16h); else it rounds its f32 operands itself (amx_gemm_bf16).
 * The numbers are the same either way; only the order of the f32 sums inside
 * the product may differ. At fp32 the copies are ignored (pass NULL).
 * Forward: Y[:, c0:c1] = X[:, a:b] W[a:b, c0:c1], what rows a..b of W
 * contribute (overwritten; zero when a == b, so that the empty part of a
 * layer narrower than AMX_NN_SPLIT adds nothing). A split forward computes
 * each part's rows into a B x Out buffer of its own, then sums them with
 * amx_dense_forward_sum. */
void amx_dense_forward(enum amx_precision prec, float *Y, const float *X, const uint16_t *X16,
                       const float *W, const uint16_t *W16, int B, int In, int Out, int a, int b,
                       int c0, int c1);
/* Y[:, c0:c1] += P[0][:, c0:c1], then += P[1][:, c0:c1], ..., P[n-1]: the
 * partial products of parts 1..n added to part 0's, in part order.
 * Y, P[i]: B x Out. */
void amx_dense_forward_sum(float *Y, float *const *P, int n, int B, int Out, int c0, int c1);
/* From dZ (B x Out, the gradient wrt the pre-activation), for rows [a, b) of
 * the input width (nothing when a == b):
 *   dW[a:b, :] = alpha X[:, a:b]^T dZ + beta dW[a:b, :]   unless dW is NULL
 *   dX[:, a:b] = dZ W[a:b, :]^T                           unless dX is NULL
 * A layer's gradient is alpha 1, beta 0 (dW overwritten, not read); the
 * first layer needs no dX. The RBM runs the same two products: its CD
 * statistics are dW products (alpha 1/B, beta 0 for the data; -1/B, beta 1
 * for the reconstruction), its down pass h W^T is the dX product. X is read
 * only for dW, W only for dX. dW: In x Out, dX: B x In. The bf16 copies
 * dZ16, X16, W16 as for the forward. */
void amx_dense_backward(enum amx_precision prec, float *dX, float *dW, const float *dZ,
                        const uint16_t *dZ16, const float *X, const uint16_t *X16, const float *W,
                        const uint16_t *W16, int B, int In, int Out, int a, int b, float alpha,
                        float beta);
/* db[c0:c1] = the column sums of dZ[:, c0:c1] (overwritten). dZ: B x Out,
 * db: Out. */
void amx_dense_backward_bias(float *db, const float *dZ, int B, int Out, int c0, int c1);

/* Every kernel below that writes a matrix the products read next takes an
 * optional bf16 copy of it (Y16, dZ16: same layout; NULL for none), written
 * in the same pass, row by row: the copies of nn.h's dense kernels. */

/* Y = f(Y + bias) in place, one pass (bias add fused with the unit).
 * Y: B rows of N at stride ld (in: X W, out: activations), bias: N. */
void amx_activation_forward(float *Y, uint16_t *Y16, const float *bias, int ld, int B, int N,
                            enum amx_unit unit);
/* dZ = dY * f'(z) in place (dZ holds dY on entry), the derivative computed
 * from the cached OUTPUT Y (logistic y(1-y), tanh 1-y^2, relu [y>0],
 * linear 1). dZ, Y: B rows of N at stride ld. */
void amx_activation_backward(float *dZ, uint16_t *dZ16, const float *Y, int ld, int B, int N,
                             enum amx_unit unit);

/* Cross-entropy of a logistic output layer, from the logits: with
 * z = Y + bias, p = sigmoid(z), returns sum over the B rows of
 * -sum_j [x log p + (1-x) log(1-p)] = sum_j [softplus(z) - x z] (double), and
 * leaves p in Y. Y (in: X W, out: p), x (targets): B rows of N at stride ld;
 * bias: N. The sum runs in a fixed order over the block's columns (loss.c),
 * so a split step sums its blocks' sums in part order. */
double amx_cross_entropy_forward(float *Y, const float *bias, const float *x, int ld, int B, int N);
/* Gradient of (the sum above) / B wrt z: dZ = (p - x) / B.
 * dZ, P, x: B rows of N at stride ld. */
void amx_cross_entropy_backward(float *dZ, uint16_t *dZ16, const float *P, const float *x, int ld,
                                int B, int N);
/* Sum over the B rows of sum_j (p - x)^2 (double), in the same fixed order.
 * P, x: B rows of N at stride ld. */
double amx_squared_error_forward(const float *P, const float *x, int ld, int B, int N);
/* Gradient of (the sum above) / B wrt z: dZ = 2 (p - x) f'(z) / B, f' from
 * the output P of unit `unit`. dZ, P, x: B rows of N at stride ld. */
void amx_squared_error_backward(float *dZ, uint16_t *dZ16, const float *P, const float *x, int ld,
                                int B, int N, enum amx_unit unit);

/* A classifier's output layer, softmax and cross-entropy fused (softmax.c),
 * on B whole rows of C logits: with z = Y + bias, leaves p = softmax(z) in Y
 * and returns sum over the rows of -log p_label (double, log-sum-exp form:
 * finite for any finite z). *wrong (may be NULL) is increased by the rows
 * whose largest logit (first index on ties) is not their label. Y (in: X W,
 * out: p): B rows at stride ld; bias: C; labels: B values in [0, C), or NULL
 * for the probabilities alone (returns 0, counts nothing). */
double amx_softmax_cross_entropy_forward(float *Y, const float *bias, const uint8_t *labels, int ld,
                                         int B, int C, long *wrong);
/* Gradient of the mean loss over a batch of `batch` rows wrt z, on a block
 * of B of its rows: dZ = (p - onehot(label)) / batch. dZ, P: B rows of C at
 * stride ld. */
void amx_softmax_cross_entropy_backward(float *dZ, uint16_t *dZ16, const float *P,
                                        const uint8_t *labels, int ld, int B, int C, int batch);

#endif
