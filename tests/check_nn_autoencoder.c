/* Tests of the autoencoder of src/nn/net.c against independent truths:
 * every parameter tensor's gradient against central differences of a
 * double-precision forward pass written here (fd_check of nn_testlib.h), for
 * both losses and every unit type, also for a network with a layer narrower
 * than AMX_NN_SPLIT, on every matrix-product backend of the build; the
 * reconstruction error against the same double forward; unrolling against
 * the transposes; threads and parts bit-identical; and fine-tuning lowers
 * the error of the 300 real digits of tests/data. */
#include "adamix/nn.h"
#include "nn_testlib.h"
#include "testutil.h"

#include <check.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------------- */
/* Double-precision reference of the autoencoder                          */

/* Shapes from the sizes alone (not from the library's structs). */
static int ref_shapes(const int *s, int L, int *in, int *out)
{
    int nd = 2 * (L - 1);
    for (int l = 0; l < nd; l++) {
        in[l] = l < L - 1 ? s[l] : s[nd - l];
        out[l] = l < L - 1 ? s[l + 1] : s[nd - l - 1];
    }
    return nd;
}

/* Mean over the B images of the loss (or of the squared error when loss < 0)
 * of the network with parameters p in slab layout (W row-major in x out, then
 * b, layer by layer), computed in double. Units from hidden/code/output. */
static double ref_loss(const int *s, int L, enum amx_unit hidden, enum amx_unit code,
                       enum amx_unit output, const double *p, const float *x, int B, int loss)
{
    int in[32], out[32];
    int nd = ref_shapes(s, L, in, out);
    double total = 0.0;
    for (int b = 0; b < B; b++) {
        double a[256], z[256];
        int w = s[0];
        for (int i = 0; i < w; i++)
            a[i] = x[b * s[0] + i];
        const double *q = p;
        for (int l = 0; l < nd; l++) {
            const double *W = q, *bias = q + in[l] * out[l];
            q = bias + out[l];
            enum amx_unit u = l == nd - 1 ? output : l == L - 2 ? code : hidden;
            for (int j = 0; j < out[l]; j++) {
                z[j] = bias[j];
                for (int i = 0; i < in[l]; i++)
                    z[j] += a[i] * W[i * out[l] + j];
            }
            for (int j = 0; j < out[l]; j++)
                a[j] = unit_f(u, z[j]);
        }
        for (int j = 0; j < s[0]; j++) {
            double t = x[b * s[0] + j];
            if (loss == AMX_LOSS_CROSS_ENTROPY)
                total -= t * log(a[j]) + (1 - t) * log(1 - a[j]);
            else
                total += (a[j] - t) * (a[j] - t);
        }
    }
    return total / B;
}

static void fill_params(struct amx_net *ae, float lo, float hi, uint32_t purpose)
{
    struct amx_rng r = test_rng(purpose);
    fill_uniform(ae->params, ae->n_params, lo, hi, &r);
}

struct gcase {
    enum amx_loss loss;
    enum amx_unit hidden, code, output;
};

static const struct gcase gcases[] = {
    /* cross_entropy: logistic output; every hidden and code unit */
    {AMX_LOSS_CROSS_ENTROPY, AMX_UNIT_LOGISTIC, AMX_UNIT_LINEAR, AMX_UNIT_LOGISTIC},
    {AMX_LOSS_CROSS_ENTROPY, AMX_UNIT_LOGISTIC, AMX_UNIT_LOGISTIC, AMX_UNIT_LOGISTIC},
    {AMX_LOSS_CROSS_ENTROPY, AMX_UNIT_RELU, AMX_UNIT_LINEAR, AMX_UNIT_LOGISTIC},
    {AMX_LOSS_CROSS_ENTROPY, AMX_UNIT_RELU, AMX_UNIT_LOGISTIC, AMX_UNIT_LOGISTIC},
    {AMX_LOSS_CROSS_ENTROPY, AMX_UNIT_TANH, AMX_UNIT_LINEAR, AMX_UNIT_LOGISTIC},
    {AMX_LOSS_CROSS_ENTROPY, AMX_UNIT_TANH, AMX_UNIT_LOGISTIC, AMX_UNIT_LOGISTIC},
    /* squared_error: linear and logistic output (and tanh / relu once) */
    {AMX_LOSS_SQUARED_ERROR, AMX_UNIT_LOGISTIC, AMX_UNIT_LINEAR, AMX_UNIT_LOGISTIC},
    {AMX_LOSS_SQUARED_ERROR, AMX_UNIT_LOGISTIC, AMX_UNIT_LOGISTIC, AMX_UNIT_LINEAR},
    {AMX_LOSS_SQUARED_ERROR, AMX_UNIT_RELU, AMX_UNIT_LINEAR, AMX_UNIT_LINEAR},
    {AMX_LOSS_SQUARED_ERROR, AMX_UNIT_RELU, AMX_UNIT_LOGISTIC, AMX_UNIT_LOGISTIC},
    {AMX_LOSS_SQUARED_ERROR, AMX_UNIT_TANH, AMX_UNIT_LINEAR, AMX_UNIT_LOGISTIC},
    {AMX_LOSS_SQUARED_ERROR, AMX_UNIT_TANH, AMX_UNIT_LOGISTIC, AMX_UNIT_LINEAR},
    {AMX_LOSS_SQUARED_ERROR, AMX_UNIT_LOGISTIC, AMX_UNIT_LINEAR, AMX_UNIT_TANH},
    {AMX_LOSS_SQUARED_ERROR, AMX_UNIT_TANH, AMX_UNIT_LINEAR, AMX_UNIT_RELU},
};

