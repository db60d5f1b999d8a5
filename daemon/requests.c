/* daemon/requests.c — what the daemon does for each request of
 * docs/protocol.md: a const table maps request types to short handlers
 * (decode -> check ownership/limits -> act -> reply). Blob uploads arrive
 * here as binary chunks after their blob_put. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "client.h"
#include "flatline/job.h"
#include "fsutil.h"
#include "job_data.h"
#include "predict.h"
#include "queue.h"
#include "storage.h"
#include "flatline/common.h"

/* ---- replies ---- */

void fl_reply_begin(fl_jw *w, int64_t id, bool ok) {
  fl_jw_init(w);
  fl_jw_object_begin(w, NULL);
  fl_jw_str(w, "type", "reply");
  fl_jw_int(w, "id", id);
  fl_jw_bool(w, "ok", ok);
}

void fl_reply_end(fl_client *c, fl_jw *w) {
  fl_jw_object_end(w);
  char *text = fl_jw_finish(w);
  if (text) fl_client_send_text(c, text, false);
  else fl_client_fail(c, "out of memory building a reply");
  free(text);
}

static void reply_ok(fl_client *c, int64_t id) {
  fl_jw w;
  fl_reply_begin(&w, id, true);
  fl_reply_end(c, &w);
}

void fl_reply_error(fl_client *c, int64_t id, const char *code,
                    const char *fmt, ...) {
  char msg[FL_ERRMSG_MAX];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  fl_jw w;
  fl_reply_begin(&w, id, false);
  fl_jw_str(&w, "code", code);
  fl_jw_str(&w, "error", msg);
  fl_reply_end(c, &w);
}

/* ---- ownership ---- */

static bool may_touch(const fl_client *c, const fl_job *job) {
  return c->uid == 0 || c->uid == job->uid;
}

fl_job *fl_owned_job(fl_client *c, const fl_request *r, const char *verb) {
  fl_job *job = fl_job_find(c->d, r->job);
  if (!job) {
    fl_reply_error(c, r->id, "not_found", "no job %s; `flatline list` shows the "
                "jobs", r->job);
    return NULL;
  }
  if (!may_touch(c, job)) {
    fl_reply_error(c, r->id, "forbidden", "you do not own job %s (owner %s); only "
                "the owner or root may %s it", job->id, job->user, verb);
    return NULL;
  }
  return job;
}

/* ---- job descriptions ---- */

static void job_fields(fl_jw *w, const fl_job *job) {
  fl_jw_str(w, "job", job->id);
  fl_jw_str(w, "name", job->name);
  fl_jw_int(w, "owner", job->uid);
  fl_jw_str(w, "user", job->user);
  fl_jw_str(w, "state", fl_job_state_name(job->state));
  if (job->device >= 0) fl_jw_int(w, "device", job->device);
  else fl_jw_null(w, "device");
  fl_jw_int(w, "epoch", job->epoch);
  fl_jw_int(w, "epochs", job->epochs);
  fl_jw_int(w, "submitted", (long long)job->submitted);
  /* issue 14, additive: times (null until then), the device's name,
   * priority, dependency, and a running job's cancel under way. */
  if (job->started > 0) fl_jw_int(w, "started", (long long)job->started);
  else fl_jw_null(w, "started");
  if (job->ended > 0) fl_jw_int(w, "ended", (long long)job->ended);
  else fl_jw_null(w, "ended");
  fl_jw_int(w, "priority", job->priority);
  fl_jw_str(w, "after", job->after[0] ? job->after : NULL);
  fl_jw_bool(w, "cancelling", job->state == FL_JOB_RUNNING && job->cancel_requested);
  fl_jw_str(w, "group", job->group[0] ? job->group : NULL); /* issue 15 */
}

/* The name of the device a job runs or ran on, or NULL. */
static const char *device_name_of(const fl_daemon *d, const fl_job *job) {
  return job->device >= 0 && job->device < d->n_workers
             ? d->workers[job->device].info.name
             : NULL;
}

/* ---- handlers ---- */

static void on_hello(fl_client *c, const fl_request *r) {
  if (r->protocol != FL_PROTOCOL_VERSION) {
    fl_client_fail(c, "protocol %d is not supported; this daemon speaks "
                   "protocol %d (upgrade the client)", r->protocol, FL_PROTOCOL_VERSION);
    return;
  }
  c->hello_done = true;
}

