/* data/idx.c — owns the IDX (MNIST) reader, plain or gzip-compressed.
 *
 * Layout: 0x00 0x00 type ndim, then ndim big-endian u32 dimensions, then
 * prod(dims) big-endian elements: train-images is (60000, 28, 28) u8,
 * train-labels (60000,) u8. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data_internal.h"

typedef struct {
  fl__elem elem;
  const char *type_name; /* "u8": for messages and the dtype "idx-u8" */
  int ndim;
  size_t shape[FL_DATA_MAX_NDIM];
  size_t count;        /* prod(shape) */
  size_t header_bytes; /* 4 + 4 * ndim */
  size_t data_bytes;   /* count * element size */
  char shape_text[FL__SHAPE_TEXT_MAX];
} idx_header;

static int read_header(const uint8_t *buf, size_t len, const char *name,
                       idx_header *h, fl_error *err) {
  const char *nm = fl__name(name);
  if ((len >= 1 && buf[0] != 0) || (len >= 2 && buf[1] != 0))
    return fl_error_set(err, FL_EDATA,
                        "%s: not an IDX file: it starts with bytes %02x %02x, "
                        "expected 00 00 (or a gzip file, 1f 8b)",
                        nm, buf[0], len >= 2 ? buf[1] : 0u);
  if (len < 4)
    return fl_error_set(err, FL_EDATA,
                        "%s: file has %zu bytes, too short for an IDX header "
                        "(at least 4)", nm, len);
  switch (buf[2]) {
    case 0x08: h->elem = FL__ELEM_U8; h->type_name = "u8"; break;
    case 0x09: h->elem = FL__ELEM_I8; h->type_name = "i8"; break;
    case 0x0B: h->elem = FL__ELEM_I16; h->type_name = "i16"; break;
    case 0x0C: h->elem = FL__ELEM_I32; h->type_name = "i32"; break;
    case 0x0D: h->elem = FL__ELEM_F32; h->type_name = "f32"; break;
    case 0x0E: h->elem = FL__ELEM_F64; h->type_name = "f64"; break;
    default:
      return fl_error_set(err, FL_EDATA,
                          "%s: unknown IDX data type 0x%02x at byte 2 "
                          "(expected 0x08 u8, 0x09 i8, 0x0B i16, 0x0C i32, "
                          "0x0D f32 or 0x0E f64)", nm, buf[2]);
  }
  h->ndim = buf[3];
  if (h->ndim < 1 || h->ndim > FL_DATA_MAX_NDIM)
    return fl_error_set(err, FL_EDATA,
                        "%s: IDX header declares %d dimensions (byte 3); "
                        "1 to %d are supported", nm, h->ndim,
                        FL_DATA_MAX_NDIM);
  h->header_bytes = 4 + 4 * (size_t)h->ndim;
  if (len < h->header_bytes)
    return fl_error_set(err, FL_EDATA,
                        "%s: IDX header with %d dimensions needs %zu bytes but "
                        "the file has %zu", nm, h->ndim, h->header_bytes, len);
  for (int i = 0; i < h->ndim; i++) {
    const uint8_t *p = buf + 4 + 4 * (size_t)i;
    h->shape[i] = (size_t)p[0] << 24 | (size_t)p[1] << 16 |
                  (size_t)p[2] << 8 | (size_t)p[3];
  }
  fl__shape_text(h->shape_text, sizeof h->shape_text, h->ndim, h->shape,
                 false);
  int rc = fl__count_elements(h->ndim, h->shape, name, h->shape_text,
                              &h->count, err);
  if (rc) return rc;
  if (!fl__mul_size(h->count, fl__elem_size(h->elem), &h->data_bytes))
    return fl_error_set(err, FL_ETOOBIG, "%s: shape %s is too large", nm,
                        h->shape_text);
  return 0;
}

/* The data after the header must be exactly what the header declares. */
static int check_data_size(const idx_header *h, size_t present,
                           const char *name, fl_error *err) {
  if (present == h->data_bytes) return 0;
  return fl_error_set(err, FL_EDATA,
                      "%s: declares %s %s = %zu bytes of data but %zu are "
                      "present (%s)",
                      fl__name(name), h->shape_text, h->type_name,
                      h->data_bytes, present,
                      present < h->data_bytes ? "truncated?"
                                              : "trailing bytes?");
}

