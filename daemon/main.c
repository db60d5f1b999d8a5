/* daemon/main.c — flatlined's command line. For now the foreground runner
 * (`--run SPEC`) and `--devices`; the socket service arrives with the
 * daemon issue. */
#include <stdio.h>
#include <string.h>

#include "flatline/engine.h"
#include "runner.h"

static void usage(FILE *f) {
  fprintf(f,
          "usage: flatlined --run SPEC.json [--json]\n"
          "       flatlined --devices\n"
          "\n"
          "  --run SPEC   train the job described by SPEC (DESIGN.md job spec)\n"
          "               in the foreground, one line per epoch; data paths are\n"
          "               relative to the spec's folder\n"
          "  --json       print the epoch and end events as JSON lines\n"
          "  --devices    list the OpenCL devices flatline can use\n"
          "  --help       this text\n"
          "\n"
          "Exit status: 0 done, 1 failed or rejected, 2 usage error.\n");
}

static int list_devices(void) {
  fl_device_info devs[FL_MAX_DEVICES];
  fl_error err = {0};
  int n = fl_devices_list(devs, FL_MAX_DEVICES, &err);
  if (n < 0) {
    fprintf(stderr, "flatlined: %s\n", err.msg);
    return 1;
  }
  if (n == 0) {
    fprintf(stderr, "flatlined: no OpenCL device found; install a driver "
            "(apt-get install pocl-opencl-icd for the CPU)\n");
    return 1;
  }
  int pick = -1;
  fl_device_resolve(devs, n, "auto", &pick, &err);
  for (int i = 0; i < n; i++)
    printf("%d%s %-4s %8.0f MiB  %s (%s)\n", i, i == pick ? "*" : " ",
           devs[i].is_gpu ? "GPU" : devs[i].is_cpu ? "CPU" : "ACC",
           devs[i].global_mem / 1048576.0, devs[i].name, devs[i].platform);
  return 0;
}

int main(int argc, char **argv) {
  const char *spec = NULL;
  bool json = false;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--run") == 0 && i + 1 < argc) {
      spec = argv[++i];
    } else if (strcmp(argv[i], "--json") == 0) {
      json = true;
    } else if (strcmp(argv[i], "--devices") == 0) {
      return list_devices();
    } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
      usage(stdout);
      return 0;
    } else {
      fprintf(stderr, "flatlined: unknown or incomplete option '%s'\n", argv[i]);
      usage(stderr);
      return 2;
    }
  }
  if (!spec) {
    usage(stderr);
    return 2;
  }
  return fl_run_foreground(spec, json, stdout, stderr);
}
