/* job/job_state.c — what a job's detectors and diagnosis know, as JSON,
 * so that a job stopped by a shutdown and resumed from its checkpoint
 * neither repeats nor re-sends the diagnoses it made (nor re-measures
 * what it measured), and its verdict still counts them. The caller keeps
 * the text through fl_job_hooks.save_state/load_state (the service:
 * diagnosis.json beside checkpoint.bin, replaced atomically).
 *
 * The format, version 1: one object with every key below (no others are
 * written; a reader of another version starts afresh). A number ("n") is
 * a JSON number written with 17 significant digits, so that it reads
 * back bit-identical, or one of the strings "nan", "inf", "-inf".
 *
 *   {"format": "flatline-job-state", "version": 1,
 *    "job_seconds": n,       job time so far (probes get a share of it)
 *    "diagnoses": int, "last_epoch": int, "last_found": bool,
 *    "last_trigger": "ok" | "plateau" | "diverged" | "overfitting",
 *    "overfit_reported": bool, "fixed": bool, "probe_seconds": n,
 *    "probe_steps": int,     steps of each probe (0: not chosen yet; the
 *                            one key a reader may miss: states written
 *                            before it existed choose afresh)
 *    "labels_done": bool,    the label test was tried ...
 *    "labels": null | {      ... and ran: its result
 *      "method": str, "rows": int, "permutations": int, "accuracy": n,
 *      "chance": n, "null_mean": n, "null_q95": n, "p_value": n},
 *    "tried": [{             every probe run, latest result
 *      "probe": probe name, "failed": bool, "loss_start": n, "loss_end": n,
 *      "val_acc": n, "val_loss": n, "held_rows": int, "held_majority": n
 *      (optional: states written before it read 0), "seconds": n,
 *      "steps": int}, ...],
 *    "last": {               the latest diagnosis that found causes
 *      "probe_seconds": n, "causes": [{"cause": cause name,
 *        "confidence": n, "evidence": str, "advice": str, "fix": str
 *        (merge patch text, "" for none), "probe": probe name | null}]},
 *    "monitor": {            the detectors' history (fl_monitor)
 *      "majority_share": n, "first_loss": n, "peak_loss": n,
 *      "peak_update": n, "peak_grad": n (optional: states written
 *      before it was kept read as 0), "update_sum": [n] (one per layer:
 *      the epochs' update/weight ratios summed; optional, absent when
 *      unknown, as in states written before it was kept), "first_dead": n,
 *      "last": {             the latest epoch's metrics (no pred_hist)
 *        "epoch": int, "loss": n, "accuracy": n, "has_val": bool,
 *        "val_loss": n, "val_accuracy": n, "lr": n, "seconds": n,
 *        "samples_per_s": n, "first_batch_loss": n, "n_classes": int,
 *        "nonfinite_loss": bool, "nonfinite_weights": bool,
 *        "nonfinite_grads": bool, "grad_norm": [n] (one per layer),
 *        "weight_norm", "update_ratio", "dead_fraction",
 *        "saturated_fraction": [n] (as many)},
 *      "loss", "val_loss", "acc", "val_acc": [n] (one per epoch kept)}}
 *
 * What the spec and the data give (the monitor's classes, chance rate,
 * patience, rows) is not in it: the resumed job sets them up again. */
#include "job_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STATE_FORMAT "flatline-job-state"
#define STATE_VERSION 1

/* fl_verdict's values, by name (they are not on the wire elsewhere). */
static const char *const trigger_names[] = {
    [FL_VERDICT_OK] = "ok", [FL_VERDICT_PLATEAU] = "plateau",
    [FL_VERDICT_DIVERGED] = "diverged", [FL_VERDICT_OVERFITTING] = "overfitting"};
#define N_TRIGGERS ((int)(sizeof trigger_names / sizeof *trigger_names))

/* ---- writing ---- */

static void put_num(fl_jw *w, const char *key, double v) {
  if (isnan(v)) {
    fl_jw_str(w, key, "nan");
  } else if (isinf(v)) {
    fl_jw_str(w, key, v > 0 ? "inf" : "-inf");
  } else {
    char text[32];
    snprintf(text, sizeof text, "%.17g", v);
    fl_jw_raw(w, key, text);
  }
}

