/* engine/ops.c — host-side launchers for the flatline kernels and the
 * CLBlast GEMM: argument setting, global sizes, error mapping. Each launcher
 * enqueues on the device's in-order queue and returns without waiting. */
#include <clblast_c.h>
#include <math.h>
#include <stdint.h>

#include "engine_internal.h"

#define ARG(kernel, i, v)                                                     \
  FL_CL_CHECK(err, clSetKernelArg((kernel), (i), sizeof(v), &(v)))

/* Kernels index with uint: refuse sizes that do not fit. */
static int fits_u32(size_t v, fl_error *err) {
  if (v > UINT32_MAX)
    return fl_error_set(err, FL_ETOOBIG, "size %zu exceeds the kernels' 32-bit "
                        "index range", v);
  return 0;
}

/* With profiling on (fl_device_profile_start), wait for each op's event
 * and add its device time to its slot. The queue is in order, so waiting
 * only stops the host from running ahead: device times stay exact, while
 * wall time then includes every launch's round trip. */
static int profiled(fl_device *dev, int slot, cl_event ev, fl_error *err) {
  if (!ev) return 0;
  cl_ulong t0 = 0, t1 = 0;
  cl_int e = clWaitForEvents(1, &ev);
  if (e == CL_SUCCESS)
    e = clGetEventProfilingInfo(ev, CL_PROFILING_COMMAND_START, sizeof t0, &t0, NULL);
  if (e == CL_SUCCESS)
    e = clGetEventProfilingInfo(ev, CL_PROFILING_COMMAND_END, sizeof t1, &t1, NULL);
  clReleaseEvent(ev);
  if (e != CL_SUCCESS)
    return fl__cl_fail(err, e, "profiling an op", __FILE__, __LINE__);
  dev->prof[slot].seconds += t1 > t0 ? (double)(t1 - t0) * 1e-9 : 0.0;
  dev->prof[slot].calls++;
  return 0;
}

static int kernel_slot(const fl_device *dev, cl_kernel k) {
  for (int i = 0; i < FL_K_COUNT; i++)
    if (dev->k[i] == k) return i;
  return FL__PROF_OTHER;
}

/* Every flatline kernel launch goes through here. */
static int enqueue_nd(fl_device *dev, cl_kernel k, cl_uint dims,
                      const size_t *global, const size_t *local, fl_error *err) {
  if (global[0] == 0) return 0;
  cl_event ev = NULL;
  FL_CL_CHECK(err, clEnqueueNDRangeKernel(dev->queue, k, dims, NULL, global,
                                          local, 0, NULL,
                                          dev->profiling ? &ev : NULL));
  /* the slot search only when profiling: this runs for every launch */
  return ev ? profiled(dev, kernel_slot(dev, k), ev, err) : 0;
}

static int enqueue(fl_device *dev, cl_kernel k, size_t global,
                   const size_t *local, fl_error *err) {
  return enqueue_nd(dev, k, 1, &global, local, err);
}

/* POCL's pthread device runs one work-group per core at a time, and left
 * to choose it makes the whole range a single work-group when it fits
 * (4096 items): one core then does all the work. Work-groups of 16 items
 * keep both cores busy and were the fastest of 16..1024 for every
 * elementwise kernel here (Adam's update: 300 -> 105 us per step on the
 * 784-256-10 job). One size for every range also means one compiled
 * variant per kernel (POCL compiles per work-group size on first launch),
 * which the daemon's warm-up compiles at start (engine/warmup.c). GPUs
 * choose well themselves. Every 1-D kernel ignores items past its size, so
 * the range is rounded up to whole groups. */
#define FL__CPU_LOCAL 16

static int launch_1d(fl_device *dev, cl_kernel k, size_t global,
                     fl_error *err) {
  if (!dev->info.is_cpu) return enqueue(dev, k, global, NULL, err);
  size_t local = FL__CPU_LOCAL;
  size_t rounded = (global + local - 1) / local * local;
  return enqueue(dev, k, rounded, &local, err);
}

int fl__launch_1d(fl_device *dev, cl_kernel k, size_t global, fl_error *err) {
  return launch_1d(dev, k, global, err);
}

int fl__op_gather_rows(fl_device *dev, cl_mem dst, cl_mem src, cl_mem perm,
                       size_t start, size_t rows, size_t d, fl_error *err) {
  cl_kernel k = dev->k[dev->wide_kernels ? FL_K_gather_elems : FL_K_gather_rows];
  cl_uint s = (cl_uint)start, r = (cl_uint)rows, dd = (cl_uint)d;
  if (fits_u32(start + rows, err) || fits_u32(rows * d, err)) return err->code;
  ARG(k, 0, dst); ARG(k, 1, src); ARG(k, 2, perm);
  ARG(k, 3, s); ARG(k, 4, r); ARG(k, 5, dd);
  /* a work-item per element on GPUs, per row on CPUs */
  return launch_1d(dev, k, dev->wide_kernels ? rows * d : rows, err);
}

