/* engine/conv.c — conv2d layers in the trainer: the launchers of
 * kernels/conv.cl (im2col, col2im) and kernels/pool.cl, the conv buffers
 * of a trainer, and a conv layer's forward and backward passes around the
 * device's GEMMs (engine_internal.h: fl__conv_forward / fl__conv_backward).
 *
 * Why our own im2col and not CLBlast's: CLBlastSim2col / Scol2im /
 * Sconvgemm take images channels-first (NCHW) and order a patch (c, ky,
 * kx); flatline's rows are channels-last (NHWC, Keras' default and the
 * layout of IDX/npy images), whose patches (ky, kx, c) make the GEMM's
 * output (B*oh*ow, filters) the next layer's NHWC input with no transpose,
 * and W exactly Keras' (kh, kw, cin, filters). Measured (bench/conv_rate.c,
 * bench/README.md "CLBlast's convgemm"), the two conv layers at
 * batch 128 on POCL's CPU device: CLBlastSconvgemm alone ran at 2.6-4.2
 * GFLOP/s, 18.8 and 135 ms, against 1.4 and 6.2 ms for our im2col + tiled
 * GEMM with its fused bias + relu, before the NHWC <-> NCHW transposes it
 * would add (2.8 + 2.8 ms for layer 2); and it has no backward pass, so
 * dW and dx need our im2col / col2im anyway. So the forward pass stays
 * here. Not measured on a GPU, where CLBlast's tuned convgemm might win
 * the forward pass: fl_conv_rate there answers it.
 * Measured here (POCL, 2-core AVX-512 Xeon): the CNN
 * (examples/fashion-cnn/cnn.json) trains at about 6800 samples/s (batch
 * 128, 60k rows) on a quiet machine, 2000-3000 under other sessions'
 * load; per-op times in bench/README.md. */
#include <stdint.h>

#include "engine_internal.h"

#define ARG(kernel, i, v)                                                     \
  FL_CL_CHECK(err, clSetKernelArg((kernel), (i), sizeof(v), &(v)))

static int fits(size_t n, fl_error *err) {
  if (n > UINT32_MAX)
    return fl_error_set(err, FL_ETOOBIG, "a conv2d buffer of %zu elements "
                        "exceeds the kernels' 32-bit index range; use a "
                        "smaller batch_size", n);
  return 0;
}

/* The geometry arguments common to im2col and col2im, from index i:
 * h, w, c, kh, kw, sh, sw, pt, pl, oh, ow. */
static int geometry_args(cl_kernel k, cl_uint i, const fl_layer_spec *ls,
                         const fl_layer_shape *g, fl_error *err) {
  cl_uint v[11] = {(cl_uint)g->h,           (cl_uint)g->w,
                   (cl_uint)g->c,           (cl_uint)ls->kernel_size[0],
                   (cl_uint)ls->kernel_size[1], (cl_uint)ls->strides[0],
                   (cl_uint)ls->strides[1], (cl_uint)g->pad_top,
                   (cl_uint)g->pad_left,    (cl_uint)g->oh,
                   (cl_uint)g->ow};
  for (cl_uint j = 0; j < 11; j++) ARG(k, i + j, v[j]);
  return 0;
}

int fl__op_im2col(fl_device *dev, cl_mem col, cl_mem x, size_t x_off,
                  size_t rows, const fl_layer_spec *ls,
                  const fl_layer_shape *g, fl_error *err) {
  size_t n = rows * (size_t)g->oh * (size_t)g->ow *
             (size_t)(ls->kernel_size[0] * ls->kernel_size[1] * g->c);
  if (fits(n, err) || fits(x_off + rows * g->flat_in, err)) return err->code;
  cl_kernel k = dev->k[FL_K_im2col];
  cl_uint xo = (cl_uint)x_off, r = (cl_uint)rows;
  ARG(k, 0, col); ARG(k, 1, x); ARG(k, 2, xo); ARG(k, 3, r);
  int rc = geometry_args(k, 4, ls, g, err);
  /* a work-item per patch (output pixel) */
  return rc ? rc : fl__launch_1d(dev, k, rows * (size_t)g->oh * (size_t)g->ow,
                                 err);
}

