/* client/sweep.h — a sweep's grid (issue 15): `--sweep KEY=V1,V2,...`
 * arguments parsed into axes, and the grid expanded into one patched spec
 * per point with its label. Pure (no socket, no daemon, no files), so
 * that a daemon submit (cmd_submit.c) and a Slurm job array can submit
 * the same expansion; tests/test_sweep.c covers it.
 *
 * Limits, each with its reason:
 *   - at most FL_SWEEP_MAX_KEYS keys (protocol.h): the summary table shows
 *     one column per key;
 *   - at most FL_SWEEP_MAX_JOBS points: a grid that large is already days
 *     of one GPU's time, and the daemon keeps a group's summary within one
 *     reply frame;
 *   - at most FL_SWEEP_MAX_VALUES values per key (the grid cap allows no
 *     more for two keys of two values, and it bounds parsing). */
#ifndef FLATLINE_CLIENT_SWEEP_H
#define FLATLINE_CLIENT_SWEEP_H

#include <stddef.h>

#include "flatline/protocol.h"

#define FL_SWEEP_MAX_JOBS FL_GROUP_MAX_JOBS
#define FL_SWEEP_MAX_VALUES FL_GROUP_MAX_JOBS

typedef struct {
  char key[FL_SWEEP_KEY_MAX]; /* "optimizer.learning_rate" */
  int n_values;
  char **values; /* each a compact JSON scalar: 0.01, "relu", true, null */
} fl_sweep_axis;

typedef struct {
  int n_axes;
  fl_sweep_axis axes[FL_SWEEP_MAX_KEYS];
} fl_sweep_grid;

typedef struct {
  char *spec;   /* the spec with this point's values put in (compact JSON) */
  char *values; /* {"optimizer.learning_rate":0.01,"batch_size":32} */
  char *label;  /* "optimizer.learning_rate=0.01 batch_size=32" */
} fl_sweep_point;

typedef struct {
  int n;
  fl_sweep_point *points; /* the last axis varies fastest */
} fl_sweep_points;

/* Add one `--sweep` argument, "KEY=V1,V2,...", to g. A value is taken as a
 * JSON scalar when it is one (0.01, 1e-3, true, null, "quoted"), else as a
 * string (relu); spaces around a value are dropped. Errors (FL_EINVAL, or
 * FL_ETOOBIG past a cap) name the problem and the fix: no '=', a key that
 * is not a key path, an empty list or value, a value given twice, a key
 * given twice, more than FL_SWEEP_MAX_KEYS keys. */
int fl_sweep_parse_arg(fl_sweep_grid *g, const char *arg, fl_error *err);

/* The grid over spec (the spec file's JSON text): one point per
 * combination, in order. Each key is checked against the spec with each
 * of its values (fl_spec_parse must accept the spec with that value: an
 * unknown key or a value of the wrong type is named with the parser's own
 * message), then every point. A key may not change the data files the
 * spec names. A grid of more than FL_SWEEP_MAX_JOBS points is FL_ETOOBIG
 * before anything is built. On error *out is empty. */
int fl_sweep_expand(const char *spec, size_t spec_len, const fl_sweep_grid *g,
                    fl_sweep_points *out, fl_error *err);

/* The number of points of g (the product of its axes' lengths), capped at
 * FL_SWEEP_MAX_JOBS + 1 so that it cannot overflow. */
size_t fl_sweep_count(const fl_sweep_grid *g);

void fl_sweep_grid_free(fl_sweep_grid *g);
void fl_sweep_points_free(fl_sweep_points *p);

#endif
