/* daemon/main.c — flatlined's command line: the service (default), the
 * foreground runner (--run), the device list (--devices) and GEMM tuning
 * (--tune). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flatline/engine.h"
#include "runner.h"
#include "service.h"
#include "tuning.h"

static void usage(FILE *f) {
  fprintf(f,
          "usage: flatlined [--socket PATH] [--state-dir DIR] [--cache-dir DIR]\n"
          "                 [--config FILE] [--socket-mode MODE] [--socket-group GROUP]\n"
          "       flatlined --run SPEC.json [--json] [--profile] [--cache-dir DIR]\n"
          "       flatlined --devices\n"
          "       flatlined --tune [--device SEL] [--cache-dir DIR] [--quick]\n"
          "\n"
          "Without --run, flatlined is the training service: it owns the OpenCL\n"
          "devices, listens on a Unix socket for `flatline` clients, queues and\n"
          "trains their jobs. It runs in the foreground and logs to stderr with\n"
          "journald priority prefixes; under systemd it takes its socket from\n"
          "socket activation and reports READY/STATUS/WATCHDOG.\n"
          "\n"
          "  --socket PATH        socket to bind (default /run/flatline.sock)\n"
          "  --state-dir DIR      jobs and uploaded data (default $STATE_DIRECTORY\n"
          "                       or /var/lib/flatline)\n"
          "  --cache-dir DIR      compiled kernels and GEMM tuning (default\n"
          "                       $CACHE_DIRECTORY or /var/cache/flatline); also\n"
          "                       where --run and --tune look\n"
          "  --config FILE        limits, see flatlined(8) (default\n"
          "                       /etc/flatline/flatlined.conf when it exists;\n"
          "                       --config /dev/null: none)\n"
          "  --socket-mode MODE   octal mode of a socket we bind (default 0660)\n"
          "  --socket-group NAME  group of a socket we bind (default: unchanged)\n"
          "  --run SPEC           train the job of SPEC in the foreground, one line\n"
          "                       per epoch; data paths are relative to SPEC\n"
          "  --json               with --run: print the events as JSON lines\n"
          "  --profile            with --run: time every device op (OpenCL event\n"
          "                       profiling) and print where the time went\n"
          "  --devices            list the OpenCL devices flatline can use\n"
          "  --tune               time the ways of running GEMMs on a device (CLBlast\n"
          "                       parameters, direct/indirect switch, flatline's\n"
          "                       tiled kernels on CPUs), print a table, save the\n"
          "                       choice in the cache dir (tune/); the service and\n"
          "                       --run use it. The service runs a --quick search by\n"
          "                       itself on first use of a device and driver\n"
          "  --device SEL         with --tune: auto (default), an index from --devices,\n"
          "                       or part of a name\n"
          "  --quick              with --tune: fewer shapes and candidates (seconds)\n"
          "  --help               this text\n"
          "\n"
          "Signals: SIGTERM/SIGINT stop (running jobs resume from their last epoch\n"
          "checkpoint at the next start), SIGHUP reloads the config file.\n"
          "Exit status: 0 done, 1 failed or rejected (--run) or a startup error,\n"
          "2 usage error, 3 done with a diagnosed problem (--run).\n");
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
  const char *spec = NULL, *tune_device = NULL;
  bool tune = false, quick = false;
  fl_run_options run = {0};
  fl_service_options opt = {.socket_mode = 0660};
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    bool has_value = i + 1 < argc;
    if (strcmp(a, "--run") == 0 && has_value) spec = argv[++i];
    else if (strcmp(a, "--json") == 0) run.json = true;
    else if (strcmp(a, "--profile") == 0) run.profile = true;
    else if (strcmp(a, "--devices") == 0) return list_devices();
    else if (strcmp(a, "--tune") == 0) tune = true;
    else if (strcmp(a, "--quick") == 0) quick = true;
    else if (strcmp(a, "--device") == 0 && has_value) tune_device = argv[++i];
    else if (strcmp(a, "--socket") == 0 && has_value) opt.socket_path = argv[++i];
    else if (strcmp(a, "--state-dir") == 0 && has_value) opt.state_dir = argv[++i];
    else if (strcmp(a, "--cache-dir") == 0 && has_value) opt.cache_dir = argv[++i];
    else if (strcmp(a, "--config") == 0 && has_value) opt.config_path = argv[++i];
    else if (strcmp(a, "--socket-group") == 0 && has_value) opt.socket_group = argv[++i];
    else if (strcmp(a, "--socket-mode") == 0 && has_value) {
      char *end = NULL;
      unsigned long m = strtoul(argv[++i], &end, 8);
      if (!*argv[i] || *end || m > 0777) {
        fprintf(stderr, "flatlined: --socket-mode: expected an octal mode like 0660, got '%s'\n", argv[i]);
        return 2;
      }
      opt.socket_mode = (unsigned)m;
    } else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
      usage(stdout);
      return 0;
    } else {
      fprintf(stderr, "flatlined: unknown or incomplete option '%s'\n", a);
      usage(stderr);
      return 2;
    }
  }
  if (tune && spec) {
    fprintf(stderr, "flatlined: --tune and --run do not go together\n");
    return 2;
  }
  if (!tune && (tune_device || quick)) {
    fprintf(stderr, "flatlined: --device and --quick go with --tune\n");
    return 2;
  }
  if (tune) return fl_tune_command(tune_device, opt.cache_dir, quick, stdout, stderr);
  run.cache_dir = opt.cache_dir;
  if (spec) return fl_run_foreground(spec, &run, stdout, stderr);
  if (strlen(opt.socket_path ? opt.socket_path : "") >= 108) {
    fprintf(stderr, "flatlined: --socket path is longer than a Unix socket allows (107 bytes)\n");
    return 2;
  }
  return fl_service_run(&opt);
}
