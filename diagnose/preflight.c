/* diagnose/preflight.c — owns fl_preflight: the checks of a job spec against
 * the statistics of its data before any training step (DESIGN.md §4, stage
 * 1). Each finding carries a cause code, the measured evidence, and a merge
 * patch on the spec that makes the check pass ("" when only the data can
 * change).
 *
 *   errors (the job is rejected)   invalid_data, label_encoding_mismatch,
 *                                  labels_out_of_range, output_loss_mismatch,
 *                                  device_out_of_memory
 *   warnings (shown, kept as priors) class_imbalance, unnormalized_inputs
 *
 * Fixes that touch the loss or the layers are all written, last, from one
 * corrected copy of both (fixed_loss, fixed_layers) that every check adds
 * its correction to. Merge patches replace arrays whole and a loss string
 * replaces a loss object whole, so two fixes written from the original spec
 * would undo each other (a units fix and an activation fix both carry the
 * whole layers array); written from one corrected copy they agree, whether
 * a user applies one of them, several, or all in any order. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diagnose_internal.h"
#include "fix_json.h"
#include "flatline/diagnose.h"

/* Warning thresholds (DESIGN.md §4). */
#define FL__IMBALANCE_RATIO 10.0 /* max/min rows per class present */
#define FL__INPUT_ABS_MAX 20.0   /* max |x| of a feature */
/* The mirror image of FL__INPUT_ABS_MAX on a log scale around unit-scale
 * inputs (standardized, or pixels / 255): every feature's largest |x|
 * below 1/20. Pixels divided by 255 twice reach 0.004 (question round 9:
 * plain SGD at 0.01 held at chance for 10 epochs; standardized inputs
 * reached 0.78 of 512 held-out rows in the probe). A note until a probe
 * confirms it: Adam rescales its steps and trains such inputs. */
#define FL__INPUT_ABS_MIN (1.0 / FL__INPUT_ABS_MAX)
#define FL__SCALE_RATIO 1000.0   /* max/min magnitude of varying features */
#define FL__MAX_LISTED 6         /* class ids listed in a message */
/* Validation features whose typical magnitude is this many times the
 * training features' (or as many times smaller), see check_val_scale. */
#define FL__VAL_SCALE_RATIO 10.0
#define FL__VAL_SCALE_MIN_ROWS 10 /* fewer validation rows: no comparison */

#define FL__MIB (1024.0 * 1024.0)
#define FL__STR_(x) #x
#define FL__STR(x) FL__STR_(x)

/* Which parts of the corrected spec a finding's fix carries. */
enum { FIX_LOSS = 1u, FIX_LAYERS = 2u };

typedef struct {
  const fl_preflight_input *in;
  const fl_job_spec *spec;
  const fl_dataset_stats *train;
  const fl_dataset_stats *val; /* NULL when there is none */
  fl_findings *out;
  unsigned fix_parts[FL_MAX_FINDINGS]; /* FIX_* per finding, written last */
  fl_loss_spec fixed_loss;
  fl_layer_spec fixed_layers[FL_MAX_LAYERS];
} preflight;

/* ---- small helpers ------------------------------------------------------ */

static void appendf(char *buf, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void appendf(char *buf, size_t size, const char *fmt, ...) {
  size_t len = strlen(buf);
  if (len + 1 >= size) return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf + len, size - len, fmt, ap);
  va_end(ap);
}

/* A finding with an empty fix; NULL when FL_MAX_FINDINGS are taken (errors
 * are checked first, so what is dropped then is a warning). */
static fl_finding *add(preflight *p, fl_severity severity, fl_cause cause,
                       unsigned fix_parts, const char *message) {
  fl_findings *out = p->out;
  if (out->n >= FL_MAX_FINDINGS) return NULL;
  p->fix_parts[out->n] = fix_parts;
  fl_finding *f = &out->items[out->n++];
  f->severity = severity;
  f->cause = cause;
  snprintf(f->message, sizeof f->message, "%s", message);
  f->fix[0] = '\0';
  return f;
}

static bool is_cross_entropy(fl_loss_kind k) {
  return k == FL_LOSS_CATEGORICAL_CE || k == FL_LOSS_SPARSE_CATEGORICAL_CE ||
         k == FL_LOSS_BINARY_CE;
}

static const fl_layer_spec *last_layer(const preflight *p) {
  return &p->spec->layers[p->spec->n_layers - 1];
}

/* The file part of a path, for messages that must stay short. */
static const char *base_name(const char *path) {
  const char *slash = strrchr(path, '/');
  return slash ? slash + 1 : path;
}

/* "labels (y.npy)", "labels (column \"species\" of iris.csv)", "labels
 * (3 label columns of iris.csv)": where the training labels come from. */
static void labels_named(const fl_job_spec *spec, char *buf, size_t size) {
  const fl_data_source *src = &spec->train;
  const fl_label_column *cols = src->label_columns;
  switch (src->kind) {
    case FL_SRC_NPY:
    case FL_SRC_IDX:
      snprintf(buf, size, "labels (%.64s)", base_name(src->labels));
      return;
    case FL_SRC_CSV:
      if (src->n_label_columns == 1 && cols && cols[0].name[0])
        snprintf(buf, size, "labels (column \"%.32s\" of %.64s)",
                 cols[0].name, base_name(src->features));
      else if (src->n_label_columns == 1 && cols)
        snprintf(buf, size, "labels (column %d of %.64s)", cols[0].index,
                 base_name(src->features));
      else
        snprintf(buf, size, "labels (%d label columns of %.64s)",
                 src->n_label_columns, base_name(src->features));
      return;
    case FL_SRC_NONE:
      break;
  }
  snprintf(buf, size, "labels");
}

/* "3" or "3 (\"cat\")" when one-hot labels come from named CSV columns. */
static void class_named(const fl_job_spec *spec, size_t c, char *buf,
                        size_t size) {
  const fl_data_source *src = &spec->train;
  if (src->kind == FL_SRC_CSV && src->n_label_columns > 1 &&
      src->label_columns && c < (size_t)src->n_label_columns &&
      src->label_columns[c].name[0])
    snprintf(buf, size, "%zu (\"%.32s\")", c, src->label_columns[c].name);
  else
    snprintf(buf, size, "%zu", c);
}

/* MiB with a decimal below 10, so that small numbers do not read as 0. */
static void append_mib(char *buf, size_t size, double bytes) {
  double m = bytes / FL__MIB;
  if (m < 0.1) appendf(buf, size, "under 0.1 MiB");
  else appendf(buf, size, "%.*f MiB", m < 10 ? 1 : 0, m);
}

/* x rounded to 3 significant digits (1/255 -> 0.00392). */
static double round3(double x) { return fl_round_digits(x, 3); }

/* ---- invalid_data ------------------------------------------------------- */

