/* daemon/jobs.c — the job store: one folder per job under
 * state_dir/jobs/<id> holding spec.json (the submitted text), job.json
 * (metadata, replaced atomically), events.jsonl (the event log, one JSON
 * object a line), checkpoint.bin and model.safetensors (written by the
 * worker); and the two writes that end a job (its final state, its end
 * line) and a cancel request.
 *
 * Loading it back after a crash loses nothing and revives nothing. The
 * writes are ordered so that every crash point leaves a state the load
 * makes whole again:
 * - a job ends with job.json's final state first, then the end line: a
 *   job.json that is final without an end line gets the line at load; a
 *   log with an end line wins over a job.json that is not final (its save
 *   failed), which is brought in line;
 * - a cancel of a running job is saved in job.json (cancel_requested)
 *   before it is acknowledged: a job that had not ended by the crash ends
 *   cancelled at load;
 * - a job that was running without any of that is queued again and
 *   resumes from its checkpoint;
 * - a torn last line (a crash mid-append) is cut off, a damaged line
 *   inside the log is dropped (the log is rewritten without it), and temp
 *   files of interrupted atomic writes are removed. */
#define _GNU_SOURCE /* memrchr */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon.h"
#include "fsutil.h"
#include "flatline/common.h"
#include "flatline/job.h"

/* Every event line starts with its name (fl_event_begin writes it first). */
#define END_LINE_PREFIX "{\"event\":\"" FL_EVENT_END "\""

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
  free(job->metrics);
  free(job->sweep);
  free(job);
}

void fl_job_note_event(fl_job *job, const char *line) {
  bool diag = strstr(line, "{\"event\":\"diagnosis\"") == line;
  bool pre = strstr(line, "{\"event\":\"preflight\"") == line;
  bool verdict = strstr(line, "{\"event\":\"" FL_EVENT_VERDICT "\"") == line;
  if (!diag && !pre && !verdict) return;
  fl_json *ev = fl_json_parse(line, strlen(line), NULL);
  if (!ev) return;
  if (verdict) { /* its class report, for show */
    /* The verdict supersedes earlier diagnoses, as in the client's
     * follow (client/follow_view.c): what `wait` reports. */
    const char *v = fl_json_string(fl_json_get(ev, "verdict"));
    job->has_verdict = true;
    /* for a group's summary (queue.c): the verdict and its first cause */
    const char *first = fl_json_string(
        fl_json_get(fl_json_array_at(fl_json_get(ev, "causes"), 0), "cause"));
    snprintf(job->verdict, sizeof job->verdict, "%s", v ? v : "");
    snprintf(job->verdict_cause, sizeof job->verdict_cause, "%s", first ? first : "");
    job->diagnosed = v && strcmp(v, FL_VERDICT_IS_PROBLEM) == 0 &&
                     fl_json_array_size(fl_json_get(ev, "causes")) > 0;
    const fl_json *m = fl_json_get(ev, "metrics");
    if (m && !fl_json_is_null(m)) {
      free(job->metrics);
      job->metrics = fl_json_print(m);
    }
    fl_json_free(ev);
    return;
  }
  const fl_json *list = fl_json_get(ev, diag ? "causes" : "findings");
  if (diag && !job->has_verdict && fl_json_array_size(list) > 0) job->diagnosed = true;
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
  fl_jw_int(&w, "started", (long long)job->started);
  fl_jw_int(&w, "ended", (long long)job->ended);
  fl_jw_int(&w, "priority", job->priority);
  fl_jw_str(&w, "after", job->after);
  if (job->group[0]) fl_jw_str(&w, "group", job->group);
  if (job->sweep) fl_jw_raw(&w, "sweep", job->sweep); /* checked at submit */
  fl_jw_str(&w, "cause", job->cause[0] ? job->cause : NULL);
  fl_jw_str(&w, "message", job->message[0] ? job->message : NULL);
  fl_jw_int(&w, "data_bytes", (long long)job->data_bytes);
  fl_jw_bool(&w, "cancel_requested", job->cancel_requested);
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
  int e = errno; /* the system's reason, for the caller (fsutil.h) */
  free(text);
  errno = e;
  return rc;
}

