/* client/history.c — owns the client's copy of one job's event history:
 * each epoch event reduced to the five metrics the CSV and the charts use
 * (so a 100,000-epoch job costs 5 MB, not its whole log), and the other
 * events (diagnoses, verdict, end, callbacks, fixes) kept whole, in order,
 * up to FL_HISTORY_MAX_EVENTS. Progress events are dropped. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"

void fl_history_init(fl_history *h) { memset(h, 0, sizeof *h); }

void fl_history_free(fl_history *h) {
  for (size_t i = 0; i < h->n_events; i++) fl_json_free(h->events[i]);
  free(h->events);
  free(h->epochs);
  memset(h, 0, sizeof *h);
}

/* key's number into *out with bit set in *has: null (a non-finite value
 * as the daemon writes it) is NAN with the bit; absent leaves both. */
static void metric(const fl_json *ev, const char *key, unsigned bit,
                   double *out, unsigned *has) {
  const fl_json *v = fl_json_get(ev, key);
  *out = NAN;
  if (!v) return;
  double d;
  if (fl_json_number(v, &d)) *out = d;
  else if (!fl_json_is_null(v)) return; /* not a metric: as if absent */
  *has |= bit;
}

static int add_epoch(fl_history *h, const fl_json *ev) {
  if (h->n_epochs == h->cap_epochs) {
    size_t cap = h->cap_epochs ? h->cap_epochs * 2 : 256;
    fl_history_epoch *e = realloc(h->epochs, cap * sizeof *e);
    if (!e) return FL_ENOMEM;
    h->epochs = e;
    h->cap_epochs = cap;
  }
  fl_history_epoch *e = &h->epochs[h->n_epochs];
  memset(e, 0, sizeof *e);
  double n = 0;
  fl_json_number(fl_json_get(ev, "epoch"), &n);
  e->epoch = n >= 0 && n < 1e9 ? (int)n : 0;
  metric(ev, "loss", FL_HIST_LOSS, &e->loss, &e->has);
  metric(ev, "accuracy", FL_HIST_ACCURACY, &e->accuracy, &e->has);
  metric(ev, "val_loss", FL_HIST_VAL_LOSS, &e->val_loss, &e->has);
  metric(ev, "val_accuracy", FL_HIST_VAL_ACCURACY, &e->val_accuracy, &e->has);
  metric(ev, "lr", FL_HIST_LR, &e->lr, &e->has);
  h->n_epochs++;
  return 0;
}

/* A copy that outlives the message it came in (the follow's frames are
 * freed as they are read). */
static int keep_event(fl_history *h, const fl_json *ev) {
  if (h->n_events >= FL_HISTORY_MAX_EVENTS) {
    h->events_dropped++;
    return 0;
  }
  if (h->n_events == h->cap_events) {
    size_t cap = h->cap_events ? h->cap_events * 2 : 16;
    fl_json **e = realloc(h->events, cap * sizeof *e);
    if (!e) return FL_ENOMEM;
    h->events = e;
    h->cap_events = cap;
  }
  char *text = fl_json_print(ev);
  fl_json *copy = text ? fl_json_parse(text, strlen(text), NULL) : NULL;
  free(text);
  if (!copy) return FL_ENOMEM;
  h->events[h->n_events++] = copy;
  return 0;
}

int fl_history_add(fl_history *h, const fl_json *ev) {
  const char *type = fl_json_string(fl_json_get(ev, "event"));
  if (!type || strcmp(type, FL_EVENT_PROGRESS) == 0) return 0;
  if (strcmp(type, FL_EVENT_EPOCH) == 0) return add_epoch(h, ev);
  if (strcmp(type, FL_EVENT_END) == 0) h->ended = true;
  return keep_event(h, ev);
}

const fl_json *fl_history_last(const fl_history *h, const char *name) {
  for (size_t i = h->n_events; i-- > 0;) {
    const char *type = fl_json_string(fl_json_get(h->events[i], "event"));
    if (type && strcmp(type, name) == 0) return h->events[i];
  }
  return NULL;
}

unsigned fl_history_metrics(const fl_history *h) {
  unsigned has = 0;
  for (size_t i = 0; i < h->n_epochs; i++) has |= h->epochs[i].has;
  return has;
}
