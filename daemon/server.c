/* daemon/server.c — the listening socket and the client connections:
 * bind (or take the socket from systemd), accept, identify the peer with
 * SO_PEERCRED, decode frames with their caps, and write replies and events
 * through a bounded per-client queue so that a slow client can never stall
 * the daemon. A client whose replies back up is not read from until they
 * drain (it is pipelining requests, not stalled); only a queue that grows
 * past the cap anyway (events to a follower that does not read) drops it.
 * Request handling itself is in requests.c. */
#define _GNU_SOURCE /* struct ucred and SO_PEERCRED */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "client.h"
#include "flatline/common.h"
#include "queue.h"
#include "storage.h"

/* Descriptors kept for everything but clients: each running job's files
 * (log, checkpoint, model, data), the devices' drivers (a GPU driver opens
 * tens), the thread pool's file work, systemd's notify socket. */
#define FL_FD_RESERVE 256

typedef struct {
  uv_write_t req;
  fl_client *c;
  size_t len;
  uint8_t data[]; /* header + payload */
} out_frame;

static void on_closed(uv_handle_t *h) {
  fl_client *c = h->data;
  c->closed = true;
  if (c->pending == 0) fl_client_free(c);
}

void fl_client_free(fl_client *c) {
  fl_pump_drop_all(c);
  fl_waits_free(c);
  fl_frame_decoder_free(&c->dec);
  free(c->held);
  free(c);
}

void fl_client_close(fl_client *c) {
  if (uv_is_closing((uv_handle_t *)&c->pipe)) return;
  fl_daemon *d = c->d;
  for (fl_client **p = &d->clients; *p; p = &(*p)->next)
    if (*p == c) {
      *p = c->next;
      d->n_clients--;
      fl_usage *u = fl_usage_of(d, c->uid);
      if (u && u->connections > 0) u->connections--;
      break;
    }
  fl_client_abort_upload(c);
  fl_pump_drop_all(c);
  uv_close((uv_handle_t *)&c->pipe, on_closed);
}

void fl_client_unfollow(fl_client *c, const fl_job *job) {
  for (int i = 0; i < c->n_follows; i++)
    if (c->follows[i].job == job) {
      c->follows[i] = c->follows[--c->n_follows];
      return;
    }
}

static void on_written(uv_write_t *req, int status) {
  out_frame *f = (out_frame *)req;
  fl_client *c = f->c;
  c->queued_frames--;
  c->queued_bytes -= f->len;
  free(f);
  if (status < 0 || (c->closing && c->queued_frames == 0)) {
    fl_client_close(c);
  } else {
    fl_pump_kick(c);
    fl_client_resume_if_drained(c);
  }
}

void fl_client_send(fl_client *c, uint8_t kind, const void *data, size_t len,
                    bool droppable) {
  if (uv_is_closing((uv_handle_t *)&c->pipe)) return;
  const fl_limits *lim = &c->d->limits;
  bool behind = c->queued_frames >= lim->follower_max_frames / 2 ||
                c->queued_bytes >= lim->follower_max_bytes / 2;
  if (droppable && behind) return; /* progress lines: the next one will do */
  if (c->queued_frames >= lim->follower_max_frames ||
      c->queued_bytes + len > lim->follower_max_bytes) {
    fl_log(FL_LOG_WARNING, "client uid %u is not reading (%zu frames, %zu bytes "
           "queued); disconnecting it", (unsigned)c->uid, c->queued_frames,
           c->queued_bytes);
    fl_client_close(c);
    return;
  }
  out_frame *f = malloc(sizeof *f + FL_FRAME_HEADER + len);
  if (!f) {
    fl_client_close(c);
    return;
  }
  f->c = c;
  f->len = FL_FRAME_HEADER + len;
  fl_frame_header(kind, (uint32_t)len, f->data);
  memcpy(f->data + FL_FRAME_HEADER, data, len);
  uv_buf_t buf = uv_buf_init((char *)f->data, (unsigned)f->len);
  c->queued_frames++;
  c->queued_bytes += f->len;
  int rc = uv_write(&f->req, (uv_stream_t *)&c->pipe, &buf, 1, on_written);
  if (rc < 0) {
    c->queued_frames--;
    c->queued_bytes -= f->len;
    free(f);
    fl_client_close(c);
  }
}

