/* data/array.c — owns fl_array's life cycle (element counting against the
 * size cap, allocation, fl_array_free) and fl_file_read, the one function
 * of the data library that touches the file system. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "data_internal.h"

void fl_array_free(fl_array *a) {
  if (!a) return;
  free(a->data);
  memset(a, 0, sizeof *a);
}

void fl__shape_text(char *buf, size_t cap, int ndim, const size_t *shape,
                    bool python) {
  size_t at = 0;
  if (cap == 0) return;
  buf[0] = '\0';
#define FL__APPEND(...)                                                  \
  do {                                                                   \
    if (at < cap) {                                                      \
      int n_ = snprintf(buf + at, cap - at, __VA_ARGS__);                \
      at = (n_ < 0) ? cap : at + (size_t)n_;                             \
    }                                                                    \
  } while (0)
  if (python) FL__APPEND("(");
  for (int i = 0; i < ndim; i++) {
    if (i > 0) FL__APPEND(python ? ", " : "x");
    FL__APPEND("%zu", shape[i]);
  }
  if (python) FL__APPEND(ndim == 1 ? ",)" : ")");
#undef FL__APPEND
}

int fl__count_elements(int ndim, const size_t *shape, const char *name,
                       const char *shape_text, size_t *count, fl_error *err) {
  size_t n = 1;
  for (int i = 0; i < ndim; i++) {
    if (!fl__mul_size(n, shape[i], &n))
      return fl_error_set(err, FL_ETOOBIG,
                          "%s: shape %s has more elements than can be "
                          "addressed",
                          fl__name(name), shape_text);
  }
  /* Every reader converts to float32: the cap is on that copy. */
  if (n > FL_DATA_MAX_BYTES / sizeof(float))
    return fl_error_set(err, FL_ETOOBIG,
                        "%s: shape %s has %zu elements, %zu MiB as float32, "
                        "over the limit of %zu MiB per file",
                        fl__name(name), shape_text, n,
                        (n / (1024 * 1024)) * sizeof(float),
                        FL_DATA_MAX_BYTES / (1024 * 1024));
  *count = n;
  return 0;
}

int fl__array_alloc(fl_array *a, const char *name, fl_error *err) {
  size_t n = a->count ? a->count : 1;
  a->data = malloc(n * sizeof(float)); /* n is capped: cannot overflow */
  if (!a->data)
    return fl_error_set(err, FL_ENOMEM,
                        "%s: cannot allocate %zu bytes for %zu values",
                        fl__name(name), n * sizeof(float), a->count);
  return 0;
}

/* strerror is not thread-safe and the daemon has threads. */
static const char *errno_text(int e, char *buf, size_t cap) {
  if (strerror_r(e, buf, cap) != 0) snprintf(buf, cap, "errno %d", e);
  return buf;
}

int fl_file_read(const char *path, size_t max_bytes, uint8_t **buf,
                 size_t *len, fl_error *err) {
  char eb[128];
  *buf = NULL;
  *len = 0;
  if (!path || !*path)
    return fl_error_set(err, FL_EINVAL, "fl_file_read: no path given");
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return fl_error_set(err, FL_EIO, "%s: cannot open: %s", path,
                        errno_text(errno, eb, sizeof eb));
  struct stat st;
  if (fstat(fd, &st) != 0) {
    int e = errno;
    close(fd);
    return fl_error_set(err, FL_EIO, "%s: cannot stat: %s", path,
                        errno_text(e, eb, sizeof eb));
  }
  if (S_ISDIR(st.st_mode)) {
    close(fd);
    return fl_error_set(err, FL_EIO, "%s: is a directory, not a file", path);
  }
  if (S_ISREG(st.st_mode) && (uintmax_t)st.st_size > max_bytes) {
    close(fd);
    return fl_error_set(err, FL_ETOOBIG,
                        "%s: file has %jd bytes, over the limit of %zu",
                        path, (intmax_t)st.st_size, max_bytes);
  }

  /* Size from fstat is a hint only: pipes have none, files can grow. One
   * spare byte lets a file at the hint's size reach EOF without a grow. */
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