static const struct {
  size_t rows, cols;
  int plain; /* a packed-A variant's unpacked twin; -1: not packed */
} gemm_tiles[FL__GEMM_NVARIANTS] = {
#define FL__GEMM_TILE(name, r, c, plain) {r, c, plain},
    FL_GEMM_VARIANTS(FL__GEMM_TILE)
#undef FL__GEMM_TILE
};

/* B (k, n) — or, transposed, B stored (n, k) — copied into ceil(n / 16)
 * contiguous K x 16 panels at the start of the device's pack buffer
 * (pack_panels*); the caller reserved it. */
static int pack_b(fl_device *dev, int transposed, cl_mem b, cl_uint b_off,
                  cl_uint ldb, size_t k, size_t n, fl_error *err) {
  size_t np = (n + 15) / 16;
  cl_kernel pk = dev->k[transposed ? FL_K_pack_panels_t : FL_K_pack_panels];
  cl_uint uk = (cl_uint)k, un = (cl_uint)n;
  ARG(pk, 0, dev->pack_tmp.buf); ARG(pk, 1, b); ARG(pk, 2, b_off); ARG(pk, 3, ldb);
  ARG(pk, 4, uk); ARG(pk, 5, un);
  return launch_1d(dev, pk, np * ((k + 15) / 16), err);
}

/* op(A) (m, k) — A (m, k), or stored (k, m) when trans_a, rows through
 * ep->a_rows when set — copied into ceil(m / mr) contiguous K x mr panels
 * in the device's pack buffer at element a_dst (pack_a_panels). */
static int pack_a(fl_device *dev, int trans_a, cl_mem a, cl_uint a_off,
                  cl_uint lda, size_t m, size_t k, size_t mr,
                  const fl__gemm_fused *ep, cl_uint a_dst, fl_error *err) {
  cl_kernel pk = dev->k[FL_K_pack_a_panels];
  cl_uint um = (cl_uint)m, uk = (cl_uint)k, umr = (cl_uint)mr,
          ro = (cl_uint)ep->a_rows_off;
  cl_int ta = trans_a, gather = ep->a_rows != NULL;
  cl_mem rows = ep->a_rows;
  ARG(pk, 0, dev->pack_tmp.buf); ARG(pk, 1, a_dst);
  ARG(pk, 2, a); ARG(pk, 3, a_off); ARG(pk, 4, lda); ARG(pk, 5, um);
  ARG(pk, 6, uk); ARG(pk, 7, umr); ARG(pk, 8, ta); ARG(pk, 9, rows);
  ARG(pk, 10, ro); ARG(pk, 11, gather);
  return launch_1d(dev, pk, ((m + mr - 1) / mr) * ((k + 15) / 16), err);
}

/* The pack buffer's first size: the panels of every GEMM up to ~250k
 * floats of A and B together (784-256-10 at batch 128 packs nothing;
 * 784-512-256-10's first layer at batch 512 needs 3.2 MB), so small jobs
 * and the kernel tests create it once instead of growing it shape by
 * shape. Why it matters:
 * after the buffer had been re-created twice, Oclgrind 21.10 reported every
 * read of the third one as uninitialized, with the values right (kernel
 * tests under tests/oclgrind.sh; also at 9cece27, before the packed A, with
 * NN 8x32 on 13x40x7, 13x60x7, then 7x50x17). */
#define FL__PACK_MIN_BYTES ((size_t)1 << 20)

/* kernels/gemm_tiled.cl: one work-item (and work-group) per tile.
 *   NN, TN: the broadcast tiles of the plan's variant; B packed first when
 *     the GEMM is large (m n k >= dev->pack_min_volume).
 *   NT: with K <= 16, gemm_nt_smallk; large ones as a packed NN (B packed
 *     transposed); otherwise gemm_nt's dot products. */
