/* job/job_callbacks.c — the job loop's side of the spec's Keras callbacks
 * (job_internal.h): job/callbacks.c decides, this applies. Each epoch:
 * keep the best weights in the trainer, set a lowered learning rate, send
 * a "callback" event for what a user should see (the rate lowered,
 * training stopped), and store the callbacks' state as the trainer's
 * checkpoint note so that a resumed job goes on with the same best epoch,
 * wait counters and rate. At the end: the best epoch's weights back in
 * the trainer before the model is exported. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "job_internal.h"

static void send(const fl_job_callbacks *jc, char *json) {
  if (json && jc->hooks->event) jc->hooks->event(jc->hooks->ctx, json, NULL);
  free(json);
}

/* The spec's callback of this kind (*at: its index), or NULL. */
static const fl_callback_spec *find(const fl_job_spec *spec, fl_callback_kind kind, int *at) {
  for (int i = 0; i < spec->n_callbacks; i++)
    if (spec->callbacks[i].kind == kind) {
      if (at) *at = i;
      return &spec->callbacks[i];
    }
  return NULL;
}

void fl__job_callbacks_start(fl_job_callbacks *jc, const fl_job_spec *spec,
                             const char *job_id, const fl_job_hooks *h, fl_trainer *t) {
  jc->spec = spec;
  jc->job_id = job_id;
  jc->hooks = h;
  fl_callbacks_init(&jc->cb, spec);
  const char *note = fl_trainer_note(t);
  if (!note || spec->n_callbacks == 0) return;
  fl_error err = {0};
  if (fl_callbacks_decode(&jc->cb, spec, note, &err) != 0) {
    fl_log(FL_LOG_WARNING, "job %s: %s", job_id, err.msg);
    fl_callbacks_init(&jc->cb, spec);
    return;
  }
  /* The kept weights travel in the same checkpoint; a mismatch means a
   * checkpoint without them, and nothing is restored at the end. */
  if (jc->cb.kept_epoch != fl_trainer_kept_epoch(t)) jc->cb.kept_epoch = 0;
  fl_log(FL_LOG_INFO, "job %s: callbacks resumed (best weights of epoch %d kept)", job_id,
         jc->cb.kept_epoch);
}

int fl__job_callbacks_epoch(fl_job_callbacks *jc, fl_trainer *t, const fl_epoch_metrics *m,
                            bool *stop, fl_error *err) {
  *stop = false;
  if (jc->spec->n_callbacks == 0) return 0;
  fl_callbacks_action act;
  fl_callbacks_epoch_end(&jc->cb, jc->spec, m, m->lr, &act);
  int rc;
  if (act.keep_weights && (rc = fl_trainer_keep_params(t, m->epoch, err))) return rc;
  if (act.set_lr) {
    if (fl_trainer_set_learning_rate(t, (float)act.lr) != 0)
      return fl_error_set(err, FL_EINVAL, "reduce_lr_on_plateau: learning rate %g is not "
                          "usable; raise min_lr", act.lr);
    int at = 0;
    const fl_callback_spec *c = find(jc->spec, FL_CALLBACK_REDUCE_LR_ON_PLATEAU, &at);
    char msg[256];
    int patience = c ? c->patience : 0;
    snprintf(msg, sizeof msg, "reduce_lr_on_plateau: %s did not improve for %d epoch%s; "
             "learning rate %g -> %g", c ? fl_metric_name(c->monitor) : "?", patience,
             patience == 1 ? "" : "s", m->lr, act.lr);
    fl_jw w;
    fl_event_begin(&w, FL_EVENT_CALLBACK, jc->job_id);
    fl_jw_str(&w, "callback", fl_callback_name(FL_CALLBACK_REDUCE_LR_ON_PLATEAU));
    fl_jw_str(&w, "action", "reduce_lr");
    fl_jw_int(&w, "epoch", m->epoch);
    fl_jw_num(&w, "lr", act.lr);
    fl_jw_str(&w, "message", msg);
    fl_jw_object_end(&w);
    send(jc, fl_jw_finish(&w));
    fl_log(FL_LOG_INFO, "job %s: %s", jc->job_id, msg);
  }
  if (act.stop) {
    int at = 0;
    const fl_callback_spec *c = find(jc->spec, FL_CALLBACK_EARLY_STOPPING, &at);
    const fl_callback_state *s = &jc->cb.s[at];
    char msg[256];
    snprintf(msg, sizeof msg, "early_stopping: stopped after epoch %d: %s did not improve "
             "for %d epoch%s (best %.6g at epoch %d)", m->epoch,
             c ? fl_metric_name(c->monitor) : "?", s->wait, s->wait == 1 ? "" : "s", s->best,
             s->best_epoch);
    fl_jw w;
    fl_event_begin(&w, FL_EVENT_CALLBACK, jc->job_id);
    fl_jw_str(&w, "callback", fl_callback_name(FL_CALLBACK_EARLY_STOPPING));
    fl_jw_str(&w, "action", "stop");
    fl_jw_int(&w, "epoch", m->epoch);
    fl_jw_str(&w, "monitor", c ? fl_metric_name(c->monitor) : NULL);
    fl_jw_num(&w, "best", s->best);
    fl_jw_int(&w, "best_epoch", s->best_epoch);
    fl_jw_str(&w, "message", msg);
    fl_jw_object_end(&w);
    send(jc, fl_jw_finish(&w));
    fl_log(FL_LOG_INFO, "job %s: %s", jc->job_id, msg);
    *stop = true;
  }
  char text[FL_CALLBACKS_TEXT_MAX];
  fl_callbacks_encode(&jc->cb, text);
  return fl_trainer_set_note(t, text, err);
}

