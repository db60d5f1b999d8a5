/* kernels/norms.cl — per-layer sums of squares for the gradient-norm,
 * weight-norm and update-ratio detectors, sampled on a few steps an epoch.
 *
 * segment_sumsq: one work-group of FL_NORM_WG work-items per segment s;
 *   acc[acc_off + s] += sum_{i in [off[s], off[s+1])} (a[i] - (b ? b[i] : 0))^2.
 *   With b = the parameters before the update, that is ||Δθ||^2.
 * The segment boundaries off (nseg + 1) are the layer offsets in the flat
 * parameter buffer. The work-group size is fixed so the tree reduction in
 * local memory is simple; the host launches exactly FL_NORM_WG per group. */
#ifndef FL_NORM_WG
#define FL_NORM_WG 64
#endif

__kernel __attribute__((reqd_work_group_size(FL_NORM_WG, 1, 1)))
void segment_sumsq(__global const float *a, __global const float *b,
                   int has_b, __global const uint *off,
                   __global float *acc, uint acc_off) {
  __local float part[FL_NORM_WG];
  uint s = get_group_id(0), l = get_local_id(0);
  float sum = 0.0f;
  for (uint i = off[s] + l; i < off[s + 1]; i += FL_NORM_WG) {
    float x = has_b ? a[i] - b[i] : a[i];
    sum += x * x;
  }
  part[l] = sum;
  barrier(CLK_LOCAL_MEM_FENCE);
  for (uint w = FL_NORM_WG / 2; w > 0; w /= 2) {
    if (l < w) part[l] += part[l + w];
    barrier(CLK_LOCAL_MEM_FENCE);
  }
  if (l == 0) acc[acc_off + s] += part[0];
}
