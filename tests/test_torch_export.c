/* tests/test_torch_export.c — the export used outside flatline: a job
 * trained through the real daemon and client is exported, loaded into
 * PyTorch as docs/model-format.md says (tests/torch_predict.py), and
 * PyTorch must reproduce `flatline predict` on the validation file:
 * every probability and every class, for a plain model and one with batch
 * normalization. Without python3 or PyTorch (Debian:
 * python3-torch) the test says so and the file exits 77, which ctest
 * reports as skipped. */
#define _GNU_SOURCE /* memmem, usleep */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "daemon_fixture.h"

static bool skipped;

static int setup(void **state_) {
  (void)state_;
  snprintf(dir, sizeof dir, "/tmp/fl-torch-XXXXXX");
  if (!mkdtemp(dir)) return -1;
  snprintf(sock, sizeof sock, "%s/flatline.sock", dir);
  snprintf(state, sizeof state, "%s/state", dir);
  write_csv("train.csv", 240, 5);
  write_csv("val.csv", 60, 5);
  /* Every activation a user may put between layers, the fused softmax
   * output, and the preprocessing the metadata tells PyTorch to repeat. */
  write_file("job.json",
             "{\"name\": \"torch\", \"data\": {\"normalize\": \"standardize\", "
             "\"train\": {\"csv\": \"train.csv\", \"label_columns\": [\"label\"], "
             "\"scale\": 0.5}, \"validation\": {\"csv\": \"val.csv\", "
             "\"label_columns\": [\"label\"], \"scale\": 0.5}}, \"model\": "
             "{\"layers\": [{\"type\": \"dense\", \"units\": 12, \"activation\": "
             "\"relu\"}, {\"type\": \"dense\", \"units\": 7, \"activation\": "
             "\"tanh\"}, {\"type\": \"dense\", \"units\": 6, \"activation\": "
             "\"leaky_relu\"}, {\"type\": \"dense\", \"units\": 3, "
             "\"activation\": \"softmax\"}]}, \"loss\": "
             "\"sparse_categorical_crossentropy\", \"epochs\": 3, "
             "\"batch_size\": 16, \"seed\": 4}");
  /* Batch normalization both ways round (after a relu; before a tanh,
   * with an activation entry), without beta on one, with dropout after
   * it: the moving statistics in the file must give flatline's
   * predictions. A high momentum's statistics lag the batch's: the
   * inference formula is what is checked, not a batch's. */
  write_file("job_bn.json",
             "{\"name\": \"torch-bn\", \"data\": {\"train\": {\"csv\": "
             "\"train.csv\", \"label_columns\": [\"label\"]}, \"validation\": "
             "{\"csv\": \"val.csv\", \"label_columns\": [\"label\"]}}, "
             "\"model\": {\"layers\": [{\"type\": \"dense\", \"units\": 12, "
             "\"activation\": \"relu\"}, {\"type\": \"batch_normalization\"}, "
             "{\"type\": \"dropout\", \"rate\": 0.2}, {\"type\": \"dense\", "
             "\"units\": 7}, {\"type\": \"batch_normalization\", \"momentum\": "
             "0.9, \"epsilon\": 0.01, \"center\": false}, {\"type\": "
             "\"activation\", \"activation\": \"tanh\"}, {\"type\": \"dense\", "
             "\"units\": 3, \"activation\": \"softmax\"}]}, \"loss\": "
             "\"sparse_categorical_crossentropy\", \"epochs\": 3, "
             "\"batch_size\": 16, \"seed\": 4}");
  /* Conv layers (issue 13): rows of 18 features as 3x3x2 images, a
   * "same" conv with stride 2 on one axis and max pooling with "same"
   * padding, a "valid" conv with average pooling, flatten, dense. */
  write_csv("img_train.csv", 240, 18);
  write_csv("img_val.csv", 60, 18);
  write_file("job_conv.json",
             "{\"name\": \"torch-conv\", \"data\": {\"train\": {\"csv\": "
             "\"img_train.csv\", \"label_columns\": [\"label\"]}, "
             "\"validation\": {\"csv\": \"img_val.csv\", \"label_columns\": "
             "[\"label\"]}}, \"model\": {\"layers\": [{\"type\": \"conv2d\", "
             "\"filters\": 4, \"kernel_size\": [2, 3], \"strides\": [1, 2], "
             "\"padding\": \"same\", \"activation\": \"relu\", "
             "\"input_shape\": [3, 3, 2]}, {\"type\": \"max_pooling2d\", "
             "\"pool_size\": 2, \"strides\": 1, \"padding\": \"same\"}, "
             "{\"type\": \"conv2d\", \"filters\": 3, \"kernel_size\": 2, "
             "\"activation\": \"tanh\"}, {\"type\": "
             "\"average_pooling2d\", \"pool_size\": [2, 1], \"strides\": 1}, "
             "{\"type\": \"flatten\"}, {\"type\": \"dense\", \"units\": 3, "
             "\"activation\": \"softmax\"}]}, \"loss\": "
             "\"sparse_categorical_crossentropy\", \"epochs\": 3, "
             "\"batch_size\": 16, \"seed\": 4}");
  start_daemon(NULL);
  return 0;
}

static int teardown(void **state_) {
  (void)state_;
  return remove_test_dir(SIGTERM);
}

static void pytorch_reproduces(const char *spec) {
  if (access("/usr/bin/python3", X_OK) != 0) {
    fprintf(stderr, "skipped: no /usr/bin/python3 (Debian: apt-get install "
            "python3 python3-torch)\n");
    skipped = true;
    return;
  }
  char *out, id[32], args[256];
  snprintf(args, sizeof args, "--json submit %s --follow", spec);
  int rc = client(args, &out);
  assert_true(rc == 0 || rc == 3);
  job_id_of(out, id);
  assert_non_null(strstr(out, "\"state\":\"done\""));
  free(out);
  snprintf(args, sizeof args, "export %s -o model.safetensors", id);
  assert_int_equal(client(args, &out), 0);
  free(out);
  snprintf(args, sizeof args, "predict %s %s -o pred.csv", id,
           strstr(spec, "conv") ? "img_val.csv" : "val.csv");
  rc = client(args, &out);
  if (rc != 0) fail_msg("%s: %s", args, out);
  free(out);
  char cmd[1024];
  const char *val = strstr(spec, "conv") ? "img_val.csv" : "val.csv";
  snprintf(cmd, sizeof cmd, "cd '%s' && /usr/bin/python3 '%s/tests/torch_predict.py' "
           "model.safetensors %s label pred.csv 2>&1", dir, FL_SOURCE_DIR, val);
  rc = run_capture(cmd, &out);
  fprintf(stderr, "%s", out);
  if (rc == 77) {
    skipped = true;
  } else {
    assert_int_equal(rc, 0);
    assert_non_null(strstr(out, "PyTorch reproduces 60 predictions"));
  }
  free(out);
}

static void test_pytorch_reproduces_predict(void **s) {
  (void)s;
  pytorch_reproduces("job.json");
}

static void test_pytorch_reproduces_batch_normalization(void **s) {
  (void)s;
  pytorch_reproduces("job_bn.json");
}

static void test_pytorch_reproduces_conv(void **s) {
  (void)s;
  pytorch_reproduces("job_conv.json");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_pytorch_reproduces_conv),
      cmocka_unit_test(test_pytorch_reproduces_predict),
      cmocka_unit_test(test_pytorch_reproduces_batch_normalization),
  };
  int failed = cmocka_run_group_tests(tests, setup, teardown);
  return failed ? failed : skipped ? 77 : 0;
}
