/* protocol/spec_conv.c — owns the convolutional part of the spec's model:
 * decoding a conv2d layer and the pooling entries folded into it
 * (max_pooling2d, average_pooling2d, global_average_pooling2d), the first
 * layer's "input_shape", and the shapes through a model (fl_model_shapes),
 * which the parser, the engine and the export all use.
 *
 * Channels-last (NHWC): a row of features is an image (H, W, C) in that
 * order, as Keras' default data_format and as IDX/npy images are stored. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "spec_conv.h"

/* Largest image side and channel count: far above any image a CPU or one
 * GPU trains on, small enough that H*W*C and every index fit 32 bits. */
#define FL__MAX_SIDE 4096
#define FL__MAX_CHANNELS 4096
#define FL__MAX_KERNEL 64

#define PAIR_EXPECTED "an integer or a pair of integers such as [3, 3]"

/* key: an int n (-> [n, n]) or [a, b], each in [lo, hi]. 1 stored, 0
 * absent (out untouched), negative on error. */
static int get_pair(const cJSON *obj, const char *path, const char *key,
                    int lo, int hi, int out[2], fl_error *err) {
  const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, key);
  if (!item) return 0;
  char key_path[FL__KEYPATH_MAX];
  fl__path_key(key_path, path, key);
  if (fl__is_int_in(item, lo, hi)) {
    out[0] = out[1] = (int)item->valuedouble;
    return 1;
  }
  if (cJSON_IsArray(item) && cJSON_GetArraySize(item) == 2 &&
      fl__is_int_in(item->child, lo, hi) &&
      fl__is_int_in(item->child->next, lo, hi)) {
    out[0] = (int)item->child->valuedouble;
    out[1] = (int)item->child->next->valuedouble;
    return 1;
  }
  char want[96];
  snprintf(want, sizeof want, "%s, each from %d to %d", PAIR_EXPECTED, lo, hi);
  return fl__expected(err, key_path, want, item);
}

static const fl__enum_entry padding_entries[] = {{"valid", 0}, {"same", 1}};
static const fl__enum_table padding_table = {padding_entries, 2};

static int get_padding(const cJSON *obj, const char *path, bool *same,
                       fl_error *err) {
  int v = 0; /* Keras: "valid" */
  int rc = fl__get_enum(obj, path, "padding", false, &padding_table, &v, err);
  if (rc < 0) return rc;
  *same = v == 1;
  return 0;
}

int fl__decode_input_shape(const cJSON *obj, const char *path, int index,
                           fl_layer_spec *layer, fl_error *err) {
  const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, "input_shape");
  if (!item) return 0;
  char key_path[FL__KEYPATH_MAX];
  fl__path_key(key_path, path, "input_shape");
  if (index != 0)
    return fl__fail(err, key_path,
                    "input_shape belongs on the first layer (model.layers[0]), "
                    "as in Keras; move it there");
  static const char expected[] =
      "[H, W, C]: the image's height, width and channels (channels last), "
      "such as [28, 28, 1]";
  if (!cJSON_IsArray(item) || cJSON_GetArraySize(item) != 3)
    return fl__expected(err, key_path, expected, item);
  const cJSON *c = item->child;
  static const int hi[3] = {FL__MAX_SIDE, FL__MAX_SIDE, FL__MAX_CHANNELS};
  for (int i = 0; i < 3; i++, c = c->next) {
    if (!fl__is_int_in(c, 1, hi[i]))
      return fl__expected(err, key_path, expected, item);
    layer->input_shape[i] = (int)c->valuedouble;
  }
  return 0;
}

int fl__decode_conv(const cJSON *obj, const char *path, fl_layer_spec *layer,
                    fl_error *err) {
  static const char *const keys[] = {
      "type", "filters", "kernel_size", "strides", "padding", "activation",
      "kernel_initializer", "bias_initializer", "kernel_regularizer",
      "input_shape"};
  int rc = fl__check_object(obj, path, keys, FL__ARRAY_LEN(keys), err);
  if (rc) return rc;
  layer->kind = FL_LAYER_CONV2D;
  if ((rc = fl__get_int(obj, path, "filters", true, 1, FL__MAX_CHANNELS,
                        &layer->units, err)) < 0)
    return rc;
  if (!cJSON_GetObjectItemCaseSensitive(obj, "kernel_size"))
    return fl__missing(err, path, "kernel_size", PAIR_EXPECTED);
  layer->strides[0] = layer->strides[1] = 1;
  if ((rc = get_pair(obj, path, "kernel_size", 1, FL__MAX_KERNEL,
                     layer->kernel_size, err)) < 0 ||
      (rc = get_pair(obj, path, "strides", 1, FL__MAX_KERNEL, layer->strides,
                     err)) < 0 ||
      (rc = get_padding(obj, path, &layer->padding_same, err)))
    return rc;
  return 0;
}

