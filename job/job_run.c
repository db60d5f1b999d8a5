/* job/job_run.c — the job loop of flatline/job.h. The order for each
 * epoch: train, send the epoch event, add it to the detectors' history,
 * save the state (hook), checkpoint (hook), then let the detectors look;
 * on new evidence (job_diagnosis.c decides) the probes run, the state is
 * saved and a diagnosis event goes out, then monitor.on_plateau decides
 * what happens next. The progress hook can stop the job in an epoch, a
 * diagnosis or the verdict's measurements. Every way out but a shutdown
 * sends the verdict event before the caller's end; a shutdown saves the
 * state, which a resume reads back with the checkpoint. */
#include "job_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "flatline/job.h"

static fl_train_config config_of(const fl_job_spec *s, size_t input_dim) {
  return (fl_train_config){.input_dim = input_dim, .n_layers = s->n_layers,
                           .layers = s->layers, .loss = s->loss,
                           .optimizer = s->optimizer, .batch_size = s->batch_size,
                           .seed = s->seed, .shuffle = s->shuffle,
                           .class_weight = &s->class_weight};
}

/* binary_crossentropy over two softmax units, each training row's two
 * targets summing to 1 (one-hot, or smoothed): with p2 = 1 - p1 and
 * y2 = 1 - y1, both units' binary cross-entropies are -[y1 ln p1 + y2 ln p2],
 * so their mean, the loss Keras reports, is categorical cross-entropy
 * exactly. Keras trains this job; so does flatline, as that loss (the
 * engine's binary loss takes one unit). Class ids under the same spec are
 * not equivalent (Keras broadcasts id y to both units, whose loss
 * -[ln p1 + ln p2] / 2 ignores the label): preflight names that one. */
static void equivalent_loss(fl_job_spec *s, const fl_dataset *train) {
  const fl_layer_spec *out = &s->layers[s->n_layers - 1];
  if (s->loss.kind != FL_LOSS_BINARY_CE || s->loss.from_logits || out->units != 2 ||
      out->activation != FL_ACT_SOFTMAX || out->stacked_activation != FL_ACT_LINEAR ||
      train->label_kind != FL_LABELS_DENSE || train->k != 2 || train->n == 0)
    return;
  for (size_t i = 0; i < train->n; i++) {
    float a = train->y[2 * i], b = train->y[2 * i + 1];
    if (!(a >= 0 && b >= 0 && fabsf(a + b - 1) <= 1e-3f)) return;
  }
  s->loss.kind = FL_LOSS_CATEGORICAL_CE;
}

/* Preflight of a spec equivalent_loss has already seen. */
static void preflight_effective(const fl_job_spec *spec, const fl_dataset *train,
                                const fl_dataset *val, const fl_device_info *dev,
                                fl_findings *out) {
  fl_dataset_stats st = {0}, sv = {0};
  fl_error err = {0};
  memset(out, 0, sizeof *out);
  if (fl_dataset_stats_compute(train, &st, &err) != 0) {
    out->n = 1;
    out->items[0].severity = FL_SEVERITY_ERROR;
    out->items[0].cause = FL_CAUSE_INVALID_DATA;
    snprintf(out->items[0].message, sizeof out->items[0].message, "%s", err.msg);
    return;
  }
  bool has_val = val && val->n > 0 && fl_dataset_stats_compute(val, &sv, &err) == 0;
  fl_train_config cfg = config_of(spec, train->d);
  fl_preflight_input in = {
      .spec = spec, .train = &st, .validation = has_val ? &sv : NULL,
      .memory_needed = fl_train_memory_estimate(&cfg, train->n, val ? val->n : 0),
      .device_memory = dev ? dev->global_mem : 0, .device_name = dev ? dev->name : NULL};
  fl_preflight(&in, out);
  fl_dataset_stats_free(&st);
  if (has_val) fl_dataset_stats_free(&sv);
}

void fl_job_preflight(const fl_job_spec *spec, const fl_dataset *train,
                      const fl_dataset *val, const fl_device_info *dev,
                      fl_findings *out) {
  fl_job_spec eff = *spec;
  equivalent_loss(&eff, train);
  preflight_effective(&eff, train, val, dev, out);
}

