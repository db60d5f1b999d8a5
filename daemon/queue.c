/* daemon/queue.c — queue control requests (docs/protocol.md): `log` (a
 * job's whole event history, paced by pump.c, then its reply), `wait` (a
 * reply once every named job has ended, with each one's state), `rm` (a
 * finished job and its unused uploads, retention.c), `cancel` with
 * "all": true, and the --after dependencies that the scheduler honours.
 *
 * Caps, against a hostile local user: a wait names at most
 * FL_WAIT_MAX_JOBS jobs (the request parser refuses more) and a connection
 * keeps at most FL_MAX_WAITS of them, and at most FL_MAX_FOLLOWS log
 * streams; with the per-user connection cap that bounds what one user can
 * make the daemon hold. Each id must be the
 * requester's own job (or the requester root), as for follow. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "queue.h"
#include "storage.h"

/* Waits one connection may have pending (a script waits for one batch at
 * a time; a few leave room for pipelining). */
#define FL_MAX_WAITS 4

/* Longest --after chain walked when checking a new job's dependency for a
 * cycle; a longer chain is refused too, since a chain that long is more
 * likely a loop in damaged job files than a plan. */
#define FL_AFTER_CHAIN_MAX 10000

typedef struct {
  const fl_job *job; /* while it runs; NULL once it ended (results below) */
  char id[FL_JOB_ID_MAX];
  fl_job_state state;
  char cause[64];
  bool diagnosed;
} wait_item;

typedef struct fl_wait {
  int64_t id;
  int n, remaining;
  wait_item *items;
  struct fl_wait *next;
} fl_wait;

/* ---- log ---- */

void fl_on_log(fl_client *c, const fl_request *r) {
  fl_job *job = fl_owned_job(c, r, "read the log of");
  if (!job) return;
  /* Each stream holds a chunk buffer and a file: as many as follows. */
  if (fl_pump_count(c) >= FL_MAX_FOLLOWS) {
    fl_reply_error(c, r->id, "limit", "a connection may read at most %d logs "
                   "or exports at once; wait for their replies first",
                   FL_MAX_FOLLOWS);
    return;
  }
  char path[4200];
  fl_error err = {0};
  snprintf(path, sizeof path, "%s/events.jsonl", job->dir);
  int rc = fl_pump_log(c, job, path, r->id, &err);
  if (rc == FL_ENOTFOUND) { /* no event yet: an empty history */
    fl_jw w;
    fl_reply_begin(&w, r->id, true);
    fl_jw_str(&w, "job", job->id);
    fl_jw_int(&w, "lines", 0);
    fl_jw_str(&w, "state", fl_job_state_name(job->state));
    fl_reply_end(c, &w);
  } else if (rc) {
    fl_reply_error(c, r->id, "internal", "cannot read the log of job %s: %s",
                   job->id, err.msg);
  }
}

/* ---- wait ---- */

static void item_ended(wait_item *it, const fl_job *job) {
  it->job = NULL;
  it->state = job->state;
  snprintf(it->cause, sizeof it->cause, "%s", job->cause);
  it->diagnosed = fl_job_diagnosed(job);
}

static void wait_reply(fl_client *c, const fl_wait *w) {
  fl_jw jw;
  fl_reply_begin(&jw, w->id, true);
  fl_jw_array_begin(&jw, "jobs");
  for (int i = 0; i < w->n; i++) {
    const wait_item *it = &w->items[i];
    fl_jw_object_begin(&jw, NULL);
    fl_jw_str(&jw, "job", it->id);
    fl_jw_str(&jw, "state", fl_job_state_name(it->state));
    fl_jw_str(&jw, "cause", it->cause[0] ? it->cause : NULL);
    fl_jw_bool(&jw, "diagnosed", it->diagnosed);
    fl_jw_object_end(&jw);
  }
  fl_jw_array_end(&jw);
  fl_reply_end(c, &jw);
}

static void wait_free(fl_wait *w) {
  if (!w) return;
  free(w->items);
  free(w);
}