static const char *pool_type_name(int pool) {
  return pool == FL_POOL_MAX   ? "max_pooling2d"
         : pool == FL_POOL_AVG ? "average_pooling2d"
                               : "global_average_pooling2d";
}

int fl__decode_pool(const cJSON *obj, const char *path, int pool,
                    fl_layer_spec *below, fl_error *err) {
  static const char *const keys[] = {"type", "pool_size", "strides",
                                     "padding"};
  int rc = fl__check_object(obj, path, keys,
                            pool == FL_POOL_GLOBAL_AVG ? 1 : FL__ARRAY_LEN(keys),
                            err);
  if (rc) return rc;
  if (!below || below->kind != FL_LAYER_CONV2D)
    return fl__fail(err, path,
                    "a %s entry must follow a conv2d layer (flatline pools "
                    "the output of the conv2d before it); move it after a "
                    "conv2d or remove it", pool_type_name(pool));
  if (below->pool != FL_POOL_NONE)
    return fl__fail(err, path,
                    "a second pooling entry after the same conv2d; pool once "
                    "with a larger pool_size, or put a conv2d between them");
  below->pool = pool;
  if (pool == FL_POOL_GLOBAL_AVG) return 0;
  below->pool_size[0] = below->pool_size[1] = 2; /* Keras' default */
  if ((rc = get_pair(obj, path, "pool_size", 1, FL__MAX_KERNEL,
                     below->pool_size, err)) < 0)
    return rc;
  /* Keras: strides default to pool_size */
  below->pool_strides[0] = below->pool_size[0];
  below->pool_strides[1] = below->pool_size[1];
  if ((rc = get_pair(obj, path, "strides", 1, FL__MAX_KERNEL,
                     below->pool_strides, err)) < 0 ||
      (rc = get_padding(obj, path, &below->pool_same, err)))
    return rc;
  return 0;
}

bool fl_model_has_conv(const fl_layer_spec *layers, int n) {
  for (int i = 0; i < n; i++)
    if (layers[i].kind == FL_LAYER_CONV2D) return true;
  return false;
}

int fl_model_input_from_data(fl_layer_spec *layers, int n,
                             const size_t image[3], const char *source,
                             fl_error *err) {
  if (n < 1 || !fl_model_has_conv(layers, n) || layers[0].input_shape[0] > 0 ||
      image[0] == 0)
    return 0;
  static const size_t hi[3] = {FL__MAX_SIDE, FL__MAX_SIDE, FL__MAX_CHANNELS};
  for (int i = 0; i < 3; i++)
    if (image[i] < 1 || image[i] > hi[i])
      return fl_error_set(err, FL_ESPEC,
                          "%s: its rows are %zux%zux%zu images (H x W x C); "
                          "a conv2d model takes sides of 1 to %d and 1 to "
                          "%d channels; resize the images",
                          source ? source : "the data", image[0], image[1],
                          image[2], FL__MAX_SIDE, FL__MAX_CHANNELS);
  for (int i = 0; i < 3; i++) layers[0].input_shape[i] = (int)image[i];
  return 0;
}

/* TF's output size and leading pad along one axis: "same" gives
 * ceil(in / s) with the total padding (out - 1) s + k - in split with the
 * extra cell at the end; "valid" gives floor((in - k) / s) + 1 (< 1 when
 * the window does not fit). */
static int axis_out(int in, int k, int s, bool same, int *pad_lead) {
  *pad_lead = 0;
  if (same) {
    int out = (in + s - 1) / s;
    int total = (out - 1) * s + k - in;
    *pad_lead = total > 0 ? total / 2 : 0;
    return out;
  }
  return in >= k ? (in - k) / s + 1 : 0;
}

