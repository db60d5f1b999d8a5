/* kernels/loss.cl — per-row loss and its gradient, fused, plus the per-batch
 * reduction of the metrics that the host reads once per epoch.
 *
 * loss_rows: one work-item per batch row r < rows.
 *   out   (rows, k)  the model's output: logits for FL_LOSS_SOFTMAX_CE, the
 *                    activation output otherwise
 *   label row of batch row r: perm[start + r] when use_perm, else start + r
 *   ids   (n)        class ids, or y (n, k) dense targets (label_kind)
 *   dout  (rows, k)  dLoss/dout, already multiplied by grad_scale (1/rows)
 *   row_loss, row_pred (argmax of out), row_correct (rows)
 * FL_LOSS_SOFTMAX_CE: loss = -sum_j t_j log softmax(out)_j,
 *                     dout = softmax(out) * sum(t) - t   (llm.c's p - onehot)
 * FL_LOSS_PROBS_CE:   Keras' from_logits=False on a non-softmax output:
 *                     p = out / sum(out), q = clip(p, eps, 1-eps),
 *                     loss = -sum t log q; the clip passes no gradient.
 * FL_LOSS_MSE:        loss = mean_j (out_j - t_j)^2.
 * FL_LOSS_BCE_LOGITS: k = 1, z = out, t = the label (class id 0/1, or a
 *                     one-column target): loss = max(z,0) - z t +
 *                     log(1 + exp(-|z|)) (TF's stable form), dout = sigmoid(z)
 *                     - t; class 1 predicted when z > 0 (p > 0.5, Keras'
 *                     binary accuracy), the true class is t > 0.5.
 * FL_LOSS_BCE_PROBS:  k = 1, p = clip(out, eps, 1-eps): loss = -(t log p +
 *                     (1-t) log(1-p)); the clip passes no gradient.
 * With use_cw, row r's loss and dout are multiplied by cw[truth] (cw (k):
 *   class_weight; truth = the label's class, the first argmax of a dense
 *   label row, as Keras takes it), the per-row reduction Keras applies to
 *   sample weights ("sum_over_batch_size": the sum is still divided by the
 *   rows, not by the weights).
 *
 * batch_metrics: a single work-item adds the batch's rows into the epoch
 *   accumulators: mf[0] += loss sum, mf[1] = batch mean loss if first,
 *   mu[0] += correct, mu[1] += rows, mu[2] += 1 if the batch loss is not
 *   finite, mu[4 + pred] += 1 (predicted-class histogram of k classes).
 * batch_metrics_wg: the same for GPUs, where one work-item walking 512 rows
 *   took ~70 us: one work-group of FL_BM_WG items, each summing every
 *   FL_BM_WG-th row, then a tree in local memory in a fixed order (results
 *   repeat exactly); the histogram counts with integer atomics, whose
 *   order does not matter. FL_BM_WG comes from the host as a build option. */
#define FL_MU_CORRECT 0
#define FL_MU_ROWS 1
#define FL_MU_NONFINITE 2
#define FL_MU_HIST 4

