/* Benchmark: fine-tuning throughput of the 784-1000-500-250-30 autoencoder
 * (batch 100, cross-entropy, logistic hidden units, linear code, logistic
 * output) against the GEMM-bound limit measured in the same process, and one
 * RBM CD-1 epoch on 784 x 1000 likewise.
 *
 * What one "step" is here: gather a batch of 100 random rows of the data set
 * (as the run module does), amx_autoencoder_train_step, and the update: one
 * optimizer per part of the tensors (amx_net_tensor_part), the parts
 * run on the autoencoder's threads (amx_net_run_parts); one more
 * AdaMix measure keeps a single optimizer on the calling thread.
 * Rules: constant (all: constant) and AdaMix (weights: current-gradient,
 * biases: power-exponential), at 1 and 2 threads of the autoencoder's own
 * pool (BLAS single-threaded). The GEMM limit is the time of exactly the 23
 * amx_gemm calls (cblas_sgemm) of one unsplit step at batch 100 (8 forward, 8 weight
 * gradients, 7 input gradients: the first layer's is skipped), same shapes,
 * same order, back to back, on one BLAS thread and on two OpenBLAS threads;
 * GEMM efficiency = GEMM-bound time / measured time (1 = nothing but the
 * matrix products). Also the reconstruction-error pass (forward only, 8
 * calls) and the RBM (5 calls per batch: h0 = v0 W, gW = v0^T h0,
 * v1 = hs W^T, h1 = v1 W, gW -= v1^T h1), at 1 and 2 threads of the RBM's
 * pool.
 *
 * Then the same work on the other compute backends and precisions this build
 * and CPU offer (docs/backends.md): oneDNN in fp32 and, where oneDNN runs bf16
 * natively, oneDNN with bf16 products (compute.precision bf16): AdaMix on 1
 * and 2 threads, the constant rule on 1, the evaluation pass and the RBM
 * epoch on 1, each as "<backend>_<precision>_<measure>", and the backend's own
 * limits, the same products on it (the step's 23, the evaluation's 8, the
 * RBM's 5 per batch; in bf16 on the operands' bf16 copies, nothing
 * converted: what the hardware gives bf16 here), and their ratios to
 * OpenBLAS's limits: the ceiling of what the backend can gain over the
 * OpenBLAS limit, since a step is its products and more. The targets stay
 * against OpenBLAS's limits (the limit the issue asks to pass), measured
 * with openblas selected; the backend is switched between measures, never
 * during one.
 *
 * Every measure is repeated, interleaved with the others (so a burst of load
 * from other processes hits all of them alike), and the medians are printed
 * with their ratios, then one "RESULT name value" line per number for
 * tools/bench/run.sh. Data are uniform random pixels in [0,1] from a PCG
 * stream. Not a test: never run by the test suite.
 *
 *   bench_finetune [reps] [steps]    (defaults 11 and 10: 11 medians of
 *                                     10 steps = 1000 images each) */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */
#include "adamix/bf16.h"
#include "adamix/nn.h"
#include "adamix/optim.h"
#include "adamix/rng.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define L 5
static const int sizes[L] = {784, 1000, 500, 250, 30};
#define ND (2 * (L - 1))
#define BATCH 100
#define N_DATA 2000
#define MAX_REPS 101

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static void *xmalloc(size_t bytes)
{
    void *p = malloc(bytes);
    if (!p) {
        fprintf(stderr, "bench_finetune: out of memory\n");
        exit(1);
    }
    return p;
}

static int layer_in(int l)
{
    return l < L - 1 ? sizes[l] : sizes[ND - l];
}

static int layer_out(int l)
{
    return l < L - 1 ? sizes[l + 1] : sizes[ND - l - 1];
}

/* ---- the GEMM-bound reference: 23 calls of one unsplit step ---------- */

struct gemm_bufs {
    float *W[ND], *dW[ND], *Y[ND]; /* Y[l]: B x out(l) */
    float *x, *d0, *d1;            /* B x 784; B x 1000 ping-pong */
    float *part;                   /* B x 1000: the split step's partial product */
    /* bf16 copies of the operands, for the bf16 limit (amx_gemm_bf16h) */
    uint16_t *W16[ND], *Y16[ND], *x16, *d16;
};

static uint16_t *copy16(const float *x, size_t n)
{
    uint16_t *h = xmalloc(n * sizeof *h);
    amx_bf16_store(h, x, n);
    return h;
}