int fl__op_col2im(fl_device *dev, cl_mem dx, cl_mem dcol, size_t rows,
                  const fl_layer_spec *ls, const fl_layer_shape *g,
                  fl_error *err) {
  size_t n = rows * g->flat_in;
  if (fits(n, err)) return err->code;
  cl_kernel k = dev->k[FL_K_col2im];
  cl_uint r = (cl_uint)rows;
  ARG(k, 0, dx); ARG(k, 1, dcol); ARG(k, 2, r);
  int rc = geometry_args(k, 3, ls, g, err);
  /* a work-item per input pixel */
  return rc ? rc : fl__launch_1d(dev, k, rows * (size_t)g->h * (size_t)g->w,
                                 err);
}

/* rows, mode, then oh, ow, c, kh, kw, sh, sw, pt, pl, ph, pw from 3. */
static int pool_args(cl_kernel k, size_t rows, int filters, int pool,
                     const fl_layer_shape *g, fl_error *err) {
  cl_uint r = (cl_uint)rows;
  cl_int mode = pool == FL_POOL_MAX ? 1 : 2;
  cl_int v[11] = {g->oh,      g->ow,      filters,  g->pool_kh,
                  g->pool_kw, g->pool_sh, g->pool_sw, g->pool_pad_top,
                  g->pool_pad_left, g->ph, g->pw};
  ARG(k, 3, r); ARG(k, 4, mode);
  for (cl_uint j = 0; j < 11; j++) ARG(k, 5 + j, v[j]);
  return 0;
}

int fl__op_pool_forward(fl_device *dev, cl_mem y, cl_mem x, cl_mem argmax,
                        size_t rows, int filters, int pool,
                        const fl_layer_shape *g, fl_error *err) {
  size_t n = rows * (size_t)g->ph * (size_t)g->pw * (size_t)filters;
  if (fits(rows * (size_t)g->oh * (size_t)g->ow * (size_t)filters, err))
    return err->code;
  cl_kernel k = dev->k[FL_K_pool_forward];
  /* average pooling writes no argmax; any buffer stands in for it */
  cl_mem arg = argmax ? argmax : y;
  ARG(k, 0, y); ARG(k, 1, x); ARG(k, 2, arg);
  int rc = pool_args(k, rows, filters, pool, g, err);
  /* a work-item per output pixel */
  return rc ? rc : fl__launch_1d(dev, k, n / (size_t)filters, err);
}

int fl__op_pool_backward(fl_device *dev, cl_mem dx, cl_mem dy, cl_mem argmax,
                         size_t rows, int filters, int pool, cl_mem a,
                         fl_activation act, const fl_layer_shape *g,
                         fl_error *err) {
  size_t pixels = rows * (size_t)g->oh * (size_t)g->ow;
  if (fits(pixels * (size_t)filters, err)) return err->code;
  cl_kernel k = dev->k[FL_K_pool_backward];
  cl_mem arg = argmax ? argmax : dy, act_out = a ? a : dy;
  cl_int code = (cl_int)act, fuse = a != NULL;
  ARG(k, 0, dx); ARG(k, 1, dy); ARG(k, 2, arg);
  int rc = pool_args(k, rows, filters, pool, g, err);
  if (rc) return rc;
  ARG(k, 16, act_out); ARG(k, 17, code); ARG(k, 18, fuse);
  /* a work-item per input pixel */
  return fl__launch_1d(dev, k, pixels, err);
}

/* the short weight gradient's chunks (weight_grad, below) */
#define FL__DW_SMALL_ROWS 16 /* FL_TN_SMALL_M in gemm_tiled.cl */
#define FL__DW_SMALL_CHUNK 512

