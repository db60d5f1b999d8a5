/* daemon/tuning.c — see tuning.h. The files are the cache: deleting them
 * costs a new search, nothing else, and a file that cannot be used is
 * reported and passed over, never trusted. */
#define _GNU_SOURCE /* posix_spawn_file_actions_addclosefrom_np, environ */
#include "tuning.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fsutil.h"
#include "flatline/common.h"

/* A tuning file holds a few kilobytes of choice and measurements. */
#define TUNING_MAX_BYTES (256 * 1024)
/* The quick search takes seconds on a CPU and less on a GPU; a child that
 * runs this long is stuck in a driver, and the jobs should not wait on it. */
#define TUNING_CHILD_LIMIT_S 300

void fl_cache_dir_resolve(const char *opt, char *out, size_t size) {
  const char *env = getenv("CACHE_DIRECTORY");
  snprintf(out, size, "%s", opt ? opt : env && *env ? env : "/var/cache/flatline");
  /* systemd may list several folders separated by ':'; the first is ours. */
  char *colon = opt ? NULL : strchr(out, ':');
  if (colon) *colon = '\0';
  /* Links above it resolved once, as the service does: beneath it none is
   * followed (fl_mkdirs refuses them). Unresolvable: left as given, for
   * the error of its first use to name. */
  char real[4096];
  if (fl_path_resolve(out, real, sizeof real, NULL) == 0) snprintf(out, size, "%s", real);
}

static int tune_dir(const char *cache_dir, char *out, size_t size,
                    fl_error *err) {
  int n = snprintf(out, size, "%s/tune", cache_dir);
  if (n < 0 || (size_t)n >= size)
    return fl_error_set(err, FL_ETOOBIG, "cache dir path too long: %s", cache_dir);
  return 0;
}

int fl_tuning_path(const char *cache_dir, fl_device *dev, char *out,
                   size_t size, fl_error *err) {
  char key[FL_TUNE_KEY_MAX];
  fl_tune_key(dev, key, sizeof key);
  int n = snprintf(out, size, "%s/tune/%s.json", cache_dir, key);
  if (n < 0 || (size_t)n >= size)
    return fl_error_set(err, FL_ETOOBIG, "cache dir path too long: %s", cache_dir);
  return 0;
}

int fl_tuning_load(const char *cache_dir, fl_device *dev, fl_tune_result *r,
                   char *path, size_t path_size, fl_error *err) {
  char p[4200] = "";
  int rc = fl_tuning_path(cache_dir, dev, p, sizeof p, err);
  if (path) snprintf(path, path_size, "%s", p);
  if (rc) return rc;
  char *text = NULL;
  size_t len = 0;
  if ((rc = fl_read_small(p, TUNING_MAX_BYTES, &text, &len, err))) return rc;
  rc = fl_tune_from_json(dev, text, len, r, err);
  free(text);
  if (rc) fl_error_prefix(err, "%s", p);
  return rc;
}

int fl_tuning_save(const char *cache_dir, const fl_tune_result *r, char *path,
                   size_t path_size, fl_error *err) {
  char dir[4200], p[4400];
  int rc = tune_dir(cache_dir, dir, sizeof dir, err);
  if (rc || (rc = fl_mkdirs(dir, 0750, err))) return rc;
  snprintf(p, sizeof p, "%s/%s.json", dir, r->key);
  if (path) snprintf(path, path_size, "%s", p);
  char *json = fl_tune_to_json(r);
  if (!json) return fl_error_set(err, FL_ENOMEM, "out of memory");
  size_t len = strlen(json);
  json[len] = '\n'; /* the file is also for people: end it with a line */
  rc = fl_write_atomic(p, json, len + 1, err);
  free(json);
  return rc;
}

bool fl_tuning_use_saved(const char *cache_dir, fl_device *dev, FILE *note) {
  fl_tune_result *r = malloc(sizeof *r);
  if (!r) return false;
  char path[4200], what[256];
  fl_error err = {0};
  bool used = false;
  int rc = fl_tuning_load(cache_dir, dev, r, path, sizeof path, &err);
  if (!rc) rc = fl_tune_apply(dev, r, &err);
  if (!rc) {
    used = true;
    fl_tune_describe(r, what, sizeof what);
    if (note) fprintf(note, "  GEMM tuning: %s (%s)\n", what, path);
  } else if (rc != FL_ENOTFOUND && note) {
    fprintf(note, "flatlined: ignoring the GEMM tuning: %s\n", err.msg);
  }
  free(r);
  return used;
}

/* ---- flatlined --tune ------------------------------------------------------ */

