/* A YAML document as a tree of nodes that remember where they came from.
 *
 * src/config parses a file with libyaml into this tree; overrides (--set) and
 * sweep expansion edit copies of it; binding turns it into the typed
 * configuration of config.h. Every node keeps its file and 1-based line and
 * column, so a range check made long after parsing still points at the spot.
 * Only src/config includes <yaml.h>; everything else sees this tree.
 *
 * Scalars keep their text as written plus whether they were quoted, so
 * `"1"` is a string and `1` a number; interpretation happens at binding. */
#ifndef ADAMIX_NODE_H
#define ADAMIX_NODE_H

#include "adamix/error.h"

#include <stdbool.h>
#include <stdio.h>

enum amx_node_kind { AMX_NODE_SCALAR, AMX_NODE_SEQ, AMX_NODE_MAP };

struct amx_node;

struct amx_node_pair {
    char *key;
    int line, col; /* of the key */
    struct amx_node *value;
};

struct amx_node {
    enum amx_node_kind kind;
    char *file; /* owned copy; "" for nodes built in code */
    int line, col;
    /* AMX_NODE_SCALAR */
    char *text;
    bool quoted; /* single- or double-quoted, or a block scalar: always a string */
    /* AMX_NODE_SEQ: items[0..n); AMX_NODE_MAP: pairs[0..n), in file order */
    size_t n;
    struct amx_node **items;
    struct amx_node_pair *pairs;
};

/* Parses YAML text. `name` is the file name used in marks and errors. A
 * UTF-8 byte-order mark (EF BB BF) at the start is skipped (marks count from
 * after it, as editors show them); a UTF-16 one is refused.
 * Refused with AMX_ERR_CONFIG and a located message: invalid YAML, not UTF-8,
 * an empty document, several documents, duplicate keys, non-scalar keys,
 * an alias expansion larger than AMX_NODE_MAX_EXPANDED nodes. When
 * top_must_be_map, a top level that is not a mapping is refused too.
 * On failure *out stays NULL. */
#define AMX_NODE_MAX_EXPANDED 100000
enum amx_status amx_node_parse_string(const char *text, size_t len, const char *name,
                                      bool top_must_be_map, struct amx_node **out,
                                      struct amx_error *err);
/* amx_node_read_file and amx_node_parse_string. */
enum amx_status amx_node_parse_file(const char *path, struct amx_node **out, struct amx_error *err);

/* Reads an experiment file whole into a malloc'ed NUL-terminated buffer
 * (*text, *len). Only a regular file (or a link to one) is read: a folder, a
 * FIFO or a device such as /dev/zero is refused before anything is read,
 * saying what the path is, and so is a file of more than
 * AMX_NODE_MAX_FILE_BYTES (1 MiB; checked as it is read too, in case it
 * grows). Reading stops at the first read error. Every failure is
 * AMX_ERR_CONFIG (AMX_ERR_NOMEM when out of memory) naming the path, with
 * *text left NULL. */
#define AMX_NODE_MAX_FILE_BYTES (1u << 20)
enum amx_status amx_node_read_file(const char *path, char **text, size_t *len,
                                   struct amx_error *err);

void amx_node_free(struct amx_node *node);                    /* NULL-safe, frees the subtree */
struct amx_node *amx_node_clone(const struct amx_node *node); /* NULL on out of memory */
struct amx_node *amx_node_new_scalar(const char *text, bool quoted, const char *file, int line,
                                     int col);
struct amx_node *amx_node_new_map(const char *file, int line, int col);
struct amx_node *amx_node_new_seq(const char *file, int line, int col);
/* Appends item to a sequence; sets key in a mapping (replacing the value of an
 * existing key, else appending a pair located at the value's mark). Both take
 * ownership of the new node, also on failure (AMX_ERR_NOMEM, or a node of the
 * wrong kind). Unlike amx_node_set_path, a key may contain dots. */
enum amx_status amx_node_seq_append(struct amx_node *seq, struct amx_node *item);
enum amx_status amx_node_map_set(struct amx_node *map, const char *key, struct amx_node *value);

/* Lookups: NULL when absent or when the node is not a mapping. */
struct amx_node *amx_node_map_get(const struct amx_node *map, const char *key);
struct amx_node_pair *amx_node_map_pair(const struct amx_node *map, const char *key);
/* Follows a dotted path ("finetune.rules.weights.eta0") through mappings. A key
 * that itself contains dots (a sweep axis like "finetune.epochs") is reachable
 * only by amx_node_map_get. */
struct amx_node *amx_node_get_path(const struct amx_node *root, const char *path);
/* Sets (replacing, taking ownership of value) or adds the key at a dotted path;
 * missing intermediate mappings are created. Fails when a step of the path is
 * not a mapping (value is freed then too: ownership passes in every case). */
enum amx_status amx_node_set_path(struct amx_node *root, const char *path, struct amx_node *value,
                                  struct amx_error *err);
/* Removes the key from a mapping; returns whether it was there. */
bool amx_node_map_remove(struct amx_node *map, const char *key);

/* Structural equality of two trees (kinds, keys in order, scalar text); marks
 * are ignored. Quoting counts only where it changes the meaning: "1" and 1
 * differ (string, number), "abc" and abc do not. */
bool amx_node_equal(const struct amx_node *a, const struct amx_node *b);

/* Writes the tree as YAML with libyaml's emitter: block style (2-space
 * indent), sequences of scalars in flow style ([784, 256]), strings that
 * would otherwise read back as something else double-quoted. Parsing the
 * output gives an equal tree. Returns 0, or -1 on a write error, out of
 * memory, or a text that is not UTF-8 (which only code can build). */
int amx_node_emit(const struct amx_node *node, FILE *out);
/* Same, into a malloc'ed NUL-terminated string (NULL on the same failures,
 * write errors aside). */
char *amx_node_emit_string(const struct amx_node *node);

#endif
