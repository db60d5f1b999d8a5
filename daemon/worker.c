/* daemon/worker.c — one thread per OpenCL device. The thread opens its
 * device once (context, queue, built programs stay warm for the daemon's
 * life) and then runs the jobs the loop hands it, one at a time: spec and
 * blobs -> datasets -> trainer (resumed from the job's checkpoint when there
 * is one) -> epochs, each logged, checkpointed and posted to the loop.
 *
 * A job whose state cannot be written (its log, checkpoint or model: a
 * full disk) fails with the reason, naming the file and the system's
 * error; it never ends `done` without its model. The end itself (job.json,
 * then the end line) is written by the loop (fl_job_finish). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon.h"
#include "flatline/job.h"
#include "fsutil.h"
#include "job_data.h"
#include "job_hooks.h"
#include "predict.h"
#include "flatline/common.h"
#include "tuning.h"

/* Spec paths resolve to the submitter's blobs, never to client paths. */
typedef struct {
  fl_daemon *d;
  fl_job *job;
} blob_resolver;

static int resolve_blob(void *ctx, const char *spec_path, char *out,
                        size_t out_size, fl_error *err) {
  blob_resolver *r = ctx;
  for (int i = 0; i < r->job->n_files; i++)
    if (strcmp(r->job->files[i].path, spec_path) == 0) {
      if (fl_blob_path(r->d, r->job->uid, r->job->files[i].sha256, out, out_size))
        return fl_error_set(err, FL_ETOOBIG, "%s: blob path too long", spec_path);
      return 0;
    }
  return fl_error_set(err, FL_ENOTFOUND, "%s: no uploaded file for this path",
                      spec_path);
}

void fl_daemon_post(fl_daemon *d, fl_mail *mail) {
  pthread_mutex_lock(&d->mail_lock);
  mail->next = NULL;
  if (d->mail_tail) d->mail_tail->next = mail;
  else d->mail_head = mail;
  d->mail_tail = mail;
  pthread_mutex_unlock(&d->mail_lock);
  uv_async_send(&d->mailbox);
}

static void post_event(fl_daemon *d, fl_job *job, long seq, char *text,
                       int epoch) {
  fl_mail *m = calloc(1, sizeof *m);
  if (!m) {
    free(text);
    return;
  }
  m->kind = FL_MAIL_EVENT;
  m->job = job;
  m->seq = seq;
  m->text = text;
  m->epoch = epoch;
  fl_daemon_post(d, m);
}

static void post_finished(fl_daemon *d, fl_job *job, fl_job_state state,
                          bool interrupted, const char *cause,
                          const char *message, int epoch) {
  fl_mail *m = calloc(1, sizeof *m);
  if (!m) return; /* the loop would never learn: see fl_workers_stop */
  m->kind = FL_MAIL_FINISHED;
  m->job = job;
  m->state = state;
  m->interrupted = interrupted;
  m->epoch = epoch;
  snprintf(m->cause, sizeof m->cause, "%s", cause ? cause : "");
  snprintf(m->message, sizeof m->message, "%s", message ? message : "");
  fl_daemon_post(d, m);
}

/* Tell the loop the job is over; it saves the final state and logs and
 * sends the end event (fl_job_finish). */
static void finish(fl_daemon *d, fl_job *job, fl_job_state state,
                   const char *cause, const char *message, int epoch) {
  fl_job_diagnosis_state_remove(job->dir); /* nothing resumes the job now */
  post_finished(d, job, state, false, cause, message, epoch);
}

typedef struct {
  fl_daemon *d;
  fl_job *job;
  /* What the log held when the job started: after a resume, epochs up to
   * facts.last_epoch are recomputed identically but not logged or sent
   * again, nor a preflight or verdict line a second time. */
  fl_job_log_facts facts;
  /* The first write of the job's state that failed: the job stops and
   * fails with this reason. Worker only. */
  bool state_failed;
  char reason[FL_ERRMSG_MAX];
  /* "init_from": the source job's trained parameters, set into the new
   * trainer before its checkpoint (if any) is loaded. */
  float *init_params;
  size_t n_init;
  /* For the model's metadata: the preprocessing the job applied. */
  const fl_job_spec *spec;
  const fl_dataset *train;
} hooks_ctx;

