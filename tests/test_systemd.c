/* tests/test_systemd.c — flatline under systemd: the notify datagram
 * (READY=1, STATUS=) arriving on a NOTIFY_SOCKET the test listens on, path
 * and abstract; the socket-activation hand-over (fd 3, FD_CLOEXEC, LISTEN_*
 * cleared), in-process and end to end through `systemd-socket-activate`;
 * the watchdog interval; the real flatlined under socket activation,
 * telling a NOTIFY_SOCKET READY=1, WATCHDOG=1 and STOPPING=1;
 * `systemd-analyze verify` on the unit files as installed; and the
 * sysusers.d entry through `systemd-sysusers --root`.
 * Parts that need a systemd tool skip, saying so, when it is missing. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
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

#include "skip.h"

#include "run_capture.h"

#include "flatline/common.h"
#include "sd.h"

static char dir[64];

static int setup(void **state) {
  (void)state;
  snprintf(dir, sizeof dir, "/tmp/fl-systemd-XXXXXX");
  return mkdtemp(dir) ? 0 : -1;
}

/* rm -rf without a shell: the skip tests run with a PATH lacking tools. */
static int remove_tree(const char *path) {
  struct stat st;
  if (lstat(path, &st) != 0)
    return -1;
  if (S_ISDIR(st.st_mode)) {
    DIR *d = opendir(path);
    if (!d)
      return -1;
    struct dirent *e;
    while ((e = readdir(d))) {
      if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
        continue;
      char child[512];
      snprintf(child, sizeof child, "%s/%s", path, e->d_name);
      remove_tree(child);
    }
    closedir(d);
    return rmdir(path);
  }
  return unlink(path);
}

static int teardown(void **state) {
  (void)state;
  return remove_tree(dir);
}

static void sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

/* Whether an executable called name is on $PATH; its full path in out. */
static int find_tool(const char *name, char *out, size_t size) {
  const char *path = getenv("PATH");
  if (!path)
    path = "/usr/bin:/bin";
  while (*path) {
    size_t len = strcspn(path, ":");
    snprintf(out, size, "%.*s/%s", (int)len, path, name);
    if (len > 0 && access(out, X_OK) == 0)
      return 1;
    path += len + (path[len] == ':');
  }
  return 0;
}

#define REQUIRE_TOOL(name, buf)                                             \
  do {                                                                      \
    if (!find_tool(name, buf, sizeof buf)) {                                \
      FL_SKIP("%s is not installed (Debian: apt-get install systemd)",       \
              name);                                                        \
    }                                                                       \
  } while (0)

/* Runs a shell command; returns its exit status and its stdout+stderr in
 * *out (malloc'd, NUL-terminated). */
static int run_merged(const char *cmd, char **out) {
  char full[2048];
  snprintf(full, sizeof full, "%s 2>&1", cmd);
  return run_capture(full, out);
}

static char *read_text(const char *path) {
  FILE *f = fopen(path, "r");
  if (!f)
    return NULL;
  size_t cap = 1 << 16;
  char *buf = malloc(cap);
  assert_non_null(buf);
  size_t len = fread(buf, 1, cap - 1, f);
  assert_true(len < cap - 1);   /* unit files are far smaller */
  buf[len] = '\0';
  fclose(f);
  return buf;
}

static void write_text(const char *path, const char *text) {
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  assert_int_equal(fputs(text, f) >= 0, 1);
  assert_int_equal(fclose(f), 0);
}

/* ---- fl_sd_notify ------------------------------------------------------ */

/* A datagram socket bound to a path, or to an abstract name when name
 * starts with '@' (the NOTIFY_SOCKET convention). */
static int bind_notify_socket(const char *name) {
  struct sockaddr_un addr;
  memset(&addr, 0, sizeof addr);
  addr.sun_family = AF_UNIX;
  size_t len = strlen(name);
  assert_true(len < sizeof addr.sun_path);
  memcpy(addr.sun_path, name, len);
  socklen_t addr_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len);
  if (name[0] == '@')
    addr.sun_path[0] = '\0';
  else
    addr_len++;
  int sock = socket(AF_UNIX, SOCK_DGRAM, 0);
  assert_true(sock >= 0);
  assert_int_equal(bind(sock, (struct sockaddr *)&addr, addr_len), 0);
  return sock;
}

