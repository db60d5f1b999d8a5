/* diagnose/fix_json.c — owns the merge-patch writers of fix_json.h: how a
 * loss, a layers array, an optimizer and the data scales are spelled in a
 * fix, so that every fix flatline proposes parses back as a valid spec. */
#include "fix_json.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

double fl__fix_float(float v) {
  if (!isfinite(v)) return (double)v; /* fl_jw_num writes null */
  char buf[32];
  for (int digits = 6; digits <= 9; digits++) {
    snprintf(buf, sizeof buf, "%.*g", digits, (double)v);
    if (strtof(buf, NULL) == v) return strtod(buf, NULL);
  }
  return (double)v; /* 9 digits always round-trip a float */
}

void fl__fix_begin(fl_jw *w) {
  fl_jw_init(w);
  fl_jw_object_begin(w, NULL);
}

static bool is_cross_entropy(fl_loss_kind k) {
  return k == FL_LOSS_CATEGORICAL_CE || k == FL_LOSS_SPARSE_CATEGORICAL_CE ||
         k == FL_LOSS_BINARY_CE;
}

void fl__fix_put_loss(fl_jw *w, const fl_loss_spec *loss) {
  if (loss->from_logits && is_cross_entropy(loss->kind)) {
    fl_jw_object_begin(w, "loss");
    fl_jw_str(w, "name", fl_loss_name(loss->kind));
    fl_jw_bool(w, "from_logits", true);
    fl_jw_object_end(w);
  } else {
    /* The string form: from_logits false is its default, and a string
     * replaces an object form wholesale, dropping an old from_logits. */
    fl_jw_str(w, "loss", fl_loss_name(loss->kind));
  }
}

/* The key of an initializer's one parameter, NULL when it takes none. */
static const char *init_param_key(fl_init_kind k) {
  switch (k) {
    case FL_INIT_RANDOM_NORMAL: return "stddev";
    case FL_INIT_RANDOM_UNIFORM: return "limit";
    case FL_INIT_CONSTANT: return "value";
    default: return NULL;
  }
}

static void put_initializer(fl_jw *w, const char *key,
                            const fl_initializer *init) {
  const char *param = init_param_key(init->kind);
  if (!param) {
    fl_jw_str(w, key, fl_init_name(init->kind));
    return;
  }
  fl_jw_object_begin(w, key);
  fl_jw_str(w, "name", fl_init_name(init->kind));
  fl_jw_num(w, param, fl__fix_float(init->param));
  fl_jw_object_end(w);
}

static void put_pair(fl_jw *w, const char *key, const int v[2]) {
  fl_jw_array_begin(w, key);
  fl_jw_int(w, NULL, v[0]);
  fl_jw_int(w, NULL, v[1]);
  fl_jw_array_end(w);
}

/* A conv2d layer's own keys (issue 13), and its pooling entry after it. */
static void put_conv_keys(fl_jw *w, const fl_layer_spec *l) {
  fl_jw_str(w, "type", "conv2d");
  fl_jw_int(w, "filters", l->units);
  put_pair(w, "kernel_size", l->kernel_size);
  put_pair(w, "strides", l->strides);
  fl_jw_str(w, "padding", l->padding_same ? "same" : "valid");
}

static void put_pool_entry(fl_jw *w, const fl_layer_spec *l) {
  static const char *const types[] = {NULL, "max_pooling2d",
                                      "average_pooling2d",
                                      "global_average_pooling2d"};
  if (l->kind != FL_LAYER_CONV2D || l->pool == FL_POOL_NONE) return;
  fl_jw_object_begin(w, NULL);
  fl_jw_str(w, "type", types[l->pool]);
  if (l->pool != FL_POOL_GLOBAL_AVG) {
    put_pair(w, "pool_size", l->pool_size);
    put_pair(w, "strides", l->pool_strides);
    fl_jw_str(w, "padding", l->pool_same ? "same" : "valid");
  }
  fl_jw_object_end(w);
}

