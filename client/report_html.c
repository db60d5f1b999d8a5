/* client/report_html.c — owns the page of `flatline report`: one HTML
 * file with its style inline and its pictures as inline SVG (report_svg.c),
 * no script, no font or anything else fetched, so it opens anywhere and
 * can be mailed. Sections: the job and its outcome, the curves (loss,
 * accuracy, learning rate) with markers where a sign was detected and a
 * diagnosis fired, the verdict, each diagnosis with its probes beside the
 * baseline, the class report, other events, the spec. Everything the job
 * or the daemon says goes through fl_html_text. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "output.h"
#include "report.h"

#define CHART_W 960
#define CHART_H 300

static const char *const page_style =
    "body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,'DejaVu Sans',"
    "sans-serif;margin:24px auto;max-width:1000px;color:#222;background:#fafafa}"
    "h1{font-size:1.5em;margin:0 0 4px}h2{border-bottom:1px solid #ccc;"
    "padding-bottom:4px;margin-top:32px}h3{margin:18px 0 6px}"
    ".meta{color:#555}.badge{padding:2px 8px;border-radius:4px;color:#fff;"
    "font-weight:bold}.healthy{background:#2a9d3f}.problem{background:#c62828}"
    ".unexplained{background:#b7791f}.other{background:#777}"
    "svg.chart{display:block;margin:10px 0;background:#fff;border:1px solid #ddd}"
    "svg .ct{font:bold 14px sans-serif}svg text{font:12px sans-serif;fill:#333}"
    "svg .tx{text-anchor:middle}svg .ty{text-anchor:end}svg .al{text-anchor:middle;"
    "fill:#555}svg .bl{text-anchor:end}svg .ml{text-anchor:middle;font-weight:bold}"
    "svg .grid{stroke:#e6e6e6;stroke-width:1}svg .plot{fill:none;stroke:#999}"
    "table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #ccc;"
    "padding:3px 8px;text-align:right}th{background:#eee}td.l,th.l{text-align:left}"
    "pre{background:#fff;border:1px solid #ddd;padding:8px;overflow-x:auto;"
    "white-space:pre-wrap;word-break:break-word}.cause{margin:6px 0 12px 16px}"
    ".k{color:#555;display:inline-block;min-width:80px;vertical-align:top}"
    "ul.marks li{list-style:none}.sw{display:inline-block;width:12px;height:12px;"
    "margin-right:6px;vertical-align:middle}footer{margin-top:40px;color:#777;"
    "font-size:.9em}";

/* ---- what a diagnosis says was detected ---- */

typedef enum { SIGN_NONE, SIGN_PLATEAU, SIGN_DIVERGENCE, SIGN_OVERFITTING } sign_kind;

static const struct {
  const char *name, *color;
} signs[] = {
    [SIGN_NONE] = {"diagnosis", "#555555"},
    [SIGN_PLATEAU] = {"plateau", "#e67e00"},
    [SIGN_DIVERGENCE] = {"divergence", "#d62728"},
    [SIGN_OVERFITTING] = {"overfitting", "#8e44ad"},
};

/* The diagnosis event names no trigger; its "signals" are the detectors'
 * sentences (diagnose/detect.c) and its causes are DESIGN §4's codes. Both
 * are read here, one rule a row; the first that matches names the sign. */
static const struct {
  const char *in_signals; /* a phrase of detect.c's, or NULL */
  const char *cause;      /* a cause code, or NULL */
  sign_kind kind;
} sign_rules[] = {
    {"became NaN/Inf", NULL, SIGN_DIVERGENCE},
    {"rising or far above chance", NULL, SIGN_DIVERGENCE},
    {NULL, "numerical_instability", SIGN_DIVERGENCE},
    {NULL, "exploding_gradient", SIGN_DIVERGENCE},
    {"its best, and", NULL, SIGN_OVERFITTING},
    {NULL, "overfitting", SIGN_OVERFITTING},
    {"not meaningfully below its start", NULL, SIGN_PLATEAU},
    {"improved less than", NULL, SIGN_PLATEAU},
};

