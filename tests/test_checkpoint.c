/* tests/test_checkpoint.c — checkpoints, progress reports and safetensors
 * export on a real OpenCL device.
 *
 * The property the daemon relies on after a SIGTERM or kill -9: training N
 * epochs straight through, and training k epochs, checkpointing, throwing
 * the trainer away and going on in a new one from the checkpoint, give
 * bit-identical epoch metrics and parameters (and the same final
 * checkpoint, so optimizer state and rng agree too). Likewise after an epoch
 * cancelled half-way from the progress callback. Then: damaged or foreign
 * checkpoints are refused before anything changes, progress reports come in
 * order, and the export is a well-formed safetensors file holding the
 * trainer's parameters, checked here in C and by tools/read_safetensors.py
 * (an independent reader; without /usr/bin/python3 that test is skipped and
 * the file exits 77, ctest's skip code). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "run_capture.h"

#include "engine_internal.h"

#include "device_fixture.h"

static fl_optimizer_spec adam(float lr) {
  return (fl_optimizer_spec){.kind = FL_OPT_ADAM, .learning_rate = lr,
                             .beta_1 = 0.9f, .beta_2 = 0.999f, .epsilon = 1e-7f};
}

static fl_optimizer_spec sgd_momentum(float lr) {
  return (fl_optimizer_spec){.kind = FL_OPT_SGD, .learning_rate = lr,
                             .momentum = 0.9f, .nesterov = true};
}

/* A job: model, optimizer and data (train, val). */
typedef struct {
  fl_layer_spec layers[4];
  fl_train_config cfg;
  fl_dataset train, val;
  bool has_val;
} job;

/* d=8 inputs, hidden layers as given, 4 classes; 150 rows in batches of
 * 16 (the last one short), shuffled. */
static void job_init(job *j, int n_hidden, const int *units,
                     const fl_activation *acts, fl_optimizer_spec opt,
                     bool dense, bool with_val) {
  memset(j, 0, sizeof *j);
  for (int i = 0; i < n_hidden; i++)
    j->layers[i] = (fl_layer_spec){.units = units[i], .activation = acts[i]};
  j->layers[n_hidden] = (fl_layer_spec){.units = 4, .activation = FL_ACT_SOFTMAX};
  j->cfg = (fl_train_config){
      .input_dim = 8, .n_layers = n_hidden + 1, .layers = j->layers,
      .loss = {dense ? FL_LOSS_CATEGORICAL_CE : FL_LOSS_SPARSE_CATEGORICAL_CE, false},
      .optimizer = opt, .batch_size = 16, .seed = 42, .shuffle = true};
  make_blobs(&j->train, 150, 8, 4, 5, dense);
  j->has_val = with_val;
  if (with_val) make_blobs(&j->val, 40, 8, 4, 6, dense);
}

static void job_free(job *j) {
  fl_dataset_free(&j->train);
  if (j->has_val) fl_dataset_free(&j->val);
}

static fl_trainer *job_trainer(job *j) {
  fl_error err = {0};
  fl_trainer *t = NULL;
  int rc = fl_trainer_create(dev, &j->cfg, &j->train, j->has_val ? &j->val : NULL,
                             &t, &err);
  if (rc) fail_msg("fl_trainer_create: %s", err.msg);
  return t;
}

/* Everything an epoch reports except the timings: what a resumed run must
 * reproduce exactly. */
#define REC_MAX_K 8
typedef struct {
  int epoch, n_layers;
  double loss, accuracy, val_loss, val_accuracy, lr, first_batch_loss;
  bool has_val, nonfinite[3];
  double grad_norm[FL_MAX_LAYERS], weight_norm[FL_MAX_LAYERS];
  double update_ratio[FL_MAX_LAYERS], dead[FL_MAX_LAYERS], sat[FL_MAX_LAYERS];
  size_t n_classes;
  uint32_t pred_hist[REC_MAX_K];
} epoch_record;

static void record(epoch_record *r, const fl_epoch_metrics *m) {
  memset(r, 0, sizeof *r);
  r->epoch = m->epoch;
  r->n_layers = m->n_layers;
  r->loss = m->loss;
  r->accuracy = m->accuracy;
  r->val_loss = m->val_loss;
  r->val_accuracy = m->val_accuracy;
  r->lr = m->lr;
  r->first_batch_loss = m->first_batch_loss;
  r->has_val = m->has_val;
  r->nonfinite[0] = m->nonfinite_loss;
  r->nonfinite[1] = m->nonfinite_weights;
  r->nonfinite[2] = m->nonfinite_grads;
  for (int l = 0; l < FL_MAX_LAYERS; l++) {
    r->grad_norm[l] = m->grad_norm[l];
    r->weight_norm[l] = m->weight_norm[l];
    r->update_ratio[l] = m->update_ratio[l];
    r->dead[l] = m->dead_fraction[l];
    r->sat[l] = m->saturated_fraction[l];
  }
  assert_true(m->n_classes <= REC_MAX_K);
  r->n_classes = m->n_classes;
  memcpy(r->pred_hist, m->pred_hist, m->n_classes * sizeof(uint32_t));
}

