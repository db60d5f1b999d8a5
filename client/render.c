/* client/render.c — owns how the replies of list, devices, show, group and
 * check look: tables and summaries for people, and with --json one line per job,
 * device or preflight report, each with its "event" key first and the
 * daemon's fields passed through as they came. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "output.h"

static const char *str_of(const fl_json *obj, const char *key) {
  return fl_json_string(fl_json_get(obj, key));
}

/* One --json line, {"event":event, ...obj}. */
static int json_line(const fl_cli_out *o, const char *event, const fl_json *obj) {
  char *line = fl_cli_json_with_event(event, obj);
  if (!line) {
    fprintf(o->err, "flatline: out of memory\n");
    return FL_EXIT_FAILED;
  }
  fl_cli_print_json_line(o, line);
  free(line);
  return FL_EXIT_OK;
}

/* One --json line per element of arr. */
static int json_lines(const fl_cli_out *o, const char *event,
                      const fl_json *arr) {
  for (size_t i = 0; i < fl_json_array_size(arr); i++) {
    int rc = json_line(o, event, fl_json_array_at(arr, i));
    if (rc) return rc;
  }
  return FL_EXIT_OK;
}

/* "3/20", "3", or "-" before the first epoch. */
static void epoch_of(char *buf, size_t size, const fl_json *job) {
  double e, total;
  bool has_e = fl_json_number(fl_json_get(job, "epoch"), &e);
  bool has_total = fl_json_number(fl_json_get(job, "epochs"), &total);
  if (has_e && has_total) snprintf(buf, size, "%.0f/%.0f", e, total);
  else if (has_e) snprintf(buf, size, "%.0f", e);
  else if (has_total) snprintf(buf, size, "-/%.0f", total);
  else snprintf(buf, size, "-");
}

/* The user's name, or "uid N" when the daemon could not name them. */
static void user_of(char *buf, size_t size, const fl_json *job) {
  const char *user = str_of(job, "user");
  if (user && user[0]) fl_cli_sanitize(buf, size, user);
  else if (fl_json_get(job, "owner")) {
    char uid[32];
    fl_cli_json_cell(uid, sizeof uid, fl_json_get(job, "owner"));
    snprintf(buf, size, "uid %s", uid);
  } else snprintf(buf, size, "-");
}

int fl_cli_render_jobs(const fl_cli_out *o, const fl_json *jobs) {
  return fl_cli_render_job_pages(o, &jobs, 1);
}

int fl_cli_render_job_pages(const fl_cli_out *o, const fl_json *const *pages,
                            size_t n_pages) {
  return fl_cli_render_job_pages_filtered(o, pages, n_pages, NULL, NULL);
}

/* A unix time as "MM-DD HH:MM" in the user's time zone, "-" when null. */
static void time_cell(char *buf, size_t size, const fl_json *v) {
  double t;
  snprintf(buf, size, "-");
  if (!fl_json_number(v, &t) || t <= 0 || t > 1e11) return;
  time_t tt = (time_t)t;
  struct tm tm;
  if (!localtime_r(&tt, &tm) || !strftime(buf, size, "%m-%d %H:%M", &tm))
    snprintf(buf, size, "-");
}

/* Seconds as "42s", "3m07s", "2h05m", "3d04h". */
static void duration_cell(char *buf, size_t size, double s) {
  long v = s > 0 && s < 1e10 ? (long)s : 0;
  if (v < 60) snprintf(buf, size, "%lds", v);
  else if (v < 3600) snprintf(buf, size, "%ldm%02lds", v / 60, v % 60);
  else if (v < 86400) snprintf(buf, size, "%ldh%02ldm", v / 3600, v % 3600 / 60);
  else snprintf(buf, size, "%ldd%02ldh", v / 86400, v % 86400 / 3600);
}

/* How long a job ran: to its end, or (still running) to now. */
static void elapsed_of(char *buf, size_t size, const fl_json *job) {
  double start, end;
  if (!fl_json_number(fl_json_get(job, "started"), &start) || start <= 0) {
    snprintf(buf, size, "-");
    return;
  }
  if (!fl_json_number(fl_json_get(job, "ended"), &end) || end <= 0)
    end = (double)time(NULL);
  duration_cell(buf, size, end - start);
}

