/* daemon/trust.c — whether a folder the daemon keeps state in can be
 * trusted (see trust.h). The rule is OpenSSH's StrictModes: the folder is
 * owned by the daemon's user and writable by no one else, and no folder
 * above it lets another user swap it out. A folder that another user made
 * in advance (say under /tmp, before the daemon first started) would let
 * that user plant symbolic links the daemon then follows with its own
 * rights, so it is refused, with the command that fixes it. */
#define _GNU_SOURCE /* realpath with a NULL buffer is POSIX 2008; dirname */
#include "trust.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* An ancestor is safe when no one but root and us can rename or replace
 * what is in it: owned by root or us, and either not writable by group and
 * others, or sticky (like /tmp, where only an entry's owner may rename or
 * delete it). */
static int check_ancestor(const char *path, uid_t me, const char *what,
                          fl_error *err) {
  struct stat st;
  if (stat(path, &st) != 0)
    return fl_error_set(err, FL_EIO, "%s: cannot check %s: %s", what, path,
                        strerror(errno));
  if (st.st_uid != 0 && st.st_uid != me)
    return fl_error_set(err, FL_EPERM, "%s: %s, a folder above it, belongs to "
                        "uid %u, who could replace it; use a folder whose "
                        "parents belong to root or to uid %u", what, path,
                        (unsigned)st.st_uid, (unsigned)me);
  if ((st.st_mode & (S_IWGRP | S_IWOTH)) && !(st.st_mode & S_ISVTX))
    return fl_error_set(err, FL_EPERM, "%s: %s, a folder above it, is writable "
                        "by other users (mode %04o) and not sticky, so they "
                        "could replace it; run chmod go-w %s or use another "
                        "folder", what, path, (unsigned)(st.st_mode & 07777), path);
  return 0;
}

/* The folder itself (or an entry the daemon keeps in it): a real folder,
 * not a link, ours, writable by us alone. */
static int check_own_dir(const char *path, uid_t me, const char *what,
                         fl_error *err) {
  struct stat st;
  if (lstat(path, &st) != 0)
    return fl_error_set(err, FL_EIO, "%s: cannot check %s: %s", what, path,
                        strerror(errno));
  if (S_ISLNK(st.st_mode))
    return fl_error_set(err, FL_EPERM, "%s: %s is a symbolic link; give the "
                        "real folder instead, or remove the link", what, path);
  if (!S_ISDIR(st.st_mode))
    return fl_error_set(err, FL_EPERM, "%s: %s is not a folder", what, path);
  if (st.st_uid != me)
    return fl_error_set(err, FL_EPERM, "%s: %s belongs to uid %u, not to the "
                        "daemon's user (uid %u): another user may have made it "
                        "in advance; remove it, or run chown -R %u %s if you "
                        "trust its content", what, path, (unsigned)st.st_uid,
                        (unsigned)me, (unsigned)me, path);
  if (st.st_mode & (S_IWGRP | S_IWOTH))
    return fl_error_set(err, FL_EPERM, "%s: %s is writable by other users "
                        "(mode %04o); run chmod go-w %s", what, path,
                        (unsigned)(st.st_mode & 07777), path);
  return 0;
}

int fl_dir_trust(const char *path, const char *const *entries, const char *what,
                 fl_error *err) {
  uid_t me = geteuid();
  char *real = realpath(path, NULL);
  if (!real)
    return fl_error_set(err, FL_EIO, "%s: cannot resolve %s: %s", what, path,
                        strerror(errno));
  /* The path as given must not itself be a link (realpath would hide it). */
  int rc = check_own_dir(path, me, what, err);
  if (!rc) rc = check_own_dir(real, me, what, err);
  /* Every folder above it, from the parent up to /. */
  char *up = strdup(real);
  if (!rc && !up) rc = fl_error_set(err, FL_ENOMEM, "out of memory");
  while (!rc && up && strcmp(up, "/") != 0) {
    char *slash = strrchr(up, '/');
    if (slash == up) slash[1] = '\0';
    else *slash = '\0';
    rc = check_ancestor(up, me, what, err);
  }
  free(up);
  /* The daemon's own entries in it, where they exist. */
  for (int i = 0; !rc && entries && entries[i]; i++) {
    char sub[PATH_MAX + 64];
    struct stat st;
    snprintf(sub, sizeof sub, "%s/%s", real, entries[i]);
    if (lstat(sub, &st) != 0 && errno == ENOENT) continue;
    rc = check_own_dir(sub, me, what, err);
  }
  free(real);
  return rc;
}
