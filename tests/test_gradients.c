/* tests/test_gradients.c — every backward pass of the plain-C reference
 * (each activation, each loss mode, dense layers) checked by central finite
 * differences on a whole small model. The kernels are then held to this
 * reference in test_kernels.c, and the device's full training step in
 * test_training.c, so together the device gradients are checked too.
 * Dropout (one step's fixed mask), kernel regularizers, class weights and
 * batch normalization (both placements) are checked on a three-layer
 * model.
 *
 * Tolerance: |analytic - numeric| <= 3e-3 + 3e-2 |numeric| with step 1e-2
 * (float32 forward; the loss itself is accumulated in double). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "reference.h"

enum { D = 4, H = 5, K = 3, ROWS = 6 };

static void check_model(fl_activation hidden, fl_activation out,
                        fl_loss_kind loss, bool from_logits,
                        fl_label_kind kind) {
  fl_layer_spec layers[2] = {
      {.units = H, .activation = hidden},
      {.units = K, .activation = out},
  };
  fl_train_config cfg = {.input_dim = D, .n_layers = 2, .layers = layers,
                         .loss = {loss, from_logits}, .batch_size = ROWS};
  fl__model_layout lay;
  fl__model_layout_compute(&cfg, &lay);
  size_t P = lay.n_params;
  fl__rng rng;
  fl__rng_seed(&rng, 42 + hidden * 10 + out);
  float *params = malloc(P * sizeof(float)), *grads = calloc(P, sizeof(float));
  for (size_t i = 0; i < P; i++) params[i] = (float)(fl__rng_normal(&rng) * 0.7);
  float x[ROWS * D], y[ROWS * K];
  int32_t ids[ROWS];
  for (size_t i = 0; i < ROWS * D; i++) x[i] = (float)fl__rng_normal(&rng);
  for (size_t r = 0; r < ROWS; r++) {
    ids[r] = (int32_t)(r % K);
    double s = 0;
    for (size_t j = 0; j < K; j++) s += y[r * K + j] = (float)(0.1 + fl__rng_uniform(&rng));
    for (size_t j = 0; j < K; j++) y[r * K + j] /= (float)s;
  }
  fl__ref_model_loss(&cfg, params, x, ROWS, kind, ids, y, grads);
  const double h = 1e-2;
  for (size_t i = 0; i < P; i++) {
    float keep = params[i];
    params[i] = keep + (float)h;
    double lp = fl__ref_model_loss(&cfg, params, x, ROWS, kind, ids, y, NULL);
    params[i] = keep - (float)h;
    double lm = fl__ref_model_loss(&cfg, params, x, ROWS, kind, ids, y, NULL);
    params[i] = keep;
    double num = (lp - lm) / (2 * h);
    if (!(fabs(grads[i] - num) <= 3e-3 + 3e-2 * fabs(num)))
      fail_msg("hidden %d, output %d, loss %d, from_logits %d, labels %d: "
               "param %zu analytic %.6g numeric %.6g",
               hidden, out, loss, from_logits, kind, i, grads[i], num);
  }
  free(params);
  free(grads);
}

static void test_each_hidden_activation(void **state) {
  (void)state;
  fl_activation acts[] = {FL_ACT_LINEAR, FL_ACT_RELU, FL_ACT_LEAKY_RELU,
                          FL_ACT_TANH, FL_ACT_SIGMOID};
  for (size_t i = 0; i < sizeof acts / sizeof *acts; i++)
    check_model(acts[i], FL_ACT_SOFTMAX, FL_LOSS_SPARSE_CATEGORICAL_CE, false,
                FL_LABELS_IDS);
}

static void test_softmax_crossentropy_fused(void **state) {
  (void)state;
  check_model(FL_ACT_TANH, FL_ACT_SOFTMAX, FL_LOSS_CATEGORICAL_CE, false,
              FL_LABELS_DENSE);
}

static void test_crossentropy_from_logits(void **state) {
  (void)state;
  check_model(FL_ACT_TANH, FL_ACT_LINEAR, FL_LOSS_SPARSE_CATEGORICAL_CE, true,
              FL_LABELS_IDS);
  /* softmax output fed to a from_logits loss: a fault users make; the
   * gradient must still be right (through softmax backward). */
  check_model(FL_ACT_TANH, FL_ACT_SOFTMAX, FL_LOSS_CATEGORICAL_CE, true,
              FL_LABELS_DENSE);
}

static void test_crossentropy_on_probabilities(void **state) {
  (void)state;
  /* sigmoid output with from_logits=false: Keras normalizes and clips */
  check_model(FL_ACT_TANH, FL_ACT_SIGMOID, FL_LOSS_CATEGORICAL_CE, false,
              FL_LABELS_DENSE);
  check_model(FL_ACT_LINEAR, FL_ACT_SIGMOID, FL_LOSS_SPARSE_CATEGORICAL_CE,
              false, FL_LABELS_IDS);
}

