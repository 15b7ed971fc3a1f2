/* Benchmark: the classifier's fine-tuning step, Hinton & Salakhutdinov's
 * 784-500-500-2000-10 at batch 100 (logistic hidden units, softmax
 * cross-entropy), against the limit of its own matrix products measured in
 * the same process.
 *
 *   bench_classifier [reps] [steps]    (defaults 9 and 20)
 *
 * One step is what a run does per mini-batch: copy 100 random rows and their
 * labels into the batch, amx_net_train_step, and the update: one optimiser
 * per part of the tensors (amx_net_tensor_part), run on the network's threads
 * (amx_net_run_parts). Rules: constant (all: constant) and AdaMix (weights:
 * current-gradient, window: epoch; biases: power-exponential), on 1 and 2
 * threads of the network's pool (BLAS single-threaded). The products' limit
 * is the time of exactly the 11 amx_gemm calls of one unsplit step (4
 * forward, 4 weight gradients, 3 input gradients: the first layer's is not
 * needed), same shapes, same order, back to back on one thread, on the same
 * backend; efficiency = limit time / step time (1 = nothing but the
 * products). Each backend this build and CPU offer (openblas, onednn) is
 * measured in fp32. Every measure is repeated, interleaved with the others,
 * and the medians printed, then "RESULT name value" lines for
 * tools/bench/run.sh. Ratios mean something on any CPU; the absolute numbers
 * only on the CPU that printed them. */
#define _POSIX_C_SOURCE 200809L
#include "adamix/nn.h"
#include "adamix/optim.h"
#include "adamix/rng.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define L 4 /* layer sizes below the softmax */
static const int sizes[L] = {784, 500, 500, 2000};
#define CLASSES 10
#define B 100
#define N_DATA 2000

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static void *xmalloc(size_t bytes)
{
    void *p = malloc(bytes);
    if (!p) {
        fprintf(stderr, "bench_classifier: out of memory\n");
        exit(1);
    }
    return p;
}

static void die(const struct amx_error *err)
{
    fprintf(stderr, "bench_classifier: %s\n", err->msg);
    exit(1);
}

struct setup {
    struct amx_net net;
    struct amx_optimizer *opt[AMX_NN_SPLIT];
    struct amx_param_tensor *tensors;
};

static void rules(int adamix, struct amx_rule_binding *b, size_t *n)
{
    memset(b, 0, 2 * sizeof *b);
    if (!adamix) {
        snprintf(b[0].selector, sizeof b[0].selector, "all");
        amx_rule_spec_defaults(&b[0].spec, amx_rule_find("constant"));
        b[0].spec.eta0 = 0.1;
        *n = 1;
        return;
    }
    const struct amx_rule *cg = amx_rule_find("current-gradient");
    snprintf(b[0].selector, sizeof b[0].selector, "weights");
    amx_rule_spec_defaults(&b[0].spec, cg);
    b[0].spec.eta0 = 0.03;
    b[0].spec.p[amx_rule_param_index(cg, "window")] = 1; /* epoch */
    b[0].spec.p[amx_rule_param_index(cg, "K")] = 1e-4;
    snprintf(b[1].selector, sizeof b[1].selector, "biases");
    amx_rule_spec_defaults(&b[1].spec, amx_rule_find("power-exponential"));
    b[1].spec.eta0 = 0.03;
    *n = 2;
}

static void setup_init(struct setup *s, int threads, int adamix, struct amx_rng *r)
{
    struct amx_error err;
    memset(s, 0, sizeof *s);
    if (amx_classifier_init(&s->net, sizes, L, AMX_UNIT_LOGISTIC, CLASSES, B, &err) ||
        amx_net_set_threads(&s->net, threads, &err))
        die(&err);
    amx_net_init_random(&s->net, 0.1, r);
    size_t nt = amx_net_tensors(&s->net, NULL);
    s->tensors = xmalloc(nt * sizeof *s->tensors);
    struct amx_rule_binding b[2];
    size_t nb;
    rules(adamix, b, &nb);
    for (int p = 0; p < AMX_NN_SPLIT; p++) {
        size_t np = amx_net_tensor_part(&s->net, p, AMX_NN_SPLIT, s->tensors);
        if (amx_optimizer_init(&s->opt[p], s->tensors, np, b, nb, &err)) die(&err);
        amx_optimizer_epoch_begin(s->opt[p], 0);
    }
}

static void setup_free(struct setup *s)
{
    for (int p = 0; p < AMX_NN_SPLIT; p++)
        amx_optimizer_free(s->opt[p]);
    free(s->tensors);
    amx_net_free(&s->net);
}

static void step_part(void *ctx, int part, int n_parts)
{
    (void)n_parts;
    amx_optimizer_step(((struct setup *)ctx)->opt[part]);
}

/* Seconds per step, over `steps` steps on random batches of the data. */
static double time_steps(struct setup *s, const float *data, const uint8_t *labels, int steps,
                         struct amx_rng *r, float *x, uint8_t *y)
{
    double t0 = now();
    for (int k = 0; k < steps; k++) {
        for (int b = 0; b < B; b++) {
            uint32_t row = amx_rng_bounded(r, N_DATA);
            memcpy(x + (size_t)b * 784, data + (size_t)row * 784, 784 * sizeof(float));
            y[b] = labels[row];
        }
        struct amx_target t = {.labels = y};
        amx_net_train_step(&s->net, x, &t, B, AMX_LOSS_CROSS_ENTROPY);
        amx_net_run_parts(&s->net, step_part, s);
    }
    return (now() - t0) / steps;
}

