/* adamix-run: the command line (DESIGN.md section 4). Only this file prints to
 * the terminal or exits; everything it does is a call into the modules:
 * sweep (load and expand), run (execute), report (summaries and figure). */
#define _POSIX_C_SOURCE 200809L
#include "adamix/config.h"
#include "adamix/fsutil.h"
#include "adamix/nn.h" /* amx_blas_* */
#include "adamix/report.h"
#include "adamix/run.h"
#include "adamix/sweep.h"
#include "adamix/version.h"

#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const char usage_text[] =
    "usage: adamix-run [options] EXPERIMENT.yaml [PATH=VALUE ...]\n"
    "       adamix-run validate EXPERIMENT.yaml [PATH=VALUE ...]\n"
    "       adamix-run report RESULTS_DIR\n"
    "       adamix-run merge OUT_DIR SHARD_DIR...\n"
    "       adamix-run compare A B [--rtol X] [--json]\n"
    "       adamix-run --help | --version\n"
    "\n"
    "Runs every point of an experiment's sweep (times its repeats), in parallel,\n"
    "reproducibly, and writes CSV/JSON reports and a figure (see README.md).\n"
    "\n"
    "options:\n"
    "  -o, --out DIR         results folder (default: results/<name>)\n"
    "  -j, --jobs N          runs in parallel (default: the number of cores)\n"
    "      --cache DIR       pretraining cache, shareable between experiments\n"
    "                        (default: the results folder's cache/)\n"
    "  -s, --set PATH=VALUE  override one value by its dotted path, VALUE in YAML\n"
    "                        syntax; repeatable. PATH=VALUE words after the file\n"
    "                        are the same. A sweep axis: --set 'sweep.AXIS=[..]'\n"
    "      --shard I/N       run only shard I of N (1-based) of the runs; when\n"
    "                        absent, the SLURM_ARRAY_TASK_ID, _COUNT, _MIN and\n"
    "                        _STEP variables of a SLURM array job are honoured.\n"
    "                        A run's shard is a hash of its id and N: adding points\n"
    "                        moves no run (--dry-run shows how balanced they are);\n"
    "                        give each shard its own -o and join them with merge\n"
    "      --dry-run         print the expanded runs (id, sweep values, repeat) and exit\n"
    "      --print-config    print the resolved configuration of every run and exit\n"
    "      --force           rerun runs that already have a complete result\n"
    "      --rerun-failed    rerun only runs whose last attempt failed\n"
    "      --fail-fast       stop at the first failed run (default: keep going)\n"
    "      --save-weights    write each run's weights.npz (= --set output.weights=true)\n"
    "  -q, --quiet           no progress display (default when stdout is not a terminal)\n"
    "  -h, --help            this text\n"
    "  -V, --version         version, commit and BLAS\n"
    "\n"
    "compare A B: joins the runs of two results folders of one experiment (by id,\n"
    "else by sweep values and repeat); per run, bit-identical or the largest\n"
    "deviation of each curve column; per sweep point, the final and best report\n"
    "metric against the spread between repeats. Exit 0 when every run is\n"
    "bit-identical or every point agrees (|A - B| <= rtol |A| or <= 2 standard\n"
    "errors of the difference), 1 otherwise, 2 for different experiments.\n"
    "      --rtol X          relative tolerance of compare (default 0.01)\n"
    "      --json            compare's report as JSON\n"
    "\n"
    "exit status: 0 all runs finished (a diverged run is a result); 1 a run failed;\n"
    "2 bad usage or invalid experiment; 3 missing or malformed data; 130 interrupted\n"
    "(rerun the same command to resume).\n";

static void print_version(void)
{
    printf("adamix-run %s (commit %s%s)\n", amx_version(), amx_git_commit(),
           amx_git_dirty() ? "-dirty" : "");
    printf("compiler: %s\n", amx_compiler());
    printf("BLAS: %s; core %s; %d thread%s\n", amx_blas_config(), amx_blas_corename(),
           amx_blas_threads(), amx_blas_threads() == 1 ? "" : "s");
}

static int usage_error(const char *fmt, const char *arg)
{
    fprintf(stderr, "adamix-run: error: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n(try adamix-run --help)\n");
    return 2;
}

static void print_error(const struct amx_error *err)
{
    char buf[AMX_ERROR_MSG_MAX + AMX_ERROR_PATH_MAX + 64];
    amx_error_format(err, buf, sizeof buf);
    fprintf(stderr, "%s\n", buf);
}

static int print_errors(const struct amx_errlist *errs)
{
    for (size_t i = 0; i < errs->n; i++)
        print_error(&errs->items[i]);
    enum amx_status worst = errs->n ? errs->items[0].code : AMX_ERR_CONFIG;
    if (errs->n > 1) fprintf(stderr, "%zu errors\n", errs->n);
    return amx_status_exit_code(worst);
}

/* ---- progress display ---------------------------------------------------- */

#define MAX_ACTIVE 64

struct display {
    bool live; /* a terminal and not --quiet */
    int lines; /* live lines drawn last time */
    double started, last_draw;
    size_t total, to_run, skipped, done, failed;
    struct {
        char id[40];
        char text[300];
        bool pretrain;
        double started;    /* when the task started */
        double epoch_at;   /* when its fine-tuning epoch 0 was measured (< 0: not yet) */
        int epoch, epochs; /* fine-tuning progress */
    } active[MAX_ACTIVE];
    int n_active;
    int workers;        /* --jobs: the runs that go on at once */
    double run_seconds; /* fine-tuning seconds of the runs finished here, summed */
    int runs_timed;     /* ... and their count */
    struct failure {
        char id[40];
        char *label, *message;
    } * failures; /* for the table at the end */
    size_t n_failures;
};

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void clear_live(struct display *d)
{
    if (!d->live) return;
    for (int i = 0; i < d->lines; i++)
        fputs("\033[1A\033[2K", stdout);
    d->lines = 0;
}

/* The terminal's size, so that no live line wraps (a wrapped line would
 * make clear_live move up too few rows) and the block fits the screen. */
static void term_size(int *cols, int *rows)
{
    struct winsize ws;
    *cols = 80;
    *rows = 24;
    if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0 && ws.ws_row > 0) {
        *cols = ws.ws_col;
        *rows = ws.ws_row;
    }
}

/* Seconds until every run is done, or -1 when nothing tells yet. From the
 * runs themselves: an active run's seconds per epoch so far times its epochs
 * left; a run not started yet takes what the finished runs took on average
 * (or, before any finished, what the active ones will take); the work left
 * is shared by the workers. Pretraining is not estimated (its runs wait). */
static double eta_seconds(const struct display *d)
{
    double t = now(), active_left = 0, projected = 0;
    int n_runs = 0, n_projected = 0;
    for (int i = 0; i < d->n_active; i++) {
        if (d->active[i].pretrain) continue;
        n_runs++;
        if (d->active[i].epoch_at < 0 || d->active[i].epoch < 1) continue;
        double per_epoch = (t - d->active[i].epoch_at) / d->active[i].epoch;
        active_left += per_epoch * (d->active[i].epochs - d->active[i].epoch);
        projected += per_epoch * d->active[i].epochs;
        n_projected++;
    }
    double per_run = d->runs_timed ? d->run_seconds / d->runs_timed
                     : n_projected ? projected / n_projected
                                   : -1;
    if (per_run < 0) return -1;
    long waiting = (long)d->to_run - (long)d->done - (long)d->failed - n_runs;
    if (waiting < 0) waiting = 0;
    int workers = d->workers > 0 ? d->workers : 1;
    return (active_left + (double)waiting * per_run) / workers;
}

