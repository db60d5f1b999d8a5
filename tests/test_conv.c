/* tests/test_conv.c — conv2d and pooling on the OpenCL device: each new
 * kernel (im2col, col2im, pool_forward/backward in max, average and
 * global-average modes) against the plain-C reference (engine/
 * reference_conv.c), for strides 1 and 2, both paddings, odd sizes, 1 and
 * 3 channels; then whole training steps of small CNNs against the
 * reference model's gradient (itself checked by finite differences in
 * test_conv_gradients.c), bit-identical repeats for a seed, the per-filter
 * dead-unit tracker, and the shape errors a trainer refuses.
 *
 * Tolerances as test_kernels.c: 1e-5 / 1e-4 elementwise (im2col and max
 * pooling copy values, so they must match exactly), 1e-4 / 1e-3 for sums. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "device_fixture.h"
#include "reference.h"

static uint64_t lcg = 777;
static float frand(void) {
  lcg = lcg * 6364136223846793005ull + 1442695040888963407ull;
  return (float)((lcg >> 40) / 16777216.0) * 2.0f - 1.0f;
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
  for (size_t i = 0; i < n; i++)
    if (!(fabs((double)got[i] - want[i]) <= atol + rtol * fabs(want[i])))
      fail_msg("%s: element %zu of %zu: device %.9g, reference %.9g", what, i,
               n, got[i], want[i]);
}

/* A conv layer spec and its shapes on an h x w x c image. */
static void conv_layer(fl_layer_spec *ls, fl_layer_shape *g, int h, int w,
                       int c, int f, int kh, int kw, int s, bool same,
                       int pool, int pk, int ps, bool pool_same) {
  memset(ls, 0, 2 * sizeof *ls);
  ls[0].kind = FL_LAYER_CONV2D;
  ls[0].units = f;
  ls[0].input_shape[0] = h, ls[0].input_shape[1] = w, ls[0].input_shape[2] = c;
  ls[0].kernel_size[0] = kh, ls[0].kernel_size[1] = kw;
  ls[0].strides[0] = ls[0].strides[1] = s;
  ls[0].padding_same = same;
  ls[0].pool = pool;
  ls[0].pool_size[0] = ls[0].pool_size[1] = pk;
  ls[0].pool_strides[0] = ls[0].pool_strides[1] = ps;
  ls[0].pool_same = pool_same;
  ls[1].units = 2;
  ls[1].flatten = true;
  bool known;
  fl_error err = {0};
  fl_layer_shape shapes[2];
  assert_int_equal(fl_model_shapes(ls, 2, 0, shapes, &known, &err), 0);
  *g = shapes[0];
}

static void check_im2col_col2im(int h, int w, int c, int kh, int kw, int s,
                                bool same) {
  fl_layer_spec ls[2];
  fl_layer_shape g;
  conv_layer(ls, &g, h, w, c, 2, kh, kw, s, same, FL_POOL_NONE, 0, 0, false);
  const size_t rows = 3, off = 5;
  size_t nx = rows * g.flat_in, K = (size_t)kh * kw * c;
  size_t ncol = rows * (size_t)g.oh * g.ow * K;
  float *x = malloc((nx + off) * 4), *col = malloc(ncol * 4);
  float *got = malloc(ncol * 4), *dcol = malloc(ncol * 4);
  float *dx = malloc(nx * 4), *dx_got = malloc(nx * 4);
  for (size_t i = 0; i < nx + off; i++) x[i] = frand();
  for (size_t i = 0; i < ncol; i++) dcol[i] = frand();
  fl__ref_im2col(col, x + off, rows, &ls[0], &g);
  fl__ref_col2im(dx, dcol, rows, &ls[0], &g);
  cl_mem bx = upload(x, (nx + off) * 4), bcol = upload(got, ncol * 4);
  cl_mem bdcol = upload(dcol, ncol * 4), bdx = upload(dx_got, nx * 4);
  fl_error err = {0};
  assert_int_equal(fl__op_im2col(dev, bcol, bx, off, rows, &ls[0], &g, &err), 0);
  assert_int_equal(fl__op_col2im(dev, bdx, bdcol, rows, &ls[0], &g, &err), 0);
  download(bcol, got, ncol * 4);
  download(bdx, dx_got, nx * 4);
  expect_close(got, col, ncol, 0, 0, "im2col");
  expect_close(dx_got, dx, nx, 1e-4, 1e-3, "col2im");
  fl__buffer_release(&bx), fl__buffer_release(&bcol);
  fl__buffer_release(&bdcol), fl__buffer_release(&bdx);
  free(x), free(col), free(got), free(dcol), free(dx), free(dx_got);
}

