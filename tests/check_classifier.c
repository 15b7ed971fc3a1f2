/* The classifier of src/nn/net.c against independent truths: the fused
 * softmax cross-entropy kernel and whole classifiers against central
 * differences of a double-precision reference written here (pretrained or
 * not does not change a gradient; the hidden units do, and so do layers
 * narrower than the split), the error rate and mean cross-entropy against a
 * hand count, the pretrained stack under a softmax layer, and bit-identity
 * of a step on one or two threads. */
#include "adamix/nn.h"
#include "nn_testlib.h"

#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* -log softmax(z)[label] in double, by log-sum-exp. */
static double ref_nll(const double *z, int C, int label)
{
    double m = z[0];
    for (int j = 1; j < C; j++)
        if (z[j] > m) m = z[j];
    double s = 0;
    for (int j = 0; j < C; j++)
        s += exp(z[j] - m);
    return log(s) - (z[label] - m);
}

/* ---------------------------------------------------------------------- */
/* The kernel                                                             */

/* Loss, probabilities and dZ of amx_softmax_cross_entropy_* against the
 * double reference and its central differences, on a block of rows at a
 * leading dimension wider than C; and the rows counted wrong by hand. */
START_TEST(test_softmax_kernel)
{
    enum { B = 5, C = 4, LD = 7 };
    float Y[B * LD], Y0[B * LD], bias[C], dZ[B * LD];
    uint8_t labels[B] = {0, 3, 2, 1, 3};
    struct amx_rng r = test_rng(1000 + 1);
    fill_uniform(Y0, B * LD, -3, 3, &r);
    fill_uniform(bias, C, -1, 1, &r);
    /* row 4: logits far apart, where exp(z) overflows a float and p_label
     * underflows: the loss must stay finite and right */
    Y0[4 * LD + 0] = 1000, Y0[4 * LD + 1] = -1000, Y0[4 * LD + 2] = 0, Y0[4 * LD + 3] = -300;
    memcpy(Y, Y0, sizeof Y);
    long wrong = 7; /* added to */
    double loss = amx_softmax_cross_entropy_forward(Y, bias, labels, LD, B, C, &wrong);
    double ref = 0;
    long hand_wrong = 0;
    for (int b = 0; b < B; b++) {
        double z[C];
        int best = 0;
        for (int j = 0; j < C; j++) {
            z[j] = (double)Y0[b * LD + j] + (double)bias[j];
            if (z[j] > z[best]) best = j;
        }
        ref += ref_nll(z, C, labels[b]);
        hand_wrong += best != labels[b];
        double m = z[best], s = 0;
        for (int j = 0; j < C; j++)
            s += exp(z[j] - m);
        for (int j = 0; j < C; j++)
            ck_assert_msg(fabs(Y[b * LD + j] - exp(z[j] - m) / s) <= 1e-6, "p[%d][%d]", b, j);
        /* the columns beyond C are not touched */
        for (int j = C; j < LD; j++)
            ck_assert(Y[b * LD + j] == Y0[b * LD + j]);
    }
    ck_assert(isfinite(loss));
    ck_assert_msg(fabs(loss - ref) <= 1e-5 * fabs(ref), "loss %.9g vs %.9g", loss, ref);
    ck_assert_int_eq(wrong, 7 + hand_wrong);
    ck_assert_int_ge(hand_wrong, 1); /* row 4's label 3 is not its argmax 0 */

    amx_softmax_cross_entropy_backward(dZ, NULL, Y, labels, LD, B, C, B);
    const double h = 1e-4;
    for (int b = 0; b < 4; b++) /* the ordinary rows: central differences of the mean loss */
        for (int j = 0; j < C; j++) {
            double z[C], lp, lm;
            for (int k = 0; k < C; k++)
                z[k] = (double)Y0[b * LD + k] + (double)bias[k];
            z[j] += h;
            lp = ref_nll(z, C, labels[b]) / B;
            z[j] -= 2 * h;
            lm = ref_nll(z, C, labels[b]) / B;
            double fd = (lp - lm) / (2 * h);
            ck_assert_msg(fabs(dZ[b * LD + j] - fd) <= 1e-6 + 1e-4 * fabs(fd),
                          "dZ[%d][%d] %.8g vs %.8g", b, j, dZ[b * LD + j], fd);
        }
    /* row 4: p = onehot(0) (to 1e-37: the exponential stops at e^-87), so
     * dZ = (onehot(0) - onehot(3)) / B */
    ck_assert(dZ[4 * LD + 0] == 1.0f / B && fabs(dZ[4 * LD + 3] + 1.0f / B) <= 1e-30);
    ck_assert(fabs(dZ[4 * LD + 1]) <= 1e-30 && fabs(dZ[4 * LD + 2]) <= 1e-30);
    /* a block of rows of a larger batch divides by the batch's size */
    float dZ2[B * LD];
    amx_softmax_cross_entropy_backward(dZ2, NULL, Y, labels, LD, 2, C, 8);
    for (int j = 0; j < C; j++)
        ck_assert(dZ2[LD + j] == dZ[LD + j] * (float)B / 8.0f ||
                  fabs(dZ2[LD + j] - dZ[LD + j] * B / 8.0) <= 1e-7);
    /* without labels: the probabilities alone, nothing summed or counted */
    memcpy(Y, Y0, sizeof Y);
    wrong = 0;
    ck_assert(amx_softmax_cross_entropy_forward(Y, bias, NULL, LD, B, C, &wrong) == 0.0);
    ck_assert_int_eq(wrong, 0);
}
END_TEST

