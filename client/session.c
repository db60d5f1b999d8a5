/* client/session.c — owns one command's conversation with flatlined:
 * connecting (and saying which socket was tried when that fails),
 * requests with ids, waiting for the matching reply, and following a job's
 * event stream until its end event. The daemon's words reach the terminal
 * only through the sanitizer. */
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "session.h"

void fl_cli_session_error(const fl_cli_session *s, const char *fmt, ...) {
  if (s->quiet) return;
  char msg[FL_ERRMSG_MAX * 2];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  fprintf(s->o->err, "flatline: %s%s%s\n", s->what, s->what[0] ? ": " : "",
          msg);
}

int fl_cli_session_open(fl_cli_session *s, const fl_cli_args *args,
                        const fl_cli_out *o, const char *verb, const char *subject) {
  memset(s, 0, sizeof *s);
  s->o = o;
  s->next_id = 1;
  char what[sizeof s->what];
  snprintf(what, sizeof what, "%s%s%s", verb, subject ? " " : "", subject ? subject : "");
  fl_cli_sanitize(s->what, sizeof s->what, what);
  fl_cli_socket sock;
  if (fl_cli_socket_find(args->socket_path, &sock)) {
    fprintf(o->err, "flatline: %s\n", sock.note);
    return FL_EXIT_USAGE;
  }
  fl_error err = {0};
  int rc = fl_conn_connect(&s->conn, sock.path, &err);
  if (rc < 0) {
    fprintf(o->err, "flatline: %s\n", err.msg[0] ? err.msg : fl_strerror(rc));
    fprintf(o->err, "flatline: the socket tried was %s; --socket PATH or "
            "FLATLINE_SOCKET names another\n", sock.note);
    return fl_cli_exit_for_connect(rc);
  }
  s->connected = true;
  return 0;
}

void fl_cli_session_close(fl_cli_session *s) {
  if (s->connected) fl_conn_close(&s->conn);
  s->connected = false;
}

int64_t fl_cli_request_begin(fl_cli_session *s, fl_jw *w, const char *type) {
  int64_t id = s->next_id++;
  fl_jw_init(w);
  fl_jw_object_begin(w, NULL);
  fl_jw_str(w, "type", type);
  fl_jw_int(w, "id", id);
  return id;
}

int fl_cli_request_send(fl_cli_session *s, fl_jw *w) {
  fl_jw_object_end(w);
  char *text = fl_jw_finish(w);
  if (!text) {
    fl_cli_session_error(s, "out of memory while building the request");
    return FL_EXIT_FAILED;
  }
  /* The daemon refuses JSON frames over 1 MiB; a spec near the cap can
   * grow past it once escaped into a string. */
  if (strlen(text) > FL_FRAME_MAX_JSON) {
    fl_cli_session_error(s, "the request is %zu bytes once encoded, over the "
                         "protocol's 1 MiB limit; make the spec smaller",
                         strlen(text));
    free(text);
    return FL_EXIT_FAILED;
  }
  fl_error err = {0};
  int rc = fl_conn_send_json(&s->conn, text, &err);
  free(text);
  if (rc < 0) {
    fl_cli_session_error(s, "cannot send to the daemon: %s", err.msg);
    return FL_EXIT_FAILED;
  }
  return 0;
}

/* The next JSON message, parsed. A negative code with err set when the
 * connection fails or the daemon sends something that is not JSON. */
static int recv_json(fl_cli_session *s, fl_json **out, fl_error *err) {
  fl_frame f;
  *out = NULL;
  int rc = fl_conn_recv(&s->conn, &f, err);
  if (rc < 0) return rc;
  if (f.kind != FL_FRAME_JSON)
    return fl_error_set(err, FL_EPARSE, "the daemon sent a binary chunk "
                        "where a JSON message was expected");
  *out = fl_json_parse((const char *)f.data, f.len, err);
  return *out ? 0 : (err && err->code ? err->code : FL_EPARSE);
}

static const char *type_of(const fl_json *msg) {
  const char *t = fl_json_string(fl_json_get(msg, "type"));
  return t ? t : "";
}

static bool is_reply_to(const fl_json *msg, int64_t id) {
  double d;
  return strcmp(type_of(msg), "reply") == 0 &&
         fl_json_number(fl_json_get(msg, "id"), &d) && d == (double)id;
}

/* "flatline: WHAT: <the daemon's sentence>" for an ok:false reply or an
 * error frame. */
