/* Paired comparison and time to target (report.md; docs/statistics.md).
 *
 * Per run, from its curve: the report metric at the last epoch (final; the
 * restored epoch of early stopping, summary.json's final_epoch, when there
 * is one), at the epoch of least validation error (best: the epoch a run
 * can choose without the test set, the earliest of ties; none without a
 * validation split), its smallest value over epochs 0..E (oracle: chosen on
 * the measured values themselves), and for each target of
 * report.targets the first epoch whose metric is <= the target with the
 * cumulative seconds up to it. curve.csv's `seconds` is per epoch: row 0
 * holds the pretraining (as long as it took when computed) and the first
 * evaluation, row e >= 1 the training and evaluation of epoch e. So
 * "finetune seconds" to epoch e sums rows 1..e and "total seconds" rows 0..e.
 *
 * Per point P other than the baseline, its baseline point B is the one whose
 * series value is report.baseline and whose other sweep values equal P's;
 * report.baseline may instead name a point by sweep values ({a: x, b: y}):
 * then B has those values on the axes named and P's on the others (naming
 * every axis pairs every point with one point).
 * Repeat r of P is paired with repeat r of B (same initial weights, same
 * batches). A repeat where either run is missing (not complete) is counted
 * missing. For the error measures a repeat where either diverged is counted
 * diverged and decided without a difference: a diverged point against a
 * finished baseline is a loss, the reverse a win, both diverged a tie. For
 * time to target, a repeat where only one run reached the target is decided
 * the same way (counted censored); where neither did, it counts as neither. */
#define _POSIX_C_SOURCE 200809L
#include "internal.h"

#include "adamix/fsutil.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static double cell(const struct rpt_run *r, size_t j, size_t e, bool *present)
{
    size_t at = e * r->curve.n_cols + j;
    *present = j != RPT_NONE && e < r->curve.n_rows && r->curve.has[at];
    return *present ? r->curve.v[at] : NAN;
}

/* best: the metric and the test error at the epoch of least validation
 * error (the earliest of ties). */
static void run_best(const struct rpt_ctx *ctx, struct rpt_run *r, size_t mcol)
{
    r->best_valid_epoch = -1;
    r->m_best = r->test_at_best = NAN;
    size_t vcol = rpt_col_index(ctx, "validation_error"), tcol = rpt_col_index(ctx, "test_error");
    size_t jv = vcol == RPT_NONE ? RPT_NONE : r->colmap[vcol];
    size_t last = r->final_epoch >= 0 ? (size_t)r->final_epoch : r->curve.n_rows - 1;
    double least = NAN;
    for (size_t e = 0; jv != RPT_NONE && e < r->curve.n_rows && e <= last; e++) {
        bool present;
        double v = cell(r, jv, e, &present);
        if (present && isfinite(v) && (isnan(least) || v < least)) {
            least = v;
            r->best_valid_epoch = (long)e;
        }
    }
    if (r->best_valid_epoch < 0) return;
    bool present;
    size_t e = (size_t)r->best_valid_epoch;
    if (mcol != RPT_NONE) r->m_best = cell(r, r->colmap[mcol], e, &present);
    if (tcol != RPT_NONE) r->test_at_best = cell(r, r->colmap[tcol], e, &present);
}

static void run_measures(const struct rpt_ctx *ctx, struct rpt_run *r, size_t mcol, size_t scol)
{
    const struct amx_report_config *rep = ctx->in->report;
    r->m_final = r->m_oracle = NAN;
    run_best(ctx, r, mcol);
    memset(r->reach, 0, sizeof r->reach);
    size_t j = mcol == RPT_NONE ? RPT_NONE : r->colmap[mcol];
    size_t js = scol == RPT_NONE ? RPT_NONE : r->colmap[scol];
    if (j == RPT_NONE || r->curve.n_rows == 0) return;
    bool present;
    size_t fin = r->final_epoch >= 0 && (size_t)r->final_epoch < r->curve.n_rows
                     ? (size_t)r->final_epoch
                     : r->curve.n_rows - 1;
    r->m_final = cell(r, j, fin, &present);
    double total = 0.0, finetune = 0.0;
    for (size_t e = 0; e < r->curve.n_rows; e++) {
        bool sp;
        double s = cell(r, js, e, &sp);
        if (sp && isfinite(s)) {
            total += s;
            if (e > 0) finetune += s;
        }
        double v = cell(r, j, e, &present);
        if (!present || !isfinite(v)) continue;
        if (isnan(r->m_oracle) || v < r->m_oracle) r->m_oracle = v;
        for (size_t t = 0; t < rep->n_targets && t < AMX_MAX_TARGETS; t++) {
            struct rpt_reach *h = &r->reach[t];
            if (h->reached || v > rep->targets[t]) continue;
            *h = (struct rpt_reach){true, (long)e, finetune, total};
        }
    }
}

