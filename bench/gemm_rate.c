/* bench/gemm_rate.c — GFLOP/s of the device's GEMMs on the exact shapes the
 * benchmark jobs issue (784-256-10 and 784-512-256-10 at batch 32/128/512:
 * forward NN, weight-gradient TN, input-gradient NT), so the training
 * figures can be read against the machine's own GEMM rate (bench/run.sh
 * prints numpy's, i.e. OpenBLAS's, on the same shapes next to these).
 *
 * usage: fl_gemm_rate [--tuning FILE] [--variants V,V,... [--batch B]
 *                     [--rounds R]] [DEVICE]
 *   DEVICE          default "auto"
 *   --tuning FILE   a saved tuning (<cache>/tune/<key>.json, written by
 *                   `flatlined --tune`) put into effect first, as --run does
 *   --variants LIST the tiled variants named (FL_GEMM_VARIANTS: 8x32,12x32,
 *                   ...) compared on each shape, one column each: R rounds
 *                   (default 9) in which every variant runs ~40 ms of calls,
 *                   in turn, the order rotating; the median per-call time
 *                   of each. Interleaved so that load from elsewhere on a
 *                   shared machine falls on all alike. --batch B: only the
 *                   shapes of batch B.
 *   FL_GEMM_PLAN=clblast forces CLBlast instead of the device's plan */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine_internal.h"

static int cmp_double(const void *x, const void *y) {
  double a = *(const double *)x, b = *(const double *)y;
  return (a > b) - (a < b);
}

#define MAX_COMPARE 8
#define MAX_ROUNDS 31

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* One shape, variants[0 .. nv) in turn for `rounds` rounds (the order
 * rotating; ~40 ms of calls each per round); prints the median GFLOP/s of
 * each. */
static int compare_variants(fl_device *dev, const int *variants, int nv,
                            int rounds, int ta, int tb, size_t m, size_t n,
                            size_t k, cl_mem a, cl_mem b, cl_mem c, fl_error *err) {
  size_t lda = ta ? m : k, ldb = tb ? k : n;
  double t[MAX_COMPARE][MAX_ROUNDS]; /* seconds per call, variant by round */
  int inner[MAX_COMPARE];
  for (int q = 0; q < nv; q++) {
    fl__gemm_plan p = {FL__GEMM_TILED, variants[q], variants[q]};
    double s0 = 0;
    for (int w = 0; w < 3; w++) { /* compile, warm, time one */
      if (w == 2) s0 = now();
      if (fl__op_gemm_with(dev, &p, ta, tb, m, n, k, 1.0f, a, 0, lda, b, 0, ldb,
                           0.0f, c, 0, n, err))
        return err->code;
      clFinish(dev->queue);
    }
    double one = now() - s0;
    inner[q] = one >= 0.04 ? 1 : (int)(0.04 / (one > 1e-7 ? one : 1e-7)) + 1;
  }
  for (int r = 0; r < rounds; r++)
    for (int i = 0; i < nv; i++) {
      int q = (i + r) % nv;
      fl__gemm_plan p = {FL__GEMM_TILED, variants[q], variants[q]};
      double s0 = now();
      for (int j = 0; j < inner[q]; j++)
        if (fl__op_gemm_with(dev, &p, ta, tb, m, n, k, 1.0f, a, 0, lda, b, 0, ldb,
                             0.0f, c, 0, n, err))
          return err->code;
      clFinish(dev->queue);
      t[q][r] = (now() - s0) / inner[q];
    }
  printf("%-4s %5zu %5zu %5zu", ta ? "TN" : tb ? "NT" : "NN", m, n, k);
  for (int q = 0; q < nv; q++) {
    qsort(t[q], (size_t)rounds, sizeof t[q][0], cmp_double);
    printf(" %9.1f", 2.0 * (double)(m * n * k) / t[q][rounds / 2] / 1e9);
  }
  printf("\n");
  fflush(stdout);
  return 0;
}

/* Puts the tuning saved in `path` into effect on `dev`, as --run does. */
static int apply_tuning(fl_device *dev, const char *path, fl_error *err) {
  FILE *f = fopen(path, "rb");
  if (!f) return fl_error_set(err, FL_EIO, "cannot open %s", path);
  static char text[256 * 1024]; /* a tuning file holds a few kilobytes */
  size_t len = fread(text, 1, sizeof text, f);
  fclose(f);
  fl_tune_result *r = malloc(sizeof *r);
  if (!r) return fl_error_set(err, FL_ENOMEM, "out of memory");
  int rc = fl_tune_from_json(dev, text, len, r, err);
  if (!rc) rc = fl_tune_apply(dev, r, err);
  if (!rc) {
    char what[256];
    fl_tune_describe(r, what, sizeof what);
    printf("tuning: %s (%s)\n", what, path);
  }
  free(r);
  return rc;
}