void fl_on_wait(fl_client *c, const fl_request *r) {
  if (c->n_waits >= FL_MAX_WAITS) {
    fl_reply_error(c, r->id, "limit", "a connection may have at most %d waits "
                   "pending; wait for their replies first", FL_MAX_WAITS);
    return;
  }
  fl_wait *w = calloc(1, sizeof *w);
  wait_item *items = calloc((size_t)r->n_jobs, sizeof *items);
  if (!w || !items) {
    free(w);
    free(items);
    fl_reply_error(c, r->id, "internal", "out of memory");
    return;
  }
  w->id = r->id;
  w->items = items;
  w->n = r->n_jobs;
  for (int i = 0; i < r->n_jobs; i++) {
    fl_request one = *r;
    snprintf(one.job, sizeof one.job, "%s", r->jobs[i]);
    fl_job *job = fl_owned_job(c, &one, "wait for");
    if (!job) { /* replied: not found or not yours */
      wait_free(w);
      return;
    }
    snprintf(items[i].id, sizeof items[i].id, "%s", job->id);
    if (fl_job_state_final(job->state)) {
      item_ended(&items[i], job);
    } else {
      items[i].job = job;
      w->remaining++;
    }
  }
  if (w->remaining == 0) {
    wait_reply(c, w);
    wait_free(w);
    return;
  }
  w->next = c->waits;
  c->waits = w;
  c->n_waits++;
}

void fl_waits_job_ended(fl_daemon *d, const fl_job *job) {
  for (fl_client *c = d->clients, *next; c; c = next) {
    next = c->next; /* a reply may close c */
    for (fl_wait **pw = &c->waits; *pw;) {
      fl_wait *w = *pw;
      for (int i = 0; i < w->n; i++)
        if (w->items[i].job == job) {
          item_ended(&w->items[i], job);
          w->remaining--;
        }
      if (w->remaining > 0) {
        pw = &w->next;
        continue;
      }
      *pw = w->next;
      c->n_waits--;
      wait_reply(c, w);
      wait_free(w);
    }
  }
}

void fl_waits_free(fl_client *c) {
  while (c->waits) {
    fl_wait *next = c->waits->next;
    wait_free(c->waits);
    c->waits = next;
  }
  c->n_waits = 0;
}

/* ---- rm ---- */

void fl_on_rm(fl_client *c, const fl_request *r) {
  fl_job *job = fl_owned_job(c, r, "remove");
  if (!job) return;
  if (!fl_job_state_final(job->state)) {
    fl_reply_error(c, r->id, "bad_request", "job %s is %s%s; only a finished "
                   "job can be removed: cancel it first (flatline cancel %s) "
                   "or wait for it (flatline wait %s)", job->id,
                   fl_job_state_name(job->state),
                   job->cancel_requested ? " (cancelling)" : "", job->id, job->id);
    return;
  }
  char id[FL_JOB_ID_MAX];
  snprintf(id, sizeof id, "%s", job->id);
  fl_usage *u = fl_usage_of(c->d, job->uid);
  uint64_t before = u ? u->bytes : 0;
  fl_error err = {0};
  if (fl_job_remove(c->d, job, &err)) {
    fl_reply_error(c, r->id, "internal", "%s", err.msg);
    return;
  }
  fl_log(FL_LOG_INFO, "job %s removed by %s", id, c->user);
  fl_jw w;
  fl_reply_begin(&w, r->id, true);
  fl_jw_str(&w, "job", id);
  fl_jw_int(&w, "freed", (long long)(u && before > u->bytes ? before - u->bytes : 0));
  fl_reply_end(c, &w);
}

/* ---- cancel --all ---- */

