/* tests/test_early_stop.c — on an OpenCL device, through the job loop
 * (fl_job_execute): a job that overfits (labels are noise, so validation
 * loss rises once the model memorizes) with early_stopping on val_loss
 * stops early, ends "done" with a message that says so, and its trained
 * weights (what the model export reads) are the best epoch's: their
 * validation loss is that epoch's, bit for bit. Stopped by a shutdown
 * between its best epoch and its stop, then resumed from its checkpoint,
 * the same job stops at the same epoch with the same weights. And
 * reduce_lr_on_plateau lowers the rate the epochs run at. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>

#include "device_fixture.h"
#include "flatline/job.h"

#define MAX_LINES 256

typedef struct {
  char *lines[MAX_LINES];
  int n;
  double val_loss[64]; /* by epoch (1-based) */
  int epochs;
  const fl_dataset *val;
  double final_val_loss; /* of the weights at the end (finished hook) */
  uint8_t *checkpoint;
  size_t checkpoint_len;
  int stop_in_epoch; /* shutdown once this epoch starts; 0: never */
} recorder;

static void on_event(void *ctx, const char *json, const fl_epoch_metrics *m) {
  recorder *r = ctx;
  if (m && m->epoch < 64) {
    r->val_loss[m->epoch] = m->val_loss;
    r->epochs = m->epoch;
  }
  if (r->n < MAX_LINES) r->lines[r->n++] = strdup(json);
}

static void on_finished(void *ctx, fl_trainer *t) {
  recorder *r = ctx;
  double acc;
  fl_error err = {0};
  assert_int_equal(fl_trainer_evaluate(t, r->val, &r->final_val_loss, &acc, &err), 0);
}

static void on_epoch_done(void *ctx, fl_trainer *t) {
  recorder *r = ctx;
  fl_error err = {0};
  free(r->checkpoint);
  assert_int_equal(fl_trainer_save_checkpoint(t, &r->checkpoint, &r->checkpoint_len, &err), 0);
}

static int on_resume(void *ctx, fl_trainer *t) {
  recorder *r = ctx;
  fl_error err = {0};
  if (!r->checkpoint) return 0;
  assert_int_equal(fl_trainer_load_checkpoint(t, r->checkpoint, r->checkpoint_len, &err), 0);
  return fl_trainer_epoch(t);
}

static int on_progress(void *ctx, int epoch, size_t step, size_t steps) {
  recorder *r = ctx;
  (void)step;
  (void)steps;
  return r->stop_in_epoch > 0 && epoch >= r->stop_in_epoch;
}

static void recorder_clear_lines(recorder *r) {
  for (int i = 0; i < r->n; i++) free(r->lines[i]);
  r->n = 0;
}

/* The first line holding all of the needles, or NULL. */
static const char *line_with(const recorder *r, const char *a, const char *b) {
  for (int i = 0; i < r->n; i++)
    if (strstr(r->lines[i], a) && (!b || strstr(r->lines[i], b))) return r->lines[i];
  return NULL;
}

/* Noise: features and labels drawn independently. */
static void make_noise(fl_dataset *ds, size_t n, size_t d, int k, uint64_t seed) {
  fl__rng rng;
  fl__rng_seed(&rng, seed);
  memset(ds, 0, sizeof *ds);
  ds->n = n;
  ds->d = d;
  ds->x = malloc(n * d * sizeof(float));
  ds->ids = malloc(n * sizeof(int32_t));
  ds->label_kind = FL_LABELS_IDS;
  for (size_t i = 0; i < n * d; i++) ds->x[i] = (float)fl__rng_normal(&rng);
  for (size_t i = 0; i < n; i++) ds->ids[i] = (int32_t)fl__rng_below(&rng, (uint32_t)k);
}

static const char *spec_text =
    "{\"name\":\"es\",\"data\":{\"train\":{\"features\":\"x.npy\",\"labels\":\"y.npy\"},"
    "\"validation\":{\"features\":\"xv.npy\",\"labels\":\"yv.npy\"}},"
    "\"model\":{\"layers\":[{\"type\":\"dense\",\"units\":64,\"activation\":\"relu\"},"
    "{\"type\":\"dense\",\"units\":3,\"activation\":\"softmax\"}]},"
    "\"loss\":\"sparse_categorical_crossentropy\","
    "\"optimizer\":{\"name\":\"adam\",\"learning_rate\":0.01},\"epochs\":40,"
    "\"batch_size\":16,\"seed\":3,"
    "\"callbacks\":[{\"type\":\"early_stopping\",\"monitor\":\"val_loss\",\"patience\":3,"
    "\"restore_best_weights\":true}]}";

static void run_job(recorder *r, const fl_dataset *train, const fl_dataset *val,
                    fl_job_outcome *out) {
  fl_job_spec spec;
  fl_error err = {0};
  assert_int_equal(fl_spec_parse(spec_text, strlen(spec_text), &spec, &err), 0);
  fl_job_hooks hooks = {.ctx = r, .event = on_event, .finished = on_finished,
                        .epoch_done = on_epoch_done, .resume = on_resume,
                        .progress = on_progress, .progress_every_s = 1e-6};
  r->val = val;
  fl_job_execute(dev, "es", &spec, spec_text, train, val, &hooks, NULL, out);
  fl_spec_free(&spec);
}

/* The epoch of the lowest validation loss among 1..last (the first on ties). */
static int best_epoch(const recorder *r, int last) {
  int best = 1;
  for (int e = 2; e <= last; e++)
    if (r->val_loss[e] < r->val_loss[best]) best = e;
  return best;
}

