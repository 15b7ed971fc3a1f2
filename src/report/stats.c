/* Paired statistics (include/adamix/stats.h): Student's t distribution from
 * the regularized incomplete beta function, the exact sign test, and the
 * exact signed-rank test by counting sign patterns over doubled mid-ranks.
 *
 * Formulas: for t > 0, P(T <= t) = 1 - I_x(df/2, 1/2) / 2 with
 * x = df / (df + t^2) (Abramowitz & Stegun 26.7.1 and 26.5.27); I_x(a, b) by
 * its continued fraction (A&S 26.5.8), evaluated with the modified Lentz
 * method, using the symmetry I_x(a,b) = 1 - I_{1-x}(b,a) where the fraction
 * converges slowly. The quantile is found by bisection on the CDF, which is
 * slow but cannot fail to converge. */
#define _POSIX_C_SOURCE 200809L
#include "stats.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Continued fraction of the incomplete beta function (A&S 26.5.8). */
static double beta_cf(double a, double b, double x)
{
    const double tiny = 1e-300, eps = 1e-15;
    double c = 1.0, d = 1.0 - (a + b) * x / (a + 1.0);
    if (fabs(d) < tiny) d = tiny;
    d = 1.0 / d;
    double h = d;
    for (int m = 1; m <= 1000; m++) {
        double m2 = 2.0 * m;
        /* even step */
        double num = m * (b - m) * x / ((a + m2 - 1.0) * (a + m2));
        d = 1.0 + num * d;
        c = 1.0 + num / c;
        if (fabs(d) < tiny) d = tiny;
        if (fabs(c) < tiny) c = tiny;
        d = 1.0 / d;
        h *= d * c;
        /* odd step */
        num = -(a + m) * (a + b + m) * x / ((a + m2) * (a + m2 + 1.0));
        d = 1.0 + num * d;
        c = 1.0 + num / c;
        if (fabs(d) < tiny) d = tiny;
        if (fabs(c) < tiny) c = tiny;
        d = 1.0 / d;
        double delta = d * c;
        h *= delta;
        if (fabs(delta - 1.0) < eps) break;
    }
    return h;
}

/* Regularized incomplete beta I_x(a, b), 0 <= x <= 1. */
static double beta_inc(double a, double b, double x)
{
    if (x <= 0.0) return 0.0;
    if (x >= 1.0) return 1.0;
    double lfront = lgamma(a + b) - lgamma(a) - lgamma(b) + a * log(x) + b * log1p(-x);
    if (x < (a + 1.0) / (a + b + 2.0)) return exp(lfront) * beta_cf(a, b, x) / a;
    return 1.0 - exp(lfront) * beta_cf(b, a, 1.0 - x) / b;
}

double amx_t_cdf(double t, double df)
{
    if (isnan(t) || !(df > 0)) return NAN;
    if (isinf(t)) return t > 0 ? 1.0 : 0.0;
    double tail = 0.5 * beta_inc(df / 2.0, 0.5, df / (df + t * t)); /* P(T > |t|) */
    return t >= 0 ? 1.0 - tail : tail;
}

double amx_t_quantile(double p, double df)
{
    if (!(p > 0 && p < 1) || !(df > 0)) return NAN;
    if (p == 0.5) return 0.0;
    if (p < 0.5) return -amx_t_quantile(1.0 - p, df);
    double lo = 0.0, hi = 1.0;
    while (amx_t_cdf(hi, df) < p && hi < 1e300)
        hi *= 2.0;
    for (int i = 0; i < 200 && hi - lo > 1e-13 * (1.0 + hi); i++) {
        double mid = 0.5 * (lo + hi);
        if (amx_t_cdf(mid, df) < p)
            lo = mid;
        else
            hi = mid;
    }
    return 0.5 * (lo + hi);
}

double amx_sign_test_p(size_t n_pos, size_t n_neg)
{
    size_t n = n_pos + n_neg;
    if (n == 0) return 1.0;
    size_t k = n_pos < n_neg ? n_pos : n_neg;
    /* 2 * P(X <= k), X ~ Binomial(n, 1/2), each term from logs */
    double sum = 0.0;
    for (size_t i = 0; i <= k; i++)
        sum += exp(lgamma((double)n + 1) - lgamma((double)i + 1) - lgamma((double)(n - i) + 1) -
                   (double)n * log(2.0));
    double p = 2.0 * sum;
    return p > 1.0 ? 1.0 : p;
}

