/* Private to src/optim: the rule objects the registry lists, and the small
 * inline pieces every rule's update shares (applying a step with or without
 * momentum, adding rates to the statistics, lane-parallel accumulators).
 *
 * Why lanes: gcc does not vectorise a float sum or min/max reduction without
 * -ffast-math (it would reorder additions). Keeping AMX_LANES independent
 * partial sums, minima and maxima turns the reduction into element-wise work
 * on a small array, which it does vectorise (with 64 lanes the inner loop
 * stays a loop and is vectorised; with 8 gcc unrolls it to scalar code); the
 * lanes are folded once per chunk. Nothing here allocates or does I/O. */
#ifndef ADAMIX_OPTIM_RULE_IMPL_H
#define ADAMIX_OPTIM_RULE_IMPL_H

#include "adamix/bf16.h"
#include "adamix/optim.h"

#include <math.h>
#include <stddef.h>

/* The adaptive rules' per-parameter square root and division dominate their
 * cost, and the baseline x86-64 build has only 4-wide SSE for them. On
 * gcc/x86-64/Linux each adaptive update is therefore compiled three times
 * (baseline, AVX2, AVX-512F) and the loader picks the best one the CPU has
 * (GNU ifunc). Results are the same bit for bit in every version: sqrt and
 * division are correctly rounded, ISO C mode does not contract a*b+c into
 * fma, and the lane layout (the order of the sums) is fixed in the source.
 * gcc vectorises sqrtf only under -fno-math-errno (otherwise it keeps a call
 * to sqrtf for the errno of a negative argument, and no version vectorises):
 * the clones are made only when that flag is on (gcc then defines
 * __NO_MATH_ERRNO__). The flag changes nothing else (isfinite is unaffected).
 * -DAMX_NO_CLONES turns the clones off, e.g. to compare the versions. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__) &&       \
    defined(__NO_MATH_ERRNO__) && !defined(__SANITIZE_ADDRESS__) && !defined(AMX_NO_CLONES)
#define AMX_VECTOR_CLONES __attribute__((target_clones("default", "avx2", "avx512f")))
#else
#define AMX_VECTOR_CLONES
#endif

extern const struct amx_rule amx_rule_constant;
extern const struct amx_rule amx_rule_power;
extern const struct amx_rule amx_rule_exponential;
extern const struct amx_rule amx_rule_step;
extern const struct amx_rule amx_rule_adagrad;
extern const struct amx_rule amx_rule_adadec;
extern const struct amx_rule amx_rule_current_gradient;
extern const struct amx_rule amx_rule_rmsprop;
extern const struct amx_rule amx_rule_adam;

#define AMX_LANES 64
/* Adaptive rules work through a tensor in chunks of AMX_CHUNK parameters:
 * one loop computes the rates r and steps d of the chunk into two small
 * buffers on the stack (and updates the rule's state), apply_step moves the
 * parameters, lanes_add folds r into the statistics. Each loop is plain
 * element-wise work that gcc -O3 vectorises. A lane's float partial sum gets
 * AMX_CHUNK/AMX_LANES = 8 terms before it is added to a double, so the logged
 * mean keeps about 1e-7 relative accuracy for any tensor size. */
#define AMX_CHUNK 512

/* The accumulated-square-root rate shared by AdaGrad and current-gradient
 * with window: epoch, over m <= AMX_CHUNK parameters: the sum A gets this
 * update's g^2 first, then r = eta0 / sqrt(K + A) and the step d = r*g. */
static inline void block_sum_rate(float eta0, float K, const float *restrict g, float *restrict A,
                                  float *restrict r, float *restrict d, size_t m)
{
    for (size_t j = 0; j < m; j++) {
        const float a = A[j] + g[j] * g[j];
        A[j] = a;
        r[j] = eta0 / sqrtf(K + a);
        d[j] = r[j] * g[j];
    }
}

/* Per-lane partial statistics of an adaptive rule over one call. A chunk's
 * lanes are summed into a double in lane order, a chain of AMX_LANES
 * dependent additions; the lanes of AMX_PENDING chunks wait in `pend` and
 * their chains run side by side (lanes_flush), each in its own order, the
 * chunk sums then added to `sum` in chunk order: the same additions, in the
 * same order, as one chunk at a time. */
#define AMX_PENDING 4
_Static_assert(AMX_PENDING == 4, "lanes_flush runs exactly 4 chains side by side");
struct lane_stats {
    double sum;
    float mn[AMX_LANES], mx[AMX_LANES];
    float pend[AMX_PENDING][AMX_LANES];
    int n_pend;
};

static inline void lanes_init(struct lane_stats *L)
{
    L->sum = 0;
    L->n_pend = 0;
    for (int j = 0; j < AMX_LANES; j++) {
        L->mn[j] = HUGE_VALF;
        L->mx[j] = -HUGE_VALF;
    }
}

/* Adds the pending chunks' lane sums to L->sum, chunk by chunk. */
static inline void lanes_flush(struct lane_stats *L)
{
    if (L->n_pend == AMX_PENDING) {
        double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        for (int j = 0; j < AMX_LANES; j++) {
            s0 += L->pend[0][j];
            s1 += L->pend[1][j];
            s2 += L->pend[2][j];
            s3 += L->pend[3][j];
        }
        L->sum += s0;
        L->sum += s1;
        L->sum += s2;
        L->sum += s3;
    } else {
        for (int k = 0; k < L->n_pend; k++) {
            double s = 0;
            for (int j = 0; j < AMX_LANES; j++)
                s += L->pend[k][j];
            L->sum += s;
        }
    }
    L->n_pend = 0;
}