static void gemm_bufs_init(struct gemm_bufs *g, struct amx_rng *r)
{
    for (int l = 0; l < ND; l++) {
        size_t n = (size_t)layer_in(l) * layer_out(l);
        g->W[l] = xmalloc(n * sizeof(float));
        g->dW[l] = xmalloc(n * sizeof(float));
        g->Y[l] = xmalloc((size_t)BATCH * layer_out(l) * sizeof(float));
        for (size_t i = 0; i < n; i++)
            g->W[l][i] = 0.1f * (amx_rng_uniform(r) - 0.5f);
        for (size_t i = 0; i < (size_t)BATCH * layer_out(l); i++)
            g->Y[l][i] = amx_rng_uniform(r);
    }
    g->x = xmalloc((size_t)BATCH * 784 * sizeof(float));
    g->d0 = xmalloc((size_t)BATCH * 1000 * sizeof(float));
    g->d1 = xmalloc((size_t)BATCH * 1000 * sizeof(float));
    g->part = xmalloc((size_t)BATCH * 1000 * sizeof(float));
    for (size_t i = 0; i < (size_t)BATCH * 784; i++)
        g->x[i] = amx_rng_uniform(r);
    for (size_t i = 0; i < (size_t)BATCH * 1000; i++)
        g->d0[i] = g->d1[i] = 0.01f * (amx_rng_uniform(r) - 0.5f);
    for (int l = 0; l < ND; l++) {
        g->W16[l] = copy16(g->W[l], (size_t)layer_in(l) * layer_out(l));
        g->Y16[l] = copy16(g->Y[l], (size_t)BATCH * layer_out(l));
    }
    g->x16 = copy16(g->x, (size_t)BATCH * 784);
    g->d16 = copy16(g->d0, (size_t)BATCH * 1000);
}

static void gemm_bufs_free(struct gemm_bufs *g)
{
    for (int l = 0; l < ND; l++)
        free(g->W[l]), free(g->dW[l]), free(g->Y[l]), free(g->W16[l]), free(g->Y16[l]);
    free(g->x), free(g->d0), free(g->d1), free(g->part), free(g->x16), free(g->d16);
}

/* Forward: Y_l = X_l W_l (B x out), X_0 = x, X_l = Y_{l-1}. */
static void gemm_forward(struct gemm_bufs *g, int B)
{
    const float *in = g->x;
    for (int l = 0; l < ND; l++) {
        amx_gemm(false, false, B, layer_out(l), layer_in(l), 1.0f, in, layer_in(l), g->W[l],
                 layer_out(l), 0.0f, g->Y[l], layer_out(l));
        in = g->Y[l];
    }
}

/* The 23 calls: forward, then from the top dW_l = X_l^T dZ_l and (l > 0)
 * dX_l = dZ_l W_l^T. */
static void gemm_step(struct gemm_bufs *g, int B)
{
    gemm_forward(g, B);
    float *dz = g->d0, *dx = g->d1;
    for (int l = ND - 1; l >= 0; l--) {
        const float *X = l ? g->Y[l - 1] : g->x;
        int in = layer_in(l), out = layer_out(l);
        amx_gemm(true, false, in, out, B, 1.0f, X, in, dz, out, 0.0f, g->dW[l], out);
        if (l) {
            amx_gemm(false, true, B, in, out, 1.0f, dz, out, g->W[l], out, 0.0f, dx, in);
            float *t = dz;
            dz = dx;
            dx = t;
        }
    }
}

/* The same 23 calls as bf16 products of the operands' bf16 copies
 * (amx_gemm_bf16h: nothing converted), the f32 results into the same
 * buffers: the bf16 limit of the selected backend. The copies of the
 * backward's dZ are one B x 1000 buffer for every layer (their values do
 * not matter to the speed). */
static void gemm_forward16(struct gemm_bufs *g, int B)
{
    const uint16_t *in = g->x16;
    for (int l = 0; l < ND; l++) {
        amx_gemm_bf16h(false, false, B, layer_out(l), layer_in(l), 1.0f, in, layer_in(l), g->W16[l],
                       layer_out(l), 0.0f, g->Y[l], layer_out(l));
        in = g->Y16[l];
    }
}

static void gemm_step16(struct gemm_bufs *g, int B)
{
    gemm_forward16(g, B);
    for (int l = ND - 1; l >= 0; l--) {
        const uint16_t *X = l ? g->Y16[l - 1] : g->x16;
        int in_w = layer_in(l), out = layer_out(l);
        amx_gemm_bf16h(true, false, in_w, out, B, 1.0f, X, in_w, g->d16, out, 0.0f, g->dW[l], out);
        if (l)
            amx_gemm_bf16h(false, true, B, in_w, out, 1.0f, g->d16, out, g->W16[l], out, 0.0f,
                           g->d1, in_w);
    }
}

/* The products of one split step as amx_autoencoder_train_step makes them on
 * one thread (nn.h, AMX_NN_SPLIT): per layer and part k, the block of input
 * columns [a, b), the forward's partial X[:, a:b] W[a:b, :], then from the
 * top dW[a:b, :] = X[:, a:b]^T dZ and dX[:, a:b] = dZ W[a:b, :]^T; at bf16 on
 * the operands' bf16 copies. The step's own limit: what it costs without its
 * elementwise work and its meetings. */
