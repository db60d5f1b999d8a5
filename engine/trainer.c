/* engine/trainer.c — one training job on one device: resident datasets,
 * parameters and optimizer state in flat buffers, the forward/backward pass
 * per batch, the per-epoch metrics read back once an epoch, and progress
 * reports within an epoch. struct fl_trainer and its buffers' shapes are in
 * engine_internal.h (checkpoint.c and safetensors.c read them too). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine_internal.h"

static double now_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Labels must index the output layer: anything else would read outside the
 * targets on the device. */
/* k: output units; n_cls: classes (2 for binary_crossentropy's one unit). */
static int check_labels(const fl_dataset *ds, size_t k, size_t n_cls,
                        const char *which, fl_error *err) {
  if (ds->label_kind == FL_LABELS_DENSE) {
    if (ds->k != k)
      return fl_error_set(err, FL_ELABELS,
                          "%s labels have %zu columns but the output layer "
                          "has %zu units; make the last layer's units equal "
                          "the number of classes",
                          which, ds->k, k);
    return 0;
  }
  if (n_cls != k) {
    for (size_t i = 0; i < ds->n; i++)
      if (ds->ids[i] < 0 || (size_t)ds->ids[i] >= n_cls)
        return fl_error_set(err, FL_ELABELS,
                            "%s label %d at row %zu is not 0 or 1; "
                            "binary_crossentropy takes class ids 0 and 1 "
                            "(for more classes use K softmax units and "
                            "sparse_categorical_crossentropy)",
                            which, ds->ids[i], i);
    return 0;
  }
  for (size_t i = 0; i < ds->n; i++)
    if (ds->ids[i] < 0 || (size_t)ds->ids[i] >= k)
      return fl_error_set(err, FL_ELABELS,
                          "%s label %d at row %zu is outside 0..%zu (the "
                          "output layer has %zu units); class ids must be "
                          "0..K-1 with K = units of the last layer",
                          which, ds->ids[i], i, k - 1, k);
  return 0;
}

static int upload_set(fl_trainer *t, const fl_dataset *ds, cl_mem *x,
                      cl_mem *ids, cl_mem *y, fl_error *err) {
  int rc = fl__buffer_create(t->dev, ds->n * ds->d * sizeof(float), ds->x, x, err);
  if (rc) return rc;
  if (ds->label_kind == FL_LABELS_IDS)
    return fl__buffer_create(t->dev, ds->n * sizeof(int32_t), ds->ids, ids, err);
  return fl__buffer_create(t->dev, ds->n * ds->k * sizeof(float), ds->y, y, err);
}

/* The class_weight of cfg as k weights: explicit entries (others 1), or
 * "balanced": n / (classes present * rows of the class), scikit-learn's
 * compute_class_weight, on the training labels (a dense label row counts
 * for its first largest entry, the class the loss kernel weighs it by).
 * *out (k) is malloc'd; NULL when no weighting is asked for. */
int fl__class_weights(const fl_class_weight_spec *cw, const fl_dataset *train,
                      size_t k, float **out, fl_error *err) {
  *out = NULL;
  if (!cw || cw->mode == FL_CLASS_WEIGHT_NONE) return 0;
  float *w = malloc(k * sizeof *w);
  uint64_t *count = calloc(k, sizeof *count);
  if (!w || !count) {
    free(w);
    free(count);
    return fl_error_set(err, FL_ENOMEM, "out of host memory");
  }
  for (size_t c = 0; c < k; c++) w[c] = 1.0f;
  if (cw->mode == FL_CLASS_WEIGHT_EXPLICIT) {
    for (int i = 0; i < cw->n; i++) {
      if (cw->cls[i] < 0 || (size_t)cw->cls[i] >= k) {
        free(w);
        free(count);
        return fl_error_set(err, FL_EINVAL, "class_weight names class %d but "
                            "the output layer has %zu units; use class ids "
                            "0..%zu", cw->cls[i], k, k - 1);
      }
      w[cw->cls[i]] = cw->weight[i];
    }
  } else {
    for (size_t r = 0; r < train->n; r++) {
      size_t truth = 0;
      if (train->label_kind == FL_LABELS_IDS) {
        truth = (size_t)train->ids[r];
      } else {
        const float *y = train->y + r * train->k;
        for (size_t j = 1; j < train->k; j++)
          if (y[j] > y[truth]) truth = j;
        if (train->k == 1) truth = y[0] > 0.5f; /* a binary target */
      }
      if (truth < k) count[truth]++;
    }
    size_t present = 0;
    for (size_t c = 0; c < k; c++) present += count[c] > 0;
    for (size_t c = 0; c < k; c++)
      if (count[c] > 0)
        w[c] = (float)((double)train->n / ((double)present * (double)count[c]));
  }
  free(count);
  *out = w;
  return 0;
}