/* ---------------------------------------------------------------------- */
/* Whole classifiers                                                      */

/* Mean over the B images of -log p(label) of the classifier of sizes
 * s_0..s_{L-1} and `classes`, parameters p in slab layout (W row-major
 * in x out, then b, layer by layer), in double. */
static double ref_loss(const int *s, int L, int classes, enum amx_unit hidden, const double *p,
                       const float *x, const uint8_t *labels, int B)
{
    double total = 0;
    for (int b = 0; b < B; b++) {
        double a[64], z[64];
        int w = s[0];
        for (int i = 0; i < w; i++)
            a[i] = x[b * s[0] + i];
        const double *q = p;
        for (int l = 0; l < L; l++) {
            int in = s[l], out = l < L - 1 ? s[l + 1] : classes;
            const double *W = q, *bias = q + in * out;
            q = bias + out;
            for (int j = 0; j < out; j++) {
                z[j] = bias[j];
                for (int i = 0; i < in; i++)
                    z[j] += a[i] * W[i * out + j];
            }
            for (int j = 0; j < out; j++)
                a[j] = l < L - 1 ? unit_f(hidden, z[j]) : z[j];
        }
        total += ref_nll(a, classes, labels[b]);
    }
    return total / B;
}

struct ccase {
    int L;
    int sizes[4];
    int classes;
    enum amx_unit hidden;
};

static const struct ccase ccases[] = {
    {3, {6, 4, 3}, 3, AMX_UNIT_LOGISTIC}, /* a deep belief net's units */
    {3, {6, 4, 3}, 3, AMX_UNIT_RELU},     /* DeepOBS's MLPs */
    {3, {6, 4, 3}, 4, AMX_UNIT_TANH},
    /* a hidden layer of one unit, narrower than AMX_NN_SPLIT: one column
     * block of 5 -> 1 is empty, and one part of the softmax's 1 -> 3 */
    {2, {5, 1}, 3, AMX_UNIT_LOGISTIC},
    {1, {6}, 5, AMX_UNIT_LOGISTIC}, /* softmax regression */
};
#define N_CCASES (int)(sizeof ccases / sizeof *ccases)

/* ref_loss as fd_check's objective. */
struct cls_ctx {
    const struct ccase *cc;
    const double *p;
    const float *x;
    const uint8_t *labels;
    int B;
};

