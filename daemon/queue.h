/* daemon/queue.h — queue control (issue 14): the rules that order a user's
 * jobs and hold a job for its dependency (queue_rules.c, pure), the
 * requests log, wait, rm and cancel --all with the pending waits
 * (queue.c), and removing jobs and expiring them with their unused uploads
 * (retention.c). */
#ifndef FL_DAEMON_QUEUE_H
#define FL_DAEMON_QUEUE_H

#include "daemon.h"

struct fl_client;

/* ---- queue_rules.c: pure ---- */
/* Whether a runs before b among one user's queued jobs: the higher
 * priority first, then submission order. */
bool fl_queue_before(const fl_job *a, const fl_job *b);

typedef enum {
  FL_DEP_NONE,   /* no --after, or it was satisfied */
  FL_DEP_WAIT,   /* the dependency is queued or running */
  FL_DEP_READY,  /* the dependency is done */
  FL_DEP_BROKEN, /* it failed, was cancelled or rejected, or is gone */
} fl_dep_state;

/* job's dependency state, dep being fl_job_find(job->after) (NULL: gone).
 * A broken one writes the reason the job fails with into why. */
fl_dep_state fl_dep_state_of(const fl_job *job, const fl_job *dep, char *why,
                             size_t why_size);
/* A job that ended at `ended` has expired at `now` under a retention of
 * `days` (0: never; ended 0: not known, never). */
bool fl_retention_expired(double ended, double now, uint32_t days);
/* What `submit --follow` would call diagnosed (its exit status 3 when
 * done): a problem verdict with causes; without a verdict, a diagnosis
 * with causes or an end with a cause. */
bool fl_job_diagnosed(const fl_job *job);

/* ---- queue.c ---- */
void fl_on_log(struct fl_client *c, const fl_request *r);
void fl_on_wait(struct fl_client *c, const fl_request *r);
void fl_on_rm(struct fl_client *c, const fl_request *r);
void fl_on_cancel_all(struct fl_client *c, const fl_request *r);
/* submit's "after": the job exists, is the submitter's (or root's), and
 * the chain of dependencies it starts has no cycle. Replies with the error
 * and returns false otherwise. */
bool fl_queue_after_ok(struct fl_client *c, const fl_request *r);
/* A job reached a final state (its end was sent): answer the waits that
 * were waiting for it last. */
void fl_waits_job_ended(fl_daemon *d, const fl_job *job);
/* The client is going away: drop its waits. */
void fl_waits_free(struct fl_client *c);
/* Before a scheduling pass: fail the queued jobs whose dependency broke. */
void fl_queue_fail_broken(fl_daemon *d);
/* May this queued job start now (as far as its dependency goes)? */
bool fl_queue_ready(fl_daemon *d, const fl_job *job);
/* submit's "group" (issue 15): "new", or a group that exists, is the
 * submitter's and has room. Replies with the error and returns false
 * otherwise. */
bool fl_group_join_ok(struct fl_client *c, const fl_request *r);
/* group: a sweep's jobs with their grid points, final metrics and
 * verdicts (owner or root only). */
void fl_on_group(struct fl_client *c, const fl_request *r);

/* ---- retention.c ---- */
/* Delete a finished job: its folder, and each of its blobs that no other
 * job of its owner names; the owner's storage use goes down by what was
 * deleted. The job leaves d->jobs (and is freed once no replay reads it).
 * Queued jobs that were --after it: satisfied if it was done. */
int fl_job_remove(fl_daemon *d, fl_job *job, fl_error *err);
/* Start the periodic retention sweep (and run one now). */
void fl_retention_start(fl_daemon *d);
/* One sweep: finished jobs and unused uploads older than retention_days. */
void fl_retention_sweep(fl_daemon *d);
/* Free removed jobs no replay reads any more (all of them with force). */
void fl_jobs_reap(fl_daemon *d, bool force);

#endif
