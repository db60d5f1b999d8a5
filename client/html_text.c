/* client/html_text.c — owns putting text that came from a job (its name,
 * evidence, class names, spec) into the report's HTML: the five
 * characters HTML gives meaning to become entities, and bytes that are
 * not valid UTF-8 or are control characters become U+FFFD, so a hostile
 * job name can neither open a tag nor break out of an attribute. */
#include <stdarg.h>
#include <stdint.h>

#include "report.h"

/* Length of the valid UTF-8 sequence at s (1-4), or 0 when invalid. */
static size_t utf8_len(const unsigned char *s) {
  unsigned c = s[0];
  size_t n;
  uint32_t cp;
  if (c < 0x80) return 1;
  if (c >= 0xc2 && c <= 0xdf) n = 2, cp = c & 0x1f;
  else if (c >= 0xe0 && c <= 0xef) n = 3, cp = c & 0x0f;
  else if (c >= 0xf0 && c <= 0xf4) n = 4, cp = c & 0x07;
  else return 0;
  for (size_t i = 1; i < n; i++) {
    if ((s[i] & 0xc0) != 0x80) return 0;
    cp = cp << 6 | (s[i] & 0x3f);
  }
  /* overlong forms, surrogates, beyond U+10FFFF */
  if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10ffff ||
      (cp >= 0xd800 && cp <= 0xdfff))
    return 0;
  return n;
}

void fl_html_text(FILE *f, const char *text) {
  if (!text) return;
  const unsigned char *s = (const unsigned char *)text;
  while (*s) {
    unsigned c = *s;
    switch (c) {
      case '&': fputs("&amp;", f); s++; continue;
      case '<': fputs("&lt;", f); s++; continue;
      case '>': fputs("&gt;", f); s++; continue;
      case '"': fputs("&quot;", f); s++; continue;
      case '\'': fputs("&#39;", f); s++; continue;
      default: break;
    }
    if ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7f) {
      fputs("\xef\xbf\xbd", f);
      s++;
      continue;
    }
    size_t n = utf8_len(s);
    if (n == 0) {
      fputs("\xef\xbf\xbd", f);
      s++;
      continue;
    }
    fwrite(s, 1, n, f);
    s += n;
  }
}

void fl_html_textf(FILE *f, const char *fmt, ...) {
  char buf[4096];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  fl_html_text(f, buf);
}
