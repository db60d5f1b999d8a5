/* tests/test_kernels.c — every OpenCL kernel (and the CLBlast GEMM as we
 * call it) against the plain-C reference in engine/reference.c.
 *
 * Tolerance: |device - reference| <= ATOL + RTOL * |reference| with
 * ATOL = 1e-5, RTOL = 1e-4 for elementwise ops and 1e-4 / 1e-3 for sums over
 * up to a few hundred terms (GEMM, reductions), where float32 accumulation
 * order legitimately differs. The device is opened once for the whole file
 * so the program is compiled once.
 *
 * FL_TEST_SMALL=1 keeps the GEMM shapes to the few that still cross every
 * tile edge: for a simulator (tests/oclgrind.sh runs this file under
 * Oclgrind, which checks every access one at a time). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <clblast_c.h>

#include "engine_internal.h"
#include "reference.h"

static fl_device *dev;
static bool small_shapes; /* FL_TEST_SMALL: see the top of the file */
static uint64_t lcg = 12345;

static float frand(float lo, float hi) {
  lcg = lcg * 6364136223846793005ull + 1442695040888963407ull;
  return lo + (hi - lo) * (float)((lcg >> 40) / 16777216.0);
}

static float *rand_vec(size_t n, float lo, float hi) {
  float *v = malloc(n * sizeof *v);
  for (size_t i = 0; i < n; i++) v[i] = frand(lo, hi);
  return v;
}

static cl_mem upload(const void *host, size_t bytes) {
  cl_mem m;
  fl_error err = {0};
  assert_int_equal(fl__buffer_create(dev, bytes, host, &m, &err), 0);
  return m;
}

static void download(cl_mem m, void *host, size_t bytes) {
  fl_error err = {0};
  assert_int_equal(fl__buffer_read(dev, m, 0, bytes, host, &err), 0);
}

static void expect_close(const float *got, const float *want, size_t n,
                         double atol, double rtol, const char *what) {
  for (size_t i = 0; i < n; i++) {
    double tol = atol + rtol * fabs(want[i]);
    if (!(fabs((double)got[i] - want[i]) <= tol))
      fail_msg("%s: element %zu: device %.9g, reference %.9g (tol %.3g)", what,
               i, got[i], want[i], tol);
  }
}

static int setup(void **state) {
  (void)state;
  fl_device_info infos[FL_MAX_DEVICES];
  fl_error err = {0};
  int n = fl_devices_list(infos, FL_MAX_DEVICES, &err);
  int idx;
  const char *small = getenv("FL_TEST_SMALL");
  small_shapes = small && *small && strcmp(small, "0") != 0;
  if (n <= 0 || fl_device_resolve(infos, n, getenv("FL_TEST_DEVICE"), &idx, &err)) {
    fprintf(stderr, "no OpenCL device: %s\n", err.msg);
    return -1;
  }
  if (fl_device_open(idx, &dev, &err)) {
    fprintf(stderr, "%s\n", err.msg);
    return -1;
  }
  fprintf(stderr, "# device: %s (%s)\n", dev->info.name, dev->info.platform);
  return 0;
}

static int teardown(void **state) {
  (void)state;
  /* CLBlast keeps the programs it built in a process-wide cache that a
   * static destructor empties at exit, calling clReleaseProgram then. The
   * OpenCL spec leaves API calls from global destructors to the
   * implementation, and Oclgrind 21.10 corrupts the heap on them (its
   * per-thread API call stack is already destroyed by then). Emptying the
   * cache here, while everything is alive, leaves nothing for exit. */
  CLBlastClearCache();
  fl_device_close(dev);
  return 0;
}

/* One GEMM through `plan`, checked against the reference. beta == 0 fills
 * C with NaN first: an implementation must not read C then. */
static void check_gemm(const fl__gemm_plan *plan, int ta, int tb, size_t m,
                       size_t n, size_t k, size_t pad, float beta,
                       const char *what) {
  fl_error err = {0};
  const size_t a_off = 5, b_off = 11, c_off = 3;
  size_t lda = (ta ? m : k) + pad, ldb = (tb ? k : n) + pad, ldc = n + pad;
  size_t na = a_off + (ta ? k : m) * lda, nb = b_off + (tb ? n : k) * ldb,
         nc = c_off + m * ldc;
  float *a = rand_vec(na, -1, 1), *b = rand_vec(nb, -1, 1);
  float *c = rand_vec(nc, -1, 1), *want = malloc(nc * 4);
  if (beta == 0.0f)
    for (size_t i = 0; i < nc; i++) c[i] = NAN;
  memcpy(want, c, nc * 4);
  fl__ref_gemm(ta, tb, m, n, k, 0.5f, a + a_off, lda, b + b_off, ldb, beta,
               want + c_off, ldc);
  cl_mem da = upload(a, na * 4), db = upload(b, nb * 4), dc = upload(c, nc * 4);
  assert_int_equal(fl__op_gemm_with(dev, plan, ta, tb, m, n, k, 0.5f, da, a_off,
                                    lda, db, b_off, ldb, beta, dc, c_off, ldc,
                                    &err), 0);
  download(dc, c, nc * 4);
  /* Only C's m x n block may change: padding and the offset stay as they
   * were (NaN compares unequal, so check those by bits). */
  for (size_t i = 0; i < nc; i++) {
    size_t r = (i - c_off) / ldc, col = (i - c_off) % ldc;
    bool inside = i >= c_off && r < m && col < n;
    if (!inside && memcmp(&c[i], &want[i], 4) != 0) {
      print_error("%s: element %zu outside C changed\n", what, i);
      fail();
    }
    if (!inside) c[i] = want[i] = 0.0f;
  }
  expect_close(c, want, nc, 1e-4, 1e-3, what);
  clReleaseMemObject(da), clReleaseMemObject(db), clReleaseMemObject(dc);
  free(a), free(b), free(c), free(want);
}

/* Every implementation a device may be given (CLBlast; each tiled variant)
 * on every transpose, on shapes that hit full tiles, right and bottom edges,
 * single rows/columns, K below the NT kernel's vector width, padded leading
 * dimensions, and the trainer's offsets into one packed buffer. */
