/* tests/test_report.c — cmocka tests of what `flatline export --csv` and
 * `flatline report` write (client/history.c, csv_log.c, html_text.c,
 * report_svg.c, report_html.c), without a daemon: the CSV's Keras
 * columns and values, HTML escaping of hostile text, round ticks, the
 * polyline's downsampling, and whole pages for an empty history, one
 * epoch, NaN losses, 1,000 epochs, a log-scale loss, diagnoses with
 * probes, and a class report. */
/* cmocka.h needs these four first */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../client/report.h"

/* ---- helpers -------------------------------------------------------- */

static void add(fl_history *h, const char *json) {
  fl_json *ev = fl_json_parse(json, strlen(json), NULL);
  assert_non_null(ev);
  assert_int_equal(fl_history_add(h, ev), 0);
  fl_json_free(ev);
}

static void add_epoch(fl_history *h, int epoch, double loss, double val_loss, double lr) {
  char json[512], l[32], vl[32];
  if (isfinite(loss)) snprintf(l, sizeof l, "%.9g", loss);
  else snprintf(l, sizeof l, "null");
  if (isfinite(val_loss)) snprintf(vl, sizeof vl, "%.9g", val_loss);
  else snprintf(vl, sizeof vl, "null");
  snprintf(json, sizeof json,
           "{\"event\":\"epoch\",\"job\":\"j1\",\"epoch\":%d,\"loss\":%s,\"accuracy\":%.4f,"
           "\"val_loss\":%s,\"val_accuracy\":%.4f,\"lr\":%.9g,\"seconds\":0.1}",
           epoch, l, 0.3 + 0.6 * epoch / (epoch + 10.0), vl, 0.3 + 0.5 * epoch / (epoch + 12.0),
           lr);
  add(h, json);
}

static int count(const char *text, const char *what) {
  int n = 0;
  for (const char *p = strstr(text, what); p; p = strstr(p + 1, what)) n++;
  return n;
}

/* What fn wrote, as a string the caller frees. */
static char *csv_of(const fl_history *h) {
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  assert_int_equal(fl_csv_write(f, h), 0);
  fclose(f);
  return buf;
}

static char *page_of(const fl_history *h, const char *info_json) {
  fl_json *info = info_json ? fl_json_parse(info_json, strlen(info_json), NULL) : NULL;
  fl_report_input in = {"j7", info, h, "2025-01-01 00:00 UTC"};
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  assert_int_equal(fl_report_write_html(f, &in), 0);
  fclose(f);
  fl_json_free(info);
  /* every page is one whole document with no script */
  assert_non_null(strstr(buf, "<!DOCTYPE html>"));
  assert_non_null(strstr(buf, "</html>\n"));
  assert_null(strstr(buf, "<script"));
  /* nothing fetched: the only address is SVG's namespace name */
  assert_int_equal(count(buf, "http"), count(buf, "xmlns=\"http://www.w3.org/2000/svg\""));
  assert_null(strstr(buf, "url("));
  assert_null(strstr(buf, "<link"));
  return buf;
}

/* The number of points of the largest polyline in the page. */
static size_t max_polyline_points(const char *page) {
  size_t best = 0;
  for (const char *p = strstr(page, "points=\""); p; p = strstr(p + 1, "points=\"")) {
    const char *end = strchr(p + 8, '"');
    size_t n = 1;
    for (const char *q = p + 8; q < end; q++) n += *q == ' ';
    if (n > best) best = n;
  }
  return best;
}

/* The text of the element whose id is id, up to its </svg>. */
static char *svg_by_id(const char *page, const char *id) {
  char pat[64];
  snprintf(pat, sizeof pat, "id=\"%s\"", id);
  const char *p = strstr(page, pat);
  if (!p) return NULL;
  const char *end = strstr(p, "</svg>");
  assert_non_null(end);
  return strndup(p, (size_t)(end - p));
}

/* ---- CSV --------------------------------------------------------------- */

static void test_csv_numbers(void **state) {
  (void)state;
  char b[40];
  fl_csv_number(b, sizeof b, 0.1);
  assert_string_equal(b, "0.1");
  fl_csv_number(b, sizeof b, 1.0);
  assert_string_equal(b, "1.0");
  fl_csv_number(b, sizeof b, 2.5e-05);
  assert_string_equal(b, "2.5e-05");
  fl_csv_number(b, sizeof b, 0.493666667);
  assert_string_equal(b, "0.493666667");
  fl_csv_number(b, sizeof b, NAN);
  assert_string_equal(b, "nan");
  fl_csv_number(b, sizeof b, 1.0 / 3);
  assert_true(strtod(b, NULL) == 1.0 / 3); /* round trip, all 17 digits kept */
}

