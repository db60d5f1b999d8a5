/* common/log.c — fl_log (flatline/common.h). Lines are written with one fprintf so that
 * threads do not interleave within a line (stdio locks the stream). */
#include "flatline/common.h"

#include <stdarg.h>
#include <stdio.h>

void fl_log(int priority, const char *fmt, ...) {
  char line[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  fprintf(stderr, "<%d>%s\n", priority, line);
}
