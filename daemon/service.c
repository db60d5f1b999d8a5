/* daemon/service.c — flatlined as a service: sets up the state and cache
 * folders, the job store, one worker per device, the socket (bound here or
 * passed by systemd), signals and the systemd watchdog; then runs the libuv
 * loop. Worker mail (events, finished jobs) is drained here. */
#include "service.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "client.h"
#include "config.h"
#include "daemon.h"
#include "fsutil.h"
#include "predict.h"
#include "queue.h"
#include "flatline/common.h"
#include "sd.h"
#include "storage.h"
#include "trust.h"

double fl_daemon_now(const fl_daemon *d) {
  return (double)time(NULL) + (double)d->limits.test_clock_offset;
}

void fl_daemon_update_status(fl_daemon *d) {
  int running = 0, queued = 0;
  for (fl_job *j = d->jobs; j; j = j->next) {
    running += j->state == FL_JOB_RUNNING;
    queued += j->state == FL_JOB_QUEUED;
  }
  char status[128];
  snprintf(status, sizeof status, "STATUS=%d running, %d queued, %d device(s)",
           running, queued, d->n_workers);
  fl_sd_notify(status);
}

static void begin_close(fl_daemon *d);

static void handle_mail(fl_daemon *d, fl_mail *m) {
  fl_job *job = m->job;
  if (m->kind == FL_MAIL_PREDICTED) {
    fl_predict_done(m->task);
    return;
  }
  if (m->kind == FL_MAIL_EVENT) {
    fl_job_note_event(job, m->text);
    if (m->epoch > 0) {
      job->epoch = m->epoch;
      free(job->last_epoch);
      job->last_epoch = strdup(m->text);
    }
    fl_server_broadcast(d, job, m->seq, m->text);
    return;
  }
  /* FINISHED */
  fl_worker *w = job->device >= 0 && job->device < d->n_workers ? &d->workers[job->device] : NULL;
  if (w) w->busy = false;
  job->state = m->state;
  job->epoch = m->epoch;
  snprintf(job->cause, sizeof job->cause, "%s", m->cause);
  snprintf(job->message, sizeof job->message, "%s", m->message);
  if (m->interrupted) {
    fl_error err = {0};
    if (fl_job_save(d, job, &err)) fl_log(FL_LOG_ERR, "job %s: %s", job->id, err.msg);
  } else {
    fl_job_finish(d, job); /* job.json, then the end line, then followers */
  }
  fl_storage_job_ended(d, job);
  fl_log(FL_LOG_INFO, "job %s %s%s%s", job->id,
         m->interrupted ? "interrupted; queued to resume" : fl_job_state_name(job->state),
         m->message[0] ? ": " : "", m->message);
  if (d->shutting_down) {
    if (fl_workers_all_idle(d)) begin_close(d);
  } else {
    fl_schedule(d);
  }
}

static void on_mail(uv_async_t *h) {
  fl_daemon *d = h->data;
  pthread_mutex_lock(&d->mail_lock);
  fl_mail *m = d->mail_head;
  d->mail_head = d->mail_tail = NULL;
  pthread_mutex_unlock(&d->mail_lock);
  while (m) {
    fl_mail *next = m->next;
    handle_mail(d, m);
    free(m->text);
    free(m);
    m = next;
  }
}

static void close_handle(uv_handle_t *h) {
  if (!uv_is_closing(h)) uv_close(h, NULL);
}

/* Everything is idle: close every handle so that uv_run returns. */
static void begin_close(fl_daemon *d) {
  fl_server_close_all(d);
  fl_server_stop_listening(d);
  close_handle((uv_handle_t *)&d->mailbox);
  close_handle((uv_handle_t *)&d->sig_term);
  close_handle((uv_handle_t *)&d->sig_int);
  close_handle((uv_handle_t *)&d->sig_hup);
  if (d->retention_on) close_handle((uv_handle_t *)&d->retention_timer);
  if (d->watchdog_on) close_handle((uv_handle_t *)&d->watchdog);
}

