/* protocol/spec_callbacks.c — owns the decoding of validation-driven
 * training: the "callbacks" list (Keras's EarlyStopping, ReduceLROnPlateau
 * and ModelCheckpoint, by Keras's argument names and defaults), a
 * "learning_rate" schedule object (keras.optimizers.schedules), the
 * combinations of them that cannot work, and fl_learning_rate_at, the
 * schedules' formulas, shared by the engine and the tests. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spec_internal.h"

/* C11 has no M_PI. */
#define FL__PI 3.14159265358979323846

/* ---- learning-rate schedules ---------------------------------------------
 * Keras 3 (keras/src/optimizers/schedules/learning_rate_schedule.py):
 *   exponential_decay: lr0 * decay_rate ^ (step / decay_steps), the
 *     exponent floor()ed when staircase (a step schedule).
 *   cosine_decay, no warmup_target: s = min(step, decay_steps);
 *     lr0 * ((1 - alpha) * 0.5 (1 + cos(pi s / decay_steps)) + alpha).
 *   cosine_decay with warmup_target: s = min(step, warmup_steps +
 *     decay_steps); s < warmup_steps: lr0 + (target - lr0) s / warmup_steps
 *     (linear warm-up); after: the cosine from target over decay_steps.
 *   piecewise_constant_decay: values[0] while step <= boundaries[0],
 *     values[i] while boundaries[i-1] < step <= boundaries[i], the last
 *     value after the last boundary. */

static double cosine_from(double peak, double alpha, double s,
                          double decay_steps) {
  double cosine = 0.5 * (1.0 + cos(FL__PI * s / decay_steps));
  return peak * ((1.0 - alpha) * cosine + alpha);
}

double fl_round_digits(double v, int digits) {
  char buf[40];
  snprintf(buf, sizeof buf, "%.*g", digits, v);
  return strtod(buf, NULL);
}

void fl_optimizer_scale_rate(fl_optimizer_spec *opt, double f) {
  fl_lr_schedule *s = &opt->schedule;
  /* To 6 digits: a rate read as 1e-5f and scaled by 100 is 0.001 (what a
   * fix proposes and a probe trains at), not the float product
   * 0.0009999999. */
  opt->learning_rate = (float)fl_round_digits((double)opt->learning_rate * f, 6);
  if (s->kind == FL_SCHEDULE_PIECEWISE)
    for (int i = 0; i <= s->n_boundaries && i <= FL_SCHEDULE_MAX_BOUNDARIES; i++)
      s->values[i] *= f;
  if (s->kind == FL_SCHEDULE_COSINE && s->warmup) s->warmup_target *= f;
}

double fl_learning_rate_at(const fl_optimizer_spec *opt, long step) {
  const fl_lr_schedule *s = &opt->schedule;
  double lr0 = opt->learning_rate, t = step > 0 ? (double)step : 0.0;
  switch (s->kind) {
    case FL_SCHEDULE_NONE:
      return lr0;
    case FL_SCHEDULE_EXPONENTIAL: {
      double p = t / s->decay_steps;
      if (s->staircase) p = floor(p);
      return lr0 * pow(s->decay_rate, p);
    }
    case FL_SCHEDULE_PIECEWISE: {
      int i = 0;
      while (i < s->n_boundaries && t > s->boundaries[i]) i++;
      return s->values[i];
    }
    case FL_SCHEDULE_COSINE:
      if (!s->warmup) {
        return cosine_from(lr0, s->alpha, fmin(t, s->decay_steps),
                           s->decay_steps);
      }
      t = fmin(t, s->warmup_steps + s->decay_steps);
      if (t < s->warmup_steps)
        return lr0 + (s->warmup_target - lr0) * t / s->warmup_steps;
      return cosine_from(s->warmup_target, s->alpha, t - s->warmup_steps,
                         s->decay_steps);
  }
  return lr0;
}

