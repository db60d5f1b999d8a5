/* kernels/clip.cl — gradient clipping before the optimizer's update, as
 * Keras 3's optimizers clip (keras/src/optimizers/base_optimizer.py), over
 * the flat gradient buffer g (p): W_l (in_l, out_l) then b_l (out_l) per
 * layer.
 *
 * clip_by_value: g = min(max(g, -v), v), element by element (clipvalue).
 * clip_by_norm:  segment s = [off[s], off[s+1]) of g with its sum of
 *                squares sumsq[s] (segment_sumsq, norms.cl):
 *                g = g * c / max(sqrt(sumsq[s]), c), Keras's clip_by_norm
 *                formula. One segment per variable (each W_l, each b_l) is
 *                clipnorm; one segment over all of g is global_clipnorm.
 * One work-item per element; nseg is at most 2 FL_MAX_LAYERS, so finding
 * an element's segment by a scan costs less than the memory access. */
__kernel void clip_by_value(__global float *g, float v, uint p) {
  uint i = get_global_id(0);
  if (i >= p) return;
  g[i] = fmin(fmax(g[i], -v), v);
}

__kernel void clip_by_norm(__global float *g, __global const uint *off,
                           uint nseg, __global const float *sumsq, float c,
                           uint p) {
  uint i = get_global_id(0);
  if (i >= p) return;
  uint s = 0;
  while (s + 1 < nseg && i >= off[s + 1]) s++;
  g[i] = g[i] * c / fmax(sqrt(sumsq[s]), c);
}