/* ref_loss as fd_check's objective. */
struct ref_ctx {
    const int *sizes;
    int L;
    const struct gcase *gc;
    const double *p;
    const float *x;
    int B;
};

static double ref_objective(void *ctx)
{
    const struct ref_ctx *c = ctx;
    return ref_loss(c->sizes, c->L, c->gc->hidden, c->gc->code, c->gc->output, c->p, c->x, c->B,
                    (int)c->gc->loss);
}

/* Every gradient entry of every tensor of the network of sizes s_0..s_{L-1}
 * (the 6-4-3-2 network has 106) against a central difference of the double
 * reference (h = 1e-5, truncation error ~1e-10), for gradient case gc and
 * streams from seed. Tolerance: |g - fd| <= 1e-6 + 1e-3 |fd|, well above the
 * float rounding of the library's backward pass (relative ~1e-6) and far
 * below any missing factor or wrong derivative. Each tensor must have an
 * entry with |fd| > 1e-4 (100 times the absolute tolerance), so that the
 * check has something to fail on. Grads are poisoned with NaN first: every
 * entry must be overwritten. Then a second step, and one on two threads,
 * must give the same loss and gradients bit for bit. */
static void gradient_check(const int *sizes, int L, const struct gcase *gc, uint32_t seed)
{
    const int B = 4, max_batch = 5;
    struct amx_net ae;
    struct amx_error err;
    ck_assert_int_eq(
        amx_autoencoder_init(&ae, sizes, L, gc->hidden, gc->code, gc->output, max_batch, &err),
        AMX_OK);
    ck_assert_int_eq(amx_net_check_loss(&ae, gc->loss, &err), AMX_OK);
    /* weights large enough that the gradient reaches layer 1 through five
     * layers; positive biases keep relu units alive */
    struct amx_param_tensor t[2 * AMX_NN_MAX_DENSE];
    size_t nt = amx_net_tensors(&ae, t);
    ck_assert_uint_eq(nt, 4 * (size_t)(L - 1));
    struct amx_rng pr = test_rng(100 + seed);
    for (size_t k = 0; k < nt; k++)
        fill_uniform(t[k].theta, t[k].n, t[k].is_bias ? 0.0f : -1.5f, t[k].is_bias ? 0.8f : 1.5f,
                     &pr);
    float x[4 * 8];
    ck_assert_int_le(B * sizes[0], 4 * 8);
    struct amx_rng r = test_rng(200 + seed);
    fill_uniform(x, (size_t)B * sizes[0], 0, 1, &r);
    x[0] = 0, x[1] = 1; /* binary pixels too */

    for (size_t i = 0; i < ae.n_params; i++)
        ae.grads[i] = NAN;
    double loss = amx_autoencoder_train_step(&ae, x, B, gc->loss);

    double *p = malloc(sizeof(double) * ae.n_params);
    for (size_t i = 0; i < ae.n_params; i++)
        p[i] = ae.params[i];
    double ref = ref_loss(sizes, L, gc->hidden, gc->code, gc->output, p, x, B, (int)gc->loss);
    ck_assert_msg(fabs(loss - ref) <= 1e-5 * fabs(ref) + 1e-6, "case %u loss %.9g vs %.9g", seed,
                  loss, ref);

    struct ref_ctx rc = {sizes, L, gc, p, x, B};
    for (size_t k = 0; k < nt; k++) {
        char what[96];
        snprintf(what, sizeof what, "case %u %.40s", seed, t[k].name);
        double biggest = fd_check(ref_objective, &rc, p + (t[k].theta - ae.params), t[k].n,
                                  t[k].grad, 1e-5, 1e-6, 1e-3, what);
        ck_assert_msg(biggest > 1e-4, "case %u %s: gradient too small to test (%g)", seed,
                      t[k].name, biggest);
        if (getenv("NN_VERBOSE")) printf("case %u %s max |g| %g\n", seed, t[k].name, biggest);
    }
    /* a second step on the same batch gives the same gradients (no accumulation) */
    float *g1 = malloc(sizeof(float) * ae.n_params);
    memcpy(g1, ae.grads, sizeof(float) * ae.n_params);
    ck_assert(amx_autoencoder_train_step(&ae, x, B, gc->loss) == loss);
    ck_assert(memcmp(g1, ae.grads, sizeof(float) * ae.n_params) == 0);
    /* and so does a step split over two threads, bit for bit */
    ck_assert_int_eq(amx_net_set_threads(&ae, 2, &err), AMX_OK);
    for (size_t i = 0; i < ae.n_params; i++)
        ae.grads[i] = NAN;
    ck_assert(amx_autoencoder_train_step(&ae, x, B, gc->loss) == loss);
    ck_assert(memcmp(g1, ae.grads, sizeof(float) * ae.n_params) == 0);
    free(g1);
    free(p);
    amx_net_free(&ae);
}

#define N_GCASES (sizeof gcases / sizeof gcases[0])

#ifndef AMX_EXPECT_ONEDNN
#define AMX_EXPECT_ONEDNN 0
#endif

/* Loop index i of the gradient checks: case i % N_GCASES on backend
 * i / N_GCASES (blas.c's table). Selects it; false when this build lacks it
 * (allowed only for onednn in a build without oneDNN). */
