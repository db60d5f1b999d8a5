/* diagnose/spec_patch.c — a live diagnosis's fix: the merge patch between a
 * job's spec and the modified spec a probe trained with (layers, optimizer,
 * loss), written with the same pieces as preflight's fixes (fix_json.c). */
#include <string.h>

#include "diagnose_internal.h"
#include "fix_json.h"

static bool same_init(const fl_initializer *a, const fl_initializer *b) {
  return a->kind == b->kind && a->param == b->param;
}

static bool same_layers(const fl_job_spec *a, const fl_job_spec *b) {
  if (a->n_layers != b->n_layers) return false;
  for (int i = 0; i < a->n_layers; i++) {
    const fl_layer_spec *x = &a->layers[i], *y = &b->layers[i];
    if (x->units != y->units || x->activation != y->activation ||
        x->kind != y->kind ||
        !same_init(&x->kernel_init, &y->kernel_init) ||
        !same_init(&x->bias_init, &y->bias_init))
      return false;
  }
  return true;
}

static bool same_schedule(const fl_lr_schedule *a, const fl_lr_schedule *b) {
  if (a->kind != b->kind || a->decay_steps != b->decay_steps || a->decay_rate != b->decay_rate ||
      a->staircase != b->staircase || a->alpha != b->alpha || a->warmup != b->warmup ||
      a->warmup_target != b->warmup_target || a->warmup_steps != b->warmup_steps ||
      a->n_boundaries != b->n_boundaries)
    return false;
  for (int i = 0; i < a->n_boundaries && i < FL_SCHEDULE_MAX_BOUNDARIES; i++)
    if (a->boundaries[i] != b->boundaries[i] || a->values[i] != b->values[i]) return false;
  int n = a->n_boundaries < FL_SCHEDULE_MAX_BOUNDARIES ? a->n_boundaries : FL_SCHEDULE_MAX_BOUNDARIES;
  return a->values[n] == b->values[n];
}

static bool same_optimizer(const fl_optimizer_spec *a, const fl_optimizer_spec *b) {
  return a->kind == b->kind && a->learning_rate == b->learning_rate &&
         same_schedule(&a->schedule, &b->schedule) &&
         a->momentum == b->momentum && a->nesterov == b->nesterov &&
         a->beta_1 == b->beta_1 && a->beta_2 == b->beta_2 &&
         a->epsilon == b->epsilon && a->rho == b->rho &&
         a->weight_decay == b->weight_decay;
}

int fl__spec_patch(const fl_job_spec *base, const fl_job_spec *changed,
                   char *out, size_t size) {
  bool layers = !same_layers(base, changed);
  bool opt = !same_optimizer(&base->optimizer, &changed->optimizer);
  bool loss = base->loss.kind != changed->loss.kind ||
              base->loss.from_logits != changed->loss.from_logits;
  if (!layers && !opt && !loss) {
    if (size) out[0] = '\0';
    return 0;
  }
  fl_jw w;
  fl__fix_begin(&w);
  if (layers) fl__fix_put_layers(&w, changed->layers, changed->n_layers, true);
  if (opt) fl__fix_put_optimizer(&w, &changed->optimizer);
  if (loss) fl__fix_put_loss(&w, &changed->loss);
  return fl__fix_finish(&w, out, size);
}

int fl_fix_learning_rate(const fl_job_spec *spec, double lr, char *out, size_t size) {
  fl_job_spec changed = *spec;
  if (spec->optimizer.learning_rate > 0)
    fl_optimizer_scale_rate(&changed.optimizer, lr / spec->optimizer.learning_rate);
  else
    changed.optimizer.learning_rate = (float)lr;
  return fl__spec_patch(spec, &changed, out, size);
}