static void test_im2col_col2im(void **state) {
  (void)state;
  check_im2col_col2im(5, 5, 1, 3, 3, 1, false);
  check_im2col_col2im(5, 5, 1, 3, 3, 1, true);
  check_im2col_col2im(7, 6, 3, 3, 3, 2, false);
  check_im2col_col2im(7, 6, 3, 3, 3, 2, true);
  check_im2col_col2im(9, 7, 3, 2, 4, 2, true);
  check_im2col_col2im(8, 8, 1, 5, 5, 1, true);
}

static void check_pool(int h, int w, int f, int pool, int pk, int ps,
                       bool same) {
  fl_layer_spec ls[2];
  fl_layer_shape g;
  /* a 1x1 conv keeps the image: the pooling sees h x w x f */
  conv_layer(ls, &g, h, w, f, f, 1, 1, 1, false, pool, pk, ps, same);
  const size_t rows = 2;
  size_t nx = rows * (size_t)g.oh * g.ow * f, ny = rows * (size_t)g.ph * g.pw * f;
  float *x = malloc(nx * 4), *y = malloc(ny * 4), *y_got = malloc(ny * 4);
  float *dy = malloc(ny * 4), *dx = malloc(nx * 4), *dx_got = malloc(nx * 4);
  uint32_t *arg = calloc(ny, 4), *arg_got = calloc(ny, 4);
  for (size_t i = 0; i < nx; i++) x[i] = frand();
  for (size_t i = 0; i < ny; i++) dy[i] = frand();
  fl__ref_pool_forward(y, x, arg, rows, f, pool, &g);
  fl__ref_pool_backward(dx, dy, arg, rows, f, pool, &g);
  cl_mem bx = upload(x, nx * 4), by = upload(y_got, ny * 4);
  cl_mem barg = upload(arg_got, ny * 4), bdy = upload(dy, ny * 4);
  cl_mem bdx = upload(dx_got, nx * 4);
  fl_error err = {0};
  assert_int_equal(fl__op_pool_forward(dev, by, bx, barg, rows, f, pool, &g,
                                       &err), 0);
  assert_int_equal(fl__op_pool_backward(dev, bdx, bdy, barg, rows, f, pool,
                                        NULL, FL_ACT_LINEAR, &g, &err), 0);
  download(by, y_got, ny * 4);
  download(bdx, dx_got, nx * 4);
  char what[64];
  snprintf(what, sizeof what, "pool %d %dx%d/%d %s forward", pool, pk, pk, ps,
           same ? "same" : "valid");
  expect_close(y_got, y, ny, pool == FL_POOL_MAX ? 0 : 1e-5, 1e-4, what);
  if (pool == FL_POOL_MAX) {
    download(barg, arg_got, ny * 4);
    assert_memory_equal(arg_got, arg, ny * 4);
  }
  snprintf(what, sizeof what, "pool %d %dx%d/%d %s backward", pool, pk, pk,
           ps, same ? "same" : "valid");
  expect_close(dx_got, dx, nx, 1e-5, 1e-4, what);
  /* with the activation's derivative fused in (the trainer's call): relu'
   * of x, which stands in for the conv's activation output, and tanh' */
  fl_activation acts[2] = {FL_ACT_RELU, FL_ACT_TANH};
  for (int ai = 0; ai < 2; ai++) {
    assert_int_equal(fl__op_pool_backward(dev, bdx, bdy, barg, rows, f, pool,
                                          bx, acts[ai], &g, &err), 0);
    download(bdx, dx_got, nx * 4);
    float *want = malloc(nx * 4);
    for (size_t i = 0; i < nx; i++)
      want[i] = dx[i] * (acts[ai] == FL_ACT_RELU ? (x[i] > 0.0f ? 1.0f : 0.0f)
                                                 : 1.0f - x[i] * x[i]);
    snprintf(what, sizeof what, "pool %d %dx%d/%d %s backward, act %d", pool,
             pk, pk, ps, same ? "same" : "valid", (int)acts[ai]);
    expect_close(dx_got, want, nx, 1e-5, 1e-4, what);
    free(want);
  }
  fl__buffer_release(&bx), fl__buffer_release(&by), fl__buffer_release(&barg);
  fl__buffer_release(&bdy), fl__buffer_release(&bdx);
  free(x), free(y), free(y_got), free(dy), free(dx), free(dx_got);
  free(arg), free(arg_got);
}