static void on_stop_signal(uv_signal_t *h, int signum) {
  fl_daemon *d = h->data;
  if (d->shutting_down) return;
  fl_log(FL_LOG_NOTICE, "%s: stopping; running jobs keep their last epoch "
         "checkpoint and resume at the next start", strsignal(signum));
  fl_sd_notify("STOPPING=1");
  d->shutting_down = true;
  atomic_store(&d->stopping, true);
  fl_server_stop_listening(d);
  if (fl_workers_all_idle(d)) begin_close(d);
}

/* --config, else /etc/flatline/flatlined.conf when it exists (config.h). */
static int load_config(fl_daemon *d, const char **used, fl_error *err) {
  return fl_config_load_chosen(d->config_path[0] ? d->config_path : NULL,
                               FL_CONFIG_DEFAULT_PATH, &d->limits, used, err);
}

/* systemctl reload flatlined (ExecReload= sends SIGHUP). */
static void on_hup(uv_signal_t *h, int signum) {
  (void)signum;
  fl_daemon *d = h->data;
  fl_error err = {0};
  const char *used = NULL;
  fl_sd_notify("RELOADING=1");
  if (load_config(d, &used, &err)) {
    fl_log(FL_LOG_ERR, "SIGHUP: config not reloaded: %s", err.msg);
  } else {
    fl_mem_budget_resize(&d->mem, d->limits.load_memory_bytes);
    fl_retention_sweep(d); /* a new retention (or test clock) applies now */
    if (used)
      fl_log(FL_LOG_NOTICE, "SIGHUP: reloaded %s", used);
    else
      fl_log(FL_LOG_NOTICE, "SIGHUP: no --config and no %s: default limits",
             FL_CONFIG_DEFAULT_PATH);
  }
  fl_sd_notify("READY=1");
}

static void on_watchdog(uv_timer_t *t) {
  (void)t;
  fl_sd_notify("WATCHDOG=1");
}

static void set_dir(char *out, size_t size, const char *opt, const char *env,
                    const char *fallback) {
  const char *e = env ? getenv(env) : NULL;
  /* systemd may list several folders separated by ':'; we use the first. */
  snprintf(out, size, "%s", opt ? opt : e && *e ? e : fallback);
  char *colon = opt ? NULL : strchr(out, ':');
  if (colon) *colon = '\0';
}

