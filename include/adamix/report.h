/* Experiment-level reports (docs/design.md, "Files written"): the only module that writes
 * the files of a results folder that pool several runs.
 *
 * It reads each listed run's runs/<id>/summary.json and runs/<id>/curve.csv
 * (as the run module writes them) and writes, each whole or not at all:
 *
 *   summary.csv   one row per complete run, in the given run order:
 *                 run_id, <axis>..., repeat, status, final_test_error,
 *                 best_test_error, best_epoch, seconds
 *   curves.csv    every complete run's curve in long form: run_id, <axis>...,
 *                 repeat, then the curve columns (epoch, train_error,
 *                 [validation_error,] test_error, seconds, then rate_mean.<g>,
 *                 rate_min.<g>, rate_max.<g> for the union of the groups;
 *                 empty where a run lacks a column)
 *   report.json   per sweep point (axis values, repeats pooled): mean and
 *                 sample standard deviation (n-1; 0 for one repeat) per epoch
 *                 of train/validation/test error, final and best test error,
 *                 and the ranking by mean final test error (diverged last)
 *   figure.dat    the figure's lines: one block per line (gnuplot `index`)
 *   figure.gp     an editable gnuplot script drawing the report metric against
 *                 the fine-tuning epoch, one line per sweep point, mean over
 *                 repeats with a mean +- sd band; `gnuplot figure.gp` in the
 *                 folder writes figure.svg and figure.png
 *   figure.svg, figure.png, figure.log   when rendering (gnuplot's output)
 *
 * Numbers are printed with %.10g (non-finite ones as nan, inf, -inf in CSV,
 * null in JSON). The CSV and JSON files depend only on the run folders and the
 * input, never on the order in which the file system lists them.
 *
 * Example (what main.c does after the runs):
 *
 *   const char *axes[] = {"finetune.rules"}, *ids[] = {"0123...", ...};
 *   struct amx_report_input in = {dir, &cfg.report, cfg.name, 1, axes, n, ids, true};
 *   struct amx_report_result res;
 *   if (amx_report_build(&in, &res, &err) != AMX_OK) ...print err...
 *   if (res.warning[0]) ...print res.warning...
 */
#ifndef ADAMIX_REPORT_H
#define ADAMIX_REPORT_H

#include "adamix/config.h"
#include "adamix/error.h"

#include <stdbool.h>
#include <stddef.h>

#define AMX_REPORT_WARNING_MAX 4096

struct amx_report_input {
    const char *results_dir;                /* the experiment's results folder */
    const struct amx_report_config *report; /* metric, series, title, log_y */
    const char *experiment_name;            /* default title; the line name with no axes */
    size_t n_axes;
    const char *const *axes; /* sweep axis paths, in expansion order */
    size_t n_runs;
    const char *const *run_ids;   /* the current expansion's runs, in order, distinct;
                                     folders of other ids are ignored */
    bool render;                  /* run gnuplot to write figure.svg and figure.png */
    int repeats;                  /* repeats per sweep point (pairs are matched by repeat);
                                     0: one more than the largest repeat found */
    const char *description;      /* for report.md; NULL or "" for none */
    enum amx_task task;           /* what the error measures: a reconstruction's (the default)
                                     or a classification's */
    size_t n_overrides;           /* PATH=VALUE overrides the runs or the report were given, */
    const char *const *overrides; /* report.md, report.html and the figure name them */
};

struct amx_report_result {
    size_t n_listed;   /* run ids given */
    size_t n_complete; /* with a complete summary.json: the rows of summary.csv */
    size_t n_missing;  /* without one (not run yet, killed, or malformed) */
    size_t n_diverged; /* complete runs whose status is diverged */
    size_t n_points;   /* sweep points with at least one complete run = lines of the figure */
    bool rendered;     /* figure.svg and figure.png were written by this call */
    /* "" or one message per line (no final newline), for main.c to print:
     * gnuplot missing or failing, a malformed summary.json, a report setting
     * that could not be honoured. Warnings never stop the report. */
    char warning[AMX_REPORT_WARNING_MAX];
};

/* What one run folder holds, judged the same way by the runner (complete,
 * or to be redone?), the report and compare (a row, or missing?) and merge
 * (merged, or refused?). */
enum amx_result_state {
    AMX_RESULT_ABSENT,  /* no summary.json: not run yet, or killed before it */
    AMX_RESULT_INVALID, /* a summary.json that is malformed or lacks a field the report
                           reads; a curve.csv beside it that is missing, malformed, has
                           other rows than its "epochs" say, or other numbers than
                           summary.json's final and best errors; a config.yaml that is
                           missing, malformed, or describes another run than the
                           folder's id (or than config_sha256); any of them not a
                           regular file */
    AMX_RESULT_COMPLETE
};

/* The verdict on one run folder: its state and, when INVALID, where and why. */
struct amx_result_verdict {
    enum amx_result_state state;
    /* INVALID because config.yaml or summary.json's config_sha256 names
     * another configuration than the folder's id (the files are intact, but
     * of another run), rather than a damaged file */
    bool other_run;
    struct amx_error where; /* INVALID: the file, line, column and what is wrong */
};

