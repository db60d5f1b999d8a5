/* kernels/gather.cl — builds a training batch from the resident dataset.
 *
 * gather_rows: dst (rows, d) = src[perm[start + r], :] for r < rows.
 * src is the whole training set (n, d); perm is the epoch's seeded
 * permutation (n). One work-item per element of dst. */
__kernel void gather_rows(__global float *dst, __global const float *src,
                          __global const uint *perm, uint start, uint rows,
                          uint d) {
  size_t i = get_global_id(0);
  if (i >= (size_t)rows * d) return;
  size_t r = i / d, c = i % d;
  dst[i] = src[(size_t)perm[start + r] * d + c];
}