static void on_blob_check(fl_client *c, const fl_request *r) {
  fl_jw w;
  fl_reply_begin(&w, r->id, true);
  fl_jw_array_begin(&w, "missing");
  for (int i = 0; i < r->n_blobs; i++)
    if (!fl_blob_exists(c->d, c->uid, r->blobs[i], NULL)) fl_jw_str(&w, NULL, r->blobs[i]);
  fl_jw_array_end(&w);
  fl_reply_end(c, &w);
}

static void end_upload(fl_client *c) {
  fl_storage_release(c->d, c->uid, c->up_reserved, 1);
  c->up_reserved = 0;
  c->up_hash = NULL;
  if (c->up_fd >= 0) close(c->up_fd);
  c->up_fd = -1;
  c->uploading = false;
  c->up_syncing = false;
}

/* The upload's bytes are on disk (fsync on the thread pool, never on the
 * loop); give the blob its name. A blob is trusted by its name (the hash),
 * so it must not get one before its content is durable. */
static void upload_synced(uv_fs_t *req) {
  fl_client *c = req->data;
  int rc = (int)req->result;
  uv_fs_req_cleanup(req);
  c->pending--;
  if (c->closed) { /* the client went away: its abort already unlinked */
    end_upload(c);
    if (c->pending == 0) fl_client_free(c);
    return;
  }
  char final[4200];
  struct stat st;
  int e = rc < 0 ? -rc : fstat(c->up_fd, &st) != 0 ? errno : 0;
  fl_blob_path(c->d, c->uid, c->up_sha, final, sizeof final);
  bool had = !e && fl_blob_exists(c->d, c->uid, c->up_sha, NULL);
  if (!e && rename(c->up_tmp, final) != 0) e = errno;
  if (e) unlink(c->up_tmp);
  end_upload(c);
  if (e) fl_reply_error(c, c->up_id, "internal", "cannot store the upload: %s", strerror(e));
  else {
    if (!had) fl_storage_add(c->d, c->uid, (uint64_t)st.st_blocks * 512u, 1);
    reply_ok(c, c->up_id);
  }
  fl_client_resume_if_drained(c);
}

static void finish_upload(fl_client *c) {
  char hex[FL_SHA256_HEX];
  fl_sha256_final(c->up_hash, hex);
  c->up_hash = NULL;
  if (strcmp(hex, c->up_sha) != 0) {
    unlink(c->up_tmp);
    end_upload(c);
    fl_reply_error(c, c->up_id, "bad_request", "upload's SHA-256 is %s, not the "
                "announced %s; the file changed while uploading? submit again",
                hex, c->up_sha);
    return;
  }
  c->up_syncing = true; /* no further frame is an upload chunk */
  c->up_sync.data = c;
  c->pending++;
  int rc = uv_fs_fsync(c->d->loop, &c->up_sync, c->up_fd, upload_synced);
  if (rc < 0) {
    c->pending--;
    unlink(c->up_tmp);
    end_upload(c);
    fl_reply_error(c, c->up_id, "internal", "cannot store the upload: %s", uv_strerror(rc));
  }
}

void fl_client_abort_upload(fl_client *c) {
  if (!c->uploading) return;
  /* An fsync under way still uses the fd: upload_synced cleans up. */
  if (c->up_syncing) {
    unlink(c->up_tmp);
    return;
  }
  if (c->up_hash) {
    char hex[FL_SHA256_HEX];
    fl_sha256_final(c->up_hash, hex); /* frees it */
  }
  unlink(c->up_tmp);
  end_upload(c);
}

static void on_blob_put(fl_client *c, const fl_request *r) {
  fl_daemon *d = c->d;
  char why[FL_ERRMSG_MAX];
  uint64_t need = fl_storage_round(r->size);
  if (fl_storage_reserve(d, c->uid, need, 1, why, sizeof why)) {
    /* The chunks will still arrive: refuse and drop the connection rather
     * than read gigabytes to throw away. */
    fl_reply_error(c, r->id, "limit", "%s", why);
    c->closing = true;
    uv_read_stop((uv_stream_t *)&c->pipe);
    if (c->queued_frames == 0) fl_client_close(c);
    return;
  }
  c->up_reserved = need;
  char dir[4200];
  fl_error err = {0};
  fl_blob_path(d, c->uid, NULL, dir, sizeof dir);
  if (fl_mkdirs(dir, 0750, &err)) {
    fl_storage_release(d, c->uid, need, 1);
    c->up_reserved = 0;
    fl_reply_error(c, r->id, "internal", "%s", err.msg);
    return;
  }
  snprintf(c->up_tmp, sizeof c->up_tmp, "%s/.upload-%p-%lld", dir, (void *)c,
           (long long)r->id);
  /* O_EXCL|O_NOFOLLOW: never write through something already there. */
  unlink(c->up_tmp);
  c->up_fd = open(c->up_tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0640);
  if (c->up_fd < 0) {
    int e = errno;
    fl_storage_release(d, c->uid, need, 1);
    c->up_reserved = 0;
    fl_reply_error(c, r->id, "internal", "cannot store uploads: %s", strerror(e));
    return;
  }
  c->up_hash = fl_sha256_new();
  c->uploading = true;
  c->up_id = r->id;
  c->up_remaining = r->size;
  snprintf(c->up_sha, sizeof c->up_sha, "%s", r->sha256);
  if (r->size == 0) finish_upload(c);
}

