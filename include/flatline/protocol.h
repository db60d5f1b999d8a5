/* flatline/protocol.h — the job spec (DESIGN.md §3) as a plain C struct, and
 * its parser/validator. Nothing past the protocol library sees cJSON.
 *
 * Later the wire protocol (framing, messages) joins this header. */
#ifndef FLATLINE_PROTOCOL_H
#define FLATLINE_PROTOCOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "flatline/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Caps applied before anything is allocated from a spec. */
#define FL_SPEC_MAX_BYTES (1u << 20) /* a spec is a JSON frame: <= 1 MiB */
#define FL_SPEC_MAX_DEPTH 16         /* JSON nesting */
#define FL_MAX_LAYERS 32
#define FL_MAX_UNITS 65536           /* units of one dense layer */
#define FL_MAX_LABEL_COLUMNS 4096
#define FL_NAME_MAX 128
#define FL_PATH_MAX 1024

typedef enum {
  FL_ACT_LINEAR,
  FL_ACT_RELU,
  FL_ACT_LEAKY_RELU, /* Keras default negative slope 0.2 */
  FL_ACT_TANH,
  FL_ACT_SIGMOID,
  FL_ACT_SOFTMAX, /* last layer only */
} fl_activation;

#define FL_LEAKY_RELU_SLOPE 0.2f

typedef enum {
  FL_INIT_GLOROT_UNIFORM,
  FL_INIT_GLOROT_NORMAL,
  FL_INIT_HE_NORMAL,
  FL_INIT_HE_UNIFORM,
  FL_INIT_ZEROS,
  FL_INIT_ONES,
  FL_INIT_RANDOM_NORMAL,  /* param = stddev (default 0.05), mean 0 */
  FL_INIT_RANDOM_UNIFORM, /* param = limit (default 0.05): U(-limit, limit) */
  FL_INIT_CONSTANT,       /* param = value (default 0) */
} fl_init_kind;

typedef struct {
  fl_init_kind kind;
  float param;
} fl_initializer;

typedef struct {
  int units;                  /* 1 .. FL_MAX_UNITS */
  fl_activation activation;   /* default linear, as Keras */
  /* An {"type": "activation"} entry after the output layer when that
   * layer has an activation of its own (Dense(10, softmax) then
   * Activation(softmax): Keras stacks them, and the loss sees the second
   * applied to the first). Decoded so that preflight names the pairing
   * (output_loss_mismatch) with its fix; training refuses it. Linear:
   * none (a linear entry changes nothing). */
  fl_activation stacked_activation;
  fl_initializer kernel_init; /* default glorot_uniform */
  fl_initializer bias_init;   /* default zeros */
  /* A {"type": "dropout", "rate": r} entry right after this dense layer
   * (consecutive ones combined: 1 - prod(1 - r_i)); 0 = none. Applied to
   * this layer's activation output in training only, as Keras' Dropout. */
  float dropout;              /* [0, 1) */
  /* "kernel_regularizer": {"l1": a, "l2": b} (Keras' L1L2): the loss gains
   * a sum|W| + b sum W^2 over this layer's kernel (not its bias). */
  float l1, l2;               /* >= 0, default 0 */
  /* A {"type": "batch_normalization"} entry after this dense layer (Keras'
   * BatchNormalization over the batch rows, per unit). bn_before_act: the
   * layer was linear and an {"type": "activation"} entry followed the
   * normalization (Dense(u) -> BN -> Activation(A)): BN normalizes
   * x W + b and `activation` comes after it; otherwise BN normalizes the
   * activation's output (Dense(u, activation=A) -> BN). */
  bool bn;
  bool bn_before_act;
  float bn_momentum;          /* [0, 1), Keras default 0.99 */
  float bn_epsilon;           /* > 0, Keras default 1e-3 */
  bool bn_center, bn_scale;   /* beta / gamma exist; Keras default true */
  /* Convolutions (issue 13, channels-last: a row of features is an image
   * (H, W, C) flattened in that order). kind FL_LAYER_CONV2D: Keras'
   * Conv2D with `units` filters, kernel (kh, kw), strides (sh, sw),
   * padding "valid" or "same" (TF's arithmetic); its kernel is stored as
   * Keras stores it, (kh, kw, cin, filters). A pooling entry right after
   * it (max_pooling2d, average_pooling2d, global_average_pooling2d) is
   * folded into it as `pool`, applied after the activation. A dense layer
   * after a conv2d needs a flatten entry before it (`flatten`), unless the
   * conv2d's pooling is global. */
  int kind;                   /* fl_layer_kind; 0 = dense */
  /* "input_shape": [H, W, C] on the first layer (Keras style); all 0 when
   * absent. A conv model without it takes the image shape of its data
   * file's header when the job's data is loaded (fl_model_input_from_data:
   * a .npy (N, H, W, C) or (N, H, W), IDX images); data without one (2-D
   * rows, CSV) is read as a square single-channel image of the feature
   * width (784 -> [28, 28, 1]). */
  int input_shape[3];
  int kernel_size[2], strides[2];
  bool padding_same;
  int pool;                   /* fl_pool_kind; 0 = none */
  int pool_size[2], pool_strides[2];
  bool pool_same;
  bool flatten;               /* dense: a flatten entry comes before it */
} fl_layer_spec;

