/* daemon/runner.c — the foreground runner: spec file -> datasets -> device
 * -> epochs, printed as events (JSON lines) or as a table for people. */
#include "runner.h"

#include <libgen.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "flatline/engine.h"
#include "flatline/job.h"
#include "job_data.h"
#include "jobdir.h"
#include "tuning.h"

static void print_line(FILE *out, char *text) {
  if (text) {
    fprintf(out, "%s\n", text);
    fflush(out);
  }
  free(text);
}


static void emit_epoch_table(FILE *out, int epochs, const fl_epoch_metrics *m) {
  if (m->epoch == 1)
    fprintf(out, "%7s  %9s  %8s  %9s  %8s  %8s  %10s\n", "epoch", "loss",
            "accuracy", "val_loss", "val_acc", "seconds", "samples/s");
  char val_loss[16] = "-", val_acc[16] = "-";
  if (m->has_val) {
    snprintf(val_loss, sizeof val_loss, "%.4f", m->val_loss);
    snprintf(val_acc, sizeof val_acc, "%.4f", m->val_accuracy);
  }
  fprintf(out, "%3d/%-3d  %9.4f  %8.4f  %9s  %8s  %8.1f  %10.0f\n", m->epoch,
          epochs, m->loss, m->accuracy, val_loss, val_acc, m->seconds,
          m->samples_per_s);
  fflush(out);
}

static size_t n_classes_of(const fl_job_spec *spec) {
  return (size_t)fl_spec_classes(spec); /* 2 for binary_crossentropy */
}

typedef struct {
  FILE *out;
  bool json;
  int epochs;
  double train_seconds; /* summed epoch times, for the profile */
  char **metrics;       /* the verdict's class report, for the end event */
} runner_ctx;

/* "verdict: problem — labels_uninformative (0.90), learning_rate_too_high
 * (0.80)", and for an unexplained job what was tried. */
static void print_verdict(FILE *out, const fl_json *ev) {
  const char *verdict = fl_json_string(fl_json_get(ev, "verdict"));
  const fl_json *causes = fl_json_get(ev, "causes"), *tried = fl_json_get(ev, "tried");
  fprintf(out, "verdict: %s", verdict ? verdict : "?");
  for (size_t i = 0; i < fl_json_array_size(causes); i++) {
    const fl_json *c = fl_json_array_at(causes, i);
    double conf = 0;
    fl_json_number(fl_json_get(c, "confidence"), &conf);
    fprintf(out, "%s%s (%.2f)", i ? ", " : " - ", fl_json_string(fl_json_get(c, "cause")), conf);
  }
  fputc('\n', out);
  const char *note = fl_json_string(fl_json_get(ev, "note"));
  if (note) fprintf(out, "  %s\n", note);
  if (verdict && strcmp(verdict, FL_VERDICT_IS_UNEXPLAINED) == 0)
    for (size_t i = 0; i < fl_json_array_size(tried); i++)
      fprintf(out, "  tried: %s\n", fl_json_string(fl_json_array_at(tried, i)));
}

