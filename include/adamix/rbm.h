/* Restricted Boltzmann machines trained with CD-k (Hinton's recipe): the
 * layers of a pretrained stack (nn.h's worked example shows the loop). */
#ifndef ADAMIX_RBM_H
#define ADAMIX_RBM_H

#include "adamix/blas.h"
#include "adamix/kernels.h"
#include "adamix/rng.h"

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
 * amx_net_set_threads (same rules, same AMX_NN_SPLIT blocks: of H
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

#endif
