/* tests/test_hostile.c — end to end, the service against a hostile local
 * user and against long streams (issue: hold under hostile users, full
 * disks and long jobs): a state dir another user prepared, a blob that is
 * a planted link, storage quotas under parallel uploads and job files,
 * the per-user connection cap, log injection through a CSV header, config
 * ranges and reloads, a gzip bomb and the data memory budget, exports over
 * the 8 MiB queue cap, replays of hundreds of events, and the paged list.
 * The real flatlined and flatline run on a temporary socket and state dir
 * (daemon_fixture.h); assertions are on what a user sees. Some parts need
 * root (chown to another uid), which CI has; elsewhere they skip, saying
 * so. */
#define _GNU_SOURCE /* memmem, usleep */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "daemon_fixture.h"

/* The uid that owns nothing here: nobody. */
#define STRANGER_UID 65534

static char conf[256];

static int setup(void **state_) {
  (void)state_;
  snprintf(dir, sizeof dir, "/tmp/fl-hostile-XXXXXX");
  if (!mkdtemp(dir)) return -1;
  chmod(dir, 0755);
  snprintf(sock, sizeof sock, "%s/flatline.sock", dir);
  snprintf(state, sizeof state, "%s/state", dir);
  snprintf(conf, sizeof conf, "%s/test.conf", dir);
  write_csv("small.csv", 300, 4);
  write_spec("small", "small.csv", 2, 8, 32);
  write_file("test.conf", "\n");
  start_daemon(conf);
  return 0;
}

static int teardown(void **state_) {
  (void)state_;
  return remove_test_dir(SIGKILL);
}

static void restart_with(const char *config_text) {
  stop_daemon(SIGTERM);
  write_file("test.conf", config_text);
  start_daemon(conf);
}

static char *read_all(const char *path) {
  FILE *f = fopen(path, "r");
  if (!f) return strdup("");
  static char buf[1 << 20];
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  buf[n] = '\0';
  fclose(f);
  return strdup(buf);
}

/* Run flatlined on a state dir that must be refused; its stderr. */
static int run_daemon_on(const char *state_dir, const char *cache_dir, char **out) {
  char cmd[1024];
  snprintf(cmd, sizeof cmd, "timeout 60 '%s' --socket '%s/other.sock' --state-dir '%s' "
           "--cache-dir '%s' 2>&1", FLATLINED, dir, state_dir, cache_dir);
  return run_capture(cmd, out);
}

/* ---- a state dir that trusts no one ---- */

static void expect_refused(const char *state_dir, const char *cache_dir,
                           const char *says) {
  char *out = NULL;
  int rc = run_daemon_on(state_dir, cache_dir, &out);
  if (rc == 0 || !strstr(out, says))
    fail_msg("flatlined on %s should refuse, saying '%s'; exit %d, said: %s",
             state_dir, says, rc, out);
  free(out);
}