static double cls_objective(void *ctx)
{
    const struct cls_ctx *c = ctx;
    return ref_loss(c->cc->sizes, c->cc->L, c->cc->classes, c->cc->hidden, c->p, c->x, c->labels,
                    c->B);
}

/* Every gradient entry against a central difference of ref_loss (h 1e-5),
 * |g - fd| <= 1e-6 + 1e-3 |fd|, each tensor with an entry |fd| > 1e-4; the
 * grads poisoned with NaN first; then the same step again, and on two
 * threads, bit for bit. B = 5 rows split 2 | 3 between the softmax's parts. */
static void classifier_gradient(int _i)
{
    const struct ccase *cc = &ccases[_i];
    const int B = 5;
    struct amx_net net;
    struct amx_error err;
    ck_assert_int_eq(amx_classifier_init(&net, cc->sizes, cc->L, cc->hidden, cc->classes, 6, &err),
                     AMX_OK);
    ck_assert_int_eq(net.n_layers, cc->L);
    ck_assert_int_eq(amx_net_check_loss(&net, AMX_LOSS_CROSS_ENTROPY, &err), AMX_OK);
    ck_assert_int_eq(amx_net_check_loss(&net, AMX_LOSS_SQUARED_ERROR, &err), AMX_ERR_CONFIG);
    struct amx_param_tensor t[2 * AMX_NN_MAX_DENSE];
    size_t nt = amx_net_tensors(&net, t);
    ck_assert_uint_eq(nt, 2 * (size_t)cc->L);
    ck_assert_str_eq(t[nt - 1].part, "softmax");
    if (nt > 2) ck_assert_ptr_null(t[0].part);
    struct amx_rng pr = test_rng(1000 + 10 + (uint32_t)_i);
    for (size_t k = 0; k < nt; k++)
        fill_uniform(t[k].theta, t[k].n, t[k].is_bias ? 0.0f : -1.5f, t[k].is_bias ? 0.8f : 1.5f,
                     &pr);
    float x[5 * 6];
    uint8_t labels[5];
    fill_uniform(x, (size_t)B * cc->sizes[0], 0, 1, &pr);
    for (int b = 0; b < B; b++)
        labels[b] = (uint8_t)amx_rng_bounded(&pr, (uint32_t)cc->classes);
    for (size_t i = 0; i < net.n_params; i++)
        net.grads[i] = NAN;
    struct amx_target tg = {.labels = labels};
    double loss = amx_net_train_step(&net, x, &tg, B, AMX_LOSS_CROSS_ENTROPY);

    double *p = malloc(sizeof(double) * net.n_params);
    for (size_t i = 0; i < net.n_params; i++)
        p[i] = net.params[i];
    double ref = ref_loss(cc->sizes, cc->L, cc->classes, cc->hidden, p, x, labels, B);
    ck_assert_msg(fabs(loss - ref) <= 1e-5 * fabs(ref) + 1e-6, "loss %.9g vs %.9g", loss, ref);
    struct cls_ctx rc = {cc, p, x, labels, B};
    for (size_t k = 0; k < nt; k++) {
        char what[96];
        snprintf(what, sizeof what, "case %d %.40s", _i, t[k].name);
        double biggest = fd_check(cls_objective, &rc, p + (t[k].theta - net.params), t[k].n,
                                  t[k].grad, 1e-5, 1e-6, 1e-3, what);
        ck_assert_msg(biggest > 1e-4, "case %d %s: gradient too small to test (%g)", _i, t[k].name,
                      biggest);
    }
    float *g1 = malloc(sizeof(float) * net.n_params);
    memcpy(g1, net.grads, sizeof(float) * net.n_params);
    ck_assert(amx_net_train_step(&net, x, &tg, B, AMX_LOSS_CROSS_ENTROPY) == loss);
    ck_assert(memcmp(g1, net.grads, sizeof(float) * net.n_params) == 0);
    ck_assert_int_eq(amx_net_set_threads(&net, 2, &err), AMX_OK);
    for (size_t i = 0; i < net.n_params; i++)
        net.grads[i] = NAN;
    ck_assert(amx_net_train_step(&net, x, &tg, B, AMX_LOSS_CROSS_ENTROPY) == loss);
    ck_assert(memcmp(g1, net.grads, sizeof(float) * net.n_params) == 0);
    /* a step without labels is refused, the grads untouched */
    struct amx_target none = {.x = x};
    ck_assert(isnan(amx_net_train_step(&net, x, &none, B, AMX_LOSS_CROSS_ENTROPY)));
    ck_assert(memcmp(g1, net.grads, sizeof(float) * net.n_params) == 0);
    free(g1);
    free(p);
    amx_net_free(&net);
}

