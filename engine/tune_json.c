/* engine/tune_json.c — owns the JSON form of a GEMM tuning result: what
 * `flatlined --tune` writes to the cache and what the daemon reads back.
 * Read back, the text is untrusted: every field is checked for type and
 * range, CLBlast parameter sets against the same constraints the search
 * uses (tune.c), and the key against the device's, before anything of it is
 * applied. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine_internal.h"
#include "flatline/protocol.h"
#include "tune_internal.h"

/* ---- JSON ------------------------------------------------------------------ */

char *fl_tune_to_json(const fl_tune_result *r) {
  fl_jw w;
  fl_jw_init(&w);
  fl_jw_object_begin(&w, NULL);
  fl_jw_str(&w, "format", FL__TUNE_FORMAT);
  fl_jw_int(&w, "version", FL__TUNE_VERSION);
  fl_jw_str(&w, "key", r->key);
  fl_jw_str(&w, "device", r->device);
  fl_jw_str(&w, "driver", r->driver);
  fl_jw_str(&w, "platform", r->platform);
  fl_jw_str(&w, "mode", r->quick ? "quick" : "full");
  fl_jw_num(&w, "search_seconds", r->search_seconds);
  fl_jw_object_begin(&w, "plan");
  fl_jw_str(&w, "impl", r->tiled ? "tiled" : "clblast");
  fl_jw_str(&w, "nn", fl_tune_variant_name(r->nn));
  fl_jw_str(&w, "tn", fl_tune_variant_name(r->tn));
  fl_jw_object_end(&w);
  fl_jw_object_begin(&w, "clblast");
  for (int i = 0; i < r->n_clblast; i++) {
    fl_jw_object_begin(&w, r->clblast[i].kernel);
    for (int j = 0; j < r->clblast[i].n; j++)
      fl_jw_int(&w, r->clblast[i].name[j], (long long)r->clblast[i].value[j]);
    fl_jw_object_end(&w);
  }
  fl_jw_object_end(&w);
  /* For people reading the file; not read back. */
  fl_jw_num(&w, "us_per_row", r->chosen_cost * 1e6);
  fl_jw_num(&w, "default_us_per_row", r->default_cost * 1e6);
  fl_jw_array_begin(&w, "measured");
  for (int c = 0; c < r->n_candidates; c++) {
    fl_jw_object_begin(&w, NULL);
    fl_jw_str(&w, "candidate", r->cand[c].name);
    fl_jw_str(&w, "detail", r->cand[c].detail);
    if (r->cand[c].failed) fl_jw_str(&w, "error", r->cand[c].error);
    fl_jw_object_begin(&w, "gflops");
    for (int i = 0; i < r->n_shapes; i++) {
      double t = r->cand[c].seconds[i];
      if (t <= 0 || r->cand[c].failed) continue;
      char label[64];
      fl_tune_shape_label(&r->shapes[i], label, sizeof label);
      fl_jw_num(&w, label, round(2.0 * (double)fl__tune_volume(&r->shapes[i]) / t / 1e7) / 100);
    }
    fl_jw_object_end(&w);
    fl_jw_object_end(&w);
  }
  fl_jw_array_end(&w);
  fl_jw_object_end(&w);
  return fl_jw_finish(&w);
}

/* A string field, present and short enough for its slot. */
static int get_str(const fl_json *obj, const char *key, char *out, size_t size,
                   fl_error *err) {
  const char *s = fl_json_string(fl_json_get(obj, key));
  if (!s) return fl_error_set(err, FL_EINVAL, "\"%s\": expected a string", key);
  if (strlen(s) >= size)
    return fl_error_set(err, FL_EINVAL, "\"%s\": longer than %zu bytes", key,
                        size - 1);
  snprintf(out, size, "%s", s);
  return 0;
}

static int get_variant(const fl_json *plan, const char *key, int *out,
                       fl_error *err) {
  const char *s = fl_json_string(fl_json_get(plan, key));
  for (int v = 0; s && v < FL__GEMM_NVARIANTS; v++)
    if (strcmp(s, fl_tune_variant_name(v)) == 0) return *out = v, 0;
  char names[FL__GEMM_NVARIANTS * 8] = "";
  size_t at = 0;
  for (int v = 0; v < FL__GEMM_NVARIANTS && at < sizeof names; v++)
    at += (size_t)snprintf(names + at, sizeof names - at, "%s%s", v ? ", " : "",
                           fl_tune_variant_name(v));
  return fl_error_set(err, FL_EINVAL, "\"plan.%s\": expected one of the tiled "
                      "variants (%s)", key, names);
}

/* A kernel's parameter object: every name of its schema, each a whole
 * number in range; then CLBlast's constraints and the device's limits. */
