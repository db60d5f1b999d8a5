/* client/cmd_export.c — owns `flatline export ID -o FILE`: the model arrives as
 * a reply with its size, then that many bytes in binary chunks; they go to
 * FILE.tmp, which is synced and renamed over FILE, so FILE is never seen
 * half written (and an old FILE survives a failed export). */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "session.h"

/* Largest model accepted: far above any MLP flatline trains, and below
 * what would make "size" arithmetic questionable. */
#define EXPORT_MAX_BYTES (1ull << 40)

static int write_all(int fd, const uint8_t *p, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) return -1;
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

/* Sync the folder holding path, so the rename itself survives a crash. */
static void sync_folder(const char *path) {
  const char *slash = strrchr(path, '/');
  char dir[FL_PATH_MAX];
  if (!slash) snprintf(dir, sizeof dir, ".");
  else if (slash == path) snprintf(dir, sizeof dir, "/");
  else snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
  int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) {
    fsync(fd); /* best effort: some file systems refuse it on folders */
    close(fd);
  }
}

/* Receive size bytes of binary chunks into fd. */
static int receive_model(fl_cli_session *s, int fd, uint64_t size,
                         const char *tmp) {
  uint64_t got = 0;
  while (got < size) {
    fl_frame f;
    fl_error err = {0};
    if (fl_conn_recv(&s->conn, &f, &err) < 0) {
      fl_cli_session_error(s, "the download broke after %llu of %llu bytes: %s",
                           (unsigned long long)got, (unsigned long long)size,
                           err.msg);
      return FL_EXIT_FAILED;
    }
    if (f.kind != FL_FRAME_BINARY) {
      /* most likely an error frame: show the daemon's words */
      fl_json *msg = fl_json_parse((const char *)f.data, f.len, NULL);
      char text[FL_ERRMSG_MAX];
      fl_cli_json_cell(text, sizeof text, fl_json_get(msg, "error"));
      fl_json_free(msg);
      fl_cli_session_error(s, "the download stopped after %llu of %llu "
                           "bytes: %s", (unsigned long long)got,
                           (unsigned long long)size, text);
      return FL_EXIT_FAILED;
    }
    if (f.len > size - got) {
      fl_cli_session_error(s, "the daemon sent more than the %llu bytes it "
                           "announced; the model is not written",
                           (unsigned long long)size);
      return FL_EXIT_FAILED;
    }
    if (write_all(fd, f.data, f.len) < 0) {
      fl_cli_session_error(s, "cannot write %s: %s", tmp, strerror(errno));
      return FL_EXIT_FAILED;
    }
    got += f.len;
  }
  return 0;
}

static int save(fl_cli_session *s, const char *file, uint64_t size) {
  char tmp[FL_PATH_MAX + 8];
  if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp", file) >= sizeof tmp) {
    fl_cli_session_error(s, "the output path is too long");
    return FL_EXIT_FAILED;
  }
  /* O_NOFOLLOW: a planted FILE.tmp symlink must not redirect the write. */
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC,
                0666);
  if (fd < 0) {
    fl_cli_session_error(s, "cannot create %s: %s (is the folder writable?)",
                         tmp, strerror(errno));
    return FL_EXIT_FAILED;
  }
  int rc = receive_model(s, fd, size, tmp);
  if (!rc && fsync(fd) < 0) {
    fl_cli_session_error(s, "cannot sync %s: %s", tmp, strerror(errno));
    rc = FL_EXIT_FAILED;
  }
  if (close(fd) < 0 && !rc) {
    fl_cli_session_error(s, "cannot write %s: %s", tmp, strerror(errno));
    rc = FL_EXIT_FAILED;
  }
  if (!rc && rename(tmp, file) < 0) {
    fl_cli_session_error(s, "cannot rename %s to %s: %s", tmp, file,
                         strerror(errno));
    rc = FL_EXIT_FAILED;
  }
  if (rc) unlink(tmp);
  else sync_folder(file);
  return rc;
}

static void print_written(const fl_cli_out *o, const char *job,
                          const char *file, uint64_t size, const char *format) {
  if (!o->json) {
    char name[FL_PATH_MAX];
    fl_cli_sanitize(name, sizeof name, file);
    fprintf(o->out, "wrote %s (%llu bytes, %s)\n", name,
            (unsigned long long)size, format);
    return;
  }
  fl_jw w;
  fl_jw_init(&w);
  fl_jw_object_begin(&w, NULL);
  fl_jw_str(&w, "event", "exported");
  fl_jw_str(&w, "job", job);
  fl_jw_str(&w, "file", file);
  fl_jw_int(&w, "bytes", (long long)size);
  fl_jw_str(&w, "format", format);
  fl_cli_print_jw(o, &w);
}

int fl_cli_cmd_export(const fl_cli_args *a, const fl_cli_out *o) {
  if (a->csv) return fl_cli_cmd_export_csv(a, o); /* cmd_report.c */
  fl_cli_session s;
  int rc = fl_cli_session_open(&s, a, o, "export", a->job);
  if (rc) return rc;
  fl_jw w;
  int64_t id = fl_cli_request_begin(&s, &w, "export");
  fl_jw_str(&w, "job", a->job);
  fl_json *reply = NULL;
  rc = fl_cli_request(&s, &w, id, &reply);
  double size = -1;
  if (!rc && (!fl_json_number(fl_json_get(reply, "size"), &size) ||
              !(size >= 0) || size > (double)EXPORT_MAX_BYTES ||
              size != floor(size))) {
    fl_cli_session_error(&s, "the daemon's reply gives no valid model size");
    rc = FL_EXIT_FAILED;
  }
  char format[32];
  fl_cli_json_cell(format, sizeof format, fl_json_get(reply, "format"));
  if (strcmp(format, "-") == 0) snprintf(format, sizeof format, "safetensors");
  if (!rc) rc = save(&s, a->output, (uint64_t)size);
  if (!rc) print_written(o, a->job, a->output, (uint64_t)size, format);
  fl_json_free(reply);
  fl_cli_session_close(&s);
  return rc;
}
