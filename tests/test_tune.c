/* tests/test_tune.c — GEMM tuning (engine/tune.c, daemon/tuning.c): a
 * quick search on the test device and GEMMs through what it chose against
 * the plain-C reference; CLBlast running with parameters we override;
 * the tiled variants agreeing bit for bit (so tuning them never changes a
 * job's numbers); the cache file's round trip and a corpus of files that
 * must be ignored with a message; the `autotune` config key; and end to
 * end, `flatlined --tune --quick` writing the file that `--run` and the
 * service then use, and the service tuning a new device by itself.
 *
 * GEMM tolerance as in test_kernels: |device - reference| <= 1e-4 +
 * 1e-3 |reference| (float sums in another order). */
#define _GNU_SOURCE /* usleep */
#include <fcntl.h>
#include <math.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "skip.h"

#include "run_capture.h"

#include "config.h"
#include "engine_internal.h"
#include "reference.h"
#include "tune_internal.h"
#include "tuning.h"

#define FLATLINED FL_BINARY_DIR "/flatlined"

static fl_device *dev;
static fl_tune_result quick; /* one quick search, shared by the tests */
static char dir[64];

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* The device under test and its index in the device list (the daemon's
 * log names devices by that index). */
static int dev_index;

static int setup(void **state) {
  (void)state;
  snprintf(dir, sizeof dir, "/tmp/fl-tune-XXXXXX");
  if (!mkdtemp(dir)) return -1;
  fl_device_info infos[FL_MAX_DEVICES];
  fl_error err = {0};
  int n = fl_devices_list(infos, FL_MAX_DEVICES, &err);
  if (n <= 0 || fl_device_resolve(infos, n, getenv("FL_TEST_DEVICE"), &dev_index, &err) ||
      fl_device_open(dev_index, &dev, &err)) {
    fprintf(stderr, "no usable OpenCL device: %s\n", err.msg);
    return -1;
  }
  double t0 = now();
  fl_tune_options opt = {.quick = true};
  if (fl_tune_search(dev, &opt, &quick, &err)) {
    fprintf(stderr, "quick search failed: %s\n", err.msg);
    return -1;
  }
  char what[256];
  fl_tune_describe(&quick, what, sizeof what);
  fprintf(stderr, "# quick search on %s: %.2f s, %d shapes, %d candidates: %s\n",
          dev->info.name, now() - t0, quick.n_shapes, quick.n_candidates, what);
  return 0;
}

static int teardown(void **state) {
  (void)state;
  fl_device_close(dev);
  char cmd[128];
  if (getenv("FL_KEEP_TEST_DIR")) return 0;
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  return system(cmd) == 0 ? 0 : -1;
}

/* ---- helpers ---- */

static uint64_t lcg = 99;
static float frand(void) {
  lcg = lcg * 6364136223846793005ull + 1442695040888963407ull;
  return (float)((lcg >> 40) / 16777216.0) * 2.0f - 1.0f;
}

static cl_mem upload(const float *host, size_t n) {
  cl_mem m;
  fl_error err = {0};
  assert_int_equal(fl__buffer_create(dev, n * 4, host, &m, &err), 0);
  return m;
}

/* C (m, n) = op(A) op(B) through `plan`; returns C (malloc'd, m*n). A and B
 * are filled from the generator, so two calls with the same seed agree. */
static float *device_gemm(const fl__gemm_plan *plan, int ta, int tb, size_t m,
                          size_t n, size_t k, uint64_t seed, float **ref) {
  size_t na = m * k, nb = k * n, nc = m * n;
  float *a = malloc(na * 4), *b = malloc(nb * 4), *c = malloc(nc * 4);
  lcg = seed;
  for (size_t i = 0; i < na; i++) a[i] = frand();
  for (size_t i = 0; i < nb; i++) b[i] = frand();
  for (size_t i = 0; i < nc; i++) c[i] = NAN; /* beta 0: must not be read */
  size_t lda = ta ? m : k, ldb = tb ? k : n;
  if (ref) {
    *ref = calloc(nc, 4);
    fl__ref_gemm(ta, tb, m, n, k, 1.0f, a, lda, b, ldb, 0.0f, *ref, n);
  }
  cl_mem da = upload(a, na), db = upload(b, nb), dc = upload(c, nc);
  fl_error err = {0};
  if (fl__op_gemm_with(dev, plan, ta, tb, m, n, k, 1.0f, da, 0, lda, db, 0, ldb,
                       0.0f, dc, 0, n, &err))
    fail_msg("gemm %zux%zux%zu: %s", m, n, k, err.msg);
  assert_int_equal(fl__buffer_read(dev, dc, 0, nc * 4, c, &err), 0);
  clReleaseMemObject(da), clReleaseMemObject(db), clReleaseMemObject(dc);
  free(a), free(b);
  return c;
}

static void check_gemm(const fl__gemm_plan *plan, int ta, int tb, size_t m,
                       size_t n, size_t k, const char *what) {
  float *want = NULL;
  float *got = device_gemm(plan, ta, tb, m, n, k, m * 1000 + n + k, &want);
  for (size_t i = 0; i < m * n; i++) {
    double tol = 1e-4 + 1e-3 * fabs(want[i]);
    if (!(fabs((double)got[i] - want[i]) <= tol))
      fail_msg("%s %s%s %zux%zux%zu: element %zu: device %.9g, reference %.9g",
               what, ta ? "T" : "N", tb ? "T" : "N", m, n, k, i, got[i], want[i]);
  }
  free(got), free(want);
}

static char *read_text(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  char *buf = malloc(1 << 20);
  size_t n = fread(buf, 1, (1 << 20) - 1, f);
  buf[n] = '\0';
  fclose(f);
  return buf;
}

static void write_text(const char *path, const char *text) {
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fputs(text, f);
  fclose(f);
}


/* ---- the search and what it chose ---- */

