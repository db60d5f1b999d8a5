/* tests/test_clip.c — on an OpenCL device: gradient clipping
 * (kernels/clip.cl) against the plain-C reference (engine/reference.c) for
 * clipvalue, clipnorm (per variable) and global_clipnorm; a trainer with
 * clipping and a learning-rate schedule repeats bit-identically, clipping
 * changes what it learns, and its epochs report the schedule's rate; the
 * kept (best) parameters come back after more training. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>

#include "device_fixture.h"
#include "reference.h"

/* Gradients of mixed scale: some variables above the clip norm, some below. */
static float *gradients(size_t p, unsigned seed) {
  float *g = malloc(p * sizeof *g);
  for (size_t i = 0; i < p; i++) {
    seed = seed * 1103515245u + 12345u;
    float u = (float)((seed >> 8) & 0xffff) / 65536.0f - 0.5f;
    g[i] = u * (i % 7 == 0 ? 40.0f : 0.2f);
  }
  return g;
}

static void check_clip(const fl_optimizer_spec *opt, const char *what) {
  const fl_layer_spec layers[2] = {{.units = 33, .activation = FL_ACT_RELU},
                                   {.units = 5, .activation = FL_ACT_SOFTMAX}};
  fl_train_config cfg = {.input_dim = 19, .n_layers = 2, .layers = layers,
                         .optimizer = *opt, .batch_size = 8};
  fl__model_layout lay;
  fl__model_layout_compute(&cfg, &lay);
  size_t P = lay.n_params;
  float *g = gradients(P, 7), *want = malloc(P * sizeof *want), *got = malloc(P * sizeof *got);
  memcpy(want, g, P * sizeof *g);
  fl__ref_clip_grads(opt, &lay, want);
  /* The reference must have changed something: the test clips for real. */
  assert_true(memcmp(want, g, P * sizeof *g) != 0);
  fl_error err = {0};
  cl_mem dg;
  assert_int_equal(fl__buffer_create(dev, P * sizeof(float), g, &dg, &err), 0);
  if (opt->clipvalue > 0) {
    assert_int_equal(fl__op_clip_by_value(dev, dg, opt->clipvalue, P, &err), 0);
  } else {
    cl_uint off[2 * FL_MAX_LAYERS + 1];
    size_t n = 0;
    if (opt->clipnorm > 0)
      for (int l = 0; l < lay.n_layers; l++) {
        off[n++] = (cl_uint)lay.l[l].w_off;
        off[n++] = (cl_uint)lay.l[l].b_off;
      }
    else
      off[n++] = 0;
    off[n] = (cl_uint)P;
    cl_mem doff, dsum;
    assert_int_equal(fl__buffer_create(dev, (n + 1) * sizeof(cl_uint), off, &doff, &err), 0);
    assert_int_equal(fl__buffer_create(dev, n * sizeof(float), NULL, &dsum, &err), 0);
    float c = opt->clipnorm > 0 ? opt->clipnorm : opt->global_clipnorm;
    assert_int_equal(fl__op_clip_by_norm(dev, dg, doff, n, dsum, c, P, &err), 0);
    fl__buffer_release(&doff);
    fl__buffer_release(&dsum);
  }
  assert_int_equal(fl__buffer_read(dev, dg, 0, P * sizeof(float), got, &err), 0);
  /* The device sums squares in float in a tree, the reference in double. */
  for (size_t i = 0; i < P; i++)
    if (!(fabs((double)got[i] - want[i]) <= 1e-7 + 1e-5 * fabs(want[i])))
      fail_msg("%s: element %zu: device %.9g, reference %.9g", what, i, got[i], want[i]);
  fl__buffer_release(&dg);
  free(g);
  free(want);
  free(got);
}

static void test_clip_matches_reference(void **state) {
  (void)state;
  fl_optimizer_spec opt;
  fl_optimizer_defaults(&opt, FL_OPT_ADAM);
  opt.clipvalue = 0.5f;
  check_clip(&opt, "clipvalue");
  opt.clipvalue = 0;
  opt.clipnorm = 1.0f;
  check_clip(&opt, "clipnorm");
  opt.clipnorm = 0;
  opt.global_clipnorm = 2.0f;
  check_clip(&opt, "global_clipnorm");
}

