/* tests/test_data.c — cmocka tests of the data library: .npy, IDX, gzip and
 * CSV readers on inputs built in memory, dataset building, the tail split,
 * statistics, reading files (without following links), the real
 * Fashion-MNIST test set when installed, and a seeded mutation run over
 * every reader. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <cmocka.h>

#include "flatline/data.h"
#include "data_internal.h" /* FL__ZLIB_INFLATE_BYTES, for a bound's value */

/* ---- helpers ------------------------------------------------------------ */

/* Fails with the message shown when err lacks `needle`. */
#define assert_msg_has(err, needle)                                         \
  do {                                                                      \
    if (!strstr((err).msg, (needle))) {                                     \
      print_error("message \"%s\"\n  lacks \"%s\"\n", (err).msg, (needle)); \
      fail();                                                               \
    }                                                                       \
  } while (0)

/* rc is `code`, and the message names the file and says `needle`. */
#define assert_fails(rc, want, err, name, needle)                           \
  do {                                                                      \
    if ((rc) != (want))                                                     \
      print_error("rc %d (%s), expected %d; message \"%s\"\n", (rc),        \
                  fl_err_name(rc), (want), (err).msg);                      \
    assert_int_equal((rc), (want));                                         \
    assert_int_equal((err).code, (want));                                   \
    assert_msg_has((err), (name));                                          \
    assert_msg_has((err), (needle));                                        \
  } while (0)

/* rc may be a call: evaluated once. */
#define assert_ok(rc, err)                                                  \
  do {                                                                      \
    int rc_ = (rc);                                                         \
    if (rc_ != 0) print_error("rc %d: %s\n", rc_, (err).msg);               \
    assert_int_equal(rc_, 0);                                               \
  } while (0)

/* Growable byte buffer for building files. */
typedef struct {
  uint8_t *p;
  size_t len, cap;
} bytes;

static void put(bytes *b, const void *src, size_t n) {
  if (b->len + n > b->cap) {
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + n) cap *= 2;
    b->p = realloc(b->p, cap);
    assert_non_null(b->p);
    b->cap = cap;
  }
  if (n) memcpy(b->p + b->len, src, n);
  b->len += n;
}

static void put_str(bytes *b, const char *s) { put(b, s, strlen(s)); }

static void put_uint(bytes *b, uint64_t v, size_t n, bool big_endian) {
  uint8_t tmp[8];
  for (size_t i = 0; i < n; i++) {
    size_t shift = 8 * (big_endian ? n - 1 - i : i);
    tmp[i] = (uint8_t)(v >> shift);
  }
  put(b, tmp, n);
}

/* Append v as one element of a numpy-style type code ("f4", "i2", "b1"). */
static void put_elem(bytes *b, const char *code, double v, bool big_endian) {
  size_t n = (size_t)(code[1] - '0');
  if (code[0] == 'f' && n == 4) {
    float f = (float)v;
    uint32_t u;
    memcpy(&u, &f, 4);
    put_uint(b, u, 4, big_endian);
  } else if (code[0] == 'f') {
    uint64_t u;
    memcpy(&u, &v, 8);
    put_uint(b, u, 8, big_endian);
  } else if (code[0] == 'u' || code[0] == 'b') {
    put_uint(b, (uint64_t)v, n, big_endian);
  } else {
    put_uint(b, (uint64_t)(int64_t)v, n, big_endian);
  }
}

/* A .npy file: preamble for `major`, the dict text padded (as numpy does)
 * to a 64-byte boundary with a final '\n' when pad, else used as is. */
static bytes npy_file(int major, const char *dict, bool pad, const void *data,
                      size_t data_len) {
  bytes b = {0};
  size_t prefix = major == 1 ? 10 : 12;
  size_t hlen = strlen(dict);
  if (pad) hlen = ((prefix + hlen + 1 + 63) / 64) * 64 - prefix;
  put(&b, "\x93NUMPY", 6);
  uint8_t ver[2] = {(uint8_t)major, 0};
  put(&b, ver, 2);
  put_uint(&b, hlen, major == 1 ? 2 : 4, false);
  put_str(&b, dict);
  if (pad) {
    while (b.len < prefix + hlen - 1) put_str(&b, " ");
    put_str(&b, "\n");
  }
  put(&b, data, data_len);
  return b;
}

/* A .npy file of `descr` and shape text holding values v[0..n). */
static bytes npy_values(int major, const char *descr, const char *shape,
                        const double *v, size_t n) {
  bytes data = {0};
  for (size_t i = 0; i < n; i++) put_elem(&data, descr + 1, v[i], false);
  char dict[256];
  snprintf(dict, sizeof dict,
           "{'descr': '%s', 'fortran_order': False, 'shape': %s, }", descr,
           shape);
  bytes f = npy_file(major, dict, true, data.p, data.len);
  free(data.p);
  return f;
}

/* An IDX file: type code, dims, then n values big-endian. */
static bytes idx_file(uint8_t type, int ndim, const uint32_t *dims,
                      const double *v, size_t n) {
  static const char *codes[] = {[0x08] = "u1", [0x09] = "i1", [0x0B] = "i2",
                                [0x0C] = "i4", [0x0D] = "f4", [0x0E] = "f8"};
  bytes b = {0};
  uint8_t magic[4] = {0, 0, type, (uint8_t)ndim};
  put(&b, magic, 4);
  for (int i = 0; i < ndim; i++) put_uint(&b, dims[i], 4, true);
  for (size_t i = 0; i < n; i++) put_elem(&b, codes[type], v[i], true);
  return b;
}

/* gzip-wrap src (zlib's deflate with windowBits 15 + 16). */
static bytes gzip_bytes(const void *src, size_t n) {
  bytes out = {0};
  z_stream zs;
  memset(&zs, 0, sizeof zs);
  assert_int_equal(deflateInit2(&zs, 6, Z_DEFLATED, 15 + 16, 8,
                                Z_DEFAULT_STRATEGY), Z_OK);
  out.cap = deflateBound(&zs, (uLong)n);
  out.p = malloc(out.cap);
  assert_non_null(out.p);
  zs.next_in = (Bytef *)(uintptr_t)src;
  zs.avail_in = (uInt)n;
  zs.next_out = out.p;
  zs.avail_out = (uInt)out.cap;
  assert_int_equal(deflate(&zs, Z_FINISH), Z_STREAM_END);
  out.len = zs.total_out;
  deflateEnd(&zs);
  return out;
}

static size_t csv_len(const char *s) { return strlen(s); }

static int csv_by_name(const char *text, const char *label, fl_array *x,
                       fl_array *y, fl_error *err) {
  const char *names[1] = {label};
  return fl_csv_parse((const uint8_t *)text, csv_len(text), "y.csv", names,
                      NULL, 1, x, y, err);
}

/* ---- .npy --------------------------------------------------------------- */

typedef struct {
  const char *descr;
  bool integral;
  double v[6];
} dtype_case;

/* Each dtype with its extremes: expected results are (float)v. */
static const dtype_case dtype_cases[] = {
    {"<f4", false, {0, -1.5, 3.25, 1e30, -1e-30, 65504}},
    {"<f8", false, {0, -1.5, 1e-3, 1e30, 3.4e38, -7}},
    {"|u1", true, {0, 1, 127, 128, 254, 255}},
    {"<u1", true, {3, 1, 4, 1, 5, 9}},
    {"|i1", true, {-128, -1, 0, 1, 100, 127}},
    {"|b1", true, {0, 1, 1, 0, 0, 1}},
    {"<i2", true, {-32768, -1, 0, 1, 12345, 32767}},
    {"<u2", true, {0, 1, 256, 4097, 65534, 65535}},
    {"<i4", true, {-2147483648.0, -1, 0, 16777217, 2147483647.0, 7}},
    {"<u4", true, {0, 1, 65536, 16777216, 4294967295.0, 9}},
    {"<i8", true, {-4611686018427387904.0, -1, 0, 1, 9007199254740992.0, 3}},
    {"<u8", true, {0, 1, 2, 4294967296.0, 9223372036854775808.0, 5}},
};

static void test_npy_dtypes_and_versions(void **state) {
  (void)state;
  for (int major = 1; major <= 3; major++) {
    for (size_t c = 0; c < sizeof dtype_cases / sizeof dtype_cases[0]; c++) {
      const dtype_case *dc = &dtype_cases[c];
      bytes f = npy_values(major, dc->descr, "(2, 3)", dc->v, 6);
      fl_array a;
      fl_error err = {0};
      int rc = fl_npy_parse(f.p, f.len, "X.npy", &a, &err);
      if (rc) print_error("v%d %s: %s\n", major, dc->descr, err.msg);
      assert_ok(rc, err);
      assert_int_equal(a.ndim, 2);
      assert_int_equal(a.shape[0], 2);
      assert_int_equal(a.shape[1], 3);
      assert_int_equal(a.count, 6);
      assert_int_equal(a.integral, dc->integral);
      assert_string_equal(a.dtype, dc->descr);
      for (int i = 0; i < 6; i++) {
        float want = (float)dc->v[i];
        if (a.data[i] != want)
          print_error("v%d %s [%d]: got %.9g want %.9g\n", major, dc->descr,
                      i, (double)a.data[i], (double)want);
        assert_true(a.data[i] == want);
      }
      fl_array_free(&a);
      assert_null(a.data);
      free(f.p);
    }
  }
}

/* float16 (NumPy's '<f2', which people save to halve a file) read
 * exactly: zero, one, -2, the largest half (65504), the smallest
 * subnormal (2^-24), 1/3 rounded to half (0x3555 = 0.333251953125), the
 * infinities and a NaN, from their bit patterns. */
static void test_npy_float16(void **state) {
  (void)state;
  static const uint16_t bits[] = {0x0000, 0x3c00, 0xc000, 0x7bff, 0x0001,
                                  0x3555, 0x7c00, 0xfc00, 0x7e00};
  const float want[] = {0.0f, 1.0f, -2.0f, 65504.0f, 0x1p-24f, 0.333251953125f,
                        INFINITY, -INFINITY, NAN};
  bytes data = {0};
  for (size_t i = 0; i < 9; i++) put_uint(&data, bits[i], 2, false);
  bytes f = npy_file(1, "{'descr': '<f2', 'fortran_order': False, 'shape': (3, 3), }", true,
                     data.p, data.len);
  fl_array a;
  fl_error err = {0};
  int rc = fl_npy_parse(f.p, f.len, "X.npy", &a, &err);
  assert_ok(rc, err);
  assert_int_equal(a.count, 9);
  assert_false(a.integral);
  for (size_t i = 0; i < 8; i++) {
    if (a.data[i] != want[i])
      print_error("f2 [%zu]: got %.9g want %.9g\n", i, (double)a.data[i], (double)want[i]);
    assert_true(a.data[i] == want[i]);
  }
  assert_true(isnan(a.data[8]));
  fl_array_free(&a);
  free(f.p);
  free(data.p);
}

/* Fortran order (np.save of a column-major array, such as pandas'
 * DataFrame.values often is): the file holds the first index fastest, the
 * reader returns C order. Shapes (2, 3) in f8 and (2, 3, 2) in u1; value
 * i*100 + j*10 + k at [i][j][k], written column-major. One dimension is
 * the same either way; a file one element short is still refused. */
static void test_npy_fortran_order(void **state) {
  (void)state;
  static const struct {
    const char *descr, *shape;
    size_t ndim, dims[3];
  } cases[] = {{"<f8", "(2, 3)", 2, {2, 3, 1}},
               {"|u1", "(2, 3, 2)", 3, {2, 3, 2}},
               {"<f4", "(5,)", 1, {5, 1, 1}}};
  for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
    const size_t *d = cases[c].dims;
    size_t n = d[0] * d[1] * d[2];
    bytes data = {0};
    for (size_t k = 0; k < d[2]; k++) /* column-major: i fastest, k slowest */
      for (size_t j = 0; j < d[1]; j++)
        for (size_t i = 0; i < d[0]; i++)
          put_elem(&data, cases[c].descr + 1, (double)(i * 100 + j * 10 + k), false);
    char dict[128];
    snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': True, 'shape': %s, }",
             cases[c].descr, cases[c].shape);
    bytes f = npy_file(1, dict, true, data.p, data.len);
    fl_array a;
    fl_error err = {0};
    int rc = fl_npy_parse(f.p, f.len, "X.npy", &a, &err);
    assert_ok(rc, err);
    assert_int_equal(a.ndim, cases[c].ndim);
    assert_int_equal(a.count, n);
    for (size_t i = 0; i < d[0]; i++)
      for (size_t j = 0; j < d[1]; j++)
        for (size_t k = 0; k < d[2]; k++) {
          float want = (float)(i * 100 + j * 10 + k);
          float got = a.data[(i * d[1] + j) * d[2] + k];
          if (got != want)
            print_error("%s %s [%zu][%zu][%zu]: got %g want %g\n", cases[c].descr,
                        cases[c].shape, i, j, k, (double)got, (double)want);
          assert_true(got == want);
        }
    fl_array_free(&a);
    free(f.p);
    /* One element short: refused as a short file, in either order. */
    f = npy_file(1, dict, true, data.p, data.len - (data.len / n));
    rc = fl_npy_parse(f.p, f.len, "X.npy", &a, &err);
    assert_int_equal(rc, FL_EDATA);
    assert_non_null(strstr(err.msg, "truncated?"));
    free(f.p);
    free(data.p);
  }
}

static void test_npy_nan_inf_pass_through(void **state) {
  (void)state;
  double v[3] = {NAN, INFINITY, -INFINITY};
  for (int w = 0; w < 2; w++) {
    bytes f = npy_values(1, w ? "<f8" : "<f4", "(3,)", v, 3);
    fl_array a;
    fl_error err = {0};
    assert_ok(fl_npy_parse(f.p, f.len, "X.npy", &a, &err), err);
    assert_true(isnan(a.data[0]));
    assert_true(isinf(a.data[1]) && a.data[1] > 0);
    assert_true(isinf(a.data[2]) && a.data[2] < 0);
    fl_array_free(&a);
    free(f.p);
  }
}

/* Headers as numpy versions and other writers have spelled them. */
static void test_npy_header_spacing(void **state) {
  (void)state;
  static const struct {
    const char *dict;
    bool pad;
    int ndim;
  } cases[] = {
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (4,), }", true, 1},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (4,)}", true, 1},
      {"{\"descr\":\"<f4\",\"fortran_order\":False,\"shape\":(4,)}\n", false,
       1},
      {"{'shape': (2, 2), 'fortran_order': False, 'descr': '<f4'}   \n", false,
       2},
      {"{ 'descr' : '<f4' ,\n  'fortran_order' : False ,\n  'shape' : ( 4 , "
       ") , }\n", false, 1},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (4L,), }", true, 1},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (4), }", true, 1},
      {"{'descr':'<f4','fortran_order':False,'shape':(1,4,)}", false, 2},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (2,\t2), }\t\r\n",
       false, 2},
  };
  float data[4] = {1, 2, 3, 4};
  for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
    for (int major = 1; major <= 3; major += 2) {
      bytes f = npy_file(major, cases[c].dict, cases[c].pad, data, 16);
      fl_array a;
      fl_error err = {0};
      int rc = fl_npy_parse(f.p, f.len, "X.npy", &a, &err);
      if (rc) print_error("case %zu: %s\n", c, err.msg);
      assert_ok(rc, err);
      assert_int_equal(a.ndim, cases[c].ndim);
      assert_int_equal(a.count, 4);
      assert_memory_equal(a.data, data, sizeof data);
      fl_array_free(&a);
      free(f.p);
    }
  }
}

