/* client/csv_log.c — owns the CSV of `flatline export ID --csv FILE`: one
 * row per epoch in the layout of Keras' CSVLogger, so that scripts and
 * notebooks written for Keras logs read flatline's unchanged. Keras 3
 * names the rate "learning_rate"; CSVLogger sorts the metric keys, which
 * puts it between accuracy and loss. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"

void fl_csv_number(char *buf, size_t size, double v) {
  if (isnan(v)) {
    snprintf(buf, size, "nan");
    return;
  }
  if (isinf(v)) {
    snprintf(buf, size, v > 0 ? "inf" : "-inf");
    return;
  }
  /* Python's repr: the fewest digits that read back as the same double. */
  for (int digits = 1; digits <= 17; digits++) {
    snprintf(buf, size, "%.*g", digits, v);
    if (strtod(buf, NULL) == v) break;
  }
  /* Python writes a float with a point: 1.0, not 1 */
  if (!strpbrk(buf, ".en") && strlen(buf) + 3 <= size) strcat(buf, ".0");
}

typedef struct {
  const char *name;
  unsigned bit;
  size_t offset; /* of the value in fl_history_epoch */
} csv_column;

/* Sorted as CSVLogger sorts its keys. */
static const csv_column columns[] = {
    {"accuracy", FL_HIST_ACCURACY, offsetof(fl_history_epoch, accuracy)},
    {"learning_rate", FL_HIST_LR, offsetof(fl_history_epoch, lr)},
    {"loss", FL_HIST_LOSS, offsetof(fl_history_epoch, loss)},
    {"val_accuracy", FL_HIST_VAL_ACCURACY, offsetof(fl_history_epoch, val_accuracy)},
    {"val_loss", FL_HIST_VAL_LOSS, offsetof(fl_history_epoch, val_loss)},
};
#define N_COLUMNS (sizeof columns / sizeof columns[0])

int fl_csv_write(FILE *f, const fl_history *h) {
  unsigned has = fl_history_metrics(h);
  fputs("epoch", f);
  for (size_t c = 0; c < N_COLUMNS; c++)
    if (has & columns[c].bit) fprintf(f, ",%s", columns[c].name);
  fputc('\n', f);
  for (size_t i = 0; i < h->n_epochs; i++) {
    const fl_history_epoch *e = &h->epochs[i];
    fprintf(f, "%d", e->epoch > 0 ? e->epoch - 1 : 0); /* Keras counts from 0 */
    for (size_t c = 0; c < N_COLUMNS; c++) {
      if (!(has & columns[c].bit)) continue;
      if (!(e->has & columns[c].bit)) {
        fputs(",NA", f);
        continue;
      }
      char num[40];
      fl_csv_number(num, sizeof num, *(const double *)((const char *)e + columns[c].offset));
      fprintf(f, ",%s", num);
    }
    fputc('\n', f);
  }
  return ferror(f) ? FL_EIO : 0;
}