/* The quick search covers the trainer's three forms, times every
 * candidate it lists on the forms it runs, and says for every shape what
 * the choice runs; the choice is sane for the device type. */
static void test_quick_search_result(void **state) {
  (void)state;
  assert_true(quick.n_shapes >= 6);
  bool form_seen[3] = {false, false, false};
  for (int i = 0; i < quick.n_shapes; i++) form_seen[quick.shapes[i].form] = true;
  assert_true(form_seen[FL_TUNE_NN] && form_seen[FL_TUNE_TN] && form_seen[FL_TUNE_NT]);
  assert_true(quick.n_candidates >= 1);
  for (int c = 0; c < quick.n_candidates; c++) {
    if (quick.cand[c].failed) fail_msg("%s failed: %s", quick.cand[c].name, quick.cand[c].error);
    bool timed = false;
    for (int i = 0; i < quick.n_shapes; i++) timed |= quick.cand[c].seconds[i] > 0;
    if (!timed) fail_msg("candidate %s timed nothing", quick.cand[c].name);
  }
  for (int i = 0; i < quick.n_shapes; i++) {
    int c = quick.chosen[i];
    assert_true(c >= 0 && c < quick.n_candidates);
    assert_true(quick.cand[c].seconds[i] > 0);
  }
  assert_true(quick.chosen_cost > 0);
  if (dev->info.is_cpu) {
    /* POCL: the tiled kernels run many times faster than CLBlast. */
    assert_true(quick.tiled);
    assert_non_null(fl_tune_variant_name(quick.nn));
    assert_non_null(fl_tune_variant_name(quick.tn));
    assert_true(quick.default_cost > 0);
  } else {
    assert_false(quick.tiled);
  }
  char key[FL_TUNE_KEY_MAX];
  fl_tune_key(dev, key, sizeof key);
  assert_string_equal(quick.key, key);
}

/* Applied, the choice drives the device's GEMMs, and they still compute
 * the product: the trainer's forms on shapes with edges of every tile. */
static void test_chosen_plan_matches_reference(void **state) {
  (void)state;
  fl_error err = {0};
  fl__gemm_plan before = dev->gemm;
  assert_int_equal(fl_tune_apply(dev, &quick, &err), 0);
  assert_int_equal(dev->gemm.impl, quick.tiled ? FL__GEMM_TILED : FL__GEMM_CLBLAST);
  assert_int_equal(dev->gemm.nn, quick.nn);
  assert_int_equal(dev->gemm.tn, quick.tn);
  static const size_t shapes[][3] = {{37, 23, 129}, {128, 10, 256}, {6, 16, 5},
                                     {1, 1, 1}, {33, 257, 9}};
  for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
    check_gemm(&dev->gemm, 0, 0, shapes[s][0], shapes[s][1], shapes[s][2], "tuned");
    check_gemm(&dev->gemm, 1, 0, shapes[s][0], shapes[s][1], shapes[s][2], "tuned");
    check_gemm(&dev->gemm, 0, 1, shapes[s][0], shapes[s][1], shapes[s][2], "tuned");
  }
  dev->gemm = before;
}

/* Untuned, a CPU runs the tiled kernels with the tile for its native
 * float vector width (POCL: 8 with AVX2, 16 with AVX-512, where the
 * float16 tiles are the fast ones); a GPU runs CLBlast. */
static void test_untuned_plan_follows_vector_width(void **state) {
  (void)state;
  fl__gemm_plan p = fl__gemm_untuned(dev);
  if (!dev->info.is_cpu) {
    assert_int_equal(p.impl, FL__GEMM_CLBLAST);
    return;
  }
  assert_int_equal(p.impl, FL__GEMM_TILED);
  cl_uint width = 0;
  assert_int_equal(clGetDeviceInfo(dev->id, CL_DEVICE_NATIVE_VECTOR_WIDTH_FLOAT,
                                   sizeof width, &width, NULL), CL_SUCCESS);
  const char *nn = fl_tune_variant_name(p.nn), *tn = fl_tune_variant_name(p.tn);
  assert_non_null(nn);
  assert_non_null(tn);
  fprintf(stderr, "# native float width %u: untuned NN %s, TN %s\n", width, nn, tn);
  /* The 32-column tiles' stand-in on narrow GEMMs (ops.c) is the one the
   * comments measured. */
  assert_string_equal(fl_tune_variant_name(FL__GEMM_VARIANT_NARROW), "12x16");
  if (width >= 16) {
    assert_string_equal(nn, "8x32p");
    assert_string_equal(tn, "12x32p");
  } else {
    assert_int_equal(p.nn, 0);
    assert_int_equal(p.tn, 0);
  }
  /* A freshly opened device starts from it. */
  fl_device *fresh = NULL;
  fl_error err = {0};
  assert_int_equal(fl_device_open(dev_index, &fresh, &err), 0);
  assert_memory_equal(&fresh->gemm, &p, sizeof p);
  fl_device_close(fresh);
}

/* The tiled variants compute every element in the same order: the same
 * bits, so the tuner's pick among them cannot change a job's results
 * (resumed jobs compare losses exactly). Also with A and B packed first
 * (pack_min_volume 0: every GEMM counts as large; the *p variants then
 * read A from pack_a_panels' copy, with edge rows in the last panel). */
