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
 *   x starts at element x_off of its buffer. One work-item per col element.
 * col2im: dx (rows, h, w, c) = the sum, over the patches that read pixel
 *   (b, iy, ix, ci), of their dcol entries. One work-item per dx element
 *   gathers in a fixed (ky, kx) order: no atomics, results repeat bit for
 *   bit. */
__kernel void im2col(__global float *col, __global const float *x,
                     uint x_off, uint rows, uint h, uint w, uint c, uint kh,
                     uint kw, uint sh, uint sw, uint pt, uint pl, uint oh,
                     uint ow) {
  size_t i = get_global_id(0);
  size_t K = (size_t)kh * kw * c;
  if (i >= (size_t)rows * oh * ow * K) return;
  size_t p = i / K;
  uint q = (uint)(i % K);
  uint ci = q % c, t = q / c, kx = t % kw, ky = t / kw;
  uint ox = (uint)(p % ow);
  size_t t2 = p / ow;
  uint oy = (uint)(t2 % oh);
  size_t b = t2 / oh;
  int iy = (int)(oy * sh + ky) - (int)pt, ix = (int)(ox * sw + kx) - (int)pl;
  col[i] = iy >= 0 && iy < (int)h && ix >= 0 && ix < (int)w
               ? x[x_off + ((b * h + (uint)iy) * w + (uint)ix) * c + ci]
               : 0.0f;
}

__kernel void col2im(__global float *dx, __global const float *dcol,
                     uint rows, uint h, uint w, uint c, uint kh, uint kw,
                     uint sh, uint sw, uint pt, uint pl, uint oh, uint ow) {
  size_t i = get_global_id(0);
  if (i >= (size_t)rows * h * w * c) return;
  uint ci = (uint)(i % c);
  size_t t = i / c;
  int ix = (int)(t % w);
  t /= w;
  int iy = (int)(t % h);
  size_t b = t / h;
  size_t K = (size_t)kh * kw * c;
  float s = 0.0f;
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
      s += dcol[((b * oh + oy) * ow + ox) * K + (ky * kw + kx) * c + ci];
    }
  }
  dx[i] = s;
}
