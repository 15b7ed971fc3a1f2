/* Neural-network kernels, RBMs trained with CD-k, and the unrolled deep
 * autoencoder (DESIGN.md section 7).
 *
 * Everything is float32 in row-major matrices; sums of errors are double.
 * Dimension letters: B batch (rows), V visible / image size, H hidden,
 * In and Out the input and output widths of a dense layer. A weight matrix W
 * of a layer In -> Out is In x Out row-major, so a batch goes forward as
 * Y = f(X W + b) with X: B x In, Y: B x Out.
 *
 * Nothing here does I/O, knows of YAML or files, or keeps global state: every
 * random number comes from an amx_rng stream passed in by the caller, who
 * derives it with amx_rng_stream(seed, repeat, purpose) (DESIGN.md section 8).
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
 *   amx_autoencoder_init(&ae, sizes, L, hidden, code, output, 100, &err);
 *   amx_autoencoder_from_rbms(&ae, rbm, L - 1, &err);
 *   nt = amx_autoencoder_tensors(&ae, tensors);       // for amx_optimizer_init
 *   per batch: amx_autoencoder_train_step(&ae, x, B, loss); amx_optimizer_step(opt);
 *   per epoch: amx_autoencoder_recon_error(&ae, test, n_test);
 *
 * With threads (results unchanged, see AMX_NN_SPLIT; BLAS single-threaded):
 *
 *   amx_rbm_set_threads(&rbm[i], 2, &err);  amx_autoencoder_set_threads(&ae, 2, &err);
 *   for (p = 0; p < AMX_NN_SPLIT; p++) {              // one optimizer per part
 *       nt = amx_autoencoder_tensor_part(&ae, p, AMX_NN_SPLIT, tensors);
 *       amx_optimizer_init(&opt[p], tensors, nt, bindings, nb, &err);
 *   }
 *   per batch: amx_autoencoder_train_step(&ae, x, B, loss);
 *              amx_autoencoder_run_parts(&ae, step_part, opt);  // amx_optimizer_step(opt[part])
 *
 * Stream use, fixed so that results are reproducible:
 * - INIT: the weights of RBM 0, then RBM 1, ... (each amx_rbm_init_weights
 *   call draws V*H normals in row-major order of W), or, without pretraining,
 *   the weights of unrolled layers 1, 2, ..., 2(L-1) in that order
 *   (amx_autoencoder_init_random). Biases start at 0 and draw nothing.
 * - RBM_ORDER + layer: one permutation of the training rows per epoch
 *   (amx_rng_shuffle of the identity).
 * - RBM_SAMPLE + layer: per mini-batch, per Gibbs step, B*H hidden samples in
 *   row-major order: a uniform (amx_rng_uniform) per logistic unit, a
 *   standard normal (amx_rng_normal) per linear unit. */
#ifndef ADAMIX_NN_H
#define ADAMIX_NN_H

#include "adamix/error.h"
#include "adamix/bf16.h"
#include "adamix/optim.h" /* struct amx_param_tensor */
#include "adamix/rng.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The network's vocabulary; config/ maps the experiment's strings onto it. */
#define AMX_MAX_LAYERS 16
enum amx_unit { AMX_UNIT_LOGISTIC, AMX_UNIT_LINEAR, AMX_UNIT_RELU, AMX_UNIT_TANH };
enum amx_loss { AMX_LOSS_CROSS_ENTROPY, AMX_LOSS_SQUARED_ERROR };

struct amx_nn_pool; /* a thread pool (src/nn/pool.c), owned by an RBM or an autoencoder */

/* How work is split between threads, fixed so that the arithmetic never
 * depends on their number. Every matrix product of an autoencoder step or of
 * an RBM batch is cut into AMX_NN_SPLIT parts along the layer's INPUT width
 * (visible width for an RBM): part k is block k of that width, i.e. a range of
 * whole rows of W (In x Out) and dW, and of the optimizer's part k
 * (amx_autoencoder_tensor_part); block edges are multiples of 8 for widths >=
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
/* Matrix products (src/nn/blas.c: the only file that calls BLAS).          */

/* OpenBLAS as it describes itself, for --version and manifests (whatever
 * backend is selected: OpenBLAS is always linked). */
const char *amx_blas_config(void);   /* openblas_get_config() */
const char *amx_blas_corename(void); /* the kernel in use: "SkylakeX", "Haswell", ... */

