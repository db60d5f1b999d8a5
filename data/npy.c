/* data/npy.c — owns the NumPy .npy reader: format versions 1.0, 2.0 and
 * 3.0, the header dict (a Python literal), dtype checks, and conversion of
 * the data to float32.
 *
 * Layout: "\x93NUMPY" major minor, header length (u16 LE for 1.0, u32 LE for
 * 2.0/3.0), the header text {'descr': '<f4', 'fortran_order': False,
 * 'shape': (60000, 784), } padded with spaces and a '\n', then exactly
 * prod(shape) * itemsize bytes of data: C order, or Fortran (column-major)
 * order when 'fortran_order' is True, which the reader turns into C order
 * (np.save writes what pandas' DataFrame.values gives: often Fortran). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data_internal.h"

typedef struct {
  const char *code; /* type code after the byte-order character */
  fl__elem elem;
} npy_type;

static const npy_type npy_types[] = {
    {"f4", FL__ELEM_F32}, {"f8", FL__ELEM_F64}, {"u1", FL__ELEM_U8},
    {"i1", FL__ELEM_I8},  {"b1", FL__ELEM_BOOL}, {"i2", FL__ELEM_I16},
    {"u2", FL__ELEM_U16}, {"i4", FL__ELEM_I32}, {"u4", FL__ELEM_U32},
    {"i8", FL__ELEM_I64}, {"u8", FL__ELEM_U64}, {"f2", FL__ELEM_F16},
};

#define NPY_DESCR_MAX 64

/* A cursor over the header text; pos is relative to the text, `base` turns
 * it into a file offset for messages. */
typedef struct {
  const char *s;
  size_t len, pos, base;
  const char *name;
  fl_error *err;
} hdr_cursor;

static void skip_ws(hdr_cursor *c) {
  while (c->pos < c->len && (c->s[c->pos] == ' ' || c->s[c->pos] == '\t' ||
                             c->s[c->pos] == '\n' || c->s[c->pos] == '\r'))
    c->pos++;
}

/* "got 'x'" / "got the end of the header" for messages. */
static const char *got_text(const hdr_cursor *c, char *buf, size_t cap) {
  if (c->pos >= c->len) return "the end of the header";
  unsigned char ch = (unsigned char)c->s[c->pos];
  if (ch >= 0x20 && ch < 0x7f)
    snprintf(buf, cap, "'%c'", ch);
  else
    snprintf(buf, cap, "byte 0x%02x", ch);
  return buf;
}

static int syntax_error(const hdr_cursor *c, const char *expected) {
  char g[32];
  return fl_error_set(c->err, FL_EDATA,
                      "%s: malformed header dict at byte %zu: expected %s, "
                      "got %s",
                      fl__name(c->name), c->base + c->pos, expected,
                      got_text(c, g, sizeof g));
}

static int expect_char(hdr_cursor *c, char ch, const char *expected) {
  skip_ws(c);
  if (c->pos >= c->len || c->s[c->pos] != ch) return syntax_error(c, expected);
  c->pos++;
  return 0;
}

/* A Python string literal in '...' or "..." without escapes (no dtype or
 * key needs one). */
static int parse_string(hdr_cursor *c, char *out, size_t cap,
                        const char *what) {
  skip_ws(c);
  if (c->pos >= c->len || (c->s[c->pos] != '\'' && c->s[c->pos] != '"'))
    return syntax_error(c, what);
  char quote = c->s[c->pos++];
  size_t n = 0;
  while (c->pos < c->len && c->s[c->pos] != quote) {
    char ch = c->s[c->pos];
    if (ch == '\\' || ch == '\n')
      return syntax_error(c, "a plain string without escapes");
    if (n + 1 >= cap)
      return fl_error_set(c->err, FL_EDATA,
                          "%s: malformed header dict at byte %zu: string is "
                          "longer than %zu characters",
                          fl__name(c->name), c->base + c->pos, cap - 1);
    out[n++] = ch;
    c->pos++;
  }
  if (c->pos >= c->len) return syntax_error(c, "a closing quote");
  c->pos++;
  out[n] = '\0';
  return 0;
}