void fl__fix_put_layers(fl_jw *w, const fl_layer_spec *layers, int n,
                        bool all_fields) {
  fl_jw_object_begin(w, "model");
  fl_jw_array_begin(w, "layers");
  for (int i = 0; i < n; i++) {
    const fl_layer_spec *l = &layers[i];
    if (l->flatten) {
      fl_jw_object_begin(w, NULL);
      fl_jw_str(w, "type", "flatten");
      fl_jw_object_end(w);
    }
    fl_jw_object_begin(w, NULL);
    if (l->kind == FL_LAYER_CONV2D) {
      put_conv_keys(w, l);
    } else {
      fl_jw_str(w, "type", "dense");
      fl_jw_int(w, "units", l->units);
    }
    if (i == 0 && l->input_shape[0] > 0) {
      fl_jw_array_begin(w, "input_shape");
      for (int j = 0; j < 3; j++) fl_jw_int(w, NULL, l->input_shape[j]);
      fl_jw_array_end(w);
    }
    /* BN before the activation: a linear dense layer, then the
     * batch_normalization and an activation entry (below) */
    bool act_after = l->bn && l->bn_before_act;
    if (!act_after && (all_fields || l->activation != FL_ACT_LINEAR))
      fl_jw_str(w, "activation", fl_activation_name(l->activation));
    if (all_fields || l->kernel_init.kind != FL_INIT_GLOROT_UNIFORM)
      put_initializer(w, "kernel_initializer", &l->kernel_init);
    if (all_fields || l->bias_init.kind != FL_INIT_ZEROS)
      put_initializer(w, "bias_initializer", &l->bias_init);
    if (l->l1 > 0.0f || l->l2 > 0.0f) {
      fl_jw_object_begin(w, "kernel_regularizer");
      if (l->l1 > 0.0f) fl_jw_num(w, "l1", l->l1);
      if (l->l2 > 0.0f) fl_jw_num(w, "l2", l->l2);
      fl_jw_object_end(w);
    }
    fl_jw_object_end(w);
    /* the array is replaced whole: the spec's batch_normalization,
     * activation and dropout entries go with it, in Keras' order */
    if (l->bn) {
      fl_jw_object_begin(w, NULL);
      fl_jw_str(w, "type", "batch_normalization");
      fl_jw_num(w, "momentum", fl__fix_float(l->bn_momentum));
      fl_jw_num(w, "epsilon", fl__fix_float(l->bn_epsilon));
      if (!l->bn_center) fl_jw_bool(w, "center", false);
      if (!l->bn_scale) fl_jw_bool(w, "scale", false);
      fl_jw_object_end(w);
    }
    if (act_after) {
      fl_jw_object_begin(w, NULL);
      fl_jw_str(w, "type", "activation");
      fl_jw_str(w, "activation", fl_activation_name(l->activation));
      fl_jw_object_end(w);
    }
    if (l->stacked_activation != FL_ACT_LINEAR) { /* kept as written */
      fl_jw_object_begin(w, NULL);
      fl_jw_str(w, "type", "activation");
      fl_jw_str(w, "activation", fl_activation_name(l->stacked_activation));
      fl_jw_object_end(w);
    }
    put_pool_entry(w, l);
    if (l->dropout > 0.0f) {
      fl_jw_object_begin(w, NULL);
      fl_jw_str(w, "type", "dropout");
      fl_jw_num(w, "rate", l->dropout);
      fl_jw_object_end(w);
    }
  }
  fl_jw_array_end(w);
  fl_jw_object_end(w);
}

int fl__fix_class_weight_balanced(char *out, size_t size) {
  fl_jw w;
  fl__fix_begin(&w);
  fl_jw_str(&w, "class_weight", "balanced");
  return fl__fix_finish(&w, out, size);
}

/* The optimizer keys of DESIGN.md §3 besides name and learning_rate. */
enum { OPT_MOMENTUM, OPT_NESTEROV, OPT_BETA_1, OPT_BETA_2, OPT_EPSILON,
       OPT_RHO, OPT_WEIGHT_DECAY, OPT_N_KEYS };

static const char *const opt_key_names[OPT_N_KEYS] = {
    "momentum", "nesterov", "beta_1", "beta_2", "epsilon", "rho",
    "weight_decay"};

static bool opt_takes(fl_optimizer_kind kind, int key) {
  switch (kind) {
    case FL_OPT_SGD: return key == OPT_MOMENTUM || key == OPT_NESTEROV;
    case FL_OPT_ADAM:
      return key == OPT_BETA_1 || key == OPT_BETA_2 || key == OPT_EPSILON;
    case FL_OPT_RMSPROP:
      return key == OPT_RHO || key == OPT_MOMENTUM || key == OPT_EPSILON;
    case FL_OPT_ADAMW:
      return key == OPT_BETA_1 || key == OPT_BETA_2 || key == OPT_EPSILON ||
             key == OPT_WEIGHT_DECAY;
  }
  return false;
}