/* Receives one datagram (waiting up to 5 s) into buf as a string. */
static void receive_datagram(int sock, char *buf, size_t size) {
  struct pollfd pfd = {.fd = sock, .events = POLLIN};
  assert_int_equal(poll(&pfd, 1, 5000), 1);
  ssize_t n = recv(sock, buf, size - 1, 0);
  assert_true(n >= 0);
  buf[n] = '\0';
}

static void expect_notify_arrives(const char *name) {
  int sock = bind_notify_socket(name);
  assert_int_equal(setenv("NOTIFY_SOCKET", name, 1), 0);
  assert_int_equal(fl_sd_notify("READY=1\nSTATUS=x"), 0);
  char got[256];
  receive_datagram(sock, got, sizeof got);
  assert_string_equal(got, "READY=1\nSTATUS=x");
  /* NOTIFY_SOCKET stays: the daemon sends more than once. */
  assert_int_equal(fl_sd_notify("STATUS=training job 7, epoch 3/20"), 0);
  receive_datagram(sock, got, sizeof got);
  assert_string_equal(got, "STATUS=training job 7, epoch 3/20");
  unsetenv("NOTIFY_SOCKET");
  close(sock);
}

static void test_notify_path_socket(void **state) {
  (void)state;
  char path[128];
  snprintf(path, sizeof path, "%s/notify", dir);
  expect_notify_arrives(path);
  unlink(path);
}

static void test_notify_abstract_socket(void **state) {
  (void)state;
  char name[96];
  snprintf(name, sizeof name, "@fl-systemd-test-%ld-%ld", (long)getpid(),
           (long)time(NULL));
  expect_notify_arrives(name);
}

static void test_notify_without_systemd(void **state) {
  (void)state;
  unsetenv("NOTIFY_SOCKET");
  assert_int_equal(fl_sd_notify("READY=1"), 0);
  setenv("NOTIFY_SOCKET", "", 1);
  assert_int_equal(fl_sd_notify("READY=1"), 0);
  unsetenv("NOTIFY_SOCKET");
}

static void test_notify_errors(void **state) {
  (void)state;
  char path[128];
  snprintf(path, sizeof path, "%s/nobody-listens", dir);
  setenv("NOTIFY_SOCKET", path, 1);
  assert_int_equal(fl_sd_notify("READY=1"), FL_EIO);
  assert_int_equal(fl_sd_notify(""), FL_EINVAL);
  assert_int_equal(fl_sd_notify(NULL), FL_EINVAL);
  setenv("NOTIFY_SOCKET", "relative/path", 1);
  assert_int_equal(fl_sd_notify("READY=1"), FL_EINVAL);
  setenv("NOTIFY_SOCKET", "@", 1);
  assert_int_equal(fl_sd_notify("READY=1"), FL_EINVAL);
  char too_long[256];
  memset(too_long, 'x', sizeof too_long - 1);
  too_long[0] = '/';
  too_long[sizeof too_long - 1] = '\0';
  setenv("NOTIFY_SOCKET", too_long, 1);
  assert_int_equal(fl_sd_notify("READY=1"), FL_EINVAL);
  unsetenv("NOTIFY_SOCKET");
}

/* ---- fl_sd_listen_fd --------------------------------------------------- */

static void set_listen_env(long pid, const char *count) {
  char text[32];
  snprintf(text, sizeof text, "%ld", pid);
  assert_int_equal(setenv("LISTEN_PID", text, 1), 0);
  assert_int_equal(setenv("LISTEN_FDS", count, 1), 0);
  assert_int_equal(setenv("LISTEN_FDNAMES", "flatline", 1), 0);
}

static void assert_listen_env_cleared(void) {
  assert_null(getenv("LISTEN_PID"));
  assert_null(getenv("LISTEN_FDS"));
  assert_null(getenv("LISTEN_FDNAMES"));
}

