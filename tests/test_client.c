/* tests/test_client.c — cmocka tests of the flatline client's pure parts
 * (client/): the command line of every command (good, and bad -> usage
 * error 2 with a helpful sentence), socket path resolution, the exit-status
 * mapping of DESIGN.md §6, the loss sparkline, table and epoch-row text,
 * --json event lines passing the daemon's object through unchanged, colour
 * decisions, the sanitizer, help text, and the spec's data-file listing.
 * No daemon is involved: output goes to memory streams. */
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
#include <unistd.h>

/* By path, so that a same-named header elsewhere cannot shadow them. */
#include "../client/cli.h"
#include "../client/output.h"
#include "../client/session.h"

/* ---- helpers -------------------------------------------------------- */

static int parse(fl_cli_args *a, char *msg, size_t size, ...) {
  char *argv[32] = {"flatline"};
  int argc = 1;
  va_list ap;
  va_start(ap, size);
  for (char *s; (s = va_arg(ap, char *)) != NULL && argc < 31;) argv[argc++] = s;
  va_end(ap);
  argv[argc] = NULL;
  return fl_cli_parse(argc, argv, a, msg, size);
}
#define PARSE(a, msg, ...) parse(a, msg, sizeof msg, __VA_ARGS__, (char *)NULL)

/* An fl_cli_out writing to memory. */
typedef struct {
  fl_cli_out o;
  char *out_buf, *err_buf;
  size_t out_len, err_len;
} capture;

static void capture_open(capture *c, bool json, bool color, bool tty) {
  memset(c, 0, sizeof *c);
  c->o.out = open_memstream(&c->out_buf, &c->out_len);
  c->o.err = open_memstream(&c->err_buf, &c->err_len);
  assert_non_null(c->o.out);
  assert_non_null(c->o.err);
  c->o.json = json;
  c->o.color = color;
  c->o.out_tty = tty;
  c->o.err_tty = tty;
}

/* Close the streams; out_buf / err_buf then hold what was written. */
static void capture_close(capture *c) {
  fclose(c->o.out);
  fclose(c->o.err);
}

static void capture_free(capture *c) {
  free(c->out_buf);
  free(c->err_buf);
}

static fl_json *json(const char *text) {
  fl_error err = {0};
  fl_json *j = fl_json_parse(text, strlen(text), &err);
  if (!j) fail_msg("bad test JSON: %s", err.msg);
  return j;
}

/* Feed a list of event texts to a follow view; returns its exit status. */
static int feed(capture *c, const char *const *events, size_t n,
                int epochs_total) {
  fl_follow_view v;
  fl_follow_init(&v, &c->o, "j7", epochs_total);
  for (size_t i = 0; i < n; i++) {
    fl_json *ev = json(events[i]);
    fl_follow_event(&v, ev);
    fl_json_free(ev);
  }
  int rc = v.ended ? v.exit_status : -1;
  fl_follow_free(&v);
  return rc;
}

/* ---- argument parsing: every command, good ---------------------------- */

static void test_parse_each_command(void **state) {
  (void)state;
  fl_cli_args a;
  char msg[512];

  assert_int_equal(PARSE(&a, msg, "check", "mlp.json"), 0);
  assert_string_equal(a.command->name, "check");
  assert_string_equal(a.spec, "mlp.json");

  assert_int_equal(PARSE(&a, msg, "submit", "mlp.json"), 0);
  assert_string_equal(a.command->name, "submit");
  assert_false(a.follow);
  assert_int_equal(PARSE(&a, msg, "submit", "--follow", "mlp.json"), 0);
  assert_true(a.follow);
  assert_string_equal(a.spec, "mlp.json");
  assert_int_equal(PARSE(&a, msg, "submit", "mlp.json", "-f"), 0);
  assert_true(a.follow);

  assert_int_equal(PARSE(&a, msg, "follow", "j17"), 0);
  assert_string_equal(a.command->name, "follow");
  assert_string_equal(a.job, "j17");
  assert_int_equal(PARSE(&a, msg, "follow", "17"), 0); /* a bare number */
  assert_string_equal(a.job, "j17");

  assert_int_equal(PARSE(&a, msg, "list"), 0);
  assert_string_equal(a.command->name, "list");

  assert_int_equal(PARSE(&a, msg, "show", "j3"), 0);
  assert_false(a.fixed_spec);
  assert_int_equal(PARSE(&a, msg, "show", "j3", "--fixed-spec"), 0);
  assert_true(a.fixed_spec);
  assert_string_equal(a.job, "j3");

  assert_int_equal(PARSE(&a, msg, "cancel", "j3"), 0);
  assert_string_equal(a.command->name, "cancel");
  assert_string_equal(a.job, "j3");

  assert_int_equal(PARSE(&a, msg, "devices"), 0);
  assert_string_equal(a.command->name, "devices");

  assert_int_equal(PARSE(&a, msg, "export", "j3", "-o", "m.safetensors"), 0);
  assert_string_equal(a.output, "m.safetensors");
  assert_string_equal(a.job, "j3");
  assert_int_equal(PARSE(&a, msg, "export", "-o", "m.st", "j3"), 0);
  assert_string_equal(a.output, "m.st");
  assert_int_equal(PARSE(&a, msg, "export", "j3", "--output=x.st"), 0);
  assert_string_equal(a.output, "x.st");
  assert_int_equal(PARSE(&a, msg, "export", "j3", "--output", "y.st"), 0);
  assert_string_equal(a.output, "y.st");
  assert_int_equal(PARSE(&a, msg, "export", "j3", "-oz.st"), 0);
  assert_string_equal(a.output, "z.st");

  assert_int_equal(PARSE(&a, msg, "help"), 0);
  assert_null(a.topic);
  assert_int_equal(PARSE(&a, msg, "help", "submit"), 0);
  assert_non_null(a.topic);
  assert_string_equal(a.topic->name, "submit");

  /* "--" ends the options: a spec may start with '-' */
  assert_int_equal(PARSE(&a, msg, "submit", "--", "-odd.json"), 0);
  assert_string_equal(a.spec, "-odd.json");
}

static void test_parse_global_options(void **state) {
  (void)state;
  fl_cli_args a;
  char msg[512];

  assert_int_equal(PARSE(&a, msg, "--json", "list"), 0);
  assert_true(a.json);
  assert_int_equal(PARSE(&a, msg, "list", "--json"), 0); /* after, too */
  assert_true(a.json);
  assert_int_equal(PARSE(&a, msg, "--no-color", "list"), 0);
  assert_true(a.no_color);
  assert_int_equal(PARSE(&a, msg, "--socket", "/tmp/s.sock", "list"), 0);
  assert_string_equal(a.socket_path, "/tmp/s.sock");
  assert_int_equal(PARSE(&a, msg, "--socket=/tmp/t.sock", "devices"), 0);
  assert_string_equal(a.socket_path, "/tmp/t.sock");
  assert_null(a.topic);

  /* --help needs none of the command's arguments */
  assert_int_equal(PARSE(&a, msg, "submit", "--help"), 0);
  assert_true(a.help);
  assert_string_equal(a.command->name, "submit");
  assert_int_equal(PARSE(&a, msg, "export", "-h"), 0);
  assert_true(a.help);
  assert_int_equal(PARSE(&a, msg, "--help"), 0);
  assert_true(a.help);
  assert_null(a.command);
  assert_int_equal(PARSE(&a, msg, "--version"), 0);
  assert_true(a.version);
}

/* ---- argument parsing: mistakes are usage errors (2) that say why ----- */

