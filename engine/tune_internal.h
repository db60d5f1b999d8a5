/* engine/tune_internal.h — what tune.c shares with tune_json.c (the file
 * format, CLBlast's parameter schemas and their validation) and with
 * test_tune (the candidates and the choice, so that the choice can be
 * tested on made-up timings: a real search with every CLBlast candidate
 * takes minutes on POCL). */
#ifndef FL_ENGINE_TUNE_INTERNAL_H
#define FL_ENGINE_TUNE_INTERNAL_H

#include "engine_internal.h"

#define FL__TUNE_FORMAT "flatline-gemm-tuning"
#define FL__TUNE_VERSION 1

/* A CLBlast kernel's tunable parameters, by name (all must be given to
 * CLBlastOverrideParameters). */
typedef struct {
  const char *kernel;
  int n;
  const char *const *names;
} fl__param_schema;

enum { FL__SCHEMA_ROUTINE, FL__SCHEMA_XGEMM, FL__SCHEMA_DIRECT, FL__SCHEMA_COUNT };
extern const fl__param_schema fl__tune_schemas[FL__SCHEMA_COUNT];

/* The device limits a parameter set must respect. */
typedef struct {
  size_t max_wg, max_item[3];
  cl_ulong local_mem;
} fl__tune_limits;

void fl__tune_query_limits(fl_device *dev, fl__tune_limits *lim);
/* CLBlast's tuner constraints plus the device's limits; why names the rule
 * that failed. */
bool fl__tune_params_valid(const fl_tune_params *p, const fl__tune_limits *lim,
                           char *why, size_t why_size);
/* p <- schema's names with values v (in the schema's order). */
void fl__tune_params_from_set(fl_tune_params *p, int schema, const size_t *v);
/* m * n * k of a shape. */
uint64_t fl__tune_volume(const fl_tune_shape *s);

typedef enum {
  FL__CAND_TILED,    /* a tiled NN/TN variant */
  FL__CAND_TILED_NT, /* the tiled NT kernel */
  FL__CAND_CLBLAST,
} fl__cand_kind;

/* What a CLBlast candidate forces through XGEMM_MIN_INDIRECT_SIZE. */
typedef enum { FL__CL_OWN, FL__CL_DIRECT, FL__CL_INDIRECT } fl__cl_mode;

/* How candidate i of a result is run; result.cand[i] holds its timings. */
typedef struct {
  fl__cand_kind kind;
  int variant;           /* FL__CAND_TILED */
  fl__cl_mode mode;      /* FL__CAND_CLBLAST */
  int set;               /* a parameter set of ours, -1: CLBlast's own */
  fl_tune_params params; /* the Xgemm/XgemmDirect set when set >= 0 */
} fl__tune_cand;

/* Fill r's choice (plan, CLBlast overrides, chosen[], costs) from the
 * timings in r->cand[] of the candidates specs[] describes. now_tiled: the
 * device's plan before the search, kept unless the other is clearly
 * faster; untuned: what the device runs without tuning (default_cost). */
void fl__tune_choose(fl_tune_result *r, const fl__tune_cand *specs,
                     bool is_cpu, bool now_tiled, const fl__gemm_plan *untuned);

#endif
