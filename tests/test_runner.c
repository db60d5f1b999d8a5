/* tests/test_runner.c — end to end through the real `flatlined --run`
 * binary, as a user runs it: specs and data files written to a temporary
 * folder, output read from the process, exit status checked. Includes the
 * Fashion-MNIST acceptance run (784-256-10, Adam 1e-3, batch 128, 5 epochs,
 * test accuracy >= 0.87) when Debian's dataset-fashion-mnist is installed
 * (without it that test is skipped and the file exits 77, ctest's skip
 * code). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "image_fixture.h"
#include "run_capture.h"

#define FLATLINED FL_BINARY_DIR "/flatlined"
#define FASHION "/usr/share/datasets/fashion-mnist/"

static char dir[64];

static int setup(void **state) {
  (void)state;
  snprintf(dir, sizeof dir, "/tmp/fl-runner-XXXXXX");
  return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state) {
  (void)state;
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  return system(cmd) == 0 ? 0 : -1;
}

static void write_file(const char *name, const char *text) {
  char path[256];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fputs(text, f);
  fclose(f);
}

/* Runs flatlined with args; returns its exit status and its stdout+stderr
 * in *out (malloc'd). */
static int run(const char *args, char **out) {
  char cmd[1024];
  snprintf(cmd, sizeof cmd, "cd '%s' && '%s' %s 2>&1", dir, FLATLINED, args);
  return run_capture(cmd, out);
}

/* A small CSV: 3 well-separated classes in 4 features. */
static void write_blobs_csv(const char *name, int rows, int max_label) {
  char *text = malloc((size_t)rows * 64 + 64), *p = text;
  p += sprintf(p, "a,b,c,d,species\n");
  unsigned s = 1;
  for (int r = 0; r < rows; r++) {
    int c = r % 3;
    float v[4];
    for (int j = 0; j < 4; j++) {
      s = s * 1103515245u + 12345u;
      v[j] = (float)((s >> 16) % 1000) / 1000.0f + (j == c ? 3.0f : 0.0f);
    }
    int label = r == rows - 1 && max_label >= 0 ? max_label : c;
    p += sprintf(p, "%.3f,%.3f,%.3f,%.3f,%d\n", v[0], v[1], v[2], v[3], label);
  }
  write_file(name, text);
  free(text);
}

/* write_blobs_csv with class names: class 0 is "virginica", 1 "setosa",
 * 2 "versicolor" (not in sorted order, so the ids must be remapped), the
 * last row `last` when not NULL. */
static void write_blobs_names_csv(const char *name, int rows, const char *last) {
  static const char *const names[3] = {"virginica", "setosa", "versicolor"};
  char *text = malloc((size_t)rows * 64 + 64), *p = text;
  p += sprintf(p, "a,b,c,d,species\n");
  unsigned s = 1;
  for (int r = 0; r < rows; r++) {
    int c = r % 3;
    float v[4];
    for (int j = 0; j < 4; j++) {
      s = s * 1103515245u + 12345u;
      v[j] = (float)((s >> 16) % 1000) / 1000.0f + (j == c ? 3.0f : 0.0f);
    }
    p += sprintf(p, "%.3f,%.3f,%.3f,%.3f,%s\n", v[0], v[1], v[2], v[3],
                 r == rows - 1 && last ? last : names[c]);
  }
  write_file(name, text);
  free(text);
}

static const char *csv_spec =
    "{\"name\": \"blobs\", \"data\": {\"train\": {\"csv\": \"%s\", "
    "\"label_columns\": [\"species\"]}, \"validation_split\": 0.25},"
    " \"model\": {\"layers\": [{\"type\": \"dense\", \"units\": 8, "
    "\"activation\": \"relu\"}, {\"type\": \"dense\", \"units\": 3, "
    "\"activation\": \"softmax\"}]}, \"loss\": "
    "\"sparse_categorical_crossentropy\", \"optimizer\": {\"name\": \"adam\", "
    "\"learning_rate\": 0.01}, \"epochs\": 8, \"batch_size\": 16, \"seed\": 3}";

