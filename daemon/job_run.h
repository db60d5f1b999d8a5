/* daemon/job_run.h — one job from datasets to its end, shared by the
 * service's device workers and the foreground runner: preflight, training
 * epochs, live detectors, probes and diagnosis on a plateau, and the
 * monitor.on_plateau action. What differs between the two callers (where
 * events go, checkpoints, resume, progress) comes in through hooks. */
#ifndef FL_DAEMON_JOB_RUN_H
#define FL_DAEMON_JOB_RUN_H

#include <stdbool.h>

#include "flatline/diagnose.h"
#include "flatline/engine.h"

typedef struct {
  void *ctx;
  /* An event line (epoch, preflight, diagnosis, fix, fixed); m is the
   * epoch's metrics for epoch events, NULL otherwise. */
  void (*event)(void *ctx, const char *json, const fl_epoch_metrics *m);
  /* Progress inside an epoch; non-zero aborts the job (cancel/shutdown).
   * NULL: no progress and no host syncs inside epochs. */
  int (*progress)(void *ctx, int epoch, size_t step, size_t steps);
  /* The trainer exists: may load a checkpoint. Returns the number of
   * epochs whose events were already delivered (not sent again). */
  int (*resume)(void *ctx, fl_trainer *t);
  /* After each completed epoch (checkpoints). */
  void (*epoch_done)(void *ctx, fl_trainer *t);
  /* All epochs done (model export). */
  void (*finished)(void *ctx, fl_trainer *t);
} fl_job_hooks;

typedef struct {
  const char *state;       /* "done", "failed", "rejected", "cancelled" */
  bool interrupted;        /* aborted by the progress hook, not cancelled */
  char cause[64];          /* top cause, "" when none */
  char message[FL_ERRMSG_MAX];
  int epochs;              /* completed */
} fl_job_outcome;

/* spec_text is the spec as submitted (fixes are merge patches on it).
 * cancelled: checked when the progress hook aborts, to tell a cancel from a
 * shutdown. */
void fl_job_execute(fl_device *dev, const char *job_id, const fl_job_spec *spec,
                    const char *spec_text, const fl_dataset *train,
                    const fl_dataset *val, const fl_job_hooks *hooks,
                    bool (*cancelled)(void *ctx), fl_job_outcome *out);

/* The "findings" member (an array) for a reply or an event. */
void fl_findings_write(fl_jw *w, const fl_findings *f);
/* JSON of a preflight event, or NULL when there are no findings. */
char *fl_preflight_event(const char *job_id, const fl_findings *f);

/* Runs preflight for a spec and its loaded data (stats computed here). */
void fl_job_preflight(const fl_job_spec *spec, const fl_dataset *train,
                      const fl_dataset *val, const fl_device_info *dev,
                      fl_findings *out);

#endif