/* People get the table and readable alerts; scripts the JSON lines. */
static void on_event(void *ctx, const char *json, const fl_epoch_metrics *m) {
  runner_ctx *r = ctx;
  if (m) r->train_seconds += m->seconds;
  static const char verdict_prefix[] = "{\"event\":\"" FL_EVENT_VERDICT "\"";
  if (!m && strncmp(json, verdict_prefix, sizeof verdict_prefix - 1) == 0) {
    fl_json *ev = fl_json_parse(json, strlen(json), NULL);
    const fl_json *mt = ev ? fl_json_get(ev, "metrics") : NULL;
    if (mt && !fl_json_is_null(mt)) {
      free(*r->metrics);
      *r->metrics = fl_json_print(mt);
    }
    fl_json_free(ev);
  }
  if (r->json) {
    fprintf(r->out, "%s\n", json);
    fflush(r->out);
    return;
  }
  if (m) {
    emit_epoch_table(r->out, r->epochs, m);
    return;
  }
  fl_error err = {0};
  fl_json *ev = fl_json_parse(json, strlen(json), &err);
  if (!ev) return;
  const char *kind = fl_json_string(fl_json_get(ev, "event"));
  /* A callback acted (stopped early, lowered the rate, restored weights). */
  const char *note_text = fl_json_string(fl_json_get(ev, "message"));
  if (kind && note_text && strcmp(kind, FL_EVENT_CALLBACK) == 0)
    fprintf(r->out, "  -- %s\n", note_text);
  const fl_json *list = fl_json_get(ev, kind && strcmp(kind, FL_EVENT_PREFLIGHT) == 0 ? "findings" : "causes");
  if (kind && (strcmp(kind, FL_EVENT_PREFLIGHT) == 0 || strcmp(kind, FL_EVENT_DIAGNOSIS) == 0)) {
    size_t n = fl_json_array_size(list);
    if (strcmp(kind, FL_EVENT_DIAGNOSIS) == 0)
      fprintf(r->out, "\n!! diagnosis: %s\n", n ? "what is wrong:" : "no cause found");
    for (size_t i = 0; i < n; i++) {
      const fl_json *c = fl_json_array_at(list, i);
      const char *sev = fl_json_string(fl_json_get(c, "severity"));
      const char *text = fl_json_string(fl_json_get(c, sev ? "message" : "evidence"));
      const char *advice = fl_json_string(fl_json_get(c, "advice"));
      char *fix = fl_json_is_null(fl_json_get(c, "fix")) ? NULL : fl_json_print(fl_json_get(c, "fix"));
      fprintf(r->out, "!! %s%s%s: %s\n", sev ? sev : "", sev ? " " : "",
              fl_json_string(fl_json_get(c, "cause")), text ? text : "");
      if (advice) fprintf(r->out, "   advice: %s\n", advice);
      if (fix) fprintf(r->out, "   fix: %s\n", fix);
      free(fix);
    }
    fprintf(r->out, "\n");
  } else if (kind && strcmp(kind, FL_EVENT_VERDICT) == 0) {
    print_verdict(r->out, ev);
  } else if (kind && strcmp(kind, FL_EVENT_FIX) == 0) {
    fprintf(r->out, "!! applying the fix for %s and restarting from the original "
            "initialization\n", fl_json_string(fl_json_get(ev, "cause")));
  } else if (kind && strcmp(kind, FL_EVENT_FIXED) == 0) {
    double before = NAN, after = NAN;
    fl_json_number(fl_json_get(ev, "loss_before"), &before);
    fl_json_number(fl_json_get(ev, "loss_after"), &after);
    fprintf(r->out, "!! fixed %s: loss %.4f before the fix, %.4f after\n",
            fl_json_string(fl_json_get(ev, "cause")), before, after);
  }
  fflush(r->out);
  fl_json_free(ev);
}

/* The profile table: where the device time of the run went, op by op, and
 * how it compares with the wall time of the training epochs (the rest is
 * the host: launches, waits, reading metrics). */
static void print_profile(const fl_device *dev, double wall, FILE *f) {
  fl_profile_entry e[64];
  int n = fl_device_profile_read(dev, e, 64);
  double total = 0;
  for (int i = 0; i < n; i++) total += e[i].seconds;
  fprintf(f, "\nprofile (OpenCL event times; each op waited for, so the "
          "run was slower than usual)\n");
  fprintf(f, "  %-22s %8s %11s %10s %7s\n", "op", "calls", "total ms",
          "us/call", "share");
  for (int i = 0; i < n; i++)
    fprintf(f, "  %-22s %8ld %11.1f %10.1f %6.1f%%\n", e[i].name, e[i].calls,
            e[i].seconds * 1e3, e[i].calls ? e[i].seconds * 1e6 / e[i].calls : 0,
            total > 0 ? 100 * e[i].seconds / total : 0);
  fprintf(f, "  device time %.3f s of %.3f s wall in training epochs "
          "(%.0f%%)\n", total, wall, wall > 0 ? 100 * total / wall : 0);
}

/* With --job-dir: SIGTERM, SIGINT and SIGUSR1 (Slurm's --signal warning
 * before the time limit) stop the job with its state saved; SIGUSR2 (what
 * `flatline cancel` sends a Slurm job) cancels it. */
static void on_stop_signal(int sig) {
  if (sig == SIGUSR2) fl_jobdir_signal_cancel();
  else fl_jobdir_signal_stop();
}

