/* daemon/jobdir.c — the foreground runner's job folder (--job-dir): opens
 * or creates it, writes the job's files with the service's writers
 * (fl_job_save, fl_job_log_event, fl_job_end_event in jobs.c) in the
 * service's order, and resumes a job from it.
 *
 * The hooks are the service's worker's (worker.c) for one job without a
 * daemon, and share its folder work (job_hooks.c): every event goes to
 * the log before it is printed; the epoch's checkpoint follows its log
 * line, so a kill -9 between the two re-runs the epoch, which gives the same line, which is then not logged twice (the
 * resume hook returns the epochs the log holds); a checkpoint ahead of the
 * log is not used. A torn last line (a kill -9 mid-append) is cut off at
 * open, as the service does at load. Signals only set flags: the job
 * stops at its next progress call (about a second), saves its diagnosis
 * state and leaves the checkpoint of its last whole epoch. */
#define _GNU_SOURCE /* memrchr */
#include "jobdir.h"

#include <dirent.h>
#include <errno.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "daemon.h"
#include "fsutil.h"
#include "job_hooks.h"

#define LOG_MAX ((size_t)1 << 30)
#define END_LINE_PREFIX "{\"event\":\"" FL_EVENT_END "\""

static volatile sig_atomic_t stop_requested, cancel_requested;

void fl_jobdir_signal_stop(void) { stop_requested = 1; }
void fl_jobdir_signal_cancel(void) { cancel_requested = 1; }

struct fl_jobdir {
  fl_job job; /* the service's record of a job: its writers take it */
  fl_job_log_facts facts; /* what the log held at open */
  bool state_failed;      /* a write of the job's state failed */
  char reason[FL_ERRMSG_MAX];
  char *end_line;         /* an ended job's end line, as logged */
  void (*print)(void *ctx, const char *json, const fl_epoch_metrics *m);
  void *print_ctx;
  const fl_job_spec *spec; /* for the model's metadata */
  const fl_dataset *train;
};

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void path_of(const fl_jobdir *jd, const char *name, char *out, size_t size) {
  snprintf(out, size, "%s/%s", jd->job.dir, name);
}

/* Temp files of atomic writes a kill -9 interrupted. */
static void remove_orphan_temps(const char *dir) {
  DIR *d = opendir(dir);
  if (!d) return;
  struct dirent *de;
  while ((de = readdir(d))) {
    if (!fl_is_orphan_temp(de->d_name)) continue;
    char path[4400];
    snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
    unlink(path);
  }
  closedir(d);
}

/* Cut a torn last line off the log; keep the end line if there is one. */
static int repair_log(fl_jobdir *jd, fl_error *err) {
  char path[4200], *text = NULL;
  size_t len = 0;
  path_of(jd, "events.jsonl", path, sizeof path);
  fl_error rerr = {0};
  if (fl_read_small(path, LOG_MAX, &text, &len, &rerr) != 0)
    return rerr.code == FL_ENOTFOUND ? 0 : fl_error_set(err, rerr.code, "%s", rerr.msg);
  const char *last_nl = len ? memrchr(text, '\n', len) : NULL;
  size_t whole = last_nl ? (size_t)(last_nl - text) + 1 : 0;
  if (whole < len && truncate(path, (off_t)whole) != 0) {
    int e = errno;
    free(text);
    return fl_error_set(err, FL_EIO, "cannot cut a torn last line off %s: %s", path,
                        strerror(e));
  }
  if (whole < len)
    fprintf(stderr, "flatlined: cut a torn last line (%zu bytes) off %s\n", len - whole, path);
  long lines = 0;
  for (const char *line = text; line < text + whole;) {
    const char *nl = memchr(line, '\n', (size_t)(text + whole - line));
    size_t n = (size_t)(nl - line);
    lines++;
    if (n >= sizeof END_LINE_PREFIX - 1 &&
        strncmp(line, END_LINE_PREFIX, sizeof END_LINE_PREFIX - 1) == 0 &&
        fl_event_line_valid(line, n)) {
      free(jd->end_line);
      jd->end_line = strndup(line, n);
      jd->job.end_logged = true;
    }
    if (fl_event_line_valid(line, n)) fl_job_note_event(&jd->job, line);
    line = nl + 1;
  }
  jd->job.next_seq = lines;
  free(text);
  return 0;
}

static fl_job_state state_named(const char *s) {
  static const fl_job_state all[] = {FL_JOB_QUEUED, FL_JOB_RUNNING, FL_JOB_DONE,
                                     FL_JOB_FAILED, FL_JOB_CANCELLED, FL_JOB_REJECTED};
  for (size_t i = 0; s && i < sizeof all / sizeof *all; i++)
    if (strcmp(s, fl_job_state_name(all[i])) == 0) return all[i];
  return FL_JOB_QUEUED;
}

