/* client/slurm.h — flatline jobs on Slurm (issue 15): `flatline submit
 * SPEC --slurm` runs sbatch as the user (never through the daemon), and
 * follow, show, list --slurm, cancel and export work on those jobs ("s"
 * and Slurm's job id: s123), reading the job folder that `flatlined --run
 * --job-dir` keeps on a shared file system and asking Slurm (squeue,
 * scancel) for the state and the cancel.
 *
 * Job folders live in the job root: $FLATLINE_SLURM_DIR, else
 * $HOME/.flatline/slurm (mode 0700), one folder sN per job beside its
 * batch output sN.out. slurm.c holds the pure parts (options, ids, the
 * batch script, Slurm's states), the slurm_*.c files the commands and
 * cmd_slurm.c their dispatch (slurm_internal.h says which owns what). */
#ifndef FLATLINE_CLIENT_SLURM_H
#define FLATLINE_CLIENT_SLURM_H

#include <stdbool.h>
#include <stddef.h>

#include "cli.h"

/* The submit/list option at argv[*i] (advancing *i past a value): 1 if it
 * was one, 0 if not, FL_EXIT_USAGE with msg when used wrongly. */
int fl_cli_slurm_option(const fl_cli_command *cmd, int argc, char *const *argv,
                        int *i, fl_cli_args *a, char *msg, size_t size);

/* "s123" is a Slurm job's id, "s123_4" a task of job array 123 (a
 * sweep's point). */
bool fl_cli_slurm_id(const char *text);

/* Runs the command when it concerns Slurm jobs (submit/list --slurm, or
 * follow/show/cancel/export/wait of an s-id) and returns its exit status;
 * -1 when the command is the daemon's. */
int fl_cli_slurm_dispatch(const fl_cli_args *a, const fl_cli_out *o);

/* The job root (see above) into out; false when it does not fit or no
 * $HOME is set. */
bool fl_cli_slurm_root(char *out, size_t size);

/* Slurm's job state (squeue %T) as flatline's: queued, running, done,
 * failed, cancelled; NULL for an empty or unknown word. */
const char *fl_cli_slurm_state(const char *slurm_state);

/* The batch script for the job whose folder is root/s$SLURM_JOB_ID, or
 * for an array (a sweep) root/s$SLURM_ARRAY_JOB_ID_$SLURM_ARRAY_TASK_ID
 * (malloc'd). flatlined: its path; name: the job's (sanitized here). */
char *fl_cli_slurm_script(const char *flatlined, const char *root,
                          const char *name, bool array);

#endif
