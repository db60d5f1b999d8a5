/* diagnose/diagnose_internal.h — what the diagnose sources share. */
#ifndef FL_DIAGNOSE_INTERNAL_H
#define FL_DIAGNOSE_INTERNAL_H

#include "flatline/diagnose.h"

/* Merge patch turning base into changed (layers, optimizer, loss); ""
 * when they are equal or the patch does not fit. */
int fl__spec_patch(const fl_job_spec *base, const fl_job_spec *changed,
                   char *out, size_t size);

/* How preflight's note on validation features on another scale begins:
 * decide.c tells it from the two class notes of the same cause by it. */
#define FL__VAL_SCALE_NOTE "validation features are on another scale than the training features"

/* Learning rates far below the usual range (SGD 1e-3..1e-1, adaptive
 * optimizers 1e-4..1e-2: Keras' defaults are 0.01 and 0.001), a tenth of
 * its low end or less: a sign of a rate too low that the probe plan and
 * rule_lr_low share. The bound itself is included: people type round
 * rates, and Adam at 1e-5 on a standardized Iris table (question round 6)
 * moved its loss 0.755 -> 0.748 in 200 steps. */
#define FL__TINY_LR_SGD 1e-4f
#define FL__TINY_LR_ADAPTIVE 1e-5f
static inline bool fl__rate_far_below_usual(const fl_job_spec *spec, double lr) {
  return spec->optimizer.kind == FL_OPT_SGD ? lr <= FL__TINY_LR_SGD : lr <= FL__TINY_LR_ADAPTIVE;
}
static inline bool fl__lr_far_below_usual(const fl_job_spec *spec) {
  return fl__rate_far_below_usual(spec, spec->optimizer.learning_rate);
}

/* Keras' default rates, where the ladder ends when a job's rate is more
 * than a thousandfold below them or a hundredfold above them. */
static inline double fl__lr_usual(const fl_job_spec *spec) {
  return spec->optimizer.kind == FL_OPT_SGD ? 0.01 : 0.001;
}

/* The model as a whole is one affine map: dense layers only, each hidden
 * one without an activation (Keras' Dense default is linear; batch
 * normalization and dropout keep it affine at inference). A stack of
 * such layers has straight class boundaries however wide it is, so its
 * capacity is a softmax regression's; the ReLU probe gives its hidden
 * layers an activation. No hidden layer at all counts too. */
static inline bool fl__model_linear(const fl_job_spec *spec) {
  for (int i = 0; i < spec->n_layers; i++) {
    const fl_layer_spec *l = &spec->layers[i];
    if (l->kind != FL_LAYER_DENSE) return false;
    if (i + 1 < spec->n_layers && l->activation != FL_ACT_LINEAR) return false;
  }
  return spec->n_layers > 0;
}

#endif
