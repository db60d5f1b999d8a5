/* data/csv.c — owns the CSV reader: a header row (or none: declared, or
 * detected when every field of the first row is a number), fields
 * separated by a comma or another delimiter (RFC 4180 quoting with ""
 * escapes), CRLF or LF line ends, label columns chosen by name or index,
 * every other column a feature. Without a header the columns are named
 * "0", "1", ... as pandas' read_csv(header=None) names them.
 *
 * Output: features (N, D) in column order with the label columns removed;
 * labels (N,) integer class ids for one label column (or, when the caller
 * allows it, class names turned into ids in sorted order, the names kept
 * with the labels), (N, K) floats for K label columns. Lines and columns
 * in messages count from 1, as editors show them; label_indices count
 * from 0, as pandas' iloc does. */
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data_internal.h"

/* The longest field read as a number; "0.1" spelled out exactly is 57
 * characters, so this only turns away things that are not numbers. */
#define CSV_NUMBER_MAX 256

typedef struct {
  const char *s;
  size_t len;
  size_t pos;
  size_t line; /* 1-based line of s[pos] */
  const char *name;
  fl_error *err;
  const char *delims; /* the delimiter (one character) */
} csv_reader;

static bool is_delim(const csv_reader *r, char ch) {
  return ch != '\0' && strchr(r->delims, ch) != NULL;
}

/* One field as a slice of the buffer: inside the quotes when quoted. */
typedef struct {
  size_t start, len;
  bool quoted;
  bool escaped; /* holds "" pairs to turn into " */
} csv_field;

typedef struct {
  char **names; /* (ncols) header names, pointing into text; malloc'd */
  char *text;   /* the names, NUL-terminated one after another; malloc'd */
  size_t ncols;
  int *label_slot; /* (ncols) -1 for a feature, else index into labels */
  bool indexed;    /* no header row: names are "0", "1", ... */
} csv_header;

/* Rows allocated at the first data row; the arrays double from there. */
#define CSV_FIRST_ROWS 256

static bool is_space(char ch) { return ch == ' ' || ch == '\t'; }

static bool at_line_end(const csv_reader *r, size_t p) {
  return p >= r->len || r->s[p] == '\n' || r->s[p] == '\r';
}

/* Blank: only spaces/tabs up to the line end. */
static bool line_is_blank(const csv_reader *r) {
  size_t p = r->pos;
  while (p < r->len && is_space(r->s[p])) p++;
  return at_line_end(r, p);
}

static bool rest_is_blank(const csv_reader *r) {
  for (size_t p = r->pos; p < r->len; p++)
    if (!is_space(r->s[p]) && r->s[p] != '\n' && r->s[p] != '\r')
      return false;
  return true;
}

static void skip_line_end(csv_reader *r) {
  if (r->pos >= r->len) return;
  if (r->s[r->pos] == '\r' && r->pos + 1 < r->len && r->s[r->pos + 1] == '\n')
    r->pos++;
  r->pos++;
  r->line++;
}

/* A NUL would end the field's text early (strtod, strcmp), silently. */
static int nul_error(const csv_reader *r, size_t col) {
  return fl_error_set(r->err, FL_EDATA,
                      "%s: line %zu, column %zu: NUL byte (0x00) in the "
                      "field; CSV is text and cannot hold one (a binary "
                      "file, or UTF-16 text? save it as UTF-8)",
                      fl__name(r->name), r->line, col);
}

/* Read the field at r->pos (column `col`, 1-based, for messages) and the
 * delimiter after it; *last says the record ended there (line end/EOF). */
