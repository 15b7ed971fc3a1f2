/* Shared state of one amx_report_build call, between the files of
 * src/report: loading the run files (load.c), pooling repeats into sweep
 * points (points.c), the CSV and JSON tables (tables.c) and the figure
 * (figure.c). Not a public interface. */
#ifndef ADAMIX_REPORT_INTERNAL_H
#define ADAMIX_REPORT_INTERNAL_H

#include "adamix/report.h"
#include "stats.h"

#include <stdbool.h>
#include <stddef.h>

#define RPT_NONE ((size_t)-1)
#define AMX_MAX_BASELINES 8 /* paired tables of one report; more baselines are warned of */

/* One run's curve.csv: a table of numbers with named columns. */
struct rpt_curve {
    size_t n_cols;
    char **cols;        /* header names */
    size_t n_rows;      /* epochs 0 .. n_rows-1 */
    double *v;          /* [n_rows][n_cols]; NAN where empty */
    unsigned char *has; /* [n_rows][n_cols]; 0 where the field was empty */
};

/* When one run first reached one target of the report metric. */
struct rpt_reach {
    bool reached;
    long epoch;              /* first epoch (0 = before fine-tuning) with metric <= target */
    double finetune_seconds; /* seconds of epochs 1..epoch (curve.csv rows 1..epoch) */
    double total_seconds;    /* the same with row 0: pretraining and the first evaluation */
};

struct rpt_run {
    const char *id;
    bool complete; /* summary.json complete (and curve.csv read) */
    char **labels; /* [n_axes] sweep value labels */
    long repeat;
    bool diverged;
    /* summary.json numbers; NAN where null */
    double final_test, best_test, seconds;
    bool no_test;       /* summary.json has no final_test_error: a run without the test set */
    double best_valid;  /* such a run's best_validation_error (at best_epoch) */
    double final_valid; /* and its final_validation_error */
    long best_epoch;
    bool has_best_epoch;
    long epochs;      /* summary.json's "epochs" (curve rows - 1), -1 when absent */
    long final_epoch; /* summary.json's "final_epoch" (early stopping), -1 when absent */
    struct rpt_curve curve;
    size_t *colmap; /* [ctx.n_cols]: this run's column for each union column, or RPT_NONE */
    size_t point;   /* index into ctx.points */
    /* the report metric of this run (paired.c): final (the last row, or
     * final_epoch's), best (at the epoch of least validation error, the
     * earliest of ties; NAN without a validation split) and oracle (the
     * smallest value over the epochs, chosen on the values themselves) */
    double m_final, m_best, m_oracle;
    long best_valid_epoch; /* -1 without a validation split */
    double test_at_best;   /* test_error at best_valid_epoch, NAN without */
    struct rpt_reach reach[AMX_MAX_TARGETS];
    /* summary.json's data.train_sha256 and test_sha256, "" when absent */
    char train_sha[65], test_sha[65];
};

/* One measure of a point against the baseline point, repeat by repeat. */
struct rpt_pairing {
    size_t n_repeats;          /* repeats looked at */
    size_t n_missing;          /* repeats where either run is not complete */
    size_t n_diverged;         /* error measures: repeats where either run diverged */
    size_t n_censored;         /* time measures: repeats where exactly one reached it */
    size_t n_neither;          /* time measures: repeats where neither reached it */
    size_t wins, losses, ties; /* lower than the baseline (earlier), higher, equal */
    double *diff;              /* [n_repeats]: point - baseline, NAN where no pair */
    struct amx_paired st;      /* over the finite diff[] */
};

/* Time to one target over a point's repeats. */
struct rpt_target_stat {
    size_t n, reached;
    double median_epoch, median_finetune_seconds, median_total_seconds; /* inf: not reached */
    struct rpt_pairing epochs, seconds; /* against the baseline (finetune seconds) */
};

struct rpt_point {
    size_t n_runs;
    size_t *runs; /* complete runs of this point, in run order */
    size_t n_diverged;
    size_t n_rows; /* the longest curve of its runs */
    char *label;   /* the figure's line name */
    /* paired.c */
    size_t baseline;  /* the point it is paired with, or RPT_NONE */
    bool is_baseline; /* this point is the baseline of some others */
    struct rpt_pairing final, best;
    struct rpt_target_stat targets[AMX_MAX_TARGETS];
};

/* One pair of points of a comparison: point - base, repeat by repeat. */
struct rpt_pair {
    size_t point, base;
    struct rpt_pairing final, best;
};

/* One baseline of report.baseline (a list gives several) and the pairs it
 * makes: every point with its baseline point, or every pair of points. */
enum rpt_comparison_kind { RPT_CMP_SERIES, RPT_CMP_POINT, RPT_CMP_ALL_PAIRS };
struct rpt_comparison {
    enum rpt_comparison_kind kind;
    char *name; /* the series value, "axis=value, ..." or "all pairs" */
    size_t n_pairs;
    struct rpt_pair *pairs;
};

struct rpt_stat {
    double mean, std; /* NAN when n == 0; std 0 when n == 1 */
    size_t n;
};