void fl_handle_binary(fl_client *c, const uint8_t *data, size_t len) {
  if (!c->uploading) {
    fl_client_fail(c, "binary chunk without a blob_put announcing it");
    return;
  }
  if (len > c->up_remaining) {
    fl_client_abort_upload(c);
    fl_client_fail(c, "binary chunk of %zu bytes exceeds the %llu bytes left of "
                   "the announced upload", len, (unsigned long long)c->up_remaining);
    return;
  }
  /* Page-cache writes of at most 4 MiB; no fsync on the loop thread. */
  const uint8_t *p = data;
  size_t left = len;
  while (left > 0) {
    ssize_t w = write(c->up_fd, p, left);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      int64_t id = c->up_id, e = w < 0 ? errno : ENOSPC;
      fl_client_abort_upload(c);
      fl_reply_error(c, id, "internal", "cannot store the upload: %s", strerror((int)e));
      fl_client_fail(c, "upload aborted");
      return;
    }
    p += w;
    left -= (size_t)w;
  }
  fl_sha256_update(c->up_hash, data, len);
  c->up_remaining -= len;
  if (c->up_remaining == 0) finish_upload(c);
}

/* The files a spec names, for matching against the uploaded ones. */
static int spec_paths(const fl_job_spec *s, const char *out[4]) {
  int n = 0;
  const fl_data_source *src[2] = {&s->train, &s->validation};
  for (int i = 0; i < 2; i++) {
    if (src[i]->kind == FL_SRC_NONE) continue;
    out[n++] = src[i]->features;
    if (src[i]->kind != FL_SRC_CSV) out[n++] = src[i]->labels;
  }
  return n;
}

/* Spec and files valid for this user? Replies with the error if not. */
/* "init_from": the job exists, is the submitter's (or the submitter is
 * root), is done with its model, and has the same layers (units and
 * count); the input width is checked when the data is loaded (worker.c). */
static bool init_from_usable(fl_client *c, const fl_request *r,
                             const fl_job_spec *spec) {
  const char *id = spec->init_from;
  fl_job *src = fl_job_find(c->d, id);
  if (!src) {
    fl_reply_error(c, r->id, "rejected", "init_from: no job %s; `flatline list` "
                "shows the jobs", id);
    return false;
  }
  if (!may_touch(c, src)) {
    fl_reply_error(c, r->id, "forbidden", "init_from: you do not own job %s "
                "(owner %s); fine-tuning starts only from your own jobs",
                id, src->user);
    return false;
  }
  char model[4200];
  struct stat st;
  snprintf(model, sizeof model, "%s/model.safetensors", src->dir);
  if (src->state != FL_JOB_DONE || lstat(model, &st) != 0) {
    fl_reply_error(c, r->id, "rejected", "init_from: job %s has no trained "
                "model (state %s); start from a job that is done", id,
                fl_job_state_name(src->state));
    return false;
  }
  char *text = NULL;
  size_t len = 0;
  fl_job_spec from;
  memset(&from, 0, sizeof from);
  fl_error err = {0};
  bool same = false;
  if (fl_job_read_spec(src, &text, &len, &err) == 0 &&
      fl_spec_parse(text, len, &from, &err) == 0) {
    same = from.n_layers == spec->n_layers;
    /* the same units, and batch normalization where the source had it
     * (its gamma, beta and moving statistics are in the model file) */
    for (int l = 0; same && l < spec->n_layers; l++) {
      const fl_layer_spec *a = &from.layers[l], *b = &spec->layers[l];
      same = a->units == b->units && a->bn == b->bn &&
             (!a->bn || (a->bn_center == b->bn_center && a->bn_scale == b->bn_scale));
    }
    if (!same) {
      char a[256] = "", b[256] = "";
      for (int l = 0; l < from.n_layers; l++)
        snprintf(a + strlen(a), sizeof a - strlen(a), "%s%d%s", l ? "-" : "",
                 from.layers[l].units, from.layers[l].bn ? "(bn)" : "");
      for (int l = 0; l < spec->n_layers; l++)
        snprintf(b + strlen(b), sizeof b - strlen(b), "%s%d%s", l ? "-" : "",
                 spec->layers[l].units, spec->layers[l].bn ? "(bn)" : "");
      fl_reply_error(c, r->id, "rejected", "init_from: job %s's model has dense "
                  "layers of %s units, this spec %s; fine-tuning needs the "
                  "same layers (copy model.layers from `flatline show %s`)",
                  id, a, b, id);
    }
  } else {
    fl_reply_error(c, r->id, "internal", "init_from: %s", err.msg);
  }
  fl_spec_free(&from);
  free(text);
  return same;
}