static void write_csv_spec(const char *spec_name, const char *csv_name) {
  char text[1024];
  snprintf(text, sizeof text, csv_spec, csv_name);
  write_file(spec_name, text);
}

static void test_csv_job_trains_and_prints_epochs(void **state) {
  (void)state;
  write_blobs_csv("blobs.csv", 300, -1);
  write_csv_spec("blobs.json", "blobs.csv");
  char *out;
  /* Its own cache dir: a machine whose service has tuned GEMMs would add
   * a "GEMM tuning" line (to stderr, captured here). */
  assert_int_equal(run("--run blobs.json --json --cache-dir cache", &out), 0);
  int epochs = 0, verdicts = 0;
  double last_val_acc = 0;
  for (char *line = strtok(out, "\n"); line; line = strtok(NULL, "\n")) {
    if (strstr(line, "\"event\":\"verdict\"")) {
      /* Every job ends with its verdict; this one learns. */
      verdicts++;
      assert_non_null(strstr(line, "\"verdict\":\"healthy\",\"causes\":[]"));
    } else if (strstr(line, "\"event\":\"epoch\"")) {
      epochs++;
      char *v = strstr(line, "\"val_accuracy\":");
      assert_non_null(v);
      last_val_acc = strtod(v + strlen("\"val_accuracy\":"), NULL);
      assert_non_null(strstr(line, "\"job\":\"blobs\""));
    } else {
      /* with the model's class report on the validation rows (issue 12) */
      assert_non_null(strstr(line, "{\"event\":\"end\",\"job\":\"blobs\","
                                   "\"state\":\"done\",\"cause\":null,"
                                   "\"metrics\":{\"on\":\"validation\","));
      assert_non_null(strstr(line, "\"confusion\":[["));
    }
  }
  assert_int_equal(epochs, 8);
  assert_int_equal(verdicts, 1);
  assert_true(last_val_acc > 0.95);
  free(out);

  /* The table for people: a header and one row per epoch. */
  assert_int_equal(run("--run blobs.json", &out), 0);
  assert_non_null(strstr(out, "samples/s"));
  assert_non_null(strstr(out, "  8/8 "));
  assert_non_null(strstr(out, "225 training rows, 75 validation rows, 4 features, 3 classes"));
  free(out);
}

/* Issue 12: batch normalization in both of Keras' placements (after a
 * relu; a linear layer, the normalization, then an activation entry),
 * with dropout after one: the job trains, its validation (inference, on
 * the moving statistics) says so, and the run ends done. */
static void test_batch_normalization_trains(void **state) {
  (void)state;
  write_blobs_csv("bn.csv", 300, -1);
  write_file("bn.json",
             "{\"name\": \"bn\", \"data\": {\"train\": {\"csv\": \"bn.csv\", "
             "\"label_columns\": [\"species\"]}, \"validation_split\": 0.25},"
             " \"model\": {\"layers\": [{\"type\": \"dense\", \"units\": 16, "
             "\"activation\": \"relu\"}, {\"type\": \"batch_normalization\"}, "
             "{\"type\": \"dropout\", \"rate\": 0.1}, {\"type\": \"dense\", "
             "\"units\": 8}, {\"type\": \"batch_normalization\", \"momentum\": "
             "0.9}, {\"type\": \"activation\", \"activation\": \"tanh\"}, "
             "{\"type\": \"dense\", \"units\": 3, \"activation\": \"softmax\"}]}, "
             "\"loss\": \"sparse_categorical_crossentropy\", \"optimizer\": "
             "{\"name\": \"adam\", \"learning_rate\": 0.01}, \"epochs\": 8, "
             "\"batch_size\": 16, \"seed\": 3}");
  char *out;
  int rc = run("--run bn.json --json --cache-dir cache", &out);
  if (rc != 0 && rc != 3) fail_msg("flatlined --run exited %d:\n%s", rc, out);
  double last_val_acc = 0;
  int epochs = 0;
  for (char *line = strtok(out, "\n"); line; line = strtok(NULL, "\n")) {
    if (!strstr(line, "\"event\":\"epoch\"")) continue;
    epochs++;
    char *v = strstr(line, "\"val_accuracy\":");
    assert_non_null(v);
    last_val_acc = strtod(v + strlen("\"val_accuracy\":"), NULL);
  }
  assert_int_equal(epochs, 8);
  if (!(last_val_acc > 0.95)) fail_msg("val_accuracy %.3f", last_val_acc);
  free(out);
}

