/* daemon/daemon.h — the service's shared state: daemon, jobs, device
 * workers, client connections. Only the loop thread touches connections and
 * the job list; a worker thread touches only its own slot and the job it was
 * handed (through the fields marked "worker"), and talks back through the
 * daemon's mailbox (uv_async_t). */
#ifndef FL_DAEMON_DAEMON_H
#define FL_DAEMON_DAEMON_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <uv.h>

#include "flatline/engine.h"
#include "flatline/protocol.h"
#include "memory.h"

#define FL_USER_MAX 64

typedef enum {
  FL_JOB_QUEUED,
  FL_JOB_RUNNING,
  FL_JOB_DONE,
  FL_JOB_FAILED,
  FL_JOB_CANCELLED,
  FL_JOB_REJECTED,
} fl_job_state;

const char *fl_job_state_name(fl_job_state s);
bool fl_job_state_final(fl_job_state s);

typedef struct fl_job {
  char id[FL_JOB_ID_MAX];
  uint64_t number;        /* the N of jN: submission order */
  uid_t uid;
  gid_t gid;
  char user[FL_USER_MAX];
  char name[FL_NAME_MAX];
  fl_job_state state;
  int device;             /* index it runs/ran on, -1 before placement */
  char device_want[FL_NAME_MAX];
  int epochs, epoch;      /* planned, completed */
  double submitted;       /* unix time (fl_daemon_now) */
  double started, ended;  /* unix time; 0: not yet (or not recorded) */
  int priority;           /* submit --priority: higher runs first among
                             the owner's own queued jobs */
  char after[FL_JOB_ID_MAX]; /* submit --after: runs once that job is done;
                                "" when none (or once satisfied) */
  char group[FL_JOB_ID_MAX]; /* issue 15: the sweep's group "gN", or "" */
  char *sweep;            /* its grid point {key path: scalar} (JSON), or NULL */
  char verdict[16];       /* the verdict line's "verdict", or "" before it */
  char verdict_cause[64]; /* its first cause ("" when none) */
  bool has_verdict;       /* a verdict line was logged */
  bool diagnosed;         /* what the client's follow would call diagnosed
                             (a problem verdict, else a diagnosis with
                             causes): for `wait` (queue.c) */
  int refs;               /* loop: log replays reading it (pump.c); a
                             removed job is freed once none is left */
  char cause[64];
  char message[FL_ERRMSG_MAX];
  int n_files;
  fl_file_ref *files;     /* path as in spec -> blob sha256 */
  uint64_t data_bytes;    /* sum of the blobs' sizes (placement estimate) */
  char *last_epoch;       /* JSON of the last epoch event, or NULL */
  char *fix;              /* merge patch of the top diagnosed cause, or NULL */
  char *metrics;          /* the verdict's class report (JSON), or NULL */
  char dir[4096];         /* state_dir/jobs/<id> */
  uint64_t disk_bytes;    /* loop: its folder's blocks and files, as last */
  uint64_t disk_files;    /*   counted against the owner (storage.c) */

  /* Event log: appended by whoever drives the job (the worker while it
   * runs, the loop otherwise) under log_lock; next_seq = lines written. */
  pthread_mutex_t log_lock;
  long next_seq;

  atomic_bool cancel;     /* set by the loop, read by the worker */
  bool cancel_requested;  /* loop: a cancel was asked for and saved in
                             job.json (a restart ends the job cancelled) */
  bool end_logged;        /* under log_lock: the log holds the end line */
  struct fl_job *next;    /* the daemon's job list, submission order */
} fl_job;

struct fl_daemon;

/* One user's storage and connections, kept by the loop (storage.c). */
typedef struct fl_usage {
  uid_t uid;
  uint64_t bytes, files;                   /* stored */
  uint64_t reserved_bytes, reserved_files; /* uploads and submits under way */
  uint32_t connections;                    /* open client connections */
  struct fl_usage *next;
} fl_usage;

/* A predict/evaluate request waiting for, or run by, a device's worker
 * (predict.c). */
typedef struct fl_predict_task fl_predict_task;

