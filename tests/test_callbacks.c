/* tests/test_callbacks.c — validation-driven training without a device:
 * the parser's "callbacks" list, learning-rate schedules and gradient
 * clipping keys (good keys, Keras defaults, bad values, did-you-mean,
 * wrong combinations), the schedules' formulas against values computed by
 * hand from Keras 3's formulas, and the callbacks' epoch-end logic
 * (job/callbacks.c) on made-up metric sequences, with its checkpoint text.
 *
 * Specs are written with ' for " so that they read like JSON. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flatline/job.h"
#include "flatline/protocol.h"

/* A valid spec around `extra` (top-level keys, with a leading comma) and an
 * optimizer; validation from a split unless no_val. */
static int parse_with(const char *optimizer, const char *extra, bool with_val,
                      fl_job_spec *spec, fl_error *err) {
  char text[4096];
  snprintf(text, sizeof text,
           "{'data': {'train': {'features': 'x.npy', 'labels': 'y.npy'}%s},"
           " 'model': {'layers': [{'type': 'dense', 'units': 3, "
           "'activation': 'softmax'}]}, 'loss': "
           "'sparse_categorical_crossentropy', 'optimizer': %s%s}",
           with_val ? ", 'validation_split': 0.2" : "", optimizer, extra);
  for (char *p = text; *p; p++)
    if (*p == '\'') *p = '"';
  memset(err, 0, sizeof *err);
  return fl_spec_parse(text, strlen(text), spec, err);
}

static void ok(const char *optimizer, const char *extra, fl_job_spec *spec) {
  fl_error err;
  int rc = parse_with(optimizer, extra, true, spec, &err);
  if (rc) fail_msg("expected a valid spec, got %d: %s", rc, err.msg);
}

/* Must fail with FL_ESPEC and a message containing each of the phrases. */
static void fails(const char *optimizer, const char *extra, bool with_val,
                  const char *phrase1, const char *phrase2) {
  fl_job_spec spec;
  fl_error err;
  int rc = parse_with(optimizer, extra, with_val, &spec, &err);
  if (rc != FL_ESPEC) fail_msg("expected FL_ESPEC for %s %s, got %d", optimizer, extra, rc);
  if (!strstr(err.msg, phrase1) || (phrase2 && !strstr(err.msg, phrase2)))
    fail_msg("message \"%s\" lacks \"%s\" / \"%s\"", err.msg, phrase1,
             phrase2 ? phrase2 : "");
  fl_spec_free(&spec);
}

/* ---- parser ---------------------------------------------------------------- */

static void test_callbacks_keras_defaults(void **state) {
  (void)state;
  fl_job_spec s;
  ok("'adam'", ", 'callbacks': [{'type': 'early_stopping'}, "
               "{'type': 'reduce_lr_on_plateau'}, {'type': 'model_checkpoint'}]", &s);
  assert_int_equal(s.n_callbacks, 3);
  const fl_callback_spec *es = &s.callbacks[0], *rl = &s.callbacks[1], *ck = &s.callbacks[2];
  assert_int_equal(es->kind, FL_CALLBACK_EARLY_STOPPING);
  assert_int_equal(es->monitor, FL_METRIC_VAL_LOSS);
  assert_int_equal(es->mode, FL_MODE_AUTO);
  assert_int_equal(es->patience, 0);
  assert_true(es->min_delta == 0.0);
  assert_false(es->restore_best_weights);
  assert_int_equal(rl->kind, FL_CALLBACK_REDUCE_LR_ON_PLATEAU);
  assert_int_equal(rl->patience, 10);
  assert_true(fabs(rl->factor - 0.1) < 1e-7 && fabs(rl->min_delta - 1e-4) < 1e-9);
  assert_int_equal(rl->cooldown, 0);
  assert_true(rl->min_lr == 0.0);
  assert_int_equal(ck->kind, FL_CALLBACK_MODEL_CHECKPOINT);
  assert_false(ck->save_best_only);
  fl_spec_free(&s);

  ok("'adam'", ", 'callbacks': [{'type': 'early_stopping', 'monitor': 'val_accuracy', "
               "'patience': 4, 'min_delta': 0.01, 'mode': 'max', "
               "'restore_best_weights': true, 'start_from_epoch': 2}]", &s);
  assert_int_equal(s.callbacks[0].monitor, FL_METRIC_VAL_ACCURACY);
  assert_int_equal(s.callbacks[0].mode, FL_MODE_MAX);
  assert_int_equal(s.callbacks[0].patience, 4);
  assert_true(s.callbacks[0].restore_best_weights);
  assert_int_equal(s.callbacks[0].start_from_epoch, 2);
  fl_spec_free(&s);
}