static void put_nums(fl_jw *w, const char *key, const double *v, int n) {
  fl_jw_array_begin(w, key);
  for (int i = 0; i < n; i++) put_num(w, NULL, v[i]);
  fl_jw_array_end(w);
}

static void put_metrics(fl_jw *w, const fl_epoch_metrics *m) {
  fl_jw_object_begin(w, "last");
  fl_jw_int(w, "epoch", m->epoch);
  put_num(w, "loss", m->loss);
  put_num(w, "accuracy", m->accuracy);
  fl_jw_bool(w, "has_val", m->has_val);
  put_num(w, "val_loss", m->val_loss);
  put_num(w, "val_accuracy", m->val_accuracy);
  put_num(w, "lr", m->lr);
  put_num(w, "seconds", m->seconds);
  put_num(w, "samples_per_s", m->samples_per_s);
  put_num(w, "first_batch_loss", m->first_batch_loss);
  fl_jw_int(w, "n_classes", (long long)m->n_classes);
  fl_jw_bool(w, "nonfinite_loss", m->nonfinite_loss);
  fl_jw_bool(w, "nonfinite_weights", m->nonfinite_weights);
  fl_jw_bool(w, "nonfinite_grads", m->nonfinite_grads);
  put_nums(w, "grad_norm", m->grad_norm, m->n_layers);
  put_nums(w, "weight_norm", m->weight_norm, m->n_layers);
  put_nums(w, "update_ratio", m->update_ratio, m->n_layers);
  put_nums(w, "dead_fraction", m->dead_fraction, m->n_layers);
  put_nums(w, "saturated_fraction", m->saturated_fraction, m->n_layers);
  fl_jw_object_end(w);
}

static void put_monitor(fl_jw *w, const fl_monitor *mon) {
  fl_jw_object_begin(w, "monitor");
  put_num(w, "majority_share", mon->majority_share);
  put_num(w, "first_loss", mon->first_loss);
  put_num(w, "peak_loss", mon->peak_loss);
  put_num(w, "peak_update", mon->peak_update);
  put_num(w, "peak_grad", mon->peak_grad);
  if (mon->path_layers > 0) put_nums(w, "update_sum", mon->update_sum, mon->path_layers);
  put_num(w, "first_dead", mon->first_dead);
  put_metrics(w, &mon->last);
  put_nums(w, "loss", mon->loss, mon->n);
  put_nums(w, "val_loss", mon->val_loss, mon->n);
  put_nums(w, "acc", mon->acc, mon->n);
  put_nums(w, "val_acc", mon->val_acc, mon->n);
  fl_jw_object_end(w);
}

static void put_labels(fl_jw *w, const fl_label_test *t) {
  if (!t->run) {
    fl_jw_null(w, "labels");
    return;
  }
  fl_jw_object_begin(w, "labels");
  fl_jw_str(w, "method", t->method ? t->method : "");
  fl_jw_int(w, "rows", (long long)t->rows);
  fl_jw_int(w, "permutations", t->permutations);
  put_num(w, "accuracy", t->accuracy);
  put_num(w, "chance", t->chance);
  put_num(w, "null_mean", t->null_mean);
  put_num(w, "null_q95", t->null_q95);
  put_num(w, "p_value", t->p_value);
  put_num(w, "rule_accuracy", t->rule_accuracy);
  fl_jw_int(w, "val_rows", (long long)t->val_rows);
  put_num(w, "val_accuracy", t->val_accuracy);
  fl_jw_object_end(w);
}

static void put_tried(fl_jw *w, const fl_probe_result *tried) {
  fl_jw_array_begin(w, "tried");
  for (int k = 0; k < FL_PROBE_COUNT; k++) {
    const fl_probe_result *r = &tried[k];
    if (!r->run) continue;
    fl_jw_object_begin(w, NULL);
    fl_jw_str(w, "probe", fl_probe_name((fl_probe_kind)k));
    fl_jw_bool(w, "failed", r->failed);
    put_num(w, "loss_start", r->loss_start);
    put_num(w, "loss_end", r->loss_end);
    put_num(w, "val_acc", r->val_acc);
    put_num(w, "val_loss", r->val_loss);
    fl_jw_int(w, "held_rows", r->held_rows);
    put_num(w, "held_majority", r->held_majority);
    put_num(w, "seconds", r->seconds);
    fl_jw_int(w, "steps", r->steps);
    fl_jw_object_end(w);
  }
  fl_jw_array_end(w);
}