static void test_gemm_all_implementations(void **state) {
  (void)state;
  static const size_t all_shapes[][4] = {
      /* m, n, k, pad */
      {37, 23, 129, 0}, {48, 32, 16, 0}, {1, 1, 1, 0}, {128, 10, 256, 0},
      {13, 40, 7, 3},   {6, 16, 5, 0},   {10, 257, 9, 1},  {100, 37, 10, 2},
      /* Two 32-column tiles and a 6-column edge; 29 rows: edges of the 8-
       * and 12-row tiles. */
      {29, 70, 33, 1},
  };
  /* Small: full and edge tiles of every variant, padding, K below the
   * vector width; NT's small-K kernel past its 48-row slab (50 x 9 x 5)
   * and its dot-product kernel (K 19 > FL_NT_KMAX) past its 48-column
   * strip, B's packed panels with a partial chunk of K. */
  static const size_t small_shapes_list[][4] = {
      {13, 40, 7, 3}, {6, 16, 5, 0}, {1, 1, 1, 0}, {50, 9, 5, 0}, {7, 50, 19, 1},
  };
  const size_t (*shapes)[4] = small_shapes ? small_shapes_list : all_shapes;
  size_t nshapes = small_shapes ? sizeof small_shapes_list / sizeof small_shapes_list[0]
                                : sizeof all_shapes / sizeof all_shapes[0];
  fl__gemm_plan plans[1 + FL__GEMM_NVARIANTS] = {{FL__GEMM_CLBLAST, 0, 0}};
  for (int v = 0; v < FL__GEMM_NVARIANTS; v++)
    plans[1 + v] = (fl__gemm_plan){FL__GEMM_TILED, v, v};
  size_t keep = dev->pack_min_volume;
  /* Tiled NN/TN read B as it is, and from packed panels (forced on). */
  for (int pack = 0; pack < 2; pack++)
  for (size_t p = pack; p < 1 + FL__GEMM_NVARIANTS; p++)
    for (size_t s = 0; s < nshapes; s++)
      for (int ta = 0; ta < 2; ta++)
        for (int tb = 0; tb < 2; tb++)
          for (int bi = 0; bi < 2; bi++) {
            char what[96];
            snprintf(what, sizeof what, "gemm %s%s plan %zu%s, %zux%zux%zu, beta %d",
                     ta ? "T" : "N", tb ? "T" : "N", p, pack ? " packed" : "",
                     shapes[s][0], shapes[s][1], shapes[s][2], bi);
            dev->pack_min_volume = pack ? 0 : SIZE_MAX;
            check_gemm(&plans[p], ta, tb, shapes[s][0], shapes[s][1],
                       shapes[s][2], shapes[s][3], bi ? 0.25f : 0.0f, what);
          }
  dev->pack_min_volume = keep;
}


/* The first layer's GEMMs reading their rows through the permutation
 * (tiled plans): NN's A rows and TN's stored-A rows come from a larger
 * buffer by index, the result must equal the GEMM on the gathered copy. */
static void gemm_gathered_rows(void) {
  fl_error err = {0};
  const size_t total = 40, start = 5, d = 19, b_cols = 21, rows = 13;
  uint32_t perm[40];
  for (size_t i = 0; i < total; i++) perm[i] = (uint32_t)((i * 23 + 7) % total);
  float *x = rand_vec(total * d, -1, 1), *xg = malloc(rows * d * 4);
  for (size_t r = 0; r < rows; r++) memcpy(xg + r * d, x + perm[start + r] * d, d * 4);
  cl_mem dx = upload(x, total * d * 4), dperm = upload(perm, sizeof perm);
  for (int v = 0; v < FL__GEMM_NVARIANTS; v++)
    for (int ta = 0; ta < 2; ta++) {
      fl__gemm_plan plan = {FL__GEMM_TILED, v, v};
      /* NN: C (rows, b_cols) = Xg (rows, d) · B (d, b_cols);
       * TN: C (d, b_cols) = Xg^T (d, rows) · B (rows, b_cols) */
      size_t m = ta ? d : rows, n = b_cols, k = ta ? rows : d;
      float *b = rand_vec(k * n, -1, 1), *want = calloc(m * n, 4), *got = malloc(m * n * 4);
      fl__ref_gemm(ta, 0, m, n, k, 1.0f, xg, d, b, n, 0.0f, want, n);
      cl_mem db = upload(b, k * n * 4), dc = upload(NULL, m * n * 4);
      fl__gemm_fused f = {FL__EP_NONE, FL_ACT_LINEAR, NULL, 0, NULL, dperm, start};
      assert_int_equal(fl__op_gemm_ep_with(dev, &plan, ta, 0, m, n, k, 1.0f, dx, 0, d,
                                           db, 0, n, 0.0f, dc, 0, n, &f, &err), 0);
      download(dc, got, m * n * 4);
      char what[48];
      snprintf(what, sizeof what, "gathered %s variant %d", ta ? "TN" : "NN", v);
      expect_close(got, want, m * n, 1e-4, 1e-3, what);
      clReleaseMemObject(db), clReleaseMemObject(dc);
      free(b), free(want), free(got);
    }
  /* CLBlast cannot gather: a clear error, not a wrong result. */
  fl__gemm_plan cl = {FL__GEMM_CLBLAST, 0, 0};
  fl__gemm_fused f = {FL__EP_NONE, FL_ACT_LINEAR, NULL, 0, NULL, dperm, start};
  cl_mem dc = upload(NULL, rows * b_cols * 4);
  assert_int_equal(fl__op_gemm_ep_with(dev, &cl, 0, 0, rows, b_cols, d, 1.0f, dx, 0, d,
                                       dx, 0, b_cols, 0.0f, dc, 0, b_cols, &f, &err),
                   FL_EINVAL);
  clReleaseMemObject(dc), clReleaseMemObject(dx), clReleaseMemObject(dperm);
  free(x), free(xg);
}

