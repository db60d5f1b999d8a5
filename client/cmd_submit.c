/* client/cmd_submit.c — owns the commands that send a spec or watch a job:
 * check (preflight only), submit (optionally --follow, or a --sweep grid
 * as one group of jobs) and follow. Each is decode -> local validation and
 * upload -> request -> render. */
#include <stdlib.h>
#include <string.h>

#include "session.h"
#include "sweep.h"

/* Read, validate and hash the spec's data here, before any socket: a
 * mistake is named by key without bothering the daemon. */
static int prepare(const fl_cli_args *a, const fl_cli_out *o,
                   fl_cli_job_files *jf) {
  fl_error err = {0};
  if (fl_cli_spec_load(a->spec, jf, &err) == 0 &&
      fl_cli_spec_hash(jf, &err) == 0)
    return 0;
  char msg[FL_ERRMSG_MAX];
  fl_cli_sanitize(msg, sizeof msg, err.msg);
  fprintf(o->err, "flatline: %s\n", msg);
  return FL_EXIT_FAILED;
}

/* Connect and upload what the daemon lacks; then the request can name the
 * blobs. */
static int connect_and_upload(fl_cli_session *s, const fl_cli_args *a,
                              const fl_cli_out *o, const char *command,
                              const fl_cli_job_files *jf) {
  int rc = fl_cli_session_open(s, a, o, command, a->spec);
  return rc ? rc : fl_cli_upload(s, jf);
}

static void add_spec(fl_jw *w, const fl_cli_job_files *jf) {
  fl_jw_str(w, "spec", jf->text);
  fl_cli_spec_files_json(w, jf);
}

int fl_cli_cmd_check(const fl_cli_args *a, const fl_cli_out *o) {
  fl_cli_job_files jf;
  fl_cli_session s = {0};
  fl_json *reply = NULL;
  int rc = prepare(a, o, &jf);
  if (!rc) rc = connect_and_upload(&s, a, o, "check", &jf);
  if (!rc) {
    fl_jw w;
    int64_t id = fl_cli_request_begin(&s, &w, "check");
    add_spec(&w, &jf);
    rc = fl_cli_request(&s, &w, id, &reply);
    /* a refusal may still carry findings worth showing */
    const fl_json *findings = fl_json_get(reply, "findings");
    if (reply && (rc == 0 || findings)) {
      int shown = fl_cli_render_findings(o, a->spec, findings);
      if (rc == 0) rc = shown;
    }
  }
  fl_json_free(reply);
  fl_cli_session_close(&s);
  fl_cli_job_files_free(&jf);
  return rc;
}

/* A refused submit: its findings, and with --json an end event, so that a
 * script reading the lines learns the outcome from them too. */
static void show_rejection(const fl_cli_out *o, const char *spec_path,
                           const fl_json *reply) {
  const fl_json *findings = fl_json_get(reply, "findings");
  if (findings) fl_cli_render_findings(o, spec_path, findings);
  if (!o->json) return;
  const char *code = fl_json_string(fl_json_get(reply, "code"));
  fl_jw w;
  fl_jw_init(&w);
  fl_jw_object_begin(&w, NULL);
  fl_jw_str(&w, "event", "end");
  fl_jw_null(&w, "job"); /* none was created */
  fl_jw_str(&w, "state", code && strcmp(code, "rejected") == 0 ? "rejected"
                                                               : "failed");
  fl_jw_str(&w, "cause", fl_json_string(fl_json_get(reply, "cause")));
  fl_jw_str(&w, "message", fl_json_string(fl_json_get(reply, "error")));
  fl_cli_print_jw(o, &w);
}

/* ---- submit --sweep (issue 15) ---- */

/* The grid from the --sweep arguments over the spec already loaded; a
 * mistake in them is a usage error naming the key or value. */
