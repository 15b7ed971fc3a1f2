/* Benchmark: the cost of one AdaMix update (weights: current-gradient,
 * biases: power-exponential) against the constant rule, over the parameter
 * tensors of the unrolled 784-1000-500-250-30 autoencoder (about 2.84 million
 * parameters). Prints the median time of each, their ratio and the extra
 * milliseconds AdaMix adds to a fine-tuning step. Times only the optimizer
 * step (no forward or backward pass); run by hand, never by the test suite.
 *
 *   bench_update [reps]      (default 50) */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */
#include "adamix/optim.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define N_SIZES 5
static const int sizes[N_SIZES] = {784, 1000, 500, 250, 30};
#define DEPTH (2 * (N_SIZES - 1))

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec * 1e-6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Gradients need only be plausible in size: a xorshift fill in [-1e-3, 1e-3). */
static void fill(float *g, size_t n, uint64_t *s)
{
    for (size_t i = 0; i < n; i++) {
        *s ^= *s << 13;
        *s ^= *s >> 7;
        *s ^= *s << 17;
        g[i] = (float)((double)(*s >> 11) * 0x1p-53 * 2e-3 - 1e-3);
    }
}

static struct amx_rule_binding bind(const char *selector, const char *rule)
{
    struct amx_rule_binding b;
    memset(&b, 0, sizeof b);
    snprintf(b.selector, sizeof b.selector, "%s", selector);
    amx_rule_spec_defaults(&b.spec, amx_rule_find(rule));
    return b;
}

static double median_step_ms(struct amx_optimizer *opt, int reps, double *samples)
{
    for (int r = 0; r < 3; r++)
        amx_optimizer_step(opt); /* warm up */
    for (int r = 0; r < reps; r++) {
        double t0 = now_ms();
        amx_optimizer_step(opt);
        samples[r] = now_ms() - t0;
    }
    qsort(samples, (size_t)reps, sizeof *samples, cmp_double);
    return reps % 2 ? samples[reps / 2] : 0.5 * (samples[reps / 2 - 1] + samples[reps / 2]);
}

int main(int argc, char **argv)
{
    int reps = argc > 1 ? atoi(argv[1]) : 50;
    if (reps < 1) reps = 50;

    struct amx_param_tensor t[2 * DEPTH];
    size_t total = 0;
    uint64_t seed = 0x9E3779B97F4A7C15u;
    for (int l = 1; l <= DEPTH; l++) {
        /* encoder layer l maps sizes[l-1] -> sizes[l]; decoder mirrors it */
        int in = l <= N_SIZES - 1 ? sizes[l - 1] : sizes[DEPTH - l + 1];
        int out = l <= N_SIZES - 1 ? sizes[l] : sizes[DEPTH - l];
        for (int k = 0; k < 2; k++) {
            struct amx_param_tensor *p = &t[2 * (l - 1) + k];
            memset(p, 0, sizeof *p);
            snprintf(p->name, sizeof p->name, "layer%d.%s", l, k ? "biases" : "weights");
            p->layer = l;
            p->is_bias = k;
            p->in_encoder = l <= N_SIZES - 1;
            p->n = k ? (size_t)out : (size_t)in * (size_t)out;
            p->theta = calloc(p->n, sizeof(float));
            p->grad = malloc(p->n * sizeof(float));
            if (!p->theta || !p->grad) {
                fprintf(stderr, "bench_update: out of memory\n");
                return 1;
            }
            fill(p->grad, p->n, &seed);
            total += p->n;
        }
    }

    struct amx_rule_binding constant[] = {bind("all", "constant")};
    struct amx_rule_binding adamix[] = {bind("weights", "current-gradient"),
                                        bind("biases", "power-exponential")};
    struct amx_optimizer *oc = NULL, *oa = NULL;
    struct amx_error err;
    if (amx_optimizer_init(&oc, t, 2 * DEPTH, constant, 1, &err) != AMX_OK ||
        amx_optimizer_init(&oa, t, 2 * DEPTH, adamix, 2, &err) != AMX_OK) {
        fprintf(stderr, "bench_update: %s\n", err.msg);
        return 1;
    }
    amx_optimizer_epoch_begin(oc, 0);
    amx_optimizer_epoch_begin(oa, 0);

    double *samples = malloc((size_t)reps * sizeof *samples);
    if (!samples) return 1;
    /* Alternate the two a few times and keep the best median of each, so a
     * burst of load from other processes does not decide the ratio. */
    double mc = 1e300, ma = 1e300;
    for (int round = 0; round < 3; round++) {
        double c = median_step_ms(oc, reps, samples);
        double a = median_step_ms(oa, reps, samples);
        mc = c < mc ? c : mc;
        ma = a < ma ? a : ma;
    }
    printf("parameters           %zu (784-1000-500-250-30 unrolled, %d tensors)\n", total,
           2 * DEPTH);
    printf("constant update      %.3f ms (median of %d)\n", mc, reps);
    printf("AdaMix update        %.3f ms (median of %d)\n", ma, reps);
    printf("ratio AdaMix/const   %.2f\n", ma / mc);
    printf("extra per step       %.3f ms\n", ma - mc);

    free(samples);
    amx_optimizer_free(oc);
    amx_optimizer_free(oa);
    for (int i = 0; i < 2 * DEPTH; i++) {
        free(t[i].theta);
        free(t[i].grad);
    }
    return 0;
}
