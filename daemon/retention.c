/* daemon/retention.c — removing finished jobs: `rm` and the retention
 * policy (limits.retention_days: finished jobs and unused uploads expire,
 * swept at start, on SIGHUP and every FL_RETENTION_PERIOD_S). A removed
 * job's folder goes, and each upload of its owner that no remaining job of
 * theirs names; the owner's storage use (storage.c) goes down by what was
 * deleted, so the quota is freed at once.
 *
 * A job folder is renamed to jobs/.removed-<id> before its files are
 * deleted, so that a crash in between leaves nothing the job store loads
 * (it loads names starting with 'j'); leftovers are deleted at start. The
 * highest job number handed out is kept in state_dir/next_job_number, so
 * that removing the newest job never lets its id be given again after a
 * restart (an old `wait j5` must not match a new j5).
 *
 * The work is a few unlinks per job on the loop thread; the sweep of
 * unused uploads reads each user's blob folder (at most max_storage_files
 * entries) once per period. */
#define _GNU_SOURCE /* fstatat flags */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsutil.h"
#include "queue.h"
#include "storage.h"

/* How often the retention policy is applied: days are its unit, so an hour
 * late is nothing, and the sweep stays rare. */
#define FL_RETENTION_PERIOD_S 3600

static void usage_sub(fl_daemon *d, uid_t uid, uint64_t bytes, uint64_t files) {
  fl_usage *u = fl_usage_of(d, uid);
  if (!u) return;
  u->bytes -= bytes <= u->bytes ? bytes : u->bytes;
  u->files -= files <= u->files ? files : u->files;
}

/* Delete every file in path (a job folder has no subfolders), then it. */
static int delete_dir(const char *path, fl_error *err) {
  int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return errno == ENOENT ? 0 : fl_error_set(err, FL_EIO, "cannot open %s: %s",
                                              path, strerror(errno));
  DIR *dir = fdopendir(fd);
  if (!dir) {
    close(fd);
    return fl_error_set(err, FL_EIO, "cannot read %s", path);
  }
  struct dirent *de;
  int rc = 0;
  while ((de = readdir(dir))) {
    if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0) continue;
    if (unlinkat(dirfd(dir), de->d_name, 0) != 0 && errno != ENOENT && !rc)
      rc = fl_error_set(err, FL_EIO, "cannot delete %s/%s: %s", path,
                        de->d_name, strerror(errno));
  }
  closedir(dir);
  if (!rc && rmdir(path) != 0 && errno != ENOENT)
    rc = fl_error_set(err, FL_EIO, "cannot delete %s: %s", path, strerror(errno));
  return rc;
}

static bool blob_named_by_others(const fl_daemon *d, const fl_job *job,
                                 const char *sha) {
  for (const fl_job *j = d->jobs; j; j = j->next) {
    if (j == job || j->uid != job->uid) continue;
    for (int i = 0; i < j->n_files; i++)
      if (strcmp(j->files[i].sha256, sha) == 0) return true;
  }
  return false;
}

static void delete_blob(fl_daemon *d, uid_t uid, const char *sha) {
  char path[4200];
  struct stat st;
  if (fl_blob_path(d, uid, sha, path, sizeof path) || lstat(path, &st) != 0 ||
      !S_ISREG(st.st_mode))
    return;
  if (unlink(path) != 0) {
    fl_log(FL_LOG_WARNING, "cannot delete the upload %s: %s", path, strerror(errno));
    return;
  }
  usage_sub(d, uid, (uint64_t)st.st_blocks * 512u, 1);
}

static void save_next_number(fl_daemon *d) {
  char path[4200], text[32];
  fl_error err = {0};
  snprintf(path, sizeof path, "%s/next_job_number", d->state_dir);
  snprintf(text, sizeof text, "%llu\n", (unsigned long long)d->next_job_number);
  if (fl_write_atomic(path, text, strlen(text), &err))
    fl_log(FL_LOG_WARNING, "%s", err.msg);
}

int fl_job_remove(fl_daemon *d, fl_job *job, fl_error *err) {
  if (!fl_job_state_final(job->state))
    return fl_error_set(err, FL_EINVAL, "job %s has not ended", job->id);
  save_next_number(d);
  char gone[4200];
  snprintf(gone, sizeof gone, "%s/jobs/.removed-%s", d->state_dir, job->id);
  if (rename(job->dir, gone) != 0 && errno != ENOENT)
    return fl_error_set(err, FL_EIO, "cannot remove job %s: renaming %s: %s",
                        job->id, job->dir, strerror(errno));
  fl_error del = {0};
  if (delete_dir(gone, &del))
    fl_log(FL_LOG_WARNING, "job %s: %s (deleted at the next start)", job->id, del.msg);
  usage_sub(d, job->uid, job->disk_bytes, job->disk_files);
  job->disk_bytes = job->disk_files = 0;
  for (fl_job **p = &d->jobs; *p; p = &(*p)->next)
    if (*p == job) {
      *p = job->next;
      break;
    }
  /* Uploads no other job of the owner names (a path may repeat a blob). */
  for (int i = 0; i < job->n_files; i++) {
    bool seen = false;
    for (int k = 0; k < i; k++)
      seen |= strcmp(job->files[k].sha256, job->files[i].sha256) == 0;
    if (!seen && !blob_named_by_others(d, job, job->files[i].sha256))
      delete_blob(d, job->uid, job->files[i].sha256);
  }
  /* Jobs waiting for it: a done job satisfied them; a failed one fails
   * them at the next scheduling pass, as does one that is gone. */
  for (fl_job *j = d->jobs; j; j = j->next) {
    if (j->state != FL_JOB_QUEUED || strcmp(j->after, job->id) != 0) continue;
    if (job->state != FL_JOB_DONE) continue;
    j->after[0] = '\0';
    fl_error e2 = {0};
    if (fl_job_save(d, j, &e2)) fl_log(FL_LOG_WARNING, "job %s: %s", j->id, e2.msg);
  }
  job->next = d->removed;
  d->removed = job;
  fl_jobs_reap(d, false);
  fl_schedule(d);
  return 0;
}

