/* tests/test_training.c — the trainer on a real OpenCL device: a full
 * training step against the plain-C reference model (so the device's whole
 * backward pass is checked), determinism, learning with every optimizer,
 * the per-epoch metrics, and the errors a bad job must get (labels out of
 * range, device memory). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "engine_internal.h"
#include "reference.h"

#include "device_fixture.h"

static fl_optimizer_spec sgd(float lr) {
  return (fl_optimizer_spec){.kind = FL_OPT_SGD, .learning_rate = lr};
}

static fl_optimizer_spec keras_default(fl_optimizer_kind kind, float lr) {
  fl_optimizer_spec o = {.kind = kind, .learning_rate = lr, .beta_1 = 0.9f,
                         .beta_2 = 0.999f, .epsilon = 1e-7f, .rho = 0.9f};
  if (kind == FL_OPT_ADAMW) o.weight_decay = 0.004f;
  return o;
}

/* One SGD step over the whole set (no shuffle, one batch): the device's new
 * parameters must equal params - lr * reference gradient. */
static void check_one_step(fl_activation hidden, fl_activation out,
                           fl_loss_kind loss, bool from_logits, bool dense) {
  fl_error err = {0};
  fl_dataset ds;
  make_blobs(&ds, 24, 6, 4, 3, dense);
  fl_layer_spec layers[2] = {
      {.units = 7, .activation = hidden,
       .kernel_init = {FL_INIT_GLOROT_UNIFORM, 0}, .bias_init = {FL_INIT_RANDOM_UNIFORM, 0.1f}},
      {.units = 4, .activation = out,
       .kernel_init = {FL_INIT_GLOROT_UNIFORM, 0}, .bias_init = {FL_INIT_RANDOM_UNIFORM, 0.1f}},
  };
  const float lr = 0.5f;
  fl_train_config cfg = {.input_dim = 6, .n_layers = 2, .layers = layers,
                         .loss = {loss, from_logits}, .optimizer = sgd(lr),
                         .batch_size = 24, .seed = 11, .shuffle = false};
  fl_trainer *t;
  assert_int_equal(fl_trainer_create(dev, &cfg, &ds, NULL, &t, &err), 0);
  size_t P = fl_trainer_param_count(t);
  float *p0 = malloc(P * 4), *p1 = malloc(P * 4), *g = calloc(P, 4);
  assert_int_equal(fl_trainer_get_params(t, p0, P, &err), 0);
  fl_epoch_metrics m = {0};
  assert_int_equal(fl_trainer_run_epoch(t, &m, &err), 0);
  assert_int_equal(fl_trainer_get_params(t, p1, P, &err), 0);
  double ref_loss = fl__ref_model_loss(&cfg, p0, ds.x, ds.n, ds.label_kind,
                                       ds.ids, ds.y, g);
  assert_true(fabs(m.loss - ref_loss) <= 1e-4 + 1e-4 * fabs(ref_loss));
  assert_true(fabs(m.first_batch_loss - ref_loss) <= 1e-4 + 1e-4 * fabs(ref_loss));
  for (size_t i = 0; i < P; i++) {
    double want = p0[i] - lr * g[i];
    if (!(fabs(p1[i] - want) <= 1e-5 + 1e-3 * fabs(lr * g[i])))
      fail_msg("hidden %d out %d loss %d: param %zu device %.8g reference %.8g",
               hidden, out, loss, i, p1[i], want);
  }
  fl_trainer_destroy(t);
  fl_dataset_free(&ds);
  free(p0), free(p1), free(g);
}

static void all_steps(void) {
  check_one_step(FL_ACT_RELU, FL_ACT_SOFTMAX, FL_LOSS_SPARSE_CATEGORICAL_CE, false, false);
  check_one_step(FL_ACT_TANH, FL_ACT_SOFTMAX, FL_LOSS_CATEGORICAL_CE, false, true);
  check_one_step(FL_ACT_SIGMOID, FL_ACT_LINEAR, FL_LOSS_SPARSE_CATEGORICAL_CE, true, false);
  check_one_step(FL_ACT_LEAKY_RELU, FL_ACT_SOFTMAX, FL_LOSS_CATEGORICAL_CE, true, true);
  check_one_step(FL_ACT_LINEAR, FL_ACT_SIGMOID, FL_LOSS_CATEGORICAL_CE, false, true);
  check_one_step(FL_ACT_TANH, FL_ACT_SOFTMAX, FL_LOSS_MSE, false, true);
  /* A softmax hidden layer: its derivative is row-wise, never fused. */
  check_one_step(FL_ACT_SOFTMAX, FL_ACT_SOFTMAX, FL_LOSS_SPARSE_CATEGORICAL_CE, false, false);
}

/* As the device runs small jobs, then as it runs large ones: every GEMM
 * packed and the first layer's batch gathered into xb first (the trainer
 * switches on the first layer's size; pack_min_volume 0 makes every job
 * large). */
static void test_device_step_matches_reference(void **state) {
  (void)state;
  size_t keep = dev->pack_min_volume;
  all_steps();
  dev->pack_min_volume = 0;
  all_steps();
  dev->pack_min_volume = keep;
}

static void run_losses(fl_train_config *cfg, const fl_dataset *ds, int epochs,
                       double *losses, float *params_out) {
  fl_error err = {0};
  fl_trainer *t;
  assert_int_equal(fl_trainer_create(dev, cfg, ds, NULL, &t, &err), 0);
  fl_epoch_metrics m = {0};
  for (int e = 0; e < epochs; e++) {
    assert_int_equal(fl_trainer_run_epoch(t, &m, &err), 0);
    losses[e] = m.loss;
  }
  if (params_out)
    assert_int_equal(fl_trainer_get_params(t, params_out, fl_trainer_param_count(t), &err), 0);
  fl_trainer_destroy(t);
}

