/* protocol/spec_data.c — owns the decoding of the spec's "data" object: the
 * train and validation sources in their three forms (npy, csv, idx), CSV
 * label columns, "scale", and validation_split. Paths are kept as written;
 * resolving them against the spec's folder is the client's business. */
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "spec_internal.h"

/* A source is exactly one of these pairs of keys, plus an optional scale. */
typedef struct {
  fl_source_kind kind;
  const char *first, *second;
} source_form;

static const source_form source_forms[] = {
    {FL_SRC_NPY, "features", "labels"},
    {FL_SRC_CSV, "csv", "label_columns"},
    {FL_SRC_IDX, "idx_images", "idx_labels"},
};

#define SOURCE_FORMS_TEXT                                        \
  "{\"features\", \"labels\"}, {\"csv\", \"label_columns\"} or " \
  "{\"idx_images\", \"idx_labels\"}"

#define LABEL_COLUMNS_EXPECTED \
  "a non-empty array of column names or 0-based column indices"

static const source_form *form_of_key(const char *key) {
  for (size_t i = 0; i < FL__ARRAY_LEN(source_forms); i++) {
    if (strcmp(key, source_forms[i].first) == 0 ||
        strcmp(key, source_forms[i].second) == 0) {
      return &source_forms[i];
    }
  }
  return NULL;
}

static bool same_column(const fl_label_column *a, const fl_label_column *b) {
  if (a->index >= 0 || b->index >= 0) return a->index == b->index;
  return strcmp(a->name, b->name) == 0;
}

/* "label_columns": header names or 0-based indices, 1..FL_MAX_LABEL_COLUMNS
 * of them, all different. The array is counted before it is allocated; it is
 * owned by src from the moment it exists, so an error half-way leaves
 * nothing for the caller to leak (fl_spec_free releases it). */
static int decode_label_columns(const cJSON *item, const char *path,
                                fl_data_source *src, fl_error *err) {
  if (!cJSON_IsArray(item)) {
    return fl__expected(err, path, LABEL_COLUMNS_EXPECTED, item);
  }
  int n = 0;
  for (const cJSON *c = item->child; c; c = c->next) {
    if (++n > FL_MAX_LABEL_COLUMNS) {
      return fl__fail(err, path, "expected at most %d label columns, got more",
                      FL_MAX_LABEL_COLUMNS);
    }
  }
  if (n == 0) {
    return fl__fail(err, path, "expected %s, got an empty array",
                    LABEL_COLUMNS_EXPECTED);
  }
  src->label_columns = calloc((size_t)n, sizeof *src->label_columns);
  if (!src->label_columns) {
    return fl_error_set(err, FL_ENOMEM, "%s: out of memory for %d columns",
                        path, n);
  }
  src->n_label_columns = n;

  int i = 0;
  for (const cJSON *c = item->child; c; c = c->next, i++) {
    fl_label_column *col = &src->label_columns[i];
    char col_path[FL__KEYPATH_MAX];
    int rc;
    fl__path_index(col_path, path, i);
    if (cJSON_IsString(c)) {
      col->index = -1;
      rc = fl__as_text(c, col_path, "a column name", col->name,
                       sizeof col->name, err);
    } else if (fl__is_int_in(c, 0, INT32_MAX)) {
      col->index = (int)c->valuedouble;
      rc = 0;
    } else {
      return fl__expected(err, col_path,
                          "a column name or a 0-based column index", c);
    }
    if (rc) return rc;
    for (int j = 0; j < i; j++) {
      if (same_column(&src->label_columns[j], col)) {
        char got[128];
        fl__describe(c, got, sizeof got);
        return fl__fail(err, col_path,
                        "duplicate label column (expected each column once, "
                        "got %s again after [%d])",
                        got, j);
      }
    }
  }
  return 0;
}

/* "scale": any finite float32 but 0, which would erase every feature. */
static int decode_scale(const cJSON *obj, const char *path, fl_data_source *src,
                        fl_error *err) {
  static const fl__range any = {-HUGE_VAL, HUGE_VAL, false, false};
  const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, "scale");
  if (!item) return 0;
  char scale_path[FL__KEYPATH_MAX];
  fl__path_key(scale_path, path, "scale");
  int rc = fl__as_float(item, scale_path, &any, &src->scale, err);
  if (rc) return rc;
  if (src->scale == 0.0f) {
    char got[64];
    fl__describe(item, got, sizeof got);
    return fl__fail(
        err, scale_path, "expected a non-zero number, got %s%s", got,
        item->valuedouble != 0.0 ? ", which is 0 as a 32-bit float" : "");
  }
  src->has_scale = true;
  return 0;
}

/* "header" (bool; absent: detected) and "delimiter" (one of , ; | and a
 * tab): CSV only. */
