/* Benchmark: one oneDNN matmul primitive at a time, fp32 against bf16 inputs
 * (f32 output), on shapes of the 784-1000-500-250-30 step at batch 100: the
 * forward product of the first layer whole and as the step computes it (a
 * block of 392 of the 784 input columns, strided, and the same block made
 * dense), a backward product with a transposed B, and a weight gradient.
 * Prints the implementation oneDNN chose (brg: brgemm, gemm:jit: its JIT
 * GEMM), the best time of 7 rounds of 50 executions and GFLOP/s, then the
 * bf16 / fp32 speed of each shape: what this CPU gives bf16 products,
 * whatever adamix-run does around them (docs/performance.md).
 *
 *   OMP_NUM_THREADS=1 bench_matmul      (tools/bench/run.sh runs it so)
 *
 * Built only with oneDNN; never run by the test suite. */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */
#include <dnnl.h>

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

struct shape {
    const char *what;
    int M, K, N, lda;
    int trans_b;
};

static const struct shape shapes[] = {
    {"layer 1 forward, whole", 100, 784, 1000, 784, 0},
    {"layer 1 forward, split block (strided)", 100, 392, 1000, 784, 0},
    {"layer 1 forward, split block made dense", 100, 392, 1000, 392, 0},
    {"backward, transposed B", 100, 1000, 784, 1000, 1},
    {"weight gradient 784 x 1000", 784, 100, 1000, 784, 0},
};
#define N_SHAPES (sizeof shapes / sizeof *shapes)

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static void check(dnnl_status_t st, const char *what)
{
    if (st == dnnl_success) return;
    fprintf(stderr, "bench_matmul: %s failed (oneDNN status %d)\n", what, (int)st);
    exit(1);
}

/* Seconds per execution (best of 7 rounds of 50), the implementation's name
 * into impl. */
static double measure(dnnl_engine_t eng, dnnl_stream_t stream, dnnl_data_type_t dt,
                      const struct shape *s, char *impl, size_t impl_size)
{
    dnnl_memory_desc_t a, b, c;
    dnnl_dims_t da = {s->M, s->K}, db = {s->K, s->N}, dc = {s->M, s->N};
    dnnl_dims_t sa = {s->lda, 1}, sb = {s->N, 1}, sbt = {1, s->K}, sc = {s->N, 1};
    check(dnnl_memory_desc_init_by_strides(&a, 2, da, dt, sa), "source descriptor");
    check(dnnl_memory_desc_init_by_strides(&b, 2, db, dt, s->trans_b ? sbt : sb),
          "weights descriptor");
    check(dnnl_memory_desc_init_by_strides(&c, 2, dc, dnnl_f32, sc), "output descriptor");
    dnnl_matmul_desc_t md;
    check(dnnl_matmul_desc_init(&md, &a, &b, NULL, &c), "matmul descriptor");
    dnnl_primitive_desc_t pd;
    check(dnnl_primitive_desc_create(&pd, &md, NULL, eng, NULL), "primitive descriptor");
    const char *name = "?";
    check(dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &name), "impl query");
    snprintf(impl, impl_size, "%s", name);
    dnnl_primitive_t prim;
    check(dnnl_primitive_create(&prim, pd), "primitive");

    size_t elem = dt == dnnl_f32 ? 4 : 2;
    void *A = calloc((size_t)s->M * (size_t)s->lda, elem);
    void *B = calloc((size_t)s->K * (size_t)s->N, elem);
    void *C = calloc((size_t)s->M * (size_t)s->N, 4);
    if (!A || !B || !C) {
        fprintf(stderr, "bench_matmul: out of memory\n");
        exit(1);
    }
    dnnl_memory_t ma, mb, mc;
    check(dnnl_memory_create(&ma, &a, eng, A), "memory");
    check(dnnl_memory_create(&mb, &b, eng, B), "memory");
    check(dnnl_memory_create(&mc, &c, eng, C), "memory");
    dnnl_exec_arg_t args[3] = {{DNNL_ARG_SRC, ma}, {DNNL_ARG_WEIGHTS, mb}, {DNNL_ARG_DST, mc}};
    double best = 1e30;
    for (int round = 0; round < 7; round++) {
        double t0 = now();
        for (int i = 0; i < 50; i++)
            check(dnnl_primitive_execute(prim, stream, 3, args), "execute");
        check(dnnl_stream_wait(stream), "wait");
        double t = (now() - t0) / 50;
        if (t < best) best = t;
    }
    dnnl_memory_destroy(ma);
    dnnl_memory_destroy(mb);
    dnnl_memory_destroy(mc);
    dnnl_primitive_destroy(prim);
    dnnl_primitive_desc_destroy(pd);
    free(A);
    free(B);
    free(C);
    return best;
}

int main(void)
{
    dnnl_engine_t eng;
    check(dnnl_engine_create(&eng, dnnl_cpu, 0), "engine");
    dnnl_stream_t stream;
    check(dnnl_stream_create(&stream, eng, dnnl_stream_default_flags), "stream");
    const char *threads = getenv("OMP_NUM_THREADS");
    printf("oneDNN matmul, one primitive at a time (OMP_NUM_THREADS=%s)\n",
           threads ? threads : "unset");
    printf("%-40s %-26s %9s %8s   %-26s %9s %8s  %s\n", "product (M x K x N)", "fp32 impl", "us",
           "GFLOP/s", "bf16 impl", "us", "GFLOP/s", "bf16/fp32");
    for (size_t i = 0; i < N_SHAPES; i++) {
        const struct shape *s = &shapes[i];
        char impl32[64], impl16[64];
        double t32 = measure(eng, stream, dnnl_f32, s, impl32, sizeof impl32);
        double t16 = measure(eng, stream, dnnl_bf16, s, impl16, sizeof impl16);
        double flop = 2.0 * s->M * s->K * s->N;
        printf("%-40s %-26s %9.1f %8.1f   %-26s %9.1f %8.1f  %.2f\n", s->what, impl32, t32 * 1e6,
               flop / t32 * 1e-9, impl16, t16 * 1e6, flop / t16 * 1e-9, t32 / t16);
        printf("RESULT matmul_bf16_over_fp32_%zu %.4f\n", i, t32 / t16);
    }
    dnnl_stream_destroy(stream);
    dnnl_engine_destroy(eng);
    return 0;
}