static void print_daemon_error(const fl_cli_session *s, const fl_json *msg) {
  char text[FL_ERRMSG_MAX * 2], code[64];
  fl_cli_json_cell(text, sizeof text, fl_json_get(msg, "error"));
  fl_cli_json_cell(code, sizeof code, fl_json_get(msg, "code"));
  if (strcmp(type_of(msg), "error") == 0)
    fl_cli_session_error(s, "the daemon reported an error and closed the "
                         "connection: %s", text);
  else if (strcmp(text, "-") != 0)
    fl_cli_session_error(s, "%s", text);
  else
    fl_cli_session_error(s, "the daemon refused the request (%s)", code);
}

int fl_cli_reply_wait(fl_cli_session *s, int64_t id, fl_json **reply) {
  *reply = NULL;
  for (;;) {
    fl_error err = {0};
    fl_json *msg;
    if (recv_json(s, &msg, &err) < 0) {
      fl_cli_session_error(s, "no reply from the daemon: %s", err.msg);
      return FL_EXIT_FAILED;
    }
    if (strcmp(type_of(msg), "error") == 0) {
      print_daemon_error(s, msg);
      fl_json_free(msg);
      return FL_EXIT_FAILED;
    }
    if (!is_reply_to(msg, id)) { /* not ours (an event): not waited for */
      fl_json_free(msg);
      continue;
    }
    bool ok = false;
    fl_json_bool(fl_json_get(msg, "ok"), &ok);
    *reply = msg;
    if (ok) return 0;
    print_daemon_error(s, msg);
    return FL_EXIT_FAILED;
  }
}

int fl_cli_request(fl_cli_session *s, fl_jw *w, int64_t id, fl_json **reply) {
  *reply = NULL;
  int rc = fl_cli_request_send(s, w);
  return rc ? rc : fl_cli_reply_wait(s, id, reply);
}

/* ---- following ---- */

/* What Ctrl-C prints while following: the job goes on without us. Written
 * from the signal handler, so it is prepared beforehand. */
static char interrupt_note[256];
static volatile sig_atomic_t interrupt_note_len;

static void on_interrupt(int sig) {
  if (interrupt_note_len > 0) {
    ssize_t r = write(STDERR_FILENO, interrupt_note, (size_t)interrupt_note_len);
    (void)r;
  }
  raise(sig); /* SA_RESETHAND made it the default again: die of it */
}

static void interrupt_hint(const char *job, bool on) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sigemptyset(&sa.sa_mask);
  if (!on) {
    interrupt_note_len = 0;
    sa.sa_handler = SIG_DFL;
    sigaction(SIGINT, &sa, NULL);
    return;
  }
  int n = snprintf(interrupt_note, sizeof interrupt_note,
                   "\nflatline: stopped following %s; the job keeps running "
                   "('flatline cancel %s' stops it)\n", job, job);
  interrupt_note_len = n > 0 && (size_t)n < sizeof interrupt_note ? n : 0;
  sa.sa_handler = on_interrupt;
  sa.sa_flags = SA_RESETHAND;
  sigaction(SIGINT, &sa, NULL);
}

int fl_cli_follow_stream(fl_cli_session *s, fl_follow_view *v,
                         int64_t follow_id) {
  int rc = FL_EXIT_FAILED;
  interrupt_hint(v->job, true);
  for (;;) {
    fl_error err = {0};
    fl_json *msg;
    if (recv_json(s, &msg, &err) < 0) {
      fl_follow_clear_progress(v);
      fl_cli_session_error(s, "the stream broke before %s ended (%s); the "
                           "job is not lost: 'flatline follow %s' picks it "
                           "up again",
                           v->job, err.msg, v->job);
      break;
    }
    const char *type = type_of(msg);
    if (strcmp(type, "event") == 0) {
      const fl_json *event = fl_json_get(msg, "event");
      int ended = event ? fl_follow_event(v, event) : 0;
      fl_json_free(msg);
      if (ferror(s->o->out)) {
        /* a closed pipe (| head): nobody reads on */
        fl_cli_session_error(s, "cannot write the output; stopped following");
        break;
      }
      if (ended) {
        rc = v->exit_status;
        break;
      }
      continue;
    }
    if (strcmp(type, "error") == 0 ||
        (follow_id && is_reply_to(msg, follow_id))) {
      bool ok = false;
      fl_json_bool(fl_json_get(msg, "ok"), &ok);
      if (strcmp(type, "error") == 0 || !ok) {
        fl_follow_clear_progress(v);
        print_daemon_error(s, msg);
        fl_json_free(msg);
        break;
      }
    }
    fl_json_free(msg); /* the follow reply, or a message for no one */
  }
  interrupt_hint(v->job, false);
  return rc;
}
