/* tests/test_preflight.c — cmocka tests of diagnose/preflight.c (the checks
 * of a spec against its data before training), diagnose/causes.c (cause
 * names) and diagnose/fix_json.c (fixes as merge patches).
 *
 * Every case runs the way the daemon does: a spec parsed with fl_spec_parse,
 * small in-memory datasets scaled by the spec's "scale" and summarized with
 * fl_dataset_stats_compute, then fl_preflight. Every fix a case produces is
 * applied to the spec text with fl_json_merge_patch, the result is parsed
 * again (a fix that breaks the spec fails the test) and its data
 * re-summarized with the new scales, and preflight must then no longer
 * report that finding's cause.
 *
 * Specs are written with ' instead of " so that they read like JSON. */
/* cmocka.h needs these four first */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../diagnose/fix_json.h"
#include "flatline/diagnose.h"

/* ---- data: small splits built in memory -------------------------------- */

typedef struct {
  size_t n, d;
  float *x; /* (n, d), before the spec's scale */
  fl_label_kind kind;
  size_t k;
  int32_t *ids; /* (n) */
  float *y;     /* (n, k) */
} raw_split;

/* Features in [0, 0.9] with about the same spread in every column. */
static void fill_features(raw_split *r) {
  for (size_t i = 0; i < r->n; i++)
    for (size_t j = 0; j < r->d; j++)
      r->x[i * r->d + j] = (float)((i * 7 + j * 3) % 10) / 10.0f;
}

/* n rows, d features, class ids i % classes. */
static raw_split ids_split(size_t n, size_t d, int classes) {
  raw_split r = {.n = n, .d = d, .kind = FL_LABELS_IDS};
  r.x = calloc(n * d + 1, sizeof *r.x);
  r.ids = calloc(n + 1, sizeof *r.ids);
  assert_non_null(r.x);
  assert_non_null(r.ids);
  fill_features(&r);
  for (size_t i = 0; i < n; i++) r.ids[i] = (int32_t)(i % (size_t)classes);
  return r;
}

/* n rows, d features, one-hot rows of width k (class i % k). */
static raw_split onehot_split(size_t n, size_t d, size_t k) {
  raw_split r = {.n = n, .d = d, .kind = FL_LABELS_DENSE, .k = k};
  r.x = calloc(n * d + 1, sizeof *r.x);
  r.y = calloc(n * k + 1, sizeof *r.y);
  assert_non_null(r.x);
  assert_non_null(r.y);
  fill_features(&r);
  for (size_t i = 0; i < n; i++) r.y[i * k + i % k] = 1.0f;
  return r;
}

static void raw_free(raw_split *r) {
  free(r->x);
  free(r->ids);
  free(r->y);
  memset(r, 0, sizeof *r);
}

/* Statistics of r as the daemon computes them: features times scale. */
static void stats_of(const raw_split *r, float scale, fl_dataset_stats *st) {
  float *x = malloc(r->n * r->d * sizeof *x + 1);
  assert_non_null(x);
  for (size_t i = 0; i < r->n * r->d; i++) x[i] = r->x[i] * scale;
  fl_dataset ds = {.n = r->n, .d = r->d, .x = x, .label_kind = r->kind,
                   .k = r->k, .ids = r->ids, .y = r->y};
  fl_error err = {0};
  int rc = fl_dataset_stats_compute(&ds, st, &err);
  free(x);
  if (rc) fail_msg("stats: %d %s", rc, err.msg);
}

/* ---- specs --------------------------------------------------------------- */

#define TRAIN_NPY "'train':{'features':'X.npy','labels':'y.npy'}"
#define VAL_NPY "'validation':{'features':'Xv.npy','labels':'yv.npy'}"
/* The hidden layer has a parameterised initializer and a non-default bias
 * initializer: a layers fix must carry both over. */
#define HIDDEN                                                          \
  "{'type':'dense','units':8,'activation':'relu','kernel_initializer':" \
  "{'name':'random_normal','stddev':0.1},'bias_initializer':"           \
  "{'name':'constant','value':0.25}}"

/* A spec (real JSON, malloc'd): data is the value of "data" (NULL: train
 * from X.npy/y.npy), then the output layer and the loss. */
static char *make_spec(const char *data, int units, const char *act,
                       const char *loss) {
  char quoted[4096];
  snprintf(quoted, sizeof quoted,
           "{'data':{%s},'model':{'layers':[" HIDDEN ",{'type':'dense',"
           "'units':%d,'activation':'%s'}]},'loss':%s,'optimizer':"
           "{'name':'sgd','learning_rate':0.01,'momentum':0.9},'epochs':2}",
           data ? data : TRAIN_NPY, units, act, loss);
  char *json = strdup(quoted);
  assert_non_null(json);
  for (char *c = json; *c; c++)
    if (*c == '\'') *c = '"';
  return json;
}

#define SPARSE "'sparse_categorical_crossentropy'"
#define CCE "'categorical_crossentropy'"
#define MSE "'mean_squared_error'"
#define SPARSE_LOGITS "{'name':'sparse_categorical_crossentropy','from_logits':true}"
#define CCE_LOGITS "{'name':'categorical_crossentropy','from_logits':true}"

/* ---- running preflight as the daemon would ------------------------------ */

typedef struct {
  const raw_split *train;
  const raw_split *val; /* NULL: none */
  uint64_t memory_needed, device_memory;
  const char *device_name;
} job;

static void parse_ok(const char *json, fl_job_spec *spec) {
  fl_error err = {0};
  int rc = fl_spec_parse(json, strlen(json), spec, &err);
  if (rc) fail_msg("spec %s does not parse: %s", json, err.msg);
}

static void run(const char *json, const job *j, fl_findings *out) {
  fl_job_spec spec;
  parse_ok(json, &spec);
  float train_scale = spec.train.has_scale ? spec.train.scale : 1.0f;
  /* A validation_split takes rows (and the scale) of the training source. */
  float val_scale = spec.validation.kind == FL_SRC_NONE ? train_scale
                    : spec.validation.has_scale ? spec.validation.scale
                                                : 1.0f;
  fl_dataset_stats tr, va;
  stats_of(j->train, train_scale, &tr);
  if (j->val) stats_of(j->val, val_scale, &va);
  fl_preflight_input in = {.spec = &spec,
                           .train = &tr,
                           .validation = j->val ? &va : NULL,
                           .memory_needed = j->memory_needed,
                           .device_memory = j->device_memory,
                           .device_name = j->device_name};
  memset(out, 0xa5, sizeof *out); /* preflight must set everything it says */
  fl_preflight(&in, out);
  assert_in_range(out->n, 0, FL_MAX_FINDINGS);
  fl_dataset_stats_free(&tr);
  if (j->val) fl_dataset_stats_free(&va);
  fl_spec_free(&spec);
}

static const fl_finding *find(const fl_findings *f, fl_cause c) {
  for (int i = 0; i < f->n; i++)
    if (f->items[i].cause == c) return &f->items[i];
  return NULL;
}

static void assert_contains(const char *hay, const char *needle) {
  if (!strstr(hay, needle))
    fail_msg("expected \"%s\" in \"%s\"", needle, hay);
}

static char *apply(const char *json, const char *patch) {
  char *out = NULL;
  fl_error err = {0};
  int rc = fl_json_merge_patch(json, strlen(json), patch, &out, &err);
  if (rc) fail_msg("patch %s on %s: %s", patch, json, err.msg);
  return out;
}

/* The fix of f, applied to json: the spec still parses, and preflight on
 * the same data no longer reports f's cause. */
static void assert_fix_clears(const char *json, const job *j,
                              const fl_finding *f) {
  if (!f->fix[0]) return;
  char *fixed = apply(json, f->fix);
  fl_findings again;
  run(fixed, j, &again);
  const fl_finding *still = find(&again, f->cause);
  if (still)
    fail_msg("fix %s left %s: %s", f->fix, fl_cause_name(f->cause),
             still->message);
  free(fixed);
}

static void assert_every_fix_clears(const char *json, const job *j,
                                    const fl_findings *f) {
  for (int i = 0; i < f->n; i++) assert_fix_clears(json, j, &f->items[i]);
}