/* Bitwise: -0.0 vs 0.0 or two NaNs with other payloads count as different. */
#define SAME_BITS(a, b, what, ep)                                           \
  do {                                                                      \
    if (memcmp(&(a), &(b), sizeof(a)) != 0)                                 \
      fail_msg("epoch %d: %s differs: %.17g straight through, %.17g "       \
               "resumed", ep, what, (double)(a), (double)(b));              \
  } while (0)

static void assert_same_epoch(const epoch_record *a, const epoch_record *b) {
  int ep = a->epoch;
  assert_int_equal(a->epoch, b->epoch);
  assert_int_equal(a->n_layers, b->n_layers);
  SAME_BITS(a->loss, b->loss, "loss", ep);
  SAME_BITS(a->accuracy, b->accuracy, "accuracy", ep);
  SAME_BITS(a->val_loss, b->val_loss, "val_loss", ep);
  SAME_BITS(a->val_accuracy, b->val_accuracy, "val_accuracy", ep);
  SAME_BITS(a->lr, b->lr, "lr", ep);
  SAME_BITS(a->first_batch_loss, b->first_batch_loss, "first_batch_loss", ep);
  assert_true(a->has_val == b->has_val);
  assert_memory_equal(a->nonfinite, b->nonfinite, sizeof a->nonfinite);
  for (int l = 0; l < a->n_layers; l++) {
    SAME_BITS(a->grad_norm[l], b->grad_norm[l], "grad_norm", ep);
    SAME_BITS(a->weight_norm[l], b->weight_norm[l], "weight_norm", ep);
    SAME_BITS(a->update_ratio[l], b->update_ratio[l], "update_ratio", ep);
    SAME_BITS(a->dead[l], b->dead[l], "dead_fraction", ep);
    SAME_BITS(a->sat[l], b->sat[l], "saturated_fraction", ep);
  }
  assert_int_equal(a->n_classes, b->n_classes);
  assert_memory_equal(a->pred_hist, b->pred_hist, a->n_classes * sizeof(uint32_t));
}

/* The job's learning-rate schedule, applied after each epoch in every run
 * (as the daemon's plateau action would): halved after epoch 2, so a
 * checkpoint taken later must carry the changed rate. */
static void end_of_epoch(fl_trainer *t) {
  if (fl_trainer_epoch(t) == 2)
    assert_int_equal(fl_trainer_set_learning_rate(t, 0.5f * t->lr), 0);
}

static void run_epochs(fl_trainer *t, int until, epoch_record *recs) {
  fl_error err = {0};
  fl_epoch_metrics m = {0};
  while (fl_trainer_epoch(t) < until) {
    int rc = fl_trainer_run_epoch(t, &m, &err);
    if (rc) fail_msg("epoch %d: %s", fl_trainer_epoch(t) + 1, err.msg);
    assert_int_equal(m.epoch, fl_trainer_epoch(t));
    record(&recs[m.epoch - 1], &m);
    end_of_epoch(t);
  }
}

static float *params_of(fl_trainer *t) {
  fl_error err = {0};
  size_t P = fl_trainer_param_count(t);
  float *p = malloc(P * sizeof(float));
  assert_non_null(p);
  assert_int_equal(fl_trainer_get_params(t, p, P, &err), 0);
  return p;
}

static void save(fl_trainer *t, uint8_t **buf, size_t *len) {
  fl_error err = {0};
  int rc = fl_trainer_save_checkpoint(t, buf, len, &err);
  if (rc) fail_msg("save: %s", err.msg);
}

static void load(fl_trainer *t, const uint8_t *buf, size_t len) {
  fl_error err = {0};
  int rc = fl_trainer_load_checkpoint(t, buf, len, &err);
  if (rc) fail_msg("load: %s", err.msg);
}

#define EPOCHS 5

/* The uninterrupted run: per-epoch records, final params and checkpoint. */
typedef struct {
  epoch_record recs[EPOCHS];
  float *params;
  uint8_t *ckpt;
  size_t ckpt_len;
} straight_run;

static void run_straight(job *j, straight_run *s) {
  fl_trainer *t = job_trainer(j);
  run_epochs(t, EPOCHS, s->recs);
  s->params = params_of(t);
  save(t, &s->ckpt, &s->ckpt_len);
  fl_trainer_destroy(t);
}

static void straight_free(straight_run *s) {
  free(s->params);
  free(s->ckpt);
}

/* Compare a run that ended in trainer t (recs filled from epoch `from`) with
 * the straight one, then destroy t. */
static void assert_same_as_straight(const straight_run *s, fl_trainer *t,
                                    const epoch_record *recs, int from) {
  for (int e = from; e < EPOCHS; e++) assert_same_epoch(&s->recs[e], &recs[e]);
  size_t P = fl_trainer_param_count(t);
  float *p = params_of(t);
  for (size_t i = 0; i < P; i++)
    if (memcmp(&p[i], &s->params[i], sizeof(float)) != 0)
      fail_msg("final parameter %zu differs: %.9g straight, %.9g resumed", i,
               s->params[i], p[i]);
  uint8_t *ck;
  size_t len;
  save(t, &ck, &len);
  assert_int_equal(len, s->ckpt_len);
  assert_memory_equal(ck, s->ckpt, len); /* m, v, step, rng, lr too */
  free(ck);
  free(p);
  fl_trainer_destroy(t);
}

