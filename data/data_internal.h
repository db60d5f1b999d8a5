/* data/data_internal.h — what the data/ readers share and nobody else sees:
 * overflow-checked element counts against the size cap, shape text for
 * messages, decoding of raw numeric elements into float32, the gzip
 * inflater's "first bytes only" mode used by the IDX reader, the file
 * opening behind fl_file_read_ex, and each reader's part of
 * fl_data_load_bound (what it allocates, from a file's first bytes). */
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
  FL__ELEM_F16, /* IEEE 754 binary16 (NumPy float16) */
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

/* ---- fl_data_load_bound: each reader's share ---------------------------
 * Each returns in *bytes an upper bound of what its parser allocates at its
 * peak, not counting the file buffer the caller holds, from the file's
 * first bytes (head, head_len) and its size; and refuses, with the parser's
 * own message, what the parser would refuse from those bytes. */

/* numpy.lib.format's _MAX_HEADER_SIZE: np.load refuses longer header dicts
 * (numpy >= 1.24); ours, of 8 dimensions at most, need under 300 bytes. */
#define FL__NPY_HEADER_MAX 10000

/* The first bytes of a .npy file that hold all of any header we accept:
 * the 12-byte preamble of format 2.0/3.0 and the longest header dict. */
#define FL__NPY_HEAD_MAX (12 + FL__NPY_HEADER_MAX)

/* The longest IDX header: magic, type, ndim, and 4 bytes per dimension. */
#define FL__IDX_HEADER_MAX (4 + 4 * FL_DATA_MAX_NDIM)

/* The first bytes of a CSV file read for its header: MNIST as CSV (785
 * columns "pixel0".."pixel783") needs 7 KB; a longer header makes the
 * bound fall back to the file's size alone (looser, still a bound). */
#define FL__CSV_HEAD_PEEK (64 * 1024)

/* What zlib's inflate allocates: zconf.h gives 1 << windowBits (32 KiB for
 * the 15 we use) plus about 7 KB of state; rounded up. */
#define FL__ZLIB_INFLATE_BYTES (64 * 1024)

int fl__npy_load_bound(const uint8_t *head, size_t head_len, size_t file_len,
                       const char *name, uint64_t *bytes, fl_error *err);

/* head: the file's first bytes when plain, the first decompressed bytes
 * (fl__gzip_peek_fd) when gzip. */
int fl__idx_load_bound(const uint8_t *head, size_t head_len, size_t file_len,
                       bool gzip, const char *name, uint64_t *bytes,
                       fl_error *err);

int fl__csv_load_bound(const uint8_t *head, size_t head_len, size_t file_len,
                       const char *name, uint64_t *bytes, fl_error *err);

/* What a CSV of file_len bytes adds when its label column may hold class
 * names (fl_csv_options.class_names): the reader's names table. */
uint64_t fl__csv_names_bound(size_t file_len);

/* Rows that can start in the `rest` bytes after a header of ncols columns
 * (csv.c says why); the CSV reader never allocates more. */
size_t fl__csv_max_rows(size_t rest, size_t ncols);

/* Inflate the gzip file open on fd into out until `want` bytes are out (or
 * the data ends: *got < want), reading GZIP_PEEK_CHUNK bytes at a time,
 * following concatenated members as fl__inflate_gzip does. */
int fl__gzip_peek_fd(int fd, const char *name, uint8_t *out, size_t want,
                     size_t *got, fl_error *err);

#endif