static void expect_usage(int rc, const char *msg, const char *needle) {
  assert_int_equal(rc, FL_EXIT_USAGE);
  if (!strstr(msg, needle)) fail_msg("message \"%s\" lacks \"%s\"", msg, needle);
}

static void test_parse_errors(void **state) {
  (void)state;
  fl_cli_args a;
  char msg[512];
  char *none[] = {"flatline", NULL};
  expect_usage(fl_cli_parse(1, none, &a, msg, sizeof msg), msg,
               "no command given");
  expect_usage(PARSE(&a, msg, "sumbit", "x.json"), msg,
               "did you mean 'submit'");
  expect_usage(PARSE(&a, msg, "frobnicate"), msg, "unknown command");
  expect_usage(PARSE(&a, msg, "submit", "x.json", "--folow"), msg,
               "did you mean '--follow'");
  expect_usage(PARSE(&a, msg, "submit"), msg, "needs a job spec file");
  expect_usage(PARSE(&a, msg, "submit", "a.json", "b.json"), msg,
               "unexpected argument 'b.json'");
  expect_usage(PARSE(&a, msg, "submit", ""), msg, "empty");
  expect_usage(PARSE(&a, msg, "check"), msg, "needs a job spec file");
  expect_usage(PARSE(&a, msg, "check", "x.json", "--follow"), msg,
               "unknown option '--follow'");
  expect_usage(PARSE(&a, msg, "follow"), msg, "needs a job id");
  expect_usage(PARSE(&a, msg, "follow", "abc"), msg, "not a job id");
  expect_usage(PARSE(&a, msg, "follow", "j"), msg, "not a job id");
  expect_usage(PARSE(&a, msg, "follow", "j1x"), msg, "not a job id");
  expect_usage(PARSE(&a, msg, "list", "extra"), msg, "unexpected argument");
  expect_usage(PARSE(&a, msg, "show"), msg, "needs a job id");
  expect_usage(PARSE(&a, msg, "show", "j1", "--follow"), msg,
               "unknown option");
  expect_usage(PARSE(&a, msg, "cancel"), msg, "needs a job id");
  expect_usage(PARSE(&a, msg, "cancel", "j1", "--all"), msg, "not both");
  expect_usage(PARSE(&a, msg, "wait", "j1", "x2"), msg, "not a job id");
  expect_usage(PARSE(&a, msg, "submit", "a.json", "--priority", "high"), msg,
               "--priority needs a whole number");
  expect_usage(PARSE(&a, msg, "submit", "a.json", "--priority", "5000"), msg,
               "--priority needs a whole number");
  expect_usage(PARSE(&a, msg, "submit", "a.json", "--after"), msg,
               "--after needs a job id");
  expect_usage(PARSE(&a, msg, "list", "--state"), msg, "--state needs a value");
  expect_usage(PARSE(&a, msg, "kill", "j1"), msg, "'kill' is 'flatline cancel' here");
  expect_usage(PARSE(&a, msg, "status"), msg, "'status' is 'flatline list' here");
  expect_usage(PARSE(&a, msg, "add", "x.json"), msg, "'add' is 'flatline submit' here");
  expect_usage(PARSE(&a, msg, "devices", "--fixed-spec"), msg,
               "unknown option");
  expect_usage(PARSE(&a, msg, "export", "j1"), msg, "needs an output file");
  expect_usage(PARSE(&a, msg, "export", "j1", "-o"), msg, "-o needs a file");
  expect_usage(PARSE(&a, msg, "--socket"), msg, "--socket needs a path");
  expect_usage(PARSE(&a, msg, "--socket=", "list"), msg,
               "--socket needs a path");
  expect_usage(PARSE(&a, msg, "help", "sumbit"), msg,
               "did you mean 'submit'");
  expect_usage(PARSE(&a, msg, "--jsn", "list"), msg, "did you mean '--json'");
}

/* Queue control (issue 14): several ids, --all, --priority, --after,
 * list filters, check -. */
static void test_parse_queue_commands(void **state) {
  (void)state;
  static fl_cli_args a; /* big: the ids table */
  char msg[512];
  assert_int_equal(PARSE(&a, msg, "wait", "j1", "2", "j30"), 0);
  assert_string_equal(a.command->name, "wait");
  assert_int_equal(a.n_ids, 3);
  assert_string_equal(a.job, "j1");
  assert_string_equal(a.ids[1], "2");
  assert_int_equal(PARSE(&a, msg, "cancel", "j3", "j4"), 0);
  assert_int_equal(a.n_ids, 2);
  assert_false(a.all);
  assert_int_equal(PARSE(&a, msg, "cancel", "--all"), 0);
  assert_true(a.all);
  assert_int_equal(a.n_ids, 0);
  assert_int_equal(PARSE(&a, msg, "rm", "j9"), 0);
  assert_string_equal(a.command->name, "rm");
  assert_int_equal(PARSE(&a, msg, "log", "j9"), 0);
  assert_string_equal(a.job, "j9");
  assert_int_equal(PARSE(&a, msg, "submit", "a.json", "--priority", "-3",
                         "--after=17"), 0);
  assert_int_equal(a.priority, -3);
  assert_string_equal(a.after, "j17");
  assert_int_equal(PARSE(&a, msg, "list", "--state", "running", "--user=bob"), 0);
  assert_string_equal(a.state_filter, "running");
  assert_string_equal(a.user_filter, "bob");
  assert_int_equal(PARSE(&a, msg, "check", "-"), 0);
  assert_string_equal(a.spec, "-");
}

static void test_exit_worst(void **state) {
  (void)state;
  assert_int_equal(fl_cli_exit_worst(FL_EXIT_OK, FL_EXIT_OK), FL_EXIT_OK);
  assert_int_equal(fl_cli_exit_worst(FL_EXIT_OK, FL_EXIT_DIAGNOSED), FL_EXIT_DIAGNOSED);
  assert_int_equal(fl_cli_exit_worst(FL_EXIT_DIAGNOSED, FL_EXIT_OK), FL_EXIT_DIAGNOSED);
  assert_int_equal(fl_cli_exit_worst(FL_EXIT_DIAGNOSED, FL_EXIT_FAILED), FL_EXIT_FAILED);
  assert_int_equal(fl_cli_exit_worst(FL_EXIT_FAILED, FL_EXIT_OK), FL_EXIT_FAILED);
}

static void test_job_ids(void **state) {
  (void)state;
  char id[FL_JOB_ID_MAX];
  assert_true(fl_cli_job_id("j0", id));
  assert_string_equal(id, "j0");
  assert_true(fl_cli_job_id("123", id));
  assert_string_equal(id, "j123");
  assert_false(fl_cli_job_id("", id));
  assert_false(fl_cli_job_id("j", id));
  assert_false(fl_cli_job_id("J1", id));
  assert_false(fl_cli_job_id("j-1", id));
  assert_false(fl_cli_job_id("j1 ", id));
  char longest[FL_JOB_ID_MAX + 4];
  memset(longest, '9', sizeof longest - 1);
  longest[sizeof longest - 1] = '\0';
  assert_false(fl_cli_job_id(longest, id)); /* would not fit */
  longest[FL_JOB_ID_MAX - 2] = '\0';        /* "j" + 30 digits fits */
  assert_true(fl_cli_job_id(longest, id));
  assert_int_equal(strlen(id), FL_JOB_ID_MAX - 1);
}

/* ---- socket path ------------------------------------------------------ */

static bool exists_yes(const char *p) { (void)p; return true; }
static bool exists_no(const char *p) { (void)p; return false; }

