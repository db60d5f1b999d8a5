/* tests/device_fixture.h — what the device tests share: one OpenCL device
 * opened for a whole cmocka group (FL_TEST_DEVICE picks it, "auto" by
 * default) and small synthetic datasets. Included by a test file, once. */
#ifndef FL_TESTS_DEVICE_FIXTURE_H
#define FL_TESTS_DEVICE_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine_internal.h"

static fl_device *dev;

static int setup(void **state) {
  (void)state;
  fl_device_info infos[FL_MAX_DEVICES];
  fl_error err = {0};
  int n = fl_devices_list(infos, FL_MAX_DEVICES, &err), idx;
  if (n <= 0 || fl_device_resolve(infos, n, getenv("FL_TEST_DEVICE"), &idx, &err) ||
      fl_device_open(idx, &dev, &err)) {
    fprintf(stderr, "no usable OpenCL device: %s\n", err.msg);
    return -1;
  }
  return 0;
}

static int teardown(void **state) {
  (void)state;
  fl_device_close(dev);
  return 0;
}

/* Gaussian blobs: k classes in d dimensions, centres 3 apart. */
static void make_blobs(fl_dataset *ds, size_t n, size_t d, size_t k,
                       uint64_t seed, bool dense) {
  fl__rng rng;
  fl__rng_seed(&rng, seed);
  memset(ds, 0, sizeof *ds);
  ds->n = n;
  ds->d = d;
  ds->x = malloc(n * d * sizeof(float));
  ds->label_kind = dense ? FL_LABELS_DENSE : FL_LABELS_IDS;
  if (dense) {
    ds->k = k;
    ds->y = calloc(n * k, sizeof(float));
  } else {
    ds->ids = malloc(n * sizeof(int32_t));
  }
  for (size_t i = 0; i < n; i++) {
    size_t c = i % k;
    for (size_t j = 0; j < d; j++)
      ds->x[i * d + j] = (float)(fl__rng_normal(&rng) + (j % k == c ? 3.0 : 0.0));
    if (dense) ds->y[i * k + c] = 1.0f;
    else ds->ids[i] = (int32_t)c;
  }
}

#endif
