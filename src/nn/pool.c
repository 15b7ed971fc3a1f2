/* A small persistent thread pool for splitting one training step over cores:
 * the calling thread is rank 0 and n - 1 threads, started once, are the
 * other ranks. amx_nn_pool_run runs one job on every rank and returns when all
 * have finished; inside a job, amx_nn_pool_barrier is a sense-reversing
 * barrier. A waiting thread spins for a short while (a step's phases are a
 * fraction of a millisecond apart), then sleeps on a condition variable, so
 * an idle pool costs no CPU. Pool threads block every signal: signals go to
 * the program's own threads.
 *
 * What work a rank does is the job's business (the autoencoder and the RBM
 * cut every product into the fixed parts of AMX_NN_SPLIT); nothing here
 * decides the arithmetic, so results never depend on the number of ranks.
 * Also here: amx_nn_block, the rule that cuts a width into those parts. */
#define _POSIX_C_SOURCE 200809L
#include "internal.h"

#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

/* How long a waiter spins before it sleeps: at a barrier, longer than the
 * imbalance between ranks in one phase; for the next job, longer than the
 * optimiser's update between two steps (about a millisecond), so that pool
 * threads are still awake when the next step starts. */
#define SPIN_BARRIER_NS 200000L
#define SPIN_JOB_NS 2000000L

struct rank_slot {
    int sense;
    char pad[60]; /* one cache line per rank */
};

struct amx_nn_pool {
    int n;
    pthread_t *threads; /* n - 1 */
    int started;        /* threads actually running */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    atomic_uint gen; /* job generation: bumped by run */
    atomic_int quit;
    amx_nn_job_fn fn;
    void *ctx;
    atomic_int count; /* ranks still to arrive at the barrier */
    atomic_int sense; /* flips when the last one arrives */
    struct rank_slot *slot;
};

struct start_arg {
    struct amx_nn_pool *pool;
    int rank;
};

static long elapsed_ns(const struct timespec *t0)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (t.tv_sec - t0->tv_sec) * 1000000000L + (t.tv_nsec - t0->tv_nsec);
}

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

/* Spins (pause) for PAUSE_NS, then keeps polling with sched_yield, so that
 * on a machine with more runnable threads than cores the rank we wait for
 * can have this core, until limit_ns; then the caller sleeps. Returns true
 * when done() came true while spinning. */
#define PAUSE_NS 20000L
static bool spin(struct amx_nn_pool *p, bool (*done)(struct amx_nn_pool *, int), int arg,
                 long limit_ns)
{
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    bool yielding = false;
    for (unsigned i = 1;; i++) {
        if (done(p, arg)) return true;
        if (yielding)
            sched_yield();
        else
            cpu_relax();
        if (yielding || (i & 63) == 0) {
            long ns = elapsed_ns(&t0);
            if (ns > limit_ns) return false;
            yielding = ns > PAUSE_NS;
        }
    }
}

static bool sense_is(struct amx_nn_pool *p, int want)
{
    return atomic_load_explicit(&p->sense, memory_order_acquire) == want;
}

static bool gen_moved(struct amx_nn_pool *p, int seen)
{
    return atomic_load_explicit(&p->gen, memory_order_acquire) != (unsigned)seen;
}

/* Waits until done(p, arg): spins, then sleeps; whoever makes it true does
 * so holding mu and broadcasts cv. */
static void wait_until(struct amx_nn_pool *p, bool (*done)(struct amx_nn_pool *, int), int arg,
                       long limit_ns)
{
    if (spin(p, done, arg, limit_ns)) return;
    pthread_mutex_lock(&p->mu);
    while (!done(p, arg))
        pthread_cond_wait(&p->cv, &p->mu);
    pthread_mutex_unlock(&p->mu);
}

void amx_nn_pool_barrier(struct amx_nn_pool *p, int rank)
{
    if (!p || p->n == 1) return;
    int s = !p->slot[rank].sense;
    p->slot[rank].sense = s;
    if (atomic_fetch_sub_explicit(&p->count, 1, memory_order_acq_rel) == 1) {
        /* last to arrive: reset the count, then release the others */
        atomic_store_explicit(&p->count, p->n, memory_order_relaxed);
        pthread_mutex_lock(&p->mu);
        atomic_store_explicit(&p->sense, s, memory_order_release);
        pthread_cond_broadcast(&p->cv);
        pthread_mutex_unlock(&p->mu);
    } else {
        wait_until(p, sense_is, s, SPIN_BARRIER_NS);
    }
}