static void gemm_split_step(struct gemm_bufs *g, int B, bool bf16)
{
    for (int l = 0; l < ND; l++) {
        const int in = layer_in(l), out = layer_out(l);
        const float *X = l ? g->Y[l - 1] : g->x;
        const uint16_t *X16 = l ? g->Y16[l - 1] : g->x16;
        for (int k = 0; k < AMX_NN_SPLIT; k++) {
            int a, b;
            amx_nn_block(in, k, &a, &b);
            float *C = k ? g->part : g->Y[l];
            if (bf16)
                amx_gemm_bf16h(false, false, B, out, b - a, 1.0f, X16 + a, in,
                               g->W16[l] + (size_t)a * out, out, 0.0f, C, out);
            else
                amx_gemm(false, false, B, out, b - a, 1.0f, X + a, in, g->W[l] + (size_t)a * out,
                         out, 0.0f, C, out);
        }
    }
    for (int l = ND - 1; l >= 0; l--) {
        const int in = layer_in(l), out = layer_out(l);
        const float *X = l ? g->Y[l - 1] : g->x;
        const uint16_t *X16 = l ? g->Y16[l - 1] : g->x16;
        for (int k = 0; k < AMX_NN_SPLIT; k++) {
            int a, b;
            amx_nn_block(in, k, &a, &b);
            const size_t w = (size_t)a * out;
            if (bf16) {
                amx_gemm_bf16h(true, false, b - a, out, B, 1.0f, X16 + a, in, g->d16, out, 0.0f,
                               g->dW[l] + w, out);
                if (l)
                    amx_gemm_bf16h(false, true, B, b - a, out, 1.0f, g->d16, out, g->W16[l] + w,
                                   out, 0.0f, g->d1 + a, in);
            } else {
                amx_gemm(true, false, b - a, out, B, 1.0f, X + a, in, g->d0, out, 0.0f,
                         g->dW[l] + w, out);
                if (l)
                    amx_gemm(false, true, B, b - a, out, 1.0f, g->d0, out, g->W[l] + w, out, 0.0f,
                             g->d1 + a, in);
            }
        }
    }
}

/* The 5 calls of one CD-1 batch on V x H, and their operands: B x V
 * visible, B x H hidden, with bf16 copies for the bf16 limit. */
struct rbm_bufs {
    int V, H;
    float *W, *gW, *v0, *h0, *hs, *v1, *h1;
    uint16_t *W16, *v0h, *h0h, *hsh, *v1h, *h1h;
};

static void gemm_rbm_batch(struct rbm_bufs *r, int B)
{
    const int V = r->V, H = r->H;
    amx_gemm(false, false, B, H, V, 1.0f, r->v0, V, r->W, H, 0.0f, r->h0, H);
    amx_gemm(true, false, V, H, B, 1.0f / B, r->v0, V, r->h0, H, 0.0f, r->gW, H);
    amx_gemm(false, true, B, V, H, 1.0f, r->hs, H, r->W, H, 0.0f, r->v1, V);
    amx_gemm(false, false, B, H, V, 1.0f, r->v1, V, r->W, H, 0.0f, r->h1, H);
    amx_gemm(true, false, V, H, B, -1.0f / B, r->v1, V, r->h1, H, 1.0f, r->gW, H);
}

/* The same 5 calls as bf16 products of the operands' bf16 copies, the f32
 * results into the same buffers (nothing converted). */
static void gemm_rbm_batch16(struct rbm_bufs *r, int B)
{
    const int V = r->V, H = r->H;
    amx_gemm_bf16h(false, false, B, H, V, 1.0f, r->v0h, V, r->W16, H, 0.0f, r->h0, H);
    amx_gemm_bf16h(true, false, V, H, B, 1.0f / B, r->v0h, V, r->h0h, H, 0.0f, r->gW, H);
    amx_gemm_bf16h(false, true, B, V, H, 1.0f, r->hsh, H, r->W16, H, 0.0f, r->v1, V);
    amx_gemm_bf16h(false, false, B, H, V, 1.0f, r->v1h, V, r->W16, H, 0.0f, r->h1, H);
    amx_gemm_bf16h(true, false, V, H, B, -1.0f / B, r->v1h, V, r->h1h, H, 1.0f, r->gW, H);
}

/* ---- our fine-tuning -------------------------------------------------- */

/* The update is cut into AMX_NN_SPLIT parts (amx_net_tensor_part),
 * one optimizer each, run on the autoencoder's threads
 * (amx_net_run_parts); or, with serial_update, one optimizer over
 * the whole tensors on the calling thread. */
struct trainer {
    struct amx_net ae;
    struct amx_optimizer *opt[AMX_NN_SPLIT];
    bool serial_update;
    float *batch;
    uint32_t *perm;
    size_t next;
};

static struct amx_rule_binding bind(const char *selector, const char *rule, double eta0)
{
    struct amx_rule_binding b;
    memset(&b, 0, sizeof b);
    snprintf(b.selector, sizeof b.selector, "%s", selector);
    amx_rule_spec_defaults(&b.spec, amx_rule_find(rule));
    b.spec.eta0 = eta0;
    return b;
}