static bool dw_small(const fl_device *dev, const fl__layer_layout *l,
                     size_t m) {
  return dev->info.is_cpu && dev->gemm.impl == FL__GEMM_TILED &&
         l->w_rows <= FL__DW_SMALL_ROWS && m >= 2 * FL__DW_SMALL_CHUNK;
}

int fl__conv_alloc(fl_trainer *t, fl_error *err) {
  size_t B = (size_t)t->cfg.batch_size, dcol = 0, parts = 0, dw_parts = 0;
  int rc;
  for (int i = 0; i < t->lay.n_layers; i++) {
    const fl__layer_layout *l = &t->lay.l[i];
    if (!l->conv) continue;
    size_t patches = B * l->positions * l->w_rows;
    if ((rc = fl__buffer_create(t->dev, patches * sizeof(float), NULL,
                                &t->col[i], err)))
      return rc;
    if (i > 0 && patches > dcol) dcol = patches;
    size_t np = fl__bias_grad_chunks(B * l->positions) * l->units;
    if (np > parts) parts = np;
    if (dw_small(t->dev, l, B * l->positions)) {
      size_t nd = (B * l->positions + FL__DW_SMALL_CHUNK - 1) /
                  FL__DW_SMALL_CHUNK * l->w_rows * l->units;
      if (nd > dw_parts) dw_parts = nd;
    }
    int pool = t->layers[i].pool;
    if (pool == FL_POOL_NONE) continue;
    size_t pre = B * l->positions * l->units * sizeof(float);
    if ((rc = fl__buffer_create(t->dev, pre, NULL, &t->pre[i], err)) ||
        (rc = fl__buffer_create(t->dev, pre, NULL, &t->dpre[i], err)))
      return rc;
    if (pool == FL_POOL_MAX &&
        (rc = fl__buffer_create(t->dev, B * l->out * sizeof(cl_uint), NULL,
                                &t->pool_arg[i], err)))
      return rc;
  }
  if (parts && t->dev->info.is_cpu &&
      ((rc = fl__buffer_create(t->dev, parts * sizeof(float), NULL,
                               &t->bias_part, err)) ||
       (rc = fl__buffer_create(t->dev, 2 * parts * sizeof(cl_uint), NULL,
                               &t->bias_flags, err))))
    return rc;
  if (dw_parts && (rc = fl__buffer_create(t->dev, dw_parts * sizeof(float),
                                          NULL, &t->dw_part, err)))
    return rc;
  if (dcol)
    return fl__buffer_create(t->dev, dcol * sizeof(float), NULL, &t->dcol, err);
  return 0;
}

void fl__conv_free(fl_trainer *t) {
  for (int i = 0; i < FL_MAX_LAYERS; i++) {
    fl__buffer_release(&t->col[i]);
    fl__buffer_release(&t->pre[i]);
    fl__buffer_release(&t->dpre[i]);
    fl__buffer_release(&t->pool_arg[i]);
  }
  fl__buffer_release(&t->dcol);
  fl__buffer_release(&t->bias_part);
  fl__buffer_release(&t->bias_flags);
  fl__buffer_release(&t->dw_part);
}

int fl__conv_forward(fl_trainer *t, int i, cl_mem in, size_t in_off,
                     size_t rows, fl_error *err) {
  fl_device *dev = t->dev;
  const fl__layer_layout *l = &t->lay.l[i];
  const fl_layer_spec *ls = &t->layers[i];
  size_t m = rows * l->positions;
  bool pooled = ls->pool != FL_POOL_NONE;
  /* z (rows*oh*ow, f) = act(col · W + b): the dense layer's fused GEMM on
   * the patches, straight into act[i] when there is no pooling */
  fl__gemm_fused ep = {FL__EP_BIAS_ACT, ls->activation, t->params, l->b_off,
                       NULL, NULL, 0};
  cl_mem z = pooled ? t->pre[i] : t->act[i];
  int rc;
  if ((rc = fl__op_im2col(dev, t->col[i], in, in_off, rows, ls, &l->shape,
                          err)) ||
      (rc = fl__op_gemm_ep(dev, 0, 0, m, l->units, l->w_rows, t->col[i], 0,
                           l->w_rows, t->params, l->w_off, l->units, z, &ep,
                           err)))
    return rc;
  if (!pooled) return 0;
  return fl__op_pool_forward(dev, t->act[i], t->pre[i], t->pool_arg[i], rows,
                             ls->units, ls->pool, &l->shape, err);
}