static bool validate_submission(fl_client *c, const fl_request *r,
                                fl_job_spec *spec, uint64_t *bytes) {
  fl_error err = {0};
  int rc = fl_spec_parse(r->spec_text, r->spec_len, spec, &err);
  if (rc) {
    fl_reply_error(c, r->id, "rejected", "spec: %s", err.msg);
    return false;
  }
  const char *paths[4];
  int n = spec_paths(spec, paths);
  *bytes = 0;
  for (int i = 0; i < n; i++) {
    const fl_file_ref *ref = NULL;
    for (int j = 0; j < r->n_files; j++)
      if (strcmp(r->files[j].path, paths[i]) == 0) ref = &r->files[j];
    uint64_t size = 0;
    if (!ref) {
      fl_reply_error(c, r->id, "bad_request", "the spec names %s but no file was "
                  "sent for it", paths[i]);
      return false;
    }
    if (!fl_blob_exists(c->d, c->uid, ref->sha256, &size)) {
      fl_reply_error(c, r->id, "bad_request", "%s (sha256 %.12s…) was not uploaded; "
                  "upload it with blob_put first", paths[i], ref->sha256);
      return false;
    }
    *bytes += size;
  }
  fl_device_info infos[FL_MAX_DEVICES];
  int ndev = 0;
  for (int i = 0; i < c->d->n_workers; i++) infos[ndev++] = c->d->workers[i].info;
  int idx;
  if (strcmp(spec->device, "auto") != 0 &&
      fl_device_resolve(infos, ndev, spec->device, &idx, &err) != 0) {
    fl_reply_error(c, r->id, "rejected", "%s", err.msg);
    return false;
  }
  if (spec->init_from[0] && !init_from_usable(c, r, spec)) return false;
  return true;
}

static void add_follow(fl_client *c, fl_job *job);

static void on_submit(fl_client *c, const fl_request *r) {
  fl_daemon *d = c->d;
  fl_job_spec spec;
  memset(&spec, 0, sizeof spec);
  uint64_t bytes = 0;
  if (!validate_submission(c, r, &spec, &bytes)) {
    fl_spec_free(&spec);
    return;
  }
  if (!fl_queue_after_ok(c, r) || !fl_group_join_ok(c, r)) {
    fl_spec_free(&spec);
    return;
  }
  if ((uint64_t)fl_job_count_queued(d, c->uid) >= d->limits.max_queued_jobs) {
    fl_reply_error(c, r->id, "limit", "you already have %llu jobs queued or "
                "running (the limit); wait for some to finish or cancel some",
                (unsigned long long)d->limits.max_queued_jobs);
    fl_spec_free(&spec);
    return;
  }
  /* spec.json, job.json and the event log's first lines. */
  char why[FL_ERRMSG_MAX];
  uint64_t need = fl_storage_round(r->spec_len) + 2 * fl_storage_round(1);
  if (fl_storage_reserve(d, c->uid, need, 3, why, sizeof why)) {
    fl_reply_error(c, r->id, "limit", "%s", why);
    fl_spec_free(&spec);
    return;
  }
  fl_job *job = fl_job_new(d);
  fl_error err = {0};
  char path[4200];
  fl_storage_release(d, c->uid, need, 3); /* counted for real just below */
  if (!job) {
    fl_reply_error(c, r->id, "internal", "out of memory");
    fl_spec_free(&spec);
    return;
  }
  job->uid = c->uid;
  job->gid = c->gid;
  snprintf(job->user, sizeof job->user, "%s", c->user);
  snprintf(job->name, sizeof job->name, "%s", spec.name);
  snprintf(job->device_want, sizeof job->device_want, "%s", spec.device);
  job->epochs = spec.epochs;
  job->submitted = fl_daemon_now(d);
  job->priority = r->priority;
  snprintf(job->after, sizeof job->after, "%s", r->after);
  /* a new group is named after its first job, whose id is never reused */
  if (strcmp(r->group, "new") == 0)
    snprintf(job->group, sizeof job->group, "g%llu", (unsigned long long)job->number);
  else
    snprintf(job->group, sizeof job->group, "%s", r->group);
  job->sweep = r->sweep ? strdup(r->sweep) : NULL;
  job->data_bytes = bytes;
  job->files = calloc((size_t)(r->n_files ? r->n_files : 1), sizeof *job->files);
  if (job->files) {
    memcpy(job->files, r->files, (size_t)r->n_files * sizeof *job->files);
    job->n_files = r->n_files;
  }
  snprintf(path, sizeof path, "%s/spec.json", job->dir);
  if (!job->files || (r->sweep && !job->sweep) || fl_mkdirs(job->dir, 0750, &err) ||
      fl_write_atomic(path, r->spec_text, r->spec_len, &err) || fl_job_save(d, job, &err)) {
    fl_reply_error(c, r->id, "internal", "cannot store the job: %s", err.msg);
    fl_job_free(job);
    fl_spec_free(&spec);
    return;
  }
  fl_spec_free(&spec);
  fl_storage_job_rescan(d, job);
  fl_job **tail = &d->jobs;
  while (*tail) tail = &(*tail)->next;
  *tail = job;
  fl_log(FL_LOG_INFO, "job %s (%s) submitted by %s (uid %u)", job->id, job->name,
         job->user, (unsigned)job->uid);
  fl_jw w;
  fl_reply_begin(&w, r->id, true);
  fl_jw_str(&w, "job", job->id);
  if (job->group[0]) fl_jw_str(&w, "group", job->group);
  fl_reply_end(c, &w);
  if (r->follow) add_follow(c, job);
  fl_schedule(d);
}

