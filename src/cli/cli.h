/* The command line's own interface between its files (src/cli): the
 * options, printing errors, the commands. */
#ifndef ADAMIX_CLI_H
#define ADAMIX_CLI_H

#include "adamix/error.h"

#include <stdbool.h>
#include <stddef.h>

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

#endif
