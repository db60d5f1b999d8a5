/* kernels/dense.cl — what a dense layer needs around its GEMMs.
 *
 * bias_act_forward: z (rows, n) <- act(z + b), in place; b is (n) at b_off
 *   in the flat parameter buffer.
 *   Softmax is row-wise and lives in softmax.cl; here it is the identity.
 * act_backward: dz (rows, n) <- da * act'(·) computed from the activation
 *   output a (rows, n), in place on da (all our activations' derivatives are
 *   functions of their output).
 * bias_grad: db (n) = sum over rows of dz; one work-item per 8 units, which also
 *   records, for the dead/saturated-unit detectors, whether unit j was ever
 *   positive (active[j] |= 1) and how many of its outputs saturated
 *   (sat[j] += count) when track != 0; db and the trackers are at offsets
 *   db_off / unit_off of flat buffers.
 * bias_grad_wg: the same for GPUs, where n / 8 work-items each walking all
 *   rows leave the device idle (33 us for 128 x 256 on an H100). A
 *   work-group of FL_BG_UNITS x FL_BG_SLICES items takes FL_BG_UNITS
 *   neighbouring units (coalesced loads); slice s sums rows s, s + SLICES,
 *   ..., then the slices' partial sums are added in slice order. The order
 *   is fixed, so results repeat exactly from run to run. FL_BG_UNITS and
 *   FL_BG_SLICES come from the host (engine_internal.h) as build options.
 * bias_grad_part + bias_grad_reduce: the same sums for tall dz (a conv
 *   layer's rows*oh*ow patches) on CPU devices. bias_grad's n / 8 items
 *   fill one work-group, i.e. one core, and each walks every row of dz
 *   and a (the issue's first conv layer at batch 128: 86528 x 32 each, 1.5
 *   ms a step). bias_grad_part's item (chunk s, units j0 .. j0 + 7) sums
 *   rows s*per .. s*per + per - 1 (items of one chunk are neighbours: they
 *   share the rows' cache lines) into part (chunks, n) and flags (chunks,
 *   2, n: any > 0, saturated count); bias_grad_reduce adds the chunks in
 *   chunk order into db and the trackers: a fixed order, the same bits run
 *   to run (not bias_grad's: the sums are grouped by chunk). Without
 *   track it only sums parts: the short conv weight gradient's too
 *   (gemm_tn_small_part, gemm_tiled.cl; flags then unread).
 * fl_act and fl_act_grad_from_output are in common.cl (batchnorm.cl, which
 * comes first, applies activations too). */
/* 1 when an output of a tanh or sigmoid unit sits on its flat tail (the
 * saturated-unit detector's test; bias_grad's float8 path writes it for
 * eight at once). */
inline uint fl_saturated(int act, float v) {
  if (act == FL_ACT_TANH) return fabs(v) > 0.99f;
  if (act == FL_ACT_SIGMOID) return (v < 0.01f) | (v > 0.99f);
  return 0;
}

__kernel void bias_act_forward(__global float *z, __global const float *b,
                               uint b_off, uint rows, uint n, int act) {
  size_t i = get_global_id(0);
  if (i >= (size_t)rows * n) return;
  z[i] = fl_act(act, z[i] + b[b_off + i % n]);
}

__kernel void act_backward(__global float *da, __global const float *a,
                           uint rows, uint n, int act) {
  size_t i = get_global_id(0);
  if (i >= (size_t)rows * n) return;
  da[i] *= fl_act_grad_from_output(act, a[i]);
}

__kernel void bias_grad(__global float *db, uint db_off,
                        __global const float *dz, __global const float *a,
                        uint rows, uint n, int act, int track,
                        __global uint *active, __global uint *sat,
                        uint unit_off) {
  /* 8 units per work-item, summed row by row as one float8 (each unit's
   * sum keeps the same order as a scalar loop: results are unchanged);
   * the last work-item takes n % 8 units one at a time. */
  uint j0 = get_global_id(0) * 8;
  if (j0 >= n) return;
  if (j0 + 8 <= n) {
    float8 s = 0.0f;
    int8 any = 0, nsat = 0;
    for (uint r = 0; r < rows; r++) {
      s += vload8(0, dz + (size_t)r * n + j0);
      if (track) {
        float8 v = vload8(0, a + (size_t)r * n + j0);
        any |= v > 0.0f;
        if (act == FL_ACT_TANH) nsat -= fabs(v) > 0.99f;
        else if (act == FL_ACT_SIGMOID) nsat -= (v < 0.01f) | (v > 0.99f);
      }
    }
    vstore8(s, 0, db + db_off + j0);
    if (track) {
      uint8 act8 = vload8(0, active + unit_off + j0);
      uint8 sat8 = vload8(0, sat + unit_off + j0);
      vstore8(act8 | (as_uint8(any) & 1u), 0, active + unit_off + j0);
      vstore8(sat8 + as_uint8(nsat), 0, sat + unit_off + j0);
    }
    return;
  }
  for (uint j = j0; j < n; j++) {
    float s = 0.0f;
    uint any = 0, nsat = 0;
    for (uint r = 0; r < rows; r++) {
      s += dz[(size_t)r * n + j];
      if (track) {
        float v = a[(size_t)r * n + j];
        any |= v > 0.0f;
        nsat += fl_saturated(act, v);
      }
    }
    db[db_off + j] = s;
    if (track) {
      active[unit_off + j] |= any;
      sat[unit_off + j] += nsat;
    }
  }
}