static int next_field(csv_reader *r, size_t col, csv_field *f, bool *last) {
  size_t p = r->pos;
  memset(f, 0, sizeof *f);
  while (p < r->len && is_space(r->s[p])) p++;
  if (p < r->len && r->s[p] == '"') {
    size_t open_line = r->line;
    f->quoted = true;
    f->start = r->pos = p + 1;
    for (;;) {
      if (r->pos >= r->len)
        return fl_error_set(r->err, FL_EDATA,
                            "%s: line %zu, column %zu: quoted field is never "
                            "closed", fl__name(r->name), open_line, col);
      char ch = r->s[r->pos];
      if (ch == '\0') return nul_error(r, col);
      if (ch == '"') {
        if (r->pos + 1 < r->len && r->s[r->pos + 1] == '"') {
          f->escaped = true;
          r->pos += 2;
          continue;
        }
        break;
      }
      if (ch == '\n' ||
          (ch == '\r' && !(r->pos + 1 < r->len && r->s[r->pos + 1] == '\n')))
        r->line++;
      r->pos++;
    }
    f->len = r->pos - f->start;
    r->pos++; /* the closing quote */
    while (r->pos < r->len && is_space(r->s[r->pos])) r->pos++;
    if (!at_line_end(r, r->pos) && !is_delim(r, r->s[r->pos])) {
      unsigned char ch = (unsigned char)r->s[r->pos];
      char what[16];
      if (ch >= 0x20 && ch < 0x7f)
        snprintf(what, sizeof what, "'%c'", ch);
      else
        snprintf(what, sizeof what, "byte 0x%02x", ch);
      return fl_error_set(r->err, FL_EDATA,
                          "%s: line %zu, column %zu: unexpected %s after a "
                          "closing quote (expected '%c' or a line end)",
                          fl__name(r->name), r->line, col, what, r->delims[0]);
    }
  } else {
    f->start = r->pos;
    while (!at_line_end(r, r->pos) && !is_delim(r, r->s[r->pos])) {
      if (r->s[r->pos] == '\0') return nul_error(r, col);
      r->pos++;
    }
    /* Unquoted fields are trimmed: "1, 2, 3" is three numbers. */
    size_t a = f->start, b = r->pos;
    while (a < b && is_space(r->s[a])) a++;
    while (b > a && is_space(r->s[b - 1])) b--;
    f->start = a;
    f->len = b - a;
  }
  if (r->pos < r->len && is_delim(r, r->s[r->pos])) {
    r->pos++;
    *last = false;
  } else {
    skip_line_end(r);
    *last = true;
  }
  return 0;
}

/* Copy the field's text, "" unescaped, into dst (cap bytes, NUL-terminated).
 * Returns its length, or SIZE_MAX when it does not fit. */
static size_t field_text(const csv_reader *r, const csv_field *f, char *dst,
                         size_t cap) {
  size_t n = 0;
  for (size_t i = 0; i < f->len; i++) {
    char ch = r->s[f->start + i];
    if (f->escaped && ch == '"') i++; /* the second of a "" pair */
    if (n + 1 >= cap) return SIZE_MAX;
    dst[n++] = ch;
  }
  dst[n] = '\0';
  return n;
}

static void header_free(csv_header *h) {
  free(h->names);
  free(h->text);
  free(h->label_slot);
  memset(h, 0, sizeof *h);
}

/* First pass over the header record: count its fields and the bytes their
 * text takes (each at most its length in the file, plus a NUL), refusing
 * an empty name before anything is allocated. So every name has a byte at
 * least, and a header of H bytes has at most (H + 1) / 2 columns. */
static int header_extent(csv_reader *r, size_t *ncols, size_t *text_bytes) {
  *ncols = 0;
  *text_bytes = 0;
  bool last = false;
  while (!last) {
    csv_field f;
    size_t line = r->line;
    int rc = next_field(r, *ncols + 1, &f, &last);
    if (rc) return rc;
    ++*ncols;
    *text_bytes += f.len + 1;
    if (f.len == 0)
      return fl_error_set(r->err, FL_EDATA,
                          "%s: line %zu, column %zu: empty column name in the "
                          "header%s",
                          fl__name(r->name), line, *ncols,
                          *ncols == 1 ? " (a pandas index column? save "
                                        "with df.to_csv(path, index=False))"
                                      : "");
  }
  return 0;
}

/* Two passes: the first sizes the names, the second copies them into one
 * block (a name per allocation would cost the allocator's overhead per
 * column, which fl_data_load_bound could not count). */
static int read_header(csv_reader *r, csv_header *h) {
  const char *nm = fl__name(r->name);
  csv_reader sizing = *r;
  size_t ncols = 0, text_bytes = 0;
  int rc = header_extent(&sizing, &ncols, &text_bytes);
  if (rc) return rc;
  h->names = malloc(ncols * sizeof *h->names);
  h->text = malloc(text_bytes);
  if (!h->names || !h->text)
    return fl_error_set(r->err, FL_ENOMEM,
                        "%s: out of memory reading the header", nm);
  size_t at = 0;
  bool last = false;
  while (!last) {
    csv_field f;
    /* The same bytes as the first pass: this cannot fail. */
    rc = next_field(r, h->ncols + 1, &f, &last);
    if (rc) return rc;
    h->names[h->ncols++] = h->text + at;
    field_text(r, &f, h->text + at, f.len + 1);
    at += f.len + 1;
  }
  return 0;
}

/* Bytes of the names "0" .. "ncols-1", each with its NUL. */
static size_t index_names_bytes(size_t ncols) {
  size_t bytes = 0;
  for (size_t from = 0, digits = 1, to = 10; from < ncols;
       from = to, to *= 10, digits++)
    bytes += ((ncols < to ? ncols : to) - from) * (digits + 1);
  return bytes;
}