static void test_mean_squared_error(void **state) {
  (void)state;
  check_model(FL_ACT_RELU, FL_ACT_SOFTMAX, FL_LOSS_MSE, false, FL_LABELS_DENSE);
  check_model(FL_ACT_SIGMOID, FL_ACT_TANH, FL_LOSS_MSE, false, FL_LABELS_IDS);
  check_model(FL_ACT_LEAKY_RELU, FL_ACT_LINEAR, FL_LOSS_MSE, false, FL_LABELS_DENSE);
}

/* issue 12: what a training step adds to the loss, checked the same way:
 * dropout (a fixed step's mask, so the loss is a smooth function of the
 * parameters), L1 + L2 kernel regularizers, and class weights. */
static void check_training_model(fl_activation hidden, float rate, float l1,
                                 float l2, bool weighted, fl_label_kind kind,
                                 long step) {
  fl_layer_spec layers[3] = {
      {.units = H, .activation = hidden, .dropout = rate, .l1 = l1, .l2 = l2},
      {.units = H, .activation = FL_ACT_TANH, .dropout = rate, .l2 = l2},
      {.units = K, .activation = FL_ACT_SOFTMAX, .l1 = l1},
  };
  fl_train_config cfg = {.input_dim = D, .n_layers = 3, .layers = layers,
                         .loss = {kind == FL_LABELS_IDS
                                      ? FL_LOSS_SPARSE_CATEGORICAL_CE
                                      : FL_LOSS_CATEGORICAL_CE, false},
                         .batch_size = ROWS, .seed = 99};
  fl__model_layout lay;
  fl__model_layout_compute(&cfg, &lay);
  size_t P = lay.n_params;
  fl__rng rng;
  fl__rng_seed(&rng, 7 + hidden);
  float *params = malloc(P * sizeof(float)), *grads = calloc(P, sizeof(float));
  /* away from 0, where |w| has no derivative */
  for (size_t i = 0; i < P; i++) {
    double v = fl__rng_normal(&rng) * 0.7;
    params[i] = (float)(v >= 0 ? v + 0.05 : v - 0.05);
  }
  float x[ROWS * D], y[ROWS * K], cw[K] = {0.5f, 2.0f, 3.5f};
  int32_t ids[ROWS];
  for (size_t i = 0; i < ROWS * D; i++) x[i] = (float)fl__rng_normal(&rng);
  for (size_t r = 0; r < ROWS; r++) {
    ids[r] = (int32_t)(r % K);
    for (size_t j = 0; j < K; j++) y[r * K + j] = j == r % K ? 1.0f : 0.0f;
  }
  const float *w = weighted ? cw : NULL;
  double l0 = fl__ref_model_loss_train(&cfg, params, x, ROWS, kind, ids, y,
                                       true, step, w, grads);
  /* the mask really drops something, and not everything */
  if (rate > 0) {
    double eval = fl__ref_model_loss_train(&cfg, params, x, ROWS, kind, ids,
                                           y, false, step, w, NULL);
    assert_true(l0 != eval);
  }
  const double h = 1e-2;
  for (size_t i = 0; i < P; i++) {
    float keep = params[i];
    params[i] = keep + (float)h;
    double lp = fl__ref_model_loss_train(&cfg, params, x, ROWS, kind, ids, y,
                                         true, step, w, NULL);
    params[i] = keep - (float)h;
    double lm = fl__ref_model_loss_train(&cfg, params, x, ROWS, kind, ids, y,
                                         true, step, w, NULL);
    params[i] = keep;
    double num = (lp - lm) / (2 * h);
    if (!(fabs(grads[i] - num) <= 3e-3 + 3e-2 * fabs(num)))
      fail_msg("hidden %d, dropout %g, l1 %g, l2 %g, weighted %d: param %zu "
               "analytic %.6g numeric %.6g", hidden, rate, l1, l2, weighted,
               i, grads[i], num);
  }
  free(params);
  free(grads);
}

static void test_dropout_backward(void **state) {
  (void)state;
  fl_activation acts[] = {FL_ACT_RELU, FL_ACT_TANH, FL_ACT_SIGMOID};
  for (size_t i = 0; i < sizeof acts / sizeof *acts; i++)
    for (long step = 0; step < 3; step++)
      check_training_model(acts[i], 0.4f, 0, 0, false, FL_LABELS_IDS, step);
}

