/* client/follow_view.c — owns how one job's event stream looks: with --json
 * each event object passes through unchanged, one line each, flushed; for
 * people, a per-epoch table, an in-place progress line (terminals only),
 * diagnoses as alert blocks, and a closing sparkline and summary. It also
 * keeps what the exit status needs (was a problem diagnosed, how did the
 * job end). It is fed parsed events, so it never touches the socket. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "output.h"

/* Widest sparkline printed: one bar per epoch up to this, then averaged. */
#define SPARK_WIDTH 60
#define PROGRESS_BAR 20

static const char *str_of(const fl_json *obj, const char *key) {
  return fl_json_string(fl_json_get(obj, key));
}

static bool num_of(const fl_json *obj, const char *key, double *out) {
  return fl_json_number(fl_json_get(obj, key), out);
}

void fl_follow_init(fl_follow_view *v, const fl_cli_out *o, const char *job,
                    int epochs_total) {
  memset(v, 0, sizeof *v);
  v->o = o;
  if (job) snprintf(v->job, sizeof v->job, "%s", job);
  v->epochs_total = epochs_total;
  v->first_loss = NAN;
  v->exit_status = FL_EXIT_FAILED; /* until an end event says otherwise */
}

void fl_follow_free(fl_follow_view *v) {
  free(v->losses);
  v->losses = NULL;
  v->n_losses = v->cap = 0;
}

/* ---- the pieces ---- */

/* A metric cell: "-" when the event lacks it, "nan" when it is null (the
 * daemon writes non-finite numbers as null). */
static void metric_cell(char *buf, size_t size, const fl_json *ev,
                        const char *key, const char *fmt) {
  const fl_json *v = fl_json_get(ev, key);
  double d;
  if (!v) snprintf(buf, size, "-");
  else if (fl_json_is_null(v)) snprintf(buf, size, "nan");
  else if (!fl_json_number(v, &d)) snprintf(buf, size, "?");
  else if (!fmt) fl_cli_format_metric(buf, size, d);
  else snprintf(buf, size, fmt, d);
}

/* "3/20", or "3" when the total is not known. */
static void epoch_cell(char *buf, size_t size, const fl_json *ev, int total) {
  double e = 0;
  if (!num_of(ev, "epoch", &e)) {
    snprintf(buf, size, "?");
    return;
  }
  if (total > 0) snprintf(buf, size, "%.0f/%d", e, total);
  else snprintf(buf, size, "%.0f", e);
}

void fl_cli_epoch_header(char *buf, size_t size) {
  snprintf(buf, size, "%7s  %9s  %8s  %9s  %8s  %9s  %8s  %10s", "epoch",
           "loss", "accuracy", "val_loss", "val_acc", "lr", "seconds",
           "samples/s");
}

void fl_cli_epoch_row(char *buf, size_t size, const fl_json *ev,
                      int epochs_total) {
  char epoch[24], loss[24], acc[24], vloss[24], vacc[24], lr[24], secs[24],
      rate[24];
  epoch_cell(epoch, sizeof epoch, ev, epochs_total);
  metric_cell(loss, sizeof loss, ev, "loss", NULL);
  metric_cell(acc, sizeof acc, ev, "accuracy", NULL);
  metric_cell(vloss, sizeof vloss, ev, "val_loss", NULL);
  metric_cell(vacc, sizeof vacc, ev, "val_accuracy", NULL);
  metric_cell(lr, sizeof lr, ev, "lr", "%.3g");
  metric_cell(secs, sizeof secs, ev, "seconds", "%.1f");
  metric_cell(rate, sizeof rate, ev, "samples_per_s", "%.0f");
  snprintf(buf, size, "%7s  %9s  %8s  %9s  %8s  %9s  %8s  %10s", epoch, loss,
           acc, vloss, vacc, lr, secs, rate);
}

