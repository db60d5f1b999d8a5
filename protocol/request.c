/* protocol/request.c — owns fl_request_parse: one JSON frame from a client,
 * decoded and checked against docs/protocol.md into a plain fl_request
 * (hello, blob_check, blob_put, submit, check, follow, list, show, cancel,
 * devices, export, predict, log, wait, rm, group), plus fl_request_free and
 * the request type names.
 *
 * It is as strict as the spec parser and reuses its pieces (json_scan.c for
 * UTF-8 and depth before cJSON allocates, json_strict.c for unknown and
 * duplicate keys and typed values, json_message.c for key-path messages):
 * a daemon that quietly ignored a misspelt key would act on a request the
 * client did not mean. Messages name the key and what was expected, e.g.
 * "sha256: expected a SHA-256 digest (64 lowercase hex digits), got "ab"".
 *
 * Codes: FL_EPARSE when the frame is not a JSON object, FL_ETOOBIG past a
 * cap (bytes, depth, files, blobs), FL_EINVAL for a well-formed object that
 * is not a valid request. The id is decoded first and kept in *out even on
 * error, so that the reply can echo it. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spec_internal.h"

/* Ids and sizes: JSON integers are exact in a double only below 2^53; a
 * larger id would be echoed back as another number. */
#define EXACT_INT_MAX ((INT64_C(1) << 53) - 1)

#define SHA256_EXPECTED "a SHA-256 digest (64 lowercase hex digits)"
#define JOB_EXPECTED "a job id such as \"j17\" (j and 1 to 9 digits)"

/* One list, so that enum values and wire names cannot drift apart. */
#define FL__REQUEST_TYPE_LIST(X)     \
  X(FL_REQ_HELLO, "hello")           \
  X(FL_REQ_BLOB_CHECK, "blob_check") \
  X(FL_REQ_BLOB_PUT, "blob_put")     \
  X(FL_REQ_SUBMIT, "submit")         \
  X(FL_REQ_CHECK, "check")           \
  X(FL_REQ_FOLLOW, "follow")         \
  X(FL_REQ_LIST, "list")             \
  X(FL_REQ_SHOW, "show")             \
  X(FL_REQ_CANCEL, "cancel")         \
  X(FL_REQ_DEVICES, "devices")       \
  X(FL_REQ_EXPORT, "export")         \
  X(FL_REQ_PREDICT, "predict")       \
  X(FL_REQ_LOG, "log")               \
  X(FL_REQ_WAIT, "wait")             \
  X(FL_REQ_RM, "rm")                 \
  X(FL_REQ_GROUP, "group")

static const fl__enum_entry request_type_entries[] = {
#define FL__REQUEST_TYPE_ENTRY(value, name) {name, value},
    FL__REQUEST_TYPE_LIST(FL__REQUEST_TYPE_ENTRY)
#undef FL__REQUEST_TYPE_ENTRY
};

static const fl__enum_table request_type_table = {
    request_type_entries, FL__ARRAY_LEN(request_type_entries)};

const char *fl_request_type_name(fl_request_type t) {
  switch (t) {
#define FL__REQUEST_TYPE_CASE(value, name) \
  case value:                              \
    return name;
    FL__REQUEST_TYPE_LIST(FL__REQUEST_TYPE_CASE)
#undef FL__REQUEST_TYPE_CASE
  }
  return "unknown";
}

/* The keys each request type allows (docs/protocol.md's table). */
static const struct {
  fl_request_type type;
  const char *keys[10];
  size_t n_keys;
} request_keys[] = {
    {FL_REQ_HELLO, {"type", "protocol", "build"}, 3},
    {FL_REQ_BLOB_CHECK, {"type", "id", "blobs"}, 3},
    {FL_REQ_BLOB_PUT, {"type", "id", "sha256", "size"}, 4},
    {FL_REQ_SUBMIT,
     {"type", "id", "spec", "files", "follow", "priority", "after", "group",
      "sweep"}, 9},
    {FL_REQ_CHECK, {"type", "id", "spec", "files"}, 4},
    {FL_REQ_FOLLOW, {"type", "id", "job"}, 3},
    {FL_REQ_LIST, {"type", "id", "after", "limit", "group"}, 5},
    {FL_REQ_SHOW, {"type", "id", "job"}, 3},
    {FL_REQ_CANCEL, {"type", "id", "job", "all"}, 4},
    {FL_REQ_DEVICES, {"type", "id"}, 2},
    {FL_REQ_EXPORT, {"type", "id", "job"}, 3},
    {FL_REQ_PREDICT,
     {"type", "id", "job", "form", "features", "labels", "name", "evaluate"}, 8},
    {FL_REQ_LOG, {"type", "id", "job"}, 3},
    {FL_REQ_WAIT, {"type", "id", "jobs"}, 3},
    {FL_REQ_RM, {"type", "id", "job"}, 3},
    {FL_REQ_GROUP, {"type", "id", "group"}, 3},
};