/* A write of the job's state (file: its name in the job's folder) failed
 * with the system error e (0: not a system error; detail says what). */
static void state_write_failed(hooks_ctx *p, const char *file, int e,
                               const char *detail) {
  if (strcmp(file, "events.jsonl") != 0) /* fl_job_log_event said it */
    fl_log(FL_LOG_ERR, "job %s: cannot save %s: %s", p->job->id, file,
           e ? strerror(e) : detail);
  if (p->state_failed) return; /* the first failure is the reason */
  p->state_failed = true;
  if (e == ENOSPC || e == EDQUOT)
    snprintf(p->reason, sizeof p->reason, "cannot save %s: %s; free space in %s "
             "(the daemon's state dir) and submit the job again", file,
             strerror(e), p->d->state_dir);
  else
    snprintf(p->reason, sizeof p->reason, "cannot save %s: %s; check %s (the "
             "daemon's state dir: permissions, disk) and submit the job again",
             file, e ? strerror(e) : detail, p->d->state_dir);
}

static int on_progress(void *ctx, int epoch, size_t step, size_t steps) {
  hooks_ctx *p = ctx;
  if (atomic_load(&p->job->cancel)) fl_fault_crash_point(FL_FAULT_CANCEL_SEEN);
  if (atomic_load(&p->job->cancel) || atomic_load(&p->d->stopping) || p->state_failed)
    return 1;
  char *text = fl_event_progress(p->job->id, epoch, step, steps);
  if (text) post_event(p->d, p->job, -1, text, 0);
  return 0;
}

static bool is_cancelled(void *ctx) {
  hooks_ctx *p = ctx;
  return atomic_load(&p->job->cancel);
}

/* Every event but progress goes to the log first, then to the followers;
 * one the log cannot take still goes to them, unlogged, and fails the
 * job. */
static void on_event(void *ctx, const char *json, const fl_epoch_metrics *m) {
  hooks_ctx *p = ctx;
  const char *again = fl_job_event_logged_before(&p->facts, json);
  if (again) {
    fl_log(FL_LOG_INFO, "job %s: its %s is in the log from before the restart; "
           "not logged again", p->job->id, again);
    return;
  }
  bool verdict = fl_event_is(json, FL_EVENT_VERDICT);
  char *copy = strdup(json);
  if (!copy) return;
  long seq = fl_job_log_event(p->job, copy);
  if (seq < 0) state_write_failed(p, "events.jsonl", errno, "unknown error");
  post_event(p->d, p->job, seq, copy, m ? m->epoch : 0);
  if (seq >= 0 && m) fl_fault_crash_point(FL_FAULT_EPOCH_LOGGED);
  if (seq >= 0 && verdict) fl_fault_crash_point(FL_FAULT_VERDICT_LOGGED);
}

/* The checkpoint follows the epoch's log line (job_hooks.h). A job whose
 * state already failed writes no more of it: a checkpoint past a line the
 * log lacks would lose that line for good. */
static void on_epoch_done(void *ctx, fl_trainer *t) {
  hooks_ctx *p = ctx;
  if (p->state_failed) return;
  fl_error err = {0};
  int e = 0;
  if (fl_job_checkpoint_write(p->job->dir, t, &e, &err))
    state_write_failed(p, FL_CHECKPOINT_FILE, e, err.msg);
}

