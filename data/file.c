/* data/file.c — owns the data library's access to the file system: opening
 * a data file (with FL_READ_NOFOLLOW: no link followed, nothing but a
 * regular file accepted, never a hang on a FIFO), reading it whole under a
 * size cap (fl_file_read, fl_file_read_ex), and reading its first bytes
 * (for fl_data_load_bound). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "data_internal.h"

/* strerror is not thread-safe and the daemon has threads. */
static const char *errno_text(int e, char *buf, size_t cap) {
  if (strerror_r(e, buf, cap) != 0) snprintf(buf, cap, "errno %d", e);
  return buf;
}

/* What a file that is not a regular one is, for messages. */
static const char *kind_text(mode_t mode) {
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISSOCK(mode)) return "a socket";
  if (S_ISLNK(mode)) return "a symbolic link";
  return "not a plain file";
}

static int link_refused(const char *path, fl_error *err) {
  return fl_error_set(err, FL_EPERM,
                      "%s: is a symbolic link; refused (data files are read "
                      "without following links: name the file itself)",
                      path);
}

static int not_regular(const char *path, mode_t mode, bool for_bound,
                       fl_error *err) {
  return fl_error_set(err, FL_EPERM,
                      "%s: is not a regular file (%s); refused%s", path,
                      kind_text(mode),
                      for_bound ? " (a load bound needs the file's size)"
                                : "");
}

int fl__file_open(const char *path, unsigned flags, bool regular_only,
                  int *fd_out, struct stat *st, fl_error *err) {
  char eb[128];
  *fd_out = -1;
  if (!path || !*path)
    return fl_error_set(err, FL_EINVAL, "no path given for a data file");
  const bool nofollow = (flags & FL_READ_NOFOLLOW) != 0;
  int oflags = O_RDONLY | O_CLOEXEC;
  /* O_NONBLOCK: opening a FIFO for reading waits for a writer otherwise;
   * with it the open returns and the type check below refuses the FIFO.
   * Reads of a regular file ignore the flag. */
  if (nofollow) oflags |= O_NOFOLLOW | O_NONBLOCK;
  if (regular_only) oflags |= O_NONBLOCK;
  int fd = open(path, oflags);
  if (fd < 0) {
    int e = errno;
    /* O_NOFOLLOW fails with ELOOP on a link, and a socket cannot be opened
     * at all (ENXIO): say which, from the path itself. */
    struct stat lst;
    if ((nofollow || regular_only) && lstat(path, &lst) == 0) {
      if (S_ISLNK(lst.st_mode) && nofollow) return link_refused(path, err);
      if (!S_ISREG(lst.st_mode) && !S_ISDIR(lst.st_mode) &&
          !S_ISLNK(lst.st_mode))
        return not_regular(path, lst.st_mode, !nofollow, err);
    }
    return fl_error_set(err, FL_EIO, "%s: cannot open: %s", path,
                        errno_text(e, eb, sizeof eb));
  }
  if (fstat(fd, st) != 0) {
    int e = errno;
    close(fd);
    return fl_error_set(err, FL_EIO, "%s: cannot stat: %s", path,
                        errno_text(e, eb, sizeof eb));
  }
  if (S_ISDIR(st->st_mode)) {
    close(fd);
    return fl_error_set(err, FL_EIO, "%s: is a directory, not a file", path);
  }
  if ((nofollow || regular_only) && !S_ISREG(st->st_mode)) {
    close(fd);
    return not_regular(path, st->st_mode, !nofollow, err);
  }
  *fd_out = fd;
  return 0;
}

int fl__file_read_head(int fd, const char *path, uint8_t *buf, size_t want,
                       size_t *got, fl_error *err) {
  char eb[128];
  size_t have = 0;
  while (have < want) {
    ssize_t n = pread(fd, buf + have, want - have, (off_t)have);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fl_error_set(err, FL_EIO, "%s: read failed after %zu bytes: %s",
                          path, have, errno_text(errno, eb, sizeof eb));
    }
    if (n == 0) break;
    have += (size_t)n;
  }
  *got = have;
  return 0;
}

int fl_file_read_ex(const char *path, size_t max_bytes, unsigned flags,
                    uint8_t **buf, size_t *len, fl_error *err) {
  char eb[128];
  *buf = NULL;
  *len = 0;
  int fd;
  struct stat st;
  int rc = fl__file_open(path, flags, false, &fd, &st, err);
  if (rc) return rc;
  if (S_ISREG(st.st_mode) && (uintmax_t)st.st_size > max_bytes) {
    close(fd);
    return fl_error_set(err, FL_ETOOBIG,
                        "%s: file has %jd bytes, over the limit of %zu",
                        path, (intmax_t)st.st_size, max_bytes);
  }

  /* Size from fstat is a hint only: pipes have none, files can grow. One
   * spare byte lets a file at the hint's size reach EOF without a grow
   * (fl_data_load_bound counts it). */
  size_t cap = 64 * 1024;
  if (S_ISREG(st.st_mode)) cap = (size_t)st.st_size + 1;
  if (max_bytes < SIZE_MAX && cap > max_bytes + 1) cap = max_bytes + 1;
  uint8_t *data = malloc(cap ? cap : 1);
  size_t have = 0;
  if (!data) {
    close(fd);
    return fl_error_set(err, FL_ENOMEM, "%s: cannot allocate %zu bytes",
                        path, cap);
  }
  for (;;) {
    if (have == cap) {
      if (have > max_bytes) {
        free(data);
        close(fd);
        return fl_error_set(err, FL_ETOOBIG,
                            "%s: file is larger than the limit of %zu bytes",
                            path, max_bytes);
      }
      size_t grown = (cap > SIZE_MAX / 2) ? SIZE_MAX : cap * 2;
      if (max_bytes < SIZE_MAX && grown > max_bytes + 1) grown = max_bytes + 1;
      uint8_t *bigger = realloc(data, grown);
      if (!bigger) {
        free(data);
        close(fd);
        return fl_error_set(err, FL_ENOMEM, "%s: cannot allocate %zu bytes",
                            path, grown);
      }
      data = bigger;
      cap = grown;
    }
    ssize_t got = read(fd, data + have, cap - have);
    if (got < 0) {
      if (errno == EINTR) continue;
      int e = errno;
      free(data);
      close(fd);
      return fl_error_set(err, FL_EIO, "%s: read failed after %zu bytes: %s",
                          path, have, errno_text(e, eb, sizeof eb));
    }
    if (got == 0) break;
    have += (size_t)got;
  }
  close(fd);
  if (have > max_bytes) {
    free(data);
    return fl_error_set(err, FL_ETOOBIG,
                        "%s: file is larger than the limit of %zu bytes", path,
                        max_bytes);
  }
  *buf = data;
  *len = have;
  return 0;
}

int fl_file_read(const char *path, size_t max_bytes, uint8_t **buf,
                 size_t *len, fl_error *err) {
  return fl_file_read_ex(path, max_bytes, 0, buf, len, err);
}
