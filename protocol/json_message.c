/* protocol/json_message.c — owns how the spec parser talks about what it
 * found: key paths ("model.layers[1].units"), printable descriptions of JSON
 * values, the "<path>: expected X, got Y" error helpers, and the
 * did-you-mean suggestion for unknown keys and names.
 *
 * Everything here may print text that came from the client, so it escapes
 * control characters and cuts long text at a UTF-8 boundary: an error
 * message must stay one printable line of valid UTF-8. */
#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spec_internal.h"

/* Longest piece of client text quoted in a message. */
#define QUOTE_MAX_BYTES 40

/* Length of the UTF-8 sequence led by c; the pre-scan has already checked
 * that every string is well-formed, so the lead byte is trusted here. */
static size_t utf8_lead_length(unsigned char c) {
  if (c < 0x80) return 1;
  if (c >= 0xF0) return 4;
  if (c >= 0xE0) return 3;
  return 2;
}

/* buf = text in double quotes, escaped, at most QUOTE_MAX_BYTES of it. */
static void quote(char *buf, size_t size, const char *text) {
  const unsigned char *s = (const unsigned char *)text;
  size_t at = 0, used = 0;
  if (size < 8) {
    if (size) buf[0] = '\0';
    return;
  }
  buf[at++] = '"';
  while (*s) {
    size_t n = utf8_lead_length(*s);
    char piece[8];
    size_t piece_len;
    if (*s == '"' || *s == '\\') {
      piece[0] = '\\';
      piece[1] = (char)*s;
      piece_len = 2;
    } else if (*s < 0x20 || *s == 0x7F) {
      piece_len = (size_t)snprintf(piece, sizeof piece, "\\u%04x", *s);
    } else {
      /* a sequence cut short by the NUL is copied only as far as it goes */
      piece_len = strnlen((const char *)s, n);
      memcpy(piece, s, piece_len);
    }
    /* keep room for `..."` and the terminator */
    if (used + piece_len > QUOTE_MAX_BYTES || at + piece_len + 5 > size) {
      memcpy(buf + at, "...", 3);
      at += 3;
      break;
    }
    memcpy(buf + at, piece, piece_len);
    at += piece_len;
    used += piece_len;
    s += (*s < 0x80) ? 1 : piece_len;
  }
  buf[at++] = '"';
  buf[at] = '\0';
}

static bool is_identifier(const char *key) {
  size_t n = 0;
  for (; key[n]; n++) {
    unsigned char c = (unsigned char)key[n];
    if (!(isalnum(c) || c == '_') || c >= 0x80) return false;
  }
  return n > 0 && n <= 64;
}

void fl__path_key(char out[FL__KEYPATH_MAX], const char *parent,
                  const char *key) {
  if (is_identifier(key)) {
    snprintf(out, FL__KEYPATH_MAX, "%s%s%s", parent, parent[0] ? "." : "", key);
  } else {
    char quoted[3 * QUOTE_MAX_BYTES];
    quote(quoted, sizeof quoted, key);
    snprintf(out, FL__KEYPATH_MAX, "%s[%s]", parent, quoted);
  }
}

void fl__path_index(char out[FL__KEYPATH_MAX], const char *parent, int index) {
  snprintf(out, FL__KEYPATH_MAX, "%s[%d]", parent, index);
}

/* The shortest %g text that reads back as d: 0.1 rather than
 * 0.10000000000000001, 1e+300 rather than 1.0000000000000001e+300. */
static void format_number(char *buf, size_t size, double d) {
  if (!isfinite(d)) {
    /* cJSON turns 1e400 into inf; the text itself is gone by now. */
    snprintf(buf, size, "%s",
             d > 0 ? "a number too large to represent"
                   : "a negative number too large to "
                     "represent");
    return;
  }
  for (int precision = 1; precision <= 17; precision++) {
    snprintf(buf, size, "%.*g", precision, d);
    if (strtod(buf, NULL) == d) return;
  }
}

void fl__describe(const cJSON *item, char *buf, size_t size) {
  if (!item) {
    snprintf(buf, size, "nothing");
  } else if (cJSON_IsNumber(item)) {
    format_number(buf, size, item->valuedouble);
  } else if (cJSON_IsString(item) && item->valuestring) {
    quote(buf, size, item->valuestring);
  } else if (cJSON_IsTrue(item)) {
    snprintf(buf, size, "true");
  } else if (cJSON_IsFalse(item)) {
    snprintf(buf, size, "false");
  } else if (cJSON_IsNull(item)) {
    snprintf(buf, size, "null");
  } else if (cJSON_IsArray(item)) {
    snprintf(buf, size, "an array");
  } else if (cJSON_IsObject(item)) {
    snprintf(buf, size, "an object");
  } else {
    snprintf(buf, size, "an unexpected value");
  }
}

int fl__fail(fl_error *err, const char *path, const char *fmt, ...) {
  char text[FL_ERRMSG_MAX];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(text, sizeof text, fmt, ap);
  va_end(ap);
  return fl_error_set(err, FL_ESPEC, "%s: %s", path[0] ? path : "spec", text);
}

