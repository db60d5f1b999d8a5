/* tests/test_state.c — a full disk and crashes never corrupt job state,
 * end to end against the real daemon: flatlined runs on a temporary socket
 * and state dir with its fault-injection hook armed (FL_FAULT, see
 * daemon/fsutil.h) to stop dead at each crash point between two writes of
 * a job's state, or to fail a kind of write with ENOSPC; then it restarts
 * without the fault. The assertions are on what a user sees (the output
 * and exit status of `flatline submit/follow/list/cancel/export`) and on
 * the job's files: one end line and the right final state, every epoch
 * logged once, no torn or damaged line kept or replayed, a follow that
 * ends even when the end could not be logged. Also: links planted in the
 * state dir are never written through, and temp files of interrupted
 * writes are removed at load.
 *
 * Jobs are tiny (300 rows, 2 epochs) so that the whole file runs in about
 * a minute on two cores; GEMM tuning is off (autotune = false). */
#define _GNU_SOURCE /* memmem, usleep */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "daemon_fixture.h"

/* daemon/fsutil.h: FL_FAULT_EXIT_STATUS, the status of an injected crash. */
#define FAULT_EXIT_STATUS 86

static char cache[128], conf[128];

static void write_text(const char *path, const char *text) {
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fputs(text, f);
  fclose(f);
}

/* The whole file (malloc'd, NUL-terminated), or NULL when it is missing. */
static char *read_text(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  size_t cap = 1 << 16, len = 0, n;
  char *buf = malloc(cap);
  while ((n = fread(buf + len, 1, cap - len - 1, f)) > 0) {
    len += n;
    if (len + 1 == cap) buf = realloc(buf, cap *= 2);
  }
  buf[len] = '\0';
  fclose(f);
  return buf;
}