#define SCHEDULE_EXPECTED                                                   \
  "a number or a schedule such as {\"name\": \"exponential_decay\", "       \
  "\"initial_learning_rate\": 0.01, \"decay_steps\": 1000, \"decay_rate\": " \
  "0.9} or {\"name\": \"cosine_decay\", \"initial_learning_rate\": 0.001, "  \
  "\"decay_steps\": 1000}"

static const fl__enum_entry schedule_entries[] = {
    {"exponential_decay", FL_SCHEDULE_EXPONENTIAL},
    {"cosine_decay", FL_SCHEDULE_COSINE},
    {"piecewise_constant_decay", FL_SCHEDULE_PIECEWISE}};
static const fl__enum_table schedule_table = {schedule_entries,
                                              FL__ARRAY_LEN(schedule_entries)};

/* Steps are counted in batches and fit an int (Keras takes ints too). */
#define FL__SCHEDULE_MAX_STEPS 1000000000

/* piecewise_constant_decay's "boundaries" (increasing step counts) and
 * "values" (one more rate than boundaries). */
static int decode_pieces(const cJSON *item, const char *path, fl_lr_schedule *s,
                         fl_error *err) {
  static const fl__range rate = {0.0, 1e3, true, false};
  const cJSON *b = cJSON_GetObjectItemCaseSensitive(item, "boundaries");
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(item, "values");
  char key_path[FL__KEYPATH_MAX], at[FL__KEYPATH_MAX];
  if (!b) return fl__missing(err, path, "boundaries", "an array of increasing step counts");
  if (!v) return fl__missing(err, path, "values", "an array of learning rates, one more than "
                             "the boundaries");
  fl__path_key(key_path, path, "boundaries");
  int nb = cJSON_IsArray(b) ? cJSON_GetArraySize(b) : -1;
  if (nb < 1 || nb > FL_SCHEDULE_MAX_BOUNDARIES)
    return fl__fail(err, key_path, "expected an array of 1 to %d increasing step counts",
                    FL_SCHEDULE_MAX_BOUNDARIES);
  int i = 0;
  for (const cJSON *c = b->child; c; c = c->next, i++) {
    int64_t step = 0;
    fl__path_index(at, key_path, i);
    int rc = fl__as_int64(c, at, 0, FL__SCHEDULE_MAX_STEPS, &step, err);
    if (rc) return rc;
    if (i > 0 && (double)step <= s->boundaries[i - 1])
      return fl__fail(err, at, "boundaries must increase: %lld after %.0f",
                      (long long)step, s->boundaries[i - 1]);
    s->boundaries[i] = (double)step;
  }
  s->n_boundaries = nb;
  fl__path_key(key_path, path, "values");
  int nv = cJSON_IsArray(v) ? cJSON_GetArraySize(v) : -1;
  if (nv != nb + 1)
    return fl__fail(err, key_path, "expected %d learning rates (one more than the %d "
                    "boundaries: the last holds after the last boundary), got %s%d",
                    nb + 1, nb, nv < 0 ? "no array " : "", nv < 0 ? 0 : nv);
  i = 0;
  for (const cJSON *c = v->child; c; c = c->next, i++) {
    float value = 0;
    fl__path_index(at, key_path, i);
    int rc = fl__as_float(c, at, &rate, &value, err);
    if (rc) return rc;
    s->values[i] = value;
  }
  return 0;
}

