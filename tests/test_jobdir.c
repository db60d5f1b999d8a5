/* tests/test_jobdir.c — `flatlined --run SPEC --job-dir DIR` end to end
 * through the real binary: a run stopped by SIGTERM (exit 75, state saved)
 * or killed with SIGKILL, started again on the same folder, ends with the
 * same final loss, the same event log and a model file identical byte for
 * byte to a run never stopped; so does SIGUSR1 (Slurm's time-limit
 * warning); SIGUSR2 cancels; a folder of another spec
 * is refused; a finished folder runs nothing again. The job is long
 * enough (1,500 epochs of a small MLP, a diagnosis at epoch ~300) that the
 * signal lands in the middle of training: the test waits for epoch lines
 * in the log before sending it. */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "run_capture.h"

#define FLATLINED FL_BINARY_DIR "/flatlined"
#define EPOCHS 1500

static char dir[64];

static int setup(void **state) {
  (void)state;
  snprintf(dir, sizeof dir, "/tmp/fl-jobdir-XXXXXX");
  if (!mkdtemp(dir)) return -1;
  char cmd[1024];
  /* The blobs example (4 classes, 400 rows), trained long. */
  snprintf(cmd, sizeof cmd,
           "cp '%s/examples/blobs/blobs.csv' '%s/' && sed 's/\"epochs\": 10/\"epochs\": %d/' "
           "'%s/examples/blobs/mlp.json' > '%s/mlp.json' && "
           "sed 's/\"seed\": 7/\"seed\": 8/' '%s/mlp.json' > '%s/other.json'",
           FL_SOURCE_DIR, dir, EPOCHS, FL_SOURCE_DIR, dir, dir, dir);
  return system(cmd) == 0 ? 0 : -1;
}

static int teardown(void **state) {
  (void)state;
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  return system(cmd) == 0 ? 0 : -1;
}

static int run(const char *args, char **out) {
  char cmd[1024];
  snprintf(cmd, sizeof cmd, "cd '%s' && '%s' %s 2>&1", dir, FLATLINED, args);
  return run_capture(cmd, out);
}

static char *read_file(const char *name, size_t *len) {
  char path[256];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  size_t cap = 1 << 16, n = 0, r;
  char *buf = malloc(cap);
  while (buf && (r = fread(buf + n, 1, cap - n - 1, f)) > 0) {
    n += r;
    if (n + 1 == cap) buf = realloc(buf, cap *= 2);
  }
  fclose(f);
  if (buf) buf[n] = '\0';
  if (len) *len = n;
  return buf;
}

static int count_epoch_lines(const char *log) {
  char *text = read_file(log, NULL);
  int n = 0;
  for (const char *p = text; p && (p = strstr(p, "{\"event\":\"epoch\"")); p++) n++;
  free(text);
  return n;
}

/* The "loss" of the epoch line of epoch e in text (as logged: %.9g). */
static void loss_of_epoch(const char *text, int e, char *out, size_t size) {
  char key[64];
  snprintf(key, sizeof key, "\"event\":\"epoch\",");
  out[0] = '\0';
  char want[32];
  snprintf(want, sizeof want, "\"epoch\":%d,", e);
  for (const char *p = text; (p = strstr(p, key)); p++) {
    const char *eol = strchr(p, '\n');
    const char *hit = strstr(p, want);
    if (!hit || (eol && hit > eol)) continue;
    const char *l = strstr(p, "\"loss\":");
    if (!l || (eol && l > eol)) continue;
    l += 7;
    size_t n = strcspn(l, ",}");
    snprintf(out, size, "%.*s", (int)(n < size ? n : size - 1), l);
    return;
  }
}

/* Start flatlined in the background on job folder jd; send sig once the
 * log holds `after` epoch lines; return its exit status (or -signal). */
