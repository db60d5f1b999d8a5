/* job/callbacks.c — the Keras callbacks of a spec's "callbacks" list as
 * pure functions of each epoch's metrics (flatline/job.h): when
 * early_stopping stops, when reduce_lr_on_plateau lowers the learning
 * rate, which epoch's weights are the best to keep, and the state's text
 * form for checkpoints. The formulas follow Keras 3
 * (keras/src/callbacks/early_stopping.py, reduce_lr_on_plateau.py,
 * model_checkpoint.py); where flatline differs, the comment says why. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "flatline/job.h"

double fl_callbacks_metric(fl_metric metric, const fl_epoch_metrics *m) {
  switch (metric) {
    case FL_METRIC_LOSS: return m->loss;
    case FL_METRIC_ACCURACY: return m->accuracy;
    case FL_METRIC_VAL_LOSS: return m->has_val ? m->val_loss : NAN;
    case FL_METRIC_VAL_ACCURACY: return m->has_val ? m->val_accuracy : NAN;
  }
  return NAN;
}

static bool maximizes(const fl_callback_spec *c) {
  if (c->mode != FL_MODE_AUTO) return c->mode == FL_MODE_MAX;
  return c->monitor == FL_METRIC_ACCURACY || c->monitor == FL_METRIC_VAL_ACCURACY;
}

/* Keras's monitor_op with min_delta: better by more than delta. A NaN
 * never improves (every comparison with it is false, as in Keras). */
static bool improves(const fl_callback_spec *c, double current, double best,
                     double delta) {
  return maximizes(c) ? current - delta > best : current + delta < best;
}

void fl_callbacks_init(fl_callbacks *cb, const fl_job_spec *spec) {
  memset(cb, 0, sizeof *cb);
  cb->n = spec->n_callbacks;
  cb->keeper = -1;
  for (int i = 0; i < cb->n; i++) {
    const fl_callback_spec *c = &spec->callbacks[i];
    cb->s[i].best = maximizes(c) ? -INFINITY : INFINITY;
    /* model_checkpoint's save_best_only wins the kept slot: it is what a
     * Keras user reads the best model from. The parser makes both watch
     * the same metric in the same direction. */
    if (c->kind == FL_CALLBACK_MODEL_CHECKPOINT && c->save_best_only) cb->keeper = i;
    if (c->kind == FL_CALLBACK_EARLY_STOPPING && c->restore_best_weights && cb->keeper < 0)
      cb->keeper = i;
  }
}

static void early_stopping(fl_callbacks *cb, int i, const fl_callback_spec *c,
                           int epoch, double current, fl_callbacks_action *act) {
  fl_callback_state *s = &cb->s[i];
  /* Keras counts epochs from 0: start_from_epoch N skips the first N. */
  if (isnan(current) || epoch - 1 < c->start_from_epoch) return;
  /* Keras takes the first watched epoch's weights even without an
   * improvement (a NaN there), so that there is always something to
   * restore. */
  if (cb->keeper == i && cb->kept_epoch == 0) act->keep_weights = true;
  s->wait++;
  if (improves(c, current, s->best, c->min_delta)) {
    s->best = current;
    s->best_epoch = epoch;
    if (cb->keeper == i) act->keep_weights = true;
    s->wait = 0;
    return;
  }
  /* Keras's "epoch > 0": the first epoch never stops. */
  if (s->wait >= c->patience && epoch > 1) {
    cb->stopped_epoch = epoch;
    act->stop = true;
  }
}

static void reduce_lr(fl_callbacks *cb, int i, const fl_callback_spec *c,
                      double current, double lr, fl_callbacks_action *act) {
  fl_callback_state *s = &cb->s[i];
  if (isnan(current)) return;
  bool cooling = s->cooldown_left > 0;
  if (cooling) {
    s->cooldown_left--;
    s->wait = 0;
  }
  if (improves(c, current, s->best, c->min_delta)) {
    s->best = current;
    s->wait = 0;
    return;
  }
  if (cooling) return;
  if (++s->wait < c->patience) return;
  /* Keras compares with min_lr in float32 (np.float32(min_lr)). */
  if (lr > (double)(float)c->min_lr) {
    double next = fmax(lr * c->factor, c->min_lr);
    act->set_lr = true;
    act->lr = next;
    s->cooldown_left = c->cooldown;
    s->wait = 0;
  }
}

