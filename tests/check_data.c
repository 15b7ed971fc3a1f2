/* Tests of the IDX reader (src/data/idx.c): the committed real-MNIST fixtures
 * (tests/data, see its README), a tiny IDX file written here byte by byte,
 * limits, a table of malformed files made here from a good one, corrupt gzip
 * files large enough to need several reads, and paths that are not regular
 * files (a FIFO, a folder, /dev/zero); each bad one must be refused with
 * AMX_ERR_DATA, the file's path and a message saying what is wrong, and
 * nothing half-returned. */
#define _POSIX_C_SOURCE 200809L
#include "adamix/data.h"
#include "testutil.h"

#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <zlib.h>

#define FIX_GZ AMX_TEST_DATA "/fixture-images-idx3-ubyte.gz"
#define FIX_RAW AMX_TEST_DATA "/fixture-images-idx3-ubyte"
#define FIX_LAB_GZ AMX_TEST_DATA "/fixture-labels-idx1-ubyte.gz"
#define FIX_LAB_RAW AMX_TEST_DATA "/fixture-labels-idx1-ubyte"

/* A float holding b/255 rounded to nearest is within half a unit in the last
 * place of it: at most 2^-25 for values below 1. */
static void assert_pixel(float x, unsigned b, size_t i)
{
    if (!(fabs((double)x - b / 255.0) <= 0x1.0p-25))
        ck_abort_msg("pixel %zu: %.9g for byte %u", i, (double)x, b);
}

static int gzip_file(const char *path, const void *data, size_t len)
{
    gzFile gz = gzopen(path, "wb9");
    if (!gz) return -1;
    int w = len ? gzwrite(gz, data, (unsigned)len) : 0;
    return (gzclose(gz) == Z_OK && (size_t)w == len) ? 0 : -1;
}

static void put_be32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

START_TEST(test_fixture_gz)
{
    struct amx_images im = {0};
    struct amx_error err = {0};
    ck_assert_int_eq(amx_idx_read_images(FIX_GZ, 0, &im, &err), AMX_OK);
    ck_assert_uint_eq(im.n, 300);
    ck_assert_uint_eq(im.rows, 28);
    ck_assert_uint_eq(im.cols, 28);
    ck_assert_uint_eq(im.dim, 784);
    size_t zeros = 0, ones = 0;
    double sum = 0;
    for (size_t i = 0; i < im.n * im.dim; i++) {
        if (!(im.x[i] >= 0.0f && im.x[i] <= 1.0f))
            ck_abort_msg("pixel %zu: %g", i, (double)im.x[i]);
        zeros += im.x[i] == 0.0f;
        ones += im.x[i] == 1.0f;
        sum += im.x[i];
    }
    /* MNIST: mostly black background, strokes saturated at 255, mean ~0.13 */
    ck_assert(zeros > im.n * im.dim / 2);
    ck_assert(ones > 0);
    ck_assert(sum / (double)(im.n * im.dim) > 0.05 && sum / (double)(im.n * im.dim) < 0.25);

    /* the checksum is of the compressed bytes on disk: compare coreutils */
    char *out = NULL;
    ck_assert_int_eq(tu_run("sha256sum '" FIX_GZ "'", &out, NULL), 0);
    ck_assert_ptr_nonnull(out);
    ck_assert_uint_eq(strlen(im.sha256), 64);
    ck_assert(strncmp(out, im.sha256, 64) == 0);
    free(out);
    amx_images_free(&im);
    ck_assert_ptr_null(im.x);
    ck_assert_uint_eq(im.n, 0);
    amx_images_free(&im); /* twice is fine */

    uint8_t *lab = NULL;
    size_t n = 0;
    ck_assert_int_eq(amx_idx_read_labels(FIX_LAB_GZ, 0, &lab, &n, &err), AMX_OK);
    ck_assert_uint_eq(n, 300);
    /* the fixture is ordered round-robin over the classes (README) */
    for (size_t i = 0; i < n; i++)
        if (lab[i] != i % 10) ck_abort_msg("label %zu is %u", i, lab[i]);
    free(lab);
}
END_TEST

