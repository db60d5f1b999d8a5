/* daemon/config.c — see config.h. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fsutil.h"

void fl_limits_default(fl_limits *l) {
  l->max_queued_jobs = 100;
  l->max_blob_bytes = (uint64_t)8 << 30;
  l->follower_max_frames = 256;
  l->follower_max_bytes = (uint64_t)8 << 20;
  l->autotune = true;
}

static char *trim(char *s) {
  while (isspace((unsigned char)*s)) s++;
  char *e = s + strlen(s);
  while (e > s && isspace((unsigned char)e[-1])) *--e = '\0';
  return s;
}

int fl_config_load(const char *path, fl_limits *l, fl_error *err) {
  char *text = NULL;
  size_t len = 0;
  int rc = fl_read_small(path, 1 << 20, &text, &len, err);
  if (rc) return rc;
  fl_limits out = *l;
  int line_no = 0;
  for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
    line_no++;
    char *hash = strchr(line, '#');
    if (hash) *hash = '\0';
    char *s = trim(line);
    if (!*s) continue;
    char *eq = strchr(s, '=');
    if (!eq) {
      rc = fl_error_set(err, FL_EINVAL, "%s:%d: expected key = value", path, line_no);
      break;
    }
    *eq = '\0';
    char *key = trim(s), *val = trim(eq + 1), *end = NULL;
    if (strcmp(key, "autotune") == 0) {
      if (strcmp(val, "true") != 0 && strcmp(val, "false") != 0) {
        rc = fl_error_set(err, FL_EINVAL, "%s:%d: autotune: expected true or "
                          "false, got \"%s\"", path, line_no, val);
        break;
      }
      out.autotune = strcmp(val, "true") == 0;
      continue;
    }
    errno = 0;
    unsigned long long v = strtoull(val, &end, 10);
    if (errno || end == val || *end || val[0] == '-' || v == 0) {
      rc = fl_error_set(err, FL_EINVAL, "%s:%d: %s: expected a positive "
                        "integer, got \"%s\"", path, line_no, key, val);
      break;
    }
    if (strcmp(key, "max_queued_jobs") == 0) out.max_queued_jobs = v;
    else if (strcmp(key, "max_blob_bytes") == 0) out.max_blob_bytes = v;
    else if (strcmp(key, "follower_max_frames") == 0) out.follower_max_frames = (uint32_t)v;
    else if (strcmp(key, "follower_max_bytes") == 0) out.follower_max_bytes = v;
    else {
      rc = fl_error_set(err, FL_EINVAL, "%s:%d: unknown key \"%s\" (known: "
                        "max_queued_jobs, max_blob_bytes, follower_max_frames, "
                        "follower_max_bytes, autotune)", path, line_no, key);
      break;
    }
  }
  free(text);
  if (!rc) *l = out;
  return rc;
}