/* Train k epochs, checkpoint, destroy; a new trainer loads and finishes. */
static void check_resume_after(job *j, const straight_run *s, int k) {
  epoch_record recs[EPOCHS];
  fl_trainer *t = job_trainer(j);
  run_epochs(t, k, recs);
  uint8_t *ck;
  size_t len;
  save(t, &ck, &len);
  fl_trainer_destroy(t);

  t = job_trainer(j);
  load(t, ck, len);
  assert_int_equal(fl_trainer_epoch(t), k);
  run_epochs(t, EPOCHS, recs);
  assert_same_as_straight(s, t, recs, k);
  free(ck);
}

static void test_resume_is_bit_identical_adam(void **state) {
  (void)state;
  job j;
  const int units[2] = {16, 12};
  const fl_activation acts[2] = {FL_ACT_RELU, FL_ACT_TANH};
  job_init(&j, 2, units, acts, adam(1e-2f), false, true);
  straight_run s;
  run_straight(&j, &s);
  /* The schedule really changed the rate, and the run did learn. */
  assert_true(s.recs[EPOCHS - 1].lr < s.recs[0].lr);
  assert_true(s.recs[EPOCHS - 1].loss < s.recs[0].loss);
  for (int k = 1; k < EPOCHS; k++) check_resume_after(&j, &s, k);
  /* From the very start too: a checkpoint of a trainer that never trained. */
  check_resume_after(&j, &s, 0);
  straight_free(&s);
  job_free(&j);
}

static void test_resume_is_bit_identical_sgd_momentum(void **state) {
  (void)state;
  job j;
  const int units[1] = {10};
  const fl_activation acts[1] = {FL_ACT_SIGMOID};
  job_init(&j, 1, units, acts, sgd_momentum(0.05f), true, false);
  straight_run s;
  run_straight(&j, &s);
  check_resume_after(&j, &s, 2);
  check_resume_after(&j, &s, 3);
  straight_free(&s);
  job_free(&j);
}

/* Batch normalization (issue 12): a checkpoint carries gamma and beta
 * with their optimizer state and the moving statistics, so a resumed run
 * (validation included: inference reads the moving statistics) repeats
 * the straight one bit for bit; the kept (best) epoch's model restores its
 * statistics too; a checkpoint of the same layers without normalization is
 * another model. */
static void expect_refused(fl_trainer *t, const uint8_t *buf, size_t len,
                           int code, const char *needle, const char *what);

static void bn_job(job *j) {
  const int units[2] = {16, 12};
  const fl_activation acts[2] = {FL_ACT_RELU, FL_ACT_TANH};
  job_init(j, 2, units, acts, adam(1e-2f), false, true);
  for (int l = 0; l < 2; l++) {
    fl_layer_spec *ls = &j->layers[l];
    ls->bn = ls->bn_center = ls->bn_scale = true;
    ls->bn_before_act = l == 1;
    ls->bn_momentum = 0.9f;
    ls->bn_epsilon = 1e-3f;
  }
  j->layers[0].dropout = 0.2f;
}