START_TEST(test_fixture_raw_matches_gz)
{
    size_t len = 0;
    unsigned char *bytes = (unsigned char *)tu_read_file(FIX_RAW, &len);
    ck_assert_ptr_nonnull(bytes);
    ck_assert_uint_eq(len, 16 + 20 * 784);

    struct amx_images raw = {0}, gz = {0};
    struct amx_error err = {0};
    ck_assert_int_eq(amx_idx_read_images(FIX_RAW, 0, &raw, &err), AMX_OK);
    ck_assert_int_eq(amx_idx_read_images(FIX_GZ, 20, &gz, &err), AMX_OK);
    ck_assert_uint_eq(raw.n, 20);
    ck_assert_uint_eq(gz.n, 20);
    ck_assert_uint_eq(raw.dim, 784);
    for (size_t i = 0; i < 20 * 784; i++) {
        assert_pixel(raw.x[i], bytes[16 + i], i);
        if (raw.x[i] != gz.x[i]) ck_abort_msg("raw and gz differ at %zu", i);
    }
    ck_assert(strcmp(raw.sha256, gz.sha256) != 0);
    amx_images_free(&raw);
    amx_images_free(&gz);
    free(bytes);

    uint8_t *a = NULL, *b = NULL;
    size_t na = 0, nb = 0;
    ck_assert_int_eq(amx_idx_read_labels(FIX_LAB_RAW, 0, &a, &na, &err), AMX_OK);
    ck_assert_int_eq(amx_idx_read_labels(FIX_LAB_GZ, 20, &b, &nb, &err), AMX_OK);
    ck_assert_uint_eq(na, 20);
    ck_assert_uint_eq(nb, 20);
    ck_assert(memcmp(a, b, 20) == 0);
    free(a);
    free(b);
}
END_TEST

/* 3 images of 2 rows x 3 columns, every byte value chosen by hand. */
static const unsigned char tiny_pixels[18] = {0,  1,   2,   3,   4,   5, 127, 128, 129,
                                              17, 200, 254, 255, 255, 0, 51,  102, 153};

static size_t tiny_idx(unsigned char *buf)
{
    static const unsigned char head[16] = {0, 0, 8, 3, 0, 0, 0, 3, 0, 0, 0, 2, 0, 0, 0, 3};
    memcpy(buf, head, 16);
    memcpy(buf + 16, tiny_pixels, 18);
    return 34;
}

START_TEST(test_handmade)
{
    char *dir = tu_tmpdir("data");
    ck_assert_ptr_nonnull(dir);
    unsigned char buf[64];
    size_t len = tiny_idx(buf);
    char *raw = tu_fmt("%s/tiny-idx3-ubyte", dir), *gz = tu_fmt("%s/tiny-idx3-ubyte.gz", dir);
    ck_assert_int_eq(tu_write_file(raw, buf, len), 0);
    ck_assert_int_eq(gzip_file(gz, buf, len), 0);
    const char *paths[2] = {raw, gz};
    for (int k = 0; k < 2; k++) {
        struct amx_images im = {0};
        struct amx_error err = {0};
        ck_assert_int_eq(amx_idx_read_images(paths[k], 0, &im, &err), AMX_OK);
        ck_assert_uint_eq(im.n, 3);
        ck_assert_uint_eq(im.rows, 2);
        ck_assert_uint_eq(im.cols, 3);
        ck_assert_uint_eq(im.dim, 6);
        for (size_t i = 0; i < 18; i++)
            assert_pixel(im.x[i], tiny_pixels[i], i);
        ck_assert(im.x[0] == 0.0f && im.x[12] == 1.0f && im.x[15] == 0.2f);
        amx_images_free(&im);

        ck_assert_int_eq(amx_idx_read_images(paths[k], 2, &im, &err), AMX_OK);
        ck_assert_uint_eq(im.n, 2);
        for (size_t i = 0; i < 12; i++)
            assert_pixel(im.x[i], tiny_pixels[i], i);
        amx_images_free(&im);
    }

    static const unsigned char labels[13] = {0, 0, 8, 1, 0, 0, 0, 5, 7, 0, 9, 3, 255};
    char *lab = tu_fmt("%s/tiny-labels-idx1-ubyte", dir);
    ck_assert_int_eq(tu_write_file(lab, labels, sizeof labels), 0);
    uint8_t *l = NULL;
    size_t n = 0;
    struct amx_error err = {0};
    ck_assert_int_eq(amx_idx_read_labels(lab, 0, &l, &n, &err), AMX_OK);
    ck_assert_uint_eq(n, 5);
    ck_assert(memcmp(l, labels + 8, 5) == 0);
    free(l);
    ck_assert_int_eq(amx_idx_read_labels(lab, 5, &l, &n, &err), AMX_OK);
    ck_assert_uint_eq(n, 5);
    free(l);

    char hex[65];
    ck_assert_int_eq(amx_file_sha256(raw, hex, &err), AMX_OK);
    char *cmd = tu_fmt("sha256sum '%s'", raw), *out = NULL;
    ck_assert_int_eq(tu_run(cmd, &out, NULL), 0);
    ck_assert(strncmp(out, hex, 64) == 0 && hex[64] == '\0');
    free(cmd);
    free(out);

    tu_rmtree(dir);
    free(dir);
    free(raw);
    free(gz);
    free(lab);
}
END_TEST

