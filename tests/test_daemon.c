/* tests/test_daemon.c — end to end against the real daemon: flatlined is
 * started on a temporary socket and state dir, jobs go through the real
 * `flatline` client, and the assertions are on what a user sees (its output
 * and exit status), on the files in the state dir, and on raw frames for
 * the hostile-client tests. Covers: submit/follow/list/show/cancel/export,
 * two Unix users, kill -9 and SIGTERM with resume, hostile clients next to
 * a well-behaved one, and load (50 followers, 500 queued jobs). */
#define _GNU_SOURCE /* memmem, usleep */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
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
#include "skip.h"

/* ---- fixtures ---- */

static int setup(void **state_) {
  (void)state_;
  snprintf(dir, sizeof dir, "/tmp/fl-daemon-XXXXXX");
  if (!mkdtemp(dir)) return -1;
  chmod(dir, 0755); /* the second user reads its data from here */
  snprintf(sock, sizeof sock, "%s/flatline.sock", dir);
  snprintf(state, sizeof state, "%s/state", dir);
  write_csv("small.csv", 300, 4);
  write_csv("medium.csv", 6000, 40);
  write_spec("small", "small.csv", 5, 16, 32);
  write_spec("long", "medium.csv", 100000, 64, 16);
  write_spec("crash", "medium.csv", 6, 128, 16);
  start_daemon(NULL);
  return 0;
}

static int teardown(void **state_) {
  (void)state_;
  return remove_test_dir(SIGKILL);
}

/* ---- tests ---- */

static void test_submit_follow_list_show_export(void **s) {
  (void)s;
  char *out, id[32], args[512];
  assert_int_equal(client("--json submit small.json --follow", &out), 0);
  job_id_of(out, id);
  int epochs = 0;
  for (const char *p = strstr(out, "\"event\":\"epoch\""); p; p = strstr(p + 1, "\"event\":\"epoch\""))
    epochs++;
  assert_int_equal(epochs, 5);
  assert_non_null(strstr(out, "\"event\":\"end\""));
  assert_non_null(strstr(out, "\"state\":\"done\""));
  assert_true(last_number(out, "val_accuracy") > 0.9);
  /* Every job gets a verdict, once, before its end. */
  const char *verdict = strstr(out, "\"event\":\"verdict\"");
  assert_non_null(verdict);
  assert_null(strstr(verdict + 1, "\"event\":\"verdict\""));
  assert_true(verdict < strstr(out, "\"event\":\"end\""));
  assert_non_null(strstr(verdict, "\"verdict\":\"healthy\""));
  free(out);

  /* The same through the human view: a table, a sparkline, the verdict. */
  assert_int_equal(client("submit small.json --follow", &out), 0);
  assert_non_null(strstr(out, "loss"));
  assert_non_null(strstr(out, "): healthy"));
  free(out);

  assert_int_equal(client("--json list", &out), 0);
  assert_non_null(strstr(out, id));
  assert_non_null(strstr(out, "\"state\":\"done\""));
  free(out);

  snprintf(args, sizeof args, "--json show %s", id);
  assert_int_equal(client(args, &out), 0);
  assert_non_null(strstr(out, "\"last_epoch\""));
  assert_non_null(strstr(out, "\"spec\""));
  free(out);

  snprintf(args, sizeof args, "export %s -o model.safetensors", id);
  assert_int_equal(client(args, &out), 0);
  free(out);
  char cmd[512];
  snprintf(cmd, sizeof cmd, "/usr/bin/python3 '%s/tools/read_safetensors.py' '%s/model.safetensors'",
           FL_SOURCE_DIR, dir);
  if (access("/usr/bin/python3", X_OK) != 0) {
    FL_SKIP_PART("no /usr/bin/python3 to read the export with (apt-get install python3)");
  } else {
    FILE *p = popen(cmd, "r");
    char text[4096] = "";
    size_t n = fread(text, 1, sizeof text - 1, p);
    text[n] = '\0';
    assert_int_equal(pclose(p), 0);
    assert_non_null(strstr(text, "layers.0.kernel"));
    assert_non_null(strstr(text, "layers.0.kernel F32 [4,16]"));
    assert_non_null(strstr(text, "layers.1.bias"));
  }

  /* Following a finished job replays its events and ends. */
  snprintf(args, sizeof args, "--json follow %s", id);
  assert_int_equal(client(args, &out), 0);
  assert_non_null(strstr(out, "\"epoch\":5"));
  free(out);
}

