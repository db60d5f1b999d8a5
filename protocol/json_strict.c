/* protocol/json_strict.c — owns the strict cJSON accessors of the spec
 * parser: the key-set check every object goes through (unknown and
 * duplicate keys), and typed, range-checked conversions of single values.
 *
 * cJSON is lenient in ways a contract cannot be: it keeps duplicate keys as
 * separate children (lookups see only the first), hands out `valueint`
 * saturated and truncated (3.5 -> 3, 1e300 -> INT_MAX), and yields inf for
 * 1e400. So numbers are judged on `valuedouble` alone, and objects are
 * walked child by child. */
#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "spec_internal.h"

bool fl__key_in(const char *key, const char *const *keys, size_t n) {
  for (size_t i = 0; i < n; i++) {
    if (strcmp(key, keys[i]) == 0) return true;
  }
  return false;
}

/* "a, b or c" into buf, each name quoted when `quoted`. */
static void join_names(char *buf, size_t size, const char *const *names,
                       size_t n, bool quoted) {
  size_t at = 0;
  buf[0] = '\0';
  for (size_t i = 0; i < n && at < size; i++) {
    const char *sep = i == 0 ? "" : i + 1 == n ? " or " : ", ";
    int w = snprintf(buf + at, size - at, quoted ? "%s\"%s\"" : "%s%s", sep,
                     names[i]);
    if (w < 0) break;
    at += (size_t)w;
  }
}

int fl__check_object(const cJSON *obj, const char *path,
                     const char *const *keys, size_t n_keys, fl_error *err) {
  if (!cJSON_IsObject(obj)) return fl__expected(err, path, "an object", obj);
  /* Every allowed key has a bit; checking membership first keeps this
   * O(children * allowed) even for a hostile object with 100k keys. */
  uint64_t seen = 0;
  for (const cJSON *child = obj->child; child; child = child->next) {
    const char *key = child->string ? child->string : "";
    char key_path[FL__KEYPATH_MAX];
    size_t k = 0;
    while (k < n_keys && strcmp(keys[k], key) != 0) k++;
    if (k == n_keys || k >= 64) {
      fl__path_key(key_path, path, key);
      const char *hint = fl__suggest(key, keys, n_keys);
      if (hint) {
        return fl__fail(err, key_path, "unknown key (did you mean \"%s\"?)",
                        hint);
      }
      char allowed[256];
      join_names(allowed, sizeof allowed, keys, n_keys, true);
      return fl__fail(err, key_path, "unknown key (expected %s)", allowed);
    }
    if (seen & (UINT64_C(1) << k)) {
      fl__path_key(key_path, path, key);
      return fl__fail(err, key_path,
                      "duplicate key (expected each key once, got it twice)");
    }
    seen |= UINT64_C(1) << k;
  }
  return 0;
}

/* ---- single values ----------------------------------------------------- */

static void describe_int_range(char *buf, size_t size, int64_t lo, int64_t hi) {
  snprintf(buf, size, "an integer from %" PRId64 " to %" PRId64, lo, hi);
}

bool fl__is_int_in(const cJSON *item, int64_t lo, int64_t hi) {
  if (!cJSON_IsNumber(item)) return false;
  /* JSON has one number type, so integers are judged by value. The bounds
   * used by the spec (< 2^53) are exact doubles. */
  double d = item->valuedouble;
  return isfinite(d) && d == floor(d) && d >= (double)lo && d <= (double)hi;
}

int fl__as_int64(const cJSON *item, const char *path, int64_t lo, int64_t hi,
                 int64_t *out, fl_error *err) {
  if (!fl__is_int_in(item, lo, hi)) {
    char expect[96];
    describe_int_range(expect, sizeof expect, lo, hi);
    return fl__expected(err, path, expect, item);
  }
  *out = (int64_t)item->valuedouble;
  return 0;
}

static bool in_range(double d, const fl__range *r) {
  bool above = r->lo_open ? d > r->lo : d >= r->lo;
  bool below = r->hi_open ? d < r->hi : d <= r->hi;
  return above && below;
}