typedef enum { FL_LAYER_DENSE = 0, FL_LAYER_CONV2D = 1 } fl_layer_kind;
typedef enum {
  FL_POOL_NONE = 0,
  FL_POOL_MAX = 1,
  FL_POOL_AVG = 2,        /* 'same' padding: the mean of the window's cells
                             inside the image (TF) */
  FL_POOL_GLOBAL_AVG = 3, /* the mean over H x W: (B, C), flat */
} fl_pool_kind;

/* The shapes through a model's layers (channels-last), per layer:
 * the input image (h, w, c), the conv output (oh, ow) with its top/left
 * padding, the window of its pooling (global: the whole conv output) and
 * the output after it (ph, pw). For a dense layer only `flat` (its input
 * width) is set. */
typedef struct {
  int h, w, c;
  int oh, ow, pad_top, pad_left;
  int pool_kh, pool_kw, pool_sh, pool_sw, pool_pad_top, pool_pad_left;
  int ph, pw;
  size_t flat_in, flat_out; /* per row: h*w*c, and ph*pw*filters (dense:
                               units) */
} fl_layer_shape;

/* Compute shapes[0..n) of layers on rows of input_dim features. With
 * input_dim 0 (a spec without its data) and no input_shape on the first
 * layer, the image is not known: *known is false and 0 is returned
 * unchecked. Errors (FL_ESPEC) name the layer and the fix: an input_shape
 * whose H*W*C is not the feature width, a feature width that is no square
 * image, a conv or pooling output under 1 pixel. */
int fl_model_shapes(const fl_layer_spec *layers, int n, size_t input_dim,
                    fl_layer_shape *shapes, bool *known, fl_error *err);
/* True when a layer of the model is a conv2d. */
bool fl_model_has_conv(const fl_layer_spec *layers, int n);

/* Give a conv model without "input_shape" the image its data holds:
 * layers[0].input_shape = image, the (H, W, C) a features file's header
 * gave (fl_dataset's image_shape; source names that file in errors).
 * Nothing changes when the model has no conv2d layer, when the spec gives
 * input_shape (the user's word: rows of the same width are read as its
 * shape, as Keras' reshape; another width is fl_model_shapes' error), or
 * when image is all 0 (no shape in the file: fl_model_shapes' square
 * single-channel default stays). FL_ESPEC, naming source, the shape and
 * the limit, when a side or the channels exceed what "input_shape"
 * accepts. */
int fl_model_input_from_data(fl_layer_spec *layers, int n,
                             const size_t image[3], const char *source,
                             fl_error *err);

typedef enum {
  FL_LOSS_CATEGORICAL_CE,        /* one-hot / probability labels (N,K) */
  FL_LOSS_SPARSE_CATEGORICAL_CE, /* class ids (N,) */
  FL_LOSS_MSE,                   /* mean_squared_error */
  FL_LOSS_BINARY_CE,             /* binary_crossentropy: one output unit
                                    (sigmoid, or linear from_logits), class
                                    ids 0/1, two classes */
} fl_loss_kind;

typedef struct {
  fl_loss_kind kind;
  bool from_logits; /* default false */
} fl_loss_spec;

typedef enum {
  FL_OPT_SGD,
  FL_OPT_ADAM,
  FL_OPT_RMSPROP,
  FL_OPT_ADAMW,
} fl_optimizer_kind;