void fl_client_send_text(fl_client *c, const char *json, bool droppable) {
  fl_client_send(c, FL_FRAME_JSON, json, strlen(json), droppable);
}

void fl_client_fail(fl_client *c, const char *fmt, ...) {
  char msg[FL_ERRMSG_MAX];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  fl_jw w;
  fl_jw_init(&w);
  fl_jw_object_begin(&w, NULL);
  fl_jw_str(&w, "type", "error");
  fl_jw_str(&w, "error", msg);
  fl_jw_object_end(&w);
  char *text = fl_jw_finish(&w);
  if (text) fl_client_send_text(c, text, false);
  free(text);
  uv_read_stop((uv_stream_t *)&c->pipe);
  c->closing = true;
  if (c->queued_frames == 0) fl_client_close(c);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  (void)h;
  (void)suggested;
  static char slab[65536]; /* the loop is single-threaded; data is consumed
                              before the next read */
  *buf = uv_buf_init(slab, sizeof slab);
}

/* Replies owed to c, sent or still to come from the thread pool, as a
 * share of the queue's caps: above half, requests wait; below a quarter,
 * they flow again. */
static bool backlog_over(const fl_client *c, size_t div) {
  const fl_limits *lim = &c->d->limits;
  return c->queued_frames + (size_t)c->pending >= lim->follower_max_frames / div ||
         c->queued_bytes >= lim->follower_max_bytes / div;
}

/* Decode and handle the frames in p; when replies back up, keep the rest
 * in c->held, stop reading and return. */
static void handle_input(fl_client *c, const uint8_t *p, size_t left) {
  while (left > 0 && !c->closing && !uv_is_closing((uv_handle_t *)&c->pipe)) {
    /* Also while an upload's fsync runs: what follows it waits for its
     * reply. */
    if (c->up_syncing || backlog_over(c, 2)) {
      uint8_t *rest = malloc(left);
      if (!rest) {
        fl_client_close(c);
        return;
      }
      memcpy(rest, p, left);
      free(c->held);
      c->held = rest;
      c->held_len = left;
      c->paused = true;
      uv_read_stop((uv_stream_t *)&c->pipe);
      return;
    }
    size_t used = 0;
    fl_frame frame;
    fl_error err = {0};
    int rc = fl_frame_decode(&c->dec, p, left, &used, &frame, &err);
    p += used;
    left -= used;
    if (rc < 0) {
      fl_client_fail(c, "%s", err.msg);
      return;
    }
    if (rc == 0) break;
    if (frame.kind == FL_FRAME_JSON) fl_handle_json(c, frame.data, frame.len);
    else fl_handle_binary(c, frame.data, frame.len);
  }
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf) {
  fl_client *c = s->data;
  if (nread < 0) {
    fl_client_close(c);
    return;
  }
  handle_input(c, (const uint8_t *)buf->base, (size_t)nread);
}

void fl_client_resume_if_drained(fl_client *c) {
  if (!c->paused || c->closing || c->closed || c->up_syncing ||
      uv_is_closing((uv_handle_t *)&c->pipe) || backlog_over(c, 4))
    return;
  c->paused = false;
  uint8_t *held = c->held;
  size_t len = c->held_len;
  c->held = NULL;
  c->held_len = 0;
  handle_input(c, held, len); /* may pause again, holding what is left */
  free(held);
  if (!c->paused && !c->closing && !uv_is_closing((uv_handle_t *)&c->pipe))
    uv_read_start((uv_stream_t *)&c->pipe, on_alloc, on_read);
}

static void send_hello(fl_client *c) {
  char text[160];
  snprintf(text, sizeof text, "{\"type\":\"hello\",\"protocol\":%d,\"build\":\"flatlined %s\"}",
           FL_PROTOCOL_VERSION, FL_VERSION_STRING);
  fl_client_send_text(c, text, false);
}