static void describe_range(char *buf, size_t size, const fl__range *r) {
  char lo[32], hi[32];
  snprintf(lo, sizeof lo, "%g", r->lo);
  snprintf(hi, sizeof hi, "%g", r->hi);
  if (isfinite(r->lo) && isfinite(r->hi)) {
    snprintf(buf, size, "a number in %c%s, %s%c", r->lo_open ? '(' : '[', lo,
             hi, r->hi_open ? ')' : ']');
  } else if (isfinite(r->lo)) {
    snprintf(buf, size, "a number %s %s", r->lo_open ? ">" : ">=", lo);
  } else if (isfinite(r->hi)) {
    snprintf(buf, size, "a number %s %s", r->hi_open ? "<" : "<=", hi);
  } else {
    snprintf(buf, size, "a finite number");
  }
}

int fl__as_float(const cJSON *item, const char *path, const fl__range *range,
                 float *out, fl_error *err) {
  char expect[96];
  describe_range(expect, sizeof expect, range);
  if (!cJSON_IsNumber(item)) return fl__expected(err, path, expect, item);
  double d = item->valuedouble;
  if (!isfinite(d) || !in_range(d, range)) {
    return fl__expected(err, path, expect, item);
  }
  /* The engine computes in float32: the value must survive the narrowing
   * (1e300 would become inf, 1e-50 would become 0 and pass no "> 0" test,
   * 0.99999999999 would become 1 and leave [0, 1)). */
  char got[64];
  fl__describe(item, got, sizeof got);
  if (fabs(d) > (double)FLT_MAX) {
    return fl__fail(err, path, "expected %s that fits a 32-bit float, got %s",
                    expect, got);
  }
  float f = (float)d;
  if (!in_range((double)f, range)) {
    return fl__fail(err, path,
                    "expected %s, got %s, which is %g as a 32-bit float",
                    expect, got, (double)f);
  }
  *out = f;
  return 0;
}

int fl__as_text(const cJSON *item, const char *path, const char *what,
                char *out, size_t size, fl_error *err) {
  if (!cJSON_IsString(item) || !item->valuestring) {
    return fl__expected(err, path, what, item);
  }
  const char *s = item->valuestring;
  size_t len = strlen(s);
  if (len == 0) return fl__expected(err, path, what, item);
  if (len >= size) {
    return fl__fail(err, path, "expected %s of at most %zu bytes, got %zu",
                    what, size - 1, len);
  }
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c < 0x20 || c == 0x7F) {
      char got[128];
      fl__describe(item, got, sizeof got);
      return fl__fail(err, path,
                      "expected %s without control characters, got %s", what,
                      got);
    }
  }
  memcpy(out, s, len + 1);
  return 0;
}

#define ENUM_MAX_NAMES 16

/* names[] = the table's names; returns how many (tables are small). */
static size_t enum_names(const fl__enum_table *table,
                         const char *names[ENUM_MAX_NAMES]) {
  size_t n = table->count < ENUM_MAX_NAMES ? table->count : ENUM_MAX_NAMES;
  for (size_t i = 0; i < n; i++) names[i] = table->entries[i].name;
  return n;
}

/* "\"dense\"" or "one of \"sgd\", \"adam\", \"rmsprop\" or \"adamw\"". */
static void describe_enum(char *buf, size_t size, const fl__enum_table *table) {
  const char *names[ENUM_MAX_NAMES];
  size_t n = enum_names(table, names);
  if (n == 1) {
    snprintf(buf, size, "\"%s\"", names[0]);
  } else {
    char list[300];
    join_names(list, sizeof list, names, n, true);
    snprintf(buf, size, "one of %s", list);
  }
}

