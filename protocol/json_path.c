/* protocol/json_path.c — owns fl_json_set_path: one value put at a dotted
 * key path ("optimizer.learning_rate", "model.layers.0.units") of a JSON
 * document, for sweeps (client/sweep.c). RFC 7386 merge patches cannot
 * reach into arrays (they replace them whole), and a sweep over one
 * layer's units must leave the other layers as they are.
 *
 * Rules, so that a mistyped path is named rather than guessed at:
 *   - a segment of digits indexes an array, and the element must exist;
 *   - any other segment is an object key; a missing key is created on the
 *     last segment and on the way down (as an object), so that a key the
 *     spec leaves at its default can be swept; the spec parser then judges
 *     whether the key means anything (an unknown key is its error);
 *   - stepping into a string, number, bool or null is an error naming the
 *     segment and what it is. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "flatline/protocol.h"

static bool all_digits(const char *s, size_t n) {
  if (n == 0 || n > 9) return false;
  for (size_t i = 0; i < n; i++)
    if (s[i] < '0' || s[i] > '9') return false;
  return true;
}

static const char *kind_of(const cJSON *v) {
  if (cJSON_IsString(v)) return "a string";
  if (cJSON_IsNumber(v)) return "a number";
  if (cJSON_IsBool(v)) return "a boolean";
  if (cJSON_IsNull(v)) return "null";
  if (cJSON_IsArray(v)) return "an array";
  return "an object";
}

/* Walk doc along path; put value (owned: taken or freed) at its end. */
static int set_in(cJSON *doc, const char *path, cJSON *value, bool *existed,
                  fl_error *err) {
  cJSON *node = doc;
  const char *seg = path;
  for (;;) {
    size_t n = strcspn(seg, ".");
    bool last = seg[n] == '\0';
    if (n == 0 || n >= FL_NAME_MAX) {
      cJSON_Delete(value);
      return fl_error_set(err, FL_EINVAL, "%s: %s", path,
                          n ? "a path segment is too long"
                            : "empty path segment (write keys as "
                              "optimizer.learning_rate, indexes as "
                              "model.layers.0.units)");
    }
    char key[FL_NAME_MAX];
    memcpy(key, seg, n);
    key[n] = '\0';
    cJSON *next = NULL;
    if (cJSON_IsArray(node)) {
      int size = cJSON_GetArraySize(node);
      if (!all_digits(key, n)) {
        cJSON_Delete(value);
        return fl_error_set(err, FL_EINVAL, "%s: %.*s is an array: index it with "
                            "a number from 0 to %d, not '%s'", path,
                            (int)(seg - path ? seg - path - 1 : 0), path,
                            size - 1, key);
      }
      long i = strtol(key, NULL, 10);
      if (i >= size) {
        cJSON_Delete(value);
        return fl_error_set(err, FL_EINVAL, "%s: %.*s has %d element%s (0 to %d); "
                            "there is no element %ld", path,
                            (int)(seg - path ? seg - path - 1 : 0), path, size,
                            size == 1 ? "" : "s", size - 1, i);
      }
      if (last) {
        *existed = true;
        cJSON_ReplaceItemInArray(node, (int)i, value);
        return 0;
      }
      next = cJSON_GetArrayItem(node, (int)i);
    } else if (cJSON_IsObject(node)) {
      next = cJSON_GetObjectItemCaseSensitive(node, key);
      if (last) {
        *existed = next != NULL;
        if (next) cJSON_ReplaceItemInObjectCaseSensitive(node, key, value);
        else cJSON_AddItemToObject(node, key, value);
        return 0;
      }
      if (!next) {
        next = cJSON_AddObjectToObject(node, key);
        if (!next) {
          cJSON_Delete(value);
          return fl_error_set(err, FL_ENOMEM, "out of memory");
        }
      }
    } else {
      cJSON_Delete(value);
      return fl_error_set(err, FL_EINVAL, "%s: %.*s is %s in the spec, not an "
                          "object or array that '%s' could be in", path,
                          (int)(seg - path ? seg - path - 1 : 0), path,
                          kind_of(node), key);
    }
    node = next;
    seg += n + 1;
  }
}

int fl_json_set_path(const char *doc, size_t doc_len, const char *path,
                     const char *value_json, char **out, bool *existed,
                     fl_error *err) {
  *out = NULL;
  bool had = false;
  cJSON *d = cJSON_ParseWithLength(doc, doc_len);
  cJSON *v = cJSON_Parse(value_json);
  int rc = 0;
  if (!d || !v) {
    rc = fl_error_set(err, FL_EPARSE, "%s is not valid JSON",
                      !d ? "the document" : "the value");
    cJSON_Delete(v);
  } else if (!cJSON_IsObject(d)) {
    rc = fl_error_set(err, FL_EINVAL, "the document is not a JSON object");
    cJSON_Delete(v);
  } else {
    rc = set_in(d, path, v, &had, err);
  }
  if (!rc) {
    char *text = cJSON_PrintUnformatted(d);
    if (text) *out = strdup(text);
    cJSON_free(text);
    if (!*out) rc = fl_error_set(err, FL_ENOMEM, "out of memory");
  }
  cJSON_Delete(d);
  if (existed) *existed = had;
  return rc;
}