static void test_csv_keras_columns(void **state) {
  (void)state;
  fl_history h;
  fl_history_init(&h);
  add(&h, "{\"event\":\"epoch\",\"job\":\"j1\",\"epoch\":1,\"loss\":2.5,\"accuracy\":0.25,"
          "\"val_loss\":2.25,\"val_accuracy\":0.5,\"lr\":0.001,\"seconds\":1}");
  add(&h, "{\"event\":\"progress\",\"job\":\"j1\",\"epoch\":2,\"step\":1,\"steps\":9}");
  add(&h, "{\"event\":\"epoch\",\"job\":\"j1\",\"epoch\":2,\"loss\":null,\"accuracy\":0.125,"
          "\"lr\":0.0005}");
  add(&h, "{\"event\":\"epoch\",\"job\":\"j1\",\"epoch\":3,\"loss\":1,\"accuracy\":0.75,"
          "\"val_loss\":0.5,\"val_accuracy\":0.875,\"lr\":0.0005}");
  char *csv = csv_of(&h);
  assert_string_equal(csv,
                      "epoch,accuracy,learning_rate,loss,val_accuracy,val_loss\n"
                      "0,0.25,0.001,2.5,0.5,2.25\n"
                      "1,0.125,0.0005,nan,NA,NA\n"
                      "2,0.75,0.0005,1.0,0.875,0.5\n");
  free(csv);
  fl_history_free(&h);

  /* no validation, no rate: no such columns; no epoch: the header only */
  fl_history_init(&h);
  csv = csv_of(&h);
  assert_string_equal(csv, "epoch\n");
  free(csv);
  add(&h, "{\"event\":\"epoch\",\"job\":\"j1\",\"epoch\":1,\"loss\":0.5,\"accuracy\":1}");
  csv = csv_of(&h);
  assert_string_equal(csv, "epoch,accuracy,loss\n0,1.0,0.5\n");
  free(csv);
  fl_history_free(&h);
}

/* ---- escaping ------------------------------------------------------------ */

