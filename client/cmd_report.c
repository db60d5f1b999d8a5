/* client/cmd_report.c — owns `flatline report ID -o FILE.html` and
 * `flatline export ID --csv FILE`: both read the job's events back through
 * the daemon's `follow` replay (paced, any length; no request of their
 * own), keep them in an fl_history, and write the page or the CSV to
 * FILE.tmp, synced and renamed over FILE ("-": standard output). A job
 * that has ended is read to its end event; a running one up to the epoch
 * `show` says it has reached, so the command does not wait for it. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "report.h"
#include "session.h"

static bool state_final(const char *state) {
  static const char *const final[] = {"done", "failed", "cancelled", "rejected"};
  for (size_t i = 0; state && i < sizeof final / sizeof final[0]; i++)
    if (strcmp(state, final[i]) == 0) return true;
  return false;
}

/* The events after the follow's reply, until the end event or (a job
 * still running) the epoch event numbered last_epoch. */
static int read_events(fl_cli_session *s, fl_history *h, double last_epoch) {
  for (;;) {
    fl_frame f;
    fl_error err = {0};
    if (fl_conn_recv(&s->conn, &f, &err) < 0) {
      fl_cli_session_error(s, "the event stream broke after %zu epochs: %s", h->n_epochs,
                           err.msg);
      return FL_EXIT_FAILED;
    }
    if (f.kind != FL_FRAME_JSON) continue;
    fl_json *msg = fl_json_parse((const char *)f.data, f.len, NULL);
    const char *type = fl_json_string(fl_json_get(msg, "type"));
    if (type && strcmp(type, "error") == 0) {
      char text[FL_ERRMSG_MAX];
      fl_cli_json_cell(text, sizeof text, fl_json_get(msg, "error"));
      fl_cli_session_error(s, "the daemon stopped the stream: %s", text);
      fl_json_free(msg);
      return FL_EXIT_FAILED;
    }
    const fl_json *ev = type && strcmp(type, "event") == 0 ? fl_json_get(msg, "event") : NULL;
    if (ev && fl_history_add(h, ev) != 0) {
      fl_json_free(msg);
      fl_cli_session_error(s, "out of memory after %zu epochs", h->n_epochs);
      return FL_EXIT_FAILED;
    }
    double epoch = -1;
    const char *name = ev ? fl_json_string(fl_json_get(ev, "event")) : NULL;
    bool epoch_ev = name && strcmp(name, FL_EVENT_EPOCH) == 0;
    if (epoch_ev) fl_json_number(fl_json_get(ev, "epoch"), &epoch);
    fl_json_free(msg);
    if (h->ended || (last_epoch > 0 && epoch_ev && epoch >= last_epoch)) return 0;
  }
}

/* show (for the page's header and where a running job is), then follow. */
static int fetch(fl_cli_session *s, const char *job, fl_json **show, fl_history *h) {
  fl_jw w;
  int64_t id = fl_cli_request_begin(s, &w, "show");
  fl_jw_str(&w, "job", job);
  int rc = fl_cli_request(s, &w, id, show);
  if (rc) return rc;
  const fl_json *info = fl_json_get(*show, "job");
  const char *state = fl_json_string(fl_json_get(info, "state"));
  double last_epoch = 0;
  if (!state_final(state)) {
    if (!fl_json_number(fl_json_get(info, "epoch"), &last_epoch) || last_epoch < 1) {
      fl_cli_session_error(s, "%s is %s and has no epoch yet; try again once it has "
                           "one ('flatline follow %s' shows it)", job,
                           state ? state : "not started", job);
      return FL_EXIT_FAILED;
    }
  }
  id = fl_cli_request_begin(s, &w, "follow");
  fl_jw_str(&w, "job", job);
  fl_json *reply = NULL;
  rc = fl_cli_request(s, &w, id, &reply);
  fl_json_free(reply);
  return rc ? rc : read_events(s, h, last_epoch);
}

typedef int (*writer_fn)(FILE *f, const void *ctx);