long fl_job_log_event(fl_job *job, const char *text) {
  char path[4200];
  snprintf(path, sizeof path, "%s/events.jsonl", job->dir);
  fl_error err = {0};
  pthread_mutex_lock(&job->log_lock);
  long seq = -1;
  if (fl_append_line(path, text, &err) == 0) {
    seq = job->next_seq++;
    if (strncmp(text, END_LINE_PREFIX, strlen(END_LINE_PREFIX)) == 0) job->end_logged = true;
  }
  int e = errno;
  pthread_mutex_unlock(&job->log_lock);
  if (seq < 0) {
    fl_log(FL_LOG_ERR, "job %s: %s", job->id, err.msg);
    errno = e; /* the caller words the job's reason from it */
  }
  return seq;
}

/* The sequence number the next logged line would get: a line sent with it
 * goes to every follower (none started past it) and is never dropped as
 * unlogged progress lines are. */
static long next_seq_of(fl_job *job) {
  pthread_mutex_lock(&job->log_lock);
  long seq = job->next_seq;
  pthread_mutex_unlock(&job->log_lock);
  return seq;
}

char *fl_job_end_event(const fl_job *job) {
  return fl_event_end_metrics(job->id, fl_job_state_name(job->state),
                              job->cause[0] ? job->cause : NULL,
                              job->message[0] ? job->message : NULL,
                              job->metrics);
}

/* job.json holds the final state (or could not): log the end line and
 * tell the followers, also when the line cannot be logged (a full disk),
 * so that no `follow` waits for an end that never comes. True when the
 * line is in the log. */
static bool log_and_send_end(fl_daemon *d, fl_job *job) {
  fl_fault_crash_point(FL_FAULT_FINAL_SAVED);
  char *text = fl_job_end_event(job);
  if (!text) {
    fl_log(FL_LOG_ERR, "job %s: out of memory for its end event", job->id);
    return false;
  }
  long seq = fl_job_log_event(job, text);
  fl_server_broadcast(d, job, seq >= 0 ? seq : next_seq_of(job), text);
  free(text);
  return seq >= 0;
}

void fl_job_finish(fl_daemon *d, fl_job *job) {
  fl_error err = {0};
  if (job->ended <= 0) job->ended = fl_daemon_now(d);
  bool saved = fl_job_save(d, job, &err) == 0;
  bool logged = log_and_send_end(d, job);
  const char *state = fl_job_state_name(job->state);
  if (!saved && logged)
    fl_log(FL_LOG_ERR, "job %s: its final state (%s) is not in job.json (%s); its "
           "end line is, and the next start brings job.json in line", job->id,
           state, err.msg);
  else if (saved && !logged)
    fl_log(FL_LOG_ERR, "job %s: its end line (%s) is not in the log; the next "
           "start logs it from job.json", job->id, state);
  else if (!saved)
    fl_log(FL_LOG_ERR, "job %s: neither job.json (%s) nor the log took its end "
           "(%s): it runs again at the next start", job->id, err.msg, state);
}

