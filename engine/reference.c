/* engine/reference.c — the plain-C reference ops (see reference.h), written
 * for clarity, not speed: the tests' source of truth for the kernels. */
#include "reference.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void fl__ref_gemm(int trans_a, int trans_b, size_t m, size_t n, size_t k,
                  float alpha, const float *a, size_t lda, const float *b,
                  size_t ldb, float beta, float *c, size_t ldc) {
  for (size_t i = 0; i < m; i++)
    for (size_t j = 0; j < n; j++) {
      double s = 0;
      for (size_t p = 0; p < k; p++) {
        float av = trans_a ? a[p * lda + i] : a[i * lda + p];
        float bv = trans_b ? b[j * ldb + p] : b[p * ldb + j];
        s += (double)av * bv;
      }
      float prev = beta == 0.0f ? 0.0f : beta * c[i * ldc + j];
      c[i * ldc + j] = (float)(alpha * s) + prev;
    }
}

float fl__ref_act(fl_activation act, float x) {
  switch (act) {
    case FL_ACT_RELU: return x > 0 ? x : 0;
    case FL_ACT_LEAKY_RELU: return x > 0 ? x : FL_LEAKY_RELU_SLOPE * x;
    case FL_ACT_TANH: return tanhf(x);
    case FL_ACT_SIGMOID: return 1.0f / (1.0f + expf(-x));
    default: return x;
  }
}

float fl__ref_act_grad_from_output(fl_activation act, float a) {
  switch (act) {
    case FL_ACT_RELU: return a > 0 ? 1.0f : 0.0f;
    case FL_ACT_LEAKY_RELU: return a > 0 ? 1.0f : FL_LEAKY_RELU_SLOPE;
    case FL_ACT_TANH: return 1.0f - a * a;
    case FL_ACT_SIGMOID: return a * (1.0f - a);
    default: return 1.0f;
  }
}

void fl__ref_bias_act_forward(float *z, const float *b, size_t rows, size_t n,
                              fl_activation act) {
  for (size_t i = 0; i < rows * n; i++) z[i] = fl__ref_act(act, z[i] + b[i % n]);
}

void fl__ref_act_backward(float *da, const float *a, size_t rows, size_t n,
                          fl_activation act) {
  if (act == FL_ACT_SOFTMAX) {
    fl__ref_softmax_backward(da, a, rows, n);
    return;
  }
  for (size_t i = 0; i < rows * n; i++) da[i] *= fl__ref_act_grad_from_output(act, a[i]);
}

void fl__ref_bias_grad(float *db, const float *dz, size_t rows, size_t n) {
  for (size_t j = 0; j < n; j++) {
    float s = 0;
    for (size_t r = 0; r < rows; r++) s += dz[r * n + j];
    db[j] = s;
  }
}

void fl__ref_softmax_forward(float *a, size_t rows, size_t n) {
  for (size_t r = 0; r < rows; r++) {
    float *row = a + r * n, m = row[0], s = 0;
    for (size_t j = 1; j < n; j++) m = fmaxf(m, row[j]);
    for (size_t j = 0; j < n; j++) s += row[j] = expf(row[j] - m);
    for (size_t j = 0; j < n; j++) row[j] /= s;
  }
}

void fl__ref_softmax_backward(float *da, const float *a, size_t rows,
                              size_t n) {
  for (size_t r = 0; r < rows; r++) {
    float *g = da + r * n, dot = 0;
    const float *p = a + r * n;
    for (size_t j = 0; j < n; j++) dot += g[j] * p[j];
    for (size_t j = 0; j < n; j++) g[j] = p[j] * (g[j] - dot);
  }
}

static float target(fl_label_kind kind, const int32_t *ids, const float *y,
                    size_t r, size_t k, size_t j) {
  if (kind == FL_LABELS_IDS) return ids[r] == (int32_t)j ? 1.0f : 0.0f;
  return y[r * k + j];
}

