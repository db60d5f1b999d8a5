/* engine/train_extras.c — what a training step adds to the plain update
 * (flatline/protocol.h's fl_optimizer_spec): the learning rate of a
 * schedule at each step, gradient clipping of the flat gradient buffer
 * before the optimizer reads it (Keras 3's clipnorm, global_clipnorm,
 * clipvalue), and the parameters a job keeps aside (the best epoch's)
 * with the callback state its checkpoints carry. */
#include <stdlib.h>
#include <string.h>

#include "engine_internal.h"

float fl__base_learning_rate(const fl_optimizer_spec *opt) {
  if (opt->learning_rate > 0 || opt->schedule.kind != FL_SCHEDULE_COSINE ||
      !opt->schedule.warmup)
    return opt->learning_rate;
  return (float)opt->schedule.warmup_target; /* a warm-up from 0 */
}

/* A schedule gives the rate at each step; a rate set since (the monitor's
 * reduce_lr, a probe's lr/10) scales the whole schedule by its ratio to
 * the base rate, so that the schedule's shape is kept. */
float fl__step_learning_rate(fl_trainer *t) {
  const fl_optimizer_spec *opt = &t->cfg.optimizer;
  if (opt->schedule.kind == FL_SCHEDULE_NONE) {
    t->lr_now = t->lr;
    return t->lr;
  }
  double base = fl__base_learning_rate(opt);
  double scale = base > 0 ? (double)t->lr / base : 1.0;
  t->lr_now = (float)(fl_learning_rate_at(opt, t->step) * scale);
  return t->lr_now;
}

/* Segment boundaries of clipnorm (W_0, b_0, [gamma_0, beta_0,] W_1, ...:
 * each Keras variable, the layout's order) or of global_clipnorm (one
 * segment, all P). */
int fl__clip_setup(fl_trainer *t, fl_error *err) {
  const fl_optimizer_spec *opt = &t->cfg.optimizer;
  if (!(opt->clipnorm > 0) && !(opt->global_clipnorm > 0)) return 0;
  cl_uint off[4 * FL_MAX_LAYERS + 1];
  size_t n = 0;
  if (opt->clipnorm > 0) {
    for (int l = 0; l < t->lay.n_layers; l++) {
      const fl__layer_layout *ll = &t->lay.l[l];
      off[n++] = (cl_uint)ll->w_off;
      off[n++] = (cl_uint)ll->b_off;
      if (ll->gamma_off != FL__NO_OFF) off[n++] = (cl_uint)ll->gamma_off;
      if (ll->beta_off != FL__NO_OFF) off[n++] = (cl_uint)ll->beta_off;
    }
  } else {
    off[n++] = 0;
  }
  off[n] = (cl_uint)t->lay.n_params;
  t->clip_nseg = n;
  int rc = fl__buffer_create(t->dev, (n + 1) * sizeof(cl_uint), off, &t->clip_off, err);
  if (!rc) rc = fl__buffer_create(t->dev, n * sizeof(float), NULL, &t->clip_sumsq, err);
  return rc;
}

int fl__clip_grads(fl_trainer *t, fl_error *err) {
  const fl_optimizer_spec *opt = &t->cfg.optimizer;
  size_t P = t->lay.n_params;
  if (opt->clipvalue > 0) return fl__op_clip_by_value(t->dev, t->grads, opt->clipvalue, P, err);
  if (!t->clip_off) return 0;
  float c = opt->clipnorm > 0 ? opt->clipnorm : opt->global_clipnorm;
  return fl__op_clip_by_norm(t->dev, t->grads, t->clip_off, t->clip_nseg, t->clip_sumsq, c, P,
                             err);
}

/* kept (P + S) holds the parameters, then the moving statistics: the
 * best epoch's model as a whole. */
int fl_trainer_keep_params(fl_trainer *t, int epoch, fl_error *err) {
  size_t bytes = t->lay.n_params * sizeof(float), sbytes = t->lay.n_stats * sizeof(float);
  int rc;
  if (!t->kept && (rc = fl__buffer_create(t->dev, bytes + sbytes, NULL, &t->kept, err)))
    return rc;
  FL_CL_CHECK(err, clEnqueueCopyBuffer(t->dev->queue, t->params, t->kept, 0, 0, bytes, 0,
                                       NULL, NULL));
  if (sbytes)
    FL_CL_CHECK(err, clEnqueueCopyBuffer(t->dev->queue, t->stats, t->kept, 0, bytes,
                                         sbytes, 0, NULL, NULL));
  t->kept_epoch = epoch;
  return 0;
}

int fl_trainer_restore_kept_params(fl_trainer *t, fl_error *err) {
  if (!t->kept || t->kept_epoch <= 0)
    return fl_error_set(err, FL_EINVAL, "no parameters were kept to restore; "
                        "keep them first (fl_trainer_keep_params)");
  size_t bytes = t->lay.n_params * sizeof(float), sbytes = t->lay.n_stats * sizeof(float);
  FL_CL_CHECK(err, clEnqueueCopyBuffer(t->dev->queue, t->kept, t->params, 0, 0,
                                       bytes, 0, NULL, NULL));
  if (sbytes)
    FL_CL_CHECK(err, clEnqueueCopyBuffer(t->dev->queue, t->kept, t->stats, bytes, 0,
                                         sbytes, 0, NULL, NULL));
  return 0;
}

int fl_trainer_kept_epoch(const fl_trainer *t) { return t->kept ? t->kept_epoch : 0; }

int fl_trainer_set_note(fl_trainer *t, const char *text, fl_error *err) {
  char *copy = NULL;
  if (text && !(copy = strdup(text)))
    return fl_error_set(err, FL_ENOMEM, "out of host memory");
  free(t->note);
  t->note = copy;
  return 0;
}

const char *fl_trainer_note(const fl_trainer *t) { return t->note; }

void fl__trainer_extras_free(fl_trainer *t) {
  fl__buffer_release(&t->clip_off);
  fl__buffer_release(&t->clip_sumsq);
  fl__buffer_release(&t->kept);
  free(t->note);
  t->note = NULL;
}
