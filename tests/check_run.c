/* Unit tests of src/run's sharding and pretraining cache: which shard a run
 * belongs to (stable when the sweep grows, few moves when N grows, balanced
 * in expectation), the cache file (round trip, corruption refused) and the
 * per-entry lock that concurrent shards take (busy while held, released when
 * its holder dies, its file removed when let go). */
#define _POSIX_C_SOURCE 200809L
#include "../src/run/internal.h"
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