static int gemm_tiled(fl_device *dev, const fl__gemm_plan *plan, int trans_a,
                      int trans_b, size_t m, size_t n, size_t k, float alpha,
                      cl_mem a, size_t a_off, size_t lda, cl_mem b,
                      size_t b_off, size_t ldb, float beta, cl_mem c,
                      size_t c_off, size_t ldc, const fl__gemm_fused *ep,
                      fl_error *err) {
  bool large = m * n * k >= dev->pack_min_volume;
  bool broadcast = !trans_b || (k > FL__GEMM_NT_KMAX && large), apack = false;
  cl_kernel kern;
  size_t tr, tc;
  if (trans_b && !broadcast) {
    bool small_k = k <= FL__GEMM_NT_KMAX;
    kern = dev->k[small_k ? FL_K_gemm_nt_smallk : FL_K_gemm_nt];
    tr = small_k ? FL__GEMM_NTS_ROWS : FL__GEMM_NT_TILE;
    tc = small_k ? 16 : FL__GEMM_NT_TILE * FL__GEMM_NT_STRIP;
  } else {
    int v = trans_a ? plan->tn : plan->nn;
    if (v < 0 || v >= FL__GEMM_NVARIANTS) v = 0;
    /* A 32-column tile on a GEMM at most 16 wide (the 10-class output
     * layer) computes a whole vector for nothing and loads the other lane
     * by lane: 8x32 ran NN 128x10x256 at 10 GFLOP/s, 12x16 at 37 on the
     * AVX-512 Xeon. Same order of sums in every variant: same bits. */
    if (gemm_tiles[v].cols > 16 && n <= 16) v = FL__GEMM_VARIANT_NARROW;
    /* A packed A pays for its copy only where B is packed too. */
    if (gemm_tiles[v].plain >= 0 && !large) v = gemm_tiles[v].plain;
    apack = gemm_tiles[v].plain >= 0;
    kern = dev->k[(trans_a ? FL_K_gemm_tn_6x16 : FL_K_gemm_nn_6x16) + v];
    tr = gemm_tiles[v].rows;
    tc = gemm_tiles[v].cols;
  }
  /* The largest element index each operand reaches must fit a uint. */
  size_t a_end = a_off + (trans_a ? k * lda : m * lda);
  size_t b_end = b_off + (trans_b ? n * ldb : k * ldb);
  if (fits_u32(a_end, err) || fits_u32(b_end, err) ||
      fits_u32(c_off + m * ldc, err) || fits_u32(((n + 15) / 16) * 16 * k, err))
    return err->code;
  cl_uint um = (cl_uint)m, un = (cl_uint)n, uk = (cl_uint)k,
          ao = (cl_uint)a_off, bo = (cl_uint)b_off, co = (cl_uint)c_off,
          ula = (cl_uint)lda, ulb = (cl_uint)ldb, ulc = (cl_uint)ldc;
  ARG(kern, 0, um); ARG(kern, 1, un); ARG(kern, 2, uk); ARG(kern, 3, alpha);
  ARG(kern, 4, a); ARG(kern, 5, ao); ARG(kern, 6, ula);
  ARG(kern, 7, b); ARG(kern, 8, bo); ARG(kern, 9, ulb);
  ARG(kern, 10, beta); ARG(kern, 11, c); ARG(kern, 12, co); ARG(kern, 13, ulc);
  /* The epilogue's arguments; act -1 = none (see gemm_tiled.cl). */
  cl_int act = -1;
  cl_mem none = NULL;
  if (ep->kind == FL__EP_BIAS_ACT)
    act = ep->act == FL_ACT_SOFTMAX ? FL_ACT_LINEAR : (cl_int)ep->act;
  else if (ep->kind == FL__EP_ACT_GRAD && ep->act != FL_ACT_LINEAR)
    act = (cl_int)ep->act;
  cl_mem out = act == -1 || ep->kind != FL__EP_ACT_GRAD ? none : ep->out;
  if (!broadcast) {
    ARG(kern, 14, out); ARG(kern, 15, act);
  } else {
    cl_int packed = large, grad = trans_b && act != -1;
    cl_mem bias = act == -1 || grad ? none : ep->bias, rows = ep->a_rows;
    cl_uint bo2 = (cl_uint)ep->bias_off, ro = (cl_uint)ep->a_rows_off;
    cl_int gather = rows != NULL;
    if ((ep->kind == FL__EP_BIAS_ACT && fits_u32(ep->bias_off + n, err)) ||
        fits_u32(ep->a_rows_off + (trans_a ? k : m), err))
      return err->code;
    /* The pack buffer: B's panels, then A's (apack); at least
     * FL__PACK_MIN_BYTES. */
    size_t b_floats = packed ? ((n + 15) / 16) * 16 * k : 0;
    size_t a_floats = apack ? ((m + tr - 1) / tr) * tr * k : 0;
    if (packed) {
      if (fits_u32(b_floats + a_floats, err)) return err->code;
      size_t need = (b_floats + a_floats) * sizeof(float);
      int rc = fl__scratch_reserve(
          dev, &dev->pack_tmp, need > FL__PACK_MIN_BYTES ? need : FL__PACK_MIN_BYTES,
          err);
      if (!rc) rc = pack_b(dev, trans_b, b, bo, ulb, k, n, err);
      if (!rc && apack)
        rc = pack_a(dev, trans_a, a, ao, ula, m, k, tr, ep, (cl_uint)b_floats, err);
      if (rc) return rc;
      ARG(kern, 7, dev->pack_tmp.buf);
    }
    if (apack) {
      cl_uint a_at = (cl_uint)b_floats;
      ARG(kern, 4, dev->pack_tmp.buf); ARG(kern, 5, a_at);
    }
    ARG(kern, 14, bias); ARG(kern, 15, bo2); ARG(kern, 16, act);
    ARG(kern, 17, rows); ARG(kern, 18, ro); ARG(kern, 19, gather);
    ARG(kern, 20, packed); ARG(kern, 21, out); ARG(kern, 22, grad);
  }
  size_t global = ((m + tr - 1) / tr) * ((n + tc - 1) / tc), local = 1;
  return enqueue(dev, kern, global, &local, err);
}

/* CLBlast with the device's scratch buffer: the indirect GEMM would
 * otherwise allocate (and free) its padded copies on every call. */