int fl__job_callbacks_finish(fl_job_callbacks *jc, fl_trainer *t, char *message, size_t size,
                             fl_error *err) {
  if (message && size) message[0] = '\0';
  int last = fl_trainer_epoch(t), kept = jc->cb.kept_epoch;
  if (jc->spec->n_callbacks == 0) return 0;
  const fl_callback_spec *keeper = jc->cb.keeper >= 0 ? &jc->spec->callbacks[jc->cb.keeper] : NULL;
  bool restore = fl_callbacks_restore_at_end(&jc->cb, last) && fl_trainer_kept_epoch(t) == kept;
  if (restore) {
    int rc = fl_trainer_restore_kept_params(t, err);
    if (rc) return rc;
    char msg[256];
    snprintf(msg, sizeof msg, "%s: the weights of epoch %d (best %s %.6g) replace those of "
             "epoch %d in the model", fl_callback_name(keeper->kind), kept,
             fl_metric_name(keeper->monitor), jc->cb.s[jc->cb.keeper].best, last);
    fl_jw w;
    fl_event_begin(&w, FL_EVENT_CALLBACK, jc->job_id);
    fl_jw_str(&w, "callback", fl_callback_name(keeper->kind));
    fl_jw_str(&w, "action", "restore_best_weights");
    fl_jw_int(&w, "epoch", last);
    fl_jw_str(&w, "monitor", fl_metric_name(keeper->monitor));
    fl_jw_num(&w, "best", jc->cb.s[jc->cb.keeper].best);
    fl_jw_int(&w, "best_epoch", kept);
    fl_jw_str(&w, "message", msg);
    fl_jw_object_end(&w);
    send(jc, fl_jw_finish(&w));
    fl_log(FL_LOG_INFO, "job %s: %s", jc->job_id, msg);
  }
  if (!message) return 0;
  int stopped = jc->cb.stopped_epoch;
  if (stopped) {
    int at = 0;
    const fl_callback_spec *c = find(jc->spec, FL_CALLBACK_EARLY_STOPPING, &at);
    int wait = jc->cb.s[at].wait;
    snprintf(message, size, "stopped early after epoch %d of %d: %s did not improve for %d "
             "epoch%s (early_stopping)%s", stopped, jc->spec->epochs,
             c ? fl_metric_name(c->monitor) : "?", wait, wait == 1 ? "" : "s",
             restore ? "; " : "");
  }
  if (restore) {
    size_t at = strlen(message);
    snprintf(message + at, size - at, "the model holds the weights of epoch %d, its best %s",
             kept, fl_metric_name(keeper->monitor));
  }
  return 0;
}
