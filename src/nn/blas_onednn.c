/* The oneDNN backend of amx_gemm (the table in blas.c): every product is a
 * oneDNN matmul primitive, made the first time its shape is seen and looked
 * up afterwards, so a training step only looks up and executes.
 *
 * A shape is everything a primitive fixes: the transposes, M, N, K, the
 * three leading dimensions, alpha and beta (bit patterns) and the OpenMP
 * threads it runs on. op(A) and op(B) are strided memory descriptors (a
 * transpose is a swap of strides, never a copy); alpha is the primitive's
 * output scale and beta a sum post-op, so one primitive computes
 * C = alpha op(A) op(B) + beta C, and with beta == 0 there is no sum and C is
 * not read. Each thread keeps its own cache of primitives, memory objects,
 * stream and scratchpad (user scratchpad mode: the thread's one buffer, grown
 * when a primitive is made), so products on different threads share nothing
 * and the hot path allocates nothing of ours. A thread's cache is freed when
 * the thread ends (the autoencoder's and the RBM's pool threads end with
 * their pool).
 *
 * Threads: Debian builds oneDNN with OpenMP, and an OpenMP setting is per
 * calling thread; amx_blas_set_threads(n) is applied by each thread before
 * its next product (omp_set_num_threads, looked up in the process, so that it
 * reaches the OpenMP runtime libdnnl itself was linked to, whatever compiler
 * built this file). A worker asks for 1: its own pool splits the step, and
 * oneDNN adds no threads.
 *
 * If oneDNN cannot make a primitive (out of memory), that shape's products
 * are computed by cblas_sgemm, counted, and amx_blas_backend_impls says so:
 * never a wrong or missing product, never a silent change of provenance.
 *
 * bf16: the same primitives with bf16 sources and an f32 destination (f32
 * accumulation). amx_gemm_bf16h takes operands already in bf16 at their own
 * strides (the network's bf16 copies, written where the values are made:
 * adamix/bf16.h); amx_gemm_bf16 takes f32 operands and rounds them (to
 * nearest even, by amx_bf16_bits, not by oneDNN) into the thread's dense
 * conversion buffers first, a product of many rows (amx_rbm_hidden_probs'
 * whole data set) in fixed chunks of BF16_ROWS rows, so the buffers stay
 * small. bf16 is offered only where oneDNN runs it natively (AVX-512 BF16):
 * elsewhere oneDNN refuses bf16 (AVX2) or emulates it slower than fp32
 * (AVX-512 without BF16), and amx_blas_precision_unavailable says so.
 *
 * Not here: the choice of backend (blas.c, the command line). */
#define _GNU_SOURCE /* RTLD_DEFAULT */
#include "internal.h"

#ifndef AMX_WITH_ONEDNN

static const char *unavailable(void)
{
    return "this build has no oneDNN (install the Debian package libdnnl-dev and configure "
           "with -DADAMIX_WITH_ONEDNN=ON)";
}
static const char *bf16_unavailable(void)
{
    return unavailable();
}
static const char *none_str(void)
{
    return "";
}
static void none_impls(char *buf, size_t size)
{
    if (size) buf[0] = '\0';
}
static size_t none_count(void)
{
    return 0;
}
static int none_threads(void)
{
    return 1;
}
static void none_set_threads(int n)
{
    (void)n;
}
const struct amx_blas_backend amx_blas_onednn = {
    .name = "onednn",
    .unavailable = unavailable,
    .version = none_str,
    .isa = none_str,
    .impls = none_impls,
    .primitives = none_count,
    .threads = none_threads,
    .set_threads = none_set_threads,
    .gemm = amx_blas_openblas_gemm, /* never selected: unavailable */
    .bf16_unavailable = bf16_unavailable,
    .gemm_bf16 = NULL,
    .gemm_bf16h = NULL,
};

#else /* AMX_WITH_ONEDNN */

