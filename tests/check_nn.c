/* Tests of src/nn against independent truths: the BLAS wrapper and the naive
 * reference against a 2x2 product done by hand and against each other for all
 * four transpose combinations; unit and loss kernels against libm in double;
 * each backward kernel (dense, activation, cross-entropy, squared error), on
 * the blocks and parts a split step gives it, against central differences of
 * its own objective; every parameter tensor's gradient against central
 * differences of a double-precision forward pass written here, for both
 * losses and every unit type, also for a network with a layer narrower than
 * AMX_NN_SPLIT, on every matrix-product backend of the build; CD-k statistics and whole RBM epochs
 * (permutation, noise order, momentum, weight decay, last smaller batch) against a double-precision
 * hand computation replaying the documented stream use; reconstruction
 * error against the same double forward; unrolling against the transposes;
 * and learning: RBM reconstruction error falls over epochs on the 300 real
 * digits of tests/data, and fine-tuning lowers it further. */
#include "adamix/nn.h"
#include "testutil.h"

#include <check.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

static struct amx_rng test_rng(uint32_t purpose)
{
    struct amx_rng r;
    amx_rng_stream(&r, 12345, 0, AMX_STREAM_USER + purpose);
    return r;
}

static void fill_uniform(float *a, size_t n, float lo, float hi, struct amx_rng *r)
{
    for (size_t i = 0; i < n; i++)
        a[i] = lo + (hi - lo) * amx_rng_uniform(r);
}

static double sigm(double z)
{
    return 1.0 / (1.0 + exp(-z));
}

/* ---------------------------------------------------------------------- */
/* GEMM                                                                   */

START_TEST(test_gemm_hand_2x2)
{
    /* A = [1 2; 3 4], B = [5 6; 7 8], done by hand:
     * AB = [19 22; 43 50], A^T B = [26 30; 38 44],
     * A B^T = [17 23; 39 53], A^T B^T = (BA)^T = [23 31; 34 46]. */
    const float A[4] = {1, 2, 3, 4}, Bm[4] = {5, 6, 7, 8};
    const float expect[4][4] = {
        {19, 22, 43, 50}, {17, 23, 39, 53}, {26, 30, 38, 44}, {23, 31, 34, 46}};
    for (int c = 0; c < 4; c++) {
        bool ta = c >= 2, tb = c & 1;
        float C[4], R[4];
        amx_gemm(ta, tb, 2, 2, 2, 1.0f, A, 2, Bm, 2, 0.0f, C, 2);
        amx_gemm_ref(ta, tb, 2, 2, 2, 1.0f, A, 2, Bm, 2, 0.0f, R, 2);
        for (int i = 0; i < 4; i++) {
            ck_assert_msg(C[i] == expect[c][i], "gemm combo %d entry %d: %g", c, i, C[i]);
            ck_assert_msg(R[i] == expect[c][i], "ref combo %d entry %d: %g", c, i, R[i]);
        }
        /* alpha and beta: C = 2 op(A)op(B) - 1 * C */
        for (int i = 0; i < 4; i++)
            C[i] = 1.0f, R[i] = 1.0f;
        amx_gemm(ta, tb, 2, 2, 2, 2.0f, A, 2, Bm, 2, -1.0f, C, 2);
        amx_gemm_ref(ta, tb, 2, 2, 2, 2.0f, A, 2, Bm, 2, -1.0f, R, 2);
        for (int i = 0; i < 4; i++) {
            ck_assert(C[i] == 2 * expect[c][i] - 1);
            ck_assert(R[i] == 2 * expect[c][i] - 1);
        }
    }
}
END_TEST

START_TEST(test_gemm_vs_reference)
{
    /* Odd sizes, padded leading dimensions, both beta = 0 over garbage
     * (NaN: must not be read) and beta != 0; the padding must stay intact. */
    const int M = 37, N = 29, K = 41, pad = 3;
    struct amx_rng r = test_rng(1);
    for (int c = 0; c < 4; c++) {
        bool ta = c >= 2, tb = c & 1;
        int arows = ta ? K : M, acols = ta ? M : K, brows = tb ? N : K, bcols = tb ? K : N;
        int lda = acols + pad, ldb = bcols + pad, ldc = N + pad;
        float *A = malloc(sizeof(float) * arows * lda), *Bm = malloc(sizeof(float) * brows * ldb);
        float *C = malloc(sizeof(float) * M * ldc), *R = malloc(sizeof(float) * M * ldc);
        fill_uniform(A, (size_t)arows * lda, -1, 1, &r);
        fill_uniform(Bm, (size_t)brows * ldb, -1, 1, &r);
        for (int beta_case = 0; beta_case < 2; beta_case++) {
            float beta = beta_case ? -0.3f : 0.0f;
            fill_uniform(C, (size_t)M * ldc, -1, 1, &r);
            if (!beta_case)
                for (int i = 0; i < M; i++)
                    for (int j = 0; j < N; j++)
                        C[i * ldc + j] = NAN;
            memcpy(R, C, sizeof(float) * M * ldc);
            amx_gemm(ta, tb, M, N, K, 0.7f, A, lda, Bm, ldb, beta, C, ldc);
            amx_gemm_ref(ta, tb, M, N, K, 0.7f, A, lda, Bm, ldb, beta, R, ldc);
            for (int i = 0; i < M; i++)
                for (int j = 0; j < ldc; j++) {
                    float c1 = C[i * ldc + j], r1 = R[i * ldc + j];
                    if (j >= N) { /* padding: untouched, identical in both */
                        ck_assert(c1 == r1);
                        continue;
                    }
                    /* float GEMM error bound ~ K eps sum|a||b| <= K * 6e-8 * K */
                    ck_assert_msg(isfinite(c1) && fabsf(c1 - r1) < 1e-4f,
                                  "combo %d beta %g at (%d,%d): %g vs %g", c, beta, i, j, c1, r1);
                }
        }
        free(A), free(Bm), free(C), free(R);
    }
}
END_TEST

/* ---------------------------------------------------------------------- */
/* Kernels                                                                */

static double unit_f(enum amx_unit u, double z)
{
    switch (u) {
    case AMX_UNIT_LOGISTIC:
        return sigm(z);
    case AMX_UNIT_TANH:
        return tanh(z);
    case AMX_UNIT_RELU:
        return z > 0 ? z : 0;
    case AMX_UNIT_LINEAR:
        return z;
    case AMX_UNIT_SOFTMAX: /* a row's unit: no elementwise value */
        break;
    }
    return NAN;
}

static const enum amx_unit all_units[4] = {AMX_UNIT_LOGISTIC, AMX_UNIT_TANH, AMX_UNIT_RELU,
                                           AMX_UNIT_LINEAR};

/* Pre-activations Y (B rows of ld) in [lo, hi], those of the block of N
 * columns at offset off moved so that z = Y + bias is at least 0.05 from 0,
 * where relu has its kink: a central difference with h = 1e-5 never
 * straddles it. */