static void test_state_dir_made_by_another_user_is_refused(void **s) {
  (void)s;
  if (geteuid() != 0) {
    print_message("skipped: needs root to give folders to another uid\n");
    skip();
  }
  char a[256], b[256], c[256], d[256], e[256], cache[256], cmd[600];
  snprintf(cache, sizeof cache, "%s/cache-ok", dir);
  /* Owned by someone else (made in advance, as under /tmp). */
  snprintf(a, sizeof a, "%s/theirs", dir);
  mkdir(a, 0700);
  assert_int_equal(chown(a, STRANGER_UID, STRANGER_UID), 0);
  expect_refused(a, cache, "belongs to uid 65534");
  /* Ours, but writable by the group. */
  snprintf(b, sizeof b, "%s/groupw", dir);
  mkdir(b, 0770);
  chmod(b, 0770);
  expect_refused(b, cache, "writable by other users");
  /* A symbolic link to a folder of ours. */
  snprintf(c, sizeof c, "%s/link", dir);
  assert_int_equal(symlink(b, c), 0);
  expect_refused(c, cache, "symbolic link");
  /* Ours, inside a folder another user could replace it in. */
  snprintf(d, sizeof d, "%s/theirs-open", dir);
  mkdir(d, 0777);
  chmod(d, 0777);
  assert_int_equal(chown(d, STRANGER_UID, STRANGER_UID), 0);
  snprintf(cmd, sizeof cmd, "%s/state", d);
  mkdir(cmd, 0700);
  expect_refused(cmd, cache, "a folder above it");
  /* Its `jobs` entry planted as a link (to a root-only folder). */
  snprintf(e, sizeof e, "%s/planted", dir);
  mkdir(e, 0700);
  snprintf(cmd, sizeof cmd, "%s/jobs", e);
  assert_int_equal(symlink("/root", cmd), 0);
  expect_refused(e, cache, "symbolic link");
  /* The cache dir too: POCL runs the kernels it finds there. */
  snprintf(cmd, sizeof cmd, "%s/state-ok", dir);
  expect_refused(cmd, a, "cache dir");
}

/* A link planted among the blobs (as from a state dir that was not
 * checked before) is not a blob: nothing it points to reaches the user. */
static void test_planted_blob_link_is_not_followed(void **s) {
  (void)s;
  char secret[256], link[512], sha[65];
  snprintf(secret, sizeof secret, "%s/secret", dir);
  write_file("secret", "TOPSECRET,line\n");
  chmod(secret, 0600);
  memset(sha, 'a', 64);
  sha[64] = '\0';
  snprintf(link, sizeof link, "%s/blobs", state);
  mkdir(link, 0750);
  snprintf(link, sizeof link, "%s/blobs/0", state);
  mkdir(link, 0750);
  snprintf(link, sizeof link, "%s/blobs/0/%s", state, sha);
  unlink(link);
  assert_int_equal(symlink(secret, link), 0);
  int fd = raw_connect();
  hello(fd);
  char msg[1024];
  snprintf(msg, sizeof msg,
           "{\"type\":\"check\",\"id\":1,\"spec\":\"{\\\"data\\\":{\\\"train\\\":"
           "{\\\"csv\\\":\\\"s.csv\\\",\\\"label_columns\\\":[\\\"nolabel\\\"]}},"
           "\\\"model\\\":{\\\"layers\\\":[{\\\"type\\\":\\\"dense\\\",\\\"units\\\":2,"
           "\\\"activation\\\":\\\"softmax\\\"}]},\\\"loss\\\":"
           "\\\"sparse_categorical_crossentropy\\\"}\",\"files\":{\"s.csv\":\"%s\"}}",
           sha);
  raw_send_json(fd, msg);
  bool closed;
  assert_true(raw_expect(fd, "\"id\":1", &closed));
  close(fd);
  fd = raw_connect();
  hello(fd);
  raw_send_json(fd, msg);
  assert_false(raw_expect(fd, "TOPSECRET", &closed));
  close(fd);
  unlink(link);
}

/* A blob damaged on the daemon's disk is not trained on (a truncated one
 * once trained silently on part of its rows). */
static void test_damaged_blob_is_refused(void **s) {
  (void)s;
  write_csv("trunc.csv", 320, 4);
  write_spec("trunc", "trunc.csv", 1, 8, 32);
  char *out = NULL, cmd[512], sha[65];
  client("submit trunc.json --follow", &out);
  free(out);
  snprintf(cmd, sizeof cmd, "sha256sum '%s/trunc.csv'", dir);
  FILE *p = popen(cmd, "r");
  assert_int_equal(fscanf(p, "%64s", sha), 1);
  pclose(p);
  snprintf(cmd, sizeof cmd, "truncate -s 2000 '%s/blobs/0/%s'", state, sha);
  assert_int_equal(system(cmd), 0);
  assert_int_not_equal(client("submit trunc.json --follow", &out), 0);
  if (!strstr(out, "damaged")) fail_msg("a truncated blob was used: %s", out);
  free(out);
  /* As the message says: submitting again uploads it afresh. */
  client("submit trunc.json --follow", &out);
  if (strstr(out, "damaged")) fail_msg("the damaged blob stayed: %s", out);
  free(out);
}

