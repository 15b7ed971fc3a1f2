/* The commands of the command line: each loads what it needs, calls the
 * modules, prints what happened and returns the exit status. */
#define _POSIX_C_SOURCE 200809L
#include "cli.h"
#include "progress.h"

#include "adamix/config.h"
#include "adamix/fsutil.h"
#include "adamix/nn.h" /* amx_blas_* */
#include "adamix/node.h"
#include "adamix/report.h"
#include "adamix/results.h"
#include "adamix/run.h"
#include "adamix/sweep.h"
#include "adamix/tune.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void cli_print_error(const struct amx_error *err)
{
    char buf[AMX_ERROR_MSG_MAX + AMX_ERROR_PATH_MAX + 64];
    amx_error_format(err, buf, sizeof buf);
    fprintf(stderr, "%s%s\n", err->path[0] ? "" : "adamix-run: ", buf);
}

int cli_print_errors(const struct amx_errlist *errs)
{
    for (size_t i = 0; i < errs->n; i++)
        cli_print_error(&errs->items[i]);
    enum amx_status worst = errs->n ? errs->items[0].code : AMX_ERR_CONFIG;
    if (errs->n > 1) fprintf(stderr, "%zu errors\n", errs->n);
    return amx_status_exit_code(worst);
}

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
        cli_print_error(&err);
        return amx_status_exit_code(err.code);
    }
    struct amx_errlist errs = {0};
    enum amx_status st =
        amx_experiment_load_string(*text, len, file, o->overrides, o->n_overrides, exp, &errs);
    if (st != AMX_OK) {
        int code = errs.n ? cli_print_errors(&errs) : amx_status_exit_code(st);
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

void cli_print_dry_run(const struct amx_experiment *exp, const struct options *o)
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

int cli_build_report(const struct amx_experiment *exp, const char *dir)
{
    struct amx_report_result res;
    struct amx_error err = {0};
    enum amx_status st = amx_results_report(exp, dir, &res, &err);
    if (st != AMX_OK) {
        cli_print_error(&err);
        return amx_status_exit_code(st);
    }
    if (res.warning[0]) fprintf(stderr, "adamix-run: warning: %s\n", res.warning);
    printf("report: %s/report.md, %s/summary.csv, %s/report.json (%zu of %zu runs complete)\n", dir,
           dir, dir, res.n_complete, res.n_listed);
    if (res.rendered)
        printf("figure: %s/figure.png (and figure.svg, figure.gp)\n", dir);
    else
        printf("figure script: %s/figure.gp\n", dir);
    return 0;
}

/* A rerun into a folder whose runs were computed on another backend, or on
 * another ISA of the same one (OpenBLAS's kernel), gets curves that differ in
 * their last bits (then like a change of seed): say so once, with how to
 * compute as the folder did. */
static void note_compute(const char *out)
{
    struct amx_compute_id now, other;
    memset(&now, 0, sizeof now);
    snprintf(now.backend, sizeof now.backend, "%s", amx_blas_backend());
    snprintf(now.isa, sizeof now.isa, "%s", amx_blas_backend_isa());
    if (!amx_results_other_compute(out, &now, &other)) return;
    const char *tail = "(they agree within the spread between repeats; adamix-run compare checks)";
    if (strcmp(other.backend, now.backend) != 0) {
        printf("note: %s/manifest.json names the backend %s (%s), this run computes on %s (%s): "
               "runs computed now will not be bit-identical to those computed there %s. For a "
               "bit-identical rerun: --backend %s",
               out, other.backend, other.isa, now.backend, now.isa, tail, other.backend);
        if (strcmp(other.backend, "openblas") == 0) printf(" and OPENBLAS_CORETYPE=%s", other.isa);
        printf("\n");
    } else if (strcmp(now.backend, "openblas") == 0) {
        printf("note: %s/manifest.json names the OpenBLAS kernel %s, this run computes on %s: runs "
               "computed now will not be bit-identical to those computed there on %s %s. For a "
               "bit-identical rerun: OPENBLAS_CORETYPE=%s\n",
               out, other.isa, now.isa, other.isa, tail, other.isa);
    } else {
        printf("note: %s/manifest.json names the %s ISA %s, this run computes on %s: runs computed "
               "now will not be bit-identical to those computed there %s\n",
               out, now.backend, other.isa, now.isa, tail);
    }
}

/* The default results folder (docs/design.md, "Where results go"): results
 * mirror experiments, so the file P/experiments/S/F.yaml writes into
 * P/results/S/F (its place, not its name: the folder and the file pair up);
 * a file outside any experiments/ folder writes into results/<name>. False
 * when the path does not fit. */
bool cli_default_out(const char *file, const char *name, char *out, size_t size)
{
    static const char marker[] = "experiments/";
    const char *dir = NULL; /* the last folder named experiments in the path */
    for (const char *p = file; (p = strstr(p, marker)) != NULL; p++)
        if (p == file || p[-1] == '/') dir = p;
    const char *rest = dir ? dir + strlen(marker) : NULL;
    if (rest && (strncmp(rest, "../", 3) == 0 || strstr(rest, "/../"))) rest = NULL;
    int n;
    if (!rest) {
        n = snprintf(out, size, "results/%s", name);
    } else {
        size_t len = strlen(rest);
        if (len > 5 && strcmp(rest + len - 5, ".yaml") == 0)
            len -= 5;
        else if (len > 4 && strcmp(rest + len - 4, ".yml") == 0)
            len -= 4;
        n = snprintf(out, size, "%.*sresults/%.*s", (int)(dir - file), file, (int)len, rest);
    }
    return n >= 0 && (size_t)n < size;
}

int cmd_run(const char *file, const struct options *o, int argc, char **argv)
{
    struct amx_experiment *exp = NULL;
    char *text = NULL;
    int rc = load_text(file, o, &exp, &text);
    if (rc) return rc;
    if ((o->dry_run && !exp->tune) || o->print_config) {
        if (o->dry_run)
            cli_print_dry_run(exp, o);
        else
            rc = print_config(exp);
        amx_experiment_free(exp);
        free(text);
        return rc;
    }
    char out[AMX_PATH_MAX + 16];
    snprintf(out, sizeof out, "%s", o->out ? o->out : "");
    if (!o->out &&
        !cli_default_out(file, exp->n_runs ? exp->runs[0].cfg.name : "x", out, sizeof out)) {
        fprintf(stderr, "adamix-run: error: %s: path too long for its results folder (give -o)\n",
                file);
        amx_experiment_free(exp);
        free(text);
        return 2;
    }
    if (exp->tune) {
        rc = cli_tune(exp, text, out, o, argc, argv);
    } else {
        rc = cli_run_into(exp, text, out, o->cache, o, argc, argv);
    }
    free(text);
    amx_experiment_free(exp);
    return rc;
}

int cli_run_into(struct amx_experiment *exp, char *text, const char *out, const char *cache,
                 const struct options *o, int argc, char **argv)
{
    int rc = 0;
    struct amx_error err = {0};
    struct amx_runner_options ro = {.out_dir = out,
                                    .cache_dir = cache,
                                    .jobs = o->jobs,
                                    .shard_index = o->shard_i,
                                    .shard_count = o->shard_n,
                                    .force = o->force,
                                    .rerun_failed = o->rerun_failed,
                                    .fail_fast = o->fail_fast,
                                    .argc = argc,
                                    .argv = argv,
                                    .experiment_text = text};
    note_compute(out);
    struct display d = {
        .live = !o->quiet && isatty(STDOUT_FILENO), .started = cli_now(), .workers = o->jobs};
    struct amx_runner_result res;
    enum amx_status st = amx_runner_run(exp, &ro, cli_on_event, &d, &res, &err);
    cli_clear_live(&d);
    if (st != AMX_OK && st != AMX_ERR_RUN) {
        cli_print_error(&err);
        return amx_status_exit_code(st);
    }
    printf("%s: %zu run%s: %zu ok, %zu diverged, %zu failed, %zu already complete",
           exp->n_runs ? exp->runs[0].cfg.name : "", res.total, res.total == 1 ? "" : "s", res.ok,
           res.diverged, res.failed, res.skipped);
    if (res.not_done) printf(", %zu not done", res.not_done);
    printf("\n");
    printf("pretraining: %zu computed, %zu reused from the cache\n", res.pretrain_computed,
           res.pretrain_reused);
    rc = cli_build_report(exp, out);
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
    cli_display_free(&d);
    return rc;
}

int cmd_validate(const char *file, const struct options *o)
{
    struct amx_experiment *exp = NULL;
    int rc = load(file, o, &exp);
    if (rc) return rc;
    /* the data too, from the files' headers: what a run would refuse at once */
    struct amx_errlist errs = {0};
    if (amx_experiment_check_data(exp, &errs) != AMX_OK) {
        rc = cli_print_errors(&errs);
        amx_errlist_free(&errs);
        amx_experiment_free(exp);
        return rc ? rc : 2;
    }
    amx_errlist_free(&errs);
    if (exp->tune)
        printf("%s: ok (tune: %zu member%s, each at its chosen values x %d repeat%s after the "
               "tuning; data checked)\n",
               file, exp->tune->n_members, exp->tune->n_members == 1 ? "" : "s",
               exp->n_runs ? exp->runs[0].cfg.repeats : 1,
               exp->n_runs && exp->runs[0].cfg.repeats == 1 ? "" : "s");
    else
        printf("%s: ok (%zu run%s, data checked)\n", file, exp->n_runs,
               exp->n_runs == 1 ? "" : "s");
    amx_experiment_free(exp);
    return 0;
}

/* Loads the experiment a results folder was made from (amx_results_load). */
static int load_results(const char *dir, struct amx_experiment **exp)
{
    struct amx_errlist errs = {0};
    enum amx_status st = amx_results_load(dir, exp, &errs);
    int rc = 0;
    if (st != AMX_OK) {
        rc = errs.n ? cli_print_errors(&errs) : amx_status_exit_code(st);
        if (!rc) rc = 2;
    }
    amx_errlist_free(&errs);
    return rc;
}

/* report DIR takes report settings only: anything else would describe runs
 * other than the folder's (and change their ids). Prints the refusal. */
static int report_settings_only(const struct options *o)
{
    for (size_t i = 0; i < o->n_overrides; i++) {
        const char *ov = o->overrides[i], *eq = strchr(ov, '=');
        size_t n = eq ? (size_t)(eq - ov) : strlen(ov);
        if (n > 7 && strncmp(ov, "report.", 7) == 0) continue;
        char keys[512] = "";
        const char *path;
        enum amx_key_class cls;
        unsigned tasks;
        for (size_t k = 0; amx_config_key_at(k, &path, &cls, &tasks); k++) {
            size_t l = strlen(keys);
            if (cls == AMX_KEY_REPORT)
                snprintf(keys + l, sizeof keys - l, "%s%s", l ? ", " : "", path);
        }
        fprintf(stderr,
                "adamix-run: error: --set %s: %.*s is not a report setting; adamix-run report "
                "DIR takes only %s (to change what the runs compute, run the experiment with "
                "--set and another -o)\n",
                ov, (int)n, ov, keys);
        return 2;
    }
    return 0;
}

int cmd_report(const char *dir, const struct options *o)
{
    struct amx_experiment *exp = NULL;
    int rc = report_settings_only(o);
    if (rc) return rc;
    struct amx_errlist errs = {0};
    if (amx_results_load_with(dir, o->overrides, o->n_overrides, &exp, &errs) != AMX_OK) {
        rc = errs.n ? cli_print_errors(&errs) : 2;
        amx_errlist_free(&errs);
        return rc ? rc : 2;
    }
    amx_errlist_free(&errs);
    rc = exp->tune ? cli_tune_report(exp, dir) : cli_build_report(exp, dir);
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
        dir, exp->n_runs ? exp->runs[0].cfg.name : "", exp->n_axes, axes, exp->n_runs,
        ids, exp->n_runs ? &exp->runs[0].cfg : NULL};
    return true;
}