static const char *str_of(const fl_json *o, const char *key) {
  return fl_json_string(fl_json_get(o, key));
}

static double num_of(const fl_json *o, const char *key) {
  double d;
  return fl_json_number(fl_json_get(o, key), &d) ? d : NAN;
}

static bool is_event(const fl_json *ev, const char *name) {
  const char *t = str_of(ev, "event");
  return t && strcmp(t, name) == 0;
}

static bool has_cause(const fl_json *ev, const char *cause) {
  const fl_json *causes = fl_json_get(ev, "causes");
  for (size_t i = 0; i < fl_json_array_size(causes); i++) {
    const char *c = str_of(fl_json_array_at(causes, i), "cause");
    if (c && strcmp(c, cause) == 0) return true;
  }
  return false;
}

static sign_kind sign_of(const fl_json *diagnosis) {
  const char *signals = str_of(diagnosis, "signals");
  for (size_t i = 0; i < sizeof sign_rules / sizeof sign_rules[0]; i++) {
    if (sign_rules[i].in_signals && signals && strstr(signals, sign_rules[i].in_signals))
      return sign_rules[i].kind;
    if (sign_rules[i].cause && has_cause(diagnosis, sign_rules[i].cause))
      return sign_rules[i].kind;
  }
  return SIGN_NONE;
}

/* ---- markers ---- */

typedef struct {
  fl_svg_marker *m;
  char (*label)[32];
  char (*title)[160];
  size_t n;
} marker_set;

static void add_marker(marker_set *ms, double x, const char *color, const char *label,
                       const char *title) {
  fl_svg_marker *m = &ms->m[ms->n];
  snprintf(ms->label[ms->n], sizeof ms->label[0], "%s", label);
  snprintf(ms->title[ms->n], sizeof ms->title[0], "%s", title);
  m->x = x;
  m->color = color;
  m->label = ms->label[ms->n];
  m->title = ms->title[ms->n];
  ms->n++;
}

/* A marker per diagnosis (D1, D2, ... coloured by what was detected),
 * per callback that acted and per fix applied. */
static int collect_markers(const fl_history *h, marker_set *ms) {
  size_t n = h->n_events ? h->n_events : 1;
  ms->n = 0;
  ms->m = calloc(n, sizeof *ms->m);
  ms->label = calloc(n, sizeof *ms->label);
  ms->title = calloc(n, sizeof *ms->title);
  if (!ms->m || !ms->label || !ms->title) return FL_ENOMEM;
  int d = 0;
  for (size_t i = 0; i < h->n_events; i++) {
    const fl_json *ev = h->events[i];
    double epoch = num_of(ev, "epoch");
    char label[32], title[160];
    if (is_event(ev, FL_EVENT_DIAGNOSIS)) {
      sign_kind k = sign_of(ev);
      const char *top = str_of(fl_json_array_at(fl_json_get(ev, "causes"), 0), "cause");
      snprintf(label, sizeof label, "D%d", ++d);
      snprintf(title, sizeof title, "diagnosis %d at epoch %.0f%s%s: %s", d, epoch,
               k ? ", " : "", k ? signs[k].name : "", top ? top : "no cause");
      add_marker(ms, epoch, signs[k].color, label, title);
    } else if (is_event(ev, FL_EVENT_CALLBACK)) {
      const char *action = str_of(ev, "action");
      snprintf(title, sizeof title, "%s at epoch %.0f: %s", str_of(ev, "callback") ?
               str_of(ev, "callback") : "callback", epoch, action ? action : "?");
      add_marker(ms, epoch, "#2c7fb8", action && !strcmp(action, "reduce_lr") ? "lr"
               : action && !strcmp(action, "stop") ? "stop" : "cb", title);
    } else if (is_event(ev, FL_EVENT_FIX) && isfinite(epoch)) {
      snprintf(title, sizeof title, "fix applied at epoch %.0f", epoch);
      add_marker(ms, epoch, "#2a9d3f", "fix", title);
    }
  }
  return 0;
}

