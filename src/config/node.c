/* The node tree of node.h: building it from YAML text with libyaml, and the
 * small operations other modules need on it (lookup by dotted path, editing,
 * cloning, structural equality, writing it back as YAML).
 *
 * Parsing uses libyaml's event API, so that this file, not libyaml, decides
 * what an alias costs: every alias is expanded into a copy, and the total
 * number of nodes (after expansion) is bounded by AMX_NODE_MAX_EXPANDED, which
 * refuses a "billion laughs" file after at most that many small allocations.
 * The input must be UTF-8 (checked here first, so the message can name the
 * byte and its place; a UTF-8 byte-order mark is skipped); duplicate and
 * non-scalar keys, several documents and unknown tags are refused, each at
 * its 1-based line and column. Files are read only when they are regular
 * files of at most AMX_NODE_MAX_FILE_BYTES, so a path such as /dev/zero or a
 * FIFO can neither hang the reader nor grow it without bound.
 *
 * What it does not do: interpret scalars (numbers, booleans) -- that is
 * binding's job (bind.c) -- nor YAML 1.1 merge keys (`<<` is an ordinary key,
 * which binding then refuses as unknown). */
#define _POSIX_C_SOURCE 200809L
#include "adamix/node.h"

#include <yaml.h>

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Deeper nesting than this is refused, so that the recursive functions below
 * (free, clone, equal, emit) cannot exhaust the stack. */
#define MAX_DEPTH 256

/* ---------------------------------------------------------------- nodes -- */

static char *dupstr(const char *s)
{
    size_t n = strlen(s);
    char *p = malloc(n + 1);
    if (p) memcpy(p, s, n + 1);
    return p;
}

static struct amx_node *node_new(enum amx_node_kind kind, const char *file, int line, int col)
{
    struct amx_node *n = calloc(1, sizeof *n);
    if (!n) return NULL;
    n->kind = kind;
    n->file = dupstr(file ? file : "");
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
    n->text = dupstr(text ? text : "");
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

/* Makes room for `want` items or pairs. Nodes keep no capacity field, so the
 * public appends below grow by one (realloc amortises that well enough for
 * the few nodes built in code); the parser tracks capacity in its frames. */
static int reserve(struct amx_node *node, size_t want)
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
    if (!seq || seq->kind != AMX_NODE_SEQ || !item || reserve(seq, seq->n + 1) != 0) {
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
    char *k = dupstr(key);
    if (!k || reserve(map, map->n + 1) != 0) {
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
        c->text = dupstr(node->text ? node->text : "");
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
            d->key = dupstr(s->key);
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

/* Whether a plain scalar with this text could be read as something other than
 * a string (null, boolean, number, in YAML 1.1 or 1.2 spelling): such text
 * means different things quoted and plain. */
static bool looks_special(const char *s)
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
        return a->quoted == b->quoted || !looks_special(a->text);
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

/* -------------------------------------------------------------- parsing -- */

/* libyaml's marks are 0-based; ours are 1-based. The one place that converts. */
static int mark_line(yaml_mark_t m)
{
    return (int)m.line + 1;
}
static int mark_col(yaml_mark_t m)
{
    return (int)m.column + 1;
}

/* Line and column (in characters) of a byte offset of the text, 1-based. */
static void offset_to_linecol(const unsigned char *text, size_t len, size_t off, int *line,
                              int *col)
{
    int l = 1, c = 1;
    if (off > len) off = len;
    for (size_t i = 0; i < off; i++) {
        if (text[i] == '\n') {
            l++;
            c = 1;
        } else if ((text[i] & 0xC0) != 0x80) {
            c++; /* count characters, not continuation bytes */
        }
    }
    *line = l;
    *col = c;
}

/* The byte offset of a libyaml mark (whose column counts characters). */
static size_t mark_offset(const unsigned char *text, size_t len, yaml_mark_t m)
{
    size_t i = 0;
    for (size_t l = 0; l < m.line && i < len; i++)
        if (text[i] == '\n') l++;
    for (size_t c = 0; i < len && text[i] != '\n'; i++) {
        if ((text[i] & 0xC0) == 0x80) continue;
        if (c++ == m.column) break;
    }
    return i;
}

/* Length of the valid UTF-8 sequence at s[0..len), or 0 when it is not one
 * (overlong forms, surrogates and values above U+10FFFF are invalid). */
static size_t utf8_seq(const unsigned char *s, size_t len, uint32_t *cp)
{
    unsigned char c = s[0];
    size_t n;
    uint32_t v, min;
    if (c < 0x80) {
        *cp = c;
        return 1;
    } else if ((c & 0xE0) == 0xC0) {
        n = 2, v = c & 0x1F, min = 0x80;
    } else if ((c & 0xF0) == 0xE0) {
        n = 3, v = c & 0x0F, min = 0x800;
    } else if ((c & 0xF8) == 0xF0) {
        n = 4, v = c & 0x07, min = 0x10000;
    } else {
        return 0;
    }
    if (n > len) return 0;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80) return 0;
        v = (v << 6) | (s[i] & 0x3F);
    }
    if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) return 0;
    *cp = v;
    return n;
}