static void model_checkpoint(fl_callbacks *cb, int i, const fl_callback_spec *c,
                             int epoch, double current, fl_callbacks_action *act) {
  fl_callback_state *s = &cb->s[i];
  /* Keras's save_best_only compares without min_delta. */
  if (!improves(c, current, s->best, 0.0)) return;
  s->best = current;
  s->best_epoch = epoch;
  if (cb->keeper == i) act->keep_weights = true;
}

void fl_callbacks_epoch_end(fl_callbacks *cb, const fl_job_spec *spec,
                            const fl_epoch_metrics *m, double lr,
                            fl_callbacks_action *act) {
  memset(act, 0, sizeof *act);
  for (int i = 0; i < cb->n && i < spec->n_callbacks; i++) {
    const fl_callback_spec *c = &spec->callbacks[i];
    double current = fl_callbacks_metric(c->monitor, m);
    switch (c->kind) {
      case FL_CALLBACK_EARLY_STOPPING:
        early_stopping(cb, i, c, m->epoch, current, act);
        break;
      case FL_CALLBACK_REDUCE_LR_ON_PLATEAU:
        reduce_lr(cb, i, c, current, lr, act);
        break;
      case FL_CALLBACK_MODEL_CHECKPOINT:
        model_checkpoint(cb, i, c, m->epoch, current, act);
        break;
    }
  }
  if (act->keep_weights) cb->kept_epoch = m->epoch;
}

bool fl_callbacks_restore_at_end(const fl_callbacks *cb, int last_epoch) {
  return cb->keeper >= 0 && cb->kept_epoch > 0 && cb->kept_epoch != last_epoch;
}

/* "flcb1 n keeper kept_epoch stopped_epoch" then per callback "best
 * best_epoch wait cooldown_left", best as a C99 hex float (exact, and
 * "inf" before the first value). */
#define CALLBACKS_TEXT_TAG "flcb1"

void fl_callbacks_encode(const fl_callbacks *cb, char out[FL_CALLBACKS_TEXT_MAX]) {
  size_t at = 0;
  int w = snprintf(out, FL_CALLBACKS_TEXT_MAX, CALLBACKS_TEXT_TAG " %d %d %d %d", cb->n,
                   cb->keeper, cb->kept_epoch, cb->stopped_epoch);
  at = w > 0 ? (size_t)w : 0;
  for (int i = 0; i < cb->n && at < FL_CALLBACKS_TEXT_MAX; i++) {
    const fl_callback_state *s = &cb->s[i];
    w = snprintf(out + at, FL_CALLBACKS_TEXT_MAX - at, " %a %d %d %d", s->best,
                 s->best_epoch, s->wait, s->cooldown_left);
    if (w < 0) break;
    at += (size_t)w;
  }
}

int fl_callbacks_decode(fl_callbacks *cb, const fl_job_spec *spec,
                        const char *text, fl_error *err) {
  fl_callbacks got;
  fl_callbacks_init(&got, spec);
  int n = 0, keeper = 0, used = 0;
  if (sscanf(text, CALLBACKS_TEXT_TAG " %d %d %d %d%n", &n, &keeper, &got.kept_epoch,
             &got.stopped_epoch, &used) != 4 ||
      n != spec->n_callbacks || keeper != got.keeper || got.kept_epoch < 0 ||
      got.stopped_epoch < 0)
    return fl_error_set(err, FL_EDATA,
                        "the checkpoint's callback state does not fit this "
                        "spec's %d callbacks; the callbacks start afresh",
                        spec->n_callbacks);
  const char *p = text + used;
  for (int i = 0; i < n; i++) {
    fl_callback_state *s = &got.s[i];
    if (sscanf(p, " %la %d %d %d%n", &s->best, &s->best_epoch, &s->wait,
               &s->cooldown_left, &used) != 4 || s->best_epoch < 0 || s->wait < 0 ||
        s->cooldown_left < 0)
      return fl_error_set(err, FL_EDATA,
                          "the checkpoint's callback state is damaged at "
                          "callback %d; the callbacks start afresh", i);
    p += used;
  }
  *cb = got;
  return 0;
}