static void put_last(fl_jw *w, const fl_diagnosis *d) {
  fl_jw_object_begin(w, "last");
  put_num(w, "probe_seconds", d->probe_seconds);
  fl_jw_array_begin(w, "causes");
  for (int i = 0; i < d->n; i++) {
    const fl_cause_report *r = &d->items[i];
    fl_jw_object_begin(w, NULL);
    fl_jw_str(w, "cause", fl_cause_name(r->cause));
    put_num(w, "confidence", r->confidence);
    fl_jw_str(w, "evidence", r->evidence);
    fl_jw_str(w, "advice", r->advice);
    fl_jw_str(w, "fix", r->fix);
    if (r->probe >= 0 && r->probe < FL_PROBE_COUNT)
      fl_jw_str(w, "probe", fl_probe_name((fl_probe_kind)r->probe));
    else
      fl_jw_null(w, "probe");
    fl_jw_object_end(w);
  }
  fl_jw_array_end(w);
  fl_jw_object_end(w);
}

char *fl__job_state_encode(const fl_job_diag *d, const fl_monitor *mon, double job_seconds) {
  fl_jw w;
  fl_jw_init(&w);
  fl_jw_object_begin(&w, NULL);
  fl_jw_str(&w, "format", STATE_FORMAT);
  fl_jw_int(&w, "version", STATE_VERSION);
  put_num(&w, "job_seconds", job_seconds);
  fl_jw_int(&w, "diagnoses", d->diagnoses);
  fl_jw_int(&w, "last_epoch", d->last_epoch);
  fl_jw_bool(&w, "last_found", d->last_found);
  int trig = (int)d->last_trigger;
  fl_jw_str(&w, "last_trigger", trig >= 0 && trig < N_TRIGGERS ? trigger_names[trig] : "ok");
  fl_jw_bool(&w, "overfit_reported", d->overfit_reported);
  fl_jw_bool(&w, "fixed", d->fixed);
  put_num(&w, "probe_seconds", d->probe_seconds);
  fl_jw_int(&w, "probe_steps", d->probe_steps);
  fl_jw_bool(&w, "labels_done", d->labels_done);
  put_labels(&w, &d->labels);
  put_tried(&w, d->tried);
  put_last(&w, &d->last);
  put_monitor(&w, mon);
  fl_jw_object_end(&w);
  return fl_jw_finish(&w);
}

/* ---- reading: every key required, every value type- and range-checked;
 * the first failure names its key and stops the read ---- */

typedef struct {
  fl_error *err;
  bool bad;
} reader;

static bool fail(reader *rd, const char *key, const char *expected) {
  if (!rd->bad) fl_error_set(rd->err, FL_EPARSE, "\"%s\": expected %s", key, expected);
  rd->bad = true;
  return false;
}

static bool get_num_value(const fl_json *v, double *out) {
  if (fl_json_number(v, out)) return true;
  const char *s = fl_json_string(v);
  if (!s) return false;
  if (strcmp(s, "nan") == 0) *out = NAN;
  else if (strcmp(s, "inf") == 0) *out = INFINITY;
  else if (strcmp(s, "-inf") == 0) *out = -INFINITY;
  else return false;
  return true;
}

static bool get_num(reader *rd, const fl_json *o, const char *key, double *out) {
  return get_num_value(fl_json_get(o, key), out) || fail(rd, key, "a number");
}

static bool get_int(reader *rd, const fl_json *o, const char *key, long long lo, long long hi,
                    long long *out) {
  double v;
  if (!fl_json_number(fl_json_get(o, key), &v) || v != floor(v) || v < (double)lo ||
      v > (double)hi)
    return fail(rd, key, "a whole number in range");
  *out = (long long)v;
  return true;
}

static bool get_int32(reader *rd, const fl_json *o, const char *key, int lo, int hi, int *out) {
  long long v;
  if (!get_int(rd, o, key, lo, hi, &v)) return false;
  *out = (int)v;
  return true;
}

static bool get_bool(reader *rd, const fl_json *o, const char *key, bool *out) {
  return fl_json_bool(fl_json_get(o, key), out) || fail(rd, key, "true or false");
}