/* Backends: amx_gemm goes to one of a table of implementations (blas.c),
 * "openblas" (cblas_sgemm, the library's initial choice) or "onednn" (oneDNN matmul
 * primitives, blas_onednn.c, in a build configured with it). The choice is
 * process-wide and is made once, before any thread computes (the command
 * line does it, from --backend or ADAMIX_BACKEND); it is provenance, like
 * the OpenBLAS kernel: results are bit-identical for the same build, backend,
 * kernel and threads per product, and differ in the last bits otherwise.
 * docs/backends.md says what each records and guarantees. */
size_t amx_blas_backend_count(void);
const char *amx_blas_backend_name(size_t i); /* table order; NULL past the end */
/* NULL when backend i can be selected in this build on this machine, else
 * why not (a sentence naming what is missing). */
const char *amx_blas_backend_unavailable(size_t i);
/* Selects the backend named `name` for every later amx_gemm. AMX_ERR_USAGE,
 * the message naming the choices, for an unknown or unavailable name; the
 * selection is then unchanged. */
enum amx_status amx_blas_select(const char *name, struct amx_error *err);
/* The backend the program selects when neither --backend nor ADAMIX_BACKEND
 * names one: the fastest usable here by tools/bench (docs/performance.md),
 * "onednn" when it is available, else "openblas". The library itself starts
 * on "openblas" until something is selected. */
const char *amx_blas_program_default(void);
const char *amx_blas_backend(void);         /* the selected backend's name */
const char *amx_blas_backend_version(void); /* "OpenBLAS 0.3.21", "oneDNN 2.6.3" */
/* The instruction set the backend dispatches to: OpenBLAS's kernel (as
 * amx_blas_corename), or oneDNN's effective ISA ("avx512_core_bf16"). */
const char *amx_blas_backend_isa(void);
/* The implementations this process's products have run on: "cblas_sgemm"
 * for openblas; for onednn the implementation names of the primitives made,
 * comma-separated in order of first use ("brg:avx512_core, gemm:jit"; ""
 * before the first product), and, when oneDNN could not make a primitive and
 * cblas_sgemm computed its products instead, "..., cblas_sgemm (fallback, 3
 * products: why)". */
void amx_blas_backend_impls(char *buf, size_t size);
/* oneDNN primitives created so far by this process (0 for openblas): a
 * product's primitive is made the first time its shape is seen and reused
 * afterwards, so this stops growing after a run's first steps. */
size_t amx_blas_backend_primitives(void);

/* Threads per product: amx_blas_set_threads(n) sets OpenBLAS's count and the
 * OpenMP threads of every oneDNN product, applied by each calling thread
 * before its next product (a worker whose own threads split a step asks for
 * 1, so that neither library adds threads of its own). amx_blas_threads() is
 * OpenBLAS's count, amx_blas_backend_threads() the selected backend's. */
int amx_blas_threads(void);
int amx_blas_backend_threads(void);
void amx_blas_set_threads(int n);

/* C = alpha * op(A) op(B) + beta * C, row-major, op(X) = X or X^T by flag.
 * C: M x N (ldc >= N); op(A): M x K, so A is M x K (lda >= K) or, transposed,
 * K x M (lda >= M); op(B): K x N, so B is K x N (ldb >= N) or N x K
 * (ldb >= K). With beta == 0, C is not read (may hold anything). M, N >= 1,
 * K >= 0. Computed by the selected backend. */
void amx_gemm(bool trans_a, bool trans_b, int M, int N, int K, float alpha, const float *A, int lda,
              const float *B, int ldb, float beta, float *C, int ldc);
/* Precision of the matrix products (compute.precision): fp32, or bf16
 * inputs with f32 accumulation and f32 outputs. Everything else (parameters,
 * gradients, activations as stored, errors) is f32 either way. */
enum amx_precision { AMX_PRECISION_FP32, AMX_PRECISION_BF16 };
/* NULL when products at this precision can be computed by the selected
 * backend on this machine, else why not (a sentence). fp32: always NULL;
 * bf16: the onednn backend on a CPU with AVX-512 BF16 (docs/backends.md:
 * elsewhere oneDNN refuses bf16 or emulates it more slowly than fp32, so it
 * is refused here). */