static int run_and_signal(const char *spec, const char *jd, int sig, int after) {
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    if (chdir(dir) != 0) _exit(127);
    freopen("/dev/null", "w", stdout);
    execl(FLATLINED, "flatlined", "--run", spec, "--json", "--job-dir", jd, (char *)NULL);
    _exit(127);
  }
  char log[128];
  snprintf(log, sizeof log, "%s/events.jsonl", jd);
  /* Up to 120 s for the first epochs (a cold POCL kernel cache). */
  for (int i = 0; i < 12000 && count_epoch_lines(log) < after; i++) {
    int st;
    if (waitpid(pid, &st, WNOHANG) == pid) fail_msg("flatlined ended before epoch %d", after);
    struct timespec ts = {0, 10 * 1000 * 1000};
    nanosleep(&ts, NULL);
  }
  int n = count_epoch_lines(log);
  if (n >= EPOCHS) fail_msg("the run finished before the signal (%d epochs)", n);
  kill(pid, sig);
  int st;
  assert_int_equal(waitpid(pid, &st, 0), pid);
  return WIFEXITED(st) ? WEXITSTATUS(st) : -WTERMSIG(st);
}

/* The reference: the same spec never stopped, with and without a folder. */
static char ref_loss[64];

static void test_uninterrupted_reference(void **state) {
  (void)state;
  char *out;
  int rc = run("--run mlp.json --json > plain.jsonl", &out);
  free(out);
  assert_true(rc == 0 || rc == 3);
  char *plain = read_file("plain.jsonl", NULL);
  assert_non_null(plain);
  loss_of_epoch(plain, EPOCHS, ref_loss, sizeof ref_loss);
  free(plain);
  assert_true(ref_loss[0]);
  rc = run("--run mlp.json --json --job-dir ref > ref.out", &out);
  free(out);
  assert_true(rc == 0 || rc == 3);
  char *log = read_file("ref/events.jsonl", NULL), loss[64];
  assert_non_null(log);
  loss_of_epoch(log, EPOCHS, loss, sizeof loss);
  assert_string_equal(loss, ref_loss);
  assert_non_null(strstr(log, "{\"event\":\"end\",\"job\":\"ref\""));
  free(log);
  /* What only a resume needs is gone; the model is there. */
  struct stat st;
  char p[128];
  snprintf(p, sizeof p, "%s/ref/checkpoint.bin", dir);
  assert_int_not_equal(stat(p, &st), 0);
  snprintf(p, sizeof p, "%s/ref/model.safetensors", dir);
  assert_int_equal(stat(p, &st), 0);
  snprintf(p, sizeof p, "%s/ref", dir);
  assert_int_equal(stat(p, &st), 0);
  assert_int_equal(st.st_mode & 0777, 0700); /* the owner's alone */
}

/* The resumed folder's log and model against the reference folder's. */
static void assert_same_as_reference(const char *jd) {
  char name[128], loss[64];
  snprintf(name, sizeof name, "%s/events.jsonl", jd);
  char *log = read_file(name, NULL);
  assert_non_null(log);
  loss_of_epoch(log, EPOCHS, loss, sizeof loss);
  if (strcmp(loss, ref_loss) != 0)
    fail_msg("%s: final loss %s, uninterrupted %s", jd, loss, ref_loss);
  assert_int_equal(count_epoch_lines(name), EPOCHS); /* each epoch logged once */
  free(log);
  size_t la, lb;
  snprintf(name, sizeof name, "%s/model.safetensors", jd);
  char *a = read_file(name, &la), *b = read_file("ref/model.safetensors", &lb);
  assert_non_null(a);
  assert_non_null(b);
  assert_int_equal(la, lb);
  assert_memory_equal(a, b, la);
  free(a);
  free(b);
}

static void test_sigterm_saves_and_the_same_command_resumes(void **state) {
  (void)state;
  int rc = run_and_signal("mlp.json", "term", SIGTERM, 100);
  assert_int_equal(rc, 75);
  char *job = read_file("term/job.json", NULL);
  assert_non_null(strstr(job, "\"state\":\"queued\""));
  free(job);
  char path[128];
  struct stat st;
  snprintf(path, sizeof path, "%s/term/checkpoint.bin", dir);
  assert_int_equal(stat(path, &st), 0);
  char *out;
  rc = run("--run mlp.json --job-dir term", &out);
  if (rc != 0 && rc != 3) fail_msg("resume: exit %d:\n%s", rc, out);
  assert_non_null(strstr(out, "resuming from term after epoch"));
  free(out);
  assert_same_as_reference("term");
}