static int gemm_clblast(fl_device *dev, int trans_a, int trans_b, size_t m,
                        size_t n, size_t k, float alpha, cl_mem a,
                        size_t a_off, size_t lda, cl_mem b, size_t b_off,
                        size_t ldb, float beta, cl_mem c, size_t c_off,
                        size_t ldc, fl_error *err) {
  CLBlastTranspose ta = trans_a ? CLBlastTransposeYes : CLBlastTransposeNo;
  CLBlastTranspose tb = trans_b ? CLBlastTransposeYes : CLBlastTransposeNo;
  size_t need = 0;
  CLBlastStatusCode s = CLBlastSGemmTempBufferSize(
      CLBlastLayoutRowMajor, ta, tb, m, n, k, a_off, lda, b_off, ldb, c_off,
      ldc, &dev->queue, &need);
  if (s != CLBlastSuccess)
    return fl__blas_fail(err, s, "CLBlastSGemmTempBufferSize", __FILE__, __LINE__);
  int rc = fl__scratch_reserve(dev, &dev->gemm_tmp, need, err);
  if (rc) return rc;
  cl_event ev = NULL, *evp = dev->profiling ? &ev : NULL;
  if (need == 0)
    s = CLBlastSgemm(CLBlastLayoutRowMajor, ta, tb, m, n, k, alpha, a, a_off,
                     lda, b, b_off, ldb, beta, c, c_off, ldc, &dev->queue, evp);
  else
    s = CLBlastSgemmWithTempBuffer(CLBlastLayoutRowMajor, ta, tb, m, n, k,
                                   alpha, a, a_off, lda, b, b_off, ldb, beta,
                                   c, c_off, ldc, &dev->queue, evp,
                                   dev->gemm_tmp.buf);
  if (s != CLBlastSuccess)
    return fl__blas_fail(err, s, "CLBlastSgemm", __FILE__, __LINE__);
  /* CLBlast's event is its last kernel's: the indirect GEMM's copy and
   * pad kernels before it are not counted. */
  return profiled(dev, FL__PROF_CLBLAST, ev, err);
}

int fl__op_gemm_ep_with(fl_device *dev, const fl__gemm_plan *plan,
                        int trans_a, int trans_b, size_t m, size_t n,
                        size_t k, float alpha, cl_mem a, size_t a_off,
                        size_t lda, cl_mem b, size_t b_off, size_t ldb,
                        float beta, cl_mem c, size_t c_off, size_t ldc,
                        const fl__gemm_fused *ep, fl_error *err) {
  static const fl__gemm_fused no_ep = {FL__EP_NONE, FL_ACT_LINEAR, NULL, 0,
                                       NULL, NULL, 0};
  if (!ep) ep = &no_ep;
  if (ep->a_rows && (plan->impl != FL__GEMM_TILED || trans_b))
    return fl_error_set(err, FL_EINVAL, "a row-gathered A needs the tiled "
                        "NN/TN kernels (check fl__gemm_gathers first)");
  /* The fused forms: NN carries bias+activation, NT the activation's
   * derivative; anything else runs the epilogue as its own kernel. */
  bool fusable = ep->kind == FL__EP_NONE ||
                 (ep->kind == FL__EP_BIAS_ACT && !trans_a && !trans_b) ||
                 (ep->kind == FL__EP_ACT_GRAD && !trans_a && trans_b);
  if (plan->impl == FL__GEMM_TILED && !(trans_a && trans_b) && fusable)
    return gemm_tiled(dev, plan, trans_a, trans_b, m, n, k, alpha, a, a_off,
                      lda, b, b_off, ldb, beta, c, c_off, ldc, ep, err);
  int rc = gemm_clblast(dev, trans_a, trans_b, m, n, k, alpha, a, a_off, lda,
                        b, b_off, ldb, beta, c, c_off, ldc, err);
  if (rc || ep->kind == FL__EP_NONE) return rc;
  if (c_off != 0 || ldc != n)
    return fl_error_set(err, FL_EINVAL, "a GEMM epilogue needs a packed C "
                        "(offset 0, ldc == n); got offset %zu, ldc %zu for "
                        "n %zu", c_off, ldc, n);
  if (ep->kind == FL__EP_BIAS_ACT)
    return fl__op_bias_act_forward(dev, c, ep->bias, ep->bias_off, m, n,
                                   ep->act, err);
  return fl__op_act_backward(dev, c, ep->out, m, n, ep->act, err);
}

int fl__op_gemm_with(fl_device *dev, const fl__gemm_plan *plan, int trans_a,
                     int trans_b, size_t m, size_t n, size_t k, float alpha,
                     cl_mem a, size_t a_off, size_t lda, cl_mem b,
                     size_t b_off, size_t ldb, float beta, cl_mem c,
                     size_t c_off, size_t ldc, fl_error *err) {
  return fl__op_gemm_ep_with(dev, plan, trans_a, trans_b, m, n, k, alpha, a,
                             a_off, lda, b, b_off, ldb, beta, c, c_off, ldc,
                             NULL, err);
}