const char *amx_blas_precision_unavailable(enum amx_precision precision);
/* x rounded to the nearest bfloat16 (8-bit significand), ties to even,
 * returned as the float it is exactly; NaN stays NaN, beyond the largest
 * bf16 it rounds to infinity. */
float amx_bf16_round(float x);
/* amx_gemm's contract with op(A) and op(B) rounded to bf16
 * (amx_bf16_round) and the products accumulated in f32 into C (f32):
 * C = alpha * bf16(op(A)) bf16(op(B)) + beta * C. Callers check
 * amx_blas_precision_unavailable first; where bf16 is unavailable the same
 * numbers are emulated (rounded copies, cblas_sgemm), never wrong. */
void amx_gemm_bf16(bool trans_a, bool trans_b, int M, int N, int K, float alpha, const float *A,
                   int lda, const float *B, int ldb, float beta, float *C, int ldc);
/* The same product with op(A) and op(B) already in bf16 (adamix/bf16.h), at
 * their own leading dimensions: C = alpha * op(A) op(B) + beta * C, f32
 * accumulation and output. What the network's products run on at bf16,
 * their operands being the bf16 copies written where the values are made.
 * Where bf16 is unavailable, the same numbers by cblas_sgemm on widened
 * copies. */
void amx_gemm_bf16h(bool trans_a, bool trans_b, int M, int N, int K, float alpha, const uint16_t *A,
                    int lda, const uint16_t *B, int ldb, float beta, float *C, int ldc);
/* Same contract as amx_gemm, naive loops accumulating in double: the tests' reference. */
void amx_gemm_ref(bool trans_a, bool trans_b, int M, int N, int K, float alpha, const float *A,
                  int lda, const float *B, int ldb, float beta, float *C, int ldc);

/* ------------------------------------------------------------------------ */
/* Kernels: <op>_forward / <op>_backward pairs.                             */

/* The fine-tuning step, the evaluation pass and the RBM's CD-k are sequences
 * of calls to these kernels (src/nn/autoencoder.c, rbm.c), and
 * tests/check_nn.c checks each backward against central differences. So that
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

/* ------------------------------------------------------------------------ */
/* Restricted Boltzmann machine, CD-k (Hinton's recipe).                    */

struct amx_rbm_hparams {
    double learning_rate;    /* weights and both biases */
    double momentum_initial; /* for epochs < momentum_switch_epoch (0-based) */
    double momentum_final;   /* afterwards */
    int momentum_switch_epoch;
    double weight_decay; /* L2, on weights only */
    int cd_k;            /* Gibbs steps, >= 1 */
};

/* Logistic visible units; logistic hidden units, or linear hidden units with
 * unit-variance Gaussian noise (the top RBM of the stack). Everything in one
 * allocation except the two buffers that train_epoch grows (noise, perm). */
struct amx_rbm {
    int V, H;
    bool linear_hidden;
    int max_batch;
    /* Parameters (save / load these to cache a pretrained stack). */
    float *W;  /* V x H */
    float *bv; /* V, visible biases */
    float *bh; /* H, hidden biases */
    /* CD statistics of the last batch, (positive - negative) / B. */
    float *gW, *gbv, *gbh; /* V x H, V, H */
    /* Momentum increments, same shapes; zero after init_weights. */
    float *vW, *vbv, *vbh;
    /* Workspace for one batch. */
    float *v0; /* max_batch x V: the data */
    float *h0; /* max_batch x H: hidden probabilities (means) of the data */
    float *hs; /* max_batch x H: sampled hidden states */
    float *v1; /* max_batch x V: reconstruction probabilities */
    float *h1; /* max_batch x H: hidden probabilities of the reconstruction */
    float *partial[AMX_NN_SPLIT > 1 ? AMX_NN_SPLIT - 1 : 1]; /* max_batch x H each: partial
                                     products of a split batch (parts 1..) */
    float *noise; /* cd_k x max_batch x H hidden-sample noise, grown by train_epoch */
    size_t noise_cap;
    uint32_t *perm; /* a permutation of the training rows, grown by train_epoch */
    size_t perm_cap;
    float *slab;
    int n_threads;                /* 1 unless amx_rbm_set_threads said more */
    struct amx_nn_pool *pool;     /* the threads beyond the caller's; NULL with 1 */
    enum amx_precision precision; /* of every product; fp32 unless set */
    /* At bf16 only (else NULL), one allocation: the bf16 copies the products
     * read (adamix/bf16.h). W16 of W, rewritten by each update in the same
     * pass; v0_16, h0_16, hs16, v1_16, h1_16 of the batch matrices, written
     * where those are made. */
    uint16_t *slab16, *W16, *v0_16, *h0_16, *hs16, *v1_16, *h1_16;
};