/* Issue 13: a tiny CNN (conv2d 8 3x3 relu, max pooling, conv2d 8 3x3
 * "same" with stride 2, flatten, dense softmax) on 4000 Fashion-MNIST rows
 * of 784 features, reshaped to 28x28x1 images without an input_shape:
 * it trains through flatlined --run, past 70% held-out accuracy in two
 * epochs, and its conv layers report per-filter statistics. */
static void test_cnn_trains(void **state) {
  (void)state;
  char spec[2048];
  snprintf(spec, sizeof spec,
           "{\"name\": \"cnn\", \"data\": {\"train\": {\"features\": "
           "\"%s/examples/data/fashion_x.npy\", \"labels\": "
           "\"%s/examples/data/fashion_y.npy\", \"scale\": 0.00392156862745098}, "
           "\"validation_split\": 0.25}, \"model\": {\"layers\": [{\"type\": "
           "\"conv2d\", \"filters\": 8, \"kernel_size\": 3, \"activation\": "
           "\"relu\"}, {\"type\": \"max_pooling2d\"}, {\"type\": \"conv2d\", "
           "\"filters\": 8, \"kernel_size\": 3, \"strides\": 2, \"padding\": "
           "\"same\", \"activation\": \"relu\"}, {\"type\": \"flatten\"}, "
           "{\"type\": \"dense\", \"units\": 10, \"activation\": \"softmax\"}]}, "
           "\"loss\": \"sparse_categorical_crossentropy\", \"optimizer\": "
           "{\"name\": \"adam\", \"learning_rate\": 0.003}, \"epochs\": 2, "
           "\"batch_size\": 64, \"seed\": 5}",
           FL_SOURCE_DIR, FL_SOURCE_DIR);
  write_file("cnn.json", spec);
  char *out;
  int rc = run("--run cnn.json --json --cache-dir cache", &out);
  if (rc != 0 && rc != 3) fail_msg("flatlined --run exited %d:\n%s", rc, out);
  assert_non_null(strstr(out, "\"event\":\"end\",\"job\":\"cnn\",\"state\":\"done\""));
  double last_val_acc = 0;
  int epochs = 0;
  for (char *line = strtok(out, "\n"); line; line = strtok(NULL, "\n")) {
    if (!strstr(line, "\"event\":\"epoch\"")) continue;
    epochs++;
    char *v = strstr(line, "\"val_accuracy\":");
    assert_non_null(v);
    last_val_acc = strtod(v + strlen("\"val_accuracy\":"), NULL);
  }
  assert_int_equal(epochs, 2);
  if (!(last_val_acc > 0.7)) fail_msg("val_accuracy %.3f", last_val_acc);
  free(out);
}

static const char *image_spec =
    "{\"name\": \"colour\", \"data\": {\"train\": {\"features\": \"img_x.npy\", "
    "\"labels\": \"img_y.npy\"}, \"validation\": {\"features\": \"%s\", "
    "\"labels\": \"val_y.npy\"}}, \"model\": {\"layers\": [{\"type\": "
    "\"conv2d\", \"filters\": 2, \"kernel_size\": 3, \"activation\": "
    "\"relu\"}, {\"type\": \"flatten\"}, {\"type\": \"dense\", \"units\": 3, "
    "\"activation\": \"softmax\"}]}, \"loss\": "
    "\"sparse_categorical_crossentropy\", \"epochs\": 2, \"batch_size\": 8, "
    "\"seed\": 1}";

/* Issue 13: colour images in a 4-D .npy (N, 6, 5, 2) train a conv model
 * whose spec has no input_shape: the file's header gives the image (rows
 * of 60 features are no square image), and the saved model keeps it. A
 * validation file of 5x6x2 images, the same width, is refused naming
 * both shapes. */