static void test_pooling_kernels(void **state) {
  (void)state;
  int modes[2] = {FL_POOL_MAX, FL_POOL_AVG};
  for (int m = 0; m < 2; m++) {
    check_pool(6, 6, 3, modes[m], 2, 2, false);
    check_pool(7, 5, 1, modes[m], 2, 2, true);
    check_pool(7, 7, 3, modes[m], 3, 2, false);
    check_pool(7, 7, 2, modes[m], 3, 2, true);
    check_pool(5, 6, 3, modes[m], 2, 1, true);
  }
  check_pool(5, 7, 3, FL_POOL_GLOBAL_AVG, 0, 0, false);
}

/* A small CNN: conv (3x3 or 4x4 stride 2) with pooling, a second conv,
 * flatten, dense softmax, on images of a blob data set. */
static void cnn(fl_layer_spec *ls, int c, bool same, int s, int pool,
                fl_activation act) {
  memset(ls, 0, 3 * sizeof *ls);
  ls[0].kind = FL_LAYER_CONV2D;
  ls[0].units = 4;
  ls[0].activation = act;
  ls[0].input_shape[0] = 7, ls[0].input_shape[1] = 6, ls[0].input_shape[2] = c;
  ls[0].kernel_size[0] = ls[0].kernel_size[1] = 3;
  ls[0].strides[0] = ls[0].strides[1] = s;
  ls[0].padding_same = same;
  ls[0].pool = pool;
  ls[0].pool_size[0] = ls[0].pool_size[1] = 2;
  ls[0].pool_strides[0] = ls[0].pool_strides[1] = pool == FL_POOL_AVG ? 1 : 2;
  ls[0].pool_same = true;
  ls[0].kernel_init.kind = FL_INIT_GLOROT_UNIFORM;
  ls[0].bias_init = (fl_initializer){FL_INIT_RANDOM_UNIFORM, 0.1f};
  ls[1] = ls[0];
  memset(ls[1].input_shape, 0, sizeof ls[1].input_shape);
  ls[1].units = 3;
  ls[1].strides[0] = ls[1].strides[1] = 1;
  ls[1].padding_same = true;
  ls[1].pool = FL_POOL_NONE;
  ls[1].activation = FL_ACT_TANH;
  if (pool == FL_POOL_GLOBAL_AVG) /* the last conv's: the tensor is flat after it */
    ls[0].pool = FL_POOL_NONE, ls[1].pool = FL_POOL_GLOBAL_AVG;
  ls[2].units = 3;
  ls[2].activation = FL_ACT_SOFTMAX;
  ls[2].flatten = pool != FL_POOL_GLOBAL_AVG;
  ls[2].kernel_init.kind = FL_INIT_GLOROT_UNIFORM;
}

