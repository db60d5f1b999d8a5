/* daemon/fsutil.h — small file-system helpers for the state dir: atomic
 * replace (temp + fsync + rename + fsync of the folder), mkdir -p, reading
 * a whole small file, appending a line. */
#ifndef FL_DAEMON_FSUTIL_H
#define FL_DAEMON_FSUTIL_H

#include <stddef.h>
#include <stdint.h>

#include "flatline/common.h"

int fl_mkdirs(const char *path, unsigned mode, fl_error *err);
/* Replace path with data atomically: after a crash the file is either the
 * old or the new content, never a mix. */
int fl_write_atomic(const char *path, const void *data, size_t len,
                    fl_error *err);
/* Read a whole file (capped); *buf is malloc'd and NUL-terminated. */
int fl_read_small(const char *path, size_t max, char **buf, size_t *len,
                  fl_error *err);
/* Append one line (a '\n' is added) with a single write(2). */
int fl_append_line(const char *path, const char *line, fl_error *err);

#endif
