/* Unit tests of src/run's sharding and pretraining cache: which shard a run
 * belongs to (stable when the sweep grows, few moves when N grows, balanced
 * in expectation), the cache file (round trip, corruption refused) and the
 * per-entry lock that concurrent shards take (busy while held, released when
 * its holder dies, its file removed when let go). Then what only whole-run
 * comparisons covered before: what the pretraining key depends on and what
 * not; the merge of the step's part-optimizers' rate statistics into
 * curve.csv against a hand computation; docs/design.md's promise that
 * the variants of one repeat start from the same weights and see the same
 * batches while repeats differ; and momentum with AdaGrad, AdaDec and
 * RMSprop against hand-computed update sequences. */
#define _POSIX_C_SOURCE 200809L
#include "private.h"
#include "adamix/fsutil.h"
#include "adamix/optim.h"
#include "adamix/run.h"
#include "adamix/sweep.h"
#include "testutil.h"

#include <check.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* A hex id as the sweep makes them (16 hex digits). */
static void fake_id(unsigned long i, char id[AMX_RUN_ID_LEN + 1])
{
    unsigned long long x = (unsigned long long)i * 0x9e3779b97f4a7c15ull + 12345u;
    snprintf(id, AMX_RUN_ID_LEN + 1, "%016llx", x);
}

START_TEST(test_shard_in_range_and_trivial_counts)
{
    char id[AMX_RUN_ID_LEN + 1];
    for (unsigned long i = 0; i < 2000; i++) {
        fake_id(i, id);
        ck_assert_int_eq(amx_run_shard(id, 1), 1);
        int s = amx_run_shard(id, 5);
        ck_assert_int_ge(s, 1);
        ck_assert_int_le(s, 5);
        ck_assert_int_eq(amx_run_shard(id, 5), s); /* a function of id and N */
    }
}
END_TEST

/* The assignment is part of what a results folder means on a cluster: a
 * change of hash moves the runs of every existing sharded sweep. These pin
 * it (values of the current implementation, rendezvous over splitmix64). */
START_TEST(test_shard_pinned)
{
    ck_assert_int_eq(amx_run_shard("24df4e937f27663a", 3), 3);
    ck_assert_int_eq(amx_run_shard("ce8b6426f9628823", 3), 1);
    ck_assert_int_eq(amx_run_shard("1280ad4447b71751", 3), 2);
    ck_assert_int_eq(amx_run_shard("f07accf71aaca3b5", 3), 2);
}
END_TEST

/* Every shard equally likely: over 42,000 ids in 7 shards each count is
 * within 5 standard deviations of 6,000 (sd = sqrt(n p (1-p)) = 71). */
START_TEST(test_shard_balanced)
{
    enum { N = 7, RUNS = 42000 };
    size_t count[N + 1] = {0};
    char id[AMX_RUN_ID_LEN + 1];
    for (unsigned long i = 0; i < RUNS; i++) {
        fake_id(i, id);
        count[amx_run_shard(id, N)]++;
    }
    double mean = (double)RUNS / N, sd = sqrt(RUNS * (1.0 / N) * (1 - 1.0 / N));
    for (int s = 1; s <= N; s++)
        ck_assert_msg(fabs((double)count[s] - mean) < 5 * sd,
                      "shard %d holds %zu runs, expected %.0f +- %.0f", s, count[s], mean, 5 * sd);
}
END_TEST

/* From N to N+1 shards a run either stays or moves to the new shard, and
 * about 1/(N+1) of them move (here 1/6 of 12,000: 2,000 +- 5 sd of 41). */
START_TEST(test_shard_growing_n_moves_few)
{
    enum { N = 5, RUNS = 12000 };
    char id[AMX_RUN_ID_LEN + 1];
    size_t moved = 0;
    for (unsigned long i = 0; i < RUNS; i++) {
        fake_id(i, id);
        int a = amx_run_shard(id, N), b = amx_run_shard(id, N + 1);
        if (a != b) {
            ck_assert_int_eq(b, N + 1);
            moved++;
        }
    }
    double expect = (double)RUNS / (N + 1), sd = sqrt(RUNS * (1.0 / (N + 1)) * (N / (N + 1.0)));
    ck_assert_msg(fabs((double)moved - expect) < 5 * sd, "%zu runs moved, expected %.0f", moved,
                  expect);
}
END_TEST

#define SWEEP_BASE                                                                                 \
    "name: t\n"                                                                                    \
    "repeats: 2\n"                                                                                 \
    "network: {layers: [4, 3, 2]}\n"                                                               \
    "finetune:\n"                                                                                  \
    "  rules: {all: {rule: constant, eta0: 0.1}}\n"                                                \
    "sweep:\n"

static struct amx_experiment *load_sweep(const char *axes)
{
    char *text = tu_fmt("%s%s", SWEEP_BASE, axes);
    struct amx_experiment *exp = NULL;
    struct amx_errlist errs = {0};
    enum amx_status st =
        amx_experiment_load_string(text, strlen(text), "x.yaml", NULL, 0, &exp, &errs);
    free(text);
    ck_assert_int_eq(st, AMX_OK);
    amx_errlist_free(&errs);
    return exp;
}

/* Adding points to a sweep moves no run: every run of the small sweep is in
 * the larger one, with the same id, in the same shard. Round-robin by the
 * rank of the id (the earlier rule) moves some of these. */
START_TEST(test_shard_stable_when_sweep_grows)
{
    struct amx_experiment *small = load_sweep("  finetune.epochs: [1, 2, 3, 4, 5]\n");
    struct amx_experiment *big = load_sweep(
        "  finetune.epochs: [1, 2, 3, 4, 5, 6, 7, 8, 9]\n  finetune.batch_size: [100, 20]\n");
    ck_assert_uint_eq(small->n_runs, 10);
    ck_assert_uint_eq(big->n_runs, 36);
    size_t found = 0;
    for (size_t i = 0; i < small->n_runs; i++)
        for (size_t j = 0; j < big->n_runs; j++) {
            if (strcmp(small->runs[i].id, big->runs[j].id) != 0) continue;
            found++;
            for (int n = 2; n <= 6; n++)
                for (int s = 1; s <= n; s++)
                    ck_assert_int_eq(amx_run_in_shard(small, i, s, n),
                                     amx_run_in_shard(big, j, s, n));
        }
    /* batch_size 100 is the default, so the small sweep's runs are among the big one's */
    ck_assert_uint_eq(found, small->n_runs);
    /* and each run is in exactly one shard */
    for (size_t j = 0; j < big->n_runs; j++) {
        int in = 0;
        for (int s = 1; s <= 4; s++)
            in += amx_run_in_shard(big, j, s, 4);
        ck_assert_int_eq(in, 1);
        ck_assert(amx_run_in_shard(big, j, 0, 0));
    }
    amx_experiment_free(small);
    amx_experiment_free(big);
}
END_TEST

/* --- the cache file */

static void make_stack(struct amx_rbm rbms[2])
{
    struct amx_error err;
    memset(rbms, 0, 2 * sizeof *rbms);
    ck_assert_int_eq(amx_rbm_init(&rbms[0], 6, 4, false, 1, &err), AMX_OK);
    ck_assert_int_eq(amx_rbm_init(&rbms[1], 4, 2, true, 1, &err), AMX_OK);
    for (int l = 0; l < 2; l++) {
        for (int k = 0; k < rbms[l].V * rbms[l].H; k++)
            rbms[l].W[k] = 0.25f * (float)k - (float)l;
        for (int k = 0; k < rbms[l].V; k++)
            rbms[l].bv[k] = (float)k / 3;
        for (int k = 0; k < rbms[l].H; k++)
            rbms[l].bh[k] = -(float)k;
    }
}