static void print_progress(void *ctx, const char *line) {
  FILE *f = ctx;
  fprintf(f, "%s\n", line);
  fflush(f);
}

static void print_table(FILE *out, const fl_tune_result *r) {
  const int w = 9;
  fprintf(out, "%-18s", "shape");
  for (int c = 0; c < r->n_candidates; c++) fprintf(out, "%*s", w, r->cand[c].name);
  fprintf(out, "  chosen\n");
  for (int i = 0; i < r->n_shapes; i++) {
    char label[64];
    fl_tune_shape_label(&r->shapes[i], label, sizeof label);
    fprintf(out, "%-18s", label);
    double flop = 2.0 * (double)r->shapes[i].m * (double)r->shapes[i].n *
                  (double)r->shapes[i].k;
    for (int c = 0; c < r->n_candidates; c++) {
      const fl_tune_candidate *k = &r->cand[c];
      char cell[24];
      if (k->failed) snprintf(cell, sizeof cell, "fail");
      else if (k->seconds[i] <= 0) snprintf(cell, sizeof cell, "-");
      else snprintf(cell, sizeof cell, "%.1f%s", flop / k->seconds[i] / 1e9,
                    r->chosen[i] == c ? "*" : "");
      fprintf(out, "%*s", w, cell);
    }
    fprintf(out, "  %s\n", r->chosen[i] >= 0 ? r->cand[r->chosen[i]].name : "-");
  }
  fprintf(out, "\nGFLOP/s per call (median); * marks what the choice runs; "
          "-: not run on this form.\n\n");
  for (int c = 0; c < r->n_candidates; c++) {
    fprintf(out, "  %-8s %s\n", r->cand[c].name, r->cand[c].detail);
    if (r->cand[c].failed) fprintf(out, "           failed: %s\n", r->cand[c].error);
  }
  char what[256];
  fl_tune_describe(r, what, sizeof what);
  fprintf(out, "\nchoice: %s\n", what);
  if (r->chosen_cost > 0 && r->default_cost > 0)
    fprintf(out, "GEMM time per 1000 training rows over these shapes: %.2f ms "
            "(untuned default %.2f ms, %.2fx)\n", r->chosen_cost * 1e6,
            r->default_cost * 1e6, r->default_cost / r->chosen_cost);
}

int fl_tune_command(const char *device, const char *cache_dir_opt, bool quick,
                    FILE *out, FILE *err_out) {
  char cache_dir[4096];
  fl_cache_dir_resolve(cache_dir_opt, cache_dir, sizeof cache_dir);

  fl_error err = {0};
  fl_device_info devs[FL_MAX_DEVICES];
  fl_device *dev = NULL;
  fl_tune_result *r = calloc(1, sizeof *r);
  int status = 1, idx = 0;
  int n = fl_devices_list(devs, FL_MAX_DEVICES, &err);
  if (!r) {
    fl_error_set(&err, FL_ENOMEM, "out of memory");
    goto out;
  }
  if (n < 0 || fl_device_resolve(devs, n, device, &idx, &err) ||
      fl_device_open(idx, &dev, &err))
    goto out;
  fprintf(err_out, "flatlined: tuning GEMMs on device %d, %s (%s)\n", idx,
          devs[idx].name, devs[idx].platform);
  fl_tune_options opt = {.quick = quick, .progress = print_progress, .ctx = err_out};
  if (fl_tune_search(dev, &opt, r, &err)) goto out;
  fprintf(out, "GEMM tuning for %s (%s; driver %s), %s search, %.1f s\n\n",
          r->device, r->platform, r->driver, quick ? "quick" : "full",
          r->search_seconds);
  print_table(out, r);
  char path[4400];
  if (fl_tuning_save(cache_dir, r, path, sizeof path, &err)) goto out;
  fprintf(out, "saved %s\n", path);
  status = 0;
out:
  if (status) fprintf(err_out, "flatlined: --tune: %s\n", err.msg);
  fl_device_close(dev);
  free(r);
  return status;
}

/* ---- the service: tuning on first use ----------------------------------------
 * The search runs in a child process, `flatlined --tune --quick`, because
 * CLBlast keeps the parameters a search tries for the rest of the process
 * with no way back to its own (see flatline/engine.h), and because a driver
 * that crashes on a candidate should take down the child, not the service. */

static void sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Start the child with stdout and stderr in log_path and no other
 * descriptor of ours (the listening socket, clients, device nodes). */