static void test_resume_with_batch_norm_is_bit_identical(void **state) {
  (void)state;
  job j;
  bn_job(&j);
  straight_run s;
  run_straight(&j, &s);
  check_resume_after(&j, &s, 2);
  check_resume_after(&j, &s, 0);

  /* kept parameters: the statistics come back with the weights */
  fl_error err = {0};
  fl_trainer *t = job_trainer(&j);
  epoch_record recs[EPOCHS];
  run_epochs(t, 1, recs);
  assert_int_equal(fl_trainer_keep_params(t, 1, &err), 0);
  float *best = params_of(t);
  run_epochs(t, 2, recs);
  uint8_t *ck;
  size_t len;
  save(t, &ck, &len);
  fl_trainer *u = job_trainer(&j);
  load(u, ck, len);
  assert_int_equal(fl_trainer_restore_kept_params(u, &err), 0);
  float *restored = params_of(u);
  assert_memory_equal(best, restored, fl_trainer_param_count(u) * sizeof(float));

  /* the export: gamma and beta after each normalized layer's bias, the
   * moving statistics after all layers (the data section is
   * fl_trainer_get_params'), and where each normalization sits */
  uint8_t *st;
  size_t st_len;
  assert_int_equal(fl_trainer_export_safetensors(u, &st, &st_len, &err), 0);
  uint64_t hn = fl__le_get64(st);
  fl_json *root = fl_json_parse((const char *)st + 8, hn, &err);
  assert_non_null(root);
  size_t P = fl_trainer_param_count(u);
  assert_int_equal(st_len - 8 - hn, P * 4);
  const fl__layer_layout *l1 = &u->lay.l[1];
  const struct { const char *name; size_t at; } bn_tensors[] = {
      {"layers.1.bn.gamma", l1->gamma_off},
      {"layers.1.bn.beta", l1->beta_off},
      {"layers.1.bn.moving_mean", u->lay.n_params + l1->stat_off},
      {"layers.1.bn.moving_variance", u->lay.n_params + l1->stat_off + l1->out}};
  for (size_t i = 0; i < 4; i++) {
    const fl_json *off = fl_json_get(fl_json_get(root, bn_tensors[i].name),
                                     "data_offsets");
    if (!off) fail_msg("no tensor %s", bn_tensors[i].name);
    double begin, end;
    assert_true(fl_json_number(fl_json_array_at(off, 0), &begin));
    assert_true(fl_json_number(fl_json_array_at(off, 1), &end));
    assert_true(begin == 4.0 * (double)bn_tensors[i].at && end == begin + 4.0 * 12);
  }
  const char *bn_meta = fl_json_string(
      fl_json_get(fl_json_get(root, "__metadata__"), "batch_normalization"));
  assert_non_null(bn_meta);
  assert_non_null(strstr(bn_meta, "\"position\":\"after_activation\""));
  assert_non_null(strstr(bn_meta, "\"position\":\"before_activation\""));
  fl_json_free(root);
  free(st);

  /* the same layers without batch normalization: refused */
  job plain;
  bn_job(&plain);
  plain.layers[1].bn = false;
  fl_trainer *o = job_trainer(&plain);
  expect_refused(o, ck, len, FL_EINVAL, "layer 1's batch_normalization differs",
                 "no batch normalization");
  fl_trainer_destroy(o);
  job_free(&plain);
  fl_trainer_destroy(u);
  fl_trainer_destroy(t);
  free(best), free(restored), free(ck);
  straight_free(&s);
  job_free(&j);
}

/* The shuffles after a resume come from the checkpoint's rng: with another
 * rng state the same parameters train differently, so the resume tests
 * above would catch a checkpoint that forgot it. */
static void test_resume_depends_on_the_rng_state(void **state) {
  (void)state;
  job j;
  const int units[1] = {16};
  const fl_activation acts[1] = {FL_ACT_RELU};
  job_init(&j, 1, units, acts, adam(1e-2f), false, false);
  straight_run s;
  run_straight(&j, &s);
  fl_trainer *t = job_trainer(&j);
  epoch_record recs[EPOCHS];
  run_epochs(t, 2, recs);
  fl__rng_seed(&t->rng, 12345);
  run_epochs(t, 3, recs);
  assert_true(memcmp(&recs[2].loss, &s.recs[2].loss, sizeof(double)) != 0);
  fl_trainer_destroy(t);
  straight_free(&s);
  job_free(&j);
}

typedef struct {
  int cancel_epoch;   /* cancel at (cancel_epoch, cancel_step); 0: never */
  size_t cancel_step;
  int calls;
  int last_epoch;
  size_t last_step, steps;
  char disorder[160]; /* first out-of-order report, if any */
} progress_log;

static int on_progress(void *ctx, int epoch, size_t step, size_t steps) {
  progress_log *log = ctx;
  bool later = epoch > log->last_epoch ||
               (epoch == log->last_epoch && step > log->last_step);
  if (!log->disorder[0] && (!later || step < 1 || step > steps ||
                            (log->steps && steps != log->steps)))
    snprintf(log->disorder, sizeof log->disorder,
             "report (epoch %d, step %zu of %zu) after (epoch %d, step %zu "
             "of %zu)", epoch, step, steps, log->last_epoch, log->last_step,
             log->steps);
  log->calls++;
  log->last_epoch = epoch;
  log->last_step = step;
  log->steps = steps;
  return epoch == log->cancel_epoch && step == log->cancel_step;
}

/* SIGTERM: the daemon cancels the running epoch from the progress callback,
 * reloads the last checkpoint and (after a restart or not) goes on. */
static void test_cancel_then_resume_is_bit_identical(void **state) {
  (void)state;
  job j;
  const int units[2] = {16, 12};
  const fl_activation acts[2] = {FL_ACT_LEAKY_RELU, FL_ACT_RELU};
  job_init(&j, 2, units, acts, adam(1e-2f), false, true);
  straight_run s;
  run_straight(&j, &s);

  epoch_record recs[EPOCHS];
  fl_error err = {0};
  fl_trainer *t = job_trainer(&j);
  run_epochs(t, 2, recs);
  uint8_t *ck;
  size_t len;
  save(t, &ck, &len);

  progress_log log = {.cancel_epoch = 3, .cancel_step = 5};
  fl_trainer_set_progress(t, on_progress, &log, 0.0);
  fl_epoch_metrics m = {0};
  assert_int_equal(fl_trainer_run_epoch(t, &m, &err), FL_ECANCELED);
  assert_non_null(strstr(err.msg, "cancelled after step 5 of 10"));
  assert_int_equal(log.calls, 5);
  assert_int_equal(fl_trainer_epoch(t), 2);
  /* The state is mid-epoch now: no checkpoint of it. */
  uint8_t *mid = (uint8_t *)"unset";
  size_t mid_len = 1;
  assert_int_equal(fl_trainer_save_checkpoint(t, &mid, &mid_len, &err), FL_EINVAL);
  assert_null(mid);
  assert_int_equal(mid_len, 0);
  assert_non_null(strstr(err.msg, "mid-epoch"));

  /* Same trainer, reloaded; progress stays on (a host sync every step) and
   * must not change a bit. */
  load(t, ck, len);
  log.cancel_epoch = 0;
  log.last_epoch = 0; /* epoch 3 starts over */
  log.last_step = 0;
  run_epochs(t, EPOCHS, recs);
  assert_true(log.disorder[0] == '\0');
  assert_int_equal(log.calls, 5 + 3 * 10);
  assert_same_as_straight(&s, t, recs, 2);

  /* kill -9 mid-epoch: the process is gone; a new one loads the checkpoint. */
  t = job_trainer(&j);
  load(t, ck, len);
  run_epochs(t, EPOCHS, recs);
  assert_same_as_straight(&s, t, recs, 2);

  free(ck);
  straight_free(&s);
  job_free(&j);
}