/* No header: as many columns as the first row has, named by 0-based
 * index; the reader stays at the first row, which is data. */
static int index_header(csv_reader *r, csv_header *h) {
  csv_reader sizing = *r;
  size_t ncols = 0, text_bytes = 0;
  int rc = header_extent(&sizing, &ncols, &text_bytes);
  if (rc) return rc;
  h->names = malloc(ncols * sizeof *h->names);
  size_t bytes = index_names_bytes(ncols), at = 0;
  h->text = malloc(bytes);
  if (!h->names || !h->text)
    return fl_error_set(r->err, FL_ENOMEM, "%s: out of memory",
                        fl__name(r->name));
  for (size_t c = 0; c < ncols; c++) {
    h->names[c] = h->text + at;
    at += (size_t)snprintf(h->names[c], bytes - at, "%zu", c) + 1;
  }
  h->ncols = ncols;
  return 0;
}

/* Every field of the record at r->pos is a number: a data row, not a
 * header (a header of numbers is declared with "header": true). */
static bool first_row_numeric(const csv_reader *r) {
  fl_error scratch = {0};
  csv_reader peek = *r;
  peek.err = &scratch;
  bool last = false;
  for (size_t col = 1; !last; col++) {
    csv_field f;
    if (next_field(&peek, col, &f, &last)) return false;
    char text[CSV_NUMBER_MAX];
    if (field_text(&peek, &f, text, sizeof text) == SIZE_MAX) return false;
    char *t = text, *end;
    while (is_space(*t)) t++;
    strtod(t, &end);
    while (is_space(*end)) end++;
    if (end == t || *end != '\0') return false;
  }
  return true;
}

/* Map each requested label column to its header column. */
static int resolve_labels(const csv_reader *r, csv_header *h,
                          const char *const *label_names,
                          const int *label_indices, int n_labels) {
  const char *nm = fl__name(r->name);
  h->label_slot = malloc(h->ncols * sizeof *h->label_slot);
  if (!h->label_slot)
    return fl_error_set(r->err, FL_ENOMEM, "%s: out of memory", nm);
  for (size_t c = 0; c < h->ncols; c++) h->label_slot[c] = -1;
  for (int i = 0; i < n_labels; i++) {
    size_t col = SIZE_MAX;
    const char *want = label_names ? label_names[i] : NULL;
    if (want && *want) {
      for (size_t c = 0; c < h->ncols; c++) {
        if (strcmp(h->names[c], want) != 0) continue;
        if (col != SIZE_MAX)
          return fl_error_set(r->err, FL_EDATA,
                              "%s: label column \"%.60s\" is ambiguous: the "
                              "header has it at columns %zu and %zu",
                              nm, want, col + 1, c + 1);
        col = c;
      }
      if (col == SIZE_MAX)
        return fl_error_set(r->err, FL_EDATA,
                            "%s: label column \"%.60s\" is not in the header "
                            "(%zu columns, the first is \"%.60s\")%s",
                            nm, want, h->ncols, h->names[0],
                            h->indexed ? "; the file has no header row (its "
                            "first row is all numbers): name the label "
                            "columns by 0-based index, or add \"header\": "
                            "true to the source if that row is the header"
                                       : "");
    } else if (label_indices && label_indices[i] >= 0) {
      if ((size_t)label_indices[i] >= h->ncols)
        return fl_error_set(r->err, FL_EDATA,
                            "%s: label column index %d is out of range: the "
                            "header has %zu columns (indices count from 0)",
                            nm, label_indices[i], h->ncols);
      col = (size_t)label_indices[i];
    } else {
      return fl_error_set(r->err, FL_EINVAL,
                          "%s: label column %d has neither a name nor an "
                          "index", nm, i + 1);
    }
    if (h->label_slot[col] >= 0)
      return fl_error_set(r->err, FL_EDATA,
                          "%s: column %zu (\"%.60s\") is given twice as a "
                          "label column", nm, col + 1, h->names[col]);
    h->label_slot[col] = i;
  }
  if ((size_t)n_labels >= h->ncols)
    return fl_error_set(r->err, FL_EDATA,
                        "%s: all %zu columns are label columns; no features "
                        "are left", nm, h->ncols);
  return 0;
}