static void check_cnn_step(int c, bool same, int s, int pool,
                           fl_activation act, size_t rows) {
  fl_error err = {0};
  fl_dataset ds;
  make_blobs(&ds, rows, (size_t)7 * 6 * c, 3, 5, false);
  fl_layer_spec ls[3];
  cnn(ls, c, same, s, pool, act);
  const float lr = 0.1f;
  fl_train_config cfg = {.input_dim = ds.d, .n_layers = 3, .layers = ls,
                         .loss = {FL_LOSS_SPARSE_CATEGORICAL_CE, false},
                         .optimizer = {.kind = FL_OPT_SGD, .learning_rate = lr},
                         .batch_size = (int)rows, .seed = 3, .shuffle = false};
  fl_trainer *t;
  if (fl_trainer_create(dev, &cfg, &ds, NULL, &t, &err))
    fail_msg("c %d same %d s %d pool %d: %s", c, same, s, pool, err.msg);
  size_t P = fl_trainer_param_count(t);
  float *p0 = malloc(P * 4), *p1 = malloc(P * 4), *g = calloc(P, 4);
  assert_int_equal(fl_trainer_get_params(t, p0, P, &err), 0);
  fl_epoch_metrics m = {0};
  assert_int_equal(fl_trainer_run_epoch(t, &m, &err), 0);
  assert_int_equal(fl_trainer_get_params(t, p1, P, &err), 0);
  double ref = fl__ref_model_loss(&cfg, p0, ds.x, ds.n, ds.label_kind, ds.ids,
                                  ds.y, g);
  if (!(fabs(m.loss - ref) <= 1e-4 + 1e-4 * fabs(ref)))
    fail_msg("c %d same %d s %d pool %d: loss device %.8g reference %.8g", c,
             same, s, pool, m.loss, ref);
  for (size_t i = 0; i < P; i++) {
    double want = p0[i] - lr * g[i];
    if (!(fabs(p1[i] - want) <= 1e-5 + 1e-3 * fabs(lr * g[i])))
      fail_msg("c %d same %d s %d pool %d act %d: param %zu of %zu device "
               "%.8g reference %.8g", c, same, s, pool, act, i, P, p1[i],
               want);
  }
  assert_true(m.grad_norm[0] > 0 && m.grad_norm[1] > 0);
  fl_trainer_destroy(t);
  fl_dataset_free(&ds);
  free(p0), free(p1), free(g);
}

static void all_cnn_steps(void) {
  check_cnn_step(1, false, 1, FL_POOL_MAX, FL_ACT_RELU, 20);
  check_cnn_step(3, true, 1, FL_POOL_MAX, FL_ACT_RELU, 20);
  check_cnn_step(3, true, 2, FL_POOL_NONE, FL_ACT_TANH, 20);
  check_cnn_step(1, true, 2, FL_POOL_AVG, FL_ACT_LEAKY_RELU, 20);
  check_cnn_step(3, false, 1, FL_POOL_GLOBAL_AVG, FL_ACT_RELU, 20);
  /* 60 images of 42 positions: 2520 patches, so the first layer's dW
   * (9 x 4) goes through gemm_tn_small_part's chunks and both layers'
   * biases through bias_grad_part's (CPU devices) */
  check_cnn_step(1, true, 1, FL_POOL_MAX, FL_ACT_RELU, 60);
  check_cnn_step(1, true, 1, FL_POOL_NONE, FL_ACT_TANH, 60);
}

/* A conv layer's bias gradient in chunks of rows (fl__op_bias_grad_tall,
 * the trainer's call): db = dz's column sums, active |= any a > 0, sat +=
 * the saturated a; n = 20 has a tail of 4 units after two float8 groups,
 * 3000 rows end in a short chunk. Twice: the same bits. */
