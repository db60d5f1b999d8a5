/* client/sweep.c — owns a sweep's grid (issue 15): `--sweep KEY=V1,...`
 * arguments into axes, and the expansion of the grid over a spec into one
 * patched spec per point (protocol/json_path.c puts each value at its key
 * path), each checked by the spec parser. Pure: see sweep.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sweep.h"

/* text as a JSON string literal (malloc'd): quotes, backslashes and
 * control characters escaped. */
static char *json_quote(const char *text, size_t n) {
  char *out = malloc(n * 6 + 3), *p = out;
  if (!out) return NULL;
  *p++ = '"';
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)text[i];
    if (c == '"' || c == '\\') {
      *p++ = '\\';
      *p++ = (char)c;
    } else if (c < 0x20) {
      p += sprintf(p, "\\u%04x", c);
    } else {
      *p++ = (char)c;
    }
  }
  *p++ = '"';
  *p = '\0';
  return out;
}

/* One value as typed: a JSON scalar when it parses as one, else a string.
 * Returns its compact JSON (malloc'd) or NULL (out of memory). */
static char *value_json(const char *text, size_t n) {
  fl_json *v = fl_json_parse(text, n, NULL);
  if (v) {
    double d;
    bool b;
    bool scalar = fl_json_string(v) || fl_json_number(v, &d) ||
                  fl_json_bool(v, &b) || fl_json_is_null(v);
    char *out = scalar ? fl_json_print(v) : NULL;
    fl_json_free(v);
    if (out) return out;
  }
  return json_quote(text, n);
}

static void axis_free(fl_sweep_axis *a) {
  for (int i = 0; i < a->n_values; i++) free(a->values[i]);
  free(a->values);
  a->values = NULL;
  a->n_values = 0;
}

int fl_sweep_parse_arg(fl_sweep_grid *g, const char *arg, fl_error *err) {
  const char *eq = strchr(arg, '=');
  if (!eq)
    return fl_error_set(err, FL_EINVAL, "--sweep %.80s: expected KEY=V1,V2,... "
                        "such as --sweep optimizer.learning_rate=0.1,0.01", arg);
  size_t klen = (size_t)(eq - arg);
  if (!fl_sweep_key_valid(arg, klen))
    return fl_error_set(err, FL_EINVAL, "--sweep %.80s: '%.*s' is not a spec key "
                        "path; write keys as optimizer.learning_rate or "
                        "model.layers.0.units (letters, digits, '_', '.', at "
                        "most %d bytes)", arg, (int)(klen < 80 ? klen : 80), arg,
                        FL_SWEEP_KEY_MAX - 1);
  for (int i = 0; i < g->n_axes; i++)
    if (strlen(g->axes[i].key) == klen && strncmp(g->axes[i].key, arg, klen) == 0)
      return fl_error_set(err, FL_EINVAL, "--sweep %.*s is given twice; list all "
                          "its values in one --sweep %.*s=V1,V2,...", (int)klen,
                          arg, (int)klen, arg);
  if (g->n_axes == FL_SWEEP_MAX_KEYS)
    return fl_error_set(err, FL_ETOOBIG, "--sweep %.*s: at most %d keys in one "
                        "sweep; fix the others in the spec", (int)klen, arg,
                        FL_SWEEP_MAX_KEYS);
  const char *list = eq + 1;
  if (strspn(list, " ") == strlen(list))
    return fl_error_set(err, FL_EINVAL, "--sweep %.*s= has no values; give them "
                        "after the '=', separated by commas: --sweep %.*s=V1,V2",
                        (int)klen, arg, (int)klen, arg);
  fl_sweep_axis a = {0};
  memcpy(a.key, arg, klen);
  a.key[klen] = '\0';
  int rc = 0;
  for (const char *p = list;; p++) {
    size_t n = strcspn(p, ",");
    const char *v = p, *end = p + n;
    while (v < end && *v == ' ') v++;
    while (end > v && end[-1] == ' ') end--;
    if (end == v) {
      rc = fl_error_set(err, FL_EINVAL, "--sweep %s: an empty value in '%.80s'; "
                        "separate values by single commas, and quote an empty "
                        "string as '\"\"'", a.key, list);
      break;
    }
    if (a.n_values == FL_SWEEP_MAX_VALUES) {
      rc = fl_error_set(err, FL_ETOOBIG, "--sweep %s: more than %d values", a.key,
                        FL_SWEEP_MAX_VALUES);
      break;
    }
    char *json = value_json(v, (size_t)(end - v));
    char **grown = json ? realloc(a.values, (size_t)(a.n_values + 1) * sizeof *grown) : NULL;
    if (!grown) {
      free(json);
      rc = fl_error_set(err, FL_ENOMEM, "out of memory");
      break;
    }
    a.values = grown;
    for (int i = 0; i < a.n_values && !rc; i++)
      if (strcmp(a.values[i], json) == 0)
        rc = fl_error_set(err, FL_EINVAL, "--sweep %s: the value %.*s is given "
                          "twice (it would run the same job twice)", a.key,
                          (int)(end - v), v);
    if (rc) {
      free(json);
      break;
    }
    a.values[a.n_values++] = json;
    p += n;
    if (!*p) break;
  }
  if (rc) {
    axis_free(&a);
    return rc;
  }
  g->axes[g->n_axes++] = a;
  return 0;
}

