/* Unit tests of src/optim: every learning-rate rule against a hand
 * computation done here in double (its own implementation of the published
 * formulas, not the library's), over several epochs of updates of a small
 * vector, with both clocks (per: epoch and per: step) and with momentum;
 * identities between rules (AdaDec with gamma = 1, c = 0 is AdaGrad; the
 * first current-gradient update is AdaGrad's; power with c = 0 is constant);
 * the logged rate statistics against closed forms and direct minima and
 * maxima; the parameter-group selectors, their precedence and every coverage
 * error; and the registry (names, aliases, defaults within their ranges). */
#include "adamix/bf16.h"
#include "adamix/optim.h"

#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- helpers ---------------------------------------------------------- */

struct pv {
    const char *name;
    double value;
};

/* A spec of `rule` with its defaults, then eta0, momentum, clock and up to
 * four named parameters (p ends at four entries or at a {0} entry). */
static struct amx_rule_spec make_spec(const char *rule, double eta0, double mu, enum amx_clock per,
                                      const struct pv *p)
{
    struct amx_rule_spec s;
    const struct amx_rule *r = amx_rule_find(rule);
    ck_assert_msg(r != NULL, "rule %s not found", rule);
    amx_rule_spec_defaults(&s, r);
    s.eta0 = eta0;
    s.momentum = mu;
    s.per = per;
    for (int i = 0; p && i < 4 && p[i].name; i++) {
        int k = amx_rule_param_index(r, p[i].name);
        ck_assert_msg(k >= 0, "rule %s has no parameter %s", rule, p[i].name);
        s.p[k] = p[i].value;
    }
    return s;
}

static struct amx_rule_binding make_binding(const char *selector, struct amx_rule_spec spec,
                                            int line, int col)
{
    struct amx_rule_binding b;
    memset(&b, 0, sizeof b);
    snprintf(b.selector, sizeof b.selector, "%s", selector);
    b.spec = spec;
    b.line = line;
    b.col = col;
    return b;
}

/* The tensors of the unrolled network of n_sizes layer sizes, views into
 * storage (theta then grad per tensor); returns the tensor count. */
static size_t make_net(const int *sizes, int n_sizes, struct amx_param_tensor *t, float **storage)
{
    const int depth = 2 * (n_sizes - 1);
    size_t total = 0, k = 0;
    for (int l = 1; l <= depth; l++) {
        int in = l <= n_sizes - 1 ? sizes[l - 1] : sizes[depth - l + 1];
        int out = l <= n_sizes - 1 ? sizes[l] : sizes[depth - l];
        total += 2 * ((size_t)in * out + out);
    }
    *storage = calloc(total, sizeof(float));
    ck_assert_ptr_nonnull(*storage);
    float *p = *storage;
    for (int l = 1; l <= depth; l++) {
        int in = l <= n_sizes - 1 ? sizes[l - 1] : sizes[depth - l + 1];
        int out = l <= n_sizes - 1 ? sizes[l] : sizes[depth - l];
        for (int b = 0; b < 2; b++, k++) {
            memset(&t[k], 0, sizeof t[k]);
            snprintf(t[k].name, sizeof t[k].name, "layer%d.%s", l, b ? "biases" : "weights");
            t[k].layer = l;
            t[k].is_bias = b;
            t[k].part = l <= n_sizes - 1 ? "encoder" : "decoder";
            t[k].n = b ? (size_t)out : (size_t)in * out;
            t[k].theta = p;
            p += t[k].n;
            t[k].grad = p;
            p += t[k].n;
        }
    }
    return k;
}

/* A smooth, sign-changing gradient of varied size for update k, parameter i. */
static double grad_of(long k, size_t i)
{
    return (0.3 + 0.37 * (double)(i % 11)) * sin(0.9 * (double)k + 1.7 * (double)i + 0.3);
}

static bool close_to(double got, double want, double rel, double abs_tol)
{
    return fabs(got - want) <= abs_tol + rel * fabs(want);
}

/* ---- the hand computation --------------------------------------------- */

#define REF_N 1100 /* the largest vector a test gives the reference */

struct ref {
    double theta[REF_N], vel[REF_N], a[REF_N], b[REF_N]; /* a, b: rule state */
};

static double param(const struct amx_rule_spec *s, const char *name)
{
    int k = amx_rule_param_index(s->rule, name);
    ck_assert_int_ge(k, 0);
    return s->p[k];
}

/* One update of the reference with gradients g[0..n); returns the rates in
 * rate[0..n). t, epoch and step as the optimizer defines them. */
static void ref_update(struct ref *R, const struct amx_rule_spec *s, const double *g, size_t n,
                       long epoch, long step, double *rate)
{
    const char *name = s->rule->name;
    const double t = s->per == AMX_CLOCK_STEP ? (double)step : (double)epoch;
    for (size_t i = 0; i < n; i++) {
        double r, dir = g[i];
        if (strcmp(name, "constant") == 0) {
            r = s->eta0;
        } else if (strcmp(name, "power-exponential") == 0) {
            r = s->eta0 * pow(1.0 + t / param(s, "r"), -param(s, "c"));
        } else if (strcmp(name, "exponential") == 0) {
            r = s->eta0 * pow(10.0, -t / param(s, "r"));
        } else if (strcmp(name, "step") == 0) {
            r = s->eta0 * pow(param(s, "gamma"), floor(t / param(s, "every")));
        } else if (strcmp(name, "adagrad") == 0) {
            R->a[i] += g[i] * g[i];
            r = s->eta0 / sqrt(param(s, "K") + R->a[i]);
        } else if (strcmp(name, "adadec") == 0) {
            R->a[i] = param(s, "gamma") * R->a[i] + g[i] * g[i];
            r = s->eta0 * pow(1.0 + t / param(s, "r"), -param(s, "c")) /
                sqrt(param(s, "K") + R->a[i]);
        } else if (strcmp(name, "current-gradient") == 0) {
            if (param(s, "window") == 0) { /* step */
                r = s->eta0 / sqrt(param(s, "K") + g[i] * g[i]);
            } else { /* epoch: a[] is cleared at each epoch by the caller */
                R->a[i] += g[i] * g[i];
                r = s->eta0 / sqrt(param(s, "K") + R->a[i]);
            }
        } else if (strcmp(name, "rmsprop") == 0) {
            const double rho = param(s, "rho");
            R->a[i] = rho * R->a[i] + (1 - rho) * g[i] * g[i];
            r = s->eta0 / (sqrt(R->a[i]) + param(s, "eps"));
        } else if (strcmp(name, "adam") == 0) {
            const double b1 = param(s, "beta1"), b2 = param(s, "beta2");
            const double k = (double)(step + 1);
            R->a[i] = b1 * R->a[i] + (1 - b1) * g[i];
            R->b[i] = b2 * R->b[i] + (1 - b2) * g[i] * g[i];
            const double mhat = R->a[i] / (1 - pow(b1, k));
            const double vhat = R->b[i] / (1 - pow(b2, k));
            r = s->eta0 / (sqrt(vhat) + param(s, "eps"));
            dir = mhat;
        } else {
            ck_abort_msg("no hand computation for rule %s", name);
            return;
        }
        rate[i] = r;
        if (s->momentum > 0) {
            R->vel[i] = s->momentum * R->vel[i] - r * dir;
            R->theta[i] += R->vel[i];
        } else {
            R->theta[i] -= r * dir;
        }
    }
}

/* ---- every rule against the hand computation --------------------------- */

struct rule_case {
    const char *rule;
    enum amx_clock per;
    double mu;
    struct pv p[4];
};