static size_t keys_index(fl_request_type type) {
  size_t k = 0;
  while (k + 1 < FL__ARRAY_LEN(request_keys) && request_keys[k].type != type) {
    k++;
  }
  return k;
}

void fl_request_free(fl_request *r) {
  if (!r) return;
  free(r->blobs);
  r->blobs = NULL;
  r->n_blobs = 0;
  free(r->spec_text);
  r->spec_text = NULL;
  r->spec_len = 0;
  free(r->files);
  r->files = NULL;
  r->n_files = 0;
  free(r->jobs);
  r->jobs = NULL;
  r->n_jobs = 0;
  free(r->sweep);
  r->sweep = NULL;
}

/* ---- single values ----------------------------------------------------- */

static int as_sha256(const cJSON *item, const char *path,
                     char out[FL_SHA256_HEX], fl_error *err) {
  if (!cJSON_IsString(item) || !fl_sha256_hex_valid(item->valuestring)) {
    return fl__expected(err, path, SHA256_EXPECTED, item);
  }
  memcpy(out, item->valuestring, FL_SHA256_HEX);
  return 0;
}

/* "j" then 1 to 9 digits: what the daemon hands out, and short enough that
 * it always fits FL_JOB_ID_MAX and an int. */
static bool job_id_valid(const char *s) {
  if (!s || s[0] != 'j') return false;
  size_t n = 0;
  while (s[1 + n] >= '0' && s[1 + n] <= '9') n++;
  return n >= 1 && n <= 9 && s[1 + n] == '\0';
}

static int get_job(const cJSON *root, char out[FL_JOB_ID_MAX], fl_error *err) {
  const cJSON *item = cJSON_GetObjectItemCaseSensitive(root, "job");
  if (!item) return fl__missing(err, "", "job", JOB_EXPECTED);
  if (!cJSON_IsString(item) || !job_id_valid(item->valuestring)) {
    return fl__expected(err, "job", JOB_EXPECTED, item);
  }
  snprintf(out, FL_JOB_ID_MAX, "%s", item->valuestring);
  return 0;
}

static int get_sha256(const cJSON *root, const char *key,
                      char out[FL_SHA256_HEX], fl_error *err) {
  const cJSON *item = cJSON_GetObjectItemCaseSensitive(root, key);
  if (!item) return fl__missing(err, "", key, SHA256_EXPECTED);
  return as_sha256(item, key, out, err);
}

/* ---- compound fields --------------------------------------------------- */

/* "blobs": [sha256, ...], at most FL_MAX_BLOB_CHECK (possibly none). */
static int get_blobs(const cJSON *root, fl_request *out, fl_error *err) {
  static const char expected[] = "an array of SHA-256 digests";
  const cJSON *arr = cJSON_GetObjectItemCaseSensitive(root, "blobs");
  if (!arr) return fl__missing(err, "", "blobs", expected);
  if (!cJSON_IsArray(arr)) return fl__expected(err, "blobs", expected, arr);
  size_t n = 0;
  for (const cJSON *c = arr->child; c; c = c->next) n++;
  if (n > FL_MAX_BLOB_CHECK) {
    fl__fail(err, "blobs",
             "expected at most %u digests in one blob_check, got %zu (split "
             "the check)",
             (unsigned)FL_MAX_BLOB_CHECK, n);
    return err->code = FL_ETOOBIG;
  }
  out->blobs = calloc(n ? n : 1, sizeof *out->blobs);
  if (!out->blobs) {
    return fl_error_set(err, FL_ENOMEM, "blobs: out of memory");
  }
  int i = 0;
  for (const cJSON *c = arr->child; c; c = c->next, i++) {
    char path[FL__KEYPATH_MAX];
    fl__path_index(path, "blobs", i);
    int rc = as_sha256(c, path, out->blobs[i], err);
    if (rc) return rc;
  }
  out->n_blobs = (int)n;
  return 0;
}

