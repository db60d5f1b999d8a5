/* data/convert.c — owns decoding of raw numeric elements (u8 ... f64, f16, either
 * byte order, any alignment) into float32 for the .npy and IDX readers. */
#include <float.h>
#include <math.h>
#include <string.h>

#include "data_internal.h"

size_t fl__elem_size(fl__elem t) {
  switch (t) {
    case FL__ELEM_U8:
    case FL__ELEM_I8:
    case FL__ELEM_BOOL: return 1;
    case FL__ELEM_I16:
    case FL__ELEM_U16:
    case FL__ELEM_F16: return 2;
    case FL__ELEM_I32:
    case FL__ELEM_U32:
    case FL__ELEM_F32: return 4;
    case FL__ELEM_I64:
    case FL__ELEM_U64:
    case FL__ELEM_F64: return 8;
  }
  return 0;
}

bool fl__elem_integral(fl__elem t) {
  return t != FL__ELEM_F16 && t != FL__ELEM_F32 && t != FL__ELEM_F64;
}

/* binary16 to float: every half value is a float exactly (sign, 5-bit
 * exponent biased by 15, 10-bit fraction; exponent 0 is zero and the
 * subnormals, fraction x 2^-24; 31 is Inf and NaN). */
static float half_to_float(uint16_t h) {
  unsigned exp = (h >> 10) & 0x1fu, frac = h & 0x3ffu;
  float v;
  if (exp == 0)
    v = ldexpf((float)frac, -24);
  else if (exp == 31)
    v = frac ? NAN : INFINITY;
  else
    v = ldexpf((float)(frac | 0x400u), (int)exp - 25);
  return (h & 0x8000u) ? -v : v;
}

/* Unsigned loads of n bytes in the file's byte order: the buffers come
 * straight from files, so nothing is aligned. */
static uint64_t load_uint(const uint8_t *p, size_t n, bool big_endian) {
  uint64_t v = 0;
  if (big_endian) {
    for (size_t i = 0; i < n; i++) v = (v << 8) | p[i];
  } else {
    for (size_t i = n; i > 0; i--) v = (v << 8) | p[i - 1];
  }
  return v;
}

int fl__decode_elements(const uint8_t *src, size_t count, fl__elem t,
                        bool big_endian, float *dst, const char *name,
                        fl_error *err) {
  const size_t size = fl__elem_size(t);
  /* One switch outside the loops: the loops are over up to 10^9 values. */
  switch (t) {
    case FL__ELEM_U8:
      for (size_t i = 0; i < count; i++) dst[i] = (float)src[i];
      return 0;
    case FL__ELEM_I8:
      for (size_t i = 0; i < count; i++) dst[i] = (float)(int8_t)src[i];
      return 0;
    case FL__ELEM_BOOL:
      for (size_t i = 0; i < count; i++) dst[i] = src[i] ? 1.0f : 0.0f;
      return 0;
    case FL__ELEM_I16:
      for (size_t i = 0; i < count; i++) {
        uint16_t u = (uint16_t)load_uint(src + i * size, size, big_endian);
        int16_t s;
        memcpy(&s, &u, sizeof s);
        dst[i] = (float)s;
      }
      return 0;
    case FL__ELEM_U16:
      for (size_t i = 0; i < count; i++)
        dst[i] = (float)load_uint(src + i * size, size, big_endian);
      return 0;
    case FL__ELEM_I32:
      for (size_t i = 0; i < count; i++) {
        uint32_t u = (uint32_t)load_uint(src + i * size, size, big_endian);
        int32_t s;
        memcpy(&s, &u, sizeof s);
        dst[i] = (float)s;
      }
      return 0;
    case FL__ELEM_U32:
      for (size_t i = 0; i < count; i++)
        dst[i] = (float)load_uint(src + i * size, size, big_endian);
      return 0;
    case FL__ELEM_I64:
      for (size_t i = 0; i < count; i++) {
        uint64_t u = load_uint(src + i * size, size, big_endian);
        int64_t s;
        memcpy(&s, &u, sizeof s);
        dst[i] = (float)s;
      }
      return 0;
    case FL__ELEM_U64:
      for (size_t i = 0; i < count; i++)
        dst[i] = (float)load_uint(src + i * size, size, big_endian);
      return 0;
    case FL__ELEM_F16:
      for (size_t i = 0; i < count; i++)
        dst[i] = half_to_float((uint16_t)load_uint(src + i * size, size, big_endian));
      return 0;
    case FL__ELEM_F32:
      for (size_t i = 0; i < count; i++) {
        uint32_t u = (uint32_t)load_uint(src + i * size, size, big_endian);
        memcpy(&dst[i], &u, sizeof u);
      }
      return 0;
    case FL__ELEM_F64:
      for (size_t i = 0; i < count; i++) {
        uint64_t u = load_uint(src + i * size, size, big_endian);
        double v;
        memcpy(&v, &u, sizeof v);
        /* Converting an out-of-range double to float is undefined in C;
         * an infinity here would also be a silent misread of a finite
         * value. NaN and Inf are the user's and pass through. */
        if (isfinite(v) && fabs(v) > (double)FLT_MAX)
          return fl_error_set(err, FL_EDATA,
                              "%s: element %zu is %g, beyond float32's range "
                              "(about 3.4e38); rescale the data before "
                              "saving it",
                              fl__name(name), i, v);
        dst[i] = (float)v;
      }
      return 0;
  }
  return fl_error_set(err, FL_EINVAL, "%s: unknown element type %d",
                      fl__name(name), (int)t);
}