static void test_socket_resolution(void **state) {
  (void)state;
  fl_cli_socket s;
  assert_int_equal(fl_cli_socket_resolve("/a.sock", "/b.sock", "/run/user/1",
                                         exists_yes, &s), 0);
  assert_string_equal(s.path, "/a.sock");
  assert_non_null(strstr(s.note, "--socket"));

  assert_int_equal(fl_cli_socket_resolve(NULL, "/b.sock", "/run/user/1",
                                         exists_yes, &s), 0);
  assert_string_equal(s.path, "/b.sock");
  assert_non_null(strstr(s.note, "FLATLINE_SOCKET"));

  /* an empty variable counts as unset */
  assert_int_equal(fl_cli_socket_resolve(NULL, "", "/run/user/1", exists_yes,
                                         &s), 0);
  assert_string_equal(s.path, "/run/flatline.sock");

  assert_int_equal(fl_cli_socket_resolve(NULL, NULL, "/run/user/1", exists_no,
                                         &s), 0);
  assert_string_equal(s.path, "/run/user/1/flatline.sock");
  assert_non_null(strstr(s.note, "/run/flatline.sock does not exist"));

  assert_int_equal(fl_cli_socket_resolve(NULL, NULL, NULL, exists_no, &s), 0);
  assert_string_equal(s.path, "/run/flatline.sock");
  assert_non_null(strstr(s.note, "XDG_RUNTIME_DIR is unset"));

  char longpath[200];
  memset(longpath, 'x', sizeof longpath - 1);
  longpath[0] = '/';
  longpath[sizeof longpath - 1] = '\0';
  assert_int_equal(fl_cli_socket_resolve(longpath, NULL, NULL, exists_no, &s),
                   FL_EXIT_USAGE);
  assert_non_null(strstr(s.note, "shorter path"));
}

/* ---- exit statuses (DESIGN.md §6) ------------------------------------- */

static void test_exit_mapping(void **state) {
  (void)state;
  assert_int_equal(fl_cli_exit_for_end("done", false), 0);
  assert_int_equal(fl_cli_exit_for_end("done", true), 3);
  assert_int_equal(fl_cli_exit_for_end("failed", false), 1);
  assert_int_equal(fl_cli_exit_for_end("failed", true), 1);
  assert_int_equal(fl_cli_exit_for_end("rejected", true), 1);
  assert_int_equal(fl_cli_exit_for_end("cancelled", false), 1);
  assert_int_equal(fl_cli_exit_for_end("bogus", false), 1);
  assert_int_equal(fl_cli_exit_for_end(NULL, false), 1);

  assert_int_equal(fl_cli_exit_for_connect(FL_ECONNECTION), 69);
  assert_int_equal(fl_cli_exit_for_connect(FL_EPERM), 69);
  assert_int_equal(fl_cli_exit_for_connect(FL_EUNSUPPORTED), 1);
  assert_int_equal(fl_cli_exit_for_connect(FL_EPARSE), 1);
  assert_int_equal(fl_cli_exit_for_connect(FL_EINVAL), 1);

  fl_json *f = json("[{\"severity\":\"warning\"},{\"severity\":\"error\"}]");
  assert_true(fl_cli_findings_have_error(f));
  fl_json_free(f);
  f = json("[{\"severity\":\"warning\"}]");
  assert_false(fl_cli_findings_have_error(f));
  fl_json_free(f);
  assert_false(fl_cli_findings_have_error(NULL));
}

/* The exit status a follow ends with, from the events themselves. */
static void test_follow_exit_status(void **state) {
  (void)state;
  capture c;
  const char *healthy[] = {
      "{\"event\":\"epoch\",\"job\":\"j7\",\"epoch\":1,\"loss\":2.0}",
      "{\"event\":\"diagnosis\",\"job\":\"j7\",\"epoch\":1,\"causes\":[]}",
      "{\"event\":\"end\",\"job\":\"j7\",\"state\":\"done\",\"cause\":null}"};
  capture_open(&c, false, false, false);
  assert_int_equal(feed(&c, healthy, 3, 0), 0);
  capture_close(&c);
  capture_free(&c);

  const char *diagnosed[] = {
      "{\"event\":\"diagnosis\",\"job\":\"j7\",\"epoch\":3,\"causes\":"
      "[{\"cause\":\"learning_rate_too_high\",\"confidence\":0.8}]}",
      "{\"event\":\"end\",\"job\":\"j7\",\"state\":\"done\",\"cause\":null}"};
  capture_open(&c, true, false, false);
  assert_int_equal(feed(&c, diagnosed, 2, 0), 3);
  capture_close(&c);
  capture_free(&c);

  const char *end_cause[] = {
      "{\"event\":\"end\",\"job\":\"j7\",\"state\":\"done\","
      "\"cause\":\"class_imbalance\"}"};
  capture_open(&c, false, false, false);
  assert_int_equal(feed(&c, end_cause, 1, 0), 3);
  capture_close(&c);
  capture_free(&c);

  const char *failed[] = {
      "{\"event\":\"end\",\"job\":\"j7\",\"state\":\"failed\","
      "\"cause\":\"device_out_of_memory\",\"message\":\"too big\"}"};
  capture_open(&c, false, false, false);
  assert_int_equal(feed(&c, failed, 1, 0), 1);
  capture_close(&c);
  assert_non_null(strstr(c.out_buf, "j7 failed: device_out_of_memory: too big"));
  capture_free(&c);

  const char *no_end[] = {"{\"event\":\"epoch\",\"epoch\":1,\"loss\":1}"};
  capture_open(&c, false, false, false);
  assert_int_equal(feed(&c, no_end, 1, 0), -1); /* not ended */
  capture_close(&c);
  capture_free(&c);
}

/* ---- sparkline -------------------------------------------------------- */

static void test_sparkline(void **state) {
  (void)state;
  char buf[256];
  const double up[] = {1, 2, 3, 4, 5, 6, 7, 8};
  assert_int_equal(fl_cli_sparkline(buf, sizeof buf, up, 8, 60), 8);
  assert_string_equal(buf, "▁▂▃▄▅▆▇█");

  const double down[] = {8, 7, 6, 5, 4, 3, 2, 1};
  fl_cli_sparkline(buf, sizeof buf, down, 8, 60);
  assert_string_equal(buf, "█▇▆▅▄▃▂▁");

  /* a flat loss looks flat, even with noise in the 4th decimal */
  const double flat[] = {2.3026, 2.3026, 2.3026};
  fl_cli_sparkline(buf, sizeof buf, flat, 3, 60);
  assert_string_equal(buf, "▁▁▁");
  const double noisy[] = {2.3026, 2.3019, 2.3025, 2.3021};
  fl_cli_sparkline(buf, sizeof buf, noisy, 4, 60);
  assert_string_equal(buf, "▁▁▁▁");

  /* a NaN loss stands out */
  const double nan_mid[] = {3, NAN, 1};
  fl_cli_sparkline(buf, sizeof buf, nan_mid, 3, 60);
  assert_string_equal(buf, "█!▁");

  /* longer than the width: averaged in equal buckets */
  const double pairs[] = {1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8};
  assert_int_equal(fl_cli_sparkline(buf, sizeof buf, pairs, 16, 8), 8);
  assert_string_equal(buf, "▁▂▃▄▅▆▇█");

  /* nothing, and a buffer too small for all the bars */
  assert_int_equal(fl_cli_sparkline(buf, sizeof buf, up, 0, 60), 0);
  assert_string_equal(buf, "");
  char small[7]; /* room for two bars and the NUL */
  assert_int_equal(fl_cli_sparkline(small, sizeof small, up, 8, 60), 2);
  assert_int_equal(strlen(small), 6);
}