/* check: the preflight needs the data, which may be large: it runs on the
 * thread pool, never on the loop. */
typedef struct {
  uv_work_t req;
  fl_client *c;
  fl_daemon *d;
  uid_t uid;
  int64_t id;
  fl_job_spec spec;
  int n_files;
  fl_file_ref *files;
  fl_device_info dev;
  bool have_dev;
  fl_findings findings;
  int rc;
  fl_error err;
} check_work;

static int resolve_own_blob(void *ctx, const char *spec_path, char *out,
                            size_t out_size, fl_error *err) {
  check_work *w = ctx;
  for (int i = 0; i < w->n_files; i++)
    if (strcmp(w->files[i].path, spec_path) == 0)
      return fl_blob_path(w->d, w->uid, w->files[i].sha256, out, out_size)
                 ? fl_error_set(err, FL_ETOOBIG, "%s: path too long", spec_path)
                 : 0;
  return fl_error_set(err, FL_ENOTFOUND, "%s: no uploaded file for this path", spec_path);
}

/* A check waits this long at most for the memory budget, since it holds
 * one of the thread pool's few threads (which uploads' fsyncs and log
 * replays also need) while it waits. */
#define FL_CHECK_MAX_WAIT_S 10.0

static void check_in_pool(uv_work_t *req) {
  check_work *w = req->data;
  fl_dataset train = {0}, val = {0};
  bool has_val = false;
  fl_load_opts opts = {.read_flags = FL_READ_NOFOLLOW, .budget = &w->d->mem,
                       .stop = &w->d->stopping, .max_wait_s = FL_CHECK_MAX_WAIT_S};
  for (int i = 0; i < w->n_files; i++)
    if ((w->rc = fl_blob_verify(w->d, w->uid, w->files[i].sha256, w->files[i].path,
                                &w->err)))
      return;
  w->rc = fl_job_load_data_ex(&w->spec, resolve_own_blob, w, &opts, &train, &val,
                              &has_val, &w->err);
  if (w->rc) return;
  fl_job_preflight(&w->spec, &train, has_val ? &val : NULL, w->have_dev ? &w->dev : NULL,
                   &w->findings);
  fl_dataset_free(&train);
  if (has_val) fl_dataset_free(&val);
  fl_mem_release(&w->d->mem, opts.held);
}