static void trainer_init(struct trainer *t, bool adamix, int threads, bool serial_update,
                         enum amx_precision prec, struct amx_rng *r)
{
    struct amx_error err;
    memset(t, 0, sizeof *t);
    if (amx_autoencoder_init(&t->ae, sizes, L, AMX_UNIT_LOGISTIC, AMX_UNIT_LINEAR,
                             AMX_UNIT_LOGISTIC, BATCH, &err) != AMX_OK ||
        amx_net_set_threads(&t->ae, threads, &err) != AMX_OK ||
        amx_net_set_precision(&t->ae, prec, &err) != AMX_OK) {
        fprintf(stderr, "bench_finetune: %s\n", err.msg);
        exit(1);
    }
    amx_net_init_random(&t->ae, 0.1, r);
    struct amx_rule_binding constant[] = {bind("all", "constant", 0.01)};
    struct amx_rule_binding mix[] = {bind("weights", "current-gradient", 0.01),
                                     bind("biases", "power-exponential", 0.01)};
    t->serial_update = serial_update;
    for (int p = 0; p < (serial_update ? 1 : AMX_NN_SPLIT); p++) {
        struct amx_param_tensor tensors[2 * ND];
        size_t nt = serial_update ? amx_net_tensors(&t->ae, tensors)
                                  : amx_net_tensor_part(&t->ae, p, AMX_NN_SPLIT, tensors);
        if (amx_optimizer_init(&t->opt[p], tensors, nt, adamix ? mix : constant, adamix ? 2 : 1,
                               &err) != AMX_OK) {
            fprintf(stderr, "bench_finetune: %s\n", err.msg);
            exit(1);
        }
        amx_optimizer_epoch_begin(t->opt[p], 0);
    }
    t->batch = xmalloc(sizeof(float) * BATCH * 784);
    t->perm = xmalloc(sizeof(uint32_t) * N_DATA);
    for (uint32_t i = 0; i < N_DATA; i++)
        t->perm[i] = i;
    amx_rng_shuffle(r, t->perm, N_DATA);
}

static void trainer_free(struct trainer *t)
{
    for (int p = 0; p < AMX_NN_SPLIT; p++)
        amx_optimizer_free(t->opt[p]);
    amx_net_free(&t->ae);
    free(t->batch);
    free(t->perm);
}

static void update_part(void *ctx, int part, int n_parts)
{
    (void)n_parts;
    struct trainer *t = ctx;
    amx_optimizer_step(t->opt[part]);
}

/* One step as the run module makes it: gather, train_step, update. */
static void trainer_step(struct trainer *t, const float *data)
{
    if (t->next + BATCH > N_DATA) t->next = 0;
    for (int b = 0; b < BATCH; b++)
        memcpy(t->batch + (size_t)b * 784, data + (size_t)t->perm[t->next + b] * 784,
               sizeof(float) * 784);
    t->next += BATCH;
    double loss = amx_autoencoder_train_step(&t->ae, t->batch, BATCH, AMX_LOSS_CROSS_ENTROPY);
    if (loss != loss) {
        fprintf(stderr, "bench_finetune: the loss became NaN\n");
        exit(1);
    }
    if (t->serial_update)
        amx_optimizer_step(t->opt[0]);
    else
        amx_net_run_parts(&t->ae, update_part, t);
}

/* ---- main ------------------------------------------------------------- */

enum {
    M_GEMM1,     /* 23 calls, 1 BLAS thread */
    M_GEMM2,     /* 23 calls, 2 OpenBLAS threads */
    M_CONST1,    /* our step, constant rule, 1 thread */
    M_MIX1,      /* AdaMix, 1 thread */
    M_CONST2,    /* constant, 2 threads */
    M_MIX2,      /* AdaMix, 2 threads */
    M_MIX2S,     /* AdaMix, 2 threads, the update on one thread */
    M_SPLIT1,    /* the split step's 39 products (gemm_split_step), 1 thread */
    M_EVALGEMM1, /* 8 forward calls */
    M_EVAL1,     /* amx_autoencoder_recon_error, 1 thread */
    M_EVAL2,     /* 2 threads */
    M_RBMGEMM1,  /* 5 calls per batch */
    M_RBM1,      /* amx_rbm_train_epoch, 1 thread */
    M_RBM2,      /* 2 threads */
    N_MEASURES
};

static const char *const names[N_MEASURES] = {"gemm_limit_1t",
                                              "gemm_limit_2t_openblas",
                                              "finetune_constant_1t",
                                              "finetune_adamix_1t",
                                              "finetune_constant_2t",
                                              "finetune_adamix_2t",
                                              "finetune_adamix_2t_serial_update",
                                              "split_gemm_limit_1t",
                                              "eval_gemm_limit_1t",
                                              "eval_1t",
                                              "eval_2t",
                                              "rbm_gemm_limit_1t",
                                              "rbm_cd1_1t",
                                              "rbm_cd1_2t"};

/* ---- the other backends and precisions ------------------------------- */

enum {
    V_MIX1,
    V_MIX2,
    V_CONST1,
    V_EVAL1,
    V_RBM1,
    V_GEMM1,
    V_EVALGEMM1,
    V_RBMGEMM1,
    V_SPLITGEMM1,
    N_VMEASURES
};
static const char *const vnames[N_VMEASURES] = {
    "finetune_adamix_1t", "finetune_adamix_2t", "finetune_constant_1t", "eval_1t",
    "rbm_cd1_1t",         "gemm_limit_1t",      "eval_gemm_limit_1t",   "rbm_gemm_limit_1t",
    "split_gemm_limit_1t"};

