/* data/array.c — owns fl_array's life cycle: element counting against the
 * size cap, shape text for messages, allocation, fl_array_free. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data_internal.h"

void fl_array_free(fl_array *a) {
  if (!a) return;
  free(a->data);
  free(a->class_names);
  memset(a, 0, sizeof *a);
}

void fl__shape_text(char *buf, size_t cap, int ndim, const size_t *shape,
                    bool python) {
  size_t at = 0;
  if (cap == 0) return;
  buf[0] = '\0';
#define FL__APPEND(...)                                                  \
  do {                                                                   \
    if (at < cap) {                                                      \
      int n_ = snprintf(buf + at, cap - at, __VA_ARGS__);                \
      at = (n_ < 0) ? cap : at + (size_t)n_;                             \
    }                                                                    \
  } while (0)
  if (python) FL__APPEND("(");
  for (int i = 0; i < ndim; i++) {
    if (i > 0) FL__APPEND(python ? ", " : "x");
    FL__APPEND("%zu", shape[i]);
  }
  if (python) FL__APPEND(ndim == 1 ? ",)" : ")");
#undef FL__APPEND
}

int fl__count_elements(int ndim, const size_t *shape, const char *name,
                       const char *shape_text, size_t *count, fl_error *err) {
  size_t n = 1;
  for (int i = 0; i < ndim; i++) {
    if (!fl__mul_size(n, shape[i], &n))
      return fl_error_set(err, FL_ETOOBIG,
                          "%s: shape %s has more elements than can be "
                          "addressed",
                          fl__name(name), shape_text);
  }
  /* Every reader converts to float32: the cap is on that copy. */
  if (n > FL_DATA_MAX_BYTES / sizeof(float))
    return fl_error_set(err, FL_ETOOBIG,
                        "%s: shape %s has %zu elements, %zu MiB as float32, "
                        "over the limit of %zu MiB per file",
                        fl__name(name), shape_text, n,
                        (n / (1024 * 1024)) * sizeof(float),
                        FL_DATA_MAX_BYTES / (1024 * 1024));
  *count = n;
  return 0;
}

int fl__array_alloc(fl_array *a, const char *name, fl_error *err) {
  size_t n = a->count ? a->count : 1;
  a->data = malloc(n * sizeof(float)); /* n is capped: cannot overflow */
  if (!a->data)
    return fl_error_set(err, FL_ENOMEM,
                        "%s: cannot allocate %zu bytes for %zu values",
                        fl__name(name), n * sizeof(float), a->count);
  return 0;
}