static void test_same_seed_is_bit_identical(void **state) {
  (void)state;
  fl_dataset ds;
  make_blobs(&ds, 500, 20, 5, 1, false);
  fl_layer_spec layers[2] = {{.units = 32, .activation = FL_ACT_RELU},
                             {.units = 5, .activation = FL_ACT_SOFTMAX}};
  fl_train_config cfg = {.input_dim = 20, .n_layers = 2, .layers = layers,
                         .loss = {FL_LOSS_SPARSE_CATEGORICAL_CE, false},
                         .optimizer = keras_default(FL_OPT_ADAM, 1e-3f),
                         .batch_size = 32, .seed = 7, .shuffle = true};
  double a[3], b[3], c[3];
  size_t P = 20 * 32 + 32 + 32 * 5 + 5;
  float *pa = malloc(P * 4), *pb = malloc(P * 4);
  run_losses(&cfg, &ds, 3, a, pa);
  run_losses(&cfg, &ds, 3, b, pb);
  assert_memory_equal(a, b, sizeof a);
  assert_memory_equal(pa, pb, P * 4);
  cfg.seed = 8;
  run_losses(&cfg, &ds, 3, c, NULL);
  assert_true(memcmp(a, c, sizeof a) != 0);
  fl_dataset_free(&ds);
  free(pa), free(pb);
}

static void test_every_optimizer_learns_blobs(void **state) {
  (void)state;
  fl_dataset ds;
  make_blobs(&ds, 600, 10, 3, 5, false);
  fl_layer_spec layers[2] = {{.units = 16, .activation = FL_ACT_RELU},
                             {.units = 3, .activation = FL_ACT_SOFTMAX}};
  fl_optimizer_spec opts[] = {
      sgd(0.05f), keras_default(FL_OPT_ADAM, 1e-2f),
      keras_default(FL_OPT_ADAMW, 1e-2f), keras_default(FL_OPT_RMSPROP, 1e-2f)};
  opts[0].momentum = 0.9f;
  opts[0].nesterov = true;
  for (size_t i = 0; i < sizeof opts / sizeof *opts; i++) {
    fl_train_config cfg = {.input_dim = 10, .n_layers = 2, .layers = layers,
                           .loss = {FL_LOSS_SPARSE_CATEGORICAL_CE, false},
                           .optimizer = opts[i], .batch_size = 32, .seed = 3,
                           .shuffle = true};
    fl_error err = {0};
    fl_trainer *t;
    assert_int_equal(fl_trainer_create(dev, &cfg, &ds, &ds, &t, &err), 0);
    fl_epoch_metrics m = {0};
    for (int e = 0; e < 5; e++) assert_int_equal(fl_trainer_run_epoch(t, &m, &err), 0);
    if (!(m.val_accuracy > 0.95 && m.loss < 0.3))
      fail_msg("optimizer %d: accuracy %.3f loss %.3f after 5 epochs", opts[i].kind,
               m.val_accuracy, m.loss);
    double loss, acc;
    assert_int_equal(fl_trainer_evaluate(t, &ds, &loss, &acc, &err), 0);
    assert_true(fabs(loss - m.val_loss) < 1e-6 && fabs(acc - m.val_accuracy) < 1e-9);
    fl_trainer_destroy(t);
  }
  fl_dataset_free(&ds);
}

static void test_epoch_metrics_report_what_happened(void **state) {
  (void)state;
  fl_error err = {0};
  fl_dataset ds;
  make_blobs(&ds, 256, 8, 4, 9, false);
  /* Layer 0: ReLU with bias -100 never fires (all dead). Layer 1: tanh with
   * bias 10 saturates. Output: zero kernel → uniform softmax, so the
   * first loss is exactly ln(4). */
  fl_layer_spec layers[3] = {
      {.units = 8, .activation = FL_ACT_RELU, .bias_init = {FL_INIT_CONSTANT, -100}},
      {.units = 8, .activation = FL_ACT_TANH},
      {.units = 4, .activation = FL_ACT_SOFTMAX, .kernel_init = {FL_INIT_ZEROS, 0},
       .bias_init = {FL_INIT_ZEROS, 0}},
  };
  layers[1].bias_init = (fl_initializer){FL_INIT_CONSTANT, 10};
  fl_train_config cfg = {.input_dim = 8, .n_layers = 3, .layers = layers,
                         .loss = {FL_LOSS_SPARSE_CATEGORICAL_CE, false},
                         .optimizer = sgd(0.01f), .batch_size = 64, .seed = 1,
                         .shuffle = true};
  fl_trainer *t;
  assert_int_equal(fl_trainer_create(dev, &cfg, &ds, NULL, &t, &err), 0);
  fl_epoch_metrics m = {0};
  assert_int_equal(fl_trainer_run_epoch(t, &m, &err), 0);
  assert_true(fabs(m.first_batch_loss - log(4.0)) < 1e-5);
  assert_int_equal(m.n_layers, 3);
  assert_true(m.dead_fraction[0] == 1.0);
  assert_true(m.saturated_fraction[1] > 0.9);
  assert_true(m.dead_fraction[1] < 0 && m.saturated_fraction[0] < 0);
  /* dead ReLUs pass no gradient to the first layer */
  assert_true(m.grad_norm[0] == 0.0);
  assert_true(m.grad_norm[2] > 0.0 && m.weight_norm[1] > 0.0);
  assert_true(m.update_ratio[2] > 0.0);
  uint64_t total = 0;
  for (size_t j = 0; j < m.n_classes; j++) total += m.pred_hist[j];
  assert_int_equal(total, 256);
  assert_false(m.nonfinite_loss || m.nonfinite_grads || m.nonfinite_weights);
  fl_trainer_destroy(t);

  /* A learning rate of 1e30 makes everything non-finite: flagged. */
  layers[0].bias_init = (fl_initializer){FL_INIT_ZEROS, 0};
  layers[1].kernel_init = (fl_initializer){FL_INIT_GLOROT_UNIFORM, 0};
  layers[1].bias_init = (fl_initializer){FL_INIT_ZEROS, 0};
  layers[2].kernel_init = (fl_initializer){FL_INIT_GLOROT_UNIFORM, 0};
  cfg.optimizer = sgd(1e30f);
  assert_int_equal(fl_trainer_create(dev, &cfg, &ds, NULL, &t, &err), 0);
  for (int e = 0; e < 3; e++) assert_int_equal(fl_trainer_run_epoch(t, &m, &err), 0);
  assert_true(m.nonfinite_loss || m.nonfinite_weights);
  fl_trainer_destroy(t);
  fl_dataset_free(&ds);
}

