/* client/table.c — owns column-aligned tables (list, devices, check): rows
 * are collected first so that each column is as wide as its widest cell
 * (narrowed, with an ellipsis, to fit the terminal), then printed with the
 * header in bold. Cells are sanitized on the way in;
 * styles wrap a cell's text but never count towards its width. */
#include <stdlib.h>
#include <string.h>

#include "output.h"

/* Longest cell kept; longer text is cut (a job name is at most 128). */
#define CELL_MAX 256

void fl_cli_table_init(fl_cli_table *t, size_t n_cols, unsigned right) {
  memset(t, 0, sizeof *t);
  t->n_cols = n_cols <= FL_CLI_TABLE_MAX_COLS ? n_cols : FL_CLI_TABLE_MAX_COLS;
  t->right = right;
}

void fl_cli_table_add(fl_cli_table *t, const char *const *cells,
                      const fl_style *styles) {
  if (t->failed) return;
  if (t->n_rows == t->cap) {
    size_t cap = t->cap ? t->cap * 2 : 16;
    char **c = realloc(t->cells, cap * t->n_cols * sizeof *c);
    if (c) t->cells = c;
    fl_style *s = c ? realloc(t->styles, cap * t->n_cols * sizeof *s) : NULL;
    if (s) t->styles = s;
    if (!c || !s) {
      t->failed = true;
      return;
    }
    t->cap = cap;
  }
  size_t base = t->n_rows * t->n_cols;
  for (size_t c = 0; c < t->n_cols; c++) {
    char text[CELL_MAX];
    fl_cli_sanitize(text, sizeof text, cells[c] ? cells[c] : "-");
    t->cells[base + c] = strdup(text);
    t->styles[base + c] = styles ? styles[c] : FL_STYLE_NONE;
    if (!t->cells[base + c]) t->failed = true;
  }
  t->n_rows++; /* even when a strdup failed: free() must see the row */
}

static void pad(FILE *f, size_t n) {
  while (n--) fputc(' ', f);
}

/* A column is not narrowed below this (its header's first letters and
 * an ellipsis still say what it is). */
#define MIN_COL_WIDTH 4

/* Narrow the widest columns, one column at a time, until the row (cells
 * and two-space gaps) fits `columns`, or every column is at the minimum. */
static void fit_widths(size_t *width, size_t n_cols, size_t columns) {
  size_t total = n_cols ? 2 * (n_cols - 1) : 0;
  for (size_t c = 0; c < n_cols; c++) total += width[c];
  while (total > columns) {
    size_t widest = 0;
    for (size_t c = 1; c < n_cols; c++)
      if (width[c] > width[widest]) widest = c;
    if (width[widest] <= MIN_COL_WIDTH) break;
    width[widest]--;
    total--;
  }
}

/* text cut to `width` columns, its last one an ellipsis, into buf (text
 * is sanitized: one column per code point, fl_cli_text_width). */
static const char *cut(char *buf, size_t size, const char *text, size_t width) {
  if (fl_cli_text_width(text) <= width) return text;
  size_t at = 0, cols = 0;
  while (text[at] && cols + 1 < width) {
    size_t n = 1;
    while ((text[at + n] & 0xC0) == 0x80) n++; /* continuation bytes */
    if (at + n + 4 > size) break;
    at += n;
    cols++;
  }
  memcpy(buf, text, at);
  memcpy(buf + at, "\xe2\x80\xa6", 4); /* U+2026 and the NUL */
  return buf;
}

int fl_cli_table_print(const fl_cli_table *t, const fl_cli_out *o) {
  if (t->failed) {
    fprintf(o->err, "flatline: out of memory while building a table\n");
    return FL_EXIT_FAILED;
  }
  size_t width[FL_CLI_TABLE_MAX_COLS] = {0};
  for (size_t r = 0; r < t->n_rows; r++)
    for (size_t c = 0; c < t->n_cols; c++) {
      size_t w = fl_cli_text_width(t->cells[r * t->n_cols + c]);
      if (w > width[c]) width[c] = w;
    }
  if (o->columns) fit_widths(width, t->n_cols, o->columns);
  for (size_t r = 0; r < t->n_rows; r++) {
    for (size_t c = 0; c < t->n_cols; c++) {
      char shortened[CELL_MAX + 4];
      const char *text = cut(shortened, sizeof shortened,
                             t->cells[r * t->n_cols + c], width[c]);
      fl_style style = r == 0 ? FL_STYLE_BOLD : t->styles[r * t->n_cols + c];
      size_t gap = width[c] - fl_cli_text_width(text);
      bool right = (t->right >> c) & 1u;
      bool last = c + 1 == t->n_cols;
      if (c) fputs("  ", o->out);
      if (right) pad(o->out, gap);
      if (style != FL_STYLE_NONE) fputs(fl_cli_style(o, style), o->out);
      fputs(text, o->out);
      if (style != FL_STYLE_NONE) fputs(fl_cli_style(o, FL_STYLE_RESET), o->out);
      if (!right && !last) pad(o->out, gap); /* no trailing blanks */
    }
    fputc('\n', o->out);
  }
  fflush(o->out);
  return FL_EXIT_OK;
}

void fl_cli_table_free(fl_cli_table *t) {
  for (size_t i = 0; i < t->n_rows * t->n_cols; i++) free(t->cells[i]);
  free(t->cells);
  free(t->styles);
  memset(t, 0, sizeof *t);
}
