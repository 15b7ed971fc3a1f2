/* Tests of src/config: the node tree (parsing with marks, refusals, aliases
 * and their bound, emitting and re-reading, path editing) and binding (every
 * key read, every default filled, every error found with its exact
 * line:column, several errors in one pass, "did you mean", the to_node/bind
 * round trip), plus a few thousand random mutations of a valid experiment
 * that must each either bind or fail with located errors, never crash.
 *
 * Expected locations were counted by hand in the texts below (1-based line
 * and column); expected defaults are the values of docs/experiment-language.md. */
#define _POSIX_C_SOURCE 200809L
#include "adamix/config.h"
#include "adamix/node.h"
#include "testutil.h"

#include "private.h" /* the schema table itself, for the row checks */

#include <check.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>

/* ------------------------------------------------------------- helpers -- */

static struct amx_node *parse_ok(const char *text)
{
    struct amx_node *n = NULL;
    struct amx_error e = {0};
    enum amx_status s = amx_node_parse_string(text, strlen(text), "t.yaml", true, &n, &e);
    ck_assert_msg(s == AMX_OK, "parse failed: %d:%d %s", e.line, e.col, e.msg);
    ck_assert_ptr_nonnull(n);
    return n;
}

/* Parses and binds text; returns the status and leaves the errors in errs. */
static enum amx_status bind_text(const char *text, struct amx_run_config *cfg,
                                 struct amx_errlist *errs)
{
    struct amx_node *n = NULL;
    struct amx_error e = {0};
    enum amx_status s = amx_node_parse_string(text, strlen(text), "t.yaml", true, &n, &e);
    if (s != AMX_OK) {
        amx_errlist_add(errs, &e);
        return s;
    }
    s = amx_config_bind(n, cfg, errs);
    amx_node_free(n);
    return s;
}

static char *errs_text(const struct amx_errlist *errs)
{
    static char buf[8192];
    buf[0] = '\0';
    for (size_t i = 0; i < errs->n; i++) {
        char line[2200];
        amx_error_format(&errs->items[i], line, sizeof line);
        strncat(buf, line, sizeof buf - strlen(buf) - 2);
        strcat(buf, "\n");
    }
    return buf;
}

/* A valid experiment that sets every key to a value other than its default. */
static const char FULL[] =
    "name: fig4-adamix\n"                                                             /* 1 */
    "description: \"AdaMix: a test\"\n"                                               /* 2 */
    "seed: 18446744073709551615\n"                                                    /* 3 */
    "repeats: 3\n"                                                                    /* 4 */
    "data:\n"                                                                         /* 5 */
    "  dir: /tmp/mnist\n"                                                             /* 6 */
    "  train: tr.gz\n"                                                                /* 7 */
    "  test: te.gz\n"                                                                 /* 8 */
    "  train_limit: 6e4\n"                                                            /* 9 */
    "  test_limit: 1000\n"                                                            /* 10 */
    "  validation: 500\n"                                                             /* 11 */
    "network:\n"                                                                      /* 12 */
    "  layers: [784, 100, 50, 10]\n"                                                  /* 13 */
    "  hidden: logistic\n"                                                            /* 14 */
    "  code: logistic\n"                                                              /* 15 */
    "  output: linear\n"                                                              /* 16 */
    "pretrain:\n"                                                                     /* 17 */
    "  epochs: 7\n"                                                                   /* 18 */
    "  batch_size: 20\n"                                                              /* 19 */
    "  cd_k: 3\n"                                                                     /* 20 */
    "  learning_rate: 0.05\n"                                                         /* 21 */
    "  code_learning_rate: 0.002\n"                                                   /* 22 */
    "  momentum: {initial: 0.4, final: 0.8, switch_epoch: 2}\n"                       /* 23 */
    "  weight_decay: 0.001\n"                                                         /* 24 */
    "  init_std: 0.05\n"                                                              /* 25 */
    "finetune:\n"                                                                     /* 26 */
    "  epochs: 9\n"                                                                   /* 27 */
    "  batch_size: 25\n"                                                              /* 28 */
    "  loss: squared_error\n"                                                         /* 29 */
    "  rules:\n"                                                                      /* 30 */
    "    weights: {rule: current-gradient, eta0: 0.02, K: 2, window: epoch}\n"        /* 31 */
    "    biases: {rule: power, eta0: 0.03, r: 5, c: 0.5, momentum: 0.9, per: step}\n" /* 32 */
    "  divergence_limit: 1.0e5\n"                                                     /* 33 */
    "report:\n"                                                                       /* 34 */
    "  metric: train_error\n"                                                         /* 35 */
    "  series: finetune.rules\n"                                                      /* 36 */
    "  title: \"Fig. 4\"\n"                                                           /* 37 */
    "  log_y: true\n"                                                                 /* 38 */
    "sweep:\n"                                                                        /* 39 */
    "  finetune.epochs: [1, 2]\n";                                                    /* 40 */

static const char MINIMAL[] = "name: m\n"
                              "network: {layers: [4, 2]}\n"
                              "finetune: {rules: {all: {rule: constant}}}\n";

/* -------------------------------------------------------------- nodes --- */

START_TEST(test_parse_tree_and_marks)
{
    const char *t2 = "a: 1\n"
                     "b:\n"
                     "  - x\n"
                     "  - \"2\"\n"
                     "c: {d: 'q', e: ~}\n"
                     "f: |\n"
                     "  block\n";
    struct amx_node *n = parse_ok(t2);
    ck_assert_int_eq(n->kind, AMX_NODE_MAP);
    ck_assert_uint_eq(n->n, 4);
    ck_assert_str_eq(n->file, "t.yaml");
    ck_assert_int_eq(n->line, 1);
    ck_assert_int_eq(n->col, 1);
    /* a: 1 -- key at 1:1, value at 1:4, plain */
    ck_assert_str_eq(n->pairs[0].key, "a");
    ck_assert_int_eq(n->pairs[0].line, 1);
    ck_assert_int_eq(n->pairs[0].col, 1);
    ck_assert_int_eq(n->pairs[0].value->line, 1);
    ck_assert_int_eq(n->pairs[0].value->col, 4);
    ck_assert(!n->pairs[0].value->quoted);
    /* b: a block sequence starting at 3:3 */
    struct amx_node *b = amx_node_map_get(n, "b");
    ck_assert_int_eq(b->kind, AMX_NODE_SEQ);
    ck_assert_uint_eq(b->n, 2);
    ck_assert_int_eq(b->line, 3);
    ck_assert_int_eq(b->col, 3);
    ck_assert_str_eq(b->items[0]->text, "x");
    ck_assert_int_eq(b->items[1]->line, 4);
    ck_assert_int_eq(b->items[1]->col, 5);
    ck_assert(b->items[1]->quoted);
    ck_assert_str_eq(b->items[1]->text, "2");
    /* c: flow mapping at 5:4; d single-quoted at 5:8; e null at 5:16 */
    struct amx_node *c = amx_node_map_get(n, "c");
    ck_assert_int_eq(c->kind, AMX_NODE_MAP);
    ck_assert_int_eq(c->line, 5);
    ck_assert_int_eq(c->col, 4);
    ck_assert_int_eq(c->pairs[0].col, 5);
    ck_assert(amx_node_map_get(c, "d")->quoted);
    ck_assert_int_eq(amx_node_map_get(c, "d")->col, 8);
    ck_assert_str_eq(amx_node_get_path(n, "c.e")->text, "~");
    ck_assert(!amx_node_get_path(n, "c.e")->quoted);
    ck_assert_int_eq(amx_node_get_path(n, "c.e")->col, 16);
    /* a literal block scalar is a string */
    ck_assert_str_eq(amx_node_map_get(n, "f")->text, "block\n");
    ck_assert(amx_node_map_get(n, "f")->quoted);
    ck_assert_ptr_null(amx_node_get_path(n, "c.x"));
    ck_assert_ptr_null(amx_node_get_path(n, "a.b"));
    ck_assert_ptr_null(amx_node_get_path(n, "c..d"));
    amx_node_free(n);
}
END_TEST

START_TEST(test_parse_non_experiment_values)
{
    /* override values are parsed without top_must_be_map */
    struct amx_node *n = NULL;
    struct amx_error e = {0};
    ck_assert_int_eq(amx_node_parse_string("[1, 2]", 6, "--set", false, &n, &e), AMX_OK);
    ck_assert_int_eq(n->kind, AMX_NODE_SEQ);
    amx_node_free(n);
    ck_assert_int_eq(amx_node_parse_string("0.5", 3, "--set", false, &n, &e), AMX_OK);
    ck_assert_int_eq(n->kind, AMX_NODE_SCALAR);
    ck_assert_str_eq(n->text, "0.5");
    amx_node_free(n);
    ck_assert_int_eq(amx_node_parse_string("!!str 7", 7, "--set", false, &n, &e), AMX_OK);
    ck_assert(n->quoted);
    amx_node_free(n);
}
END_TEST

struct parse_case {
    const char *text;
    size_t len; /* 0: strlen */
    const char *expect;
    int line, col;
};

static const struct parse_case parse_cases[] = {
    {"a: 1\nb: 2\na: 3\n", 0, "duplicate key 'a'", 3, 1},
    {"x:\n  a: 1\n  a: 2\n", 0, "duplicate key 'a'", 3, 3},
    {"x: {a: 1, a: 2}\n", 0, "duplicate key 'a'", 1, 11},
    {"? [1, 2]\n: 3\n", 0, "key must be a scalar; found a sequence", 1, 3},
    {"{{a: 1}: 2}\n", 0, "key must be a scalar; found a mapping", 1, 2},
    {"", 0, "empty", 1, 1},
    {"# only a comment\n", 0, "empty", 1, 1},
    {"a: 1\n---\nb: 2\n", 0, "second document", 2, 1},
    {"- 1\n- 2\n", 0, "must be a mapping", 1, 1},
    {"hello\n", 0, "must be a mapping", 1, 1},
    {"a: 1\nb: \xff\xfe\n", 11, "invalid UTF-8: byte 0xff", 2, 4},
    {"\xff\xfe"
     "a\0:\0",
     6, "UTF-16", 1, 1},
    {"a: caf\xc3\n", 0, "invalid UTF-8: byte 0xc3", 1, 7},
    {"a: \xc0\xaf\n", 0, "invalid UTF-8", 1, 4}, /* overlong '/' */
    {"a: b: c\n", 0, "invalid YAML: mapping values are not allowed", 1, 5},
    {"a: [1, 2\n", 0, "invalid YAML", 2, 1},
    {"a:\n\tb: 1\n", 0, "tabs", 2, 1},
    {"a: \"x\x01\"\n", 0, "invalid character", 1, 6},
    {"a: *x\n", 0, "alias '*x'", 1, 4},
    {"a: &x [*x]\n", 0, "alias '*x'", 1, 8},
    {"a: !foo 1\n", 0, "unsupported tag '!foo'", 1, 4},
    {"a: \"x\\0y\"\n", 0, "NUL", 1, 4},
    {"a: &k [1]\n*k : 2\n", 0, "key must be a scalar", 2, 1},
};