static int spawn_tuner(const char *cache_dir, int index, const char *log_path,
                       pid_t *pid, fl_error *err) {
  char idx[16];
  snprintf(idx, sizeof idx, "%d", index);
  char *argv[] = {"flatlined", "--tune", "--quick", "--device", idx,
                  "--cache-dir", (char *)cache_dir, NULL};
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, log_path,
                                   O_WRONLY | O_CREAT | O_TRUNC, 0640);
  posix_spawn_file_actions_adddup2(&fa, 1, 2);
#if defined(__GLIBC__) && (__GLIBC__ > 2 || __GLIBC_MINOR__ >= 34)
  posix_spawn_file_actions_addclosefrom_np(&fa, 3);
#endif
  int e = posix_spawn(pid, "/proc/self/exe", &fa, NULL, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  if (e) return fl_error_set(err, FL_EIO, "cannot start the tuner: %s", strerror(e));
  return 0;
}

/* Wait for the child; kill it on shutdown or when it overruns. */
static int wait_tuner(pid_t pid, atomic_bool *stopping, fl_error *err) {
  double start = now_s();
  bool killed = false;
  int status = 0;
  for (;;) {
    pid_t w = waitpid(pid, &status, WNOHANG);
    if (w == pid) break;
    if (w < 0 && errno != EINTR)
      return fl_error_set(err, FL_EIO, "waiting for the tuner: %s", strerror(errno));
    if (!killed && (atomic_load(stopping) || now_s() - start > TUNING_CHILD_LIMIT_S)) {
      kill(pid, SIGKILL);
      killed = true;
    }
    sleep_ms(50);
  }
  if (killed)
    return atomic_load(stopping)
               ? fl_error_set(err, FL_ECANCELED, "stopped by shutdown")
               : fl_error_set(err, FL_EIO, "took over %d s and was stopped",
                              TUNING_CHILD_LIMIT_S);
  if (WIFSIGNALED(status))
    return fl_error_set(err, FL_EIO, "the tuner died of signal %d", WTERMSIG(status));
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    return fl_error_set(err, FL_EIO, "the tuner exited with status %d",
                        WIFEXITED(status) ? WEXITSTATUS(status) : -1);
  return 0;
}

static void log_applied(int index, const fl_tune_result *r, const char *how,
                        const char *path) {
  char what[256];
  fl_tune_describe(r, what, sizeof what);
  fl_log(FL_LOG_INFO, "device %d: GEMM tuning %s: %s (%s)", index, how, what, path);
}

void fl_tuning_prepare_device(const char *cache_dir, fl_device *dev, int index,
                              bool autotune, atomic_bool *stopping) {
  fl_tune_result *r = malloc(sizeof *r);
  if (!r) return;
  char path[4200], dir[4200], log_path[4300];
  fl_error err = {0};
  int rc = fl_tuning_load(cache_dir, dev, r, path, sizeof path, &err);
  if (!rc && !(rc = fl_tune_apply(dev, r, &err))) {
    log_applied(index, r, "loaded", path);
    goto out;
  }
  if (rc != FL_ENOTFOUND)
    fl_log(FL_LOG_WARNING, "device %d: ignoring the GEMM tuning: %s", index, err.msg);
  if (atomic_load(stopping)) goto out;
  if (!autotune) {
    fl_log(FL_LOG_NOTICE, "device %d: GEMMs not tuned for this device and driver "
           "(autotune = false); defaults until `flatlined --tune` is run", index);
    goto out;
  }
  size_t stem = strlen(path) > 5 ? strlen(path) - 5 : 0; /* less ".json" */
  snprintf(log_path, sizeof log_path, "%.*s.log", (int)stem, path);
  pid_t pid;
  double t0 = now_s();
  fl_log(FL_LOG_INFO, "device %d: tuning GEMMs (quick search, once per device "
         "and driver; jobs wait); output in %s", index, log_path);
  if ((rc = tune_dir(cache_dir, dir, sizeof dir, &err)) ||
      (rc = fl_mkdirs(dir, 0750, &err)) ||
      (rc = spawn_tuner(cache_dir, index, log_path, &pid, &err)) ||
      (rc = wait_tuner(pid, stopping, &err)) ||
      (rc = fl_tuning_load(cache_dir, dev, r, NULL, 0, &err)) ||
      (rc = fl_tune_apply(dev, r, &err))) {
    if (rc == FL_ECANCELED)
      fl_log(FL_LOG_INFO, "device %d: GEMM tuning %s", index, err.msg);
    else
      fl_log(FL_LOG_WARNING, "device %d: GEMM tuning failed (%s; see %s); "
             "using the defaults", index, err.msg, log_path);
    goto out;
  }
  char how[64];
  snprintf(how, sizeof how, "done in %.1f s", now_s() - t0);
  log_applied(index, r, how, path);
out:
  free(r);
}