/* job.json of an earlier start (or written by `flatline submit --slurm`):
 * when it was submitted and started, and whether it ended. */
static void read_job_json(fl_jobdir *jd) {
  char path[4200], *text = NULL;
  size_t len = 0;
  path_of(jd, "job.json", path, sizeof path);
  if (fl_read_small(path, 1 << 20, &text, &len, NULL) != 0) return;
  fl_json *o = fl_json_parse(text, len, NULL);
  free(text);
  if (!o) return;
  double v = 0;
  if (fl_json_number(fl_json_get(o, "submitted"), &v) && v > 0) jd->job.submitted = v;
  v = 0;
  if (fl_json_number(fl_json_get(o, "started"), &v) && v > 0) jd->job.started = v;
  v = 0;
  if (fl_json_number(fl_json_get(o, "ended"), &v) && v > 0) jd->job.ended = v;
  jd->job.state = state_named(fl_json_string(fl_json_get(o, "state")));
  const char *cause = fl_json_string(fl_json_get(o, "cause"));
  const char *msg = fl_json_string(fl_json_get(o, "message"));
  snprintf(jd->job.cause, sizeof jd->job.cause, "%s", cause ? cause : "");
  snprintf(jd->job.message, sizeof jd->job.message, "%s", msg ? msg : "");
  /* A Slurm array task's sweep group and grid point, kept as job.json
   * is saved again (fl_job_save writes them). */
  const char *group = fl_json_string(fl_json_get(o, "group"));
  if (group && strlen(group) < sizeof jd->job.group)
    snprintf(jd->job.group, sizeof jd->job.group, "%s", group);
  const fl_json *sweep = fl_json_get(o, "sweep");
  if (sweep && !fl_json_is_null(sweep)) {
    free(jd->job.sweep);
    jd->job.sweep = fl_json_print(sweep);
  }
  fl_json_free(o);
}

/* The spec a folder was started with must be the one given now. */
static int check_spec(fl_jobdir *jd, const char *spec_text, size_t spec_len, fl_error *err) {
  char path[4200], *had = NULL;
  size_t len = 0;
  path_of(jd, "spec.json", path, sizeof path);
  fl_error rerr = {0};
  int rc = fl_read_small(path, FL_SPEC_MAX_BYTES, &had, &len, &rerr);
  if (rc == 0) {
    bool same = len == spec_len && memcmp(had, spec_text, len) == 0;
    free(had);
    if (!same)
      return fl_error_set(err, FL_EINVAL, "%s holds the spec of another job (%s); "
                          "a job folder resumes the job it started: give that "
                          "spec, or a new --job-dir", jd->job.dir, path);
    return 0;
  }
  if (rerr.code != FL_ENOTFOUND) return fl_error_set(err, rerr.code, "%s", rerr.msg);
  return fl_write_atomic(path, spec_text, spec_len, err);
}