static int get_params(const fl_json *obj, int schema, const fl__tune_limits *lim,
                      fl_tune_params *p, fl_error *err) {
  const fl__param_schema *s = &fl__tune_schemas[schema];
  size_t v[FL_TUNE_MAX_PARAMS];
  for (int i = 0; i < s->n; i++) {
    double d;
    if (!fl_json_number(fl_json_get(obj, s->names[i]), &d) || d < 0 ||
        d > 65536 || d != floor(d))
      return fl_error_set(err, FL_EINVAL, "\"clblast.%s.%s\": expected a whole "
                          "number from 0 to 65536", s->kernel, s->names[i]);
    v[i] = (size_t)d;
  }
  fl__tune_params_from_set(p, schema, v);
  char why[160];
  if (!fl__tune_params_valid(p, lim, why, sizeof why))
    return fl_error_set(err, FL_EINVAL, "\"clblast.%s\": not a usable parameter "
                        "set for this device: %s", s->kernel, why);
  return 0;
}

int fl_tune_from_json(fl_device *dev, const char *text, size_t len,
                      fl_tune_result *out, fl_error *err) {
  memset(out, 0, sizeof *out);
  fl_json *root = fl_json_parse_capped(text, len, 8, "tuning file", err);
  if (!root) return err ? err->code : FL_EPARSE;
  int rc = 0;
  double version = 0;
  const char *format = fl_json_string(fl_json_get(root, "format"));
  if (!format || strcmp(format, FL__TUNE_FORMAT) != 0) {
    rc = fl_error_set(err, FL_EINVAL, "\"format\": expected \"%s\"", FL__TUNE_FORMAT);
    goto out;
  }
  if (!fl_json_number(fl_json_get(root, "version"), &version) ||
      version != FL__TUNE_VERSION) {
    rc = fl_error_set(err, FL_EINVAL, "\"version\": expected %d (a file from "
                      "another flatline; tune again)", FL__TUNE_VERSION);
    goto out;
  }
  if ((rc = get_str(root, "key", out->key, sizeof out->key, err)) ||
      (rc = get_str(root, "device", out->device, sizeof out->device, err)) ||
      (rc = get_str(root, "driver", out->driver, sizeof out->driver, err)) ||
      (rc = get_str(root, "platform", out->platform, sizeof out->platform, err)))
    goto out;
  char want[FL_TUNE_KEY_MAX];
  fl_tune_key(dev, want, sizeof want);
  if (strcmp(out->key, want) != 0) {
    rc = fl_error_set(err, FL_EINVAL, "made for another device, driver or "
                      "flatline build (key %s, this device %s); tune again",
                      out->key, want);
    goto out;
  }
  const char *mode = fl_json_string(fl_json_get(root, "mode"));
  out->quick = mode && strcmp(mode, "quick") == 0;
  fl_json_number(fl_json_get(root, "search_seconds"), &out->search_seconds);

  const fl_json *plan = fl_json_get(root, "plan");
  const char *impl = fl_json_string(fl_json_get(plan, "impl"));
  if (!impl || (strcmp(impl, "tiled") != 0 && strcmp(impl, "clblast") != 0)) {
    rc = fl_error_set(err, FL_EINVAL, "\"plan.impl\": expected \"tiled\" or "
                      "\"clblast\"");
    goto out;
  }
  out->tiled = strcmp(impl, "tiled") == 0;
  if (out->tiled && !dev->info.is_cpu) {
    rc = fl_error_set(err, FL_EINVAL, "\"plan.impl\": the tiled kernels are "
                      "for CPU devices");
    goto out;
  }
  if ((rc = get_variant(plan, "nn", &out->nn, err)) ||
      (rc = get_variant(plan, "tn", &out->tn, err)))
    goto out;

  /* The view has no type test for objects: its compact text starts with
   * a brace exactly when it is one. */
  const fl_json *cl = fl_json_get(root, "clblast");
  char *cl_text = fl_json_print(cl);
  bool is_object = cl_text && cl_text[0] == '{';
  free(cl_text);
  if (!is_object) {
    rc = fl_error_set(err, FL_EINVAL, "\"clblast\": expected an object");
    goto out;
  }
  fl__tune_limits lim;
  fl__tune_query_limits(dev, &lim);
  for (int s = 0; s < FL__SCHEMA_COUNT; s++) {
    const fl_json *k = fl_json_get(cl, fl__tune_schemas[s].kernel);
    if (!k) continue;
    if ((rc = get_params(k, s, &lim, &out->clblast[out->n_clblast], err))) goto out;
    out->n_clblast++;
  }
out:
  fl_json_free(root);
  if (rc) memset(out, 0, sizeof *out);
  return rc;
}
