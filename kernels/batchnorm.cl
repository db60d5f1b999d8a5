/* kernels/batchnorm.cl — batch normalization (Keras' BatchNormalization)
 * of a dense layer's units, over the rows of a batch.
 *
 * x (rows, n) is what is normalized: the layer's x W + b (normalization
 * before the activation) or its activation output. Per unit j:
 *   xhat = (x - mean_j) * invstd_j,   invstd_j = 1 / sqrt(var_j + eps)
 *   y    = act(gamma_j * xhat + beta_j)
 * gamma and beta live in the flat parameter buffer (at gamma_off, beta_off;
 * has_gamma / has_beta 0: Keras' scale=False / center=False, gamma 1, beta
 * 0). The moving statistics stats (moving_mean (n) at stat_off, then
 * moving_variance (n)) are a buffer of their own; norm holds the mean and
 * invstd in use (mean (n) at stat_off, invstd (n) after it), the same
 * offsets in a buffer of the same size.
 *
 * bn_stats: one work-item per unit, rows in order (the sums repeat exactly
 *   run to run). training: mean and biased variance (two passes, as
 *   tf.nn.moments) into norm, and
 *     moving = moving * momentum + batch * (1 - momentum)
 *   for both statistics (Keras 3; the variance is the biased one);
 *   otherwise (inference) norm from the moving statistics.
 * bn_apply: one work-item per element, y (rows, n) from x with norm.
 * bn_backward: one work-item per unit, dy (rows, n) -> dx in place:
 *   dgamma = sum dy xhat,  dbeta = sum dy  (into g at gamma_off, beta_off)
 *   dx = gamma invstd / rows * (rows dy - sum dy - xhat sum dy xhat)
 * dy here is the gradient at the normalization's output before the
 * activation (the caller applies act' first for normalization before the
 * activation). */

__kernel void bn_stats(__global const float *x, uint rows, uint n,
                       int training, float momentum, float eps,
                       __global float *stats, uint stat_off,
                       __global float *norm) {
  uint j = get_global_id(0);
  if (j >= n) return;
  float mean, var;
  if (training) {
    float s = 0.0f;
    for (uint r = 0; r < rows; r++) s += x[(size_t)r * n + j];
    mean = s / (float)rows;
    float q = 0.0f;
    for (uint r = 0; r < rows; r++) {
      float d = x[(size_t)r * n + j] - mean;
      q += d * d;
    }
    var = q / (float)rows;
    __global float *mm = stats + stat_off + j, *mv = mm + n;
    *mm = *mm * momentum + mean * (1.0f - momentum);
    *mv = *mv * momentum + var * (1.0f - momentum);
  } else {
    mean = stats[stat_off + j];
    var = stats[stat_off + n + j];
  }
  norm[stat_off + j] = mean;
  norm[stat_off + n + j] = 1.0f / sqrt(var + eps);
}

__kernel void bn_apply(__global float *y, __global const float *x, uint rows,
                       uint n, __global const float *norm, uint stat_off,
                       __global const float *params, int has_gamma,
                       uint gamma_off, int has_beta, uint beta_off, int act) {
  size_t i = get_global_id(0);
  if (i >= (size_t)rows * n) return;
  uint j = (uint)(i % n);
  float xhat = (x[i] - norm[stat_off + j]) * norm[stat_off + n + j];
  float g = has_gamma ? params[gamma_off + j] : 1.0f;
  float b = has_beta ? params[beta_off + j] : 0.0f;
  y[i] = fl_act(act, g * xhat + b);
}

__kernel void bn_backward(__global float *dy, __global const float *x,
                          uint rows, uint n, __global const float *norm,
                          uint stat_off, __global const float *params,
                          int has_gamma, uint gamma_off, int has_beta,
                          uint beta_off, __global float *g) {
  uint j = get_global_id(0);
  if (j >= n) return;
  float mean = norm[stat_off + j], invstd = norm[stat_off + n + j];
  float sum_dy = 0.0f, sum_dy_xhat = 0.0f;
  for (uint r = 0; r < rows; r++) {
    size_t i = (size_t)r * n + j;
    float d = dy[i];
    sum_dy += d;
    sum_dy_xhat += d * ((x[i] - mean) * invstd);
  }
  if (has_gamma) g[gamma_off + j] = sum_dy_xhat;
  if (has_beta) g[beta_off + j] = sum_dy;
  float gamma = has_gamma ? params[gamma_off + j] : 1.0f;
  float nr = (float)rows, k = gamma * invstd / nr;
  for (uint r = 0; r < rows; r++) {
    size_t i = (size_t)r * n + j;
    float xhat = (x[i] - mean) * invstd;
    dy[i] = k * (nr * dy[i] - sum_dy - xhat * sum_dy_xhat);
  }
}