static void catch_job_signals(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_stop_signal;
  sa.sa_flags = SA_RESTART;
  sigemptyset(&sa.sa_mask);
  const int sigs[] = {SIGTERM, SIGINT, SIGUSR1, SIGUSR2};
  for (size_t i = 0; i < sizeof sigs / sizeof *sigs; i++) sigaction(sigs[i], &sa, NULL);
}

/* The job's name in its events: the folder's last component ("s123" for
 * `flatline submit --slurm`), at most FL_JOB_ID_MAX - 1 bytes. */
static void job_id_of_dir(const char *dir, char *out, size_t size) {
  size_t n = strlen(dir);
  while (n > 1 && dir[n - 1] == '/') n--;
  size_t start = n;
  while (start > 0 && dir[start - 1] != '/') start--;
  size_t len = n - start;
  if (len == 0) snprintf(out, size, "local");
  else snprintf(out, size, "%.*s", (int)(len < size ? len : size - 1), dir + start);
}

/* A job folder whose job already ended: say so, exit with its status. */
static int report_ended(fl_jobdir *jd, const fl_jobdir_status *st, bool json,
                        FILE *out) {
  char *end = fl_jobdir_end_line(jd);
  if (json && end) fprintf(out, "%s\n", end);
  else if (!json)
    fprintf(out, "flatlined: the job in this folder already ended (%s%s%s); "
            "nothing to run\n", st->state, st->cause[0] ? ", " : "", st->cause);
  free(end);
  if (strcmp(st->state, "done") != 0) return 1;
  return st->cause[0] ? 3 : 0;
}

