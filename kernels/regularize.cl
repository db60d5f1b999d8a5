/* kernels/regularize.cl — a dense layer's kernel_regularizer (Keras' L1L2):
 * penalty = l1 sum|w| + l2 sum w^2 over its kernel W (count floats at off
 * in the flat parameter buffer; biases are not regularized, as in Keras).
 *
 * regularize: one work-group of FL_NORM_WG work-items (one launch per
 *   layer). With has_g, g[i] += l1 sign(w_i) + 2 l2 w_i (sign(0) = 0, as
 *   tf.sign); then mf[0] += loss_scale * penalty, loss_scale being the rows
 *   the penalty is counted for (the epoch loss is a sum over rows divided
 *   by the rows at the end, so each batch adds rows * penalty, as Keras'
 *   batch-size-weighted mean of the per-batch loss). The tree in local
 *   memory adds in a fixed order: results repeat exactly. */
#ifndef FL_NORM_WG
#define FL_NORM_WG 64
#endif

__kernel __attribute__((reqd_work_group_size(FL_NORM_WG, 1, 1)))
void regularize(__global const float *w, __global float *g, int has_g,
                uint off, uint count, float l1, float l2, float loss_scale,
                __global float *mf) {
  __local float part[FL_NORM_WG];
  uint l = get_local_id(0);
  float sum = 0.0f;
  for (uint i = l; i < count; i += FL_NORM_WG) {
    float x = w[off + i];
    sum += l1 * fabs(x) + l2 * x * x;
    if (has_g) {
      float s = x > 0.0f ? 1.0f : x < 0.0f ? -1.0f : 0.0f;
      g[off + i] += l1 * s + 2.0f * l2 * x;
    }
  }
  part[l] = sum;
  barrier(CLK_LOCAL_MEM_FENCE);
  for (uint h = FL_NORM_WG / 2; h > 0; h /= 2) {
    if (l < h) part[l] += part[l + h];
    barrier(CLK_LOCAL_MEM_FENCE);
  }
  if (l == 0) mf[0] += loss_scale * part[0];
}
