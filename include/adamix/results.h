/* The results folder (docs/design.md, "Files written"): what is written into it besides
 * the runs' numbers, and what is read back from it. One module owns the
 * folder's layout: the experiment.yaml and manifest.json of an invocation,
 * the identity fields of a run's summary.json, whether a run folder already
 * holds a result of this very configuration (resume), the record of a
 * failed run, reading a folder's experiment back (report, compare, merge) and
 * merging the folders of a sharded sweep. The runner (src/run) computes;
 * this module decides what a folder means. The library never prints. */
#ifndef ADAMIX_RESULTS_H
#define ADAMIX_RESULTS_H

#include "adamix/config.h"
#include "adamix/error.h"
#include "adamix/report.h"
#include "adamix/sweep.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* How summary.json is written (and compared when its identity is refreshed). */
#define AMX_SUMMARY_JSON_FLAGS (JSON_PRESERVE_ORDER | JSON_INDENT(2) | JSON_REAL_PRECISION(10))

/* hex = the SHA-256 of cfg's canonical form (amx_canonical_form), whose first
 * AMX_RUN_ID_LEN digits are the run id; false when out of memory. */
bool amx_config_sha256(const struct amx_run_config *cfg, char hex[65]);

/* Sets summary.json's identity fields of exp's run (name, sweep labels,
 * repeat, seed) in root: what names a result, as opposed to its numbers. */
void amx_summary_identity(const struct amx_experiment *exp, size_t run, json_t *root);

/* ---- shards and labels ------------------------------------------------- */

/* The shard (1-based, of count >= 1) a run belongs to, a function of its id
 * and count alone (rendezvous hashing): adding or removing other runs never
 * moves it, and shards are balanced in expectation, not exactly. */
int amx_run_shard(const char *id, int count);
/* Whether run belongs to shard index (1-based) of count; count 0: every run. */
bool amx_run_in_shard(const struct amx_experiment *exp, size_t run, int index, int count);

/* Label of a run for display: "finetune.rules=AdaMix finetune.epochs=10 repeat=1". */
void amx_run_label(const struct amx_experiment *exp, size_t run, char *buf, size_t size);

/* ---- one invocation's record ------------------------------------------- */

/* What manifest.json records of an invocation besides the build and host. */
struct amx_manifest_info {
    const char *out_dir;
    int jobs;
    int argc;
    char **argv;
    int shard_index, shard_count; /* 0, 0: not sharded */
    size_t n_files;               /* data files read, with their SHA-256 */
    const char *const *file_paths;
    const char *const *file_sha256;
};

/* out_dir/experiment.yaml: the experiment text as given (text), then the
 * command line's overrides as comments. */
enum amx_status amx_results_write_experiment(const char *out_dir, const char *text,
                                             const struct amx_experiment *exp,
                                             struct amx_error *err);

/* The manifests of the earlier invocations on out_dir, oldest first (a new
 * array, empty when there were none; whatever is not a manifest of ours is
 * dropped). NULL only when out of memory. */
json_t *amx_results_previous_invocations(const char *out_dir);

/* Writes out_dir/manifest.json: build, host, data files, command line,
 * overrides, shard, start and end (ended NULL: still running), and the
 * earlier invocations (previous, may be NULL). */
enum amx_status amx_results_write_manifest(const struct amx_experiment *exp,
                                           const struct amx_manifest_info *info,
                                           const char *started, const char *ended, json_t *previous,
                                           struct amx_error *err);

/* What computed a results folder's runs: the backend and the ISA it
 * dispatched to (for openblas, the OpenBLAS kernel). */
struct amx_compute_id {
    char backend[32];
    char isa[64];
};

/* The first invocation of dir's manifest (the last, then the earlier ones)
 * whose backend or ISA is not now's: copied into other, true. A manifest
 * written before backends existed names only blas_core: openblas on that
 * kernel. False when every invocation computed as now, or there is no
 * readable manifest. */
