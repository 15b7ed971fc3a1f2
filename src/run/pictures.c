/* Pictures of a run, as Hinton & Salakhutdinov show them (Science 2006, Fig.
 * 2), written with libpng into the run folder:
 *
 *   gallery.png   the first 16 test images (top row), their reconstructions
 *                 by the unrolled network before fine-tuning (epoch 0, middle
 *                 row) and after the last epoch (bottom row); 8-bit grey,
 *                 each pixel intensity * 255, every image scaled 2x;
 *   filters.png   the first layer's weights after the last epoch as a
 *                 mosaic of image-shaped tiles, one per hidden unit (the
 *                 first 100 units, 10 per row, unscaled), each tile scaled
 *                 alone to its own largest |w|: grey 128 is 0, white +max,
 *                 black -max.
 *
 * A classifier's run draws, besides filters.png:
 *
 *   confusion.png      the test set's confusion matrix, a 16x16 cell per
 *                      (true class, row; predicted class, column), black for
 *                      the whole row's images, white for none (confusion.csv
 *                      holds the counts);
 *   misclassified.png  the first misclassified test images (at most 32, 16
 *                      per row, scaled 2x), in test-set order
 *                      (misclassified.csv lists their indices, true and
 *                      predicted classes).
 *
 * The tiles take the image shape of the data (rows x cols of the IDX file);
 * no filters are drawn when the first layer's size is not rows * cols. Both
 * files go through amx_write_file_atomic (libpng writes into memory). The
 * run module writes them for the first repeat of each sweep point only. */
#define _POSIX_C_SOURCE 200809L
#include "internal.h"

#include "adamix/fsutil.h"

#include <math.h>
#include <png.h>
#include <stdlib.h>
#include <string.h>

struct mem {
    struct amx_buf *b;
};

static void png_to_buf(png_structp png, png_bytep data, png_size_t len)
{
    struct mem *m = png_get_io_ptr(png);
    amx_buf_append(m->b, (const char *)data, len);
}

static void png_flush_none(png_structp png)
{
    (void)png;
}

/* Encodes a w x h 8-bit grey image (row-major) as PNG into *out. */
static bool encode_grey(const unsigned char *pix, size_t w, size_t h, struct amx_buf *out)
{
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    if (!png) return false;
    png_infop info = png_create_info_struct(png);
    png_bytep *rows = malloc(h * sizeof *rows);
    if (!info || !rows) {
        png_destroy_write_struct(&png, info ? &info : NULL);
        free(rows);
        return false;
    }
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info);
        free(rows);
        return false;
    }
    struct mem m = {out};
    png_set_write_fn(png, &m, png_to_buf, png_flush_none);
    png_set_IHDR(png, info, (png_uint_32)w, (png_uint_32)h, 8, PNG_COLOR_TYPE_GRAY,
                 PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    for (size_t y = 0; y < h; y++)
        rows[y] = (png_bytep)(pix + y * w);
    png_set_rows(png, info, rows);
    png_write_png(png, info, PNG_TRANSFORM_IDENTITY, NULL);
    png_destroy_write_struct(&png, &info);
    free(rows);
    return !out->failed;
}

