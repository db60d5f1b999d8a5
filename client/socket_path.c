/* client/socket_path.c — owns which Unix socket the client talks to and the
 * sentence saying why, so that help and "cannot connect" errors can tell a
 * user which paths were tried (the system daemon's /run/flatline.sock, or
 * a per-user daemon under $XDG_RUNTIME_DIR). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "cli.h"

/* sun_path holds the path and its NUL. */
#define SUN_PATH_MAX (sizeof(((struct sockaddr_un *)0)->sun_path) - 1)

static bool set(const char *s) { return s && s[0]; }

static int take(fl_cli_socket *out, const char *path, const char *why) {
  size_t n = strlen(path);
  if (n > SUN_PATH_MAX || n >= sizeof out->path) {
    snprintf(out->note, sizeof out->note,
             "the socket path %.*s... %s is %zu bytes long, but a Unix "
             "socket path can have at most %zu; use a shorter path",
             40, path, why, n, (size_t)SUN_PATH_MAX);
    out->path[0] = '\0';
    return FL_EXIT_USAGE;
  }
  memcpy(out->path, path, n + 1);
  snprintf(out->note, sizeof out->note, "%s %s", path, why);
  return 0;
}

int fl_cli_socket_resolve(const char *flag, const char *env_socket,
                          const char *env_xdg, bool (*exists)(const char *),
                          fl_cli_socket *out) {
  memset(out, 0, sizeof *out);
  if (set(flag)) return take(out, flag, "(from --socket)");
  if (set(env_socket)) return take(out, env_socket, "(from FLATLINE_SOCKET)");
  if (exists && exists(FL_DEFAULT_SOCKET))
    return take(out, FL_DEFAULT_SOCKET, "(the system daemon's socket)");
  if (set(env_xdg)) {
    /* Per-user daemons (systemd --user) put their socket here. */
    char path[FL_PATH_MAX];
    int n = snprintf(path, sizeof path, "%s/%s", env_xdg, FL_SOCKET_NAME);
    if (n < 0 || (size_t)n >= sizeof path) {
      snprintf(out->note, sizeof out->note,
               "XDG_RUNTIME_DIR is too long for a socket path; set "
               "FLATLINE_SOCKET or use --socket");
      return FL_EXIT_USAGE;
    }
    return take(out, path,
                "(from XDG_RUNTIME_DIR, because " FL_DEFAULT_SOCKET
                " does not exist)");
  }
  return take(out, FL_DEFAULT_SOCKET,
              "(the default; it does not exist and XDG_RUNTIME_DIR is unset)");
}

static bool path_exists(const char *path) {
  struct stat st;
  return stat(path, &st) == 0;
}

int fl_cli_socket_find(const char *flag, fl_cli_socket *out) {
  return fl_cli_socket_resolve(flag, getenv("FLATLINE_SOCKET"),
                               getenv("XDG_RUNTIME_DIR"), path_exists, out);
}