void fl_cli_progress_line(char *buf, size_t size, const fl_json *ev,
                          int epochs_total) {
  char epoch[24];
  double step = 0, steps = 0;
  epoch_cell(epoch, sizeof epoch, ev, epochs_total);
  num_of(ev, "step", &step);
  num_of(ev, "steps", &steps);
  double frac = steps > 0 ? step / steps : 0;
  if (!(frac >= 0)) frac = 0; /* NaN too */
  if (frac > 1) frac = 1;
  int filled = (int)(frac * PROGRESS_BAR + 0.5);
  char bar[PROGRESS_BAR * 3 + 1];
  size_t at = 0;
  for (int i = 0; i < PROGRESS_BAR; i++) {
    memcpy(bar + at, i < filled ? "█" : "░", 3);
    at += 3;
  }
  bar[at] = '\0';
  snprintf(buf, size, "  epoch %s  step %.0f/%.0f  %s %3.0f%%", epoch, step,
           steps, bar, frac * 100);
}

/* ---- the human view ---- */

void fl_follow_clear_progress(fl_follow_view *v) {
  if (!v->progress_width) return;
  /* Spaces rather than an erase-line escape: works on any terminal and
   * with colour off. */
  FILE *f = v->o->out;
  fputc('\r', f);
  for (size_t i = 0; i < v->progress_width; i++) fputc(' ', f);
  fputc('\r', f);
  v->progress_width = 0;
}

static void show_progress(fl_follow_view *v, const fl_json *ev) {
  if (!v->o->out_tty) return; /* a log file wants no \r */
  char line[256];
  fl_cli_progress_line(line, sizeof line, ev, v->epochs_total);
  size_t w = fl_cli_text_width(line);
  fputc('\r', v->o->out);
  fputs(line, v->o->out);
  for (size_t i = w; i < v->progress_width; i++) fputc(' ', v->o->out);
  v->progress_width = w > v->progress_width ? w : v->progress_width;
  fflush(v->o->out);
}

static void show_epoch(fl_follow_view *v, const fl_json *ev) {
  const fl_cli_out *o = v->o;
  char line[256];
  fl_follow_clear_progress(v);
  if (!v->header_printed) {
    fl_cli_epoch_header(line, sizeof line);
    fprintf(o->out, "%s%s%s\n", fl_cli_style(o, FL_STYLE_BOLD), line,
            fl_cli_style(o, FL_STYLE_RESET));
    v->header_printed = true;
  }
  fl_cli_epoch_row(line, sizeof line, ev, v->epochs_total);
  fprintf(o->out, "%s\n", line);
}

/* Evidence may be one sentence or a list of them. */
static void show_evidence(const fl_cli_out *o, const fl_json *ev) {
  char text[1024];
  size_t n = fl_json_array_size(ev);
  if (n == 0) {
    fl_cli_json_cell(text, sizeof text, ev);
    fprintf(o->out, "      evidence  %s\n", text);
    return;
  }
  for (size_t i = 0; i < n; i++) {
    fl_cli_json_cell(text, sizeof text, fl_json_array_at(ev, i));
    fprintf(o->out, "      %s  %s\n", i == 0 ? "evidence" : "        ", text);
  }
}

