/* Datasets in the IDX format of MNIST (LeCun et al.), plain or gzip-compressed
 * (a gzip file is recognised by its magic bytes, not by its name, so
 * "x-idx3-ubyte" and "x-idx3-ubyte.gz" are equally fine). Only unsigned-byte
 * IDX files are read: images (magic 0x00000803, three dimensions: count,
 * rows, columns) and labels (magic 0x00000801, one dimension: count).
 *
 *     struct amx_images im = {0};
 *     struct amx_error err = {0};
 *     if (amx_idx_read_images("data/mnist/t10k-images-idx3-ubyte.gz", 2000, &im, &err))
 *         return err.code;                  // AMX_ERR_DATA, err.path names the file
 *     // im.n = 2000 images of im.rows x im.cols = im.dim floats in [0,1]
 *     amx_images_free(&im);
 *
 * Only regular files are read (or links to them): a FIFO, a folder or a
 * device such as /dev/zero is refused before anything is read, saying what
 * the path is. A file is read to its end even when fewer items are asked
 * for, so a truncated file, trailing bytes of the IDX data and corrupt gzip
 * data are always refused (AMX_ERR_DATA, with err->path the file and
 * err->msg the problem). A gzip file must end with the trailer of its last
 * member (its CRC-32 and length are checked), and nothing but further gzip
 * members may follow a member: a cut trailer and garbage or zeros after the
 * stream are refused too. Reading stops at the first read error. On failure
 * nothing is returned: out-structs stay zeroed and out-pointers NULL. */
#ifndef ADAMIX_DATA_H
#define ADAMIX_DATA_H

#include "adamix/error.h"

#include <stddef.h>
#include <stdint.h>

#define AMX_IDX_MAGIC_IMAGES 0x00000803u
#define AMX_IDX_MAGIC_LABELS 0x00000801u

struct amx_images {
    size_t n;          /* images kept (the limit, or all of the file) */
    size_t rows, cols; /* of every image */
    size_t dim;        /* rows * cols */
    float *x;          /* n * dim, row-major per image: byte / 255, in [0,1] */
    char sha256[65];   /* of the file's bytes as stored on disk (compressed or not) */
};

/* Reads the first `limit` images of an IDX image file (all of them when limit
 * is 0). A limit above the file's count, a negative limit, and a file of zero
 * images are AMX_ERR_DATA too. Out of memory is AMX_ERR_NOMEM. */
enum amx_status amx_idx_read_images(const char *path, long limit, struct amx_images *out,
                                    struct amx_error *err);

/* What the header of an IDX image file says, for checks that need no
 * pixels (adamix-run validate). */
struct amx_idx_header {
    size_t n_file;     /* images the header announces */
    size_t n;          /* images a read with the same limit would keep */
    size_t rows, cols; /* of every image */
    size_t dim;        /* rows * cols */
};

/* Opens an IDX image file and checks its header only, as amx_idx_read_images
 * does (regular file, magic, type, dimensions, a plausible image size, the
 * limit against the count), with the same AMX_ERR_DATA messages; the data
 * after the header are not read (so a truncated or corrupt body is found only
 * by amx_idx_read_images). On failure *out stays zeroed. */
enum amx_status amx_idx_read_images_header(const char *path, long limit, struct amx_idx_header *out,
                                           struct amx_error *err);

/* Frees the pixels and zeroes the struct; safe on a zeroed or freed struct. */
void amx_images_free(struct amx_images *im);

/* Reads the first `limit` labels (all when 0) of an IDX label file into a
 * malloc'ed array (*labels, *n). Label values are not checked (MNIST uses
 * 0..9; any byte is valid IDX). */
enum amx_status amx_idx_read_labels(const char *path, long limit, uint8_t **labels, size_t *n,
                                    struct amx_error *err);

/* The readers do not know which images file a labels file belongs to: a
 * caller using both checks that the counts agree with this (AMX_ERR_DATA
 * naming both files, err->path the labels file, when they differ). Compare
 * counts read with the same limit, or the whole files' counts. */
enum amx_status amx_idx_check_pair(const char *images_path, size_t n_images,
                                   const char *labels_path, size_t n_labels, struct amx_error *err);

/* SHA-256 of a regular file's bytes as 64 lower-case hex digits (AMX_ERR_DATA
 * when it cannot be read or is not a regular file). */
enum amx_status amx_file_sha256(const char *path, char hex[65], struct amx_error *err);

#endif
