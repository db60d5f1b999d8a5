/* data/dataset.c — owns fl_dataset: building one from a features array and
 * a labels array (shape checks, id checks, scaling), the Keras-style tail
 * split into training and validation, and freeing. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data_internal.h"

/* Label layout read off the shape: (N,) or (N,1) ids, (N,K>=2) dense. */
static int label_layout(const fl_array *y, const char *name_y,
                        fl_label_kind *kind, size_t *k, fl_error *err) {
  char st[FL__SHAPE_TEXT_MAX];
  if (y->ndim == 1 || (y->ndim == 2 && y->shape[1] == 1)) {
    *kind = FL_LABELS_IDS;
    *k = 0;
    return 0;
  }
  if (y->ndim == 2 && y->shape[1] >= 2) {
    *kind = FL_LABELS_DENSE;
    *k = y->shape[1];
    return 0;
  }
  fl__shape_text(st, sizeof st, y->ndim, y->shape, true);
  return fl_error_set(err, FL_EDATA,
                      "%s: labels have shape %s; expected (N,) class ids or "
                      "(N, K) one-hot/probabilities",
                      fl__name(name_y), st);
}

/* The image of a row of features x, channels last: (N, H, W, C) gives
 * (H, W, C), (N, H, W) gives (H, W, 1), as Keras reads image batches
 * (a grayscale batch has no channel axis). Other shapes hold no image. */
static void image_of(const fl_array *x, size_t image[3]) {
  image[0] = image[1] = image[2] = 0;
  if (x->ndim != 3 && x->ndim != 4) return;
  image[0] = x->shape[1];
  image[1] = x->shape[2];
  image[2] = x->ndim == 4 ? x->shape[3] : 1;
}

/* ids[i] = y[i], each checked to be an integer of magnitude below 2^24.
 * Labels arrive as float32, where larger integers are rounded (an int32
 * label 2^31 - 1 arrives as 2^31): the value in hand may not be the one in
 * the file, so the message says what is wrong without quoting it. */
static int to_ids(const float *y, size_t n, const char *name_y, int32_t *ids,
                  fl_error *err) {
  for (size_t i = 0; i < n; i++) {
    float v = y[i];
    if (!isfinite(v) || v != floorf(v))
      return fl_error_set(err, FL_EDATA,
                          "%s: row %zu: label %g is not an integer class id",
                          fl__name(name_y), i, (double)v);
    if (fabs((double)v) >= FL__FLOAT_EXACT_INT)
      return fl_error_set(err, FL_EDATA,
                          "%s: row %zu: label is too large to be a class id: "
                          "%s %.0f or more, where float32, which labels are "
                          "read into, stops holding integers exactly; at "
                          "most %d classes (ids 0 to %d) are supported",
                          fl__name(name_y), i, v < 0 ? "its magnitude is" :
                          "it is", FL__FLOAT_EXACT_INT, FL_DATA_MAX_CLASSES,
                          FL_DATA_MAX_CLASSES - 1);
    ids[i] = (int32_t)v;
  }
  return 0;
}