__kernel void loss_rows(__global const float *out, uint rows, uint k, int mode,
                        int label_kind, __global const int *ids,
                        __global const float *y, __global const uint *perm,
                        int use_perm, uint start, float grad_scale,
                        __global float *dout, __global float *row_loss,
                        __global uint *row_pred, __global uint *row_correct,
                        __global const float *cw, int use_cw) {
  uint r = get_global_id(0);
  if (r >= rows) return;
  uint dr = use_perm ? perm[start + r] : start + r;
  __global const float *o = out + (size_t)r * k;
  __global float *g = dout + (size_t)r * k;
  if (mode == FL_LOSS_BCE_LOGITS || mode == FL_LOSS_BCE_PROBS) {
    float t = label_kind == FL_LABELS_IDS ? (float)ids[dr] : y[dr];
    float z = o[0], bl, d;
    uint truth = t > 0.5f, bp;
    if (mode == FL_LOSS_BCE_LOGITS) {
      bl = fmax(z, 0.0f) - z * t + log1p(exp(-fabs(z)));
      d = 1.0f / (1.0f + exp(-z)) - t;
      bp = z > 0.0f;
    } else {
      float p = clamp(z, FL_CE_EPSILON, 1.0f - FL_CE_EPSILON);
      bl = -(t * log(p) + (1.0f - t) * log(1.0f - p));
      d = (z > FL_CE_EPSILON && z < 1.0f - FL_CE_EPSILON)
              ? (p - t) / (p * (1.0f - p)) : 0.0f;
      bp = z > 0.5f;
    }
    float bw = use_cw ? cw[truth] : 1.0f;
    g[0] = d * grad_scale * bw;
    row_loss[r] = use_cw ? bw * bl : bl;
    row_pred[r] = bp;
    row_correct[r] = bp == truth;
    return;
  }

  uint pred = 0, truth = 0;
  float best = o[0], tbest = -INFINITY;
  for (uint j = 0; j < k; j++) {
    if (o[j] > best) { best = o[j]; pred = j; }
    float t = fl_target(label_kind, ids, y, dr, k, j);
    if (t > tbest) { tbest = t; truth = j; }
  }
  float w = use_cw ? cw[truth] : 1.0f;
  grad_scale *= w;

  float loss = 0.0f;
  if (mode == FL_LOSS_SOFTMAX_CE) {
    float m = o[0];
    for (uint j = 1; j < k; j++) m = fmax(m, o[j]);
    float s = 0.0f;
    for (uint j = 0; j < k; j++) s += exp(o[j] - m);
    float lse = m + log(s);
    float sumt = 0.0f;
    for (uint j = 0; j < k; j++) {
      float t = fl_target(label_kind, ids, y, dr, k, j);
      sumt += t;
      if (t != 0.0f) loss -= t * (o[j] - lse);
    }
    for (uint j = 0; j < k; j++) {
      float t = fl_target(label_kind, ids, y, dr, k, j);
      g[j] = (exp(o[j] - lse) * sumt - t) * grad_scale;
    }
  } else if (mode == FL_LOSS_PROBS_CE) {
    float s = 0.0f;
    for (uint j = 0; j < k; j++) s += o[j];
    /* dp_j = -t_j / q_j inside the clip range, 0 outside; then through the
     * normalization: dout_j = (dp_j - sum_i dp_i p_i) / s. */
    float dot = 0.0f;
    for (uint j = 0; j < k; j++) {
      float t = fl_target(label_kind, ids, y, dr, k, j);
      float p = o[j] / s;
      float q = clamp(p, FL_CE_EPSILON, 1.0f - FL_CE_EPSILON);
      if (t != 0.0f) loss -= t * log(q);
      float dp = (p > FL_CE_EPSILON && p < 1.0f - FL_CE_EPSILON) ? -t / q : 0.0f;
      dot += dp * p;
    }
    for (uint j = 0; j < k; j++) {
      float t = fl_target(label_kind, ids, y, dr, k, j);
      float p = o[j] / s;
      float q = clamp(p, FL_CE_EPSILON, 1.0f - FL_CE_EPSILON);
      float dp = (p > FL_CE_EPSILON && p < 1.0f - FL_CE_EPSILON) ? -t / q : 0.0f;
      g[j] = (dp - dot) / s * grad_scale;
    }
  } else { /* FL_LOSS_MSE */
    for (uint j = 0; j < k; j++) {
      float e = o[j] - fl_target(label_kind, ids, y, dr, k, j);
      loss += e * e;
      g[j] = 2.0f * e / (float)k * grad_scale;
    }
    loss /= (float)k;
  }
  row_loss[r] = use_cw ? w * loss : loss;
  row_pred[r] = pred;
  row_correct[r] = pred == truth;
}

/* A batch's loss sum s and correct count c into the epoch accumulators. */
inline void fl_add_batch(float s, uint c, uint rows, int first,
                         __global float *mf, __global uint *mu) {
  mf[0] += s;
  if (first) mf[1] = s / (float)rows;
  mu[FL_MU_CORRECT] += c;
  mu[FL_MU_ROWS] += rows;
  if (!isfinite(s)) mu[FL_MU_NONFINITE] += 1;
}

__kernel void batch_metrics(__global const float *row_loss,
                            __global const uint *row_pred,
                            __global const uint *row_correct, uint rows,
                            uint k, int first, __global float *mf,
                            __global uint *mu) {
  if (get_global_id(0) != 0) return;
  float s = 0.0f;
  uint c = 0;
  for (uint r = 0; r < rows; r++) {
    s += row_loss[r];
    c += row_correct[r];
    if (row_pred[r] < k) mu[FL_MU_HIST + row_pred[r]] += 1;
  }
  fl_add_batch(s, c, rows, first, mf, mu);
}

__kernel __attribute__((reqd_work_group_size(FL_BM_WG, 1, 1)))
void batch_metrics_wg(__global const float *row_loss,
                      __global const uint *row_pred,
                      __global const uint *row_correct, uint rows, uint k,
                      int first, __global float *mf, __global uint *mu) {
  __local float ls[FL_BM_WG];
  __local uint lc[FL_BM_WG];
  uint t = get_local_id(0);
  float s = 0.0f;
  uint c = 0;
  for (uint r = t; r < rows; r += FL_BM_WG) {
    s += row_loss[r];
    c += row_correct[r];
    if (row_pred[r] < k) atomic_inc(&mu[FL_MU_HIST + row_pred[r]]);
  }
  ls[t] = s;
  lc[t] = c;
  barrier(CLK_LOCAL_MEM_FENCE);
  for (uint w = FL_BM_WG / 2; w > 0; w /= 2) { /* "half" is a type here */
    if (t < w) {
      ls[t] += ls[t + w];
      lc[t] += lc[t + w];
    }
    barrier(CLK_LOCAL_MEM_FENCE);
  }
  if (t != 0) return;
  fl_add_batch(ls[0], lc[0], rows, first, mf, mu);
}