/* Runs json on j, expects exactly n findings, that errors come first, that
 * each fix clears its cause; returns the finding of `cause` (which must be
 * there with `severity`), or NULL when cause is FL_CAUSE_NONE. */
static const fl_finding *expect(const char *json, const job *j, int n,
                                fl_cause cause, fl_severity severity,
                                fl_findings *out) {
  run(json, j, out);
  if (getenv("FL_TEST_VERBOSE")) /* to read the messages as users will */
    for (int i = 0; i < out->n; i++)
      print_message("%s %s: %s\n    fix %s\n",
                    out->items[i].severity == FL_SEVERITY_ERROR ? "error"
                                                                : "warning",
                    fl_cause_name(out->items[i].cause), out->items[i].message,
                    out->items[i].fix[0] ? out->items[i].fix : "(none)");
  if (out->n != n) {
    for (int i = 0; i < out->n; i++)
      print_message("  finding %s: %s | fix %s\n",
                    fl_cause_name(out->items[i].cause), out->items[i].message,
                    out->items[i].fix);
    fail_msg("expected %d findings for %s, got %d", n, json, out->n);
  }
  bool warned = false;
  for (int i = 0; i < out->n; i++) {
    const fl_finding *f = &out->items[i];
    assert_non_null(fl_cause_name(f->cause)); /* never FL_CAUSE_NONE */
    assert_true(f->message[0] != '\0');
    assert_true(strlen(f->message) < FL_TEXT_MAX);
    if (f->severity == FL_SEVERITY_WARNING) warned = true;
    else if (warned) fail_msg("error after a warning: %s", f->message);
  }
  assert_int_equal(fl_findings_have_error(out),
                   n > 0 && out->items[0].severity == FL_SEVERITY_ERROR);
  assert_every_fix_clears(json, j, out);
  if (cause == FL_CAUSE_NONE) return NULL;
  const fl_finding *f = find(out, cause);
  if (!f) fail_msg("no %s finding for %s", fl_cause_name(cause), json);
  assert_int_equal(f->severity, severity);
  return f;
}

#define ERROR FL_SEVERITY_ERROR
#define WARNING FL_SEVERITY_WARNING

/* ---- healthy jobs -------------------------------------------------------- */

static void test_healthy_jobs_have_no_findings(void **state) {
  (void)state;
  fl_findings f;
  raw_split tr = ids_split(60, 4, 3), va = ids_split(30, 4, 3);
  job j = {.train = &tr, .val = &va, .memory_needed = 1 << 20,
           .device_memory = 1u << 30, .device_name = "gpu"};
  char *s = make_spec(TRAIN_NPY "," VAL_NPY, 3, "softmax", SPARSE);
  expect(s, &j, 0, FL_CAUSE_NONE, ERROR, &f);
  free(s);
  /* Logits with from_logits, and a validation_split (no second source). */
  s = make_spec(TRAIN_NPY ",'validation_split':0.2", 3, "linear",
                SPARSE_LOGITS);
  expect(s, &j, 0, FL_CAUSE_NONE, ERROR, &f);
  free(s);
  raw_free(&tr);
  raw_free(&va);

  /* One-hot with categorical_crossentropy; and with MSE on a softmax
   * output, which is a legitimate (if slow) classifier. */
  tr = onehot_split(40, 5, 4);
  j = (job){.train = &tr};
  s = make_spec(NULL, 4, "softmax", CCE);
  expect(s, &j, 0, FL_CAUSE_NONE, ERROR, &f);
  free(s);
  s = make_spec(NULL, 4, "softmax", MSE);
  expect(s, &j, 0, FL_CAUSE_NONE, ERROR, &f);
  free(s);
  /* Probability rows (label smoothing) are fine too. */
  for (size_t i = 0; i < tr.n * tr.k; i++)
    tr.y[i] = tr.y[i] == 1.0f ? 0.7f : 0.1f;
  s = make_spec(NULL, 4, "linear", CCE_LOGITS);
  expect(s, &j, 0, FL_CAUSE_NONE, ERROR, &f);
  free(s);
  raw_free(&tr);

  /* A wider output than the largest id needs is allowed (ids 0..3 of 6). */
  tr = ids_split(40, 5, 4);
  s = make_spec(NULL, 6, "softmax", SPARSE);
  expect(s, &j, 0, FL_CAUSE_NONE, ERROR, &f);
  free(s);
  raw_free(&tr);
}

/* ---- invalid_data ---------------------------------------------------------- */

static void test_invalid_data(void **state) {
  (void)state;
  fl_findings f;
  char *s = make_spec(TRAIN_NPY "," VAL_NPY, 3, "softmax", SPARSE);

  /* NaN/Inf features: how many, and a feature without any finite value. */
  raw_split tr = ids_split(20, 4, 3), va = ids_split(10, 4, 3);
  for (size_t i = 0; i < tr.n; i++) tr.x[i * tr.d + 2] = NAN;
  tr.x[5 * tr.d + 0] = INFINITY;
  job j = {.train = &tr, .val = &va};
  const fl_finding *x = expect(s, &j, 1, FL_CAUSE_INVALID_DATA, ERROR, &f);
  assert_contains(x->message, "training features hold 21 NaN/Inf values (of 80)");
  assert_contains(x->message, "feature 2 has no finite value");
  assert_string_equal(x->fix, "");
  raw_free(&tr);

  /* Validation rows of another width. */
  tr = ids_split(20, 4, 3);
  raw_free(&va);
  va = ids_split(10, 5, 3);
  x = expect(s, &j, 1, FL_CAUSE_INVALID_DATA, ERROR, &f);
  assert_contains(x->message, "validation rows have 5 features but training "
                              "rows have 4");
  assert_string_equal(x->fix, "");
  raw_free(&va);
  raw_free(&tr);

  /* An empty training set. */
  tr = ids_split(0, 4, 3);
  j = (job){.train = &tr};
  x = expect(s, &j, 1, FL_CAUSE_INVALID_DATA, ERROR, &f);
  assert_contains(x->message, "training set is empty (0 rows)");
  raw_free(&tr);
  free(s);

  /* Non-finite one-hot labels, in the validation split. */
  tr = onehot_split(20, 4, 3);
  va = onehot_split(10, 4, 3);
  va.y[4 * 3 + 1] = NAN;
  j = (job){.train = &tr, .val = &va};
  s = make_spec(TRAIN_NPY "," VAL_NPY, 3, "softmax", CCE);
  x = expect(s, &j, 1, FL_CAUSE_INVALID_DATA, ERROR, &f);
  assert_contains(x->message, "1 of 10 validation label rows hold NaN/Inf");
  raw_free(&va);
  raw_free(&tr);
  free(s);

  /* No statistics at all. */
  fl_preflight_input in = {0};
  fl_preflight(&in, &f);
  assert_int_equal(f.n, 1);
  assert_int_equal(f.items[0].cause, FL_CAUSE_INVALID_DATA);
  assert_true(fl_findings_have_error(&f));
}

/* Validation rows of classes the training rows lack (rows sorted by class
 * before a validation_split): a warning with the share, the classes, the
 * accuracy ceiling and the advice for the split; none when every
 * validation class has training rows. */
static void test_validation_classes_unseen_in_training(void **state) {
  (void)state;
  fl_findings f;
  raw_split tr = ids_split(40, 4, 3), va = ids_split(10, 4, 3);
  for (size_t i = 0; i < va.n; i++) va.ids[i] = i < 6 ? 3 : (int32_t)(i % 3);
  job j = {.train = &tr, .val = &va};
  char *s = make_spec(TRAIN_NPY "," VAL_NPY, 4, "softmax", SPARSE);
  const fl_finding *x = expect(s, &j, 1, FL_CAUSE_INVALID_DATA, WARNING, &f);
  assert_contains(x->message, "6 of 10 validation rows (60.0%) are of class 3 that no "
                              "training row has");
  assert_contains(x->message, "validation accuracy cannot pass 0.400");
  assert_contains(x->message, "give the training set rows of every class");
  assert_false(fl_findings_have_error(&f));
  free(s);

  s = make_spec(TRAIN_NPY ",'validation_split':0.2", 4, "softmax", SPARSE);
  x = expect(s, &j, 1, FL_CAUSE_INVALID_DATA, WARNING, &f);
  assert_contains(x->message, "validation_split takes the last rows without shuffling");
  free(s);

  /* Every validation class has training rows: nothing to say. */
  for (size_t i = 0; i < va.n; i++) va.ids[i] = (int32_t)(i % 3);
  s = make_spec(TRAIN_NPY "," VAL_NPY, 3, "softmax", SPARSE);
  run(s, &j, &f);
  assert_int_equal(f.n, 0);
  free(s);
  raw_free(&va);
  raw_free(&tr);
}