struct variant {
    const char *backend, *tag;
    enum amx_precision prec;
    bool on;              /* available in this build, on this CPU */
    struct trainer tr[3]; /* AdaMix 1t, AdaMix 2t, constant 1t */
    struct amx_net ev;
    struct amx_rbm rbm;
    double t[N_VMEASURES][MAX_REPS];
};

static void select_backend(const char *name)
{
    struct amx_error err;
    if (amx_blas_select(name, &err) != AMX_OK) {
        fprintf(stderr, "bench_finetune: %s\n", err.msg);
        exit(1);
    }
}

/* Makes variant v's models if its backend and precision are available here
 * (weights from the same stream as the OpenBLAS ones' sizes, not values:
 * speed does not depend on them). */
static void variant_init(struct variant *v, struct amx_rng *r)
{
    size_t bi = 0;
    while (bi < amx_blas_backend_count() && strcmp(amx_blas_backend_name(bi), v->backend) != 0)
        bi++;
    v->on = bi < amx_blas_backend_count() && !amx_blas_backend_unavailable(bi);
    if (!v->on) return;
    select_backend(v->backend);
    if (amx_blas_precision_unavailable(v->prec)) {
        v->on = false;
        select_backend("openblas");
        return;
    }
    struct amx_error err;
    trainer_init(&v->tr[0], true, 1, false, v->prec, r);
    trainer_init(&v->tr[1], true, 2, false, v->prec, r);
    trainer_init(&v->tr[2], false, 1, false, v->prec, r);
    if (amx_autoencoder_init(&v->ev, sizes, L, AMX_UNIT_LOGISTIC, AMX_UNIT_LINEAR,
                             AMX_UNIT_LOGISTIC, BATCH, &err) != AMX_OK ||
        amx_net_set_precision(&v->ev, v->prec, &err) != AMX_OK ||
        amx_rbm_init(&v->rbm, 784, 1000, false, BATCH, &err) != AMX_OK ||
        amx_rbm_set_precision(&v->rbm, v->prec, &err) != AMX_OK) {
        fprintf(stderr, "bench_finetune: %s\n", err.msg);
        exit(1);
    }
    amx_net_init_random(&v->ev, 0.1, r);
    amx_rbm_init_weights(&v->rbm, 0.1, r);
    select_backend("openblas");
}

static void variant_free(struct variant *v)
{
    if (!v->on) return;
    for (int i = 0; i < 3; i++)
        trainer_free(&v->tr[i]);
    amx_net_free(&v->ev);
    amx_rbm_free(&v->rbm);
}

/* One repetition of every measure of v, its backend selected meanwhile. */
static void variant_rep(struct variant *v, int rep, const float *data, int steps, double images,
                        size_t rbm_rows, const struct amx_rbm_hparams *hp, struct amx_rng *order,
                        struct amx_rng *sample, struct gemm_bufs *g, struct rbm_bufs *rb)
{
    if (!v->on) return;
    select_backend(v->backend);
    struct amx_error err;
    double t0 = now();
    for (int s = 0; s < steps; s++) /* this backend's own limit, at its precision */
        if (v->prec == AMX_PRECISION_BF16)
            gemm_step16(g, BATCH);
        else
            gemm_step(g, BATCH);
    v->t[V_GEMM1][rep] = now() - t0;
    t0 = now(); /* the evaluation's and the RBM's limits likewise */
    for (int s = 0; s < steps; s++)
        if (v->prec == AMX_PRECISION_BF16)
            gemm_forward16(g, BATCH);
        else
            gemm_forward(g, BATCH);
    v->t[V_EVALGEMM1][rep] = now() - t0;
    t0 = now();
    for (size_t s = 0; s < rbm_rows; s += BATCH)
        if (v->prec == AMX_PRECISION_BF16)
            gemm_rbm_batch16(rb, BATCH);
        else
            gemm_rbm_batch(rb, BATCH);
    v->t[V_RBMGEMM1][rep] = now() - t0;
    t0 = now();
    for (int s = 0; s < steps; s++)
        gemm_split_step(g, BATCH, v->prec == AMX_PRECISION_BF16);
    v->t[V_SPLITGEMM1][rep] = now() - t0;
    for (int i = 0; i < 3; i++) {
        t0 = now();
        for (int s = 0; s < steps; s++)
            trainer_step(&v->tr[i], data);
        v->t[V_MIX1 + i][rep] = now() - t0;
    }
    t0 = now();
    amx_autoencoder_recon_error(&v->ev, data, (size_t)images);
    v->t[V_EVAL1][rep] = now() - t0;
    t0 = now();
    amx_rbm_train_epoch(&v->rbm, data, rbm_rows, BATCH, hp, rep, order, sample, NULL, &err);
    v->t[V_RBM1][rep] = now() - t0;
    select_backend("openblas");
}