/* ---- epoch rows and tables -------------------------------------------- */

static void test_epoch_row(void **state) {
  (void)state;
  char line[256];
  fl_cli_epoch_header(line, sizeof line);
  assert_string_equal(line, "  epoch       loss  accuracy   val_loss   val_acc"
                            "         lr   seconds   samples/s");
  fl_json *ev = json("{\"event\":\"epoch\",\"job\":\"j1\",\"epoch\":3,"
                     "\"loss\":2.302585,\"accuracy\":0.1,\"val_loss\":2.31,"
                     "\"val_accuracy\":0.095,\"lr\":0.001,\"seconds\":1.25,"
                     "\"samples_per_s\":48213.4,\"grad_norm\":[1,2]}");
  fl_cli_epoch_row(line, sizeof line, ev, 20);
  assert_string_equal(line, "   3/20     2.3026    0.1000     2.3100    0.0950"
                            "      0.001       1.2       48213");
  fl_cli_epoch_row(line, sizeof line, ev, 0); /* total unknown */
  assert_string_equal(line, "      3     2.3026    0.1000     2.3100    0.0950"
                            "      0.001       1.2       48213");
  fl_json_free(ev);

  /* no validation: "-"; a non-finite loss (written as null): "nan"; a
   * diverging loss: scientific notation rather than a wider column */
  ev = json("{\"event\":\"epoch\",\"epoch\":12,\"loss\":null,\"accuracy\":0.5,"
            "\"lr\":1e-05,\"seconds\":0.5,\"samples_per_s\":100}");
  fl_cli_epoch_row(line, sizeof line, ev, 100);
  assert_string_equal(line, " 12/100        nan    0.5000          -         -"
                            "      1e-05       0.5         100");
  fl_json_free(ev);
  ev = json("{\"event\":\"epoch\",\"epoch\":2,\"loss\":123456.7}");
  fl_cli_epoch_row(line, sizeof line, ev, 0);
  assert_non_null(strstr(line, "1.235e+05"));
  fl_json_free(ev);
}

static void test_list_table(void **state) {
  (void)state;
  capture c;
  fl_json *jobs = json(
      "[{\"job\":\"j1\",\"name\":\"digits-mlp\",\"owner\":1000,\"user\":\"alice\","
      "\"state\":\"running\",\"device\":0,\"epoch\":3,\"epochs\":20},"
      "{\"job\":\"j12\",\"name\":\"x\",\"owner\":1001,\"user\":\"bob\","
      "\"state\":\"queued\",\"device\":null,\"epoch\":null,\"epochs\":5}]");
  capture_open(&c, false, false, false);
  assert_int_equal(fl_cli_render_jobs(&c.o, jobs), 0);
  capture_close(&c);
  assert_string_equal(c.out_buf,
                      "JOB  USER   NAME        STATE    DEVICE  EPOCH\n"
                      "j1   alice  digits-mlp  running  0        3/20\n"
                      "j12  bob    x           queued   -         -/5\n");
  capture_free(&c);

  /* colour wraps the state but does not shift the columns */
  capture_open(&c, false, true, true);
  assert_int_equal(fl_cli_render_jobs(&c.o, jobs), 0);
  capture_close(&c);
  assert_non_null(strstr(c.out_buf, "\033[32mrunning\033[0m  0"));
  capture_free(&c);

  /* --json: one {"event":"job",...} line per job, fields as they came */
  capture_open(&c, true, false, false);
  assert_int_equal(fl_cli_render_jobs(&c.o, jobs), 0);
  capture_close(&c);
  assert_string_equal(
      c.out_buf,
      "{\"event\":\"job\",\"job\":\"j1\",\"name\":\"digits-mlp\",\"owner\":1000,"
      "\"user\":\"alice\",\"state\":\"running\",\"device\":0,\"epoch\":3,"
      "\"epochs\":20}\n"
      "{\"event\":\"job\",\"job\":\"j12\",\"name\":\"x\",\"owner\":1001,"
      "\"user\":\"bob\",\"state\":\"queued\",\"device\":null,\"epoch\":null,"
      "\"epochs\":5}\n");
  capture_free(&c);
  fl_json_free(jobs);
}

/* The times columns, the cancelling state, and a table cut to the width
 * with an ellipsis. */
static void test_list_fits_the_width(void **state) {
  (void)state;
  capture c;
  fl_json *jobs = json(
      "[{\"job\":\"j1\",\"name\":\"a-very-long-job-name-indeed\",\"owner\":0,"
      "\"user\":\"root\",\"state\":\"running\",\"cancelling\":true,\"device\":0,"
      "\"device_name\":\"pthread-cpu\",\"epoch\":3,\"epochs\":20,"
      "\"submitted\":1700000000,\"started\":1700000010,\"ended\":null},"
      "{\"job\":\"j2\",\"name\":\"x\",\"owner\":0,\"user\":\"root\","
      "\"state\":\"done\",\"cancelling\":false,\"device\":0,\"epoch\":5,"
      "\"epochs\":5,\"submitted\":1700000000,\"started\":1700000010,"
      "\"ended\":1700000135}]");
  capture_open(&c, false, false, false);
  assert_int_equal(fl_cli_render_jobs(&c.o, jobs), 0);
  capture_close(&c);
  assert_non_null(strstr(c.out_buf, "ELAPSED"));
  assert_non_null(strstr(c.out_buf, "cancelling"));
  assert_non_null(strstr(c.out_buf, "2m05s"));
  assert_non_null(strstr(c.out_buf, "pthread-cpu"));
  capture_free(&c);
  capture_open(&c, false, false, false);
  c.o.columns = 60;
  assert_int_equal(fl_cli_render_job_pages_filtered(&c.o, (const fl_json *const *)&jobs, 1,
                                                    "cancelling", NULL), 0);
  capture_close(&c);
  assert_null(strstr(c.out_buf, "j2"));
  assert_non_null(strstr(c.out_buf, "\xe2\x80\xa6")); /* … */
  for (char *line = strtok(c.out_buf, "\n"); line; line = strtok(NULL, "\n"))
    assert_true(fl_cli_text_width(line) <= 60);
  capture_free(&c);
  fl_json_free(jobs);
}

static void test_devices_table(void **state) {
  (void)state;
  capture c;
  fl_json *devs = json(
      "[{\"index\":0,\"name\":\"NVIDIA H100\",\"platform\":\"NVIDIA CUDA\","
      "\"type\":\"GPU\",\"memory\":85899345920,\"running\":\"j1\",\"queued\":2},"
      "{\"index\":1,\"name\":\"cpu\",\"platform\":\"Portable Computing Language\","
      "\"type\":\"CPU\",\"memory\":1073741824,\"running\":null,\"queued\":0}]");
  capture_open(&c, false, false, false);
  assert_int_equal(fl_cli_render_devices(&c.o, devs), 0);
  capture_close(&c);
  assert_string_equal(
      c.out_buf,
      "INDEX  TYPE  NAME           MEMORY  RUNNING  QUEUED  PLATFORM\n"
      "    0  GPU   NVIDIA H100  80.0 GiB  j1            2  NVIDIA CUDA\n"
      "    1  CPU   cpu           1.0 GiB  -             0  Portable Computing Language\n");
  capture_free(&c);
  capture_open(&c, true, false, false);
  fl_cli_render_devices(&c.o, devs);
  capture_close(&c);
  assert_memory_equal(c.out_buf, "{\"event\":\"device\",\"index\":0,", 28);
  capture_free(&c);
  fl_json_free(devs);
}

