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
  fl_initializer kernel_init; /* default glorot_uniform */
  fl_initializer bias_init;   /* default zeros */
} fl_layer_spec;

typedef enum {
  FL_LOSS_CATEGORICAL_CE,        /* one-hot / probability labels (N,K) */
  FL_LOSS_SPARSE_CATEGORICAL_CE, /* class ids (N,) */
  FL_LOSS_MSE,                   /* mean_squared_error */
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
typedef struct {
  fl_optimizer_kind kind;
  float learning_rate;
  float momentum; /* sgd, rmsprop */
  bool nesterov;  /* sgd */
  float beta_1, beta_2, epsilon;
  float rho;          /* rmsprop */
  float weight_decay; /* adamw */
} fl_optimizer_spec;

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

typedef struct {
  char name[FL_NAME_MAX]; /* default "job" */
  fl_data_source train;
  fl_data_source validation; /* kind FL_SRC_NONE when absent */
  float validation_split;    /* [0, 1), default 0: last fraction of train */
  int n_layers;
  fl_layer_spec layers[FL_MAX_LAYERS];
  fl_loss_spec loss;
  fl_optimizer_spec optimizer;
  int epochs;     /* >= 1, default 1 */
  int batch_size; /* >= 1, default 32 */
  uint64_t seed;  /* default 0 */
  bool shuffle;   /* default true */
  char device[FL_NAME_MAX]; /* "auto" (default), an index, or a name part */
  fl_monitor_spec monitor;
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

/* Names used in the spec, for messages ("relu", "adam", ...). */
const char *fl_activation_name(fl_activation a);
const char *fl_loss_name(fl_loss_kind l);
const char *fl_optimizer_name(fl_optimizer_kind o);
const char *fl_init_name(fl_init_kind i);
const char *fl_plateau_action_name(fl_plateau_action p);

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
/* Returns the NUL-terminated text (owned by the caller, free()) or NULL on
 * allocation failure or unbalanced nesting; resets w. */
char *fl_jw_finish(fl_jw *w);

#ifdef __cplusplus
}
#endif
#endif
