/* job/events.c — see events.h. */
#include "flatline/job.h"

#include <stdio.h>
#include <stdlib.h>

#include "flatline/protocol.h"

const char *fl_cause_of_error(int code) {
  switch (code) {
    case FL_EDEVMEM: return "device_out_of_memory";
    case FL_ELABELS: return "labels_out_of_range";
    case FL_EDATA: return "invalid_data";
    default: return NULL;
  }
}

/* The learning rate is a float: the shortest decimal that reads back as the
 * same float (0.001, not 0.00100000005). */
static double float_decimal(double v) {
  char text[32];
  snprintf(text, sizeof text, "%.7g", v);
  return strtod(text, NULL);
}

static void layer_array(fl_jw *w, const char *key, const double *v, int n) {
  fl_jw_array_begin(w, key);
  for (int i = 0; i < n; i++) {
    if (v[i] < 0) fl_jw_null(w, NULL); /* not applicable to this layer */
    else fl_jw_num(w, NULL, v[i]);
  }
  fl_jw_array_end(w);
}

void fl_event_begin(fl_jw *w, const char *event, const char *job) {
  fl_jw_init(w);
  fl_jw_object_begin(w, NULL);
  fl_jw_str(w, "event", event);
  fl_jw_str(w, "job", job);
}

char *fl_event_epoch(const char *job, const fl_epoch_metrics *m) {
  fl_jw w;
  fl_event_begin(&w, FL_EVENT_EPOCH, job);
  fl_jw_int(&w, "epoch", m->epoch);
  fl_jw_num(&w, "loss", m->loss);
  fl_jw_num(&w, "accuracy", m->accuracy);
  if (m->has_val) {
    fl_jw_num(&w, "val_loss", m->val_loss);
    fl_jw_num(&w, "val_accuracy", m->val_accuracy);
  }
  fl_jw_num(&w, "lr", float_decimal(m->lr));
  fl_jw_num(&w, "seconds", m->seconds);
  fl_jw_num(&w, "samples_per_s", m->samples_per_s);
  fl_jw_num(&w, "first_batch_loss", m->first_batch_loss);
  layer_array(&w, "grad_norm", m->grad_norm, m->n_layers);
  layer_array(&w, "weight_norm", m->weight_norm, m->n_layers);
  layer_array(&w, "update_ratio", m->update_ratio, m->n_layers);
  layer_array(&w, "dead_fraction", m->dead_fraction, m->n_layers);
  layer_array(&w, "saturated_fraction", m->saturated_fraction, m->n_layers);
  fl_jw_array_begin(&w, "pred_hist");
  for (size_t j = 0; j < m->n_classes; j++) fl_jw_int(&w, NULL, m->pred_hist[j]);
  fl_jw_array_end(&w);
  fl_jw_bool(&w, "nonfinite", m->nonfinite_loss || m->nonfinite_weights ||
                                  m->nonfinite_grads);
  fl_jw_object_end(&w);
  return fl_jw_finish(&w);
}

char *fl_event_progress(const char *job, int epoch, size_t step, size_t steps) {
  fl_jw w;
  fl_event_begin(&w, FL_EVENT_PROGRESS, job);
  fl_jw_int(&w, "epoch", epoch);
  fl_jw_int(&w, "step", (long long)step);
  fl_jw_int(&w, "steps", (long long)steps);
  fl_jw_object_end(&w);
  return fl_jw_finish(&w);
}

char *fl_event_end(const char *job, const char *state, const char *cause,
                   const char *message) {
  return fl_event_end_metrics(job, state, cause, message, NULL);
}

char *fl_event_end_metrics(const char *job, const char *state,
                           const char *cause, const char *message,
                           const char *metrics) {
  fl_jw w;
  fl_event_begin(&w, FL_EVENT_END, job);
  fl_jw_str(&w, "state", state);
  fl_jw_str(&w, "cause", cause);
  if (message) fl_jw_str(&w, "message", message);
  if (metrics) fl_jw_raw(&w, "metrics", metrics); /* additive (issue 12) */
  fl_jw_object_end(&w);
  return fl_jw_finish(&w);
}