/* A 1-D .npy of 4 float32 with the given dict, padded. */
static int npy_dict_rc(const char *dict, fl_error *err) {
  float data[4] = {1, 2, 3, 4};
  bytes f = npy_file(1, dict, true, data, sizeof data);
  fl_array a;
  int rc = fl_npy_parse(f.p, f.len, "bad.npy", &a, err);
  if (rc == 0) fl_array_free(&a);
  free(f.p);
  return rc;
}

static void test_npy_malformed_header(void **state) {
  (void)state;
  static const struct {
    const char *dict;
    int code;
    const char *needle;
  } cases[] = {
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (4,) ", FL_EDATA,
       "expected ',' or '}'"},
      {"'descr': '<f4', 'fortran_order': False, 'shape': (4,)}", FL_EDATA,
       "expected '{'"},
      {"{'descr': '<f4', 'fortran_order': False}", FL_EDATA, "lacks 'shape'"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (4,), "
       "'extra': 1}", FL_EDATA, "unexpected key 'extra'"},
      {"{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, "
       "'shape': (4,)}", FL_EDATA, "key 'descr' twice"},
      {"{'descr': '<f4', 'fortran_order': 0, 'shape': (4,)}", FL_EDATA,
       "True or False"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (-4,)}", FL_EDATA,
       "non-negative integer"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': [4]}", FL_EDATA,
       "'('"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (4,)} x", FL_EDATA,
       "only padding"},
      {"{'descr': '<f4, 'fortran_order': False, 'shape': (4,)}", FL_EDATA,
       "malformed header dict"},
      {"{'descr': <f4, 'fortran_order': False, 'shape': (4,)}", FL_EDATA,
       "quoted dtype"},
      {"{'descr': '>f4', 'fortran_order': False, 'shape': (4,)}", FL_EDATA,
       "big-endian arrays are not supported; save with dtype '<f4'"},
      {"{'descr': '>i8', 'fortran_order': False, 'shape': (4,)}", FL_EDATA,
       "'<i8'"},
      {"{'descr': '<c8', 'fortran_order': False, 'shape': (8,)}", FL_EDATA,
       "dtype '<c8' is not supported"},
      {"{'descr': '|O', 'fortran_order': False, 'shape': (2,)}", FL_EDATA,
       "object array"},
      {"{'descr': '<U1', 'fortran_order': False, 'shape': (4,)}", FL_EDATA,
       "dtype '<U1' is text"},
      {"{'descr': '|S3', 'fortran_order': False, 'shape': (4,)}", FL_EDATA,
       "np.unique(y, return_inverse=True)"},
      {"{'descr': '|f4', 'fortran_order': False, 'shape': (4,)}", FL_EDATA,
       "dtype '|f4'"},
      {"{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (4,)}",
       FL_EDATA, "structured dtype"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': ()}", FL_EDATA,
       "scalar"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (1,1,1,1,1,1,1,1,"
       "4)}", FL_EDATA, "more than 8 dimensions"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (3,)}", FL_EDATA,
       "(trailing bytes)"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (5,)}", FL_EDATA,
       "needs 20 bytes of data after the header (byte 128) but 16 are "
       "present (truncated?)"},
      {"{'descr': '<f8', 'fortran_order': False, 'shape': (4,)}", FL_EDATA,
       "truncated?"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': "
       "(4611686018427387904, 4611686018427387904)}", FL_ETOOBIG,
       "more elements than can be addressed"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': "
       "(99999999999999999999999,)}", FL_ETOOBIG, "too large"},
      {"{'descr': '|u1', 'fortran_order': False, 'shape': (1099511627776,)}",
       FL_ETOOBIG, "over the limit"},
  };
  for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
    fl_error err = {0};
    int rc = npy_dict_rc(cases[c].dict, &err);
    if (rc != cases[c].code || !strstr(err.msg, cases[c].needle))
      print_error("case %zu (%s):\n  rc %d msg \"%s\"\n", c, cases[c].dict,
                  rc, err.msg);
    assert_fails(rc, cases[c].code, err, "bad.npy", cases[c].needle);
  }
}

static void test_npy_malformed_preamble(void **state) {
  (void)state;
  double v[4] = {1, 2, 3, 4};
  bytes good = npy_values(1, "<f4", "(4,)", v, 4);
  fl_array a;
  fl_error err = {0};
  int rc;

  rc = fl_npy_parse(good.p, 0, "X.npy", &a, &err);
  assert_fails(rc, FL_EDATA, err, "X.npy", "not a .npy file");
  rc = fl_npy_parse((const uint8_t *)"PK\x03\x04", 4, "X.npy", &a, &err);
  assert_fails(rc, FL_EDATA, err, "X.npy", "not a .npy file");
  rc = fl_npy_parse(good.p, 4, "X.npy", &a, &err); /* "\x93NUM" */
  assert_fails(rc, FL_EDATA, err, "X.npy", "too short");
  rc = fl_npy_parse(good.p, 9, "X.npy", &a, &err);
  assert_fails(rc, FL_EDATA, err, "X.npy", "too short");

  uint8_t *bad = malloc(good.len);
  memcpy(bad, good.p, good.len);
  bad[5] = 'Z';
  rc = fl_npy_parse(bad, good.len, "X.npy", &a, &err);
  assert_fails(rc, FL_EDATA, err, "X.npy", "not a .npy file");

  memcpy(bad, good.p, good.len);
  bad[6] = 4; /* version 4.0 */
  rc = fl_npy_parse(bad, good.len, "X.npy", &a, &err);
  assert_fails(rc, FL_EDATA, err, "X.npy", "version 4.0");

  /* Header shorter than the file says; and cut inside the header. */
  memcpy(bad, good.p, good.len);
  bad[8] = 70;
  rc = fl_npy_parse(bad, 64, "X.npy", &a, &err);
  assert_fails(rc, FL_EDATA, err, "X.npy",
               "X.npy: header ends at byte 80 but the file has 64 bytes");
  rc = fl_npy_parse(good.p, 40, "X.npy", &a, &err);
  assert_fails(rc, FL_EDATA, err, "X.npy",
               "header ends at byte 128 but the file has 40 bytes");

  /* Version 2 with its 4-byte length pointing far past the end. */
  bytes v2 = npy_values(2, "<f4", "(4,)", v, 4);
  v2.p[11] = 0x7f;
  rc = fl_npy_parse(v2.p, v2.len, "X.npy", &a, &err);
  assert_fails(rc, FL_EDATA, err, "X.npy", "header ends at byte");
  rc = fl_npy_parse(v2.p, 11, "X.npy", &a, &err);
  assert_fails(rc, FL_EDATA, err, "X.npy", "too short");

  /* A finite double beyond float32's range is refused, not made Inf. */
  double big[2] = {1.0, 1e300};
  bytes f8 = npy_values(1, "<f8", "(2,)", big, 2);
  rc = fl_npy_parse(f8.p, f8.len, "X.npy", &a, &err);
  assert_fails(rc, FL_EDATA, err, "X.npy", "element 1 is 1e+300");

  /* Byte-order-free one-byte types may say '>' or '|'. */
  double small[2] = {7, 200};
  bytes u1 = npy_values(1, ">u1", "(2,)", small, 2);
  assert_ok(fl_npy_parse(u1.p, u1.len, "X.npy", &a, &err), err);
  assert_true(a.data[1] == 200.0f);
  fl_array_free(&a);

  /* Empty arrays parse (the dataset layer refuses them). */
  bytes empty = npy_values(1, "<f4", "(0, 3)", NULL, 0);
  assert_ok(fl_npy_parse(empty.p, empty.len, "X.npy", &a, &err), err);
  assert_int_equal(a.count, 0);
  assert_int_equal(a.shape[1], 3);
  fl_array_free(&a);

  /* A NULL name still gives a message. */
  rc = fl_npy_parse(good.p, 3, NULL, &a, &err);
  assert_int_equal(rc, FL_EDATA);
  assert_true(strlen(err.msg) > 0);

  free(bad);
  free(good.p);
  free(v2.p);
  free(f8.p);
  free(u1.p);
  free(empty.p);
}

/* ---- IDX and gzip ------------------------------------------------------- */

static void test_idx_plain_types(void **state) {
  (void)state;
  static const struct {
    uint8_t type;
    const char *dtype;
    bool integral;
    double v[4];
  } cases[] = {
      {0x08, "idx-u8", true, {0, 1, 128, 255}},
      {0x09, "idx-i8", true, {-128, -1, 0, 127}},
      {0x0B, "idx-i16", true, {-32768, -2, 300, 32767}},
      {0x0C, "idx-i32", true, {-2147483648.0, -3, 70000, 16777216}},
      {0x0D, "idx-f32", false, {-1.5, 0, 0.25, 3e38}},
      {0x0E, "idx-f64", false, {-1.5, 1e-3, 0.1, -2e38}},
  };
  uint32_t dims[3] = {1, 2, 2};
  for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
    bytes f = idx_file(cases[c].type, 3, dims, cases[c].v, 4);
    for (int gz = 0; gz < 2; gz++) {
      bytes z = gz ? gzip_bytes(f.p, f.len) : f;
      fl_array a;
      fl_error err = {0};
      int rc = fl_idx_parse(z.p, z.len, "images.idx", &a, &err);
      if (rc) print_error("%s gz=%d: %s\n", cases[c].dtype, gz, err.msg);
      assert_ok(rc, err);
      assert_int_equal(a.ndim, 3);
      assert_int_equal(a.shape[0], 1);
      assert_int_equal(a.shape[1], 2);
      assert_int_equal(a.shape[2], 2);
      assert_int_equal(a.count, 4);
      assert_int_equal(a.integral, cases[c].integral);
      assert_string_equal(a.dtype, cases[c].dtype);
      for (int i = 0; i < 4; i++)
        assert_true(a.data[i] == (float)cases[c].v[i]);
      fl_array_free(&a);
      if (gz) free(z.p);
    }
    free(f.p);
  }
}

static void test_idx_malformed(void **state) {
  (void)state;
  fl_array a;
  fl_error err = {0};
  int rc;
  uint32_t mnist[3] = {60000, 28, 28};
  bytes hdr = idx_file(0x08, 3, mnist, NULL, 0);
  uint8_t pixels[1000] = {0};
  put(&hdr, pixels, sizeof pixels);
  rc = fl_idx_parse(hdr.p, hdr.len, "train-images.idx", &a, &err);
  assert_fails(rc, FL_EDATA, err, "train-images.idx",
               "train-images.idx: declares 60000x28x28 u8 = 47040000 bytes "
               "of data but 1000 are present (truncated?)");

  /* The same cut file, compressed: the inflate is capped at what the
   * header declares, and the shortfall is reported the same way. */
  bytes z = gzip_bytes(hdr.p, hdr.len);
  rc = fl_idx_parse(z.p, z.len, "train-images.idx.gz", &a, &err);
  assert_fails(rc, FL_EDATA, err, "train-images.idx.gz",
               "but 1000 are present (truncated?)");
  free(z.p);

  double v[4] = {1, 2, 3, 4};
  uint32_t d1[1] = {3};
  bytes longer = idx_file(0x08, 1, d1, v, 4);
  rc = fl_idx_parse(longer.p, longer.len, "l.idx", &a, &err);
  assert_fails(rc, FL_EDATA, err, "l.idx",
               "declares 3 u8 = 3 bytes of data but 4 are present "
               "(trailing bytes?)");
  z = gzip_bytes(longer.p, longer.len);
  rc = fl_idx_parse(z.p, z.len, "l.idx.gz", &a, &err);
  assert_fails(rc, FL_EDATA, err, "l.idx.gz", "decompresses to more");
  free(z.p);

  uint8_t bad_magic[8] = {0x50, 0x4b, 0x03, 0x04, 0, 0, 0, 1};
  rc = fl_idx_parse(bad_magic, 8, "m.idx", &a, &err);
  assert_fails(rc, FL_EDATA, err, "m.idx", "not an IDX file");
  uint8_t bad_type[9] = {0, 0, 0x0A, 1, 0, 0, 0, 1, 7};
  rc = fl_idx_parse(bad_type, 9, "t.idx", &a, &err);
  assert_fails(rc, FL_EDATA, err, "t.idx", "unknown IDX data type 0x0a");
  uint8_t zero_dims[5] = {0, 0, 0x08, 0, 7};
  rc = fl_idx_parse(zero_dims, 5, "z.idx", &a, &err);
  assert_fails(rc, FL_EDATA, err, "z.idx", "0 dimensions");
  uint8_t nine_dims[4] = {0, 0, 0x08, 9};
  rc = fl_idx_parse(nine_dims, 4, "n.idx", &a, &err);
  assert_fails(rc, FL_EDATA, err, "n.idx", "9 dimensions");
  uint8_t short_hdr[10] = {0, 0, 0x08, 3, 0, 0, 0, 1, 0, 0};
  rc = fl_idx_parse(short_hdr, 10, "s.idx", &a, &err);
  assert_fails(rc, FL_EDATA, err, "s.idx",
               "needs 16 bytes but the file has 10");
  rc = fl_idx_parse(short_hdr, 3, "s.idx", &a, &err);
  assert_fails(rc, FL_EDATA, err, "s.idx", "too short");
  rc = fl_idx_parse(short_hdr, 0, "s.idx", &a, &err);
  assert_fails(rc, FL_EDATA, err, "s.idx", "too short");

  /* 8 dims of 2^32-1: the element count overflows; 2^32 x 2^8 u8 is over
   * the cap. Neither allocates. */
  uint32_t huge[8];
  for (int i = 0; i < 8; i++) huge[i] = 0xffffffffu;
  bytes h = idx_file(0x0E, 8, huge, NULL, 0);
  rc = fl_idx_parse(h.p, h.len, "h.idx", &a, &err);
  assert_fails(rc, FL_ETOOBIG, err, "h.idx", "more elements");
  free(h.p);
  uint32_t big[2] = {0xffffffffu, 256};
  h = idx_file(0x08, 2, big, NULL, 0);
  rc = fl_idx_parse(h.p, h.len, "b.idx", &a, &err);
  assert_fails(rc, FL_ETOOBIG, err, "b.idx", "over the limit");
  free(h.p);

  free(hdr.p);
  free(longer.p);
}