/* The state a person should see: a running job being cancelled says so. */
static void state_of(char *buf, size_t size, const fl_json *job) {
  bool cancelling = false;
  fl_json_bool(fl_json_get(job, "cancelling"), &cancelling);
  if (cancelling) snprintf(buf, size, "cancelling");
  else fl_cli_json_cell(buf, size, fl_json_get(job, "state"));
}

/* list --state / --user: NULL passes everything; a user matches by name
 * or by uid. */
static bool job_matches(const fl_json *job, const char *state, const char *user) {
  if (state) {
    char s[32];
    state_of(s, sizeof s, job);
    const char *raw = fl_json_string(fl_json_get(job, "state"));
    if (strcmp(s, state) != 0 && !(raw && strcmp(raw, state) == 0)) return false;
  }
  if (user) {
    const char *name = fl_json_string(fl_json_get(job, "user"));
    char uid[32];
    fl_cli_json_cell(uid, sizeof uid, fl_json_get(job, "owner"));
    if (!(name && strcmp(name, user) == 0) && strcmp(uid, user) != 0) return false;
  }
  return true;
}

int fl_cli_render_job_pages_filtered(const fl_cli_out *o,
                                     const fl_json *const *pages, size_t n_pages,
                                     const char *state, const char *user) {
  size_t n = 0;
  bool times = false; /* a daemon that sends them (issue 14) */
  for (size_t p = 0; p < n_pages; p++)
    for (size_t i = 0; i < fl_json_array_size(pages[p]); i++) {
      const fl_json *job = fl_json_array_at(pages[p], i);
      if (!job_matches(job, state, user)) continue;
      n++;
      times |= fl_json_get(job, "started") != NULL;
    }
  if (o->json) {
    for (size_t p = 0; p < n_pages; p++)
      for (size_t i = 0; i < fl_json_array_size(pages[p]); i++) {
        const fl_json *job = fl_json_array_at(pages[p], i);
        if (!job_matches(job, state, user)) continue;
        int rc = json_line(o, "job", job);
        if (rc) return rc;
      }
    return FL_EXIT_OK;
  }
  if (n == 0) {
    if (state || user) fprintf(o->out, "no jobs match\n");
    else fprintf(o->out, "no jobs; 'flatline submit SPEC' queues one\n");
    return FL_EXIT_OK;
  }
  fl_cli_table t;
  size_t cols = times ? 10 : 6;
  fl_cli_table_init(&t, cols, 1u << 5 | 1u << 9);
  const char *header[10] = {"JOB",    "USER",      "NAME",    "STATE", "DEVICE",
                            "EPOCH",  "SUBMITTED", "STARTED", "ENDED", "ELAPSED"};
  fl_cli_table_add(&t, header, NULL);
  for (size_t p = 0; p < n_pages; p++)
    for (size_t i = 0; i < fl_json_array_size(pages[p]); i++) {
      const fl_json *job = fl_json_array_at(pages[p], i);
      if (!job_matches(job, state, user)) continue;
      char id[64], user_cell[64], name[FL_NAME_MAX], st[32], device[128], epoch[48];
      char sub[32], start[32], end[32], elapsed[32];
      fl_cli_json_cell(id, sizeof id, fl_json_get(job, "job"));
      user_of(user_cell, sizeof user_cell, job);
      fl_cli_json_cell(name, sizeof name, fl_json_get(job, "name"));
      state_of(st, sizeof st, job);
      const fl_json *dn = fl_json_get(job, "device_name");
      fl_cli_json_cell(device, sizeof device,
                       dn && !fl_json_is_null(dn) ? dn : fl_json_get(job, "device"));
      epoch_of(epoch, sizeof epoch, job);
      time_cell(sub, sizeof sub, fl_json_get(job, "submitted"));
      time_cell(start, sizeof start, fl_json_get(job, "started"));
      time_cell(end, sizeof end, fl_json_get(job, "ended"));
      elapsed_of(elapsed, sizeof elapsed, job);
      const char *row[10] = {id, user_cell, name, st, device, epoch, sub, start, end, elapsed};
      fl_style styles[10] = {0};
      styles[3] = fl_cli_state_style(st);
      fl_cli_table_add(&t, row, styles);
    }
  int rc = fl_cli_table_print(&t, o);
  fl_cli_table_free(&t);
  return rc;
}