static void check_values(preflight *p, const fl_dataset_stats *st,
                         const char *split) {
  char msg[FL_TEXT_MAX];
  if (st->n_nonfinite > 0) {
    snprintf(msg, sizeof msg, "%s features hold %zu NaN/Inf values (of %zu)",
             split, st->n_nonfinite, st->n * st->d);
    size_t empty = 0, first = 0;
    for (size_t j = 0; st->feat_min && j < st->d; j++) {
      if (!isnan(st->feat_min[j])) continue;
      if (empty++ == 0) first = j;
    }
    if (empty == 1)
      appendf(msg, sizeof msg, "; feature %zu has no finite value", first);
    else if (empty > 1)
      appendf(msg, sizeof msg,
              "; %zu features have no finite value, the first is feature %zu",
              empty, first);
    appendf(msg, sizeof msg,
            "; remove or impute them: the data must change");
    add(p, FL_SEVERITY_ERROR, FL_CAUSE_INVALID_DATA, 0, msg);
  }
  if (st->n_label_nonfinite > 0) {
    snprintf(msg, sizeof msg,
             "%zu of %zu %s label rows hold NaN/Inf; the data must change",
             st->n_label_nonfinite, st->n, split);
    add(p, FL_SEVERITY_ERROR, FL_CAUSE_INVALID_DATA, 0, msg);
  }
}

/* Validation rows of classes that no training row has: the model cannot
 * learn them (it drives their probability towards 0), so they cap the
 * validation accuracy at 1 - their share and raise the validation loss
 * while the training loss falls, which looks like overfitting. Keras'
 * validation_split takes the *last* rows unshuffled, and rows sorted by
 * class (a common export order) put whole classes there. A warning: it
 * becomes the cause (decide.c) only when the validation metrics fail. */
static bool check_unseen_classes(preflight *p) {
  const fl_dataset_stats *tr = p->train, *va = p->val;
  if (va->n == 0 || !va->class_counts || !tr->class_counts) return false;
  uint64_t unseen = 0, total = 0;
  size_t classes = 0, first[FL__MAX_LISTED];
  for (size_t c = 0; c < va->n_classes; c++) {
    total += va->class_counts[c];
    if (va->class_counts[c] == 0 || (c < tr->n_classes && tr->class_counts[c] > 0)) continue;
    unseen += va->class_counts[c];
    if (classes < FL__MAX_LISTED) first[classes] = c;
    classes++;
  }
  if (unseen == 0 || total == 0) return false;
  char msg[FL_TEXT_MAX], name[64];
  snprintf(msg, sizeof msg, "%llu of %llu validation rows (%.1f%%) are of class%s",
           (unsigned long long)unseen, (unsigned long long)total,
           100.0 * (double)unseen / (double)total, classes > 1 ? "es" : "");
  for (size_t i = 0; i < classes && i < FL__MAX_LISTED; i++) {
    class_named(p->spec, first[i], name, sizeof name);
    appendf(msg, sizeof msg, "%s %s", i ? "," : "", name);
  }
  if (classes > FL__MAX_LISTED) appendf(msg, sizeof msg, " and %zu more", classes - FL__MAX_LISTED);
  appendf(msg, sizeof msg,
          " that no training row has: the model cannot learn them, and validation "
          "accuracy cannot pass %.3f. %s",
          1.0 - (double)unseen / (double)total,
          p->spec->validation.kind == FL_SRC_NONE && p->spec->validation_split > 0
              ? "validation_split takes the last rows without shuffling (as Keras): shuffle "
                "the rows before the split, or give data.validation"
              : "give the training set rows of every class the validation set has");
  add(p, FL_SEVERITY_WARNING, FL_CAUSE_INVALID_DATA, 0, msg);
  return true;
}

/* Validation rows taken by validation_split whose classes are not
 * distributed as the training rows': Keras' split takes the last rows
 * unshuffled, and a file sorted by class (iris.csv lists its three
 * species in turn) puts one class there, which the training rows hold few
 * of. Pearson's chi-square test of homogeneity on the two class-count
 * rows: a random split gives p < FL_LABEL_TEST_ALPHA once in a thousand
 * (the approximation wants every expected count >= 1, Cochran; below it
 * the test says nothing). Only for validation_split: a validation set
 * of its own may be balanced on purpose. A warning, as unseen classes:
 * the cause when the validation metrics fail. */
static void check_split_classes(preflight *p) {
  const fl_dataset_stats *tr = p->train, *va = p->val;
  if (!(p->spec->validation.kind == FL_SRC_NONE && p->spec->validation_split > 0)) return;
  if (va->n == 0 || !va->class_counts || !tr->class_counts) return;
  /* The two count rows over the same classes (ids: each row as long as its
   * largest id, so the shorter is padded with zeros). */
  size_t k = tr->n_classes > va->n_classes ? tr->n_classes : va->n_classes;
  uint64_t *counts = calloc(2 * k, sizeof *counts);
  if (!counts) return; /* a note we cannot afford to compute: no note */
  uint64_t *ct = counts, *cv = counts + k;
  memcpy(ct, tr->class_counts, tr->n_classes * sizeof *ct);
  memcpy(cv, va->class_counts, va->n_classes * sizeof *cv);
  double min_expected = 0;
  double pv = fl_chi2_homogeneity(ct, cv, k, &min_expected);
  if (!(pv < FL_LABEL_TEST_ALPHA) || min_expected < 1) {
    free(counts);
    return;
  }
  /* The class most over-represented among the validation rows. */
  double nt = 0, nv = 0;
  for (size_t c = 0; c < k; c++) nt += (double)ct[c], nv += (double)cv[c];
  size_t top = 0;
  double ratio = -1;
  for (size_t c = 0; c < k; c++) {
    double r = ((double)cv[c] / nv) / (((double)ct[c] + 0.5) / nt);
    if (r > ratio) ratio = r, top = c;
  }
  double share_v = (double)cv[top] / nv, share_t = (double)ct[top] / nt;
  free(counts);
  char msg[FL_TEXT_MAX], name[64];
  class_named(p->spec, top, name, sizeof name);
  snprintf(msg, sizeof msg,
           "the validation rows' classes are not distributed as the training rows': class %s "
           "is %.1f%% of the %.0f validation rows and %.1f%% of the %.0f training rows "
           "(chi-square test of homogeneity, p = %.2g; a random split gives p < %g once in "
           "%.0f). validation_split takes the last rows without shuffling (as Keras), and "
           "rows sorted by class put one class there: shuffle the rows before the split, or "
           "give data.validation",
           name, 100.0 * share_v, nv, 100.0 * share_t, nt, pv, FL_LABEL_TEST_ALPHA,
           1 / FL_LABEL_TEST_ALPHA);
  add(p, FL_SEVERITY_WARNING, FL_CAUSE_INVALID_DATA, 0, msg);
}