int fl__as_enum(const cJSON *item, const char *path,
                const fl__enum_table *table, int *out, fl_error *err) {
  const char *names[ENUM_MAX_NAMES];
  size_t n = enum_names(table, names);
  char expect[320];
  describe_enum(expect, sizeof expect, table);
  if (!cJSON_IsString(item) || !item->valuestring) {
    return fl__expected(err, path, expect, item);
  }
  for (size_t i = 0; i < n; i++) {
    if (strcmp(item->valuestring, names[i]) == 0) {
      *out = table->entries[i].value;
      return 0;
    }
  }
  char got[128];
  fl__describe(item, got, sizeof got);
  const char *hint = fl__suggest(item->valuestring, names, n);
  if (hint) {
    return fl__fail(err, path, "expected %s, got %s (did you mean \"%s\"?)",
                    expect, got, hint);
  }
  return fl__fail(err, path, "expected %s, got %s", expect, got);
}

/* ---- members ----------------------------------------------------------- */

/* 1 with *item and key_path set when key is present, 0 when it is absent
 * and optional, FL_ESPEC when it is absent and required. */
static int lookup(const cJSON *obj, const char *path, const char *key,
                  bool required, const char *expected, const cJSON **item,
                  char key_path[FL__KEYPATH_MAX], fl_error *err) {
  *item = cJSON_GetObjectItemCaseSensitive(obj, key);
  if (!*item) return required ? fl__missing(err, path, key, expected) : 0;
  fl__path_key(key_path, path, key);
  return 1;
}

int fl__get_int64(const cJSON *obj, const char *path, const char *key,
                  bool required, int64_t lo, int64_t hi, int64_t *out,
                  fl_error *err) {
  char expect[96], key_path[FL__KEYPATH_MAX];
  const cJSON *item;
  describe_int_range(expect, sizeof expect, lo, hi);
  int rc = lookup(obj, path, key, required, expect, &item, key_path, err);
  if (rc <= 0) return rc;
  rc = fl__as_int64(item, key_path, lo, hi, out, err);
  return rc < 0 ? rc : 1;
}

int fl__get_int(const cJSON *obj, const char *path, const char *key,
                bool required, int lo, int hi, int *out, fl_error *err) {
  int64_t v;
  int rc = fl__get_int64(obj, path, key, required, lo, hi, &v, err);
  if (rc == 1) *out = (int)v;
  return rc;
}

int fl__get_float(const cJSON *obj, const char *path, const char *key,
                  bool required, const fl__range *range, float *out,
                  fl_error *err) {
  char expect[96], key_path[FL__KEYPATH_MAX];
  const cJSON *item;
  describe_range(expect, sizeof expect, range);
  int rc = lookup(obj, path, key, required, expect, &item, key_path, err);
  if (rc <= 0) return rc;
  rc = fl__as_float(item, key_path, range, out, err);
  return rc < 0 ? rc : 1;
}

int fl__get_bool(const cJSON *obj, const char *path, const char *key,
                 bool required, bool *out, fl_error *err) {
  char key_path[FL__KEYPATH_MAX];
  const cJSON *item;
  int rc =
      lookup(obj, path, key, required, "true or false", &item, key_path, err);
  if (rc <= 0) return rc;
  /* 0 and 1 are numbers, "true" is a string: neither is a boolean. */
  if (!cJSON_IsBool(item)) {
    return fl__expected(err, key_path, "true or false", item);
  }
  *out = cJSON_IsTrue(item);
  return 1;
}

int fl__get_text(const cJSON *obj, const char *path, const char *key,
                 bool required, const char *what, char *out, size_t size,
                 fl_error *err) {
  char key_path[FL__KEYPATH_MAX];
  const cJSON *item;
  int rc = lookup(obj, path, key, required, what, &item, key_path, err);
  if (rc <= 0) return rc;
  rc = fl__as_text(item, key_path, what, out, size, err);
  return rc < 0 ? rc : 1;
}

int fl__get_enum(const cJSON *obj, const char *path, const char *key,
                 bool required, const fl__enum_table *table, int *out,
                 fl_error *err) {
  char expect[320], key_path[FL__KEYPATH_MAX];
  const cJSON *item;
  describe_enum(expect, sizeof expect, table);
  int rc = lookup(obj, path, key, required, expect, &item, key_path, err);
  if (rc <= 0) return rc;
  rc = fl__as_enum(item, key_path, table, out, err);
  return rc < 0 ? rc : 1;
}