/* Keras defaults:
 *   sgd      learning_rate 0.01,  momentum 0, nesterov false
 *   adam     learning_rate 0.001, beta_1 0.9, beta_2 0.999, epsilon 1e-7
 *   rmsprop  learning_rate 0.001, rho 0.9, momentum 0, epsilon 1e-7
 *   adamw    as adam, weight_decay 0.004 */
/* A learning-rate schedule: "optimizer": {"learning_rate": {...}} as
 * keras.optimizers.schedules (Keras 3 formulas, fl_learning_rate_at). The
 * schedule's step is the optimizer's update count before the update (0 at
 * the first batch), as Keras's `optimizer.iterations`. */
typedef enum {
  FL_SCHEDULE_NONE,        /* constant learning_rate */
  FL_SCHEDULE_EXPONENTIAL, /* exponential_decay: lr0 rate^(step/decay_steps),
                              floor()ed when staircase (step decay) */
  FL_SCHEDULE_COSINE,      /* cosine_decay, with an optional linear warm-up */
  FL_SCHEDULE_PIECEWISE,   /* piecewise_constant_decay: values[i] while
                              step <= boundaries[i] (a step schedule) */
} fl_schedule_kind;

#define FL_SCHEDULE_MAX_BOUNDARIES 16 /* piecewise_constant_decay */

typedef struct {
  fl_schedule_kind kind;
  double decay_steps;   /* > 0 */
  double decay_rate;    /* exponential */
  bool staircase;       /* exponential */
  double alpha;         /* cosine: floor as a fraction of the peak, [0, 1] */
  bool warmup;          /* cosine: warmup_target given */
  double warmup_target; /* cosine: lr reached after warmup_steps */
  double warmup_steps;  /* cosine: linear from learning_rate, >= 0 */
  int n_boundaries;     /* piecewise: 1..FL_SCHEDULE_MAX_BOUNDARIES */
  double boundaries[FL_SCHEDULE_MAX_BOUNDARIES];    /* increasing steps */
  double values[FL_SCHEDULE_MAX_BOUNDARIES + 1];    /* rates, > 0; values[0]
                                                       is learning_rate */
} fl_lr_schedule;

typedef struct {
  fl_optimizer_kind kind;
  float learning_rate;
  float momentum; /* sgd, rmsprop */
  bool nesterov;  /* sgd */
  float beta_1, beta_2, epsilon;
  float rho;          /* rmsprop */
  float weight_decay; /* adamw */
  /* learning_rate is the schedule's initial_learning_rate when one is set. */
  fl_lr_schedule schedule; /* kind NONE by default */
  /* Gradient clipping before the update, Keras 3 (at most one is set, 0 =
   * off): clipnorm scales each variable's gradient (each W_l and each b_l
   * on its own) to an L2 norm of at most clipnorm; global_clipnorm scales
   * all gradients together to a global norm of at most global_clipnorm;
   * clipvalue clamps every gradient element to [-clipvalue, clipvalue]. */
  float clipnorm, global_clipnorm, clipvalue;
} fl_optimizer_spec;

/* The learning rate of the step-th update (0-based) under opt's schedule;
 * opt->learning_rate when there is none (protocol/spec_callbacks.c). */
double fl_learning_rate_at(const fl_optimizer_spec *opt, long step);

/* Multiplies every rate of opt by f: learning_rate, and a schedule's
 * piecewise values and warm-up target, so that the schedule keeps its
 * shape (the diagnosis's learning-rate probes and fixes). */
void fl_optimizer_scale_rate(fl_optimizer_spec *opt, double f);

/* v rounded to `digits` significant decimal digits, as people type rates
 * and scales (1/255 to 3 digits: 0.00392; 1e-5f x 100 to 6: 0.001). */
double fl_round_digits(double v, int digits);

typedef enum {
  FL_SRC_NONE, /* absent (validation not given) */
  FL_SRC_NPY,  /* {"features": F.npy, "labels": L.npy} */
  FL_SRC_CSV,  /* {"csv": F, "label_columns": [...]} */
  FL_SRC_IDX,  /* {"idx_images": F, "idx_labels": L}, optionally .gz */
} fl_source_kind;

/* A CSV label column named by header text, or by 0-based index. */
typedef struct {
  char name[FL_NAME_MAX]; /* "" when given by index */
  int index;              /* -1 when given by name */
} fl_label_column;