static int alloc_state(fl_trainer *t, fl_error *err) {
  fl_device *dev = t->dev;
  size_t P = t->lay.n_params, B = (size_t)t->cfg.batch_size, L = t->lay.n_layers;
  size_t U = t->lay.n_units;
  int rc;
  float *init = malloc(P * sizeof(float));
  if (!init) return fl_error_set(err, FL_ENOMEM, "out of host memory");
  fl__init_params(&t->cfg, &t->lay, &t->rng, init);
  rc = fl__buffer_create(dev, P * sizeof(float), init, &t->params, err);
  free(init);
  if (rc) return rc;
  cl_mem *zeroed[] = {&t->grads, &t->m, &t->v, &t->prev};
  for (size_t i = 0; i < sizeof zeroed / sizeof *zeroed; i++) {
    if ((rc = fl__buffer_create(dev, P * sizeof(float), NULL, zeroed[i], err)) ||
        (rc = fl__buffer_zero(dev, *zeroed[i], P * sizeof(float), err)))
      return rc;
  }
  cl_uint off[FL_MAX_LAYERS + 1];
  for (size_t l = 0; l < L; l++) off[l] = (cl_uint)t->lay.l[l].w_off;
  off[L] = (cl_uint)P;
  if ((rc = fl__buffer_create(dev, (L + 1) * sizeof(cl_uint), off, &t->seg_off, err)) ||
      (rc = fl__buffer_create(dev, 3 * L * sizeof(float), NULL, &t->norm_acc, err)) ||
      (rc = fl__buffer_create(dev, B * t->d * sizeof(float), NULL, &t->xb, err)))
    return rc;
  for (size_t l = 0; l < L; l++) {
    size_t bytes = B * t->lay.l[l].out * sizeof(float);
    if ((rc = fl__buffer_create(dev, bytes, NULL, &t->act[l], err)) ||
        (rc = fl__buffer_create(dev, bytes, NULL, &t->dact[l], err)))
      return rc;
    if (t->layers[l].dropout > 0.0f &&
        (rc = fl__buffer_create(dev, bytes, NULL, &t->drop[l], err)))
      return rc;
    if (t->layers[l].bn &&
        (rc = fl__buffer_create(dev, bytes, NULL, &t->bn_in[l], err)))
      return rc;
  }
  if (t->lay.n_stats) {
    size_t S = t->lay.n_stats;
    float *stats = malloc(S * sizeof(float));
    if (!stats) return fl_error_set(err, FL_ENOMEM, "out of host memory");
    fl__init_stats(&t->lay, stats);
    rc = fl__buffer_create(dev, S * sizeof(float), stats, &t->stats, err);
    free(stats);
    if (rc || (rc = fl__buffer_create(dev, S * sizeof(float), NULL,
                                      &t->bn_norm, err)))
      return rc;
  }
  if ((rc = fl__conv_alloc(t, err))) return rc;
  if ((rc = fl__buffer_create(dev, B * sizeof(float), NULL, &t->row_loss, err)) ||
      (rc = fl__buffer_create(dev, B * sizeof(cl_uint), NULL, &t->row_pred, err)) ||
      (rc = fl__buffer_create(dev, B * sizeof(cl_uint), NULL, &t->row_correct, err)) ||
      (rc = fl__buffer_create(dev, 2 * sizeof(float), NULL, &t->mf, err)) ||
      (rc = fl__buffer_create(dev, (FL__MU_HIST + t->n_cls) * sizeof(cl_uint), NULL, &t->mu, err)) ||
      (rc = fl__buffer_create(dev, U * sizeof(cl_uint), NULL, &t->unit_active, err)) ||
      (rc = fl__buffer_create(dev, U * sizeof(cl_uint), NULL, &t->unit_sat, err)) ||
      (rc = fl__buffer_create(dev, t->n_train * sizeof(cl_uint), NULL, &t->perm, err)))
    return rc;
  t->perm_host = malloc(t->n_train * sizeof(uint32_t));
  t->mu_host = malloc((FL__MU_HIST + t->n_cls) * sizeof(uint32_t));
  t->active_host = malloc(U * sizeof(uint32_t));
  t->sat_host = malloc(U * sizeof(uint32_t));
  if (!t->perm_host || !t->mu_host || !t->active_host || !t->sat_host)
    return fl_error_set(err, FL_ENOMEM, "out of host memory");
  for (size_t i = 0; i < t->n_train; i++) t->perm_host[i] = (uint32_t)i;
  return fl__buffer_write(dev, t->perm, 0, t->n_train * sizeof(cl_uint),
                          t->perm_host, err);
}

