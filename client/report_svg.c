/* client/report_svg.c — owns the report's pictures as inline SVG: line
 * charts (axes with round ticks, linear or log, series downsampled to the
 * plot's width, breaks and red crosses at non-finite values, labelled
 * vertical markers, a legend) and horizontal bar charts (probes beside
 * the baseline). Text from the job goes through fl_html_text. No script:
 * a marker's <title> is its tooltip. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"

/* The plot inside the picture (px). */
#define MARGIN_LEFT 72
#define MARGIN_RIGHT 24
#define MARGIN_TOP 40
#define MARGIN_BOTTOM 40
/* A polyline keeps two points (minimum and maximum) per bucket; a bucket
 * every 2 px keeps at most one point per pixel column, so 1,000 epochs on
 * an 860-px plot are drawn with at most 860 points. */
#define PX_PER_BUCKET 2
/* Log scale when the values span more than this ratio (two decades). */
#define LOG_SPAN 100.0
/* Marker labels closer than this (px) to the previous one are left out
 * (the line stays; its tooltip names it). */
#define LABEL_GAP_PX 28
#define MAX_TICKS 8

size_t fl_svg_ticks(double lo, double hi, bool log_scale, size_t max_ticks,
                    double *out, size_t cap) {
  size_t n = 0;
  if (!(lo <= hi) || !isfinite(lo) || !isfinite(hi) || cap == 0) return 0;
  if (log_scale) {
    if (!(lo > 0)) return 0;
    int e0 = (int)floor(log10(lo) + 1e-9), e1 = (int)ceil(log10(hi) - 1e-9);
    int decades = e1 - e0;
    int step = decades > (int)max_ticks ? (decades + (int)max_ticks - 1) / (int)max_ticks : 1;
    static const double sub[] = {1, 2, 5};
    size_t n_sub = decades <= 2 ? 3 : 1;
    for (int e = e0; e <= e1 && n < cap; e += step)
      for (size_t k = 0; k < n_sub && n < cap; k++) {
        double v = sub[k] * pow(10, e);
        if (v >= lo * (1 - 1e-9) && v <= hi * (1 + 1e-9)) out[n++] = v;
      }
    return n;
  }
  if (max_ticks < 2) max_ticks = 2;
  double span = hi - lo;
  if (span <= 0) span = fabs(lo) > 0 ? fabs(lo) : 1;
  double raw = span / (double)(max_ticks - 1), mag = pow(10, floor(log10(raw)));
  double step = mag;
  static const double mult[] = {1, 2, 5, 10};
  for (size_t k = 0; k < 4; k++)
    if (mult[k] * mag * (double)(max_ticks - 1) >= span) {
      step = mult[k] * mag;
      break;
    }
  for (double v = ceil(lo / step - 1e-9) * step; v <= hi + step * 1e-9 && n < cap; v += step)
    out[n++] = fabs(v) < step * 1e-9 ? 0 : v; /* no "-0" */
  return n;
}

size_t fl_svg_downsample(const double *x, const double *y, size_t n,
                         size_t buckets, size_t *keep) {
  if (n == 0) return 0;
  if (buckets == 0 || n <= 2 * buckets) {
    for (size_t i = 0; i < n; i++) keep[i] = i;
    return n;
  }
  double x0 = x[0], x1 = x[n - 1];
  double width = x1 > x0 ? (x1 - x0) / (double)buckets : 1;
  size_t out = 0, lo = SIZE_MAX, hi = SIZE_MAX;
  long cur = -1;
  for (size_t i = 0; i <= n; i++) {
    long b = i < n ? (long)((x[i] - x0) / width) : -2;
    if (i < n && b >= (long)buckets) b = (long)buckets - 1;
    if (b != cur || (i < n && !isfinite(y[i]))) {
      /* flush the bucket: its min and max, in order */
      if (lo != SIZE_MAX) {
        size_t a = lo < hi ? lo : hi, c = lo < hi ? hi : lo;
        keep[out++] = a;
        if (c != a) keep[out++] = c;
      }
      lo = hi = SIZE_MAX;
      cur = b;
    }
    if (i == n) break;
    if (!isfinite(y[i])) {
      keep[out++] = i; /* a break in the line, and a cross */
      continue;
    }
    if (lo == SIZE_MAX || y[i] < y[lo]) lo = i;
    if (hi == SIZE_MAX || y[i] > y[hi]) hi = i;
  }
  return out;
}