static void test_callbacks_bad_values_and_names(void **state) {
  (void)state;
  fails("'adam'", ", 'callbacks': {'type': 'early_stopping'}", true, "callbacks:",
        "an array of callback objects");
  fails("'adam'", ", 'callbacks': [{'type': 'EarlyStopping'}]", true,
        "callbacks[0].type", "did you mean \"early_stopping\"");
  fails("'adam'", ", 'callbacks': [{'type': 'early_stopping', 'monitor': 'val_los'}]", true,
        "callbacks[0].monitor", "did you mean \"val_loss\"");
  fails("'adam'", ", 'callbacks': [{'type': 'early_stopping', 'patiense': 3}]", true,
        "callbacks[0]", "did you mean \"patience\"");
  fails("'adam'", ", 'callbacks': [{'type': 'early_stopping', 'patience': -1}]", true,
        "callbacks[0].patience", "-1");
  fails("'adam'", ", 'callbacks': [{'type': 'reduce_lr_on_plateau', 'factor': 1.5}]", true,
        "callbacks[0].factor", "1.5");
  fails("'adam'", ", 'callbacks': [{'type': 'early_stopping', 'factor': 0.5}]", true,
        "early_stopping takes no \"factor\"", "reduce_lr_on_plateau does");
  fails("'adam'", ", 'callbacks': [{'type': 'model_checkpoint', 'filepath': 'm.keras'}]",
        true, "callbacks[0].filepath", "flatline export");
  fails("'adam'", ", 'callbacks': [{'type': 'early_stopping', 'mode': 'minimum'}]", true,
        "callbacks[0].mode", "did you mean \"min\"");
}

static void test_callbacks_wrong_combinations(void **state) {
  (void)state;
  /* val_loss without validation data names both ways out. */
  fails("'adam'", ", 'callbacks': [{'type': 'early_stopping'}]", false,
        "callbacks[0].monitor: val_loss needs validation data", "monitor \"loss\"");
  fails("'adam'", ", 'callbacks': [{'type': 'early_stopping'}, {'type': 'early_stopping'}]",
        true, "callbacks[1]: a second early_stopping", "keep one");
  fails("{'learning_rate': {'name': 'exponential_decay', 'initial_learning_rate': 0.1, "
        "'decay_steps': 10, 'decay_rate': 0.5}}",
        ", 'callbacks': [{'type': 'reduce_lr_on_plateau'}]", true,
        "cannot change a scheduled learning rate", NULL);
  fails("'adam'", ", 'monitor': {'on_plateau': 'reduce_lr'}, "
                  "'callbacks': [{'type': 'reduce_lr_on_plateau'}]", true,
        "would both lower the learning rate", "keep one");
  fails("'adam'", ", 'callbacks': [{'type': 'early_stopping', 'restore_best_weights': true}, "
                  "{'type': 'model_checkpoint', 'save_best_only': true, "
                  "'monitor': 'val_accuracy'}]", true,
        "callbacks[1]: model_checkpoint keeps the best weights by val_accuracy",
        "monitor the same metric");
  /* Without validation, loss and accuracy can be watched. */
  fl_job_spec s;
  fl_error err;
  assert_int_equal(parse_with("'adam'", ", 'callbacks': [{'type': 'early_stopping', "
                                        "'monitor': 'loss'}]", false, &s, &err), 0);
  fl_spec_free(&s);
}