static int cmp_abs(const void *pa, const void *pb)
{
    double a = fabs(*(const double *)pa), b = fabs(*(const double *)pb);
    return (a > b) - (a < b);
}

double amx_wilcoxon_p(const double *d, size_t n, size_t *n_nonzero)
{
    size_t m = 0;
    double *x = malloc((n ? n : 1) * sizeof *x);
    if (!x) return NAN;
    for (size_t i = 0; i < n; i++)
        if (d[i] != 0) x[m++] = d[i];
    if (n_nonzero) *n_nonzero = m;
    if (m == 0) {
        free(x);
        return 1.0;
    }
    qsort(x, m, sizeof *x, cmp_abs);
    /* doubled mid-ranks: a tie group at 1-based positions i..j gets i + j */
    long *r2 = malloc(m * sizeof *r2);
    long total = 0, w_obs = 0;
    if (!r2) {
        free(x);
        return NAN;
    }
    for (size_t i = 0; i < m;) {
        size_t j = i;
        while (j + 1 < m && fabs(x[j + 1]) == fabs(x[i]))
            j++;
        for (size_t k = i; k <= j; k++)
            r2[k] = (long)(i + 1) + (long)(j + 1);
        i = j + 1;
    }
    for (size_t i = 0; i < m; i++) {
        total += r2[i];
        if (x[i] > 0) w_obs += r2[i];
    }
    /* prob[s]: probability that the positive signs' doubled ranks sum to s */
    double *prob = calloc((size_t)total + 1, sizeof *prob);
    if (!prob) {
        free(x);
        free(r2);
        return NAN;
    }
    prob[0] = 1.0;
    long reach = 0;
    for (size_t i = 0; i < m; i++) {
        reach += r2[i];
        for (long s = reach; s >= 0; s--) {
            double with = s >= r2[i] ? prob[s - r2[i]] : 0.0;
            prob[s] = 0.5 * prob[s] + 0.5 * with;
        }
    }
    long dev = labs(2 * w_obs - total);
    double p = 0.0;
    for (long s = 0; s <= total; s++)
        if (labs(2 * s - total) >= dev) p += prob[s];
    free(prob);
    free(r2);
    free(x);
    return p > 1.0 ? 1.0 : p;
}

const char *amx_paired_test_name(enum amx_paired_test t)
{
    switch (t) {
    case AMX_TEST_WILCOXON:
        return "wilcoxon";
    case AMX_TEST_SIGN:
        return "sign";
    case AMX_TEST_NONE:
        break;
    }
    return "none";
}

struct amx_paired amx_paired_stats(const double *d, size_t n)
{
    struct amx_paired s = {.n = n, .mean = NAN, .std = NAN, .ci_lo = NAN, .ci_hi = NAN, .p = NAN};
    if (n == 0) return s;
    double sum = 0.0;
    for (size_t i = 0; i < n; i++) {
        sum += d[i];
        s.n_neg += d[i] < 0;
        s.n_pos += d[i] > 0;
    }
    s.n_nonzero = s.n_neg + s.n_pos;
    s.mean = sum / (double)n;
    if (n >= 2) {
        double ss = 0.0;
        for (size_t i = 0; i < n; i++)
            ss += (d[i] - s.mean) * (d[i] - s.mean);
        s.std = sqrt(ss / (double)(n - 1));
        double half = amx_t_quantile(0.975, (double)(n - 1)) * s.std / sqrt((double)n);
        s.ci_lo = s.mean - half;
        s.ci_hi = s.mean + half;
    }
    if (s.n_nonzero >= AMX_WILCOXON_MIN_N) {
        s.p = amx_wilcoxon_p(d, n, NULL);
        s.test = AMX_TEST_WILCOXON;
    } else {
        s.p = amx_sign_test_p(s.n_pos, s.n_neg);
        s.test = AMX_TEST_SIGN;
    }
    return s;
}

static int cmp_double(const void *pa, const void *pb)
{
    double a = *(const double *)pa, b = *(const double *)pb;
    return (a > b) - (a < b);
}

double amx_median(double *x, size_t n)
{
    if (n == 0) return NAN;
    qsort(x, n, sizeof *x, cmp_double);
    if (n % 2) return x[n / 2];
    double a = x[n / 2 - 1], b = x[n / 2];
    if (isinf(a) || isinf(b)) return INFINITY;
    return 0.5 * (a + b);
}
