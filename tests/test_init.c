/* tests/test_init.c — the Keras initializers and the seeded generator:
 * bounds, variances (within sampling error for 200k draws), truncation,
 * constants, and that a seed always gives the same numbers. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "engine_internal.h"

enum { N = 200000 };

static void stats(const float *v, size_t n, double *mean, double *sd,
                  double *maxabs) {
  double s = 0, s2 = 0, m = 0;
  for (size_t i = 0; i < n; i++) {
    s += v[i];
    s2 += (double)v[i] * v[i];
    if (fabs(v[i]) > m) m = fabs(v[i]);
  }
  *mean = s / n;
  *sd = sqrt(s2 / n - *mean * *mean);
  *maxabs = m;
}

static void check(fl_init_kind kind, float param, size_t fan_in,
                  size_t fan_out, double want_sd, double want_max) {
  static float v[N];
  fl__rng rng;
  fl__rng_seed(&rng, 99);
  fl_initializer init = {kind, param};
  fl__init_fill(&init, fan_in, fan_out, &rng, v, N);
  double mean, sd, maxabs;
  stats(v, N, &mean, &sd, &maxabs);
  if (fabs(mean) > 0.01 * want_sd + 1e-9 || fabs(sd - want_sd) > 0.01 * want_sd ||
      maxabs > want_max * (1 + 1e-6))
    fail_msg("init %d: mean %.5g sd %.5g (want %.5g) max %.5g (bound %.5g)",
             kind, mean, sd, want_sd, maxabs, want_max);
}

static void test_keras_formulas(void **state) {
  (void)state;
  /* uniform(-l, l) has sd l / sqrt(3) */
  double l = sqrt(6.0 / (784 + 256));
  check(FL_INIT_GLOROT_UNIFORM, 0, 784, 256, l / sqrt(3.0), l);
  l = sqrt(6.0 / 784);
  check(FL_INIT_HE_UNIFORM, 0, 784, 256, l / sqrt(3.0), l);
  check(FL_INIT_RANDOM_UNIFORM, 0.05f, 784, 256, 0.05 / sqrt(3.0), 0.05);
  /* truncated normals keep the intended sd and never pass 2 / 0.8796 sd */
  double sd = sqrt(2.0 / (784 + 256));
  check(FL_INIT_GLOROT_NORMAL, 0, 784, 256, sd, 2 * sd / 0.87962566103423978);
  sd = sqrt(2.0 / 784);
  check(FL_INIT_HE_NORMAL, 0, 784, 256, sd, 2 * sd / 0.87962566103423978);
  /* random_normal is not truncated */
  check(FL_INIT_RANDOM_NORMAL, 0.3f, 1, 1, 0.3, 10.0);
}

static void test_constants(void **state) {
  (void)state;
  float v[16];
  fl__rng rng;
  fl__rng_seed(&rng, 1);
  fl_initializer z = {FL_INIT_ZEROS, 0}, o = {FL_INIT_ONES, 0},
                 c = {FL_INIT_CONSTANT, -2.5f};
  fl__init_fill(&z, 4, 4, &rng, v, 16);
  for (int i = 0; i < 16; i++) assert_true(v[i] == 0.0f);
  fl__init_fill(&o, 4, 4, &rng, v, 16);
  for (int i = 0; i < 16; i++) assert_true(v[i] == 1.0f);
  fl__init_fill(&c, 4, 4, &rng, v, 16);
  for (int i = 0; i < 16; i++) assert_true(v[i] == -2.5f);
}

static void test_seeded_and_unbiased(void **state) {
  (void)state;
  fl__rng a, b, c;
  fl__rng_seed(&a, 7);
  fl__rng_seed(&b, 7);
  fl__rng_seed(&c, 8);
  int differ = 0;
  for (int i = 0; i < 100; i++) {
    uint64_t x = fl__rng_next(&a);
    assert_true(x == fl__rng_next(&b));
    differ |= x != fl__rng_next(&c);
  }
  assert_true(differ);
  /* fl__rng_below(3): each value about a third of 300k draws */
  unsigned counts[3] = {0};
  for (int i = 0; i < 300000; i++) counts[fl__rng_below(&a, 3)]++;
  for (int i = 0; i < 3; i++) assert_true(abs((int)counts[i] - 100000) < 1500);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_keras_formulas),
      cmocka_unit_test(test_constants),
      cmocka_unit_test(test_seeded_and_unbiased),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