static void test_gunzip(void **state) {
  (void)state;
  const char text[] = "flatline gunzip test: the quick brown fox";
  bytes z = gzip_bytes(text, sizeof text);
  uint8_t *out = NULL;
  size_t out_len = 0;
  bool is_gz = false;
  fl_error err = {0};

  /* Not gzip: nothing to do, nothing allocated. */
  assert_ok(fl_gunzip((const uint8_t *)text, sizeof text, "t", 1 << 20, &out,
                      &out_len, &is_gz, &err), err);
  assert_false(is_gz);
  assert_null(out);

  assert_ok(fl_gunzip(z.p, z.len, "t.gz", 1 << 20, &out, &out_len, &is_gz,
                      &err), err);
  assert_true(is_gz);
  assert_int_equal(out_len, sizeof text);
  assert_memory_equal(out, text, sizeof text);
  free(out);

  /* The cap is inclusive: exactly the size passes, one less fails. */
  assert_ok(fl_gunzip(z.p, z.len, "t.gz", sizeof text, &out, &out_len,
                      &is_gz, &err), err);
  free(out);
  int rc = fl_gunzip(z.p, z.len, "t.gz", sizeof text - 1, &out, &out_len,
                     &is_gz, &err);
  assert_fails(rc, FL_ETOOBIG, err, "t.gz", "more than 41 bytes");
  assert_null(out);

  /* `cat a.gz b.gz`: two members decompress to the concatenation. */
  bytes two = {0};
  put(&two, z.p, z.len);
  put(&two, z.p, z.len);
  assert_ok(fl_gunzip(two.p, two.len, "t.gz", 1 << 20, &out, &out_len, &is_gz,
                      &err), err);
  assert_int_equal(out_len, 2 * sizeof text);
  assert_memory_equal(out + sizeof text, text, sizeof text);
  free(out);

  /* Zero padding after the last member is tolerated, as gzip(1) does;
   * anything else after it is an error. */
  uint8_t zeros[5] = {0};
  put(&two, zeros, sizeof zeros);
  assert_ok(fl_gunzip(two.p, two.len, "t.gz", 1 << 20, &out, &out_len, &is_gz,
                      &err), err);
  free(out);
  put_str(&two, "junk");
  rc = fl_gunzip(two.p, two.len, "t.gz", 1 << 20, &out, &out_len, &is_gz,
                 &err);
  assert_fails(rc, FL_EDATA, err, "t.gz", "9 bytes of trailing garbage");

  /* Truncated and corrupt streams. */
  for (size_t cut = 2; cut < z.len; cut += 3) {
    rc = fl_gunzip(z.p, cut, "t.gz", 1 << 20, &out, &out_len, &is_gz, &err);
    assert_int_equal(rc, FL_EDATA);
    assert_msg_has(err, "t.gz");
    assert_null(out);
  }
  rc = fl_gunzip(z.p, z.len - 4, "t.gz", 1 << 20, &out, &out_len, &is_gz,
                 &err);
  assert_fails(rc, FL_EDATA, err, "t.gz", "truncated?");
  uint8_t *bad = malloc(z.len);
  memcpy(bad, z.p, z.len);
  bad[z.len - 6] ^= 0xff; /* CRC */
  rc = fl_gunzip(bad, z.len, "t.gz", 1 << 20, &out, &out_len, &is_gz, &err);
  assert_fails(rc, FL_EDATA, err, "t.gz", "corrupt gzip data");
  free(bad);

  /* An empty member gives an empty, still allocated, buffer. */
  bytes ez = gzip_bytes("", 0);
  assert_ok(fl_gunzip(ez.p, ez.len, "e.gz", 0, &out, &out_len, &is_gz, &err),
            err);
  assert_non_null(out);
  assert_int_equal(out_len, 0);
  free(out);

  free(ez.p);
  free(two.p);
  free(z.p);
}

static long max_rss_kib(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss;
}

/* 100 MB of zeros in ~100 KB of gzip, against a 1 MiB cap. */
static void test_gunzip_bomb(void **state) {
  (void)state;
  static const uint8_t zeros[1 << 20];
  bytes z = {0};
  z_stream zs;
  memset(&zs, 0, sizeof zs);
  assert_int_equal(deflateInit2(&zs, 9, Z_DEFLATED, 15 + 16, 9,
                                Z_DEFAULT_STRATEGY), Z_OK);
  uint8_t chunk[1 << 16];
  for (int i = 0; i <= 100; i++) {
    zs.next_in = (Bytef *)(uintptr_t)zeros;
    zs.avail_in = i < 100 ? sizeof zeros : 0;
    int flush = i < 100 ? Z_NO_FLUSH : Z_FINISH;
    do {
      zs.next_out = chunk;
      zs.avail_out = sizeof chunk;
      int zr = deflate(&zs, flush);
      assert_true(zr == Z_OK || zr == Z_STREAM_END || zr == Z_BUF_ERROR);
      put(&z, chunk, sizeof chunk - zs.avail_out);
    } while (zs.avail_out == 0);
  }
  deflateEnd(&zs);
  assert_true(z.len < 200 * 1024);

  long before = max_rss_kib();
  uint8_t *out = NULL;
  size_t out_len = 0;
  bool is_gz = false;
  fl_error err = {0};
  int rc = fl_gunzip(z.p, z.len, "bomb.gz", 1 << 20, &out, &out_len, &is_gz,
                     &err);
  assert_fails(rc, FL_ETOOBIG, err, "bomb.gz", "more than 1048576 bytes");
  assert_null(out);
  long grew_kib = max_rss_kib() - before;
  /* Decompressing it all would have needed 100 MB (and realloc copies). */
  if (grew_kib > 16 * 1024) print_error("peak RSS grew %ld KiB\n", grew_kib);
  assert_true(grew_kib < 16 * 1024);

  /* Behind an IDX header declaring 16 bytes of data, the same bomb stops
   * at 16 bytes too. */
  uint32_t dims[2] = {4, 4};
  bytes hdr = idx_file(0x08, 2, dims, NULL, 0);
  bytes hz = gzip_bytes(hdr.p, hdr.len);
  bytes both = {0};
  put(&both, hz.p, hz.len);
  put(&both, z.p, z.len);
  fl_array a;
  rc = fl_idx_parse(both.p, both.len, "bomb.idx.gz", &a, &err);
  assert_fails(rc, FL_EDATA, err, "bomb.idx.gz", "decompresses to more");
  assert_true(max_rss_kib() - before < 16 * 1024);
  free(hdr.p);
  free(hz.p);
  free(both.p);
  free(z.p);
}

/* `copies` gzip members of the same bytes, as `cat a.gz a.gz ...` writes:
 * a bomb of any size from one small deflate. */
static bytes gzip_repeated(const void *unit, size_t n, int copies) {
  bytes one = gzip_bytes(unit, n), all = {0};
  for (int i = 0; i < copies; i++) put(&all, one.p, one.len);
  free(one.p);
  return all;
}

/* The inflation-ratio cap: issue 11's IDX of 262144x32x32 zeros (about
 * 260 KB of gzip) used to inflate to 256 MiB and become 1 GiB of float32;
 * now inflating stops at 64:1, before the big buffers exist. */
static void test_gunzip_ratio_cap(void **state) {
  (void)state;
  static const uint8_t zeros[1 << 20];
  fl_error err = {0};
  uint8_t *out = NULL;
  size_t out_len = 0;
  bool is_gz = false;

  uint32_t dims[3] = {262144, 32, 32};
  bytes hdr = idx_file(0x08, 3, dims, NULL, 0);
  bytes bomb = gzip_bytes(hdr.p, hdr.len);
  bytes body = gzip_repeated(zeros, sizeof zeros, 256);
  put(&bomb, body.p, body.len);
  assert_true(bomb.len < 300 * 1024);
  long before = max_rss_kib();
  fl_array a;
  int rc = fl_idx_parse(bomb.p, bomb.len, "bomb.idx.gz", &a, &err);
  assert_fails(rc, FL_ETOOBIG, err, "bomb.idx.gz", "over the limit of 64:1");
  assert_msg_has(err, "a ratio of over 64:1");
  assert_null(a.data);
  long grew_kib = max_rss_kib() - before;
  if (grew_kib > 64 * 1024) print_error("peak RSS grew %ld KiB\n", grew_kib);
  assert_true(grew_kib < 64 * 1024);

  /* fl_gunzip applies the cap below a larger max_out: 32 MiB of zeros in
   * 32 KB stop at 64 times the input. */
  bytes z32 = gzip_repeated(zeros, sizeof zeros, 32);
  rc = fl_gunzip(z32.p, z32.len, "z.gz", (size_t)1 << 30, &out, &out_len,
                 &is_gz, &err);
  assert_fails(rc, FL_ETOOBIG, err, "z.gz", "inflate to more than");
  assert_msg_has(err, "over the limit of 64:1 for data over 16 MiB");
  assert_null(out);
  /* A lower max_out is still the limit that speaks. */
  rc = fl_gunzip(z32.p, z32.len, "z.gz", 1 << 20, &out, &out_len, &is_gz,
                 &err);
  assert_fails(rc, FL_ETOOBIG, err, "z.gz", "more than 1048576 bytes");

  /* Under the floor any ratio passes: 16 MiB of zeros (~1000:1). */
  bytes z16 = gzip_repeated(zeros, sizeof zeros, 16);
  assert_ok(fl_gunzip(z16.p, z16.len, "z.gz", (size_t)1 << 30, &out,
                      &out_len, &is_gz, &err), err);
  assert_int_equal(out_len, FL_GZIP_RATIO_FLOOR);
  free(out);

  /* Over the floor, data at a real-world ratio passes: 24 MiB of 4-bit
   * noise compress about 2:1, like Fashion-MNIST. */
  size_t n = (size_t)24 << 20;
  uint8_t *noise = malloc(n);
  assert_non_null(noise);
  uint64_t x = 88172645463325252ull;
  for (size_t i = 0; i < n; i++) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    noise[i] = (uint8_t)(x & 0x0f);
  }
  bytes zn = gzip_bytes(noise, n);
  assert_ok(fl_gunzip(zn.p, zn.len, "n.gz", (size_t)1 << 30, &out, &out_len,
                      &is_gz, &err), err);
  assert_int_equal(out_len, n);
  assert_memory_equal(out, noise, n);
  free(out);

  free(noise);
  free(zn.p);
  free(z16.p);
  free(z32.p);
  free(body.p);
  free(bomb.p);
  free(hdr.p);
}

/* ---- CSV ---------------------------------------------------------------- */

static void test_csv_label_by_name_and_index(void **state) {
  (void)state;
  const char *text =
      "sepal,label,petal\n"
      "1.5,0,-2\n"
      "2.5,2,1e3\n"
      "3,1,nan\n";
  fl_array x, y;
  fl_error err = {0};
  assert_ok(csv_by_name(text, "label", &x, &y, &err), err);
  assert_int_equal(x.ndim, 2);
  assert_int_equal(x.shape[0], 3);
  assert_int_equal(x.shape[1], 2);
  assert_int_equal(y.ndim, 1);
  assert_int_equal(y.shape[0], 3);
  assert_true(y.integral);
  assert_false(x.integral);
  const float want_x[6] = {1.5f, -2, 2.5f, 1000, 3, NAN};
  for (int i = 0; i < 5; i++) assert_true(x.data[i] == want_x[i]);
  assert_true(isnan(x.data[5]));
  assert_true(y.data[0] == 0 && y.data[1] == 2 && y.data[2] == 1);
  fl_array_free(&x);
  fl_array_free(&y);

  /* The same column by index (0-based), names NULL or "". */
  const int idx[1] = {1};
  assert_ok(fl_csv_parse((const uint8_t *)text, strlen(text), "y.csv", NULL,
                         idx, 1, &x, &y, &err), err);
  assert_true(x.data[1] == -2 && y.data[1] == 2);
  fl_array_free(&x);
  fl_array_free(&y);
  const char *empty_names[1] = {""};
  const int first[1] = {0};
  /* "sepal" as the label: 1.5 is not a class id. */
  int rc = fl_csv_parse((const uint8_t *)text, strlen(text), "y.csv",
                        empty_names, first, 1, &x, &y, &err);
  assert_fails(rc, FL_EDATA, err, "y.csv",
               "line 2, column 1 (\"sepal\"): expected an integer class id");
}

/* A header-less CSV: detected when every field of line 1 is a number (the
 * first row is data, never eaten), or declared; columns then named "0",
 * "1", ... as pandas' header=None; other delimiters. */
static void test_csv_header_detection_and_delimiter(void **state) {
  (void)state;
  fl_array x, y;
  fl_error err = {0};
  const char *rows = "1.5,2,0\n3,4.5,1\n5,6,2\n";
  const int last[1] = {2};
  assert_ok(fl_csv_parse_ex((const uint8_t *)rows, strlen(rows), "n.csv", NULL,
                            NULL, last, 1, &x, &y, &err), err);
  assert_int_equal(x.shape[0], 3); /* the first row kept */
  assert_true(x.data[0] == 1.5f && y.data[0] == 0 && y.data[2] == 2);
  fl_array_free(&x);
  fl_array_free(&y);
  /* By name: the synthesized one works; a header name says why not. */
  const char *by_index_name[1] = {"2"};
  assert_ok(fl_csv_parse_ex((const uint8_t *)rows, strlen(rows), "n.csv", NULL,
                            by_index_name, NULL, 1, &x, &y, &err), err);
  assert_int_equal(x.shape[0], 3);
  fl_array_free(&x);
  fl_array_free(&y);
  const char *label[1] = {"label"};
  int rc = fl_csv_parse_ex((const uint8_t *)rows, strlen(rows), "n.csv", NULL,
                           label, NULL, 1, &x, &y, &err);
  assert_fails(rc, FL_EDATA, err, "n.csv", "the file has no header row");
  /* Declared: a header of numbers read as one; "header": false keeps a
   * first row that looks like text as data (and fails on it as data). */
  const fl_csv_options yes = {FL_CSV_HEADER_YES, ',', false};
  assert_ok(fl_csv_parse_ex((const uint8_t *)rows, strlen(rows), "n.csv", &yes,
                            NULL, last, 1, &x, &y, &err), err);
  assert_int_equal(x.shape[0], 2);
  fl_array_free(&x);
  fl_array_free(&y);
  const char *named = "a,b,y\n1,2,0\n";
  const fl_csv_options no = {FL_CSV_HEADER_NO, ',', false};
  rc = fl_csv_parse_ex((const uint8_t *)named, strlen(named), "h.csv", &no,
                       NULL, last, 1, &x, &y, &err);
  assert_fails(rc, FL_EDATA, err, "h.csv", "line 1 is not all numbers, but \"header\": false");
  /* A header with names is still a header by default. */
  assert_ok(fl_csv_parse_ex((const uint8_t *)named, strlen(named), "h.csv", NULL,
                            NULL, last, 1, &x, &y, &err), err);
  assert_int_equal(x.shape[0], 1);
  fl_array_free(&x);
  fl_array_free(&y);
  /* Semicolons (with decimal points) and tabs. */
  const char *semi = "a;b;y\n1.5;2;1\n";
  const fl_csv_options sc = {FL_CSV_HEADER_AUTO, ';', false};
  assert_ok(fl_csv_parse_ex((const uint8_t *)semi, strlen(semi), "s.csv", &sc,
                            (const char *[]){"y"},
                            NULL, 1, &x, &y, &err), err);
  assert_int_equal(x.shape[1], 2);
  assert_true(x.data[0] == 1.5f && y.data[0] == 1);
  fl_array_free(&x);
  fl_array_free(&y);
  const char *tabs = "1\t2\t0\n3\t4\t1\n";
  const fl_csv_options tc = {FL_CSV_HEADER_AUTO, '\t', false};
  assert_ok(fl_csv_parse_ex((const uint8_t *)tabs, strlen(tabs), "t.tsv", &tc,
                            NULL, last, 1, &x, &y, &err), err);
  assert_int_equal(x.shape[0], 2);
  fl_array_free(&x);
  fl_array_free(&y);
  /* With commas a semicolon file is one column: named in the error. */
  rc = fl_csv_parse_ex((const uint8_t *)semi, strlen(semi), "s.csv", NULL,
                       (const char *[]){"y"}, NULL, 1, &x, &y, &err);
  assert_fails(rc, FL_EDATA, err, "s.csv", "label column \"y\" is not in the header");
  /* No label column (predicting on new rows): all features, no labels. */
  assert_ok(fl_csv_parse_ex((const uint8_t *)semi, strlen(semi), "s.csv", &sc,
                            NULL, NULL, 0, &x, &y, &err), err);
  assert_int_equal(x.shape[1], 3);
  assert_int_equal(x.shape[0], 1);
  assert_null(y.data);
  assert_int_equal(y.count, 0);
  fl_array_free(&x);
  fl_array_free(&y);
  const fl_csv_options bad = {FL_CSV_HEADER_AUTO, ':', false};
  rc = fl_csv_parse_ex((const uint8_t *)semi, strlen(semi), "s.csv", &bad,
                       NULL, last, 1, &x, &y, &err);
  assert_fails(rc, FL_EINVAL, err, "s.csv", "is not one of");
}