static void draw_live(struct display *d)
{
    if (!d->live) return;
    clear_live(d);
    int cols, rows;
    term_size(&cols, &rows);
    int width = cols > 4 ? cols - 1 : 3;
    double el = now() - d->started;
    char eta[64] = "";
    double left = eta_seconds(d);
    if (left >= 0)
        snprintf(eta, sizeof eta, ", ETA %dm%02ds", (int)(left / 60), (int)fmod(left, 60));
    char head[256];
    snprintf(head, sizeof head, "[%zu/%zu runs done%s, %dm%02ds elapsed%s]", d->done, d->to_run,
             d->failed ? ", some failed" : "", (int)(el / 60), (int)fmod(el, 60), eta);
    printf("%.*s\n", width, head);
    d->lines = 1;
    int room = rows - 2 > 1 ? rows - 2 : 1; /* lines for active tasks */
    for (int i = 0; i < d->n_active; i++) {
        if (i == room - 1 && d->n_active > room) {
            printf("  ... and %d more\n", d->n_active - i);
            d->lines++;
            break;
        }
        printf("  %.*s\n", width - 2, d->active[i].text);
        d->lines++;
    }
    fflush(stdout);
    d->last_draw = now();
}

static int find_active(struct display *d, const char *id)
{
    for (int i = 0; i < d->n_active; i++)
        if (strcmp(d->active[i].id, id) == 0) return i;
    return -1;
}

static void remove_active(struct display *d, const char *id)
{
    int i = find_active(d, id);
    if (i < 0) return;
    d->active[i] = d->active[--d->n_active];
}

static void on_event(const struct amx_event *ev, void *ctx)
{
    struct display *d = ctx;
    d->total = ev->total;
    d->to_run = ev->to_run;
    d->skipped = ev->skipped;
    d->done = ev->done;
    d->failed = ev->failed;
    switch (ev->kind) {
    case AMX_EVENT_PLAN:
        if (d->live)
            printf("%zu runs: %zu to run, %zu already complete\n", ev->total, ev->to_run,
                   ev->skipped);
        break;
    case AMX_EVENT_TASK_START:
        if (d->n_active < MAX_ACTIVE) {
            int i = d->n_active++;
            snprintf(d->active[i].id, sizeof d->active[i].id, "%s", ev->run_id);
            snprintf(d->active[i].text, sizeof d->active[i].text, "%s: starting", ev->label);
            d->active[i].pretrain = ev->is_pretrain;
            d->active[i].started = now();
            d->active[i].epoch_at = -1;
            d->active[i].epoch = d->active[i].epochs = 0;
        }
        break;
    case AMX_EVENT_PROGRESS: {
        int i = find_active(d, ev->run_id);
        if (i < 0) break;
        if (ev->is_pretrain)
            snprintf(d->active[i].text, sizeof d->active[i].text,
                     "%s: RBM %d epoch %d/%d, reconstruction error %.3f", ev->label, ev->layer,
                     ev->epoch, ev->epochs, ev->error);
        else {
            snprintf(d->active[i].text, sizeof d->active[i].text,
                     "%s: fine-tuning epoch %d/%d, test error %.3f", ev->label, ev->epoch,
                     ev->epochs, ev->error);
            if (ev->epoch == 0) d->active[i].epoch_at = now();
            d->active[i].epoch = ev->epoch;
            d->active[i].epochs = ev->epochs;
        }
        if (now() - d->last_draw < 0.2) return;
        break;
    }
    case AMX_EVENT_RUN_DONE: {
        int i = find_active(d, ev->run_id);
        if (i >= 0 && d->active[i].epoch_at >= 0 && d->active[i].epoch > 0) {
            /* what a waiting run will take: its fine-tuning, at this pace */
            d->run_seconds +=
                (now() - d->active[i].epoch_at) * d->active[i].epochs / d->active[i].epoch;
            d->runs_timed++;
        }
        remove_active(d, ev->run_id);
        if (d->live) {
            clear_live(d);
            printf("done %s %s: final test error %.4f (%s)\n", ev->run_id, ev->label, ev->error,
                   ev->status);
        }
        break;
    }
    case AMX_EVENT_PRETRAIN_DONE:
        remove_active(d, ev->run_id);
        break;
    case AMX_EVENT_NOTE:
        clear_live(d);
        fflush(stdout);
        fprintf(stderr, "adamix-run: note: %s\n", ev->message);
        break;
    case AMX_EVENT_RUN_REDONE:
        clear_live(d);
        fflush(stdout);
        fprintf(stderr, "adamix-run: warning: run %s (%s) has a damaged result, redoing it: %s\n",
                ev->run_id, ev->label, ev->message);
        break;
    case AMX_EVENT_TASK_FAILED: {
        struct failure *f = realloc(d->failures, (d->n_failures + 1) * sizeof *f);
        if (f) {
            d->failures = f;
            f = &f[d->n_failures++];
            snprintf(f->id, sizeof f->id, "%s", ev->is_pretrain ? "(pretraining)" : ev->run_id);
            f->label = strdup(ev->label ? ev->label : "");
            f->message = strdup(ev->message ? ev->message : "");
        }
        remove_active(d, ev->run_id);
        clear_live(d);
        fflush(stdout);
        fprintf(stderr, "adamix-run: %s %s failed: %s\n", ev->is_pretrain ? "task" : "run",
                ev->label, ev->message);
        break;
    }
    }
    draw_live(d);
}

/* ---- commands -------------------------------------------------------------- */

struct options {
    const char *out;
    const char *cache;
    int jobs;
    bool dry_run, print_config, force, rerun_failed, fail_fast, quiet;
    int shard_i, shard_n;
    double rtol; /* compare */
    bool json, rtol_given;
    const char **overrides;
    size_t n_overrides;
};

/* Reads the experiment file once (*text keeps it, for experiment.yaml: what
 * is recorded is exactly what ran) and loads it. */
static int load_text(const char *file, const struct options *o, struct amx_experiment **exp,
                     char **text)
{
    struct amx_error err = {0};
    size_t len = 0;
    *text = NULL;
    /* a regular file of at most 1 MiB: not a folder, FIFO or /dev/zero */
    if (amx_node_read_file(file, text, &len, &err) != AMX_OK) {
        print_error(&err);
        return amx_status_exit_code(err.code);
    }
    struct amx_errlist errs = {0};
    enum amx_status st =
        amx_experiment_load_string(*text, len, file, o->overrides, o->n_overrides, exp, &errs);
    if (st != AMX_OK) {
        int code = errs.n ? print_errors(&errs) : amx_status_exit_code(st);
        amx_errlist_free(&errs);
        free(*text);
        *text = NULL;
        return code ? code : 2;
    }
    amx_errlist_free(&errs);
    return 0;
}

static int load(const char *file, const struct options *o, struct amx_experiment **exp)
{
    char *text = NULL;
    int rc = load_text(file, o, exp, &text);
    free(text);
    return rc;
}

/* The balance of an N-way split: rendezvous hashing (amx_run_shard) keeps
 * runs on their shards when the sweep grows, at the price of shards that are
 * balanced only in expectation, so the dry run says how uneven they are. */