#include <dlfcn.h>
#include <oneapi/dnnl/dnnl.h>
#include <oneapi/dnnl/dnnl_debug.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if DNNL_CPU_RUNTIME != DNNL_RUNTIME_OMP && DNNL_CPU_RUNTIME != DNNL_RUNTIME_SEQ
#error                                                                                             \
    "adamix-run sets oneDNN's threads through OpenMP: a oneDNN built with OpenMP (or sequential) is needed"
#endif

/* What fixes a primitive; compared and hashed as bytes (no padding: all
 * 32-bit fields). */
struct key {
    int32_t bf16; /* 1: bf16 sources, f32 destination */
    int32_t ta, tb, M, N, K, lda, ldb, ldc, threads;
    uint32_t alpha, beta;
};

/* Rows of op(A) per bf16 product: a product of more rows is computed in
 * chunks of this many (the last smaller), a fixed cut, so that results never
 * depend on anything but the shape. */
#define BF16_ROWS 1024

enum { MEM_A, MEM_B, MEM_C, MEM_SCRATCH, N_MEM };

struct entry {
    bool used;
    struct key k;
    dnnl_primitive_t prim; /* NULL: oneDNN could not make it; cblas_sgemm computes */
    dnnl_memory_t mem[N_MEM];
};

/* One thread's products. */
struct state {
    dnnl_stream_t stream;
    struct entry *slot; /* open addressing, cap a power of 2, at most half full */
    size_t cap, n;
    void *scratch; /* the scratchpad of every primitive of this thread */
    size_t scratch_size;
    uint16_t *bf16[2]; /* the bf16 copies of op(A) and op(B) of the current product */
    size_t bf16_cap[2];
    int threads; /* the OpenMP threads this thread last applied; 0: none yet */
    struct state *next, **prev_next;
};

static pthread_once_t once = PTHREAD_ONCE_INIT, omp_once = PTHREAD_ONCE_INIT;
static dnnl_engine_t engine;
static dnnl_status_t engine_status = dnnl_runtime_error;
static pthread_key_t state_key;
static bool key_ok;
static void (*omp_set_threads)(int);
static int (*omp_max_threads)(void);

static atomic_int want_threads; /* 0: OpenMP's own default */
static atomic_size_t n_primitives;

/* Under mu: every live thread's state (so that they stay reachable), the
 * implementation names seen, and the fallbacks. */
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static struct state *states;
static char impl_names[512];
static size_t n_fallback;
static char fallback_why[160];

static void free_state(void *p);

/* The OpenMP runtime libdnnl was linked to (both NULL for a sequential
 * oneDNN). Looking them up starts nothing: no thread, no engine. */
static void find_omp(void)
{
    void *set = dlsym(RTLD_DEFAULT, "omp_set_num_threads");
    void *max = dlsym(RTLD_DEFAULT, "omp_get_max_threads");
    memcpy(&omp_set_threads, &set, sizeof set);
    memcpy(&omp_max_threads, &max, sizeof max);
}

/* The engine, on the first product (never in a process that only forks
 * workers, so none of oneDNN's state crosses a fork). */
static void init_once(void)
{
    pthread_once(&omp_once, find_omp);
    engine_status = dnnl_engine_create(&engine, dnnl_cpu, 0);
    key_ok = pthread_key_create(&state_key, free_state) == 0;
}

static void note_fallback(const char *what, dnnl_status_t s)
{
    pthread_mutex_lock(&mu);
    if (n_fallback++ == 0)
        snprintf(fallback_why, sizeof fallback_why, "%s: %s", what, dnnl_status2str(s));
    pthread_mutex_unlock(&mu);
}