typedef struct {
  fl_source_kind kind;
  /* Paths as written in the spec (relative to the spec file's folder). */
  char features[FL_PATH_MAX]; /* npy features, csv file, or idx images */
  char labels[FL_PATH_MAX];   /* npy labels or idx labels; "" for csv */
  int n_label_columns;        /* csv only, >= 1 */
  fl_label_column *label_columns; /* csv only; owned, freed by fl_spec_free */
  bool has_scale;
  float scale; /* multiplies features; 1 when absent */
  /* CSV: "header" (0 absent: detected, 1 true, 2 false; fl_csv_header's
   * values) and "delimiter" (0 absent: ','). */
  int csv_header;
  char delimiter;
} fl_data_source;

typedef enum {
  FL_PLATEAU_ALERT,
  FL_PLATEAU_STOP,
  FL_PLATEAU_REDUCE_LR,
  FL_PLATEAU_FIX,
} fl_plateau_action;

typedef struct {
  int patience;    /* default 3 */
  float min_delta; /* default 0.001, relative improvement */
  fl_plateau_action on_plateau; /* default alert */
} fl_monitor_spec;

/* "class_weight" (Keras' fit argument): each training row's loss (and
 * gradient) multiplied by its class's weight; validation is unweighted.
 * Explicit: {"0": 1.0, "3": 5.0}, unlisted classes weigh 1 (Keras 3);
 * "balanced": n_rows / (n_classes * rows of the class), scikit-learn's
 * formula, from the training rows. */
#define FL_MAX_CLASS_WEIGHTS 1024 /* explicit entries; keeps the spec flat */
typedef enum {
  FL_CLASS_WEIGHT_NONE,
  FL_CLASS_WEIGHT_EXPLICIT,
  FL_CLASS_WEIGHT_BALANCED,
} fl_class_weight_mode;

typedef struct {
  fl_class_weight_mode mode;
  int n;                               /* explicit entries */
  int cls[FL_MAX_CLASS_WEIGHTS];       /* class ids, each < last units */
  float weight[FL_MAX_CLASS_WEIGHTS];  /* finite, >= 0 */
} fl_class_weight_spec;

/* "callbacks": Keras callbacks that watch a metric at each epoch's end
 * (their logic: job/callbacks.c; docs/spec.md). */
#define FL_MAX_CALLBACKS 8
typedef enum {
  FL_CALLBACK_EARLY_STOPPING,       /* keras.callbacks.EarlyStopping */
  FL_CALLBACK_REDUCE_LR_ON_PLATEAU, /* keras.callbacks.ReduceLROnPlateau */
  FL_CALLBACK_MODEL_CHECKPOINT,     /* keras.callbacks.ModelCheckpoint */
} fl_callback_kind;

typedef enum {
  FL_METRIC_LOSS,
  FL_METRIC_ACCURACY,
  FL_METRIC_VAL_LOSS, /* Keras's default monitor */
  FL_METRIC_VAL_ACCURACY,
} fl_metric;

typedef enum {
  FL_MODE_AUTO, /* max for accuracies, min for losses (Keras's "auto") */
  FL_MODE_MIN,
  FL_MODE_MAX,
} fl_monitor_mode;

/* Keras defaults, per kind:
 *   early_stopping        monitor val_loss, min_delta 0, patience 0,
 *                         mode auto, restore_best_weights false,
 *                         start_from_epoch 0
 *   reduce_lr_on_plateau  monitor val_loss, factor 0.1, patience 10,
 *                         mode auto, min_delta 1e-4, cooldown 0, min_lr 0
 *   model_checkpoint      monitor val_loss, mode auto, save_best_only false */
typedef struct {
  fl_callback_kind kind;
  fl_metric monitor;
  fl_monitor_mode mode;
  int patience;
  double min_delta;          /* absolute, >= 0 */
  bool restore_best_weights; /* early_stopping */
  int start_from_epoch;      /* early_stopping: epochs not watched */
  double factor;             /* reduce_lr_on_plateau: (0, 1) */
  double min_lr;             /* reduce_lr_on_plateau: >= 0 */
  int cooldown;              /* reduce_lr_on_plateau */
  bool save_best_only;       /* model_checkpoint */
} fl_callback_spec;