/* A scaled rate to 6 significant digits: 0.01 x (0.01 / 0.1f) is written
 * 0.001, not 0.0009999999. */
static double rate6(double v) { return fl_round_digits(v, 6); }

/* "learning_rate": a number, or the schedule object (docs/spec.md) in
 * full, so that a fix that scales the rates keeps the schedule's shape. */
static void put_learning_rate(fl_jw *w, const fl_optimizer_spec *opt) {
  static const char *const names[] = {
      [FL_SCHEDULE_EXPONENTIAL] = "exponential_decay",
      [FL_SCHEDULE_COSINE] = "cosine_decay",
      [FL_SCHEDULE_PIECEWISE] = "piecewise_constant_decay"};
  const fl_lr_schedule *s = &opt->schedule;
  if (s->kind == FL_SCHEDULE_NONE || s->kind > FL_SCHEDULE_PIECEWISE) {
    fl_jw_num(w, "learning_rate", fl__fix_float(opt->learning_rate));
    return;
  }
  fl_jw_object_begin(w, "learning_rate");
  fl_jw_str(w, "name", names[s->kind]);
  switch (s->kind) {
    case FL_SCHEDULE_EXPONENTIAL:
      fl_jw_num(w, "initial_learning_rate", rate6(opt->learning_rate));
      fl_jw_num(w, "decay_steps", s->decay_steps);
      fl_jw_num(w, "decay_rate", fl__fix_float((float)s->decay_rate));
      fl_jw_bool(w, "staircase", s->staircase);
      break;
    case FL_SCHEDULE_COSINE:
      fl_jw_num(w, "initial_learning_rate", rate6(opt->learning_rate));
      fl_jw_num(w, "decay_steps", s->decay_steps);
      fl_jw_num(w, "alpha", fl__fix_float((float)s->alpha));
      if (s->warmup) {
        fl_jw_num(w, "warmup_target", rate6(s->warmup_target));
        fl_jw_num(w, "warmup_steps", s->warmup_steps);
      }
      break;
    default: {
      int n = s->n_boundaries < FL_SCHEDULE_MAX_BOUNDARIES ? s->n_boundaries
                                                           : FL_SCHEDULE_MAX_BOUNDARIES;
      fl_jw_array_begin(w, "boundaries");
      for (int i = 0; i < n; i++) fl_jw_num(w, NULL, s->boundaries[i]);
      fl_jw_array_end(w);
      fl_jw_array_begin(w, "values");
      for (int i = 0; i <= n; i++) fl_jw_num(w, NULL, rate6(s->values[i]));
      fl_jw_array_end(w);
      break;
    }
  }
  fl_jw_object_end(w);
}

void fl__fix_put_optimizer(fl_jw *w, const fl_optimizer_spec *opt) {
  fl_jw_object_begin(w, "optimizer");
  fl_jw_str(w, "name", fl_optimizer_name(opt->kind));
  put_learning_rate(w, opt);
  for (int key = 0; key < OPT_N_KEYS; key++) {
    const char *name = opt_key_names[key];
    if (!opt_takes(opt->kind, key)) {
      fl_jw_null(w, name); /* merge patch: delete it if the spec has it */
      continue;
    }
    switch (key) {
      case OPT_MOMENTUM: fl_jw_num(w, name, fl__fix_float(opt->momentum)); break;
      case OPT_NESTEROV: fl_jw_bool(w, name, opt->nesterov); break;
      case OPT_BETA_1: fl_jw_num(w, name, fl__fix_float(opt->beta_1)); break;
      case OPT_BETA_2: fl_jw_num(w, name, fl__fix_float(opt->beta_2)); break;
      case OPT_EPSILON: fl_jw_num(w, name, fl__fix_float(opt->epsilon)); break;
      case OPT_RHO: fl_jw_num(w, name, fl__fix_float(opt->rho)); break;
      default: fl_jw_num(w, name, fl__fix_float(opt->weight_decay)); break;
    }
  }
  fl_jw_object_end(w);
}