START_TEST(test_parse_errors)
{
    const struct parse_case *c = &parse_cases[_i];
    size_t len = c->len ? c->len : strlen(c->text);
    struct amx_node *n = (struct amx_node *)1;
    struct amx_error e = {0};
    enum amx_status s = amx_node_parse_string(c->text, len, "bad.yaml", true, &n, &e);
    ck_assert_int_eq(s, AMX_ERR_CONFIG);
    ck_assert_ptr_null(n);
    ck_assert_int_eq(e.code, AMX_ERR_CONFIG);
    ck_assert_str_eq(e.path, "bad.yaml");
    ck_assert_msg(strstr(e.msg, c->expect), "case %d: expected '%s' in '%s'", _i, c->expect, e.msg);
    ck_assert_msg(e.line == c->line && e.col == c->col, "case %d (%s): at %d:%d, expected %d:%d",
                  _i, e.msg, e.line, e.col, c->line, c->col);
}
END_TEST

START_TEST(test_nesting_bound)
{
    char text[700];
    memset(text, '[', 300);
    memset(text + 300, ']', 300);
    text[600] = '\0';
    struct amx_node *n = NULL;
    struct amx_error e = {0};
    ck_assert_int_eq(amx_node_parse_string(text, 600, "d", false, &n, &e), AMX_ERR_CONFIG);
    ck_assert(strstr(e.msg, "nesting deeper"));
    ck_assert_int_eq(e.line, 1);
    ck_assert_int_eq(e.col, 257); /* the 257th '[' */
    /* 200 levels are fine */
    memset(text, '[', 200);
    memset(text + 200, ']', 200);
    ck_assert_int_eq(amx_node_parse_string(text, 400, "d", false, &n, &e), AMX_OK);
    amx_node_free(n);
}
END_TEST

START_TEST(test_aliases_expand)
{
    struct amx_node *n = parse_ok("base: &b {rule: adagrad, eta0: 0.1}\n"
                                  "x: *b\n"
                                  "k: &kk key\n"
                                  "m: {*kk : 1}\n");
    struct amx_node *x = amx_node_map_get(n, "x");
    ck_assert_int_eq(x->kind, AMX_NODE_MAP);
    ck_assert(amx_node_equal(x, amx_node_map_get(n, "base")));
    ck_assert_ptr_ne(x, amx_node_map_get(n, "base")); /* a copy */
    ck_assert_int_eq(x->line, 2);                     /* located at the alias */
    ck_assert_int_eq(x->col, 4);
    ck_assert_str_eq(amx_node_get_path(n, "m.key")->text, "1");
    amx_node_free(n);
}
END_TEST

