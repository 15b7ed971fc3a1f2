/* IDX files (the MNIST distribution format), plain or gzip-compressed. The
 * format: four magic bytes (0, 0, type, number of dimensions), one big-endian
 * 32-bit size per dimension, then the items, row-major. Only type 0x08
 * (unsigned byte) is read.
 *
 * Every file is checked from its first byte to its last: it must be a regular
 * file (a FIFO, a folder or a device such as /dev/zero is refused before any
 * read, as it could block or never end); the header must be what the caller
 * asked for; the data must be exactly as long as the header says (no more, no
 * less). A file starting with the gzip magic (1f 8b) is decompressed here with
 * zlib's inflate rather than gzread, because gzread lets three corruptions
 * through: a cut trailer (its CRC-32 and length never checked), bytes after
 * the last gzip member, and a short read taken for the end of the file. Here
 * every member must end with a matching trailer, the file must end right
 * after the last member (nothing but further gzip members may follow), and
 * the first read error stops the reading. The SHA-256 of the bytes on disk is
 * computed in the same pass. Memory grows with the data actually read, never
 * with what a header claims, so a lying header cannot make us allocate
 * gigabytes. This file does not know which images and labels belong
 * together, nor what they are used for. */
#define _POSIX_C_SOURCE 200809L
#include "adamix/data.h"
#include "adamix/sha256.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#define CHUNK (1u << 20)          /* bytes per read, in and out */
#define MAX_ITEM_BYTES (1u << 24) /* refuse absurd image sizes (MNIST: 784) */

/* An open IDX file: the file's bytes come into `in`; for a gzip file they
 * go through `z` on their way out of read_some. */
struct idx {
    const char *path;
    const char *kind; /* "image" or "label", for messages */
    int fd;
    uint64_t size;           /* of the file, from fstat */
    unsigned char *in;       /* CHUNK bytes of the file */
    size_t in_len, in_pos;   /* filled, used */
    unsigned char *out;      /* gzip: CHUNK bytes decompressed from `in` */
    size_t out_len, out_pos; /* filled, used */
    uint64_t in_total;       /* bytes read from the file so far */
    int in_eof;              /* read() said end of file */
    int gzip;                /* the file starts with the gzip magic */
    int z_live;              /* z needs inflateEnd */
    int member_done;         /* the last inflate ended a gzip member */
    int done;                /* no more input: end of file, all checked */
    z_stream z;
    struct amx_sha256 sha; /* of the bytes read from the file */
    uint32_t dims[3];
    int ndims;
};

/* What a path that is not a regular file is, for the message. */
static const char *file_type(mode_t m)
{
    if (S_ISDIR(m)) return "a directory";
    if (S_ISFIFO(m)) return "a FIFO (named pipe)";
    if (S_ISCHR(m)) return "a character device";
    if (S_ISBLK(m)) return "a block device";
    if (S_ISSOCK(m)) return "a socket";
    return "not a plain file";
}

/* Opens path for reading, refusing anything but a regular file. O_NONBLOCK
 * makes opening a FIFO without a writer return at once (it is then refused);
 * on a regular file it changes nothing. */
static enum amx_status open_regular(const char *path, const char *what, const char *expect,
                                    int *fd_out, uint64_t *size, struct amx_error *err)
{
    *fd_out = -1;
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (fd < 0)
        return amx_fail(err, AMX_ERR_DATA, path, 0, 0, "cannot open %s: %s", what, strerror(errno));
    struct stat sb;
    if (fstat(fd, &sb) != 0) {
        int e = errno;
        close(fd);
        return amx_fail(err, AMX_ERR_DATA, path, 0, 0, "cannot stat %s: %s", what, strerror(e));
    }
    if (!S_ISREG(sb.st_mode)) {
        close(fd);
        return amx_fail(err, AMX_ERR_DATA, path, 0, 0, "is %s, not a regular file (expected %s)",
                        file_type(sb.st_mode), expect);
    }
    *fd_out = fd;
    *size = (uint64_t)sb.st_size;
    return AMX_OK;
}

/* Reads the next bytes of the file into `in` (all of `in` has been used).
 * End of file sets in_eof; an error stops everything. */