static int expand_grid(const fl_cli_args *a, const fl_cli_out *o,
                       const fl_cli_job_files *jf, fl_sweep_points *pts) {
  fl_sweep_grid g = {0};
  fl_error err = {0};
  int rc = 0;
  for (int i = 0; i < a->n_sweeps && !rc; i++) rc = fl_sweep_parse_arg(&g, a->sweeps[i], &err);
  if (!rc) rc = fl_sweep_expand(jf->text, jf->len, &g, pts, &err);
  fl_sweep_grid_free(&g);
  if (!rc) return 0;
  char msg[FL_ERRMSG_MAX];
  fl_cli_sanitize(msg, sizeof msg, err.msg);
  fprintf(o->err, "flatline: submit %s: %s\n", a->spec, msg);
  return rc == FL_ENOMEM ? FL_EXIT_FAILED : FL_EXIT_USAGE;
}

/* A point was refused: the group's jobs so far are cancelled, so that a
 * sweep is queued whole or not at all (fix and submit it again). */
static void undo_group(fl_cli_session *s, const fl_cli_out *o, const char *group,
                       char (*jobs)[FL_JOB_ID_MAX], int n) {
  int cancelled = 0;
  s->quiet = true;
  for (int i = 0; i < n; i++) {
    fl_jw w;
    int64_t id = fl_cli_request_begin(s, &w, "cancel");
    fl_jw_str(&w, "job", jobs[i]);
    fl_json *reply = NULL;
    int rc = fl_cli_request(s, &w, id, &reply);
    fl_json_free(reply);
    if (rc && !reply) break; /* the connection is gone */
    cancelled += rc == 0;
  }
  s->quiet = false;
  if (n > 0)
    fprintf(o->err, "flatline: submit: cancelled %d of the %d job%s already "
            "queued in group %s, so that the sweep can be submitted again whole\n",
            cancelled, n, n == 1 ? "" : "s", group);
}

static int submit_sweep(const fl_cli_args *a, const fl_cli_out *o,
                        fl_cli_job_files *jf) {
  fl_sweep_points pts = {0};
  int rc = expand_grid(a, o, jf, &pts);
  if (rc) return rc;
  fl_cli_session s = {0};
  char group[FL_JOB_ID_MAX] = "new";
  char (*jobs)[FL_JOB_ID_MAX] = calloc((size_t)pts.n, sizeof *jobs);
  int n = 0;
  rc = jobs ? connect_and_upload(&s, a, o, "submit", jf) : FL_EXIT_FAILED;
  for (int i = 0; !rc && i < pts.n; i++) {
    fl_jw w;
    int64_t id = fl_cli_request_begin(&s, &w, "submit");
    fl_jw_str(&w, "spec", pts.points[i].spec);
    fl_cli_spec_files_json(&w, jf);
    fl_jw_bool(&w, "follow", false);
    if (a->priority) fl_jw_int(&w, "priority", a->priority);
    if (a->after[0]) fl_jw_str(&w, "after", a->after);
    fl_jw_str(&w, "group", group);
    fl_jw_raw(&w, "sweep", pts.points[i].values);
    fl_json *reply = NULL;
    snprintf(s.what, sizeof s.what, "submit %s (%s)", a->spec, pts.points[i].label);
    rc = fl_cli_request(&s, &w, id, &reply);
    if (rc && reply) show_rejection(o, a->spec, reply);
    const char *job = rc ? NULL : fl_json_string(fl_json_get(reply, "job"));
    const char *g = rc ? NULL : fl_json_string(fl_json_get(reply, "group"));
    if (!rc && (!job || !fl_cli_job_id(job, jobs[n]) || !g ||
                !fl_cli_group_id(g, group) || g[0] != 'g')) {
      fl_cli_session_error(&s, "the daemon's reply names no valid job and group "
                           "(a daemon older than sweeps?)");
      rc = FL_EXIT_FAILED;
    }
    if (!rc) fl_cli_print_submitted(o, jobs[n++], group, pts.points[i].label,
                                    pts.points[i].values);
    fl_json_free(reply);
    if (rc && s.connected && n > 0) undo_group(&s, o, group, jobs, n);
  }
  if (!rc) fl_cli_print_submitted_group(o, group, n, "");
  free(jobs);
  fl_sweep_points_free(&pts);
  fl_cli_session_close(&s);
  return rc;
}

