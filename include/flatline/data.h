/* flatline/data.h — dataset readers (.npy, CSV, IDX, gzip) and dataset
 * statistics.
 *
 * Readers parse bytes already in memory (the daemon holds uploaded blobs,
 * and never opens a path a client sent); fl_file_read(_ex) and
 * fl_data_load_bound are the only functions that touch the file system.
 * Every error names the file (the `name` argument) and where it broke.
 * Sizes are capped before any allocation. */
#ifndef FLATLINE_DATA_H
#define FLATLINE_DATA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "flatline/common.h"

#ifdef __cplusplus
extern "C" {
#endif

#define FL_DATA_MAX_BYTES ((size_t)4 << 30)    /* one file, decompressed */
#define FL_DATA_MAX_NDIM 8
#define FL_DATA_MAX_CLASSES 65536
/* The longest class name a CSV label column may hold, in bytes (UTF-8).
 * Keras' StringLookup has no limit; 64 holds any label a person types
 * and keeps the names table of FL_DATA_MAX_CLASSES names at about 4 MiB. */
#define FL_CLASS_NAME_MAX 64

/* Gzip input may inflate to at most FL_GZIP_MAX_RATIO times its compressed
 * size, or to FL_GZIP_RATIO_FLOOR bytes, whichever is more; past that the
 * inflate stops (before allocating more) with FL_ETOOBIG. Deflate's own
 * ceiling is about 1032:1, so without this cap a file costs up to 1032
 * times its size in inflated bytes, and 4 times that again as float32: a
 * 261 KB IDX file of zeros became 1.3 GB.
 * Measured ratios of real data: MNIST train-images 4.7:1, Fashion-MNIST
 * images 1.8:1 and labels 2.0:1; among sparse data, one-hot f32 labels of
 * 10 classes 44:1 and a 1%-dense u8 bag of words 54:1 (gzip -9). 64 admits
 * all of these. Sparser files (one-hot f32 over 100 classes, about 240:1)
 * are refused above the floor; stored uncompressed they load as usual.
 * The floor keeps small files, which compress far beyond any ratio (a
 * label file of one class, ~500:1), from ever being refused: 16 MiB holds
 * MNIST's label files 250 times over and costs at most 16 MiB + 64 MiB of
 * float32, a small fraction of FL_DATA_MAX_BYTES. */
#define FL_GZIP_MAX_RATIO 64u
#define FL_GZIP_RATIO_FLOOR ((size_t)16 << 20)

/* A dense n-d array converted to float32, row-major (C order). */
typedef struct {
  int ndim;
  size_t shape[FL_DATA_MAX_NDIM];
  size_t count;   /* product of shape */
  float *data;    /* (shape...) row-major; malloc'd, owned */
  bool integral;  /* source dtype was an integer type (or bool) */
  char dtype[8];  /* source dtype as in the file: "<f4", "u1", "idx-u8" ... */
  /* A CSV label column of class names: the distinct names, sorted
   * bytewise, each NUL-terminated, one after another (class id i is the
   * i-th); data holds the ids. Owned, else NULL. */
  char *class_names;
  size_t n_class_names;
} fl_array;

void fl_array_free(fl_array *a);

/* Flags of fl_file_read_ex and fl_data_load_bound. FL_READ_NOFOLLOW: open
 * with O_NOFOLLOW | O_NONBLOCK and accept only a regular file, so that a
 * link planted where a data file should be is not followed and a FIFO does
 * not hang the reader: a link is FL_EPERM "is a symbolic link; refused", a
 * FIFO, device or socket FL_EPERM "is not a regular file (a FIFO);
 * refused". Only the last component of the path is checked: links among
 * its directories are followed, so the caller must trust those. */
#define FL_READ_NOFOLLOW 1u
/* fl_data_load_bound only: the CSV is read with fl_csv_options.class_names
 * on, so its bound counts the class-names table too (see below). */
#define FL_BOUND_CLASS_NAMES 2u

/* Read a whole file into memory (max_bytes caps it). *buf is malloc'd, one
 * byte more than the file's size at open (so that EOF needs no grow). A
 * directory is FL_EIO; without FL_READ_NOFOLLOW links are followed and a
 * FIFO or device is read until EOF. */
int fl_file_read_ex(const char *path, size_t max_bytes, unsigned flags,
                    uint8_t **buf, size_t *len, fl_error *err);

/* fl_file_read_ex with flags 0 (links followed, FIFOs read). */
int fl_file_read(const char *path, size_t max_bytes, uint8_t **buf,
                 size_t *len, fl_error *err);

/* The forms of data file, by the reader that parses them. */
typedef enum { FL_FORM_NPY, FL_FORM_IDX, FL_FORM_CSV } fl_data_form;

/* An upper bound, in *bytes, of the peak host memory that loading the file
 * at path takes: fl_file_read_ex of it whole with max_bytes
 * FL_DATA_MAX_BYTES, then fl_npy_parse, fl_idx_parse (which inflates gzip
 * itself) or fl_csv_parse of the buffer. It counts everything those ask of
 * malloc at once: the file buffer, the inflated copy, the float32 array(s)
 * and the parsers' temporaries, a realloc as its old and new block held
 * together; the loaders never allocate past it (tests/test_data.c counts
 * their mallocs). Not counted: the allocator's own overhead, and what
 * fl_dataset_from_arrays adds after the load (4 bytes per row for id
 * labels, while both arrays are held).
 *
 * It opens the file as fl_file_read_ex does with `flags`, and refuses
 * anything but a regular file (a bound needs a size; O_NONBLOCK keeps a
 * FIFO from hanging it). It reads only the first bytes (a gzip IDX file:
 * inflates only its header, from 4 KiB of compressed bytes at a time) and
 * refuses, naming path, with the reader's own message
 * what the reader would refuse from those bytes and the size: a bad magic,
 * version or header dict, data bytes other than the header declares, a
 * gzip file whose header declares more than FL_GZIP_MAX_RATIO allows, a
 * file over FL_DATA_MAX_BYTES. Per form, with S the file's size:
 *   npy, plain IDX: S + 1 + 4 * elements;
 *   gzip IDX:       S + 1 + max(2 * inflated + 64 KiB of zlib state,
 *                               inflated + 4 * elements);
 *   CSV:            S + 1 + the header's names + 8 bytes per value that
 *                   the rows can hold, at most S / 2 values (a field takes
 *                   a byte and a separator): about 5 * S, or 12 * S when
 *                   the header does not end in the first 64 KiB. The
 *                   header is read with each of FL_CSV_DELIMITERS (the
 *                   spec's is not known here) and the largest taken; it
 *                   is refused only when all of them refuse it. With
 *                   FL_BOUND_CLASS_NAMES, + the class-names table of
 *                   min(S / 4 + 2, FL_DATA_MAX_CLASSES) names (a row with
 *                   a label column takes 4 bytes at least) at
 *                   2 * (FL_CLASS_NAME_MAX + 1) + 40 bytes each (data/csv.c
 *                   says what they hold): at most about 11 MiB more.
 * The bound is for the file as it is now; one that changes before it is
 * read is only held to fl_file_read_ex's max_bytes. */
int fl_data_load_bound(const char *path, fl_data_form form, unsigned flags,
                       uint64_t *bytes, fl_error *err);

/* If buf starts with the gzip magic, inflate it into a new malloc'd buffer
 * and set *is_gzip; otherwise leave *out NULL. The output is capped at
 * max_out and at the ratio cap above (FL_ETOOBIG naming the file, the ratio
 * and the limit), whichever is lower; neither is ever allocated past. */
int fl_gunzip(const uint8_t *buf, size_t len, const char *name,
              size_t max_out, uint8_t **out, size_t *out_len, bool *is_gzip,
              fl_error *err);

/* NumPy .npy, format 1.0/2.0/3.0, little-endian or byte-order-free dtypes
 * (f4, f8, u1, i1, b1, i2, u2, i4, u4, i8, u8), C order only; a header
 * dict of at most 10000 bytes, as np.load reads. */
int fl_npy_parse(const uint8_t *buf, size_t len, const char *name,
                 fl_array *out, fl_error *err);

/* IDX (MNIST) file, gzip-compressed or not. Type u8, i8, i16, i32, f32,
 * f64; big-endian as the format says. */
int fl_idx_parse(const uint8_t *buf, size_t len, const char *name,
                 fl_array *out, fl_error *err);

/* CSV with a header row. label_columns name header fields (or indices when
 * names[i] is NULL/"" and indices[i] >= 0). Every other column is a feature.
 * One label column: labels (N,) class ids (must be integers); several:
 * labels (N,K), one-hot or probabilities. Fields must be numbers; empty
 * fields, NUL bytes and ragged rows are errors naming line and column. */
int fl_csv_parse(const uint8_t *buf, size_t len, const char *name,
                 const char *const *label_names, const int *label_indices,
                 int n_labels, fl_array *features, fl_array *labels,
                 fl_error *err);

/* The CSV options of a data source ("header", "delimiter" in a spec). */
typedef enum {
  FL_CSV_HEADER_AUTO, /* a header unless every field of line 1 is a number */
  FL_CSV_HEADER_YES,
  FL_CSV_HEADER_NO,   /* columns named "0", "1", ... (pandas' header=None) */
} fl_csv_header;

/* The delimiters a CSV may use (a tab among them). */
#define FL_CSV_DELIMITERS ",;|\t"

typedef struct {
  fl_csv_header header;
  char delimiter; /* one of FL_CSV_DELIMITERS; 0 means ',' */
  /* One label column may hold class names instead of ids ("cat", "dog"):
   * decided by its first row; ids are given in sorted order of the names
   * (scikit-learn's LabelEncoder) and the names are kept in
   * labels->class_names. A column mixing numbers and names is FL_EDATA
   * naming the line; more than FL_DATA_MAX_CLASSES names or a name longer
   * than FL_CLASS_NAME_MAX bytes is FL_ETOOBIG. Off: names are errors. */
  bool class_names;
} fl_csv_options;

/* fl_csv_parse with options (NULL: header detected, ','). fl_csv_parse
 * itself always reads line 1 as the header and needs a label column;
 * here n_labels may be 0: every column is a feature and labels stays
 * empty (for predicting on unlabelled rows). */
int fl_csv_parse_ex(const uint8_t *buf, size_t len, const char *name,
                    const fl_csv_options *opt, const char *const *label_names,
                    const int *label_indices, int n_labels,
                    fl_array *features, fl_array *labels, fl_error *err);

typedef enum {
  FL_LABELS_IDS,   /* (N,) class ids */
  FL_LABELS_DENSE, /* (N,K) one-hot or probabilities */
} fl_label_kind;

/* Features and labels of one split, ready for training. */
typedef struct {
  size_t n;  /* rows */
  size_t d;  /* features per row */
  float *x;  /* (n, d) row-major, owned */
  fl_label_kind label_kind;
  size_t k;     /* FL_LABELS_DENSE: label width; FL_LABELS_IDS: 0 */
  int32_t *ids; /* (n) when FL_LABELS_IDS, owned */
  float *y;     /* (n, k) when FL_LABELS_DENSE, owned */
  /* After fl_dataset_standardize (training set only): the (d) means and
   * divisors applied, for the model's metadata; owned, else NULL. */
  float *norm_mean, *norm_std;
  /* Id labels read from class names: as fl_array's class_names (owned,
   * else NULL). */
  char *class_names;
  size_t n_class_names;
  /* The image a row holds, channels last, when the features file's header
   * says: (H, W, C) from features (N, H, W, C), (H, W, 1) from (N, H, W)
   * (IDX images, a 3-D .npy); all 0 from any other shape (2-D features,
   * a CSV). A conv model without input_shape takes it (see
   * fl_model_input_from_data); d = H*W*C when set. */
  size_t image_shape[3];
} fl_dataset;

/* The id of `name` among n sorted names (fl_array's class_names), or -1. */
long fl_class_name_id(const char *names, size_t n, const char *name);

/* Relabel ds, whose ids were read from class names of its own, with the
 * ids of the same names among `names` (n of them: the training set's, or
 * a model's "classes"), and drop ds's own names table. A name not among
 * them is FL_EDATA naming it and its first row (counted from 1, the
 * header not counted); ds with id labels (numbers) is FL_EDATA as well,
 * as is ds with names when n is 0. what says where the names come from
 * ("the training set"). ds is unchanged on error. */
int fl_dataset_map_names(fl_dataset *ds, const char *names, size_t n,
                         const char *what, const char *name, fl_error *err);

/* "normalize": "standardize": per-feature mean and population standard
 * deviation of train's rows (a constant feature: divisor 1), applied to
 * train and to val (may be NULL) as (x - mean) / std, and kept in train. */
int fl_dataset_standardize(fl_dataset *train, fl_dataset *val, fl_error *err);
/* x = (x - mean) / std row by row: the same transform on new data. */
void fl_dataset_apply_norm(fl_dataset *ds, const float *mean, const float *std);

/* Build a dataset from features (N, ...) flattened to (N, D) and labels
 * (N,), (N,1) → ids, or (N,K) → dense; features of 3 or 4 dimensions
 * also give image_shape. Takes ownership of both arrays'
 * data on success (they are left empty). scale multiplies features.
 * name_x / name_y name the files in errors. Id labels must be integers of
 * magnitude below 2^24 (past it float32 rounds them, so the value would not
 * be the file's); otherwise FL_EDATA naming the first bad row. Ids from
 * FL_DATA_MAX_CLASSES up to 2^24 load, for preflight to report. */
int fl_dataset_from_arrays(fl_array *features, fl_array *labels, float scale,
                           const char *name_x, const char *name_y,
                           fl_dataset *out, fl_error *err);

/* Training and validation rows must be the same image: FL_EDATA naming
 * both files and both shapes when train and val each carry an
 * image_shape and they differ (rows of equal width would otherwise be
 * read as the training set's image). No shape on either side: 0. */
int fl_dataset_check_images(const fl_dataset *train, const fl_dataset *val,
                            const char *name_train, const char *name_val,
                            fl_error *err);

/* Move the last `fraction` of rows of ds into a new dataset val (Keras'
 * validation_split: no shuffling before the split; val keeps ds's
 * image_shape). */
int fl_dataset_split_tail(fl_dataset *ds, double fraction, fl_dataset *val,
                          fl_error *err);

void fl_dataset_free(fl_dataset *ds);

/* What preflight looks at. Arrays are malloc'd and owned. */
typedef struct {
  size_t n, d;
  fl_label_kind label_kind;
  size_t k;               /* dense label width; ids: max id + 1 (0 if none),
                             even past FL_DATA_MAX_CLASSES */
  size_t n_classes;       /* length of class_counts: k, but for ids at most
                             FL_DATA_MAX_CLASSES (larger ids not counted) */
  uint64_t *class_counts; /* ids: rows per id; dense: rows per argmax */
  int64_t min_id, max_id; /* ids only */
  size_t n_negative_ids;  /* ids < 0 (not counted in class_counts) */
  size_t n_rows_bad_sum;  /* dense rows whose sum differs from 1 by > 1e-3 */
  size_t n_rows_negative; /* dense rows with a negative entry */
  size_t n_label_nonfinite; /* dense rows with NaN/Inf (counted nowhere else) */
  size_t n_nonfinite;     /* NaN/Inf features */
  float *feat_min, *feat_max, *feat_mean, *feat_std; /* (d) each, over finite
                             values; NaN where a feature has none; std ddof=0 */
  double abs_max;         /* max |x| over finite features */
  double mean_std;        /* mean of per-feature std */
} fl_dataset_stats;

int fl_dataset_stats_compute(const fl_dataset *ds, fl_dataset_stats *st,
                             fl_error *err);
void fl_dataset_stats_free(fl_dataset_stats *st);

#ifdef __cplusplus
}
#endif
#endif
