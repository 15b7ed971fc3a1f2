/* libFuzzer target: --set override strings.
 *
 * The input is up to 8 overrides, one per line ("PATH=VALUE", VALUE in YAML
 * syntax), applied to a small valid experiment with a sweep, as
 * `adamix-run EXPERIMENT.yaml PATH=VALUE...` does. Each override is also
 * applied alone, directly to a parsed tree (amx_override_apply), which must
 * either succeed or fail with a message and leave a tree that can still be
 * freed and bound. Besides crashes, leaks and UBSan reports it checks that a
 * refused load returns no experiment and at least one error with a message
 * and either both a line and a column or neither (an override's PATH is
 * named, "--set PATH", without a column; its VALUE is located in it).
 * Seeds: tests/fuzz/corpus/fuzz_override/. */
#include "adamix/config.h"
#include "adamix/node.h"
#include "adamix/sweep.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_OVERRIDES 8

static const char BASE[] = "name: fuzz\n"
                           "repeats: 2\n"
                           "data: {train_limit: 100, validation: 10}\n"
                           "network: {layers: [4, 3, 2]}\n"
                           "pretrain: {epochs: 2}\n"
                           "finetune:\n"
                           "  epochs: 3\n"
                           "  rules: {all: {rule: constant, eta0: 0.1}}\n"
                           "sweep:\n"
                           "  finetune.epochs: [1, 2]\n"
                           "  finetune.rules:\n"
                           "    A: {all: {rule: adagrad, eta0: 0.01}}\n"
                           "    B: {weights: current-gradient, biases: power}\n"
                           "  exclude: [{finetune.epochs: 2, finetune.rules: B}]\n"
                           "report: {series: finetune.rules, baseline: A}\n";

static void fail(const char *what)
{
    fprintf(stderr, "fuzz_override: %s\n", what);
    abort();
}

/* BASE parsed once; each override alone gets a copy (amx_node_clone), so an
 * execution parses no YAML but the overrides' values and the one whole load
 * (parsing BASE nine times was most of an execution's time). Reachable for
 * the process's life, so not a leak. */
static struct amx_node *base_tree(void)
{
    static struct amx_node *base;
    if (!base) {
        struct amx_error e;
        if (amx_node_parse_string(BASE, sizeof BASE - 1, "base.yaml", true, &base, &e) != AMX_OK)
            fail("the base experiment does not parse");
    }
    return base;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 65536) return 0; /* an override is a command-line word */
    char *buf = malloc(size + 1);
    if (!buf) return 0;
    memcpy(buf, data, size);
    buf[size] = '\0'; /* a word of the command line ends at its first NUL */
    const char *ov[MAX_OVERRIDES];
    size_t n = 0;
    for (char *p = buf; p && n < MAX_OVERRIDES;) {
        ov[n++] = p;
        p = strchr(p, '\n');
        if (p) *p++ = '\0';
    }

    /* each alone, straight into a tree */
    for (size_t i = 0; i < n; i++) {
        struct amx_node *root = amx_node_clone(base_tree());
        if (!root) break; /* out of memory */
        struct amx_error e;
        memset(&e, 0, sizeof e);
        enum amx_status st = amx_override_apply(root, ov[i], &e);
        if (st != AMX_OK && !e.msg[0]) fail("a refused override without a message");
        struct amx_run_config cfg;
        struct amx_errlist errs = {0};
        amx_node_map_remove(root, "sweep");
        (void)amx_config_bind(root, &cfg, &errs); /* valid or not; must not crash */
        amx_errlist_free(&errs);
        amx_node_free(root);
    }

    /* all of them, through the whole load */
    struct amx_experiment *exp = NULL;
    struct amx_errlist errs = {0};
    enum amx_status st =
        amx_experiment_load_string(BASE, sizeof BASE - 1, "base.yaml", ov, n, &exp, &errs);
    if (st == AMX_OK) {
        if (!exp || errs.n || exp->n_runs == 0) fail("a valid load without runs, or with errors");
        if (exp->n_overrides != n) fail("the overrides are not all recorded");
    } else {
        if (exp) fail("a refused load returned an experiment");
        if (st != AMX_ERR_NOMEM && errs.n == 0) fail("a refused load without an error");
        for (size_t i = 0; i < errs.n; i++) {
            const struct amx_error *e = &errs.items[i];
            if (!e->msg[0]) fail("an error without a message");
            if ((e->line < 1) != (e->col < 1)) fail("an error with a line but no column");
        }
    }
    amx_experiment_free(exp);
    amx_errlist_free(&errs);
    free(buf);
    return 0;
}