/* The first byte that is not valid UTF-8, or len. */
static size_t utf8_check(const unsigned char *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        uint32_t cp;
        size_t n = utf8_seq(s + i, len - i, &cp);
        if (!n) return i;
        i += n;
    }
    return len;
}

/* Duplicate keys: a hash set of (mapping, key) for the whole document, so a
 * mapping with many keys costs linear, not quadratic, time. */
struct keyset {
    const struct amx_node **maps;
    const char **keys;
    size_t cap, n;
};

static uint64_t key_hash(const struct amx_node *map, const char *key)
{
    uint64_t h = 1469598103934665603ULL ^ (uint64_t)(uintptr_t)map; /* FNV-1a */
    for (const unsigned char *p = (const unsigned char *)key; *p; p++) {
        h ^= *p;
        h *= 1099511628211ULL;
    }
    return h;
}

/* 1 when (map, key) was already there, 0 when added, -1 on out of memory.
 * Stores the key pointer, which lives as long as the mapping does. */
static int keyset_add(struct keyset *ks, const struct amx_node *map, const char *key)
{
    if (2 * (ks->n + 1) > ks->cap) {
        size_t cap = ks->cap ? 2 * ks->cap : 64;
        const struct amx_node **maps = calloc(cap, sizeof *maps);
        const char **keys = calloc(cap, sizeof *keys);
        if (!maps || !keys) {
            free(maps);
            free((void *)keys);
            return -1;
        }
        for (size_t i = 0; i < ks->cap; i++) {
            if (!ks->maps[i]) continue;
            size_t j = key_hash(ks->maps[i], ks->keys[i]) & (cap - 1);
            while (maps[j])
                j = (j + 1) & (cap - 1);
            maps[j] = ks->maps[i];
            keys[j] = ks->keys[i];
        }
        free((void *)ks->maps);
        free((void *)ks->keys);
        ks->maps = maps;
        ks->keys = keys;
        ks->cap = cap;
    }
    size_t j = key_hash(map, key) & (ks->cap - 1);
    while (ks->maps[j]) {
        if (ks->maps[j] == map && strcmp(ks->keys[j], key) == 0) return 1;
        j = (j + 1) & (ks->cap - 1);
    }
    ks->maps[j] = map;
    ks->keys[j] = key;
    ks->n++;
    return 0;
}

struct anchor {
    char *name;
    struct amx_node *node; /* the anchored node: in the tree, or owned (a key) */
    bool owned;            /* an anchored key: the tree has only its text */
    size_t size;           /* its number of nodes */
};

struct frame {
    struct amx_node *node; /* a sequence or mapping being filled */
    size_t cap;            /* allocated items or pairs */
    char *anchor;          /* its anchor, registered when it is complete */
    size_t count_at_start; /* builder.count before it started */
    bool have_key;         /* a mapping: the key of the next pair is read */
    char *key;
    int key_line, key_col;
};

struct builder {
    const char *name;
    const unsigned char *text;
    size_t len;
    bool top_must_be_map;
    struct amx_error *err;
    struct amx_node *root;
    struct frame stack[MAX_DEPTH];
    int depth;
    size_t count; /* nodes made so far, alias copies included */
    struct anchor *anchors;
    size_t n_anchors, cap_anchors;
    struct keyset keys;
    int documents;
};

static enum amx_status nomem(struct builder *b)
{
    return amx_fail(b->err, AMX_ERR_NOMEM, b->name, 0, 0, "out of memory while reading");
}