static void print_shard_balance(const struct amx_experiment *exp, int n)
{
    size_t *count = calloc((size_t)n, sizeof *count);
    if (!count) return;
    for (size_t i = 0; i < exp->n_runs; i++)
        count[amx_run_shard(exp->runs[i].id, n) - 1]++;
    size_t lo = count[0], hi = count[0], empty = 0;
    for (int s = 0; s < n; s++) {
        if (count[s] < lo) lo = count[s];
        if (count[s] > hi) hi = count[s];
        empty += count[s] == 0;
    }
    double mean = (double)exp->n_runs / n;
    printf("shard sizes of %d:", n);
    if (n <= 32)
        for (int s = 0; s < n; s++)
            printf(" %zu", count[s]);
    else
        printf(" %zu to %zu", lo, hi);
    printf(" (mean %.2f; the largest %.0f%% above it", mean,
           mean > 0 ? 100.0 * ((double)hi - mean) / mean : 0.0);
    if (empty) printf("; %zu empty", empty);
    printf(")\n");
    free(count);
}

static void print_dry_run(const struct amx_experiment *exp, const struct options *o)
{
    size_t shown = 0;
    printf("%-16s", "run_id");
    for (size_t a = 0; a < exp->n_axes; a++)
        printf("  %s", exp->axes[a].path);
    printf("  repeat\n");
    for (size_t i = 0; i < exp->n_runs; i++) {
        const struct amx_run *r = &exp->runs[i];
        if (!amx_run_in_shard(exp, i, o->shard_i, o->shard_n)) continue;
        shown++;
        printf("%-16s", r->id);
        for (size_t a = 0; a < exp->n_axes; a++) {
            int w = (int)strlen(exp->axes[a].path);
            printf("  %-*s", w, exp->axes[a].labels[r->value[a]]);
        }
        printf("  %d\n", r->repeat);
    }
    if (o->shard_n > 0) {
        printf("%zu of %zu runs in shard %d/%d\n", shown, exp->n_runs, o->shard_i, o->shard_n);
        print_shard_balance(exp, o->shard_n);
    } else {
        printf("%zu run%s\n", exp->n_runs, exp->n_runs == 1 ? "" : "s");
    }
}

static int print_config(const struct amx_experiment *exp)
{
    for (size_t i = 0; i < exp->n_runs; i++) {
        const struct amx_run *r = &exp->runs[i];
        char label[1024];
        amx_run_label(exp, i, label, sizeof label);
        printf("--- # run %s: %s\n", r->id, label);
        struct amx_node *n = amx_config_to_node(&r->cfg);
        if (!n || amx_node_emit(n, stdout) != 0) {
            amx_node_free(n);
            fprintf(stderr, "adamix-run: error: out of memory\n");
            return 1;
        }
        amx_node_free(n);
    }
    return 0;
}

static int build_report(const struct amx_experiment *exp, const char *dir, size_t *missing)
{
    const char **axes = calloc(exp->n_axes + 1, sizeof *axes);
    const char **ids = calloc(exp->n_runs + 1, sizeof *ids);
    if (!axes || !ids) {
        free(axes);
        free(ids);
        fprintf(stderr, "adamix-run: error: out of memory\n");
        return 1;
    }
    for (size_t a = 0; a < exp->n_axes; a++)
        axes[a] = exp->axes[a].path;
    /* a run id appears once per repeat-distinct run; the list is distinct */
    for (size_t i = 0; i < exp->n_runs; i++)
        ids[i] = exp->runs[i].id;
    const struct amx_run_config *cfg = exp->n_runs ? &exp->runs[0].cfg : NULL;
    struct amx_report_config rc = {0};
    if (cfg) rc = cfg->report;
    struct amx_report_input in = {.results_dir = dir,
                                  .report = &rc,
                                  .experiment_name = cfg ? cfg->name : "",
                                  .n_axes = exp->n_axes,
                                  .axes = axes,
                                  .n_runs = exp->n_runs,
                                  .run_ids = ids,
                                  .render = true,
                                  .repeats = cfg ? cfg->repeats : 0,
                                  .description = cfg ? cfg->description : NULL};
    struct amx_report_result res;
    struct amx_error err = {0};
    enum amx_status st = amx_report_build(&in, &res, &err);
    free(axes);
    free(ids);
    if (st != AMX_OK) {
        print_error(&err);
        return amx_status_exit_code(st);
    }
    if (res.warning[0]) fprintf(stderr, "adamix-run: warning: %s\n", res.warning);
    printf("report: %s/report.md, %s/summary.csv, %s/report.json (%zu of %zu runs complete)\n", dir,
           dir, dir, res.n_complete, res.n_listed);
    if (missing) *missing = res.n_missing;
    if (res.rendered)
        printf("figure: %s/figure.png (and figure.svg, figure.gp)\n", dir);
    else
        printf("figure script: %s/figure.gp\n", dir);
    return 0;
}

/* A rerun into a folder whose runs were computed on another BLAS kernel gets
 * curves that differ in their last bits (then like a change of seed): say so
 * once, with how to pin the kernel the folder names. */
