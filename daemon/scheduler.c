/* daemon/scheduler.c — which queued job runs next, and where. Users take
 * turns (round-robin by uid, starting after the user served last), so one
 * user's hundred jobs do not starve another's one; within a user, jobs run
 * by priority (submit --priority, higher first), then in submission order;
 * a job submitted --after another waits until that one is done, and fails
 * when it cannot be (queue.c). A job naming a device waits for that
 * device; an
 * `auto` job goes to the idle device with the fewest jobs waiting for it,
 * GPUs first, among those whose memory can hold its data. */
#include <string.h>

#include "daemon.h"
#include "queue.h"
#include "flatline/common.h"

/* Which device a job may run on: -1 any (auto), else the index. */
static int wanted_device(fl_daemon *d, const fl_job *job) {
  if (!job->device_want[0] || strcmp(job->device_want, "auto") == 0) return -1;
  fl_device_info infos[FL_MAX_DEVICES];
  for (int i = 0; i < d->n_workers; i++) infos[i] = d->workers[i].info;
  int idx;
  if (fl_device_resolve(infos, d->n_workers, job->device_want, &idx, NULL) != 0)
    return -2; /* names no device here: reported at submit; never placed */
  return idx;
}

/* Data held as float32 may be 4x its file (uint8 images). */
static bool fits(const fl_worker *w, const fl_job *job) {
  return job->data_bytes * 4 < w->info.global_mem;
}

static int waiting_for(fl_daemon *d, int device) {
  int n = 0;
  for (fl_job *j = d->jobs; j; j = j->next)
    n += j->state == FL_JOB_QUEUED && wanted_device(d, j) == device;
  return n;
}

/* The best idle device for a job, or -1. */
static int place(fl_daemon *d, const fl_job *job) {
  int want = wanted_device(d, job);
  if (want >= 0) return fl_worker_idle(&d->workers[want]) ? want : -1;
  if (want == -2) return -1;
  int best = -1, best_wait = 0;
  for (int i = 0; i < d->n_workers; i++) {
    fl_worker *w = &d->workers[i];
    if (!fl_worker_idle(w) || !fits(w, job)) continue;
    int wait = waiting_for(d, i);
    bool better = best < 0 ||
                  (w->info.is_gpu && !d->workers[best].info.is_gpu) ||
                  (w->info.is_gpu == d->workers[best].info.is_gpu && wait < best_wait);
    if (better) best = i, best_wait = wait;
  }
  return best;
}

/* The next job to run: the first placeable, ready queued job (by
 * priority, then submission order) of the user whose uid comes next after
 * the one served last, wrapping. */
static fl_job *next_in_turn(fl_daemon *d) {
  fl_job *best = NULL;
  bool best_wraps = false;
  for (fl_job *j = d->jobs; j; j = j->next) {
    if (j->state != FL_JOB_QUEUED || !fl_queue_ready(d, j) || place(d, j) < 0) continue;
    bool wraps = d->has_last_served && j->uid <= d->last_served_uid;
    if (!best || wraps < best_wraps || (wraps == best_wraps && j->uid < best->uid) ||
        (wraps == best_wraps && j->uid == best->uid && fl_queue_before(j, best))) {
      best = j;
      best_wraps = wraps;
    }
  }
  return best;
}

void fl_schedule(fl_daemon *d) {
  if (d->shutting_down) return;
  fl_queue_fail_broken(d);
  for (;;) {
    fl_job *job = next_in_turn(d);
    if (!job) break;
    int dev = place(d, job);
    if (dev < 0) break;
    job->state = FL_JOB_RUNNING;
    job->device = dev;
    if (job->started <= 0) job->started = fl_daemon_now(d); /* not a resume */
    atomic_store(&job->cancel, false);
    fl_error err = {0};
    if (fl_job_save(d, job, &err)) fl_log(FL_LOG_ERR, "job %s: %s", job->id, err.msg);
    d->last_served_uid = job->uid;
    d->has_last_served = true;
    fl_log(FL_LOG_INFO, "job %s (%s, uid %u) starts on device %d", job->id,
           job->name, (unsigned)job->uid, dev);
    fl_worker_assign(&d->workers[dev], job);
  }
  fl_daemon_update_status(d);
}
