/* Benchmark: the cost of one update under each rule of Figure 4 (AdaMix in
 * its two readings: weights current-gradient with window: step, K = 1, or
 * window: epoch, K = 1e-4, biases power-exponential; AdaGrad; AdaDec) against
 * the constant rule, over the parameter tensors of the unrolled
 * 784-1000-500-250-30 autoencoder (about 2.84 million parameters). Prints the
 * median time of each, the ratio to constant and the extra milliseconds per
 * fine-tuning step; the rules are timed in turn, three rounds, the best
 * median of each kept. Times only the optimizer step (no forward or backward
 * pass); run by hand, never by the test suite.
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
            p->part = l <= N_SIZES - 1 ? "encoder" : "decoder";
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
    struct amx_rule_binding step_k1[] = {bind("weights", "current-gradient"),
                                         bind("biases", "power-exponential")};
    struct amx_rule_binding epoch_k[] = {bind("weights", "current-gradient"),
                                         bind("biases", "power-exponential")};
    const struct amx_rule *cg = amx_rule_find("current-gradient");
    epoch_k[0].spec.p[amx_rule_param_index(cg, "K")] = 1e-4;
    epoch_k[0].spec.p[amx_rule_param_index(cg, "window")] = 1; /* epoch */
    struct amx_rule_binding adagrad[] = {bind("all", "adagrad")};
    struct amx_rule_binding adadec[] = {bind("all", "adadec")};
    struct {
        const char *name;
        struct amx_rule_binding *b;
        int n;
        struct amx_optimizer *opt;
        double ms;
    } rules[] = {{"constant", constant, 1, NULL, 1e300},
                 {"AdaMix (window: epoch, K 1e-4)", epoch_k, 2, NULL, 1e300},
                 {"AdaMix (window: step, K 1)", step_k1, 2, NULL, 1e300},
                 {"AdaGrad", adagrad, 1, NULL, 1e300},
                 {"AdaDec", adadec, 1, NULL, 1e300}};
    const int n_rules = (int)(sizeof rules / sizeof rules[0]);
    struct amx_error err;
    for (int k = 0; k < n_rules; k++) {
        if (amx_optimizer_init(&rules[k].opt, t, 2 * DEPTH, rules[k].b, rules[k].n, &err) !=
            AMX_OK) {
            fprintf(stderr, "bench_update: %s: %s\n", rules[k].name, err.msg);
            return 1;
        }
        amx_optimizer_epoch_begin(rules[k].opt, 0);
    }

    double *samples = malloc((size_t)reps * sizeof *samples);
    if (!samples) return 1;
    /* Take turns a few times and keep the best median of each, so a burst of
     * load from other processes does not decide the ratios. */
    for (int round = 0; round < 3; round++)
        for (int k = 0; k < n_rules; k++) {
            double ms = median_step_ms(rules[k].opt, reps, samples);
            if (ms < rules[k].ms) rules[k].ms = ms;
        }
    printf("parameters           %zu (784-1000-500-250-30 unrolled, %d tensors)\n", total,
           2 * DEPTH);
    printf("%-32s %9s %9s %16s\n", "rule", "ms/update", "/constant", "extra ms/update");
    for (int k = 0; k < n_rules; k++)
        printf("%-32s %9.3f %9.2f %16.3f\n", rules[k].name, rules[k].ms, rules[k].ms / rules[0].ms,
               rules[k].ms - rules[0].ms);

    free(samples);
    for (int k = 0; k < n_rules; k++)
        amx_optimizer_free(rules[k].opt);
    for (int i = 0; i < 2 * DEPTH; i++) {
        free(t[i].theta);
        free(t[i].grad);
    }
    return 0;
}