/* Slurm's --signal warning before the time limit: the OpenCL runtime's
 * LLVM takes SIGUSR1 when the device opens, so flatlined must take it
 * back (a USR1 was once ignored and the job ran into the limit). */
static void test_sigusr1_saves_and_resumes(void **state) {
  (void)state;
  int rc = run_and_signal("mlp.json", "usr1", SIGUSR1, 100);
  assert_int_equal(rc, 75);
  char *out;
  rc = run("--run mlp.json --json --job-dir usr1 > usr1.out", &out);
  if (rc != 0 && rc != 3) fail_msg("resume after USR1: exit %d:\n%s", rc, out);
  free(out);
  assert_same_as_reference("usr1");
}

static void test_kill_9_resumes_to_the_same_loss(void **state) {
  (void)state;
  int rc = run_and_signal("mlp.json", "killed", SIGKILL, 400); /* past the diagnosis */
  assert_int_equal(rc, -SIGKILL);
  char *out;
  rc = run("--run mlp.json --json --job-dir killed > killed.out", &out);
  if (rc != 0 && rc != 3) fail_msg("resume after kill -9: exit %d:\n%s", rc, out);
  free(out);
  assert_same_as_reference("killed");
  /* One diagnosis and one verdict, as in the reference: none repeated. */
  char *a = read_file("killed/events.jsonl", NULL), *b = read_file("ref/events.jsonl", NULL);
  int da = 0, db = 0;
  for (const char *p = a; (p = strstr(p, "{\"event\":\"diagnosis\"")); p++) da++;
  for (const char *p = b; (p = strstr(p, "{\"event\":\"diagnosis\"")); p++) db++;
  assert_int_equal(da, db);
  free(a);
  free(b);
}

static void test_a_finished_folder_runs_nothing(void **state) {
  (void)state;
  char *out;
  int rc = run("--run mlp.json --job-dir ref", &out);
  assert_true(rc == 0 || rc == 3);
  assert_non_null(strstr(out, "already ended"));
  assert_null(strstr(out, "epoch"));
  free(out);
}

static void test_another_spec_is_refused(void **state) {
  (void)state;
  char *out;
  int rc = run("--run other.json --job-dir ref", &out);
  assert_int_equal(rc, 1);
  assert_non_null(strstr(out, "holds the spec of another job"));
  free(out);
  rc = run("--job-dir ref", &out);
  assert_int_equal(rc, 2);
  assert_non_null(strstr(out, "--job-dir goes with --run"));
  free(out);
}

static void test_sigusr2_cancels(void **state) {
  (void)state;
  int rc = run_and_signal("mlp.json", "cancel", SIGUSR2, 50);
  assert_int_equal(rc, 1);
  char *log = read_file("cancel/events.jsonl", NULL);
  assert_non_null(strstr(log, "{\"event\":\"end\",\"job\":\"cancel\",\"state\":\"cancelled\""));
  free(log);
  char *job = read_file("cancel/job.json", NULL);
  assert_non_null(strstr(job, "\"state\":\"cancelled\""));
  free(job);
  char *out; /* and it stays cancelled */
  rc = run("--run mlp.json --job-dir cancel", &out);
  assert_int_equal(rc, 1);
  assert_non_null(strstr(out, "already ended (cancelled"));
  free(out);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_uninterrupted_reference),
      cmocka_unit_test(test_sigterm_saves_and_the_same_command_resumes),
      cmocka_unit_test(test_sigusr1_saves_and_resumes),
      cmocka_unit_test(test_kill_9_resumes_to_the_same_loss),
      cmocka_unit_test(test_a_finished_folder_runs_nothing),
      cmocka_unit_test(test_another_spec_is_refused),
      cmocka_unit_test(test_sigusr2_cancels),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