int cmd_compare(const char *a, const char *b, const struct options *o)
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
        const char *metric = ea->n_runs ? ea->runs[0].cfg.report.column : "test_error";
        char *text = NULL;
        int verdict = 1;
        struct amx_error err = {0};
        if (amx_compare_configs(&sa, &sb, metric, o->rtol_given ? o->rtol : 0.01, o->json, o->force,
                                &text, &verdict, &err) != AMX_OK) {
            cli_print_error(&err);
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

static void merge_warning(void *ctx, const char *message)
{
    (void)ctx;
    fprintf(stderr, "adamix-run: warning: %s\n", message);
}

int cmd_merge(const char *out, int n_shards, char **shards)
{
    struct amx_merge_result res;
    struct amx_error err = {0};
    enum amx_status st = amx_results_merge(out, n_shards, shards, merge_warning, NULL, &res, &err);
    if (st != AMX_OK) {
        cli_print_error(&err);
        amx_merge_result_free(&res);
        return amx_status_exit_code(st);
    }
    printf("merged %zu run%s from %d shard folder%s into %s", res.merged,
           res.merged == 1 ? "" : "s", res.present, res.present == 1 ? "" : "s", out);
    if (res.duplicates)
        printf(" (%zu run%s found in more than one shard folder, merged once)", res.duplicates,
               res.duplicates == 1 ? "" : "s");
    printf("\n");
    int rc = cli_build_report(res.exp, out);
    if (res.missing > 0) {
        fflush(stdout);
        fputs(res.missing_text ? res.missing_text : "", stderr);
        if (rc == 0) rc = 1;
    }
    amx_merge_result_free(&res);
    return rc;
}