static enum amx_status fail_at(struct builder *b, yaml_mark_t m, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static enum amx_status fail_at(struct builder *b, yaml_mark_t m, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    amx_vfail(b->err, AMX_ERR_CONFIG, b->name, mark_line(m), mark_col(m), fmt, ap);
    va_end(ap);
    return AMX_ERR_CONFIG;
}

static int tree_depth(const struct amx_node *n)
{
    int d = 0;
    for (size_t i = 0; i < n->n; i++) {
        int c = tree_depth(n->kind == AMX_NODE_SEQ ? n->items[i] : n->pairs[i].value);
        if (c > d) d = c;
    }
    return d + 1;
}

/* Takes ownership of name (and of node when owned), also on failure. */
static enum amx_status add_anchor(struct builder *b, char *name, struct amx_node *node, bool owned,
                                  size_t size)
{
    if (b->n_anchors == b->cap_anchors) {
        size_t cap = b->cap_anchors ? 2 * b->cap_anchors : 8;
        struct anchor *p = realloc(b->anchors, cap * sizeof *p);
        if (!p) {
            free(name);
            if (owned) amx_node_free(node);
            return nomem(b);
        }
        b->anchors = p;
        b->cap_anchors = cap;
    }
    b->anchors[b->n_anchors++] = (struct anchor){name, node, owned, size};
    return AMX_OK;
}

static const char *kind_word(enum amx_node_kind k)
{
    return k == AMX_NODE_SCALAR ? "scalar" : k == AMX_NODE_SEQ ? "sequence" : "mapping";
}

static enum amx_status count_nodes(struct builder *b, size_t more, yaml_mark_t m)
{
    if (b->count + more > AMX_NODE_MAX_EXPANDED)
        return fail_at(b, m,
                       "the document has more than %d nodes after expanding aliases; "
                       "expected a small experiment (are aliases nested, as in a "
                       "\"billion laughs\" file?)",
                       AMX_NODE_MAX_EXPANDED);
    b->count += more;
    return AMX_OK;
}

static enum amx_status top_not_map(struct builder *b, yaml_mark_t m, enum amx_node_kind kind)
{
    return fail_at(b, m,
                   "the top level of an experiment must be a mapping of keys "
                   "(name: ..., network: ...); found a %s",
                   kind_word(kind));
}

/* Whether the next complete node is the key of a mapping pair. */
static bool at_key(const struct builder *b)
{
    if (b->depth == 0) return false;
    const struct frame *f = &b->stack[b->depth - 1];
    return f->node->kind == AMX_NODE_MAP && !f->have_key;
}

/* The key of the next pair of the innermost mapping; takes ownership of key. */
static enum amx_status set_key(struct builder *b, char *key, yaml_mark_t m)
{
    struct frame *f = &b->stack[b->depth - 1];
    int dup = keyset_add(&b->keys, f->node, key);
    if (dup < 0) {
        free(key);
        return nomem(b);
    }
    if (dup) {
        enum amx_status s = fail_at(b, m, "duplicate key '%s'; each key may appear once", key);
        free(key);
        return s;
    }
    /* the hash set points at this string: it moves into the pair unchanged */
    f->key = key;
    f->key_line = mark_line(m);
    f->key_col = mark_col(m);
    f->have_key = true;
    return AMX_OK;
}

/* A value node is complete: attach it to its parent (or make it the root). */
static enum amx_status attach(struct builder *b, struct amx_node *node, yaml_mark_t m)
{
    if (b->depth == 0) {
        if (b->top_must_be_map && node->kind != AMX_NODE_MAP) {
            enum amx_node_kind kind = node->kind;
            amx_node_free(node);
            return top_not_map(b, m, kind);
        }
        b->root = node;
        return AMX_OK;
    }
    struct frame *f = &b->stack[b->depth - 1];
    if (f->node->n == f->cap) {
        size_t cap = f->cap ? 2 * f->cap : 4;
        if (reserve(f->node, cap) != 0) {
            amx_node_free(node);
            return nomem(b);
        }
        f->cap = cap;
    }
    if (f->node->kind == AMX_NODE_SEQ) {
        f->node->items[f->node->n++] = node;
        return AMX_OK;
    }
    struct amx_node_pair *p = &f->node->pairs[f->node->n++];
    p->key = f->key;
    p->line = f->key_line;
    p->col = f->key_col;
    p->value = node;
    f->key = NULL;
    f->have_key = false;
    return AMX_OK;
}

/* Tags: the standard ones are accepted ("!!str" makes a scalar a string),
 * anything else is refused rather than silently ignored. */
static enum amx_status check_tag(struct builder *b, const yaml_char_t *tag, yaml_mark_t m,
                                 enum amx_node_kind kind, bool *is_str)
{
    *is_str = false;
    if (!tag) return AMX_OK;
    const char *t = (const char *)tag;
    static const char *const scalar_tags[] = {"tag:yaml.org,2002:int", "tag:yaml.org,2002:float",
                                              "tag:yaml.org,2002:bool", "tag:yaml.org,2002:null"};
    if (kind == AMX_NODE_SCALAR) {
        if (strcmp(t, "tag:yaml.org,2002:str") == 0 || strcmp(t, "!") == 0) {
            *is_str = true;
            return AMX_OK;
        }
        for (size_t i = 0; i < sizeof scalar_tags / sizeof *scalar_tags; i++)
            if (strcmp(t, scalar_tags[i]) == 0) return AMX_OK;
    } else if (strcmp(t, kind == AMX_NODE_SEQ ? "tag:yaml.org,2002:seq"
                                              : "tag:yaml.org,2002:map") == 0) {
        return AMX_OK;
    }
    return fail_at(b, m, "unsupported tag '%s' on a %s; expected no tag", t, kind_word(kind));
}

static enum amx_status on_scalar(struct builder *b, const yaml_event_t *e)
{
    yaml_mark_t m = e->start_mark;
    bool is_str;
    enum amx_status s = check_tag(b, e->data.scalar.tag, m, AMX_NODE_SCALAR, &is_str);
    if (s) return s;
    if (memchr(e->data.scalar.value, '\0', e->data.scalar.length))
        return fail_at(b, m, "a scalar contains a NUL character (\\0); expected text");
    if ((s = count_nodes(b, 1, m))) return s;
    bool quoted = is_str || e->data.scalar.style != YAML_PLAIN_SCALAR_STYLE;
    const char *text = (const char *)e->data.scalar.value;
    bool key = at_key(b);
    struct amx_node *n = NULL;
    if (!key || e->data.scalar.anchor) {
        n = amx_node_new_scalar(text, quoted, b->name, mark_line(m), mark_col(m));
        if (!n) return nomem(b);
    }
    if (e->data.scalar.anchor) {
        char *a = dupstr((const char *)e->data.scalar.anchor);
        if (!a) {
            amx_node_free(n);
            return nomem(b);
        }
        if ((s = add_anchor(b, a, n, key, 1))) {
            if (!key) amx_node_free(n);
            return s;
        }
    }
    if (key) {
        char *k = dupstr(text);
        return k ? set_key(b, k, m) : nomem(b);
    }
    return attach(b, n, m);
}

static enum amx_status on_alias(struct builder *b, const yaml_event_t *e)
{
    yaml_mark_t m = e->start_mark;
    const char *name = (const char *)e->data.alias.anchor;
    const struct anchor *a = NULL;
    for (size_t i = b->n_anchors; i-- > 0;) /* the latest definition wins */
        if (strcmp(b->anchors[i].name, name) == 0) {
            a = &b->anchors[i];
            break;
        }
    if (!a)
        return fail_at(b, m,
                       "alias '*%s' refers to no anchor defined before it; expected '&%s' on "
                       "an earlier node",
                       name, name);
    enum amx_status s = count_nodes(b, a->size, m);
    if (s) return s;
    if (at_key(b)) {
        if (a->node->kind != AMX_NODE_SCALAR)
            return fail_at(b, m, "a mapping key must be a scalar; alias '*%s' is a %s", name,
                           kind_word(a->node->kind));
        char *k = dupstr(a->node->text);
        return k ? set_key(b, k, m) : nomem(b);
    }
    if (b->depth + tree_depth(a->node) > MAX_DEPTH)
        return fail_at(b, m, "nesting deeper than %d levels", MAX_DEPTH);
    struct amx_node *c = amx_node_clone(a->node);
    if (!c) return nomem(b);
    c->line = mark_line(m); /* the copy starts where the alias is */
    c->col = mark_col(m);
    return attach(b, c, m);
}

static enum amx_status on_start(struct builder *b, const yaml_event_t *e, enum amx_node_kind kind)
{
    yaml_mark_t m = e->start_mark;
    const yaml_char_t *tag =
        kind == AMX_NODE_SEQ ? e->data.sequence_start.tag : e->data.mapping_start.tag;
    const yaml_char_t *anchor =
        kind == AMX_NODE_SEQ ? e->data.sequence_start.anchor : e->data.mapping_start.anchor;
    bool is_str;
    enum amx_status s = check_tag(b, tag, m, kind, &is_str);
    if (s) return s;
    if (at_key(b))
        return fail_at(b, m, "a mapping key must be a scalar; found a %s", kind_word(kind));
    if (b->depth == 0 && b->top_must_be_map && kind != AMX_NODE_MAP) return top_not_map(b, m, kind);
    if (b->depth >= MAX_DEPTH) return fail_at(b, m, "nesting deeper than %d levels", MAX_DEPTH);
    size_t before = b->count;
    if ((s = count_nodes(b, 1, m))) return s;
    struct amx_node *n = node_new(kind, b->name, mark_line(m), mark_col(m));
    char *a = anchor ? dupstr((const char *)anchor) : NULL;
    if (!n || (anchor && !a)) {
        amx_node_free(n);
        free(a);
        return nomem(b);
    }
    b->stack[b->depth++] = (struct frame){.node = n, .anchor = a, .count_at_start = before};
    return AMX_OK;
}

static enum amx_status on_end(struct builder *b)
{
    assert(b->depth > 0);
    struct frame f = b->stack[--b->depth];
    free(f.key); /* NULL: libyaml ends a mapping only after a value */
    yaml_mark_t m = {0, (size_t)(f.node->line - 1), (size_t)(f.node->col - 1)};
    if (f.anchor) {
        enum amx_status s = add_anchor(b, f.anchor, f.node, false, b->count - f.count_at_start);
        if (s) {
            amx_node_free(f.node);
            return s;
        }
    }
    return attach(b, f.node, m);
}

static enum amx_status parser_error(struct builder *b, const yaml_parser_t *p)
{
    if (p->error == YAML_MEMORY_ERROR) return nomem(b);
    int line, col;
    const char *problem = p->problem ? p->problem : "unknown error";
    if (p->error == YAML_READER_ERROR) {
        offset_to_linecol(b->text, b->len, p->problem_offset, &line, &col);
        if (p->problem_value != -1)
            return amx_fail(b->err, AMX_ERR_CONFIG, b->name, line, col,
                            "invalid character (code %d): %s; expected printable UTF-8 text",
                            p->problem_value, problem);
        return amx_fail(b->err, AMX_ERR_CONFIG, b->name, line, col,
                        "cannot read the text: %s; expected printable UTF-8 text", problem);
    }
    line = mark_line(p->problem_mark);
    col = mark_col(p->problem_mark);
    size_t at = mark_offset(b->text, b->len, p->problem_mark);
    const char *hint = "";
    if (at < b->len && b->text[at] == '\t')
        hint = "; YAML does not allow tabs for indentation, use spaces";
    if (p->context)
        return amx_fail(b->err, AMX_ERR_CONFIG, b->name, line, col,
                        "invalid YAML: %s (%s at line %d, column %d)%s", problem, p->context,
                        mark_line(p->context_mark), mark_col(p->context_mark), hint);
    return amx_fail(b->err, AMX_ERR_CONFIG, b->name, line, col, "invalid YAML: %s%s", problem,
                    hint);
}

static void builder_free(struct builder *b)
{
    for (int i = 0; i < b->depth; i++) {
        free(b->stack[i].anchor);
        free(b->stack[i].key);
        amx_node_free(b->stack[i].node);
    }
    b->depth = 0;
    for (size_t i = 0; i < b->n_anchors; i++) {
        free(b->anchors[i].name);
        if (b->anchors[i].owned) amx_node_free(b->anchors[i].node);
    }
    free(b->anchors);
    free((void *)b->keys.maps);
    free((void *)b->keys.keys);
    amx_node_free(b->root);
    b->root = NULL;
}

static enum amx_status run_parser(struct builder *b, yaml_parser_t *p)
{
    for (;;) {
        yaml_event_t e;
        if (!yaml_parser_parse(p, &e)) return parser_error(b, p);
        enum amx_status s = AMX_OK;
        bool done = false;
        switch (e.type) {
        case YAML_DOCUMENT_START_EVENT:
            if (++b->documents > 1)
                s = fail_at(b, e.start_mark,
                            "a second document starts here; expected one document per file");
            break;
        case YAML_SCALAR_EVENT:
            s = on_scalar(b, &e);
            break;
        case YAML_ALIAS_EVENT:
            s = on_alias(b, &e);
            break;
        case YAML_SEQUENCE_START_EVENT:
            s = on_start(b, &e, AMX_NODE_SEQ);
            break;
        case YAML_MAPPING_START_EVENT:
            s = on_start(b, &e, AMX_NODE_MAP);
            break;
        case YAML_SEQUENCE_END_EVENT:
        case YAML_MAPPING_END_EVENT:
            s = on_end(b);
            break;
        case YAML_STREAM_END_EVENT:
            done = true;
            break;
        default:
            break;
        }
        yaml_event_delete(&e);
        if (s) return s;
        if (done) break;
    }
    if (!b->root)
        return amx_fail(b->err, AMX_ERR_CONFIG, b->name, 1, 1, "the document is empty; expected %s",
                        b->top_must_be_map ? "an experiment (a mapping of keys)" : "a value");
    return AMX_OK;
}

enum amx_status amx_node_parse_string(const char *text, size_t len, const char *name,
                                      bool top_must_be_map, struct amx_node **out,
                                      struct amx_error *err)
{
    *out = NULL;
    struct builder b = {0};
    b.name = name ? name : "";
    b.text = (const unsigned char *)(text ? text : "");
    b.len = text ? len : 0;
    b.top_must_be_map = top_must_be_map;
    b.err = err;

    /* A UTF-8 byte-order mark (as some Windows editors write) says only that
     * the text is UTF-8: skipped, so that line 1 column 1 is the first
     * character after it (libyaml, told the encoding, would take it for
     * content). */
    size_t bom = 0;
    if (b.len >= 3 && b.text[0] == 0xEF && b.text[1] == 0xBB && b.text[2] == 0xBF) {
        bom = 3;
        b.text += bom;
        b.len -= bom;
    }
    /* UTF-8 only: checked here so that the message says which byte and where
     * (libyaml would also take a UTF-16 byte-order mark as a reason to decode
     * UTF-16, which we do not want). */
    if (b.len >= 2 &&
        ((b.text[0] == 0xFF && b.text[1] == 0xFE) || (b.text[0] == 0xFE && b.text[1] == 0xFF)))
        return amx_fail(err, AMX_ERR_CONFIG, b.name, 1, 1,
                        "the file starts with a UTF-16 byte-order mark (bytes 0x%02x 0x%02x); "
                        "expected UTF-8 text",
                        b.text[0], b.text[1]);
    size_t bad = utf8_check(b.text, b.len);
    if (bad < b.len) {
        int line, col;
        offset_to_linecol(b.text, b.len, bad, &line, &col);
        return amx_fail(err, AMX_ERR_CONFIG, b.name, line, col,
                        "invalid UTF-8: byte 0x%02x at offset %zu; expected UTF-8 text",
                        b.text[bad], bad + bom);
    }

    yaml_parser_t p;
    if (!yaml_parser_initialize(&p)) return nomem(&b);
    yaml_parser_set_input_string(&p, b.text, b.len);
    yaml_parser_set_encoding(&p, YAML_UTF8_ENCODING);
    enum amx_status s = run_parser(&b, &p);
    yaml_parser_delete(&p);
    if (s == AMX_OK) {
        *out = b.root;
        b.root = NULL;
    }
    builder_free(&b);
    return s;
}

/* What a path that is not a regular file is, for the message. */
static const char *file_kind(mode_t m)
{
    if (S_ISDIR(m)) return "a directory";
    if (S_ISFIFO(m)) return "a FIFO (named pipe)";
    if (S_ISCHR(m)) return "a character device";
    if (S_ISBLK(m)) return "a block device";
    if (S_ISSOCK(m)) return "a socket";
    return "not a plain file";
}

/* size: what fstat said, or -1 when the file grew past the limit as it was
 * read. */
static enum amx_status too_large(const char *path, long long size, struct amx_error *err)
{
    char what[80];
    if (size >= 0)
        snprintf(what, sizeof what, "%lld bytes", size);
    else
        snprintf(what, sizeof what, "more than %u bytes (it grew as it was read)",
                 AMX_NODE_MAX_FILE_BYTES);
    return amx_fail(err, AMX_ERR_CONFIG, path, 0, 0,
                    "the experiment file is %s: the limit is %u bytes (1 MiB); expected a YAML "
                    "text of at most that size",
                    what, AMX_NODE_MAX_FILE_BYTES);
}

enum amx_status amx_node_read_file(const char *path, char **text, size_t *len,
                                   struct amx_error *err)
{
    *text = NULL;
    if (len) *len = 0;
    /* O_NONBLOCK: opening a FIFO without a writer returns at once (and is then
     * refused) instead of waiting; on a regular file it changes nothing. */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (fd < 0)
        return amx_fail(err, AMX_ERR_CONFIG, path, 0, 0, "cannot open the experiment file: %s",
                        strerror(errno));
    struct stat sb;
    if (fstat(fd, &sb) != 0) {
        int e = errno;
        close(fd);
        return amx_fail(err, AMX_ERR_CONFIG, path, 0, 0, "cannot stat the experiment file: %s",
                        strerror(e));
    }
    if (!S_ISREG(sb.st_mode)) {
        close(fd);
        return amx_fail(err, AMX_ERR_CONFIG, path, 0, 0,
                        "is %s, not a regular file; expected an experiment file (YAML text)",
                        file_kind(sb.st_mode));
    }
    if (sb.st_size > (off_t)AMX_NODE_MAX_FILE_BYTES) {
        close(fd);
        return too_large(path, (long long)sb.st_size, err);
    }
    /* room for the size fstat gave, one byte to see whether the file grew
     * past the limit since, and the NUL */
    size_t cap = (size_t)sb.st_size + 2, n = 0;
    char *buf = malloc(cap);
    enum amx_status st = AMX_OK;
    if (!buf) st = amx_fail(err, AMX_ERR_NOMEM, path, 0, 0, "out of memory reading the file");
    while (st == AMX_OK) {
        if (n + 1 == cap) { /* full (the NUL aside): the file grew */
            if (n > AMX_NODE_MAX_FILE_BYTES) {
                st = too_large(path, -1, err);
                break;
            }
            size_t want =
                2 * cap < AMX_NODE_MAX_FILE_BYTES + 2 ? 2 * cap : AMX_NODE_MAX_FILE_BYTES + 2;
            char *p = realloc(buf, want);
            if (!p) {
                st = amx_fail(err, AMX_ERR_NOMEM, path, 0, 0, "out of memory reading the file");
                break;
            }
            buf = p;
            cap = want;
        }
        ssize_t r = read(fd, buf + n, cap - 1 - n);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) {
            st = amx_fail(err, AMX_ERR_CONFIG, path, 0, 0,
                          "cannot read the experiment file (read error after %zu bytes): %s", n,
                          strerror(errno));
            break;
        }
        if (r == 0) break;
        n += (size_t)r;
    }
    close(fd);
    if (st == AMX_OK && n > AMX_NODE_MAX_FILE_BYTES) st = too_large(path, -1, err);
    if (st != AMX_OK) {
        free(buf);
        return st;
    }
    buf[n] = '\0';
    *text = buf;
    if (len) *len = n;
    return AMX_OK;
}