static void test_bad_jobs_get_clear_errors(void **state) {
  (void)state;
  fl_error err = {0};
  fl_dataset ds;
  make_blobs(&ds, 64, 4, 3, 2, false);
  fl_layer_spec layers[1] = {{.units = 2, .activation = FL_ACT_SOFTMAX}};
  fl_train_config cfg = {.input_dim = 4, .n_layers = 1, .layers = layers,
                         .loss = {FL_LOSS_SPARSE_CATEGORICAL_CE, false},
                         .optimizer = sgd(0.1f), .batch_size = 8, .seed = 1};
  fl_trainer *t = NULL;
  /* class id 2 with 2 output units */
  assert_int_equal(fl_trainer_create(dev, &cfg, &ds, NULL, &t, &err), FL_ELABELS);
  assert_non_null(strstr(err.msg, "outside 0..1"));
  assert_null(t);
  fl_dataset_free(&ds);

  make_blobs(&ds, 64, 4, 3, 2, true); /* one-hot width 3 vs 2 units */
  assert_int_equal(fl_trainer_create(dev, &cfg, &ds, NULL, &t, &err), FL_ELABELS);
  assert_non_null(strstr(err.msg, "3 columns"));

  /* 60000 x 60000 weights (14 GB, times five with optimizer state) */
  fl_layer_spec huge[2] = {{.units = 60000, .activation = FL_ACT_RELU},
                           {.units = 3, .activation = FL_ACT_SOFTMAX}};
  fl_dataset wide = {0};
  wide.n = 2;
  wide.d = 60000;
  wide.x = calloc(2 * 60000, sizeof(float));
  wide.label_kind = FL_LABELS_IDS;
  wide.ids = calloc(2, sizeof(int32_t));
  cfg.input_dim = 60000;
  cfg.n_layers = 2;
  cfg.layers = huge;
  assert_true(fl_train_memory_estimate(&cfg, 2, 0) > (uint64_t)60000 * 60000 * 4 * 5);
  assert_int_equal(fl_trainer_create(dev, &cfg, &wide, NULL, &t, &err), FL_EDEVMEM);
  assert_non_null(strstr(err.msg, "out of memory"));
  fl_dataset_free(&wide);
  fl_dataset_free(&ds);
}

/* The estimate of issue 13's CNN (28x28x1: conv 32 3x3 relu, max pool
 * 2, conv 64 3x3 relu, max pool 2, flatten, dense 128, dense 10) at
 * batch 128 on Fashion-MNIST's 60k + 10k rows: the data and the second
 * conv's patches (128 x 11 x 11 x 288 floats, 17.8 MiB) are in it, and it
 * stays under 1 GiB (it once multiplied the conv rows by the dense
 * layer's flattened width: 120 GB for a wider net). */
static void test_conv_memory_estimate(void **state) {
  (void)state;
  fl_layer_spec l[4];
  memset(l, 0, sizeof l);
  for (int i = 0; i < 2; i++) {
    l[i].kind = FL_LAYER_CONV2D;
    l[i].units = i == 0 ? 32 : 64;
    l[i].activation = FL_ACT_RELU;
    l[i].kernel_size[0] = l[i].kernel_size[1] = 3;
    l[i].strides[0] = l[i].strides[1] = 1;
    l[i].pool = FL_POOL_MAX;
    l[i].pool_size[0] = l[i].pool_size[1] = 2;
    l[i].pool_strides[0] = l[i].pool_strides[1] = 2;
  }
  l[0].input_shape[0] = l[0].input_shape[1] = 28;
  l[0].input_shape[2] = 1;
  l[2].units = 128;
  l[2].activation = FL_ACT_RELU;
  l[2].flatten = true;
  l[3].units = 10;
  l[3].activation = FL_ACT_SOFTMAX;
  fl_train_config cfg = {.input_dim = 784, .n_layers = 4, .layers = l,
                         .loss = {FL_LOSS_SPARSE_CATEGORICAL_CE, false},
                         .optimizer = sgd(0.1f), .batch_size = 128, .seed = 1};
  uint64_t est = fl_train_memory_estimate(&cfg, 60000, 10000);
  uint64_t data = (uint64_t)70000 * (784 + 10) * 4, patches = (uint64_t)128 * 11 * 11 * 288 * 4;
  assert_true(est > data + patches);
  assert_true(est < ((uint64_t)1 << 30));
}

/* ---- issue 12: dropout, kernel_regularizer, class_weight ---- */

/* One SGD step over the whole set with dropout on both hidden layers, L1
 * and L2 on the kernels and class weights: the device's parameters equal
 * params - lr * the reference gradient under the same (step 0) masks, and
 * the reported loss includes the weights and the penalty, as Keras'. */