/* The one judgement of a run folder: run_dir (a runs/<run_id> folder) is
 * complete when summary.json holds every field the report reads, curve.csv
 * parses, has the rows of its "epochs" and the numbers of summary.json's
 * final_test_error, best_test_error (at best_epoch), final_train_error and
 * final_validation_error, and config.yaml binds to the configuration whose
 * canonical form hashes to run_id (with summary.json's repeat where
 * config.yaml has none) and to config_sha256 when summary.json has it.
 * axes: the sweep axis paths whose labels summary.json's "sweep" must hold
 * (n_axes 0: none). Reads only; follows no link. */
enum amx_result_state amx_result_judge(const char *run_dir, const char *run_id, size_t n_axes,
                                       const char *const *axes, struct amx_result_verdict *v);

/* amx_result_judge, its INVALID verdict as "file:line:col: what" in why. */
enum amx_result_state amx_result_check(const char *run_dir, const char *run_id, size_t n_axes,
                                       const char *const *axes, char *why, size_t why_size);

/* Reads the listed runs' files and writes the files above into
 * in->results_dir. A run whose summary.json is absent is skipped and counted
 * as missing; one that amx_result_judge finds INVALID (a malformed or
 * incomplete summary, a damaged or contradicting curve.csv, a missing or
 * foreign config.yaml) is missing too, with a warning naming the file, line
 * and column. A file that cannot be written is an
 * AMX_ERR_IO error naming it; the files written before it stay (each is
 * complete), no temporary file is left. When gnuplot is not on PATH the script
 * and its data are still written and res->warning says how to render them. */
enum amx_status amx_report_build(const struct amx_report_input *in, struct amx_report_result *res,
                                 struct amx_error *err);

/* One results folder for amx_compare: where it is and the experiment it was
 * made from (name, sweep axes, the run ids of its expansion). */
struct amx_compare_side {
    const char *dir;
    const char *name;
    size_t n_axes;
    const char *const *axes;
    size_t n_runs;
    const char *const *run_ids;
    const struct amx_run_config *config; /* its first run's, or NULL: what compare lists
                                            when the two differ beyond the sweep axes */
};

/* Compares the runs of two results folders (src/report/compare.c says how):
 * *text gets the report to print (malloc'ed; JSON when as_json), *verdict 0
 * (every run bit-identical, or every sweep point within the tolerance on the
 * final and best `metric`), 1 (they differ) or 2 (different experiments,
 * configurations that differ beyond the sweep axes, or no run in common). Errors: unreadable or
 * malformed run files. */
enum amx_status amx_compare(const struct amx_compare_side *a, const struct amx_compare_side *b,
                            const char *metric, double rtol, bool as_json, char **text,
                            int *verdict, struct amx_error *err);

/* ---- tune, then test (include/adamix/tune.h) ---- */

struct amx_experiment;

enum { AMX_TUNE_RUN_MISSING, AMX_TUNE_RUN_OK, AMX_TUNE_RUN_DIVERGED };

/* For each run of exp (a stage of a tuned experiment) in the results folder
 * dir: state[i] (missing: absent or refused by amx_result_judge; ok;
 * diverged) and value[i], summary.json's number at key (NAN when null or
 * absent). Reads only. */
enum amx_status amx_tune_runs_read(const char *dir, const struct amx_experiment *exp,
                                   const char *key, double *value, int *state,
                                   struct amx_error *err);

/* One member's tuning in one study, and its final result. */
struct amx_tune_report_member {
    const char *name, *values;
    size_t n;             /* grid values */
    const double *value;  /* [n], ascending */
    const double *metric; /* [n], the selection metric (mean over the tuning repeats) */
    const bool *diverged; /* [n] */
    long chosen;          /* index, or -1 */
    int edge;             /* -1, 0, +1: where the chosen value sits in the grid */
    int ext_low, ext_high;
    bool limit_reached; /* the best at an edge with no extension left */
    double final_mean, final_sd;
    size_t final_n;
};

struct amx_tune_report {
    const char *dir, *name;
    const char *selection_metric, *final_metric;
    int studies;
    size_t n_members;
    const struct amx_tune_report_member *members; /* [studies * n_members], study-major */
    bool render;
};

/* Writes into dir: selection.csv (one row per study and member: the chosen
 * values, their metric, edge and extensions, the final result), tune.json
 * (the same with every grid point, and over the studies: the median and the
 * spreads), tune.md, sensitivity.dat and sensitivity.gp (rendered to .svg and
 * .png when render), and report.html, which shows them and links each
 * stage's own report. */
enum amx_status amx_tune_report_write(const struct amx_tune_report *in,
                                      struct amx_report_result *res, struct amx_error *err);

/* amx_compare, told what to do with two folders whose configurations differ
 * beyond their sweep axes (other epochs, data, network: the identity keys
 * that no axis of either side covers). Every such key is listed with both
 * values, also when the experiments differ by name or axes. Without force
 * the runs are not joined (verdict 2: sweep values alone would pair runs of
 * different configurations); with force they are, and the result says that
 * the configurations differ. */
enum amx_status amx_compare_configs(const struct amx_compare_side *a,
                                    const struct amx_compare_side *b, const char *metric,
                                    double rtol, bool as_json, bool force, char **text,
                                    int *verdict, struct amx_error *err);

#endif
