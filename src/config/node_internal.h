/* Private to src/config: what the files of the node tree share (node.c holds
 * the tree, parse.c builds it from YAML text, emit.c writes it back).
 * Nothing here is part of node.h's interface. */
#ifndef ADAMIX_CONFIG_NODE_INTERNAL_H
#define ADAMIX_CONFIG_NODE_INTERNAL_H

#include "adamix/node.h"

#include <stdbool.h>
#include <stddef.h>

/* Deeper nesting than this is refused by the parser, so that the recursive
 * functions on trees (free, clone, equal, emit) cannot exhaust the stack. */
#define NODE_MAX_DEPTH 256

/* malloc'ed copy of s; NULL on out of memory. */
char *node_strdup(const char *s);

/* An empty node of any kind (text NULL); NULL on out of memory. */
struct amx_node *node_new(enum amx_node_kind kind, const char *file, int line, int col);

/* Makes room for `want` items (a sequence) or pairs (a mapping); 0, or -1 on
 * out of memory (the node unchanged). Nodes keep no capacity: the caller
 * that appends many (the parser) tracks it. */
int node_reserve(struct amx_node *node, size_t want);

/* Whether a plain scalar with this text could be read as something other
 * than a string (null, a boolean, a number, in YAML 1.1 or 1.2 spelling):
 * such text means different things quoted and plain. */
bool node_looks_special(const char *s);

#endif