int fl_dataset_from_arrays(fl_array *features, fl_array *labels, float scale,
                           const char *name_x, const char *name_y,
                           fl_dataset *out, fl_error *err) {
  const char *nx = fl__name(name_x), *ny = fl__name(name_y);
  memset(out, 0, sizeof *out);
  if (features->ndim < 1 || labels->ndim < 1 || !features->data ||
      !labels->data)
    return fl_error_set(err, FL_EINVAL,
                        "%s/%s: features and labels must be parsed arrays",
                        nx, ny);
  if (!isfinite(scale))
    return fl_error_set(err, FL_EINVAL, "scale must be finite, got %g",
                        (double)scale);

  fl_label_kind kind = FL_LABELS_IDS;
  size_t k = 0;
  int rc = label_layout(labels, name_y, &kind, &k, err);
  if (rc) return rc;

  /* (N, a, b, ...) -> (N, a*b*...). The readers checked count against the
   * shape; arrays built by hand are checked here. */
  const size_t n = features->shape[0];
  size_t d = 1;
  for (int i = 1; i < features->ndim; i++)
    if (!fl__mul_size(d, features->shape[i], &d)) d = SIZE_MAX;
  size_t count_x = SIZE_MAX, count_y = SIZE_MAX;
  fl__mul_size(n, d, &count_x);
  fl__mul_size(labels->shape[0], kind == FL_LABELS_IDS ? 1 : k, &count_y);
  if (count_x != features->count || count_y != labels->count)
    return fl_error_set(err, FL_EINVAL,
                        "%s/%s: array element counts do not match their "
                        "shapes", nx, ny);
  if (labels->shape[0] != n)
    return fl_error_set(err, FL_EDATA,
                        "%s has %zu rows but %s has %zu; features and labels "
                        "need one row each per example",
                        nx, n, ny, labels->shape[0]);
  if (n == 0)
    return fl_error_set(err, FL_EDATA, "%s: no rows (the dataset is empty)",
                        nx);
  if (d == 0)
    return fl_error_set(err, FL_EDATA, "%s: rows have no features", nx);

  int32_t *ids = NULL;
  if (kind == FL_LABELS_IDS) {
    ids = malloc(n * sizeof *ids);
    if (!ids)
      return fl_error_set(err, FL_ENOMEM, "%s: cannot allocate %zu ids", ny,
                          n);
    rc = to_ids(labels->data, n, name_y, ids, err);
    if (rc) {
      free(ids);
      return rc;
    }
  }

  /* Nothing can fail from here: take ownership. */
  out->n = n;
  out->d = d;
  image_of(features, out->image_shape);
  out->x = features->data;
  if (scale != 1.0f)
    for (size_t i = 0; i < n * d; i++) out->x[i] *= scale;
  out->label_kind = kind;
  out->k = k;
  if (kind == FL_LABELS_IDS) {
    out->ids = ids;
    free(labels->data);
  } else {
    out->y = labels->data;
  }
  out->class_names = labels->class_names;
  out->n_class_names = labels->n_class_names;
  memset(features, 0, sizeof *features);
  memset(labels, 0, sizeof *labels);
  return 0;
}

int fl_dataset_split_tail(fl_dataset *ds, double fraction, fl_dataset *val,
                          fl_error *err) {
  memset(val, 0, sizeof *val);
  if (!(fraction > 0.0 && fraction < 1.0))
    return fl_error_set(err, FL_EINVAL,
                        "validation_split must be between 0 and 1 "
                        "(exclusive), got %g", fraction);
  /* Keras: split_at = int(n * (1 - validation_split)). */
  size_t split_at = (size_t)((double)ds->n * (1.0 - fraction));
  if (split_at == 0 || split_at >= ds->n)
    return fl_error_set(err, FL_EDATA,
                        "validation_split %g of %zu rows leaves %s empty",
                        fraction, ds->n,
                        split_at == 0 ? "the training set"
                                      : "the validation set");
  const size_t nv = ds->n - split_at;
  val->n = nv;
  val->d = ds->d;
  val->label_kind = ds->label_kind;
  val->k = ds->k;
  memcpy(val->image_shape, ds->image_shape, sizeof val->image_shape);
  val->x = malloc(nv * ds->d * sizeof(float));
  if (ds->label_kind == FL_LABELS_IDS)
    val->ids = malloc(nv * sizeof(int32_t));
  else
    val->y = malloc(nv * ds->k * sizeof(float));
  if (!val->x || (!val->ids && !val->y)) {
    fl_dataset_free(val);
    return fl_error_set(err, FL_ENOMEM,
                        "cannot allocate %zu validation rows", nv);
  }
  memcpy(val->x, ds->x + split_at * ds->d, nv * ds->d * sizeof(float));
  if (val->ids)
    memcpy(val->ids, ds->ids + split_at, nv * sizeof(int32_t));
  else
    memcpy(val->y, ds->y + split_at * ds->k, nv * ds->k * sizeof(float));

  /* Shrink the training part; a failed shrink keeps the larger block. */
  ds->n = split_at;
  float *x = realloc(ds->x, split_at * ds->d * sizeof(float));
  if (x) ds->x = x;
  if (ds->ids) {
    int32_t *ids = realloc(ds->ids, split_at * sizeof(int32_t));
    if (ids) ds->ids = ids;
  } else if (ds->y) {
    float *y = realloc(ds->y, split_at * ds->k * sizeof(float));
    if (y) ds->y = y;
  }
  return 0;
}

