/* client/slurm.c — the pure parts of flatline's Slurm support (slurm.h):
 * the submit/list options, s-ids, the job root, Slurm's job states in
 * flatline's words, and the batch script. Nothing here runs a program. */
#include "slurm.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int usage(char *msg, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int usage(char *msg, size_t size, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, size, fmt, ap);
  va_end(ap);
  return FL_EXIT_USAGE;
}

/* arg is --name or --name=VALUE: the value (attached or the next
 * argument) in *value; 1 when it is, 0 when not, -1 without a value. */
static int valued(const char *arg, const char *name, int argc, char *const *argv,
                  int *i, const char **value) {
  size_t n = strlen(name);
  if (strncmp(arg, name, n) != 0 || (arg[n] != '\0' && arg[n] != '=')) return 0;
  if (arg[n] == '=') *value = arg + n + 1;
  else if (*i + 1 < argc) *value = argv[++*i];
  else return -1;
  return **value ? 1 : -1;
}

int fl_cli_slurm_option(const fl_cli_command *cmd, int argc, char *const *argv,
                        int *i, fl_cli_args *a, char *msg, size_t size) {
  if (!cmd) return 0;
  bool submit = strcmp(cmd->name, "submit") == 0, list = strcmp(cmd->name, "list") == 0;
  const char *arg = argv[*i];
  if ((submit || list) && strcmp(arg, "--slurm") == 0) {
    a->slurm.on = true;
    return 1;
  }
  if (!submit) return 0;
  static const struct {
    const char *name, *example;
  } opts[] = {{"--partition", "--partition gpu"}, {"--time", "--time 2:00:00"},
              {"--account", "--account lab"},     {"--gpus", "--gpus 1"},
              {"--sbatch", "--sbatch=--mem=8G"}};
  for (size_t k = 0; k < sizeof opts / sizeof *opts; k++) {
    const char *v = NULL;
    int r = valued(arg, opts[k].name, argc, argv, i, &v);
    if (r == 0) continue;
    if (r < 0)
      return usage(msg, size, "submit: %s needs a value, e.g. %s", opts[k].name,
                   opts[k].example);
    switch (k) {
      case 0: a->slurm.partition = v; break;
      case 1: a->slurm.time = v; break;
      case 2: a->slurm.account = v; break;
      case 3: {
        char *end = NULL;
        long n = strtol(v, &end, 10);
        if (*end || n < 1 || n > 64)
          return usage(msg, size, "submit: --gpus needs a number of GPUs from 1 to "
                       "64, e.g. --gpus 1");
        a->slurm.gpus = v;
        break;
      }
      default:
        if (a->slurm.n_sbatch == FL_CLI_MAX_SBATCH_ARGS)
          return usage(msg, size, "submit: at most %d --sbatch options; put the "
                       "others in a file and give --sbatch=--export-file=...",
                       FL_CLI_MAX_SBATCH_ARGS);
        a->slurm.sbatch[a->slurm.n_sbatch++] = v;
    }
    return 1;
  }
  return 0;
}

bool fl_cli_slurm_id(const char *text) {
  if (!text || text[0] != 's' || strlen(text) + 1 > FL_JOB_ID_MAX) return false;
  size_t n = strspn(text + 1, "0123456789");
  if (n == 0) return false;
  const char *task = text + 1 + n; /* an array task: s123_4 */
  if (!*task) return true;
  return task[0] == '_' && task[1] && strspn(task + 1, "0123456789") == strlen(task + 1);
}

bool fl_cli_slurm_root(char *out, size_t size) {
  const char *env = getenv("FLATLINE_SLURM_DIR");
  int n;
  if (env && *env) n = snprintf(out, size, "%s", env);
  else {
    const char *home = getenv("HOME");
    if (!home || !*home) return false;
    n = snprintf(out, size, "%s/.flatline/slurm", home);
  }
  return n > 0 && (size_t)n < size;
}

const char *fl_cli_slurm_state(const char *s) {
  static const struct {
    const char *slurm, *ours;
  } map[] = {
      {"PENDING", "queued"},        {"REQUEUED", "queued"},
      {"REQUEUE_HOLD", "queued"},   {"REQUEUE_FED", "queued"},
      {"CONFIGURING", "queued"},    {"RESV_DEL_HOLD", "queued"},
      {"SUSPENDED", "queued"},      {"RUNNING", "running"},
      {"COMPLETING", "running"},    {"STAGE_OUT", "running"},
      {"SIGNALING", "running"},     {"RESIZING", "running"},
      {"COMPLETED", "done"},        {"CANCELLED", "cancelled"},
      {"FAILED", "failed"},         {"TIMEOUT", "failed"},
      {"NODE_FAIL", "failed"},      {"OUT_OF_MEMORY", "failed"},
      {"BOOT_FAIL", "failed"},      {"DEADLINE", "failed"},
      {"PREEMPTED", "failed"},      {"SPECIAL_EXIT", "failed"},
      {"REVOKED", "failed"},
  };
  for (size_t i = 0; s && i < sizeof map / sizeof *map; i++)
    if (strcmp(s, map[i].slurm) == 0) return map[i].ours;
  return NULL;
}