static int parse_bool(hdr_cursor *c, bool *v) {
  skip_ws(c);
  const char *p = c->s + c->pos;
  size_t left = c->len - c->pos;
  if (left >= 4 && memcmp(p, "True", 4) == 0) {
    *v = true;
    c->pos += 4;
  } else if (left >= 5 && memcmp(p, "False", 5) == 0) {
    *v = false;
    c->pos += 5;
  } else {
    return syntax_error(c, "True or False for 'fortran_order'");
  }
  return 0;
}

static bool is_digit(char ch) { return ch >= '0' && ch <= '9'; }

/* (), (5,), (60000, 784), (2, 3, ) — also (5) and Python 2's 5L. */
static int parse_shape(hdr_cursor *c, size_t *shape, int *ndim) {
  *ndim = 0;
  int rc = expect_char(c, '(', "'(' opening the shape tuple");
  if (rc) return rc;
  for (;;) {
    skip_ws(c);
    if (c->pos < c->len && c->s[c->pos] == ')') {
      c->pos++;
      return 0;
    }
    if (c->pos >= c->len || !is_digit(c->s[c->pos]))
      return syntax_error(c, "a non-negative integer or ')' in the shape");
    size_t v = 0;
    while (c->pos < c->len && is_digit(c->s[c->pos])) {
      size_t digit = (size_t)(c->s[c->pos] - '0');
      if (v > (SIZE_MAX - digit) / 10)
        return fl_error_set(c->err, FL_ETOOBIG,
                            "%s: shape dimension at header byte %zu is too "
                            "large",
                            fl__name(c->name), c->base + c->pos);
      v = v * 10 + digit;
      c->pos++;
    }
    if (c->pos < c->len && (c->s[c->pos] == 'L' || c->s[c->pos] == 'l'))
      c->pos++;
    if (*ndim == FL_DATA_MAX_NDIM)
      return fl_error_set(c->err, FL_EDATA,
                          "%s: shape has more than %d dimensions, the most "
                          "supported",
                          fl__name(c->name), FL_DATA_MAX_NDIM);
    shape[(*ndim)++] = v;
    skip_ws(c);
    if (c->pos < c->len && c->s[c->pos] == ',') {
      c->pos++;
      continue;
    }
    if (c->pos < c->len && c->s[c->pos] == ')') continue;
    return syntax_error(c, "',' or ')' in the shape");
  }
}

typedef struct {
  char descr[NPY_DESCR_MAX];
  bool fortran;
  size_t shape[FL_DATA_MAX_NDIM];
  int ndim;
} npy_header;

/* The dict must hold exactly descr, fortran_order and shape, in any order,
 * each once, as numpy itself requires. */