/* f with B read as it is, then from packed panels (forced on). */
static void with_and_without_packing(void (*f)(void)) {
  size_t keep = dev->pack_min_volume;
  dev->pack_min_volume = SIZE_MAX;
  f();
  dev->pack_min_volume = 0;
  f();
  dev->pack_min_volume = keep;
}

static void gemm_epilogues(void);
static void gemm_gathered_rows(void);
static void test_gemm_epilogues(void **state) {
  (void)state;
  with_and_without_packing(gemm_epilogues);
}
static void test_gemm_gathered_rows(void **state) {
  (void)state;
  with_and_without_packing(gemm_gathered_rows);
}

static const fl_activation acts[] = {FL_ACT_LINEAR, FL_ACT_RELU,
                                     FL_ACT_LEAKY_RELU, FL_ACT_TANH,
                                     FL_ACT_SIGMOID, FL_ACT_SOFTMAX};

/* The fused epilogues against GEMM-then-kernel on the reference, for every
 * activation and every implementation (CLBlast runs them as separate
 * kernels): NN with bias + activation, NT with the activation's
 * derivative. Shapes cross tile edges; C is packed as the trainer's. */
static void gemm_epilogues(void) {
  fl_error err = {0};
  const size_t m = 13, n = 21, b_off = 4;
  fl__gemm_plan plans[1 + FL__GEMM_NVARIANTS] = {{FL__GEMM_CLBLAST, 0, 0}};
  for (int v = 0; v < FL__GEMM_NVARIANTS; v++)
    plans[1 + v] = (fl__gemm_plan){FL__GEMM_TILED, v, v};
  for (size_t p = 0; p < 1 + FL__GEMM_NVARIANTS; p++)
    for (size_t ai = 0; ai < sizeof acts / sizeof acts[0]; ai++)
      for (int nt = 0; nt < 2; nt++)
        for (size_t k = 10; k <= 19; k += 9) { /* NT: small-K kernel, then not */
        fl_activation act = acts[ai];
        float *a = rand_vec(m * k, -1, 1), *b = rand_vec(k * n, -1, 1);
        float *bias = rand_vec(b_off + n, -1, 1), *out = rand_vec(m * n, 0.05f, 0.95f);
        float *want = calloc(m * n, 4), *got = malloc(m * n * 4);
        /* NT: B is stored (n, k); NN: (k, n). Same random values either way. */
        fl__ref_gemm(0, nt, m, n, k, 1.0f, a, k, b, nt ? k : n, 0.0f, want, n);
        if (nt) {
          if (act != FL_ACT_SOFTMAX) fl__ref_act_backward(want, out, m, n, act);
        } else {
          fl__ref_bias_act_forward(want, bias + b_off, m, n, act);
        }
        cl_mem da = upload(a, m * k * 4), db = upload(b, k * n * 4),
               dbias = upload(bias, (b_off + n) * 4), dout = upload(out, m * n * 4),
               dc = upload(NULL, m * n * 4);
        fl__gemm_fused ep = {nt ? (act == FL_ACT_SOFTMAX ? FL__EP_NONE : FL__EP_ACT_GRAD)
                                   : FL__EP_BIAS_ACT,
                                act, dbias, b_off, dout, NULL, 0};
        assert_int_equal(fl__op_gemm_ep_with(dev, &plans[p], 0, nt, m, n, k, 1.0f, da,
                                             0, k, db, 0, nt ? k : n, 0.0f, dc, 0,
                                             n, &ep, &err), 0);
        download(dc, got, m * n * 4);
        char what[64];
        snprintf(what, sizeof what, "epilogue %s act %d plan %zu k %zu",
                 nt ? "NT" : "NN", (int)act, p, k);
        expect_close(got, want, m * n, 1e-4, 1e-3, what);
        clReleaseMemObject(da), clReleaseMemObject(db), clReleaseMemObject(dbias);
        clReleaseMemObject(dout), clReleaseMemObject(dc);
        free(a), free(b), free(bias), free(out), free(want), free(got);
      }
}

static void test_bias_act_forward_and_backward(void **state) {
  (void)state;
  fl_error err = {0};
  const size_t rows = 9, n = 13, b_off = 7;
  for (size_t ai = 0; ai < sizeof acts / sizeof *acts; ai++) {
    fl_activation act = acts[ai];
    float *z = rand_vec(rows * n, -4, 4), *b = rand_vec(b_off + n, -1, 1);
    float *want = malloc(rows * n * 4), *got = malloc(rows * n * 4);
    memcpy(want, z, rows * n * 4);
    fl__ref_bias_act_forward(want, b + b_off, rows, n, act);
    cl_mem dz = upload(z, rows * n * 4), dbias = upload(b, (b_off + n) * 4);
    assert_int_equal(fl__op_bias_act_forward(dev, dz, dbias, b_off, rows, n, act, &err), 0);
    download(dz, got, rows * n * 4);
    expect_close(got, want, rows * n, 1e-5, 1e-4, "bias_act_forward");

    /* backward from the output: da <- da * act'(a) */
    if (act != FL_ACT_SOFTMAX) {
      float *da = rand_vec(rows * n, -1, 1), *dwant = malloc(rows * n * 4);
      memcpy(dwant, da, rows * n * 4);
      fl__ref_act_backward(dwant, want, rows, n, act);
      cl_mem dda = upload(da, rows * n * 4), dA = upload(want, rows * n * 4);
      assert_int_equal(fl__op_act_backward(dev, dda, dA, rows, n, act, &err), 0);
      download(dda, da, rows * n * 4);
      expect_close(da, dwant, rows * n, 1e-5, 1e-4, "act_backward");
      clReleaseMemObject(dda), clReleaseMemObject(dA);
      free(da), free(dwant);
    }
    clReleaseMemObject(dz), clReleaseMemObject(dbias);
    free(z), free(b), free(want), free(got);
  }
}