typedef struct {
  char name[FL_NAME_MAX]; /* default "job" */
  fl_data_source train;
  fl_data_source validation; /* kind FL_SRC_NONE when absent */
  float validation_split;    /* [0, 1), default 0: last fraction of train */
  /* data.normalize: "standardize" (true) scales each feature by the
   * training rows' mean and standard deviation; "none"/absent: false. */
  bool standardize;
  int n_layers;
  fl_layer_spec layers[FL_MAX_LAYERS];
  fl_loss_spec loss;
  fl_optimizer_spec optimizer;
  int epochs;     /* >= 1, default 1 */
  int batch_size; /* >= 1, default 32 */
  uint64_t seed;  /* default 0 */
  bool shuffle;   /* default true */
  char device[FL_NAME_MAX]; /* "auto" (default), an index, or a name part */
  /* "init_from": a done job ("j17") whose trained weights start this one
   * (fine-tuning); "" when absent. The daemon checks owner, state and
   * architecture at submit. */
  char init_from[32]; /* FL_JOB_ID_MAX, defined below with the requests */
  fl_monitor_spec monitor;
  int n_callbacks;                             /* "callbacks", 0 by default */
  fl_callback_spec callbacks[FL_MAX_CALLBACKS];
  fl_class_weight_spec class_weight; /* mode NONE by default */
  /* "metrics": ["accuracy", "top_5_accuracy"] (Keras' compile metrics):
   * top-k accuracy in the end-of-job report; 0: not asked for. Accuracy,
   * per-class precision/recall/F1 and the confusion matrix are always
   * reported. */
  int top_k;
} fl_job_spec;

/* Parse and validate a spec. json need not be NUL-terminated. On error,
 * returns FL_ESPEC (or FL_EPARSE for malformed JSON, FL_ETOOBIG past the
 * caps) and err->msg names the key path and what was expected, e.g.
 * "model.layers[1].units: expected an integer from 1 to 65536, got -3".
 * On success *out is filled and must be released with fl_spec_free. */
int fl_spec_parse(const char *json, size_t len, fl_job_spec *out,
                  fl_error *err);

/* Release what fl_spec_parse allocated inside spec (not spec itself). Safe
 * on a zeroed spec, on one fl_spec_parse rejected, and twice. */
void fl_spec_free(fl_job_spec *spec);

/* Fill spec with every default of DESIGN.md §3 (name "job", adam, epochs 1,
 * batch_size 32, seed 0, shuffle, device "auto", monitor 3 / 0.001 / alert),
 * no layers and no data sources. Allocates nothing and frees nothing. */
void fl_spec_defaults(fl_job_spec *spec);

/* Set opt to kind with Keras's default hyper-parameters (listed above
 * fl_optimizer_spec); the fields that kind does not use are 0. Used by the
 * parser and by whoever switches a job's optimizer (e.g. an Adam probe). */
void fl_optimizer_defaults(fl_optimizer_spec *opt, fl_optimizer_kind kind);

/* Classes the model tells apart: 2 for binary_crossentropy (one output
 * unit), else the units of the last layer. */
int fl_spec_classes(const fl_job_spec *spec);

/* Names used in the spec, for messages ("relu", "adam", ...). */
const char *fl_activation_name(fl_activation a);
const char *fl_loss_name(fl_loss_kind l);
const char *fl_optimizer_name(fl_optimizer_kind o);
const char *fl_init_name(fl_init_kind i);
const char *fl_plateau_action_name(fl_plateau_action p);
const char *fl_callback_name(fl_callback_kind c); /* "early_stopping" */
const char *fl_metric_name(fl_metric m);          /* "val_loss" */

/* ---- JSON writer (protocol/json_writer.c) ----
 * Builds one JSON object per event line without exposing cJSON: keys and
 * string values are escaped, non-finite numbers become null (JSON has no
 * NaN). Errors (allocation) are sticky and reported by fl_jw_finish. */
typedef struct {
  char *buf;
  size_t len, cap;
  int failed;
  int depth;
  unsigned char first[FL_SPEC_MAX_DEPTH]; /* no element written yet */
} fl_jw;