static bool get_str(reader *rd, const fl_json *o, const char *key, char *buf, size_t size) {
  const char *s = fl_json_string(fl_json_get(o, key));
  if (!s || strlen(s) >= size) return fail(rd, key, "a string (not too long)");
  memcpy(buf, s, strlen(s) + 1);
  return true;
}

/* fl_json_array_size says 0 for an empty array and for a non-array. */
static bool is_empty_array(const fl_json *v) {
  char *text = fl_json_print(v);
  bool empty = text && strcmp(text, "[]") == 0;
  free(text);
  return empty;
}

/* An array of numbers; *n its length, at most max. */
static bool get_nums(reader *rd, const fl_json *o, const char *key, double *v, int max, int *n) {
  const fl_json *a = fl_json_get(o, key);
  size_t len = fl_json_array_size(a);
  if (!a || len > (size_t)max || (len == 0 && !is_empty_array(a)))
    return fail(rd, key, "an array of numbers (not too long)");
  for (size_t i = 0; i < len; i++)
    if (!get_num_value(fl_json_array_at(a, i), &v[i])) return fail(rd, key, "numbers");
  *n = (int)len;
  return true;
}

/* An array of exactly n numbers. */
static bool get_nums_n(reader *rd, const fl_json *o, const char *key, double *v, int n) {
  int got = 0;
  if (!get_nums(rd, o, key, v, n, &got)) return false;
  return got == n || fail(rd, key, "one number for each epoch or layer");
}

static bool get_obj(reader *rd, const fl_json *o, const char *key, const fl_json **out) {
  *out = fl_json_get(o, key);
  return (*out && !fl_json_is_null(*out) && !fl_json_string(*out)) || fail(rd, key, "an object");
}

/* A probe's name back to its kind. */
static bool probe_of(const char *name, int *out) {
  for (int k = 0; name && k < FL_PROBE_COUNT; k++)
    if (strcmp(fl_probe_name((fl_probe_kind)k), name) == 0) {
      *out = k;
      return true;
    }
  return false;
}

static bool cause_of(const char *name, fl_cause *out) {
  for (int c = 1; name && c < FL_CAUSE_COUNT; c++)
    if (strcmp(fl_cause_name((fl_cause)c), name) == 0) {
      *out = (fl_cause)c;
      return true;
    }
  return false;
}

static bool get_metrics(reader *rd, const fl_json *o, fl_epoch_metrics *m) {
  const fl_json *l;
  long long classes = 0;
  memset(m, 0, sizeof *m);
  if (!get_obj(rd, o, "last", &l) || !get_int32(rd, l, "epoch", 0, 1 << 30, &m->epoch) ||
      !get_num(rd, l, "loss", &m->loss) || !get_num(rd, l, "accuracy", &m->accuracy) ||
      !get_bool(rd, l, "has_val", &m->has_val) || !get_num(rd, l, "val_loss", &m->val_loss) ||
      !get_num(rd, l, "val_accuracy", &m->val_accuracy) || !get_num(rd, l, "lr", &m->lr) ||
      !get_num(rd, l, "seconds", &m->seconds) ||
      !get_num(rd, l, "samples_per_s", &m->samples_per_s) ||
      !get_num(rd, l, "first_batch_loss", &m->first_batch_loss) ||
      !get_int(rd, l, "n_classes", 0, FL_MAX_UNITS, &classes) ||
      !get_bool(rd, l, "nonfinite_loss", &m->nonfinite_loss) ||
      !get_bool(rd, l, "nonfinite_weights", &m->nonfinite_weights) ||
      !get_bool(rd, l, "nonfinite_grads", &m->nonfinite_grads) ||
      !get_nums(rd, l, "grad_norm", m->grad_norm, FL_MAX_LAYERS, &m->n_layers) ||
      !get_nums_n(rd, l, "weight_norm", m->weight_norm, m->n_layers) ||
      !get_nums_n(rd, l, "update_ratio", m->update_ratio, m->n_layers) ||
      !get_nums_n(rd, l, "dead_fraction", m->dead_fraction, m->n_layers) ||
      !get_nums_n(rd, l, "saturated_fraction", m->saturated_fraction, m->n_layers))
    return false;
  m->n_classes = (size_t)classes;
  return true;
}