static int by_x(const void *a, const void *b) {
  double x = ((const fl_svg_marker *)a)->x, y = ((const fl_svg_marker *)b)->x;
  return (x > y) - (x < y);
}

static void free_markers(marker_set *ms) {
  free(ms->m);
  free(ms->label);
  free(ms->title);
}

/* ---- the curves ---- */

typedef struct {
  double *x, *loss, *val_loss, *acc, *val_acc, *lr;
} columns;

static int make_columns(const fl_history *h, columns *c) {
  size_t n = h->n_epochs ? h->n_epochs : 1;
  double **all[] = {&c->x, &c->loss, &c->val_loss, &c->acc, &c->val_acc, &c->lr};
  for (size_t k = 0; k < 6; k++)
    if (!(*all[k] = malloc(n * sizeof(double)))) return FL_ENOMEM;
  for (size_t i = 0; i < h->n_epochs; i++) {
    const fl_history_epoch *e = &h->epochs[i];
    c->x[i] = e->epoch;
    c->loss[i] = e->loss;
    c->val_loss[i] = e->val_loss;
    c->acc[i] = e->accuracy;
    c->val_acc[i] = e->val_accuracy;
    c->lr[i] = e->lr;
  }
  return 0;
}

static void free_columns(columns *c) {
  free(c->x), free(c->loss), free(c->val_loss), free(c->acc), free(c->val_acc), free(c->lr);
}

static int write_curves(FILE *f, const fl_history *h) {
  fprintf(f, "<section id=\"curves\"><h2>Training curves</h2>\n");
  if (h->n_epochs == 0) {
    fprintf(f, "<p>No epoch was recorded: the job ended (or is waiting) before its "
            "first epoch.</p></section>\n");
    return 0;
  }
  columns c = {0};
  marker_set ms = {0};
  int rc = make_columns(h, &c);
  if (!rc) rc = collect_markers(h, &ms);
  if (!rc) qsort(ms.m, ms.n, sizeof *ms.m, by_x); /* labels left to right */
  unsigned has = fl_history_metrics(h);
  size_t n = h->n_epochs;
  fl_svg_series loss[2] = {{"loss", "#1f77b4", false, c.x, c.loss, n},
                           {"val_loss", "#ff7f0e", true, c.x, c.val_loss, n}};
  fl_svg_series acc[2] = {{"accuracy", "#1f77b4", false, c.x, c.acc, n},
                          {"val_accuracy", "#ff7f0e", true, c.x, c.val_acc, n}};
  fl_svg_series lr = {"learning rate", "#2a9d3f", false, c.x, c.lr, n};
  size_t n_val = (has & FL_HIST_VAL_LOSS) ? 2 : 1;
  if (!rc) {
    fl_svg_line_chart ch = {"loss-chart", "Loss", "loss", CHART_W, CHART_H, loss, n_val,
                            ms.m, ms.n, FL_SVG_SCALE_AUTO, NAN, NAN};
    rc = fl_svg_write_line_chart(f, &ch);
  }
  if (!rc && (has & FL_HIST_ACCURACY)) {
    fl_svg_line_chart ch = {"accuracy-chart", "Accuracy", "accuracy", CHART_W, CHART_H, acc,
                            (has & FL_HIST_VAL_ACCURACY) ? 2 : 1, ms.m, ms.n,
                            FL_SVG_SCALE_LINEAR, 0, 1};
    rc = fl_svg_write_line_chart(f, &ch);
  }
  if (!rc && (has & FL_HIST_LR)) {
    fl_svg_line_chart ch = {"lr-chart", "Learning rate per epoch", "learning rate", CHART_W,
                            CHART_H * 2 / 3, &lr, 1, ms.m, ms.n, FL_SVG_SCALE_AUTO, NAN, NAN};
    rc = fl_svg_write_line_chart(f, &ch);
  }
  if (!rc && ms.n) {
    fprintf(f, "<ul class=\"marks\">\n");
    for (size_t i = 0; i < ms.n; i++) {
      fprintf(f, "<li><span class=\"sw\" style=\"background:%s\"></span><b>", ms.m[i].color);
      fl_html_text(f, ms.m[i].label);
      fprintf(f, "</b> ");
      fl_html_text(f, ms.m[i].title);
      fprintf(f, "</li>\n");
    }
    fprintf(f, "</ul>\n");
  }
  fprintf(f, "</section>\n");
  free_columns(&c);
  free_markers(&ms);
  return rc;
}

