/* client/cmd_queue.c — owns the queue-control commands of issue 14: log
 * (a job's whole history, then return), wait (block until jobs end; exit
 * as submit --follow would), rm (delete finished jobs) and cancel of
 * several ids or --all. Each is: connect, requests, render. */
#include <stdlib.h>
#include <string.h>

#include "session.h"

/* The next JSON message, parsed (NULL and err set on failure). */
static fl_json *recv_json(fl_cli_session *s, fl_error *err) {
  fl_frame f;
  if (fl_conn_recv(&s->conn, &f, err) < 0) return NULL;
  if (f.kind != FL_FRAME_JSON) {
    fl_error_set(err, FL_EPARSE, "the daemon sent a binary chunk where a JSON "
                 "message was expected");
    return NULL;
  }
  return fl_json_parse((const char *)f.data, f.len, err);
}

static bool reply_to(const fl_json *msg, int64_t id) {
  double d;
  const char *t = fl_json_string(fl_json_get(msg, "type"));
  return t && strcmp(t, "reply") == 0 &&
         fl_json_number(fl_json_get(msg, "id"), &d) && d == (double)id;
}

/* The daemon's sentence of an ok:false reply or an error frame. */
static void daemon_error(fl_cli_session *s, const fl_json *msg) {
  char text[FL_ERRMSG_MAX * 2];
  fl_cli_json_cell(text, sizeof text, fl_json_get(msg, "error"));
  fl_cli_session_error(s, "%s", text);
}

/* ---- log ---- */

/* The daemon sends the log's events, then the reply: the history is whole
 * once the reply has come. Events go through the follow view. */
int fl_cli_cmd_log(const fl_cli_args *a, const fl_cli_out *o) {
  fl_cli_session s;
  int rc = fl_cli_session_open(&s, a, o, "log", a->job);
  if (rc) return rc;
  fl_jw w;
  int64_t id = fl_cli_request_begin(&s, &w, "log");
  fl_jw_str(&w, "job", a->job);
  rc = fl_cli_request_send(&s, &w);
  fl_follow_view v;
  fl_follow_init(&v, o, a->job, 0);
  while (!rc) {
    fl_error err = {0};
    fl_json *msg = recv_json(&s, &err);
    if (!msg) {
      fl_follow_clear_progress(&v);
      fl_cli_session_error(&s, "the log broke off: %s", err.msg);
      rc = FL_EXIT_FAILED;
      break;
    }
    const char *type = fl_json_string(fl_json_get(msg, "type"));
    if (type && strcmp(type, "event") == 0) {
      const fl_json *ev = fl_json_get(msg, "event");
      if (ev) fl_follow_event(&v, ev);
    } else if ((type && strcmp(type, "error") == 0) || reply_to(msg, id)) {
      bool ok = false;
      fl_json_bool(fl_json_get(msg, "ok"), &ok);
      if (!ok) {
        daemon_error(&s, msg);
        rc = FL_EXIT_FAILED;
      }
      fl_json_free(msg);
      break;
    }
    fl_json_free(msg);
    if (ferror(o->out)) {
      rc = FL_EXIT_FAILED;
      break;
    }
  }
  fl_follow_clear_progress(&v);
  fl_follow_free(&v);
  fl_cli_session_close(&s);
  return rc;
}

/* ---- wait ---- */

static int show_waited(const fl_cli_out *o, const fl_json *job) {
  const char *id = fl_json_string(fl_json_get(job, "job"));
  const char *state = fl_json_string(fl_json_get(job, "state"));
  bool diagnosed = false;
  fl_json_bool(fl_json_get(job, "diagnosed"), &diagnosed);
  int exit = fl_cli_exit_for_end(state, diagnosed);
  if (o->json) {
    char *line = fl_cli_json_with_event("waited", job);
    if (line) {
      /* the exit status this job alone gives, for scripts */
      char tail[32];
      snprintf(tail, sizeof tail, "{\"exit\":%d}", exit);
      char *both = fl_cli_json_concat(line, tail);
      fl_cli_print_json_line(o, both ? both : line);
      free(both);
      free(line);
    }
    return exit;
  }
  char sid[FL_JOB_ID_MAX + 8], sstate[32], cause[64];
  fl_cli_sanitize(sid, sizeof sid, id ? id : "?");
  fl_cli_sanitize(sstate, sizeof sstate, state ? state : "?");
  fl_cli_json_cell(cause, sizeof cause, fl_json_get(job, "cause"));
  fprintf(o->out, "%s %s%s%s%s%s\n", sid, fl_cli_style(o, fl_cli_state_style(sstate)),
          sstate, fl_cli_style(o, FL_STYLE_RESET),
          exit == FL_EXIT_DIAGNOSED ? ", with a diagnosed problem: " : "",
          exit == FL_EXIT_DIAGNOSED ? cause : "");
  return exit;
}