static void fill_preact(float *Y, const float *bias, int ld, int off, int B, int N, float lo,
                        float hi, struct amx_rng *r)
{
    fill_uniform(Y, (size_t)B * ld, lo, hi, r);
    for (int b = 0; b < B; b++)
        for (int j = 0; j < N; j++) {
            float *y = &Y[b * ld + off + j];
            if (fabsf(*y + bias[j]) < 0.05f) *y += *y + bias[j] < 0 ? -0.1f : 0.1f;
        }
}

/* The forward of every unit against libm in double, on a block of N = 5
 * columns of rows at stride 8 (column offset 2): the columns outside the
 * block are untouched. */
START_TEST(test_activation_kernels)
{
    enum { B = 3, N = 5, LD = 8, OFF = 2 };
    const float bias[N] = {0.5f, -1.0f, 0.0f, 2.0f, -0.25f};
    struct amx_rng r = test_rng(2);
    for (int u = 0; u < 4; u++) {
        float z[B * LD], Y[B * LD];
        fill_uniform(z, B * LD, -3, 3, &r);
        memcpy(Y, z, sizeof Y);
        amx_activation_forward(Y + OFF, NULL, bias, LD, B, N, all_units[u]);
        for (int i = 0; i < B * LD; i++) {
            int c = i % LD - OFF;
            if (c < 0 || c >= N) {
                ck_assert_msg(memcmp(&Y[i], &z[i], sizeof Y[i]) == 0, "unit %d wrote column %d", u,
                              i % LD);
                continue;
            }
            double zz = (double)z[i] + bias[c];
            ck_assert_msg(fabs(Y[i] - unit_f(all_units[u], zz)) < 1e-6, "unit %d fwd %d", u, i);
        }
    }
}
END_TEST

/* amx_activation_backward against central differences. With
 * L(z) = sum_ij G_ij f(z_ij), z = Y + bias, dL/dz = G f'(z), which the kernel
 * computes in place (dZ = G on entry) from the forward's OUTPUT. The central
 * difference (L(z + h e_ij) - L(z - h e_ij)) / 2h, in double with the exact
 * unit, is G_ij (f(z_ij + h) - f(z_ij - h)) / 2h (the other terms cancel);
 * h = 1e-5 leaves a truncation error h^2 |f'''| / 6 < 1e-10. Tolerance 1e-5:
 * the forward's outputs are within 1e-6 of exact (test_activation_kernels)
 * and |d f'/dy| <= 2 (f' = y(1-y), 1-y^2), so f' is within 2e-6, times
 * |G| <= 1, plus float rounding; a wrong derivative (y for y(1-y), a lost
 * factor, a wrong column) is off by more than 0.01 somewhere on [-3, 3], and
 * each unit must have a |dL/dz| > 0.1 to fail on. A block of N = 5 columns at
 * stride 8: the columns outside it keep G. */
START_TEST(test_activation_backward)
{
    enum { B = 4, N = 5, LD = 8, OFF = 2 };
    const float bias[N] = {0.5f, -1.0f, 0.0f, 0.25f, -0.25f};
    struct amx_rng r = test_rng(3);
    for (int u = 0; u < 4; u++) {
        const enum amx_unit unit = all_units[u];
        float z[B * LD], Y[B * LD], G[B * LD], dZ[B * LD];
        fill_preact(z, bias, LD, OFF, B, N, -3, 3, &r);
        fill_uniform(G, B * LD, -1, 1, &r);
        memcpy(Y, z, sizeof Y);
        amx_activation_forward(Y + OFF, NULL, bias, LD, B, N, unit);
        memcpy(dZ, G, sizeof dZ);
        amx_activation_backward(dZ + OFF, NULL, Y + OFF, LD, B, N, unit);
        double biggest = 0;
        for (int i = 0; i < B * LD; i++) {
            int c = i % LD - OFF;
            if (c < 0 || c >= N) {
                ck_assert(memcmp(&dZ[i], &G[i], sizeof dZ[i]) == 0);
                continue;
            }
            const double zz = (double)z[i] + bias[c], h = 1e-5;
            double fd = G[i] * (unit_f(unit, zz + h) - unit_f(unit, zz - h)) / (2 * h);
            ck_assert_msg(fabs(dZ[i] - fd) <= 1e-5, "unit %d at %d: backward %.8g, central %.8g", u,
                          i, dZ[i], fd);
            if (fabs(fd) > biggest) biggest = fabs(fd);
        }
        ck_assert_msg(biggest > 0.1, "unit %d: gradient too small to test (%g)", u, biggest);
    }
}
END_TEST

START_TEST(test_loss_kernels)
{
    /* B = 2 images of N = 3 pixels; logits include saturated ones. */
    const float z[6] = {0.3f, -2.0f, 100.0f, -100.0f, 5.0f, 0.0f};
    const float x[6] = {0.2f, 1.0f, 0.0f, 1.0f, 0.5f, 0.0f};
    const float bias[3] = {0.1f, 0.0f, 0.0f};
    float Y[6], dZ[6];
    memcpy(Y, z, sizeof Y);
    double ce = amx_cross_entropy_forward(Y, bias, x, 3, 2, 3);
    /* by hand in double: -[x log p + (1-x) log(1-p)], p = sigmoid(z + b),
     * and for the saturated logits (where log p or log(1-p) would be log 0 in
     * float) their asymptotes: z = 100, x = 0 gives 100; z = -99.9, x = 1
     * gives 99.9. */
    double expect = 0.0;
    for (int i = 0; i < 6; i++) {
        double zz = (double)z[i] + bias[i % 3];
        if (zz > 50) /* -log(1-p) = zz + log1p(e^-zz), -log p = log1p(e^-zz) ~ 0 */
            expect += (1 - x[i]) * zz;
        else if (zz < -50) /* -log p = -zz + log1p(e^zz) */
            expect -= x[i] * zz;
        else
            expect -= x[i] * log(sigm(zz)) + (1 - x[i]) * log(1 - sigm(zz));
        ck_assert(fabs(Y[i] - sigm(zz)) < 1e-7);
    }
    ck_assert_msg(fabs(ce - expect) < 1e-5, "CE %.9g vs %.9g", ce, expect);
    amx_cross_entropy_backward(dZ, NULL, Y, x, 3, 2, 3);
    for (int i = 0; i < 6; i++)
        ck_assert(fabs(dZ[i] - (Y[i] - x[i]) / 2.0) < 1e-7);

    double se = amx_squared_error_forward(Y, x, 3, 2, 3);
    double sexp = 0.0;
    for (int i = 0; i < 6; i++)
        sexp += ((double)Y[i] - x[i]) * ((double)Y[i] - x[i]);
    ck_assert(fabs(se - sexp) < 1e-12);
    amx_squared_error_backward(dZ, NULL, Y, x, 3, 2, 3, AMX_UNIT_LOGISTIC);
    for (int i = 0; i < 6; i++)
        ck_assert(fabs(dZ[i] - 2.0 * (Y[i] - x[i]) * Y[i] * (1 - Y[i]) / 2.0) < 1e-7);
    amx_squared_error_backward(dZ, NULL, Y, x, 3, 2, 3, AMX_UNIT_LINEAR);
    for (int i = 0; i < 6; i++)
        ck_assert(fabs(dZ[i] - (Y[i] - x[i])) < 1e-7);
    /* a block of columns [1, 3) of the same rows: the sums of its pixels only */
    double se_block = amx_squared_error_forward(Y + 1, x + 1, 3, 2, 2), sb = 0.0;
    for (int i = 0; i < 6; i++)
        if (i % 3) sb += ((double)Y[i] - x[i]) * ((double)Y[i] - x[i]);
    ck_assert(fabs(se_block - sb) < 1e-12);
}
END_TEST

