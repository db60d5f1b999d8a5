/* daemon/worker.c — one thread per OpenCL device. The thread opens its
 * device once (context, queue, built programs stay warm for the daemon's
 * life) and then runs the jobs the loop hands it, one at a time: spec and
 * blobs -> datasets -> trainer (resumed from the job's checkpoint when there
 * is one) -> epochs, each logged, checkpointed and posted to the loop. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon.h"
#include "flatline/job.h"
#include "fsutil.h"
#include "job_data.h"
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

/* Log and post the end event, then tell the loop the job is over. */
static void finish(fl_daemon *d, fl_job *job, fl_job_state state,
                   const char *cause, const char *message, int epoch) {
  char *text = fl_event_end(job->id, fl_job_state_name(state), cause, message);
  if (text) {
    long seq = fl_job_log_event(job, text);
    post_event(d, job, seq, text, 0);
  }
  post_finished(d, job, state, false, cause, message, epoch);
}

/* The highest epoch already in the job's log: after a resume, epochs up to
 * it are recomputed identically but not logged or sent again. */
static int last_logged_epoch(fl_job *job) {
  char path[4200], *text = NULL;
  size_t len = 0;
  int last = 0;
  snprintf(path, sizeof path, "%s/events.jsonl", job->dir);
  pthread_mutex_lock(&job->log_lock);
  int rc = fl_read_small(path, (size_t)1 << 30, &text, &len, NULL);
  pthread_mutex_unlock(&job->log_lock);
  if (rc) return 0;
  char *end = strrchr(text, '\n'); /* a torn last line (crash) is not logged */
  if (end) end[1] = '\0';
  else text[0] = '\0';
  for (char *p = strstr(text, "{\"event\":\"epoch\""); p;
       p = strstr(p + 1, "{\"event\":\"epoch\"")) {
    char *e = strstr(p, "\"epoch\":");
    e = e ? strstr(e + 1, "\"epoch\":") : NULL; /* skip "event":"epoch" */
    if (e) {
      int v = atoi(e + strlen("\"epoch\":"));
      if (v > last) last = v;
    }
  }
  free(text);
  return last;
}

typedef struct {
  fl_daemon *d;
  fl_job *job;
  int logged; /* epochs already in the log (a resumed job) */
} hooks_ctx;

static int on_progress(void *ctx, int epoch, size_t step, size_t steps) {
  hooks_ctx *p = ctx;
  if (atomic_load(&p->job->cancel) || atomic_load(&p->d->stopping)) return 1;
  char *text = fl_event_progress(p->job->id, epoch, step, steps);
  if (text) post_event(p->d, p->job, -1, text, 0);
  return 0;
}

static bool is_cancelled(void *ctx) {
  hooks_ctx *p = ctx;
  return atomic_load(&p->job->cancel);
}

/* Every event but progress goes to the log first, then to the followers. */
static void on_event(void *ctx, const char *json, const fl_epoch_metrics *m) {
  hooks_ctx *p = ctx;
  char *copy = strdup(json);
  if (!copy) return;
  long seq = fl_job_log_event(p->job, copy);
  post_event(p->d, p->job, seq, copy, m ? m->epoch : 0);
}

static int write_file(fl_job *job, const char *name, const uint8_t *buf,
                      size_t len, fl_error *err) {
  char path[4200];
  snprintf(path, sizeof path, "%s/%s", job->dir, name);
  return fl_write_atomic(path, buf, len, err);
}

/* The checkpoint follows the epoch's log line: a crash in between re-runs
 * the epoch, which gives the same line, which is then not logged twice. */
static void on_epoch_done(void *ctx, fl_trainer *t) {
  hooks_ctx *p = ctx;
  fl_error err = {0};
  uint8_t *buf = NULL;
  size_t len = 0;
  if (fl_trainer_save_checkpoint(t, &buf, &len, &err) ||
      write_file(p->job, "checkpoint.bin", buf, len, &err))
    fl_log(FL_LOG_ERR, "job %s: checkpoint after epoch %d failed: %s", p->job->id,
           fl_trainer_epoch(t), err.msg);
  free(buf);
}

static int on_resume(void *ctx, fl_trainer *t) {
  hooks_ctx *p = ctx;
  char ckpt[4200], *buf = NULL;
  size_t len = 0;
  fl_error err = {0};
  snprintf(ckpt, sizeof ckpt, "%s/checkpoint.bin", p->job->dir);
  if (fl_read_small(ckpt, (size_t)4 << 30, &buf, &len, NULL) == 0) {
    if (fl_trainer_load_checkpoint(t, (const uint8_t *)buf, len, &err) == 0)
      fl_log(FL_LOG_INFO, "job %s: resuming after epoch %d", p->job->id, fl_trainer_epoch(t));
    else
      fl_log(FL_LOG_WARNING, "job %s: checkpoint unusable (%s); starting over",
             p->job->id, err.msg);
    free(buf);
  }
  return p->logged;
}

static void on_finished(void *ctx, fl_trainer *t) {
  hooks_ctx *p = ctx;
  fl_error err = {0};
  uint8_t *model = NULL;
  size_t len = 0;
  if (fl_trainer_export_safetensors(t, &model, &len, &err) ||
      write_file(p->job, "model.safetensors", model, len, &err))
    fl_log(FL_LOG_ERR, "job %s: saving the model failed: %s", p->job->id, err.msg);
  free(model);
}

static fl_job_state state_of(const char *name) {
  if (strcmp(name, "done") == 0) return FL_JOB_DONE;
  if (strcmp(name, "cancelled") == 0) return FL_JOB_CANCELLED;
  if (strcmp(name, "rejected") == 0) return FL_JOB_REJECTED;
  return FL_JOB_FAILED;
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

  if ((rc = fl_job_read_spec(job, &text, &len, &err)) ||
      (rc = fl_spec_parse(text, len, &spec, &err))) {
    finish(d, job, FL_JOB_REJECTED, NULL, err.msg, 0);
    goto out;
  }
  blob_resolver res = {d, job};
  if ((rc = fl_job_load_data(&spec, resolve_blob, &res, &train, &val, &has_val, &err))) {
    finish(d, job, FL_JOB_REJECTED, fl_cause_of_error(rc), err.msg, 0);
    goto out;
  }
  hooks_ctx hc = {d, job, last_logged_epoch(job)};
  fl_job_hooks hooks = {.ctx = &hc, .event = on_event, .progress = on_progress,
                        .resume = on_resume, .epoch_done = on_epoch_done,
                        .finished = on_finished};
  fl_job_outcome o;
  fl_job_execute(dev, job->id, &spec, text, &train, has_val ? &val : NULL, &hooks,
                 is_cancelled, &o);
  if (o.interrupted) {
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
    while (!w->job && !w->quit) pthread_cond_wait(&w->wake, &w->lock);
    fl_job *job = w->job;
    w->job = NULL; /* taken: the loop may hand over the next one */
    pthread_mutex_unlock(&w->lock);
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