/* Issue 12: a label column of class names. Ids follow the names' sorted
 * order (scikit-learn's LabelEncoder), whatever order the rows give. */
static void test_csv_class_names(void **state) {
  (void)state;
  fl_array x, y;
  fl_error err = {0};
  const fl_csv_options names_on = {FL_CSV_HEADER_AUTO, ',', true};
  const char *label[1] = {"y"};
  const char *csv = "a,y\n1,dog\n2,cat\n3,\"dog\"\n4, bird \n";
  assert_ok(fl_csv_parse_ex((const uint8_t *)csv, strlen(csv), "p.csv",
                            &names_on, label, NULL, 1, &x, &y, &err), err);
  assert_int_equal(y.shape[0], 4);
  assert_int_equal(y.n_class_names, 3);
  assert_string_equal(y.class_names, "bird");
  assert_string_equal(y.class_names + 5, "cat");
  assert_string_equal(y.class_names + 9, "dog");
  assert_true(y.data[0] == 2 && y.data[1] == 1 && y.data[2] == 2 &&
              y.data[3] == 0);
  assert_int_equal(fl_class_name_id(y.class_names, 3, "cat"), 1);
  assert_int_equal(fl_class_name_id(y.class_names, 3, "cow"), -1);
  /* Into a dataset: the names move with the ids. */
  fl_dataset train;
  assert_ok(fl_dataset_from_arrays(&x, &y, 1.0f, "p.csv", "p.csv", &train,
                                    &err), err);
  assert_null(y.class_names);
  assert_int_equal(train.n_class_names, 3);
  assert_int_equal(train.ids[0], 2);

  /* Validation names relabelled by the training set's: "dog" alone is id
   * 0 in its own file, 2 in training's. */
  const char *val_csv = "a,y\n5,dog\n6,bird\n";
  fl_dataset val;
  assert_ok(fl_csv_parse_ex((const uint8_t *)val_csv, strlen(val_csv), "v.csv",
                            &names_on, label, NULL, 1, &x, &y, &err), err);
  assert_ok(fl_dataset_from_arrays(&x, &y, 1.0f, "v.csv", "v.csv", &val, &err),
            err);
  assert_int_equal(val.ids[0], 1);
  assert_ok(fl_dataset_map_names(&val, train.class_names, train.n_class_names,
                                 "the training set", "v.csv", &err), err);
  assert_int_equal(val.ids[0], 2);
  assert_int_equal(val.ids[1], 0);
  assert_null(val.class_names);
  fl_dataset_free(&val);
  /* A name training never saw: named, with its row. */
  const char *unseen = "a,y\n5,dog\n6,cow\n";
  assert_ok(fl_csv_parse_ex((const uint8_t *)unseen, strlen(unseen), "u.csv",
                            &names_on, label, NULL, 1, &x, &y, &err), err);
  assert_ok(fl_dataset_from_arrays(&x, &y, 1.0f, "u.csv", "u.csv", &val, &err),
            err);
  int rc = fl_dataset_map_names(&val, train.class_names, train.n_class_names,
                                "the training set", "u.csv", &err);
  assert_fails(rc, FL_EDATA, err, "u.csv", "row 2: class name \"cow\" is not "
               "among the 3 names of the training set");
  assert_int_equal(val.ids[0], 1); /* unchanged on error */
  fl_dataset_free(&val);
  /* Ids where training had names, and names where it had ids. */
  const char *ids = "a,y\n5,0\n";
  assert_ok(fl_csv_parse_ex((const uint8_t *)ids, strlen(ids), "i.csv",
                            &names_on, label, NULL, 1, &x, &y, &err), err);
  assert_null(y.class_names);
  assert_ok(fl_dataset_from_arrays(&x, &y, 1.0f, "i.csv", "i.csv", &val, &err),
            err);
  rc = fl_dataset_map_names(&val, train.class_names, train.n_class_names,
                            "the training set", "i.csv", &err);
  assert_fails(rc, FL_EDATA, err, "i.csv", "labels are class ids (numbers)");
  fl_dataset_free(&val);
  rc = fl_dataset_map_names(&train, NULL, 0, "job j's model", "p.csv", &err);
  assert_fails(rc, FL_EDATA, err, "p.csv", "labels are class names, but job "
               "j's model's are class ids");
  fl_dataset_free(&train);

  /* A column mixing ids and names: the row that breaks it, either way. */
  const char *mixed = "a,y\n1,dog\n2,3\n";
  rc = fl_csv_parse_ex((const uint8_t *)mixed, strlen(mixed), "m.csv",
                       &names_on, label, NULL, 1, &x, &y, &err);
  assert_fails(rc, FL_EDATA, err, "m.csv", "line 3, column 2 (\"y\"): the "
               "number \"3\" in a column of class names (line 2 holds a name)");
  const char *mixed2 = "a,y\n1,3\n2,dog\n";
  rc = fl_csv_parse_ex((const uint8_t *)mixed2, strlen(mixed2), "m.csv",
                       &names_on, label, NULL, 1, &x, &y, &err);
  assert_fails(rc, FL_EDATA, err, "m.csv", "ids or names, not both (line 2 "
               "holds a number)");
  assert_msg_has(err, "line 3");
  /* Off (evaluate's own parse, the default): names are not numbers. */
  rc = fl_csv_parse_ex((const uint8_t *)csv, strlen(csv), "p.csv", NULL,
                       label, NULL, 1, &x, &y, &err);
  assert_fails(rc, FL_EDATA, err, "p.csv", "expected a number, got \"dog\"");
  /* Several label columns (one-hot) stay numbers. */
  const char *two = "a,y,z\n1,dog,0\n";
  rc = fl_csv_parse_ex((const uint8_t *)two, strlen(two), "t.csv", &names_on,
                       (const char *[]){"y", "z"}, NULL, 2, &x, &y, &err);
  assert_fails(rc, FL_EDATA, err, "t.csv", "expected a number");

  /* Caps: a name of FL_CLASS_NAME_MAX bytes loads, one more does not. */
  char longest[FL_CLASS_NAME_MAX + 2];
  memset(longest, 'n', sizeof longest);
  longest[FL_CLASS_NAME_MAX] = '\0';
  char text[256];
  snprintf(text, sizeof text, "a,y\n1,%s\n", longest);
  assert_ok(fl_csv_parse_ex((const uint8_t *)text, strlen(text), "l.csv",
                            &names_on, label, NULL, 1, &x, &y, &err), err);
  assert_int_equal(strlen(y.class_names), FL_CLASS_NAME_MAX);
  fl_array_free(&x);
  fl_array_free(&y);
  longest[FL_CLASS_NAME_MAX] = 'n';
  longest[FL_CLASS_NAME_MAX + 1] = '\0';
  snprintf(text, sizeof text, "a,y\n1,%s\n", longest);
  rc = fl_csv_parse_ex((const uint8_t *)text, strlen(text), "l.csv",
                       &names_on, label, NULL, 1, &x, &y, &err);
  assert_fails(rc, FL_ETOOBIG, err, "l.csv", "line 2, column 2 (\"y\"): a "
               "class name of 65 bytes; names may have at most 64");
  /* One name more than FL_DATA_MAX_CLASSES: refused at that row. */
  bytes many = {0};
  put_str(&many, "a,y\n");
  for (int i = 0; i <= FL_DATA_MAX_CLASSES; i++) {
    char line[32];
    snprintf(line, sizeof line, "1,c%05d\n", i);
    put_str(&many, line);
  }
  rc = fl_csv_parse_ex(many.p, many.len, "many.csv", &names_on, label, NULL, 1,
                       &x, &y, &err);
  assert_fails(rc, FL_ETOOBIG, err, "many.csv", "more than 65536 distinct "
               "class names");
  assert_msg_has(err, "line 65538");
  assert_null(x.data);
  assert_null(y.class_names);
  free(many.p);
}

static void test_csv_quotes_crlf_bom_trailing(void **state) {
  (void)state;
  fl_array x, y;
  fl_error err = {0};
  /* Quoted names and numbers, a "" escape, CRLF, no final newline. */
  const char *quoted =
      "\xEF\xBB\xBF\"a\",\"say \"\"hi\"\"\",\"y\"\r\n"
      "\"1.25\",  2 ,\"3\"\r\n"
      "4,\" 5 \",6";
  const char *names[1] = {"y"};
  assert_ok(fl_csv_parse((const uint8_t *)quoted, strlen(quoted), "q.csv",
                         names, NULL, 1, &x, &y, &err), err);
  assert_int_equal(x.shape[0], 2);
  assert_int_equal(x.shape[1], 2);
  const float want[4] = {1.25f, 2, 4, 5};
  assert_memory_equal(x.data, want, sizeof want);
  assert_true(y.data[0] == 3 && y.data[1] == 6);
  fl_array_free(&x);
  fl_array_free(&y);

  const char *esc_names[1] = {"say \"hi\""};
  int rc = fl_csv_parse((const uint8_t *)quoted, strlen(quoted), "q.csv",
                        esc_names, NULL, 1, &x, &y, &err);
  assert_ok(rc, err);
  assert_true(y.data[0] == 2 && y.data[1] == 5);
  fl_array_free(&x);
  fl_array_free(&y);

  /* Trailing blank lines (with spaces, CR) are ignored. */
  const char *trailing = "a,y\n1,0\n2,1\n\n  \r\n\n";
  assert_ok(csv_by_name(trailing, "y", &x, &y, &err), err);
  assert_int_equal(x.shape[0], 2);
  fl_array_free(&x);
  fl_array_free(&y);

  /* A quoted field may hold a comma and a newline. */
  const char *multi = "\"a,b\",\"line\nbreak\"\n1,2\n";
  const char *mnames[1] = {"line\nbreak"};
  assert_ok(fl_csv_parse((const uint8_t *)multi, strlen(multi), "m.csv",
                         mnames, NULL, 1, &x, &y, &err), err);
  assert_true(x.data[0] == 1 && y.data[0] == 2);
  fl_array_free(&x);
  fl_array_free(&y);
}

static void test_csv_one_hot(void **state) {
  (void)state;
  const char *text =
      "f1,c0,f2,c1,c2\n"
      "1,1,2,0,0\n"
      "3,0,4,0.5,0.5\n";
  const char *names[3] = {"c0", "c1", "c2"};
  fl_array x, y;
  fl_error err = {0};
  assert_ok(fl_csv_parse((const uint8_t *)text, strlen(text), "oh.csv", names,
                         NULL, 3, &x, &y, &err), err);
  assert_int_equal(y.ndim, 2);
  assert_int_equal(y.shape[0], 2);
  assert_int_equal(y.shape[1], 3);
  assert_false(y.integral);
  const float want_y[6] = {1, 0, 0, 0, 0.5f, 0.5f};
  const float want_x[4] = {1, 2, 3, 4};
  assert_memory_equal(y.data, want_y, sizeof want_y);
  assert_memory_equal(x.data, want_x, sizeof want_x);
  fl_array_free(&x);
  fl_array_free(&y);

  /* Label order follows the request, not the file: c2, c0 by index. */
  const int idx[2] = {4, 1};
  assert_ok(fl_csv_parse((const uint8_t *)text, strlen(text), "oh.csv", NULL,
                         idx, 2, &x, &y, &err), err);
  assert_true(y.data[0] == 0 && y.data[1] == 1 && y.data[2] == 0.5f);
  assert_int_equal(x.shape[1], 3);
  fl_array_free(&x);
  fl_array_free(&y);
}

static void test_csv_errors(void **state) {
  (void)state;
  static const struct {
    const char *text;
    const char *label;
    int code;
    const char *needle;
  } cases[] = {
      {"a,b,y\n1,2,0\n3,4\n", "y", FL_EDATA,
       "y.csv: line 3 has 2 columns but the header has 3"},
      {"a,b,y\n1,2,0,9\n", "y", FL_EDATA, "line 2 has 4 columns"},
      {"a,b,y\n1,,0\n", "y", FL_EDATA,
       "y.csv: line 2, column 2 (\"b\"): empty field"},
      {"a,b,y\n1,2,\n", "y", FL_EDATA, "column 3 (\"y\"): empty field"},
      {"a,b,y\r\n1,2,0\r\n4,\"\",1\r\n", "y", FL_EDATA, "line 3, column 2"},
      {"id,petal,y\n1,2,0\n1,2,0\n1,2,0\n5,abc,1\n", "y", FL_EDATA,
       "y.csv: line 5, column 2 (\"petal\"): expected a number, got \"abc\""},
      {"a,y\n1,1.5\n", "y", FL_EDATA,
       "line 2, column 2 (\"y\"): expected an integer class id, got \"1.5\""},
      {"a,y\n1,nan\n", "y", FL_EDATA, "expected an integer class id"},
      {"a,y\n1,1e30\n", "y", FL_EDATA, "too large"},
      {"a,y\n1e39,1\n", "y", FL_EDATA, "beyond float32"},
      {"a,y\n1e999,1\n", "y", FL_EDATA, "beyond float32"},
      {"a,y\n1,0\n", "label", FL_EDATA,
       "label column \"label\" is not in the header"},
      {"a,y,y\n1,0,1\n", "y", FL_EDATA, "ambiguous"},
      {"a,b,y\n", "y", FL_EDATA, "no data rows"},
      {"a,b,y\r\n\r\n", "y", FL_EDATA, "no data rows"},
      {"", "y", FL_EDATA, "empty"},
      {"\n\n", "y", FL_EDATA, "empty"},
      {"\na,y\n1,0\n", "y", FL_EDATA, "line 1 is blank"},
      {"a,y\n1,0\n\n2,1\n", "y", FL_EDATA, "line 3 is blank"},
      {"a,y\n1,\"0\n", "y", FL_EDATA, "never closed"},
      {"a,y\n1,\"0\"x\n", "y", FL_EDATA, "after a closing quote"},
      {",a,y\n0,1,0\n", "y", FL_EDATA, "index=False"},
      {"a,,y\n0,1,0\n", "y", FL_EDATA, "column 2: empty column name"},
      {"y\n1\n", "y", FL_EDATA, "no features"},
      {"a,y\n0x,1\n", "y", FL_EDATA, "got \"0x\""},
  };
  for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
    fl_array x, y;
    fl_error err = {0};
    int rc = csv_by_name(cases[c].text, cases[c].label, &x, &y, &err);
    if (rc != cases[c].code || !strstr(err.msg, cases[c].needle))
      print_error("case %zu: rc %d msg \"%s\"\n", c, rc, err.msg);
    assert_fails(rc, cases[c].code, err, "y.csv", cases[c].needle);
    assert_null(x.data);
    assert_null(y.data);
  }

  /* A NUL byte in a field is an error naming its line and column (strtod
   * and strcmp used to stop there: "1\0junk" read as 1, "a\0b" as "a"). */
