/* adamix-run: the command line (docs/design.md): arguments, help and
 * exit codes. The commands are in commands.c, the live progress display in
 * progress.c; only src/cli prints to the terminal or exits, and everything
 * it does is a call into the modules (docs/architecture.md). */
#define _POSIX_C_SOURCE 200809L
#include "cli.h"

#include "adamix/fsutil.h"
#include "adamix/nn.h" /* amx_blas_* */
#include "adamix/version.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char usage_text[] =
    "usage: adamix-run [options] EXPERIMENT.yaml [PATH=VALUE ...]\n"
    "       adamix-run validate EXPERIMENT.yaml [PATH=VALUE ...]\n"
    "       adamix-run report RESULTS_DIR [--set report.KEY=VALUE | report.KEY=VALUE]...\n"
    "       adamix-run merge OUT_DIR SHARD_DIR...\n"
    "       adamix-run compare A B [--rtol X] [--json] [--force]\n"
    "       adamix-run --help | --version\n"
    "\n"
    "Runs every point of an experiment's sweep (times its repeats), in parallel,\n"
    "reproducibly, and writes CSV/JSON reports and a figure (see README.md).\n"
    "With a tune section: the tuning runs (no test error) into DIR/tune, each\n"
    "member's values chosen on the validation images, then the members at them\n"
    "into DIR/final, the chosen values and a sensitivity figure into DIR\n"
    "(docs/experiment-language.md, \"Tune\"); --dry-run lists both stages.\n"
    "\n"
    "options:\n"
    "  -o, --out DIR         results folder (default: results/ mirrors experiments/:\n"
    "                        P/experiments/S/F.yaml -> P/results/S/F; a file outside\n"
    "                        an experiments/ folder -> results/<name>)\n"
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
    "      --force           rerun runs that already have a complete result; compare:\n"
    "                        join runs of configurations that differ beyond the axes\n"
    "      --rerun-failed    rerun only runs whose last attempt failed\n"
    "      --fail-fast       stop at the first failed run (default: keep going)\n"
    "      --save-weights    write each run's weights.npz (= --set output.weights=true)\n"
    "      --backend NAME    matrix products: onednn (the default when built in: the\n"
    "                        fastest, docs/performance.md) or openblas (--version\n"
    "                        lists them); also ADAMIX_BACKEND. Provenance, not part\n"
    "                        of the run id (docs/backends.md)\n"
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
    int bt = amx_blas_backend_threads();
    printf("backend: %s (%s; ISA %s; %d thread%s per product)\n", amx_blas_backend(),
           amx_blas_backend_version(), amx_blas_backend_isa(), bt, bt == 1 ? "" : "s");
    for (size_t i = 0; i < amx_blas_backend_count(); i++) {
        const char *why = amx_blas_backend_unavailable(i);
        printf("  %-9s %s\n", amx_blas_backend_name(i), why ? why : "available");
    }
}

/* --backend, else ADAMIX_BACKEND, else the program's default (the fastest
 * available: amx_blas_program_default); a name that is unknown or not built
 * in is a usage error naming the choices. */
static int select_backend(const char *name)
{
    const char *from = "--backend";
    if (!name) {
        name = getenv("ADAMIX_BACKEND");
        from = "ADAMIX_BACKEND";
        if (!name || !*name) {
            name = amx_blas_program_default();
            from = "the default backend";
        }
    }
    struct amx_error err;
    if (amx_blas_select(name, &err) == AMX_OK) return 0;
    fprintf(stderr, "adamix-run: error: %s: %s\n(try adamix-run --help)\n", from, err.msg);
    return 2;
}

static int usage_error(const char *fmt, const char *arg)
{
    fprintf(stderr, "adamix-run: error: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n(try adamix-run --help)\n");
    return 2;
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
    /* one option a line */
    /* clang-format off */
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
                                             {"backend", required_argument, 0, 11},
                                             {0, 0, 0, 0}};
    /* clang-format on */
    int c;
    bool shard_given = false, version = false;
    const char *backend = NULL;
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
        case 11:
            backend = optarg;
            break;
        case 'q':
            o.quiet = true;
            break;
        case 'h':
            fputs(usage_text, stdout);
            return 0;
        case 'V':
            version = true; /* printed once the backend is chosen */
            break;
        default:
            fputs(usage_text, stderr);
            return 2;
        }
    }
    int brc = select_backend(backend);
    if (brc) return brc;
    if (version) {
        print_version();
        return 0;
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
        if (argc - optind < 2) return usage_error("%s", "report expects one RESULTS_DIR");
        for (int i = optind + 2; i < argc; i++) {
            if (!strchr(argv[i], '='))
                return usage_error("unexpected argument '%s': report expects RESULTS_DIR, then "
                                   "report settings as PATH=VALUE",
                                   argv[i]);
            o.overrides[o.n_overrides++] = argv[i];
        }
        rc = cmd_report(argv[optind + 1], &o);
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