/* A job name is another user's text: it must not reach a terminal raw. */
static void test_table_sanitizes(void **state) {
  (void)state;
  capture c;
  fl_json *jobs = json("[{\"job\":\"j1\",\"name\":\"evil\\u001b]0;pwned\\u0007"
                       "\\u009b31m\",\"user\":\"mallory\",\"state\":\"queued\"}]");
  capture_open(&c, false, false, true);
  fl_cli_render_jobs(&c.o, jobs);
  capture_close(&c);
  assert_null(strchr(c.out_buf, '\033'));
  assert_null(strchr(c.out_buf, '\007'));
  assert_null(strstr(c.out_buf, "\xc2\x9b"));
  if (!strstr(c.out_buf, "evil?]0;pwned??31m")) fail_msg("got: %s", c.out_buf);
  capture_free(&c);
  fl_json_free(jobs);
}

static void test_sanitize(void **state) {
  (void)state;
  char buf[64];
  fl_cli_sanitize(buf, sizeof buf, "caf\xc3\xa9 ok");
  assert_string_equal(buf, "caf\xc3\xa9 ok"); /* UTF-8 kept */
  fl_cli_sanitize(buf, sizeof buf, "a\nb\tc\rd");
  assert_string_equal(buf, "a b c d");
  fl_cli_sanitize(buf, sizeof buf, "\x1b[31mred\x7f");
  assert_string_equal(buf, "?[31mred?");
  fl_cli_sanitize(buf, sizeof buf, "bad \xff\xc3 utf8 \xc0\xaf");
  assert_string_equal(buf, "bad ?? utf8 ??");
  fl_cli_sanitize(buf, 6, "ab\xc3\xa9\xc3\xa9"); /* no half character */
  assert_string_equal(buf, "ab\xc3\xa9");
  fl_cli_sanitize(buf, sizeof buf, NULL);
  assert_string_equal(buf, "");
  strcpy(buf, "in\x01place");
  fl_cli_sanitize(buf, sizeof buf, buf);
  assert_string_equal(buf, "in?place");
  assert_int_equal(fl_cli_text_width("caf\xc3\xa9"), 4);
}

/* ---- --json event lines ----------------------------------------------- */

/* The inner object of an event frame comes out unchanged, one line each. */
static void test_json_events_pass_through(void **state) {
  (void)state;
  const char *inner[] = {
      "{\"event\":\"epoch\",\"job\":\"j7\",\"epoch\":1,\"loss\":2.302585093,"
      "\"accuracy\":0.1,\"val_loss\":null,\"lr\":0.001,\"grad_norm\":[0.5,null],"
      "\"pred_hist\":[10,0,3],\"nonfinite\":false,\"future_field\":{\"a\":\"b\"}}",
      "{\"event\":\"progress\",\"job\":\"j7\",\"epoch\":2,\"step\":10,\"steps\":100}",
      "{\"event\":\"probe\",\"job\":\"j7\",\"message\":\"lr/10 learns\"}",
      "{\"event\":\"diagnosis\",\"job\":\"j7\",\"epoch\":2,\"causes\":[{\"cause\":"
      "\"learning_rate_too_high\",\"confidence\":0.82,\"evidence\":\"loss rose "
      "3%\",\"advice\":\"lower it\",\"fix\":{\"optimizer\":{\"learning_rate\":"
      "0.001}}}]}",
      "{\"event\":\"end\",\"job\":\"j7\",\"state\":\"done\",\"cause\":null}",
  };
  capture c;
  capture_open(&c, true, true, true); /* JSON ignores colour and terminals */
  fl_follow_view v;
  fl_follow_init(&v, &c.o, "j7", 0);
  for (size_t i = 0; i < 5; i++) {
    /* as the daemon frames it */
    char frame[1024];
    snprintf(frame, sizeof frame, "{\"type\":\"event\",\"event\":%s}", inner[i]);
    fl_json *msg = json(frame);
    assert_int_equal(fl_follow_event(&v, fl_json_get(msg, "event")), i == 4);
    fl_json_free(msg);
  }
  assert_int_equal(v.exit_status, FL_EXIT_DIAGNOSED);
  fl_follow_free(&v);
  capture_close(&c);
  char expected[4096] = "";
  for (size_t i = 0; i < 5; i++) {
    strcat(expected, inner[i]);
    strcat(expected, "\n");
  }
  assert_string_equal(c.out_buf, expected);
  assert_int_equal(c.err_len, 0);
  capture_free(&c);
}

static void test_json_text_helpers(void **state) {
  (void)state;
  char *s = fl_cli_json_concat("{\"event\":\"job\"}", "{\"job\":\"j1\"}");
  assert_string_equal(s, "{\"event\":\"job\",\"job\":\"j1\"}");
  free(s);
  s = fl_cli_json_concat("{\"event\":\"job\"}", "{}");
  assert_string_equal(s, "{\"event\":\"job\"}");
  free(s);
  assert_null(fl_cli_json_concat("{}", "[1]"));

  fl_json *arr = json("[1,2]");
  s = fl_cli_json_with_event("x", arr); /* not an object: the event alone */
  assert_string_equal(s, "{\"event\":\"x\"}");
  free(s);
  fl_json_free(arr);

  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  fl_cli_json_pretty(f, "{\"a\":[1,2],\"b\":{},\"c\":\"x,{y}:\\\"z\",\"d\":[]}", 0);
  fl_cli_json_pretty(f, "{\"e\":[3]}", 1); /* indented as a whole */
  fclose(f);
  assert_string_equal(buf,
                      "{\n"
                      "  \"a\": [\n"
                      "    1,\n"
                      "    2\n"
                      "  ],\n"
                      "  \"b\": {},\n"
                      "  \"c\": \"x,{y}:\\\"z\",\n"
                      "  \"d\": []\n"
                      "}\n"
                      "  {\n"
                      "    \"e\": [\n"
                      "      3\n"
                      "    ]\n"
                      "  }\n");
  free(buf);
}

/* ---- the human follow view -------------------------------------------- */