/* ---- log injection ---- */

static void test_log_lines_cannot_be_forged(void **s) {
  (void)s;
  /* A header cell with a newline and a journald priority prefix, and no
   * label column by that name: the rejection quotes the header. */
  write_file("evil.csv", "\"a\n<0>flatlined: forged\",label\n1,0\n2,1\n");
  write_file("evil.json",
             "{\"data\": {\"train\": {\"csv\": \"evil.csv\", \"label_columns\": "
             "[\"missing\"]}}, \"model\": {\"layers\": [{\"type\": \"dense\", "
             "\"units\": 2, \"activation\": \"softmax\"}]}, \"loss\": "
             "\"sparse_categorical_crossentropy\", \"epochs\": 1}");
  char *out;
  client("submit evil.json --follow", &out);
  free(out);
  usleep(300000);
  char path[256];
  snprintf(path, sizeof path, "%s/daemon.log", dir);
  char *log = read_all(path);
  for (char *line = log; line && *line;) {
    char *nl = strchr(line, '\n');
    if (nl) *nl = '\0';
    if (strncmp(line, "<0>", 3) == 0) fail_msg("a forged log line: %s", line);
    line = nl ? nl + 1 : NULL;
  }
  free(log);
}

/* ---- config ---- */

static void test_config_ranges_and_reload(void **s) {
  (void)s;
  char *out = NULL;
  /* 2^32 frames was truncated to 0 (every connection dropped). */
  write_file("bad.conf", "follower_max_frames = 4294967296\n");
  char cmd[1024];
  snprintf(cmd, sizeof cmd, "timeout 60 '%s' --socket '%s/bad.sock' --state-dir '%s/bad-state' "
           "--cache-dir '%s/bad-state' --config '%s/bad.conf' 2>&1",
           FLATLINED, dir, dir, dir, dir);
  assert_int_not_equal(run_capture(cmd, &out), 0);
  assert_non_null(strstr(out, "follower_max_frames: expected a whole number of frames from 16 to"));
  free(out);
  /* A key removed from the file takes its default back on SIGHUP. */
  restart_with("max_queued_jobs = 1\n");
  write_spec("slow", "small.csv", 100000, 8, 1);
  assert_int_equal(client("--json submit slow.json", &out), 0);
  char id[32];
  job_id_of(out, id);
  free(out);
  assert_int_not_equal(client("submit small.json", &out), 0);
  assert_non_null(strstr(out, "jobs queued or running"));
  free(out);
  write_file("test.conf", "# no limits here\n");
  kill(daemon_pid, SIGHUP);
  usleep(500000);
  assert_int_equal(client("--json submit small.json", &out), 0);
  free(out);
  char args[64];
  snprintf(args, sizeof args, "cancel %s", id);
  assert_int_equal(client(args, &out), 0);
  free(out);
}

/* ---- storage ---- */