#define CE_EPS 1e-7f

void fl__ref_loss_rows(const float *out, size_t rows, size_t k,
                       fl__loss_mode mode, fl_label_kind label_kind,
                       const int32_t *ids, const float *y,
                       const uint32_t *perm, size_t start, float grad_scale,
                       float *dout, float *row_loss, uint32_t *row_pred,
                       uint32_t *row_correct) {
  fl__ref_loss_rows_weighted(out, rows, k, mode, label_kind, ids, y, perm,
                             start, grad_scale, NULL, dout, row_loss, row_pred,
                             row_correct);
}

void fl__ref_loss_rows_weighted(const float *out, size_t rows, size_t k,
                                fl__loss_mode mode, fl_label_kind label_kind,
                                const int32_t *ids, const float *y,
                                const uint32_t *perm, size_t start,
                                float grad_scale, const float *class_weight,
                                float *dout, float *row_loss,
                                uint32_t *row_pred, uint32_t *row_correct) {
  const float unscaled = grad_scale;
  for (size_t r = 0; r < rows; r++) {
    size_t dr = perm ? perm[start + r] : start + r;
    const float *o = out + r * k;
    float *g = dout + r * k;
    if (mode == FL__LOSS_BCE_LOGITS || mode == FL__LOSS_BCE_PROBS) {
      double t = label_kind == FL_LABELS_IDS ? ids[dr] : y[dr], z = o[0], bl, d;
      uint32_t truth = t > 0.5, bp;
      if (mode == FL__LOSS_BCE_LOGITS) {
        double p = 1.0 / (1.0 + exp(-z));
        bl = -(t * log(p) + (1 - t) * log(1 - p));
        d = p - t;
        bp = z > 0;
      } else {
        double p = z < CE_EPS ? CE_EPS : z > 1 - CE_EPS ? 1 - CE_EPS : z;
        bl = -(t * log(p) + (1 - t) * log(1 - p));
        d = (z > CE_EPS && z < 1 - CE_EPS) ? (p - t) / (p * (1 - p)) : 0;
        bp = z > 0.5;
      }
      float bw = class_weight ? class_weight[truth] : 1.0f;
      g[0] = (float)(d * unscaled * bw);
      row_loss[r] = (float)bl * bw;
      row_pred[r] = bp;
      row_correct[r] = bp == truth;
      continue;
    }
    size_t pred = 0, truth = 0;
    float tbest = -INFINITY;
    for (size_t j = 0; j < k; j++) {
      if (o[j] > o[pred]) pred = j;
      float t = target(label_kind, ids, y, dr, k, j);
      if (t > tbest) tbest = t, truth = j;
    }
    float w = class_weight ? class_weight[truth] : 1.0f;
    grad_scale = unscaled * w;
    double loss = 0;
    if (mode == FL__LOSS_SOFTMAX_CE) {
      double m = o[0], s = 0, sumt = 0;
      for (size_t j = 1; j < k; j++) m = fmax(m, o[j]);
      for (size_t j = 0; j < k; j++) s += exp(o[j] - m);
      double lse = m + log(s);
      for (size_t j = 0; j < k; j++) {
        double t = target(label_kind, ids, y, dr, k, j);
        sumt += t;
        loss -= t * (o[j] - lse);
      }
      for (size_t j = 0; j < k; j++)
        g[j] = (float)((exp(o[j] - lse) * sumt - target(label_kind, ids, y, dr, k, j)) *
                       grad_scale);
    } else if (mode == FL__LOSS_PROBS_CE) {
      double s = 0, dot = 0;
      for (size_t j = 0; j < k; j++) s += o[j];
      double *dp = malloc(k * sizeof *dp);
      for (size_t j = 0; j < k; j++) {
        double t = target(label_kind, ids, y, dr, k, j), p = o[j] / s;
        double q = p < CE_EPS ? CE_EPS : p > 1 - CE_EPS ? 1 - CE_EPS : p;
        loss -= t * log(q);
        dp[j] = (p > CE_EPS && p < 1 - CE_EPS) ? -t / q : 0;
        dot += dp[j] * p;
      }
      for (size_t j = 0; j < k; j++) g[j] = (float)((dp[j] - dot) / s * grad_scale);
      free(dp);
    } else {
      for (size_t j = 0; j < k; j++) {
        double e = o[j] - target(label_kind, ids, y, dr, k, j);
        loss += e * e;
        g[j] = (float)(2 * e / k * grad_scale);
      }
      loss /= k;
    }
    row_loss[r] = (float)loss * w;
    row_pred[r] = (uint32_t)pred;
    row_correct[r] = pred == truth;
  }
}

