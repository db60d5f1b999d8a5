/* client/upload.c — owns getting a spec's data to the daemon: one
 * blob_check for all the hashes, then for each missing blob a blob_put
 * header and the file in binary chunks of at most FL_FRAME_MAX_BINARY
 * bytes, read here with the user's own permissions. The bytes are hashed
 * again as they are sent, so a file that changed since it was hashed is
 * reported as such rather than as a daemon-side mismatch. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "session.h"

/* Files at least this large get a progress line on a terminal. */
#define PROGRESS_MIN_BYTES (8u << 20)

static bool listed(const fl_json *arr, const char *hex) {
  for (size_t i = 0; i < fl_json_array_size(arr); i++) {
    const char *s = fl_json_string(fl_json_array_at(arr, i));
    if (s && strcmp(s, hex) == 0) return true;
  }
  return false;
}

static void progress(const fl_cli_session *s, const fl_cli_data_file *f,
                     uint64_t sent, bool *shown) {
  if (!s->o->err_tty || f->size < PROGRESS_MIN_BYTES) return;
  char done[32], total[32], name[96];
  fl_cli_format_bytes(done, sizeof done, (double)sent);
  fl_cli_format_bytes(total, sizeof total, (double)f->size);
  fl_cli_sanitize(name, sizeof name, f->path);
  fprintf(s->o->err, "\ruploading %s  %3.0f%%  %s of %s   ", name,
          100.0 * (double)sent / (double)f->size, done, total);
  fflush(s->o->err);
  *shown = true;
}

/* read() all of len unless the file ends first. */
static ssize_t read_full(int fd, unsigned char *buf, size_t len) {
  size_t got = 0;
  while (got < len) {
    ssize_t n = read(fd, buf + got, len - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return -1;
    if (n == 0) break;
    got += (size_t)n;
  }
  return (ssize_t)got;
}

/* How sending a file's bytes went. */
typedef enum {
  SENT,          /* every byte, and they hash as announced */
  LOCAL_FAILURE, /* our side (read error, file changed): printed */
  SEND_FAILURE,  /* the connection broke: printed; the daemon may say why */
} send_outcome;

/* Send f's bytes after its blob_put header. After anything but SENT the
 * blob is half sent and the connection is of no further use. */
static send_outcome send_file(fl_cli_session *s, const fl_cli_data_file *f,
                              int fd, unsigned char *chunk) {
  fl_sha256 *h = fl_sha256_new();
  if (!h) {
    fl_cli_session_error(s, "out of memory hashing %s", f->path);
    return LOCAL_FAILURE;
  }
  uint64_t sent = 0;
  bool shown = false;
  send_outcome out = SENT;
  while (sent < f->size) {
    uint64_t left = f->size - sent;
    size_t want = left < FL_FRAME_MAX_BINARY ? (size_t)left : FL_FRAME_MAX_BINARY;
    ssize_t got = read_full(fd, chunk, want);
    if (got < 0 || (size_t)got < want) {
      if (shown) fputc('\n', s->o->err);
      shown = false;
      if (got < 0)
        fl_cli_session_error(s, "cannot read %s: %s", f->resolved,
                             strerror(errno));
      else
        fl_cli_session_error(s, "%s shrank while it was being uploaded; run "
                             "the command again once it is complete",
                             f->resolved);
      out = LOCAL_FAILURE;
      break;
    }
    fl_sha256_update(h, chunk, (size_t)got);
    fl_error err = {0};
    if (fl_conn_send_binary(&s->conn, chunk, (size_t)got, &err) < 0) {
      if (shown) fputc('\n', s->o->err);
      shown = false;
      fl_cli_session_error(s, "uploading %s failed: %s", f->path, err.msg);
      out = SEND_FAILURE;
      break;
    }
    sent += (uint64_t)got;
    progress(s, f, sent, &shown);
  }
  char hex[FL_SHA256_HEX];
  fl_sha256_final(h, hex);
  if (shown) fputc('\n', s->o->err);
  if (out == SENT && strcmp(hex, f->sha256) != 0) {
    fl_cli_session_error(s, "%s changed while it was being uploaded; run "
                         "the command again", f->resolved);
    out = LOCAL_FAILURE;
  }
  return out;
}

static int put_blob(fl_cli_session *s, const fl_cli_data_file *f,
                    unsigned char *chunk) {
  int fd = open(f->resolved, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    fl_cli_session_error(s, "cannot open %s (%s): %s", f->resolved, f->key,
                         strerror(errno));
    return FL_EXIT_FAILED;
  }
  fl_jw w;
  int64_t id = fl_cli_request_begin(s, &w, "blob_put");
  fl_jw_str(&w, "sha256", f->sha256);
  fl_jw_int(&w, "size", (long long)f->size);
  int rc = fl_cli_request_send(s, &w);
  send_outcome sent = rc ? SEND_FAILURE : send_file(s, f, fd, chunk);
  close(fd);
  /* After a local failure the daemon still waits for bytes that will not
   * come: waiting for its reply would hang, so the command just ends (and
   * the closed connection discards the half blob). */
  if (sent == LOCAL_FAILURE) return FL_EXIT_FAILED;
  /* After a send failure the daemon may have refused the blob (a quota)
   * and closed: its reply, if it sent one, says why. */
  fl_json *reply = NULL;
  rc = fl_cli_reply_wait(s, id, &reply);
  fl_json_free(reply);
  return sent == SENT ? rc : FL_EXIT_FAILED;
}

/* Two paths with the same bytes are one blob: checked and sent once. */
static bool same_bytes_earlier(const fl_cli_job_files *jf, int i) {
  for (int j = 0; j < i; j++)
    if (strcmp(jf->files[j].sha256, jf->files[i].sha256) == 0) return true;
  return false;
}

int fl_cli_upload(fl_cli_session *s, const fl_cli_job_files *jf) {
  if (jf->n_files == 0) return 0;
  fl_jw w;
  int64_t id = fl_cli_request_begin(s, &w, "blob_check");
  fl_jw_array_begin(&w, "blobs");
  for (int i = 0; i < jf->n_files; i++)
    if (!same_bytes_earlier(jf, i)) fl_jw_str(&w, NULL, jf->files[i].sha256);
  fl_jw_array_end(&w);
  fl_json *reply = NULL;
  int rc = fl_cli_request(s, &w, id, &reply);
  if (rc) {
    fl_json_free(reply);
    return rc;
  }
  const fl_json *missing = fl_json_get(reply, "missing");
  unsigned char *chunk = NULL;
  for (int i = 0; i < jf->n_files && rc == 0; i++) {
    const fl_cli_data_file *f = &jf->files[i];
    if (same_bytes_earlier(jf, i) || !listed(missing, f->sha256)) continue;
    if (!chunk && !(chunk = malloc(FL_FRAME_MAX_BINARY))) {
      fl_cli_session_error(s, "out of memory for the upload buffer");
      rc = FL_EXIT_FAILED;
      break;
    }
    rc = put_blob(s, f, chunk);
  }
  free(chunk);
  fl_json_free(reply);
  return rc;
}
