/* Tune, then test (docs/experiment-language.md, "Tune"): the `tune` section
 * of an experiment, the tuning and final experiments it makes, and the
 * selection of each member's values from the tuning results.
 *
 * Part of the sweep module, and pure like it: no I/O. The command line runs
 * the two stages (src/cli/commands.c); the report module reads the tuning
 * run folders (amx_tune_results_read) and writes the tuning report.
 *
 *   tune:
 *     values: eta0                 # every group's eta0 of a member's rules,
 *                                  # or a path inside the member: weights.eta0
 *     grid: {from: 0.001, to: 0.3, per_decade: 2}   # or explicit: [0.001, 0.01]
 *     epochs: 8                    # the tuning budget (default finetune.epochs)
 *     repeats: 1
 *     metric: final                # validation_error at the last epoch; best: its minimum
 *     ties: smaller                # the smaller value wins a tie; or larger
 *     extend: 1                    # times a grid may grow at an edge, per side
 *     studies: 1                   # the whole protocol, with independent seeds
 *     members:                     # per member of report.series: its own values, grid
 *       AdaMix: {values: weights.eta0, grid: [0.001, 0.01]}
 */
#ifndef ADAMIX_TUNE_H
#define ADAMIX_TUNE_H

#include "adamix/error.h"
#include "adamix/node.h"
#include "adamix/sweep.h"

#include <stdbool.h>
#include <stddef.h>

#define AMX_TUNE_MAX_GRID 64     /* values of one member's grid, extensions included */
#define AMX_TUNE_MAX_MEMBERS 256 /* members of report.series */

enum amx_tune_metric { AMX_TUNE_FINAL, AMX_TUNE_BEST };
enum amx_tune_ties { AMX_TUNE_TIES_SMALLER, AMX_TUNE_TIES_LARGER };

struct amx_tune_member {
    char *name;   /* the variant of report.series */
    char *values; /* "eta0" (every group's) or a path inside the member */
    size_t n_grid;
    double grid[AMX_TUNE_MAX_GRID]; /* ascending, extensions included */
    size_t n_base;                  /* the grid as written */
    int ext_low, ext_high;          /* extensions made on each side */
    const struct amx_node *node;    /* the member's subtree, in the experiment's root */
};

struct amx_tune {
    char *file;
    int line, col; /* of the `tune` key */
    char *series;  /* report.series: the mapping axis whose variants are the members */
    int epochs, repeats, studies, extend;
    enum amx_tune_metric metric;
    enum amx_tune_ties ties;
    size_t n_members;
    struct amx_tune_member *members;
};

/* One value tried for one member: the tuning runs' metric. */
struct amx_tune_point {
    double value;
    size_t n_done;   /* repeats complete */
    size_t n_wanted; /* repeats asked for */
    bool diverged;   /* a repeat diverged, or its metric is not finite */
    double metric;   /* mean over the repeats (NAN when diverged or none done) */
};

/* The selection for one member. */
struct amx_tune_choice {
    bool complete; /* every point has every repeat */
    long chosen;   /* index into the points, -1 when none (every value diverged) */
    int edge;      /* -1: the chosen value is the smallest, +1 the largest, 0 inside */
};

/* The best point: the smallest finite metric of the points complete and not
 * diverged; among equal metrics the smaller value (ties smaller) or the
 * larger. Points must be in ascending order of value. Pure. */
struct amx_tune_choice amx_tune_select(const struct amx_tune_point *pts, size_t n,
                                       enum amx_tune_ties ties);

/* Reads and checks exp's `tune` section (tune_node, located at file:line:col
 * of its key) against the experiment: report.series a mapping axis, its
 * only one; data.validation set; paths that name something in each member;
 * grids of at least two positive values. Every problem is added to errs. */
enum amx_status amx_tune_read(const struct amx_node *tune_node, const char *file, int line, int col,
                              const struct amx_experiment *exp, struct amx_tune **out,
                              struct amx_errlist *errs);
void amx_tune_free(struct amx_tune *t);

/* The value the member's grid grows by at one side (-1 low, +1 high): the
 * grid's own decade pattern (a value of the grid times or divided by 10, the
 * nearest beyond the edge) when the grid spans a decade, else the edge value
 * times (or divided by) the ratio of the two values at that edge. */
double amx_tune_next_value(const struct amx_tune_member *m, int side);
/* Grows the member's grid by one value at side; false when it is full. */
bool amx_tune_extend(struct amx_tune_member *m, int side);

/* The seed of study s (0-based): the experiment's for study 0, so a single
 * study's final runs are those written by hand. */
unsigned long long amx_tune_study_seed(unsigned long long seed, int study);

/* The tuning experiment's tree: the experiment (root without `tune`) with
 * the series axis' variants "<member>@<value>", one per grid value (members
 * in order, values ascending), finetune.epochs and repeats of the tuning,
 * evaluation.test false, report.metric validation_error and the study's
 * seed. *index gets, per variant, the member (malloc'ed, n variants). */
struct amx_node *amx_tune_tuning_tree(const struct amx_node *root, const struct amx_tune *t,
                                      int study, size_t **member_of, double **value_of,
                                      size_t *n_variants);
/* The final experiment's tree: the experiment with each member at its
 * chosen values (chosen[m], one per member) and the study's seed. */
struct amx_node *amx_tune_final_tree(const struct amx_node *root, const struct amx_tune *t,
                                     int study, const double *chosen);

/* Loads an experiment from a tree (amx_experiment_load_string without the
 * text); takes ownership of root. */
enum amx_status amx_experiment_load_tree(struct amx_node *root, const char *name,
                                         struct amx_experiment **out, struct amx_errlist *errs);

/* The experiment's `tune` section, taken out of root when the file is
 * loaded (NULL when it has none), with its key's place. */
const struct amx_node *amx_experiment_tune(const struct amx_experiment *exp, int *line, int *col);

#endif