static void test_softmax_forward_backward(void **state) {
  (void)state;
  fl_error err = {0};
  const size_t rows = 7, n = 10;
  float *a = rand_vec(rows * n, -20, 20), *want = malloc(rows * n * 4);
  memcpy(want, a, rows * n * 4);
  fl__ref_softmax_forward(want, rows, n);
  cl_mem da = upload(a, rows * n * 4);
  assert_int_equal(fl__op_softmax_forward(dev, da, rows, n, &err), 0);
  download(da, a, rows * n * 4);
  expect_close(a, want, rows * n, 1e-6, 1e-4, "softmax_forward");
  for (size_t r = 0; r < rows; r++) {
    double s = 0;
    for (size_t j = 0; j < n; j++) s += a[r * n + j];
    assert_true(fabs(s - 1.0) < 1e-5);
  }
  float *g = rand_vec(rows * n, -1, 1), *gwant = malloc(rows * n * 4);
  memcpy(gwant, g, rows * n * 4);
  fl__ref_softmax_backward(gwant, want, rows, n);
  cl_mem dg = upload(g, rows * n * 4);
  assert_int_equal(fl__op_softmax_backward(dev, dg, da, rows, n, &err), 0);
  download(dg, g, rows * n * 4);
  expect_close(g, gwant, rows * n, 1e-6, 1e-4, "softmax_backward");
  clReleaseMemObject(da), clReleaseMemObject(dg);
  free(a), free(want), free(g), free(gwant);
}

/* Runs check() with the CPU-shaped and then the GPU-shaped kernels
 * (dev->wide_kernels), whatever the device under test is. */
static void in_both_shapes(void (*check)(void)) {
  bool keep = dev->wide_kernels;
  for (int wide = 0; wide < 2; wide++) {
    dev->wide_kernels = wide;
    check();
  }
  dev->wide_kernels = keep;
}

/* Both shapes of the kernel (CPU: a loop per 8 units; GPU: work-groups of
 * units x row slices). */
static void check_bias_grad_and_unit_trackers(void) {
  fl_error err = {0};
  const size_t rows = 33, n = 17, off = 4;
  float *dz = rand_vec(rows * n, -1, 1), *a = rand_vec(rows * n, -1, 1);
  /* unit 0 never positive (dead), unit 1 always saturated for tanh */
  for (size_t r = 0; r < rows; r++) a[r * n] = -0.5f, a[r * n + 1] = 0.999f;
  float want[17], got[4 + 17];
  fl__ref_bias_grad(want, dz, rows, n);
  uint32_t zeros[4 + 17] = {0}, active[4 + 17], sat[4 + 17];
  cl_mem ddz = upload(dz, rows * n * 4), dA = upload(a, rows * n * 4),
         ddb = upload(zeros, sizeof zeros), dact = upload(zeros, sizeof zeros),
         dsat = upload(zeros, sizeof zeros);
  assert_int_equal(fl__op_bias_grad(dev, ddb, off, ddz, dA, rows, n, FL_ACT_TANH,
                                    dact, dsat, off, &err), 0);
  download(ddb, got, sizeof got);
  download(dact, active, sizeof active);
  download(dsat, sat, sizeof sat);
  expect_close(got + off, want, n, 1e-5, 1e-4, "bias_grad");
  assert_int_equal(active[off + 0], 0);
  assert_int_equal(active[off + 1], 1);
  assert_int_equal(sat[off + 1], rows);
  for (size_t j = 0; j < n; j++) {
    uint32_t any = 0, ns = 0;
    for (size_t r = 0; r < rows; r++) {
      any |= a[r * n + j] > 0;
      ns += fabsf(a[r * n + j]) > 0.99f;
    }
    assert_int_equal(active[off + j], any);
    assert_int_equal(sat[off + j], ns);
  }
  clReleaseMemObject(ddz), clReleaseMemObject(dA), clReleaseMemObject(ddb);
  clReleaseMemObject(dact), clReleaseMemObject(dsat);
  free(dz), free(a);
}

static void test_bias_grad_and_unit_trackers(void **state) {
  (void)state;
  in_both_shapes(check_bias_grad_and_unit_trackers);
}

/* weighted: with class weights (issue 12's class_weight). */
static void check_loss_mode(fl__loss_mode mode, fl_label_kind kind,
                            bool weighted) {
  fl_error err = {0};
  const float cw[5] = {0.25f, 1.0f, 4.0f, 0.0f, 2.5f};
  const size_t n = 40, rows = 12, k = 5, start = 6;
  float *out = rand_vec(rows * k, mode == FL__LOSS_SOFTMAX_CE ? -5 : 0.05f, 3);
  int32_t ids[40];
  float *y = rand_vec(n * k, 0, 1);
  uint32_t perm[40];
  for (size_t i = 0; i < n; i++) {
    ids[i] = (int32_t)(i * 7 % k);
    perm[i] = (uint32_t)((i * 13 + 5) % n);
    double s = 0;
    for (size_t j = 0; j < k; j++) s += y[i * k + j];
    for (size_t j = 0; j < k; j++) y[i * k + j] /= (float)s; /* probabilities */
  }
  float wd[60], wl[12], gd[60], gl[12];
  uint32_t wp[12], wc[12], gp[12], gc[12];
  fl__ref_loss_rows_weighted(out, rows, k, mode, kind, ids, y, perm, start,
                             1.0f / rows, weighted ? cw : NULL, wd, wl, wp, wc);
  cl_mem dout = upload(out, rows * k * 4), dids = upload(ids, sizeof ids),
         dy = upload(y, n * k * 4), dperm = upload(perm, sizeof perm),
         dd = upload(NULL, rows * k * 4), dl = upload(NULL, rows * 4),
         dp = upload(NULL, rows * 4), dc = upload(NULL, rows * 4);
  cl_mem dcw = upload(cw, sizeof cw);
  fl__loss_args la = {mode, kind, dids, dy, dperm, start, 1.0f / rows,
                      weighted ? dcw : NULL};
  assert_int_equal(fl__op_loss_rows(dev, dout, rows, k, &la, dd, dl, dp, dc, &err), 0);
  download(dd, gd, sizeof gd);
  download(dl, gl, sizeof gl);
  download(dp, gp, sizeof gp);
  download(dc, gc, sizeof gc);
  expect_close(gl, wl, rows, 1e-5, 1e-4, "loss_rows loss");
  expect_close(gd, wd, rows * k, 1e-6, 1e-3, "loss_rows gradient");
  assert_memory_equal(gp, wp, sizeof gp);
  assert_memory_equal(gc, wc, sizeof gc);

  /* batch_metrics sums them into the epoch accumulators */
  float mf[2] = {0.5f, 0};
  uint32_t mu[4 + 5] = {0};
  cl_mem dmf = upload(mf, sizeof mf), dmu = upload(mu, sizeof mu);
  assert_int_equal(fl__op_batch_metrics(dev, dl, dp, dc, rows, k, 1, dmf, dmu, &err), 0);
  download(dmf, mf, sizeof mf);
  download(dmu, mu, sizeof mu);
  double sum = 0;
  uint32_t correct = 0, hist[5] = {0};
  for (size_t r = 0; r < rows; r++) sum += wl[r], correct += wc[r], hist[wp[r]]++;
  assert_true(fabs(mf[0] - (0.5 + sum)) < 1e-4 * (1 + sum));
  assert_true(fabs(mf[1] - sum / rows) < 1e-4 * (1 + sum));
  assert_int_equal(mu[FL__MU_CORRECT], correct);
  assert_int_equal(mu[FL__MU_ROWS], rows);
  assert_int_equal(mu[FL__MU_NONFINITE], 0);
  assert_memory_equal(mu + FL__MU_HIST, hist, sizeof hist);
  cl_mem all[] = {dout, dids, dy, dperm, dd, dl, dp, dc, dmf, dmu, dcw};
  for (size_t i = 0; i < sizeof all / sizeof *all; i++) clReleaseMemObject(all[i]);
  free(out), free(y);
}