static enum amx_status write_png(const char *dir, const char *name, const unsigned char *pix,
                                 size_t w, size_t h, struct amx_error *err)
{
    char path[AMX_PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    struct amx_buf b = {0};
    enum amx_status st =
        encode_grey(pix, w, h, &b)
            ? amx_write_file_atomic(path, b.data, b.len, err)
            : amx_fail(err, AMX_ERR_NOMEM, path, 0, 0, "out of memory encoding the PNG");
    amx_buf_free(&b);
    return st;
}

#define SCALE 2
#define GAP 2

static unsigned char grey(double v)
{
    if (!(v > 0)) return 0; /* also NaN */
    if (v >= 1) return 255;
    return (unsigned char)lround(v * 255.0);
}

enum amx_status amx_write_gallery(const char *dir, const float *orig, const float *first,
                                  const float *last, size_t n, size_t rows, size_t cols,
                                  struct amx_error *err)
{
    if (n == 0 || rows == 0 || cols == 0) return AMX_OK;
    size_t tw = cols * SCALE, th = rows * SCALE;
    size_t W = n * tw + (n + 1) * GAP, H = 3 * th + 4 * GAP;
    unsigned char *pix = malloc(W * H);
    if (!pix) return amx_fail(err, AMX_ERR_NOMEM, dir, 0, 0, "out of memory for gallery.png");
    memset(pix, 96, W * H); /* the gaps: dark grey */
    const float *src[3] = {orig, first, last};
    for (size_t r = 0; r < 3; r++)
        for (size_t k = 0; k < n; k++)
            for (size_t y = 0; y < th; y++)
                for (size_t x = 0; x < tw; x++) {
                    float v = src[r][k * rows * cols + (y / SCALE) * cols + x / SCALE];
                    pix[(GAP + r * (th + GAP) + y) * W + GAP + k * (tw + GAP) + x] = grey(v);
                }
    enum amx_status st = write_png(dir, "gallery.png", pix, W, H, err);
    free(pix);
    return st;
}

enum amx_status amx_write_filters(const char *dir, const struct amx_net *ae, size_t rows,
                                  size_t cols, struct amx_error *err)
{
    const struct amx_dense *d = &ae->layer[0];
    if ((size_t)d->in != rows * cols || rows == 0) return AMX_OK;
    size_t n = d->out < 100 ? (size_t)d->out : 100, per = 10;
    size_t nr = (n + per - 1) / per, nc = n < per ? n : per;
    size_t tw = cols, th = rows;
    size_t W = nc * tw + (nc + 1) * GAP, H = nr * th + (nr + 1) * GAP;
    unsigned char *pix = malloc(W * H);
    if (!pix) return amx_fail(err, AMX_ERR_NOMEM, dir, 0, 0, "out of memory for filters.png");
    memset(pix, 255, W * H);
    for (size_t u = 0; u < n; u++) {
        /* unit u's incoming weights: column u of W (in x out) */
        double m = 0;
        for (size_t i = 0; i < (size_t)d->in; i++) {
            double a = fabs(d->W[i * (size_t)d->out + u]);
            if (a > m) m = a;
        }
        size_t oy = GAP + (u / per) * (th + GAP), ox = GAP + (u % per) * (tw + GAP);
        for (size_t y = 0; y < th; y++)
            for (size_t x = 0; x < tw; x++) {
                double w = d->W[(y * cols + x) * (size_t)d->out + u];
                pix[(oy + y) * W + ox + x] = grey(m > 0 ? 0.5 + 0.5 * w / m : 0.5);
            }
    }
    enum amx_status st = write_png(dir, "filters.png", pix, W, H, err);
    free(pix);
    return st;
}

enum amx_status amx_write_image_row(const char *dir, const char *name, const float *images,
                                    size_t n, size_t rows, size_t cols, struct amx_error *err)
{
    if (n == 0 || rows == 0 || cols == 0) return AMX_OK;
    const size_t per = 16, tw = cols * SCALE, th = rows * SCALE;
    size_t nr = (n + per - 1) / per, nc = n < per ? n : per;
    size_t W = nc * tw + (nc + 1) * GAP, H = nr * th + (nr + 1) * GAP;
    unsigned char *pix = malloc(W * H);
    if (!pix) return amx_fail(err, AMX_ERR_NOMEM, dir, 0, 0, "out of memory for %s", name);
    memset(pix, 96, W * H);
    for (size_t k = 0; k < n; k++) {
        size_t oy = GAP + (k / per) * (th + GAP), ox = GAP + (k % per) * (tw + GAP);
        for (size_t y = 0; y < th; y++)
            for (size_t x = 0; x < tw; x++)
                pix[(oy + y) * W + ox + x] =
                    grey(images[k * rows * cols + (y / SCALE) * cols + x / SCALE]);
    }
    enum amx_status st = write_png(dir, name, pix, W, H, err);
    free(pix);
    return st;
}

enum amx_status amx_write_confusion_png(const char *dir, const long *counts, int C,
                                        struct amx_error *err)
{
    const size_t cell = 16, W = (size_t)C * cell + 2 * GAP, H = W;
    unsigned char *pix = malloc(W * H);
    if (!pix) return amx_fail(err, AMX_ERR_NOMEM, dir, 0, 0, "out of memory for confusion.png");
    memset(pix, 255, W * H);
    for (int t = 0; t < C; t++) {
        long total = 0;
        for (int p = 0; p < C; p++)
            total += counts[(size_t)t * C + p];
        for (int p = 0; p < C; p++) {
            /* black: every image of true class t predicted p; white: none */
            double share = total > 0 ? (double)counts[(size_t)t * C + p] / (double)total : 0;
            unsigned char g = grey(1.0 - share);
            for (size_t y = 0; y < cell; y++)
                for (size_t x = 0; x < cell; x++)
                    pix[(GAP + (size_t)t * cell + y) * W + GAP + (size_t)p * cell + x] = g;
        }
    }
    enum amx_status st = write_png(dir, "confusion.png", pix, W, H, err);
    free(pix);
    return st;
}