static void check_invalid_data(preflight *p) {
  const fl_dataset_stats *tr = p->train, *va = p->val;
  char msg[FL_TEXT_MAX];
  if (tr->n == 0)
    add(p, FL_SEVERITY_ERROR, FL_CAUSE_INVALID_DATA, 0,
        "the training set is empty (0 rows)");
  else if (tr->d == 0)
    add(p, FL_SEVERITY_ERROR, FL_CAUSE_INVALID_DATA, 0,
        "training rows have no features (width 0)");
  check_values(p, tr, "training");
  if (!va) return;
  if (va->n == 0)
    add(p, FL_SEVERITY_ERROR, FL_CAUSE_INVALID_DATA, 0,
        "the validation set is empty (0 rows)");
  if (va->d != tr->d) {
    snprintf(msg, sizeof msg,
             "validation rows have %zu features but training rows have %zu; "
             "both splits need the same columns",
             va->d, tr->d);
    add(p, FL_SEVERITY_ERROR, FL_CAUSE_INVALID_DATA, 0, msg);
  }
  check_values(p, va, "validation");
}

/* ---- label_encoding_mismatch ------------------------------------------- */

static void check_label_encoding(preflight *p) {
  const fl_job_spec *spec = p->spec;
  const fl_dataset_stats *tr = p->train, *va = p->val;
  const fl_loss_spec *loss = &spec->loss;
  const char *loss_name = fl_loss_name(loss->kind);
  const int units = last_layer(p)->units;
  char msg[FL_TEXT_MAX], what[224];
  labels_named(spec, what, sizeof what);

  if (va && va->label_kind != tr->label_kind) {
    snprintf(msg, sizeof msg,
             "training labels are %s but validation labels are %s; both "
             "splits need the same encoding: the data must change",
             tr->label_kind == FL_LABELS_IDS ? "class ids (shape (N,))"
                                             : "one-hot/probability rows",
             va->label_kind == FL_LABELS_IDS ? "class ids (shape (N,))"
                                             : "one-hot/probability rows");
    add(p, FL_SEVERITY_ERROR, FL_CAUSE_LABEL_ENCODING_MISMATCH, 0, msg);
  }

  /* binary_crossentropy's one target column is a probability of its own */
  if (tr->label_kind == FL_LABELS_DENSE && is_cross_entropy(loss->kind) &&
      loss->kind != FL_LOSS_BINARY_CE) {
    size_t bad_sum = tr->n_rows_bad_sum, negative = tr->n_rows_negative;
    size_t rows = tr->n;
    if (va && va->label_kind == FL_LABELS_DENSE) {
      bad_sum += va->n_rows_bad_sum;
      negative += va->n_rows_negative;
      rows += va->n;
    }
    if (bad_sum > 0 || negative > 0) {
      /* No loss fits such rows: the data must change, whatever the loss. */
      snprintf(msg, sizeof msg,
               "label rows must be one-hot or probabilities for %s, but %zu "
               "of %zu do not sum to 1 and %zu %s negative entries: the data "
               "must change",
               loss_name, bad_sum, rows, negative,
               negative == 1 ? "has" : "have");
      add(p, FL_SEVERITY_ERROR, FL_CAUSE_LABEL_ENCODING_MISMATCH, 0, msg);
      return;
    }
  }

  if (tr->label_kind == FL_LABELS_IDS &&
      loss->kind == FL_LOSS_CATEGORICAL_CE) {
    snprintf(msg, sizeof msg,
             "%s are class ids (shape (%zu,)), but the loss %s expects "
             "one-hot rows of width %d; use sparse_categorical_crossentropy",
             what, tr->n, loss_name, units);
    p->fixed_loss.kind = FL_LOSS_SPARSE_CATEGORICAL_CE;
    add(p, FL_SEVERITY_ERROR, FL_CAUSE_LABEL_ENCODING_MISMATCH, FIX_LOSS, msg);
  } else if (tr->label_kind == FL_LABELS_DENSE &&
             loss->kind == FL_LOSS_SPARSE_CATEGORICAL_CE) {
    snprintf(msg, sizeof msg,
             "%s are one-hot/probability rows (shape (%zu, %zu)), but the "
             "loss %s expects class ids (shape (N,)); use "
             "categorical_crossentropy",
             what, tr->n, tr->k, loss_name);
    p->fixed_loss.kind = FL_LOSS_CATEGORICAL_CE;
    add(p, FL_SEVERITY_ERROR, FL_CAUSE_LABEL_ENCODING_MISMATCH, FIX_LOSS, msg);
  } else if (tr->label_kind == FL_LABELS_IDS && loss->kind == FL_LOSS_MSE) {
    unsigned parts = FIX_LOSS;
    snprintf(msg, sizeof msg,
             "%s are class ids (shape (%zu,)), and mean_squared_error would "
             "regress the outputs onto the id numbers: it is not a "
             "classification loss for ids; use "
             "sparse_categorical_crossentropy",
             what, tr->n);
    p->fixed_loss.kind = FL_LOSS_SPARSE_CATEGORICAL_CE;
    p->fixed_loss.from_logits = false;
    if (last_layer(p)->activation != FL_ACT_SOFTMAX) {
      appendf(msg, sizeof msg, " with a softmax output (model.layers[%d] is %s)",
              spec->n_layers - 1,
              fl_activation_name(last_layer(p)->activation));
      p->fixed_layers[spec->n_layers - 1].activation = FL_ACT_SOFTMAX;
      parts |= FIX_LAYERS;
    }
    add(p, FL_SEVERITY_ERROR, FL_CAUSE_LABEL_ENCODING_MISMATCH, parts, msg);
  }
}

/* ---- labels_out_of_range ----------------------------------------------- */

/* Evidence of one split's labels against `units` outputs, appended to msg
 * ("; " between parts). *need grows to the units that would fit the labels,
 * *dense_width is the one-hot width seen last (0: none yet; it is set to
 * SIZE_MAX when two splits disagree), *negative says no units would fit. */
static bool range_evidence(const fl_dataset_stats *st, const char *split,
                           int units, size_t *need, size_t *dense_width,
                           bool *negative, char *msg, size_t size) {
  bool any = false;
  if (!st || st->n == 0) return false;
  const char *sep = msg[0] ? "; " : "";
  if (st->label_kind == FL_LABELS_DENSE) {
    *dense_width = *dense_width && *dense_width != st->k ? SIZE_MAX : st->k;
    if (st->k != (size_t)units) {
      appendf(msg, size, "%s%s labels are one-hot rows of width %zu", sep,
              split, st->k);
      any = true;
    }
    if (st->k > *need) *need = st->k;
    return any;
  }
  if (st->n_negative_ids > 0) {
    appendf(msg, size, "%s%zu %s rows have negative class ids (smallest %lld)",
            sep, st->n_negative_ids, split, (long long)st->min_id);
    *negative = true;
    any = true;
    sep = "; ";
  }
  if (st->max_id >= units) {
    uint64_t rows = 0;
    for (size_t c = (size_t)units; st->class_counts && c < st->n_classes; c++)
      rows += st->class_counts[c];
    /* ids past FL_DATA_MAX_CLASSES are not counted in class_counts */
    bool at_least = st->k > st->n_classes;
    appendf(msg, size, "%s%s class ids reach %lld (%s%llu rows with ids >= %d)",
            sep, split, (long long)st->max_id, at_least ? "at least " : "",
            (unsigned long long)rows, units);
    any = true;
  }
  if (st->max_id >= 0 && (size_t)st->max_id + 1 > *need)
    *need = (size_t)st->max_id + 1;
  return any;
}

