/* daemon/fsutil.c — see fsutil.h. */
#include "fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int fl_mkdirs(const char *path, unsigned mode, fl_error *err) {
  char tmp[4096];
  size_t n = strlen(path);
  if (n == 0 || n >= sizeof tmp)
    return fl_error_set(err, FL_EINVAL, "bad folder path '%s'", path);
  memcpy(tmp, path, n + 1);
  for (char *p = tmp + 1; *p; p++) {
    if (*p != '/') continue;
    *p = '\0';
    if (mkdir(tmp, mode) != 0 && errno != EEXIST)
      return fl_error_set(err, FL_EIO, "cannot create %s: %s", tmp, strerror(errno));
    *p = '/';
  }
  if (mkdir(tmp, mode) != 0 && errno != EEXIST)
    return fl_error_set(err, FL_EIO, "cannot create %s: %s", tmp, strerror(errno));
  return 0;
}

static int write_all(int fd, const void *data, size_t len) {
  const char *p = data;
  while (len > 0) {
    ssize_t w = write(fd, p, len);
    if (w < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    p += w;
    len -= (size_t)w;
  }
  return 0;
}

int fl_write_atomic(const char *path, const void *data, size_t len,
                    fl_error *err) {
  char tmp[4200];
  int n = snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
  if (n < 0 || (size_t)n >= sizeof tmp)
    return fl_error_set(err, FL_EINVAL, "path too long: %s", path);
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
  if (fd < 0) return fl_error_set(err, FL_EIO, "cannot write %s: %s", tmp, strerror(errno));
  if (write_all(fd, data, len) != 0 || fsync(fd) != 0) {
    int e = errno;
    close(fd);
    unlink(tmp);
    return fl_error_set(err, FL_EIO, "cannot write %s: %s", tmp, strerror(e));
  }
  close(fd);
  if (rename(tmp, path) != 0) {
    int e = errno;
    unlink(tmp);
    return fl_error_set(err, FL_EIO, "cannot rename %s: %s", tmp, strerror(e));
  }
  /* The rename itself is durable only once the folder is synced. */
  char dir[4200];
  memcpy(dir, path, strlen(path) + 1);
  char *slash = strrchr(dir, '/');
  if (slash) {
    *slash = '\0';
    int dfd = open(slash == dir ? "/" : dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
      fsync(dfd);
      close(dfd);
    }
  }
  return 0;
}

int fl_read_small(const char *path, size_t max, char **buf, size_t *len,
                  fl_error *err) {
  *buf = NULL;
  *len = 0;
  FILE *f = fopen(path, "rb");
  if (!f) return fl_error_set(err, errno == ENOENT ? FL_ENOTFOUND : FL_EIO,
                              "cannot read %s: %s", path, strerror(errno));
  size_t cap = 4096, n = 0;
  char *b = malloc(cap);
  while (b) {
    if (n + 1 >= cap) {
      if (cap > max) break;
      char *nb = realloc(b, cap * 2);
      if (!nb) {
        free(b);
        b = NULL;
        break;
      }
      b = nb;
      cap *= 2;
    }
    size_t r = fread(b + n, 1, cap - n - 1, f);
    if (r == 0) break;
    n += r;
  }
  int bad = ferror(f);
  fclose(f);
  if (!b) return fl_error_set(err, FL_ENOMEM, "out of memory reading %s", path);
  if (n > max) {
    free(b);
    return fl_error_set(err, FL_ETOOBIG, "%s is larger than %zu bytes", path, max);
  }
  if (bad) {
    free(b);
    return fl_error_set(err, FL_EIO, "cannot read %s", path);
  }
  b[n] = '\0';
  *buf = b;
  *len = n;
  return 0;
}

int fl_append_line(const char *path, const char *line, fl_error *err) {
  int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
  if (fd < 0) return fl_error_set(err, FL_EIO, "cannot open %s: %s", path, strerror(errno));
  size_t n = strlen(line);
  char *buf = malloc(n + 1);
  if (!buf) {
    close(fd);
    return fl_error_set(err, FL_ENOMEM, "out of memory");
  }
  memcpy(buf, line, n);
  buf[n] = '\n';
  int rc = write_all(fd, buf, n + 1);
  int e = errno;
  free(buf);
  close(fd);
  if (rc) return fl_error_set(err, FL_EIO, "cannot append to %s: %s", path, strerror(e));
  return 0;
}