/* batch_metrics on more rows than the GPU shape's work-group (700 > 256,
 * not a multiple); a non-finite row loss is counted. */
static void check_batch_metrics(void) {
  enum { ROWS = 700, K = 7 };
  float *loss = rand_vec(ROWS, 0, 3);
  uint32_t pred[ROWS], corr[ROWS];
  for (size_t r = 0; r < ROWS; r++) pred[r] = (uint32_t)(r * 5 % K), corr[r] = r % 3 == 0;
  for (int poison = 0; poison < 2; poison++) {
    fl_error err = {0};
    float saved = loss[ROWS - 1];
    if (poison) loss[ROWS - 1] = NAN;
    float mf[2] = {1.0f, 0};
    uint32_t mu[4 + K] = {0};
    cl_mem dl = upload(loss, ROWS * 4), dp = upload(pred, sizeof pred),
           dc = upload(corr, sizeof corr), dmf = upload(mf, sizeof mf),
           dmu = upload(mu, sizeof mu);
    assert_int_equal(fl__op_batch_metrics(dev, dl, dp, dc, ROWS, K, 1, dmf, dmu, &err), 0);
    download(dmf, mf, sizeof mf);
    download(dmu, mu, sizeof mu);
    double sum = 0;
    uint32_t correct = 0, hist[K] = {0};
    for (size_t r = 0; r < ROWS; r++) sum += loss[r], correct += corr[r], hist[pred[r]]++;
    if (poison) {
      assert_false(isfinite(mf[0]));
      assert_int_equal(mu[FL__MU_NONFINITE], 1);
    } else {
      assert_true(fabs(mf[0] - (1.0 + sum)) < 1e-5 * (1 + sum));
      assert_true(fabs(mf[1] - sum / ROWS) < 1e-5 * (1 + sum));
      assert_int_equal(mu[FL__MU_NONFINITE], 0);
    }
    assert_int_equal(mu[FL__MU_CORRECT], correct);
    assert_int_equal(mu[FL__MU_ROWS], ROWS);
    assert_memory_equal(mu + FL__MU_HIST, hist, sizeof hist);
    loss[ROWS - 1] = saved;
    cl_mem all[] = {dl, dp, dc, dmf, dmu};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++) clReleaseMemObject(all[i]);
  }
  free(loss);
}

static void test_batch_metrics_both_shapes(void **state) {
  (void)state;
  in_both_shapes(check_batch_metrics);
}

static void test_loss_rows_all_modes(void **state) {
  (void)state;
  fl__loss_mode modes[] = {FL__LOSS_SOFTMAX_CE, FL__LOSS_PROBS_CE, FL__LOSS_MSE};
  for (int m = 0; m < 3; m++) {
    for (int w = 0; w < 2; w++) {
      check_loss_mode(modes[m], FL_LABELS_IDS, w);
      check_loss_mode(modes[m], FL_LABELS_DENSE, w);
    }
  }
}

/* binary_crossentropy's loss rows (one unit): from a logit and from a
 * probability (some outside the clip range), ids 0/1 and one target
 * column, with and without class weights. */
static void test_binary_loss_rows(void **state) {
  (void)state;
  const size_t rows = 24;
  const float cw[2] = {0.5f, 3.0f};
  for (int mode = FL__LOSS_BCE_LOGITS; mode <= FL__LOSS_BCE_PROBS; mode++)
    for (int kind = 0; kind < 2; kind++)
      for (int weighted = 0; weighted < 2; weighted++) {
        fl_error err = {0};
        float *out = mode == FL__LOSS_BCE_LOGITS ? rand_vec(rows, -6, 6)
                                                 : rand_vec(rows, -0.1f, 1.1f);
        float y[24], wd[24], wl[24], gd[24], gl[24];
        int32_t ids[24];
        uint32_t wp[24], wc[24], gp[24], gc[24];
        for (size_t r = 0; r < rows; r++) ids[r] = (int32_t)(r % 3 == 0), y[r] = (float)ids[r];
        fl_label_kind lk = kind ? FL_LABELS_DENSE : FL_LABELS_IDS;
        fl__ref_loss_rows_weighted(out, rows, 1, (fl__loss_mode)mode, lk, ids, y,
                                   NULL, 0, 1.0f / rows, weighted ? cw : NULL,
                                   wd, wl, wp, wc);
        cl_mem dout = upload(out, rows * 4), dids = upload(ids, sizeof ids),
               dy = upload(y, sizeof y), dcw = upload(cw, sizeof cw),
               dd = upload(NULL, rows * 4), dl = upload(NULL, rows * 4),
               dp = upload(NULL, rows * 4), dc = upload(NULL, rows * 4);
        fl__loss_args la = {(fl__loss_mode)mode, lk, dids, dy, NULL, 0,
                            1.0f / rows, weighted ? dcw : NULL};
        assert_int_equal(fl__op_loss_rows(dev, dout, rows, 1, &la, dd, dl, dp,
                                          dc, &err), 0);
        download(dd, gd, sizeof gd);
        download(dl, gl, sizeof gl);
        download(dp, gp, sizeof gp);
        download(dc, gc, sizeof gc);
        expect_close(gl, wl, rows, 1e-5, 1e-4, "binary loss_rows loss");
        expect_close(gd, wd, rows, 1e-6, 1e-3, "binary loss_rows gradient");
        assert_memory_equal(gp, wp, sizeof gp);
        assert_memory_equal(gc, wc, sizeof gc);
        cl_mem all[] = {dout, dids, dy, dcw, dd, dl, dp, dc};
        for (size_t i = 0; i < sizeof all / sizeof *all; i++) clReleaseMemObject(all[i]);
        free(out);
      }
}