enum amx_status amx_node_parse_file(const char *path, struct amx_node **out, struct amx_error *err)
{
    *out = NULL;
    char *buf = NULL;
    size_t len = 0;
    enum amx_status s = amx_node_read_file(path, &buf, &len, err);
    if (s != AMX_OK) return s;
    s = amx_node_parse_string(buf, len, path, true, out, err);
    free(buf);
    return s;
}

/* ------------------------------------------------------------- emitting -- */

struct buf {
    char *p;
    size_t n, cap;
    bool oom;
};

static void put(struct buf *b, const char *s, size_t n)
{
    if (b->oom) return;
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (b->n + n + 1 > cap)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p) {
            b->oom = true;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = '\0';
}

static void puts_(struct buf *b, const char *s)
{
    put(b, s, strlen(s));
}

static void indent(struct buf *b, int n)
{
    for (int i = 0; i < n; i++)
        put(b, " ", 1);
}

/* Whether text reads back as this very text when written plain (unquoted),
 * in block context or, stricter, inside a flow sequence [a, b]. Conservative:
 * anything unusual gets quotes. */
static bool plain_ok(const char *s, bool flow)
{
    size_t n = strlen(s);
    if (n == 0) return false;
    if (s[0] == ' ' || s[n - 1] == ' ') return false;
    if (strchr(",[]{}#&*!|>'\"%@`", s[0])) return false;
    if (s[0] == '?' || s[0] == ':') return false; /* allowed in places by YAML; not worth it */
    if (s[0] == '-' && (n == 1 || s[1] == ' ')) return false; /* "-1" stays plain */
    if ((strncmp(s, "---", 3) == 0 || strncmp(s, "...", 3) == 0) && (s[3] == '\0' || s[3] == ' '))
        return false; /* a document marker */
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c >= 0x7F) return false; /* controls and non-ASCII: quoted */
        if (c == ':' && (flow || i + 1 == n || s[i + 1] == ' ')) return false;
        if (c == '#' && s[i - 1] == ' ') return false;
        if (flow && strchr(",[]{}", c)) return false;
    }
    return true;
}

