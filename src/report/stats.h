/* Statistics for comparing sweep points (the report module's tables).
 *
 * All variants of one repeat start from the same weights and see the same
 * batches (docs/design.md, "Reproducibility"), so two rules are compared by their paired
 * differences d_i = x_i - baseline_i, repeat by repeat:
 *
 *   mean and sample standard deviation (n - 1) of the d_i;
 *   a 95% confidence interval for their mean, mean +- t(0.975, n-1) sd/sqrt(n)
 *   (Student t; none for n < 2);
 *   an exact two-sided p for "the differences are symmetric about 0":
 *   Wilcoxon's signed-rank test when at least AMX_WILCOXON_MIN_N differences
 *   are non-zero, else the exact sign test (binomial, p = 1/2), and which one
 *   was used. Zero differences are dropped (Wilcoxon's convention) and tied
 *   |d| get their mid-rank; the null distribution is then computed exactly
 *   for those very ranks (not the untied table), by counting sign patterns.
 *
 * Why the threshold: with n non-zero differences no two-sided test on signs
 * or signed ranks can give a p below 2 / 2^n, which is 0.0625 for n = 5 and
 * 0.03125 for n = 6. Below 6 the ranks add nothing a reader can use, and the
 * sign test says plainly what so few pairs can: in how many the point was
 * lower. The report prints the test's name beside every p.
 *
 * Pure functions, no I/O; numbers in double. */
#ifndef ADAMIX_STATS_H
#define ADAMIX_STATS_H

#include <stdbool.h>
#include <stddef.h>

#define AMX_WILCOXON_MIN_N 6

/* Student's t distribution with df > 0 degrees of freedom: P(T <= t). */
double amx_t_cdf(double t, double df);
/* Its quantile: the t with P(T <= t) = p, 0 < p < 1. */
double amx_t_quantile(double p, double df);

/* Exact two-sided p of the sign test: n_pos positive and n_neg negative
 * signs, each sign 1/2 under the null. 1 when n_pos + n_neg == 0. */
double amx_sign_test_p(size_t n_pos, size_t n_neg);

/* Exact two-sided p of Wilcoxon's signed-rank test on d[0..n-1] (zeros
 * dropped, mid-ranks for ties); *n_nonzero gets the count used. 1 when no
 * difference is non-zero. NAN when out of memory. */
double amx_wilcoxon_p(const double *d, size_t n, size_t *n_nonzero);

enum amx_paired_test { AMX_TEST_NONE, AMX_TEST_WILCOXON, AMX_TEST_SIGN };
const char *amx_paired_test_name(enum amx_paired_test t); /* "wilcoxon", "sign", "none" */

struct amx_paired {
    size_t n;                  /* differences given */
    size_t n_nonzero;          /* of them not zero */
    size_t n_neg, n_pos;       /* d < 0 (point lower), d > 0 */
    double mean, std;          /* NAN when n == 0; std NAN when n < 2 */
    double ci_lo, ci_hi;       /* 95% interval of the mean; NAN when n < 2 */
    double p;                  /* NAN when n == 0 */
    enum amx_paired_test test; /* which p */
};

/* The statistics above for the differences d[0..n-1] (all finite). */
struct amx_paired amx_paired_stats(const double *d, size_t n);

/* Median of x[0..n-1] with +inf allowed (a censored value: "not reached"):
 * sorts x in place; NAN for n == 0; the mean of the two middle values for
 * even n (inf when either is inf). */
double amx_median(double *x, size_t n);

#endif
