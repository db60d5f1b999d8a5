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
 *   argmax; average: dy / cells of the window). One work-item per dx
 *   element gathering in a fixed order: no atomics, bit-identical runs.
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

__kernel void pool_forward(__global float *y, __global const float *x,
                           __global uint *argmax, uint rows, int mode,
                           int oh, int ow, int c, int kh, int kw, int sh,
                           int sw, int pt, int pl, int ph, int pw) {
  size_t i = get_global_id(0);
  if (i >= (size_t)rows * ph * pw * c) return;
  int ci = (int)(i % c);
  size_t t = i / c;
  int px = (int)(t % pw);
  t /= pw;
  int py = (int)(t % ph);
  size_t b = t / ph;
  int y0 = max(py * sh - pt, 0), y1 = min(py * sh - pt + kh, oh);
  int x0 = max(px * sw - pl, 0), x1 = min(px * sw - pl + kw, ow);
  float best = -INFINITY, sum = 0.0f;
  uint arg = 0;
  for (int yy = y0; yy < y1; yy++)
    for (int xx = x0; xx < x1; xx++) {
      size_t j = ((b * oh + yy) * ow + xx) * c + ci;
      float v = x[j];
      if (mode == FL_POOL_MAX) {
        if (v > best || (yy == y0 && xx == x0)) best = v, arg = (uint)j;
      } else {
        sum += v;
      }
    }
  if (mode == FL_POOL_MAX) {
    y[i] = best;
    argmax[i] = arg;
  } else {
    y[i] = sum / (float)((y1 - y0) * (x1 - x0));
  }
}

__kernel void pool_backward(__global float *dx, __global const float *dy,
                            __global const uint *argmax, uint rows, int mode,
                            int oh, int ow, int c, int kh, int kw, int sh,
                            int sw, int pt, int pl, int ph, int pw) {
  size_t i = get_global_id(0);
  if (i >= (size_t)rows * oh * ow * c) return;
  int ci = (int)(i % c);
  size_t t = i / c;
  int ix = (int)(t % ow);
  t /= ow;
  int iy = (int)(t % oh);
  size_t b = t / oh;
  int py0 = fl_pool_first(iy, kh, sh, pt), py1 = min((iy + pt) / sh, ph - 1);
  int px0 = fl_pool_first(ix, kw, sw, pl), px1 = min((ix + pl) / sw, pw - 1);
  float s = 0.0f;
  for (int py = py0; py <= py1; py++)
    for (int px = px0; px <= px1; px++) {
      size_t o = ((b * ph + py) * pw + px) * c + ci;
      if (mode == FL_POOL_MAX) {
        if (argmax[o] == (uint)i) s += dy[o];
      } else {
        s += dy[o] / (float)fl_window_cells(py, px, oh, ow, kh, kw, sh, sw,
                                           pt, pl);
      }
    }
  dx[i] = s;
}