/* ---- causes, diagnoses, verdict ---- */

/* A JSON value pretty-printed and escaped. */
static void write_json_pre(FILE *f, const fl_json *v) {
  char *compact = fl_json_print(v), *pretty = NULL;
  size_t len = 0;
  FILE *m = compact ? open_memstream(&pretty, &len) : NULL;
  if (m) {
    fl_cli_json_pretty(m, compact, 0);
    fclose(m);
  }
  fprintf(f, "<pre>");
  fl_html_text(f, pretty ? pretty : compact);
  fprintf(f, "</pre>\n");
  free(pretty);
  free(compact);
}

/* evidence: one sentence or a list of them */
static void write_text_or_list(FILE *f, const fl_json *v) {
  if (fl_json_string(v)) {
    fl_html_text(f, fl_json_string(v));
    return;
  }
  for (size_t i = 0; i < fl_json_array_size(v); i++) {
    if (i) fprintf(f, "<br>");
    fl_html_text(f, fl_json_string(fl_json_array_at(v, i)));
  }
}

static void write_causes(FILE *f, const fl_json *causes) {
  size_t n = fl_json_array_size(causes);
  if (n == 0) {
    fprintf(f, "<p>No cause: no problem found.</p>\n");
    return;
  }
  fprintf(f, "<ol>\n");
  for (size_t i = 0; i < n; i++) {
    const fl_json *c = fl_json_array_at(causes, i);
    fprintf(f, "<li class=\"cause\"><b>");
    fl_html_text(f, str_of(c, "cause") ? str_of(c, "cause") : "(unnamed cause)");
    fprintf(f, "</b>");
    if (isfinite(num_of(c, "confidence")))
      fprintf(f, " &mdash; confidence %.2f", num_of(c, "confidence"));
    if (fl_json_get(c, "evidence")) {
      fprintf(f, "<br><span class=\"k\">evidence</span> ");
      write_text_or_list(f, fl_json_get(c, "evidence"));
    }
    if (str_of(c, "advice")) {
      fprintf(f, "<br><span class=\"k\">advice</span> ");
      fl_html_text(f, str_of(c, "advice"));
    }
    const fl_json *fix = fl_json_get(c, "fix");
    if (fix && !fl_json_is_null(fix)) {
      fprintf(f, "<br><span class=\"k\">fix</span> (a JSON merge patch on the spec)");
      write_json_pre(f, fix);
    }
    fprintf(f, "</li>\n");
  }
  fprintf(f, "</ol>\n");
}