static bool gradient_backend(int i)
{
    size_t b = (size_t)i / N_GCASES;
    const char *name = amx_blas_backend_name(b), *why = amx_blas_backend_unavailable(b);
    ck_assert_ptr_nonnull(name);
    if (why) {
        ck_assert_msg(strcmp(name, "onednn") == 0 && !AMX_EXPECT_ONEDNN, "%s unavailable: %s", name,
                      why);
        return false;
    }
    struct amx_error err;
    ck_assert_int_eq(amx_blas_select(name, &err), AMX_OK);
    amx_blas_set_threads(1);
    return true;
}

/* The 6-4-3-2 network: every width is split into two nonempty parts. */
START_TEST(test_gradient_check)
{
    const int sizes[4] = {6, 4, 3, 2};
    if (!gradient_backend(_i)) return;
    gradient_check(sizes, 4, &gcases[_i % N_GCASES], (uint32_t)(_i % N_GCASES));
}
END_TEST

/* A layer narrower than AMX_NN_SPLIT: in 5-3-1 the code layer (3 -> 1) has
 * one output column, so one of its column blocks is empty (its sum, unit,
 * db), and the decoder's first layer (1 -> 3) one input row, so one part of
 * its product is empty (zero partial product, no dW rows, no dX columns);
 * the 3-wide layers split 1 | 2. Every case of the table. */
START_TEST(test_gradient_check_narrow)
{
    const int sizes[3] = {5, 3, 1};
    ck_assert_int_lt(sizes[2], AMX_NN_SPLIT);
    if (!gradient_backend(_i)) return;
    gradient_check(sizes, 3, &gcases[_i % N_GCASES], 50 + (uint32_t)(_i % N_GCASES));
}
END_TEST

START_TEST(test_cross_entropy_needs_logistic)
{
    const int sizes[3] = {4, 3, 2};
    const enum amx_unit outs[3] = {AMX_UNIT_LINEAR, AMX_UNIT_RELU, AMX_UNIT_TANH};
    for (int u = 0; u < 3; u++) {
        struct amx_net ae;
        struct amx_error err = {0};
        ck_assert_int_eq(amx_autoencoder_init(&ae, sizes, 3, AMX_UNIT_LOGISTIC, AMX_UNIT_LINEAR,
                                              outs[u], 2, &err),
                         AMX_OK);
        ck_assert_int_eq(amx_net_check_loss(&ae, AMX_LOSS_CROSS_ENTROPY, &err), AMX_ERR_CONFIG);
        ck_assert_ptr_nonnull(strstr(err.msg, "logistic"));
        ck_assert_int_eq(amx_net_check_loss(&ae, AMX_LOSS_SQUARED_ERROR, &err), AMX_OK);
        for (size_t i = 0; i < ae.n_params; i++)
            ae.grads[i] = 7.0f;
        float x[8] = {0.1f, 0.2f, 0.3f, 0.4f, 0.5f, 0.6f, 0.7f, 0.8f};
        ck_assert(isnan(amx_autoencoder_train_step(&ae, x, 2, AMX_LOSS_CROSS_ENTROPY)));
        for (size_t i = 0; i < ae.n_params; i++)
            ck_assert(ae.grads[i] == 7.0f);
        amx_net_free(&ae);
    }
}
END_TEST

/* Threads: a network whose widths (>= 64) take the aligned block edges,
 * trained for a few plain gradient steps with 1, 2 and "5" threads (more
 * than AMX_NN_SPLIT count as AMX_NN_SPLIT): losses, gradients, parameters,
 * reconstructions and reconstruction errors bit-identical. The 1-thread
 * result is checked against the double reference (loss, recon error) and at
 * a few gradient entries on both sides of each block edge against central
 * differences, so "identical" is not "identically wrong". */