static void test_tiled_variants_agree_bitwise(void **state) {
  (void)state;
  if (!dev->info.is_cpu) FL_SKIP("the tiled kernels are for CPU devices; this one is not");
  size_t keep = dev->pack_min_volume;
  for (int ta = 0; ta <= 1; ta++) {
    dev->pack_min_volume = SIZE_MAX;
    fl__gemm_plan p0 = {FL__GEMM_TILED, 0, 0};
    float *first = device_gemm(&p0, ta, 0, 77, 45, 131, 5, NULL);
    for (int packed = 0; packed <= 1; packed++) {
      dev->pack_min_volume = packed ? 0 : SIZE_MAX;
      for (int v = packed ? 0 : 1; v < FL__GEMM_NVARIANTS; v++) {
        fl__gemm_plan pv = {FL__GEMM_TILED, v, v};
        float *got = device_gemm(&pv, ta, 0, 77, 45, 131, 5, NULL);
        if (memcmp(first, got, 77 * 45 * 4) != 0)
          fail_msg("%s variant %s%s differs from %s in some bits", ta ? "TN" : "NN",
                   fl_tune_variant_name(v), packed ? " (packed)" : "",
                   fl_tune_variant_name(0));
        free(got);
      }
    }
    free(first);
  }
  dev->pack_min_volume = keep;
  /* The forward NN with its fused bias + ReLU, as the trainer runs it. */
  const size_t m = 77, n = 45, k = 131;
  float *a = malloc(m * k * 4), *b = malloc(k * n * 4), *bias = malloc(n * 4);
  lcg = 17;
  for (size_t i = 0; i < m * k; i++) a[i] = frand();
  for (size_t i = 0; i < k * n; i++) b[i] = frand();
  for (size_t i = 0; i < n; i++) bias[i] = frand();
  cl_mem da = upload(a, m * k), db = upload(b, k * n), dbias = upload(bias, n);
  float *got[FL__GEMM_NVARIANTS];
  for (int v = 0; v < FL__GEMM_NVARIANTS; v++) {
    fl__gemm_plan pv = {FL__GEMM_TILED, v, v};
    fl__gemm_fused ep = {FL__EP_BIAS_ACT, FL_ACT_RELU, dbias, 0, NULL, NULL, 0};
    cl_mem dc = upload(a, m * n); /* overwritten: beta 0 */
    fl_error err = {0};
    if (fl__op_gemm_ep_with(dev, &pv, 0, 0, m, n, k, 1.0f, da, 0, k, db, 0, n,
                            0.0f, dc, 0, n, &ep, &err))
      fail_msg("%s", err.msg);
    got[v] = malloc(m * n * 4);
    assert_int_equal(fl__buffer_read(dev, dc, 0, m * n * 4, got[v], &err), 0);
    clReleaseMemObject(dc);
    if (v > 0 && memcmp(got[0], got[v], m * n * 4) != 0)
      fail_msg("NN + bias + ReLU: variant %s differs from %s in some bits",
               fl_tune_variant_name(v), fl_tune_variant_name(0));
  }
  for (int v = 0; v < FL__GEMM_NVARIANTS; v++) free(got[v]);
  clReleaseMemObject(da), clReleaseMemObject(db), clReleaseMemObject(dbias);
  free(a), free(b), free(bias);
}

/* Parameters we hand CLBlast (a direct and an indirect set and the switch
 * between them) are accepted by name, build, and compute the product on
 * both sides of the switch. */
static void test_clblast_overrides_compute_correctly(void **state) {
  (void)state;
  static const char *tuned_text =
      "{\"format\":\"flatline-gemm-tuning\",\"version\":1,\"key\":\"%s\","
      "\"device\":\"d\",\"driver\":\"v\",\"platform\":\"p\","
      "\"plan\":{\"impl\":\"clblast\",\"nn\":\"6x16\",\"tn\":\"6x16\"},"
      "\"clblast\":{\"GemmRoutine\":{\"XGEMM_MIN_INDIRECT_SIZE\":40},"
      "\"Xgemm\":{\"GEMMK\":0,\"KREG\":1,\"KWG\":16,\"KWI\":2,\"MDIMA\":8,"
      "\"MDIMC\":8,\"MWG\":32,\"NDIMB\":8,\"NDIMC\":8,\"NWG\":32,\"SA\":0,"
      "\"SB\":0,\"STRM\":0,\"STRN\":0,\"VWM\":2,\"VWN\":2},"
      "\"XgemmDirect\":{\"KWID\":2,\"MDIMAD\":8,\"MDIMCD\":8,\"NDIMBD\":8,"
      "\"NDIMCD\":8,\"PADA\":1,\"PADB\":1,\"VWMD\":2,\"VWND\":2,\"WGD\":16}}}";
  char key[FL_TUNE_KEY_MAX], text[2048];
  fl_tune_key(dev, key, sizeof key);
  snprintf(text, sizeof text, tuned_text, key);
  fl_tune_result r;
  fl_error err = {0};
  if (fl_tune_from_json(dev, text, strlen(text), &r, &err))
    fail_msg("%s", err.msg);
  assert_int_equal(r.n_clblast, 3);
  assert_false(r.tiled);
  fl__gemm_plan before = dev->gemm;
  if (fl_tune_apply(dev, &r, &err)) fail_msg("%s", err.msg);
  assert_int_equal(dev->gemm.impl, FL__GEMM_CLBLAST);
  /* 37*23*19 < 40^3: direct; 128*64*100 > 40^3: indirect. */
  for (int ta = 0; ta <= 1; ta++)
    for (int tb = 0; tb <= 1; tb++) {
      if (ta && tb) continue;
      check_gemm(&dev->gemm, ta, tb, 37, 23, 19, "CLBlast direct, overridden");
      check_gemm(&dev->gemm, ta, tb, 128, 64, 100, "CLBlast indirect, overridden");
    }
  dev->gemm = before;
}

/* ---- the choice, on made-up timings ----
 * Shapes: a tiny NN (volume 2048), two big ones (25.7M) and a middling NT
 * (327680); times in microseconds per call. */

