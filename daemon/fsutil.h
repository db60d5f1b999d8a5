/* daemon/fsutil.h — small file-system helpers for the state dir: atomic
 * replace (temp + fsync + rename + fsync of the folder), mkdir -p, reading
 * a whole small file, appending a line; and the fault-injection hook that
 * makes those writes fail, or the daemon stop dead, at a named point (for
 * the crash and full-disk tests).
 *
 * Links: nothing here follows a symbolic link in the last component of a
 * path, and fl_mkdirs follows none at all. The folders above the admin's
 * state and cache dirs may be links: the service resolves them once at
 * start (fl_path_resolve); in and below those dirs a link can only have
 * been planted, and is refused.
 *
 * On failure every function returns an FL_E* code, describes the problem
 * (naming the file) in err, and leaves the system's errno value (ENOSPC,
 * EACCES, ELOOP, ...) in errno, so that a caller can tell a full disk from
 * other trouble. */
#ifndef FL_DAEMON_FSUTIL_H
#define FL_DAEMON_FSUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "flatline/common.h"

/* Creates path and its missing parents (mode for the new ones). Every
 * component must be a real folder: a symbolic link is refused. */
int fl_mkdirs(const char *path, unsigned mode, fl_error *err);
/* For a folder an admin names: path, absolute, with the links in the
 * folders above its last component resolved (realpath of the part that
 * exists; the missing rest as written), so that fl_mkdirs accepts it when
 * the admin keeps, say, /var/lib on another disk through a link. The last
 * component stays as named: a link there is still refused. */
int fl_path_resolve(const char *path, char *out, size_t size, fl_error *err);
/* Replace path with data atomically: after a crash the file is either the
 * old or the new content, never a mix. The temp file (path.tmp.PID) is
 * created fresh (O_EXCL), never through a link, and fsynced before the
 * rename. */
int fl_write_atomic(const char *path, const void *data, size_t len,
                    fl_error *err);
/* Read a whole file (capped); *buf is malloc'd and NUL-terminated. A link
 * as the last component is refused. */
int fl_read_small(const char *path, size_t max, char **buf, size_t *len,
                  fl_error *err);
/* Append one line (a '\n' is added) with a single write(2). A write that
 * fails part-way is cut back (ftruncate) to the file's length before it,
 * so the file never keeps half a line; and an append never lands after
 * half a line that an earlier failure could not cut back. */
int fl_append_line(const char *path, const char *line, fl_error *err);
/* Takes an exclusive lock (flock) on dir/name, created if missing, for the
 * life of the process: a second daemon on the same state dir would repair
 * (cut, rewrite, remove) files the first one is writing. FL_EPERM naming
 * the folder when another process holds it. */
int fl_lock_dir(const char *dir, const char *name, fl_error *err);
/* True for a temp file fl_write_atomic leaves behind when the process dies
 * mid-write ("<name>.tmp.<digits>"). */
bool fl_is_orphan_temp(const char *name);

/* ---- fault injection ----
 * The FL_FAULT environment variable, read once when the service starts,
 * arms one fault; unset (always, outside tests) every hook is inert. Only
 * whoever starts the daemon sets its environment, so a client cannot.
 *
 *   FL_FAULT=crash:<point>[:n]   _exit(FL_FAULT_EXIT_STATUS) the n-th time
 *                                (default 1st) the point is reached
 *   FL_FAULT=enospc:<file>[:n]   from the n-th write (default 1st) of a file
 *                                of that name (job.json, events.jsonl,
 *                                checkpoint.bin, model.safetensors, ...; "*"
 *                                for any) on, every write fails with ENOSPC
 *                                as on a full disk: the n-th after writing
 *                                half its bytes (a torn append, a partial
 *                                temp file), the later ones at once.
 *
 * The crash points, each a moment between two writes of a job's state: */
#define FL_FAULT_POINTS(X)                                                    \
  X(EPOCH_LOGGED, "epoch_logged",                                             \
    "an epoch's line is in the log, its checkpoint is not yet written")       \
  X(MODEL_SAVED, "model_saved",                                               \
    "model.safetensors is written, the verdict and end are not")              \
  X(VERDICT_LOGGED, "verdict_logged",                                         \
    "the verdict line is in the log, the final state is not yet saved")       \
  X(FINAL_SAVED, "final_saved",                                               \
    "job.json holds the final state, the end line is not yet logged")         \
  X(CANCEL_SEEN, "cancel_seen",                                               \
    "a cancel is saved and the worker saw it, but has not ended the job")

typedef enum {
#define FL__FAULT_ENUM(name, text, when) FL_FAULT_##name,
  FL_FAULT_POINTS(FL__FAULT_ENUM)
#undef FL__FAULT_ENUM
  FL_FAULT_POINT_COUNT
} fl_fault_point;

/* The exit status of an injected crash: flatlined exits 0 or 1 otherwise,
 * so a test can tell that the daemon stopped at the point it named. */
#define FL_FAULT_EXIT_STATUS 86

/* Arms the fault described by spec (FL_FAULT's value; NULL or "" leaves
 * everything inert). A spec that names no known point is an error, so that
 * a mistyped test fails instead of silently injecting nothing. */
int fl_fault_arm(const char *spec, fl_error *err);
/* Stops the process dead (no cleanup, as a crash would) when the armed
 * crash point is p and this is its n-th time. Thread-safe. */
void fl_fault_crash_point(fl_fault_point p);

#endif