/* "jobs": [job id, ...], 1 to FL_WAIT_MAX_JOBS of them (wait). */
static int get_jobs(const cJSON *root, fl_request *out, fl_error *err) {
  static const char expected[] = "an array of job ids such as [\"j17\"]";
  const cJSON *arr = cJSON_GetObjectItemCaseSensitive(root, "jobs");
  if (!arr) return fl__missing(err, "", "jobs", expected);
  if (!cJSON_IsArray(arr) || !arr->child)
    return fl__expected(err, "jobs", expected, arr);
  size_t n = 0;
  for (const cJSON *c = arr->child; c; c = c->next) n++;
  if (n > FL_WAIT_MAX_JOBS) {
    fl__fail(err, "jobs", "expected at most %u job ids in one wait, got %zu "
             "(send several waits)", (unsigned)FL_WAIT_MAX_JOBS, n);
    return err->code = FL_ETOOBIG;
  }
  out->jobs = calloc(n, sizeof *out->jobs);
  if (!out->jobs) return fl_error_set(err, FL_ENOMEM, "jobs: out of memory");
  int i = 0;
  for (const cJSON *c = arr->child; c; c = c->next, i++) {
    char path[FL__KEYPATH_MAX];
    fl__path_index(path, "jobs", i);
    if (!cJSON_IsString(c) || !job_id_valid(c->valuestring))
      return fl__expected(err, path, JOB_EXPECTED, c);
    snprintf(out->jobs[i], FL_JOB_ID_MAX, "%s", c->valuestring);
  }
  out->n_jobs = (int)n;
  return 0;
}

/* submit's optional "priority" and "after". */
static int get_queue_options(const cJSON *root, fl_request *out, fl_error *err) {
  int64_t prio = 0;
  int rc = fl__get_int64(root, "", "priority", false, FL_PRIORITY_MIN,
                         FL_PRIORITY_MAX, &prio, err);
  if (rc < 0) return rc;
  out->priority = (int)prio;
  const cJSON *after = cJSON_GetObjectItemCaseSensitive(root, "after");
  if (after && !cJSON_IsNull(after)) {
    if (!cJSON_IsString(after) || !job_id_valid(after->valuestring))
      return fl__expected(err, "after", JOB_EXPECTED, after);
    snprintf(out->after, FL_JOB_ID_MAX, "%s", after->valuestring);
  }
  return 0;
}

/* ---- sweeps (issue 15) -------------------------------------------------- */

#define GROUP_EXPECTED "a group id such as \"g17\" (g and 1 to 9 digits)"

/* "g" then 1 to 9 digits, as job ids: the number of the group's first job. */
static bool group_id_valid(const char *s) {
  if (!s || s[0] != 'g') return false;
  size_t n = 0;
  while (s[1 + n] >= '0' && s[1 + n] <= '9') n++;
  return n >= 1 && n <= 9 && s[1 + n] == '\0';
}

/* "group": a group id; with allow_new (submit) also "new". */
static int get_group(const cJSON *root, bool required, bool allow_new,
                     char out[FL_JOB_ID_MAX], fl_error *err) {
  const char *expected = allow_new ? "\"new\" (start a group) or " GROUP_EXPECTED
                                   : GROUP_EXPECTED;
  const cJSON *item = cJSON_GetObjectItemCaseSensitive(root, "group");
  if (!item || (!required && cJSON_IsNull(item))) {
    return required ? fl__missing(err, "", "group", expected) : 0;
  }
  if (!cJSON_IsString(item) ||
      !(group_id_valid(item->valuestring) ||
        (allow_new && strcmp(item->valuestring, "new") == 0)))
    return fl__expected(err, "group", expected, item);
  snprintf(out, FL_JOB_ID_MAX, "%s", item->valuestring);
  return 0;
}