static void test_progress_reports_in_order(void **state) {
  (void)state;
  job j;
  const int units[1] = {8};
  const fl_activation acts[1] = {FL_ACT_RELU};
  job_init(&j, 1, units, acts, adam(1e-2f), false, false);
  fl_error err = {0};
  fl_epoch_metrics m = {0};
  fl_trainer *t = job_trainer(&j);
  progress_log log = {0};
  fl_trainer_set_progress(t, on_progress, &log, 0.0); /* every step */
  for (int e = 0; e < 2; e++) assert_int_equal(fl_trainer_run_epoch(t, &m, &err), 0);
  if (log.disorder[0]) fail_msg("%s", log.disorder);
  assert_int_equal(log.steps, 10); /* 150 rows in batches of 16 */
  assert_int_equal(log.calls, 20);
  assert_int_equal(log.last_epoch, 2);
  assert_int_equal(log.last_step, 10);

  /* An hour between reports: none within a short epoch. */
  progress_log quiet = {0};
  fl_trainer_set_progress(t, on_progress, &quiet, 3600.0);
  assert_int_equal(fl_trainer_run_epoch(t, &m, &err), 0);
  assert_int_equal(quiet.calls, 0);
  /* Turned off. */
  fl_trainer_set_progress(t, NULL, NULL, 0.0);
  assert_int_equal(fl_trainer_run_epoch(t, &m, &err), 0);
  assert_int_equal(quiet.calls, 0);
  assert_int_equal(log.calls, 20);
  fl_trainer_destroy(t);
  job_free(&j);
}

/* Loads that must fail, and fail without changing the trainer. */
static void expect_refused(fl_trainer *t, const uint8_t *buf, size_t len,
                           int code, const char *needle, const char *what) {
  fl_error err = {0};
  int rc = fl_trainer_load_checkpoint(t, buf, len, &err);
  if (rc != code)
    fail_msg("%s: load returned %d (%s), expected %d", what, rc, err.msg, code);
  if (needle && !strstr(err.msg, needle))
    fail_msg("%s: message \"%s\" does not say \"%s\"", what, err.msg, needle);
}

