/* YAML text -> node tree, with libyaml's event API.
 *
 * Events, not libyaml's document API, so that this file, not libyaml, decides
 * what an alias costs: every alias is expanded into a copy, and the total
 * number of nodes (after expansion) is bounded by AMX_NODE_MAX_EXPANDED, which
 * refuses a "billion laughs" file after at most that many small allocations.
 * The input must be UTF-8 (checked here first, so the message can name the
 * byte and its place; a UTF-8 byte-order mark is skipped); duplicate and
 * non-scalar keys, several documents and unknown tags are refused, each at
 * its 1-based line and column.
 *
 * What it does not do: interpret scalars (numbers, booleans) -- that is
 * binding's job (bind.c) -- nor YAML 1.1 merge keys (`<<` is an ordinary key,
 * which binding then refuses as unknown). Reading files is readfile.c's. */
#include "adamix/node.h"
#include "node_internal.h"

#include <yaml.h>

#include <assert.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
    struct frame stack[NODE_MAX_DEPTH];
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
        if (node_reserve(f->node, cap) != 0) {
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
        char *a = node_strdup((const char *)e->data.scalar.anchor);
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
        char *k = node_strdup(text);
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
        char *k = node_strdup(a->node->text);
        return k ? set_key(b, k, m) : nomem(b);
    }
    if (b->depth + tree_depth(a->node) > NODE_MAX_DEPTH)
        return fail_at(b, m, "nesting deeper than %d levels", NODE_MAX_DEPTH);
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
    if (b->depth >= NODE_MAX_DEPTH)
        return fail_at(b, m, "nesting deeper than %d levels", NODE_MAX_DEPTH);
    size_t before = b->count;
    if ((s = count_nodes(b, 1, m))) return s;
    struct amx_node *n = node_new(kind, b->name, mark_line(m), mark_col(m));
    char *a = anchor ? node_strdup((const char *)anchor) : NULL;
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
