/* The tables a paper shows, built once as a table model (rpt_paper_tables)
 * and written two ways: report.md, Markdown ready to paste (README.md's and docs/'s
 * tables are copied from these files by tools/readme-tables.sh), and the
 * tables of report.html (html.c).
 *
 *   Final and best <metric>      per point: repeats, diverged, mean +- sd of
 *                                final, best (at the least validation error)
 *                                and oracle (the smallest over epochs)
 *   Paired difference to <b>     per point: point - baseline, 95% interval, p, wins
 *   Time to target               per point and target: reached, medians, paired epochs
 *
 * In report.md each table is a section that starts with its "## " heading;
 * the heading lines are the anchors tools/readme-tables.sh looks for, so
 * their first words stay as they are. Numbers: errors and differences with 3
 * decimals, p with 2 significant digits, seconds with 1 decimal. Labels are
 * user text: a '|' in a Markdown cell is escaped so it cannot split it. */
#define _POSIX_C_SOURCE 200809L
#include "internal.h"

#include "adamix/fsutil.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the table model ---- */

static char *text_of(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *text_of(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *s = n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (!s) return NULL;
    va_start(ap, fmt);
    vsnprintf(s, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return s;
}

static void table_start(struct rpt_table *t, size_t n_cols, const char *const *head,
                        const char *align)
{
    memset(t, 0, sizeof *t);
    t->n_cols = n_cols;
    for (size_t j = 0; j < n_cols && j < RPT_TABLE_MAX_COLS; j++) {
        t->head[j] = head[j];
        t->align[j] = align[j];
    }
}

/* Adds one row of n_cols cells (each malloc'ed, or NULL for out of memory). */
static void table_row(struct rpt_table *t, char **cells)
{
    if (t->failed) goto drop;
    if (t->n_rows == t->cap) {
        size_t cap = t->cap ? 2 * t->cap : 16;
        char **p = realloc(t->cells, cap * t->n_cols * sizeof *p);
        if (!p) {
            t->failed = true;
            goto drop;
        }
        t->cells = p;
        t->cap = cap;
    }
    for (size_t j = 0; j < t->n_cols; j++) {
        t->cells[t->n_rows * t->n_cols + j] = cells[j];
        if (!cells[j]) t->failed = true;
    }
    t->n_rows++;
    return;
drop:
    for (size_t j = 0; j < t->n_cols; j++)
        free(cells[j]);
}

void rpt_tables_free(struct rpt_table *t, size_t n)
{
    for (size_t k = 0; k < n; k++) {
        for (size_t i = 0; i < t[k].n_rows * t[k].n_cols; i++)
            free(t[k].cells[i]);
        free(t[k].cells);
        free(t[k].title);
        free(t[k].intro);
        free(t[k].outro);
    }
}

/* ---- numbers ---- */

static char *mean_sd(struct rpt_stat s)
{
    if (s.n == 0) return text_of("n/a");
    if (s.n == 1) return text_of("%.3f", s.mean);
    return text_of("%.3f ± %.3f", s.mean, s.std);
}

/* "-0.123 [-0.300, 0.054]" or "-0.123" (one pair) or "n/a" (none). */
static char *diff_ci(const struct amx_paired *st, const char *fmt_one)
{
    char m[48], lo[48], hi[48];
    if (st->n == 0) return text_of("n/a");
    snprintf(m, sizeof m, fmt_one, st->mean);
    if (st->n < 2) return text_of("%s", m);
    snprintf(lo, sizeof lo, fmt_one, st->ci_lo);
    snprintf(hi, sizeof hi, fmt_one, st->ci_hi);
    return text_of("%s [%s, %s]", m, lo, hi);
}

static char *p_text(const struct amx_paired *st)
{
    if (st->n == 0 || isnan(st->p)) return text_of("n/a");
    return text_of("%.2g (%s)", st->p, st->test == AMX_TEST_WILCOXON ? "W" : "S");
}

static char *secs(double x)
{
    if (isinf(x) || isnan(x)) return text_of("not reached");
    return text_of("%.1f", x);
}

enum measure { FINAL, BEST, ORACLE };

static struct rpt_stat metric_stat(const struct rpt_ctx *ctx, size_t p, enum measure m)
{
    const struct rpt_point *pt = &ctx->points[p];
    double *x = ctx->scratch;
    size_t n = 0;
    for (size_t k = 0; k < pt->n_runs; k++) {
        const struct rpt_run *r = &ctx->runs[pt->runs[k]];
        if (!r->diverged) x[n++] = m == BEST ? r->m_best : m == ORACLE ? r->m_oracle : r->m_final;
    }
    return rpt_stat_of(x, n);
}

/* ---- the three tables ---- */

static void final_best_table(struct rpt_ctx *ctx, struct rpt_table *t)
{
    static const char *const head[] = {"point", "repeats", "diverged", "final", "best", "oracle"};
    table_start(t, 6, head, "lrrrrr");
    t->title = text_of("Final and best %s", ctx->metric);
    if (ctx->has_validation)
        t->intro = text_of(
            "Mean over the repeats that did not diverge ± sample standard deviation; final: after "
            "the last epoch (or the epoch early stopping restored, or newbob last kept); best: at "
            "the epoch of least "
            "validation error (the earliest of ties), the epoch a run can choose without the "
            "test set; oracle: the smallest %s over epochs 0..E, an epoch chosen on the "
            "measured values themselves (for test_error, on the test set: no real training "
            "has it).",
            ctx->metric);
    else
        t->intro = text_of(
            "Mean over the repeats that did not diverge ± sample standard deviation; final: after "
            "the last epoch. No validation split (data.validation): no honest best exists, as "
            "no epoch can be chosen without the test set (best: —); oracle: the smallest %s over "
            "epochs 0..E, an epoch chosen on the measured values themselves.",
            ctx->metric);
    for (size_t p = 0; p < ctx->n_points; p++) {
        const struct rpt_point *pt = &ctx->points[p];
        char *c[6] = {text_of("%s", pt->label),
                      text_of("%zu", pt->n_runs),
                      text_of("%zu", pt->n_diverged),
                      mean_sd(metric_stat(ctx, p, FINAL)),
                      ctx->has_validation ? mean_sd(metric_stat(ctx, p, BEST)) : text_of("—"),
                      mean_sd(metric_stat(ctx, p, ORACLE))};
        table_row(t, c);
    }
}

/* One line per paired point on its final metric: "AdaMix: 0.242 lower than
 * AdaGrad [0.152, 0.332] (-6.3% of its mean 3.850), lower in 5/5 repeats, p
 * 0.062 (S); 5 pairs cannot give a p below 0.062": the interval that of the
 * distance, and where the pairs are too few for a p below 2/2^n (the sign
 * test), that. Lines end with '\n'. */
static void verdict_line(struct rpt_ctx *ctx, const struct rpt_pair *pr, struct amx_buf *b)
{
    const char *label = ctx->points[pr->point].label;
    const struct rpt_pairing *f = &pr->final;
    const char *base = ctx->points[pr->base].label;
    struct rpt_stat bs = metric_stat(ctx, pr->base, false);
    if (f->st.n == 0) {
        amx_buf_printf(b,
                       "%s against %s: no pair of finished repeats (%zu diverged, %zu "
                       "missing)\n",
                       label, base, f->n_diverged, f->n_missing);
        return;
    }
    double m = f->st.mean;
    const char *dir = m < 0 ? "lower than" : m > 0 ? "higher than" : "level with";
    amx_buf_printf(b, "%s: %.3f %s %s", label, fabs(m), dir, base);
    if (f->st.n >= 2 && m != 0)
        amx_buf_printf(b, " [%.3f, %.3f]", m < 0 ? -f->st.ci_hi : f->st.ci_lo,
                       m < 0 ? -f->st.ci_lo : f->st.ci_hi);
    if (bs.n > 0 && bs.mean != 0 && isfinite(bs.mean))
        amx_buf_printf(b, " (%+.2g%% of its mean %.3f)", 100.0 * m / bs.mean, bs.mean);
    size_t pairs = f->st.n + f->n_diverged;
    amx_buf_printf(b, ", %s in %zu/%zu repeats", m > 0 ? "higher" : "lower",
                   m > 0 ? f->losses : f->wins, pairs);
    if (!isnan(f->st.p))
        amx_buf_printf(b, ", p %.2g (%s)", f->st.p, f->st.test == AMX_TEST_WILCOXON ? "W" : "S");
    if (f->st.test != AMX_TEST_WILCOXON)
        amx_buf_printf(b, "; %zu pair%s cannot give a p below %.2g", f->st.n_nonzero,
                       f->st.n_nonzero == 1 ? "" : "s", 2.0 / ldexp(1.0, (int)f->st.n_nonzero));
    amx_buf_printf(b, "\n");
}

static char *verdict_lines(struct rpt_ctx *ctx, const struct rpt_comparison *cmp)
{
    struct amx_buf b = {0};
    for (size_t i = 0; i < cmp->n_pairs; i++)
        verdict_line(ctx, &cmp->pairs[i], &b);
    if (b.failed) {
        amx_buf_free(&b);
        return NULL;
    }
    return b.data ? b.data : text_of("%s", "");
}

/* The first words of a paired table's intro: which pairs it holds. */
static char *pairs_held(const struct rpt_ctx *ctx, const struct rpt_comparison *cmp)
{
    switch (cmp->kind) {
    case RPT_CMP_SERIES:
        return text_of("Point − baseline (%s = %s with the same other sweep values)",
                       ctx->in->axes[ctx->series_axis], cmp->name);
    case RPT_CMP_POINT:
        return text_of("Point − baseline (the point %s with the same other sweep values)",
                       cmp->name);
    case RPT_CMP_ALL_PAIRS:
        break;
    }
    return text_of("Every pair of points, the later − the earlier in the order of the first table");
}

static void paired_table(struct rpt_ctx *ctx, struct rpt_table *t, const struct rpt_comparison *cmp)
{
    static const char *const head[] = {
        "point", "pairs", "diverged",        "missing", "Δ final (95% CI)",
        "p",     "beat",  "Δ best (95% CI)", "p",       "beat"};
    table_start(t, 10, head, "lrrrlrrlrr");
    bool all = cmp->kind == RPT_CMP_ALL_PAIRS;
    if (all)
        t->title = text_of("Paired difference, all pairs");
    else
        t->title = text_of("Paired difference to the baseline, %s", cmp->name);
    char *held = pairs_held(ctx, cmp);
    t->intro = text_of(
        "%s, repeat by repeat, so "
        "negative is a lower error than the baseline; the mean with its 95%% Student t interval; "
        "p exact and two-sided: Wilcoxon signed-rank (W) with at least %d non-zero differences, "
        "else the sign test (S); beat: repeats in which the point's error was lower, of the "
        "pairs and the diverged pairs (a diverged run loses to one that finished). %s",
        held ? held : "", AMX_WILCOXON_MIN_N,
        ctx->has_validation ? "Best: at each run's epoch of least validation error."
                            : "No validation split: no honest best, so no Δ best (—).");
    if (!held) {
        free(t->intro);
        t->intro = NULL;
    }
    free(held);
    for (size_t i = 0; i < cmp->n_pairs; i++) {
        const struct rpt_pair *pr = &cmp->pairs[i];
        const struct rpt_pairing *f = &pr->final, *g = &pr->best;
        const char *label = ctx->points[pr->point].label;
        char *c[10] = {all ? text_of("%s − %s", label, ctx->points[pr->base].label)
                           : text_of("%s", label),
                       text_of("%zu", f->st.n),
                       text_of("%zu", f->n_diverged),
                       text_of("%zu", f->n_missing),
                       diff_ci(&f->st, "%.3f"),
                       p_text(&f->st),
                       text_of("%zu/%zu", f->wins, f->st.n + f->n_diverged),
                       ctx->has_validation ? diff_ci(&g->st, "%.3f") : text_of("—"),
                       ctx->has_validation ? p_text(&g->st) : text_of("—"),
                       ctx->has_validation ? text_of("%zu/%zu", g->wins, g->st.n + g->n_diverged)
                                           : text_of("—")};
        table_row(t, c);
    }
    t->outro = verdict_lines(ctx, cmp);
    t->wants_outro = true;
}

/* Targets that no run reached get one line rather than a row of "not
 * reached" per point: targets set for a longer or larger run than this one
 * (a cut-down copy) say so at once. reached[k]: some run reached target k. */
static char *unreached_note(const struct rpt_ctx *ctx, bool reached[AMX_MAX_TARGETS])
{
    const struct amx_report_config *rep = ctx->in->report;
    size_t nt = rep->n_targets < AMX_MAX_TARGETS ? rep->n_targets : AMX_MAX_TARGETS;
    double lowest = NAN;
    for (size_t i = 0; i < ctx->in->n_runs; i++) {
        const struct rpt_run *r = &ctx->runs[i];
        /* the lowest value any run reached: the oracle, whatever "best" means */
        if (r->complete && isfinite(r->m_oracle) && (isnan(lowest) || r->m_oracle < lowest))
            lowest = r->m_oracle;
    }
    struct amx_buf b = {0};
    size_t n = 0;
    for (size_t k = 0; k < nt; k++) {
        reached[k] = false;
        for (size_t p = 0; p < ctx->n_points && !reached[k]; p++)
            reached[k] = ctx->points[p].targets[k].reached > 0;
        if (reached[k]) continue;
        char target[32];
        rpt_fmt_num(target, rep->targets[k]);
        amx_buf_printf(&b, "%s%s", n++ ? ", " : "", target);
    }
    if (n) {
        char low[32];
        snprintf(low, sizeof low, "%.3f", lowest);
        amx_buf_printf(&b,
                       ": no run reached %s (the lowest %s of any run: %s), so %s not in "
                       "the table\n",
                       n == 1 ? "this target" : "these targets", ctx->metric,
                       isnan(lowest) ? "none" : low, n == 1 ? "it is" : "they are");
        char *s = text_of("Target%s %s", n == 1 ? "" : "s", b.data ? b.data : "");
        amx_buf_free(&b);
        return s;
    }
    amx_buf_free(&b);
    return text_of("%s", "");
}

static void target_table(struct rpt_ctx *ctx, struct rpt_table *t)
{
    const struct amx_report_config *rep = ctx->in->report;
    static const char *const head[] = {"point",
                                       "target",
                                       "reached",
                                       "median epoch",
                                       "median s (fine-tuning)",
                                       "median s (with pretraining)",
                                       "Δ epochs (95% CI)",
                                       "p",
                                       "earlier"};
    table_start(t, ctx->paired ? 9 : 6, head, "lrrrrrlrr");
    t->title = text_of("Time to target");
    t->intro = text_of(
        "The first epoch at which %s is <= the target (epoch 0: before fine-tuning), median over "
        "the repeats (not reached: the median repeat did not reach it); seconds of fine-tuning "
        "(curve.csv rows 1..e, training and evaluation) and with the pretraining (rows 0..e).%s",
        ctx->metric,
        ctx->paired ? " Δ epochs: point − baseline over the repeats where both reached it; "
                      "earlier: repeats in which the point reached it first (or alone), of the "
                      "repeats where either did."
                    : "");
    bool reached[AMX_MAX_TARGETS];
    t->outro = unreached_note(ctx, reached);
    t->wants_outro = true;
    for (size_t q = 0; q < ctx->n_points; q++) {
        const struct rpt_point *pt = &ctx->points[q];
        for (size_t k = 0; k < rep->n_targets && k < AMX_MAX_TARGETS; k++) {
            if (!reached[k]) continue; /* said once, under the table */
            const struct rpt_target_stat *ts = &pt->targets[k];
            char target[32];
            rpt_fmt_num(target, rep->targets[k]);
            char *c[9] = {text_of("%s", pt->label),
                          text_of("%s", target),
                          text_of("%zu/%zu", ts->reached, ts->n),
                          isinf(ts->median_epoch) || isnan(ts->median_epoch)
                              ? text_of("not reached")
                              : text_of("%g", ts->median_epoch),
                          secs(ts->median_finetune_seconds),
                          secs(ts->median_total_seconds),
                          NULL,
                          NULL,
                          NULL};
            if (ctx->paired) {
                if (pt->baseline == RPT_NONE) {
                    c[6] = text_of("%s", pt->is_baseline ? "(baseline)" : "");
                    c[7] = text_of("%s", "");
                    c[8] = text_of("%s", "");
                } else {
                    const struct rpt_pairing *pe = &ts->epochs;
                    c[6] = diff_ci(&pe->st, "%.1f");
                    c[7] = p_text(&pe->st);
                    c[8] = text_of("%zu/%zu", pe->wins, pe->wins + pe->losses + pe->ties);
                }
            }
            table_row(t, c);
        }
    }
}

enum amx_status rpt_paper_tables(struct rpt_ctx *ctx, struct rpt_table tables[RPT_MAX_TABLES],
                                 size_t *n, struct amx_error *err)
{
    *n = 0;
    final_best_table(ctx, &tables[(*n)++]);
    for (size_t k = 0; k < ctx->n_comparisons; k++)
        if (ctx->comparisons[k].n_pairs > 0)
            paired_table(ctx, &tables[(*n)++], &ctx->comparisons[k]);
    if (ctx->in->report->n_targets > 0) target_table(ctx, &tables[(*n)++]);
    for (size_t k = 0; k < *n; k++)
        if (tables[k].failed || !tables[k].title || !tables[k].intro ||
            (tables[k].wants_outro && !tables[k].outro)) {
            rpt_tables_free(tables, *n);
            *n = 0;
            return amx_fail(err, AMX_ERR_NOMEM, "", 0, 0, "out of memory");
        }
    return AMX_OK;
}

/* ---- report.md ---- */

static void md_cell(struct amx_buf *b, const char *s)
{
    amx_buf_append(b, "| ", 2);
    for (const char *p = s; *p; p++) {
        if (*p == '|')
            amx_buf_append(b, "\\|", 2);
        else if (*p == '\n' || *p == '\r')
            amx_buf_append(b, " ", 1);
        else
            amx_buf_append(b, p, 1);
    }
    amx_buf_append(b, " ", 1);
}

static void md_table(struct amx_buf *b, const struct rpt_table *t)
{
    amx_buf_printf(b, "## %s\n\n%s\n\n", t->title, t->intro);
    for (size_t j = 0; j < t->n_cols; j++)
        amx_buf_printf(b, "| %s ", t->head[j]);
    amx_buf_printf(b, "|\n");
    for (size_t j = 0; j < t->n_cols; j++)
        amx_buf_printf(b, "|%s", t->align[j] == 'r' ? "---:" : "---");
    amx_buf_printf(b, "|\n");
    for (size_t i = 0; i < t->n_rows; i++) {
        for (size_t j = 0; j < t->n_cols; j++) {
            const char *s = t->cells[i * t->n_cols + j];
            if (j == 0 || s[0])
                md_cell(b, s);
            else
                amx_buf_append(b, "| ", 2); /* an empty cell: "| |" */
        }
        amx_buf_printf(b, "|\n");
    }
    amx_buf_printf(b, "\n");
    if (t->outro && t->outro[0]) {
        for (const char *l = t->outro; *l;) {
            size_t n = strcspn(l, "\n");
            amx_buf_printf(b, "- %.*s\n", (int)n, l);
            l += n + (l[n] == '\n');
        }
        amx_buf_printf(b, "\n");
    }
}

void rpt_report_preamble(const struct rpt_ctx *ctx, struct amx_buf *b)
{
    const struct amx_report_input *in = ctx->in;
    const struct amx_report_result *res = ctx->res;
    amx_buf_printf(b,
                   "Experiment `%s`: %zu of %zu runs complete (%zu diverged), %d repeat%s per "
                   "point. Measure: %s, %s.",
                   in->experiment_name, res->n_complete, res->n_listed, res->n_diverged,
                   ctx->repeats, ctx->repeats == 1 ? "" : "s", ctx->metric,
                   rpt_metric_meaning(ctx->metric, in->task));
}

static bool is_report_override(const char *o)
{
    return strncmp(o, "report.", 7) == 0;
}

size_t rpt_run_overrides(const struct rpt_ctx *ctx, struct amx_buf *b)
{
    size_t n = 0;
    for (size_t i = 0; i < ctx->in->n_overrides; i++) {
        const char *o = ctx->in->overrides[i];
        if (is_report_override(o)) continue;
        amx_buf_printf(b, "%s%s", n++ ? ", " : "", o);
    }
    return n;
}

void rpt_overrides_note(const struct rpt_ctx *ctx, struct amx_buf *b)
{
    const struct amx_report_input *in = ctx->in;
    size_t n_run = 0, n_rep = 0;
    for (size_t i = 0; i < in->n_overrides; i++)
        is_report_override(in->overrides[i]) ? n_rep++ : n_run++;
    if (n_run) {
        amx_buf_printf(b, "Computed with overrides of the experiment file: ");
        for (size_t i = 0, k = 0; i < in->n_overrides; i++)
            if (!is_report_override(in->overrides[i]))
                amx_buf_printf(b, "%s`%s`", k++ ? ", " : "", in->overrides[i]);
        amx_buf_printf(b, " (the title and description are the file's, not theirs).");
    }
    if (n_rep) {
        amx_buf_printf(b, "%sReport settings given on the command line: ", n_run ? " " : "");
        for (size_t i = 0, k = 0; i < in->n_overrides; i++)
            if (is_report_override(in->overrides[i]))
                amx_buf_printf(b, "%s`%s`", k++ ? ", " : "", in->overrides[i]);
        amx_buf_printf(b, ".");
    }
}

const char *rpt_metric_meaning(const char *metric, enum amx_task task)
{
    size_t n = strlen(metric);
    if (n > 6 && strcmp(metric + n - 6, "_error") == 0)
        return task == AMX_TASK_CLASSIFIER
                   ? "the classification error (the percentage of images whose most probable "
                     "class is not their label)"
                   : "the reconstruction error (squared pixel error summed over an image, "
                     "averaged over the images)";
    if (n > 5 && strcmp(metric + n - 5, "_loss") == 0)
        return "the loss the network minimises, averaged over the images";
    if (strncmp(metric, "rate_", 5) == 0)
        return "a column of curve.csv: the learning rates of one parameter group at the end of "
               "each epoch (mean, smallest or largest over its parameters); \"best\" is the "
               "smallest value";
    return "a column of curve.csv; \"best\" is the smallest value";
}

enum amx_status rpt_write_report_md(struct rpt_ctx *ctx, struct amx_error *err)
{
    const struct amx_report_input *in = ctx->in;
    struct rpt_table tables[RPT_MAX_TABLES];
    size_t n = 0;
    enum amx_status st = rpt_paper_tables(ctx, tables, &n, err);
    if (st != AMX_OK) return st;
    struct amx_buf b = {0};
    amx_buf_printf(&b, "# %s\n\n", in->report->title[0] ? in->report->title : in->experiment_name);
    if (in->description && in->description[0]) amx_buf_printf(&b, "%s\n\n", in->description);
    size_t before = b.len;
    rpt_overrides_note(ctx, &b);
    if (b.len > before) amx_buf_printf(&b, "\n\n");
    rpt_report_preamble(ctx, &b);
    amx_buf_printf(&b, "\n\n");
    for (size_t k = 0; k < n; k++)
        md_table(&b, &tables[k]);
    rpt_tables_free(tables, n);
    return rpt_write_buf(ctx, "report.md", &b, err);
}