static const struct rule_case rule_cases[] = {
    {"constant", AMX_CLOCK_EPOCH, 0, {{0}}},
    {"constant", AMX_CLOCK_STEP, 0, {{0}}},
    {"power-exponential", AMX_CLOCK_EPOCH, 0, {{"r", 3}, {"c", 0.7}}},
    {"power-exponential", AMX_CLOCK_STEP, 0, {{"r", 3}, {"c", 0.7}}},
    {"power", AMX_CLOCK_EPOCH, 0.9, {{"r", 2}, {"c", 1.5}}}, /* momentum */
    {"exponential", AMX_CLOCK_EPOCH, 0, {{"r", 4}}},
    {"exponential", AMX_CLOCK_STEP, 0, {{"r", 4}}},
    {"step", AMX_CLOCK_EPOCH, 0, {{"gamma", 0.5}, {"every", 2}}},
    {"step", AMX_CLOCK_STEP, 0, {{"gamma", 0.3}, {"every", 4}}},
    {"adagrad", AMX_CLOCK_EPOCH, 0, {{"K", 0.5}}},
    {"adagrad", AMX_CLOCK_STEP, 0, {{"K", 2}}},
    {"adadec", AMX_CLOCK_EPOCH, 0, {{"gamma", 0.9}, {"K", 1}, {"r", 3}, {"c", 0.5}}},
    {"adadec", AMX_CLOCK_STEP, 0, {{"gamma", 0.95}, {"K", 0.7}, {"r", 5}, {"c", 1.2}}},
    {"current-gradient", AMX_CLOCK_EPOCH, 0, {{"K", 0.5}}},
    {"current-gradient", AMX_CLOCK_STEP, 0, {{"K", 0.5}}},
    {"current-gradient", AMX_CLOCK_EPOCH, 0, {{"K", 0.8}, {"window", 1}}},
    {"current-gradient", AMX_CLOCK_STEP, 0, {{"K", 0.8}, {"window", 1}}},
    {"current-gradient", AMX_CLOCK_EPOCH, 0.5, {{"K", 1}, {"window", 1}}}, /* momentum */
    {"rmsprop", AMX_CLOCK_EPOCH, 0, {{"rho", 0.9}, {"eps", 1e-8}}},
    {"rmsprop", AMX_CLOCK_STEP, 0, {{"rho", 0.5}, {"eps", 1e-3}}},
    {"adam", AMX_CLOCK_EPOCH, 0, {{"beta1", 0.9}, {"beta2", 0.999}}},
    {"adam", AMX_CLOCK_STEP, 0.3, {{"beta1", 0.8}, {"beta2", 0.99}, {"eps", 1e-4}}},
};

#define N_RULE_CASES (int)(sizeof rule_cases / sizeof rule_cases[0])

/* Drives one optimizer over a single tensor of n parameters for `epochs`
 * epochs of `steps` updates, in step with the reference; checks the
 * parameters after every update and the statistics after every epoch. */
static void check_against_reference(const struct amx_rule_spec *spec, size_t n, int epochs,
                                    int steps)
{
    ck_assert(n <= REF_N);
    struct ref *R = calloc(1, sizeof *R);
    float *theta = malloc(n * sizeof *theta), *grad = malloc(n * sizeof *grad);
    double *g = malloc(n * sizeof *g), *rate = malloc(n * sizeof *rate);
    ck_assert(R && theta && grad && g && rate);
    for (size_t i = 0; i < n; i++) {
        theta[i] = (float)(0.5 - 0.01 * (double)i);
        R->theta[i] = theta[i];
    }
    struct amx_param_tensor t = {"layer1.weights", 1, false, "encoder", theta, grad, n, NULL};
    struct amx_rule_binding b = make_binding("all", *spec, 3, 5);
    struct amx_optimizer *opt = NULL;
    struct amx_error err;
    ck_assert_int_eq(amx_optimizer_init(&opt, &t, 1, &b, 1, &err), AMX_OK);
    ck_assert_uint_eq(amx_optimizer_group_count(opt), 1);
    ck_assert_str_eq(amx_optimizer_group_name(opt, 0), "all");

    long step = 0;
    for (int e = 0; e < epochs; e++) {
        amx_optimizer_epoch_begin(opt, e);
        if (strcmp(spec->rule->name, "current-gradient") == 0)
            memset(R->a, 0, sizeof R->a); /* the epoch window's reset */
        double sum = 0, mn = HUGE_VAL, mx = -HUGE_VAL;
        for (int k = 0; k < steps; k++, step++) {
            for (size_t i = 0; i < n; i++) {
                grad[i] = (float)grad_of(step, i);
                g[i] = grad[i]; /* the reference sees the same float gradient */
            }
            amx_optimizer_step(opt);
            ref_update(R, spec, g, n, e, step, rate);
            for (size_t i = 0; i < n; i++) {
                ck_assert_msg(close_to(theta[i], R->theta[i], 2e-5, 2e-6),
                              "%s per %s: epoch %d update %ld theta[%zu] = %.9g, hand %.9g",
                              spec->rule->name, spec->per == AMX_CLOCK_STEP ? "step" : "epoch", e,
                              step, i, theta[i], R->theta[i]);
                sum += rate[i];
                mn = fmin(mn, rate[i]);
                mx = fmax(mx, rate[i]);
            }
        }
        struct amx_rate_stats st = amx_optimizer_group_stats(opt, 0);
        ck_assert_double_eq(st.count, (double)n * steps);
        ck_assert_msg(close_to(st.sum / st.count, sum / ((double)n * steps), 1e-5, 0),
                      "%s epoch %d: mean rate %.9g, hand %.9g", spec->rule->name, e,
                      st.sum / st.count, sum / ((double)n * steps));
        ck_assert_msg(close_to(st.min, mn, 1e-5, 0), "%s epoch %d: min rate %.9g, hand %.9g",
                      spec->rule->name, e, st.min, mn);
        ck_assert_msg(close_to(st.max, mx, 1e-5, 0), "%s epoch %d: max rate %.9g, hand %.9g",
                      spec->rule->name, e, st.max, mx);
    }
    amx_optimizer_free(opt);
    free(R);
    free(theta);
    free(grad);
    free(g);
    free(rate);
}

START_TEST(test_rule_against_hand)
{
    const struct rule_case *c = &rule_cases[_i];
    struct amx_rule_spec s = make_spec(c->rule, 0.05, c->mu, c->per, c->p);
    check_against_reference(&s, 5, 3, 4);
}
END_TEST

/* The same over a vector that spans several chunks and lanes and a ragged
 * tail, for the adaptive rules (their statistics are summed in pieces). */
START_TEST(test_rule_against_hand_long)
{
    const char *rules[] = {"adagrad", "adadec", "current-gradient", "rmsprop", "adam"};
    for (size_t k = 0; k < sizeof rules / sizeof rules[0]; k++) {
        struct amx_rule_spec s = make_spec(rules[k], 0.02, 0, AMX_CLOCK_EPOCH, NULL);
        check_against_reference(&s, 1037, 2, 2);
    }
}
END_TEST

/* ---- identities between rules ------------------------------------------ */

/* Runs a rule over `updates` updates (epoch advancing every 2) from fixed
 * parameters and gradients; returns the parameters (malloc'ed). */
static float *run_rule(const struct amx_rule_spec *spec, size_t n, int updates)
{
    float *theta = malloc(n * sizeof *theta), *grad = malloc(n * sizeof *grad);
    ck_assert(theta && grad);
    for (size_t i = 0; i < n; i++)
        theta[i] = (float)(0.25 + 0.03 * (double)i);
    struct amx_param_tensor t = {"layer1.biases", 1, true, "encoder", theta, grad, n, NULL};
    struct amx_rule_binding b = make_binding("all", *spec, 1, 1);
    struct amx_optimizer *opt = NULL;
    ck_assert_int_eq(amx_optimizer_init(&opt, &t, 1, &b, 1, NULL), AMX_OK);
    for (int k = 0; k < updates; k++) {
        if (k % 2 == 0) amx_optimizer_epoch_begin(opt, k / 2);
        for (size_t i = 0; i < n; i++)
            grad[i] = (float)grad_of(k, i);
        amx_optimizer_step(opt);
    }
    amx_optimizer_free(opt);
    free(grad);
    return theta;
}

START_TEST(test_adadec_gamma1_c0_is_adagrad)
{
    const struct pv pd[] = {{"gamma", 1}, {"c", 0}, {"K", 0.6}, {"r", 2}};
    const struct pv pa[] = {{"K", 0.6}, {0}};
    struct amx_rule_spec dec = make_spec("adadec", 0.04, 0, AMX_CLOCK_EPOCH, pd);
    struct amx_rule_spec ada = make_spec("adagrad", 0.04, 0, AMX_CLOCK_EPOCH, pa);
    float *x = run_rule(&dec, 77, 7), *y = run_rule(&ada, 77, 7);
    for (size_t i = 0; i < 77; i++)
        ck_assert_float_eq(x[i], y[i]);
    /* and with gamma < 1 they differ, so the comparison can fail */
    struct amx_rule_spec dec2 = make_spec("adadec", 0.04, 0, AMX_CLOCK_EPOCH, pd);
    dec2.p[amx_rule_param_index(dec2.rule, "gamma")] = 0.5;
    float *z = run_rule(&dec2, 77, 7);
    ck_assert(memcmp(y, z, 77 * sizeof *z) != 0);
    free(x);
    free(y);
    free(z);
}
END_TEST

