/* daemon/job_data.c — reads the files a job spec names (through a path
 * resolver), parses them by form (npy, csv, idx) and builds the training
 * and validation datasets, including Keras' validation_split. */
#include "job_data.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int fl_resolve_relative(void *ctx, const char *spec_path, char *out,
                        size_t out_size, fl_error *err) {
  const char *dir = ctx;
  int n = spec_path[0] == '/' || !dir || !*dir
              ? snprintf(out, out_size, "%s", spec_path)
              : snprintf(out, out_size, "%s/%s", dir, spec_path);
  if (n < 0 || (size_t)n >= out_size)
    return fl_error_set(err, FL_ETOOBIG, "%s: path too long", spec_path);
  return 0;
}

/* flags: links are followed for the foreground runner (its user's own
 * files) and never in the daemon's blob store (FL_READ_NOFOLLOW). */
static int read_file(fl_path_resolver resolve, void *ctx, unsigned flags,
                     const char *p, uint8_t **buf, size_t *len, fl_error *err) {
  char path[FL_PATH_MAX * 2];
  int rc = resolve(ctx, p, path, sizeof path, err);
  if (rc) return rc;
  return fl_file_read_ex(path, FL_DATA_MAX_BYTES, flags, buf, len, err);
}

typedef int (*array_parser)(const uint8_t *, size_t, const char *, fl_array *,
                            fl_error *);

static int read_array(fl_path_resolver resolve, void *ctx, unsigned flags,
                      const char *p, array_parser parse, fl_array *out,
                      fl_error *err) {
  uint8_t *buf = NULL;
  size_t len = 0;
  int rc = read_file(resolve, ctx, flags, p, &buf, &len, err);
  if (!rc) rc = parse(buf, len, p, out, err);
  free(buf);
  return rc;
}

static int load_source(const fl_data_source *src, fl_path_resolver resolve,
                       void *ctx, unsigned flags, fl_dataset *out, fl_error *err) {
  fl_array x = {0}, y = {0};
  int rc;
  float scale = src->has_scale ? src->scale : 1.0f;
  switch (src->kind) {
    case FL_SRC_NPY:
    case FL_SRC_IDX: {
      array_parser parse = src->kind == FL_SRC_NPY ? fl_npy_parse : fl_idx_parse;
      if ((rc = read_array(resolve, ctx, flags, src->features, parse, &x, err)) ||
          (rc = read_array(resolve, ctx, flags, src->labels, parse, &y, err)))
        break;
      rc = fl_dataset_from_arrays(&x, &y, scale, src->features, src->labels, out, err);
      break;
    }
    case FL_SRC_CSV: {
      uint8_t *buf = NULL;
      size_t len = 0;
      const char **names = calloc((size_t)src->n_label_columns, sizeof *names);
      int *idx = calloc((size_t)src->n_label_columns, sizeof *idx);
      if (!names || !idx) {
        free(names);
        free(idx);
        return fl_error_set(err, FL_ENOMEM, "out of host memory");
      }
      for (int i = 0; i < src->n_label_columns; i++) {
        names[i] = src->label_columns[i].name;
        idx[i] = src->label_columns[i].index;
      }
      rc = read_file(resolve, ctx, flags, src->features, &buf, &len, err);
      if (!rc)
      {
        fl_csv_options opt = {(fl_csv_header)src->csv_header, src->delimiter, true};
        rc = fl_csv_parse_ex(buf, len, src->features, &opt, names, idx,
                             src->n_label_columns, &x, &y, err);
      }
      free(buf);
      free(names);
      free(idx);
      if (!rc)
        rc = fl_dataset_from_arrays(&x, &y, scale, src->features, src->features,
                                    out, err);
      break;
    }
    default:
      rc = fl_error_set(err, FL_ESPEC, "data source has no form");
  }
  fl_array_free(&x);
  fl_array_free(&y);
  return rc;
}

/* data.normalize: statistics of the training rows (after the split),
 * applied to both sets and kept in train for the model's metadata. */
static int standardize(const fl_job_spec *spec, fl_dataset *train,
                       fl_dataset *val, bool has_val, fl_error *err) {
  if (!spec->standardize) return 0;
  int rc = fl_dataset_standardize(train, has_val ? val : NULL, err);
  if (rc) {
    fl_error_prefix(err, "data.normalize");
    fl_dataset_free(train);
    if (has_val) fl_dataset_free(val);
  }
  return rc;
}