static int on_resume(void *ctx, fl_trainer *t) {
  hooks_ctx *p = ctx;
  fl_error err = {0};
  /* Sizes were checked against the spec and the data (load_init_from). */
  if (p->init_params &&
      fl_trainer_set_params(t, p->init_params, p->n_init, &err) != 0)
    fl_log(FL_LOG_ERR, "job %s: cannot start from its init_from weights: %s",
           p->job->id, err.msg);
  int at = 0;
  switch (fl_job_checkpoint_resume(p->job->dir, t, p->facts.last_epoch, &at, &err)) {
  case FL_RESUME_NONE:
    break;
  case FL_RESUME_UNUSABLE:
    fl_log(FL_LOG_WARNING, "job %s: checkpoint unusable (%s); starting over",
           p->job->id, err.msg);
    break;
  case FL_RESUME_AFTER:
    fl_log(FL_LOG_INFO, "job %s: resuming after epoch %d", p->job->id, at);
    break;
  case FL_RESUME_AHEAD:
    fl_log(FL_LOG_WARNING, "job %s: its checkpoint (epoch %d) is ahead of its "
           "log (epoch %d); starting over so that no epoch goes unlogged",
           p->job->id, at, p->facts.last_epoch);
    break;
  case FL_RESUME_AHEAD_KEPT: /* cannot go back: the epochs in between stay unlogged */
    fl_log(FL_LOG_WARNING, "job %s: its checkpoint (epoch %d) is ahead of its "
           "log (epoch %d), and the job cannot start over; the epochs in "
           "between are not in its log", p->job->id, at, p->facts.last_epoch);
    break;
  }
  return p->facts.last_epoch;
}

static void on_save_state(void *ctx, const char *json) {
  hooks_ctx *p = ctx;
  fl_error err = {0};
  int e = 0;
  /* Not a failure of the job: without it a resumed job diagnoses again. */
  if (fl_job_file_write(p->job->dir, FL_DIAGNOSIS_STATE_FILE, json, strlen(json), &e, &err))
    fl_log(FL_LOG_WARNING, "job %s: cannot save its diagnosis state: %s", p->job->id,
           err.msg);
}

static char *on_load_state(void *ctx) {
  hooks_ctx *p = ctx;
  return fl_job_diagnosis_state_read(p->job->dir);
}

static void on_finished(void *ctx, fl_trainer *t) {
  hooks_ctx *p = ctx;
  if (p->state_failed) return;
  fl_error err = {0};
  int e = 0;
  if (fl_job_model_write(p->job->dir, t, p->spec, p->train, &e, &err))
    state_write_failed(p, FL_MODEL_FILE, e, err.msg);
  else
    fl_fault_crash_point(FL_FAULT_MODEL_SAVED);
}

static fl_job_state state_of(const char *name) {
  if (strcmp(name, "done") == 0) return FL_JOB_DONE;
  if (strcmp(name, "cancelled") == 0) return FL_JOB_CANCELLED;
  if (strcmp(name, "rejected") == 0) return FL_JOB_REJECTED;
  return FL_JOB_FAILED;
}

/* "init_from": the source job's model, checked against this job's spec
 * on the data it loaded (the layers were checked at submit). */
static int load_init_from(fl_daemon *d, const fl_job_spec *spec,
                          const fl_dataset *train, hooks_ctx *hc, fl_error *err) {
  char path[4200];
  size_t in = 0;
  snprintf(path, sizeof path, "%s/jobs/%s/model.safetensors", d->state_dir,
           spec->init_from);
  int rc = fl_model_read_params(path, &hc->init_params, &hc->n_init, &in,
                                NULL, NULL, NULL, NULL, err);
  if (rc) {
    fl_error_prefix(err, "init_from %s", spec->init_from);
    return rc;
  }
  if (in != train->d || hc->n_init != fl_model_param_count(spec, train->d))
    return fl_error_set(err, FL_ESPEC, "init_from: job %s's model takes %zu "
                        "features per row, this job's data has %zu; "
                        "fine-tuning needs data of the same width",
                        spec->init_from, in, train->d);
  return 0;
}