/* Dropout's mask and scale equal the reference's exactly (the mask is an
 * integer hash, the scale one multiply); about `rate` of the elements are
 * dropped (binomial: 3 sigma of 40 * 257 draws is < 0.015), a new step or
 * layer draws another mask, and backward drops the same elements. */
static void test_dropout(void **state) {
  (void)state;
  fl_error err = {0};
  const size_t rows = 40, n = 257;
  const float rates[] = {0.2f, 0.5f, 0.9f};
  float *src = rand_vec(rows * n, 0.1f, 2), *want = malloc(rows * n * 4),
        *got = malloc(rows * n * 4), *other = malloc(rows * n * 4);
  cl_mem dsrc = upload(src, rows * n * 4), ddst = upload(NULL, rows * n * 4);
  for (size_t ri = 0; ri < sizeof rates / sizeof *rates; ri++) {
    float rate = rates[ri];
    uint64_t stream = fl__dropout_stream(42, 3, 1);
    fl__ref_dropout_forward(want, src, rows, n, rate, stream);
    assert_int_equal(fl__op_dropout_forward(dev, ddst, dsrc, rows, n, rate,
                                            stream, &err), 0);
    download(ddst, got, rows * n * 4);
    assert_memory_equal(got, want, rows * n * 4);
    size_t dropped = 0;
    for (size_t i = 0; i < rows * n; i++) dropped += got[i] == 0.0f;
    double frac = (double)dropped / (double)(rows * n);
    if (!(fabs(frac - rate) < 0.015))
      fail_msg("dropout %g dropped %.4f of the elements", rate, frac);
    /* backward: da = 1 everywhere becomes the mask times the scale */
    for (size_t i = 0; i < rows * n; i++) other[i] = 1.0f;
    cl_mem dda = upload(other, rows * n * 4);
    assert_int_equal(fl__op_dropout_backward(dev, dda, rows, n, rate, stream,
                                             &err), 0);
    download(dda, other, rows * n * 4);
    for (size_t i = 0; i < rows * n; i++) want[i] = 1.0f;
    fl__ref_dropout_backward(want, rows, n, rate, stream);
    assert_memory_equal(other, want, rows * n * 4);
    for (size_t i = 0; i < rows * n; i++)
      assert_true((other[i] == 0.0f) == (got[i] == 0.0f));
    clReleaseMemObject(dda);
    /* another step, another layer: other masks */
    fl__ref_dropout_forward(want, src, rows, n, rate, fl__dropout_stream(42, 4, 1));
    assert_true(memcmp(want, got, rows * n * 4) != 0);
    fl__ref_dropout_forward(want, src, rows, n, rate, fl__dropout_stream(42, 3, 2));
    assert_true(memcmp(want, got, rows * n * 4) != 0);
  }
  clReleaseMemObject(dsrc), clReleaseMemObject(ddst);
  free(src), free(want), free(got), free(other);
}

/* regularize: the gradient added elementwise and the penalty (times the
 * rows) added to mf[0], for counts below, at and past the work-group and
 * at an offset in the flat buffer; a NULL g leaves gradients alone. */
static void test_regularize(void **state) {
  (void)state;
  const size_t counts[] = {1, 64, 1000};
  for (size_t c = 0; c < sizeof counts / sizeof *counts; c++) {
    fl_error err = {0};
    const size_t off = 7, count = counts[c], total = off + count + 5;
    float *w = rand_vec(total, -1, 1), *g = rand_vec(total, -1, 1);
    float *want = malloc(total * 4), *got = malloc(total * 4);
    w[off] = 0.0f; /* sign(0) = 0 */
    memcpy(want, g, total * 4);
    double pen = fl__ref_regularize(w + off, want + off, count, 0.03f, 0.2f);
    float mf[2] = {1.5f, 0};
    cl_mem dw = upload(w, total * 4), dg = upload(g, total * 4),
           dmf = upload(mf, sizeof mf);
    assert_int_equal(fl__op_regularize(dev, dw, dg, off, count, 0.03f, 0.2f,
                                       8.0f, dmf, &err), 0);
    download(dg, got, total * 4);
    download(dmf, mf, sizeof mf);
    expect_close(got, want, total, 1e-6, 1e-5, "regularize gradient");
    if (!(fabs(mf[0] - (1.5 + 8.0 * pen)) <= 1e-4 * (1 + 8.0 * pen)))
      fail_msg("regularize penalty: device %.8g reference %.8g", mf[0],
               1.5 + 8.0 * pen);
    assert_int_equal(fl__op_regularize(dev, dw, NULL, off, count, 0.03f, 0.2f,
                                       1.0f, dmf, &err), 0);
    download(dg, want, total * 4);
    assert_memory_equal(want, got, total * 4);
    clReleaseMemObject(dw), clReleaseMemObject(dg), clReleaseMemObject(dmf);
    free(w), free(g), free(want), free(got);
  }
}

