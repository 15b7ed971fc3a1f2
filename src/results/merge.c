/* merge OUT SHARD_DIR...: the folders of a sharded sweep made one. Shards are
 * trusted for nothing: every check is made before OUT is written. */
#define _POSIX_C_SOURCE 200809L
#include "adamix/results.h"

#include "adamix/fsutil.h"
#include "adamix/node.h"

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* One shard folder given to merge: what its manifest says it is. */
struct shard_dir {
    const char *dir;
    bool exists;  /* false: not there (its task failed before writing, or never ran) */
    int index, n; /* "shard": "I/N" of its manifest; 0, 0 for an unsharded folder */
};

struct merge {
    const char *out;
    amx_results_warn_fn warn;
    void *ctx;
    struct amx_error *err;
};

static void warn(const struct merge *mg, const char *fmt, ...)
{
    char text[AMX_ERROR_MSG_MAX + AMX_PATH_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    if (mg->warn) mg->warn(mg->ctx, text);
}

static enum amx_status copy_file(const char *from, const char *to, struct amx_error *err)
{
    char *data = NULL;
    size_t len = 0;
    enum amx_status st = amx_read_file(from, &data, &len, err);
    if (st == AMX_OK) st = amx_write_file_atomic(to, data, len, err);
    free(data);
    return st;
}

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
 * interrupted merge leaves no complete-looking run). */
static enum amx_status copy_run(const char *out, const char *shard, const char *id,
                                struct amx_error *err)
{
    /* the optional files first (the pictures of a first repeat, weights.npz
     * with output.weights: copied when the shard has them, as regular
     * files), then the three every run has, summary.json last */
    static const char *files[] = {"gallery.png", "filters.png", "weights.npz",
                                  "config.yaml", "curve.csv",   "summary.json"};
    const size_t n_optional = 3, n_files = sizeof files / sizeof *files;
    char a[AMX_PATH_MAX + 300], b[AMX_PATH_MAX + 300], why[AMX_PATH_MAX + 400];
    snprintf(b, sizeof b, "%s/runs/%s", out, id);
    enum amx_status st = amx_mkdir_nofollow(b, err);
    for (size_t f = 0; f < n_files && st == AMX_OK; f++) {
        snprintf(a, sizeof a, "%s/runs/%s/%s", shard, id, files[f]);
        snprintf(b, sizeof b, "%s/runs/%s/%s", out, id, files[f]);
        if (f < n_optional && !amx_regular_file(a, why, sizeof why)) continue;
        st = copy_file(a, b, err);
    }
    return st;
}

/* The pretraining logs: written by the shard that computed the pretraining,
 * not by those that found it in a shared cache, so the merged folder takes
 * the union (an unsharded run writes all of them). */
static enum amx_status copy_pretrain_logs(const struct merge *mg, const char *shard)
{
    char a[AMX_PATH_MAX + 300], b[AMX_PATH_MAX + 300], why[AMX_PATH_MAX + 400];
    snprintf(a, sizeof a, "%s/pretrain", shard);
    DIR *dir = opendir(a);
    if (!dir) return AMX_OK; /* a shard of runs without pretraining */
    snprintf(b, sizeof b, "%s/pretrain", mg->out);
    enum amx_status st = amx_mkdir_nofollow(b, mg->err);
    struct dirent *e;
    while (st == AMX_OK && (e = readdir(dir)) != NULL) {
        size_t len = strlen(e->d_name);
        if (e->d_name[0] == '.' || len < 5 || strcmp(e->d_name + len - 4, ".csv") != 0) continue;
        snprintf(a, sizeof a, "%s/pretrain/%s", shard, e->d_name);
        snprintf(b, sizeof b, "%s/pretrain/%s", mg->out, e->d_name);
        if (!amx_regular_file(a, why, sizeof why)) {
            warn(mg, "%s: not merged", why);
            continue;
        }
        st = copy_file(a, b, mg->err);
    }
    closedir(dir);
    return st;
}

/* For a folder older than summary.json's config_sha256: whether its
 * config.yaml (path) binds to the configuration that hashes to id, with its
 * own repeat (or run k's, when it has none). */