/* g[from, to) scaled to an L2 norm of at most c: g c / max(||g||, c). */
static void ref_clip_norm(float *g, size_t from, size_t to, float c) {
  double sumsq = 0;
  for (size_t i = from; i < to; i++) sumsq += (double)g[i] * g[i];
  float norm = (float)sqrt(sumsq);
  for (size_t i = from; i < to; i++) g[i] = g[i] * c / fmaxf(norm, c);
}

void fl__ref_clip_grads(const fl_optimizer_spec *opt,
                        const fl__model_layout *lay, float *g) {
  size_t P = lay->n_params;
  if (opt->clipvalue > 0) {
    for (size_t i = 0; i < P; i++) g[i] = fminf(fmaxf(g[i], -opt->clipvalue), opt->clipvalue);
  } else if (opt->clipnorm > 0) {
    for (int l = 0; l < lay->n_layers; l++) {
      const fl__layer_layout *ll = &lay->l[l];
      ref_clip_norm(g, ll->w_off, ll->b_off, opt->clipnorm);
      ref_clip_norm(g, ll->b_off, ll->b_off + ll->out, opt->clipnorm);
      if (ll->gamma_off != FL__NO_OFF)
        ref_clip_norm(g, ll->gamma_off, ll->gamma_off + ll->out, opt->clipnorm);
      if (ll->beta_off != FL__NO_OFF)
        ref_clip_norm(g, ll->beta_off, ll->beta_off + ll->out, opt->clipnorm);
    }
  } else if (opt->global_clipnorm > 0) {
    ref_clip_norm(g, 0, P, opt->global_clipnorm);
  }
}

void fl__ref_optimizer_step(const fl_optimizer_spec *opt, float lr, long step,
                            float *w, const float *g, float *m, float *v,
                            size_t p) {
  double t = (double)step;
  double alpha = lr * sqrt(1.0 - pow(opt->beta_2, t)) / (1.0 - pow(opt->beta_1, t));
  for (size_t i = 0; i < p; i++) {
    switch (opt->kind) {
      case FL_OPT_SGD:
        if (opt->momentum == 0) {
          w[i] -= lr * g[i];
        } else {
          m[i] = opt->momentum * m[i] - lr * g[i];
          w[i] += opt->nesterov ? opt->momentum * m[i] - lr * g[i] : m[i];
        }
        break;
      case FL_OPT_ADAM:
      case FL_OPT_ADAMW:
        if (opt->kind == FL_OPT_ADAMW) w[i] -= lr * opt->weight_decay * w[i];
        m[i] += (g[i] - m[i]) * (1 - opt->beta_1);
        v[i] += (g[i] * g[i] - v[i]) * (1 - opt->beta_2);
        w[i] -= (float)alpha * m[i] / (sqrtf(v[i]) + opt->epsilon);
        break;
      case FL_OPT_RMSPROP: {
        v[i] = opt->rho * v[i] + (1 - opt->rho) * g[i] * g[i];
        float inc = lr * g[i] / sqrtf(v[i] + opt->epsilon);
        if (opt->momentum > 0) {
          m[i] = opt->momentum * m[i] + inc;
          w[i] -= m[i];
        } else {
          w[i] -= inc;
        }
        break;
      }
    }
  }
}

