/* protocol/spec_internal.h — what the job-spec parser's files share and
 * nothing outside protocol/ includes: the lexical pre-scan (json_scan.c),
 * key paths and messages (json_message.c), the strict cJSON accessors
 * (json_strict.c), the enum name tables (spec_names.c) and the per-section
 * decoders (spec_data.c, spec_model.c, spec_train.c).
 *
 * Conventions of every decoder and accessor here:
 *   - `path` is the key path of the object being decoded, "" for the document
 *     ("model.layers[1]"); messages start with the path of the offending key.
 *   - They return 0 (or 1, see fl__get_*) on success, FL_ESPEC / FL_ENOMEM
 *     with err set on failure. */
#ifndef FL_PROTOCOL_SPEC_INTERNAL_H
#define FL_PROTOCOL_SPEC_INTERNAL_H

#include <cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "flatline/protocol.h"

#define FL__ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Enough for the deepest known path ("data.validation.label_columns[4095]",
 * "model.layers[31].kernel_initializer.stddev"); an unknown key is cut to
 * fit, so no path is ever truncated silently in the middle of a known name. */
#define FL__KEYPATH_MAX 192

/* ---- enum names: one list each, so names and values cannot drift ------- */

#define FL__ACTIVATION_LIST(X)       \
  X(FL_ACT_LINEAR, "linear")         \
  X(FL_ACT_RELU, "relu")             \
  X(FL_ACT_LEAKY_RELU, "leaky_relu") \
  X(FL_ACT_TANH, "tanh")             \
  X(FL_ACT_SIGMOID, "sigmoid")       \
  X(FL_ACT_SOFTMAX, "softmax")

#define FL__LOSS_LIST(X)                                              \
  X(FL_LOSS_CATEGORICAL_CE, "categorical_crossentropy")               \
  X(FL_LOSS_SPARSE_CATEGORICAL_CE, "sparse_categorical_crossentropy") \
  X(FL_LOSS_MSE, "mean_squared_error")                                \
  X(FL_LOSS_BINARY_CE, "binary_crossentropy")

#define FL__OPTIMIZER_LIST(X)  \
  X(FL_OPT_SGD, "sgd")         \
  X(FL_OPT_ADAM, "adam")       \
  X(FL_OPT_RMSPROP, "rmsprop") \
  X(FL_OPT_ADAMW, "adamw")

#define FL__INIT_LIST(X)                      \
  X(FL_INIT_GLOROT_UNIFORM, "glorot_uniform") \
  X(FL_INIT_GLOROT_NORMAL, "glorot_normal")   \
  X(FL_INIT_HE_NORMAL, "he_normal")           \
  X(FL_INIT_HE_UNIFORM, "he_uniform")         \
  X(FL_INIT_ZEROS, "zeros")                   \
  X(FL_INIT_ONES, "ones")                     \
  X(FL_INIT_RANDOM_NORMAL, "random_normal")   \
  X(FL_INIT_RANDOM_UNIFORM, "random_uniform") \
  X(FL_INIT_CONSTANT, "constant")

#define FL__PLATEAU_LIST(X)            \
  X(FL_PLATEAU_ALERT, "alert")         \
  X(FL_PLATEAU_STOP, "stop")           \
  X(FL_PLATEAU_REDUCE_LR, "reduce_lr") \
  X(FL_PLATEAU_FIX, "fix")

#define FL__CALLBACK_LIST(X)                                  \
  X(FL_CALLBACK_EARLY_STOPPING, "early_stopping")             \
  X(FL_CALLBACK_REDUCE_LR_ON_PLATEAU, "reduce_lr_on_plateau") \
  X(FL_CALLBACK_MODEL_CHECKPOINT, "model_checkpoint")

#define FL__METRIC_LIST(X)              \
  X(FL_METRIC_LOSS, "loss")             \
  X(FL_METRIC_ACCURACY, "accuracy")     \
  X(FL_METRIC_VAL_LOSS, "val_loss")     \
  X(FL_METRIC_VAL_ACCURACY, "val_accuracy")

typedef struct {
  const char *name;
  int value;
} fl__enum_entry;

typedef struct {
  const fl__enum_entry *entries;
  size_t count;
} fl__enum_table;

extern const fl__enum_table fl__activation_table;
extern const fl__enum_table fl__loss_table;
extern const fl__enum_table fl__optimizer_table;
extern const fl__enum_table fl__init_table;
extern const fl__enum_table fl__plateau_table;
extern const fl__enum_table fl__callback_table;
extern const fl__enum_table fl__metric_table;

/* ---- lexical pre-scan (json_scan.c) ------------------------------------ */

/* Checks what cJSON does not before cJSON allocates anything: nesting depth
 * (FL_ETOOBIG past max_depth), strings (UTF-8, escapes, no raw control
 * characters, no \u0000 that would cut a C string short), number grammar,
 * and stray control bytes. Returns 0 or FL_EPARSE / FL_ETOOBIG with
 * "spec: ... near byte N (line L, column C)". *open_at_end is how many
 * objects and arrays were still open at the end (> 0: the input is cut). */
int fl__json_scan(const char *json, size_t len, int max_depth, int *open_at_end,
                  fl_error *err);

/* "byte 57 (line 3, column 12)" for a 0-based byte offset into json. */
void fl__json_where(const char *json, size_t len, size_t offset, char *buf,
                    size_t size);

/* ---- key paths and messages (json_message.c) --------------------------- */

/* out = parent + "." + key, or parent + "[\"odd key\"]" for a key that is not
 * a plain identifier (escaped and cut, so a hostile key stays printable). */
void fl__path_key(char out[FL__KEYPATH_MAX], const char *parent,
                  const char *key);
