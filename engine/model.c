/* engine/model.c — the flat parameter layout of a dense model, how its loss
 * is computed (loss mode), and the device-memory estimate of a job. */
#include "engine_internal.h"

void fl__model_layout_compute(const fl_train_config *cfg,
                              fl__model_layout *lay) {
  size_t in = cfg->input_dim, off = 0, units = 0, stats = 0;
  lay->n_layers = cfg->n_layers;
  for (int i = 0; i < cfg->n_layers; i++) {
    fl__layer_layout *l = &lay->l[i];
    l->in = in;
    l->out = (size_t)cfg->layers[i].units;
    l->w_off = off;
    l->b_off = off + l->in * l->out;
    l->unit_off = units;
    off = l->b_off + l->out;
    const fl_layer_spec *ls = &cfg->layers[i];
    l->gamma_off = l->beta_off = l->stat_off = FL__NO_OFF;
    if (ls->bn) {
      if (ls->bn_scale) l->gamma_off = off, off += l->out;
      if (ls->bn_center) l->beta_off = off, off += l->out;
      l->stat_off = stats;
      stats += 2 * l->out;
    }
    units += l->out;
    in = l->out;
  }
  lay->n_params = off;
  lay->n_stats = stats;
  lay->n_units = units;
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
  floats += 3 * b * (uint64_t)lay.n_units;   /* activations, their grads,
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
  /* CLBlast pads GEMM operands to its tile sizes in temporary buffers:
   * allow for one padded copy of the largest operands. */
  uint64_t widest = d;
  for (int i = 0; i < lay.n_layers; i++)
    if (lay.l[i].out > widest) widest = lay.l[i].out;
  floats += 3 * (b + 64) * (widest + 64);
  /* The tiled GEMMs (CPU devices) copy B into 16-column panels for large
   * products (ops.c): one buffer, as large as the largest B — W (in, out),
   * dZ (B, out) or W^T (out, in) — padded to whole panels. */
  uint64_t pack = 0;
  for (int i = 0; i < lay.n_layers; i++) {
    uint64_t in = lay.l[i].in, out = lay.l[i].out;
    uint64_t c[3] = {in * ((out + 15) / 16 * 16), b * ((out + 15) / 16 * 16),
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