static void check_regularized_step(fl_activation hidden, bool dense,
                                   fl_class_weight_mode mode) {
  fl_error err = {0};
  fl_dataset ds;
  make_blobs(&ds, 30, 6, 4, 3, dense);
  fl_layer_spec layers[3] = {
      {.units = 9, .activation = hidden, .dropout = 0.3f, .l1 = 0.01f,
       .l2 = 0.02f, .kernel_init = {FL_INIT_GLOROT_UNIFORM, 0},
       .bias_init = {FL_INIT_RANDOM_UNIFORM, 0.1f}},
      {.units = 7, .activation = FL_ACT_TANH, .dropout = 0.5f, .l2 = 0.05f,
       .kernel_init = {FL_INIT_GLOROT_UNIFORM, 0}},
      {.units = 4, .activation = FL_ACT_SOFTMAX, .l1 = 0.003f,
       .kernel_init = {FL_INIT_GLOROT_UNIFORM, 0}},
  };
  fl_class_weight_spec cw = {.mode = mode, .n = 2, .cls = {1, 3},
                             .weight = {3.0f, 0.5f}};
  const float lr = 0.5f;
  fl_train_config cfg = {.input_dim = 6, .n_layers = 3, .layers = layers,
                         .loss = {dense ? FL_LOSS_CATEGORICAL_CE
                                        : FL_LOSS_SPARSE_CATEGORICAL_CE, false},
                         .optimizer = sgd(lr), .batch_size = 30, .seed = 5,
                         .shuffle = false, .class_weight = &cw};
  float *weights = NULL;
  assert_int_equal(fl__class_weights(&cw, &ds, 4, &weights, &err), 0);
  if (mode == FL_CLASS_WEIGHT_EXPLICIT) {
    assert_true(weights[0] == 1.0f && weights[1] == 3.0f && weights[3] == 0.5f);
  } else if (mode == FL_CLASS_WEIGHT_BALANCED) {
    /* 30 rows, classes 8/8/7/7 (i % 4): 30 / (4 * count) */
    assert_true(fabsf(weights[0] - 30.0f / 32.0f) < 1e-6f &&
                fabsf(weights[3] - 30.0f / 28.0f) < 1e-6f);
  } else {
    assert_null(weights);
  }
  fl_trainer *t;
  assert_int_equal(fl_trainer_create(dev, &cfg, &ds, NULL, &t, &err), 0);
  size_t P = fl_trainer_param_count(t);
  float *p0 = malloc(P * 4), *p1 = malloc(P * 4), *g = calloc(P, 4);
  assert_int_equal(fl_trainer_get_params(t, p0, P, &err), 0);
  fl_epoch_metrics m = {0};
  assert_int_equal(fl_trainer_run_epoch(t, &m, &err), 0);
  assert_int_equal(fl_trainer_get_params(t, p1, P, &err), 0);
  double ref_loss = fl__ref_model_loss_train(&cfg, p0, ds.x, ds.n,
                                             ds.label_kind, ds.ids, ds.y, true,
                                             0, weights, g);
  if (!(fabs(m.loss - ref_loss) <= 1e-4 + 1e-4 * fabs(ref_loss)))
    fail_msg("loss: device %.8g reference %.8g", m.loss, ref_loss);
  for (size_t i = 0; i < P; i++) {
    double want = p0[i] - lr * g[i];
    if (!(fabs(p1[i] - want) <= 1e-5 + 1e-3 * fabs(lr * g[i])))
      fail_msg("hidden %d dense %d class weights %d: param %zu device %.8g "
               "reference %.8g", hidden, dense, mode, i, p1[i], want);
  }
  /* Validation is inference: no dropout, no class weights, with the
   * penalty (Keras' val_loss). */
  double loss, acc;
  assert_int_equal(fl_trainer_evaluate(t, &ds, &loss, &acc, &err), 0);
  double eval = fl__ref_model_loss_train(&cfg, p1, ds.x, ds.n, ds.label_kind,
                                         ds.ids, ds.y, false, 0, NULL, NULL);
  if (!(fabs(loss - eval) <= 1e-4 + 1e-4 * fabs(eval)))
    fail_msg("evaluate: device %.8g reference %.8g", loss, eval);
  fl_trainer_destroy(t);
  fl_dataset_free(&ds);
  free(p0), free(p1), free(g), free(weights);
}

static void test_regularized_step_matches_reference(void **state) {
  (void)state;
  size_t keep = dev->pack_min_volume;
  for (int large = 0; large < 2; large++) {
    dev->pack_min_volume = large ? 0 : keep;
    check_regularized_step(FL_ACT_RELU, false, FL_CLASS_WEIGHT_NONE);
    check_regularized_step(FL_ACT_SIGMOID, true, FL_CLASS_WEIGHT_EXPLICIT);
    check_regularized_step(FL_ACT_TANH, false, FL_CLASS_WEIGHT_BALANCED);
  }
  dev->pack_min_volume = keep;
}

/* Dropout keeps runs repeatable: same seed, bit-identical losses and
 * parameters; another seed, other masks. */
static void test_dropout_is_deterministic(void **state) {
  (void)state;
  fl_dataset ds;
  make_blobs(&ds, 300, 20, 5, 1, false);
  fl_layer_spec layers[3] = {
      {.units = 32, .activation = FL_ACT_RELU, .dropout = 0.2f, .l2 = 1e-3f},
      {.units = 16, .activation = FL_ACT_RELU, .dropout = 0.5f},
      {.units = 5, .activation = FL_ACT_SOFTMAX}};
  fl_train_config cfg = {.input_dim = 20, .n_layers = 3, .layers = layers,
                         .loss = {FL_LOSS_SPARSE_CATEGORICAL_CE, false},
                         .optimizer = keras_default(FL_OPT_ADAM, 1e-3f),
                         .batch_size = 32, .seed = 7, .shuffle = true};
  double a[3], b[3], c[3];
  size_t P = 20 * 32 + 32 + 32 * 16 + 16 + 16 * 5 + 5;
  float *pa = malloc(P * 4), *pb = malloc(P * 4);
  run_losses(&cfg, &ds, 3, a, pa);
  run_losses(&cfg, &ds, 3, b, pb);
  assert_memory_equal(a, b, sizeof a);
  assert_memory_equal(pa, pb, P * 4);
  layers[0].dropout = layers[1].dropout = 0.0f;
  run_losses(&cfg, &ds, 3, c, NULL);
  assert_true(memcmp(a, c, sizeof a) != 0);
  fl_dataset_free(&ds);
  free(pa), free(pb);
}

