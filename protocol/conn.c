/* protocol/conn.c — owns the client's blocking connection to flatlined:
 * connecting to the Unix socket, the hello exchange of docs/protocol.md,
 * and sending and receiving whole frames.
 *
 * The client does one thing at a time (send a request, read until its reply
 * and events are done), so plain blocking calls are the simplest honest
 * form. Every error says what to do: a missing daemon, a socket the user may
 * not open, a daemon of another protocol version, or one that hung up.
 *
 * SOCK_CLOEXEC and MSG_NOSIGNAL are visible under _POSIX_C_SOURCE with
 * glibc, so no _GNU_SOURCE is needed. MSG_NOSIGNAL matters: a daemon that
 * went away must give the client an error to print, not a SIGPIPE death. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "flatline/protocol.h"

/* A peer that accepts but never says hello (another program's socket, a
 * wedged daemon) must not hang the client forever. */
#define HELLO_TIMEOUT_S 15

#define NO_DAEMON_HINT                                          \
  "no daemon is listening (start flatlined, or set --socket / " \
  "FLATLINE_SOCKET)"

static int closed_error(fl_error *err) {
  return fl_error_set(err, FL_ECONNECTION, "the daemon closed the connection");
}

static int send_all(int fd, const uint8_t *p, size_t len, fl_error *err) {
  while (len > 0) {
    ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EPIPE || errno == ECONNRESET) return closed_error(err);
      return fl_error_set(err, FL_ECONNECTION, "cannot send to the daemon: %s",
                          strerror(errno));
    }
    p += n;
    len -= (size_t)n;
  }
  return 0;
}

static int send_frame(fl_conn *c, uint8_t kind, const void *data, size_t len,
                      fl_error *err) {
  if (c->fd < 0) {
    return fl_error_set(err, FL_ECONNECTION, "not connected to the daemon");
  }
  uint8_t header[FL_FRAME_HEADER];
  fl_frame_header(kind, (uint32_t)len, header);
  int rc = send_all(c->fd, header, sizeof header, err);
  if (rc == 0 && len > 0) rc = send_all(c->fd, data, len, err);
  return rc;
}

int fl_conn_send_json(fl_conn *c, const char *json, fl_error *err) {
  if (!json)
    return fl_error_set(err, FL_EINVAL, "fl_conn_send_json: json is NULL");
  size_t len = strnlen(json, (size_t)FL_FRAME_MAX_JSON + 1);
  if (len > FL_FRAME_MAX_JSON) {
    return fl_error_set(err, FL_ETOOBIG,
                        "a request of more than %u bytes exceeds the JSON "
                        "frame limit",
                        (unsigned)FL_FRAME_MAX_JSON);
  }
  return send_frame(c, FL_FRAME_JSON, json, len, err);
}

int fl_conn_send_binary(fl_conn *c, const void *data, size_t len,
                        fl_error *err) {
  if (!data && len > 0) {
    return fl_error_set(err, FL_EINVAL, "fl_conn_send_binary: data is NULL");
  }
  if (len > FL_FRAME_MAX_BINARY) {
    return fl_error_set(err, FL_ETOOBIG,
                        "a binary chunk of %zu bytes exceeds the limit of %u "
                        "bytes",
                        len, (unsigned)FL_FRAME_MAX_BINARY);
  }
  return send_frame(c, FL_FRAME_BINARY, data, len, err);
}

int fl_conn_recv(fl_conn *c, fl_frame *frame, fl_error *err) {
  if (c->fd < 0) {
    return fl_error_set(err, FL_ECONNECTION, "not connected to the daemon");
  }
  for (;;) {
    /* Bytes already read may hold the next frame (or several). */
    size_t used = 0;
    int rc = fl_frame_decode(&c->dec, c->buf + c->off, c->have - c->off, &used,
                             frame, err);
    c->off += used;
    if (rc == 1) return 0;
    if (rc < 0) {
      fl_error_prefix(err, "the daemon sent a bad frame");
      return rc;
    }
    c->off = c->have = 0;
    ssize_t n = recv(c->fd, c->buf, sizeof c->buf, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == ECONNRESET) return closed_error(err);
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        return fl_error_set(err, FL_ECONNECTION,
                            "the daemon did not answer within %d s",
                            HELLO_TIMEOUT_S);
      }
      return fl_error_set(err, FL_ECONNECTION,
                          "cannot read from the daemon: %s", strerror(errno));
    }
    if (n == 0) return closed_error(err);
    c->have = (size_t)n;
  }
}

void fl_conn_close(fl_conn *c) {
  if (!c) return;
  if (c->fd >= 0) close(c->fd);
  c->fd = -1;
  fl_frame_decoder_free(&c->dec);
  c->have = c->off = 0;
}

/* Text from the daemon goes to a terminal: control characters become '?'. */
static void copy_printable(char *dst, size_t size, const char *src) {
  snprintf(dst, size, "%s", src ? src : "");
  for (char *p = dst; *p; p++) {
    unsigned char ch = (unsigned char)*p;
    if (ch < 0x20 || ch == 0x7F) *p = '?';
  }
}

/* Reads the daemon's first frame: its hello, or an error saying why it
 * will not talk to us. */
