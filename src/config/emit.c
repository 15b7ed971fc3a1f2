/* Node tree -> YAML text, with libyaml's emitter (yaml_emitter_*).
 *
 * libyaml does the writing: indentation, flow brackets, escapes, explicit
 * `? key` for keys too long or multi-line for a simple key, and its own check
 * that a plain scalar reads back as itself (where it does not, it falls back
 * to quotes). What libyaml cannot know is what a scalar means, so this file
 * chooses each scalar's style:
 *
 *   - a quoted node whose text would read as something else when plain (a
 *     string "1", "true", "" or "~") is double-quoted, so that it stays a
 *     string; a plain node is written plain, so 1 stays a number;
 *   - text that cannot be plain at all (": " or " #" inside, a leading
 *     indicator or space, control or non-ASCII characters) is double-quoted
 *     rather than left to libyaml's single quotes: double quotes have escapes
 *     for every character, and config.yaml keeps the spelling it had before
 *     libyaml wrote it (title: "Quick start: ...");
 *   - a sequence of scalars is written in flow style ([784, 256, 64]), unless
 *     one of them is a plain empty scalar (null, which has no flow spelling)
 *     or a plain text that brackets would change (0.5:1); everything else is
 *     block style, 2-space indent, one line per scalar (no folding).
 *
 * Parsing the output gives an equal tree (amx_node_equal); tests/check_config.c
 * checks that on awkward texts and random trees. libyaml refuses text that
 * is not UTF-8: such a tree (only code can build one; the parser checks its
 * input) is not written, as when memory runs out. */
#include "adamix/node.h"
#include "node_internal.h"

#include <yaml.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Whether text reads back as this very text when written plain, in block
 * context or, stricter, inside a flow sequence [a, b]. Conservative:
 * anything unusual gets quotes. */
static bool plain_ok(const char *s, bool flow)
{
    size_t n = strlen(s);
    if (n == 0) return false;
    if (s[0] == ' ' || s[n - 1] == ' ') return false;
    if (strchr(",[]{}#&*!|>'\"%@`", s[0])) return false;
    if (s[0] == '?' || s[0] == ':') return false; /* allowed in places by YAML; not worth it */
    if (s[0] == '-' && (n == 1 || s[1] == ' ')) return false; /* "-1" stays plain */
    if (strncmp(s, "---", 3) == 0 || strncmp(s, "...", 3) == 0)
        return false; /* a document marker, or what libyaml takes for one */
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c >= 0x7F) return false; /* controls and non-ASCII: quoted */
        if (c == ':' && (flow || i + 1 == n || s[i + 1] == ' ')) return false;
        if (c == '#' && s[i - 1] == ' ') return false;
        if (flow && strchr(",[]{}?", c)) return false; /* libyaml's flow indicators */
    }
    return true;
}

/* A plain empty scalar (null) has no quoted spelling: written plain, it is
 * nothing at all after "key:". */
static bool plain_empty(const struct amx_node *n)
{
    return n->kind == AMX_NODE_SCALAR && !n->quoted && n->text[0] == '\0';
}

static yaml_scalar_style_t value_style(const struct amx_node *n, bool flow)
{
    if (plain_empty(n)) return YAML_PLAIN_SCALAR_STYLE;
    if (plain_ok(n->text, flow) && !(n->quoted && node_looks_special(n->text)))
        return YAML_PLAIN_SCALAR_STYLE;
    return YAML_DOUBLE_QUOTED_SCALAR_STYLE;
}

/* Keys are strings: "1" or "true" as a key is quoted. */
static yaml_scalar_style_t key_style(const char *key)
{
    return plain_ok(key, false) && !node_looks_special(key) ? YAML_PLAIN_SCALAR_STYLE
                                                            : YAML_DOUBLE_QUOTED_SCALAR_STYLE;
}

/* Whether a sequence can be written [a, b] (see the top of the file). */
static bool flow_seq(const struct amx_node *n)
{
    for (size_t i = 0; i < n->n; i++) {
        const struct amx_node *v = n->items[i];
        if (v->kind != AMX_NODE_SCALAR) return false;
        if (!v->quoted && !plain_ok(v->text, true) && (node_looks_special(v->text) || !v->text[0]))
            return false;
    }
    return true;
}

