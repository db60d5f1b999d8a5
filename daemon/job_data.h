/* daemon/job_data.h — loads a job's datasets as its spec describes them. */
#ifndef FL_DAEMON_JOB_DATA_H
#define FL_DAEMON_JOB_DATA_H

#include <stdatomic.h>

#include "flatline/data.h"
#include "flatline/protocol.h"
#include "memory.h"

/* Maps a path as written in the spec to the file the daemon may read: the
 * foreground runner joins it to the spec's folder; the service maps it to
 * an uploaded blob. Returns 0 or a negative code with err set. */
typedef int (*fl_path_resolver)(void *ctx, const char *spec_path, char *out,
                                size_t out_size, fl_error *err);

/* Reads train (and validation, from data.validation or validation_split).
 * *has_val tells whether val was filled. On error nothing is left
 * allocated. A conv model without input_shape gets the image shape of
 * the training file's header in spec->layers[0].input_shape
 * (fl_model_input_from_data), before anything computes its shapes; a
 * validation file of other images than the training file's is FL_EDATA
 * (fl_dataset_check_images). */
int fl_job_load_data(fl_job_spec *spec, fl_path_resolver resolve,
                     void *ctx, fl_dataset *train, fl_dataset *val,
                     bool *has_val, fl_error *err);

/* How the service loads: blobs read without following links, and under
 * the daemon's memory budget. */
typedef struct {
  unsigned read_flags;       /* FL_READ_NOFOLLOW for the blob store */
  fl_mem_budget *budget;     /* NULL: no budget (the foreground runner) */
  const atomic_bool *stop;   /* give up waiting for the budget when set */
  double max_wait_s;         /* and after this long (< 0: no limit) */
  uint64_t held;             /* out: bytes still reserved for the loaded
                                datasets; fl_mem_release them once freed */
} fl_load_opts;

/* fl_job_load_data with opts: first the header-only bound of every file
 * (fl_data_load_bound, which also rejects a bad header before anything is
 * read whole) is reserved from the budget, waiting while other loads hold
 * it; then the files are loaded; then the reservation shrinks to what the
 * datasets keep (opts->held). Errors name the file and the limit. */
int fl_job_load_data_ex(fl_job_spec *spec, fl_path_resolver resolve,
                        void *ctx, fl_load_opts *opts, fl_dataset *train,
                        fl_dataset *val, bool *has_val, fl_error *err);

/* Resolver for files next to a spec: absolute paths as they are, relative
 * ones joined to ctx (a const char * folder). */
int fl_resolve_relative(void *ctx, const char *spec_path, char *out,
                        size_t out_size, fl_error *err);

#endif
