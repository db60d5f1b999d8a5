/* protocol/spec.c — owns fl_spec_parse (bounds, pre-scan, the one cJSON
 * parse and delete), the decoding of the spec's top-level keys, the
 * defaults of DESIGN.md §3, and fl_spec_free. The sub-objects are decoded in
 * spec_data.c, spec_model.c and spec_train.c. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spec_internal.h"

void fl_optimizer_defaults(fl_optimizer_spec *opt, fl_optimizer_kind kind) {
  memset(opt, 0, sizeof *opt);
  opt->kind = kind;
  switch (kind) {
    case FL_OPT_SGD:
      opt->learning_rate = 0.01f;
      break;
    case FL_OPT_ADAM:
    case FL_OPT_ADAMW:
      opt->learning_rate = 0.001f;
      opt->beta_1 = 0.9f;
      opt->beta_2 = 0.999f;
      opt->epsilon = 1e-7f;
      if (kind == FL_OPT_ADAMW) opt->weight_decay = 0.004f;
      break;
    case FL_OPT_RMSPROP:
      opt->learning_rate = 0.001f;
      opt->rho = 0.9f;
      opt->epsilon = 1e-7f;
      break;
  }
}

void fl_spec_defaults(fl_job_spec *spec) {
  memset(spec, 0, sizeof *spec);
  snprintf(spec->name, sizeof spec->name, "job");
  spec->train.kind = FL_SRC_NONE;
  spec->train.scale = 1.0f;
  spec->validation.kind = FL_SRC_NONE;
  spec->validation.scale = 1.0f;
  spec->loss.kind = FL_LOSS_SPARSE_CATEGORICAL_CE; /* loss is required */
  fl_optimizer_defaults(&spec->optimizer, FL_OPT_ADAM);
  spec->epochs = 1;
  spec->batch_size = 32;
  spec->seed = 0;
  spec->shuffle = true;
  snprintf(spec->device, sizeof spec->device, "auto");
  spec->monitor.patience = 3;
  spec->monitor.min_delta = 0.001f;
  spec->monitor.on_plateau = FL_PLATEAU_ALERT;
}

void fl_spec_free(fl_job_spec *spec) {
  if (!spec) return;
  free(spec->train.label_columns);
  spec->train.label_columns = NULL;
  spec->train.n_label_columns = 0;
  free(spec->validation.label_columns);
  spec->validation.label_columns = NULL;
  spec->validation.n_label_columns = 0;
}

#define DEVICE_EXPECTED \
  "\"auto\", a device index (0, 1, ...) or part of a device name"

/* "device": a name (part) or an index; an index is kept as its decimal text
 * so that the engine sees one form. */
static int decode_device(const cJSON *root, char *device, size_t size,
                         fl_error *err) {
  const cJSON *item = cJSON_GetObjectItemCaseSensitive(root, "device");
  if (!item) return 0;
  if (fl__is_int_in(item, 0, INT32_MAX)) {
    snprintf(device, size, "%" PRId64, (int64_t)item->valuedouble);
    return 0;
  }
  if (!cJSON_IsString(item)) {
    return fl__expected(err, "device", DEVICE_EXPECTED, item);
  }
  return fl__as_text(item, "device", DEVICE_EXPECTED, device, size, err);
}

#define INIT_FROM_EXPECTED "a job id such as \"j17\" (`flatline list` shows them)"

/* "init_from": "j" and 1 to 9 digits, the daemon's job ids. */
static int decode_init_from(const cJSON *root, char *out, size_t size,
                            fl_error *err) {
  const cJSON *item = cJSON_GetObjectItemCaseSensitive(root, "init_from");
  if (!item) return 0;
  const char *v = cJSON_IsString(item) ? item->valuestring : NULL;
  size_t n = 0;
  while (v && v[0] == 'j' && v[1 + n] >= '0' && v[1 + n] <= '9') n++;
  if (!v || n < 1 || n > 9 || v[1 + n] != '\0')
    return fl__expected(err, "init_from", INIT_FROM_EXPECTED, item);
  snprintf(out, size, "%s", v);
  return 0;
}