static void test_listen_fd(void **state) {
  (void)state;
  /* Put a real listening socket on fd 3 as systemd does, keeping whatever
   * the test process had there. */
  int saved3 = fcntl(3, F_GETFD) >= 0 ? dup(3) : -1;
  int sock = socket(AF_UNIX, SOCK_STREAM, 0);
  assert_true(sock >= 0);
  if (sock != 3) {
    assert_int_equal(dup2(sock, 3), 3);
    close(sock);
  }
  assert_int_equal(fcntl(3, F_GETFD) & FD_CLOEXEC, 0);

  set_listen_env((long)getpid(), "1");
  assert_int_equal(fl_sd_listen_fd(), 3);
  assert_int_equal(fcntl(3, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
  assert_listen_env_cleared();
  /* The variables are gone, so a second call finds nothing. */
  assert_int_equal(fl_sd_listen_fd(), -1);

  /* Meant for another process (our parent, say): not ours, still cleared. */
  set_listen_env((long)getpid() + 1, "1");
  assert_int_equal(fl_sd_listen_fd(), -1);
  assert_listen_env_cleared();

  set_listen_env((long)getpid(), "0");
  assert_int_equal(fl_sd_listen_fd(), -1);
  set_listen_env((long)getpid(), "1x");
  assert_int_equal(fl_sd_listen_fd(), -1);
  set_listen_env((long)getpid(), "-1");
  assert_int_equal(fl_sd_listen_fd(), -1);
  set_listen_env((long)getpid(), "99999999999999999999");
  assert_int_equal(fl_sd_listen_fd(), -1);
  unsetenv("LISTEN_PID");
  setenv("LISTEN_FDS", "1", 1);
  assert_int_equal(fl_sd_listen_fd(), -1);
  assert_listen_env_cleared();

  /* Several fds (a unit with two ListenStream=): the first is returned,
   * all get FD_CLOEXEC, and a count beyond the open fds stops there. */
  int saved4 = fcntl(4, F_GETFD) >= 0 ? dup(4) : -1;
  assert_int_equal(dup2(3, 4), 4);
  assert_int_equal(fcntl(3, F_SETFD, 0), 0);
  set_listen_env((long)getpid(), "2");
  assert_int_equal(fl_sd_listen_fd(), 3);
  assert_int_equal(fcntl(3, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
  assert_int_equal(fcntl(4, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
  close(4);
  if (saved4 >= 0) {
    dup2(saved4, 4);
    close(saved4);
  } else {
    set_listen_env((long)getpid(), "1000000");
    assert_int_equal(fl_sd_listen_fd(), 3);
  }

  /* The environment claims an fd that is not open. */
  close(3);
  set_listen_env((long)getpid(), "1");
  assert_int_equal(fl_sd_listen_fd(), -1);

  if (saved3 >= 0) {
    dup2(saved3, 3);
    close(saved3);
  }
}

/* ---- fl_sd_watchdog_usec ----------------------------------------------- */

static void test_watchdog_usec(void **state) {
  (void)state;
  char pid[32];
  unsetenv("WATCHDOG_PID");
  unsetenv("WATCHDOG_USEC");
  assert_int_equal(fl_sd_watchdog_usec(), 0);

  setenv("WATCHDOG_USEC", "30000000", 1);   /* WatchdogSec=30s */
  assert_int_equal(fl_sd_watchdog_usec(), 30000000);
  snprintf(pid, sizeof pid, "%ld", (long)getpid());
  setenv("WATCHDOG_PID", pid, 1);
  assert_int_equal(fl_sd_watchdog_usec(), 30000000);
  snprintf(pid, sizeof pid, "%ld", (long)getpid() + 1);
  setenv("WATCHDOG_PID", pid, 1);
  assert_int_equal(fl_sd_watchdog_usec(), 0);
  setenv("WATCHDOG_PID", "abc", 1);
  assert_int_equal(fl_sd_watchdog_usec(), 0);

  unsetenv("WATCHDOG_PID");
  setenv("WATCHDOG_USEC", "0", 1);
  assert_int_equal(fl_sd_watchdog_usec(), 0);
  setenv("WATCHDOG_USEC", "30s", 1);
  assert_int_equal(fl_sd_watchdog_usec(), 0);
  setenv("WATCHDOG_USEC", "18446744073709551616", 1);   /* 2^64 */
  assert_int_equal(fl_sd_watchdog_usec(), 0);
  unsetenv("WATCHDOG_USEC");
}

/* ---- socket activation end to end -------------------------------------- */

/* Connects to a Unix stream socket, retrying while it does not exist yet;
 * -1 after 10 s. */
static int connect_when_ready(const char *path) {
  struct sockaddr_un addr;
  memset(&addr, 0, sizeof addr);
  addr.sun_family = AF_UNIX;
  assert_true(strlen(path) < sizeof addr.sun_path);
  memcpy(addr.sun_path, path, strlen(path) + 1);
  for (int tries = 0; tries < 500; tries++) {
    int sock = socket(AF_UNIX, SOCK_STREAM, 0);
    assert_true(sock >= 0);
    if (connect(sock, (struct sockaddr *)&addr, sizeof addr) == 0)
      return sock;
    close(sock);
    if (errno != ENOENT && errno != ECONNREFUSED)
      return -1;
    sleep_ms(20);
  }
  return -1;
}

/* Waits up to 10 s for pid; kills it after that. Returns its wait status,
 * or -1 when it had to be killed. */
/* Waits up to `seconds` for pid to exit, then kills it: -1 then. */
static int wait_or_kill(pid_t pid, int seconds) {
  int status;
  for (int tries = 0; tries < seconds * 50; tries++) {
    pid_t done = waitpid(pid, &status, WNOHANG);
    if (done == pid)
      return status;
    sleep_ms(20);
  }
  kill(pid, SIGKILL);
  waitpid(pid, &status, 0);
  return -1;
}

static void test_socket_activation(void **state) {
  (void)state;
  char tool[512];
  REQUIRE_TOOL("systemd-socket-activate", tool);
  assert_int_equal(access(FL_SD_PROBE, X_OK), 0);

  char sock_path[128];
  snprintf(sock_path, sizeof sock_path, "%s/activate.sock", dir);
  /* systemd-socket-activate binds the socket, waits for a connection, then
   * execs the probe in its own process with LISTEN_PID/LISTEN_FDS set. */
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    execl(tool, "systemd-socket-activate", "-l", sock_path, FL_SD_PROBE,
          (char *)NULL);
    _exit(127);
  }
  int conn = connect_when_ready(sock_path);
  if (conn < 0) {
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    fail_msg("could not connect to %s", sock_path);
  }
  char reply[128];
  size_t len = 0;
  for (;;) {
    struct pollfd pfd = {.fd = conn, .events = POLLIN};
    if (poll(&pfd, 1, 10000) != 1)
      break;
    ssize_t n = read(conn, reply + len, sizeof reply - 1 - len);
    if (n <= 0)
      break;
    len += (size_t)n;
  }
  reply[len] = '\0';
  close(conn);
  int status = wait_or_kill(pid, 10);
  print_message("probe answered: %s", len ? reply : "(nothing)\n");
  assert_string_equal(reply, "ok fd=3\n");
  assert_true(status != -1 && WIFEXITED(status));
  assert_int_equal(WEXITSTATUS(status), 0);
}

/* The real daemon, the way flatlined.socket/.service start it: socket
 * activation, NOTIFY_SOCKET, WATCHDOG_USEC, STATE_DIRECTORY and
 * CACHE_DIRECTORY (systemd-socket-activate passes only what -E names). It
 * must say READY=1, ping the watchdog, and on SIGTERM say STOPPING=1 and
 * exit 0. Needs the built flatlined and an OpenCL device (POCL will do). */
static void test_daemon_under_activation(void **state) {
  (void)state;
  char tool[512];
  REQUIRE_TOOL("systemd-socket-activate", tool);
  if (access(FL_FLATLINED, X_OK) != 0) {
    FL_SKIP("%s is not built yet", FL_FLATLINED);
  }
  char notify[128], sock_path[128], log_path[128];
  char env_notify[160], env_state[160], env_cache[160];
  snprintf(notify, sizeof notify, "%s/daemon-notify", dir);
  snprintf(sock_path, sizeof sock_path, "%s/daemon.sock", dir);
  snprintf(log_path, sizeof log_path, "%s/daemon.log", dir);
  snprintf(env_notify, sizeof env_notify, "NOTIFY_SOCKET=%s", notify);
  snprintf(env_state, sizeof env_state, "STATE_DIRECTORY=%s/state", dir);
  snprintf(env_cache, sizeof env_cache, "CACHE_DIRECTORY=%s/cache", dir);
  int notify_sock = bind_notify_socket(notify);
  assert_int_equal(fcntl(notify_sock, F_SETFD, FD_CLOEXEC), 0);

  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    int log_fd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (log_fd < 0 || dup2(log_fd, 1) < 0 || dup2(log_fd, 2) < 0)
      _exit(127);
    /* The sanitizer pass's options (leak suppressions for POCL) must reach
     * the daemon too; -E NAME passes NAME on from our environment. */
    execl(tool, "systemd-socket-activate", "-l", sock_path, "-E", env_notify,
          "-E", "WATCHDOG_USEC=2000000", "-E", env_state, "-E", env_cache,
          "-E", "ASAN_OPTIONS", "-E", "LSAN_OPTIONS", "-E", "UBSAN_OPTIONS",
          FL_FLATLINED, (char *)NULL);
    _exit(127);
  }
  /* The first connection makes systemd-socket-activate exec the daemon. */
  int conn = connect_when_ready(sock_path);

  /* Datagrams until READY=1 and a watchdog ping (WatchdogSec=2s here, so
   * one within a second of READY), or the daemon exits, or 60 s. */
  int ready = 0, watchdog = 0, exited = 0, status = 0;
  char got[512];
  for (int waited_ms = 0; waited_ms < 60000 && !(ready && watchdog);) {
    struct pollfd pfd = {.fd = notify_sock, .events = POLLIN};
    int n = poll(&pfd, 1, 200);
    waited_ms += 200;
    if (n == 1) {
      ssize_t len = recv(notify_sock, got, sizeof got - 1, 0);
      assert_true(len >= 0);
      got[len] = '\0';
      print_message("daemon notified: %s\n", got);
      ready |= strstr(got, "READY=1") != NULL;
      watchdog |= strstr(got, "WATCHDOG=1") != NULL;
    } else if (waitpid(pid, &status, WNOHANG) == pid) {
      exited = 1;
      break;
    }
  }
  if (!exited) {
    kill(pid, SIGTERM);
    /* STOPPING=1 comes first, then the exit. */
    int stopping = 0;
    for (int tries = 0; tries < 100 && !stopping; tries++) {
      struct pollfd pfd = {.fd = notify_sock, .events = POLLIN};
      if (poll(&pfd, 1, 100) == 1) {
        ssize_t len = recv(notify_sock, got, sizeof got - 1, 0);
        assert_true(len >= 0);
        got[len] = '\0';
        stopping |= strstr(got, "STOPPING=1") != NULL;
      }
    }
    /* A SIGTERM that arrives while the device is still being set up
     * (POCL compiling the kernels, which cannot be interrupted) waits for
     * that to end: over 10 s under the sanitizers on a 2-core machine
     * (one CI run). systemd's stop timeout is 90 s. */
    status = wait_or_kill(pid, 60);
    assert_true(stopping);
  }
  if (conn >= 0)
    close(conn);
  close(notify_sock);
  char *log = read_text(log_path);
  print_message("daemon log:\n%s", log ? log : "(none)\n");
  int no_device = log && strstr(log, "no OpenCL device");
  free(log);
  if (!ready && no_device) {
    FL_SKIP("the daemon found no OpenCL device");
  }
  assert_true(conn >= 0);
  assert_true(ready);
  assert_true(watchdog);
  assert_true(status != -1 && WIFEXITED(status));
  assert_int_equal(WEXITSTATUS(status), 0);
}

/* ---- systemd-analyze verify -------------------------------------------- */

/* Lines systemd-analyze prints because of where the test runs (a container
 * without a systemd-managed cgroup tree), not because of the unit files. */
static int is_environmental(const char *line) {
  static const char *const known[] = {
      "cgroup", "control group", "Command 'man ",
  };
  for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
    if (strstr(line, known[i]))
      return 1;
  return 0;
}

/* Runs `systemd-analyze [--user] verify` on unit files in unit_dir; returns
 * how many lines of its output point at a real problem (printing them);
 * -1 when systemd-analyze could not run at all here. */
static int verify_units(const char *tool, const char *unit_dir, int user,
                        const char *const *units) {
  /* A user manager wants $XDG_RUNTIME_DIR; give it a private one, so the
   * test neither needs a login session nor writes into a real one. */
  char runtime[128], cmd[1536];
  snprintf(runtime, sizeof runtime, "%s/runtime", unit_dir);
  mkdir(runtime, 0700);
  int len = snprintf(cmd, sizeof cmd,
                     "cd '%s' && XDG_RUNTIME_DIR='%s' SYSTEMD_LOG_COLOR=0 "
                     "'%s' %s--man=no verify",
                     unit_dir, runtime, tool, user ? "--user " : "");
  for (; *units; units++)
    len += snprintf(cmd + len, sizeof cmd - (size_t)len, " './%s'", *units);
  assert_true(len < (int)sizeof cmd);
  char *out;
  int rc = run_merged(cmd, &out);
  print_message("%s%s verify (exit %d): %s\n", tool, user ? " --user" : "",
                rc, *out ? "" : "no complaints");
  int problems = 0;
  for (char *line = strtok(out, "\n"); line; line = strtok(NULL, "\n")) {
    print_message("  %s\n", line);
    if (strstr(line, "Failed to initialize manager") ||
        strstr(line, "Failed to allocate manager"))
      problems = -1;
    else if (problems >= 0 && !is_environmental(line))
      problems++;
  }
  free(out);
  if (problems == 0 && rc != 0)
    problems = 1;
  return problems;
}

/* Copies a unit file to dst_dir, replacing the install-time placeholder of
 * ExecStart= with exec_path (cmake/systemd.cmake does the same with the
 * installed sbin path). */
static void copy_unit(const char *src, const char *dst_dir, const char *name,
                      const char *exec_path) {
  char *text = read_text(src);
  assert_non_null(text);
  const char *placeholder = "@FL_SBINDIR@/flatlined";
  char *at = strstr(text, placeholder);
  size_t out_cap = strlen(text) + strlen(exec_path) + 1;
  char *out = malloc(out_cap);
  assert_non_null(out);
  if (at)
    snprintf(out, out_cap, "%.*s%s%s", (int)(at - text), text, exec_path,
             at + strlen(placeholder));
  else
    snprintf(out, out_cap, "%s", text);
  /* No placeholder the install rules would leave unfilled. */
  assert_null(strstr(out, "@FL_"));
  char dst[256];
  snprintf(dst, sizeof dst, "%s/%s", dst_dir, name);
  write_text(dst, out);
  free(out);
  free(text);
}

/* The daemon as built, or /bin/true while it is not: systemd-analyze only
 * checks that ExecStart= names an executable. */
static const char *exec_start_path(void) {
  if (access(FL_FLATLINED, X_OK) == 0)
    return FL_FLATLINED;
  print_message("note: %s not built; ExecStart=/bin/true in the copies\n",
                FL_FLATLINED);
  return "/bin/true";
}

static void test_units_verify(void **state) {
  (void)state;
  char tool[512];
  REQUIRE_TOOL("systemd-analyze", tool);
  const char *exec_path = exec_start_path();
  const char *const units[] = {"flatlined.socket", "flatlined.service", NULL};

  /* First a unit with mistakes systemd only warns about (exit status 0):
   * this check must see them, or passing it would mean nothing. */
  char bad_dir[128];
  snprintf(bad_dir, sizeof bad_dir, "%s/units-broken", dir);
  assert_int_equal(mkdir(bad_dir, 0700), 0);
  copy_unit(FL_SOURCE_DIR "/systemd/flatlined.socket", bad_dir,
            "flatlined.socket", exec_path);
  char bad_unit[256];
  snprintf(bad_unit, sizeof bad_unit,
           "[Service]\nType=notify\nExecStart=%s\nWatchdogSec=thirty\n"
           "ProtectSystm=strict\n", exec_path);
  char bad_path[256];
  snprintf(bad_path, sizeof bad_path, "%s/flatlined.service", bad_dir);
  write_text(bad_path, bad_unit);
  print_message("a deliberately broken unit first; complaints expected:\n");
  int problems = verify_units(tool, bad_dir, 0, units);
  if (problems < 0) {
    FL_SKIP("systemd-analyze cannot start a manager here");
  }
  assert_true(problems >= 2);

  char sys_dir[128], user_dir[128];
  snprintf(sys_dir, sizeof sys_dir, "%s/units-system", dir);
  snprintf(user_dir, sizeof user_dir, "%s/units-user", dir);
  assert_int_equal(mkdir(sys_dir, 0700), 0);
  assert_int_equal(mkdir(user_dir, 0700), 0);
  for (const char *const *u = units; *u; u++) {
    char src[512];
    snprintf(src, sizeof src, "%s/systemd/%s", FL_SOURCE_DIR, *u);
    copy_unit(src, sys_dir, *u, exec_path);
    snprintf(src, sizeof src, "%s/systemd/user/%s", FL_SOURCE_DIR, *u);
    copy_unit(src, user_dir, *u, exec_path);
  }
  assert_int_equal(verify_units(tool, sys_dir, 0, units), 0);
  assert_int_equal(verify_units(tool, user_dir, 1, units), 0);
}

/* ---- sysusers.d --------------------------------------------------------- */

/* Whether an /etc/passwd- or /etc/group-style file has an entry name. */
static int has_entry(const char *file_text, const char *name) {
  size_t len = strlen(name);
  for (const char *line = file_text; line && *line;) {
    if (strncmp(line, name, len) == 0 && line[len] == ':')
      return 1;
    line = strchr(line, '\n');
    if (line)
      line++;
  }
  return 0;
}

static void test_sysusers(void **state) {
  (void)state;
  char tool[512];
  REQUIRE_TOOL("systemd-sysusers", tool);
  char root[128], cmd[1024];
  snprintf(root, sizeof root, "%s/sysroot", dir);
  assert_int_equal(mkdir(root, 0755), 0);
  snprintf(cmd, sizeof cmd, "%s/etc", root);
  assert_int_equal(mkdir(cmd, 0755), 0);
  snprintf(cmd, sizeof cmd, "'%s' --root='%s' '%s/systemd/flatline.sysusers.conf'",
           tool, root, FL_SOURCE_DIR);
  char *out;
  int rc = run_merged(cmd, &out);
  print_message("systemd-sysusers (exit %d): %s\n", rc, out);
  free(out);
  assert_int_equal(rc, 0);

  char path[256];
  snprintf(path, sizeof path, "%s/etc/passwd", root);
  char *passwd = read_text(path);
  snprintf(path, sizeof path, "%s/etc/group", root);
  char *group = read_text(path);
  assert_non_null(passwd);
  assert_non_null(group);
  assert_true(has_entry(passwd, "flatlined"));   /* User= of the service */
  assert_true(has_entry(group, "flatlined"));    /* Group= of the service */
  assert_true(has_entry(group, "flatline"));     /* SocketGroup= */
  /* SupplementaryGroups= render video belong to the system (udev,
   * base-passwd), not to flatline: the entry must not declare them. */
  assert_false(has_entry(group, "render"));
  assert_false(has_entry(group, "video"));
  /* A system account that cannot log in. */
  assert_non_null(strstr(passwd, "nologin"));
  free(passwd);
  free(group);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_notify_path_socket),
      cmocka_unit_test(test_notify_abstract_socket),
      cmocka_unit_test(test_notify_without_systemd),
      cmocka_unit_test(test_notify_errors),
      cmocka_unit_test(test_listen_fd),
      cmocka_unit_test(test_watchdog_usec),
      cmocka_unit_test(test_socket_activation),
      cmocka_unit_test(test_daemon_under_activation),
      cmocka_unit_test(test_units_verify),
      cmocka_unit_test(test_sysusers),
  };
  return FL_TEST_EXIT(cmocka_run_group_tests(tests, setup, teardown));
}