/* ---- issue 12: batch normalization ---- */

/* One SGD step over the whole set (one batch) with batch normalization
 * before the activation on the first hidden layer and after it on the
 * second, dropout after both, against the reference: the trained
 * parameters (W, b, gamma, beta) are params - lr * gradient, the moving
 * statistics moved by the batch's (momentum 0.5 and 0.8, so that they
 * move visibly). Inference (evaluate, predict) normalizes with the moving
 * statistics, which after one step differ from the batch's: its loss is
 * the reference's inference loss and not the training-mode one. */
static void check_bn_step(fl_activation hidden, bool center, bool scale,
                          float rate) {
  fl_error err = {0};
  fl_dataset ds;
  make_blobs(&ds, 30, 6, 4, 3, false);
  fl_layer_spec layers[3] = {
      {.units = 9, .activation = hidden, .dropout = rate, .bn = true,
       .bn_before_act = true, .bn_momentum = 0.5f, .bn_epsilon = 1e-3f,
       .bn_center = center, .bn_scale = scale,
       .kernel_init = {FL_INIT_GLOROT_UNIFORM, 0},
       .bias_init = {FL_INIT_RANDOM_UNIFORM, 0.1f}},
      {.units = 7, .activation = FL_ACT_TANH, .dropout = rate, .bn = true,
       .bn_momentum = 0.8f, .bn_epsilon = 1e-2f, .bn_center = true,
       .bn_scale = true, .kernel_init = {FL_INIT_GLOROT_UNIFORM, 0}},
      {.units = 4, .activation = FL_ACT_SOFTMAX,
       .kernel_init = {FL_INIT_GLOROT_UNIFORM, 0}},
  };
  const float lr = 0.5f;
  fl_train_config cfg = {.input_dim = 6, .n_layers = 3, .layers = layers,
                         .loss = {FL_LOSS_SPARSE_CATEGORICAL_CE, false},
                         .optimizer = sgd(lr), .batch_size = 30, .seed = 5,
                         .shuffle = false};
  fl__model_layout lay;
  fl__model_layout_compute(&cfg, &lay);
  size_t P = lay.n_params, S = lay.n_stats;
  fl_trainer *t;
  assert_int_equal(fl_trainer_create(dev, &cfg, &ds, NULL, &t, &err), 0);
  assert_int_equal(fl_trainer_param_count(t), P + S);
  float *p0 = malloc((P + S) * 4), *p1 = malloc((P + S) * 4), *g = calloc(P, 4);
  float *stats = malloc(S * 4);
  assert_int_equal(fl_trainer_get_params(t, p0, P + S, &err), 0);
  /* Keras' start: gamma 1, beta 0, moving mean 0, moving variance 1 */
  for (int l = 0; l < 2; l++) {
    const fl__layer_layout *ll = &lay.l[l];
    for (size_t j = 0; j < ll->out; j++) {
      if (ll->gamma_off != FL__NO_OFF) assert_true(p0[ll->gamma_off + j] == 1.0f);
      if (ll->beta_off != FL__NO_OFF) assert_true(p0[ll->beta_off + j] == 0.0f);
      assert_true(p0[P + ll->stat_off + j] == 0.0f);
      assert_true(p0[P + ll->stat_off + ll->out + j] == 1.0f);
    }
  }
  fl_epoch_metrics m = {0};
  assert_int_equal(fl_trainer_run_epoch(t, &m, &err), 0);
  assert_int_equal(fl_trainer_get_params(t, p1, P + S, &err), 0);
  double ref_loss = fl__ref_model_loss_step(&cfg, p0, ds.x, ds.n,
                                            ds.label_kind, ds.ids, ds.y, true,
                                            0, NULL, g, stats);
  if (!(fabs(m.loss - ref_loss) <= 1e-4 + 1e-4 * fabs(ref_loss)))
    fail_msg("bn loss: device %.8g reference %.8g", m.loss, ref_loss);
  for (size_t i = 0; i < P; i++) {
    double want = p0[i] - lr * g[i];
    if (!(fabs(p1[i] - want) <= 1e-5 + 1e-3 * fabs(lr * g[i])))
      fail_msg("bn hidden %d center %d scale %d dropout %g: param %zu device "
               "%.8g reference %.8g", hidden, center, scale, rate, i, p1[i],
               want);
  }
  for (size_t i = 0; i < S; i++)
    if (!(fabs(p1[P + i] - stats[i]) <= 1e-5 + 1e-5 * fabs(stats[i])))
      fail_msg("bn moving statistic %zu: device %.8g reference %.8g", i,
               p1[P + i], stats[i]);
  /* the moving statistics moved, and are not the batch's */
  assert_true(memcmp(p0 + P, p1 + P, S * 4) != 0);
  double loss, acc;
  assert_int_equal(fl_trainer_evaluate(t, &ds, &loss, &acc, &err), 0);
  double eval = fl__ref_model_loss_train(&cfg, p1, ds.x, ds.n, ds.label_kind,
                                         ds.ids, ds.y, false, 0, NULL, NULL);
  double batch = fl__ref_model_loss_train(&cfg, p1, ds.x, ds.n, ds.label_kind,
                                          ds.ids, ds.y, true, 0, NULL, NULL);
  if (!(fabs(loss - eval) <= 1e-4 + 1e-4 * fabs(eval)))
    fail_msg("bn evaluate: device %.8g reference %.8g", loss, eval);
  if (!(fabs(loss - batch) > 1e-3))
    fail_msg("bn evaluate %.8g is the batch statistics' loss %.8g", loss, batch);
  /* predict: the same inference, as probabilities */
  float *probs = malloc(ds.n * 4 * sizeof *probs);
  assert_int_equal(fl_trainer_predict(t, &ds, probs, &err), 0);
  double nll = 0;
  for (size_t r = 0; r < ds.n; r++) nll -= log(probs[r * 4 + (size_t)ds.ids[r]]);
  nll /= (double)ds.n;
  if (!(fabs(nll - eval) <= 1e-4 + 1e-4 * fabs(eval)))
    fail_msg("bn predict: mean -log p %.8g, reference %.8g", nll, eval);
  /* set_params puts the statistics back too */
  assert_int_equal(fl_trainer_set_params(t, p0, P + S, &err), 0);
  assert_int_equal(fl_trainer_evaluate(t, &ds, &loss, &acc, &err), 0);
  eval = fl__ref_model_loss_train(&cfg, p0, ds.x, ds.n, ds.label_kind, ds.ids,
                                  ds.y, false, 0, NULL, NULL);
  if (!(fabs(loss - eval) <= 1e-4 + 1e-4 * fabs(eval)))
    fail_msg("bn evaluate after set_params: device %.8g reference %.8g", loss,
             eval);
  fl_trainer_destroy(t);
  fl_dataset_free(&ds);
  free(p0), free(p1), free(g), free(stats), free(probs);
}

