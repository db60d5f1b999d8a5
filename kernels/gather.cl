/* kernels/gather.cl — builds a training batch from the resident dataset.
 *
 * gather_rows: dst (rows, d) = src[perm[start + r], :] for r < rows.
 * src is the whole training set (n, d); perm is the epoch's seeded
 * permutation (n). One work-item per 8 consecutive elements of a row
 * (global size rows * ceil(d / 8)), copied as one float8 where the row
 * has 8 left: a CPU device then moves the batch at memory speed. */
__kernel void gather_rows(__global float *dst, __global const float *src,
                          __global const uint *perm, uint start, uint rows,
                          uint d) {
  uint chunks = (d + 7) / 8;
  size_t i = get_global_id(0);
  if (i >= (size_t)rows * chunks) return;
  size_t r = i / chunks, c = (i % chunks) * 8;
  __global const float *s = src + (size_t)perm[start + r] * d + c;
  __global float *o = dst + r * d + c;
  if (c + 8 <= d) {
    vstore8(vload8(0, s), 0, o);
    return;
  }
  for (size_t j = 0; c + j < d; j++) o[j] = s[j];
}