bool fl_sweep_key_valid(const char *k, size_t n) {
  if (n == 0 || n >= FL_SWEEP_KEY_MAX || k[0] == '.' || k[n - 1] == '.') return false;
  for (size_t i = 0; i < n; i++) {
    char c = k[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '_' || (c == '.' && k[i + 1] != '.');
    if (!ok) return false;
  }
  return true;
}

/* submit's "sweep": {key path: scalar}, 1 to FL_SWEEP_MAX_KEYS keys, each
 * once; kept as compact JSON printed from the checked object. */
static int get_sweep(const cJSON *root, fl_request *out, fl_error *err) {
  static const char expected[] =
      "an object {\"optimizer.learning_rate\": 0.01, ...} of the grid "
      "point's values";
  const cJSON *obj = cJSON_GetObjectItemCaseSensitive(root, "sweep");
  if (!obj || cJSON_IsNull(obj)) return 0;
  if (!cJSON_IsObject(obj) || !obj->child)
    return fl__expected(err, "sweep", expected, obj);
  if (!out->group[0])
    return fl_error_set(err, FL_EINVAL, "sweep: a grid point belongs to a group: "
                        "send \"group\": \"new\" or the group's id with it");
  size_t n = 0;
  for (const cJSON *c = obj->child; c; c = c->next) n++;
  if (n > FL_SWEEP_MAX_KEYS) {
    fl__fail(err, "sweep", "expected at most %u keys, got %zu",
             (unsigned)FL_SWEEP_MAX_KEYS, n);
    return err->code = FL_ETOOBIG;
  }
  for (const cJSON *c = obj->child; c; c = c->next) {
    const char *key = c->string ? c->string : "";
    char path[FL__KEYPATH_MAX];
    fl__path_key(path, "sweep", key);
    if (!fl_sweep_key_valid(key, strlen(key)))
      return fl__fail(err, path, "expected a spec key path such as "
                      "optimizer.learning_rate (letters, digits, '_' and '.', "
                      "at most %u bytes)", (unsigned)FL_SWEEP_KEY_MAX - 1);
    for (const cJSON *d = obj->child; d != c; d = d->next)
      if (strcmp(d->string, key) == 0)
        return fl__fail(err, path, "duplicate key (expected each key once)");
    if (cJSON_IsString(c)) {
      size_t len = strlen(c->valuestring);
      bool ctl = false;
      for (size_t i = 0; i < len; i++)
        ctl |= (unsigned char)c->valuestring[i] < 0x20 || c->valuestring[i] == 0x7F;
      if (len >= FL_SWEEP_VALUE_MAX || ctl)
        return fl__fail(err, path, "expected a string of at most %u bytes "
                        "without control characters",
                        (unsigned)FL_SWEEP_VALUE_MAX - 1);
    } else if (!cJSON_IsNumber(c) && !cJSON_IsBool(c) && !cJSON_IsNull(c)) {
      return fl__expected(err, path, "a number, string, boolean or null", c);
    }
  }
  char *text = cJSON_PrintUnformatted(obj);
  if (text) out->sweep = strdup(text);
  cJSON_free(text);
  if (!out->sweep) return fl_error_set(err, FL_ENOMEM, "sweep: out of memory");
  return 0;
}

/* A file path as a key of "files": the spec names files by these, so they
 * follow the spec's rule for paths (non-empty, short, no control
 * characters, hence no NUL). */
static int check_file_path(const char *key, const char *path, fl_error *err) {
  size_t len = strlen(key);
  if (len == 0) {
    return fl__fail(err, path,
                    "expected a file path as written in the spec, got an "
                    "empty key");
  }
  if (len >= FL_PATH_MAX) {
    return fl__fail(err, path,
                    "expected a file path of at most %u bytes, got %zu",
                    (unsigned)FL_PATH_MAX - 1, len);
  }
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)key[i];
    if (c < 0x20 || c == 0x7F) {
      return fl__fail(err, path,
                      "expected a file path without control characters");
    }
  }
  return 0;
}

/* "files": {path as written in the spec: sha256}, at most
 * FL_MAX_REQUEST_FILES, each path once. */