void fl_on_cancel_all(fl_client *c, const fl_request *r) {
  fl_daemon *d = c->d;
  fl_jw w;
  fl_reply_begin(&w, r->id, true);
  fl_jw_array_begin(&w, "jobs");
  char failed[FL_ERRMSG_MAX] = "";
  /* Only the requester's own jobs, root's included: --all is "mine", not
   * "everyone's", even for root. A cancel may end jobs and send their
   * ends (which may free nothing: jobs stay in d->jobs). */
  for (fl_job *j = d->jobs; j; j = j->next) {
    if (j->uid != c->uid || fl_job_state_final(j->state) || j->cancel_requested)
      continue;
    bool was_queued = j->state == FL_JOB_QUEUED;
    fl_error err = {0};
    if (fl_job_cancel(d, j, c->user, &err)) {
      if (!failed[0]) snprintf(failed, sizeof failed, "%s", err.msg);
      continue;
    }
    if (was_queued) fl_storage_job_ended(d, j);
    fl_log(FL_LOG_INFO, "job %s cancelled by %s (--all)", j->id, c->user);
    fl_jw_object_begin(&w, NULL);
    fl_jw_str(&w, "job", j->id);
    fl_jw_str(&w, "state", was_queued ? "cancelled" : "cancelling");
    fl_jw_object_end(&w);
    if (w.len > FL_FRAME_MAX_JSON / 2) break; /* max_queued_jobs keeps it far */
  }
  fl_jw_array_end(&w);
  fl_jw_str(&w, "error", failed[0] ? failed : NULL);
  fl_reply_end(c, &w);
  fl_schedule(d);
}

/* ---- --after ---- */

bool fl_queue_after_ok(fl_client *c, const fl_request *r) {
  if (!r->after[0]) return true;
  fl_daemon *d = c->d;
  fl_job *dep = fl_job_find(d, r->after);
  if (!dep) {
    fl_reply_error(c, r->id, "bad_request", "--after %s: no such job; "
                   "`flatline list` shows the jobs", r->after);
    return false;
  }
  if (c->uid != 0 && dep->uid != c->uid) {
    fl_reply_error(c, r->id, "forbidden", "--after %s: you do not own job %s "
                   "(owner %s); a job may only wait for your own jobs",
                   r->after, dep->id, dep->user);
    return false;
  }
  if (dep->state != FL_JOB_QUEUED && dep->state != FL_JOB_RUNNING &&
      dep->state != FL_JOB_DONE) {
    fl_reply_error(c, r->id, "bad_request", "--after %s: job %s already ended "
                   "%s, so this job could never run", r->after, dep->id,
                   fl_job_state_name(dep->state));
    return false;
  }
  /* The new job's id does not exist yet, so it cannot be in the chain;
   * but job files may be damaged or edited: walk the chain, bounded. */
  const fl_job *j = dep;
  for (int steps = 0; j && j->after[0]; steps++) {
    if (steps >= FL_AFTER_CHAIN_MAX || strcmp(j->after, dep->id) == 0) {
      fl_reply_error(c, r->id, "bad_request", "--after %s: its dependencies "
                     "form a cycle (or a chain over %d jobs); pick another job",
                     r->after, FL_AFTER_CHAIN_MAX);
      return false;
    }
    j = fl_job_find(d, j->after);
  }
  return true;
}

bool fl_queue_ready(fl_daemon *d, const fl_job *job) {
  if (!job->after[0]) return true;
  char why[8];
  return fl_dep_state_of(job, fl_job_find(d, job->after), why, sizeof why) ==
         FL_DEP_READY;
}

void fl_queue_fail_broken(fl_daemon *d) {
  for (fl_job *j = d->jobs; j; j = j->next) {
    if (j->state != FL_JOB_QUEUED || !j->after[0]) continue;
    char why[FL_ERRMSG_MAX];
    if (fl_dep_state_of(j, fl_job_find(d, j->after), why, sizeof why) != FL_DEP_BROKEN)
      continue;
    j->state = FL_JOB_FAILED;
    j->cause[0] = '\0';
    snprintf(j->message, sizeof j->message, "%s", why);
    fl_log(FL_LOG_INFO, "job %s failed: %s", j->id, why);
    fl_job_finish(d, j); /* job.json, the end line, followers and waits */
    fl_storage_job_ended(d, j);
  }
}

/* ---- groups (issue 15: sweeps) ---- */