static void test_load_refuses_foreign_or_damaged(void **state) {
  (void)state;
  job j;
  const int units[1] = {16};
  const fl_activation acts[1] = {FL_ACT_RELU};
  job_init(&j, 1, units, acts, adam(1e-2f), false, false);
  fl_trainer *t = job_trainer(&j);
  epoch_record recs[EPOCHS];
  run_epochs(t, 1, recs);
  uint8_t *ck;
  size_t len;
  save(t, &ck, &len);
  size_t P = fl_trainer_param_count(t);
  /* header, layer table, params m v, kept_epoch 0, note length 0, CRC */
  assert_int_equal(len, 88 + 2 * 16 + 12 * P + 4 + 4 + 4);
  assert_memory_equal(ck, "FLCKPT01", 8);
  run_epochs(t, 2, recs); /* move on, so a successful load would show */
  float *before = params_of(t);

  /* Other models: a checkpoint of each is refused by this trainer. */
  job other;
  const int units_wide[1] = {17};
  const int units_deep[2] = {16, 16};
  const fl_activation acts_tanh[1] = {FL_ACT_TANH};
  const fl_activation acts_deep[2] = {FL_ACT_RELU, FL_ACT_RELU};
  for (int v = 0; v < 4; v++) {
    const char *needle;
    switch (v) {
      case 0:
        job_init(&other, 1, units_wide, acts, adam(1e-2f), false, false);
        needle = "layer 0 is 8 -> 17 relu there, 8 -> 16 relu here";
        break;
      case 1:
        job_init(&other, 1, units, acts_tanh, adam(1e-2f), false, false);
        needle = "layer 0 is 8 -> 16 tanh there, 8 -> 16 relu here";
        break;
      case 2:
        job_init(&other, 2, units_deep, acts_deep, adam(1e-2f), false, false);
        needle = "3 layers there, 2 here";
        break;
      default:
        job_init(&other, 1, units, acts, sgd_momentum(0.1f), false, false);
        needle = "sgd optimizer";
        break;
    }
    fl_trainer *o = job_trainer(&other);
    uint8_t *ock;
    size_t olen;
    save(o, &ock, &olen);
    expect_refused(t, ock, olen, FL_EINVAL, needle, "other model");
    fl_trainer_destroy(o);
    job_free(&other);
    free(ock);
  }

  /* Truncated anywhere, or with bytes after the end. */
  size_t cuts[] = {0, 4, 8, 40, 87, 88, 111, 112, 500, len - 4, len - 1};
  for (size_t i = 0; i < sizeof cuts / sizeof *cuts; i++) {
    char what[48];
    snprintf(what, sizeof what, "cut to %zu bytes", cuts[i]);
    expect_refused(t, ck, cuts[i], FL_EDATA, "truncated", what);
  }
  uint8_t *longer = malloc(len + 1);
  memcpy(longer, ck, len);
  longer[len] = 0;
  expect_refused(t, longer, len + 1, FL_EDATA, "after its end", "one byte more");
  free(longer);

  /* One flipped bit, at every byte of the file. */
  uint8_t *bad = malloc(len);
  for (size_t i = 0; i < len; i++) {
    memcpy(bad, ck, len);
    bad[i] ^= (uint8_t)(1u << (i % 8));
    /* Sizes are checked before the checksum: a flipped header size, layer
     * count or parameter count reads as truncated or corrupted. */
    size_t extras = 88 + 2 * 16 + 12 * P; /* kept_epoch, note length */
    bool sizes = (i >= 12 && i < 20) || (i >= 24 && i < 32) ||
                 (i >= extras && i < extras + 8);
    /* version 3 with bit 0 flipped is version 2, whose layers are 12
     * bytes: the header size no longer fits */
    const char *needle = i < 8 ? "not a flatline checkpoint"
                         : i == 8 ? "header size"
                         : i < 12 ? "version"
                         : sizes ? "checkpoint"
                         : "CRC-32";
    char what[48];
    snprintf(what, sizeof what, "bit %zu of byte %zu flipped", i % 8, i);
    expect_refused(t, bad, len, FL_EDATA, needle, what);
  }
  free(bad);

  /* Nothing was touched: same parameters and epoch; the good one loads. */
  float *after = params_of(t);
  assert_memory_equal(before, after, P * sizeof(float));
  assert_int_equal(fl_trainer_epoch(t), 2);
  load(t, ck, len);
  assert_int_equal(fl_trainer_epoch(t), 1);
  free(after);
  free(before);
  free(ck);
  fl_trainer_destroy(t);
  job_free(&j);
}

/* The kept (best) parameters and the job's note travel with a checkpoint:
 * a new trainer loaded from it restores exactly the kept epoch's
 * parameters and reads the same note. */
static void test_kept_params_and_note_survive_a_checkpoint(void **state) {
  (void)state;
  job j;
  const int units[1] = {16};
  const fl_activation acts[1] = {FL_ACT_RELU};
  job_init(&j, 1, units, acts, adam(1e-2f), false, false);
  fl_trainer *t = job_trainer(&j);
  epoch_record recs[EPOCHS];
  fl_error err = {0};
  assert_int_equal(fl_trainer_kept_epoch(t), 0);
  assert_int_equal(fl_trainer_restore_kept_params(t, &err), FL_EINVAL);
  run_epochs(t, 1, recs);
  assert_int_equal(fl_trainer_keep_params(t, 1, &err), 0);
  float *best = params_of(t);
  assert_int_equal(fl_trainer_set_note(t, "flcb1 0 -1 1 0", &err), 0);
  run_epochs(t, 2, recs);
  uint8_t *ck;
  size_t len;
  save(t, &ck, &len);
  size_t P = fl_trainer_param_count(t);
  assert_int_equal(len, 88 + 2 * 16 + 12 * P + 4 + 4 * P + 4 + strlen("flcb1 0 -1 1 0") + 4);

  job k;
  job_init(&k, 1, units, acts, adam(1e-2f), false, false);
  fl_trainer *u = job_trainer(&k);
  load(u, ck, len);
  assert_int_equal(fl_trainer_epoch(u), 2);
  assert_int_equal(fl_trainer_kept_epoch(u), 1);
  assert_string_equal(fl_trainer_note(u), "flcb1 0 -1 1 0");
  assert_int_equal(fl_trainer_restore_kept_params(u, &err), 0);
  float *restored = params_of(u);
  assert_memory_equal(best, restored, P * sizeof(float));

  /* A damaged note is refused by the checksum like any other byte. */
  ck[len - 6] ^= 1;
  expect_refused(u, ck, len, FL_EDATA, "CRC-32", "note byte flipped");
  free(restored);
  free(best);
  free(ck);
  fl_trainer_destroy(u);
  fl_trainer_destroy(t);
  job_free(&k);
  job_free(&j);
}

/* ---- export ---- */

typedef struct {
  char name[32];
  size_t shape[2];
  int rank;
  size_t begin, end; /* bytes, in the data section */
  size_t param_off;  /* floats, in the flat parameter buffer */
} tensor_want;

