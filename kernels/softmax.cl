/* kernels/softmax.cl — row-wise softmax for a softmax output layer that is
 * NOT fused into the loss (e.g. softmax followed by mean_squared_error, or
 * by a from_logits cross-entropy). One work-item per row.
 *
 * softmax_forward: a (rows, n) <- softmax(a) per row, in place.
 * softmax_backward: da (rows, n) <- a * (da - sum_j da_j a_j), in place,
 *   where a is the softmax output. */
__kernel void softmax_forward(__global float *a, uint rows, uint n) {
  uint r = get_global_id(0);
  if (r >= rows) return;
  __global float *row = a + (size_t)r * n;
  float m = row[0];
  for (uint j = 1; j < n; j++) m = fmax(m, row[j]);
  float s = 0.0f;
  for (uint j = 0; j < n; j++) {
    row[j] = exp(row[j] - m);
    s += row[j];
  }
  for (uint j = 0; j < n; j++) row[j] /= s;
}

__kernel void softmax_backward(__global float *da, __global const float *a,
                               uint rows, uint n) {
  uint r = get_global_id(0);
  if (r >= rows) return;
  __global float *g = da + (size_t)r * n;
  __global const float *p = a + (size_t)r * n;
  float dot = 0.0f;
  for (uint j = 0; j < n; j++) dot += g[j] * p[j];
  for (uint j = 0; j < n; j++) g[j] = p[j] * (g[j] - dot);
}