__kernel __attribute__((reqd_work_group_size(FL_BG_UNITS, FL_BG_SLICES, 1)))
void bias_grad_wg(__global float *db, uint db_off, __global const float *dz,
                  __global const float *a, uint rows, uint n, int act,
                  int track, __global uint *active, __global uint *sat,
                  uint unit_off) {
  __local float part[FL_BG_SLICES][FL_BG_UNITS];
  __local uint part_any[FL_BG_SLICES][FL_BG_UNITS];
  __local uint part_sat[FL_BG_SLICES][FL_BG_UNITS];
  uint u = get_local_id(0), sl = get_local_id(1);
  uint j = get_group_id(0) * FL_BG_UNITS + u;
  float s = 0.0f;
  uint any = 0, nsat = 0;
  if (j < n) {
    for (uint r = sl; r < rows; r += FL_BG_SLICES) {
      s += dz[(size_t)r * n + j];
      if (track) {
        float v = a[(size_t)r * n + j];
        any |= v > 0.0f;
        nsat += fl_saturated(act, v);
      }
    }
  }
  part[sl][u] = s;
  part_any[sl][u] = any;
  part_sat[sl][u] = nsat;
  barrier(CLK_LOCAL_MEM_FENCE);
  if (sl != 0 || j >= n) return;
  for (uint k = 1; k < FL_BG_SLICES; k++) {
    s += part[k][u];
    any |= part_any[k][u];
    nsat += part_sat[k][u];
  }
  db[db_off + j] = s;
  if (track) {
    active[unit_off + j] |= any;
    sat[unit_off + j] += nsat;
  }
}

__kernel void bias_grad_part(__global float *restrict part,
                             __global uint *restrict flags,
                             __global const float *restrict dz,
                             __global const float *restrict a, uint rows,
                             uint n, int act, uint per) {
  uint ng = (n + 7) / 8, id = get_global_id(0);
  uint s = id / ng, j0 = (id % ng) * 8, r0 = s * per;
  if (r0 >= rows) return;
  uint r1 = min(r0 + per, rows);
  __global float *ps = part + (size_t)s * n;
  __global uint *pa = flags + (size_t)s * 2 * n, *pn = pa + n;
  if (j0 + 8 <= n) {
    float8 sum = 0.0f;
    int8 any = 0, nsat = 0;
    for (uint r = r0; r < r1; r++) {
      sum += vload8(0, dz + (size_t)r * n + j0);
      float8 v = vload8(0, a + (size_t)r * n + j0);
      any |= v > 0.0f;
      if (act == FL_ACT_TANH) nsat -= fabs(v) > 0.99f;
      else if (act == FL_ACT_SIGMOID) nsat -= (v < 0.01f) | (v > 0.99f);
    }
    vstore8(sum, 0, ps + j0);
    vstore8(as_uint8(any) & 1u, 0, pa + j0);
    vstore8(as_uint8(nsat), 0, pn + j0);
    return;
  }
  for (uint j = j0; j < n; j++) {
    float sum = 0.0f;
    uint any = 0, nsat = 0;
    for (uint r = r0; r < r1; r++) {
      sum += dz[(size_t)r * n + j];
      float v = a[(size_t)r * n + j];
      any |= v > 0.0f;
      nsat += fl_saturated(act, v);
    }
    ps[j] = sum;
    pa[j] = any;
    pn[j] = nsat;
  }
}

__kernel void bias_grad_reduce(__global float *restrict db, uint db_off,
                               __global const float *restrict part,
                               __global const uint *restrict flags,
                               uint chunks, uint n, int track,
                               __global uint *restrict active,
                               __global uint *restrict sat, uint unit_off) {
  uint j = get_global_id(0);
  if (j >= n) return;
  float sum = 0.0f;
  uint any = 0, nsat = 0;
  for (uint s = 0; s < chunks; s++) {
    sum += part[(size_t)s * n + j];
    if (track) {
      any |= flags[(size_t)s * 2 * n + j];
      nsat += flags[(size_t)s * 2 * n + n + j];
    }
  }
  db[db_off + j] = sum;
  if (track) {
    active[unit_off + j] |= any;
    sat[unit_off + j] += nsat;
  }
}
