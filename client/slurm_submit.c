/* client/slurm_submit.c — submit SPEC --slurm: sbatch as the user (never
 * through the daemon), held until the job's folder ROOT/sN exists
 * (spec.json with its data paths made absolute, job.json queued as the
 * service writes it), then released; with --sweep one job array, a
 * folder ROOT/sN_I per grid point (client/sweep.c), the sweep's group
 * being sN. A submit that fails on the way cancels what it held. The
 * batch script is slurm.c's. */
#define _GNU_SOURCE /* mkstemp, realpath */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "session.h"
#include "slurm_internal.h"
#include "sweep.h"

/* Where flatlined is, for the batch script: $FLATLINED, else beside this
 * flatline (a build folder), else the installed sbin. The compute nodes
 * must have it at the same path. */
static void flatlined_path(char *out, size_t size) {
  const char *env = getenv("FLATLINED");
  if (env && *env) {
    snprintf(out, size, "%s", env);
    return;
  }
  char self[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  if (n > 0) {
    self[n] = '\0';
    char *dir = dirname(self);
    const char *cands[] = {"%s/flatlined", "%s/../sbin/flatlined"};
    for (size_t i = 0; i < 2; i++) {
      char p[PATH_MAX + 32];
      snprintf(p, sizeof p, cands[i], dir);
      char real[PATH_MAX];
      if (access(p, X_OK) == 0 && realpath(p, real)) {
        snprintf(out, size, "%s", real);
        return;
      }
    }
  }
  snprintf(out, size, "/usr/sbin/flatlined");
}

/* The spec with its data paths made absolute (the job folder is not the
 * spec's folder), as a merge patch on the text. */
static int spec_for_folder(const fl_cli_job_files *jf, char **out, fl_error *err) {
  const fl_data_source *srcs[2] = {&jf->spec.train, &jf->spec.validation};
  const char *names[2] = {"train", "validation"};
  fl_jw w;
  fl_jw_init(&w);
  fl_jw_object_begin(&w, NULL);
  fl_jw_object_begin(&w, "data");
  for (int i = 0; i < 2; i++) {
    const fl_data_source *s = srcs[i];
    if (s->kind == FL_SRC_NONE) continue;
    const char *k1 = s->kind == FL_SRC_NPY ? "features" : s->kind == FL_SRC_CSV ? "csv" : "idx_images";
    const char *k2 = s->kind == FL_SRC_NPY ? "labels" : s->kind == FL_SRC_IDX ? "idx_labels" : NULL;
    fl_jw_object_begin(&w, names[i]);
    const char *paths[2] = {s->features, s->labels};
    const char *keys[2] = {k1, k2};
    for (int j = 0; j < 2; j++) {
      if (!keys[j] || !paths[j][0]) continue;
      char *rel = fl_cli_resolve_path(jf->spec_path, paths[j]);
      char real[PATH_MAX];
      if (!rel || !realpath(rel, real)) {
        int e = errno;
        fl_error_set(err, FL_ENOTFOUND, "data.%s.%s: cannot read %s: %s", names[i], keys[j],
                     rel ? rel : paths[j], strerror(e));
        free(rel);
        free(fl_jw_finish(&w));
        return FL_ENOTFOUND;
      }
      free(rel);
      fl_jw_str(&w, keys[j], real);
    }
    fl_jw_object_end(&w);
  }
  fl_jw_object_end(&w);
  fl_jw_object_end(&w);
  char *patch = fl_jw_finish(&w);
  if (!patch) return fl_error_set(err, FL_ENOMEM, "out of memory");
  int rc = fl_json_merge_patch(jf->text, jf->len, patch, out, err);
  free(patch);
  return rc;
}

static int write_new(const char *path, const char *text, fl_error *err) {
  int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  size_t n = strlen(text), done = 0;
  ssize_t w = 0;
  while (fd >= 0 && done < n && (w = write(fd, text + done, n - done)) > 0) done += (size_t)w;
  bool ok = fd >= 0 && done == n;
  int e = errno;
  if (fd >= 0 && close(fd) != 0) ok = false;
  if (!ok) return fl_error_set(err, FL_EIO, "cannot write %s: %s", path, strerror(e));
  return 0;
}

/* mkdir -p with mode for the missing folders. */
static int make_dirs(const char *path, mode_t mode) {
  char p[FL_PATH_MAX];
  snprintf(p, sizeof p, "%s", path);
  for (char *s = p + 1; *s; s++) {
    if (*s != '/') continue;
    *s = '\0';
    if (mkdir(p, mode) != 0 && errno != EEXIST) return -1;
    *s = '/';
  }
  return mkdir(p, mode) != 0 && errno != EEXIST ? -1 : 0;
}

/* job.json as the service writes it (daemon/jobs.c fl_job_save), queued. */
static char *queued_job_json(const char *id, const fl_cli_job_files *jf, const char *group,
                             const char *sweep) {
  struct passwd *pw = getpwuid(getuid());
  char user[64];
  snprintf(user, sizeof user, "%s", pw ? pw->pw_name : "");
  fl_jw w;
  fl_jw_init(&w);
  fl_jw_object_begin(&w, NULL);
  fl_jw_str(&w, "id", id);
  fl_jw_int(&w, "number", strtoll(id + 1, NULL, 10));
  fl_jw_int(&w, "uid", getuid());
  fl_jw_int(&w, "gid", getgid());
  fl_jw_str(&w, "user", user);
  fl_jw_str(&w, "name", jf->spec.name);
  fl_jw_str(&w, "state", "queued");
  fl_jw_int(&w, "device", -1);
  fl_jw_str(&w, "device_want", jf->spec.device);
  fl_jw_int(&w, "epochs", jf->spec.epochs);
  fl_jw_int(&w, "epoch", 0);
  fl_jw_int(&w, "submitted", (long long)time(NULL));
  fl_jw_int(&w, "started", 0);
  fl_jw_int(&w, "ended", 0);
  fl_jw_int(&w, "priority", 0);
  fl_jw_str(&w, "after", "");
  fl_jw_null(&w, "cause");
  fl_jw_null(&w, "message");
  fl_jw_int(&w, "data_bytes", 0);
  fl_jw_bool(&w, "cancel_requested", false);
  if (group) fl_jw_str(&w, "group", group);
  if (sweep) fl_jw_raw(&w, "sweep", sweep); /* built by sweep.c: valid JSON */
  fl_jw_array_begin(&w, "files");
  fl_jw_array_end(&w);
  fl_jw_object_end(&w);
  return fl_jw_finish(&w);
}

/* The job's folder ROOT/id with its spec and job.json (queued). */
static int make_folder(const fl_cli_out *o, const char *what, const char *root, const char *id,
                       const char *spec, const fl_cli_job_files *jf, const char *group,
                       const char *sweep) {
  char dir[FL_PATH_MAX + 32], path[FL_PATH_MAX + 64];
  fl_error err = {0};
  snprintf(dir, sizeof dir, "%s/%s", root, id);
  char *job_json = queued_job_json(id, jf, group, sweep);
  snprintf(path, sizeof path, "%s/spec.json", dir);
  int rc = 0;
  if (mkdir(dir, 0700) != 0 || write_new(path, spec, &err) != 0 || !job_json) {
    fprintf(o->err, "flatline: %s: cannot make the job folder %s: %s\n", what, dir,
            err.msg[0] ? err.msg : strerror(errno));
    rc = FL_EXIT_FAILED;
  }
  snprintf(path, sizeof path, "%s/job.json", dir);
  if (!rc && write_new(path, job_json, &err) != 0) {
    fprintf(o->err, "flatline: %s: %s\n", what, err.msg);
    rc = FL_EXIT_FAILED;
  }
  free(job_json);
  return rc;
}

/* The sweep's grid over spec (the folder's text: data paths absolute). */
static int expand_sweep(const fl_cli_args *a, const fl_cli_out *o, const char *spec,
                        fl_sweep_points *pts) {
  fl_sweep_grid g = {0};
  fl_error err = {0};
  int rc = 0;
  for (int i = 0; i < a->n_sweeps && !rc; i++) rc = fl_sweep_parse_arg(&g, a->sweeps[i], &err);
  if (!rc) rc = fl_sweep_expand(spec, strlen(spec), &g, pts, &err);
  fl_sweep_grid_free(&g);
  if (rc) fprintf(o->err, "flatline: submit %s: %s\n", a->spec, err.msg);
  return rc == 0 ? 0 : rc == FL_ENOMEM ? FL_EXIT_FAILED : FL_EXIT_USAGE;
}

/* submit --slurm: one job, or (--sweep) one job array with a task per
 * grid point, the sweep's group being "s" and the array's id. */
int fl_cli_slurm_submit(const fl_cli_args *a, const fl_cli_out *o) {
  char what[FL_PATH_MAX + 16];
  snprintf(what, sizeof what, "submit %s", a->spec);
  fl_cli_job_files jf;
  fl_error err = {0};
  fl_sweep_points pts = {0};
  char *spec = NULL, *script = NULL, *out = NULL;
  char root[FL_PATH_MAX], script_path[FL_PATH_MAX + 32] = "", id[FL_JOB_ID_MAX] = "";
  char bin[PATH_MAX];
  int rc = FL_EXIT_FAILED;
  bool held = false, sweep = a->n_sweeps > 0;
  if (fl_cli_spec_load(a->spec, &jf, &err) || spec_for_folder(&jf, &spec, &err)) {
    fprintf(o->err, "flatline: %s\n", err.msg);
    goto out;
  }
  if (jf.spec.init_from[0]) {
    fprintf(o->err, "flatline: %s: init_from names a daemon job; a Slurm job "
            "cannot start from it\n", what);
    goto out;
  }
  if (sweep && (rc = expand_sweep(a, o, spec, &pts))) goto out;
  rc = FL_EXIT_FAILED;
  if (!fl_cli_slurm_root(root, sizeof root) || make_dirs(root, 0700) != 0) {
    fprintf(o->err, "flatline: %s: cannot create the job root %s: %s (set "
            "FLATLINE_SLURM_DIR to a folder on a file system the compute nodes share)\n",
            what, root, strerror(errno));
    goto out;
  }
  flatlined_path(bin, sizeof bin);
  script = fl_cli_slurm_script(bin, root, jf.spec.name, sweep);
  snprintf(script_path, sizeof script_path, "%s/.submit-XXXXXX", root);
  int fd = script ? mkstemp(script_path) : -1;
  if (fd < 0 || write(fd, script, strlen(script)) != (ssize_t)strlen(script)) {
    fprintf(o->err, "flatline: %s: cannot write the batch script in %s: %s\n", what, root,
            strerror(errno));
    if (fd >= 0) close(fd);
    goto out;
  }
  close(fd);
  /* Held until its folders are there: no task may start first. */
  const char *argv[24 + FL_CLI_MAX_SBATCH_ARGS];
  char part[160], time_opt[96], account[160], gres[48], array[48];
  int n = 0;
  argv[n++] = "sbatch";
  argv[n++] = "--parsable";
  argv[n++] = "--hold";
  if (sweep) snprintf(array, sizeof array, "--array=0-%d", pts.n - 1), argv[n++] = array;
  if (a->slurm.partition) snprintf(part, sizeof part, "--partition=%s", a->slurm.partition), argv[n++] = part;
  if (a->slurm.time) snprintf(time_opt, sizeof time_opt, "--time=%s", a->slurm.time), argv[n++] = time_opt;
  if (a->slurm.account) snprintf(account, sizeof account, "--account=%s", a->slurm.account), argv[n++] = account;
  if (a->slurm.gpus) snprintf(gres, sizeof gres, "--gres=gpu:%s", a->slurm.gpus), argv[n++] = gres;
  for (int i = 0; i < a->slurm.n_sbatch; i++) argv[n++] = a->slurm.sbatch[i];
  argv[n++] = script_path;
  argv[n] = NULL;
  int st = fl_cli_slurm_run(argv, &out, true);
  const char *reply = fl_cli_slurm_trimmed(out);
  char *end = NULL;
  long num = st == 0 ? strtol(reply, &end, 10) : 0;
  if (st != 0 || num <= 0 || (end && *end && *end != ';')) {
    fprintf(o->err, "flatline: %s: sbatch %s: %s\n", what,
            st == 127 ? "is not installed here (a Slurm client is needed)" : "refused the job",
            reply);
    goto out;
  }
  held = true;
  snprintf(id, sizeof id, "s%ld", num);
  if (!sweep && make_folder(o, what, root, id, spec, &jf, NULL, NULL)) goto out;
  for (int i = 0; i < pts.n; i++) {
    char task[FL_JOB_ID_MAX];
    snprintf(task, sizeof task, "%s_%d", id, i);
    if (make_folder(o, what, root, task, pts.points[i].spec, &jf, id, pts.points[i].values))
      goto out;
  }
  free(out);
  const char *release[] = {"scontrol", "release", id + 1, NULL};
  st = fl_cli_slurm_run(release, &out, true);
  if (st != 0) {
    fprintf(o->err, "flatline: %s: scontrol release %s failed: %s\n", what, id + 1,
            fl_cli_slurm_trimmed(out));
    goto out;
  }
  held = false; /* it stands */
  rc = FL_EXIT_OK;
  if (!sweep) fl_cli_print_submitted(o, id, NULL, NULL, NULL);
  for (int i = 0; i < pts.n; i++) {
    char task[FL_JOB_ID_MAX];
    snprintf(task, sizeof task, "%s_%d", id, i);
    fl_cli_print_submitted(o, task, id, pts.points[i].label, pts.points[i].values);
  }
  if (sweep) {
    char note[64];
    snprintf(note, sizeof note, " (Slurm job array %ld)", num);
    fl_cli_print_submitted_group(o, id, pts.n, note);
  }
  if (a->follow && !sweep) rc = fl_cli_slurm_follow(o, id);
out:
  if (held) { /* held, and without its folders: gone */
    free(out);
    const char *cancel[] = {"scancel", id + 1, NULL};
    fl_cli_slurm_run(cancel, &out, true);
  }
  if (script_path[0] && script_path[strlen(script_path) - 1] != 'X') unlink(script_path);
  free(out);
  free(spec);
  free(script);
  fl_sweep_points_free(&pts);
  fl_cli_job_files_free(&jf);
  return rc;
}
