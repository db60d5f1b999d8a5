/* tests/test_report_e2e.c — `flatline export ID --csv FILE` and `flatline
 * report ID -o FILE.html` through the real flatlined and client: a small
 * job runs to its end, its CSV has Keras' header and one row per epoch
 * (to a file and to standard output, the same bytes), its report is one
 * page with the charts and the verdict and the job's hostile name
 * escaped; a missing job, a bad command line and a running job's report
 * behave as documented. */
#define _GNU_SOURCE /* memmem, usleep in the fixture */
/* cmocka.h needs these four first */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "daemon_fixture.h"

#define EPOCHS 8

static char *read_text(const char *name) {
  char path[256];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "r");
  if (!f) return NULL;
  char *buf = NULL;
  size_t cap = 0;
  ssize_t n = getdelim(&buf, &cap, '\0', f);
  fclose(f);
  if (n < 0) {
    free(buf);
    return strdup("");
  }
  return buf;
}

static int setup(void **state_) {
  (void)state_;
  snprintf(dir, sizeof dir, "/tmp/fl-report-XXXXXX");
  if (!mkdtemp(dir)) return -1;
  snprintf(sock, sizeof sock, "%s/flatline.sock", dir);
  snprintf(state, sizeof state, "%s/state", dir);
  write_csv("train.csv", 300, 6);
  write_spec("plain", "train.csv", EPOCHS, 16, 32);
  write_spec("<b>x&y<i>", "train.csv", EPOCHS, 16, 32); /* no "/": a file name */
  char from[256], to[256];
  snprintf(from, sizeof from, "%s/<b>x&y<i>.json", dir);
  snprintf(to, sizeof to, "%s/hostile.json", dir);
  if (rename(from, to) != 0) return -1;
  start_daemon(NULL);
  return 0;
}

static int teardown(void **state_) {
  (void)state_;
  return remove_test_dir(SIGTERM);
}

static void submit(const char *spec, char job[32]) {
  char *out, args[256];
  snprintf(args, sizeof args, "--json submit %s --follow", spec);
  int rc = client(args, &out);
  if (rc != 0 && rc != 3) fail_msg("submit: exit %d:\n%s", rc, out);
  job_id_of(out, job);
  free(out);
}

static void test_export_csv(void **s) {
  (void)s;
  char job[32], args[256], *out;
  submit("plain.json", job);
  snprintf(args, sizeof args, "export %s --csv hist.csv", job);
  int rc = client(args, &out);
  if (rc != 0) fail_msg("export --csv: exit %d:\n%s", rc, out);
  assert_non_null(strstr(out, "wrote hist.csv (8 epochs, csv)"));
  free(out);
  char *csv = read_text("hist.csv");
  assert_non_null(csv);
  const char *header = "epoch,accuracy,learning_rate,loss,val_accuracy,val_loss\n";
  if (strncmp(csv, header, strlen(header)) != 0) fail_msg("header:\n%s", csv);
  assert_int_equal(count(csv, "\n"), EPOCHS + 1);
  assert_non_null(strstr(csv, "\n0,"));
  assert_non_null(strstr(csv, "\n7,"));
  assert_null(strstr(csv, "\n8,")); /* counted from 0, as Keras */
  assert_null(strstr(csv, "NA"));
  /* "-": the same bytes on standard output, and nothing else */
  snprintf(args, sizeof args, "export %s --csv - 2>/dev/null", job);
  assert_int_equal(client(args, &out), 0);
  assert_string_equal(out, csv);
  free(out);
  free(csv);
  /* --json: one line saying what was written */
  snprintf(args, sizeof args, "--json export %s --csv h2.csv", job);
  assert_int_equal(client(args, &out), 0);
  assert_non_null(strstr(out, "\"event\":\"exported\""));
  assert_non_null(strstr(out, "\"format\":\"csv\""));
  assert_non_null(strstr(out, "\"epochs\":8"));
  free(out);
}

static void test_report_page(void **s) {
  (void)s;
  char job[32], args[256], *out;
  submit("hostile.json", job);
  snprintf(args, sizeof args, "report %s -o page.html", job);
  int rc = client(args, &out);
  if (rc != 0) fail_msg("report: exit %d:\n%s", rc, out);
  assert_non_null(strstr(out, "wrote page.html (8 epochs, html)"));
  free(out);
  char *page = read_text("page.html");
  assert_non_null(page);
  assert_non_null(strstr(page, "<!DOCTYPE html>"));
  assert_non_null(strstr(page, "id=\"loss-chart\""));
  assert_non_null(strstr(page, "id=\"accuracy-chart\""));
  assert_non_null(strstr(page, "id=\"lr-chart\""));
  assert_true(count(page, "<polyline") >= 4); /* loss, val_loss, accuracy, val_accuracy */
  assert_non_null(strstr(page, "id=\"verdict\""));
  assert_non_null(strstr(page, "class=\"badge "));
  assert_non_null(strstr(page, "id=\"spec\""));
  assert_null(strstr(page, "<b>x"));
  assert_non_null(strstr(page, "&lt;b&gt;x&amp;y&lt;i&gt;"));
  assert_null(strstr(page, "<script"));
  free(page);
  char path[256];
  snprintf(path, sizeof path, "%s/page.html.tmp", dir);
  assert_int_equal(access(path, F_OK), -1); /* renamed, not left behind */
}

static void test_errors(void **s) {
  (void)s;
  char *out;
  assert_int_equal(client("report j999 -o none.html", &out), 1);
  assert_non_null(strstr(out, "j999"));
  free(out);
  char path[256];
  snprintf(path, sizeof path, "%s/none.html", dir);
  assert_int_equal(access(path, F_OK), -1);
  assert_int_equal(client("export j1", &out), 2);
  free(out);
  assert_int_equal(client("export j1 -o m.safetensors --csv h.csv", &out), 2);
  assert_non_null(strstr(out, "one at a time"));
  free(out);
  assert_int_equal(client("report j1", &out), 2);
  free(out);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_export_csv),
      cmocka_unit_test(test_report_page),
      cmocka_unit_test(test_errors),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