/* binary_crossentropy: class ids 0/1 (or one target column). Ids past 1
 * mean more classes: the fix is K softmax units under
 * sparse_categorical_crossentropy. */
static void check_binary_labels(preflight *p) {
  const fl_dataset_stats *splits[2] = {p->train, p->val};
  const char *names[2] = {"training", "validation"};
  const int last = p->spec->n_layers - 1;
  char msg[FL_TEXT_MAX] = "";
  long long max_id = -1;
  bool negative = false, wide = false;
  for (int i = 0; i < 2; i++) {
    const fl_dataset_stats *st = splits[i];
    if (!st || st->n == 0) continue;
    if (st->label_kind == FL_LABELS_DENSE && st->k != 1) {
      appendf(msg, sizeof msg, "%s%s labels are one-hot rows of width %zu",
              msg[0] ? "; " : "", names[i], st->k);
      wide = true;
    } else if (st->label_kind == FL_LABELS_IDS &&
               (st->n_negative_ids > 0 || st->max_id > 1)) {
      appendf(msg, sizeof msg, "%s%s class ids run %lld..%lld",
              msg[0] ? "; " : "", names[i], (long long)st->min_id,
              (long long)st->max_id);
      negative |= st->n_negative_ids > 0;
      if (st->max_id > max_id) max_id = st->max_id;
    }
  }
  if (!msg[0]) return;
  appendf(msg, sizeof msg,
          ", but binary_crossentropy takes class ids 0 and 1 with one sigmoid "
          "unit");
  if (negative || wide || max_id + 1 > FL_MAX_UNITS) {
    appendf(msg, sizeof msg, "%s",
            wide ? "; for one-hot rows use categorical_crossentropy with as "
                   "many softmax units as columns"
                 : ": the data must change");
    add(p, FL_SEVERITY_ERROR, FL_CAUSE_LABELS_OUT_OF_RANGE, 0, msg);
    return;
  }
  appendf(msg, sizeof msg,
          "; for %lld classes use sparse_categorical_crossentropy with %lld "
          "softmax units", max_id + 1, max_id + 1);
  p->fixed_loss.kind = FL_LOSS_SPARSE_CATEGORICAL_CE;
  p->fixed_loss.from_logits = false;
  p->fixed_layers[last].units = (int)(max_id + 1);
  p->fixed_layers[last].activation = FL_ACT_SOFTMAX;
  add(p, FL_SEVERITY_ERROR, FL_CAUSE_LABELS_OUT_OF_RANGE,
      FIX_LOSS | FIX_LAYERS, msg);
}

static void check_label_range(preflight *p) {
  const fl_job_spec *spec = p->spec;
  if (spec->loss.kind == FL_LOSS_BINARY_CE) {
    /* Under K > 1 units the loss is the mismatch (check_output_loss);
     * ids past 1 are what those units are for. */
    if (last_layer(p)->units == 1) check_binary_labels(p);
    return;
  }
  const fl_dataset_stats *tr = p->train, *va = p->val;
  const int last = spec->n_layers - 1, units = spec->layers[last].units;
  char msg[FL_TEXT_MAX] = "";
  size_t need = 0, dense_width = 0;
  bool negative = false;
  bool any = range_evidence(tr, "training", units, &need, &dense_width,
                            &negative, msg, sizeof msg);
  any |= range_evidence(va, "validation", units, &need, &dense_width,
                        &negative, msg, sizeof msg);
  if (!any) return;
  appendf(msg, sizeof msg, "%s the last layer (model.layers[%d]) has %d units",
          negative ? ";" : ", but", last, units);
  if (tr->label_kind == FL_LABELS_IDS)
    appendf(msg, sizeof msg, ", for class ids 0..%d", units - 1);
  /* Why no units would fit, or NULL when `need` units do. */
  const char *unfixable =
      negative ? "class ids must be >= 0"
      : va && va->label_kind != tr->label_kind ? "the splits encode labels differently"
      : dense_width == SIZE_MAX ? "the splits' one-hot widths differ"
      : need > FL_MAX_UNITS ? "a layer has at most " FL__STR(FL_MAX_UNITS) " units"
      : need < 1 ? "no class id is >= 0"
      : NULL;
  if (unfixable) {
    appendf(msg, sizeof msg, "; %s: the data must change", unfixable);
    add(p, FL_SEVERITY_ERROR, FL_CAUSE_LABELS_OUT_OF_RANGE, 0, msg);
    return;
  }
  appendf(msg, sizeof msg, "; set its units to %zu", need);
  /* The classic export from a 1-based tool: ids 1..K for K outputs. */
  if (tr->label_kind == FL_LABELS_IDS && tr->min_id == 1 &&
      (!va || va->n == 0 || va->min_id >= 1) && need == (size_t)units + 1)
    appendf(msg, sizeof msg,
            ", or, if the ids are 1-based (they run 1..%d), subtract 1 from "
            "the labels instead",
            units);
  p->fixed_layers[last].units = (int)need;
  add(p, FL_SEVERITY_ERROR, FL_CAUSE_LABELS_OUT_OF_RANGE, FIX_LAYERS, msg);
}

/* ---- output_loss_mismatch ---------------------------------------------- */

/* The output layer's activation with an activation entry stacked on it
 * (question round 15: Dense(10, softmax) then Activation(softmax)). Keras
 * builds it, and the loss sees the second applied to the first; softmax
 * of probabilities in [0, 1] keeps every output between 1 / (K - 1 + e)
 * and e / (K - 1 + e), so the cross-entropy cannot fall below
 * ln(K - 1 + e) - 1 (1.46 for ten classes) and its gradients are a
 * fraction of the usual. The fix keeps the activation written last on a
 * layer without one of its own. */
static bool check_stacked_output(preflight *p) {
  const fl_job_spec *spec = p->spec;
  const int last = spec->n_layers - 1;
  const fl_layer_spec *out = &spec->layers[last];
  if (out->stacked_activation == FL_ACT_LINEAR) return false;
  char msg[FL_TEXT_MAX], floor_note[160] = "";
  const double e = exp(1.0), k = out->units;
  if (out->activation == FL_ACT_SOFTMAX && out->stacked_activation == FL_ACT_SOFTMAX &&
      is_cross_entropy(spec->loss.kind) && out->units > 1)
    snprintf(floor_note, sizeof floor_note,
             ": every output stays between %.3g and %.3g, so the loss cannot fall "
             "below %.3g and its gradients are a fraction of the usual",
             1 / (k - 1 + e), e / (k - 1 + e), log(k - 1 + e) - 1);
  snprintf(msg, sizeof msg,
           "the output layer already applies %s and the activation entry after "
           "it applies %s to that output again, so the loss sees %s of %s%s; keep "
           "one of the two (the fix: the output layer with %s, no activation entry)",
           fl_activation_name(out->activation), fl_activation_name(out->stacked_activation),
           fl_activation_name(out->stacked_activation), fl_activation_name(out->activation),
           floor_note, fl_activation_name(out->stacked_activation));
  p->fixed_layers[last].activation = out->stacked_activation;
  p->fixed_layers[last].stacked_activation = FL_ACT_LINEAR;
  add(p, FL_SEVERITY_ERROR, FL_CAUSE_OUTPUT_LOSS_MISMATCH, FIX_LAYERS, msg);
  return true;
}

