/* flatline/engine.h — OpenCL devices and the training of dense multiclass
 * classifiers on them (CLBlast GEMMs plus flatline's own kernels).
 *
 * The engine knows nothing of sockets, jobs or users: it takes a model
 * description (the layer/loss/optimizer vocabulary of flatline/protocol.h),
 * datasets already in host memory, and trains one epoch per call, returning
 * the per-epoch metrics that diagnosis reads (DESIGN.md §4 stage 2). */
#ifndef FLATLINE_ENGINE_H
#define FLATLINE_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "flatline/common.h"
#include "flatline/data.h"
#include "flatline/protocol.h"

#ifdef __cplusplus
extern "C" {
#endif

#define FL_MAX_DEVICES 16

typedef struct {
  int index;              /* position in fl_devices_list order */
  char name[256];
  char platform[256];
  char vendor[128];
  bool is_gpu;
  bool is_cpu;
  uint64_t global_mem;    /* bytes */
  uint64_t max_alloc;     /* largest single buffer, bytes */
  unsigned compute_units;
} fl_device_info;

/* Every OpenCL device on every platform, GPUs and CPUs. Returns the count
 * (0 is not an error here) or a negative code. */
int fl_devices_list(fl_device_info *out, int max, fl_error *err);

/* Resolve a spec's "device" string: "auto" (first GPU, else the first CPU
 * device, i.e. POCL), a decimal index, or a case-insensitive name part. */
int fl_device_resolve(const fl_device_info *devs, int n, const char *want,
                      int *index, fl_error *err);

/* A device opened for training: context, in-order queue and the flatline
 * program, built once and kept for the handle's life. Not thread-safe: one
 * thread (the daemon's worker for that device) uses a handle at a time. */
typedef struct fl_device fl_device;

int fl_device_open(int index, fl_device **out, fl_error *err);
void fl_device_close(fl_device *dev);
const fl_device_info *fl_device_get_info(const fl_device *dev);
/* Let jobs on dev use at most `bytes` of its memory (the service gives a
 * CPU device, whose memory is the machine's RAM, only a share of it). The
 * estimate that rejects a too-big job before it starts uses this figure. */
void fl_device_limit_memory(fl_device *dev, uint64_t bytes);

/* Device-time profile by OpenCL event profiling, for benchmarks
 * (`flatlined --run SPEC --profile`): start replaces the device's queue with
 * a profiling one (call it while the device is idle, before creating a
 * trainer) and zeroes the counters; from then on every op waits for its
 * event, so wall time grows by one round trip per op while device times
 * stay exact. read fills up to max entries, one per op that ran, in
 * decreasing time, and returns how many. */
typedef struct {
  const char *name; /* kernel name, "CLBlastSgemm" or "transfers+fills" */
  double seconds;   /* summed device time */
  long calls;
} fl_profile_entry;

int fl_device_profile_start(fl_device *dev, fl_error *err);
int fl_device_profile_read(const fl_device *dev, fl_profile_entry *out, int max);

/* What a trainer needs to know about the model and how to fit it. */
typedef struct {
  size_t input_dim;             /* features per row (D) */
  int n_layers;
  const fl_layer_spec *layers;  /* n_layers, last one's units = classes */
  fl_loss_spec loss;
  fl_optimizer_spec optimizer;
  int batch_size;
  uint64_t seed;
  bool shuffle;
  /* Per-class loss weights (the spec's class_weight); NULL or mode NONE:
   * none. Read by fl_trainer_create only. Dropout and kernel_regularizer
   * come with the layers. */
  const fl_class_weight_spec *class_weight;
} fl_train_config;

/* Bytes of device memory a job needs: the training and validation sets,
 * parameters with gradients and optimizer state, per-batch activations and
 * scratch. */
uint64_t fl_train_memory_estimate(const fl_train_config *cfg, size_t n_train,
                                  size_t n_val);

/* Per-epoch metrics, reduced on the device and read once per epoch. */
typedef struct {
  int epoch;               /* 1-based */
  double loss, accuracy;   /* mean over the epoch's training batches */
  bool has_val;
  double val_loss, val_accuracy;
  double lr;
  double seconds, samples_per_s;
  double first_batch_loss; /* loss of the first batch before any update */
  int n_layers;
  /* Sampled on a few steps per epoch, averaged (root-mean-square):
   * ||dL/dθ_l||, ||θ_l||, and ||Δθ_l|| / ||θ_l|| (θ_l = W_l and b_l). */
  double grad_norm[FL_MAX_LAYERS];
  double weight_norm[FL_MAX_LAYERS];
  double update_ratio[FL_MAX_LAYERS];
  /* Over all training rows of the epoch: fraction of a ReLU layer's units
   * never positive; fraction of tanh/sigmoid activations saturated
   * (|tanh| > 0.99, sigmoid < 0.01 or > 0.99). -1 where not applicable. */
  double dead_fraction[FL_MAX_LAYERS];
  double saturated_fraction[FL_MAX_LAYERS];
  size_t n_classes;
  const uint32_t *pred_hist; /* (n_classes) train predictions by argmax;
                                owned by the trainer, valid until the next
                                epoch */
  bool nonfinite_loss, nonfinite_weights, nonfinite_grads;
} fl_epoch_metrics;

typedef struct fl_trainer fl_trainer;

/* Upload the datasets (features, labels) and initialized parameters to the
 * device. Checks labels against the model (class ids in range, one-hot width
 * = output units: FL_ELABELS) and memory (FL_EDEVMEM) before allocating.
 * val may be NULL. The datasets are copied; the caller keeps ownership. */
int fl_trainer_create(fl_device *dev, const fl_train_config *cfg,
                      const fl_dataset *train, const fl_dataset *val,
                      fl_trainer **out, fl_error *err);

/* Train one epoch (and evaluate on the validation set when there is one). */
int fl_trainer_run_epoch(fl_trainer *t, fl_epoch_metrics *m, fl_error *err);

/* Loss and accuracy of the current parameters on a dataset (forward only). */
int fl_trainer_evaluate(fl_trainer *t, const fl_dataset *ds, double *loss,
                        double *accuracy, fl_error *err);

/* End-of-job classification report (issue 12): the current parameters
 * on the validation set when the trainer has one, else on the training
 * rows (in stored order), forward only. confusion (C, C): rows the true
 * class, columns the predicted one (argmax, as accuracy counts; for
 * binary_crossentropy p > 0.5), C = classes (2 for binary_crossentropy).
 * With top_k > 0, top_k_correct counts rows whose true class has fewer
 * than top_k classes scoring above it (Keras' in_top_k). */
typedef struct {
  size_t n_classes;       /* C */
  uint64_t rows;
  bool on_validation;
  int top_k;              /* 0: not counted */
  uint64_t top_k_correct;
  uint64_t *confusion;    /* (C, C), malloc'd: fl_class_report_free */
} fl_class_report;

int fl_trainer_class_report(fl_trainer *t, int top_k, fl_class_report *out,
                            fl_error *err);
void fl_class_report_free(fl_class_report *r);
/* Precision, recall and F1 of class c from r's confusion matrix; 0 where
 * the denominator is 0 (scikit-learn's zero_division=0). support: rows of
 * class c. */
void fl_class_report_scores(const fl_class_report *r, size_t c,
                            double *precision, double *recall, double *f1,
                            uint64_t *support);

int fl_trainer_set_learning_rate(fl_trainer *t, float lr);

/* Number of the model's floats, and a copy of them: for each layer W_l
 * (in, out) row-major, b_l (out), then with batch normalization gamma_l
 * and beta_l (out each, when scale / center); after all layers, the
 * moving mean and moving variance (out each) of each normalized layer
 * (not trained, but part of the model). */
size_t fl_trainer_param_count(const fl_trainer *t);
int fl_trainer_get_params(fl_trainer *t, float *host, size_t n, fl_error *err);

/* Replace the parameters (n = fl_trainer_param_count, the layout of
 * fl_trainer_get_params): a trained model's, for predict and fine-tuning. */
int fl_trainer_set_params(fl_trainer *t, const float *host, size_t n,
                          fl_error *err);
/* Class probabilities of the current parameters on ds's features:
 * probs (ds->n, K) row-major, K = output units (the softmax of the logits
 * for a softmax or from_logits output; the output itself otherwise);
 * binary_crossentropy's one unit gives K = 2 columns, (1 - p, p) with p =
 * P(class 1) (fl_spec_classes).
 * Labels are not read. Forward only, in batches of the job's size. */
int fl_trainer_predict(fl_trainer *t, const fl_dataset *ds, float *probs,
                       fl_error *err);

/* Progress within an epoch: fn is called at most every `every_seconds`
 * (after the queued steps have run, so it reports real progress; this is the
 * only host sync inside an epoch, and only when asked for). A non-zero
 * return aborts the epoch with FL_ECANCELED; parameters are then mid-epoch
 * and the caller should restore the last checkpoint before going on. */
typedef int (*fl_progress_fn)(void *ctx, int epoch, size_t step, size_t steps);
void fl_trainer_set_progress(fl_trainer *t, fl_progress_fn fn, void *ctx,
                             double every_seconds);

/* Checkpoint: all a trainer needs to continue bit-identically from an epoch
 * boundary (parameters, optimizer state, step and epoch counters, learning
 * rate, RNG state, first-batch loss). A versioned binary with a magic
 * number and a checksum; loading checks that it fits this trainer's model.
 * *buf is malloc'd. */
int fl_trainer_save_checkpoint(fl_trainer *t, uint8_t **buf, size_t *len,
                               fl_error *err);
int fl_trainer_load_checkpoint(fl_trainer *t, const uint8_t *buf, size_t len,
                               fl_error *err);
int fl_trainer_epoch(const fl_trainer *t); /* epochs completed */

/* The trained model as safetensors (docs/model-format.md): tensors
 * "layers.N.kernel" (in, out) and "layers.N.bias" (out), F32
 * little-endian; __metadata__ holds "format": "tf" (Keras layout), each
 * layer's activation and the format version. *buf is malloc'd. */
int fl_trainer_export_safetensors(fl_trainer *t, uint8_t **buf, size_t *len,
                                  fl_error *err);
/* The same with extra __metadata__ string entries (NULL key or value:
 * skipped), e.g. the class names and the preprocessing of the job. */
typedef struct {
  const char *key;
  const char *value;
} fl_export_meta;
int fl_trainer_export_safetensors_ex(fl_trainer *t, const fl_export_meta *extra,
                                     int n_extra, uint8_t **buf, size_t *len,
                                     fl_error *err);

void fl_trainer_destroy(fl_trainer *t);

/* ---- the best epoch's parameters and the job's callback state
 * (engine/train_extras.c), for Keras callbacks (early_stopping's
 * restore_best_weights, model_checkpoint's save_best_only). Checkpoints
 * carry both, so a resumed job restores the same best epoch. */
/* Copy the current parameters aside as the kept ones (of epoch `epoch`). */
int fl_trainer_keep_params(fl_trainer *t, int epoch, fl_error *err);
/* Put the kept parameters back; FL_EINVAL when none were kept. The
 * optimizer state is left as it is: this is for the end of training. */
int fl_trainer_restore_kept_params(fl_trainer *t, fl_error *err);
/* Epoch of the kept parameters; 0 when none are kept. */
int fl_trainer_kept_epoch(const fl_trainer *t);
/* A line of text (the job's callback state) kept with the trainer and its
 * checkpoints: set copies text (NULL clears it); get returns NULL when
 * none is set (or the loaded checkpoint had none). */
int fl_trainer_set_note(fl_trainer *t, const char *text, fl_error *err);
const char *fl_trainer_note(const fl_trainer *t);


/* ---- GEMM tuning (engine/tune.c) -------------------------------------------
 * A device runs its GEMMs through CLBlast or, on CPU devices, through
 * flatline's register-tiled kernels; CLBlast itself has tunable kernels
 * ("Xgemm" behind padding/copy kernels: its indirect GEMM; "XgemmDirect":
 * one kernel, for small sizes) and a switch between the two
 * (XGEMM_MIN_INDIRECT_SIZE: direct when m*n*k is below its cube).
 * fl_tune_search times the candidates on the GEMM shapes the trainer issues
 * for typical jobs and picks; fl_tune_apply puts a result into effect on an
 * open device. A result is plain data; fl_tune_to_json / fl_tune_from_json
 * turn it into the cache file the daemon keeps in <cache dir>/tune/.
 *
 * CLBlast keeps parameter overrides per device for the whole process and
 * cannot go back to its built-in parameters, so a search leaves the
 * process's CLBlast with the last parameters it tried (fl_tune_apply then
 * sets the chosen ones, but cannot restore "CLBlast's own"). A long-lived
 * process should search in a child process and load the result. */

#define FL_TUNE_MAX_SHAPES 40
#define FL_TUNE_MAX_CANDIDATES 16
#define FL_TUNE_MAX_PARAMS 16
#define FL_TUNE_MAX_OVERRIDES 3
#define FL_TUNE_KEY_MAX 96

/* The trainer's three GEMM forms for a dense layer (in -> out) at batch B:
 * NN forward (B, out, in), TN weight gradient (in, out, B), NT input
 * gradient (B, in, out). */
typedef enum { FL_TUNE_NN, FL_TUNE_TN, FL_TUNE_NT } fl_tune_form;

typedef struct {
  fl_tune_form form;
  size_t m, n, k;
  size_t batch; /* rows of the batch: a call's time / batch = its cost per
                   training row, which is what the search minimises */
} fl_tune_shape;

typedef struct {
  char name[12];     /* short, for table columns: "t6x16", "cl-dir" */
  char detail[96];   /* what it is: the parameters it sets */
  /* Median seconds per call on shapes[i]; 0 where the candidate does not
   * run that form (tiled NN/TN variants never run NT, and so on). */
  double seconds[FL_TUNE_MAX_SHAPES];
  bool failed;       /* did not build, failed, or computed wrong results */
  char error[160];
} fl_tune_candidate;

/* One CLBlastOverrideParameters call: a kernel's full parameter set. */
typedef struct {
  char kernel[24];   /* "GemmRoutine", "Xgemm" or "XgemmDirect" */
  int n;
  char name[FL_TUNE_MAX_PARAMS][32];
  size_t value[FL_TUNE_MAX_PARAMS];
} fl_tune_params;

typedef struct {
  /* Identity: the key covers device, vendor, driver and platform versions,
   * the CLBlast version and a hash of flatline's kernel sources. */
  char key[FL_TUNE_KEY_MAX];
  char device[256];
  char driver[128];
  char platform[256];
  bool quick;
  double search_seconds;

  /* The choice. */
  bool tiled;                /* flatline's tiled kernels (NT: gemm_nt),
                                else CLBlast for every form */
  int nn, tn;                /* tiled variant for NN and TN (0 ..) */
  int n_clblast;             /* overrides for CLBlast's own use; 0: its
                                built-in parameters won */
  fl_tune_params clblast[FL_TUNE_MAX_OVERRIDES];

  /* What the choice rests on (filled by the search; not in the file). */
  int n_shapes;
  fl_tune_shape shapes[FL_TUNE_MAX_SHAPES];
  int n_candidates;
  fl_tune_candidate cand[FL_TUNE_MAX_CANDIDATES];
  int chosen[FL_TUNE_MAX_SHAPES]; /* the candidate the choice runs each
                                     shape with; -1 where none was timed */
  double chosen_cost;        /* seconds per training row summed over the
                                shapes: the choice, */
  double default_cost;       /* and the device's untuned default (-1: not
                                measured) */
} fl_tune_result;

typedef struct {
  bool quick;   /* fewer shapes and candidates: seconds, for first use */
  /* Optional: a line per step ("tune: ..."), and a stop check polled
   * between measurements (true: the search returns FL_ECANCELED). */
  void (*progress)(void *ctx, const char *line);
  bool (*stop)(void *ctx);
  void *ctx;
} fl_tune_options;

/* Time the candidates on dev and choose. The result is not applied. */
int fl_tune_search(fl_device *dev, const fl_tune_options *opt,
                   fl_tune_result *out, fl_error *err);
/* Make dev's GEMMs follow r: CLBlast overrides first, then the plan. */
int fl_tune_apply(fl_device *dev, const fl_tune_result *r, fl_error *err);
/* The cache key of dev as it is now ("<device-name-slug>-<16 hex>"). */
void fl_tune_key(fl_device *dev, char *out, size_t size);
/* Name of tiled variant v ("6x16"), or NULL. */
const char *fl_tune_variant_name(int v);
/* "NN 128x256x784" */
void fl_tune_shape_label(const fl_tune_shape *s, char *out, size_t size);
/* One line on the choice: "tiled (nn 6x16, tn 8x8); CLBlast: ..." */
void fl_tune_describe(const fl_tune_result *r, char *out, size_t size);
/* JSON for the cache file (malloc'd; NULL when out of memory). */
char *fl_tune_to_json(const fl_tune_result *r);
/* Parse a cache file's text for dev: FL_EPARSE when it is not JSON,
 * FL_EINVAL when a field is missing or wrong or the file was made for
 * another device, driver or kernel build (key mismatch). The text is
 * untrusted: CLBlast parameters are checked against CLBlast's constraints
 * and dev's limits. Only the choice and identity are filled. */
int fl_tune_from_json(fl_device *dev, const char *text, size_t len,
                      fl_tune_result *out, fl_error *err);
/* ---- end of GEMM tuning ---- */

/* ---- device warm-up (engine/warmup.c) --------------------------------------
 * A few tiny training runs (every optimizer, fused and separate softmax,
 * id and one-hot labels, validation) on an open device, waited for, results
 * discarded: the kernel compilation a driver defers to a kernel's first
 * launch (POCL: per work-group size; CLBlast: its GEMM programs) then
 * happens here, at daemon start, and not in a user's first epoch. With
 * POCL_CACHE_DIR set it is kept on disk, and a restart's warm-up takes
 * milliseconds. Call it after the device's GEMM plan is final (tuning
 * applied), while the device is idle. */
int fl_device_warm_up(fl_device *dev, fl_error *err);
/* ---- end of device warm-up ---- */

#ifdef __cplusplus
}
#endif
#endif