/* Parse field f of column col (0-based) on `line` as a number. */
static int field_number(const csv_reader *r, const csv_header *h,
                        const csv_field *f, size_t line, size_t col,
                        bool class_id, float *out) {
  const char *nm = fl__name(r->name);
  char text[CSV_NUMBER_MAX];
  size_t n = field_text(r, f, text, sizeof text);
  if (n == SIZE_MAX)
    return fl_error_set(r->err, FL_EDATA,
                        "%s: line %zu, column %zu (\"%.60s\"): expected a "
                        "number, got a field of %zu characters",
                        nm, line, col + 1, h->names[col], f->len);
  /* Quoted numbers may carry spaces inside the quotes too. */
  char *t = text;
  while (is_space(*t)) t++;
  while (n > 0 && is_space(text[n - 1])) text[--n] = '\0';
  if (*t == '\0')
    return fl_error_set(r->err, FL_EDATA,
                        "%s: line %zu, column %zu (\"%.60s\"): empty field",
                        nm, line, col + 1, h->names[col]);
  /* strtod follows LC_NUMERIC; flatline never calls setlocale, so this is
   * the C locale's '.' decimal point. It accepts "nan" and "inf", which
   * preflight counts later. */
  char *end;
  errno = 0;
  double v = strtod(t, &end);
  if (end == t || *end != '\0')
    return fl_error_set(r->err, FL_EDATA,
                        "%s: line %zu, column %zu (\"%.60s\"): expected a "
                        "number, got \"%.40s\"",
                        nm, line, col + 1, h->names[col], t);
  if ((errno == ERANGE && isinf(v)) ||
      (isfinite(v) && fabs(v) > (double)FLT_MAX))
    return fl_error_set(r->err, FL_EDATA,
                        "%s: line %zu, column %zu (\"%.60s\"): %.40s is beyond "
                        "float32's range (about 3.4e38)",
                        nm, line, col + 1, h->names[col], t);
  if (class_id && !(isfinite(v) && v == floor(v)))
    return fl_error_set(r->err, FL_EDATA,
                        "%s: line %zu, column %zu (\"%.60s\"): expected an "
                        "integer class id, got \"%.40s\"",
                        nm, line, col + 1, h->names[col], t);
  /* The text is exact here; the float32 copy would not be past 2^24. */
  if (class_id && fabs(v) > FL__FLOAT_EXACT_INT)
    return fl_error_set(r->err, FL_EDATA,
                        "%s: line %zu, column %zu (\"%.60s\"): class id %.40s "
                        "is too large (ids up to %.0f are supported)",
                        nm, line, col + 1, h->names[col], t,
                        FL__FLOAT_EXACT_INT);
  *out = (float)v;
  return 0;
}

/* The class names of a label column, while rows are read: the names'
 * text (each NUL-terminated, in order of first appearance), their offsets
 * in it, and an open-addressing hash of ids (slot value id + 1, 0 empty).
 * All three are allocated at once for the most names the file can hold
 * (`most`: its rows, at most FL_DATA_MAX_CLASSES), so nothing grows. */
typedef struct {
  char *text;
  size_t text_len;
  uint32_t *offs; /* (most) */
  uint32_t *hash; /* (hash_cap), a power of two >= 2 * most */
  size_t hash_cap, n, most;
} csv_names;

/* One name and its first-appearance id, for sorting. */
typedef struct {
  const char *s;
  uint32_t id;
} csv_name_order;

/* Bytes the table takes per name it may hold, at its largest: the text
 * and its sorted copy (2 * (FL_CLASS_NAME_MAX + 1)), an offset (4), hash
 * slots (at most 4 per name, 16), a csv_name_order (16) and a rank (4).
 * fl__csv_names_bound counts this much per name; docs in data.h. */
#define CSV_NAME_BYTES_EACH                                 \
  (2 * (FL_CLASS_NAME_MAX + 1) + 5 * sizeof(uint32_t) +     \
   sizeof(csv_name_order) + sizeof(uint32_t))

static void names_free(csv_names *t) {
  free(t->text);
  free(t->offs);
  free(t->hash);
  memset(t, 0, sizeof *t);
}

static uint64_t name_hash(const char *s) { /* FNV-1a, 64 bits */
  uint64_t h = 1469598103934665603ull;
  for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
  return h;
}