/* Every case on every matrix-product backend this build and CPU have. */
START_TEST(test_classifier_gradient)
{
    int tested = 0;
    for (size_t bi = 0; bi < amx_blas_backend_count(); bi++) {
        struct amx_error err;
        if (amx_blas_backend_unavailable(bi)) continue;
        ck_assert_int_eq(amx_blas_select(amx_blas_backend_name(bi), &err), AMX_OK);
        amx_blas_set_threads(1);
        classifier_gradient(_i);
        tested++;
    }
    ck_assert_int_ge(tested, 1);
}
END_TEST

/* Softmax regression with W = I, b = 0 on two classes: x = (1, 0) has
 * logits (1, 0), x = (0, 1) logits (0, 1). Four images labelled 0, 1, 1, 0
 * against predictions 0, 1, 0, 1: 2 of 4 wrong, 50%; the cross-entropy of a
 * right row is log(1 + e^-1), of a wrong one log(1 + e). */
START_TEST(test_error_rate_by_hand)
{
    const int sizes[1] = {2};
    struct amx_net net;
    struct amx_error err;
    ck_assert_int_eq(amx_classifier_init(&net, sizes, 1, AMX_UNIT_LOGISTIC, 2, 3, &err), AMX_OK);
    net.layer[0].W[0] = 1, net.layer[0].W[1] = 0, net.layer[0].W[2] = 0, net.layer[0].W[3] = 1;
    const float x[8] = {1, 0, 0, 1, 1, 0, 0, 1};
    const uint8_t labels[4] = {0, 1, 1, 0};
    struct amx_eval e;
    amx_net_evaluate(&net, x, labels, 4, &e); /* batches of 3, then 1 */
    ck_assert_double_eq(e.error, 50.0);
    double right = log1p(exp(-1.0)), wrong = log1p(exp(1.0));
    ck_assert_msg(fabs(e.loss - (right + wrong) / 2) <= 1e-6, "loss %.9g", e.loss);
    amx_net_evaluate(&net, x, labels, 2, &e);
    ck_assert_double_eq(e.error, 0.0);
    ck_assert_msg(fabs(e.loss - right) <= 1e-6, "loss %.9g", e.loss);
    amx_net_evaluate(&net, x, labels, 0, &e);
    ck_assert(e.error == 0 && e.loss == 0);
    /* the forward pass gives the probabilities */
    const float *pr = amx_net_forward(&net, x, 1);
    ck_assert(fabs(pr[0] - 1 / (1 + exp(-1.0))) <= 1e-6 && fabs(pr[0] + pr[1] - 1) <= 1e-6);
    amx_net_free(&net);
}
END_TEST

/* The pretrained stack under a softmax layer: hidden layer i is RBM i's W
 * and hidden biases; the softmax layer N(0, std^2) row-major from the stream
 * given, biases 0; an autoencoder's unrolling is refused, and a wrong
 * stack. */
