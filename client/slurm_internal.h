/* client/slurm_internal.h — what the files of the Slurm commands share
 * (slurm.h is the rest of the client's view of them). Who owns what:
 *   slurm.c         options, ids, the batch script, Slurm's state words
 *                   (pure: no programs run, no files read)
 *   slurm_folder.c  running Slurm's programs, Slurm's view of a job
 *                   (squeue), a job folder as read, the job's state from
 *                   both, and the daemon-shaped job object and end event
 *   slurm_submit.c  submit --slurm: the job folders and sbatch
 *   slurm_list.c    list --slurm and group sN: every folder of the root
 *   slurm_job.c     show, follow, cancel and export of one sN
 *   cmd_slurm.c     which of these a command line is (dispatch)
 * The replies the daemon would send are built from the folder and
 * printed by the daemon jobs' renderers, so the output and the exit
 * statuses are those of daemon jobs. */
#ifndef FLATLINE_CLIENT_SLURM_INTERNAL_H
#define FLATLINE_CLIENT_SLURM_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "output.h"
#include "slurm.h"

#define FL_CLI_SLURM_LOG_MAX ((size_t)1 << 30) /* a job's events.jsonl */

/* ---- slurm_folder.c: running a program ---- */

/* Runs argv[0] with argv (searched in PATH), without a shell; its stdout
 * (and stderr when err_too) in *out (malloc'd, NUL-terminated). Returns
 * its exit status, 127 when it cannot start. */
int fl_cli_slurm_run(const char *const *argv, char **out, bool err_too);
/* The last line of text without its newline, for error messages. */
const char *fl_cli_slurm_trimmed(char *text);

/* ---- slurm_folder.c: Slurm's view of a job ---- */

typedef struct {
  bool known;          /* squeue knows the job */
  char slurm[32];      /* its state word: RUNNING, PENDING, ... */
  char node[64];       /* where it runs or ran */
} fl_cli_slurm_view;

/* squeue -j N: 0 (view->known false when Slurm has forgotten the job),
 * or FL_EXIT_FAILED with the error printed (squeue missing or failing). */
int fl_cli_slurm_ask(const fl_cli_out *o, const char *what, const char *id,
                     fl_cli_slurm_view *v);
/* squeue's word for each of this user's jobs, one call: "id|STATE|NODE\n"
 * lines (malloc'd), NULL when squeue fails. */
char *fl_cli_slurm_all(void);
/* Job id's view from fl_cli_slurm_all's text (not known when absent). */
void fl_cli_slurm_view_from_all(const char *all, const char *id, fl_cli_slurm_view *v);

/* ---- slurm_folder.c: the job folder ---- */

typedef struct {
  char id[FL_JOB_ID_MAX];
  char dir[FL_PATH_MAX];
  fl_json *job;        /* job.json, NULL when unreadable */
  char *spec;          /* spec.json text, or NULL */
  char *last_epoch;    /* the last epoch line */
  char *end;           /* the end line */
  char *metrics;       /* the verdict's class report */
  char *fix;           /* the top diagnosed cause's merge patch */
  int epoch;           /* the highest logged epoch */
  char verdict[16];    /* the verdict's word, for a sweep's summary */
  char verdict_cause[64]; /* and its first cause */
} fl_cli_slurm_folder;

/* A whole file of at most max bytes, not through a link (malloc'd,
 * NUL-terminated; *len its length when len is given); NULL with *e the
 * system error. */
char *fl_cli_slurm_read_text(const char *path, size_t max, size_t *len, int *e);
/* Reads the folder of job id (spec: spec.json too). 0, or FL_EXIT_FAILED
 * with the reason printed ("what": the error prefix). */
int fl_cli_slurm_folder_read(const fl_cli_out *o, const char *what, const char *id,
                             bool spec, fl_cli_slurm_folder *f);
void fl_cli_slurm_folder_free(fl_cli_slurm_folder *f);
/* The opening of a command on one job: what = "VERB ID" (the error
 * prefix), its folder read and, when v is given, Slurm asked. 0, or the
 * exit status with the reason printed and f already freed. */
int fl_cli_slurm_open(const fl_cli_out *o, const char *verb, const char *id, bool spec,
                      char *what, size_t what_size, fl_cli_slurm_folder *f,
                      fl_cli_slurm_view *v);

/* ---- slurm_folder.c: the job's state and its daemon-shaped objects ---- */

/* The job's state, cause and message: its end line when it has one, else
 * Slurm's word for it. */
typedef struct {
  const char *state;
  char cause[64];
  char message[FL_ERRMSG_MAX];
} fl_cli_slurm_job_state;

void fl_cli_slurm_state_of(const fl_cli_slurm_folder *f, const fl_cli_slurm_view *v,
                           fl_cli_slurm_job_state *s);
/* A number of o (0 when absent). */
double fl_cli_slurm_num(const fl_json *o, const char *key);
/* The job object of the daemon's list/show reply (daemon/requests.c
 * job_fields), from the folder and Slurm; show adds the spec, the last
 * epoch, the class report and the fix. */
fl_json *fl_cli_slurm_job_object(const fl_cli_slurm_folder *f, const fl_cli_slurm_view *v,
                                 bool show);
/* The end event as the job library writes it (job/events.c), for a job
 * whose end flatlined could not write (malloc'd). */
char *fl_cli_slurm_end_event(const char *job, const char *state, const char *cause,
                             const char *message);

/* ---- the commands ---- */

int fl_cli_slurm_submit(const fl_cli_args *a, const fl_cli_out *o); /* slurm_submit.c */
int fl_cli_slurm_list(const fl_cli_args *a, const fl_cli_out *o);   /* slurm_list.c */
int fl_cli_slurm_group(const fl_cli_args *a, const fl_cli_out *o);  /* slurm_list.c */
/* slurm_job.c */
int fl_cli_slurm_show(const fl_cli_args *a, const fl_cli_out *o);
/* Follows job id until its end line, or until Slurm says it ended
 * without one (then an end event is made from Slurm's state). */
int fl_cli_slurm_follow(const fl_cli_out *o, const char *id);
int fl_cli_slurm_cancel_one(const fl_cli_out *o, const char *id);
int fl_cli_slurm_export(const fl_cli_args *a, const fl_cli_out *o); /* -o or --csv */

#endif