/* softplus(z) - x z, the cross-entropy of one pixel from its logit, in
 * double (log1p(exp(-|z|)) cannot overflow). */
static double ce_pixel(double z, double x)
{
    return (z > 0 ? z : 0) + log1p(exp(-fabs(z))) - x * z;
}

/* amx_cross_entropy_forward then _backward against central differences of
 * the mean batch loss L(z) = (1/B) sum_ij [softplus(z_ij) - x_ij z_ij],
 * z = Y + bias: dL/dz = (p - x) / B. The central difference in double,
 * h = 1e-5, needs only the perturbed pixel's term (truncation < 1e-11).
 * Tolerance 1e-6: p is within 2e-6 of sigmoid(z) (test_units_whole_range
 * bounds it relatively), so (p - x) / B is within 5e-7 for B = 4; a lost 1/B
 * (4 times too large), a sign, or p from the wrong column is off by more
 * than 0.01, and some |dL/dz| must exceed 0.05. Logits in [-6, 6] (p near 0
 * and 1), targets binary and fractional; a block of N = 5 columns of rows at
 * stride 9, offset 3: dZ's other columns are untouched. The forward's sum
 * is checked too, against the double loss. */
START_TEST(test_cross_entropy_backward)
{
    enum { B = 4, N = 5, LD = 9, OFF = 3 };
    const float bias[N] = {0.3f, -0.7f, 0.0f, 1.5f, -2.0f};
    struct amx_rng r = test_rng(4);
    float z[B * LD], Y[B * LD], x[B * LD], dZ[B * LD];
    fill_uniform(z, B * LD, -6, 6, &r);
    fill_uniform(x, B * LD, 0, 1, &r);
    x[OFF] = 0, x[OFF + 1] = 1, x[LD + OFF + 2] = 1; /* binary pixels too */
    memcpy(Y, z, sizeof Y);
    for (int i = 0; i < B * LD; i++)
        dZ[i] = 7.0f;
    double sum = amx_cross_entropy_forward(Y + OFF, bias, x + OFF, LD, B, N);
    amx_cross_entropy_backward(dZ + OFF, NULL, Y + OFF, x + OFF, LD, B, N);
    double ref = 0, biggest = 0;
    for (int i = 0; i < B * LD; i++) {
        int c = i % LD - OFF;
        if (c < 0 || c >= N) {
            ck_assert(dZ[i] == 7.0f);
            continue;
        }
        const double zz = (double)z[i] + bias[c], h = 1e-5;
        ref += ce_pixel(zz, x[i]);
        double fd = (ce_pixel(zz + h, x[i]) - ce_pixel(zz - h, x[i])) / (2 * h) / B;
        ck_assert_msg(fabs(dZ[i] - fd) <= 1e-6, "at %d: backward %.9g, central %.9g", i, dZ[i], fd);
        if (fabs(fd) > biggest) biggest = fabs(fd);
    }
    ck_assert_msg(biggest > 0.05, "gradient too small to test (%g)", biggest);
    ck_assert_msg(fabs(sum - ref) <= 1e-6 * ref, "CE %.12g vs %.12g", sum, ref);
}
END_TEST

/* amx_squared_error_backward, for every output unit, against central
 * differences of L(z) = (1/B) sum_ij (f(z_ij) - x_ij)^2 with the exact unit in
 * double, z = Y + bias and P = f(z) from amx_activation_forward (the output
 * layer's forward): dL/dz = 2 (p - x) f'(z) / B. h = 1e-5, only the perturbed
 * pixel's term (truncation < 1e-9). Tolerance 1e-5: p is within 1e-6 of f(z)
 * and f'(p) within 2e-6 (see test_activation_backward), |p - x| <= 4.5 and
 * f' <= 1, so the error is at most (2/B)(4.5 * 2e-6 + 1e-6) = 5e-6 for B = 4;
 * a lost factor 2 or 1/B, or f' of the wrong unit, is off by more than 0.01,
 * and each unit must have a |dL/dz| > 0.02 (for logistic outputs at most
 * 2 * 0.25 / B = 0.125). A block of N = 5 columns at stride
 * 7, offset 1; its sum is checked against the double loss. */
START_TEST(test_squared_error_backward)
{
    enum { B = 4, N = 5, LD = 7, OFF = 1 };
    const float bias[N] = {0.2f, -0.4f, 0.0f, 0.6f, -1.0f};
    struct amx_rng r = test_rng(5);
    for (int u = 0; u < 4; u++) {
        const enum amx_unit unit = all_units[u];
        float z[B * LD], P[B * LD], x[B * LD], dZ[B * LD];
        fill_preact(z, bias, LD, OFF, B, N, -3, 3, &r);
        fill_uniform(x, B * LD, 0, 1, &r);
        memcpy(P, z, sizeof P);
        for (int i = 0; i < B * LD; i++)
            dZ[i] = 7.0f;
        amx_activation_forward(P + OFF, NULL, bias, LD, B, N, unit);
        double sum = amx_squared_error_forward(P + OFF, x + OFF, LD, B, N);
        amx_squared_error_backward(dZ + OFF, NULL, P + OFF, x + OFF, LD, B, N, unit);
        double ref = 0, biggest = 0;
        for (int i = 0; i < B * LD; i++) {
            int c = i % LD - OFF;
            if (c < 0 || c >= N) {
                ck_assert(dZ[i] == 7.0f);
                continue;
            }
            const double zz = (double)z[i] + bias[c], h = 1e-5, t = x[i];
            double fp = unit_f(unit, zz + h) - t, fm = unit_f(unit, zz - h) - t,
                   f0 = unit_f(unit, zz) - t;
            ref += f0 * f0;
            double fd = (fp * fp - fm * fm) / (2 * h) / B;
            ck_assert_msg(fabs(dZ[i] - fd) <= 1e-5, "unit %d at %d: backward %.9g, central %.9g", u,
                          i, dZ[i], fd);
            if (fabs(fd) > biggest) biggest = fabs(fd);
        }
        ck_assert_msg(biggest > 0.02, "unit %d: gradient too small to test (%g)", u, biggest);
        ck_assert_msg(fabs(sum - ref) <= 1e-5 * ref, "unit %d SE %.12g vs %.12g", u, sum, ref);
    }
}
END_TEST

/* L(X, W, b) = sum_ij G_ij (X W + b)_ij in double (X: B x In, W: In x Out). */
static double dense_objective(const double *X, const double *W, const double *b, const float *G,
                              int B, int In, int Out)
{
    double L = 0;
    for (int r = 0; r < B; r++)
        for (int j = 0; j < Out; j++) {
            double z = b[j];
            for (int i = 0; i < In; i++)
                z += X[r * In + i] * W[i * Out + j];
            L += G[r * Out + j] * z;
        }
    return L;
}