static int load_all(fl_job_spec *spec, fl_path_resolver resolve,
                    void *ctx, unsigned flags, fl_dataset *train, fl_dataset *val,
                    bool *has_val, fl_error *err) {
  memset(train, 0, sizeof *train);
  memset(val, 0, sizeof *val);
  *has_val = false;
  int rc = load_source(&spec->train, resolve, ctx, flags, train, err);
  /* A conv model without input_shape reads rows as the image the
   * training file's header gives. */
  if (!rc && (rc = fl_model_input_from_data(spec->layers, spec->n_layers,
                                            train->image_shape,
                                            spec->train.features, err)))
    fl_dataset_free(train);
  if (rc) {
    fl_error_prefix(err, "data.train");
    return rc;
  }
  if (spec->validation.kind != FL_SRC_NONE) {
    rc = load_source(&spec->validation, resolve, ctx, flags, val, err);
    /* Class names: the validation file's own sorted ids may differ from
     * the training set's (it may lack a class); relabel by name. Its
     * images must be the training set's. */
    if (!rc && ((rc = fl_dataset_map_names(val, train->class_names,
                                           train->n_class_names,
                                           "the training set",
                                           spec->validation.features, err)) ||
                (rc = fl_dataset_check_images(train, val, spec->train.features,
                                              spec->validation.features, err))))
      fl_dataset_free(val);
    if (rc) fl_error_prefix(err, "data.validation");
  } else if (spec->validation_split > 0) {
    /* The spec holds the fraction as float; Keras computes the split point
     * from the decimal in double (int(400 * (1 - 0.2)) = 320, while float
     * 0.2 gives 319). Recover the decimal the user wrote first. */
    char text[32];
    snprintf(text, sizeof text, "%.7g", (double)spec->validation_split);
    rc = fl_dataset_split_tail(train, strtod(text, NULL), val, err);
    if (rc) fl_error_prefix(err, "data.validation_split");
  } else {
    return standardize(spec, train, val, false, err);
  }
  if (rc) {
    fl_dataset_free(train);
    return rc;
  }
  *has_val = true;
  return standardize(spec, train, val, true, err);
}

int fl_job_load_data(fl_job_spec *spec, fl_path_resolver resolve,
                     void *ctx, fl_dataset *train, fl_dataset *val,
                     bool *has_val, fl_error *err) {
  return load_all(spec, resolve, ctx, 0, train, val, has_val, err);
}

/* The header-only bound of one file of the spec. */
static int bound_of(fl_path_resolver resolve, void *ctx, const char *p,
                    fl_data_form form, unsigned flags, uint64_t *total,
                    fl_error *err) {
  char path[FL_PATH_MAX * 2];
  uint64_t bytes = 0;
  int rc = resolve(ctx, p, path, sizeof path, err);
  if (!rc) rc = fl_data_load_bound(path, form, flags, &bytes, err);
  if (rc) {
    fl_error_prefix(err, "%s", p);
    return rc;
  }
  *total += bytes;
  return 0;
}

static int source_bound(const fl_data_source *src, fl_path_resolver resolve,
                        void *ctx, unsigned flags, uint64_t *total, fl_error *err) {
  switch (src->kind) {
    case FL_SRC_NPY:
    case FL_SRC_IDX: {
      fl_data_form form = src->kind == FL_SRC_NPY ? FL_FORM_NPY : FL_FORM_IDX;
      int rc = bound_of(resolve, ctx, src->features, form, flags, total, err);
      return rc ? rc : bound_of(resolve, ctx, src->labels, form, flags, total, err);
    }
    case FL_SRC_CSV: /* read with class names allowed (load_source) */
      return bound_of(resolve, ctx, src->features, FL_FORM_CSV,
                      flags | FL_BOUND_CLASS_NAMES, total, err);
    default:
      return 0;
  }
}

static uint64_t dataset_bytes(const fl_dataset *ds) {
  return (uint64_t)ds->n * ds->d * sizeof(float) +
         (ds->ids ? (uint64_t)ds->n * sizeof(int32_t) : 0) +
         (ds->y ? (uint64_t)ds->n * ds->k * sizeof(float) : 0);
}

int fl_job_load_data_ex(fl_job_spec *spec, fl_path_resolver resolve,
                        void *ctx, fl_load_opts *opts, fl_dataset *train,
                        fl_dataset *val, bool *has_val, fl_error *err) {
  opts->held = 0;
  uint64_t bound = 0;
  int rc = source_bound(&spec->train, resolve, ctx, opts->read_flags, &bound, err);
  if (rc) {
    fl_error_prefix(err, "data.train");
    return rc;
  }
  if ((rc = source_bound(&spec->validation, resolve, ctx, opts->read_flags, &bound, err))) {
    fl_error_prefix(err, "data.validation");
    return rc;
  }
  /* validation_split copies the tail rows: at most the data again. */
  if (spec->validation.kind == FL_SRC_NONE && spec->validation_split > 0) bound *= 2;
  if (opts->budget &&
      (rc = fl_mem_acquire(opts->budget, bound, opts->stop, opts->max_wait_s,
                           "the job's data", err)))
    return rc;
  rc = load_all(spec, resolve, ctx, opts->read_flags, train, val, has_val, err);
  if (!opts->budget) return rc;
  uint64_t keep = rc ? 0 : dataset_bytes(train) + (*has_val ? dataset_bytes(val) : 0);
  if (keep > bound) keep = bound;
  fl_mem_release(opts->budget, bound - keep);
  opts->held = keep;
  return rc;
}