static void made_up(fl_tune_result *r, fl__tune_cand *sp, int n,
                    const double (*us)[4]) {
  static const fl_tune_shape shapes[4] = {{FL_TUNE_NN, 32, 16, 4, 32},
                                          {FL_TUNE_NN, 128, 256, 784, 128},
                                          {FL_TUNE_TN, 784, 256, 128, 128},
                                          {FL_TUNE_NT, 128, 256, 10, 128}};
  memset(r, 0, sizeof *r);
  r->n_shapes = 4;
  memcpy(r->shapes, shapes, sizeof shapes);
  r->n_candidates = n;
  for (int c = 0; c < n; c++) {
    snprintf(r->cand[c].name, sizeof r->cand[c].name, "c%d", c);
    for (int i = 0; i < 4; i++) {
      bool runs = sp[c].kind == FL__CAND_CLBLAST ||
                  (sp[c].kind == FL__CAND_TILED) == (shapes[i].form != FL_TUNE_NT);
      r->cand[c].seconds[i] = runs ? us[c][i] * 1e-6 : 0;
    }
  }
}

static void set_params(fl_tune_params *p, const char *kernel, size_t value) {
  memset(p, 0, sizeof *p);
  snprintf(p->kernel, sizeof p->kernel, "%s", kernel);
  p->n = 1;
  snprintf(p->name[0], sizeof p->name[0], "MARK");
  p->value[0] = value;
}

/* What a device runs untuned, for the made-up choices below (the default
 * cost is priced on it): a GPU's CLBlast, an AVX2 CPU's variant 0. */
static const fl__gemm_plan gpu_untuned = {FL__GEMM_CLBLAST, 0, 0};
static const fl__gemm_plan cpu_untuned = {FL__GEMM_TILED, 0, 0};

/* CLBlast (a GPU): the switch goes where direct stops paying, and each
 * side takes its fastest parameter set; a failed candidate never wins. */
static void test_choice_splits_direct_and_indirect(void **state) {
  (void)state;
  fl_tune_result r;
  fl__tune_cand sp[6] = {
      {.kind = FL__CAND_CLBLAST, .mode = FL__CL_OWN, .set = -1},
      {.kind = FL__CAND_CLBLAST, .mode = FL__CL_DIRECT, .set = -1},
      {.kind = FL__CAND_CLBLAST, .mode = FL__CL_INDIRECT, .set = -1},
      {.kind = FL__CAND_CLBLAST, .mode = FL__CL_DIRECT, .set = 0},
      {.kind = FL__CAND_CLBLAST, .mode = FL__CL_INDIRECT, .set = 0},
      {.kind = FL__CAND_CLBLAST, .mode = FL__CL_INDIRECT, .set = 1},
  };
  set_params(&sp[3].params, "XgemmDirect", 3);
  set_params(&sp[4].params, "Xgemm", 4);
  set_params(&sp[5].params, "Xgemm", 5);
  static const double us[6][4] = {
      {10, 100, 100, 10}, /* CLBlast's own */
      {2, 300, 300, 5},   /* forced direct */
      {20, 50, 50, 20},   /* forced indirect */
      {1, 400, 400, 3},   /* direct, our set: best on the small shapes */
      {30, 40, 45, 25},   /* indirect, our set: best on the big ones */
      {1, 1, 1, 1},       /* failed: must not count */
  };
  made_up(&r, sp, 6, us);
  r.cand[5].failed = true;
  fl__tune_choose(&r, sp, false, false, &gpu_untuned);
  assert_false(r.tiled);
  assert_int_equal(r.n_clblast, 3);
  assert_string_equal(r.clblast[0].kernel, "GemmRoutine");
  size_t t = r.clblast[0].value[0];
  /* Direct below t^3: the two small shapes, not the big ones. */
  assert_true(t * t * t > 327680 && t * t * t <= (size_t)128 * 256 * 784);
  assert_string_equal(r.clblast[1].kernel, "XgemmDirect");
  assert_int_equal(r.clblast[1].value[0], 3);
  assert_string_equal(r.clblast[2].kernel, "Xgemm");
  assert_int_equal(r.clblast[2].value[0], 4);
  assert_int_equal(r.chosen[0], 3);
  assert_int_equal(r.chosen[1], 4);
  assert_int_equal(r.chosen[2], 4);
  assert_int_equal(r.chosen[3], 3);
  double want = (1.0 / 32 + 40.0 / 128 + 45.0 / 128 + 3.0 / 128) * 1e-6;
  assert_true(fabs(r.chosen_cost - want) < 1e-12);
  assert_true(fabs(r.default_cost - (10.0 / 32 + 210.0 / 128) * 1e-6) < 1e-12);
}

/* Overrides that gain less than the margin are not worth a change:
 * CLBlast keeps its own parameters. */
static void test_choice_keeps_clblast_own_within_margin(void **state) {
  (void)state;
  fl_tune_result r;
  fl__tune_cand sp[3] = {
      {.kind = FL__CAND_CLBLAST, .mode = FL__CL_OWN, .set = -1},
      {.kind = FL__CAND_CLBLAST, .mode = FL__CL_DIRECT, .set = -1},
      {.kind = FL__CAND_CLBLAST, .mode = FL__CL_INDIRECT, .set = -1},
  };
  static const double us[3][4] = {
      {10, 100, 100, 10}, {9.8, 98, 98, 9.8}, {9.8, 98, 98, 9.8}};
  made_up(&r, sp, 3, us);
  fl__tune_choose(&r, sp, false, false, &gpu_untuned);
  assert_int_equal(r.n_clblast, 0);
  for (int i = 0; i < 4; i++) assert_int_equal(r.chosen[i], 0);
}

/* A CPU: the best tiled variant per form; CLBlast takes over only when it
 * is clearly (10%) faster than the tiled kernels. */