static void test_cnn_takes_image_shape_from_npy(void **state) {
  (void)state;
  image_set_write(dir, "img_x.npy", "img_y.npy", 40, "(40, 6, 5, 2)");
  image_set_write(dir, "val_x.npy", "val_y.npy", 10, "(10, 6, 5, 2)");
  image_set_write(dir, "val_t.npy", "val_y.npy", 10, "(10, 5, 6, 2)");
  char spec[1024], *out;
  snprintf(spec, sizeof spec, image_spec, "val_x.npy");
  write_file("colour.json", spec);
  int rc = run("--run colour.json --json --cache-dir cache --job-dir colour", &out);
  if (rc != 0 && rc != 3) fail_msg("flatlined --run exited %d:\n%s", rc, out);
  assert_non_null(strstr(out, "\"event\":\"end\",\"job\":\"colour\",\"state\":\"done\""));
  free(out);
  /* the model file's conv2d metadata, a JSON string: \"input_shape\":[6,5,2] */
  char path[256], head[4096] = "";
  snprintf(path, sizeof path, "%s/colour/model.safetensors", dir);
  FILE *f = fopen(path, "rb");
  assert_non_null(f);
  size_t got = fread(head, 1, sizeof head - 1, f);
  fclose(f);
  for (size_t i = 0; i < got; i++)
    if (!head[i]) head[i] = ' ';
  assert_non_null(strstr(head, "\\\"input_shape\\\":[6,5,2]"));

  snprintf(spec, sizeof spec, image_spec, "val_t.npy");
  write_file("transposed.json", spec);
  assert_int_equal(run("--run transposed.json --cache-dir cache", &out), 1);
  if (!strstr(out, "val_t.npy holds 5x6x2 images") ||
      !strstr(out, "img_x.npy holds 6x5x2 images"))
    fail_msg("%s", out);
  free(out);
}

/* Issue 12: a label column of class names trains as ids in sorted order;
 * a validation file's names must be among the training set's. */
static void test_csv_class_names_train(void **state) {
  (void)state;
  write_blobs_names_csv("names.csv", 300, NULL);
  write_csv_spec("names.json", "names.csv");
  char *out;
  assert_int_equal(run("--run names.json --cache-dir cache", &out), 0);
  assert_non_null(strstr(out, "225 training rows, 75 validation rows, 4 "
                              "features, 3 classes"));
  free(out);
  assert_int_equal(run("--run names.json --json --cache-dir cache", &out), 0);
  char *v = strstr(out, "\"event\":\"verdict\"");
  assert_non_null(v);
  assert_non_null(strstr(v, "\"verdict\":\"healthy\""));
  free(out);

  write_blobs_names_csv("names_val.csv", 30, "cow");
  write_file("names_val.json",
             "{\"name\": \"nv\", \"data\": {\"train\": {\"csv\": \"names.csv\", "
             "\"label_columns\": [\"species\"]}, \"validation\": {\"csv\": "
             "\"names_val.csv\", \"label_columns\": [\"species\"]}}, "
             "\"model\": {\"layers\": [{\"type\": \"dense\", \"units\": 3, "
             "\"activation\": \"softmax\"}]}, \"loss\": "
             "\"sparse_categorical_crossentropy\", \"optimizer\": \"adam\", "
             "\"epochs\": 1, \"batch_size\": 16}");
  assert_int_not_equal(run("--run names_val.json --cache-dir cache", &out), 0);
  assert_non_null(strstr(out, "names_val.csv: row 30: class name \"cow\" is "
                              "not among the 3 names of the training set"));
  free(out);
}

static void test_same_spec_same_losses(void **state) {
  (void)state;
  char *a, *b;
  assert_int_equal(run("--run blobs.json --json", &a), 0);
  assert_int_equal(run("--run blobs.json --json", &b), 0);
  /* Everything but the timings must match to the bit (losses are printed
   * with 9 significant digits, enough to round-trip a float). */
  char *la = strstr(a, "\"loss\":"), *lb = strstr(b, "\"loss\":");
  while (la && lb) {
    assert_memory_equal(la, lb, strcspn(la, ",") + 1);
    la = strstr(la + 1, "\"loss\":");
    lb = strstr(lb + 1, "\"loss\":");
  }
  assert_null(la);
  assert_null(lb);
  free(a);
  free(b);
}

