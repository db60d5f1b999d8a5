/* daemon/config.c — see config.h. Every key has a default and a range, in
 * one table; a reload starts again from the defaults, so a key removed from
 * the file takes its default back rather than keeping its last value. Also
 * which file is read: --config, else the default path when it exists. */
#define _GNU_SOURCE /* realpath */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsutil.h"

#define KIB ((uint64_t)1 << 10)
#define MIB ((uint64_t)1 << 20)
#define GIB ((uint64_t)1 << 30)

/* A quarter of the machine's memory for data loads and checks: a job's
 * datasets are also held by the worker that trains it, and the device (on
 * a CPU: the same RAM) gets its own share (cpu_memory_percent). */
static uint64_t default_load_memory(void) {
  long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
  uint64_t ram = pages > 0 && page > 0 ? (uint64_t)pages * (uint64_t)page : 4 * GIB;
  return ram / 4;
}

typedef struct {
  const char *key;
  const char *alias;      /* an older name still read, or NULL */
  size_t offset;          /* of a uint64_t or uint32_t in fl_limits */
  bool u32;
  uint64_t min, max;
  const char *unit;
} key_spec;

#define U64(field) offsetof(fl_limits, field), false
#define U32(field) offsetof(fl_limits, field), true

/* Ranges: the minimum keeps the daemon usable (a follower queue must hold
 * a replay chunk and an export chunk: FL_FRAME_MAX_BINARY is 1 MiB); the
 * maximum keeps the value meaningful for its type and for the machine. */
static const key_spec KEYS[] = {
    {"max_queued_jobs", NULL, U64(max_queued_jobs), 1, 1000000, "jobs"},
    {"max_storage_bytes", "max_blob_bytes", U64(max_storage_bytes), MIB,
     (uint64_t)1 << 60, "bytes"},
    {"max_storage_files", NULL, U64(max_storage_files), 16, 100000000, "files"},
    {"follower_max_frames", NULL, U32(follower_max_frames), 16, 1 << 20, "frames"},
    {"follower_max_bytes", NULL, U64(follower_max_bytes), 4 * MIB, 4 * GIB, "bytes"},
    {"max_connections_per_user", NULL, U32(max_connections_per_user), 1, 100000,
     "connections"},
    {"load_memory_bytes", NULL, U64(load_memory_bytes), 16 * MIB, (uint64_t)1 << 50,
     "bytes"},
    {"cpu_memory_percent", NULL, U32(cpu_memory_percent), 1, 95, "percent"},
    /* 0 = keep for ever; a century is "for ever" enough for a range. */
    {"retention_days", NULL, U32(retention_days), 0, 36500, "days"},
    /* Tests only (docs/flatlined.8): moves the daemon's clock forward, at
     * most ten years, so that a test sees retention expire. */
    {"test_clock_offset", NULL, U64(test_clock_offset), 0, 315360000, "seconds"},
};

void fl_limits_default(fl_limits *l) {
  memset(l, 0, sizeof *l);
  l->max_queued_jobs = 100;
  l->max_storage_bytes = 8 * GIB;
  /* A job keeps about five files; 20000 leaves room for thousands of jobs
   * and uploads while bounding what one user can make the daemon scan. */
  l->max_storage_files = 20000;
  l->follower_max_frames = 256;
  l->follower_max_bytes = 8 * MIB;
  /* Enough for a few terminals and scripts each; the rest of the daemon's
   * descriptors stay for other users and for the jobs' own files. */
  l->max_connections_per_user = 128;
  l->load_memory_bytes = default_load_memory();
  /* Half the RAM for a model on a CPU device: training shares the machine
   * with the loads above, the desktop and other services. */
  l->cpu_memory_percent = 50;
  l->autotune = true;
}

static char *trim(char *s) {
  while (isspace((unsigned char)*s)) s++;
  char *e = s + strlen(s);
  while (e > s && isspace((unsigned char)e[-1])) *--e = '\0';
  return s;
}

static void known_keys(char *out, size_t size) {
  size_t n = 0;
  for (size_t i = 0; i < sizeof KEYS / sizeof *KEYS && n < size; i++)
    n += (size_t)snprintf(out + n, size - n, "%s, ", KEYS[i].key);
  if (n < size) snprintf(out + n, size - n, "autotune");
}

static int set_key(fl_limits *out, const char *path, int line_no, const char *key,
                   const char *val, fl_error *err) {
  if (strcmp(key, "autotune") == 0) {
    if (strcmp(val, "true") != 0 && strcmp(val, "false") != 0)
      return fl_error_set(err, FL_EINVAL, "%s:%d: autotune: expected true or "
                          "false, got \"%s\"", path, line_no, val);
    out->autotune = strcmp(val, "true") == 0;
    return 0;
  }
  const key_spec *k = NULL;
  for (size_t i = 0; i < sizeof KEYS / sizeof *KEYS; i++)
    if (strcmp(key, KEYS[i].key) == 0 || (KEYS[i].alias && strcmp(key, KEYS[i].alias) == 0))
      k = &KEYS[i];
  if (!k) {
    char known[512];
    known_keys(known, sizeof known);
    return fl_error_set(err, FL_EINVAL, "%s:%d: unknown key \"%s\" (known: %s)",
                        path, line_no, key, known);
  }
  char *end = NULL;
  errno = 0;
  unsigned long long v = strtoull(val, &end, 10);
  if (errno || end == val || *end || val[0] == '-' || v < k->min || v > k->max)
    return fl_error_set(err, FL_EINVAL, "%s:%d: %s: expected a whole number of "
                        "%s from %llu to %llu, got \"%s\"", path, line_no, key,
                        k->unit, (unsigned long long)k->min,
                        (unsigned long long)k->max, val);
  char *field = (char *)out + k->offset;
  if (k->u32) *(uint32_t *)(void *)field = (uint32_t)v;
  else *(uint64_t *)(void *)field = v;
  return 0;
}

int fl_config_load(const char *path, fl_limits *l, fl_error *err) {
  char *text = NULL;
  size_t len = 0;
  int rc = fl_read_small(path, 1 << 20, &text, &len, err);
  if (rc) return rc;
  fl_limits out;
  fl_limits_default(&out);
  int line_no = 0;
  for (char *line = text, *next; line && !rc; line = next) {
    line_no++;
    next = strchr(line, '\n');
    if (next) *next++ = '\0';
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
    rc = set_key(&out, path, line_no, trim(s), trim(eq + 1), err);
  }
  free(text);
  if (!rc) *l = out;
  return rc;
}

int fl_config_load_chosen(const char *explicit_path, const char *default_path,
                          fl_limits *l, const char **used, fl_error *err) {
  const char *path = explicit_path;
  *used = NULL;
  if (!path) {
    struct stat st;
    /* Only "not there" means "no file": a file we may not read is the
     * admin's mistake and must not quietly become the defaults. */
    if (!default_path || (stat(default_path, &st) != 0 && errno == ENOENT)) {
      fl_limits_default(l);
      return 0;
    }
    path = default_path;
  }
  char *real = realpath(path, NULL);
  int rc = fl_config_load(real ? real : path, l, err);
  free(real);
  if (!rc) *used = path;
  return rc;
}
