/* daemon/runner.h — `flatlined --run SPEC`: one job trained in the
 * foreground, without any socket, for development and benchmarks. */
#ifndef FL_DAEMON_RUNNER_H
#define FL_DAEMON_RUNNER_H

#include <stdbool.h>
#include <stdio.h>

typedef struct {
  bool json;    /* events as DESIGN.md §6 JSON lines instead of a table */
  bool profile; /* device-time profile per op on err_out at the end */
  const char *cache_dir; /* GEMM tuning saved here is used (the runner never
                            tunes); NULL: the service's default (tuning.h) */
  const char *job_dir; /* --job-dir: keep the job's files there and resume
                          from them (jobdir.h); NULL: nothing kept */
} fl_run_options;

/* Trains the job of the spec file; prints one line per epoch to out (the
 * DESIGN.md §6 `epoch` event when json, a table otherwise) and an end line.
 * Errors go to out as the `end` event when json, else to err_out.
 * Returns the exit status: 0 done, 1 failed or rejected, 3 done with a
 * diagnosed problem; with a job dir also 75 (FL_EXIT_RESUMABLE): stopped
 * by a signal, state saved, the same call resumes it. */
int fl_run_foreground(const char *spec_path, const fl_run_options *opt,
                      FILE *out, FILE *err_out);

#endif