static void check_optimizer(fl_optimizer_spec opt, const char *what) {
  fl_error err = {0};
  const size_t p = 301;
  float *w = rand_vec(p, -1, 1), *m = calloc(p, 4), *v = calloc(p, 4);
  float *rw = malloc(p * 4), *rm = calloc(p, 4), *rv = calloc(p, 4);
  memcpy(rw, w, p * 4);
  cl_mem dw = upload(w, p * 4), dm = upload(m, p * 4), dv = upload(v, p * 4);
  for (long step = 1; step <= 3; step++) {
    float *g = rand_vec(p, -1, 1);
    cl_mem dg = upload(g, p * 4);
    fl__ref_optimizer_step(&opt, opt.learning_rate, step, rw, g, rm, rv, p);
    assert_int_equal(fl__op_optimizer_step(dev, &opt, opt.learning_rate, step, dw,
                                           dg, dm, dv, p, &err), 0);
    clReleaseMemObject(dg);
    free(g);
  }
  download(dw, w, p * 4);
  expect_close(w, rw, p, 1e-6, 1e-5, what);
  clReleaseMemObject(dw), clReleaseMemObject(dm), clReleaseMemObject(dv);
  free(w), free(m), free(v), free(rw), free(rm), free(rv);
}

static void test_optimizers(void **state) {
  (void)state;
  fl_optimizer_spec sgd = {.kind = FL_OPT_SGD, .learning_rate = 0.1f};
  check_optimizer(sgd, "sgd");
  sgd.momentum = 0.9f;
  check_optimizer(sgd, "sgd momentum");
  sgd.nesterov = true;
  check_optimizer(sgd, "sgd nesterov");
  fl_optimizer_spec adam = {.kind = FL_OPT_ADAM, .learning_rate = 0.01f,
                            .beta_1 = 0.9f, .beta_2 = 0.999f, .epsilon = 1e-7f};
  check_optimizer(adam, "adam");
  adam.kind = FL_OPT_ADAMW;
  adam.weight_decay = 0.004f;
  check_optimizer(adam, "adamw");
  fl_optimizer_spec rms = {.kind = FL_OPT_RMSPROP, .learning_rate = 0.01f,
                           .rho = 0.9f, .epsilon = 1e-7f};
  check_optimizer(rms, "rmsprop");
  rms.momentum = 0.5f;
  check_optimizer(rms, "rmsprop momentum");
}

static void test_segment_sumsq(void **state) {
  (void)state;
  fl_error err = {0};
  const size_t p = 1000;
  cl_uint off[4] = {0, 3, 700, 1000};
  float *a = rand_vec(p, -1, 1), *b = rand_vec(p, -1, 1);
  float acc[2 + 3] = {0}, want[3] = {0};
  for (int s = 0; s < 3; s++)
    for (size_t i = off[s]; i < off[s + 1]; i++) want[s] += (a[i] - b[i]) * (a[i] - b[i]);
  cl_mem da = upload(a, p * 4), db = upload(b, p * 4), doff = upload(off, sizeof off),
         dacc = upload(acc, sizeof acc);
  assert_int_equal(fl__op_segment_sumsq(dev, da, db, doff, 3, dacc, 2, &err), 0);
  download(dacc, acc, sizeof acc);
  assert_true(acc[0] == 0 && acc[1] == 0);
  expect_close(acc + 2, want, 3, 1e-4, 1e-4, "segment_sumsq");
  clReleaseMemObject(da), clReleaseMemObject(db), clReleaseMemObject(doff);
  clReleaseMemObject(dacc);
  free(a), free(b);
}

/* Widths below, across and at multiples of the row kernel's 8-float
 * chunks; the row kernel (CPUs) and the element kernel (GPUs) both. */
static void check_gather_rows(void) {
  fl_error err = {0};
  static const size_t widths[] = {7, 19, 16};
  const size_t n = 50, start = 10, rows = 20;
  uint32_t perm[50];
  for (size_t i = 0; i < n; i++) perm[i] = (uint32_t)((i * 17 + 3) % n);
  for (size_t w = 0; w < sizeof widths / sizeof widths[0]; w++) {
    size_t d = widths[w];
    float *src = rand_vec(n * d, -1, 1), got[20 * 19], want[20 * 19];
    fl__ref_gather_rows(want, src, perm, start, rows, d);
    cl_mem dsrc = upload(src, n * d * 4), dperm = upload(perm, sizeof perm),
           ddst = upload(NULL, rows * d * 4);
    assert_int_equal(fl__op_gather_rows(dev, ddst, dsrc, dperm, start, rows, d, &err), 0);
    download(ddst, got, rows * d * 4);
    assert_memory_equal(got, want, rows * d * 4);
    clReleaseMemObject(dsrc), clReleaseMemObject(dperm), clReleaseMemObject(ddst);
    free(src);
  }
}

static void test_gather_rows(void **state) {
  (void)state;
  in_both_shapes(check_gather_rows);
}

/* Batch normalization: statistics (training: the batch's, and the moving
 * ones moved; inference: the moving ones), the normalization with each
 * activation, and the backward pass with dgamma and dbeta, against the
 * reference; at offsets in the flat buffers, with and without gamma and
 * beta, for one row (variance 0), a few rows and widths around the CPU
 * work-group of 16 units. */