static enum amx_status refill(struct idx *f, struct amx_error *err)
{
    f->in_len = f->in_pos = 0;
    for (;;) {
        ssize_t r = read(f->fd, f->in, CHUNK);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0)
            return amx_fail(err, AMX_ERR_DATA, f->path, 0, 0, "read error after %llu bytes: %s",
                            (unsigned long long)f->in_total, strerror(errno));
        if (r == 0) {
            f->in_eof = 1;
            return AMX_OK;
        }
        f->in_len = (size_t)r;
        f->in_total += (uint64_t)r;
        amx_sha256_update(&f->sha, f->in, (size_t)r);
        return AMX_OK;
    }
}

/* At the end of a gzip member with more bytes in the file: another member
 * (RFC 1952 allows several, `cat a.gz b.gz`) or trailing garbage. */
static enum amx_status next_member(struct idx *f, struct amx_error *err)
{
    if (f->in[f->in_pos] != 0x1f) {
        uint64_t at = f->in_total - (f->in_len - f->in_pos);
        uint64_t n = f->size > at ? f->size - at : 1;
        return amx_fail(err, AMX_ERR_DATA, f->path, 0, 0,
                        "%llu unexpected byte%s after the end of the gzip data (from byte %llu "
                        "of %llu; byte 0x%02x, not another gzip member): trailing garbage",
                        (unsigned long long)n, n == 1 ? "" : "s", (unsigned long long)at,
                        (unsigned long long)f->size, f->in[f->in_pos]);
    }
    if (inflateReset(&f->z) != Z_OK)
        return amx_fail(err, AMX_ERR_DATA, f->path, 0, 0, "corrupt gzip data: inflateReset failed");
    f->member_done = 0;
    return AMX_OK;
}

/* inflate's complaint, said in the terms of the gzip format (RFC 1952). */
static enum amx_status corrupt(struct idx *f, int r, struct amx_error *err)
{
    const char *msg = f->z.msg ? f->z.msg : zError(r);
    if (!strcmp(msg, "incorrect data check"))
        msg = "the CRC-32 in its trailer does not match the decompressed data";
    else if (!strcmp(msg, "incorrect length check"))
        msg = "the length in its trailer does not match the decompressed data";
    return amx_fail(err, AMX_ERR_DATA, f->path, 0, 0,
                    "corrupt gzip data (at or before byte %llu of %llu): %s",
                    (unsigned long long)(f->in_total - (f->in_len - f->in_pos)),
                    (unsigned long long)f->size, msg);
}

/* Decompresses the next bytes of a gzip file into `out` until it is full or
 * the file has ended. Filling a whole CHUNK before handing anything out
 * means a small corrupt file is reported as corrupt gzip, not by whatever
 * its first garbled bytes look like. */
static enum amx_status inflate_more(struct idx *f, struct amx_error *err)
{
    enum amx_status st;
    f->out_len = f->out_pos = 0;
    while (f->out_len < CHUNK && !f->done) {
        if (f->in_pos == f->in_len) {
            if ((st = refill(f, err))) return st;
            if (f->in_eof) {
                if (!f->member_done)
                    return amx_fail(err, AMX_ERR_DATA, f->path, 0, 0,
                                    "truncated gzip data: the file ends after %llu bytes, inside "
                                    "its gzip stream (expected the rest of the stream and its "
                                    "8-byte trailer with the CRC-32): the file was cut short",
                                    (unsigned long long)f->in_total);
                f->done = 1;
                break;
            }
        }
        if (f->member_done && (st = next_member(f, err))) return st;
        size_t avail = f->in_len - f->in_pos, room = CHUNK - f->out_len;
        /* both sizes are at most CHUNK, far below UINT_MAX */
        f->z.next_in = f->in + f->in_pos;
        f->z.avail_in = (uInt)avail;
        f->z.next_out = f->out + f->out_len;
        f->z.avail_out = (uInt)room;
        int r = inflate(&f->z, Z_NO_FLUSH);
        f->in_pos += avail - f->z.avail_in;
        f->out_len += room - f->z.avail_out;
        if (r == Z_STREAM_END)
            f->member_done = 1;
        else if (r == Z_MEM_ERROR)
            return amx_fail(err, AMX_ERR_NOMEM, f->path, 0, 0, "out of memory decompressing");
        else if (r != Z_OK && r != Z_BUF_ERROR) /* Z_BUF_ERROR: needs input, read on */
            return corrupt(f, r, err);
    }
    return AMX_OK;
}