int fl_job_cancel(fl_daemon *d, fl_job *job, const char *by_user,
                  fl_error *err) {
  if (fl_job_state_final(job->state))
    return fl_error_set(err, FL_EINVAL, "job %s already ended (%s)", job->id,
                        fl_job_state_name(job->state));
  int rc;
  if (job->state == FL_JOB_RUNNING) {
    /* Saved before the worker hears of it: a crash before the worker ends
     * the job still ends it cancelled at the next start. */
    bool was = job->cancel_requested;
    job->cancel_requested = true;
    if ((rc = fl_job_save(d, job, err))) {
      job->cancel_requested = was;
      goto unsaved;
    }
    atomic_store(&job->cancel, true); /* the worker ends it within a second */
    return 0;
  }
  fl_job_state was = job->state;
  char message[sizeof job->message];
  memcpy(message, job->message, sizeof message);
  job->state = FL_JOB_CANCELLED;
  snprintf(job->message, sizeof job->message, "cancelled by %s before it started",
           by_user);
  job->ended = fl_daemon_now(d);
  if ((rc = fl_job_save(d, job, err))) {
    job->state = was;
    job->ended = 0;
    memcpy(job->message, message, sizeof message);
    goto unsaved;
  }
  log_and_send_end(d, job);
  fl_daemon_update_status(d);
  return 0;
unsaved:
  fl_error_prefix(err, "cannot record the cancel of job %s (it goes on)", job->id);
  if (errno == ENOSPC || errno == EDQUOT)
    snprintf(err->msg + strlen(err->msg), sizeof err->msg - strlen(err->msg),
             "; the daemon's disk is full: free space in %s, then cancel again",
             d->state_dir);
  return rc;
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

/* ---- reading the log ---- */

/* The line as a JSON object, or NULL when it is not one complete object. */
static fl_json *parse_event_line(const char *line, size_t len) {
  if (!line || len == 0 || line[0] != '{' || memchr(line, '\n', len) ||
      memchr(line, '\0', len))
    return NULL;
  return fl_json_parse(line, len, NULL); /* trailing text is an error */
}

bool fl_event_line_valid(const char *line, size_t len) {
  fl_json *o = parse_event_line(line, len);
  fl_json_free(o);
  return o != NULL;
}

/* What one pass over a log found. */
typedef struct {
  long lines;              /* whole (newline-terminated) lines */
  size_t whole_len;        /* bytes up to the last newline */
  long damaged;            /* whole lines that are not a JSON object */
  long first_damaged;      /* its line number, from 1 */
  fl_job_log_facts facts;
  char *last_epoch;        /* the last epoch line (malloc'd), or NULL */
  bool has_end;
  fl_job_state end_state;
  char end_cause[64];
  char end_message[FL_ERRMSG_MAX];
} log_scan;

static bool is_event(const fl_json *o, const char *name) {
  const char *ev = fl_json_string(fl_json_get(o, "event"));
  return ev && strcmp(ev, name) == 0;
}

/* Reads text[0..len) line by line; damaged lines only counted. With job,
 * its fix (diagnosis and preflight lines) is noted as it goes. */
static void scan_lines(const char *text, size_t len, fl_job *job, log_scan *s) {
  memset(s, 0, sizeof *s);
  const char *last_nl = len ? memrchr(text, '\n', len) : NULL;
  s->whole_len = last_nl ? (size_t)(last_nl - text) + 1 : 0;
  const char *line = text;
  while (line < text + s->whole_len) {
    const char *nl = memchr(line, '\n', (size_t)(text + s->whole_len - line));
    size_t n = (size_t)(nl - line);
    s->lines++;
    fl_json *o = parse_event_line(line, n);
    if (!o) {
      if (!s->damaged++) s->first_damaged = s->lines;
    } else {
      double v = 0;
      if (is_event(o, FL_EVENT_EPOCH) && fl_json_number(fl_json_get(o, "epoch"), &v)) {
        if ((int)v > s->facts.last_epoch) s->facts.last_epoch = (int)v;
        free(s->last_epoch);
        s->last_epoch = strndup(line, n);
      } else if (is_event(o, FL_EVENT_PREFLIGHT)) {
        s->facts.has_preflight = true;
      } else if (is_event(o, FL_EVENT_VERDICT)) {
        s->facts.has_verdict = true;
      } else if (is_event(o, FL_EVENT_END) && !s->has_end) {
        const char *st = fl_json_string(fl_json_get(o, "state"));
        const char *cause = fl_json_string(fl_json_get(o, "cause"));
        const char *msg = fl_json_string(fl_json_get(o, "message"));
        s->has_end = true;
        s->end_state = state_from_name(st ? st : "");
        snprintf(s->end_cause, sizeof s->end_cause, "%s", cause ? cause : "");
        snprintf(s->end_message, sizeof s->end_message, "%s", msg ? msg : "");
      }
      if (job && (is_event(o, FL_EVENT_DIAGNOSIS) || is_event(o, FL_EVENT_PREFLIGHT) ||
                  is_event(o, FL_EVENT_VERDICT))) {
        char *copy = strndup(line, n);
        if (copy) fl_job_note_event(job, copy);
        free(copy);
      }
      fl_json_free(o);
    }
    line = nl + 1;
  }
}

void fl_job_log_facts_read(fl_job *job, fl_job_log_facts *out) {
  char path[4200], *text = NULL;
  size_t len = 0;
  memset(out, 0, sizeof *out);
  snprintf(path, sizeof path, "%s/events.jsonl", job->dir);
  pthread_mutex_lock(&job->log_lock);
  int rc = fl_read_small(path, (size_t)1 << 30, &text, &len, NULL);
  pthread_mutex_unlock(&job->log_lock);
  if (rc) return;
  log_scan s;
  scan_lines(text, len, NULL, &s);
  *out = s.facts;
  free(s.last_epoch);
  free(text);
}

/* At load: read the log, cut a torn last line, drop damaged lines (the
 * log is rewritten without them), and count the lines. */
static void load_log(fl_job *job, log_scan *s) {
  char path[4200], *text = NULL;
  size_t len = 0;
  fl_error err = {0};
  memset(s, 0, sizeof *s);
  snprintf(path, sizeof path, "%s/events.jsonl", job->dir);
  if (fl_read_small(path, (size_t)1 << 30, &text, &len, &err) != 0) {
    if (err.code != FL_ENOTFOUND) fl_log(FL_LOG_WARNING, "job %s: %s", job->id, err.msg);
    return;
  }
  scan_lines(text, len, job, s);
  bool torn = s->whole_len < len;
  if (torn && truncate(path, (off_t)s->whole_len) != 0)
    fl_log(FL_LOG_WARNING, "job %s: cannot cut a torn last line off %s: %s",
           job->id, path, strerror(errno));
  if (s->damaged) {
    /* Keep the whole, valid lines: a follow replays them, and the line
     * numbers (sequence numbers) stay those of the lines it reads. */
    char *kept = malloc(s->whole_len + 1);
    size_t k = 0;
    for (const char *line = text; kept && line < text + s->whole_len;) {
      const char *nl = memchr(line, '\n', (size_t)(text + s->whole_len - line));
      size_t n = (size_t)(nl - line) + 1;
      if (fl_event_line_valid(line, n - 1)) {
        memcpy(kept + k, line, n);
        k += n;
      }
      line += n;
    }
    if (kept && fl_write_atomic(path, kept, k, &err) == 0) {
      s->lines -= s->damaged;
      fl_log(FL_LOG_WARNING, "job %s: dropped %ld damaged line%s from its event "
             "log (the first was line %ld)%s", job->id, s->damaged,
             s->damaged == 1 ? "" : "s", s->first_damaged,
             torn ? " and a torn last line" : "");
    } else {
      fl_log(FL_LOG_WARNING, "job %s: its event log has %ld damaged line%s (the "
             "first is line %ld) and cannot be rewritten without them (%s); a "
             "follow skips them", job->id, s->damaged, s->damaged == 1 ? "" : "s",
             s->first_damaged, kept ? err.msg : "out of memory");
    }
    free(kept);
  } else if (torn) {
    fl_log(FL_LOG_WARNING, "job %s: cut a torn last line (%zu bytes) off its "
           "event log", job->id, len - s->whole_len);
  }
  job->next_seq = s->lines;
  free(job->last_epoch);
  job->last_epoch = s->last_epoch;
  s->last_epoch = NULL;
  free(text);
}

/* Temp files of atomic writes that a crash interrupted. */
static void remove_orphan_temps(const char *job_dir, const char *id) {
  DIR *dir = opendir(job_dir);
  if (!dir) return;
  int removed = 0;
  struct dirent *de;
  while ((de = readdir(dir))) {
    if (!fl_is_orphan_temp(de->d_name)) continue;
    char path[4400];
    snprintf(path, sizeof path, "%s/%s", job_dir, de->d_name);
    removed += unlink(path) == 0;
  }
  closedir(dir);
  if (removed)
    fl_log(FL_LOG_NOTICE, "job %s: removed %d temp file%s left by an interrupted "
           "write", id, removed, removed == 1 ? "" : "s");
}

/* job.json and the log disagree after a crash between the two writes that
 * end a job, or after one of them failed: make them one state. */
static void reconcile(fl_daemon *d, fl_job *job, const log_scan *s) {
  fl_error err = {0};
  if (s->has_end) {
    if (job->state == s->end_state) return;
    fl_log(FL_LOG_NOTICE, "job %s: job.json says %s but its log ended it (%s): "
           "job.json follows the log", job->id, fl_job_state_name(job->state),
           fl_job_state_name(s->end_state));
    job->state = s->end_state;
    snprintf(job->cause, sizeof job->cause, "%s", s->end_cause);
    snprintf(job->message, sizeof job->message, "%s", s->end_message);
    if (fl_job_save(d, job, &err)) fl_log(FL_LOG_WARNING, "job %s: %s", job->id, err.msg);
    return;
  }
  if (!fl_job_state_final(job->state) && job->cancel_requested) {
    fl_log(FL_LOG_NOTICE, "job %s: its cancel was saved before the daemon "
           "stopped: it ends cancelled", job->id);
    job->state = FL_JOB_CANCELLED;
    job->cause[0] = '\0';
    snprintf(job->message, sizeof job->message, "cancelled by its owner");
    if (fl_job_save(d, job, &err)) fl_log(FL_LOG_WARNING, "job %s: %s", job->id, err.msg);
  } else if (!fl_job_state_final(job->state)) {
    return;
  } else {
    fl_log(FL_LOG_NOTICE, "job %s: ended (%s) but its end line is not in the "
           "log: logged now", job->id, fl_job_state_name(job->state));
  }
  char *text = fl_job_end_event(job);
  if (text) fl_job_log_event(job, text);
  free(text);
}

/* A sweep's group and grid point from job.json (issue 15). The file is
 * the daemon's own, but a damaged one must not grow a summary past its
 * caps: a group id of another form, or a grid point that is not a small
 * object, is dropped with a warning. */
static void load_group(fl_job *job, const fl_json *o) {
  const char *g = jstr(o, "group");
  size_t n = strlen(g);
  bool ok = n >= 2 && n <= 10 && g[0] == 'g' && strspn(g + 1, "0123456789") == n - 1;
  if (ok) snprintf(job->group, sizeof job->group, "%s", g);
  else if (n) fl_log(FL_LOG_WARNING, "job %s: ignoring its group '%.40s' (not a "
                     "group id)", jstr(o, "id"), g);
  const fl_json *sweep = fl_json_get(o, "sweep");
  if (!sweep || fl_json_is_null(sweep)) return;
  char *text = fl_json_print(sweep);
  size_t cap = FL_SWEEP_MAX_KEYS * (FL_SWEEP_KEY_MAX + FL_SWEEP_VALUE_MAX * 6 + 8);
  if (text && text[0] == '{' && strlen(text) <= cap) {
    job->sweep = text;
    return;
  }
  fl_log(FL_LOG_WARNING, "job %s: ignoring its sweep values (not a small JSON "
         "object)", jstr(o, "id"));
  free(text);
}

static fl_job *load_one(fl_daemon *d, const char *name) {
  char path[4200], *text = NULL;
  size_t len = 0;
  fl_error err = {0};
  struct stat st;
  snprintf(path, sizeof path, "%s/jobs/%s", d->state_dir, name);
  if (lstat(path, &st) != 0 || !S_ISDIR(st.st_mode)) {
    fl_log(FL_LOG_WARNING, "skipping %s: not a job folder%s", path,
           S_ISLNK(st.st_mode) ? " (a symbolic link, which flatlined does not follow)" : "");
    return NULL;
  }
  remove_orphan_temps(path, name);
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
  double t = 0;
  if (fl_json_number(fl_json_get(o, "started"), &t)) job->started = t;
  t = 0;
  if (fl_json_number(fl_json_get(o, "ended"), &t)) job->ended = t;
  job->priority = (int)jint(o, "priority");
  const char *after = jstr(o, "after");
  if (strlen(after) < sizeof job->after) snprintf(job->after, sizeof job->after, "%s", after);
  load_group(job, o);
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
  bool cancel_requested = false;
  fl_json_bool(fl_json_get(o, "cancel_requested"), &cancel_requested);
  job->cancel_requested = cancel_requested;
  fl_json_free(o);
  if (strcmp(job->id, name) != 0) {
    fl_log(FL_LOG_WARNING, "skipping job folder %s: it holds job '%s'", name, job->id);
    fl_job_free(job);
    return NULL;
  }
  log_scan s;
  load_log(job, &s);
  if (s.facts.last_epoch > job->epoch && !fl_job_state_final(job->state))
    job->epoch = s.facts.last_epoch; /* job.json is saved at start and end only */
  reconcile(d, job, &s);
  if (fl_job_state_final(job->state) && job->ended <= 0) {
    /* A job that ended before job.json kept the time (or a repaired one):
     * its log's last write is when it ended, for retention and list. */
    snprintf(path, sizeof path, "%s/events.jsonl", job->dir);
    struct stat lst;
    job->ended = lstat(path, &lst) == 0 ? (double)lst.st_mtime : job->submitted;
  }
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