/* The top-level object, key by key in the struct's order. */
static int decode_spec(const cJSON *root, fl_job_spec *spec, fl_error *err) {
  static const char *const keys[] = {
      "name",       "data", "model",   "loss",   "optimizer", "epochs",
      "batch_size", "seed", "shuffle", "device", "monitor",
      "class_weight", "metrics", "callbacks", "init_from"};
  int rc = fl__check_object(root, "", keys, FL__ARRAY_LEN(keys), err);
  if (rc) return rc;

  rc = fl__get_text(root, "", "name", false, "a job name", spec->name,
                    sizeof spec->name, err);
  if (rc < 0) return rc;

  const cJSON *data = cJSON_GetObjectItemCaseSensitive(root, "data");
  if (!data) {
    return fl__missing(err, "", "data",
                       "an object such as {\"train\": {\"features\": ..., "
                       "\"labels\": ...}}");
  }
  if ((rc = fl__decode_data(data, "data", spec, err))) return rc;

  const cJSON *model = cJSON_GetObjectItemCaseSensitive(root, "model");
  if (!model) {
    return fl__missing(err, "", "model",
                       "an object such as {\"layers\": [{\"type\": "
                       "\"dense\", \"units\": 10}]}");
  }
  if ((rc = fl__decode_model(model, "model", spec, err))) return rc;

  const cJSON *loss = cJSON_GetObjectItemCaseSensitive(root, "loss");
  if (!loss) {
    return fl__missing(err, "", "loss",
                       "a loss name such as "
                       "\"sparse_categorical_crossentropy\"");
  }
  if ((rc = fl__decode_loss(loss, "loss", &spec->loss, err))) return rc;

  const cJSON *optimizer = cJSON_GetObjectItemCaseSensitive(root, "optimizer");
  if (optimizer && (rc = fl__decode_optimizer(optimizer, "optimizer",
                                              &spec->optimizer, err))) {
    return rc;
  }

  if ((rc = fl__get_int(root, "", "epochs", false, 1, 100000, &spec->epochs,
                        err)) < 0) {
    return rc;
  }
  if ((rc = fl__get_int(root, "", "batch_size", false, 1, 65536,
                        &spec->batch_size, err)) < 0) {
    return rc;
  }
  /* Below 2^53 every integer is an exact double, so what the user wrote is
   * what the engine seeds with. 2^53 itself is left out: strtod rounds
   * 2^53 + 1 down to it, and that seed would be accepted as another. */
  int64_t seed = 0;
  if ((rc = fl__get_int64(root, "", "seed", false, 0, (INT64_C(1) << 53) - 1,
                          &seed, err)) < 0) {
    return rc;
  }
  spec->seed = (uint64_t)seed;
  if ((rc = fl__get_bool(root, "", "shuffle", false, &spec->shuffle, err)) <
      0) {
    return rc;
  }
  if ((rc = decode_device(root, spec->device, sizeof spec->device, err))) {
    return rc;
  }
  if ((rc = decode_init_from(root, spec->init_from, sizeof spec->init_from, err))) {
    return rc;
  }
  const cJSON *monitor = cJSON_GetObjectItemCaseSensitive(root, "monitor");
  if (monitor &&
      (rc = fl__decode_monitor(monitor, "monitor", &spec->monitor, err))) {
    return rc;
  }
  const cJSON *cw = cJSON_GetObjectItemCaseSensitive(root, "class_weight");
  if (cw && (rc = fl__decode_class_weight(cw, "class_weight",
                                          fl_spec_classes(spec),
                                          &spec->class_weight, err))) {
    return rc;
  }
  const cJSON *metrics = cJSON_GetObjectItemCaseSensitive(root, "metrics");
  if (metrics && (rc = fl__decode_metrics(metrics, "metrics", spec, err)))
    return rc;
  /* Last: callbacks are checked against the data, optimizer and monitor. */
  if ((rc = fl__decode_callbacks(cJSON_GetObjectItemCaseSensitive(root, "callbacks"),
                                 "callbacks", spec, err)))
    return rc;
  return 0;
}

/* Index of the first byte at or after `at` that is not JSON white space. */
static size_t skip_space(const char *json, size_t len, size_t at) {
  while (at < len && (json[at] == ' ' || json[at] == '\t' || json[at] == '\n' ||
                      json[at] == '\r')) {
    at++;
  }
  return at;
}

/* Malformed JSON as cJSON saw it, located for a person with an editor. */
static int parse_error(const char *json, size_t len, const char *at,
                       const char *what, fl_error *err) {
  size_t offset = len;
  if (at && at >= json && at <= json + len) offset = (size_t)(at - json);
  char where[96];
  fl__json_where(json, len, offset, where, sizeof where);
  return fl_error_set(err, FL_EPARSE, "spec: not valid JSON near %s%s%s", where,
                      what ? ": " : "", what ? what : "");
}

int fl_spec_parse(const char *json, size_t len, fl_job_spec *out,
                  fl_error *err) {
  if (!out) return fl_error_set(err, FL_EINVAL, "fl_spec_parse: out is NULL");
  memset(out, 0, sizeof *out);
  if (!json && len > 0) {
    return fl_error_set(err, FL_EINVAL, "fl_spec_parse: json is NULL");
  }
  /* Caps first: nothing is scanned or allocated for an oversized spec. */
  if (len > FL_SPEC_MAX_BYTES) {
    return fl_error_set(err, FL_ETOOBIG,
                        "spec: %zu bytes exceeds the limit of %u bytes", len,
                        (unsigned)FL_SPEC_MAX_BYTES);
  }
  if (skip_space(json, len, 0) == len) {
    return fl_error_set(err, FL_EPARSE,
                        "spec: empty input (expected a JSON object)");
  }
  int open_at_end = 0;
  int rc = fl__json_scan(json, len, FL_SPEC_MAX_DEPTH, &open_at_end, err);
  if (rc) return rc;

  /* Not require_null_terminated: json need not be NUL-terminated, and with
   * that flag cJSON insists on a NUL inside the buffer. Trailing text is
   * checked by hand below instead. */
  const char *end = NULL;
  cJSON *root = cJSON_ParseWithLengthOpts(json, len, &end, 0);
  if (!root) {
    /* cJSON reports running off the end as an error at the last byte;
     * brackets left open tell the two apart. */
    bool cut = open_at_end > 0 && end == json + len - 1;
    return parse_error(json, len, end, cut ? "unexpected end of input" : NULL,
                       err);
  }

  size_t at = (end && end >= json && end <= json + len)
                  ? skip_space(json, len, (size_t)(end - json))
                  : len;
  if (at < len) {
    rc = parse_error(json, len, json + at,
                     "unexpected text after the top-level value", err);
  } else {
    fl_spec_defaults(out);
    rc = decode_spec(root, out, err);
  }
  cJSON_Delete(root);
  if (rc) {
    fl_spec_free(out);
    memset(out, 0, sizeof *out);
  }
  return rc;
}