/* Validation features on another scale than the training features: 1/255
 * given to the training set only (the fix gives the validation set the
 * same scale), features that disagree on the factor (standardized
 * training, raw validation: no one-scale fix), and what is not said: the
 * same scale on both, one outlying column, too few validation rows. */
static void test_validation_features_on_another_scale(void **state) {
  (void)state;
  fl_findings f;
  raw_split tr = ids_split(40, 6, 2), va = ids_split(20, 6, 2);
  for (size_t i = 0; i < tr.n * tr.d; i++) tr.x[i] *= 255.0f;
  for (size_t i = 0; i < va.n * va.d; i++) va.x[i] *= 255.0f;
  job j = {.train = &tr, .val = &va};
  char *s = make_spec("'train':{'features':'X.npy','labels':'y.npy','scale':0.00392156862745098},"
                      VAL_NPY, 2, "softmax", SPARSE);
  const fl_finding *x = expect(s, &j, 1, FL_CAUSE_INVALID_DATA, WARNING, &f);
  assert_contains(x->message, "validation features are on another scale than the training "
                              "features: the median feature's root mean square is 255 times");
  assert_contains(x->message, "set data.validation.scale to 0.003921569");
  assert_string_equal(x->fix, "{\"data\":{\"validation\":{\"scale\":0.003921569}}}");
  free(s);
  /* Both scaled: nothing to say. */
  s = make_spec("'train':{'features':'X.npy','labels':'y.npy','scale':0.00392156862745098},"
                "'validation':{'features':'Xv.npy','labels':'yv.npy','scale':0.00392156862745098}",
                2, "softmax", SPARSE);
  run(s, &j, &f);
  assert_int_equal(f.n, 0);
  free(s);
  /* Unscaled on both sides is the scale warning's business, not this one's;
   * back to features in [0, 0.9] for the rest. */
  for (size_t i = 0; i < tr.n * tr.d; i++) tr.x[i] /= 255.0f;
  for (size_t i = 0; i < va.n * va.d; i++) va.x[i] /= 255.0f;
  s = make_spec(TRAIN_NPY "," VAL_NPY, 2, "softmax", SPARSE);
  /* One validation column 1000 times larger: the median feature is not. */
  for (size_t i = 0; i < va.n; i++) va.x[i * va.d] *= 1000.0f;
  run(s, &j, &f);
  assert_int_equal(f.n, 0);
  /* Factors of 10 to 1000 by column: a warning without a one-scale fix. */
  for (size_t i = 0; i < va.n; i++)
    for (size_t jj = 0; jj < va.d; jj++)
      va.x[i * va.d + jj] = tr.x[i * tr.d + jj] * (float)pow(10.0, 1.0 + (double)(jj / 2)) + 5.0f;
  x = expect(s, &j, 1, FL_CAUSE_INVALID_DATA, WARNING, &f);
  assert_contains(x->message, "the features disagree on the factor");
  assert_string_equal(x->fix, "");
  /* Under ten validation rows: no comparison. */
  va.n = 9;
  run(s, &j, &f);
  assert_int_equal(f.n, 0);
  free(s);
  raw_free(&va);
  raw_free(&tr);
}

/* validation_split on rows sorted by class (iris.csv's order): the last
 * rows hold one class, which training holds few of. Every class is seen,
 * but the split's classes are not distributed as training's (chi-square
 * test of homogeneity); not said of a random-looking split, nor of a
 * validation set given on its own. */
static void test_validation_split_of_sorted_rows(void **state) {
  (void)state;
  fl_findings f;
  raw_split tr = ids_split(120, 4, 3), va = ids_split(30, 4, 3);
  for (size_t i = 0; i < tr.n; i++) tr.ids[i] = i < 50 ? 0 : i < 100 ? 1 : 2;
  for (size_t i = 0; i < va.n; i++) va.ids[i] = 2;
  job j = {.train = &tr, .val = &va};
  char *s = make_spec(TRAIN_NPY ",'validation_split':0.2", 3, "softmax", SPARSE);
  const fl_finding *x = expect(s, &j, 1, FL_CAUSE_INVALID_DATA, WARNING, &f);
  assert_contains(x->message, "class 2 is 100.0% of the 30 validation rows and 16.7% of the 120 "
                              "training rows (chi-square test of homogeneity, p = ");
  assert_contains(x->message, "shuffle the rows before the split");
  assert_false(fl_findings_have_error(&f));
  free(s);
  /* A validation set of its own: no claim about how it was drawn. */
  s = make_spec(TRAIN_NPY "," VAL_NPY, 3, "softmax", SPARSE);
  run(s, &j, &f);
  assert_int_equal(f.n, 0);
  free(s);
  /* A split whose classes are spread as training's. */
  for (size_t i = 0; i < va.n; i++) va.ids[i] = (int32_t)(i % 3);
  s = make_spec(TRAIN_NPY ",'validation_split':0.2", 3, "softmax", SPARSE);
  run(s, &j, &f);
  assert_int_equal(f.n, 0);
  free(s);
  raw_free(&va);
  raw_free(&tr);
}

/* ---- label_encoding_mismatch ---------------------------------------------- */

static void test_ids_with_categorical_crossentropy(void **state) {
  (void)state;
  fl_findings f;
  raw_split tr = ids_split(30, 4, 10);
  job j = {.train = &tr};
  char *s = make_spec(NULL, 10, "softmax", CCE);
  const fl_finding *x =
      expect(s, &j, 1, FL_CAUSE_LABEL_ENCODING_MISMATCH, ERROR, &f);
  assert_contains(x->message,
                  "labels (y.npy) are class ids (shape (30,)), but the loss "
                  "categorical_crossentropy expects one-hot rows of width 10");
  assert_string_equal(x->fix, "{\"loss\":\"sparse_categorical_crossentropy\"}");
  free(s);

  /* from_logits: true is kept (object form). */
  s = make_spec(NULL, 10, "linear", CCE_LOGITS);
  x = expect(s, &j, 1, FL_CAUSE_LABEL_ENCODING_MISMATCH, ERROR, &f);
  assert_string_equal(x->fix, "{\"loss\":{\"name\":"
                              "\"sparse_categorical_crossentropy\","
                              "\"from_logits\":true}}");
  free(s);
  raw_free(&tr);
}

static void test_onehot_with_sparse_crossentropy(void **state) {
  (void)state;
  fl_findings f;
  raw_split tr = onehot_split(30, 4, 3);
  job j = {.train = &tr};
  char *s = make_spec(NULL, 3, "softmax", SPARSE);
  const fl_finding *x =
      expect(s, &j, 1, FL_CAUSE_LABEL_ENCODING_MISMATCH, ERROR, &f);
  assert_contains(x->message, "one-hot/probability rows (shape (30, 3))");
  assert_contains(x->message, "expects class ids");
  assert_string_equal(x->fix, "{\"loss\":\"categorical_crossentropy\"}");
  free(s);
  raw_free(&tr);
}