/* The seed article's first program exactly as written (100 rows, random
 * labels, 5 epochs, no validation), through the client: the verdict is a
 * problem, labels_uninformative, with the permutation test as evidence,
 * and the exit status says "done with a diagnosed problem". */
static void test_article_program_gets_a_verdict(void **s) {
  (void)s;
  char text[1024], *out;
  snprintf(text, sizeof text,
           "{\"name\": \"article-1\", \"data\": {\"train\": {\"features\": "
           "\"%s/examples/article/data/p1_x.npy\", \"labels\": "
           "\"%s/examples/article/data/p1_y.npy\"}}, \"model\": {\"layers\": "
           "[{\"type\": \"dense\", \"units\": 3, \"activation\": \"softmax\"}]}, "
           "\"loss\": \"sparse_categorical_crossentropy\", \"optimizer\": \"adam\", "
           "\"epochs\": 5, \"batch_size\": 32}",
           FL_SOURCE_DIR, FL_SOURCE_DIR);
  write_file("article1.json", text);
  assert_int_equal(client("--json submit article1.json --follow", &out), 3);
  const char *verdict = strstr(out, "\"event\":\"verdict\"");
  assert_non_null(verdict);
  assert_non_null(strstr(verdict, "\"verdict\":\"problem\",\"causes\":[{\"cause\":"
                                  "\"labels_uninformative\""));
  assert_non_null(strstr(verdict, "permutation test"));
  assert_non_null(strstr(out, "\"state\":\"done\",\"cause\":\"labels_uninformative\""));
  free(out);
  assert_int_equal(client("submit article1.json --follow", &out), 3);
  assert_non_null(strstr(out, "): problem - labels_uninformative"));
  free(out);
}

static void test_cancel(void **s) {
  (void)s;
  char *out, id[32], args[128];
  assert_int_equal(client("--json submit long.json", &out), 0);
  job_id_of(out, id);
  free(out);
  snprintf(args, sizeof args, "cancel %s", id);
  assert_int_equal(client(args, &out), 0);
  free(out);
  snprintf(args, sizeof args, "--json follow %s", id);
  assert_int_equal(client(args, &out), 1); /* ended, not done */
  assert_non_null(strstr(out, "\"state\":\"cancelled\""));
  free(out);
  /* Cancelling again is an error naming the state. */
  snprintf(args, sizeof args, "cancel %s", id);
  assert_int_equal(client(args, &out), 1);
  assert_non_null(strstr(out, "cancelled"));
  free(out);
}

