/* protocol/spec_model.c — owns the decoding of the spec's "model" object:
 * the layer list, each dense layer (units, activation, softmax placement,
 * kernel_regularizer), the entries folded into the layer they follow
 * (batch_normalization, activation, dropout, pooling, flatten, in Keras'
 * orders), and kernel/bias initializers in their string and object forms.
 * A conv2d layer's own keys and the pooling entries are spec_conv.c's. */
#include <math.h>
#include <string.h>

#include "spec_conv.h"
#include "spec_internal.h"

#define STRINGIFY_(x) #x
#define STRINGIFY(x) STRINGIFY_(x)
#define LAYERS_EXPECTED                                           \
  "an array of 1 to " STRINGIFY(FL_MAX_LAYERS) " dense layer objects " \
  "(each may be followed by batch_normalization, activation and dropout " \
  "entries)"
#define LAYER_EXPECTED \
  "a layer object such as {\"type\": \"dense\", \"units\": 64}"
#define INITIALIZER_EXPECTED                                          \
  "an initializer name such as \"glorot_uniform\" or an object such " \
  "as {\"name\": \"random_normal\", \"stddev\": 0.05}"

/* Layer types; the message for a wrong one ("expected one of \"dense\",
 * ... , got \"conv2d\"") comes from the table like other names. */
enum {
  LAYER_DENSE,
  LAYER_DROPOUT,
  LAYER_BATCH_NORM,
  LAYER_ACTIVATION,
  LAYER_CONV2D,
  LAYER_MAX_POOL,
  LAYER_AVG_POOL,
  LAYER_GLOBAL_AVG_POOL,
  LAYER_FLATTEN
};
static const fl__enum_entry layer_type_entries[] = {
    {"dense", LAYER_DENSE},
    {"dropout", LAYER_DROPOUT},
    {"batch_normalization", LAYER_BATCH_NORM},
    {"activation", LAYER_ACTIVATION},
    {"conv2d", LAYER_CONV2D},
    {"max_pooling2d", LAYER_MAX_POOL},
    {"average_pooling2d", LAYER_AVG_POOL},
    {"global_average_pooling2d", LAYER_GLOBAL_AVG_POOL},
    {"flatten", LAYER_FLATTEN}};
/* At most this many array entries: every weighted layer with a
 * batch_normalization, an activation, a pooling, a flatten and a dropout
 * after it. */
#define FL__MAX_LAYER_ENTRIES (5 * FL_MAX_LAYERS)
static const fl__enum_table layer_type_table = {
    layer_type_entries, FL__ARRAY_LEN(layer_type_entries)};

/* The initializers that take a parameter, its key, Keras's default, and
 * the values that make sense (a zero stddev or limit is just "zeros"). */
typedef struct {
  fl_init_kind kind;
  const char *key;
  float default_value;
  fl__range range;
} init_param;

static const init_param init_params[] = {
    {FL_INIT_RANDOM_NORMAL, "stddev", 0.05f, {0.0, HUGE_VAL, true, false}},
    {FL_INIT_RANDOM_UNIFORM, "limit", 0.05f, {0.0, HUGE_VAL, true, false}},
    {FL_INIT_CONSTANT, "value", 0.0f, {-HUGE_VAL, HUGE_VAL, false, false}},
};

static const init_param *param_of_kind(fl_init_kind kind) {
  for (size_t i = 0; i < FL__ARRAY_LEN(init_params); i++) {
    if (init_params[i].kind == kind) return &init_params[i];
  }
  return NULL;
}

static const init_param *param_of_key(const char *key) {
  for (size_t i = 0; i < FL__ARRAY_LEN(init_params); i++) {
    if (strcmp(init_params[i].key, key) == 0) return &init_params[i];
  }
  return NULL;
}

static void set_initializer(fl_initializer *init, fl_init_kind kind) {
  const init_param *param = param_of_kind(kind);
  init->kind = kind;
  init->param = param ? param->default_value : 0.0f;
}