static void test_schedules_and_clipping_parse(void **state) {
  (void)state;
  fl_job_spec s;
  ok("{'name': 'sgd', 'learning_rate': {'name': 'exponential_decay', "
     "'initial_learning_rate': 0.1, 'decay_steps': 100, 'decay_rate': 0.5, "
     "'staircase': true}, 'clipnorm': 1.0}", "", &s);
  assert_int_equal(s.optimizer.kind, FL_OPT_SGD);
  assert_int_equal(s.optimizer.schedule.kind, FL_SCHEDULE_EXPONENTIAL);
  assert_true(fabsf(s.optimizer.learning_rate - 0.1f) < 1e-9f);
  assert_true(s.optimizer.schedule.staircase);
  assert_true(s.optimizer.clipnorm == 1.0f);
  fl_spec_free(&s);
  ok("{'learning_rate': {'name': 'cosine_decay', 'initial_learning_rate': 0, "
     "'decay_steps': 1000, 'warmup_target': 0.001, 'warmup_steps': 100, 'alpha': 0.1}, "
     "'clipvalue': 0.5}", "", &s);
  assert_int_equal(s.optimizer.schedule.kind, FL_SCHEDULE_COSINE);
  assert_true(s.optimizer.schedule.warmup);
  assert_true(s.optimizer.clipvalue == 0.5f);
  fl_spec_free(&s);
  ok("{'global_clipnorm': 5}", "", &s);
  assert_true(s.optimizer.global_clipnorm == 5.0f);
  fl_spec_free(&s);

  fails("{'clipnorm': 1, 'clipvalue': 1}", "", true, "optimizer.clipvalue: only one of",
        "keep one");
  fails("{'clipnorm': -1}", "", true, "optimizer.clipnorm", "-1");
  fails("{'clipnorn': 1}", "", true, "optimizer", "did you mean \"clipnorm\"");
  fails("{'learning_rate': {'name': 'cosine_decay', 'initial_learning_rate': 0.01, "
        "'decay_steps': 10, 'warmup_steps': 5}}", "", true,
        "learning_rate.warmup_steps: a warm-up needs \"warmup_target\"", NULL);
  fails("{'learning_rate': {'name': 'exponential_decay', 'initial_learning_rate': 0.01, "
        "'decay_steps': 10, 'decay_rate': 0.9, 'alpha': 0.5}}", "", true,
        "exponential_decay takes no \"alpha\"", "cosine_decay does");
  fails("{'learning_rate': {'name': 'exp_decay', 'initial_learning_rate': 0.01, "
        "'decay_steps': 10}}", "", true, "learning_rate.name", NULL);
  fails("{'learning_rate': {'name': 'exponential_decay', 'initial_learning_rate': 0.01, "
        "'decay_rate': 0.9}}", "", true, "decay_steps", "missing");
  fails("{'learning_rate': {'name': 'exponential_decay', 'initial_learning_rate': 0, "
        "'decay_steps': 10, 'decay_rate': 0.9}}", "", true, "initial_learning_rate",
        "warm-up's start");
  fails("{'learning_rate': {'name': 'cosine_decay', 'initial_learning_rate': 0.1, "
        "'decay_steps': 10}}", ", 'monitor': {'on_plateau': 'reduce_lr'}", true,
        "monitor.on_plateau", "scheduled");

  /* piecewise_constant_decay: a step schedule by boundaries. */
  ok("{'name': 'sgd', 'learning_rate': {'name': 'piecewise_constant_decay', "
     "'boundaries': [100, 300], 'values': [0.1, 0.01, 0.001]}}", "", &s);
  assert_int_equal(s.optimizer.schedule.kind, FL_SCHEDULE_PIECEWISE);
  assert_int_equal(s.optimizer.schedule.n_boundaries, 2);
  assert_true(fabsf(s.optimizer.learning_rate - 0.1f) < 1e-9f);
  fl_spec_free(&s);
  fails("{'learning_rate': {'name': 'piecewise_constant_decay', 'boundaries': [100], "
        "'values': [0.1]}}", "", true, "learning_rate.values: expected 2 learning rates",
        "one more than the 1 boundaries");
  fails("{'learning_rate': {'name': 'piecewise_constant_decay', 'boundaries': [100, 50], "
        "'values': [0.1, 0.01, 0.001]}}", "", true, "learning_rate.boundaries[1]",
        "must increase");
  fails("{'learning_rate': {'name': 'piecewise_constant_decay', 'boundaries': [100], "
        "'values': [0.1, 0]}}", "", true, "learning_rate.values[1]", NULL);
  fails("{'learning_rate': {'name': 'piecewise_constant_decay', 'boundaries': [100], "
        "'values': [0.1, 0.01], 'decay_steps': 5}}", "", true,
        "piecewise_constant_decay takes no \"decay_steps\"", NULL);
  fails("{'learning_rate': {'name': 'piecewise_constant', 'boundaries': [100], "
        "'values': [0.1, 0.01]}}", "", true, "learning_rate.name",
        "did you mean \"piecewise_constant_decay\"");
}

