/* engine/model.c — the flat parameter layout of a model (dense and conv2d
 * layers), how its loss is computed (loss mode), and the device-memory
 * estimate of a job. */
#include <string.h>

#include "engine_internal.h"

int fl__model_check_shapes(const fl_train_config *cfg, fl_error *err) {
  fl_layer_shape shapes[FL_MAX_LAYERS];
  bool known;
  int rc = fl_model_shapes(cfg->layers, cfg->n_layers, cfg->input_dim, shapes,
                           &known, err);
  if (rc) err->code = rc = FL_EINVAL;
  return rc;
}

void fl__model_layout_compute(const fl_train_config *cfg,
                              fl__model_layout *lay) {
  size_t in = cfg->input_dim, off = 0, units = 0, stats = 0, acts = 0;
  /* Shapes that do not fit leave zeros here; fl_trainer_create refuses
   * them first (fl__model_check_shapes), so only the estimate sees them. */
  fl_layer_shape shapes[FL_MAX_LAYERS];
  bool known;
  fl_error ignored = {0};
  if (fl_model_shapes(cfg->layers, cfg->n_layers, cfg->input_dim, shapes,
                      &known, &ignored))
    memset(shapes, 0, sizeof shapes);
  lay->n_layers = cfg->n_layers;
  for (int i = 0; i < cfg->n_layers; i++) {
    fl__layer_layout *l = &lay->l[i];
    const fl_layer_spec *ls = &cfg->layers[i];
    l->conv = ls->kind == FL_LAYER_CONV2D;
    l->shape = shapes[i];
    l->units = (size_t)ls->units;
    if (l->conv) {
      const fl_layer_shape *g = &shapes[i];
      l->in = g->flat_in;
      l->out = g->flat_out;
      l->w_rows = (size_t)ls->kernel_size[0] * (size_t)ls->kernel_size[1] *
                  (size_t)g->c;
      l->positions = (size_t)g->oh * (size_t)g->ow;
    } else {
      l->in = in;
      l->out = l->units;
      l->w_rows = in;
      l->positions = 1;
    }
    l->w_off = off;
    l->b_off = off + l->w_rows * l->units;
    l->unit_off = units;
    off = l->b_off + l->units;
    l->gamma_off = l->beta_off = l->stat_off = FL__NO_OFF;
    if (ls->bn) {
      if (ls->bn_scale) l->gamma_off = off, off += l->out;
      if (ls->bn_center) l->beta_off = off, off += l->out;
      l->stat_off = stats;
      stats += 2 * l->out;
    }
    units += l->units;
    acts += l->out;
    in = l->out;
  }
  lay->n_params = off;
  lay->n_stats = stats;
  lay->n_units = units;
  lay->n_act = acts;
}