/* The point's complete run of repeat r, or NULL. */
static const struct rpt_run *run_of(const struct rpt_ctx *ctx, size_t p, long r)
{
    const struct rpt_point *pt = &ctx->points[p];
    for (size_t k = 0; k < pt->n_runs; k++)
        if (ctx->runs[pt->runs[k]].repeat == r) return &ctx->runs[pt->runs[k]];
    return NULL;
}

static enum amx_status pairing_init(struct rpt_pairing *pg, size_t n, struct amx_error *err)
{
    memset(pg, 0, sizeof *pg);
    pg->n_repeats = n;
    pg->diff = malloc((n ? n : 1) * sizeof *pg->diff);
    if (!pg->diff) return amx_fail(err, AMX_ERR_NOMEM, "", 0, 0, "out of memory");
    for (size_t i = 0; i < n; i++)
        pg->diff[i] = NAN;
    return AMX_OK;
}

static void decide(struct rpt_pairing *pg, int sign)
{
    if (sign < 0)
        pg->wins++;
    else if (sign > 0)
        pg->losses++;
    else
        pg->ties++;
}

static void pairing_finish(struct rpt_pairing *pg, double *scratch)
{
    size_t n = 0;
    for (size_t i = 0; i < pg->n_repeats; i++)
        if (!isnan(pg->diff[i])) scratch[n++] = pg->diff[i];
    pg->st = amx_paired_stats(scratch, n);
}

/* Final or best metric of one repeat. */
static void pair_error(struct rpt_pairing *pg, size_t i, const struct rpt_run *a,
                       const struct rpt_run *b, bool best)
{
    if (!a || !b) {
        pg->n_missing++;
        return;
    }
    double x = best ? a->m_best : a->m_final, y = best ? b->m_best : b->m_final;
    bool a_bad = a->diverged || !isfinite(x), b_bad = b->diverged || !isfinite(y);
    if (a_bad || b_bad) {
        pg->n_diverged++;
        decide(pg, a_bad == b_bad ? 0 : a_bad ? 1 : -1);
        return;
    }
    pg->diff[i] = x - y;
    decide(pg, (x > y) - (x < y));
}

static void pair_time(struct rpt_pairing *pg, size_t i, const struct rpt_run *a,
                      const struct rpt_run *b, size_t t, bool seconds)
{
    if (!a || !b) {
        pg->n_missing++;
        return;
    }
    const struct rpt_reach *ha = &a->reach[t], *hb = &b->reach[t];
    if (!ha->reached && !hb->reached) {
        pg->n_neither++;
        return;
    }
    if (!ha->reached || !hb->reached) {
        pg->n_censored++;
        decide(pg, ha->reached ? -1 : 1);
        return;
    }
    double x = seconds ? ha->finetune_seconds : (double)ha->epoch;
    double y = seconds ? hb->finetune_seconds : (double)hb->epoch;
    pg->diff[i] = x - y;
    decide(pg, (x > y) - (x < y));
}

/* report.baseline as the sweep values it fixes: vals[a] is the label the
 * baseline point has on axis a, or NULL where it has the paired point's. A
 * series value ("AdaGrad") fixes the series axis; a point ("axis=value, ...",
 * each axis a sweep axis) fixes the axes it names. False, with a warning,
 * for an axis that is not one; vals' strings are malloc'ed. */
static bool block_values(struct rpt_ctx *ctx, const char *block, char **vals, const char **next)
{
    const struct amx_report_input *in = ctx->in;
    const char *p = block;
    bool ok = true;
    while (*p && *p != '|') {
        size_t n = strcspn(p, "\n");
        const char *eq = memchr(p, '=', n);
        const char *k = p, *ke = eq ? eq : p + n;
        while (k < ke && *k == ' ')
            k++;
        while (ke > k && ke[-1] == ' ')
            ke--;
        size_t a = 0;
        if (eq && k == ke) /* "=value": a value of the series axis */
            a = ctx->series_axis;
        else
            while (a < in->n_axes && (strlen(in->axes[a]) != (size_t)(ke - k) ||
                                      strncmp(in->axes[a], k, (size_t)(ke - k)) != 0))
                a++;
        if (ok && (!eq || a == in->n_axes)) {
            rpt_warn(ctx, "report.baseline: %.*s is not a sweep axis; no paired statistics",
                     (int)(ke - k), k);
            ok = false;
        }
        if (ok) {
            const char *v = eq + 1, *ve = p + n;
            while (v < ve && *v == ' ')
                v++;
            while (ve > v && ve[-1] == ' ')
                ve--;
            free(vals[a]);
            if (!(vals[a] = strndup(v, (size_t)(ve - v)))) ok = false;
        }
        p += n + (p[n] == '\n');
    }
    if (*p == '|') p += 1 + (p[1] == '\n');
    *next = p;
    return ok;
}