size_t fl_sweep_count(const fl_sweep_grid *g) {
  size_t n = 1;
  for (int i = 0; i < g->n_axes; i++) {
    n *= (size_t)g->axes[i].n_values;
    if (n > FL_SWEEP_MAX_JOBS) return FL_SWEEP_MAX_JOBS + 1;
  }
  return g->n_axes ? n : 0;
}

/* The value as a person reads it in a label: strings without quotes. */
static void value_text(char *buf, size_t size, const char *json) {
  fl_json *v = fl_json_parse(json, strlen(json), NULL);
  const char *s = fl_json_string(v);
  snprintf(buf, size, "%s", s ? s : json);
  fl_json_free(v);
}

/* The data files a parsed spec names, in one string for comparison. */
static void files_of(const fl_job_spec *s, char *buf, size_t size) {
  snprintf(buf, size, "%d:%s|%s|%d:%s|%s", (int)s->train.kind, s->train.features,
           s->train.labels, (int)s->validation.kind, s->validation.features,
           s->validation.labels);
}

/* Put the values of point (value index per axis) into spec; *patched is
 * malloc'd. Which key was not in the spec goes to *added (or -1). */
static int patch(const char *spec, size_t len, const fl_sweep_grid *g,
                 const int *idx, char **patched, int *added, fl_error *err) {
  char *doc = NULL;
  *added = -1;
  for (int a = 0; a < g->n_axes; a++) {
    char *next = NULL;
    bool existed = false;
    const char *src = doc ? doc : spec;
    int rc = fl_json_set_path(src, doc ? strlen(doc) : len, g->axes[a].key,
                              g->axes[a].values[idx[a]], &next, &existed, err);
    free(doc);
    if (rc) {
      fl_error_prefix(err, "--sweep");
      return rc;
    }
    if (!existed && *added < 0) *added = a;
    doc = next;
  }
  *patched = doc;
  return 0;
}

/* Parse patched (the spec with one key's value put in) the way the
 * daemon will; on error name the key and the value. */
static int check(const char *patched, const fl_sweep_axis *axis, int value,
                 bool added, const char *want_files, fl_error *err) {
  fl_job_spec s;
  memset(&s, 0, sizeof s);
  fl_error perr = {0};
  int rc = fl_spec_parse(patched, strlen(patched), &s, &perr);
  char files[4 * FL_PATH_MAX + 32];
  if (!rc) files_of(&s, files, sizeof files);
  fl_spec_free(&s);
  char what[FL_SWEEP_KEY_MAX + FL_SWEEP_VALUE_MAX * 6 + 32], v[FL_SWEEP_VALUE_MAX * 6 + 8];
  value_text(v, sizeof v, axis->values[value]);
  snprintf(what, sizeof what, "--sweep %s=%s", axis->key, v);
  if (rc && added)
    return fl_error_set(err, FL_EINVAL, "%s: %s is not in the spec, and the spec "
                        "does not take it (%s); sweep a key the spec has, such as "
                        "optimizer.learning_rate", what, axis->key, perr.msg);
  if (rc)
    return fl_error_set(err, FL_EINVAL, "%s: the spec does not take this value: "
                        "%s", what, perr.msg);
  if (strcmp(files, want_files) != 0)
    return fl_error_set(err, FL_EINVAL, "%s changes the data files the spec "
                        "names; a sweep shares one data set (submit one spec per "
                        "data set)", what);
  return 0;
}

void fl_sweep_points_free(fl_sweep_points *p) {
  for (int i = 0; i < p->n; i++) {
    free(p->points[i].spec);
    free(p->points[i].values);
    free(p->points[i].label);
  }
  free(p->points);
  p->points = NULL;
  p->n = 0;
}

