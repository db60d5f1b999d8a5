/* common/error.c — owns the error-code names and the fl_error helpers
 * declared in flatline/common.h. */
#include "flatline/common.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const char *fl_err_name(int code) {
  switch (code) {
    case FL_OK: return "OK";
#define FL__ERRNO_NAME(name, c, text) case c: return #name;
    FL_ERRNO_MAP(FL__ERRNO_NAME)
#undef FL__ERRNO_NAME
  }
  return "UNKNOWN";
}

const char *fl_strerror(int code) {
  switch (code) {
    case FL_OK: return "success";
#define FL__ERRNO_TEXT(name, c, text) case c: return text;
    FL_ERRNO_MAP(FL__ERRNO_TEXT)
#undef FL__ERRNO_TEXT
  }
  return "unknown error";
}

int fl_error_set(fl_error *err, int code, const char *fmt, ...) {
  if (err) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    err->code = code;
  }
  return code;
}

void fl_error_prefix(fl_error *err, const char *fmt, ...) {
  if (!err) return;
  /* Room for prefix + ": " + old message; cut to the carrier's size. */
  char joined[2 * FL_ERRMSG_MAX + 2];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(joined, FL_ERRMSG_MAX, fmt, ap);
  va_end(ap);
  if (n < 0) return;
  size_t at = strlen(joined);
  memcpy(joined + at, ": ", 2);
  memcpy(joined + at + 2, err->msg, strnlen(err->msg, FL_ERRMSG_MAX - 1) + 1);
  joined[at + 2 + strnlen(err->msg, FL_ERRMSG_MAX - 1)] = '\0';
  size_t len = strlen(joined);
  if (len >= FL_ERRMSG_MAX) len = FL_ERRMSG_MAX - 1;
  memcpy(err->msg, joined, len);
  err->msg[len] = '\0';
}