START_TEST(test_limits)
{
    struct amx_images all = {0}, part = {0};
    struct amx_error err = {0};
    ck_assert_int_eq(amx_idx_read_images(FIX_GZ, 0, &all, &err), AMX_OK);
    static const long limits[] = {1, 7, 299, 300};
    for (size_t k = 0; k < sizeof limits / sizeof limits[0]; k++) {
        ck_assert_int_eq(amx_idx_read_images(FIX_GZ, limits[k], &part, &err), AMX_OK);
        ck_assert_uint_eq(part.n, (size_t)limits[k]);
        ck_assert_uint_eq(part.dim, 784);
        ck_assert(memcmp(part.x, all.x, part.n * part.dim * sizeof(float)) == 0);
        ck_assert_str_eq(part.sha256, all.sha256);
        amx_images_free(&part);
    }
    amx_images_free(&all);

    static const long bad[] = {301, 1000000, -1};
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        memset(&err, 0, sizeof err);
        part.n = 99; /* must come back zeroed */
        ck_assert_int_eq(amx_idx_read_images(FIX_GZ, bad[k], &part, &err), AMX_ERR_DATA);
        ck_assert_ptr_null(part.x);
        ck_assert_uint_eq(part.n, 0);
        ck_assert_str_eq(err.path, FIX_GZ);
        ck_assert_msg(bad[k] < 0 || strstr(err.msg, "fewer than") != NULL, "%s", err.msg);

        uint8_t *l = (uint8_t *)&err; /* must come back NULL */
        size_t n = 99;
        ck_assert_int_eq(amx_idx_read_labels(FIX_LAB_GZ, bad[k], &l, &n, &err), AMX_ERR_DATA);
        ck_assert_ptr_null(l);
        ck_assert_uint_eq(n, 0);
        ck_assert_str_eq(err.path, FIX_LAB_GZ);
    }
}
END_TEST

/* How a malformed variant is made from the raw 20-image fixture. */
enum edit { CUT_TAIL, APPEND, SET_BE32, SET_BYTE, REPLACE_ALL };
struct variant {
    const char *name;
    int gzip; /* 1: gzip the edited bytes; 2: edit the gzip file itself */
    enum edit edit;
    size_t at;         /* offset for SET_*; bytes to cut for CUT_TAIL (from the end) */
    uint32_t value;    /* for SET_*: the new value; for APPEND: bytes to add */
    const char *words; /* the message must contain this */
};