/* The tensors a model must export, in order. */
static int expected_tensors(const fl_trainer *t, tensor_want *w) {
  int n = 0;
  size_t off = 0;
  for (int l = 0; l < t->lay.n_layers; l++) {
    const fl__layer_layout *ll = &t->lay.l[l];
    w[n] = (tensor_want){.shape = {ll->in, ll->out}, .rank = 2, .begin = off,
                         .end = off + 4 * ll->in * ll->out, .param_off = ll->w_off};
    snprintf(w[n].name, sizeof w[n].name, "layers.%d.kernel", l);
    off = w[n++].end;
    w[n] = (tensor_want){.shape = {ll->out, 0}, .rank = 1, .begin = off,
                         .end = off + 4 * ll->out, .param_off = ll->b_off};
    snprintf(w[n].name, sizeof w[n].name, "layers.%d.bias", l);
    off = w[n++].end;
  }
  return n;
}

static size_t json_uint(const fl_json *v) {
  double d;
  assert_true(fl_json_number(v, &d));
  assert_true(d >= 0 && d == floor(d));
  return (size_t)d;
}

/* The export read in C, by the spec's rules. */
static void check_export_layout(const uint8_t *buf, size_t len,
                                const tensor_want *want, int n_tensors,
                                const float *params, size_t P) {
  assert_true(len >= 8);
  uint64_t n = fl__le_get64(buf);
  assert_true(n % 8 == 0);
  assert_true(8 + n <= len);
  assert_int_equal(buf[8], '{');
  size_t json_end = 8 + n;
  while (json_end > 8 && buf[json_end - 1] == ' ') json_end--;
  assert_int_equal(buf[json_end - 1], '}');
  assert_true(8 + n - json_end < 8); /* padding only to the next 8 bytes */

  fl_error err = {0};
  fl_json *root = fl_json_parse((const char *)buf + 8, n, &err);
  if (!root) fail_msg("header: %s", err.msg);
  const fl_json *meta = fl_json_get(root, "__metadata__");
  assert_non_null(meta);
  /* Keras layout (in, out): "tf", as Hugging Face marks such files. */
  assert_string_equal(fl_json_string(fl_json_get(meta, "format")), "tf");
  assert_string_equal(fl_json_string(fl_json_get(meta, "kernel_layout")), "in_out");
  assert_string_equal(fl_json_string(fl_json_get(meta, "flatline")), "4");
  assert_string_equal(fl_json_string(fl_json_get(meta, "activations")),
                      "relu,tanh,softmax");
  /* No tensors besides the expected ones: count the entries' one
   * obligatory key. */
  size_t entries = 0;
  for (const char *p = (const char *)buf + 8; (p = strstr(p, "\"data_offsets\"")) &&
                                              p < (const char *)buf + 8 + n;
       p++)
    entries++;
  assert_int_equal(entries, (size_t)n_tensors);

  size_t data_len = len - 8 - n;
  for (int i = 0; i < n_tensors; i++) {
    const tensor_want *w = &want[i];
    const fl_json *e = fl_json_get(root, w->name);
    if (!e) fail_msg("no tensor %s in the header", w->name);
    assert_string_equal(fl_json_string(fl_json_get(e, "dtype")), "F32");
    const fl_json *shape = fl_json_get(e, "shape");
    assert_int_equal(fl_json_array_size(shape), (size_t)w->rank);
    for (int d = 0; d < w->rank; d++)
      assert_int_equal(json_uint(fl_json_array_at(shape, (size_t)d)), w->shape[d]);
    const fl_json *off = fl_json_get(e, "data_offsets");
    assert_int_equal(fl_json_array_size(off), 2);
    size_t begin = json_uint(fl_json_array_at(off, 0));
    size_t end = json_uint(fl_json_array_at(off, 1));
    assert_int_equal(begin, w->begin); /* contiguous, in layer order */
    assert_int_equal(end, w->end);
    assert_true(end <= data_len);
    size_t count = (end - begin) / 4;
    float *v = malloc(count * sizeof(float));
    fl__le_get_floats(v, buf + 8 + n + begin, count);
    assert_memory_equal(v, params + w->param_off, count * sizeof(float));
    free(v);
  }
  assert_int_equal(want[n_tensors - 1].end, data_len); /* nothing after */
  assert_int_equal(data_len, P * 4);
  fl_json_free(root);
}

/* Set when a test skips; main then exits 77 (cmocka's own exit status
 * counts a skip as a pass). */
static bool skipped;

static const char *python3(void) {
  return access("/usr/bin/python3", X_OK) == 0 ? "/usr/bin/python3" : NULL;
}

static void write_file(const char *path, const uint8_t *buf, size_t len) {
  FILE *f = fopen(path, "wb");
  assert_non_null(f);
  assert_int_equal(fwrite(buf, 1, len, f), len);
  assert_int_equal(fclose(f), 0);
}