static bool dropout_keep(uint64_t stream, size_t i, float rate) {
  uint32_t threshold = (uint32_t)lrint((double)rate * FL__DROPOUT_ONE);
  return (uint32_t)(fl__mix64(stream + (uint64_t)i) >> 40) >= threshold;
}

void fl__ref_dropout_forward(float *dst, const float *src, size_t rows,
                             size_t n, float rate, uint64_t stream) {
  float scale = 1.0f / (1.0f - rate);
  for (size_t i = 0; i < rows * n; i++)
    dst[i] = dropout_keep(stream, i, rate) ? src[i] * scale : 0.0f;
}

void fl__ref_dropout_backward(float *da, size_t rows, size_t n, float rate,
                              uint64_t stream) {
  float scale = 1.0f / (1.0f - rate);
  for (size_t i = 0; i < rows * n; i++)
    da[i] = dropout_keep(stream, i, rate) ? da[i] * scale : 0.0f;
}

double fl__ref_regularize(const float *w, float *g, size_t count, float l1,
                          float l2) {
  double pen = 0;
  for (size_t i = 0; i < count; i++) {
    pen += (double)l1 * fabs(w[i]) + (double)l2 * w[i] * w[i];
    if (g) g[i] += l1 * (float)((w[i] > 0) - (w[i] < 0)) + 2.0f * l2 * w[i];
  }
  return pen;
}

void fl__ref_bn_stats(const float *x, size_t rows, size_t n, bool training,
                      float momentum, float eps, float *mm, float *mv,
                      float *mean, float *invstd) {
  for (size_t j = 0; j < n; j++) {
    float m, var;
    if (training) {
      float s = 0.0f, q = 0.0f;
      for (size_t r = 0; r < rows; r++) s += x[r * n + j];
      m = s / (float)rows;
      for (size_t r = 0; r < rows; r++) {
        float d = x[r * n + j] - m;
        q += d * d;
      }
      var = q / (float)rows;
      mm[j] = mm[j] * momentum + m * (1.0f - momentum);
      mv[j] = mv[j] * momentum + var * (1.0f - momentum);
    } else {
      m = mm[j];
      var = mv[j];
    }
    mean[j] = m;
    invstd[j] = 1.0f / sqrtf(var + eps);
  }
}

void fl__ref_bn_apply(float *y, const float *x, size_t rows, size_t n,
                      const float *mean, const float *invstd,
                      const float *gamma, const float *beta,
                      fl_activation act) {
  for (size_t i = 0; i < rows * n; i++) {
    size_t j = i % n;
    float xhat = (x[i] - mean[j]) * invstd[j];
    y[i] = fl__ref_act(act, (gamma ? gamma[j] : 1.0f) * xhat +
                                (beta ? beta[j] : 0.0f));
  }
}

void fl__ref_bn_backward(float *dy, const float *x, size_t rows, size_t n,
                         const float *mean, const float *invstd,
                         const float *gamma, float *dgamma, float *dbeta) {
  for (size_t j = 0; j < n; j++) {
    float s1 = 0.0f, s2 = 0.0f;
    for (size_t r = 0; r < rows; r++) {
      float d = dy[r * n + j];
      s1 += d;
      s2 += d * ((x[r * n + j] - mean[j]) * invstd[j]);
    }
    if (dgamma) dgamma[j] = s2;
    if (dbeta) dbeta[j] = s1;
    float nr = (float)rows, k = (gamma ? gamma[j] : 1.0f) * invstd[j] / nr;
    for (size_t r = 0; r < rows; r++) {
      float xhat = (x[r * n + j] - mean[j]) * invstd[j];
      dy[r * n + j] = k * (nr * dy[r * n + j] - s1 - xhat * s2);
    }
  }
}