typedef struct fl_worker {
  struct fl_daemon *d;
  int index;
  fl_device_info info;
  pthread_t thread;
  pthread_mutex_t lock;
  pthread_cond_t wake;
  fl_job *job;            /* hand-over slot: set by the loop, taken (and
                             cleared) by the worker when it starts the job */
  fl_predict_task *tasks; /* under lock: predict requests, run before the
                             next job (not while one trains) */
  bool busy;              /* loop only: assigned and not yet FINISHED */
  bool quit;
  bool open_failed;
  char open_error[FL_ERRMSG_MAX];
  bool autotune;          /* limits.autotune when the worker started */
} fl_worker;

/* A message from a worker to the loop. */
typedef enum {
  FL_MAIL_EVENT,     /* fan out `text` (already logged when seq >= 0) */
  FL_MAIL_FINISHED,  /* the job left the worker: new state in `state` */
  FL_MAIL_PREDICTED, /* a predict task ran: reply (predict.c) */
} fl_mail_kind;

typedef struct fl_mail {
  fl_mail_kind kind;
  fl_job *job;
  fl_predict_task *task;  /* PREDICTED */
  long seq;               /* log line of the event; -1 when not logged */
  char *text;             /* event JSON */
  fl_job_state state;     /* FINISHED */
  bool interrupted;       /* FINISHED: stopped by shutdown, resume later */
  char cause[64];
  char message[FL_ERRMSG_MAX];
  int epoch;
  struct fl_mail *next;
} fl_mail;

typedef struct {
  uint64_t max_queued_jobs;   /* per user */
  uint64_t max_storage_bytes; /* per user: disk blocks of uploads + job files */
  uint64_t max_storage_files; /* per user: files (inodes) of the same */
  uint32_t follower_max_frames;
  uint64_t follower_max_bytes;
  uint32_t max_connections_per_user;
  uint64_t load_memory_bytes; /* data loads and checks, all users together */
  uint32_t cpu_memory_percent; /* of RAM: a CPU device's memory for models */
  bool autotune;              /* tune a device's GEMMs on first use (read
                                 when the workers start) */
  uint32_t retention_days;    /* finished jobs and unused uploads expire
                                 after this many days; 0 = never */
  uint64_t test_clock_offset; /* TESTS ONLY: seconds added to the daemon's
                                 clock (fl_daemon_now), so that a test can
                                 make retention expire without waiting */
} fl_limits;

typedef struct fl_daemon {
  uv_loop_t *loop;
  uv_pipe_t server;
  bool server_open;
  uv_async_t mailbox;
  uv_signal_t sig_term, sig_int, sig_hup;
  uv_timer_t watchdog;
  bool watchdog_on;
  pthread_mutex_t mail_lock;
  fl_mail *mail_head, *mail_tail;

  char socket_path[108];
  char state_dir[4096];
  char cache_dir[4096];
  char config_path[4096];
  fl_limits limits;

  int n_workers;
  fl_worker *workers;
  fl_job *jobs;           /* all jobs known, submission order */
  fl_job *removed;        /* rm'd or expired, still read by a replay:
                             freed when their refs reach 0 (retention.c) */
  uv_timer_t retention_timer;
  bool retention_on;
  uint64_t next_job_number;
  uid_t last_served_uid;  /* round-robin cursor */
  bool has_last_served;

  struct fl_client *clients;
  uint32_t n_clients;
  uint32_t max_clients;   /* all users together: what the fd limit allows
                             after a reserve for jobs' files (server.c) */
  fl_usage *usage;        /* per user (storage.c) */
  fl_mem_budget mem;      /* data loads and checks (memory.c) */
  bool shutting_down;
  atomic_bool stopping;   /* read by workers: abort the epoch, keep state */
  int exit_code;
} fl_daemon;

/* ---- job store (jobs.c) ---- */
int fl_jobs_load(fl_daemon *d, fl_error *err);
fl_job *fl_job_find(fl_daemon *d, const char *id);
/* Persist the job's metadata (job.json) atomically. */
int fl_job_save(fl_daemon *d, fl_job *job, fl_error *err);
/* Append one event line to the job's log; returns its sequence number. */
long fl_job_log_event(fl_job *job, const char *text);
fl_job *fl_job_new(fl_daemon *d);
void fl_job_free(fl_job *job);
/* The job's spec text (state_dir/jobs/<id>/spec.json), malloc'd. */
int fl_job_read_spec(const fl_job *job, char **text, size_t *len, fl_error *err);
int fl_job_count_queued(const fl_daemon *d, uid_t uid);
/* Keep the top fix of a diagnosis or preflight event line (for show
 * --fixed-spec); other lines are ignored. */
