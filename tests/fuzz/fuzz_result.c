/* libFuzzer target: a run folder's summary.json and curve.csv -> the one
 * validity check of the runner and the report (docs/design.md, "Where
 * results go").
 *
 * The input is the two files of a run folder, apart by the first NUL byte:
 * summary.json before it, curve.csv after it (no NUL: no curve.csv). They
 * are written into a run folder under $TMPDIR (or /tmp) and judged by
 * amx_result_check, then reported by amx_report_build. Besides crashes,
 * leaks and UBSan reports, it checks the contract:
 *
 *   - amx_result_check gives ABSENT, INVALID or COMPLETE; INVALID always
 *     with a reason that names a file of the folder; COMPLETE only with both
 *     files there;
 *   - the report (for every complete input and one in 16 of the others:
 *     it writes six files) never fails on what a run folder holds, counts
 *     the run complete exactly when the check says COMPLETE, and missing
 *     otherwise.
 *
 * Seeds: tests/fuzz/corpus/fuzz_result/ (NUL-separated pairs). */
#define _POSIX_C_SOURCE 200809L
#include "adamix/fsutil.h"
#include "adamix/report.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define RUN_ID "0123456789abcdef"

static char g_dir[512], g_run[600];

static void fail(const char *what, const char *detail)
{
    fprintf(stderr, "fuzz_result: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
    abort();
}

/* The folder every input is written into, made once. */
static void setup(void)
{
    if (g_dir[0]) return;
    const char *tmp = getenv("TMPDIR");
    snprintf(g_dir, sizeof g_dir, "%s/adamix-fuzz-result-%ld", tmp && *tmp ? tmp : "/tmp",
             (long)getpid());
    char runs[560];
    snprintf(runs, sizeof runs, "%s/runs", g_dir);
    snprintf(g_run, sizeof g_run, "%s/%s", runs, RUN_ID);
    if ((mkdir(g_dir, 0700) != 0 && !amx_file_exists(g_dir)) ||
        (mkdir(runs, 0700) != 0 && !amx_file_exists(runs)) ||
        (mkdir(g_run, 0700) != 0 && !amx_file_exists(g_run)))
        fail("cannot make the run folder", g_run);
}

/* Plain writes (no fsync): amx_write_file_atomic's would be most of the
 * time of an execution. */
static void put(const char *name, const uint8_t *data, size_t size)
{
    char path[700];
    snprintf(path, sizeof path, "%s/%s", g_run, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, size, f) != size || fclose(f) != 0) fail("cannot write", path);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > (1 << 20)) return 0;
    setup();
    const uint8_t *nul = memchr(data, 0, size);
    size_t n_summary = nul ? (size_t)(nul - data) : size;
    char path[700];
    put("summary.json", data, n_summary);
    snprintf(path, sizeof path, "%s/curve.csv", g_run);
    if (nul)
        put("curve.csv", nul + 1, size - n_summary - 1);
    else
        unlink(path);

    static const char *const axes[] = {"finetune.rules"};
    char why[4096];
    why[0] = '\0';
    enum amx_result_state st = amx_result_check(g_run, RUN_ID, 1, axes, why, sizeof why);
    if (st != AMX_RESULT_ABSENT && st != AMX_RESULT_INVALID && st != AMX_RESULT_COMPLETE)
        fail("a state outside the enum", NULL);
    if (st == AMX_RESULT_ABSENT) fail("ABSENT with a summary.json there", NULL);
    if (st == AMX_RESULT_INVALID && !strstr(why, g_run)) fail("INVALID without the file", why);
    if (st == AMX_RESULT_COMPLETE && !nul) fail("COMPLETE without a curve.csv", NULL);

    /* the report writes (and fsyncs) six files: every complete input, and
     * one in 16 of the others (chosen by the input, so a crash reproduces) */
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < size; i++)
        h = (h ^ data[i]) * 16777619u;
    if (st != AMX_RESULT_COMPLETE && h % 16 != 0) return 0;
    struct amx_report_config rc;
    memset(&rc, 0, sizeof rc);
    rc.metric = AMX_METRIC_TEST_ERROR;
    snprintf(rc.series, sizeof rc.series, "finetune.rules");
    const char *ids[] = {RUN_ID};
    struct amx_report_input in = {g_dir, &rc, "fuzz", 1, axes, 1, ids, false, 0, NULL};
    struct amx_report_result res;
    struct amx_error err = {0};
    if (amx_report_build(&in, &res, &err) != AMX_OK) fail("the report failed", err.msg);
    if ((res.n_complete == 1) != (st == AMX_RESULT_COMPLETE))
        fail("the report and the check disagree", why);
    if (res.n_complete + res.n_missing != 1) fail("the run counted twice or not at all", NULL);
    return 0;
}