int fl__op_gemm(fl_device *dev, int trans_a, int trans_b, size_t m, size_t n,
                size_t k, float alpha, cl_mem a, size_t a_off, size_t lda,
                cl_mem b, size_t b_off, size_t ldb, float beta, cl_mem c,
                size_t c_off, size_t ldc, fl_error *err) {
  return fl__op_gemm_with(dev, &dev->gemm, trans_a, trans_b, m, n, k, alpha, a,
                          a_off, lda, b, b_off, ldb, beta, c, c_off, ldc, err);
}

/* The trainer's form: alpha 1, beta 0, C packed (m, n). */
int fl__op_gemm_ep(fl_device *dev, int trans_a, int trans_b, size_t m,
                   size_t n, size_t k, cl_mem a, size_t a_off, size_t lda,
                   cl_mem b, size_t b_off, size_t ldb, cl_mem c,
                   const fl__gemm_fused *ep, fl_error *err) {
  return fl__op_gemm_ep_with(dev, &dev->gemm, trans_a, trans_b, m, n, k, 1.0f,
                             a, a_off, lda, b, b_off, ldb, 0.0f, c, 0, n, ep,
                             err);
}

/* Biases live inside the flat parameter buffer: their offset is a kernel
 * argument (sub-buffers would need device-specific alignment). */
int fl__op_bias_act_forward(fl_device *dev, cl_mem z, cl_mem bias,
                            size_t bias_off, size_t rows, size_t n,
                            fl_activation act, fl_error *err) {
  cl_kernel k = dev->k[FL_K_bias_act_forward];
  cl_uint r = (cl_uint)rows, nn = (cl_uint)n, off = (cl_uint)bias_off;
  cl_int a = act == FL_ACT_SOFTMAX ? FL_ACT_LINEAR : (cl_int)act;
  if (fits_u32(rows * n, err) || fits_u32(bias_off + n, err)) return err->code;
  ARG(k, 0, z); ARG(k, 1, bias); ARG(k, 2, off);
  ARG(k, 3, r); ARG(k, 4, nn); ARG(k, 5, a);
  return launch_1d(dev, k, rows * n, err);
}

int fl__op_act_backward(fl_device *dev, cl_mem da, cl_mem a, size_t rows,
                        size_t n, fl_activation act, fl_error *err) {
  cl_kernel k = dev->k[FL_K_act_backward];
  cl_uint r = (cl_uint)rows, nn = (cl_uint)n;
  cl_int ac = (cl_int)act;
  if (act == FL_ACT_LINEAR) return 0; /* derivative 1: nothing to do */
  if (fits_u32(rows * n, err)) return err->code;
  ARG(k, 0, da); ARG(k, 1, a); ARG(k, 2, r); ARG(k, 3, nn); ARG(k, 4, ac);
  return launch_1d(dev, k, rows * n, err);
}

int fl__op_bias_grad(fl_device *dev, cl_mem db, size_t db_off, cl_mem dz,
                     cl_mem a, size_t rows, size_t n, fl_activation act,
                     cl_mem active, cl_mem sat, size_t unit_off,
                     fl_error *err) {
  cl_kernel k = dev->k[dev->wide_kernels ? FL_K_bias_grad_wg : FL_K_bias_grad];
  cl_uint r = (cl_uint)rows, nn = (cl_uint)n, off = (cl_uint)db_off,
          uoff = (cl_uint)unit_off;
  cl_int ac = (cl_int)act, track = active != NULL;
  if (fits_u32(rows * n, err) || fits_u32(db_off + n, err) ||
      fits_u32(unit_off + n, err))
    return err->code;
  ARG(k, 0, db); ARG(k, 1, off); ARG(k, 2, dz); ARG(k, 3, a); ARG(k, 4, r);
  ARG(k, 5, nn); ARG(k, 6, ac); ARG(k, 7, track); ARG(k, 8, active);
  ARG(k, 9, sat); ARG(k, 10, uoff);
  if (!dev->wide_kernels) return launch_1d(dev, k, (n + 7) / 8, err); /* 8 units per item */
  size_t global[2] = {(n + FL__BG_UNITS - 1) / FL__BG_UNITS * FL__BG_UNITS, FL__BG_SLICES};
  size_t local[2] = {FL__BG_UNITS, FL__BG_SLICES};
  return enqueue_nd(dev, k, 2, global, local, err);
}

size_t fl__bias_grad_chunks(size_t rows) {
  return (rows + FL__BG_CHUNK_ROWS - 1) / FL__BG_CHUNK_ROWS;
}