int fl_model_shapes(const fl_layer_spec *layers, int n, size_t input_dim,
                    fl_layer_shape *shapes, bool *known, fl_error *err) {
  memset(shapes, 0, (size_t)n * sizeof *shapes);
  *known = false;
  const int *is = layers[0].input_shape;
  int h = is[0], w = is[1], c = is[2];
  bool conv = fl_model_has_conv(layers, n);
  if (h > 0) {
    size_t hwc = (size_t)h * (size_t)w * (size_t)c;
    if (input_dim > 0 && hwc != input_dim)
      return fl_error_set(err, FL_ESPEC,
                          "model.layers[0].input_shape: [%d, %d, %d] holds "
                          "%zu values but the data's rows have %zu features; "
                          "give the image's real [H, W, C] (H*W*C = %zu)",
                          h, w, c, hwc, input_dim, input_dim);
    if (input_dim == 0) input_dim = hwc;
  } else if (conv) {
    if (input_dim == 0) return 0; /* known when the data is */
    size_t side = (size_t)llround(sqrt((double)input_dim));
    if (side * side != input_dim || side > FL__MAX_SIDE)
      return fl_error_set(err, FL_ESPEC,
                          "model.layers[0].input_shape: the rows have %zu "
                          "features, which is no square single-channel "
                          "image; give the image shape, e.g. \"input_shape\": "
                          "[H, W, C] with H*W*C = %zu, on the first layer, or "
                          "store the features as a .npy of shape "
                          "(N, H, W, C)", input_dim, input_dim);
    h = w = (int)side;
    c = 1;
  }
  *known = true;
  bool spatial = conv || h > 0; /* the tensor between layers is 4-D */
  size_t flat = input_dim;
  for (int i = 0; i < n; i++) {
    const fl_layer_spec *ls = &layers[i];
    fl_layer_shape *s = &shapes[i];
    s->flat_in = flat;
    if (ls->kind != FL_LAYER_CONV2D) {
      spatial = false;
      flat = s->flat_out = (size_t)ls->units;
      continue;
    }
    if (!spatial)
      return fl_error_set(err, FL_ESPEC,
                          "model: conv2d layer %d comes after a flat tensor "
                          "(a dense layer or global pooling); move conv2d "
                          "layers before flatten and the dense layers", i);
    s->h = h, s->w = w, s->c = c;
    s->oh = axis_out(h, ls->kernel_size[0], ls->strides[0], ls->padding_same,
                     &s->pad_top);
    s->ow = axis_out(w, ls->kernel_size[1], ls->strides[1], ls->padding_same,
                     &s->pad_left);
    if (s->oh < 1 || s->ow < 1)
      return fl_error_set(err, FL_ESPEC,
                          "model: conv2d layer %d's %dx%d kernel does not fit "
                          "its %dx%d input with padding \"valid\"; use "
                          "\"padding\": \"same\", a smaller kernel_size, or "
                          "less pooling before it", i, ls->kernel_size[0],
                          ls->kernel_size[1], h, w);
    s->ph = s->oh, s->pw = s->ow;
    if (ls->pool == FL_POOL_GLOBAL_AVG) {
      s->pool_kh = s->pool_sh = s->oh;
      s->pool_kw = s->pool_sw = s->ow;
      s->ph = s->pw = 1;
      spatial = false;
    } else if (ls->pool != FL_POOL_NONE) {
      s->pool_kh = ls->pool_size[0], s->pool_kw = ls->pool_size[1];
      s->pool_sh = ls->pool_strides[0], s->pool_sw = ls->pool_strides[1];
      s->ph = axis_out(s->oh, s->pool_kh, s->pool_sh, ls->pool_same,
                       &s->pool_pad_top);
      s->pw = axis_out(s->ow, s->pool_kw, s->pool_sw, ls->pool_same,
                       &s->pool_pad_left);
      if (s->ph < 1 || s->pw < 1)
        return fl_error_set(err, FL_ESPEC,
                            "model: the %dx%d pooling after conv2d layer %d "
                            "does not fit its %dx%d output with padding "
                            "\"valid\"; use a smaller pool_size, "
                            "\"padding\": \"same\", or remove it",
                            s->pool_kh, s->pool_kw, i, s->oh, s->ow);
    }
    h = s->ph, w = s->pw, c = ls->units;
    flat = s->flat_out = (size_t)h * (size_t)w * (size_t)c;
  }
  return 0;
}
