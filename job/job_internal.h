/* job/job_internal.h — what the job library's sources share. The
 * diagnosis across a job's life (job_diagnosis.c): the diagnosis across one job's life: when to
 * diagnose (the first plateau or divergence, again on new evidence, and at
 * the end), the probe budget over all of them, the label permutation test
 * (run once, on the host), and the final verdict (DESIGN.md §4 and §6):
 * healthy, problem with ranked causes, or unexplained with what was tried.
 * It builds the diagnosis and verdict events; the job loop sends them. */
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
} fl_job_diag;

void fl_job_diag_init(fl_job_diag *d, fl_device *dev, const char *job_id,
                      const fl_job_spec *spec, const fl_dataset *train,
                      const fl_dataset *val, const fl_findings *preflight,
                      double t_start);

/* After an epoch: runs a diagnosis when the detectors' verdict v brings new
 * evidence. Returns the diagnosis event (malloc'd) or NULL when none ran. */
char *fl_job_diag_epoch(fl_job_diag *d, const fl_monitor *mon, fl_verdict v,
                        const fl_signals *sig, int epoch);

/* The top cause of the latest diagnosis that found one, or NULL. */
const fl_cause_report *fl_job_diag_top(const fl_job_diag *d);

/* The job has ended after `epoch` epochs: diagnoses once more if the end
 * brings evidence no diagnosis has seen, then returns the verdict event
 * (malloc'd; NULL on ENOMEM); *top is the verdict's first cause or NULL. */
char *fl_job_diag_verdict(fl_job_diag *d, const fl_monitor *mon, int epoch,
                          const char **top);

/* The verdict of a job that preflight rejected: its errors, as causes. */
char *fl_verdict_rejected_event(const char *job_id, const fl_findings *f);

/* "fix": the merge patch (valid JSON built by fl_jw), or null when there
 * is none (job_run.c). */
void fl__jw_fix(fl_jw *w, const char *fix);

/* ---- probes (probes.c): run a diagnosis's probes on a device ---- */
/* known (may be NULL): results of earlier probes of the same spec; a
 * probe is deterministic (the job's seed, the same rows), so those are
 * copied, not run again.
 * Runs the probes fl_probe_plan picks for `signals`, within budget_s
 * seconds (the baseline and one more always run), filling
 * res[FL_PROBE_COUNT]; *spent = seconds used. val may be NULL. */
int fl_probes_run(fl_device *dev, const fl_job_spec *spec, const fl_dataset *train,
                  const fl_dataset *val, const fl_signals *signals, double budget_s,
                  const fl_probe_result *known, fl_probe_result *res, double *spent);

/* The baseline and probe k again with `seeds` other seeds (the job's seed
 * + 1, + 2, ...) on the same rows: base[seeds], probe[seeds]. For a
 * paired comparison of the probe that names a cause. */
int fl_probes_paired(fl_device *dev, const fl_job_spec *spec, const fl_dataset *train,
                     const fl_dataset *val, fl_probe_kind k, int seeds,
                     fl_probe_result *base, fl_probe_result *probe, double *spent);

#endif
