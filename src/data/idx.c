/* IDX files (the MNIST distribution format), plain or gzip-compressed, read
 * through zlib's gz* functions, which pass uncompressed files through
 * unchanged. The format: four magic bytes (0, 0, type, number of dimensions),
 * one big-endian 32-bit size per dimension, then the items, row-major. Only
 * type 0x08 (unsigned byte) is read.
 *
 * Every file is checked from its header to its last byte: the header must be
 * what the caller asked for, the data must be exactly as long as the header
 * says (no more, no less) and the gzip stream must decompress without error.
 * Memory grows with the data actually read, never with what a header claims,
 * so a lying header cannot make us allocate gigabytes. This file does not
 * know which images and labels belong together, nor what they are used for. */
#include "adamix/data.h"
#include "adamix/sha256.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define CHUNK (1u << 20)          /* bytes per gzread */
#define MAX_ITEM_BYTES (1u << 24) /* refuse absurd image sizes (MNIST: 784) */

/* An open IDX file. */
struct idx {
    const char *path;
    const char *kind; /* "image" or "label", for messages */
    gzFile gz;
    uint32_t dims[3];
    int ndims;
};

/* Reads up to len bytes; *got is what arrived. A short read is fine at the
 * end of the data; a gzip or system error is AMX_ERR_DATA here. */
static enum amx_status read_some(struct idx *f, void *buf, size_t len, size_t *got,
                                 struct amx_error *err)
{
    *got = 0;
    while (*got < len) {
        size_t want = len - *got;
        if (want > CHUNK) want = CHUNK;
        int r = gzread(f->gz, (char *)buf + *got, (unsigned)want);
        if (r > 0) *got += (size_t)r;
        if (r < 0 || (size_t)r < want) {
            int code = Z_OK;
            const char *msg = gzerror(f->gz, &code);
            /* zlib prefixes its message with the path, which err->path holds */
            size_t plen = strlen(f->path);
            if (msg && !strncmp(msg, f->path, plen) && !strncmp(msg + plen, ": ", 2))
                msg += plen + 2;
            if (code == Z_ERRNO)
                return amx_fail(err, AMX_ERR_DATA, f->path, 0, 0, "read error: %s",
                                strerror(errno));
            if (code == Z_BUF_ERROR)
                return amx_fail(err, AMX_ERR_DATA, f->path, 0, 0,
                                "truncated gzip data (%s): the file was cut short",
                                msg ? msg : "unexpected end of file");
            if (code != Z_OK)
                return amx_fail(err, AMX_ERR_DATA, f->path, 0, 0, "corrupt gzip data: %s",
                                msg ? msg : "unknown zlib error");
            return AMX_OK; /* end of file */
        }
    }
    return AMX_OK;
}

static uint32_t be32(const unsigned char *b)
{
    return ((uint32_t)b[0] << 24) | ((uint32_t)b[1] << 16) | ((uint32_t)b[2] << 8) | b[3];
}

/* Opens path and checks its header: magic (0, 0, 0x08, ndims) and sizes. */
static enum amx_status idx_open(struct idx *f, const char *path, const char *kind, int ndims,
                                struct amx_error *err)
{
    memset(f, 0, sizeof *f);
    f->path = path;
    f->kind = kind;
    f->ndims = ndims;
    errno = 0;
    f->gz = gzopen(path, "rb");
    if (!f->gz)
        return amx_fail(err, AMX_ERR_DATA, path, 0, 0, "cannot open %s file: %s", kind,
                        errno ? strerror(errno) : "out of memory");
    gzbuffer(f->gz, 1u << 17);