static void test_two_users(void **s) {
  (void)s;
  if (!have_other_user()) {
    FL_SKIP("needs root, useradd and runuser");
  }
  char *out, id[32], args[128];
  assert_int_equal(client("--json submit long.json", &out), 0);
  job_id_of(out, id);
  free(out);

  /* The other user sees the job in the list... */
  assert_int_equal(client_as(OTHER_USER, "--json list", &out), 0);
  assert_non_null(strstr(out, id));
  assert_non_null(strstr(out, "\"user\":\"root\""));
  free(out);
  /* ...but may not cancel, follow, show or export it. */
  const char *verbs[] = {"cancel", "follow", "show", "export"};
  for (int i = 0; i < 4; i++) {
    snprintf(args, sizeof args, "%s %s%s", verbs[i], id,
             i == 3 ? " -o /tmp/fl-nope.safetensors" : "");
    assert_int_equal(client_as(OTHER_USER, args, &out), 1);
    if (!strstr(out, "do not own")) fail_msg("%s as another user: %s", verbs[i], out);
    free(out);
  }
  /* Round-robin: root queues two jobs, then the other user one; when the
   * device frees up (root's job was the last served), the other user's job
   * runs first, then root's two in order. */
  char mine1[32], mine2[32], theirs[32];
  assert_int_equal(client("--json submit small.json", &out), 0);
  job_id_of(out, mine1);
  free(out);
  assert_int_equal(client("--json submit small.json", &out), 0);
  job_id_of(out, mine2);
  free(out);
  /* its data is uploaded with its own permissions, to its own blob store */
  assert_int_equal(client_as(OTHER_USER, "--json submit small.json", &out), 0);
  job_id_of(out, theirs);
  free(out);
  snprintf(args, sizeof args, "cancel %s", id);
  assert_int_equal(client(args, &out), 0);
  free(out);
  snprintf(args, sizeof args, "--json follow %s", mine2);
  assert_int_equal(client(args, &out), 0);
  free(out);
  snprintf(args, sizeof args, "--json follow %s", theirs);
  assert_int_equal(client_as(OTHER_USER, args, &out), 0);
  assert_non_null(strstr(out, "\"state\":\"done\""));
  free(out);
  /* Start order from the daemon's log: theirs, mine1, mine2. */
  char log[256], line[512];
  snprintf(log, sizeof log, "%s/daemon.log", dir);
  FILE *f = fopen(log, "r");
  assert_non_null(f);
  int pos1 = -1, pos2 = -1, pos3 = -1, k = 0;
  char p1[48], p2[48], p3[48];
  snprintf(p1, sizeof p1, "job %s (", mine1);
  snprintf(p2, sizeof p2, "job %s (", theirs);
  snprintf(p3, sizeof p3, "job %s (", mine2);
  while (fgets(line, sizeof line, f)) {
    if (!strstr(line, "starts on device")) continue;
    if (strstr(line, p1)) pos1 = k;
    if (strstr(line, p2)) pos2 = k;
    if (strstr(line, p3)) pos3 = k;
    k++;
  }
  fclose(f);
  if (!(pos2 >= 0 && pos2 < pos1 && pos1 < pos3))
    fail_msg("start order %s=%d %s=%d %s=%d: the other user's job should run "
             "before root's two", mine1, pos1, theirs, pos2, mine2, pos3);
}

/* kill -9 mid-training, restart: the job finishes with the same final loss
 * as an uninterrupted run (the foreground runner, same spec and seed). */
static void test_kill9_resume(void **s) {
  (void)s;
  char *out, id[32], args[256];
  snprintf(args, sizeof args, "cd '%s' && '%s' --run crash.json --json", dir, FLATLINED);
  FILE *p = popen(args, "r");
  char ref[1 << 16];
  size_t n = fread(ref, 1, sizeof ref - 1, p);
  ref[n] = '\0';
  assert_int_equal(pclose(p), 0);
  double want = last_number(ref, "loss");
  assert_false(isnan(want));

  assert_int_equal(client("--json submit crash.json", &out), 0);
  job_id_of(out, id);
  free(out);
  /* Wait until two epochs are logged, then kill -9. */
  char log[256];
  snprintf(log, sizeof log, "%s/jobs/%s/events.jsonl", state, id);
  double until = now() + 120;
  for (;;) {
    assert_true(now() < until);
    FILE *f = fopen(log, "r");
    int lines = 0, c;
    while (f && (c = fgetc(f)) != EOF) lines += c == '\n';
    if (f) fclose(f);
    if (lines >= 2) break;
    usleep(50000);
  }
  assert_int_equal(stop_daemon(SIGKILL), -1);
  start_daemon(NULL);
  snprintf(args, sizeof args, "--json follow %s", id);
  assert_int_equal(client(args, &out), 0);
  double got = last_number(out, "loss");
  if (got != want) fail_msg("final loss %.9g after kill -9, %.9g uninterrupted", got, want);
  /* every epoch event exactly once */
  for (int e = 1; e <= 6; e++) {
    char pat[64];
    snprintf(pat, sizeof pat, "{\"event\":\"epoch\",\"job\":\"%s\",\"epoch\":%d,", id, e);
    const char *first = strstr(out, pat);
    assert_non_null(first);
    assert_null(strstr(first + 1, pat));
  }
  free(out);
}