void fl__jw_fix(fl_jw *w, const char *fix) {
  if (fix && *fix) fl_jw_raw(w, "fix", fix); /* built by fl_jw: valid JSON */
  else fl_jw_null(w, "fix");
}

void fl_findings_write(fl_jw *w, const fl_findings *f) {
  fl_jw_array_begin(w, "findings");
  for (int i = 0; i < f->n; i++) {
    const fl_finding *x = &f->items[i];
    fl_jw_object_begin(w, NULL);
    fl_jw_str(w, "severity", x->severity == FL_SEVERITY_ERROR ? "error" : "warning");
    fl_jw_str(w, "cause", fl_cause_name(x->cause));
    fl_jw_str(w, "message", x->message);
    fl__jw_fix(w, x->fix);
    fl_jw_object_end(w);
  }
  fl_jw_array_end(w);
}

char *fl_preflight_event(const char *job_id, const fl_findings *f) {
  if (f->n == 0) return NULL;
  fl_jw w;
  fl_event_begin(&w, FL_EVENT_PREFLIGHT, job_id);
  fl_findings_write(&w, f);
  fl_jw_object_end(&w);
  return fl_jw_finish(&w);
}

static void emit(const fl_job_hooks *h, char *json, const fl_epoch_metrics *m) {
  if (json && h->event) h->event(h->ctx, json, m);
  free(json);
}

/* Rows per class (ids, or argmax of dense rows), for chance and entropy. */
static uint64_t *class_counts(const fl_dataset *ds, size_t k) {
  uint64_t *c = calloc(k ? k : 1, sizeof *c);
  for (size_t i = 0; c && i < ds->n; i++) {
    size_t cls = 0;
    if (ds->label_kind == FL_LABELS_IDS) {
      if (ds->ids[i] < 0 || (size_t)ds->ids[i] >= k) continue;
      cls = (size_t)ds->ids[i];
    } else {
      for (size_t j = 1; j < ds->k; j++)
        if (ds->y[i * ds->k + j] > ds->y[i * ds->k + cls]) cls = j;
      if (cls >= k) continue;
    }
    c[cls]++;
  }
  return c;
}

/* The detectors' memory for a (re)started training of spec on the data. */
static void monitor_start(fl_monitor *mon, const fl_job_spec *spec, const uint64_t *counts,
                          size_t k, const fl_dataset *train, const fl_dataset *val) {
  fl_monitor_init(mon, (int)k, counts, k, val != NULL, spec->monitor.patience,
                  spec->monitor.min_delta);
  mon->train_rows = train->n;
  mon->val_rows = val ? val->n : 0;
  mon->input_dim = train->d;
  fl_monitor_set_schedule(mon, spec);
  uint64_t *vc = val && val->n > 0 && k > 0 ? class_counts(val, k) : NULL;
  if (vc) { /* out of memory: unknown (0), which no test reads as evidence */
    uint64_t least = vc[0], most = vc[0];
    for (size_t c = 1; c < k; c++) {
      if (vc[c] < least) least = vc[c];
      if (vc[c] > most) most = vc[c];
    }
    mon->val_min_share = (double)least / (double)val->n;
    mon->val_max_share = (double)most / (double)val->n;
    free(vc);
  }
}

static void set_outcome(fl_job_outcome *o, const char *state, const char *cause,
                        const char *message, int epochs) {
  o->state = state;
  snprintf(o->cause, sizeof o->cause, "%s", cause ? cause : "");
  snprintf(o->message, sizeof o->message, "%s", message ? message : "");
  o->epochs = epochs;
}

/* The verdict event, once, before the caller's end event; *top (may be
 * NULL) gets its first cause. measure: the end may run the label test
 * and probes. FL_ECANCELED: the progress hook stopped them; no verdict. */
static int send_verdict(const fl_job_hooks *h, fl_job_diag *jd, const fl_monitor *mon,
                        int epoch, bool measure, const char **top) {
  const char *t = NULL;
  char *ev = NULL;
  jd->stop.epoch = epoch;
  int rc = fl_job_diag_verdict(jd, mon, epoch, measure, &ev, &t);
  if (rc) return rc;
  emit(h, ev, NULL);
  if (top) *top = t;
  return 0;
}