/* "glorot_uniform" or {"name": "random_normal", "stddev": 0.1}. */
static int decode_initializer(const cJSON *item, const char *path,
                              fl_initializer *init, fl_error *err) {
  static const char *const keys[] = {"name", "stddev", "limit", "value"};
  int kind = 0;
  int rc;
  if (cJSON_IsString(item)) {
    rc = fl__as_enum(item, path, &fl__init_table, &kind, err);
    if (rc) return rc;
    set_initializer(init, (fl_init_kind)kind);
    return 0;
  }
  if (!cJSON_IsObject(item)) {
    return fl__expected(err, path, INITIALIZER_EXPECTED, item);
  }
  if ((rc = fl__check_object(item, path, keys, FL__ARRAY_LEN(keys), err))) {
    return rc;
  }
  rc = fl__get_enum(item, path, "name", true, &fl__init_table, &kind, err);
  if (rc < 0) return rc;
  set_initializer(init, (fl_init_kind)kind);

  const init_param *param = param_of_kind(init->kind);
  for (const cJSON *c = item->child; c; c = c->next) {
    if (strcmp(c->string, "name") == 0) continue;
    if (param && strcmp(c->string, param->key) == 0) continue;
    const init_param *owner = param_of_key(c->string);
    char key_path[FL__KEYPATH_MAX];
    fl__path_key(key_path, path, c->string);
    return fl__fail(err, key_path, "%s takes no \"%s\" (only %s does)",
                    fl_init_name(init->kind), c->string,
                    owner ? fl_init_name(owner->kind) : "another initializer");
  }
  if (param) {
    rc = fl__get_float(item, path, param->key, false, &param->range,
                       &init->param, err);
    if (rc < 0) return rc;
  }
  return 0;
}

/* "kernel_regularizer": {"l1": a, "l2": b} (either or both), Keras' L1L2;
 * the string forms "l1" / "l2" take Keras' default factor 0.01. */
#define REGULARIZER_EXPECTED \
  "an object such as {\"l2\": 0.01} or {\"l1\": 0.001, \"l2\": 0.01}"
#define FL__KERAS_REGULARIZER_DEFAULT 0.01f /* keras.regularizers.L1/L2 */

static int decode_regularizer(const cJSON *item, const char *path,
                              fl_layer_spec *layer, fl_error *err) {
  static const char *const keys[] = {"l1", "l2"};
  static const fl__range non_negative = {0.0, HUGE_VAL, false, false};
  if (cJSON_IsString(item)) {
    if (strcmp(item->valuestring, "l1") == 0) {
      layer->l1 = FL__KERAS_REGULARIZER_DEFAULT;
      return 0;
    }
    if (strcmp(item->valuestring, "l2") == 0) {
      layer->l2 = FL__KERAS_REGULARIZER_DEFAULT;
      return 0;
    }
    return fl__expected(err, path, REGULARIZER_EXPECTED, item);
  }
  if (!cJSON_IsObject(item))
    return fl__expected(err, path, REGULARIZER_EXPECTED, item);
  int rc = fl__check_object(item, path, keys, FL__ARRAY_LEN(keys), err);
  if (rc) return rc;
  if (!item->child)
    return fl__expected(err, path, REGULARIZER_EXPECTED, item);
  if ((rc = fl__get_float(item, path, "l1", false, &non_negative, &layer->l1,
                          err)) < 0 ||
      (rc = fl__get_float(item, path, "l2", false, &non_negative, &layer->l2,
                          err)) < 0)
    return rc;
  return 0;
}

/* {"type": "dropout", "rate": r}: the rate, checked; the caller folds it
 * into the dense layer before it. */
static int decode_dropout(const cJSON *obj, const char *path, float *rate,
                          fl_error *err) {
  static const char *const keys[] = {"type", "rate"};
  /* rate 1 would drop every unit and scale by 1/0 */
  static const fl__range rate_range = {0.0, 1.0, false, true};
  int rc = fl__check_object(obj, path, keys, FL__ARRAY_LEN(keys), err);
  if (rc) return rc;
  rc = fl__get_float(obj, path, "rate", true, &rate_range, rate, err);
  return rc < 0 ? rc : 0;
}

/* Keras' BatchNormalization defaults. */
#define FL__KERAS_BN_MOMENTUM 0.99f
#define FL__KERAS_BN_EPSILON 1e-3f

