/* daemon/pump.c — paced streams to one client: the replay of a job's event
 * log when a follow starts, and a model export. Files are read in chunks on
 * the thread pool (uv_fs_read), never on the loop, and the next chunk is
 * read only once the client's queue has drained below a quarter of its
 * caps; so a replay or an export of any length fits the per-client queue,
 * and a client that stops reading holds one chunk, not the whole file.
 *
 * A client's streams run one at a time, in the order they were asked for.
 * A follow is live (fl_server_broadcast sends it new events) only once its
 * replay has reached the log's end: then, under the job's log lock, every
 * line written so far has been sent and every later one will be
 * broadcast, so no event is lost or sent twice, and order is kept.
 *
 * A `log` request is a replay without a follow: it stops at the log's end
 * as it is when the read gets there, and its reply comes after the events
 * (so the client knows the history is whole). A replay holds a reference
 * on its job (job->refs): `rm` and retention free a removed job only once
 * no replay reads it. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "client.h"
#include "pump.h"

/* One read; an export sends it as one binary frame (the protocol allows 4
 * MiB; 1 MiB keeps a client's queue, capped at 8 MiB by default, far from
 * its cap while the next chunk is read). */
#define FL_PUMP_CHUNK ((size_t)1 << 20)

typedef enum { PUMP_REPLAY, PUMP_EXPORT } pump_kind;

struct fl_pump {
  pump_kind kind;
  fl_client *c;
  uv_file fd;
  uint64_t offset, size;  /* export: size of the model */
  fl_job *job;            /* replay */
  long line_no;           /* replay: lines read so far (= their seq) */
  char *carry;            /* replay: a line cut by the chunk's end */
  size_t carry_len;
  bool skipping;          /* replay: inside a line too long to send */
  bool saw_end;           /* replay: the log's `end` line was sent */
  bool ended;             /* replay: ... of an ended job: all is sent */
  int eof_tries;          /* replay: reads at the end, waiting for a line */
  int64_t log_id;         /* replay for `log`: the request to answer at
                             the end; 0 for a follow */
  bool complete;          /* replay: the whole log was sent */
  bool busy;              /* a read or its callback is under way */
  bool dropped;           /* the client closed meanwhile: free when idle */
  uv_fs_t req;
  char *buf;
  size_t buf_pos, buf_len; /* replay: lines read but not sent yet */
  struct fl_pump *next;
};

static void pump_free(fl_pump *p) {
  if (p->job) p->job->refs--;
  if (p->fd >= 0) close(p->fd); /* a regular file: close(2) does not block */
  free(p->carry);
  free(p->buf);
  free(p);
}