int fl_jobdir_open(const char *dir, const char *job_id, const char *spec_text,
                   size_t spec_len, const fl_job_spec *spec, fl_jobdir **out,
                   fl_jobdir_status *status, fl_error *err) {
  memset(status, 0, sizeof *status);
  *out = NULL;
  if (strlen(dir) >= sizeof ((fl_job *)0)->dir - 64)
    return fl_error_set(err, FL_ETOOBIG, "--job-dir: the path is too long");
  /* 0700: the job's data, spec and model are its owner's alone. */
  if (mkdir(dir, 0700) != 0 && errno != EEXIST)
    return fl_error_set(err, FL_EIO, "cannot create the job folder %s: %s%s", dir,
                        strerror(errno),
                        errno == ENOENT ? " (its parent folder must exist)" : "");
  struct stat st;
  if (lstat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
    return fl_error_set(err, FL_EINVAL, "--job-dir %s is not a folder%s", dir,
                        S_ISLNK(st.st_mode) ? " (a symbolic link: give the real path)" : "");
  if (st.st_uid != getuid())
    return fl_error_set(err, FL_EPERM, "--job-dir %s belongs to uid %u, not to you",
                        dir, (unsigned)st.st_uid);
  fl_jobdir *jd = calloc(1, sizeof *jd);
  if (!jd) return fl_error_set(err, FL_ENOMEM, "out of memory");
  fl_job *job = &jd->job;
  pthread_mutex_init(&job->log_lock, NULL);
  snprintf(job->id, sizeof job->id, "%s", job_id);
  snprintf(job->dir, sizeof job->dir, "%s", dir);
  job->uid = getuid();
  job->gid = getgid();
  struct passwd *pw = getpwuid(job->uid);
  if (pw) snprintf(job->user, sizeof job->user, "%s", pw->pw_name);
  else snprintf(job->user, sizeof job->user, "%u", (unsigned)job->uid);
  snprintf(job->name, sizeof job->name, "%s", spec->name);
  snprintf(job->device_want, sizeof job->device_want, "%s", spec->device);
  job->device = -1;
  job->epochs = spec->epochs;
  job->submitted = now_s();
  int rc;
  if ((rc = check_spec(jd, spec_text, spec_len, err))) goto fail;
  remove_orphan_temps(dir);
  read_job_json(jd);
  if ((rc = repair_log(jd, err))) goto fail;
  fl_job_log_facts_read(job, &jd->facts);
  job->epoch = jd->facts.last_epoch;
  status->resumed_epoch = jd->facts.last_epoch;
  if (jd->end_line || fl_job_state_final(job->state)) {
    /* Ended (a requeue of a finished job, or the same command again):
     * the log's end line wins, as in the service (jobs.c: reconcile). */
    fl_json *end = jd->end_line ? fl_json_parse(jd->end_line, strlen(jd->end_line), NULL) : NULL;
    const char *st_name = end ? fl_json_string(fl_json_get(end, "state")) : NULL;
    const char *cause = end ? fl_json_string(fl_json_get(end, "cause")) : NULL;
    if (end) {
      job->state = state_named(st_name);
      snprintf(job->cause, sizeof job->cause, "%s", cause ? cause : "");
    }
    fl_json_free(end);
    if (!fl_job_state_final(job->state)) job->state = FL_JOB_FAILED;
    status->ended = true;
    snprintf(status->state, sizeof status->state, "%s", fl_job_state_name(job->state));
    snprintf(status->cause, sizeof status->cause, "%s", job->cause);
    *out = jd;
    return 0;
  }
  job->state = FL_JOB_RUNNING;
  job->started = now_s();
  job->cause[0] = job->message[0] = '\0';
  if ((rc = fl_job_save(NULL, job, err))) goto fail;
  *out = jd;
  return 0;
fail:
  fl_jobdir_close(jd);
  return rc;
}

/* ---- the hooks (worker.c's, for one job without a daemon; the folder
 * work is job_hooks.c's) ---- */

static void state_write_failed(fl_jobdir *jd, const char *file, int e, const char *detail) {
  if (jd->state_failed) return; /* the first failure is the reason */
  jd->state_failed = true;
  snprintf(jd->reason, sizeof jd->reason, "cannot save %s in %s: %s; free space "
           "or fix the folder's permissions, then run the same command again to "
           "resume", file, jd->job.dir, e ? strerror(e) : detail);
  fprintf(stderr, "flatlined: %s\n", jd->reason);
}

static void on_event(void *ctx, const char *json, const fl_epoch_metrics *m) {
  fl_jobdir *jd = ctx;
  /* Logged (and printed) before the stop: not again. */
  if (fl_job_event_logged_before(&jd->facts, json)) return;
  if (fl_job_log_event(&jd->job, json) < 0)
    state_write_failed(jd, "events.jsonl", errno, "unknown error");
  if (m) jd->job.epoch = m->epoch;
  if (jd->print) jd->print(jd->print_ctx, json, m);
}

static int on_progress(void *ctx, int epoch, size_t step, size_t steps) {
  (void)epoch, (void)step, (void)steps;
  fl_jobdir *jd = ctx;
  return stop_requested || cancel_requested || jd->state_failed;
}

bool fl_jobdir_cancelled(void *ctx) {
  (void)ctx;
  return cancel_requested != 0;
}

static void on_epoch_done(void *ctx, fl_trainer *t) {
  fl_jobdir *jd = ctx;
  if (jd->state_failed) return; /* a checkpoint past a line the log lacks */
  fl_error err = {0};
  int e = 0;
  if (fl_job_checkpoint_write(jd->job.dir, t, &e, &err))
    state_write_failed(jd, FL_CHECKPOINT_FILE, e, err.msg);
}

static int on_resume(void *ctx, fl_trainer *t) {
  fl_jobdir *jd = ctx;
  fl_error err = {0};
  int at = 0;
  switch (fl_job_checkpoint_resume(jd->job.dir, t, jd->facts.last_epoch, &at, &err)) {
  case FL_RESUME_UNUSABLE:
    fprintf(stderr, "flatlined: %s/%s unusable (%s); starting over\n", jd->job.dir,
            FL_CHECKPOINT_FILE, err.msg);
    break;
  case FL_RESUME_AFTER:
    fprintf(stderr, "flatlined: resuming %s after epoch %d\n", jd->job.dir, at);
    break;
  case FL_RESUME_AHEAD:
    fprintf(stderr, "flatlined: the checkpoint in %s is ahead of its log; starting "
            "over so that no epoch goes unlogged\n", jd->job.dir);
    break;
  case FL_RESUME_NONE:
  case FL_RESUME_AHEAD_KEPT:
    break;
  }
  return jd->facts.last_epoch;
}

static void on_save_state(void *ctx, const char *json) {
  fl_jobdir *jd = ctx;
  fl_error err = {0};
  int e = 0;
  /* Not a failure of the job: without it a resumed job diagnoses again. */
  if (fl_job_file_write(jd->job.dir, FL_DIAGNOSIS_STATE_FILE, json, strlen(json), &e, &err))
    fprintf(stderr, "flatlined: cannot save the diagnosis state: %s\n", err.msg);
}

static char *on_load_state(void *ctx) {
  fl_jobdir *jd = ctx;
  return fl_job_diagnosis_state_read(jd->job.dir);
}

/* The model with the preprocessing a user must repeat
 * (docs/model-format.md), as the service writes it (worker.c). */
static void on_finished(void *ctx, fl_trainer *t) {
  fl_jobdir *jd = ctx;
  if (jd->state_failed) return;
  fl_error err = {0};
  int e = 0;
  if (fl_job_model_write(jd->job.dir, t, jd->spec, jd->train, &e, &err))
    state_write_failed(jd, FL_MODEL_FILE, e, err.msg);
}

void fl_jobdir_hooks(fl_jobdir *jd, fl_job_hooks *h,
                     void (*print)(void *ctx, const char *json, const fl_epoch_metrics *m),
                     void *print_ctx) {
  jd->print = print;
  jd->print_ctx = print_ctx;
  *h = (fl_job_hooks){.ctx = jd, .event = on_event, .progress = on_progress,
                      .resume = on_resume, .epoch_done = on_epoch_done,
                      .finished = on_finished, .save_state = on_save_state,
                      .load_state = on_load_state};
}

void fl_jobdir_set_model_meta(fl_jobdir *jd, const fl_job_spec *spec, const fl_dataset *train) {
  jd->spec = spec;
  jd->train = train;
}

/* ---- the end ---- */

int fl_jobdir_finish(fl_jobdir *jd, fl_job_outcome *o, const char *metrics, fl_error *err) {
  fl_job *job = &jd->job;
  bool cancelled = !o->interrupted && strcmp(o->state, "cancelled") == 0;
  if (o->interrupted && !jd->state_failed) {
    /* Stopped by a signal: queued again, to resume from its checkpoint. */
    job->state = FL_JOB_QUEUED;
    job->epoch = o->epochs;
    return fl_job_save(NULL, job, err);
  }
  if (jd->state_failed && !cancelled) {
    o->state = "failed";
    o->cause[0] = '\0';
    snprintf(o->message, sizeof o->message, "%s", jd->reason);
  }
  job->state = state_named(o->state);
  if (!fl_job_state_final(job->state)) job->state = FL_JOB_FAILED;
  snprintf(job->cause, sizeof job->cause, "%s", o->cause);
  snprintf(job->message, sizeof job->message, "%s", o->message);
  job->epoch = o->epochs > job->epoch ? o->epochs : job->epoch;
  job->ended = now_s();
  free(job->metrics);
  job->metrics = metrics ? strdup(metrics) : NULL;
  /* What only a resume needs goes, as the service deletes it (storage.c). */
  fl_job_diagnosis_state_remove(job->dir);
  char path[4200];
  path_of(jd, FL_CHECKPOINT_FILE, path, sizeof path);
  unlink(path);
  int rc = fl_job_save(NULL, job, err); /* final state first, then the end line */
  char *end = fl_job_end_event(job);
  if (!end || fl_job_log_event(job, end) < 0) {
    if (!rc) rc = fl_error_set(err, FL_EIO, "cannot log the end of the job in %s",
                               job->dir);
  } else {
    free(jd->end_line);
    jd->end_line = end;
    end = NULL;
  }
  free(end);
  return rc;
}

char *fl_jobdir_end_line(const fl_jobdir *jd) {
  return jd->end_line ? strdup(jd->end_line) : NULL;
}

void fl_jobdir_close(fl_jobdir *jd) {
  if (!jd) return;
  pthread_mutex_destroy(&jd->job.log_lock);
  free(jd->job.files);
  free(jd->job.last_epoch);
  free(jd->job.fix);
  free(jd->job.metrics);
  free(jd->job.sweep);
  free(jd->end_line);
  free(jd);
}