/* The id of name s (len bytes), added when new. */
static int names_id(const csv_reader *r, csv_names *t, const char *s,
                    size_t len, size_t line, size_t col, const char *col_name,
                    uint32_t *id) {
  if (!t->text) {
    t->hash_cap = 2;
    while (t->hash_cap < 2 * t->most) t->hash_cap *= 2;
    t->text = malloc(t->most * (FL_CLASS_NAME_MAX + 1));
    t->offs = malloc(t->most * sizeof *t->offs);
    t->hash = calloc(t->hash_cap, sizeof *t->hash);
    if (!t->text || !t->offs || !t->hash)
      return fl_error_set(r->err, FL_ENOMEM, "%s: out of memory for the "
                          "class names", fl__name(r->name));
  }
  size_t slot = (size_t)(name_hash(s) & (t->hash_cap - 1));
  while (t->hash[slot]) {
    uint32_t at = t->hash[slot] - 1;
    if (strcmp(t->text + t->offs[at], s) == 0) {
      *id = at;
      return 0;
    }
    slot = (slot + 1) & (t->hash_cap - 1);
  }
  if (t->n >= t->most && t->most < FL_DATA_MAX_CLASSES) /* rows cap it */
    return fl_error_set(r->err, FL_EINVAL, "%s: line %zu: more class names "
                        "than rows (a reader bug)", fl__name(r->name), line);
  if (t->n >= FL_DATA_MAX_CLASSES)
    return fl_error_set(r->err, FL_ETOOBIG,
                        "%s: line %zu, column %zu (\"%.60s\"): more than %d "
                        "distinct class names; flatline trains at most %d "
                        "classes", fl__name(r->name), line, col + 1, col_name,
                        FL_DATA_MAX_CLASSES, FL_DATA_MAX_CLASSES);
  t->offs[t->n] = (uint32_t)t->text_len;
  memcpy(t->text + t->text_len, s, len + 1);
  t->text_len += len + 1;
  t->hash[slot] = (uint32_t)t->n + 1;
  *id = (uint32_t)t->n++;
  return 0;
}

static int name_order_cmp(const void *a, const void *b) {
  return strcmp(((const csv_name_order *)a)->s, ((const csv_name_order *)b)->s);
}

/* Sort the names, turn the rows' first-appearance ids (y, n_rows) into
 * ids in sorted order, and hand the sorted names to labels. */
static int names_finish(const csv_reader *r, csv_names *t, float *y,
                        size_t n_rows, fl_array *labels) {
  csv_name_order *order = malloc(t->n * sizeof *order);
  uint32_t *rank = malloc(t->n * sizeof *rank);
  char *sorted = malloc(t->text_len);
  if (!order || !rank || !sorted) {
    free(order);
    free(rank);
    free(sorted);
    return fl_error_set(r->err, FL_ENOMEM, "%s: out of memory sorting the "
                        "class names", fl__name(r->name));
  }
  for (size_t i = 0; i < t->n; i++)
    order[i] = (csv_name_order){t->text + t->offs[i], (uint32_t)i};
  qsort(order, t->n, sizeof *order, name_order_cmp);
  size_t at = 0;
  for (size_t j = 0; j < t->n; j++) {
    rank[order[j].id] = (uint32_t)j;
    size_t len = strlen(order[j].s) + 1;
    memcpy(sorted + at, order[j].s, len);
    at += len;
  }
  for (size_t i = 0; i < n_rows; i++) y[i] = (float)rank[(size_t)y[i]];
  free(order);
  free(rank);
  labels->class_names = sorted;
  labels->n_class_names = t->n;
  return 0;
}

long fl_class_name_id(const char *names, size_t n, const char *name) {
  for (size_t i = 0; i < n; i++) {
    if (strcmp(names, name) == 0) return (long)i;
    names += strlen(names) + 1;
  }
  return -1;
}

/* Whether the field's text (spaces around it aside) is a number. */
static bool field_is_number(const csv_reader *r, const csv_field *f) {
  char text[CSV_NUMBER_MAX];
  size_t n = field_text(r, f, text, sizeof text);
  if (n == SIZE_MAX) return false;
  char *t = text, *end;
  while (is_space(*t)) t++;
  while (n > 0 && is_space(text[n - 1])) text[--n] = '\0';
  if (*t == '\0') return false;
  (void)strtod(t, &end);
  return end != t && *end == '\0';
}

/* The label field f as a class name: its id in t, into *out. */
static int field_class_name(const csv_reader *r, const csv_header *h,
                            const csv_field *f, size_t line, size_t col,
                            csv_names *t, size_t first_line, float *out) {
  const char *nm = fl__name(r->name);
  char text[FL_CLASS_NAME_MAX + 1];
  size_t n = field_text(r, f, text, sizeof text);
  if (n == SIZE_MAX)
    return fl_error_set(r->err, FL_ETOOBIG,
                        "%s: line %zu, column %zu (\"%.60s\"): a class name "
                        "of %zu bytes; names may have at most %d",
                        nm, line, col + 1, h->names[col], f->len,
                        FL_CLASS_NAME_MAX);
  char *s = text;
  while (is_space(*s)) s++;
  while (n > 0 && is_space(text[n - 1])) text[--n] = '\0';
  if (*s == '\0')
    return fl_error_set(r->err, FL_EDATA,
                        "%s: line %zu, column %zu (\"%.60s\"): empty field",
                        nm, line, col + 1, h->names[col]);
  if (field_is_number(r, f))
    return fl_error_set(r->err, FL_EDATA,
                        "%s: line %zu, column %zu (\"%.60s\"): the number "
                        "\"%.40s\" in a column of class names (line %zu "
                        "holds a name); a label column holds ids or names, "
                        "not both", nm, line, col + 1, h->names[col], s,
                        first_line);
  uint32_t id = 0;
  int rc = names_id(r, t, s, strlen(s), line, col, h->names[col], &id);
  if (!rc) *out = (float)id;
  return rc;
}