/* Three epochs of a small model; losses and final parameters out. */
static void train(const fl_optimizer_spec *opt, double loss[3], double lr[3], float **params,
                  size_t *P) {
  fl_dataset ds;
  make_blobs(&ds, 96, 6, 3, 11, false);
  const fl_layer_spec layers[2] = {{.units = 12, .activation = FL_ACT_RELU},
                                   {.units = 3, .activation = FL_ACT_SOFTMAX}};
  fl_train_config cfg = {.input_dim = 6, .n_layers = 2, .layers = layers,
                         .loss = {.kind = FL_LOSS_SPARSE_CATEGORICAL_CE},
                         .optimizer = *opt, .batch_size = 16, .seed = 5, .shuffle = true};
  fl_trainer *t;
  fl_error err = {0};
  if (fl_trainer_create(dev, &cfg, &ds, NULL, &t, &err)) fail_msg("%s", err.msg);
  for (int e = 0; e < 3; e++) {
    fl_epoch_metrics m;
    if (fl_trainer_run_epoch(t, &m, &err)) fail_msg("%s", err.msg);
    loss[e] = m.loss;
    lr[e] = m.lr;
  }
  *P = fl_trainer_param_count(t);
  *params = malloc(*P * sizeof(float));
  assert_int_equal(fl_trainer_get_params(t, *params, *P, &err), 0);
  fl_trainer_destroy(t);
  free(ds.x);
  free(ds.ids);
}

static void test_clipped_scheduled_training_repeats(void **state) {
  (void)state;
  fl_optimizer_spec opt;
  fl_optimizer_defaults(&opt, FL_OPT_SGD);
  opt.learning_rate = 0.5f;
  opt.clipnorm = 0.05f;
  opt.schedule = (fl_lr_schedule){.kind = FL_SCHEDULE_EXPONENTIAL, .decay_steps = 6,
                                  .decay_rate = 0.5, .staircase = true};
  double l1[3], l2[3], r1[3], r2[3], l3[3], r3[3];
  float *p1, *p2, *p3;
  size_t P;
  train(&opt, l1, r1, &p1, &P);
  train(&opt, l2, r2, &p2, &P);
  assert_memory_equal(l1, l2, sizeof l1);
  assert_memory_equal(p1, p2, P * sizeof(float));
  /* 6 steps an epoch (96 rows / 16): the last step of epoch e is 6e - 1,
   * so the staircase has halved e - 1 times by then. */
  for (int e = 0; e < 3; e++) {
    double want = (float)fl_learning_rate_at(&opt, 6 * (e + 1) - 1);
    if (fabs(r1[e] - want) > 1e-7) fail_msg("epoch %d reports lr %g, want %g", e + 1, r1[e], want);
  }
  /* Without clipping the same job learns something else. */
  opt.clipnorm = 0;
  train(&opt, l3, r3, &p3, &P);
  assert_true(memcmp(p1, p3, P * sizeof(float)) != 0);
  free(p1);
  free(p2);
  free(p3);
}

static void test_kept_parameters_come_back(void **state) {
  (void)state;
  fl_dataset ds;
  make_blobs(&ds, 64, 4, 2, 3, false);
  const fl_layer_spec layers[1] = {{.units = 2, .activation = FL_ACT_SOFTMAX}};
  fl_train_config cfg = {.input_dim = 4, .n_layers = 1, .layers = layers,
                         .loss = {.kind = FL_LOSS_SPARSE_CATEGORICAL_CE}, .batch_size = 16,
                         .seed = 1};
  fl_optimizer_defaults(&cfg.optimizer, FL_OPT_SGD);
  fl_trainer *t;
  fl_error err = {0};
  assert_int_equal(fl_trainer_create(dev, &cfg, &ds, NULL, &t, &err), 0);
  fl_epoch_metrics m;
  assert_int_equal(fl_trainer_run_epoch(t, &m, &err), 0);
  assert_int_equal(fl_trainer_keep_params(t, 1, &err), 0);
  size_t P = fl_trainer_param_count(t);
  float *kept = malloc(P * sizeof *kept), *now = malloc(P * sizeof *now);
  assert_int_equal(fl_trainer_get_params(t, kept, P, &err), 0);
  assert_int_equal(fl_trainer_run_epoch(t, &m, &err), 0);
  assert_int_equal(fl_trainer_get_params(t, now, P, &err), 0);
  assert_true(memcmp(kept, now, P * sizeof *now) != 0);
  assert_int_equal(fl_trainer_restore_kept_params(t, &err), 0);
  assert_int_equal(fl_trainer_get_params(t, now, P, &err), 0);
  assert_memory_equal(kept, now, P * sizeof *now);
  assert_int_equal(fl_trainer_kept_epoch(t), 1);
  free(kept);
  free(now);
  fl_trainer_destroy(t);
  free(ds.x);
  free(ds.ids);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_clip_matches_reference),
      cmocka_unit_test(test_clipped_scheduled_training_repeats),
      cmocka_unit_test(test_kept_parameters_come_back),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
