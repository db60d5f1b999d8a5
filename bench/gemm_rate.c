/* bench/gemm_rate.c — GFLOP/s of the device's GEMMs on the exact shapes the
 * benchmark jobs issue (784-256-10 and 784-512-256-10 at batch 32/128/512:
 * forward NN, weight-gradient TN, input-gradient NT), so the training
 * figures can be read against the machine's own GEMM rate (bench/run.sh
 * prints numpy's, i.e. OpenBLAS's, on the same shapes next to these).
 *
 * usage: fl_gemm_rate [--tuning FILE] [DEVICE]
 *   DEVICE          default "auto"
 *   --tuning FILE   a saved tuning (<cache>/tune/<key>.json, written by
 *                   `flatlined --tune`) put into effect first, as --run does
 *   FL_GEMM_PLAN=clblast forces CLBlast instead of the device's plan */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine_internal.h"

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
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
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--tuning") == 0 && i + 1 < argc) {
      tuning = argv[++i];
    } else if (argv[i][0] != '-') {
      sel = argv[i];
    } else {
      fprintf(stderr, "usage: fl_gemm_rate [--tuning FILE] [DEVICE]\n");
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
         plan.impl == FL__GEMM_TILED ? "tiled" : "CLBlast");
  printf("%-4s %5s %5s %5s %10s %9s\n", "form", "m", "n", "k", "us/call", "GFLOP/s");
  for (size_t bi = 0; bi < sizeof batches / sizeof *batches; bi++)
    for (size_t li = 0; li < sizeof layers / sizeof *layers; li++)
      for (int form = 0; form < 3; form++) {
        size_t B = batches[bi], in = layers[li][0], out = layers[li][1];
        /* NN (B, out, in); TN (in, out, B); NT (B, in, out) */
        size_t m = form == 1 ? in : B, nn = form == 2 ? in : out,
               k = form == 0 ? in : form == 1 ? B : out;
        int ta = form == 1, tb = form == 2;
        size_t lda = ta ? m : k, ldb = tb ? k : nn;
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