static void test_follow_human_view(void **state) {
  (void)state;
  const char *events[] = {
      "{\"event\":\"progress\",\"job\":\"j7\",\"epoch\":1,\"step\":50,\"steps\":100}",
      "{\"event\":\"epoch\",\"job\":\"j7\",\"epoch\":1,\"loss\":2.3,\"accuracy\":0.1,"
      "\"lr\":0.1,\"seconds\":1.0,\"samples_per_s\":1000}",
      "{\"event\":\"epoch\",\"job\":\"j7\",\"epoch\":2,\"loss\":1.3,\"accuracy\":0.5,"
      "\"lr\":0.1,\"seconds\":1.5,\"samples_per_s\":1000}",
      "{\"event\":\"diagnosis\",\"job\":\"j7\",\"epoch\":2,\"causes\":[{\"cause\":"
      "\"class_imbalance\",\"confidence\":0.75,\"evidence\":[\"ratio 40\","
      "\"predicts class 0\"],\"advice\":\"weight the classes\",\"fix\":"
      "{\"epochs\":3}}]}",
      "{\"event\":\"end\",\"job\":\"j7\",\"state\":\"done\",\"cause\":null}",
  };
  capture c;
  /* on a terminal, without colour */
  capture_open(&c, false, false, true);
  assert_int_equal(feed(&c, events, 5, 2), FL_EXIT_DIAGNOSED);
  capture_close(&c);
  const char *out = c.out_buf;
  assert_null(strchr(out, '\033')); /* no colour asked for: none given */
  /* the progress line, then cleared (\r + blanks + \r) before the header */
  assert_non_null(strstr(out, "\r  epoch 1/2  step 50/100  "));
  assert_non_null(strstr(out, " 50%"));
  const char *header = strstr(out, "  epoch       loss");
  assert_non_null(header);
  assert_memory_equal(header - 1, "\r", 1);
  assert_non_null(strstr(out, "    1/2     2.3000    0.1000"));
  assert_non_null(strstr(out, "!! diagnosis (j7, epoch 2): 1 cause\n"));
  assert_non_null(strstr(out, "1. class_imbalance  confidence 0.75\n"));
  assert_non_null(strstr(out, "evidence  ratio 40\n"));
  assert_non_null(strstr(out, "          predicts class 0\n"));
  assert_non_null(strstr(out, "advice    weight the classes\n"));
  assert_non_null(strstr(out, "fix       {\"epochs\":3}\n"));
  assert_non_null(strstr(out, "loss █▁  2.3000 -> 1.3000 over 2 epochs\n"));
  assert_non_null(strstr(out, "j7 done, with a diagnosed problem: "
                              "class_imbalance"));
  capture_free(&c);

  /* not a terminal: no progress line at all, no \r anywhere */
  capture_open(&c, false, false, false);
  feed(&c, events, 5, 2);
  capture_close(&c);
  assert_null(strchr(c.out_buf, '\r'));
  assert_null(strstr(c.out_buf, "step 50/100"));
  capture_free(&c);

  /* colour on a terminal: the alert stands out */
  capture_open(&c, false, true, true);
  feed(&c, events, 5, 2);
  capture_close(&c);
  assert_non_null(strstr(c.out_buf, "\033[1;31m!! diagnosis"));
  capture_free(&c);

  /* a healthy run ends with a plain summary */
  const char *healthy[] = {events[1], events[2],
                           "{\"event\":\"end\",\"job\":\"j7\",\"state\":\"done\"}"};
  capture_open(&c, false, false, false);
  assert_int_equal(feed(&c, healthy, 3, 2), FL_EXIT_OK);
  capture_close(&c);
  assert_non_null(strstr(c.out_buf, "j7 done: 2 epochs in 2.5 s\n"));
  capture_free(&c);

  /* epochs of a few milliseconds add up to a time, not to "0.0 s" */
  const char *quick[] = {
      "{\"event\":\"epoch\",\"job\":\"j7\",\"epoch\":1,\"loss\":2.3,\"seconds\":0.012}",
      "{\"event\":\"epoch\",\"job\":\"j7\",\"epoch\":2,\"loss\":1.3,\"seconds\":0.009}",
      "{\"event\":\"end\",\"job\":\"j7\",\"state\":\"done\"}"};
  capture_open(&c, false, false, false);
  assert_int_equal(feed(&c, quick, 3, 2), FL_EXIT_OK);
  capture_close(&c);
  assert_non_null(strstr(c.out_buf, "j7 done: 2 epochs in 0.021 s\n"));
  capture_free(&c);

  /* preflight findings read as notes, not as the event's JSON */
  const char *pre[] = {
      "{\"event\":\"preflight\",\"job\":\"j7\",\"findings\":[{\"severity\":\"warning\","
      "\"cause\":\"unnormalized_inputs\",\"message\":\"features reach |x| = 255\","
      "\"fix\":{\"data\":{\"train\":{\"scale\":0.00392}}}}]}",
      events[1], "{\"event\":\"end\",\"job\":\"j7\",\"state\":\"done\"}"};
  capture_open(&c, false, false, false);
  feed(&c, pre, 3, 2);
  capture_close(&c);
  assert_non_null(strstr(c.out_buf, "   preflight note: unnormalized_inputs: features reach |x| = 255\n"));
  assert_non_null(strstr(c.out_buf, "      fix       {\"data\":{\"train\":{\"scale\":0.00392}}}\n"));
  assert_null(strstr(c.out_buf, "\"findings\""));
  capture_free(&c);

  /* on_plateau's fix and its outcome read as lines too */
  const char *fixes[] = {
      events[1],
      "{\"event\":\"fix\",\"job\":\"j7\",\"cause\":\"learning_rate_too_high\","
      "\"fix\":{\"optimizer\":{\"learning_rate\":0.01}},\"loss_before\":7.17845703,\"epoch\":2}",
      "{\"event\":\"fixed\",\"job\":\"j7\",\"cause\":\"learning_rate_too_high\","
      "\"loss_before\":7.17845703,\"loss_after\":0.323391479}",
      "{\"event\":\"end\",\"job\":\"j7\",\"state\":\"done\"}"};
  capture_open(&c, false, false, false);
  feed(&c, fixes, 4, 2);
  capture_close(&c);
  assert_non_null(strstr(c.out_buf, "   fix applied for learning_rate_too_high at loss 7.178\n"));
  assert_non_null(strstr(c.out_buf, "      patch     {\"optimizer\":{\"learning_rate\":0.01}}\n"));
  assert_non_null(strstr(c.out_buf, "   fixed learning_rate_too_high: loss 7.178 -> 0.3234\n"));
  assert_null(strstr(c.out_buf, "\"event\""));
  capture_free(&c);
}

/* ---- colour ----------------------------------------------------------- */

/* The verdict's class report in the follow view: whole for a few
 * classes, its first line past a screenful (issue 12). */
static void test_follow_prints_the_class_report(void **state) {
  (void)state;
  const char *events[] = {
      "{\"event\":\"verdict\",\"job\":\"j7\",\"verdict\":\"healthy\",\"causes\":[],"
      "\"metrics\":{\"on\":\"validation\",\"rows\":1050,\"accuracy\":0.785,"
      "\"per_class\":[{\"class\":0,\"precision\":0.98,\"recall\":0.788,\"f1\":0.874,"
      "\"support\":1000},{\"class\":1,\"precision\":0.145,\"recall\":0.72,\"f1\":0.241,"
      "\"support\":50}],\"macro_f1\":0.558,\"confusion\":[[788,212],[14,36]]}}",
      "{\"event\":\"end\",\"job\":\"j7\",\"state\":\"done\",\"cause\":null}"};
  capture c;
  capture_open(&c, false, false, false);
  assert_int_equal(feed(&c, events, 2, 0), 0);
  capture_close(&c);
  assert_non_null(strstr(c.out_buf, "  metrics     on validation rows (1050): accuracy 0.7850"));
  assert_non_null(strstr(c.out_buf, "        1      14      36\n"));
  capture_free(&c);
  /* 13 classes: the first line and where the rest is */
  char big[4096];
  int at = snprintf(big, sizeof big, "{\"event\":\"verdict\",\"job\":\"j7\",\"verdict\":"
                    "\"healthy\",\"causes\":[],\"metrics\":{\"on\":\"training\",\"rows\":130,"
                    "\"accuracy\":0.5,\"per_class\":[");
  for (int k = 0; k < 13; k++)
    at += snprintf(big + at, sizeof big - (size_t)at, "%s{\"class\":%d,\"precision\":0.5,"
                   "\"recall\":0.5,\"f1\":0.5,\"support\":10}", k ? "," : "", k);
  snprintf(big + at, sizeof big - (size_t)at, "]}}");
  const char *many[] = {big, "{\"event\":\"end\",\"job\":\"j7\",\"state\":\"done\"}"};
  capture_open(&c, false, false, false);
  assert_int_equal(feed(&c, many, 2, 0), 0);
  capture_close(&c);
  assert_non_null(strstr(c.out_buf, "(13 classes: `flatline show` prints the per-class table"));
  assert_null(strstr(c.out_buf, "precision"));
  capture_free(&c);
}