void fl_jw_init(fl_jw *w);
void fl_jw_object_begin(fl_jw *w, const char *key); /* key NULL: top/array */
void fl_jw_object_end(fl_jw *w);
void fl_jw_array_begin(fl_jw *w, const char *key);
void fl_jw_array_end(fl_jw *w);
void fl_jw_str(fl_jw *w, const char *key, const char *v); /* v NULL: null */
void fl_jw_num(fl_jw *w, const char *key, double v);
void fl_jw_int(fl_jw *w, const char *key, long long v);
void fl_jw_bool(fl_jw *w, const char *key, bool v);
void fl_jw_null(fl_jw *w, const char *key);
/* Insert json, which the caller guarantees is one valid JSON value (e.g.
 * a stored event line or a validated spec). */
void fl_jw_raw(fl_jw *w, const char *key, const char *json);
/* Returns the NUL-terminated text (owned by the caller, free()) or NULL on
 * allocation failure or unbalanced nesting; resets w. */
char *fl_jw_finish(fl_jw *w);

/* ---- a job's events (DESIGN.md §6, a contract): the "event" value of
 * each, and the values of a verdict. The daemon's encoders (job/) and the
 * client's reader (client/) both spell them through these names. ---- */
#define FL_EVENT_PREFLIGHT "preflight"
#define FL_EVENT_EPOCH "epoch"
#define FL_EVENT_PROGRESS "progress"
#define FL_EVENT_DIAGNOSIS "diagnosis"
#define FL_EVENT_VERDICT "verdict"
#define FL_EVENT_FIX "fix"     /* on_plateau "fix": the fix applied */
#define FL_EVENT_FIXED "fixed" /* ... and the loss before and after */
#define FL_EVENT_END "end"
/* A callback acted (callbacks): early_stopping stopped the job,
 * reduce_lr_on_plateau lowered the learning rate, or the best epoch's
 * weights were restored at the end. */
#define FL_EVENT_CALLBACK "callback"
#define FL_VERDICT_IS_HEALTHY "healthy"
#define FL_VERDICT_IS_PROBLEM "problem"
#define FL_VERDICT_IS_UNEXPLAINED "unexplained"

/* ---- wire frames (protocol/frame.c; docs/protocol.md) ---- */
#define FL_PROTOCOL_VERSION 1
#define FL_VERSION_STRING "0.1.0" /* the build both hellos carry */
#define FL_FRAME_JSON 0
#define FL_FRAME_BINARY 1
#define FL_FRAME_HEADER 5                 /* 4-byte BE length + kind */
#define FL_FRAME_MAX_JSON (1u << 20)
#define FL_FRAME_MAX_BINARY (4u << 20)

typedef struct {
  uint8_t header[FL_FRAME_HEADER];
  size_t header_have;
  uint8_t kind;
  uint32_t len;
  uint8_t *payload; /* grows to the largest frame seen, capped */
  size_t payload_cap, payload_have;
} fl_frame_decoder;

typedef struct {
  uint8_t kind;
  const uint8_t *data; /* valid until the next fl_frame_decode call */
  size_t len;
} fl_frame;

void fl_frame_decoder_init(fl_frame_decoder *d);
void fl_frame_decoder_free(fl_frame_decoder *d);
/* Consume bytes of buf[0..len) (*used says how many). Returns 1 with *frame
 * set when a frame completed, 0 when more bytes are needed (all consumed),
 * or a negative code (FL_ETOOBIG past the caps, FL_EPARSE for an unknown
 * kind) with err naming the problem; the peer must then get an error frame
 * and be disconnected. The length is checked before anything is allocated. */
int fl_frame_decode(fl_frame_decoder *d, const uint8_t *buf, size_t len,
                    size_t *used, fl_frame *frame, fl_error *err);
void fl_frame_header(uint8_t kind, uint32_t len, uint8_t out[FL_FRAME_HEADER]);

/* ---- requests (protocol/request.c) ---- */
#define FL_SHA256_HEX 65 /* 64 hex digits + NUL */
#define FL_MAX_REQUEST_FILES 64
#define FL_MAX_BLOB_CHECK 1024
#define FL_JOB_ID_MAX 32
#define FL_REQUEST_MAX_DEPTH 8 /* JSON nesting of a request (it uses 2) */

typedef enum {
  FL_REQ_HELLO,
  FL_REQ_BLOB_CHECK,
  FL_REQ_BLOB_PUT,
  FL_REQ_SUBMIT,
  FL_REQ_CHECK,
  FL_REQ_FOLLOW,
  FL_REQ_LIST,
  FL_REQ_SHOW,
  FL_REQ_CANCEL,
  FL_REQ_DEVICES,
  FL_REQ_EXPORT,
  FL_REQ_PREDICT,
  FL_REQ_LOG,    /* issue 14: queue control (docs/protocol.md) */
  FL_REQ_WAIT,
  FL_REQ_RM,
  FL_REQ_GROUP,  /* issue 15: a sweep's summary */
} fl_request_type;