static void test_choice_tiled_variants_and_switch(void **state) {
  (void)state;
  fl_tune_result r;
  fl__tune_cand sp[5] = {
      {.kind = FL__CAND_TILED, .variant = 0},
      {.kind = FL__CAND_TILED, .variant = 1},
      {.kind = FL__CAND_TILED, .variant = 2},
      {.kind = FL__CAND_TILED_NT},
      {.kind = FL__CAND_CLBLAST, .mode = FL__CL_OWN, .set = -1},
  };
  /* NN shapes 0 and 1, TN shape 2, NT shape 3. Variant 1 wins NN, variant
   * 2 wins TN. Tiled total per row: 1/32 + (40 + 50 + 10)/128. */
  double us[5][4] = {
      {2, 60, 60, 0}, {1, 40, 70, 0}, {3, 70, 50, 0}, {0, 0, 0, 10}, {0}};
  double tiled_cost = 1.0 / 32 + 100.0 / 128;
  /* CLBlast 5% faster than that (a quarter on each shape, per row): not
   * enough to leave the tiled kernels. */
  for (int i = 0; i < 4; i++)
    us[4][i] = 0.95 * tiled_cost / 4 * (double)(i == 0 ? 32 : 128);
  made_up(&r, sp, 5, (const double (*)[4])us);
  fl__tune_choose(&r, sp, true, true, &cpu_untuned);
  assert_true(r.tiled);
  assert_int_equal(r.nn, 1);
  assert_int_equal(r.tn, 2);
  assert_int_equal(r.chosen[0], 1);
  assert_int_equal(r.chosen[1], 1);
  assert_int_equal(r.chosen[2], 2);
  assert_int_equal(r.chosen[3], 3);
  assert_true(fabs(r.chosen_cost - tiled_cost * 1e-6) < 1e-12);
  /* Variant 0 and the NT kernel: what the device runs untuned. */
  assert_true(fabs(r.default_cost - (2.0 / 32 + 130.0 / 128) * 1e-6) < 1e-12);

  /* An AVX-512 CPU runs other variants untuned (NN 1, TN 2 here): the
   * default cost is theirs, not variant 0's. */
  fl__gemm_plan wide = {FL__GEMM_TILED, 1, 2};
  fl__tune_choose(&r, sp, true, true, &wide);
  assert_true(fabs(r.default_cost - r.chosen_cost) < 1e-12);

  /* CLBlast at half the tiled cost: switch. */
  for (int i = 0; i < 4; i++) us[4][i] *= 0.5 / 0.95;
  made_up(&r, sp, 5, (const double (*)[4])us);
  fl__tune_choose(&r, sp, true, true, &cpu_untuned);
  assert_false(r.tiled);
  for (int i = 0; i < 4; i++) assert_int_equal(r.chosen[i], 4);
}

/* ---- the cache file ---- */

static void test_json_round_trip(void **state) {
  (void)state;
  fl_tune_result in = quick, out;
  /* A choice with every kind of CLBlast override, as a full search on a
   * GPU may save. */
  in.n_clblast = 0;
  fl_error err = {0};
  char key_text[4096];
  snprintf(key_text, sizeof key_text,
           "{\"format\":\"flatline-gemm-tuning\",\"version\":1,\"key\":\"%s\","
           "\"device\":\"d\",\"driver\":\"v\",\"platform\":\"p\",\"plan\":"
           "{\"impl\":\"clblast\",\"nn\":\"8x8\",\"tn\":\"4x16\"},\"clblast\":"
           "{\"GemmRoutine\":{\"XGEMM_MIN_INDIRECT_SIZE\":129},"
           "\"XgemmDirect\":{\"KWID\":2,\"MDIMAD\":8,\"MDIMCD\":8,\"NDIMBD\":8,"
           "\"NDIMCD\":8,\"PADA\":1,\"PADB\":1,\"VWMD\":4,\"VWND\":4,\"WGD\":32}}}",
           quick.key);
  fl_tune_result with;
  if (fl_tune_from_json(dev, key_text, strlen(key_text), &with, &err)) fail_msg("%s", err.msg);
  in.n_clblast = with.n_clblast;
  memcpy(in.clblast, with.clblast, sizeof in.clblast);
  in.nn = 1;
  in.tn = 2;

  char *json = fl_tune_to_json(&in);
  assert_non_null(json);
  if (fl_tune_from_json(dev, json, strlen(json), &out, &err)) fail_msg("%s\n%s", err.msg, json);
  assert_string_equal(out.key, in.key);
  assert_string_equal(out.device, in.device);
  assert_string_equal(out.driver, in.driver);
  assert_string_equal(out.platform, in.platform);
  assert_int_equal(out.tiled, in.tiled);
  assert_int_equal(out.nn, 1);
  assert_int_equal(out.tn, 2);
  assert_int_equal(out.quick, true);
  assert_int_equal(out.n_clblast, 2);
  for (int i = 0; i < 2; i++) {
    assert_string_equal(out.clblast[i].kernel, in.clblast[i].kernel);
    assert_int_equal(out.clblast[i].n, in.clblast[i].n);
    for (int j = 0; j < in.clblast[i].n; j++) {
      assert_string_equal(out.clblast[i].name[j], in.clblast[i].name[j]);
      assert_int_equal(out.clblast[i].value[j], in.clblast[i].value[j]);
    }
  }
  free(json);

  /* Through the cache dir: saved where the loader looks, atomically (no
   * temp file left), and read back the same. */
  char cache[128], path[4400], where[4200];
  snprintf(cache, sizeof cache, "%s/roundtrip-cache", dir);
  assert_int_equal(fl_tuning_save(cache, &in, path, sizeof path, &err), 0);
  assert_int_equal(fl_tuning_path(cache, dev, where, sizeof where, &err), 0);
  assert_string_equal(path, where);
  char cmd[512], *ls = NULL;
  snprintf(cmd, sizeof cmd, "ls -A '%s/tune'", cache);
  assert_int_equal(run_capture(cmd, &ls), 0);
  assert_null(strstr(ls, ".tmp"));
  free(ls);
  memset(&out, 0, sizeof out);
  if (fl_tuning_load(cache, dev, &out, NULL, 0, &err)) fail_msg("%s", err.msg);
  assert_int_equal(out.n_clblast, 2);
  assert_int_equal(out.nn, 1);
}