/* ---- schedules: Keras 3's formulas, values worked out by hand ------------- */

static void test_schedule_values(void **state) {
  (void)state;
  fl_optimizer_spec o;
  fl_optimizer_defaults(&o, FL_OPT_SGD);
  assert_true(fl_learning_rate_at(&o, 12345) == (double)o.learning_rate);

  o.learning_rate = 0.1f;
  o.schedule = (fl_lr_schedule){.kind = FL_SCHEDULE_EXPONENTIAL, .decay_steps = 100,
                                .decay_rate = 0.5};
  assert_true(fabs(fl_learning_rate_at(&o, 0) - 0.1) < 1e-8);
  assert_true(fabs(fl_learning_rate_at(&o, 50) - 0.1 * sqrt(0.5)) < 1e-8);
  assert_true(fabs(fl_learning_rate_at(&o, 200) - 0.025) < 1e-8);
  o.schedule.staircase = true; /* step decay: halves every 100 steps */
  assert_true(fabs(fl_learning_rate_at(&o, 99) - 0.1) < 1e-8);
  assert_true(fabs(fl_learning_rate_at(&o, 100) - 0.05) < 1e-8);
  assert_true(fabs(fl_learning_rate_at(&o, 250) - 0.025) < 1e-8);

  o.schedule = (fl_lr_schedule){.kind = FL_SCHEDULE_COSINE, .decay_steps = 100, .alpha = 0.1};
  assert_true(fabs(fl_learning_rate_at(&o, 0) - 0.1) < 1e-8);
  /* halfway: cosine 0.5 -> 0.1 * (0.9 * 0.5 + 0.1) */
  assert_true(fabs(fl_learning_rate_at(&o, 50) - 0.055) < 1e-8);
  assert_true(fabs(fl_learning_rate_at(&o, 100) - 0.01) < 1e-8);
  assert_true(fabs(fl_learning_rate_at(&o, 1000) - 0.01) < 1e-8); /* held at the end */

  /* piecewise_constant_decay: values[i] while step <= boundaries[i]. */
  o.schedule = (fl_lr_schedule){.kind = FL_SCHEDULE_PIECEWISE, .n_boundaries = 2,
                                .boundaries = {100, 300}, .values = {0.1, 0.01, 0.001}};
  assert_true(fl_learning_rate_at(&o, 0) == 0.1);
  assert_true(fl_learning_rate_at(&o, 100) == 0.1);
  assert_true(fl_learning_rate_at(&o, 101) == 0.01);
  assert_true(fl_learning_rate_at(&o, 300) == 0.01);
  assert_true(fl_learning_rate_at(&o, 301) == 0.001);

  /* Linear warm-up 0 -> 0.2 over 10 steps, then the cosine from 0.2. */
  o.learning_rate = 0.0f;
  o.schedule = (fl_lr_schedule){.kind = FL_SCHEDULE_COSINE, .decay_steps = 100,
                                .warmup = true, .warmup_target = 0.2, .warmup_steps = 10};
  assert_true(fl_learning_rate_at(&o, 0) == 0.0);
  assert_true(fabs(fl_learning_rate_at(&o, 5) - 0.1) < 1e-8);
  assert_true(fabs(fl_learning_rate_at(&o, 10) - 0.2) < 1e-8);
  assert_true(fabs(fl_learning_rate_at(&o, 60) - 0.1) < 1e-8);
  assert_true(fabs(fl_learning_rate_at(&o, 110)) < 1e-8);
}

/* ---- callbacks' logic ------------------------------------------------------- */

static fl_epoch_metrics epoch_with(int epoch, double loss, double val_loss) {
  fl_epoch_metrics m;
  memset(&m, 0, sizeof m);
  m.epoch = epoch;
  m.loss = loss;
  m.has_val = true;
  m.val_loss = val_loss;
  m.val_accuracy = 1.0 - val_loss;
  return m;
}

static void spec_with(fl_job_spec *s, const fl_callback_spec *cbs, int n) {
  fl_spec_defaults(s);
  s->n_callbacks = n;
  memcpy(s->callbacks, cbs, (size_t)n * sizeof *cbs);
}