static void on_connection(uv_stream_t *server, int status) {
  fl_daemon *d = server->data;
  if (status < 0) {
    fl_log(FL_LOG_WARNING, "accept failed: %s", uv_strerror(status));
    return;
  }
  fl_client *c = calloc(1, sizeof *c);
  if (!c) return;
  c->d = d;
  c->up_fd = -1;
  fl_frame_decoder_init(&c->dec);
  uv_pipe_init(d->loop, &c->pipe, 0);
  c->pipe.data = c;
  if (uv_accept(server, (uv_stream_t *)&c->pipe) != 0) {
    uv_close((uv_handle_t *)&c->pipe, on_closed);
    return;
  }
  uv_os_fd_t fd;
  struct ucred cred;
  socklen_t len = sizeof cred;
  if (uv_fileno((uv_handle_t *)&c->pipe, &fd) != 0 ||
      getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) {
    fl_log(FL_LOG_WARNING, "cannot identify a peer (SO_PEERCRED): dropped");
    uv_close((uv_handle_t *)&c->pipe, on_closed);
    return;
  }
  c->uid = cred.uid;
  c->gid = cred.gid;
  struct passwd pw, *found = NULL;
  char pwbuf[1024];
  if (getpwuid_r(cred.uid, &pw, pwbuf, sizeof pwbuf, &found) == 0 && found)
    snprintf(c->user, sizeof c->user, "%s", pw.pw_name);
  else
    snprintf(c->user, sizeof c->user, "%u", (unsigned)cred.uid);
  c->next = d->clients;
  d->clients = c;
  d->n_clients++;
  fl_usage *u = fl_usage_of(d, c->uid);
  if (u) u->connections++;
  /* Caps: per user, so that one user cannot take every descriptor from
   * the others; all together, so that jobs keep descriptors for their own
   * files (FL_FD_RESERVE). Root is capped too: it is a client like any. */
  if (!u || u->connections > d->limits.max_connections_per_user) {
    fl_log(FL_LOG_WARNING, "uid %u has %u connections open (the limit is %u): "
           "refused one", (unsigned)c->uid, u ? u->connections : 0,
           d->limits.max_connections_per_user);
    fl_client_fail(c, "you have %u connections to flatlined open, the limit "
                   "per user (max_connections_per_user); close some",
                   d->limits.max_connections_per_user);
    return;
  }
  if (d->n_clients > d->max_clients) {
    fl_log(FL_LOG_WARNING, "%u connections open, the limit for all users: "
           "refused one from uid %u", d->max_clients, (unsigned)c->uid);
    fl_client_fail(c, "flatlined has %u connections open, as many as it "
                   "serves; try again later", d->max_clients);
    return;
  }
  send_hello(c);
  uv_read_start((uv_stream_t *)&c->pipe, on_alloc, on_read);
}

/* Raise the soft descriptor limit to the hard one and derive how many
 * clients fit beside the jobs' own files. */
static void size_client_limit(fl_daemon *d) {
  struct rlimit rl;
  uint64_t fds = 1024;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
    if (rl.rlim_cur < rl.rlim_max) {
      rl.rlim_cur = rl.rlim_max;
      setrlimit(RLIMIT_NOFILE, &rl);
      getrlimit(RLIMIT_NOFILE, &rl);
    }
    fds = rl.rlim_cur == RLIM_INFINITY ? 1u << 20 : (uint64_t)rl.rlim_cur;
  }
  uint64_t n = fds > FL_FD_RESERVE + 16 ? fds - FL_FD_RESERVE : 16;
  d->max_clients = n > UINT32_MAX ? UINT32_MAX : (uint32_t)n;
}

/* A socket file left by a daemon that died is removed; a live one is not. */
static int clear_stale_socket(const char *path, fl_error *err);

/* A daemon accepts connections on the socket at path. */
static bool socket_alive(const char *path) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
  bool alive = fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0;
  if (fd >= 0) close(fd);
  return alive;
}

int fl_server_check_socket(const char *path, fl_error *err) {
  struct stat st;
  if (lstat(path, &st) != 0 || !S_ISSOCK(st.st_mode)) return 0;
  if (socket_alive(path))
    return fl_error_set(err, FL_EIO, "another flatlined is already listening "
                        "on %s; stop it first (systemctl stop flatlined), or "
                        "give this one another --socket", path);
  return 0;
}