START_TEST(test_current_gradient_first_update_is_adagrad)
{
    const struct pv p[] = {{"K", 1.3}, {0}};
    for (int window = 0; window < 2; window++) {
        struct amx_rule_spec cg = make_spec("current-gradient", 0.1, 0, AMX_CLOCK_EPOCH, p);
        cg.p[amx_rule_param_index(cg.rule, "window")] = window;
        struct amx_rule_spec ada = make_spec("adagrad", 0.1, 0, AMX_CLOCK_EPOCH, p);
        float *x = run_rule(&cg, 300, 1), *y = run_rule(&ada, 300, 1);
        for (size_t i = 0; i < 300; i++)
            ck_assert_float_eq(x[i], y[i]);
        free(x);
        free(y);
        /* from the second update on, window: step forgets and AdaGrad does not */
        x = run_rule(&cg, 300, 2);
        y = run_rule(&ada, 300, 2);
        if (window == 0) {
            ck_assert(memcmp(x, y, 300 * sizeof *x) != 0);
        } else { /* same epoch: the window is AdaGrad's sum */
            for (size_t i = 0; i < 300; i++)
                ck_assert_float_eq(x[i], y[i]);
        }
        free(x);
        free(y);
    }
}
END_TEST

START_TEST(test_power_c0_is_constant)
{
    const struct pv p[] = {{"r", 0.5}, {"c", 0}, {0}};
    for (int per = 0; per < 2; per++) {
        struct amx_rule_spec pw = make_spec("power", 0.07, 0, (enum amx_clock)per, p);
        struct amx_rule_spec cst = make_spec("constant", 0.07, 0, (enum amx_clock)per, NULL);
        float *x = run_rule(&pw, 50, 6), *y = run_rule(&cst, 50, 6);
        for (size_t i = 0; i < 50; i++)
            ck_assert_float_eq(x[i], y[i]);
        free(x);
        free(y);
    }
}
END_TEST

/* ---- logged statistics -------------------------------------------------- */

/* The closed form of a schedule rule's rate at time t, written here. */
static double schedule_rate(const char *rule, double eta0, double t)
{
    if (strcmp(rule, "constant") == 0) return eta0;
    if (strcmp(rule, "power-exponential") == 0) return eta0 / pow(1 + t / 2.5, 0.8);
    if (strcmp(rule, "exponential") == 0) return eta0 / pow(10, t / 3.0);
    return eta0 * pow(0.6, floor(t / 3)); /* step */
}

START_TEST(test_schedule_mean_closed_form)
{
    const char *rules[] = {"constant", "power-exponential", "exponential", "step"};
    const struct pv params[][4] = {
        {{0}}, {{"r", 2.5}, {"c", 0.8}}, {{"r", 3}}, {{"gamma", 0.6}, {"every", 3}}};
    const int sizes[] = {5, 7, 3}; /* a 5-7-3 network: 4 layers, 8 tensors */
    struct amx_param_tensor t[8];
    float *storage;
    size_t nt = make_net(sizes, 3, t, &storage);
    size_t n_total = 0;
    for (size_t i = 0; i < nt; i++)
        n_total += t[i].n;
    for (size_t r = 0; r < 4; r++) {
        for (int per = 0; per < 2; per++) {
            struct amx_rule_spec s = make_spec(rules[r], 0.3, 0, (enum amx_clock)per, params[r]);
            struct amx_rule_binding b = make_binding("all", s, 1, 1);
            struct amx_optimizer *opt = NULL;
            ck_assert_int_eq(amx_optimizer_init(&opt, t, nt, &b, 1, NULL), AMX_OK);
            const int steps = 5;
            for (int e = 0; e < 6; e++) {
                amx_optimizer_epoch_begin(opt, e);
                double want = 0;
                for (int k = 0; k < steps; k++) {
                    amx_optimizer_step(opt);
                    want += schedule_rate(rules[r], 0.3, per ? (double)(e * steps + k) : e);
                }
                want /= steps;
                struct amx_rate_stats st = amx_optimizer_group_stats(opt, 0);
                ck_assert_double_eq(st.count, (double)(n_total * steps));
                ck_assert_msg(close_to(st.sum / st.count, want, 1e-6, 0),
                              "%s per %s epoch %d: mean %.10g, closed form %.10g", rules[r],
                              per ? "step" : "epoch", e, st.sum / st.count, want);
                if (per == 0) {
                    ck_assert(close_to(st.min, want, 1e-6, 0));
                    ck_assert(close_to(st.max, want, 1e-6, 0));
                }
            }
            amx_optimizer_free(opt);
        }
    }
    free(storage);
}
END_TEST

START_TEST(test_adagrad_min_max)
{
    /* one tensor with one very large and one very small gradient: the rates'
     * extremes are known in closed form after one update */
    const size_t n = 1500;
    float *theta = calloc(n, sizeof *theta), *grad = malloc(n * sizeof *grad);
    ck_assert(theta && grad);
    for (size_t i = 0; i < n; i++)
        grad[i] = 0.5f;
    grad[1234] = 30.0f; /* in the third chunk of 512, lane 210 % 64 */
    grad[1499] = 0.0f;  /* the ragged tail */
    struct amx_param_tensor t = {"layer1.weights", 1, false, "encoder", theta, grad, n, NULL};
    const struct pv p[] = {{"K", 1}, {0}};
    struct amx_rule_binding b =
        make_binding("all", make_spec("adagrad", 0.2, 0, AMX_CLOCK_EPOCH, p), 1, 1);
    struct amx_optimizer *opt = NULL;
    ck_assert_int_eq(amx_optimizer_init(&opt, &t, 1, &b, 1, NULL), AMX_OK);
    amx_optimizer_epoch_begin(opt, 0);
    amx_optimizer_step(opt);
    struct amx_rate_stats st = amx_optimizer_group_stats(opt, 0);
    ck_assert(close_to(st.min, 0.2 / sqrt(1 + 900.0), 1e-6, 0));
    ck_assert(close_to(st.max, 0.2 / sqrt(1 + 0.0), 1e-6, 0));
    double mean = (1498 * 0.2 / sqrt(1.25) + 0.2 / sqrt(901.0) + 0.2) / 1500;
    ck_assert(close_to(st.sum / st.count, mean, 1e-6, 0));
    /* second update in the same epoch: sums grow, statistics accumulate */
    amx_optimizer_step(opt);
    st = amx_optimizer_group_stats(opt, 0);
    ck_assert_double_eq(st.count, 3000);
    ck_assert(close_to(st.min, 0.2 / sqrt(1 + 1800.0), 1e-6, 0));
    ck_assert(close_to(st.max, 0.2, 1e-6, 0));
    /* a new epoch starts the statistics again, not the sums */
    amx_optimizer_epoch_begin(opt, 1);
    st = amx_optimizer_group_stats(opt, 0);
    ck_assert_double_eq(st.count, 0);
    amx_optimizer_step(opt);
    st = amx_optimizer_group_stats(opt, 0);
    ck_assert(close_to(st.min, 0.2 / sqrt(1 + 2700.0), 1e-6, 0));
    ck_assert(close_to(st.max, 0.2, 1e-6, 0));
    amx_optimizer_free(opt);
    free(theta);
    free(grad);
}
END_TEST

/* The sum of current-gradient rates eta0 / sqrt(K + g^2) (window: step) over
 * g[0..n), in the order src/optim/rule_impl.h documents: chunks of 512
 * rates, each folded into 64 float lane sums (rate i of a chunk into lane
 * i % 64, in order), the lanes added into a double in lane order, the chunk
 * sums added in chunk order; but for lanes added in reverse in chunk
 * rev_chunk, and chunks swap and swap + 1 exchanged (-1: neither). */
static double rate_sum_in_order(const float *g, size_t n, float eta0, float K, int rev_chunk,
                                int swap)
{
    double chunk[16] = {0};
    int nc = 0;
    for (size_t c = 0; c < n; c += 512, nc++) {
        ck_assert_int_lt(nc, 16);
        float lane[64] = {0};
        for (size_t i = c; i < n && i < c + 512; i++)
            lane[(i - c) % 64] += eta0 / sqrtf(K + g[i] * g[i]);
        for (int j = 0; j < 64; j++)
            chunk[nc] += lane[nc == rev_chunk ? 63 - j : j];
    }
    if (swap >= 0) {
        double t = chunk[swap];
        chunk[swap] = chunk[swap + 1];
        chunk[swap + 1] = t;
    }
    double sum = 0;
    for (int k = 0; k < nc; k++)
        sum += chunk[k];
    return sum;
}

