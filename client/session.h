/* client/session.h — the client's side of talking to flatlined: one
 * connection per command, requests with ids, waiting for their replies,
 * following a job's event stream, and uploading a spec's data files as
 * blobs. Unlike output.h, everything here needs a daemon (except the
 * spec_files.c part, which only reads local files). */
#ifndef FLATLINE_CLIENT_SESSION_H
#define FLATLINE_CLIENT_SESSION_H

#include <stdbool.h>
#include <stdint.h>

#include "cli.h"
#include "flatline/protocol.h"
#include "output.h"

/* ---- session.c ---- */
typedef struct {
  fl_conn conn;
  bool connected;
  int64_t next_id;
  const fl_cli_out *o;
  char what[FL_PATH_MAX + 32]; /* "cancel j3": the prefix of error lines */
  bool quiet; /* errors not printed: a request whose failure is harmless */
} fl_cli_session;

/* Connect to the daemon (socket from --socket, FLATLINE_SOCKET or the
 * defaults) and exchange hellos. "verb subject" ("cancel j3"; subject may
 * be NULL) prefixes error lines. Returns 0, or an exit status (69:
 * unreachable) with the error already printed. */
int fl_cli_session_open(fl_cli_session *s, const fl_cli_args *args,
                        const fl_cli_out *o, const char *verb, const char *subject);
void fl_cli_session_close(fl_cli_session *s);

/* "flatline: WHAT: message" on stderr (nothing while s->quiet). */
void fl_cli_session_error(const fl_cli_session *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Start a request in w: {"type":type,"id":N — the caller adds its fields.
 * Returns the id. */
int64_t fl_cli_request_begin(fl_cli_session *s, fl_jw *w, const char *type);
/* Close the object begun in w and send it. 0 or FL_EXIT_FAILED (printed). */
int fl_cli_request_send(fl_cli_session *s, fl_jw *w);
/* Wait for the reply to id. 0 with *reply set (ok:true, the caller frees
 * it). FL_EXIT_FAILED with the error printed when the daemon says ok:false
 * (*reply then holds that reply, for a rejection's findings) or when the
 * connection fails (*reply NULL). */
int fl_cli_reply_wait(fl_cli_session *s, int64_t id, fl_json **reply);
/* fl_cli_request_send then fl_cli_reply_wait. */
int fl_cli_request(fl_cli_session *s, fl_jw *w, int64_t id, fl_json **reply);

/* Show the events of v's job until its end event. follow_id: a request
 * whose reply may arrive first (its ok:false ends the stream); 0 for none.
 * Returns the job's exit status, or FL_EXIT_FAILED when the stream breaks. */
int fl_cli_follow_stream(fl_cli_session *s, fl_follow_view *v,
                         int64_t follow_id);

/* ---- spec_files.c: a spec and the data files it names ---- */
#define FL_CLI_MAX_DATA_FILES 4 /* train and validation, two files each */

typedef struct {
  const char *key;        /* where the spec names it: "data.train.labels" */
  char path[FL_PATH_MAX]; /* as written in the spec: the "files" key */
  char *resolved;         /* relative to the spec's folder (malloc'd) */
  char sha256[FL_SHA256_HEX];
  uint64_t size;
} fl_cli_data_file;

typedef struct {
  const char *spec_path;
  char *text; /* the spec file, NUL-terminated */
  size_t len;
  fl_job_spec spec;
  fl_cli_data_file files[FL_CLI_MAX_DATA_FILES]; /* distinct paths */
  int n_files;
} fl_cli_job_files;

/* Read spec_path (at most FL_SPEC_MAX_BYTES), validate it with
 * fl_spec_parse, and list the data files it names. On error err->msg says
 * what (a spec error names the key); *jf must still be freed. */
int fl_cli_spec_load(const char *spec_path, fl_cli_job_files *jf,
                     fl_error *err);
/* SHA-256 and size of each data file, read with the user's permissions. */
int fl_cli_spec_hash(fl_cli_job_files *jf, fl_error *err);
/* path relative to the spec's folder, unless absolute; malloc'd. */
char *fl_cli_resolve_path(const char *spec_path, const char *path);
/* Add "files": {path as written: sha256} to the request in w. */
void fl_cli_spec_files_json(fl_jw *w, const fl_cli_job_files *jf);
void fl_cli_job_files_free(fl_cli_job_files *jf);

/* ---- upload.c ---- */
/* blob_check the files' hashes and blob_put each one the daemon lacks.
 * Returns 0 or an exit status with the error printed. */
int fl_cli_upload(fl_cli_session *s, const fl_cli_job_files *jf);

#endif