START_TEST(test_cache_round_trip_and_corruption)
{
    char *dir = tu_tmpdir("cache");
    char *path = tu_fmt("%s/pretrain-x.bin", dir);
    struct amx_rbm a[2], b[2];
    struct amx_error err = {0};
    make_stack(a);
    make_stack(b);
    for (int k = 0; k < b[0].V * b[0].H; k++)
        b[0].W[k] = 0;
    ck_assert_int_eq(amx_cache_save(path, a, 2, 1.5, &err), AMX_OK);
    double seconds = 0;
    ck_assert_int_eq(amx_cache_load(path, b, 2, &seconds, &err), AMX_OK);
    ck_assert(seconds == 1.5);
    ck_assert_mem_eq(a[0].W, b[0].W, sizeof(float) * 24);
    ck_assert_mem_eq(a[1].bh, b[1].bh, sizeof(float) * 2);

    /* one flipped byte in the weights: refused by the checksum */
    size_t len = 0;
    char *data = tu_read_file(path, &len);
    ck_assert_ptr_nonnull(data);
    data[len / 2] ^= 1;
    ck_assert_int_eq(tu_write_file(path, data, len), 0);
    ck_assert_int_eq(amx_cache_load(path, b, 2, NULL, &err), AMX_ERR_DATA);
    ck_assert_msg(strstr(err.msg, "checksum") != NULL, "got: %s", err.msg);
    /* a short file: refused by its size, which the message gives */
    data[len / 2] ^= 1;
    ck_assert_int_eq(tu_write_file(path, data, len - 7), 0);
    ck_assert_int_eq(amx_cache_load(path, b, 2, NULL, &err), AMX_ERR_DATA);
    char *want = tu_fmt("has %zu bytes, expected %zu", len - 7, len);
    ck_assert_msg(strstr(err.msg, want) != NULL, "got: %s", err.msg);
    free(want);
    free(data);
    for (int l = 0; l < 2; l++) {
        amx_rbm_free(&a[l]);
        amx_rbm_free(&b[l]);
    }
    free(path);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

/* --- the lock of a cache entry */

START_TEST(test_lock_busy_while_held_and_removed_when_let_go)
{
    char *dir = tu_tmpdir("lock");
    char *path = tu_fmt("%s/pretrain-x.bin", dir);
    char *lockfile = tu_fmt("%s.lock", path);
    struct amx_cache_lock a, b;
    ck_assert_int_eq(amx_cache_trylock(path, &a), AMX_CACHE_LOCKED);
    ck_assert_int_ge(a.fd, 0);
    struct stat st;
    ck_assert_int_eq(stat(lockfile, &st), 0);
    /* flock locks belong to the open file, so even this process is refused */
    ck_assert_int_eq(amx_cache_trylock(path, &b), AMX_CACHE_BUSY);
    ck_assert_int_eq(b.fd, -1);
    amx_cache_unlock(&a);
    ck_assert_int_eq(a.fd, -1);
    ck_assert_int_ne(stat(lockfile, &st), 0); /* no lock file left behind */
    amx_cache_unlock(&a);                     /* a second unlock does nothing */
    ck_assert_int_eq(amx_cache_trylock(path, &b), AMX_CACHE_LOCKED);
    amx_cache_unlock(&b);
    /* a lock file left by a killed process does not block */
    ck_assert_int_eq(tu_write_file(lockfile, "", 0), 0);
    ck_assert_int_eq(amx_cache_trylock(path, &b), AMX_CACHE_LOCKED);
    amx_cache_unlock(&b);
    free(lockfile);
    free(path);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(test_lock_released_when_holder_dies)
{
    char *dir = tu_tmpdir("lockdie");
    char *path = tu_fmt("%s/pretrain-y.bin", dir);
    int ready[2];
    ck_assert_int_eq(pipe(ready), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        struct amx_cache_lock lk;
        char c = amx_cache_trylock(path, &lk) == AMX_CACHE_LOCKED ? 'y' : 'n';
        if (write(ready[1], &c, 1) != 1) _exit(1);
        pause(); /* killed holding the lock */
        _exit(0);
    }
    char c = 0;
    ck_assert_int_eq(read(ready[0], &c, 1), 1);
    ck_assert_int_eq(c, 'y');
    struct amx_cache_lock lk;
    ck_assert_int_eq(amx_cache_trylock(path, &lk), AMX_CACHE_BUSY);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    ck_assert_int_eq(amx_cache_trylock(path, &lk), AMX_CACHE_LOCKED);
    amx_cache_unlock(&lk);
    close(ready[0]);
    close(ready[1]);
    free(path);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(test_lock_unlockable_says_why)
{
    struct amx_cache_lock lk;
    ck_assert_int_eq(amx_cache_trylock("/nonexistent-folder-amx/pretrain-z.bin", &lk),
                     AMX_CACHE_UNLOCKABLE);
    ck_assert_int_eq(lk.fd, -1);
    ck_assert_msg(strstr(lk.reason, "/nonexistent-folder-amx/pretrain-z.bin.lock") != NULL,
                  "got: %s", lk.reason);
    amx_cache_unlock(&lk); /* safe on a lock never held */
}
END_TEST

/* ---- helpers of the tests below */

/* Loads an experiment that must be valid; fails the test with the first
 * error. */
static struct amx_experiment *load_exp(const char *text, const char *const *ov, size_t n_ov)
{
    struct amx_experiment *exp = NULL;
    struct amx_errlist errs = {0};
    enum amx_status st =
        amx_experiment_load_string(text, strlen(text), "x.yaml", ov, n_ov, &exp, &errs);
    char buf[2200] = "";
    if (errs.n) amx_error_format(&errs.items[0], buf, sizeof buf);
    ck_assert_msg(st == AMX_OK, "experiment refused: %s", buf);
    amx_errlist_free(&errs);
    return exp;
}

/* text with every "@D" replaced by dir; malloc'ed. */
static char *subst_dir(const char *text, const char *dir)
{
    size_t n = 0;
    for (const char *p = text; (p = strstr(p, "@D")) != NULL; p += 2)
        n++;
    char *out = malloc(strlen(text) + n * strlen(dir) + 1), *o = out;
    ck_assert_ptr_nonnull(out);
    for (const char *p = text; *p;) {
        if (p[0] == '@' && p[1] == 'D') {
            o += sprintf(o, "%s", dir);
            p += 2;
        } else {
            *o++ = *p++;
        }
    }
    *o = '\0';
    return out;
}

/* An uncompressed IDX image file of n images rows x cols, pixel bytes from
 * a formula of (index, salt); byte `flip` (an offset into the pixels, or
 * -1 for none) gets one bit flipped. */
static void write_idx(const char *path, unsigned n, unsigned rows, unsigned cols, unsigned salt,
                      long flip)
{
    size_t npix = (size_t)n * rows * cols, len = 16 + npix;
    unsigned char *b = malloc(len);
    ck_assert_ptr_nonnull(b);
    const unsigned head[4] = {AMX_IDX_MAGIC_IMAGES, n, rows, cols};
    for (int k = 0; k < 4; k++)
        for (int j = 0; j < 4; j++)
            b[4 * k + j] = (unsigned char)(head[k] >> (24 - 8 * j));
    for (size_t i = 0; i < npix; i++)
        b[16 + i] = (unsigned char)((i * 37u + salt * 101u + 11u) % 256u);
    if (flip >= 0) b[16 + flip] ^= 1;
    ck_assert_int_eq(tu_write_file(path, b, len), 0);
    free(b);
}

/* The resolved configuration as config.yaml says it (malloc'ed). */
static char *config_text(const struct amx_run_config *cfg)
{
    struct amx_node *node = amx_config_to_node(cfg);
    ck_assert_ptr_nonnull(node);
    char *text = amx_node_emit_string(node);
    amx_node_free(node);
    ck_assert_ptr_nonnull(text);
    return text;
}

/* --- the pretraining key (docs/design.md: pretraining depends only on
 * data, network, pretrain settings, seed and repeat) */

/* 8 training images of 2x2 (4 kept for training, 2 held out), 3 test
 * images; every pretrain field spelt out (none at its default). */
#define KEY_YAML                                                                                   \
    "name: k\n"                                                                                    \
    "description: the key's base\n"                                                                \
    "seed: 5\n"                                                                                    \
    "repeats: 2\n"                                                                                 \
    "data: {dir: @D, train: train-a, test: test-a, train_limit: 6, validation: 2}\n"               \
    "network: {layers: [4, 3, 2], hidden: logistic, code: linear, output: logistic}\n"             \
    "pretrain:\n"                                                                                  \
    "  epochs: 3\n"                                                                                \
    "  batch_size: 2\n"                                                                            \
    "  cd_k: 1\n"                                                                                  \
    "  learning_rate: 0.15\n"                                                                      \
    "  code_learning_rate: 0.01\n"                                                                 \
    "  momentum: {initial: 0.4, final: 0.7, switch_epoch: 2}\n"                                    \
    "  weight_decay: 0.0003\n"                                                                     \
    "  init_std: 0.05\n"                                                                           \
    "finetune: {epochs: 2, batch_size: 3, rules: {all: {rule: constant, eta0: 0.1}}}\n"

struct key_case {
    const char *what; /* for a differ case naming a pretrain field: its dotted path */
    const char *ov[3];
    int repeat;
};

/* Changes that must leave the key as it is: fine-tuning, evaluation and
 * output settings, the output units (the RBMs are logistic except the
 * linear top, whatever `output` says: amx_task_pretrain reads only the
 * layer sizes and `code`; `hidden` must be logistic with pretraining), the
 * test set, how the data folder is
 * spelt or which copy of the same bytes is read, names, the repeat count. */
static const struct key_case key_same[] = {
    {"finetune.epochs", {"finetune.epochs=9"}, 0},
    {"finetune.batch_size", {"finetune.batch_size=2"}, 0},
    {"finetune.loss", {"finetune.loss=squared_error"}, 0},
    {"finetune.rules",
     {"finetune.rules={weights: {rule: adagrad, eta0: 0.5}, biases: {rule: power, eta0: 0.2}}"},
     0},
    {"finetune momentum", {"finetune.rules.all.momentum=0.9"}, 0},
    {"finetune.divergence_limit", {"finetune.divergence_limit=10"}, 0},
    {"evaluation.train_subset", {"evaluation.train_subset=3"}, 0},
    {"output.weights", {"output.weights=true"}, 0},
    {"network.output", {"network.output=linear", "finetune.loss=squared_error"}, 0},
    {"data.test", {"data.test=test-b"}, 0},
    {"data.test_limit", {"data.test_limit=2"}, 0},
    {"data.dir with a trailing slash", {"data.dir=@D/"}, 0},
    {"data.dir with ./ and //", {"data.dir=@D/.//"}, 0},
    {"data.dir another folder, same bytes", {"data.dir=@D/copy"}, 0},
    {"data.train another name, same bytes", {"data.train=train-same"}, 0},
    {"name, description, report", {"name=other", "description=else", "report.title=T"}, 0},
    {"repeats (repeat 0 stays repeat 0)", {"repeats=3"}, 0},
};

/* Changes that must each give a key of their own. */
static const struct key_case key_differ[] = {
    {"data.train contents (one bit)", {"data.train=train-b"}, 0},
    {"data.train_limit", {"data.train_limit=7"}, 0},
    {"data.train_limit all", {"data.train_limit=0"}, 0},
    {"data.validation", {"data.validation=1"}, 0},
    {"data.validation none", {"data.validation=0"}, 0},
    {"network.layers hidden size", {"network.layers=[4, 2, 2]"}, 0},
    {"network.layers code size", {"network.layers=[4, 3, 3]"}, 0},
    {"network.layers depth", {"network.layers=[4, 3, 2, 2]"}, 0},
    {"network.code", {"network.code=logistic"}, 0},
    {"pretrain.epochs", {"pretrain.epochs=4"}, 0},
    {"pretrain.batch_size", {"pretrain.batch_size=3"}, 0},
    {"pretrain.cd_k", {"pretrain.cd_k=2"}, 0},
    {"pretrain.learning_rate", {"pretrain.learning_rate=0.2"}, 0},
    {"pretrain.code_learning_rate", {"pretrain.code_learning_rate=0.02"}, 0},
    {"pretrain.momentum.initial", {"pretrain.momentum.initial=0.6"}, 0},
    {"pretrain.momentum.final", {"pretrain.momentum.final=0.8"}, 0},
    {"pretrain.momentum.switch_epoch", {"pretrain.momentum.switch_epoch=1"}, 0},
    {"pretrain.weight_decay", {"pretrain.weight_decay=0.001"}, 0},
    {"pretrain.init_std", {"pretrain.init_std=0.2"}, 0},
    {"compute.precision", {"compute.precision=bf16"}, 0},
    {"seed", {"seed=6"}, 0},
    {"repeat", {NULL}, 1},
};

#define N_KEY_SAME (sizeof key_same / sizeof key_same[0])
#define N_KEY_DIFFER (sizeof key_differ / sizeof key_differ[0])

/* The key of the run of repeat c->repeat of KEY_YAML with c's overrides,
 * its data loaded from dir; *text (if not NULL) its config.yaml. */
static void key_of(const char *dir, const struct key_case *c, char key[65], char **text)
{
    char *yaml = subst_dir(KEY_YAML, dir);
    char *ov[3] = {NULL, NULL, NULL};
    size_t n = 0;
    for (; c && n < 3 && c->ov[n]; n++)
        ov[n] = subst_dir(c->ov[n], dir);
    struct amx_experiment *exp = load_exp(yaml, (const char *const *)ov, n);
    const struct amx_run_config *cfg = NULL;
    for (size_t r = 0; r < exp->n_runs && !cfg; r++)
        if (exp->runs[r].repeat == (c ? c->repeat : 0)) cfg = &exp->runs[r].cfg;
    ck_assert_ptr_nonnull(cfg);
    struct amx_run_data d;
    struct amx_error err = {0};
    ck_assert_msg(amx_run_data_load(cfg, &d, &err) == AMX_OK, "%s: %s", c ? c->what : "base",
                  err.msg);
    memset(key, 'x', 65);
    ck_assert(amx_pretrain_key(cfg, &d, key));
    ck_assert_uint_eq(strlen(key), 64);
    ck_assert_uint_eq(strspn(key, "0123456789abcdef"), 64);
    if (text) *text = config_text(cfg);
    amx_run_data_free(&d);
    amx_experiment_free(exp);
    for (size_t k = 0; k < n; k++)
        free(ov[k]);
    free(yaml);
}

/* Appends the dotted paths of the leaves under node (prefix "pretrain") to
 * paths[*n]. */
static void leaf_paths(const struct amx_node *node, const char *prefix, char paths[][64], size_t *n,
                       size_t cap)
{
    if (node->kind != AMX_NODE_MAP) {
        ck_assert_uint_lt(*n, cap);
        snprintf(paths[(*n)++], 64, "%s", prefix);
        return;
    }
    for (size_t i = 0; i < node->n; i++) {
        char p[64];
        snprintf(p, sizeof p, "%s.%s", prefix, node->pairs[i].key);
        leaf_paths(node->pairs[i].value, p, paths, n, cap);
    }
}

START_TEST(test_pretrain_key_what_it_depends_on)
{
    char *dir = tu_tmpdir("key");
    char *copy = tu_fmt("%s/copy", dir);
    ck_assert_int_eq(mkdir(copy, 0755), 0);
    const char *names[][2] = {{dir, "train-a"}, {dir, "train-same"}, {copy, "train-a"}};
    for (size_t i = 0; i < 3; i++) {
        char *p = tu_fmt("%s/%s", names[i][0], names[i][1]);
        write_idx(p, 8, 2, 2, 1, -1);
        free(p);
    }
    char *p = tu_fmt("%s/train-b", dir);
    write_idx(p, 8, 2, 2, 1, 13); /* the same but for one bit of image 4 */
    free(p);
    const char *tests[][2] = {{dir, "test-a"}, {copy, "test-a"}};
    for (size_t i = 0; i < 2; i++) {
        p = tu_fmt("%s/%s", tests[i][0], tests[i][1]);
        write_idx(p, 3, 2, 2, 7, -1);
        free(p);
    }
    p = tu_fmt("%s/test-b", dir);
    write_idx(p, 4, 2, 2, 9, -1);
    free(p);

    char base[65], key[65], *base_text = NULL, *text = NULL;
    key_of(dir, NULL, base, &base_text);
    for (size_t i = 0; i < N_KEY_SAME; i++) {
        key_of(dir, &key_same[i], key, &text);
        /* the override did change the configuration ... */
        ck_assert_msg(strcmp(text, base_text) != 0, "%s: the configuration did not change",
                      key_same[i].what);
        /* ... but not what pretraining computes */
        ck_assert_msg(strcmp(key, base) == 0, "%s changes the pretraining key", key_same[i].what);
        free(text);
    }
    char keys[N_KEY_DIFFER][65];
    for (size_t i = 0; i < N_KEY_DIFFER; i++) {
        key_of(dir, &key_differ[i], keys[i], NULL);
        ck_assert_msg(strcmp(keys[i], base) != 0, "%s leaves the pretraining key as it was",
                      key_differ[i].what);
        for (size_t j = 0; j < i; j++)
            ck_assert_msg(strcmp(keys[i], keys[j]) != 0, "%s and %s give the same key",
                          key_differ[i].what, key_differ[j].what);
    }
    /* every field of the pretrain section (as config.yaml lists them, so a
     * field added later is caught) is among the changes above */
    struct amx_node *tree = NULL;
    struct amx_error err = {0};
    ck_assert_int_eq(amx_node_parse_string(base_text, strlen(base_text), "c", true, &tree, &err),
                     AMX_OK);
    const struct amx_node *pre = amx_node_map_get(tree, "pretrain");
    ck_assert_ptr_nonnull(pre);
    char paths[32][64];
    size_t n_paths = 0;
    leaf_paths(pre, "pretrain", paths, &n_paths, 32);
    ck_assert_uint_ge(n_paths, 10);
    for (size_t k = 0; k < n_paths; k++) {
        bool found = false;
        for (size_t i = 0; i < N_KEY_DIFFER && !found; i++)
            found = strcmp(key_differ[i].what, paths[k]) == 0;
        ck_assert_msg(found, "%s is not among the key's tested fields", paths[k]);
    }
    amx_node_free(tree);
    free(base_text);
    free(copy);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

/* --- runs of small in-memory data sets */

/* A data set in memory (no file): n_train training images, n_test test
 * images of rows x cols; pointers into the caller's arrays (do not free). */
static void mem_data(struct amx_run_data *d, float *train, size_t n_train, float *test,
                     size_t n_test, size_t rows, size_t cols)
{
    memset(d, 0, sizeof *d);
    size_t dim = rows * cols;
    d->train_all =
        (struct amx_images){.n = n_train, .rows = rows, .cols = cols, .dim = dim, .x = train};
    d->test = (struct amx_images){.n = n_test, .rows = rows, .cols = cols, .dim = dim, .x = test};
    memset(d->train_all.sha256, 'a', 64);
    memset(d->test.sha256, 'b', 64);
    d->n_train = n_train;
    d->train = train;
    d->valid = train + n_train * dim;
    snprintf(d->train_path, sizeof d->train_path, "memory:train");
    snprintf(d->test_path, sizeof d->test_path, "memory:test");
}

/* Fine-tunes run `run` of exp into dir/tag; returns its curve.csv. */
static char *finetune_curve(const struct amx_experiment *exp, size_t run,
                            const struct amx_run_data *d, const char *cache, const char *dir,
                            const char *tag)
{
    char *run_dir = tu_fmt("%s/%s", dir, tag);
    struct amx_error err = {0};
    enum amx_status st = amx_task_finetune(exp, run, d, cache, run_dir, 1, NULL, NULL, &err);
    ck_assert_msg(st == AMX_OK, "fine-tuning %s: %s", tag, err.msg);
    char *path = tu_fmt("%s/curve.csv", run_dir);
    char *text = tu_read_file(path, NULL);
    ck_assert_ptr_nonnull(text);
    free(path);
    free(run_dir);
    return text;
}

/* A CSV text split in place into rows of fields. */
#define CSV_MAX_ROWS 16
#define CSV_MAX_COLS 32
struct csv {
    char *text;
    size_t n_rows, n_cols[CSV_MAX_ROWS];
    char *cell[CSV_MAX_ROWS][CSV_MAX_COLS];
};

static void csv_parse(struct csv *c, char *text)
{
    memset(c, 0, sizeof *c);
    c->text = text;
    char *line = text;
    while (*line) {
        ck_assert_uint_lt(c->n_rows, CSV_MAX_ROWS);
        char *end = strchr(line, '\n');
        ck_assert_msg(end != NULL, "a line without its newline");
        *end = '\0';
        size_t r = c->n_rows++;
        for (char *f = line;;) {
            ck_assert_uint_lt(c->n_cols[r], CSV_MAX_COLS);
            c->cell[r][c->n_cols[r]++] = f;
            char *comma = strchr(f, ',');
            if (!comma) break;
            *comma = '\0';
            f = comma + 1;
        }
        ck_assert_uint_eq(c->n_cols[r], c->n_cols[0]);
        line = end + 1;
    }
}

static size_t csv_col(const struct csv *c, const char *name)
{
    for (size_t k = 0; k < c->n_cols[0]; k++)
        if (strcmp(c->cell[0][k], name) == 0) return k;
    ck_abort_msg("curve.csv has no column %s", name);
    return 0;
}

static double csv_num(const struct csv *c, size_t row, const char *name)
{
    const char *s = c->cell[row][csv_col(c, name)];
    char *end = NULL;
    double v = strtod(s, &end);
    ck_assert_msg(*s && *end == '\0', "%s in row %zu is '%s', not a number", name, row, s);
    return v;
}

static bool close_rel(double got, double want, double rel)
{
    return fabs(got - want) <= rel * fabs(want);
}

/* --- the rate statistics of the step's parts, merged into curve.csv */

/* A 3-3 autoencoder (linear code) fine-tuned for one step on both training
 * images; layer 2 (the decoder) has groups of its own under AdaGrad. */
#define MERGE_YAML                                                                                 \
    "name: merge\n"                                                                                \
    "network: {layers: [3, 3], code: linear, output: logistic}\n"                                  \
    "pretrain: {epochs: 1, batch_size: 2}\n"                                                       \
    "finetune:\n"                                                                                  \
    "  epochs: 1\n"                                                                                \
    "  batch_size: 10\n"                                                                           \
    "  loss: cross_entropy\n"                                                                      \
    "  rules:\n"                                                                                   \
    "    all: {rule: constant, eta0: 0.05}\n"                                                      \
    "    layer2.weights: {rule: adagrad, eta0: 0.1, K: 1}\n"                                       \
    "    layer2.biases: {rule: adagrad, eta0: 0.1, K: 1}\n"

struct mmm {
    double mean, min, max;
};

static struct mmm mmm_of(const double *r, size_t n)
{
    struct mmm m = {0, HUGE_VAL, -HUGE_VAL};
    for (size_t i = 0; i < n; i++) {
        m.mean += r[i] / (double)n;
        m.min = fmin(m.min, r[i]);
        m.max = fmax(m.max, r[i]);
    }
    return m;
}

static void check_group(const struct csv *c, const char *group, struct mmm want)
{
    char name[64];
    const char *what[3] = {"rate_mean", "rate_min", "rate_max"};
    const double v[3] = {want.mean, want.min, want.max};
    for (int k = 0; k < 3; k++) {
        snprintf(name, sizeof name, "%s.%s", what[k], group);
        double got = csv_num(c, 2, name);
        ck_assert_msg(close_rel(got, v[k], 2e-6), "%s = %.9g, by hand %.9g", name, got, v[k]);
        ck_assert_str_eq(c->cell[1][csv_col(c, name)], ""); /* row 0: no update yet */
    }
}

/* The fine-tuning step cuts every tensor into AMX_NN_SPLIT parts, each with
 * its own optimizer (amx_net_tensor_part: rows of a weight matrix by
 * blocks of its input width, a bias by blocks of its width; for width 3 the
 * blocks are [0,1) and [1,3)). curve.csv's rate_mean/min/max of a group
 * must be those of all its parameters: the mean weighted by the parts'
 * parameter counts, the minimum and maximum over both parts.
 *
 * The network is unrolled from a cache holding an RBM with W = 0, visible
 * biases c = 0 and hidden biases b = (2, 0.5, 1): for any image the linear
 * code is h = b, the reconstruction p = sigmoid(0) = 1/2. With cross-entropy
 * the gradient of the mean loss wrt the output's logits is p - x averaged
 * over the batch, e_j = 1/2 - xbar_j; so layer 2 (W2: 3x3, rows k over the
 * code) has dW2[k][j] = b_k e_j and db2[j] = e_j, and layer 1 gets no
 * gradient (it flows back through W2 = 0). One AdaGrad step gives each
 * parameter the rate 0.1 / sqrt(1 + g^2). The numbers are chosen so that
 * layer2.biases has its maximum in part 0 and its minimum in part 1,
 * layer2.weights the reverse, and the parts' counts (1 and 2, 3 and 6)
 * differ, so a plain mean of the parts' means is wrong too. */
START_TEST(test_rate_stats_merged_over_parts)
{
    static float train[] = {0.3f, 0.1f, 1.0f, 0.5f, 0.3f, 0.8f}; /* xbar = (0.4, 0.2, 0.9) */
    static float test[] = {0.2f, 0.6f, 0.4f};
    const double b[3] = {2, 0.5, 1};
    char *dir = tu_tmpdir("merge");
    char *cache = tu_fmt("%s/pretrain.bin", dir);
    struct amx_rbm rbm;
    struct amx_error err = {0};
    ck_assert_int_eq(amx_rbm_init(&rbm, 3, 3, true, 2, &err), AMX_OK); /* zero parameters */
    for (int k = 0; k < 3; k++)
        rbm.bh[k] = (float)b[k];
    ck_assert_int_eq(amx_cache_save(cache, &rbm, 1, 0.0, &err), AMX_OK);
    amx_rbm_free(&rbm);

    struct amx_experiment *exp = load_exp(MERGE_YAML, NULL, 0);
    struct amx_run_data d;
    mem_data(&d, train, 2, test, 1, 1, 3);
    char *text = finetune_curve(exp, 0, &d, cache, dir, "run");
    struct csv c;
    csv_parse(&c, text);
    ck_assert_uint_eq(c.n_rows, 3); /* header, epoch 0, epoch 1 */

    /* epoch 0, the network as unrolled: every pixel reconstructed as 1/2 */
    double tr0 = 0, te0 = 0;
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 3; j++)
            tr0 += (0.5 - train[3 * i + j]) * (0.5 - train[3 * i + j]) / 2;
    for (int j = 0; j < 3; j++)
        te0 += (0.5 - test[j]) * (0.5 - test[j]);
    ck_assert(close_rel(csv_num(&c, 1, "train_error"), tr0, 1e-6));
    ck_assert(close_rel(csv_num(&c, 1, "test_error"), te0, 1e-6));

    double e[3], rb[3], rw[9];
    for (int j = 0; j < 3; j++) {
        e[j] = 0.5 - ((double)train[j] + (double)train[3 + j]) / 2;
        rb[j] = 0.1 / sqrt(1 + e[j] * e[j]);
    }
    for (int k = 0; k < 3; k++)
        for (int j = 0; j < 3; j++)
            rw[3 * k + j] = 0.1 / sqrt(1 + (b[k] * e[j]) * (b[k] * e[j]));
    struct mmm wb = mmm_of(rb, 3), ww = mmm_of(rw, 9);
    /* where the extremes lie, as the comment says (the test's own premise) */
    ck_assert(wb.max == rb[0] && wb.min == rb[2] && rb[1] > wb.min && rb[1] < wb.max);
    ck_assert(ww.max == rw[3 * 1 + 0] && ww.min == rw[3 * 0 + 2]);
    ck_assert(!close_rel((rb[0] + (rb[1] + rb[2]) / 2) / 2, wb.mean, 1e-4));
    ck_assert(!close_rel(
        ((rw[0] + rw[1] + rw[2]) / 3 + (rw[3] + rw[4] + rw[5] + rw[6] + rw[7] + rw[8]) / 6) / 2,
        ww.mean, 1e-4));
    check_group(&c, "layer2.weights", ww);
    check_group(&c, "layer2.biases", wb);
    check_group(&c, "all", (struct mmm){0.05, 0.05, 0.05});
    /* the columns: one triple per group, in the order of the rules */
    const char *cols[] = {"epoch",
                          "train_error",
                          "test_error",
                          "seconds",
                          "rate_mean.all",
                          "rate_min.all",
                          "rate_max.all",
                          "rate_mean.layer2.weights",
                          "rate_min.layer2.weights",
                          "rate_max.layer2.weights",
                          "rate_mean.layer2.biases",
                          "rate_min.layer2.biases",
                          "rate_max.layer2.biases"};
    ck_assert_uint_eq(c.n_cols[0], sizeof cols / sizeof cols[0]);
    for (size_t k = 0; k < sizeof cols / sizeof cols[0]; k++)
        ck_assert_str_eq(c.cell[0][k], cols[k]);
    free(text);
    amx_experiment_free(exp);
    free(cache);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

/* --- docs/design.md, "Reproducibility": all variants of one repeat start from the same
 * weights and see the same batches; repeats differ */

/* Four rule variants: three that are the same rule written three ways
 * (constant 0.3; step with its first step at t = 1000; power with c = 0),
 * whose runs must then agree byte for byte if (and only if) they start from
 * the same weights and see the same mini-batches in the same order (five
 * batches an epoch, so the order matters), and AdaGrad, which must agree
 * with them before the first update and differ after it. */
#define SAME_YAML                                                                                  \
    "name: same\n"                                                                                 \
    "seed: 11\n"                                                                                   \
    "repeats: 2\n"                                                                                 \
    "network: {layers: [4, 3, 2]}\n"                                                               \
    "pretrain: {epochs: 2, batch_size: 7}\n"                                                       \
    "finetune:\n"                                                                                  \
    "  epochs: 3\n"                                                                                \
    "  batch_size: 7\n"                                                                            \
    "  rules: {all: {rule: constant, eta0: 0.3}}\n"                                                \
    "sweep:\n"                                                                                     \
    "  finetune.rules:\n"                                                                          \
    "    constant: {all: {rule: constant, eta0: 0.3}}\n"                                           \
    "    step: {all: {rule: step, eta0: 0.3, gamma: 0.5, every: 1000}}\n"                          \
    "    power: {all: {rule: power, eta0: 0.3, r: 10, c: 0}}\n"                                    \
    "    adagrad: {all: {rule: adagrad, eta0: 0.3, K: 1}}\n"

/* curve.csv without its seconds column (wall time), malloc'ed; *row0 (if
 * not NULL) the same cut after the epoch-0 row (the errors of the network
 * before any update). */
static char *curve_without_seconds(char *text, char **row0)
{
    struct csv c;
    csv_parse(&c, text);
    size_t sec = csv_col(&c, "seconds");
    struct amx_buf b = {0};
    for (size_t r = 0; r < c.n_rows; r++) {
        if (r == 2 && row0) *row0 = strndup(b.data, b.len);
        for (size_t k = 0; k < c.n_cols[r]; k++)
            if (k != sec) amx_buf_printf(&b, "%s,", c.cell[r][k]);
        amx_buf_printf(&b, "\n");
    }
    ck_assert(!b.failed);
    char *out = strndup(b.data, b.len);
    amx_buf_free(&b);
    return out;
}

static bool stacks_equal(const struct amx_rbm *a, const struct amx_rbm *b, int n)
{
    for (int l = 0; l < n; l++)
        if (memcmp(a[l].W, b[l].W, sizeof(float) * (size_t)a[l].V * (size_t)a[l].H) != 0 ||
            memcmp(a[l].bv, b[l].bv, sizeof(float) * (size_t)a[l].V) != 0 ||
            memcmp(a[l].bh, b[l].bh, sizeof(float) * (size_t)a[l].H) != 0)
            return false;
    return true;
}

/* _i: 0 with pretraining, 1 with `pretrain: none` (initial weights drawn
 * for the unrolled network). */
START_TEST(test_variants_share_weights_and_batches)
{
    enum { N_TRAIN = 30, N_TEST = 10, DIM = 4, RUNS = 8 };
    static float train[N_TRAIN * DIM], test[N_TEST * DIM];
    for (int i = 0; i < N_TRAIN * DIM; i++)
        train[i] = (float)(0.5 + 0.45 * sin(1.3 * i + 0.4));
    for (int i = 0; i < N_TEST * DIM; i++)
        test[i] = (float)(0.5 + 0.45 * cos(0.7 * i + 0.1));
    const bool pretrain = _i == 0;
    const char *ov[] = {"pretrain=none"};
    struct amx_experiment *exp = load_exp(SAME_YAML, ov, pretrain ? 0 : 1);
    ck_assert_uint_eq(exp->n_runs, RUNS);
    ck_assert_uint_eq(exp->n_axes, 1);
    struct amx_run_data d;
    mem_data(&d, train, N_TRAIN, test, N_TEST, 2, 2);
    char *dir = tu_tmpdir("same");
    char *curve[RUNS], *row0[RUNS];
    const char *label[RUNS];
    int repeat[RUNS];
    struct amx_rbm stack[RUNS][2];
    char key[RUNS][65];
    for (size_t i = 0; i < RUNS; i++) {
        const struct amx_run *r = &exp->runs[i];
        label[i] = exp->axes[0].labels[r->value[0]];
        repeat[i] = r->repeat;
        char *cache = tu_fmt("%s/pretrain-%zu.bin", dir, i);
        char tag[32];
        snprintf(tag, sizeof tag, "run-%zu", i);
        struct amx_error err = {0};
        if (pretrain) {
            /* each run pretrains its own stack, as if no cache were shared */
            ck_assert(amx_pretrain_key(&r->cfg, &d, key[i]));
            ck_assert_int_eq(amx_task_pretrain(&r->cfg, &d, cache, NULL, 1, NULL, NULL, &err),
                             AMX_OK);
            ck_assert_int_eq(amx_rbm_init(&stack[i][0], 4, 3, false, 7, &err), AMX_OK);
            ck_assert_int_eq(amx_rbm_init(&stack[i][1], 3, 2, true, 7, &err), AMX_OK);
            ck_assert_int_eq(amx_cache_load(cache, stack[i], 2, NULL, &err), AMX_OK);
        }
        char *text = finetune_curve(exp, i, &d, cache, dir, tag);
        curve[i] = curve_without_seconds(text, &row0[i]);
        free(text);
        free(cache);
    }
    size_t same = 0, other_rule = 0, other_repeat = 0;
    for (size_t i = 0; i < RUNS; i++)
        for (size_t j = 0; j < i; j++) {
            bool adagrad = strcmp(label[i], "adagrad") == 0 || strcmp(label[j], "adagrad") == 0;
            if (repeat[i] == repeat[j]) {
                /* same repeat: the same start (pretrained stack, epoch 0) */
                if (pretrain) {
                    ck_assert_str_eq(key[i], key[j]);
                    ck_assert_msg(stacks_equal(stack[i], stack[j], 2),
                                  "repeat %d: %s and %s pretrained different stacks", repeat[i],
                                  label[i], label[j]);
                }
                ck_assert_msg(strcmp(row0[i], row0[j]) == 0, "repeat %d: %s and %s start apart",
                              repeat[i], label[i], label[j]);
                if (adagrad) {
                    /* another rule moves differently: the comparison has teeth */
                    ck_assert_str_ne(curve[i], curve[j]);
                    other_rule++;
                } else {
                    /* the same rule: the same batches give the same curve */
                    ck_assert_msg(strcmp(curve[i], curve[j]) == 0,
                                  "repeat %d: %s and %s differ:\n%s\n%s", repeat[i], label[i],
                                  label[j], curve[i], curve[j]);
                    same++;
                }
            } else {
                /* another repeat: another start, another curve */
                if (pretrain) {
                    ck_assert_str_ne(key[i], key[j]);
                    ck_assert(!stacks_equal(stack[i], stack[j], 2));
                }
                ck_assert_str_ne(row0[i], row0[j]);
                ck_assert_str_ne(curve[i], curve[j]);
                other_repeat++;
            }
        }
    ck_assert_uint_eq(same, 2 * 3);         /* 3 pairs of equal rules per repeat */
    ck_assert_uint_eq(other_rule, 2 * 3);   /* adagrad with each of them */
    ck_assert_uint_eq(other_repeat, 4 * 4); /* across the repeats */
    for (size_t i = 0; i < RUNS; i++) {
        free(curve[i]);
        free(row0[i]);
        if (pretrain) {
            amx_rbm_free(&stack[i][0]);
            amx_rbm_free(&stack[i][1]);
        }
    }
    amx_experiment_free(exp);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

/* --- momentum with the adaptive rules (docs/learning-rate-rules.md: v <- mu*v -
 * eta*g; theta <- theta + v, v starting at 0; the rate from the rule's state
 * updated first with this g) */

struct mom_case {
    const char *rule;
    enum amx_clock per;
    double eta0, mu;
    const char *pname[4];
    double pval[4];
};

static const struct mom_case mom_cases[] = {
    {"adagrad", AMX_CLOCK_EPOCH, 0.1, 0.9, {"K", NULL}, {1.0}},
    {"adagrad", AMX_CLOCK_STEP, 0.3, 0.5, {"K", NULL}, {0.25}},
    {"adadec", AMX_CLOCK_EPOCH, 0.1, 0.8, {"gamma", "K", "r", "c"}, {0.9, 0.5, 2, 1}},
    {"adadec", AMX_CLOCK_STEP, 0.2, 0.6, {"gamma", "K", "r", "c"}, {0.7, 1.0, 3, 0.5}},
    {"rmsprop", AMX_CLOCK_EPOCH, 0.01, 0.9, {"rho", "eps", NULL}, {0.9, 1e-8}},
    {"rmsprop", AMX_CLOCK_STEP, 0.02, 0.7, {"rho", "eps", NULL}, {0.5, 1e-8}},
};

#define MOM_N 3
#define MOM_STEPS 6 /* 3 epochs of 2 updates */
/* The gradients of the updates, changing sign so that momentum matters. */
static const double mom_g[MOM_STEPS][MOM_N] = {
    {0.5, -1.0, 2.0}, {0.4, 0.8, -1.5}, {-0.3, 0.6, 1.0},
    {0.2, -0.5, 0.7}, {1.2, 0.1, -0.4}, {-0.6, -0.9, 0.3},
};

static double pval(const struct mom_case *c, const char *name)
{
    for (int k = 0; k < 4 && c->pname[k]; k++)
        if (strcmp(c->pname[k], name) == 0) return c->pval[k];
    ck_abort_msg("case without %s", name);
    return 0;
}

/* The rate of one parameter at update k (t its clock) given its state A,
 * which it updates first: docs/learning-rate-rules.md's formulas. */
static double hand_rate(const struct mom_case *c, double *A, double g, double t)
{
    if (strcmp(c->rule, "adagrad") == 0) { /* A = sum of g^2 so far */
        *A += g * g;
        return c->eta0 / sqrt(pval(c, "K") + *A);
    }
    if (strcmp(c->rule, "adadec") == 0) { /* A <- gamma A + g^2 */
        *A = pval(c, "gamma") * *A + g * g;
        return c->eta0 * pow(1 + t / pval(c, "r"), -pval(c, "c")) / sqrt(pval(c, "K") + *A);
    }
    /* rmsprop (Tieleman & Hinton): mean square E <- rho E + (1 - rho) g^2,
     * eta = eta0 / (sqrt(E) + eps) */
    *A = pval(c, "rho") * *A + (1 - pval(c, "rho")) * g * g;
    return c->eta0 / (sqrt(*A) + pval(c, "eps"));
}

START_TEST(test_momentum_with_adaptive_rules)
{
    const struct mom_case *c = &mom_cases[_i];
    const struct amx_rule *rule = amx_rule_find(c->rule);
    ck_assert_ptr_nonnull(rule);
    struct amx_rule_binding b;
    memset(&b, 0, sizeof b);
    snprintf(b.selector, sizeof b.selector, "all");
    amx_rule_spec_defaults(&b.spec, rule);
    b.spec.eta0 = c->eta0;
    b.spec.momentum = c->mu;
    b.spec.per = c->per;
    for (int k = 0; k < 4 && c->pname[k]; k++) {
        int idx = amx_rule_param_index(rule, c->pname[k]);
        ck_assert_int_ge(idx, 0);
        b.spec.p[idx] = c->pval[k];
    }
    float theta[MOM_N] = {0.25f, -0.5f, 1.0f}, grad[MOM_N];
    struct amx_param_tensor t = {"layer1.weights", 1, false, "encoder", theta, grad, MOM_N, NULL};
    struct amx_optimizer *opt = NULL;
    struct amx_error err = {0};
    ck_assert_int_eq(amx_optimizer_init(&opt, &t, 1, &b, 1, &err), AMX_OK);

    /* the hand computation, with momentum and (to show it matters) without */
    double th[MOM_N], v[MOM_N] = {0}, A[MOM_N] = {0}, th0[MOM_N], A0[MOM_N] = {0};
    for (int i = 0; i < MOM_N; i++)
        th[i] = th0[i] = theta[i];
    int k = 0;
    for (int epoch = 0; epoch < MOM_STEPS / 2; epoch++) {
        amx_optimizer_epoch_begin(opt, epoch);
        double sum = 0, mn = HUGE_VAL, mx = -HUGE_VAL;
        for (int s = 0; s < 2; s++, k++) {
            const double tk = c->per == AMX_CLOCK_STEP ? k : epoch;
            for (int i = 0; i < MOM_N; i++)
                grad[i] = (float)mom_g[k][i];
            amx_optimizer_step(opt);
            for (int i = 0; i < MOM_N; i++) {
                const double r = hand_rate(c, &A[i], mom_g[k][i], tk);
                v[i] = c->mu * v[i] - r * mom_g[k][i];
                th[i] += v[i];
                th0[i] -= hand_rate(c, &A0[i], mom_g[k][i], tk) * mom_g[k][i];
                sum += r;
                mn = fmin(mn, r);
                mx = fmax(mx, r);
                ck_assert_msg(fabs(theta[i] - th[i]) <= 1e-5 * fabs(th[i]) + 1e-6,
                              "%s per %s, update %d, theta[%d] = %.9g, by hand %.9g", c->rule,
                              c->per == AMX_CLOCK_STEP ? "step" : "epoch", k + 1, i, theta[i],
                              th[i]);
            }
        }
        /* momentum changes the steps, not the rates */
        struct amx_rate_stats st = amx_optimizer_group_stats(opt, 0);
        ck_assert(st.count == 2 * MOM_N);
        ck_assert(close_rel(st.sum / st.count, sum / (2 * MOM_N), 1e-5));
        ck_assert(close_rel(st.min, mn, 1e-5));
        ck_assert(close_rel(st.max, mx, 1e-5));
    }
    /* without momentum the parameters would be elsewhere by far more than
     * the tolerance: the comparison above does test momentum */
    for (int i = 0; i < MOM_N; i++)
        ck_assert(fabs(th[i] - th0[i]) > 1e-3);
    amx_optimizer_free(opt);
}
END_TEST

/* --- validation-driven controls */

/* Pseudo-random pixels in [0, 1) from a fixed formula (no rng module). */
static void fill_pixels(float *x, size_t n, unsigned salt)
{
    uint32_t h = 2166136261u ^ salt;
    for (size_t i = 0; i < n; i++) {
        h = (h ^ (uint32_t)i) * 16777619u;
        h ^= h >> 13;
        x[i] = (float)(h % 1000u) / 1000.0f;
    }
}

#define CTL_TRAIN 48
#define CTL_VALID 16
#define CTL_TEST 16
#define CTL_DIM 16
static float ctl_train[(CTL_TRAIN + CTL_VALID) * CTL_DIM], ctl_test[CTL_TEST * CTL_DIM];

static void ctl_data(struct amx_run_data *d)
{
    fill_pixels(ctl_train, sizeof ctl_train / sizeof *ctl_train, 1);
    fill_pixels(ctl_test, sizeof ctl_test / sizeof *ctl_test, 2);
    /* held-out images unlike the training ones (bright where these are
     * dark), so that the validation error is not the training error's
     * shape (a control driven by the wrong one fails the test) */
    for (size_t i = CTL_TRAIN * CTL_DIM; i < (CTL_TRAIN + CTL_VALID) * CTL_DIM; i++)
        ctl_train[i] = 1.0f - ctl_train[i] * ctl_train[i];
    mem_data(d, ctl_train, CTL_TRAIN, ctl_test, CTL_TEST, 4, 4);
    d->n_valid = CTL_VALID;
}

#define PLATEAU_YAML                                                                               \
    "name: t\n"                                                                                    \
    "seed: 3\n"                                                                                    \
    "data: {validation: 16}\n"                                                                     \
    "network: {layers: [16, 8, 4]}\n"                                                              \
    "pretrain: none\n"                                                                             \
    "finetune:\n"                                                                                  \
    "  epochs: 14\n"                                                                               \
    "  batch_size: 16\n"                                                                           \
    "  rules:\n"                                                                                   \
    "    weights: {rule: adagrad, eta0: 0.5, plateau: {factor: 0.5, patience: 1, threshold: "      \
    "0.0003, cooldown: 1, min_lr: 0.1}}\n"                                                         \
    "    biases: {rule: constant, eta0: 0.05}\n"

/* ReduceLROnPlateau once more, as PyTorch's step reads, over the logged
 * validation errors: the eta0 of epoch e + 1 from those of epochs 1..e. */
static void torch_plateau_over(const double *val, size_t n, double eta0, double *eta)
{
    double lr = eta0, best = INFINITY;
    long bad = 0, cooldown_counter = 0;
    for (size_t e = 0; e < n; e++) {
        eta[e] = lr;
        if (val[e] < best * (1 - 0.0003)) {
            best = val[e];
            bad = 0;
        } else {
            bad++;
        }
        if (cooldown_counter > 0) {
            cooldown_counter--;
            bad = 0;
        }
        if (bad > 1) {
            double next = fmax(lr * 0.5, 0.1);
            if (lr - next > 1e-8) lr = next;
            cooldown_counter = 1;
            bad = 0;
        }
    }
}

/* curve.csv's eta0 column is ReduceLROnPlateau recomputed from curve.csv's
 * own validation errors; a group without plateau keeps its eta0 */
START_TEST(test_plateau_curve_recomputed)
{
    char *dir = tu_tmpdir("plateau");
    struct amx_experiment *exp = load_exp(PLATEAU_YAML, NULL, 0);
    struct amx_run_data d;
    ctl_data(&d);
    char *text = finetune_curve(exp, 0, &d, "", dir, "run");
    struct csv c;
    csv_parse(&c, text);
    ck_assert_uint_eq(c.n_rows, 16); /* header, epochs 0..14 */
    ck_assert_str_eq(c.cell[1][csv_col(&c, "eta0.weights")], "");
    double val[14], eta[14];
    for (size_t e = 0; e < 14; e++)
        val[e] = csv_num(&c, e + 2, "validation_error");
    torch_plateau_over(val, 14, 0.5, eta);
    int reductions = 0;
    for (size_t e = 0; e < 14; e++) {
        ck_assert_msg(csv_num(&c, e + 2, "eta0.weights") == eta[e],
                      "epoch %zu: eta0.weights %s, recomputed %.17g", e + 1,
                      c.cell[e + 2][csv_col(&c, "eta0.weights")], eta[e]);
        ck_assert(csv_num(&c, e + 2, "eta0.biases") == 0.05);
        /* and the rule used it: a constant rate is eta0 itself */
        reductions += e > 0 && eta[e] != eta[e - 1];
    }
    ck_assert_msg(reductions >= 2, "the run reduced eta0 %d times: too few to test", reductions);
    free(text);
    amx_experiment_free(exp);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

#define EARLY_YAML                                                                                 \
    "name: t\n"                                                                                    \
    "seed: 5\n"                                                                                    \
    "data: {validation: 16}\n"                                                                     \
    "network: {layers: [16, 8, 4]}\n"                                                              \
    "pretrain: none\n"                                                                             \
    "finetune:\n"                                                                                  \
    "  epochs: 14\n"                                                                               \
    "  batch_size: 16\n"                                                                           \
    "  rules: {all: {rule: adagrad, eta0: 0.3}}\n"                                                 \
    "output: {weights: true}\n"

/* Keras' EarlyStopping (mode min, baseline None) over a list of validation
 * errors, written again from keras/src/callbacks/early_stopping.py: the
 * epoch (1-based) training stops after (0: none), and the best one. */
static int keras_stop(const double *val, int n, int patience, double min_delta, int start,
                      int *best_epoch)
{
    double best = INFINITY;
    int wait = 0;
    *best_epoch = 0;
    min_delta *= -1;                          /* Keras' __init__ in mode min */
    for (int epoch = 0; epoch < n; epoch++) { /* Keras counts from 0 */
        if (epoch < start) continue;
        wait += 1;
        if (val[epoch] - min_delta < best) { /* _is_improvement */
            best = val[epoch];
            *best_epoch = epoch + 1;
            wait = 0;
            continue;
        }
        if (wait >= patience && epoch > 0) return epoch + 1;
    }
    return 0;
}

static char *file_text(const char *dir, const char *tag, const char *name, size_t *len)
{
    char *path = tu_fmt("%s/%s/%s", dir, tag, name);
    char *text = tu_read_file(path, len);
    ck_assert_msg(text != NULL, "no %s", path);
    free(path);
    return text;
}

/* A run that stops early is the full run cut at the epoch Keras stops at
 * (recomputed from the full run's validation errors); with restore_best
 * its weights.npz is, bit for bit, that of a run of best_epoch epochs, and
 * its final errors are the best epoch's row */
START_TEST(test_early_stop_runs)
{
    const int patience = 1, start = 2;
    const double min_delta = 0.002;
    char *dir = tu_tmpdir("early");
    struct amx_run_data d;
    ctl_data(&d);
    struct amx_experiment *full = load_exp(EARLY_YAML, NULL, 0);
    char *full_text = finetune_curve(full, 0, &d, "", dir, "full");
    char *full_copy = strdup(full_text); /* csv_parse cuts its text into cells */
    char *full_rows = curve_without_seconds(full_copy, NULL);
    free(full_copy);
    struct csv c;
    csv_parse(&c, full_text);
    double val[14];
    for (int e = 0; e < 14; e++)
        val[e] = csv_num(&c, (size_t)e + 2, "validation_error");
    int best = 0, stop = keras_stop(val, 14, patience, min_delta, start, &best);
    ck_assert_msg(stop > 0 && stop < 14 && best > 1, "the data must make it stop (%d, best %d)",
                  stop, best);
    /* and each parameter must matter on these errors */
    int other;
    ck_assert_int_ne(stop, keras_stop(val, 14, patience, min_delta, 0, &other));
    ck_assert_int_ne(stop, keras_stop(val, 14, patience, 0, start, &other));
    ck_assert_int_ne(stop, keras_stop(val, 14, patience + 1, min_delta, start, &other));

    for (int restore = 0; restore < 2; restore++) {
        const char *ov[] = {"finetune.early_stop.patience=1", "finetune.early_stop.min_delta=0.002",
                            "finetune.early_stop.start_epoch=2",
                            restore ? "finetune.early_stop.restore_best=true"
                                    : "finetune.early_stop.restore_best=false"};
        struct amx_experiment *exp = load_exp(EARLY_YAML, ov, 4);
        const char *tag = restore ? "restore" : "stop";
        char *text = finetune_curve(exp, 0, &d, "", dir, tag);
        char *rows = curve_without_seconds(text, NULL);
        /* the full run's header and rows 0..stop, nothing after */
        const char *cut = full_rows;
        for (int line = 0; line < stop + 2; line++)
            cut = strchr(cut, '\n') + 1;
        ck_assert_uint_eq(strlen(rows), (size_t)(cut - full_rows));
        ck_assert(strncmp(rows, full_rows, strlen(rows)) == 0);
        char *summary = file_text(dir, tag, "summary.json", NULL);
        char *want = tu_fmt("\"epochs\": %d,", stop);
        ck_assert_msg(strstr(summary, want), "no %s in\n%s", want, summary);
        free(want);
        want = tu_fmt("\"final_epoch\": %d", restore ? best : stop);
        ck_assert_msg(strstr(summary, want), "no %s in\n%s", want, summary);
        free(want);
        want = tu_fmt("\"final_test_error\": %s,",
                      c.cell[(restore ? best : stop) + 1][csv_col(&c, "test_error")]);
        ck_assert_msg(strstr(summary, want), "no %s in\n%s", want, summary);
        free(want);
        ck_assert(
            strstr(summary, restore ? "\"restored_best\": true" : "\"restored_best\": false"));
        free(summary);
        free(rows);
        free(text);
        amx_experiment_free(exp);
    }
    /* the restored weights are those at the end of epoch `best` */
    char *epochs = tu_fmt("finetune.epochs=%d", best);
    const char *ov[] = {epochs};
    struct amx_experiment *cut = load_exp(EARLY_YAML, ov, 1);
    free(finetune_curve(cut, 0, &d, "", dir, "cut"));
    size_t la, lb, lc;
    char *wa = file_text(dir, "restore", "weights.npz", &la);
    char *wb = file_text(dir, "cut", "weights.npz", &lb);
    char *wc = file_text(dir, "stop", "weights.npz", &lc);
    ck_assert(la == lb && memcmp(wa, wb, la) == 0);
    ck_assert(la != lc || memcmp(wa, wc, la) != 0); /* without restore: the last epoch's */
    free(wa);
    free(wb);
    free(wc);
    free(epochs);
    amx_experiment_free(cut);
    free(full_rows);
    free(full_text);
    amx_experiment_free(full);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

/* newbob rejects an epoch: its weights, every rule's state and momentum go
 * back to the end of the last kept epoch. The run cut right after the
 * first rejected epoch k ends with, bit for bit, the weights of a run
 * without newbob that stopped after epoch k - 1 (no halving before k, so
 * both ran the same epochs 1..k-1); curve.csv says which epochs were kept,
 * and summary.json's final errors are epoch k - 1's */
START_TEST(test_newbob_rejects)
{
    char *dir = tu_tmpdir("newbob");
    struct amx_run_data d;
    ctl_data(&d);
    const char *ov[] = {"finetune.newbob.start_halving_impr=0.0001"};
    struct amx_experiment *exp = load_exp(EARLY_YAML, ov, 1);
    char *text = finetune_curve(exp, 0, &d, "", dir, "full");
    struct csv c;
    csv_parse(&c, text);
    int k = 0;
    for (size_t r = 2; r < c.n_rows && !k; r++)
        if (strcmp(c.cell[r][csv_col(&c, "kept")], "0") == 0) k = (int)r - 1;
    ck_assert_msg(k >= 2, "the data must make newbob reject an epoch after the first (%d)", k);
    for (int e = 1; e <= k; e++) /* no halving before the rejection */
        ck_assert(csv_num(&c, (size_t)e + 1, "eta0.all") == 0.3);
    ck_assert_str_eq(c.cell[1][csv_col(&c, "kept")], "");
    free(text);
    amx_experiment_free(exp);

    char *epochs = tu_fmt("finetune.epochs=%d", k);
    const char *ov_cut[] = {ov[0], epochs};
    exp = load_exp(EARLY_YAML, ov_cut, 2);
    free(finetune_curve(exp, 0, &d, "", dir, "cut"));
    amx_experiment_free(exp);
    free(epochs);
    epochs = tu_fmt("finetune.epochs=%d", k - 1);
    const char *ov_plain[] = {epochs};
    exp = load_exp(EARLY_YAML, ov_plain, 1);
    char *plain = finetune_curve(exp, 0, &d, "", dir, "plain");
    amx_experiment_free(exp);
    size_t la, lb;
    char *wa = file_text(dir, "cut", "weights.npz", &la);
    char *wb = file_text(dir, "plain", "weights.npz", &lb);
    ck_assert(la == lb && memcmp(wa, wb, la) == 0);
    char *summary = file_text(dir, "cut", "summary.json", NULL);
    char *want = tu_fmt("\"final_epoch\": %d", k - 1);
    ck_assert_msg(strstr(summary, want), "no %s in\n%s", want, summary);
    free(want);
    csv_parse(&c, plain);
    want = tu_fmt("\"final_test_error\": %s,", c.cell[k][csv_col(&c, "test_error")]);
    ck_assert_msg(strstr(summary, want), "no %s in\n%s", want, summary);
    ck_assert(strstr(summary, "\"rejected_epochs\": 1,"));
    free(want);
    free(summary);
    free(wa);
    free(wb);
    free(plain);
    free(epochs);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

/* One training image in batches of one: every epoch is the same updates
 * whatever the shuffle. Here newbob rejects epoch 1 (the one image is far
 * from the held-out ones) and, never halving (start_halving_impr 0), every
 * later epoch must redo it from the kept bits (the initial weights, zero
 * AdaGrad sums and momentum, update count 0, epoch clock 0) and so repeat
 * epoch 1's row bit for bit; rules' state carried over from the rejected
 * epoch, or a clock that counted it, would change every later row. */
#define ONE_YAML                                                                                   \
    "name: t\n"                                                                                    \
    "seed: 5\n"                                                                                    \
    "data: {validation: 16}\n"                                                                     \
    "network: {layers: [16, 8, 4]}\n"                                                              \
    "pretrain: none\n"                                                                             \
    "finetune:\n"                                                                                  \
    "  epochs: 6\n"                                                                                \
    "  batch_size: 1\n"                                                                            \
    "  newbob: {start_halving_impr: 0}\n"

/* AdaGrad with momentum (state), and a step decay (the epoch clock) */
static const char *const one_rules[] = {
    "  rules: {all: {rule: adagrad, eta0: 0.5, momentum: 0.9}}\n",
    "  rules: {all: {rule: step, eta0: 0.5, gamma: 0.5, every: 1}}\n"};

START_TEST(test_newbob_continues_from_kept_bits)
{
    static float one[(1 + CTL_VALID) * CTL_DIM], test[CTL_TEST * CTL_DIM];
    fill_pixels(one, sizeof one / sizeof *one, 7);
    fill_pixels(test, sizeof test / sizeof *test, 8);
    struct amx_run_data d;
    mem_data(&d, one, 1, test, CTL_TEST, 4, 4);
    d.n_valid = CTL_VALID;
    char *dir = tu_tmpdir("newbob1");
    char *yaml = tu_fmt("%s%s", ONE_YAML, one_rules[_i]);
    struct amx_experiment *exp = load_exp(yaml, NULL, 0);
    free(yaml);
    char *text = finetune_curve(exp, 0, &d, "", dir, "full");
    amx_experiment_free(exp);
    char *rows = curve_without_seconds(text, NULL);
    struct csv c;
    csv_parse(&c, rows);
    ck_assert_uint_eq(c.n_rows, 8); /* header, epochs 0..6 */
    ck_assert_str_eq(c.cell[2][csv_col(&c, "kept")], "0");
    ck_assert(csv_num(&c, 2, "validation_error") > csv_num(&c, 1, "validation_error"));
    for (size_t r = 3; r < c.n_rows; r++)
        for (size_t k = 1; k < c.n_cols[0]; k++)
            ck_assert_msg(strcmp(c.cell[r][k], c.cell[2][k]) == 0,
                          "epoch %zu, %s: %s, but epoch 1 (redone from the same bits) had %s",
                          r - 1, c.cell[0][k], c.cell[r][k], c.cell[2][k]);
    char *summary = file_text(dir, "full", "summary.json", NULL);
    ck_assert(strstr(summary, "\"rejected_epochs\": 6,") && strstr(summary, "\"final_epoch\": 0"));
    free(summary);
    free(rows);
    free(text);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

static Suite *run_suite(void)
{
    Suite *s = suite_create("run");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_shard_in_range_and_trivial_counts);
    tcase_add_test(tc, test_shard_pinned);
    tcase_add_test(tc, test_shard_balanced);
    tcase_add_test(tc, test_shard_growing_n_moves_few);
    tcase_add_test(tc, test_shard_stable_when_sweep_grows);
    tcase_add_test(tc, test_cache_round_trip_and_corruption);
    tcase_add_test(tc, test_lock_busy_while_held_and_removed_when_let_go);
    tcase_add_test(tc, test_lock_released_when_holder_dies);
    tcase_add_test(tc, test_lock_unlockable_says_why);
    tcase_add_test(tc, test_pretrain_key_what_it_depends_on);
    tcase_add_test(tc, test_rate_stats_merged_over_parts);
    tcase_add_loop_test(tc, test_variants_share_weights_and_batches, 0, 2);
    tcase_add_loop_test(tc, test_momentum_with_adaptive_rules, 0,
                        (int)(sizeof mom_cases / sizeof mom_cases[0]));
    suite_add_tcase(s, tc);
    tc = tcase_create("controls");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_plateau_curve_recomputed);
    tcase_add_test(tc, test_early_stop_runs);
    tcase_add_test(tc, test_newbob_rejects);
    tcase_add_loop_test(tc, test_newbob_continues_from_kept_bits, 0,
                        (int)(sizeof one_rules / sizeof *one_rules));
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(run_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