uint64_t fl_train_memory_estimate(const fl_train_config *cfg, size_t n_train,
                                  size_t n_val) {
  fl__model_layout lay;
  fl__model_layout_compute(cfg, &lay);
  uint64_t k = (uint64_t)cfg->layers[cfg->n_layers - 1].units;
  uint64_t b = (uint64_t)cfg->batch_size, d = cfg->input_dim;
  /* Labels are costed as dense (the larger form) to stay an upper bound. */
  uint64_t floats = (uint64_t)(n_train + n_val) * (d + k);
  floats += n_train;                         /* permutation */
  floats += (uint64_t)lay.n_params * 5;      /* params, grads, m, v, prev */
  floats += lay.n_params;                    /* kept (best epoch's) params,
                                                when a callback keeps them */
  floats += b * d;                           /* gathered batch */
  floats += 3 * b * (uint64_t)lay.n_act;     /* activations, their grads,
                                                dropout outputs (at most) */
  floats += k;                               /* class weights */
  floats += 3 * b + 2 * (k + 8);             /* per-row results, metrics */
  floats += 2 * (uint64_t)lay.n_units + 4 * FL_MAX_LAYERS;
  /* Batch normalization: each normalized layer's input (B, out) kept for
   * the backward pass, the moving statistics, the batch's mean and 1/std,
   * and the kept copy of the statistics. */
  for (int i = 0; i < lay.n_layers; i++)
    if (lay.l[i].stat_off != FL__NO_OFF) floats += b * (uint64_t)lay.l[i].out;
  floats += 3 * (uint64_t)lay.n_stats;
  /* Conv layers: the im2col patches kept for dW (B*positions, w_rows),
   * the activation before pooling and its gradient (B*positions, units
   * each), max pooling's argmax (B*out), and one shared dcol as large as
   * the largest patches above the first layer. The patches are the big
   * item: 128 images of a 3x3 conv of 32 channels on 11x11 are 17.8 MiB. */
  uint64_t dcol = 0;
  for (int i = 0; i < lay.n_layers; i++) {
    const fl__layer_layout *l = &lay.l[i];
    if (!l->conv) continue;
    uint64_t patches = b * l->positions * l->w_rows;
    floats += patches + 2 * b * l->positions * l->units + b * l->out;
    if (i > 0 && patches > dcol) dcol = patches;
  }
  floats += dcol;
  /* CLBlast's indirect GEMM copies its three operands into buffers padded
   * to its tile sizes: allow for the padded A, B and C of the largest GEMM
   * of any one layer: X (B*positions, w_rows), W (w_rows, units), Y
   * (B*positions, units) (the backward GEMMs use the same three shapes).
   * Per layer, not the tallest operand of one layer times the widest of
   * another: a CNN's conv rows (B*784) times its dense layer's flattened
   * width (100352) came to 120 GB at batch 128. */
  uint64_t padded = (b + 64) * (d + 64);
  for (int i = 0; i < lay.n_layers; i++) {
    uint64_t rows = b * lay.l[i].positions + 64, in = lay.l[i].w_rows + 64,
             out = (uint64_t)lay.l[i].units + 64;
    uint64_t gemm = rows * in + in * out + rows * out;
    if (gemm > padded) padded = gemm;
  }
  floats += padded;
  /* The tiled GEMMs (CPU devices) copy B into 16-column panels for large
   * products (ops.c): one buffer, as large as the largest B — W (in, out),
   * dZ (B, out) or W^T (out, in) — padded to whole panels. */
  uint64_t pack = 0;
  for (int i = 0; i < lay.n_layers; i++) {
    uint64_t in = lay.l[i].w_rows, out = lay.l[i].units;
    uint64_t rows = b * lay.l[i].positions;
    uint64_t c[3] = {in * ((out + 15) / 16 * 16),
                     rows * ((out + 15) / 16 * 16),
                     out * ((in + 15) / 16 * 16)};
    for (int j = 0; j < 3; j++)
      if (c[j] > pack) pack = c[j];
  }
  floats += pack;
  return floats * sizeof(float);
}

fl__loss_mode fl__pick_loss_mode(const fl_train_config *cfg, bool *fused_last) {
  fl_activation last = cfg->layers[cfg->n_layers - 1].activation;
  *fused_last = false;
  if (cfg->loss.kind == FL_LOSS_MSE) return FL__LOSS_MSE;
  if (cfg->loss.kind == FL_LOSS_BINARY_CE) {
    if (cfg->loss.from_logits) return FL__LOSS_BCE_LOGITS;
    if (last == FL_ACT_SIGMOID) {
      *fused_last = true; /* sigmoid + BCE from the logit, as TF does */
      return FL__LOSS_BCE_LOGITS;
    }
    return FL__LOSS_BCE_PROBS;
  }
  if (cfg->loss.from_logits) return FL__LOSS_SOFTMAX_CE;
  if (last == FL_ACT_SOFTMAX) {
    *fused_last = true; /* softmax + CE computed from the logits, as TF does */
    return FL__LOSS_SOFTMAX_CE;
  }
  return FL__LOSS_PROBS_CE;
}
