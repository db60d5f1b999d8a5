/* protocol/spec_train.c — owns the decoding of how a spec trains: "loss",
 * "optimizer" (each optimizer's own hyper-parameters and their ranges),
 * "monitor" (plateau detection) and "class_weight". */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spec_internal.h"

#define LOSS_EXPECTED                                              \
  "a loss name such as \"sparse_categorical_crossentropy\" or an " \
  "object such as {\"name\": \"categorical_crossentropy\", "       \
  "\"from_logits\": true}"
#define OPTIMIZER_EXPECTED                                   \
  "an optimizer name such as \"adam\" or an object such as " \
  "{\"name\": \"sgd\", \"learning_rate\": 0.01}"

int fl__decode_loss(const cJSON *item, const char *path, fl_loss_spec *loss,
                    fl_error *err) {
  static const char *const keys[] = {"name", "from_logits"};
  int kind = 0;
  int rc;
  loss->from_logits = false;
  if (cJSON_IsString(item)) {
    rc = fl__as_enum(item, path, &fl__loss_table, &kind, err);
    if (rc) return rc;
    loss->kind = (fl_loss_kind)kind;
    return 0;
  }
  if (!cJSON_IsObject(item))
    return fl__expected(err, path, LOSS_EXPECTED, item);
  if ((rc = fl__check_object(item, path, keys, FL__ARRAY_LEN(keys), err))) {
    return rc;
  }
  rc = fl__get_enum(item, path, "name", true, &fl__loss_table, &kind, err);
  if (rc < 0) return rc;
  loss->kind = (fl_loss_kind)kind;
  rc = fl__get_bool(item, path, "from_logits", false, &loss->from_logits, err);
  if (rc < 0) return rc;
  if (rc == 1 && loss->kind == FL_LOSS_MSE) {
    /* MSE compares outputs as they are; "logits" means nothing to it. */
    char key_path[FL__KEYPATH_MAX];
    fl__path_key(key_path, path, "from_logits");
    return fl__fail(err, key_path,
                    "mean_squared_error takes no \"from_logits\" (only the "
                    "cross-entropy losses do)");
  }
  return 0;
}

/* Which keys each optimizer takes (Keras's names), in one table so that the
 * "only sgd and rmsprop do" hint is derived rather than written out. */
/* Every optimizer also takes Keras's gradient clipping keys. */
#define FL__CLIP_KEYS "clipnorm", "global_clipnorm", "clipvalue"
static const char *const sgd_keys[] = {"name", "learning_rate", "momentum",
                                       "nesterov", FL__CLIP_KEYS};
static const char *const adam_keys[] = {"name", "learning_rate", "beta_1",
                                        "beta_2", "epsilon", FL__CLIP_KEYS};
static const char *const rmsprop_keys[] = {"name", "learning_rate", "rho",
                                           "momentum", "epsilon", FL__CLIP_KEYS};
static const char *const adamw_keys[] = {
    "name", "learning_rate", "beta_1", "beta_2", "epsilon", "weight_decay",
    FL__CLIP_KEYS};
static const char *const any_optimizer_keys[] = {
    "name",   "learning_rate", "momentum", "nesterov",    "beta_1",
    "beta_2", "epsilon",       "rho",      "weight_decay", FL__CLIP_KEYS};

static const struct {
  fl_optimizer_kind kind;
  const char *const *keys;
  size_t n_keys;
} optimizer_keys[] = {
    {FL_OPT_SGD, sgd_keys, FL__ARRAY_LEN(sgd_keys)},
    {FL_OPT_ADAM, adam_keys, FL__ARRAY_LEN(adam_keys)},
    {FL_OPT_RMSPROP, rmsprop_keys, FL__ARRAY_LEN(rmsprop_keys)},
    {FL_OPT_ADAMW, adamw_keys, FL__ARRAY_LEN(adamw_keys)},
};

static bool optimizer_takes(fl_optimizer_kind kind, const char *key) {
  for (size_t i = 0; i < FL__ARRAY_LEN(optimizer_keys); i++) {
    if (optimizer_keys[i].kind == kind) {
      return fl__key_in(key, optimizer_keys[i].keys, optimizer_keys[i].n_keys);
    }
  }
  return false;
}

