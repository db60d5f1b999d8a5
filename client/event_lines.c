/* client/event_lines.c — the one-line job events several commands print,
 * in both forms (a line for people, a --json line): a job submitted (a
 * sweep's point with its label and values), a sweep's group submitted,
 * a job cancelled or cancelling. Daemon jobs (cmd_submit.c) and Slurm
 * jobs (slurm_submit.c, slurm_job.c) print them alike. */
#include <stdio.h>

#include "output.h"

void fl_cli_print_job_event(const fl_cli_out *o, const char *event, const char *job) {
  if (o->json) {
    fl_jw w;
    fl_cli_event_begin(&w, event, job);
    fl_cli_print_jw(o, &w);
    return;
  }
  fprintf(o->out, "%s %s\n", event, job);
}

void fl_cli_print_submitted(const fl_cli_out *o, const char *job, const char *group,
                            const char *label, const char *values) {
  if (o->json) {
    fl_jw w;
    fl_cli_event_begin(&w, "submitted", job);
    if (group) fl_jw_str(&w, "group", group);
    if (values) fl_jw_raw(&w, "sweep", values); /* built by sweep.c: valid JSON */
    fl_cli_print_jw(o, &w);
    return;
  }
  char shown[1024] = "";
  if (label) fl_cli_sanitize(shown, sizeof shown, label);
  fprintf(o->out, "submitted %s%s%s\n", job, label ? "  " : "", shown);
  fflush(o->out);
}

void fl_cli_print_submitted_group(const fl_cli_out *o, const char *group, int n,
                                  const char *note) {
  if (!o->json) {
    fprintf(o->out, "submitted group %s: %d jobs%s; 'flatline group %s' shows them, "
            "best first\n", group, n, note, group);
    return;
  }
  fl_jw w;
  fl_jw_init(&w);
  fl_jw_object_begin(&w, NULL);
  fl_jw_str(&w, "event", "submitted_group");
  fl_jw_str(&w, "group", group);
  fl_jw_int(&w, "jobs", n);
  fl_cli_print_jw(o, &w);
}