static void put_quoted(struct buf *b, const char *s)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t n = strlen(s);
    put(b, "\"", 1);
    for (size_t i = 0; i < n;) {
        unsigned char c = u[i];
        char esc[16];
        if (c == '"' || c == '\\') {
            esc[0] = '\\';
            esc[1] = (char)c;
            put(b, esc, 2);
            i++;
            continue;
        }
        if (c == '\n' || c == '\t' || c == '\r') {
            puts_(b, c == '\n' ? "\\n" : c == '\t' ? "\\t" : "\\r");
            i++;
            continue;
        }
        if (c < 0x20 || c == 0x7F) {
            snprintf(esc, sizeof esc, "\\x%02x", c);
            puts_(b, esc);
            i++;
            continue;
        }
        if (c < 0x80) {
            put(b, (const char *)&u[i], 1);
            i++;
            continue;
        }
        uint32_t cp;
        size_t k = utf8_seq(u + i, n - i, &cp);
        if (!k) { /* not UTF-8 (built in code): keep the byte as a code point */
            snprintf(esc, sizeof esc, "\\x%02x", c);
            puts_(b, esc);
            i++;
            continue;
        }
        /* YAML's printable set, less what libyaml takes as line breaks */
        bool printable = (cp >= 0xA0 && cp <= 0xD7FF && cp != 0x2028 && cp != 0x2029) ||
                         (cp >= 0xE000 && cp <= 0xFFFD && cp != 0xFEFF) || cp >= 0x10000;
        if (printable) {
            put(b, (const char *)&u[i], k);
        } else {
            snprintf(esc, sizeof esc, cp > 0xFFFF ? "\\U%08x" : "\\u%04x", (unsigned)cp);
            puts_(b, esc);
        }
        i += k;
    }
    put(b, "\"", 1);
}

