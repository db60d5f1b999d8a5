/* tests/test_sweep_e2e.c — sweeps (issue 15) through the real flatlined and
 * flatline: a 3x2 sweep of a tiny job is six jobs in one group, `list
 * --group` lists those six, `group G` shows six verdicts best first (and
 * still after a restart); a point the daemon refuses cancels the points
 * queued before it; command-line mistakes are usage errors naming the fix;
 * another user sees the group's jobs in list but not their values or
 * results; hostile group and sweep fields get an error and the daemon
 * carries on. */
#define _GNU_SOURCE /* memmem, usleep */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "daemon_fixture.h"
#include "flatline/protocol.h"

static char conf[160];
static char group[32];     /* the 3x2 sweep's group */
static char ids[6][32];    /* its jobs, in submission order */

#define SPEC_TEXT(epochs)                                                          \
  "{\"name\": \"sweep-test\", \"data\": {\"train\": {\"csv\": \"small.csv\", "    \
  "\"label_columns\": [\"label\"]}, \"validation_split\": 0.2}, \"model\": "     \
  "{\"layers\": [{\"type\": \"dense\", \"units\": 8, \"activation\": \"relu\"}, " \
  "{\"type\": \"dense\", \"units\": 3, \"activation\": \"softmax\"}]}, \"loss\": " \
  "\"sparse_categorical_crossentropy\", \"optimizer\": {\"name\": \"adam\", "     \
  "\"learning_rate\": 0.01}, \"epochs\": " #epochs ", \"batch_size\": 16, "        \
  "\"seed\": 5}"

static int setup(void **state_) {
  (void)state_;
  if (make_test_dir("sweep", conf, sizeof conf)) return -1;
  write_csv("small.csv", 150, 4);
  write_file("sweep.json", SPEC_TEXT(4));
  write_file("long.json", SPEC_TEXT(100000));
  /* six queued or running jobs a user: the 3x2 sweep fits, 2x4 does not */
  write_file("test.conf", "max_queued_jobs = 6\n");
  start_daemon(conf);
  return 0;
}

static int teardown(void **state_) {
  (void)state_;
  return remove_test_dir(SIGKILL);
}

/* The value of the n-th "key":"..." in text (n from 0), or "". */
static void nth_string(const char *text, const char *key, int n, char *out, size_t size) {
  char pat[64];
  snprintf(pat, sizeof pat, "\"%s\":\"", key);
  const char *p = strstr(text, pat);
  for (int i = 0; p && i < n; i++) p = strstr(p + 1, pat);
  out[0] = '\0';
  if (!p) return;
  p += strlen(pat);
  size_t len = strcspn(p, "\"");
  if (len >= size) len = size - 1;
  memcpy(out, p, len);
  out[len] = '\0';
}

/* The --json group lines in out that carry a verdict. */
static int verdicts(const char *out) {
  return count(out, "\"verdict\":\"healthy\"") + count(out, "\"verdict\":\"problem\"") +
         count(out, "\"verdict\":\"unexplained\"");
}

static void test_three_by_two_sweep(void **s) {
  (void)s;
  char *out;
  int rc = client_fmt("--json submit sweep.json --sweep optimizer.learning_rate=0.1,0.01,0.0001 "
               "--sweep model.layers.0.units=2,16", &out);
  if (rc != 0) fail_msg("submit --sweep: exit %d: %s", rc, out);
  assert_int_equal(count(out, "\"event\":\"submitted\""), 6);
  assert_int_equal(count(out, "\"event\":\"submitted_group\""), 1);
  assert_non_null(strstr(out, "\"sweep\":{\"optimizer.learning_rate\":0.0001,"
                              "\"model.layers.0.units\":16}"));
  nth_string(out, "group", 0, group, sizeof group);
  assert_true(group[0] == 'g');
  for (int i = 0; i < 6; i++) {
    char g[32];
    nth_string(out, "job", i, ids[i], sizeof ids[i]);
    nth_string(out, "group", i, g, sizeof g);
    assert_true(ids[i][0] == 'j');
    assert_string_equal(g, group); /* one group */
  }
  /* the group is named after its first job */
  assert_string_equal(group + 1, ids[0] + 1);
  free(out);

  /* list --group: those six, with their values */
  assert_int_equal(client_fmt("--json list --group %s", &out, group), 0);
  assert_int_equal(count(out, "\"event\":\"job\""), 6);
  assert_int_equal(count(out, "\"sweep\":{"), 6);
  for (int i = 0; i < 6; i++) assert_non_null(strstr(out, ids[i]));
  free(out);
  assert_int_equal(client_fmt("list --group %s", &out, group + 1), 0); /* "17" means g17 */
  assert_int_equal(count(out, "sweep-test"), 6);
  free(out);

  rc = client_fmt("wait %s %s %s %s %s %s", &out, ids[0], ids[1], ids[2], ids[3], ids[4], ids[5]);
  if (rc != 0 && rc != 3) fail_msg("wait: exit %d: %s", rc, out);
  free(out);

  /* the summary: six verdicts, best first by val_accuracy */
  assert_int_equal(client_fmt("--json group %s", &out, group), 0);
  assert_int_equal(count(out, "\"event\":\"group_job\""), 6);
  assert_int_equal(verdicts(out), 6);
  double prev = 2;
  const char *line = out;
  for (int r = 1; r <= 6; r++) {
    char rank[32];
    snprintf(rank, sizeof rank, "\"rank\":%d", r);
    const char *at = strstr(line, rank);
    assert_non_null(at);
    /* this line's val_accuracy, not to exceed the one above */
    const char *eol = strchr(line, '\n');
    const char *va = strstr(line, "\"val_accuracy\":");
    assert_true(va && (!eol || va < eol));
    double v = strtod(va + strlen("\"val_accuracy\":"), NULL);
    assert_true(v <= prev);
    prev = v;
    line = eol ? eol + 1 : line;
  }
  free(out);
  assert_int_equal(client_fmt("group %s", &out, group), 0);
  assert_non_null(strstr(out, "best first (by final val_accuracy)"));
  assert_non_null(strstr(out, "optimizer.learning_rate"));
  assert_non_null(strstr(out, "model.layers.0.units"));
  assert_int_equal(count(out, "healthy") + count(out, "problem") + count(out, "unexplained"), 6);
  free(out);
}