static void check_done(uv_work_t *req, int status) {
  check_work *w = req->data;
  fl_client *c = w->c;
  bool gone = c->closed; /* then c may be freed just below */
  c->pending--;
  if (c->closed) {
    if (c->pending == 0) fl_client_free(c);
  } else if (status < 0) {
    fl_reply_error(c, w->id, "internal", "check could not run: %s", uv_strerror(status));
  } else if (w->rc) {
    /* Data that cannot be read is itself a finding. */
    fl_findings f = {.n = 1};
    f.items[0].severity = FL_SEVERITY_ERROR;
    f.items[0].cause = FL_CAUSE_INVALID_DATA;
    snprintf(f.items[0].message, sizeof f.items[0].message, "%s", w->err.msg);
    fl_jw jw;
    fl_reply_begin(&jw, w->id, true);
    fl_findings_write(&jw, &f);
    fl_reply_end(c, &jw);
  } else {
    fl_jw jw;
    fl_reply_begin(&jw, w->id, true);
    fl_findings_write(&jw, &w->findings);
    fl_reply_end(c, &jw);
  }
  if (!gone) fl_client_resume_if_drained(c);
  fl_spec_free(&w->spec);
  free(w->files);
  free(w);
}

static void on_check(fl_client *c, const fl_request *r) {
  check_work *w = calloc(1, sizeof *w);
  if (!w) {
    fl_reply_error(c, r->id, "internal", "out of memory");
    return;
  }
  uint64_t bytes = 0;
  if (!validate_submission(c, r, &w->spec, &bytes)) {
    fl_spec_free(&w->spec);
    free(w);
    return;
  }
  w->files = calloc((size_t)(r->n_files ? r->n_files : 1), sizeof *w->files);
  if (!w->files) {
    fl_spec_free(&w->spec);
    free(w);
    fl_reply_error(c, r->id, "internal", "out of memory");
    return;
  }
  memcpy(w->files, r->files, (size_t)r->n_files * sizeof *w->files);
  w->n_files = r->n_files;
  w->c = c;
  w->d = c->d;
  w->uid = c->uid;
  w->id = r->id;
  fl_device_info infos[FL_MAX_DEVICES];
  int n = 0, idx;
  for (int i = 0; i < c->d->n_workers && n < FL_MAX_DEVICES; i++) infos[n++] = c->d->workers[i].info;
  if (n > 0 && fl_device_resolve(infos, n, w->spec.device, &idx, NULL) == 0) {
    w->dev = infos[idx];
    w->have_dev = true;
  }
  w->req.data = w;
  c->pending++;
  int rc = uv_queue_work(c->d->loop, &w->req, check_in_pool, check_done);
  if (rc) {
    c->pending--;
    fl_reply_error(c, r->id, "internal", "check could not start: %s", uv_strerror(rc));
    fl_spec_free(&w->spec);
    free(w->files);
    free(w);
  }
}

/* Replay the log (paced, off the loop: pump.c), then receive live events
 * from the next line on. */
static void add_follow(fl_client *c, fl_job *job) {
  for (int i = 0; i < c->n_follows; i++)
    if (c->follows[i].job == job) return; /* already following it */
  if (c->n_follows == FL_MAX_FOLLOWS) {
    fl_client_fail(c, "a connection may follow at most %d running jobs at "
                   "once", FL_MAX_FOLLOWS);
    return;
  }
  char path[4200];
  fl_error err = {0};
  snprintf(path, sizeof path, "%s/events.jsonl", job->dir);
  fl_follow *f = &c->follows[c->n_follows++];
  *f = (fl_follow){job, 0, false};
  int rc = fl_pump_replay(c, job, path, &err);
  if (rc == FL_ENOTFOUND) { /* no events yet: live from the first */
    pthread_mutex_lock(&job->log_lock);
    f->start_seq = job->next_seq;
    f->live = true;
    pthread_mutex_unlock(&job->log_lock);
  } else if (rc) {
    fl_client_unfollow(c, job);
    fl_client_fail(c, "cannot replay job %s: %s", job->id, err.msg);
  }
}

static void on_follow(fl_client *c, const fl_request *r) {
  fl_job *job = fl_owned_job(c, r, "follow");
  if (!job) return;
  reply_ok(c, r->id);
  add_follow(c, job);
}

/* jN -> N (0 for anything else). */
static uint64_t job_number_of(const char *id) {
  if (id[0] != 'j') return 0;
  char *end = NULL;
  unsigned long long n = strtoull(id + 1, &end, 10);
  return end && !*end ? n : 0;
}

/* A page of jobs after r->job (in submission order), at most r->limit
 * and about half a frame's bytes; `next` names the last job sent when
 * more follow (the client asks again with "after": next), else null. */