int fl_service_run(const fl_service_options *opt) {
  static fl_daemon daemon; /* the loop's handles point into it */
  fl_daemon *d = &daemon;
  memset(d, 0, sizeof *d);
  fl_error err = {0};
  int rc;
  d->loop = uv_default_loop();
  d->next_job_number = 1;
  pthread_mutex_init(&d->mail_lock, NULL);
  fl_limits_default(&d->limits);
  snprintf(d->socket_path, sizeof d->socket_path, "%s",
           opt->socket_path ? opt->socket_path : "/run/flatline.sock");
  set_dir(d->state_dir, sizeof d->state_dir, opt->state_dir, "STATE_DIRECTORY",
          "/var/lib/flatline");
  set_dir(d->cache_dir, sizeof d->cache_dir, opt->cache_dir, "CACHE_DIRECTORY",
          "/var/cache/flatline");
  if (opt->config_path) snprintf(d->config_path, sizeof d->config_path, "%s", opt->config_path);

  if (strlen(d->state_dir) > 2048 || strlen(d->cache_dir) > 2048) {
    rc = fl_error_set(&err, FL_EINVAL, "--state-dir and --cache-dir must be "
                      "shorter than 2048 bytes");
    goto fail;
  }
  /* Tests' fault injection; inert unless FL_FAULT is set (fsutil.h). */
  if ((rc = fl_fault_arm(getenv("FL_FAULT"), &err))) goto fail;
  /* Links above the two folders are the admin's: resolved here, once. In
   * and below them nothing is followed (fsutil.h). */
  char resolved[4096];
  if ((rc = fl_path_resolve(d->state_dir, resolved, sizeof resolved, &err))) goto fail;
  snprintf(d->state_dir, sizeof d->state_dir, "%s", resolved);
  if ((rc = fl_path_resolve(d->cache_dir, resolved, sizeof resolved, &err))) goto fail;
  snprintf(d->cache_dir, sizeof d->cache_dir, "%s", resolved);
  const char *config_used = NULL;
  if ((rc = load_config(d, &config_used, &err))) goto fail;
  fl_mem_budget_init(&d->mem, d->limits.load_memory_bytes);
  /* POCL caches compiled kernels here, so restarts start warm. */
  char pocl[4200];
  snprintf(pocl, sizeof pocl, "%s/pocl", d->cache_dir);
  if ((rc = fl_mkdirs(d->state_dir, 0750, &err)) || (rc = fl_mkdirs(pocl, 0750, &err)))
    goto fail;
  /* Before the load repairs anything: one daemon per state dir. */
  if ((rc = fl_lock_dir(d->state_dir, "lock", &err))) goto fail;
  /* Nothing in either folder is trusted unless no other user could have
   * put it there: they hold job files, uploads, tuning and compiled
   * kernels that the daemon reads, writes and runs with its own rights. */
  static const char *const state_entries[] = {"jobs", "blobs", NULL};
  static const char *const cache_entries[] = {"pocl", "tune", NULL};
  if ((rc = fl_dir_trust(d->state_dir, state_entries, "state dir", &err)) ||
      (rc = fl_dir_trust(d->cache_dir, cache_entries, "cache dir", &err)))
    goto fail;
  setenv("POCL_CACHE_DIR", pocl, 0);
  /* Before any thread exists: it unsets the LISTEN_* variables. */
  int activated = fl_sd_listen_fd();
  /* A second daemon on a live socket stops here, before it opens (and
   * warms) the devices that the first one owns. */
  if (activated < 0 && (rc = fl_server_check_socket(d->socket_path, &err))) goto fail;
  if ((rc = fl_jobs_load(d, &err)) || (rc = fl_storage_scan(d, &err)) ||
      (rc = fl_workers_start(d, &err)))
    goto fail;

  uv_async_init(d->loop, &d->mailbox, on_mail);
  d->mailbox.data = d;
  uv_signal_init(d->loop, &d->sig_term);
  uv_signal_init(d->loop, &d->sig_int);
  uv_signal_init(d->loop, &d->sig_hup);
  d->sig_term.data = d->sig_int.data = d->sig_hup.data = d;
  uv_signal_start(&d->sig_term, on_stop_signal, SIGTERM);
  uv_signal_start(&d->sig_int, on_stop_signal, SIGINT);
  uv_signal_start(&d->sig_hup, on_hup, SIGHUP);
  signal(SIGPIPE, SIG_IGN); /* a vanished client is an error code, not death */

  if ((rc = fl_server_start(d, activated, opt->socket_mode, opt->socket_group, &err))) {
    begin_close(d);
    uv_run(d->loop, UV_RUN_DEFAULT);
    goto fail;
  }
  uint64_t wd = fl_sd_watchdog_usec();
  if (wd > 0) {
    uv_timer_init(d->loop, &d->watchdog);
    d->watchdog.data = d;
    uv_timer_start(&d->watchdog, on_watchdog, wd / 2000, wd / 2000);
    d->watchdog_on = true;
  }
  fl_log(FL_LOG_NOTICE, "flatlined %s listening on %s (%s); state %s, config %s, "
         "%d device(s)", FL_VERSION_STRING,
         activated >= 0 ? "socket from systemd" : d->socket_path,
         activated >= 0 ? "activated" : "bound", d->state_dir,
         config_used ? config_used : "none (defaults)", d->n_workers);
  fl_sd_notify("READY=1");
  fl_retention_start(d);
  fl_schedule(d);
  uv_run(d->loop, UV_RUN_DEFAULT);

  fl_workers_stop(d);
  fl_jobs_reap(d, true);
  while (d->jobs) {
    fl_job *next = d->jobs->next;
    fl_job_free(d->jobs);
    d->jobs = next;
  }
  uv_loop_close(d->loop);
  fl_usage_free_all(d);
  fl_log(FL_LOG_NOTICE, "stopped");
  return 0;

fail:
  fl_log(FL_LOG_ERR, "%s", err.msg);
  fl_workers_stop(d);
  fl_usage_free_all(d);
  while (d->jobs) {
    fl_job *next = d->jobs->next;
    fl_job_free(d->jobs);
    d->jobs = next;
  }
  return 1;
}