static void test_sigterm_exits_cleanly_and_resumes(void **s) {
  (void)s;
  char *out, id[32], args[128];
  assert_int_equal(client("--json submit long.json", &out), 0);
  job_id_of(out, id);
  free(out);
  usleep(1500000);
  double t0 = now();
  assert_int_equal(stop_daemon(SIGTERM), 0);
  assert_true(now() - t0 < 20);
  start_daemon(NULL);
  snprintf(args, sizeof args, "--json show %s", id);
  assert_int_equal(client(args, &out), 0);
  assert_true(strstr(out, "\"state\":\"running\"") || strstr(out, "\"state\":\"queued\""));
  free(out);
  snprintf(args, sizeof args, "cancel %s", id);
  assert_int_equal(client(args, &out), 0);
  free(out);
}

static void test_hostile_clients(void **s) {
  (void)s;
  bool closed;
  struct {
    const char *what;
    uint8_t kind;
    uint32_t len;
    const char *data;
    bool send_hello;
  } cases[] = {
      {"oversized length", 0, (1u << 20) + 1, NULL, true},
      {"oversized binary", 1, (4u << 20) + 1, NULL, true},
      {"unknown kind", 7, 2, "{}", true},
      {"invalid JSON", 0, 9, "{\"type\":", true},
      {"not an object", 0, 5, "[1,2]", true},
      {"no hello first", 0, 24, "{\"type\":\"list\",\"id\":1}  ", false},
      {"binary without upload", 1, 4, "abcd", true},
      {"bad UTF-8", 0, 16, "{\"type\":\"\xff\xfe\"}    ", true},
  };
  int good = raw_connect();
  hello(good);
  assert_true(raw_expect(good, "\"hello\"", &closed));
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    int fd = raw_connect();
    if (cases[i].send_hello) hello(fd);
    if (cases[i].data) {
      raw_send(fd, cases[i].kind, cases[i].data, cases[i].len);
    } else { /* only the header: the daemon must refuse before the payload */
      uint32_t l = cases[i].len;
      uint8_t h[5] = {(uint8_t)(l >> 24), (uint8_t)(l >> 16), (uint8_t)(l >> 8), (uint8_t)l,
                      cases[i].kind};
      send(fd, h, 5, MSG_NOSIGNAL);
    }
    int found = raw_expect(fd, "\"type\":\"error\"", &closed);
    if (!found) fail_msg("%s: no error frame", cases[i].what);
    raw_expect(fd, "\x01\x02never", &closed);
    if (!closed) fail_msg("%s: connection not closed", cases[i].what);
    close(fd);
  }
  /* Deep nesting, garbage, and a truncated frame then a hang-up. */
  int fd = raw_connect();
  hello(fd);
  char deep[300];
  memset(deep, '[', 200);
  memcpy(deep + 200, "]", 2);
  raw_send_json(fd, deep);
  assert_true(raw_expect(fd, "\"type\":\"error\"", &closed));
  close(fd);
  fd = raw_connect();
  send(fd, "GET / HTTP/1.1\r\n\r\n", 18, MSG_NOSIGNAL);
  raw_expect(fd, "\"type\":\"error\"", &closed);
  close(fd);
  fd = raw_connect();
  hello(fd);
  uint8_t h[5] = {0, 0, 0, 100, 0};
  send(fd, h, 5, MSG_NOSIGNAL);
  send(fd, "{\"ty", 4, MSG_NOSIGNAL);
  close(fd);

  /* The well-behaved client never noticed. */
  raw_send_json(good, "{\"type\":\"list\",\"id\":7}");
  assert_true(raw_expect(good, "\"id\":7,\"ok\":true", &closed));
  close(good);
  char *out;
  assert_int_equal(client("--json list", &out), 0);
  free(out);
}