/* ---- scales ---- */

typedef struct {
  double lo, hi; /* data range shown */
  bool log;
  double px0, px1; /* lo maps to px0, hi to px1 */
} axis;

static double to_px(const axis *a, double v) {
  double t;
  if (a->log) {
    if (!(v > 0)) v = a->lo; /* a zero loss sits on the floor */
    t = (log10(v) - log10(a->lo)) / (log10(a->hi) - log10(a->lo));
  } else {
    t = (v - a->lo) / (a->hi - a->lo);
  }
  if (t < -0.02) t = -0.02; /* a wild value clips just outside the plot */
  if (t > 1.02) t = 1.02;
  return a->px0 + t * (a->px1 - a->px0);
}

/* The y range of the chart's series: fixed, or the data's, rounded out to
 * ticks; log when asked, or (auto) when positive and wide. */
static void y_axis(const fl_svg_line_chart *c, axis *a) {
  double lo = INFINITY, hi = -INFINITY, pos_lo = INFINITY;
  for (size_t s = 0; s < c->n_series; s++)
    for (size_t i = 0; i < c->series[s].n; i++) {
      double v = c->series[s].y[i];
      if (!isfinite(v)) continue;
      if (v < lo) lo = v;
      if (v > hi) hi = v;
      if (v > 0 && v < pos_lo) pos_lo = v;
    }
  bool fixed = isfinite(c->y_min) && isfinite(c->y_max) && c->y_max > c->y_min;
  if (fixed) {
    lo = c->y_min;
    hi = c->y_max;
  }
  if (!(lo <= hi)) lo = 0, hi = 1; /* no finite value at all */
  /* auto: every value positive and more than two decades apart */
  a->log = c->scale == FL_SVG_SCALE_LOG ? isfinite(pos_lo) && hi > 0
           : c->scale == FL_SVG_SCALE_AUTO && lo > 0 && hi / lo > LOG_SPAN;
  if (a->log) {
    a->lo = pow(10, floor(log10(pos_lo)));
    a->hi = pow(10, ceil(log10(hi)));
    if (a->hi <= a->lo) a->hi = a->lo * 10;
    return;
  }
  if (hi == lo) {
    double pad = fabs(lo) > 0 ? fabs(lo) * 0.1 : 1;
    lo -= pad;
    hi += pad;
  }
  if (!fixed) {
    double ticks[16];
    size_t n = fl_svg_ticks(lo, hi, false, 6, ticks, 16);
    double step = n >= 2 ? ticks[1] - ticks[0] : (hi - lo);
    lo = floor(lo / step + 1e-9) * step;
    hi = ceil(hi / step - 1e-9) * step;
  }
  a->lo = lo;
  a->hi = hi;
}

/* A tick label: "0.5", "1e-05", "200". */
static void tick_label(char *buf, size_t size, double v) {
  if (v == 0) snprintf(buf, size, "0");
  else if (fabs(v) >= 1e5 || fabs(v) < 1e-3) snprintf(buf, size, "%.0e", v);
  else snprintf(buf, size, "%.4g", v);
}

static void svg_open(FILE *f, const char *id, int w, int h, const char *title) {
  fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" id=\"");
  fl_html_text(f, id ? id : "chart");
  fprintf(f, "\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" role=\"img\">\n", w, h, w, h);
  fprintf(f, "<title>");
  fl_html_text(f, title);
  fprintf(f, "</title>\n<rect x=\"0\" y=\"0\" width=\"%d\" height=\"%d\" fill=\"#fff\"/>\n", w, h);
  fprintf(f, "<text x=\"%d\" y=\"22\" class=\"ct\">", MARGIN_LEFT);
  fl_html_text(f, title);
  fprintf(f, "</text>\n");
}