static void show_diagnosis(fl_follow_view *v, const fl_json *ev) {
  bool any_fix = false;
  const fl_cli_out *o = v->o;
  const fl_json *causes = fl_json_get(ev, "causes");
  size_t n = fl_json_array_size(causes);
  char epoch[24], job[FL_JOB_ID_MAX + 8];
  fl_follow_clear_progress(v);
  epoch_cell(epoch, sizeof epoch, ev, 0);
  fl_cli_sanitize(job, sizeof job, v->job[0] ? v->job : str_of(ev, "job"));
  if (n == 0) {
    fprintf(o->out, "%s   diagnosis (%s, epoch %s): no problem found%s\n",
            fl_cli_style(o, FL_STYLE_DIM), job, epoch,
            fl_cli_style(o, FL_STYLE_RESET));
    return;
  }
  fprintf(o->out, "%s!! diagnosis (%s, epoch %s): %zu cause%s%s\n",
          fl_cli_style(o, FL_STYLE_ALERT), job, epoch, n, n == 1 ? "" : "s",
          fl_cli_style(o, FL_STYLE_RESET));
  for (size_t i = 0; i < n; i++) {
    const fl_json *c = fl_json_array_at(causes, i);
    char name[128], text[1024];
    double conf;
    fl_cli_sanitize(name, sizeof name, str_of(c, "cause"));
    fprintf(o->out, "   %zu. %s%s%s", i + 1, fl_cli_style(o, FL_STYLE_WARN),
            name[0] ? name : "(unnamed cause)", fl_cli_style(o, FL_STYLE_RESET));
    if (num_of(c, "confidence", &conf)) fprintf(o->out, "  confidence %.2f", conf);
    fputc('\n', o->out);
    if (fl_json_get(c, "evidence")) show_evidence(o, fl_json_get(c, "evidence"));
    if (fl_json_get(c, "advice")) {
      fl_cli_json_cell(text, sizeof text, fl_json_get(c, "advice"));
      fprintf(o->out, "      advice    %s\n", text);
    }
    const fl_json *fix = fl_json_get(c, "fix");
    if (fix && !fl_json_is_null(fix)) {
      any_fix = true;
      char *fix_text = fl_json_print(fix);
      fl_cli_sanitize(text, sizeof text, fix_text ? fix_text : "?");
      free(fix_text);
      fprintf(o->out, "      fix       %s\n", text);
    }
  }
  if (any_fix)
    fprintf(o->out, "%s   'flatline show %s --fixed-spec' prints the spec with "
            "the first fix applied.%s\n", fl_cli_style(o, FL_STYLE_DIM), job,
            fl_cli_style(o, FL_STYLE_RESET));
  else
    fprintf(o->out, "%s   no change to the spec fixes this: see the advice.%s\n",
            fl_cli_style(o, FL_STYLE_DIM), fl_cli_style(o, FL_STYLE_RESET));
}

/* The job's final word: healthy, problem (its causes were shown by the
 * diagnosis events, or are listed here when new), or unexplained with
 * what was tried. */
/* Above this many classes the follow view prints the report's first line
 * only: a 50 x 50 confusion matrix does not belong in a stream. */
#define FOLLOW_REPORT_MAX_CLASSES 12

static void show_verdict(fl_follow_view *v, const fl_json *ev) {
  const fl_cli_out *o = v->o;
  char verdict[32], job[FL_JOB_ID_MAX + 8], text[1024];
  fl_follow_clear_progress(v);
  fl_cli_sanitize(job, sizeof job, v->job[0] ? v->job : str_of(ev, "job"));
  fl_cli_sanitize(verdict, sizeof verdict, str_of(ev, "verdict"));
  const fl_json *causes = fl_json_get(ev, "causes"), *tried = fl_json_get(ev, "tried");
  bool problem = strcmp(verdict, FL_VERDICT_IS_PROBLEM) == 0, healthy = strcmp(verdict, FL_VERDICT_IS_HEALTHY) == 0;
  fprintf(o->out, "%sverdict (%s): %s%s", fl_cli_style(o, problem ? FL_STYLE_ALERT : healthy ? FL_STYLE_GOOD : FL_STYLE_WARN),
          job, verdict[0] ? verdict : "?", fl_cli_style(o, FL_STYLE_RESET));
  for (size_t i = 0; i < fl_json_array_size(causes); i++) {
    char name[128];
    double conf = 0;
    const fl_json *c = fl_json_array_at(causes, i);
    fl_cli_sanitize(name, sizeof name, str_of(c, "cause"));
    num_of(c, "confidence", &conf);
    fprintf(o->out, "%s%s (confidence %.2f)", i ? ", " : " - ", name, conf);
  }
  fputc('\n', o->out);
  if (fl_json_string(fl_json_get(ev, "note"))) {
    fl_cli_sanitize(text, sizeof text, str_of(ev, "note"));
    fprintf(o->out, "   %s\n", text);
  }
  if (!problem && !healthy)
    for (size_t i = 0; i < fl_json_array_size(tried); i++) {
      fl_cli_json_cell(text, sizeof text, fl_json_array_at(tried, i));
      fprintf(o->out, "   tried: %s\n", text);
    }
  /* The class report, whole for a screenful of classes. */
  const fl_json *metrics = fl_json_get(ev, "metrics");
  if (metrics && !fl_json_is_null(metrics))
    fl_cli_render_class_report(o, metrics, FOLLOW_REPORT_MAX_CLASSES);
}