/* What the detectors and the diagnosis know, to the caller (hook). */
static void save_state(const fl_job_hooks *h, const fl_job_diag *jd, const fl_monitor *mon) {
  if (!h->save_state) return;
  char *json = fl__job_state_encode(jd, mon, fl__now() - jd->t_start);
  if (json) h->save_state(h->ctx, json);
  else fl_log(FL_LOG_WARNING, "job %s: out of memory saving its diagnosis state", jd->job_id);
  free(json);
}

/* At a resume (the trainer is at its checkpoint's epoch): what the
 * detectors and the diagnosis knew, from the caller (hook). The
 * diagnosis's part always counts (its events went out); the detectors'
 * history only when it ends at the checkpoint's epoch, or one after it
 * (saved before a checkpoint that a crash then stopped: that epoch runs
 * again and is not added twice). */
static void restore_state(const fl_job_hooks *h, fl_job_diag *jd, fl_monitor *mon,
                          int checkpoint_epoch) {
  char *json = h->load_state ? h->load_state(h->ctx) : NULL;
  if (!json) return;
  fl_monitor *had = malloc(sizeof *had);
  fl_error err = {0};
  double job_seconds = 0;
  if (!had) {
    fl_log(FL_LOG_WARNING, "job %s: out of memory reading its diagnosis state", jd->job_id);
  } else {
    *had = *mon;
    if (fl__job_state_decode(json, strlen(json), jd, had, &job_seconds, &err) != 0) {
      fl_log(FL_LOG_WARNING, "job %s: diagnosis state unusable (%s); diagnosing afresh",
             jd->job_id, err.msg);
    } else {
      jd->t_start = fl__now() - job_seconds;
      int saved = had->last.epoch;
      if (saved == checkpoint_epoch || saved == checkpoint_epoch + 1) *mon = *had;
      else
        fl_log(FL_LOG_WARNING, "job %s: detectors' history ends at epoch %d, the checkpoint "
               "at %d: the detectors start over", jd->job_id, saved, checkpoint_epoch);
      fl_log(FL_LOG_INFO, "job %s: %d diagnoses and %.1f s of probes carried over", jd->job_id,
             jd->diagnoses, jd->probe_seconds);
    }
  }
  free(had);
  free(json);
}

/* The progress hook said stop (in an epoch, a diagnosis or the verdict's
 * measurements): a cancel ends the job with a verdict from what was
 * measured (nothing new runs); a shutdown saves the state and leaves the
 * job to resume from its checkpoint. */
static void stop_job(const fl_job_hooks *h, bool (*cancelled)(void *ctx), fl_job_diag *jd,
                     const fl_monitor *mon, int epoch, fl_job_outcome *out) {
  bool c = cancelled && cancelled(h->ctx);
  if (c) send_verdict(h, jd, mon, epoch, false, NULL);
  else save_state(h, jd, mon);
  set_outcome(out, c ? "cancelled" : "running", NULL, c ? "cancelled by its owner" : NULL, epoch);
  out->interrupted = !c;
}

/* The verdict of a job that ends after `epoch` epochs (*top as
 * send_verdict); false when the progress hook stopped its measurements:
 * then the job stopped instead (stop_job) and its outcome is set. */
static bool finish_verdict(const fl_job_hooks *h, bool (*cancelled)(void *ctx), fl_job_diag *jd,
                           const fl_monitor *mon, int epoch, const char **top,
                           fl_job_outcome *out) {
  if (send_verdict(h, jd, mon, epoch, true, top) == 0) return true;
  stop_job(h, cancelled, jd, mon, epoch, out);
  return false;
}

static double progress_every(const fl_job_hooks *h) {
  return h->progress_every_s > 0 ? h->progress_every_s : FL_JOB_PROGRESS_EVERY_S;
}