/* The logged mean rate's sum, to the bit, on a tensor of 10 chunks and a
 * ragged tail (the optimizer sums them in batches of 4 pending chunks: 4 +
 * 4 + 3). Rates are about 1e-3 but for lane 0 of chunks 3 and 4 (about
 * 1e9), so that the double sums round: the test first checks that another
 * order of the lanes of chunk 4, or of chunks 4 and 5, gives other bits. */
START_TEST(test_rate_sum_order)
{
    const size_t n = 10 * 512 + 37;
    float *theta = calloc(n, sizeof *theta), *grad = malloc(n * sizeof *grad);
    ck_assert(theta && grad);
    for (size_t i = 0; i < n; i++)
        grad[i] = i == 3 * 512 || i == 4 * 512
                      ? 1e-11f
                      : (float)(10.0 * (1.0 + (double)((i * 7919) % 1009) / 1009.0));
    const float eta0 = (float)0.01, K = (float)1e-20;
    const double want = rate_sum_in_order(grad, n, eta0, K, -1, -1);
    ck_assert(rate_sum_in_order(grad, n, eta0, K, 4, -1) != want);
    ck_assert(rate_sum_in_order(grad, n, eta0, K, -1, 4) != want);

    struct amx_param_tensor t = {"layer1.weights", 1, false, "encoder", theta, grad, n, NULL};
    const struct pv p[] = {{"K", 1e-20}, {0}};
    struct amx_rule_binding b =
        make_binding("all", make_spec("current-gradient", 0.01, 0, AMX_CLOCK_EPOCH, p), 1, 1);
    struct amx_optimizer *opt = NULL;
    ck_assert_int_eq(amx_optimizer_init(&opt, &t, 1, &b, 1, NULL), AMX_OK);
    amx_optimizer_epoch_begin(opt, 0);
    amx_optimizer_step(opt);
    struct amx_rate_stats st = amx_optimizer_group_stats(opt, 0);
    ck_assert_double_eq(st.count, (double)n);
    ck_assert_msg(st.sum == want, "rate sum %.17g, in the documented order %.17g", st.sum, want);
    amx_optimizer_free(opt);
    free(theta);
    free(grad);
}
END_TEST

/* Rule state is allocated only where it is read: current-gradient with
 * window: step none, with window: epoch one float per parameter (as AdaGrad),
 * a momentum one more; the step reading moves theta as before. */
START_TEST(test_state_only_where_read)
{
    const size_t n = 1024; /* a multiple of 16: no rounding */
    float *theta = calloc(n, sizeof *theta), *grad = malloc(n * sizeof *grad);
    ck_assert(theta && grad);
    for (size_t i = 0; i < n; i++)
        grad[i] = (float)i / 1024.0f - 0.5f;
    struct amx_param_tensor t = {"layer1.weights", 1, false, "encoder", theta, grad, n, NULL};
    const struct pv step[] = {{"K", 1}, {"window", 0}, {0}},
                    epoch[] = {{"K", 1}, {"window", 1}, {0}}, k1[] = {{"K", 1}, {0}};
    const struct {
        const char *rule;
        const struct pv *p;
        double mu;
        size_t want;
    } cases[] = {{"current-gradient", step, 0, 0},
                 {"current-gradient", epoch, 0, n},
                 {"current-gradient", step, 0.9, n},
                 {"adagrad", k1, 0, n},
                 {"constant", NULL, 0, 0}};
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        memset(theta, 0, n * sizeof *theta);
        struct amx_rule_binding b = make_binding(
            "all", make_spec(cases[c].rule, 0.01, cases[c].mu, AMX_CLOCK_EPOCH, cases[c].p), 1, 1);
        struct amx_optimizer *opt = NULL;
        ck_assert_int_eq(amx_optimizer_init(&opt, &t, 1, &b, 1, NULL), AMX_OK);
        ck_assert_msg(amx_optimizer_state_floats(opt) == cases[c].want, "%s case %zu: %zu floats",
                      cases[c].rule, c, amx_optimizer_state_floats(opt));
        amx_optimizer_epoch_begin(opt, 0);
        amx_optimizer_step(opt);
        amx_optimizer_step(opt);
        if (c == 0) /* window: step, no state: two updates of eta0 / sqrt(1 + g^2) */
            for (size_t i = 0; i < n; i++) {
                float r = 0.01f / sqrtf(1.0f + grad[i] * grad[i]);
                ck_assert_float_eq(theta[i], -(r * grad[i]) - r * grad[i]);
            }
        amx_optimizer_free(opt);
    }
    free(theta);
    free(grad);
}
END_TEST

/* AdaMix as written in an experiment: two groups, each with its own rule and
 * its own statistics, each tensor moved by its group's rule. */
START_TEST(test_adamix_groups)
{
    const int sizes[] = {6, 4, 2};
    struct amx_param_tensor t[8];
    float *storage;
    size_t nt = make_net(sizes, 3, t, &storage);
    const struct pv pk[] = {{"K", 1}, {0}}, pp[] = {{"r", 10}, {"c", 1}, {0}};
    struct amx_rule_binding b[2] = {
        make_binding("weights", make_spec("current-gradient", 0.01, 0, AMX_CLOCK_EPOCH, pk), 2, 5),
        make_binding("biases", make_spec("power", 0.01, 0, AMX_CLOCK_EPOCH, pp), 3, 5)};
    for (size_t i = 0; i < nt; i++)
        for (size_t j = 0; j < t[i].n; j++)
            t[i].grad[j] = 2.0f;
    struct amx_optimizer *opt = NULL;
    ck_assert_int_eq(amx_optimizer_init(&opt, t, nt, b, 2, NULL), AMX_OK);
    ck_assert_uint_eq(amx_optimizer_group_count(opt), 2);
    ck_assert_str_eq(amx_optimizer_group_name(opt, 0), "weights");
    ck_assert_str_eq(amx_optimizer_group_name(opt, 1), "biases");
    ck_assert_ptr_null(amx_optimizer_group_name(opt, 2));
    size_t nw = 0, nb = 0;
    for (size_t i = 0; i < nt; i++)
        *(t[i].is_bias ? &nb : &nw) += t[i].n;
    for (int e = 0; e < 3; e++) {
        amx_optimizer_epoch_begin(opt, e);
        amx_optimizer_step(opt);
    }
    /* after 3 epochs of one update each with g = 2 */
    const double w_step = 0.01 / sqrt(1 + 4.0) * 2;
    const double b_steps = 0.01 * 2 * (1 + 1 / 1.1 + 1 / 1.2);
    for (size_t i = 0; i < nt; i++)
        for (size_t j = 0; j < t[i].n; j++)
            ck_assert(close_to(t[i].theta[j], t[i].is_bias ? -b_steps : -3 * w_step, 1e-6, 0));
    struct amx_rate_stats sw = amx_optimizer_group_stats(opt, 0);
    struct amx_rate_stats sb = amx_optimizer_group_stats(opt, 1);
    ck_assert_double_eq(sw.count, (double)nw);
    ck_assert_double_eq(sb.count, (double)nb);
    ck_assert(close_to(sw.sum / sw.count, 0.01 / sqrt(5.0), 1e-6, 0));
    ck_assert(close_to(sb.sum / sb.count, 0.01 / 1.2, 1e-6, 0));
    amx_optimizer_free(opt);
    free(storage);
}
END_TEST

/* ---- selectors and coverage -------------------------------------------- */