static void note_impl(const char *name)
{
    pthread_mutex_lock(&mu);
    size_t len = strlen(name), have = strlen(impl_names);
    bool seen = false;
    for (const char *p = impl_names; (p = strstr(p, name)) != NULL; p += len)
        if ((p == impl_names || p[-1] == ' ') && (p[len] == ',' || p[len] == '\0')) seen = true;
    if (!seen && have + len + 3 < sizeof impl_names)
        snprintf(impl_names + have, sizeof impl_names - have, "%s%s", have ? ", " : "", name);
    pthread_mutex_unlock(&mu);
}

static void destroy_entry(struct entry *e)
{
    for (int m = 0; m < N_MEM; m++)
        if (e->mem[m]) dnnl_memory_destroy(e->mem[m]);
    if (e->prim) dnnl_primitive_destroy(e->prim);
    memset(e, 0, sizeof *e);
}

static void free_state(void *p)
{
    struct state *s = p;
    if (!s) return;
    pthread_mutex_lock(&mu);
    *s->prev_next = s->next;
    if (s->next) s->next->prev_next = s->prev_next;
    pthread_mutex_unlock(&mu);
    for (size_t i = 0; i < s->cap; i++)
        if (s->slot[i].used) destroy_entry(&s->slot[i]);
    if (s->stream) dnnl_stream_destroy(s->stream);
    free(s->slot);
    free(s->scratch);
    free(s->bf16[0]);
    free(s->bf16[1]);
    free(s);
}

static struct state *thread_state(void)
{
    pthread_once(&once, init_once);
    if (engine_status != dnnl_success || !key_ok) return NULL;
    struct state *s = pthread_getspecific(state_key);
    if (s) return s;
    s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->cap = 64;
    s->slot = calloc(s->cap, sizeof *s->slot);
    if (!s->slot ||
        dnnl_stream_create(&s->stream, engine, dnnl_stream_default_flags) != dnnl_success) {
        free(s->slot);
        free(s);
        return NULL;
    }
    pthread_mutex_lock(&mu);
    s->next = states;
    if (states) states->prev_next = &s->next;
    s->prev_next = &states;
    states = s;
    pthread_mutex_unlock(&mu);
    if (pthread_setspecific(state_key, s) != 0) {
        free_state(s);
        return NULL;
    }
    return s;
}

static size_t hash_key(const struct key *k)
{
    const unsigned char *b = (const unsigned char *)k;
    uint64_t h = 1469598103934665603u; /* FNV-1a */
    for (size_t i = 0; i < sizeof *k; i++)
        h = (h ^ b[i]) * 1099511628211u;
    return (size_t)(h ^ (h >> 32));
}

static struct entry *find_slot(struct entry *slot, size_t cap, const struct key *k)
{
    for (size_t i = hash_key(k) & (cap - 1);; i = (i + 1) & (cap - 1))
        if (!slot[i].used || memcmp(&slot[i].k, k, sizeof *k) == 0) return &slot[i];
}

/* Doubles the table; false (table unchanged) when out of memory. */
static bool grow(struct state *s)
{
    size_t cap = s->cap * 2;
    struct entry *slot = calloc(cap, sizeof *slot);
    if (!slot) return false;
    for (size_t i = 0; i < s->cap; i++)
        if (s->slot[i].used) *find_slot(slot, cap, &s->slot[i].k) = s->slot[i];
    free(s->slot);
    s->slot = slot;
    s->cap = cap;
    return true;
}

