/* flatline/job.h — one training job from its datasets to its end, shared
 * by the service's device workers and the foreground runner (flatlined
 * --run): preflight, training epochs, live detectors, probes and
 * diagnoses, the verdict, and monitor.on_plateau; and the JSON encoders of
 * every event a job emits (DESIGN.md §6). What differs between the two
 * callers (where events go, checkpoints, resume, progress) comes in
 * through hooks. The library (job/) knows nothing of sockets or users. */
#ifndef FLATLINE_JOB_H
#define FLATLINE_JOB_H

#include <stdbool.h>
#include <stddef.h>

#include "flatline/diagnose.h"
#include "flatline/engine.h"
#include "flatline/protocol.h"

/* ---- the job loop (job/job_run.c) ---- */
typedef struct {
  void *ctx;
  /* An event line (epoch, preflight, diagnosis, fix, fixed); m is the
   * epoch's metrics for epoch events, NULL otherwise. */
  void (*event)(void *ctx, const char *json, const fl_epoch_metrics *m);
  /* Progress inside an epoch; non-zero aborts the job (cancel/shutdown).
   * Also polled while a diagnosis measures (label test, probes), with the
   * latest epoch as complete (step == steps): training waits meanwhile,
   * and a non-zero answer stops the probes within about a second.
   * NULL: no progress, no host syncs inside epochs, nothing stops. */
  int (*progress)(void *ctx, int epoch, size_t step, size_t steps);
  /* Seconds between progress calls; 0: FL_JOB_PROGRESS_EVERY_S. */
  double progress_every_s;
  /* The trainer exists: may load a checkpoint. Returns the number of
   * epochs whose events were already delivered (not sent again). */
  int (*resume)(void *ctx, fl_trainer *t);
  /* After each completed epoch (checkpoints). */
  void (*epoch_done)(void *ctx, fl_trainer *t);
  /* All epochs done (model export). */
  void (*finished)(void *ctx, fl_trainer *t);
  /* What the detectors and the diagnosis know (JSON, its format in
   * job/job_state.c), after each epoch (before epoch_done), after each
   * diagnosis (before its event) and when a shutdown stops the job: keep
   * the latest beside the checkpoint. NULL: not kept. */
  void (*save_state)(void *ctx, const char *json);
  /* After resume: the state last saved (malloc'd, freed by the job), or
   * NULL. With it a resumed job neither repeats nor re-sends the
   * diagnoses it made, and its verdict counts them. */
  char *(*load_state)(void *ctx);
} fl_job_hooks;

/* The progress hook's period when the hooks leave it 0: a cancel or a
 * shutdown is seen within about this long, in an epoch or a probe, well
 * inside the service's stop timeout (TimeoutStopSec=60s, systemd/). */
#define FL_JOB_PROGRESS_EVERY_S 1.0

typedef struct {
  const char *state;       /* "done", "failed", "rejected", "cancelled" */
  bool interrupted;        /* aborted by the progress hook, not cancelled */
  char cause[64];          /* top cause, "" when none */
  char message[FL_ERRMSG_MAX];
  int epochs;              /* completed */
} fl_job_outcome;

/* spec_text is the spec as submitted (fixes are merge patches on it).
 * cancelled: checked when the progress hook aborts, to tell a cancel (the
 * job ends "cancelled", with a verdict from what was measured) from a
 * shutdown (out->interrupted: it resumes from its checkpoint later). */
void fl_job_execute(fl_device *dev, const char *job_id, const fl_job_spec *spec,
                    const char *spec_text, const fl_dataset *train,
                    const fl_dataset *val, const fl_job_hooks *hooks,
                    bool (*cancelled)(void *ctx), fl_job_outcome *out);

/* The "findings" member (an array) for a reply or an event. */
void fl_findings_write(fl_jw *w, const fl_findings *f);
/* JSON of a preflight event, or NULL when there are no findings. */
char *fl_preflight_event(const char *job_id, const fl_findings *f);

/* Runs preflight for a spec and its loaded data (stats computed here), on
 * the spec as the job trains it (binary_crossentropy over two softmax units
 * with one-hot labels is categorical cross-entropy: job_run.c). */