/* Sizes V, H >= 1, max_batch >= 1. Parameters start at zero. On failure the
 * struct is left zeroed (amx_rbm_free is safe on it). */
enum amx_status amx_rbm_init(struct amx_rbm *rbm, int V, int H, bool linear_hidden, int max_batch,
                             struct amx_error *err);
void amx_rbm_free(struct amx_rbm *rbm);
/* Threads for cd_stats, train_epoch and hidden_probs, as
 * amx_autoencoder_set_threads (same rules, same AMX_NN_SPLIT blocks: of H
 * for the hidden side, of V for the reconstruction): bit-identical results
 * whatever n. The noise is still drawn by the calling thread, in the order
 * stated above. */
enum amx_status amx_rbm_set_threads(struct amx_rbm *rbm, int n, struct amx_error *err);
/* The precision of every product of cd_stats, train_epoch and hidden_probs
 * (fp32 after init). AMX_ERR_CONFIG, saying why, when the selected backend
 * cannot compute it here (amx_blas_precision_unavailable); AMX_ERR_NOMEM
 * when the bf16 copies cannot be allocated (the precision is then
 * unchanged). bf16 allocates them and copies W; fp32 frees them. */
enum amx_status amx_rbm_set_precision(struct amx_rbm *rbm, enum amx_precision precision,
                                      struct amx_error *err);
/* After W was written other than by init_weights or train_epoch (e.g.
 * loaded): W16 = bf16 of W. Nothing at fp32. */
void amx_rbm_sync_bf16(struct amx_rbm *rbm);
/* W ~ N(0, init_std^2) drawn row-major from rng (V*H normals); biases and
 * momentum increments 0. */
void amx_rbm_init_weights(struct amx_rbm *rbm, double init_std, struct amx_rng *rng);
/* One epoch: a fresh permutation of the n rows of data (n x V, values in
 * [0,1]) from `order`, cut into batches of batch_size (the last one smaller,
 * averaged over its own size); per batch CD-k statistics (amx_rbm_cd_stats,
 * noise from `sample`) and the update, with mom = momentum_initial if
 * epoch < momentum_switch_epoch else momentum_final, lr = learning_rate:
 *   vW = mom vW + lr (gW - weight_decay W);  W += vW
 *   vb = mom vb + lr gb;                     b += vb   (both biases)
 * *recon_error (may be NULL): the mean over the n images of the summed squared
 * difference between each image and its one-step reconstruction, with the
 * parameters of the moment its batch was seen. Fails (AMX_ERR_CONFIG) on
 * batch_size outside [1, max_batch], cd_k < 1 or n == 0 or n >= 2^32, or
 * (AMX_ERR_NOMEM) when the permutation or noise buffer cannot grow. */
enum amx_status amx_rbm_train_epoch(struct amx_rbm *rbm, const float *data, size_t n,
                                    int batch_size, const struct amx_rbm_hparams *hp, int epoch,
                                    struct amx_rng *order, struct amx_rng *sample,
                                    double *recon_error, struct amx_error *err);
/* CD-k statistics of one batch: train_epoch draws the noise, calls this per
 * batch and then updates the parameters from gW, gbv, gbh. v0: B x V, B <= max_batch; noise: k x B
 * x H, per Gibbs step s the B x H block s: uniforms in [0,1) for logistic hidden units (state = 1
 * if u < p else 0), standard normal deviates for linear hidden units (state = mean + noise). h0 =
 * f(v0 W + bh)                     positive phase, probabilities/means repeat k times: hs =
 * sample(h); v1 = sigmoid(hs W^T + bv); h = f(v1 W + bh) gW = (v0^T h0 - v1^T h1) / B, gbv =
 * colsum(v0 - v1) / B, gbh = colsum(h0 - h1) / B             (v1, h1: the last step's) Visible
 * reconstructions are probabilities, never sampled. Returns the sum over the batch of sum_j (v0 -
 * v1)^2 with v1 the FIRST reconstruction. */
