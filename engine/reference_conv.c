/* engine/reference_conv.c — plain-C reference of the conv2d and pooling
 * ops (kernels/conv.cl, kernels/pool.cl), written for clarity: patches
 * and windows by their definitions, channels-last images. */
#include "reference.h"

#include <math.h>
#include <string.h>

/* x (rows, h, w, c) -> col (rows*oh*ow, kh*kw*c), zero outside the image */
void fl__ref_im2col(float *col, const float *x, size_t rows,
                    const fl_layer_spec *ls, const fl_layer_shape *g) {
  int kh = ls->kernel_size[0], kw = ls->kernel_size[1];
  size_t K = (size_t)kh * kw * g->c, p = 0;
  for (size_t b = 0; b < rows; b++)
    for (int oy = 0; oy < g->oh; oy++)
      for (int ox = 0; ox < g->ow; ox++, p++)
        for (int ky = 0; ky < kh; ky++)
          for (int kx = 0; kx < kw; kx++)
            for (int ci = 0; ci < g->c; ci++) {
              int iy = oy * ls->strides[0] + ky - g->pad_top;
              int ix = ox * ls->strides[1] + kx - g->pad_left;
              bool in = iy >= 0 && iy < g->h && ix >= 0 && ix < g->w;
              col[p * K + ((size_t)ky * kw + kx) * g->c + ci] =
                  in ? x[((b * g->h + iy) * g->w + ix) * g->c + ci] : 0.0f;
            }
}

/* The adjoint of im2col: dx (rows, h, w, c) = sum of the patches' dcol */
void fl__ref_col2im(float *dx, const float *dcol, size_t rows,
                    const fl_layer_spec *ls, const fl_layer_shape *g) {
  int kh = ls->kernel_size[0], kw = ls->kernel_size[1];
  size_t K = (size_t)kh * kw * g->c, p = 0;
  memset(dx, 0, rows * g->flat_in * sizeof *dx);
  for (size_t b = 0; b < rows; b++)
    for (int oy = 0; oy < g->oh; oy++)
      for (int ox = 0; ox < g->ow; ox++, p++)
        for (int ky = 0; ky < kh; ky++)
          for (int kx = 0; kx < kw; kx++)
            for (int ci = 0; ci < g->c; ci++) {
              int iy = oy * ls->strides[0] + ky - g->pad_top;
              int ix = ox * ls->strides[1] + kx - g->pad_left;
              if (iy >= 0 && iy < g->h && ix >= 0 && ix < g->w)
                dx[((b * g->h + iy) * g->w + ix) * g->c + ci] +=
                    dcol[p * K + ((size_t)ky * kw + kx) * g->c + ci];
            }
}

/* The cells [y0, y1) x [x0, x1) of output window (py, px). */
static void window(const fl_layer_shape *g, int py, int px, int *y0, int *y1,
                   int *x0, int *x1) {
  *y0 = py * g->pool_sh - g->pool_pad_top;
  *x0 = px * g->pool_sw - g->pool_pad_left;
  *y1 = *y0 + g->pool_kh < g->oh ? *y0 + g->pool_kh : g->oh;
  *x1 = *x0 + g->pool_kw < g->ow ? *x0 + g->pool_kw : g->ow;
  if (*y0 < 0) *y0 = 0;
  if (*x0 < 0) *x0 = 0;
}

void fl__ref_pool_forward(float *y, const float *x, uint32_t *argmax,
                          size_t rows, int f, int pool,
                          const fl_layer_shape *g) {
  size_t o = 0;
  for (size_t b = 0; b < rows; b++)
    for (int py = 0; py < g->ph; py++)
      for (int px = 0; px < g->pw; px++)
        for (int ci = 0; ci < f; ci++, o++) {
          int y0, y1, x0, x1;
          window(g, py, px, &y0, &y1, &x0, &x1);
          double sum = 0;
          float best = -INFINITY;
          size_t arg = 0;
          for (int yy = y0; yy < y1; yy++)
            for (int xx = x0; xx < x1; xx++) {
              size_t j = ((b * g->oh + yy) * g->ow + xx) * f + ci;
              if (x[j] > best || (yy == y0 && xx == x0)) best = x[j], arg = j;
              sum += x[j];
            }
          if (pool == FL_POOL_MAX) {
            y[o] = best;
            if (argmax) argmax[o] = (uint32_t)arg;
          } else {
            y[o] = (float)(sum / ((y1 - y0) * (x1 - x0)));
          }
        }
}

void fl__ref_pool_backward(float *dx, const float *dy, const uint32_t *argmax,
                           size_t rows, int f, int pool,
                           const fl_layer_shape *g) {
  memset(dx, 0, rows * (size_t)g->oh * g->ow * f * sizeof *dx);
  size_t o = 0;
  for (size_t b = 0; b < rows; b++)
    for (int py = 0; py < g->ph; py++)
      for (int px = 0; px < g->pw; px++)
        for (int ci = 0; ci < f; ci++, o++) {
          if (pool == FL_POOL_MAX) {
            dx[argmax[o]] += dy[o];
            continue;
          }
          int y0, y1, x0, x1;
          window(g, py, px, &y0, &y1, &x0, &x1);
          float share = dy[o] / (float)((y1 - y0) * (x1 - x0));
          for (int yy = y0; yy < y1; yy++)
            for (int xx = x0; xx < x1; xx++)
              dx[((b * g->oh + yy) * g->ow + xx) * f + ci] += share;
        }
}