/* val_loss falls to its best at epoch 3 and rises: with patience 2 the job
 * stops after epoch 5 (two epochs without improvement), keeps epoch 3's
 * weights and restores them at the end. */
static void test_early_stopping_patience_and_best(void **state) {
  (void)state;
  fl_callback_spec es = {.kind = FL_CALLBACK_EARLY_STOPPING, .monitor = FL_METRIC_VAL_LOSS,
                         .patience = 2, .restore_best_weights = true};
  fl_job_spec s;
  spec_with(&s, &es, 1);
  fl_callbacks cb;
  fl_callbacks_init(&cb, &s);
  assert_int_equal(cb.keeper, 0);
  const double val[] = {1.0, 0.8, 0.7, 0.75, 0.9, 0.6};
  bool kept[6] = {0}, stopped[6] = {0};
  int e;
  for (e = 1; e <= 6; e++) {
    fl_epoch_metrics m = epoch_with(e, 1.0 / e, val[e - 1]);
    fl_callbacks_action a;
    fl_callbacks_epoch_end(&cb, &s, &m, 0.001, &a);
    kept[e - 1] = a.keep_weights;
    stopped[e - 1] = a.stop;
    assert_false(a.set_lr);
    if (a.stop) break;
  }
  assert_int_equal(e, 5);
  assert_true(kept[0] && kept[1] && kept[2] && !kept[3] && !kept[4]);
  assert_true(stopped[4] && !stopped[3]);
  assert_int_equal(cb.stopped_epoch, 5);
  assert_int_equal(cb.kept_epoch, 3);
  assert_int_equal(cb.s[0].best_epoch, 3);
  assert_true(fl_callbacks_restore_at_end(&cb, 5));
  assert_false(fl_callbacks_restore_at_end(&cb, 3));
}

/* min_delta: an improvement smaller than it does not reset the wait;
 * patience 0 stops at the first epoch without one (never at the first);
 * accuracy is maximized under "auto"; start_from_epoch skips epochs. */
static void test_early_stopping_min_delta_mode_start(void **state) {
  (void)state;
  fl_callback_spec es = {.kind = FL_CALLBACK_EARLY_STOPPING, .monitor = FL_METRIC_VAL_LOSS,
                         .patience = 0, .min_delta = 0.05};
  fl_job_spec s;
  spec_with(&s, &es, 1);
  fl_callbacks cb;
  fl_callbacks_init(&cb, &s);
  assert_int_equal(cb.keeper, -1);
  fl_callbacks_action a;
  fl_epoch_metrics m = epoch_with(1, 1, 1.0);
  fl_callbacks_epoch_end(&cb, &s, &m, 0.1, &a);
  assert_false(a.stop);
  assert_false(a.keep_weights); /* no restore_best_weights: nothing kept */
  m = epoch_with(2, 1, 0.97); /* better by 0.03 < min_delta */
  fl_callbacks_epoch_end(&cb, &s, &m, 0.1, &a);
  assert_true(a.stop);

  es.monitor = FL_METRIC_VAL_ACCURACY; /* 1 - val_loss: rises */
  es.min_delta = 0;
  es.patience = 1;
  es.start_from_epoch = 2;
  spec_with(&s, &es, 1);
  fl_callbacks_init(&cb, &s);
  const double val[] = {0.1, 0.9, 0.5, 0.4, 0.45};
  int stop_at = 0;
  for (int e = 1; e <= 5 && !stop_at; e++) {
    m = epoch_with(e, 1, val[e - 1]);
    fl_callbacks_epoch_end(&cb, &s, &m, 0.1, &a);
    if (a.stop) stop_at = e;
  }
  /* Epochs 1-2 unwatched; best accuracy 0.6 at epoch 4; epoch 5 is worse. */
  assert_int_equal(cb.s[0].best_epoch, 4);
  assert_int_equal(stop_at, 5);
}