int fl__op_bias_grad_tall(fl_device *dev, cl_mem db, size_t db_off,
                          cl_mem dz, cl_mem a, size_t rows, size_t n,
                          fl_activation act, cl_mem active, cl_mem sat,
                          size_t unit_off, cl_mem part, cl_mem flags,
                          fl_error *err) {
  size_t chunks = fl__bias_grad_chunks(rows), ng = (n + 7) / 8;
  if (!dev->info.is_cpu || dev->wide_kernels || chunks < 2 || !part)
    return fl__op_bias_grad(dev, db, db_off, dz, a, rows, n, act, active,
                            sat, unit_off, err);
  if (fits_u32(rows * n, err) || fits_u32(2 * chunks * n, err) ||
      fits_u32(db_off + n, err) || fits_u32(unit_off + n, err))
    return err->code;
  cl_kernel k = dev->k[FL_K_bias_grad_part];
  cl_uint r = (cl_uint)rows, nn = (cl_uint)n, per = FL__BG_CHUNK_ROWS;
  cl_uint ch = (cl_uint)chunks, off = (cl_uint)db_off, uoff = (cl_uint)unit_off;
  cl_int ac = (cl_int)act, track = active != NULL;
  ARG(k, 0, part); ARG(k, 1, flags); ARG(k, 2, dz); ARG(k, 3, a);
  ARG(k, 4, r); ARG(k, 5, nn); ARG(k, 6, ac); ARG(k, 7, per);
  /* an item per (chunk, 8 units), the chunk's items side by side */
  int rc = launch_1d(dev, k, chunks * ng, err);
  if (rc) return rc;
  k = dev->k[FL_K_bias_grad_reduce];
  cl_mem act_buf = active ? active : flags, sat_buf = sat ? sat : flags;
  ARG(k, 0, db); ARG(k, 1, off); ARG(k, 2, part); ARG(k, 3, flags);
  ARG(k, 4, ch); ARG(k, 5, nn); ARG(k, 6, track); ARG(k, 7, act_buf);
  ARG(k, 8, sat_buf); ARG(k, 9, uoff);
  return launch_1d(dev, k, n, err); /* an item per unit */
}

int fl__op_softmax_forward(fl_device *dev, cl_mem a, size_t rows, size_t n,
                           fl_error *err) {
  cl_kernel k = dev->k[FL_K_softmax_forward];
  cl_uint r = (cl_uint)rows, nn = (cl_uint)n;
  if (fits_u32(rows * n, err)) return err->code;
  ARG(k, 0, a); ARG(k, 1, r); ARG(k, 2, nn);
  return launch_1d(dev, k, rows, err);
}

int fl__op_softmax_backward(fl_device *dev, cl_mem da, cl_mem a, size_t rows,
                            size_t n, fl_error *err) {
  cl_kernel k = dev->k[FL_K_softmax_backward];
  cl_uint r = (cl_uint)rows, nn = (cl_uint)n;
  if (fits_u32(rows * n, err)) return err->code;
  ARG(k, 0, da); ARG(k, 1, a); ARG(k, 2, r); ARG(k, 3, nn);
  return launch_1d(dev, k, rows, err);
}

int fl__op_loss_rows(fl_device *dev, cl_mem out, size_t rows, size_t k_cls,
                     const fl__loss_args *la, cl_mem dout, cl_mem row_loss,
                     cl_mem row_pred, cl_mem row_correct, fl_error *err) {
  cl_kernel k = dev->k[FL_K_loss_rows];
  cl_uint r = (cl_uint)rows, kk = (cl_uint)k_cls, st = (cl_uint)la->start;
  cl_int mode = la->mode, lk = la->label_kind == FL_LABELS_IDS ? 0 : 1;
  cl_int use_perm = la->perm != NULL;
  float gs = la->grad_scale;
  if (fits_u32(rows * k_cls, err) || fits_u32(la->start + rows, err))
    return err->code;
  ARG(k, 0, out); ARG(k, 1, r); ARG(k, 2, kk); ARG(k, 3, mode); ARG(k, 4, lk);
  ARG(k, 5, la->ids); ARG(k, 6, la->y); ARG(k, 7, la->perm);
  ARG(k, 8, use_perm); ARG(k, 9, st); ARG(k, 10, gs); ARG(k, 11, dout);
  ARG(k, 12, row_loss); ARG(k, 13, row_pred); ARG(k, 14, row_correct);
  cl_int use_cw = la->class_weight != NULL;
  ARG(k, 15, la->class_weight); ARG(k, 16, use_cw);
  return launch_1d(dev, k, rows, err);
}

/* The mask's stream for one layer of one step: two rounds of splitmix64
 * over (seed, step, layer), so neighbouring steps and layers share no
 * counter range. */
uint64_t fl__dropout_stream(uint64_t seed, long step, int layer) {
  uint64_t z = (uint64_t)step * FL_MAX_LAYERS + (uint64_t)layer;
  return fl__mix64(seed ^ fl__mix64(z));
}

static int dropout_args(float rate, cl_uint *threshold, float *scale,
                        fl_error *err) {
  if (!(rate > 0.0f && rate < 1.0f))
    return fl_error_set(err, FL_EINVAL, "dropout rate %g is outside (0, 1)",
                        (double)rate);
  *threshold = (cl_uint)lrint((double)rate * FL__DROPOUT_ONE);
  *scale = 1.0f / (1.0f - rate);
  return 0;
}