static int parse_dict(hdr_cursor *c, npy_header *h) {
  bool seen_descr = false, seen_fortran = false, seen_shape = false;
  int rc = expect_char(c, '{', "'{' opening the header dict");
  if (rc) return rc;
  for (;;) {
    skip_ws(c);
    if (c->pos < c->len && c->s[c->pos] == '}') {
      c->pos++;
      break;
    }
    char key[32];
    size_t key_at = c->base + c->pos;
    rc = parse_string(c, key, sizeof key, "a quoted key or '}'");
    if (rc) return rc;
    bool *seen;
    if (strcmp(key, "descr") == 0)
      seen = &seen_descr;
    else if (strcmp(key, "fortran_order") == 0)
      seen = &seen_fortran;
    else if (strcmp(key, "shape") == 0)
      seen = &seen_shape;
    else
      return fl_error_set(c->err, FL_EDATA,
                          "%s: header dict has an unexpected key '%s' at byte "
                          "%zu (expected descr, fortran_order, shape)",
                          fl__name(c->name), key, key_at);
    if (*seen)
      return fl_error_set(c->err, FL_EDATA,
                          "%s: header dict has key '%s' twice (byte %zu)",
                          fl__name(c->name), key, key_at);
    *seen = true;
    rc = expect_char(c, ':', "':' after the key");
    if (rc) return rc;
    if (seen == &seen_descr) {
      skip_ws(c);
      if (c->pos < c->len && c->s[c->pos] == '[')
        return fl_error_set(c->err, FL_EDATA,
                            "%s: structured dtype (a list of fields) is not "
                            "supported; save a plain numeric array",
                            fl__name(c->name));
      rc = parse_string(c, h->descr, sizeof h->descr,
                        "a quoted dtype string for 'descr'");
    } else if (seen == &seen_fortran) {
      rc = parse_bool(c, &h->fortran);
    } else {
      rc = parse_shape(c, h->shape, &h->ndim);
    }
    if (rc) return rc;
    skip_ws(c);
    if (c->pos < c->len && c->s[c->pos] == ',') {
      c->pos++;
      continue;
    }
    if (c->pos < c->len && c->s[c->pos] == '}') continue;
    return syntax_error(c, "',' or '}' after a value");
  }
  skip_ws(c);
  if (c->pos != c->len)
    return syntax_error(c, "only padding after the header dict");
  if (!seen_descr || !seen_fortran || !seen_shape)
    return fl_error_set(c->err, FL_EDATA,
                        "%s: header dict lacks '%s'", fl__name(c->name),
                        !seen_descr ? "descr"
                        : !seen_fortran ? "fortran_order"
                                        : "shape");
  return 0;
}

/* '<f4' -> F32. Byte order: '<' always, '|' or '>' only where it does not
 * matter (one-byte types); '>' otherwise gets its own advice. */
static int resolve_dtype(const char *descr, const char *name,
                         const npy_type **out, fl_error *err) {
  char order = descr[0];
  const char *code = descr + 1;
  const npy_type *t = NULL;
  for (size_t i = 0; i < sizeof npy_types / sizeof npy_types[0]; i++)
    if (strcmp(code, npy_types[i].code) == 0) t = &npy_types[i];
  if (order == '|' || order == '<' || order == '>') {
    if (t && (order == '<' || fl__elem_size(t->elem) == 1)) {
      *out = t;
      return 0;
    }
    if (t && order == '>')
      return fl_error_set(err, FL_EDATA,
                          "%s: dtype '%s': big-endian arrays are not "
                          "supported; save with dtype '<%s' "
                          "(a.astype('<%s'))",
                          fl__name(name), descr, code, code);
  }
  if (strcmp(code, "O") == 0)
    return fl_error_set(err, FL_EDATA,
                        "%s: dtype '%s' is an object array (pickled Python "
                        "objects), which is not supported; save a numeric "
                        "array such as a.astype('<f4')",
                        fl__name(name), descr);
  /* Text: most often labels saved as class names or as digits turned
   * into strings (y.astype(str) gives '<U21'; question round 22). */
  if (code[0] == 'U' || code[0] == 'S')
    return fl_error_set(err, FL_EDATA,
                        "%s: dtype '%s' is text, which is not supported; "
                        "save numbers (labels as class ids: names, ids = "
                        "np.unique(y, return_inverse=True)), or give class "
                        "names as a CSV label column",
                        fl__name(name), descr);
  return fl_error_set(err, FL_EDATA,
                      "%s: dtype '%s' is not supported; use one of f4 f8 f2 "
                      "u1 i1 b1 i2 u2 i4 u4 i8 u8, little-endian (e.g. '<f4')",
                      fl__name(name), descr);
}

/* What the preamble and header dict say, checked against the file's size:
 * everything fl_npy_parse knows before it allocates. */