int fl_trainer_create(fl_device *dev, const fl_train_config *cfg,
                      const fl_dataset *train, const fl_dataset *val,
                      fl_trainer **out, fl_error *err) {
  *out = NULL;
  if (cfg->n_layers < 1 || cfg->n_layers > FL_MAX_LAYERS || cfg->batch_size < 1)
    return fl_error_set(err, FL_EINVAL, "model needs 1..%d layers and a "
                        "batch_size >= 1", FL_MAX_LAYERS);
  if (train->n == 0 || train->d != cfg->input_dim)
    return fl_error_set(err, FL_EDATA, "training set has %zu rows of %zu "
                        "features; the model expects %zu features",
                        train->n, train->d, cfg->input_dim);
  if (train->n > UINT32_MAX)
    return fl_error_set(err, FL_ETOOBIG, "training set has %zu rows; at most "
                        "%u are supported", train->n, UINT32_MAX);
  if (val && val->d != train->d)
    return fl_error_set(err, FL_EDATA, "validation rows have %zu features but "
                        "training rows have %zu", val->d, train->d);
  size_t k = (size_t)cfg->layers[cfg->n_layers - 1].units;
  bool binary = cfg->loss.kind == FL_LOSS_BINARY_CE;
  if (binary && k != 1)
    return fl_error_set(err, FL_EINVAL, "binary_crossentropy takes one "
                        "output unit (sigmoid), the last layer has %zu; set "
                        "its units to 1, or use sparse_categorical_"
                        "crossentropy with %zu softmax units", k, k);
  size_t n_cls = binary ? 2 : k;
  int rc;
  /* conv2d layers: the image must match the rows, every output >= 1 px */
  if ((rc = fl__model_check_shapes(cfg, err))) return rc;
  if (cfg->layers[cfg->n_layers - 1].kind == FL_LAYER_CONV2D)
    return fl_error_set(err, FL_EINVAL, "the output layer must be dense; "
                        "add flatten and a dense layer after the last conv2d");
  for (int i = 0; i < cfg->n_layers; i++) {
    const fl_layer_spec *ls = &cfg->layers[i];
    if (ls->kind == FL_LAYER_CONV2D &&
        (ls->bn || ls->activation == FL_ACT_SOFTMAX))
      return fl_error_set(err, FL_EINVAL, "layer %d: a conv2d takes no "
                          "batch_normalization or softmax", i);
    if (ls->stacked_activation != FL_ACT_LINEAR)
      return fl_error_set(err, FL_EINVAL, "layer %d: an activation entry "
                          "stacked on the layer's own %s is not trained (the "
                          "preflight check names it: keep one of the two)", i,
                          fl_activation_name(ls->activation));
    if (!(ls->dropout >= 0.0f && ls->dropout < 1.0f) ||
        (ls->dropout > 0.0f && i == cfg->n_layers - 1))
      return fl_error_set(err, FL_EINVAL, "layer %d: dropout %g must be in "
                          "[0, 1) and not on the output layer", i,
                          (double)ls->dropout);
    if (!(ls->l1 >= 0.0f && ls->l2 >= 0.0f && isfinite(ls->l1) &&
          isfinite(ls->l2)))
      return fl_error_set(err, FL_EINVAL, "layer %d: kernel_regularizer "
                          "factors must be finite and >= 0", i);
    if (ls->bn && (i == cfg->n_layers - 1 ||
                   ls->activation == FL_ACT_SOFTMAX ||
                   !(ls->bn_momentum >= 0.0f) ||
                   !(ls->bn_momentum < 1.0f) || !(ls->bn_epsilon > 0.0f) ||
                   !isfinite(ls->bn_epsilon)))
      return fl_error_set(err, FL_EINVAL, "layer %d: batch_normalization "
                          "needs 0 <= momentum < 1 and epsilon > 0, and "
                          "not the output layer or a softmax", i);
  }
  if ((rc = check_labels(train, k, n_cls, "training", err))) return rc;
  if (val && (rc = check_labels(val, k, n_cls, "validation", err))) return rc;
  if (val && val->label_kind != train->label_kind)
    return fl_error_set(err, FL_ELABELS, "training labels are %s but "
                        "validation labels are %s; encode both the same way",
                        train->label_kind == FL_LABELS_IDS ? "class ids" : "one-hot",
                        val->label_kind == FL_LABELS_IDS ? "class ids" : "one-hot");

  const fl_device_info *info = &dev->info;
  uint64_t need = fl_train_memory_estimate(cfg, train->n, val ? val->n : 0);
  if (need > info->global_mem)
    return fl_error_set(err, FL_EDEVMEM,
                        "device out of memory: the job needs about %.1f MiB "
                        "but %s has %.1f MiB; use a smaller model, dataset or "
                        "batch_size, or a device with more memory",
                        need / 1048576.0, info->name,
                        info->global_mem / 1048576.0);

  fl_trainer *t = calloc(1, sizeof *t);
  if (!t) return fl_error_set(err, FL_ENOMEM, "out of host memory");
  t->dev = dev;
  t->cfg = *cfg;
  memcpy(t->layers, cfg->layers, cfg->n_layers * sizeof *t->layers);
  t->cfg.layers = t->layers;
  fl__model_layout_compute(&t->cfg, &t->lay);
  t->n_train = train->n;
  t->n_val = val ? val->n : 0;
  t->d = train->d;
  t->k = k;
  t->n_cls = n_cls;
  t->label_kind = train->label_kind;
  t->lr = fl__base_learning_rate(&cfg->optimizer);
  t->lr_now = t->lr;
  fl__rng_seed(&t->rng, cfg->seed);
  t->loss_mode = fl__pick_loss_mode(&t->cfg, &t->fused_last);

  float *cw = NULL;
  if ((rc = fl__class_weights(cfg->class_weight, train, n_cls, &cw, err))) {
    fl_trainer_destroy(t);
    return rc;
  }
  t->cfg.class_weight = NULL; /* read here only; the caller keeps it */
  if (cw) {
    rc = fl__buffer_create(dev, n_cls * sizeof(float), cw, &t->class_weight, err);
    free(cw);
    if (rc) {
      fl_trainer_destroy(t);
      return rc;
    }
  }
  if ((rc = upload_set(t, train, &t->x_train, &t->ids_train, &t->y_train, err)) ||
      (val && (rc = upload_set(t, val, &t->x_val, &t->ids_val, &t->y_val, err))) ||
      (rc = alloc_state(t, err)) || (rc = fl__clip_setup(t, err))) {
    fl_trainer_destroy(t);
    return rc;
  }
  /* Surface lazy allocation failures now rather than mid-epoch. */
  cl_int e = clFinish(dev->queue);
  if (e != CL_SUCCESS) {
    fl_trainer_destroy(t);
    return fl__cl_fail(err, e, "uploading the job to the device", __FILE__, __LINE__);
  }
  *out = t;
  return 0;
}

/* Forward pass of `rows` rows of x (rows, d) starting at element x_off, or,
 * with perm, of rows perm[start + r] of x (read by the first GEMM itself).
 * In training, a layer with dropout also writes drop[i] (rows, out): act[i]
 * with this step's mask applied, which the layer above reads instead, and
 * batch normalization uses (and moves the moving statistics by) the
 * batch's statistics. */
static int forward_pass(fl_trainer *t, cl_mem x, size_t x_off, cl_mem perm,
                        size_t start, size_t rows, bool training,
                        fl_error *err) {
  fl_device *dev = t->dev;
  cl_mem in = x;
  size_t in_off = x_off;
  int rc;
  for (int i = 0; i < t->lay.n_layers; i++) {
    const fl__layer_layout *l = &t->lay.l[i];
    fl_activation act = t->layers[i].activation;
    bool last = i == t->lay.n_layers - 1;
    if (l->conv) {
      if ((rc = fl__conv_forward(t, i, in, in_off, rows, err))) return rc;
      goto next_layer;
    }
    /* act[i] (rows, out) = act(in (rows, in) · W (in, out) + b); an output
     * activation folded into the loss (softmax, sigmoid) leaves logits */
    /* With batch normalization the GEMM writes bn_in[i] (rows, out):
     * x W + b before the activation (bn_before_act) or act(x W + b); then
     * act[i] = act(BN(bn_in)) or BN(bn_in). */
    const fl_layer_spec *ls = &t->layers[i];
    bool bn_first = ls->bn && ls->bn_before_act;
    fl__gemm_fused ep = {FL__EP_BIAS_ACT,
                         (last && t->fused_last) || bn_first ? FL_ACT_LINEAR
                                                             : act,
                         t->params, l->b_off, NULL,
                         i == 0 ? perm : NULL, start};
    if ((rc = fl__op_gemm_ep(dev, 0, 0, rows, l->out, l->in, in, in_off, l->in,
                             t->params, l->w_off, l->out,
                             ls->bn ? t->bn_in[i] : t->act[i], &ep, err)))
      return rc;
    if (ls->bn) {
      fl__bn_layer bn = fl__bn_of(l, ls);
      if ((rc = fl__op_bn_stats(dev, t->bn_in[i], rows, &bn, training,
                                t->stats, t->bn_norm, err)) ||
          (rc = fl__op_bn_apply(dev, t->act[i], t->bn_in[i], rows, &bn,
                                t->bn_norm, t->params,
                                bn_first ? act : FL_ACT_LINEAR, err)))
        return rc;
    }
    if (act == FL_ACT_SOFTMAX && !(last && t->fused_last) &&
        (rc = fl__op_softmax_forward(dev, t->act[i], rows, l->out, err)))
      return rc;
  next_layer:
    in = t->act[i];
    in_off = 0;
    if (training && t->drop[i]) {
      if ((rc = fl__op_dropout_forward(dev, t->drop[i], t->act[i], rows, l->out,
                                       t->layers[i].dropout,
                                       fl__dropout_stream(t->cfg.seed, t->step, i),
                                       err)))
        return rc;
      in = t->drop[i];
    }
  }
  return 0;
}

