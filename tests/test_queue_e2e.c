/* tests/test_queue_e2e.c — queue control (issue 14) end to end, through
 * the real flatlined and flatline: log and follow of a 1,000-epoch job,
 * wait's exit statuses, cancel of several ids and --all, rm freeing the
 * storage quota, --priority and --after ordering and a broken dependency,
 * retention expiring jobs by the test clock (test_clock_offset), and the
 * small habits: one-line option errors, --version, check -, pueue words,
 * a second daemon on a live socket. */
#define _GNU_SOURCE /* memmem, usleep */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "daemon_fixture.h"
#include "skip.h"

static char conf[160];

/* Storage: 1 MiB (the config's minimum) holds one big.csv, not two. */
#define CONFIG_BASE "max_storage_bytes = 1048576\nretention_days = 1\n"

static int setup(void **state_) {
  (void)state_;
  if (make_test_dir("queue", conf, sizeof conf)) return -1;
  write_csv("small.csv", 300, 4);
  write_csv("tiny.csv", 24, 2);
  write_csv("big1.csv", 9000, 10);  /* ~560 KB each: one fits the quota */
  write_csv("big2.csv", 9001, 10);
  write_spec("small", "small.csv", 2, 8, 32);
  write_spec("tiny1000", "tiny.csv", 1000, 4, 32);
  write_spec("big1", "big1.csv", 1, 4, 256);
  write_spec("big2", "big2.csv", 1, 4, 256);
  write_spec("long", "small.csv", 100000, 16, 16);
  write_file("test.conf", CONFIG_BASE);
  start_daemon(conf);
  return 0;
}

static int teardown(void **state_) {
  (void)state_;
  return remove_test_dir(SIGKILL);
}

static void submit(const char *args, char id[32]) {
  char *out, cmd[512];
  snprintf(cmd, sizeof cmd, "--json submit %s", args);
  int rc = client(cmd, &out);
  if (rc != 0) fail_msg("submit %s: exit %d: %s", args, rc, out);
  job_id_of(out, id);
  free(out);
}

static void test_log_and_follow_of_1000_epochs(void **s) {
  (void)s;
  char id[32], *out;
  submit("tiny1000.json", id);
  assert_int_equal(client_fmt("wait %s", &out, id), 0);
  free(out);
  assert_int_equal(client_fmt("--json log %s", &out, id), 0);
  assert_int_equal(count(out, "\"event\":\"epoch\""), 1000);
  assert_int_equal(count(out, "\"event\":\"end\""), 1);
  free(out);
  assert_int_equal(client_fmt("--json follow %s", &out, id), 0);
  assert_int_equal(count(out, "\"event\":\"epoch\""), 1000);
  free(out);
  /* the human view of the log: the table's last row */
  assert_int_equal(client_fmt("log %s", &out, id), 0);
  assert_non_null(strstr(out, "1000"));
  free(out);
}

static void test_wait_exit_statuses_and_cancel(void **s) {
  (void)s;
  char done[32], l1[32], l2[32], l3[32], *out;
  submit("small.json", done);
  submit("long.json", l1);
  submit("long.json", l2);
  submit("long.json", l3);
  assert_int_equal(client_fmt("wait %s", &out, done), 0);
  assert_non_null(strstr(out, "done"));
  free(out);
  /* two ids at once; the queued one leaves at once */
  assert_int_equal(client_fmt("cancel %s %s", &out, l3, l2), 0);
  assert_non_null(strstr(out, "cancelled"));
  free(out);
  /* the running one is 'cancelling' until it stops */
  for (int i = 0; i < 300; i++) {
    assert_int_equal(client_fmt("--json show %s", &out, l1), 0);
    bool running = strstr(out, "\"state\":\"running\"") != NULL;
    free(out);
    if (running) break;
    usleep(100000);
  }
  assert_int_equal(client_fmt("cancel --all", &out), 0);
  assert_non_null(strstr(out, l1));
  assert_non_null(strstr(out, "cancelling"));
  free(out);
  /* wait: the worst of the jobs; a cancelled one is 1, as follow says */
  assert_int_equal(client_fmt("wait %s %s", &out, done, l1), 1);
  assert_non_null(strstr(out, "cancelled"));
  free(out);
  assert_int_equal(client_fmt("--json wait %s", &out, l2), 1);
  assert_non_null(strstr(out, "\"event\":\"waited\""));
  assert_non_null(strstr(out, "\"exit\":1"));
  free(out);
  assert_int_equal(client_fmt("wait j999999", &out), 1);
  assert_non_null(strstr(out, "no job j999999"));
  free(out);
  assert_int_equal(client_fmt("cancel --all", &out), 0);
  assert_non_null(strstr(out, "no queued or running jobs"));
  free(out);
  /* a removed job cannot be waited for any more; a running one not removed */
  assert_int_equal(client_fmt("rm %s", &out, l2), 0);
  free(out);
  assert_int_equal(client_fmt("wait %s", &out, l2), 1);
  free(out);
}