START_TEST(test_threads_bit_identical)
{
    const int sizes[4] = {150, 96, 70, 9}, L = 4, B = 11, max_batch = 13;
    const struct {
        enum amx_loss loss;
        enum amx_unit hidden, output;
    } cases[2] = {{AMX_LOSS_CROSS_ENTROPY, AMX_UNIT_LOGISTIC, AMX_UNIT_LOGISTIC},
                  {AMX_LOSS_SQUARED_ERROR, AMX_UNIT_RELU, AMX_UNIT_TANH}};
    struct amx_error err;
    ck_assert_int_eq(max_batch, 13);
    for (int c = 0; c < 2; c++) {
        struct amx_net ae[3];
        const int threads[3] = {1, 2, 5};
        for (int a = 0; a < 3; a++) {
            ck_assert_int_eq(amx_autoencoder_init(&ae[a], sizes, L, cases[c].hidden,
                                                  AMX_UNIT_LINEAR, cases[c].output, max_batch,
                                                  &err),
                             AMX_OK);
            ck_assert_int_eq(amx_net_set_threads(&ae[a], threads[a], &err), AMX_OK);
            fill_params(&ae[a], -0.3f, 0.3f, 60);
        }
        ck_assert_int_eq(ae[0].n_threads, 1);
        ck_assert_int_eq(ae[1].n_threads, 2);
        ck_assert_int_eq(ae[2].n_threads, AMX_NN_SPLIT);
        const size_t np = ae[0].n_params;
        float *x = malloc(sizeof(float) * 40 * 150);
        struct amx_rng r = test_rng(61);
        fill_uniform(x, 40 * 150, 0, 1, &r);

        /* the 1-thread step against the double reference */
        double *p = malloc(sizeof(double) * np);
        for (size_t i = 0; i < np; i++)
            p[i] = ae[0].params[i];
        double loss0 = amx_autoencoder_train_step(&ae[0], x, B, cases[c].loss);
        double ref = ref_loss(sizes, L, cases[c].hidden, AMX_UNIT_LINEAR, cases[c].output, p, x, B,
                              (int)cases[c].loss);
        ck_assert_msg(fabs(loss0 - ref) <= 1e-5 * fabs(ref), "case %d loss %.9g vs %.9g", c, loss0,
                      ref);
        /* entries on both sides of the block edges: layer 1 weights (150 x
         * 96: rows 71 | 72), layer 3 weights and biases (70 x 9: rows 31 | 32,
         * biases 3 | 4), layer 6 weights and biases (96 x 150: rows 47 | 48,
         * biases 71 | 72) */
        struct amx_param_tensor t[12];
        amx_net_tensors(&ae[0], t);
        const struct {
            int tensor, row, col;
        } probe[] = {{0, 71, 5}, {0, 72, 5},  {0, 149, 95},  {4, 31, 3},  {4, 32, 8},  {5, 0, 3},
                     {5, 0, 4},  {10, 47, 0}, {10, 48, 149}, {11, 0, 71}, {11, 0, 72}, {1, 0, 95}};
        for (size_t q = 0; q < sizeof probe / sizeof probe[0]; q++) {
            const struct amx_param_tensor *tt = &t[probe[q].tensor];
            int cols = tt->is_bias ? (int)tt->n : ae[0].layer[tt->layer - 1].out;
            size_t e = (size_t)probe[q].row * cols + probe[q].col;
            size_t i = (size_t)(tt->theta - ae[0].params) + e;
            const double h = 1e-5;
            double keep = p[i];
            p[i] = keep + h;
            double lp = ref_loss(sizes, L, cases[c].hidden, AMX_UNIT_LINEAR, cases[c].output, p, x,
                                 B, (int)cases[c].loss);
            p[i] = keep - h;
            double lm = ref_loss(sizes, L, cases[c].hidden, AMX_UNIT_LINEAR, cases[c].output, p, x,
                                 B, (int)cases[c].loss);
            p[i] = keep;
            double fd = (lp - lm) / (2 * h), g = tt->grad[e];
            ck_assert_msg(fabs(g - fd) <= 1e-6 + 2e-3 * fabs(fd), "case %d %s[%zu]: %.8g vs %.8g",
                          c, tt->name, e, g, fd);
        }
        double rec0 = amx_autoencoder_recon_error(&ae[0], x, 40);
        double rref =
            ref_loss(sizes, L, cases[c].hidden, AMX_UNIT_LINEAR, cases[c].output, p, x, 40, -1);
        ck_assert_msg(fabs(rec0 - rref) <= 1e-5 * rref, "case %d recon %.9g vs %.9g", c, rec0,
                      rref);
        free(p);

        /* the same steps on every autoencoder, bit for bit */
        for (int step = 0; step < 3; step++) {
            const float *xb = x + (size_t)step * 7 * 150;
            double l[3];
            for (int a = 0; a < 3; a++) {
                for (size_t i = 0; i < np; i++)
                    ae[a].grads[i] = NAN;
                l[a] = amx_autoencoder_train_step(&ae[a], xb, step ? max_batch : B, cases[c].loss);
                for (size_t i = 0; i < np; i++)
                    ae[a].params[i] -= 0.05f * ae[a].grads[i];
            }
            for (int a = 1; a < 3; a++) {
                ck_assert_msg(l[a] == l[0], "case %d step %d threads %d: loss %.17g vs %.17g", c,
                              step, threads[a], l[a], l[0]);
                ck_assert(memcmp(ae[a].grads, ae[0].grads, sizeof(float) * np) == 0);
                ck_assert(memcmp(ae[a].params, ae[0].params, sizeof(float) * np) == 0);
            }
        }
        double rec[3];
        for (int a = 0; a < 3; a++)
            rec[a] = amx_autoencoder_recon_error(&ae[a], x, 40); /* chunks 13, 13, 13, 1 */
        ck_assert(rec[1] == rec[0] && rec[2] == rec[0]);
        const float *o0 = amx_net_forward(&ae[0], x, 5);
        const float *o1 = amx_net_forward(&ae[1], x, 5);
        ck_assert(memcmp(o0, o1, sizeof(float) * 5 * 150) == 0);
        /* back to one thread, and bad counts */
        ck_assert_int_eq(amx_net_set_threads(&ae[1], 1, &err), AMX_OK);
        ck_assert(ae[1].pool == NULL && ae[1].n_threads == 1);
        ck_assert(amx_autoencoder_recon_error(&ae[1], x, 40) == rec[0]);
        ck_assert_int_eq(amx_net_set_threads(&ae[1], 0, &err), AMX_ERR_CONFIG);
        ck_assert_ptr_nonnull(strstr(err.msg, "threads"));
        for (int a = 0; a < 3; a++)
            amx_net_free(&ae[a]); /* joins the pool's threads */
        free(x);
    }
}
END_TEST