static void test_parallel_uploads_cannot_pass_the_quota(void **s) {
  (void)s;
  restart_with("max_storage_bytes = 2097152\n"); /* 2 MiB */
  const uint32_t size = 1536 * 1024;             /* 1.5 MiB each */
  uint8_t *data = calloc(1, size);
  assert_non_null(data);
  data[0] = 1;
  char sha[65];
  {
    char path[256], cmd[512];
    snprintf(path, sizeof path, "%s/up.bin", dir);
    FILE *f = fopen(path, "wb");
    fwrite(data, 1, size, f);
    fclose(f);
    snprintf(cmd, sizeof cmd, "sha256sum '%s'", path);
    FILE *p = popen(cmd, "r");
    assert_int_equal(fscanf(p, "%64s", sha), 1);
    pclose(p);
  }
  char msg[256];
  snprintf(msg, sizeof msg, "{\"type\":\"blob_put\",\"id\":1,\"sha256\":\"%s\",\"size\":%u}",
           sha, size);
  /* Both announce before either sends a byte. */
  int a = raw_connect(), b = raw_connect();
  hello(a);
  hello(b);
  raw_send_json(a, msg);
  usleep(200000);
  raw_send_json(b, msg);
  bool closed;
  assert_true(raw_expect(b, "storage quota", &closed));
  raw_send(a, 1, data, size);
  assert_true(raw_expect(a, "\"id\":1,\"ok\":true", &closed));
  close(a);
  close(b);
  free(data);
}

static void test_job_files_count_and_checkpoints_go(void **s) {
  (void)s;
  /* Room for a few more files than root has now: a job or two (4 files
   * each once done: spec, job.json, events, model). */
  char *out = NULL, cmd[512], text[128];
  snprintf(cmd, sizeof cmd, "find '%s/blobs/0' '%s/jobs' -type f | wc -l", state, state);
  assert_int_equal(run_capture(cmd, &out), 0);
  long have = atol(out), max = have + 8 < 16 ? 16 : have + 8;
  free(out);
  snprintf(text, sizeof text, "max_storage_files = %ld\n", max);
  restart_with(text);
  int refused = 0, accepted = 0;
  char quota[64];
  snprintf(quota, sizeof quota, "quota of %ld files", max);
  for (int i = 0; i < 8 && !refused; i++) {
    client("--json submit small.json --follow", &out);
    if (strstr(out, quota)) refused++;
    else if (strstr(out, "\"event\":\"end\"")) accepted++;
    free(out);
  }
  assert_true(accepted >= 1);
  assert_int_equal(refused, 1);
  /* Finished jobs keep no checkpoint (only a resume needs one). */
  snprintf(cmd, sizeof cmd, "find '%s/jobs' -name checkpoint.bin | wc -l", state);
  assert_int_equal(run_capture(cmd, &out), 0);
  assert_int_equal(atoi(out), 0);
  free(out);
  restart_with("\n");
}

/* An upload cut by kill -9 leaves its temporary: the next start removes it
 * (it counted against nothing and nothing refers to it). */
static void test_orphan_upload_removed_at_start(void **s) {
  (void)s;
  char path[512];
  snprintf(path, sizeof path, "%s/blobs/0", state);
  mkdir(path, 0750);
  snprintf(path, sizeof path, "%s/blobs/0/.upload-0x1234-7", state);
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fputs("half an upload", f);
  fclose(f);
  stop_daemon(SIGKILL);
  start_daemon(conf);
  assert_int_not_equal(access(path, F_OK), 0);
}

/* ---- connections ---- */

static void test_connection_cap_per_user(void **s) {
  (void)s;
  restart_with("max_connections_per_user = 3\n");
  usleep(500000); /* start_daemon's probe connection is closed by now */
  int fds[3];
  bool closed;
  for (int i = 0; i < 3; i++) {
    fds[i] = raw_connect();
    assert_true(raw_expect(fds[i], "\"hello\"", &closed));
  }
  int extra = raw_connect();
  assert_true(raw_expect(extra, "max_connections_per_user", &closed));
  close(extra);
  char *out = NULL;
  /* Another user is not starved by ours. */
  if (have_other_user()) {
    assert_int_equal(client_as(OTHER_USER, "list", &out), 0);
    free(out);
  } else {
    print_message("(no second user: the other-user half is not run)\n");
  }
  for (int i = 0; i < 3; i++) close(fds[i]);
  usleep(200000);
  assert_int_equal(client("list", &out), 0); /* slots come back */
  free(out);
  restart_with("\n");
}

/* ---- memory ---- */

