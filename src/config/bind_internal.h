/* Private to src/config: what the two files of binding share. bind.c binds
 * through the schema table; bind_rules.c binds finetune.rules through the
 * rule registry of optim.h. Both report through the same context, with the
 * same readers of scalars (strict numbers, words with a "did you mean"). */
#ifndef ADAMIX_CONFIG_BIND_INTERNAL_H
#define ADAMIX_CONFIG_BIND_INTERNAL_H

#include "schema.h"

#include <stdbool.h>
#include <stddef.h>

#define PATH_LEN 320

struct ctx {
    const struct amx_node *root;
    struct amx_run_config *cfg;
    struct amx_errlist *errs;
    size_t n_errors; /* counted here: the list may drop errors when out of memory */
    bool layers_ok;  /* network.layers bound without error */
    bool rules_ok;   /* finetune.rules bound without error */
};

/* Adds an error at (line, col) of at's file (the root's when at has none). */
void bind_error_at(struct ctx *c, const struct amx_node *at, int line, int col, const char *fmt,
                   ...) __attribute__((format(printf, 5, 6)));
/* An error about node v, located at v. */
#define ERROR(c, v, ...) bind_error_at(c, v, (v)->line, (v)->col, __VA_ARGS__)

/* "prefix.key" (or "key") into buf[PATH_LEN]. */
void bind_join(char *buf, const char *prefix, const char *key);
/* What a node is, for "(got ...)": the text as written, shortened. */
const char *bind_describe(const struct amx_node *v, char *buf, size_t size);
/* A number of any spelling as a double; false (reported: "path must be
 * what") when v is not one. */
bool bind_real(struct ctx *c, const struct amx_node *v, const char *path, const char *what,
               double *out);
/* A whole number as a long long: "12", "-3", "6e4", "100.0"; false (reported)
 * when v is not one. */
bool bind_integer(struct ctx *c, const struct amx_node *v, const char *path, long long *out);
/* Whether x lies in [lo, hi] (open ends per flags: AMX_PARAM_LO_OPEN,
 * AMX_PARAM_HI_OPEN); reported as "path must be >= lo and < hi" when not. */
bool bind_check_range(struct ctx *c, const struct amx_node *v, const char *path, double x,
                      double lo, double hi, unsigned flags);
/* Index of v's text in a NULL-terminated word list, or -1 (reported, with a
 * suggestion). */
int bind_word(struct ctx *c, const struct amx_node *v, const char *path, const char *const *words);

/* finetune.rules (bind_rules.c): fills cfg->finetune.rules and rules_ok. */
void bind_rules(struct ctx *c, const struct amx_node_pair *p);

#endif