static void test_batchnorm(void **state) {
  (void)state;
  static const size_t shapes[][2] = {{1, 5}, {7, 16}, {33, 37}, {128, 3}};
  const size_t so = 3, po = 11; /* offsets: statistics, gamma/beta */
  const fl_activation bn_acts[] = {FL_ACT_LINEAR, FL_ACT_RELU, FL_ACT_TANH,
                                FL_ACT_SIGMOID, FL_ACT_LEAKY_RELU};
  for (size_t sh = 0; sh < sizeof shapes / sizeof *shapes; sh++)
    for (int variant = 0; variant < 3; variant++) {
      fl_error err = {0};
      size_t rows = shapes[sh][0], n = shapes[sh][1];
      bool has_gamma = variant != 1, has_beta = variant != 2;
      fl__bn_layer bn = {n, so, has_gamma ? po : FL__NO_OFF,
                         has_beta ? po + n : FL__NO_OFF, 0.9f, 1e-3f};
      float *x = rand_vec(rows * n, -2, 3);
      for (size_t i = 0; i < rows * n; i++) x[i] += (float)(i % n); /* per-unit means */
      float *params = rand_vec(po + 2 * n, 0.5f, 1.5f);
      float *stats = rand_vec(so + 2 * n, 0.1f, 2.0f);
      float *dy = rand_vec(rows * n, -1, 1);
      size_t nn = so + 2 * n;
      /* norm starts zeroed: Oclgrind 21.10 reports the values bn_stats
       * writes there as uninitialized when bn_apply / bn_backward read
       * them (not when the buffer was written before; the values are
       * checked against the reference below, so they are written) */
      float *zeros = calloc(nn, 4);
      cl_mem dx = upload(x, rows * n * 4), dp = upload(params, (po + 2 * n) * 4),
             ds = upload(stats, nn * 4), dnorm = upload(zeros, nn * 4),
             dyb = upload(NULL, rows * n * 4), dg = upload(NULL, (po + 2 * n) * 4);
      float *want_s = malloc(nn * 4), *got_s = malloc(nn * 4);
      float *want_n = calloc(nn, 4), *got_n = malloc(nn * 4);
      float *want_y = malloc(rows * n * 4), *got_y = malloc(rows * n * 4);
      for (int training = 1; training >= 0; training--) {
        memcpy(want_s, stats, nn * 4);
        fl__buffer_write(dev, ds, 0, nn * 4, stats, &err);
        fl__ref_bn_stats(x, rows, n, training, bn.momentum, bn.epsilon,
                         want_s + so, want_s + so + n, want_n + so,
                         want_n + so + n);
        assert_int_equal(fl__op_bn_stats(dev, dx, rows, &bn, training, ds,
                                         dnorm, &err), 0);
        download(ds, got_s, nn * 4);
        download(dnorm, got_n, nn * 4);
        expect_close(got_s, want_s, nn, 1e-6, 1e-5, "bn_stats moving statistics");
        expect_close(got_n + so, want_n + so, 2 * n, 1e-6, 1e-5, "bn_stats mean, invstd");
        if (!training) /* the moving statistics are read, not moved */
          assert_memory_equal(got_s, stats, nn * 4);
        for (size_t a = 0; a < sizeof bn_acts / sizeof *bn_acts; a++) {
          fl__ref_bn_apply(want_y, x, rows, n, want_n + so, want_n + so + n,
                           has_gamma ? params + po : NULL,
                           has_beta ? params + po + n : NULL, bn_acts[a]);
          assert_int_equal(fl__op_bn_apply(dev, dyb, dx, rows, &bn, dnorm, dp,
                                           bn_acts[a], &err), 0);
          download(dyb, got_y, rows * n * 4);
          expect_close(got_y, want_y, rows * n, 1e-5, 1e-5, "bn_apply");
        }
      }
      /* backward, on the training statistics */
      fl__ref_bn_stats(x, rows, n, true, bn.momentum, bn.epsilon, want_s + so,
                       want_s + so + n, want_n + so, want_n + so + n);
      assert_int_equal(fl__op_bn_stats(dev, dx, rows, &bn, true, ds, dnorm, &err), 0);
      float *want_d = malloc(rows * n * 4), *got_d = malloc(rows * n * 4);
      float *want_g = calloc(po + 2 * n, 4), *got_g = malloc((po + 2 * n) * 4);
      memcpy(want_d, dy, rows * n * 4);
      fl__buffer_write(dev, dyb, 0, rows * n * 4, dy, &err);
      fl__buffer_zero(dev, dg, (po + 2 * n) * 4, &err);
      fl__ref_bn_backward(want_d, x, rows, n, want_n + so, want_n + so + n,
                          has_gamma ? params + po : NULL,
                          has_gamma ? want_g + po : NULL,
                          has_beta ? want_g + po + n : NULL);
      assert_int_equal(fl__op_bn_backward(dev, dyb, dx, rows, &bn, dnorm, dp,
                                          dg, &err), 0);
      download(dyb, got_d, rows * n * 4);
      download(dg, got_g, (po + 2 * n) * 4);
      expect_close(got_d, want_d, rows * n, 1e-5, 1e-4, "bn_backward dx");
      expect_close(got_g, want_g, po + 2 * n, 1e-5, 1e-4, "bn_backward dgamma, dbeta");
      /* the normalized batch sums to beta and its dx to 0 (per unit) */
      for (size_t j = 0; rows > 1 && j < n; j++) {
        double s = 0;
        for (size_t r = 0; r < rows; r++) s += got_d[r * n + j];
        assert_true(fabs(s) < 1e-4 * (double)rows);
      }
      cl_mem all[] = {dx, dp, ds, dnorm, dyb, dg};
      for (size_t i = 0; i < sizeof all / sizeof *all; i++) clReleaseMemObject(all[i]);
      free(x), free(params), free(stats), free(dy), free(want_s), free(got_s);
      free(want_n), free(got_n), free(want_y), free(got_y), free(want_d);
      free(got_d), free(want_g), free(got_g), free(zeros);
    }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_gemm_all_implementations),
      cmocka_unit_test(test_gemm_epilogues),
      cmocka_unit_test(test_gemm_gathered_rows),
      cmocka_unit_test(test_bias_act_forward_and_backward),
      cmocka_unit_test(test_softmax_forward_backward),
      cmocka_unit_test(test_bias_grad_and_unit_trackers),
      cmocka_unit_test(test_loss_rows_all_modes),
      cmocka_unit_test(test_binary_loss_rows),
      cmocka_unit_test(test_dropout),
      cmocka_unit_test(test_batchnorm),
      cmocka_unit_test(test_regularize),
      cmocka_unit_test(test_optimizers),
      cmocka_unit_test(test_segment_sumsq),
      cmocka_unit_test(test_gather_rows),
      cmocka_unit_test(test_batch_metrics_both_shapes),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