/* The job ended done, diagnosed or not (a one-epoch job may be told it
 * could learn more). */
static void wait_done(const char *id) {
  char *out;
  int rc = client_fmt("wait %s", &out, id);
  if (rc != 0 && rc != 3) fail_msg("wait %s: exit %d: %s", id, rc, out);
  free(out);
}

static void test_rm_frees_the_quota(void **s) {
  (void)s;
  char a[32], *out, cmd[1024];
  /* a clean slate: every finished job of the tests before, removed */
  snprintf(cmd, sizeof cmd, "cd '%s' && '%s' --socket '%s' --json list | sed -n "
           "'s/.*\"job\":\"\\(j[0-9]*\\)\".*\"state\":\"\\(done\\|failed\\|cancelled\\)\".*/\\1/p' "
           "| xargs -r '%s' --socket '%s' rm 2>&1", dir, FLATLINE, sock, FLATLINE, sock);
  assert_int_equal(run_capture(cmd, &out), 0);
  free(out);
  submit("big1.json", a);
  wait_done(a);
  /* a second big upload does not fit next to the first */
  int rc = client("submit big2.json", &out);
  assert_int_equal(rc, 1);
  assert_non_null(strstr(out, "quota"));
  free(out);
  /* a queued or running job is refused by rm */
  char l[32];
  submit("long.json", l);
  assert_int_equal(client_fmt("rm %s", &out, l), 1);
  assert_non_null(strstr(out, "cancel it first"));
  free(out);
  assert_int_equal(client_fmt("cancel %s", &out, l), 0);
  free(out);
  assert_int_equal(client_fmt("wait %s", &out, l), 1);
  free(out);
  assert_int_equal(client_fmt("rm %s %s", &out, a, l), 0);
  assert_non_null(strstr(out, "removed"));
  assert_non_null(strstr(out, "freed"));
  free(out);
  char path[256];
  snprintf(path, sizeof path, "%s/jobs/%s", state, a);
  assert_int_not_equal(access(path, F_OK), 0);
  assert_int_equal(client_fmt("--json list", &out), 0);
  assert_null(strstr(out, a));
  free(out);
  /* the quota has room again */
  char b[32];
  submit("big2.json", b);
  wait_done(b);
  assert_int_equal(client_fmt("rm %s", &out, b), 0);
  free(out);
}

/* The order jobs started in, from the daemon's log. */
static int start_index(const char *log, const char *id) {
  char pat[64];
  snprintf(pat, sizeof pat, "job %s (", id);
  const char *p = log;
  int n = 0;
  for (const char *q = strstr(p, "starts on device"); q; q = strstr(q + 1, "starts on device")) {
    const char *line = q;
    while (line > log && line[-1] != '\n') line--;
    if (memmem(line, (size_t)(q - line), pat, strlen(pat))) return n;
    n++;
  }
  return -1;
}

