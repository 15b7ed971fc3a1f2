/* report.md: the tables a paper shows, in Markdown, ready to paste (the
 * README's tables are copied from these files by tools/readme-tables.sh).
 *
 *   ## Final and best <metric>      per point: repeats, diverged, mean +- sd
 *   ## Paired difference to <b>     per point: point - baseline, 95% interval, p, wins
 *   ## Time to target               per point and target: reached, medians, paired epochs
 *
 * Each section starts with its "## " heading and ends before the next one;
 * the heading lines are the anchors tools/readme-tables.sh looks for, so
 * their first words stay as they are. Numbers: errors and differences with 3
 * decimals, p with 2 significant digits, seconds with 1 decimal. Labels are
 * user text: a '|' in one is escaped so it cannot split a cell. */
#define _POSIX_C_SOURCE 200809L
#include "internal.h"

#include "adamix/fsutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void cell_text(struct amx_buf *b, const char *s)
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

static void mean_sd(char *buf, size_t size, struct rpt_stat s)
{
    if (s.n == 0)
        snprintf(buf, size, "n/a");
    else if (s.n == 1)
        snprintf(buf, size, "%.3f", s.mean);
    else
        snprintf(buf, size, "%.3f ± %.3f", s.mean, s.std);
}

/* "-0.123 [-0.300, 0.054]" or "-0.123" (one pair) or "n/a" (none). */
static void diff_ci(char *buf, size_t size, const struct amx_paired *st, const char *fmt_one)
{
    char m[32], lo[32], hi[32];
    if (st->n == 0) {
        snprintf(buf, size, "n/a");
        return;
    }
    snprintf(m, sizeof m, fmt_one, st->mean);
    if (st->n < 2) {
        snprintf(buf, size, "%s", m);
        return;
    }
    snprintf(lo, sizeof lo, fmt_one, st->ci_lo);
    snprintf(hi, sizeof hi, fmt_one, st->ci_hi);
    snprintf(buf, size, "%s [%s, %s]", m, lo, hi);
}

static void p_text(char *buf, size_t size, const struct amx_paired *st)
{
    if (st->n == 0 || isnan(st->p))
        snprintf(buf, size, "n/a");
    else
        snprintf(buf, size, "%.2g (%s)", st->p, st->test == AMX_TEST_WILCOXON ? "W" : "S");
}

static void secs(char *buf, size_t size, double x)
{
    if (isinf(x) || isnan(x))
        snprintf(buf, size, "not reached");
    else
        snprintf(buf, size, "%.1f", x);
}

static struct rpt_stat metric_stat(const struct rpt_ctx *ctx, size_t p, bool best)
{
    const struct rpt_point *pt = &ctx->points[p];
    double *x = ctx->scratch;
    size_t n = 0;
    for (size_t k = 0; k < pt->n_runs; k++) {
        const struct rpt_run *r = &ctx->runs[pt->runs[k]];
        if (!r->diverged) x[n++] = best ? r->m_best : r->m_final;
    }
    return rpt_stat_of(x, n);
}

static void final_best_table(struct rpt_ctx *ctx, struct amx_buf *b)
{
    char f[80], g[80];
    amx_buf_printf(b, "## Final and best %s\n\n", ctx->metric);
    amx_buf_printf(b, "Mean over the repeats that did not diverge ± sample standard deviation; "
                      "final: after the last epoch, best: the smallest over epochs 0..E.\n\n");
    amx_buf_printf(b, "| point | repeats | diverged | final | best |\n");
    amx_buf_printf(b, "|---|---:|---:|---:|---:|\n");
    for (size_t p = 0; p < ctx->n_points; p++) {
        const struct rpt_point *pt = &ctx->points[p];
        mean_sd(f, sizeof f, metric_stat(ctx, p, false));
        mean_sd(g, sizeof g, metric_stat(ctx, p, true));
        cell_text(b, pt->label);
        amx_buf_printf(b, "| %zu | %zu | %s | %s |\n", pt->n_runs, pt->n_diverged, f, g);
    }
    amx_buf_printf(b, "\n");
}

static void paired_table(struct rpt_ctx *ctx, struct amx_buf *b)
{
    const struct amx_report_input *in = ctx->in;
    char d1[160], p1[40], d2[160], p2[40];
    amx_buf_printf(b, "## Paired difference to the baseline, %s\n\n", in->report->baseline);
    amx_buf_printf(b,
                   "Point − baseline (%s = %s with the same other sweep values), repeat by "
                   "repeat, so negative is a lower error than the baseline; the mean with its 95%% "
                   "Student t interval; p exact and two-sided: Wilcoxon signed-rank (W) with at "
                   "least %d non-zero differences, else the sign test (S); beat: repeats in which "
                   "the point's error was lower, of the pairs and the diverged pairs (a diverged "
                   "run loses to one that finished).\n\n",
                   in->axes[ctx->series_axis], in->report->baseline, AMX_WILCOXON_MIN_N);
    amx_buf_printf(b, "| point | pairs | diverged | missing | Δ final (95%% CI) | p | beat | "
                      "Δ best (95%% CI) | p | beat |\n");
    amx_buf_printf(b, "|---|---:|---:|---:|---|---:|---:|---|---:|---:|\n");
    for (size_t p = 0; p < ctx->n_points; p++) {
        const struct rpt_point *pt = &ctx->points[p];
        if (pt->baseline == RPT_NONE) continue;
        const struct rpt_pairing *f = &pt->final, *g = &pt->best;
        diff_ci(d1, sizeof d1, &f->st, "%.3f");
        p_text(p1, sizeof p1, &f->st);
        diff_ci(d2, sizeof d2, &g->st, "%.3f");
        p_text(p2, sizeof p2, &g->st);
        cell_text(b, pt->label);
        amx_buf_printf(b, "| %zu | %zu | %zu | %s | %s | %zu/%zu | %s | %s | %zu/%zu |\n", f->st.n,
                       f->n_diverged, f->n_missing, d1, p1, f->wins, f->st.n + f->n_diverged, d2,
                       p2, g->wins, g->st.n + g->n_diverged);
    }
    amx_buf_printf(b, "\n");
}