static enum amx_status check_config(const struct amx_experiment *exp, size_t k, const char *id,
                                    const char *path, struct amx_error *err)
{
    struct amx_node *node = NULL;
    if (amx_node_parse_file(path, &node, err) != AMX_OK) {
        err->code = AMX_ERR_IO; /* a damaged file of a run of this experiment */
        return err->code;
    }
    struct amx_run_config *cfg = calloc(1, sizeof *cfg);
    struct amx_errlist errs = {0};
    enum amx_status st = AMX_OK;
    if (!cfg) {
        st = amx_fail(err, AMX_ERR_NOMEM, "", 0, 0, "out of memory");
    } else if (amx_config_bind(node, cfg, &errs) != AMX_OK) {
        st = amx_fail(err, AMX_ERR_CONFIG, path, 0, 0,
                      "does not bind to a run configuration: cannot be merged");
    } else {
        if (!amx_node_map_get(node, "repeat")) cfg->repeat = exp->runs[k].cfg.repeat;
        char got[AMX_RUN_ID_LEN + 1];
        amx_run_id(cfg, got);
        if (strcmp(got, id) != 0)
            st = amx_fail(err, AMX_ERR_CONFIG, path, 0, 0,
                          "describes run %s, not %s (the folder's name): a run folder whose "
                          "configuration does not match its id cannot be merged",
                          got, id);
    }
    amx_errlist_free(&errs);
    free(cfg);
    amx_node_free(node);
    return st;
}

/* Verifies one folder runs/<id> of a shard before anything is merged: no
 * link; a run of the merged experiment; complete by the one verdict on a run
 * folder that the runner, report and compare share (amx_result_judge: its
 * files intact, its config.yaml of the configuration that hashes to <id>);
 * and summary.json's config_sha256 (when there) that of the expansion's own
 * configuration. *run: the run's index in exp, or (size_t)-1 when the shard
 * holds no result of it (not finished there). AMX_ERR_CONFIG: not of this
 * experiment, or the files of another run; AMX_ERR_IO: a damaged result. */
static enum amx_status verify_shard_run(const struct amx_experiment *exp, const char *const *axes,
                                        const char *shard, const char *id, size_t *run,
                                        struct amx_error *err)
{
    char dir[AMX_PATH_MAX + 300], path[AMX_PATH_MAX + 340];
    *run = (size_t)-1;
    snprintf(dir, sizeof dir, "%s/runs/%s", shard, id);
    struct stat sb;
    if (lstat(dir, &sb) != 0) return AMX_OK;
    if (S_ISLNK(sb.st_mode))
        return amx_fail(err, AMX_ERR_IO, dir, 0, 0,
                        "is a symbolic link, expected a run folder: adamix-run follows no link "
                        "inside a results folder (remove the link)");
    if (!S_ISDIR(sb.st_mode)) return AMX_OK; /* not a run folder */
    struct amx_result_verdict v;
    enum amx_result_state state = amx_result_judge(dir, id, exp->n_axes, axes, &v);
    if (state == AMX_RESULT_ABSENT) return AMX_OK; /* incomplete in that shard */
    size_t k = 0;
    while (k < exp->n_runs && strcmp(exp->runs[k].id, id) != 0)
        k++;
    if (k == exp->n_runs)
        return amx_fail(err, AMX_ERR_CONFIG, dir, 0, 0,
                        "not a run of the merged experiment (its experiment.yaml expands to no "
                        "run of this id): cannot be merged");
    if (state == AMX_RESULT_INVALID && v.where.code == AMX_ERR_NOMEM) {
        *err = v.where;
        return err->code;
    }
    if (state == AMX_RESULT_INVALID && v.other_run)
        return amx_fail(err, AMX_ERR_CONFIG, v.where.path, v.where.line, v.where.col,
                        "%s: a run folder whose files are of another run cannot be merged",
                        v.where.msg);
    if (state == AMX_RESULT_INVALID) {
        char why[AMX_ERROR_PATH_MAX + AMX_ERROR_MSG_MAX + 32];
        if (v.where.line > 0)
            snprintf(why, sizeof why, "%s:%d:%d: %s", v.where.path, v.where.line, v.where.col,
                     v.where.msg);
        else
            snprintf(why, sizeof why, "%s: %s", v.where.path, v.where.msg);
        return amx_fail(err, AMX_ERR_IO, dir, 0, 0,
                        "a damaged result, not merged: %s (rerun that shard: it redoes the run)",
                        why);
    }
    snprintf(path, sizeof path, "%s/summary.json", dir);
    json_error_t jerr;
    json_t *s = json_load_file(path, 0, &jerr);
    const char *stored = json_string_value(json_object_get(s, "config_sha256"));
    char sha[65] = "";
    bool other = stored && amx_config_sha256(&exp->runs[k].cfg, sha) && strcmp(stored, sha) != 0;
    bool older = !stored; /* than config_sha256 */
    json_decref(s);
    if (other)
        return amx_fail(err, AMX_ERR_CONFIG, path, 0, 0,
                        "\"config_sha256\" is not that of run %s of the merged experiment: "
                        "cannot be merged",
                        id);
    snprintf(path, sizeof path, "%s/config.yaml", dir);
    if (older && check_config(exp, k, id, path, err) != AMX_OK) return err->code;
    *run = k;
    return AMX_OK;
}