static void test_kernel_regularizer_backward(void **state) {
  (void)state;
  check_training_model(FL_ACT_TANH, 0, 0.05f, 0, false, FL_LABELS_IDS, 0);
  check_training_model(FL_ACT_TANH, 0, 0, 0.1f, false, FL_LABELS_IDS, 0);
  check_training_model(FL_ACT_RELU, 0.3f, 0.02f, 0.05f, false, FL_LABELS_IDS, 1);
}

static void test_class_weight_backward(void **state) {
  (void)state;
  check_training_model(FL_ACT_TANH, 0, 0, 0, true, FL_LABELS_IDS, 0);
  check_training_model(FL_ACT_TANH, 0, 0, 0, true, FL_LABELS_DENSE, 0);
  check_training_model(FL_ACT_RELU, 0.25f, 0.01f, 0.01f, true, FL_LABELS_IDS, 2);
}

/* Batch normalization (issue 12): the training loss normalizes with the
 * batch's statistics, so every row's output depends on every other row's;
 * its gradient (dgamma, dbeta, and dx through the mean and variance) is
 * checked on a three-layer model, normalization before the activation on
 * one hidden layer and after it on the other (each way round), with and
 * without gamma and beta, and with dropout after the normalization. */
static void check_bn_model(fl_activation hidden, bool first_before,
                           bool center, bool scale, float rate) {
  fl_layer_spec layers[3] = {
      {.units = H, .activation = hidden, .dropout = rate, .bn = true,
       .bn_before_act = first_before, .bn_momentum = 0.9f,
       .bn_epsilon = 1e-3f, .bn_center = center, .bn_scale = scale},
      {.units = H, .activation = FL_ACT_TANH, .bn = true,
       .bn_before_act = !first_before, .bn_momentum = 0.99f,
       .bn_epsilon = 1e-2f, .bn_center = true, .bn_scale = true},
      {.units = K, .activation = FL_ACT_SOFTMAX},
  };
  fl_train_config cfg = {.input_dim = D, .n_layers = 3, .layers = layers,
                         .loss = {FL_LOSS_SPARSE_CATEGORICAL_CE, false},
                         .batch_size = ROWS, .seed = 3};
  fl__model_layout lay;
  fl__model_layout_compute(&cfg, &lay);
  size_t P = lay.n_params, S = lay.n_stats;
  assert_int_equal(S, 4 * H);
  assert_int_equal(P, D * H + H + H * H + H + H * K + K +
                          (size_t)(center + scale) * H + 2 * H);
  fl__rng rng;
  fl__rng_seed(&rng, 21 + hidden + 7 * first_before + 2 * center + scale);
  float *params = malloc((P + S) * sizeof(float)), *grads = calloc(P, sizeof(float));
  for (size_t i = 0; i < P; i++) params[i] = (float)(fl__rng_normal(&rng) * 0.7);
  /* moving statistics: unused by the training loss, read by inference */
  for (size_t i = 0; i < S; i++) params[P + i] = (float)(0.5 + fl__rng_uniform(&rng));
  float x[ROWS * D], y[ROWS * K] = {0}; /* y: unused by id labels */
  int32_t ids[ROWS];
  for (size_t i = 0; i < ROWS * D; i++) x[i] = (float)fl__rng_normal(&rng);
  for (size_t r = 0; r < ROWS; r++) ids[r] = (int32_t)(r % K);
  double l0 = fl__ref_model_loss_train(&cfg, params, x, ROWS, FL_LABELS_IDS,
                                       ids, y, true, 1, NULL, grads);
  /* inference normalizes with the moving statistics: another loss */
  double eval = fl__ref_model_loss_train(&cfg, params, x, ROWS, FL_LABELS_IDS,
                                         ids, y, false, 1, NULL, NULL);
  assert_true(l0 != eval);
  const double h = 1e-2;
  for (size_t i = 0; i < P; i++) {
    float keep = params[i];
    params[i] = keep + (float)h;
    double lp = fl__ref_model_loss_train(&cfg, params, x, ROWS, FL_LABELS_IDS,
                                         ids, y, true, 1, NULL, NULL);
    params[i] = keep - (float)h;
    double lm = fl__ref_model_loss_train(&cfg, params, x, ROWS, FL_LABELS_IDS,
                                         ids, y, true, 1, NULL, NULL);
    params[i] = keep;
    double num = (lp - lm) / (2 * h);
    if (!(fabs(grads[i] - num) <= 3e-3 + 3e-2 * fabs(num)))
      fail_msg("batch norm, hidden %d, first before its activation %d, "
               "center %d, scale %d, dropout %g: param %zu analytic %.6g "
               "numeric %.6g", hidden, first_before, center, scale, rate, i,
               grads[i], num);
  }
  free(params);
  free(grads);
}