int fl_cli_render_devices(const fl_cli_out *o, const fl_json *devices) {
  if (o->json) return json_lines(o, "device", devices);
  size_t n = fl_json_array_size(devices);
  if (n == 0) {
    fprintf(o->out, "no OpenCL devices: the daemon found none (install a "
            "driver, e.g. pocl-opencl-icd for the CPU, and restart "
            "flatlined)\n");
    return FL_EXIT_OK;
  }
  fl_cli_table t;
  /* right-aligned: INDEX, MEMORY, QUEUED */
  fl_cli_table_init(&t, 7, 1u << 0 | 1u << 3 | 1u << 5);
  const char *header[7] = {"INDEX", "TYPE",   "NAME",    "MEMORY",
                           "RUNNING", "QUEUED", "PLATFORM"};
  fl_cli_table_add(&t, header, NULL);
  for (size_t i = 0; i < n; i++) {
    const fl_json *d = fl_json_array_at(devices, i);
    char index[32], type[32], name[128], memory[48], running[128], queued[32],
        platform[128];
    double bytes;
    fl_cli_json_cell(index, sizeof index, fl_json_get(d, "index"));
    fl_cli_json_cell(type, sizeof type, fl_json_get(d, "type"));
    fl_cli_json_cell(name, sizeof name, fl_json_get(d, "name"));
    if (fl_json_number(fl_json_get(d, "memory"), &bytes))
      fl_cli_format_bytes(memory, sizeof memory, bytes); /* bytes */
    else fl_cli_json_cell(memory, sizeof memory, fl_json_get(d, "memory"));
    fl_cli_json_cell(running, sizeof running, fl_json_get(d, "running"));
    fl_cli_json_cell(queued, sizeof queued, fl_json_get(d, "queued"));
    fl_cli_json_cell(platform, sizeof platform, fl_json_get(d, "platform"));
    const char *row[7] = {index, type, name, memory, running, queued, platform};
    fl_cli_table_add(&t, row, NULL);
  }
  int rc = fl_cli_table_print(&t, o);
  fl_cli_table_free(&t);
  return rc;
}

/* "label: value" of a summary, skipped when the job lacks the field. */
static void field(const fl_cli_out *o, const char *label, const char *value) {
  fprintf(o->out, "  %-12s%s\n", label, value);
}

static void submitted_of(char *buf, size_t size, const fl_json *v) {
  double t;
  if (fl_json_number(v, &t) && t > 0 && t < 1e11) {
    /* seconds since the epoch, shown in the user's time zone */
    time_t tt = (time_t)t;
    struct tm tm;
    if (localtime_r(&tt, &tm) && strftime(buf, size, "%Y-%m-%d %H:%M:%S", &tm))
      return;
  }
  fl_cli_json_cell(buf, size, v);
}

static void last_epoch_of(char *buf, size_t size, const fl_json *ev) {
  static const char *const keys[] = {"loss", "accuracy", "val_loss",
                                     "val_accuracy"};
  size_t at = 0;
  buf[0] = '\0';
  for (size_t i = 0; i < 4; i++) {
    const fl_json *v = fl_json_get(ev, keys[i]);
    double d;
    char num[24];
    if (!v) continue;
    if (fl_json_number(v, &d)) fl_cli_format_metric(num, sizeof num, d);
    else snprintf(num, sizeof num, "nan");
    int n = snprintf(buf + at, size - at, "%s%s %s", at ? "  " : "", keys[i],
                     num);
    if (n < 0 || (size_t)n >= size - at) break;
    at += (size_t)n;
  }
}

static double num_of(const fl_json *obj, const char *key) {
  double v = NAN;
  if (!fl_json_number(fl_json_get(obj, key), &v)) v = NAN;
  return v;
}

