/* The node tree of node.h: making, freeing and cloning nodes, editing them
 * (append, set, remove, set by dotted path), looking keys up, and structural
 * equality.
 *
 * What it does not do: read YAML (parse.c), write it (emit.c), read files
 * (readfile.c), or interpret scalars (numbers, booleans: binding's job,
 * bind.c). */
#include "adamix/node.h"
#include "node_internal.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- nodes -- */

char *node_strdup(const char *s)
{
    size_t n = strlen(s);
    char *p = malloc(n + 1);
    if (p) memcpy(p, s, n + 1);
    return p;
}

struct amx_node *node_new(enum amx_node_kind kind, const char *file, int line, int col)
{
    struct amx_node *n = calloc(1, sizeof *n);
    if (!n) return NULL;
    n->kind = kind;
    n->file = node_strdup(file ? file : "");
    if (!n->file) {
        free(n);
        return NULL;
    }
    n->line = line;
    n->col = col;
    return n;
}

struct amx_node *amx_node_new_scalar(const char *text, bool quoted, const char *file, int line,
                                     int col)
{
    struct amx_node *n = node_new(AMX_NODE_SCALAR, file, line, col);
    if (!n) return NULL;
    n->text = node_strdup(text ? text : "");
    if (!n->text) {
        amx_node_free(n);
        return NULL;
    }
    n->quoted = quoted;
    return n;
}

struct amx_node *amx_node_new_map(const char *file, int line, int col)
{
    return node_new(AMX_NODE_MAP, file, line, col);
}

struct amx_node *amx_node_new_seq(const char *file, int line, int col)
{
    return node_new(AMX_NODE_SEQ, file, line, col);
}

void amx_node_free(struct amx_node *node)
{
    if (!node) return;
    free(node->file);
    free(node->text);
    for (size_t i = 0; node->items && i < node->n; i++)
        amx_node_free(node->items[i]);
    for (size_t i = 0; node->pairs && i < node->n; i++) {
        free(node->pairs[i].key);
        amx_node_free(node->pairs[i].value);
    }
    free(node->items);
    free(node->pairs);
    free(node);
}

/* Nodes keep no capacity field, so the public appends below grow by one
 * (realloc amortises that well enough for the few nodes built in code); the
 * parser tracks capacity in its frames. */
int node_reserve(struct amx_node *node, size_t want)
{
    if (node->kind == AMX_NODE_SEQ) {
        struct amx_node **p = realloc(node->items, want * sizeof *p);
        if (!p) return -1;
        node->items = p;
    } else {
        struct amx_node_pair *p = realloc(node->pairs, want * sizeof *p);
        if (!p) return -1;
        node->pairs = p;
    }
    return 0;
}

enum amx_status amx_node_seq_append(struct amx_node *seq, struct amx_node *item)
{
    if (!seq || seq->kind != AMX_NODE_SEQ || !item || node_reserve(seq, seq->n + 1) != 0) {
        amx_node_free(item);
        return AMX_ERR_NOMEM;
    }
    seq->items[seq->n++] = item;
    return AMX_OK;
}

/* Appends a pair without looking for the key (the caller has). */
static int map_append(struct amx_node *map, const char *key, int line, int col,
                      struct amx_node *value)
{
    char *k = node_strdup(key);
    if (!k || node_reserve(map, map->n + 1) != 0) {
        free(k);
        return -1;
    }
    map->pairs[map->n].key = k;
    map->pairs[map->n].line = line;
    map->pairs[map->n].col = col;
    map->pairs[map->n].value = value;
    map->n++;
    return 0;
}

enum amx_status amx_node_map_set(struct amx_node *map, const char *key, struct amx_node *value)
{
    if (!map || map->kind != AMX_NODE_MAP || !key || !value) {
        amx_node_free(value);
        return AMX_ERR_NOMEM;
    }
    struct amx_node_pair *p = amx_node_map_pair(map, key);
    if (p) {
        amx_node_free(p->value);
        p->value = value;
        return AMX_OK;
    }
    if (map_append(map, key, value->line, value->col, value) != 0) {
        amx_node_free(value);
        return AMX_ERR_NOMEM;
    }
    return AMX_OK;
}

