/* Tests of the matrix-product backends (src/nn/blas.c's table,
 * blas_onednn.c): the table and its errors; every backend against the naive
 * double-precision reference amx_gemm_ref at every transposition, at odd
 * sizes (1, 3, 17, 100) and padded leading dimensions, with alpha and beta
 * (beta == 0 over NaN: C must not be read), within a bound derived from
 * float's unit roundoff and the inner dimension; bit-identity run to run, on
 * fresh buffers and on another thread; for oneDNN, that a shape's primitive
 * is made once (per thread and per thread count) and never again, that
 * amx_blas_set_threads reaches each calling thread's OpenMP setting, and
 * that no product fell back to OpenBLAS. A build with oneDNN must have the
 * onednn backend available (AMX_EXPECT_ONEDNN from CMake), one without it
 * must refuse it with a message saying why. The whole-network gradient check
 * on each backend is in check_nn_autoencoder.c. */
#define _POSIX_C_SOURCE 200809L /* setenv */
#include "adamix/bf16.h"
#include "adamix/nn.h"
#include "adamix/optim.h"

#include <check.h>
#include <float.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef AMX_EXPECT_ONEDNN
#define AMX_EXPECT_ONEDNN 0
#endif

static struct amx_rng test_rng(uint32_t purpose)
{
    struct amx_rng r;
    amx_rng_stream(&r, 4242, 0, AMX_STREAM_USER + purpose);
    return r;
}

static void fill_uniform(float *a, size_t n, float lo, float hi, struct amx_rng *r)
{
    for (size_t i = 0; i < n; i++)
        a[i] = lo + (hi - lo) * amx_rng_uniform(r);
}

static size_t backend_index(const char *name)
{
    for (size_t i = 0; i < amx_blas_backend_count(); i++)
        if (strcmp(amx_blas_backend_name(i), name) == 0) return i;
    ck_abort_msg("no backend %s in the table", name);
    return 0;
}

/* Selects backend i; false (nothing to test) when this build lacks it,
 * which is only allowed for onednn in a build without oneDNN. */
static bool use_backend(size_t i)
{
    const char *name = amx_blas_backend_name(i);
    const char *why = amx_blas_backend_unavailable(i);
    if (why) {
        ck_assert_msg(strcmp(name, "onednn") == 0 && !AMX_EXPECT_ONEDNN,
                      "backend %s unavailable in this build: %s", name, why);
        return false;
    }
    struct amx_error err;
    ck_assert_int_eq(amx_blas_select(name, &err), AMX_OK);
    ck_assert_str_eq(amx_blas_backend(), name);
    amx_blas_set_threads(1);
    return true;
}

START_TEST(test_table)
{
    ck_assert_uint_eq(amx_blas_backend_count(), 2);
    ck_assert_str_eq(amx_blas_backend_name(0), "openblas");
    ck_assert_str_eq(amx_blas_backend_name(1), "onednn");
    ck_assert_ptr_null(amx_blas_backend_name(2));
    /* the default is the first, and it is always there */
    ck_assert_str_eq(amx_blas_backend(), "openblas");
    ck_assert_ptr_null(amx_blas_backend_unavailable(0));
    char impls[256];
    amx_blas_backend_impls(impls, sizeof impls);
    ck_assert_str_eq(impls, "cblas_sgemm");
    ck_assert(strncmp(amx_blas_backend_version(), "OpenBLAS ", 9) == 0);
    ck_assert_str_eq(amx_blas_backend_isa(), amx_blas_corename());

    /* an unknown name: a usage error naming every backend; nothing changes */
    struct amx_error err = {0};
    ck_assert_int_eq(amx_blas_select("cublas", &err), AMX_ERR_USAGE);
    ck_assert_msg(strstr(err.msg, "'cublas'") && strstr(err.msg, "openblas") &&
                      strstr(err.msg, "onednn"),
                  "message: %s", err.msg);
    ck_assert_int_eq(amx_blas_select("", &err), AMX_ERR_USAGE);
    ck_assert_int_eq(amx_blas_select("OpenBLAS", &err), AMX_ERR_USAGE); /* names are exact */
    ck_assert_str_eq(amx_blas_backend(), "openblas");

    const char *why = amx_blas_backend_unavailable(1);
    if (AMX_EXPECT_ONEDNN) {
        ck_assert_msg(why == NULL, "onednn built in but unavailable: %s", why);
        ck_assert_int_eq(amx_blas_select("onednn", &err), AMX_OK);
        ck_assert_str_eq(amx_blas_backend(), "onednn");
        ck_assert(strncmp(amx_blas_backend_version(), "oneDNN ", 7) == 0);
        ck_assert(strlen(amx_blas_backend_isa()) > 0 &&
                  strncmp(amx_blas_backend_isa(), "cpu_isa", 7) != 0);
        amx_blas_backend_impls(impls, sizeof impls);
        ck_assert_str_eq(impls, ""); /* no product yet */
        ck_assert_int_eq(amx_blas_select("openblas", &err), AMX_OK);
        ck_assert_str_eq(amx_blas_backend(), "openblas");
    } else {
        ck_assert_ptr_nonnull(why);
        ck_assert_int_eq(amx_blas_select("onednn", &err), AMX_ERR_USAGE);
        ck_assert_msg(strstr(err.msg, "not available") && strstr(err.msg, "oneDNN") &&
                          strstr(err.msg, "choose openblas"),
                      "message: %s", err.msg);
        ck_assert_str_eq(amx_blas_backend(), "openblas");
    }
}
END_TEST

/* One product against the reference. Error bound, per entry, for a float
 * sum of K products accumulated in any order (with or without FMA) and then
 * scaled by alpha and added to beta C: Higham's gamma_n = n u / (1 - n u),
 * u = 2^-24, with n = K + 2 (the K - 1 additions and K products, plus the
 * alpha scaling and the beta sum), times the magnitudes |alpha| sum_k
 * |a_ik b_kj| + |beta c_ij|; plus one rounding of the reference itself (u
 * |r|). A wrong transposition, stride, alpha, beta or a missing term is an
 * error of the order of the entries themselves, ~1e4 times the bound. */