/* op(A) (M x K), op(B) (K x N), C (M x N) as strided descriptors. */
static dnnl_status_t make_primitive(const struct key *k, struct entry *e, struct state *s)
{
    dnnl_memory_desc_t md[3];
    const dnnl_dims_t da = {k->M, k->K}, db = {k->K, k->N}, dc = {k->M, k->N};
    const dnnl_dims_t sa = {k->ta ? 1 : k->lda, k->ta ? k->lda : 1};
    const dnnl_dims_t sb = {k->tb ? 1 : k->ldb, k->tb ? k->ldb : 1};
    const dnnl_dims_t sc = {k->ldc, 1};
    dnnl_primitive_attr_t attr = NULL;
    dnnl_post_ops_t po = NULL;
    dnnl_primitive_desc_t pd = NULL;
    dnnl_matmul_desc_t mm;
    float alpha, beta;
    memcpy(&alpha, &k->alpha, sizeof alpha);
    memcpy(&beta, &k->beta, sizeof beta);
    const dnnl_data_type_t src = k->bf16 ? dnnl_bf16 : dnnl_f32;
    dnnl_status_t st = dnnl_memory_desc_init_by_strides(&md[0], 2, da, src, sa);
    if (st == dnnl_success) st = dnnl_memory_desc_init_by_strides(&md[1], 2, db, src, sb);
    if (st == dnnl_success) st = dnnl_memory_desc_init_by_strides(&md[2], 2, dc, dnnl_f32, sc);
    if (st == dnnl_success) st = dnnl_matmul_desc_init(&mm, &md[0], &md[1], NULL, &md[2]);
    if (st == dnnl_success) st = dnnl_primitive_attr_create(&attr);
    if (st == dnnl_success)
        st = dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user);
    if (st == dnnl_success && alpha != 1.0f)
        st = dnnl_primitive_attr_set_output_scales(attr, 1, 0, &alpha);
    if (st == dnnl_success && beta != 0.0f) {
        st = dnnl_post_ops_create(&po);
        if (st == dnnl_success) st = dnnl_post_ops_append_sum(po, beta);
        if (st == dnnl_success) st = dnnl_primitive_attr_set_post_ops(attr, po);
    }
    if (st == dnnl_success) st = dnnl_primitive_desc_create(&pd, &mm, attr, engine, NULL);
    const dnnl_memory_desc_t *spm = NULL;
    size_t need = 0;
    if (st == dnnl_success) {
        spm = dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0);
        need = spm ? dnnl_memory_desc_get_size(spm) : 0;
        if (need > s->scratch_size) {
            /* rounded up to whole cache lines, 64-byte aligned */
            size_t bytes = (need + 63) / 64 * 64;
            void *p = aligned_alloc(64, bytes);
            if (p) {
                free(s->scratch);
                s->scratch = p;
                s->scratch_size = bytes;
            } else {
                st = dnnl_out_of_memory;
            }
        }
    }
    for (int m = 0; m < 3 && st == dnnl_success; m++)
        st = dnnl_memory_create(&e->mem[m], &md[m], engine, DNNL_MEMORY_NONE);
    if (st == dnnl_success && need > 0)
        st = dnnl_memory_create(&e->mem[MEM_SCRATCH], spm, engine, DNNL_MEMORY_NONE);
    if (st == dnnl_success) st = dnnl_primitive_create(&e->prim, pd);
    if (st == dnnl_success) {
        const char *impl = NULL;
        if (dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl) == dnnl_success &&
            impl) {
            char name[128]; /* bf16 primitives say so: their names need not */
            snprintf(name, sizeof name, "%s%s", impl, k->bf16 ? " (bf16)" : "");
            note_impl(name);
        }
        atomic_fetch_add_explicit(&n_primitives, 1, memory_order_relaxed);
    }
    if (pd) dnnl_primitive_desc_destroy(pd);
    if (po) dnnl_post_ops_destroy(po);
    if (attr) dnnl_primitive_attr_destroy(attr);
    if (st != dnnl_success) {
        for (int m = 0; m < N_MEM; m++)
            if (e->mem[m]) dnnl_memory_destroy(e->mem[m]);
        memset(e->mem, 0, sizeof e->mem);
        e->prim = NULL;
    }
    return st;
}

/* The entry of key k in this thread's cache, made if new; NULL when the
 * table cannot grow. An entry whose primitive could not be made has prim
 * NULL (and stays so: no retry on every product). */
