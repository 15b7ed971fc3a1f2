/* libFuzzer target: experiment text -> validated experiment.
 *
 * The input is the text of an experiment file. It goes through the whole
 * load path that `adamix-run validate` takes short of the data: parsing
 * (libyaml, UTF-8 and BOM checks, the alias bound), binding (types, ranges,
 * cross-field checks), sweep expansion (axes, zip, exclude, the run limit)
 * and run identity. Besides crashes, leaks and UBSan reports, it checks the
 * contract of amx_experiment_load_string and of config.yaml:
 *
 *   - success gives an experiment with at least one run and no error, each
 *     run with a 16-hex-digit id; failure gives no experiment and at least
 *     one error, every one with a message and, when it is about the file,
 *     a 1-based line and column;
 *   - a run's resolved configuration (amx_config_to_node), bound again
 *     directly and after writing it as YAML and parsing it back, gives the
 *     same run id: what config.yaml records is what ran.
 *
 * Inputs over the experiment file's size limit are skipped: the file reader
 * refuses them before parsing. Seeds: tests/fuzz/corpus/fuzz_experiment/. */
#include "adamix/config.h"
#include "adamix/node.h"
#include "adamix/sweep.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_NAME "fuzz.yaml"

static void fail(const char *what)
{
    fprintf(stderr, "fuzz_experiment: %s\n", what);
    abort();
}

static void check_errors(const struct amx_errlist *errs)
{
    if (errs->n == 0) fail("a refused experiment without an error");
    for (size_t i = 0; i < errs->n; i++) {
        const struct amx_error *e = &errs->items[i];
        if (e->code == AMX_OK) fail("an error with status AMX_OK");
        if (!e->msg[0]) fail("an error without a message");
        if (e->code == AMX_ERR_CONFIG && strcmp(e->path, FUZZ_NAME) == 0 &&
            (e->line < 1 || e->col < 1))
            fail("an error about the file without its line and column");
    }
}

/* The run's configuration written out and bound again: same id. */
static void check_round_trip(const struct amx_run *run)
{
    struct amx_node *t = amx_config_to_node(&run->cfg);
    if (!t) return; /* out of memory */
    struct amx_run_config back;
    struct amx_errlist errs = {0};
    char id[AMX_RUN_ID_LEN + 1];
    if (amx_config_bind(t, &back, &errs) != AMX_OK) fail("config.yaml's tree does not bind");
    amx_errlist_free(&errs);
    amx_run_id(&back, id);
    if (strcmp(id, run->id) != 0) fail("config.yaml's tree binds to another run id");
    char *text = amx_node_emit_string(t);
    amx_node_free(t);
    if (!text) return;
    struct amx_node *parsed = NULL;
    struct amx_error e;
    if (amx_node_parse_string(text, strlen(text), "config.yaml", true, &parsed, &e) != AMX_OK)
        fail("config.yaml as written does not parse");
    if (amx_config_bind(parsed, &back, &errs) != AMX_OK)
        fail("config.yaml as written does not bind");
    amx_errlist_free(&errs);
    amx_run_id(&back, id);
    if (strcmp(id, run->id) != 0) fail("config.yaml as written binds to another run id");
    amx_node_free(parsed);
    free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > AMX_NODE_MAX_FILE_BYTES) return 0;
    struct amx_experiment *exp = NULL;
    struct amx_errlist errs = {0};
    enum amx_status st =
        amx_experiment_load_string((const char *)data, size, FUZZ_NAME, NULL, 0, &exp, &errs);
    if (st == AMX_OK) {
        if (!exp || errs.n != 0) fail("a valid experiment with errors, or none");
        if (exp->n_runs == 0) fail("a valid experiment without a run");
        for (size_t r = 0; r < exp->n_runs; r++) {
            if (strlen(exp->runs[r].id) != AMX_RUN_ID_LEN ||
                strspn(exp->runs[r].id, "0123456789abcdef") != AMX_RUN_ID_LEN)
                fail("a run id that is not 16 hex digits");
        }
        check_round_trip(&exp->runs[0]);
        if (exp->n_runs > 1) check_round_trip(&exp->runs[exp->n_runs - 1]);
    } else {
        if (exp) fail("a refused experiment was returned");
        if (st != AMX_ERR_NOMEM) check_errors(&errs);
    }
    amx_experiment_free(exp);
    amx_errlist_free(&errs);
    return 0;
}
