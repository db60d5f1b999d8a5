/* engine/warmup.c — fl_device_warm_up: a few tiny training runs on a freshly
 * opened device, so that the work an OpenCL driver defers to a kernel's
 * first launch happens at daemon start rather than in a user's first epoch.
 *
 * POCL (the CPU device) builds the program at clBuildProgram but compiles
 * each kernel's work-group function only when the kernel is first enqueued,
 * once per work-group size (and once more for grids of 65536 work-items or
 * more), about 0.1-0.2 s each on a small CPU: ~3.5 s before the first epoch
 * of the first job. CLBlast likewise builds its GEMM programs on first use.
 * The runs below go through the public trainer API, so they launch exactly
 * what a job launches (forward and backward GEMMs with their epilogues,
 * gather, loss, metrics, norms, every optimizer's update, softmax outside
 * the fused loss, validation), whatever the trainer's internals become. The
 * compiled functions land in POCL's cache (POCL_CACHE_DIR, the daemon's
 * cache dir), so after a restart this costs milliseconds.
 *
 * The sizes are small: they cover the grids jobs use when the launchers use
 * a fixed work-group size (no new compilation for a new job shape); where
 * the driver picks a work-group size from the grid, only these shapes are
 * covered. Grids of 65536 items or more (large batches times wide layers)
 * still compile on first use. */
#include <stdlib.h>
#include <string.h>

#include "flatline/engine.h"

typedef struct {
  fl_activation hidden, out;
  fl_loss_kind loss;
  bool from_logits;
  fl_optimizer_kind opt;
} warm_case;

/* Each optimizer's update kernel; the fused softmax/cross-entropy and the
 * separate softmax forward/backward; an output activation's derivative;
 * id and one-hot labels; gradient clipping by norm and by value. */
static const warm_case cases[] = {
    {FL_ACT_RELU, FL_ACT_SOFTMAX, FL_LOSS_SPARSE_CATEGORICAL_CE, false, FL_OPT_ADAM},
    {FL_ACT_TANH, FL_ACT_LINEAR, FL_LOSS_CATEGORICAL_CE, true, FL_OPT_SGD},
    {FL_ACT_SIGMOID, FL_ACT_SOFTMAX, FL_LOSS_MSE, false, FL_OPT_RMSPROP},
    {FL_ACT_LEAKY_RELU, FL_ACT_SIGMOID, FL_LOSS_MSE, false, FL_OPT_ADAMW},
};

enum { WARM_N = 24, WARM_VAL = 8, WARM_D = 5, WARM_K = 3, WARM_BATCH = 8 };

/* Deterministic features in [-1, 1) and labels (ids or one-hot). */
static int make_set(fl_dataset *ds, size_t n, bool dense, uint32_t seed) {
  memset(ds, 0, sizeof *ds);
  ds->n = n;
  ds->d = WARM_D;
  ds->x = malloc(n * WARM_D * sizeof *ds->x);
  if (dense) {
    ds->label_kind = FL_LABELS_DENSE;
    ds->k = WARM_K;
    ds->y = calloc(n * WARM_K, sizeof *ds->y);
  } else {
    ds->label_kind = FL_LABELS_IDS;
    ds->ids = malloc(n * sizeof *ds->ids);
  }
  if (!ds->x || (dense ? !ds->y : !ds->ids)) return -1;
  uint32_t s = seed;
  for (size_t i = 0; i < n * WARM_D; i++) {
    s = s * 1664525u + 1013904223u;
    ds->x[i] = (float)(s >> 8) / (float)(1u << 23) - 1.0f;
  }
  for (size_t r = 0; r < n; r++) {
    if (dense) ds->y[r * WARM_K + r % WARM_K] = 1.0f;
    else ds->ids[r] = (int32_t)(r % WARM_K);
  }
  return 0;
}

static int run_case(fl_device *dev, const warm_case *c, fl_error *err) {
  bool dense = c->loss != FL_LOSS_SPARSE_CATEGORICAL_CE;
  fl_dataset train = {0}, val = {0};
  int rc = 0;
  if (make_set(&train, WARM_N, dense, 7) || make_set(&val, WARM_VAL, dense, 11)) {
    rc = fl_error_set(err, FL_ENOMEM, "warm-up: out of memory");
    goto out;
  }
  /* Two hidden layers: the input-gradient GEMM with an activation
   * derivative between hidden layers, as well as above the input. */
  fl_layer_spec layers[3];
  memset(layers, 0, sizeof layers);
  const int units[3] = {8, 6, WARM_K};
  for (int i = 0; i < 3; i++) {
    layers[i].units = units[i];
    layers[i].activation = i < 2 ? c->hidden : c->out;
    layers[i].kernel_init.kind = FL_INIT_GLOROT_UNIFORM;
    layers[i].bias_init.kind = FL_INIT_ZEROS;
  }
  fl_train_config cfg;
  memset(&cfg, 0, sizeof cfg);
  cfg.input_dim = WARM_D;
  cfg.n_layers = 3;
  cfg.layers = layers;
  cfg.loss.kind = c->loss;
  cfg.loss.from_logits = c->from_logits;
  fl_optimizer_defaults(&cfg.optimizer, c->opt);
  if (c->opt == FL_OPT_SGD) {
    cfg.optimizer.momentum = 0.9f;
    cfg.optimizer.nesterov = true;
  }
  /* Both gradient clipping kernels (kernels/clip.cl), on two of the cases. */
  if (c->opt == FL_OPT_ADAM) cfg.optimizer.clipnorm = 1.0f;
  if (c->opt == FL_OPT_RMSPROP) cfg.optimizer.clipvalue = 1.0f;
  /* Dropout, kernel_regularizer, class weights and batch normalization
   * (kernels/dropout.cl, regularize.cl, batchnorm.cl: its training and
   * inference paths, the validation being inference), on the Adam case. */
  fl_class_weight_spec balanced = {.mode = FL_CLASS_WEIGHT_BALANCED};
  if (c->opt == FL_OPT_ADAM) {
    layers[0].dropout = 0.25f;
    layers[1].l2 = 1e-3f;
    cfg.class_weight = &balanced;
    layers[1].bn = layers[1].bn_before_act = true;
    layers[1].bn_center = layers[1].bn_scale = true;
    layers[1].bn_momentum = 0.99f;
    layers[1].bn_epsilon = 1e-3f;
  }
  cfg.batch_size = WARM_BATCH;
  cfg.seed = 1;
  cfg.shuffle = true;

  fl_trainer *t = NULL;
  fl_epoch_metrics m;
  if ((rc = fl_trainer_create(dev, &cfg, &train, &val, &t, err)) == 0)
    rc = fl_trainer_run_epoch(t, &m, err); /* ends with a read: all ran */
  fl_trainer_destroy(t);
out:
  fl_dataset_free(&train);
  fl_dataset_free(&val);
  return rc;
}

int fl_device_warm_up(fl_device *dev, fl_error *err) {
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    int rc = run_case(dev, &cases[i], err);
    if (rc) return rc;
  }
  return 0;
}