static const struct variant image_variants[] = {
    {"bad-magic", 0, SET_BYTE, 0, 0x12, "bad magic"},
    {"bad-magic-2", 0, SET_BE32, 0, 0x08030000u, "bad magic"},
    {"label-magic", 0, SET_BYTE, 3, 0x01, "dimension"},
    {"four-dims", 0, SET_BYTE, 3, 0x04, "dimension"},
    {"float-type", 0, SET_BYTE, 2, 0x0d, "data type"},
    {"empty-file", 0, CUT_TAIL, 16 + 20 * 784, 0, "shorter"},
    {"magic-only", 0, CUT_TAIL, 12 + 20 * 784, 0, "truncated IDX header"},
    {"header-cut", 0, CUT_TAIL, 6 + 20 * 784, 0, "truncated IDX header"},
    {"no-pixels", 0, CUT_TAIL, 20 * 784, 0, "truncated"},
    {"cut-1", 0, CUT_TAIL, 1, 0, "truncated"},
    {"cut-half", 0, CUT_TAIL, 10 * 784, 0, "truncated"},
    {"trailing-1", 0, APPEND, 0, 1, "trailing byte"},
    {"trailing-image", 0, APPEND, 0, 784, "trailing byte"},
    {"count-21", 0, SET_BE32, 4, 21, "truncated"},
    {"count-19", 0, SET_BE32, 4, 19, "trailing byte"},
    {"count-0", 0, SET_BE32, 4, 0, "no images"},
    {"count-huge", 0, SET_BE32, 4, 0xffffffffu, "truncated"},
    {"rows-0", 0, SET_BE32, 8, 0, "is 0"},
    {"rows-27", 0, SET_BE32, 8, 27, "trailing byte"},
    {"cols-29", 0, SET_BE32, 12, 29, "truncated"},
    {"cols-huge", 0, SET_BE32, 12, 0xffffffffu, "implausible"},
    {"gz-bad-magic", 1, SET_BYTE, 1, 0x09, "bad magic"},
    {"gz-cut", 1, CUT_TAIL, 1, 0, "truncated"},
    {"gz-trailing", 1, APPEND, 0, 3, "trailing byte"},
    {"gz-count-0", 1, SET_BE32, 4, 0, "no images"},
    {"gzip-truncated", 2, CUT_TAIL, 0, 0, "truncated gzip"}, /* at = half, set below */
    {"gzip-bad-crc", 2, SET_BYTE, 0, 0, "corrupt gzip"},     /* at = size - 8 */
    {"gzip-bad-method", 2, SET_BYTE, 2, 0x07, "corrupt gzip"},
    {"gzip-garbled", 2, REPLACE_ALL, 0, 0, "corrupt gzip"},
};

/* Writes the variant into dir; returns its malloc'ed path. */
static char *make_variant(const char *dir, const struct variant *v, const unsigned char *good,
                          size_t good_len)
{
    char *path = tu_fmt("%s/%s%s", dir, v->name, v->gzip ? ".gz" : "");
    unsigned char *b;
    size_t len;
    if (v->gzip == 2) { /* edit the compressed bytes */
        char *tmp = tu_fmt("%s/good.gz", dir);
        ck_assert_int_eq(gzip_file(tmp, good, good_len), 0);
        b = (unsigned char *)tu_read_file(tmp, &len);
        ck_assert_ptr_nonnull(b);
        free(tmp);
    } else {
        len = good_len;
        b = malloc(len + 1024);
        ck_assert_ptr_nonnull(b);
        memcpy(b, good, len);
    }
    size_t at = v->at;
    if (!strcmp(v->name, "gzip-truncated")) at = len / 2;
    if (!strcmp(v->name, "gzip-bad-crc")) at = len - 8;
    switch (v->edit) {
    case CUT_TAIL:
        len -= at;
        break;
    case APPEND:
        b = realloc(b, len + v->value);
        ck_assert_ptr_nonnull(b);
        memset(b + len, 0x2a, v->value);
        len += v->value;
        break;
    case SET_BE32:
        put_be32(b + at, v->value);
        break;
    case SET_BYTE:
        b[at] = (unsigned char)(v->value ? v->value : b[at] ^ 0xff);
        break;
    case REPLACE_ALL: /* keep the 10-byte gzip header, scramble the deflate data */
        for (size_t i = 10; i + 8 < len; i++)
            b[i] = (unsigned char)(b[i] * 31u + 7u);
        break;
    }
    if (v->gzip == 1)
        ck_assert_int_eq(gzip_file(path, b, len), 0);
    else
        ck_assert_int_eq(tu_write_file(path, b, len), 0);
    free(b);
    return path;
}