int fl__decode_schedule(const cJSON *item, const char *path,
                        fl_optimizer_spec *opt, fl_error *err) {
  static const char *const exponential_keys[] = {
      "name", "initial_learning_rate", "decay_steps", "decay_rate", "staircase"};
  static const char *const cosine_keys[] = {
      "name",  "initial_learning_rate", "decay_steps",
      "alpha", "warmup_target",         "warmup_steps"};
  static const char *const piecewise_keys[] = {"name", "boundaries", "values"};
  static const char *const any_keys[] = {
      "name",      "initial_learning_rate", "decay_steps",  "decay_rate",
      "staircase", "alpha",                 "warmup_target", "warmup_steps",
      "boundaries", "values"};
  /* The same cap as a plain learning_rate (spec_train.c); 0 only as a
   * warm-up's start. */
  static const fl__range rate = {0.0, 1e3, false, false};
  static const fl__range positive = {0.0, 1e3, true, false};
  static const fl__range fraction = {0.0, 1.0, false, false};
  fl_lr_schedule *s = &opt->schedule;
  char key_path[FL__KEYPATH_MAX];
  if (!cJSON_IsObject(item)) return fl__expected(err, path, SCHEDULE_EXPECTED, item);
  int rc = fl__check_object(item, path, any_keys, FL__ARRAY_LEN(any_keys), err);
  if (rc) return rc;
  int kind = 0;
  if ((rc = fl__get_enum(item, path, "name", true, &schedule_table, &kind, err)) < 0)
    return rc;
  memset(s, 0, sizeof *s);
  s->kind = (fl_schedule_kind)kind;
  static const struct {
    const char *name;
    const char *const *keys;
    size_t n;
  } takes[] = {
      [FL_SCHEDULE_EXPONENTIAL] = {"exponential_decay", exponential_keys,
                                   FL__ARRAY_LEN(exponential_keys)},
      [FL_SCHEDULE_COSINE] = {"cosine_decay", cosine_keys, FL__ARRAY_LEN(cosine_keys)},
      [FL_SCHEDULE_PIECEWISE] = {"piecewise_constant_decay", piecewise_keys,
                                 FL__ARRAY_LEN(piecewise_keys)},
  };
  for (const cJSON *c = item->child; c; c = c->next) {
    if (fl__key_in(c->string, takes[kind].keys, takes[kind].n)) continue;
    const char *owner = "no schedule";
    for (int k = FL_SCHEDULE_EXPONENTIAL; k <= FL_SCHEDULE_PIECEWISE; k++)
      if (fl__key_in(c->string, takes[k].keys, takes[k].n)) {
        owner = takes[k].name;
        break;
      }
    fl__path_key(key_path, path, c->string);
    return fl__fail(err, key_path, "%s takes no \"%s\" (%s does)", takes[kind].name, c->string,
                    owner);
  }
  if (kind == FL_SCHEDULE_PIECEWISE) {
    if ((rc = decode_pieces(item, path, s, err))) return rc;
    opt->learning_rate = (float)s->values[0];
    return 0;
  }
  float lr0 = 0, decay_rate = 0, alpha = 0, target = 0;
  int decay_steps = 0, warmup_steps = 0;
  if ((rc = fl__get_float(item, path, "initial_learning_rate", true, &rate, &lr0, err)) < 0 ||
      (rc = fl__get_int(item, path, "decay_steps", true, 1, FL__SCHEDULE_MAX_STEPS,
                        &decay_steps, err)) < 0)
    return rc;
  s->decay_steps = decay_steps;
  if (kind == FL_SCHEDULE_EXPONENTIAL) {
    if ((rc = fl__get_float(item, path, "decay_rate", true, &positive, &decay_rate, err)) < 0 ||
        (rc = fl__get_bool(item, path, "staircase", false, &s->staircase, err)) < 0)
      return rc;
    s->decay_rate = decay_rate;
  } else {
    if ((rc = fl__get_float(item, path, "alpha", false, &fraction, &alpha, err)) < 0 ||
        (rc = fl__get_int(item, path, "warmup_steps", false, 0, FL__SCHEDULE_MAX_STEPS,
                          &warmup_steps, err)) < 0)
      return rc;
    s->alpha = alpha;
    s->warmup_steps = warmup_steps;
    if ((rc = fl__get_float(item, path, "warmup_target", false, &positive, &target, err)) < 0)
      return rc;
    s->warmup = rc == 1;
    s->warmup_target = target;
    if (warmup_steps > 0 && !s->warmup) {
      fl__path_key(key_path, path, "warmup_steps");
      return fl__fail(err, key_path,
                      "a warm-up needs \"warmup_target\", the learning rate "
                      "it climbs to (Keras ignores warmup_steps without it); "
                      "add \"warmup_target\" or remove \"warmup_steps\"");
    }
  }
  if (!(lr0 > 0) && !(s->warmup && warmup_steps > 0)) {
    fl__path_key(key_path, path, "initial_learning_rate");
    return fl__fail(err, key_path,
                    "expected a number above 0 and at most 1000, got 0 (0 "
                    "is only a warm-up's start: add \"warmup_target\" and "
                    "\"warmup_steps\")");
  }
  opt->learning_rate = lr0;
  return 0;
}