static void test_bad_jobs_are_rejected_with_a_reason(void **state) {
  (void)state;
  char *out;
  /* A label 7 with 3 output units. */
  write_blobs_csv("bad_labels.csv", 60, 7);
  write_csv_spec("bad_labels.json", "bad_labels.csv");
  assert_int_equal(run("--run bad_labels.json --json", &out), 1);
  assert_non_null(strstr(out, "\"state\":\"rejected\""));
  assert_non_null(strstr(out, "\"cause\":\"labels_out_of_range\""));
  assert_non_null(strstr(out, "reach 7")); /* the largest id, named */
  free(out);

  /* A missing data file names the file. */
  write_csv_spec("missing.json", "nowhere.csv");
  assert_int_equal(run("--run missing.json", &out), 1);
  assert_non_null(strstr(out, "nowhere.csv"));
  free(out);

  /* A spec error names the key. */
  write_file("typo.json", "{\"data\": {\"train\": {\"csv\": \"blobs.csv\", "
             "\"label_columns\": [\"species\"]}}, \"model\": {\"layers\": "
             "[{\"type\": \"dense\", \"units\": 3}]}, \"loss\": "
             "\"sparse_categorical_crossentropy\", \"epoch\": 3}");
  assert_int_equal(run("--run typo.json --json", &out), 1);
  assert_non_null(strstr(out, "\"state\":\"rejected\""));
  assert_non_null(strstr(out, "epoch"));
  free(out);

  /* Malformed data: a ragged CSV row. */
  write_file("ragged.csv", "a,b,c,d,species\n1,2,3,4,0\n1,2,3,1\n");
  write_csv_spec("ragged.json", "ragged.csv");
  assert_int_equal(run("--run ragged.json --json", &out), 1);
  assert_non_null(strstr(out, "\"cause\":\"invalid_data\""));
  assert_non_null(strstr(out, "ragged.csv"));
  free(out);
}

static void test_usage(void **state) {
  (void)state;
  char *out;
  assert_int_equal(run("--help", &out), 0);
  assert_non_null(strstr(out, "--run SPEC"));
  free(out);
  assert_int_equal(run("--bogus", &out), 2);
  assert_non_null(strstr(out, "--bogus"));
  free(out);
  assert_int_equal(run("--devices", &out), 0);
  assert_non_null(strstr(out, "MiB"));
  free(out);
}

/* Set when the data set is missing; main then exits 77, which ctest
 * reports as skipped (cmocka's own exit status counts a skip as a pass). */
static bool fashion_skipped;

static void test_fashion_mnist_reaches_087(void **state) {
  (void)state;
  if (access(FASHION "train-images-idx3-ubyte.gz", R_OK) != 0) {
    fprintf(stderr, "skipped: no " FASHION " (Debian: apt-get install "
            "dataset-fashion-mnist)\n");
    fashion_skipped = true;
    skip();
  }
  char *out, args[512];
  snprintf(args, sizeof args, "--run '%s/examples/fashion-mnist/mlp.json' --json",
           FL_SOURCE_DIR);
  assert_int_equal(run(args, &out), 0);
  char *last = NULL;
  for (char *p = strstr(out, "\"val_accuracy\":"); p; p = strstr(p + 1, "\"val_accuracy\":"))
    last = p;
  assert_non_null(last);
  double acc = strtod(last + strlen("\"val_accuracy\":"), NULL);
  fprintf(stderr, "# Fashion-MNIST test accuracy after 5 epochs: %.4f\n", acc);
  assert_true(acc >= 0.87);
  free(out);
}

/* monitor.on_plateau = "fix" repairs a learning-rate fault and an
 * initialization fault: the diagnosed fix is applied, training restarts from
 * the original initialization, and the loss after is far below the loss
 * before. */