/* "Billion laughs": 10 levels of 10 aliases would be 10^10 nodes. */
START_TEST(test_alias_bomb_refused)
{
    char text[4096], *p = text;
    p += sprintf(p, "a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
    for (int i = 1; i <= 10; i++) {
        p += sprintf(p, "a%d: &a%d [", i, i);
        for (int j = 0; j < 10; j++)
            p += sprintf(p, "%s*a%d", j ? ", " : "", i - 1);
        p += sprintf(p, "]\n");
    }
    struct rusage before, after;
    getrusage(RUSAGE_SELF, &before);
    clock_t t0 = clock();
    struct amx_node *n = NULL;
    struct amx_error e = {0};
    enum amx_status s = amx_node_parse_string(text, strlen(text), "bomb.yaml", true, &n, &e);
    double secs = (double)(clock() - t0) / CLOCKS_PER_SEC;
    getrusage(RUSAGE_SELF, &after);
    ck_assert_int_eq(s, AMX_ERR_CONFIG);
    ck_assert_ptr_null(n);
    ck_assert_msg(strstr(e.msg, "more than 100000 nodes"), "%s", e.msg);
    /* the 10^5 budget runs out at level 5: 1 + 10 + 100 + ... per level */
    ck_assert_int_eq(e.line, 5);
    ck_assert_msg(secs < 2.0, "took %.2f s", secs);
#ifndef __SANITIZE_ADDRESS__
    ck_assert_msg(after.ru_maxrss - before.ru_maxrss < 100 * 1024, "grew by %ld KiB",
                  after.ru_maxrss - before.ru_maxrss);
#endif
}
END_TEST

START_TEST(test_emit_exact)
{
    struct amx_node *n = parse_ok("a: 1\n"
                                  "b: [x, \"2\", 'y z']\n"
                                  "c: {d: \"true\", e: '', f: \"a: b\", g: ' lead'}\n"
                                  "h: [{i: 1, j: [2]}, [3]]\n"
                                  "k: {}\n"
                                  "\"1\": -0.5\n");
    char *s = amx_node_emit_string(n);
    ck_assert_str_eq(s, "a: 1\n"
                        "b: [x, \"2\", y z]\n"
                        "c:\n"
                        "  d: \"true\"\n"
                        "  e: \"\"\n"
                        "  f: \"a: b\"\n"
                        "  g: \" lead\"\n"
                        "h:\n"
                        "- i: 1\n"
                        "  j: [2]\n"
                        "- [3]\n"
                        "k: {}\n"
                        "\"1\": -0.5\n");
    free(s);
    amx_node_free(n);
}
END_TEST

/* Scalars whose quoting matters keep it through emit and parse. */
START_TEST(test_emit_quoting_kept)
{
    const char *texts[] = {
        "1",   "-1",           "true",     "null", "~",    "",      ".5",   "1e3", "yes",
        "off", "0x1f",         ".inf",     "abc",  "a #b", "- x",   "x: y", "#x",  "[a]",
        "{a}", "&a",           "*a",       "!x",   "'q'",  "\"q\"", "a\nb", "\t",  "--- x",
        "é",   "\xe2\x80\xa8", "\xc2\x85", "%x",   "@x",   "`x",    "a,b",  "?",   "? x",
        ":",   ": x",          "x:",       "|",    ">",    "x ",    "\\"};
    for (size_t i = 0; i < sizeof texts / sizeof *texts; i++) {
        for (int q = 0; q < 2; q++) {
            struct amx_node *m = amx_node_new_map("", 0, 0);
            struct amx_node *seq = amx_node_new_seq("", 0, 0);
            ck_assert_int_eq(amx_node_seq_append(seq, amx_node_new_scalar(texts[i], q, "", 0, 0)),
                             AMX_OK);
            ck_assert_int_eq(amx_node_map_set(m, "v", amx_node_new_scalar(texts[i], q, "", 0, 0)),
                             AMX_OK);
            ck_assert_int_eq(amx_node_map_set(m, "s", seq), AMX_OK);
            ck_assert_int_eq(amx_node_map_set(m, texts[i], amx_node_new_scalar("k", 0, "", 0, 0)),
                             AMX_OK);
            char *s = amx_node_emit_string(m);
            struct amx_node *back = NULL;
            struct amx_error e = {0};
            ck_assert_msg(amx_node_parse_string(s, strlen(s), "e", true, &back, &e) == AMX_OK,
                          "text %zu quoted %d: %s\n%s", i, q, e.msg, s);
            ck_assert_msg(amx_node_equal(m, back), "text %zu quoted %d:\n%s", i, q, s);
            /* where plain will not do, double quotes (escapes for anything),
             * never libyaml's own fallback to single quotes */
            const char *line = strstr(s, "\nv:");
            line = line ? line + 1 : strncmp(s, "v:", 2) == 0 ? s : NULL;
            ck_assert_msg(line != NULL, "text %zu quoted %d: no line v:\n%s", i, q, s);
            ck_assert_msg(strncmp(line, "v: '", 4) != 0, "text %zu quoted %d:\n%s", i, q, s);
            /* beyond equal(): a plain 1 stays plain, a quoted "1" stays quoted */
            const struct amx_node *v = amx_node_map_get(back, "v");
            ck_assert_str_eq(v->text, texts[i]);
            if (strcmp(texts[i], "1") == 0 || strcmp(texts[i], "true") == 0)
                ck_assert_int_eq(v->quoted, q);
            free(s);
            amx_node_free(back);
            amx_node_free(m);
        }
    }
}
END_TEST

/* Random trees of awkward scalars and keys survive emit + parse. */
static uint64_t lcg_state;
static uint32_t lcg(void)
{
    lcg_state = lcg_state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (uint32_t)(lcg_state >> 33);
}

static char *random_text(void)
{
    static const char *const pieces[] = {"a",    "b",  "1",  "0.5", "-",   ":", " ", "#",  "\"",
                                         "'",    "\\", ",",  "[",   "]",   "{", "}", "\n", "\t",
                                         "true", "~",  "&",  "*",   "!",   "|", ">", "%",  "@",
                                         "é",    "? ", ": ", " #",  "---", "."};
    char buf[64] = "";
    int n = (int)(lcg() % 5);
    for (int i = 0; i < n; i++)
        strcat(buf, pieces[lcg() % (sizeof pieces / sizeof *pieces)]);
    return strdup(buf);
}

static struct amx_node *random_tree(int depth)
{
    int kind = depth >= 3 ? 0 : (int)(lcg() % 3);
    if (kind == 0) {
        char *t = random_text();
        bool quoted = lcg() % 2;
        if (!quoted) {
            /* only plain scalars that a file can hold (libyaml reads the text
             * alone as this plain scalar); "1:" or "- x" cannot be plain */
            struct amx_node *alone = NULL;
            struct amx_error e;
            quoted = amx_node_parse_string(t, strlen(t), "p", false, &alone, &e) != AMX_OK ||
                     alone->kind != AMX_NODE_SCALAR || alone->quoted || strcmp(alone->text, t);
            amx_node_free(alone);
        }
        struct amx_node *n = amx_node_new_scalar(t, quoted, "", 0, 0);
        free(t);
        return n;
    }
    int n = (int)(lcg() % 4);
    if (kind == 1) {
        struct amx_node *s = amx_node_new_seq("", 0, 0);
        for (int i = 0; i < n; i++)
            amx_node_seq_append(s, random_tree(depth + 1));
        return s;
    }
    struct amx_node *m = amx_node_new_map("", 0, 0);
    for (int i = 0; i < n; i++) {
        char *k = random_text();
        if (!amx_node_map_get(m, k)) amx_node_map_set(m, k, random_tree(depth + 1));
        free(k);
    }
    return m;
}

START_TEST(test_emit_random_trees)
{
    lcg_state = 42;
    for (int iter = 0; iter < 2000; iter++) {
        struct amx_node *t = random_tree(0);
        char *s = amx_node_emit_string(t);
        ck_assert_ptr_nonnull(s);
        struct amx_node *back = NULL;
        struct amx_error e = {0};
        ck_assert_msg(amx_node_parse_string(s, strlen(s), "r", false, &back, &e) == AMX_OK,
                      "iteration %d: %d:%d %s\n%s", iter, e.line, e.col, e.msg, s);
        ck_assert_msg(amx_node_equal(t, back), "iteration %d:\n%s", iter, s);
        /* emitting is a fixed point after one round */
        char *s2 = amx_node_emit_string(back);
        ck_assert_str_eq(s, s2);
        free(s2);
        free(s);
        amx_node_free(back);
        amx_node_free(t);
    }
}
END_TEST

START_TEST(test_emit_long_key)
{
    char key[1501];
    memset(key, 'k', 1500);
    key[1500] = '\0';
    struct amx_node *m = amx_node_new_map("", 0, 0);
    amx_node_map_set(m, key, amx_node_new_scalar("v", false, "", 0, 0));
    char *s = amx_node_emit_string(m);
    struct amx_node *back = NULL;
    struct amx_error e = {0};
    ck_assert_int_eq(amx_node_parse_string(s, strlen(s), "r", true, &back, &e), AMX_OK);
    ck_assert(amx_node_equal(m, back));
    free(s);
    amx_node_free(back);
    amx_node_free(m);
}
END_TEST

START_TEST(test_paths_and_editing)
{
    struct amx_node *n = parse_ok("a: {b: 1, c: [1]}\nd: x\n");
    struct amx_error e = {0};
    /* replace, add, create intermediate mappings */
    ck_assert_int_eq(amx_node_set_path(n, "a.b", amx_node_new_scalar("2", false, "", 0, 0), &e),
                     AMX_OK);
    ck_assert_str_eq(amx_node_get_path(n, "a.b")->text, "2");
    ck_assert_int_eq(amx_node_set_path(n, "x.y.z", amx_node_new_scalar("3", false, "", 9, 9), &e),
                     AMX_OK);
    ck_assert_str_eq(amx_node_get_path(n, "x.y.z")->text, "3");
    ck_assert_int_eq(amx_node_get_path(n, "x.y")->kind, AMX_NODE_MAP);
    ck_assert_str_eq(n->pairs[2].key, "x"); /* appended after d */
    /* through a scalar or a sequence: refused, located at that node */
    ck_assert_int_eq(amx_node_set_path(n, "d.e", amx_node_new_scalar("4", false, "", 0, 0), &e),
                     AMX_ERR_CONFIG);
    ck_assert(strstr(e.msg, "'d' is a scalar"));
    ck_assert_int_eq(e.line, 2);
    ck_assert_int_eq(e.col, 4);
    ck_assert_int_eq(amx_node_set_path(n, "a.c.e", amx_node_new_scalar("4", false, "", 0, 0), &e),
                     AMX_ERR_CONFIG);
    ck_assert(strstr(e.msg, "'a.c' is a sequence"));
    ck_assert_int_eq(amx_node_set_path(n, "a..b", amx_node_new_scalar("4", false, "", 0, 0), &e),
                     AMX_ERR_CONFIG);
    /* a key with dots, through map_set */
    ck_assert_int_eq(amx_node_map_set(n, "finetune.epochs", amx_node_new_scalar("5", 0, "", 0, 0)),
                     AMX_OK);
    ck_assert_str_eq(amx_node_map_get(n, "finetune.epochs")->text, "5");
    ck_assert_ptr_null(amx_node_get_path(n, "finetune.epochs"));
    /* clone and equality */
    struct amx_node *c = amx_node_clone(n);
    ck_assert(amx_node_equal(n, c));
    ck_assert(amx_node_map_remove(c, "d"));
    ck_assert(!amx_node_map_remove(c, "d"));
    ck_assert(!amx_node_equal(n, c));
    ck_assert_ptr_null(amx_node_map_get(c, "d"));
    ck_assert_str_eq(amx_node_get_path(c, "x.y.z")->text, "3"); /* the rest moved down intact */
    amx_node_free(c);
    /* equality: quoting matters only where it changes the meaning; key order matters */
    struct amx_node *p1 = parse_ok("a: \"1\"\nb: x\n"), *p2 = parse_ok("a: 1\nb: \"x\"\n");
    struct amx_node *p3 = parse_ok("a: \"1\"\nb: \"x\"\n"), *p4 = parse_ok("b: x\na: \"1\"\n");
    ck_assert(!amx_node_equal(p1, p2));
    ck_assert(amx_node_equal(p1, p3));
    ck_assert(!amx_node_equal(p1, p4));
    amx_node_free(p1);
    amx_node_free(p2);
    amx_node_free(p3);
    amx_node_free(p4);
    amx_node_free(n);
}
END_TEST

START_TEST(test_parse_file)
{
    char *dir = tu_tmpdir("config");
    char *path = tu_fmt("%s/x.yaml", dir);
    ck_assert_int_eq(tu_write_file(path, MINIMAL, strlen(MINIMAL)), 0);
    struct amx_node *n = NULL;
    struct amx_error e = {0};
    ck_assert_int_eq(amx_node_parse_file(path, &n, &e), AMX_OK);
    ck_assert_str_eq(n->file, path);
    ck_assert_str_eq(amx_node_map_get(n, "name")->file, path);
    amx_node_free(n);
    char *missing = tu_fmt("%s/none.yaml", dir);
    ck_assert_int_eq(amx_node_parse_file(missing, &n, &e), AMX_ERR_CONFIG);
    ck_assert_ptr_null(n);
    ck_assert_str_eq(e.path, missing);
    ck_assert(strstr(e.msg, "cannot open"));
    tu_rmtree(dir);
    free(missing);
    free(path);
    free(dir);
}
END_TEST

/* a UTF-8 byte-order mark is accepted (and skipped: the
 * marks are those an editor shows); the old parser said "did not find
 * expected <document start>". A BOM further in is still content. */
START_TEST(test_parse_utf8_bom)
{
    char text[256];
    snprintf(text, sizeof text, "\xEF\xBB\xBF%s", MINIMAL);
    struct amx_node *n = NULL;
    struct amx_error e = {0};
    enum amx_status s = amx_node_parse_string(text, strlen(text), "bom.yaml", true, &n, &e);
    ck_assert_msg(s == AMX_OK, "%d:%d: %s", e.line, e.col, e.msg);
    const struct amx_node_pair *p = amx_node_map_pair(n, "name");
    ck_assert_ptr_nonnull(p);
    ck_assert_int_eq(p->line, 1);
    ck_assert_int_eq(p->col, 1);
    ck_assert_str_eq(p->value->text, "m");
    ck_assert_int_eq(p->value->col, 7);
    amx_node_free(n);
    struct amx_run_config cfg;
    struct amx_errlist errs = {0};
    ck_assert_msg(bind_text(text, &cfg, &errs) == AMX_OK, "%s", errs_text(&errs));
    amx_errlist_free(&errs);
    /* an invalid byte after a BOM: its offset counts the BOM's bytes */
    const char bad[] = "\xEF\xBB\xBF"
                       "a: \xff\n";
    ck_assert_int_eq(amx_node_parse_string(bad, strlen(bad), "bom.yaml", true, &n, &e),
                     AMX_ERR_CONFIG);
    ck_assert_int_eq(e.line, 1);
    ck_assert_int_eq(e.col, 4);
    ck_assert_ptr_nonnull(strstr(e.msg, "byte 0xff at offset 6"));
}
END_TEST

/* only regular files of at most 1 MiB are read as
 * experiments; the old reader grew without bound on /dev/zero, hung on a
 * FIFO and said "read failed" for a directory. */
START_TEST(test_read_file_not_regular_or_too_large)
{
    char *dir = tu_tmpdir("config-read");
    char *text = (char *)1;
    size_t len = 7;
    struct amx_error e = {0};
    /* a directory */
    ck_assert_int_eq(amx_node_read_file(dir, &text, &len, &e), AMX_ERR_CONFIG);
    ck_assert_ptr_null(text);
    ck_assert_str_eq(e.path, dir);
    ck_assert_msg(strstr(e.msg, "is a directory, not a regular file; expected an experiment file"),
                  "%s", e.msg);
    /* a FIFO without a writer: refused at once, not waited on (the test's
     * timeout would catch a hang) */
    char *fifo = tu_fmt("%s/fifo.yaml", dir);
    ck_assert_int_eq(mkfifo(fifo, 0600), 0);
    ck_assert_int_eq(amx_node_read_file(fifo, &text, &len, &e), AMX_ERR_CONFIG);
    ck_assert_ptr_nonnull(strstr(e.msg, "is a FIFO (named pipe), not a regular file"));
    /* a device that never ends */
    ck_assert_int_eq(amx_node_read_file("/dev/zero", &text, &len, &e), AMX_ERR_CONFIG);
    ck_assert_ptr_nonnull(strstr(e.msg, "is a character device, not a regular file"));
    ck_assert_str_eq(e.path, "/dev/zero");
    struct amx_node *n = (struct amx_node *)1;
    ck_assert_int_eq(amx_node_parse_file("/dev/urandom", &n, &e), AMX_ERR_CONFIG);
    ck_assert_ptr_null(n);
    /* at the limit: read; one byte more: refused, saying the limit */
    size_t big = AMX_NODE_MAX_FILE_BYTES;
    char *buf = malloc(big + 1);
    ck_assert_ptr_nonnull(buf);
    memset(buf, ' ', big + 1);
    memcpy(buf, "name: m\n", 8);
    char *path = tu_fmt("%s/big.yaml", dir);
    ck_assert_int_eq(tu_write_file(path, buf, big), 0);
    ck_assert_int_eq(amx_node_read_file(path, &text, &len, &e), AMX_OK);
    ck_assert_uint_eq(len, big);
    ck_assert_int_eq(text[len], '\0');
    free(text);
    ck_assert_int_eq(tu_write_file(path, buf, big + 1), 0);
    text = (char *)1;
    ck_assert_int_eq(amx_node_read_file(path, &text, &len, &e), AMX_ERR_CONFIG);
    ck_assert_ptr_null(text);
    ck_assert_msg(strstr(e.msg, "the experiment file is 1048577 bytes: the limit is 1048576 "
                                "bytes (1 MiB)"),
                  "%s", e.msg);
    /* an empty file is read (and then refused by the parser as empty) */
    ck_assert_int_eq(tu_write_file(path, "", 0), 0);
    ck_assert_int_eq(amx_node_read_file(path, &text, &len, &e), AMX_OK);
    ck_assert_uint_eq(len, 0);
    free(text);
    free(buf);
    free(path);
    free(fifo);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

/* ------------------------------------------------------------ binding --- */

START_TEST(test_bind_every_key)
{
    struct amx_run_config cfg;
    struct amx_errlist errs = {0};
    ck_assert_msg(bind_text(FULL, &cfg, &errs) == AMX_OK, "%s", errs_text(&errs));
    ck_assert_uint_eq(errs.n, 0);
    ck_assert_str_eq(cfg.file, "t.yaml");
    ck_assert_str_eq(cfg.name, "fig4-adamix");
    ck_assert_str_eq(cfg.description, "AdaMix: a test");
    ck_assert(cfg.seed == UINT64_MAX);
    ck_assert_int_eq(cfg.repeats, 3);
    ck_assert_int_eq(cfg.repeat, 0);
    ck_assert_str_eq(cfg.data.dir, "/tmp/mnist");
    ck_assert_str_eq(cfg.data.train, "tr.gz");
    ck_assert_str_eq(cfg.data.test, "te.gz");
    ck_assert_int_eq(cfg.data.train_limit, 60000);
    ck_assert_int_eq(cfg.data.test_limit, 1000);
    ck_assert_int_eq(cfg.data.validation, 500);
    ck_assert_int_eq(cfg.data.validation_line, 11); /* for the check against the data */
    ck_assert_int_eq(cfg.data.validation_col, 15);
    ck_assert_str_eq(cfg.data.validation_file, "t.yaml");
    ck_assert_int_eq(cfg.network.n_layers, 4);
    int layers[] = {784, 100, 50, 10};
    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(cfg.network.layers[i], layers[i]);
    ck_assert_int_eq(cfg.network.layers_line, 13); /* the first size, "784" */
    ck_assert_int_eq(cfg.network.layers_col, 12);
    ck_assert_int_eq(cfg.network.hidden, AMX_UNIT_LOGISTIC); /* pretrained: relu, tanh refused */
    ck_assert_int_eq(cfg.network.code, AMX_UNIT_LOGISTIC);
    ck_assert_int_eq(cfg.network.output, AMX_UNIT_LINEAR);
    ck_assert(cfg.pretrain.enabled);
    ck_assert_int_eq(cfg.pretrain.epochs, 7);
    ck_assert_int_eq(cfg.pretrain.batch_size, 20);
    ck_assert_int_eq(cfg.pretrain.cd_k, 3);
    ck_assert_double_eq(cfg.pretrain.learning_rate, 0.05);
    ck_assert_double_eq(cfg.pretrain.code_learning_rate, 0.002);
    ck_assert_double_eq(cfg.pretrain.momentum_initial, 0.4);
    ck_assert_double_eq(cfg.pretrain.momentum_final, 0.8);
    ck_assert_int_eq(cfg.pretrain.momentum_switch_epoch, 2);
    ck_assert_double_eq(cfg.pretrain.weight_decay, 0.001);
    ck_assert_double_eq(cfg.pretrain.init_std, 0.05);
    ck_assert_int_eq(cfg.finetune.epochs, 9);
    ck_assert_int_eq(cfg.finetune.batch_size, 25);
    ck_assert_int_eq(cfg.finetune.loss, AMX_LOSS_SQUARED_ERROR);
    ck_assert_double_eq(cfg.finetune.divergence_limit, 1e5);
    ck_assert_int_eq(cfg.finetune.rules_line, 30);
    ck_assert_int_eq(cfg.finetune.rules_col, 3);
    ck_assert_uint_eq(cfg.finetune.n_rules, 2);
    const struct amx_rule_binding *w = &cfg.finetune.rules[0], *b = &cfg.finetune.rules[1];
    ck_assert_str_eq(w->selector, "weights");
    ck_assert_int_eq(w->line, 31);
    ck_assert_int_eq(w->col, 5);
    ck_assert_ptr_eq(w->spec.rule, amx_rule_find("current-gradient"));
    ck_assert_double_eq(w->spec.eta0, 0.02);
    ck_assert_double_eq(w->spec.momentum, 0);
    ck_assert_int_eq(w->spec.per, AMX_CLOCK_EPOCH);
    int k = amx_rule_param_index(w->spec.rule, "K"),
        win = amx_rule_param_index(w->spec.rule, "window");
    ck_assert_double_eq(w->spec.p[k], 2);
    ck_assert_str_eq(w->spec.rule->params[win].choices[(int)w->spec.p[win]], "epoch");
    ck_assert_str_eq(b->selector, "biases");
    ck_assert_ptr_eq(b->spec.rule, amx_rule_find("power-exponential")); /* by its alias */
    ck_assert_double_eq(b->spec.eta0, 0.03);
    ck_assert_double_eq(b->spec.momentum, 0.9);
    ck_assert_int_eq(b->spec.per, AMX_CLOCK_STEP);
    ck_assert_double_eq(b->spec.p[amx_rule_param_index(b->spec.rule, "r")], 5);
    ck_assert_double_eq(b->spec.p[amx_rule_param_index(b->spec.rule, "c")], 0.5);
    ck_assert_int_eq(cfg.report.metric, AMX_METRIC_TRAIN_ERROR);
    ck_assert_str_eq(cfg.report.series, "finetune.rules");
    ck_assert_str_eq(cfg.report.title, "Fig. 4");
    ck_assert(cfg.report.log_y);
    amx_errlist_free(&errs);
}
END_TEST

START_TEST(test_bind_defaults)
{
    struct amx_run_config cfg;
    struct amx_errlist errs = {0};
    ck_assert_msg(bind_text(MINIMAL, &cfg, &errs) == AMX_OK, "%s", errs_text(&errs));
    ck_assert_str_eq(cfg.name, "m");
    ck_assert_str_eq(cfg.description, "");
    ck_assert(cfg.seed == 1);
    ck_assert_int_eq(cfg.repeats, 1);
    ck_assert_int_eq(cfg.repeat, 0);
    ck_assert_str_eq(cfg.data.dir, "data/mnist");
    ck_assert_str_eq(cfg.data.train, "train-images-idx3-ubyte.gz");
    ck_assert_str_eq(cfg.data.test, "t10k-images-idx3-ubyte.gz");
    ck_assert_int_eq(cfg.data.train_limit, 0);
    ck_assert_int_eq(cfg.data.test_limit, 0);
    ck_assert_int_eq(cfg.data.validation, 0);
    ck_assert_int_eq(cfg.network.hidden, AMX_UNIT_LOGISTIC);
    ck_assert_int_eq(cfg.network.code, AMX_UNIT_LINEAR);
    ck_assert_int_eq(cfg.network.output, AMX_UNIT_LOGISTIC);
    ck_assert(cfg.pretrain.enabled);
    ck_assert_int_eq(cfg.pretrain.epochs, 50);
    ck_assert_int_eq(cfg.pretrain.batch_size, 100);
    ck_assert_int_eq(cfg.pretrain.cd_k, 1);
    ck_assert_double_eq(cfg.pretrain.learning_rate, 0.1);
    ck_assert_double_eq(cfg.pretrain.code_learning_rate, 0.001);
    ck_assert_double_eq(cfg.pretrain.momentum_initial, 0.5);
    ck_assert_double_eq(cfg.pretrain.momentum_final, 0.9);
    ck_assert_int_eq(cfg.pretrain.momentum_switch_epoch, 5);
    ck_assert_double_eq(cfg.pretrain.weight_decay, 0.0002);
    ck_assert_double_eq(cfg.pretrain.init_std, 0.1);
    ck_assert_int_eq(cfg.finetune.epochs, 50);
    ck_assert_int_eq(cfg.finetune.batch_size, 100);
    ck_assert_int_eq(cfg.finetune.loss, AMX_LOSS_CROSS_ENTROPY);
    ck_assert_double_eq(cfg.finetune.divergence_limit, 1e6);
    ck_assert_uint_eq(cfg.finetune.n_rules, 1);
    ck_assert_double_eq(cfg.finetune.rules[0].spec.eta0, 0.01);
    ck_assert_double_eq(cfg.finetune.rules[0].spec.momentum, 0);
    ck_assert_int_eq(cfg.finetune.rules[0].spec.per, AMX_CLOCK_EPOCH);
    ck_assert_int_eq(cfg.report.metric, AMX_METRIC_TEST_ERROR);
    ck_assert_str_eq(cfg.report.series, "");
    ck_assert_str_eq(cfg.report.title, "m"); /* the name */
    ck_assert(!cfg.report.log_y);
    amx_errlist_free(&errs);
}
END_TEST

START_TEST(test_bind_variants)
{
    struct amx_run_config cfg;
    struct amx_errlist errs = {0};
    /* pretrain: none; the rule shorthand; a rule parameter's default; a whole number
     * spelt with an exponent; integer rule parameter; a number where a string is expected */
    const char *t = "name: \"2016\"\n"
                    "data: {validation: 10}\n"
                    "network: {layers: [4, 3, 2]}\n"
                    "pretrain: none\n"
                    "finetune:\n"
                    "  epochs: 1e1\n"
                    "  rules: {weights: adagrad, biases: {rule: step, every: 3.0}}\n"
                    "report: {title: 42, metric: validation_error}\n";
    ck_assert_msg(bind_text(t, &cfg, &errs) == AMX_OK, "%s", errs_text(&errs));
    ck_assert_str_eq(cfg.name, "2016");
    ck_assert(!cfg.pretrain.enabled);
    ck_assert_int_eq(cfg.pretrain.epochs, 50);
    ck_assert_int_eq(cfg.finetune.epochs, 10);
    ck_assert_ptr_eq(cfg.finetune.rules[0].spec.rule, amx_rule_find("adagrad"));
    const struct amx_rule *ada = amx_rule_find("adagrad");
    ck_assert_double_eq(cfg.finetune.rules[0].spec.p[0], ada->params[0].def);
    const struct amx_rule *step = amx_rule_find("step");
    ck_assert_double_eq(cfg.finetune.rules[1].spec.p[amx_rule_param_index(step, "every")], 3);
    ck_assert_str_eq(cfg.report.title, "42");
    ck_assert_int_eq(cfg.report.metric, AMX_METRIC_VALIDATION_ERROR);
    /* `sweep` is ignored by binding */
    amx_errlist_free(&errs);
    ck_assert_int_eq(bind_text(FULL, &cfg, &errs), AMX_OK);
    amx_errlist_free(&errs);
}
END_TEST

/* A valid head of six lines; each case adds line 7 (or replaces the whole
 * text when it starts with '!'). */
#define HEAD                                                                                       \
    "name: t\n"                                                                                    \
    "network:\n"                                                                                   \
    "  layers: [4, 3, 2]\n"                                                                        \
    "finetune:\n"                                                                                  \
    "  rules:\n"                                                                                   \
    "    all: {rule: constant, eta0: 0.01}\n"

struct bind_case {
    const char *text;
    const char *expect;
    int line, col;
};

static const struct bind_case bind_cases[] = {
    {HEAD "seed: -1\n", "seed must be a non-negative integer (got -1)", 7, 7},
    {HEAD "seed: 18446744073709551616\n", "seed must be at most 18446744073709551615", 7, 7},
    {HEAD "seed: 1.5\n", "seed must be a non-negative integer (got 1.5)", 7, 7},
    {HEAD "repeats: 0\n", "repeats must be >= 1 (got 0)", 7, 10},
    {HEAD "repeats: 1.5\n", "repeats must be a whole number (got 1.5)", 7, 10},
    {HEAD "repeats: \"3\"\n", "repeats must be an integer (got the string \"3\")", 7, 10},
    {HEAD "repeats: 0x10\n", "repeats must be an integer (got 0x10)", 7, 10},
    {HEAD "repeats: 3000000000\n", "repeats must be >= 1 and <= 2147483647 (got 3000000000)", 7,
     10},
    {HEAD "repeats: 99999999999999999999\n", "repeats is too large", 7, 10},
    {HEAD "repeats:\n", "repeats must be an integer (got an empty value)", 7, 9},
    {HEAD "repeat: 2\n", "repeat must be < repeats (1) (got 2)", 7, 9},
    /* a validation metric needs a validation split */
    {HEAD "report: {metric: validation_error}\n",
     "report.metric validation_error needs held-out images: set data.validation", 7, 18},
    /* per on a rule without a schedule would change only the run id */
    {"name: t\nnetwork: {layers: [4, 2]}\nfinetune:\n  rules:\n"
     "    all: {rule: adagrad, per: step}\n",
     "rule adagrad has no schedule, so per has no effect", 5, 31},
    /* cross_entropy (the default loss) needs logistic outputs: at the loss,
     * or at the output when the loss is a default */
    {"name: t\nnetwork: {layers: [4, 2], output: linear}\n"
     "finetune:\n  loss: cross_entropy\n  rules: {all: constant}\n",
     "finetune.loss cross_entropy needs network.output: logistic (got output linear)", 4, 9},
    {"name: t\nnetwork: {layers: [4, 2], output: tanh}\nfinetune: {rules: {all: constant}}\n",
     "use loss: squared_error for tanh outputs", 2, 35},
    {HEAD "nmae: x\n", "unknown key 'nmae' at the top level; did you mean 'name'?", 7, 1},
    {HEAD "colour: x\n",
     "unknown key 'colour' at the top level (expected one of: name, "
     "description, seed, repeats, repeat, data, network, pretrain, finetune, "
     "compute, evaluation, output, report, sweep)",
     7, 1},
    {HEAD "description: [a]\n", "description must be a string (got a sequence)", 7, 14},
    {HEAD "data: []\n", "data must be a mapping of keys (got a sequence)", 7, 7},
    {HEAD "data: {validation: 10, train_limit: 10}\n",
     "data.validation must be < data.train_limit (10), so that some images are left to train "
     "on (got 10)",
     7, 20},
    {HEAD "data: {dir: \"\"}\n", "data.dir must not be empty", 7, 13},
    {HEAD "data: {dir: ~}\n", "data.dir must be a string (got null); write \"\" for an empty", 7,
     13},
    {HEAD "data: {train_limit: -5}\n", "data.train_limit must be >= 0 (got -5)", 7, 21},
    {HEAD "data: {tset: a}\n", "unknown key 'tset' in data; did you mean 'test'?", 7, 8},
    {HEAD "pretrain: {momentum: {initial: 1}}\n",
     "pretrain.momentum.initial must be >= 0 and < 1 (got 1)", 7, 32},
    {HEAD "pretrain: {weight_decay: -0.1}\n", "pretrain.weight_decay must be >= 0 (got -0.1)", 7,
     26},
    {HEAD "pretrain: {init_std: 0}\n", "pretrain.init_std must be > 0 (got 0)", 7, 22},
    {HEAD "pretrain: {cd_k: 0}\n", "pretrain.cd_k must be >= 1 (got 0)", 7, 18},
    {HEAD "pretrain: {momentum: {switch_epoch: -1}}\n",
     "pretrain.momentum.switch_epoch must be >= 0 (got -1)", 7, 37},
    {HEAD "pretrain: nothing\n", "pretrain must be a mapping of keys or none (got nothing)", 7, 11},
    {HEAD "pretrain: \"none\"\n", "pretrain must be a mapping of keys or none (got the string", 7,
     11},
    {HEAD "pretrain: {learning_rate: 1e999}\n",
     "pretrain.learning_rate is too large to be "
     "represented (got 1e999)",
     7, 27},
    {HEAD "pretrain: {learning_rate: .inf}\n", "pretrain.learning_rate must be a number (got .inf)",
     7, 27},
    {HEAD "pretrain: {learning_rate: nan}\n", "pretrain.learning_rate must be a number (got nan)",
     7, 27},
    {HEAD "pretrain: {epochs: 1_000}\n", "pretrain.epochs must be an integer (got 1_000)", 7, 20},
    {HEAD "report: {log_y: yes}\n", "report.log_y must be true or false (got yes)", 7, 17},
    {HEAD "report: {metric: test}\n",
     "report.metric must be a curve column: test_error, train_error, validation_error, "
     "test_loss, train_loss, validation_loss, seconds, rate_mean.GROUP, rate_min.GROUP or "
     "rate_max.GROUP (got test)",
     7, 18},
    {HEAD "report: {metric: rate_maen.weights}\n", "did you mean 'rate_mean.weights'?", 7, 18},
    {HEAD "report: {metric: test_eror}\n", "did you mean 'test_error'?", 7, 18},
    {"name: Fig 4\nnetwork: {layers: [4, 2]}\nfinetune: {rules: {all: constant}}\n",
     "name must be made of a-z, 0-9, '.', '_' and '-'", 1, 7},
    {"name: \"..\"\nnetwork: {layers: [4, 2]}\nfinetune: {rules: {all: constant}}\n",
     "not \".\" or \"..\"", 1, 7},
    {"name: a/b\nnetwork: {layers: [4, 2]}\nfinetune: {rules: {all: constant}}\n",
     "name must be made of", 1, 7},
    {"network: {layers: [4, 2]}\nfinetune: {rules: {all: constant}}\n",
     "name is required (e.g. name: my-experiment)", 1, 1},
    {"name: t\nfinetune: {rules: {all: constant}}\n", "network is required", 1, 1},
    {"name: t\nnetwork: {layers: [4, 2]}\n", "finetune is required", 1, 1},
    {"name: t\nnetwork:\n  layers: [4]\nfinetune: {rules: {all: constant}}\n",
     "network.layers must list at least 2 sizes", 3, 11},
    {"name: t\nnetwork:\n  layers: [4, 0, 2]\nfinetune: {rules: {all: constant}}\n",
     "network.layers[1] must be >= 1 and <= 16777216 (got 0)", 3, 15},
    /* sizes are capped, so that no product of sizes can overflow */
    {"name: t\nnetwork:\n  layers: [784, 1073741824, 30]\nfinetune: {rules: {all: constant}}\n",
     "network.layers[1] must be >= 1 and <= 16777216 (got 1073741824)", 3, 17},
    {"name: t\nnetwork:\n  layers: [784, 16777216, 2147482862]\nfinetune: {rules: {all: "
     "constant}}\n",
     "network.layers[2] must be >= 1 and <= 16777216 (got 2147482862)", 3, 27},
    {HEAD "pretrain: {batch_size: 1048577}\n",
     "pretrain.batch_size must be >= 1 and <= 1048576 (got 1048577)", 7, 24},
    {"name: t\nnetwork: {layers: [4, 2]}\nfinetune: {batch_size: 2147483647, rules: {all: "
     "constant}}\n",
     "finetune.batch_size must be >= 1 and <= 1048576 (got 2147483647)", 3, 24},
    /* logistic RBMs are not unrolled into other units */
    {"name: t\nnetwork:\n  layers: [4, 3, 2]\n  hidden: tanh\nfinetune: {rules: {all: "
     "constant}}\n",
     "network.hidden tanh cannot be pretrained: the RBMs of pretraining have logistic hidden "
     "units, so their weights would be unrolled into tanh units; expected hidden: logistic, or "
     "pretrain: none",
     4, 11},
    {"name: t\nnetwork: {layers: [4, 3, 2], hidden: linear}\nfinetune: {rules: {all: "
     "constant}}\n",
     "network.hidden linear cannot be pretrained", 2, 38},
    {"name: t\nnetwork: {layers: [4, 2], code: relu}\npretrain: {epochs: 3}\nfinetune: "
     "{rules: {all: constant}}\n",
     "network.code relu cannot be pretrained: the top RBM of pretraining has logistic or linear "
     "hidden units, so its weights would be unrolled into relu units; expected code: logistic "
     "or linear, or pretrain: none",
     2, 33},
    {"name: t\nnetwork:\n  layers: [4, a, 2]\nfinetune: {rules: {all: constant}}\n",
     "network.layers[1] must be an integer (got a)", 3, 15},
    {"name: t\nnetwork:\n  layers: 784\nfinetune: {rules: {all: constant}}\n",
     "network.layers must be a sequence of layer sizes", 3, 11},
    {"name: t\nnetwork:\n  layers: [1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17]\n"
     "finetune: {rules: {all: constant}}\n",
     "network.layers has 17 sizes; at most 16", 3, 11},
    {"name: t\nnetwork: {hidden: relu}\nfinetune: {rules: {all: constant}}\n",
     "network.layers is required", 2, 10},
    {"name: t\nnetwork: {layers: [4, 2], hidden: sigmoid}\nfinetune: {rules: {all: constant}}\n",
     "network.hidden must be one of logistic, linear, relu, tanh, softmax (got sigmoid)", 2, 35},
    {"name: t\nnetwork: {layers: [4, 2], code: logistik}\nfinetune: {rules: {all: constant}}\n",
     "did you mean 'logistic'?", 2, 33},
    {"name: t\nnetwork: {layers: [4, 2]}\nfinetune:\n  epoch: 3\n  rules: {all: constant}\n",
     "unknown key 'epoch' in finetune; did you mean 'epochs'?", 4, 3},
    {"name: t\nnetwork: {layers: [4, 2]}\nfinetune: {epochs: 3}\n",
     "finetune.rules is required (e.g. rules: {all: {rule: constant, eta0: 0.01}})", 3, 11},
    {"name: t\nnetwork: {layers: [4, 2]}\nfinetune:\n  rules:\n    all: {rule: adagrd}\n",
     "unknown rule adagrd in finetune.rules.all; did you mean 'adagrad'?", 5, 17},
    {"name: t\nnetwork: {layers: [4, 2]}\nfinetune:\n  rules:\n    all: {rule: sgd}\n",
     "unknown rule sgd in finetune.rules.all (expected one of: constant, power-exponential (or "
     "power), ",
     5, 17},
    {"name: t\nnetwork: {layers: [4, 2]}\nfinetune:\n  rules:\n    all: {rule: constant, eta0: "
     "-0.1}\n",
     "finetune.rules.all.eta0 must be >= 0 (got -0.1)", 5, 33},
    {"name: t\nnetwork: {layers: [4, 2]}\nfinetune:\n  rules:\n    all: {rule: adagrad, k: 1}\n",
     "unknown parameter 'k' for rule adagrad in finetune.rules.all; did you mean 'K'?", 5, 26},
    {"name: t\nnetwork: {layers: [4, 2]}\nfinetune:\n  rules:\n    all: {rule: constant, foo: "
     "1}\n",
     "unknown parameter 'foo' for rule constant in finetune.rules.all (constant takes rule, "
     "eta0, momentum, per, plateau)",
     5, 27},
    {"name: t\nnetwork: {layers: [4, 2]}\nfinetune:\n  rules:\n    all: {rule: adagrad, K: 0}\n",
     "finetune.rules.all.K must be > 0 (got 0)", 5, 29},
    {"name: t\nnetwork: {layers: [4, 2]}\nfinetune:\n  rules:\n    all: {rule: "
     "current-gradient, window: month}\n",
     "finetune.rules.all.window must be one of step, epoch (got month)", 5, 43},
    {"name: t\nnetwork: {layers: [4, 2]}\nfinetune:\n  rules:\n    all: {rule: step, every: "
     "2.5}\n",
     "finetune.rules.all.every must be a whole number (got 2.5)", 5, 30},
    {"name: t\nnetwork: {layers: [4, 2]}\nfinetune:\n  rules:\n    all: {rule: step, every: "
     "0}\n",
     "finetune.rules.all.every must be >= 1 (got 0)", 5, 30},
    {"name: t\nnetwork: {layers: [4, 2]}\nfinetune:\n  rules:\n    all: {rule: constant, "
     "momentum: 1}\n",
     "finetune.rules.all.momentum must be >= 0 and < 1 (got 1)", 5, 37},
    {"name: t\nnetwork: {layers: [4, 2]}\nfinetune:\n  rules:\n    all: {rule: constant, per: "
     "steps}\n",
     "finetune.rules.all.per must be one of epoch, step (got steps); did you mean 'step'?", 5, 32},
    {"name: t\nnetwork: {layers: [4, 2]}\nfinetune:\n  rules:\n    weight: {rule: constant}\n",
     "unknown parameter group 'weight' in finetune.rules; did you mean 'weights'?", 5, 5},
    {"name: t\nnetwork: {layers: [4, 2]}\nfinetune:\n  rules:\n    all: constant\n    "
     "layer3.weight: constant\n",
     "did you mean 'layer3.weights'?", 6, 5},
    {"name: t\nnetwork: {layers: [4, 2]}\nfinetune:\n  rules:\n    weights: constant\n",
     "no rule covers parameters", 4, 3},
    {"name: t\nnetwork: {layers: [4, 2]}\nfinetune:\n  rules:\n    all: constant\n    layer9: "
     "constant\n",
     "parameter group 'layer9' matches no parameter", 6, 5},
    {"name: t\nnetwork: {layers: [4, 2]}\nfinetune:\n  rules: [constant]\n",
     "finetune.rules must be a mapping of parameter groups to rules", 4, 10},
    {"name: t\nnetwork: {layers: [4, 2]}\nfinetune:\n  rules: {}\n", "finetune.rules is empty", 4,
     10},
    {"name: t\nnetwork: {layers: [4, 2]}\nfinetune:\n  rules:\n    all: {eta0: 0.1}\n",
     "finetune.rules.all.rule is required", 5, 10},
    {"name: t\nnetwork: {layers: [4, 2]}\nfinetune:\n  rules:\n    all: [constant]\n",
     "finetune.rules.all must be a mapping like {rule: adagrad, eta0: 0.01} or a rule name", 5, 10},
    {"name: t\nnetwork: {layers: [4, 2]}\nfinetune:\n  divergence_limit: 0\n  rules: {all: "
     "constant}\n",
     "finetune.divergence_limit must be > 0 (got 0)", 4, 21},
    {"name: t\nnetwork: {layers: [4, 2]}\nfinetune:\n  loss: mse\n  rules: {all: constant}\n",
     "finetune.loss must be one of cross_entropy, squared_error (got mse)", 4, 9},
};

START_TEST(test_bind_errors)
{
    const struct bind_case *c = &bind_cases[_i];
    struct amx_run_config cfg;
    struct amx_errlist errs = {0};
    ck_assert_int_eq(bind_text(c->text, &cfg, &errs), AMX_ERR_CONFIG);
    ck_assert_msg(errs.n == 1, "case %d: %zu errors:\n%s", _i, errs.n, errs_text(&errs));
    const struct amx_error *e = &errs.items[0];
    ck_assert_int_eq(e->code, AMX_ERR_CONFIG);
    ck_assert_str_eq(e->path, "t.yaml");
    ck_assert_msg(strstr(e->msg, c->expect), "case %d: expected '%s' in '%s'", _i, c->expect,
                  e->msg);
    ck_assert_msg(e->line == c->line && e->col == c->col, "case %d (%s): at %d:%d, expected %d:%d",
                  _i, e->msg, e->line, e->col, c->line, c->col);
    amx_errlist_free(&errs);
}
END_TEST

START_TEST(test_bind_all_errors_reported)
{
    const char *t = "name: t\n"                             /* 1 */
                    "seed: x\n"                             /* 2 */
                    "network:\n"                            /* 3 */
                    "  layers: [4, -3, 2]\n"                /* 4 */
                    "  hiden: relu\n"                       /* 5 */
                    "finetune:\n"                           /* 6 */
                    "  rules:\n"                            /* 7 */
                    "    all: {rule: constant, eta0: -1}\n" /* 8 */
                    "report: {log_y: 1}\n";                 /* 9 */
    struct amx_run_config cfg;
    struct amx_errlist errs = {0};
    ck_assert_int_eq(bind_text(t, &cfg, &errs), AMX_ERR_CONFIG);
    ck_assert_msg(errs.n == 5, "%s", errs_text(&errs));
    const struct {
        const char *expect;
        int line, col;
    } want[] = {{"seed must be", 2, 7},
                {"network.layers[1] must be >= 1", 4, 15},
                {"unknown key 'hiden' in network; did you mean 'hidden'?", 5, 3},
                {"finetune.rules.all.eta0 must be >= 0 (got -1)", 8, 33},
                {"report.log_y must be true or false (got 1)", 9, 17}};
    for (size_t i = 0; i < 5; i++) {
        ck_assert_msg(strstr(errs.items[i].msg, want[i].expect), "%zu: %s", i, errs.items[i].msg);
        ck_assert_int_eq(errs.items[i].line, want[i].line);
        ck_assert_int_eq(errs.items[i].col, want[i].col);
    }
    amx_errlist_free(&errs);
}
END_TEST

START_TEST(test_bind_not_a_mapping)
{
    struct amx_node *n = NULL;
    struct amx_error e = {0};
    ck_assert_int_eq(amx_node_parse_string("[1]", 3, "s.yaml", false, &n, &e), AMX_OK);
    struct amx_run_config cfg;
    struct amx_errlist errs = {0};
    ck_assert_int_eq(amx_config_bind(n, &cfg, &errs), AMX_ERR_CONFIG);
    ck_assert_uint_eq(errs.n, 1);
    ck_assert_str_eq(errs.items[0].path, "s.yaml");
    ck_assert_int_eq(errs.items[0].line, 1);
    ck_assert(strstr(errs.items[0].msg, "must be a mapping"));
    amx_errlist_free(&errs);
    amx_node_free(n);
}
END_TEST

/* An override node keeps its own file name in errors. */
START_TEST(test_bind_error_file_of_node)
{
    struct amx_node *n = parse_ok(MINIMAL);
    struct amx_error e = {0};
    struct amx_node *v = NULL;
    ck_assert_int_eq(amx_node_parse_string("-3", 2, "--set finetune.epochs", false, &v, &e),
                     AMX_OK);
    ck_assert_int_eq(amx_node_set_path(n, "finetune.epochs", v, &e), AMX_OK);
    struct amx_run_config cfg;
    struct amx_errlist errs = {0};
    ck_assert_int_eq(amx_config_bind(n, &cfg, &errs), AMX_ERR_CONFIG);
    ck_assert_uint_eq(errs.n, 1);
    ck_assert_str_eq(errs.items[0].path, "--set finetune.epochs");
    ck_assert_int_eq(errs.items[0].line, 1);
    ck_assert_int_eq(errs.items[0].col, 1);
    amx_errlist_free(&errs);
    amx_node_free(n);
}
END_TEST

START_TEST(test_suggest)
{
    const char *keys[] = {"epochs", "batch_size", "loss", "rules", "divergence_limit"};
    ck_assert_str_eq(amx_suggest("epoch", keys, 5), "epochs");
    ck_assert_str_eq(amx_suggest("batchsize", keys, 5), "batch_size");
    ck_assert_str_eq(amx_suggest("bacth_size", keys, 5), "batch_size"); /* a swap costs 1 */
    ck_assert_str_eq(amx_suggest("Rules", keys, 5), "rules");
    const char *pre[] = {"learning_rate", "code_learning_rate", "init_std"};
    ck_assert_str_eq(amx_suggest("learnign_rate", pre, 3), "learning_rate");
    ck_assert_str_eq(amx_suggest("init-std", pre, 3), "init_std");
    ck_assert_ptr_null(amx_suggest("xyz", keys, 5));
    ck_assert_ptr_null(amx_suggest("lr", keys, 5));
    const char *groups[] = {"all", "weights", "biases"};
    ck_assert_ptr_null(amx_suggest("a", groups, 3));
    ck_assert_str_eq(amx_suggest("bias", groups, 3), "biases");
    ck_assert_ptr_null(amx_suggest("epoch", keys, 0));
    ck_assert_ptr_null(amx_suggest("", keys, 5));
}
END_TEST

/* Equal values: binding zeroes the struct first, so equal configs are equal
 * bytes once the locations (which differ between a file and a written-back
 * tree) are cleared. */
static void clear_marks(struct amx_run_config *c)
{
    c->network.layers_line = c->network.layers_col = 0;
    c->finetune.rules_line = c->finetune.rules_col = 0;
    c->evaluation.train_subset_line = c->evaluation.train_subset_col = 0;
    memset(c->evaluation.train_subset_file, 0, sizeof c->evaluation.train_subset_file);
    c->data.validation_line = c->data.validation_col = 0;
    memset(c->data.validation_file, 0, sizeof c->data.validation_file);
    for (size_t i = 0; i < AMX_MAX_RULE_BINDINGS; i++)
        c->finetune.rules[i].line = c->finetune.rules[i].col = 0;
}

static void assert_cfg_equal(const struct amx_run_config *a, const struct amx_run_config *b)
{
    struct amx_run_config x = *a, y = *b;
    ck_assert_str_eq(x.name, y.name);
    ck_assert_str_eq(x.file, y.file);
    ck_assert_double_eq(x.pretrain.learning_rate, y.pretrain.learning_rate);
    ck_assert_uint_eq(x.finetune.n_rules, y.finetune.n_rules);
    clear_marks(&x);
    clear_marks(&y);
    ck_assert(memcmp(&x, &y, sizeof x) == 0);
}

/* to_node -> (emit -> parse) -> bind gives the config back. */
static void round_trip(const struct amx_run_config *cfg, bool through_text)
{
    struct amx_node *t = amx_config_to_node(cfg);
    ck_assert_ptr_nonnull(t);
    struct amx_node *back = t;
    if (through_text) {
        char *s = amx_node_emit_string(t);
        struct amx_error e = {0};
        back = NULL;
        ck_assert_msg(amx_node_parse_string(s, strlen(s), cfg->file, true, &back, &e) == AMX_OK,
                      "%s\n%s", e.msg, s);
        free(s);
    }
    struct amx_run_config again;
    struct amx_errlist errs = {0};
    ck_assert_msg(amx_config_bind(back, &again, &errs) == AMX_OK, "%s", errs_text(&errs));
    assert_cfg_equal(cfg, &again);
    amx_errlist_free(&errs);
    if (back != t) amx_node_free(back);
    amx_node_free(t);
}

START_TEST(test_to_node_round_trip)
{
    const char *texts[] = {FULL, MINIMAL,
                           "name: n\ndescription: \"yes\"\nnetwork: {layers: [3, 2]}\n"
                           "pretrain: none\nfinetune: {rules: {encoder: adam, decoder: {rule: "
                           "rmsprop, rho: 0.5}}}\nreport: {title: \"1e3\"}\n"};
    for (size_t i = 0; i < sizeof texts / sizeof *texts; i++) {
        struct amx_run_config cfg;
        struct amx_errlist errs = {0};
        ck_assert_msg(bind_text(texts[i], &cfg, &errs) == AMX_OK, "%s", errs_text(&errs));
        round_trip(&cfg, false);
        round_trip(&cfg, true);
        amx_errlist_free(&errs);
    }
}
END_TEST

START_TEST(test_to_node_contents)
{
    struct amx_run_config cfg;
    struct amx_errlist errs = {0};
    ck_assert_int_eq(bind_text(MINIMAL, &cfg, &errs), AMX_OK);
    struct amx_node *t = amx_config_to_node(&cfg);
    /* every key, in the order of docs/experiment-language.md */
    const char *top[] = {"name",       "description", "seed",     "repeats",  "repeat",
                         "data",       "network",     "pretrain", "finetune", "compute",
                         "evaluation", "output",      "report"};
    ck_assert_uint_eq(t->n, 13);
    for (size_t i = 0; i < 13; i++)
        ck_assert_str_eq(t->pairs[i].key, top[i]);
    const char *pre[] = {
        "epochs",   "batch_size",   "cd_k",    "learning_rate", "code_learning_rate",
        "momentum", "weight_decay", "init_std"};
    const struct amx_node *p = amx_node_map_get(t, "pretrain");
    ck_assert_uint_eq(p->n, 8);
    for (size_t i = 0; i < 8; i++)
        ck_assert_str_eq(p->pairs[i].key, pre[i]);
    /* shortest spellings */
    ck_assert_str_eq(amx_node_get_path(t, "pretrain.weight_decay")->text, "0.0002");
    ck_assert_str_eq(amx_node_get_path(t, "pretrain.code_learning_rate")->text, "0.001");
    ck_assert_str_eq(amx_node_get_path(t, "finetune.divergence_limit")->text, "1000000");
    ck_assert_str_eq(amx_node_get_path(t, "data.dir")->text, "data/mnist");
    ck_assert_str_eq(amx_node_get_path(t, "report.title")->text, "m");
    const struct amx_node *rule = amx_node_get_path(t, "finetune.rules.all");
    ck_assert_str_eq(amx_node_map_get(rule, "rule")->text, "constant");
    ck_assert_str_eq(amx_node_map_get(rule, "per")->text, "epoch");
    ck_assert_str_eq(amx_node_map_get(rule, "momentum")->text, "0");
    ck_assert_int_eq(amx_node_get_path(t, "network.layers")->kind, AMX_NODE_SEQ);
    amx_node_free(t);
    /* the writer quotes strings and spells the rule parameters of a choice by name */
    ck_assert_int_eq(bind_text(FULL, &cfg, &errs), AMX_OK);
    t = amx_config_to_node(&cfg);
    char *s = amx_node_emit_string(t);
    ck_assert_msg(strstr(s, "  rules:\n    weights:\n      rule: current-gradient\n      eta0: "
                            "0.02\n      momentum: 0\n      per: epoch\n      K: 2\n      window: "
                            "epoch\n"),
                  "%s", s);
    ck_assert_msg(strstr(s, "description: \"AdaMix: a test\"\n"), "%s", s);
    ck_assert_msg(strstr(s, "  layers: [784, 100, 50, 10]\n"), "%s", s);
    free(s);
    amx_node_free(t);
    amx_errlist_free(&errs);
}
END_TEST

/* Random values in range survive to_node + emit + parse + bind exactly. */
START_TEST(test_round_trip_random_values)
{
    struct amx_run_config base;
    struct amx_errlist errs = {0};
    ck_assert_int_eq(bind_text(FULL, &base, &errs), AMX_OK);
    lcg_state = 7;
    for (int iter = 0; iter < 300; iter++) {
        struct amx_run_config cfg = base;
        /* a double of any magnitude from 1e-30 to 1e30, full 53-bit mantissa */
        double u = ((double)lcg() * 4294967296.0 + lcg()) / 18446744073709551616.0;
        double x = ldexp(0.5 + u / 2, (int)(lcg() % 200) - 100);
        cfg.pretrain.learning_rate = x;
        cfg.pretrain.weight_decay = x / 3;
        cfg.pretrain.init_std = 1 / x;
        cfg.pretrain.momentum_initial = u * 0.999;
        cfg.finetune.rules[0].spec.eta0 = x * 7;
        cfg.finetune.divergence_limit = x * 1e10;
        cfg.seed = ((uint64_t)lcg() << 32) | lcg();
        cfg.finetune.epochs = 1 + (int)(lcg() % 100000);
        cfg.data.train_limit = 1 + (long)lcg();
        cfg.data.validation = cfg.data.train_limit - 1;
        cfg.evaluation.train_subset = (long)(lcg() % 2);
        cfg.report.n_targets = lcg() % (AMX_MAX_TARGETS + 1);
        for (size_t t = 0; t < cfg.report.n_targets; t++)
            cfg.report.targets[t] = x * (double)(t + 1);
        round_trip(&cfg, true);
    }
    amx_errlist_free(&errs);
}
END_TEST

static void set_text(char *dst, size_t size, const char *t)
{
    snprintf(dst, size, "%s", t);
}

/* The texts of these fields of b equal a's; then they are cleared in both
 * (what follows a text's NUL is whatever was there before). */
static void same_texts(struct amx_run_config *a, struct amx_run_config *b)
{
    char *fa[] = {a->description, a->report.title, a->report.series, a->report.baseline,
                  a->data.dir};
    char *fb[] = {b->description, b->report.title, b->report.series, b->report.baseline,
                  b->data.dir};
    size_t size[] = {sizeof a->description, sizeof a->report.title, sizeof a->report.series,
                     sizeof a->report.baseline, sizeof a->data.dir};
    for (size_t i = 0; i < 5; i++) {
        ck_assert_str_eq(fa[i], fb[i]);
        memset(fa[i], 0, size[i]);
        memset(fb[i], 0, size[i]);
    }
}

/* Strings that look like numbers, booleans or null, YAML's indicators,
 * empty, long, multi-line and non-ASCII strings keep their exact text through
 * to_node + emit + parse + bind (config.yaml as written and read back). */
START_TEST(test_round_trip_awkward_strings)
{
    static const char *const texts[] = {"1",
                                        "-1",
                                        "0.5",
                                        "1e3",
                                        "0x1F",
                                        ".inf",
                                        "true",
                                        "False",
                                        "yes",
                                        "on",
                                        "null",
                                        "~",
                                        "",
                                        "a: b",
                                        "a #b",
                                        "#c",
                                        "- x",
                                        "[x]",
                                        "{x}",
                                        "'q'",
                                        "\"q\"",
                                        "x:",
                                        "? x",
                                        "--- x",
                                        "---1",
                                        "...",
                                        "%x",
                                        "@x",
                                        "`x",
                                        "&a",
                                        "*a",
                                        "!t",
                                        "|",
                                        ">",
                                        " lead",
                                        "trail ",
                                        "tab\tx",
                                        "line\nbreak",
                                        "cr\rx",
                                        "bell\x07",
                                        "back\\slash",
                                        "2016-01-01",
                                        "1:30",
                                        "é ü 日本",
                                        "\xe2\x80\xa8",
                                        "\xef\xbb\xbf"
                                        "bom",
                                        "a,b",
                                        "x?y",
                                        "\\\"'"};
    struct amx_run_config base;
    struct amx_errlist errs = {0};
    ck_assert_int_eq(bind_text(FULL, &base, &errs), AMX_OK);
    char longtext[AMX_TEXT_MAX];
    for (size_t i = 0; i + 1 < sizeof longtext; i++)
        longtext[i] = "word: #x "[i % 9];
    longtext[sizeof longtext - 1] = '\0';
    for (size_t i = 0; i <= sizeof texts / sizeof *texts; i++) {
        const char *t = i < sizeof texts / sizeof *texts ? texts[i] : longtext;
        struct amx_run_config cfg = base;
        set_text(cfg.description, sizeof cfg.description, t);
        set_text(cfg.report.title, sizeof cfg.report.title, t);
        set_text(cfg.report.series, sizeof cfg.report.series, t);
        set_text(cfg.report.baseline, sizeof cfg.report.baseline, t);
        if (t[0]) set_text(cfg.data.dir, sizeof cfg.data.dir, t); /* never empty */
        struct amx_node *n = amx_config_to_node(&cfg);
        char *s = amx_node_emit_string(n);
        struct amx_node *back = NULL;
        struct amx_error e = {0};
        ck_assert_msg(amx_node_parse_string(s, strlen(s), cfg.file, true, &back, &e) == AMX_OK,
                      "text %zu: %s\n%s", i, e.msg, s);
        struct amx_run_config again;
        struct amx_errlist errs2 = {0};
        ck_assert_msg(amx_config_bind(back, &again, &errs2) == AMX_OK, "text %zu: %s", i,
                      errs_text(&errs2));
        same_texts(&cfg, &again);
        assert_cfg_equal(&cfg, &again);
        amx_errlist_free(&errs2);
        amx_node_free(back);
        free(s);
        amx_node_free(n);
    }
    /* one line per value, however long: libyaml folds at 80 columns unless told not to */
    struct amx_run_config cfg = base;
    snprintf(cfg.report.title, sizeof cfg.report.title, "%s", longtext);
    struct amx_node *n = amx_config_to_node(&cfg);
    char *s = amx_node_emit_string(n);
    const char *line = strstr(s, "\n  title: \"");
    ck_assert_ptr_nonnull(line);
    ck_assert_uint_gt((size_t)(strchr(line + 1, '\n') - line), strlen(longtext));
    free(s);
    amx_node_free(n);
    amx_errlist_free(&errs);
}
END_TEST

/* ----------------------------------------------------------- the table -- */

/* Every row of the schema records the sizeof of its member, and its type
 * writes exactly that many bytes (libcyaml checks each field so). */
START_TEST(test_schema_rows_match_members)
{
    char msg[300] = "";
    ck_assert_msg(amx_schema_check(&amx_schema_top, msg, sizeof msg), "%s", msg);
    /* the walk sees every row: count them, with a few known ones by size */
    const struct section *stack[16] = {&amx_schema_top};
    size_t depth = 1, rows = 0;
    bool seen_long = false, seen_seed = false, seen_none = false;
    while (depth > 0) {
        const struct section *sec = stack[--depth];
        for (size_t i = 0; i < sec->n; i++) {
            const struct key *k = &sec->keys[i];
            rows++;
            if (k->type == KT_SECTION) {
                ck_assert_uint_lt(depth, 16);
                stack[depth++] = k->sub;
            }
            if (strcmp(k->name, "train_limit") == 0) {
                ck_assert_int_eq(k->type, KT_LONG);
                ck_assert_uint_eq(k->size, sizeof(long));
                seen_long = true;
            }
            if (strcmp(k->name, "seed") == 0) {
                ck_assert_uint_eq(k->size, sizeof(uint64_t));
                seen_seed = true;
            }
            if (k->opts & KO_NONE) {
                ck_assert_uint_eq(k->size, sizeof(bool));
                seen_none = true;
            }
            if (k->type == KT_STRING || k->type == KT_NAME) ck_assert_uint_ge(k->size, 2);
        }
    }
    ck_assert(seen_long && seen_seed && seen_none);
    ck_assert_uint_ge(rows, 40);
}
END_TEST

/* The check refuses the rows that would write the wrong width: an int type
 * aimed at a long (writing half of it), a long type at an int (writing past
 * it), a row that forgot its size, one outside the struct, and a bad row
 * inside a subsection. */
START_TEST(test_schema_check_catches_bad_rows)
{
#define OFF_(m) offsetof(struct amx_run_config, m)
#define SIZE_(m) sizeof(((struct amx_run_config *)0)->m)
    const struct key good[] = {
        {.name = "train_limit",
         .type = KT_LONG,
         .off = OFF_(data.train_limit),
         .size = SIZE_(data.train_limit)},
        {.name = "epochs",
         .type = KT_INT,
         .off = OFF_(finetune.epochs),
         .size = SIZE_(finetune.epochs)},
        {.name = "dir", .type = KT_STRING, .off = OFF_(data.dir), .size = SIZE_(data.dir)},
    };
    const struct key int_at_long[] = {{.name = "train_limit",
                                       .type = KT_INT,
                                       .off = OFF_(data.train_limit),
                                       .size = SIZE_(data.train_limit)}};
    const struct key long_at_int[] = {{.name = "epochs",
                                       .type = KT_LONG,
                                       .off = OFF_(finetune.epochs),
                                       .size = SIZE_(finetune.epochs)}};
    const struct key double_at_int[] = {{.name = "epochs",
                                         .type = KT_DOUBLE,
                                         .off = OFF_(finetune.epochs),
                                         .size = SIZE_(finetune.epochs)}};
    const struct key bool_at_int[] = {{.name = "epochs",
                                       .type = KT_BOOL,
                                       .off = OFF_(finetune.epochs),
                                       .size = SIZE_(finetune.epochs)}};
    const struct key no_size[] = {{.name = "epochs", .type = KT_INT, .off = OFF_(finetune.epochs)}};
    const struct key outside[] = {{.name = "far",
                                   .type = KT_DOUBLE,
                                   .off = sizeof(struct amx_run_config) - 4,
                                   .size = sizeof(double)}};
    const struct key tiny_text[] = {
        {.name = "dir", .type = KT_STRING, .off = OFF_(data.dir), .size = 1}};
    const struct section sub = {"data", int_at_long, 1};
    const struct key nested[] = {{.name = "data", .type = KT_SECTION, .sub = &sub}};
    char msg[300] = "";
    const struct section ok = {"", good, sizeof good / sizeof *good};
    ck_assert_msg(amx_schema_check(&ok, msg, sizeof msg), "%s", msg);
    const struct {
        struct section sec;
        const char *part;
    } bad[] = {
        {{"data", int_at_long, 1},
         "data.train_limit: its type writes 4 bytes, but its member has 8"},
        {{"finetune", long_at_int, 1},
         "finetune.epochs: its type writes 8 bytes, but its member has 4"},
        {{"finetune", double_at_int, 1}, "finetune.epochs: its type writes 8 bytes"},
        {{"finetune", bool_at_int, 1}, "finetune.epochs: its type writes 1 bytes"},
        {{"finetune", no_size, 1}, "its member has 0"},
        {{"", outside, 1}, "far: bytes"},
        {{"data", tiny_text, 1}, "data.dir: a text key"},
        {{"", nested, 1}, "data.train_limit: its type writes 4 bytes"},
    };
    _Static_assert(sizeof(int) == 4 && sizeof(long) == 8, "the messages above assume LP64");
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        msg[0] = '\0';
        ck_assert_msg(!amx_schema_check(&bad[i].sec, msg, sizeof msg), "bad table %zu passed", i);
        ck_assert_msg(strstr(msg, bad[i].part), "bad table %zu: %s", i, msg);
    }
#undef OFF_
#undef SIZE_
}
END_TEST

/* The experiments shown in docs/experiment-language.md are valid. */
START_TEST(test_doc_examples_bind)
{
    size_t len;
    char *doc = tu_read_file(AMX_SOURCE_DIR "/docs/experiment-language.md", &len);
    ck_assert_ptr_nonnull(doc);
    int found = 0;
    for (char *p = doc; (p = strstr(p, "```yaml\nname:")) != NULL;) {
        p += 8;
        char *end = strstr(p, "```");
        ck_assert_ptr_nonnull(end);
        *end = '\0';
        struct amx_run_config cfg;
        struct amx_errlist errs = {0};
        ck_assert_msg(bind_text(p, &cfg, &errs) == AMX_OK, "%s\n%s", errs_text(&errs), p);
        amx_errlist_free(&errs);
        found++;
        p = end + 1;
    }
    ck_assert_int_ge(found, 2);
    free(doc);
}
END_TEST

/* Random damage to a valid experiment: never a crash, always either a bound
 * config or errors that point into the file. */
START_TEST(test_mutations)
{
    lcg_state = 2016;
    size_t base_len = strlen(FULL);
    char *buf = malloc(2 * base_len + 64);
    int bound = 0, refused = 0;
    static const char *const inserts[] = {":", "-",  " ", "\n", "[", "{",  "&a ", "*a",   "\"",
                                          "#", "\t", "]", "}",  ",", "? ", "'",   "\xff", "0"};
    for (int iter = 0; iter < 3000; iter++) {
        memcpy(buf, FULL, base_len + 1);
        size_t len = base_len;
        int n_mut = 1 + (int)(lcg() % 4);
        for (int m = 0; m < n_mut && len > 2; m++) {
            size_t at = lcg() % len;
            switch (lcg() % 4) {
            case 0: { /* delete 1..3 bytes */
                size_t k = 1 + lcg() % 3;
                if (at + k > len) k = len - at;
                memmove(buf + at, buf + at + k, len - at - k + 1);
                len -= k;
                break;
            }
            case 1: { /* insert a piece */
                const char *p = inserts[lcg() % (sizeof inserts / sizeof *inserts)];
                size_t k = strlen(p);
                if (len + k > 2 * base_len) break;
                memmove(buf + at + k, buf + at, len - at + 1);
                memcpy(buf + at, p, k);
                len += k;
                break;
            }
            case 2: /* replace a byte with any byte but NUL */
                buf[at] = (char)(1 + lcg() % 255);
                break;
            case 3: { /* swap two lines: rotate the text between two line starts */
                size_t a = lcg() % len, b = lcg() % len;
                while (a > 0 && buf[a - 1] != '\n')
                    a--;
                while (b > 0 && buf[b - 1] != '\n')
                    b--;
                if (a > b) {
                    size_t t = a;
                    a = b;
                    b = t;
                }
                size_t e = b;
                while (e < len && buf[e] != '\n')
                    e++;
                if (e < len) e++;
                if (a == b || e <= b) break;
                size_t l2 = e - b;
                char *tmp = malloc(l2);
                memcpy(tmp, buf + b, l2);
                memmove(buf + a + l2, buf + a, b - a);
                memcpy(buf + a, tmp, l2);
                free(tmp);
                break;
            }
            }
        }
        struct amx_node *n = NULL;
        struct amx_error e = {0};
        enum amx_status s = amx_node_parse_string(buf, len, "m.yaml", true, &n, &e);
        if (s != AMX_OK) {
            ck_assert_int_eq(s, AMX_ERR_CONFIG);
            ck_assert_ptr_null(n);
            ck_assert_msg(e.line >= 1 && e.col >= 1, "iteration %d: %d:%d %s", iter, e.line, e.col,
                          e.msg);
            ck_assert_str_eq(e.path, "m.yaml");
            ck_assert(e.msg[0]);
            refused++;
            continue;
        }
        struct amx_run_config cfg;
        struct amx_errlist errs = {0};
        s = amx_config_bind(n, &cfg, &errs);
        if (s == AMX_OK) {
            ck_assert_uint_eq(errs.n, 0);
            bound++;
        } else {
            ck_assert_int_eq(s, AMX_ERR_CONFIG);
            ck_assert_uint_ge(errs.n, 1);
            for (size_t i = 0; i < errs.n; i++) {
                ck_assert_msg(errs.items[i].line >= 1 && errs.items[i].col >= 1,
                              "iteration %d: %d:%d %s", iter, errs.items[i].line, errs.items[i].col,
                              errs.items[i].msg);
                ck_assert_str_eq(errs.items[i].path, "m.yaml");
            }
            refused++;
        }
        amx_errlist_free(&errs);
        amx_node_free(n);
    }
    free(buf);
    /* both outcomes occur, so the loop exercised binding, not just parse errors */
    ck_assert_int_gt(bound, 50);
    ck_assert_int_gt(refused, 50);
}
END_TEST

static Suite *config_suite(void)
{
    Suite *s = suite_create("config");
    TCase *tc = tcase_create("node");
    tcase_add_test(tc, test_parse_tree_and_marks);
    tcase_add_test(tc, test_parse_non_experiment_values);
    tcase_add_loop_test(tc, test_parse_errors, 0, sizeof parse_cases / sizeof *parse_cases);
    tcase_add_test(tc, test_nesting_bound);
    tcase_add_test(tc, test_aliases_expand);
    tcase_add_test(tc, test_alias_bomb_refused);
    tcase_add_test(tc, test_emit_exact);
    tcase_add_test(tc, test_emit_quoting_kept);
    tcase_add_test(tc, test_emit_random_trees);
    tcase_add_test(tc, test_emit_long_key);
    tcase_add_test(tc, test_paths_and_editing);
    tcase_add_test(tc, test_parse_file);
    tcase_add_test(tc, test_parse_utf8_bom);
    tcase_add_test(tc, test_read_file_not_regular_or_too_large);
    suite_add_tcase(s, tc);
    tc = tcase_create("bind");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_bind_every_key);
    tcase_add_test(tc, test_bind_defaults);
    tcase_add_test(tc, test_bind_variants);
    tcase_add_loop_test(tc, test_bind_errors, 0, sizeof bind_cases / sizeof *bind_cases);
    tcase_add_test(tc, test_bind_all_errors_reported);
    tcase_add_test(tc, test_bind_not_a_mapping);
    tcase_add_test(tc, test_bind_error_file_of_node);
    tcase_add_test(tc, test_suggest);
    tcase_add_test(tc, test_to_node_round_trip);
    tcase_add_test(tc, test_to_node_contents);
    tcase_add_test(tc, test_round_trip_random_values);
    tcase_add_test(tc, test_round_trip_awkward_strings);
    tcase_add_test(tc, test_schema_rows_match_members);
    tcase_add_test(tc, test_schema_check_catches_bad_rows);
    tcase_add_test(tc, test_doc_examples_bind);
    tcase_add_test(tc, test_mutations);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(config_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