static void target_table(struct rpt_ctx *ctx, struct amx_buf *b)
{
    const struct amx_report_config *rep = ctx->in->report;
    char t[40], e[40], s1[40], s2[40], d[160], p[40];
    amx_buf_printf(b, "## Time to target\n\n");
    amx_buf_printf(b,
                   "The first epoch at which %s is <= the target (epoch 0: before fine-tuning), "
                   "median over the repeats (not reached: the median repeat did not reach it); "
                   "seconds of fine-tuning (curve.csv rows 1..e, training and evaluation) and "
                   "with the pretraining (rows 0..e).%s\n\n",
                   ctx->metric,
                   ctx->paired ? " Δ epochs: point − baseline over the repeats where both reached "
                                 "it; earlier: repeats in which the point reached it first (or "
                                 "alone), of the repeats where either did."
                               : "");
    amx_buf_printf(b,
                   "| point | target | reached | median epoch | median s (fine-tuning) | "
                   "median s (with pretraining) |%s\n",
                   ctx->paired ? " Δ epochs (95% CI) | p | earlier |" : "");
    amx_buf_printf(b, "|---|---:|---:|---:|---:|---:|%s\n", ctx->paired ? "---|---:|---:|" : "");
    for (size_t q = 0; q < ctx->n_points; q++) {
        const struct rpt_point *pt = &ctx->points[q];
        for (size_t k = 0; k < rep->n_targets && k < AMX_MAX_TARGETS; k++) {
            const struct rpt_target_stat *ts = &pt->targets[k];
            rpt_fmt_num(t, rep->targets[k]);
            if (isinf(ts->median_epoch) || isnan(ts->median_epoch))
                snprintf(e, sizeof e, "not reached");
            else
                snprintf(e, sizeof e, "%g", ts->median_epoch);
            secs(s1, sizeof s1, ts->median_finetune_seconds);
            secs(s2, sizeof s2, ts->median_total_seconds);
            cell_text(b, pt->label);
            amx_buf_printf(b, "| %s | %zu/%zu | %s | %s | %s |", t, ts->reached, ts->n, e, s1, s2);
            if (ctx->paired) {
                if (pt->baseline == RPT_NONE) {
                    amx_buf_printf(b, " %s | | |", pt->is_baseline ? "(baseline)" : "");
                } else {
                    const struct rpt_pairing *pe = &ts->epochs;
                    diff_ci(d, sizeof d, &pe->st, "%.1f");
                    p_text(p, sizeof p, &pe->st);
                    amx_buf_printf(b, " %s | %s | %zu/%zu |", d, p, pe->wins,
                                   pe->wins + pe->losses + pe->ties);
                }
            }
            amx_buf_printf(b, "\n");
        }
    }
    amx_buf_printf(b, "\n");
}

enum amx_status rpt_write_report_md(struct rpt_ctx *ctx, struct amx_error *err)
{
    const struct amx_report_input *in = ctx->in;
    const struct amx_report_result *res = ctx->res;
    struct amx_buf b = {0};
    amx_buf_printf(&b, "# %s\n\n", in->report->title[0] ? in->report->title : in->experiment_name);
    if (in->description && in->description[0]) amx_buf_printf(&b, "%s\n\n", in->description);
    amx_buf_printf(&b,
                   "Experiment `%s`: %zu of %zu runs complete (%zu diverged), %d repeat%s per "
                   "point. Measure: %s, the reconstruction error (squared pixel error summed "
                   "over an image, averaged over the images).\n\n",
                   in->experiment_name, res->n_complete, res->n_listed, res->n_diverged,
                   ctx->repeats, ctx->repeats == 1 ? "" : "s", ctx->metric);
    final_best_table(ctx, &b);
    if (ctx->paired) paired_table(ctx, &b);
    if (in->report->n_targets > 0) target_table(ctx, &b);
    char path[AMX_PATH_MAX + 64];
    if (!rpt_path(ctx, path, sizeof path, "report.md")) {
        amx_buf_free(&b);
        return amx_fail(err, AMX_ERR_IO, in->results_dir, 0, 0, "path too long");
    }
    enum amx_status st = b.failed ? amx_fail(err, AMX_ERR_NOMEM, path, 0, 0, "out of memory")
                                  : amx_write_file_atomic(path, b.data, b.len, err);
    amx_buf_free(&b);
    return st;
}