    const uint32_t expect = 0x00000800u | (uint32_t)ndims;
    unsigned char head[16];
    size_t hlen = 4 + 4 * (size_t)ndims, got;
    enum amx_status st = read_some(f, head, 4, &got, err);
    if (st) return st;
    if (got < 4)
        return amx_fail(err, AMX_ERR_DATA, path, 0, 0,
                        "not an IDX %s file: %zu bytes, shorter than the 4-byte magic", kind, got);
    uint32_t magic = be32(head);
    if (head[0] != 0 || head[1] != 0)
        return amx_fail(err, AMX_ERR_DATA, path, 0, 0,
                        "bad magic 0x%08x: not an IDX file (an IDX %s file starts 0x%08x)", magic,
                        kind, expect);
    if (head[2] != 0x08)
        return amx_fail(err, AMX_ERR_DATA, path, 0, 0,
                        "IDX data type 0x%02x is not supported (magic 0x%08x; expected 0x08, "
                        "unsigned bytes: magic 0x%08x)",
                        head[2], magic, expect);
    if (head[3] != ndims)
        return amx_fail(err, AMX_ERR_DATA, path, 0, 0,
                        "IDX file of %d dimension%s (magic 0x%08x%s), expected an IDX %s file of "
                        "%d (magic 0x%08x)",
                        head[3], head[3] == 1 ? "" : "s", magic,
                        magic == AMX_IDX_MAGIC_LABELS   ? ", labels"
                        : magic == AMX_IDX_MAGIC_IMAGES ? ", images"
                                                        : "",
                        kind, ndims, expect);
    st = read_some(f, head + 4, hlen - 4, &got, err);
    if (st) return st;
    if (got < hlen - 4)
        return amx_fail(err, AMX_ERR_DATA, path, 0, 0, "truncated IDX header: %zu of its %zu bytes",
                        4 + got, hlen);
    for (int d = 0; d < ndims; d++)
        f->dims[d] = be32(head + 4 + 4 * d);
    if (f->dims[0] == 0)
        return amx_fail(err, AMX_ERR_DATA, path, 0, 0, "contains no %ss (its header says 0)", kind);
    uint64_t item = 1;
    for (int d = 1; d < ndims; d++) {
        if (f->dims[d] == 0)
            return amx_fail(err, AMX_ERR_DATA, path, 0, 0, "dimension %d of its header is 0",
                            d + 1);
        item *= f->dims[d];
        if (item > MAX_ITEM_BYTES)
            return amx_fail(err, AMX_ERR_DATA, path, 0, 0,
                            "%s size %ux%u is implausible (more than %u bytes per %s)", kind,
                            f->dims[1], f->dims[2], MAX_ITEM_BYTES, kind);
    }
    return AMX_OK;
}

static void idx_close(struct idx *f)
{
    if (f->gz) gzclose_r(f->gz);
    f->gz = NULL;
}

/* A growing array of kept items, as floats (images) or bytes (labels). */
struct sink {
    int as_float;
    size_t item;     /* bytes per item */
    size_t cap, len; /* in items */
    void *data;
};

static int sink_reserve(struct sink *s, size_t items)
{
    if (items <= s->cap) return 0;
    size_t cap = s->cap ? s->cap : 1;
    while (cap < items)
        cap *= 2;
    size_t elem = s->as_float ? sizeof(float) : 1;
    void *p = realloc(s->data, cap * s->item * elem);
    if (!p) return -1;
    s->data = p;
    s->cap = cap;
    return 0;
}

/* Reads the items of an open file: keeps the first `keep` (all when 0) in
 * *sink, reads past the rest, and requires the file to end exactly there. */
static enum amx_status idx_read_items(struct idx *f, long limit, struct sink *sink,
                                      struct amx_error *err)
{
    uint64_t n = f->dims[0];
    if (limit < 0)
        return amx_fail(err, AMX_ERR_DATA, f->path, 0, 0, "limit of %ss must be >= 0 (got %ld)",
                        f->kind, limit);
    if ((uint64_t)limit > n)
        return amx_fail(err, AMX_ERR_DATA, f->path, 0, 0,
                        "holds %llu %ss, fewer than the %ld asked for", (unsigned long long)n,
                        f->kind, limit);
    uint64_t keep = limit ? (uint64_t)limit : n;
    if (keep > SIZE_MAX / sink->item / sizeof(float))
        return amx_fail(err, AMX_ERR_NOMEM, f->path, 0, 0, "%llu %ss do not fit in memory",
                        (unsigned long long)keep, f->kind);
    const uint64_t total = n * sink->item, keep_bytes = keep * sink->item;