/* Field k (0-based, comma-separated) of line: its start and length. */
static const char *field_of(const char *line, size_t k, size_t *len)
{
    for (; k > 0; k--) {
        line = strpbrk(line, ",\n");
        if (!line || *line == '\n') return NULL;
        line++;
    }
    *len = strcspn(line, ",\n");
    return line;
}

/* Whether curve texts a and b hold the same numbers, the timing column
 * (seconds) aside; else the first epoch (row) where they differ, -1 for
 * their headers. */
static bool same_curve_text(const char *a, const char *b, long *epoch)
{
    size_t ha = strcspn(a, "\n"), hb = strcspn(b, "\n"), n_cols = 0, seconds = (size_t)-1;
    *epoch = -1;
    if (ha != hb || strncmp(a, b, ha) != 0) return false;
    size_t len;
    for (const char *f; (f = field_of(a, n_cols, &len)) != NULL; n_cols++)
        if (len == 7 && strncmp(f, "seconds", 7) == 0) seconds = n_cols;
    for (long row = -1; *a || *b; row++) {
        *epoch = row;
        for (size_t j = 0; j < n_cols; j++) {
            size_t la = 0, lb = 0;
            const char *fa = field_of(a, j, &la), *fb = field_of(b, j, &lb);
            if (!fa || !fb) {
                if (fa != fb) return false;
                continue;
            }
            if (j != seconds && (la != lb || strncmp(fa, fb, la) != 0)) return false;
        }
        a += strcspn(a, "\n");
        b += strcspn(b, "\n");
        if ((*a == '\n') != (*b == '\n')) return false;
        a += *a == '\n';
        b += *b == '\n';
    }
    return true;
}

/* A run found in two shard folders (first, the one merged, and other):
 * warns when their curves differ, the timing aside (one was computed
 * elsewhere, or edited), saying which is merged. */
static void check_duplicate(const struct merge *mg, const char *first, const char *other,
                            const char *id)
{
    char a[AMX_PATH_MAX + 300], b[AMX_PATH_MAX + 300];
    snprintf(a, sizeof a, "%s/runs/%s/curve.csv", first, id);
    snprintf(b, sizeof b, "%s/runs/%s/curve.csv", other, id);
    char *ta = NULL, *tb = NULL;
    struct amx_error err;
    long epoch = -1;
    if (amx_read_file(a, &ta, NULL, &err) == AMX_OK &&
        amx_read_file(b, &tb, NULL, &err) == AMX_OK && !same_curve_text(ta, tb, &epoch)) {
        if (epoch >= 0)
            warn(mg,
                 "run %s is in %s and in %s with different curves (from epoch %ld on): merged "
                 "from %s, the first listed",
                 id, first, other, epoch, first);
        else
            warn(mg,
                 "run %s is in %s and in %s with different curve columns: merged from %s, the "
                 "first listed",
                 id, first, other, first);
    }
    free(ta);
    free(tb);
}

/* Every run folder of one shard, verified (verify_shard_run); from[k] gets
 * the shard (index s) that provides run k, the first one that has it. */
