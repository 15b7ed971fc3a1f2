/* Tests of the PCG32 streams (src/rng/rng.c) against independent truths: the
 * published demo outputs of the reference pcg32, 10,000 outputs per seed of
 * Debian's libpcg-cpp (tests/pcg_reference.cpp, run as a program), states
 * crafted by hand to give extreme outputs, the documented stream derivation
 * recomputed here, and moments and frequencies of the distributions compared
 * with their exact values within a stated number of standard errors. */
#define _POSIX_C_SOURCE 200809L
#include "adamix/rng.h"
#include "testutil.h"

/* Hot loops test with `if (!ok) ck_abort_msg(...)`: every passing ck_assert
 * reports a mark point to Check's parent process, too slow 10^6 times. */

#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PCG_MULT 6364136223846793005ULL /* the published LCG multiplier */
#define NDRAWS 1000000

/* N outputs of the reference pcg32(state, stream); malloc'ed. */
static uint32_t *reference_outputs(uint64_t state, uint64_t stream, long n)
{
    char *cmd = tu_fmt("'%s' 0x%llx 0x%llx %ld", AMX_PCG_REFERENCE, (unsigned long long)state,
                       (unsigned long long)stream, n);
    char *out = NULL;
    int rc = tu_run(cmd, &out, NULL);
    free(cmd);
    ck_assert_int_eq(rc, 0);
    ck_assert_ptr_nonnull(out);
    uint32_t *v = malloc((size_t)n * sizeof *v);
    ck_assert_ptr_nonnull(v);
    char *p = out;
    for (long i = 0; i < n; i++) {
        char *end;
        unsigned long long x = strtoull(p, &end, 10);
        if (end == p || x > UINT32_MAX) ck_abort_msg("bad reference line %ld", i);
        v[i] = (uint32_t)x;
        p = end;
    }
    free(out);
    return v;
}

START_TEST(test_published_demo)
{
    /* pcg32-demo of the reference implementation, seeded (42, 54). */
    static const uint32_t expect[6] = {0xa15c02b7u, 0x7b47f409u, 0xba1d3330u,
                                       0x83d2f293u, 0xbfa4784bu, 0xcbed606eu};
    struct amx_rng rng;
    amx_rng_seed(&rng, 42u, 54u);
    ck_assert_uint_eq(rng.inc, 109u); /* 54 * 2 + 1 */
    for (int i = 0; i < 6; i++)
        ck_assert_msg(amx_rng_next(&rng) == expect[i], "output %d", i);
    uint32_t *ref = reference_outputs(42u, 54u, 6);
    for (int i = 0; i < 6; i++)
        ck_assert_msg(ref[i] == expect[i], "reference output %d", i);
    free(ref);
}
END_TEST

START_TEST(test_against_reference)
{
    static const uint64_t pairs[][2] = {
        {42u, 54u},
        {0u, 0u},
        {1u, 1u},
        {UINT64_MAX, UINT64_MAX}, /* stream's top bit is dropped by both */
        {0x853c49e6748fea9bULL, 0xda3e39cb94b95bdbULL},
        {0x0123456789abcdefULL, 0x7fffffffffffffffULL},
        {987654321u, 0x100000000ULL},
    };
    const long n = 10000;
    for (size_t k = 0; k < sizeof pairs / sizeof pairs[0]; k++) {
        uint32_t *ref = reference_outputs(pairs[k][0], pairs[k][1], n);
        struct amx_rng rng;
        amx_rng_seed(&rng, pairs[k][0], pairs[k][1]);
        for (long i = 0; i < n; i++)
            if (amx_rng_next(&rng) != ref[i]) ck_abort_msg("pair %zu output %ld", k, i);
        free(ref);
    }
}
END_TEST