static bool baseline_values(struct rpt_ctx *ctx, char **vals)
{
    const struct amx_report_input *in = ctx->in;
    const char *b = in->report->baseline_point, *next;
    if (!b[0]) {
        vals[ctx->series_axis] = strdup(in->report->baseline);
        return vals[ctx->series_axis] != NULL;
    }
    if (b[0] == '*') return false; /* all pairs: rpt_comparisons' alone */
    return block_values(ctx, b, vals, &next);
}

static size_t find_baseline(const struct rpt_ctx *ctx, size_t p, char *const *vals)
{
    const struct amx_report_input *in = ctx->in;
    const struct rpt_run *a = &ctx->runs[ctx->points[p].runs[0]];
    for (size_t q = 0; q < ctx->n_points; q++) {
        const struct rpt_run *b = &ctx->runs[ctx->points[q].runs[0]];
        bool match = true;
        for (size_t ax = 0; ax < in->n_axes && match; ax++)
            match = strcmp(b->labels[ax], vals[ax] ? vals[ax] : a->labels[ax]) == 0;
        if (match) return q;
    }
    return RPT_NONE;
}

/* The pairings of point p against point b on final and best. */
static enum amx_status pair_points(struct rpt_ctx *ctx, struct rpt_pair *pr, size_t p, size_t b,
                                   size_t R, double *scratch, struct amx_error *err)
{
    pr->point = p;
    pr->base = b;
    enum amx_status st = pairing_init(&pr->final, R, err);
    if (st == AMX_OK) st = pairing_init(&pr->best, R, err);
    if (st != AMX_OK) return st;
    for (size_t i = 0; i < R; i++) {
        const struct rpt_run *x = run_of(ctx, p, (long)i), *y = run_of(ctx, b, (long)i);
        pair_error(&pr->final, i, x, y, false);
        pair_error(&pr->best, i, x, y, true);
    }
    pairing_finish(&pr->final, scratch);
    pairing_finish(&pr->best, scratch);
    return AMX_OK;
}

/* Whether a baseline block is one series value: a single "=value" line. */
static bool is_series_value(const char *block)
{
    size_t n = strcspn(block, "\n");
    const char *rest = block + n + (block[n] == '\n');
    return block[0] == '=' && (*rest == '\0' || *rest == '|');
}

/* The name of a baseline block, as the tables head it. */
static char *block_name(const char *block)
{
    struct amx_buf b = {0};
    for (const char *l = block; *l && *l != '|';) {
        size_t n = strcspn(l, "\n");
        amx_buf_printf(&b, "%s%.*s", b.len ? ", " : "", (int)(l[0] == '=' ? n - 1 : n),
                       l + (l[0] == '='));
        l += n + (l[n] == '\n');
    }
    if (b.failed || !b.data) {
        amx_buf_free(&b);
        return NULL;
    }
    return b.data;
}