static void test_gzip_bomb_and_memory_budget(void **s) {
  (void)s;
  char *out = NULL, cmd[1024];
  /* IDX header 65536 x 32 x 32 of zeros: 64 MiB from ~64 KiB of gzip. */
  snprintf(cmd, sizeof cmd,
           "cd '%s' && { printf '\\000\\000\\010\\003\\000\\001\\000\\000\\000\\000\\000\\040"
           "\\000\\000\\000\\040'; head -c 67108864 /dev/zero; } | gzip -1 > bomb.gz && "
           "{ printf '\\000\\000\\010\\001\\000\\001\\000\\000'; head -c 65536 /dev/zero; } > "
           "bomb-labels", dir);
  assert_int_equal(system(cmd), 0);
  write_file("bomb.json",
             "{\"data\": {\"train\": {\"idx_images\": \"bomb.gz\", \"idx_labels\": "
             "\"bomb-labels\"}}, \"model\": {\"layers\": [{\"type\": \"dense\", "
             "\"units\": 2, \"activation\": \"softmax\"}]}, \"loss\": "
             "\"sparse_categorical_crossentropy\", \"epochs\": 1}");
  client("check bomb.json", &out);
  if (!strstr(out, "inflate") && !strstr(out, "times its size"))
    fail_msg("a gzip bomb should be refused naming the ratio; check said: %s", out);
  free(out);
  /* A load larger than the whole budget is refused, naming the key. */
  restart_with("load_memory_bytes = 16777216\n");
  write_csv("wide.csv", 4000, 400); /* ~9 MB of text */
  write_spec("wide", "wide.csv", 1, 8, 32);
  client("check wide.json", &out);
  if (!strstr(out, "load_memory_bytes"))
    fail_msg("a load past the budget should name load_memory_bytes; said: %s", out);
  free(out);
  restart_with("\n");
}

/* A CPU device's memory is the machine's RAM: jobs get a share of it
 * (cpu_memory_percent), and a model past the share is rejected before it
 * starts (a 2 x 30949-unit model was accepted with all of RAM offered). */
static void test_cpu_device_offers_a_share_of_ram(void **s) {
  (void)s;
  char *out = NULL;
  assert_int_equal(client("--json devices", &out), 0);
  bool cpu = strstr(out, "\"type\":\"cpu\"") != NULL;
  free(out);
  if (!cpu) {
    print_message("skipped: the daemon's device is not a CPU\n");
    skip();
  }
  restart_with("cpu_memory_percent = 1\n");
  /* 2 x 8192 units: ~67M weights, with gradients and Adam's moments
   * about 1 GiB; 1% of any machine's RAM that runs these tests is less. */
  {
    char text[1024];
    snprintf(text, sizeof text,
             "{\"name\": \"huge\", \"data\": {\"train\": {\"csv\": \"small.csv\", "
             "\"label_columns\": [\"label\"]}}, \"model\": {\"layers\": ["
             "{\"type\": \"dense\", \"units\": 8192, \"activation\": \"relu\"}, "
             "{\"type\": \"dense\", \"units\": 8192, \"activation\": \"relu\"}, "
             "{\"type\": \"dense\", \"units\": 3, \"activation\": \"softmax\"}]}, "
             "\"loss\": \"sparse_categorical_crossentropy\", \"epochs\": 1}");
    write_file("huge2.json", text);
  }
  assert_int_not_equal(client("submit huge2.json --follow", &out), 0);
  if (!strstr(out, "device_out_of_memory"))
    fail_msg("a model past the CPU's share of RAM should be rejected: %s", out);
  free(out);
  restart_with("\n");
}

/* ---- streams of any length ---- */