int fl__op_dropout_forward(fl_device *dev, cl_mem dst, cl_mem src,
                           size_t rows, size_t n, float rate, uint64_t stream,
                           fl_error *err) {
  cl_kernel k = dev->k[FL_K_dropout_forward];
  cl_uint r = (cl_uint)rows, nn = (cl_uint)n, th;
  cl_ulong st = stream;
  float scale;
  if (fits_u32(rows * n, err) || dropout_args(rate, &th, &scale, err))
    return err->code;
  ARG(k, 0, dst); ARG(k, 1, src); ARG(k, 2, r); ARG(k, 3, nn);
  ARG(k, 4, st); ARG(k, 5, th); ARG(k, 6, scale);
  return launch_1d(dev, k, rows * n, err);
}

int fl__op_dropout_backward(fl_device *dev, cl_mem da, size_t rows, size_t n,
                            float rate, uint64_t stream, fl_error *err) {
  cl_kernel k = dev->k[FL_K_dropout_backward];
  cl_uint r = (cl_uint)rows, nn = (cl_uint)n, th;
  cl_ulong st = stream;
  float scale;
  if (fits_u32(rows * n, err) || dropout_args(rate, &th, &scale, err))
    return err->code;
  ARG(k, 0, da); ARG(k, 1, r); ARG(k, 2, nn); ARG(k, 3, st); ARG(k, 4, th);
  ARG(k, 5, scale);
  return launch_1d(dev, k, rows * n, err);
}

int fl__op_regularize(fl_device *dev, cl_mem w, cl_mem g, size_t off,
                      size_t count, float l1, float l2, float loss_scale,
                      cl_mem mf, fl_error *err) {
  cl_kernel k = dev->k[FL_K_regularize];
  cl_int has_g = g != NULL;
  cl_uint o = (cl_uint)off, c = (cl_uint)count;
  if (fits_u32(off + count, err)) return err->code;
  ARG(k, 0, w); ARG(k, 1, g); ARG(k, 2, has_g); ARG(k, 3, o); ARG(k, 4, c);
  ARG(k, 5, l1); ARG(k, 6, l2); ARG(k, 7, loss_scale); ARG(k, 8, mf);
  size_t global = FL__NORM_WG, local = FL__NORM_WG; /* one work-group */
  return enqueue(dev, k, global, &local, err);
}

int fl__op_batch_metrics(fl_device *dev, cl_mem row_loss, cl_mem row_pred,
                         cl_mem row_correct, size_t rows, size_t k_cls,
                         int first, cl_mem mf, cl_mem mu, fl_error *err) {
  cl_kernel k = dev->k[dev->wide_kernels ? FL_K_batch_metrics_wg : FL_K_batch_metrics];
  cl_uint r = (cl_uint)rows, kk = (cl_uint)k_cls;
  cl_int f = first;
  ARG(k, 0, row_loss); ARG(k, 1, row_pred); ARG(k, 2, row_correct);
  ARG(k, 3, r); ARG(k, 4, kk); ARG(k, 5, f); ARG(k, 6, mf); ARG(k, 7, mu);
  if (!dev->wide_kernels) return launch_1d(dev, k, 1, err);
  size_t wg = FL__BM_WG; /* one work-group */
  return enqueue(dev, k, wg, &wg, err);
}

int fl__op_optimizer_step(fl_device *dev, const fl_optimizer_spec *opt,
                          float lr, long step, cl_mem w, cl_mem g, cl_mem m,
                          cl_mem v, size_t p, fl_error *err) {
  cl_uint pp = (cl_uint)p;
  if (fits_u32(p, err)) return err->code;
  cl_kernel k;
  switch (opt->kind) {
    case FL_OPT_SGD: {
      k = dev->k[FL_K_sgd_update];
      float mu = opt->momentum;
      cl_int nest = opt->nesterov;
      ARG(k, 0, w); ARG(k, 1, g); ARG(k, 2, m); ARG(k, 3, lr); ARG(k, 4, mu);
      ARG(k, 5, nest); ARG(k, 6, pp);
      break;
    }
    case FL_OPT_ADAM:
    case FL_OPT_ADAMW: {
      k = dev->k[FL_K_adam_update];
      /* Bias correction in double on the host: exact for any step count. */
      double t = (double)step;
      float alpha = (float)(lr * sqrt(1.0 - pow(opt->beta_2, t)) /
                            (1.0 - pow(opt->beta_1, t)));
      float wd_lr = opt->kind == FL_OPT_ADAMW ? lr * opt->weight_decay : 0.0f;
      ARG(k, 0, w); ARG(k, 1, g); ARG(k, 2, m); ARG(k, 3, v);
      ARG(k, 4, alpha); ARG(k, 5, opt->beta_1); ARG(k, 6, opt->beta_2);
      ARG(k, 7, opt->epsilon); ARG(k, 8, wd_lr); ARG(k, 9, pp);
      break;
    }
    case FL_OPT_RMSPROP: {
      k = dev->k[FL_K_rmsprop_update];
      ARG(k, 0, w); ARG(k, 1, g); ARG(k, 2, m); ARG(k, 3, v); ARG(k, 4, lr);
      ARG(k, 5, opt->rho); ARG(k, 6, opt->momentum); ARG(k, 7, opt->epsilon);
      ARG(k, 8, pp);
      break;
    }
    default:
      return fl_error_set(err, FL_EINVAL, "unknown optimizer %d", opt->kind);
  }
  return launch_1d(dev, k, (p + 7) / 8, err); /* 8 parameters per item */
}