/* The central difference of dense_objective wrt entry e of v (one of X, W,
 * b, in double). */
static double dense_fd(double *v, int e, const double *X, const double *W, const double *b,
                       const float *G, int B, int In, int Out)
{
    const double h = 1e-3, keep = v[e];
    v[e] = keep + h;
    double lp = dense_objective(X, W, b, G, B, In, Out);
    v[e] = keep - h;
    double lm = dense_objective(X, W, b, G, B, In, Out);
    v[e] = keep;
    return (lp - lm) / (2 * h);
}

/* The dense kernels over the parts of a split layer, In = 7 -> Out = 6,
 * B = 5: rows [0, 3), [3, 7) and an empty [7, 7) (the empty part of a layer
 * narrower than AMX_NN_SPLIT), output blocks [0, 2), [2, 6).
 * Forward: the parts' partial products, summed by amx_dense_forward_sum, are
 * X W (against double, within float rounding of 7 products <= 1: 1e-5); the
 * empty part is zero over garbage; an output block writes only its columns.
 * Backward, against central differences of L = sum G (X W + b) (so dZ = G):
 * dL/dW = X^T G, dL/dX = G W^T, dL/db = colsum G. L is linear in each entry,
 * so the difference (h = 1e-3) is exact but for double rounding (~1e-12); the
 * kernels sum at most 6 float products of terms <= 1 (error < 1e-6).
 * Tolerance 1e-5; a transposed product, a wrong block offset or a part left
 * out is off by O(0.1), and every gradient array is poisoned with NaN first,
 * so each entry must be written by its part. Then alpha and beta:
 * dW = 0.5 X^T G - 2 dW_old, with no dX and no W (not read for dW). */