void fl_job_preflight(const fl_job_spec *spec, const fl_dataset *train,
                      const fl_dataset *val, const fl_device_info *dev,
                      fl_findings *out);

/* ---- event encoders (job/events.c): each returns a malloc'd single-line
 * JSON object, or NULL when out of memory ---- */
/* Starts w on an event object: {"event": event, "job": job, ... — the
 * head every event shares; the caller adds its fields, closes the object
 * and finishes w. */
void fl_event_begin(fl_jw *w, const char *event, const char *job);

char *fl_event_epoch(const char *job, const fl_epoch_metrics *m);
char *fl_event_progress(const char *job, int epoch, size_t step, size_t steps);
/* cause and message may be NULL. */
char *fl_event_end(const char *job, const char *state, const char *cause,
                   const char *message);
/* The same with the verdict's class report (a JSON object, job_report.c)
 * as "metrics"; metrics NULL: none (an additive field, DESIGN.md §6). */
char *fl_event_end_metrics(const char *job, const char *state,
                           const char *cause, const char *message,
                           const char *metrics);

/* ---- Keras callbacks at each epoch's end (job/callbacks.c): pure logic
 * on the epoch's metrics, no device. The job loop applies the actions
 * (keep or restore the best weights, stop, set the learning rate) and
 * carries the state in the trainer's checkpoints (fl_trainer_set_note). */
typedef struct {
  double best;       /* best monitored value (+-inf before the first) */
  int best_epoch;    /* 1-based; 0: none yet */
  int wait;          /* epochs without improvement (Keras's wait) */
  int cooldown_left; /* reduce_lr_on_plateau's cooldown counter */
} fl_callback_state;

typedef struct {
  int n;                                 /* = spec->n_callbacks */
  fl_callback_state s[FL_MAX_CALLBACKS]; /* one per spec->callbacks[i] */
  int keeper;         /* index of the callback whose best weights are kept
                         (model_checkpoint save_best_only, else
                         early_stopping restore_best_weights); -1: none */
  int kept_epoch;     /* epoch of the kept weights; 0: none */
  int stopped_epoch;  /* early_stopping stopped training after it; 0: no */
} fl_callbacks;

typedef struct {
  bool keep_weights; /* keep this epoch's weights as the best */
  bool stop;         /* early_stopping: end training now (job "done") */
  bool set_lr;       /* reduce_lr_on_plateau: new learning rate in lr */
  double lr;
} fl_callbacks_action;

void fl_callbacks_init(fl_callbacks *cb, const fl_job_spec *spec);
/* After epoch m->epoch, trained at learning rate lr: update the state and
 * say what to do, as Keras's on_epoch_end (callbacks in spec order). */
void fl_callbacks_epoch_end(fl_callbacks *cb, const fl_job_spec *spec,
                            const fl_epoch_metrics *m, double lr,
                            fl_callbacks_action *act);
/* The value callback cb watches in m (NAN when m has no validation). */
double fl_callbacks_metric(fl_metric metric, const fl_epoch_metrics *m);
/* Whether training's end should restore the kept weights (Keras 3
 * restores the best epoch's at the end of training, stopped or not):
 * a keeper exists, it kept an epoch, and that is not the last one. */
bool fl_callbacks_restore_at_end(const fl_callbacks *cb, int last_epoch);
/* The state as one line of text for a checkpoint (exact: hex floats), and
 * back; decode fails (FL_EDATA) on text not made for this spec. */
#define FL_CALLBACKS_TEXT_MAX (64 + 96 * FL_MAX_CALLBACKS)
void fl_callbacks_encode(const fl_callbacks *cb, char out[FL_CALLBACKS_TEXT_MAX]);
int fl_callbacks_decode(fl_callbacks *cb, const fl_job_spec *spec,
                        const char *text, fl_error *err);

/* The cause code (DESIGN.md §4) an engine or data error stands for, or
 * NULL when the error is not one of the diagnosed problems. */
const char *fl_cause_of_error(int code);

#endif
