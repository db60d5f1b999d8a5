/* daemon/sd.c — systemd's socket-activation, notify and watchdog protocols
 * (see sd.h), spoken directly: the whole wire format is a few environment
 * variables and one datagram, too little to take libsystemd as a
 * dependency. Formats as documented in sd_listen_fds(3) and sd_notify(3).
 * Plain POSIX.1-2008 is enough here (no _GNU_SOURCE): the abstract socket
 * namespace is only a sockaddr_un whose path starts with a NUL byte. */
#include "sd.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/un.h>
#include <unistd.h>

#include "flatline/common.h"

/* Parses a whole unsigned decimal number (no sign, no spaces, nothing
 * after it) into *out; false when s is NULL, empty, malformed or above max. */
static bool parse_decimal(const char *s, uint64_t max, uint64_t *out) {
  if (!s || !*s)
    return false;
  uint64_t v = 0;
  for (; *s; s++) {
    if (*s < '0' || *s > '9')
      return false;
    uint64_t digit = (uint64_t)(*s - '0');
    if (v > (max - digit) / 10)
      return false;
    v = v * 10 + digit;
  }
  *out = v;
  return true;
}

/* Whether an environment value such as LISTEN_PID names this process. */
static bool names_this_process(const char *pid_text) {
  uint64_t pid;
  return parse_decimal(pid_text, INT_MAX, &pid) && pid == (uint64_t)getpid();
}

int fl_sd_listen_fd(void) {
  const char *pid_text = getenv("LISTEN_PID");
  const char *count_text = getenv("LISTEN_FDS");
  uint64_t count = 0;
  int fd = -1;
  if (names_this_process(pid_text) &&
      parse_decimal(count_text, INT_MAX - FL_SD_LISTEN_FDS_START, &count) &&
      count >= 1) {
    /* The fds are inherited without FD_CLOEXEC; set it on all of them so
     * that nothing the daemon starts (a compiler run by an OpenCL driver)
     * holds the listening socket open. They are consecutive: stop at the
     * first one that is not open, whatever LISTEN_FDS claims. */
    for (uint64_t i = 0; i < count; i++) {
      int passed = FL_SD_LISTEN_FDS_START + (int)i;
      int flags = fcntl(passed, F_GETFD);
      if (flags < 0)
        break;
      if (!(flags & FD_CLOEXEC) && fcntl(passed, F_SETFD, flags | FD_CLOEXEC) < 0)
        break;
      if (i == 0)
        fd = passed;   /* fd 3 must really be open to count as activated */
    }
  }
  /* Unset in every case: values meant for another process (our parent)
   * must not reach our children either. */
  unsetenv("LISTEN_PID");
  unsetenv("LISTEN_FDS");
  unsetenv("LISTEN_FDNAMES");
  return fd;
}

int fl_sd_notify(const char *state) {
  if (!state || !*state)
    return FL_EINVAL;
  const char *where = getenv("NOTIFY_SOCKET");
  if (!where || !*where)
    return 0;

  /* "/path" is a filesystem socket; "@name" the abstract socket "\0name",
   * whose address length counts exactly its bytes (no terminator). */
  struct sockaddr_un addr;
  memset(&addr, 0, sizeof addr);
  addr.sun_family = AF_UNIX;
  size_t where_len = strlen(where);
  socklen_t addr_len;
  if (where[0] == '/' && where_len < sizeof addr.sun_path) {
    memcpy(addr.sun_path, where, where_len + 1);
    addr_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + where_len + 1);
  } else if (where[0] == '@' && where_len >= 2 && where_len <= sizeof addr.sun_path) {
    memcpy(addr.sun_path + 1, where + 1, where_len - 1);
    addr_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + where_len);
  } else {
    return FL_EINVAL;
  }

  int sock = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (sock < 0)
    return FL_EIO;
  size_t state_len = strlen(state);
  ssize_t sent;
  do {
    sent = sendto(sock, state, state_len, MSG_NOSIGNAL,
                  (const struct sockaddr *)&addr, addr_len);
  } while (sent < 0 && errno == EINTR);
  int send_errno = errno;
  close(sock);
  if (sent < 0 || (size_t)sent != state_len) {
    errno = sent < 0 ? send_errno : EMSGSIZE;   /* left for the caller's log */
    return FL_EIO;
  }
  return 0;
}

uint64_t fl_sd_watchdog_usec(void) {
  const char *pid_text = getenv("WATCHDOG_PID");
  if (pid_text && !names_this_process(pid_text))
    return 0;   /* the watchdog belongs to another process (our parent) */
  uint64_t usec;
  if (!parse_decimal(getenv("WATCHDOG_USEC"), UINT64_MAX, &usec))
    return 0;
  return usec;
}