/* The 11 products of one unsplit step, back to back: seconds per step. */
static double time_products(const struct amx_net *net, int steps, float *x, float *scratch)
{
    float *act[L + 1] = {x};
    size_t off = 0;
    for (int l = 1; l <= L; l++) {
        act[l] = scratch + off;
        off += (size_t)B * (size_t)(l < L ? sizes[l] : CLASSES);
    }
    float *dz = scratch + off, *dx = dz + (size_t)B * 2000;
    float *dW = dx + (size_t)B * 2000;
    double t0 = now();
    for (int k = 0; k < steps; k++) {
        for (int l = 0; l < L; l++) {
            const struct amx_dense *d = &net->layer[l];
            amx_gemm(false, false, B, d->out, d->in, 1.0f, act[l], d->in, d->W, d->out, 0.0f,
                     act[l + 1], d->out);
        }
        for (int l = L - 1; l >= 0; l--) {
            const struct amx_dense *d = &net->layer[l];
            amx_gemm(true, false, d->in, d->out, B, 1.0f, act[l], d->in, dz, d->out, 0.0f, dW,
                     d->out);
            if (l > 0)
                amx_gemm(false, true, B, d->in, d->out, 1.0f, dz, d->out, d->W, d->out, 0.0f, dx,
                         d->in);
        }
    }
    return (now() - t0) / steps;
}

int main(int argc, char **argv)
{
    int reps = argc > 1 ? atoi(argv[1]) : 9, steps = argc > 2 ? atoi(argv[2]) : 20;
    if (reps < 1 || steps < 1) {
        fprintf(stderr, "usage: bench_classifier [reps] [steps]\n");
        return 2;
    }
    struct amx_rng r;
    amx_rng_stream(&r, 2006, 0, AMX_STREAM_USER + 7);
    float *data = xmalloc(sizeof(float) * N_DATA * 784);
    uint8_t *labels = xmalloc(N_DATA);
    for (size_t i = 0; i < (size_t)N_DATA * 784; i++)
        data[i] = amx_rng_uniform(&r);
    for (int i = 0; i < N_DATA; i++)
        labels[i] = (uint8_t)amx_rng_bounded(&r, CLASSES);
    float *x = xmalloc(sizeof(float) * B * 784);
    uint8_t *y = xmalloc(B);
    size_t n_scratch = (size_t)B * (500 + 500 + 2000 + 10 + 4000) + (size_t)784 * 2000;
    float *scratch = xmalloc(sizeof(float) * n_scratch);
    /* ordinary numbers in every operand (garbage could hold denormals or
     * NaN, which some kernels run slower on) */
    for (size_t i = 0; i < n_scratch; i++)
        scratch[i] = 1e-3f * amx_rng_uniform(&r);
    memcpy(x, data, sizeof(float) * B * 784);
    amx_blas_set_threads(1);
    printf("classifier 784-500-500-2000-10, batch %d: medians of %d rounds of %d steps\n", B, reps,
           steps);
    printf("%-10s %-8s %8s %12s %10s %12s\n", "backend", "rule", "threads", "images/s", "limit/s",
           "efficiency");
    for (size_t bi = 0; bi < amx_blas_backend_count(); bi++) {
        const char *name = amx_blas_backend_name(bi);
        struct amx_error err;
        if (amx_blas_backend_unavailable(bi) || amx_blas_select(name, &err)) continue;
        struct setup s[2][2]; /* [adamix][threads - 1] */
        for (int a = 0; a < 2; a++)
            for (int t = 0; t < 2; t++)
                setup_init(&s[a][t], t + 1, a, &r);
        double *v = xmalloc(sizeof(double) * (size_t)reps * 5);
        /* a warm-up round (oneDNN makes its primitives at first use) */
        time_products(&s[0][0].net, 2, x, scratch);
        for (int a = 0; a < 2; a++)
            for (int t = 0; t < 2; t++)
                time_steps(&s[a][t], data, labels, 2, &r, x, y);
        for (int k = 0; k < reps; k++) { /* interleaved: load hits every measure alike */
            v[k] = time_products(&s[0][0].net, steps, x, scratch);
            for (int a = 0; a < 2; a++)
                for (int t = 0; t < 2; t++)
                    v[(size_t)(1 + 2 * a + t) * reps + k] =
                        time_steps(&s[a][t], data, labels, steps, &r, x, y);
        }
        double limit = median(v, reps);
        for (int a = 0; a < 2; a++)
            for (int t = 0; t < 2; t++) {
                double sec = median(v + (size_t)(1 + 2 * a + t) * reps, reps);
                const char *rule = a ? "adamix" : "constant";
                printf("%-10s %-8s %8d %12.0f %10.0f %12.3f\n", name, rule, t + 1, B / sec,
                       B / limit, limit / sec);
                printf("RESULT %s_classifier_%s_%dt_images_per_s %.1f\n", name, rule, t + 1,
                       B / sec);
                if (t == 0)
                    printf("RESULT %s_classifier_%s_efficiency %.4f\n", name, rule, limit / sec);
            }
        printf("RESULT %s_classifier_products_limit_images_per_s %.1f\n", name, B / limit);
        for (int a = 0; a < 2; a++)
            for (int t = 0; t < 2; t++)
                setup_free(&s[a][t]);
        free(v);
    }
    free(scratch);
    free(y);
    free(x);
    free(labels);
    free(data);
    return 0;
}