static void assert_refused(enum amx_status st, const struct amx_error *err, const char *path,
                           const char *words, const char *name)
{
    ck_assert_msg(st == AMX_ERR_DATA, "%s: status %d (%s)", name, st, err->msg);
    ck_assert_msg(!strcmp(err->path, path), "%s: error path '%s'", name, err->path);
    ck_assert_msg(strstr(err->msg, words) != NULL, "%s: message '%s' lacks '%s'", name, err->msg,
                  words);
    char line[4096];
    amx_error_format(err, line, sizeof line);
    ck_assert_msg(strncmp(line, path, strlen(path)) == 0, "%s: formatted '%s'", name, line);
}

START_TEST(test_malformed_images)
{
    size_t good_len = 0;
    unsigned char *good = (unsigned char *)tu_read_file(FIX_RAW, &good_len);
    ck_assert_ptr_nonnull(good);
    char *dir = tu_tmpdir("data");
    ck_assert_ptr_nonnull(dir);
    for (size_t k = 0; k < sizeof image_variants / sizeof image_variants[0]; k++) {
        const struct variant *v = &image_variants[k];
        char *path = make_variant(dir, v, good, good_len);
        struct amx_images im = {.n = 5};
        struct amx_error err = {0};
        enum amx_status st = amx_idx_read_images(path, 0, &im, &err);
        assert_refused(st, &err, path, v->words, v->name);
        ck_assert_msg(im.x == NULL && im.n == 0 && im.sha256[0] == '\0', "%s: half-returned",
                      v->name);
        /* a limit does not let a bad file through */
        memset(&err, 0, sizeof err);
        st = amx_idx_read_images(path, 1, &im, &err);
        ck_assert_msg(st == AMX_ERR_DATA && im.x == NULL, "%s with limit 1: %d", v->name, st);
        free(path);
    }
    /* a missing file, a folder */
    char *missing = tu_fmt("%s/no-such-idx3-ubyte.gz", dir);
    struct amx_images im = {0};
    struct amx_error err = {0};
    assert_refused(amx_idx_read_images(missing, 0, &im, &err), &err, missing, "cannot open",
                   "missing");
    assert_refused(amx_idx_read_images(dir, 0, &im, &err), &err, dir, "", "folder");
    char hex[65] = "x";
    assert_refused(amx_file_sha256(missing, hex, &err), &err, missing, "cannot open", "sha256");
    ck_assert(hex[0] == '\0');
    free(missing);
    tu_rmtree(dir);
    free(dir);
    free(good);
}
END_TEST

static const struct variant label_variants[] = {
    {"l-bad-magic", 0, SET_BYTE, 1, 0x05, "bad magic"},
    {"l-image-magic", 0, SET_BYTE, 3, 0x03, "dimension"},
    {"l-type", 0, SET_BYTE, 2, 0x0c, "data type"},
    {"l-cut", 0, CUT_TAIL, 1, 0, "truncated"},
    {"l-no-data", 0, CUT_TAIL, 20, 0, "truncated"}, /* a header, no labels */
    {"l-header-cut", 0, CUT_TAIL, 22, 0, "truncated IDX header"},
    {"l-trailing", 0, APPEND, 0, 2, "trailing byte"},
    {"l-count-0", 0, SET_BE32, 4, 0, "no labels"},
    {"l-count-30", 0, SET_BE32, 4, 30, "truncated"},
    {"l-gz-cut", 1, CUT_TAIL, 3, 0, "truncated"},
};