double amx_rbm_cd_stats(struct amx_rbm *rbm, const float *v0, int B, int k, const float *noise);
/* out = f(data W + bh): hidden probabilities (logistic) or means (linear, no
 * noise) of n rows; the next RBM's training data. data: n x V, out: n x H.
 * Allocates nothing, n <= INT_MAX. */
void amx_rbm_hidden_probs(const struct amx_rbm *rbm, const float *data, size_t n, float *out);

/* ------------------------------------------------------------------------ */
/* The unrolled autoencoder.                                                */

#define AMX_NN_MAX_DENSE (2 * (AMX_MAX_LAYERS - 1))

/* One dense layer Y = f(X W + b), a view into the autoencoder's slabs. */
struct amx_dense {
    int in, out;
    enum amx_unit unit;
    float *W, *b;   /* in x out, out: in the parameter slab */
    float *dW, *db; /* same shapes, same offsets in the gradient slab */
    float *Y;       /* max_batch x out: this layer's output, kept for backward */
};

/* From L sizes s_0..s_{L-1}: 2(L-1) dense layers, numbered from 1. Encoder
 * layers 1..L-1 map s_{i-1} -> s_i; decoder layers L..2(L-1) map back
 * s_{L-1} -> ... -> s_0. Units: `code` for layer L-1, `output` for the last,
 * `hidden` for every other. */
struct amx_autoencoder {
    int n_sizes;
    int sizes[AMX_MAX_LAYERS];
    int n_layers; /* 2 (n_sizes - 1) */
    struct amx_dense layer[AMX_NN_MAX_DENSE];
    int max_batch;
    size_t n_params;
    /* Slab layout: layer 1 weights, layer 1 biases, layer 2 weights, ... */
    float *params;   /* n_params */
    float *grads;    /* n_params, identical layout */
    float *acts;     /* every layer's Y */
    float *delta[2]; /* max_batch x max(sizes) each: backward ping-pong */
    float
        *partial[2][AMX_NN_SPLIT > 1 ? AMX_NN_SPLIT - 1 : 1]; /* same size: the partial
                               products of parts 1.. of a split forward, for even and odd layers */
    int n_threads;                /* 1 unless amx_autoencoder_set_threads said more */
    struct amx_nn_pool *pool;     /* the threads beyond the caller's; NULL with 1 */
    enum amx_precision precision; /* of every product; fp32 unless set */
    size_t n_acts;                /* floats in acts */
    /* At bf16 only (else NULL): the bf16 copies the products read
     * (adamix/bf16.h). params16: n_params, the weights' copies (the biases'
     * places unused), kept by the optimiser through the weight tensors'
     * theta16 (amx_autoencoder_tensors); acts16: n_acts, at acts' offsets,
     * the activations and deltas, written by the kernels that make them;
     * x16: max_batch x s_0, the batch, converted at the start of a pass. */
    uint16_t *params16, *acts16, *x16;
};

/* Shapes are checked (2 <= n_layers <= AMX_MAX_LAYERS, sizes >= 1,
 * max_batch >= 1: AMX_ERR_CONFIG); all memory is allocated here, parameters
 * zero. On failure the struct is left zeroed. */
enum amx_status amx_autoencoder_init(struct amx_autoencoder *ae, const int *layers, int n_layers,
                                     enum amx_unit hidden, enum amx_unit code, enum amx_unit output,
                                     int max_batch, struct amx_error *err);
void amx_autoencoder_free(struct amx_autoencoder *ae);
enum amx_status amx_autoencoder_set_threads(struct amx_autoencoder *ae, int n,
                                            struct amx_error *err);
/* The precision of every product of the step, the forward pass and the
 * reconstruction error (fp32 after init), as amx_rbm_set_precision. Set it
 * before amx_autoencoder_tensors or _tensor_part hand out the tensors: their
 * theta16 point into the bf16 copies that a change of precision allocates
 * or frees. */
enum amx_status amx_autoencoder_set_precision(struct amx_autoencoder *ae,
                                              enum amx_precision precision, struct amx_error *err);
/* After weights were written other than by init_random, from_rbms or an
 * optimiser given the tensors' theta16: params16 = bf16 of the weights.
 * Nothing at fp32. */
void amx_autoencoder_sync_bf16(struct amx_autoencoder *ae);
/* Without pretraining: W ~ N(0, init_std^2) for layers 1..2(L-1) in order,
 * each row-major, from rng; biases 0. */