/* Tensor parts: the AMX_NN_SPLIT parts of each tensor follow each other and
 * cover it exactly, with the whole tensor's name and flags; a weight part is
 * whole rows, its edge a multiple of 8 rows when the input width is >= 64
 * (the step's blocks); other part counts are refused. */
START_TEST(test_tensor_parts)
{
    const int sizes[4] = {150, 96, 70, 9};
    struct amx_net ae;
    struct amx_error err;
    ck_assert_int_eq(amx_autoencoder_init(&ae, sizes, 4, AMX_UNIT_LOGISTIC, AMX_UNIT_LINEAR,
                                          AMX_UNIT_LOGISTIC, 4, &err),
                     AMX_OK);
    struct amx_param_tensor whole[12], part[AMX_NN_SPLIT][12];
    ck_assert_uint_eq(amx_net_tensors(&ae, whole), 12);
    const int np = AMX_NN_SPLIT;
    for (int p = 0; p < np; p++)
        ck_assert_uint_eq(amx_net_tensor_part(&ae, p, np, part[p]), 12);
    for (int i = 0; i < 12; i++) {
        const struct amx_dense *d = &ae.layer[whole[i].layer - 1];
        size_t at = 0;
        for (int p = 0; p < np; p++) {
            const struct amx_param_tensor *t = &part[p][i];
            ck_assert_str_eq(t->name, whole[i].name);
            ck_assert(t->layer == whole[i].layer && t->is_bias == whole[i].is_bias &&
                      t->part == whole[i].part);
            ck_assert_ptr_eq(t->theta, whole[i].theta + at);
            ck_assert_ptr_eq(t->grad, whole[i].grad + at);
            ck_assert(t->n > 0 && t->n < whole[i].n);
            if (!t->is_bias) {
                ck_assert_uint_eq(at % (size_t)d->out, 0);
                if (d->in >= 64) ck_assert_uint_eq(at / (size_t)d->out % 8, 0);
            }
            at += t->n;
        }
        ck_assert_uint_eq(at, whole[i].n);
    }
    ck_assert_uint_eq(amx_net_tensor_part(&ae, np, np, part[0]), 0);
    ck_assert_uint_eq(amx_net_tensor_part(&ae, -1, np, part[0]), 0);
    ck_assert_uint_eq(amx_net_tensor_part(&ae, 0, np + 1, part[0]), 0);
    amx_net_free(&ae);
}
END_TEST

struct parts_seen {
    int calls[AMX_NN_SPLIT], n_parts[AMX_NN_SPLIT];
    pthread_t who[AMX_NN_SPLIT];
};

static void note_part(void *ctx, int part, int n_parts)
{
    struct parts_seen *s = ctx;
    s->calls[part]++;
    s->n_parts[part] = n_parts;
    s->who[part] = pthread_self();
}

/* run_parts: every part exactly once; with 2 threads, part 0 on the caller's
 * thread and part 1 on the other. */
START_TEST(test_run_parts)
{
    const int sizes[3] = {8, 4, 2};
    struct amx_net ae;
    struct amx_error err;
    ck_assert_int_eq(amx_autoencoder_init(&ae, sizes, 3, AMX_UNIT_LOGISTIC, AMX_UNIT_LINEAR,
                                          AMX_UNIT_LOGISTIC, 4, &err),
                     AMX_OK);
    for (int n = 1; n <= 2; n++) {
        ck_assert_int_eq(amx_net_set_threads(&ae, n, &err), AMX_OK);
        for (int rep = 0; rep < 3; rep++) {
            struct parts_seen s;
            memset(&s, 0, sizeof s);
            amx_net_run_parts(&ae, note_part, &s);
            for (int k = 0; k < AMX_NN_SPLIT; k++) {
                ck_assert_int_eq(s.calls[k], 1);
                ck_assert_int_eq(s.n_parts[k], AMX_NN_SPLIT);
            }
            ck_assert(pthread_equal(s.who[0], pthread_self()));
            if (n == 2) ck_assert(!pthread_equal(s.who[1], pthread_self()));
        }
    }
    amx_net_free(&ae);
}
END_TEST

/* ---------------------------------------------------------------------- */
/* Autoencoder structure                                                  */

