/* daemon/trust.h — refuse state and cache folders another user could
 * have prepared or could change (OpenSSH's StrictModes rule). */
#ifndef FL_DAEMON_TRUST_H
#define FL_DAEMON_TRUST_H

#include "flatline/common.h"

/* 0 when path is a real folder (not a symbolic link) owned by the
 * effective user and writable by no one else, every folder above it is
 * owned by root or that user and is not writable by others unless sticky,
 * and each of `entries` (NULL-terminated names inside path; may be NULL)
 * that exists passes the same test as path. Otherwise FL_EPERM (or FL_EIO)
 * with a message that starts with `what`, names the folder and the fix. */
int fl_dir_trust(const char *path, const char *const *entries, const char *what,
                 fl_error *err);

#endif