static void check_output_loss(preflight *p) {
  const fl_job_spec *spec = p->spec;
  const fl_loss_spec *loss = &spec->loss;
  if (check_stacked_output(p)) return;
  if (!is_cross_entropy(loss->kind)) return; /* MSE compares outputs as is */
  const int last = spec->n_layers - 1;
  const fl_activation act = spec->layers[last].activation;
  const char *loss_name = fl_loss_name(loss->kind);
  char msg[FL_TEXT_MAX];
  /* binary_crossentropy scores one probability per row: K units under it
   * (Keras users reach for it on K classes, where it reports per-unit
   * accuracy) cannot train a K-class model, and one softmax unit is
   * always 1. Named here, as the mismatch it is, rather than refused as a
   * malformed spec: the user gets the cause and the fix. */
  const int units = spec->layers[last].units;
  if (loss->kind == FL_LOSS_BINARY_CE && units != 1) {
    const bool onehot = p->train->label_kind == FL_LABELS_DENSE;
    const char *fit = onehot ? "categorical_crossentropy" : "sparse_categorical_crossentropy";
    snprintf(msg, sizeof msg,
             "%s takes one output unit (a sigmoid giving the probability of "
             "class 1, labels 0/1), but the last layer (model.layers[%d]) has "
             "%d units; for %d classes keep them with softmax and use %s, or "
             "for two classes set its units to 1 and its activation to sigmoid",
             loss_name, last, units, units, fit);
    p->fixed_loss.kind = onehot ? FL_LOSS_CATEGORICAL_CE : FL_LOSS_SPARSE_CATEGORICAL_CE;
    p->fixed_loss.from_logits = false;
    p->fixed_layers[last].activation = FL_ACT_SOFTMAX;
    add(p, FL_SEVERITY_ERROR, FL_CAUSE_OUTPUT_LOSS_MISMATCH,
        FIX_LOSS | (act != FL_ACT_SOFTMAX ? FIX_LAYERS : 0u), msg);
    return;
  }
  if (loss->kind == FL_LOSS_BINARY_CE && act == FL_ACT_SOFTMAX) {
    snprintf(msg, sizeof msg,
             "%s with a one-unit softmax output (model.layers[%d]): a softmax "
             "of one unit is always 1, so nothing can be learned; set its "
             "activation to sigmoid", loss_name, last);
    p->fixed_layers[last].activation = FL_ACT_SIGMOID;
    p->fixed_loss.from_logits = false;
    add(p, FL_SEVERITY_ERROR, FL_CAUSE_OUTPUT_LOSS_MISMATCH,
        FIX_LAYERS | (loss->from_logits ? FIX_LOSS : 0u), msg);
    return;
  }
  /* binary_crossentropy: one sigmoid unit, or a linear one from_logits */
  if (loss->kind == FL_LOSS_BINARY_CE && act == FL_ACT_SIGMOID) {
    if (!loss->from_logits) return;
    snprintf(msg, sizeof msg,
             "the last layer (model.layers[%d]) applies sigmoid, but %s has "
             "from_logits: true and applies sigmoid again to that "
             "probability, so the loss can hardly move; set from_logits to "
             "false", last, loss_name);
    p->fixed_loss.from_logits = false;
    add(p, FL_SEVERITY_ERROR, FL_CAUSE_OUTPUT_LOSS_MISMATCH, FIX_LOSS, msg);
    return;
  }
  if (loss->kind == FL_LOSS_BINARY_CE && act != FL_ACT_LINEAR) {
    snprintf(msg, sizeof msg,
             "the last layer (model.layers[%d]) uses %s, whose output is not "
             "a probability, but %s with from_logits: %s needs %s; use "
             "sigmoid with from_logits: false",
             last, fl_activation_name(act), loss_name,
             loss->from_logits ? "true" : "false",
             loss->from_logits ? "an unbounded logit" : "a probability");
    p->fixed_layers[last].activation = FL_ACT_SIGMOID;
    p->fixed_loss.from_logits = false;
    add(p, FL_SEVERITY_ERROR, FL_CAUSE_OUTPUT_LOSS_MISMATCH,
        FIX_LAYERS | (loss->from_logits ? FIX_LOSS : 0u), msg);
    return;
  }
  switch (act) {
    case FL_ACT_SOFTMAX:
      if (!loss->from_logits) return;
      snprintf(msg, sizeof msg,
               "the last layer (model.layers[%d]) applies softmax, but %s has "
               "from_logits: true and applies softmax again to those "
               "probabilities, so the loss can hardly move; set from_logits "
               "to false",
               last, loss_name);
      p->fixed_loss.from_logits = false;
      add(p, FL_SEVERITY_ERROR, FL_CAUSE_OUTPUT_LOSS_MISMATCH, FIX_LOSS, msg);
      return;
    case FL_ACT_LINEAR:
      if (loss->from_logits) return;
      snprintf(msg, sizeof msg,
               "the last layer (model.layers[%d]) is linear and outputs "
               "logits, but %s has from_logits: false and reads them as "
               "probabilities; set from_logits to true",
               last, loss_name);
      p->fixed_loss.from_logits = true;
      add(p, FL_SEVERITY_ERROR, FL_CAUSE_OUTPUT_LOSS_MISMATCH, FIX_LOSS, msg);
      return;
    default:
      snprintf(msg, sizeof msg,
               "the last layer (model.layers[%d]) uses %s, whose %d outputs "
               "are not a probability distribution (they need not sum to 1), "
               "but %s with from_logits: %s needs %s; use softmax with "
               "from_logits: false",
               last, fl_activation_name(act), spec->layers[last].units,
               loss_name, loss->from_logits ? "true" : "false",
               loss->from_logits ? "unbounded logits" : "probabilities");
      p->fixed_layers[last].activation = FL_ACT_SOFTMAX;
      p->fixed_loss.from_logits = false;
      add(p, FL_SEVERITY_ERROR, FL_CAUSE_OUTPUT_LOSS_MISMATCH,
          FIX_LAYERS | (loss->from_logits ? FIX_LOSS : 0u), msg);
      return;
  }
}

/* ---- device_out_of_memory ---------------------------------------------- */