static void test_early_stopping_restores_the_best_epoch(void **state) {
  (void)state;
  fl_dataset train, val;
  make_noise(&train, 96, 16, 3, 1);
  make_noise(&val, 96, 16, 3, 2);
  recorder r = {0};
  fl_job_outcome out;
  run_job(&r, &train, &val, &out);
  assert_string_equal(out.state, "done");
  int stopped = r.epochs, best = best_epoch(&r, stopped);
  if (stopped >= 40) fail_msg("the job ran all 40 epochs; it should have stopped early");
  assert_int_equal(out.epochs, stopped);
  /* Stopped exactly patience (3) epochs after the best. */
  assert_int_equal(stopped, best + 3);
  assert_non_null(line_with(&r, "\"action\":\"stop\"", "\"best_epoch\""));
  assert_non_null(line_with(&r, "\"action\":\"restore_best_weights\"", NULL));
  char want[160];
  snprintf(want, sizeof want, "stopped early after epoch %d of 40: val_loss did not improve "
           "for 3 epochs", stopped);
  if (!strstr(out.message, want)) fail_msg("end message \"%s\" lacks \"%s\"", out.message, want);
  snprintf(want, sizeof want, "the model holds the weights of epoch %d", best);
  if (!strstr(out.message, want)) fail_msg("end message \"%s\" lacks \"%s\"", out.message, want);
  /* The weights at the end are the best epoch's: same validation loss. */
  if (r.final_val_loss != r.val_loss[best])
    fail_msg("final weights' val_loss %.9g, best epoch %d's %.9g, last epoch's %.9g",
             r.final_val_loss, best, r.val_loss[best], r.val_loss[stopped]);
  assert_true(r.val_loss[stopped] > r.val_loss[best]);

  /* A shutdown two epochs after the best one, then a resume from the
   * checkpoint of the epoch before: the callbacks' state (best value, a
   * wait of 1, the kept weights) came back with it, so the job ends
   * exactly as before. */
  recorder s = {0};
  s.stop_in_epoch = best + 2;
  run_job(&s, &train, &val, &out);
  assert_true(out.interrupted);
  recorder_clear_lines(&s);
  s.stop_in_epoch = 0;
  run_job(&s, &train, &val, &out);
  assert_string_equal(out.state, "done");
  assert_int_equal(s.epochs, stopped);
  assert_int_equal(out.epochs, stopped);
  if (s.final_val_loss != r.final_val_loss)
    fail_msg("resumed job's final val_loss %.9g, uninterrupted %.9g", s.final_val_loss,
             r.final_val_loss);

  recorder_clear_lines(&r);
  recorder_clear_lines(&s);
  free(r.checkpoint);
  free(s.checkpoint);
  free(train.x);
  free(train.ids);
  free(val.x);
  free(val.ids);
}

/* reduce_lr_on_plateau through the job loop: on the training loss with a
 * min_delta no epoch can beat, patience 1, factor 0.5, cooldown 1 and
 * min_lr 0.004, the rate halves after epochs 2 and 4, stops at min_lr,
 * and the epoch events report each epoch's rate. */
static void test_reduce_lr_on_plateau_in_the_job(void **state) {
  (void)state;
  fl_dataset train, val;
  make_noise(&train, 64, 8, 3, 4);
  make_noise(&val, 32, 8, 3, 5);
  static const char *text =
      "{\"name\":\"rl\",\"data\":{\"train\":{\"features\":\"x.npy\",\"labels\":\"y.npy\"}},"
      "\"model\":{\"layers\":[{\"type\":\"dense\",\"units\":3,\"activation\":\"softmax\"}]},"
      "\"loss\":\"sparse_categorical_crossentropy\",\"optimizer\":{\"name\":\"sgd\","
      "\"learning_rate\":0.01},\"epochs\":7,\"batch_size\":16,\"seed\":1,"
      "\"callbacks\":[{\"type\":\"reduce_lr_on_plateau\",\"monitor\":\"loss\",\"factor\":0.5,"
      "\"patience\":1,\"min_delta\":10,\"cooldown\":1,\"min_lr\":0.004}]}";
  fl_job_spec spec;
  fl_error err = {0};
  assert_int_equal(fl_spec_parse(text, strlen(text), &spec, &err), 0);
  recorder r = {0};
  r.val = &val;
  fl_job_hooks hooks = {.ctx = &r, .event = on_event, .finished = on_finished};
  fl_job_outcome out;
  fl_job_execute(dev, "rl", &spec, text, &train, &val, &hooks, NULL, &out);
  assert_string_equal(out.state, "done");
  const double want[7] = {0.01, 0.01, 0.005, 0.005, 0.004, 0.004, 0.004};
  int e = 0, reduced = 0;
  for (int i = 0; i < r.n; i++) {
    const char *lr = strstr(r.lines[i], "\"lr\":");
    if (strstr(r.lines[i], "\"action\":\"reduce_lr\"")) reduced++;
    if (!strstr(r.lines[i], "{\"event\":\"epoch\"") || !lr) continue;
    double got = strtod(lr + 5, NULL);
    if (e >= 7 || fabs(got - want[e]) > 1e-9)
      fail_msg("epoch %d ran at lr %.9g, want %.9g", e + 1, got, e < 7 ? want[e] : 0.0);
    e++;
  }
  assert_int_equal(e, 7);
  assert_int_equal(reduced, 2);
  recorder_clear_lines(&r);
  fl_spec_free(&spec);
  free(train.x);
  free(train.ids);
  free(val.x);
  free(val.ids);
}

int main(void) {
  (void)make_blobs; /* the fixture's; this test needs noise instead */
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_early_stopping_restores_the_best_epoch),
      cmocka_unit_test(test_reduce_lr_on_plateau_in_the_job),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