void fl_job_note_event(fl_job *job, const char *line);
/* The job's fields hold its final state: save job.json, then log the end
 * line (a crash between the two is repaired at the next load), then send
 * the end to the followers, even when it could not be logged, so that no
 * follow waits forever. Loop only. */
void fl_job_finish(fl_daemon *d, fl_job *job);
/* Cancel a queued or running job as by_user. Returns 0 once the cancel is
 * saved (reply ok only then): a queued job ends at once; a running one has
 * cancel_requested saved in job.json and its worker ends it within a
 * second (or the next start does). Otherwise an error naming the file and
 * the fix, and the job goes on. Loop only. */
int fl_job_cancel(fl_daemon *d, fl_job *job, const char *by_user,
                  fl_error *err);
/* The end event of a job in a final state, as its fields say (malloc'd):
 * for a follower of a job whose end line could not be logged
 * (!end_logged), since the replay of its log does not end. */
char *fl_job_end_event(const fl_job *job);
/* True iff line[0..len) (no newline) is one complete JSON object, as every
 * event line is; a torn or otherwise damaged line is not. */
bool fl_event_line_valid(const char *line, size_t len);
/* What a job's log already holds, read when the job starts (again). */
typedef struct {
  int last_epoch;         /* highest epoch with an epoch line, 0 if none */
  bool has_preflight, has_verdict;
} fl_job_log_facts;
void fl_job_log_facts_read(fl_job *job, fl_job_log_facts *out);

/* The daemon's clock: unix time plus limits.test_clock_offset (0 but in
 * tests). Times of jobs and retention use it. */
double fl_daemon_now(const fl_daemon *d);

/* ---- blobs (blobs.c): state_dir/blobs/<uid>/<sha256> ---- */
int fl_blob_path(const fl_daemon *d, uid_t uid, const char *sha, char *out,
                 size_t size);
bool fl_blob_exists(const fl_daemon *d, uid_t uid, const char *sha,
                    uint64_t *size);
/* Hash the blob again (off the loop: it reads the whole file); an error
 * naming spec_path and the fix when it is gone or no longer matches. */
int fl_blob_verify(const fl_daemon *d, uid_t uid, const char *sha,
                   const char *spec_path, fl_error *err);

/* ---- workers (worker.c) ---- */
int fl_workers_start(fl_daemon *d, fl_error *err);
void fl_workers_stop(fl_daemon *d);
/* Loop -> worker: run job (the worker must be idle). */
void fl_worker_assign(fl_worker *w, fl_job *job);
/* Loop only: no job assigned since its last FINISHED, and the device works. */
bool fl_worker_idle(fl_worker *w);
bool fl_workers_all_idle(fl_daemon *d);
/* Worker -> loop. */
void fl_daemon_post(fl_daemon *d, fl_mail *mail);

/* ---- scheduling (scheduler.c) ---- */
/* Hand queued jobs to idle workers: round-robin over users, FIFO within a
 * user, `auto` jobs to the least-loaded device that fits. */
void fl_schedule(fl_daemon *d);

/* ---- server (server.c) ---- */
int fl_server_start(fl_daemon *d, int activated_fd, unsigned socket_mode,
                    const char *socket_group, fl_error *err);
/* Fan an event out to the job's followers. */
void fl_server_broadcast(fl_daemon *d, fl_job *job, long seq, const char *text);
void fl_server_stop_listening(fl_daemon *d);
/* Before the devices are opened: an error when another daemon already
 * listens on path (a dead one's socket file is left for the bind). */
int fl_server_check_socket(const char *path, fl_error *err);
void fl_server_close_all(fl_daemon *d);
/* One-line status for systemd (STATUS=). */
void fl_daemon_update_status(fl_daemon *d);

#endif
