/* kernels/dropout.cl — inverted dropout (Keras' Dropout) on a dense layer's
 * activation output, in training steps only.
 *
 * Whether element i = r * n + j of a batch is kept is a pure function of
 * (stream, i): bits = fl_mix64(stream + i) >> 40 (24 bits), dropped when
 * bits < threshold, threshold = round(rate * 2^24). The host derives
 * stream from the job's seed, the optimizer step and the layer
 * (engine/trainer.c), so the forward and backward pass of a step draw the
 * same mask without storing it, and a run repeats bit for bit.
 *
 * dropout_forward:  dst (rows, n) = keep ? src * scale : 0,  scale = 1/(1-rate)
 * dropout_backward: da (rows, n) <- keep ? da * scale : 0, in place
 * One work-item per element. */
inline ulong fl_mix64(ulong z) { /* splitmix64's finalizer (Steele et al.) */
  z += 0x9E3779B97F4A7C15UL;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
  return z ^ (z >> 31);
}

inline int fl_dropout_keep(ulong stream, size_t i, uint threshold) {
  return (uint)(fl_mix64(stream + (ulong)i) >> 40) >= threshold;
}

__kernel void dropout_forward(__global float *dst, __global const float *src,
                              uint rows, uint n, ulong stream, uint threshold,
                              float scale) {
  size_t i = get_global_id(0);
  if (i >= (size_t)rows * n) return;
  dst[i] = fl_dropout_keep(stream, i, threshold) ? src[i] * scale : 0.0f;
}

__kernel void dropout_backward(__global float *da, uint rows, uint n,
                               ulong stream, uint threshold, float scale) {
  size_t i = get_global_id(0);
  if (i >= (size_t)rows * n) return;
  da[i] = fl_dropout_keep(stream, i, threshold) ? da[i] * scale : 0.0f;
}