static int write_probes(FILE *f, const fl_json *probes, int d) {
  size_t n = fl_json_array_size(probes);
  if (n == 0) return 0;
  fl_svg_bar *loss = calloc(n, sizeof *loss), *acc = calloc(n, sizeof *acc);
  if (!loss || !acc) {
    free(loss), free(acc);
    return FL_ENOMEM;
  }
  for (size_t i = 0; i < n; i++) {
    const fl_json *p = fl_json_array_at(probes, i);
    const char *name = str_of(p, "probe");
    bool failed = false;
    fl_json_bool(fl_json_get(p, "failed"), &failed);
    bool base = name && strcmp(name, "baseline") == 0;
    loss[i] = (fl_svg_bar){name ? name : "?", num_of(p, "loss_end"), num_of(p, "loss_start"),
                           base, failed};
    acc[i] = (fl_svg_bar){name ? name : "?", num_of(p, "val_accuracy"), NAN, base, failed};
  }
  char id[48], title[96];
  fprintf(f, "<h4>Probes: short runs from the same start, each changing one thing</h4>\n");
  snprintf(id, sizeof id, "probe-loss-%d", d);
  snprintf(title, sizeof title, "Final training loss (tick: loss at the start; grey: baseline)");
  int rc = fl_svg_write_bar_chart(f, id, title, loss, n, CHART_W, FL_SVG_SCALE_AUTO);
  snprintf(id, sizeof id, "probe-acc-%d", d);
  snprintf(title, sizeof title, "Held-out accuracy after the probe (grey: baseline)");
  if (!rc) rc = fl_svg_write_bar_chart(f, id, title, acc, n, CHART_W, FL_SVG_SCALE_LINEAR);
  free(loss);
  free(acc);
  if (rc) return rc;
  fprintf(f, "<table><tr><th class=\"l\">probe</th><th>loss start</th><th>loss end</th>"
          "<th>held-out accuracy</th><th>held-out rows</th><th>steps</th><th>seconds</th></tr>\n");
  for (size_t i = 0; i < n; i++) {
    const fl_json *p = fl_json_array_at(probes, i);
    bool failed = false;
    fl_json_bool(fl_json_get(p, "failed"), &failed);
    fprintf(f, "<tr><td class=\"l\">");
    fl_html_text(f, str_of(p, "probe"));
    fprintf(f, "%s</td><td>%.4g</td><td>%.4g</td><td>%.3f</td><td>%.0f</td><td>%.0f</td>"
            "<td>%.2f</td></tr>\n", failed ? " (failed)" : "", num_of(p, "loss_start"),
            num_of(p, "loss_end"), num_of(p, "val_accuracy"), num_of(p, "held_rows"),
            num_of(p, "steps"), num_of(p, "seconds"));
  }
  fprintf(f, "</table>\n");
  return 0;
}

static int write_diagnoses(FILE *f, const fl_history *h) {
  int d = 0;
  for (size_t i = 0; i < h->n_events; i++)
    if (is_event(h->events[i], FL_EVENT_DIAGNOSIS)) d++;
  fprintf(f, "<section id=\"diagnoses\"><h2>Diagnoses (%d)</h2>\n", d);
  if (d == 0) fprintf(f, "<p>No diagnosis ran: nothing was detected during training.</p>\n");
  d = 0;
  for (size_t i = 0; i < h->n_events; i++) {
    const fl_json *ev = h->events[i];
    if (!is_event(ev, FL_EVENT_DIAGNOSIS)) continue;
    sign_kind k = sign_of(ev);
    fprintf(f, "<article class=\"diagnosis\"><h3>D%d &mdash; epoch %.0f%s%s</h3>\n", ++d,
            num_of(ev, "epoch"), k ? ": " : "", k ? signs[k].name : "");
    if (str_of(ev, "signals") && str_of(ev, "signals")[0]) {
      fprintf(f, "<p><span class=\"k\">signals</span> ");
      fl_html_text(f, str_of(ev, "signals"));
      fprintf(f, "</p>\n");
    }
    write_causes(f, fl_json_get(ev, "causes"));
    int rc = write_probes(f, fl_json_get(ev, "probes"), d);
    if (rc) return rc;
    const fl_json *lt = fl_json_get(ev, "label_test");
    if (lt) {
      fprintf(f, "<p><span class=\"k\">label test</span> ");
      fl_html_textf(f, "%s: balanced accuracy %.3f on %.0f rows vs %.3f with the labels "
                    "permuted (%.0f times), p = %.3g", str_of(lt, "method") ? str_of(lt, "method")
                    : "?", num_of(lt, "balanced_accuracy"), num_of(lt, "rows"),
                    num_of(lt, "permuted_mean"), num_of(lt, "permutations"),
                    num_of(lt, "p_value"));
      fprintf(f, "</p>\n");
    }
    if (isfinite(num_of(ev, "probe_seconds")))
      fprintf(f, "<p class=\"meta\">probe time so far: %.1f s</p>\n", num_of(ev, "probe_seconds"));
    fprintf(f, "</article>\n");
  }
  fprintf(f, "</section>\n");
  return 0;
}

