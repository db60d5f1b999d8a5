/* client/slurm_job.c — the commands on one Slurm job sN (or array task
 * sN_I): show, follow, cancel and export (-o model, --csv history).
 * Each reads the job's folder and asks Slurm (slurm_folder.c), then does
 * what the daemon's command does, printed by the same renderers: follow
 * replays the folder's log as the daemon's follow replays a job's log and
 * polls it, asking Slurm every few seconds whether the job still runs;
 * cancel signals the batch script (a running job ends cancelled with a
 * verdict) or drops a pending one; export writes as the daemon's export
 * does (FILE.tmp, synced, renamed over FILE). */
#define _GNU_SOURCE /* getline */
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "report.h"
#include "slurm_internal.h"

#define POLL_S 0.5        /* the follow's read of the log */
#define STATE_EVERY_S 2.0 /* the follow's question to Slurm */

/* ---- show ---- */

int fl_cli_slurm_show(const fl_cli_args *a, const fl_cli_out *o) {
  char what[64];
  fl_cli_slurm_folder f;
  fl_cli_slurm_view v;
  int rc = fl_cli_slurm_open(o, "show", a->job, true, what, sizeof what, &f, &v);
  if (rc) return rc;
  fl_json *job = fl_cli_slurm_job_object(&f, &v, true);
  if (!job) {
    fprintf(o->err, "flatline: %s: out of memory\n", what);
    rc = FL_EXIT_FAILED;
  } else if (a->fixed_spec) {
    /* The renderer takes the whole reply: {"job": {...}}. */
    fl_jw w;
    fl_jw_init(&w);
    fl_jw_object_begin(&w, NULL);
    char *inner = fl_json_print(job);
    fl_jw_raw(&w, "job", inner ? inner : "{}");
    free(inner);
    fl_jw_object_end(&w);
    char *text = fl_jw_finish(&w);
    fl_json *reply = text ? fl_json_parse(text, strlen(text), NULL) : NULL;
    free(text);
    rc = fl_cli_render_fixed_spec(o, a->job, reply);
    fl_json_free(reply);
  } else {
    rc = fl_cli_render_job(o, job);
  }
  fl_json_free(job);
  fl_cli_slurm_folder_free(&f);
  return rc;
}

/* ---- follow ---- */

static void sleep_s(double s) {
  struct timespec ts = {(time_t)s, (long)((s - (time_t)s) * 1e9)};
  nanosleep(&ts, NULL);
}

/* Feeds the log's whole lines from *offset on to the view; 1 once the
 * end event was shown. */
static int feed_log(const char *path, long *offset, fl_follow_view *view) {
  FILE *f = fopen(path, "r");
  if (!f) return 0;
  if (fseek(f, *offset, SEEK_SET) != 0) {
    fclose(f);
    return 0;
  }
  char *line = NULL;
  size_t cap = 0;
  ssize_t n;
  int ended = 0;
  while (!ended && (n = getline(&line, &cap, f)) > 0) {
    if (line[n - 1] != '\n') break; /* being written: read it next time */
    *offset += n;
    fl_json *ev = fl_json_parse(line, (size_t)n - 1, NULL);
    if (ev) ended = fl_follow_event(view, ev);
    fl_json_free(ev);
  }
  free(line);
  fclose(f);
  return ended;
}

int fl_cli_slurm_follow(const fl_cli_out *o, const char *id) {
  char what[64];
  fl_cli_slurm_folder f;
  int rc = fl_cli_slurm_open(o, "follow", id, false, what, sizeof what, &f, NULL);
  if (rc) return rc;
  fl_follow_view view;
  fl_follow_init(&view, o, id, o->json ? 0 : (int)fl_cli_slurm_num(f.job, "epochs"));
  char path[FL_PATH_MAX + 64];
  snprintf(path, sizeof path, "%s/events.jsonl", f.dir);
  long offset = 0;
  double since_ask = STATE_EVERY_S;
  bool gone = false; /* Slurm says it ended: one more read, then stop */
  for (;;) {
    if (feed_log(path, &offset, &view)) break;
    if (gone) {
      fl_cli_slurm_view v;
      fl_cli_slurm_job_state s;
      if (fl_cli_slurm_ask(o, what, id, &v) != 0) memset(&v, 0, sizeof v);
      fl_cli_slurm_state_of(&f, &v, &s);
      char *end = fl_cli_slurm_end_event(id, s.state, s.cause[0] ? s.cause : NULL, s.message);
      fl_json *ev = end ? fl_json_parse(end, strlen(end), NULL) : NULL;
      if (ev) fl_follow_event(&view, ev);
      fl_json_free(ev);
      free(end);
      break;
    }
    sleep_s(POLL_S);
    since_ask += POLL_S;
    if (since_ask >= STATE_EVERY_S) {
      since_ask = 0;
      fl_cli_slurm_view v;
      if (fl_cli_slurm_ask(o, what, id, &v) != 0) {
        rc = FL_EXIT_FAILED;
        break;
      }
      const char *ours = v.known ? fl_cli_slurm_state(v.slurm) : NULL;
      gone = !ours || (strcmp(ours, "queued") != 0 && strcmp(ours, "running") != 0);
    }
  }
  if (!rc) rc = view.ended ? view.exit_status : FL_EXIT_FAILED;
  fl_follow_free(&view);
  fl_cli_slurm_folder_free(&f);
  return rc;
}

