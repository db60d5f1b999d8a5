/* engine/safetensors.c — the trained model as a safetensors file, for use
 * outside flatline (Python, Keras, other runtimes).
 *
 * Layout (the safetensors spec):
 *   u64 N (little-endian), then N bytes of JSON header padded with spaces to
 *   a multiple of 8, then the data section: raw little-endian tensors whose
 *   data_offsets [begin, end) are relative to the data section's start.
 * Tensors, in layer order and contiguous: "layers.N.kernel" F32 (in, out) as
 * Keras stores a Dense kernel, then "layers.N.bias" F32 (out), then with
 * batch normalization "layers.N.bn.gamma" and "layers.N.bn.beta" (out,
 * when scale / center): the flat parameter buffer's own order. After all
 * of them "layers.N.bn.moving_mean" and "layers.N.bn.moving_variance"
 * (out) of each normalized layer: the statistics buffer. The data section
 * is the two buffers, as fl_trainer_get_params returns them.
 * __metadata__ (string values only, per the spec): "format": "tf" (the
 * marker Hugging Face's writers put on TensorFlow/Keras-layout tensors,
 * whose Dense kernels are (in, out); "pt" would claim PyTorch's Linear
 * layout (out, in), which these are not), "kernel_layout": "in_out",
 * "flatline": the export's version, "activations": one name per layer,
 * "batch_normalization" (with any): a JSON array, per layer null or
 * {"epsilon", "position": "before_activation" | "after_activation",
 * "center", "scale"}, "conv2d" (with any conv layer): a JSON array, per
 * layer null or {"input_shape": [h, w, c], "kernel_size", "strides",
 * "padding", "pool": null | "max" | "average" | "global_average",
 * "pool_size", "pool_strides", "pool_padding"}; a conv layer's kernel is
 * (kh, kw, cin, filters), Keras' Conv2D layout, and its output is
 * flattened channels-last. Then the caller's extra entries (the
 * preprocessing and class names).
 * docs/model-format.md is the reader's description of all of it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine_internal.h"

/* 2: "format" says "tf" (was "pt"), "kernel_layout" added. 3: batch
 * normalization's tensors and metadata (a model without any is laid out
 * as in version 2). */
#define ST_FLATLINE_VERSION "4" /* 4: conv2d layers (4-D kernels, "conv2d") */

static void tensor_entry_nd(fl_jw *w, const char *name, const size_t *dims,
                            int rank, size_t *off) {
  size_t bytes = sizeof(float);
  for (int i = 0; i < rank; i++) bytes *= dims[i];
  fl_jw_object_begin(w, name);
  fl_jw_str(w, "dtype", "F32");
  fl_jw_array_begin(w, "shape");
  for (int i = 0; i < rank; i++) fl_jw_int(w, NULL, (long long)dims[i]);
  fl_jw_array_end(w);
  fl_jw_array_begin(w, "data_offsets");
  fl_jw_int(w, NULL, (long long)*off);
  fl_jw_int(w, NULL, (long long)(*off + bytes));
  fl_jw_array_end(w);
  fl_jw_object_end(w);
  *off += bytes;
}

static void tensor_entry(fl_jw *w, const char *name, size_t d0, size_t d1,
                         int rank, size_t *off) {
  size_t dims[2] = {d0, d1};
  tensor_entry_nd(w, name, dims, rank, off);
}

static void int_pair(fl_jw *w, const char *key, int a, int b) {
  fl_jw_array_begin(w, key);
  fl_jw_int(w, NULL, a);
  fl_jw_int(w, NULL, b);
  fl_jw_array_end(w);
}

/* The "conv2d" metadata value (malloc'd), NULL without conv layers. */
static char *conv_json(const fl_trainer *t) {
  if (!fl_model_has_conv(t->layers, t->lay.n_layers)) return NULL;
  static const char *const pools[] = {NULL, "max", "average",
                                      "global_average"};
  fl_jw w;
  fl_jw_init(&w);
  fl_jw_array_begin(&w, NULL);
  for (int l = 0; l < t->lay.n_layers; l++) {
    const fl_layer_spec *ls = &t->layers[l];
    const fl_layer_shape *g = &t->lay.l[l].shape;
    if (ls->kind != FL_LAYER_CONV2D) {
      fl_jw_null(&w, NULL);
      continue;
    }
    fl_jw_object_begin(&w, NULL);
    fl_jw_array_begin(&w, "input_shape");
    fl_jw_int(&w, NULL, g->h);
    fl_jw_int(&w, NULL, g->w);
    fl_jw_int(&w, NULL, g->c);
    fl_jw_array_end(&w);
    int_pair(&w, "kernel_size", ls->kernel_size[0], ls->kernel_size[1]);
    int_pair(&w, "strides", ls->strides[0], ls->strides[1]);
    fl_jw_str(&w, "padding", ls->padding_same ? "same" : "valid");
    if (ls->pool == FL_POOL_NONE) {
      fl_jw_null(&w, "pool");
    } else {
      fl_jw_str(&w, "pool", pools[ls->pool]);
      int_pair(&w, "pool_size", g->pool_kh, g->pool_kw);
      int_pair(&w, "pool_strides", g->pool_sh, g->pool_sw);
      fl_jw_str(&w, "pool_padding", ls->pool_same ? "same" : "valid");
    }
    fl_jw_object_end(&w);
  }
  fl_jw_array_end(&w);
  return fl_jw_finish(&w);
}

/* The "batch_normalization" metadata value (malloc'd), or NULL when no
 * layer is normalized (or out of memory: the entry is then left out and
 * the header's own allocation fails too). */
