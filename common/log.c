/* common/log.c — fl_log (flatline/common.h). Lines are written with one
 * fprintf so that threads do not interleave within a line (stdio locks the
 * stream).
 *
 * Messages carry user-supplied text (job names, CSV headers, file names).
 * journald reads a "<N>" prefix at the start of each stderr line as the
 * line's priority, so a newline inside a message would let a user start a
 * line of their own at emergency priority, which journald broadcasts to
 * every terminal. Every control character (and DEL) is therefore written
 * as a visible escape: one message is always exactly one log line. */
#include "flatline/common.h"

#include <stdarg.h>
#include <stdio.h>

size_t fl_log_escape(const char *in, char *out, size_t size) {
  static const char hex[] = "0123456789abcdef";
  size_t o = 0;
  if (size == 0) return 0;
  for (const unsigned char *p = (const unsigned char *)in; *p; p++) {
    char esc[4];
    size_t n = 0;
    if (*p == '\n') esc[n++] = '\\', esc[n++] = 'n';
    else if (*p == '\t') esc[n++] = '\\', esc[n++] = 't';
    else if (*p == '\r') esc[n++] = '\\', esc[n++] = 'r';
    else if (*p == '\\') esc[n++] = '\\', esc[n++] = '\\';
    else if (*p < 0x20 || *p == 0x7f)
      esc[n++] = '\\', esc[n++] = 'x', esc[n++] = hex[*p >> 4], esc[n++] = hex[*p & 15];
    else esc[n++] = (char)*p;
    if (o + n >= size) break; /* truncate at a whole escape */
    for (size_t i = 0; i < n; i++) out[o++] = esc[i];
  }
  out[o] = '\0';
  return o;
}

void fl_log(int priority, const char *fmt, ...) {
  char line[1024], safe[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  fl_log_escape(line, safe, sizeof safe);
  fprintf(stderr, "<%d>%s\n", priority, safe);
}