/* Reads up to len bytes of (decompressed) data; *got is what arrived. Fewer
 * than len only at the end of the data, once the whole file has been read
 * and checked; anything wrong on the way is AMX_ERR_DATA. */
static enum amx_status read_some(struct idx *f, void *buf, size_t len, size_t *got,
                                 struct amx_error *err)
{
    enum amx_status st;
    *got = 0;
    while (*got < len) {
        const unsigned char *src;
        size_t *pos, avail;
        if (f->gzip) {
            if (f->out_pos == f->out_len) {
                if (f->done) break;
                if ((st = inflate_more(f, err))) return st;
                continue;
            }
            src = f->out + f->out_pos;
            pos = &f->out_pos;
            avail = f->out_len - f->out_pos;
        } else {
            if (f->in_pos == f->in_len) {
                if (f->done) break;
                if ((st = refill(f, err))) return st;
                f->done = f->in_eof;
                continue;
            }
            src = f->in + f->in_pos;
            pos = &f->in_pos;
            avail = f->in_len - f->in_pos;
        }
        size_t n = len - *got < avail ? len - *got : avail;
        memcpy((unsigned char *)buf + *got, src, n);
        *pos += n;
        *got += n;
    }
    return AMX_OK;
}

static uint32_t be32(const unsigned char *b)
{
    return ((uint32_t)b[0] << 24) | ((uint32_t)b[1] << 16) | ((uint32_t)b[2] << 8) | b[3];
}

/* Opens path and checks its header: magic (0, 0, 0x08, ndims) and sizes.
 * idx_close is needed afterwards, whatever this returns. */
static enum amx_status idx_open(struct idx *f, const char *path, const char *kind, int ndims,
                                struct amx_error *err)
{
    memset(f, 0, sizeof *f);
    f->path = path;
    f->kind = kind;
    f->ndims = ndims;
    f->fd = -1;
    amx_sha256_init(&f->sha);
    char what[32], expect[64];
    snprintf(what, sizeof what, "%s file", kind);
    snprintf(expect, sizeof expect, "an IDX %s file, plain or gzipped", kind);
    enum amx_status st = open_regular(path, what, expect, &f->fd, &f->size, err);
    if (st) return st;
    f->in = malloc(CHUNK);
    if (!f->in) return amx_fail(err, AMX_ERR_NOMEM, path, 0, 0, "out of memory");
    if ((st = refill(f, err))) return st;
    if (f->in_len >= 2 && f->in[0] == 0x1f && f->in[1] == 0x8b) {
        f->gzip = 1;
        /* 16 + MAX_WBITS: a gzip wrapper, its CRC-32 and length checked */
        if (inflateInit2(&f->z, 16 + MAX_WBITS) != Z_OK)
            return amx_fail(err, AMX_ERR_NOMEM, path, 0, 0, "out of memory (zlib)");
        f->z_live = 1;
        f->out = malloc(CHUNK);
        if (!f->out) return amx_fail(err, AMX_ERR_NOMEM, path, 0, 0, "out of memory");
    }