static void show_end(fl_follow_view *v, const fl_json *ev) {
  const fl_cli_out *o = v->o;
  char job[FL_JOB_ID_MAX + 8], state[32], cause[64], message[1024];
  fl_follow_clear_progress(v);
  fl_cli_sanitize(job, sizeof job, v->job[0] ? v->job : str_of(ev, "job"));
  fl_cli_sanitize(state, sizeof state, str_of(ev, "state"));
  fl_cli_sanitize(cause, sizeof cause, str_of(ev, "cause"));
  fl_cli_sanitize(message, sizeof message, str_of(ev, "message"));

  if (v->n_losses > 0) {
    char spark[SPARK_WIDTH * 3 + 1], first[24], last[24];
    fl_cli_sparkline(spark, sizeof spark, v->losses, v->n_losses, SPARK_WIDTH);
    fl_cli_format_metric(first, sizeof first, v->first_loss);
    fl_cli_format_metric(last, sizeof last, v->losses[v->n_losses - 1]);
    fprintf(o->out, "loss %s  %s -> %s over %zu epoch%s\n", spark, first, last,
            v->n_losses, v->n_losses == 1 ? "" : "s");
  }
  if (strcmp(state, "done") == 0 && !v->diagnosed) {
    /* Tenths, or two significant digits under a tenth: a 48-row job's 40
     * epochs take 0.021 s, which "0.0 s" misreports as nothing. */
    fprintf(o->out, v->seconds_total < 0.05 ? "%s%s done%s: %zu epoch%s in %.2g s"
                                             : "%s%s done%s: %zu epoch%s in %.1f s",
            fl_cli_style(o, FL_STYLE_GOOD), job, fl_cli_style(o, FL_STYLE_RESET),
            v->n_losses, v->n_losses == 1 ? "" : "s", v->seconds_total);
    if (v->last_val_acc[0]) fprintf(o->out, ", val_acc %s", v->last_val_acc);
    fputc('\n', o->out);
  } else if (strcmp(state, "done") == 0) {
    fprintf(o->out, "%s%s done, with a diagnosed problem%s%s%s", fl_cli_style(o, FL_STYLE_WARN),
            job, v->first_cause[0] ? ": " : "", v->first_cause, fl_cli_style(o, FL_STYLE_RESET));
    if (v->any_fix)
      fprintf(o->out, "; 'flatline show %s --fixed-spec' prints the spec with its fix", job);
    fputc('\n', o->out);
  } else {
    fl_style style = strcmp(state, "cancelled") == 0 ? FL_STYLE_DIM : FL_STYLE_ALERT;
    fprintf(o->out, "%s%s %s%s%s%s%s%s\n", fl_cli_style(o, style), job,
            state[0] ? state : "ended", cause[0] ? ": " : "", cause,
            message[0] ? ": " : "", message, fl_cli_style(o, FL_STYLE_RESET));
  }
}

/* Preflight's findings, one line each: a warning is a note (a claim only
 * once training or a probe confirms it), an error rejected the job (its
 * verdict follows). */