static void *worker(void *varg)
{
    struct start_arg *a = varg;
    struct amx_nn_pool *p = a->pool;
    int rank = a->rank;
    free(a);
    unsigned seen = 0;
    for (;;) {
        wait_until(p, gen_moved, (int)seen, SPIN_JOB_NS);
        seen = atomic_load_explicit(&p->gen, memory_order_acquire);
        if (atomic_load_explicit(&p->quit, memory_order_acquire)) return NULL;
        p->fn(p->ctx, rank, p->n, p);
        amx_nn_pool_barrier(p, rank);
    }
}

static void stop_threads(struct amx_nn_pool *p)
{
    pthread_mutex_lock(&p->mu);
    atomic_store_explicit(&p->quit, 1, memory_order_release);
    atomic_fetch_add_explicit(&p->gen, 1, memory_order_release);
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    for (int i = 0; i < p->started; i++)
        pthread_join(p->threads[i], NULL);
    p->started = 0;
}

void amx_nn_pool_destroy(struct amx_nn_pool *p)
{
    if (!p) return;
    stop_threads(p);
    pthread_cond_destroy(&p->cv);
    pthread_mutex_destroy(&p->mu);
    free(p->threads);
    free(p->slot);
    free(p);
}

enum amx_status amx_nn_pool_create(struct amx_nn_pool **out, int n, struct amx_error *err)
{
    *out = NULL;
    if (n < 1) return amx_fail(err, AMX_ERR_CONFIG, NULL, 0, 0, "threads must be >= 1 (got %d)", n);
    struct amx_nn_pool *p = calloc(1, sizeof *p);
    if (!p) return amx_fail(err, AMX_ERR_NOMEM, NULL, 0, 0, "out of memory for a thread pool");
    p->n = n;
    p->threads = calloc((size_t)n, sizeof *p->threads);
    p->slot = calloc((size_t)n, sizeof *p->slot);
    if (!p->threads || !p->slot) {
        free(p->threads);
        free(p->slot);
        free(p);
        return amx_fail(err, AMX_ERR_NOMEM, NULL, 0, 0, "out of memory for a thread pool");
    }
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    atomic_init(&p->gen, 0);
    atomic_init(&p->quit, 0);
    atomic_init(&p->count, n);
    atomic_init(&p->sense, 0);

    /* threads start with every signal blocked (they inherit the mask) */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int rc = 0;
    for (int r = 1; r < n && rc == 0; r++) {
        struct start_arg *a = malloc(sizeof *a);
        if (!a) {
            rc = -1;
            break;
        }
        a->pool = p;
        a->rank = r;
        rc = pthread_create(&p->threads[p->started], NULL, worker, a);
        if (rc == 0)
            p->started++;
        else
            free(a);
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        amx_nn_pool_destroy(p);
        return amx_fail(err, AMX_ERR_RUN, NULL, 0, 0, "could not start %d threads", n - 1);
    }
    *out = p;
    return AMX_OK;
}

int amx_nn_pool_size(const struct amx_nn_pool *p)
{
    return p ? p->n : 1;
}

void amx_nn_pool_run(struct amx_nn_pool *p, amx_nn_job_fn fn, void *ctx)
{
    if (!p || p->n == 1) {
        fn(ctx, 0, 1, NULL);
        return;
    }
    pthread_mutex_lock(&p->mu);
    p->fn = fn;
    p->ctx = ctx;
    atomic_fetch_add_explicit(&p->gen, 1, memory_order_release);
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    fn(ctx, 0, p->n, p);
    amx_nn_pool_barrier(p, 0);
}

void amx_nn_block(int n, int k, int *lo, int *hi)
{
    const int S = AMX_NN_SPLIT, a = n >= 64 ? 8 : 1;
    int e0 = (int)(((long)n * k / S + a / 2) / a * a);
    int e1 = k + 1 == S ? n : (int)(((long)n * (k + 1) / S + a / 2) / a * a);
    *lo = e0 < n ? e0 : n;
    *hi = e1 < n ? e1 : n;
}