/* The verdict's class report (job/job_report.c): accuracy (and top-k),
 * per-class precision/recall/F1 and the confusion matrix, the table a
 * user reads for imbalance. Numbers only come from the daemon's JSON. */
void fl_cli_render_class_report(const fl_cli_out *o, const fl_json *m,
                                size_t max_classes) {
  char text[256], on[32];
  fl_cli_json_cell(on, sizeof on, fl_json_get(m, "on"));
  int at = snprintf(text, sizeof text, "on %.16s rows (%.0f): accuracy %.4f",
                    on, num_of(m, "rows"), num_of(m, "accuracy"));
  for (int k = 1; k <= 100 && at > 0 && (size_t)at < sizeof text; k++) {
    char key[32];
    snprintf(key, sizeof key, "top_%d_accuracy", k);
    if (fl_json_get(m, key))
      at += snprintf(text + at, sizeof text - (size_t)at, ", %s %.4f", key,
                     num_of(m, key));
  }
  if (at > 0 && (size_t)at < sizeof text && fl_json_get(m, "macro_f1"))
    snprintf(text + at, sizeof text - (size_t)at, ", macro F1 %.4f",
             num_of(m, "macro_f1"));
  field(o, "metrics", text);
  const fl_json *per = fl_json_get(m, "per_class");
  size_t n = fl_json_array_size(per);
  if (n > max_classes) {
    fprintf(o->out, "    (%zu classes: `flatline show` prints the per-class table "
            "and the confusion matrix)\n", n);
    return;
  }
  if (n > 0) {
    fprintf(o->out, "    %-7s %9s %7s %7s %8s\n", "class", "precision",
            "recall", "f1", "support");
    for (size_t i = 0; i < n; i++) {
      const fl_json *c = fl_json_array_at(per, i);
      fprintf(o->out, "    %-7.0f %9.4f %7.4f %7.4f %8.0f\n", num_of(c, "class"),
              num_of(c, "precision"), num_of(c, "recall"), num_of(c, "f1"),
              num_of(c, "support"));
    }
  }
  const fl_json *conf = fl_json_get(m, "confusion");
  size_t rows = fl_json_array_size(conf);
  if (rows == 0) return;
  fprintf(o->out, "    confusion (rows: true class, columns: predicted)\n");
  fprintf(o->out, "    %5s", "");
  for (size_t j = 0; j < rows; j++) fprintf(o->out, " %7zu", j);
  fprintf(o->out, "\n");
  for (size_t i = 0; i < rows; i++) {
    const fl_json *row = fl_json_array_at(conf, i);
    fprintf(o->out, "    %5zu", i);
    for (size_t j = 0; j < fl_json_array_size(row); j++) {
      double v = NAN;
      fl_json_number(fl_json_array_at(row, j), &v);
      fprintf(o->out, " %7.0f", v);
    }
    fprintf(o->out, "\n");
  }
}