static void run_job(fl_worker *w, fl_device *dev, fl_job *job) {
  fl_daemon *d = w->d;
  fl_error err = {0};
  fl_job_spec spec;
  memset(&spec, 0, sizeof spec);
  fl_dataset train = {0}, val = {0};
  bool has_val = false;
  char *text = NULL;
  size_t len = 0;
  int rc;
  /* Jobs wait for the data budget as long as it takes (or a stop). */
  fl_load_opts load = {.read_flags = FL_READ_NOFOLLOW, .budget = &d->mem,
                       .stop = &d->stopping, .max_wait_s = -1};

  if ((rc = fl_job_read_spec(job, &text, &len, &err)) ||
      (rc = fl_spec_parse(text, len, &spec, &err))) {
    finish(d, job, FL_JOB_REJECTED, NULL, err.msg, 0);
    goto out;
  }
  blob_resolver res = {d, job};
  for (int i = 0; i < job->n_files && !rc; i++)
    rc = fl_blob_verify(d, job->uid, job->files[i].sha256, job->files[i].path, &err);
  if (!rc)
    rc = fl_job_load_data_ex(&spec, resolve_blob, &res, &load, &train, &val,
                             &has_val, &err);
  if (rc == FL_ECANCELED && atomic_load(&d->stopping)) {
    /* Stopped while waiting for memory: it starts again next time, from
     * the epoch it had reached (the loop does not change it meanwhile). */
    post_finished(d, job, FL_JOB_QUEUED, true, NULL, NULL, job->epoch);
    goto out;
  }
  if (rc) {
    finish(d, job, FL_JOB_REJECTED, fl_cause_of_error(rc), err.msg, 0);
    goto out;
  }
  hooks_ctx hc = {.d = d, .job = job, .spec = &spec, .train = &train};
  if (spec.init_from[0] && (rc = load_init_from(d, &spec, &train, &hc, &err))) {
    finish(d, job, FL_JOB_REJECTED, NULL, err.msg, 0);
    free(hc.init_params);
    goto out;
  }
  fl_job_log_facts_read(job, &hc.facts);
  fl_job_hooks hooks = {.ctx = &hc, .event = on_event, .progress = on_progress,
                        .resume = on_resume, .epoch_done = on_epoch_done,
                        .finished = on_finished, .save_state = on_save_state,
                        .load_state = on_load_state};
  fl_job_outcome o;
  fl_job_execute(dev, job->id, &spec, text, &train, has_val ? &val : NULL, &hooks,
                 is_cancelled, &o);
  free(hc.init_params);
  bool cancelled = !o.interrupted && strcmp(o.state, "cancelled") == 0;
  if (hc.state_failed && !cancelled) {
    /* Whatever the training did: its state is not on disk. */
    finish(d, job, FL_JOB_FAILED, NULL, hc.reason, o.epochs);
  } else if (o.interrupted) {
    fl_log(FL_LOG_NOTICE, "job %s: stopped during epoch %d; it resumes from "
           "epoch %d at the next start", job->id, o.epochs + 1, o.epochs);
    post_finished(d, job, FL_JOB_QUEUED, true, NULL, NULL, o.epochs);
  } else {
    finish(d, job, state_of(o.state), o.cause[0] ? o.cause : NULL,
           o.message[0] ? o.message : NULL, o.epochs);
  }
out:
  fl_dataset_free(&train);
  if (has_val) fl_dataset_free(&val);
  fl_mem_release(&d->mem, load.held);
  fl_spec_free(&spec);
  free(text);
}