/* {"type": "batch_normalization", "momentum": m, "epsilon": e, "center": c,
 * "scale": s}, all optional: written into the dense layer it follows. */
static int decode_batch_norm(const cJSON *obj, const char *path,
                             fl_layer_spec *layer, fl_error *err) {
  static const char *const keys[] = {"type", "momentum", "epsilon", "center",
                                     "scale"};
  /* momentum 1 would never move the statistics off their start values */
  static const fl__range momentum_range = {0.0, 1.0, false, true};
  static const fl__range epsilon_range = {0.0, HUGE_VAL, true, false};
  int rc = fl__check_object(obj, path, keys, FL__ARRAY_LEN(keys), err);
  if (rc) return rc;
  layer->bn_momentum = FL__KERAS_BN_MOMENTUM;
  layer->bn_epsilon = FL__KERAS_BN_EPSILON;
  layer->bn_center = layer->bn_scale = true;
  if ((rc = fl__get_float(obj, path, "momentum", false, &momentum_range,
                          &layer->bn_momentum, err)) < 0 ||
      (rc = fl__get_float(obj, path, "epsilon", false, &epsilon_range,
                          &layer->bn_epsilon, err)) < 0 ||
      (rc = fl__get_bool(obj, path, "center", false, &layer->bn_center,
                         err)) < 0 ||
      (rc = fl__get_bool(obj, path, "scale", false, &layer->bn_scale, err)) < 0)
    return rc;
  layer->bn = true;
  return 0;
}

/* {"type": "activation", "activation": A}: Keras' Activation layer. */
static int decode_activation(const cJSON *obj, const char *path,
                             fl_activation *act, fl_error *err) {
  static const char *const keys[] = {"type", "activation"};
  int rc = fl__check_object(obj, path, keys, FL__ARRAY_LEN(keys), err);
  if (rc) return rc;
  int a = FL_ACT_LINEAR;
  rc = fl__get_enum(obj, path, "activation", true, &fl__activation_table, &a,
                    err);
  if (rc < 0) return rc;
  *act = (fl_activation)a;
  return 0;
}

/* What has followed the current dense layer so far: the order rules of the
 * entries folded into it. */
typedef struct {
  bool act_entry; /* an activation entry was folded */
  bool dropped;   /* a dropout entry was folded */
} fold_state;

/* Fold a batch_normalization or activation entry at model.layers[i] into
 * the dense layer below (index d - 1 of n_dense; the last one is at array
 * index last_dense). */
static int fold_entry(const cJSON *c, const char *path, int type, int i,
                      int d, int n_dense, int last_dense, fl_layer_spec *below,
                      fold_state *st, fl_error *err) {
  const char *what = type == LAYER_BATCH_NORM ? "a batch_normalization"
                                              : "an activation";
  if (d == 0)
    return fl__fail(err, path,
                    "%s entry must follow a dense layer (flatline does not "
                    "transform input features; for standardized inputs set "
                    "data.normalize to \"standardize\"); move it after the "
                    "first dense layer or remove it", what);
  if (type == LAYER_BATCH_NORM) {
    if (i > last_dense)
      return fl__fail(err, path,
                      "a batch_normalization after the output layer would "
                      "normalize predictions; move it before the last dense "
                      "layer (model.layers[%d]) or remove it", last_dense);
    if (below->bn)
      return fl__fail(err, path,
                      "a second batch_normalization on dense layer %d; keep "
                      "one (two in a row normalize what is already "
                      "normalized)", d - 1);
    if (st->dropped)
      return fl__fail(err, path,
                      "a batch_normalization after a dropout; put it before "
                      "the dropout (dense, batch_normalization, dropout)");
    return decode_batch_norm(c, path, below, err);
  }
  fl_activation act;
  int rc = decode_activation(c, path, &act, err);
  if (rc) return rc;
  if (st->dropped || st->act_entry)
    return fl__fail(err, path,
                    "an activation entry must directly follow a dense layer "
                    "or its batch_normalization (dense, batch_normalization, "
                    "activation, dropout); dense layer %d has %s before it: "
                    "move this entry up or remove it", d - 1,
                    st->dropped ? "a dropout" : "an activation entry");
  /* On the output layer, a second activation is the model Keras would
   * build; what it does to the loss is preflight's to say. */
  if (below->activation != FL_ACT_LINEAR && d - 1 == n_dense - 1) {
    below->stacked_activation = act;
    st->act_entry = true;
    return 0;
  }
  if (below->activation != FL_ACT_LINEAR)
    return fl__fail(err, path,
                    "an activation entry must follow a dense layer without an "
                    "activation, but dense layer %d has \"activation\": "
                    "\"%s\"; remove one of the two (for normalization "
                    "before the activation: a linear dense layer, "
                    "batch_normalization, then this entry)", d - 1,
                    fl_activation_name(below->activation));
  if (act == FL_ACT_SOFTMAX && d - 1 != n_dense - 1)
    return fl__fail(err, path,
                    "expected softmax only on the last layer, got it after "
                    "dense layer %d of %d", d - 1, n_dense);
  below->activation = act;
  below->bn_before_act = below->bn;
  st->act_entry = true;
  return 0;
}