void amx_autoencoder_init_random(struct amx_autoencoder *ae, double init_std, struct amx_rng *rng);
/* Unrolls n = L-1 RBMs (rbms[i]: V = s_i, H = s_{i+1}): encoder layer i+1
 * gets W = rbms[i].W and b = rbms[i].bh; the mirrored decoder layer
 * 2(L-1)-i gets W = rbms[i].W^T (transposed once here) and b = rbms[i].bv.
 * The copies are independent: fine-tuning unties them. AMX_ERR_CONFIG when
 * the count or a shape does not match. */
enum amx_status amx_autoencoder_from_rbms(struct amx_autoencoder *ae, const struct amx_rbm *rbms,
                                          int n, struct amx_error *err);
/* Fills out[0 .. 2*n_layers) with the parameter tensors in slab order:
 * "layerN.weights" then "layerN.biases" for N = 1 .. n_layers, theta/grad
 * pointing into the slabs; at bf16 a weight tensor's theta16 points at its
 * bf16 copies (params16), which the optimiser's update then keeps (NULL
 * otherwise). out may be NULL to count. Returns the count. */
size_t amx_autoencoder_tensors(const struct amx_autoencoder *ae, struct amx_param_tensor *out);
/* The same tensors, each cut into the AMX_NN_SPLIT parts that the step's
 * threads work on, out receiving part `part` (0-based) of every tensor, in
 * the same order and with the same names: for a weight tensor, the rows of
 * block `part` of its input width (amx_nn_block of In, a contiguous range);
 * for a bias tensor, block `part` of its output width. Each part can then get
 * its own optimizer, run on the thread that computed those gradients
 * (amx_autoencoder_run_parts). The update rules act element by element, so
 * the parameters move exactly as under one optimizer over whole tensors; only
 * the order in which rate statistics are summed differs. A part is empty
 * (n 0) only for a width smaller than AMX_NN_SPLIT. Returns the count (that of
 * amx_autoencoder_tensors); 0 unless n_parts == AMX_NN_SPLIT and part is in
 * [0, n_parts). */
size_t amx_autoencoder_tensor_part(const struct amx_autoencoder *ae, int part, int n_parts,
                                   struct amx_param_tensor *out);
/* AMX_OK when the loss suits the output unit: cross_entropy needs logistic
 * outputs (its gradient p - x is that of the logistic's logits);
 * squared_error takes any. Else AMX_ERR_CONFIG with a message. */
enum amx_status amx_autoencoder_check_loss(const struct amx_autoencoder *ae, enum amx_loss loss,
                                           struct amx_error *err);
/* Forward pass of x (B x s_0, B <= max_batch); returns the reconstruction
 * (B x s_0), valid until the next call. Allocates nothing. */
const float *amx_autoencoder_forward(struct amx_autoencoder *ae, const float *x, int B);
/* Forward, loss and backward of one mini-batch x (B x s_0, 1 <= B <=
 * max_batch): every gradient in the grad slab is overwritten with the gradient
 * of the mean batch loss, which is returned. The loss must have passed
 * amx_autoencoder_check_loss (else NAN is returned and grads are untouched).
 * Allocates nothing. */
double amx_autoencoder_train_step(struct amx_autoencoder *ae, const float *x, int B,
                                  enum amx_loss loss);
/* Runs fn(ctx, part, AMX_NN_SPLIT) once for each part = 0 .. AMX_NN_SPLIT-1
 * on the autoencoder's threads (part k on thread k mod n, the caller's
 * thread being thread 0) and returns when all are done: for the caller's
 * own per-step work, e.g. a parameter update cut into AMX_NN_SPLIT fixed
 * parts, which then scales with the threads while its result, depending on
 * the parts only, never depends on their number. fn must not call back into
 * the autoencoder. */
void amx_autoencoder_run_parts(struct amx_autoencoder *ae,
                               void (*fn)(void *ctx, int part, int n_parts), void *ctx);
/* Reconstruction error (DESIGN.md section 7): the mean over the n images of
 * x (n x s_0) of sum_j (p_j - x_j)^2, batched through the workspace, summed in
 * double. 0 when n == 0. Allocates nothing. */
double amx_autoencoder_recon_error(struct amx_autoencoder *ae, const float *x, size_t n);

#endif
