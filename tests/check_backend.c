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
 * on each backend is in check_nn.c. */
#include "adamix/nn.h"

#include <check.h>
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
    struct amx_autoencoder ae;
    struct amx_error err;
    ck_assert_int_eq(amx_autoencoder_init(&ae, sizes, 4, AMX_UNIT_LOGISTIC, AMX_UNIT_LINEAR,
                                          AMX_UNIT_LOGISTIC, 10, &err),
                     AMX_OK);
    ck_assert_int_eq(amx_autoencoder_set_threads(&ae, 2, &err), AMX_OK);
    struct amx_rng r = test_rng(3);
    amx_autoencoder_init_random(&ae, 0.1, &r);
    float x[10 * 40];
    fill_uniform(x, sizeof x / sizeof *x, 0, 1, &r);
    size_t n0 = amx_blas_backend_primitives();
    double l1 = amx_autoencoder_train_step(&ae, x, 10, AMX_LOSS_CROSS_ENTROPY);
    size_t n1 = amx_blas_backend_primitives();
    ck_assert_uint_gt(n1, n0);
    for (int s = 0; s < 3; s++)
        ck_assert(amx_autoencoder_train_step(&ae, x, 10, AMX_LOSS_CROSS_ENTROPY) == l1);
    ck_assert_uint_eq(amx_blas_backend_primitives(), n1);
    amx_autoencoder_free(&ae);
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