static void test_priority_and_after(void **s) {
  (void)s;
  char *out;
  assert_int_equal(client("--json devices", &out), 0);
  int devices = count(out, "\"event\":\"device\"");
  free(out);
  if (devices != 1) FL_SKIP("ordering is checked with one device; %d here", devices);
  char hold[32], a[32], b[32], c[32], d[32], x[32];
  submit("long.json", hold); /* holds the device while the others queue */
  submit("small.json", a);
  char args[128];
  snprintf(args, sizeof args, "small.json --after %s", a);
  submit(args, c);
  submit("small.json --priority 5", b);
  submit("long.json", x);
  snprintf(args, sizeof args, "small.json --after %s", x);
  submit(args, d);
  /* refused at submit: an unknown dependency */
  assert_int_equal(client("submit small.json --after j99999", &out), 1);
  assert_non_null(strstr(out, "no such job"));
  free(out);
  assert_int_equal(client_fmt("--json show %s", &out, c), 0);
  assert_non_null(strstr(out, "\"after\":\""));
  free(out);
  assert_int_equal(client_fmt("cancel %s %s", &out, x, hold), 0);
  free(out);
  /* d's dependency was cancelled: d fails, saying why */
  assert_int_equal(client_fmt("wait %s", &out, d), 1);
  free(out);
  assert_int_equal(client_fmt("--json show %s", &out, d), 0);
  assert_non_null(strstr(out, "dependency"));
  free(out);
  assert_int_equal(client_fmt("wait %s %s %s", &out, a, b, c), 0);
  free(out);
  char path[256];
  snprintf(path, sizeof path, "%s/daemon.log", dir);
  FILE *f = fopen(path, "r");
  static char log[1 << 20];
  size_t n = fread(log, 1, sizeof log - 1, f);
  log[n] = '\0';
  fclose(f);
  int ia = start_index(log, a), ib = start_index(log, b), ic = start_index(log, c);
  assert_true(ia >= 0 && ib >= 0 && ic >= 0);
  assert_true(ib < ia); /* priority 5 before 0, though submitted later */
  assert_true(ia < ic); /* after its dependency */
  assert_int_equal(start_index(log, d), -1); /* never ran */
  /* list: filters and the new columns */
  assert_int_equal(client_fmt("list --state failed", &out), 0);
  assert_non_null(strstr(out, d));
  assert_null(strstr(out, "done"));
  assert_non_null(strstr(out, "ELAPSED"));
  free(out);
  assert_int_equal(client_fmt("--json list --state done --user root", &out), 0);
  assert_non_null(strstr(out, "\"started\":"));
  assert_non_null(strstr(out, "\"ended\":"));
  assert_null(strstr(out, "\"state\":\"failed\""));
  free(out);
  assert_int_equal(client("list --state bogus", &out), 2);
  free(out);
}

static void test_retention_by_test_clock(void **s) {
  (void)s;
  char id[32], *out;
  submit("small.json", id);
  assert_int_equal(client_fmt("wait %s", &out, id), 0);
  free(out);
  char path[256];
  snprintf(path, sizeof path, "%s/jobs/%s", state, id);
  assert_int_equal(access(path, F_OK), 0);
  /* a day and a bit later, by the daemon's clock */
  write_file("test.conf", CONFIG_BASE "test_clock_offset = 90000\n");
  kill(daemon_pid, SIGHUP);
  bool gone = false;
  for (int i = 0; i < 100 && !gone; i++) {
    usleep(100000);
    gone = access(path, F_OK) != 0;
  }
  assert_true(gone);
  assert_int_equal(client_fmt("--json list", &out), 0);
  assert_null(strstr(out, "\"small\""));
  free(out);
  /* its upload went too: no job names it and it is old by that clock */
  snprintf(path, sizeof path, "%s/blobs/%u", state, (unsigned)geteuid());
  char cmd[300];
  snprintf(cmd, sizeof cmd, "ls -A '%s' | grep -v '^\\.' | wc -l", path);
  assert_int_equal(run_capture(cmd, &out), 0);
  assert_int_equal(atoi(out), 0);
  free(out);
  write_file("test.conf", CONFIG_BASE);
  kill(daemon_pid, SIGHUP);
  usleep(200000);
}