static void test_export_over_the_queue_cap(void **s) {
  (void)s;
  /* 2100 x 1100 float32 kernel: 9.2 MB, over the 8 MiB per-client queue. */
  write_csv("wide2.csv", 64, 2100);
  write_spec("big", "wide2.csv", 1, 1100, 32);
  char *out = NULL;
  client("--json submit big.json --follow", &out); /* 0, or 3 if diagnosed */
  char id[32], args[128];
  job_id_of(out, id);
  free(out);
  snprintf(args, sizeof args, "export %s -o big.safetensors", id);
  int rc = client(args, &out);
  if (rc != 0) fail_msg("export failed: %s", out);
  free(out);
  char path[256];
  snprintf(path, sizeof path, "%s/big.safetensors", dir);
  struct stat st;
  assert_int_equal(stat(path, &st), 0);
  assert_true(st.st_size > 9000000);
}

static void test_replay_of_hundreds_of_events(void **s) {
  (void)s;
  /* 400 one-step epochs: more lines than a follower's 256-frame queue. */
  write_spec("many", "small.csv", 400, 8, 300);
  char *out = NULL;
  client("--json submit many.json --follow", &out); /* 0, or 3 if diagnosed */
  char id[32], args[128];
  job_id_of(out, id);
  free(out);
  snprintf(args, sizeof args, "--json follow %s", id);
  client(args, &out);
  assert_int_equal(count(out, "\"event\":\"epoch\""), 400);
  assert_int_equal(count(out, "\"event\":\"end\""), 1);
  free(out);
  /* 20 follows of the ended job on one connection: each ends and frees
   * its slot (16 at once are allowed). */
  int fd = raw_connect();
  hello(fd);
  bool closed;
  for (int i = 1; i <= 20; i++) {
    char msg[128], want[64];
    snprintf(msg, sizeof msg, "{\"type\":\"follow\",\"id\":%d,\"job\":\"%s\"}", i, id);
    raw_send_json(fd, msg);
    snprintf(want, sizeof want, "\"id\":%d,\"ok\":true", i);
    assert_true(raw_expect_for(fd, want, &closed, 30));
    assert_true(raw_expect_for(fd, "\"event\":\"end\"", &closed, 30));
  }
  close(fd);
}

static void test_list_in_pages(void **s) {
  (void)s;
  int fd = raw_connect();
  hello(fd);
  raw_send_json(fd, "{\"type\":\"list\",\"id\":1,\"limit\":2}");
  bool closed;
  assert_true(raw_expect(fd, "\"next\":\"j2\"", &closed));
  raw_send_json(fd, "{\"type\":\"list\",\"id\":2,\"after\":\"j2\",\"limit\":1}");
  assert_true(raw_expect(fd, "\"next\":\"j3\"", &closed));
  raw_send_json(fd, "{\"type\":\"list\",\"id\":3,\"after\":\"j999999\"}");
  assert_true(raw_expect(fd, "\"jobs\":[],\"next\":null", &closed));
  close(fd);
  /* The client pages through all of them. */
  char *out = NULL;
  assert_int_equal(client("--json list", &out), 0);
  assert_true(count(out, "\"event\":\"job\"") >= 3);
  free(out);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_state_dir_made_by_another_user_is_refused),
      cmocka_unit_test(test_planted_blob_link_is_not_followed),
      cmocka_unit_test(test_damaged_blob_is_refused),
      cmocka_unit_test(test_log_lines_cannot_be_forged),
      cmocka_unit_test(test_config_ranges_and_reload),
      cmocka_unit_test(test_parallel_uploads_cannot_pass_the_quota),
      cmocka_unit_test(test_job_files_count_and_checkpoints_go),
      cmocka_unit_test(test_orphan_upload_removed_at_start),
      cmocka_unit_test(test_connection_cap_per_user),
      cmocka_unit_test(test_gzip_bomb_and_memory_budget),
      cmocka_unit_test(test_cpu_device_offers_a_share_of_ram),
      cmocka_unit_test(test_export_over_the_queue_cap),
      cmocka_unit_test(test_replay_of_hundreds_of_events),
      cmocka_unit_test(test_list_in_pages),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
