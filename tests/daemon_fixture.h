/* tests/daemon_fixture.h — what the end-to-end tests of the service share:
 * a temporary dir, the real flatlined started on a socket in it, the real
 * client run (as root or as a second Unix user), test data and specs, and
 * the raw protocol for hostile clients. One test program includes it once
 * (its functions are static) after <cmocka.h>, whose asserts they use;
 * the program's setup fills dir, sock and state. */
#ifndef FL_TESTS_DAEMON_FIXTURE_H
#define FL_TESTS_DAEMON_FIXTURE_H

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
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

#include "run_capture.h"

#define FLATLINED FL_BINARY_DIR "/flatlined"
#define FLATLINE FL_BINARY_DIR "/flatline"
#define OTHER_USER "fltest2"

static char dir[64], sock[128], state[128];
static pid_t daemon_pid = -1;

/* A client command that hangs (a follow that never ends) fails its test
 * instead of stopping the run; the longest one here takes seconds. */
#define CLIENT_TIMEOUT_S 300

static inline int count(const char *text, const char *what) {
  int n = 0;
  for (const char *p = strstr(text, what); p; p = strstr(p + 1, what)) n++;
  return n;
}

static inline double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static inline void write_file(const char *name, const char *text) {
  char path[256];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fputs(text, f);
  fclose(f);
  chmod(path, 0644);
}

/* rows of 3 well-separated classes in `feat` features. */
static inline void write_csv(const char *name, int rows, int feat) {
  char path[256];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  for (int j = 0; j < feat; j++) fprintf(f, "f%d,", j);
  fprintf(f, "label\n");
  unsigned s = 7;
  for (int r = 0; r < rows; r++) {
    int c = r % 3;
    for (int j = 0; j < feat; j++) {
      s = s * 1103515245u + 12345u;
      fprintf(f, "%.3f,", (double)((s >> 16) % 1000) / 1000.0 + (j % 3 == c ? 2.0 : 0.0));
    }
    fprintf(f, "%d\n", c);
  }
  fclose(f);
  chmod(path, 0644);
}

static inline void write_spec(const char *name, const char *csv, int epochs, int units,
                       int batch) {
  char text[1024];
  snprintf(text, sizeof text,
           "{\"name\": \"%s\", \"data\": {\"train\": {\"csv\": \"%s\", "
           "\"label_columns\": [\"label\"]}, \"validation_split\": 0.2}, "
           "\"model\": {\"layers\": [{\"type\": \"dense\", \"units\": %d, "
           "\"activation\": \"relu\"}, {\"type\": \"dense\", \"units\": 3, "
           "\"activation\": \"softmax\"}]}, \"loss\": "
           "\"sparse_categorical_crossentropy\", \"optimizer\": \"adam\", "
           "\"epochs\": %d, \"batch_size\": %d, \"seed\": 5}",
           name, csv, units, epochs, batch);
  char file[128];
  snprintf(file, sizeof file, "%s.json", name);
  write_file(file, text);
}

static inline bool can_connect(void) {
  int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  snprintf(sa.sun_path, sizeof sa.sun_path, "%s", sock);
  bool ok = connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0;
  close(fd);
  return ok;
}

/* Starts flatlined on sock and state (cache_dir: state when NULL) with
 * config, and FL_FAULT=fault in its environment when fault is not NULL
 * (daemon/fsutil.h's fault hook); waits until it listens. */
static inline void start_daemon_ex(const char *config, const char *cache_dir,
                                   const char *fault) {
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    char log[256];
    snprintf(log, sizeof log, "%s/daemon.log", dir);
    int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
    dup2(fd, 2);
    dup2(fd, 1);
    if (fault) setenv("FL_FAULT", fault, 1);
    else unsetenv("FL_FAULT");
    execl(FLATLINED, FLATLINED, "--socket", sock, "--state-dir", state,
          "--cache-dir", cache_dir ? cache_dir : state, "--socket-mode", "0666",
          "--config", config ? config : "/dev/null", (char *)NULL);
    _exit(127);
  }
  daemon_pid = pid;
  /* A killed daemon leaves its socket file: wait for a live listener. */
  for (int i = 0; i < 600; i++) { /* up to 60 s: device warm-up */
    if (can_connect()) return;
    int status;
    if (waitpid(pid, &status, WNOHANG) == pid) {
      daemon_pid = -1;
      fail_msg("flatlined (FL_FAULT=%s) exited at start; see %s/daemon.log",
               fault ? fault : "", dir);
    }
    usleep(100000);
  }
  fail_msg("flatlined did not create %s", sock);
}

static inline void start_daemon(const char *config) { start_daemon_ex(config, NULL, NULL); }

