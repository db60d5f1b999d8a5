/* daemon/jobdir.h — a job folder kept by the foreground runner
 * (`flatlined --run SPEC --job-dir DIR`): the same files the service keeps
 * for a job in state_dir/jobs/<id> (spec.json, job.json, events.jsonl,
 * checkpoint.bin, diagnosis.json, model.safetensors), written by the
 * service's own writers (jobs.c), so that a run stopped by a signal, a
 * kill -9 or a Slurm requeue resumes from its last epoch checkpoint and
 * ends with the same final loss as a run that was never stopped, and so
 * that `flatline show/follow/export` read it as they read a daemon job. */
#ifndef FL_DAEMON_JOBDIR_H
#define FL_DAEMON_JOBDIR_H

#include <stdbool.h>
#include <stddef.h>

#include "flatline/job.h"

/* Exit status of a run stopped by SIGTERM, SIGINT or SIGUSR1 with its
 * state saved: run the same command again to resume. sysexits.h's
 * EX_TEMPFAIL, which batch scripts test before requeueing. */
#define FL_EXIT_RESUMABLE 75

typedef struct fl_jobdir fl_jobdir;

/* What the folder says before training starts. */
typedef struct {
  bool ended;          /* the job already ended: nothing to run */
  char state[16];      /* its final state ("done", ...) when ended */
  char cause[64];      /* its top cause when ended, "" for none */
  int resumed_epoch;   /* epochs the log already holds (0: a fresh start) */
} fl_jobdir_status;

/* Opens (or creates, mode 0700) dir for the job of spec_text. A folder
 * holding another spec is refused: a resume must train what it started.
 * job_id names the job in its events ("s123" under Slurm). */
int fl_jobdir_open(const char *dir, const char *job_id, const char *spec_text,
                   size_t spec_len, const fl_job_spec *spec, fl_jobdir **out,
                   fl_jobdir_status *status, fl_error *err);

/* Fills the checkpoint, log, resume and state hooks of h. Each event the
 * log takes (or would take, for a new line) is passed on to print. The
 * progress hook stops the job once fl_jobdir_signal_stop or
 * fl_jobdir_signal_cancel was called (both async-signal-safe). */
void fl_jobdir_hooks(fl_jobdir *jd, fl_job_hooks *h,
                     void (*print)(void *ctx, const char *json,
                                   const fl_epoch_metrics *m),
                     void *print_ctx);
/* The spec and training data the model's metadata describes (its
 * preprocessing: scale, standardization, class names), as the service
 * writes it; both must outlive the run. */
void fl_jobdir_set_model_meta(fl_jobdir *jd, const fl_job_spec *spec,
                              const fl_dataset *train);
/* For fl_job_execute's `cancelled` argument (ctx: the hooks' ctx). */
bool fl_jobdir_cancelled(void *ctx);
void fl_jobdir_signal_stop(void);
void fl_jobdir_signal_cancel(void);

/* The job left fl_job_execute: an interrupted one is saved as queued (to
 * resume), an ended one gets its final job.json, then its end line (the
 * service's order, jobs.c). A state write that failed during the run fails
 * the job with its reason (*o is changed to say so). */
int fl_jobdir_finish(fl_jobdir *jd, fl_job_outcome *o, const char *metrics,
                     fl_error *err);
/* The end line of an ended job as logged (malloc'd), or NULL. */
char *fl_jobdir_end_line(const fl_jobdir *jd);
void fl_jobdir_close(fl_jobdir *jd);

#endif