void fl_sweep_grid_free(fl_sweep_grid *g) {
  for (int i = 0; i < g->n_axes; i++) axis_free(&g->axes[i]);
  g->n_axes = 0;
}

/* values and label of the point idx. */
static int describe(const fl_sweep_grid *g, const int *idx, fl_sweep_point *pt) {
  fl_jw w;
  fl_jw_init(&w);
  fl_jw_object_begin(&w, NULL);
  size_t cap = 1;
  for (int a = 0; a < g->n_axes; a++) {
    fl_jw_raw(&w, g->axes[a].key, g->axes[a].values[idx[a]]);
    cap += strlen(g->axes[a].key) + strlen(g->axes[a].values[idx[a]]) + 2;
  }
  fl_jw_object_end(&w);
  pt->values = fl_jw_finish(&w);
  pt->label = malloc(cap);
  if (!pt->values || !pt->label) return FL_ENOMEM;
  size_t at = 0;
  for (int a = 0; a < g->n_axes; a++) {
    char v[FL_SWEEP_VALUE_MAX * 6 + 8];
    value_text(v, sizeof v, g->axes[a].values[idx[a]]);
    at += (size_t)snprintf(pt->label + at, cap - at, "%s%s=%s", a ? " " : "",
                           g->axes[a].key, v);
  }
  return 0;
}

int fl_sweep_expand(const char *spec, size_t spec_len, const fl_sweep_grid *g,
                    fl_sweep_points *out, fl_error *err) {
  memset(out, 0, sizeof *out);
  size_t total = fl_sweep_count(g);
  if (total == 0)
    return fl_error_set(err, FL_EINVAL, "a sweep needs at least one --sweep "
                        "KEY=V1,V2,...");
  if (total > FL_SWEEP_MAX_JOBS) {
    char dims[128] = "";
    for (int a = 0; a < g->n_axes; a++)
      snprintf(dims + strlen(dims), sizeof dims - strlen(dims), "%s%d",
               a ? " x " : "", g->axes[a].n_values);
    return fl_error_set(err, FL_ETOOBIG, "the grid has more than %d jobs (%s); "
                        "sweep fewer values, or split the sweep into several "
                        "submits", FL_SWEEP_MAX_JOBS, dims);
  }
  /* The original's data files, which every point must keep. */
  fl_job_spec s;
  memset(&s, 0, sizeof s);
  char want[4 * FL_PATH_MAX + 32];
  int rc = fl_spec_parse(spec, spec_len, &s, err);
  if (!rc) files_of(&s, want, sizeof want);
  fl_spec_free(&s);
  if (rc) return rc;
  /* Each value alone first: the error then names the value at fault. */
  int idx[FL_SWEEP_MAX_KEYS] = {0};
  fl_sweep_grid one = {.n_axes = 1};
  for (int a = 0; a < g->n_axes; a++) {
    one.axes[0] = g->axes[a];
    for (int v = 0; v < g->axes[a].n_values; v++) {
      int single[1] = {v};
      char *patched = NULL;
      int added = -1;
      rc = patch(spec, spec_len, &one, single, &patched, &added, err);
      if (!rc) rc = check(patched, &g->axes[a], v, added >= 0, want, err);
      free(patched);
      if (rc) return rc;
    }
  }
  out->points = calloc(total, sizeof *out->points);
  if (!out->points) return fl_error_set(err, FL_ENOMEM, "out of memory");
  for (size_t p = 0; p < total; p++) {
    size_t rest = p; /* the last axis varies fastest */
    for (int a = g->n_axes - 1; a >= 0; a--) {
      idx[a] = (int)(rest % (size_t)g->axes[a].n_values);
      rest /= (size_t)g->axes[a].n_values;
    }
    fl_sweep_point *pt = &out->points[p];
    out->n = (int)p + 1;
    int added = -1;
    rc = patch(spec, spec_len, g, idx, &pt->spec, &added, err);
    if (!rc && describe(g, idx, pt)) rc = fl_error_set(err, FL_ENOMEM, "out of memory");
    if (!rc) {
      /* the combination as a whole (a key's values were fine alone) */
      fl_job_spec ps;
      memset(&ps, 0, sizeof ps);
      fl_error perr = {0};
      if (fl_spec_parse(pt->spec, strlen(pt->spec), &ps, &perr))
        rc = fl_error_set(err, FL_EINVAL, "the grid point %s: the spec does not "
                          "take these values together: %s", pt->label, perr.msg);
      fl_spec_free(&ps);
    }
    if (rc) {
      fl_sweep_points_free(out);
      return rc;
    }
  }
  return 0;
}
