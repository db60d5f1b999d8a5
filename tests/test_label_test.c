/* tests/test_label_test.c — the statistics the diagnosis decides with:
 * Wilson and Newcombe intervals against published values, and the label
 * permutation test (diagnose/label_test.c) on data whose answer is known:
 * random labels are not significant (for most seeds: the test's size is
 * its alpha, checked over 40 datasets), labels that follow blobs, rings or
 * XOR are, a majority class cannot make labels look informative, and the
 * winning rule scores validation rows as its leave-one-out score says
 * unless their labels were shuffled apart from their features. */
#include <math.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "flatline/diagnose.h"

static uint64_t rng_state;
static double uniform(void) {
  rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
  return (double)(rng_state >> 11) / 9007199254740992.0;
}
static double normal(void) {
  double u = uniform() + 1e-12, v = uniform();
  return sqrt(-2 * log(u)) * cos(6.283185307179586 * v);
}

static fl_dataset make(size_t n, size_t d) {
  fl_dataset ds;
  memset(&ds, 0, sizeof ds);
  ds.n = n;
  ds.d = d;
  ds.label_kind = FL_LABELS_IDS;
  ds.x = calloc(n * d, sizeof *ds.x);
  ds.ids = calloc(n, sizeof *ds.ids);
  assert_non_null(ds.x);
  assert_non_null(ds.ids);
  return ds;
}

static void release(fl_dataset *ds) {
  free(ds->x);
  free(ds->ids);
}

static void test_wilson_known_values(void **state) {
  (void)state;
  /* Newcombe (1998) table I: 81/263 -> 0.2553 to 0.3662. */
  fl_interval w = fl_wilson(81, 263, FL_Z95);
  assert_true(fabs(w.lo - 0.2553) < 5e-4 && fabs(w.hi - 0.3662) < 5e-4);
  /* 0/10 -> 0 to 0.2775. */
  w = fl_wilson(0, 10, FL_Z95);
  assert_true(w.lo == 0 && fabs(w.hi - 0.2775) < 5e-4);
  /* Newcombe (1998) table II, method 10: 56/70 - 48/80 -> 0.0524 to 0.3339. */
  fl_interval d = fl_newcombe_diff(56, 70, 48, 80, FL_Z95);
  assert_true(fabs(d.lo - 0.0524) < 5e-4 && fabs(d.hi - 0.3339) < 5e-4);
  /* Normal quantiles: 1.959964 (5%), 2.807034 (0.5%, Bonferroni for 10). */
  assert_true(fabs(fl_z_two_sided(0.05) - FL_Z95) < 1e-6);
  assert_true(fabs(fl_z_two_sided(0.005) - 2.807034) < 1e-5);
  /* Student t: 1, 2, 3 -> mean 2, se 1/sqrt 3, t(0.975, 2) = 4.303. */
  const double d3[3] = {1, 2, 3};
  fl_interval t = fl_t_interval95(d3, 3);
  assert_true(fabs(t.lo - (2 - 4.303 / sqrt(3.0))) < 1e-9 && fabs(t.hi - (2 + 4.303 / sqrt(3.0))) < 1e-9);
}

/* Chi-square: the tables' 5% points (3.841 at 1 degree of freedom, 5.991
 * at 2, 18.307 at 10; 0.1%: 13.816 at 2) and the test of homogeneity on
 * rows of class counts. */
static void test_chi_square(void **state) {
  (void)state;
  assert_true(fabs(fl_chi2_sf(3.841, 1) - 0.05) < 1e-4);
  assert_true(fabs(fl_chi2_sf(5.991, 2) - 0.05) < 1e-4);
  assert_true(fabs(fl_chi2_sf(18.307, 10) - 0.05) < 1e-4);
  assert_true(fabs(fl_chi2_sf(13.816, 2) - 0.001) < 1e-5);
  assert_true(fl_chi2_sf(0, 3) == 1.0);
  /* Same proportions: p = 1; a sorted Iris split: all 30 validation rows
   * of the class the 120 training rows hold 20 of. */
  const uint64_t a[3] = {40, 40, 40}, b[3] = {10, 10, 10};
  double low = 0;
  assert_true(fabs(fl_chi2_homogeneity(a, b, 3, &low) - 1.0) < 1e-12);
  assert_true(fabs(low - 10.0) < 1e-12);
  const uint64_t tr[3] = {50, 50, 20}, va[3] = {0, 0, 30};
  assert_true(fl_chi2_homogeneity(tr, va, 3, &low) < 1e-10);
  /* 2 x 2: [[30, 10], [10, 30]]: chi-square 20, p = 7.74e-6. */
  const uint64_t c[2] = {30, 10}, d[2] = {10, 30};
  assert_true(fabs(fl_chi2_homogeneity(c, d, 2, NULL) - 7.744e-6) < 1e-8);
}

