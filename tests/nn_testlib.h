/* Shared by the suites of src/nn (tests/check_nn_*.c, check_classifier.c):
 * seeded test streams, the units in double, the fixture digits, and the
 * finite-difference harness every whole-network gradient test uses. Header
 * only (static inline), so each suite takes what it needs. */
#ifndef ADAMIX_NN_TESTLIB_H
#define ADAMIX_NN_TESTLIB_H

#include "adamix/nn.h"

#include <check.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

static inline struct amx_rng test_rng(uint32_t purpose)
{
    struct amx_rng r;
    amx_rng_stream(&r, 12345, 0, AMX_STREAM_USER + purpose);
    return r;
}

static inline void fill_uniform(float *a, size_t n, float lo, float hi, struct amx_rng *r)
{
    for (size_t i = 0; i < n; i++)
        a[i] = lo + (hi - lo) * amx_rng_uniform(r);
}

static inline double sigm(double z)
{
    return 1.0 / (1.0 + exp(-z));
}

/* A unit's value in double (NAN for softmax, a row's unit). */
static inline double unit_f(enum amx_unit u, double z)
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
    case AMX_UNIT_SOFTMAX:
        break;
    }
    return NAN;
}

/* The finite-difference harness (ggml's test-backend-ops is the model: an
 * objective, the gradient under test, a step and a tolerance): for each of
 * the n entries x[i] of the parameters the objective reads, the central
 * difference (f(x + h e_i) - f(x - h e_i)) / 2h of the objective f(ctx)
 * against grad[i]: |grad - fd| <= atol + rtol |fd|, failing with `what`,
 * the index, both values. x is restored. Returns the largest |fd|, so that
 * the caller can require something to have been tested. */
static inline double fd_check(double (*f)(void *ctx), void *ctx, double *x, size_t n,
                              const float *grad, double h, double atol, double rtol,
                              const char *what)
{
    double biggest = 0.0;
    for (size_t i = 0; i < n; i++) {
        double keep = x[i];
        x[i] = keep + h;
        double fp = f(ctx);
        x[i] = keep - h;
        double fm = f(ctx);
        x[i] = keep;
        double fd = (fp - fm) / (2 * h), g = grad[i];
        ck_assert_msg(fabs(g - fd) <= atol + rtol * fabs(fd),
                      "%s[%zu]: backprop %.8g, central difference %.8g", what, i, g, fd);
        if (fabs(fd) > biggest) biggest = fabs(fd);
    }
    return biggest;
}

/* Up to max images of an IDX3 file (gz or not) as floats / 255; NULL if absent. */
static inline float *load_idx3(const char *path, int max, int *n_out, int *dim_out)
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
static inline float *learning_data(int *n, int *dim)
{
    float *x = load_idx3(AMX_TEST_DATA "/fixture-images-idx3-ubyte.gz", 300, n, dim);
    ck_assert_msg(x != NULL, "cannot read " AMX_TEST_DATA "/fixture-images-idx3-ubyte.gz");
    ck_assert(*n == 300 && *dim == 784);
    return x;
}

#endif