static void test_batch_norm_backward(void **state) {
  (void)state;
  fl_activation acts[] = {FL_ACT_LINEAR, FL_ACT_LEAKY_RELU, FL_ACT_TANH,
                          FL_ACT_SIGMOID};
  for (size_t i = 0; i < sizeof acts / sizeof *acts; i++)
    for (int before = 0; before < 2; before++)
      check_bn_model(acts[i], before, true, true, 0.0f);
  check_bn_model(FL_ACT_TANH, true, false, true, 0.0f);
  check_bn_model(FL_ACT_TANH, false, true, false, 0.0f);
  check_bn_model(FL_ACT_SIGMOID, true, false, false, 0.0f);
  check_bn_model(FL_ACT_TANH, true, true, true, 0.3f);
  check_bn_model(FL_ACT_LEAKY_RELU, false, true, true, 0.3f);
}

/* binary_crossentropy: one output unit, ids 0/1 (or a target column),
 * from the logit (fused sigmoid, or linear from_logits) and from a
 * probability (a linear output kept inside (0, 1)). */
static void check_binary(fl_activation out, bool from_logits,
                         fl_label_kind kind, bool weighted) {
  fl_layer_spec layers[2] = {{.units = H, .activation = FL_ACT_TANH},
                             {.units = 1, .activation = out}};
  fl_train_config cfg = {.input_dim = D, .n_layers = 2, .layers = layers,
                         .loss = {FL_LOSS_BINARY_CE, from_logits},
                         .batch_size = ROWS};
  fl__model_layout lay;
  fl__model_layout_compute(&cfg, &lay);
  size_t P = lay.n_params;
  fl__rng rng;
  fl__rng_seed(&rng, 5 + out);
  float *params = malloc(P * sizeof(float)), *grads = calloc(P, sizeof(float));
  for (size_t i = 0; i < P; i++) params[i] = (float)(fl__rng_normal(&rng) * 0.7);
  bool probs = out == FL_ACT_LINEAR && !from_logits;
  if (probs) { /* outputs near 0.5: inside the clip range */
    for (size_t i = lay.l[1].w_off; i < lay.l[1].b_off; i++) params[i] *= 0.1f;
    params[lay.l[1].b_off] = 0.5f;
  }
  float x[ROWS * D], y[ROWS], cw[2] = {0.75f, 2.5f};
  int32_t ids[ROWS];
  for (size_t i = 0; i < ROWS * D; i++) x[i] = (float)fl__rng_normal(&rng);
  for (size_t r = 0; r < ROWS; r++) ids[r] = (int32_t)(r % 2), y[r] = (float)(r % 2);
  const float *w = weighted ? cw : NULL;
  fl__ref_model_loss_train(&cfg, params, x, ROWS, kind, ids, y, false, 0, w, grads);
  const double h = probs ? 1e-3 : 1e-2;
  for (size_t i = 0; i < P; i++) {
    float keep = params[i];
    params[i] = keep + (float)h;
    double lp = fl__ref_model_loss_train(&cfg, params, x, ROWS, kind, ids, y,
                                         false, 0, w, NULL);
    params[i] = keep - (float)h;
    double lm = fl__ref_model_loss_train(&cfg, params, x, ROWS, kind, ids, y,
                                         false, 0, w, NULL);
    params[i] = keep;
    double num = (lp - lm) / (2 * h);
    if (!(fabs(grads[i] - num) <= 3e-3 + 3e-2 * fabs(num)))
      fail_msg("binary, output %d, from_logits %d, labels %d: param %zu "
               "analytic %.6g numeric %.6g", out, from_logits, kind, i,
               grads[i], num);
  }
  free(params);
  free(grads);
}

static void test_binary_crossentropy(void **state) {
  (void)state;
  check_binary(FL_ACT_SIGMOID, false, FL_LABELS_IDS, false);
  check_binary(FL_ACT_SIGMOID, false, FL_LABELS_DENSE, true);
  check_binary(FL_ACT_LINEAR, true, FL_LABELS_IDS, true);
  check_binary(FL_ACT_SIGMOID, true, FL_LABELS_IDS, false);
  check_binary(FL_ACT_LINEAR, false, FL_LABELS_IDS, false);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_each_hidden_activation),
      cmocka_unit_test(test_softmax_crossentropy_fused),
      cmocka_unit_test(test_crossentropy_from_logits),
      cmocka_unit_test(test_crossentropy_on_probabilities),
      cmocka_unit_test(test_mean_squared_error),
      cmocka_unit_test(test_dropout_backward),
      cmocka_unit_test(test_kernel_regularizer_backward),
      cmocka_unit_test(test_class_weight_backward),
      cmocka_unit_test(test_batch_norm_backward),
      cmocka_unit_test(test_binary_crossentropy),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