/* Inference: no dropout; batch normalization by the moving statistics. */
static int forward(fl_trainer *t, cl_mem x, size_t x_off, cl_mem perm,
                   size_t start, size_t rows, fl_error *err) {
  return forward_pass(t, x, x_off, perm, start, rows, false, err);
}

/* kernel_regularizer penalties into mf[0] (rows each), and with grads
 * their gradients into grads. */
static int regularize(fl_trainer *t, cl_mem grads, size_t rows,
                      fl_error *err) {
  for (int i = 0; i < t->lay.n_layers; i++) {
    const fl_layer_spec *ls = &t->layers[i];
    const fl__layer_layout *l = &t->lay.l[i];
    if (ls->l1 == 0.0f && ls->l2 == 0.0f) continue;
    int rc = fl__op_regularize(t->dev, t->params, grads, l->w_off,
                               l->w_rows * l->units, ls->l1, ls->l2, (float)rows,
                               t->mf, err);
    if (rc) return rc;
  }
  return 0;
}

/* Whether act' of layer i-1 is applied to dact[i-1] right when layer i
 * computes it (fused into the NT GEMM of a dense layer i): not for a
 * softmax (row-wise), nor when layer i-1 normalizes its activation's
 * output (act' after its BN backward) or pools it (act' of the activation
 * before pooling, in its own backward pass). */
static bool below_takes_grad(const fl_trainer *t, int i) {
  const fl_layer_spec *lb = &t->layers[i - 1];
  return !(lb->activation == FL_ACT_SOFTMAX || (lb->bn && !lb->bn_before_act) ||
           (lb->kind == FL_LAYER_CONV2D && lb->pool != FL_POOL_NONE));
}

/* What follows the gradient dact[i-1] (rows, in_i) that layer i wrote:
 * act' of layer i-1 when layer i could not fuse it (act_pending: a conv
 * layer i, whose col2im has no epilogue), then layer i-1's dropout mask,
 * which commutes with act'(act[i-1]) (both elementwise). */
static int below_grad(fl_trainer *t, int i, size_t rows, bool act_pending,
                      fl_error *err) {
  const fl__layer_layout *l = &t->lay.l[i];
  int rc;
  if (act_pending && below_takes_grad(t, i) &&
      (rc = fl__op_act_backward(t->dev, t->dact[i - 1], t->act[i - 1], rows,
                                l->in, t->layers[i - 1].activation, err)))
    return rc;
  if (t->drop[i - 1] &&
      (rc = fl__op_dropout_backward(t->dev, t->dact[i - 1], rows, l->in,
                                    t->layers[i - 1].dropout,
                                    fl__dropout_stream(t->cfg.seed, t->step,
                                                       i - 1),
                                    err)))
    return rc;
  return 0;
}

/* Backward pass from dact[L-1] (filled by the loss), writing grads. The
 * first layer's input is xb, or with perm rows perm[start + r] of x_train. */
static int backward(fl_trainer *t, cl_mem perm, size_t start, size_t rows,
                    bool track, fl_error *err) {
  fl_device *dev = t->dev;
  int rc;
  for (int i = t->lay.n_layers - 1; i >= 0; i--) {
    const fl__layer_layout *l = &t->lay.l[i];
    fl_activation act = t->layers[i].activation;
    bool fused = i == t->lay.n_layers - 1 && t->fused_last;
    if (l->conv) {
      /* never the top layer: dact[i] came from the layer above */
      if ((rc = fl__conv_backward(t, i, rows, track, err))) return rc;
      if (i > 0 && (rc = below_grad(t, i, rows, true, err))) return rc;
      continue;
    }
    /* The top layer's derivative comes with the loss (fused) or here;
     * lower layers' come in the NT GEMM's epilogue below, except softmax
     * (row-wise). */
    if (act == FL_ACT_SOFTMAX && !fused) {
      if ((rc = fl__op_softmax_backward(dev, t->dact[i], t->act[i], rows,
                                        l->out, err)))
        return rc;
    } else if (i == t->lay.n_layers - 1 && !fused) {
      if ((rc = fl__op_act_backward(dev, t->dact[i], t->act[i], rows, l->out,
                                    act, err)))
        return rc;
    }
    /* Batch normalization: dact[i] holds the gradient at BN's output with
     * act' applied (BN before the activation, by the GEMM above) or
     * without (BN after it); it becomes dz. The unit trackers read the
     * activation's output: act[i] (after BN) or bn_in[i] (before BN). */
    const fl_layer_spec *ls = &t->layers[i];
    cl_mem act_out = t->act[i];
    if (ls->bn) {
      fl__bn_layer bn = fl__bn_of(l, ls);
      if ((rc = fl__op_bn_backward(dev, t->dact[i], t->bn_in[i], rows, &bn,
                                   t->bn_norm, t->params, t->grads, err)))
        return rc;
      if (!ls->bn_before_act) {
        act_out = t->bn_in[i];
        if ((rc = fl__op_act_backward(dev, t->dact[i], act_out, rows, l->out,
                                      act, err)))
          return rc;
      }
    }
    bool tr = track && !fused;
    if ((rc = fl__op_bias_grad(dev, t->grads, l->b_off, t->dact[i], act_out,
                               rows, l->out, act, tr ? t->unit_active : NULL,
                               tr ? t->unit_sat : NULL, l->unit_off, err)))
      return rc;
    cl_mem in = i > 0 ? (t->drop[i - 1] ? t->drop[i - 1] : t->act[i - 1])
                      : perm ? t->x_train : t->xb;
    /* dW (in, out) = in^T (in, rows) · dact (rows, out) */
    fl__gemm_fused rows_of = {FL__EP_NONE, FL_ACT_LINEAR, NULL, 0, NULL,
                              i == 0 ? perm : NULL, start};
    if ((rc = fl__op_gemm_ep_with(dev, &dev->gemm, 1, 0, l->in, l->out, rows,
                                  1.0f, in, 0, l->in, t->dact[i], 0, l->out,
                                  0.0f, t->grads, l->w_off, l->out, &rows_of,
                                  err)))
      return rc;
    /* dact[i-1] (rows, in) = (dact (rows, out) · W^T (out, in))
     *                        * act'(act[i-1]) unless that is softmax, or
     * layer i-1 normalizes its activation's output (its act' comes after
     * its BN backward, above) */
    if (i > 0) {
      fl__gemm_fused ep = {below_takes_grad(t, i) ? FL__EP_ACT_GRAD
                                                  : FL__EP_NONE,
                           t->layers[i - 1].activation, NULL, 0,
                           t->act[i - 1], NULL, 0};
      if ((rc = fl__op_gemm_ep(dev, 0, 1, rows, l->in, l->out, t->dact[i], 0,
                               l->out, t->params, l->w_off, l->out,
                               t->dact[i - 1], &ep, err)) ||
          (rc = below_grad(t, i, rows, false, err)))
        return rc;
    }
  }
  return 0;
}