/* The seed article's data: 100 rows, uniform features, 3 random classes. */
static void test_random_labels_not_significant(void **state) {
  (void)state;
  int significant = 0;
  for (int s = 0; s < 40; s++) {
    rng_state = 1000 + (uint64_t)s;
    fl_dataset ds = make(100, s % 2 ? 100 : 10);
    for (size_t i = 0; i < ds.n * ds.d; i++) ds.x[i] = (float)uniform();
    for (size_t i = 0; i < ds.n; i++) ds.ids[i] = (int32_t)(uniform() * 3);
    fl_label_test t;
    assert_int_equal(fl_label_test_run(&ds, NULL, 3, (uint64_t)s, &t), 0);
    assert_true(t.run && t.p_value > 0 && t.p_value <= 1);
    significant += t.p_value <= FL_LABEL_TEST_ALPHA;
    release(&ds);
  }
  /* alpha = 0.01: one false positive in 40 is already unlikely (p ~ 0.06). */
  assert_true(significant <= 1);
}

static void test_structure_is_significant(void **state) {
  (void)state;
  for (int family = 0; family < 3; family++) {
    rng_state = 77 + (uint64_t)family;
    fl_dataset ds = make(300, 2);
    for (size_t i = 0; i < ds.n; i++) {
      double a = uniform() * 6.283185307179586, r;
      int c;
      switch (family) {
        case 0: /* blobs */
          c = (int)(i % 3);
          ds.x[i * 2] = (float)(c * 2 + normal());
          ds.x[i * 2 + 1] = (float)normal();
          break;
        case 1: /* rings: not linearly separable */
          c = (int)(i % 3);
          r = 1 + c + 0.2 * normal();
          ds.x[i * 2] = (float)(r * cos(a));
          ds.x[i * 2 + 1] = (float)(r * sin(a));
          break;
        default: /* XOR */
          ds.x[i * 2] = (float)(uniform() * 2 - 1);
          ds.x[i * 2 + 1] = (float)(uniform() * 2 - 1);
          c = (ds.x[i * 2] > 0) != (ds.x[i * 2 + 1] > 0);
      }
      ds.ids[i] = c;
    }
    fl_label_test t;
    assert_int_equal(fl_label_test_run(&ds, NULL, family == 2 ? 2 : 3, 5, &t), 0);
    assert_true(t.p_value <= FL_LABEL_TEST_ALPHA);
    assert_true(t.accuracy > t.null_q95);
    release(&ds);
  }
}

/* Rare classes of 2 rows cannot be told apart by any labels: they sit
 * out, and with one class left the test does not run (a 190:1 job drew
 * p = 1 and read as labels without information). Informative blobs with
 * a rare class of 8 rows keep it and the test. */
static void test_tiny_classes_sit_out(void **state) {
  (void)state;
  rng_state = 9349;
  fl_dataset ds = make(432, 2);
  for (size_t i = 0; i < ds.n; i++) {
    int c = i < 2 ? 1 : i < 4 ? 2 : 0;
    ds.ids[i] = c;
    ds.x[i * 2] = (float)(c * 4 + normal());
    ds.x[i * 2 + 1] = (float)normal();
  }
  fl_label_test t;
  assert_int_equal(fl_label_test_run(&ds, NULL, 3, 5, &t), FL_EINVAL);
  assert_false(t.run);
  for (size_t i = 0; i < ds.n; i++) {
    int c = i < 8 ? 1 : i < 10 ? 2 : 0;
    ds.ids[i] = c;
    ds.x[i * 2] = (float)(c * 4 + normal());
  }
  assert_int_equal(fl_label_test_run(&ds, NULL, 3, 5, &t), 0);
  assert_int_equal((int)t.rows, 430); /* class 2's two rows sit out */
  assert_true(t.p_value <= FL_LABEL_TEST_ALPHA);
  release(&ds);
}