static fl_pump *pump_new(fl_client *c, pump_kind kind, const char *path,
                         fl_error *err) {
  fl_pump *p = calloc(1, sizeof *p);
  char *buf = malloc(FL_PUMP_CHUNK);
  if (!p || !buf) {
    free(p);
    free(buf);
    fl_error_set(err, FL_ENOMEM, "out of memory");
    return NULL;
  }
  p->kind = kind;
  p->c = c;
  p->buf = buf;
  p->fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  struct stat st;
  if (p->fd < 0 || fstat(p->fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    int e = p->fd < 0 ? errno : EINVAL;
    if (p->fd >= 0) close(p->fd);
    p->fd = -1;
    pump_free(p);
    fl_error_set(err, e == ENOENT ? FL_ENOTFOUND : FL_EIO, "cannot read %s: %s",
                 path, e == EINVAL ? "not a regular file" : strerror(e));
    return NULL;
  }
  p->size = (uint64_t)st.st_size;
  return p;
}

static void enqueue(fl_client *c, fl_pump *p) {
  fl_pump **tail = &c->pumps;
  while (*tail) tail = &(*tail)->next;
  *tail = p;
  fl_pump_kick(c);
}

int fl_pump_export(fl_client *c, const char *path, uint64_t *size, fl_error *err) {
  fl_pump *p = pump_new(c, PUMP_EXPORT, path, err);
  if (!p) return err->code ? err->code : FL_EIO;
  *size = p->size;
  enqueue(c, p);
  return 0;
}

int fl_pump_replay(fl_client *c, fl_job *job, const char *path, fl_error *err) {
  return fl_pump_log(c, job, path, 0, err);
}

int fl_pump_log(fl_client *c, fl_job *job, const char *path, int64_t log_id,
                fl_error *err) {
  fl_pump *p = pump_new(c, PUMP_REPLAY, path, err);
  if (!p) return err->code ? err->code : FL_EIO;
  p->job = job;
  job->refs++;
  p->log_id = log_id;
  enqueue(c, p);
  return 0;
}

/* The reply that ends a `log`: after every line it sent. */
static void send_log_reply(fl_pump *p) {
  fl_jw w;
  fl_reply_begin(&w, p->log_id, true);
  fl_jw_str(&w, "job", p->job->id);
  fl_jw_int(&w, "lines", p->line_no);
  fl_jw_str(&w, "state", fl_job_state_name(p->job->state));
  fl_reply_end(p->c, &w);
}

void fl_pump_drop_all(fl_client *c) {
  /* A pump that is busy (its read or its callback under way) is freed by
   * its callback; it stays at the head, marked. */
  fl_pump *keep = NULL;
  while (c->pumps) {
    fl_pump *p = c->pumps;
    c->pumps = p->next;
    if (p->busy) {
      p->dropped = true;
      p->next = NULL;
      keep = p;
    } else {
      pump_free(p);
    }
  }
  c->pumps = keep;
}

static fl_follow *follow_of(fl_client *c, const fl_job *job) {
  for (int i = 0; i < c->n_follows; i++)
    if (c->follows[i].job == job) return &c->follows[i];
  return NULL;
}

static void send_line(fl_pump *p, const char *line, size_t n) {
  fl_client *c = p->c;
  static const char end_prefix[] = "{\"event\":\"" FL_EVENT_END "\"";
  if (!fl_event_line_valid(line, n)) {
    fl_log(FL_LOG_WARNING, "a line of an event log is not one JSON object "
           "(torn by a crash?); not replayed");
    return;
  }
  size_t cap = n + 32;
  char *frame = malloc(cap);
  if (!frame) return;
  int len = snprintf(frame, cap, "{\"type\":\"event\",\"event\":%.*s}", (int)n, line);
  fl_client_send(c, FL_FRAME_JSON, frame, (size_t)len, false);
  free(frame);
  if (n >= sizeof end_prefix - 1 && memcmp(line, end_prefix, sizeof end_prefix - 1) == 0)
    p->saw_end = true;
}

/* Room in the client's queue for more: below a quarter of its caps. */
static bool has_room(const fl_client *c) {
  const fl_limits *lim = &c->d->limits;
  return c->queued_frames < lim->follower_max_frames / 4 &&
         c->queued_bytes < lim->follower_max_bytes / 4;
}

/* Send the lines of the chunk read, while the client's queue has room;
 * keep a line cut by the chunk's end for the next one. Returns whether
 * the chunk is used up. */
static bool replay_lines(fl_pump *p) {
  const char *s = p->buf + p->buf_pos, *end = p->buf + p->buf_len;
  while (s < end && !p->dropped && has_room(p->c)) {
    const char *nl = memchr(s, '\n', (size_t)(end - s));
    size_t part = (size_t)((nl ? nl : end) - s);
    if (!p->skipping && p->carry_len + part > FL_FRAME_MAX_JSON - 64) {
      p->skipping = true; /* a line no frame can carry: never from us */
      p->carry_len = 0;
    }
    if (!p->skipping && part > 0) {
      char *grown = realloc(p->carry, p->carry_len + part);
      if (!grown) {
        p->skipping = true;
      } else {
        memcpy(grown + p->carry_len, s, part);
        p->carry = grown;
        p->carry_len += part;
      }
    }
    s += part;
    if (!nl) break;
    s++;
    if (!p->skipping) send_line(p, p->carry, p->carry_len);
    else fl_log(FL_LOG_WARNING, "job %s: event log line %ld is too long; not "
                "replayed", p->job->id, p->line_no + 1);
    p->line_no++;
    p->carry_len = 0;
    p->skipping = false;
    /* The `end` of an ended job: nothing comes after it. The follow ends
     * now, not at the next read, so that the client may follow again. */
    if (p->saw_end && fl_job_state_final(p->job->state)) {
      p->ended = true;
      p->complete = true;
      if (!p->log_id) fl_client_unfollow(p->c, p->job);
      break;
    }
  }
  p->buf_pos = (size_t)(s - p->buf);
  return p->buf_pos >= p->buf_len;
}

/* The lines a log can claim and not hold: an append under way (its seq
 * is taken after the write). Each retry is one read at the end of the
 * file on the thread pool; after this many the follow goes live anyway. */
#define FL_REPLAY_EOF_TRIES 200

/* At the log's end: go live when every written line has been read. */
static bool replay_caught_up(fl_pump *p) {
  fl_job *job = p->job;
  fl_client *c = p->c;
  bool done = false;
  if (p->log_id) {
    /* A log is the history so far: it ends where the file ends now. */
    if (!p->saw_end && fl_job_state_final(job->state)) {
      char *ev = fl_job_end_event(job);
      if (ev) {
        send_line(p, ev, strlen(ev));
        free(ev);
      }
    }
    p->complete = true;
    return true;
  }
  pthread_mutex_lock(&job->log_lock);
  if (p->line_no >= job->next_seq || ++p->eof_tries >= FL_REPLAY_EOF_TRIES) {
    fl_follow *f = follow_of(c, job);
    if (f) {
      f->start_seq = job->next_seq;
      f->live = true;
    }
    done = true;
  }
  pthread_mutex_unlock(&job->log_lock);
  if (!done || !fl_job_state_final(job->state)) return done;
  /* A job that has ended sends nothing more: its follow ends here, with
   * an `end` made from the job's state if its log lacks one (a full disk
   * can keep it from being written), so that a follower never waits. */
  if (!p->saw_end) {
    char *ev = fl_job_end_event(job);
    if (ev) {
      send_line(p, ev, strlen(ev));
      free(ev);
    }
  }
  fl_client_unfollow(c, job);
  return done;
}

static void pump_finish(fl_client *c, fl_pump *p) {
  if (c->pumps == p) c->pumps = p->next;
  if (p->log_id && p->complete && !p->dropped) send_log_reply(p);
  pump_free(p);
}

/* Move the head stream on: send what is buffered, or read the next chunk
 * when the client's queue has room. */
static void pump_step(fl_client *c);

static void on_chunk(uv_fs_t *req) {
  fl_pump *p = req->data;
  fl_client *c = p->c;
  ssize_t n = req->result;
  uv_fs_req_cleanup(req);
  c->pending--;
  if (p->dropped) { /* the client closed while we read */
    pump_finish(c, p);
    if (c->closed && c->pending == 0) fl_client_free(c);
    return;
  }
  if (n < 0) {
    fl_log(FL_LOG_ERR, "reading a job file for uid %u failed: %s", (unsigned)c->uid,
           uv_strerror((int)n));
    p->busy = false;
    pump_finish(c, p);
    fl_client_fail(c, "the daemon could not read the job's file: %s", uv_strerror((int)n));
    return;
  }
  p->offset += (uint64_t)n;
  bool finished = false;
  if (p->kind == PUMP_EXPORT) {
    /* The size announced is the size sent: a file that shrank ends the
     * connection rather than leave the client waiting. */
    if (n == 0 && p->offset < p->size) {
      p->busy = false;
      pump_finish(c, p);
      fl_client_fail(c, "the model file shrank while it was exported");
      return;
    }
    if (n > 0) fl_client_send(c, FL_FRAME_BINARY, p->buf, (size_t)n, false);
    finished = p->offset >= p->size;
  } else if (n > 0) {
    p->buf_pos = 0;
    p->buf_len = (size_t)n;
    replay_lines(p); /* what does not fit waits for the queue to drain */
    finished = p->ended;
  } else {
    finished = replay_caught_up(p);
  }
  p->busy = false;
  if (p->dropped || finished) pump_finish(c, p);
  pump_step(c);
}

static void pump_step(fl_client *c) {
  fl_pump *p = c->pumps;
  if (!p || p->busy || p->dropped || c->closing || c->closed ||
      uv_is_closing((uv_handle_t *)&c->pipe) || !has_room(c))
    return; /* on_written steps again as the queue drains */
  if (p->kind == PUMP_REPLAY && p->buf_pos < p->buf_len) {
    p->busy = true; /* a send may close the client */
    replay_lines(p);
    p->busy = false;
    if (p->dropped || p->ended) {
      pump_finish(c, p);
      pump_step(c);
      return;
    }
    if (p->buf_pos < p->buf_len) return; /* the queue filled again */
  }
  size_t want = FL_PUMP_CHUNK;
  if (p->kind == PUMP_EXPORT && p->size - p->offset < want)
    want = (size_t)(p->size - p->offset);
  uv_buf_t buf = uv_buf_init(p->buf, (unsigned)want);
  p->req.data = p;
  p->busy = true;
  c->pending++;
  int rc = uv_fs_read(c->d->loop, &p->req, p->fd, &buf, 1, (int64_t)p->offset, on_chunk);
  if (rc < 0) {
    p->busy = false;
    c->pending--;
    pump_finish(c, p);
    fl_client_fail(c, "the daemon could not read the job's file: %s", uv_strerror(rc));
  }
}

void fl_pump_kick(fl_client *c) { pump_step(c); }

int fl_pump_count(const fl_client *c) {
  int n = 0;
  for (const fl_pump *p = c->pumps; p; p = p->next) n++;
  return n;
}
