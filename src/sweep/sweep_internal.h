/* Helpers shared by the files of src/sweep, not part of the public interface. */
#ifndef ADAMIX_SWEEP_INTERNAL_H
#define ADAMIX_SWEEP_INTERNAL_H

#include "adamix/sweep.h"

#include <stdbool.h>
#include <stddef.h>

/* amx_run_id that says when it ran out of memory. */
bool sweep_run_id(const struct amx_run_config *cfg, char id[AMX_RUN_ID_LEN + 1]);

/* A tree with every key of the language: the resolved configuration of a
 * minimal experiment with all defaults written out (amx_config_to_node). NULL
 * when it cannot be built (out of memory): the callers then fail with
 * AMX_ERR_NOMEM rather than check paths against nothing. */
struct amx_node *sweep_schema_new(void);

/* Whether a dotted path names a key of the language. Paths below
 * finetune.rules (selectors, rule parameters) are left to binding. On false,
 * msg says why (with a "did you mean"). */
bool sweep_path_check(const struct amx_node *schema, const char *path, char *msg, size_t size);

/* Sets a dotted path like amx_node_set_path, creating missing mappings marked
 * (file, line, col), the place that asked for the path (a --set or a sweep
 * axis key), so later binding errors about them point there. Fails with an
 * error at that place when a step of the path is not a mapping. Takes
 * ownership of value in every case, as amx_node_set_path does. */
enum amx_status sweep_set_path(struct amx_node *root, const char *path, struct amx_node *value,
                               const char *file, int line, int col, struct amx_error *err);

#endif