static const char *verdict_class(const char *v) {
  if (!v) return "other";
  if (!strcmp(v, FL_VERDICT_IS_HEALTHY)) return "healthy";
  if (!strcmp(v, FL_VERDICT_IS_PROBLEM)) return "problem";
  if (!strcmp(v, FL_VERDICT_IS_UNEXPLAINED)) return "unexplained";
  return "other";
}

static void write_verdict(FILE *f, const fl_json *v) {
  fprintf(f, "<section id=\"verdict\"><h2>Verdict</h2>\n");
  if (!v) {
    fprintf(f, "<p>No verdict yet: every job gets one when it ends.</p></section>\n");
    return;
  }
  const char *verdict = str_of(v, "verdict");
  fprintf(f, "<p><span class=\"badge %s\">", verdict_class(verdict));
  fl_html_text(f, verdict ? verdict : "?");
  fprintf(f, "</span> at epoch %.0f</p>\n", num_of(v, "epoch"));
  if (str_of(v, "note")) {
    fprintf(f, "<p>");
    fl_html_text(f, str_of(v, "note"));
    fprintf(f, "</p>\n");
  }
  write_causes(f, fl_json_get(v, "causes"));
  const fl_json *tried = fl_json_get(v, "tried");
  if (fl_json_array_size(tried)) {
    fprintf(f, "<h3>What was tried</h3><ul>\n");
    for (size_t i = 0; i < fl_json_array_size(tried); i++) {
      fprintf(f, "<li>");
      fl_html_text(f, fl_json_string(fl_json_array_at(tried, i)));
      fprintf(f, "</li>\n");
    }
    fprintf(f, "</ul>\n");
  }
  fprintf(f, "</section>\n");
}

/* ---- class report ---- */

static double num_of_at(const fl_json *arr, size_t i) {
  double d;
  return fl_json_number(fl_json_array_at(arr, i), &d) ? d : NAN;
}

static void class_name(FILE *f, const fl_json *names, size_t c) {
  const char *name = fl_json_string(fl_json_array_at(names, c));
  if (name) fl_html_text(f, name);
  else fprintf(f, "%zu", c);
}

static void write_class_report(FILE *f, const fl_json *m) {
  if (!m || fl_json_is_null(m)) return;
  const fl_json *names = fl_json_get(m, "class_names");
  fprintf(f, "<section id=\"class-report\"><h2>Class report</h2>\n<p>");
  fl_html_textf(f, "on %s rows: %.0f, accuracy %.4f", str_of(m, "on") ? str_of(m, "on") : "?",
                num_of(m, "rows"), num_of(m, "accuracy"));
  if (isfinite(num_of(m, "macro_f1"))) fprintf(f, ", macro F1 %.4f", num_of(m, "macro_f1"));
  fprintf(f, "</p>\n");
  const fl_json *per = fl_json_get(m, "per_class");
  if (fl_json_array_size(per)) {
    fprintf(f, "<table><tr><th class=\"l\">class</th><th>precision</th><th>recall</th>"
            "<th>F1</th><th>support</th></tr>\n");
    for (size_t i = 0; i < fl_json_array_size(per); i++) {
      const fl_json *c = fl_json_array_at(per, i);
      double id = num_of(c, "class");
      fprintf(f, "<tr><td class=\"l\">");
      class_name(f, names, isfinite(id) && id >= 0 ? (size_t)id : i);
      fprintf(f, "</td><td>%.4f</td><td>%.4f</td><td>%.4f</td><td>%.0f</td></tr>\n",
              num_of(c, "precision"), num_of(c, "recall"), num_of(c, "f1"),
              num_of(c, "support"));
    }
    fprintf(f, "</table>\n");
  }
  const fl_json *conf = fl_json_get(m, "confusion");
  size_t k = fl_json_array_size(conf);
  if (k) {
    fprintf(f, "<h3>Confusion matrix</h3><p class=\"meta\">rows: true class, columns: "
            "predicted; shade: share of the row</p>\n<table class=\"confusion\"><tr><th></th>");
    for (size_t j = 0; j < k; j++) {
      fprintf(f, "<th>");
      class_name(f, names, j);
      fprintf(f, "</th>");
    }
    fprintf(f, "</tr>\n");
    for (size_t i = 0; i < k; i++) {
      const fl_json *row = fl_json_array_at(conf, i);
      double total = 0;
      for (size_t j = 0; j < fl_json_array_size(row); j++) {
        double v = num_of_at(row, j);
        if (isfinite(v)) total += v;
      }
      fprintf(f, "<tr><th>");
      class_name(f, names, i);
      fprintf(f, "</th>");
      for (size_t j = 0; j < fl_json_array_size(row); j++) {
        double v = num_of_at(row, j), share = total > 0 && isfinite(v) ? v / total : 0;
        fprintf(f, "<td style=\"background:rgba(%s,%.2f)\">%.0f</td>",
                i == j ? "42,157,63" : "198,40,40", share * 0.8, v);
      }
      fprintf(f, "</tr>\n");
    }
    fprintf(f, "</table>\n");
  }
  fprintf(f, "</section>\n");
}

