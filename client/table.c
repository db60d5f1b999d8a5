/* client/table.c — owns column-aligned tables (list, devices, check): rows
 * are collected first so that each column is as wide as its widest cell,
 * then printed with the header in bold. Cells are sanitized on the way in;
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
  for (size_t r = 0; r < t->n_rows; r++) {
    for (size_t c = 0; c < t->n_cols; c++) {
      const char *text = t->cells[r * t->n_cols + c];
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