/* The weight gradient's TN GEMM, dW (w_rows, f) = col^T · dz over m =
 * rows*oh*ow patches, in chunks of patches accumulated into dW (beta 1
 * after the first) on CPU devices. Why: the tiled TN kernel gives each
 * work-item one tile of dW and the whole k = m range, so every work-item
 * streams its columns of col and dz through the caches once; with m in
 * the tens of thousands (the second conv layer at batch 128:
 * col 15488 x 288, dz 15488 x 64, 22 MB) nothing stays in L2 and the GEMM
 * ran at 40-50 GFLOP/s. A chunk whose col and dz rows fit in about
 * FL__DW_CHUNK_BYTES is read from L2 by all the tiles that share it:
 * 100-114 GFLOP/s there (bench/conv_rate.c; 256-384 patch rows were the
 * best, 512 (720 KB) already slower, the Xeon's L2 being 1 MB). Only when
 * dW is at least FL__DW_CHUNK_MIN_ROWS tall: the first layer's 9 x 32 is
 * one tile, one work-item, and chunks only added launches (1.6 -> 2.0
 * ms). The chunks depend on the shapes only, so a seed's results still
 * repeat bit for bit; they are not the single pass's bits (the partial
 * sums are added chunk by chunk).
 * A dW of at most FL__DW_SMALL_ROWS rows (the first layer's: kh*kw*c with
 * one or a few channels) goes to gemm_tn_small_part instead: chunks of
 * FL__DW_SMALL_CHUNK patches on all cores, each writing its own (w_rows,
 * f) part into dw_part, summed in chunk order by bias_grad_reduce. */
#define FL__DW_CHUNK_BYTES (384 * 1024)
#define FL__DW_CHUNK_MIN_ROWS 32
/* dW (w_rows, f) at grads[w_off] by gemm_tn_small_part's chunks. */
static int weight_grad_small(fl_trainer *t, const fl__layer_layout *l,
                             cl_mem col, cl_mem dz, size_t m, fl_error *err) {
  fl_device *dev = t->dev;
  size_t chunks = (m + FL__DW_SMALL_CHUNK - 1) / FL__DW_SMALL_CHUNK;
  size_t n = l->w_rows * l->units;
  if (fits(m * l->w_rows, err) || fits(m * l->units, err) ||
      fits(chunks * n, err) || fits(l->w_off + n, err))
    return err->code;
  cl_kernel k = dev->k[FL_K_gemm_tn_small_part];
  cl_uint zero = 0, M = (cl_uint)l->w_rows, N = (cl_uint)l->units;
  cl_uint K = (cl_uint)m, per = FL__DW_SMALL_CHUNK;
  ARG(k, 0, t->dw_part); ARG(k, 1, col); ARG(k, 2, zero); ARG(k, 3, dz);
  ARG(k, 4, zero); ARG(k, 5, M); ARG(k, 6, N); ARG(k, 7, K); ARG(k, 8, per);
  /* an item per (chunk, 8 filters) */
  int rc = fl__launch_1d(dev, k, chunks * ((l->units + 7) / 8), err);
  if (rc) return rc;
  k = dev->k[FL_K_bias_grad_reduce];
  cl_uint off = (cl_uint)l->w_off, ch = (cl_uint)chunks, nn = (cl_uint)n;
  cl_int track = 0;
  ARG(k, 0, t->grads); ARG(k, 1, off); ARG(k, 2, t->dw_part);
  ARG(k, 3, t->dw_part); ARG(k, 4, ch); ARG(k, 5, nn); ARG(k, 6, track);
  ARG(k, 7, t->dw_part); ARG(k, 8, t->dw_part); ARG(k, 9, zero);
  return fl__launch_1d(dev, k, n, err); /* an item per dW element */
}