int fl_cli_render_job(const fl_cli_out *o, const fl_json *job) {
  if (o->json) return json_line(o, "job", job);
  char id[64], name[FL_NAME_MAX], text[1024], user[64];
  fl_cli_json_cell(id, sizeof id, fl_json_get(job, "job"));
  fl_cli_json_cell(name, sizeof name, fl_json_get(job, "name"));
  fprintf(o->out, "%s%s  %s%s\n", fl_cli_style(o, FL_STYLE_BOLD), id, name,
          fl_cli_style(o, FL_STYLE_RESET));
  user_of(user, sizeof user, job);
  if (fl_json_get(job, "owner") && str_of(job, "user")) {
    char uid[32];
    fl_cli_json_cell(uid, sizeof uid, fl_json_get(job, "owner"));
    snprintf(text, sizeof text, "%s (uid %s)", user, uid);
    field(o, "owner", text);
  } else {
    field(o, "owner", user);
  }
  char state[32], device[128];
  state_of(state, sizeof state, job);
  fl_cli_json_cell(device, sizeof device, fl_json_get(job, "device"));
  if (strcmp(device, "-") != 0)
    snprintf(text, sizeof text, "%s%s%s on device %s",
             fl_cli_style(o, fl_cli_state_style(state)), state,
             fl_cli_style(o, FL_STYLE_RESET), device);
  else
    snprintf(text, sizeof text, "%s%s%s",
             fl_cli_style(o, fl_cli_state_style(state)), state,
             fl_cli_style(o, FL_STYLE_RESET));
  field(o, "state", text);
  epoch_of(text, sizeof text, job);
  field(o, "epoch", text);
  if (fl_json_get(job, "submitted")) {
    submitted_of(text, sizeof text, fl_json_get(job, "submitted"));
    field(o, "submitted", text);
  }
  const fl_json *last = fl_json_get(job, "last_epoch");
  if (last && !fl_json_is_null(last)) {
    last_epoch_of(text, sizeof text, last);
    field(o, "last epoch", text);
  }
  const fl_json *cause = fl_json_get(job, "cause");
  if (cause && !fl_json_is_null(cause)) {
    char c[128];
    fl_cli_json_cell(c, sizeof c, cause);
    snprintf(text, sizeof text, "%s%s%s", fl_cli_style(o, FL_STYLE_WARN), c,
             fl_cli_style(o, FL_STYLE_RESET));
    field(o, "cause", text);
  }
  const fl_json *message = fl_json_get(job, "message");
  if (message && !fl_json_is_null(message)) {
    fl_cli_json_cell(text, sizeof text, message);
    field(o, "message", text);
  }
  const fl_json *metrics = fl_json_get(job, "metrics");
  if (metrics && !fl_json_is_null(metrics)) fl_cli_render_class_report(o, metrics, SIZE_MAX);
  if (fl_json_get(job, "fixed_spec") &&
      !fl_json_is_null(fl_json_get(job, "fixed_spec"))) {
    snprintf(text, sizeof text, "'flatline show %s --fixed-spec' prints the "
             "spec with the diagnosed fix", id);
    field(o, "fix", text);
  }
  const fl_json *spec = fl_json_get(job, "spec");
  if (spec && !fl_json_is_null(spec)) {
    char *compact = fl_json_print(spec);
    if (compact) {
      /* the owner's own spec, but shown on a terminal: made safe all the
       * same (sanitizing never lengthens text) */
      fl_cli_sanitize(compact, strlen(compact) + 1, compact);
      fprintf(o->out, "  spec\n");
      fl_cli_json_pretty(o->out, compact, 2);
    }
    free(compact);
  }
  fflush(o->out);
  return FL_EXIT_OK;
}

int fl_cli_render_fixed_spec(const fl_cli_out *o, const char *job_id,
                             const fl_json *reply) {
  const fl_json *fixed = fl_json_get(reply, "fixed_spec");
  if (!fixed) fixed = fl_json_get(fl_json_get(reply, "job"), "fixed_spec");
  if (!fixed || fl_json_is_null(fixed)) {
    fprintf(o->err,
            "flatline: show %s: there is no fix to apply: the daemon has not "
            "diagnosed a problem with a fix for %s ('flatline show %s' shows "
            "its state)\n",
            job_id, job_id, job_id);
    return FL_EXIT_FAILED;
  }
  /* A daemon may send the fixed spec as an object or as spec text. */
  fl_json *parsed = NULL;
  if (fl_json_string(fixed)) {
    const char *s = fl_json_string(fixed);
    parsed = fl_json_parse(s, strlen(s), NULL);
    if (parsed) fixed = parsed;
  }
  char *text = fl_json_print(fixed);
  fl_json_free(parsed);
  if (!text) {
    fprintf(o->err, "flatline: out of memory\n");
    return FL_EXIT_FAILED;
  }
  if (o->json) {
    fl_jw w;
    fl_jw_init(&w);
    fl_jw_object_begin(&w, NULL);
    fl_jw_str(&w, "event", "fixed_spec");
    fl_jw_str(&w, "job", job_id);
    fl_jw_raw(&w, "spec", text); /* fl_json_print's own output: valid JSON */
    bool printed = fl_cli_print_jw(o, &w);
    free(text);
    if (!printed) {
      fprintf(o->err, "flatline: out of memory\n");
      return FL_EXIT_FAILED;
    }
    return FL_EXIT_OK;
  }
  /* On a terminal the text is made safe; into a file it goes as it is,
   * since the user will submit it. */
  if (o->out_tty) fl_cli_sanitize(text, strlen(text) + 1, text);
  fl_cli_json_pretty(o->out, text, 0);
  fflush(o->out);
  if (o->err_tty)
    fprintf(o->err, "flatline: %s's spec with the diagnosed fix applied; its "
            "data paths are relative to the original spec's folder, so save "
            "it there before submitting it\n", job_id);
  free(text);
  return FL_EXIT_OK;
}

