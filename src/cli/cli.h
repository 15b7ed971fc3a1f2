/* The command line's own interface between its files (src/cli): the
 * options, printing errors, the commands. */
#ifndef ADAMIX_CLI_H
#define ADAMIX_CLI_H

#include "adamix/error.h"

#include <stdbool.h>
#include <stddef.h>

struct amx_experiment;

struct options {
    const char *out;
    const char *cache;
    int jobs;
    bool dry_run, print_config, force, rerun_failed, fail_fast, quiet;
    bool report_only; /* a tuned experiment's stages reported, not run (cmd_report) */
    int shard_i, shard_n;
    double rtol; /* compare */
    bool json, rtol_given;
    const char **overrides;
    size_t n_overrides;
};

/* Prints err as file:line:col: error: what (prefixed "adamix-run: " when
 * it names no file). */
void cli_print_error(const struct amx_error *err);
/* Prints every error, then their count; returns the first one's exit code. */
int cli_print_errors(const struct amx_errlist *errs);

/* The commands: each returns the exit status (docs/design.md, "Command line"). */
int cmd_run(const char *file, const struct options *o, int argc, char **argv);
int cmd_validate(const char *file, const struct options *o);
int cmd_report(const char *dir, const struct options *o);
int cmd_compare(const char *a, const char *b, const struct options *o);
int cmd_merge(const char *out, int n_shards, char **shards);

/* Shared by the commands (commands.c): the dry-run listing, the report of
 * a folder, the default results folder, one experiment run into a folder
 * (its exit status). */
void cli_print_dry_run(const struct amx_experiment *exp, const struct options *o);
int cli_build_report(const struct amx_experiment *exp, const char *dir);
bool cli_default_out(const char *file, const char *name, char *out, size_t size);
int cli_run_into(struct amx_experiment *exp, char *text, const char *out, const char *cache,
                 const struct options *o, int argc, char **argv);
/* Tune, then test (tune.c): both stages of an experiment with a `tune`
 * section, into out (docs/experiment-language.md, "Tune"). */
int cli_tune(struct amx_experiment *exp, const char *text, const char *out, const struct options *o,
             int argc, char **argv);
/* adamix-run report on the folder of a tuned experiment: every stage's
 * report and the tuning report again, from the run folders alone. */
int cli_tune_report(struct amx_experiment *exp, const char *dir);

#endif