int fl_run_foreground(const char *spec_path, const fl_run_options *opt,
                      FILE *out, FILE *err_out) {
  bool json = opt->json;
  fl_error err = {0};
  fl_job_spec spec;
  memset(&spec, 0, sizeof spec);
  fl_dataset train = {0}, val = {0};
  bool has_val = false;
  fl_device *dev = NULL;
  const char *job = "local";
  const char *state = "rejected";
  const char *cause = NULL;
  char *text = NULL;
  size_t len = 0;
  int rc;
  fl_job_outcome outcome = {0};
  char *end_metrics = NULL; /* the verdict's class report */
  fl_jobdir *jd = NULL;
  char jd_id[FL_JOB_ID_MAX];
  bool executed = false;

  if ((rc = fl_file_read(spec_path, FL_SPEC_MAX_BYTES, (uint8_t **)&text, &len, &err)) ||
      (rc = fl_spec_parse(text, len, &spec, &err))) {
    fl_error_prefix(&err, "%s", spec_path);
    goto done;
  }
  if (spec.init_from[0]) { /* not silently from scratch */
    rc = fl_error_set(&err, FL_ESPEC, "%s: init_from: fine-tuning starts "
                      "from a job of the daemon, which --run has not; submit "
                      "the spec (flatline submit)", spec_path);
    goto done;
  }
  job = spec.name;
  if (opt->job_dir) {
    fl_jobdir_status st;
    job_id_of_dir(opt->job_dir, jd_id, sizeof jd_id);
    catch_job_signals(); /* before the folder says running */
    if ((rc = fl_jobdir_open(opt->job_dir, jd_id, text, len, &spec, &jd, &st, &err)))
      goto done;
    job = jd_id;
    if (st.ended) {
      int status = report_ended(jd, &st, json, out);
      fl_jobdir_close(jd);
      fl_spec_free(&spec);
      free(text);
      return status;
    }
    if (st.resumed_epoch > 0 && !json)
      fprintf(out, "flatlined: resuming from %s after epoch %d\n", opt->job_dir,
              st.resumed_epoch);
  }
  char *dir_copy = strdup(spec_path);
  if (!dir_copy) {
    rc = fl_error_set(&err, FL_ENOMEM, "out of memory");
    goto done;
  }
  rc = fl_job_load_data(&spec, fl_resolve_relative, dirname(dir_copy), &train,
                        &val, &has_val, &err);
  free(dir_copy);
  if (rc) {
    cause = fl_cause_of_error(rc);
    goto done;
  }

  fl_device_info devs[FL_MAX_DEVICES];
  int ndev = fl_devices_list(devs, FL_MAX_DEVICES, &err), idx;
  if (ndev < 0) {
    rc = ndev;
    goto done;
  }
  if ((rc = fl_device_resolve(devs, ndev, spec.device, &idx, &err)) ||
      (rc = fl_device_open(idx, &dev, &err)) ||
      (opt->profile && (rc = fl_device_profile_start(dev, &err))))
    goto done;
  if (!json) {
    fprintf(out, "flatlined: training \"%s\" on %s (%s)\n", spec.name,
            devs[idx].name, devs[idx].platform);
    fprintf(out, "  %zu training rows, %zu validation rows, %zu features, "
            "%zu classes\n",
            train.n, has_val ? val.n : 0, train.d, n_classes_of(&spec));
  }
  /* GEMM tuning saved by the service or `flatlined --tune`: used, never
   * searched for here (a foreground run should not spend seconds on it). */
  char tune_cache[4096];
  fl_cache_dir_resolve(opt->cache_dir, tune_cache, sizeof tune_cache);
  fl_tuning_use_saved(tune_cache, dev, json ? err_out : out);
  /* The text must be NUL-terminated for merge patches. */
  char *spec_text = malloc(len + 1);
  if (!spec_text) {
    rc = fl_error_set(&err, FL_ENOMEM, "out of memory");
    goto done;
  }
  memcpy(spec_text, text, len);
  spec_text[len] = '\0';
  runner_ctx ctx = {out, json, spec.epochs, 0.0, &end_metrics};
  fl_job_hooks hooks = {.ctx = &ctx, .event = on_event};
  if (jd) {
    /* Again: the OpenCL runtime took SIGUSR1 for itself when the device
     * opened (measured with POCL 3.1: a USR1 no longer stopped the job). */
    catch_job_signals();
    fl_jobdir_hooks(jd, &hooks, on_event, &ctx);
    fl_jobdir_set_model_meta(jd, &spec, &train);
  }
  fl_job_execute(dev, job, &spec, spec_text, &train, has_val ? &val : NULL, &hooks,
                 jd ? fl_jobdir_cancelled : NULL, &outcome);
  executed = true;
  free(spec_text);
  if (jd && fl_jobdir_finish(jd, &outcome, end_metrics, &err) != 0)
    fprintf(err_out, "flatlined: %s\n", err.msg);
  if (jd && outcome.interrupted) {
    if (opt->profile) print_profile(dev, ctx.train_seconds, err_out);
    fprintf(err_out, "flatlined: stopped after epoch %d with its state saved in %s; "
            "the same command resumes it\n", outcome.epochs, opt->job_dir);
    rc = FL_EXIT_RESUMABLE;
    goto out;
  }
  if (opt->profile) print_profile(dev, ctx.train_seconds, err_out);
  state = outcome.state;
  cause = outcome.cause[0] ? outcome.cause : NULL;
  rc = strcmp(state, "done") == 0 ? 0 : FL_EINVAL;
  snprintf(err.msg, sizeof err.msg, "%s", outcome.message);

done:
  if (jd && !executed) {
    /* Ended before training (data, device): the folder says so too, so
     * that `flatline follow` on it ends. */
    fl_job_outcome early = {.state = state};
    snprintf(early.cause, sizeof early.cause, "%s",
             rc ? (cause ? cause : fl_cause_of_error(rc) ? fl_cause_of_error(rc) : "") : "");
    snprintf(early.message, sizeof early.message, "%s", err.msg);
    fl_error ferr = {0};
    if (fl_jobdir_finish(jd, &early, NULL, &ferr) != 0)
      fprintf(err_out, "flatlined: %s\n", ferr.msg);
  }
  if (json) {
    print_line(out, fl_event_end_metrics(job, state,
                                         rc ? (cause ? cause : fl_cause_of_error(rc)) : cause,
                                         rc || err.msg[0] ? err.msg : NULL, end_metrics));
  } else if (rc) {
    fprintf(err_out, "flatlined: %s%s%s: %s\n", state, cause ? " (" : "",
            cause ? cause : "", err.msg);
  } else if (cause) {
    fprintf(out, "flatlined: done, with a diagnosed problem: %s\n", cause);
  }
out:
  fl_jobdir_close(jd);
  fl_device_close(dev);
  fl_dataset_free(&train);
  if (has_val) fl_dataset_free(&val);
  fl_spec_free(&spec);
  free(text);
  free(end_metrics);
  if (rc == FL_EXIT_RESUMABLE) return rc;
  if (rc) return 1;
  return cause ? 3 : 0;
}
