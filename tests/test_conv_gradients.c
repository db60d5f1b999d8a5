/* tests/test_conv_gradients.c — the plain-C reference's conv2d and pooling
 * backward passes checked by central finite differences on whole small
 * models (conv [-> pooling] [-> conv] -> flatten -> dense softmax), for
 * strides 1 and 2, "valid" and "same" padding, odd image sizes, 1 and 3
 * input channels, max / average / global average pooling, with ReLU, tanh
 * and linear activations. test_conv.c then holds the kernels and the
 * device's training step to this reference.
 *
 * Tolerance as test_gradients.c: |analytic - numeric| <= 3e-3 + 3e-2
 * |numeric|, step 1e-2. Max pooling and ReLU have kinks; inputs and
 * weights are random normals, so a parameter whose +-h step moves a max
 * or crosses zero is rare; such a parameter is retried with h / 10 before
 * it counts as a failure. */
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

enum { K = 3, ROWS = 3 };

typedef struct {
  int h, w, c;          /* image */
  int filters, k, s;    /* first conv: k x k kernel, stride s */
  bool same;
  int pool, pool_k, pool_s;
  bool pool_same;
  bool second;          /* a second conv (3x3, stride 1, same, tanh) */
  fl_activation act;
} conv_case;

static double loss_at(const fl_train_config *cfg, float *params,
                      const float *x, const int32_t *ids, float *grads) {
  return fl__ref_model_loss(cfg, params, x, ROWS, FL_LABELS_IDS, ids, NULL,
                            grads);
}

static void check_case(const conv_case *cc) {
  fl_layer_spec layers[3];
  memset(layers, 0, sizeof layers);
  int n = 0;
  fl_layer_spec *c1 = &layers[n++];
  c1->kind = FL_LAYER_CONV2D;
  c1->units = cc->filters;
  c1->activation = cc->act;
  c1->input_shape[0] = cc->h, c1->input_shape[1] = cc->w;
  c1->input_shape[2] = cc->c;
  c1->kernel_size[0] = c1->kernel_size[1] = cc->k;
  c1->strides[0] = c1->strides[1] = cc->s;
  c1->padding_same = cc->same;
  c1->pool = cc->pool;
  c1->pool_size[0] = c1->pool_size[1] = cc->pool_k;
  c1->pool_strides[0] = c1->pool_strides[1] = cc->pool_s;
  c1->pool_same = cc->pool_same;
  if (cc->second) {
    fl_layer_spec *c2 = &layers[n++];
    c2->kind = FL_LAYER_CONV2D;
    c2->units = 2;
    c2->activation = FL_ACT_TANH;
    c2->kernel_size[0] = c2->kernel_size[1] = 3;
    c2->strides[0] = c2->strides[1] = 1;
    c2->padding_same = true;
  }
  layers[n].units = K;
  layers[n].activation = FL_ACT_SOFTMAX;
  layers[n].flatten = true;
  n++;
  size_t D = (size_t)cc->h * cc->w * cc->c;
  fl_train_config cfg = {.input_dim = D, .n_layers = n, .layers = layers,
                         .loss = {FL_LOSS_SPARSE_CATEGORICAL_CE, false},
                         .batch_size = ROWS};
  fl_error err = {0};
  assert_int_equal(fl__model_check_shapes(&cfg, &err), 0);
  fl__model_layout lay;
  fl__model_layout_compute(&cfg, &lay);
  size_t P = lay.n_params;
  fl__rng rng;
  fl__rng_seed(&rng, (uint64_t)(cc->h * 100 + cc->k * 10 + cc->s + cc->pool));
  float *params = malloc(P * sizeof(float)), *grads = calloc(P, sizeof(float));
  for (size_t i = 0; i < P; i++) params[i] = (float)(fl__rng_normal(&rng) * 0.5);
  float *x = malloc(ROWS * D * sizeof(float));
  int32_t ids[ROWS];
  for (size_t i = 0; i < ROWS * D; i++) x[i] = (float)fl__rng_normal(&rng);
  for (int r = 0; r < ROWS; r++) ids[r] = r % K;
  loss_at(&cfg, params, x, ids, grads);
  for (size_t i = 0; i < P; i++) {
    float keep = params[i];
    double num = 0;
    bool ok = false;
    for (double h = 1e-2; h > 1e-4 && !ok; h /= 10) {
      params[i] = keep + (float)h;
      double lp = loss_at(&cfg, params, x, ids, NULL);
      params[i] = keep - (float)h;
      double lm = loss_at(&cfg, params, x, ids, NULL);
      params[i] = keep;
      num = (lp - lm) / (2 * h);
      ok = fabs(grads[i] - num) <= 3e-3 + 3e-2 * fabs(num);
    }
    if (!ok)
      fail_msg("image %dx%dx%d, %d filters %dx%d stride %d %s, pool %d "
               "(%d/%d %s), second conv %d, act %d: param %zu of %zu "
               "analytic %.6g numeric %.6g",
               cc->h, cc->w, cc->c, cc->filters, cc->k, cc->k, cc->s,
               cc->same ? "same" : "valid", cc->pool, cc->pool_k, cc->pool_s,
               cc->pool_same ? "same" : "valid", cc->second, cc->act, i, P,
               grads[i], num);
  }
  free(params);
  free(grads);
  free(x);
}

static void test_conv_strides_and_padding(void **state) {
  (void)state;
  /* h, w, c, filters, k, s, same, pool, pool_k, pool_s, pool_same, second,
   * act */
  static const conv_case cases[] = {
      {5, 5, 1, 2, 3, 1, false, FL_POOL_NONE, 0, 0, false, false, FL_ACT_TANH},
      {5, 5, 1, 2, 3, 1, true, FL_POOL_NONE, 0, 0, false, false, FL_ACT_TANH},
      {7, 5, 3, 2, 3, 2, false, FL_POOL_NONE, 0, 0, false, false, FL_ACT_LINEAR},
      {7, 5, 3, 2, 3, 2, true, FL_POOL_NONE, 0, 0, false, false, FL_ACT_TANH},
      {6, 7, 1, 3, 2, 2, true, FL_POOL_NONE, 0, 0, false, false, FL_ACT_RELU},
      {5, 5, 3, 2, 3, 1, true, FL_POOL_NONE, 0, 0, false, true, FL_ACT_RELU},
      {7, 7, 1, 2, 3, 2, true, FL_POOL_NONE, 0, 0, false, true, FL_ACT_TANH},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) check_case(&cases[i]);
}

static void test_pooling(void **state) {
  (void)state;
  static const conv_case cases[] = {
      {6, 6, 1, 2, 3, 1, false, FL_POOL_MAX, 2, 2, false, false, FL_ACT_TANH},
      {7, 7, 3, 2, 3, 1, true, FL_POOL_MAX, 2, 2, true, false, FL_ACT_RELU},
      {7, 7, 1, 2, 3, 1, true, FL_POOL_MAX, 3, 2, false, true, FL_ACT_TANH},
      {7, 5, 3, 2, 3, 1, false, FL_POOL_AVG, 2, 2, false, false, FL_ACT_TANH},
      {7, 7, 1, 2, 3, 1, true, FL_POOL_AVG, 3, 2, true, false, FL_ACT_TANH},
      {7, 7, 3, 2, 3, 2, true, FL_POOL_AVG, 2, 1, false, true, FL_ACT_RELU},
      {5, 7, 3, 3, 3, 1, false, FL_POOL_GLOBAL_AVG, 0, 0, false, false,
       FL_ACT_TANH},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) check_case(&cases[i]);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_conv_strides_and_padding),
      cmocka_unit_test(test_pooling),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
