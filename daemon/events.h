/* daemon/events.h — the JSON text of the events a job emits (DESIGN.md
 * §6): epoch, progress, end. Shared by the foreground runner and the
 * service. Each returns a malloc'd single-line JSON object, or NULL when out
 * of memory. */
#ifndef FL_DAEMON_EVENTS_H
#define FL_DAEMON_EVENTS_H

#include <stddef.h>

#include "flatline/engine.h"
#include "flatline/protocol.h"

/* Starts w on an event object: {"event": event, "job": job, ... — the
 * head every event shares; the caller adds its fields, closes the object
 * and finishes w. */
void fl_event_begin(fl_jw *w, const char *event, const char *job);

char *fl_event_epoch(const char *job, const fl_epoch_metrics *m);
char *fl_event_progress(const char *job, int epoch, size_t step, size_t steps);
/* cause and message may be NULL. */
char *fl_event_end(const char *job, const char *state, const char *cause,
                   const char *message);

/* The cause code (DESIGN.md §4) an engine or data error stands for, or
 * NULL when the error is not one of the diagnosed problems. */
const char *fl_cause_of_error(int code);

#endif