void fl__ref_gather_rows(float *dst, const float *src, const uint32_t *perm,
                         size_t start, size_t rows, size_t d) {
  for (size_t r = 0; r < rows; r++)
    memcpy(dst + r * d, src + (size_t)perm[start + r] * d, d * sizeof(float));
}

double fl__ref_model_loss(const fl_train_config *cfg, const float *params,
                          const float *x, size_t rows,
                          fl_label_kind label_kind, const int32_t *ids,
                          const float *y, float *grads) {
  return fl__ref_model_loss_train(cfg, params, x, rows, label_kind, ids, y,
                                  false, 0, NULL, grads);
}

double fl__ref_model_loss_train(const fl_train_config *cfg,
                                const float *params, const float *x,
                                size_t rows, fl_label_kind label_kind,
                                const int32_t *ids, const float *y,
                                bool training, long step,
                                const float *class_weight, float *grads) {
  return fl__ref_model_loss_step(cfg, params, x, rows, label_kind, ids, y,
                                 training, step, class_weight, grads, NULL);
}

/* A conv layer's backward pass: dact (rows, out) the gradient at its
 * (pooled) output -> dW, db in grads and, with dx, the gradient at its
 * input (rows, in). pre (rows*positions, units) is the activation before
 * pooling (the output itself without pooling). */
static void conv_backward(const fl_train_config *cfg, const float *params,
                          const fl__layer_layout *l, const fl_layer_spec *ls,
                          size_t rows, const float *col, float *pre,
                          const uint32_t *arg, float *dact, float *dx,
                          float *grads) {
  (void)cfg;
  size_t m = rows * l->positions;
  float *dz = dact, *dpre = NULL;
  if (ls->pool != FL_POOL_NONE) {
    dz = dpre = calloc(m * l->units, sizeof(float));
    fl__ref_pool_backward(dpre, dact, arg, rows, ls->units, ls->pool,
                          &l->shape);
  }
  fl__ref_act_backward(dz, pre, m, l->units, ls->activation);
  fl__ref_bias_grad(grads + l->b_off, dz, m, l->units);
  fl__ref_gemm(1, 0, l->w_rows, l->units, m, 1, col, l->w_rows, dz, l->units,
               0, grads + l->w_off, l->units);
  if (ls->l1 > 0 || ls->l2 > 0)
    fl__ref_regularize(params + l->w_off, grads + l->w_off,
                       l->w_rows * l->units, ls->l1, ls->l2);
  if (dx) {
    float *dcol = malloc(m * l->w_rows * sizeof(float));
    fl__ref_gemm(0, 1, m, l->w_rows, l->units, 1, dz, l->units,
                 params + l->w_off, l->units, 0, dcol, l->w_rows);
    fl__ref_col2im(dx, dcol, rows, ls, &l->shape);
    free(dcol);
  }
  free(dpre);
}

/* gamma or beta of a layer in params, NULL when absent. */
static const float *bn_param(const float *params, size_t off) {
  return off == FL__NO_OFF ? NULL : params + off;
}