static void test_dense_rows_not_distributions(void **state) {
  (void)state;
  fl_findings f;
  raw_split tr = onehot_split(30, 4, 3);
  tr.y[0 * 3 + 1] = 1.0f; /* row 0 sums to 2 */
  tr.y[7 * 3 + 0] = 0.5f; /* row 7 sums to 1.5 */
  tr.y[9 * 3 + 0] = 1.5f; /* row 9 (class 0) sums to 1 with a negative */
  tr.y[9 * 3 + 2] = -0.5f;
  job j = {.train = &tr};
  char *s = make_spec(NULL, 3, "softmax", CCE);
  const fl_finding *x =
      expect(s, &j, 1, FL_CAUSE_LABEL_ENCODING_MISMATCH, ERROR, &f);
  assert_contains(x->message, "label rows must be one-hot or probabilities "
                              "for categorical_crossentropy, but 2 of 30 do "
                              "not sum to 1 and 1 has negative entries");
  assert_string_equal(x->fix, "");
  free(s);

  /* Under sparse_categorical_crossentropy no loss fits these rows either:
   * one finding, and no fix that would only trade one mismatch for
   * another. */
  s = make_spec(NULL, 3, "softmax", SPARSE);
  x = expect(s, &j, 1, FL_CAUSE_LABEL_ENCODING_MISMATCH, ERROR, &f);
  assert_string_equal(x->fix, "");
  free(s);

  /* mean_squared_error regresses onto any rows: nothing to say. */
  s = make_spec(NULL, 3, "softmax", MSE);
  expect(s, &j, 0, FL_CAUSE_NONE, ERROR, &f);
  free(s);
  raw_free(&tr);
}

static void test_mse_on_class_ids(void **state) {
  (void)state;
  fl_findings f;
  raw_split tr = ids_split(30, 4, 3);
  job j = {.train = &tr};
  /* Linear output: the fix switches the loss and the output activation. */
  char *s = make_spec(NULL, 3, "linear", MSE);
  const fl_finding *x =
      expect(s, &j, 1, FL_CAUSE_LABEL_ENCODING_MISMATCH, ERROR, &f);
  assert_contains(x->message, "not a classification loss for ids");
  assert_contains(x->message, "model.layers[1] is linear");
  assert_contains(x->fix, "\"loss\":\"sparse_categorical_crossentropy\"");
  assert_contains(x->fix, "\"units\":3,\"activation\":\"softmax\"");
  char *fixed = apply(s, x->fix);
  fl_job_spec spec;
  parse_ok(fixed, &spec);
  assert_int_equal(spec.loss.kind, FL_LOSS_SPARSE_CATEGORICAL_CE);
  assert_false(spec.loss.from_logits);
  assert_int_equal(spec.layers[1].activation, FL_ACT_SOFTMAX);
  fl_spec_free(&spec);
  free(fixed);
  free(s);

  /* Softmax output already: the loss alone. */
  s = make_spec(NULL, 3, "softmax", MSE);
  x = expect(s, &j, 1, FL_CAUSE_LABEL_ENCODING_MISMATCH, ERROR, &f);
  assert_string_equal(x->fix, "{\"loss\":\"sparse_categorical_crossentropy\"}");
  free(s);
  raw_free(&tr);
}

static void test_splits_encode_labels_differently(void **state) {
  (void)state;
  fl_findings f;
  raw_split tr = ids_split(30, 4, 3), va = onehot_split(10, 4, 3);
  job j = {.train = &tr, .val = &va};
  char *s = make_spec(TRAIN_NPY "," VAL_NPY, 3, "softmax", SPARSE);
  /* The encoding, and the validation rows' width/kind against the model. */
  run(s, &j, &f);
  const fl_finding *x = find(&f, FL_CAUSE_LABEL_ENCODING_MISMATCH);
  assert_non_null(x);
  assert_contains(x->message, "training labels are class ids (shape (N,)) but "
                              "validation labels are one-hot/probability rows");
  assert_string_equal(x->fix, "");
  free(s);
  raw_free(&va);
  raw_free(&tr);
}

/* ---- labels_out_of_range -------------------------------------------------- */

static void test_class_ids_past_the_output(void **state) {
  (void)state;
  fl_findings f;
  raw_split tr = ids_split(44, 4, 11); /* ids 0..10: 4 rows of id 10 */
  job j = {.train = &tr};
  char *s = make_spec(NULL, 10, "softmax", SPARSE);
  const fl_finding *x = expect(s, &j, 1, FL_CAUSE_LABELS_OUT_OF_RANGE, ERROR, &f);
  assert_contains(x->message, "training class ids reach 10 (4 rows with ids >= "
                              "10), but the last layer (model.layers[1]) has "
                              "10 units, for class ids 0..9; set its units to 11");
  /* The whole layers array, every field of every layer, parses back to
   * the same model but for the output's units. */
  assert_string_equal(
      x->fix,
      "{\"model\":{\"layers\":[{\"type\":\"dense\",\"units\":8,\"activation\":"
      "\"relu\",\"kernel_initializer\":{\"name\":\"random_normal\",\"stddev\":"
      "0.1},\"bias_initializer\":{\"name\":\"constant\",\"value\":0.25}},"
      "{\"type\":\"dense\",\"units\":11,\"activation\":\"softmax\","
      "\"kernel_initializer\":\"glorot_uniform\",\"bias_initializer\":"
      "\"zeros\"}]}}");
  fl_job_spec before, after;
  parse_ok(s, &before);
  char *fixed = apply(s, x->fix);
  parse_ok(fixed, &after);
  before.layers[1].units = 11;
  assert_int_equal(after.n_layers, 2);
  assert_memory_equal(before.layers, after.layers, 2 * sizeof before.layers[0]);
  fl_spec_free(&before);
  fl_spec_free(&after);
  free(fixed);
  free(s);

  /* Only the validation split goes past: the fix fits both. */
  raw_split va = ids_split(20, 4, 13);
  j.val = &va;
  raw_free(&tr);
  tr = ids_split(40, 4, 10);
  s = make_spec(TRAIN_NPY "," VAL_NPY, 10, "softmax", SPARSE);
  x = expect(s, &j, 1, FL_CAUSE_LABELS_OUT_OF_RANGE, ERROR, &f);
  assert_contains(x->message, "validation class ids reach 12 (3 rows with ids "
                              ">= 10)");
  assert_contains(x->fix, "\"units\":13");
  free(s);
  raw_free(&va);
  raw_free(&tr);
}

static void test_negative_class_ids(void **state) {
  (void)state;
  fl_findings f;
  raw_split tr = ids_split(30, 4, 3);
  tr.ids[4] = -1;
  tr.ids[9] = -2;
  job j = {.train = &tr};
  char *s = make_spec(NULL, 3, "softmax", SPARSE);
  const fl_finding *x = expect(s, &j, 1, FL_CAUSE_LABELS_OUT_OF_RANGE, ERROR, &f);
  assert_contains(x->message, "2 training rows have negative class ids "
                              "(smallest -2); the last layer (model.layers[1]) "
                              "has 3 units");
  assert_contains(x->message, "class ids must be >= 0");
  assert_string_equal(x->fix, "");
  free(s);
  raw_free(&tr);
}

static void test_onehot_width_differs_from_output(void **state) {
  (void)state;
  fl_findings f;
  raw_split tr = onehot_split(30, 4, 4);
  job j = {.train = &tr};
  for (int units = 3; units <= 5; units += 2) {
    char *s = make_spec(NULL, units, "softmax", CCE);
    const fl_finding *x =
        expect(s, &j, 1, FL_CAUSE_LABELS_OUT_OF_RANGE, ERROR, &f);
    assert_contains(x->message, "training labels are one-hot rows of width 4");
    assert_contains(x->message, "set its units to 4");
    assert_contains(x->fix, "\"units\":4,\"activation\":\"softmax\"");
    free(s);
  }
  raw_free(&tr);
}

/* ---- output_loss_mismatch ------------------------------------------------- */

