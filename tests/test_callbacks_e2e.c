/* tests/test_callbacks_e2e.c — end to end through the real flatlined and
 * flatline, as a Keras user runs it: a job whose labels are noise (so a
 * wide model memorizes the training rows and the validation loss rises)
 * with early_stopping on val_loss and restore_best_weights is submitted
 * and followed; it stops early, ends done with a message naming the stop
 * and the best epoch, and `flatline evaluate` on the validation file finds
 * the best epoch's validation loss in the exported model, not the last
 * epoch's. The human view shows the callback's note. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "daemon_fixture.h"

/* 16 features and 3 classes drawn independently. */
static void write_noise_csv(const char *name, int rows, unsigned seed) {
  char *text = malloc((size_t)rows * 160 + 160), *p = text;
  for (int j = 0; j < 16; j++) p += sprintf(p, "f%d,", j);
  p += sprintf(p, "y\n");
  for (int r = 0; r < rows; r++) {
    for (int j = 0; j < 16; j++) {
      seed = seed * 1103515245u + 12345u;
      p += sprintf(p, "%.3f,", (double)((seed >> 16) % 2000) / 1000.0 - 1.0);
    }
    seed = seed * 1103515245u + 12345u;
    p += sprintf(p, "%u\n", (seed >> 16) % 3);
  }
  write_file(name, text);
  free(text);
}

static int setup(void **state_) {
  (void)state_;
  snprintf(dir, sizeof dir, "/tmp/fl-callbacks-XXXXXX");
  if (!mkdtemp(dir)) return -1;
  snprintf(sock, sizeof sock, "%s/flatline.sock", dir);
  snprintf(state, sizeof state, "%s/state", dir);
  write_noise_csv("train.csv", 96, 1);
  write_noise_csv("val.csv", 96, 2);
  write_file("early.json",
             "{\"name\": \"early\", \"data\": {\"train\": {\"csv\": \"train.csv\", "
             "\"label_columns\": [\"y\"]}, \"validation\": {\"csv\": \"val.csv\", "
             "\"label_columns\": [\"y\"]}}, \"model\": {\"layers\": [{\"type\": \"dense\", "
             "\"units\": 64, \"activation\": \"relu\"}, {\"type\": \"dense\", \"units\": 3, "
             "\"activation\": \"softmax\"}]}, \"loss\": \"sparse_categorical_crossentropy\", "
             "\"optimizer\": {\"name\": \"adam\", \"learning_rate\": 0.01}, \"epochs\": 40, "
             "\"batch_size\": 16, \"seed\": 3, \"callbacks\": [{\"type\": \"early_stopping\", "
             "\"monitor\": \"val_loss\", \"patience\": 2, \"restore_best_weights\": true}]}");
  start_daemon(NULL);
  return 0;
}

static int teardown(void **state_) {
  (void)state_;
  return remove_test_dir(SIGTERM);
}

static void test_early_stopping_model_is_the_best_epochs(void **s) {
  (void)s;
  char *out, args[256], job[32];
  int rc = client("--json submit early.json --follow", &out);
  /* Noise labels: the verdict may name them (exit 3); the job is done. */
  if (rc != 0 && rc != 3) fail_msg("exit %d:\n%s", rc, out);
  job_id_of(out, job);
  double val_loss[41] = {0};
  int epochs = 0;
  for (char *p = strstr(out, "\"event\":\"epoch\""); p; p = strstr(p + 1, "\"event\":\"epoch\"")) {
    char *v = strstr(p, "\"val_loss\":");
    assert_non_null(v);
    if (++epochs <= 40) val_loss[epochs] = strtod(v + strlen("\"val_loss\":"), NULL);
  }
  int best = 1;
  for (int e = 2; e <= epochs && e <= 40; e++)
    if (val_loss[e] < val_loss[best]) best = e;
  if (epochs >= 40 || epochs != best + 2)
    fail_msg("ran %d epochs, best val_loss at epoch %d:\n%s", epochs, best, out);
  assert_int_equal(count(out, "\"event\":\"callback\""), 2); /* stop, restore */
  assert_non_null(strstr(out, "\"state\":\"done\""));
  char want[160];
  snprintf(want, sizeof want, "the model holds the weights of epoch %d", best);
  if (!strstr(out, want)) fail_msg("no \"%s\" in:\n%s", want, out);
  free(out);

  /* The exported model is the best epoch's: evaluate on the validation
   * file gives that epoch's loss (to the evaluation's float rounding),
   * clearly below the last epoch's. */
  snprintf(args, sizeof args, "--json evaluate %s val.csv", job);
  assert_int_equal(client(args, &out), 0);
  double loss = last_number(out, "loss");
  if (!(fabs(loss - val_loss[best]) <= 1e-4 * fabs(val_loss[best])))
    fail_msg("evaluate: loss %.9g; best epoch %d had %.9g, the last %.9g\n%s", loss, best,
             val_loss[best], val_loss[epochs], out);
  assert_true(val_loss[epochs] - val_loss[best] > 1e-3);
  free(out);

  /* People see the callback's notes in the follow view. */
  snprintf(args, sizeof args, "follow %s", job);
  rc = client(args, &out);
  assert_true(rc == 0 || rc == 3);
  assert_non_null(strstr(out, "early_stopping: stopped after epoch"));
  assert_non_null(strstr(out, "early_stopping: the weights of epoch"));
  free(out);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_early_stopping_model_is_the_best_epochs),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