/* Every data row but the last holds ncols fields of a byte at least (empty
 * ones are errors), ncols - 1 commas and a line end: 2 * ncols bytes; the
 * last holds a byte at least. So at most this many rows can start in the
 * `rest` bytes after the header, and the row arrays never grow past them:
 * ncols columns of them are at most (header + rest) / 2 values. */
size_t fl__csv_max_rows(size_t rest, size_t ncols) {
  return rest ? 1 + (rest - 1) / (2 * ncols) : 0;
}

/* Make room for at least rows+1 rows of d features and k labels, with the
 * size cap checked before growing, and never more than max_rows rows. */
static int grow_rows(const csv_reader *r, size_t rows, size_t max_rows,
                     size_t *cap, size_t d, size_t k, fl_array *x,
                     fl_array *y) {
  if (rows < *cap) return 0;
  size_t grown = *cap ? *cap * 2 : CSV_FIRST_ROWS;
  if (grown > max_rows) grown = max_rows;
  if (grown <= rows) grown = rows + 1; /* cannot happen: fl__csv_max_rows */
  size_t nx, ny;
  if (!fl__mul_size(grown, d, &nx) || !fl__mul_size(grown, k, &ny) ||
      nx > FL_DATA_MAX_BYTES / sizeof(float) - ny) {
    /* Doubling overshoots; try exactly one more row before giving up. */
    grown = rows + 1;
    if (!fl__mul_size(grown, d, &nx) || !fl__mul_size(grown, k, &ny) ||
        nx > FL_DATA_MAX_BYTES / sizeof(float) - ny)
      return fl_error_set(r->err, FL_ETOOBIG,
                          "%s: line %zu: more than %zu rows of %zu values "
                          "exceed the limit of %zu MiB as float32",
                          fl__name(r->name), r->line, rows, d + k,
                          FL_DATA_MAX_BYTES / (1024 * 1024));
  }
  float *bx = realloc(x->data, nx * sizeof(float));
  if (!bx) goto nomem;
  x->data = bx;
  if (k > 0) { /* features only (predict): no labels array at all */
    float *by = realloc(y->data, ny * sizeof(float));
    if (!by) goto nomem;
    y->data = by;
  }
  *cap = grown;
  return 0;
nomem:
  return fl_error_set(r->err, FL_ENOMEM, "%s: out of memory at line %zu",
                      fl__name(r->name), r->line);
}

/* names: NULL when class names are not allowed. */
static int read_rows(csv_reader *r, const csv_header *h, size_t k,
                     fl_array *x, fl_array *y, csv_names *names,
                     size_t *n_rows) {
  const char *nm = fl__name(r->name);
  const size_t d = h->ncols - k;
  const size_t max_rows = fl__csv_max_rows(r->len - r->pos, h->ncols);
  size_t rows = 0, cap = 0, first_line = 0;
  bool by_name = false; /* the label column holds names (its first row) */
  if (names) {
    names->most = max_rows < FL_DATA_MAX_CLASSES ? max_rows : FL_DATA_MAX_CLASSES;
    if (k != 1) names = NULL;
  }
  while (r->pos < r->len) {
    if (line_is_blank(r)) {
      if (rest_is_blank(r)) break;
      return fl_error_set(r->err, FL_EDATA,
                          "%s: line %zu is blank; blank lines are only "
                          "allowed at the end of the file", nm, r->line);
    }
    int rc = grow_rows(r, rows, max_rows, &cap, d, k, x, y);
    if (rc) return rc;
    float *xrow = x->data + rows * d, *yrow = k ? y->data + rows * k : NULL;
    size_t line = r->line, col = 0, feature = 0;
    bool last = false;
    while (!last) {
      csv_field f;
      rc = next_field(r, col + 1, &f, &last);
      if (rc) return rc;
      if (col < h->ncols) {
        int slot = h->label_slot[col];
        float *dst = slot >= 0 ? &yrow[slot] : &xrow[feature++];
        if (slot >= 0 && names && rows == 0) {
          by_name = !field_is_number(r, &f);
          first_line = line;
        }
        if (slot >= 0 && by_name) {
          rc = field_class_name(r, h, &f, line, col, names, first_line, dst);
        } else {
          rc = field_number(r, h, &f, line, col, slot >= 0 && k == 1, dst);
          if (rc && slot >= 0 && names && rows > 0 && !field_is_number(r, &f))
            fl_error_prefix(r->err, "a label column holds ids or names, not "
                            "both (line %zu holds a number)", first_line);
        }
        if (rc) return rc;
      }
      col++;
    }
    if (col != h->ncols)
      return fl_error_set(r->err, FL_EDATA,
                          "%s: line %zu has %zu columns but the header has %zu",
                          nm, line, col, h->ncols);
    rows++;
  }
  if (rows == 0)
    return fl_error_set(r->err, FL_EDATA,
                        "%s: no data rows (only a header)", nm);
  *n_rows = rows;
  if (by_name) return names_finish(r, names, y->data, rows, y);
  return 0;
}

