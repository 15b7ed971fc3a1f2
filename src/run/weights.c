/* runs/<id>/weights.npz (output.weights: true): the fine-tuned network
 * after its last epoch, in the form numpy.load reads (and so PyTorch, through
 * torch.from_numpy).
 *
 * Names and orientation follow torch.nn.Linear: for a network of sizes
 * s_0 .. s_{L-1}, the encoder's layers are "encoder.K.weight" with shape
 * (s_K, s_{K-1}) and "encoder.K.bias" with shape (s_K,), K = 1 .. L-1, and
 * the decoder's "decoder.K.weight" (s_{L-1-K}, s_{L-K}) and
 * "decoder.K.bias", K = 1 .. L-1 from the code back to the image; a layer
 * computes y = f(x @ weight.T + bias). A classifier's layers are named as
 * the state_dict of torch.nn.Sequential(Linear, unit, Linear, unit, ...,
 * Linear) names them: layer l (1-based) is "{2(l-1)}.weight" (out, in) and
 * "{2(l-1)}.bias", the last one the softmax layer's logits (softmax itself
 * is in the loss, as in torch.nn.CrossEntropyLoss). float32, little-endian,
 * C order. The units (f) are in the run's config.yaml (network.hidden,
 * code, output).
 *
 * The file is a zip archive of .npy files, as numpy.savez writes it: each
 * member "NAME.npy" stored (not compressed) with its CRC-32 (zlib's crc32),
 * then the central directory and its end record (the zip format of PKWARE's
 * APPNOTE.TXT, 4.3: local file header, data, central directory header, end
 * of central directory record). Each .npy is format version 1.0: the magic
 * "\x93NUMPY", 1, 0, a little-endian 16-bit header length, and the header,
 * a Python dict literal padded with spaces and a newline to a multiple of 64
 * bytes. Written whole or not at all (amx_write_file_atomic). */
#define _POSIX_C_SOURCE 200809L
#include "internal.h"

#include "adamix/fsutil.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

static void put16(struct amx_buf *b, unsigned v)
{
    unsigned char c[2] = {(unsigned char)(v & 0xff), (unsigned char)((v >> 8) & 0xff)};
    amx_buf_append(b, (const char *)c, 2);
}

static void put32(struct amx_buf *b, uint32_t v)
{
    unsigned char c[4] = {(unsigned char)(v & 0xff), (unsigned char)((v >> 8) & 0xff),
                          (unsigned char)((v >> 16) & 0xff), (unsigned char)((v >> 24) & 0xff)};
    amx_buf_append(b, (const char *)c, 4);
}

/* One .npy file of a float32 array of shape (rows, cols), or (rows,) when
 * cols is 0, from src read as src[r * stride_r + c * stride_c]. */
static void npy(struct amx_buf *b, const float *src, size_t rows, size_t cols, size_t stride_r,
                size_t stride_c)
{
    char dict[160];
    if (cols)
        snprintf(dict, sizeof dict,
                 "{'descr': '<f4', 'fortran_order': False, 'shape': (%zu, %zu), }", rows, cols);
    else
        snprintf(dict, sizeof dict, "{'descr': '<f4', 'fortran_order': False, 'shape': (%zu,), }",
                 rows);
    size_t len = strlen(dict);
    size_t total = 10 + len + 1; /* magic 6, version 2, length 2, dict, newline */
    size_t pad = (64 - total % 64) % 64;
    amx_buf_append(b, "\x93NUMPY\x01\x00", 8);
    put16(b, (unsigned)(len + pad + 1));
    amx_buf_append(b, dict, len);
    for (size_t i = 0; i < pad; i++)
        amx_buf_append(b, " ", 1);
    amx_buf_append(b, "\n", 1);
    size_t n = cols ? cols : 1;
    for (size_t r = 0; r < rows; r++)
        for (size_t c = 0; c < n; c++) {
            float x = src[r * stride_r + c * stride_c];
            uint32_t u;
            memcpy(&u, &x, sizeof u);
            put32(b, u); /* little-endian whatever the host */
        }
}

struct member {
    char name[64];
    uint32_t crc, size, offset;
};