static struct entry *lookup(struct state *s, const struct key *k)
{
    struct entry *e = find_slot(s->slot, s->cap, k);
    if (e->used) return e;
    if (2 * (s->n + 1) > s->cap) {
        if (!grow(s)) return NULL;
        e = find_slot(s->slot, s->cap, k);
    }
    memset(e, 0, sizeof *e);
    e->used = true;
    e->k = *k;
    s->n++;
    dnnl_status_t st = make_primitive(k, e, s);
    if (st != dnnl_success) note_fallback("making a matmul primitive", st);
    return e;
}

/* C = beta C, as cblas_sgemm does for K = 0 (oneDNN has no empty products;
 * beta == 0: C is not read). */
static void scale_only(int M, int N, float beta, float *C, int ldc)
{
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++)
            C[(size_t)i * ldc + j] = beta == 0.0f ? 0.0f : beta * C[(size_t)i * ldc + j];
}

/* This thread's state with its OpenMP threads applied; NULL (reported) when
 * oneDNN cannot start. */
static struct state *ready_state(void)
{
    struct state *s = thread_state();
    if (!s) {
        note_fallback("starting oneDNN on a thread", engine_status);
        return NULL;
    }
    int want = atomic_load_explicit(&want_threads, memory_order_relaxed);
    if (want > 0 && s->threads != want && omp_set_threads) omp_set_threads(want);
    if (want > 0) s->threads = want;
    return s;
}

static struct key make_key(bool bf16, bool ta, bool tb, int M, int N, int K, float alpha, int lda,
                           int ldb, float beta, int ldc)
{
    struct key k = {.bf16 = bf16,
                    .ta = ta,
                    .tb = tb,
                    .M = M,
                    .N = N,
                    .K = K,
                    .lda = lda,
                    .ldb = ldb,
                    .ldc = ldc,
                    .threads = omp_max_threads ? omp_max_threads() : 1};
    memcpy(&k.alpha, &alpha, sizeof alpha);
    memcpy(&k.beta, &beta, sizeof beta);
    return k;
}

/* Runs entry e's primitive on sources A, B (f32 or bf16 as its key says)
 * and destination C. */
static void execute(struct state *s, struct entry *e, const void *A, const void *B, float *C)
{
    /* oneDNN never writes a source; its handles are not const */
    dnnl_memory_set_data_handle(e->mem[MEM_A], (void *)(uintptr_t)A);
    dnnl_memory_set_data_handle(e->mem[MEM_B], (void *)(uintptr_t)B);
    dnnl_memory_set_data_handle(e->mem[MEM_C], C);
    dnnl_exec_arg_t args[N_MEM] = {{DNNL_ARG_SRC, e->mem[MEM_A]},
                                   {DNNL_ARG_WEIGHTS, e->mem[MEM_B]},
                                   {DNNL_ARG_DST, e->mem[MEM_C]},
                                   {DNNL_ARG_SCRATCHPAD, e->mem[MEM_SCRATCH]}};
    int nargs = 3;
    if (e->mem[MEM_SCRATCH]) {
        dnnl_memory_set_data_handle(e->mem[MEM_SCRATCH], s->scratch);
        nargs = 4;
    }
    /* With every resource made beforehand, a CPU matmul does not fail at
     * execution; if it ever did, C could be half written, so it is not
     * recomputed but counted, and amx_blas_backend_impls reports it. */
    dnnl_status_t st = dnnl_primitive_execute(e->prim, s->stream, nargs, args);
    if (st == dnnl_success) st = dnnl_stream_wait(s->stream);
    if (st != dnnl_success) note_fallback("executing a matmul (its product may be wrong)", st);
}