typedef struct {
  const npy_type *type;
  char descr[NPY_DESCR_MAX];
  int ndim;
  size_t shape[FL_DATA_MAX_NDIM];
  size_t count;   /* prod(shape) */
  size_t data_at; /* file offset of the data */
  bool fortran;   /* column-major data of two or more dimensions */
} npy_layout;

/* Parse the preamble and header of a file of file_len bytes whose first
 * `avail` bytes are at buf (avail < file_len only for a header peek, which
 * holds the whole header of any file we accept: FL__NPY_HEAD_MAX bytes). */
static int parse_layout(const uint8_t *buf, size_t avail, size_t file_len,
                        const char *name, npy_layout *lay, fl_error *err) {
  static const uint8_t magic[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};
  const char *nm = fl__name(name);
  memset(lay, 0, sizeof *lay);

  size_t mlen = avail < 6 ? avail : 6;
  if (avail == 0 || memcmp(buf, magic, mlen) != 0)
    return fl_error_set(err, FL_EDATA,
                        "%s: not a .npy file (it does not start with "
                        "\\x93NUMPY)", nm);
  if (avail < 10)
    return fl_error_set(err, FL_EDATA,
                        "%s: file has %zu bytes, too short for a .npy "
                        "preamble (at least 10)", nm, file_len);
  unsigned major = buf[6], minor = buf[7];
  size_t prefix, hlen;
  if (major == 1 && minor == 0) {
    prefix = 10;
    hlen = (size_t)buf[8] | (size_t)buf[9] << 8;
  } else if ((major == 2 || major == 3) && minor == 0) {
    prefix = 12;
    if (avail < prefix)
      return fl_error_set(err, FL_EDATA,
                          "%s: file has %zu bytes, too short for a .npy %u.0 "
                          "preamble (12)", nm, file_len, major);
    hlen = (size_t)buf[8] | (size_t)buf[9] << 8 | (size_t)buf[10] << 16 |
           (size_t)buf[11] << 24;
  } else {
    return fl_error_set(err, FL_EDATA,
                        "%s: .npy format version %u.%u is not supported "
                        "(1.0, 2.0 and 3.0 are)", nm, major, minor);
  }
  if (hlen > file_len - prefix)
    return fl_error_set(err, FL_EDATA,
                        "%s: header ends at byte %zu but the file has %zu "
                        "bytes", nm, prefix + hlen, file_len);
  if (hlen > FL__NPY_HEADER_MAX)
    return fl_error_set(err, FL_EDATA,
                        "%s: header of %zu bytes is longer than %d, the most "
                        "numpy itself reads (np.load's max_header_size); "
                        "save the array again with np.save",
                        nm, hlen, FL__NPY_HEADER_MAX);
  if (prefix + hlen > avail) /* a peek shorter than FL__NPY_HEAD_MAX */
    return fl_error_set(err, FL_EINVAL,
                        "%s: only %zu bytes of the header were read", nm,
                        avail);

  npy_header h;
  memset(&h, 0, sizeof h);
  hdr_cursor c = {(const char *)buf + prefix, hlen, 0, prefix, name, err};
  int rc = parse_dict(&c, &h);
  if (rc) return rc;

  rc = resolve_dtype(h.descr, name, &lay->type, err);
  if (rc) return rc;
  if (h.ndim == 0)
    return fl_error_set(err, FL_EDATA,
                        "%s: holds a scalar (shape ()), not an array of rows",
                        nm);

  char st[FL__SHAPE_TEXT_MAX];
  fl__shape_text(st, sizeof st, h.ndim, h.shape, true);
  size_t need;
  rc = fl__count_elements(h.ndim, h.shape, name, st, &lay->count, err);
  if (rc) return rc;
  size_t itemsize = fl__elem_size(lay->type->elem);
  if (!fl__mul_size(lay->count, itemsize, &need))
    return fl_error_set(err, FL_ETOOBIG, "%s: shape %s is too large", nm, st);
  lay->data_at = prefix + hlen;
  size_t present = file_len - lay->data_at;
  if (present != need)
    return fl_error_set(err, FL_EDATA,
                        "%s: shape %s of '%s' needs %zu bytes of data after "
                        "the header (byte %zu) but %zu are present (%s)",
                        nm, st, h.descr, need, lay->data_at, present,
                        present < need ? "truncated?" : "trailing bytes");
  memcpy(lay->descr, h.descr, sizeof lay->descr);
  lay->fortran = h.fortran && h.ndim >= 2; /* one dimension: the same bytes */
  lay->ndim = h.ndim;
  memcpy(lay->shape, h.shape, sizeof lay->shape);
  return 0;
}

