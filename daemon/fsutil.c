/* daemon/fsutil.c — see fsutil.h. */
#define _GNU_SOURCE /* O_NOFOLLOW, O_DIRECTORY, mkdirat/openat/fstatat */
#include "fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

/* Returns rc with errno set to e: the FL_E* code for the caller, the
 * system's reason for the caller's caller (see fsutil.h). */
static int with_errno(int rc, int e) {
  errno = e;
  return rc;
}

static const char *base_name(const char *path) {
  const char *slash = strrchr(path, '/');
  return slash ? slash + 1 : path;
}

/* ---- fault injection ---- */

static const char *const fault_point_names[] = {
#define FL__FAULT_NAME(name, text, when) text,
    FL_FAULT_POINTS(FL__FAULT_NAME)
#undef FL__FAULT_NAME
};

static const char *const fault_point_when[] = {
#define FL__FAULT_WHEN(name, text, when) when,
    FL_FAULT_POINTS(FL__FAULT_WHEN)
#undef FL__FAULT_WHEN
};

/* Set once by fl_fault_arm before any thread starts; only the counter
 * changes afterwards. */
static struct {
  bool armed;
  bool crash;             /* a crash point, else a full disk */
  fl_fault_point point;   /* crash */
  char file[64];          /* enospc: the file name it hits, or "*" */
  long n;                 /* the n-th time / write */
  atomic_long count;
} fault;

enum { WRITE_OK, WRITE_TORN, WRITE_FULL };

/* Whether this write of a file named `name` is to fail as on a full disk:
 * the n-th after half its bytes (WRITE_TORN), the later ones at once. */
static int fault_on_write(const char *name) {
  if (!fault.armed || fault.crash) return WRITE_OK;
  if (strcmp(fault.file, "*") != 0 && strcmp(fault.file, name) != 0) return WRITE_OK;
  long c = atomic_fetch_add(&fault.count, 1) + 1;
  if (c < fault.n) return WRITE_OK;
  return c == fault.n ? WRITE_TORN : WRITE_FULL;
}

int fl_fault_arm(const char *spec, fl_error *err) {
  memset(&fault, 0, sizeof fault);
  if (!spec || !*spec) return 0;
  char kind[16], what[64];
  long n = 1;
  const char *colon = strchr(spec, ':');
  const char *colon2 = colon ? strchr(colon + 1, ':') : NULL;
  size_t kl = colon ? (size_t)(colon - spec) : 0;
  size_t wl = colon ? (colon2 ? (size_t)(colon2 - colon - 1) : strlen(colon + 1)) : 0;
  char *end = NULL;
  if (colon2) n = strtol(colon2 + 1, &end, 10);
  bool ok = kl > 0 && kl < sizeof kind && wl > 0 && wl < sizeof what &&
            (!colon2 || (end && !*end && end != colon2 + 1 && n >= 1));
  if (ok) {
    memcpy(kind, spec, kl);
    kind[kl] = '\0';
    memcpy(what, colon + 1, wl);
    what[wl] = '\0';
    ok = !strchr(what, '/');
  }
  if (ok && strcmp(kind, "crash") == 0) {
    for (int i = 0; i < FL_FAULT_POINT_COUNT; i++)
      if (strcmp(what, fault_point_names[i]) == 0) {
        fault.crash = true;
        fault.point = (fl_fault_point)i;
        fault.n = n;
        fault.armed = true;
      }
    ok = fault.armed;
  } else if (ok && strcmp(kind, "enospc") == 0) {
    snprintf(fault.file, sizeof fault.file, "%s", what);
    fault.n = n;
    fault.armed = true;
  } else {
    ok = false;
  }
  if (!ok) {
    char points[256] = "";
    for (int i = 0; i < FL_FAULT_POINT_COUNT; i++)
      snprintf(points + strlen(points), sizeof points - strlen(points), "%s%s",
               i ? ", " : "", fault_point_names[i]);
    return fl_error_set(err, FL_EINVAL, "FL_FAULT=%s: expected crash:<point>[:n] "
                        "(points: %s) or enospc:<file name or *>[:n], n >= 1; "
                        "unset FL_FAULT outside tests", spec, points);
  }
  fl_log(FL_LOG_WARNING, "FL_FAULT=%s is set: this daemon will fail on purpose "
         "(a test's fault injection)", spec);
  return 0;
}

