/* engine/tune_internal.h — tune.c's candidates and its choice, shared with
 * test_tune so that the choice can be tested on made-up timings: a real
 * search with every CLBlast candidate takes minutes on POCL. */
#ifndef FL_ENGINE_TUNE_INTERNAL_H
#define FL_ENGINE_TUNE_INTERNAL_H

#include "engine_internal.h"

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
 * faster. */
void fl__tune_choose(fl_tune_result *r, const fl__tune_cand *specs,
                     bool is_cpu, bool now_tiled);

#endif