void fl_jobs_reap(fl_daemon *d, bool force) {
  for (fl_job **p = &d->removed; *p;) {
    fl_job *j = *p;
    if (j->refs > 0 && !force) {
      p = &j->next;
      continue;
    }
    *p = j->next;
    fl_job_free(j);
  }
}

/* ---- the sweep ---- */

static int cmp_sha(const void *a, const void *b) {
  return strcmp((const char *)a, (const char *)b);
}

/* Uploads of uid older than the retention that no job of uid names. */
static void sweep_blobs(fl_daemon *d, uid_t uid, double now) {
  size_t n = 0, cap = 0;
  char (*named)[FL_SHA256_HEX] = NULL;
  for (const fl_job *j = d->jobs; j; j = j->next)
    for (int i = 0; j->uid == uid && i < j->n_files; i++) {
      if (n == cap) {
        size_t nc = cap ? cap * 2 : 64;
        char (*grown)[FL_SHA256_HEX] = realloc(named, nc * sizeof *named);
        if (!grown) {
          free(named);
          return; /* out of memory: keep everything this time */
        }
        named = grown;
        cap = nc;
      }
      memcpy(named[n++], j->files[i].sha256, FL_SHA256_HEX);
    }
  if (n) qsort(named, n, sizeof *named, cmp_sha);
  char path[4200];
  fl_blob_path(d, uid, NULL, path, sizeof path);
  int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  DIR *dir = fd >= 0 ? fdopendir(fd) : NULL;
  if (!dir) {
    if (fd >= 0) close(fd);
    free(named);
    return;
  }
  struct dirent *de;
  while ((de = readdir(dir))) {
    if (!fl_sha256_hex_valid(de->d_name)) continue; /* ., .., .upload-* */
    if (n && bsearch(de->d_name, named, n, sizeof *named, cmp_sha)) continue;
    struct stat st;
    if (fstatat(dirfd(dir), de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
        !fl_retention_expired((double)st.st_mtime, now, d->limits.retention_days))
      continue;
    if (unlinkat(dirfd(dir), de->d_name, 0) == 0)
      usage_sub(d, uid, (uint64_t)st.st_blocks * 512u, 1);
  }
  closedir(dir);
  free(named);
}

void fl_retention_sweep(fl_daemon *d) {
  uint32_t days = d->limits.retention_days;
  if (days == 0 || d->shutting_down) return;
  double now = fl_daemon_now(d);
  int removed = 0;
  for (fl_job *j = d->jobs, *next; j; j = next) {
    next = j->next;
    if (!fl_job_state_final(j->state) || !fl_retention_expired(j->ended, now, days))
      continue;
    fl_error err = {0};
    if (fl_job_remove(d, j, &err)) fl_log(FL_LOG_WARNING, "retention: %s", err.msg);
    else removed++;
  }
  for (fl_usage *u = d->usage; u; u = u->next) sweep_blobs(d, u->uid, now);
  if (removed)
    fl_log(FL_LOG_INFO, "retention (%u days): removed %d finished job%s", days,
           removed, removed == 1 ? "" : "s");
}

static void on_retention_timer(uv_timer_t *t) { fl_retention_sweep(t->data); }

/* Folders of removals a crash interrupted; the saved job number. */
static void start_cleanup(fl_daemon *d) {
  char path[4200], *text = NULL;
  size_t len = 0;
  snprintf(path, sizeof path, "%s/next_job_number", d->state_dir);
  if (fl_read_small(path, 64, &text, &len, NULL) == 0) {
    unsigned long long n = strtoull(text, NULL, 10);
    if (n > d->next_job_number && n < (1ull << 40)) d->next_job_number = n;
    free(text);
  }
  snprintf(path, sizeof path, "%s/jobs", d->state_dir);
  DIR *dir = opendir(path);
  struct dirent *de;
  while (dir && (de = readdir(dir))) {
    if (strncmp(de->d_name, ".removed-", 9) != 0) continue;
    char sub[4500];
    fl_error err = {0};
    snprintf(sub, sizeof sub, "%s/%s", path, de->d_name);
    if (delete_dir(sub, &err)) fl_log(FL_LOG_WARNING, "%s", err.msg);
  }
  if (dir) closedir(dir);
}

void fl_retention_start(fl_daemon *d) {
  start_cleanup(d);
  uv_timer_init(d->loop, &d->retention_timer);
  d->retention_timer.data = d;
  uv_timer_start(&d->retention_timer, on_retention_timer, 0,
                 FL_RETENTION_PERIOD_S * 1000u);
  d->retention_on = true;
}
