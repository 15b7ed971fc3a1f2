/* Tests of the RBM of src/nn/rbm.c against independent truths: CD-k
 * statistics and whole RBM epochs (permutation, noise order, momentum,
 * weight decay, last smaller batch) against a double-precision hand
 * computation replaying the documented stream use; threads bit-identical;
 * and learning: the reconstruction error falls over epochs on the 300 real
 * digits of tests/data. */
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

static Suite *rbm_suite(void)
{
    Suite *s = suite_create("nn rbm");
    TCase *tc = tcase_create("by hand");
    tcase_add_test(tc, test_cd1_zero_weights_by_hand);
    tcase_add_test(tc, test_cd_stats_by_hand);
    tcase_add_test(tc, test_rbm_epoch_by_hand);
    tcase_add_test(tc, test_rbm_errors_and_hidden_probs);
    tcase_add_test(tc, test_rbm_threads_bit_identical);
    suite_add_tcase(s, tc);
    tc = tcase_create("learning");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_rbm_learns);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(rbm_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
