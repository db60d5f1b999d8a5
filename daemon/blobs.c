/* daemon/blobs.c — the per-user blob store: uploaded data files kept by
 * content (state_dir/blobs/<uid>/<sha256>), so a second submit of the same
 * data uploads nothing. Uploads themselves are written by server.c into a
 * temporary file in the same folder and renamed once their hash checks.
 * A blob is hashed again before each use: a disk can damage it, and a
 * truncated blob once trained silently on part of its rows. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon.h"

int fl_blob_path(const fl_daemon *d, uid_t uid, const char *sha, char *out,
                 size_t size) {
  int n = sha ? snprintf(out, size, "%s/blobs/%u/%s", d->state_dir, (unsigned)uid, sha)
              : snprintf(out, size, "%s/blobs/%u", d->state_dir, (unsigned)uid);
  return n < 0 || (size_t)n >= size ? FL_ETOOBIG : 0;
}

bool fl_blob_exists(const fl_daemon *d, uid_t uid, const char *sha,
                    uint64_t *size) {
  char path[4200];
  struct stat st;
  if (!fl_sha256_hex_valid(sha) || fl_blob_path(d, uid, sha, path, sizeof path))
    return false;
  /* lstat: a link planted in the store is not a blob. */
  if (lstat(path, &st) != 0 || !S_ISREG(st.st_mode)) return false;
  if (size) *size = (uint64_t)st.st_size;
  return true;
}

int fl_blob_verify(const fl_daemon *d, uid_t uid, const char *sha,
                   const char *spec_path, fl_error *err) {
  char path[4200];
  if (!fl_sha256_hex_valid(sha) || fl_blob_path(d, uid, sha, path, sizeof path))
    return fl_error_set(err, FL_EINVAL, "%s: not a blob name", spec_path);
  int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0)
    return fl_error_set(err, FL_ENOTFOUND, "%s: its upload (sha256 %.12s…) is "
                        "gone; submit again to upload it", spec_path, sha);
  fl_sha256 *h = fl_sha256_new();
  static _Thread_local uint8_t buf[1 << 16];
  ssize_t n;
  while ((n = read(fd, buf, sizeof buf)) > 0) fl_sha256_update(h, buf, (size_t)n);
  int e = n < 0 ? errno : 0;
  close(fd);
  char hex[FL_SHA256_HEX];
  fl_sha256_final(h, hex);
  if (e)
    return fl_error_set(err, FL_EIO, "%s: cannot read its upload: %s", spec_path,
                        strerror(e));
  /* Removed, so that the next submit uploads it again (the owner's storage
   * count keeps it until the next start: it errs on the safe side). */
  if (strcmp(hex, sha) != 0 && unlink(path) == 0)
    fl_log(FL_LOG_WARNING, "blob %s of uid %u was damaged on disk; removed",
           sha, (unsigned)uid);
  if (strcmp(hex, sha) != 0)
    return fl_error_set(err, FL_EDATA, "%s: its upload (sha256 %.12s…) is damaged "
                        "on the daemon's disk (its content now hashes to %.12s…); "
                        "submit again to upload it afresh", spec_path, sha, hex);
  return 0;
}