/* Runs the reader on path; returns its exit status, output in out (malloc'd). */
static int run_reader(const char *py, const char *path, char **out) {
  char cmd[1024];
  snprintf(cmd, sizeof cmd, "'%s' '%s/tools/read_safetensors.py' --all '%s' 2>/dev/null",
           py, FL_SOURCE_DIR, path);
  return run_capture(cmd, out);
}

/* The independent reader accepts the export and prints our parameters;
 * it rejects broken variants of it. False when there is no python3. */
static bool check_with_python(const uint8_t *buf, size_t len,
                              const tensor_want *want, int n_tensors,
                              const float *params) {
  const char *py = python3();
  if (!py) {
    fprintf(stderr, "skipped: no /usr/bin/python3 for tools/read_safetensors.py "
            "(Debian: apt-get install python3)\n");
    return false;
  }
  const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
  char path[512];
  snprintf(path, sizeof path, "%s/flatline-st-XXXXXX", tmp);
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  close(fd);

  write_file(path, buf, len);
  char *text;
  int rc = run_reader(py, path, &text);
  if (rc != 0) fail_msg("read_safetensors.py exited %d on the export", rc);
  int seen = 0;
  for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
    if (line[0] == '#') continue;
    assert_true(seen < n_tensors);
    const tensor_want *w = &want[seen++];
    char name[64], dtype[16], shape[64], want_shape[64];
    int used = 0;
    assert_int_equal(sscanf(line, "%63s %15s %63s%n", name, dtype, shape, &used), 3);
    assert_string_equal(name, w->name);
    assert_string_equal(dtype, "F32");
    if (w->rank == 2) snprintf(want_shape, sizeof want_shape, "[%zu,%zu]", w->shape[0], w->shape[1]);
    else snprintf(want_shape, sizeof want_shape, "[%zu]", w->shape[0]);
    assert_string_equal(shape, want_shape);
    size_t count = (w->end - w->begin) / 4, i = 0;
    for (char *p = line + used, *q; ; p = q, i++) {
      double v = strtod(p, &q);
      if (q == p) break;
      assert_true(i < count);
      if ((float)v != params[w->param_off + i])
        fail_msg("%s[%zu]: reader printed %.9g, trainer has %.9g", w->name,
                 i, v, params[w->param_off + i]);
    }
    assert_int_equal(i, count);
  }
  assert_int_equal(seen, n_tensors);
  free(text);

  /* Broken files: the reader must say no. */
  uint8_t *bad = malloc(len);
  memcpy(bad, buf, len);
  write_file(path, bad, len - 4); /* data section shorter than the tensors */
  assert_int_equal(run_reader(py, path, &text), 1);
  free(text);
  char *s = strstr((char *)bad + 8, "\"shape\":[8,16]");
  assert_non_null(s);
  s[strlen("\"shape\":[8,1")] = '5'; /* 8 x 15 floats in an 8 x 16 span */
  write_file(path, bad, len);
  assert_int_equal(run_reader(py, path, &text), 1);
  free(text);
  memcpy(bad, buf, len);
  fl__le_put64(bad, (uint64_t)len); /* header longer than the file */
  write_file(path, bad, len);
  assert_int_equal(run_reader(py, path, &text), 1);
  free(text);
  free(bad);
  unlink(path);
  return true;
}

static void test_export_is_valid_safetensors(void **state) {
  (void)state;
  job j;
  const int units[2] = {16, 12};
  const fl_activation acts[2] = {FL_ACT_RELU, FL_ACT_TANH};
  job_init(&j, 2, units, acts, adam(1e-2f), false, false);
  fl_trainer *t = job_trainer(&j);
  epoch_record recs[EPOCHS];
  run_epochs(t, 1, recs);
  float *params = params_of(t);
  size_t P = fl_trainer_param_count(t);
  fl_error err = {0};
  uint8_t *buf;
  size_t len;
  assert_int_equal(fl_trainer_export_safetensors(t, &buf, &len, &err), 0);
  tensor_want want[2 * FL_MAX_LAYERS];
  int n = expected_tensors(t, want);
  assert_int_equal(n, 6);
  check_export_layout(buf, len, want, n, params, P);
  bool checked = check_with_python(buf, len, want, n, params);
  free(buf);
  free(params);
  fl_trainer_destroy(t);
  job_free(&j);
  if (!checked) { /* after the frees: skip() leaves the test at once */
    skipped = true;
    skip();
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_resume_is_bit_identical_adam),
      cmocka_unit_test(test_resume_is_bit_identical_sgd_momentum),
      cmocka_unit_test(test_resume_depends_on_the_rng_state),
      cmocka_unit_test(test_cancel_then_resume_is_bit_identical),
      cmocka_unit_test(test_progress_reports_in_order),
      cmocka_unit_test(test_load_refuses_foreign_or_damaged),
      cmocka_unit_test(test_kept_params_and_note_survive_a_checkpoint),
      cmocka_unit_test(test_export_is_valid_safetensors),
      cmocka_unit_test(test_resume_with_batch_norm_is_bit_identical),
  };
  int failed = cmocka_run_group_tests(tests, setup, teardown);
  return failed ? failed : skipped ? 77 : 0;
}