double fl__ref_model_loss_step(const fl_train_config *cfg,
                               const float *params, const float *x,
                               size_t rows, fl_label_kind label_kind,
                               const int32_t *ids, const float *y,
                               bool training, long step,
                               const float *class_weight, float *grads,
                               float *new_stats) {
  fl__model_layout lay;
  fl__model_layout_compute(cfg, &lay);
  int L = lay.n_layers;
  bool fused;
  fl__loss_mode mode = fl__pick_loss_mode(cfg, &fused);
  float *act[FL_MAX_LAYERS], *dact[FL_MAX_LAYERS];
  float *drop[FL_MAX_LAYERS] = {0}; /* (rows, out) act after dropout */
  /* batch normalization: bnx (rows, out) what is normalized, norm (2 out)
   * the mean and invstd in use; stats (S) the moving statistics */
  float *bnx[FL_MAX_LAYERS] = {0}, *norm[FL_MAX_LAYERS] = {0};
  /* conv layers: col (rows*positions, w_rows) patches, pre (rows *
   * positions, units) the activation before pooling, arg max pooling's
   * argmax (rows, out) */
  float *col[FL_MAX_LAYERS] = {0}, *pre[FL_MAX_LAYERS] = {0};
  uint32_t *arg[FL_MAX_LAYERS] = {0};
  float *stats = malloc((lay.n_stats ? lay.n_stats : 1) * sizeof(float));
  memcpy(stats, params + lay.n_params, lay.n_stats * sizeof(float));
  const float *in = x;
  for (int i = 0; i < L; i++) {
    const fl__layer_layout *l = &lay.l[i];
    act[i] = calloc(rows * l->out, sizeof(float));
    dact[i] = calloc(rows * l->out, sizeof(float));
    fl_activation a = cfg->layers[i].activation;
    const fl_layer_spec *ls = &cfg->layers[i];
    if (l->conv) {
      size_t m = rows * l->positions;
      col[i] = malloc(m * l->w_rows * sizeof(float));
      pre[i] = calloc(m * l->units, sizeof(float));
      arg[i] = calloc(rows * l->out, sizeof(uint32_t));
      fl__ref_im2col(col[i], in, rows, ls, &l->shape);
      fl__ref_gemm(0, 0, m, l->units, l->w_rows, 1, col[i], l->w_rows,
                   params + l->w_off, l->units, 0, pre[i], l->units);
      fl__ref_bias_act_forward(pre[i], params + l->b_off, m, l->units, a);
      if (ls->pool != FL_POOL_NONE)
        fl__ref_pool_forward(act[i], pre[i], arg[i], rows, ls->units,
                             ls->pool, &l->shape);
      else
        memcpy(act[i], pre[i], m * l->units * sizeof(float));
      goto next_layer;
    }
    fl__ref_gemm(0, 0, rows, l->out, l->in, 1, in, l->in, params + l->w_off,
                 l->out, 0, act[i], l->out);
    /* a fused output (softmax or sigmoid folded into the loss) stays a
     * logit */
    fl__ref_bias_act_forward(act[i], params + l->b_off, rows, l->out,
                             a == FL_ACT_SOFTMAX || (i == L - 1 && fused) ||
                                     (ls->bn && ls->bn_before_act)
                                 ? FL_ACT_LINEAR : a);
    if (ls->bn) {
      bnx[i] = act[i];
      act[i] = calloc(rows * l->out, sizeof(float));
      norm[i] = calloc(2 * l->out, sizeof(float));
      float *mm = stats + l->stat_off, *mv = mm + l->out;
      fl__ref_bn_stats(bnx[i], rows, l->out, training, ls->bn_momentum,
                       ls->bn_epsilon, mm, mv, norm[i], norm[i] + l->out);
      fl__ref_bn_apply(act[i], bnx[i], rows, l->out, norm[i],
                       norm[i] + l->out, bn_param(params, l->gamma_off),
                       bn_param(params, l->beta_off),
                       ls->bn_before_act ? a : FL_ACT_LINEAR);
    }
    if (a == FL_ACT_SOFTMAX && !(i == L - 1 && fused))
      fl__ref_softmax_forward(act[i], rows, l->out);
  next_layer:
    in = act[i];
    float rate = cfg->layers[i].dropout;
    if (training && rate > 0) {
      drop[i] = calloc(rows * l->out, sizeof(float));
      fl__ref_dropout_forward(drop[i], act[i], rows, l->out, rate,
                              fl__dropout_stream(cfg->seed, step, i));
      in = drop[i];
    }
  }
  size_t k = lay.l[L - 1].out;
  float *row_loss = calloc(rows, sizeof(float));
  uint32_t *pred = calloc(rows, sizeof(uint32_t)), *corr = calloc(rows, sizeof(uint32_t));
  fl__ref_loss_rows_weighted(act[L - 1], rows, k, mode, label_kind, ids, y,
                             NULL, 0, 1.0f / rows, class_weight, dact[L - 1],
                             row_loss, pred, corr);
  double loss = 0;
  for (size_t r = 0; r < rows; r++) loss += row_loss[r];
  loss /= rows;
  for (int i = 0; i < L; i++)
    if (cfg->layers[i].l1 > 0 || cfg->layers[i].l2 > 0)
      loss += fl__ref_regularize(params + lay.l[i].w_off, NULL,
                                 lay.l[i].w_rows * lay.l[i].units,
                                 cfg->layers[i].l1,
                                 cfg->layers[i].l2);
  if (grads) {
    for (int i = L - 1; i >= 0; i--) {
      const fl__layer_layout *l = &lay.l[i];
      const fl_layer_spec *ls = &cfg->layers[i];
      fl_activation a = ls->activation;
      float *dg = l->gamma_off == FL__NO_OFF ? NULL : grads + l->gamma_off;
      float *db = l->beta_off == FL__NO_OFF ? NULL : grads + l->beta_off;
      if (l->conv) {
        conv_backward(cfg, params, l, ls, rows, col[i], pre[i], arg[i],
                      dact[i], i > 0 ? dact[i - 1] : NULL, grads);
        if (i > 0 && drop[i - 1])
          fl__ref_dropout_backward(dact[i - 1], rows, l->in,
                                   cfg->layers[i - 1].dropout,
                                   fl__dropout_stream(cfg->seed, step, i - 1));
        continue;
      }
      if (ls->bn && ls->bn_before_act) { /* act(BN(z)) */
        fl__ref_act_backward(dact[i], act[i], rows, l->out, a);
        fl__ref_bn_backward(dact[i], bnx[i], rows, l->out, norm[i],
                            norm[i] + l->out, bn_param(params, l->gamma_off),
                            dg, db);
      } else if (ls->bn) { /* BN(act(z)): act' from act's output, bnx */
        fl__ref_bn_backward(dact[i], bnx[i], rows, l->out, norm[i],
                            norm[i] + l->out, bn_param(params, l->gamma_off),
                            dg, db);
        fl__ref_act_backward(dact[i], bnx[i], rows, l->out, a);
      } else if (!(i == L - 1 && fused)) {
        fl__ref_act_backward(dact[i], act[i], rows, l->out, a);
      }
      fl__ref_bias_grad(grads + l->b_off, dact[i], rows, l->out);
      const float *inp = i == 0 ? x : drop[i - 1] ? drop[i - 1] : act[i - 1];
      fl__ref_gemm(1, 0, l->in, l->out, rows, 1, inp, l->in, dact[i], l->out, 0,
                   grads + l->w_off, l->out);
      if (cfg->layers[i].l1 > 0 || cfg->layers[i].l2 > 0)
        fl__ref_regularize(params + l->w_off, grads + l->w_off, l->in * l->out,
                           cfg->layers[i].l1, cfg->layers[i].l2);
      if (i > 0) {
        fl__ref_gemm(0, 1, rows, l->in, l->out, 1, dact[i], l->out,
                     params + l->w_off, l->out, 0, dact[i - 1], l->in);
        if (drop[i - 1])
          fl__ref_dropout_backward(dact[i - 1], rows, l->in,
                                   cfg->layers[i - 1].dropout,
                                   fl__dropout_stream(cfg->seed, step, i - 1));
      }
    }
  }
  if (training && new_stats)
    memcpy(new_stats, stats, lay.n_stats * sizeof(float));
  free(stats);
  for (int i = 0; i < L; i++) free(act[i]), free(dact[i]), free(drop[i]);
  for (int i = 0; i < L; i++) free(bnx[i]), free(norm[i]);
  for (int i = 0; i < L; i++) free(col[i]), free(pre[i]), free(arg[i]);
  free(row_loss);
  free(pred);
  free(corr);
  return loss;
}
