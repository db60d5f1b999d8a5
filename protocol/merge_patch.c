/* protocol/merge_patch.c — RFC 7386 JSON merge patch over cJSON: objects
 * merge key by key, null deletes, anything else (arrays included) replaces. */
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "flatline/protocol.h"

static cJSON *merge(cJSON *target, const cJSON *patch) {
  if (!cJSON_IsObject(patch)) {
    cJSON_Delete(target);
    return cJSON_Duplicate(patch, 1);
  }
  if (!cJSON_IsObject(target)) {
    cJSON_Delete(target);
    target = cJSON_CreateObject();
    if (!target) return NULL;
  }
  for (const cJSON *p = patch->child; p; p = p->next) {
    if (cJSON_IsNull(p)) {
      cJSON_DeleteItemFromObjectCaseSensitive(target, p->string);
      continue;
    }
    cJSON *old = cJSON_DetachItemFromObjectCaseSensitive(target, p->string);
    cJSON *merged = merge(old, p);
    if (!merged) return NULL;
    cJSON_AddItemToObject(target, p->string, merged);
  }
  return target;
}

int fl_json_merge_patch(const char *doc, size_t doc_len, const char *patch,
                        char **out, fl_error *err) {
  *out = NULL;
  cJSON *d = cJSON_ParseWithLength(doc, doc_len);
  cJSON *p = cJSON_Parse(patch);
  int rc = 0;
  if (!d || !p) {
    rc = fl_error_set(err, FL_EPARSE, "%s is not valid JSON", !d ? "document" : "patch");
  } else {
    d = merge(d, p);
    char *text = d ? cJSON_PrintUnformatted(d) : NULL;
    if (!text) rc = fl_error_set(err, FL_ENOMEM, "out of memory");
    else {
      *out = strdup(text);
      cJSON_free(text);
      if (!*out) rc = fl_error_set(err, FL_ENOMEM, "out of memory");
    }
  }
  cJSON_Delete(d);
  cJSON_Delete(p);
  return rc;
}