int main(int argc, char **argv) {
  fl_error err = {0};
  fl_device_info infos[FL_MAX_DEVICES];
  fl_device *dev = NULL;
  const char *tuning = NULL, *sel = "auto";
  int variants[MAX_COMPARE], nv = 0, rounds = 9;
  size_t only_batch = 0;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--tuning") == 0 && i + 1 < argc) {
      tuning = argv[++i];
    } else if (strcmp(argv[i], "--variants") == 0 && i + 1 < argc) {
      char list[256];
      snprintf(list, sizeof list, "%s", argv[++i]);
      for (char *t = strtok(list, ","); t; t = strtok(NULL, ",")) {
        int v = 0;
        while (fl_tune_variant_name(v) && strcmp(fl_tune_variant_name(v), t)) v++;
        if (!fl_tune_variant_name(v) || nv == MAX_COMPARE) {
          fprintf(stderr, "fl_gemm_rate: unknown variant %s (or too many)\n", t);
          return 2;
        }
        variants[nv++] = v;
      }
    } else if (strcmp(argv[i], "--batch") == 0 && i + 1 < argc) {
      only_batch = (size_t)strtoul(argv[++i], NULL, 10);
    } else if (strcmp(argv[i], "--rounds") == 0 && i + 1 < argc) {
      rounds = atoi(argv[++i]);
      if (rounds < 1 || rounds > MAX_ROUNDS) rounds = 9;
    } else if (argv[i][0] != '-') {
      sel = argv[i];
    } else {
      fprintf(stderr, "usage: fl_gemm_rate [--tuning FILE] [--variants V,V,... "
                      "[--batch B] [--rounds R]] [DEVICE]\n");
      return 2;
    }
  }
  int n = fl_devices_list(infos, FL_MAX_DEVICES, &err), idx;
  if (n <= 0 || fl_device_resolve(infos, n, sel, &idx, &err) ||
      fl_device_open(idx, &dev, &err)) {
    fprintf(stderr, "fl_gemm_rate: %s\n", err.msg[0] ? err.msg : "no OpenCL device");
    return 1;
  }
  if (tuning && apply_tuning(dev, tuning, &err)) {
    fprintf(stderr, "fl_gemm_rate: %s\n", err.msg);
    return 1;
  }
  fl__gemm_plan plan = dev->gemm;
  const char *force = getenv("FL_GEMM_PLAN");
  if (force && strcmp(force, "clblast") == 0) plan.impl = FL__GEMM_CLBLAST;
  static const size_t layers[][2] = {{784, 256}, {256, 10}, {784, 512}, {512, 256}};
  static const size_t batches[] = {32, 128, 512};
  size_t maxel = 784 * 512 * 2;
  float *host = malloc(maxel * sizeof *host);
  for (size_t i = 0; i < maxel; i++) host[i] = (float)((i * 7919) % 1000) / 1000.0f - 0.5f;
  cl_mem a, b, c;
  if (fl__buffer_create(dev, maxel * 4, host, &a, &err) ||
      fl__buffer_create(dev, maxel * 4, host, &b, &err) ||
      fl__buffer_create(dev, maxel * 4, NULL, &c, &err)) {
    fprintf(stderr, "fl_gemm_rate: %s\n", err.msg);
    return 1;
  }
  printf("device: %s; plan: %s\n", dev->info.name,
         nv ? "tiled variants compared (GFLOP/s, medians)"
            : plan.impl == FL__GEMM_TILED ? "tiled" : "CLBlast");
  if (nv) {
    printf("%-4s %5s %5s %5s", "form", "m", "n", "k");
    for (int v = 0; v < nv; v++) printf(" %9s", fl_tune_variant_name(variants[v]));
    printf("\n");
  } else {
    printf("%-4s %5s %5s %5s %10s %9s\n", "form", "m", "n", "k", "us/call", "GFLOP/s");
  }
  for (size_t bi = 0; bi < sizeof batches / sizeof *batches; bi++)
    for (size_t li = 0; li < sizeof layers / sizeof *layers; li++)
      for (int form = 0; form < 3; form++) {
        size_t B = batches[bi], in = layers[li][0], out = layers[li][1];
        if (only_batch && B != only_batch) continue;
        /* NN (B, out, in); TN (in, out, B); NT (B, in, out) */
        size_t m = form == 1 ? in : B, nn = form == 2 ? in : out,
               k = form == 0 ? in : form == 1 ? B : out;
        int ta = form == 1, tb = form == 2;
        size_t lda = ta ? m : k, ldb = tb ? k : nn;
        if (nv) {
          if (compare_variants(dev, variants, nv, rounds, ta, tb, m, nn, k, a, b, c,
                               &err)) {
            fprintf(stderr, "fl_gemm_rate: %s\n", err.msg);
            return 1;
          }
          continue;
        }
        int reps = 0;
        double t0 = 0, el = 0;
        for (int r = -2; el < 0.2 || reps < 5; r++) {
          if (r == 0) {
            clFinish(dev->queue);
            t0 = now();
          }
          if (fl__op_gemm_with(dev, &plan, ta, tb, m, nn, k, 1.0f, a, 0, lda, b, 0,
                               ldb, 0.0f, c, 0, nn, &err)) {
            fprintf(stderr, "fl_gemm_rate: %s\n", err.msg);
            return 1;
          }
          if (r >= 0) {
            reps++;
            if (reps % 5 == 0) {
              clFinish(dev->queue);
              el = now() - t0;
            }
          }
        }
        clFinish(dev->queue);
        el = now() - t0;
        double per = el / reps;
        printf("%-4s %5zu %5zu %5zu %10.1f %9.1f\n", form == 0 ? "NN" : form == 1 ? "TN" : "NT",
               m, nn, k, per * 1e6, 2.0 * (double)(m * nn * k) / per / 1e9);
      }
  fl__buffer_release(&a);
  fl__buffer_release(&b);
  fl__buffer_release(&c);
  free(host);
  fl_device_close(dev);
  return 0;
}