/* out = parent + "[index]". */
void fl__path_index(char out[FL__KEYPATH_MAX], const char *parent, int index);

/* A JSON value as a message shows it: -3, 3.5, "relu", true, null,
 * an array, an object. Strings are escaped and cut at a UTF-8 boundary. */
void fl__describe(const cJSON *item, char *buf, size_t size);

/* err = "<path>: <printf text>" with code FL_ESPEC; returns FL_ESPEC.
 * The document itself ("" path) is called "spec". */
int fl__fail(fl_error *err, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* err = "<path>: expected <expected>, got <value>"; returns FL_ESPEC. */
int fl__expected(fl_error *err, const char *path, const char *expected,
                 const cJSON *got);

/* err = "<parent>.<key>: required key is missing (expected <expected>)". */
int fl__missing(fl_error *err, const char *parent, const char *key,
                const char *expected);

/* The candidate closest to word (case-insensitive edit distance, a known
 * alias such as "lr", or a prefix), or NULL when none is close enough. */
const char *fl__suggest(const char *word, const char *const *candidates,
                        size_t n);

/* ---- strict accessors (json_strict.c) ---------------------------------- */

/* True when key is one of keys[0..n). */
bool fl__key_in(const char *key, const char *const *keys, size_t n);

/* obj must be an object whose keys are all in keys[] (at most 64), none
 * given twice. Unknown keys get a did-you-mean hint or the allowed list. */
int fl__check_object(const cJSON *obj, const char *path,
                     const char *const *keys, size_t n_keys, fl_error *err);

/* A closed/open interval for a float parameter; lo = -HUGE_VAL or
 * hi = HUGE_VAL leave that side open-ended (the value must still fit a
 * finite float32, since that is what the engine computes with). */
typedef struct {
  double lo, hi;
  bool lo_open, hi_open;
} fl__range;

/* True when item is a JSON number holding an integer in [lo, hi] (3, 3.0
 * and 3e0 are the same integer; 3.5 and 1e400 are none). */
bool fl__is_int_in(const cJSON *item, int64_t lo, int64_t hi);

/* Conversions of one value whose key path is known. 0 or FL_ESPEC. */
int fl__as_int64(const cJSON *item, const char *path, int64_t lo, int64_t hi,
                 int64_t *out, fl_error *err);
int fl__as_float(const cJSON *item, const char *path, const fl__range *range,
                 float *out, fl_error *err);
/* A non-empty string shorter than size bytes, without control characters
 * (names and paths end up in terminals and logs); `what` names it in the
 * message ("a file path"). */
int fl__as_text(const cJSON *item, const char *path, const char *what,
                char *out, size_t size, fl_error *err);
/* A string among table's names, with a did-you-mean hint otherwise. */
int fl__as_enum(const cJSON *item, const char *path,
                const fl__enum_table *table, int *out, fl_error *err);

/* Member accessors: look key up in obj (case-sensitive; fl__check_object has
 * already ruled out duplicates) and convert it. Return 1 when present and
 * stored, 0 when absent and optional (out untouched, so defaults stay),
 * negative on error (including absent and required). */
int fl__get_int(const cJSON *obj, const char *path, const char *key,
                bool required, int lo, int hi, int *out, fl_error *err);
int fl__get_int64(const cJSON *obj, const char *path, const char *key,
                  bool required, int64_t lo, int64_t hi, int64_t *out,
                  fl_error *err);
int fl__get_float(const cJSON *obj, const char *path, const char *key,
                  bool required, const fl__range *range, float *out,
                  fl_error *err);
int fl__get_bool(const cJSON *obj, const char *path, const char *key,
                 bool required, bool *out, fl_error *err);
int fl__get_text(const cJSON *obj, const char *path, const char *key,
                 bool required, const char *what, char *out, size_t size,
                 fl_error *err);
int fl__get_enum(const cJSON *obj, const char *path, const char *key,
                 bool required, const fl__enum_table *table, int *out,
                 fl_error *err);

/* ---- section decoders (one per sub-object) ----------------------------- */

/* spec_data.c: "data" into spec->train, ->validation, ->validation_split. */
int fl__decode_data(const cJSON *item, const char *path, fl_job_spec *spec,
                    fl_error *err);
/* spec_model.c: "model" into spec->layers / n_layers. */
int fl__decode_model(const cJSON *item, const char *path, fl_job_spec *spec,
                     fl_error *err);
/* spec_train.c: "loss", "optimizer", "monitor". */
int fl__decode_loss(const cJSON *item, const char *path, fl_loss_spec *loss,
                    fl_error *err);
int fl__decode_optimizer(const cJSON *item, const char *path,
                         fl_optimizer_spec *opt, fl_error *err);
int fl__decode_monitor(const cJSON *item, const char *path,
                       fl_monitor_spec *monitor, fl_error *err);
/* spec_train.c: "metrics" into spec->top_k; after the model and loss. */
int fl__decode_metrics(const cJSON *item, const char *path, fl_job_spec *spec,
                       fl_error *err);
/* spec_train.c: "class_weight"; k = classes (fl_spec_classes). */
int fl__decode_class_weight(const cJSON *item, const char *path, int k,
                            fl_class_weight_spec *cw, fl_error *err);

/* spec_callbacks.c: "callbacks" (after data and optimizer are decoded:
 * val_* monitors need validation data, reduce_lr_on_plateau no schedule),
 * and a "learning_rate" schedule object into opt->schedule. */
int fl__decode_callbacks(const cJSON *item, const char *path,
                         fl_job_spec *spec, fl_error *err);
int fl__decode_schedule(const cJSON *item, const char *path,
                        fl_optimizer_spec *opt, fl_error *err);

#endif