static enum amx_status collect_shard(const struct merge *mg, const struct amx_experiment *exp,
                                     const char *const *axes, const struct shard_dir *sd, int s,
                                     int *from, size_t *duplicates)
{
    const char *shard = sd[s].dir;
    struct amx_error *err = mg->err;
    char path[AMX_PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/runs", shard);
    struct stat sb;
    if (lstat(path, &sb) == 0 && S_ISLNK(sb.st_mode))
        return amx_fail(err, AMX_ERR_IO, path, 0, 0,
                        "is a symbolic link, expected the shard's runs folder: adamix-run "
                        "follows no link inside a results folder");
    DIR *dir = opendir(path);
    if (!dir)
        return amx_fail(err, AMX_ERR_IO, path, 0, 0, "cannot read the shard's runs folder (%s)",
                        strerror(errno));
    struct dirent *e;
    enum amx_status st = AMX_OK;
    while (st == AMX_OK && (e = readdir(dir)) != NULL) {
        if (e->d_name[0] == '.') continue;
        size_t k;
        st = verify_shard_run(exp, axes, shard, e->d_name, &k, err);
        if (st != AMX_OK || k == (size_t)-1) continue;
        if (from[k] < 0)
            from[k] = s;
        else {
            (*duplicates)++; /* in two shard folders: merged once */
            check_duplicate(mg, sd[from[k]].dir, shard, e->d_name);
        }
    }
    closedir(dir);
    return st;
}

/* The fields of a manifest that name the build and the matrix-product
 * backend; shards of different builds or backends are not one experiment's
 * results (docs/design.md, "Reproducibility"): their last bits differ. */
static const char *const build_fields[] = {"version", "git_commit", "git_dirty", "compiler",
                                           "cflags",  "blas",       "backend"};

/* Whether manifest b names the same build and data as a (dir_a, dir_b: their
 * folders); AMX_ERR_CONFIG naming the field that differs. */
static enum amx_status same_build(json_t *a, json_t *b, const char *dir_a, const char *dir_b,
                                  struct amx_error *err)
{
    char path[AMX_PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/manifest.json", dir_b);
    for (size_t f = 0; f < sizeof build_fields / sizeof *build_fields; f++) {
        json_t *x = json_object_get(a, build_fields[f]), *y = json_object_get(b, build_fields[f]);
        if (json_equal(x, y) || (!x && !y)) continue;
        char *tx = x ? json_dumps(x, JSON_ENCODE_ANY) : NULL;
        char *ty = y ? json_dumps(y, JSON_ENCODE_ANY) : NULL;
        amx_fail(err, AMX_ERR_CONFIG, path, 0, 0,
                 "\"%s\" is %s, but %s/manifest.json has %s: shards of different builds cannot "
                 "be merged (rerun them with one build)",
                 build_fields[f], ty ? ty : "absent", dir_a, tx ? tx : "absent");
        free(tx);
        free(ty);
        return err->code;
    }
    /* the same data file read with other contents */
    json_t *da = json_object_get(a, "data_sha256"), *db = json_object_get(b, "data_sha256");
    const char *file;
    json_t *v;
    json_object_foreach(db, file, v)
    {
        json_t *w = json_object_get(da, file);
        if (w && !json_equal(v, w))
            return amx_fail(err, AMX_ERR_CONFIG, path, 0, 0,
                            "read %s with SHA-256 %s, but %s read it with %s: shards computed "
                            "from different data cannot be merged",
                            file, json_is_string(v) ? json_string_value(v) : "(not a string)",
                            dir_a, json_is_string(w) ? json_string_value(w) : "(not a string)");
    }
    return AMX_OK;
}

/* Reads what the shard folder's manifest says (its experiment text into
 * *text); a folder that does not exist is no error (sd->exists stays false). */
static enum amx_status read_shard(struct shard_dir *sd, char **text, json_t **manifest,
                                  struct amx_error *err)
{
    char path[AMX_PATH_MAX + 32];
    struct stat st;
    *text = NULL;
    *manifest = NULL;
    if (stat(sd->dir, &st) != 0 && errno == ENOENT) return AMX_OK;
    snprintf(path, sizeof path, "%s/experiment.yaml", sd->dir);
    struct amx_error rerr;
    if (amx_read_file(path, text, NULL, &rerr) != AMX_OK)
        return amx_fail(err, AMX_ERR_CONFIG, sd->dir, 0, 0,
                        "not a results folder of adamix-run (%s)", rerr.msg);
    snprintf(path, sizeof path, "%s/manifest.json", sd->dir);
    json_error_t jerr;
    *manifest = json_load_file(path, 0, &jerr);
    enum amx_status bad = AMX_OK;
    if (!*manifest)
        bad = amx_fail(err, AMX_ERR_CONFIG, path, jerr.line > 0 ? jerr.line : 1,
                       jerr.column > 0 ? jerr.column : 1, "cannot read (%s)", jerr.text);
    else if (!json_is_object(*manifest))
        bad = amx_fail(err, AMX_ERR_CONFIG, path, 0, 0,
                       "expected a JSON object, found another value");
    if (bad == AMX_OK) {
        json_t *shard = json_object_get(*manifest, "shard");
        if (shard && !(json_is_string(shard) &&
                       sscanf(json_string_value(shard), "%d/%d", &sd->index, &sd->n) == 2 &&
                       sd->index >= 1 && sd->index <= sd->n))
            bad = amx_fail(err, AMX_ERR_CONFIG, path, 0, 0,
                           "\"shard\" must be a string I/N with 1 <= I <= N");
    }
    if (bad != AMX_OK) {
        json_decref(*manifest);
        *manifest = NULL;
        free(*text);
        *text = NULL;
        return bad;
    }
    sd->exists = true;
    return AMX_OK;
}

/* Says, for every run of the merged experiment without a result, which shard
 * it belongs to and what that shard's folder holds of it (into b). Returns
 * how many. */
static size_t report_missing(const struct amx_experiment *exp, const char *out,
                             const struct shard_dir *sd, int n_shards, int n, struct amx_buf *b)
{
    char path[AMX_PATH_MAX + 300], why[AMX_ERROR_MSG_MAX + AMX_PATH_MAX + 64];
    size_t missing = 0;
    for (size_t i = 0; i < exp->n_runs; i++) {
        snprintf(path, sizeof path, "%s/runs/%s/summary.json", out, exp->runs[i].id);
        missing += !amx_file_exists(path);
    }
    if (missing == 0) return 0;
    amx_buf_printf(b,
                   "adamix-run: error: %zu of %zu runs of the experiment are in none of the "
                   "shards:\n",
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
        amx_buf_printf(b, "  %s  %s  %s: %s\n", id, shard, label, why);
    }
    if (n > 0 && rerun) {
        amx_buf_printf(b, "adamix-run: shards to rerun:");
        for (int k = 1, first = 1; k <= n; k++)
            if (rerun[k]) {
                amx_buf_printf(b, "%s%d", first ? " " : ",", k);
                first = 0;
            }
        amx_buf_printf(b, "\n");
    }
    free(rerun);
    return missing;
}

/* Loads a folder's experiment for the merge; its first error into err. */
static enum amx_status load_folder(const char *dir, struct amx_experiment **exp,
                                   struct amx_error *err)
{
    struct amx_errlist errs = {0};
    enum amx_status st = amx_results_load(dir, exp, &errs);
    if (st != AMX_OK) {
        if (errs.n)
            *err = errs.items[0];
        else
            amx_fail(err, st, dir, 0, 0, "cannot load the experiment");
    }
    amx_errlist_free(&errs);
    return st;
}

/* Every shard from the same experiment, overrides, build and split: the
 * first one's experiment text into *first (index *first_dir), the split into
 * *n, every manifest appended to manifests. */
static enum amx_status check_shards(const struct merge *mg, struct shard_dir *sd, int n_shards,
                                    json_t *manifests, char **first, int *first_dir, int *n)
{
    for (int s = 0; s < n_shards; s++) {
        char *text;
        json_t *m;
        enum amx_status st = read_shard(&sd[s], &text, &m, mg->err);
        if (st != AMX_OK) return st;
        if (!sd[s].exists) {
            warn(mg, "%s does not exist: merging without it", sd[s].dir);
            continue;
        }
        json_array_append_new(manifests, m);
        char path[AMX_PATH_MAX + 32];
        snprintf(path, sizeof path, "%s/experiment.yaml", sd[s].dir);
        if (*first && strcmp(*first, text) != 0)
            st = amx_fail(mg->err, AMX_ERR_CONFIG, path, 0, 0,
                          "differs from that of %s: shards of different experiments (or "
                          "overrides) cannot be merged",
                          sd[*first_dir].dir);
        if (st == AMX_OK && *first)
            st =
                same_build(json_array_get(manifests, 0), m, sd[*first_dir].dir, sd[s].dir, mg->err);
        if (st == AMX_OK && *n >= 0 && sd[s].n != *n)
            st = amx_fail(mg->err, AMX_ERR_CONFIG, sd[s].dir, 0, 0,
                          "a shard of a %d-way split, but %s is of a %d-way split (0: not "
                          "sharded): shards of different splits cannot be merged",
                          sd[s].n, sd[*first_dir].dir, *n);
        if (st != AMX_OK || *first) {
            free(text);
            if (st != AMX_OK) return st;
            continue;
        }
        *first = text;
        *first_dir = s;
        *n = sd[s].n;
    }
    if (!*first)
        return amx_fail(mg->err, AMX_ERR_IO, "", 0, 0,
                        "none of the %d shard folders exists: nothing to merge (did every task "
                        "fail before writing? see their logs)",
                        n_shards);
    return AMX_OK;
}

/* out's experiment.yaml (the shards' text) and manifest: the first shard's
 * (for its overrides), without its shard, with every shard's manifest under
 * merged_from. */
static enum amx_status write_record(const char *out, const char *text, json_t *manifests,
                                    struct amx_error *err)
{
    char path[AMX_PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/experiment.yaml", out);
    enum amx_status st = amx_write_file_atomic(path, text, strlen(text), err);
    json_t *m = json_deep_copy(json_array_get(manifests, 0));
    json_object_del(m, "shard");
    json_object_del(m, "previous");
    json_object_set(m, "merged_from", manifests);
    char *mtext = json_dumps(m, JSON_PRESERVE_ORDER | JSON_INDENT(2));
    json_decref(m);
    snprintf(path, sizeof path, "%s/manifest.json", out);
    if (st == AMX_OK)
        st = mtext ? amx_write_file_atomic(path, mtext, strlen(mtext), err)
                   : amx_fail(err, AMX_ERR_NOMEM, path, 0, 0, "out of memory");
    free(mtext);
    return st;
}

enum amx_status amx_results_merge(const char *out, int n_shards, char *const *shards,
                                  amx_results_warn_fn warn_fn, void *ctx,
                                  struct amx_merge_result *res, struct amx_error *err)
{
    memset(res, 0, sizeof *res);
    struct merge mg = {.out = out, .warn = warn_fn, .ctx = ctx, .err = err};
    struct shard_dir *sd = calloc((size_t)n_shards + 1, sizeof *sd);
    json_t *manifests = json_array();
    char *first = NULL, path[AMX_PATH_MAX + 32];
    int n = -1, first_dir = -1;
    struct amx_experiment *exp = NULL;
    const char **axes = NULL;
    int *from = NULL;
    struct amx_dir_lock lock = {.fd = -1};
    enum amx_status st = AMX_OK;
    if (!sd || !manifests) {
        st = amx_fail(err, AMX_ERR_NOMEM, "", 0, 0, "out of memory");
        goto out;
    }
    for (int s = 0; s < n_shards; s++)
        sd[s].dir = shards[s];
    if ((st = check_shards(&mg, sd, n_shards, manifests, &first, &first_dir, &n)) != AMX_OK)
        goto out;
    /* every run verified before anything is written: a refusal leaves out as it was */
    if ((st = load_folder(sd[first_dir].dir, &exp, err)) != AMX_OK) goto out;
    axes = calloc(exp->n_axes + 1, sizeof *axes);
    from = malloc((exp->n_runs + 1) * sizeof *from);
    if (!axes || !from) {
        st = amx_fail(err, AMX_ERR_NOMEM, "", 0, 0, "out of memory");
        goto out;
    }
    for (size_t a = 0; a < exp->n_axes; a++)
        axes[a] = exp->axes[a].path;
    for (size_t k = 0; k < exp->n_runs; k++)
        from[k] = -1;
    for (int s = 0; s < n_shards && st == AMX_OK; s++)
        if (sd[s].exists) st = collect_shard(&mg, exp, axes, sd, s, from, &res->duplicates);
    if (st != AMX_OK) goto out;

    snprintf(path, sizeof path, "%s/runs", out);
    if ((st = amx_mkdir_p(out, err)) != AMX_OK || (st = amx_dir_lock(out, &lock, err)) != AMX_OK ||
        (st = amx_mkdir_nofollow(path, err)) != AMX_OK ||
        (st = write_record(out, first, manifests, err)) != AMX_OK)
        goto out;
    for (size_t k = 0; k < exp->n_runs; k++) {
        if (from[k] < 0) continue;
        if ((st = copy_run(out, sd[from[k]].dir, exp->runs[k].id, err)) != AMX_OK) goto out;
        res->merged++;
    }
    for (int s = 0; s < n_shards; s++) {
        if (!sd[s].exists) continue;
        if ((st = copy_pretrain_logs(&mg, sd[s].dir)) != AMX_OK) goto out;
        res->present++;
    }
    if ((st = load_folder(out, &res->exp, err)) != AMX_OK) goto out;
    struct amx_buf b = {0};
    res->missing = report_missing(res->exp, out, sd, n_shards, n, &b);
    res->missing_text = b.failed ? NULL : b.data;
    if (b.failed) amx_buf_free(&b);
out:
    amx_dir_unlock(&lock);
    amx_experiment_free(exp);
    free(axes);
    free(from);
    free(first);
    free(sd);
    json_decref(manifests);
    return st;
}

void amx_merge_result_free(struct amx_merge_result *res)
{
    amx_experiment_free(res->exp);
    free(res->missing_text);
    memset(res, 0, sizeof *res);
}
