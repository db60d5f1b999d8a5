/* daemon/job_hooks.h — what a job's training hooks (fl_job_hooks) do with
 * the job's folder, shared by the service's worker (worker.c) and the
 * foreground runner's job folder (jobdir.c, `flatlined --run --job-dir`):
 * the checkpoint after each epoch and the resume from it (a checkpoint
 * ahead of the log is not used), the model with its preprocessing, the
 * diagnosis state, and which preflight/verdict lines a resumed job must
 * not log again. Each caller says what happened in its own way (the
 * daemon's log, or stderr) and decides what a failed write means for the
 * job, so these functions print nothing. */
#ifndef FL_DAEMON_JOB_HOOKS_H
#define FL_DAEMON_JOB_HOOKS_H

#include <stdbool.h>
#include <stddef.h>

#include "daemon.h"
#include "flatline/job.h"

/* The job's diagnosis state (job/job_state.c) beside its checkpoint, so
 * that a resumed job keeps the diagnoses it made instead of making and
 * sending them again; deleted when the job ends. */
#define FL_DIAGNOSIS_STATE_FILE "diagnosis.json"
#define FL_DIAGNOSIS_STATE_MAX ((size_t)4 << 20) /* what it writes stays under 1 MiB */
#define FL_CHECKPOINT_FILE "checkpoint.bin"
#define FL_CHECKPOINT_MAX ((size_t)4 << 30)
#define FL_MODEL_FILE "model.safetensors"

/* json is an event of this name (every event line starts with it). */
bool fl_event_is(const char *json, const char *name);

/* "preflight" or "verdict" when json is that line and the log already
 * held one when the job (re)started (facts): it was logged and sent
 * before the stop, so not again. NULL for any other line. */
const char *fl_job_event_logged_before(const fl_job_log_facts *facts, const char *json);

/* Writes dir/name atomically. On failure *e is the system error (errno
 * right after the write). */
int fl_job_file_write(const char *dir, const char *name, const void *buf, size_t len,
                      int *e, fl_error *err);

/* After an epoch's log line: t's checkpoint into dir/checkpoint.bin, so
 * that a crash in between re-runs the epoch, which gives the same line,
 * which is then not logged twice. On failure *e is the system error, 0
 * when the checkpoint could not be made (err says why). */
int fl_job_checkpoint_write(const char *dir, fl_trainer *t, int *e, fl_error *err);

typedef enum {
  FL_RESUME_NONE,     /* no checkpoint: a fresh start */
  FL_RESUME_UNUSABLE, /* it would not load (err says why): a fresh start */
  FL_RESUME_AFTER,    /* resumed after epoch *ckpt_epoch */
  FL_RESUME_AHEAD,    /* ahead of the log: back to the fresh start */
  FL_RESUME_AHEAD_KEPT /* ahead, and the fresh state could not be restored:
                        * the epochs in between stay unlogged */
} fl_resume_result;

/* Loads dir/checkpoint.bin into t unless it is ahead of the log (an epoch
 * past last_epoch, the log's last epoch line): resuming there would never
 * log the epochs between. *ckpt_epoch: the checkpoint's epoch when it
 * loaded. */
fl_resume_result fl_job_checkpoint_resume(const char *dir, fl_trainer *t, int last_epoch,
                                          int *ckpt_epoch, fl_error *err);

/* The trained model with the preprocessing a user must repeat
 * (docs/model-format.md: scale, standardization, class names) into
 * dir/model.safetensors. spec and train may be NULL. On failure *e is
 * the system error, 0 when the model could not be made. */
int fl_job_model_write(const char *dir, fl_trainer *t, const fl_job_spec *spec,
                       const fl_dataset *train, int *e, fl_error *err);

/* The diagnosis state's text (malloc'd), or NULL when there is none. */
char *fl_job_diagnosis_state_read(const char *dir);
/* Nothing resumes the job now. */
void fl_job_diagnosis_state_remove(const char *dir);

#endif