static void test_group_survives_restart(void **s) {
  (void)s;
  char *out;
  assert_int_equal(stop_daemon(SIGTERM), 0);
  start_daemon(conf);
  assert_int_equal(client_fmt("--json group %s", &out, group), 0);
  assert_int_equal(count(out, "\"event\":\"group_job\""), 6);
  assert_int_equal(verdicts(out), 6);
  assert_int_equal(count(out, "\"sweep\":{\"optimizer.learning_rate\":"), 6);
  free(out);
  assert_int_equal(client_fmt("--json list --group %s", &out, group), 0);
  assert_int_equal(count(out, "\"event\":\"job\""), 6);
  free(out);
}

static void expect_usage(const char *args, const char *want) {
  char *out;
  int rc = client_fmt("%s", &out, args);
  if (rc != 2 || !strstr(out, want))
    fail_msg("%s: exit %d (expected 2), output lacks '%s': %s", args, rc, want, out);
  free(out);
}

static void test_mistakes_name_the_fix(void **s) {
  (void)s;
  expect_usage("submit sweep.json --sweep optimizer.learnig_rate=0.1",
               "optimizer.learnig_rate is not in the spec");
  expect_usage("submit sweep.json --sweep batch_size=16,big", "--sweep batch_size=big");
  expect_usage("submit sweep.json --sweep batch_size=", "has no values");
  expect_usage("submit sweep.json --sweep batch_size", "--sweep needs KEY=V1,V2");
  expect_usage("submit sweep.json --sweep model.layers.4.units=3", "has 2 elements");
  expect_usage("submit sweep.json --sweep epochs=1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17 "
               "--sweep seed=1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17",
               "more than 256 jobs (17 x 17)");
  expect_usage("submit --follow sweep.json --sweep seed=1,2", "flatline wait");
  expect_usage("list --group nope", "--group needs a group id");
  expect_usage("group", "group needs a group id");
  char *out;
  assert_int_equal(client_fmt("group g999999", &out), 1);
  assert_non_null(strstr(out, "no group g999999"));
  free(out);
  /* nothing was queued by any of these */
  assert_int_equal(client_fmt("--json list --state queued", &out), 0);
  assert_int_equal(count(out, "\"event\":\"job\""), 0);
  free(out);
}

static void test_refused_point_cancels_the_group(void **s) {
  (void)s;
  char *out, g[32], jobs[8][32];
  /* 2x4 = 8 jobs with room for 6: the seventh is refused */
  int rc = client_fmt("--json submit long.json --sweep seed=1,2 --sweep batch_size=8,16,32,64", &out);
  if (rc != 1) fail_msg("submit: exit %d (expected 1): %s", rc, out);
  assert_int_equal(count(out, "\"event\":\"submitted\""), 6);
  assert_non_null(strstr(out, "cancelled 6 of the 6 jobs already queued in group"));
  assert_non_null(strstr(out, "\"event\":\"end\"")); /* the refusal, for scripts */
  nth_string(out, "group", 0, g, sizeof g);
  for (int i = 0; i < 6; i++) nth_string(out, "job", i, jobs[i], sizeof jobs[i]);
  free(out);
  rc = client_fmt("wait %s %s %s %s %s %s", &out, jobs[0], jobs[1], jobs[2], jobs[3], jobs[4], jobs[5]);
  assert_int_equal(rc, 1);
  assert_int_equal(count(out, "cancelled"), 6);
  free(out);
  assert_int_equal(client_fmt("--json list --group %s", &out, g), 0);
  assert_int_equal(count(out, "\"state\":\"cancelled\""), 6);
  free(out);
}