/* ---- events without a section of their own ---- */

static void write_other_events(FILE *f, const fl_history *h) {
  size_t shown = 0;
  for (size_t i = 0; i < h->n_events; i++) {
    const fl_json *ev = h->events[i];
    if (!is_event(ev, FL_EVENT_CALLBACK) && !is_event(ev, FL_EVENT_FIX) &&
        !is_event(ev, FL_EVENT_FIXED) && !is_event(ev, FL_EVENT_PREFLIGHT))
      continue;
    if (!shown++) fprintf(f, "<section id=\"events\"><h2>Other events</h2><ul>\n");
    fprintf(f, "<li><b>");
    fl_html_text(f, str_of(ev, "event"));
    fprintf(f, "</b>");
    if (isfinite(num_of(ev, "epoch"))) fprintf(f, " at epoch %.0f", num_of(ev, "epoch"));
    if (str_of(ev, "message")) {
      fprintf(f, ": ");
      fl_html_text(f, str_of(ev, "message"));
    }
    const fl_json *findings = fl_json_get(ev, "findings");
    for (size_t j = 0; j < fl_json_array_size(findings); j++) {
      const fl_json *x = fl_json_array_at(findings, j);
      fprintf(f, "<br>");
      fl_html_textf(f, "%s %s: %s", str_of(x, "severity") ? str_of(x, "severity") : "?",
                    str_of(x, "cause") ? str_of(x, "cause") : "?",
                    str_of(x, "message") ? str_of(x, "message") : "");
    }
    if (is_event(ev, FL_EVENT_FIXED))
      fl_html_textf(f, ": %s, loss %.4g before the fix, %.4g after",
                    str_of(ev, "cause") ? str_of(ev, "cause") : "?",
                    num_of(ev, "loss_before"), num_of(ev, "loss_after"));
    fprintf(f, "</li>\n");
  }
  if (shown) fprintf(f, "</ul></section>\n");
}

/* ---- the page ---- */