static void test_html_escape(void **state) {
  (void)state;
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  fl_html_text(f, "<script>alert('x')</script> & \"q\"");
  fputc('|', f);
  fl_html_text(f, "caf\xc3\xa9 \xff\x1b[31m\xe2\x82");
  fputc('|', f);
  fl_html_text(f, NULL);
  fl_html_text(f, "\xed\xa0\x80"); /* a surrogate: not UTF-8 */
  fclose(f);
  assert_string_equal(buf, "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;|"
                           "caf\xc3\xa9 \xef\xbf\xbd\xef\xbf\xbd[31m\xef\xbf\xbd\xef\xbf\xbd|"
                           "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
  free(buf);
}

/* ---- ticks and downsampling ------------------------------------------ */

static void test_ticks(void **state) {
  (void)state;
  double t[32];
  size_t n = fl_svg_ticks(0, 1, false, 6, t, 32);
  assert_int_equal(n, 6);
  for (size_t i = 0; i < n; i++) assert_true(fabs(t[i] - 0.2 * (double)i) < 1e-12);
  n = fl_svg_ticks(0.37, 2.61, false, 8, t, 32); /* 0.5 steps: 0.5 .. 2.5 */
  assert_true(n >= 3 && n <= 8);
  for (size_t i = 0; i < n; i++) {
    double k = t[i] / (t[1] - t[0]);
    assert_true(fabs(k - round(k)) < 1e-9); /* a multiple of the step */
    assert_true(t[i] >= 0.37 && t[i] <= 2.61);
  }
  double step = t[1] - t[0], mag = pow(10, floor(log10(step)));
  double m = step / mag;
  assert_true(fabs(m - 1) < 1e-9 || fabs(m - 2) < 1e-9 || fabs(m - 5) < 1e-9);
  n = fl_svg_ticks(1e-4, 10, true, 8, t, 32); /* log: the powers of ten */
  assert_int_equal(n, 6);
  assert_true(fabs(t[0] - 1e-4) < 1e-18 && fabs(t[5] - 10) < 1e-12);
  n = fl_svg_ticks(0.1, 10, true, 8, t, 32); /* two decades: 1, 2, 5 between */
  assert_int_equal(n, 7);
  n = fl_svg_ticks(1, 0, false, 8, t, 32); /* nonsense range: none */
  assert_int_equal(n, 0);
}

static void test_downsample(void **state) {
  (void)state;
  enum { N = 100000 };
  double *x = malloc(N * sizeof *x), *y = malloc(N * sizeof *y);
  size_t *keep = malloc(N * sizeof *keep);
  for (size_t i = 0; i < N; i++) {
    x[i] = (double)i + 1;
    y[i] = 1 + sin((double)i / 50);
  }
  y[5000] = 100; /* a spike survives */
  y[7000] = NAN; /* so does a break */
  size_t n = fl_svg_downsample(x, y, N, 430, keep);
  assert_true(n <= 2 * 430 + 3); /* the NaN splits its bucket: +1 point, +2 */
  assert_true(n > 430);
  bool spike = false, gap = false;
  for (size_t i = 0; i < n; i++) {
    if (i) assert_true(keep[i] > keep[i - 1]);
    spike |= keep[i] == 5000;
    gap |= keep[i] == 7000;
  }
  assert_true(spike && gap);
  /* short series: every point */
  assert_int_equal(fl_svg_downsample(x, y, 10, 430, keep), 10);
  free(x), free(y), free(keep);
}

/* ---- pages --------------------------------------------------------------- */

static const char *info_hostile =
    "{\"job\":\"j7\",\"name\":\"<script>alert(1)</script>\\\"><img src=x onerror=alert(2)>\","
    "\"state\":\"done\",\"user\":\"eve\",\"device\":\"<b>gpu</b>\",\"epochs\":3,"
    "\"spec\":{\"name\":\"</pre><script>alert(3)</script>\",\"epochs\":3}}";

static void test_page_empty_history(void **state) {
  (void)state;
  fl_history h;
  fl_history_init(&h);
  char *page = page_of(&h, NULL);
  assert_non_null(strstr(page, "No epoch was recorded"));
  assert_non_null(strstr(page, "No verdict yet"));
  assert_int_equal(count(page, "<polyline"), 0);
  free(page);
  /* a job rejected at preflight: its verdict, no curves */
  add(&h, "{\"event\":\"verdict\",\"job\":\"j7\",\"epoch\":0,\"verdict\":\"problem\",\"causes\":"
          "[{\"cause\":\"labels_out_of_range\",\"confidence\":1,\"evidence\":\"label 12 >= 10 "
          "outputs\",\"advice\":\"see the preflight finding\",\"fix\":{\"model\":null}}],"
          "\"tried\":[\"preflight checks\"]}");
  add(&h, "{\"event\":\"end\",\"job\":\"j7\",\"state\":\"rejected\",\"cause\":"
          "\"labels_out_of_range\"}");
  page = page_of(&h, NULL);
  assert_non_null(strstr(page, "labels_out_of_range"));
  assert_non_null(strstr(page, "badge problem"));
  assert_non_null(strstr(page, "label 12 &gt;= 10 outputs"));
  free(page);
  fl_history_free(&h);
}

static void test_page_escapes_the_job(void **state) {
  (void)state;
  fl_history h;
  fl_history_init(&h);
  for (int e = 1; e <= 3; e++) add_epoch(&h, e, 1.0 / e, 1.1 / e, 0.001);
  add(&h, "{\"event\":\"diagnosis\",\"job\":\"j7\",\"epoch\":2,\"causes\":[{\"cause\":"
          "\"<i>x</i>\",\"confidence\":0.5,\"evidence\":\"a<b & c\",\"advice\":\"'q'\","
          "\"fix\":{\"optimizer\":{\"name\":\"</pre><script>\"}}}],\"signals\":\"<svg onload=x>\","
          "\"probes\":[{\"probe\":\"<u>p</u>\",\"loss_start\":2,\"loss_end\":1,"
          "\"val_accuracy\":0.5,\"held_rows\":10,\"steps\":5,\"seconds\":0.1,\"failed\":false}]}");
  add(&h, "{\"event\":\"verdict\",\"job\":\"j7\",\"epoch\":3,\"verdict\":\"<b>\",\"causes\":[],"
          "\"metrics\":{\"on\":\"validation\",\"rows\":4,\"accuracy\":0.5,\"class_names\":"
          "[\"<cat>\",\"d&g\"],\"per_class\":[{\"class\":0,\"precision\":1,\"recall\":0.5,"
          "\"f1\":0.66,\"support\":2},{\"class\":1,\"precision\":0.5,\"recall\":1,\"f1\":0.66,"
          "\"support\":2}],\"confusion\":[[1,1],[0,2]]}}");
  char *page = page_of(&h, info_hostile);
  assert_null(strstr(page, "<script>"));
  assert_null(strstr(page, "<img"));
  assert_null(strstr(page, "<svg onload"));
  assert_null(strstr(page, "<i>x"));
  assert_null(strstr(page, "<u>p"));
  assert_null(strstr(page, "<cat>"));
  assert_null(strstr(page, "<b>gpu"));
  assert_non_null(strstr(page, "&lt;script&gt;alert(1)&lt;/script&gt;&quot;&gt;&lt;img"));
  assert_non_null(strstr(page, "&lt;cat&gt;"));
  assert_non_null(strstr(page, "d&amp;g"));
  assert_non_null(strstr(page, "a&lt;b &amp; c"));
  assert_non_null(strstr(page, "&lt;/pre&gt;&lt;script&gt;alert(3)"));
  /* one <pre> closes per <pre> opened: the spec and the fix */
  assert_int_equal(count(page, "<pre>"), count(page, "</pre>"));
  free(page);
  fl_history_free(&h);
}

static void test_page_one_epoch(void **state) {
  (void)state;
  fl_history h;
  fl_history_init(&h);
  add_epoch(&h, 1, 0.7, 0.8, 0.01);
  char *page = page_of(&h, NULL);
  char *loss = svg_by_id(page, "loss-chart");
  assert_non_null(loss);
  /* one point: a dot for each series, no line of zero length */
  assert_int_equal(count(loss, "<circle"), 2);
  assert_non_null(strstr(loss, ">1</text>")); /* the epoch tick */
  free(loss);
  assert_non_null(strstr(page, "id=\"accuracy-chart\""));
  assert_non_null(strstr(page, "id=\"lr-chart\""));
  free(page);
  fl_history_free(&h);
}

static void test_page_nan_losses(void **state) {
  (void)state;
  fl_history h;
  fl_history_init(&h);
  for (int e = 1; e <= 20; e++)
    add_epoch(&h, e, e >= 8 && e <= 10 ? NAN : 2.0 / e, 2.2 / e, 0.1);
  char *page = page_of(&h, NULL);
  char *loss = svg_by_id(page, "loss-chart");
  assert_non_null(loss);
  /* the training loss breaks at the NaNs: two polylines, plus val_loss */
  assert_int_equal(count(loss, "<polyline"), 3);
  assert_true(count(loss, "class=\"nonfinite\"") >= 1);
  assert_null(strstr(loss, "nan,"));
  assert_null(strstr(loss, "NaN"));
  free(loss);
  free(page);
  fl_history_free(&h);
}

static void test_page_thousand_epochs(void **state) {
  (void)state;
  fl_history h;
  fl_history_init(&h);
  for (int e = 1; e <= 1000; e++)
    add_epoch(&h, e, 3.0 * exp(-e / 40.0) + 0.01 * (e % 7), 3.1 * exp(-e / 45.0) + 0.05,
              e < 500 ? 0.01 : 0.001);
  add(&h, "{\"event\":\"diagnosis\",\"job\":\"j7\",\"epoch\":400,\"causes\":[],"
          "\"signals\":\"loss improved less than 0.1% over the last 5 epochs\",\"probes\":[]}");
  add(&h, "{\"event\":\"callback\",\"job\":\"j7\",\"callback\":\"reduce_lr_on_plateau\","
          "\"action\":\"reduce_lr\",\"epoch\":500,\"lr\":0.001}");
  char *page = page_of(&h, NULL);
  size_t pts = max_polyline_points(page);
  assert_true(pts >= 100);
  assert_true(pts < 1000); /* downsampled to the plot's width */
  char *loss = svg_by_id(page, "loss-chart");
  assert_non_null(loss);
  assert_non_null(strstr(loss, "(log)")); /* 3 down to 0.01: > 2 decades */
  assert_non_null(strstr(loss, "D1"));
  assert_non_null(strstr(loss, "plateau"));
  free(loss);
  char *lr = svg_by_id(page, "lr-chart");
  assert_non_null(lr);
  assert_null(strstr(lr, "(log)")); /* one decade: linear */
  free(lr);
  assert_true(strlen(page) < 400000); /* a page, not a data dump */
  free(page);
  fl_history_free(&h);
}

static void test_page_diagnosis_and_probes(void **state) {
  (void)state;
  fl_history h;
  fl_history_init(&h);
  for (int e = 1; e <= 5; e++) add_epoch(&h, e, 25.0 / e, 11.0 / e, 0.1);
  add(&h, "{\"event\":\"diagnosis\",\"job\":\"j7\",\"epoch\":2,\"causes\":[{\"cause\":"
          "\"learning_rate_too_high\",\"confidence\":0.95,\"evidence\":\"e\",\"advice\":\"a\","
          "\"fix\":{\"optimizer\":{\"learning_rate\":0.01}}}],\"signals\":\"training loss 7.178 "
          "(ln K = 2.3), rising or far above chance level\",\"probes\":["
          "{\"probe\":\"baseline\",\"loss_start\":2.46,\"loss_end\":3.05,\"val_accuracy\":0.72,"
          "\"held_rows\":512,\"steps\":160,\"seconds\":0.29,\"failed\":false},"
          "{\"probe\":\"learning rate / 10\",\"loss_start\":2.46,\"loss_end\":0.50,"
          "\"val_accuracy\":0.80,\"held_rows\":512,\"steps\":160,\"seconds\":0.14,\"failed\":false},"
          "{\"probe\":\"learning rate x 10\",\"loss_start\":2.46,\"loss_end\":314.5,"
          "\"val_accuracy\":0.70,\"held_rows\":512,\"steps\":160,\"seconds\":0.15,\"failed\":false}],"
          "\"label_test\":{\"method\":\"knn\",\"rows\":1000,\"balanced_accuracy\":0.74,"
          "\"permuted_mean\":0.1,\"permuted_q95\":0.12,\"permutations\":999,\"p_value\":0.001},"
          "\"probe_seconds\":4.7}");
  add(&h, "{\"event\":\"verdict\",\"job\":\"j7\",\"epoch\":5,\"verdict\":\"problem\",\"causes\":"
          "[{\"cause\":\"learning_rate_too_high\",\"confidence\":0.95,\"evidence\":\"e\","
          "\"advice\":\"a\",\"fix\":{\"optimizer\":{\"learning_rate\":0.01}}}],\"tried\":[\"t\"],"
          "\"metrics\":{\"on\":\"validation\",\"rows\":3,\"accuracy\":0.66,\"per_class\":[],"
          "\"confusion\":[[1,0],[1,1]]}}");
  add(&h, "{\"event\":\"end\",\"job\":\"j7\",\"state\":\"done\",\"cause\":\"learning_rate_too_high\"}");
  char *page = page_of(&h, NULL);
  char *loss = svg_by_id(page, "loss-chart");
  assert_non_null(loss);
  assert_non_null(strstr(loss, "divergence"));
  free(loss);
  char *bars = svg_by_id(page, "probe-loss-1");
  assert_non_null(bars);
  assert_int_equal(count(bars, "class=\"bar"), 3);
  assert_int_equal(count(bars, "class=\"bar baseline\""), 1);
  assert_non_null(strstr(bars, "class=\"baseline\"")); /* the dashed line */
  assert_non_null(strstr(bars, "(log)"));               /* 0.5 .. 314: log */
  free(bars);
  assert_non_null(strstr(page, "id=\"probe-acc-1\""));
  assert_non_null(strstr(page, "Confusion matrix"));
  assert_non_null(strstr(page, "&quot;learning_rate&quot;: 0.01"));
  assert_non_null(strstr(page, "p = 0.001"));
  free(page);
  fl_history_free(&h);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_csv_numbers),
      cmocka_unit_test(test_csv_keras_columns),
      cmocka_unit_test(test_html_escape),
      cmocka_unit_test(test_ticks),
      cmocka_unit_test(test_downsample),
      cmocka_unit_test(test_page_empty_history),
      cmocka_unit_test(test_page_escapes_the_job),
      cmocka_unit_test(test_page_one_epoch),
      cmocka_unit_test(test_page_nan_losses),
      cmocka_unit_test(test_page_thousand_epochs),
      cmocka_unit_test(test_page_diagnosis_and_probes),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