static void test_non_reading_follower_is_dropped(void **s) {
  (void)s;
  char *out, id[32], req[128];
  assert_int_equal(client("--json submit long.json", &out), 0);
  job_id_of(out, id);
  free(out);
  int fd = raw_connect();
  int small = 4096;
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
  hello(fd);
  snprintf(req, sizeof req, "{\"type\":\"follow\",\"id\":1,\"job\":\"%s\"}", id);
  raw_send_json(fd, req);
  /* Never read. The daemon keeps answering others. */
  double t0 = now();
  for (int i = 0; i < 5; i++) {
    assert_int_equal(client("--json list", &out), 0);
    free(out);
    usleep(300000);
  }
  assert_true(now() - t0 < 15);
  close(fd);
  snprintf(req, sizeof req, "cancel %s", id);
  assert_int_equal(client(req, &out), 0);
  free(out);
}

/* A client that pipelines requests faster than it reads the replies is
 * slowed down, not dropped. With a queue cap of 16 frames the client
 * pushes 400 requests as far as the socket takes them before reading
 * anything, then reads and sends on as both ways allow: every request gets
 * its answer (the daemon stops reading that client while its replies back
 * up, instead of cutting it off). */
static void test_pipelining_client_is_throttled_not_dropped(void **s) {
  (void)s;
  write_file("small-queue.conf", "follower_max_frames = 16\n");
  char conf[256];
  snprintf(conf, sizeof conf, "%s/small-queue.conf", dir);
  stop_daemon(SIGTERM);
  start_daemon(conf);
  int fd = raw_connect();
  hello(fd);
  /* All 400 frames back to back. */
  static uint8_t out[400 * 40];
  size_t out_len = 0;
  for (int i = 0; i < 400; i++) {
    char req[40];
    int n = snprintf(req, sizeof req, "{\"type\":\"devices\",\"id\":%d}", i + 1);
    uint8_t *h = out + out_len;
    h[0] = h[1] = h[2] = 0;
    h[3] = (uint8_t)n;
    h[4] = 0;
    memcpy(h + 5, req, (size_t)n);
    out_len += 5 + (size_t)n;
  }
  size_t sent = 0;
  while (sent < out_len) { /* as far as it goes without waiting */
    ssize_t n = send(fd, out + sent, out_len - sent, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n <= 0) break;
    sent += (size_t)n;
  }
  static char in[1 << 16];
  size_t have = 0;
  bool found = false, closed = false;
  double until = now() + 60;
  while (!found && !closed && now() < until) {
    struct pollfd p = {fd, (short)(POLLIN | (sent < out_len ? POLLOUT : 0)), 0};
    if (poll(&p, 1, 200) <= 0) continue;
    if (p.revents & POLLOUT) {
      ssize_t n = send(fd, out + sent, out_len - sent, MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n > 0) sent += (size_t)n;
    }
    if (p.revents & (POLLIN | POLLHUP)) {
      ssize_t n = recv(fd, in + have, sizeof in - 1 - have, MSG_DONTWAIT);
      if (n == 0 || (n < 0 && errno != EAGAIN)) closed = true;
      if (n > 0) have += (size_t)n;
      found = memmem(in, have, "\"id\":400,\"ok\":true", 18) != NULL;
      if (have > sizeof in / 2) { /* keep the tail: the reply may straddle */
        memmove(in, in + have - 256, 256);
        have = 256;
      }
    }
  }
  assert_false(closed);
  assert_true(found);
  close(fd);
  assert_int_equal(stop_daemon(SIGTERM), 0);
  start_daemon(NULL);
}