/* ---- group G: a sweep's summary (issue 15) ---- */

/* What ranks a job: its final val_accuracy (by_val) or accuracy; -inf
 * when it has none yet, so that it goes last. */
static double rank_key(const fl_json *job, bool by_val) {
  double v;
  if (fl_json_number(fl_json_get(job, by_val ? "val_accuracy" : "accuracy"), &v) &&
      v == v)
    return v;
  return -INFINITY;
}

static double job_number(const fl_json *job) {
  const char *id = str_of(job, "job");
  return id && id[0] == 'j' ? strtod(id + 1, NULL) : 0;
}

/* Any job with a val_accuracy: then it ranks all of them. */
static bool ranks_by_val(const fl_json *jobs) {
  for (size_t i = 0; i < fl_json_array_size(jobs); i++)
    if (rank_key(fl_json_array_at(jobs, i), true) > -INFINITY) return true;
  return false;
}

void fl_cli_group_order(const fl_json *jobs, size_t *out, size_t n) {
  bool by_val = ranks_by_val(jobs);
  /* insertion sort: stable, and a group is at most a few hundred jobs */
  for (size_t i = 0; i < n; i++) {
    const fl_json *job = fl_json_array_at(jobs, i);
    double k = rank_key(job, by_val), num = job_number(job);
    size_t at = i;
    while (at > 0) {
      const fl_json *prev = fl_json_array_at(jobs, out[at - 1]);
      double pk = rank_key(prev, by_val);
      if (pk > k || (pk == k && job_number(prev) <= num)) break;
      out[at] = out[at - 1];
      at--;
    }
    out[at] = i;
  }
}

/* "healthy", "problem: cause", "unexplained", or "-" before the verdict. */
static void verdict_cell(char *buf, size_t size, const fl_json *job, fl_style *style) {
  const char *v = str_of(job, "verdict");
  char cause[64];
  fl_cli_json_cell(cause, sizeof cause, fl_json_get(job, "cause"));
  *style = FL_STYLE_NONE;
  if (!v) {
    snprintf(buf, size, "-");
    return;
  }
  char sv[24];
  fl_cli_sanitize(sv, sizeof sv, v);
  if (strcmp(v, FL_VERDICT_IS_PROBLEM) == 0 && strcmp(cause, "-") != 0)
    snprintf(buf, size, "%s: %s", sv, cause);
  else
    snprintf(buf, size, "%s", sv);
  *style = strcmp(v, FL_VERDICT_IS_HEALTHY) == 0   ? FL_STYLE_GOOD
           : strcmp(v, FL_VERDICT_IS_PROBLEM) == 0 ? FL_STYLE_ALERT
                                                   : FL_STYLE_WARN;
}

static void metric_cell(char *buf, size_t size, const fl_json *job, const char *key) {
  double v;
  if (fl_json_number(fl_json_get(job, key), &v)) fl_cli_format_metric(buf, size, v);
  else snprintf(buf, size, "-");
}

/* Adds the keys of one compact JSON object text (fl_json_print's) to
 * keys[0..*n): the view has no key iteration, so the text is scanned,
 * strings and their escapes skipped. Keys other than the daemon's
 * [A-Za-z0-9_.] are left out. */