/* Files that must not be used, each with what the message must name. The
 * loader never crashes on them and never half-fills a result. */
static void test_bad_files_are_ignored(void **state) {
  (void)state;
  char head[512];
  snprintf(head, sizeof head,
           "{\"format\":\"flatline-gemm-tuning\",\"version\":1,\"key\":\"%s\","
           "\"device\":\"d\",\"driver\":\"v\",\"platform\":\"p\",", quick.key);
  /* A valid plan for this device: the tiled kernels exist for CPUs only. */
  const char *impl = dev->info.is_cpu ? "tiled" : "clblast";
  char plan_ok[128];
  snprintf(plan_ok, sizeof plan_ok,
           "\"plan\":{\"impl\":\"%s\",\"nn\":\"6x16\",\"tn\":\"8x8\"}", impl);
  static const char *xgemm_ok_but =
      "\"GEMMK\":0,\"KREG\":1,\"KWI\":2,\"MDIMA\":8,\"MDIMC\":8,\"NDIMB\":8,"
      "\"NWG\":32,\"SA\":0,\"SB\":0,\"STRM\":0,\"STRN\":0,\"VWM\":2,\"VWN\":2";
  struct {
    const char *body; /* after head, or the whole text when full */
    bool full;
    const char *msg;
  } cases[] = {
      {"", true, "empty"},
      {"not json", true, "not valid JSON"},
      {"{\"format\":\"flatline-gemm-tuning\",\"version\":1", true, "not valid JSON"},
      {"[1,2,3]", true, "format"},
      {"{\"format\":\"something-else\",\"version\":1}", true, "format"},
      {"{\"format\":\"flatline-gemm-tuning\",\"version\":2}", true, "version"},
      {"{\"format\":\"flatline-gemm-tuning\",\"version\":1,\"key\":\"gpu-00\","
       "\"device\":\"d\",\"driver\":\"v\",\"platform\":\"p\"}", true, "another device"},
      {"\"clblast\":{}}", false, "plan.impl"},
      {"\"plan\":{\"impl\":\"fast\",\"nn\":\"6x16\",\"tn\":\"6x16\"},\"clblast\":{}}",
       false, "plan.impl"},
      {"\"plan\":{\"impl\":\"@IMPL@\",\"nn\":\"7x7\",\"tn\":\"6x16\"},\"clblast\":{}}",
       false, "plan.nn"},
      {"\"plan\":{\"impl\":\"@IMPL@\",\"nn\":\"6x16\",\"tn\":3},\"clblast\":{}}",
       false, "plan.tn"},
      /* On a GPU, a plan for the CPU kernels (on a CPU: plan.nn again). */
      {"\"plan\":{\"impl\":\"tiled\",\"nn\":\"@BADNN@\",\"tn\":\"6x16\"},\"clblast\":{}}",
       false, "@WHY@"},
      {"@PLAN@,\"clblast\":[]}", false, "\"clblast\": expected an object"},
      {"@PLAN@}", false, "\"clblast\": expected an object"},
      {"@PLAN@,\"clblast\":{\"GemmRoutine\":{}}}", false, "XGEMM_MIN_INDIRECT_SIZE"},
      {"@PLAN@,\"clblast\":{\"GemmRoutine\":{\"XGEMM_MIN_INDIRECT_SIZE\":-4}}}",
       false, "XGEMM_MIN_INDIRECT_SIZE"},
      {"@PLAN@,\"clblast\":{\"GemmRoutine\":{\"XGEMM_MIN_INDIRECT_SIZE\":1.5}}}",
       false, "XGEMM_MIN_INDIRECT_SIZE"},
      {"@PLAN@,\"clblast\":{\"GemmRoutine\":{\"XGEMM_MIN_INDIRECT_SIZE\":1e300}}}",
       false, "XGEMM_MIN_INDIRECT_SIZE"},
      {"@PLAN@,\"clblast\":{\"GemmRoutine\":{\"XGEMM_MIN_INDIRECT_SIZE\":0}}}",
       false, "at least 1"},
      /* A tile that is not a multiple of its work-items x vector width. */
      {"@PLAN@,\"clblast\":{\"Xgemm\":{@XG@,\"KWG\":16,\"MWG\":24,\"NDIMC\":8}}}",
       false, "multiple"},
      /* More work-items than any device allows. */
      {"@PLAN@,\"clblast\":{\"Xgemm\":{\"GEMMK\":0,\"KREG\":1,\"KWG\":8192,"
       "\"KWI\":2,\"MDIMA\":8,\"MDIMC\":8,\"MWG\":16,\"NDIMB\":8,\"NDIMC\":8192,"
       "\"NWG\":16384,\"SA\":0,\"SB\":0,\"STRM\":0,\"STRN\":0,\"VWM\":2,"
       "\"VWN\":2}}}", false, "exceeds"},
      {"@PLAN@,\"clblast\":{\"Xgemm\":{@XG@,\"MWG\":32,\"NDIMC\":8}}}", false,
       "clblast.Xgemm.KWG"},
      {"@PLAN@,\"clblast\":{\"XgemmDirect\":{\"KWID\":2,\"MDIMAD\":8,\"MDIMCD\":8,"
       "\"NDIMBD\":8,\"NDIMCD\":8,\"PADA\":7,\"PADB\":1,\"VWMD\":2,\"VWND\":2,"
       "\"WGD\":16}}}", false, "PADA"},
      {"@PLAN@,\"clblast\":{\"XgemmDirect\":{\"KWID\":2,\"MDIMAD\":8,\"MDIMCD\":8,"
       "\"NDIMBD\":8,\"NDIMCD\":8,\"PADA\":1,\"PADB\":1,\"VWMD\":3,\"VWND\":2,"
       "\"WGD\":24}}}", false, "vector widths"},
  };
  fl_error err = {0};
  fl_tune_result r;
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char text[4096], body[2048];
    /* @PLAN@, @XG@ and @IMPL@ stand for valid parts, to keep the corpus
     * readable; @BADNN@/@WHY@ make the last plan case fit the device. */
    const char *src = cases[i].body;
    const char *want = strcmp(cases[i].msg, "@WHY@") != 0 ? cases[i].msg
                       : dev->info.is_cpu               ? "plan.nn"
                                                        : "for CPU devices";
    size_t at = 0;
    for (const char *p = src; *p && at < sizeof body - 256;) {
      if (strncmp(p, "@IMPL@", 6) == 0) {
        at += (size_t)snprintf(body + at, sizeof body - at, "%s", impl);
        p += 6;
      } else if (strncmp(p, "@BADNN@", 7) == 0) {
        at += (size_t)snprintf(body + at, sizeof body - at, "%s",
                               dev->info.is_cpu ? "5x5" : "6x16");
        p += 7;
      } else if (strncmp(p, "@PLAN@", 6) == 0) {
        at += (size_t)snprintf(body + at, sizeof body - at, "%s", plan_ok);
        p += 6;
      } else if (strncmp(p, "@XG@", 4) == 0) {
        at += (size_t)snprintf(body + at, sizeof body - at, "%s", xgemm_ok_but);
        p += 4;
      } else {
        body[at++] = *p++;
      }
    }
    body[at] = '\0';
    snprintf(text, sizeof text, "%s%s", cases[i].full ? "" : head, body);
    memset(&r, 0x5a, sizeof r);
    memset(&err, 0, sizeof err);
    int rc = fl_tune_from_json(dev, text, strlen(text), &r, &err);
    if (rc == 0) fail_msg("case %zu accepted: %s", i, text);
    if (!strstr(err.msg, want))
      fail_msg("case %zu: message \"%s\" does not name \"%s\" (%s)", i, err.msg,
               want, text);
    assert_int_equal(r.n_clblast, 0); /* nothing half-filled */
  }

  /* Through the cache dir: a missing file is FL_ENOTFOUND (no message
   * worth logging), a wrong one an error naming the file, and the runner's
   * helper applies neither. */
  char cache[128], path[4200];
  snprintf(cache, sizeof cache, "%s/bad-cache", dir);
  assert_int_equal(fl_tuning_load(cache, dev, &r, path, sizeof path, &err), FL_ENOTFOUND);
  char tune_dir[256];
  snprintf(tune_dir, sizeof tune_dir, "%s/tune", cache);
  mkdir(cache, 0750);
  mkdir(tune_dir, 0750);
  write_text(path, "{\"format\":\"flatline-gemm-tuning\",\"version\":1,\"key\":\"x\","
                   "\"device\":\"d\",\"driver\":\"v\",\"platform\":\"p\"}");
  int rc = fl_tuning_load(cache, dev, &r, NULL, 0, &err);
  assert_true(rc != 0 && rc != FL_ENOTFOUND);
  assert_non_null(strstr(err.msg, path));
  assert_non_null(strstr(err.msg, "another device"));
  fl__gemm_plan before = dev->gemm;
  char *note_buf = NULL;
  size_t note_len = 0;
  FILE *note = open_memstream(&note_buf, &note_len);
  assert_false(fl_tuning_use_saved(cache, dev, note));
  fclose(note);
  assert_non_null(strstr(note_buf, "ignoring the GEMM tuning"));
  free(note_buf);
  assert_memory_equal(&dev->gemm, &before, sizeof before);
}