static void test_output_and_loss_disagree(void **state) {
  (void)state;
  fl_findings f;
  raw_split tr = ids_split(30, 4, 3);
  job j = {.train = &tr};

  char *s = make_spec(NULL, 3, "softmax", SPARSE_LOGITS);
  const fl_finding *x =
      expect(s, &j, 1, FL_CAUSE_OUTPUT_LOSS_MISMATCH, ERROR, &f);
  assert_contains(x->message, "applies softmax, but "
                              "sparse_categorical_crossentropy has "
                              "from_logits: true");
  assert_string_equal(x->fix, "{\"loss\":\"sparse_categorical_crossentropy\"}");
  free(s);

  s = make_spec(NULL, 3, "linear", SPARSE);
  x = expect(s, &j, 1, FL_CAUSE_OUTPUT_LOSS_MISMATCH, ERROR, &f);
  assert_contains(x->message, "is linear and outputs logits");
  assert_string_equal(x->fix, "{\"loss\":{\"name\":"
                              "\"sparse_categorical_crossentropy\","
                              "\"from_logits\":true}}");
  free(s);

  /* An activation entry stacked on the output layer's own (question round
   * 15: softmax twice): the outputs stay within [1 / (K - 1 + e),
   * e / (K - 1 + e)], here [0.212, 0.576], the loss above ln(2 + e) - 1;
   * the fix keeps one softmax and no entry. */
  s = make_spec(NULL, 3, "softmax'},{'type':'activation','activation':'softmax", SPARSE);
  x = expect(s, &j, 1, FL_CAUSE_OUTPUT_LOSS_MISMATCH, ERROR, &f);
  assert_contains(x->message, "applies softmax to that output again");
  assert_contains(x->message, "between 0.212 and 0.576");
  assert_contains(x->message, "cannot fall below 0.551");
  assert_contains(x->fix, "\"units\":3,\"activation\":\"softmax\"");
  assert_null(strstr(x->fix, "\"type\":\"activation\""));
  free(s);
  /* relu then softmax: the same claim, without the softmax bound. */
  s = make_spec(NULL, 3, "relu'},{'type':'activation','activation':'softmax", SPARSE);
  x = expect(s, &j, 1, FL_CAUSE_OUTPUT_LOSS_MISMATCH, ERROR, &f);
  assert_contains(x->message, "already applies relu and the activation entry after it applies softmax");
  assert_null(strstr(x->message, "cannot fall below"));
  assert_contains(x->fix, "\"units\":3,\"activation\":\"softmax\"");
  free(s);

  /* Squashing or one-sided outputs under a cross-entropy, either
   * from_logits: softmax, and from_logits false when it was true. */
  static const char *const acts[] = {"sigmoid", "relu", "tanh", "leaky_relu"};
  for (size_t i = 0; i < sizeof acts / sizeof acts[0]; i++) {
    for (int logits = 0; logits <= 1; logits++) {
      s = make_spec(NULL, 3, acts[i], logits ? SPARSE_LOGITS : SPARSE);
      x = expect(s, &j, 1, FL_CAUSE_OUTPUT_LOSS_MISMATCH, ERROR, &f);
      assert_contains(x->message, acts[i]);
      assert_contains(x->message, "use softmax with from_logits: false");
      assert_contains(x->fix, "\"units\":3,\"activation\":\"softmax\"");
      if (logits)
        assert_contains(x->fix, "\"loss\":\"sparse_categorical_crossentropy\"");
      else
        assert_null(strstr(x->fix, "\"loss\""));
      free(s);
    }
  }
  raw_free(&tr);
}

/* Several errors at once: each fix is written from the spec as all of them
 * correct it, so applying them one after another, in either order, never
 * undoes an earlier one. */
static void test_fixes_compose(void **state) {
  (void)state;
  fl_findings f;
  raw_split tr = ids_split(40, 4, 5); /* ids 0..4, output of 3 */
  job j = {.train = &tr};
  char *s = make_spec(NULL, 3, "sigmoid", CCE_LOGITS);
  run(s, &j, &f);
  assert_int_equal(f.n, 3);
  assert_int_equal(f.items[0].cause, FL_CAUSE_LABEL_ENCODING_MISMATCH);
  assert_int_equal(f.items[1].cause, FL_CAUSE_LABELS_OUT_OF_RANGE);
  assert_int_equal(f.items[2].cause, FL_CAUSE_OUTPUT_LOSS_MISMATCH);
  assert_every_fix_clears(s, &j, &f);
  for (int order = 0; order < 2; order++) {
    char *cur = strdup(s);
    for (int i = 0; i < f.n; i++) {
      char *next = apply(cur, f.items[order ? f.n - 1 - i : i].fix);
      free(cur);
      cur = next;
    }
    fl_findings after;
    run(cur, &j, &after);
    if (after.n) fail_msg("after all fixes: %s", after.items[0].message);
    free(cur);
  }
  free(s);
  raw_free(&tr);
}

/* ---- device_out_of_memory ------------------------------------------------- */

static void test_device_memory(void **state) {
  (void)state;
  fl_findings f;
  raw_split tr = ids_split(30, 4, 3);
  char *s = make_spec(NULL, 3, "softmax", SPARSE);
  job j = {.train = &tr, .memory_needed = 3u << 30,
           .device_memory = 2u << 30, .device_name = "Radeon RX 6600"};
  const fl_finding *x =
      expect(s, &j, 1, FL_CAUSE_DEVICE_OUT_OF_MEMORY, ERROR, &f);
  assert_contains(x->message, "needs about 3072 MiB of device memory, but "
                              "\"Radeon RX 6600\" has 2048 MiB");
  assert_contains(x->message, "batch_size (now 32)");
  assert_string_equal(x->fix, "");

  j.memory_needed = j.device_memory; /* fits exactly */
  expect(s, &j, 0, FL_CAUSE_NONE, ERROR, &f);
  j.memory_needed = (uint64_t)5 << 30;
  j.device_memory = 0; /* unknown: no check */
  expect(s, &j, 0, FL_CAUSE_NONE, ERROR, &f);
  j.device_memory = 1u << 20;
  j.device_name = NULL;
  x = expect(s, &j, 1, FL_CAUSE_DEVICE_OUT_OF_MEMORY, ERROR, &f);
  assert_contains(x->message, "but the device has 1.0 MiB");
  free(s);
  raw_free(&tr);
}

/* ---- class_imbalance (warning) -------------------------------------------- */

/* n0 rows of class 0, n1 of class 1, n2 of class 2. */
static raw_split counts_split(size_t n0, size_t n1, size_t n2) {
  raw_split r = ids_split(n0 + n1 + n2, 3, 3);
  for (size_t i = 0; i < r.n; i++)
    r.ids[i] = i < n0 ? 0 : i < n0 + n1 ? 1 : 2;
  return r;
}

static void test_class_imbalance_threshold(void **state) {
  (void)state;
  fl_findings f;
  char *s = make_spec(NULL, 3, "softmax", SPARSE);
  raw_split tr = counts_split(100, 10, 50); /* ratio 10: not above */
  job j = {.train = &tr};
  expect(s, &j, 0, FL_CAUSE_NONE, ERROR, &f);
  raw_free(&tr);

  tr = counts_split(101, 10, 50); /* ratio 10.1 */
  const fl_finding *x = expect(s, &j, 1, FL_CAUSE_CLASS_IMBALANCE, WARNING, &f);
  assert_false(fl_findings_have_error(&f));
  assert_contains(x->message, "class 0 has 101 training rows and class 1 has "
                              "10 (ratio 10.1 > 10)");
  assert_contains(x->message, "majority class holds 62.7% of 161 rows");
  /* issue 12: weighing the loss by class is the fix, and a job that does
   * so gets no warning (a fix must clear its finding) */
  assert_contains(x->message, "Weigh the loss by class");
  assert_string_equal(x->fix, "{\"class_weight\":\"balanced\"}");
  free(s);
  s = make_spec(NULL, 3, "softmax", SPARSE);
  char *weighted = apply(s, "{\"class_weight\":\"balanced\"}");
  expect(weighted, &j, 0, FL_CAUSE_NONE, ERROR, &f);
  free(weighted);
  raw_free(&tr);
  free(s);

  /* Classes of the output without rows are named. */
  tr = counts_split(200, 0, 5);
  s = make_spec(NULL, 5, "softmax", SPARSE);
  x = expect(s, &j, 1, FL_CAUSE_CLASS_IMBALANCE, WARNING, &f);
  assert_contains(x->message, "ratio 40.0 > 10");
  assert_contains(x->message, "no rows for classes 1, 3, 4");
  raw_free(&tr);
  free(s);

  /* One class only. */
  tr = counts_split(50, 0, 0);
  s = make_spec(NULL, 3, "softmax", SPARSE);
  x = expect(s, &j, 1, FL_CAUSE_CLASS_IMBALANCE, WARNING, &f);
  assert_contains(x->message, "all 50 training rows are class 0, but the model has 3 classes");
  assert_contains(x->message, "no spec change fixes this");
  assert_string_equal(x->fix, "");
  raw_free(&tr);
  free(s);
}