static void shuffle(fl_trainer *t) {
  uint32_t *p = t->perm_host;
  for (size_t i = 0; i < t->n_train; i++) p[i] = (uint32_t)i;
  for (size_t i = t->n_train - 1; i > 0; i--) {
    uint32_t j = fl__rng_below(&t->rng, (uint32_t)(i + 1));
    uint32_t tmp = p[i];
    p[i] = p[j];
    p[j] = tmp;
  }
}

static int zero_metrics(fl_trainer *t, fl_error *err) {
  int rc;
  if ((rc = fl__buffer_zero(t->dev, t->mf, 2 * sizeof(float), err)) ||
      (rc = fl__buffer_zero(t->dev, t->mu, (FL__MU_HIST + t->n_cls) * sizeof(cl_uint), err)))
    return rc;
  return 0;
}

/* Forward + loss over a resident set, without updates. */
static int evaluate_resident(fl_trainer *t, cl_mem x, cl_mem ids, cl_mem y,
                             size_t n, double *loss, double *acc,
                             fl_error *err) {
  int rc;
  size_t B = (size_t)t->cfg.batch_size;
  if ((rc = zero_metrics(t, err))) return rc;
  fl__loss_args la = {t->loss_mode, t->label_kind, ids, y, NULL, 0, 1.0f, NULL};
  for (size_t start = 0; start < n; start += B) {
    size_t rows = n - start < B ? n - start : B;
    la.start = start;
    if ((rc = forward(t, x, start * t->d, NULL, 0, rows, err)) ||
        (rc = fl__op_loss_rows(t->dev, t->act[t->lay.n_layers - 1], rows, t->k,
                               &la, t->dact[t->lay.n_layers - 1], t->row_loss,
                               t->row_pred, t->row_correct, err)) ||
        (rc = fl__op_batch_metrics(t->dev, t->row_loss, t->row_pred,
                                   t->row_correct, rows, t->n_cls, 0, t->mf,
                                   t->mu, err)))
      return rc;
  }
  /* Keras' val_loss includes the regularization penalty. */
  if ((rc = regularize(t, NULL, n, err))) return rc;
  float mf[2];
  if ((rc = fl__buffer_read(t->dev, t->mf, 0, sizeof mf, mf, err)) ||
      (rc = fl__buffer_read(t->dev, t->mu, 0, FL__MU_HIST * sizeof(cl_uint),
                            t->mu_host, err)))
    return rc;
  *loss = (double)mf[0] / (double)n;
  *acc = (double)t->mu_host[FL__MU_CORRECT] / (double)n;
  return 0;
}

/* One optimizer step on the batch starting at `start` of the permutation. */
static int train_step(fl_trainer *t, size_t start, size_t rows, bool sample,
                      fl_error *err) {
  fl_device *dev = t->dev;
  int L = t->lay.n_layers, rc;
  fl__loss_args la = {t->loss_mode, t->label_kind, t->ids_train, t->y_train,
                      t->perm, start, 1.0f / (float)rows, t->class_weight};
  size_t P = t->lay.n_params;
  /* Tiled GEMMs can read the batch's rows through the permutation
   * themselves, which saves the gather pass; CLBlast needs them gathered
   * into xb. A first layer large enough for packed GEMMs runs faster from
   * the gathered, contiguous batch: its tiles then read A in order
   * (784-256-10 at batch 512 on POCL: device time -25%; no difference
   * measurable at batch 32 and 128). */
  bool fuse = fl__gemm_gathers(dev) && !t->lay.l[0].conv &&
              rows * t->d * t->lay.l[0].out < dev->pack_min_volume;
  cl_mem rows_of = fuse ? t->perm : NULL;
  if ((!rows_of && (rc = fl__op_gather_rows(dev, t->xb, t->x_train, t->perm,
                                             start, rows, t->d, err))) ||
      (rc = forward_pass(t, rows_of ? t->x_train : t->xb, 0, rows_of, start,
                         rows, true, err)) ||
      (rc = fl__op_loss_rows(dev, t->act[L - 1], rows, t->k, &la, t->dact[L - 1],
                             t->row_loss, t->row_pred, t->row_correct, err)) ||
      (rc = fl__op_batch_metrics(dev, t->row_loss, t->row_pred, t->row_correct,
                                 rows, t->n_cls, t->step == 0, t->mf, t->mu, err)) ||
      (rc = backward(t, rows_of, start, rows, true, err)) ||
      (rc = regularize(t, t->grads, rows, err)))
    return rc;
  if (sample) {
    if ((rc = fl__op_segment_sumsq(dev, t->grads, NULL, t->seg_off, L,
                                   t->norm_acc, 0, err)))
      return rc;
    FL_CL_CHECK(err, clEnqueueCopyBuffer(dev->queue, t->params, t->prev, 0, 0,
                                         P * sizeof(float), 0, NULL, NULL));
  }
  /* The schedule's step is the update count before this one (Keras). */
  float lr = fl__step_learning_rate(t);
  if ((rc = fl__clip_grads(t, err))) return rc;
  t->step++;
  if ((rc = fl__op_optimizer_step(dev, &t->cfg.optimizer, lr, t->step,
                                  t->params, t->grads, t->m, t->v, P, err)))
    return rc;
  if (sample) {
    /* norm_acc thirds: [0, L) grads, [L, 2L) updates, [2L, 3L) weights. */
    if ((rc = fl__op_segment_sumsq(dev, t->params, t->prev, t->seg_off, L,
                                   t->norm_acc, L, err)) ||
        (rc = fl__op_segment_sumsq(dev, t->params, NULL, t->seg_off, L,
                                   t->norm_acc, 2 * L, err)))
      return rc;
  }
  return 0;
}