static void x_ticks(FILE *f, const axis *x, double y_px, double top_px) {
  double ticks[16];
  size_t n = fl_svg_ticks(x->lo, x->hi, false, MAX_TICKS, ticks, 16);
  for (size_t i = 0; i < n; i++) {
    if (ticks[i] != floor(ticks[i])) continue; /* epochs are whole */
    double px = to_px(x, ticks[i]);
    fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" class=\"grid\"/>"
            "<text x=\"%.1f\" y=\"%.1f\" class=\"tx\">%.0f</text>\n",
            px, top_px, px, y_px, px, y_px + 16, ticks[i]);
  }
}

static void y_ticks(FILE *f, const axis *y, double x0_px, double x1_px) {
  double ticks[32];
  size_t n = fl_svg_ticks(y->lo, y->hi, y->log, MAX_TICKS, ticks, 32);
  for (size_t i = 0; i < n; i++) {
    char label[32];
    tick_label(label, sizeof label, ticks[i]);
    double py = to_px(y, ticks[i]);
    fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" class=\"grid\"/>"
            "<text x=\"%.1f\" y=\"%.1f\" class=\"ty\">%s</text>\n",
            x0_px, py, x1_px, py, x0_px - 6, py + 4, label);
  }
}

/* One series: polylines between non-finite values (a lone point is a
 * dot), crosses at the top for the non-finite ones. */
static int draw_series(FILE *f, const fl_svg_series *s, const axis *x, const axis *y,
                       size_t buckets) {
  size_t *keep = malloc((s->n ? s->n : 1) * sizeof *keep);
  if (!keep) return FL_ENOMEM;
  size_t n = fl_svg_downsample(s->x, s->y, s->n, buckets, keep);
  const char *dash = s->dashed ? " stroke-dasharray=\"6 4\"" : "";
  size_t run = 0; /* points in the open polyline */
  double last_cross = -1e9;
  for (size_t k = 0; k <= n; k++) {
    bool finite = k < n && isfinite(s->y[keep[k]]);
    if (finite) {
      double px = to_px(x, s->x[keep[k]]), py = to_px(y, s->y[keep[k]]);
      if (run == 0)
        fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"1.8\"%s points=\"",
                s->color, dash);
      fprintf(f, "%s%.1f,%.1f", run ? " " : "", px, py);
      run++;
      continue;
    }
    if (run > 0) {
      fprintf(f, "\"/>\n");
      if (run == 1) { /* a lone point: a polyline of one point draws nothing */
        size_t i = keep[k - 1];
        fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"%s\"/>\n",
                to_px(x, s->x[i]), to_px(y, s->y[i]), s->color);
      }
    }
    run = 0;
    if (k < n) {
      double px = to_px(x, s->x[keep[k]]);
      if (px - last_cross < 4) continue; /* one cross per few pixels */
      last_cross = px;
      double py = y->px1 + 6;
      fprintf(f, "<path d=\"M%.1f %.1fl6 6m0 -6l-6 6\" stroke=\"#d62728\" "
              "stroke-width=\"1.5\" class=\"nonfinite\"><title>not finite at epoch %.0f"
              "</title></path>\n", px - 3, py - 3, s->x[keep[k]]);
    }
  }
  free(keep);
  return 0;
}

static void draw_markers(FILE *f, const fl_svg_line_chart *c, const axis *x,
                         const axis *y) {
  double last_label = -1e9;
  for (size_t i = 0; i < c->n_markers; i++) {
    const fl_svg_marker *m = &c->markers[i];
    if (!isfinite(m->x)) continue;
    double px = to_px(x, m->x);
    fprintf(f, "<g class=\"marker\"><title>");
    fl_html_text(f, m->title);
    fprintf(f, "</title><line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
            "stroke=\"%s\" stroke-width=\"1.5\" stroke-dasharray=\"3 3\"/>",
            px, y->px1, px, y->px0, m->color);
    if (m->label && px - last_label >= LABEL_GAP_PX) {
      last_label = px;
      fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" class=\"ml\" fill=\"%s\">", px,
              y->px1 - 4, m->color);
      fl_html_text(f, m->label);
      fprintf(f, "</text>");
    }
    fprintf(f, "</g>\n");
  }
}