static void check_device_memory(preflight *p) {
  const fl_preflight_input *in = p->in;
  if (in->device_memory == 0 || in->memory_needed <= in->device_memory) return;
  const fl_dataset_stats *tr = p->train, *va = p->val;
  /* As fl_train_memory_estimate counts them: both splits stay on the
   * device whole, labels costed as rows as wide as the output. */
  double rows = (double)tr->n + (va ? (double)va->n : 0.0);
  double data = rows * ((double)tr->d + last_layer(p)->units) * sizeof(float);
  char msg[FL_TEXT_MAX] = "the job needs about ";
  append_mib(msg, sizeof msg, (double)in->memory_needed);
  if (in->device_name && in->device_name[0])
    appendf(msg, sizeof msg, " of device memory, but \"%.96s\" has ",
            in->device_name);
  else
    appendf(msg, sizeof msg, " of device memory, but the device has ");
  append_mib(msg, sizeof msg, (double)in->device_memory);
  appendf(msg, sizeof msg, "; the data sets (kept on the device whole) take ");
  append_mib(msg, sizeof msg, data);
  appendf(msg, sizeof msg,
          " of it. Train on fewer rows, lower batch_size (now %d) or narrow "
          "the layers, or pick a device with more memory",
          p->spec->batch_size);
  add(p, FL_SEVERITY_ERROR, FL_CAUSE_DEVICE_OUT_OF_MEMORY, 0, msg);
}

/* ---- class_imbalance (warning) ----------------------------------------- */

static void check_class_imbalance(preflight *p) {
  const fl_dataset_stats *st = p->train;
  if (!st->class_counts || st->n_classes == 0) return;
  /* The classes the model can output: for ids, also those past the largest
   * id when the last layer is wider (they have no rows). */
  size_t k = st->n_classes;
  size_t units = (size_t)fl_spec_classes(p->spec); /* 2 for binary_crossentropy */
  if (st->label_kind == FL_LABELS_IDS && st->k <= st->n_classes && units > k)
    k = units;
  uint64_t total = 0, lo = 0, hi = 0;
  size_t lo_c = 0, hi_c = 0, present = 0, empty = 0;
  for (size_t c = 0; c < k; c++) {
    uint64_t n = c < st->n_classes ? st->class_counts[c] : 0;
    if (n == 0) {
      empty++;
      continue;
    }
    if (present == 0 || n < lo) lo = n, lo_c = c;
    if (present == 0 || n > hi) hi = n, hi_c = c;
    present++;
    total += n;
  }
  if (present == 0) return;
  double ratio = (double)hi / (double)lo;
  char msg[FL_TEXT_MAX], a[64], b[64];
  class_named(p->spec, hi_c, a, sizeof a);
  if (present == 1 && k >= 2) {
    snprintf(msg, sizeof msg,
             "all %llu training rows%s are class %s, but the model has %zu "
             "classes: it can only learn to predict that one",
             (unsigned long long)total,
             total < st->n ? " with a valid label" : "", a, k);
  } else if (ratio > FL__IMBALANCE_RATIO) {
    class_named(p->spec, lo_c, b, sizeof b);
    snprintf(msg, sizeof msg,
             "class %s has %llu training rows and class %s has %llu (ratio "
             "%.1f > %.0f); the majority class holds %.1f%% of %llu rows, so "
             "always predicting it scores %.1f%% accuracy",
             a, (unsigned long long)hi, b, (unsigned long long)lo, ratio,
             FL__IMBALANCE_RATIO, 100.0 * (double)hi / (double)total,
             (unsigned long long)total, 100.0 * (double)hi / (double)total);
  } else {
    return;
  }
  if (empty > 0) {
    appendf(msg, sizeof msg, "; no rows for class%s", empty > 1 ? "es" : "");
    size_t listed = 0;
    for (size_t c = 0; c < k && listed < FL__MAX_LISTED; c++) {
      if (c < st->n_classes && st->class_counts[c] > 0) continue;
      appendf(msg, sizeof msg, "%s %zu", listed ? "," : "", c);
      listed++;
    }
    if (empty > listed) appendf(msg, sizeof msg, " and %zu more", empty - listed);
  }
  /* One class alone: no weighting teaches the others, the data must
   * change. Otherwise the loss can weigh classes by their rarity (Keras'
   * class_weight), the fix; a job that weighs them already has taken it. */
  if (present == 1) {
    appendf(msg, sizeof msg,
            ". The data must change (collect or resample rows); no spec "
            "change fixes this");
    add(p, FL_SEVERITY_WARNING, FL_CAUSE_CLASS_IMBALANCE, 0, msg);
    return;
  }
  if (p->spec->class_weight.mode != FL_CLASS_WEIGHT_NONE) return;
  appendf(msg, sizeof msg,
          ". Weigh the loss by class (the fix: \"class_weight\": "
          "\"balanced\") or resample the rows");
  fl_finding *f = add(p, FL_SEVERITY_WARNING, FL_CAUSE_CLASS_IMBALANCE, 0, msg);
  if (f) fl__fix_class_weight_balanced(f->fix, sizeof f->fix);
}

/* ---- unnormalized_inputs (warning) ------------------------------------- */

/* How far apart the features' scales are is measured on their magnitudes
 * (max |x| per feature), not their standard deviations: a pixel that is
 * non-zero in one image of 3000 has a std of 7e-5 next to 0.4 for a central
 * one (a "ratio" of 5645 in every correctly scaled Fashion-MNIST job),
 * while its magnitude, 1/255 against 1, says what matters: both are on one
 * scale. The std range is still reported as evidence. */
typedef struct {
  size_t varying;         /* features with max > min */
  double mag_lo, mag_hi;  /* max |x| over varying features */
  size_t mag_lo_j, mag_hi_j;
  float std_lo, std_hi;   /* over varying features */
  size_t abs_max_j;       /* a feature where |x| reaches abs_max */
  size_t near_abs_max;    /* varying features reaching abs_max / 10 */
  bool non_negative;      /* every feature's min >= 0 */
  double widest_range;    /* largest max - min */
} feature_scan;

static void scan_features(const fl_dataset_stats *st, feature_scan *s) {
  memset(s, 0, sizeof *s);
  s->non_negative = true;
  if (!st->feat_min || !st->feat_max || !st->feat_std) return;
  for (size_t j = 0; j < st->d; j++) {
    float lo = st->feat_min[j], hi = st->feat_max[j], sd = st->feat_std[j];
    if (isnan(lo)) continue; /* no finite value (invalid_data says so) */
    double mag = fmax(fabs((double)lo), fabs((double)hi));
    if (lo < 0) s->non_negative = false;
    if (mag == st->abs_max) s->abs_max_j = j;
    if ((double)hi - lo > s->widest_range) s->widest_range = (double)hi - lo;
    if (hi == lo) continue; /* constant: carries no scale */
    if (s->varying == 0 || mag < s->mag_lo) s->mag_lo = mag, s->mag_lo_j = j;
    if (s->varying == 0 || mag > s->mag_hi) s->mag_hi = mag, s->mag_hi_j = j;
    if (s->varying == 0 || sd < s->std_lo) s->std_lo = sd;
    if (s->varying == 0 || sd > s->std_hi) s->std_hi = sd;
    if (mag >= st->abs_max / 10) s->near_abs_max++;
    s->varying++;
  }
}