/* ---- callbacks ------------------------------------------------------------ */

#define CALLBACKS_EXPECTED                                                   \
  "an array of callback objects such as {\"type\": \"early_stopping\", "    \
  "\"monitor\": \"val_loss\", \"patience\": 3, \"restore_best_weights\": " \
  "true}"
#define CALLBACK_EXPECTED \
  "a callback object such as {\"type\": \"early_stopping\", \"patience\": 3}"

static const fl__enum_entry mode_entries[] = {
    {"auto", FL_MODE_AUTO}, {"min", FL_MODE_MIN}, {"max", FL_MODE_MAX}};
static const fl__enum_table mode_table = {mode_entries, FL__ARRAY_LEN(mode_entries)};

static const char *const early_stopping_keys[] = {
    "type", "monitor", "min_delta", "patience", "mode", "restore_best_weights",
    "start_from_epoch"};
static const char *const reduce_lr_keys[] = {
    "type", "monitor", "factor", "patience", "mode", "min_delta", "cooldown",
    "min_lr"};
static const char *const checkpoint_keys[] = {"type", "monitor", "mode",
                                              "save_best_only"};
static const char *const any_callback_keys[] = {
    "type",     "monitor",  "min_delta", "patience",         "mode",
    "restore_best_weights", "start_from_epoch", "factor",   "cooldown",
    "min_lr",   "save_best_only"};

static const struct {
  fl_callback_kind kind;
  const char *const *keys;
  size_t n_keys;
} callback_keys[] = {
    {FL_CALLBACK_EARLY_STOPPING, early_stopping_keys, FL__ARRAY_LEN(early_stopping_keys)},
    {FL_CALLBACK_REDUCE_LR_ON_PLATEAU, reduce_lr_keys, FL__ARRAY_LEN(reduce_lr_keys)},
    {FL_CALLBACK_MODEL_CHECKPOINT, checkpoint_keys, FL__ARRAY_LEN(checkpoint_keys)},
};

/* Keras's defaults for a callback of this kind (protocol.h lists them). */
static void callback_defaults(fl_callback_spec *cb, fl_callback_kind kind) {
  memset(cb, 0, sizeof *cb);
  cb->kind = kind;
  cb->monitor = FL_METRIC_VAL_LOSS;
  cb->mode = FL_MODE_AUTO;
  if (kind == FL_CALLBACK_REDUCE_LR_ON_PLATEAU) {
    cb->factor = 0.1;
    cb->patience = 10;
    cb->min_delta = 1e-4;
  }
}

/* A key of another callback kind: name who takes it. */
static int foreign_key(const char *path, const char *key, fl_callback_kind kind,
                       fl_error *err) {
  const char *owner = NULL;
  for (size_t i = 0; i < FL__ARRAY_LEN(callback_keys) && !owner; i++)
    if (fl__key_in(key, callback_keys[i].keys, callback_keys[i].n_keys))
      owner = fl_callback_name(callback_keys[i].kind);
  char key_path[FL__KEYPATH_MAX];
  fl__path_key(key_path, path, key);
  return fl__fail(err, key_path, "%s takes no \"%s\" (%s does)",
                  fl_callback_name(kind), key, owner ? owner : "no callback");
}