START_TEST(test_autoencoder_layout)
{
    const int sizes[4] = {6, 4, 3, 2};
    struct amx_net ae;
    struct amx_error err;
    ck_assert_int_eq(amx_autoencoder_init(&ae, sizes, 4, AMX_UNIT_TANH, AMX_UNIT_LINEAR,
                                          AMX_UNIT_LOGISTIC, 3, &err),
                     AMX_OK);
    ck_assert_int_eq(ae.n_layers, 6);
    /* 6*4+4 + 4*3+3 + 3*2+2 + 2*3+3 + 3*4+4 + 4*6+6 = 106 */
    ck_assert_uint_eq(ae.n_params, 106);
    ck_assert_uint_eq(amx_net_tensors(&ae, NULL), 12);
    struct amx_param_tensor t[12];
    ck_assert_uint_eq(amx_net_tensors(&ae, t), 12);
    const int ins[6] = {6, 4, 3, 2, 3, 4}, outs[6] = {4, 3, 2, 3, 4, 6};
    const enum amx_unit units[6] = {AMX_UNIT_TANH, AMX_UNIT_TANH, AMX_UNIT_LINEAR,
                                    AMX_UNIT_TANH, AMX_UNIT_TANH, AMX_UNIT_LOGISTIC};
    size_t off = 0;
    for (int l = 0; l < 6; l++) {
        char name[32];
        ck_assert_int_eq(ae.layer[l].in, ins[l]);
        ck_assert_int_eq(ae.layer[l].out, outs[l]);
        ck_assert_int_eq(ae.layer[l].unit, units[l]);
        for (int kind = 0; kind < 2; kind++) {
            const struct amx_param_tensor *p = &t[2 * l + kind];
            snprintf(name, sizeof name, "layer%d.%s", l + 1, kind ? "biases" : "weights");
            ck_assert_str_eq(p->name, name);
            ck_assert_int_eq(p->layer, l + 1);
            ck_assert(p->is_bias == (kind == 1));
            ck_assert_str_eq(p->part, l < 3 ? "encoder" : "decoder");
            ck_assert_uint_eq(p->n, kind ? (size_t)outs[l] : (size_t)ins[l] * outs[l]);
            /* contiguous, identical layout in both slabs */
            ck_assert_ptr_eq(p->theta, ae.params + off);
            ck_assert_ptr_eq(p->grad, ae.grads + off);
            off += p->n;
        }
    }
    ck_assert_uint_eq(off, ae.n_params);
    amx_net_free(&ae);
    amx_net_free(&ae); /* safe on a zeroed struct */
}
END_TEST

START_TEST(test_autoencoder_init_errors)
{
    struct amx_net ae;
    struct amx_error err;
    const int bad0[3] = {4, 0, 2}, ok[3] = {4, 3, 2};
    ck_assert_int_eq(amx_autoencoder_init(&ae, ok, 1, AMX_UNIT_LOGISTIC, AMX_UNIT_LINEAR,
                                          AMX_UNIT_LOGISTIC, 2, &err),
                     AMX_ERR_CONFIG);
    ck_assert(ae.params == NULL && ae.n_layers == 0);
    ck_assert_int_eq(amx_autoencoder_init(&ae, bad0, 3, AMX_UNIT_LOGISTIC, AMX_UNIT_LINEAR,
                                          AMX_UNIT_LOGISTIC, 2, &err),
                     AMX_ERR_CONFIG);
    ck_assert_ptr_nonnull(strstr(err.msg, "layer size 2"));
    ck_assert_int_eq(amx_autoencoder_init(&ae, ok, 3, AMX_UNIT_LOGISTIC, AMX_UNIT_LINEAR,
                                          AMX_UNIT_LOGISTIC, 0, &err),
                     AMX_ERR_CONFIG);
    amx_net_free(&ae);
    struct amx_rbm rbm;
    ck_assert_int_eq(amx_rbm_init(&rbm, 0, 3, false, 2, &err), AMX_ERR_CONFIG);
    ck_assert(rbm.W == NULL);
    amx_rbm_free(&rbm);
}
END_TEST

/* sizes whose slab size overflows size_t are refused
 * before anything is allocated (the old sum wrapped: [784, 2^30, 2147482862]
 * asked for a 0-byte slab and was accepted). The sizes below wrap the byte
 * count, the parameter count, and an RBM's V x H products. */
START_TEST(test_init_size_overflow)
{
    struct amx_net ae;
    struct amx_error err = {0};
    const int wrap_bytes[3] = {784, 1073741824, 2147482862};
    ck_assert_int_eq(amx_autoencoder_init(&ae, wrap_bytes, 3, AMX_UNIT_LOGISTIC, AMX_UNIT_LINEAR,
                                          AMX_UNIT_LOGISTIC, 100, &err),
                     AMX_ERR_NOMEM);
    ck_assert_ptr_nonnull(strstr(err.msg, "overflows"));
    ck_assert(ae.params == NULL && ae.acts == NULL);
    const int wrap_count[4] = {2147483647, 2147483647, 2147483647, 2147483647};
    ck_assert_int_eq(amx_autoencoder_init(&ae, wrap_count, 4, AMX_UNIT_LOGISTIC, AMX_UNIT_LINEAR,
                                          AMX_UNIT_LOGISTIC, 2147483647, &err),
                     AMX_ERR_NOMEM);
    ck_assert_ptr_nonnull(strstr(err.msg, "overflows"));
    amx_net_free(&ae);
    struct amx_rbm rbm;
    ck_assert_int_eq(amx_rbm_init(&rbm, 2147483647, 2147483647, false, 2147483647, &err),
                     AMX_ERR_NOMEM);
    ck_assert_ptr_nonnull(strstr(err.msg, "overflows"));
    ck_assert(rbm.slab == NULL);
    ck_assert_int_eq(amx_rbm_init(&rbm, 1073741824, 2147482862, false, 1, &err), AMX_ERR_NOMEM);
    ck_assert_ptr_nonnull(strstr(err.msg, "overflows"));
    amx_rbm_free(&rbm);
}
END_TEST