enum amx_status amx_write_weights_npz(const char *path, const struct amx_net *ae,
                                      struct amx_error *err)
{
    int L = ae->n_sizes, n = ae->n_layers;
    struct member m[2 * AMX_NN_MAX_DENSE];
    size_t nm = 0;
    struct amx_buf zip = {0};
    for (int l = 1; l <= n; l++) {
        const struct amx_dense *d = &ae->layer[l - 1];
        bool enc = l <= L - 1;
        int k = enc ? l : l - (L - 1);
        for (int bias = 0; bias <= 1; bias++) {
            struct amx_buf a = {0};
            if (bias)
                npy(&a, d->b, (size_t)d->out, 0, 1, 0);
            else /* stored in x out, written (out, in): element (o, i) = W[i * out + o] */
                npy(&a, d->W, (size_t)d->out, (size_t)d->in, 1, (size_t)d->out);
            struct member *e = &m[nm++];
            if (ae->classes) /* torch.nn.Sequential(Linear, unit, Linear, ..., Linear) */
                snprintf(e->name, sizeof e->name, "%d.%s.npy", 2 * (l - 1),
                         bias ? "bias" : "weight");
            else
                snprintf(e->name, sizeof e->name, "%s.%d.%s.npy", enc ? "encoder" : "decoder", k,
                         bias ? "bias" : "weight");
            if (a.failed || zip.len > UINT32_MAX - a.len - 128) {
                amx_buf_free(&a);
                amx_buf_free(&zip);
                return amx_fail(err, AMX_ERR_NOMEM, path, 0, 0,
                                "out of memory (or over 4 GiB) writing the weights");
            }
            e->crc = (uint32_t)crc32(0L, (const Bytef *)a.data, (uInt)a.len);
            e->size = (uint32_t)a.len;
            e->offset = (uint32_t)zip.len;
            size_t nl = strlen(e->name);
            put32(&zip, 0x04034b50); /* local file header */
            put16(&zip, 20);         /* version needed: 2.0 */
            put16(&zip, 0);          /* flags */
            put16(&zip, 0);          /* method: stored */
            put16(&zip, 0);          /* time */
            put16(&zip, 0x21);       /* date: 1980-01-01 */
            put32(&zip, e->crc);
            put32(&zip, e->size);
            put32(&zip, e->size);
            put16(&zip, (unsigned)nl);
            put16(&zip, 0); /* extra field length */
            amx_buf_append(&zip, e->name, nl);
            amx_buf_append(&zip, a.data, a.len);
            amx_buf_free(&a);
        }
    }
    uint32_t cd_start = (uint32_t)zip.len;
    for (size_t i = 0; i < nm; i++) {
        size_t nl = strlen(m[i].name);
        put32(&zip, 0x02014b50); /* central directory header */
        put16(&zip, 20);         /* made by: 2.0 */
        put16(&zip, 20);         /* needed */
        put16(&zip, 0);
        put16(&zip, 0);
        put16(&zip, 0);
        put16(&zip, 0x21);
        put32(&zip, m[i].crc);
        put32(&zip, m[i].size);
        put32(&zip, m[i].size);
        put16(&zip, (unsigned)nl);
        put16(&zip, 0); /* extra */
        put16(&zip, 0); /* comment */
        put16(&zip, 0); /* disk */
        put16(&zip, 0); /* internal attributes */
        put32(&zip, 0); /* external attributes */
        put32(&zip, m[i].offset);
        amx_buf_append(&zip, m[i].name, nl);
    }
    uint32_t cd_size = (uint32_t)zip.len - cd_start;
    put32(&zip, 0x06054b50); /* end of central directory */
    put16(&zip, 0);
    put16(&zip, 0);
    put16(&zip, (unsigned)nm);
    put16(&zip, (unsigned)nm);
    put32(&zip, cd_size);
    put32(&zip, cd_start);
    put16(&zip, 0);
    enum amx_status st = zip.failed ? amx_fail(err, AMX_ERR_NOMEM, path, 0, 0, "out of memory")
                                    : amx_write_file_atomic(path, zip.data, zip.len, err);
    amx_buf_free(&zip);
    return st;
}
