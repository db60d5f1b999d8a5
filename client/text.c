/* client/text.c — owns turning daemon data into terminal-safe text: the
 * sanitizer (job names and messages are written by other users on a shared
 * machine, and an escape sequence in a job name must not reach anyone's
 * terminal), display width, the terminal's width, and number / byte /
 * JSON-value cells. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "output.h"

/* Length of the valid UTF-8 sequence at s (1..4) with its code point in
 * *cp, or 0 if it is not one (overlong forms and surrogates included). */
static size_t utf8_sequence(const unsigned char *s, unsigned *cp) {
  size_t n;
  if (s[0] < 0x80) {
    *cp = s[0];
    return 1;
  }
  if ((s[0] & 0xE0) == 0xC0) {
    n = 2;
    *cp = s[0] & 0x1Fu;
  } else if ((s[0] & 0xF0) == 0xE0) {
    n = 3;
    *cp = s[0] & 0x0Fu;
  } else if ((s[0] & 0xF8) == 0xF0) {
    n = 4;
    *cp = s[0] & 0x07u;
  } else {
    return 0;
  }
  for (size_t i = 1; i < n; i++) {
    if ((s[i] & 0xC0) != 0x80) return 0; /* also stops at the NUL */
    *cp = *cp << 6 | (s[i] & 0x3Fu);
  }
  static const unsigned min_cp[5] = {0, 0, 0x80, 0x800, 0x10000};
  if (*cp < min_cp[n] || *cp > 0x10FFFF || (*cp >= 0xD800 && *cp <= 0xDFFF))
    return 0;
  return n;
}

void fl_cli_sanitize(char *dst, size_t size, const char *src) {
  /* Output is never longer than input, so dst == src works. */
  if (size == 0) return;
  size_t at = 0;
  const unsigned char *s = (const unsigned char *)(src ? src : "");
  while (*s) {
    unsigned cp = 0;
    size_t n = utf8_sequence(s, &cp);
    char repl = 0;
    if (n == 0) {
      repl = '?'; /* one stray byte at a time */
      n = 1;
    } else if (cp == '\n' || cp == '\r' || cp == '\t') {
      repl = ' ';
    } else if (cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp <= 0x9F)) {
      /* C0 and C1 controls: ESC starts sequences, and some terminals obey
       * C1's CSI (U+009B) like ESC [ */
      repl = '?';
    }
    size_t out_n = repl ? 1 : n;
    if (at + out_n + 1 > size) break; /* whole sequences only */
    if (repl) dst[at] = repl;
    else memmove(dst + at, s, n); /* dst may be src: in place is allowed */
    at += out_n;
    s += n;
  }
  dst[at] = '\0';
}

size_t fl_cli_text_width(const char *s) {
  size_t w = 0;
  for (const unsigned char *p = (const unsigned char *)s; *p; p++)
    if ((*p & 0xC0) != 0x80) w++;
  return w;
}

void fl_cli_format_metric(char *buf, size_t size, double v) {
  if (!isfinite(v)) {
    snprintf(buf, size, "nan");
    return;
  }
  double a = fabs(v);
  /* Four decimals read well for losses and accuracies; very large (a
   * diverging loss) or very small (a learning rate) values switch to
   * scientific notation instead of overflowing the column or reading 0. */
  if (a != 0 && (a >= 1e5 || a < 1e-3))
    snprintf(buf, size, "%.3e", v);
  else
    snprintf(buf, size, "%.4f", v);
}

void fl_cli_format_bytes(char *buf, size_t size, double bytes) {
  static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  size_t u = 0;
  while (bytes >= 1024 && u + 1 < sizeof units / sizeof units[0]) {
    bytes /= 1024;
    u++;
  }
  if (u == 0) snprintf(buf, size, "%.0f B", bytes);
  else snprintf(buf, size, "%.1f %s", bytes, units[u]);
}

void fl_cli_json_cell(char *buf, size_t size, const fl_json *v) {
  double d;
  bool b;
  const char *s;
  if (size == 0) return;
  if (!v || fl_json_is_null(v)) {
    snprintf(buf, size, "-");
  } else if ((s = fl_json_string(v))) {
    fl_cli_sanitize(buf, size, s[0] ? s : "-");
  } else if (fl_json_number(v, &d)) {
    if (isfinite(d) && d == floor(d) && fabs(d) < 1e15)
      snprintf(buf, size, "%.0f", d);
    else
      snprintf(buf, size, "%.4g", d);
  } else if (fl_json_bool(v, &b)) {
    snprintf(buf, size, "%s", b ? "yes" : "no");
  } else if (fl_json_array_size(v) > 0) {
    size_t at = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < fl_json_array_size(v) && at + 1 < size; i++) {
      char one[128];
      fl_cli_json_cell(one, sizeof one, fl_json_array_at(v, i));
      int n = snprintf(buf + at, size - at, "%s%s", i ? "," : "", one);
      if (n < 0) break;
      at += (size_t)n < size - at ? (size_t)n : size - at - 1;
    }
  } else {
    /* an empty array ("-") or an object (its compact text, made safe) */
    char *text = fl_json_print(v);
    fl_cli_sanitize(buf, size,
                    !text ? "?" : strcmp(text, "[]") == 0 ? "-" : text);
    free(text);
  }
}

size_t fl_cli_columns(const char *columns_env, bool tty) {
  if (columns_env && *columns_env) {
    char *end = NULL;
    unsigned long n = strtoul(columns_env, &end, 10);
    if (!*end && n >= 20 && n <= 10000) return (size_t)n;
  }
  struct winsize ws;
  if (tty && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 20)
    return ws.ws_col;
  return 0;
}