static void object_keys(const char *text, char keys[][FL_SWEEP_KEY_MAX], size_t *n) {
  int depth = 0;
  bool in_string = false, escaped = false, is_key = false, expect_key = false;
  const char *start = NULL;
  for (const char *p = text; *p; p++) {
    char c = *p;
    if (in_string) {
      if (escaped) escaped = false;
      else if (c == '\\') escaped = true;
      else if (c == '"') {
        in_string = false;
        size_t len = (size_t)(p - start);
        if (!is_key || len == 0 || len >= FL_SWEEP_KEY_MAX ||
            strspn(start, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                          "0123456789_.") < len)
          continue;
        bool seen = false;
        for (size_t j = 0; j < *n && !seen; j++)
          seen = strncmp(keys[j], start, len) == 0 && keys[j][len] == '\0';
        if (!seen && *n < FL_SWEEP_MAX_KEYS) {
          memcpy(keys[*n], start, len);
          keys[(*n)++][len] = '\0';
        }
      }
    } else if (c == '"') {
      in_string = true;
      is_key = depth == 1 && expect_key;
      start = p + 1;
    } else if (c == '{' || c == '[') {
      depth++;
      expect_key = c == '{' && depth == 1;
    } else if (c == '}' || c == ']') {
      depth--;
    } else if (c == ',') {
      expect_key = depth == 1;
    } else if (c == ':') {
      expect_key = false;
    }
  }
}

/* The swept keys, in the order the jobs first name them. */
static size_t sweep_keys(const fl_json *jobs, char keys[][FL_SWEEP_KEY_MAX]) {
  size_t n = 0;
  for (size_t i = 0; i < fl_json_array_size(jobs); i++) {
    const fl_json *sw = fl_json_get(fl_json_array_at(jobs, i), "sweep");
    char *text = sw && !fl_json_is_null(sw) ? fl_json_print(sw) : NULL;
    if (text && text[0] == '{') object_keys(text, keys, &n);
    free(text);
  }
  return n;
}

int fl_cli_render_group(const fl_cli_out *o, const char *group, const fl_json *jobs) {
  size_t n = fl_json_array_size(jobs);
  size_t *order = calloc(n ? n : 1, sizeof *order);
  if (!order) {
    fprintf(o->err, "flatline: out of memory\n");
    return FL_EXIT_FAILED;
  }
  fl_cli_group_order(jobs, order, n);
  int rc = FL_EXIT_OK;
  if (o->json) {
    for (size_t r = 0; r < n && !rc; r++) {
      char *line = fl_cli_json_with_event("group_job", fl_json_array_at(jobs, order[r]));
      char tail[96];
      snprintf(tail, sizeof tail, "{\"rank\":%zu,\"group\":\"%s\"}", r + 1, group);
      char *both = line ? fl_cli_json_concat(line, tail) : NULL;
      if (both) fl_cli_print_json_line(o, both);
      else rc = FL_EXIT_FAILED;
      free(both);
      free(line);
    }
    if (rc) fprintf(o->err, "flatline: out of memory\n");
    free(order);
    return rc;
  }
  char keys[FL_SWEEP_MAX_KEYS][FL_SWEEP_KEY_MAX];
  size_t nk = sweep_keys(jobs, keys);
  bool by_val = ranks_by_val(jobs);
  fprintf(o->out, "group %s: %zu job%s, best first (by final %s)\n", group, n,
          n == 1 ? "" : "s", by_val ? "val_accuracy" : "accuracy");
  /* #, JOB, the keys, STATE, LOSS, ACC, VAL_ACC, VERDICT */
  size_t cols = 2 + nk + 5;
  unsigned right = 1u << 0;
  for (size_t c = 2 + nk + 1; c < 2 + nk + 4; c++) right |= 1u << c;
  fl_cli_table t;
  fl_cli_table_init(&t, cols, right);
  const char *header[FL_CLI_TABLE_MAX_COLS];
  size_t h = 0;
  header[h++] = "#";
  header[h++] = "JOB";
  for (size_t k = 0; k < nk; k++) header[h++] = keys[k];
  header[h++] = "STATE";
  header[h++] = "LOSS";
  header[h++] = "ACC";
  header[h++] = "VAL_ACC";
  header[h++] = "VERDICT";
  fl_cli_table_add(&t, header, NULL);
  for (size_t r = 0; r < n; r++) {
    const fl_json *job = fl_json_array_at(jobs, order[r]);
    const fl_json *sw = fl_json_get(job, "sweep");
    char cells[FL_CLI_TABLE_MAX_COLS][128];
    const char *row[FL_CLI_TABLE_MAX_COLS];
    fl_style styles[FL_CLI_TABLE_MAX_COLS] = {0};
    size_t c = 0;
    snprintf(cells[c++], sizeof cells[0], "%zu", r + 1);
    fl_cli_json_cell(cells[c++], sizeof cells[0], fl_json_get(job, "job"));
    for (size_t k = 0; k < nk; k++)
      fl_cli_json_cell(cells[c++], sizeof cells[0], fl_json_get(sw, keys[k]));
    state_of(cells[c], sizeof cells[0], job);
    styles[c] = fl_cli_state_style(cells[c]);
    c++;
    metric_cell(cells[c++], sizeof cells[0], job, "loss");
    metric_cell(cells[c++], sizeof cells[0], job, "accuracy");
    metric_cell(cells[c++], sizeof cells[0], job, "val_accuracy");
    verdict_cell(cells[c], sizeof cells[0], job, &styles[c]);
    c++;
    for (size_t i = 0; i < c; i++) row[i] = cells[i];
    fl_cli_table_add(&t, row, styles);
  }
  rc = fl_cli_table_print(&t, o);
  fl_cli_table_free(&t);
  free(order);
  return rc;
}