/* Standardized features (every varying column with mean within a quarter
 * of a std of 0 and std within a factor 2 of 1, with or without its most
 * extreme value) are on one scale by
 * construction: a rare large value is an outlier of the data, not a
 * scale problem, and a warning about it would be a false alarm (DESIGN.md
 * §4, "warnings are claims"). */
static bool standardized(const fl_dataset_stats *st) {
  if (!st->feat_mean || !st->feat_std) return false;
  size_t varying = 0;
  double n = (double)st->n;
  for (size_t j = 0; j < st->d; j++) {
    double sd = st->feat_std[j], mean = st->feat_mean[j];
    if (!(sd > 0) || st->feat_min[j] == st->feat_max[j] || n < 2) continue;
    /* One rare extreme value inflates the mean and std: judge the column
     * also without it (exact: remove it from the sums). */
    double lo = st->feat_min[j], hi = st->feat_max[j];
    double x = fabs(lo - mean) > fabs(hi - mean) ? lo : hi;
    double mean_rest = (n * mean - x) / (n - 1);
    double var_rest = (n * (sd * sd + mean * mean) - x * x) / (n - 1) - mean_rest * mean_rest;
    double sd_rest = var_rest > 0 ? sqrt(var_rest) : 0;
    bool ok = fabs(mean) <= 0.25 * sd && sd >= 0.5 && sd <= 2.0;
    bool ok_rest = fabs(mean_rest) <= 0.25 * sd_rest && sd_rest >= 0.5 && sd_rest <= 2.0;
    if (!ok && !ok_rest) return false;
    varying++;
  }
  return varying > 0;
}

/* ---- constant features (a warning under labels_uninformative) ---------- */

/* Every feature column holds one value: the features carry nothing the
 * labels could be learned from, however the model is set up. A classic
 * loading bug (images read as zeros, a wrong column slice); the label test
 * and the probes then confirm labels_uninformative, and this note says
 * where to look. A warning, as issue 10 wants of preflight: a claim only
 * when training confirms it. */
static void check_constant_features(preflight *p) {
  const fl_dataset_stats *st = p->train;
  if (st->n < 2 || st->d == 0 || !st->feat_min || !st->feat_max) return;
  feature_scan s;
  scan_features(st, &s);
  if (s.varying > 0) return;
  for (size_t j = 0; j < st->d; j++)
    if (isnan(st->feat_min[j])) return; /* non-finite: invalid_data's */
  char msg[FL_TEXT_MAX];
  snprintf(msg, sizeof msg,
           "every one of the %zu training feature columns holds a single value "
           "over all %zu rows (feature 0 is %.4g): the features carry nothing to "
           "learn the labels from; check how the data is loaded (images read as "
           "zeros, the wrong columns)",
           st->d, st->n, (double)st->feat_min[0]);
  add(p, FL_SEVERITY_WARNING, FL_CAUSE_LABELS_UNINFORMATIVE, 0, msg);
}

static void check_input_scale(preflight *p) {
  const fl_dataset_stats *st = p->train;
  const fl_job_spec *spec = p->spec;
  if (st->n == 0 || st->d == 0) return;
  if (standardized(st)) return;
  feature_scan s;
  scan_features(st, &s);
  bool large = st->abs_max > FL__INPUT_ABS_MAX;
  bool tiny = s.varying >= 1 && st->abs_max > 0 && st->abs_max < FL__INPUT_ABS_MIN;
  bool uneven = s.varying >= 2 && s.mag_hi > FL__SCALE_RATIO * s.mag_lo;
  if (!large && !tiny && !uneven) return;

  char msg[FL_TEXT_MAX];
  snprintf(msg, sizeof msg, "training features reach |x| = %.4g (feature %zu)",
           st->abs_max, s.abs_max_j);
  if (uneven)
    appendf(msg, sizeof msg,
            "; feature magnitudes range from %.3g (feature %zu) to %.3g "
            "(feature %zu), a ratio of %.4g",
            s.mag_lo, s.mag_lo_j, s.mag_hi, s.mag_hi_j, s.mag_hi / s.mag_lo);
  if (s.varying >= 1)
    appendf(msg, sizeof msg, "; per-feature std is %.3g to %.3g",
            (double)s.std_lo, (double)s.std_hi);
  if (tiny && !uneven)
    appendf(msg, sizeof msg, "; inputs this small give the first layer's units and "
            "gradients almost nothing to work with, and the loss can stall");
  else
    appendf(msg, sizeof msg, "; inputs %s can saturate units and make the loss "
            "stall or diverge", uneven ? "on such different scales" : "this large");

  /* One scale fixes magnitudes, never uneven scales. And it suits only
   * features in one unit that start near 0, like pixels: most of them reach
   * near the largest value, and the values span from about 0. Penguins'
   * bill mm and body mass g (60 vs 6400) need standardizing; 1000..1010
   * scaled by 1/1010 would be squeezed into 0.99..1. */
  double train_old = spec->train.has_scale ? spec->train.scale : 1.0;
  double factor = 1.0 / st->abs_max;
  double train_new = round3(train_old * factor);
  bool one_unit = s.non_negative && 2 * s.near_abs_max >= s.varying &&
                  s.widest_range >= st->abs_max / 2;
  bool scalable = (large || tiny) && !uneven && one_unit && isnormal((float)train_new);
  fl_finding *f;
  if (!scalable) {
    appendf(msg, sizeof msg,
            ". Standardize each feature (subtract its mean, divide by its "
            "std) before training; one scale cannot fix this");
    add(p, FL_SEVERITY_WARNING, FL_CAUSE_UNNORMALIZED_INPUTS, 0, msg);
    return;
  }
  bool has_val = spec->validation.kind != FL_SRC_NONE;
  double val_old = spec->validation.has_scale ? spec->validation.scale : 1.0;
  double val_new = val_old == train_old ? train_new : round3(val_old * factor);
  if (has_val && !isnormal((float)val_new)) has_val = false;
  appendf(msg, sizeof msg, "; set data.train.scale to %.3g%s to bring them to "
          "about [0, 1]", train_new, has_val ? " (and data.validation.scale)" : "");
  f = add(p, FL_SEVERITY_WARNING, FL_CAUSE_UNNORMALIZED_INPUTS, 0, msg);
  if (f) fl__fix_scale(train_new, has_val, val_new, f->fix, sizeof f->fix);
}