#define NUL_CASE(lit, needle) {lit, sizeof lit - 1, needle}
  static const struct {
    const char *text;
    size_t len;
    const char *needle;
  } nul[] = {
      NUL_CASE("a,y\n1\0,0\n", "line 2, column 1: NUL byte"),
      NUL_CASE("a,y\n1,0\0\n", "line 2, column 2: NUL byte"),
      NUL_CASE("a\0b,y\n1,0\n", "line 1, column 1: NUL byte"),
      NUL_CASE("a,y\n\"1\0\",0\n", "line 2, column 1: NUL byte"),
      NUL_CASE("a,y\n1,\"\n0\0\"\n", "line 3, column 2: NUL byte"),
      NUL_CASE("a,y\n1,0\n\0\n", "line 3, column 1: NUL byte"),
  };
#undef NUL_CASE
  for (size_t c = 0; c < sizeof nul / sizeof nul[0]; c++) {
    fl_array nx, ny;
    fl_error nerr = {0};
    const char *names[1] = {"y"};
    int nrc = fl_csv_parse((const uint8_t *)nul[c].text, nul[c].len, "y.csv",
                           names, NULL, 1, &nx, &ny, &nerr);
    if (nrc != FL_EDATA) print_error("NUL case %zu parsed\n", c);
    assert_fails(nrc, FL_EDATA, nerr, "y.csv", nul[c].needle);
    assert_null(nx.data);
  }

  /* Label specs: out of range, twice, neither name nor index, none. */
  const char *text = "a,b\n1,2\n";
  fl_array x, y;
  fl_error err = {0};
  const int idx_far[1] = {5};
  int rc = fl_csv_parse((const uint8_t *)text, strlen(text), "y.csv", NULL,
                        idx_far, 1, &x, &y, &err);
  assert_fails(rc, FL_EDATA, err, "y.csv", "index 5 is out of range");
  const char *twice[2] = {"b", NULL};
  const int twice_idx[2] = {-1, 1};
  rc = fl_csv_parse((const uint8_t *)text, strlen(text), "y.csv", twice,
                    twice_idx, 2, &x, &y, &err);
  assert_fails(rc, FL_EDATA, err, "y.csv", "given twice");
  const int none_idx[1] = {-1};
  rc = fl_csv_parse((const uint8_t *)text, strlen(text), "y.csv", NULL,
                    none_idx, 1, &x, &y, &err);
  assert_fails(rc, FL_EINVAL, err, "y.csv", "neither a name nor an index");
  rc = fl_csv_parse((const uint8_t *)text, strlen(text), "y.csv", NULL, NULL,
                    0, &x, &y, &err);
  assert_fails(rc, FL_EINVAL, err, "y.csv", "at least one label column");
}

static void test_csv_many_rows(void **state) {
  (void)state;
  /* Past the reader's first allocation (256 rows), mixed line ends. */
  bytes b = {0};
  put_str(&b, "x0,x1,y\n");
  for (int i = 0; i < 1000; i++) {
    char line[64];
    snprintf(line, sizeof line, "%d,%d.5,%d%s", i, -i, i % 7,
             i % 2 ? "\r\n" : "\n");
    put_str(&b, line);
  }
  fl_array x, y;
  fl_error err = {0};
  const char *names[1] = {"y"};
  assert_ok(fl_csv_parse(b.p, b.len, "big.csv", names, NULL, 1, &x, &y, &err),
            err);
  assert_int_equal(x.shape[0], 1000);
  for (int i = 0; i < 1000; i++) {
    assert_true(x.data[2 * i] == (float)i);
    assert_true(x.data[2 * i + 1] == (float)(-i) + (i ? -0.5f : 0.5f));
    assert_true(y.data[i] == (float)(i % 7));
  }
  fl_array_free(&x);
  fl_array_free(&y);
  free(b.p);
}

/* ---- datasets ----------------------------------------------------------- */

static fl_array make_array(int ndim, const size_t *shape, const float *v,
                           bool integral) {
  fl_array a;
  memset(&a, 0, sizeof a);
  a.ndim = ndim;
  a.count = 1;
  for (int i = 0; i < ndim; i++) {
    a.shape[i] = shape[i];
    a.count *= shape[i];
  }
  a.data = malloc((a.count ? a.count : 1) * sizeof(float));
  assert_non_null(a.data);
  if (a.count) memcpy(a.data, v, a.count * sizeof(float));
  a.integral = integral;
  return a;
}

static void test_dataset_from_arrays(void **state) {
  (void)state;
  float xv[24];
  for (int i = 0; i < 24; i++) xv[i] = (float)i;
  const size_t xs[3] = {4, 2, 3};
  const float ids_v[4] = {0, 1, 2, 1};
  const size_t ys[1] = {4};
  fl_array x = make_array(3, xs, xv, false);
  fl_array y = make_array(1, ys, ids_v, false); /* float ids are fine */
  float *x_data = x.data;
  fl_dataset ds;
  fl_error err = {0};
  assert_ok(fl_dataset_from_arrays(&x, &y, 0.5f, "X.npy", "y.npy", &ds, &err),
            err);
  assert_int_equal(ds.n, 4);
  assert_int_equal(ds.d, 6);
  assert_int_equal(ds.label_kind, FL_LABELS_IDS);
  assert_int_equal(ds.k, 0);
  assert_ptr_equal(ds.x, x_data); /* ownership moved, no copy */
  assert_null(x.data);
  assert_null(y.data);
  assert_int_equal(x.ndim, 0);
  for (int i = 0; i < 24; i++) assert_true(ds.x[i] == 0.5f * (float)i);
  assert_int_equal(ds.ids[2], 2);
  assert_int_equal(ds.ids[3], 1);
  assert_null(ds.y);
  fl_dataset_free(&ds);
  assert_null(ds.x);

  /* (N,1) ids; (N,) features -> D = 1. */
  const size_t x1s[1] = {4}, y1s[2] = {4, 1};
  x = make_array(1, x1s, xv, false);
  y = make_array(2, y1s, ids_v, true);
  assert_ok(fl_dataset_from_arrays(&x, &y, 1.0f, "X.npy", "y.npy", &ds, &err),
            err);
  assert_int_equal(ds.d, 1);
  assert_int_equal(ds.label_kind, FL_LABELS_IDS);
  assert_true(ds.x[3] == 3.0f);
  fl_dataset_free(&ds);

  /* (N,K) dense. */
  const float oh[8] = {1, 0, 0, 1, 0.5f, 0.5f, 1, 0};
  const size_t x2s[2] = {4, 6}, y2s[2] = {4, 2};
  x = make_array(2, x2s, xv, false);
  y = make_array(2, y2s, oh, false);
  float *y_data = y.data;
  assert_ok(fl_dataset_from_arrays(&x, &y, 1.0f, "X.npy", "y.npy", &ds, &err),
            err);
  assert_int_equal(ds.label_kind, FL_LABELS_DENSE);
  assert_int_equal(ds.k, 2);
  assert_ptr_equal(ds.y, y_data);
  assert_null(ds.ids);
  fl_dataset_free(&ds);
}