int fl_cli_cmd_submit(const fl_cli_args *a, const fl_cli_out *o) {
  if (a->n_sweeps) {
    fl_cli_job_files jf;
    int rc = prepare(a, o, &jf);
    if (!rc) rc = submit_sweep(a, o, &jf);
    fl_cli_job_files_free(&jf);
    return rc;
  }
  fl_cli_job_files jf;
  fl_cli_session s = {0};
  fl_json *reply = NULL;
  int rc = prepare(a, o, &jf);
  if (!rc) rc = connect_and_upload(&s, a, o, "submit", &jf);
  if (!rc) {
    fl_jw w;
    int64_t id = fl_cli_request_begin(&s, &w, "submit");
    add_spec(&w, &jf);
    fl_jw_bool(&w, "follow", a->follow);
    if (a->priority) fl_jw_int(&w, "priority", a->priority);
    if (a->after[0]) fl_jw_str(&w, "after", a->after);
    rc = fl_cli_request(&s, &w, id, &reply);
    if (rc && reply) show_rejection(o, a->spec, reply);
  }
  char job[FL_JOB_ID_MAX] = "";
  if (!rc) {
    const char *id = fl_json_string(fl_json_get(reply, "job"));
    if (!id || !fl_cli_job_id(id, job)) {
      fl_cli_session_error(&s, "the daemon's reply names no valid job id");
      rc = FL_EXIT_FAILED;
    }
  }
  if (!rc) {
    fl_cli_print_submitted(o, job, NULL, NULL, NULL);
    if (a->follow) {
      fl_follow_view v;
      fl_follow_init(&v, o, job, jf.spec.epochs);
      rc = fl_cli_follow_stream(&s, &v, 0);
      fl_follow_free(&v);
    }
  }
  fl_json_free(reply);
  fl_cli_session_close(&s);
  fl_cli_job_files_free(&jf);
  return rc;
}

/* The job's number of epochs, so that rows read "3/40" (epoch events do
 * not carry it). Asked quietly: a failure here only costs the "/40", and
 * the follow request right after reports any real problem. */
static int epochs_of(fl_cli_session *s, const char *job) {
  fl_jw w;
  int64_t id = fl_cli_request_begin(s, &w, "show");
  fl_jw_str(&w, "job", job);
  fl_json *reply = NULL;
  s->quiet = true;
  int rc = fl_cli_request(s, &w, id, &reply);
  s->quiet = false;
  double epochs = 0;
  if (!rc) fl_json_number(fl_json_get(fl_json_get(reply, "job"), "epochs"), &epochs);
  fl_json_free(reply);
  return epochs >= 1 && epochs < 1e9 ? (int)epochs : 0;
}

int fl_cli_cmd_follow(const fl_cli_args *a, const fl_cli_out *o) {
  fl_cli_session s;
  int rc = fl_cli_session_open(&s, a, o, "follow", a->job);
  if (rc) return rc;
  int epochs = o->json ? 0 : epochs_of(&s, a->job); /* JSON has no rows */
  fl_jw w;
  int64_t id = fl_cli_request_begin(&s, &w, "follow");
  fl_jw_str(&w, "job", a->job);
  rc = fl_cli_request_send(&s, &w);
  if (!rc) {
    fl_follow_view v;
    fl_follow_init(&v, o, a->job, epochs);
    rc = fl_cli_follow_stream(&s, &v, id);
    fl_follow_free(&v);
  }
  fl_cli_session_close(&s);
  return rc;
}