/* ReduceLROnPlateau: patience 2, factor 0.5, cooldown 1, min_lr 0.03. */
static void test_reduce_lr_on_plateau(void **state) {
  (void)state;
  fl_callback_spec rl = {.kind = FL_CALLBACK_REDUCE_LR_ON_PLATEAU, .monitor = FL_METRIC_LOSS,
                         .patience = 2, .factor = 0.5, .cooldown = 1, .min_lr = 0.03,
                         .min_delta = 1e-4};
  fl_job_spec s;
  spec_with(&s, &rl, 1);
  fl_callbacks cb;
  fl_callbacks_init(&cb, &s);
  double lr = 0.1;
  double lrs[9];
  for (int e = 1; e <= 9; e++) {
    fl_epoch_metrics m = epoch_with(e, 1.0, 1.0); /* flat from the start */
    fl_callbacks_action a;
    fl_callbacks_epoch_end(&cb, &s, &m, lr, &a);
    if (a.set_lr) lr = a.lr;
    lrs[e - 1] = lr;
  }
  /* e1 best; e2 wait 1; e3 wait 2 -> 0.05, cooldown 1; e4 cooling (wait
   * 0); e5 wait 1; e6 wait 2 -> 0.03 (max(0.025, min_lr)); then at min_lr
   * it stays. */
  const double want[] = {0.1, 0.1, 0.05, 0.05, 0.05, 0.03, 0.03, 0.03, 0.03};
  for (int i = 0; i < 9; i++)
    if (fabs(lrs[i] - want[i]) > 1e-12) fail_msg("epoch %d: lr %g, want %g", i + 1, lrs[i], want[i]);
}

/* model_checkpoint save_best_only keeps the best epoch by its own rule (no
 * min_delta) and takes the kept slot from early_stopping. */
static void test_model_checkpoint_keeps_best(void **state) {
  (void)state;
  fl_callback_spec cbs[2] = {
      {.kind = FL_CALLBACK_EARLY_STOPPING, .monitor = FL_METRIC_VAL_LOSS, .patience = 10,
       .min_delta = 0.1, .restore_best_weights = true},
      {.kind = FL_CALLBACK_MODEL_CHECKPOINT, .monitor = FL_METRIC_VAL_LOSS,
       .save_best_only = true}};
  fl_job_spec s;
  spec_with(&s, cbs, 2);
  fl_callbacks cb;
  fl_callbacks_init(&cb, &s);
  assert_int_equal(cb.keeper, 1);
  const double val[] = {1.0, 0.95, 0.99};
  for (int e = 1; e <= 3; e++) {
    fl_epoch_metrics m = epoch_with(e, 1, val[e - 1]);
    fl_callbacks_action a;
    fl_callbacks_epoch_end(&cb, &s, &m, 0.1, &a);
    assert_int_equal(a.keep_weights, e <= 2);
  }
  assert_int_equal(cb.kept_epoch, 2);
  assert_int_equal(cb.s[0].best_epoch, 1); /* 0.95 is within min_delta */

  /* The state survives its text form exactly, and text for another spec
   * is refused. */
  char text[FL_CALLBACKS_TEXT_MAX];
  fl_callbacks_encode(&cb, text);
  fl_callbacks back;
  fl_error err = {0};
  assert_int_equal(fl_callbacks_decode(&back, &s, text, &err), 0);
  assert_int_equal(back.kept_epoch, 2);
  assert_int_equal(back.keeper, 1);
  assert_true(back.s[1].best == 0.95 && back.s[0].best == 1.0);
  assert_int_equal(back.s[0].wait, cb.s[0].wait);
  fl_job_spec other;
  spec_with(&other, cbs, 1);
  assert_int_equal(fl_callbacks_decode(&back, &other, text, &err), FL_EDATA);
  assert_int_equal(fl_callbacks_decode(&back, &s, "flcb1 2 1 2 0 nonsense", &err), FL_EDATA);
  /* A fresh state (infinite bests) round-trips too. */
  fl_callbacks_init(&cb, &s);
  fl_callbacks_encode(&cb, text);
  assert_int_equal(fl_callbacks_decode(&back, &s, text, &err), 0);
  assert_true(isinf(back.s[0].best) && back.s[0].best > 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_callbacks_keras_defaults),
      cmocka_unit_test(test_callbacks_bad_values_and_names),
      cmocka_unit_test(test_callbacks_wrong_combinations),
      cmocka_unit_test(test_schedules_and_clipping_parse),
      cmocka_unit_test(test_schedule_values),
      cmocka_unit_test(test_early_stopping_patience_and_best),
      cmocka_unit_test(test_early_stopping_min_delta_mode_start),
      cmocka_unit_test(test_reduce_lr_on_plateau),
      cmocka_unit_test(test_model_checkpoint_keeps_best),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