static void put_scalar(struct buf *b, const struct amx_node *n, bool flow)
{
    if (plain_ok(n->text, flow) && !(n->quoted && looks_special(n->text)))
        puts_(b, n->text);
    else
        put_quoted(b, n->text);
}

static void put_key(struct buf *b, const char *key)
{
    if (plain_ok(key, false) && !looks_special(key))
        puts_(b, key);
    else
        put_quoted(b, key);
}

/* A plain empty scalar (null) has no quoted spelling: it is written as
 * nothing at all. */
static bool plain_empty(const struct amx_node *n)
{
    return n->kind == AMX_NODE_SCALAR && !n->quoted && n->text[0] == '\0';
}

/* Whether a sequence can be written [a, b]: scalars only, each plain one
 * writable plain inside brackets or free to be quoted (a plain "0.5:1"
 * would become a string: block style is used for such a sequence). */
static bool flat_seq(const struct amx_node *n)
{
    for (size_t i = 0; i < n->n; i++) {
        const struct amx_node *v = n->items[i];
        if (v->kind != AMX_NODE_SCALAR) return false;
        if (!v->quoted && !plain_ok(v->text, true) && (looks_special(v->text) || !v->text[0]))
            return false;
    }
    return true;
}

static void emit_map(struct buf *b, const struct amx_node *n, int ind, bool first_inline);
static void emit_seq(struct buf *b, const struct amx_node *n, int ind);