/* src holds an array of `shape` in Fortran order (the first index
 * fastest); dst gets it in C order (the last index fastest). Walks dst in
 * order with the multi-index idx and keeps src's offset in step: +1 in
 * dimension k moves src by fstride[k] = shape[0] * .. * shape[k-1]. */
static void fortran_to_c(const float *src, float *dst, int ndim, const size_t *shape,
                         size_t count) {
  size_t idx[FL_DATA_MAX_NDIM] = {0}, fstride[FL_DATA_MAX_NDIM];
  fstride[0] = 1;
  for (int k = 1; k < ndim; k++) fstride[k] = fstride[k - 1] * shape[k - 1];
  size_t f = 0;
  for (size_t c = 0; c < count; c++) {
    dst[c] = src[f];
    for (int k = ndim - 1; k >= 0; k--) {
      if (++idx[k] < shape[k]) {
        f += fstride[k];
        break;
      }
      idx[k] = 0;
      f -= (shape[k] - 1) * fstride[k];
    }
  }
}

int fl_npy_parse(const uint8_t *buf, size_t len, const char *name,
                 fl_array *out, fl_error *err) {
  memset(out, 0, sizeof *out);
  npy_layout lay;
  int rc = parse_layout(buf, len, len, name, &lay, err);
  if (rc) return rc;
  out->ndim = lay.ndim;
  memcpy(out->shape, lay.shape, sizeof lay.shape);
  out->count = lay.count;
  out->integral = fl__elem_integral(lay.type->elem);
  /* A resolved descr is a byte-order character and a two-char code. */
  snprintf(out->dtype, sizeof out->dtype, "%c%s", lay.descr[0],
           lay.type->code);
  rc = fl__array_alloc(out, name, err);
  if (rc) {
    memset(out, 0, sizeof *out);
    return rc;
  }
  /* Fortran order: decode into a second buffer, then reorder (counted
   * by fl__npy_load_bound). */
  float *file_order = out->data;
  if (lay.fortran && !(file_order = malloc((lay.count ? lay.count : 1) * sizeof(float)))) {
    fl_array_free(out);
    return fl_error_set(err, FL_ENOMEM,
                        "%s: cannot allocate %zu bytes to reorder a "
                        "Fortran-order array", fl__name(name),
                        lay.count * sizeof(float));
  }
  rc = fl__decode_elements(buf + lay.data_at, lay.count, lay.type->elem,
                           false, file_order, name, err);
  if (!rc && lay.fortran)
    fortran_to_c(file_order, out->data, lay.ndim, lay.shape, lay.count);
  if (file_order != out->data) free(file_order);
  if (rc) fl_array_free(out);
  return rc;
}

/* fl_npy_parse allocates max(count, 1) float32 values (twice that for a
 * Fortran-order array, reordered from a second buffer), while the caller
 * holds the file. */
int fl__npy_load_bound(const uint8_t *head, size_t head_len, size_t file_len,
                       const char *name, uint64_t *bytes, fl_error *err) {
  npy_layout lay;
  int rc = parse_layout(head, head_len, file_len, name, &lay, err);
  if (rc) return rc;
  *bytes = (uint64_t)(lay.count ? lay.count : 1) * sizeof(float) *
           (lay.fortran ? 2 : 1);
  return 0;
}