bool amx_results_other_compute(const char *dir, const struct amx_compute_id *now,
                               struct amx_compute_id *other);

/* ---- resume -------------------------------------------------------------- */

/* Whether run_dir holds a complete result computed from this very
 * configuration and data: amx_result_check (the one verdict on a run folder,
 * shared with report, compare and merge) finds it complete, its summary.json
 * names the same data files (train_sha, test_sha) and its config_sha256 is
 * cfg's (amx_config_sha256); a folder written before summary.json had
 * config_sha256 is of cfg when its config.yaml (with its own repeat) has
 * cfg's canonical form. INVALID (with why): a damaged result, or the files of
 * another run, to be redone and said so; ABSENT: nothing there, or a result
 * of other data or another configuration, or weights.npz asked for but
 * missing. */
enum amx_result_state amx_results_run_state(const char *run_dir, const char *id,
                                            const struct amx_run_config *cfg, const char *train_sha,
                                            const char *test_sha, char *why, size_t why_size);

/* A reused run keeps its numbers, but what names it follows the experiment:
 * config.yaml (name, description, report) and summary.json's identity fields
 * (a renamed sweep variant; config_sha256 added to an older folder) are
 * rewritten when they differ. Best effort: a failure leaves them as they were. */
void amx_results_refresh_identity(const struct amx_experiment *exp, size_t run,
                                  const char *run_dir);

/* error.txt of a run folder: the message of its last failed attempt. */
bool amx_results_failed_before(const char *run_dir);
void amx_results_record_failure(const char *run_dir, const char *text);
void amx_results_clear_failure(const char *run_dir);

/* ---- reading a folder back ----------------------------------------------- */

/* Loads the experiment that results folder dir was made from: its
 * experiment.yaml with the overrides its manifest.json lists, both read as
 * strictly as any input. Errors (file:line:col) go to errs. */
enum amx_status amx_results_load(const char *dir, struct amx_experiment **exp,
                                 struct amx_errlist *errs);

/* amx_results_load with n_extra more PATH=VALUE overrides applied after the
 * manifest's (the report command's report.* settings; the caller checks that
 * they leave every run id as it is). */
enum amx_status amx_results_load_with(const char *dir, const char *const *extra, size_t n_extra,
                                      struct amx_experiment **exp, struct amx_errlist *errs);

/* Builds dir's report (amx_report_build) for exp's runs, rendering the
 * figure. */
enum amx_status amx_results_report(const struct amx_experiment *exp, const char *dir,
                                   struct amx_report_result *res, struct amx_error *err);

/* ---- merging the shards of an array job ---------------------------------- */

typedef void (*amx_results_warn_fn)(void *ctx, const char *message);

struct amx_merge_result {
    size_t merged;              /* runs copied into out */
    size_t duplicates;          /* runs found in more than one shard folder, merged once */
    int present;                /* shard folders that exist */
    struct amx_experiment *exp; /* out's experiment, for its report (caller frees) */
    size_t missing;             /* runs of the experiment in none of the shards */
    char *missing_text;         /* lines saying which and why, and the shards to rerun */
};

/* merge OUT SHARD_DIR...: the complete runs of every shard folder, one
 * experiment.yaml and a manifest listing the shards'. A shard folder that does
 * not exist (its task failed before writing) is not an error: the merge goes
 * on (warn says so) and res->missing says which runs it lacks. Shards are
 * trusted for nothing: the same experiment text, build and data files, and
 * every run verified (its summary, and its configuration hashing to its id)
 * before out is written; out is locked meanwhile. AMX_ERR_CONFIG: shards that
 * are not one experiment's (exit 2); AMX_ERR_IO: a damaged or unreadable one. */
enum amx_status amx_results_merge(const char *out, int n_shards, char *const *shards,
                                  amx_results_warn_fn warn, void *ctx, struct amx_merge_result *res,
                                  struct amx_error *err);
void amx_merge_result_free(struct amx_merge_result *res);

#endif
