/* fuzz/fuzz_npy.c — libFuzzer harness for the dataset readers of
 * include/flatline/data.h: the same bytes as a .npy file, an IDX file
 * (possibly gzip-compressed) and a CSV file with a label column given by
 * name and by index. The daemon parses uploaded blobs with these, so any
 * bytes must give an array or a message, never a crash, a leak or an
 * allocation beyond the caps (libFuzzer's -rss_limit_mb). */
#include <stdint.h>
#include <stdlib.h>

#include "flatline/data.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A parsed array must be self-consistent. */
static void check_array(const fl_array *a) {
  if (a->ndim < 0 || a->ndim > FL_DATA_MAX_NDIM) abort();
  size_t count = 1;
  for (int i = 0; i < a->ndim; i++) count *= a->shape[i];
  if (count != a->count) abort();
  if (a->count > 0 && !a->data) abort();
  /* Touch the last element so that ASan sees a short buffer. */
  if (a->count > 0) {
    volatile float last = a->data[a->count - 1];
    (void)last;
  }
}

static void expect(int rc, const fl_error *err) {
  if (rc != 0 && (err->code != rc || err->msg[0] == '\0')) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fl_array a = {0}, x = {0}, y = {0};
  fl_error err;

  int rc = fl_npy_parse(data, size, "fuzz.npy", &a, &err);
  expect(rc, &err);
  if (rc == 0) check_array(&a);
  fl_array_free(&a);

  rc = fl_idx_parse(data, size, "fuzz.idx", &a, &err);
  expect(rc, &err);
  if (rc == 0) check_array(&a);
  fl_array_free(&a);

  const char *const names[] = {"label"};
  const int no_index[] = {-1};
  rc = fl_csv_parse(data, size, "fuzz.csv", names, no_index, 1, &x, &y, &err);
  expect(rc, &err);
  if (rc == 0) {
    check_array(&x);
    check_array(&y);
  }
  fl_array_free(&x);
  fl_array_free(&y);

  const char *const by_index[] = {NULL, NULL};
  const int indices[] = {0, 2};
  rc = fl_csv_parse(data, size, "fuzz.csv", by_index, indices, 2, &x, &y, &err);
  expect(rc, &err);
  if (rc == 0) {
    check_array(&x);
    check_array(&y);
  }
  fl_array_free(&x);
  fl_array_free(&y);
  return 0;
}
