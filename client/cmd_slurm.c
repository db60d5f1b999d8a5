/* client/cmd_slurm.c — which Slurm command a command line is (slurm.h):
 * submit --slurm, list --slurm or list --group sN, group sN, and show,
 * follow, cancel and export of an s-id; the options that go only with
 * --slurm, and the commands that do not work on Slurm jobs, are refused
 * here. What each command does is in the slurm_*.c files
 * (slurm_internal.h says which owns what). */
#include <string.h>

#include "slurm_internal.h"

static bool any_slurm_opt(const fl_cli_slurm_opts *s) {
  return s->partition || s->time || s->account || s->gpus || s->n_sbatch;
}

int fl_cli_slurm_dispatch(const fl_cli_args *a, const fl_cli_out *o) {
  const char *cmd = a->command ? a->command->name : "";
  if (strcmp(cmd, "submit") == 0) {
    if (!a->slurm.on && any_slurm_opt(&a->slurm)) {
      fprintf(o->err, "flatline: submit: --partition, --time, --account, --gpus and "
              "--sbatch go with --slurm\n");
      return FL_EXIT_USAGE;
    }
    if (a->slurm.on && a->n_sweeps > 0 && a->follow) {
      fprintf(o->err, "flatline: submit: --follow follows one job; a sweep's are "
              "followed one by one (flatline follow sN_I)\n");
      return FL_EXIT_USAGE;
    }
    return a->slurm.on ? fl_cli_slurm_submit(a, o) : -1;
  }
  if (strcmp(cmd, "list") == 0)
    return a->slurm.on || fl_cli_slurm_id(a->group) ? fl_cli_slurm_list(a, o) : -1;
  if (strcmp(cmd, "group") == 0) return fl_cli_slurm_id(a->group) ? fl_cli_slurm_group(a, o) : -1;
  if (!fl_cli_slurm_id(a->job)) return -1;
  if (strcmp(cmd, "show") == 0) return fl_cli_slurm_show(a, o);
  if (strcmp(cmd, "follow") == 0) return fl_cli_slurm_follow(o, a->job);
  if (strcmp(cmd, "export") == 0) return fl_cli_slurm_export(a, o);
  if (strcmp(cmd, "cancel") == 0) {
    int worst = FL_EXIT_OK;
    for (int i = 0; i < a->n_ids; i++)
      if (!fl_cli_slurm_id(a->ids[i])) {
        fprintf(o->err, "flatline: cancel: give Slurm jobs (s17) and daemon jobs "
                "(j17) in separate commands\n");
        return FL_EXIT_USAGE;
      }
    for (int i = 0; i < a->n_ids; i++) {
      int one = fl_cli_slurm_cancel_one(o, a->ids[i]);
      if (one) worst = FL_EXIT_FAILED;
    }
    return worst;
  }
  fprintf(o->err, "flatline: %s: %s is a Slurm job; %s works on daemon jobs (for "
          "Slurm jobs: follow, show, list --slurm, cancel, export)\n", cmd, a->job, cmd);
  return FL_EXIT_USAGE;
}