typedef struct {
  char path[FL_PATH_MAX];       /* as written in the spec */
  char sha256[FL_SHA256_HEX];   /* lowercase hex */
} fl_file_ref;

/* `list` replies in pages: at most this many jobs (and at most about
 * FL_FRAME_MAX_JSON / 2 bytes) per reply, with `next` naming the page
 * after; so that no number of jobs or length of names can push a reply
 * past the frame cap. */
#define FL_LIST_PAGE_MAX 1000

/* `wait` names at most this many jobs (a client waiting for more sends
 * several waits); the daemon keeps one result line per id while it waits. */
#define FL_WAIT_MAX_JOBS 1000
/* submit's "priority": orders a user's own queued jobs (higher first). */
#define FL_PRIORITY_MIN (-1000)
#define FL_PRIORITY_MAX 1000
/* Sweeps (issue 15): jobs submitted together form a group, "g" + the
 * number of its first job. A group holds at most FL_GROUP_MAX_JOBS jobs
 * (a grid that large is already a day of a GPU's time; more is split by
 * hand); one job's "sweep" (the grid point: key path -> JSON scalar) has
 * at most FL_SWEEP_MAX_KEYS keys of at most FL_SWEEP_KEY_MAX - 1 bytes,
 * string values at most FL_SWEEP_VALUE_MAX - 1 bytes. These caps bound
 * the daemon's `group` reply well under one frame. */
#define FL_GROUP_MAX_JOBS 256
#define FL_SWEEP_MAX_KEYS 8
#define FL_SWEEP_KEY_MAX 64
#define FL_SWEEP_VALUE_MAX 64
/* k[0..n) is a sweep key: a spec key path of letters, digits, '_' and
 * '.', no empty segment, under FL_SWEEP_KEY_MAX bytes (protocol/request.c;
 * client/sweep.c checks --sweep with it too). */
bool fl_sweep_key_valid(const char *k, size_t n);

/* A decoded client request. Owned pointers are freed by fl_request_free. */
typedef struct {
  fl_request_type type;
  int64_t id;                   /* 0 for hello */
  int protocol;                 /* hello */
  char build[128];              /* hello */
  char job[FL_JOB_ID_MAX];      /* follow, show, cancel, export, log, rm;
                                   list: after */
  int limit;                    /* list: page size, 0 when not given */
  char sha256[FL_SHA256_HEX];   /* blob_put */
  uint64_t size;                /* blob_put */
  int n_blobs;                  /* blob_check */
  char (*blobs)[FL_SHA256_HEX];
  char *spec_text;              /* submit, check: NUL-terminated */
  size_t spec_len;
  int n_files;                  /* submit, check */
  fl_file_ref *files;
  bool follow;                  /* submit */
  int priority;                 /* submit: FL_PRIORITY_MIN..MAX, 0 default */
  char after[FL_JOB_ID_MAX];    /* submit: run once this job is done; "" */
  char group[FL_JOB_ID_MAX];    /* submit: "new" (start a group), or the
                                   group "gN" to join; "" none. list: only
                                   that group's jobs. group: the group */
  char *sweep;                  /* submit: the grid point, compact JSON
                                   {key path: scalar}, or NULL */
  bool all;                     /* cancel: every queued/running job of yours */
  int n_jobs;                   /* wait: 1..FL_WAIT_MAX_JOBS ids */
  char (*jobs)[FL_JOB_ID_MAX];
  /* predict: the data as uploaded blobs (features in sha256 above), its
   * form ("npy", "csv" or "idx"), a name for messages, and whether to
   * evaluate (loss, accuracy, confusion matrix) instead of predicting. */
  char form[8];
  char labels_sha256[FL_SHA256_HEX]; /* "" when absent */
  char data_name[FL_PATH_MAX];
  bool evaluate;
} fl_request;

/* Parse one JSON frame payload as a request: strict like the spec parser
 * (unknown keys, wrong types, bad hex are FL_EPARSE/FL_EINVAL with a
 * message naming the key). The id, when present and valid, is set in *out
 * even on error so that the reply can echo it. */