static void onednn_gemm(bool trans_a, bool trans_b, int M, int N, int K, float alpha,
                        const float *A, int lda, const float *B, int ldb, float beta, float *C,
                        int ldc)
{
    if (M <= 0 || N <= 0) return;
    if (K <= 0) {
        scale_only(M, N, beta, C, ldc);
        return;
    }
    struct state *s = ready_state();
    struct key k = make_key(false, trans_a, trans_b, M, N, K, alpha, lda, ldb, beta, ldc);
    struct entry *e = s ? lookup(s, &k) : NULL;
    if (!e || !e->prim) {
        if (s && !e) note_fallback("growing the primitive cache", dnnl_out_of_memory);
        amx_blas_openblas_gemm(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
        return;
    }
    execute(s, e, A, B, C);
}

/* ---- bf16 ----------------------------------------------------------------- */

/* out (rows x cols, dense) = bf16 of X (rows x cols at leading dimension ld). */
static void to_bf16(uint16_t *out, const float *X, int rows, int cols, int ld)
{
    for (int r = 0; r < rows; r++)
        amx_bf16_store(out + (size_t)r * cols, X + (size_t)r * ld, (size_t)cols);
}

/* Conversion buffer i of this thread, at least n values; NULL when it cannot
 * grow (it grows with the first products of each size only). */
static uint16_t *bf16_buffer(struct state *s, int i, size_t n)
{
    if (n <= s->bf16_cap[i]) return s->bf16[i];
    uint16_t *p = malloc(n * sizeof *p);
    if (!p) return NULL;
    free(s->bf16[i]);
    s->bf16[i] = p;
    s->bf16_cap[i] = n;
    return p;
}

/* The bf16 product of operands already in bf16, at their own strides (a
 * primitive per shape and strides, as for f32). */
static void onednn_gemm_bf16h(bool trans_a, bool trans_b, int M, int N, int K, float alpha,
                              const uint16_t *A, int lda, const uint16_t *B, int ldb, float beta,
                              float *C, int ldc)
{
    if (M <= 0 || N <= 0) return;
    if (K <= 0) {
        scale_only(M, N, beta, C, ldc);
        return;
    }
    struct state *s = ready_state();
    struct key k = make_key(true, trans_a, trans_b, M, N, K, alpha, lda, ldb, beta, ldc);
    struct entry *e = s ? lookup(s, &k) : NULL;
    if (!e || !e->prim) {
        if (s && !e) note_fallback("growing the primitive cache", dnnl_out_of_memory);
        amx_blas_bf16h_emulated(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
        return;
    }
    execute(s, e, A, B, C);
}

/* The bf16 product of f32 operands: each rounded into this thread's dense
 * conversion buffers, then onednn_gemm_bf16h. */
static void onednn_gemm_bf16(bool trans_a, bool trans_b, int M, int N, int K, float alpha,
                             const float *A, int lda, const float *B, int ldb, float beta, float *C,
                             int ldc)
{
    if (M <= 0 || N <= 0) return;
    if (K <= 0) {
        scale_only(M, N, beta, C, ldc);
        return;
    }
    /* op(A)'s rows in fixed chunks when A is not transposed (its rows are
     * then whole rows of memory); a transposed A is a batch (K) of rows and
     * small */
    if (!trans_a && M > BF16_ROWS) {
        for (int r = 0; r < M; r += BF16_ROWS)
            onednn_gemm_bf16(false, trans_b, M - r < BF16_ROWS ? M - r : BF16_ROWS, N, K, alpha,
                             A + (size_t)r * lda, lda, B, ldb, beta, C + (size_t)r * ldc, ldc);
        return;
    }
    const int ar = trans_a ? K : M, ac = trans_a ? M : K, br = trans_b ? N : K,
              bc = trans_b ? K : N;
    struct state *s = ready_state();
    uint16_t *a = s ? bf16_buffer(s, 0, (size_t)ar * ac) : NULL;
    uint16_t *b = s ? bf16_buffer(s, 1, (size_t)br * bc) : NULL;
    if (!a || !b) {
        if (s) note_fallback("growing the bf16 buffers", dnnl_out_of_memory);
        amx_blas_bf16_emulated(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
        return;
    }
    to_bf16(a, A, ar, ac, lda);
    to_bf16(b, B, br, bc, ldb);
    onednn_gemm_bf16h(trans_a, trans_b, M, N, K, alpha, a, ac, b, bc, beta, C, ldc);
}

/* bf16 natively: oneDNN's effective ISA has the AVX-512 BF16 instructions.
 * Its ISA values are bit masks, each containing those it extends
 * (avx512_core_bf16 = avx512_core_vnni + BF16, avx512_core_amx above it). */
static pthread_once_t bf16_once = PTHREAD_ONCE_INIT;
static char bf16_why[240]; /* "" when bf16 is native here */

static void judge_bf16(void)
{
    unsigned isa = (unsigned)dnnl_get_effective_cpu_isa();
    const unsigned need = (unsigned)dnnl_cpu_isa_avx512_core_bf16;
    if ((isa & need) == need) return;
    const char *name = dnnl_cpu_isa2str((dnnl_cpu_isa_t)isa);
    snprintf(bf16_why, sizeof bf16_why,
             "bf16 products need a CPU with AVX-512 BF16 (avx512_bf16), and oneDNN's ISA here is "
             "%s (where oneDNN refuses bf16 or emulates it more slowly than fp32)",
             name && strncmp(name, "cpu_isa_", 8) == 0 ? name + 8
             : name                                    ? name
                                                       : "unknown");
}

static const char *onednn_bf16_unavailable(void)
{
    pthread_once(&bf16_once, judge_bf16);
    return bf16_why[0] ? bf16_why : NULL;
}

static const char *onednn_unavailable(void)
{
    return NULL; /* linked in; a failure to start is a fallback, reported */
}

static const char *onednn_version(void)
{
    static char v[48];
    const dnnl_version_t *d = dnnl_version();
    snprintf(v, sizeof v, "oneDNN %d.%d.%d", d->major, d->minor, d->patch);
    return v;
}

/* "avx512_core_bf16": the ISA oneDNN's JIT code is generated for here (its
 * cpu_isa_ prefix left off). */
static const char *onednn_isa(void)
{
    const char *s = dnnl_cpu_isa2str(dnnl_get_effective_cpu_isa());
    if (!s) return "unknown";
    return strncmp(s, "cpu_isa_", 8) == 0 ? s + 8 : s;
}

static void onednn_impls(char *buf, size_t size)
{
    pthread_mutex_lock(&mu);
    int n = snprintf(buf, size, "%s", impl_names);
    if (n_fallback > 0 && n >= 0 && (size_t)n < size)
        snprintf(buf + n, size - (size_t)n, "%scblas_sgemm (fallback, %zu product%s: %s)",
                 n > 0 ? ", " : "", n_fallback, n_fallback == 1 ? "" : "s", fallback_why);
    pthread_mutex_unlock(&mu);
}

static size_t onednn_primitives(void)
{
    return atomic_load_explicit(&n_primitives, memory_order_relaxed);
}

static int onednn_threads(void)
{
    int want = atomic_load_explicit(&want_threads, memory_order_relaxed);
    if (want > 0) return want;
    pthread_once(&omp_once, find_omp);
    return omp_max_threads ? omp_max_threads() : 1;
}

static void onednn_set_threads(int n)
{
    atomic_store_explicit(&want_threads, n > 0 ? n : 1, memory_order_relaxed);
}

const struct amx_blas_backend amx_blas_onednn = {
    .name = "onednn",
    .unavailable = onednn_unavailable,
    .version = onednn_version,
    .isa = onednn_isa,
    .impls = onednn_impls,
    .primitives = onednn_primitives,
    .threads = onednn_threads,
    .set_threads = onednn_set_threads,
    .gemm = onednn_gemm,
    .bf16_unavailable = onednn_bf16_unavailable,
    .gemm_bf16 = onednn_gemm_bf16,
    .gemm_bf16h = onednn_gemm_bf16h,
};

#endif /* AMX_WITH_ONEDNN */