static void test_batch_norm_step_matches_reference(void **state) {
  (void)state;
  size_t keep = dev->pack_min_volume;
  for (int large = 0; large < 2; large++) {
    dev->pack_min_volume = large ? 0 : keep;
    check_bn_step(FL_ACT_RELU, true, true, 0.0f);
    check_bn_step(FL_ACT_SIGMOID, false, true, 0.3f);
    check_bn_step(FL_ACT_LEAKY_RELU, true, false, 0.0f);
    check_bn_step(FL_ACT_TANH, false, false, 0.5f);
  }
  dev->pack_min_volume = keep;
}

/* Batch normalization (with dropout) keeps runs repeatable: same seed,
 * bit-identical losses, parameters and moving statistics; and it changes
 * the run (the model without it trains otherwise). */
static void test_batch_norm_is_deterministic(void **state) {
  (void)state;
  fl_dataset ds;
  make_blobs(&ds, 300, 20, 5, 1, false);
  fl_layer_spec layers[3] = {
      {.units = 32, .activation = FL_ACT_RELU, .dropout = 0.2f, .bn = true,
       .bn_before_act = true, .bn_momentum = 0.99f, .bn_epsilon = 1e-3f,
       .bn_center = true, .bn_scale = true},
      {.units = 16, .activation = FL_ACT_RELU, .dropout = 0.5f, .bn = true,
       .bn_momentum = 0.9f, .bn_epsilon = 1e-3f, .bn_center = true,
       .bn_scale = true},
      {.units = 5, .activation = FL_ACT_SOFTMAX}};
  fl_train_config cfg = {.input_dim = 20, .n_layers = 3, .layers = layers,
                         .loss = {FL_LOSS_SPARSE_CATEGORICAL_CE, false},
                         .optimizer = keras_default(FL_OPT_ADAM, 1e-3f),
                         .batch_size = 32, .seed = 7, .shuffle = true};
  double a[3], b[3], c[3];
  /* kernels and biases, gamma and beta, then the moving statistics */
  size_t P = 20 * 32 + 32 + 32 * 16 + 16 + 16 * 5 + 5 + 2 * (32 + 16) +
             2 * (32 + 16);
  float *pa = malloc(P * 4), *pb = malloc(P * 4);
  run_losses(&cfg, &ds, 3, a, pa);
  run_losses(&cfg, &ds, 3, b, pb);
  assert_memory_equal(a, b, sizeof a);
  assert_memory_equal(pa, pb, P * 4);
  layers[0].bn = layers[1].bn = false;
  run_losses(&cfg, &ds, 3, c, NULL);
  assert_true(memcmp(a, c, sizeof a) != 0);
  fl_dataset_free(&ds);
  free(pa), free(pb);
}

/* Row predictions of a trained model on the host (argmax of the output). */
static void predict_host(const fl_train_config *cfg, const float *params,
                         const fl_dataset *ds, int32_t *pred) {
  fl__model_layout lay;
  fl__model_layout_compute(cfg, &lay);
  size_t widest = cfg->input_dim;
  for (int i = 0; i < lay.n_layers; i++)
    if (lay.l[i].out > widest) widest = lay.l[i].out;
  float *a = malloc(widest * 4), *b = malloc(widest * 4);
  for (size_t r = 0; r < ds->n; r++) {
    memcpy(a, ds->x + r * ds->d, ds->d * 4);
    for (int i = 0; i < lay.n_layers; i++) {
      const fl__layer_layout *l = &lay.l[i];
      fl__ref_gemm(0, 0, 1, l->out, l->in, 1, a, l->in, params + l->w_off,
                   l->out, 0, b, l->out);
      fl_activation act = cfg->layers[i].activation;
      fl__ref_bias_act_forward(b, params + l->b_off, 1, l->out,
                               act == FL_ACT_SOFTMAX ? FL_ACT_LINEAR : act);
      memcpy(a, b, l->out * 4);
    }
    size_t best = 0, k = lay.l[lay.n_layers - 1].out;
    for (size_t j = 1; j < k; j++)
      if (a[j] > a[best]) best = j;
    pred[r] = (int32_t)best;
  }
  free(a), free(b);
}

/* class_weight "balanced" on a 20:1 imbalanced set of overlapping classes:
 * unweighted, the model mostly predicts the majority; balanced, it finds
 * most of the minority class (recall measured on the training rows). */
