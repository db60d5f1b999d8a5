/* data/data_internal.h — what the data/ readers share and nobody else sees:
 * overflow-checked element counts against the size cap, shape text for
 * messages, decoding of raw numeric elements into float32, and the gzip
 * inflater's "first bytes only" mode used by the IDX reader. */
#ifndef FL_DATA_INTERNAL_H
#define FL_DATA_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "flatline/data.h"

/* The name used in messages: callers may pass NULL when they have none. */
static inline const char *fl__name(const char *name) {
  return (name && *name) ? name : "(unnamed)";
}

/* *out = a * b; false (and *out untouched) when it overflows size_t. */
static inline bool fl__mul_size(size_t a, size_t b, size_t *out) {
  if (a != 0 && b > SIZE_MAX / a) return false;
  *out = a * b;
  return true;
}

/* 2^24: float32's 24-bit significand holds every integer of smaller
 * magnitude exactly; from there on integers round (2^31 - 1 becomes 2^31),
 * so a class id read as float32 is only trusted below it. */
#define FL__FLOAT_EXACT_INT 16777216.0

/* Room for 8 dimensions of 20 digits with separators. */
#define FL__SHAPE_TEXT_MAX 200

/* Shape as text: python style "(60000, 784)" / "(5,)" when `python`, else
 * IDX style "60000x28x28". Always NUL-terminated. */
void fl__shape_text(char *buf, size_t cap, int ndim, const size_t *shape,
                    bool python);

/* Product of shape[0..ndim) into *count. FL_ETOOBIG, naming the file and
 * shape_text, when the product overflows or when count float32 values
 * would exceed FL_DATA_MAX_BYTES: checked before anything is allocated. */
int fl__count_elements(int ndim, const size_t *shape, const char *name,
                       const char *shape_text, size_t *count, fl_error *err);

/* malloc a->data for a->count floats (at least one, so that an empty array
 * still owns a pointer); FL_ENOMEM naming the file. */
int fl__array_alloc(fl_array *a, const char *name, fl_error *err);

/* Element types the binary readers decode. */
typedef enum {
  FL__ELEM_U8,
  FL__ELEM_I8,
  FL__ELEM_BOOL,
  FL__ELEM_I16,
  FL__ELEM_U16,
  FL__ELEM_I32,
  FL__ELEM_U32,
  FL__ELEM_I64,
  FL__ELEM_U64,
  FL__ELEM_F32,
  FL__ELEM_F64,
} fl__elem;

size_t fl__elem_size(fl__elem t);
bool fl__elem_integral(fl__elem t);

/* Decode count elements of type t at src (count * size bytes, any
 * alignment, big- or little-endian) into dst (count) float32. Integers
 * convert to the nearest float; bool bytes are 0 -> 0, anything else -> 1.
 * A finite f64 beyond float32's range is FL_EDATA (naming the element)
 * rather than a silent infinity; NaN and Inf pass through unchanged. */
int fl__decode_elements(const uint8_t *src, size_t count, fl__elem t,
                        bool big_endian, float *dst, const char *name,
                        fl_error *err);

/* Inflate gzip data (one or more members) at buf into a malloc'd *out of at
 * most max_out bytes. With head_only, stop quietly once max_out bytes are
 * out (or the data ends): a peek at a header. Without it, more output than
 * max_out, or than fl__gzip_ratio_limit(len), is FL_ETOOBIG, found without
 * allocating past either. */
int fl__inflate_gzip(const uint8_t *buf, size_t len, const char *name,
                     size_t max_out, bool head_only, uint8_t **out,
                     size_t *out_len, fl_error *err);

/* The most bytes compressed_len bytes of gzip may inflate to:
 * max(FL_GZIP_MAX_RATIO * compressed_len, FL_GZIP_RATIO_FLOOR). */
size_t fl__gzip_ratio_limit(size_t compressed_len);

/* FL_ETOOBIG: "name: N bytes of gzip data inflate to [more than] M bytes,
 * a ratio of [over] R:1, over the limit ..."; more_than when inflating was
 * stopped at M rather than M declared by a header. */
int fl__gzip_ratio_error(const char *name, size_t out_bytes, bool more_than,
                         size_t compressed_len, fl_error *err);

/* Open path for reading as fl_file_read_ex does with `flags` (file.c), and
 * fstat it into *st. regular_only refuses anything but a regular file even
 * without FL_READ_NOFOLLOW (and opens with O_NONBLOCK, so a FIFO cannot
 * hang it). Directories are always refused. *fd is the caller's to close. */
int fl__file_open(const char *path, unsigned flags, bool regular_only,
                  int *fd, struct stat *st, fl_error *err);

/* Read up to `want` bytes from the start of fd into buf; *got < want only
 * at the end of the file. */
int fl__file_read_head(int fd, const char *path, uint8_t *buf, size_t want,
                       size_t *got, fl_error *err);

#endif