int main(int argc, char **argv)
{
    int reps = argc > 1 ? atoi(argv[1]) : 11;
    int steps = argc > 2 ? atoi(argv[2]) : 10;
    if (reps < 1 || reps > MAX_REPS) reps = 11;
    if (steps < 1) steps = 10;
    const double images = (double)steps * BATCH;

    amx_blas_set_threads(1);
    struct amx_rng r;
    amx_rng_stream(&r, 2016, 0, AMX_STREAM_USER + 77);
    float *data = xmalloc(sizeof(float) * N_DATA * 784);
    for (size_t i = 0; i < (size_t)N_DATA * 784; i++)
        data[i] = amx_rng_uniform(&r);

    struct gemm_bufs g;
    gemm_bufs_init(&g, &r);
    enum { N_TR = 5 }; /* constant 1t, AdaMix 1t, constant 2t, AdaMix 2t, AdaMix 2t serial */
    struct trainer tr[N_TR];
    for (int i = 0; i < N_TR; i++)
        trainer_init(&tr[i], i == 4 || (i & 1), i < 2 ? 1 : 2, i == 4, AMX_PRECISION_FP32, &r);
    struct amx_net ev1, ev2; /* evaluation: a copy of tr[0]'s sizes */
    struct amx_error err;
    if (amx_autoencoder_init(&ev1, sizes, L, AMX_UNIT_LOGISTIC, AMX_UNIT_LINEAR, AMX_UNIT_LOGISTIC,
                             BATCH, &err) != AMX_OK ||
        amx_autoencoder_init(&ev2, sizes, L, AMX_UNIT_LOGISTIC, AMX_UNIT_LINEAR, AMX_UNIT_LOGISTIC,
                             BATCH, &err) != AMX_OK ||
        amx_net_set_threads(&ev2, 2, &err) != AMX_OK) {
        fprintf(stderr, "bench_finetune: %s\n", err.msg);
        return 1;
    }
    amx_net_init_random(&ev1, 0.1, &r);
    memcpy(ev2.params, ev1.params, sizeof(float) * ev1.n_params);
    static struct variant variants[] = {
        {.backend = "onednn", .tag = "onednn_fp32"},
        {.backend = "onednn", .tag = "onednn_bf16", .prec = AMX_PRECISION_BF16}};
    enum { N_VARIANTS = sizeof variants / sizeof *variants };
    for (int v = 0; v < N_VARIANTS; v++)
        variant_init(&variants[v], &r);

    /* RBM 784 x 1000, CD-1, one epoch over `images` rows of the data */
    const int V = 784, H = 1000;
    struct amx_rbm rbm, rbm2;
    if (amx_rbm_init(&rbm, V, H, false, BATCH, &err) != AMX_OK ||
        amx_rbm_init(&rbm2, V, H, false, BATCH, &err) != AMX_OK ||
        amx_rbm_set_threads(&rbm2, 2, &err) != AMX_OK) {
        fprintf(stderr, "bench_finetune: %s\n", err.msg);
        return 1;
    }
    amx_rbm_init_weights(&rbm, 0.1, &r);
    memcpy(rbm2.W, rbm.W, sizeof(float) * V * H);
    struct amx_rbm_hparams hp = {0.1, 0.5, 0.9, 5, 0.0002, 1};
    struct amx_rng order, sample;
    amx_rng_stream(&order, 2016, 0, AMX_STREAM_USER + 78);
    amx_rng_stream(&sample, 2016, 0, AMX_STREAM_USER + 79);
    size_t rbm_rows = (size_t)images < N_DATA ? (size_t)images : N_DATA;
    struct rbm_bufs rb = {.V = V, .H = H};
    rb.W = xmalloc(sizeof(float) * V * H), rb.gW = xmalloc(sizeof(float) * V * H);
    rb.v0 = xmalloc(sizeof(float) * BATCH * V), rb.v1 = xmalloc(sizeof(float) * BATCH * V);
    rb.h0 = xmalloc(sizeof(float) * BATCH * H), rb.hs = xmalloc(sizeof(float) * BATCH * H);
    rb.h1 = xmalloc(sizeof(float) * BATCH * H);
    memcpy(rb.W, rbm.W, sizeof(float) * V * H);
    memcpy(rb.v0, data, sizeof(float) * BATCH * V);
    memcpy(rb.v1, data + BATCH * V, sizeof(float) * BATCH * V);
    for (size_t i = 0; i < (size_t)BATCH * H; i++) {
        rb.hs[i] = amx_rng_uniform(&r) < 0.5f ? 1.0f : 0.0f;
        rb.h0[i] = rb.h1[i] = amx_rng_uniform(&r);
    }
    rb.W16 = copy16(rb.W, (size_t)V * H);
    rb.v0h = copy16(rb.v0, (size_t)BATCH * V), rb.v1h = copy16(rb.v1, (size_t)BATCH * V);
    rb.h0h = copy16(rb.h0, (size_t)BATCH * H), rb.hsh = copy16(rb.hs, (size_t)BATCH * H);
    rb.h1h = copy16(rb.h1, (size_t)BATCH * H);

    /* warm up every path once */
    gemm_step(&g, BATCH);
    for (int i = 0; i < N_TR; i++)
        trainer_step(&tr[i], data);
    amx_autoencoder_recon_error(&ev1, data, BATCH);
    amx_autoencoder_recon_error(&ev2, data, BATCH);
    static double warm[N_VMEASURES][MAX_REPS]; /* the warm-up's times, discarded */
    for (int v = 0; v < N_VARIANTS; v++)
        if (variants[v].on) {
            variant_rep(&variants[v], 0, data, 1, BATCH, BATCH, &hp, &order, &sample, &g, &rb);
            memcpy(variants[v].t, warm, sizeof warm);
        }

    static double t[N_MEASURES][MAX_REPS];
    for (int rep = 0; rep < reps; rep++) {
        double t0;
        t0 = now();
        for (int s = 0; s < steps; s++)
            gemm_step(&g, BATCH);
        t[M_GEMM1][rep] = now() - t0;

        for (int i = 0; i < N_TR; i++) {
            t0 = now();
            for (int s = 0; s < steps; s++)
                trainer_step(&tr[i], data);
            t[M_CONST1 + i][rep] = now() - t0;
        }

        amx_blas_set_threads(2);
        t0 = now();
        for (int s = 0; s < steps; s++)
            gemm_step(&g, BATCH);
        t[M_GEMM2][rep] = now() - t0;
        amx_blas_set_threads(1);

        t0 = now();
        for (int s = 0; s < steps; s++)
            gemm_forward(&g, BATCH);
        t[M_EVALGEMM1][rep] = now() - t0;
        t0 = now();
        amx_autoencoder_recon_error(&ev1, data, (size_t)images);
        t[M_EVAL1][rep] = now() - t0;
        t0 = now();
        amx_autoencoder_recon_error(&ev2, data, (size_t)images);
        t[M_EVAL2][rep] = now() - t0;

        t0 = now();
        for (size_t s = 0; s < rbm_rows; s += BATCH)
            gemm_rbm_batch(&rb, BATCH);
        t[M_RBMGEMM1][rep] = now() - t0;
        t0 = now();
        amx_rbm_train_epoch(&rbm, data, rbm_rows, BATCH, &hp, rep, &order, &sample, NULL, &err);
        t[M_RBM1][rep] = now() - t0;
        t0 = now();
        amx_rbm_train_epoch(&rbm2, data, rbm_rows, BATCH, &hp, rep, &order, &sample, NULL, &err);
        t[M_RBM2][rep] = now() - t0;
        t0 = now();
        for (int s = 0; s < steps; s++)
            gemm_split_step(&g, BATCH, false);
        t[M_SPLIT1][rep] = now() - t0;

        for (int v = 0; v < N_VARIANTS; v++)
            variant_rep(&variants[v], rep, data, steps, images, rbm_rows, &hp, &order, &sample, &g,
                        &rb);
    }

    double med[N_MEASURES], ips[N_MEASURES];
    for (int m = 0; m < N_MEASURES; m++) {
        med[m] = median(t[m], reps);
        double n = m >= M_RBMGEMM1 ? (double)rbm_rows : images;
        ips[m] = n / med[m];
    }
    const double step_gflop = 1.543, rbm_gflop = 0.784; /* per batch of 100 */
    printf("bench_finetune: 784-1000-500-250-30, batch %d, cross-entropy; OpenBLAS core %s\n",
           BATCH, amx_blas_corename());
    printf("medians of %d repetitions of %.0f images, interleaved\n\n", reps, images);
    printf("%-34s %10s %10s %8s\n", "measure", "images/s", "ms/batch", "GFLOP/s");
    for (int m = 0; m < N_MEASURES; m++) {
        double ms = 1e3 * med[m] / (m >= M_RBMGEMM1 ? (double)rbm_rows : images) * BATCH;
        double gf = m >= M_RBMGEMM1                                      ? rbm_gflop
                    : (m == M_EVALGEMM1 || m == M_EVAL1 || m == M_EVAL2) ? 0.5666
                                                                         : step_gflop;
        printf("%-34s %10.0f %10.2f %8.1f\n", names[m], ips[m], ms, gf / (ms * 1e-3));
    }
    double eff_c1 = med[M_GEMM1] / med[M_CONST1], eff_m1 = med[M_GEMM1] / med[M_MIX1];
    double eff_c2 = med[M_GEMM2] / med[M_CONST2], eff_m2 = med[M_GEMM2] / med[M_MIX2];
    printf("\nGEMM efficiency, constant, 1 thread   %.3f\n", eff_c1);
    printf("GEMM efficiency, AdaMix, 1 thread     %.3f\n", eff_m1);
    printf("vs 2-thread OpenBLAS limit, constant  %.3f\n", eff_c2);
    printf("vs 2-thread OpenBLAS limit, AdaMix    %.3f\n", eff_m2);
    printf("2 threads / 1 thread, constant        %.3f\n", med[M_CONST1] / med[M_CONST2]);
    printf("2 threads / 1 thread, AdaMix          %.3f\n", med[M_MIX1] / med[M_MIX2]);
    printf("  the same, update on one thread      %.3f\n", med[M_MIX1] / med[M_MIX2S]);
    printf("OpenBLAS 2 threads / 1 (GEMM only)    %.3f\n", med[M_GEMM1] / med[M_GEMM2]);
    printf("evaluation GEMM efficiency, 1 thread  %.3f\n", med[M_EVALGEMM1] / med[M_EVAL1]);
    printf("evaluation 2 threads / 1 thread       %.3f\n", med[M_EVAL1] / med[M_EVAL2]);
    printf("RBM CD-1 GEMM efficiency, 1 thread    %.3f\n", med[M_RBMGEMM1] / med[M_RBM1]);
    printf("RBM CD-1 2 threads / 1 thread         %.3f\n", med[M_RBM1] / med[M_RBM2]);
    printf("split step's products / unsplit       %.3f\n", med[M_GEMM1] / med[M_SPLIT1]);

    printf("\nRESULT corename %s\n", amx_blas_corename());
    for (int m = 0; m < N_MEASURES; m++)
        printf("RESULT %s %.1f\n", names[m], ips[m]);
    printf("RESULT eff_constant_1t %.4f\nRESULT eff_adamix_1t %.4f\n", eff_c1, eff_m1);
    printf("RESULT speedup_constant_2t %.4f\nRESULT speedup_adamix_2t %.4f\n",
           med[M_CONST1] / med[M_CONST2], med[M_MIX1] / med[M_MIX2]);
    printf("RESULT speedup_adamix_2t_serial_update %.4f\n", med[M_MIX1] / med[M_MIX2S]);
    printf("RESULT eff_eval_1t %.4f\nRESULT speedup_eval_2t %.4f\n",
           med[M_EVALGEMM1] / med[M_EVAL1], med[M_EVAL1] / med[M_EVAL2]);
    printf("RESULT eff_rbm_1t %.4f\n", med[M_RBMGEMM1] / med[M_RBM1]);
    printf("RESULT speedup_rbm_2t %.4f\n", med[M_RBM1] / med[M_RBM2]);

    for (int v = 0; v < N_VARIANTS; v++) {
        struct variant *va = &variants[v];
        if (!va->on) {
            printf("\n%s: not available in this build or on this CPU\n", va->tag);
            continue;
        }
        select_backend(va->backend);
        char impls[512];
        amx_blas_backend_impls(impls, sizeof impls);
        printf("\n%s (%s, ISA %s; %s)\n", va->tag, amx_blas_backend_version(),
               amx_blas_backend_isa(), impls);
        printf("RESULT %s_isa %s\n", va->tag, amx_blas_backend_isa());
        select_backend("openblas");
        for (int m = 0; m < N_VMEASURES; m++) {
            double n = m == V_RBM1 || m == V_RBMGEMM1 ? (double)rbm_rows : images;
            double ips_v = n / median(va->t[m], reps);
            printf("%-34s %10.0f images/s\n", vnames[m], ips_v);
            printf("RESULT %s_%s %.1f\n", va->tag, vnames[m], ips_v);
        }
        /* The most a step, an evaluation or an RBM epoch on this backend can
         * gain over the OpenBLAS limit: its own products against OpenBLAS's,
         * the same calls in the same process. */
        double cs = med[M_GEMM1] / median(va->t[V_GEMM1], reps);
        double ce = med[M_EVALGEMM1] / median(va->t[V_EVALGEMM1], reps);
        double cr = med[M_RBMGEMM1] / median(va->t[V_RBMGEMM1], reps);
        double cp = med[M_GEMM1] / median(va->t[V_SPLITGEMM1], reps);
        double ef = median(va->t[V_SPLITGEMM1], reps) / median(va->t[V_MIX1], reps);
        printf("products / OpenBLAS's (the ceiling): step %.3f, evaluation %.3f, RBM %.3f\n", cs,
               ce, cr);
        printf("the split step's products / OpenBLAS limit %.3f; AdaMix step / its products %.3f\n",
               cp, ef);
        printf("RESULT %s_ceiling_split %.4f\nRESULT %s_eff_split_adamix_1t %.4f\n", va->tag, cp,
               va->tag, ef);
        printf("RESULT %s_ceiling_step %.4f\nRESULT %s_ceiling_eval %.4f\n", va->tag, cs, va->tag,
               ce);
        printf("RESULT %s_ceiling_rbm %.4f\n", va->tag, cr);
    }

    for (int v = 0; v < N_VARIANTS; v++)
        variant_free(&variants[v]);
    for (int i = 0; i < N_TR; i++)
        trainer_free(&tr[i]);
    amx_net_free(&ev1);
    amx_net_free(&ev2);
    amx_rbm_free(&rbm);
    amx_rbm_free(&rbm2);
    gemm_bufs_free(&g);
    free(rb.W), free(rb.gW), free(rb.v0), free(rb.v1), free(rb.h0), free(rb.hs), free(rb.h1);
    free(rb.W16), free(rb.v0h), free(rb.v1h), free(rb.h0h), free(rb.hsh), free(rb.h1h);
    free(data);
    return 0;
}