/* One comparison per baseline of report.baseline: its pairs of points. */
static enum amx_status comparisons(struct rpt_ctx *ctx, size_t R, double *scratch,
                                   struct amx_error *err)
{
    const struct amx_report_config *rep = ctx->in->report;
    if ((!rep->baseline[0] && !rep->baseline_point[0]) || ctx->series_axis == RPT_NONE)
        return AMX_OK;
    ctx->comparisons = calloc(AMX_MAX_BASELINES, sizeof *ctx->comparisons);
    char **vals = calloc(ctx->in->n_axes + 1, sizeof *vals);
    size_t np = ctx->n_points;
    enum amx_status st =
        ctx->comparisons && vals ? AMX_OK : amx_fail(err, AMX_ERR_NOMEM, "", 0, 0, "out of memory");
    const char *block = rep->baseline_point[0] ? rep->baseline_point : NULL;
    size_t skipped = 0;
    for (bool first = true; st == AMX_OK && (first || (block && *block)); first = false) {
        if (ctx->n_comparisons == AMX_MAX_BASELINES) {
            skipped++;
            const char *next = block;
            while (*next && *next != '|')
                next += strcspn(next, "\n") + 1;
            block = *next ? next + 1 + (next[1] == '\n') : next;
            continue;
        }
        struct rpt_comparison *c = &ctx->comparisons[ctx->n_comparisons];
        c->pairs = calloc(np * (np ? np : 1) + 1, sizeof *c->pairs);
        if (!c->pairs) {
            st = amx_fail(err, AMX_ERR_NOMEM, "", 0, 0, "out of memory");
            break;
        }
        ctx->n_comparisons++;
        if (block && block[0] == '*') {
            c->kind = RPT_CMP_ALL_PAIRS;
            c->name = strdup("all pairs");
            for (size_t q = 0; q < np && st == AMX_OK; q++)
                for (size_t p = 0; p < q && st == AMX_OK; p++)
                    st = pair_points(ctx, &c->pairs[c->n_pairs++], q, p, R, scratch, err);
            block += strcspn(block, "\n");
            if (*block) block++;
            if (*block == '|') block += 1 + (block[1] == '\n');
            if (!c->name && st == AMX_OK)
                st = amx_fail(err, AMX_ERR_NOMEM, "", 0, 0, "out of memory");
            continue;
        }
        for (size_t a = 0; a < ctx->in->n_axes; a++) {
            free(vals[a]);
            vals[a] = NULL;
        }
        bool ok;
        const char *next = "";
        if (block) {
            c->kind = is_series_value(block) ? RPT_CMP_SERIES : RPT_CMP_POINT;
            c->name = block_name(block);
            ok = block_values(ctx, block, vals, &next);
        } else {
            c->kind = RPT_CMP_SERIES;
            c->name = strdup(rep->baseline);
            ok = (vals[ctx->series_axis] = strdup(rep->baseline)) != NULL;
        }
        block = next;
        if (!c->name) {
            st = amx_fail(err, AMX_ERR_NOMEM, "", 0, 0, "out of memory");
            break;
        }
        for (size_t p = 0; ok && p < np && st == AMX_OK; p++) {
            size_t b = find_baseline(ctx, p, vals);
            if (b != RPT_NONE && b != p)
                st = pair_points(ctx, &c->pairs[c->n_pairs++], p, b, R, scratch, err);
        }
        if (ctx->n_comparisons > 1 && c->n_pairs == 0)
            rpt_warn(ctx, "report.baseline %s: no point pairs with it", c->name);
    }
    if (skipped)
        rpt_warn(ctx, "report.baseline: %zu baseline%s past the first %d not shown", skipped,
                 skipped == 1 ? "" : "s", AMX_MAX_BASELINES);
    if (vals)
        for (size_t a = 0; a < ctx->in->n_axes; a++)
            free(vals[a]);
    free(vals);
    return st;
}

static enum amx_status target_stats(struct rpt_ctx *ctx, size_t p, size_t t, struct amx_error *err)
{
    struct rpt_point *pt = &ctx->points[p];
    struct rpt_target_stat *ts = &pt->targets[t];
    size_t n = pt->n_runs;
    double *e = malloc(3 * (n ? n : 1) * sizeof *e);
    if (!e) return amx_fail(err, AMX_ERR_NOMEM, "", 0, 0, "out of memory");
    double *f = e + n, *g = f + n;
    ts->n = n;
    for (size_t k = 0; k < n; k++) {
        const struct rpt_reach *h = &ctx->runs[pt->runs[k]].reach[t];
        ts->reached += h->reached;
        e[k] = h->reached ? (double)h->epoch : INFINITY;
        f[k] = h->reached ? h->finetune_seconds : INFINITY;
        g[k] = h->reached ? h->total_seconds : INFINITY;
    }
    ts->median_epoch = amx_median(e, n);
    ts->median_finetune_seconds = amx_median(f, n);
    ts->median_total_seconds = amx_median(g, n);
    free(e);
    return AMX_OK;
}

