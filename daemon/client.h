/* daemon/client.h — one connected client, as the loop thread sees it:
 * identity (SO_PEERCRED), frame decoder, a bounded outgoing queue, an
 * upload in progress, and the jobs it follows. */
#ifndef FL_DAEMON_CLIENT_H
#define FL_DAEMON_CLIENT_H

#include "daemon.h"
#include "pump.h"

#define FL_MAX_FOLLOWS 16

typedef struct {
  fl_job *job;
  long start_seq; /* log lines already replayed from the file */
  bool live;      /* replay done: new events are sent as they come */
} fl_follow;

typedef struct fl_client {
  uv_pipe_t pipe;
  fl_daemon *d;
  uid_t uid;
  gid_t gid;
  char user[FL_USER_MAX];
  fl_frame_decoder dec;
  bool hello_done;
  bool closing;           /* no more reads; close once the queue drains */
  size_t queued_frames;
  size_t queued_bytes;
  /* Backpressure on requests: while replies are backing up (the client
   * sends faster than it reads), input is not read and the unhandled rest
   * of the last read waits in held (at most one read's worth). */
  bool paused;
  uint8_t *held;
  size_t held_len;

  bool uploading;         /* binary chunks expected */
  int64_t up_id;
  char up_sha[FL_SHA256_HEX];
  uint64_t up_remaining;
  int up_fd;
  fl_sha256 *up_hash;
  char up_tmp[4200];
  uint64_t up_reserved;   /* storage reserved for it (storage.c) */
  bool up_syncing;        /* all bytes in; fsync on the thread pool */
  uv_fs_t up_sync;

  int pending;            /* thread-pool work holding a pointer to us */
  bool closed;            /* handle closed; freed when pending is 0 */

  int n_follows;
  fl_follow follows[FL_MAX_FOLLOWS];
  fl_pump *pumps;         /* replays and exports, one at a time (pump.c) */
  struct fl_wait *waits;  /* `wait` requests not answered yet (queue.c) */
  int n_waits;
  struct fl_client *next;
} fl_client;

/* Queue a frame (copied). droppable frames are skipped when the client is
 * already behind; a client past the hard cap is disconnected. */
void fl_client_send(fl_client *c, uint8_t kind, const void *data, size_t len,
                    bool droppable);
void fl_client_send_text(fl_client *c, const char *json, bool droppable);
/* Send {"type":"error",...} and close once it is written. */
void fl_client_fail(fl_client *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void fl_client_close(fl_client *c);
/* Free a closed client (once no thread-pool work refers to it). */
void fl_client_free(fl_client *c);
/* After a reply left the queue or a pooled request finished: resume
 * reading a paused client once its backlog has drained. */
void fl_client_resume_if_drained(fl_client *c);

/* Stop following job (its end was sent); frees the slot. */
void fl_client_unfollow(fl_client *c, const fl_job *job);

/* Replies (requests.c): {"type":"reply","id":id,"ok":ok ...} begun in w,
 * ended and queued to c; an error reply with its code and message. */
void fl_reply_begin(fl_jw *w, int64_t id, bool ok);
void fl_reply_end(fl_client *c, fl_jw *w);
void fl_reply_error(fl_client *c, int64_t id, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* The job r->job if the client may touch it (owner or root); else NULL
 * after an error reply (requests.c). */
fl_job *fl_owned_job(fl_client *c, const fl_request *r, const char *verb);

/* Request handlers (requests.c). */
void fl_handle_json(fl_client *c, const uint8_t *data, size_t len);
void fl_handle_binary(fl_client *c, const uint8_t *data, size_t len);
void fl_client_abort_upload(fl_client *c);

#endif