START_TEST(test_init_random)
{
    /* 50-80-40: weights of layers 1..4 N(0, 0.1^2) from the stream in layer
     * order, biases 0. Same stream -> same weights; the first layer's weights
     * are the first 4000 normals of the stream. */
    const int sizes[3] = {50, 80, 40};
    struct amx_net a, b;
    struct amx_error err;
    ck_assert_int_eq(amx_autoencoder_init(&a, sizes, 3, AMX_UNIT_LOGISTIC, AMX_UNIT_LINEAR,
                                          AMX_UNIT_LOGISTIC, 4, &err),
                     AMX_OK);
    ck_assert_int_eq(amx_autoencoder_init(&b, sizes, 3, AMX_UNIT_LOGISTIC, AMX_UNIT_LINEAR,
                                          AMX_UNIT_LOGISTIC, 4, &err),
                     AMX_OK);
    fill_params(&a, 1, 2, 7); /* biases must be reset to 0 */
    struct amx_rng r1 = test_rng(3), r2 = test_rng(3), r3 = test_rng(3);
    amx_net_init_random(&a, 0.1, &r1);
    amx_net_init_random(&b, 0.1, &r2);
    ck_assert(memcmp(a.params, b.params, sizeof(float) * a.n_params) == 0);
    for (int i = 0; i < 50 * 80; i++)
        ck_assert(a.layer[0].W[i] == (float)(0.1 * amx_rng_normal(&r3)));
    for (int i = 0; i < 80 * 40; i++)
        ck_assert(a.layer[1].W[i] == (float)(0.1 * amx_rng_normal(&r3)));
    double s = 0, ss = 0;
    size_t n = 0;
    for (int l = 0; l < 4; l++) {
        for (int j = 0; j < a.layer[l].out; j++)
            ck_assert(a.layer[l].b[j] == 0.0f);
        for (int i = 0; i < a.layer[l].in * a.layer[l].out; i++) {
            s += a.layer[l].W[i];
            ss += (double)a.layer[l].W[i] * a.layer[l].W[i];
            n++;
        }
    }
    double mean = s / n, sd = sqrt(ss / n - mean * mean);
    /* n = 16000: standard error of the mean 0.1/126, of the sd ~0.1/179 */
    ck_assert_msg(fabs(mean) < 5 * 0.1 / sqrt(n), "mean %g", mean);
    ck_assert_msg(fabs(sd - 0.1) < 5 * 0.1 / sqrt(2.0 * n), "sd %g", sd);
    amx_net_free(&a);
    amx_net_free(&b);
}
END_TEST

START_TEST(test_unrolling)
{
    const int sizes[4] = {7, 5, 4, 3};
    struct amx_rbm rbm[3];
    struct amx_error err;
    struct amx_rng r = test_rng(4);
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(amx_rbm_init(&rbm[i], sizes[i], sizes[i + 1], i == 2, 2, &err), AMX_OK);
        fill_uniform(rbm[i].W, (size_t)sizes[i] * sizes[i + 1], -1, 1, &r);
        fill_uniform(rbm[i].bv, (size_t)sizes[i], -1, 1, &r);
        fill_uniform(rbm[i].bh, (size_t)sizes[i + 1], -1, 1, &r);
    }
    struct amx_net ae;
    ck_assert_int_eq(amx_autoencoder_init(&ae, sizes, 4, AMX_UNIT_LOGISTIC, AMX_UNIT_LINEAR,
                                          AMX_UNIT_LOGISTIC, 2, &err),
                     AMX_OK);
    ck_assert_int_eq(amx_autoencoder_from_rbms(&ae, rbm, 3, &err), AMX_OK);
    for (int i = 0; i < 3; i++) {
        int V = sizes[i], H = sizes[i + 1];
        const struct amx_dense *enc = &ae.layer[i], *dec = &ae.layer[5 - i];
        ck_assert(enc->in == V && enc->out == H && dec->in == H && dec->out == V);
        for (int v = 0; v < V; v++)
            for (int h = 0; h < H; h++) {
                ck_assert(enc->W[v * H + h] == rbm[i].W[v * H + h]);
                ck_assert(dec->W[h * V + v] == rbm[i].W[v * H + h]);
            }
        for (int h = 0; h < H; h++)
            ck_assert(enc->b[h] == rbm[i].bh[h]);
        for (int v = 0; v < V; v++)
            ck_assert(dec->b[v] == rbm[i].bv[v]);
    }
    /* untied: changing the decoder leaves the encoder and the RBM alone */
    ae.layer[5].W[0] += 1.0f;
    ck_assert(ae.layer[0].W[0] == rbm[0].W[0]);
    /* wrong count, wrong shapes */
    ck_assert_int_eq(amx_autoencoder_from_rbms(&ae, rbm, 2, &err), AMX_ERR_CONFIG);
    struct amx_rbm swapped[3] = {rbm[1], rbm[0], rbm[2]};
    ck_assert_int_eq(amx_autoencoder_from_rbms(&ae, swapped, 3, &err), AMX_ERR_CONFIG);
    ck_assert_ptr_nonnull(strstr(err.msg, "RBM 1"));
    amx_net_free(&ae);
    for (int i = 0; i < 3; i++)
        amx_rbm_free(&rbm[i]);
}
END_TEST