int fl_cli_cmd_wait(const fl_cli_args *a, const fl_cli_out *o) {
  fl_cli_session s;
  int rc = fl_cli_session_open(&s, a, o, "wait", NULL);
  if (rc) return rc;
  int worst = FL_EXIT_OK;
  /* The daemon takes FL_WAIT_MAX_JOBS ids a request: batches in turn. */
  for (int at = 0; at < a->n_ids && !rc; at += FL_WAIT_MAX_JOBS) {
    fl_jw w;
    int64_t id = fl_cli_request_begin(&s, &w, "wait");
    fl_jw_array_begin(&w, "jobs");
    for (int i = at; i < a->n_ids && i < at + FL_WAIT_MAX_JOBS; i++) {
      char job[FL_JOB_ID_MAX];
      if (fl_cli_job_id(a->ids[i], job)) fl_jw_str(&w, NULL, job);
    }
    fl_jw_array_end(&w);
    fl_json *reply = NULL;
    rc = fl_cli_request(&s, &w, id, &reply);
    const fl_json *jobs = fl_json_get(reply, "jobs");
    for (size_t i = 0; !rc && i < fl_json_array_size(jobs); i++)
      worst = fl_cli_exit_worst(worst, show_waited(o, fl_json_array_at(jobs, i)));
    fl_json_free(reply);
  }
  fflush(o->out);
  fl_cli_session_close(&s);
  return rc ? rc : worst;
}

/* ---- rm and cancel: one request per id, on one connection ---- */

static void print_done(const fl_cli_out *o, const char *event, const char *job,
                       const char *extra_key, double extra) {
  if (o->json) {
    fl_jw w;
    fl_jw_init(&w);
    fl_jw_object_begin(&w, NULL);
    fl_jw_str(&w, "event", event);
    fl_jw_str(&w, "job", job);
    if (extra_key) fl_jw_num(&w, extra_key, extra);
    fl_cli_print_jw(o, &w);
    return;
  }
  if (extra_key) {
    char bytes[48];
    fl_cli_format_bytes(bytes, sizeof bytes, extra);
    fprintf(o->out, "%s %s (freed %s)\n", event, job, bytes);
  } else {
    fprintf(o->out, "%s %s\n", event, job);
  }
}

/* type ("rm" or "cancel") for each id; a failure is printed and the others
 * still go. */
static int each_id(const fl_cli_args *a, const fl_cli_out *o, const char *type) {
  fl_cli_session s;
  int rc = fl_cli_session_open(&s, a, o, type, NULL);
  if (rc) return rc;
  int worst = FL_EXIT_OK;
  for (int i = 0; i < a->n_ids; i++) {
    char job[FL_JOB_ID_MAX];
    if (!fl_cli_job_id(a->ids[i], job)) continue; /* checked by the parser */
    snprintf(s.what, sizeof s.what, "%s %s", type, job);
    fl_jw w;
    int64_t id = fl_cli_request_begin(&s, &w, type);
    fl_jw_str(&w, "job", job);
    fl_json *reply = NULL;
    int one = fl_cli_request(&s, &w, id, &reply);
    if (!one && strcmp(type, "rm") == 0) {
      double freed = 0;
      fl_json_number(fl_json_get(reply, "freed"), &freed);
      print_done(o, "removed", job, "freed", freed);
    } else if (!one) {
      const char *st = fl_json_string(fl_json_get(reply, "state"));
      print_done(o, st && strcmp(st, "cancelling") == 0 ? "cancelling" : "cancelled",
                 job, NULL, 0);
    }
    fl_json_free(reply);
    if (one) worst = FL_EXIT_FAILED;
    if (one && !reply) break; /* the connection is gone */
  }
  fl_cli_session_close(&s);
  return worst;
}

int fl_cli_cmd_rm(const fl_cli_args *a, const fl_cli_out *o) {
  return each_id(a, o, "rm");
}

static int cancel_all(const fl_cli_args *a, const fl_cli_out *o) {
  fl_cli_session s;
  int rc = fl_cli_session_open(&s, a, o, "cancel --all", NULL);
  if (rc) return rc;
  fl_jw w;
  int64_t id = fl_cli_request_begin(&s, &w, "cancel");
  fl_jw_bool(&w, "all", true);
  fl_json *reply = NULL;
  rc = fl_cli_request(&s, &w, id, &reply);
  const fl_json *jobs = fl_json_get(reply, "jobs");
  for (size_t i = 0; !rc && i < fl_json_array_size(jobs); i++) {
    const fl_json *j = fl_json_array_at(jobs, i);
    char job[FL_JOB_ID_MAX + 8], st[32];
    fl_cli_json_cell(job, sizeof job, fl_json_get(j, "job"));
    fl_cli_json_cell(st, sizeof st, fl_json_get(j, "state"));
    print_done(o, strcmp(st, "cancelling") == 0 ? "cancelling" : "cancelled", job,
               NULL, 0);
  }
  if (!rc && fl_json_array_size(jobs) == 0 && !o->json)
    fprintf(o->out, "no queued or running jobs of yours\n");
  const char *failed = rc ? NULL : fl_json_string(fl_json_get(reply, "error"));
  if (failed) {
    fl_cli_session_error(&s, "%s", failed);
    rc = FL_EXIT_FAILED;
  }
  fl_json_free(reply);
  fl_cli_session_close(&s);
  return rc;
}

int fl_cli_cmd_cancel(const fl_cli_args *a, const fl_cli_out *o) {
  return a->all ? cancel_all(a, o) : each_id(a, o, "cancel");
}