static int read_hello(fl_conn *c, const char *path, fl_error *err) {
  fl_frame frame;
  int rc = fl_conn_recv(c, &frame, err);
  if (rc) {
    fl_error_prefix(err, "no hello from the daemon at %s", path);
    return rc;
  }
  if (frame.kind != FL_FRAME_JSON) {
    return fl_error_set(err, FL_EPARSE,
                        "the daemon at %s sent a binary frame instead of its "
                        "hello",
                        path);
  }
  fl_error parse_err;
  fl_json *msg = fl_json_parse((const char *)frame.data, frame.len, &parse_err);
  if (!msg) {
    return fl_error_set(err, FL_EPARSE,
                        "the daemon at %s sent a malformed hello: %s", path,
                        parse_err.msg);
  }
  const char *type = fl_json_string(fl_json_get(msg, "type"));
  double protocol = 0;
  if (type && strcmp(type, "error") == 0) {
    char why[FL_ERRMSG_MAX / 2];
    const char *text = fl_json_string(fl_json_get(msg, "error"));
    copy_printable(why, sizeof why, text ? text : "(no reason given)");
    rc = fl_error_set(err, FL_ECONNECTION,
                      "the daemon at %s refused the connection: %s", path, why);
  } else if (!type || strcmp(type, "hello") != 0) {
    rc = fl_error_set(err, FL_EPARSE,
                      "the daemon at %s did not start with a hello (is it "
                      "flatlined?)",
                      path);
  } else if (!fl_json_number(fl_json_get(msg, "protocol"), &protocol) ||
             protocol != FL_PROTOCOL_VERSION) {
    char theirs[32];
    if (fl_json_number(fl_json_get(msg, "protocol"), &protocol)) {
      snprintf(theirs, sizeof theirs, "%g", protocol);
    } else {
      snprintf(theirs, sizeof theirs, "an unknown version");
    }
    rc = fl_error_set(err, FL_EUNSUPPORTED,
                      "the daemon at %s speaks protocol %s, this flatline "
                      "speaks protocol %d (install matching versions of "
                      "flatline and flatlined)",
                      path, theirs, FL_PROTOCOL_VERSION);
  } else {
    copy_printable(c->peer_build, sizeof c->peer_build,
                   fl_json_string(fl_json_get(msg, "build")));
  }
  fl_json_free(msg);
  return rc;
}

static int handshake(fl_conn *c, const char *path, fl_error *err) {
  fl_jw w;
  fl_jw_init(&w);
  fl_jw_object_begin(&w, NULL);
  fl_jw_str(&w, "type", "hello");
  fl_jw_int(&w, "protocol", FL_PROTOCOL_VERSION);
  fl_jw_str(&w, "build", "flatline " FL_VERSION_STRING);
  fl_jw_object_end(&w);
  char *hello = fl_jw_finish(&w);
  if (!hello) return fl_error_set(err, FL_ENOMEM, "out of memory");

  fl_error send_err;
  int send_rc = fl_conn_send_json(c, hello, &send_err);
  free(hello);
  /* Even when our hello could not be sent (the daemon hung up first), the
   * daemon's error frame saying why may be waiting to be read. */
  int rc = read_hello(c, path, err);
  if (rc == 0 && send_rc) {
    if (err) *err = send_err;
    fl_error_prefix(err, "cannot send the hello to the daemon at %s", path);
    rc = send_rc;
  }
  return rc;
}

int fl_conn_connect(fl_conn *c, const char *socket_path, fl_error *err) {
  c->fd = -1;
  fl_frame_decoder_init(&c->dec);
  c->have = c->off = 0;
  c->peer_build[0] = '\0';
  if (!socket_path || !socket_path[0]) {
    return fl_error_set(err, FL_EINVAL,
                        "no daemon socket given (set --socket or "
                        "FLATLINE_SOCKET)");
  }
  struct sockaddr_un addr;
  memset(&addr, 0, sizeof addr);
  addr.sun_family = AF_UNIX;
  size_t len = strlen(socket_path);
  if (len >= sizeof addr.sun_path) {
    return fl_error_set(err, FL_EINVAL,
                        "cannot connect to %s: a Unix socket path holds at "
                        "most %zu bytes, this one has %zu (use a shorter "
                        "path)",
                        socket_path, sizeof addr.sun_path - 1, len);
  }
  memcpy(addr.sun_path, socket_path, len + 1);

  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return fl_error_set(err, FL_ECONNECTION, "cannot create a socket: %s",
                        strerror(errno));
  }
  int rc;
  do {
    rc = connect(fd, (const struct sockaddr *)&addr, sizeof addr);
  } while (rc < 0 && errno == EINTR);
  if (rc < 0 && errno != EISCONN) {
    int e = errno;
    close(fd);
    if (e == ENOENT || e == ECONNREFUSED) {
      return fl_error_set(err, FL_ECONNECTION,
                          "cannot connect to %s: " NO_DAEMON_HINT, socket_path);
    }
    if (e == EACCES || e == EPERM) {
      return fl_error_set(err, FL_EPERM,
                          "cannot connect to %s: permission denied (are you "
                          "in the flatline group?)",
                          socket_path);
    }
    return fl_error_set(err, FL_ECONNECTION, "cannot connect to %s: %s",
                        socket_path, strerror(e));
  }
  c->fd = fd;

  /* Only the hello is bounded in time: later reads wait for training
   * events, which may be minutes apart. */
  struct timeval limit = {HELLO_TIMEOUT_S, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
  rc = handshake(c, socket_path, err);
  struct timeval none = {0, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &none, sizeof none);
  if (rc) fl_conn_close(c);
  return rc;
}