/* Write through fn to path atomically, or to o->out for "-". */
static int write_out(fl_cli_session *s, const fl_cli_out *o, const char *path,
                     writer_fn fn, const void *ctx) {
  if (strcmp(path, "-") == 0) {
    int rc = fn(o->out, ctx);
    fflush(o->out);
    if (rc || ferror(o->out)) {
      fl_cli_session_error(s, "cannot write to standard output");
      return FL_EXIT_FAILED;
    }
    return 0;
  }
  char tmp[FL_PATH_MAX + 8];
  if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp", path) >= sizeof tmp) {
    fl_cli_session_error(s, "the output path is too long");
    return FL_EXIT_FAILED;
  }
  /* O_NOFOLLOW: a planted FILE.tmp link must not redirect the write. */
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0666);
  FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
  if (!f) {
    fl_cli_session_error(s, "cannot create %s: %s (is the folder writable?)", tmp,
                         strerror(errno));
    if (fd >= 0) close(fd);
    return FL_EXIT_FAILED;
  }
  int rc = fn(f, ctx);
  if (!rc && (fflush(f) != 0 || fsync(fileno(f)) != 0)) rc = FL_EIO;
  int saved = errno;
  if (fclose(f) != 0 && !rc) rc = FL_EIO, saved = errno;
  if (!rc && rename(tmp, path) != 0) rc = FL_EIO, saved = errno;
  if (rc) {
    unlink(tmp);
    fl_cli_session_error(s, "cannot write %s: %s", path,
                         rc == FL_ENOMEM ? "out of memory" : strerror(saved));
    return FL_EXIT_FAILED;
  }
  return 0;
}

static void print_written(const fl_cli_out *o, const char *event, const char *job,
                          const char *file, const char *format, size_t epochs) {
  if (strcmp(file, "-") == 0) return; /* stdout holds the file itself */
  if (!o->json) {
    char name[FL_PATH_MAX];
    fl_cli_sanitize(name, sizeof name, file);
    fprintf(o->out, "wrote %s (%zu epoch%s, %s)\n", name, epochs, epochs == 1 ? "" : "s",
            format);
    return;
  }
  fl_jw w;
  fl_jw_init(&w);
  fl_jw_object_begin(&w, NULL);
  fl_jw_str(&w, "event", event);
  fl_jw_str(&w, "job", job);
  fl_jw_str(&w, "file", file);
  fl_jw_str(&w, "format", format);
  fl_jw_int(&w, "epochs", (long long)epochs);
  fl_cli_print_jw(o, &w);
}

static int csv_writer(FILE *f, const void *ctx) { return fl_csv_write(f, ctx); }

static int html_writer(FILE *f, const void *ctx) { return fl_report_write_html(f, ctx); }

/* Connect, fetch the history; then write it with fn. */
static int run(const fl_cli_args *a, const fl_cli_out *o, const char *what_cmd,
               const char *path, bool html) {
  fl_cli_session s;
  int rc = fl_cli_session_open(&s, a, o, what_cmd, a->job);
  if (rc) return rc;
  fl_history h;
  fl_history_init(&h);
  fl_json *show = NULL;
  rc = fetch(&s, a->job, &show, &h);
  fl_cli_session_close(&s); /* a running job's follow ends with us */
  if (!rc && html) {
    char when[64] = "";
    time_t t = time(NULL);
    struct tm tm;
    if (gmtime_r(&t, &tm)) strftime(when, sizeof when, "%Y-%m-%d %H:%M UTC", &tm);
    fl_report_input in = {a->job, fl_json_get(show, "job"), &h, when[0] ? when : NULL};
    rc = write_out(&s, o, path, html_writer, &in);
    if (!rc) print_written(o, "report", a->job, path, "html", h.n_epochs);
  } else if (!rc) {
    rc = write_out(&s, o, path, csv_writer, &h);
    if (!rc) print_written(o, "exported", a->job, path, "csv", h.n_epochs);
  }
  fl_json_free(show);
  fl_history_free(&h);
  return rc;
}

int fl_cli_cmd_export_csv(const fl_cli_args *a, const fl_cli_out *o) {
  return run(a, o, "export", a->csv, false);
}

int fl_cli_cmd_report(const fl_cli_args *a, const fl_cli_out *o) {
  return run(a, o, "report", a->output, true);
}