/* A group is the jobs that carry its id; it has no record of its own, so
 * it lives and persists exactly as long as its jobs (job.json keeps the
 * id). Its owner is the uid of its jobs: submit only lets that uid add to
 * it. */
bool fl_group_join_ok(fl_client *c, const fl_request *r) {
  if (!r->group[0] || strcmp(r->group, "new") == 0) return true;
  int n = 0;
  const fl_job *owner = NULL;
  for (const fl_job *j = c->d->jobs; j; j = j->next) {
    if (strcmp(j->group, r->group) != 0) continue;
    n++;
    if (!owner) owner = j;
  }
  if (!owner) {
    fl_reply_error(c, r->id, "not_found", "no group %s; start one with "
                   "\"group\": \"new\" (`flatline submit SPEC --sweep ...`)",
                   r->group);
    return false;
  }
  if (owner->uid != c->uid) {
    fl_reply_error(c, r->id, "forbidden", "group %s is %s's; only its owner "
                   "adds jobs to it", r->group, owner->user);
    return false;
  }
  if (n >= FL_GROUP_MAX_JOBS) {
    fl_reply_error(c, r->id, "limit", "group %s already has %d jobs (the "
                   "limit); start another group", r->group, FL_GROUP_MAX_JOBS);
    return false;
  }
  return true;
}

/* A number of the last epoch event, or null. */
static void epoch_number(fl_jw *w, const fl_json *ev, const char *key) {
  double v;
  if (ev && fl_json_number(fl_json_get(ev, key), &v)) fl_jw_num(w, key, v);
  else fl_jw_null(w, key);
}

void fl_on_group(fl_client *c, const fl_request *r) {
  int n = 0;
  for (const fl_job *j = c->d->jobs; j; j = j->next) {
    if (strcmp(j->group, r->group) != 0) continue;
    if (c->uid != 0 && j->uid != c->uid) {
      fl_reply_error(c, r->id, "forbidden", "group %s is %s's; only its owner "
                     "or root may see its results (`flatline list --group %s` "
                     "shows its jobs)", r->group, j->user, r->group);
      return;
    }
    n++;
  }
  if (n == 0) {
    fl_reply_error(c, r->id, "not_found", "no group %s; `flatline --json list` "
                   "shows each job's group", r->group);
    return;
  }
  /* At most FL_GROUP_MAX_JOBS jobs of bounded fields (the sweep's caps):
   * well under a frame. */
  fl_jw w;
  fl_reply_begin(&w, r->id, true);
  fl_jw_str(&w, "group", r->group);
  fl_jw_array_begin(&w, "jobs");
  for (const fl_job *j = c->d->jobs; j; j = j->next) {
    if (strcmp(j->group, r->group) != 0) continue;
    fl_json *ev = j->last_epoch ? fl_json_parse(j->last_epoch, strlen(j->last_epoch), NULL)
                                : NULL;
    fl_jw_object_begin(&w, NULL);
    fl_jw_str(&w, "job", j->id);
    fl_jw_str(&w, "name", j->name);
    fl_jw_str(&w, "state", fl_job_state_name(j->state));
    fl_jw_bool(&w, "cancelling", j->state == FL_JOB_RUNNING && j->cancel_requested);
    fl_jw_int(&w, "epoch", j->epoch);
    fl_jw_int(&w, "epochs", j->epochs);
    if (j->sweep) fl_jw_raw(&w, "sweep", j->sweep);
    else fl_jw_null(&w, "sweep");
    epoch_number(&w, ev, "loss");
    epoch_number(&w, ev, "accuracy");
    epoch_number(&w, ev, "val_loss");
    epoch_number(&w, ev, "val_accuracy");
    fl_jw_str(&w, "verdict", j->verdict[0] ? j->verdict : NULL);
    /* the verdict's first cause; a job that failed before one: its end's */
    const char *cause = j->verdict[0] ? j->verdict_cause : j->cause;
    fl_jw_str(&w, "cause", cause[0] ? cause : NULL);
    fl_jw_object_end(&w);
    fl_json_free(ev);
  }
  fl_jw_array_end(&w);
  fl_reply_end(c, &w);
}