static void note_kernel(const char *out)
{
    char path[AMX_PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/manifest.json", out);
    json_error_t jerr;
    json_t *m = json_load_file(path, 0, &jerr);
    if (!m) return;
    /* the kernels of this folder: its last invocation's and every earlier one's */
    const char *now = amx_blas_corename(), *other = NULL;
    json_t *prev = json_object_get(m, "previous");
    for (size_t i = 0; i <= json_array_size(prev) && !other; i++) {
        json_t *e = i == 0 ? m : json_array_get(prev, i - 1);
        const char *core = json_string_value(json_object_get(e, "blas_core"));
        if (core && now && strcmp(core, now) != 0) other = core;
    }
    if (other)
        printf("note: %s names the OpenBLAS kernel %s, this run computes on %s: runs computed "
               "now will not be bit-identical to those computed there on %s (they agree within "
               "the spread between repeats; adamix-run compare checks). For a bit-identical "
               "rerun: OPENBLAS_CORETYPE=%s\n",
               path, other, now, other, other);
    json_decref(m);
}

static int cmd_run(const char *file, const struct options *o, int argc, char **argv)
{
    struct amx_experiment *exp = NULL;
    char *text = NULL;
    int rc = load_text(file, o, &exp, &text);
    if (rc) return rc;
    if (o->dry_run || o->print_config) {
        if (o->dry_run)
            print_dry_run(exp, o);
        else
            rc = print_config(exp);
        amx_experiment_free(exp);
        free(text);
        return rc;
    }
    char out[AMX_PATH_MAX + 16];
    snprintf(out, sizeof out, "%s", o->out ? o->out : "");
    if (!o->out) snprintf(out, sizeof out, "results/%s", exp->n_runs ? exp->runs[0].cfg.name : "x");
    struct amx_error err = {0};
    struct amx_runner_options ro = {.out_dir = out,
                                    .cache_dir = o->cache,
                                    .jobs = o->jobs,
                                    .shard_index = o->shard_i,
                                    .shard_count = o->shard_n,
                                    .force = o->force,
                                    .rerun_failed = o->rerun_failed,
                                    .fail_fast = o->fail_fast,
                                    .argc = argc,
                                    .argv = argv,
                                    .experiment_text = text};
    note_kernel(out);
    struct display d = {
        .live = !o->quiet && isatty(STDOUT_FILENO), .started = now(), .workers = o->jobs};
    struct amx_runner_result res;
    enum amx_status st = amx_runner_run(exp, &ro, on_event, &d, &res, &err);
    clear_live(&d);
    free(text);
    if (st != AMX_OK && st != AMX_ERR_RUN) {
        print_error(&err);
        amx_experiment_free(exp);
        return amx_status_exit_code(st);
    }
    printf("%s: %zu run%s: %zu ok, %zu diverged, %zu failed, %zu already complete",
           exp->n_runs ? exp->runs[0].cfg.name : "", res.total, res.total == 1 ? "" : "s", res.ok,
           res.diverged, res.failed, res.skipped);
    if (res.not_done) printf(", %zu not done", res.not_done);
    printf("\n");
    printf("pretraining: %zu computed, %zu reused from the cache\n", res.pretrain_computed,
           res.pretrain_reused);
    rc = build_report(exp, out, NULL);
    if (st == AMX_ERR_RUN) {
        fprintf(stderr, "adamix-run: %s\n", err.msg);
        if (d.n_failures > 0) {
            fprintf(stderr, "failed:\n");
            for (size_t i = 0; i < d.n_failures; i++)
                fprintf(stderr, "  %s  %s  %s\n", d.failures[i].id, d.failures[i].label,
                        d.failures[i].message);
        }
        rc = res.interrupted ? 130 : 1;
    }
    for (size_t i = 0; i < d.n_failures; i++) {
        free(d.failures[i].label);
        free(d.failures[i].message);
    }
    free(d.failures);
    amx_experiment_free(exp);
    return rc;
}

static int cmd_validate(const char *file, const struct options *o)
{
    struct amx_experiment *exp = NULL;
    int rc = load(file, o, &exp);
    if (rc) return rc;
    /* the data too, from the files' headers: what a run would refuse at once */
    struct amx_errlist errs = {0};
    if (amx_experiment_check_data(exp, &errs) != AMX_OK) {
        rc = print_errors(&errs);
        amx_errlist_free(&errs);
        amx_experiment_free(exp);
        return rc ? rc : 2;
    }
    amx_errlist_free(&errs);
    printf("%s: ok (%zu run%s, data checked)\n", file, exp->n_runs, exp->n_runs == 1 ? "" : "s");
    amx_experiment_free(exp);
    return 0;
}

/* Loads the experiment a results folder was made from: its experiment.yaml
 * with the overrides manifest.json lists. */
static int load_results(const char *dir, struct amx_experiment **exp)
{
    char path[AMX_PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/manifest.json", dir);
    json_error_t jerr;
    json_t *m = json_load_file(path, 0, &jerr);
    if (!m) {
        fprintf(stderr, "%s:%d:%d: error: not a results folder of adamix-run (%s)\n", path,
                jerr.line > 0 ? jerr.line : 1, jerr.column > 0 ? jerr.column : 1, jerr.text);
        return 2;
    }
    /* what an earlier invocation wrote is read as strictly as any input */
    json_t *ov = json_object_get(m, "overrides");
    if (!json_is_object(m) || (ov && !json_is_array(ov))) {
        fprintf(stderr, "%s: error: %s\n", path,
                !json_is_object(m) ? "expected a JSON object, found another value"
                                   : "\"overrides\" must be an array of strings");
        json_decref(m);
        return 2;
    }
    size_t n = json_array_size(ov);
    const char **o = calloc(n + 1, sizeof *o);
    for (size_t i = 0; i < n && o; i++) {
        o[i] = json_string_value(json_array_get(ov, i));
        if (!o[i]) {
            fprintf(stderr,
                    "%s: error: \"overrides\" item %zu is not a string (expected PATH=VALUE)\n",
                    path, i + 1);
            free(o);
            json_decref(m);
            return 2;
        }
    }
    struct options opts = {.overrides = o, .n_overrides = n};
    snprintf(path, sizeof path, "%s/experiment.yaml", dir);
    int rc = o ? load(path, &opts, exp) : 1;
    free(o);
    json_decref(m);
    return rc;
}

static int cmd_report(const char *dir, size_t *missing)
{
    struct amx_experiment *exp = NULL;
    int rc = load_results(dir, &exp);
    if (rc) return rc;
    rc = build_report(exp, dir, missing);
    amx_experiment_free(exp);
    return rc;
}

/* The run ids and axes of a loaded experiment, for amx_compare. */
static bool compare_side(const char *dir, const struct amx_experiment *exp,
                         struct amx_compare_side *s)
{
    const char **axes = calloc(exp->n_axes + 1, sizeof *axes);
    const char **ids = calloc(exp->n_runs + 1, sizeof *ids);
    if (!axes || !ids) {
        free(axes);
        free(ids);
        return false;
    }
    for (size_t a = 0; a < exp->n_axes; a++)
        axes[a] = exp->axes[a].path;
    for (size_t i = 0; i < exp->n_runs; i++)
        ids[i] = exp->runs[i].id;
    *s = (struct amx_compare_side){
        dir, exp->n_runs ? exp->runs[0].cfg.name : "", exp->n_axes, axes, exp->n_runs, ids};
    return true;
}

static int cmd_compare(const char *a, const char *b, const struct options *o)
{
    struct amx_experiment *ea = NULL, *eb = NULL;
    int rc = load_results(a, &ea);
    if (!rc) rc = load_results(b, &eb);
    struct amx_compare_side sa = {0}, sb = {0};
    if (!rc && (!compare_side(a, ea, &sa) || !compare_side(b, eb, &sb))) {
        fprintf(stderr, "adamix-run: error: out of memory\n");
        rc = 1;
    }
    if (!rc) {
        const char *metric = "test_error";
        if (ea->n_runs && ea->runs[0].cfg.report.metric == AMX_METRIC_VALIDATION_ERROR)
            metric = "validation_error";
        else if (ea->n_runs && ea->runs[0].cfg.report.metric == AMX_METRIC_TRAIN_ERROR)
            metric = "train_error";
        char *text = NULL;
        int verdict = 1;
        struct amx_error err = {0};
        if (amx_compare(&sa, &sb, metric, o->rtol_given ? o->rtol : 0.01, o->json, &text, &verdict,
                        &err) != AMX_OK) {
            print_error(&err);
            rc = 1;
        } else {
            fputs(text ? text : "", verdict == 2 && !o->json ? stderr : stdout);
            rc = verdict;
        }
        free(text);
    }
    free((void *)sa.axes);
    free((void *)sa.run_ids);
    free((void *)sb.axes);
    free((void *)sb.run_ids);
    amx_experiment_free(ea);
    amx_experiment_free(eb);
    return rc;
}

static int copy_file(const char *from, const char *to)
{
    char *data = NULL;
    size_t len = 0;
    struct amx_error err;
    if (amx_read_file(from, &data, &len, &err) != AMX_OK) {
        print_error(&err);
        return 1;
    }
    enum amx_status st = amx_write_file_atomic(to, data, len, &err);
    free(data);
    if (st != AMX_OK) {
        print_error(&err);
        return 1;
    }
    return 0;
}

/* One shard folder given to merge: what its manifest says it is. */
struct shard_dir {
    const char *dir;
    bool exists;  /* false: not there (its task failed before writing, or never ran) */
    int index, n; /* "shard": "I/N" of its manifest; 0, 0 for an unsharded folder */
};

/* The first line of path (error.txt), or "" when unreadable. */
static void first_line(const char *path, char *buf, size_t size)
{
    char *text = NULL;
    struct amx_error err;
    buf[0] = '\0';
    if (amx_read_file(path, &text, NULL, &err) != AMX_OK) return;
    snprintf(buf, size, "%.*s", (int)strcspn(text, "\n"), text);
    free(text);
}

/* Copies one verified run of the shard into out, summary.json last (so an
 * interrupted merge leaves no complete-looking run). 0, or 1 after printing
 * the error. */
static int copy_run(const char *out, const char *shard, const char *id)
{
    /* the optional files first (the pictures of a first repeat, weights.npz
     * with output.weights: copied when the shard has them, as regular
     * files), then the three every run has, summary.json last */
    static const char *files[] = {"gallery.png", "filters.png", "weights.npz",
                                  "config.yaml", "curve.csv",   "summary.json"};
    const size_t n_optional = 3, n_files = sizeof files / sizeof *files;
    char a[AMX_PATH_MAX + 300], b[AMX_PATH_MAX + 300], why[AMX_PATH_MAX + 400];
    struct amx_error err;
    snprintf(b, sizeof b, "%s/runs/%s", out, id);
    if (amx_mkdir_nofollow(b, &err) != AMX_OK) {
        print_error(&err);
        return 1;
    }
    for (size_t f = 0; f < n_files; f++) {
        snprintf(a, sizeof a, "%s/runs/%s/%s", shard, id, files[f]);
        snprintf(b, sizeof b, "%s/runs/%s/%s", out, id, files[f]);
        if (f < n_optional && !amx_regular_file(a, why, sizeof why)) continue;
        if (copy_file(a, b)) return 1;
    }
    return 0;
}

/* The pretraining logs: written by the shard that computed the pretraining,
 * not by those that found it in a shared cache, so the merged folder takes
 * the union (an unsharded run writes all of them). 0, or 1 after printing. */
static int copy_pretrain_logs(const char *out, const char *shard)
{
    char a[AMX_PATH_MAX + 300], b[AMX_PATH_MAX + 300], why[AMX_PATH_MAX + 400];
    struct amx_error err;
    snprintf(a, sizeof a, "%s/pretrain", shard);
    DIR *dir = opendir(a);
    if (!dir) return 0; /* a shard of runs without pretraining */
    snprintf(b, sizeof b, "%s/pretrain", out);
    if (amx_mkdir_nofollow(b, &err) != AMX_OK) {
        print_error(&err);
        closedir(dir);
        return 1;
    }
    struct dirent *e;
    while ((e = readdir(dir)) != NULL) {
        size_t len = strlen(e->d_name);
        if (e->d_name[0] == '.' || len < 5 || strcmp(e->d_name + len - 4, ".csv") != 0) continue;
        snprintf(a, sizeof a, "%s/pretrain/%s", shard, e->d_name);
        snprintf(b, sizeof b, "%s/pretrain/%s", out, e->d_name);
        if (!amx_regular_file(a, why, sizeof why)) {
            fprintf(stderr, "adamix-run: warning: %s: not merged\n", why);
            continue;
        }
        if (copy_file(a, b)) {
            closedir(dir);
            return 1;
        }
    }
    closedir(dir);
    return 0;
}

/* Verifies one folder runs/<id> of a shard before anything is merged: no
 * link; a run of the merged experiment; its config.yaml binds to the
 * configuration whose canonical form hashes to <id> (amx_run_id), the
 * expansion's own; and its result complete by the check the runner and the
 * report make (amx_result_check). *run: the run's index in exp, or
 * (size_t)-1 when the shard holds no result of it (not finished there).
 * 0, or the exit status after printing why (2: not of this experiment; 1: a
 * damaged result). */
static int verify_shard_run(const struct amx_experiment *exp, const char *const *axes,
                            const char *shard, const char *id, size_t *run)
{
    char dir[AMX_PATH_MAX + 300], path[AMX_PATH_MAX + 340], why[AMX_ERROR_MSG_MAX + AMX_PATH_MAX];
    *run = (size_t)-1;
    snprintf(dir, sizeof dir, "%s/runs/%s", shard, id);
    struct stat sb;
    if (lstat(dir, &sb) != 0) return 0;
    if (S_ISLNK(sb.st_mode)) {
        fprintf(stderr,
                "%s: error: is a symbolic link, expected a run folder: adamix-run follows no "
                "link inside a results folder (remove the link)\n",
                dir);
        return 1;
    }
    if (!S_ISDIR(sb.st_mode)) return 0; /* not a run folder */
    enum amx_result_state state = amx_result_check(dir, id, exp->n_axes, axes, why, sizeof why);
    if (state == AMX_RESULT_ABSENT) return 0; /* incomplete in that shard */
    size_t k = 0;
    while (k < exp->n_runs && strcmp(exp->runs[k].id, id) != 0)
        k++;
    if (k == exp->n_runs) {
        fprintf(stderr,
                "%s: error: not a run of the merged experiment (its experiment.yaml expands to "
                "no run of this id): cannot be merged\n",
                dir);
        return 2;
    }
    if (state == AMX_RESULT_INVALID) {
        fprintf(stderr,
                "%s: error: a damaged result, not merged: %s (rerun that shard: it redoes the "
                "run)\n",
                dir, why);
        return 1;
    }
    snprintf(path, sizeof path, "%s/config.yaml", dir);
    if (!amx_regular_file(path, why, sizeof why)) {
        fprintf(stderr, "%s: error: a run without its config.yaml: %s\n", dir, why);
        return 1;
    }
    struct amx_node *node = NULL;
    struct amx_error err = {0};
    if (amx_node_parse_file(path, &node, &err) != AMX_OK) {
        print_error(&err);
        return 1;
    }
    struct amx_run_config *cfg = calloc(1, sizeof *cfg);
    struct amx_errlist errs = {0};
    int rc = 0;
    if (!cfg) {
        fprintf(stderr, "adamix-run: error: out of memory\n");
        rc = 1;
    } else if (amx_config_bind(node, cfg, &errs) != AMX_OK) {
        if (errs.n) print_error(&errs.items[0]);
        fprintf(stderr, "%s: error: does not bind to a run configuration: cannot be merged\n",
                path);
        rc = 2;
    } else {
        /* config.yaml does not hold the repeat: the id of this run's is the
         * expansion's, so the configuration must hash to it with that repeat */
        cfg->repeat = exp->runs[k].cfg.repeat;
        char got[AMX_RUN_ID_LEN + 1];
        amx_run_id(cfg, got);
        if (strcmp(got, id) != 0) {
            fprintf(stderr,
                    "%s: error: describes run %s, not %s (the folder's name): a run folder whose "
                    "configuration does not match its id cannot be merged\n",
                    path, got, id);
            rc = 2;
        }
    }
    amx_errlist_free(&errs);
    free(cfg);
    amx_node_free(node);
    if (rc == 0) *run = k;
    return rc;
}

/* Every run folder of one shard, verified (verify_shard_run); from[k] gets
 * the shard (index s) that provides run k, the first one that has it.
 * 0, or the exit status after printing why. */
static int collect_shard(const struct amx_experiment *exp, const char *const *axes,
                         const char *shard, int s, int *from, size_t *duplicates)
{
    char path[AMX_PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/runs", shard);
    struct stat sb;
    if (lstat(path, &sb) == 0 && S_ISLNK(sb.st_mode)) {
        fprintf(stderr,
                "%s: error: is a symbolic link, expected the shard's runs folder: adamix-run "
                "follows no link inside a results folder\n",
                path);
        return 1;
    }
    DIR *dir = opendir(path);
    if (!dir) {
        fprintf(stderr, "%s: error: cannot read the shard's runs folder (%s)\n", path,
                strerror(errno));
        return 1;
    }
    struct dirent *e;
    int rc = 0;
    while (rc == 0 && (e = readdir(dir)) != NULL) {
        if (e->d_name[0] == '.') continue;
        size_t k;
        rc = verify_shard_run(exp, axes, shard, e->d_name, &k);
        if (rc || k == (size_t)-1) continue;
        if (from[k] < 0)
            from[k] = s;
        else
            (*duplicates)++; /* in two shard folders: merged once */
    }
    closedir(dir);
    return rc;
}

/* The fields of a manifest that name the build; shards of different builds
 * are not one experiment's results (DESIGN.md section 8). */
static const char *const build_fields[] = {"version",  "git_commit", "git_dirty",
                                           "compiler", "cflags",     "blas"};

/* 0 when manifest b names the same build and data as a; else prints which
 * field differs (dir_a, dir_b: their folders) and returns 2. */
static int same_build(json_t *a, json_t *b, const char *dir_a, const char *dir_b)
{
    for (size_t f = 0; f < sizeof build_fields / sizeof *build_fields; f++) {
        json_t *x = json_object_get(a, build_fields[f]), *y = json_object_get(b, build_fields[f]);
        if (json_equal(x, y) || (!x && !y)) continue;
        char *tx = x ? json_dumps(x, JSON_ENCODE_ANY) : NULL;
        char *ty = y ? json_dumps(y, JSON_ENCODE_ANY) : NULL;
        fprintf(stderr,
                "%s/manifest.json: error: \"%s\" is %s, but %s/manifest.json has %s: shards of "
                "different builds cannot be merged (rerun them with one build)\n",
                dir_b, build_fields[f], ty ? ty : "absent", dir_a, tx ? tx : "absent");
        free(tx);
        free(ty);
        return 2;
    }
    /* the same data file read with other contents */
    json_t *da = json_object_get(a, "data_sha256"), *db = json_object_get(b, "data_sha256");
    const char *file;
    json_t *v;
    json_object_foreach(db, file, v)
    {
        json_t *w = json_object_get(da, file);
        if (w && !json_equal(v, w)) {
            fprintf(stderr,
                    "%s/manifest.json: error: read %s with SHA-256 %s, but %s read it with %s: "
                    "shards computed from different data cannot be merged\n",
                    dir_b, file, json_is_string(v) ? json_string_value(v) : "(not a string)", dir_a,
                    json_is_string(w) ? json_string_value(w) : "(not a string)");
            return 2;
        }
    }
    return 0;
}

/* Reads what the shard folder's manifest says (its experiment text into
 * *text); 0, or the exit status after printing the error. */
static int read_shard(struct shard_dir *sd, char **text, json_t **manifest)
{
    char path[AMX_PATH_MAX + 32];
    struct amx_error err;
    struct stat st;
    *text = NULL;
    *manifest = NULL;
    if (stat(sd->dir, &st) != 0 && errno == ENOENT) return 0; /* sd->exists stays false */
    snprintf(path, sizeof path, "%s/experiment.yaml", sd->dir);
    if (amx_read_file(path, text, NULL, &err) != AMX_OK) {
        fprintf(stderr, "%s: error: not a results folder of adamix-run (%s)\n", sd->dir, err.msg);
        return 2;
    }
    snprintf(path, sizeof path, "%s/manifest.json", sd->dir);
    json_error_t jerr;
    *manifest = json_load_file(path, 0, &jerr);
    if (!*manifest || !json_is_object(*manifest)) {
        if (*manifest)
            fprintf(stderr, "%s: error: expected a JSON object, found another value\n", path);
        else
            fprintf(stderr, "%s:%d:%d: error: cannot read (%s)\n", path,
                    jerr.line > 0 ? jerr.line : 1, jerr.column > 0 ? jerr.column : 1, jerr.text);
        json_decref(*manifest);
        *manifest = NULL;
        free(*text);
        *text = NULL;
        return 2;
    }
    sd->exists = true;
    json_t *shard = json_object_get(*manifest, "shard");
    if (shard && !(json_is_string(shard) &&
                   sscanf(json_string_value(shard), "%d/%d", &sd->index, &sd->n) == 2 &&
                   sd->index >= 1 && sd->index <= sd->n)) {
        fprintf(stderr, "%s: error: \"shard\" must be a string I/N with 1 <= I <= N\n", path);
        json_decref(*manifest);
        *manifest = NULL;
        free(*text);
        *text = NULL;
        return 2;
    }
    return 0;
}

/* Says, for every run of the merged experiment without a result, which shard
 * it belongs to and what that shard's folder holds of it. Returns how many. */
static size_t report_missing(const struct amx_experiment *exp, const char *out,
                             const struct shard_dir *sd, int n_shards, int n)
{
    char path[AMX_PATH_MAX + 300], why[AMX_ERROR_MSG_MAX + AMX_PATH_MAX + 64];
    size_t missing = 0;
    for (size_t i = 0; i < exp->n_runs; i++) {
        snprintf(path, sizeof path, "%s/runs/%s/summary.json", out, exp->runs[i].id);
        missing += !amx_file_exists(path);
    }
    if (missing == 0) return 0;
    fprintf(stderr,
            "adamix-run: error: %zu of %zu runs of the experiment are in none of the shards:\n",
            missing, exp->n_runs);
    char absent[AMX_PATH_MAX] = "";
    for (int s = 0, used = 0; s < n_shards; s++)
        if (!sd[s].exists && used < (int)sizeof absent)
            used += snprintf(absent + used, sizeof absent - (size_t)used, "%s%s", used ? ", " : "",
                             sd[s].dir);
    bool *rerun = calloc((size_t)n + 1, sizeof *rerun);
    for (size_t i = 0; i < exp->n_runs; i++) {
        const char *id = exp->runs[i].id;
        snprintf(path, sizeof path, "%s/runs/%s/summary.json", out, id);
        if (amx_file_exists(path)) continue;
        int k = n > 0 ? amx_run_shard(id, n) : 0;
        if (rerun) rerun[k] = true;
        const struct shard_dir *home = NULL;
        for (int s = 0; s < n_shards && !home; s++)
            if (sd[s].exists && sd[s].index == k) home = &sd[s];
        if (!home && absent[0])
            snprintf(why, sizeof why, "no folder of its shard was merged (not there: %s)", absent);
        else if (!home)
            snprintf(why, sizeof why, "no folder of its shard was given");
        else {
            char line[AMX_ERROR_MSG_MAX];
            snprintf(path, sizeof path, "%s/runs/%s/error.txt", home->dir, id);
            first_line(path, line, sizeof line);
            snprintf(path, sizeof path, "%s/runs/%s", home->dir, id);
            struct stat st;
            if (line[0])
                snprintf(why, sizeof why, "failed in %s: %s", home->dir, line);
            else if (stat(path, &st) == 0)
                snprintf(why, sizeof why, "not finished in %s (no summary.json)", home->dir);
            else
                snprintf(why, sizeof why, "not started in %s", home->dir);
        }
        char label[1024], shard[64] = "unsharded";
        amx_run_label(exp, i, label, sizeof label);
        if (k > 0) snprintf(shard, sizeof shard, "shard %d/%d", k, n);
        fprintf(stderr, "  %s  %s  %s: %s\n", id, shard, label, why);
    }
    if (n > 0 && rerun) {
        fprintf(stderr, "adamix-run: shards to rerun:");
        for (int k = 1, first = 1; k <= n; k++)
            if (rerun[k]) {
                fprintf(stderr, "%s%d", first ? " " : ",", k);
                first = 0;
            }
        fprintf(stderr, "\n");
    }
    free(rerun);
    return missing;
}

/* merge OUT SHARD_DIR...: the complete runs of every shard folder, one
 * experiment.yaml and a manifest listing the shards', then the report. A
 * shard folder that does not exist (its task failed before writing) is not
 * an error of usage: the merge goes on and says which runs it lacks. Shards
 * are trusted for nothing: the same experiment text, build and data files,
 * and every run verified (verify_shard_run) before OUT is written; a run in
 * two shard folders is merged (and counted) once. OUT is locked meanwhile. */
static int cmd_merge(const char *out, int n_shards, char **shards)
{
    struct amx_error err;
    struct shard_dir *sd = calloc((size_t)n_shards, sizeof *sd);
    json_t *manifests = json_array();
    char *first = NULL, path[AMX_PATH_MAX + 32];
    int rc = 0, n = -1, first_dir = -1;
    struct amx_experiment *exp = NULL;
    const char **axes = NULL;
    int *from = NULL;
    struct amx_dir_lock lock = {.fd = -1};
    if (!sd || !manifests) {
        fprintf(stderr, "adamix-run: error: out of memory\n");
        rc = 1;
        goto out;
    }
    /* every shard must come from the same experiment, overrides and split */
    for (int s = 0; s < n_shards; s++) {
        char *text;
        json_t *m;
        sd[s].dir = shards[s];
        if ((rc = read_shard(&sd[s], &text, &m)) != 0) goto out;
        if (!sd[s].exists) {
            fprintf(stderr, "adamix-run: warning: %s does not exist: merging without it\n",
                    shards[s]);
            continue;
        }
        json_array_append_new(manifests, m);
        if (first && strcmp(first, text) != 0) {
            fprintf(stderr,
                    "%s/experiment.yaml: error: differs from that of %s: shards of different "
                    "experiments (or overrides) cannot be merged\n",
                    shards[s], shards[first_dir]);
            free(text);
            rc = 2;
            goto out;
        }
        if (first &&
            (rc = same_build(json_array_get(manifests, 0), m, shards[first_dir], shards[s])) != 0) {
            free(text);
            goto out;
        }
        if (n >= 0 && sd[s].n != n) {
            fprintf(stderr,
                    "%s: error: a shard of a %d-way split, but %s is of a %d-way split (0: not "
                    "sharded): shards of different splits cannot be merged\n",
                    shards[s], sd[s].n, shards[first_dir], n);
            free(text);
            rc = 2;
            goto out;
        }
        if (!first) {
            first = text;
            first_dir = s;
            n = sd[s].n;
        } else {
            free(text);
        }
    }
    if (!first) {
        fprintf(stderr,
                "adamix-run: error: none of the %d shard folders exists: nothing to merge (did "
                "every task fail before writing? see their logs)\n",
                n_shards);
        rc = 1;
        goto out;
    }
    /* every run verified before anything is written: a refusal leaves OUT as it was */
    if ((rc = load_results(sd[first_dir].dir, &exp)) != 0) goto out;
    axes = calloc(exp->n_axes + 1, sizeof *axes);
    from = malloc((exp->n_runs + 1) * sizeof *from);
    if (!axes || !from) {
        fprintf(stderr, "adamix-run: error: out of memory\n");
        rc = 1;
        goto out;
    }
    for (size_t a = 0; a < exp->n_axes; a++)
        axes[a] = exp->axes[a].path;
    for (size_t k = 0; k < exp->n_runs; k++)
        from[k] = -1;
    size_t duplicates = 0;
    for (int s = 0; s < n_shards; s++)
        if (sd[s].exists && (rc = collect_shard(exp, axes, sd[s].dir, s, from, &duplicates)) != 0)
            goto out;

    if (amx_mkdir_p(out, &err) != AMX_OK || amx_dir_lock(out, &lock, &err) != AMX_OK) {
        print_error(&err);
        rc = 1;
        goto out;
    }
    snprintf(path, sizeof path, "%s/runs", out);
    if (amx_mkdir_nofollow(path, &err) != AMX_OK) {
        print_error(&err);
        rc = 1;
        goto out;
    }
    snprintf(path, sizeof path, "%s/experiment.yaml", out);
    enum amx_status st = amx_write_file_atomic(path, first, strlen(first), &err);
    /* the merged manifest: the first shard's (for its overrides), without its
     * shard, with every shard's manifest under merged_from */
    json_t *m = json_deep_copy(json_array_get(manifests, 0));
    json_object_del(m, "shard");
    json_object_del(m, "previous");
    json_object_set(m, "merged_from", manifests);
    char *mtext = json_dumps(m, JSON_PRESERVE_ORDER | JSON_INDENT(2));
    json_decref(m);
    snprintf(path, sizeof path, "%s/manifest.json", out);
    if (st == AMX_OK)
        st = mtext ? amx_write_file_atomic(path, mtext, strlen(mtext), &err)
                   : amx_fail(&err, AMX_ERR_NOMEM, path, 0, 0, "out of memory");
    free(mtext);
    if (st != AMX_OK) {
        print_error(&err);
        rc = 1;
        goto out;
    }
    size_t merged = 0;
    int present = 0;
    for (size_t k = 0; k < exp->n_runs; k++) {
        if (from[k] < 0) continue;
        if ((rc = copy_run(out, sd[from[k]].dir, exp->runs[k].id)) != 0) goto out;
        merged++;
    }
    for (int s = 0; s < n_shards; s++) {
        if (!sd[s].exists) continue;
        if ((rc = copy_pretrain_logs(out, sd[s].dir)) != 0) goto out;
        present++;
    }
    printf("merged %zu run%s from %d shard folder%s into %s", merged, merged == 1 ? "" : "s",
           present, present == 1 ? "" : "s", out);
    if (duplicates)
        printf(" (%zu run%s found in more than one shard folder, merged once)", duplicates,
               duplicates == 1 ? "" : "s");
    printf("\n");
    struct amx_experiment *merged_exp = NULL;
    if ((rc = load_results(out, &merged_exp)) != 0) goto out;
    rc = build_report(merged_exp, out, NULL);
    if (report_missing(merged_exp, out, sd, n_shards, n) > 0 && rc == 0) rc = 1;
    amx_experiment_free(merged_exp);
out:
    amx_dir_unlock(&lock);
    amx_experiment_free(exp);
    free(axes);
    free(from);
    free(first);
    free(sd);
    json_decref(manifests);
    return rc;
}

/* A whole number from the environment, strictly (no trailing garbage). */
static bool env_long(const char *name, long *out)
{
    const char *v = getenv(name);
    if (!v || !*v) return false;
    char *end;
    errno = 0;
    long x = strtol(v, &end, 10);
    if (*end || errno) return false;
    *out = x;
    return true;
}

static bool parse_shard(const char *s, int *i, int *n)
{
    char *end;
    long a = strtol(s, &end, 10);
    if (end == s || *end != '/') return false;
    const char *t = end + 1;
    long b = strtol(t, &end, 10);
    if (end == t || *end || b < 1 || a < 1 || a > b || b > 1000000) return false;
    *i = (int)a;
    *n = (int)b;
    return true;
}

static int dispatch(int argc, char **argv, struct options *opts);

int main(int argc, char **argv)
{
    struct options o = {.jobs = 0};
    o.overrides = calloc((size_t)argc + 1, sizeof *o.overrides);
    if (!o.overrides) {
        fprintf(stderr, "adamix-run: error: out of memory\n");
        return 1;
    }
    amx_temp_cleanup_on_signals(); /* a Ctrl-C leaves no half-written file */
    int rc = dispatch(argc, argv, &o);
    free(o.overrides);
    return rc;
}

static int dispatch(int argc, char **argv, struct options *opts)
{
    struct options o = *opts;
    static const struct option longopts[] = {{"out", required_argument, 0, 'o'},
                                             {"jobs", required_argument, 0, 'j'},
                                             {"set", required_argument, 0, 's'},
                                             {"shard", required_argument, 0, 1},
                                             {"cache", required_argument, 0, 7},
                                             {"dry-run", no_argument, 0, 2},
                                             {"print-config", no_argument, 0, 3},
                                             {"force", no_argument, 0, 4},
                                             {"rerun-failed", no_argument, 0, 5},
                                             {"fail-fast", no_argument, 0, 6},
                                             {"quiet", no_argument, 0, 'q'},
                                             {"help", no_argument, 0, 'h'},
                                             {"version", no_argument, 0, 'V'},
                                             {"rtol", required_argument, 0, 8},
                                             {"json", no_argument, 0, 9},
                                             {"save-weights", no_argument, 0, 10},
                                             {0, 0, 0, 0}};
    int c;
    bool shard_given = false;
    while ((c = getopt_long(argc, argv, "o:j:s:qhV", longopts, NULL)) != -1) {
        switch (c) {
        case 'o':
            if (!*optarg) return usage_error("%s", "--out expects a folder name, got ''");
            o.out = optarg;
            break;
        case 'j': {
            char *end;
            long j = strtol(optarg, &end, 10);
            if (end == optarg || *end || j < 1 || j > 1024)
                return usage_error("--jobs expects a whole number from 1 to 1024, got '%s'",
                                   optarg);
            o.jobs = (int)j;
            break;
        }
        case 's':
            o.overrides[o.n_overrides++] = optarg;
            break;
        case 1:
            if (!parse_shard(optarg, &o.shard_i, &o.shard_n))
                return usage_error("--shard expects I/N with 1 <= I <= N, got '%s'", optarg);
            shard_given = true;
            break;
        case 2:
            o.dry_run = true;
            break;
        case 3:
            o.print_config = true;
            break;
        case 4:
            o.force = true;
            break;
        case 5:
            o.rerun_failed = true;
            break;
        case 6:
            o.fail_fast = true;
            break;
        case 7:
            if (!*optarg) return usage_error("%s", "--cache expects a folder name, got ''");
            o.cache = optarg;
            break;
        case 8: {
            char *end;
            double x = strtod(optarg, &end);
            if (end == optarg || *end || !(x >= 0) || x > 1)
                return usage_error("--rtol expects a number from 0 to 1, got '%s'", optarg);
            o.rtol = x;
            o.rtol_given = true;
            break;
        }
        case 9:
            o.json = true;
            break;
        case 10:
            o.overrides[o.n_overrides++] = "output.weights=true";
            break;
        case 'q':
            o.quiet = true;
            break;
        case 'h':
            fputs(usage_text, stdout);
            return 0;
        case 'V':
            print_version();
            return 0;
        default:
            fputs(usage_text, stderr);
            return 2;
        }
    }
    if (o.force && o.rerun_failed)
        return usage_error("%s", "--force and --rerun-failed exclude each other");
    if (!shard_given) {
        const char *id = getenv("SLURM_ARRAY_TASK_ID");
        if (id && *id) {
            /* shard = (id - min) / step + 1, so --array=0-3, --array=1-4 and
             * --array=0-6:2 all give shards 1..4 */
            long i, n, m = 0, step = 1;
            if (!env_long("SLURM_ARRAY_TASK_ID", &i) || !env_long("SLURM_ARRAY_TASK_COUNT", &n) ||
                (getenv("SLURM_ARRAY_TASK_MIN") && !env_long("SLURM_ARRAY_TASK_MIN", &m)) ||
                (getenv("SLURM_ARRAY_TASK_STEP") && !env_long("SLURM_ARRAY_TASK_STEP", &step)) ||
                step < 1 || (i - m) % step != 0)
                return usage_error("%s",
                                   "SLURM_ARRAY_TASK_ID, _COUNT, _MIN and _STEP must be whole "
                                   "numbers giving a task of the array (or use --shard I/N)");
            char spec[64];
            snprintf(spec, sizeof spec, "%ld/%ld", (i - m) / step + 1, n);
            if (!parse_shard(spec, &o.shard_i, &o.shard_n))
                return usage_error("the SLURM_ARRAY_TASK_* variables give shard %s; expected I/N "
                                   "with 1 <= I <= N",
                                   spec);
        }
    }
    if (o.jobs == 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        o.jobs = n > 0 ? (int)n : 1;
    }
    if (optind >= argc) {
        fputs(usage_text, stderr);
        return 2;
    }
    const char *cmd = argv[optind];
    int rc;
    if ((o.rtol_given || o.json) && strcmp(cmd, "compare") != 0)
        return usage_error("%s", "--rtol and --json belong to compare A B");
    if (strcmp(cmd, "compare") == 0) {
        if (argc - optind != 3) return usage_error("%s", "compare expects two results folders A B");
        rc = cmd_compare(argv[optind + 1], argv[optind + 2], &o);
    } else if (strcmp(cmd, "report") == 0) {
        if (argc - optind != 2) return usage_error("%s", "report expects one RESULTS_DIR");
        rc = cmd_report(argv[optind + 1], NULL);
    } else if (strcmp(cmd, "merge") == 0) {
        if (argc - optind < 3)
            return usage_error("%s", "merge expects OUT_DIR and at least one SHARD_DIR");
        for (int i = optind + 1; i < argc; i++)
            if (!argv[i][0]) return usage_error("%s", "merge expects folder names, got ''");
        rc = cmd_merge(argv[optind + 1], argc - optind - 2, argv + optind + 2);
    } else {
        bool validate = strcmp(cmd, "validate") == 0;
        int first = optind + (validate ? 1 : 0);
        if (first >= argc) return usage_error("%s", "validate expects EXPERIMENT.yaml");
        const char *file = argv[first];
        for (int i = first + 1; i < argc; i++) {
            if (!strchr(argv[i], '='))
                return usage_error("unexpected argument '%s': expected PATH=VALUE", argv[i]);
            o.overrides[o.n_overrides++] = argv[i];
        }
        struct stat st;
        if (stat(file, &st) != 0) {
            fprintf(stderr, "%s: error: no such experiment file\n", file);
            return 2;
        }
        rc = validate ? cmd_validate(file, &o) : cmd_run(file, &o, argc, argv);
    }
    return rc;
}