static void check_product(bool ta, bool tb, int M, int N, int K, int pad, float alpha, float beta,
                          struct amx_rng *r, const char *backend)
{
    const int arows = ta ? K : M, acols = ta ? M : K, brows = tb ? N : K, bcols = tb ? K : N;
    const int lda = acols + pad, ldb = bcols + pad, ldc = N + pad;
    float *A = malloc(sizeof(float) * (size_t)arows * lda);
    float *Bm = malloc(sizeof(float) * (size_t)brows * ldb);
    float *C = malloc(sizeof(float) * (size_t)M * ldc),
          *R = malloc(sizeof(float) * (size_t)M * ldc);
    float *C0 = malloc(sizeof(float) * (size_t)M * ldc);
    ck_assert(A && Bm && C && R && C0);
    fill_uniform(A, (size_t)arows * lda, -1, 1, r);
    fill_uniform(Bm, (size_t)brows * ldb, -1, 1, r);
    fill_uniform(C, (size_t)M * ldc, -1, 1, r);
    if (beta == 0.0f) /* must not be read */
        for (int i = 0; i < M; i++)
            for (int j = 0; j < N; j++)
                C[(size_t)i * ldc + j] = NAN;
    memcpy(R, C, sizeof(float) * (size_t)M * ldc);
    memcpy(C0, C, sizeof(float) * (size_t)M * ldc);
    amx_gemm(ta, tb, M, N, K, alpha, A, lda, Bm, ldb, beta, C, ldc);
    amx_gemm_ref(ta, tb, M, N, K, alpha, A, lda, Bm, ldb, beta, R, ldc);
    const double u = ldexp(1.0, -24), n = K + 2, gamma = n * u / (1 - n * u);
    for (int i = 0; i < M; i++)
        for (int j = 0; j < ldc; j++) {
            size_t at = (size_t)i * ldc + j;
            if (j >= N) { /* padding: untouched */
                ck_assert_msg(memcmp(&C[at], &C0[at], sizeof *C) == 0,
                              "%s: padding written at (%d,%d)", backend, i, j);
                continue;
            }
            double mag = 0;
            for (int k = 0; k < K; k++) {
                double a = ta ? A[(size_t)k * lda + i] : A[(size_t)i * lda + k];
                double b = tb ? Bm[(size_t)j * ldb + k] : Bm[(size_t)k * ldb + j];
                mag += fabs(a * b);
            }
            double bound = gamma * (fabs(alpha) * mag + (beta != 0 ? fabs(beta * C0[at]) : 0)) +
                           u * fabs(R[at]) + 1e-30;
            ck_assert_msg(isfinite(C[at]) && fabs((double)C[at] - R[at]) <= bound,
                          "%s ta %d tb %d M %d N %d K %d pad %d alpha %g beta %g at (%d,%d): "
                          "%.9g vs reference %.9g (bound %.3g)",
                          backend, ta, tb, M, N, K, pad, alpha, beta, i, j, C[at], R[at], bound);
        }
    free(A), free(Bm), free(C), free(R), free(C0);
}

/* _i: the backend. Every transposition, M, N, K in {1, 3, 17, 100}, dense
 * and padded leading dimensions, and the (alpha, beta) pairs the kernels use
 * (1, 0) and (-1/B, 1) besides a general (0.7, -0.3). */
START_TEST(test_vs_reference)
{
    if (!use_backend((size_t)_i)) return;
    const int sizes[] = {1, 3, 17, 100};
    const float ab[][2] = {{1.0f, 0.0f}, {0.7f, -0.3f}, {-1.0f / 17, 1.0f}};
    struct amx_rng r = test_rng(1);
    for (int t = 0; t < 4; t++)
        for (int m = 0; m < 4; m++)
            for (int n = 0; n < 4; n++)
                for (int k = 0; k < 4; k++)
                    for (int c = 0; c < 3; c++)
                        check_product(t >= 2, t & 1, sizes[m], sizes[n], sizes[k],
                                      (m + n + k + c) % 2 ? 3 : 0, ab[c][0], ab[c][1], &r,
                                      amx_blas_backend());
    /* the shapes of a 784-1000 layer's split step at batch 100 */
    check_product(false, false, 100, 1000, 392, 0, 1.0f, 0.0f, &r, amx_blas_backend());
    check_product(true, false, 392, 1000, 100, 0, 1.0f, 0.0f, &r, amx_blas_backend());
    check_product(false, true, 100, 504, 1000, 0, 1.0f, 0.0f, &r, amx_blas_backend());
    /* K = 0: C = beta C (nothing read when beta == 0) */
    float C[6] = {1, 2, 3, 4, 5, 6}, one = 1;
    amx_gemm(false, false, 2, 3, 0, 1.0f, &one, 1, &one, 3, 0.5f, C, 3);
    for (int i = 0; i < 6; i++)
        ck_assert(C[i] == 0.5f * (float)(i + 1));
    char impls[256];
    amx_blas_backend_impls(impls, sizeof impls);
    ck_assert_msg(!strstr(impls, "fallback"), "%s: %s", amx_blas_backend(), impls);
}
END_TEST

/* ---- bit-identity ------------------------------------------------------- */

struct product {
    bool ta, tb;
    int M, N, K, lda, ldb, ldc;
    float alpha, beta;
    const float *A, *B;
    const float *C_in; /* copied into C first */
    float *C;
};

static void run_product(struct product *p)
{
    memcpy(p->C, p->C_in, sizeof(float) * (size_t)p->M * p->ldc);
    amx_gemm(p->ta, p->tb, p->M, p->N, p->K, p->alpha, p->A, p->lda, p->B, p->ldb, p->beta, p->C,
             p->ldc);
}

static void *product_thread(void *arg)
{
    run_product(arg);
    return NULL;
}

/* _i: the backend. The products of a split step's three kinds (forward
 * block, weight gradient with beta 1, input gradient), each run twice on
 * the same buffers, once on copies of the inputs at other addresses, and once
 * on another thread: the four results are identical bit for bit. */