START_TEST(test_selector_syntax)
{
    const char *good[] = {"all",
                          "weights",
                          "biases",
                          "encoder",
                          "decoder",
                          "encoder.weights",
                          "encoder.biases",
                          "decoder.weights",
                          "decoder.biases",
                          "layer1",
                          "layer12",
                          "layer3.weights",
                          "layer8.biases"};
    const char *bad[] = {"",         "All",         "layer",           "layer0",      "layer01",
                         "layer-1",  "layer1.",     "layer1.weight",   "layer1.bias", "encoder.",
                         "encoders", "all.weights", "weights.encoder", "decoder.all", "layer1x",
                         "layer 1",  "bias"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        ck_assert_msg(amx_selector_valid(good[i]), "'%s' should be valid", good[i]);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ck_assert_msg(!amx_selector_valid(bad[i]), "'%s' should be invalid", bad[i]);
    ck_assert(!amx_selector_valid(NULL));
}
END_TEST

START_TEST(test_selector_precedence)
{
    const int sizes[] = {6, 4, 2}; /* layers 1-2 encoder, 3-4 decoder */
    struct amx_param_tensor t[8];
    float *storage;
    size_t nt = make_net(sizes, 3, t, &storage);
    struct amx_rule_spec s = make_spec("constant", 0.1, 0, AMX_CLOCK_EPOCH, NULL);
    struct amx_rule_binding b[] = {
        make_binding("all", s, 1, 1),            /* 0 */
        make_binding("weights", s, 2, 1),        /* 1 */
        make_binding("encoder.biases", s, 3, 1), /* 2 */
        make_binding("layer4", s, 4, 1),         /* 3 */
        make_binding("layer3.weights", s, 5, 1), /* 4 */
        make_binding("decoder", s, 6, 1),        /* 5 */
        make_binding("layer2.biases", s, 7, 1),  /* 6 */
    };
    int assign[8];
    struct amx_error err;
    ck_assert_int_eq(amx_groups_resolve(t, nt, b, 7, assign, "x.yaml", 9, 3, &err), AMX_OK);
    /* tensors: l1.w l1.b l2.w l2.b l3.w l3.b l4.w l4.b */
    const int want[8] = {1, 2, 1, 6, 4, 5, 3, 3};
    for (int i = 0; i < 8; i++)
        ck_assert_msg(assign[i] == want[i], "%s went to binding %d, expected %d", t[i].name,
                      assign[i], want[i]);

    /* kind-qualified beats bare at the same level */
    struct amx_rule_binding c[] = {
        make_binding("encoder", s, 1, 1), make_binding("encoder.weights", s, 2, 1),
        make_binding("decoder.biases", s, 3, 1), make_binding("decoder", s, 4, 1)};
    ck_assert_int_eq(amx_groups_resolve(t, nt, c, 4, assign, "x.yaml", 9, 3, &err), AMX_OK);
    const int want2[8] = {1, 0, 1, 0, 3, 2, 3, 2};
    for (int i = 0; i < 8; i++)
        ck_assert_int_eq(assign[i], want2[i]);
    free(storage);
}
END_TEST

START_TEST(test_coverage_uncovered)
{
    struct amx_rule_spec s = make_spec("constant", 0.1, 0, AMX_CLOCK_EPOCH, NULL);
    struct amx_rule_binding b[] = {make_binding("weights", s, 12, 7),
                                   make_binding("decoder.biases", s, 13, 7)};
    struct amx_error err;
    memset(&err, 0, sizeof err);
    ck_assert_int_eq(
        amx_groups_check_layers(AMX_TASK_AUTOENCODER, 5, b, 2, "exp.yaml", 10, 3, &err),
        AMX_ERR_CONFIG);
    ck_assert_int_eq(err.code, AMX_ERR_CONFIG);
    ck_assert_str_eq(err.path, "exp.yaml");
    ck_assert_int_eq(err.line, 10);
    ck_assert_int_eq(err.col, 3);
    /* the encoder biases (layers 1-4) are uncovered; decoder ones are covered */
    for (int l = 1; l <= 4; l++) {
        char name[32];
        snprintf(name, sizeof name, "layer%d.biases", l);
        ck_assert_msg(strstr(err.msg, name) != NULL, "message lacks %s: %s", name, err.msg);
    }
    ck_assert_ptr_null(strstr(err.msg, "layer5.biases"));
    ck_assert_ptr_null(strstr(err.msg, "weights,"));

    /* and the optimizer refuses the same, leaving its out-pointer NULL */
    const int sizes[] = {6, 4, 2};
    struct amx_param_tensor t[8];
    float *storage;
    size_t nt = make_net(sizes, 3, t, &storage);
    struct amx_optimizer *opt = (struct amx_optimizer *)&err; /* must be overwritten */
    ck_assert_int_eq(amx_optimizer_init(&opt, t, nt, b, 1, &err), AMX_ERR_CONFIG);
    ck_assert_ptr_null(opt);
    ck_assert_ptr_nonnull(strstr(err.msg, "layer1.biases"));
    free(storage);
}
END_TEST

START_TEST(test_coverage_selector_matches_nothing)
{
    struct amx_rule_spec s = make_spec("constant", 0.1, 0, AMX_CLOCK_EPOCH, NULL);
    struct amx_rule_binding b[] = {make_binding("all", s, 12, 7),
                                   make_binding("layer9.weights", s, 14, 9)};
    struct amx_error err;
    /* 784-1000-500-250-30 unrolled: 8 layers, so layer9 matches nothing */
    ck_assert_int_eq(
        amx_groups_check_layers(AMX_TASK_AUTOENCODER, 5, b, 2, "exp.yaml", 10, 3, &err),
        AMX_ERR_CONFIG);
    ck_assert_ptr_nonnull(strstr(err.msg, "layer9.weights"));
    ck_assert_ptr_nonnull(strstr(err.msg, "8 layers"));
    ck_assert_str_eq(err.path, "exp.yaml");
    ck_assert_int_eq(err.line, 14); /* the entry's own place */
    ck_assert_int_eq(err.col, 9);
    /* layer8 exists */
    snprintf(b[1].selector, sizeof b[1].selector, "layer8.weights");
    ck_assert_int_eq(
        amx_groups_check_layers(AMX_TASK_AUTOENCODER, 5, b, 2, "exp.yaml", 10, 3, &err), AMX_OK);
    /* a malformed selector is refused too */
    snprintf(b[1].selector, sizeof b[1].selector, "layer8.weight");
    ck_assert_int_eq(
        amx_groups_check_layers(AMX_TASK_AUTOENCODER, 5, b, 2, "exp.yaml", 10, 3, &err),
        AMX_ERR_CONFIG);
    ck_assert_ptr_nonnull(strstr(err.msg, "layer8.weight"));
    /* too few layer sizes */
    ck_assert_int_eq(
        amx_groups_check_layers(AMX_TASK_AUTOENCODER, 1, b, 1, "exp.yaml", 10, 3, &err),
        AMX_ERR_CONFIG);
}
END_TEST

START_TEST(test_coverage_twice)
{
    struct amx_rule_spec s = make_spec("constant", 0.1, 0, AMX_CLOCK_EPOCH, NULL);
    struct amx_rule_binding b[] = {make_binding("all", s, 1, 1), make_binding("layer2", s, 2, 1),
                                   make_binding("layer2", s, 3, 1)};
    struct amx_error err;
    ck_assert_int_eq(amx_groups_check_layers(AMX_TASK_AUTOENCODER, 3, b, 3, "e.yaml", 9, 1, &err),
                     AMX_ERR_CONFIG);
    ck_assert_ptr_nonnull(strstr(err.msg, "layer2.weights"));
    ck_assert_ptr_nonnull(strstr(err.msg, "layer2.biases"));
    ck_assert_ptr_nonnull(strstr(err.msg, "twice"));
    ck_assert_ptr_null(strstr(err.msg, "layer1."));
    ck_assert_int_eq(err.line, 3);
}
END_TEST

START_TEST(test_coverage_ok_shapes)
{
    struct amx_rule_spec s = make_spec("constant", 0.1, 0, AMX_CLOCK_EPOCH, NULL);
    struct amx_error err;
    struct amx_rule_binding adamix[] = {make_binding("weights", s, 1, 1),
                                        make_binding("biases", s, 2, 1)};
    ck_assert_int_eq(amx_groups_check_layers(AMX_TASK_AUTOENCODER, 5, adamix, 2, "e", 1, 1, &err),
                     AMX_OK);
    struct amx_rule_binding parts[] = {make_binding("encoder", s, 1, 1),
                                       make_binding("decoder", s, 2, 1)};
    ck_assert_int_eq(amx_groups_check_layers(AMX_TASK_AUTOENCODER, 2, parts, 2, "e", 1, 1, &err),
                     AMX_OK);
    /* an outranked `all` is allowed (it governs no parameter) */
    struct amx_rule_binding shadowed[] = {make_binding("all", s, 1, 1),
                                          make_binding("weights", s, 2, 1),
                                          make_binding("biases", s, 3, 1)};
    ck_assert_int_eq(amx_groups_check_layers(AMX_TASK_AUTOENCODER, 4, shadowed, 3, "e", 1, 1, &err),
                     AMX_OK);
    /* no bindings at all: everything uncovered */
    ck_assert_int_eq(amx_groups_check_layers(AMX_TASK_AUTOENCODER, 2, NULL, 0, "e", 1, 1, &err),
                     AMX_ERR_CONFIG);
    ck_assert_ptr_nonnull(strstr(err.msg, "layer2.biases"));
}
END_TEST

/* ---- the registry -------------------------------------------------------- */

static bool in_range(const struct amx_rule_param_def *d, double v)
{
    if (d->flags & AMX_PARAM_LO_OPEN ? !(v > d->lo) : !(v >= d->lo)) return false;
    if (d->flags & AMX_PARAM_HI_OPEN ? !(v < d->hi) : !(v <= d->hi)) return false;
    if ((d->flags & AMX_PARAM_INTEGER) && v != floor(v)) return false;
    return true;
}

START_TEST(test_registry)
{
    const char *expected[] = {"constant", "power-exponential", "exponential", "step", "adagrad",
                              "adadec",   "current-gradient",  "rmsprop",     "adam"};
    const size_t n = amx_rule_count();
    ck_assert_uint_eq(n, sizeof expected / sizeof expected[0]);
    for (size_t k = 0; k < sizeof expected / sizeof expected[0]; k++) {
        const struct amx_rule *r = amx_rule_find(expected[k]);
        ck_assert_msg(r != NULL, "rule %s missing", expected[k]);
        ck_assert_str_eq(r->name, expected[k]);
    }
    ck_assert_ptr_eq(amx_rule_find("power"), amx_rule_find("power-exponential"));
    ck_assert_ptr_null(amx_rule_find("Power"));
    ck_assert_ptr_null(amx_rule_find("adamix"));
    ck_assert_ptr_null(amx_rule_find(""));
    ck_assert_ptr_null(amx_rule_find(NULL));
    ck_assert_ptr_null(amx_rule_at(n));
    for (size_t i = 0; i < n; i++) {
        const struct amx_rule *r = amx_rule_at(i);
        ck_assert_ptr_nonnull(r);
        ck_assert_ptr_eq(amx_rule_find(r->name), r);
        if (r->alias) ck_assert_ptr_eq(amx_rule_find(r->alias), r);
        ck_assert_ptr_nonnull(r->update);
        ck_assert_ptr_nonnull(r->summary);
        ck_assert_int_le(r->n_params, AMX_RULE_MAX_PARAMS);
        ck_assert_int_ge(r->state_floats, 0);
        for (size_t j = 0; j < i; j++) { /* names and aliases unique */
            const struct amx_rule *q = amx_rule_at(j);
            ck_assert_str_ne(r->name, q->name);
            if (q->alias) ck_assert_str_ne(r->name, q->alias);
            if (r->alias) ck_assert_str_ne(r->alias, q->name);
        }
        struct amx_rule_spec s;
        memset(&s, 0x5a, sizeof s);
        amx_rule_spec_defaults(&s, r);
        ck_assert_ptr_eq(s.rule, r);
        ck_assert(s.eta0 > 0);
        ck_assert(s.momentum == 0);
        ck_assert_int_eq(s.per, AMX_CLOCK_EPOCH);
        for (int k = 0; k < r->n_params; k++) {
            const struct amx_rule_param_def *d = &r->params[k];
            ck_assert_int_eq(amx_rule_param_index(r, d->name), k);
            ck_assert_ptr_nonnull(d->help);
            ck_assert_msg(in_range(d, s.p[k]), "%s.%s default %g out of its range", r->name,
                          d->name, s.p[k]);
            ck_assert(s.p[k] == d->def);
            if (d->choices) { /* an enumerated parameter: index range = choices */
                int nc = 0;
                while (d->choices[nc])
                    nc++;
                ck_assert(d->lo == 0 && d->hi == nc - 1 && (d->flags & AMX_PARAM_INTEGER));
            }
        }
        for (int k = r->n_params; k < AMX_RULE_MAX_PARAMS; k++)
            ck_assert(s.p[k] == 0);
        ck_assert_int_eq(amx_rule_param_index(r, "no-such-parameter"), -1);
    }
    /* the parameters the experiment language documents */
    ck_assert_int_ge(amx_rule_param_index(amx_rule_find("power"), "r"), 0);
    ck_assert_int_ge(amx_rule_param_index(amx_rule_find("power"), "c"), 0);
    ck_assert_int_ge(amx_rule_param_index(amx_rule_find("current-gradient"), "K"), 0);
    ck_assert_int_ge(amx_rule_param_index(amx_rule_find("current-gradient"), "window"), 0);
    ck_assert_int_ge(amx_rule_param_index(amx_rule_find("adadec"), "gamma"), 0);
    ck_assert_int_eq(amx_rule_param_index(amx_rule_find("constant"), "eta0"), -1);
    ck_assert_int_eq(amx_rule_param_index(NULL, "r"), -1);
}
END_TEST

/* A parameter set with momentum gets a zeroed velocity: the first update with
 * momentum equals the plain update, the second adds mu times the first. */
START_TEST(test_momentum_first_updates)
{
    float theta[3] = {1, 2, 3}, grad[3] = {0.5f, -1, 2};
    struct amx_param_tensor t = {"layer1.weights", 1, false, "encoder", theta, grad, 3, NULL};
    struct amx_rule_binding b =
        make_binding("all", make_spec("constant", 0.1, 0.9, AMX_CLOCK_EPOCH, NULL), 1, 1);
    struct amx_optimizer *opt = NULL;
    ck_assert_int_eq(amx_optimizer_init(&opt, &t, 1, &b, 1, NULL), AMX_OK);
    amx_optimizer_epoch_begin(opt, 0);
    amx_optimizer_step(opt);
    ck_assert(close_to(theta[0], 1 - 0.05, 1e-6, 0));
    ck_assert(close_to(theta[2], 3 - 0.2, 1e-6, 0));
    amx_optimizer_step(opt);
    ck_assert(close_to(theta[0], 1 - 0.05 - (0.9 * 0.05 + 0.05), 1e-6, 0));
    ck_assert(close_to(theta[1], 2 + 0.1 + (0.9 * 0.1 + 0.1), 1e-6, 0));
    amx_optimizer_free(opt);
    amx_optimizer_free(NULL); /* safe on NULL */
}
END_TEST

/* The bf16 copies (docs/backends.md): with theta16 given, every rule case (both
 * clocks, with and without momentum) leaves theta16[i] == amx_bf16_bits of
 * theta[i] after every update, and theta itself bit for bit where it would
 * be without the copies (the copy is written beside the f32 path, never
 * instead of it). n = 1100 spans two chunks and a partial one of the
 * adaptive rules' loops; one wild gradient makes a NaN theta, whose copy
 * must be a NaN too. */
START_TEST(test_bf16_copies_kept)
{
    const struct rule_case *c = &rule_cases[_i];
    enum { N = 1100 };
    float *theta[2], *grad = malloc(N * sizeof *grad);
    uint16_t *t16 = malloc(N * sizeof *t16);
    theta[0] = malloc(N * sizeof(float));
    theta[1] = malloc(N * sizeof(float));
    ck_assert(grad && t16 && theta[0] && theta[1]);
    struct amx_optimizer *opt[2] = {NULL, NULL};
    for (int m = 0; m < 2; m++) {
        for (size_t i = 0; i < N; i++)
            theta[m][i] = (float)(0.5 - 0.001 * (double)i);
        struct amx_param_tensor t = {"layer1.weights", 1,    false, "encoder",
                                     theta[m],         grad, N,     m ? t16 : NULL};
        struct amx_rule_binding b =
            make_binding("all", make_spec(c->rule, 0.05, c->mu, c->per, c->p), 1, 1);
        ck_assert_int_eq(amx_optimizer_init(&opt[m], &t, 1, &b, 1, NULL), AMX_OK);
    }
    memset(t16, 0xff, N * sizeof *t16); /* the update must write every copy */
    long step = 0;
    for (int e = 0; e < 3; e++) {
        for (int m = 0; m < 2; m++)
            amx_optimizer_epoch_begin(opt[m], e);
        for (int k = 0; k < 4; k++, step++) {
            for (size_t i = 0; i < N; i++)
                grad[i] = (float)grad_of(step, i);
            if (e == 2 && k == 3) grad[7] = INFINITY; /* theta[7] becomes inf or NaN */
            for (int m = 0; m < 2; m++)
                amx_optimizer_step(opt[m]);
            ck_assert_msg(memcmp(theta[0], theta[1], N * sizeof(float)) == 0,
                          "%s: theta with the bf16 copies differs from theta without", c->rule);
            for (size_t i = 0; i < N; i++) {
                uint16_t want = amx_bf16_bits(theta[1][i]);
                ck_assert_msg(t16[i] == want ||
                                  (isnan(theta[1][i]) && isnan(amx_bf16_float(t16[i]))),
                              "%s update %ld: theta16[%zu] = 0x%04x, bf16 of %.9g is 0x%04x",
                              c->rule, step, i, t16[i], theta[1][i], want);
            }
        }
    }
    for (int m = 0; m < 2; m++) {
        amx_optimizer_free(opt[m]);
        free(theta[m]);
    }
    free(grad);
    free(t16);
}
END_TEST

/* PyTorch's ReduceLROnPlateau (torch/optim/lr_scheduler.py) written again
 * here from its source, in its own shape: a scheduler object whose
 * is_better uses rel_epsilon = 1 - threshold or best - threshold,
 * num_bad_epochs, cooldown_counter and _reduce_lr over one param group. */
struct torch_plateau {
    double factor, threshold, min_lr, eps, lr, best;
    long patience, cooldown, cooldown_counter, num_bad_epochs;
    bool rel;
};

static bool torch_is_better(const struct torch_plateau *t, double a)
{
    if (t->rel) {
        double rel_epsilon = 1.0 - t->threshold;
        return a < t->best * rel_epsilon;
    }
    return a < t->best - t->threshold;
}

static void torch_step(struct torch_plateau *t, double metrics)
{
    double current = metrics;
    if (torch_is_better(t, current)) {
        t->best = current;
        t->num_bad_epochs = 0;
    } else {
        t->num_bad_epochs += 1;
    }
    if (t->cooldown_counter > 0) { /* in_cooldown */
        t->cooldown_counter -= 1;
        t->num_bad_epochs = 0;
    }
    if (t->num_bad_epochs > t->patience) {
        double old_lr = t->lr;
        double new_lr = old_lr * t->factor > t->min_lr ? old_lr * t->factor : t->min_lr;
        if (old_lr - new_lr > t->eps) t->lr = new_lr;
        t->cooldown_counter = t->cooldown;
        t->num_bad_epochs = 0;
    }
}

struct plateau_case {
    const char *name;
    double factor;
    long patience;
    double threshold;
    bool rel;
    long cooldown;
    double min_lr, eps, lr0;
    int reductions; /* how many reductions the list causes (so that it exercises them) */
};

static const double val_errors[] = {10.0,  9.0,   9.0,    8.995, 8.99,  9.5,   8.98,  8.98,  8.97,
                                    8.97,  8.969, 8.9,    8.9,   8.9,   8.9,   8.9,   8.9,   8.9,
                                    8.9,   8.9,   8.8999, 8.89,  NAN,   8.89,  8.89,  8.89,  8.89,
                                    8.89,  8.89,  8.89,   8.889, 8.889, 8.889, 8.889, 8.889, 8.889,
                                    8.889, 8.889, 8.889,  8.889, 8.889, 8.889, 8.889, 8.889};

static const struct plateau_case plateau_cases[] = {
    {"defaults (patience 10)", 0.1, 10, 1e-4, true, 0, 0, 1e-8, 0.1, 1},
    {"rel threshold", 0.5, 1, 1e-3, true, 0, 0, 1e-8, 0.1, 17},
    {"abs threshold", 0.5, 1, 0.005, false, 0, 0, 1e-8, 0.1, 17},
    {"cooldown", 0.5, 0, 1e-4, true, 2, 0, 1e-8, 0.1, 14},
    {"min_lr", 0.5, 0, 1e-4, true, 0, 0.02, 1e-8, 0.1, 3},
    {"eps skips small reductions", 0.5, 0, 1e-4, true, 0, 0, 0.01, 0.1, 3},
    {"patience 0, abs 0", 0.9, 0, 0, false, 1, 0.001, 1e-8, 1.0, 19},
};
#define N_PLATEAU_CASES (int)(sizeof plateau_cases / sizeof *plateau_cases)

START_TEST(test_plateau_against_torch)
{
    const struct plateau_case *c = &plateau_cases[_i];
    struct amx_plateau pl;
    amx_plateau_defaults(&pl);
    pl.on = true;
    pl.p[AMX_PLATEAU_FACTOR] = c->factor;
    pl.p[AMX_PLATEAU_PATIENCE] = (double)c->patience;
    pl.p[AMX_PLATEAU_THRESHOLD] = c->threshold;
    pl.p[AMX_PLATEAU_THRESHOLD_MODE] = c->rel ? 0 : 1;
    pl.p[AMX_PLATEAU_COOLDOWN] = (double)c->cooldown;
    pl.p[AMX_PLATEAU_MIN_LR] = c->min_lr;
    pl.p[AMX_PLATEAU_EPS] = c->eps;
    struct amx_plateau_state s;
    amx_plateau_start(&s, c->lr0);
    struct torch_plateau t = {.factor = c->factor,
                              .threshold = c->threshold,
                              .min_lr = c->min_lr,
                              .eps = c->eps,
                              .lr = c->lr0,
                              .best = INFINITY,
                              .patience = c->patience,
                              .cooldown = c->cooldown,
                              .rel = c->rel};
    int reductions = 0;
    double prev = c->lr0;
    for (size_t e = 0; e < sizeof val_errors / sizeof *val_errors; e++) {
        double got = amx_plateau_step(&pl, &s, val_errors[e]);
        torch_step(&t, val_errors[e]);
        ck_assert_msg(got == t.lr, "%s, epoch %zu: eta0 %.17g, PyTorch's lr %.17g", c->name, e + 1,
                      got, t.lr);
        ck_assert(got >= c->min_lr);
        reductions += got != prev;
        prev = got;
    }
    ck_assert_msg(reductions == c->reductions, "%s: %d reductions, the list was made for %d",
                  c->name, reductions, c->reductions);
}
END_TEST

/* Worked by hand from PyTorch's documentation: patience 1, factor 0.5,
 * threshold 0.1 (rel), cooldown 1, min_lr 0.2. */
START_TEST(test_plateau_by_hand)
{
    struct amx_plateau pl;
    amx_plateau_defaults(&pl);
    ck_assert(pl.p[AMX_PLATEAU_FACTOR] == 0.1 && pl.p[AMX_PLATEAU_PATIENCE] == 10 &&
              pl.p[AMX_PLATEAU_THRESHOLD] == 1e-4 && pl.p[AMX_PLATEAU_THRESHOLD_MODE] == 0 &&
              pl.p[AMX_PLATEAU_COOLDOWN] == 0 && pl.p[AMX_PLATEAU_MIN_LR] == 0 &&
              pl.p[AMX_PLATEAU_EPS] == 1e-8);
    pl.p[AMX_PLATEAU_FACTOR] = 0.5;
    pl.p[AMX_PLATEAU_PATIENCE] = 1;
    pl.p[AMX_PLATEAU_THRESHOLD] = 0.1;
    pl.p[AMX_PLATEAU_COOLDOWN] = 1;
    pl.p[AMX_PLATEAU_MIN_LR] = 0.2;
    /* best 10; 9.5 is not below 9 (bad 1); 9.2 (bad 2 > 1: 1 -> 0.5,
     * cooldown 1); 9.1 (bad, but cooling down: bad 0); 9.05 (bad 1); 9.0
     * (bad 2: 0.5 -> 0.25, cooldown 1); 8.0 improves (cooldown ends); 7.9,
     * 7.8 (bad 1, 2: 0.25 -> max(0.125, 0.2) = 0.2); then 0.2 stays (a
     * reduction by 0 is none) */
    const double v[] = {10, 9.5, 9.2, 9.1, 9.05, 9.0, 8.0, 7.9, 7.8, 7.7, 7.6, 7.5, 7.4};
    const double want[] = {1, 1, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25, 0.2, 0.2, 0.2, 0.2, 0.2};
    struct amx_plateau_state s;
    amx_plateau_start(&s, 1.0);
    for (size_t e = 0; e < sizeof v / sizeof *v; e++)
        ck_assert_msg(amx_plateau_step(&pl, &s, v[e]) == want[e], "epoch %zu: %.17g, want %g",
                      e + 1, s.eta, want[e]);
}
END_TEST

/* Kaldi's steps/nnet/train_scheduler.sh written again as the script runs,
 * over a list of cross-validation losses (loss[0]: the initial network's):
 * per iteration, accepted or not, the learning rate after it, and the
 * iteration it finished at (0: max_iters reached). */
struct kaldi_trace {
    bool accepted[32];
    double lr_after[32];
    int finished;
};

static void kaldi_scheduler(const double *cv, int max_iters, int min_iters, int keep_lr_iters,
                            double start_halving_impr, double end_halving_impr,
                            double halving_factor, double learn_rate, struct kaldi_trace *t)
{
    double loss = cv[0];
    int halving = 0;
    t->finished = 0;
    for (int iter = 1; iter <= max_iters; iter++) {
        double loss_new = cv[iter];
        double loss_prev = loss;
        if (loss_new < loss || iter <= keep_lr_iters || iter <= min_iters) {
            loss = loss_new;
            t->accepted[iter] = true; /* nnet accepted */
        } else {
            t->accepted[iter] = false; /* nnet rejected */
        }
        t->lr_after[iter] = learn_rate;
        if (iter <= keep_lr_iters) continue;
        double rel_impr = (loss_prev - loss) / loss_prev;
        if (halving == 1 && rel_impr < end_halving_impr) {
            if (iter <= min_iters) continue; /* we were supposed to finish, but we continue */
            t->finished = iter;              /* finished, too small rel. improvement */
            break;
        }
        if (rel_impr < start_halving_impr) halving = 1;
        if (halving == 1) learn_rate = learn_rate * halving_factor;
        t->lr_after[iter] = learn_rate;
    }
}

struct newbob_case {
    const char *name;
    int max_iters, min_iters, keep_lr_iters;
    int finished;     /* where the list makes it finish (0: max_iters), so it exercises that */
    int rejected;     /* how many iterations the list makes it reject */
    const double *cv; /* the losses: cv_losses when NULL */
};

static const double cv_losses[] = {10.0, 8.0,  6.5,  6.0,  6.1,   5.95, 5.94,  5.939,
                                   5.90, 5.89, 5.95, 5.88, 5.879, 5.87, 5.869, 5.868};

static const double cv_between[] = {10.0, 8.0, 6.0, 6.1, 6.05, 5.9, 5.8, 5.7,
                                    5.6,  5.5, 5.4, 5.3, 5.2,  5.1, 5.0, 4.9};

static const struct newbob_case newbob_cases[] = {
    {"defaults", 15, 0, 0, 7, 1, NULL},
    {"min_iters", 15, 7, 0, 10, 1, NULL},
    {"keep_lr_iters", 15, 0, 5, 7, 0, NULL},
    {"max_iters", 4, 0, 0, 0, 1, NULL},
    {"min_iters past the end", 15, 14, 0, 15, 0, NULL},
    /* a loss between the kept one and the rejected one is rejected too */
    {"rejected twice", 15, 0, 0, 4, 2, cv_between},
};

START_TEST(test_newbob_against_kaldi)
{
    const struct newbob_case *c = &newbob_cases[_i];
    const double *cv_losses_ = c->cv ? c->cv : cv_losses;
    struct kaldi_trace t;
    memset(&t, 0, sizeof t);
    kaldi_scheduler(cv_losses_, c->max_iters, c->min_iters, c->keep_lr_iters, 0.01, 0.001, 0.5, 0.1,
                    &t);
    ck_assert_msg(t.finished == c->finished,
                  "%s: the script finished at %d, the list was made for %d", c->name, t.finished,
                  c->finished);
    struct amx_newbob nb = {.start_halving_impr = 0.01,
                            .end_halving_impr = 0.001,
                            .min_iters = c->min_iters,
                            .keep_lr_iters = c->keep_lr_iters};
    struct amx_newbob_state s;
    amx_newbob_start(&s, cv_losses_[0]);
    double lr = 0.1;
    int finished = 0, rejected = 0;
    for (int iter = 1; iter <= c->max_iters; iter++) {
        struct amx_newbob_decision d = amx_newbob_after(&nb, &s, iter, cv_losses_[iter]);
        ck_assert_msg(d.keep == t.accepted[iter], "%s, iter %d: keep %d, the script %d", c->name,
                      iter, d.keep, t.accepted[iter]);
        rejected += !d.keep;
        if (d.halve) lr *= 0.5;
        if (d.stop) {
            finished = iter;
            break;
        }
        ck_assert_msg(lr == t.lr_after[iter], "%s, iter %d: rate %g, the script %g", c->name, iter,
                      lr, t.lr_after[iter]);
    }
    ck_assert_int_eq(finished, t.finished);
    ck_assert_msg(rejected == c->rejected, "%s: %d rejected, the list was made for %d", c->name,
                  rejected, c->rejected);
}
END_TEST

/* the optimizer's state (AdaGrad's sums, momentum) and update count go
 * back bit for bit: updates after a restore repeat those after the save */
START_TEST(test_optimizer_state_restored)
{
    enum { N = 37 };
    float theta[N], grad[N], theta_saved[N], after[N];
    for (int i = 0; i < N; i++)
        theta[i] = 0.01f * (float)i;
    struct amx_param_tensor t = {"layer1.weights", 1, false, NULL, theta, grad, N, NULL};
    struct amx_rule_binding b = {.selector = "all"};
    amx_rule_spec_defaults(&b.spec, amx_rule_find("adagrad"));
    b.spec.eta0 = 0.1;
    b.spec.momentum = 0.5;
    struct amx_optimizer *opt;
    struct amx_error err;
    ck_assert_int_eq(amx_optimizer_init(&opt, &t, 1, &b, 1, &err), AMX_OK);
    size_t nf = amx_optimizer_state_floats(opt);
    ck_assert_uint_ge(nf, 2 * N); /* sums and velocity */
    float *state = malloc(nf * sizeof *state);
    long step;
    amx_optimizer_epoch_begin(opt, 0);
    for (int k = 0; k < 3; k++) {
        for (int i = 0; i < N; i++)
            grad[i] = sinf((float)(i + 7 * k));
        amx_optimizer_step(opt);
    }
    amx_optimizer_state_save(opt, state, &step);
    ck_assert_int_eq(step, 3);
    memcpy(theta_saved, theta, sizeof theta);
    for (int pass = 0; pass < 2; pass++) {
        for (int k = 0; k < 4; k++) {
            for (int i = 0; i < N; i++)
                grad[i] = cosf((float)(i + 3 * k));
            amx_optimizer_step(opt);
        }
        if (pass == 0) {
            memcpy(after, theta, sizeof theta);
            amx_optimizer_state_load(opt, state, step);
            memcpy(theta, theta_saved, sizeof theta);
            long again;
            float *copy = malloc(nf * sizeof *copy);
            amx_optimizer_state_save(opt, copy, &again);
            ck_assert_int_eq(again, 3); /* the update count too */
            ck_assert(memcmp(copy, state, nf * sizeof *copy) == 0);
            free(copy);
        }
    }
    ck_assert(memcmp(after, theta, sizeof theta) == 0);
    free(state);
    amx_optimizer_free(opt);
}
END_TEST

static Suite *optim_suite(void)
{
    Suite *s = suite_create("optim");
    TCase *tc = tcase_create("rules");
    tcase_add_loop_test(tc, test_rule_against_hand, 0, N_RULE_CASES);
    tcase_add_test(tc, test_rule_against_hand_long);
    tcase_add_test(tc, test_adadec_gamma1_c0_is_adagrad);
    tcase_add_test(tc, test_current_gradient_first_update_is_adagrad);
    tcase_add_test(tc, test_power_c0_is_constant);
    tcase_add_test(tc, test_momentum_first_updates);
    tcase_add_loop_test(tc, test_bf16_copies_kept, 0, N_RULE_CASES);
    suite_add_tcase(s, tc);
    tc = tcase_create("stats");
    tcase_add_test(tc, test_schedule_mean_closed_form);
    tcase_add_test(tc, test_adagrad_min_max);
    tcase_add_test(tc, test_rate_sum_order);
    tcase_add_test(tc, test_state_only_where_read);
    tcase_add_test(tc, test_adamix_groups);
    suite_add_tcase(s, tc);
    tc = tcase_create("groups");
    tcase_add_test(tc, test_selector_syntax);
    tcase_add_test(tc, test_selector_precedence);
    tcase_add_test(tc, test_coverage_uncovered);
    tcase_add_test(tc, test_coverage_selector_matches_nothing);
    tcase_add_test(tc, test_coverage_twice);
    tcase_add_test(tc, test_coverage_ok_shapes);
    suite_add_tcase(s, tc);
    tc = tcase_create("plateau");
    tcase_add_loop_test(tc, test_plateau_against_torch, 0, N_PLATEAU_CASES);
    tcase_add_test(tc, test_plateau_by_hand);
    tcase_add_loop_test(tc, test_newbob_against_kaldi, 0,
                        (int)(sizeof newbob_cases / sizeof *newbob_cases));
    tcase_add_test(tc, test_optimizer_state_restored);
    suite_add_tcase(s, tc);
    tc = tcase_create("registry");
    tcase_add_test(tc, test_registry);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(optim_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