void fl_fault_crash_point(fl_fault_point p) {
  if (!fault.armed || !fault.crash || fault.point != p) return;
  if (atomic_fetch_add(&fault.count, 1) + 1 != fault.n) return;
  fl_log(FL_LOG_WARNING, "FL_FAULT: stopping dead at %s: %s", fault_point_names[p],
         fault_point_when[p]);
  _exit(FL_FAULT_EXIT_STATUS);
}

/* ---- folders ---- */

int fl_mkdirs(const char *path, unsigned mode, fl_error *err) {
  char tmp[4096];
  size_t n = strlen(path);
  if (n == 0 || n >= sizeof tmp)
    return fl_error_set(err, FL_EINVAL, "bad folder path '%s'", path);
  memcpy(tmp, path, n + 1);
  /* Walk down with openat(O_NOFOLLOW): each component is opened relative
   * to its parent's descriptor, so no link is followed anywhere, and no
   * one can swap a component for a link between a check and its use. */
  int dfd = open(tmp[0] == '/' ? "/" : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) {
    int e = errno;
    return with_errno(fl_error_set(err, FL_EIO, "cannot open %s: %s",
                                   tmp[0] == '/' ? "/" : "the current folder",
                                   strerror(e)), e);
  }
  char *p = tmp;
  while (*p) {
    while (*p == '/') p++;
    if (!*p) break;
    char *slash = strchr(p, '/');
    if (slash) *slash = '\0';
    int next = openat(dfd, p, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (next < 0 && errno == ENOENT) {
      if (mkdirat(dfd, p, (mode_t)mode) != 0 && errno != EEXIST) {
        int e = errno;
        close(dfd);
        return with_errno(fl_error_set(err, FL_EIO, "cannot create %s: %s", tmp,
                                       strerror(e)), e);
      }
      next = openat(dfd, p, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    }
    if (next < 0) {
      int e = errno;
      struct stat st;
      bool link = fstatat(dfd, p, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode);
      close(dfd);
      if (link)
        return with_errno(fl_error_set(err, FL_EPERM, "%s is a symbolic link; "
                                       "flatlined follows no link inside its "
                                       "folders: replace it by a real folder "
                                       "(or name the link's target instead)", tmp),
                          ELOOP);
      if (e == ENOTDIR)
        return with_errno(fl_error_set(err, FL_EIO, "%s is not a folder; move it "
                                       "away", tmp), e);
      return with_errno(fl_error_set(err, FL_EIO, "cannot open the folder %s: %s",
                                     tmp, strerror(e)), e);
    }
    close(dfd);
    dfd = next;
    if (!slash) break;
    *slash = '/';
    p = slash + 1;
  }
  close(dfd);
  return 0;
}

/* path with the links of its longest existing part resolved and the rest
 * appended as written. */
static int resolve_existing(const char *path, char *out, size_t size, fl_error *err) {
  char head[4096];
  size_t n = strlen(path);
  if (n >= sizeof head) return fl_error_set(err, FL_EINVAL, "path too long: %s", path);
  memcpy(head, path, n + 1);
  const char *rest = ""; /* the part that does not exist yet, as written */
  for (;;) {
    char *real = realpath(head[0] ? head : ".", NULL);
    if (real) {
      int w = snprintf(out, size, "%s%s%s", real,
                       *rest && strcmp(real, "/") != 0 ? "/" : "", rest);
      free(real);
      if (w < 0 || (size_t)w >= size)
        return fl_error_set(err, FL_ETOOBIG, "%s: the resolved path is too long", path);
      return 0;
    }
    if (errno != ENOENT) {
      int e = errno;
      return with_errno(fl_error_set(err, FL_EIO, "cannot resolve %s: %s", head,
                                     strerror(e)), e);
    }
    char *slash = strrchr(head, '/');
    if (!slash) { /* a relative path's first component: resolve "." */
      rest = path;
      head[0] = '\0';
    } else {
      rest = path + (slash - head) + 1;
      if (slash == head) slash[1] = '\0'; /* keep "/" */
      else *slash = '\0';
    }
  }
}

int fl_path_resolve(const char *path, char *out, size_t size, fl_error *err) {
  char parent[4096], name[4096], real[4096];
  size_t n = strlen(path);
  while (n > 1 && path[n - 1] == '/') n--; /* "a/b/" names b */
  if (n == 0 || n >= sizeof parent)
    return fl_error_set(err, FL_EINVAL, "bad folder path '%s'", path);
  memcpy(parent, path, n);
  parent[n] = '\0';
  if (strcmp(parent, "/") == 0) {
    snprintf(out, size, "/");
    return 0;
  }
  char *slash = strrchr(parent, '/');
  snprintf(name, sizeof name, "%s", slash ? slash + 1 : parent);
  if (!slash) snprintf(parent, sizeof parent, ".");
  else if (slash == parent) slash[1] = '\0'; /* the parent is "/" */
  else *slash = '\0';
  int rc = resolve_existing(parent, real, sizeof real, err);
  if (rc) return rc;
  int w = snprintf(out, size, "%s%s%s", real, strcmp(real, "/") ? "/" : "", name);
  if (w < 0 || (size_t)w >= size)
    return fl_error_set(err, FL_ETOOBIG, "%s: the resolved path is too long", path);
  return 0;
}

/* ---- files ---- */

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

int fl_lock_dir(const char *dir, const char *name, fl_error *err) {
  char path[4200];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  int fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0640);
  if (fd < 0) {
    int e = errno;
    return with_errno(fl_error_set(err, FL_EIO, "cannot open %s: %s", path,
                                   strerror(e)), e);
  }
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    int e = errno;
    close(fd);
    if (e == EWOULDBLOCK)
      return with_errno(fl_error_set(err, FL_EPERM, "another flatlined is using "
                                     "the state dir %s; stop it first, or give "
                                     "this one another --state-dir", dir), e);
    return with_errno(fl_error_set(err, FL_EIO, "cannot lock %s: %s", path,
                                   strerror(e)), e);
  }
  return 0; /* fd stays open: the lock lasts as long as the process */
}

