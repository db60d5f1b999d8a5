/* daemon/queue_rules.c — the pure rules of queue control: which of a
 * user's jobs runs first (priority, then submission order), what a job's
 * --after dependency says, when a finished job has expired, and what counts
 * as diagnosed for `wait`'s exit status. No I/O, no daemon state: tests
 * (tests/test_queue.c) call them on plain fl_job structs. */
#include <stdio.h>
#include <string.h>

#include "queue.h"

bool fl_queue_before(const fl_job *a, const fl_job *b) {
  if (a->priority != b->priority) return a->priority > b->priority;
  return a->number < b->number;
}

fl_dep_state fl_dep_state_of(const fl_job *job, const fl_job *dep, char *why,
                             size_t why_size) {
  if (!job->after[0]) return FL_DEP_NONE;
  if (!dep) {
    snprintf(why, why_size, "its dependency %s (--after) no longer exists (it "
             "was removed before this job could start); submit it again "
             "without --after or after another job", job->after);
    return FL_DEP_BROKEN;
  }
  switch (dep->state) {
    case FL_JOB_QUEUED:
    case FL_JOB_RUNNING:
      return FL_DEP_WAIT;
    case FL_JOB_DONE:
      return FL_DEP_READY;
    default:
      snprintf(why, why_size, "its dependency %s (--after) ended %s, so this "
               "job did not run; fix %s and submit both again", dep->id,
               fl_job_state_name(dep->state), dep->id);
      return FL_DEP_BROKEN;
  }
}

/* A day of the retention policy, in seconds. */
#define FL_DAY_S 86400.0

bool fl_retention_expired(double ended, double now, uint32_t days) {
  if (days == 0 || ended <= 0) return false;
  return now - ended >= (double)days * FL_DAY_S;
}

bool fl_job_diagnosed(const fl_job *job) {
  if (job->has_verdict) return job->diagnosed;
  return job->diagnosed || job->cause[0] != '\0';
}