static int layer_type(const cJSON *obj, const char *path, int *type,
                      fl_error *err) {
  if (!cJSON_IsObject(obj)) return fl__expected(err, path, LAYER_EXPECTED, obj);
  *type = LAYER_DENSE;
  int rc = fl__get_enum(obj, path, "type", true, &layer_type_table, type, err);
  return rc < 0 ? rc : 0;
}

/* A dense or conv2d layer (type) at model.layers[entry]: index is its
 * place among the n_layers weighted layers. */
static int decode_layer(const cJSON *obj, const char *path, int index,
                        int n_layers, int entry, int type,
                        fl_layer_spec *layer, fl_error *err) {
  static const char *const keys[] = {"type", "units", "activation",
                                     "kernel_initializer", "bias_initializer",
                                     "kernel_regularizer", "input_shape"};
  memset(layer, 0, sizeof *layer);
  int rc;
  if (type == LAYER_CONV2D) {
    if ((rc = fl__decode_conv(obj, path, layer, err))) return rc;
  } else {
    if ((rc = fl__check_object(obj, path, keys, FL__ARRAY_LEN(keys), err)))
      return rc;
    rc = fl__get_int(obj, path, "units", true, 1, FL_MAX_UNITS, &layer->units,
                     err);
    if (rc < 0) return rc;
  }
  if ((rc = fl__decode_input_shape(obj, path, entry, layer, err))) return rc;

  int activation = FL_ACT_LINEAR; /* Keras's Dense default */
  rc = fl__get_enum(obj, path, "activation", false, &fl__activation_table,
                    &activation, err);
  if (rc < 0) return rc;
  layer->activation = (fl_activation)activation;
  char key_path[FL__KEYPATH_MAX];
  if (layer->activation == FL_ACT_SOFTMAX && index != n_layers - 1) {
    /* The engine fuses softmax with the loss at the output; a softmax
     * inside the network is almost always a copy-paste slip. */
    fl__path_key(key_path, path, "activation");
    return fl__fail(err, key_path,
                    "expected softmax only on the last layer "
                    "(model.layers[%d]), got it on layer %d of %d",
                    n_layers - 1, index, n_layers);
  }

  set_initializer(&layer->kernel_init, FL_INIT_GLOROT_UNIFORM);
  set_initializer(&layer->bias_init, FL_INIT_ZEROS);
  const cJSON *kernel =
      cJSON_GetObjectItemCaseSensitive(obj, "kernel_initializer");
  if (kernel) {
    fl__path_key(key_path, path, "kernel_initializer");
    rc = decode_initializer(kernel, key_path, &layer->kernel_init, err);
    if (rc) return rc;
  }
  const cJSON *bias = cJSON_GetObjectItemCaseSensitive(obj, "bias_initializer");
  if (bias) {
    fl__path_key(key_path, path, "bias_initializer");
    rc = decode_initializer(bias, key_path, &layer->bias_init, err);
    if (rc) return rc;
  }
  layer->dropout = 0.0f;
  layer->l1 = layer->l2 = 0.0f;
  layer->bn = layer->bn_before_act = false;
  const cJSON *reg = cJSON_GetObjectItemCaseSensitive(obj, "kernel_regularizer");
  if (reg) {
    fl__path_key(key_path, path, "kernel_regularizer");
    rc = decode_regularizer(reg, key_path, layer, err);
    if (rc) return rc;
  }
  return 0;
}