/* ---- cancel ---- */

/* A queued job cancelled before it started ends as the daemon ends one
 * (jobs.c): job.json final, then the end line. */
static void end_queued(const fl_cli_slurm_folder *f, const char *user) {
  char path[FL_PATH_MAX + 64], msg[160];
  snprintf(msg, sizeof msg, "cancelled by %s before it started", user);
  char *end = fl_cli_slurm_end_event(f->id, "cancelled", NULL, msg);
  snprintf(path, sizeof path, "%s/events.jsonl", f->dir);
  int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd >= 0 && end) {
    size_t n = strlen(end);
    end[n] = '\n'; /* one write: the line whole or not at all */
    if (write(fd, end, n + 1) < 0) { /* the follow then ends from Slurm's word */
    }
  }
  if (fd >= 0) close(fd);
  free(end);
}

int fl_cli_slurm_cancel_one(const fl_cli_out *o, const char *id) {
  char what[64];
  fl_cli_slurm_folder f;
  fl_cli_slurm_view v;
  int rc = fl_cli_slurm_open(o, "cancel", id, false, what, sizeof what, &f, &v);
  if (rc) return rc;
  fl_cli_slurm_job_state s;
  fl_cli_slurm_state_of(&f, &v, &s);
  if (strcmp(s.state, "queued") != 0 && strcmp(s.state, "running") != 0) {
    fprintf(o->err, "flatline: %s: job %s already ended (%s)\n", what, id, s.state);
    fl_cli_slurm_folder_free(&f);
    return FL_EXIT_FAILED;
  }
  bool pending = strcmp(s.state, "queued") == 0 && v.known && strcmp(v.slurm, "PENDING") == 0;
  /* Running: USR2 to the batch script, which passes it to flatlined: the
   * job ends cancelled with a verdict from what it measured, as a daemon
   * job does. Pending: Slurm drops it. */
  const char *argv_run[] = {"scancel", "--batch", "--signal=USR2", id + 1, NULL};
  const char *argv_pending[] = {"scancel", id + 1, NULL};
  char *out = NULL;
  rc = fl_cli_slurm_run(pending ? argv_pending : argv_run, &out, true);
  if (rc != 0) {
    fprintf(o->err, "flatline: %s: Slurm refused: %s\n", what, fl_cli_slurm_trimmed(out));
    free(out);
    fl_cli_slurm_folder_free(&f);
    return FL_EXIT_FAILED;
  }
  free(out);
  if (pending) {
    struct passwd *pw = getpwuid(getuid());
    end_queued(&f, pw ? pw->pw_name : "its owner");
  }
  fl_cli_print_job_event(o, pending ? "cancelled" : "cancelling", id);
  fl_cli_slurm_folder_free(&f);
  return FL_EXIT_OK;
}

/* ---- export ---- */

/* file written by fill as the daemon's export writes it (cmd_export.c):
 * FILE.tmp, synced, renamed over FILE; "-" is stdout when to_stdout_ok.
 * 0, or FL_EXIT_FAILED with the error printed. */