static int weight_grad(fl_trainer *t, int i, cl_mem dz, size_t m,
                       fl_error *err) {
  fl_device *dev = t->dev;
  const fl__layer_layout *l = &t->lay.l[i];
  fl__gemm_fused none = {FL__EP_NONE, FL_ACT_LINEAR, NULL, 0, NULL, NULL, 0};
  if (dw_small(dev, l, m) && t->dw_part)
    return weight_grad_small(t, l, t->col[i], dz, m, err);
  size_t chunk = m;
  if (dev->info.is_cpu && dev->gemm.impl == FL__GEMM_TILED &&
      l->w_rows >= FL__DW_CHUNK_MIN_ROWS) {
    chunk = FL__DW_CHUNK_BYTES / ((l->w_rows + l->units) * sizeof(float));
    if (chunk < 16) chunk = 16;
  }
  for (size_t k0 = 0; k0 < m; k0 += chunk) {
    size_t kc = m - k0 < chunk ? m - k0 : chunk;
    int rc = fl__op_gemm_ep_with(dev, &dev->gemm, 1, 0, l->w_rows, l->units,
                                 kc, 1.0f, t->col[i], k0 * l->w_rows,
                                 l->w_rows, dz, k0 * l->units, l->units,
                                 k0 ? 1.0f : 0.0f, t->grads, l->w_off,
                                 l->units, &none, err);
    if (rc) return rc;
  }
  return 0;
}

int fl__conv_backward(fl_trainer *t, int i, size_t rows, bool track,
                      fl_error *err) {
  fl_device *dev = t->dev;
  const fl__layer_layout *l = &t->lay.l[i];
  const fl_layer_spec *ls = &t->layers[i];
  size_t m = rows * l->positions;
  bool pooled = ls->pool != FL_POOL_NONE;
  int rc;
  /* dz (rows*oh*ow, f): without pooling the layer above's NT GEMM already
   * applied act' to dact[i]; with pooling the gradient goes back through
   * the pooling, times act' of the pre-pooling activation in the same
   * kernel. */
  cl_mem dz = t->dact[i], a = t->act[i];
  if (pooled) {
    dz = t->dpre[i];
    a = t->pre[i];
    if ((rc = fl__op_pool_backward(dev, dz, t->dact[i], t->pool_arg[i], rows,
                                   ls->units, ls->pool, a, ls->activation,
                                   &l->shape, err)))
      return rc;
  }
  /* db (f) and the per-filter trackers: a filter is active when any
   * position of any row is; in chunks of patches on all cores (CPU) */
  if ((rc = fl__op_bias_grad_tall(dev, t->grads, l->b_off, dz, a, m,
                                  l->units, ls->activation,
                                  track ? t->unit_active : NULL,
                                  track ? t->unit_sat : NULL, l->unit_off,
                                  t->bias_part, t->bias_flags, err)))
    return rc;
  /* dW (kh*kw*c, f) = col^T (kh*kw*c, m) · dz (m, f) */
  fl__gemm_fused none = {FL__EP_NONE, FL_ACT_LINEAR, NULL, 0, NULL, NULL, 0};
  if ((rc = weight_grad(t, i, dz, m, err))) return rc;
  if (i == 0) return 0;
  /* dcol (m, kh*kw*c) = dz (m, f) · W^T (f, kh*kw*c); dx = col2im(dcol) */
  if ((rc = fl__op_gemm_ep(dev, 0, 1, m, l->w_rows, l->units, dz, 0, l->units,
                           t->params, l->w_off, l->units, t->dcol, &none,
                           err)) ||
      (rc = fl__op_col2im(dev, t->dact[i - 1], t->dcol, rows, ls, &l->shape,
                          err)))
    return rc;
  return 0;
}