static int get_files(const cJSON *root, fl_request *out, fl_error *err) {
  static const char expected[] =
      "an object {\"path as written in the spec\": \"sha256\"}";
  const cJSON *obj = cJSON_GetObjectItemCaseSensitive(root, "files");
  if (!obj) return fl__missing(err, "", "files", expected);
  if (!cJSON_IsObject(obj)) return fl__expected(err, "files", expected, obj);
  size_t n = 0;
  for (const cJSON *c = obj->child; c; c = c->next) n++;
  if (n > FL_MAX_REQUEST_FILES) {
    fl__fail(err, "files", "expected at most %u files, got %zu",
             (unsigned)FL_MAX_REQUEST_FILES, n);
    return err->code = FL_ETOOBIG;
  }
  out->files = calloc(n ? n : 1, sizeof *out->files);
  if (!out->files) return fl_error_set(err, FL_ENOMEM, "files: out of memory");
  int i = 0;
  for (const cJSON *c = obj->child; c; c = c->next, i++) {
    const char *key = c->string ? c->string : "";
    char path[FL__KEYPATH_MAX];
    fl__path_key(path, "files", key);
    int rc = check_file_path(key, path, err);
    if (rc) return rc;
    /* cJSON keeps repeated keys as separate children; n <= 64 keeps the
     * quadratic check cheap. */
    for (int j = 0; j < i; j++) {
      if (strcmp(out->files[j].path, key) == 0) {
        return fl__fail(err, path,
                        "duplicate path (expected each file once, got it "
                        "twice)");
      }
    }
    if ((rc = as_sha256(c, path, out->files[i].sha256, err))) return rc;
    memcpy(out->files[i].path, key, strlen(key) + 1);
    out->n_files = i + 1;
  }
  return 0;
}

/* "spec": the spec file's text, kept as text (the daemon parses it with
 * fl_spec_parse and reports its own key paths). */
static int get_spec(const cJSON *root, fl_request *out, fl_error *err) {
  static const char expected[] = "the spec file's text as a string";
  const cJSON *item = cJSON_GetObjectItemCaseSensitive(root, "spec");
  if (!item) return fl__missing(err, "", "spec", expected);
  if (!cJSON_IsString(item) || !item->valuestring ||
      item->valuestring[0] == '\0') {
    return fl__expected(err, "spec", expected, item);
  }
  /* The scan rejected \u0000, so strlen is the whole text. */
  size_t len = strlen(item->valuestring);
  if (len > FL_SPEC_MAX_BYTES) {
    fl__fail(err, "spec", "%zu bytes exceeds the limit of %u bytes", len,
             (unsigned)FL_SPEC_MAX_BYTES);
    return err->code = FL_ETOOBIG;
  }
  out->spec_text = malloc(len + 1);
  if (!out->spec_text)
    return fl_error_set(err, FL_ENOMEM, "spec: out of memory");
  memcpy(out->spec_text, item->valuestring, len + 1);
  out->spec_len = len;
  return 0;
}

/* ---- the request ------------------------------------------------------- */

/* hello: {"type":"hello","protocol":1,"build":"flatline 0.1.0"}. A peer of
 * another protocol version may send another hello: only its version (and
 * build, when readable) is taken, and the call succeeds, so that the daemon
 * can answer "I speak 1, you speak 2" rather than "unknown key". */
static int decode_hello(const cJSON *root, fl_request *out, fl_error *err) {
  int64_t protocol = 0;
  int rc =
      fl__get_int64(root, "", "protocol", true, 0, INT32_MAX, &protocol, err);
  if (rc < 0) return rc;
  out->protocol = (int)protocol;
  if (protocol != FL_PROTOCOL_VERSION) {
    fl_error ignored;
    const cJSON *build = cJSON_GetObjectItemCaseSensitive(root, "build");
    if (build && fl__as_text(build, "build", "", out->build, sizeof out->build,
                             &ignored) != 0) {
      out->build[0] = '\0';
    }
    return 0;
  }
  size_t k = keys_index(FL_REQ_HELLO);
  rc = fl__check_object(root, "", request_keys[k].keys, request_keys[k].n_keys,
                        err);
  if (rc) return rc;
  rc = fl__get_text(root, "", "build", true,
                    "the peer's build such as \"flatline " FL_VERSION_STRING
                    "\"",
                    out->build, sizeof out->build, err);
  return rc < 0 ? rc : 0;
}