/* ---- validation features on another scale ------------------------------ */

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* Validation features on another scale than the training features: the
 * training set's preprocessing (a scale of 1/255, standardizing) left off
 * the validation set, so a model that learned shows a validation loss in
 * the tens while its accuracy is fair (question round 7). Assumption: the
 * two sets' rows come from one distribution, so a feature's root mean
 * square sqrt(mean^2 + std^2) is about the same in both; the median over
 * features of the ratio, validation over training, is then near 1 however
 * a few outlying columns fall. FL__VAL_SCALE_RATIO, an order of
 * magnitude, is far outside what sampling gives from FL__VAL_SCALE_MIN_ROWS
 * rows on (a binary feature present in 5% of rows: 1.3x with one hit in
 * 12). A warning: the cause once the validation metrics fail (decide.c).
 * When the features agree on the factor (three in four within 2x of the
 * median) one validation scale fixes it; else the preprocessing differs
 * in more than a factor (standardizing), and the message says so. */
static void check_val_scale(preflight *p) {
  const fl_dataset_stats *tr = p->train, *va = p->val;
  if (va->n < FL__VAL_SCALE_MIN_ROWS || tr->n == 0 || va->d != tr->d || tr->d == 0) return;
  double *ratio = malloc(tr->d * sizeof *ratio);
  if (!ratio) return; /* a note we cannot afford to compute: no note */
  size_t m = 0, top = 0;
  double top_rt = 0, top_rv = 0;
  for (size_t j = 0; j < tr->d; j++) {
    double mt = tr->feat_mean[j], st = tr->feat_std[j], mv = va->feat_mean[j], sv = va->feat_std[j];
    double rt = sqrt(mt * mt + st * st), rv = sqrt(mv * mv + sv * sv);
    if (!(rt > 0) || !(rv > 0) || !isfinite(rt) || !isfinite(rv)) continue;
    if (rt > top_rt) top = j, top_rt = rt, top_rv = rv;
    ratio[m++] = rv / rt;
  }
  if (m == 0) {
    free(ratio);
    return;
  }
  qsort(ratio, m, sizeof *ratio, cmp_double);
  double med = ratio[m / 2];
  size_t agree = 0;
  for (size_t i = 0; i < m; i++) agree += ratio[i] >= med / 2 && ratio[i] <= med * 2;
  free(ratio);
  if (med < FL__VAL_SCALE_RATIO && med > 1 / FL__VAL_SCALE_RATIO) return;
  const fl_job_spec *spec = p->spec;
  double train_s = spec->train.has_scale ? spec->train.scale : 1.0;
  double val_s = spec->validation.has_scale ? spec->validation.scale : 1.0;
  /* The training scale itself when the factor is what it applied (1/255
   * given to training only), else the factor that matches them. */
  double val_new = fabs(val_s / med - train_s) <= 0.25 * train_s ? fl__fix_float((float)train_s)
                                                                  : round3(val_s / med);
  bool one_factor = 4 * agree >= 3 * m && isnormal((float)val_new);
  char msg[FL_TEXT_MAX];
  snprintf(msg, sizeof msg,
           FL__VAL_SCALE_NOTE ": the median feature's root mean square is %.3g times the training one's (feature %zu: %.3g "
           "against %.3g); the validation set needs the training set's preprocessing",
           med, top, top_rv, top_rt);
  if (one_factor)
    appendf(msg, sizeof msg, ": set data.validation.scale to %.7g", val_new);
  else
    appendf(msg, sizeof msg, " (the features disagree on the factor: standardize the "
            "validation features with the training features' means and stds)");
  fl_finding *f = add(p, FL_SEVERITY_WARNING, FL_CAUSE_INVALID_DATA, 0, msg);
  if (f && one_factor) fl__fix_validation_scale(val_new, f->fix, sizeof f->fix);
}

/* ---- the whole check ---------------------------------------------------- */

static void write_fixes(preflight *p) {
  const int n_layers = p->spec->n_layers;
  for (int i = 0; i < p->out->n; i++) {
    fl_finding *f = &p->out->items[i];
    switch (p->fix_parts[i]) {
      case FIX_LOSS:
        fl__fix_loss(&p->fixed_loss, f->fix, sizeof f->fix);
        break;
      case FIX_LAYERS:
        fl__fix_layers(p->fixed_layers, n_layers, f->fix, sizeof f->fix);
        break;
      case FIX_LOSS | FIX_LAYERS:
        fl__fix_loss_layers(&p->fixed_loss, p->fixed_layers, n_layers, f->fix,
                            sizeof f->fix);
        break;
      default:
        break;
    }
  }
}

/* Errors first, each group in the order the checks ran (they run errors
 * first already; this keeps it so if a check is added out of order). A
 * stable in-place insertion: findings are large and few. */
static void errors_first(fl_findings *out) {
  for (int i = 1; i < out->n; i++) {
    if (out->items[i].severity != FL_SEVERITY_ERROR) continue;
    int j = i;
    while (j > 0 && out->items[j - 1].severity != FL_SEVERITY_ERROR) j--;
    if (j == i) continue;
    fl_finding moved = out->items[i];
    memmove(&out->items[j + 1], &out->items[j],
            (size_t)(i - j) * sizeof out->items[0]);
    out->items[j] = moved;
  }
}

void fl_preflight(const fl_preflight_input *in, fl_findings *out) {
  out->n = 0;
  preflight p;
  memset(&p, 0, sizeof p);
  p.in = in;
  p.out = out;
  if (!in || !in->spec || !in->train) {
    add(&p, FL_SEVERITY_ERROR, FL_CAUSE_INVALID_DATA, 0,
        "preflight got no job spec or no training data statistics");
    return;
  }
  p.spec = in->spec;
  p.train = in->train;
  p.val = in->validation;
  const bool has_model =
      p.spec->n_layers >= 1 && p.spec->n_layers <= FL_MAX_LAYERS;
  if (has_model) {
    p.fixed_loss = p.spec->loss;
    memcpy(p.fixed_layers, p.spec->layers,
           (size_t)p.spec->n_layers * sizeof p.fixed_layers[0]);
  }

  check_invalid_data(&p);
  if (has_model) {
    check_label_encoding(&p);
    check_label_range(&p);
    check_output_loss(&p);
    check_device_memory(&p);
    check_class_imbalance(&p);
  }
  check_constant_features(&p);
  check_input_scale(&p);
  /* After the errors: a job they reject needs no note about its split. */
  if (p.val && !fl_findings_have_error(out) && !check_unseen_classes(&p)) check_split_classes(&p);
  if (p.val && !fl_findings_have_error(out)) check_val_scale(&p);
  if (has_model) write_fixes(&p);
  errors_first(out);
}

const fl_finding *fl_findings_find(const fl_findings *f, fl_cause c) {
  for (int i = 0; f && i < f->n; i++)
    if (f->items[i].cause == c) return &f->items[i];
  return NULL;
}

bool fl_findings_have_error(const fl_findings *f) {
  for (int i = 0; f && i < f->n; i++)
    if (f->items[i].severity == FL_SEVERITY_ERROR) return true;
  return false;
}