enum amx_status rpt_compute_paired(struct rpt_ctx *ctx, struct amx_error *err)
{
    const struct amx_report_input *in = ctx->in;
    const struct amx_report_config *rep = in->report;
    size_t mcol = rpt_col_index(ctx, ctx->metric), scol = rpt_col_index(ctx, "seconds");
    long max_repeat = -1;
    for (size_t i = 0; i < in->n_runs; i++) {
        struct rpt_run *r = &ctx->runs[i];
        if (!r->complete) continue;
        run_measures(ctx, r, mcol, scol);
        if (r->repeat > max_repeat) max_repeat = r->repeat;
    }
    ctx->repeats = in->repeats > 0 ? in->repeats : (int)(max_repeat + 1);
    size_t nt = rep->n_targets < AMX_MAX_TARGETS ? rep->n_targets : AMX_MAX_TARGETS;
    size_t R = ctx->repeats > 0 ? (size_t)ctx->repeats : 0;
    double *scratch = malloc((R ? R : 1) * sizeof *scratch);
    if (!scratch) return amx_fail(err, AMX_ERR_NOMEM, "", 0, 0, "out of memory");
    bool want = (rep->baseline[0] || rep->baseline_point[0]) && ctx->series_axis != RPT_NONE;
    char **vals = calloc(in->n_axes + 1, sizeof *vals);
    if (!vals) {
        free(scratch);
        return amx_fail(err, AMX_ERR_NOMEM, "", 0, 0, "out of memory");
    }
    bool point_form = rep->baseline_point[0] != '\0';
    if (want && !baseline_values(ctx, vals)) want = false;
    enum amx_status st = AMX_OK;
    bool seen_baseline = false; /* some point has a baseline point, maybe itself */
    for (size_t p = 0; p < ctx->n_points && st == AMX_OK; p++) {
        struct rpt_point *pt = &ctx->points[p];
        pt->baseline = RPT_NONE;
        for (size_t t = 0; t < nt && st == AMX_OK; t++)
            st = target_stats(ctx, p, t, err);
        if (!want || st != AMX_OK) continue;
        size_t b = find_baseline(ctx, p, vals);
        if (b != RPT_NONE) seen_baseline = true;
        if (b == RPT_NONE || b == p) continue;
        pt->baseline = b;
        ctx->points[b].is_baseline = true;
        ctx->paired = true;
        st = pairing_init(&pt->final, R, err);
        if (st == AMX_OK) st = pairing_init(&pt->best, R, err);
        for (size_t t = 0; t < nt && st == AMX_OK; t++) {
            st = pairing_init(&pt->targets[t].epochs, R, err);
            if (st == AMX_OK) st = pairing_init(&pt->targets[t].seconds, R, err);
        }
        if (st != AMX_OK) break;
        for (size_t i = 0; i < R; i++) {
            const struct rpt_run *x = run_of(ctx, p, (long)i), *y = run_of(ctx, b, (long)i);
            pair_error(&pt->final, i, x, y, false);
            if (ctx->has_validation) pair_error(&pt->best, i, x, y, true); /* else none */
            for (size_t t = 0; t < nt; t++) {
                pair_time(&pt->targets[t].epochs, i, x, y, t, false);
                pair_time(&pt->targets[t].seconds, i, x, y, t, true);
            }
        }
        pairing_finish(&pt->final, scratch);
        pairing_finish(&pt->best, scratch);
        for (size_t t = 0; t < nt; t++) {
            pairing_finish(&pt->targets[t].epochs, scratch);
            pairing_finish(&pt->targets[t].seconds, scratch);
        }
    }
    if (st == AMX_OK) st = comparisons(ctx, R, scratch, err);
    free(scratch);
    for (size_t a = 0; a < in->n_axes; a++)
        free(vals[a]);
    free(vals);
    if (want && !ctx->paired && ctx->n_points > 0) {
        const char *axis = point_form ? "sweep values" : in->axes[ctx->series_axis];
        if (!seen_baseline)
            rpt_warn(ctx,
                     "report.baseline \"%s\": no complete run has that %s; no paired statistics",
                     rpt_baseline_text(ctx), axis);
        else
            rpt_warn(ctx,
                     "report.baseline \"%s\": every point is a baseline point (no other value of "
                     "%s has complete runs); no paired statistics",
                     rpt_baseline_text(ctx), axis);
    }
    return st;
}

void rpt_free_paired(struct rpt_ctx *ctx)
{
    for (size_t k = 0; k < ctx->n_comparisons; k++) {
        struct rpt_comparison *c = &ctx->comparisons[k];
        for (size_t i = 0; i < c->n_pairs; i++) {
            free(c->pairs[i].final.diff);
            free(c->pairs[i].best.diff);
        }
        free(c->pairs);
        free(c->name);
    }
    free(ctx->comparisons);
    for (size_t p = 0; p < ctx->n_points; p++) {
        struct rpt_point *pt = &ctx->points[p];
        free(pt->final.diff);
        free(pt->best.diff);
        for (size_t t = 0; t < AMX_MAX_TARGETS; t++) {
            free(pt->targets[t].epochs.diff);
            free(pt->targets[t].seconds.diff);
        }
    }
}
