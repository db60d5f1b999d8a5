/* daemon/jobs.c — the job store: one folder per job under
 * state_dir/jobs/<id> holding spec.json (the submitted text), job.json
 * (metadata, replaced atomically), events.jsonl (the event log, one JSON
 * object a line), checkpoint.bin and model.safetensors (written by the
 * worker). Loading it back after a crash loses nothing: a job that was
 * running is queued again and resumes from its checkpoint. */
#define _GNU_SOURCE /* memrchr */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon.h"
#include "fsutil.h"
#include "flatline/common.h"

static const char *const state_names[] = {"queued", "running", "done",
                                          "failed", "cancelled", "rejected"};

const char *fl_job_state_name(fl_job_state s) { return state_names[s]; }

bool fl_job_state_final(fl_job_state s) {
  return s == FL_JOB_DONE || s == FL_JOB_FAILED || s == FL_JOB_CANCELLED ||
         s == FL_JOB_REJECTED;
}

fl_job *fl_job_new(fl_daemon *d) {
  fl_job *job = calloc(1, sizeof *job);
  if (!job) return NULL;
  pthread_mutex_init(&job->log_lock, NULL);
  job->device = -1;
  job->number = d->next_job_number++;
  snprintf(job->id, sizeof job->id, "j%llu", (unsigned long long)job->number);
  snprintf(job->dir, sizeof job->dir, "%s/jobs/%s", d->state_dir, job->id);
  return job;
}

void fl_job_free(fl_job *job) {
  if (!job) return;
  pthread_mutex_destroy(&job->log_lock);
  free(job->files);
  free(job->last_epoch);
  free(job->fix);
  free(job);
}

void fl_job_note_event(fl_job *job, const char *line) {
  bool diag = strstr(line, "{\"event\":\"diagnosis\"") == line;
  bool pre = strstr(line, "{\"event\":\"preflight\"") == line;
  if (!diag && !pre) return;
  fl_json *ev = fl_json_parse(line, strlen(line), NULL);
  if (!ev) return;
  const fl_json *list = fl_json_get(ev, diag ? "causes" : "findings");
  for (size_t i = 0; i < fl_json_array_size(list); i++) {
    const fl_json *fix = fl_json_get(fl_json_array_at(list, i), "fix");
    if (!fix || fl_json_is_null(fix)) continue;
    free(job->fix);
    job->fix = fl_json_print(fix);
    break;
  }
  fl_json_free(ev);
}

fl_job *fl_job_find(fl_daemon *d, const char *id) {
  for (fl_job *j = d->jobs; j; j = j->next)
    if (strcmp(j->id, id) == 0) return j;
  return NULL;
}

int fl_job_count_queued(const fl_daemon *d, uid_t uid) {
  int n = 0;
  for (const fl_job *j = d->jobs; j; j = j->next)
    n += j->uid == uid && (j->state == FL_JOB_QUEUED || j->state == FL_JOB_RUNNING);
  return n;
}

int fl_job_save(fl_daemon *d, fl_job *job, fl_error *err) {
  (void)d;
  fl_jw w;
  fl_jw_init(&w);
  fl_jw_object_begin(&w, NULL);
  fl_jw_str(&w, "id", job->id);
  fl_jw_int(&w, "number", (long long)job->number);
  fl_jw_int(&w, "uid", job->uid);
  fl_jw_int(&w, "gid", job->gid);
  fl_jw_str(&w, "user", job->user);
  fl_jw_str(&w, "name", job->name);
  fl_jw_str(&w, "state", fl_job_state_name(job->state));
  fl_jw_int(&w, "device", job->device);
  fl_jw_str(&w, "device_want", job->device_want);
  fl_jw_int(&w, "epochs", job->epochs);
  fl_jw_int(&w, "epoch", job->epoch);
  fl_jw_int(&w, "submitted", (long long)job->submitted);
  fl_jw_str(&w, "cause", job->cause[0] ? job->cause : NULL);
  fl_jw_str(&w, "message", job->message[0] ? job->message : NULL);
  fl_jw_int(&w, "data_bytes", (long long)job->data_bytes);
  fl_jw_array_begin(&w, "files");
  for (int i = 0; i < job->n_files; i++) {
    fl_jw_object_begin(&w, NULL);
    fl_jw_str(&w, "path", job->files[i].path);
    fl_jw_str(&w, "sha256", job->files[i].sha256);
    fl_jw_object_end(&w);
  }
  fl_jw_array_end(&w);
  fl_jw_object_end(&w);
  char *text = fl_jw_finish(&w);
  if (!text) return fl_error_set(err, FL_ENOMEM, "out of memory");
  char path[4200];
  snprintf(path, sizeof path, "%s/job.json", job->dir);
  int rc = fl_write_atomic(path, text, strlen(text), err);
  free(text);
  return rc;
}

