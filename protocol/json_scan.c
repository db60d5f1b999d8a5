/* protocol/json_scan.c — owns the lexical pre-scan that runs on a spec's
 * bytes before cJSON sees them, and the "byte N (line L, column C)" locator
 * used by every parse-level message.
 *
 * Why a pre-scan: cJSON 1.7.15 nests up to 1000 levels (we allow 16), copies
 * string bytes without checking UTF-8, keeps raw control characters, turns
 * "\u0000" (and a \u escape with bad hex digits) into a NUL that silently
 * cuts the C string short, and accepts numbers such as 01 or 1. that JSON
 * does not. One linear pass over the bytes settles all of that, allocates
 * nothing, and can say exactly where the problem is. Syntax beyond tokens
 * (commas, colons, brackets matching) is left to cJSON. */
#include <stdio.h>
#include <string.h>

#include "spec_internal.h"

void fl__json_where(const char *json, size_t len, size_t offset, char *buf,
                    size_t size) {
  size_t line = 1, line_start = 0;
  if (offset > len) offset = len;
  for (size_t i = 0; i < offset; i++) {
    if (json[i] == '\n') {
      line++;
      line_start = i + 1;
    }
  }
  snprintf(buf, size, "byte %zu (line %zu, column %zu)", offset, line,
           offset - line_start + 1);
}

static int scan_error(const char *json, size_t len, size_t offset, int code,
                      const char *what, fl_error *err) {
  char where[96];
  fl__json_where(json, len, offset, where, sizeof where);
  return fl_error_set(err, code, "spec: not valid JSON near %s: %s", where,
                      what);
}

/* Length of the well-formed UTF-8 sequence at s (Unicode table 3-7: no
 * overlong forms, no surrogates, nothing past U+10FFFF), or 0. */
static size_t utf8_sequence(const unsigned char *s, size_t avail) {
  unsigned char c = s[0];
  size_t n;
  unsigned char lo = 0x80, hi = 0xBF; /* range of the second byte */
  if (c < 0x80) return 1;
  if (c >= 0xC2 && c <= 0xDF) {
    n = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    n = 3;
    if (c == 0xE0) lo = 0xA0;
    if (c == 0xED) hi = 0x9F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4;
    if (c == 0xF0) lo = 0x90;
    if (c == 0xF4) hi = 0x8F;
  } else {
    return 0;
  }
  if (avail < n) return 0;
  if (s[1] < lo || s[1] > hi) return 0;
  for (size_t k = 2; k < n; k++) {
    if (s[k] < 0x80 || s[k] > 0xBF) return 0;
  }
  return n;
}

static int hex_value(unsigned char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/* s[*at] is the opening quote; on success *at is just past the closing one.
 * Surrogate pairing is left to cJSON, which rejects lone halves. */
static int scan_string(const char *json, size_t len, size_t *at,
                       fl_error *err) {
  const unsigned char *s = (const unsigned char *)json;
  size_t start = *at;
  size_t i = start + 1;
  while (i < len) {
    unsigned char c = s[i];
    if (c == '"') {
      *at = i + 1;
      return 0;
    }
    if (c == '\\') {
      if (i + 1 >= len) break;
      unsigned char e = s[i + 1];
      if (e == 'u') {
        unsigned code = 0;
        if (i + 6 > len) break;
        for (size_t k = 2; k < 6; k++) {
          int h = hex_value(s[i + k]);
          if (h < 0) {
            return scan_error(json, len, i, FL_EPARSE,
                              "a \\u escape needs four hex digits", err);
          }
          code = code * 16 + (unsigned)h;
        }
        if (code == 0) {
          return scan_error(json, len, i, FL_EPARSE,
                            "\\u0000 (a NUL character) is not allowed in a "
                            "string",
                            err);
        }
        i += 6;
      } else if (e != '\0' && strchr("\"\\/bfnrt", e)) {
        i += 2;
      } else {
        return scan_error(json, len, i, FL_EPARSE,
                          "unknown escape in a string (allowed: \\\" \\\\ \\/ "
                          "\\b \\f \\n \\r \\t \\uXXXX)",
                          err);
      }
      continue;
    }
    if (c < 0x20) {
      return scan_error(json, len, i, FL_EPARSE,
                        "raw control character in a string (write it as an "
                        "escape such as \\n or \\t)",
                        err);
    }
    size_t n = utf8_sequence(s + i, len - i);
    if (n == 0) {
      return scan_error(json, len, i, FL_EPARSE, "invalid UTF-8 in a string",
                        err);
    }
    i += n;
  }
  return scan_error(json, len, start, FL_EPARSE, "unterminated string", err);
}

static bool is_digit(unsigned char c) { return c >= '0' && c <= '9'; }

/* s[*at] is '-' or a digit. Checks RFC 8259's number grammar over the whole
 * run of characters cJSON would hand to strtod ([0-9+-.eE]):
 *   -? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?   */
static int scan_number(const char *json, size_t len, size_t *at,
                       fl_error *err) {
  const unsigned char *s = (const unsigned char *)json;
  size_t start = *at, i = start, end = start;
  while (end < len && (is_digit(s[end]) || s[end] == '+' || s[end] == '-' ||
                       s[end] == '.' || s[end] == 'e' || s[end] == 'E')) {
    end++;
  }
  bool ok = true;
  if (i < end && s[i] == '-') i++;
  if (i < end && s[i] == '0') {
    i++;
  } else if (i < end && is_digit(s[i])) {
    while (i < end && is_digit(s[i])) i++;
  } else {
    ok = false;
  }
  if (ok && i < end && s[i] == '.') {
    i++;
    if (!(i < end && is_digit(s[i]))) ok = false;
    while (i < end && is_digit(s[i])) i++;
  }
  if (ok && i < end && (s[i] == 'e' || s[i] == 'E')) {
    i++;
    if (i < end && (s[i] == '+' || s[i] == '-')) i++;
    if (!(i < end && is_digit(s[i]))) ok = false;
    while (i < end && is_digit(s[i])) i++;
  }
  if (!ok || i != end) {
    return scan_error(json, len, start, FL_EPARSE,
                      "malformed number (JSON numbers look like 12, -0.5 or "
                      "1e-3, without leading zeros)",
                      err);
  }
  *at = end;
  return 0;
}

int fl__json_scan(const char *json, size_t len, int max_depth, int *open_at_end,
                  fl_error *err) {
  const unsigned char *s = (const unsigned char *)json;
  size_t i = 0;
  int depth = 0;
  while (i < len) {
    unsigned char c = s[i];
    int rc = 0;
    if (c == '{' || c == '[') {
      if (++depth > max_depth) {
        char where[96];
        fl__json_where(json, len, i, where, sizeof where);
        return fl_error_set(err, FL_ETOOBIG,
                            "spec: nesting depth %d near %s exceeds the "
                            "limit of %d",
                            depth, where, max_depth);
      }
      i++;
    } else if (c == '}' || c == ']') {
      if (depth > 0) depth--; /* a mismatch is cJSON's to report */
      i++;
    } else if (c == '"') {
      rc = scan_string(json, len, &i, err);
    } else if (c == '-' || is_digit(c)) {
      rc = scan_number(json, len, &i, err);
    } else if (c < 0x20 && c != ' ' && c != '\t' && c != '\n' && c != '\r') {
      /* cJSON would skip any byte <= 32 as white space, NUL included. */
      return scan_error(json, len, i, FL_EPARSE,
                        c == 0 ? "NUL byte in the input"
                               : "control character outside a string",
                        err);
    } else {
      i++;
    }
    if (rc) return rc;
  }
  *open_at_end = depth;
  return 0;
}