static bool get_monitor(reader *rd, const fl_json *root, fl_monitor *mon) {
  const fl_json *o;
  int n = 0;
  if (!get_obj(rd, root, "monitor", &o) ||
      !get_num(rd, o, "majority_share", &mon->majority_share) ||
      !get_num(rd, o, "first_loss", &mon->first_loss) ||
      !get_num(rd, o, "peak_loss", &mon->peak_loss) ||
      !get_num(rd, o, "peak_update", &mon->peak_update) ||
      !get_num(rd, o, "first_dead", &mon->first_dead) || !get_metrics(rd, o, &mon->last) ||
      !get_nums(rd, o, "loss", mon->loss, FL_MAX_HISTORY, &n) ||
      !get_nums_n(rd, o, "val_loss", mon->val_loss, n) ||
      !get_nums_n(rd, o, "acc", mon->acc, n) || !get_nums_n(rd, o, "val_acc", mon->val_acc, n))
    return false;
  mon->n = n;
  const fl_json *pg = fl_json_get(o, "peak_grad");
  if (pg && !get_num(rd, o, "peak_grad", &mon->peak_grad)) return false;
  if (fl_json_get(o, "update_sum") &&
      !get_nums(rd, o, "update_sum", mon->update_sum, FL_MAX_LAYERS, &mon->path_layers))
    return false;
  return true;
}

static bool get_labels(reader *rd, const fl_json *root, fl_job_diag *d) {
  const fl_json *o = fl_json_get(root, "labels");
  memset(&d->labels, 0, sizeof d->labels);
  if (fl_json_is_null(o)) return true;
  long long rows = 0;
  if (!get_obj(rd, root, "labels", &o) ||
      !get_str(rd, o, "method", d->labels_method, sizeof d->labels_method) ||
      !get_int(rd, o, "rows", 0, 1LL << 40, &rows) ||
      !get_int32(rd, o, "permutations", 0, 1 << 30, &d->labels.permutations) ||
      !get_num(rd, o, "accuracy", &d->labels.accuracy) ||
      !get_num(rd, o, "chance", &d->labels.chance) ||
      !get_num(rd, o, "null_mean", &d->labels.null_mean) ||
      !get_num(rd, o, "null_q95", &d->labels.null_q95) ||
      !get_num(rd, o, "p_value", &d->labels.p_value))
    return false;
  /* The validation score came later: a state file without it resumes with
   * none (val_rows 0: no claim rests on it). */
  long long val_rows = 0;
  if (fl_json_get(o, "val_rows") &&
      (!get_int(rd, o, "val_rows", 0, 1LL << 40, &val_rows) ||
       !get_num(rd, o, "rule_accuracy", &d->labels.rule_accuracy) ||
       !get_num(rd, o, "val_accuracy", &d->labels.val_accuracy)))
    return false;
  d->labels.val_rows = (size_t)val_rows;
  d->labels.rows = (size_t)rows;
  d->labels.run = true;
  return true;
}

static bool get_tried(reader *rd, const fl_json *root, fl_probe_result *tried) {
  const fl_json *a = fl_json_get(root, "tried");
  memset(tried, 0, FL_PROBE_COUNT * sizeof *tried);
  size_t n = fl_json_array_size(a);
  if (!a || n > FL_PROBE_COUNT || (n == 0 && !is_empty_array(a)))
    return fail(rd, "tried", "an array of probes");
  for (size_t i = 0; i < n; i++) {
    const fl_json *o = fl_json_array_at(a, i);
    int k;
    fl_probe_result r = {.run = true};
    if (!probe_of(fl_json_string(fl_json_get(o, "probe")), &k))
      return fail(rd, "probe", "a probe's name");
    if (!get_bool(rd, o, "failed", &r.failed) || !get_num(rd, o, "loss_start", &r.loss_start) ||
        !get_num(rd, o, "loss_end", &r.loss_end) || !get_num(rd, o, "val_acc", &r.val_acc) ||
        !get_num(rd, o, "val_loss", &r.val_loss) ||
        !get_int32(rd, o, "held_rows", 0, 1 << 30, &r.held_rows) ||
        !get_num(rd, o, "seconds", &r.seconds) || !get_int32(rd, o, "steps", 0, 1 << 30, &r.steps))
      return false;
    if (fl_json_get(o, "held_majority") && !get_num(rd, o, "held_majority", &r.held_majority))
      return false;
    tried[k] = r;
  }
  return true;
}