long fl_job_log_event(fl_job *job, const char *text) {
  char path[4200];
  snprintf(path, sizeof path, "%s/events.jsonl", job->dir);
  fl_error err = {0};
  pthread_mutex_lock(&job->log_lock);
  long seq = -1;
  if (fl_append_line(path, text, &err) == 0) seq = job->next_seq++;
  pthread_mutex_unlock(&job->log_lock);
  if (seq < 0) fl_log(FL_LOG_ERR, "job %s: %s", job->id, err.msg);
  return seq;
}

int fl_job_read_spec(const fl_job *job, char **text, size_t *len,
                     fl_error *err) {
  char path[4200];
  snprintf(path, sizeof path, "%s/spec.json", job->dir);
  return fl_read_small(path, FL_SPEC_MAX_BYTES, text, len, err);
}

static const char *jstr(const fl_json *o, const char *k) {
  const char *s = fl_json_string(fl_json_get(o, k));
  return s ? s : "";
}

static long long jint(const fl_json *o, const char *k) {
  double v = 0;
  fl_json_number(fl_json_get(o, k), &v);
  return (long long)v;
}

static fl_job_state state_from_name(const char *s) {
  for (int i = 0; i < 6; i++)
    if (strcmp(s, state_names[i]) == 0) return (fl_job_state)i;
  return FL_JOB_FAILED;
}

/* Count log lines and keep the last epoch event. */
static void scan_log(fl_job *job) {
  char path[4200], *text = NULL;
  size_t len = 0;
  snprintf(path, sizeof path, "%s/events.jsonl", job->dir);
  if (fl_read_small(path, (size_t)1 << 30, &text, &len, NULL) != 0) return;
  /* A torn last line (a crash mid-write) is cut off, so that the next
   * append starts a clean line. */
  char *last_nl = len ? memrchr(text, '\n', len) : NULL;
  size_t whole = last_nl ? (size_t)(last_nl - text) + 1 : 0;
  if (whole < len && truncate(path, (off_t)whole) != 0)
    fl_log(FL_LOG_WARNING, "job %s: cannot cut a torn event line", job->id);
  len = whole;
  char *line = text;
  while (line < text + len) {
    char *nl = memchr(line, '\n', (size_t)(text + len - line));
    if (!nl) break;
    *nl = '\0';
    job->next_seq++;
    fl_job_note_event(job, line);
    if (strstr(line, "\"event\":\"epoch\"")) {
      free(job->last_epoch);
      job->last_epoch = strdup(line);
    }
    line = nl + 1;
  }
  free(text);
}