/* binary_crossentropy: one sigmoid unit on ids 0/1 is clean; ids 0..2
 * ask for three softmax units under sparse_categorical_crossentropy; a
 * ReLU output asks for sigmoid; every fix clears its finding. */
static void test_binary_crossentropy(void **state) {
  (void)state;
  fl_findings f;
  raw_split tr = counts_split(60, 50, 0);
  job j = {.train = &tr};
  char *s = make_spec(NULL, 1, "sigmoid", "'binary_crossentropy'");
  expect(s, &j, 0, FL_CAUSE_NONE, ERROR, &f);
  free(s);
  s = make_spec(NULL, 1, "relu", "'binary_crossentropy'");
  const fl_finding *x = expect(s, &j, 1, FL_CAUSE_OUTPUT_LOSS_MISMATCH, ERROR, &f);
  assert_contains(x->message, "use sigmoid");
  assert_contains(x->fix, "\"activation\":\"sigmoid\"");
  free(s);
  raw_free(&tr);

  tr = counts_split(60, 50, 40);
  s = make_spec(NULL, 1, "sigmoid", "'binary_crossentropy'");
  x = expect(s, &j, 1, FL_CAUSE_LABELS_OUT_OF_RANGE, ERROR, &f);
  assert_contains(x->message, "class ids run 0..2, but binary_crossentropy "
                              "takes class ids 0 and 1");
  assert_contains(x->fix, "\"loss\":\"sparse_categorical_crossentropy\"");
  assert_contains(x->fix, "\"units\":3,\"activation\":\"softmax\"");
  free(s);

  /* Three softmax units under binary_crossentropy (the Keras habit): the
   * loss is the mismatch, not the ids those units are for. */
  s = make_spec(NULL, 3, "softmax", "'binary_crossentropy'");
  x = expect(s, &j, 1, FL_CAUSE_OUTPUT_LOSS_MISMATCH, ERROR, &f);
  assert_contains(x->message, "has 3 units; for 3 classes keep them with softmax and use "
                              "sparse_categorical_crossentropy");
  assert_contains(x->fix, "\"loss\":\"sparse_categorical_crossentropy\"");
  free(s);
  raw_free(&tr);

  /* One softmax unit is always 1. */
  tr = counts_split(60, 50, 0);
  s = make_spec(NULL, 1, "softmax", "'binary_crossentropy'");
  x = expect(s, &j, 1, FL_CAUSE_OUTPUT_LOSS_MISMATCH, ERROR, &f);
  assert_contains(x->message, "a softmax of one unit is always 1");
  assert_contains(x->fix, "\"activation\":\"sigmoid\"");
  free(s);
  raw_free(&tr);
}

static void test_class_imbalance_names_csv_columns(void **state) {
  (void)state;
  fl_findings f;
  raw_split tr = onehot_split(60, 3, 3);
  for (size_t i = 0; i < tr.n; i++) {
    memset(&tr.y[i * 3], 0, 3 * sizeof(float));
    tr.y[i * 3 + (i < 55 ? 2 : i < 58 ? 0 : 1)] = 1.0f;
  }
  job j = {.train = &tr};
  char *s = make_spec("'train':{'csv':'pets.csv','label_columns':['cat','dog',"
                      "'bird']}",
                      3, "softmax", CCE);
  const fl_finding *x = expect(s, &j, 1, FL_CAUSE_CLASS_IMBALANCE, WARNING, &f);
  assert_contains(x->message, "class 2 (\"bird\") has 55 training rows and "
                              "class 1 (\"dog\") has 2");
  free(s);
  raw_free(&tr);
}

/* ---- unnormalized_inputs (warning) ---------------------------------------- */

static void test_feature_magnitude_threshold(void **state) {
  (void)state;
  fl_findings f;
  raw_split tr = ids_split(40, 3, 2);
  for (size_t i = 0; i < tr.n * tr.d; i++) tr.x[i] = (float)((i * 7) % 10) * 2;
  tr.x[0] = 20.0f; /* max |x| = 20: not above */
  job j = {.train = &tr};
  char *s = make_spec(NULL, 2, "softmax", SPARSE);
  expect(s, &j, 0, FL_CAUSE_NONE, ERROR, &f);

  tr.x[0] = 20.5f;
  const fl_finding *x =
      expect(s, &j, 1, FL_CAUSE_UNNORMALIZED_INPUTS, WARNING, &f);
  assert_false(fl_findings_have_error(&f));
  assert_contains(x->message, "training features reach |x| = 20.5 (feature 0)");
  assert_string_equal(x->fix, "{\"data\":{\"train\":{\"scale\":0.0488}}}");
  free(s);
  raw_free(&tr);
}

/* Every feature column constant (images read as zeros): a note under
 * labels_uninformative naming the columns; one varying column is enough to
 * keep it quiet. */
static void test_constant_features(void **state) {
  (void)state;
  fl_findings f;
  raw_split tr = ids_split(50, 4, 3);
  for (size_t i = 0; i < tr.n * tr.d; i++) tr.x[i] = 0.0f;
  job j = {.train = &tr};
  char *s = make_spec(NULL, 3, "softmax", SPARSE);
  const fl_finding *x = expect(s, &j, 1, FL_CAUSE_LABELS_UNINFORMATIVE, WARNING, &f);
  assert_false(fl_findings_have_error(&f));
  assert_contains(x->message, "every one of the 4 training feature columns holds a single value over all 50 rows");
  tr.x[7] = 0.5f;
  expect(s, &j, 0, FL_CAUSE_NONE, ERROR, &f);
  free(s);
  raw_free(&tr);
}

/* Standardized columns (std 0.65-1.1 here) where one rare value reaches
 * |x| = 42: an outlier, not a scale problem; no warning (a false alarm on
 * a job that trains to 0.95). The same values times 100 do get one. */
static void test_standardized_features_get_no_scale_warning(void **state) {
  (void)state;
  fl_findings f;
  raw_split tr = ids_split(2000, 4, 2);
  for (size_t i = 0; i < tr.n; i++)
    for (size_t c = 0; c < tr.d; c++)
      tr.x[i * tr.d + c] = (float)((i % 2 ? 1 : -1) * (0.65 + 0.15 * (double)c));
  tr.x[3 * tr.d + 2] = 42.0f; /* column 2: std 0.95 -> 1.3 with it */
  job j = {.train = &tr};
  char *s = make_spec(NULL, 2, "softmax", SPARSE);
  expect(s, &j, 0, FL_CAUSE_NONE, ERROR, &f);
  for (size_t i = 0; i < tr.n * tr.d; i++) tr.x[i] *= 100;
  expect(s, &j, 1, FL_CAUSE_UNNORMALIZED_INPUTS, WARNING, &f);
  free(s);
  raw_free(&tr);
}