static void check_fix(const char *spec, const char *cause) {
  char *out, args[512];
  snprintf(args, sizeof args, "--run '%s/examples/faulty/%s' --json", FL_SOURCE_DIR, spec);
  assert_int_equal(run(args, &out), 3); /* done, with a diagnosed problem */
  char want[128];
  snprintf(want, sizeof want, "{\"event\":\"fixed\",\"job\":");
  char *fixed = strstr(out, want);
  if (!fixed) fail_msg("%s: no fixed event in:\n%s", spec, out);
  snprintf(want, sizeof want, "\"cause\":\"%s\"", cause);
  assert_non_null(strstr(fixed, want));
  double before = strtod(strstr(fixed, "\"loss_before\":") + 14, NULL);
  double after = strtod(strstr(fixed, "\"loss_after\":") + 13, NULL);
  fprintf(stderr, "# %s: loss %.4f before the fix, %.4f after\n", cause, before, after);
  assert_true(after < 0.5 * before);
  free(out);
}

/* stop ends the job at the diagnosis; reduce_lr lowers the rate (x0.1)
 * once a plateau holds for `patience` epochs. On the seed case (random
 * labels) the loss never really moves. */
static void test_on_plateau_stop_and_reduce_lr(void **state) {
  (void)state;
  const char *modes[] = {"stop", "reduce_lr"};
  for (int i = 0; i < 2; i++) {
    char text[1024], name[64], args[256], *out;
    snprintf(text, sizeof text,
             "{\"name\": \"plateau-%s\", \"data\": {\"train\": {\"features\": "
             "\"%s/examples/seed/data/x20.npy\", \"labels\": \"%s/examples/seed/data/y.npy\"}, "
             "\"validation_split\": 0.2}, \"model\": {\"layers\": [{\"type\": \"dense\", "
             "\"units\": 10, \"activation\": \"softmax\"}]}, \"loss\": "
             "\"sparse_categorical_crossentropy\", \"optimizer\": {\"name\": \"sgd\", "
             "\"learning_rate\": 0.001}, \"epochs\": 20, \"batch_size\": 32, \"seed\": 1, "
             "\"monitor\": {\"patience\": 3, \"on_plateau\": \"%s\"}}",
             modes[i], FL_SOURCE_DIR, FL_SOURCE_DIR, modes[i]);
    snprintf(name, sizeof name, "plateau_%s.json", modes[i]);
    write_file(name, text);
    snprintf(args, sizeof args, "--run %s --json", name);
    assert_int_equal(run(args, &out), 3);
    assert_non_null(strstr(out, "\"event\":\"diagnosis\""));
    int epochs = 0;
    for (char *p = strstr(out, "\"event\":\"epoch\""); p; p = strstr(p + 1, "\"event\":\"epoch\""))
      epochs++;
    if (i == 0) {
      assert_true(epochs < 20); /* stopped at the diagnosis */
      assert_non_null(strstr(out, "\"state\":\"done\""));
    } else {
      assert_int_equal(epochs, 20);
      assert_non_null(strstr(out, "\"lr\":0.001,"));
      assert_non_null(strstr(out, "\"lr\":0.0001,")); /* reduced */
    }
    free(out);
  }
}

static void test_on_plateau_fix_repairs(void **state) {
  (void)state;
  check_fix("fix_learning_rate.json", "learning_rate_too_high");
  check_fix("fix_initialization.json", "poor_initialization");
}

/* Noise: 16 features and 3 classes drawn independently, so a wide model
 * memorizes the training rows and its validation loss rises. */
static void write_noise_csv(const char *name, int rows, unsigned seed) {
  char *text = malloc((size_t)rows * 160 + 160), *p = text;
  for (int j = 0; j < 16; j++) p += sprintf(p, "f%d,", j);
  p += sprintf(p, "y\n");
  for (int r = 0; r < rows; r++) {
    for (int j = 0; j < 16; j++) {
      seed = seed * 1103515245u + 12345u;
      p += sprintf(p, "%.3f,", (float)((seed >> 16) % 2000) / 1000.0f - 1.0f);
    }
    seed = seed * 1103515245u + 12345u;
    p += sprintf(p, "%u\n", (seed >> 16) % 3);
  }
  write_file(name, text);
  free(text);
}

/* Early stopping on val_loss, as a Keras user writes it: the job that
 * overfits stops `patience` epochs after its best validation loss, ends
 * done, and says which epoch's weights its model holds (the best's). */