static void test_color_decision(void **state) {
  (void)state;
  assert_false(fl_cli_color_wanted(false, false, NULL, "xterm"));
  assert_true(fl_cli_color_wanted(true, false, NULL, "xterm"));
  assert_true(fl_cli_color_wanted(true, false, NULL, NULL));
  assert_false(fl_cli_color_wanted(true, true, NULL, "xterm"));
  assert_false(fl_cli_color_wanted(true, false, "1", "xterm"));
  assert_true(fl_cli_color_wanted(true, false, "", "xterm")); /* no-color.org */
  assert_false(fl_cli_color_wanted(true, false, NULL, "dumb"));

  fl_cli_out plain = {.color = false}, colored = {.color = true};
  assert_string_equal(fl_cli_style(&plain, FL_STYLE_ALERT), "");
  assert_string_equal(fl_cli_style(&plain, FL_STYLE_RESET), "");
  assert_string_equal(fl_cli_style(&colored, FL_STYLE_RESET), "\033[0m");
  assert_int_equal(fl_cli_state_style("failed"), FL_STYLE_ALERT);
  assert_int_equal(fl_cli_state_style("queued"), FL_STYLE_NONE);
}

/* ---- check findings, show, --fixed-spec -------------------------------- */

static void test_findings(void **state) {
  (void)state;
  fl_json *f = json(
      "[{\"severity\":\"error\",\"cause\":\"label_encoding_mismatch\","
      "\"message\":\"class ids with categorical_crossentropy\","
      "\"fix\":{\"loss\":\"sparse_categorical_crossentropy\"}},"
      "{\"severity\":\"warning\",\"cause\":\"class_imbalance\","
      "\"message\":\"ratio 12\",\"fix\":null}]");
  capture c;
  capture_open(&c, false, false, false);
  assert_int_equal(fl_cli_render_findings(&c.o, "mlp.json", f), 1);
  capture_close(&c);
  assert_string_equal(
      c.out_buf,
      "mlp.json: 1 error, 1 warning\n"
      "  error    label_encoding_mismatch: class ids with "
      "categorical_crossentropy\n"
      "           fix: {\"loss\":\"sparse_categorical_crossentropy\"}\n"
      "  warning  class_imbalance: ratio 12\n");
  capture_free(&c);

  capture_open(&c, true, false, false);
  assert_int_equal(fl_cli_render_findings(&c.o, "mlp.json", f), 1);
  capture_close(&c);
  assert_memory_equal(c.out_buf,
                      "{\"event\":\"preflight\",\"findings\":[{\"severity\":"
                      "\"error\"", 52);
  assert_int_equal(c.out_buf[c.out_len - 1], '\n');
  capture_free(&c);
  fl_json_free(f);

  capture_open(&c, true, false, false);
  assert_int_equal(fl_cli_render_findings(&c.o, "mlp.json", NULL), 0);
  capture_close(&c);
  assert_string_equal(c.out_buf, "{\"event\":\"preflight\",\"findings\":[]}\n");
  capture_free(&c);
}

static void test_show_and_fixed_spec(void **state) {
  (void)state;
  fl_json *reply = json(
      "{\"type\":\"reply\",\"id\":1,\"ok\":true,\"job\":{\"job\":\"j3\","
      "\"name\":\"digits\",\"owner\":1000,\"user\":\"alice\",\"state\":\"done\","
      "\"device\":0,\"epoch\":5,\"epochs\":5,\"cause\":\"learning_rate_too_high\","
      "\"message\":null,\"last_epoch\":{\"loss\":2.3,\"accuracy\":0.1},"
      "\"spec\":{\"epochs\":5},\"fixed_spec\":{\"epochs\":5,\"optimizer\":"
      "{\"name\":\"adam\",\"learning_rate\":0.001}}}}");
  capture c;
  capture_open(&c, false, false, false);
  assert_int_equal(fl_cli_render_job(&c.o, fl_json_get(reply, "job")), 0);
  capture_close(&c);
  assert_non_null(strstr(c.out_buf, "j3  digits\n"));
  assert_non_null(strstr(c.out_buf, "  owner       alice (uid 1000)\n"));
  assert_non_null(strstr(c.out_buf, "  state       done on device 0\n"));
  assert_non_null(strstr(c.out_buf, "  epoch       5/5\n"));
  assert_non_null(strstr(c.out_buf, "  last epoch  loss 2.3000  accuracy 0.1000\n"));
  assert_non_null(strstr(c.out_buf, "  cause       learning_rate_too_high\n"));
  assert_non_null(strstr(c.out_buf, "--fixed-spec"));
  capture_free(&c);

  capture_open(&c, false, false, false);
  assert_int_equal(fl_cli_render_fixed_spec(&c.o, "j3", reply), 0);
  capture_close(&c);
  assert_string_equal(c.out_buf,
                      "{\n  \"epochs\": 5,\n  \"optimizer\": {\n    \"name\": "
                      "\"adam\",\n    \"learning_rate\": 0.001\n  }\n}\n");
  capture_free(&c);

  capture_open(&c, true, false, false);
  assert_int_equal(fl_cli_render_fixed_spec(&c.o, "j3", reply), 0);
  capture_close(&c);
  assert_string_equal(c.out_buf,
                      "{\"event\":\"fixed_spec\",\"job\":\"j3\",\"spec\":"
                      "{\"epochs\":5,\"optimizer\":{\"name\":\"adam\","
                      "\"learning_rate\":0.001}}}\n");
  capture_free(&c);
  fl_json_free(reply);

  /* the verdict's class report (issue 12): accuracy, top-k, the
   * per-class table and the confusion matrix */
  reply = json("{\"type\":\"reply\",\"id\":1,\"ok\":true,\"job\":{\"job\":\"j5\","
               "\"metrics\":{\"on\":\"validation\",\"rows\":1050,\"accuracy\":0.785,"
               "\"top_2_accuracy\":0.99,\"per_class\":[{\"class\":0,\"precision\":0.98,"
               "\"recall\":0.788,\"f1\":0.874,\"support\":1000},{\"class\":1,"
               "\"precision\":0.145,\"recall\":0.72,\"f1\":0.241,\"support\":50}],"
               "\"macro_f1\":0.558,\"confusion\":[[788,212],[14,36]]}}}");
  capture_open(&c, false, false, false);
  assert_int_equal(fl_cli_render_job(&c.o, fl_json_get(reply, "job")), 0);
  capture_close(&c);
  assert_non_null(strstr(c.out_buf, "  metrics     on validation rows (1050): accuracy "
                                    "0.7850, top_2_accuracy 0.9900, macro F1 0.5580\n"));
  assert_non_null(strstr(c.out_buf, "    1          0.1450  0.7200  0.2410       50\n"));
  assert_non_null(strstr(c.out_buf, "    confusion (rows: true class, columns: predicted)\n"
                                    "                0       1\n"
                                    "        0     788     212\n"
                                    "        1      14      36\n"));
  capture_free(&c);
  fl_json_free(reply);

  /* no fix: say so, exit 1, nothing on stdout */
  reply = json("{\"type\":\"reply\",\"id\":1,\"ok\":true,\"job\":{\"job\":\"j4\"}}");
  capture_open(&c, false, false, false);
  assert_int_equal(fl_cli_render_fixed_spec(&c.o, "j4", reply), 1);
  capture_close(&c);
  assert_int_equal(c.out_len, 0);
  assert_non_null(strstr(c.err_buf, "flatline: show j4: there is no fix"));
  capture_free(&c);
  fl_json_free(reply);
}

