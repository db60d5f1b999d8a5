/* daemon/storage.c — what each user stores and may still store: uploads
 * (state_dir/blobs/<uid>/) and job folders (state_dir/jobs/<id>/) count
 * against the owner's max_storage_bytes and max_storage_files.
 *
 * Bytes are disk blocks (st_blocks * 512), not st_size, so sparse and tiny
 * files count for what they take; files are inodes. The totals are kept
 * incrementally in memory (one scan at start), so an upload does not stat
 * every blob of its user on the loop thread. Space is reserved when an
 * upload or a submit starts, so that parallel uploads cannot all pass the
 * check and then all land; the reservation becomes use (or goes) when the
 * upload ends. A running job's growth (event log, checkpoint, model) is
 * counted when it ends; a finished job's checkpoint and diagnosis state,
 * which only a resume needs, are deleted then. Orphan upload temporaries
 * of a crash are deleted at start. */
#define _GNU_SOURCE /* fstatat flags */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon.h"
#include "storage.h"

/* The block a file of n bytes takes at least on common file systems
 * (ext4, xfs, btrfs: 4 KiB), used for reservations before a file exists. */
#define FL_BLOCK_BYTES 4096u

uint64_t fl_storage_round(uint64_t bytes) {
  return (bytes + FL_BLOCK_BYTES - 1) / FL_BLOCK_BYTES * FL_BLOCK_BYTES;
}

fl_usage *fl_usage_of(fl_daemon *d, uid_t uid) {
  for (fl_usage *u = d->usage; u; u = u->next)
    if (u->uid == uid) return u;
  fl_usage *u = calloc(1, sizeof *u);
  if (!u) return NULL;
  u->uid = uid;
  u->next = d->usage;
  d->usage = u;
  return u;
}

void fl_usage_free_all(fl_daemon *d) {
  while (d->usage) {
    fl_usage *next = d->usage->next;
    free(d->usage);
    d->usage = next;
  }
}

/* Sum the blocks and files directly in a folder (no recursion: the store
 * has none below these levels). `orphans`: delete upload temporaries. */
static void sum_dir(const char *path, bool orphans, uint64_t *bytes, uint64_t *files) {
  *bytes = *files = 0;
  int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return;
  DIR *dir = fdopendir(fd);
  if (!dir) {
    close(fd);
    return;
  }
  struct dirent *de;
  while ((de = readdir(dir))) {
    if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0) continue;
    if (orphans && strncmp(de->d_name, ".upload-", 8) == 0) {
      /* A temporary of an upload cut by a crash: nothing refers to it. */
      unlinkat(dirfd(dir), de->d_name, 0);
      continue;
    }
    struct stat st;
    if (fstatat(dirfd(dir), de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
    *bytes += (uint64_t)st.st_blocks * 512u;
    *files += 1;
  }
  closedir(dir);
}

void fl_storage_job_rescan(fl_daemon *d, fl_job *job) {
  fl_usage *u = fl_usage_of(d, job->uid);
  uint64_t bytes, files;
  sum_dir(job->dir, false, &bytes, &files);
  if (u) {
    u->bytes = u->bytes - job->disk_bytes + bytes;
    u->files = u->files - job->disk_files + files;
  }
  job->disk_bytes = bytes;
  job->disk_files = files;
}

void fl_storage_job_ended(fl_daemon *d, fl_job *job) {
  /* What only a resume needs: the checkpoint and the diagnosis' state. */
  static const char *const resume_files[] = {"checkpoint.bin", "diagnosis.json"};
  for (size_t i = 0; fl_job_state_final(job->state) && i < 2; i++) {
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", job->dir, resume_files[i]);
    if (unlink(path) != 0 && errno != ENOENT)
      fl_log(FL_LOG_WARNING, "job %s: cannot delete its %s: %s", job->id,
             resume_files[i], strerror(errno));
  }
  fl_storage_job_rescan(d, job);
}

int fl_storage_scan(fl_daemon *d, fl_error *err) {
  char path[4200];
  snprintf(path, sizeof path, "%s/blobs", d->state_dir);
  int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  DIR *dir = fd >= 0 ? fdopendir(fd) : NULL;
  if (fd >= 0 && !dir) close(fd);
  if (!dir && errno != ENOENT)
    return fl_error_set(err, FL_EIO, "cannot read %s: %s", path, strerror(errno));
  struct dirent *de;
  while (dir && (de = readdir(dir))) {
    char *end = NULL;
    unsigned long uid = strtoul(de->d_name, &end, 10);
    if (de->d_name[0] < '0' || de->d_name[0] > '9' || *end) continue;
    char sub[4500];
    snprintf(sub, sizeof sub, "%s/%s", path, de->d_name);
    uint64_t bytes, files;
    sum_dir(sub, true, &bytes, &files);
    fl_usage *u = fl_usage_of(d, (uid_t)uid);
    if (!u) {
      closedir(dir);
      return fl_error_set(err, FL_ENOMEM, "out of memory");
    }
    u->bytes += bytes;
    u->files += files;
  }
  if (dir) closedir(dir);
  for (fl_job *j = d->jobs; j; j = j->next) {
    j->disk_bytes = j->disk_files = 0;
    fl_storage_job_ended(d, j); /* also drops checkpoints a crash left */
  }
  return 0;
}

int fl_storage_reserve(fl_daemon *d, uid_t uid, uint64_t bytes, uint64_t files,
                       char *why, size_t why_size) {
  fl_usage *u = fl_usage_of(d, uid);
  if (!u) {
    snprintf(why, why_size, "out of memory");
    return FL_ENOMEM;
  }
  const fl_limits *l = &d->limits;
  uint64_t have = u->bytes + u->reserved_bytes, nfiles = u->files + u->reserved_files;
  if (have + bytes > l->max_storage_bytes) {
    snprintf(why, why_size, "storing %llu more bytes would exceed your storage "
             "quota (%llu of %llu bytes used, uploads and jobs together); delete "
             "old jobs or ask the admin to raise max_storage_bytes",
             (unsigned long long)bytes, (unsigned long long)have,
             (unsigned long long)l->max_storage_bytes);
    return FL_ETOOBIG;
  }
  if (nfiles + files > l->max_storage_files) {
    snprintf(why, why_size, "%llu more files would exceed your quota of %llu "
             "files (uploads and job files together); delete old jobs or ask the "
             "admin to raise max_storage_files", (unsigned long long)files,
             (unsigned long long)l->max_storage_files);
    return FL_ETOOBIG;
  }
  u->reserved_bytes += bytes;
  u->reserved_files += files;
  return 0;
}

void fl_storage_release(fl_daemon *d, uid_t uid, uint64_t bytes, uint64_t files) {
  fl_usage *u = fl_usage_of(d, uid);
  if (!u) return;
  u->reserved_bytes -= bytes <= u->reserved_bytes ? bytes : u->reserved_bytes;
  u->reserved_files -= files <= u->reserved_files ? files : u->reserved_files;
}

void fl_storage_add(fl_daemon *d, uid_t uid, uint64_t bytes, uint64_t files) {
  fl_usage *u = fl_usage_of(d, uid);
  if (!u) return;
  u->bytes += bytes;
  u->files += files;
}
