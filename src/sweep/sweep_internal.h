/* Helpers shared by the files of src/sweep, not part of the public interface. */
#ifndef ADAMIX_SWEEP_INTERNAL_H
#define ADAMIX_SWEEP_INTERNAL_H

#include "adamix/sweep.h"

#include <stdbool.h>
#include <stddef.h>

/* amx_run_id that says when it ran out of memory. */
bool sweep_run_id(const struct amx_run_config *cfg, char id[AMX_RUN_ID_LEN + 1]);

/* Sets a dotted path like amx_node_set_path, creating missing mappings marked
 * (file, line, col), the place that asked for the path (a --set or a sweep
 * axis key), so later binding errors about them point there. Fails with an
 * error at that place when a step of the path is not a mapping. Takes
 * ownership of value in every case, as amx_node_set_path does. */
enum amx_status sweep_set_path(struct amx_node *root, const char *path, struct amx_node *value,
                               const char *file, int line, int col, struct amx_error *err);

/* ---- the expander: reading the sweep section (read.c) and expanding it
 * into runs (expand.c) ---- */

/* A dimension of the grid: one axis, or the axes of one zip group. */
struct dim {
    size_t first, count; /* axes [first, first + count) advance together */
    size_t n_values;
};

/* One `axis: value` pair of an exclude entry: the values it matches. */
struct excl_pair {
    size_t axis;
    bool *match; /* per value of the axis */
};

struct excl_entry {
    size_t n;
    struct excl_pair *pairs;
};

/* A distinct error and the points it was found in. */
struct seen_error {
    struct amx_error e;
    long axis;       /* the axis whose value it lies in, or -1 */
    size_t *point;   /* value index per axis of the first point */
    size_t n_points; /* points that had it */
};

struct expander {
    struct amx_experiment *exp;
    const char *sweep_file;
    const struct amx_node ***values; /* per axis: the value nodes */
    const char **key_file;           /* per axis: the file its key is in */
    bool *variant;                   /* per axis: a mapping of named variants */
    size_t n_dims;
    struct dim *dims;
    size_t n_excl;
    struct excl_entry *excl;
    struct seen_error *seen;
    size_t n_seen, cap_seen;
    size_t n_tried;                      /* points bound (not excluded) */
    const struct amx_node_pair *exclude; /* sweep.exclude, for "no runs left" */
    bool nomem;
};

/* Reads the sweep section into exp->axes, x->values, x->dims and x->excl;
 * problems are noted in x (read.c). */
void sweep_read(struct expander *x, const struct amx_node *sweep);

/* Expands exp->root into axes and runs; every problem is added to errs. The
 * first error's code, or AMX_OK (expand.c). */
enum amx_status sweep_expand(struct amx_experiment *exp, struct amx_errlist *errs);

/* Notes an error once (a repeat only counts the points that had it); axis
 * and point say where in the sweep it was found, -1 and NULL when it is an
 * error of the sweep section itself. */
void sweep_note(struct expander *x, const struct amx_error *e, long axis, const size_t *point);
/* An error of the sweep section itself (not of a point). */
void sweep_fail(struct expander *x, enum amx_status code, const char *file, int line, int col,
                const char *fmt, ...) __attribute__((format(printf, 6, 7)));
/* Errors noted so far, out of memory included. */
size_t sweep_count_errors(const struct expander *x);

/* For messages: the labels of an axis' values, the paths of the axes
 * ("a, b, c"), and the index of the axis with this path (or -1). */
void sweep_list_labels(const struct amx_sweep_axis *ax, char *buf, size_t size);
void sweep_list_axes(const struct amx_experiment *exp, char *buf, size_t size);
long sweep_find_axis(const struct amx_experiment *exp, const char *path);

/* Whether text is a number, read whole by strtod, and finite. */
bool sweep_parse_number(const char *text, double *out);

#endif