int fl__decode_model(const cJSON *item, const char *path, fl_job_spec *spec,
                     fl_error *err) {
  static const char *const keys[] = {"layers"};
  if (cJSON_GetObjectItemCaseSensitive(item, "input_shape")) {
    char key_path[FL__KEYPATH_MAX];
    fl__path_key(key_path, path, "input_shape");
    return fl__fail(err, key_path,
                    "input_shape goes on the first layer, as in Keras: "
                    "{\"type\": \"conv2d\", ..., \"input_shape\": [28, 28, "
                    "1]} (model.layers[0])");
  }
  int rc = fl__check_object(item, path, keys, FL__ARRAY_LEN(keys), err);
  if (rc) return rc;

  const cJSON *layers = cJSON_GetObjectItemCaseSensitive(item, "layers");
  if (!layers) return fl__missing(err, path, "layers", LAYERS_EXPECTED);
  char layers_path[FL__KEYPATH_MAX];
  fl__path_key(layers_path, path, "layers");
  if (!cJSON_IsArray(layers)) {
    return fl__expected(err, layers_path, LAYERS_EXPECTED, layers);
  }
  /* Count before writing: spec->layers has room for FL_MAX_LAYERS dense
   * layers, and softmax placement needs to know which one is last. */
  int n = 0, n_dense = 0, last_dense = -1, i = 0;
  bool last_is_conv = false;
  for (const cJSON *c = layers->child; c; c = c->next) n++;
  if (n == 0) {
    return fl__fail(err, layers_path, "expected %s, got an empty array",
                    LAYERS_EXPECTED);
  }
  if (n > FL__MAX_LAYER_ENTRIES) {
    return fl__fail(err, layers_path, "expected %s, got %d entries",
                    LAYERS_EXPECTED, n);
  }
  for (const cJSON *c = layers->child; c; c = c->next, i++) {
    char layer_path[FL__KEYPATH_MAX];
    fl__path_index(layer_path, layers_path, i);
    int type;
    if ((rc = layer_type(c, layer_path, &type, err))) return rc;
    if (type == LAYER_DENSE || type == LAYER_CONV2D) {
      n_dense++, last_dense = i;
      last_is_conv = type == LAYER_CONV2D;
    }
  }
  if (last_is_conv) {
    char last_path[FL__KEYPATH_MAX];
    fl__path_index(last_path, layers_path, last_dense);
    return fl__fail(err, last_path,
                    "the output layer must be dense: add {\"type\": "
                    "\"flatten\"} and a dense layer with one unit per class "
                    "after the last conv2d");
  }
  if (n_dense == 0) {
    return fl__fail(err, layers_path, "expected %s, got no dense layer",
                    LAYERS_EXPECTED);
  }
  if (n_dense > FL_MAX_LAYERS) {
    return fl__fail(err, layers_path, "expected %s, got %d dense layers",
                    LAYERS_EXPECTED, n_dense);
  }
  i = 0;
  int d = 0;
  fold_state st = {false, false};
  /* The tensor between entries is 4-D (B, H, W, C) after a conv2d until a
   * flatten or a global pooling; flatten_next: a flatten came since. */
  bool spatial = false, flatten_next = false;
  for (const cJSON *c = layers->child; c; c = c->next, i++) {
    char layer_path[FL__KEYPATH_MAX];
    fl__path_index(layer_path, layers_path, i);
    int type;
    if ((rc = layer_type(c, layer_path, &type, err))) return rc;
    if (type == LAYER_DENSE && spatial)
      return fl__fail(err, layer_path,
                      "a dense layer after conv2d layer %d: its output is "
                      "4-D (height, width, channels) and Keras would apply "
                      "this dense layer to the channels only; add {\"type\": "
                      "\"flatten\"} before it (or a global_average_pooling2d "
                      "after the conv2d)", d - 1);
    if (type == LAYER_CONV2D && d > 0 && !spatial)
      return fl__fail(err, layer_path,
                      "a conv2d after a flatten, a dense layer or a global "
                      "pooling: the tensor is flat there; move conv2d "
                      "layers before the flatten and the dense layers");
    if (type == LAYER_DENSE || type == LAYER_CONV2D) {
      rc = decode_layer(c, layer_path, i == last_dense ? n_dense - 1 : d,
                        n_dense, i, type, &spec->layers[d], err);
      if (rc) return rc;
      spec->layers[d].flatten = type == LAYER_DENSE && flatten_next;
      spec->n_layers = ++d;
      st = (fold_state){false, false};
      spatial = type == LAYER_CONV2D;
      flatten_next = false;
      continue;
    }
    if (type == LAYER_FLATTEN) {
      static const char *const fkeys[] = {"type"};
      if ((rc = fl__check_object(c, layer_path, fkeys, 1, err))) return rc;
      if (i > last_dense)
        return fl__fail(err, layer_path,
                        "a flatten after the output layer; remove it");
      spatial = false;
      flatten_next = true;
      continue;
    }
    if (type == LAYER_MAX_POOL || type == LAYER_AVG_POOL ||
        type == LAYER_GLOBAL_AVG_POOL) {
      int pool = type == LAYER_MAX_POOL   ? FL_POOL_MAX
                 : type == LAYER_AVG_POOL ? FL_POOL_AVG
                                          : FL_POOL_GLOBAL_AVG;
      if (d > 0 && !spatial)
        return fl__fail(err, layer_path,
                        "a pooling entry after a flatten or a dense layer: "
                        "the tensor is flat there; put it right after a "
                        "conv2d");
      if (st.dropped)
        return fl__fail(err, layer_path,
                        "a pooling entry after a dropout; put it before the "
                        "dropout (conv2d, pooling, dropout)");
      rc = fl__decode_pool(c, layer_path, pool,
                           d > 0 ? &spec->layers[d - 1] : NULL, err);
      if (rc) return rc;
      if (pool == FL_POOL_GLOBAL_AVG) spatial = false;
      continue;
    }
    if (d > 0 && spec->layers[d - 1].kind == FL_LAYER_CONV2D &&
        (type == LAYER_BATCH_NORM ||
         (type == LAYER_ACTIVATION && spec->layers[d - 1].pool)))
      return fl__fail(err, layer_path,
                      type == LAYER_BATCH_NORM
                          ? "batch_normalization after a conv2d is not "
                            "supported yet (Keras normalizes per channel "
                            "there); remove it"
                          : "an activation entry after a pooling entry; "
                            "give the conv2d its \"activation\" (or put the "
                            "activation entry before the pooling)");
    if (type == LAYER_BATCH_NORM || type == LAYER_ACTIVATION) {
      rc = fold_entry(c, layer_path, type, i, d, n_dense, last_dense,
                      d > 0 ? &spec->layers[d - 1] : NULL, &st, err);
      if (rc) return rc;
      continue;
    }
    float rate = 0.0f;
    if ((rc = decode_dropout(c, layer_path, &rate, err))) return rc;
    if (d == 0)
      return fl__fail(err, layer_path,
                      "a dropout entry must follow a dense layer (flatline "
                      "does not drop input features); move it after the "
                      "first dense layer or remove it");
    if (i > last_dense)
      return fl__fail(err, layer_path,
                      "a dropout after the output layer would drop "
                      "predictions; move it before the last dense layer "
                      "(model.layers[%d]) or remove it", last_dense);
    /* Dropout after dropout keeps a unit with probability (1-r1)(1-r2). */
    fl_layer_spec *below = &spec->layers[d - 1];
    st.dropped = true;
    below->dropout = below->dropout == 0.0f
                         ? rate
                         : 1.0f - (1.0f - below->dropout) * (1.0f - rate);
  }
  /* With an input_shape the shapes through the model are known now: a
   * kernel or pooling that does not fit is the spec's error, not the
   * job's. */
  fl_layer_shape shapes[FL_MAX_LAYERS];
  bool known;
  return fl_model_shapes(spec->layers, spec->n_layers, 0, shapes, &known, err);
}