/* Adds the m <= AMX_CHUNK rates of one chunk. The comparisons are written as
 * selections (not fminf) so they map to min/max instructions without
 * -ffinite-math-only; a NaN rate is skipped by min/max but poisons the sum,
 * which is what the divergence check looks at. */
static inline void lanes_add(struct lane_stats *restrict L, const float *restrict r, size_t m)
{
    float part[AMX_LANES] = {0}, mn[AMX_LANES], mx[AMX_LANES];
    for (int j = 0; j < AMX_LANES; j++) {
        mn[j] = L->mn[j];
        mx[j] = L->mx[j];
    }
    size_t i = 0;
    for (; i + AMX_LANES <= m; i += AMX_LANES) {
        for (int j = 0; j < AMX_LANES; j++) {
            const float x = r[i + j];
            part[j] += x;
            mn[j] = x < mn[j] ? x : mn[j];
            mx[j] = x > mx[j] ? x : mx[j];
        }
    }
    for (size_t j = 0; i + j < m; j++) {
        const float x = r[i + j];
        part[j] += x;
        mn[j] = x < mn[j] ? x : mn[j];
        mx[j] = x > mx[j] ? x : mx[j];
    }
    for (int j = 0; j < AMX_LANES; j++) {
        L->pend[L->n_pend][j] = part[j];
        L->mn[j] = mn[j];
        L->mx[j] = mx[j];
    }
    if (++L->n_pend == AMX_PENDING) lanes_flush(L);
}

/* Folds the lanes of a call over n parameters into the group's stats. */
static inline void lanes_finish(struct lane_stats *L, size_t n, struct amx_rate_stats *s)
{
    lanes_flush(L);
    if (n == 0) return;
    float mn = HUGE_VALF, mx = -HUGE_VALF;
    for (int j = 0; j < AMX_LANES; j++) {
        mn = L->mn[j] < mn ? L->mn[j] : mn;
        mx = L->mx[j] > mx ? L->mx[j] : mx;
    }
    if (s->count == 0) {
        s->min = mn;
        s->max = mx;
    } else {
        s->min = mn < s->min ? mn : s->min;
        s->max = mx > s->max ? mx : s->max;
    }
    s->sum += L->sum;
    s->count += (double)n;
}

/* Adds n parameters that all had the same rate (schedule rules: closed form). */
static inline void stats_add_uniform(struct amx_rate_stats *s, double rate, size_t n)
{
    if (n == 0) return;
    if (s->count == 0) {
        s->min = rate;
        s->max = rate;
    } else {
        s->min = rate < s->min ? rate : s->min;
        s->max = rate > s->max ? rate : s->max;
    }
    s->sum += rate * (double)n;
    s->count += (double)n;
}

/* theta -= eta*g, or with momentum v <- mu*v - eta*g; theta <- theta + v.
 * One rate for the whole tensor (schedule rules). With theta16, each new
 * theta's bf16 copy is written in the same loop (adamix/bf16.h). */
static inline void apply_uniform(float *restrict theta, uint16_t *restrict theta16,
                                 const float *restrict g, float *restrict velocity, size_t n,
                                 float eta, float mu)
{
    if (velocity && theta16) {
        for (size_t i = 0; i < n; i++) {
            velocity[i] = mu * velocity[i] - eta * g[i];
            theta[i] += velocity[i];
            theta16[i] = amx_bf16_bits(theta[i]);
        }
    } else if (velocity) {
        for (size_t i = 0; i < n; i++) {
            velocity[i] = mu * velocity[i] - eta * g[i];
            theta[i] += velocity[i];
        }
    } else if (theta16) {
        for (size_t i = 0; i < n; i++) {
            theta[i] -= eta * g[i];
            theta16[i] = amx_bf16_bits(theta[i]);
        }
    } else {
        for (size_t i = 0; i < n; i++)
            theta[i] -= eta * g[i];
    }
}

/* The same with a step d[i] already multiplied by its rate (adaptive rules):
 * theta -= d, or v <- mu*v - d; theta <- theta + v; theta16 as above. */
static inline void apply_step(float *restrict theta, uint16_t *restrict theta16,
                              const float *restrict d, float *restrict velocity, size_t n, float mu)
{
    if (velocity && theta16) {
        for (size_t i = 0; i < n; i++) {
            velocity[i] = mu * velocity[i] - d[i];
            theta[i] += velocity[i];
            theta16[i] = amx_bf16_bits(theta[i]);
        }
    } else if (velocity) {
        for (size_t i = 0; i < n; i++) {
            velocity[i] = mu * velocity[i] - d[i];
            theta[i] += velocity[i];
        }
    } else if (theta16) {
        for (size_t i = 0; i < n; i++) {
            theta[i] -= d[i];
            theta16[i] = amx_bf16_bits(theta[i]);
        }
    } else {
        for (size_t i = 0; i < n; i++)
            theta[i] -= d[i];
    }
}

/* Senior et al.'s power schedule (1 + t/r)^(-c), in double. */
static inline double power_schedule(double t, double r, double c)
{
    return pow(1.0 + t / r, -c);
}

#endif