struct amx_node *amx_node_clone(const struct amx_node *node)
{
    if (!node) return NULL;
    struct amx_node *c = node_new(node->kind, node->file, node->line, node->col);
    if (!c) return NULL;
    if (node->kind == AMX_NODE_SCALAR) {
        c->text = node_strdup(node->text ? node->text : "");
        c->quoted = node->quoted;
        if (!c->text) goto fail;
    } else if (node->kind == AMX_NODE_SEQ) {
        if (node->n && !(c->items = calloc(node->n, sizeof *c->items))) goto fail;
        for (size_t i = 0; i < node->n; i++) {
            c->items[i] = amx_node_clone(node->items[i]);
            if (!c->items[i]) goto fail;
            c->n = i + 1;
        }
    } else {
        if (node->n && !(c->pairs = calloc(node->n, sizeof *c->pairs))) goto fail;
        for (size_t i = 0; i < node->n; i++) {
            struct amx_node_pair *d = &c->pairs[i];
            const struct amx_node_pair *s = &node->pairs[i];
            d->key = node_strdup(s->key);
            d->line = s->line;
            d->col = s->col;
            d->value = d->key ? amx_node_clone(s->value) : NULL;
            if (!d->value) {
                free(d->key);
                goto fail;
            }
            c->n = i + 1;
        }
    }
    return c;
fail:
    amx_node_free(c);
    return NULL;
}

/* -------------------------------------------------------------- lookups -- */

struct amx_node_pair *amx_node_map_pair(const struct amx_node *map, const char *key)
{
    if (!map || map->kind != AMX_NODE_MAP || !key) return NULL;
    for (size_t i = 0; i < map->n; i++)
        if (strcmp(map->pairs[i].key, key) == 0) return &map->pairs[i];
    return NULL;
}

struct amx_node *amx_node_map_get(const struct amx_node *map, const char *key)
{
    struct amx_node_pair *p = amx_node_map_pair(map, key);
    return p ? p->value : NULL;
}

/* The next component of a dotted path into buf; returns the rest (after the
 * dot) or NULL at the end. *ok is false for an empty or too long component. */
static const char *path_step(const char *path, char *buf, size_t size, bool *ok)
{
    const char *dot = strchr(path, '.');
    size_t len = dot ? (size_t)(dot - path) : strlen(path);
    *ok = len > 0 && len < size;
    if (*ok) {
        memcpy(buf, path, len);
        buf[len] = '\0';
    }
    return dot ? dot + 1 : NULL;
}

struct amx_node *amx_node_get_path(const struct amx_node *root, const char *path)
{
    if (!root || !path) return NULL;
    const struct amx_node *cur = root;
    char key[256];
    const char *rest = path;
    while (rest) {
        bool ok;
        rest = path_step(rest, key, sizeof key, &ok);
        if (!ok) return NULL;
        cur = amx_node_map_get(cur, key);
        if (!cur) return NULL;
    }
    return (struct amx_node *)cur;
}

