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
 *          momentum > 0: m = mu m + inc, w -= m; else w -= inc
 *
 * Each work-item updates 8 consecutive parameters as one float8 (the
 * global size is ceil(p / 8)): on CPU devices this is what makes the
 * update run at memory speed. The last work-item takes the p % 8 tail
 * one element at a time with the same formula, written once as a macro
 * over the element type T (float8 or float). */
#define FL_SGD_STEP(T, W, G, M)                                            \
  do {                                                                       \
    if (mu == 0.0f) {                                                        \
      W -= lr * G;                                                           \
    } else {                                                                 \
      T mi_ = mu * M - lr * G;                                               \
      M = mi_;                                                               \
      W += nesterov ? mu * mi_ - lr * G : mi_;                               \
    }                                                                        \
  } while (0)

#define FL_ADAM_STEP(T, W, G, M, V)                                          \
  do {                                                                       \
    W -= wd_lr * W;                                                          \
    M += (G - M) * (1.0f - b1);                                              \
    V += (G * G - V) * (1.0f - b2);                                          \
    W -= alpha * M / (sqrt(V) + eps);                                        \
  } while (0)

#define FL_RMSPROP_STEP(T, W, G, M, V)                                       \
  do {                                                                       \
    V = rho * V + (1.0f - rho) * G * G;                                      \
    T inc_ = lr * G / sqrt(V + eps);                                         \
    if (mu > 0.0f) {                                                         \
      M = mu * M + inc_;                                                     \
      W -= M;                                                                \
    } else {                                                                 \
      W -= inc_;                                                             \
    }                                                                        \
  } while (0)

__kernel void sgd_update(__global float *w, __global const float *g,
                         __global float *m, float lr, float mu, int nesterov,
                         uint p) {
  uint i = get_global_id(0) * 8;
  if (i >= p) return;
  if (i + 8 <= p) {
    float8 wi = vload8(0, w + i), gi = vload8(0, g + i);
    float8 mi = mu == 0.0f ? (float8)0.0f : vload8(0, m + i);
    FL_SGD_STEP(float8, wi, gi, mi);
    vstore8(wi, 0, w + i);
    if (mu != 0.0f) vstore8(mi, 0, m + i);
    return;
  }
  for (; i < p; i++) {
    float wi = w[i], gi = g[i], mi = mu == 0.0f ? 0.0f : m[i];
    FL_SGD_STEP(float, wi, gi, mi);
    w[i] = wi;
    if (mu != 0.0f) m[i] = mi;
  }
}

__kernel void adam_update(__global float *w, __global const float *g,
                          __global float *m, __global float *v, float alpha,
                          float b1, float b2, float eps, float wd_lr, uint p) {
  uint i = get_global_id(0) * 8;
  if (i >= p) return;
  if (i + 8 <= p) {
    float8 wi = vload8(0, w + i), gi = vload8(0, g + i);
    float8 mi = vload8(0, m + i), vi = vload8(0, v + i);
    FL_ADAM_STEP(float8, wi, gi, mi, vi);
    vstore8(wi, 0, w + i);
    vstore8(mi, 0, m + i);
    vstore8(vi, 0, v + i);
    return;
  }
  for (; i < p; i++) {
    float wi = w[i], gi = g[i], mi = m[i], vi = v[i];
    FL_ADAM_STEP(float, wi, gi, mi, vi);
    w[i] = wi;
    m[i] = mi;
    v[i] = vi;
  }
}

__kernel void rmsprop_update(__global float *w, __global const float *g,
                             __global float *m, __global float *v, float lr,
                             float rho, float mu, float eps, uint p) {
  uint i = get_global_id(0) * 8;
  if (i >= p) return;
  if (i + 8 <= p) {
    float8 wi = vload8(0, w + i), gi = vload8(0, g + i);
    float8 mi = mu > 0.0f ? vload8(0, m + i) : (float8)0.0f;
    float8 vi = vload8(0, v + i);
    FL_RMSPROP_STEP(float8, wi, gi, mi, vi);
    vstore8(wi, 0, w + i);
    vstore8(vi, 0, v + i);
    if (mu > 0.0f) vstore8(mi, 0, m + i);
    return;
  }
  for (; i < p; i++) {
    float wi = w[i], gi = g[i], mi = mu > 0.0f ? m[i] : 0.0f, vi = v[i];
    FL_RMSPROP_STEP(float, wi, gi, mi, vi);
    w[i] = wi;
    v[i] = vi;
    if (mu > 0.0f) m[i] = mi;
  }
}
