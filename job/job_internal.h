/* job/job_internal.h — what the job library's sources share: the
 * diagnosis across one job's life (job_diagnosis.c): when to diagnose (the
 * first plateau or divergence, again on new evidence, and at the end), the
 * probe budget over all of them, the label permutation test (run once, on
 * the host), and the final verdict (DESIGN.md §4 and §6): healthy, problem
 * with ranked causes, or unexplained with what was tried. It builds the
 * diagnosis and verdict events; the job loop sends them. Also the stop
 * check that the diagnosis's measurements poll (job_diagnosis.c), the
 * probes (probes.c), and the state kept across a resume (job_state.c). */
#ifndef FL_JOB_INTERNAL_H
#define FL_JOB_INTERNAL_H

#include <stdbool.h>

#include "flatline/diagnose.h"
#include "flatline/engine.h"
#include "flatline/job.h"

#include <time.h>

/* Monotonic seconds: job time and probe budgets. */
static inline double fl__now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* While the diagnosis measures (label test, probes, paired reruns) it
 * polls the job's progress hook, so that a cancel or a shutdown stops it
 * within about a second instead of at the end of the probe budget. The
 * hook is told the job's position: its latest epoch, complete (training
 * waits while the diagnosis runs). */
typedef struct {
  fl_progress_fn progress; /* the job's progress hook; NULL: never stops */
  void *ctx;
  int epoch;               /* the job's latest completed epoch */
  size_t steps;            /* steps of one of its epochs */
  double every_s;          /* seconds between polls */
  double last_poll;        /* monotonic seconds of the latest poll */
  bool stopped;            /* the hook said stop; it stays said */
  double deadline;         /* monotonic seconds at which a running probe is
                              cut (its probe budget); 0: none */
  bool late;               /* a probe was cut at the deadline */
  /* A probe on trial (fl_probes_run: priced past the budget left): cut
   * as soon as its measured pace projects its end past the deadline. */
  bool trial;              /* the next probe runs on trial */
  long trial_steps;        /* its steps in all (set by the probe runner) */
  double trial_t0;         /* monotonic seconds of its first poll */
  long trial_done0;        /* steps done at its first poll */
  bool trial_cut;          /* the trial was cut: it would not have fit */
} fl_job_stop;

/* true when the job must stop: polls the hook when every_s has passed
 * since the latest poll. */
bool fl__job_stop_check(fl_job_stop *s);

typedef struct {
  fl_device *dev;
  const char *job_id;
  const fl_job_spec *spec;       /* the spec training runs with (a fix replaces it) */
  const fl_dataset *train, *val; /* val may be NULL */
  const fl_findings *preflight;
  double t_start;                /* monotonic seconds at the job's start */
  fl_label_test labels;
  bool labels_done;              /* tried (labels.run says whether it ran) */
  fl_probe_result tried[FL_PROBE_COUNT]; /* every probe run, latest result */
  fl_diagnosis last;             /* latest diagnosis that found causes */
  int diagnoses;                 /* how many ran */
  int last_epoch;                /* epoch of the latest one */
  bool last_found;               /* the latest one found causes */
  fl_verdict last_trigger;
  bool overfit_reported;
  bool fixed;                    /* on_plateau "fix" replaced the spec */
  double probe_seconds;          /* over the whole job */
  int probe_steps;               /* steps of each of its probes; 0: not yet
                                    chosen (job_diagnosis.c, probe_steps) */
  fl_probe_result whole[FL_PROBE_COUNT]; /* probes over the job's own steps,
                                    run by the verdict (job_diagnosis.c,
                                    whole_job_runs) */
  char labels_method[64];        /* labels.method's text after a resume */
  fl_job_stop stop;
  /* The end-of-job class report (job_report.c, a JSON object) that the
   * verdict carries as "metrics"; NULL: none (the job did not finish). */
  const char *metrics;
  /* ... and its balanced accuracy's lower bound (job_report.c); a job
   * that weighs classes is judged at chance by it, not by the majority
   * rate its weighting gives up on purpose. <= 0: none. */
  double balanced_recall_lo;
} fl_job_diag;

/* job_report.c: the class report of t's current parameters (validation
 * rows, else training rows) as a JSON object; NULL with err set on
 * failure. malloc'd. *balanced_lo: the mean over classes of the lower
 * 95% Wilson bound of their recall (-1 when none). */
char *fl__job_report_json(fl_trainer *t, const fl_job_spec *spec,
                          double *balanced_lo, fl_error *err);

void fl_job_diag_init(fl_job_diag *d, fl_device *dev, const char *job_id,
                      const fl_job_spec *spec, const fl_dataset *train,
                      const fl_dataset *val, const fl_findings *preflight,
                      double t_start);

/* After an epoch: runs a diagnosis when the detectors' verdict v brings new
 * evidence; *event gets the diagnosis event (malloc'd) or NULL when none
 * ran or it says nothing new. FL_ECANCELED: the stop check stopped it;
 * then nothing of it counts but the measurements it completed, and the
 * same evidence triggers it again (after a resume). */
int fl_job_diag_epoch(fl_job_diag *d, const fl_monitor *mon, fl_verdict v,
                      const fl_signals *sig, int epoch, char **event);

/* The top cause of the latest diagnosis that found one, or NULL. */
const fl_cause_report *fl_job_diag_top(const fl_job_diag *d);

/* The job has ended after `epoch` epochs: diagnoses once more if the end
 * brings evidence no diagnosis has seen (measure: with the label test and
 * probes; else only from what was measured before, for a cancelled job),
 * then *event gets the verdict event (malloc'd; NULL on ENOMEM) and *top
 * its first cause or NULL. FL_ECANCELED (only when measuring): the stop
 * check stopped the measurements; no verdict. */