static void test_small_habits(void **s) {
  (void)s;
  char *out, cmd[512];
  assert_int_equal(client("--frobnicate list", &out), 2);
  assert_int_equal(count(out, "\n"), 1);
  assert_non_null(strstr(out, "unknown option '--frobnicate'"));
  free(out);
  snprintf(cmd, sizeof cmd, "'%s' --frobnicate 2>&1", FLATLINED);
  assert_int_equal(run_capture(cmd, &out), 2);
  assert_string_equal(out, "flatlined: unknown option --frobnicate; see flatlined --help\n");
  free(out);
  snprintf(cmd, sizeof cmd, "'%s' --socket 2>&1", FLATLINED);
  assert_int_equal(run_capture(cmd, &out), 2);
  assert_int_equal(count(out, "\n"), 1);
  free(out);
  snprintf(cmd, sizeof cmd, "'%s' --version", FLATLINED);
  assert_int_equal(run_capture(cmd, &out), 0);
  assert_non_null(strstr(out, "flatlined 0."));
  free(out);
  assert_int_equal(client("--version", &out), 0);
  assert_non_null(strstr(out, "flatline 0."));
  free(out);
  assert_int_equal(client("kill j1", &out), 2);
  assert_non_null(strstr(out, "'kill' is 'flatline cancel' here"));
  free(out);
  assert_int_equal(client("check - < small.json", &out), 0);
  free(out);
  /* a second daemon on the live socket stops before the devices */
  snprintf(cmd, sizeof cmd, "timeout 60 '%s' --socket '%s' --state-dir '%s/state2' "
           "--cache-dir '%s/state2' --config /dev/null 2>&1", FLATLINED, sock, dir, dir);
  assert_int_equal(run_capture(cmd, &out), 1);
  assert_non_null(strstr(out, "already listening"));
  assert_null(strstr(out, "device(s)"));
  free(out);
  /* tables fit COLUMNS, cut with an ellipsis */
  assert_int_equal(client("submit small.json", &out), 0);
  free(out);
  snprintf(cmd, sizeof cmd, "cd '%s' && COLUMNS=70 '%s' --socket '%s' list", dir,
           FLATLINE, sock);
  assert_int_equal(run_capture(cmd, &out), 0);
  assert_non_null(strstr(out, "\xe2\x80\xa6")); /* an ellipsis */
  for (char *line = strtok(out, "\n"); line; line = strtok(NULL, "\n")) {
    size_t width = 0; /* code points: the ellipsis is 3 bytes, 1 column */
    for (const char *p = line; *p; p++) width += (*p & 0xC0) != 0x80;
    assert_true(width <= 70);
  }
  free(out);
}

/* Another user may not read, wait for, remove or cancel your jobs. */
static void test_other_users_jobs(void **s) {
  (void)s;
  if (!have_other_user()) FL_SKIP("needs root and runuser for a second user");
  char id[32], *out;
  submit("small.json", id);
  assert_int_equal(client_fmt("wait %s", &out, id), 0);
  free(out);
  const char *verbs[] = {"log", "wait", "rm", "cancel"};
  for (int i = 0; i < 4; i++) {
    char args[64];
    snprintf(args, sizeof args, "%s %s", verbs[i], id);
    assert_int_equal(client_as(OTHER_USER, args, &out), 1);
    assert_non_null(strstr(out, "you do not own"));
    free(out);
  }
  /* cancel --all is only one's own */
  assert_int_equal(client_as(OTHER_USER, "cancel --all", &out), 0);
  free(out);
}

/* Caps: a wait of more than 1000 ids is refused, not held. */
static void test_wait_is_capped(void **s) {
  (void)s;
  int fd = raw_connect();
  hello(fd);
  size_t cap = 1001 * 12 + 64;
  char *req = malloc(cap);
  size_t at = (size_t)snprintf(req, cap, "{\"type\":\"wait\",\"id\":1,\"jobs\":[");
  for (int i = 0; i < 1001; i++)
    at += (size_t)snprintf(req + at, cap - at, "%s\"j%d\"", i ? "," : "", i + 1);
  snprintf(req + at, cap - at, "]}");
  raw_send_json(fd, req);
  free(req);
  bool closed;
  assert_int_equal(raw_expect(fd, "at most 1000 job ids", &closed), 1);
  close(fd);
  char *out;
  assert_int_equal(client("list", &out), 0); /* still serving */
  free(out);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_log_and_follow_of_1000_epochs),
      cmocka_unit_test(test_wait_exit_statuses_and_cancel),
      cmocka_unit_test(test_rm_frees_the_quota),
      cmocka_unit_test(test_priority_and_after),
      cmocka_unit_test(test_retention_by_test_clock),
      cmocka_unit_test(test_small_habits),
      cmocka_unit_test(test_other_users_jobs),
      cmocka_unit_test(test_wait_is_capped),
  };
  return FL_TEST_EXIT(cmocka_run_group_tests(tests, setup, teardown));
}