static void test_balanced_class_weight_raises_minority_recall(void **state) {
  (void)state;
  enum { N = 1050, D = 2 };
  fl__rng rng;
  fl__rng_seed(&rng, 17);
  fl_dataset ds = {.n = N, .d = D, .label_kind = FL_LABELS_IDS};
  ds.x = malloc(N * D * 4);
  ds.ids = malloc(N * 4);
  for (size_t i = 0; i < N; i++) {
    int c = i % 21 == 0; /* 50 of class 1, 1000 of class 0 */
    ds.ids[i] = c;
    for (size_t j = 0; j < D; j++)
      ds.x[i * D + j] = (float)(fl__rng_normal(&rng) + (c ? 1.0 : 0.0));
  }
  fl_layer_spec layers[2] = {{.units = 8, .activation = FL_ACT_RELU},
                             {.units = 2, .activation = FL_ACT_SOFTMAX}};
  fl_class_weight_spec balanced = {.mode = FL_CLASS_WEIGHT_BALANCED};
  double recall[2];
  int32_t *pred = malloc(N * 4);
  for (int w = 0; w < 2; w++) {
    fl_train_config cfg = {.input_dim = D, .n_layers = 2, .layers = layers,
                           .loss = {FL_LOSS_SPARSE_CATEGORICAL_CE, false},
                           .optimizer = keras_default(FL_OPT_ADAM, 1e-2f),
                           .batch_size = 64, .seed = 3, .shuffle = true,
                           .class_weight = w ? &balanced : NULL};
    fl_error err = {0};
    fl_trainer *t;
    assert_int_equal(fl_trainer_create(dev, &cfg, &ds, NULL, &t, &err), 0);
    fl_epoch_metrics m = {0};
    for (int e = 0; e < 15; e++) assert_int_equal(fl_trainer_run_epoch(t, &m, &err), 0);
    size_t P = fl_trainer_param_count(t);
    float *p = malloc(P * 4);
    assert_int_equal(fl_trainer_get_params(t, p, P, &err), 0);
    predict_host(&cfg, p, &ds, pred);
    size_t hit = 0, minority = 0;
    for (size_t i = 0; i < N; i++)
      if (ds.ids[i] == 1) minority++, hit += pred[i] == 1;
    recall[w] = (double)hit / (double)minority;
    free(p);
    fl_trainer_destroy(t);
  }
  print_message("# minority recall: unweighted %.2f, balanced %.2f\n",
                recall[0], recall[1]);
  if (!(recall[1] > recall[0] + 0.3 && recall[1] > 0.6))
    fail_msg("minority recall unweighted %.2f, balanced %.2f", recall[0],
             recall[1]);
  free(pred);
  fl_dataset_free(&ds);
}

/* binary_crossentropy with one output unit: the device's step equals the
 * reference's (fused sigmoid; linear from_logits), training separates two
 * blobs, metrics count two classes, and predict gives (1 - p, p) rows
 * whose argmax scores the reported accuracy. */
static void test_binary_crossentropy_trains(void **state) {
  (void)state;
  fl_error err = {0};
  fl_dataset ds;
  make_blobs(&ds, 400, 6, 2, 4, false);
  for (int logits = 0; logits < 2; logits++) {
    fl_layer_spec layers[2] = {
        {.units = 8, .activation = FL_ACT_RELU, .bias_init = {FL_INIT_RANDOM_UNIFORM, 0.1f}},
        {.units = 1, .activation = logits ? FL_ACT_LINEAR : FL_ACT_SIGMOID}};
    const float lr = 0.5f;
    fl_train_config cfg = {.input_dim = 6, .n_layers = 2, .layers = layers,
                           .loss = {FL_LOSS_BINARY_CE, logits}, .optimizer = sgd(lr),
                           .batch_size = 400, .seed = 9, .shuffle = false};
    fl_trainer *t;
    assert_int_equal(fl_trainer_create(dev, &cfg, &ds, NULL, &t, &err), 0);
    size_t P = fl_trainer_param_count(t);
    float *p0 = malloc(P * 4), *p1 = malloc(P * 4), *g = calloc(P, 4);
    assert_int_equal(fl_trainer_get_params(t, p0, P, &err), 0);
    fl_epoch_metrics m = {0};
    assert_int_equal(fl_trainer_run_epoch(t, &m, &err), 0);
    assert_int_equal(fl_trainer_get_params(t, p1, P, &err), 0);
    double ref = fl__ref_model_loss(&cfg, p0, ds.x, ds.n, ds.label_kind, ds.ids, ds.y, g);
    assert_true(fabs(m.loss - ref) <= 1e-4 + 1e-4 * ref);
    assert_int_equal(m.n_classes, 2);
    assert_int_equal(m.pred_hist[0] + m.pred_hist[1], 400);
    for (size_t i = 0; i < P; i++)
      if (!(fabs(p1[i] - (p0[i] - lr * g[i])) <= 1e-5 + 1e-3 * fabs(lr * g[i])))
        fail_msg("binary, logits %d: param %zu device %.8g reference %.8g",
                 logits, i, p1[i], p0[i] - lr * g[i]);
    fl_trainer_destroy(t);
    free(p0), free(p1), free(g);

    cfg.optimizer = keras_default(FL_OPT_ADAM, 1e-2f);
    cfg.batch_size = 32;
    assert_int_equal(fl_trainer_create(dev, &cfg, &ds, &ds, &t, &err), 0);
    for (int e = 0; e < 5; e++) assert_int_equal(fl_trainer_run_epoch(t, &m, &err), 0);
    if (!(m.val_accuracy > 0.95))
      fail_msg("binary, logits %d: val accuracy %.3f", logits, m.val_accuracy);
    float *probs = malloc(ds.n * 2 * sizeof(float));
    assert_int_equal(fl_trainer_predict(t, &ds, probs, &err), 0);
    size_t right = 0;
    for (size_t i = 0; i < ds.n; i++) {
      assert_true(fabsf(probs[2 * i] + probs[2 * i + 1] - 1.0f) < 1e-6f);
      right += (probs[2 * i + 1] > 0.5f) == (ds.ids[i] == 1);
    }
    assert_true(fabs((double)right / ds.n - m.val_accuracy) < 1e-9);
    fl_class_report r;
    assert_int_equal(fl_trainer_class_report(t, 0, &r, &err), 0);
    assert_int_equal(r.n_classes, 2);
    assert_true(fabs((double)(r.confusion[0] + r.confusion[3]) / (double)r.rows -
                     m.val_accuracy) < 1e-12);
    fl_class_report_free(&r);
    free(probs);
    fl_trainer_destroy(t);
  }
  /* an id past 1 is refused with the fix */
  ds.ids[3] = 2;
  fl_layer_spec one[1] = {{.units = 1, .activation = FL_ACT_SIGMOID}};
  fl_train_config bad = {.input_dim = 6, .n_layers = 1, .layers = one,
                         .loss = {FL_LOSS_BINARY_CE, false}, .optimizer = sgd(0.1f),
                         .batch_size = 8, .seed = 1};
  fl_trainer *t = NULL;
  assert_int_equal(fl_trainer_create(dev, &bad, &ds, NULL, &t, &err), FL_ELABELS);
  assert_non_null(strstr(err.msg, "not 0 or 1"));
  fl_dataset_free(&ds);
}