static void test_early_stopping_stops_at_the_best_epoch(void **state) {
  (void)state;
  write_noise_csv("noise_train.csv", 96, 1);
  write_noise_csv("noise_val.csv", 96, 2);
  write_file("early.json",
             "{\"name\": \"early\", \"data\": {\"train\": {\"csv\": \"noise_train.csv\", "
             "\"label_columns\": [\"y\"]}, \"validation\": {\"csv\": \"noise_val.csv\", "
             "\"label_columns\": [\"y\"]}}, \"model\": {\"layers\": [{\"type\": \"dense\", "
             "\"units\": 64, \"activation\": \"relu\"}, {\"type\": \"dense\", \"units\": 3, "
             "\"activation\": \"softmax\"}]}, \"loss\": \"sparse_categorical_crossentropy\", "
             "\"optimizer\": {\"name\": \"adam\", \"learning_rate\": 0.01}, \"epochs\": 40, "
             "\"batch_size\": 16, \"seed\": 3, \"callbacks\": [{\"type\": \"early_stopping\", "
             "\"monitor\": \"val_loss\", \"patience\": 2, \"restore_best_weights\": true}]}");
  char *out;
  int rc = run("--run early.json --json --cache-dir cache", &out);
  /* Noise labels: the diagnosis may name them (exit 3); the job is done. */
  if (rc != 0 && rc != 3) fail_msg("exit %d:\n%s", rc, out);
  double val_loss[41] = {0};
  int epochs = 0, stops = 0;
  for (char *p = strstr(out, "\"event\":\"epoch\""); p; p = strstr(p + 1, "\"event\":\"epoch\"")) {
    char *v = strstr(p, "\"val_loss\":");
    assert_non_null(v);
    if (++epochs <= 40) val_loss[epochs] = strtod(v + strlen("\"val_loss\":"), NULL);
  }
  for (char *p = strstr(out, "\"action\":\"stop\""); p; p = strstr(p + 1, "\"action\":\"stop\""))
    stops++;
  int best = 1;
  for (int e = 2; e <= epochs; e++)
    if (val_loss[e] < val_loss[best]) best = e;
  if (epochs >= 40 || epochs != best + 2)
    fail_msg("ran %d epochs, best val_loss at epoch %d; expected a stop 2 epochs after it:\n%s",
             epochs, best, out);
  assert_int_equal(stops, 1);
  char want[200];
  snprintf(want, sizeof want, "\"event\":\"end\",\"job\":\"early\",\"state\":\"done\"");
  assert_non_null(strstr(out, want));
  snprintf(want, sizeof want, "stopped early after epoch %d of 40: val_loss did not improve "
           "for 2 epochs (early_stopping); the model holds the weights of epoch %d", epochs, best);
  if (!strstr(out, want)) fail_msg("no \"%s\" in:\n%s", want, out);
  free(out);

  /* People read the same in the table's notes. */
  rc = run("--run early.json --cache-dir cache", &out);
  assert_true(rc == 0 || rc == 3);
  assert_non_null(strstr(out, "  -- early_stopping: stopped after epoch"));
  assert_non_null(strstr(out, "  -- early_stopping: the weights of epoch"));
  free(out);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_csv_job_trains_and_prints_epochs),
      cmocka_unit_test(test_csv_class_names_train),
      cmocka_unit_test(test_batch_normalization_trains),
      cmocka_unit_test(test_cnn_trains),
      cmocka_unit_test(test_cnn_takes_image_shape_from_npy),
      cmocka_unit_test(test_same_spec_same_losses),
      cmocka_unit_test(test_bad_jobs_are_rejected_with_a_reason),
      cmocka_unit_test(test_usage),
      cmocka_unit_test(test_fashion_mnist_reaches_087),
      cmocka_unit_test(test_on_plateau_stop_and_reduce_lr),
      cmocka_unit_test(test_on_plateau_fix_repairs),
      cmocka_unit_test(test_early_stopping_stops_at_the_best_epoch),
  };
  int failed = cmocka_run_group_tests(tests, setup, teardown);
  return failed ? failed : fashion_skipped ? 77 : 0;
}