int fl_cli_render_findings(const fl_cli_out *o, const char *spec_path,
                           const fl_json *findings) {
  bool has_error = fl_cli_findings_have_error(findings);
  if (o->json) {
    char *body = findings ? fl_json_print(findings) : NULL;
    fl_jw w;
    fl_jw_init(&w);
    fl_jw_object_begin(&w, NULL);
    fl_jw_str(&w, "event", "preflight");
    fl_jw_raw(&w, "findings", body ? body : "[]");
    bool printed = fl_cli_print_jw(o, &w);
    free(body);
    if (!printed) {
      fprintf(o->err, "flatline: out of memory\n");
      return FL_EXIT_FAILED;
    }
    return has_error ? FL_EXIT_FAILED : FL_EXIT_OK;
  }
  char path[FL_PATH_MAX];
  fl_cli_sanitize(path, sizeof path, spec_path);
  size_t n = fl_json_array_size(findings), errors = 0;
  for (size_t i = 0; i < n; i++) {
    const char *sev = str_of(fl_json_array_at(findings, i), "severity");
    if (sev && strcmp(sev, "error") == 0) errors++;
  }
  if (n == 0) {
    fprintf(o->out, "%s%s: no problems found%s\n", fl_cli_style(o, FL_STYLE_GOOD),
            path, fl_cli_style(o, FL_STYLE_RESET));
    fflush(o->out);
    return FL_EXIT_OK;
  }
  fprintf(o->out, "%s: %zu error%s, %zu warning%s\n", path, errors,
          errors == 1 ? "" : "s", n - errors, n - errors == 1 ? "" : "s");
  for (size_t i = 0; i < n; i++) {
    const fl_json *f = fl_json_array_at(findings, i);
    char sev[16], cause[64], message[1024];
    fl_cli_sanitize(sev, sizeof sev, str_of(f, "severity"));
    fl_cli_json_cell(cause, sizeof cause, fl_json_get(f, "cause"));
    fl_cli_json_cell(message, sizeof message, fl_json_get(f, "message"));
    fl_style style = strcmp(sev, "error") == 0 ? FL_STYLE_ALERT : FL_STYLE_WARN;
    fprintf(o->out, "  %s%-8s%s %s: %s\n", fl_cli_style(o, style),
            sev[0] ? sev : "note", fl_cli_style(o, FL_STYLE_RESET), cause,
            message);
    const fl_json *fix = fl_json_get(f, "fix");
    if (fix && !fl_json_is_null(fix)) {
      char *fix_text = fl_json_print(fix);
      fl_cli_sanitize(message, sizeof message, fix_text ? fix_text : "?");
      free(fix_text);
      fprintf(o->out, "           fix: %s\n", message);
    }
  }
  fflush(o->out);
  return has_error ? FL_EXIT_FAILED : FL_EXIT_OK;
}