static void test_pixels_get_a_scale(void **state) {
  (void)state;
  fl_findings f;
  raw_split tr = ids_split(40, 6, 2), va = ids_split(20, 6, 2);
  for (size_t i = 0; i < tr.n * tr.d; i++) tr.x[i] = (float)((i * 37) % 256);
  for (size_t i = 0; i < va.n * va.d; i++) va.x[i] = (float)((i * 11) % 256);
  job j = {.train = &tr};
  char *s = make_spec(NULL, 2, "softmax", SPARSE);
  const fl_finding *x =
      expect(s, &j, 1, FL_CAUSE_UNNORMALIZED_INPUTS, WARNING, &f);
  assert_contains(x->message, "|x| = 255");
  assert_string_equal(x->fix, "{\"data\":{\"train\":{\"scale\":0.00392}}}");
  free(s);

  /* With a validation source, both get the scale. */
  j.val = &va;
  s = make_spec(TRAIN_NPY "," VAL_NPY, 2, "softmax", SPARSE);
  x = expect(s, &j, 1, FL_CAUSE_UNNORMALIZED_INPUTS, WARNING, &f);
  assert_string_equal(x->fix, "{\"data\":{\"train\":{\"scale\":0.00392},"
                              "\"validation\":{\"scale\":0.00392}}}");
  free(s);

  /* An existing scale that was not enough is corrected, not replaced
   * blindly: 255 * 0.1 = 25.5 -> 0.1 / 25.5. */
  j.val = NULL;
  s = make_spec("'train':{'features':'X.npy','labels':'y.npy','scale':0.1}",
                2, "softmax", SPARSE);
  x = expect(s, &j, 1, FL_CAUSE_UNNORMALIZED_INPUTS, WARNING, &f);
  assert_string_equal(x->fix, "{\"data\":{\"train\":{\"scale\":0.00392}}}");
  free(s);
  raw_free(&va);
  raw_free(&tr);
}

/* Pixels divided by 255 twice (0..0.0039): too small, one scale fixes
 * it (x 255); pixels divided once (0..1) are left alone. */
static void test_tiny_features_get_a_scale(void **state) {
  (void)state;
  fl_findings f;
  raw_split tr = ids_split(40, 6, 2);
  for (size_t i = 0; i < tr.n * tr.d; i++) tr.x[i] = (float)((i * 37) % 256) / 65025.0f;
  job j = {.train = &tr};
  char *s = make_spec(NULL, 2, "softmax", SPARSE);
  const fl_finding *x = expect(s, &j, 1, FL_CAUSE_UNNORMALIZED_INPUTS, WARNING, &f);
  assert_contains(x->message, "inputs this small");
  assert_string_equal(x->fix, "{\"data\":{\"train\":{\"scale\":255}}}");
  for (size_t i = 0; i < tr.n * tr.d; i++) tr.x[i] *= 255.0f;
  expect(s, &j, 0, FL_CAUSE_NONE, WARNING, &f);
  free(s);
  raw_free(&tr);
}

static void test_uneven_feature_scales(void **state) {
  (void)state;
  fl_findings f;
  /* Feature 0 alternates 0 and 2^-6 (std 2^-7), feature 1 alternates 0 and
   * a (std a/2); feature 2 is constant and ignored. Exact in binary. */
  raw_split tr = ids_split(40, 3, 2);
  job j = {.train = &tr};
  char *s = make_spec(NULL, 2, "softmax", SPARSE);
  const float a_at = 1000.0f / 64.0f, a_above = 1001.0f / 64.0f;
  for (int above = 0; above <= 1; above++) {
    for (size_t i = 0; i < tr.n; i++) {
      tr.x[i * 3 + 0] = (i % 2) ? 1.0f / 64.0f : 0.0f;
      tr.x[i * 3 + 1] = (i % 2) ? (above ? a_above : a_at) : 0.0f;
      tr.x[i * 3 + 2] = 1e-3f;
    }
    if (!above) {
      expect(s, &j, 0, FL_CAUSE_NONE, ERROR, &f);
      continue;
    }
    const fl_finding *x =
        expect(s, &j, 1, FL_CAUSE_UNNORMALIZED_INPUTS, WARNING, &f);
    assert_contains(x->message, "feature magnitudes range from 0.0156 "
                                "(feature 0) to 15.6 (feature 1), a ratio of "
                                "1001; per-feature std is 0.00781 to 7.82");
    assert_contains(x->message, "Standardize each feature");
    assert_string_equal(x->fix, ""); /* one scale keeps the ratio */
  }
  free(s);
  raw_free(&tr);
}

static void test_large_features_a_scale_cannot_fix(void **state) {
  (void)state;
  fl_findings f;
  raw_split tr = ids_split(40, 2, 2);
  job j = {.train = &tr};
  char *s = make_spec(NULL, 2, "softmax", SPARSE);
  /* Signed values: standardize instead. */
  for (size_t i = 0; i < tr.n * tr.d; i++) tr.x[i] = (tr.x[i] - 0.45f) * 100;
  const fl_finding *x =
      expect(s, &j, 1, FL_CAUSE_UNNORMALIZED_INPUTS, WARNING, &f);
  assert_string_equal(x->fix, "");
  /* A large offset (1000..1000.9): 1/1000.9 would squeeze it flat. */
  fill_features(&tr);
  for (size_t i = 0; i < tr.n * tr.d; i++) tr.x[i] += 1000.0f;
  x = expect(s, &j, 1, FL_CAUSE_UNNORMALIZED_INPUTS, WARNING, &f);
  assert_contains(x->message, "|x| = 1001");
  assert_string_equal(x->fix, "");
  free(s);
  raw_free(&tr);
}

/* ---- order, caps, names, fix writers -------------------------------------- */

static void test_errors_come_first(void **state) {
  (void)state;
  fl_findings f;
  /* Pixels (warning), imbalance (warning), ids under CCE (error), memory
   * (error). */
  raw_split tr = counts_split(300, 3, 20);
  for (size_t i = 0; i < tr.n * tr.d; i++) tr.x[i] = (float)(i % 256);
  job j = {.train = &tr, .memory_needed = 2u << 20, .device_memory = 1u << 20};
  char *s = make_spec(NULL, 3, "softmax", CCE);
  expect(s, &j, 4, FL_CAUSE_NONE, ERROR, &f); /* checks the order too */
  assert_int_equal(f.items[0].cause, FL_CAUSE_LABEL_ENCODING_MISMATCH);
  assert_int_equal(f.items[1].cause, FL_CAUSE_DEVICE_OUT_OF_MEMORY);
  assert_int_equal(f.items[2].cause, FL_CAUSE_CLASS_IMBALANCE);
  assert_int_equal(f.items[3].cause, FL_CAUSE_UNNORMALIZED_INPUTS);
  free(s);
  raw_free(&tr);
}

/* The worst data we can build still stays within FL_MAX_FINDINGS, with
 * every finding filled in. */
static void test_many_problems_stay_bounded(void **state) {
  (void)state;
  fl_findings f;
  raw_split tr = onehot_split(30, 4, 3), va = ids_split(10, 5, 9);
  tr.x[3] = NAN;
  tr.y[0] = NAN;
  tr.y[4] = 2.0f;
  va.x[0] = 1e6f;
  va.ids[0] = -3;
  job j = {.train = &tr, .val = &va, .memory_needed = 10, .device_memory = 1};
  char *s = make_spec(TRAIN_NPY "," VAL_NPY, 2, "tanh", SPARSE_LOGITS);
  run(s, &j, &f);
  assert_in_range(f.n, 6, FL_MAX_FINDINGS);
  assert_true(fl_findings_have_error(&f));
  assert_every_fix_clears(s, &j, &f);
  free(s);
  raw_free(&va);
  raw_free(&tr);
}

static void test_cause_names(void **state) {
  (void)state;
  /* DESIGN.md §4, in its order: the contract. */
  static const char *const names[] = {
      "invalid_data", "label_encoding_mismatch", "labels_out_of_range",
      "output_loss_mismatch", "device_out_of_memory", "labels_uninformative",
      "class_imbalance", "insufficient_capacity", "learning_rate_too_high",
      "learning_rate_too_low", "poor_initialization", "dead_relu",
      "saturated_activation", "vanishing_gradient", "exploding_gradient",
      "numerical_instability", "unnormalized_inputs", "optimizer_choice",
      "overfitting"};
  assert_int_equal(FL_CAUSE_COUNT - 1, sizeof names / sizeof names[0]);
  for (int c = 1; c < FL_CAUSE_COUNT; c++)
    assert_string_equal(fl_cause_name((fl_cause)c), names[c - 1]);
  assert_null(fl_cause_name(FL_CAUSE_NONE));
  assert_null(fl_cause_name(FL_CAUSE_COUNT));
  assert_null(fl_cause_name((fl_cause)-1));
}