/* ---- the config key ---- */

static void test_autotune_config_key(void **state) {
  (void)state;
  char path[256];
  snprintf(path, sizeof path, "%s/flatlined.conf", dir);
  fl_limits l;
  fl_limits_default(&l);
  assert_true(l.autotune);
  fl_error err = {0};
  write_text(path, "# tuning is done by hand here\nautotune = false\n");
  assert_int_equal(fl_config_load(path, &l, &err), 0);
  assert_false(l.autotune);
  write_text(path, "autotune=true\n");
  assert_int_equal(fl_config_load(path, &l, &err), 0);
  assert_true(l.autotune);
  write_text(path, "autotune = yes\n");
  assert_int_not_equal(fl_config_load(path, &l, &err), 0);
  assert_non_null(strstr(err.msg, "autotune: expected true or false"));
  assert_true(l.autotune); /* a bad file changes nothing */
}

/* ---- end to end ---- */

static const char *spec_text =
    "{\"name\": \"tiny\", \"data\": {\"train\": {\"csv\": \"tiny.csv\", "
    "\"label_columns\": [\"label\"]}}, \"model\": {\"layers\": [{\"type\": "
    "\"dense\", \"units\": 16, \"activation\": \"relu\"}, {\"type\": \"dense\", "
    "\"units\": 3, \"activation\": \"softmax\"}]}, \"loss\": "
    "\"sparse_categorical_crossentropy\", \"optimizer\": \"adam\", "
    "\"epochs\": 1, \"batch_size\": 32, \"seed\": 3}";

static void write_tiny_job(void) {
  char path[256];
  snprintf(path, sizeof path, "%s/tiny.json", dir);
  write_text(path, spec_text);
  snprintf(path, sizeof path, "%s/tiny.csv", dir);
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fprintf(f, "a,b,c,d,label\n");
  for (int r = 0; r < 96; r++)
    fprintf(f, "%d,%d,%d,%d,%d\n", r % 3 == 0, r % 3 == 1, r % 3 == 2, r % 5, r % 3);
  fclose(f);
}

/* `flatlined --tune --quick` prints the table and writes the file; `--run`
 * with the same cache dir uses it (and says so), and a damaged file is
 * reported and passed over without failing the run. */
