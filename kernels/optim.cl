/* kernels/optim.cl — optimizer updates, one work-item per parameter over the
 * flat parameter buffer w (p), its gradient g (p) and the optimizer state
 * (m, v: p each). Formulas follow Keras 3 so that a spec behaves as it would
 * there; the host folds step-dependent terms (Adam's bias correction) into
 * the scalar arguments, so no kernel needs the step count.
 *
 * sgd:     momentum == 0: w -= lr g
 *          else m = mu m - lr g; w += nesterov ? mu m - lr g : m
 * adam:    w -= wd_lr * w (AdamW's decoupled decay; 0 for Adam), then
 *          m += (g - m)(1 - b1); v += (g^2 - v)(1 - b2);
 *          w -= alpha m / (sqrt(v) + eps), alpha = lr sqrt(1-b2^t)/(1-b1^t)
 * rmsprop: v = rho v + (1 - rho) g^2; inc = lr g / sqrt(v + eps);
 *          momentum > 0: m = mu m + inc, w -= m; else w -= inc */
__kernel void sgd_update(__global float *w, __global const float *g,
                         __global float *m, float lr, float mu, int nesterov,
                         uint p) {
  uint i = get_global_id(0);
  if (i >= p) return;
  if (mu == 0.0f) {
    w[i] -= lr * g[i];
    return;
  }
  float mi = mu * m[i] - lr * g[i];
  m[i] = mi;
  w[i] += nesterov ? mu * mi - lr * g[i] : mi;
}

__kernel void adam_update(__global float *w, __global const float *g,
                          __global float *m, __global float *v, float alpha,
                          float b1, float b2, float eps, float wd_lr, uint p) {
  uint i = get_global_id(0);
  if (i >= p) return;
  float wi = w[i];
  wi -= wd_lr * wi;
  float gi = g[i];
  float mi = m[i] + (gi - m[i]) * (1.0f - b1);
  float vi = v[i] + (gi * gi - v[i]) * (1.0f - b2);
  m[i] = mi;
  v[i] = vi;
  w[i] = wi - alpha * mi / (sqrt(vi) + eps);
}

__kernel void rmsprop_update(__global float *w, __global const float *g,
                             __global float *m, __global float *v, float lr,
                             float rho, float mu, float eps, uint p) {
  uint i = get_global_id(0);
  if (i >= p) return;
  float gi = g[i];
  float vi = rho * v[i] + (1.0f - rho) * gi * gi;
  v[i] = vi;
  float inc = lr * gi / sqrt(vi + eps);
  if (mu > 0.0f) {
    float mi = mu * m[i] + inc;
    m[i] = mi;
    w[i] -= mi;
  } else {
    w[i] -= inc;
  }
}