int fl_csv_parse(const uint8_t *buf, size_t len, const char *name,
                 const char *const *label_names, const int *label_indices,
                 int n_labels, fl_array *features, fl_array *labels,
                 fl_error *err) {
  const fl_csv_options header_row = {FL_CSV_HEADER_YES, ',', false};
  memset(features, 0, sizeof *features);
  memset(labels, 0, sizeof *labels);
  if (n_labels < 1)
    return fl_error_set(err, FL_EINVAL,
                        "%s: at least one label column is needed",
                        fl__name(name));
  return fl_csv_parse_ex(buf, len, name, &header_row, label_names,
                         label_indices, n_labels, features, labels, err);
}

int fl_csv_parse_ex(const uint8_t *buf, size_t len, const char *name,
                    const fl_csv_options *opt, const char *const *label_names,
                    const int *label_indices, int n_labels,
                    fl_array *features, fl_array *labels, fl_error *err) {
  const char *nm = fl__name(name);
  memset(features, 0, sizeof *features);
  memset(labels, 0, sizeof *labels);
  if (n_labels < 0)
    return fl_error_set(err, FL_EINVAL,
                        "%s: %d label columns make no sense", nm, n_labels);
  char delim[2] = {opt && opt->delimiter ? opt->delimiter : ',', '\0'};
  if (!strchr(FL_CSV_DELIMITERS, delim[0]))
    return fl_error_set(err, FL_EINVAL, "%s: delimiter 0x%02x is not one of "
                        "',' ';' '|' or a tab", nm, (unsigned char)delim[0]);
  csv_reader r = {(const char *)buf, len, 0, 1, name, err, delim};
  /* Excel and some pandas users write a UTF-8 byte order mark. */
  if (len >= 3 && buf[0] == 0xEF && buf[1] == 0xBB && buf[2] == 0xBF)
    r.pos = 3;
  if (rest_is_blank(&r))
    return fl_error_set(err, FL_EDATA,
                        "%s: file is empty (expected a header row)", nm);
  if (line_is_blank(&r))
    return fl_error_set(err, FL_EDATA,
                        "%s: line 1 is blank; expected the header row", nm);

  csv_header h;
  memset(&h, 0, sizeof h);
  const size_t k = (size_t)n_labels;
  size_t n = 0;
  fl_csv_header mode = opt ? opt->header : FL_CSV_HEADER_AUTO;
  bool numeric = first_row_numeric(&r);
  /* Refused before any row is allocated (the load bound counts line 1
   * as a data row only when it is numbers). */
  if (mode == FL_CSV_HEADER_NO && !numeric)
    return fl_error_set(err, FL_EDATA, "%s: line 1 is not all numbers, but "
                        "\"header\": false says it is data; if it names the "
                        "columns, drop \"header\" or set it true", nm);
  h.indexed = mode == FL_CSV_HEADER_NO || (mode == FL_CSV_HEADER_AUTO && numeric);
  int rc = h.indexed ? index_header(&r, &h) : read_header(&r, &h);
  if (!rc) rc = resolve_labels(&r, &h, label_names, label_indices, n_labels);
  csv_names names = {0};
  if (!rc)
    rc = read_rows(&r, &h, k, features, labels,
                   opt && opt->class_names ? &names : NULL, &n);
  const size_t d = h.ncols - k;
  header_free(&h);
  names_free(&names);
  if (rc) {
    fl_array_free(features);
    fl_array_free(labels);
    return rc;
  }

  /* Give back the doubling's slack; keeping it is harmless if this fails. */
  float *fit = realloc(features->data, n * d * sizeof(float));
  if (fit) features->data = fit;
  if (k > 0) {
    fit = realloc(labels->data, n * k * sizeof(float));
    if (fit) labels->data = fit;
  }

  features->ndim = 2;
  features->shape[0] = n;
  features->shape[1] = d;
  features->count = n * d;
  features->integral = false;
  snprintf(features->dtype, sizeof features->dtype, "csv");
  if (k == 0) return 0; /* features only: labels stay empty */
  labels->ndim = k == 1 ? 1 : 2;
  labels->shape[0] = n;
  labels->shape[1] = k == 1 ? 0 : k;
  labels->count = n * k;
  labels->integral = k == 1; /* checked integer-valued row by row */
  snprintf(labels->dtype, sizeof labels->dtype, "csv");
  return 0;
}