static int parse_plain(const uint8_t *buf, size_t len, const char *name,
                       fl_array *out, fl_error *err) {
  idx_header h;
  int rc = read_header(buf, len, name, &h, err);
  if (rc) return rc;
  rc = check_data_size(&h, len - h.header_bytes, name, err);
  if (rc) return rc;
  out->ndim = h.ndim;
  memcpy(out->shape, h.shape, sizeof h.shape);
  out->count = h.count;
  out->integral = fl__elem_integral(h.elem);
  snprintf(out->dtype, sizeof out->dtype, "idx-%.3s", h.type_name);
  rc = fl__array_alloc(out, name, err);
  if (rc) {
    memset(out, 0, sizeof *out);
    return rc;
  }
  rc = fl__decode_elements(buf + h.header_bytes, h.count, h.elem, true,
                           out->data, name, err);
  if (rc) fl_array_free(out);
  return rc;
}

/* Peek at the decompressed header first, so that the full inflate is capped
 * at exactly the size the header declares (itself capped): a bomb or a lie
 * stops there instead of at FL_DATA_MAX_BYTES, or earlier at the ratio cap
 * when the header declares more than the file may inflate to. */
static int parse_gzip(const uint8_t *buf, size_t len, const char *name,
                      fl_array *out, fl_error *err) {
  uint8_t *head = NULL, *full = NULL;
  size_t head_len = 0, full_len = 0;
  int rc = fl__inflate_gzip(buf, len, name, FL__IDX_HEADER_MAX, true, &head,
                            &head_len, err);
  if (rc) return rc;
  idx_header h;
  rc = read_header(head, head_len, name, &h, err);
  free(head);
  if (rc) return rc;
  size_t total;
  if (h.data_bytes > SIZE_MAX - h.header_bytes)
    return fl_error_set(err, FL_ETOOBIG, "%s: shape %s is too large",
                        fl__name(name), h.shape_text);
  total = h.header_bytes + h.data_bytes;
  rc = fl__inflate_gzip(buf, len, name, total, false, &full, &full_len, err);
  /* Past the ratio cap the file may be a bomb or cut short; either way the
   * ratio message says why inflating stopped. */
  if (rc == FL_ETOOBIG && total <= fl__gzip_ratio_limit(len))
    return fl_error_set(err, FL_EDATA,
                        "%s: declares %s %s = %zu bytes of data but "
                        "decompresses to more (trailing bytes?)",
                        fl__name(name), h.shape_text, h.type_name,
                        h.data_bytes);
  if (rc) return rc;
  rc = parse_plain(full, full_len, name, out, err);
  free(full);
  return rc;
}

int fl_idx_parse(const uint8_t *buf, size_t len, const char *name,
                 fl_array *out, fl_error *err) {
  memset(out, 0, sizeof *out);
  if (len >= 2 && buf[0] == 0x1f && buf[1] == 0x8b)
    return parse_gzip(buf, len, name, out, err);
  return parse_plain(buf, len, name, out, err);
}

/* What fl_idx_parse allocates past the file the caller holds.
 * Plain: max(count, 1) float32 values.
 * Gzip: first a header peek (FL__IDX_HEADER_MAX bytes and zlib's state,
 * freed), then the inflate into a buffer that grows by doubling up to
 * total = header + data bytes, where realloc may hold the old and the new
 * block at once (under 2 * total, with zlib's state), then the float32
 * values while the inflated copy is still held (total + 4 * count). */
int fl__idx_load_bound(const uint8_t *head, size_t head_len, size_t file_len,
                       bool gzip, const char *name, uint64_t *bytes,
                       fl_error *err) {
  idx_header h;
  int rc = read_header(head, head_len, name, &h, err);
  if (rc) return rc;
  const uint64_t floats = (uint64_t)(h.count ? h.count : 1) * sizeof(float);
  if (!gzip) {
    rc = check_data_size(&h, file_len - h.header_bytes, name, err);
    if (rc) return rc;
    *bytes = floats;
    return 0;
  }
  /* header_bytes + data_bytes cannot overflow: data_bytes is at most
   * 2 * FL_DATA_MAX_BYTES (f64 elements under the float32 cap). */
  const size_t total = h.header_bytes + h.data_bytes;
  if (total > fl__gzip_ratio_limit(file_len))
    return fl__gzip_ratio_error(name, total, false, file_len, err);
  const uint64_t inflating = FL__ZLIB_INFLATE_BYTES + 2 * (uint64_t)total;
  const uint64_t converting = (uint64_t)total + floats;
  *bytes = inflating > converting ? inflating : converting;
  return 0;
}
