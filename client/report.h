/* client/report.h — a finished (or running) job's history as the client
 * reads it back from the daemon's replay, and what is written from it:
 * the Keras-CSVLogger file of `export --csv` and the self-contained HTML
 * page of `report` (inline SVG drawn here, no script, no network). All of
 * it is pure (FILE* in, FILE* out), so tests/test_report.c drives it
 * without a daemon; cmd_report.c fetches the events. */
#ifndef FLATLINE_CLIENT_REPORT_H
#define FLATLINE_CLIENT_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "flatline/protocol.h"

/* ---- history.c: the events of one job, kept for writing ---- */

/* Which metrics an epoch event carried (bits of fl_history_epoch.has). */
enum {
  FL_HIST_LOSS = 1u << 0,
  FL_HIST_ACCURACY = 1u << 1,
  FL_HIST_VAL_LOSS = 1u << 2,
  FL_HIST_VAL_ACCURACY = 1u << 3,
  FL_HIST_LR = 1u << 4,
};

/* One epoch event. A metric the event carries as null (the daemon writes
 * non-finite numbers so) is NAN with its bit set; one it lacks is NAN
 * with its bit clear. */
typedef struct {
  int epoch; /* as the event numbers it: 1 is the first */
  double loss, accuracy, val_loss, val_accuracy, lr;
  unsigned has;
} fl_history_epoch;

/* Events other than epochs and progress kept whole (diagnoses, verdict,
 * end, callbacks, fixes, preflight): a long job has a few dozen; past this
 * many the rest are counted, not kept. */
#define FL_HISTORY_MAX_EVENTS 4096

typedef struct {
  fl_history_epoch *epochs; /* in the order they came */
  size_t n_epochs, cap_epochs;
  fl_json **events; /* owned copies, in order */
  size_t n_events, cap_events;
  size_t events_dropped;
  bool ended; /* the end event came */
} fl_history;

void fl_history_init(fl_history *h);
void fl_history_free(fl_history *h);
/* Keep what the pages need of one event (the inner object of
 * {"type":"event","event":{...}}). 0, or FL_ENOMEM. */
int fl_history_add(fl_history *h, const fl_json *event);
/* The last kept event named name ("verdict", "end"), or NULL. */
const fl_json *fl_history_last(const fl_history *h, const char *name);
/* The union of the metrics bits over all epochs. */
unsigned fl_history_metrics(const fl_history *h);

/* ---- csv_log.c: `flatline export ID --csv FILE` ---- */

/* Keras' CSVLogger layout: "epoch" (0-based, as Keras counts), then the
 * metric keys sorted as CSVLogger sorts them: accuracy, learning_rate,
 * loss, val_accuracy, val_loss; a column only when some epoch has it (a
 * row that lacks it says NA, as CSVLogger does); non-finite values "nan"
 * as Python writes them; numbers in Python's shortest round-trip form.
 * Lines end in "\n" (CSVLogger writes "\r\n"; CSV readers take both). */
int fl_csv_write(FILE *f, const fl_history *h);
/* A double in the shortest form that reads back the same ("0.1", "2.5e-05"). */
void fl_csv_number(char *buf, size_t size, double v);

/* ---- html_text.c: text from the job inside HTML ---- */

/* s with & < > " ' as entities, invalid UTF-8 and control characters
 * (but tab and newline) as U+FFFD: anything the job or the daemon says
 * (names, evidence, class names) goes through here. NULL writes nothing. */
void fl_html_text(FILE *f, const char *s);
/* printf, then fl_html_text of the result (at most 4 KiB). */
void fl_html_textf(FILE *f, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* ---- report_svg.c: charts as inline SVG ---- */

typedef enum {
  FL_SVG_SCALE_AUTO,   /* log when all values are > 0 and span > 2 decades */
  FL_SVG_SCALE_LINEAR,
  FL_SVG_SCALE_LOG,
} fl_svg_scale;

typedef struct {
  const char *name;  /* legend */
  const char *color; /* CSS colour */
  bool dashed;
  const double *x, *y; /* n points; a non-finite y breaks the line */
  size_t n;
} fl_svg_series;

typedef struct {
  double x;
  const char *label; /* short text at the top of the line ("D1") */
  const char *title; /* tooltip: what it marks */
  const char *color;
} fl_svg_marker;

typedef struct {
  const char *id;    /* the <svg> element's id */
  const char *title; /* heading inside the picture */
  const char *y_label;
  int width, height; /* px */
  const fl_svg_series *series;
  size_t n_series;
  const fl_svg_marker *markers;
  size_t n_markers;
  fl_svg_scale scale;
  double y_min, y_max; /* fixed range when both are finite, else from data */
} fl_svg_line_chart;

/* A line chart: axes with round ticks, the series (each longer than the
 * plot is wide kept as each pixel column's minimum and maximum), red
 * crosses along the top where a value is not finite, the markers as
 * labelled vertical lines, and the legend. */
int fl_svg_write_line_chart(FILE *f, const fl_svg_line_chart *c);

typedef struct {
  const char *label;
  double value, start; /* start: NAN for none; drawn as a tick */
  bool baseline;       /* drawn grey, and its value as a dashed line */
  bool failed;
} fl_svg_bar;

/* Horizontal bars, one per row (probes beside the baseline). */
int fl_svg_write_bar_chart(FILE *f, const char *id, const char *title,
                           const fl_svg_bar *bars, size_t n, int width,
                           fl_svg_scale scale);

/* Round tick values covering [lo, hi]: 1, 2 or 5 times a power of ten
 * apart, at most max_ticks of them (linear); or powers of ten (log, lo >
 * 0), with 2 and 5 between them when there are few decades. Returns the
 * count written to out (at most out_cap). */
size_t fl_svg_ticks(double lo, double hi, bool log_scale, size_t max_ticks,
                    double *out, size_t out_cap);
/* Which of the n points a polyline `buckets` wide keeps: in each bucket
 * of x its minimum and maximum, in their order; a non-finite y is kept
 * too (it breaks the line, and splits its bucket in two). Indices
 * ascending into keep (room for n); returns the count: at most
 * 2 * buckets + 3 per non-finite value, and all n when n <= 2 * buckets. */
size_t fl_svg_downsample(const double *x, const double *y, size_t n,
                         size_t buckets, size_t *keep);

/* ---- report_html.c: the page ---- */

typedef struct {
  const char *job;     /* "j17" */
  const fl_json *info; /* the show reply's "job": name, state, spec, ... */
  const fl_history *history;
  const char *generated; /* "2025-01-31 12:00 UTC" or NULL */
} fl_report_input;

/* The whole page. 0, or FL_ENOMEM / FL_EIO. */
int fl_report_write_html(FILE *f, const fl_report_input *in);

#endif
