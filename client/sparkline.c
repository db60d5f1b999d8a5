/* client/sparkline.c — owns the loss sparkline (▁▂▃▄▅▆▇█), the one-glance
 * answer to "is my loss flat?". */
#include <math.h>
#include <string.h>

#include "output.h"

static const char *const bars[8] = {"▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"};

/* Below this spread, relative to the values' size, a series is drawn flat:
 * 2.3026 -> 2.3019 must not look like a cliff. */
#define FLAT_SPREAD 0.01

size_t fl_cli_sparkline(char *buf, size_t size, const double *v, size_t n,
                        size_t max_width) {
  if (size) buf[0] = '\0';
  if (n == 0 || max_width == 0 || size == 0) return 0;
  size_t w = n < max_width ? n : max_width;
  if (w > (size - 1) / 3) w = (size - 1) / 3; /* 3 bytes a bar + NUL */
  if (w == 0) return 0;

  /* Bucket b averages v[b*n/w .. (b+1)*n/w); NaN when all of it is. */
  double lo = INFINITY, hi = -INFINITY;
  for (size_t b = 0; b < w; b++) {
    double sum = 0;
    size_t cnt = 0;
    for (size_t i = b * n / w; i < (b + 1) * n / w; i++)
      if (isfinite(v[i])) {
        sum += v[i];
        cnt++;
      }
    if (cnt) {
      double m = sum / (double)cnt;
      if (m < lo) lo = m;
      if (m > hi) hi = m;
    }
  }
  double spread = hi - lo;
  double scale = fmax(fabs(hi), fabs(lo));
  if (spread < FLAT_SPREAD * scale) spread = FLAT_SPREAD * scale;

  size_t at = 0;
  for (size_t b = 0; b < w; b++) {
    double sum = 0;
    size_t cnt = 0;
    for (size_t i = b * n / w; i < (b + 1) * n / w; i++)
      if (isfinite(v[i])) {
        sum += v[i];
        cnt++;
      }
    if (!cnt) {
      buf[at++] = '!';
      continue;
    }
    double m = sum / (double)cnt;
    int level = spread > 0 ? (int)lround((m - lo) / spread * 7.0) : 0;
    if (level < 0) level = 0;
    if (level > 7) level = 7;
    memcpy(buf + at, bars[level], 3);
    at += 3;
  }
  buf[at] = '\0';
  return w;
}
