/* bench/gemm_rate.c — GFLOP/s of the device's GEMMs on the exact shapes the
 * benchmark jobs issue (784-256-10 and 784-512-256-10 at batch 32/128/512:
 * forward NN, weight-gradient TN, input-gradient NT), so the training
 * figures can be read against the machine's own GEMM rate (bench/run.sh
 * prints numpy's, i.e. OpenBLAS's, on the same shapes next to these).
 *
 * usage: fl_gemm_rate [DEVICE]   (default "auto"; FL_GEMM_PLAN=clblast
 * forces CLBlast instead of the device's default plan) */
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

int main(int argc, char **argv) {
  fl_error err = {0};
  fl_device_info infos[FL_MAX_DEVICES];
  fl_device *dev = NULL;
  int n = fl_devices_list(infos, FL_MAX_DEVICES, &err), idx;
  if (n <= 0 || fl_device_resolve(infos, n, argc > 1 ? argv[1] : "auto", &idx, &err) ||
      fl_device_open(idx, &dev, &err)) {
    fprintf(stderr, "fl_gemm_rate: %s\n", err.msg[0] ? err.msg : "no OpenCL device");
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
