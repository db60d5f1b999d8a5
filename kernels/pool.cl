/* kernels/pool.cl — 2-D pooling after a conv2d (channels-last), forward
 * and backward, as Keras' MaxPooling2D, AveragePooling2D and
 * GlobalAveragePooling2D (an average whose window is the whole image).
 *
 * pool_forward: y (rows, ph, pw, c) from x (rows, oh, ow, c); the window of
 *   output (py, px) covers rows py*sh - pt .. + kh - 1 and columns
 *   px*sw - pl .. + kw - 1 of x, clipped to the image (TF's "same"
 *   padding: max ignores the padding, average divides by the cells inside).
 *   mode 1 (max) also writes argmax (rows*ph*pw*c): the flat index in x
 *   of the first largest cell; mode 2 is the average.
 * pool_backward: dx (rows, oh, ow, c) = for each cell, the sum over the
 *   windows that hold it of dy (max: only where the cell is the window's
 *   argmax; average: dy / cells of the window), then, with fuse_act, times
 *   act'(a) of the conv's activation output a (rows, oh, ow, c) — the
 *   act_backward pass (dense.cl) folded in: the same product, the same
 *   bits. Gathering in a fixed window order: no atomics, bit-identical
 *   runs.
 * One work-item per pixel (both kernels: its c channels in a loop, which
 *   read and write runs of c floats), not per element: on POCL's CPU device
 *   a work-item per element spent its time on index divisions and
 *   work-group dispatch (max pool backward of the issue's first conv layer
 *   at batch 128, 2.8M elements: 39 ms; bench/README.md).
 * Geometry arguments (g): oh, ow, c, kh, kw, sh, sw, pt, pl, ph, pw. */
#define FL_POOL_MAX 1
#define FL_POOL_AVG 2

/* The first and last window index along an axis whose window covers
 * cell i (window j covers j*s - pad .. j*s - pad + k - 1). */
inline int fl_pool_first(int i, int k, int s, int pad) {
  int num = i + pad - k + 1;
  return num <= 0 ? 0 : (num + s - 1) / s;
}

inline int fl_window_cells(int py, int px, int oh, int ow, int kh, int kw,
                           int sh, int sw, int pt, int pl) {
  int y0 = max(py * sh - pt, 0), y1 = min(py * sh - pt + kh, oh);
  int x0 = max(px * sw - pl, 0), x1 = min(px * sw - pl + kw, ow);
  return (y1 - y0) * (x1 - x0);
}

__kernel void pool_forward(__global float *restrict y,
                           __global const float *restrict x,
                           __global uint *restrict argmax, uint rows,
                           int mode, int oh, int ow, int c, int kh, int kw,
                           int sh, int sw, int pt, int pl, int ph, int pw) {
  uint o = get_global_id(0); /* output pixel (b, py, px) */
  if (o >= rows * (uint)(ph * pw)) return;
  int px = (int)(o % (uint)pw);
  uint t = o / (uint)pw;
  int py = (int)(t % (uint)ph);
  uint b = t / (uint)ph;
  int y0 = max(py * sh - pt, 0), y1 = min(py * sh - pt + kh, oh);
  int x0 = max(px * sw - pl, 0), x1 = min(px * sw - pl + kw, ow);
  /* The window's cells in (yy, xx) order, the channels innermost (runs
   * of c floats): y and argmax hold each channel's running max; the first
   * cell sets them, a later one replaces them only when strictly larger
   * (the first largest wins, as Keras). The average sums in the same
   * order. */
  uint base = b * (uint)(oh * ow);
  __global float *yo = y + o * (uint)c;
  __global uint *ao = argmax + o * (uint)c;
  for (int yy = y0; yy < y1; yy++)
    for (int xx = x0; xx < x1; xx++) {
      uint j = (base + (uint)(yy * ow + xx)) * (uint)c;
      __global const float *xv = x + j;
      bool first = yy == y0 && xx == x0;
      if (mode == FL_POOL_MAX) {
        for (int ci = 0; ci < c; ci++) {
          float v = xv[ci];
          if (first || v > yo[ci]) yo[ci] = v, ao[ci] = j + (uint)ci;
        }
      } else {
        for (int ci = 0; ci < c; ci++) yo[ci] = first ? xv[ci] : yo[ci] + xv[ci];
      }
    }
  if (mode != FL_POOL_MAX) {
    float cells = (float)((y1 - y0) * (x1 - x0));
    for (int ci = 0; ci < c; ci++) yo[ci] /= cells;
  }
}

__kernel void pool_backward(__global float *restrict dx,
                            __global const float *restrict dy,
                            __global const uint *restrict argmax, uint rows,
                            int mode, int oh, int ow, int c, int kh, int kw,
                            int sh, int sw, int pt, int pl, int ph, int pw,
                            __global const float *restrict a, int act,
                            int fuse_act) {
  uint q = get_global_id(0); /* input pixel (b, iy, ix) */
  if (q >= rows * (uint)(oh * ow)) return;
  int ix = (int)(q % (uint)ow);
  uint t = q / (uint)ow;
  int iy = (int)(t % (uint)oh);
  uint b = t / (uint)oh;
  int py0 = fl_pool_first(iy, kh, sh, pt), py1 = min((iy + pt) / sh, ph - 1);
  int px0 = fl_pool_first(ix, kw, sw, pl), px1 = min((ix + pl) / sw, pw - 1);
  /* dx's c channels of this pixel start at 0 and gain each window's term
   * in (py, px) order, the channels innermost: each element's sum is the
   * one a work-item per element made, in the same order. */
  uint i0 = q * (uint)c;
  __global float *d = dx + i0;
  for (int ci = 0; ci < c; ci++) d[ci] = 0.0f;
  for (int py = py0; py <= py1; py++)
    for (int px = px0; px <= px1; px++) {
      uint o = ((b * (uint)ph + (uint)py) * (uint)pw + (uint)px) * (uint)c;
      __global const float *g = dy + o;
      if (mode == FL_POOL_MAX) {
        __global const uint *am = argmax + o;
        for (int ci = 0; ci < c; ci++)
          if (am[ci] == i0 + (uint)ci) d[ci] += g[ci];
      } else {
        float cells = (float)fl_window_cells(py, px, oh, ow, kh, kw, sh, sw,
                                             pt, pl);
        for (int ci = 0; ci < c; ci++) d[ci] += g[ci] / cells;
      }
    }
  if (fuse_act)
    for (int ci = 0; ci < c; ci++)
      d[ci] *= fl_act_grad_from_output(act, a[i0 + (uint)ci]);
}