static void check_bias_grad_tall(size_t rows, size_t n, fl_activation act) {
  size_t off = 5, chunks = fl__bias_grad_chunks(rows);
  float *dz = malloc(rows * n * 4), *a = malloc(rows * n * 4);
  float *db = calloc(off + n, 4), *db2 = calloc(off + n, 4);
  double *want = calloc(n, sizeof(double));
  uint32_t *active = calloc(off + n, 4), *sat = calloc(off + n, 4);
  uint32_t *act_want = calloc(n, 4), *sat_want = calloc(n, 4);
  for (size_t i = 0; i < rows * n; i++) {
    size_t j = i % n;
    dz[i] = frand();
    /* unit 1 never positive: a dead filter */
    a[i] = j == 1 ? -fabsf(frand()) : frand();
    want[j] += dz[i];
    act_want[j] |= a[i] > 0.0f;
    sat_want[j] += act == FL_ACT_TANH      ? fabsf(a[i]) > 0.99f
                   : act == FL_ACT_SIGMOID ? a[i] < 0.01f || a[i] > 0.99f
                                           : 0;
  }
  for (size_t j = 0; j < n; j++) sat[off + j] = 7; /* the trackers add */
  cl_mem bdz = upload(dz, rows * n * 4), ba = upload(a, rows * n * 4);
  cl_mem bdb = upload(db, (off + n) * 4);
  cl_mem bact = upload(active, (off + n) * 4), bsat = upload(sat, (off + n) * 4);
  cl_mem bpart = upload(NULL, chunks * n * 4);
  cl_mem bflags = upload(NULL, 2 * chunks * n * 4);
  fl_error err = {0};
  for (int rep = 0; rep < 2; rep++) {
    assert_int_equal(fl__op_bias_grad_tall(dev, bdb, off, bdz, ba, rows, n,
                                           act, rep ? NULL : bact,
                                           rep ? NULL : bsat, off, bpart,
                                           bflags, &err), 0);
    download(bdb, rep ? db2 : db, (off + n) * 4);
  }
  assert_memory_equal(db, db2, (off + n) * 4);
  download(bact, active, (off + n) * 4);
  download(bsat, sat, (off + n) * 4);
  for (size_t j = 0; j < n; j++) {
    if (!(fabs(db[off + j] - want[j]) <= 1e-3 + 1e-4 * fabs(want[j])))
      fail_msg("bias grad unit %zu: device %.9g, reference %.9g", j,
               db[off + j], want[j]);
    if (active[off + j] != act_want[j] || sat[off + j] != 7 + sat_want[j])
      fail_msg("bias grad unit %zu of %zu x %zu, act %d: active %u (want "
               "%u), sat %u (want 7 + %u)", j, rows, n, (int)act,
               active[off + j], act_want[j], sat[off + j], sat_want[j]);
  }
  assert_int_equal(active[off + 1], 0);
  fl__buffer_release(&bdz), fl__buffer_release(&ba), fl__buffer_release(&bdb);
  fl__buffer_release(&bact), fl__buffer_release(&bsat);
  fl__buffer_release(&bpart), fl__buffer_release(&bflags);
  free(dz), free(a), free(db), free(db2), free(want), free(active), free(sat);
  free(act_want), free(sat_want);
}

static void test_bias_grad_tall(void **state) {
  (void)state;
  check_bias_grad_tall(3000, 20, FL_ACT_TANH);
  check_bias_grad_tall(4096, 32, FL_ACT_RELU);
  check_bias_grad_tall(2000, 12, FL_ACT_SIGMOID);
  check_bias_grad_tall(300, 9, FL_ACT_SIGMOID); /* one chunk: bias_grad */
}

/* Small jobs and, with pack_min_volume 0, every GEMM packed. */
static void test_cnn_step_matches_reference(void **state) {
  (void)state;
  size_t keep = dev->pack_min_volume;
  all_cnn_steps();
  dev->pack_min_volume = 0;
  all_cnn_steps();
  dev->pack_min_volume = keep;
}

/* Two trainers, one seed, shuffled batches with dropout after the first
 * conv: the same losses bit for bit. */
static void test_cnn_bit_identical(void **state) {
  (void)state;
  fl_error err = {0};
  fl_dataset ds;
  make_blobs(&ds, 90, 7 * 6 * 3, 3, 9, false);
  fl_layer_spec ls[3];
  cnn(ls, 3, true, 1, FL_POOL_MAX, FL_ACT_RELU);
  ls[0].dropout = 0.25f;
  fl_train_config cfg = {.input_dim = ds.d, .n_layers = 3, .layers = ls,
                         .loss = {FL_LOSS_SPARSE_CATEGORICAL_CE, false},
                         .optimizer = {.kind = FL_OPT_ADAM, .learning_rate = 0.01f,
                                       .beta_1 = 0.9f, .beta_2 = 0.999f,
                                       .epsilon = 1e-7f},
                         .batch_size = 16, .seed = 21, .shuffle = true};
  double loss[2][3];
  for (int run = 0; run < 2; run++) {
    fl_trainer *t;
    assert_int_equal(fl_trainer_create(dev, &cfg, &ds, NULL, &t, &err), 0);
    for (int e = 0; e < 3; e++) {
      fl_epoch_metrics m;
      assert_int_equal(fl_trainer_run_epoch(t, &m, &err), 0);
      loss[run][e] = m.loss;
    }
    fl_trainer_destroy(t);
  }
  assert_memory_equal(loss[0], loss[1], sizeof loss[0]);
  assert_true(loss[0][2] < loss[0][0]); /* and it learns */
  fl_dataset_free(&ds);
}