int fl_request_parse(const uint8_t *json, size_t len, fl_request *out,
                     fl_error *err);
void fl_request_free(fl_request *r);
const char *fl_request_type_name(fl_request_type t);

/* ---- reading JSON replies and events (protocol/json_view.c) ----
 * A read-only view for the client: parse once (bounded, depth-capped), look
 * fields up, print a value back compactly. Wraps cJSON without exposing it. */
typedef struct fl_json fl_json;

#define FL_JSON_MAX_DEPTH 32 /* nesting of a reply or event */
#define FL_JSON_MAX_BYTES FL_FRAME_MAX_JSON

/* NULL on error: FL_EPARSE (malformed JSON, bad UTF-8, trailing text) or
 * FL_ETOOBIG (past FL_JSON_MAX_BYTES or FL_JSON_MAX_DEPTH) in err. Any JSON
 * value is accepted at the top. */
fl_json *fl_json_parse(const char *text, size_t len, fl_error *err);
/* As fl_json_parse with another nesting cap, and messages that start with
 * `what` ("request: not valid JSON near byte 3 (line 1, column 4): ..."). */
fl_json *fl_json_parse_capped(const char *text, size_t len, int max_depth,
                              const char *what, fl_error *err);
void fl_json_free(fl_json *root);
const fl_json *fl_json_get(const fl_json *obj, const char *key);
const char *fl_json_string(const fl_json *v);          /* NULL: not a string */
bool fl_json_number(const fl_json *v, double *out);    /* false: not a number */
bool fl_json_bool(const fl_json *v, bool *out);
bool fl_json_is_null(const fl_json *v);
size_t fl_json_array_size(const fl_json *v);            /* 0: not an array */
const fl_json *fl_json_array_at(const fl_json *v, size_t i);
char *fl_json_print(const fl_json *v);                  /* malloc'd, compact */

/* ---- SHA-256 of blobs (protocol/sha256.c, OpenSSL libcrypto) ---- */
typedef struct fl_sha256 fl_sha256;
fl_sha256 *fl_sha256_new(void);
void fl_sha256_update(fl_sha256 *h, const void *data, size_t len);
/* Writes the lowercase hex digest and frees h. */
void fl_sha256_final(fl_sha256 *h, char hex[FL_SHA256_HEX]);
int fl_sha256_file(const char *path, char hex[FL_SHA256_HEX], uint64_t *size,
                   fl_error *err);
bool fl_sha256_hex_valid(const char *hex);

/* ---- a blocking client connection (protocol/conn.c) ---- */
typedef struct {
  int fd;
  fl_frame_decoder dec;
  uint8_t buf[65536];
  size_t have, off;
  char peer_build[128];
} fl_conn;

/* Connect to the daemon's Unix socket and exchange hellos. Errors name the
 * socket path and the likely fix (daemon not running, permissions). */
int fl_conn_connect(fl_conn *c, const char *socket_path, fl_error *err);
int fl_conn_send_json(fl_conn *c, const char *json, fl_error *err);
int fl_conn_send_binary(fl_conn *c, const void *data, size_t len,
                        fl_error *err);
/* Blocks for the next frame; frame data valid until the next call. */
int fl_conn_recv(fl_conn *c, fl_frame *frame, fl_error *err);
void fl_conn_close(fl_conn *c);

/* ---- RFC 7386 JSON merge patch (protocol/merge_patch.c) ----
 * Applies patch to doc (both JSON texts); *out is malloc'd compact JSON.
 * Used for diagnosed fixes: `flatline show --fixed-spec` and
 * monitor.on_plateau = "fix". */
int fl_json_merge_patch(const char *doc, size_t doc_len, const char *patch,
                        char **out, fl_error *err);

/* ---- one value at a dotted key path (protocol/json_path.c) ----
 * Puts value_json (a JSON text) at path ("optimizer.learning_rate",
 * "model.layers.0.units": digits index arrays) of doc; *out is malloc'd
 * compact JSON. Missing object keys are created (*existed false), array
 * elements must exist; FL_EINVAL names the segment that does not fit.
 * Used by sweeps (client/sweep.c). */
int fl_json_set_path(const char *doc, size_t doc_len, const char *path,
                     const char *value_json, char **out, bool *existed,
                     fl_error *err);

#ifdef __cplusplus
}
#endif
#endif