static void *worker_main(void *arg) {
  fl_worker *w = arg;
  fl_device *dev = NULL;
  fl_error err = {0};
  if (fl_device_open(w->index, &dev, &err) != 0) {
    fl_log(FL_LOG_ERR, "device %d (%s) unusable: %s", w->index, w->info.name, err.msg);
    pthread_mutex_lock(&w->lock);
    w->open_failed = true;
    snprintf(w->open_error, sizeof w->open_error, "%s", err.msg);
    pthread_mutex_unlock(&w->lock);
  } else {
    fl_device_limit_memory(dev, w->info.global_mem); /* a CPU's share of RAM */
    fl_log(FL_LOG_INFO, "device %d ready: %s (%s)", w->index, w->info.name,
           w->info.platform);
    /* GEMM tuning: saved, or searched now (seconds, once per device and
     * driver); a job handed over meanwhile waits in the slot. */
    fl_tuning_prepare_device(w->d->cache_dir, dev, w->index, w->autotune,
                             &w->d->stopping);
    /* After tuning: the warm-up compiles the kernels of the final plan. */
    if (fl_device_warm_up(dev, &err))
      fl_log(FL_LOG_WARNING, "device %d: warm-up failed, kernels compile on "
             "first use: %s", w->index, err.msg);
    else
      fl_log(FL_LOG_INFO, "device %d warm: kernels compiled", w->index);
  }
  for (;;) {
    pthread_mutex_lock(&w->lock);
    while (!w->job && !w->tasks && !w->quit) pthread_cond_wait(&w->wake, &w->lock);
    fl_predict_task *task = w->tasks; /* short: before a job that waits */
    if (task) w->tasks = fl_predict_task_next(task);
    fl_job *job = task ? NULL : w->job;
    if (!task) w->job = NULL; /* taken: the loop may hand over the next one */
    pthread_mutex_unlock(&w->lock);
    if (task) {
      fl_predict_run(dev, task);
      continue;
    }
    if (!job) break; /* quit */
    if (dev) run_job(w, dev, job);
    else finish(w->d, job, FL_JOB_FAILED, NULL, w->open_error, 0);
  }
  fl_device_close(dev);
  return NULL;
}

int fl_workers_start(fl_daemon *d, fl_error *err) {
  fl_device_info infos[FL_MAX_DEVICES];
  int n = fl_devices_list(infos, FL_MAX_DEVICES, err);
  if (n < 0) return n;
  if (n == 0)
    return fl_error_set(err, FL_ENODEV, "no OpenCL device found; install a "
                        "driver (apt-get install pocl-opencl-icd for the CPU) "
                        "and check with clinfo -l");
  d->workers = calloc((size_t)n, sizeof *d->workers);
  if (!d->workers) return fl_error_set(err, FL_ENOMEM, "out of memory");
  for (int i = 0; i < n; i++) {
    fl_worker *w = &d->workers[i];
    w->d = d;
    w->index = i;
    w->info = infos[i];
    fl_device_info_cap(&w->info, d->limits.cpu_memory_percent);
    w->autotune = d->limits.autotune;
    pthread_mutex_init(&w->lock, NULL);
    pthread_cond_init(&w->wake, NULL);
    if (pthread_create(&w->thread, NULL, worker_main, w) != 0)
      return fl_error_set(err, FL_ENOMEM, "cannot start the worker thread for device %d", i);
    d->n_workers = i + 1;
  }
  return 0;
}

void fl_worker_assign(fl_worker *w, fl_job *job) {
  w->busy = true;
  pthread_mutex_lock(&w->lock);
  w->job = job;
  pthread_cond_signal(&w->wake);
  pthread_mutex_unlock(&w->lock);
}

bool fl_worker_idle(fl_worker *w) {
  /* A device that failed to open still takes jobs: it fails them at once
   * with the reason, rather than leaving them queued forever. */
  return !w->busy;
}

bool fl_workers_all_idle(fl_daemon *d) {
  for (int i = 0; i < d->n_workers; i++)
    if (d->workers[i].busy) return false;
  return true;
}

void fl_workers_stop(fl_daemon *d) {
  atomic_store(&d->stopping, true);
  for (int i = 0; i < d->n_workers; i++) {
    fl_worker *w = &d->workers[i];
    pthread_mutex_lock(&w->lock);
    w->quit = true;
    pthread_cond_signal(&w->wake);
    pthread_mutex_unlock(&w->lock);
  }
  for (int i = 0; i < d->n_workers; i++) {
    pthread_join(d->workers[i].thread, NULL);
    pthread_mutex_destroy(&d->workers[i].lock);
    pthread_cond_destroy(&d->workers[i].wake);
  }
  free(d->workers);
  d->workers = NULL;
  d->n_workers = 0;
}