/* ---- help -------------------------------------------------------------- */

static void test_help_text(void **state) {
  (void)state;
  for (size_t i = 0; i < fl_cli_n_commands; i++) {
    const fl_cli_command *cmd = &fl_cli_commands[i];
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    fl_cli_print_help(f, cmd, NULL);
    fclose(f);
    char usage[128];
    snprintf(usage, sizeof usage, "] %s", cmd->name);
    assert_non_null(strstr(buf, usage));
    assert_non_null(strstr(buf, "Examples:\n"));
    assert_non_null(strstr(buf, "Exit status:\n"));
    assert_non_null(cmd->handler);
    free(buf);
  }
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  fl_cli_print_help(f, NULL, "/run/flatline.sock (the system daemon's socket)");
  fclose(f);
  for (size_t i = 0; i < fl_cli_n_commands; i++) {
    char line[64];
    snprintf(line, sizeof line, "\n  %s ", fl_cli_commands[i].name);
    assert_non_null(strstr(buf, line));
  }
  assert_non_null(strstr(buf, "Socket now: /run/flatline.sock"));
  assert_non_null(strstr(buf, "69 daemon unreachable"));
  free(buf);
}

/* ---- the spec's data files --------------------------------------------- */

static void test_resolve_path(void **state) {
  (void)state;
  char *p = fl_cli_resolve_path("a/b/spec.json", "x.npy");
  assert_string_equal(p, "a/b/x.npy");
  free(p);
  p = fl_cli_resolve_path("spec.json", "sub/x.npy");
  assert_string_equal(p, "sub/x.npy");
  free(p);
  p = fl_cli_resolve_path("/s/spec.json", "/data/x.npy");
  assert_string_equal(p, "/data/x.npy");
  free(p);
}

static void write_file(const char *path, const char *text) {
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fputs(text, f);
  fclose(f);
}

static void test_spec_files(void **state) {
  (void)state;
  fl_cli_job_files jf;
  fl_error err = {0};
  const char *spec = FL_SOURCE_DIR "/examples/blobs/mlp.json";
  assert_int_equal(fl_cli_spec_load(spec, &jf, &err), 0);
  assert_int_equal(jf.n_files, 1);
  assert_string_equal(jf.files[0].key, "data.train.csv");
  assert_string_equal(jf.files[0].path, "blobs.csv");
  assert_string_equal(jf.files[0].resolved, FL_SOURCE_DIR "/examples/blobs/blobs.csv");
  assert_int_equal(fl_cli_spec_hash(&jf, &err), 0);
  assert_true(fl_sha256_hex_valid(jf.files[0].sha256));
  assert_true(jf.files[0].size > 0);
  fl_jw w;
  fl_jw_init(&w);
  fl_jw_object_begin(&w, NULL);
  fl_cli_spec_files_json(&w, &jf);
  fl_jw_object_end(&w);
  char *text = fl_jw_finish(&w);
  char expected[256];
  snprintf(expected, sizeof expected, "{\"files\":{\"blobs.csv\":\"%s\"}}",
           jf.files[0].sha256);
  assert_string_equal(text, expected);
  free(text);
  fl_cli_job_files_free(&jf);

  char dir[] = "/tmp/fl_client_test_XXXXXX";
  assert_non_null(mkdtemp(dir));
  char path[256], data[256];

  /* the same file for training and validation is named once */
  snprintf(path, sizeof path, "%s/same.json", dir);
  write_file(path,
             "{\"data\":{\"train\":{\"features\":\"x.npy\",\"labels\":\"y.npy\"},"
             "\"validation\":{\"features\":\"x.npy\",\"labels\":\"yv.npy\"}},"
             "\"model\":{\"layers\":[{\"type\":\"dense\",\"units\":2}]},"
             "\"loss\":\"mean_squared_error\"}");
  assert_int_equal(fl_cli_spec_load(path, &jf, &err), 0);
  assert_int_equal(jf.n_files, 3);
  assert_string_equal(jf.files[2].key, "data.validation.labels");
  /* a data file that is not there: the message names the spec key */
  assert_int_not_equal(fl_cli_spec_hash(&jf, &err), 0);
  assert_non_null(strstr(err.msg, "data.train.features \"x.npy\""));
  fl_cli_job_files_free(&jf);
  unlink(path);

  /* an invalid spec: the message names the key */
  snprintf(path, sizeof path, "%s/bad.json", dir);
  write_file(path,
             "{\"data\":{\"train\":{\"csv\":\"x.csv\",\"label_columns\":[\"y\"]}},"
             "\"model\":{\"layers\":[{\"type\":\"dense\",\"units\":2}]},"
             "\"loss\":\"mean_squared_error\",\"epochs\":-3}");
  assert_int_not_equal(fl_cli_spec_load(path, &jf, &err), 0);
  assert_non_null(strstr(err.msg, "bad.json"));
  assert_non_null(strstr(err.msg, "epochs"));
  fl_cli_job_files_free(&jf);
  unlink(path);

  /* over 1 MiB: refused before parsing */
  snprintf(data, sizeof data, "%s/big.json", dir);
  FILE *f = fopen(data, "w");
  assert_non_null(f);
  for (size_t i = 0; i < FL_SPEC_MAX_BYTES + 1; i++) fputc(' ', f);
  fclose(f);
  assert_int_equal(fl_cli_spec_load(data, &jf, &err), FL_ETOOBIG);
  assert_non_null(strstr(err.msg, "larger than 1 MiB"));
  fl_cli_job_files_free(&jf);
  unlink(data);

  snprintf(path, sizeof path, "%s/missing.json", dir);
  assert_int_equal(fl_cli_spec_load(path, &jf, &err), FL_ENOTFOUND);
  assert_non_null(strstr(err.msg, "cannot read the job spec"));
  fl_cli_job_files_free(&jf);
  rmdir(dir);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_parse_each_command),
      cmocka_unit_test(test_parse_global_options),
      cmocka_unit_test(test_parse_errors),
      cmocka_unit_test(test_parse_queue_commands),
      cmocka_unit_test(test_exit_worst),
      cmocka_unit_test(test_list_fits_the_width),
      cmocka_unit_test(test_job_ids),
      cmocka_unit_test(test_socket_resolution),
      cmocka_unit_test(test_exit_mapping),
      cmocka_unit_test(test_follow_exit_status),
      cmocka_unit_test(test_sparkline),
      cmocka_unit_test(test_epoch_row),
      cmocka_unit_test(test_list_table),
      cmocka_unit_test(test_devices_table),
      cmocka_unit_test(test_table_sanitizes),
      cmocka_unit_test(test_sanitize),
      cmocka_unit_test(test_json_events_pass_through),
      cmocka_unit_test(test_json_text_helpers),
      cmocka_unit_test(test_follow_human_view),
      cmocka_unit_test(test_follow_prints_the_class_report),
      cmocka_unit_test(test_color_decision),
      cmocka_unit_test(test_findings),
      cmocka_unit_test(test_show_and_fixed_spec),
      cmocka_unit_test(test_help_text),
      cmocka_unit_test(test_resolve_path),
      cmocka_unit_test(test_spec_files),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
