/* diagnose/spec_patch.c — a fix as an RFC 7386 merge patch: the difference
 * between a job's spec and the modified spec a probe trained with. Arrays
 * are replaced whole by a merge patch, so a layer change carries every
 * layer; an optimizer change names every optimizer key (null for those the
 * new optimizer does not take), so that merging it onto an object form
 * never leaves a key the parser would reject. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diagnose_internal.h"

static void initializer(fl_jw *w, const char *key, const fl_initializer *in) {
  switch (in->kind) {
    case FL_INIT_RANDOM_NORMAL:
      fl_jw_object_begin(w, key);
      fl_jw_str(w, "name", "random_normal");
      fl_jw_num(w, "stddev", in->param);
      fl_jw_object_end(w);
      break;
    case FL_INIT_RANDOM_UNIFORM:
      fl_jw_object_begin(w, key);
      fl_jw_str(w, "name", "random_uniform");
      fl_jw_num(w, "limit", in->param);
      fl_jw_object_end(w);
      break;
    case FL_INIT_CONSTANT:
      fl_jw_object_begin(w, key);
      fl_jw_str(w, "name", "constant");
      fl_jw_num(w, "value", in->param);
      fl_jw_object_end(w);
      break;
    default:
      fl_jw_str(w, key, fl_init_name(in->kind));
  }
}

static bool same_init(const fl_initializer *a, const fl_initializer *b) {
  return a->kind == b->kind && a->param == b->param;
}

static bool same_layers(const fl_job_spec *a, const fl_job_spec *b) {
  if (a->n_layers != b->n_layers) return false;
  for (int i = 0; i < a->n_layers; i++) {
    const fl_layer_spec *x = &a->layers[i], *y = &b->layers[i];
    if (x->units != y->units || x->activation != y->activation ||
        !same_init(&x->kernel_init, &y->kernel_init) ||
        !same_init(&x->bias_init, &y->bias_init))
      return false;
  }
  return true;
}

static bool same_optimizer(const fl_optimizer_spec *a, const fl_optimizer_spec *b) {
  return a->kind == b->kind && a->learning_rate == b->learning_rate &&
         a->momentum == b->momentum && a->nesterov == b->nesterov &&
         a->beta_1 == b->beta_1 && a->beta_2 == b->beta_2 &&
         a->epsilon == b->epsilon && a->rho == b->rho &&
         a->weight_decay == b->weight_decay;
}

/* Shortest decimal that reads back as the same float (0.001, not
 * 0.001000000047). */
static double decimal(float v) {
  char text[32];
  snprintf(text, sizeof text, "%.7g", (double)v);
  float back = 0;
  if (sscanf(text, "%f", &back) != 1 || back != v) snprintf(text, sizeof text, "%.9g", (double)v);
  double d = 0;
  sscanf(text, "%lf", &d);
  return d;
}

static void optimizer(fl_jw *w, const fl_optimizer_spec *o) {
  fl_jw_object_begin(w, "optimizer");
  fl_jw_str(w, "name", fl_optimizer_name(o->kind));
  fl_jw_num(w, "learning_rate", decimal(o->learning_rate));
  bool sgd = o->kind == FL_OPT_SGD, adam = o->kind == FL_OPT_ADAM || o->kind == FL_OPT_ADAMW,
       rms = o->kind == FL_OPT_RMSPROP;
  if (sgd || rms) fl_jw_num(w, "momentum", decimal(o->momentum));
  else fl_jw_null(w, "momentum");
  if (sgd) fl_jw_bool(w, "nesterov", o->nesterov);
  else fl_jw_null(w, "nesterov");
  if (adam) {
    fl_jw_num(w, "beta_1", decimal(o->beta_1));
    fl_jw_num(w, "beta_2", decimal(o->beta_2));
  } else {
    fl_jw_null(w, "beta_1");
    fl_jw_null(w, "beta_2");
  }
  if (adam || rms) fl_jw_num(w, "epsilon", decimal(o->epsilon));
  else fl_jw_null(w, "epsilon");
  if (rms) fl_jw_num(w, "rho", decimal(o->rho));
  else fl_jw_null(w, "rho");
  if (o->kind == FL_OPT_ADAMW) fl_jw_num(w, "weight_decay", decimal(o->weight_decay));
  else fl_jw_null(w, "weight_decay");
  fl_jw_object_end(w);
}

void fl__write_layers(fl_jw *w, const fl_job_spec *s) {
  fl_jw_object_begin(w, "model");
  fl_jw_array_begin(w, "layers");
  for (int i = 0; i < s->n_layers; i++) {
    const fl_layer_spec *l = &s->layers[i];
    fl_jw_object_begin(w, NULL);
    fl_jw_str(w, "type", "dense");
    fl_jw_int(w, "units", l->units);
    fl_jw_str(w, "activation", fl_activation_name(l->activation));
    initializer(w, "kernel_initializer", &l->kernel_init);
    initializer(w, "bias_initializer", &l->bias_init);
    fl_jw_object_end(w);
  }
  fl_jw_array_end(w);
  fl_jw_object_end(w);
}

int fl__spec_patch(const fl_job_spec *base, const fl_job_spec *changed,
                   double scale, char *out, size_t size) {
  fl_jw w;
  fl_jw_init(&w);
  fl_jw_object_begin(&w, NULL);
  if (!same_layers(base, changed)) fl__write_layers(&w, changed);
  if (!same_optimizer(&base->optimizer, &changed->optimizer)) optimizer(&w, &changed->optimizer);
  if (base->loss.kind != changed->loss.kind || base->loss.from_logits != changed->loss.from_logits) {
    if (changed->loss.kind == FL_LOSS_MSE) {
      fl_jw_str(&w, "loss", fl_loss_name(changed->loss.kind)); /* no from_logits */
    } else {
      fl_jw_object_begin(&w, "loss");
      fl_jw_str(&w, "name", fl_loss_name(changed->loss.kind));
      fl_jw_bool(&w, "from_logits", changed->loss.from_logits);
      fl_jw_object_end(&w);
    }
  }
  if (scale > 0) {
    /* Features multiplied by `scale` on top of the spec's own scale. */
    fl_jw_object_begin(&w, "data");
    fl_jw_object_begin(&w, "train");
    double s = (base->train.has_scale ? base->train.scale : 1.0) * scale;
    char text[32];
    snprintf(text, sizeof text, "%.3g", s);
    double rounded = 0;
    sscanf(text, "%lf", &rounded);
    fl_jw_num(&w, "scale", rounded);
    fl_jw_object_end(&w);
    if (base->validation.kind != FL_SRC_NONE) {
      fl_jw_object_begin(&w, "validation");
      fl_jw_num(&w, "scale", rounded);
      fl_jw_object_end(&w);
    }
    fl_jw_object_end(&w);
  }
  fl_jw_object_end(&w);
  char *text = fl_jw_finish(&w);
  if (!text) return FL_ENOMEM;
  int n = snprintf(out, size, "%s", strcmp(text, "{}") == 0 ? "" : text);
  free(text);
  if (n < 0 || (size_t)n >= size) {
    out[0] = '\0'; /* never a cut-off patch */
    return FL_ETOOBIG;
  }
  return 0;
}

int fl_fix_learning_rate(const fl_job_spec *spec, double lr, char *out, size_t size) {
  fl_job_spec changed = *spec;
  changed.optimizer.learning_rate = (float)lr;
  return fl__spec_patch(spec, &changed, 0, out, size);
}