static int decode_callback(const cJSON *obj, const char *path,
                           fl_callback_spec *cb, fl_error *err) {
  static const fl__range non_negative = {0.0, HUGE_VAL, false, false};
  static const fl__range factor = {0.0, 1.0, true, true};
  if (!cJSON_IsObject(obj)) return fl__expected(err, path, CALLBACK_EXPECTED, obj);
  if (cJSON_GetObjectItemCaseSensitive(obj, "filepath")) {
    char key_path[FL__KEYPATH_MAX];
    fl__path_key(key_path, path, "filepath");
    return fl__fail(err, key_path,
                    "flatline keeps the model with the job (fetch it with "
                    "`flatline export`); remove \"filepath\"");
  }
  int rc = fl__check_object(obj, path, any_callback_keys,
                            FL__ARRAY_LEN(any_callback_keys), err);
  if (rc) return rc;
  int kind = 0;
  if ((rc = fl__get_enum(obj, path, "type", true, &fl__callback_table, &kind, err)) < 0)
    return rc;
  callback_defaults(cb, (fl_callback_kind)kind);
  for (size_t i = 0; i < FL__ARRAY_LEN(callback_keys); i++) {
    if (callback_keys[i].kind != cb->kind) continue;
    for (const cJSON *c = obj->child; c; c = c->next)
      if (!fl__key_in(c->string, callback_keys[i].keys, callback_keys[i].n_keys))
        return foreign_key(path, c->string, cb->kind, err);
  }
  int metric = (int)cb->monitor, mode = (int)cb->mode;
  float min_delta = (float)cb->min_delta, fac = (float)cb->factor, min_lr = 0;
  if ((rc = fl__get_enum(obj, path, "monitor", false, &fl__metric_table, &metric, err)) < 0 ||
      (rc = fl__get_enum(obj, path, "mode", false, &mode_table, &mode, err)) < 0 ||
      (rc = fl__get_int(obj, path, "patience", false, 0, 100000, &cb->patience, err)) < 0 ||
      (rc = fl__get_float(obj, path, "min_delta", false, &non_negative, &min_delta, err)) < 0 ||
      (rc = fl__get_bool(obj, path, "restore_best_weights", false,
                         &cb->restore_best_weights, err)) < 0 ||
      (rc = fl__get_int(obj, path, "start_from_epoch", false, 0, 100000,
                        &cb->start_from_epoch, err)) < 0 ||
      (rc = fl__get_float(obj, path, "factor", false, &factor, &fac, err)) < 0 ||
      (rc = fl__get_float(obj, path, "min_lr", false, &non_negative, &min_lr, err)) < 0 ||
      (rc = fl__get_int(obj, path, "cooldown", false, 0, 100000, &cb->cooldown, err)) < 0 ||
      (rc = fl__get_bool(obj, path, "save_best_only", false, &cb->save_best_only, err)) < 0)
    return rc;
  cb->monitor = (fl_metric)metric;
  cb->mode = (fl_monitor_mode)mode;
  cb->min_delta = min_delta;
  cb->factor = fac;
  cb->min_lr = min_lr;
  return 0;
}

static bool keeps_weights(const fl_callback_spec *cb) {
  return (cb->kind == FL_CALLBACK_EARLY_STOPPING && cb->restore_best_weights) ||
         (cb->kind == FL_CALLBACK_MODEL_CHECKPOINT && cb->save_best_only);
}

/* max for accuracies, min for losses: Keras's "auto". */
static bool maximizes(const fl_callback_spec *cb) {
  if (cb->mode != FL_MODE_AUTO) return cb->mode == FL_MODE_MAX;
  return cb->monitor == FL_METRIC_ACCURACY || cb->monitor == FL_METRIC_VAL_ACCURACY;
}

