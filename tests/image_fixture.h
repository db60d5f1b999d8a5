/* tests/image_fixture.h — small image data sets as .npy files, for the
 * end-to-end tests of conv models that take their image shape from the
 * file's header (issue 13). Include after <cmocka.h>, whose asserts it
 * uses; its functions are static. */
#ifndef FL_TESTS_IMAGE_FIXTURE_H
#define FL_TESTS_IMAGE_FIXTURE_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* A format 1.0 .npy at folder/name of float32 (v) or int32 (ids, when v
 * is NULL) values, n of them, with the shape text `shape` ("(40, 6, 5,
 * 2)"); the header padded to 64 bytes as numpy writes it. The values are
 * written in host order: the tests run on little-endian hosts. */
static void image_npy_write(const char *folder, const char *name,
                            const char *shape, const float *v,
                            const int32_t *ids, size_t n) {
  char dict[128], path[256];
  int len = snprintf(dict, sizeof dict,
                     "{'descr': '%s', 'fortran_order': False, 'shape': %s, }",
                     v ? "<f4" : "<i4", shape);
  size_t hlen = ((10 + (size_t)len + 1 + 63) / 64) * 64 - 10;
  snprintf(path, sizeof path, "%s/%s", folder, name);
  FILE *f = fopen(path, "wb");
  assert_non_null(f);
  fwrite("\x93NUMPY\x01\x00", 1, 8, f);
  fputc((int)(hlen & 0xff), f);
  fputc((int)(hlen >> 8), f);
  fputs(dict, f);
  for (size_t i = (size_t)len; i < hlen - 1; i++) fputc(' ', f);
  fputc('\n', f);
  assert_int_equal(fwrite(v ? (const void *)v : (const void *)ids, 4, n, f), n);
  assert_int_equal(fclose(f), 0);
}

/* rows 6x5x2 colour images of 3 classes: features (rows, ...) with the
 * shape text x_shape (the 60 values of a row in any shape: "(40, 6, 5,
 * 2)", "(40, 5, 6, 2)") into folder/x_name, class ids (rows,) into
 * folder/y_name. Class c adds 2 to some pixels of channel c % 2, so that
 * a small model learns something. */
static void image_set_write(const char *folder, const char *x_name,
                            const char *y_name, int rows,
                            const char *x_shape) {
  float *x = malloc((size_t)rows * 60 * sizeof *x);
  int32_t *y = malloc((size_t)rows * sizeof *y);
  assert_true(x && y);
  unsigned s = 7;
  for (int r = 0; r < rows; r++) {
    y[r] = r % 3;
    for (int j = 0; j < 60; j++) {
      s = s * 1103515245u + 12345u;
      x[r * 60 + j] = (float)((s >> 16) % 1000) / 1000.0f +
                      (j / 10 == y[r] && j % 2 == y[r] % 2 ? 2.0f : 0.0f);
    }
  }
  image_npy_write(folder, x_name, x_shape, x, NULL, (size_t)rows * 60);
  char y_shape[32];
  snprintf(y_shape, sizeof y_shape, "(%d,)", rows);
  image_npy_write(folder, y_name, y_shape, NULL, y, (size_t)rows);
  free(x);
  free(y);
}

#endif