static fl_job *load_one(fl_daemon *d, const char *name) {
  char path[4200], *text = NULL;
  size_t len = 0;
  fl_error err = {0};
  snprintf(path, sizeof path, "%s/jobs/%s/job.json", d->state_dir, name);
  if (fl_read_small(path, 1 << 20, &text, &len, &err) != 0) {
    fl_log(FL_LOG_WARNING, "skipping job folder %s: %s", name, err.msg);
    return NULL;
  }
  fl_json *o = fl_json_parse(text, len, &err);
  free(text);
  if (!o) {
    fl_log(FL_LOG_WARNING, "skipping job folder %s: job.json: %s", name, err.msg);
    return NULL;
  }
  fl_job *job = calloc(1, sizeof *job);
  if (!job) {
    fl_json_free(o);
    return NULL;
  }
  pthread_mutex_init(&job->log_lock, NULL);
  snprintf(job->id, sizeof job->id, "%s", jstr(o, "id"));
  job->number = (uint64_t)jint(o, "number");
  job->uid = (uid_t)jint(o, "uid");
  job->gid = (gid_t)jint(o, "gid");
  snprintf(job->user, sizeof job->user, "%s", jstr(o, "user"));
  snprintf(job->name, sizeof job->name, "%s", jstr(o, "name"));
  job->state = state_from_name(jstr(o, "state"));
  job->device = (int)jint(o, "device");
  snprintf(job->device_want, sizeof job->device_want, "%s", jstr(o, "device_want"));
  job->epochs = (int)jint(o, "epochs");
  job->epoch = (int)jint(o, "epoch");
  double sub = 0;
  fl_json_number(fl_json_get(o, "submitted"), &sub);
  job->submitted = sub;
  snprintf(job->cause, sizeof job->cause, "%s", jstr(o, "cause"));
  snprintf(job->message, sizeof job->message, "%s", jstr(o, "message"));
  job->data_bytes = (uint64_t)jint(o, "data_bytes");
  snprintf(job->dir, sizeof job->dir, "%s/jobs/%s", d->state_dir, job->id);
  const fl_json *files = fl_json_get(o, "files");
  size_t nf = fl_json_array_size(files);
  if (nf > FL_MAX_REQUEST_FILES) nf = 0;
  job->files = nf ? calloc(nf, sizeof *job->files) : NULL;
  for (size_t i = 0; job->files && i < nf; i++) {
    const fl_json *f = fl_json_array_at(files, i);
    snprintf(job->files[i].path, sizeof job->files[i].path, "%s", jstr(f, "path"));
    snprintf(job->files[i].sha256, sizeof job->files[i].sha256, "%s", jstr(f, "sha256"));
    job->n_files++;
  }
  fl_json_free(o);
  if (strcmp(job->id, name) != 0) {
    fl_log(FL_LOG_WARNING, "skipping job folder %s: it holds job '%s'", name, job->id);
    fl_job_free(job);
    return NULL;
  }
  scan_log(job);
  return job;
}

static int by_number(const void *a, const void *b) {
  const fl_job *x = *(fl_job *const *)a, *y = *(fl_job *const *)b;
  return x->number < y->number ? -1 : x->number > y->number;
}

int fl_jobs_load(fl_daemon *d, fl_error *err) {
  char path[4200];
  snprintf(path, sizeof path, "%s/jobs", d->state_dir);
  int rc = fl_mkdirs(path, 0750, err);
  if (rc) return rc;
  DIR *dir = opendir(path);
  if (!dir) return fl_error_set(err, FL_EIO, "cannot list %s", path);
  size_t n = 0, cap = 64;
  fl_job **all = malloc(cap * sizeof *all);
  struct dirent *de;
  while (all && (de = readdir(dir))) {
    if (de->d_name[0] != 'j') continue;
    fl_job *job = load_one(d, de->d_name);
    if (!job) continue;
    if (n == cap) {
      fl_job **na = realloc(all, (cap *= 2) * sizeof *all);
      if (!na) {
        fl_job_free(job);
        break;
      }
      all = na;
    }
    all[n++] = job;
  }
  closedir(dir);
  if (!all) return fl_error_set(err, FL_ENOMEM, "out of memory");
  qsort(all, n, sizeof *all, by_number);
  fl_job **tail = &d->jobs;
  int resumed = 0, queued = 0;
  for (size_t i = 0; i < n; i++) {
    fl_job *job = all[i];
    if (job->number >= d->next_job_number) d->next_job_number = job->number + 1;
    if (job->state == FL_JOB_RUNNING) {
      /* The daemon stopped (or died) under it: run it again from its last
       * checkpoint. */
      job->state = FL_JOB_QUEUED;
      resumed++;
    }
    queued += job->state == FL_JOB_QUEUED;
    *tail = job;
    tail = &job->next;
  }
  free(all);
  fl_log(FL_LOG_INFO, "job store %s: %zu jobs, %d queued (%d to resume)", path,
         n, queued, resumed);
  return 0;
}