/* Filters whose bias is far below zero never fire: dead_fraction counts
 * filters (4 of them: 0.5 when two are dead). */
static void test_dead_filters(void **state) {
  (void)state;
  fl_error err = {0};
  fl_dataset ds;
  make_blobs(&ds, 30, 7 * 6, 3, 4, false);
  fl_layer_spec ls[3];
  cnn(ls, 1, true, 1, FL_POOL_MAX, FL_ACT_RELU);
  ls[0].bias_init = (fl_initializer){FL_INIT_ZEROS, 0};
  fl_train_config cfg = {.input_dim = ds.d, .n_layers = 3, .layers = ls,
                         .loss = {FL_LOSS_SPARSE_CATEGORICAL_CE, false},
                         .optimizer = {.kind = FL_OPT_SGD, .learning_rate = 1e-6f},
                         .batch_size = 10, .seed = 1, .shuffle = false};
  fl_trainer *t;
  assert_int_equal(fl_trainer_create(dev, &cfg, &ds, NULL, &t, &err), 0);
  size_t P = fl_trainer_param_count(t);
  float *p = malloc(P * 4);
  assert_int_equal(fl_trainer_get_params(t, p, P, &err), 0);
  size_t b_off = 9 * 4; /* W (3*3*1, 4), then b (4) */
  p[b_off + 1] = p[b_off + 3] = -1e4f;
  assert_int_equal(fl_trainer_set_params(t, p, P, &err), 0);
  fl_epoch_metrics m;
  assert_int_equal(fl_trainer_run_epoch(t, &m, &err), 0);
  assert_true(fabs(m.dead_fraction[0] - 0.5) < 1e-9);
  assert_true(m.saturated_fraction[1] >= 0 && m.saturated_fraction[1] <= 1);
  fl_trainer_destroy(t);
  fl_dataset_free(&ds);
  free(p);
}

/* What the trainer refuses: an image that is not the rows, a kernel that
 * does not fit. The messages name the numbers and the fix. */
static void test_shape_errors(void **state) {
  (void)state;
  fl_error err = {0};
  fl_dataset ds;
  make_blobs(&ds, 10, 7 * 6, 3, 4, false);
  fl_layer_spec ls[3];
  cnn(ls, 3, true, 1, FL_POOL_MAX, FL_ACT_RELU); /* 126 values, rows of 42 */
  fl_train_config cfg = {.input_dim = ds.d, .n_layers = 3, .layers = ls,
                         .loss = {FL_LOSS_SPARSE_CATEGORICAL_CE, false},
                         .optimizer = {.kind = FL_OPT_SGD, .learning_rate = 0.1f},
                         .batch_size = 10};
  fl_trainer *t = NULL;
  assert_int_equal(fl_trainer_create(dev, &cfg, &ds, NULL, &t, &err), FL_EINVAL);
  assert_non_null(strstr(err.msg, "126 values"));
  assert_non_null(strstr(err.msg, "42 features"));
  cnn(ls, 1, false, 1, FL_POOL_NONE, FL_ACT_RELU);
  ls[0].kernel_size[0] = 9;
  assert_int_equal(fl_trainer_create(dev, &cfg, &ds, NULL, &t, &err), FL_EINVAL);
  assert_non_null(strstr(err.msg, "\"same\""));
  /* no input_shape: 42 is no square image */
  cnn(ls, 1, true, 1, FL_POOL_NONE, FL_ACT_RELU);
  memset(ls[0].input_shape, 0, sizeof ls[0].input_shape);
  assert_int_equal(fl_trainer_create(dev, &cfg, &ds, NULL, &t, &err), FL_EINVAL);
  assert_non_null(strstr(err.msg, "input_shape"));
  assert_null(t);
  fl_dataset_free(&ds);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_im2col_col2im),
      cmocka_unit_test(test_pooling_kernels),
      cmocka_unit_test(test_bias_grad_tall),
      cmocka_unit_test(test_cnn_step_matches_reference),
      cmocka_unit_test(test_cnn_bit_identical),
      cmocka_unit_test(test_dead_filters),
      cmocka_unit_test(test_shape_errors),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