START_TEST(test_malformed_labels)
{
    size_t good_len = 0;
    unsigned char *good = (unsigned char *)tu_read_file(FIX_LAB_RAW, &good_len);
    ck_assert_ptr_nonnull(good);
    ck_assert_uint_eq(good_len, 28);
    char *dir = tu_tmpdir("data");
    ck_assert_ptr_nonnull(dir);
    for (size_t k = 0; k < sizeof label_variants / sizeof label_variants[0]; k++) {
        const struct variant *v = &label_variants[k];
        char *path = make_variant(dir, v, good, good_len);
        uint8_t *l = good;
        size_t n = 7;
        struct amx_error err = {0};
        enum amx_status st = amx_idx_read_labels(path, 0, &l, &n, &err);
        assert_refused(st, &err, path, v->words, v->name);
        ck_assert_msg(l == NULL && n == 0, "%s: half-returned", v->name);
        free(path);
    }
    /* an image file where labels are expected, and the other way round */
    uint8_t *l = NULL;
    size_t n = 0;
    struct amx_error err = {0};
    assert_refused(amx_idx_read_labels(FIX_RAW, 0, &l, &n, &err), &err, FIX_RAW, "dimension",
                   "images as labels");
    struct amx_images im = {0};
    assert_refused(amx_idx_read_images(FIX_LAB_GZ, 0, &im, &err), &err, FIX_LAB_GZ, "dimension",
                   "labels as images");
    tu_rmtree(dir);
    free(dir);
    free(good);
}
END_TEST

/* Images of pseudo-random bytes (incompressible: deflate stores them), so a
 * gzip file of 1,000 of them is ~785 kB and read in several pieces. */
static unsigned char *noise_idx(size_t n, size_t *len)
{
    *len = 16 + n * 784;
    unsigned char *b = malloc(*len);
    ck_assert_ptr_nonnull(b);
    static const unsigned char head[8] = {0, 0, 8, 3, 0, 0, 0, 0};
    memcpy(b, head, 8);
    put_be32(b + 4, (uint32_t)n);
    put_be32(b + 8, 28);
    put_be32(b + 12, 28);
    uint32_t x = 12345u;
    for (size_t i = 16; i < *len; i++) {
        x = x * 1664525u + 1013904223u;
        b[i] = (unsigned char)(x >> 24);
    }
    return b;
}

/* How a good gzip file is spoilt: cut its last `cut` bytes, xor the byte at
 * `flip` (from the start; 0: none) with 0x01, then append `extra` bytes of
 * `fill` (or, when fill is -1, a second gzip member holding nothing). */
struct gz_spoil {
    const char *name;
    size_t cut;
    size_t flip; /* SIZE_MAX: the middle of the file */
    size_t extra;
    int fill;
    const char *words; /* the message must contain this; NULL: must be read fine */
};

static const struct gz_spoil gz_spoils[] = {
    {"intact", 0, 0, 0, 0, NULL},
    {"empty-second-member", 0, 0, 0, -1, NULL}, /* RFC 1952 allows it: `cat a.gz b.gz` */
    {"trailer-cut-1", 1, 0, 0, 0, "truncated gzip"},
    {"trailer-cut-4", 4, 0, 0, 0, "truncated gzip"},
    {"trailer-cut-8", 8, 0, 0, 0, "truncated gzip"},
    {"flip-and-trailer-cut", 8, SIZE_MAX, 0, 0, "truncated gzip"},
    {"flip-and-cut-1", 1, SIZE_MAX, 0, 0, "CRC-32"}, /* the CRC is still there */
    {"flip", 0, SIZE_MAX, 0, 0, "CRC-32"},
    {"zeros-after-1", 0, 0, 1, 0x00, "after the end of the gzip data"},
    {"zeros-after-4096", 0, 0, 4096, 0x00, "after the end of the gzip data"},
    {"garbage-after", 0, 0, 100, 0x2a, "after the end of the gzip data"},
    {"half-a-gzip-magic-after", 0, 0, 1, 0x1f, "truncated gzip"},
};