START_TEST(test_bit_identical)
{
    if (!use_backend((size_t)_i)) return;
    struct amx_rng r = test_rng(2);
    const int B = 100, In = 784, Out = 250;
    const size_t nx = (size_t)B * In, nw = (size_t)In * Out, nz = (size_t)B * Out;
    float *X = malloc(sizeof(float) * nx), *W = malloc(sizeof(float) * nw);
    float *Z = malloc(sizeof(float) * nz), *C0 = malloc(sizeof(float) * nw);
    float *X2 = malloc(sizeof(float) * nx), *W2 = malloc(sizeof(float) * nw);
    float *Z2 = malloc(sizeof(float) * nz);
    float *out[4];
    for (int k = 0; k < 4; k++)
        out[k] = malloc(sizeof(float) * nw);
    fill_uniform(X, nx, 0, 1, &r);
    fill_uniform(W, nw, -0.1f, 0.1f, &r);
    fill_uniform(Z, nz, -1, 1, &r);
    fill_uniform(C0, nw, -1, 1, &r);
    memcpy(X2, X, sizeof(float) * nx);
    memcpy(W2, W, sizeof(float) * nw);
    memcpy(Z2, Z, sizeof(float) * nz);
    const int a = 392; /* part 1 of the input width: rows a..In of W */
    struct product kinds[3] = {
        /* Y (B x Out) = X[:, a:] W[a:, :] */
        {false, false, B, Out, In - a, In, Out, Out, 1.0f, 0.0f, X + a, W + (size_t)a * Out, C0,
         NULL},
        /* dW[a:, :] = -1/B X[:, a:]^T dZ + dW[a:, :] */
        {true, false, In - a, Out, B, In, Out, Out, -1.0f / B, 1.0f, X + a, Z, C0, NULL},
        /* dX[:, a:] (B x (In - a), ld In) = dZ W[a:, :]^T */
        {false, true, B, In - a, Out, Out, Out, In, 1.0f, 0.0f, Z, W + (size_t)a * Out, C0, NULL},
    };
    for (int kind = 0; kind < 3; kind++) {
        struct product p = kinds[kind];
        size_t nc = (size_t)p.M * p.ldc;
        for (int k = 0; k < 4; k++) {
            struct product q = p;
            q.C = out[k];
            if (k == 2) { /* the same values at other addresses */
                q.A = p.A == X + a ? X2 + a : Z2;
                q.B = p.B == Z ? Z2 : W2 + (size_t)a * Out;
            }
            if (k == 3) {
                pthread_t t;
                ck_assert_int_eq(pthread_create(&t, NULL, product_thread, &q), 0);
                pthread_join(t, NULL);
            } else {
                run_product(&q);
            }
        }
        for (int k = 1; k < 4; k++)
            ck_assert_msg(memcmp(out[0], out[k], sizeof(float) * nc) == 0,
                          "%s: product kind %d, run %d differs from run 0", amx_blas_backend(),
                          kind, k);
    }
    for (int k = 0; k < 4; k++)
        free(out[k]);
    free(X), free(W), free(Z), free(C0), free(X2), free(W2), free(Z2);
}
END_TEST

/* ---- oneDNN's primitive cache and threads -------------------------------- */

static void small_product(float alpha)
{
    float A[3 * 17], Bm[17 * 5], C[3 * 5];
    for (int i = 0; i < 3 * 17; i++)
        A[i] = (float)i / 51;
    for (int i = 0; i < 17 * 5; i++)
        Bm[i] = (float)i / 85;
    amx_gemm(false, false, 3, 5, 17, alpha, A, 17, Bm, 5, 0.0f, C, 5);
}

static void *small_product_thread(void *arg)
{
    (void)arg;
    small_product(1.0f);
    return NULL;
}

START_TEST(test_onednn_primitives_once)
{
    if (!use_backend(backend_index("onednn"))) return;
    size_t n0 = amx_blas_backend_primitives();
    small_product(1.0f);
    ck_assert_uint_eq(amx_blas_backend_primitives(), n0 + 1); /* a new shape */
    for (int i = 0; i < 5; i++)
        small_product(1.0f);
    ck_assert_uint_eq(amx_blas_backend_primitives(), n0 + 1); /* looked up, not made */
    small_product(0.5f);
    ck_assert_uint_eq(amx_blas_backend_primitives(), n0 + 2); /* alpha is part of the shape */
    /* another thread has its own cache (nothing shared between threads) */
    pthread_t t;
    ck_assert_int_eq(pthread_create(&t, NULL, small_product_thread, NULL), 0);
    pthread_join(t, NULL);
    ck_assert_uint_eq(amx_blas_backend_primitives(), n0 + 3);
    /* amx_blas_set_threads reaches this thread's OpenMP setting before its
     * next product: the thread count is part of the shape, so 2 threads make
     * a new primitive, and going back to 1 finds the old one */
    amx_blas_set_threads(2);
    ck_assert_int_eq(amx_blas_backend_threads(), 2);
    small_product(1.0f);
    ck_assert_uint_eq(amx_blas_backend_primitives(), n0 + 4);
    amx_blas_set_threads(1);
    ck_assert_int_eq(amx_blas_backend_threads(), 1);
    ck_assert_int_eq(amx_blas_threads(), 1); /* OpenBLAS's, set by the same call */
    small_product(1.0f);
    ck_assert_uint_eq(amx_blas_backend_primitives(), n0 + 4);
    char impls[256];
    amx_blas_backend_impls(impls, sizeof impls);
    ck_assert_msg(strlen(impls) > 0 && !strstr(impls, "fallback"), "impls: '%s'", impls);
}
END_TEST

/* A training step makes its primitives in the first step and none after:
 * the hot path only looks them up. */
START_TEST(test_onednn_step_makes_nothing)
{
    if (!use_backend(backend_index("onednn"))) return;
    const int sizes[4] = {40, 24, 12, 5};
    struct amx_net ae;
    struct amx_error err;
    ck_assert_int_eq(amx_autoencoder_init(&ae, sizes, 4, AMX_UNIT_LOGISTIC, AMX_UNIT_LINEAR,
                                          AMX_UNIT_LOGISTIC, 10, &err),
                     AMX_OK);
    ck_assert_int_eq(amx_net_set_threads(&ae, 2, &err), AMX_OK);
    struct amx_rng r = test_rng(3);
    amx_net_init_random(&ae, 0.1, &r);
    float x[10 * 40];
    fill_uniform(x, sizeof x / sizeof *x, 0, 1, &r);
    size_t n0 = amx_blas_backend_primitives();
    double l1 = amx_autoencoder_train_step(&ae, x, 10, AMX_LOSS_CROSS_ENTROPY);
    size_t n1 = amx_blas_backend_primitives();
    ck_assert_uint_gt(n1, n0);
    for (int s = 0; s < 3; s++)
        ck_assert(amx_autoencoder_train_step(&ae, x, 10, AMX_LOSS_CROSS_ENTROPY) == l1);
    ck_assert_uint_eq(amx_blas_backend_primitives(), n1);
    amx_net_free(&ae);
}
END_TEST