static void draw_legend(FILE *f, const fl_svg_line_chart *c) {
  double px = c->width - MARGIN_RIGHT;
  for (size_t s = c->n_series; s-- > 0;) {
    const fl_svg_series *ser = &c->series[s];
    double w = 34 + 7.0 * (double)strlen(ser->name ? ser->name : "");
    px -= w;
    fprintf(f, "<g class=\"legend\"><line x1=\"%.1f\" y1=\"17\" x2=\"%.1f\" y2=\"17\" "
            "stroke=\"%s\" stroke-width=\"2.5\"%s/><text x=\"%.1f\" y=\"21\">",
            px, px + 22, ser->color, ser->dashed ? " stroke-dasharray=\"6 4\"" : "",
            px + 27);
    fl_html_text(f, ser->name);
    fprintf(f, "</text></g>\n");
  }
}

int fl_svg_write_line_chart(FILE *f, const fl_svg_line_chart *c) {
  double x_lo = INFINITY, x_hi = -INFINITY;
  for (size_t s = 0; s < c->n_series; s++)
    for (size_t i = 0; i < c->series[s].n; i++) {
      double v = c->series[s].x[i];
      if (v < x_lo) x_lo = v;
      if (v > x_hi) x_hi = v;
    }
  for (size_t i = 0; i < c->n_markers; i++) {
    if (c->markers[i].x < x_lo) x_lo = c->markers[i].x;
    if (c->markers[i].x > x_hi) x_hi = c->markers[i].x;
  }
  if (!(x_lo <= x_hi)) x_lo = 0, x_hi = 1;
  if (x_hi - x_lo < 1) x_lo -= 0.5, x_hi += 0.5; /* one epoch: room each side */
  axis x = {x_lo, x_hi, false, MARGIN_LEFT, c->width - MARGIN_RIGHT};
  axis y;
  y_axis(c, &y);
  y.px0 = c->height - MARGIN_BOTTOM;
  y.px1 = MARGIN_TOP;
  svg_open(f, c->id, c->width, c->height, c->title);
  fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" class=\"plot\"/>\n",
          x.px0, y.px1, x.px1 - x.px0, y.px0 - y.px1);
  x_ticks(f, &x, y.px0, y.px1);
  y_ticks(f, &y, x.px0, x.px1);
  fprintf(f, "<text x=\"%.1f\" y=\"%d\" class=\"al\">epoch</text>\n",
          (x.px0 + x.px1) / 2, c->height - 6);
  fprintf(f, "<text x=\"14\" y=\"%.1f\" class=\"al\" transform=\"rotate(-90 14 %.1f)\">",
          (y.px0 + y.px1) / 2, (y.px0 + y.px1) / 2);
  fl_html_text(f, c->y_label);
  fprintf(f, "%s</text>\n", y.log ? " (log)" : "");
  draw_markers(f, c, &x, &y);
  size_t buckets = (size_t)((x.px1 - x.px0) / PX_PER_BUCKET);
  for (size_t s = 0; s < c->n_series; s++) {
    int rc = draw_series(f, &c->series[s], &x, &y, buckets);
    if (rc) return rc;
  }
  draw_legend(f, c);
  fprintf(f, "</svg>\n");
  return ferror(f) ? FL_EIO : 0;
}

/* ---- bars ---- */

#define BAR_LABEL_W 210
#define BAR_ROW_H 22

