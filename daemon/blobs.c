/* daemon/blobs.c — the per-user blob store: uploaded data files kept by
 * content (state_dir/blobs/<uid>/<sha256>), so a second submit of the same
 * data uploads nothing. Uploads themselves are written by server.c into a
 * temporary file in the same folder and renamed once their hash checks. */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

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
