/* client/slurm_list.c — list --slurm and group sN: every job folder of
 * the job root (yours: the root is 0700), in id order, with one squeue
 * call for all of them, as the rows of the daemon's list reply or of its
 * group summary (daemon/queue.c fl_on_group), printed by the same
 * renderers. A half-made folder (a submit under way) is not listed. */
#define _GNU_SOURCE /* strdup */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "slurm_internal.h"

/* s12 < s12_0 < s12_1 < s13: by job number, then task. */
static int by_number(const void *x, const void *y) {
  char *ea, *eb;
  long a = strtol(*(char *const *)x + 1, &ea, 10), b = strtol(*(char *const *)y + 1, &eb, 10);
  if (a != b) return a < b ? -1 : 1;
  long ta = *ea == '_' ? strtol(ea + 1, NULL, 10) : -1;
  long tb = *eb == '_' ? strtol(eb + 1, NULL, 10) : -1;
  return ta < tb ? -1 : ta > tb;
}

/* A number of the last epoch line (null when absent), for a summary. */
static void epoch_number(fl_jw *w, const fl_json *ev, const char *key) {
  double v;
  if (ev && fl_json_number(fl_json_get(ev, key), &v)) fl_jw_num(w, key, v);
  else fl_jw_null(w, key);
}

/* A job of a sweep's summary, as the daemon's group reply has it
 * (daemon/queue.c fl_on_group). */
static void summary_object(fl_jw *w, const fl_cli_slurm_folder *f, const fl_cli_slurm_view *v) {
  fl_cli_slurm_job_state s;
  fl_cli_slurm_state_of(f, v, &s);
  fl_json *ev = f->last_epoch ? fl_json_parse(f->last_epoch, strlen(f->last_epoch), NULL) : NULL;
  fl_jw_object_begin(w, NULL);
  fl_jw_str(w, "job", f->id);
  fl_jw_str(w, "name", fl_json_string(fl_json_get(f->job, "name")));
  fl_jw_str(w, "state", s.state);
  fl_jw_bool(w, "cancelling", false);
  fl_jw_int(w, "epoch", f->epoch);
  fl_jw_int(w, "epochs", (long long)fl_cli_slurm_num(f->job, "epochs"));
  const fl_json *sweep = fl_json_get(f->job, "sweep");
  char *sw = sweep && !fl_json_is_null(sweep) ? fl_json_print(sweep) : NULL;
  if (sw) fl_jw_raw(w, "sweep", sw);
  else fl_jw_null(w, "sweep");
  free(sw);
  epoch_number(w, ev, "loss");
  epoch_number(w, ev, "accuracy");
  epoch_number(w, ev, "val_loss");
  epoch_number(w, ev, "val_accuracy");
  fl_jw_str(w, "verdict", f->verdict[0] ? f->verdict : NULL);
  const char *cause = f->verdict[0] ? f->verdict_cause : s.cause;
  fl_jw_str(w, "cause", cause[0] ? cause : NULL);
  fl_jw_object_end(w);
  fl_json_free(ev);
}

/* Your Slurm jobs from the job root, in id order, as a JSON array: list
 * rows, or (summary) a sweep's summary rows; only group's when given. */
static int collect(const fl_cli_out *o, const char *what, const char *group, bool summary,
                   fl_json **out) {
  *out = NULL;
  char root[FL_PATH_MAX];
  if (!fl_cli_slurm_root(root, sizeof root)) {
    fprintf(o->err, "flatline: %s: no job root: set FLATLINE_SLURM_DIR (or HOME)\n", what);
    return FL_EXIT_FAILED;
  }
  DIR *d = opendir(root);
  if (!d && errno != ENOENT) {
    fprintf(o->err, "flatline: %s: cannot read %s: %s\n", what, root, strerror(errno));
    return FL_EXIT_FAILED;
  }
  char **ids = NULL;
  size_t n = 0;
  struct dirent *de;
  while (d && (de = readdir(d))) {
    if (!fl_cli_slurm_id(de->d_name)) continue;
    char **n2 = realloc(ids, (n + 1) * sizeof *ids);
    if (!n2) break;
    ids = n2;
    ids[n++] = strdup(de->d_name);
  }
  if (d) closedir(d);
  if (n) qsort(ids, n, sizeof *ids, by_number);
  char *all = n ? fl_cli_slurm_all() : NULL;
  fl_jw w;
  fl_jw_init(&w);
  fl_jw_array_begin(&w, NULL);
  FILE *null_err = fopen("/dev/null", "w"); /* a half-made folder: not listed */
  fl_cli_out quiet = *o;
  if (null_err) quiet.err = null_err;
  for (size_t i = 0; i < n; i++) {
    fl_cli_slurm_folder f;
    fl_cli_slurm_view v;
    int rc = ids[i] ? fl_cli_slurm_folder_read(&quiet, what, ids[i], false, &f) : 1;
    const char *g = rc ? NULL : fl_json_string(fl_json_get(f.job, "group"));
    if (!rc && (!group || (g && strcmp(g, group) == 0))) {
      fl_cli_slurm_view_from_all(all, ids[i], &v);
      if (summary) {
        summary_object(&w, &f, &v);
      } else {
        fl_json *job = fl_cli_slurm_job_object(&f, &v, false);
        char *text = job ? fl_json_print(job) : NULL;
        if (text) fl_jw_raw(&w, NULL, text);
        free(text);
        fl_json_free(job);
      }
    }
    if (!rc) fl_cli_slurm_folder_free(&f);
    free(ids[i]);
  }
  if (null_err) fclose(null_err);
  free(ids);
  free(all);
  fl_jw_array_end(&w);
  char *text = fl_jw_finish(&w);
  *out = text ? fl_json_parse(text, strlen(text), NULL) : NULL;
  free(text);
  if (!*out) {
    fprintf(o->err, "flatline: %s: out of memory\n", what);
    return FL_EXIT_FAILED;
  }
  return 0;
}

int fl_cli_slurm_list(const fl_cli_args *a, const fl_cli_out *o) {
  fl_json *jobs = NULL;
  int rc = collect(o, "list --slurm", a->group[0] ? a->group : NULL, false, &jobs);
  const fl_json *pages[1] = {jobs};
  if (!rc) rc = fl_cli_render_job_pages_filtered(o, pages, 1, a->state_filter, a->user_filter);
  fl_json_free(jobs);
  return rc;
}

/* group sN: the summary of the sweep that ran as job array N. */
int fl_cli_slurm_group(const fl_cli_args *a, const fl_cli_out *o) {
  char what[64];
  snprintf(what, sizeof what, "group %s", a->group);
  fl_json *jobs = NULL;
  int rc = collect(o, what, a->group, true, &jobs);
  if (!rc && fl_json_array_size(jobs) == 0) {
    fprintf(o->err, "flatline: %s: no jobs of group %s in your job root\n", what, a->group);
    rc = FL_EXIT_FAILED;
  }
  if (!rc) rc = fl_cli_render_group(o, a->group, jobs);
  fl_json_free(jobs);
  return rc;
}