void fl__fix_put_callbacks(fl_jw *w, const fl_callback_spec *cbs, int n) {
  static const char *const modes[] = {"auto", "min", "max"};
  fl_jw_array_begin(w, "callbacks");
  for (int i = 0; i < n; i++) {
    const fl_callback_spec *c = &cbs[i];
    fl_jw_object_begin(w, NULL);
    fl_jw_str(w, "type", fl_callback_name(c->kind));
    fl_jw_str(w, "monitor", fl_metric_name(c->monitor));
    fl_jw_str(w, "mode", modes[c->mode <= FL_MODE_MAX ? c->mode : 0]);
    switch (c->kind) {
      case FL_CALLBACK_EARLY_STOPPING:
        fl_jw_int(w, "patience", c->patience);
        fl_jw_num(w, "min_delta", fl__fix_float((float)c->min_delta));
        fl_jw_bool(w, "restore_best_weights", c->restore_best_weights);
        fl_jw_int(w, "start_from_epoch", c->start_from_epoch);
        break;
      case FL_CALLBACK_REDUCE_LR_ON_PLATEAU:
        fl_jw_int(w, "patience", c->patience);
        fl_jw_num(w, "min_delta", fl__fix_float((float)c->min_delta));
        fl_jw_num(w, "factor", fl__fix_float((float)c->factor));
        fl_jw_num(w, "min_lr", fl__fix_float((float)c->min_lr));
        fl_jw_int(w, "cooldown", c->cooldown);
        break;
      case FL_CALLBACK_MODEL_CHECKPOINT:
        fl_jw_bool(w, "save_best_only", c->save_best_only);
        break;
    }
    fl_jw_object_end(w);
  }
  fl_jw_array_end(w);
}

void fl__fix_put_scale(fl_jw *w, double train_scale, bool has_validation,
                       double val_scale) {
  fl_jw_object_begin(w, "data");
  fl_jw_object_begin(w, "train");
  fl_jw_num(w, "scale", train_scale);
  fl_jw_object_end(w);
  if (has_validation) {
    fl_jw_object_begin(w, "validation");
    fl_jw_num(w, "scale", val_scale);
    fl_jw_object_end(w);
  }
  fl_jw_object_end(w);
}

int fl__fix_finish(fl_jw *w, char *out, size_t size) {
  fl_jw_object_end(w);
  char *text = fl_jw_finish(w);
  if (size > 0) out[0] = '\0';
  if (!text) return FL_ENOMEM;
  size_t len = strlen(text);
  int rc = 0;
  if (len >= size) rc = FL_ETOOBIG;
  else memcpy(out, text, len + 1);
  free(text);
  return rc;
}

int fl__fix_loss(const fl_loss_spec *loss, char *out, size_t size) {
  fl_jw w;
  fl__fix_begin(&w);
  fl__fix_put_loss(&w, loss);
  return fl__fix_finish(&w, out, size);
}

/* loss may be NULL. Full fields first; the compact form when that is too
 * long (32 wide layers with parameterised initializers pass 4 KiB). */
static int loss_layers(const fl_loss_spec *loss, const fl_layer_spec *layers,
                       int n, char *out, size_t size) {
  int rc = FL_ETOOBIG;
  for (int all_fields = 1; all_fields >= 0 && rc == FL_ETOOBIG; all_fields--) {
    fl_jw w;
    fl__fix_begin(&w);
    if (loss) fl__fix_put_loss(&w, loss);
    fl__fix_put_layers(&w, layers, n, all_fields);
    rc = fl__fix_finish(&w, out, size);
  }
  return rc;
}

int fl__fix_layers(const fl_layer_spec *layers, int n, char *out,
                   size_t size) {
  return loss_layers(NULL, layers, n, out, size);
}

int fl__fix_loss_layers(const fl_loss_spec *loss, const fl_layer_spec *layers,
                        int n, char *out, size_t size) {
  return loss_layers(loss, layers, n, out, size);
}

int fl__fix_optimizer(const fl_optimizer_spec *opt, char *out, size_t size) {
  fl_jw w;
  fl__fix_begin(&w);
  fl__fix_put_optimizer(&w, opt);
  return fl__fix_finish(&w, out, size);
}

int fl__fix_scale(double train_scale, bool has_validation, double val_scale,
                  char *out, size_t size) {
  fl_jw w;
  fl__fix_begin(&w);
  fl__fix_put_scale(&w, train_scale, has_validation, val_scale);
  return fl__fix_finish(&w, out, size);
}

int fl__fix_validation_scale(double val_scale, char *out, size_t size) {
  fl_jw w;
  fl__fix_begin(&w);
  fl_jw_object_begin(&w, "data");
  fl_jw_object_begin(&w, "validation");
  fl_jw_num(&w, "scale", val_scale);
  fl_jw_object_end(&w);
  fl_jw_object_end(&w);
  return fl__fix_finish(&w, out, size);
}