START_TEST(test_recon_error)
{
    /* n = 7 images through a workspace of 3: batches 3, 3, 1. Against the
     * double reference: mean over images of sum (p - x)^2. */
    const int sizes[3] = {5, 3, 2};
    struct amx_net ae;
    struct amx_error err;
    ck_assert_int_eq(amx_autoencoder_init(&ae, sizes, 3, AMX_UNIT_LOGISTIC, AMX_UNIT_LINEAR,
                                          AMX_UNIT_LOGISTIC, 3, &err),
                     AMX_OK);
    fill_params(&ae, -1, 1, 5);
    float x[35];
    struct amx_rng r = test_rng(6);
    fill_uniform(x, 35, 0, 1, &r);
    double *p = malloc(sizeof(double) * ae.n_params);
    for (size_t i = 0; i < ae.n_params; i++)
        p[i] = ae.params[i];
    double ref = ref_loss(sizes, 3, AMX_UNIT_LOGISTIC, AMX_UNIT_LINEAR, AMX_UNIT_LOGISTIC, p, x, 7,
                          AMX_LOSS_SQUARED_ERROR);
    double got = amx_autoencoder_recon_error(&ae, x, 7);
    ck_assert_msg(fabs(got - ref) < 1e-6 * ref, "%.9g vs %.9g", got, ref);
    ck_assert(amx_autoencoder_recon_error(&ae, x, 0) == 0.0);
    /* a perfect reconstruction has error 0: the error of x against itself
     * through amx_squared_error_forward, and one image by hand: p = f(x) */
    const float *out = amx_net_forward(&ae, x, 1);
    double one = 0;
    for (int j = 0; j < 5; j++)
        one += ((double)out[j] - x[j]) * ((double)out[j] - x[j]);
    ck_assert(fabs(amx_autoencoder_recon_error(&ae, x, 1) - one) < 1e-12);
    free(p);
    amx_net_free(&ae);
}
END_TEST

/* ---------------------------------------------------------------------- */
/* Learning                                                               */

/* Fine-tuning with plain gradient steps (theta -= 0.1 g, the optimiser's job
 * in the program) lowers the reconstruction error of a pretrained stack. */
START_TEST(test_finetune_learns)
{
    int n, V;
    float *x = learning_data(&n, &V);
    const int sizes[3] = {V, 32, 8};
    struct amx_rbm rbm[2];
    struct amx_error err;
    struct amx_rng init = test_rng(40);
    const float *d = x;
    float *h = malloc(sizeof(float) * (size_t)n * 32);
    for (int i = 0; i < 2; i++) {
        ck_assert_int_eq(amx_rbm_init(&rbm[i], sizes[i], sizes[i + 1], i == 1, 20, &err), AMX_OK);
        amx_rbm_init_weights(&rbm[i], 0.1, &init);
        struct amx_rng order = test_rng(41 + i), sample = test_rng(43 + i);
        struct amx_rbm_hparams hp = {i == 1 ? 0.01 : 0.1, 0.5, 0.9, 2, 0.0002, 1};
        for (int e = 0; e < 5; e++)
            ck_assert_int_eq(
                amx_rbm_train_epoch(&rbm[i], d, (size_t)n, 20, &hp, e, &order, &sample, NULL, &err),
                AMX_OK);
        if (i == 0) {
            amx_rbm_hidden_probs(&rbm[0], x, (size_t)n, h);
            d = h;
        }
    }
    struct amx_net ae;
    ck_assert_int_eq(amx_autoencoder_init(&ae, sizes, 3, AMX_UNIT_LOGISTIC, AMX_UNIT_LINEAR,
                                          AMX_UNIT_LOGISTIC, 20, &err),
                     AMX_OK);
    ck_assert_int_eq(amx_autoencoder_from_rbms(&ae, rbm, 2, &err), AMX_OK);
    double before = amx_autoencoder_recon_error(&ae, x, (size_t)n);
    for (int e = 0; e < 5; e++)
        for (int s = 0; s + 20 <= n; s += 20) {
            double loss =
                amx_autoencoder_train_step(&ae, x + (size_t)s * V, 20, AMX_LOSS_CROSS_ENTROPY);
            ck_assert(isfinite(loss));
            for (size_t i = 0; i < ae.n_params; i++)
                ae.params[i] -= 0.1f * ae.grads[i];
        }
    double after = amx_autoencoder_recon_error(&ae, x, (size_t)n);
    if (getenv("NN_VERBOSE")) printf("finetune recon %g -> %g\n", before, after);
    ck_assert_msg(isfinite(before) && after < 0.85 * before, "recon %g -> %g", before, after);
    amx_net_free(&ae);
    amx_rbm_free(&rbm[0]);
    amx_rbm_free(&rbm[1]);
    free(h);
    free(x);
}
END_TEST

static Suite *autoencoder_suite(void)
{
    Suite *s = suite_create("nn autoencoder");
    TCase *tc = tcase_create("gradients");
    /* every case on every backend of the table */
    const int n_grad = (int)(N_GCASES * amx_blas_backend_count());
    tcase_add_loop_test(tc, test_gradient_check, 0, n_grad);
    tcase_add_loop_test(tc, test_gradient_check_narrow, 0, n_grad);
    tcase_add_test(tc, test_cross_entropy_needs_logistic);
    suite_add_tcase(s, tc);
    tc = tcase_create("structure");
    tcase_add_test(tc, test_autoencoder_layout);
    tcase_add_test(tc, test_autoencoder_init_errors);
    tcase_add_test(tc, test_init_size_overflow);
    tcase_add_test(tc, test_init_random);
    tcase_add_test(tc, test_unrolling);
    tcase_add_test(tc, test_recon_error);
    suite_add_tcase(s, tc);
    tc = tcase_create("threads and parts");
    tcase_add_test(tc, test_threads_bit_identical);
    tcase_add_test(tc, test_tensor_parts);
    tcase_add_test(tc, test_run_parts);
    suite_add_tcase(s, tc);
    tc = tcase_create("learning");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_finetune_learns);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(autoencoder_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
