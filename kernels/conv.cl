/* kernels/conv.cl — what a conv2d layer needs around its GEMMs
 * (channels-last: an image row is (h, w, c) flattened in that order).
 *
 * The convolution is a GEMM on patches (engine/conv.c):
 *   col (rows*oh*ow, kh*kw*c) = im2col(x)         one patch per output pixel
 *   z   (rows*oh*ow, f)       = col · W (kh*kw*c, f) + b, W as Keras stores
 *                               it, (kh, kw, c, f); z is (rows, oh, ow, f)
 * and backward
 *   dW (kh*kw*c, f) = col^T · dz,   dcol = dz · W^T,   dx = col2im(dcol).
 *
 * im2col: col[p, (ky*kw + kx)*c + ci] = x[b, oy*sh + ky - pt, ox*sw + kx - pl,
 *   ci] (0 outside the image: TF's zero padding), p = (b*oh + oy)*ow + ox;
 *   x starts at element x_off of its buffer. One work-item per patch p
 *   (output pixel): channels-last, each (ky, kx) of the patch is c floats
 *   contiguous in x and in col, copied as a run.
 * col2im: dx (rows, h, w, c) = the sum, over the patches that read pixel
 *   (b, iy, ix, ci), of their dcol entries. One work-item per input pixel
 *   (b, iy, ix) gathers its c channels in a fixed (ky, kx) order: no
 *   atomics, results repeat bit for bit (each element's sum is 0 + the
 *   terms in (ky, kx) order, as when one work-item summed each element).
 *
 * Why a pixel per work-item and not an element: POCL's CPU device pays a
 * fixed cost per work-group of 16 items (ops.c, launch_1d), and a work-item
 * per element spent most of its time in index arithmetic (five divisions
 * to place one float): the issue's CNN at batch 128 took 37.7 ms per
 * im2col of its second layer (4.5M elements) and 30.4 ms per col2im
 * (bench/conv_rate.c, bench/README.md). All indices fit a uint (conv.c
 * checks the sizes). */
__kernel void im2col(__global float *restrict col,
                     __global const float *restrict x, uint x_off, uint rows,
                     uint h, uint w, uint c, uint kh, uint kw, uint sh,
                     uint sw, uint pt, uint pl, uint oh, uint ow) {
  uint p = get_global_id(0);
  if (p >= rows * oh * ow) return;
  uint ox = p % ow, t = p / ow, oy = t % oh, b = t / oh;
  __global float *dst = col + p * (kh * kw * c);
  for (uint ky = 0; ky < kh; ky++) {
    int iy = (int)(oy * sh + ky) - (int)pt;
    for (uint kx = 0; kx < kw; kx++, dst += c) {
      int ix = (int)(ox * sw + kx) - (int)pl;
      if (iy >= 0 && iy < (int)h && ix >= 0 && ix < (int)w) {
        __global const float *src =
            x + x_off + ((b * h + (uint)iy) * w + (uint)ix) * c;
        for (uint ci = 0; ci < c; ci++) dst[ci] = src[ci];
      } else {
        for (uint ci = 0; ci < c; ci++) dst[ci] = 0.0f;
      }
    }
  }
}

__kernel void col2im(__global float *restrict dx,
                     __global const float *restrict dcol, uint rows, uint h,
                     uint w, uint c, uint kh, uint kw, uint sh, uint sw,
                     uint pt, uint pl, uint oh, uint ow) {
  uint q = get_global_id(0);
  if (q >= rows * h * w) return;
  int ix = (int)(q % w);
  uint t = q / w;
  int iy = (int)(t % h);
  uint b = t / h;
  uint K = kh * kw * c;
  __global float *d = dx + q * c;
  for (uint ci = 0; ci < c; ci++) d[ci] = 0.0f;
  for (uint ky = 0; ky < kh; ky++) {
    int y = iy + (int)pt - (int)ky;
    if (y < 0 || y % (int)sh) continue;
    uint oy = (uint)y / sh;
    if (oy >= oh) continue;
    for (uint kx = 0; kx < kw; kx++) {
      int xx = ix + (int)pl - (int)kx;
      if (xx < 0 || xx % (int)sw) continue;
      uint ox = (uint)xx / sw;
      if (ox >= ow) continue;
      __global const float *src =
          dcol + ((b * oh + oy) * ow + ox) * K + (ky * kw + kx) * c;
      for (uint ci = 0; ci < c; ci++) d[ci] += src[ci];
    }
  }
}