/* 95% of rows in class 0, labels random: balanced accuracy stays at
 * chance, so the majority does not pass for information. */
static void test_majority_class_is_not_information(void **state) {
  (void)state;
  rng_state = 4242;
  fl_dataset ds = make(400, 5);
  for (size_t i = 0; i < ds.n * ds.d; i++) ds.x[i] = (float)normal();
  for (size_t i = 0; i < ds.n; i++) ds.ids[i] = uniform() < 0.95 ? 0 : 1 + (int)(uniform() * 2);
  fl_label_test t;
  assert_int_equal(fl_label_test_run(&ds, NULL, 3, 9, &t), 0);
  assert_true(t.p_value > FL_LABEL_TEST_ALPHA);
  release(&ds);
}

/* Rows of class c (3 classes): rings (radius 1 + c, the 5-NN rule wins) or
 * a weak mean shift (0.4 sd) spread over 40 features (nearest centroid wins). */
static void fill(fl_dataset *ds, bool rings) {
  for (size_t i = 0; i < ds->n; i++) {
    int c = (int)(uniform() * 3);
    ds->ids[i] = c;
    float *x = ds->x + i * ds->d;
    if (rings) {
      double a = 6.283185307179586 * uniform(), r = 1 + c + 0.15 * normal();
      x[0] = (float)(r * cos(a));
      x[1] = (float)(r * sin(a));
    } else {
      for (size_t j = 0; j < ds->d; j++) x[j] = (float)(normal() + 0.4 * (c - 1) * (j % 2 ? 1 : -1));
    }
  }
}

/* The winning rule, fitted on the training rows, classifies validation
 * rows drawn like them about as well as its leave-one-out score says, and
 * validation rows whose labels were shuffled apart from their features at
 * about chance (1/3); without validation rows it scores none. */
static void test_validation_rows_scored(void **state) {
  (void)state;
  for (int rings = 0; rings < 2; rings++) {
    rng_state = 77 + (uint64_t)rings;
    size_t d = rings ? 2 : 40;
    fl_dataset tr = make(600, d), va = make(1500, d);
    fill(&tr, rings);
    fill(&va, rings);
    fl_label_test t;
    assert_int_equal(fl_label_test_run(&tr, NULL, 3, 3, &t), 0);
    assert_int_equal((int)t.val_rows, 0);
    assert_int_equal(fl_label_test_run(&tr, &va, 3, 3, &t), 0);
    assert_string_equal(t.method, rings ? "leave-one-out 5-nearest-neighbours"
                                        : "leave-one-out nearest centroid");
    assert_int_equal((int)t.val_rows, 1000); /* a sample of up to 1000 */
    assert_true(t.rule_accuracy > 0.75);
    assert_true(fabs(t.val_accuracy - t.rule_accuracy) < 0.06);
    for (size_t i = va.n; i > 1; i--) { /* the labels shuffled alone */
      size_t j = (size_t)(uniform() * (double)i);
      int32_t c = va.ids[i - 1];
      va.ids[i - 1] = va.ids[j];
      va.ids[j] = c;
    }
    assert_int_equal(fl_label_test_run(&tr, &va, 3, 3, &t), 0);
    assert_true(fabs(t.val_accuracy - 1.0 / 3) < 0.06);
    assert_true(t.rule_accuracy > 0.75);
    release(&tr);
    release(&va);
  }
}

static void test_refuses_what_it_cannot_test(void **state) {
  (void)state;
  fl_dataset ds = make(3, 2);
  fl_label_test t;
  assert_int_equal(fl_label_test_run(&ds, NULL, 3, 1, &t), FL_EINVAL);
  assert_false(t.run);
  release(&ds);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_wilson_known_values),
      cmocka_unit_test(test_chi_square),
      cmocka_unit_test(test_tiny_classes_sit_out),
      cmocka_unit_test(test_random_labels_not_significant),
      cmocka_unit_test(test_structure_is_significant),
      cmocka_unit_test(test_majority_class_is_not_information),
      cmocka_unit_test(test_validation_rows_scored),
      cmocka_unit_test(test_refuses_what_it_cannot_test),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