/* The value after "key:" or "-": on the same line when it is a scalar, an
 * empty collection or a sequence of scalars; else on the following lines. */
static void emit_value(struct buf *b, const struct amx_node *v, int ind)
{
    if (plain_empty(v)) {
        put(b, "\n", 1);
    } else if (v->kind == AMX_NODE_SCALAR) {
        put(b, " ", 1);
        put_scalar(b, v, false);
        put(b, "\n", 1);
    } else if (v->n == 0) {
        puts_(b, v->kind == AMX_NODE_MAP ? " {}\n" : " []\n");
    } else if (v->kind == AMX_NODE_SEQ && flat_seq(v)) {
        puts_(b, " [");
        for (size_t i = 0; i < v->n; i++) {
            if (i) puts_(b, ", ");
            put_scalar(b, v->items[i], true);
        }
        puts_(b, "]\n");
    } else if (v->kind == AMX_NODE_MAP) {
        put(b, "\n", 1);
        emit_map(b, v, ind, false);
    } else {
        put(b, "\n", 1);
        emit_seq(b, v, ind);
    }
}

static void emit_map(struct buf *b, const struct amx_node *n, int ind, bool first_inline)
{
    for (size_t i = 0; i < n->n; i++) {
        if (i > 0 || !first_inline) indent(b, ind);
        /* libyaml reads implicit keys of at most 1024 characters */
        bool explicit_key = strlen(n->pairs[i].key) > 1000;
        if (explicit_key) {
            puts_(b, "? ");
            put_quoted(b, n->pairs[i].key);
            put(b, "\n", 1);
            indent(b, ind);
        } else {
            put_key(b, n->pairs[i].key);
        }
        put(b, ":", 1);
        emit_value(b, n->pairs[i].value, ind + 2);
    }
}