enum amx_status amx_node_set_path(struct amx_node *root, const char *path, struct amx_node *value,
                                  struct amx_error *err)
{
    const char *file = root && root->file ? root->file : "";
    if (!root || !path || !value) {
        amx_node_free(value);
        return amx_fail(err, AMX_ERR_CONFIG, file, 0, 0, "cannot set '%s': nothing to set",
                        path ? path : "");
    }
    struct amx_node *cur = root;
    char key[256];
    const char *rest = path;
    while (rest) {
        bool ok;
        const char *start = rest;
        rest = path_step(rest, key, sizeof key, &ok);
        if (!ok) {
            amx_node_free(value);
            return amx_fail(err, AMX_ERR_CONFIG, file, 0, 0,
                            "cannot set '%s': expected a dotted path of keys like "
                            "'finetune.epochs'",
                            path);
        }
        if (cur->kind != AMX_NODE_MAP) {
            int n = (int)(start - path) - 1;
            const char *what = cur->kind == AMX_NODE_SEQ ? "sequence" : "scalar";
            amx_node_free(value);
            if (n < 0)
                return amx_fail(err, AMX_ERR_CONFIG, cur->file, cur->line, cur->col,
                                "cannot set '%s': the top level is a %s, not a mapping", path,
                                what);
            return amx_fail(err, AMX_ERR_CONFIG, cur->file, cur->line, cur->col,
                            "cannot set '%s': '%.*s' is a %s, not a mapping", path, n, path, what);
        }
        if (!rest)
            return amx_node_map_set(cur, key, value) == AMX_OK
                       ? AMX_OK
                       : amx_fail(err, AMX_ERR_NOMEM, file, 0, 0, "out of memory");
        struct amx_node *next = amx_node_map_get(cur, key);
        if (!next) {
            next = amx_node_new_map(value->file, value->line, value->col);
            if (!next || amx_node_map_set(cur, key, next) != AMX_OK) {
                amx_node_free(value);
                return amx_fail(err, AMX_ERR_NOMEM, file, 0, 0, "out of memory");
            }
        }
        cur = next;
    }
    amx_node_free(value); /* not reached: the loop returns at the last step */
    return AMX_OK;
}

bool amx_node_map_remove(struct amx_node *map, const char *key)
{
    struct amx_node_pair *p = amx_node_map_pair(map, key);
    if (!p) return false;
    size_t i = (size_t)(p - map->pairs);
    free(p->key);
    amx_node_free(p->value);
    memmove(&map->pairs[i], &map->pairs[i + 1], (map->n - i - 1) * sizeof *map->pairs);
    map->n--;
    return true;
}

/* ------------------------------------------------------------- equality -- */

bool node_looks_special(const char *s)
{
    static const char *const words[] = {
        "",      "~",     "null",  "Null",  "NULL", "true", "True", "TRUE", "false", "False",
        "FALSE", "yes",   "Yes",   "YES",   "no",   "No",   "NO",   "on",   "On",    "ON",
        "off",   "Off",   "OFF",   "y",     "Y",    "n",    "N",    ".inf", ".Inf",  ".INF",
        "-.inf", "-.Inf", "-.INF", "+.inf", ".nan", ".NaN", ".NAN"};
    for (size_t i = 0; i < sizeof words / sizeof *words; i++)
        if (strcmp(s, words[i]) == 0) return true;
    /* anything that starts like a number and holds only what numbers are
     * spelt with (decimal, hex, octal, exponents, 1_000, sexagesimal 1:30) */
    if (!((s[0] >= '0' && s[0] <= '9') || s[0] == '+' || s[0] == '-' || s[0] == '.')) return false;
    /* no number starts with two signs or two dots ("---1", "..5"); such a
     * text is a string either way (and no emitter writes "---1" plain) */
    if (s[0] && strchr("+-.", s[0]) && s[1] && strchr(s[0] == '.' ? "." : "+-", s[1])) return false;
    bool digit = false;
    for (const char *p = s; *p; p++) {
        if (*p >= '0' && *p <= '9')
            digit = true;
        else if (!strchr("abcdefABCDEFxXoO_.:+-", *p))
            return false;
    }
    return digit;
}

bool amx_node_equal(const struct amx_node *a, const struct amx_node *b)
{
    if (a == b) return true;
    if (!a || !b || a->kind != b->kind) return false;
    if (a->kind == AMX_NODE_SCALAR) {
        if (strcmp(a->text, b->text) != 0) return false;
        /* "1" and 1 differ; "abc" and abc do not */
        return a->quoted == b->quoted || !node_looks_special(a->text);
    }
    if (a->n != b->n) return false;
    for (size_t i = 0; i < a->n; i++) {
        if (a->kind == AMX_NODE_SEQ) {
            if (!amx_node_equal(a->items[i], b->items[i])) return false;
        } else {
            if (strcmp(a->pairs[i].key, b->pairs[i].key) != 0) return false;
            if (!amx_node_equal(a->pairs[i].value, b->pairs[i].value)) return false;
        }
    }
    return true;
}