int fl__op_clip_by_value(fl_device *dev, cl_mem g, float v, size_t p,
                         fl_error *err) {
  cl_kernel k = dev->k[FL_K_clip_by_value];
  cl_uint pp = (cl_uint)p;
  if (fits_u32(p, err)) return err->code;
  ARG(k, 0, g); ARG(k, 1, v); ARG(k, 2, pp);
  return launch_1d(dev, k, p, err);
}

int fl__op_clip_by_norm(fl_device *dev, cl_mem g, cl_mem off, size_t nseg,
                        cl_mem sumsq, float c, size_t p, fl_error *err) {
  int rc;
  if (fits_u32(p, err)) return err->code;
  if ((rc = fl__buffer_zero(dev, sumsq, nseg * sizeof(float), err)) ||
      (rc = fl__op_segment_sumsq(dev, g, NULL, off, nseg, sumsq, 0, err)))
    return rc;
  cl_kernel k = dev->k[FL_K_clip_by_norm];
  cl_uint pp = (cl_uint)p, ns = (cl_uint)nseg;
  ARG(k, 0, g); ARG(k, 1, off); ARG(k, 2, ns); ARG(k, 3, sumsq); ARG(k, 4, c);
  ARG(k, 5, pp);
  return launch_1d(dev, k, p, err);
}

int fl__op_segment_sumsq(fl_device *dev, cl_mem a, cl_mem b, cl_mem off,
                         size_t nseg, cl_mem acc, size_t acc_off,
                         fl_error *err) {
  cl_kernel k = dev->k[FL_K_segment_sumsq];
  cl_int has_b = b != NULL;
  cl_uint ao = (cl_uint)acc_off;
  ARG(k, 0, a); ARG(k, 1, b); ARG(k, 2, has_b); ARG(k, 3, off); ARG(k, 4, acc);
  ARG(k, 5, ao);
  size_t global = nseg * FL__NORM_WG, local = FL__NORM_WG;
  return enqueue(dev, k, global, &local, err);
}

int fl__buffer_create(fl_device *dev, size_t bytes, const void *host,
                      cl_mem *out, fl_error *err) {
  cl_int e;
  *out = NULL;
  if (bytes == 0) bytes = 4; /* OpenCL rejects empty buffers */
  if (bytes > dev->info.max_alloc)
    return fl_error_set(err, FL_EDEVMEM,
                        "device out of memory: a buffer of %zu bytes exceeds "
                        "%s's largest allocation (%llu bytes); use a smaller "
                        "dataset or model, or a device with more memory",
                        bytes, dev->info.name,
                        (unsigned long long)dev->info.max_alloc);
  *out = clCreateBuffer(dev->ctx,
                        CL_MEM_READ_WRITE | (host ? CL_MEM_COPY_HOST_PTR : 0),
                        bytes, (void *)host, &e);
  if (e != CL_SUCCESS) {
    *out = NULL;
    return fl__cl_fail(err, e, "clCreateBuffer", __FILE__, __LINE__);
  }
  return 0;
}

int fl__buffer_read(fl_device *dev, cl_mem buf, size_t off_bytes,
                    size_t bytes, void *host, fl_error *err) {
  FL_CL_CHECK(err, clEnqueueReadBuffer(dev->queue, buf, CL_TRUE, off_bytes,
                                       bytes, host, 0, NULL, NULL));
  return 0;
}

int fl__buffer_write(fl_device *dev, cl_mem buf, size_t off_bytes,
                     size_t bytes, const void *host, fl_error *err) {
  cl_event ev = NULL;
  FL_CL_CHECK(err, clEnqueueWriteBuffer(dev->queue, buf, CL_TRUE, off_bytes,
                                        bytes, host, 0, NULL,
                                        dev->profiling ? &ev : NULL));
  return profiled(dev, FL__PROF_OTHER, ev, err);
}

int fl__buffer_zero(fl_device *dev, cl_mem buf, size_t bytes, fl_error *err) {
  const cl_uint zero = 0;
  cl_event ev = NULL;
  FL_CL_CHECK(err, clEnqueueFillBuffer(dev->queue, buf, &zero, sizeof zero, 0,
                                       bytes, 0, NULL,
                                       dev->profiling ? &ev : NULL));
  return profiled(dev, FL__PROF_OTHER, ev, err);
}

void fl__buffer_release(cl_mem *buf) {
  if (*buf) clReleaseMemObject(*buf);
  *buf = NULL;
}

int fl__scratch_reserve(fl_device *dev, fl__scratch *s, size_t bytes,
                        fl_error *err) {
  if (bytes <= s->bytes) return 0;
  cl_mem grown;
  int rc = fl__buffer_create(dev, bytes, NULL, &grown, err);
  if (rc) return rc;
  fl__buffer_release(&s->buf);
  s->buf = grown;
  s->bytes = bytes;
  return 0;
}