static void show_preflight(fl_follow_view *v, const fl_json *ev) {
  const fl_cli_out *o = v->o;
  const fl_json *findings = fl_json_get(ev, "findings");
  fl_follow_clear_progress(v);
  for (size_t i = 0; i < fl_json_array_size(findings); i++) {
    const fl_json *f = fl_json_array_at(findings, i);
    char severity[32], cause[64], text[1024];
    fl_cli_sanitize(severity, sizeof severity, str_of(f, "severity"));
    fl_cli_sanitize(cause, sizeof cause, str_of(f, "cause"));
    fl_cli_sanitize(text, sizeof text, str_of(f, "message"));
    bool error = strcmp(severity, "error") == 0;
    fprintf(o->out, "%s   preflight %s: %s%s%s%s\n",
            fl_cli_style(o, error ? FL_STYLE_WARN : FL_STYLE_DIM),
            error ? "error" : "note", cause[0] ? cause : "(no cause)",
            text[0] ? ": " : "", text, fl_cli_style(o, FL_STYLE_RESET));
    const fl_json *fix = fl_json_get(f, "fix");
    if (fix && !fl_json_is_null(fix)) { /* a merge patch: its compact text */
      fl_cli_json_cell(text, sizeof text, fix);
      fprintf(o->out, "      fix       %s\n", text);
    }
  }
}

/* on_plateau "fix": the change applied (a merge patch, its compact text)
 * and the loss it was applied at; "fixed": the loss before and after. */
static void show_fix(fl_follow_view *v, const char *type, const fl_json *ev) {
  const fl_cli_out *o = v->o;
  char cause[64], text[1024];
  double before = NAN, after = NAN;
  fl_follow_clear_progress(v);
  fl_cli_sanitize(cause, sizeof cause, str_of(ev, "cause"));
  num_of(ev, "loss_before", &before);
  if (strcmp(type, FL_EVENT_FIX) == 0) {
    const fl_json *fix = fl_json_get(ev, "fix");
    text[0] = '\0';
    if (fix && !fl_json_is_null(fix)) fl_cli_json_cell(text, sizeof text, fix);
    fprintf(o->out, "%s   fix applied for %s at loss %.4g%s\n      patch     %s\n",
            fl_cli_style(o, FL_STYLE_DIM), cause[0] ? cause : "(no cause)", before,
            fl_cli_style(o, FL_STYLE_RESET), text);
  } else {
    num_of(ev, "loss_after", &after);
    fprintf(o->out, "%s   fixed %s: loss %.4g -> %.4g%s\n", fl_cli_style(o, FL_STYLE_DIM),
            cause[0] ? cause : "(no cause)", before, after, fl_cli_style(o, FL_STYLE_RESET));
  }
}

/* An event this client has no view for: one dim line, so nothing the
 * daemon says is lost. */
static void show_other(fl_follow_view *v, const char *type, const fl_json *ev) {
  const fl_cli_out *o = v->o;
  char name[64], text[1024];
  fl_follow_clear_progress(v);
  fl_cli_sanitize(name, sizeof name, type);
  const fl_json *msg = fl_json_get(ev, "message");
  if (fl_json_string(msg)) {
    fl_cli_sanitize(text, sizeof text, fl_json_string(msg));
  } else {
    char *all = fl_json_print(ev);
    fl_cli_sanitize(text, sizeof text, all ? all : "");
    free(all);
  }
  fprintf(o->out, "%s   [%s] %s%s\n", fl_cli_style(o, FL_STYLE_DIM),
          name[0] ? name : "event", text, fl_cli_style(o, FL_STYLE_RESET));
}

/* ---- what the summary and the exit status need ---- */