/* predict: {"job", "form": "npy"|"csv"|"idx", "features": sha256,
 * "labels": sha256 (optional), "name": text (optional), "evaluate": bool
 * (optional)}. */
static int decode_predict(const cJSON *root, fl_request *out, fl_error *err) {
  int rc;
  if ((rc = get_job(root, out->job, err)) ||
      (rc = get_sha256(root, "features", out->sha256, err)))
    return rc;
  if (cJSON_GetObjectItemCaseSensitive(root, "labels") &&
      (rc = get_sha256(root, "labels", out->labels_sha256, err)))
    return rc;
  rc = fl__get_text(root, "", "form", true, "\"npy\", \"csv\" or \"idx\"",
                    out->form, sizeof out->form, err);
  if (rc < 0) return rc;
  if (strcmp(out->form, "npy") && strcmp(out->form, "csv") &&
      strcmp(out->form, "idx"))
    return fl_error_set(err, FL_EINVAL, "form: expected \"npy\", \"csv\" or "
                        "\"idx\", got \"%s\"", out->form);
  rc = fl__get_text(root, "", "name", false, "the data file's name",
                    out->data_name, sizeof out->data_name, err);
  if (rc < 0) return rc;
  if (!out->data_name[0]) snprintf(out->data_name, sizeof out->data_name, "data");
  rc = fl__get_bool(root, "", "evaluate", false, &out->evaluate, err);
  return rc < 0 ? rc : 0;
}

static int decode_fields(const cJSON *root, fl_request *out, fl_error *err) {
  int rc = 0;
  switch (out->type) {
    case FL_REQ_HELLO:
    case FL_REQ_DEVICES:
      break;
    case FL_REQ_LIST: {
      /* A page: jobs after `after` (a job id), at most `limit` of them. */
      const cJSON *after = cJSON_GetObjectItemCaseSensitive(root, "after");
      if (after && !cJSON_IsNull(after)) {
        if (!cJSON_IsString(after) || !job_id_valid(after->valuestring)) {
          rc = fl__expected(err, "after", JOB_EXPECTED, after);
          break;
        }
        snprintf(out->job, FL_JOB_ID_MAX, "%s", after->valuestring);
      }
      int64_t limit = 0;
      rc = fl__get_int64(root, "", "limit", false, 1, FL_LIST_PAGE_MAX, &limit, err);
      if (rc < 0) break;
      out->limit = (int)limit;
      rc = get_group(root, false, false, out->group, err);
      break;
    }
    case FL_REQ_GROUP:
      rc = get_group(root, true, false, out->group, err);
      break;
    case FL_REQ_BLOB_CHECK:
      rc = get_blobs(root, out, err);
      break;
    case FL_REQ_BLOB_PUT: {
      if ((rc = get_sha256(root, "sha256", out->sha256, err))) break;
      int64_t size = 0;
      rc = fl__get_int64(root, "", "size", true, 0, EXACT_INT_MAX, &size, err);
      if (rc < 0) break;
      out->size = (uint64_t)size;
      rc = 0;
      break;
    }
    case FL_REQ_SUBMIT:
    case FL_REQ_CHECK:
      if ((rc = get_spec(root, out, err))) break;
      if ((rc = get_files(root, out, err))) break;
      if (out->type == FL_REQ_SUBMIT) {
        rc = fl__get_bool(root, "", "follow", false, &out->follow, err);
        if (rc > 0) rc = 0;
        if (!rc) rc = get_queue_options(root, out, err);
        if (!rc) rc = get_group(root, false, true, out->group, err);
        if (!rc) rc = get_sweep(root, out, err);
      }
      break;
    case FL_REQ_CANCEL: {
      /* {"job": J} or {"all": true}: one of the two. */
      rc = fl__get_bool(root, "", "all", false, &out->all, err);
      if (rc < 0) break;
      rc = 0;
      bool has_job = cJSON_GetObjectItemCaseSensitive(root, "job") != NULL;
      if (out->all && has_job)
        rc = fl_error_set(err, FL_EINVAL, "cancel: give \"job\" or \"all\": "
                          "true, not both");
      else if (!out->all)
        rc = get_job(root, out->job, err);
      break;
    }
    case FL_REQ_WAIT:
      rc = get_jobs(root, out, err);
      break;
    case FL_REQ_FOLLOW:
    case FL_REQ_SHOW:
    case FL_REQ_EXPORT:
    case FL_REQ_LOG:
    case FL_REQ_RM:
      rc = get_job(root, out->job, err);
      break;
    case FL_REQ_PREDICT:
      rc = decode_predict(root, out, err);
      break;
  }
  return rc;
}

