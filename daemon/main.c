/* daemon/main.c — flatlined's command line: the service (default), the
 * foreground runner (--run), the device list (--devices) and GEMM tuning
 * (--tune). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flatline/engine.h"
#include "flatline/protocol.h"
#include "runner.h"
#include "service.h"
#include "tuning.h"

static void usage(FILE *f) {
  fprintf(f,
          "usage: flatlined [--socket PATH] [--state-dir DIR] [--cache-dir DIR]\n"
          "                 [--config FILE] [--socket-mode MODE] [--socket-group GROUP]\n"
          "       flatlined --run SPEC.json [--json] [--profile] [--cache-dir DIR]\n"
          "                 [--job-dir DIR]\n"
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
          "  --job-dir DIR        with --run: keep the job's files in DIR (created,\n"
          "                       mode 0700) as the service keeps them: spec,\n"
          "                       events log, per-epoch checkpoint, model. Run the\n"
          "                       same command again to resume from the last epoch;\n"
          "                       SIGTERM, SIGINT or SIGUSR1 stop with the state\n"
          "                       saved (exit 75), SIGUSR2 cancels\n"
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
          "  --version            the version and the protocol it speaks\n"
          "  --help               this text\n"
          "\n"
          "Signals: SIGTERM/SIGINT stop (running jobs resume from their last epoch\n"
          "checkpoint at the next start), SIGHUP reloads the config file.\n"
          "Exit status: 0 done, 1 failed or rejected (--run) or a startup error,\n"
          "2 usage error, 3 done with a diagnosed problem (--run), 75 stopped by\n"
          "a signal with its state saved in --job-dir (run it again to resume).\n");
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

enum { OPT_RUN = 256, OPT_JSON, OPT_PROFILE, OPT_DEVICES, OPT_TUNE, OPT_QUICK,
       OPT_DEVICE, OPT_SOCKET, OPT_STATE_DIR, OPT_CACHE_DIR, OPT_CONFIG,
       OPT_SOCKET_GROUP, OPT_SOCKET_MODE, OPT_VERSION, OPT_JOB_DIR };

static const struct option long_options[] = {
    {"run", required_argument, NULL, OPT_RUN},
    {"json", no_argument, NULL, OPT_JSON},
    {"profile", no_argument, NULL, OPT_PROFILE},
    {"devices", no_argument, NULL, OPT_DEVICES},
    {"tune", no_argument, NULL, OPT_TUNE},
    {"quick", no_argument, NULL, OPT_QUICK},
    {"device", required_argument, NULL, OPT_DEVICE},
    {"socket", required_argument, NULL, OPT_SOCKET},
    {"state-dir", required_argument, NULL, OPT_STATE_DIR},
    {"cache-dir", required_argument, NULL, OPT_CACHE_DIR},
    {"config", required_argument, NULL, OPT_CONFIG},
    {"socket-group", required_argument, NULL, OPT_SOCKET_GROUP},
    {"socket-mode", required_argument, NULL, OPT_SOCKET_MODE},
    {"version", no_argument, NULL, OPT_VERSION},
    {"job-dir", required_argument, NULL, OPT_JOB_DIR},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

/* One line naming the mistake, never the whole usage (issue 14). */
static int usage_error(const char *what, const char *arg) {
  fprintf(stderr, "flatlined: %s %s; see flatlined --help\n", what, arg);
  return 2;
}

int main(int argc, char **argv) {
  const char *spec = NULL, *tune_device = NULL;
  bool tune = false, quick = false, devices = false;
  fl_run_options run = {0};
  fl_service_options opt = {.socket_mode = 0660};
  opterr = 0; /* our messages, not getopt's */
  int ch, at;
  while (at = optind, (ch = getopt_long(argc, argv, ":h", long_options, NULL)) != -1) {
    const char *given = at < argc ? argv[at] : "";
    switch (ch) {
      case OPT_RUN: spec = optarg; break;
      case OPT_JSON: run.json = true; break;
      case OPT_PROFILE: run.profile = true; break;
      case OPT_JOB_DIR: run.job_dir = optarg; break;
      case OPT_DEVICES: devices = true; break;
      case OPT_TUNE: tune = true; break;
      case OPT_QUICK: quick = true; break;
      case OPT_DEVICE: tune_device = optarg; break;
      case OPT_SOCKET: opt.socket_path = optarg; break;
      case OPT_STATE_DIR: opt.state_dir = optarg; break;
      case OPT_CACHE_DIR: opt.cache_dir = optarg; break;
      case OPT_CONFIG: opt.config_path = optarg; break;
      case OPT_SOCKET_GROUP: opt.socket_group = optarg; break;
      case OPT_SOCKET_MODE: {
        char *end = NULL;
        unsigned long m = strtoul(optarg, &end, 8);
        if (!*optarg || *end || m > 0777) {
          fprintf(stderr, "flatlined: --socket-mode: expected an octal mode like "
                  "0660, got '%s'\n", optarg);
          return 2;
        }
        opt.socket_mode = (unsigned)m;
        break;
      }
      case OPT_VERSION:
        printf("flatlined %s (protocol %d)\n", FL_VERSION_STRING, FL_PROTOCOL_VERSION);
        return 0;
      case 'h':
        usage(stdout);
        return 0;
      case ':':
        return usage_error("option needs a value:", given);
      default:
        return usage_error("unknown option", given);
    }
  }
  if (optind < argc) return usage_error("unexpected argument", argv[optind]);
  if (devices) return list_devices();
  if (tune && spec) {
    fprintf(stderr, "flatlined: --tune and --run do not go together\n");
    return 2;
  }
  if (run.job_dir && !spec) {
    fprintf(stderr, "flatlined: --job-dir goes with --run SPEC\n");
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