/* ---- bf16 ------------------------------------------------------------------- */

/* x rounded to 8 significant bits, ties to even, computed independently of
 * the library (the quantum of x's binade and nearbyint, whose default
 * rounding is to nearest even): the quantum is 2^(e-8) for x = m 2^e,
 * m in [0.5, 1), and 2^-133 below the normal range (bf16 has float's
 * exponent range, so its subnormals are float's with 16 fewer bits). */
static float ref_bf16(float x)
{
    if (isnan(x) || isinf(x) || x == 0) return x;
    double q;
    if (fabs(x) < ldexp(1.0, -126)) {
        q = ldexp(1.0, -133);
    } else {
        int e;
        frexp(x, &e);
        q = ldexp(1.0, e - 8);
    }
    double r = nearbyint((double)x / q) * q;
    if (fabs(r) > FLT_MAX) return x > 0 ? INFINITY : -INFINITY;
    return (float)r;
}

static float from_bits(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

START_TEST(test_bf16_round)
{
    /* ties to even, by hand: 1 + 2^-8 lies halfway between 1 and 1 + 2^-7 */
    ck_assert(amx_bf16_round(from_bits(0x3f808000u)) == 1.0f);
    ck_assert(amx_bf16_round(from_bits(0x3f818000u)) == from_bits(0x3f820000u));
    ck_assert(amx_bf16_round(from_bits(0x3f808001u)) == from_bits(0x3f810000u));
    ck_assert(amx_bf16_round(-0.0f) == 0.0f && signbit(amx_bf16_round(-0.0f)));
    ck_assert(isinf(amx_bf16_round(FLT_MAX)) && amx_bf16_round(FLT_MAX) > 0);
    ck_assert(amx_bf16_round(from_bits(0x7f7f0000u)) == from_bits(0x7f7f0000u)); /* largest bf16 */
    ck_assert(isinf(amx_bf16_round(-INFINITY)) && amx_bf16_round(-INFINITY) < 0);
    ck_assert(isnan(amx_bf16_round(NAN)));
    ck_assert(isnan(amx_bf16_round(from_bits(0x7f800001u)))); /* a NaN whose top bits say inf */
    /* every sign, exponent and the bits around the cut, and random floats */
    struct amx_rng r = test_rng(5);
    for (uint32_t i = 0; i < 400000; i++) {
        uint32_t u =
            i < 200000 ? (i / 400) << 23 | (i % 400) * 0x5555u % 0x800000u : amx_rng_next(&r);
        if (i & 1) u |= 0x80000000u;
        float x = from_bits(u), got = amx_bf16_round(x), want = ref_bf16(x);
        if (isnan(x)) {
            ck_assert(isnan(got));
            continue;
        }
        ck_assert_msg(memcmp(&got, &want, sizeof got) == 0, "bits %08x: %a, reference %a", u, got,
                      want);
    }
}
END_TEST

/* A bf16 product against the reference on bf16-rounded copies (ref_bf16)
 * within float accumulation's bound (as check_product, gamma_(K+2); plus
 * K 2^-126 for products that bf16 hardware flushes to zero below float's
 * normal range), and against the reference on the unrounded f32 operands
 * within bf16's: each rounded operand is within u_b = 2^-8 relatively (8
 * significant bits), so a product of two within 2 u_b + u_b^2, on top of
 * the accumulation bound. And the rounding must show: some entry differs
 * from the f32 reference by more than float accumulation alone allows. */
static void check_bf16_product(bool ta, bool tb, int M, int N, int K, int pad, float alpha,
                               float beta, struct amx_rng *r, int *showed)
{
    const int arows = ta ? K : M, acols = ta ? M : K, brows = tb ? N : K, bcols = tb ? K : N;
    const int lda = acols + pad, ldb = bcols + pad, ldc = N + pad;
    const size_t na = (size_t)arows * lda, nb = (size_t)brows * ldb, nc = (size_t)M * ldc;
    float *A = malloc(sizeof(float) * na), *Bm = malloc(sizeof(float) * nb);
    float *Ar = malloc(sizeof(float) * na), *Br = malloc(sizeof(float) * nb);
    float *C = malloc(sizeof(float) * nc), *R = malloc(sizeof(float) * nc);
    float *F = malloc(sizeof(float) * nc), *C0 = malloc(sizeof(float) * nc);
    float *H = malloc(sizeof(float) * nc);
    uint16_t *Ah = malloc(sizeof(uint16_t) * na), *Bh = malloc(sizeof(uint16_t) * nb);
    ck_assert(A && Bm && Ar && Br && C && R && F && C0 && H && Ah && Bh);
    fill_uniform(A, na, -1, 1, r);
    fill_uniform(Bm, nb, -1, 1, r);
    fill_uniform(C, nc, -1, 1, r);
    for (size_t i = 0; i < na; i++)
        Ar[i] = ref_bf16(A[i]);
    for (size_t i = 0; i < nb; i++)
        Br[i] = ref_bf16(Bm[i]);
    if (beta == 0.0f)
        for (int i = 0; i < M; i++)
            for (int j = 0; j < N; j++)
                C[(size_t)i * ldc + j] = NAN;
    memcpy(R, C, sizeof(float) * nc);
    memcpy(F, C, sizeof(float) * nc);
    memcpy(C0, C, sizeof(float) * nc);
    memcpy(H, C, sizeof(float) * nc);
    /* the operands' bf16 copies at the same strides, the pads too */
    for (size_t i = 0; i < na; i++)
        Ah[i] = amx_bf16_bits(A[i]);
    for (size_t i = 0; i < nb; i++)
        Bh[i] = amx_bf16_bits(Bm[i]);
    amx_gemm_bf16(ta, tb, M, N, K, alpha, A, lda, Bm, ldb, beta, C, ldc);
    amx_gemm_bf16h(ta, tb, M, N, K, alpha, Ah, lda, Bh, ldb, beta, H, ldc);
    amx_gemm_ref(ta, tb, M, N, K, alpha, Ar, lda, Br, ldb, beta, R, ldc);
    amx_gemm_ref(ta, tb, M, N, K, alpha, A, lda, Bm, ldb, beta, F, ldc);
    const double u = ldexp(1.0, -24), n = K + 2, gamma = n * u / (1 - n * u);
    const double ub = ldexp(1.0, -8), flush = K * ldexp(1.0, -126);
    for (int i = 0; i < M; i++)
        for (int j = 0; j < ldc; j++) {
            size_t at = (size_t)i * ldc + j;
            if (j >= N) {
                ck_assert(memcmp(&C[at], &C0[at], sizeof *C) == 0);
                ck_assert(memcmp(&H[at], &C0[at], sizeof *H) == 0);
                continue;
            }
            double mag = 0, magr = 0;
            for (int k = 0; k < K; k++) {
                size_t ia = ta ? (size_t)k * lda + i : (size_t)i * lda + k;
                size_t ib = tb ? (size_t)j * ldb + k : (size_t)k * ldb + j;
                mag += fabs((double)A[ia] * Bm[ib]);
                magr += fabs((double)Ar[ia] * Br[ib]);
            }
            double bc = beta != 0 ? fabs(beta * C0[at]) : 0;
            double acc = gamma * (fabs(alpha) * magr + bc) + u * fabs(R[at]) + flush;
            ck_assert_msg(isfinite(C[at]) && fabs((double)C[at] - R[at]) <= acc,
                          "%s bf16 ta %d tb %d M %d N %d K %d at (%d,%d): %.9g vs rounded "
                          "reference %.9g (bound %.3g)",
                          amx_blas_backend(), ta, tb, M, N, K, i, j, C[at], R[at], acc);
            ck_assert_msg(isfinite(H[at]) && fabs((double)H[at] - R[at]) <= acc,
                          "%s bf16h ta %d tb %d M %d N %d K %d at (%d,%d): %.9g vs rounded "
                          "reference %.9g (bound %.3g)",
                          amx_blas_backend(), ta, tb, M, N, K, i, j, H[at], R[at], acc);
            double whole = (2 * ub + ub * ub) * fabs(alpha) * mag + acc;
            ck_assert_msg(fabs((double)C[at] - F[at]) <= whole,
                          "%s bf16 at (%d,%d): %.9g vs f32 reference %.9g (bound %.3g)",
                          amx_blas_backend(), i, j, C[at], F[at], whole);
            double f32_only = gamma * (fabs(alpha) * mag + bc) + u * fabs(F[at]);
            if (fabs((double)C[at] - F[at]) > f32_only) *showed = 1;
        }
    free(A), free(Bm), free(Ar), free(Br), free(C), free(R), free(F), free(C0), free(H);
    free(Ah), free(Bh);
}

/* _i: the backend. Where bf16 is available (onednn on AVX-512 BF16) its
 * products; elsewhere amx_gemm_bf16's emulation, which must give the same
 * numbers (and amx_blas_precision_unavailable must say why not). */
START_TEST(test_bf16_vs_reference)
{
    if (!use_backend((size_t)_i)) return;
    const char *why = amx_blas_precision_unavailable(AMX_PRECISION_BF16);
    ck_assert_ptr_null(amx_blas_precision_unavailable(AMX_PRECISION_FP32));
    if (strcmp(amx_blas_backend(), "openblas") == 0) ck_assert_ptr_nonnull(why);
    if (strcmp(amx_blas_backend(), "onednn") == 0) {
        bool native =
            strstr(amx_blas_backend_isa(), "bf16") || strstr(amx_blas_backend_isa(), "amx");
        ck_assert_msg(native == (why == NULL), "ISA %s, bf16: %s", amx_blas_backend_isa(),
                      why ? why : "available");
    }
    const int sizes[] = {1, 3, 17, 100};
    const float ab[][2] = {{1.0f, 0.0f}, {0.7f, -0.3f}, {-1.0f / 17, 1.0f}};
    struct amx_rng r = test_rng(6);
    int showed = 0;
    for (int t = 0; t < 4; t++)
        for (int m = 0; m < 4; m++)
            for (int n = 0; n < 4; n++)
                for (int k = 0; k < 4; k++)
                    for (int c = 0; c < 3; c++)
                        check_bf16_product(t >= 2, t & 1, sizes[m], sizes[n], sizes[k],
                                           (m + n + k + c) % 2 ? 3 : 0, ab[c][0], ab[c][1], &r,
                                           &showed);
    /* a split step's shapes, and more rows than one chunk (BF16_ROWS, 1024) */
    check_bf16_product(false, false, 100, 1000, 392, 0, 1.0f, 0.0f, &r, &showed);
    check_bf16_product(true, false, 392, 1000, 100, 0, 1.0f, 0.0f, &r, &showed);
    check_bf16_product(false, true, 100, 504, 1000, 3, 1.0f, 0.0f, &r, &showed);
    check_bf16_product(false, false, 2500, 30, 50, 1, 1.0f, 0.0f, &r, &showed);
    ck_assert_msg(showed, "%s: no bf16 product differed from f32 beyond float rounding",
                  amx_blas_backend());
    char impls[256];
    amx_blas_backend_impls(impls, sizeof impls);
    ck_assert_msg(!strstr(impls, "fallback"), "%s: %s", amx_blas_backend(), impls);
    if (!why && strcmp(amx_blas_backend(), "onednn") == 0)
        ck_assert_msg(strstr(impls, "bf16"), "no bf16 implementation among '%s'", impls);
}
END_TEST

struct bf16_job {
    int M, N, K;
    const float *A, *B;
    float *C;
};

static void *bf16_thread(void *arg)
{
    struct bf16_job *j = arg;
    amx_gemm_bf16(false, false, j->M, j->N, j->K, 1.0f, j->A, j->K, j->B, j->N, 0.0f, j->C, j->N);
    return NULL;
}

/* bf16 products are bit-identical run to run and on another thread. */
START_TEST(test_bf16_bit_identical)
{
    if (!use_backend(backend_index("onednn"))) return;
    if (amx_blas_precision_unavailable(AMX_PRECISION_BF16)) return; /* checked above */
    const int M = 100, N = 250, K = 392;
    struct amx_rng r = test_rng(7);
    float *A = malloc(sizeof(float) * M * K), *Bm = malloc(sizeof(float) * K * N);
    float *C[3];
    for (int k = 0; k < 3; k++)
        C[k] = malloc(sizeof(float) * M * N);
    fill_uniform(A, (size_t)M * K, 0, 1, &r);
    fill_uniform(Bm, (size_t)K * N, -0.1f, 0.1f, &r);
    amx_gemm_bf16(false, false, M, N, K, 1.0f, A, K, Bm, N, 0.0f, C[0], N);
    amx_gemm_bf16(false, false, M, N, K, 1.0f, A, K, Bm, N, 0.0f, C[1], N);
    struct bf16_job job = {M, N, K, A, Bm, C[2]};
    pthread_t t;
    ck_assert_int_eq(pthread_create(&t, NULL, bf16_thread, &job), 0);
    pthread_join(t, NULL);
    ck_assert(memcmp(C[0], C[1], sizeof(float) * M * N) == 0);
    ck_assert(memcmp(C[0], C[2], sizeof(float) * M * N) == 0);
    for (int k = 0; k < 3; k++)
        free(C[k]);
    free(A), free(Bm);
}
END_TEST

/* Where oneDNN's ISA lacks AVX-512 BF16, bf16 is refused with a message
 * naming the ISA, by amx_blas_precision_unavailable and by the models; fp32
 * still computes right. ONEDNN_MAX_CPU_ISA=AVX2 (read by oneDNN at its first
 * call) stands for such a CPU; it takes effect only in a fresh process
 * (CK_FORK, the default), which the test checks before it relies on it. */
START_TEST(test_bf16_refused_without_avx512_bf16)
{
    setenv("ONEDNN_MAX_CPU_ISA", "AVX2", 1);
    if (!use_backend(backend_index("onednn"))) return;
    if (strcmp(amx_blas_backend_isa(), "avx2") != 0) {
        const char *fork = getenv("CK_FORK");
        ck_assert_msg(fork && strcmp(fork, "no") == 0,
                      "ONEDNN_MAX_CPU_ISA=AVX2 did not take (ISA %s) in a fresh process",
                      amx_blas_backend_isa());
        return; /* CK_FORK=no: oneDNN started earlier in this process */
    }
    const char *why = amx_blas_precision_unavailable(AMX_PRECISION_BF16);
    ck_assert_ptr_nonnull(why);
    ck_assert_msg(strstr(why, "AVX-512 BF16") && strstr(why, "avx2"), "message: %s", why);
    struct amx_net ae;
    struct amx_rbm rbm;
    struct amx_error err = {0};
    const int sizes[3] = {6, 4, 2};
    ck_assert_int_eq(amx_autoencoder_init(&ae, sizes, 3, AMX_UNIT_LOGISTIC, AMX_UNIT_LINEAR,
                                          AMX_UNIT_LOGISTIC, 4, &err),
                     AMX_OK);
    ck_assert_int_eq(amx_net_set_precision(&ae, AMX_PRECISION_BF16, &err), AMX_ERR_CONFIG);
    ck_assert_msg(strstr(err.msg, "AVX-512 BF16"), "message: %s", err.msg);
    ck_assert_int_eq(ae.precision, AMX_PRECISION_FP32);
    ck_assert_int_eq(amx_net_set_precision(&ae, AMX_PRECISION_FP32, &err), AMX_OK);
    amx_net_free(&ae);
    ck_assert_int_eq(amx_rbm_init(&rbm, 6, 4, false, 4, &err), AMX_OK);
    ck_assert_int_eq(amx_rbm_set_precision(&rbm, AMX_PRECISION_BF16, &err), AMX_ERR_CONFIG);
    amx_rbm_free(&rbm);
    struct amx_rng r = test_rng(8);
    check_product(false, true, 17, 100, 3, 3, 0.7f, -0.3f, &r, "onednn on avx2");
    check_product(true, false, 100, 17, 100, 0, 1.0f, 0.0f, &r, "onednn on avx2");
}
END_TEST

/* Max |a - b| over n values, and max |b|. */
static void max_diff(const float *a, const float *b, size_t n, double *diff, double *scale)
{
    *diff = 0, *scale = 0;
    for (size_t i = 0; i < n; i++) {
        if (fabs((double)a[i] - b[i]) > *diff) *diff = fabs((double)a[i] - b[i]);
        if (fabs((double)b[i]) > *scale) *scale = fabs((double)b[i]);
    }
}

/* The bf16 copies the products read (docs/backends.md: written where the values
 * are made, never converted product by product) are always the bf16 of the
 * f32 values beside them: the weights' after set_precision, init and every
 * optimiser update (through the tensors' theta16, on 1 and 2 threads of
 * parts), every hidden activation after a step, the batch's; the RBM's W16
 * after every batch of an epoch. And the copies change the arithmetic of
 * nothing but the products: the same step with the copies taken away (every
 * product then rounds its own operands) gives a loss and gradients within
 * the bf16 model bound of test_bf16_models. */
static void check_copy(const uint16_t *h, const float *x, size_t rows, size_t cols, size_t ld,
                       const char *what)
{
    for (size_t r = 0; r < rows; r++)
        for (size_t j = 0; j < cols; j++) {
            size_t at = r * ld + j;
            ck_assert_msg(h[at] == amx_bf16_bits(x[at]), "%s[%zu][%zu]: copy 0x%04x, bf16 0x%04x",
                          what, r, j, h[at], amx_bf16_bits(x[at]));
        }
}

static void check_weights16(const struct amx_net *ae, const char *when)
{
    ck_assert(ae->params16 != NULL);
    for (int l = 0; l < ae->n_layers; l++) {
        const struct amx_dense *d = &ae->layer[l];
        char what[64];
        snprintf(what, sizeof what, "%s: layer %d W", when, l + 1);
        check_copy(ae->params16 + (d->W - ae->params), d->W, (size_t)d->in, (size_t)d->out,
                   (size_t)d->out, what);
    }
}

struct parts_ctx {
    struct amx_optimizer *opt[AMX_NN_SPLIT];
};

static void step_part(void *ctx, int part, int n_parts)
{
    (void)n_parts;
    amx_optimizer_step(((struct parts_ctx *)ctx)->opt[part]);
}

START_TEST(test_bf16_copies)
{
    if (!use_backend(backend_index("onednn"))) return;
    if (amx_blas_precision_unavailable(AMX_PRECISION_BF16)) return; /* checked above */
    const int sizes[4] = {40, 24, 12, 5}, B = 10;
    struct amx_error err;
    struct amx_rng r = test_rng(12);
    float x[10 * 40];
    fill_uniform(x, sizeof x / sizeof *x, 0, 1, &r);
    for (int threads = 1; threads <= 2; threads++) {
        struct amx_net ae;
        ck_assert_int_eq(amx_autoencoder_init(&ae, sizes, 4, AMX_UNIT_LOGISTIC, AMX_UNIT_LINEAR,
                                              AMX_UNIT_LOGISTIC, B, &err),
                         AMX_OK);
        struct amx_rng w = test_rng(13);
        amx_net_init_random(&ae, 0.3, &w);
        ck_assert(ae.params16 == NULL && ae.acts16 == NULL); /* fp32: no copies */
        ck_assert_int_eq(amx_net_set_precision(&ae, AMX_PRECISION_BF16, &err), AMX_OK);
        ck_assert_int_eq(amx_net_set_threads(&ae, threads, &err), AMX_OK);
        check_weights16(&ae, "set_precision");
        amx_net_init_random(&ae, 0.2, &w);
        check_weights16(&ae, "init_random");
        /* one optimiser per part, AdaMix (weights current-gradient with
         * momentum, biases power-exponential), as the run module does */
        struct amx_rule_binding bind[2];
        memset(bind, 0, sizeof bind);
        snprintf(bind[0].selector, sizeof bind[0].selector, "weights");
        amx_rule_spec_defaults(&bind[0].spec, amx_rule_find("current-gradient"));
        bind[0].spec.eta0 = 0.05;
        bind[0].spec.momentum = 0.5;
        snprintf(bind[1].selector, sizeof bind[1].selector, "biases");
        amx_rule_spec_defaults(&bind[1].spec, amx_rule_find("power-exponential"));
        bind[1].spec.eta0 = 0.05;
        struct parts_ctx pc;
        for (int p = 0; p < AMX_NN_SPLIT; p++) {
            struct amx_param_tensor t[AMX_NN_MAX_DENSE * 2];
            size_t nt = amx_net_tensor_part(&ae, p, AMX_NN_SPLIT, t);
            for (size_t i = 0; i < nt; i++)
                ck_assert(t[i].is_bias ? t[i].theta16 == NULL : t[i].theta16 != NULL);
            ck_assert_int_eq(amx_optimizer_init(&pc.opt[p], t, nt, bind, 2, &err), AMX_OK);
        }
        for (int s = 0; s < 3; s++) {
            for (int p = 0; p < AMX_NN_SPLIT; p++)
                amx_optimizer_epoch_begin(pc.opt[p], s);
            double loss = amx_autoencoder_train_step(&ae, x, B, AMX_LOSS_CROSS_ENTROPY);
            ck_assert(isfinite(loss));
            check_copy(ae.x16, x, (size_t)B, 40, 40, "the batch");
            for (int l = 0; l + 1 < ae.n_layers; l++) { /* hidden and code activations */
                const struct amx_dense *d = &ae.layer[l];
                check_copy(ae.acts16 + (d->Y - ae.acts), d->Y, (size_t)B, (size_t)d->out,
                           (size_t)d->out, "an activation");
            }
            amx_net_run_parts(&ae, step_part, &pc);
            check_weights16(&ae, "an update");
        }

        /* the same step without the copies: every product rounds its own */
        struct amx_net bare;
        ck_assert_int_eq(amx_autoencoder_init(&bare, sizes, 4, AMX_UNIT_LOGISTIC, AMX_UNIT_LINEAR,
                                              AMX_UNIT_LOGISTIC, B, &err),
                         AMX_OK);
        ck_assert_int_eq(amx_net_set_precision(&bare, AMX_PRECISION_BF16, &err), AMX_OK);
        memcpy(bare.params, ae.params, sizeof(float) * ae.n_params);
        free(bare.params16), free(bare.acts16), free(bare.x16);
        bare.params16 = bare.acts16 = bare.x16 = NULL;
        amx_net_sync_bf16(&ae);
        double l1 = amx_autoencoder_train_step(&ae, x, B, AMX_LOSS_CROSS_ENTROPY);
        double l0 = amx_autoencoder_train_step(&bare, x, B, AMX_LOSS_CROSS_ENTROPY);
        ck_assert_msg(fabs(l1 - l0) <= 0.05 * fabs(l0), "loss %.9g, without copies %.9g", l1, l0);
        double diff, scale;
        max_diff(ae.grads, bare.grads, ae.n_params, &diff, &scale);
        ck_assert_msg(diff <= 0.05 * scale, "gradients: %g apart, scale %g", diff, scale);
        for (int p = 0; p < AMX_NN_SPLIT; p++)
            amx_optimizer_free(pc.opt[p]);
        amx_net_free(&bare);
        /* back to fp32: the copies go */
        ck_assert_int_eq(amx_net_set_precision(&ae, AMX_PRECISION_FP32, &err), AMX_OK);
        ck_assert(ae.params16 == NULL && ae.acts16 == NULL && ae.x16 == NULL);
        amx_net_free(&ae);

        /* the RBM: an epoch of 3 batches, W16 after it; the batch copies */
        struct amx_rbm rbm;
        ck_assert_int_eq(amx_rbm_init(&rbm, 40, 24, false, 4, &err), AMX_OK);
        ck_assert_int_eq(amx_rbm_set_precision(&rbm, AMX_PRECISION_BF16, &err), AMX_OK);
        ck_assert_int_eq(amx_rbm_set_threads(&rbm, threads, &err), AMX_OK);
        amx_rbm_init_weights(&rbm, 0.3, &w);
        check_copy(rbm.W16, rbm.W, 40, 24, 24, "RBM W after init_weights");
        struct amx_rbm_hparams hp = {.learning_rate = 0.1,
                                     .momentum_initial = 0.5,
                                     .momentum_final = 0.9,
                                     .momentum_switch_epoch = 1,
                                     .weight_decay = 0.0002,
                                     .cd_k = 1};
        struct amx_rng order = test_rng(14), sample = test_rng(15);
        for (int e = 0; e < 2; e++) {
            ck_assert_int_eq(
                amx_rbm_train_epoch(&rbm, x, 10, 4, &hp, e, &order, &sample, NULL, &err), AMX_OK);
            check_copy(rbm.W16, rbm.W, 40, 24, 24, "RBM W after an epoch");
            /* the last batch had 2 rows */
            check_copy(rbm.v0_16, rbm.v0, 2, 40, 40, "RBM v0");
            check_copy(rbm.h0_16, rbm.h0, 2, 24, 24, "RBM h0");
            check_copy(rbm.hs16, rbm.hs, 2, 24, 24, "RBM hs");
            check_copy(rbm.v1_16, rbm.v1, 2, 40, 40, "RBM v1");
            check_copy(rbm.h1_16, rbm.h1, 2, 24, 24, "RBM h1");
        }
        amx_rbm_free(&rbm);
    }
}
END_TEST

/* A bf16 step of the autoencoder and a bf16 CD-1 batch of an RBM, against
 * the fp32 ones: different (bf16 is in use in the forward and the backward:
 * the loss and every weight gradient differ) but close: each product's
 * operands move by at most 2^-8 relatively, so through the 6 products of a
 * path through the 3-layer-deep network a quantity moves by at most about
 * 6 2 2^-8 ~ 0.05 of its scale (a loose bound: the products' own, tight
 * bound is checked above). And bf16 keeps the step's thread independence:
 * one thread and two give the same bits. The evaluation pass is bf16 too. */
START_TEST(test_bf16_models)
{
    if (!use_backend(backend_index("onednn"))) return;
    if (amx_blas_precision_unavailable(AMX_PRECISION_BF16)) return; /* checked above */
    const int sizes[4] = {40, 24, 12, 5}, B = 10;
    struct amx_error err;
    struct amx_net ae[3]; /* fp32, bf16, bf16 on 2 threads */
    struct amx_rng r = test_rng(9);
    float x[10 * 40];
    fill_uniform(x, sizeof x / sizeof *x, 0, 1, &r);
    double loss[3], recon[3];
    for (int m = 0; m < 3; m++) {
        ck_assert_int_eq(amx_autoencoder_init(&ae[m], sizes, 4, AMX_UNIT_LOGISTIC, AMX_UNIT_LINEAR,
                                              AMX_UNIT_LOGISTIC, B, &err),
                         AMX_OK);
        struct amx_rng w = test_rng(10);
        amx_net_init_random(&ae[m], 0.3, &w);
        if (m > 0)
            ck_assert_int_eq(amx_net_set_precision(&ae[m], AMX_PRECISION_BF16, &err), AMX_OK);
        if (m == 2) ck_assert_int_eq(amx_net_set_threads(&ae[m], 2, &err), AMX_OK);
        loss[m] = amx_autoencoder_train_step(&ae[m], x, B, AMX_LOSS_CROSS_ENTROPY);
        recon[m] = amx_autoencoder_recon_error(&ae[m], x, B);
    }
    ck_assert(loss[1] != loss[0] && recon[1] != recon[0]);
    ck_assert_msg(fabs(loss[1] - loss[0]) <= 0.05 * fabs(loss[0]), "loss %.9g vs fp32 %.9g",
                  loss[1], loss[0]);
    ck_assert(fabs(recon[1] - recon[0]) <= 0.05 * fabs(recon[0]));
    ck_assert(loss[2] == loss[1] && recon[2] == recon[1]);
    ck_assert(memcmp(ae[1].grads, ae[2].grads, sizeof(float) * ae[1].n_params) == 0);
    for (int l = 0; l < ae[0].n_layers; l++) {
        const struct amx_dense *d0 = &ae[0].layer[l], *d1 = &ae[1].layer[l];
        double diff, scale;
        max_diff(d1->dW, d0->dW, (size_t)d0->in * d0->out, &diff, &scale);
        ck_assert_msg(diff > 0 && diff <= 0.05 * scale, "layer %d dW: bf16 - fp32 %g, scale %g",
                      l + 1, diff, scale);
    }
    for (int m = 0; m < 3; m++)
        amx_net_free(&ae[m]);

    /* the RBM: one CD-1 batch, fp32, bf16, bf16 on 2 threads */
    struct amx_rbm rbm[3];
    float noise[10 * 24];
    fill_uniform(noise, sizeof noise / sizeof *noise, 0, 1, &r);
    double e[3];
    for (int m = 0; m < 3; m++) {
        ck_assert_int_eq(amx_rbm_init(&rbm[m], 40, 24, false, B, &err), AMX_OK);
        struct amx_rng w = test_rng(11);
        amx_rbm_init_weights(&rbm[m], 0.3, &w);
        if (m > 0)
            ck_assert_int_eq(amx_rbm_set_precision(&rbm[m], AMX_PRECISION_BF16, &err), AMX_OK);
        if (m == 2) ck_assert_int_eq(amx_rbm_set_threads(&rbm[m], 2, &err), AMX_OK);
        e[m] = amx_rbm_cd_stats(&rbm[m], x, B, 1, noise);
    }
    double diff, scale;
    max_diff(rbm[1].gW, rbm[0].gW, 40 * 24, &diff, &scale);
    ck_assert_msg(e[1] != e[0] && diff > 0 && diff <= 0.05 * scale, "gW %g of %g", diff, scale);
    ck_assert(e[2] == e[1] && memcmp(rbm[1].gW, rbm[2].gW, sizeof(float) * 40 * 24) == 0);
    for (int m = 0; m < 3; m++)
        amx_rbm_free(&rbm[m]);
}
END_TEST

static Suite *backend_suite(void)
{
    Suite *s = suite_create("backend");
    TCase *tc = tcase_create("table");
    tcase_add_test(tc, test_table);
    suite_add_tcase(s, tc);
    tc = tcase_create("products");
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, test_vs_reference, 0, (int)amx_blas_backend_count());
    tcase_add_loop_test(tc, test_bit_identical, 0, (int)amx_blas_backend_count());
    suite_add_tcase(s, tc);
    tc = tcase_create("onednn");
    tcase_add_test(tc, test_onednn_primitives_once);
    tcase_add_test(tc, test_onednn_step_makes_nothing);
    suite_add_tcase(s, tc);
    tc = tcase_create("bf16");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_bf16_round);
    tcase_add_loop_test(tc, test_bf16_vs_reference, 0, (int)amx_blas_backend_count());
    tcase_add_test(tc, test_bf16_bit_identical);
    tcase_add_test(tc, test_bf16_models);
    tcase_add_test(tc, test_bf16_copies);
    tcase_add_test(tc, test_bf16_refused_without_avx512_bf16);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(backend_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