/* The stream derivation documented in rng.c, written again here. */
static uint64_t doc_mix(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

START_TEST(test_stream_documented)
{
    static const struct {
        uint64_t seed;
        uint32_t repeat, purpose;
    } cases[] = {
        {0u, 0u, AMX_STREAM_INIT},
        {1u, 3u, AMX_STREAM_RBM_SAMPLE + 2},
        {UINT64_MAX, 0x7fffffffu, 0xffffffffu},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        uint64_t initseq = ((uint64_t)cases[k].repeat << 32) | cases[k].purpose;
        uint64_t initstate = doc_mix(doc_mix(cases[k].seed ^ 0x9E3779B97F4A7C15ULL) ^ initseq);
        uint32_t *ref = reference_outputs(initstate, initseq, 1000);
        struct amx_rng rng;
        amx_rng_stream(&rng, cases[k].seed, cases[k].repeat, cases[k].purpose);
        for (int i = 0; i < 1000; i++)
            if (amx_rng_next(&rng) != ref[i]) ck_abort_msg("case %zu output %d", k, i);
        free(ref);
    }
}
END_TEST

START_TEST(test_stream_independence)
{
    static const uint32_t purposes[] = {AMX_STREAM_INIT,       AMX_STREAM_FINETUNE_ORDER,
                                        AMX_STREAM_RBM_SAMPLE, AMX_STREAM_RBM_SAMPLE + 1,
                                        AMX_STREAM_RBM_ORDER,  AMX_STREAM_RBM_ORDER + 1,
                                        AMX_STREAM_USER,       0xffffffffu};
    static const uint32_t repeats[] = {0u, 1u, 2u, 0x7fffffffu};
    enum { NP = sizeof purposes / sizeof purposes[0], NR = sizeof repeats / sizeof repeats[0] };
    enum { NS = 2 * NP * NR, K = 16 };
    static uint32_t first[NS][K];
    static uint64_t inc[NS];
    int s = 0;
    for (uint64_t seed = 7; seed <= 8; seed++)
        for (int r = 0; r < NR; r++)
            for (int p = 0; p < NP; p++, s++) {
                struct amx_rng a, b;
                amx_rng_stream(&a, seed, repeats[r], purposes[p]);
                amx_rng_stream(&b, seed, repeats[r], purposes[p]);
                inc[s] = a.inc;
                ck_assert(a.inc & 1u);
                for (int i = 0; i < 1000; i++) {
                    uint32_t x = amx_rng_next(&a);
                    if (x != amx_rng_next(&b)) /* same triple, same stream */
                        ck_abort_msg("stream %d differs from its twin at %d", s, i);
                    if (i < K) first[s][i] = x;
                }
            }
    for (int i = 0; i < NS; i++)
        for (int j = i + 1; j < NS; j++) {
            if (memcmp(first[i], first[j], sizeof first[i]) == 0)
                ck_abort_msg("streams %d and %d start alike", i, j);
            /* one seed: distinct (repeat, purpose) -> distinct PCG stream */
            if (i / (NP * NR) == j / (NP * NR))
                if (inc[i] == inc[j]) ck_abort_msg("streams %d and %d share an increment", i, j);
        }

    /* Two streams of one seed and repeat, 10^5 paired uniforms: their
     * correlation has standard error 1/sqrt(n) when they are independent;
     * allow 5 of them. */
    struct amx_rng a, b;
    amx_rng_stream(&a, 7u, 0u, AMX_STREAM_INIT);
    amx_rng_stream(&b, 7u, 0u, AMX_STREAM_FINETUNE_ORDER);
    const int n = 100000;
    double sa = 0, sb = 0, sab = 0, saa = 0, sbb = 0;
    for (int i = 0; i < n; i++) {
        double x = amx_rng_uniform_double(&a), y = amx_rng_uniform_double(&b);
        sa += x;
        sb += y;
        sab += x * y;
        saa += x * x;
        sbb += y * y;
    }
    double cov = sab / n - (sa / n) * (sb / n);
    double corr = cov / sqrt((saa / n - (sa / n) * (sa / n)) * (sbb / n - (sb / n) * (sb / n)));
    ck_assert_msg(fabs(corr) < 5.0 / sqrt(n), "correlation %g", corr);
}
END_TEST

/* A state whose XSH-RR output is 0xffffffff: output bit i (before the
 * rotation, which leaves all-ones unchanged) is state bit 27+i xor bit 45+i
 * (0 above bit 63), so choose bits 58 down to 27 to make every one 1; the top
 * five bits (the rotation) and the low 27 bits are free. */
static uint64_t crafted_max_state(uint64_t top5, uint64_t low27)
{
    uint64_t s = (top5 << 59) | (low27 & ((1ULL << 27) - 1));
    for (int k = 58; k >= 27; k--) {
        uint64_t hi = k + 18 <= 63 ? (s >> (k + 18)) & 1u : 0u;
        s |= (1u ^ hi) << k;
    }
    return s;
}

START_TEST(test_uniform_edges)
{
    struct amx_rng rng = {0u, 1u};
    ck_assert_uint_eq(amx_rng_next(&rng), 0u); /* state 0 outputs 0 */
    rng.state = 0;
    ck_assert(amx_rng_uniform(&rng) == 0.0f);

    for (uint64_t top = 0; top < 32; top += 7) {
        uint64_t s0 = crafted_max_state(top, 0x1234567u + top);
        rng.state = s0;
        rng.inc = 1;
        ck_assert_uint_eq(amx_rng_next(&rng), 0xffffffffu);
        rng.state = s0;
        float f = amx_rng_uniform(&rng);
        ck_assert(f < 1.0f);
        ck_assert(f == 1.0f - 0x1.0p-24f);

        /* Two maximal outputs in a row: pick the next state s1 (also maximal)
         * and solve s1 = s0 * MULT + inc for the increment, which is odd as a
         * PCG increment must be when s1 and s0 differ in their lowest bit. */
        uint64_t s1 = crafted_max_state(31u - top, (s0 & 1u) ^ 1u);
        rng.state = s0;
        rng.inc = s1 - s0 * PCG_MULT;
        ck_assert(rng.inc & 1u);
        double d = amx_rng_uniform_double(&rng);
        ck_assert(d < 1.0);
        ck_assert(d == 1.0 - 0x1.0p-53);
        ck_assert_uint_eq(rng.state, s1 * PCG_MULT + rng.inc);
    }
}
END_TEST

START_TEST(test_uniform_moments)
{
    /* U uniform on [0,1): mean 1/2, variance 1/12, and the variance of
     * (U - 1/2)^2 is E(U-1/2)^4 - (1/12)^2 = 1/80 - 1/144 = 1/180. With n draws
     * the standard error of the sample mean is sqrt(1/12/n) and of the sample
     * variance about sqrt(1/180/n). Tolerances are 5 standard errors (a
     * chance of about 6e-7 of failing for a good generator; the seed is fixed,
     * so the outcome is deterministic anyway). The discreteness of the 24-bit
     * and 53-bit grids moves the exact moments by < 2^-24, far below these. */
    struct amx_rng rng;
    amx_rng_stream(&rng, 2016u, 0u, AMX_STREAM_USER);
    double sf = 0, sf2 = 0, sd = 0, sd2 = 0;
    float fmax = 0;
    for (int i = 0; i < NDRAWS; i++) {
        float f = amx_rng_uniform(&rng);
        if (!(f >= 0.0f && f < 1.0f)) ck_abort_msg("float draw %d: %.9g", i, (double)f);
        if (f > fmax) fmax = f;
        sf += f;
        sf2 += ((double)f - 0.5) * ((double)f - 0.5);
        double d = amx_rng_uniform_double(&rng);
        if (!(d >= 0.0 && d < 1.0)) ck_abort_msg("double draw %d: %.17g", i, d);
        sd += d;
        sd2 += (d - 0.5) * (d - 0.5);
    }
    double n = NDRAWS;
    double se_mean = sqrt(1.0 / 12.0 / n), se_var = sqrt(1.0 / 180.0 / n);
    ck_assert_msg(fabs(sf / n - 0.5) < 5 * se_mean, "float mean %g", sf / n);
    ck_assert_msg(fabs(sf2 / n - 1.0 / 12.0) < 5 * se_var, "float var %g", sf2 / n);
    ck_assert_msg(fabs(sd / n - 0.5) < 5 * se_mean, "double mean %g", sd / n);
    ck_assert_msg(fabs(sd2 / n - 1.0 / 12.0) < 5 * se_var, "double var %g", sd2 / n);
    /* the largest of 10^6 draws is within ~1e-5 of 1 but never 1 */
    ck_assert(fmax > 0.9999f && fmax < 1.0f);
}
END_TEST

START_TEST(test_normal_moments)
{
    /* Z standard normal: E Z = 0, E Z^2 = 1, E Z^3 = 0, E Z^4 = 3 and
     * Var Z = 1, Var Z^2 = 2, Var Z^3 = E Z^6 = 15, Var Z^4 = E Z^8 - 9 = 96.
     * P(|Z| > 2) = erfc(2/sqrt 2), P(Z < 1) = erfc(-1/sqrt 2)/2, with binomial
     * standard errors sqrt(p(1-p)/n). Each sample moment must lie within 5
     * standard errors (sqrt(Var/n)) of its exact value. */
    struct amx_rng rng;
    amx_rng_stream(&rng, 2013u, 1u, AMX_STREAM_USER);
    double m1 = 0, m2 = 0, m3 = 0, m4 = 0, tail2 = 0, below1 = 0, zmax = 0;
    for (int i = 0; i < NDRAWS; i++) {
        double z = amx_rng_normal(&rng);
        if (!isfinite(z)) ck_abort_msg("normal draw %d: %g", i, z);
        double z2 = z * z;
        m1 += z;
        m2 += z2;
        m3 += z2 * z;
        m4 += z2 * z2;
        tail2 += fabs(z) > 2.0;
        below1 += z < 1.0;
        if (fabs(z) > zmax) zmax = fabs(z);
    }
    double n = NDRAWS;
    ck_assert_msg(fabs(m1 / n) < 5 * sqrt(1 / n), "mean %g", m1 / n);
    ck_assert_msg(fabs(m2 / n - 1) < 5 * sqrt(2 / n), "E z^2 %g", m2 / n);
    ck_assert_msg(fabs(m3 / n) < 5 * sqrt(15 / n), "E z^3 %g", m3 / n);
    ck_assert_msg(fabs(m4 / n - 3) < 5 * sqrt(96 / n), "E z^4 %g", m4 / n);
    double p2 = erfc(2.0 / sqrt(2.0)), p1 = 0.5 * erfc(-1.0 / sqrt(2.0));
    ck_assert_msg(fabs(tail2 / n - p2) < 5 * sqrt(p2 * (1 - p2) / n), "P(|z|>2) %g", tail2 / n);
    ck_assert_msg(fabs(below1 / n - p1) < 5 * sqrt(p1 * (1 - p1) / n), "P(z<1) %g", below1 / n);
    /* 10^6 normals reach about 4.9; Box-Muller from 53-bit uniforms cannot
     * exceed sqrt(2 * 53 ln 2) = 8.57 */
    ck_assert_msg(zmax > 4.0 && zmax < 8.6, "max |z| %g", zmax);
}
END_TEST

START_TEST(test_bounded)
{
    struct amx_rng rng;
    amx_rng_stream(&rng, 99u, 0u, AMX_STREAM_USER);
    static const uint32_t bounds[] = {1u, 2u, 3u, 7u, 10u, 1000u, 0x80000001u, 0xffffffffu};
    for (size_t k = 0; k < sizeof bounds / sizeof bounds[0]; k++)
        for (int i = 0; i < 20000; i++)
            if (amx_rng_bounded(&rng, bounds[k]) >= bounds[k]) ck_abort_msg("bound %u", bounds[k]);

    /* Bound 10, 10^6 draws: Pearson chi-square with 9 degrees of freedom; its
     * 1 - 1e-6 quantile is 44.8 (regularized incomplete gamma function). */
    long count[10] = {0};
    for (int i = 0; i < NDRAWS; i++)
        count[amx_rng_bounded(&rng, 10u)]++;
    double chi2 = 0, e = NDRAWS / 10.0;
    for (int v = 0; v < 10; v++)
        chi2 += (count[v] - e) * (count[v] - e) / e;
    ck_assert_msg(chi2 < 44.8, "chi-square %g", chi2);

    /* Bound 3 * 2^30: 2^32 mod bound = 2^30, so a plain r % bound would give
     * values below 2^30 with probability 1/2; unbiased, it is 1/3. With 10^5
     * draws the standard error is sqrt(2/9/n) = 0.0015; allow 5. */
    const uint32_t big = 3u << 30;
    const int n = 100000;
    int low = 0;
    for (int i = 0; i < n; i++)
        low += amx_rng_bounded(&rng, big) < (1u << 30);
    ck_assert_msg(fabs((double)low / n - 1.0 / 3.0) < 5 * sqrt(2.0 / 9.0 / n), "low fraction %g",
                  (double)low / n);
}
END_TEST

START_TEST(test_shuffle)
{
    enum { N = 1000 };
    static uint32_t a[N], b[N];
    struct amx_rng r1, r2;
    amx_rng_stream(&r1, 5u, 2u, AMX_STREAM_FINETUNE_ORDER);
    amx_rng_stream(&r2, 5u, 2u, AMX_STREAM_FINETUNE_ORDER);
    for (uint32_t i = 0; i < N; i++)
        a[i] = b[i] = i;
    amx_rng_shuffle(&r1, a, N);
    amx_rng_shuffle(&r2, b, N);
    ck_assert(memcmp(a, b, sizeof a) == 0); /* reproducible */
    static int seen[N];
    int moved = 0;
    for (uint32_t i = 0; i < N; i++) {
        if (a[i] >= N || seen[a[i]]) ck_abort_msg("not a permutation at %u", i);
        seen[a[i]] = 1;
        moved += a[i] != i;
    }
    /* a uniform permutation has on average one fixed point */
    ck_assert_int_gt(moved, N - 10);
    amx_rng_shuffle(&r1, a, 0); /* empty and single arrays are fine */
    amx_rng_shuffle(&r1, a, 1);

    /* All 3! orders of {0,1,2}, 60,000 shuffles: Pearson chi-square with 5
     * degrees of freedom, below its 1 - 1e-6 quantile 35.9. */
    const int n = 60000;
    long count[3][3][3] = {{{0}}};
    for (int i = 0; i < n; i++) {
        uint32_t c[3] = {0, 1, 2};
        amx_rng_shuffle(&r1, c, 3);
        count[c[0]][c[1]][c[2]]++;
    }
    double chi2 = 0, e = n / 6.0;
    int orders = 0;
    for (int x = 0; x < 3; x++)
        for (int y = 0; y < 3; y++)
            for (int z = 0; z < 3; z++) {
                if (x == y || y == z || x == z) {
                    ck_assert_int_eq(count[x][y][z], 0);
                    continue;
                }
                orders++;
                chi2 += (count[x][y][z] - e) * (count[x][y][z] - e) / e;
            }
    ck_assert_int_eq(orders, 6);
    ck_assert_msg(chi2 < 35.9, "chi-square %g", chi2);
}
END_TEST

static Suite *rng_suite(void)
{
    Suite *s = suite_create("rng");
    TCase *tc = tcase_create("pcg32");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_published_demo);
    tcase_add_test(tc, test_against_reference);
    tcase_add_test(tc, test_stream_documented);
    tcase_add_test(tc, test_stream_independence);
    tcase_add_test(tc, test_uniform_edges);
    tcase_add_test(tc, test_uniform_moments);
    tcase_add_test(tc, test_normal_moments);
    tcase_add_test(tc, test_bounded);
    tcase_add_test(tc, test_shuffle);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(rng_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