/* path.key: "adam takes no "momentum" (only sgd and rmsprop do)". */
static int foreign_key(const char *path, const char *key,
                       fl_optimizer_kind kind, fl_error *err) {
  const char *owners[FL__ARRAY_LEN(optimizer_keys)];
  size_t n = 0;
  for (size_t i = 0; i < FL__ARRAY_LEN(optimizer_keys); i++) {
    if (fl__key_in(key, optimizer_keys[i].keys, optimizer_keys[i].n_keys)) {
      owners[n++] = fl_optimizer_name(optimizer_keys[i].kind);
    }
  }
  char who[64] = "";
  size_t at = 0;
  for (size_t i = 0; i < n && at < sizeof who; i++) {
    const char *sep = i == 0 ? "" : i + 1 == n ? " and " : ", ";
    int w = snprintf(who + at, sizeof who - at, "%s%s", sep, owners[i]);
    if (w < 0) break;
    at += (size_t)w;
  }
  char key_path[FL__KEYPATH_MAX];
  fl__path_key(key_path, path, key);
  return fl__fail(err, key_path, "%s takes no \"%s\" (only %s %s)",
                  fl_optimizer_name(kind), key, who, n == 1 ? "does" : "do");
}

int fl__decode_optimizer(const cJSON *item, const char *path,
                         fl_optimizer_spec *opt, fl_error *err) {
  /* learning_rate above 1e3 is never meant; the diagnosis suggests lr*10
   * probes, and a cap keeps those finite in float32 too. */
  static const fl__range learning_rate = {0.0, 1e3, true, false};
  static const fl__range unit_fraction = {0.0, 1.0, false, true};
  static const fl__range positive = {0.0, HUGE_VAL, true, false};
  static const fl__range non_negative = {0.0, HUGE_VAL, false, false};
  int kind = FL_OPT_ADAM;
  int rc;
  if (cJSON_IsString(item)) {
    rc = fl__as_enum(item, path, &fl__optimizer_table, &kind, err);
    if (rc) return rc;
    fl_optimizer_defaults(opt, (fl_optimizer_kind)kind);
    return 0;
  }
  if (!cJSON_IsObject(item)) {
    return fl__expected(err, path, OPTIMIZER_EXPECTED, item);
  }
  rc = fl__check_object(item, path, any_optimizer_keys,
                        FL__ARRAY_LEN(any_optimizer_keys), err);
  if (rc) return rc;
  /* "name" may be left out, meaning the default optimizer (adam), so that
   * a merge-patch fix such as {"optimizer": {"learning_rate": 0.001}} still
   * yields a complete spec. */
  rc =
      fl__get_enum(item, path, "name", false, &fl__optimizer_table, &kind, err);
  if (rc < 0) return rc;
  fl_optimizer_defaults(opt, (fl_optimizer_kind)kind);
  for (const cJSON *c = item->child; c; c = c->next) {
    if (!optimizer_takes(opt->kind, c->string)) {
      return foreign_key(path, c->string, opt->kind, err);
    }
  }
  /* Keys the optimizer does not take were rejected above, so each call
   * below either finds a key of this optimizer or leaves its default. */
  /* "learning_rate" may be a schedule object (spec_callbacks.c), which
   * sets learning_rate to its initial_learning_rate. */
  const cJSON *lr_item = cJSON_GetObjectItemCaseSensitive(item, "learning_rate");
  bool scheduled = lr_item && cJSON_IsObject(lr_item);
  if (scheduled) {
    char key_path[FL__KEYPATH_MAX];
    fl__path_key(key_path, path, "learning_rate");
    if ((rc = fl__decode_schedule(lr_item, key_path, opt, err))) return rc;
  }
  const struct {
    const char *key;
    const fl__range *range;
    float *value;
  } params[] = {
      {"learning_rate", &learning_rate, &opt->learning_rate},
      {"clipnorm", &positive, &opt->clipnorm},
      {"global_clipnorm", &positive, &opt->global_clipnorm},
      {"clipvalue", &positive, &opt->clipvalue},
      {"momentum", &unit_fraction, &opt->momentum},
      {"beta_1", &unit_fraction, &opt->beta_1},
      {"beta_2", &unit_fraction, &opt->beta_2},
      {"epsilon", &positive, &opt->epsilon},
      {"rho", &unit_fraction, &opt->rho},
      {"weight_decay", &non_negative, &opt->weight_decay},
  };
  for (size_t i = 0; i < FL__ARRAY_LEN(params); i++) {
    if (scheduled && params[i].value == &opt->learning_rate) continue;
    rc = fl__get_float(item, path, params[i].key, false, params[i].range,
                       params[i].value, err);
    if (rc < 0) return rc;
  }
  rc = fl__get_bool(item, path, "nesterov", false, &opt->nesterov, err);
  if (rc < 0) return rc;
  /* Keras 3 refuses more than one clipping (its optimizers apply only one). */
  int clips = (opt->clipnorm > 0) + (opt->global_clipnorm > 0) + (opt->clipvalue > 0);
  if (clips > 1) {
    char key_path[FL__KEYPATH_MAX];
    fl__path_key(key_path, path, opt->clipvalue > 0 ? "clipvalue" : "global_clipnorm");
    return fl__fail(err, key_path,
                    "only one of \"clipnorm\", \"global_clipnorm\" and "
                    "\"clipvalue\" can be set (as in Keras); keep one");
  }
  return 0;
}

