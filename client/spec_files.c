/* client/spec_files.c — owns a job spec on the client's side: reading the
 * file (capped at FL_SPEC_MAX_BYTES), validating it with the protocol's own
 * parser (so a mistake is named here, by key, before anything is sent),
 * listing the data files it names with their paths resolved against the
 * spec's folder, and hashing them. It reads with the user's permissions;
 * the daemon never opens a client's path. No socket here. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "session.h"

char *fl_cli_resolve_path(const char *spec_path, const char *path) {
  const char *slash = strrchr(spec_path, '/');
  size_t dir_len = slash ? (size_t)(slash - spec_path) + 1 : 0; /* with '/' */
  if (path[0] == '/') dir_len = 0;
  size_t n = strlen(path);
  char *out = malloc(dir_len + n + 1);
  if (!out) return NULL;
  memcpy(out, spec_path, dir_len);
  memcpy(out + dir_len, path, n + 1);
  return out;
}

/* Read the whole spec file, refusing more than the cap (one byte over is
 * enough to know). */
static int read_spec(const char *path, char **text, size_t *len,
                     fl_error *err) {
  /* "-": standard input (check -); its data paths are relative to the
   * current folder. */
  bool from_stdin = strcmp(path, "-") == 0;
  FILE *f = from_stdin ? stdin : fopen(path, "rb");
  if (!f)
    return fl_error_set(err, errno == ENOENT ? FL_ENOTFOUND : FL_EIO,
                        "cannot read the job spec %s: %s", path,
                        strerror(errno));
  char *buf = malloc(FL_SPEC_MAX_BYTES + 1);
  if (!buf) {
    if (!from_stdin) fclose(f);
    return fl_error_set(err, FL_ENOMEM, "out of memory reading %s", path);
  }
  size_t n = fread(buf, 1, FL_SPEC_MAX_BYTES + 1, f);
  int read_failed = ferror(f);
  int saved = errno;
  if (!from_stdin) fclose(f);
  if (read_failed) {
    free(buf);
    return fl_error_set(err, FL_EIO, "cannot read the job spec %s: %s", path,
                        strerror(saved));
  }
  if (n > FL_SPEC_MAX_BYTES) {
    free(buf);
    return fl_error_set(err, FL_ETOOBIG,
                        "the job spec %s is larger than 1 MiB; a spec is a "
                        "short JSON file, and the data belong in the files "
                        "it names",
                        path);
  }
  buf[n] = '\0';
  *text = buf;
  *len = n;
  return 0;
}

/* Add one data file unless that path (as written) is already listed: the
 * "files" object may not name a key twice. */
static int add_file(fl_cli_job_files *jf, const char *key, const char *path) {
  if (!path[0]) return 0;
  for (int i = 0; i < jf->n_files; i++)
    if (strcmp(jf->files[i].path, path) == 0) return 0;
  if (jf->n_files == FL_CLI_MAX_DATA_FILES) return 0; /* cannot happen: 2x2 */
  fl_cli_data_file *f = &jf->files[jf->n_files];
  f->key = key;
  snprintf(f->path, sizeof f->path, "%s", path);
  f->resolved = fl_cli_resolve_path(jf->spec_path, path);
  if (!f->resolved) return FL_ENOMEM;
  jf->n_files++;
  return 0;
}

/* The keys a source's paths sit under, by form (DESIGN.md §3). */
static int add_source(fl_cli_job_files *jf, const fl_data_source *src,
                      bool train) {
  int rc = 0;
  switch (src->kind) {
    case FL_SRC_NPY:
      rc = add_file(jf, train ? "data.train.features" : "data.validation.features",
                    src->features);
      if (!rc)
        rc = add_file(jf, train ? "data.train.labels" : "data.validation.labels",
                      src->labels);
      break;
    case FL_SRC_CSV:
      rc = add_file(jf, train ? "data.train.csv" : "data.validation.csv",
                    src->features);
      break;
    case FL_SRC_IDX:
      rc = add_file(jf, train ? "data.train.idx_images" : "data.validation.idx_images",
                    src->features);
      if (!rc)
        rc = add_file(jf, train ? "data.train.idx_labels" : "data.validation.idx_labels",
                      src->labels);
      break;
    case FL_SRC_NONE:
      break;
  }
  return rc;
}

int fl_cli_spec_load(const char *spec_path, fl_cli_job_files *jf,
                     fl_error *err) {
  memset(jf, 0, sizeof *jf);
  jf->spec_path = spec_path;
  int rc = read_spec(spec_path, &jf->text, &jf->len, err);
  if (rc) return rc;
  rc = fl_spec_parse(jf->text, jf->len, &jf->spec, err);
  if (rc) {
    fl_error_prefix(err, "%s", spec_path);
    return rc;
  }
  if ((rc = add_source(jf, &jf->spec.train, true)) ||
      (rc = add_source(jf, &jf->spec.validation, false)))
    return fl_error_set(err, rc, "out of memory listing the data files of %s",
                        spec_path);
  return 0;
}

int fl_cli_spec_hash(fl_cli_job_files *jf, fl_error *err) {
  for (int i = 0; i < jf->n_files; i++) {
    fl_cli_data_file *f = &jf->files[i];
    int rc = fl_sha256_file(f->resolved, f->sha256, &f->size, err);
    if (rc) {
      /* name the spec key too: the path alone may not say which entry */
      fl_error_prefix(err, "%s: %s \"%s\"", jf->spec_path, f->key, f->path);
      if (rc == FL_ENOTFOUND && f->path[0] != '/') {
        size_t n = strlen(err->msg);
        snprintf(err->msg + n, sizeof err->msg - n,
                 " (a spec's data paths are relative to the spec's folder)");
      }
      return rc;
    }
  }
  return 0;
}

void fl_cli_spec_files_json(fl_jw *w, const fl_cli_job_files *jf) {
  fl_jw_object_begin(w, "files");
  for (int i = 0; i < jf->n_files; i++)
    fl_jw_str(w, jf->files[i].path, jf->files[i].sha256);
  fl_jw_object_end(w);
}

void fl_cli_job_files_free(fl_cli_job_files *jf) {
  for (int i = 0; i < jf->n_files; i++) free(jf->files[i].resolved);
  fl_spec_free(&jf->spec);
  free(jf->text);
  memset(jf, 0, sizeof *jf);
}