static void test_tune_command_then_run_uses_it(void **state) {
  (void)state;
  char cmd[1024], *out = NULL, cache[128], path[4200];
  snprintf(cache, sizeof cache, "%s/cli-cache", dir);
  const char *sel = getenv("FL_TEST_DEVICE") ? getenv("FL_TEST_DEVICE") : "auto";
  snprintf(cmd, sizeof cmd, "'%s' --tune --quick --device '%s' --cache-dir '%s' 2>&1",
           FLATLINED, sel, cache);
  double t0 = now();
  int status = run_capture(cmd, &out);
  if (status != 0) fail_msg("flatlined --tune exited %d:\n%s", status, out);
  fprintf(stderr, "# flatlined --tune --quick: %.1f s\n", now() - t0);
  assert_non_null(strstr(out, "chosen"));   /* the table's last column */
  assert_non_null(strstr(out, "GFLOP/s"));
  assert_non_null(strstr(out, "choice: "));
  assert_int_equal(fl_tuning_path(cache, dev, path, sizeof path, NULL), 0);
  char saved_line[4300];
  snprintf(saved_line, sizeof saved_line, "saved %s", path);
  assert_non_null(strstr(out, saved_line));
  free(out);
  fl_tune_result r;
  fl_error err = {0};
  if (fl_tuning_load(cache, dev, &r, NULL, 0, &err)) fail_msg("%s", err.msg);

  write_tiny_job();
  snprintf(cmd, sizeof cmd, "cd '%s' && '%s' --run tiny.json --cache-dir '%s' 2>&1",
           dir, FLATLINED, cache);
  status = run_capture(cmd, &out);
  if (status != 0) fail_msg("--run exited %d:\n%s", status, out);
  if (!strstr(out, "\n  GEMM tuning: ") || !strstr(out, path))
    fail_msg("--run did not use %s:\n%s", path, out);
  free(out);

  write_text(path, "{\"format\": \"flatline-gemm-tuning\", \"version\": 1, \"key\"");
  status = run_capture(cmd, &out);
  if (status != 0) fail_msg("--run exited %d with a damaged tuning file:\n%s", status, out);
  assert_non_null(strstr(out, "ignoring the GEMM tuning"));
  assert_null(strstr(out, "\n  GEMM tuning: "));
  free(out);
}

/* The service tunes a device it has no tuning for, in the background of
 * its start (it listens meanwhile), keeps the result in its cache dir, and
 * loads it at the next start instead of searching again. The log lines
 * looked for are the device under test's: on a machine with several
 * devices (a GPU and POCL), each is tuned by its own thread, and one the
 * first round stopped before it finished is rightly tuned in the second. */
static void test_service_tunes_on_first_use(void **state) {
  (void)state;
  char cache[128], sock[128], state_dir[128], log[128], path[4200];
  snprintf(cache, sizeof cache, "%s/svc-cache", dir);
  snprintf(sock, sizeof sock, "%s/svc.sock", dir);
  snprintf(state_dir, sizeof state_dir, "%s/svc-state", dir);
  snprintf(log, sizeof log, "%s/svc.log", dir);
  assert_int_equal(fl_tuning_path(cache, dev, path, sizeof path, NULL), 0);
  for (int round = 0; round < 2; round++) {
    unlink(log);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
      int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
      dup2(fd, 1);
      dup2(fd, 2);
      /* The service would keep POCL's compiled kernels under the fresh
       * cache dir, and compile everything anew there; under LeakSanitizer
       * POCL's LLVM leaks when it compiles, which would fail the tuner
       * child at its exit. POCL's usual cache is warm from this process. */
      const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
      char pocl[512];
      if (xdg && *xdg) snprintf(pocl, sizeof pocl, "%s/pocl/kcache", xdg);
      else snprintf(pocl, sizeof pocl, "%s/.cache/pocl/kcache", home ? home : "/tmp");
      setenv("POCL_CACHE_DIR", pocl, 0);
      execl(FLATLINED, FLATLINED, "--socket", sock, "--state-dir", state_dir,
            "--cache-dir", cache, "--config", "/dev/null", (char *)NULL);
      _exit(127);
    }
    char want[96], failed[96], searching[96];
    snprintf(want, sizeof want, "device %d: GEMM tuning %s", dev_index,
             round == 0 ? "done" : "loaded");
    snprintf(failed, sizeof failed, "device %d: GEMM tuning failed", dev_index);
    snprintf(searching, sizeof searching, "device %d: tuning GEMMs (quick search",
             dev_index);
    char *text = NULL;
    for (int i = 0; i < 600; i++) { /* up to 60 s */
      free(text);
      text = read_text(log);
      if (text && (strstr(text, want) || strstr(text, failed))) break;
      usleep(100000);
    }
    kill(pid, SIGTERM);
    int status = 0;
    waitpid(pid, &status, 0);
    if (!text || !strstr(text, want))
      fail_msg("round %d: no \"%s\" in the log:\n%s", round, want, text ? text : "");
    if (round == 0) assert_non_null(strstr(text, searching));
    else assert_null(strstr(text, searching));
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    free(text);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_quick_search_result),
      cmocka_unit_test(test_chosen_plan_matches_reference),
      cmocka_unit_test(test_untuned_plan_follows_vector_width),
      cmocka_unit_test(test_tiled_variants_agree_bitwise),
      cmocka_unit_test(test_choice_splits_direct_and_indirect),
      cmocka_unit_test(test_choice_keeps_clblast_own_within_margin),
      cmocka_unit_test(test_choice_tiled_variants_and_switch),
      cmocka_unit_test(test_json_round_trip),
      cmocka_unit_test(test_bad_files_are_ignored),
      cmocka_unit_test(test_autotune_config_key),
      cmocka_unit_test(test_tune_command_then_run_uses_it),
      cmocka_unit_test(test_service_tunes_on_first_use),
      /* Last: CLBlast keeps overrides for the rest of the process. */
      cmocka_unit_test(test_clblast_overrides_compute_correctly),
  };
  return FL_TEST_EXIT(cmocka_run_group_tests(tests, setup, teardown));
}