    const uint32_t expect_magic = 0x00000800u | (uint32_t)ndims;
    unsigned char head[16];
    size_t hlen = 4 + 4 * (size_t)ndims, got;
    st = read_some(f, head, 4, &got, err);
    if (st) return st;
    if (got < 4)
        return amx_fail(err, AMX_ERR_DATA, path, 0, 0,
                        "not an IDX %s file: %zu bytes, shorter than the 4-byte magic", kind, got);
    uint32_t magic = be32(head);
    if (head[0] != 0 || head[1] != 0)
        return amx_fail(err, AMX_ERR_DATA, path, 0, 0,
                        "bad magic 0x%08x: not an IDX file (an IDX %s file starts 0x%08x)", magic,
                        kind, expect_magic);
    if (head[2] != 0x08)
        return amx_fail(err, AMX_ERR_DATA, path, 0, 0,
                        "IDX data type 0x%02x is not supported (magic 0x%08x; expected 0x08, "
                        "unsigned bytes: magic 0x%08x)",
                        head[2], magic, expect_magic);
    if (head[3] != ndims)
        return amx_fail(err, AMX_ERR_DATA, path, 0, 0,
                        "IDX file of %d dimension%s (magic 0x%08x%s), expected an IDX %s file of "
                        "%d (magic 0x%08x)",
                        head[3], head[3] == 1 ? "" : "s", magic,
                        magic == AMX_IDX_MAGIC_LABELS   ? ", labels"
                        : magic == AMX_IDX_MAGIC_IMAGES ? ", images"
                                                        : "",
                        kind, ndims, expect_magic);
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

/* Closing a file opened for reading loses nothing, so close's status is not
 * an error here; the gzip stream's own end was checked by read_some. */
static void idx_close(struct idx *f)
{
    if (f->z_live) inflateEnd(&f->z);
    if (f->fd >= 0) close(f->fd);
    free(f->in);
    free(f->out);
    f->z_live = 0;
    f->fd = -1;
    f->in = f->out = NULL;
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
/* A limit of items against the count in the header (0: all). */
static enum amx_status check_limit(const struct idx *f, long limit, struct amx_error *err)
{
    if (limit < 0)
        return amx_fail(err, AMX_ERR_DATA, f->path, 0, 0, "limit of %ss must be >= 0 (got %ld)",
                        f->kind, limit);
    if ((uint64_t)limit > f->dims[0])
        return amx_fail(err, AMX_ERR_DATA, f->path, 0, 0,
                        "holds %llu %ss, fewer than the %ld asked for",
                        (unsigned long long)f->dims[0], f->kind, limit);
    return AMX_OK;
}

static enum amx_status idx_read_items(struct idx *f, long limit, struct sink *sink,
                                      struct amx_error *err)
{
    uint64_t n = f->dims[0];
    enum amx_status lst = check_limit(f, limit, err);
    if (lst) return lst;
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
        if (pos < keep_bytes && got > 0) { /* got > 0: no NULL + 0 on an empty sink */
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
    if (st) {
        free(sink.data);
        return st;
    }
    out->n = sink.len;
    out->rows = f.dims[1];
    out->cols = f.dims[2];
    out->dim = sink.item;
    out->x = sink.data;
    uint8_t digest[32]; /* of every byte of the file: it was read to its end */
    amx_sha256_final(&f.sha, digest);
    amx_sha256_to_hex(digest, out->sha256);
    return AMX_OK;
}

enum amx_status amx_idx_read_images_header(const char *path, long limit, struct amx_idx_header *out,
                                           struct amx_error *err)
{
    memset(out, 0, sizeof *out);
    struct idx f;
    enum amx_status st = idx_open(&f, path, "image", 3, err);
    if (st == AMX_OK) st = check_limit(&f, limit, err);
    idx_close(&f);
    if (st) return st;
    out->n_file = f.dims[0];
    out->n = limit ? (size_t)limit : f.dims[0];
    out->rows = f.dims[1];
    out->cols = f.dims[2];
    out->dim = (size_t)f.dims[1] * f.dims[2];
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
    int fd;
    uint64_t size;
    enum amx_status st = open_regular(path, "file", "a regular file", &fd, &size, err);
    if (st) return st;
    unsigned char *buf = malloc(CHUNK);
    if (!buf) {
        close(fd);
        return amx_fail(err, AMX_ERR_NOMEM, path, 0, 0, "out of memory");
    }
    struct amx_sha256 s;
    amx_sha256_init(&s);
    uint64_t total = 0;
    for (;;) {
        ssize_t r = read(fd, buf, CHUNK);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) {
            st = amx_fail(err, AMX_ERR_DATA, path, 0, 0, "read error after %llu bytes: %s",
                          (unsigned long long)total, strerror(errno));
            break;
        }
        if (r == 0) break;
        amx_sha256_update(&s, buf, (size_t)r);
        total += (uint64_t)r;
    }
    close(fd);
    free(buf);
    if (st) return st;
    uint8_t digest[32];
    amx_sha256_final(&s, digest);
    amx_sha256_to_hex(digest, hex);
    return AMX_OK;
}