/* The end-of-job class report: its confusion matrix counts the validation
 * rows, its diagonal is the reported validation accuracy, top-k counts
 * agree with the output scores read on the host, precision/recall/F1 are
 * the matrix's; without validation it is on the training rows. */
static void test_class_report(void **state) {
  (void)state;
  fl_error err = {0};
  fl_dataset ds, va;
  make_blobs(&ds, 300, 8, 4, 2, false);
  make_blobs(&va, 120, 8, 4, 6, false);
  fl_layer_spec layers[2] = {{.units = 6, .activation = FL_ACT_TANH},
                             {.units = 4, .activation = FL_ACT_SOFTMAX}};
  fl_train_config cfg = {.input_dim = 8, .n_layers = 2, .layers = layers,
                         .loss = {FL_LOSS_SPARSE_CATEGORICAL_CE, false},
                         .optimizer = sgd(0.02f), .batch_size = 32, .seed = 4};
  fl_trainer *t;
  assert_int_equal(fl_trainer_create(dev, &cfg, &ds, &va, &t, &err), 0);
  fl_epoch_metrics m = {0};
  assert_int_equal(fl_trainer_run_epoch(t, &m, &err), 0);
  fl_class_report r;
  assert_int_equal(fl_trainer_class_report(t, 2, &r, &err), 0);
  assert_true(r.on_validation);
  assert_int_equal(r.rows, 120);
  assert_int_equal(r.n_classes, 4);
  uint64_t total = 0, diag = 0;
  for (size_t i = 0; i < 16; i++) total += r.confusion[i];
  for (size_t c = 0; c < 4; c++) diag += r.confusion[c * 4 + c];
  assert_int_equal(total, 120);
  assert_true(fabs((double)diag / 120 - m.val_accuracy) < 1e-12);
  /* top-2 from the parameters, on the host */
  size_t P = fl_trainer_param_count(t);
  float *p = malloc(P * 4), out[4];
  assert_int_equal(fl_trainer_get_params(t, p, P, &err), 0);
  fl__model_layout lay;
  fl__model_layout_compute(&cfg, &lay);
  uint64_t top2 = 0, support1 = 0;
  for (size_t i = 0; i < va.n; i++) {
    float h[6];
    fl__ref_gemm(0, 0, 1, 6, 8, 1, va.x + i * 8, 8, p + lay.l[0].w_off, 6, 0, h, 6);
    fl__ref_bias_act_forward(h, p + lay.l[0].b_off, 1, 6, FL_ACT_TANH);
    fl__ref_gemm(0, 0, 1, 4, 6, 1, h, 6, p + lay.l[1].w_off, 4, 0, out, 4);
    fl__ref_bias_act_forward(out, p + lay.l[1].b_off, 1, 4, FL_ACT_LINEAR);
    int above = 0;
    for (size_t j = 0; j < 4; j++) above += out[j] > out[va.ids[i]];
    top2 += above < 2;
    support1 += va.ids[i] == 1;
  }
  assert_true(r.top_k == 2 && r.top_k_correct == top2);
  assert_true(r.top_k_correct >= diag);
  double prec, rec, f1;
  uint64_t support;
  fl_class_report_scores(&r, 1, &prec, &rec, &f1, &support);
  uint64_t col = 0;
  for (size_t j = 0; j < 4; j++) col += r.confusion[j * 4 + 1];
  assert_int_equal(support, support1);
  assert_true(fabs(rec - (double)r.confusion[5] / support1) < 1e-12);
  assert_true(fabs(prec - (col ? (double)r.confusion[5] / col : 0)) < 1e-12);
  assert_true(f1 <= fmax(prec, rec) + 1e-12 && f1 >= 0);
  fl_class_report_free(&r);
  fl_trainer_destroy(t);
  free(p);

  /* without validation: the training rows; top-k >= classes is not counted */
  assert_int_equal(fl_trainer_create(dev, &cfg, &ds, NULL, &t, &err), 0);
  assert_int_equal(fl_trainer_class_report(t, 4, &r, &err), 0);
  assert_false(r.on_validation);
  assert_int_equal(r.rows, 300);
  assert_int_equal(r.top_k, 0);
  fl_class_report_free(&r);
  fl_trainer_destroy(t);
  fl_dataset_free(&ds);
  fl_dataset_free(&va);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_device_step_matches_reference),
      cmocka_unit_test(test_same_seed_is_bit_identical),
      cmocka_unit_test(test_every_optimizer_learns_blobs),
      cmocka_unit_test(test_epoch_metrics_report_what_happened),
      cmocka_unit_test(test_bad_jobs_get_clear_errors),
      cmocka_unit_test(test_regularized_step_matches_reference),
      cmocka_unit_test(test_dropout_is_deterministic),
      cmocka_unit_test(test_batch_norm_step_matches_reference),
      cmocka_unit_test(test_batch_norm_is_deterministic),
      cmocka_unit_test(test_balanced_class_weight_raises_minority_recall),
      cmocka_unit_test(test_binary_crossentropy_trains),
      cmocka_unit_test(test_class_report),
      cmocka_unit_test(test_conv_memory_estimate),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