START_TEST(test_corrupt_gzip)
{
    size_t good_len = 0;
    unsigned char *good = noise_idx(1000, &good_len);
    char *dir = tu_tmpdir("data");
    ck_assert_ptr_nonnull(dir);
    char *gz = tu_fmt("%s/good.gz", dir), *empty = tu_fmt("%s/empty.gz", dir);
    ck_assert_int_eq(gzip_file(gz, good, good_len), 0);
    ck_assert_int_eq(gzip_file(empty, "", 0), 0);
    size_t gz_len = 0, empty_len = 0;
    unsigned char *gzb = (unsigned char *)tu_read_file(gz, &gz_len);
    unsigned char *eb = (unsigned char *)tu_read_file(empty, &empty_len);
    ck_assert_ptr_nonnull(gzb);
    ck_assert_ptr_nonnull(eb);
    ck_assert(gz_len > 700000); /* stored, not compressed: several reads */
    for (size_t k = 0; k < sizeof gz_spoils / sizeof gz_spoils[0]; k++) {
        const struct gz_spoil *v = &gz_spoils[k];
        size_t len = gz_len - v->cut, extra = v->fill < 0 ? empty_len : v->extra;
        unsigned char *b = malloc(len + extra);
        ck_assert_ptr_nonnull(b);
        memcpy(b, gzb, len);
        if (v->flip) b[v->flip == SIZE_MAX ? gz_len / 2 : v->flip] ^= 0x01;
        if (v->fill < 0)
            memcpy(b + len, eb, empty_len);
        else
            memset(b + len, v->fill, extra);
        char *path = tu_fmt("%s/%s.gz", dir, v->name);
        ck_assert_int_eq(tu_write_file(path, b, len + extra), 0);
        free(b);
        struct amx_images im = {.n = 3};
        struct amx_error err = {0};
        enum amx_status st = amx_idx_read_images(path, 0, &im, &err);
        if (!v->words) {
            ck_assert_msg(st == AMX_OK, "%s: %s", v->name, err.msg);
            ck_assert_uint_eq(im.n, 1000);
            for (size_t i = 0; i < 1000 * 784; i++)
                if (im.x[i] != (float)good[16 + i] / 255.0f)
                    ck_abort_msg("%s: pixel %zu differs", v->name, i);
            amx_images_free(&im);
        } else {
            assert_refused(st, &err, path, v->words, v->name);
            ck_assert_msg(im.x == NULL && im.n == 0, "%s: half-returned", v->name);
            /* a limit does not let it through: the file is read to its end */
            memset(&err, 0, sizeof err);
            st = amx_idx_read_images(path, 10, &im, &err);
            assert_refused(st, &err, path, v->words, v->name);
        }
        free(path);
    }
    /* labels go through the same reader: a cut trailer of a label file */
    static const unsigned char labels[13] = {0, 0, 8, 1, 0, 0, 0, 5, 7, 0, 9, 3, 255};
    char *lab = tu_fmt("%s/labels.gz", dir);
    ck_assert_int_eq(gzip_file(lab, labels, sizeof labels), 0);
    size_t llen = 0;
    unsigned char *lb = (unsigned char *)tu_read_file(lab, &llen);
    ck_assert_ptr_nonnull(lb);
    ck_assert_int_eq(tu_write_file(lab, lb, llen - 1), 0);
    uint8_t *l = lb;
    size_t n = 9;
    struct amx_error err = {0};
    assert_refused(amx_idx_read_labels(lab, 0, &l, &n, &err), &err, lab, "truncated gzip",
                   "labels cut");
    ck_assert(l == NULL && n == 0);
    free(lb);
    free(lab);
    free(gzb);
    free(eb);
    free(gz);
    free(empty);
    free(good);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

/* A FIFO blocks at open and read, a device never ends, a folder cannot be
 * read: all are refused at once, by what they are (the TCase's timeout
 * catches a reader that blocks). */
START_TEST(test_not_regular)
{
    char *dir = tu_tmpdir("data");
    ck_assert_ptr_nonnull(dir);
    char *fifo = tu_fmt("%s/fifo-idx3-ubyte", dir);
    ck_assert_int_eq(mkfifo(fifo, 0600), 0);
    const char *paths[3] = {fifo, dir, "/dev/zero"};
    const char *words[3] = {"is a FIFO", "is a directory", "is a character device"};
    for (int k = 0; k < 3; k++) {
        struct stat sb;
        if (stat(paths[k], &sb) != 0) continue; /* no /dev/zero here */
        struct amx_images im = {.n = 1};
        struct amx_error err = {0};
        time_t t0 = time(NULL);
        assert_refused(amx_idx_read_images(paths[k], 0, &im, &err), &err, paths[k], words[k],
                       words[k]);
        ck_assert(strstr(err.msg, "not a regular file") != NULL);
        ck_assert(im.x == NULL && im.n == 0);
        uint8_t *l = (uint8_t *)&err;
        size_t n = 1;
        assert_refused(amx_idx_read_labels(paths[k], 0, &l, &n, &err), &err, paths[k], words[k],
                       words[k]);
        ck_assert(l == NULL && n == 0);
        char hex[65] = "x";
        assert_refused(amx_file_sha256(paths[k], hex, &err), &err, paths[k], words[k], words[k]);
        ck_assert(hex[0] == '\0');
        ck_assert_msg(time(NULL) - t0 <= 2, "%s: took %lld s", paths[k],
                      (long long)(time(NULL) - t0));
    }
    /* a symbolic link to a regular file is that file */
    char *link = tu_fmt("%s/link-idx3-ubyte.gz", dir);
    ck_assert_int_eq(symlink(FIX_GZ, link), 0);
    struct amx_images a = {0}, b = {0};
    struct amx_error err = {0};
    ck_assert_int_eq(amx_idx_read_images(link, 0, &a, &err), AMX_OK);
    ck_assert_int_eq(amx_idx_read_images(FIX_GZ, 0, &b, &err), AMX_OK);
    ck_assert_str_eq(a.sha256, b.sha256);
    amx_images_free(&a);
    amx_images_free(&b);
    free(link);
    tu_rmtree(dir);
    free(dir);
    free(fifo);
}
END_TEST

START_TEST(test_pair)
{
    struct amx_images im = {0};
    struct amx_error err = {0};
    uint8_t *l = NULL;
    size_t n = 0;
    ck_assert_int_eq(amx_idx_read_images(FIX_GZ, 0, &im, &err), AMX_OK);
    ck_assert_int_eq(amx_idx_read_labels(FIX_LAB_RAW, 0, &l, &n, &err), AMX_OK);
    assert_refused(amx_idx_check_pair(FIX_GZ, im.n, FIX_LAB_RAW, n, &err), &err, FIX_LAB_RAW,
                   "300 images", "pair");
    ck_assert(strstr(err.msg, FIX_GZ) != NULL && strstr(err.msg, "20 labels") != NULL);
    free(l);
    ck_assert_int_eq(amx_idx_read_labels(FIX_LAB_GZ, 0, &l, &n, &err), AMX_OK);
    ck_assert_int_eq(amx_idx_check_pair(FIX_GZ, im.n, FIX_LAB_GZ, n, &err), AMX_OK);
    free(l);
    amx_images_free(&im);
}
END_TEST

static Suite *data_suite(void)
{
    Suite *s = suite_create("data");
    TCase *tc = tcase_create("idx");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_fixture_gz);
    tcase_add_test(tc, test_fixture_raw_matches_gz);
    tcase_add_test(tc, test_handmade);
    tcase_add_test(tc, test_limits);
    tcase_add_test(tc, test_malformed_images);
    tcase_add_test(tc, test_malformed_labels);
    tcase_add_test(tc, test_pair);
    tcase_add_test(tc, test_corrupt_gzip);
    suite_add_tcase(s, tc);
    TCase *odd = tcase_create("not-regular");
    tcase_set_timeout(odd, 10); /* before the fix a FIFO blocked forever */
    tcase_add_test(odd, test_not_regular);
    suite_add_tcase(s, odd);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(data_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