struct rpt_ctx {
    const struct amx_report_input *in;
    struct amx_report_result *res;
    struct rpt_run *runs; /* [in->n_runs] */
    size_t n_cols;        /* union of the curve columns, in curves.csv order */
    char **cols;
    bool has_validation;
    bool no_test; /* every complete run measured no test error (a tuning stage) */
    size_t n_points;
    struct rpt_point *points;
    size_t series_axis;                    /* RPT_NONE when there are no axes */
    const char *metric;                    /* curve column the figure shows */
    double *scratch;                       /* [in->n_runs]: the values one statistic pools */
    int repeats;                           /* repeats per point, for pairing */
    bool paired;                           /* a baseline was given and found */
    char baseline_text[AMX_TEXT_MAX + 64]; /* rpt_baseline_text's, made once */
    size_t n_comparisons;                  /* paired.c: one per baseline of report.baseline */
    struct rpt_comparison *comparisons;
};

/* load.c: reads every listed run; fills runs[], counts, the column union. */
enum amx_status rpt_load_runs(struct rpt_ctx *ctx, struct amx_error *err);
/* points.c: groups complete runs into points, names them, statistics. */
enum amx_status rpt_group_points(struct rpt_ctx *ctx, struct amx_error *err);
size_t rpt_col_index(const struct rpt_ctx *ctx, const char *name);
/* Mean and sample sd of column `col` (a union column index) at epoch e over
 * the point's runs that have a finite value there. */
struct rpt_stat rpt_point_epoch_stat(const struct rpt_ctx *ctx, size_t p, size_t col, size_t e);
/* Number of the point's runs whose curve has epoch e. */
size_t rpt_point_epoch_rows(const struct rpt_ctx *ctx, size_t p, size_t e);
struct rpt_stat rpt_stat_of(const double *x, size_t n);
/* paired.c: each run's metric measures and target times; per point the
 * pairing with its baseline point and the target statistics. */
enum amx_status rpt_compute_paired(struct rpt_ctx *ctx, struct amx_error *err);
void rpt_free_paired(struct rpt_ctx *ctx);
/* md.c: the paper tables as a model (report.md and report.html write it) */
#define RPT_TABLE_MAX_COLS 10
#define RPT_MAX_TABLES (2 + AMX_MAX_BASELINES) /* final and best, paired..., targets */
struct rpt_table {
    char *title, *intro; /* heading and the paragraph that says what the numbers are */
    char *outro;         /* NULL, or lines ('\n'-ended) said after the table: the verdicts */
    bool wants_outro;    /* outro NULL is then out of memory */
    size_t n_cols;
    const char *head[RPT_TABLE_MAX_COLS];
    char align[RPT_TABLE_MAX_COLS]; /* 'l' or 'r' */
    size_t n_rows, cap;
    char **cells; /* [n_rows][n_cols], each malloc'ed */
    bool failed;
};
enum amx_status rpt_paper_tables(struct rpt_ctx *ctx, struct rpt_table tables[RPT_MAX_TABLES],
                                 size_t *n, struct amx_error *err);
void rpt_tables_free(struct rpt_table *t, size_t n);
struct amx_buf;
/* "Experiment `x`: N of M runs complete ...", without a final newline. */
void rpt_report_preamble(const struct rpt_ctx *ctx, struct amx_buf *b);
/* The overrides as a sentence ("" when none; report settings apart from
 * those that changed what the runs computed), for report.md and .html. */
void rpt_overrides_note(const struct rpt_ctx *ctx, struct amx_buf *b);
/* The overrides that changed what the runs computed, "a=1, b=2" into b. */
size_t rpt_run_overrides(const struct rpt_ctx *ctx, struct amx_buf *b);
/* What the curve column `metric` measures, for the preamble. */
const char *rpt_metric_meaning(const char *metric, enum amx_task task);
enum amx_status rpt_write_report_md(struct rpt_ctx *ctx, struct amx_error *err);
/* html.c: report.html, after the figure is rendered */
enum amx_status rpt_write_report_html(struct rpt_ctx *ctx, struct amx_error *err);
/* tables.c */
enum amx_status rpt_write_summary_csv(struct rpt_ctx *ctx, struct amx_error *err);
enum amx_status rpt_write_curves_csv(struct rpt_ctx *ctx, struct amx_error *err);
enum amx_status rpt_write_report_json(struct rpt_ctx *ctx, struct amx_error *err);
/* figure.c */
enum amx_status rpt_write_figure(struct rpt_ctx *ctx, struct amx_error *err);
enum amx_status rpt_render_figure(struct rpt_ctx *ctx, struct amx_error *err);
/* Runs gnuplot on <stem>.gp in the folder, which writes <stem>.svg and .png. */
enum amx_status rpt_render_named(struct rpt_ctx *ctx, const char *stem, struct amx_error *err);

/* report.c: helpers */
void rpt_ctx_free(struct rpt_ctx *ctx);
/* Writes b to results_dir/name whole or not at all (amx_write_file_atomic)
 * and frees it; an out-of-memory buffer or a too long path is the error. */
enum amx_status rpt_write_buf(struct rpt_ctx *ctx, const char *name, struct amx_buf *b,
                              struct amx_error *err);
/* Frees what one run holds (labels of n_axes, curve, colmap) and zeroes it
 * but its id: the run is as if never read. */
void rpt_run_clear(struct rpt_run *r, size_t n_axes);
void rpt_warn(struct rpt_ctx *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* "%.10g", or nan / inf / -inf: one spelling whatever the C library. */
void rpt_fmt_num(char buf[32], double x);
/* results_dir/rel into buf; false when it does not fit. */
bool rpt_path(const struct rpt_ctx *ctx, char *buf, size_t size, const char *rel);
const char *rpt_metric_column(enum amx_metric m);
/* report.baseline as the report names it: the series value, or the point's
 * sweep values "axis=value, axis=value". */
const char *rpt_baseline_text(struct rpt_ctx *ctx);

#endif
