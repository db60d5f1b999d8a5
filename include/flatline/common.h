/* flatline/common.h — error codes and the error-message carrier shared by
 * every flatline library (the fl_common library owns their implementation).
 *
 * Functions return 0 on success or a negative FL_E* code; when they take an
 * fl_error*, they also leave there a sentence that names what was wrong and,
 * where it can, what to do about it. Only main() exits. */
#ifndef FLATLINE_COMMON_H
#define FLATLINE_COMMON_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* One list, so that codes and names cannot drift apart. */
#define FL_ERRNO_MAP(X)                                                     \
  X(INVAL, -1, "invalid argument")                                          \
  X(NOMEM, -2, "out of host memory")                                        \
  X(IO, -3, "input/output error")                                           \
  X(PARSE, -4, "malformed input")                                           \
  X(SPEC, -5, "invalid job spec")                                           \
  X(DATA, -6, "invalid data")                                               \
  X(TOOBIG, -7, "input exceeds a size limit")                               \
  X(NODEV, -8, "no usable OpenCL device")                                   \
  X(CL, -9, "OpenCL error")                                                 \
  X(BLAS, -10, "CLBlast error")                                             \
  X(DEVMEM, -11, "device out of memory")                                    \
  X(LABELS, -12, "labels do not fit the model")                             \
  X(UNSUPPORTED, -13, "not supported")                                      \
  X(CANCELED, -14, "cancelled")                                             \
  X(CONNECTION, -15, "connection failed or closed")                         \
  X(PERM, -16, "permission denied")                                         \
  X(NOTFOUND, -17, "not found")

typedef enum {
  FL_OK = 0,
#define FL__ERRNO_ENUM(name, code, text) FL_E##name = code,
  FL_ERRNO_MAP(FL__ERRNO_ENUM)
#undef FL__ERRNO_ENUM
} fl_status;

/* Short name of a code ("EINVAL" style without the E: "INVAL"). */
const char *fl_err_name(int code);
/* One-line description of a code. */
const char *fl_strerror(int code);

#define FL_ERRMSG_MAX 512

typedef struct {
  int code;                   /* the FL_E* code last set, 0 if none */
  char msg[FL_ERRMSG_MAX];    /* human sentence, never empty once set */
} fl_error;

/* Fill err (may be NULL) with code and a printf-style message; returns code
 * so that callers can write `return fl_error_set(err, FL_EINVAL, ...)`. */
int fl_error_set(fl_error *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prepend "prefix: " to an already-set message (adds context on the way up). */
void fl_error_prefix(fl_error *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));


/* The log: one line per message on stderr with the "<N>" priority prefix
 * that journald understands (sd-daemon(3)); common/log.c. */
enum { FL_LOG_ERR = 3, FL_LOG_WARNING = 4, FL_LOG_NOTICE = 5, FL_LOG_INFO = 6,
       FL_LOG_DEBUG = 7 };

void fl_log(int priority, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Copy `in` to `out` (size bytes with the NUL) with control characters,
 * DEL and backslash written as escapes (\n, \t, \r, \\, \xNN), so that
 * user text in a message can never start a log line of its own. Cuts at a
 * whole escape; returns the length written. fl_log applies it to every
 * message. */
size_t fl_log_escape(const char *in, char *out, size_t size);

#ifdef __cplusplus
}
#endif
#endif