static void test_other_users(void **s) {
  (void)s;
  if (!have_other_user()) skip();
  char *out;
  /* list is everyone's, but the values are the owner's spec */
  assert_int_equal(client_as(OTHER_USER, "--json list --group", &out), 2);
  free(out);
  char args[128];
  snprintf(args, sizeof args, "--json list --group %s", group);
  assert_int_equal(client_as(OTHER_USER, args, &out), 0);
  assert_int_equal(count(out, "\"event\":\"job\""), 6);
  assert_int_equal(count(out, "\"sweep\""), 0);
  free(out);
  snprintf(args, sizeof args, "group %s", group);
  assert_int_equal(client_as(OTHER_USER, args, &out), 1);
  assert_non_null(strstr(out, "only its owner or root"));
  free(out);
}

/* A raw submit of sweep.json's spec with extra fields (after the files). */
static void raw_submit(int fd, int id, const char *extra) {
  char sha[FL_SHA256_HEX], path[256];
  uint64_t size;
  snprintf(path, sizeof path, "%s/small.csv", dir);
  assert_int_equal(fl_sha256_file(path, sha, &size, NULL), 0);
  fl_jw w;
  fl_jw_init(&w);
  fl_jw_object_begin(&w, NULL);
  fl_jw_str(&w, "type", "submit");
  fl_jw_int(&w, "id", id);
  fl_jw_str(&w, "spec", SPEC_TEXT(4));
  fl_jw_object_begin(&w, "files");
  fl_jw_str(&w, "small.csv", sha);
  fl_jw_object_end(&w);
  fl_jw_object_end(&w);
  char *text = fl_jw_finish(&w);
  assert_non_null(text);
  /* splice the extra fields in before the closing brace */
  char frame[8192];
  snprintf(frame, sizeof frame, "%.*s%s}", (int)strlen(text) - 1, text, extra);
  free(text);
  raw_send_json(fd, frame);
}

static void test_hostile_requests(void **s) {
  (void)s;
  bool closed;
  int fd = raw_connect();
  hello(fd);
  /* a group that does not exist */
  raw_submit(fd, 2, ",\"group\":\"g999999\"");
  assert_int_equal(raw_expect(fd, "no group g999999", &closed), 1);
  /* fields the parser refuses: an error reply each, the connection stays */
  raw_submit(fd, 3, ",\"group\":\"new\",\"sweep\":{\"k0\":1,\"k1\":1,\"k2\":1,\"k3\":1,"
                    "\"k4\":1,\"k5\":1,\"k6\":1,\"k7\":1,\"k8\":1}");
  assert_int_equal(raw_expect(fd, "at most 8 keys", &closed), 1);
  raw_submit(fd, 4, ",\"sweep\":{\"seed\":1}");
  assert_int_equal(raw_expect(fd, "belongs to a group", &closed), 1);
  raw_submit(fd, 5, ",\"group\":\"new\",\"sweep\":{\"seed\":{\"a\":[1,2]}}");
  assert_int_equal(raw_expect(fd, "sweep.seed", &closed), 1);
  raw_send_json(fd, "{\"type\":\"group\",\"id\":6,\"group\":\"g1'; rm -rf /\"}");
  assert_int_equal(raw_expect(fd, "\"id\":6,\"ok\":false", &closed), 1);
  raw_send_json(fd, "{\"type\":\"list\",\"id\":7,\"group\":[\"g1\"]}");
  assert_int_equal(raw_expect(fd, "\"id\":7,\"ok\":false", &closed), 1);
  /* a group that is there, joined by its owner: a seventh job in it */
  char extra[96];
  snprintf(extra, sizeof extra, ",\"group\":\"%s\",\"sweep\":{\"seed\":9}", group);
  raw_submit(fd, 8, extra);
  char want[64];
  snprintf(want, sizeof want, "\"group\":\"%s\"", group);
  assert_int_equal(raw_expect(fd, want, &closed), 1);
  assert_false(closed);
  close(fd);
  assert_true(can_connect());
  char *out;
  assert_int_equal(client_fmt("--json list --group %s", &out, group), 0);
  assert_int_equal(count(out, "\"event\":\"job\""), 7);
  assert_int_equal(count(out, "\"sweep\":{\"seed\":9}"), 1);
  free(out);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_three_by_two_sweep),
      cmocka_unit_test(test_group_survives_restart),
      cmocka_unit_test(test_mistakes_name_the_fix),
      cmocka_unit_test(test_refused_point_cancels_the_group),
      cmocka_unit_test(test_other_users),
      cmocka_unit_test(test_hostile_requests),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