int fl__decode_monitor(const cJSON *item, const char *path,
                       fl_monitor_spec *monitor, fl_error *err) {
  static const char *const keys[] = {"patience", "min_delta", "on_plateau"};
  static const fl__range non_negative = {0.0, HUGE_VAL, false, false};
  int rc = fl__check_object(item, path, keys, FL__ARRAY_LEN(keys), err);
  if (rc) return rc;
  rc = fl__get_int(item, path, "patience", false, 1, 10000, &monitor->patience,
                   err);
  if (rc < 0) return rc;
  rc = fl__get_float(item, path, "min_delta", false, &non_negative,
                     &monitor->min_delta, err);
  if (rc < 0) return rc;
  int action = (int)monitor->on_plateau;
  rc = fl__get_enum(item, path, "on_plateau", false, &fl__plateau_table,
                    &action, err);
  if (rc < 0) return rc;
  monitor->on_plateau = (fl_plateau_action)action;
  return 0;
}

int fl_spec_classes(const fl_job_spec *spec) {
  if (spec->n_layers < 1) return 0;
  int units = spec->layers[spec->n_layers - 1].units;
  return spec->loss.kind == FL_LOSS_BINARY_CE && units == 1 ? 2 : units;
}

/* "metrics": Keras' names. "accuracy" (also "acc", the Keras 2 alias) is
 * always computed; "top_<k>_accuracy" (flatline's), and Keras'
 * "sparse_top_k_categorical_accuracy" / "top_k_categorical_accuracy"
 * (their default k is 5), set spec->top_k. */
#define METRICS_EXPECTED \
  "an array of metric names such as [\"accuracy\", \"top_5_accuracy\"]"
#define FL__KERAS_TOP_K_DEFAULT 5 /* keras.metrics.*TopKCategoricalAccuracy */

