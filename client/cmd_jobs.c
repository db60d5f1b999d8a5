/* client/cmd_jobs.c — owns the one-request commands: list, show, group
 * and devices (cancel is with the queue commands, cmd_queue.c). Each is: connect, one request, render the reply. */
#include <stdlib.h>
#include <string.h>

#include "session.h"

/* Connect, send {"type":type[,"job":job]}, wait for the reply. */
static int one_request(const fl_cli_args *a, const fl_cli_out *o,
                       const char *type, const char *job, fl_cli_session *s,
                       fl_json **reply) {
  *reply = NULL;
  int rc = fl_cli_session_open(s, a, o, type, job);
  if (rc) return rc;
  fl_jw w;
  int64_t id = fl_cli_request_begin(s, &w, type);
  if (job) fl_jw_str(&w, "job", job);
  return fl_cli_request(s, &w, id, reply);
}

/* The daemon answers `list` in pages (FL_LIST_PAGE_MAX jobs or half a
 * frame at most); ask for the next until it says there is none. A guard
 * against a daemon that never ends the list: a cursor must move on. */
static bool known_state(const char *s) {
  static const char *const states[] = {"queued", "running",   "cancelling", "done",
                                       "failed", "cancelled", "rejected"};
  for (size_t i = 0; i < sizeof states / sizeof *states; i++)
    if (strcmp(s, states[i]) == 0) return true;
  return false;
}

int fl_cli_cmd_list(const fl_cli_args *a, const fl_cli_out *o) {
  if (a->state_filter && !known_state(a->state_filter)) {
    fprintf(o->err, "flatline: list: --state: no state '%s'; one of queued, "
            "running, cancelling, done, failed, cancelled, rejected\n",
            a->state_filter);
    return FL_EXIT_USAGE;
  }
  fl_cli_session s = {0};
  fl_json **replies = NULL;
  const fl_json **pages = NULL;
  size_t n = 0;
  char after[FL_JOB_ID_MAX] = "";
  int rc = fl_cli_session_open(&s, a, o, "list", NULL);
  while (!rc) {
    fl_json **r2 = realloc(replies, (n + 1) * sizeof *r2);
    const fl_json **p2 = realloc(pages, (n + 1) * sizeof *p2);
    if (r2) replies = r2;
    if (p2) pages = p2;
    if (!r2 || !p2) {
      fprintf(o->err, "flatline: out of memory\n");
      rc = FL_EXIT_FAILED;
      break;
    }
    fl_jw w;
    int64_t id = fl_cli_request_begin(&s, &w, "list");
    if (after[0]) fl_jw_str(&w, "after", after);
    if (a->group[0]) fl_jw_str(&w, "group", a->group); /* filtered by the daemon */
    rc = fl_cli_request(&s, &w, id, &replies[n]);
    if (rc) {
      fl_json_free(replies[n]);
      break;
    }
    pages[n] = fl_json_get(replies[n], "jobs");
    n++;
    const char *next = fl_json_string(fl_json_get(replies[n - 1], "next"));
    if (!next || !*next || strcmp(next, after) == 0 || strlen(next) >= sizeof after) break;
    snprintf(after, sizeof after, "%s", next);
  }
  if (!rc)
    rc = fl_cli_render_job_pages_filtered(o, pages, n, a->state_filter, a->user_filter);
  for (size_t i = 0; i < n; i++) fl_json_free(replies[i]);
  free(replies);
  free(pages);
  fl_cli_session_close(&s);
  return rc;
}

int fl_cli_cmd_devices(const fl_cli_args *a, const fl_cli_out *o) {
  fl_cli_session s = {0};
  fl_json *reply;
  int rc = one_request(a, o, "devices", NULL, &s, &reply);
  if (!rc) rc = fl_cli_render_devices(o, fl_json_get(reply, "devices"));
  fl_json_free(reply);
  fl_cli_session_close(&s);
  return rc;
}

int fl_cli_cmd_show(const fl_cli_args *a, const fl_cli_out *o) {
  fl_cli_session s = {0};
  fl_json *reply;
  int rc = one_request(a, o, "show", a->job, &s, &reply);
  if (!rc && a->fixed_spec) rc = fl_cli_render_fixed_spec(o, a->job, reply);
  else if (!rc) rc = fl_cli_render_job(o, fl_json_get(reply, "job"));
  fl_json_free(reply);
  fl_cli_session_close(&s);
  return rc;
}

/* A sweep's summary (issue 15): one request; the daemon sends the group's
 * jobs with their values, last metrics and verdicts, the ordering is
 * render.c's. */
int fl_cli_cmd_group(const fl_cli_args *a, const fl_cli_out *o) {
  fl_cli_session s = {0};
  fl_json *reply = NULL;
  int rc = fl_cli_session_open(&s, a, o, "group", a->group);
  if (!rc) {
    fl_jw w;
    int64_t id = fl_cli_request_begin(&s, &w, "group");
    fl_jw_str(&w, "group", a->group);
    rc = fl_cli_request(&s, &w, id, &reply);
  }
  if (!rc) rc = fl_cli_render_group(o, a->group, fl_json_get(reply, "jobs"));
  fl_json_free(reply);
  fl_cli_session_close(&s);
  return rc;
}