/* text in single quotes for sh ('it'\''s'); false when out is too small. */
static bool sh_quote(char *out, size_t size, const char *text) {
  size_t n = 0;
  if (size < 3) return false;
  out[n++] = '\'';
  for (const char *p = text; *p; p++) {
    const char *piece = *p == '\'' ? "'\\''" : NULL;
    size_t len = piece ? 4 : 1;
    if (n + len + 2 > size) return false;
    if (piece) memcpy(out + n, piece, len);
    else out[n] = *p;
    n += len;
  }
  out[n++] = '\'';
  out[n] = '\0';
  return true;
}

char *fl_cli_slurm_script(const char *flatlined, const char *root, const char *name,
                          bool array) {
  char qroot[FL_PATH_MAX * 4 + 8], qbin[FL_PATH_MAX * 4 + 8], jname[64];
  if (!sh_quote(qroot, sizeof qroot, root) || !sh_quote(qbin, sizeof qbin, flatlined))
    return NULL;
  /* #SBATCH lines are not shell: the name keeps letters, digits, - _ . */
  size_t k = 0;
  for (const char *p = name; *p && k + 1 < sizeof jname; p++)
    jname[k++] = isalnum((unsigned char)*p) || *p == '-' || *p == '_' || *p == '.' ? *p : '_';
  jname[k] = '\0';
  /* #SBATCH --output takes no quotes: a root with spaces gets Slurm's
   * default output file instead (slurm-%j.out in the submit folder). */
  bool plain_root = strcspn(root, " \t\n\"'\\%") == strlen(root);
  size_t cap = strlen(qroot) * 3 + strlen(qbin) + 4096;
  char *s = malloc(cap);
  if (!s) return NULL;
  int n = snprintf(
      s, cap,
      "#!/bin/sh\n"
      "# A flatline job (flatline submit --slurm; docs/slurm.md): trains in\n"
      "# the job folder ROOT/s$SLURM_JOB_ID, resuming from its checkpoint when\n"
      "# requeued. USR1 (the time limit is near) stops it with its state saved\n"
      "# and requeues it; USR2 (flatline cancel) cancels it.\n"
      "#SBATCH --job-name=flatline-%s\n"
      "%s%s%s"
      "#SBATCH --open-mode=append\n"
      "#SBATCH --requeue\n"
      "#SBATCH --signal=B:USR1@120\n"
      "dir=%s/s\"$SLURM_JOB_ID\"\n"
      "# A task of a sweep's job array: ROOT/s<array>_<task>\n"
      "if [ -n \"$SLURM_ARRAY_JOB_ID\" ]; then\n"
      "  dir=%s/s\"${SLURM_ARRAY_JOB_ID}_$SLURM_ARRAY_TASK_ID\"\n"
      "fi\n"
      "# A CPU device (POCL) uses the cores Slurm gave the job, not the node's.\n"
      "if [ -n \"$SLURM_CPUS_ON_NODE\" ]; then\n"
      "  POCL_CPU_MAX_CU_COUNT=$SLURM_CPUS_ON_NODE; export POCL_CPU_MAX_CU_COUNT\n"
      "fi\n"
      "echo \"flatline: job $(basename \"$dir\") on $(hostname), restart ${SLURM_RESTART_COUNT:-0},\" \\\n"
      "  \"GPUs: ${CUDA_VISIBLE_DEVICES:-${ROCR_VISIBLE_DEVICES:-${ZE_AFFINITY_MASK:-none}}}\"\n"
      "requeue=0\n"
      "%s --run \"$dir/spec.json\" --job-dir \"$dir\" &\n"
      "pid=$!\n"
      "trap 'trapped=1; requeue=1; kill -USR1 $pid' USR1\n"
      "# TERM is a cancel or Slurm's own requeue: never requeued here too.\n"
      "trap 'trapped=1; requeue=0; kill -TERM $pid' TERM\n"
      "trap 'trapped=1; kill -USR2 $pid' USR2\n"
      "# A trap interrupts wait (status > 128) whether or not flatlined has\n"
      "# exited yet: wait again for its own status (75: stopped, state saved);\n"
      "# 127 means it was already collected.\n"
      "rc=0\n"
      "while :; do\n"
      "  trapped=0; wait $pid; r=$?\n"
      "  [ \"$r\" -eq 127 ] && break\n"
      "  rc=$r\n"
      "  [ \"$trapped\" = 1 ] || break\n"
      "done\n"
      "if [ \"$rc\" -eq 75 ] && [ \"$requeue\" = 1 ]; then\n"
      "  scontrol requeue \"$SLURM_JOB_ID\" && exit 0\n"
      "fi\n"
      "# done with a diagnosed problem (3) is done for Slurm; the job folder\n"
      "# keeps the verdict.\n"
      "if [ \"$rc\" -eq 3 ]; then rc=0; fi\n"
      "exit $rc\n",
      jname, plain_root ? "#SBATCH --output=" : "", plain_root ? root : "",
      plain_root ? (array ? "/s%A_%a.out\n" : "/s%j.out\n") : "", qroot, qroot, qbin);
  if (n < 0 || (size_t)n >= cap) {
    free(s);
    return NULL;
  }
  return s;
}