static void test_load_50_followers_500_jobs(void **s) {
  (void)s;
  /* More than the default 100 queued jobs per user. */
  write_file("load.conf", "max_queued_jobs = 1000\n");
  char conf[256];
  snprintf(conf, sizeof conf, "%s/load.conf", dir);
  stop_daemon(SIGTERM);
  start_daemon(conf);
  char *out, id[32], req[160];
  assert_int_equal(client("--json submit long.json", &out), 0);
  job_id_of(out, id);
  free(out);
  int fds[50];
  for (int i = 0; i < 50; i++) {
    fds[i] = raw_connect();
    hello(fds[i]);
    snprintf(req, sizeof req, "{\"type\":\"follow\",\"id\":1,\"job\":\"%s\"}", id);
    raw_send_json(fds[i], req);
  }
  /* 500 jobs through one connection: blob once, then submits. */
  int fd = raw_connect();
  hello(fd);
  char spec[1024], sha_cmd[256], sha[65] = "";
  snprintf(sha_cmd, sizeof sha_cmd, "sha256sum '%s/small.csv'", dir);
  FILE *p = popen(sha_cmd, "r");
  assert_int_equal(fscanf(p, "%64s", sha), 1);
  pclose(p);
  FILE *f = fopen("/dev/null", "r");
  fclose(f);
  snprintf(spec, sizeof spec,
           "{\\\"data\\\":{\\\"train\\\":{\\\"csv\\\":\\\"small.csv\\\",\\\"label_columns\\\":[\\\"label\\\"]}},"
           "\\\"model\\\":{\\\"layers\\\":[{\\\"type\\\":\\\"dense\\\",\\\"units\\\":3,\\\"activation\\\":\\\"softmax\\\"}]},"
           "\\\"loss\\\":\\\"sparse_categorical_crossentropy\\\"}");
  bool closed;
  for (int i = 0; i < 500; i++) {
    char msg[2048];
    snprintf(msg, sizeof msg,
             "{\"type\":\"submit\",\"id\":%d,\"spec\":\"%s\",\"files\":{\"small.csv\":\"%s\"},\"follow\":false}",
             i + 1, spec, sha);
    raw_send_json(fd, msg);
    /* Read the replies every 50 requests, as a client must: one that only
     * writes is throttled by the daemon and would block here. Each submit
     * is made durable (fsync) before its reply: allow time. */
    if ((i + 1) % 50 == 0) {
      char want[48];
      snprintf(want, sizeof want, "\"id\":%d,\"ok\":true", i + 1);
      assert_true(raw_expect_for(fd, want, &closed, 120));
    }
  }
  /* Still responsive: a list answers promptly and shows all 500. */
  double t0 = now();
  assert_int_equal(client("--json list", &out), 0);
  double took = now() - t0;
  fprintf(stderr, "# list with 50 followers and 500 queued jobs: %.3f s\n", took);
  assert_true(took < 2.0);
  int n = 0;
  for (const char *q = strstr(out, "\"event\""); q; q = strstr(q + 1, "\"event\"")) n++;
  assert_true(n >= 501);
  free(out);
  for (int i = 0; i < 50; i++) close(fds[i]);
  close(fd);
  /* Nothing lost across a restart either. */
  assert_int_equal(stop_daemon(SIGTERM), 0);
  start_daemon(conf);
  assert_int_equal(client("--json list", &out), 0);
  int m = 0;
  for (const char *q = strstr(out, "\"event\""); q; q = strstr(q + 1, "\"event\"")) m++;
  assert_int_equal(m, n);
  free(out);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_submit_follow_list_show_export),
      cmocka_unit_test(test_article_program_gets_a_verdict),
      cmocka_unit_test(test_cancel),
      cmocka_unit_test(test_two_users),
      cmocka_unit_test(test_kill9_resume),
      cmocka_unit_test(test_sigterm_exits_cleanly_and_resumes),
      cmocka_unit_test(test_hostile_clients),
      cmocka_unit_test(test_non_reading_follower_is_dropped),
      cmocka_unit_test(test_pipelining_client_is_throttled_not_dropped),
      cmocka_unit_test(test_load_50_followers_500_jobs),
  };
  return FL_TEST_EXIT(cmocka_run_group_tests(tests, setup, teardown));
}
