/* protocol/json_writer.c — a small append-only JSON writer for events and
 * replies (see fl_jw in flatline/protocol.h). */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flatline/protocol.h"

void fl_jw_init(fl_jw *w) { memset(w, 0, sizeof *w); }

static void put(fl_jw *w, const char *s, size_t n) {
  if (w->failed) return;
  if (w->len + n + 1 > w->cap) {
    size_t cap = w->cap ? w->cap : 256;
    while (cap < w->len + n + 1) cap *= 2;
    char *b = realloc(w->buf, cap);
    if (!b) {
      w->failed = 1;
      return;
    }
    w->buf = b;
    w->cap = cap;
  }
  memcpy(w->buf + w->len, s, n);
  w->len += n;
  w->buf[w->len] = '\0';
}

static void putf(fl_jw *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void putf(fl_jw *w, const char *fmt, ...) {
  char tmp[64];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
  va_end(ap);
  if (n < 0 || (size_t)n >= sizeof tmp) {
    w->failed = 1;
    return;
  }
  put(w, tmp, (size_t)n);
}

/* Length of the valid UTF-8 sequence at p (1..4), or 0 if it is not one. */
static size_t utf8_len(const unsigned char *p) {
  if (p[0] < 0x80) return 1;
  size_t n = (p[0] & 0xE0) == 0xC0 ? 2 : (p[0] & 0xF0) == 0xE0 ? 3
             : (p[0] & 0xF8) == 0xF0 ? 4 : 0;
  if (n == 0 || (n == 2 && p[0] < 0xC2) || (n == 4 && p[0] > 0xF4)) return 0;
  for (size_t i = 1; i < n; i++)
    if ((p[i] & 0xC0) != 0x80) return 0;
  if (n == 3 && ((p[0] == 0xE0 && p[1] < 0xA0) || (p[0] == 0xED && p[1] >= 0xA0)))
    return 0; /* overlong or surrogate */
  if (n == 4 && ((p[0] == 0xF0 && p[1] < 0x90) || (p[0] == 0xF4 && p[1] >= 0x90)))
    return 0;
  return n;
}

/* Strings may carry bytes from hostile input (a file's header quoted in an
 * error): control characters are escaped and invalid UTF-8 becomes U+FFFD,
 * so that what we send is always valid JSON. */
static void put_string(fl_jw *w, const char *s) {
  put(w, "\"", 1);
  for (const unsigned char *p = (const unsigned char *)s; *p;) {
    switch (*p) {
      case '"': put(w, "\\\"", 2); p++; continue;
      case '\\': put(w, "\\\\", 2); p++; continue;
      case '\n': put(w, "\\n", 2); p++; continue;
      case '\r': put(w, "\\r", 2); p++; continue;
      case '\t': put(w, "\\t", 2); p++; continue;
      default: break;
    }
    if (*p < 0x20) {
      putf(w, "\\u%04x", *p);
      p++;
      continue;
    }
    size_t n = utf8_len(p);
    if (n == 0) {
      put(w, "\\ufffd", 6);
      p++;
    } else {
      put(w, (const char *)p, n);
      p += n;
    }
  }
  put(w, "\"", 1);
}

/* Comma and key before a value. */
static void lead(fl_jw *w, const char *key) {
  if (w->depth > 0) {
    if (!w->first[w->depth - 1]) put(w, ",", 1);
    w->first[w->depth - 1] = 0;
  }
  if (key) {
    put_string(w, key);
    put(w, ":", 1);
  }
}

static void open_(fl_jw *w, const char *key, const char *c) {
  lead(w, key);
  put(w, c, 1);
  if (w->depth >= FL_SPEC_MAX_DEPTH) {
    w->failed = 1;
    return;
  }
  w->first[w->depth++] = 1;
}

static void close_(fl_jw *w, const char *c) {
  if (w->depth == 0) {
    w->failed = 1;
    return;
  }
  w->depth--;
  put(w, c, 1);
}

void fl_jw_object_begin(fl_jw *w, const char *key) { open_(w, key, "{"); }
void fl_jw_object_end(fl_jw *w) { close_(w, "}"); }
void fl_jw_array_begin(fl_jw *w, const char *key) { open_(w, key, "["); }
void fl_jw_array_end(fl_jw *w) { close_(w, "]"); }

void fl_jw_str(fl_jw *w, const char *key, const char *v) {
  lead(w, key);
  if (v) put_string(w, v);
  else put(w, "null", 4);
}

void fl_jw_num(fl_jw *w, const char *key, double v) {
  lead(w, key);
  if (!isfinite(v)) put(w, "null", 4);
  else putf(w, "%.9g", v);
}

void fl_jw_int(fl_jw *w, const char *key, long long v) {
  lead(w, key);
  putf(w, "%lld", v);
}

void fl_jw_bool(fl_jw *w, const char *key, bool v) {
  lead(w, key);
  put(w, v ? "true" : "false", v ? 4 : 5);
}

void fl_jw_null(fl_jw *w, const char *key) {
  lead(w, key);
  put(w, "null", 4);
}

void fl_jw_raw(fl_jw *w, const char *key, const char *json) {
  lead(w, key);
  put(w, json, strlen(json));
}

char *fl_jw_finish(fl_jw *w) {
  char *out = w->failed || w->depth != 0 ? NULL : w->buf;
  if (!out) free(w->buf);
  memset(w, 0, sizeof *w);
  return out;
}