static int clear_stale_socket(const char *path, fl_error *err) {
  struct stat st;
  if (lstat(path, &st) != 0) return 0;
  if (!S_ISSOCK(st.st_mode))
    return fl_error_set(err, FL_EIO, "%s exists and is not a socket; remove it "
                        "or choose another --socket", path);
  if (socket_alive(path))
    return fl_error_set(err, FL_EIO, "another flatlined is already listening "
                        "on %s", path);
  unlink(path);
  return 0;
}

int fl_server_start(fl_daemon *d, int activated_fd, unsigned socket_mode,
                    const char *socket_group, fl_error *err) {
  size_client_limit(d);
  uv_pipe_init(d->loop, &d->server, 0);
  d->server.data = d;
  d->server_open = true;
  int rc;
  if (activated_fd >= 0) {
    rc = uv_pipe_open(&d->server, activated_fd);
    if (rc) return fl_error_set(err, FL_EIO, "cannot use the socket systemd "
                                "passed: %s", uv_strerror(rc));
  } else {
    if ((rc = clear_stale_socket(d->socket_path, err))) return rc;
    mode_t old = umask(0177); /* never world-accessible, even briefly */
    rc = uv_pipe_bind(&d->server, d->socket_path);
    umask(old);
    if (rc)
      return fl_error_set(err, FL_EIO, "cannot bind %s: %s", d->socket_path,
                          uv_strerror(rc));
    if (socket_group && *socket_group) {
      struct group *g = getgrnam(socket_group);
      if (!g || chown(d->socket_path, (uid_t)-1, g->gr_gid) != 0)
        fl_log(FL_LOG_WARNING, "cannot give %s to group %s: %s", d->socket_path,
               socket_group, g ? strerror(errno) : "no such group");
    }
    if (chmod(d->socket_path, socket_mode) != 0)
      return fl_error_set(err, FL_EIO, "cannot chmod %s: %s", d->socket_path,
                          strerror(errno));
  }
  rc = uv_listen((uv_stream_t *)&d->server, 128, on_connection);
  if (rc)
    return fl_error_set(err, FL_EIO, "cannot listen on %s: %s", d->socket_path,
                        uv_strerror(rc));
  return 0;
}

void fl_server_stop_listening(fl_daemon *d) {
  if (!d->server_open) return;
  d->server_open = false;
  uv_close((uv_handle_t *)&d->server, NULL);
}

void fl_server_close_all(fl_daemon *d) {
  while (d->clients) fl_client_close(d->clients);
}

/* Progress lines are not logged and the next one supersedes them: a
 * follower that is behind may miss some. Everything else is sent. */
static bool is_progress(const char *text) {
  static const char prefix[] = "{\"event\":\"" FL_EVENT_PROGRESS "\"";
  return strncmp(text, prefix, sizeof prefix - 1) == 0;
}

static bool is_end(const char *text) {
  static const char prefix[] = "{\"event\":\"" FL_EVENT_END "\"";
  return strncmp(text, prefix, sizeof prefix - 1) == 0;
}

void fl_server_broadcast(fl_daemon *d, fl_job *job, long seq, const char *text) {
  size_t n = strlen(text);
  char *frame = malloc(n + 32);
  if (!frame) return;
  int len = snprintf(frame, n + 32, "{\"type\":\"event\",\"event\":%s}", text);
  bool droppable = seq < 0 && is_progress(text);
  bool end = is_end(text);
  for (fl_client *c = d->clients, *next; c; c = next) {
    next = c->next; /* send may close c */
    for (int i = 0; i < c->n_follows; i++) {
      fl_follow *f = &c->follows[i];
      /* Not live yet: its replay will read this line from the log. */
      if (f->job != job || !f->live || (seq >= 0 && seq < f->start_seq)) continue;
      fl_client_send(c, FL_FRAME_JSON, frame, (size_t)len, droppable);
      if (end) fl_client_unfollow(c, job); /* nothing follows an end */
      break;
    }
  }
  free(frame);
  if (end) fl_waits_job_ended(d, job);
}