int fl_dataset_check_images(const fl_dataset *train, const fl_dataset *val,
                            const char *name_train, const char *name_val,
                            fl_error *err) {
  const size_t *a = train->image_shape, *b = val->image_shape;
  if (!a[0] || !b[0] || memcmp(a, b, sizeof train->image_shape) == 0)
    return 0;
  char ta[FL__SHAPE_TEXT_MAX], tb[FL__SHAPE_TEXT_MAX];
  fl__shape_text(ta, sizeof ta, 3, a, false);
  fl__shape_text(tb, sizeof tb, 3, b, false);
  return fl_error_set(err, FL_EDATA,
                      "%s holds %s images (H x W x C) but the training "
                      "set's %s holds %s images; give both files the same "
                      "image shape", fl__name(name_val), tb,
                      fl__name(name_train), ta);
}

int fl_dataset_map_names(fl_dataset *ds, const char *names, size_t n,
                         const char *what, const char *name, fl_error *err) {
  const char *nm = fl__name(name);
  if (!ds->class_names && n > 0)
    return fl_error_set(err, FL_EDATA, "%s: labels are class ids (numbers), "
                        "but %s's are class names; give the names here too",
                        nm, what);
  if (ds->class_names && n == 0)
    return fl_error_set(err, FL_EDATA, "%s: labels are class names, but "
                        "%s's are class ids (numbers); give the ids here too",
                        nm, what);
  if (!ds->class_names) return 0;
  int32_t *to = malloc(ds->n_class_names * sizeof *to);
  if (!to) return fl_error_set(err, FL_ENOMEM, "out of host memory");
  const char *own = ds->class_names;
  for (size_t i = 0; i < ds->n_class_names; i++, own += strlen(own) + 1) {
    long id = fl_class_name_id(names, n, own);
    if (id < 0) {
      size_t row = 0;
      while (row < ds->n && ds->ids[row] != (int32_t)i) row++;
      free(to);
      return fl_error_set(err, FL_EDATA, "%s: row %zu: class name \"%s\" "
                          "is not among the %zu names of %s; a model only "
                          "knows the classes it was trained on",
                          nm, row + 1, own, n, what);
    }
    to[i] = (int32_t)id;
  }
  if (ds->label_kind == FL_LABELS_IDS)
    for (size_t r = 0; r < ds->n; r++) ds->ids[r] = to[ds->ids[r]];
  free(to);
  free(ds->class_names);
  ds->class_names = NULL;
  ds->n_class_names = 0;
  return 0;
}

void fl_dataset_free(fl_dataset *ds) {
  if (!ds) return;
  free(ds->x);
  free(ds->ids);
  free(ds->y);
  free(ds->norm_mean);
  free(ds->norm_std);
  free(ds->class_names);
  memset(ds, 0, sizeof *ds);
}

void fl_dataset_apply_norm(fl_dataset *ds, const float *mean, const float *std) {
  for (size_t i = 0; i < ds->n; i++) {
    float *row = ds->x + i * ds->d;
    for (size_t j = 0; j < ds->d; j++) row[j] = (row[j] - mean[j]) / std[j];
  }
}

/* As scikit-learn's StandardScaler: mean and population standard deviation
 * (ddof 0) per feature over the training rows, in double; a feature of
 * zero spread keeps a divisor of 1 (it is only centred). Non-finite values
 * are left out of the statistics (preflight reports them). */
int fl_dataset_standardize(fl_dataset *train, fl_dataset *val, fl_error *err) {
  size_t d = train->d;
  float *mean = malloc((d ? d : 1) * sizeof *mean);
  float *std = malloc((d ? d : 1) * sizeof *std);
  if (!mean || !std) {
    free(mean);
    free(std);
    return fl_error_set(err, FL_ENOMEM, "out of host memory standardizing "
                        "%zu features", d);
  }
  for (size_t j = 0; j < d; j++) {
    double sum = 0, sq = 0;
    size_t n = 0;
    for (size_t i = 0; i < train->n; i++) {
      double v = train->x[i * d + j];
      if (!isfinite(v)) continue;
      sum += v;
      n++;
    }
    double m = n ? sum / (double)n : 0.0;
    for (size_t i = 0; i < train->n; i++) {
      double v = train->x[i * d + j];
      if (isfinite(v)) sq += (v - m) * (v - m);
    }
    double s = n ? sqrt(sq / (double)n) : 0.0;
    mean[j] = (float)m;
    std[j] = s > 0 && isfinite(s) ? (float)s : 1.0f;
  }
  fl_dataset_apply_norm(train, mean, std);
  if (val) fl_dataset_apply_norm(val, mean, std);
  free(train->norm_mean);
  free(train->norm_std);
  train->norm_mean = mean;
  train->norm_std = std;
  return 0;
}
