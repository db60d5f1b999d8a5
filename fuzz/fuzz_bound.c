/* fuzz/fuzz_bound.c — libFuzzer harness for fl_data_load_bound: the input
 * is written to a file, bounded as each form (.npy, IDX plain or gzip,
 * CSV) and parsed as each. Any bytes must give a bound or a message, never
 * a crash or a leak; and whatever a reader accepts, the bound must accept
 * too (it refuses only what the reader would), with a value no smaller
 * than the file buffer and the float32 arrays the reader returned. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "flatline/data.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char path[256];
static int fd = -1;

/* One scratch file for the whole run, removed when the process exits. */
static void remove_scratch(void) {
  if (fd >= 0) unlink(path);
}

static void open_scratch(void) {
  const char *dir = getenv("TMPDIR");
  snprintf(path, sizeof path, "%s/fuzz-bound-XXXXXX",
           dir && *dir ? dir : "/tmp");
  fd = mkstemp(path);
  if (fd < 0) abort();
  atexit(remove_scratch);
}

static void expect(int rc, const fl_error *err) {
  if (rc != 0 && (err->code != rc || err->msg[0] == '\0')) abort();
}

/* The bound of a file the reader parsed into arrays of `values` floats. */
static void check_bound(fl_data_form form, size_t size, size_t values) {
  uint64_t bound = 0;
  fl_error err;
  int rc = fl_data_load_bound(path, form, FL_READ_NOFOLLOW, &bound, &err);
  expect(rc, &err);
  if (rc != 0) abort(); /* the reader accepted what the bound refused */
  if (bound < (uint64_t)size + 1 + 4 * (uint64_t)values) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (fd < 0) open_scratch();
  if (ftruncate(fd, 0) != 0) abort();
  if (size > 0 && pwrite(fd, data, size, 0) != (ssize_t)size) abort();

  /* Every form is bounded, whatever the bytes: a message or a value. */
  static const fl_data_form forms[] = {FL_FORM_NPY, FL_FORM_IDX, FL_FORM_CSV};
  for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++) {
    uint64_t bound = 0;
    fl_error err;
    expect(fl_data_load_bound(path, forms[i], 0, &bound, &err), &err);
  }

  fl_array a = {0}, x = {0}, y = {0};
  fl_error err;
  if (fl_npy_parse(data, size, "fuzz.npy", &a, &err) == 0)
    check_bound(FL_FORM_NPY, size, a.count ? a.count : 1);
  fl_array_free(&a);
  if (fl_idx_parse(data, size, "fuzz.idx", &a, &err) == 0)
    check_bound(FL_FORM_IDX, size, a.count ? a.count : 1);
  fl_array_free(&a);
  const char *const names[] = {"label"};
  if (fl_csv_parse(data, size, "fuzz.csv", names, NULL, 1, &x, &y, &err) == 0)
    check_bound(FL_FORM_CSV, size, x.count + y.count);
  fl_array_free(&x);
  fl_array_free(&y);
  /* The spec's CSV options: a header detected (a first row of numbers is
   * data, columns named "0", "1", ...) or declared absent, another
   * delimiter, a label column of class names allowed; the bound (which
   * splits at every delimiter) holds for each. */
  const int first_col[] = {0};
  const fl_csv_options opts[] = {{FL_CSV_HEADER_AUTO, ',', true},
                                 {FL_CSV_HEADER_NO, ';', false},
                                 {FL_CSV_HEADER_AUTO, '\t', true}};
  for (size_t i = 0; i < sizeof opts / sizeof opts[0]; i++) {
    if (fl_csv_parse_ex(data, size, "fuzz.csv", &opts[i], NULL, first_col, 1,
                        &x, &y, &err) == 0)
      check_bound(FL_FORM_CSV, size, x.count + y.count);
    fl_array_free(&x);
    fl_array_free(&y);
    /* No label column: predict's unlabelled rows. */
    if (fl_csv_parse_ex(data, size, "fuzz.csv", &opts[i], NULL, NULL, 0, &x, &y,
                        &err) == 0)
      check_bound(FL_FORM_CSV, size, x.count ? x.count : 1);
    fl_array_free(&x);
    fl_array_free(&y);
  }
  return 0;
}