static void test_fix_writers(void **state) {
  (void)state;
  char out[FL_FIX_MAX];
  assert_true(fl__fix_float(0.05f) == 0.05);
  assert_true(fl__fix_float(1e-7f) == 1e-7);

  /* Switching sgd with momentum to Adam drops sgd's keys, which the spec
   * parser would reject under adam. */
  char *s = make_spec(NULL, 3, "softmax", SPARSE);
  fl_optimizer_spec adam;
  fl_optimizer_defaults(&adam, FL_OPT_ADAM);
  assert_int_equal(fl__fix_optimizer(&adam, out, sizeof out), 0);
  assert_contains(out, "\"name\":\"adam\",\"learning_rate\":0.001,"
                       "\"momentum\":null");
  char *fixed = apply(s, out);
  fl_job_spec spec;
  parse_ok(fixed, &spec);
  assert_int_equal(spec.optimizer.kind, FL_OPT_ADAM);
  assert_true(spec.optimizer.learning_rate == 0.001f);
  fl_spec_free(&spec);
  free(fixed);
  free(s);

  /* A layers fix replaces the array whole: dropout entries and kernel
   * regularizers of the spec go with it (issue 12). */
  fl_layer_spec reg[2] = {
      {.units = 6, .activation = FL_ACT_RELU, .dropout = 0.25f, .l2 = 0.01f,
       .kernel_init = {FL_INIT_GLOROT_UNIFORM, 0}},
      {.units = 3, .activation = FL_ACT_SOFTMAX, .l1 = 0.5f,
       .kernel_init = {FL_INIT_GLOROT_UNIFORM, 0}}};
  assert_int_equal(fl__fix_layers(reg, 2, out, sizeof out), 0);
  s = make_spec(NULL, 3, "softmax", SPARSE);
  fixed = apply(s, out);
  parse_ok(fixed, &spec);
  assert_int_equal(spec.n_layers, 2);
  assert_true(spec.layers[0].dropout == 0.25f && spec.layers[0].l2 == 0.01f &&
              spec.layers[0].l1 == 0.0f);
  assert_true(spec.layers[1].dropout == 0.0f && spec.layers[1].l1 == 0.5f);
  fl_spec_free(&spec);
  free(fixed);
  free(s);

  /* ... and batch normalization, in both placements, with its keys */
  fl_layer_spec bn[3] = {
      {.units = 6, .activation = FL_ACT_RELU, .bn = true, .bn_momentum = 0.9f,
       .bn_epsilon = 0.01f, .bn_center = true, .bn_scale = false,
       .dropout = 0.25f, .kernel_init = {FL_INIT_GLOROT_UNIFORM, 0}},
      {.units = 5, .activation = FL_ACT_TANH, .bn = true, .bn_before_act = true,
       .bn_momentum = 0.99f, .bn_epsilon = 0.001f, .bn_center = false,
       .bn_scale = true, .kernel_init = {FL_INIT_GLOROT_UNIFORM, 0}},
      {.units = 3, .activation = FL_ACT_SOFTMAX,
       .kernel_init = {FL_INIT_GLOROT_UNIFORM, 0}}};
  assert_int_equal(fl__fix_layers(bn, 3, out, sizeof out), 0);
  s = make_spec(NULL, 3, "softmax", SPARSE);
  fixed = apply(s, out);
  parse_ok(fixed, &spec);
  assert_int_equal(spec.n_layers, 3);
  for (int l = 0; l < 3; l++) {
    const fl_layer_spec *a = &spec.layers[l], *b = &bn[l];
    assert_true(a->bn == b->bn && a->bn_before_act == b->bn_before_act &&
                a->activation == b->activation && a->dropout == b->dropout);
    if (b->bn)
      assert_true(a->bn_momentum == b->bn_momentum &&
                  a->bn_epsilon == b->bn_epsilon &&
                  a->bn_center == b->bn_center && a->bn_scale == b->bn_scale);
  }
  fl_spec_free(&spec);
  free(fixed);
  free(s);

  /* 32 wide layers with parameterised bias initializers do not fit
   * FL_FIX_MAX with every field; the compact form (defaults left out) does,
   * and means the same model. */
  static fl_layer_spec layers[FL_MAX_LAYERS];
  for (int i = 0; i < FL_MAX_LAYERS; i++) {
    layers[i] = (fl_layer_spec){
        .units = 65536,
        .activation = i + 1 < FL_MAX_LAYERS ? FL_ACT_LINEAR : FL_ACT_SOFTMAX,
        .kernel_init = {FL_INIT_GLOROT_UNIFORM, 0},
        .bias_init = {FL_INIT_CONSTANT, 0.5f}};
  }
  layers[3].kernel_init = (fl_initializer){FL_INIT_RANDOM_UNIFORM, 0.125f};
  fl_jw w;
  fl__fix_begin(&w);
  fl__fix_put_layers(&w, layers, FL_MAX_LAYERS, true);
  assert_int_equal(fl__fix_finish(&w, out, sizeof out), FL_ETOOBIG);
  assert_string_equal(out, "");
  assert_int_equal(fl__fix_layers(layers, FL_MAX_LAYERS, out, sizeof out), 0);
  assert_contains(out, "{\"type\":\"dense\",\"units\":65536,"
                       "\"kernel_initializer\":{\"name\":\"random_uniform\","
                       "\"limit\":0.125},\"bias_initializer\":{\"name\":"
                       "\"constant\",\"value\":0.5}}");
  fixed = apply("{\"data\":{\"train\":{\"features\":\"X.npy\",\"labels\":"
                "\"y.npy\"}},\"loss\":\"sparse_categorical_crossentropy\"}",
                out);
  parse_ok(fixed, &spec);
  assert_int_equal(spec.n_layers, FL_MAX_LAYERS);
  assert_memory_equal(spec.layers, layers, sizeof layers);
  fl_spec_free(&spec);
  free(fixed);

  /* Too small a buffer: an empty fix, never a truncated one. */
  fl_loss_spec loss = {FL_LOSS_CATEGORICAL_CE, true};
  assert_int_equal(fl__fix_loss(&loss, out, 10), FL_ETOOBIG);
  assert_string_equal(out, "");
  /* MSE never carries from_logits (the parser rejects it there). */
  loss = (fl_loss_spec){FL_LOSS_MSE, true};
  assert_int_equal(fl__fix_loss(&loss, out, sizeof out), 0);
  assert_string_equal(out, "{\"loss\":\"mean_squared_error\"}");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_healthy_jobs_have_no_findings),
      cmocka_unit_test(test_invalid_data),
      cmocka_unit_test(test_validation_classes_unseen_in_training),
      cmocka_unit_test(test_validation_split_of_sorted_rows),
      cmocka_unit_test(test_validation_features_on_another_scale),
      cmocka_unit_test(test_ids_with_categorical_crossentropy),
      cmocka_unit_test(test_onehot_with_sparse_crossentropy),
      cmocka_unit_test(test_dense_rows_not_distributions),
      cmocka_unit_test(test_mse_on_class_ids),
      cmocka_unit_test(test_splits_encode_labels_differently),
      cmocka_unit_test(test_class_ids_past_the_output),
      cmocka_unit_test(test_negative_class_ids),
      cmocka_unit_test(test_onehot_width_differs_from_output),
      cmocka_unit_test(test_output_and_loss_disagree),
      cmocka_unit_test(test_fixes_compose),
      cmocka_unit_test(test_device_memory),
      cmocka_unit_test(test_class_imbalance_threshold),
      cmocka_unit_test(test_binary_crossentropy),
      cmocka_unit_test(test_tiny_features_get_a_scale),
      cmocka_unit_test(test_class_imbalance_names_csv_columns),
      cmocka_unit_test(test_feature_magnitude_threshold),
      cmocka_unit_test(test_constant_features),
      cmocka_unit_test(test_pixels_get_a_scale),
      cmocka_unit_test(test_standardized_features_get_no_scale_warning),
      cmocka_unit_test(test_uneven_feature_scales),
      cmocka_unit_test(test_large_features_a_scale_cannot_fix),
      cmocka_unit_test(test_errors_come_first),
      cmocka_unit_test(test_many_problems_stay_bounded),
      cmocka_unit_test(test_cause_names),
      cmocka_unit_test(test_fix_writers),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