/* The daemon's exit status once it exits by itself (-1: by a signal). */
static int wait_daemon_exit(double seconds) {
  double until = now() + seconds;
  int status = 0;
  while (waitpid(daemon_pid, &status, WNOHANG) == 0) {
    if (now() > until) fail_msg("flatlined did not stop within %.0f s", seconds);
    usleep(20000);
  }
  daemon_pid = -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* Starts flatlined with FL_FAULT=fault (none when NULL). */
static void start_faulty(const char *fault) {
  if (can_connect()) fail_msg("a flatlined left running still listens on %s", sock);
  start_daemon_ex(conf, cache, fault);
}

static int stop_and_wait(void) {
  if (daemon_pid < 0) return 0;
  kill(daemon_pid, SIGTERM);
  return wait_daemon_exit(60);
}

static int clientf(char **out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int clientf(char **out, const char *fmt, ...) {
  char args[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(args, sizeof args, fmt, ap);
  va_end(ap);
  return client(args, out);
}

/* Submits spec (a file in dir), returns the job id. */
static void submit(const char *spec, char id[32]) {
  char *out;
  int rc = clientf(&out, "--json submit %s", spec);
  if (rc != 0) fail_msg("submit %s: exit %d: %s", spec, rc, out);
  const char *p = strstr(out, "\"job\":\"");
  assert_non_null(p);
  p += strlen("\"job\":\"");
  size_t n = strcspn(p, "\"");
  assert_true(n > 0 && n < 32);
  memcpy(id, p, n);
  id[n] = '\0';
  free(out);
}

static char *job_file(const char *id, const char *name) {
  char path[512];
  snprintf(path, sizeof path, "%s/jobs/%s/%s", state, id, name);
  return read_text(path);
}

/* Every line of the job's log is one whole JSON object (the strict parser
 * is the daemon's; here: braces at both ends, a newline after the last). */
static void assert_log_whole(const char *id) {
  char *log = job_file(id, "events.jsonl");
  assert_non_null(log);
  size_t len = strlen(log);
  if (len && log[len - 1] != '\n') fail_msg("%s: log ends in a torn line: %s", id, log);
  for (char *line = strtok(log, "\n"); line; line = strtok(NULL, "\n"))
    if (line[0] != '{' || line[strlen(line) - 1] != '}')
      fail_msg("%s: damaged log line: %s", id, line);
  free(log);
}

/* The job's log has one end line, in state `want`, and each of its
 * `epochs` epochs once. */
static void assert_log_ends(const char *id, const char *want, int epochs) {
  char *log = job_file(id, "events.jsonl");
  assert_non_null(log);
  if (count(log, "{\"event\":\"end\"") != 1) fail_msg("%s: not one end line:\n%s", id, log);
  char pat[128];
  snprintf(pat, sizeof pat, "{\"event\":\"end\",\"job\":\"%s\",\"state\":\"%s\"", id, want);
  if (!strstr(log, pat)) fail_msg("%s: no end in state %s:\n%s", id, want, log);
  for (int e = 1; e <= epochs; e++) {
    snprintf(pat, sizeof pat, "{\"event\":\"epoch\",\"job\":\"%s\",\"epoch\":%d,", id, e);
    if (count(log, pat) != 1) fail_msg("%s: epoch %d logged %d times:\n%s", id, e, count(log, pat), log);
  }
  free(log);
  assert_log_whole(id);
}

/* `flatline list` shows the job in state `want`. */
static void assert_listed(const char *id, const char *want) {
  char *out, pat[96];
  assert_int_equal(client("--json list", &out), 0);
  snprintf(pat, sizeof pat, "\"job\":\"%s\",", id);
  const char *p = strstr(out, pat);
  if (!p) fail_msg("%s not listed: %s", id, out);
  snprintf(pat, sizeof pat, "\"state\":\"%s\"", want);
  const char *s = strstr(p, "\"state\":\"");
  if (!s || strncmp(s, pat, strlen(pat)) != 0) fail_msg("%s is not %s: %s", id, want, p);
  free(out);
}

/* `flatline follow` replays the job to its end (exit status want_rc) with
 * one end in state `want`; returns the output. */
static char *follow_to_end(const char *id, int want_rc, const char *want) {
  char *out, pat[96];
  int rc = clientf(&out, "--json follow %s", id);
  if (rc != want_rc) fail_msg("follow %s: exit %d, not %d: %s", id, rc, want_rc, out);
  snprintf(pat, sizeof pat, "\"state\":\"%s\"", want);
  if (count(out, "\"event\":\"end\"") != 1 || !strstr(out, pat))
    fail_msg("follow %s: not one end in state %s: %s", id, want, out);
  return out;
}

static int daemon_log_count(const char *pat) {
  char path[256];
  snprintf(path, sizeof path, "%s/daemon.log", dir);
  char *log = read_text(path);
  int n = log ? count(log, pat) : 0;
  free(log);
  return n;
}

/* ---- fixtures ---- */

static int setup(void **s) {
  (void)s;
  snprintf(dir, sizeof dir, "/tmp/fl-state-XXXXXX");
  if (!mkdtemp(dir)) return -1;
  snprintf(sock, sizeof sock, "%s/flatline.sock", dir);
  snprintf(cache, sizeof cache, "%s/cache", dir);
  snprintf(conf, sizeof conf, "%s/flatlined.conf", dir);
  write_text(conf, "autotune = false\n");
  write_csv("small.csv", 300, 4);
  write_csv("medium.csv", 6000, 40);
  write_spec("small", "small.csv", 2, 16, 32);
  write_spec("long", "medium.csv", 100000, 16, 16);
  return 0;
}

/* Each test has a state dir of its own, so that one that fails leaves
 * nothing (a job revived and running on) to the next. */
static int test_setup(void **s) {
  (void)s;
  static int n;
  snprintf(state, sizeof state, "%s/state-%d", dir, ++n);
  return 0;
}

static int test_teardown(void **s) {
  (void)s;
  if (daemon_pid > 0) {
    kill(daemon_pid, SIGKILL);
    waitpid(daemon_pid, NULL, 0);
    daemon_pid = -1;
  }
  return 0;
}

static int teardown(void **s) {
  (void)s;
  return remove_test_dir(0);
}

/* Runs a small job under FL_FAULT=fault, which must stop the daemon dead;
 * restarts it without the fault; returns the job's id. */
static void crash_small_job_at(const char *fault, char id[32]) {
  start_faulty(fault);
  submit("small.json", id);
  assert_int_equal(wait_daemon_exit(120), FAULT_EXIT_STATUS);
  start_faulty(NULL);
}

/* ---- crash points ---- */

/* Between an epoch's line and its checkpoint, on the first epoch (the
 * resume used to miss the first logged epoch and log it twice). */
static void test_crash_after_first_epoch_line(void **s) {
  (void)s;
  char id[32];
  crash_small_job_at("crash:epoch_logged:1", id);
  free(follow_to_end(id, 0, "done"));
  assert_log_ends(id, "done", 2);
  assert_listed(id, "done");
  assert_int_equal(stop_and_wait(), 0);
}

/* After the model, before the verdict; and after the verdict, before the
 * final state: the resumed job logs no second verdict and one end. */
static void test_crash_at_the_end_of_training(void **s) {
  (void)s;
  const char *faults[] = {"crash:model_saved", "crash:verdict_logged"};
  for (int i = 0; i < 2; i++) {
    char id[32];
    crash_small_job_at(faults[i], id);
    char *out = follow_to_end(id, 0, "done");
    if (count(out, "\"event\":\"verdict\"") != 1)
      fail_msg("%s: not one verdict: %s", faults[i], out);
    free(out);
    assert_log_ends(id, "done", 2);
    assert_listed(id, "done");
    assert_int_equal(stop_and_wait(), 0);
  }
}

/* job.json holds the final state, the end line is not logged: the load
 * logs it; the job does not run again. */
static void test_crash_after_final_state(void **s) {
  (void)s;
  char id[32];
  crash_small_job_at("crash:final_saved", id);
  assert_listed(id, "done");
  free(follow_to_end(id, 0, "done"));
  assert_log_ends(id, "done", 2);
  assert_int_equal(stop_and_wait(), 0);
}

/* A cancel is saved before it is acknowledged: a crash before the worker
 * ends the job still ends it cancelled, once. */
static void test_crash_after_cancel(void **s) {
  (void)s;
  char id[32], *out;
  start_faulty("crash:cancel_seen");
  submit("long.json", id);
  char path[256];
  snprintf(path, sizeof path, "%s/jobs/%s/events.jsonl", state, id);
  for (double until = now() + 60;; usleep(50000)) { /* running: an epoch logged */
    assert_true(now() < until);
    char *log = read_text(path);
    bool running = log && strstr(log, "\"event\":\"epoch\"");
    free(log);
    if (running) break;
  }
  /* The reply may lose the race with the worker's crash; the cancel was
   * saved before either. */
  clientf(&out, "cancel %s", id);
  free(out);
  assert_int_equal(wait_daemon_exit(60), FAULT_EXIT_STATUS);
  start_faulty(NULL);
  assert_listed(id, "cancelled");
  free(follow_to_end(id, 1, "cancelled"));
  char *log = job_file(id, "events.jsonl");
  assert_int_equal(count(log, "{\"event\":\"end\""), 1);
  free(log);
  assert_log_whole(id);
  assert_int_equal(stop_and_wait(), 0);
}

/* ---- a full disk ---- */

/* The model cannot be saved: the job fails with the reason (the file and
 * the system's error), never `done`, and stays failed after a restart. */
static void test_model_not_saved_is_not_done(void **s) {
  (void)s;
  char *out, id[32];
  start_faulty("enospc:model.safetensors");
  assert_int_equal(client("--json submit small.json --follow", &out), 1);
  if (!strstr(out, "\"state\":\"failed\"") ||
      !strstr(out, "cannot save model.safetensors: No space left on device; free space in"))
    fail_msg("no failure naming the model: %s", out);
  const char *p = strstr(out, "\"job\":\"");
  assert_non_null(p);
  snprintf(id, sizeof id, "%.*s", (int)strcspn(p + 7, "\""), p + 7);
  free(out);
  assert_int_not_equal(clientf(&out, "export %s -o m.safetensors", id), 0);
  free(out);
  assert_int_equal(stop_and_wait(), 0);
  start_faulty(NULL);
  assert_listed(id, "failed");
  free(follow_to_end(id, 1, "failed"));
  assert_log_ends(id, "failed", 2);
  assert_int_equal(stop_and_wait(), 0);
}

static void test_checkpoint_not_saved_fails_the_job(void **s) {
  (void)s;
  char *out;
  start_faulty("enospc:checkpoint.bin");
  assert_int_equal(client("--json submit small.json --follow", &out), 1);
  if (!strstr(out, "\"state\":\"failed\"") ||
      !strstr(out, "cannot save checkpoint.bin: No space left on device"))
    fail_msg("no failure naming the checkpoint: %s", out);
  free(out);
  assert_int_equal(stop_and_wait(), 0);
}

/* The log fills up mid-line: the half line is cut off at once, the job
 * fails, and its follower gets the end that could not be logged. After a
 * restart the end is logged (job.json had the final state). */
static void test_torn_append_is_cut_and_follow_ends(void **s) {
  (void)s;
  char *out, id[32];
  start_faulty("enospc:events.jsonl:2");
  assert_int_equal(client("--json submit small.json --follow", &out), 1);
  if (!strstr(out, "\"state\":\"failed\"") ||
      !strstr(out, "cannot save events.jsonl: No space left on device"))
    fail_msg("no failure naming the log: %s", out);
  const char *p = strstr(out, "\"job\":\"");
  assert_non_null(p);
  snprintf(id, sizeof id, "%.*s", (int)strcspn(p + 7, "\""), p + 7);
  free(out);
  assert_log_whole(id); /* while the daemon still runs: nothing to repair */
  char *log = job_file(id, "events.jsonl");
  assert_int_equal(count(log, "{\"event\":\"end\""), 0);
  free(log);
  /* A follower that comes later sees the end too (the job is final). */
  assert_listed(id, "failed");
  assert_int_equal(stop_and_wait(), 0);
  start_faulty(NULL);
  assert_listed(id, "failed");
  free(follow_to_end(id, 1, "failed"));
  log = job_file(id, "events.jsonl");
  assert_int_equal(count(log, "{\"event\":\"end\""), 1);
  free(log);
  assert_log_whole(id);
  assert_int_equal(stop_and_wait(), 0);
}

/* The final job.json cannot be saved (the third job.json write: submit,
 * start, end) but the end line is logged: after a restart the job is what
 * its end says, and does not run again. */
static void test_final_job_json_not_saved(void **s) {
  (void)s;
  char id[32];
  start_faulty("enospc:job.json:3");
  submit("small.json", id);
  free(follow_to_end(id, 0, "done"));
  char *json = job_file(id, "job.json");
  assert_non_null(strstr(json, "\"state\":\"running\"")); /* the failed save */
  free(json);
  assert_int_equal(stop_and_wait(), 0);
  start_faulty(NULL);
  assert_listed(id, "done");
  json = job_file(id, "job.json");
  assert_non_null(strstr(json, "\"state\":\"done\""));
  free(json);
  free(follow_to_end(id, 0, "done"));
  assert_log_ends(id, "done", 2);
  assert_int_equal(stop_and_wait(), 0);
}

/* The whole disk fills up while the job runs: nothing of its end can be
 * written, yet its follower ends; with space back, the restarted daemon
 * runs the job again to its end. */
static void test_full_disk_follow_ends_then_job_reruns(void **s) {
  (void)s;
  char *out, id[32];
  /* Writes 1-3: the submit's spec.json and job.json, the start's job.json. */
  start_faulty("enospc:*:4");
  assert_int_equal(client("--json submit small.json --follow", &out), 1);
  if (!strstr(out, "\"state\":\"failed\"") || !strstr(out, "No space left on device"))
    fail_msg("no failure: %s", out);
  const char *p = strstr(out, "\"job\":\"");
  assert_non_null(p);
  snprintf(id, sizeof id, "%.*s", (int)strcspn(p + 7, "\""), p + 7);
  free(out);
  assert_int_equal(stop_and_wait(), 0);
  start_faulty(NULL);
  free(follow_to_end(id, 0, "done"));
  assert_log_ends(id, "done", 2);
  assert_int_equal(stop_and_wait(), 0);
}

/* ---- the log and the folder at load ---- */

/* A damaged line inside the log and a torn last line (a crash, a disk
 * error) are dropped at load, logged once, and never replayed. */
static void test_damaged_lines_dropped_at_load(void **s) {
  (void)s;
  char id[32], path[256];
  start_faulty(NULL);
  submit("small.json", id);
  free(follow_to_end(id, 0, "done"));
  assert_int_equal(stop_and_wait(), 0);
  snprintf(path, sizeof path, "%s/jobs/%s/events.jsonl", state, id);
  char *log = read_text(path);
  char *second = strchr(log, '\n') + 1;
  FILE *f = fopen(path, "w");
  fwrite(log, 1, (size_t)(second - log), f);
  fputs("{\"event\":\"epoch\",\"job\":\"zz-damaged\n", f); /* mid-log */
  fputs(second, f);
  fputs("{\"event\":\"zz-torn", f); /* the last line, no newline */
  fclose(f);
  free(log);
  start_faulty(NULL);
  char *out = follow_to_end(id, 0, "done");
  if (strstr(out, "zz-")) fail_msg("damaged line replayed: %s", out);
  free(out);
  assert_log_ends(id, "done", 2);
  assert_int_equal(daemon_log_count("dropped 1 damaged line"), 1);
  assert_int_equal(stop_and_wait(), 0);
}

static void test_orphan_temp_files_removed_at_load(void **s) {
  (void)s;
  char id[32], path[512];
  start_faulty(NULL);
  submit("small.json", id);
  free(follow_to_end(id, 0, "done"));
  assert_int_equal(stop_and_wait(), 0);
  const char *names[] = {"job.json.tmp.424242", "model.safetensors.tmp.7"};
  for (int i = 0; i < 2; i++) {
    snprintf(path, sizeof path, "%s/jobs/%s/%s", state, id, names[i]);
    write_text(path, "half a file");
  }
  start_faulty(NULL);
  for (int i = 0; i < 2; i++) {
    snprintf(path, sizeof path, "%s/jobs/%s/%s", state, id, names[i]);
    if (access(path, F_OK) == 0) fail_msg("%s left behind", path);
  }
  assert_listed(id, "done");
  assert_int_equal(stop_and_wait(), 0);
}

/* The number of the next job: one more than the highest listed. */
static long next_number(void) {
  char *out;
  assert_int_equal(client("--json list", &out), 0);
  long hi = 0;
  for (const char *p = strstr(out, "\"job\":\"j"); p; p = strstr(p + 1, "\"job\":\"j")) {
    long n = strtol(p + 8, NULL, 10);
    if (n > hi) hi = n;
  }
  free(out);
  return hi + 1;
}

/* Links planted in the state dir are not followed: a job folder that is a
 * link (fl_mkdirs), a link in place of the temp file of an atomic write
 * (O_EXCL), a link in place of the log (O_NOFOLLOW). */
static void test_planted_links_not_followed(void **s) {
  (void)s;
  char id[32], got[32], path[512], victim[256], victim_dir[256], *out;
  snprintf(victim, sizeof victim, "%s/victim.txt", dir);
  snprintf(victim_dir, sizeof victim_dir, "%s/victim-dir", dir);
  write_text(victim, "precious\n");
  assert_int_equal(mkdir(victim_dir, 0755), 0);
  start_faulty(NULL);

  /* The job's folder. The refused submit still uses up its number. */
  long n = next_number();
  snprintf(id, sizeof id, "j%ld", n);
  snprintf(path, sizeof path, "%s/jobs/%s", state, id);
  assert_int_equal(symlink(victim_dir, path), 0);
  assert_int_not_equal(client("--json submit small.json", &out), 0);
  if (!strstr(out, "symbolic link")) fail_msg("submit into a link: %s", out);
  free(out);
  snprintf(path, sizeof path, "%s/spec.json", victim_dir);
  assert_int_not_equal(access(path, F_OK), 0);
  snprintf(path, sizeof path, "%s/jobs/%s", state, id);
  assert_int_equal(unlink(path), 0);

  /* The temp file of spec.json's atomic write. */
  snprintf(id, sizeof id, "j%ld", n + 1);
  snprintf(path, sizeof path, "%s/jobs/%s", state, id);
  assert_int_equal(mkdir(path, 0750), 0);
  snprintf(path, sizeof path, "%s/jobs/%s/spec.json.tmp.%ld", state, id, (long)daemon_pid);
  assert_int_equal(symlink(victim, path), 0);
  submit("small.json", got);
  assert_string_equal(got, id);
  free(follow_to_end(id, 0, "done"));
  char *v = read_text(victim);
  assert_string_equal(v, "precious\n");
  free(v);
  struct stat st;
  snprintf(path, sizeof path, "%s/jobs/%s/spec.json", state, id);
  assert_int_equal(lstat(path, &st), 0);
  assert_true(S_ISREG(st.st_mode));

  /* The event log: the job fails on its first line, naming the file. */
  snprintf(id, sizeof id, "j%ld", n + 2);
  snprintf(path, sizeof path, "%s/jobs/%s", state, id);
  assert_int_equal(mkdir(path, 0750), 0);
  snprintf(path, sizeof path, "%s/jobs/%s/events.jsonl", state, id);
  assert_int_equal(symlink(victim, path), 0);
  submit("small.json", got);
  assert_string_equal(got, id);
  for (double until = now() + 60;; usleep(100000)) {
    assert_true(now() < until);
    clientf(&out, "--json show %s", id);
    bool failed = strstr(out, "\"state\":\"failed\"") != NULL;
    if (failed && !strstr(out, "cannot save events.jsonl: Too many levels of symbolic links"))
      fail_msg("log through a link: %s", out);
    free(out);
    if (failed) break;
  }
  v = read_text(victim);
  assert_string_equal(v, "precious\n");
  free(v);
  assert_int_equal(stop_and_wait(), 0);
}

#define STATE_TEST(f) cmocka_unit_test_setup_teardown(f, test_setup, test_teardown)

int main(void) {
  const struct CMUnitTest tests[] = {
      STATE_TEST(test_crash_after_first_epoch_line),
      STATE_TEST(test_crash_at_the_end_of_training),
      STATE_TEST(test_crash_after_final_state),
      STATE_TEST(test_crash_after_cancel),
      STATE_TEST(test_model_not_saved_is_not_done),
      STATE_TEST(test_checkpoint_not_saved_fails_the_job),
      STATE_TEST(test_torn_append_is_cut_and_follow_ends),
      STATE_TEST(test_final_job_json_not_saved),
      STATE_TEST(test_full_disk_follow_ends_then_job_reruns),
      STATE_TEST(test_damaged_lines_dropped_at_load),
      STATE_TEST(test_orphan_temp_files_removed_at_load),
      STATE_TEST(test_planted_links_not_followed),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