bool fl_is_orphan_temp(const char *name) {
  const char *t = NULL;
  for (const char *p = strstr(name, ".tmp."); p; p = strstr(p + 1, ".tmp.")) t = p;
  if (!t || t == name || !t[5]) return false;
  for (const char *d = t + 5; *d; d++)
    if (*d < '0' || *d > '9') return false;
  return true;
}

/* A fresh temp file: O_EXCL so that nothing already there (a link planted
 * to redirect the write) is opened. One left by a process that had our pid
 * and died is ours to remove. */
static int open_temp(const char *tmp) {
  for (int attempt = 0;; attempt++) {
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0640);
    if (fd >= 0 || errno != EEXIST || attempt == 1) return fd;
    if (unlink(tmp) != 0) {
      errno = EEXIST;
      return -1;
    }
  }
}

int fl_write_atomic(const char *path, const void *data, size_t len,
                    fl_error *err) {
  char tmp[4200];
  int n = snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
  if (n < 0 || (size_t)n >= sizeof tmp)
    return fl_error_set(err, FL_EINVAL, "path too long: %s", path);
  int fd = open_temp(tmp);
  if (fd < 0) {
    int e = errno;
    return with_errno(fl_error_set(err, FL_EIO, "cannot write %s (temp file %s): %s",
                                   path, base_name(tmp), strerror(e)), e);
  }
  int f = fault_on_write(base_name(path));
  int rc = write_all(fd, data, f == WRITE_FULL ? 0 : f == WRITE_TORN ? len / 2 : len);
  if (rc == 0 && f != WRITE_OK) {
    errno = ENOSPC;
    rc = -1;
  }
  if (rc == 0) rc = fsync(fd);
  int e = errno;
  if (close(fd) != 0 && rc == 0) { /* NFS reports some write errors here */
    rc = -1;
    e = errno;
  }
  if (rc != 0) {
    unlink(tmp);
    return with_errno(fl_error_set(err, FL_EIO, "cannot write %s: %s", path,
                                   strerror(e)), e);
  }
  if (rename(tmp, path) != 0) {
    e = errno;
    unlink(tmp);
    return with_errno(fl_error_set(err, FL_EIO, "cannot rename %s to %s: %s", tmp,
                                   base_name(path), strerror(e)), e);
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
  int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  FILE *f = fd >= 0 ? fdopen(fd, "rb") : NULL;
  if (!f) {
    int e = errno;
    if (fd >= 0) close(fd);
    if (e == ELOOP)
      return with_errno(fl_error_set(err, FL_EPERM, "cannot read %s: it is a "
                                     "symbolic link, and flatlined follows no "
                                     "link there", path), e);
    return with_errno(fl_error_set(err, e == ENOENT ? FL_ENOTFOUND : FL_EIO,
                                   "cannot read %s: %s", path, strerror(e)), e);
  }
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
  int bad = ferror(f) ? errno : 0;
  fclose(f);
  if (!b) return with_errno(fl_error_set(err, FL_ENOMEM, "out of memory reading %s", path), ENOMEM);
  if (n > max) {
    free(b);
    return with_errno(fl_error_set(err, FL_ETOOBIG, "%s is larger than %zu bytes",
                                   path, max), EFBIG);
  }
  if (bad) {
    free(b);
    return with_errno(fl_error_set(err, FL_EIO, "cannot read %s: %s", path,
                                   strerror(bad)), bad);
  }
  b[n] = '\0';
  *buf = b;
  *len = n;
  return 0;
}

/* The file ends with half a line (an append that failed and could not be
 * cut back at the time): cut it now, back to the last newline, so that the
 * next line starts clean instead of being glued to it. *size is updated. */
static int cut_torn_tail(int fd, const char *path, off_t *size) {
  char chunk[4096];
  char last;
  if (*size == 0) return 0;
  if (pread(fd, &last, 1, *size - 1) != 1) return -1;
  if (last == '\n') return 0;
  off_t keep = 0;
  for (off_t end = *size; end > 0 && keep == 0;) {
    off_t start = end > (off_t)sizeof chunk ? end - (off_t)sizeof chunk : 0;
    ssize_t r = pread(fd, chunk, (size_t)(end - start), start);
    if (r != end - start) return -1;
    for (ssize_t i = r - 1; i >= 0; i--)
      if (chunk[i] == '\n') {
        keep = start + i + 1;
        break;
      }
    end = start;
  }
  if (ftruncate(fd, keep) != 0) return -1;
  fl_log(FL_LOG_WARNING, "%s: cut off a torn last line (%lld bytes) before "
         "appending", path, (long long)(*size - keep));
  *size = keep;
  return 0;
}

int fl_append_line(const char *path, const char *line, fl_error *err) {
  /* O_RDWR: a torn tail is found by reading back (cut_torn_tail). */
  int fd = open(path, O_RDWR | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0640);
  if (fd < 0) {
    int e = errno;
    if (e == ELOOP)
      return with_errno(fl_error_set(err, FL_EPERM, "cannot append to %s: it is "
                                     "a symbolic link, and flatlined follows no "
                                     "link there", path), e);
    return with_errno(fl_error_set(err, FL_EIO, "cannot open %s: %s", path,
                                   strerror(e)), e);
  }
  struct stat st;
  if (fstat(fd, &st) != 0 || cut_torn_tail(fd, path, &st.st_size) != 0) {
    int e = errno;
    close(fd);
    return with_errno(fl_error_set(err, FL_EIO, "cannot append to %s: its torn "
                                   "last line cannot be cut off: %s", path,
                                   strerror(e)), e);
  }
  size_t n = strlen(line);
  char *buf = malloc(n + 1);
  if (!buf) {
    close(fd);
    return with_errno(fl_error_set(err, FL_ENOMEM, "out of memory"), ENOMEM);
  }
  memcpy(buf, line, n);
  buf[n] = '\n';
  int f = fault_on_write(base_name(path));
  int rc = write_all(fd, buf, f == WRITE_FULL ? 0 : f == WRITE_TORN ? (n + 1) / 2 : n + 1);
  if (rc == 0 && f != WRITE_OK) {
    errno = ENOSPC;
    rc = -1;
  }
  int e = errno;
  free(buf);
  if (rc != 0) {
    /* Cut the half-written line back off: the log keeps whole lines only.
     * Cutting frees blocks, so it works on a full disk too. */
    bool cut = ftruncate(fd, st.st_size) == 0;
    close(fd);
    return with_errno(fl_error_set(err, FL_EIO, "cannot append to %s: %s%s", path,
                                   strerror(e), cut ? "" : " (the partial line "
                                   "stays until the next append or start cuts it)"),
                      e);
  }
  close(fd);
  return 0;
}