static int write_replacing(const fl_cli_out *o, const char *what, const char *file,
                           bool to_stdout_ok, int (*fill)(FILE *f, const void *ctx),
                           const void *ctx) {
  bool to_stdout = to_stdout_ok && strcmp(file, "-") == 0;
  char tmp[FL_PATH_MAX + 8];
  snprintf(tmp, sizeof tmp, "%s.tmp", file);
  FILE *out = to_stdout ? o->out : NULL;
  if (!to_stdout) {
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0666);
    out = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (fd >= 0 && !out) close(fd);
  }
  bool ok = out && fill(out, ctx) == 0 && fflush(out) == 0;
  if (!to_stdout && out) ok = fsync(fileno(out)) == 0 && fclose(out) == 0 && ok;
  if (ok && !to_stdout) ok = rename(tmp, file) == 0;
  if (!ok) {
    fprintf(o->err, "flatline: %s: cannot write %s: %s\n", what, file, strerror(errno));
    if (!to_stdout) unlink(tmp);
    return FL_EXIT_FAILED;
  }
  return 0;
}

typedef struct {
  const char *bytes;
  size_t len;
} byte_run;

static int write_bytes(FILE *f, const void *ctx) {
  const byte_run *b = ctx;
  return fwrite(b->bytes, 1, b->len, f) == b->len ? 0 : -1;
}

static int write_csv(FILE *f, const void *ctx) { return fl_csv_write(f, ctx); }

/* -o FILE: the model of a job that is done. */
static int export_model(const fl_cli_args *a, const fl_cli_out *o) {
  char what[64];
  fl_cli_slurm_folder f;
  fl_cli_slurm_view v;
  int rc = fl_cli_slurm_open(o, "export", a->job, false, what, sizeof what, &f, &v);
  if (rc) return rc;
  fl_cli_slurm_job_state s;
  fl_cli_slurm_state_of(&f, &v, &s);
  char path[FL_PATH_MAX + 64];
  snprintf(path, sizeof path, "%s/model.safetensors", f.dir);
  size_t len = 0;
  int e = 0;
  bool done = strcmp(s.state, "done") == 0;
  char *model = done ? fl_cli_slurm_read_text(path, (size_t)1 << 40, &len, &e) : NULL;
  if (!model) {
    if (!done)
      fprintf(o->err, "flatline: %s: job %s has no model: it is %s\n", what, a->job, s.state);
    else
      fprintf(o->err, "flatline: %s: cannot read %s: %s\n", what, path, strerror(e));
    fl_cli_slurm_folder_free(&f);
    return FL_EXIT_FAILED;
  }
  byte_run b = {model, len};
  rc = write_replacing(o, what, a->output, false, write_bytes, &b);
  if (!rc && o->json) {
    fl_jw jw;
    fl_cli_event_begin(&jw, "exported", a->job);
    fl_jw_str(&jw, "file", a->output);
    fl_jw_int(&jw, "bytes", (long long)len);
    fl_jw_str(&jw, "format", "safetensors");
    fl_cli_print_jw(o, &jw);
  } else if (!rc) {
    char name[FL_PATH_MAX];
    fl_cli_sanitize(name, sizeof name, a->output);
    fprintf(o->out, "wrote %s (%zu bytes, safetensors)\n", name, len);
  }
  free(model);
  fl_cli_slurm_folder_free(&f);
  return rc;
}

/* --csv FILE: the epochs of the folder's log, whatever the job's state. */
static int export_csv(const fl_cli_args *a, const fl_cli_out *o) {
  char what[64];
  fl_cli_slurm_folder f;
  int rc = fl_cli_slurm_open(o, "export", a->job, false, what, sizeof what, &f, NULL);
  if (rc) return rc;
  char path[FL_PATH_MAX + 64];
  snprintf(path, sizeof path, "%s/events.jsonl", f.dir);
  size_t len = 0;
  int e = 0;
  char *log = fl_cli_slurm_read_text(path, FL_CLI_SLURM_LOG_MAX, &len, &e);
  fl_history h;
  fl_history_init(&h);
  for (const char *line = log; log && line < log + len;) {
    const char *nl = memchr(line, '\n', (size_t)(log + len - line));
    if (!nl) break;
    fl_json *ev = fl_json_parse(line, (size_t)(nl - line), NULL);
    if (ev) fl_history_add(&h, ev);
    fl_json_free(ev);
    line = nl + 1;
  }
  free(log);
  rc = write_replacing(o, what, a->csv, true, write_csv, &h);
  if (!rc && strcmp(a->csv, "-") != 0 && !o->json)
    fprintf(o->out, "wrote %s (%zu epochs, csv)\n", a->csv, h.n_epochs);
  fl_history_free(&h);
  fl_cli_slurm_folder_free(&f);
  return rc;
}

int fl_cli_slurm_export(const fl_cli_args *a, const fl_cli_out *o) {
  return a->csv ? export_csv(a, o) : export_model(a, o);
}
