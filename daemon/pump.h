/* daemon/pump.h — paced streams to one client (pump.c): a follow's replay
 * of the event log and a model export, read off the loop in chunks and
 * sent as the client's queue drains. */
#ifndef FL_DAEMON_PUMP_H
#define FL_DAEMON_PUMP_H

#include "daemon.h"

struct fl_client;
typedef struct fl_pump fl_pump;

/* Open path (no link followed) and queue its bytes as binary frames; *size
 * is what will be sent (announce it in the reply before the frames). */
int fl_pump_export(struct fl_client *c, const char *path, uint64_t *size,
                   fl_error *err);
/* Queue the replay of the job's log (path) as event frames; at its end the
 * client's follow of job goes live, or ends if the job has ended. */
int fl_pump_replay(struct fl_client *c, fl_job *job, const char *path,
                   fl_error *err);
/* The same without a follow, for `log`: the lines the log holds when the
 * read reaches its end, then the reply to request log_id. */
int fl_pump_log(struct fl_client *c, fl_job *job, const char *path,
                int64_t log_id, fl_error *err);
/* Send the next chunk if the client's queue has room (after a write). */
void fl_pump_kick(struct fl_client *c);
/* Streams queued for the client (each holds a read buffer and a file). */
int fl_pump_count(const struct fl_client *c);
/* The client is closing: drop its streams (a read under way frees its own). */
void fl_pump_drop_all(struct fl_client *c);

#endif