/* Read the epoch's accumulators and turn them into metrics. */
static int collect_epoch(fl_trainer *t, int nsamples, fl_epoch_metrics *m,
                         fl_error *err) {
  fl_device *dev = t->dev;
  int L = t->lay.n_layers, rc;
  size_t U = t->lay.n_units;
  float mf[2], acc[3 * FL_MAX_LAYERS];
  if ((rc = fl__buffer_read(dev, t->mf, 0, sizeof mf, mf, err)) ||
      (rc = fl__buffer_read(dev, t->mu, 0, (FL__MU_HIST + t->n_cls) * sizeof(cl_uint),
                            t->mu_host, err)) ||
      (rc = fl__buffer_read(dev, t->unit_active, 0, U * sizeof(cl_uint),
                            t->active_host, err)) ||
      (rc = fl__buffer_read(dev, t->unit_sat, 0, U * sizeof(cl_uint),
                            t->sat_host, err)) ||
      (rc = fl__buffer_read(dev, t->norm_acc, 0, 3 * L * sizeof(float), acc, err)))
    return rc;
  double n = (double)t->n_train;
  m->loss = mf[0] / n;
  m->accuracy = t->mu_host[FL__MU_CORRECT] / n;
  /* mf[1] holds the first batch's loss only in the job's first epoch; the
   * trainer keeps it (and checkpoints carry it) for the later ones. */
  if (t->epoch == 0) t->first_batch_loss = mf[1];
  m->first_batch_loss = t->first_batch_loss;
  m->nonfinite_loss = t->mu_host[FL__MU_NONFINITE] > 0 || !isfinite(m->loss);
  m->n_layers = L;
  for (int l = 0; l < L; l++) {
    const fl__layer_layout *ll = &t->lay.l[l];
    double ns = nsamples > 0 ? nsamples : 1;
    m->grad_norm[l] = sqrt(acc[l] / ns);
    double upd = sqrt(acc[L + l] / ns);
    m->weight_norm[l] = sqrt(acc[2 * L + l] / ns);
    m->update_ratio[l] = m->weight_norm[l] > 0 ? upd / m->weight_norm[l] : 0.0;
    if (!isfinite(m->grad_norm[l])) m->nonfinite_grads = true;
    if (!isfinite(m->weight_norm[l])) m->nonfinite_weights = true;
    fl_activation act = t->layers[l].activation;
    bool fused = l == L - 1 && t->fused_last;
    m->dead_fraction[l] = -1;
    m->saturated_fraction[l] = -1;
    if (fused) continue;
    /* units: a dense layer's units, a conv layer's filters (a filter is
     * dead when no position of any row activates it); saturation counts
     * every output, positions of each filter included */
    if (act == FL_ACT_RELU) {
      size_t dead = 0;
      for (size_t j = 0; j < ll->units; j++) dead += t->active_host[ll->unit_off + j] == 0;
      m->dead_fraction[l] = (double)dead / (double)ll->units;
    } else if (act == FL_ACT_TANH || act == FL_ACT_SIGMOID) {
      double sat = 0;
      for (size_t j = 0; j < ll->units; j++) sat += t->sat_host[ll->unit_off + j];
      m->saturated_fraction[l] =
          sat / (n * (double)ll->units * (double)ll->positions);
    }
  }
  m->n_classes = t->n_cls;
  m->pred_hist = t->mu_host + FL__MU_HIST;
  return 0;
}

/* After step `step` (1-based) of `steps`: call the progress function if
 * progress_every seconds have passed since its last call. Waiting for the
 * queue only then keeps the epoch free of host syncs otherwise. */
static int report_progress(fl_trainer *t, size_t step, size_t steps,
                           fl_error *err) {
  if (now_seconds() - t->progress_last < t->progress_every) return 0;
  FL_CL_CHECK(err, clFinish(t->dev->queue));
  t->progress_last = now_seconds();
  if (t->progress_fn(t->progress_ctx, t->epoch + 1, step, steps) != 0)
    return fl_error_set(err, FL_ECANCELED,
                        "epoch %d cancelled after step %zu of %zu; the "
                        "parameters are mid-epoch: load the last checkpoint "
                        "before training on", t->epoch + 1, step, steps);
  return 0;
}

static int run_epoch(fl_trainer *t, fl_epoch_metrics *m, fl_error *err);

/* With a progress function (the daemon) the host keeps at most two windows
 * of FL__STEP_WINDOW steps queued ahead of the device: without this it
 * would enqueue the whole epoch in a fraction of a second and progress and
 * cancellation would only be seen at the epoch's end. Without a progress
 * function (runner, benchmark) the host never waits inside an epoch. */
#define FL__STEP_WINDOW 8

static int throttle(fl_trainer *t, fl_error *err) {
  cl_event mark;
  FL_CL_CHECK(err, clEnqueueMarkerWithWaitList(t->dev->queue, 0, NULL, &mark));
  cl_event prev = t->window_mark;
  t->window_mark = mark;
  if (!prev) return 0;
  cl_int e = clWaitForEvents(1, &prev);
  clReleaseEvent(prev);
  if (e != CL_SUCCESS) return fl__cl_fail(err, e, "clWaitForEvents", __FILE__, __LINE__);
  return 0;
}

static void drop_window(fl_trainer *t) {
  if (t->window_mark) clReleaseEvent(t->window_mark);
  t->window_mark = NULL;
}

int fl_trainer_run_epoch(fl_trainer *t, fl_epoch_metrics *m, fl_error *err) {
  int rc = run_epoch(t, m, err);
  drop_window(t);
  return rc;
}