static void on_list(fl_client *c, const fl_request *r) {
  uint64_t after = r->job[0] ? job_number_of(r->job) : 0;
  int limit = r->limit > 0 ? r->limit : FL_LIST_PAGE_MAX, n = 0;
  fl_jw w;
  fl_reply_begin(&w, r->id, true);
  fl_jw_array_begin(&w, "jobs");
  const fl_job *last = NULL, *j = c->d->jobs;
  for (; j; j = j->next) {
    if (j->number <= after) continue;
    if (r->group[0] && strcmp(j->group, r->group) != 0) continue;
    if (n == limit || w.len > FL_FRAME_MAX_JSON / 2) break;
    fl_jw_object_begin(&w, NULL);
    job_fields(&w, j);
    fl_jw_str(&w, "device_name", device_name_of(c->d, j));
    /* a grid point is the owner's spec: for them (and root) only */
    if (j->sweep && may_touch(c, j)) fl_jw_raw(&w, "sweep", j->sweep);
    fl_jw_object_end(&w);
    last = j;
    n++;
  }
  fl_jw_array_end(&w);
  fl_jw_str(&w, "next", j && last ? last->id : NULL);
  fl_reply_end(c, &w);
}

static void on_show(fl_client *c, const fl_request *r) {
  fl_job *job = fl_owned_job(c, r, "show");
  if (!job) return;
  char *spec = NULL;
  size_t len = 0;
  fl_error err = {0};
  if (fl_job_read_spec(job, &spec, &len, &err)) {
    fl_reply_error(c, r->id, "internal", "%s", err.msg);
    return;
  }
  fl_jw w;
  fl_reply_begin(&w, r->id, true);
  fl_jw_object_begin(&w, "job");
  job_fields(&w, job);
  fl_jw_str(&w, "device_name", device_name_of(c->d, job));
  fl_jw_raw(&w, "spec", spec); /* validated at submit */
  if (job->sweep) fl_jw_raw(&w, "sweep", job->sweep);
  if (job->last_epoch) fl_jw_raw(&w, "last_epoch", job->last_epoch);
  else fl_jw_null(&w, "last_epoch");
  fl_jw_str(&w, "cause", job->cause[0] ? job->cause : NULL);
  fl_jw_str(&w, "message", job->message[0] ? job->message : NULL);
  if (job->metrics) fl_jw_raw(&w, "metrics", job->metrics); /* issue 12 */
  char *fixed = NULL;
  if (job->fix && fl_json_merge_patch(spec, len, job->fix, &fixed, &err) == 0) {
    fl_jw_raw(&w, "fix", job->fix);
    fl_jw_raw(&w, "fixed_spec", fixed);
  }
  free(fixed);
  fl_jw_object_end(&w);
  fl_reply_end(c, &w);
  free(spec);
}

static void on_cancel(fl_client *c, const fl_request *r) {
  fl_daemon *d = c->d;
  if (r->all) {
    fl_on_cancel_all(c, r);
    return;
  }
  fl_job *job = fl_owned_job(c, r, "cancel");
  if (!job) return;
  if (job->state == FL_JOB_RUNNING && job->cancel_requested) {
    /* Asked before: the worker stops it within a second. */
    fl_jw w;
    fl_reply_begin(&w, r->id, true);
    fl_jw_str(&w, "state", "cancelling");
    fl_reply_end(c, &w);
    return;
  }
  if (fl_job_state_final(job->state)) {
    fl_reply_error(c, r->id, "bad_request", "job %s already ended (%s)", job->id,
                fl_job_state_name(job->state));
    return;
  }
  /* Saved before the reply (jobs.c), so that a crash cannot undo it. */
  bool was_queued = job->state == FL_JOB_QUEUED;
  fl_error err = {0};
  if (fl_job_cancel(d, job, c->user, &err)) {
    fl_reply_error(c, r->id, "internal", "%s", err.msg);
    return;
  }
  if (was_queued) fl_storage_job_ended(d, job);
  fl_log(FL_LOG_INFO, "job %s cancelled by %s", job->id, c->user);
  /* "cancelled" once it has ended; a running one is "cancelling" until
   * its worker stops it (show and list say so too). */
  fl_jw w;
  fl_reply_begin(&w, r->id, true);
  fl_jw_str(&w, "state", was_queued ? "cancelled" : "cancelling");
  fl_reply_end(c, &w);
  fl_schedule(d); /* jobs --after it fail now */
}