static int decode_request(const cJSON *root, fl_request *out, fl_error *err) {
  if (!cJSON_IsObject(root)) {
    char got[128];
    fl__describe(root, got, sizeof got);
    return fl_error_set(err, FL_EPARSE,
                        "request: expected a JSON object such as "
                        "{\"type\":\"list\",\"id\":1}, got %s",
                        got);
  }
  /* The id first, and before any check that could fail, so that a reply
   * to a bad request still reaches the call that sent it. */
  const cJSON *id = cJSON_GetObjectItemCaseSensitive(root, "id");
  if (fl__is_int_in(id, 1, EXACT_INT_MAX)) out->id = (int64_t)id->valuedouble;

  const cJSON *type = cJSON_GetObjectItemCaseSensitive(root, "type");
  if (!type) {
    return fl__missing(err, "", "type",
                       "a request type such as \"submit\" or \"list\"");
  }
  int t = 0;
  int rc = fl__as_enum(type, "type", &request_type_table, &t, err);
  if (rc) return rc;
  out->type = (fl_request_type)t;
  if (out->type == FL_REQ_HELLO) {
    out->id = 0; /* a hello is not a request and carries no id */
    return decode_hello(root, out, err);
  }

  size_t k = keys_index(out->type);
  rc = fl__check_object(root, "", request_keys[k].keys, request_keys[k].n_keys,
                        err);
  if (rc) return rc;
  int64_t id_value = 0;
  rc = fl__get_int64(root, "", "id", true, 1, EXACT_INT_MAX, &id_value, err);
  if (rc < 0) return rc;
  out->id = id_value;
  return decode_fields(root, out, err);
}

/* True when s holds nothing but JSON white space. */
static bool all_space(const uint8_t *s, size_t len) {
  for (size_t i = 0; i < len; i++) {
    if (s[i] != ' ' && s[i] != '\t' && s[i] != '\n' && s[i] != '\r') {
      return false;
    }
  }
  return true;
}

int fl_request_parse(const uint8_t *json, size_t len, fl_request *out,
                     fl_error *err) {
  fl_error local;
  if (!err) err = &local; /* the code is read back from it below */
  if (!out)
    return fl_error_set(err, FL_EINVAL, "fl_request_parse: out is NULL");
  memset(out, 0, sizeof *out);
  if (!json && len > 0) {
    return fl_error_set(err, FL_EINVAL, "fl_request_parse: json is NULL");
  }
  /* Past the cap, fl_json_parse_capped refuses the frame unread. */
  if (len <= FL_FRAME_MAX_JSON && all_space(json, len)) {
    return fl_error_set(err, FL_EPARSE,
                        "request: empty JSON frame (expected an object such "
                        "as {\"type\":\"list\",\"id\":1})");
  }
  fl_json *view = fl_json_parse_capped((const char *)json, len,
                                       FL_REQUEST_MAX_DEPTH, "request", err);
  if (!view) return err->code;
  /* json_view.c: an fl_json is a cJSON under another name. */
  int rc = decode_request((const cJSON *)view, out, err);
  fl_json_free(view);
  if (rc) {
    /* The shared accessors speak of specs (FL_ESPEC); a request that is
     * well-formed JSON but not a valid request is FL_EINVAL. */
    if (rc == FL_ESPEC) rc = FL_EINVAL;
    err->code = rc;
    int64_t id = out->id;
    fl_request_type type = out->type;
    fl_request_free(out);
    memset(out, 0, sizeof *out);
    out->id = id;
    out->type = type;
  }
  return rc;
}