int fl__expected(fl_error *err, const char *path, const char *expected,
                 const cJSON *got) {
  char found[3 * QUOTE_MAX_BYTES];
  fl__describe(got, found, sizeof found);
  return fl__fail(err, path, "expected %s, got %s", expected, found);
}

int fl__missing(fl_error *err, const char *parent, const char *key,
                const char *expected) {
  char path[FL__KEYPATH_MAX];
  fl__path_key(path, parent, key);
  return fl__fail(err, path, "required key is missing (expected %s)", expected);
}

/* ---- did you mean ------------------------------------------------------ */

/* Names people carry over from Keras, PyTorch or habit, whose spelling is
 * too far from ours for an edit distance to find. Suggested only when the
 * meant name is allowed where the word was found. */
static const struct {
  const char *alias, *meant;
} known_aliases[] = {
    {"lr", "learning_rate"},
    {"beta1", "beta_1"},
    {"beta2", "beta_2"},
    {"eps", "epsilon"},
    {"decay", "weight_decay"},
    {"mse", "mean_squared_error"},
    {"x", "features"},
    {"y", "labels"},
    {"validation_data", "validation"},
    {"identity", "linear"},
    {"xavier_uniform", "glorot_uniform"},
    {"xavier_normal", "glorot_normal"},
    {"kaiming_normal", "he_normal"},
    {"kaiming_uniform", "he_uniform"},
};

#define SUGGEST_MAX_LEN 64

/* Optimal-string-alignment distance (Levenshtein plus adjacent swaps),
 * ignoring ASCII case; both words are at most SUGGEST_MAX_LEN bytes. */
static size_t edit_distance(const char *a, const char *b) {
  size_t la = strlen(a), lb = strlen(b);
  size_t d[SUGGEST_MAX_LEN + 1][SUGGEST_MAX_LEN + 1];
  for (size_t i = 0; i <= la; i++) d[i][0] = i;
  for (size_t j = 0; j <= lb; j++) d[0][j] = j;
  for (size_t i = 1; i <= la; i++) {
    for (size_t j = 1; j <= lb; j++) {
      int ca = tolower((unsigned char)a[i - 1]);
      int cb = tolower((unsigned char)b[j - 1]);
      size_t cost = ca != cb;
      size_t best = d[i - 1][j] + 1;
      if (d[i][j - 1] + 1 < best) best = d[i][j - 1] + 1;
      if (d[i - 1][j - 1] + cost < best) best = d[i - 1][j - 1] + cost;
      if (i > 1 && j > 1 && ca == tolower((unsigned char)b[j - 2]) &&
          tolower((unsigned char)a[i - 2]) == cb &&
          d[i - 2][j - 2] + 1 < best) {
        best = d[i - 2][j - 2] + 1;
      }
      d[i][j] = best;
    }
  }
  return d[la][lb];
}

/* True when the shorter of a, b (at least 3 bytes) begins the longer one,
 * ignoring case: "kernel_init" -> "kernel_initializer", "relu6" -> "relu". */
static bool prefix_related(const char *a, const char *b) {
  size_t la = strlen(a), lb = strlen(b);
  size_t n = la < lb ? la : lb;
  if (n < 3) return false;
  for (size_t i = 0; i < n; i++) {
    if (tolower((unsigned char)a[i]) != tolower((unsigned char)b[i])) {
      return false;
    }
  }
  return true;
}

const char *fl__suggest(const char *word, const char *const *candidates,
                        size_t n) {
  for (size_t a = 0; a < FL__ARRAY_LEN(known_aliases); a++) {
    if (strcmp(word, known_aliases[a].alias) != 0) continue;
    for (size_t i = 0; i < n; i++) {
      if (strcmp(candidates[i], known_aliases[a].meant) == 0) {
        return candidates[i];
      }
    }
  }
  size_t word_len = strlen(word);
  if (word_len == 0 || word_len > SUGGEST_MAX_LEN) return NULL;

  const char *best = NULL;
  size_t best_distance = (size_t)-1;
  for (size_t i = 0; i < n; i++) {
    size_t len = strlen(candidates[i]);
    if (len > SUGGEST_MAX_LEN) continue;
    /* One slip in a short name, two in a medium one, three in a long one;
     * never so many that the word is mostly replaced. A short name must
     * also start alike: "tahn" is a slip for "tanh", but "gelu" is another
     * activation, not a misspelt "relu". */
    size_t allowed = len <= 4 ? 1 : len <= 8 ? 2 : 3;
    if (len <= 4 && tolower((unsigned char)word[0]) !=
                        tolower((unsigned char)candidates[i][0])) {
      continue;
    }
    size_t distance = edit_distance(word, candidates[i]);
    if (distance <= allowed && distance < word_len &&
        distance < best_distance) {
      best = candidates[i];
      best_distance = distance;
    }
  }
  if (best) return best;
  for (size_t i = 0; i < n; i++) {
    if (prefix_related(word, candidates[i])) return candidates[i];
  }
  return NULL;
}