static void record(fl_follow_view *v, const char *type, const fl_json *ev) {
  double d;
  if (v->epochs_total == 0 && num_of(ev, "epochs", &d) && d > 0 && d < 1e9)
    v->epochs_total = (int)d;
  if (strcmp(type, FL_EVENT_EPOCH) == 0) {
    if (v->n_losses == v->cap) {
      size_t cap = v->cap ? v->cap * 2 : 64;
      double *l = realloc(v->losses, cap * sizeof *l);
      if (!l) return; /* the sparkline misses an epoch; the table does not */
      v->losses = l;
      v->cap = cap;
    }
    double loss = NAN;
    num_of(ev, "loss", &loss);
    if (v->n_losses == 0) v->first_loss = loss;
    v->losses[v->n_losses++] = loss;
    if (num_of(ev, "seconds", &d) && isfinite(d)) v->seconds_total += d;
    if (fl_json_get(ev, "val_accuracy"))
      metric_cell(v->last_val_acc, sizeof v->last_val_acc, ev, "val_accuracy",
                  NULL);
  } else if (strcmp(type, FL_EVENT_DIAGNOSIS) == 0) {
    const fl_json *causes = fl_json_get(ev, "causes");
    if (fl_json_array_size(causes) > 0) {
      v->diagnosed = true;
      if (!v->first_cause[0])
        fl_cli_sanitize(v->first_cause, sizeof v->first_cause,
                        str_of(fl_json_array_at(causes, 0), "cause"));
      for (size_t i = 0; i < fl_json_array_size(causes); i++) {
        const fl_json *f = fl_json_get(fl_json_array_at(causes, i), "fix");
        if (f && !fl_json_is_null(f)) v->any_fix = true;
      }
    }
  } else if (strcmp(type, FL_EVENT_VERDICT) == 0) {
    /* The verdict supersedes earlier diagnoses (one can be withdrawn). */
    const fl_json *causes = fl_json_get(ev, "causes");
    const char *verdict = str_of(ev, "verdict");
    v->has_verdict = true;
    v->diagnosed = verdict && strcmp(verdict, FL_VERDICT_IS_PROBLEM) == 0 && fl_json_array_size(causes) > 0;
    v->first_cause[0] = '\0';
    v->any_fix = false;
    if (v->diagnosed) {
      fl_cli_sanitize(v->first_cause, sizeof v->first_cause,
                      str_of(fl_json_array_at(causes, 0), "cause"));
      for (size_t i = 0; i < fl_json_array_size(causes); i++) {
        const fl_json *f = fl_json_get(fl_json_array_at(causes, i), "fix");
        if (f && !fl_json_is_null(f)) v->any_fix = true;
      }
    }
  } else if (strcmp(type, FL_EVENT_END) == 0 && !v->has_verdict) {
    const fl_json *cause = fl_json_get(ev, "cause");
    if (cause && !fl_json_is_null(cause)) {
      v->diagnosed = true;
      if (!v->first_cause[0])
        fl_cli_sanitize(v->first_cause, sizeof v->first_cause,
                        fl_json_string(cause));
    }
  }
}

int fl_follow_event(fl_follow_view *v, const fl_json *ev) {
  const char *type = str_of(ev, "event");
  if (!type) type = "";
  if (v->ended) return 1; /* the stream ends at the first end event */
  record(v, type, ev);

  if (v->o->json) {
    char *text = fl_json_print(ev);
    fl_cli_print_json_line(v->o, text);
    free(text);
  } else if (strcmp(type, FL_EVENT_EPOCH) == 0) {
    show_epoch(v, ev);
  } else if (strcmp(type, FL_EVENT_PROGRESS) == 0) {
    show_progress(v, ev);
  } else if (strcmp(type, FL_EVENT_DIAGNOSIS) == 0) {
    show_diagnosis(v, ev);
  } else if (strcmp(type, FL_EVENT_VERDICT) == 0) {
    show_verdict(v, ev);
  } else if (strcmp(type, FL_EVENT_END) == 0) {
    show_end(v, ev);
  } else if (strcmp(type, FL_EVENT_PREFLIGHT) == 0 && fl_json_array_size(fl_json_get(ev, "findings")) > 0) {
    show_preflight(v, ev);
  } else if (strcmp(type, FL_EVENT_FIX) == 0 || strcmp(type, FL_EVENT_FIXED) == 0) {
    show_fix(v, type, ev);
  } else {
    show_other(v, type, ev);
  }
  fflush(v->o->out);

  if (strcmp(type, FL_EVENT_END) != 0) return 0;
  v->ended = true;
  v->exit_status = fl_cli_exit_for_end(str_of(ev, "state"), v->diagnosed);
  return 1;
}