static void test_dataset_from_arrays_errors(void **state) {
  (void)state;
  float xv[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
  fl_dataset ds;
  fl_error err = {0};
  int rc;

  /* Row counts differ: both files and both counts named; on failure the
   * arrays stay the caller's, unscaled. */
  const size_t xs[2] = {4, 3}, ys[1] = {3};
  const float ids_v[4] = {0, 1, 1, 0};
  fl_array x = make_array(2, xs, xv, false);
  fl_array y = make_array(1, ys, ids_v, true);
  rc = fl_dataset_from_arrays(&x, &y, 2.0f, "X.npy", "y.npy", &ds, &err);
  assert_fails(rc, FL_EDATA, err, "X.npy has 4 rows but y.npy has 3", "y.npy");
  assert_non_null(x.data);
  assert_non_null(y.data);
  assert_true(x.data[11] == 12.0f);
  fl_array_free(&y);

  /* Bad ids: first bad row and value named. */
  static const struct {
    float v[4];
    const char *needle;
  } bad[] = {
      {{0, 1, 1.5f, 2.5f}, "row 2: label 1.5 is not an integer class id"},
      {{0, NAN, 1, 1}, "row 1: label nan"},
      {{0, 1, 3e9f, 1}, "row 2: label is too large to be a class id"},
      {{-3e9f, 1, 1, 1}, "row 0: label is too large"},
      {{0, 16777216, 1, 1}, "row 1: label is too large"},
  };
  const size_t y4[1] = {4};
  for (size_t c = 0; c < sizeof bad / sizeof bad[0]; c++) {
    y = make_array(1, y4, bad[c].v, false);
    rc = fl_dataset_from_arrays(&x, &y, 1.0f, "X.npy", "y.npy", &ds, &err);
    assert_fails(rc, FL_EDATA, err, "y.npy", bad[c].needle);
    assert_non_null(y.data);
    fl_array_free(&y);
  }

  /* The int32 label 2^31 - 1 reaches float32 as 2^31: the message must not
   * quote that number (it used to say "class id 2147483648 does not fit in
   * int32") but say the label is too large, with the most classes. Below
   * 2^24 ids stay exact, and preflight reports those past its classes. */
  const double big_ids[4] = {0, 2147483647.0, 16777215, 65536};
  bytes yf = npy_values(1, "<i4", "(4,)", big_ids, 4);
  assert_ok(fl_npy_parse(yf.p, yf.len, "y.npy", &y, &err), err);
  rc = fl_dataset_from_arrays(&x, &y, 1.0f, "X.npy", "y.npy", &ds, &err);
  assert_fails(rc, FL_EDATA, err, "y.npy",
               "row 1: label is too large to be a class id");
  assert_msg_has(err, "at most 65536 classes (ids 0 to 65535)");
  assert_null(strstr(err.msg, "2147483648"));
  fl_array_free(&y);
  free(yf.p);
  const double fine_ids[4] = {0, 16777215, 65536, -16777215};
  yf = npy_values(1, "<i4", "(4,)", fine_ids, 4);
  assert_ok(fl_npy_parse(yf.p, yf.len, "y.npy", &y, &err), err);
  fl_array x_copy = make_array(2, xs, xv, false);
  assert_ok(fl_dataset_from_arrays(&x_copy, &y, 1.0f, "X.npy", "y.npy", &ds,
                                   &err), err);
  assert_int_equal(ds.ids[1], 16777215);
  assert_int_equal(ds.ids[3], -16777215);
  fl_dataset_free(&ds);
  free(yf.p);

  /* Labels of 3 dimensions; (N, 0) labels; no rows; no features. */
  const size_t y3[3] = {4, 1, 1};
  y = make_array(3, y3, ids_v, true);
  rc = fl_dataset_from_arrays(&x, &y, 1.0f, "X.npy", "y.npy", &ds, &err);
  assert_fails(rc, FL_EDATA, err, "y.npy", "shape (4, 1, 1)");
  fl_array_free(&y);
  const size_t y40[2] = {4, 0};
  y = make_array(2, y40, ids_v, true);
  rc = fl_dataset_from_arrays(&x, &y, 1.0f, "X.npy", "y.npy", &ds, &err);
  assert_fails(rc, FL_EDATA, err, "y.npy", "expected (N,) class ids");
  fl_array_free(&y);
  fl_array_free(&x);

  const size_t x0[2] = {0, 3}, y0[1] = {0};
  x = make_array(2, x0, xv, false);
  y = make_array(1, y0, ids_v, true);
  rc = fl_dataset_from_arrays(&x, &y, 1.0f, "X.npy", "y.npy", &ds, &err);
  assert_fails(rc, FL_EDATA, err, "X.npy", "no rows");
  fl_array_free(&x);
  fl_array_free(&y);

  /* A hand-built array whose count disagrees with its shape. */
  x = make_array(2, xs, xv, false);
  y = make_array(1, y4, ids_v, true);
  x.count = 11;
  rc = fl_dataset_from_arrays(&x, &y, 1.0f, "X.npy", "y.npy", &ds, &err);
  assert_fails(rc, FL_EINVAL, err, "X.npy", "do not match their shapes");
  fl_array_free(&x);
  fl_array_free(&y);

  const size_t xnd[2] = {4, 0};
  x = make_array(2, xnd, xv, false);
  y = make_array(1, y4, ids_v, true);
  rc = fl_dataset_from_arrays(&x, &y, 1.0f, "X.npy", "y.npy", &ds, &err);
  assert_fails(rc, FL_EDATA, err, "X.npy", "no features");
  fl_array_free(&x);
  fl_array_free(&y);
}

/* n rows of d features x[i][j] = 10 i + j, ids i % 3 or dense one-hot. */
static fl_dataset make_dataset(size_t n, size_t d, bool dense) {
  fl_dataset ds;
  memset(&ds, 0, sizeof ds);
  ds.n = n;
  ds.d = d;
  ds.x = malloc(n * d * sizeof(float));
  for (size_t i = 0; i < n; i++)
    for (size_t j = 0; j < d; j++) ds.x[i * d + j] = (float)(10 * i + j);
  if (dense) {
    ds.label_kind = FL_LABELS_DENSE;
    ds.k = 3;
    ds.y = calloc(n * 3, sizeof(float));
    for (size_t i = 0; i < n; i++) ds.y[i * 3 + i % 3] = 1;
  } else {
    ds.label_kind = FL_LABELS_IDS;
    ds.ids = malloc(n * sizeof(int32_t));
    for (size_t i = 0; i < n; i++) ds.ids[i] = (int32_t)(i % 3);
  }
  return ds;
}

static void test_split_tail(void **state) {
  (void)state;
  fl_error err = {0};
  for (int dense = 0; dense < 2; dense++) {
    fl_dataset ds = make_dataset(10, 2, dense), val;
    assert_ok(fl_dataset_split_tail(&ds, 0.2, &val, &err), err);
    assert_int_equal(ds.n, 8);
    assert_int_equal(val.n, 2);
    assert_int_equal(val.d, 2);
    assert_int_equal(val.label_kind, ds.label_kind);
    assert_int_equal(val.k, ds.k);
    /* The last rows, in order: rows 8 and 9. */
    assert_true(val.x[0] == 80.0f && val.x[3] == 91.0f);
    assert_true(ds.x[15] == 71.0f);
    if (dense) {
      assert_true(val.y[0 * 3 + 2] == 1.0f); /* row 8: 8 % 3 = 2 */
      assert_true(val.y[1 * 3 + 0] == 1.0f);
    } else {
      assert_int_equal(val.ids[0], 2);
      assert_int_equal(val.ids[1], 0);
    }
    fl_dataset_free(&val);
    fl_dataset_free(&ds);
  }

  /* Keras' int(n * (1 - f)): 10 * (1 - 0.7) = 3.0000000000000004 -> 3
   * training rows; 10 * 0.95 = 9.5 -> 9. */
  fl_dataset ds = make_dataset(10, 1, false), val;
  assert_ok(fl_dataset_split_tail(&ds, 0.7, &val, &err), err);
  assert_int_equal(ds.n, 3);
  assert_int_equal(val.n, 7);
  fl_dataset_free(&val);
  fl_dataset_free(&ds);
  ds = make_dataset(10, 1, false);
  assert_ok(fl_dataset_split_tail(&ds, 0.05, &val, &err), err);
  assert_int_equal(ds.n, 9); /* int(9.5) */
  assert_int_equal(val.n, 1);
  fl_dataset_free(&val);

  /* Nothing left on one side, or a fraction out of (0, 1). */
  int rc = fl_dataset_split_tail(&ds, 1e-17, &val, &err);
  assert_fails(rc, FL_EDATA, err, "validation_split", "validation set empty");
  fl_dataset_free(&ds);
  ds = make_dataset(1, 1, false);
  rc = fl_dataset_split_tail(&ds, 0.5, &val, &err);
  assert_fails(rc, FL_EDATA, err, "of 1 rows", "training set empty");
  assert_int_equal(ds.n, 1);
  assert_null(val.x);
  rc = fl_dataset_split_tail(&ds, 0.0, &val, &err);
  assert_fails(rc, FL_EINVAL, err, "validation_split", "got 0");
  rc = fl_dataset_split_tail(&ds, 1.0, &val, &err);
  assert_int_equal(rc, FL_EINVAL);
  rc = fl_dataset_split_tail(&ds, NAN, &val, &err);
  assert_int_equal(rc, FL_EINVAL);
  fl_dataset_free(&ds);
}

/* ---- statistics --------------------------------------------------------- */

/* The image a row holds comes from the features file's header: a .npy
 * (N, H, W, C) or (N, H, W), an IDX image file (N, H, W); 2-D rows and
 * CSV carry none. A validation split keeps it. */
static fl_dataset dataset_of(const bytes *file, bool idx, size_t n) {
  fl_array x, y;
  fl_error err = {0};
  if (idx)
    assert_ok(fl_idx_parse(file->p, file->len, "images.idx", &x, &err), err);
  else
    assert_ok(fl_npy_parse(file->p, file->len, "X.npy", &x, &err), err);
  float ids[8] = {0};
  const size_t ys[1] = {n};
  y = make_array(1, ys, ids, true);
  fl_dataset ds;
  assert_ok(fl_dataset_from_arrays(&x, &y, 1.0f, "X.npy", "y.npy", &ds, &err),
            err);
  return ds;
}

#define assert_image(ds, h, w, c)                                        \
  do {                                                                   \
    assert_int_equal((ds).image_shape[0], (h));                          \
    assert_int_equal((ds).image_shape[1], (w));                          \
    assert_int_equal((ds).image_shape[2], (c));                          \
  } while (0)

static void test_dataset_image_shape(void **state) {
  (void)state;
  double v[48];
  for (int i = 0; i < 48; i++) v[i] = i;
  /* (N, H, W, C) = (4, 3, 2, 2): 12 features a row, a 3x2 image of 2
   * channels */
  bytes f = npy_values(1, "<f4", "(4, 3, 2, 2)", v, 48);
  fl_dataset ds = dataset_of(&f, false, 4);
  free(f.p);
  assert_int_equal(ds.d, 12);
  assert_image(ds, 3, 2, 2);
  assert_true(ds.x[13] == 13.0f); /* row 1 starts at element 12 */
  fl_dataset val;
  fl_error err = {0};
  assert_ok(fl_dataset_split_tail(&ds, 0.5, &val, &err), err);
  assert_image(val, 3, 2, 2);
  fl_dataset_free(&val);
  fl_dataset_free(&ds);

  /* (N, H, W): one channel */
  f = npy_values(1, "|u1", "(4, 2, 6)", v, 48);
  ds = dataset_of(&f, false, 4);
  free(f.p);
  assert_int_equal(ds.d, 12);
  assert_image(ds, 2, 6, 1);
  fl_dataset_free(&ds);

  /* IDX images (N, H, W), MNIST's layout, gzip or not */
  const uint32_t dims[3] = {2, 4, 3};
  f = idx_file(0x08, 3, dims, v, 24);
  ds = dataset_of(&f, true, 2);
  assert_image(ds, 4, 3, 1);
  fl_dataset_free(&ds);
  bytes gz = gzip_bytes(f.p, f.len);
  free(f.p);
  ds = dataset_of(&gz, true, 2);
  free(gz.p);
  assert_image(ds, 4, 3, 1);
  fl_dataset_free(&ds);

  /* 2-D rows and CSV hold no image: the spec's input_shape or the square
   * default decides */
  f = npy_values(1, "<f4", "(4, 12)", v, 48);
  ds = dataset_of(&f, false, 4);
  free(f.p);
  assert_image(ds, 0, 0, 0);
  fl_dataset_free(&ds);
  fl_array x, y;
  const char *csv = "a,b,label\n1,2,0\n3,4,1\n";
  assert_ok(csv_by_name(csv, "label", &x, &y, &err), err);
  assert_ok(fl_dataset_from_arrays(&x, &y, 1.0f, "t.csv", "t.csv", &ds, &err),
            err);
  assert_image(ds, 0, 0, 0);
  fl_dataset_free(&ds);
}

/* Validation images must be the training set's: the same width in
 * another shape is refused, naming both files and both shapes. */
static void test_dataset_check_images(void **state) {
  (void)state;
  double v[48] = {0};
  bytes f = npy_values(1, "<f4", "(4, 3, 2, 2)", v, 48);
  fl_dataset train = dataset_of(&f, false, 4);
  free(f.p);
  f = npy_values(1, "<f4", "(4, 2, 3, 2)", v, 48);
  fl_dataset other = dataset_of(&f, false, 4);
  free(f.p);
  f = npy_values(1, "<f4", "(2, 3, 2, 2)", v, 24);
  fl_dataset same = dataset_of(&f, false, 2);
  free(f.p);
  f = npy_values(1, "<f4", "(4, 12)", v, 48);
  fl_dataset flat = dataset_of(&f, false, 4);
  free(f.p);
  fl_error err = {0};
  int rc = fl_dataset_check_images(&train, &other, "X.npy", "X_val.npy", &err);
  assert_fails(rc, FL_EDATA, err, "X_val.npy holds 2x3x2 images", "X.npy holds 3x2x2");
  assert_msg_has(err, "same image shape");
  assert_ok(fl_dataset_check_images(&train, &same, "X.npy", "X_val.npy", &err), err);
  /* rows without a shape are read as the training set's images */
  assert_ok(fl_dataset_check_images(&train, &flat, "X.npy", "X_val.npy", &err), err);
  assert_ok(fl_dataset_check_images(&flat, &train, "X.npy", "X_val.npy", &err), err);
  fl_dataset_free(&train);
  fl_dataset_free(&other);
  fl_dataset_free(&same);
  fl_dataset_free(&flat);
}

static void test_stats_ids(void **state) {
  (void)state;
  /* x (5, 3): feature 0 = 1..4 and one NaN, feature 1 = 10, 20 and Inf
   * among them, feature 2 all NaN. ids 0, 2, 2, -1, 2. */
  const float xv[15] = {1, 10, NAN,      2,   20, NAN, 3, NAN, NAN,
                        4, -INFINITY, NAN, NAN, 15, NAN};
  const int32_t ids[5] = {0, 2, 2, -1, 2};
  fl_dataset ds = {.n = 5, .d = 3, .x = (float *)xv, .ids = (int32_t *)ids,
                   .label_kind = FL_LABELS_IDS};
  fl_dataset_stats st;
  fl_error err = {0};
  assert_ok(fl_dataset_stats_compute(&ds, &st, &err), err);
  assert_int_equal(st.n, 5);
  assert_int_equal(st.d, 3);
  assert_int_equal(st.k, 3);
  assert_int_equal(st.n_classes, 3);
  assert_int_equal(st.class_counts[0], 1);
  assert_int_equal(st.class_counts[1], 0);
  assert_int_equal(st.class_counts[2], 3);
  assert_int_equal(st.min_id, -1);
  assert_int_equal(st.max_id, 2);
  assert_int_equal(st.n_negative_ids, 1);
  assert_int_equal(st.n_nonfinite, 1 + 2 + 5);
  assert_int_equal(st.n_label_nonfinite, 0);
  assert_true(st.feat_min[0] == 1 && st.feat_max[0] == 4);
  assert_float_equal(st.feat_mean[0], 2.5, 1e-6);
  assert_float_equal(st.feat_std[0], sqrt(1.25), 1e-6);
  assert_true(st.feat_min[1] == 10 && st.feat_max[1] == 20);
  assert_float_equal(st.feat_mean[1], 15, 1e-6);
  assert_float_equal(st.feat_std[1], sqrt(50.0 / 3.0), 1e-5);
  assert_true(isnan(st.feat_min[2]) && isnan(st.feat_std[2]));
  assert_float_equal(st.abs_max, 20, 0);
  assert_float_equal(st.mean_std, (sqrt(1.25) + sqrt(50.0 / 3.0)) / 2, 1e-6);
  fl_dataset_stats_free(&st);
  assert_null(st.class_counts);

  /* Large offsets: two passes keep the std exact where one-pass sums of
   * squares in float would not. */
  float big[4] = {1e6f + 1, 1e6f + 2, 1e6f + 3, 1e6f + 4};
  int32_t z[4] = {0, 0, 0, 0};
  fl_dataset off = {.n = 4, .d = 1, .x = big, .ids = z,
                    .label_kind = FL_LABELS_IDS};
  assert_ok(fl_dataset_stats_compute(&off, &st, &err), err);
  assert_float_equal(st.feat_std[0], sqrt(1.25), 1e-6);
  assert_int_equal(st.k, 1);
  assert_int_equal(st.class_counts[0], 4);
  fl_dataset_stats_free(&st);

  /* A stray huge id: k says so, class_counts stays capped. */
  int32_t stray[4] = {0, 1, 2000000000, -5};
  off.ids = stray;
  assert_ok(fl_dataset_stats_compute(&off, &st, &err), err);
  assert_int_equal(st.k, 2000000001);
  assert_int_equal(st.max_id, 2000000000);
  assert_int_equal(st.min_id, -5);
  assert_int_equal(st.n_classes, FL_DATA_MAX_CLASSES);
  assert_int_equal(st.class_counts[0], 1);
  assert_int_equal(st.class_counts[1], 1);
  assert_int_equal(st.class_counts[FL_DATA_MAX_CLASSES - 1], 0);
  assert_int_equal(st.n_negative_ids, 1);
  fl_dataset_stats_free(&st);

  /* All ids negative: k = 0, no classes. */
  int32_t neg[4] = {-1, -2, -1, -1};
  off.ids = neg;
  assert_ok(fl_dataset_stats_compute(&off, &st, &err), err);
  assert_int_equal(st.k, 0);
  assert_int_equal(st.n_classes, 0);
  assert_int_equal(st.n_negative_ids, 4);
  fl_dataset_stats_free(&st);
}

static void test_stats_dense(void **state) {
  (void)state;
  const float y[15] = {1,    0,    0,    /* argmax 0 */
                       0,    0.5f, 0.5f, /* tie: first max, 1 */
                       0.2f, 0.2f, 0.2f, /* sum 0.6: bad sum, argmax 0 */
                       -1,   2,    0,    /* negative entry, argmax 1 */
                       NAN,  0,    1};   /* non-finite: counted only there */
  const float x[5] = {0, 1, 2, 3, 4};
  fl_dataset ds = {.n = 5, .d = 1, .x = (float *)x, .y = (float *)y,
                   .k = 3, .label_kind = FL_LABELS_DENSE};
  fl_dataset_stats st;
  fl_error err = {0};
  assert_ok(fl_dataset_stats_compute(&ds, &st, &err), err);
  assert_int_equal(st.k, 3);
  assert_int_equal(st.n_classes, 3);
  assert_int_equal(st.class_counts[0], 2);
  assert_int_equal(st.class_counts[1], 2);
  assert_int_equal(st.class_counts[2], 0);
  assert_int_equal(st.n_rows_bad_sum, 1);
  assert_int_equal(st.n_rows_negative, 1);
  assert_int_equal(st.n_label_nonfinite, 1);
  assert_int_equal(st.n_nonfinite, 0);
  assert_float_equal(st.feat_mean[0], 2, 1e-6);
  assert_float_equal(st.feat_std[0], sqrt(2.0), 1e-6);
  assert_float_equal(st.abs_max, 4, 0);
  fl_dataset_stats_free(&st);
}

/* ---- files -------------------------------------------------------------- */

static void test_file_read(void **state) {
  (void)state;
  uint8_t *buf = NULL;
  size_t len = 0;
  fl_error err = {0};
  const char *self = FL_SOURCE_DIR "/tests/test_data.c";
  assert_ok(fl_file_read(self, 1 << 24, &buf, &len, &err), err);
  assert_true(len > 1000);
  assert_memory_equal(buf, "/* tests/test_data.c", 20);
  free(buf);
  int rc = fl_file_read(self, 100, &buf, &len, &err);
  assert_fails(rc, FL_ETOOBIG, err, self, "over the limit of 100");
  assert_null(buf);
  rc = fl_file_read(FL_SOURCE_DIR "/tests/no-such-file.npy", 1 << 20, &buf,
                    &len, &err);
  assert_fails(rc, FL_EIO, err, "no-such-file.npy", "cannot open");
  rc = fl_file_read(FL_SOURCE_DIR "/tests", 1 << 20, &buf, &len, &err);
  assert_fails(rc, FL_EIO, err, "tests", "directory");
}

/* A fresh directory under $TMPDIR (or /tmp) for files a test writes. */
static void temp_dir(char *dir, size_t cap) {
  const char *base = getenv("TMPDIR");
  snprintf(dir, cap, "%s/fl-test-data-XXXXXX", base && *base ? base : "/tmp");
  assert_non_null(mkdtemp(dir));
}

static void write_file(const char *path, const void *p, size_t n) {
  FILE *f = fopen(path, "wb");
  assert_non_null(f);
  assert_int_equal(fwrite(p, 1, n, f), n);
  assert_int_equal(fclose(f), 0);
}

/* Issue 11: with FL_READ_NOFOLLOW a link planted where a data file should
 * be is refused, not followed, and a FIFO is refused at once instead of
 * hanging the reader until someone writes to it. */
static void test_file_read_nofollow(void **state) {
  (void)state;
  char dir[256], real[300], link[300], dangling[300], fifo[300];
  temp_dir(dir, sizeof dir);
  snprintf(real, sizeof real, "%s/real.npy", dir);
  snprintf(link, sizeof link, "%s/link.npy", dir);
  snprintf(dangling, sizeof dangling, "%s/dangling.npy", dir);
  snprintf(fifo, sizeof fifo, "%s/fifo.npy", dir);
  write_file(real, "\x93NUMPY", 6);
  assert_int_equal(symlink(real, link), 0);
  assert_int_equal(symlink("no-such-target", dangling), 0);
  assert_int_equal(mkfifo(fifo, 0600), 0);

  uint8_t *buf = NULL;
  size_t len = 0;
  fl_error err = {0};
  assert_ok(fl_file_read_ex(real, 100, FL_READ_NOFOLLOW, &buf, &len, &err),
            err);
  assert_int_equal(len, 6);
  assert_memory_equal(buf, "\x93NUMPY", 6);
  free(buf);

  int rc = fl_file_read_ex(link, 100, FL_READ_NOFOLLOW, &buf, &len, &err);
  assert_fails(rc, FL_EPERM, err, link, "is a symbolic link; refused");
  assert_null(buf);
  rc = fl_file_read_ex(dangling, 100, FL_READ_NOFOLLOW, &buf, &len, &err);
  assert_fails(rc, FL_EPERM, err, dangling, "is a symbolic link; refused");
  rc = fl_file_read_ex(fifo, 100, FL_READ_NOFOLLOW, &buf, &len, &err);
  assert_fails(rc, FL_EPERM, err, fifo, "is not a regular file (a FIFO)");
  assert_null(buf);
  rc = fl_file_read_ex("/dev/null", 100, FL_READ_NOFOLLOW, &buf, &len, &err);
  assert_fails(rc, FL_EPERM, err, "/dev/null",
               "is not a regular file (a character device); refused");
  rc = fl_file_read_ex(dir, 100, FL_READ_NOFOLLOW, &buf, &len, &err);
  assert_fails(rc, FL_EIO, err, dir, "is a directory");

  /* Without the flag (and through fl_file_read) links are followed. */
  assert_ok(fl_file_read_ex(link, 100, 0, &buf, &len, &err), err);
  assert_int_equal(len, 6);
  free(buf);
  assert_ok(fl_file_read(link, 100, &buf, &len, &err), err);
  free(buf);
  rc = fl_file_read(dangling, 100, &buf, &len, &err);
  assert_fails(rc, FL_EIO, err, dangling, "cannot open");

  assert_int_equal(unlink(real), 0);
  assert_int_equal(unlink(link), 0);
  assert_int_equal(unlink(dangling), 0);
  assert_int_equal(unlink(fifo), 0);
  assert_int_equal(rmdir(dir), 0);
}

/* ---- load bounds -------------------------------------------------------- */

/* A counting malloc: while mcount.on, the bytes asked of malloc, calloc
 * and realloc are tracked per live block, a realloc as its old and new
 * block held at once, and their peak kept; everything forwards to glibc's
 * own allocator. Left out under AddressSanitizer, whose malloc must stay
 * in charge, and off glibc. */
#if defined(__SANITIZE_ADDRESS__)
#define COUNT_MALLOC 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define COUNT_MALLOC 0
#endif
#endif
#if !defined(COUNT_MALLOC) && defined(__GLIBC__)
#define COUNT_MALLOC 1
#endif
#ifndef COUNT_MALLOC
#define COUNT_MALLOC 0
#endif

/* Blocks a load holds at once: file, names, slots, arrays, zlib's two. */
#define MCOUNT_LIVE_MAX 64

static struct {
  bool on, overflow;
  size_t now, peak;
  struct {
    void *p;
    size_t n;
  } live[MCOUNT_LIVE_MAX];
} mcount;

static void mcount_start(void) {
  memset(&mcount, 0, sizeof mcount);
  mcount.on = true;
}

#if COUNT_MALLOC
void *__libc_malloc(size_t n);
void *__libc_calloc(size_t count, size_t n);
void *__libc_realloc(void *p, size_t n);
void __libc_free(void *p);

static void mcount_add(void *p, size_t n) {
  if (!mcount.on || !p) return;
  for (int i = 0; i < MCOUNT_LIVE_MAX; i++) {
    if (mcount.live[i].p) continue;
    mcount.live[i].p = p;
    mcount.live[i].n = n;
    mcount.now += n;
    if (mcount.now > mcount.peak) mcount.peak = mcount.now;
    return;
  }
  mcount.overflow = true;
}

static void mcount_remove(void *p) {
  if (!mcount.on || !p) return;
  for (int i = 0; i < MCOUNT_LIVE_MAX; i++) {
    if (mcount.live[i].p != p) continue;
    mcount.now -= mcount.live[i].n;
    mcount.live[i].p = NULL;
    return;
  }
}

void *malloc(size_t n) {
  void *p = __libc_malloc(n);
  mcount_add(p, n);
  return p;
}

void *calloc(size_t count, size_t n) {
  void *p = __libc_calloc(count, n);
  mcount_add(p, count * n); /* NULL on overflow: not counted */
  return p;
}

void *realloc(void *old, size_t n) {
  if (mcount.on && mcount.now + n > mcount.peak) mcount.peak = mcount.now + n;
  void *p = __libc_realloc(old, n);
  if (p || n == 0) {
    mcount_remove(old);
    mcount_add(p, n);
  }
  return p;
}

void free(void *p) {
  mcount_remove(p);
  __libc_free(p);
}
#endif

/* Load path as the daemon does (read without following links, parse) with
 * mallocs counted; returns their peak, and the bound. */
static size_t load_peak(const char *path, fl_data_form form,
                        uint64_t *bound) {
  fl_error err = {0};
  assert_ok(fl_data_load_bound(path, form, FL_READ_NOFOLLOW, bound, &err),
            err);
  fl_array x, y;
  memset(&y, 0, sizeof y);
  uint8_t *buf = NULL;
  size_t len = 0;
  const char *names[1] = {"y"};
  mcount_start();
  int rc = fl_file_read_ex(path, FL_DATA_MAX_BYTES, FL_READ_NOFOLLOW, &buf,
                           &len, &err);
  if (!rc && form == FL_FORM_NPY) rc = fl_npy_parse(buf, len, path, &x, &err);
  if (!rc && form == FL_FORM_IDX) rc = fl_idx_parse(buf, len, path, &x, &err);
  if (!rc && form == FL_FORM_CSV)
    rc = fl_csv_parse(buf, len, path, names, NULL, 1, &x, &y, &err);
  free(buf);
  mcount.on = false;
  assert_ok(rc, err);
  assert_false(mcount.overflow);
  fl_array_free(&x);
  fl_array_free(&y);
  if (getenv("FL_TEST_VERBOSE"))
    print_message("%s: %zu bytes, peak %zu (counted: %d), bound %llu\n",
                  path, len, mcount.peak, COUNT_MALLOC,
                  (unsigned long long)*bound);
  if (COUNT_MALLOC && mcount.peak > *bound)
    print_error("%s: peak %zu bytes over the bound %llu\n", path,
                mcount.peak, (unsigned long long)*bound);
  if (COUNT_MALLOC) assert_true(mcount.peak <= *bound);
  return mcount.peak;
}

/* Issue 11: the bound each form's loader stays within, from the size and
 * the header alone, compared with what the loaders really ask of malloc. */
static void test_load_bound_holds(void **state) {
  (void)state;
  char dir[256], path[300];
  temp_dir(dir, sizeof dir);
  uint64_t bound = 0;
  size_t peak, s;

  /* npy and plain IDX: the file, a spare byte, the float32 array. */
  double v[700];
  for (int i = 0; i < 700; i++) v[i] = (i % 13) * 0.5;
  bytes npy = npy_values(1, "<f4", "(100, 7)", v, 700);
  snprintf(path, sizeof path, "%s/x.npy", dir);
  write_file(path, npy.p, npy.len);
  peak = load_peak(path, FL_FORM_NPY, &bound);
  assert_int_equal(bound, npy.len + 1 + 700 * 4);
  if (COUNT_MALLOC) assert_int_equal(peak, bound);
  assert_int_equal(unlink(path), 0);
  free(npy.p);

  uint32_t dims[3] = {200, 28, 28};
  const size_t count = 200 * 28 * 28;
  double *pix = malloc(count * sizeof *pix);
  for (size_t i = 0; i < count; i++) pix[i] = (double)((i * 7919) % 251);
  bytes idx = idx_file(0x08, 3, dims, pix, count);
  snprintf(path, sizeof path, "%s/x.idx", dir);
  write_file(path, idx.p, idx.len);
  peak = load_peak(path, FL_FORM_IDX, &bound);
  assert_int_equal(bound, idx.len + 1 + count * 4);
  if (COUNT_MALLOC) assert_int_equal(peak, bound);
  assert_int_equal(unlink(path), 0);

  /* gzip IDX: the file, the inflated copy, the floats; with a trailer
   * that tells the size, no realloc. */
  bytes z = gzip_bytes(idx.p, idx.len);
  snprintf(path, sizeof path, "%s/x.idx.gz", dir);
  write_file(path, z.p, z.len);
  peak = load_peak(path, FL_FORM_IDX, &bound);
  assert_int_equal(bound, z.len + 1 + idx.len + count * 4);
  if (COUNT_MALLOC) assert_int_equal(peak, bound);
  assert_int_equal(unlink(path), 0);
  free(z.p);
  /* f64 in two members, the last of 8 bytes: its trailer says 8, so the
   * inflate grows by doubling, and a realloc holding two blocks at once
   * (up to 2 * inflated) is the peak, above inflated + float32. */
  bytes f64 = idx_file(0x0E, 3, dims, pix, count);
  bytes two = gzip_bytes(f64.p, f64.len - 8);
  bytes tail = gzip_bytes(f64.p + f64.len - 8, 8);
  put(&two, tail.p, tail.len);
  write_file(path, two.p, two.len);
  peak = load_peak(path, FL_FORM_IDX, &bound);
  if (COUNT_MALLOC) assert_true(peak > two.len + 1 + f64.len + count * 4);
  assert_int_equal(bound,
                   two.len + 1 + FL__ZLIB_INFLATE_BYTES + 2 * f64.len);
  assert_int_equal(unlink(path), 0);
  free(tail.p);
  free(two.p);
  free(f64.p);
  free(idx.p);
  free(pix);

  /* CSV, ordinary: 10 features and a label, numbers of 5 or 6 bytes. The
   * bound assumes 2-byte fields, so it is loose, but within 5 S. */
  bytes csv = {0};
  put_str(&csv, "f0,f1,f2,f3,f4,f5,f6,f7,f8,f9,y\n");
  for (int r = 0; r < 2000; r++) {
    char line[128];
    int at = 0;
    for (int j = 0; j < 10; j++)
      at += snprintf(line + at, sizeof line - (size_t)at, "%d.%03d,",
                     (r + j) % 10, (r * 37 + j) % 1000);
    snprintf(line + at, sizeof line - (size_t)at, "%d\n", r % 3);
    put_str(&csv, line);
  }
  snprintf(path, sizeof path, "%s/x.csv", dir);
  write_file(path, csv.p, csv.len);
  peak = load_peak(path, FL_FORM_CSV, &bound);
  s = csv.len;
  assert_true(bound >= s + 1 + 2000 * 11 * 4);
  assert_true(bound <= 5 * (uint64_t)s + 1024);
  free(csv.p);

  /* CSV, densest: one-digit fields, S / 2 values; the bound's case. */
  csv = (bytes){0};
  put_str(&csv, "a,b,y\n");
  for (int r = 0; r < 5000; r++) put_str(&csv, r % 2 ? "1,2,0\n" : "3,4,1\r\n");
  write_file(path, csv.p, csv.len);
  peak = load_peak(path, FL_FORM_CSV, &bound);
  free(csv.p);

  /* CSV, wide and short: 5000 columns, 3 rows. The reader used to
   * allocate 256 rows at once, 5 MB for a 30 KB file; now rows are capped
   * by what the bytes left can hold. */
  csv = (bytes){0};
  for (int j = 0; j < 4999; j++) {
    char name[16];
    snprintf(name, sizeof name, "c%d,", j);
    put_str(&csv, name);
  }
  put_str(&csv, "y\n");
  for (int r = 0; r < 3; r++)
    for (int j = 0; j < 5000; j++) put_str(&csv, j < 4999 ? "1," : "0\n");
  write_file(path, csv.p, csv.len);
  peak = load_peak(path, FL_FORM_CSV, &bound);
  s = csv.len;
  if (COUNT_MALLOC) assert_true(peak < 4 * s);
  assert_true(bound < 6 * (uint64_t)s);
  free(csv.p);

  /* CSV with a label column of names, read as the daemon reads it (names
   * allowed, FL_BOUND_CLASS_NAMES): a name per row, the table's worst. */
  csv = (bytes){0};
  put_str(&csv, "a,y\n");
  for (int r = 0; r < 3000; r++) {
    char line[32];
    snprintf(line, sizeof line, "%d,n%d\n", r % 10, r);
    put_str(&csv, line);
  }
  write_file(path, csv.p, csv.len);
  {
    fl_error err = {0};
    uint64_t plain = 0;
    assert_ok(fl_data_load_bound(path, FL_FORM_CSV, FL_READ_NOFOLLOW, &plain,
                                 &err), err);
    assert_ok(fl_data_load_bound(path, FL_FORM_CSV,
                                 FL_READ_NOFOLLOW | FL_BOUND_CLASS_NAMES,
                                 &bound, &err), err);
    assert_true(bound > plain);
    const fl_csv_options names_on = {FL_CSV_HEADER_AUTO, ',', true};
    fl_array x, y;
    uint8_t *buf = NULL;
    size_t len = 0;
    mcount_start();
    int rc = fl_file_read_ex(path, FL_DATA_MAX_BYTES, FL_READ_NOFOLLOW, &buf,
                             &len, &err);
    if (!rc)
      rc = fl_csv_parse_ex(buf, len, path, &names_on, (const char *[]){"y"},
                           NULL, 1, &x, &y, &err);
    free(buf);
    mcount.on = false;
    assert_ok(rc, err);
    assert_false(mcount.overflow);
    assert_int_equal(y.n_class_names, 3000);
    fl_array_free(&x);
    fl_array_free(&y);
    if (COUNT_MALLOC && mcount.peak > bound)
      print_error("names: peak %zu bytes over the bound %llu\n", mcount.peak,
                  (unsigned long long)bound);
    if (COUNT_MALLOC) assert_true(mcount.peak <= bound);
  }
  free(csv.p);

  /* CSV whose header runs past the first 64 KiB: the bound falls back to
   * the size alone, and still holds. */
  csv = (bytes){0};
  for (int j = 0; j < 12000; j++) {
    char name[24];
    snprintf(name, sizeof name, "feature_%05d,", j);
    put_str(&csv, name);
  }
  put_str(&csv, "y\n");
  for (int r = 0; r < 4; r++)
    for (int j = 0; j <= 12000; j++) put_str(&csv, j < 12000 ? "7," : "1\n");
  write_file(path, csv.p, csv.len);
  peak = load_peak(path, FL_FORM_CSV, &bound);
  s = csv.len;
  assert_true(bound >= 12 * (uint64_t)s - 64);
  free(csv.p);
  assert_int_equal(unlink(path), 0);
  assert_int_equal(rmdir(dir), 0);
  (void)peak;
}

/* A bad file is refused from its first bytes, before anything reads it
 * whole: a 2 GB sparse file with a wrong magic used to be read whole
 * before the .npy reader saw the magic. */
static void test_load_bound_refuses(void **state) {
  (void)state;
  char dir[256], path[300], link[300];
  temp_dir(dir, sizeof dir);
  uint64_t bound = 7;
  fl_error err = {0};
  int rc;

  snprintf(path, sizeof path, "%s/sparse.npy", dir);
  FILE *f = fopen(path, "wb");
  assert_non_null(f);
  fputs("PK\x03\x04 not numpy", f);
  assert_int_equal(fclose(f), 0);
  assert_int_equal(truncate(path, (off_t)2 << 30), 0);
  long before = max_rss_kib();
  rc = fl_data_load_bound(path, FL_FORM_NPY, FL_READ_NOFOLLOW, &bound, &err);
  assert_fails(rc, FL_EDATA, err, path, "not a .npy file");
  assert_int_equal(bound, 0);
  assert_true(max_rss_kib() - before < 4 * 1024);
  /* The same bytes as IDX and CSV: the IDX magic is wrong too; CSV has no
   * magic and is bounded by its size. */
  rc = fl_data_load_bound(path, FL_FORM_IDX, 0, &bound, &err);
  assert_fails(rc, FL_EDATA, err, path, "not an IDX file");
  assert_ok(fl_data_load_bound(path, FL_FORM_CSV, 0, &bound, &err), err);
  assert_true(bound > 2 * ((uint64_t)2 << 30));
  /* Over the size cap: refused on the size. */
  assert_int_equal(truncate(path, (off_t)FL_DATA_MAX_BYTES + 1), 0);
  rc = fl_data_load_bound(path, FL_FORM_CSV, 0, &bound, &err);
  assert_fails(rc, FL_ETOOBIG, err, path, "over the limit");
  assert_int_equal(unlink(path), 0);

  /* Data that disagree with the header, as the readers word it. */
  double v[4] = {1, 2, 3, 4};
  bytes npy = npy_values(1, "<f4", "(5,)", v, 4);
  write_file(path, npy.p, npy.len);
  rc = fl_data_load_bound(path, FL_FORM_NPY, 0, &bound, &err);
  assert_fails(rc, FL_EDATA, err, path, "needs 20 bytes of data");
  assert_msg_has(err, "truncated?");
  free(npy.p);
  uint32_t d1[1] = {3};
  bytes idx = idx_file(0x08, 1, d1, v, 4);
  write_file(path, idx.p, idx.len);
  rc = fl_data_load_bound(path, FL_FORM_IDX, 0, &bound, &err);
  assert_fails(rc, FL_EDATA, err, path, "3 bytes of data but 4 are present");
  free(idx.p);
  /* A header dict longer than numpy reads: refused by the reader too. */
  char dict[12000];
  snprintf(dict, sizeof dict, "{'descr': '<f4', 'fortran_order': False, "
           "'shape': (4,), }%*s", 11000, "");
  npy = npy_file(2, dict, false, v, 0);
  bytes data = {0};
  for (int i = 0; i < 4; i++) put_elem(&data, "f4", v[i], false);
  put(&npy, data.p, data.len);
  write_file(path, npy.p, npy.len);
  rc = fl_data_load_bound(path, FL_FORM_NPY, 0, &bound, &err);
  assert_fails(rc, FL_EDATA, err, path, "longer than 10000");
  fl_array a;
  rc = fl_npy_parse(npy.p, npy.len, "long.npy", &a, &err);
  assert_fails(rc, FL_EDATA, err, "long.npy", "max_header_size");
  free(data.p);
  free(npy.p);
  /* A CSV header every reader refuses (whatever the delimiter), when the
   * whole file was read. An empty name is not one: under another
   * delimiter "a,,y" is one name. */
  write_file(path, "\"a,b\n1,2\n", 9);
  rc = fl_data_load_bound(path, FL_FORM_CSV, 0, &bound, &err);
  assert_fails(rc, FL_EDATA, err, path, "quoted field is never closed");
  write_file(path, "a,,y\n1,2,3\n", 11);
  assert_ok(fl_data_load_bound(path, FL_FORM_CSV, 0, &bound, &err), err);

  /* The IDX bomb of test_gunzip_ratio_cap: its header declares 256 MiB
   * from 260 KB, so it is refused on the ratio without inflating it. */
  static const uint8_t zeros[1 << 20];
  uint32_t dims[3] = {262144, 32, 32};
  bytes hdr = idx_file(0x08, 3, dims, NULL, 0);
  bytes bomb = gzip_bytes(hdr.p, hdr.len);
  bytes body = gzip_repeated(zeros, sizeof zeros, 256);
  put(&bomb, body.p, body.len);
  write_file(path, bomb.p, bomb.len);
  rc = fl_data_load_bound(path, FL_FORM_IDX, 0, &bound, &err);
  assert_fails(rc, FL_ETOOBIG, err, path, "inflate to 268435472 bytes");
  assert_msg_has(err, "over the limit of 64:1");
  free(body.p);
  free(bomb.p);
  free(hdr.p);
  /* A gzip IDX cut inside its header. */
  uint32_t d2[2] = {4, 4};
  hdr = idx_file(0x08, 2, d2, NULL, 0);
  bytes cut = gzip_bytes(hdr.p, hdr.len);
  write_file(path, cut.p, cut.len / 2);
  rc = fl_data_load_bound(path, FL_FORM_IDX, 0, &bound, &err);
  assert_int_equal(rc, FL_EDATA);
  assert_msg_has(err, path);
  free(cut.p);
  free(hdr.p);

  /* Links and FIFOs, as fl_file_read_ex refuses them; a FIFO even without
   * the flag, since only a regular file has a size to bound. */
  write_file(path, "a,y\n1,0\n", 8);
  snprintf(link, sizeof link, "%s/link.csv", dir);
  assert_int_equal(symlink(path, link), 0);
  rc = fl_data_load_bound(link, FL_FORM_CSV, FL_READ_NOFOLLOW, &bound, &err);
  assert_fails(rc, FL_EPERM, err, link, "is a symbolic link; refused");
  assert_ok(fl_data_load_bound(link, FL_FORM_CSV, 0, &bound, &err), err);
  assert_int_equal(unlink(link), 0);
  assert_int_equal(mkfifo(link, 0600), 0);
  rc = fl_data_load_bound(link, FL_FORM_CSV, 0, &bound, &err);
  assert_fails(rc, FL_EPERM, err, link, "is not a regular file (a FIFO)");
  rc = fl_data_load_bound(link, FL_FORM_CSV, FL_READ_NOFOLLOW, &bound, &err);
  assert_fails(rc, FL_EPERM, err, link, "is not a regular file (a FIFO)");
  assert_int_equal(unlink(link), 0);
  rc = fl_data_load_bound(path, (fl_data_form)7, 0, &bound, &err);
  assert_fails(rc, FL_EINVAL, err, path, "unknown data form 7");

  assert_int_equal(unlink(path), 0);
  assert_int_equal(rmdir(dir), 0);
}

#define FMNIST_DIR "/usr/share/datasets/fashion-mnist/"

/* Set when the data set is missing; main then exits 77, which ctest
 * reports as skipped (cmocka's own exit status counts a skip as a pass). */
static bool fmnist_skipped;

static void test_fashion_mnist_t10k(void **state) {
  (void)state;
  const char *img_path = FMNIST_DIR "t10k-images-idx3-ubyte.gz";
  const char *lbl_path = FMNIST_DIR "t10k-labels-idx1-ubyte.gz";
  if (access(img_path, R_OK) != 0 || access(lbl_path, R_OK) != 0) {
    print_message("skipped: no " FMNIST_DIR " (Debian: apt-get install "
                  "dataset-fashion-mnist)\n");
    fmnist_skipped = true;
    skip();
  }
  uint8_t *ib = NULL, *lb = NULL;
  size_t il = 0, ll = 0;
  fl_error err = {0};
  assert_ok(fl_file_read(img_path, FL_DATA_MAX_BYTES, &ib, &il, &err), err);
  assert_ok(fl_file_read(lbl_path, FL_DATA_MAX_BYTES, &lb, &ll, &err), err);
  fl_array x, y;
  assert_ok(fl_idx_parse(ib, il, img_path, &x, &err), err);
  assert_ok(fl_idx_parse(lb, ll, lbl_path, &y, &err), err);
  free(ib);
  free(lb);
  assert_int_equal(x.ndim, 3);
  assert_int_equal(x.shape[0], 10000);
  assert_int_equal(x.shape[1], 28);
  assert_int_equal(x.shape[2], 28);
  assert_string_equal(x.dtype, "idx-u8");
  assert_int_equal(y.ndim, 1);
  assert_int_equal(y.shape[0], 10000);
  assert_true(y.integral);

  fl_dataset ds;
  assert_ok(fl_dataset_from_arrays(&x, &y, 1.0f / 255.0f, img_path, lbl_path,
                                   &ds, &err), err);
  assert_int_equal(ds.d, 784);
  fl_dataset_stats st;
  assert_ok(fl_dataset_stats_compute(&ds, &st, &err), err);
  assert_int_equal(st.k, 10);
  assert_int_equal(st.min_id, 0);
  assert_int_equal(st.max_id, 9);
  for (int c = 0; c < 10; c++) assert_int_equal(st.class_counts[c], 1000);
  assert_int_equal(st.n_nonfinite, 0);
  assert_float_equal(st.abs_max, 1.0, 1e-6);
  /* Fashion-MNIST's mean pixel is about 0.286 of full scale. */
  double mean = 0;
  for (size_t j = 0; j < 784; j++) mean += st.feat_mean[j];
  mean /= 784;
  assert_in_range((long)(mean * 1000), 270, 300);
  fl_dataset_stats_free(&st);
  fl_dataset_free(&ds);
}

/* ---- mutation ----------------------------------------------------------- */

static uint64_t rng_state;

static uint64_t rng_next(void) { /* xorshift64* */
  rng_state ^= rng_state >> 12;
  rng_state ^= rng_state << 25;
  rng_state ^= rng_state >> 27;
  return rng_state * 2685821657736338717ull;
}

typedef enum { MUT_NPY, MUT_IDX, MUT_CSV } mut_kind;

/* Parse a mutated copy; the only acceptable outcomes are success with a
 * consistent array or a negative code with a message. True on success. */
static bool parse_mutant(mut_kind kind, const uint8_t *buf, size_t len) {
  fl_array a, b;
  fl_error err = {0};
  int rc;
  memset(&b, 0, sizeof b);
  if (kind == MUT_NPY) {
    rc = fl_npy_parse(buf, len, "m.npy", &a, &err);
  } else if (kind == MUT_IDX) {
    rc = fl_idx_parse(buf, len, "m.idx", &a, &err);
  } else {
    const char *names[2] = {"y", NULL};
    const int idx[2] = {-1, 0};
    rc = fl_csv_parse(buf, len, "m.csv", names, idx, (int)(rng_next() % 2) + 1,
                      &a, &b, &err);
  }
  if (rc != 0) {
    assert_true(rc < 0);
    assert_int_equal(err.code, rc);
    assert_true(err.msg[0] != '\0');
    assert_null(a.data);
    return false;
  }
  size_t count = 1;
  for (int i = 0; i < a.ndim; i++) count *= a.shape[i];
  assert_int_equal(count, a.count);
  assert_non_null(a.data);
  volatile float sink = 0;
  for (size_t i = 0; i < a.count; i++) sink += a.data[i]; /* readable */
  (void)sink;
  if (kind == MUT_CSV) assert_int_equal(b.shape[0], a.shape[0]);
  fl_array_free(&a);
  fl_array_free(&b);
  return true;
}

static void mutate_and_parse(mut_kind kind, const bytes *seed, int rounds) {
  int parsed = 0;
  uint8_t *buf = malloc(seed->len);
  assert_non_null(buf);
  for (int r = 0; r < rounds; r++) {
    memcpy(buf, seed->p, seed->len);
    size_t len = seed->len;
    int flips = (int)(rng_next() % 4) + (r % 3 == 2 ? 0 : 1);
    for (int f = 0; f < flips; f++) {
      size_t at = rng_next() % len;
      /* Mostly the header region, where a flip changes the meaning. */
      if (rng_next() % 2) at %= (len < 80 ? len : 80);
      switch (rng_next() % 3) {
        case 0: buf[at] ^= (uint8_t)(1u << (rng_next() % 8)); break;
        case 1: buf[at] = (uint8_t)rng_next(); break;
        default: buf[at] = (uint8_t)"0,\n\"9e.-'()"[rng_next() % 12]; break;
      }
    }
    if (r % 3 != 0) len = rng_next() % (len + 1);
    /* A copy of exactly len bytes, so ASan sees reads past the end. */
    uint8_t *exact = malloc(len ? len : 1);
    memcpy(exact, buf, len);
    parsed += parse_mutant(kind, exact, len);
    free(exact);
  }
  free(buf);
  /* Both outcomes must occur, or the mutations miss what they aim at. */
  if (getenv("FL_TEST_VERBOSE"))
    print_message("mutation kind %d: %d of %d parsed\n", (int)kind, parsed,
                  rounds);
  assert_true(parsed > 0 && parsed < rounds);
}

static void test_mutations(void **state) {
  (void)state;
  rng_state = 0x9E3779B97F4A7C15ull;
  double v[12];
  for (int i = 0; i < 12; i++) v[i] = i * 1.5 - 4;
  bytes npy1 = npy_values(1, "<f4", "(3, 4)", v, 12);
  bytes npy2 = npy_values(2, "<i2", "(2, 2, 3)", v, 12);
  bytes npy3 = npy_values(3, "<f8", "(12,)", v, 12);
  uint32_t dims[3] = {3, 2, 2};
  double pix[12] = {0, 1, 2, 3, 250, 251, 252, 253, 7, 8, 9, 10};
  bytes idx = idx_file(0x08, 3, dims, pix, 12);
  bytes idxf = idx_file(0x0D, 3, dims, v, 12);
  bytes idxz = gzip_bytes(idx.p, idx.len);
  bytes csv = {0};
  put_str(&csv, "a,\"b\",y,c\r\n1,2.5,0,-1\r\n\"3\",nan,2,4e3\r\n5,6,1,7\n");

  mutate_and_parse(MUT_NPY, &npy1, 1500);
  mutate_and_parse(MUT_NPY, &npy2, 1000);
  mutate_and_parse(MUT_NPY, &npy3, 1000);
  mutate_and_parse(MUT_IDX, &idx, 1500);
  mutate_and_parse(MUT_IDX, &idxf, 1000);
  mutate_and_parse(MUT_IDX, &idxz, 2000);
  mutate_and_parse(MUT_CSV, &csv, 3000);

  free(npy1.p);
  free(npy2.p);
  free(npy3.p);
  free(idx.p);
  free(idxf.p);
  free(idxz.p);
  free(csv.p);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_npy_dtypes_and_versions),
      cmocka_unit_test(test_npy_float16),
      cmocka_unit_test(test_npy_fortran_order),
      cmocka_unit_test(test_npy_nan_inf_pass_through),
      cmocka_unit_test(test_npy_header_spacing),
      cmocka_unit_test(test_npy_malformed_header),
      cmocka_unit_test(test_npy_malformed_preamble),
      cmocka_unit_test(test_idx_plain_types),
      cmocka_unit_test(test_idx_malformed),
      cmocka_unit_test(test_gunzip),
      cmocka_unit_test(test_gunzip_bomb),
      cmocka_unit_test(test_gunzip_ratio_cap),
      cmocka_unit_test(test_csv_label_by_name_and_index),
      cmocka_unit_test(test_csv_quotes_crlf_bom_trailing),
      cmocka_unit_test(test_csv_class_names),
      cmocka_unit_test(test_csv_header_detection_and_delimiter),
      cmocka_unit_test(test_csv_one_hot),
      cmocka_unit_test(test_csv_errors),
      cmocka_unit_test(test_csv_many_rows),
      cmocka_unit_test(test_dataset_from_arrays),
      cmocka_unit_test(test_dataset_from_arrays_errors),
      cmocka_unit_test(test_split_tail),
      cmocka_unit_test(test_dataset_image_shape),
      cmocka_unit_test(test_dataset_check_images),
      cmocka_unit_test(test_stats_ids),
      cmocka_unit_test(test_stats_dense),
      cmocka_unit_test(test_file_read),
      cmocka_unit_test(test_file_read_nofollow),
      cmocka_unit_test(test_load_bound_holds),
      cmocka_unit_test(test_load_bound_refuses),
      cmocka_unit_test(test_fashion_mnist_t10k),
      cmocka_unit_test(test_mutations),
  };
  int failed = cmocka_run_group_tests(tests, NULL, NULL);
  return failed ? failed : fmnist_skipped ? 77 : 0;
}
