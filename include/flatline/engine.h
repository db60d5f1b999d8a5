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

int fl_trainer_set_learning_rate(fl_trainer *t, float lr);

/* Number of parameters, and a copy of them: for each layer W_l (in, out)
 * row-major then b_l (out). */
size_t fl_trainer_param_count(const fl_trainer *t);
int fl_trainer_get_params(fl_trainer *t, float *host, size_t n, fl_error *err);

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

/* The trained model as safetensors: tensors "layers.N.kernel" (in, out) and
 * "layers.N.bias" (out), F32 little-endian; __metadata__ holds each layer's
 * activation and the format version. *buf is malloc'd. */
int fl_trainer_export_safetensors(fl_trainer *t, uint8_t **buf, size_t *len,
                                  fl_error *err);

void fl_trainer_destroy(fl_trainer *t);

#ifdef __cplusplus
}
#endif
#endif
