/* daemon/storage.h — per-user storage accounting and quotas (storage.c). */
#ifndef FL_DAEMON_STORAGE_H
#define FL_DAEMON_STORAGE_H

#include "daemon.h"

/* bytes rounded up to whole file-system blocks (for reservations). */
uint64_t fl_storage_round(uint64_t bytes);
/* The record of uid, made on first use; NULL when out of memory. */
fl_usage *fl_usage_of(fl_daemon *d, uid_t uid);
void fl_usage_free_all(fl_daemon *d);
/* At start, after the jobs are loaded: count every user's blobs and job
 * folders, delete orphan upload temporaries and finished jobs' checkpoints. */
int fl_storage_scan(fl_daemon *d, fl_error *err);
/* Reserve room for bytes and files, or say why not in `why` (a message
 * naming the quota and the fix) and return FL_ETOOBIG. */
int fl_storage_reserve(fl_daemon *d, uid_t uid, uint64_t bytes, uint64_t files,
                       char *why, size_t why_size);
void fl_storage_release(fl_daemon *d, uid_t uid, uint64_t bytes, uint64_t files);
/* Stored for good (after a reservation was released). */
void fl_storage_add(fl_daemon *d, uid_t uid, uint64_t bytes, uint64_t files);
/* Count the job's folder again (after it was written to). */
void fl_storage_job_rescan(fl_daemon *d, fl_job *job);
/* A job left its worker: delete the checkpoint of a finished job, count
 * its folder again. */
void fl_storage_job_ended(fl_daemon *d, fl_job *job);

#endif