/* What the callbacks cannot do together, or with the rest of the spec. */
static int check_combinations(const fl_job_spec *spec, const char *path,
                              fl_error *err) {
  bool has_val = spec->validation.kind != FL_SRC_NONE || spec->validation_split > 0;
  const fl_callback_spec *keeper = NULL;
  int keeper_at = -1;
  for (int i = 0; i < spec->n_callbacks; i++) {
    const fl_callback_spec *cb = &spec->callbacks[i];
    char at[FL__KEYPATH_MAX], key_path[FL__KEYPATH_MAX];
    fl__path_index(at, path, i);
    for (int j = 0; j < i; j++)
      if (spec->callbacks[j].kind == cb->kind)
        return fl__fail(err, at, "a second %s (the first is %s[%d]); keep one",
                        fl_callback_name(cb->kind), path, j);
    bool val_metric = cb->monitor == FL_METRIC_VAL_LOSS || cb->monitor == FL_METRIC_VAL_ACCURACY;
    if (val_metric && !has_val) {
      fl__path_key(key_path, at, "monitor");
      return fl__fail(err, key_path,
                      "%s needs validation data, and this spec has none; add "
                      "\"data\": {\"validation\": ...} or "
                      "\"validation_split\", or monitor \"%s\"",
                      fl_metric_name(cb->monitor),
                      cb->monitor == FL_METRIC_VAL_LOSS ? "loss" : "accuracy");
    }
    if (cb->kind == FL_CALLBACK_REDUCE_LR_ON_PLATEAU) {
      if (spec->optimizer.schedule.kind != FL_SCHEDULE_NONE)
        return fl__fail(err, at,
                        "reduce_lr_on_plateau cannot change a scheduled "
                        "learning rate (Keras refuses it too); use a number "
                        "for optimizer.learning_rate or remove this callback");
      if (spec->monitor.on_plateau == FL_PLATEAU_REDUCE_LR)
        return fl__fail(err, at,
                        "reduce_lr_on_plateau and monitor.on_plateau "
                        "\"reduce_lr\" would both lower the learning rate; "
                        "keep one");
    }
    if (keeps_weights(cb)) {
      if (keeper && (keeper->monitor != cb->monitor || maximizes(keeper) != maximizes(cb)))
        return fl__fail(err, at,
                        "%s keeps the best weights by %s (%s) but %s[%d] "
                        "keeps them by %s (%s): the job keeps one best "
                        "epoch; monitor the same metric in both",
                        fl_callback_name(cb->kind), fl_metric_name(cb->monitor),
                        maximizes(cb) ? "max" : "min", path, keeper_at,
                        fl_metric_name(keeper->monitor),
                        maximizes(keeper) ? "max" : "min");
      keeper = cb;
      keeper_at = i;
    }
  }
  if (spec->optimizer.schedule.kind != FL_SCHEDULE_NONE &&
      spec->monitor.on_plateau == FL_PLATEAU_REDUCE_LR)
    return fl__fail(err, "monitor.on_plateau",
                    "\"reduce_lr\" cannot change a scheduled learning rate "
                    "(optimizer.learning_rate is a schedule); use \"alert\" "
                    "or a number for the learning rate");
  return 0;
}

int fl__decode_callbacks(const cJSON *item, const char *path, fl_job_spec *spec,
                         fl_error *err) {
  spec->n_callbacks = 0;
  if (item) {
    if (!cJSON_IsArray(item)) return fl__expected(err, path, CALLBACKS_EXPECTED, item);
    int n = 0;
    for (const cJSON *c = item->child; c; c = c->next) n++;
    if (n > FL_MAX_CALLBACKS)
      return fl__fail(err, path, "expected at most %d callbacks, got %d",
                      FL_MAX_CALLBACKS, n);
    int i = 0;
    for (const cJSON *c = item->child; c; c = c->next, i++) {
      char at[FL__KEYPATH_MAX];
      fl__path_index(at, path, i);
      int rc = decode_callback(c, at, &spec->callbacks[i], err);
      if (rc) return rc;
      spec->n_callbacks = i + 1;
    }
  }
  return check_combinations(spec, path, err);
}
