/* daemon/job_data.h — loads a job's datasets as its spec describes them. */
#ifndef FL_DAEMON_JOB_DATA_H
#define FL_DAEMON_JOB_DATA_H

#include "flatline/data.h"
#include "flatline/protocol.h"

/* Maps a path as written in the spec to the file the daemon may read: the
 * foreground runner joins it to the spec's folder; the service maps it to
 * an uploaded blob. Returns 0 or a negative code with err set. */
typedef int (*fl_path_resolver)(void *ctx, const char *spec_path, char *out,
                                size_t out_size, fl_error *err);

/* Reads train (and validation, from data.validation or validation_split).
 * *has_val tells whether val was filled. On error nothing is left
 * allocated. */
int fl_job_load_data(const fl_job_spec *spec, fl_path_resolver resolve,
                     void *ctx, fl_dataset *train, fl_dataset *val,
                     bool *has_val, fl_error *err);

/* Resolver for files next to a spec: absolute paths as they are, relative
 * ones joined to ctx (a const char * folder). */
int fl_resolve_relative(void *ctx, const char *spec_path, char *out,
                        size_t out_size, fl_error *err);

#endif