static bool get_last(reader *rd, const fl_json *root, fl_diagnosis *d) {
  const fl_json *o;
  memset(d, 0, sizeof *d);
  if (!get_obj(rd, root, "last", &o) || !get_num(rd, o, "probe_seconds", &d->probe_seconds))
    return false;
  const fl_json *a = fl_json_get(o, "causes");
  size_t n = fl_json_array_size(a);
  if (!a || n > FL_MAX_CAUSES || (n == 0 && !is_empty_array(a)))
    return fail(rd, "causes", "an array of causes");
  for (size_t i = 0; i < n; i++) {
    const fl_json *c = fl_json_array_at(a, i), *probe = fl_json_get(c, "probe");
    fl_cause_report *r = &d->items[i];
    if (!cause_of(fl_json_string(fl_json_get(c, "cause")), &r->cause))
      return fail(rd, "cause", "a cause's name");
    r->probe = FL_PROBE_COUNT; /* none */
    if (!fl_json_is_null(probe) && !probe_of(fl_json_string(probe), &r->probe))
      return fail(rd, "probe", "a probe's name or null");
    if (!get_num(rd, c, "confidence", &r->confidence) ||
        !get_str(rd, c, "evidence", r->evidence, sizeof r->evidence) ||
        !get_str(rd, c, "advice", r->advice, sizeof r->advice) ||
        !get_str(rd, c, "fix", r->fix, sizeof r->fix))
      return false;
  }
  d->n = (int)n;
  return true;
}

int fl__job_state_decode(const char *json, size_t len, fl_job_diag *d, fl_monitor *mon,
                         double *job_seconds, fl_error *err) {
  fl_json *root = fl_json_parse(json, len, err);
  if (!root) return err->code ? err->code : FL_EPARSE;
  /* Read into copies: d and mon change only when all of it is good. */
  fl_job_diag *nd = malloc(sizeof *nd);
  fl_monitor *nm = malloc(sizeof *nm);
  int rc = FL_ENOMEM;
  if (!nd || !nm) {
    fl_error_set(err, rc, "out of memory");
    goto out;
  }
  *nd = *d;
  *nm = *mon;
  reader rd = {err, false};
  const char *format = fl_json_string(fl_json_get(root, "format"));
  long long version = 0;
  double secs = 0;
  const char *trigger = fl_json_string(fl_json_get(root, "last_trigger"));
  bool known_trigger = false;
  for (int t = 0; trigger && t < N_TRIGGERS; t++)
    if (strcmp(trigger_names[t], trigger) == 0) {
      nd->last_trigger = (fl_verdict)t;
      known_trigger = true;
    }
  bool ok = (format && strcmp(format, STATE_FORMAT) == 0) || fail(&rd, "format", STATE_FORMAT);
  ok = ok && get_int(&rd, root, "version", STATE_VERSION, STATE_VERSION, &version) &&
       get_num(&rd, root, "job_seconds", &secs) &&
       get_int32(&rd, root, "diagnoses", 0, 1 << 30, &nd->diagnoses) &&
       get_int32(&rd, root, "last_epoch", 0, 1 << 30, &nd->last_epoch) &&
       get_bool(&rd, root, "last_found", &nd->last_found) &&
       (known_trigger || fail(&rd, "last_trigger", "ok, plateau, diverged or overfitting")) &&
       get_bool(&rd, root, "overfit_reported", &nd->overfit_reported) &&
       get_bool(&rd, root, "fixed", &nd->fixed) &&
       get_num(&rd, root, "probe_seconds", &nd->probe_seconds) &&
       (!fl_json_get(root, "probe_steps") ||
        get_int32(&rd, root, "probe_steps", 0, 1 << 20, &nd->probe_steps)) &&
       get_bool(&rd, root, "labels_done", &nd->labels_done) && get_labels(&rd, root, nd) &&
       get_tried(&rd, root, nd->tried) && get_last(&rd, root, &nd->last) &&
       get_monitor(&rd, root, nm);
  if (!ok) {
    rc = FL_EPARSE;
    goto out;
  }
  *d = *nd;
  if (d->labels.run) d->labels.method = d->labels_method;
  *mon = *nm;
  *job_seconds = isfinite(secs) && secs > 0 ? secs : 0;
  rc = 0;
out:
  free(nd);
  free(nm);
  fl_json_free(root);
  return rc;
}