START_TEST(test_dense_backward)
{
    enum { B = 5, In = 7, Out = 6 };
    const int parts[3][2] = {{0, 3}, {3, 7}, {7, 7}}, cols[2][2] = {{0, 2}, {2, 6}};
    struct amx_rng r = test_rng(6);
    float X[B * In], W[In * Out], b[Out], G[B * Out];
    fill_uniform(X, B * In, -1, 1, &r);
    fill_uniform(W, In * Out, -1, 1, &r);
    fill_uniform(b, Out, -1, 1, &r);
    fill_uniform(G, B * Out, -1, 1, &r);
    double Xd[B * In], Wd[In * Out], bd[Out];
    for (int i = 0; i < B * In; i++)
        Xd[i] = X[i];
    for (int i = 0; i < In * Out; i++)
        Wd[i] = W[i];
    for (int i = 0; i < Out; i++)
        bd[i] = b[i];

    /* forward */
    float Y[B * Out], P1[B * Out], P2[B * Out], Yc[B * Out];
    for (int i = 0; i < B * Out; i++)
        P2[i] = NAN, Yc[i] = 7.0f;
    amx_dense_forward(AMX_PRECISION_FP32, Y, X, NULL, W, NULL, B, In, Out, parts[0][0], parts[0][1],
                      0, Out);
    amx_dense_forward(AMX_PRECISION_FP32, P1, X, NULL, W, NULL, B, In, Out, parts[1][0],
                      parts[1][1], 0, Out);
    amx_dense_forward(AMX_PRECISION_FP32, P2, X, NULL, W, NULL, B, In, Out, parts[2][0],
                      parts[2][1], 0, Out);
    for (int i = 0; i < B * Out; i++)
        ck_assert(P2[i] == 0.0f);
    float *P[2] = {P1, P2};
    for (int k = 0; k < 2; k++)
        amx_dense_forward_sum(Y, P, 2, B, Out, cols[k][0], cols[k][1]);
    amx_dense_forward(AMX_PRECISION_FP32, Yc, X, NULL, W, NULL, B, In, Out, 0, In, 2, 5);
    for (int rr = 0; rr < B; rr++)
        for (int j = 0; j < Out; j++) {
            double z = 0;
            for (int i = 0; i < In; i++)
                z += Xd[rr * In + i] * Wd[i * Out + j];
            ck_assert_msg(fabs(Y[rr * Out + j] - z) < 1e-5, "XW[%d][%d] %g vs %g", rr, j,
                          Y[rr * Out + j], z);
            if (j >= 2 && j < 5)
                ck_assert(fabs(Yc[rr * Out + j] - z) < 1e-5);
            else
                ck_assert(Yc[rr * Out + j] == 7.0f);
        }

    /* backward, part by part */
    float dX[B * In], dW[In * Out], db[Out];
    for (int i = 0; i < B * In; i++)
        dX[i] = NAN;
    for (int i = 0; i < In * Out; i++)
        dW[i] = NAN;
    for (int i = 0; i < Out; i++)
        db[i] = NAN;
    for (int k = 0; k < 3; k++)
        amx_dense_backward(AMX_PRECISION_FP32, dX, dW, G, NULL, X, NULL, W, NULL, B, In, Out,
                           parts[k][0], parts[k][1], 1.0f, 0.0f);
    for (int k = 0; k < 2; k++)
        amx_dense_backward_bias(db, G, B, Out, cols[k][0], cols[k][1]);
    amx_dense_backward_bias(db, G, B, Out, 6, 6); /* an empty block writes nothing */
    double biggest[3] = {0};
    for (int e = 0; e < In * Out; e++) {
        double fd = dense_fd(Wd, e, Xd, Wd, bd, G, B, In, Out);
        ck_assert_msg(fabs(dW[e] - fd) <= 1e-5, "dW[%d] %.8g vs %.8g", e, dW[e], fd);
        biggest[0] = fmax(biggest[0], fabs(fd));
    }
    for (int e = 0; e < B * In; e++) {
        double fd = dense_fd(Xd, e, Xd, Wd, bd, G, B, In, Out);
        ck_assert_msg(fabs(dX[e] - fd) <= 1e-5, "dX[%d] %.8g vs %.8g", e, dX[e], fd);
        biggest[1] = fmax(biggest[1], fabs(fd));
    }
    for (int e = 0; e < Out; e++) {
        double fd = dense_fd(bd, e, Xd, Wd, bd, G, B, In, Out);
        ck_assert_msg(fabs(db[e] - fd) <= 1e-5, "db[%d] %.8g vs %.8g", e, db[e], fd);
        biggest[2] = fmax(biggest[2], fabs(fd));
    }
    for (int q = 0; q < 3; q++)
        ck_assert_msg(biggest[q] > 0.5, "gradient %d too small to test (%g)", q, biggest[q]);

    /* alpha, beta: dW = 0.5 X^T G - 2 dW_old; X^T G as just checked */
    float old[In * Out], dW2[In * Out];
    fill_uniform(old, In * Out, -1, 1, &r);
    memcpy(dW2, old, sizeof dW2);
    for (int k = 0; k < 3; k++)
        amx_dense_backward(AMX_PRECISION_FP32, NULL, dW2, G, NULL, X, NULL, NULL, NULL, B, In, Out,
                           parts[k][0], parts[k][1], 0.5f, -2.0f);
    for (int e = 0; e < In * Out; e++) {
        double fd = dense_fd(Wd, e, Xd, Wd, bd, G, B, In, Out);
        ck_assert_msg(fabs(dW2[e] - (0.5 * fd - 2.0 * old[e])) <= 1e-5, "alpha/beta dW[%d]", e);
    }
}
END_TEST

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

    const double h = 1e-5;
    for (size_t k = 0; k < nt; k++) {
        double biggest = 0.0;
        for (size_t e = 0; e < t[k].n; e++) {
            size_t i = (size_t)(t[k].theta - ae.params) + e;
            double keep = p[i];
            p[i] = keep + h;
            double lp =
                ref_loss(sizes, L, gc->hidden, gc->code, gc->output, p, x, B, (int)gc->loss);
            p[i] = keep - h;
            double lm =
                ref_loss(sizes, L, gc->hidden, gc->code, gc->output, p, x, B, (int)gc->loss);
            p[i] = keep;
            double fd = (lp - lm) / (2 * h), g = t[k].grad[e];
            ck_assert_msg(fabs(g - fd) <= 1e-6 + 1e-3 * fabs(fd),
                          "case %u %s[%zu]: backprop %.8g, central difference %.8g", seed,
                          t[k].name, e, g, fd);
            if (fabs(fd) > biggest) biggest = fabs(fd);
        }
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

/* The units over their whole range, against libm in double: the
 * vectorised exponential behind logistic and tanh is accurate to a few ulp
 * (relative 2e-6 allows 16), saturates to the right limit, and lets NaN
 * through (divergence detection depends on it); cross-entropy likewise. */
START_TEST(test_units_whole_range)
{
    enum { N = 545 };
    static float z[N], Y[N];
    const float zero = 0.0f;
    for (int i = 0; i < 541; i++)
        z[i] = -100.0f + 0.37f * (float)i;
    z[541] = INFINITY, z[542] = -INFINITY, z[543] = NAN, z[544] = 1e-9f;
    z[300] = 0.1249f, z[301] = -0.126f, z[302] = -3e-5f; /* tanh's two branches */
    for (int u = 0; u < 2; u++) {
        enum amx_unit unit = u ? AMX_UNIT_TANH : AMX_UNIT_LOGISTIC;
        memcpy(Y, z, sizeof Y);
        amx_activation_forward(Y, NULL, &zero, 1, N, 1, unit);
        for (int i = 0; i < N; i++) {
            if (isnan(z[i])) {
                ck_assert_msg(isnan(Y[i]), "unit %d: NaN in, %g out", u, Y[i]);
                continue;
            }
            double e = u ? tanh((double)z[i]) : sigm((double)z[i]);
            if (fabs(e) < 1.7e-38) /* exp(-87) and below: about FLT_MIN or less */
                ck_assert_msg(fabs(Y[i]) < 2e-38, "unit %d z %g: %g", u, z[i], Y[i]);
            else
                ck_assert_msg(fabs(Y[i] - e) <= 2e-6 * fabs(e), "unit %d z %g: %.9g vs %.9g", u,
                              z[i], Y[i], e);
        }
    }
    /* cross-entropy: softplus(z) - x z per pixel, x = 0.3, against double;
     * a NaN logit makes the sum NaN */
    float x[N];
    double expect = 0;
    for (int i = 0; i < 541; i++) {
        x[i] = 0.3f;
        double zz = z[i];
        expect += (zz > 0 ? zz : 0) + log1p(exp(-fabs(zz))) - (double)x[i] * zz;
    }
    memcpy(Y, z, sizeof Y);
    double got = amx_cross_entropy_forward(Y, &zero, x, 1, 541, 1);
    ck_assert_msg(fabs(got - expect) <= 1e-6 * fabs(expect), "CE %.12g vs %.12g", got, expect);
    for (int i = 0; i < 541; i++)
        ck_assert(fabs(Y[i] - sigm(z[i])) <= 2e-6 * sigm(z[i]) + 1e-37);
    float zn[2] = {0.5f, NAN}, xn[2] = {0, 1};
    ck_assert(isnan(amx_cross_entropy_forward(zn, &zero, xn, 1, 2, 1)));
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
/* RBM                                                                    */

/* CD-k by hand in double (nn.h's recipe). Returns the first
 * reconstruction's summed squared error; fills gW (V x H), gbv, gbh and the
 * first step's sampled states hs (B x H). */
static double cd_hand(int V, int H, int B, int k, bool linear, const float *W, const float *bv,
                      const float *bh, const float *v0, const float *noise, double *gW, double *gbv,
                      double *gbh, double *hs_first)
{
    double h0[512], hp[512], hs[512], v1[512], h1[512]; /* B * max(V, H) <= 512 */
    for (int b = 0; b < B; b++)
        for (int j = 0; j < H; j++) {
            double z = bh[j];
            for (int i = 0; i < V; i++)
                z += (double)v0[b * V + i] * W[i * H + j];
            h0[b * H + j] = hp[b * H + j] = linear ? z : sigm(z);
        }
    double recon = 0;
    for (int s = 0; s < k; s++) {
        const float *u = noise + s * B * H;
        for (int m = 0; m < B * H; m++)
            hs[m] = linear ? hp[m] + u[m] : (u[m] < hp[m] ? 1.0 : 0.0);
        if (s == 0)
            for (int m = 0; m < B * H; m++)
                hs_first[m] = hs[m];
        for (int b = 0; b < B; b++)
            for (int i = 0; i < V; i++) {
                double z = bv[i];
                for (int j = 0; j < H; j++)
                    z += hs[b * H + j] * W[i * H + j];
                v1[b * V + i] = sigm(z);
                if (s == 0)
                    recon += (v1[b * V + i] - v0[b * V + i]) * (v1[b * V + i] - v0[b * V + i]);
            }
        for (int b = 0; b < B; b++)
            for (int j = 0; j < H; j++) {
                double z = bh[j];
                for (int i = 0; i < V; i++)
                    z += v1[b * V + i] * W[i * H + j];
                h1[b * H + j] = hp[b * H + j] = linear ? z : sigm(z);
            }
    }
    for (int i = 0; i < V; i++)
        for (int j = 0; j < H; j++) {
            double pos = 0, neg = 0;
            for (int b = 0; b < B; b++) {
                pos += v0[b * V + i] * h0[b * H + j];
                neg += v1[b * V + i] * h1[b * H + j];
            }
            gW[i * H + j] = (pos - neg) / B;
        }
    for (int i = 0; i < V; i++) {
        gbv[i] = 0;
        for (int b = 0; b < B; b++)
            gbv[i] += (v0[b * V + i] - v1[b * V + i]) / B;
    }
    for (int j = 0; j < H; j++) {
        gbh[j] = 0;
        for (int b = 0; b < B; b++)
            gbh[j] += (h0[b * H + j] - h1[b * H + j]) / B;
    }
    return recon;
}

START_TEST(test_cd1_zero_weights_by_hand)
{
    /* W = 0, biases 0, v0 = [1 0 1; 0 1 1]: every hidden probability is 1/2
     * whatever the samples, every reconstruction 1/2. So, with B = 2,
     * pos[i][j] = sum_b v0[b][i] h0[b][j] / B = colsum(v0)[i] / 4 = [0.25 0.25 0.5],
     * neg[i][j] = 2 * 0.5 * 0.5 / B = 0.25, gW = pos - neg = [0 0; 0 0; 0.25 0.25],
     * gbv = colsum(v0 - 0.5) / 2 = [0 0 0.5],
     * gbh = 0, recon = 6 * 0.25 = 1.5. */
    struct amx_rbm rbm;
    struct amx_error err;
    ck_assert_int_eq(amx_rbm_init(&rbm, 3, 2, false, 2, &err), AMX_OK);
    const float v0[6] = {1, 0, 1, 0, 1, 1}, u[4] = {0.25f, 0.75f, 0.5f, 0.49f};
    double recon = amx_rbm_cd_stats(&rbm, v0, 2, 1, u);
    ck_assert(fabs(recon - 1.5) < 1e-6);
    const float eW[6] = {0, 0, 0, 0, 0.25f, 0.25f}, ebv[3] = {0, 0, 0.5f};
    for (int i = 0; i < 6; i++)
        ck_assert(fabsf(rbm.gW[i] - eW[i]) < 1e-7f);
    for (int i = 0; i < 3; i++)
        ck_assert(fabsf(rbm.gbv[i] - ebv[i]) < 1e-7f);
    ck_assert(rbm.gbh[0] == 0.0f && rbm.gbh[1] == 0.0f);
    /* sampled states: 1 where u < 1/2 */
    const float ehs[4] = {1, 0, 0, 1};
    for (int i = 0; i < 4; i++)
        ck_assert(rbm.hs[i] == ehs[i]);
    amx_rbm_free(&rbm);
}
END_TEST

/* A 3x2 RBM with nonzero weights, batch of 2, fixed noise: CD-1 and CD-3,
 * logistic and linear hidden, against cd_hand. */
START_TEST(test_cd_stats_by_hand)
{
    const float W[6] = {1.5f, -2.0f, 0.5f, 1.0f, -1.0f, 0.25f};
    const float bv[3] = {0.1f, -0.2f, 0.3f}, bh[2] = {-0.5f, 0.4f};
    const float v0[6] = {1, 0, 1, 0.2f, 0.9f, 0.4f};
    /* uniforms placed so that the samples differ from rounding p */
    const float uni[12] = {0.3f, 0.9f, 0.6f, 0.1f, 0.95f, 0.05f,
                           0.5f, 0.5f, 0.2f, 0.8f, 0.7f,  0.4f};
    const float gauss[12] = {0.3f,  -1.2f, 0.8f, 0.0f,  -0.4f, 1.9f,
                             -0.7f, 0.6f,  1.1f, -2.0f, 0.15f, -0.05f};
    for (int lin = 0; lin < 2; lin++)
        for (int k = 1; k <= 3; k += 2) {
            struct amx_rbm rbm;
            struct amx_error err;
            ck_assert_int_eq(amx_rbm_init(&rbm, 3, 2, lin, 4, &err), AMX_OK);
            memcpy(rbm.W, W, sizeof W);
            memcpy(rbm.bv, bv, sizeof bv);
            memcpy(rbm.bh, bh, sizeof bh);
            const float *noise = lin ? gauss : uni;
            double gW[6], gbv[3], gbh[2], hs[4];
            double er = cd_hand(3, 2, 2, k, lin, W, bv, bh, v0, noise, gW, gbv, gbh, hs);
            double got = amx_rbm_cd_stats(&rbm, v0, 2, k, noise);
            ck_assert_msg(fabs(got - er) < 1e-5, "lin %d k %d recon %g vs %g", lin, k, got, er);
            for (int i = 0; i < 6; i++)
                ck_assert_msg(fabs(rbm.gW[i] - gW[i]) < 1e-5, "lin %d k %d gW[%d] %g vs %g", lin, k,
                              i, rbm.gW[i], gW[i]);
            for (int i = 0; i < 3; i++)
                ck_assert(fabs(rbm.gbv[i] - gbv[i]) < 1e-5);
            for (int i = 0; i < 2; i++)
                ck_assert(fabs(rbm.gbh[i] - gbh[i]) < 1e-5);
            if (k == 1)
                for (int i = 0; i < 4; i++)
                    ck_assert(fabs(rbm.hs[i] - hs[i]) < 1e-6);
            amx_rbm_free(&rbm);
        }
}
END_TEST

/* Two epochs of a 3x2 RBM on n = 3 rows with batch 2 (batches of 2 and 1),
 * replayed by hand: the permutation from a copy of the order stream
 * (identity, amx_rng_shuffle), the noise from a copy of the sample stream in
 * the documented order, CD-1 statistics by cd_hand, the momentum update in
 * double with initial momentum in epoch 0, final momentum in epoch 1. */
START_TEST(test_rbm_epoch_by_hand)
{
    for (int lin = 0; lin < 2; lin++) {
        const int V = 3, H = 2, n = 3, bs = 2;
        const float data[9] = {1, 0, 1, 0, 1, 0.5f, 0.25f, 1, 0};
        struct amx_rbm_hparams hp = {.learning_rate = 0.3,
                                     .momentum_initial = 0.5,
                                     .momentum_final = 0.9,
                                     .momentum_switch_epoch = 1,
                                     .weight_decay = 0.01,
                                     .cd_k = 1};
        struct amx_rbm rbm;
        struct amx_error err;
        ck_assert_int_eq(amx_rbm_init(&rbm, V, H, lin, 2, &err), AMX_OK);
        struct amx_rng init = test_rng(10);
        amx_rbm_init_weights(&rbm, 0.5, &init);
        rbm.bv[0] = 0.2f, rbm.bh[1] = -0.3f;

        double W[6], bv[3], bh[2], vW[6] = {0}, vbv[3] = {0}, vbh[2] = {0};
        for (int i = 0; i < 6; i++)
            W[i] = rbm.W[i];
        for (int i = 0; i < 3; i++)
            bv[i] = rbm.bv[i];
        for (int i = 0; i < 2; i++)
            bh[i] = rbm.bh[i];
        struct amx_rng order = test_rng(11), sample = test_rng(12);
        struct amx_rng order2 = order, sample2 = sample;

        for (int epoch = 0; epoch < 2; epoch++) {
            double recon = -1;
            ck_assert_int_eq(
                amx_rbm_train_epoch(&rbm, data, n, bs, &hp, epoch, &order, &sample, &recon, &err),
                AMX_OK);
            /* by hand */
            uint32_t perm[3] = {0, 1, 2};
            amx_rng_shuffle(&order2, perm, 3);
            double mom = epoch < 1 ? 0.5 : 0.9, er = 0;
            for (int start = 0; start < n; start += bs) {
                int B = n - start < bs ? n - start : bs;
                float v0[6], noise[4], Wf[6], bvf[3], bhf[2];
                for (int b = 0; b < B; b++)
                    for (int i = 0; i < V; i++)
                        v0[b * V + i] = data[perm[start + b] * V + i];
                for (int m = 0; m < B * H; m++)
                    noise[m] = lin ? (float)amx_rng_normal(&sample2) : amx_rng_uniform(&sample2);
                for (int i = 0; i < 6; i++)
                    Wf[i] = (float)W[i];
                for (int i = 0; i < 3; i++)
                    bvf[i] = (float)bv[i];
                for (int i = 0; i < 2; i++)
                    bhf[i] = (float)bh[i];
                double gW[6], gbv[3], gbh[2], hs[4];
                er += cd_hand(V, H, B, 1, lin, Wf, bvf, bhf, v0, noise, gW, gbv, gbh, hs);
                for (int i = 0; i < 6; i++) {
                    vW[i] = mom * vW[i] + 0.3 * (gW[i] - 0.01 * W[i]);
                    W[i] += vW[i];
                }
                for (int i = 0; i < 3; i++)
                    bv[i] += (vbv[i] = mom * vbv[i] + 0.3 * gbv[i]);
                for (int i = 0; i < 2; i++)
                    bh[i] += (vbh[i] = mom * vbh[i] + 0.3 * gbh[i]);
            }
            ck_assert_msg(fabs(recon - er / 3) < 1e-5, "lin %d epoch %d recon %g vs %g", lin, epoch,
                          recon, er / 3);
            for (int i = 0; i < 6; i++)
                ck_assert_msg(fabs(rbm.W[i] - W[i]) < 1e-5, "lin %d epoch %d W[%d] %g vs %g", lin,
                              epoch, i, rbm.W[i], W[i]);
            for (int i = 0; i < 3; i++)
                ck_assert(fabs(rbm.bv[i] - bv[i]) < 1e-5);
            for (int i = 0; i < 2; i++)
                ck_assert(fabs(rbm.bh[i] - bh[i]) < 1e-5);
        }
        /* both streams consumed exactly as documented */
        ck_assert(order.state == order2.state && sample.state == sample2.state);
        amx_rbm_free(&rbm);
    }
}
END_TEST

/* RBM threads: V and H wide enough for the aligned block edges, CD-1 and
 * CD-3, logistic and linear hidden units, a last smaller batch: weights,
 * biases, momentum increments, statistics, reconstruction errors and hidden
 * probabilities bit-identical with 1 and 2 threads. The 1-thread statistics
 * are checked against cd_hand on a small batch first. */
START_TEST(test_rbm_threads_bit_identical)
{
    const int V = 100, H = 70, n = 31, bs = 9;
    struct amx_error err;
    float *data = malloc(sizeof(float) * n * V);
    struct amx_rng r = test_rng(70);
    fill_uniform(data, (size_t)n * V, 0, 1, &r);
    for (int lin = 0; lin < 2; lin++)
        for (int k = 1; k <= 3; k += 2) {
            struct amx_rbm rbm[2];
            for (int t = 0; t < 2; t++) {
                ck_assert_int_eq(amx_rbm_init(&rbm[t], V, H, lin, bs, &err), AMX_OK);
                ck_assert_int_eq(amx_rbm_set_threads(&rbm[t], t + 1, &err), AMX_OK);
                struct amx_rng init = test_rng(71);
                amx_rbm_init_weights(&rbm[t], 0.1, &init);
            }
            ck_assert_int_eq(rbm[1].n_threads, 2);
            /* statistics of one batch of 3 against the hand computation */
            float noise[3 * 3 * 70];
            for (int i = 0; i < 3 * 3 * H; i++)
                noise[i] = lin ? (float)amx_rng_normal(&r) : amx_rng_uniform(&r);
            static double gW[100 * 70];
            double gbv[100], gbh[70], hs[3 * 70];
            double er = cd_hand(V, H, 3, k, lin, rbm[0].W, rbm[0].bv, rbm[0].bh, data, noise, gW,
                                gbv, gbh, hs);
            double got[2];
            for (int t = 0; t < 2; t++)
                got[t] = amx_rbm_cd_stats(&rbm[t], data, 3, k, noise);
            ck_assert_msg(fabs(got[0] - er) <= 1e-5 * er, "recon %g vs %g", got[0], er);
            for (int i = 0; i < V * H; i++)
                ck_assert_msg(fabs(rbm[0].gW[i] - gW[i]) < 1e-5, "lin %d k %d gW[%d] %g vs %g", lin,
                              k, i, rbm[0].gW[i], gW[i]);
            for (int i = 0; i < V; i++)
                ck_assert(fabs(rbm[0].gbv[i] - gbv[i]) < 1e-5);
            for (int i = 0; i < H; i++)
                ck_assert(fabs(rbm[0].gbh[i] - gbh[i]) < 1e-5);
            ck_assert(got[1] == got[0]);
            ck_assert(memcmp(rbm[0].gW, rbm[1].gW, sizeof(float) * V * H) == 0);
            ck_assert(memcmp(rbm[0].gbv, rbm[1].gbv, sizeof(float) * V) == 0);
            ck_assert(memcmp(rbm[0].gbh, rbm[1].gbh, sizeof(float) * H) == 0);

            struct amx_rbm_hparams hp = {0.1, 0.5, 0.9, 1, 0.0002, k};
            for (int e = 0; e < 2; e++) {
                double rec[2];
                for (int t = 0; t < 2; t++) {
                    struct amx_rng order = test_rng(72 + e), sample = test_rng(74 + e);
                    ck_assert_int_eq(amx_rbm_train_epoch(&rbm[t], data, n, bs, &hp, e, &order,
                                                         &sample, &rec[t], &err),
                                     AMX_OK);
                }
                ck_assert(rec[1] == rec[0]);
                /* one slab: W, gW, vW, bv, gbv, vbv, bh, gbh, vbh */
                size_t np = 3 * (size_t)V * H + 3 * (size_t)V + 3 * (size_t)H;
                ck_assert_msg(memcmp(rbm[0].slab, rbm[1].slab, sizeof(float) * np) == 0,
                              "lin %d k %d epoch %d: parameters differ", lin, k, e);
            }
            float *p0 = malloc(sizeof(float) * n * H), *p1 = malloc(sizeof(float) * n * H);
            amx_rbm_hidden_probs(&rbm[0], data, n, p0);
            amx_rbm_hidden_probs(&rbm[1], data, n, p1);
            ck_assert(memcmp(p0, p1, sizeof(float) * n * H) == 0);
            free(p0), free(p1);
            ck_assert_int_eq(amx_rbm_set_threads(&rbm[1], 0, &err), AMX_ERR_CONFIG);
            amx_rbm_free(&rbm[0]);
            amx_rbm_free(&rbm[1]);
        }
    free(data);
}
END_TEST

START_TEST(test_rbm_errors_and_hidden_probs)
{
    struct amx_rbm rbm;
    struct amx_error err;
    ck_assert_int_eq(amx_rbm_init(&rbm, 3, 2, false, 4, &err), AMX_OK);
    struct amx_rng a = test_rng(20), b = test_rng(21);
    struct amx_rbm_hparams hp = {0.1, 0.5, 0.9, 5, 0.0002, 1};
    float data[12] = {0};
    ck_assert_int_eq(amx_rbm_train_epoch(&rbm, data, 4, 5, &hp, 0, &a, &b, NULL, &err),
                     AMX_ERR_CONFIG);
    ck_assert_int_eq(amx_rbm_train_epoch(&rbm, data, 0, 2, &hp, 0, &a, &b, NULL, &err),
                     AMX_ERR_CONFIG);
    hp.cd_k = 0;
    ck_assert_int_eq(amx_rbm_train_epoch(&rbm, data, 4, 2, &hp, 0, &a, &b, NULL, &err),
                     AMX_ERR_CONFIG);
    amx_rbm_free(&rbm);

    /* hidden probabilities (logistic) and means (linear) of 5 rows */
    for (int lin = 0; lin < 2; lin++) {
        ck_assert_int_eq(amx_rbm_init(&rbm, 3, 2, lin, 1, &err), AMX_OK);
        struct amx_rng r = test_rng(22);
        fill_uniform(rbm.W, 6, -1, 1, &r);
        fill_uniform(rbm.bh, 2, -1, 1, &r);
        float x[15], out[10];
        fill_uniform(x, 15, 0, 1, &r);
        amx_rbm_hidden_probs(&rbm, x, 5, out);
        for (int n = 0; n < 5; n++)
            for (int j = 0; j < 2; j++) {
                double z = rbm.bh[j];
                for (int i = 0; i < 3; i++)
                    z += (double)x[n * 3 + i] * rbm.W[i * 2 + j];
                ck_assert(fabs(out[n * 2 + j] - (lin ? z : sigm(z))) < 1e-6);
            }
        amx_rbm_free(&rbm);
    }
}
END_TEST

/* ---------------------------------------------------------------------- */
/* Learning                                                               */

/* Up to max images of an IDX3 file (gz or not) as floats / 255; NULL if absent. */
static float *load_idx3(const char *path, int max, int *n_out, int *dim_out)
{
    gzFile f = gzopen(path, "rb");
    if (!f) return NULL;
    unsigned char h[16];
    if (gzread(f, h, 16) != 16 || h[2] != 0x08 || h[3] != 3) {
        gzclose(f);
        return NULL;
    }
    int n = (h[4] << 24) | (h[5] << 16) | (h[6] << 8) | h[7];
    int rows = (h[8] << 24) | (h[9] << 16) | (h[10] << 8) | h[11];
    int cols = (h[12] << 24) | (h[13] << 16) | (h[14] << 8) | h[15];
    if (n > max) n = max;
    int dim = rows * cols;
    unsigned char *raw = malloc((size_t)n * dim);
    float *x = malloc(sizeof(float) * (size_t)n * dim);
    if (gzread(f, raw, (unsigned)(n * dim)) != n * dim) {
        free(raw), free(x), gzclose(f);
        return NULL;
    }
    for (size_t i = 0; i < (size_t)n * dim; i++)
        x[i] = raw[i] / 255.0f;
    free(raw);
    gzclose(f);
    *n_out = n;
    *dim_out = dim;
    return x;
}

/* The committed fixture: 300 real MNIST digits (tests/data/README.md). */
static float *learning_data(int *n, int *dim)
{
    float *x = load_idx3(AMX_TEST_DATA "/fixture-images-idx3-ubyte.gz", 300, n, dim);
    ck_assert_msg(x != NULL, "cannot read " AMX_TEST_DATA "/fixture-images-idx3-ubyte.gz");
    ck_assert(*n == 300 && *dim == 784);
    return x;
}

/* Reconstruction error must fall over epochs, for a logistic RBM at the
 * recipe's rate and for a linear-hidden one (the stack's top). */
START_TEST(test_rbm_learns)
{
    int n, V;
    float *x = learning_data(&n, &V);
    for (int lin = 0; lin < 2; lin++) {
        struct amx_rbm rbm;
        struct amx_error err;
        ck_assert_int_eq(amx_rbm_init(&rbm, V, 32, lin, 20, &err), AMX_OK);
        struct amx_rng init = test_rng(31), order = test_rng(32), sample = test_rng(33);
        amx_rbm_init_weights(&rbm, 0.1, &init);
        struct amx_rbm_hparams hp = {lin ? 0.01 : 0.1, 0.5, 0.9, 2, 0.0002, 1};
        double first = 0, last = 0;
        for (int e = 0; e < 8; e++) {
            double r;
            ck_assert_int_eq(
                amx_rbm_train_epoch(&rbm, x, (size_t)n, 20, &hp, e, &order, &sample, &r, &err),
                AMX_OK);
            ck_assert(isfinite(r));
            if (e == 0) first = r;
            last = r;
            if (getenv("NN_VERBOSE")) printf("rbm linear %d epoch %d recon %g\n", lin, e, r);
        }
        ck_assert_msg(last < 0.5 * first, "linear %d: recon error %g -> %g", lin, first, last);
        amx_rbm_free(&rbm);
    }
    free(x);
}
END_TEST

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

static Suite *nn_suite(void)
{
    Suite *s = suite_create("nn");
    TCase *tc = tcase_create("kernels");
    tcase_add_test(tc, test_gemm_hand_2x2);
    tcase_add_test(tc, test_gemm_vs_reference);
    tcase_add_test(tc, test_activation_kernels);
    tcase_add_test(tc, test_activation_backward);
    tcase_add_test(tc, test_loss_kernels);
    tcase_add_test(tc, test_cross_entropy_backward);
    tcase_add_test(tc, test_squared_error_backward);
    tcase_add_test(tc, test_dense_backward);
    tcase_add_test(tc, test_units_whole_range);
    suite_add_tcase(s, tc);

    tc = tcase_create("autoencoder");
    /* every case on every backend of the table */
    const int n_grad = (int)(N_GCASES * amx_blas_backend_count());
    tcase_add_loop_test(tc, test_gradient_check, 0, n_grad);
    tcase_add_loop_test(tc, test_gradient_check_narrow, 0, n_grad);
    tcase_add_test(tc, test_cross_entropy_needs_logistic);
    tcase_add_test(tc, test_autoencoder_layout);
    tcase_add_test(tc, test_autoencoder_init_errors);
    tcase_add_test(tc, test_init_size_overflow);
    tcase_add_test(tc, test_init_random);
    tcase_add_test(tc, test_unrolling);
    tcase_add_test(tc, test_recon_error);
    tcase_add_test(tc, test_threads_bit_identical);
    tcase_add_test(tc, test_tensor_parts);
    tcase_add_test(tc, test_run_parts);
    suite_add_tcase(s, tc);

    tc = tcase_create("rbm");
    tcase_add_test(tc, test_cd1_zero_weights_by_hand);
    tcase_add_test(tc, test_cd_stats_by_hand);
    tcase_add_test(tc, test_rbm_epoch_by_hand);
    tcase_add_test(tc, test_rbm_errors_and_hidden_probs);
    tcase_add_test(tc, test_rbm_threads_bit_identical);
    suite_add_tcase(s, tc);

    tc = tcase_create("learning");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_rbm_learns);
    tcase_add_test(tc, test_finetune_learns);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(nn_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