int fl__decode_metrics(const cJSON *item, const char *path, fl_job_spec *spec,
                       fl_error *err) {
  static const char *const names[] = {
      "accuracy", "acc", "sparse_categorical_accuracy", "categorical_accuracy",
      "binary_accuracy", "top_5_accuracy", "sparse_top_k_categorical_accuracy",
      "top_k_categorical_accuracy"};
  if (!cJSON_IsArray(item)) return fl__expected(err, path, METRICS_EXPECTED, item);
  int i = 0, classes = fl_spec_classes(spec);
  for (const cJSON *c = item->child; c; c = c->next, i++) {
    char at[FL__KEYPATH_MAX];
    fl__path_index(at, path, i);
    if (!cJSON_IsString(c)) return fl__expected(err, at, METRICS_EXPECTED, c);
    const char *s = c->valuestring;
    int k = 0, used = 0;
    if (strcmp(s, "sparse_top_k_categorical_accuracy") == 0 ||
        strcmp(s, "top_k_categorical_accuracy") == 0) {
      k = FL__KERAS_TOP_K_DEFAULT;
    } else if (sscanf(s, "top_%d_accuracy%n", &k, &used) == 1 &&
               s[used] == '\0' && strncmp(s, "top_", 4) == 0 &&
               s[4] >= '1' && s[4] <= '9') {
      /* k from the name */
    } else if (fl__key_in(s, names, 5)) {
      continue;
    } else {
      const char *hint = fl__suggest(s, names, FL__ARRAY_LEN(names));
      return fl__fail(err, at, "unknown metric \"%.64s\"%s%s%s (flatline "
                      "reports accuracy, per-class precision, recall, F1 and "
                      "a confusion matrix always; top_<k>_accuracy on "
                      "request)", s, hint ? "; did you mean \"" : "",
                      hint ? hint : "", hint ? "\"?" : "");
    }
    if (k < 1 || k >= classes)
      return fl__fail(err, at, "%s needs more than %d classes (top-%d of %d "
                      "is always right); the model has %d: use a smaller k "
                      "or leave it out", s, k, k, classes, classes);
    if (spec->top_k && spec->top_k != k)
      return fl__fail(err, at, "a second top-k accuracy (k %d and %d); "
                      "flatline reports one", spec->top_k, k);
    spec->top_k = k;
  }
  return 0;
}

/* "class_weight": "balanced", or {"<class id>": weight, ...} with each id
 * below the last layer's units (k). */
#define CLASS_WEIGHT_EXPECTED                                              \
  "\"balanced\" or an object mapping class ids to weights such as {\"0\": " \
  "1.0, \"1\": 5.0}"

int fl__decode_class_weight(const cJSON *item, const char *path, int k,
                            fl_class_weight_spec *cw, fl_error *err) {
  static const fl__range non_negative = {0.0, HUGE_VAL, false, false};
  memset(cw, 0, sizeof *cw);
  if (cJSON_IsString(item)) {
    if (strcmp(item->valuestring, "balanced") != 0)
      return fl__expected(err, path, CLASS_WEIGHT_EXPECTED, item);
    cw->mode = FL_CLASS_WEIGHT_BALANCED;
    return 0;
  }
  if (!cJSON_IsObject(item))
    return fl__expected(err, path, CLASS_WEIGHT_EXPECTED, item);
  cw->mode = FL_CLASS_WEIGHT_EXPLICIT;
  for (const cJSON *c = item->child; c; c = c->next) {
    char key_path[FL__KEYPATH_MAX];
    fl__path_key(key_path, path, c->string);
    /* A class id: decimal digits only, no sign, no leading zeros. */
    const char *s = c->string;
    size_t len = strlen(s);
    bool digits = len > 0 && len <= 6 && (len == 1 || s[0] != '0');
    for (size_t i = 0; digits && i < len; i++)
      digits = s[i] >= '0' && s[i] <= '9';
    long id = digits ? strtol(s, NULL, 10) : -1;
    if (id < 0 || id >= k)
      return fl__fail(err, key_path,
                      "expected a class id from 0 to %d (the last layer has "
                      "%d units), got \"%s\"", k - 1, k, s);
    for (int j = 0; j < cw->n; j++)
      if (cw->cls[j] == (int)id)
        return fl__fail(err, key_path, "class %ld is given twice", id);
    if (cw->n >= FL_MAX_CLASS_WEIGHTS)
      return fl__fail(err, path, "expected at most %d classes, got more; use "
                      "\"balanced\" or leave classes of weight 1 out",
                      FL_MAX_CLASS_WEIGHTS);
    int rc = fl__as_float(c, key_path, &non_negative, &cw->weight[cw->n], err);
    if (rc) return rc;
    cw->cls[cw->n++] = (int)id;
  }
  if (cw->n == 0)
    return fl__fail(err, path, "expected %s, got an empty object (leave "
                    "\"class_weight\" out for equal weights)",
                    CLASS_WEIGHT_EXPECTED);
  return 0;
}