static int start_trainer(fl_device *dev, const fl_job_spec *spec, const fl_dataset *train,
                         const fl_dataset *val, const fl_job_hooks *h, bool resume,
                         fl_trainer **t, int *logged, fl_error *err) {
  fl_train_config cfg = config_of(spec, train->d);
  int rc = fl_trainer_create(dev, &cfg, train, val, t, err);
  if (rc) return rc;
  if (h->progress) fl_trainer_set_progress(*t, h->progress, h->ctx, progress_every(h));
  *logged = resume && h->resume ? h->resume(h->ctx, *t) : 0;
  return 0;
}

void fl_job_execute(fl_device *dev, const char *job_id, const fl_job_spec *spec,
                    const char *spec_text, const fl_dataset *train,
                    const fl_dataset *val, const fl_job_hooks *h,
                    bool (*cancelled)(void *ctx), fl_job_outcome *out) {
  memset(out, 0, sizeof *out);
  fl_error err = {0};
  double t_start = fl__now();
  fl_job_spec cur = *spec; /* replaced by a fixed spec under on_plateau: fix */
  equivalent_loss(&cur, train);
  fl_findings pf;
  preflight_effective(&cur, train, val, fl_device_get_info(dev), &pf);
  emit(h, fl_preflight_event(job_id, &pf), NULL);
  for (int i = 0; i < pf.n; i++)
    if (pf.items[i].severity == FL_SEVERITY_ERROR) {
      emit(h, fl_verdict_rejected_event(job_id, &pf), NULL);
      set_outcome(out, "rejected", fl_cause_name(pf.items[i].cause), pf.items[i].message, 0);
      return;
    }

  char *fixed_text = NULL;
  fl_trainer *t = NULL;
  fl_job_diag *jd = NULL;
  int logged = 0;
  int rc = start_trainer(dev, &cur, train, val, h, true, &t, &logged, &err);
  if (rc) {
    const char *cause = fl_cause_of_error(rc);
    if (cause) { /* a diagnosed problem (device memory, labels): its verdict */
      fl_findings one = {.n = 1};
      one.items[0].severity = FL_SEVERITY_ERROR;
      for (int c = 1; c < FL_CAUSE_COUNT; c++)
        if (strcmp(fl_cause_name((fl_cause)c), cause) == 0) one.items[0].cause = (fl_cause)c;
      snprintf(one.items[0].message, sizeof one.items[0].message, "%s", err.msg);
      emit(h, fl_verdict_rejected_event(job_id, &one), NULL);
    }
    set_outcome(out, "rejected", cause, err.msg, 0);
    return;
  }
  size_t k = (size_t)fl_spec_classes(&cur); /* 2 for binary_crossentropy */
  uint64_t *counts = class_counts(train, k);
  fl_monitor *mon = malloc(sizeof *mon);
  if (!counts || !mon) {
    set_outcome(out, "failed", NULL, "out of memory", 0);
    goto done;
  }
  monitor_start(mon, &cur, counts, k, train, val);

  jd = malloc(sizeof *jd);
  if (!jd) {
    set_outcome(out, "failed", NULL, "out of memory", 0);
    goto done;
  }
  fl_job_diag_init(jd, dev, job_id, &cur, train, val, &pf, t_start);
  size_t batch = (size_t)cur.batch_size;
  jd->stop = (fl_job_stop){.progress = h->progress, .ctx = h->ctx,
                           .epoch = fl_trainer_epoch(t), .steps = (train->n + batch - 1) / batch,
                           .every_s = progress_every(h)};
  restore_state(h, jd, mon, fl_trainer_epoch(t));
  fl_job_callbacks jcb; /* the spec's Keras callbacks, resumed from the checkpoint */
  fl__job_callbacks_start(&jcb, &cur, job_id, h, t);
  char cb_message[FL_ERRMSG_MAX] = "";
  bool fixed = jd->fixed; /* a fix is applied once, resumed or not */
  double loss_before_fix = NAN;
  int last_reduce = 0;
  fl_epoch_metrics m = {0};
  while (fl_trainer_epoch(t) < cur.epochs && !fl__job_callbacks_stopped(&jcb)) {
    rc = fl_trainer_run_epoch(t, &m, &err);
    if (rc == FL_ECANCELED) {
      stop_job(h, cancelled, jd, mon, fl_trainer_epoch(t), out);
      goto done;
    }
    if (rc) {
      const char *top = NULL;
      if (!finish_verdict(h, cancelled, jd, mon, fl_trainer_epoch(t), &top, out)) goto done;
      set_outcome(out, "failed", top ? top : fl_cause_of_error(rc), err.msg, fl_trainer_epoch(t));
      goto done;
    }
    if (m.epoch > logged) emit(h, fl_event_epoch(job_id, &m), &m);
    /* An epoch that a resume runs again may be in the history already. */
    if (m.epoch > mon->last.epoch) fl_monitor_add(mon, &m);
    /* Callbacks before the checkpoint, so that it carries their state. */
    bool early_stop = false;
    if ((rc = fl__job_callbacks_epoch(&jcb, t, &m, &early_stop, &err))) {
      const char *top = NULL;
      if (!finish_verdict(h, cancelled, jd, mon, m.epoch, &top, out)) goto done;
      set_outcome(out, "failed", top ? top : fl_cause_of_error(rc), err.msg, fl_trainer_epoch(t));
      goto done;
    }
    save_state(h, jd, mon);
    if (h->epoch_done) h->epoch_done(h->ctx, t);
    if (early_stop) break; /* the job ends "done" below */
    fl_signals sig;
    fl_verdict v = fl_monitor_check(mon, &sig);
    if (v == FL_VERDICT_OK) continue;
    sig.suspect_init = fl_spec_suspect_init(&cur, train->d);

    char *ev = NULL;
    int diagnoses = jd->diagnoses;
    jd->stop.epoch = m.epoch;
    if (fl_job_diag_epoch(jd, mon, v, &sig, m.epoch, &ev)) {
      stop_job(h, cancelled, jd, mon, m.epoch, out);
      goto done;
    }
    if (jd->diagnoses != diagnoses) save_state(h, jd, mon); /* before its event goes out */
    if (ev) {
      const fl_cause_report *r = fl_job_diag_top(jd);
      fl_log(FL_LOG_INFO, "job %s: diagnosis after epoch %d: %s (probes %.1f s so far)", job_id,
             m.epoch, jd->last_found && r ? fl_cause_name(r->cause) : "no cause",
             jd->probe_seconds);
      emit(h, ev, NULL);
    }
    const fl_cause_report *top_r = fl_job_diag_top(jd);
    const char *top = top_r ? fl_cause_name(top_r->cause) : NULL;
    if (sig.nonfinite) { /* nothing trains on from NaN */
      if (!finish_verdict(h, cancelled, jd, mon, m.epoch, &top, out)) goto done;
      set_outcome(out, "failed", top ? top : "numerical_instability",
                  "the loss became NaN/Inf; training stopped", fl_trainer_epoch(t));
      goto done;
    }
    switch (cur.monitor.on_plateau) {
      case FL_PLATEAU_ALERT:
        break;
      case FL_PLATEAU_STOP:
        if (!finish_verdict(h, cancelled, jd, mon, m.epoch, &top, out)) goto done;
        set_outcome(out, "done", top, "stopped on a plateau (monitor.on_plateau = stop)",
                    fl_trainer_epoch(t));
        if (fl__job_callbacks_finish(&jcb, t, NULL, 0, &err))
          fl_log(FL_LOG_WARNING, "job %s: best weights not restored: %s", job_id, err.msg);
        if (h->finished) h->finished(h->ctx, t);
        goto done;
      case FL_PLATEAU_REDUCE_LR:
        if (m.epoch - last_reduce >= cur.monitor.patience && v == FL_VERDICT_PLATEAU) {
          float lr = (float)(m.lr * 0.1);
          fl_trainer_set_learning_rate(t, lr);
          last_reduce = m.epoch;
          fl_log(FL_LOG_INFO, "job %s: learning rate reduced to %g", job_id, (double)lr);
        }
        break;
      case FL_PLATEAU_FIX: {
        if (fixed || !top_r || !top_r->fix[0]) break;
        char *patched = NULL;
        fl_job_spec next;
        memset(&next, 0, sizeof next);
        /* The job's text has no input_shape where the data's header gave
         * it: the fixed spec takes it from there as the job's did. */
        if (fl_json_merge_patch(spec_text, strlen(spec_text), top_r->fix, &patched, &err) ||
            fl_spec_parse(patched, strlen(patched), &next, &err) ||
            fl_model_input_from_data(next.layers, next.n_layers, train->image_shape,
                                     "the training data", &err)) {
          fl_log(FL_LOG_WARNING, "job %s: fix not applicable: %s", job_id, err.msg);
          fl_spec_free(&next);
          free(patched);
          fixed = true; /* do not try again */
          break;
        }
        /* Restart from the original initialization with the fixed spec. */
        loss_before_fix = m.loss;
        fl_trainer *nt = NULL;
        int lg = 0;
        if (start_trainer(dev, &next, train, val, h, false, &nt, &lg, &err)) {
          fl_log(FL_LOG_WARNING, "job %s: fixed spec does not train: %s", job_id, err.msg);
          fl_spec_free(&next);
          free(patched);
          fixed = true;
          break;
        }
        fl_trainer_destroy(t);
        t = nt;
        free(fixed_text);
        fixed_text = patched;
        cur = next; /* label_columns owned by `next` live as long as cur */
        fixed = true;
        jd->fixed = true; /* earlier probes were of the old spec */
        logged = 0;
        monitor_start(mon, &cur, counts, k, train, val);
        fl__job_callbacks_start(&jcb, &cur, job_id, h, t); /* training starts over */
        fl_jw w;
        fl_event_begin(&w, FL_EVENT_FIX, job_id);
        fl_jw_str(&w, "cause", top);
        fl_jw_raw(&w, "fix", top_r->fix);
        fl_jw_num(&w, "loss_before", loss_before_fix);
        fl_jw_int(&w, "epoch", m.epoch);
        fl_jw_object_end(&w);
        emit(h, fl_jw_finish(&w), NULL);
        break;
      }
    }
  }
  if (fixed && isfinite(loss_before_fix)) {
    const fl_cause_report *r = fl_job_diag_top(jd);
    fl_jw w;
    fl_event_begin(&w, FL_EVENT_FIXED, job_id);
    fl_jw_str(&w, "cause", r ? fl_cause_name(r->cause) : NULL);
    fl_jw_num(&w, "loss_before", loss_before_fix);
    fl_jw_num(&w, "loss_after", m.loss);
    fl_jw_object_end(&w);
    emit(h, fl_jw_finish(&w), NULL);
  }
  /* The best epoch's weights, when a callback keeps them, are the model. */
  if ((rc = fl__job_callbacks_finish(&jcb, t, cb_message, sizeof cb_message, &err))) {
    const char *top = NULL;
    if (!finish_verdict(h, cancelled, jd, mon, fl_trainer_epoch(t), &top, out)) goto done;
    set_outcome(out, "failed", top ? top : fl_cause_of_error(rc), err.msg, fl_trainer_epoch(t));
    goto done;
  }
  if (h->finished) h->finished(h->ctx, t);
  const char *top = NULL;
  /* The model's class report rides on the verdict (issue 12); a failure
   * to make it costs the report, not the job. */
  fl_error report_err = {0};
  double balanced_lo = -1;
  char *report = fl__job_report_json(t, &cur, &balanced_lo, &report_err);
  if (!report)
    fl_log(FL_LOG_WARNING, "job %s: no class report: %s", job_id, report_err.msg);
  jd->metrics = report;
  jd->balanced_recall_lo = balanced_lo;
  bool verdict_sent = finish_verdict(h, cancelled, jd, mon, fl_trainer_epoch(t), &top, out);
  jd->metrics = NULL;
  jd->balanced_recall_lo = -1;
  free(report);
  if (!verdict_sent) goto done;
  set_outcome(out, "done", top, cb_message[0] ? cb_message : NULL, fl_trainer_epoch(t));
done:
  if (fixed_text) {
    fl_spec_free(&cur);
    free(fixed_text);
  }
  fl_trainer_destroy(t);
  free(counts);
  free(mon);
  free(jd);
}