static int decode_csv_options(const cJSON *obj, const char *path,
                              fl_data_source *src, fl_error *err) {
  static const char *const opts[] = {"header", "delimiter"};
  for (size_t i = 0; i < FL__ARRAY_LEN(opts); i++) {
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, opts[i]);
    char key_path[FL__KEYPATH_MAX];
    fl__path_key(key_path, path, opts[i]);
    if (item && src->kind != FL_SRC_CSV)
      return fl__fail(err, key_path, "applies to CSV sources only (\"csv\")");
    if (!item) continue;
    if (i == 0) {
      if (!cJSON_IsBool(item))
        return fl__expected(err, key_path, "true or false", item);
      src->csv_header = cJSON_IsTrue(item) ? 1 : 2;
    } else {
      const char *v = cJSON_IsString(item) ? item->valuestring : NULL;
      if (!v || strlen(v) != 1 || !strchr(",;|\t", v[0]))
        return fl__expected(err, key_path,
                            "one of \",\", \";\", \"|\" or \"\\t\"", item);
      src->delimiter = v[0];
    }
  }
  return 0;
}

static int decode_source(const cJSON *obj, const char *path,
                         fl_data_source *src, fl_error *err) {
  static const char *const keys[] = {
      "features",   "labels",     "csv",  "label_columns",
      "idx_images", "idx_labels", "scale", "header", "delimiter"};
  if (!cJSON_IsObject(obj)) {
    return fl__expected(err, path, "an object: " SOURCE_FORMS_TEXT, obj);
  }
  int rc = fl__check_object(obj, path, keys, FL__ARRAY_LEN(keys), err);
  if (rc) return rc;

  /* The first form key in document order picks the form; a key of another
   * form is the one named as wrong. */
  const source_form *form = NULL;
  for (const cJSON *c = obj->child; c; c = c->next) {
    const source_form *f = form_of_key(c->string);
    if (!f) continue;
    if (!form) {
      form = f;
    } else if (f != form) {
      char key_path[FL__KEYPATH_MAX];
      fl__path_key(key_path, path, c->string);
      return fl__fail(err, key_path,
                      "cannot be mixed with \"%s\" (expected exactly one of "
                      "%s)",
                      form->first, SOURCE_FORMS_TEXT);
    }
  }
  if (!form) {
    return fl__fail(err, path,
                    "expected one of %s, got an object with none of these "
                    "keys",
                    SOURCE_FORMS_TEXT);
  }
  bool has_first = cJSON_GetObjectItemCaseSensitive(obj, form->first) != NULL;
  bool has_second = cJSON_GetObjectItemCaseSensitive(obj, form->second) != NULL;
  if (!has_first || !has_second) {
    const char *missing = has_first ? form->second : form->first;
    const char *present = has_first ? form->first : form->second;
    char key_path[FL__KEYPATH_MAX];
    fl__path_key(key_path, path, missing);
    return fl__fail(err, key_path,
                    "required key is missing (\"%s\" goes with \"%s\")",
                    missing, present);
  }

  src->kind = form->kind;
  /* features[] holds the first file of every form, labels[] the second
   * (empty for csv, whose labels are columns of the same file). */
  rc = fl__get_text(obj, path, form->first, true, "a file path", src->features,
                    sizeof src->features, err);
  if (rc < 0) return rc;
  if (form->kind == FL_SRC_CSV) {
    char key_path[FL__KEYPATH_MAX];
    fl__path_key(key_path, path, "label_columns");
    rc = decode_label_columns(
        cJSON_GetObjectItemCaseSensitive(obj, "label_columns"), key_path, src,
        err);
  } else {
    rc = fl__get_text(obj, path, form->second, true, "a file path", src->labels,
                      sizeof src->labels, err);
  }
  if (rc < 0) return rc;
  if ((rc = decode_csv_options(obj, path, src, err))) return rc;
  return decode_scale(obj, path, src, err);
}

int fl__decode_data(const cJSON *item, const char *path, fl_job_spec *spec,
                    fl_error *err) {
  static const char *const keys[] = {"train", "validation", "validation_split",
                                     "normalize"};
  static const fl__range split_range = {0.0, 1.0, false, true};
  int rc = fl__check_object(item, path, keys, FL__ARRAY_LEN(keys), err);
  if (rc) return rc;

  char key_path[FL__KEYPATH_MAX];
  const cJSON *train = cJSON_GetObjectItemCaseSensitive(item, "train");
  if (!train) {
    return fl__missing(err, path, "train", "a data source: " SOURCE_FORMS_TEXT);
  }
  fl__path_key(key_path, path, "train");
  if ((rc = decode_source(train, key_path, &spec->train, err))) return rc;

  const cJSON *validation =
      cJSON_GetObjectItemCaseSensitive(item, "validation");
  if (validation) {
    fl__path_key(key_path, path, "validation");
    rc = decode_source(validation, key_path, &spec->validation, err);
    if (rc) return rc;
  }

  rc = fl__get_float(item, path, "validation_split", false, &split_range,
                     &spec->validation_split, err);
  if (rc < 0) return rc;
  /* DESIGN.md's own example gives both; as in Keras, an explicit
   * validation set wins and the split is not applied (job_data.c). */
  const cJSON *norm = cJSON_GetObjectItemCaseSensitive(item, "normalize");
  if (norm) {
    fl__path_key(key_path, path, "normalize");
    const char *v = cJSON_IsString(norm) ? norm->valuestring : NULL;
    if (!v || (strcmp(v, "standardize") && strcmp(v, "none")))
      return fl__expected(err, key_path, "\"standardize\" or \"none\"", norm);
    spec->standardize = strcmp(v, "standardize") == 0;
  }
  return 0;
}