    unsigned char *buf = malloc(CHUNK);
    if (!buf) return amx_fail(err, AMX_ERR_NOMEM, f->path, 0, 0, "out of memory");
    enum amx_status st = AMX_OK;
    uint64_t pos = 0; /* data bytes read so far */
    while (pos < total) {
        size_t want = total - pos < CHUNK ? (size_t)(total - pos) : CHUNK, got;
        st = read_some(f, buf, want, &got, err);
        if (st) goto out;
        /* keep the part of [pos, pos + got) below keep_bytes */
        if (pos < keep_bytes) {
            size_t use = keep_bytes - pos < got ? (size_t)(keep_bytes - pos) : got;
            size_t items = (size_t)((pos + use + sink->item - 1) / sink->item);
            if (sink_reserve(sink, items) != 0) {
                st = amx_fail(err, AMX_ERR_NOMEM, f->path, 0, 0, "out of memory reading %llu %ss",
                              (unsigned long long)keep, f->kind);
                goto out;
            }
            if (sink->as_float) {
                float *x = (float *)sink->data + pos;
                for (size_t i = 0; i < use; i++)
                    x[i] = (float)buf[i] / 255.0f;
            } else {
                memcpy((unsigned char *)sink->data + pos, buf, use);
            }
        }
        pos += got;
        if (got < want) {
            st = amx_fail(err, AMX_ERR_DATA, f->path, 0, 0,
                          "truncated: its header announces %llu %ss (%llu data bytes) but "
                          "the data ends after %llu bytes",
                          (unsigned long long)n, f->kind, (unsigned long long)total,
                          (unsigned long long)pos);
            goto out;
        }
    }
    /* the data must end where the header says */
    uint64_t extra = 0;
    for (;;) {
        size_t got;
        st = read_some(f, buf, CHUNK, &got, err);
        if (st) goto out;
        extra += got;
        if (got < CHUNK) break;
    }
    if (extra)
        st = amx_fail(err, AMX_ERR_DATA, f->path, 0, 0,
                      "%llu trailing byte%s after the %llu %ss its header announces",
                      (unsigned long long)extra, extra == 1 ? "" : "s", (unsigned long long)n,
                      f->kind);
    sink->len = (size_t)keep;
out:
    free(buf);
    return st;
}

enum amx_status amx_idx_read_images(const char *path, long limit, struct amx_images *out,
                                    struct amx_error *err)
{
    memset(out, 0, sizeof *out);
    struct idx f;
    struct sink sink = {.as_float = 1};
    enum amx_status st = idx_open(&f, path, "image", 3, err);
    if (st == AMX_OK) {
        sink.item = (size_t)f.dims[1] * f.dims[2];
        st = idx_read_items(&f, limit, &sink, err);
    }
    idx_close(&f);
    char hex[65];
    if (st == AMX_OK) st = amx_file_sha256(path, hex, err);
    if (st) {
        free(sink.data);
        return st;
    }
    out->n = sink.len;
    out->rows = f.dims[1];
    out->cols = f.dims[2];
    out->dim = sink.item;
    out->x = sink.data;
    memcpy(out->sha256, hex, sizeof hex);
    return AMX_OK;
}

void amx_images_free(struct amx_images *im)
{
    if (!im) return;
    free(im->x);
    memset(im, 0, sizeof *im);
}

enum amx_status amx_idx_read_labels(const char *path, long limit, uint8_t **labels, size_t *n,
                                    struct amx_error *err)
{
    *labels = NULL;
    *n = 0;
    struct idx f;
    struct sink sink = {.as_float = 0, .item = 1};
    enum amx_status st = idx_open(&f, path, "label", 1, err);
    if (st == AMX_OK) st = idx_read_items(&f, limit, &sink, err);
    idx_close(&f);
    if (st) {
        free(sink.data);
        return st;
    }
    *labels = sink.data;
    *n = sink.len;
    return AMX_OK;
}

enum amx_status amx_idx_check_pair(const char *images_path, size_t n_images,
                                   const char *labels_path, size_t n_labels, struct amx_error *err)
{
    if (n_images == n_labels) return AMX_OK;
    return amx_fail(err, AMX_ERR_DATA, labels_path, 0, 0,
                    "%zu labels, but %zu images in %s: the two files do not belong together",
                    n_labels, n_images, images_path);
}

enum amx_status amx_file_sha256(const char *path, char hex[65], struct amx_error *err)
{
    hex[0] = '\0';
    errno = 0;
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return amx_fail(err, AMX_ERR_DATA, path, 0, 0, "cannot open: %s",
                        errno ? strerror(errno) : "unknown error");
    unsigned char *buf = malloc(CHUNK);
    if (!buf) {
        fclose(fp);
        return amx_fail(err, AMX_ERR_NOMEM, path, 0, 0, "out of memory");
    }
    struct amx_sha256 s;
    amx_sha256_init(&s);
    size_t got;
    while ((got = fread(buf, 1, CHUNK, fp)) > 0)
        amx_sha256_update(&s, buf, got);
    int bad = ferror(fp);
    int saved = errno;
    fclose(fp);
    free(buf);
    if (bad)
        return amx_fail(err, AMX_ERR_DATA, path, 0, 0, "read error: %s",
                        saved ? strerror(saved) : "unknown error");
    uint8_t digest[32];
    amx_sha256_final(&s, digest);
    amx_sha256_to_hex(digest, hex);
    return AMX_OK;
}
