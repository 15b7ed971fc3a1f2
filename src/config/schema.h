/* Private to src/config: the schema of the experiment language as a table.
 *
 * Every key of the experiment language (docs/experiment-language.md) is declared once in schema.c
 * with its type, range, default and place in struct amx_run_config; bind.c reads a node tree
 * through the table and to_node.c writes a config back through it, so the two
 * directions cannot drift apart and docs/experiment-language.md has one
 * source to follow. The rules of finetune.rules are described by the optim
 * registry (optim.h), not here. */
#ifndef ADAMIX_CONFIG_SCHEMA_H
#define ADAMIX_CONFIG_SCHEMA_H

#include "adamix/config.h"

#include <stdbool.h>
#include <stddef.h>

enum key_type {
    KT_SECTION, /* a mapping of further keys (sub) */
    KT_STRING,  /* text into char[size] */
    KT_NAME,    /* [a-z0-9._-]+, not "." or "..", into char[size] */
    KT_SEED,    /* a non-negative integer that fits uint64_t */
    KT_INT,     /* an int in [lo, hi] */
    KT_LONG,    /* a long in [lo, hi] */
    KT_DOUBLE,  /* a finite double in the range of lo, hi and range flags */
    KT_BOOL,    /* true | false */
    KT_ENUM,    /* one of words, stored as the index into an enum */
    KT_LAYERS,  /* network.layers: 2..AMX_MAX_LAYERS positive ints */
    KT_RULES,   /* finetune.rules: selector -> rule (optim registry) */
    KT_TARGETS  /* report.targets: 0..AMX_MAX_TARGETS finite numbers >= 0 */
};

enum key_opts {
    KO_REQUIRED = 1,     /* an error when absent */
    KO_NONE = 2,         /* KT_SECTION that may be the scalar `none` (aux: its bool) */
    KO_NONEMPTY = 4,     /* KT_STRING that may not be "" */
    KO_DEFAULT_NAME = 8, /* KT_STRING whose default is the experiment's name */
    KO_OFF = 16,         /* KO_NONE section that is `none` unless given: when off it is
                            left out of config.yaml and of the run id */
    KO_COLUMN = 32,      /* KT_ENUM that may also name any curve column, kept as text in the
                            char[AMX_NAME_MAX] at aux (report.metric) */
    KO_POINT = 64        /* KT_STRING that may also be a mapping of scalars, kept as
                            "key=value" lines in the char[AMX_TEXT_MAX] at aux, the string
                            then "" (report.baseline: a point by its sweep values) */
};

struct section;

struct key {
    const char *name;
    enum key_type type;
    size_t off;               /* offset of the value in struct amx_run_config */
    size_t size;              /* sizeof the member at off (KO_NONE: of the bool at aux) */
    double lo, hi;            /* numbers: the range */
    unsigned range;           /* AMX_PARAM_LO_OPEN | AMX_PARAM_HI_OPEN (optim.h) */
    double def;               /* numbers, booleans, enum index */
    const char *sdef;         /* strings */
    const char *const *words; /* KT_ENUM: NULL-terminated, in the enum's order */
    const struct section *sub;
    unsigned opts;         /* enum key_opts */
    size_t aux;            /* KO_NONE: offset of the `enabled` bool */
    const char *example;   /* KO_REQUIRED: what to write, for the message */
    enum amx_key_class id; /* how it bears on a run's id (config.h); IDENTITY when unset */
    unsigned tasks;        /* the tasks whose runs have the key: bits 1 << amx_task; 0: all */
};

#define TASK_BIT(t) (1u << (t))
/* Whether key k belongs to a run of task t (a key of another task is refused
 * where written, and neither written to config.yaml nor part of the id). */
static inline bool amx_schema_key_for(const struct key *k, enum amx_task t)
{
    return k->tasks == 0 || (k->tasks & TASK_BIT(t)) != 0;
}

struct section {
    const char *path; /* "" for the top level, else "data", "pretrain.momentum", ... */
    const struct key *keys;
    size_t n;
};

extern const struct section amx_schema_top;

/* The width a row of this type writes (bind.c stores an int through an int
 * pointer, and so on); 0 for a char array (KT_STRING, KT_NAME: any size,
 * the row's size bounds the text) and for a section without `none`. */
size_t amx_schema_width(const struct key *k);

/* Checks every row of sec and of its subsections against the struct it
 * fills, as libcyaml checks each field's data size: the recorded size is the
 * width the row's type writes (so a KT_INT row aimed at a long member, which
 * would write half of it, is caught), and off + size lies within struct
 * amx_run_config. On false, msg names the first bad row. For the tests (a
 * wrong row corrupts memory without a word); binding trusts the table. */
bool amx_schema_check(const struct section *sec, char *msg, size_t size);

/* Word lists of the enums of config.h, in enum order, NULL-terminated. */
extern const char *const amx_unit_words[];
extern const char *const amx_loss_words[];
extern const char *const amx_metric_words[];
extern const char *const amx_report_x_words[];
extern const char *const amx_clock_words[];
extern const char *const amx_precision_words[];
extern const char *const amx_task_words[];

/* The shortest of %.15g, %.16g, %.17g that reads back as x. */
void amx_format_double(double x, char *buf, size_t size);

#endif