static void on_devices(fl_client *c, const fl_request *r) {
  fl_daemon *d = c->d;
  fl_jw w;
  fl_reply_begin(&w, r->id, true);
  fl_jw_array_begin(&w, "devices");
  for (int i = 0; i < d->n_workers; i++) {
    const fl_device_info *in = &d->workers[i].info;
    const char *running = NULL;
    int queued = 0;
    for (fl_job *j = d->jobs; j; j = j->next) {
      if (j->state == FL_JOB_RUNNING && j->device == i) running = j->id;
      queued += j->state == FL_JOB_QUEUED;
    }
    fl_jw_object_begin(&w, NULL);
    fl_jw_int(&w, "index", i);
    fl_jw_str(&w, "name", in->name);
    fl_jw_str(&w, "platform", in->platform);
    fl_jw_str(&w, "type", in->is_gpu ? "gpu" : in->is_cpu ? "cpu" : "accelerator");
    fl_jw_int(&w, "memory", (long long)in->global_mem);
    fl_jw_str(&w, "running", running);
    fl_jw_int(&w, "queued", queued);
    fl_jw_object_end(&w);
  }
  fl_jw_array_end(&w);
  fl_reply_end(c, &w);
}

static void on_export(fl_client *c, const fl_request *r) {
  fl_job *job = fl_owned_job(c, r, "export");
  if (!job) return;
  char path[4200];
  uint64_t size = 0;
  fl_error err = {0};
  snprintf(path, sizeof path, "%s/model.safetensors", job->dir);
  if (job->state != FL_JOB_DONE) {
    fl_reply_error(c, r->id, "not_found", "job %s has no trained model (state %s); "
                "models exist once a job is done", job->id, fl_job_state_name(job->state));
    return;
  }
  /* The reply must precede the chunks: queue it first, then the stream
   * (whose first chunk is read on the thread pool). */
  struct stat st;
  if (lstat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
    fl_reply_error(c, r->id, "not_found", "job %s is done but its model file is "
                "missing or unreadable", job->id);
    return;
  }
  fl_jw w;
  fl_reply_begin(&w, r->id, true);
  fl_jw_int(&w, "size", (long long)st.st_size);
  fl_jw_str(&w, "format", "safetensors");
  fl_reply_end(c, &w);
  if (fl_pump_export(c, path, &size, &err)) {
    fl_client_fail(c, "cannot export job %s: %s", job->id, err.msg);
    return;
  }
  if (size != (uint64_t)st.st_size)
    fl_client_fail(c, "the model file of job %s changed while it was exported",
                   job->id);
}

/* predict and evaluate: the work is predict.c's, on the job's device. */
static void on_predict(fl_client *c, const fl_request *r) {
  fl_job *job = fl_owned_job(c, r, r->evaluate ? "evaluate" : "predict with");
  if (job) fl_predict_request(c, r, job);
}

typedef void (*handler_fn)(fl_client *c, const fl_request *r);

static const struct {
  fl_request_type type;
  handler_fn fn;
} handlers[] = {
    {FL_REQ_HELLO, on_hello},       {FL_REQ_BLOB_CHECK, on_blob_check},
    {FL_REQ_BLOB_PUT, on_blob_put}, {FL_REQ_SUBMIT, on_submit},
    {FL_REQ_CHECK, on_check},       {FL_REQ_FOLLOW, on_follow},
    {FL_REQ_LIST, on_list},         {FL_REQ_SHOW, on_show},
    {FL_REQ_CANCEL, on_cancel},     {FL_REQ_DEVICES, on_devices},
    {FL_REQ_EXPORT, on_export},     {FL_REQ_PREDICT, on_predict},
    {FL_REQ_LOG, fl_on_log},        {FL_REQ_WAIT, fl_on_wait},
    {FL_REQ_RM, fl_on_rm},          {FL_REQ_GROUP, fl_on_group},
};

void fl_handle_json(fl_client *c, const uint8_t *data, size_t len) {
  if (c->uploading) {
    fl_client_abort_upload(c);
    fl_client_fail(c, "JSON frame in the middle of an upload (%llu bytes were "
                   "still expected)", (unsigned long long)c->up_remaining);
    return;
  }
  fl_request r;
  memset(&r, 0, sizeof r);
  fl_error err = {0};
  if (fl_request_parse(data, len, &r, &err) != 0) {
    if (!c->hello_done || r.id <= 0) fl_client_fail(c, "bad request: %s", err.msg);
    else fl_reply_error(c, r.id, "bad_request", "%s", err.msg);
    fl_request_free(&r);
    return;
  }
  if (!c->hello_done && r.type != FL_REQ_HELLO) {
    fl_client_fail(c, "the first frame must be a hello");
  } else if (c->hello_done && r.type == FL_REQ_HELLO) {
    fl_client_fail(c, "hello sent twice");
  } else {
    for (size_t i = 0; i < sizeof handlers / sizeof *handlers; i++)
      if (handlers[i].type == r.type) {
        handlers[i].fn(c, &r);
        break;
      }
  }
  fl_request_free(&r);
}
