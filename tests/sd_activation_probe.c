/* tests/sd_activation_probe.c — stands in for flatlined under
 * `systemd-socket-activate -l PATH` in test_systemd: takes the passed socket
 * with fl_sd_listen_fd(), accepts one connection, answers "ok fd=N\n" (or
 * "bad: WHAT\n" when the hand-over left something wrong) and exits.
 * Exit status: 0 ok, 1 otherwise. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "sd.h"

int main(void) {
  int listen_fd = fl_sd_listen_fd();
  if (listen_fd < 0) {
    fprintf(stderr, "sd_activation_probe: not socket-activated "
            "(LISTEN_PID/LISTEN_FDS missing or not for pid %ld)\n",
            (long)getpid());
    return 1;
  }
  const char *problem = NULL;
  int flags = fcntl(listen_fd, F_GETFD);
  if (flags < 0 || !(flags & FD_CLOEXEC))
    problem = "FD_CLOEXEC not set on the passed socket";
  else if (getenv("LISTEN_PID") || getenv("LISTEN_FDS") || getenv("LISTEN_FDNAMES"))
    problem = "LISTEN_* still in the environment";

  int conn;
  do {
    conn = accept(listen_fd, NULL, NULL);
  } while (conn < 0 && errno == EINTR);
  if (conn < 0) {
    fprintf(stderr, "sd_activation_probe: accept: %s\n", strerror(errno));
    return 1;
  }
  char reply[96];
  int len = problem ? snprintf(reply, sizeof reply, "bad: %s\n", problem)
                    : snprintf(reply, sizeof reply, "ok fd=%d\n", listen_fd);
  for (int off = 0; off < len;) {
    ssize_t n = write(conn, reply + off, (size_t)(len - off));
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      fprintf(stderr, "sd_activation_probe: write: %s\n", strerror(errno));
      return 1;
    }
    off += (int)n;
  }
  close(conn);
  close(listen_fd);
  return problem ? 1 : 0;
}
