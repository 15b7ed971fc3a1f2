/* One invocation's record in the results folder: experiment.yaml (what ran,
 * exactly as given) and manifest.json (with what, where and when, and the
 * invocations before it). */
#define _POSIX_C_SOURCE 200809L
#include "adamix/results.h"

#include "adamix/fsutil.h"
#include "adamix/nn.h" /* amx_blas_* */
#include "adamix/version.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

enum amx_status amx_results_write_experiment(const char *out_dir, const char *text,
                                             const struct amx_experiment *exp,
                                             struct amx_error *err)
{
    struct amx_buf b = {0};
    if (!text) text = "";
    amx_buf_append(&b, text, strlen(text));
    if (b.len > 0 && b.data[b.len - 1] != '\n') amx_buf_append(&b, "\n", 1);
    if (exp->n_overrides > 0) {
        amx_buf_printf(&b, "# overrides given on the command line, applied in this order:\n");
        for (size_t i = 0; i < exp->n_overrides; i++)
            amx_buf_printf(&b, "#   --set %s\n", exp->overrides[i]);
    }
    char path[AMX_PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/experiment.yaml", out_dir);
    enum amx_status st = b.failed ? amx_fail(err, AMX_ERR_NOMEM, path, 0, 0, "out of memory")
                                  : amx_write_file_atomic(path, b.data ? b.data : "", b.len, err);
    amx_buf_free(&b);
    return st;
}

json_t *amx_results_previous_invocations(const char *out_dir)
{
    char path[AMX_PATH_MAX + 32];
    amx_path_join(path, sizeof path, out_dir, "manifest.json");
    json_error_t jerr;
    json_t *old = json_load_file(path, 0, &jerr);
    json_t *previous = json_array();
    if (previous && json_is_object(old)) { /* anything else is not a manifest of ours */
        json_t *prev = json_object_get(old, "previous");
        if (json_is_array(prev)) json_array_extend(previous, prev);
        json_object_del(old, "previous");
        json_array_append(previous, old);
    }
    json_decref(old);
    return previous;
}

static void cpu_model(char *buf, size_t size)
{
    snprintf(buf, size, "unknown");
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f) return;
    char line[512];
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "model name", 10) == 0) {
            char *p = strchr(line, ':');
            if (p) {
                p++;
                while (*p == ' ')
                    p++;
                p[strcspn(p, "\n")] = '\0';
                snprintf(buf, size, "%s", p);
            }
            break;
        }
    }
    fclose(f);
}

enum amx_status amx_results_write_manifest(const struct amx_experiment *exp,
                                           const struct amx_manifest_info *info,
                                           const char *started, const char *ended, json_t *previous,
                                           struct amx_error *err)
{
    json_t *m = json_object();
    json_object_set_new(m, "program", json_string("adamix-run"));
    json_object_set_new(m, "version", json_string(amx_version()));
    json_object_set_new(m, "git_commit", json_string(amx_git_commit()));
    json_object_set_new(m, "git_dirty", json_boolean(amx_git_dirty()));
    json_object_set_new(m, "compiler", json_string(amx_compiler()));
    json_object_set_new(m, "cflags", json_string(amx_cflags()));
    json_object_set_new(m, "blas", json_string(amx_blas_config()));
    json_object_set_new(m, "blas_core", json_string(amx_blas_corename()));
    json_object_set_new(m, "blas_threads_per_worker", json_integer(1));
    /* the matrix-product backend the workers use (provenance, not identity;
     * the implementations each run's products ran on are in its
     * summary.json: this process makes no product) */
    json_object_set_new(m, "backend", json_string(amx_blas_backend()));
    json_object_set_new(m, "backend_version", json_string(amx_blas_backend_version()));
    json_object_set_new(m, "backend_isa", json_string(amx_blas_backend_isa()));
    json_object_set_new(m, "threads_per_task",
                        json_string("1, or up to 2 for a task that is the only one ready (the "
                                    "results do not depend on it)"));
    json_object_set_new(m, "jobs", json_integer(info->jobs));
    struct utsname u;
    if (uname(&u) == 0) {
        char host[600];
        snprintf(host, sizeof host, "%s (%s %s %s)", u.nodename, u.sysname, u.release, u.machine);
        json_object_set_new(m, "host", json_string(host));
    }
    char cpu[256];
    cpu_model(cpu, sizeof cpu);
    json_object_set_new(m, "cpu", json_string(cpu));
    json_object_set_new(m, "cores", json_integer(sysconf(_SC_NPROCESSORS_ONLN)));
    json_t *files = json_object();
    for (size_t i = 0; i < info->n_files; i++)
        json_object_set_new(files, info->file_paths[i], json_string(info->file_sha256[i]));
    json_object_set_new(m, "data_sha256", files);
    json_t *argv = json_array();
    for (int i = 0; i < info->argc; i++)
        json_array_append_new(argv, json_string(info->argv[i]));
    json_object_set_new(m, "command_line", argv);
    json_t *ov = json_array();
    for (size_t i = 0; i < exp->n_overrides; i++)
        json_array_append_new(ov, json_string(exp->overrides[i]));
    json_object_set_new(m, "overrides", ov);
    json_object_set_new(m, "experiment_file", json_string(exp->file));
    if (info->shard_count > 0) {
        char shard[64];
        snprintf(shard, sizeof shard, "%d/%d", info->shard_index, info->shard_count);
        json_object_set_new(m, "shard", json_string(shard));
    }
    json_object_set_new(m, "started", json_string(started));
    json_object_set_new(m, "ended", ended ? json_string(ended) : json_null());
    /* earlier invocations on this folder (resumes, other shards), oldest first */
    if (previous) json_object_set(m, "previous", previous);
    char *text = json_dumps(m, JSON_PRESERVE_ORDER | JSON_INDENT(2));
    json_decref(m);
    if (!text) return amx_fail(err, AMX_ERR_NOMEM, "", 0, 0, "out of memory");
    char path[AMX_PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/manifest.json", info->out_dir);
    struct amx_buf b = {0};
    amx_buf_printf(&b, "%s\n", text);
    free(text);
    enum amx_status st = b.failed ? amx_fail(err, AMX_ERR_NOMEM, path, 0, 0, "out of memory")
                                  : amx_write_file_atomic(path, b.data, b.len, err);
    amx_buf_free(&b);
    return st;
}

bool amx_results_other_compute(const char *dir, const struct amx_compute_id *now,
                               struct amx_compute_id *other)
{
    char path[AMX_PATH_MAX + 32];
    amx_path_join(path, sizeof path, dir, "manifest.json");
    json_error_t jerr;
    json_t *m = json_load_file(path, 0, &jerr);
    if (!m) return false;
    /* this folder's invocations: the last one and every earlier one */
    bool found = false;
    json_t *prev = json_object_get(m, "previous");
    for (size_t i = 0; i <= json_array_size(prev) && !found; i++) {
        json_t *e = i == 0 ? m : json_array_get(prev, i - 1);
        const char *backend = json_string_value(json_object_get(e, "backend"));
        const char *isa = json_string_value(json_object_get(e, "backend_isa"));
        if (!backend) { /* before backends: OpenBLAS on its kernel */
            backend = "openblas";
            isa = json_string_value(json_object_get(e, "blas_core"));
        }
        if (!isa) continue; /* not a manifest of ours: nothing to say */
        if (strcmp(backend, now->backend) != 0 || strcmp(isa, now->isa) != 0) {
            snprintf(other->backend, sizeof other->backend, "%s", backend);
            snprintf(other->isa, sizeof other->isa, "%s", isa);
            found = true;
        }
    }
    json_decref(m);
    return found;
}