int fl_job_diag_verdict(fl_job_diag *d, const fl_monitor *mon, int epoch, bool measure,
                        char **event, const char **top);

/* The verdict of a job that preflight rejected: its errors, as causes. */
char *fl_verdict_rejected_event(const char *job_id, const fl_findings *f);

/* "fix": the merge patch (valid JSON built by fl_jw), or null when there
 * is none (job_run.c). */
void fl__jw_fix(fl_jw *w, const char *fix);

/* ---- probes (probes.c): run a diagnosis's probes on a device ---- */
/* Steps of a probe: enough for a repair to show (the baseline stalls
 * where the ladder's step learns), and FL_PROBE_MIN_STEPS at the least,
 * where the job's model is too slow for the full count (job_diagnosis.c). */
#define FL_PROBE_STEPS 150
#define FL_PROBE_MIN_STEPS 30
/* Fewer steps still where even FL_PROBE_MIN_STEPS of the two probes that
 * always run would not fit the budget (job_diagnosis.c), but no fewer
 * than this: a probe of a handful of steps measures its initialization,
 * not a change (an assumption: half of FL_PROBE_MIN_STEPS, not fitted). */
#define FL_PROBE_FLOOR_STEPS 15
/* known (may be NULL): results of earlier probes of the same spec; a
 * probe is deterministic (the job's seed, the same rows), so those are
 * copied, not run again.
 * Runs the probes fl_probe_plan picks for `signals`, within budget_s
 * seconds (the baseline and one more always run), each for about `steps`
 * steps (FL_PROBE_STEPS, or fewer: fl_job_diag's probe_steps), filling
 * res[FL_PROBE_COUNT]; *spent = seconds used. val may be NULL.
 * stop (may be NULL) is checked before each probe and polled inside it:
 * FL_ECANCELED when it said stop, with res holding the probes that
 * completed (the one it stopped is not in it). */
int fl_probes_run(fl_device *dev, const fl_job_spec *spec, const fl_dataset *train,
                  const fl_dataset *val, const fl_signals *signals, double budget_s,
                  int steps, const fl_probe_result *known, fl_job_stop *stop,
                  fl_probe_result *res, double *spent);

/* The baseline and probe k again with `seeds` other seeds (the job's seed
 * + 1, + 2, ...) on the same rows: base[seeds], probe[seeds]. For a
 * paired comparison of the probe that names a cause. stop as above; a
 * run still going at the end of budget_s seconds is cut (run false) and
 * no later one starts. */
int fl_probes_paired(fl_device *dev, const fl_job_spec *spec, const fl_dataset *train,
                     const fl_dataset *val, fl_probe_kind k, int seeds, int steps,
                     double budget_s, fl_job_stop *stop, fl_probe_result *base,
                     fl_probe_result *probe, double *spent);

/* Probe k alone for `steps` steps (as many as the job itself has taken,
 * say) on the probes' rows, into *res; cut (res->run false, stop->late
 * set) at the end of budget_s seconds. stop and the return as
 * fl_probes_run. */
int fl_probe_long(fl_device *dev, const fl_job_spec *spec, const fl_dataset *train,
                  const fl_dataset *val, fl_probe_kind k, int steps, double budget_s,
                  fl_job_stop *stop, fl_probe_result *res, double *spent);

/* ---- the state kept across a resume (job_state.c) ---- */
/* The JSON of what the detectors and the diagnosis know after epoch
 * mon->last.epoch, job_seconds into the job (malloc'd; NULL on ENOMEM). */
char *fl__job_state_encode(const fl_job_diag *d, const fl_monitor *mon, double job_seconds);

/* Reads a state back: d's measurements and decisions (not its job, spec,
 * data or stop), the detectors' history into mon (whose set-up, from the
 * spec and data, it keeps) and *job_seconds. On an error d and mon are
 * unchanged and err says what was wrong. */
int fl__job_state_decode(const char *json, size_t len, fl_job_diag *d, fl_monitor *mon,
                         double *job_seconds, fl_error *err);

/* The job loop's side of the spec's Keras callbacks (job_callbacks.c):
 * each epoch's actions applied to the trainer (keep the best weights, set
 * the learning rate), the "callback" events, the state carried in the
 * trainer's checkpoint note, and the best weights restored at the end. */
typedef struct {
  fl_callbacks cb;
  const fl_job_spec *spec;
  const char *job_id;
  const fl_job_hooks *hooks;
} fl_job_callbacks;

/* After the trainer is created and resumed: the state its checkpoint
 * carried, or a fresh one. */
void fl__job_callbacks_start(fl_job_callbacks *jc, const fl_job_spec *spec,
                             const char *job_id, const fl_job_hooks *h, fl_trainer *t);
/* After epoch m, before its checkpoint. *stop: early_stopping ended
 * training. Errors are the trainer's (keeping weights, setting the rate). */
int fl__job_callbacks_epoch(fl_job_callbacks *jc, fl_trainer *t, const fl_epoch_metrics *m,
                            bool *stop, fl_error *err);
/* Training is over (before the model is exported): restore the best
 * epoch's weights when a callback asks for it. message (may be NULL) gets
 * what a user should read in the end event, "" when nothing happened. */
int fl__job_callbacks_finish(fl_job_callbacks *jc, fl_trainer *t, char *message,
                             size_t size, fl_error *err);
/* Training stopped early (resumed or not): early_stopping's epoch, 0: no. */
static inline int fl__job_callbacks_stopped(const fl_job_callbacks *jc) {
  return jc->cb.stopped_epoch;
}

#endif