START_TEST(test_classifier_from_rbms)
{
    const int sizes[3] = {6, 4, 3};
    struct amx_rbm rbms[2];
    struct amx_error err;
    struct amx_rng r = test_rng(1000 + 30);
    for (int i = 0; i < 2; i++) {
        ck_assert_int_eq(amx_rbm_init(&rbms[i], sizes[i], sizes[i + 1], false, 4, &err), AMX_OK);
        fill_uniform(rbms[i].W, (size_t)sizes[i] * sizes[i + 1], -1, 1, &r);
        fill_uniform(rbms[i].bh, (size_t)sizes[i + 1], -1, 1, &r);
        fill_uniform(rbms[i].bv, (size_t)sizes[i], -1, 1, &r);
    }
    struct amx_net net;
    ck_assert_int_eq(amx_classifier_init(&net, sizes, 3, AMX_UNIT_LOGISTIC, 10, 4, &err), AMX_OK);
    ck_assert_int_eq(amx_autoencoder_from_rbms(&net, rbms, 2, &err), AMX_ERR_CONFIG);
    struct amx_rng a = test_rng(1000 + 31), b = test_rng(1000 + 31);
    ck_assert_int_eq(amx_classifier_from_rbms(&net, rbms, 1, 0.1, &a, &err), AMX_ERR_CONFIG);
    ck_assert_int_eq(amx_classifier_from_rbms(&net, rbms, 2, 0.1, &a, &err), AMX_OK);
    for (int i = 0; i < 2; i++) {
        ck_assert(memcmp(net.layer[i].W, rbms[i].W, sizeof(float) * sizes[i] * sizes[i + 1]) == 0);
        ck_assert(memcmp(net.layer[i].b, rbms[i].bh, sizeof(float) * sizes[i + 1]) == 0);
    }
    for (int k = 0; k < 3 * 10; k++)
        ck_assert(net.layer[2].W[k] == (float)(0.1 * amx_rng_normal(&b)));
    for (int k = 0; k < 10; k++)
        ck_assert(net.layer[2].b[k] == 0);
    amx_net_free(&net);
    /* and an autoencoder refuses the classifier's */
    ck_assert_int_eq(amx_autoencoder_init(&net, sizes, 3, AMX_UNIT_LOGISTIC, AMX_UNIT_LINEAR,
                                          AMX_UNIT_LOGISTIC, 4, &err),
                     AMX_OK);
    ck_assert_int_eq(amx_classifier_from_rbms(&net, rbms, 2, 0.1, &a, &err), AMX_ERR_CONFIG);
    amx_net_free(&net);
    for (int i = 0; i < 2; i++)
        amx_rbm_free(&rbms[i]);
}
END_TEST

START_TEST(test_classifier_init_errors)
{
    const int sizes[2] = {6, 4};
    struct amx_net net;
    struct amx_error err;
    ck_assert_int_eq(amx_classifier_init(&net, sizes, 2, AMX_UNIT_LOGISTIC, 1, 4, &err),
                     AMX_ERR_CONFIG);
    ck_assert_ptr_nonnull(strstr(err.msg, "between 2 and 256 classes"));
    ck_assert_ptr_null(net.params); /* zeroed on failure */
    ck_assert_int_eq(amx_classifier_init(&net, sizes, 2, AMX_UNIT_SOFTMAX, 3, 4, &err),
                     AMX_ERR_CONFIG);
    ck_assert_int_eq(amx_classifier_init(&net, sizes, 0, AMX_UNIT_LOGISTIC, 3, 4, &err),
                     AMX_ERR_CONFIG);
    ck_assert_int_eq(amx_autoencoder_init(&net, sizes, 2, AMX_UNIT_LOGISTIC, AMX_UNIT_LINEAR,
                                          AMX_UNIT_SOFTMAX, 4, &err),
                     AMX_ERR_CONFIG);
    ck_assert_ptr_nonnull(strstr(err.msg, "classifier's output layer only"));
}
END_TEST

static Suite *classifier_suite(void)
{
    Suite *s = suite_create("classifier");
    TCase *tc = tcase_create("softmax kernel");
    tcase_add_test(tc, test_softmax_kernel);
    suite_add_tcase(s, tc);
    tc = tcase_create("network");
    tcase_add_loop_test(tc, test_classifier_gradient, 0, N_CCASES);
    tcase_add_test(tc, test_error_rate_by_hand);
    tcase_add_test(tc, test_classifier_from_rbms);
    tcase_add_test(tc, test_classifier_init_errors);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(classifier_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