static int run_epoch(fl_trainer *t, fl_epoch_metrics *m, fl_error *err) {
  fl_device *dev = t->dev;
  size_t B = (size_t)t->cfg.batch_size, U = t->lay.n_units;
  int rc;
  memset(m, 0, sizeof *m);
  /* Cleared only when the epoch completes: a cancelled or failed epoch
   * leaves a state that no checkpoint should record. */
  t->in_epoch = true;
  double t0 = now_seconds();
  if (t->cfg.shuffle) {
    shuffle(t);
    if ((rc = fl__buffer_write(dev, t->perm, 0, t->n_train * sizeof(cl_uint),
                               t->perm_host, err)))
      return rc;
  }
  if ((rc = zero_metrics(t, err)) ||
      (rc = fl__buffer_zero(dev, t->unit_active, U * sizeof(cl_uint), err)) ||
      (rc = fl__buffer_zero(dev, t->unit_sat, U * sizeof(cl_uint), err)) ||
      (rc = fl__buffer_zero(dev, t->norm_acc, 3 * t->lay.n_layers * sizeof(float), err)))
    return rc;
  size_t steps = (t->n_train + B - 1) / B;
  /* Norms are sampled on about four steps an epoch: enough for the
   * detectors, and each sample costs three extra passes over the
   * parameters. */
  size_t stride = steps / 4 > 0 ? steps / 4 : 1;
  int nsamples = 0;
  for (size_t s = 0; s < steps; s++) {
    size_t start = s * B, rows = t->n_train - start < B ? t->n_train - start : B;
    bool sample = s % stride == 0;
    nsamples += sample;
    if ((rc = train_step(t, start, rows, sample, err))) return rc;
    if (t->progress_fn && (s + 1) % FL__STEP_WINDOW == 0 && (rc = throttle(t, err)))
      return rc;
    if (t->progress_fn && (rc = report_progress(t, s + 1, steps, err)))
      return rc;
  }
  if ((rc = collect_epoch(t, nsamples, m, err))) return rc;
  double t1 = now_seconds();
  if (t->n_val) {
    m->has_val = true;
    if ((rc = evaluate_resident(t, t->x_val, t->ids_val, t->y_val, t->n_val,
                                &m->val_loss, &m->val_accuracy, err)))
      return rc;
  }
  t->epoch++;
  t->in_epoch = false;
  m->epoch = t->epoch;
  m->lr = t->lr_now;
  m->seconds = now_seconds() - t0;
  m->samples_per_s = t1 > t0 ? (double)t->n_train / (t1 - t0) : 0.0;
  return 0;
}

int fl_trainer_evaluate(fl_trainer *t, const fl_dataset *ds, double *loss,
                        double *accuracy, fl_error *err) {
  if (ds->d != t->d)
    return fl_error_set(err, FL_EDATA, "dataset rows have %zu features; the "
                        "model expects %zu", ds->d, t->d);
  if (ds->label_kind != t->label_kind)
    return fl_error_set(err, FL_ELABELS, "dataset labels are encoded "
                        "differently from the training labels");
  int rc = check_labels(ds, t->k, t->n_cls, "evaluation", err);
  if (rc) return rc;
  cl_mem x = NULL, ids = NULL, y = NULL;
  rc = upload_set(t, ds, &x, &ids, &y, err);
  if (!rc) rc = evaluate_resident(t, x, ids, y, ds->n, loss, accuracy, err);
  fl__buffer_release(&x);
  fl__buffer_release(&ids);
  fl__buffer_release(&y);
  return rc;
}

/* The class report: forward passes over the resident set, the output
 * (rows, k) read back per batch (once, at the end of a job). */
int fl_trainer_class_report(fl_trainer *t, int top_k, fl_class_report *out,
                            fl_error *err) {
  memset(out, 0, sizeof *out);
  bool val = t->n_val > 0;
  cl_mem x = val ? t->x_val : t->x_train;
  size_t n = val ? t->n_val : t->n_train, C = t->n_cls, k = t->k;
  size_t B = (size_t)t->cfg.batch_size;
  int L = t->lay.n_layers, rc = 0;
  bool probs_mode = t->loss_mode == FL__LOSS_BCE_PROBS;
  int32_t *ids = NULL;
  float *y = NULL, *o = malloc(B * k * sizeof *o);
  out->confusion = calloc(C * C, sizeof *out->confusion);
  if (t->label_kind == FL_LABELS_IDS) ids = malloc(n * sizeof *ids);
  else y = malloc(n * k * sizeof *y);
  if (!o || !out->confusion || (!ids && !y)) {
    rc = fl_error_set(err, FL_ENOMEM, "out of host memory for the class "
                      "report");
    goto done;
  }
  out->n_classes = C;
  out->on_validation = val;
  out->top_k = top_k > 0 && (size_t)top_k < C ? top_k : 0;
  if ((rc = ids ? fl__buffer_read(t->dev, val ? t->ids_val : t->ids_train, 0,
                                  n * sizeof *ids, ids, err)
                : fl__buffer_read(t->dev, val ? t->y_val : t->y_train, 0,
                                  n * k * sizeof *y, y, err)))
    goto done;
  for (size_t start = 0; start < n; start += B) {
    size_t rows = n - start < B ? n - start : B;
    if ((rc = forward(t, x, start * t->d, NULL, 0, rows, err)) ||
        (rc = fl__buffer_read(t->dev, t->act[L - 1], 0, rows * k * sizeof *o,
                              o, err)))
      goto done;
    for (size_t r = 0; r < rows; r++) {
      const float *row = o + r * k;
      size_t truth = 0, pred = 0, above = 0;
      if (ids) {
        truth = (size_t)ids[start + r];
      } else {
        const float *yr = y + (start + r) * k;
        for (size_t j = 1; j < k; j++)
          if (yr[j] > yr[truth]) truth = j;
        if (k == 1) truth = yr[0] > 0.5f;
      }
      if (C != k) { /* binary_crossentropy's one unit */
        pred = row[0] > (probs_mode ? 0.5f : 0.0f);
      } else {
        for (size_t j = 1; j < k; j++)
          if (row[j] > row[pred]) pred = j;
        for (size_t j = 0; j < k; j++) above += row[j] > row[truth];
      }
      if (truth < C) out->confusion[truth * C + pred]++;
      if (out->top_k && above < (size_t)out->top_k) out->top_k_correct++;
    }
  }
  out->rows = n;
done:
  free(o);
  free(ids);
  free(y);
  if (rc) fl_class_report_free(out);
  return rc;
}

void fl_class_report_free(fl_class_report *r) {
  free(r->confusion);
  r->confusion = NULL;
}