int fl_svg_write_bar_chart(FILE *f, const char *id, const char *title,
                           const fl_svg_bar *bars, size_t n, int width,
                           fl_svg_scale scale) {
  int height = MARGIN_TOP + (int)n * BAR_ROW_H + MARGIN_BOTTOM;
  fl_svg_series ser = {0};
  double *vals = malloc((2 * n + 1) * sizeof *vals), *xs = NULL;
  if (!vals) return FL_ENOMEM;
  size_t nv = 0;
  for (size_t i = 0; i < n; i++) {
    vals[nv++] = bars[i].value;
    if (isfinite(bars[i].start)) vals[nv++] = bars[i].start;
  }
  vals[nv++] = 0; /* bars grow from 0 on a linear scale */
  ser.y = vals;
  ser.x = xs = calloc(nv, sizeof *xs);
  ser.n = scale == FL_SVG_SCALE_LOG || scale == FL_SVG_SCALE_AUTO ? nv - 1 : nv;
  fl_svg_line_chart c = {.series = &ser, .n_series = 1, .scale = scale,
                         .y_min = NAN, .y_max = NAN};
  axis v;
  if (!xs) {
    free(vals);
    return FL_ENOMEM;
  }
  y_axis(&c, &v);
  if (!v.log && v.lo > 0) v.lo = 0;
  v.px0 = BAR_LABEL_W;
  v.px1 = width - MARGIN_RIGHT;
  svg_open(f, id, width, height, title);
  double top = MARGIN_TOP, bottom = height - MARGIN_BOTTOM;
  double ticks[32];
  size_t nt = fl_svg_ticks(v.lo, v.hi, v.log, MAX_TICKS, ticks, 32);
  for (size_t i = 0; i < nt; i++) {
    char label[32];
    tick_label(label, sizeof label, ticks[i]);
    double px = to_px(&v, ticks[i]);
    fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" class=\"grid\"/>"
            "<text x=\"%.1f\" y=\"%.1f\" class=\"tx\">%s</text>\n",
            px, top, px, bottom, px, bottom + 16, label);
  }
  if (v.log) fprintf(f, "<text x=\"%.1f\" y=\"%d\" class=\"al\">(log)</text>\n",
                     (v.px0 + v.px1) / 2, height - 6);
  double base_px = NAN;
  for (size_t i = 0; i < n; i++) {
    const fl_svg_bar *b = &bars[i];
    double y0 = top + (double)i * BAR_ROW_H + 3;
    fprintf(f, "<text x=\"%d\" y=\"%.1f\" class=\"bl\">", BAR_LABEL_W - 8, y0 + 12);
    fl_html_text(f, b->label);
    fprintf(f, "</text>\n");
    double from = v.log ? v.px0 : to_px(&v, 0);
    if (!isfinite(b->value)) {
      fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" class=\"bv\" fill=\"#d62728\">%s</text>\n",
              from + 4, y0 + 12, b->failed ? "failed" : "not finite");
      continue;
    }
    double to = to_px(&v, b->value);
    if (b->baseline) base_px = to;
    char num[32];
    fl_csv_number(num, sizeof num, b->value);
    fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%d\" fill=\"%s\" "
            "class=\"bar%s\"><title>",
            from < to ? from : to, y0, fabs(to - from) < 1 ? 1 : fabs(to - from),
            BAR_ROW_H - 6, b->baseline ? "#8c8c8c" : b->failed ? "#d62728" : "#1f77b4",
            b->baseline ? " baseline" : "");
    fl_html_text(f, b->label);
    fprintf(f, ": %.4g</title></rect>\n", b->value);
    fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" class=\"bv\">%.4g%s</text>\n",
            (to > from ? to : from) + 4, y0 + 12, b->value, b->failed ? " (failed)" : "");
    if (isfinite(b->start))
      fprintf(f, "<path d=\"M%.1f %.1fv%d\" stroke=\"#000\" stroke-width=\"2\">"
              "<title>start %.4g</title></path>\n", to_px(&v, b->start), y0 - 1,
              BAR_ROW_H - 4, b->start);
  }
  if (isfinite(base_px))
    fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#555\" "
            "stroke-dasharray=\"4 3\" class=\"baseline\"/>\n", base_px, top - 4, base_px,
            bottom);
  fprintf(f, "</svg>\n");
  free(vals);
  free(xs);
  return ferror(f) ? FL_EIO : 0;
}