static void emit_seq(struct buf *b, const struct amx_node *n, int ind)
{
    for (size_t i = 0; i < n->n; i++) {
        const struct amx_node *v = n->items[i];
        indent(b, ind);
        put(b, "-", 1);
        if (v->kind == AMX_NODE_MAP && v->n > 0) {
            put(b, " ", 1);
            emit_map(b, v, ind + 2, true);
        } else {
            emit_value(b, v, ind + 2);
        }
    }
}

char *amx_node_emit_string(const struct amx_node *node)
{
    struct buf b = {0};
    put(&b, "", 0);
    if (!node) {
        /* nothing */
    } else if (plain_empty(node)) {
        puts_(&b, "---\n"); /* a document holding an empty (null) scalar */
    } else if (node->kind == AMX_NODE_SCALAR) {
        put_scalar(&b, node, false);
        put(&b, "\n", 1);
    } else if (node->n == 0) {
        puts_(&b, node->kind == AMX_NODE_MAP ? "{}\n" : "[]\n");
    } else if (node->kind == AMX_NODE_MAP) {
        emit_map(&b, node, 0, false);
    } else {
        emit_seq(&b, node, 0);
    }
    if (b.oom) {
        free(b.p);
        return NULL;
    }
    return b.p;
}

int amx_node_emit(const struct amx_node *node, FILE *out)
{
    char *s = amx_node_emit_string(node);
    if (!s) return -1;
    size_t n = strlen(s);
    int rc = fwrite(s, 1, n, out) == n ? 0 : -1;
    free(s);
    return rc;
}