static char *bn_json(const fl_trainer *t) {
  if (!t->lay.n_stats) return NULL;
  fl_jw w;
  fl_jw_init(&w);
  fl_jw_array_begin(&w, NULL);
  for (int l = 0; l < t->lay.n_layers; l++) {
    const fl_layer_spec *ls = &t->layers[l];
    if (!ls->bn) {
      fl_jw_null(&w, NULL);
      continue;
    }
    fl_jw_object_begin(&w, NULL);
    fl_jw_num(&w, "epsilon", ls->bn_epsilon);
    fl_jw_str(&w, "position", ls->bn_before_act ? "before_activation"
                                                : "after_activation");
    fl_jw_bool(&w, "center", ls->bn_center);
    fl_jw_bool(&w, "scale", ls->bn_scale);
    fl_jw_object_end(&w);
  }
  fl_jw_array_end(&w);
  return fl_jw_finish(&w);
}

/* The JSON header text (malloc'd) or NULL when out of memory. */
static char *header_json(const fl_trainer *t, const fl_export_meta *extra,
                         int n_extra) {
  char acts[FL_MAX_LAYERS * 16] = "";
  size_t used = 0;
  for (int l = 0; l < t->lay.n_layers; l++)
    used += (size_t)snprintf(acts + used, sizeof acts - used, "%s%s",
                             l ? "," : "",
                             fl_activation_name(t->layers[l].activation));
  fl_jw w;
  fl_jw_init(&w);
  fl_jw_object_begin(&w, NULL);
  fl_jw_object_begin(&w, "__metadata__");
  fl_jw_str(&w, "format", "tf");
  fl_jw_str(&w, "kernel_layout", "in_out");
  fl_jw_str(&w, "flatline", ST_FLATLINE_VERSION);
  fl_jw_str(&w, "activations", acts);
  char *bn = bn_json(t);
  if (bn) fl_jw_str(&w, "batch_normalization", bn);
  free(bn);
  char *conv = conv_json(t);
  if (conv) fl_jw_str(&w, "conv2d", conv);
  free(conv);
  for (int i = 0; i < n_extra; i++)
    if (extra[i].key && extra[i].value) fl_jw_str(&w, extra[i].key, extra[i].value);
  fl_jw_object_end(&w);
  size_t off = 0;
  for (int l = 0; l < t->lay.n_layers; l++) {
    const fl__layer_layout *ll = &t->lay.l[l];
    char name[32];
    snprintf(name, sizeof name, "layers.%d.kernel", l);
    const fl_layer_spec *ls = &t->layers[l];
    size_t conv_dims[4] = {(size_t)ls->kernel_size[0],
                           (size_t)ls->kernel_size[1], (size_t)ll->shape.c,
                           ll->units};
    if (ll->conv) tensor_entry_nd(&w, name, conv_dims, 4, &off);
    else tensor_entry(&w, name, ll->in, ll->out, 2, &off);
    snprintf(name, sizeof name, "layers.%d.bias", l);
    tensor_entry(&w, name, ll->units, 0, 1, &off);
    if (ll->gamma_off != FL__NO_OFF) {
      snprintf(name, sizeof name, "layers.%d.bn.gamma", l);
      tensor_entry(&w, name, ll->out, 0, 1, &off);
    }
    if (ll->beta_off != FL__NO_OFF) {
      snprintf(name, sizeof name, "layers.%d.bn.beta", l);
      tensor_entry(&w, name, ll->out, 0, 1, &off);
    }
  }
  for (int l = 0; l < t->lay.n_layers; l++) {
    const fl__layer_layout *ll = &t->lay.l[l];
    if (ll->stat_off == FL__NO_OFF) continue;
    char name[48];
    snprintf(name, sizeof name, "layers.%d.bn.moving_mean", l);
    tensor_entry(&w, name, ll->out, 0, 1, &off);
    snprintf(name, sizeof name, "layers.%d.bn.moving_variance", l);
    tensor_entry(&w, name, ll->out, 0, 1, &off);
  }
  fl_jw_object_end(&w);
  return fl_jw_finish(&w);
}

int fl_trainer_export_safetensors(fl_trainer *t, uint8_t **buf, size_t *len,
                                  fl_error *err) {
  return fl_trainer_export_safetensors_ex(t, NULL, 0, buf, len, err);
}

int fl_trainer_export_safetensors_ex(fl_trainer *t, const fl_export_meta *extra,
                                     int n_extra, uint8_t **buf, size_t *len,
                                     fl_error *err) {
  *buf = NULL;
  *len = 0;
  size_t P = t->lay.n_params + t->lay.n_stats;
  char *json = header_json(t, extra, n_extra);
  if (!json) return fl_error_set(err, FL_ENOMEM, "out of host memory");
  size_t n = strlen(json), padded = (n + 7) & ~(size_t)7;
  size_t total = 8 + padded + P * sizeof(float);
  uint8_t *b = malloc(total);
  float *host = malloc((P ? P : 1) * sizeof(float));
  int rc = 0;
  if (!b || !host) {
    rc = fl_error_set(err, FL_ENOMEM, "out of host memory for a %zu-byte "
                      "export", total);
  } else if (!(rc = fl_trainer_get_params(t, host, P, err))) {
    fl__le_put64(b, padded);
    memcpy(b + 8, json, n);
    memset(b + 8 + n, ' ', padded - n);
    fl__le_put_floats(b + 8 + padded, host, P);
  }
  free(json);
  free(host);
  if (rc) {
    free(b);
    return rc;
  }
  *buf = b;
  *len = total;
  return 0;
}