static void write_header(FILE *f, const fl_report_input *in) {
  const fl_json *info = in->info;
  const fl_history *h = in->history;
  const fl_json *verdict = fl_history_last(h, FL_EVENT_VERDICT);
  const char *name = str_of(info, "name"), *state = str_of(info, "state");
  const fl_json *end = fl_history_last(h, FL_EVENT_END);
  if (!state && end) state = str_of(end, "state");
  fprintf(f, "<header><h1>");
  fl_html_text(f, in->job);
  if (name) {
    fprintf(f, " &middot; ");
    fl_html_text(f, name);
  }
  fprintf(f, "</h1>\n<p class=\"meta\">state <b>");
  fl_html_text(f, state ? state : "?");
  fprintf(f, "</b>");
  if (verdict) {
    const char *v = str_of(verdict, "verdict");
    fprintf(f, " &middot; verdict <span class=\"badge %s\">", verdict_class(v));
    fl_html_text(f, v ? v : "?");
    fprintf(f, "</span>");
  }
  fprintf(f, " &middot; %zu epoch%s", h->n_epochs, h->n_epochs == 1 ? "" : "s");
  double total = num_of(info, "epochs");
  if (isfinite(total)) fprintf(f, " of %.0f", total);
  const char *user = str_of(info, "user"), *device = str_of(info, "device");
  if (user) {
    fprintf(f, " &middot; user ");
    fl_html_text(f, user);
  }
  if (device) {
    fprintf(f, " &middot; device ");
    fl_html_text(f, device);
  }
  fprintf(f, "</p>\n");
  if (h->n_epochs) {
    const fl_history_epoch *e = &h->epochs[h->n_epochs - 1];
    fprintf(f, "<p>last epoch %d: loss %.4g, accuracy %.4f", e->epoch, e->loss, e->accuracy);
    if (e->has & FL_HIST_VAL_LOSS)
      fprintf(f, ", val_loss %.4g, val_accuracy %.4f", e->val_loss, e->val_accuracy);
    size_t best = SIZE_MAX;
    for (size_t i = 0; i < h->n_epochs; i++)
      if (isfinite(h->epochs[i].val_accuracy) &&
          (best == SIZE_MAX || h->epochs[i].val_accuracy > h->epochs[best].val_accuracy))
        best = i;
    if (best != SIZE_MAX)
      fprintf(f, "; best val_accuracy %.4f at epoch %d", h->epochs[best].val_accuracy,
              h->epochs[best].epoch);
    fprintf(f, "</p>\n");
  }
  if (end && str_of(end, "message")) {
    fprintf(f, "<p>");
    fl_html_text(f, str_of(end, "message"));
    fprintf(f, "</p>\n");
  }
  if (h->ended == false && state && strcmp(state, "running") == 0)
    fprintf(f, "<p class=\"meta\">The job is still running: this page shows it as of its "
            "last epoch.</p>\n");
  fprintf(f, "</header>\n");
}

int fl_report_write_html(FILE *f, const fl_report_input *in) {
  const fl_history *h = in->history;
  fprintf(f, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
          "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
          "<title>flatline report: ");
  fl_html_text(f, in->job);
  if (str_of(in->info, "name")) {
    fprintf(f, " ");
    fl_html_text(f, str_of(in->info, "name"));
  }
  fprintf(f, "</title>\n<style>%s</style></head>\n<body>\n", page_style);
  write_header(f, in);
  int rc = write_curves(f, h);
  if (rc) return rc;
  write_verdict(f, fl_history_last(h, FL_EVENT_VERDICT));
  rc = write_diagnoses(f, h);
  if (rc) return rc;
  const fl_json *verdict = fl_history_last(h, FL_EVENT_VERDICT),
                *end = fl_history_last(h, FL_EVENT_END);
  const fl_json *metrics = verdict ? fl_json_get(verdict, "metrics") : NULL;
  if (!metrics || fl_json_is_null(metrics)) metrics = end ? fl_json_get(end, "metrics") : NULL;
  write_class_report(f, metrics);
  write_other_events(f, h);
  const fl_json *spec = fl_json_get(in->info, "spec");
  if (spec && !fl_json_is_null(spec)) {
    fprintf(f, "<section id=\"spec\"><h2>Spec</h2>\n");
    write_json_pre(f, spec);
    fprintf(f, "</section>\n");
  }
  fprintf(f, "<footer>flatline %s", FL_VERSION_STRING);
  if (in->generated) {
    fprintf(f, " &middot; written ");
    fl_html_text(f, in->generated);
  }
  if (h->events_dropped)
    fprintf(f, " &middot; %zu later events not shown (over %d)", h->events_dropped,
            FL_HISTORY_MAX_EVENTS);
  fprintf(f, "</footer>\n</body></html>\n");
  return ferror(f) ? FL_EIO : 0;
}
