/* Tests of src/nn's products and kernels against independent truths: the
 * BLAS wrapper and the naive reference against a 2x2 product done by hand
 * and against each other for all four transpose combinations; unit and loss
 * kernels against libm in double, over their whole range; each backward
 * kernel (dense, activation, cross-entropy, squared error), on the blocks
 * and parts a split step gives it, against central differences of its own
 * objective. */
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

static Suite *kernels_suite(void)
{
    Suite *s = suite_create("nn kernels");
    TCase *tc = tcase_create("gemm");
    tcase_add_test(tc, test_gemm_hand_2x2);
    tcase_add_test(tc, test_gemm_vs_reference);
    suite_add_tcase(s, tc);
    tc = tcase_create("units and losses");
    tcase_add_test(tc, test_activation_kernels);
    tcase_add_test(tc, test_activation_backward);
    tcase_add_test(tc, test_loss_kernels);
    tcase_add_test(tc, test_cross_entropy_backward);
    tcase_add_test(tc, test_squared_error_backward);
    tcase_add_test(tc, test_units_whole_range);
    suite_add_tcase(s, tc);
    tc = tcase_create("dense");
    tcase_add_test(tc, test_dense_backward);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(kernels_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