/* Send sig and return the daemon's exit status (-1 if killed). */
static inline int stop_daemon(int sig) {
  if (daemon_pid < 0) return 0;
  kill(daemon_pid, sig);
  int status = 0;
  waitpid(daemon_pid, &status, 0);
  daemon_pid = -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* Run the client (as `user` when not NULL); output in *out. */
static inline int client_as(const char *user, const char *args, char **out) {
  char cmd[2048];
  if (user)
    snprintf(cmd, sizeof cmd, "cd '%s' && timeout %d runuser -u %s -- '%s' --socket '%s' %s 2>&1",
             dir, CLIENT_TIMEOUT_S, user, FLATLINE, sock, args);
  else
    snprintf(cmd, sizeof cmd, "cd '%s' && timeout %d '%s' --socket '%s' %s 2>&1", dir,
             CLIENT_TIMEOUT_S, FLATLINE, sock, args);
  return run_capture(cmd, out);
}

static inline int client(const char *args, char **out) { return client_as(NULL, args, out); }
/* client() with the arguments formatted as printf does. */
static inline int client_fmt(const char *fmt, char **out, ...) __attribute__((format(printf, 1, 3)));
static inline int client_fmt(const char *fmt, char **out, ...) {
  char cmd[1024];
  va_list ap;
  va_start(ap, out);
  vsnprintf(cmd, sizeof cmd, fmt, ap);
  va_end(ap);
  return client(cmd, out);
}

/* The job id from `flatline --json submit` output. */
static inline void job_id_of(const char *out, char id[32]) {
  const char *p = strstr(out, "\"job\":\"");
  assert_non_null(p);
  p += strlen("\"job\":\"");
  size_t n = strcspn(p, "\"");
  assert_true(n > 0 && n < 32);
  memcpy(id, p, n);
  id[n] = '\0';
}

static inline double last_number(const char *out, const char *key) {
  char pat[64];
  snprintf(pat, sizeof pat, "\"%s\":", key);
  const char *last = NULL;
  for (const char *p = strstr(out, pat); p; p = strstr(p + 1, pat)) last = p;
  return last ? strtod(last + strlen(pat), NULL) : NAN;
}

/* ---- raw protocol ---- */

static inline int raw_connect(void) {
  int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  snprintf(sa.sun_path, sizeof sa.sun_path, "%s", sock);
  assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
  return fd;
}

static inline void raw_send(int fd, uint8_t kind, const void *data, uint32_t len) {
  uint8_t h[5] = {(uint8_t)(len >> 24), (uint8_t)(len >> 16), (uint8_t)(len >> 8),
                  (uint8_t)len, kind};
  /* A hostile frame may be refused (and the connection closed) as soon as
   * its header arrives: a failing payload send is fine here. */
  if (send(fd, h, 5, MSG_NOSIGNAL) != 5) return;
  if (len) (void)send(fd, data, len, MSG_NOSIGNAL);
}

static inline void raw_send_json(int fd, const char *json) {
  raw_send(fd, 0, json, (uint32_t)strlen(json));
}

/* Read frames until one contains `want` or the peer closes (timeout 10 s).
 * Returns 1 found, 0 closed without it. */
static inline int raw_expect_for(int fd, const char *want, bool *closed, double seconds) {
  static char buf[1 << 16];
  size_t have = 0;
  double until = now() + seconds;
  *closed = false;
  while (now() < until) {
    struct pollfd p = {fd, POLLIN, 0};
    if (poll(&p, 1, 200) <= 0) continue;
    ssize_t n = recv(fd, buf + have, sizeof buf - 1 - have, 0);
    if (n <= 0) {
      *closed = true;
      buf[have] = '\0';
      return have && memmem(buf, have, want, strlen(want)) ? 1 : 0;
    }
    have += (size_t)n;
    if (memmem(buf, have, want, strlen(want))) return 1;
    if (have > sizeof buf / 2) {
      /* keep the tail: `want` may straddle the cut */
      memmove(buf, buf + have - 256, 256);
      have = 256;
    }
  }
  return 0;
}

static inline int raw_expect(int fd, const char *want, bool *closed) {
  return raw_expect_for(fd, want, closed, 10);
}

static inline void hello(int fd) {
  raw_send_json(fd, "{\"type\":\"hello\",\"protocol\":1,\"build\":\"test\"}");
}

/* The start of a test program: dir = /tmp/fl-NAME-XXXXXX (0755, so that
 * a second user reaches the socket), sock and state in it, and conf (when
 * given) = DIR/test.conf for start_daemon. 0, or -1 when it cannot be made. */
static inline int make_test_dir(const char *name, char *conf, size_t conf_size) {
  snprintf(dir, sizeof dir, "/tmp/fl-%s-XXXXXX", name);
  if (!mkdtemp(dir)) return -1;
  chmod(dir, 0755);
  snprintf(sock, sizeof sock, "%s/flatline.sock", dir);
  snprintf(state, sizeof state, "%s/state", dir);
  if (conf) snprintf(conf, conf_size, "%s/test.conf", dir);
  return 0;
}

/* The end of a test program: the daemon stopped with sig (0: already
 * stopped), the temporary dir removed unless FL_KEEP_TEST_DIR is set
 * (then its path is printed, to look at the daemon's log and state). */
static inline int remove_test_dir(int sig) {
  if (sig) stop_daemon(sig);
  if (getenv("FL_KEEP_TEST_DIR")) {
    fprintf(stderr, "# kept %s\n", dir);
    return 0;
  }
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  return system(cmd) == 0 ? 0 : -1;
}

/* A second Unix user (root only: made once with useradd) for the
 * isolation tests, run through runuser. */
static inline bool have_other_user(void) {
  if (geteuid() != 0) return false;
  if (system("id -u " OTHER_USER " >/dev/null 2>&1") != 0 &&
      system("useradd --system --no-create-home --shell /usr/sbin/nologin " OTHER_USER
             " >/dev/null 2>&1") != 0)
    return false;
  return system("command -v runuser >/dev/null") == 0;
}

#endif