/* What fl_csv_parse allocates past the file the caller holds, while the
 * header is held: its names (text_bytes, ncols pointers) and label_slot
 * (ncols ints); then the feature and label arrays of `cap` rows, where a
 * realloc that grows or finally shrinks one may hold its old and new block
 * at once: under 2 * max_rows * ncols floats, as max_rows caps cap. */
static uint64_t parse_bytes(uint64_t text_bytes, uint64_t ncols,
                            uint64_t max_values) {
  const uint64_t cap_values = FL_DATA_MAX_BYTES / sizeof(float);
  if (max_values > cap_values) max_values = cap_values;
  /* A header-less file's names are synthesized instead of copied. */
  if (index_names_bytes(ncols) > text_bytes) text_bytes = index_names_bytes(ncols);

  return text_bytes + ncols * (sizeof(char *) + sizeof(int)) +
         2 * max_values * sizeof(float);
}

/* Rows of a CSV with a label column hold two fields at least, so 4 bytes
 * at least (3 the last): a file of S bytes has at most S / 4 + 1 rows, and
 * the reader's table is for at most that many names (read_rows' `most`),
 * and FL_DATA_MAX_CLASSES. */
uint64_t fl__csv_names_bound(size_t file_len) {
  uint64_t most = (uint64_t)file_len / 4 + 2;
  if (most > FL_DATA_MAX_CLASSES) most = FL_DATA_MAX_CLASSES;
  return most * CSV_NAME_BYTES_EACH;
}

int fl__csv_load_bound(const uint8_t *head, size_t head_len, size_t file_len,
                       const char *name, uint64_t *bytes, fl_error *err) {
  fl_error scratch = {0}, first_err = {0};
  size_t start = 0;
  if (head_len >= 3 && head[0] == 0xEF && head[1] == 0xBB && head[2] == 0xBF)
    start = 3;
  /* The spec's delimiter is one of FL_CSV_DELIMITERS and unknown here: the
   * header is read with each, and the bound is the largest they give
   * (most columns, longest names, rows from the earliest line); only a
   * header that every one of them refuses is refused. */
  bool any_ok = false, numeric = false;
  size_t ncols = 0, text_bytes = 0, rows_from = file_len;
  int first_rc = 0;
  static const char delims[] = FL_CSV_DELIMITERS;
  for (const char *dl = delims; *dl; dl++) {
    char delim[2] = {*dl, '\0'};
    csv_reader r = {(const char *)head, head_len, start, 1, name, &scratch,
                    delim};
    size_t nc = 0, tb = 0;
    int rc = header_extent(&r, &nc, &tb);
    if (rc) {
      if (dl == delims) { /* ',' first: its message is the usual one */
        first_rc = rc;
        first_err = scratch;
      }
      continue;
    }
    /* Ended at a line end inside the peek, not at the peek's edge. */
    bool ended = r.pos > start && (head[r.pos - 1] == '\n' ||
                                   head[r.pos - 1] == '\r');
    if (head_len != file_len && !ended) {
      any_ok = false; /* this header runs past the peek: bound by size */
      first_rc = 0;
      break;
    }
    csv_reader first = {(const char *)head, head_len, start, 1, name, &scratch,
                        delim};
    numeric = numeric || first_row_numeric(&first);
    any_ok = true;
    if (nc > ncols) ncols = nc;
    if (tb > text_bytes) text_bytes = tb;
    if (r.pos < rows_from) rows_from = r.pos;
  }
  if (any_ok) {
    /* A first line of numbers may be a data row (no header): rows from
     * it. (One with text is refused as data before any row is read.) */
    uint64_t max_rows = fl__csv_max_rows(file_len - (numeric ? start : rows_from),
                                         ncols);
    *bytes = parse_bytes(text_bytes, ncols, max_rows * ncols);
    return 0;
  }
  if (first_rc != 0 && head_len == file_len) { /* every reader stops there */
    if (err) *err = first_err;
    return first_rc;
  }
  /* The header runs past the peek: bound it by the file. A header of H
   * bytes has at most (H + 1) / 2 names of text at most H + 1, and the
   * rows at most (H + rest) / 2 values (fl__csv_max_rows). */
  const uint64_t h_max = file_len - start;
  *bytes = parse_bytes(h_max + 1, (h_max + 1) / 2, h_max / 2);
  return 0;
}