/* Each returns 1 on success, 0 on failure (libyaml's convention); the
 * emitter takes every event, also when it fails. */
static int emit_scalar(yaml_emitter_t *em, const char *text, yaml_scalar_style_t style)
{
    yaml_event_t e;
    size_t len = strlen(text);
    if (len > INT_MAX ||
        !yaml_scalar_event_initialize(&e, NULL, NULL, (yaml_char_t *)text, (int)len, 1, 1, style))
        return 0;
    return yaml_emitter_emit(em, &e);
}

static int emit_node(yaml_emitter_t *em, const struct amx_node *n, bool flow)
{
    yaml_event_t e;
    if (n->kind == AMX_NODE_SCALAR) return emit_scalar(em, n->text, value_style(n, flow));
    if (n->kind == AMX_NODE_SEQ) {
        bool f = flow || flow_seq(n);
        if (!yaml_sequence_start_event_initialize(
                &e, NULL, NULL, 1, f ? YAML_FLOW_SEQUENCE_STYLE : YAML_BLOCK_SEQUENCE_STYLE) ||
            !yaml_emitter_emit(em, &e))
            return 0;
        for (size_t i = 0; i < n->n; i++)
            if (!emit_node(em, n->items[i], f)) return 0;
        return yaml_sequence_end_event_initialize(&e) && yaml_emitter_emit(em, &e);
    }
    /* mappings are never inside a flow sequence (flow_seq), so always block;
     * libyaml writes an empty one as {} */
    if (!yaml_mapping_start_event_initialize(&e, NULL, NULL, 1, YAML_BLOCK_MAPPING_STYLE) ||
        !yaml_emitter_emit(em, &e))
        return 0;
    for (size_t i = 0; i < n->n; i++)
        if (!emit_scalar(em, n->pairs[i].key, key_style(n->pairs[i].key)) ||
            !emit_node(em, n->pairs[i].value, false))
            return 0;
    return yaml_mapping_end_event_initialize(&e) && yaml_emitter_emit(em, &e);
}

/* The text being written: a growing NUL-terminated string. */
struct sink {
    char *p;
    size_t n, cap;
};

static int sink_write(void *data, unsigned char *buffer, size_t size)
{
    struct sink *s = data;
    if (s->n + size + 1 > s->cap) {
        size_t cap = s->cap ? s->cap : 1024;
        while (s->n + size + 1 > cap)
            cap *= 2;
        char *p = realloc(s->p, cap);
        if (!p) return 0;
        s->p = p;
        s->cap = cap;
    }
    memcpy(s->p + s->n, buffer, size);
    s->n += size;
    s->p[s->n] = '\0';
    return 1;
}

char *amx_node_emit_string(const struct amx_node *node)
{
    struct sink s = {0};
    if (!sink_write(&s, (unsigned char *)"", 0)) return NULL;
    if (!node) return s.p;
    yaml_emitter_t em;
    if (!yaml_emitter_initialize(&em)) {
        free(s.p);
        return NULL;
    }
    yaml_emitter_set_output(&em, sink_write, &s);
    yaml_emitter_set_encoding(&em, YAML_UTF8_ENCODING);
    yaml_emitter_set_unicode(&em, 1); /* UTF-8 as it is, not \u escapes */
    yaml_emitter_set_indent(&em, 2);
    yaml_emitter_set_width(&em, -1); /* no folding of long lines */
    yaml_emitter_set_break(&em, YAML_LN_BREAK);
    yaml_event_t e;
    int ok = yaml_stream_start_event_initialize(&e, YAML_UTF8_ENCODING) &&
             yaml_emitter_emit(&em, &e) &&
             /* a document of one null is "---" alone: nothing at all would be
              * no document */
             yaml_document_start_event_initialize(&e, NULL, NULL, NULL, !plain_empty(node)) &&
             yaml_emitter_emit(&em, &e) && emit_node(&em, node, false) &&
             yaml_document_end_event_initialize(&e, 1) && yaml_emitter_emit(&em, &e) &&
             yaml_stream_end_event_initialize(&e) && yaml_emitter_emit(&em, &e) &&
             yaml_emitter_flush(&em);
    yaml_emitter_delete(&em);
    if (!ok) {
        free(s.p);
        return NULL;
    }
    return s.p;
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