void fl_class_report_scores(const fl_class_report *r, size_t c,
                            double *precision, double *recall, double *f1,
                            uint64_t *support) {
  uint64_t tp = r->confusion[c * r->n_classes + c], predicted = 0, actual = 0;
  for (size_t j = 0; j < r->n_classes; j++) {
    predicted += r->confusion[j * r->n_classes + c];
    actual += r->confusion[c * r->n_classes + j];
  }
  *precision = predicted ? (double)tp / (double)predicted : 0.0;
  *recall = actual ? (double)tp / (double)actual : 0.0;
  *f1 = *precision + *recall > 0
            ? 2 * *precision * *recall / (*precision + *recall) : 0.0;
  *support = actual;
}

int fl_trainer_set_learning_rate(fl_trainer *t, float lr) {
  if (!(lr > 0.0f) || !isfinite(lr)) return FL_EINVAL;
  t->lr = lr;
  return 0;
}

void fl_trainer_set_progress(fl_trainer *t, fl_progress_fn fn, void *ctx,
                             double every_seconds) {
  t->progress_fn = fn;
  t->progress_ctx = ctx;
  t->progress_every = every_seconds > 0 ? every_seconds : 0; /* NaN too */
  t->progress_last = now_seconds();
}

int fl_trainer_epoch(const fl_trainer *t) { return t->epoch; }

/* The model's floats: the trained parameters, then batch normalization's
 * moving statistics (not trained, but part of the model). */
size_t fl_trainer_param_count(const fl_trainer *t) {
  return t->lay.n_params + t->lay.n_stats;
}

int fl_trainer_get_params(fl_trainer *t, float *host, size_t n, fl_error *err) {
  size_t P = t->lay.n_params, S = t->lay.n_stats;
  if (n != P + S)
    return fl_error_set(err, FL_EINVAL, "expected %zu parameters, got room "
                        "for %zu", P + S, n);
  int rc = fl__buffer_read(t->dev, t->params, 0, P * sizeof(float), host, err);
  if (!rc && S)
    rc = fl__buffer_read(t->dev, t->stats, 0, S * sizeof(float), host + P, err);
  return rc;
}

/* ---- using a trained model (flatline predict / evaluate) ---- */

int fl_trainer_set_params(fl_trainer *t, const float *host, size_t n,
                          fl_error *err) {
  size_t P = t->lay.n_params, S = t->lay.n_stats;
  if (n != P + S)
    return fl_error_set(err, FL_EINVAL, "the model has %zu parameters; %zu "
                        "were given", P + S, n);
  int rc = fl__buffer_write(t->dev, t->params, 0, P * sizeof(float), host, err);
  if (!rc && S)
    rc = fl__buffer_write(t->dev, t->stats, 0, S * sizeof(float), host + P, err);
  return rc;
}

int fl_trainer_predict(fl_trainer *t, const fl_dataset *ds, float *probs,
                       fl_error *err) {
  if (ds->d != t->d)
    return fl_error_set(err, FL_EDATA, "dataset rows have %zu features; the "
                        "model expects %zu", ds->d, t->d);
  int L = t->lay.n_layers, rc;
  fl_activation out_act = t->layers[L - 1].activation;
  /* The fused loss leaves logits in the last activation buffer; so does a
   * linear output trained from_logits: both give probabilities by a
   * softmax. Other outputs are what the model computes. */
  bool binary = t->cfg.loss.kind == FL_LOSS_BINARY_CE;
  bool softmax = !binary &&
                 ((out_act == FL_ACT_SOFTMAX && t->fused_last) ||
                  (out_act == FL_ACT_LINEAR && t->cfg.loss.from_logits));
  /* binary_crossentropy: one unit, P(class 1), written as two columns
   * (1 - p, p); a fused sigmoid or a from_logits output leaves the logit */
  bool sigmoid = binary && (t->fused_last || t->cfg.loss.from_logits);
  size_t B = (size_t)t->cfg.batch_size;
  cl_mem x = NULL;
  rc = fl__buffer_create(t->dev, ds->n * ds->d * sizeof(float), ds->x, &x, err);
  for (size_t start = 0; !rc && start < ds->n; start += B) {
    size_t rows = ds->n - start < B ? ds->n - start : B;
    if ((rc = forward(t, x, start * t->d, NULL, 0, rows, err))) break;
    if (softmax && (rc = fl__op_softmax_forward(t->dev, t->act[L - 1], rows,
                                                t->k, err)))
      break;
    float *dst = probs + start * t->n_cls;
    rc = fl__buffer_read(t->dev, t->act[L - 1], 0, rows * t->k * sizeof(float),
                         dst, err);
    /* one column to two, from the last row down (in place) */
    for (size_t i = rows; !rc && binary && i-- > 0;) {
      float p = sigmoid ? 1.0f / (1.0f + expf(-dst[i])) : dst[i];
      dst[2 * i + 1] = p;
      dst[2 * i] = 1.0f - p;
    }
  }
  fl__buffer_release(&x);
  return rc;
}

void fl_trainer_destroy(fl_trainer *t) {
  if (!t) return;
  if (t->dev->queue) clFinish(t->dev->queue);
  cl_mem *bufs[] = {&t->x_train, &t->ids_train, &t->y_train, &t->perm,
                    &t->x_val, &t->ids_val, &t->y_val, &t->params, &t->grads,
                    &t->m, &t->v, &t->prev, &t->seg_off, &t->norm_acc, &t->xb,
                    &t->row_loss, &t->row_pred, &t->row_correct, &t->mf,
                    &t->mu, &t->unit_active, &t->unit_sat, &t->stats,
                    &t->bn_norm};
  for (size_t i = 0; i < sizeof bufs / sizeof *bufs; i++) fl__buffer_release(bufs[i]);
  for (int l = 0; l < FL_MAX_LAYERS; l++) {
    fl__buffer_release(&t->act[l]);
    fl__buffer_release(&t->dact[l]);
    fl__buffer_release(&t->drop[l]);
    fl__buffer_release(&t->bn_in[l]);
  }
  fl__buffer_release(&t->class_weight);
  fl__conv_free(t);
  fl__trainer_extras_free(t);
  free(t->perm_host);
  free(t->mu_host);
  free(t->active_host);
  free(t->sat_host);
  free(t);
}
