/* protocol/json_view.c — owns the read-only JSON view (fl_json_*) the
 * client reads replies and events with, and the one bounded parse that the
 * request parser (request.c) shares with it.
 *
 * fl_json is never defined: an fl_json * is a cJSON * under another name,
 * so that nothing outside the protocol library sees cJSON while the view
 * costs no copy. Before cJSON sees a byte, the spec parser's lexical scan
 * (json_scan.c) checks UTF-8, escapes, numbers and nesting depth — cJSON
 * itself would recurse 1000 levels deep and pass bad UTF-8 through. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spec_internal.h"

static const cJSON *as_cjson(const fl_json *v) { return (const cJSON *)v; }

/* Index of the first byte at or after `at` that is not JSON white space. */
static size_t skip_space(const char *text, size_t len, size_t at) {
  while (at < len && (text[at] == ' ' || text[at] == '\t' || text[at] == '\n' ||
                      text[at] == '\r')) {
    at++;
  }
  return at;
}

/* The scan's messages say "spec: ..." (it was written for specs); here the
 * same text is about `what`. */
static void rename_subject(fl_error *err, const char *what) {
  static const char spec_prefix[] = "spec: ";
  if (!err || strncmp(err->msg, spec_prefix, sizeof spec_prefix - 1) != 0) {
    return;
  }
  char rest[FL_ERRMSG_MAX];
  snprintf(rest, sizeof rest, "%s", err->msg + sizeof spec_prefix - 1);
  fl_error_set(err, err->code, "%s: %s", what, rest);
}

static fl_json *syntax_error(const char *text, size_t len, const char *at,
                             const char *what, const char *why, fl_error *err) {
  size_t offset = len;
  if (at && at >= text && at <= text + len) offset = (size_t)(at - text);
  char where[96];
  fl__json_where(text, len, offset, where, sizeof where);
  fl_error_set(err, FL_EPARSE, "%s: not valid JSON near %s%s%s", what, where,
               why ? ": " : "", why ? why : "");
  return NULL;
}

fl_json *fl_json_parse_capped(const char *text, size_t len, int max_depth,
                              const char *what, fl_error *err) {
  if (!what) what = "JSON";
  if (!text && len > 0) {
    fl_error_set(err, FL_EINVAL, "%s: text is NULL", what);
    return NULL;
  }
  /* Caps first: nothing is scanned or allocated for an oversized text. */
  if (len > FL_JSON_MAX_BYTES) {
    fl_error_set(err, FL_ETOOBIG, "%s: %zu bytes exceeds the limit of %u bytes",
                 what, len, (unsigned)FL_JSON_MAX_BYTES);
    return NULL;
  }
  if (skip_space(text, len, 0) == len) {
    fl_error_set(err, FL_EPARSE, "%s: empty input (expected a JSON value)",
                 what);
    return NULL;
  }
  int open_at_end = 0;
  if (fl__json_scan(text, len, max_depth, &open_at_end, err)) {
    rename_subject(err, what);
    return NULL;
  }
  /* Not require_null_terminated: text need not be NUL-terminated, and with
   * that flag cJSON insists on a NUL inside the buffer. Trailing text is
   * checked by hand instead. */
  const char *end = NULL;
  cJSON *root = cJSON_ParseWithLengthOpts(text, len, &end, 0);
  if (!root) {
    /* cJSON reports running off the end as an error at the last byte;
     * brackets left open tell the two apart. */
    bool cut = open_at_end > 0 && end == text + len - 1;
    return syntax_error(text, len, end, what,
                        cut ? "unexpected end of input" : NULL, err);
  }
  size_t at = (end && end >= text && end <= text + len)
                  ? skip_space(text, len, (size_t)(end - text))
                  : len;
  if (at < len) {
    cJSON_Delete(root);
    return syntax_error(text, len, text + at, what,
                        "unexpected text after the top-level value", err);
  }
  return (fl_json *)root;
}

fl_json *fl_json_parse(const char *text, size_t len, fl_error *err) {
  return fl_json_parse_capped(text, len, FL_JSON_MAX_DEPTH, "JSON", err);
}

void fl_json_free(fl_json *root) { cJSON_Delete((cJSON *)root); }

const fl_json *fl_json_get(const fl_json *obj, const char *key) {
  if (!cJSON_IsObject(as_cjson(obj)) || !key) return NULL;
  return (const fl_json *)cJSON_GetObjectItemCaseSensitive(as_cjson(obj), key);
}

const char *fl_json_string(const fl_json *v) {
  return cJSON_IsString(as_cjson(v)) ? as_cjson(v)->valuestring : NULL;
}

bool fl_json_number(const fl_json *v, double *out) {
  if (!cJSON_IsNumber(as_cjson(v))) return false;
  if (out) *out = as_cjson(v)->valuedouble;
  return true;
}

bool fl_json_bool(const fl_json *v, bool *out) {
  if (!cJSON_IsBool(as_cjson(v))) return false;
  if (out) *out = cJSON_IsTrue(as_cjson(v));
  return true;
}

bool fl_json_is_null(const fl_json *v) { return cJSON_IsNull(as_cjson(v)); }

size_t fl_json_array_size(const fl_json *v) {
  if (!cJSON_IsArray(as_cjson(v))) return 0;
  size_t n = 0;
  for (const cJSON *c = as_cjson(v)->child; c; c = c->next) n++;
  return n;
}

const fl_json *fl_json_array_at(const fl_json *v, size_t i) {
  if (!cJSON_IsArray(as_cjson(v))) return NULL;
  const cJSON *c = as_cjson(v)->child;
  while (c && i > 0) {
    c = c->next;
    i--;
  }
  return (const fl_json *)c;
}

char *fl_json_print(const fl_json *v) {
  if (!v) return NULL;
  return cJSON_PrintUnformatted(as_cjson(v));
}
