/* tests/test_predict.c — end to end, the trained model in use: the real
 * flatlined and flatline, a job trained on a CSV with a validation file,
 * then `flatline predict` and `flatline evaluate` on that validation file
 * (they must agree with the job's last validation epoch: the same rows
 * right, the same loss), the CSV and .npy outputs, and the refusals (a
 * job that is not done, data of the wrong width, another user's job), and
 * fine-tuning from a done job's weights ("init_from"), header-less,
 * semicolon CSV data used the same way, and "normalize": "standardize"
 * kept with the model and applied by predict. */
#define _GNU_SOURCE /* memmem, usleep */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "daemon_fixture.h"
#include "image_fixture.h"

static int setup(void **state_) {
  (void)state_;
  snprintf(dir, sizeof dir, "/tmp/fl-predict-XXXXXX");
  if (!mkdtemp(dir)) return -1;
  chmod(dir, 0755); /* the second user reads its data from here */
  snprintf(sock, sizeof sock, "%s/flatline.sock", dir);
  snprintf(state, sizeof state, "%s/state", dir);
  write_csv("train.csv", 240, 4);
  write_csv("val.csv", 90, 4);
  write_csv("wide.csv", 30, 6);
  /* Few epochs of a small model: not every validation row is right, so
   * that agreeing on the accuracy means agreeing row by row. */
  write_file("job.json",
             "{\"name\": \"p\", \"data\": {\"train\": {\"csv\": \"train.csv\", "
             "\"label_columns\": [\"label\"]}, \"validation\": {\"csv\": "
             "\"val.csv\", \"label_columns\": [\"label\"]}}, \"model\": "
             "{\"layers\": [{\"type\": \"dense\", \"units\": 8, \"activation\": "
             "\"relu\"}, {\"type\": \"dense\", \"units\": 3, \"activation\": "
             "\"softmax\"}]}, \"loss\": \"sparse_categorical_crossentropy\", "
             "\"optimizer\": {\"name\": \"sgd\", \"learning_rate\": 0.02}, "
             "\"epochs\": 2, \"batch_size\": 16, \"seed\": 3}");
  start_daemon(NULL);
  return 0;
}

static int teardown(void **state_) {
  (void)state_;
  return remove_test_dir(SIGTERM);
}

static char job[32];
static double val_acc, val_loss;

static void train(void) {
  if (job[0]) return;
  char *out;
  assert_int_equal(client("--json submit job.json --follow", &out), 0);
  job_id_of(out, job);
  val_acc = last_number(out, "val_accuracy");
  val_loss = last_number(out, "val_loss");
  free(out);
  assert_true(val_acc > 0 && val_acc <= 1);
}

/* The label column of a write_csv file, one id per row. */
static int read_labels(const char *name, int *labels, int max) {
  char path[256], line[512];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "r");
  assert_non_null(f);
  int n = -1;
  while (fgets(line, sizeof line, f)) {
    if (n >= 0 && n < max) labels[n] = atoi(strrchr(line, ',') + 1);
    n++;
  }
  fclose(f);
  return n;
}

static void test_predict_matches_last_validation_epoch(void **s) {
  (void)s;
  train();
  char *out, args[256], path[256], line[512];
  snprintf(args, sizeof args, "predict %s val.csv -o pred.csv", job);
  assert_int_equal(client(args, &out), 0);
  assert_non_null(strstr(out, "accuracy")); /* the summary on stderr */
  free(out);
  int truth[90];
  assert_int_equal(read_labels("val.csv", truth, 90), 90);
  snprintf(path, sizeof path, "%s/pred.csv", dir);
  FILE *f = fopen(path, "r");
  assert_non_null(f);
  assert_non_null(fgets(line, sizeof line, f));
  assert_string_equal(line, "class,p0,p1,p2\n");
  int n = 0, right = 0;
  while (fgets(line, sizeof line, f)) {
    int cls = -1;
    double p[3];
    assert_int_equal(sscanf(line, "%d,%lf,%lf,%lf", &cls, &p[0], &p[1], &p[2]), 4);
    assert_true(fabs(p[0] + p[1] + p[2] - 1.0) < 1e-4);
    assert_true(p[cls] >= p[0] && p[cls] >= p[1] && p[cls] >= p[2]);
    right += n < 90 && cls == truth[n];
    n++;
  }
  fclose(f);
  assert_int_equal(n, 90);
  /* The job's own last validation epoch: the same rows right. */
  assert_int_equal(right, (int)lround(val_acc * 90));
}

/* New data has no labels: a CSV without the job's label column is all
 * features, and gets the same predictions as the labelled file. */
static void test_predict_unlabelled_csv(void **s) {
  (void)s;
  train();
  char *out, args[256], cmd[256];
  snprintf(cmd, sizeof cmd, "cd '%s' && cut -d, -f1-4 val.csv > new.csv", dir);
  assert_int_equal(system(cmd), 0);
  snprintf(args, sizeof args, "predict %s new.csv -o new_pred.csv", job);
  assert_int_equal(client(args, &out), 0);
  assert_null(strstr(out, "accuracy")); /* nothing to score against */
  free(out);
  snprintf(args, sizeof args, "predict %s val.csv -o val_pred.csv", job);
  assert_int_equal(client(args, &out), 0);
  free(out);
  snprintf(cmd, sizeof cmd, "cmp -s '%s/new_pred.csv' '%s/val_pred.csv'", dir, dir);
  assert_int_equal(system(cmd), 0);
  /* evaluate needs the labels, and says which column is missing. */
  snprintf(args, sizeof args, "evaluate %s new.csv", job);
  assert_int_equal(client(args, &out), 1);
  assert_non_null(strstr(out, "label column \"label\" is not in the header"));
  free(out);
}

static void test_evaluate_gives_loss_accuracy_confusion(void **s) {
  (void)s;
  train();
  char *out, args[256];
  snprintf(args, sizeof args, "--json evaluate %s val.csv", job);
  assert_int_equal(client(args, &out), 0);
  assert_non_null(strstr(out, "\"event\":\"evaluation\""));
  assert_true(fabs(last_number(out, "accuracy") - val_acc) < 1e-9);
  assert_true(fabs(last_number(out, "loss") - val_loss) <= 1e-4 * fabs(val_loss));
  /* 3 x 3 counts summing to the 90 rows, the diagonal the right ones. */
  const char *c = strstr(out, "\"confusion\":[[");
  assert_non_null(c);
  c += strlen("\"confusion\":");
  long sum = 0, diag = 0;
  for (int i = 0; i < 3; i++)
    for (int j = 0; j < 3; j++) {
      while (*c && (*c < '0' || *c > '9')) c++;
      long v = strtol(c, (char **)&c, 10);
      sum += v;
      if (i == j) diag += v;
    }
  assert_int_equal(sum, 90);
  assert_int_equal(diag, lround(val_acc * 90));
  free(out);

  /* For people: the numbers and the matrix. */
  snprintf(args, sizeof args, "evaluate %s val.csv", job);
  assert_int_equal(client(args, &out), 0);
  assert_non_null(strstr(out, "accuracy"));
  assert_non_null(strstr(out, "confusion (rows: true class"));
  free(out);
}

static void test_predict_npy_output(void **s) {
  (void)s;
  train();
  char *out, args[256], path[256];
  snprintf(args, sizeof args, "predict %s val.csv -o pred.npy", job);
  assert_int_equal(client(args, &out), 0);
  free(out);
  snprintf(path, sizeof path, "%s/pred.npy", dir);
  struct stat st;
  assert_int_equal(stat(path, &st), 0);
  FILE *f = fopen(path, "rb");
  char head[128] = "";
  assert_int_equal(fread(head, 1, sizeof head, f), sizeof head);
  fclose(f);
  assert_memory_equal(head, "\x93NUMPY\x01\x00", 8);
  size_t hlen = (unsigned char)head[8] | (size_t)(unsigned char)head[9] << 8;
  assert_int_equal((10 + hlen) % 64, 0);
  assert_non_null(memmem(head, sizeof head, "'shape': (90, 3)", 16));
  assert_int_equal((size_t)st.st_size, 10 + hlen + 90 * 3 * 4);
}

static void test_predict_refusals(void **s) {
  (void)s;
  train();
  char *out, args[256];
  /* Rows of another width: named, with the model's. */
  snprintf(args, sizeof args, "predict %s wide.csv", job);
  assert_int_equal(client(args, &out), 1);
  assert_non_null(strstr(out, "rows have 6 features"));
  assert_non_null(strstr(out, "takes 4"));
  free(out);
  /* No such job. */
  assert_int_equal(client("predict j999999 val.csv", &out), 1);
  assert_non_null(strstr(out, "no job j999999"));
  free(out);
  /* --json needs a file for the predictions. */
  snprintf(args, sizeof args, "--json predict %s val.csv", job);
  assert_int_equal(client(args, &out), 2);
  free(out);
  /* Another user may not use the model. */
  if (have_other_user()) {
    snprintf(args, sizeof args, "evaluate %s val.csv", job);
    assert_int_equal(client_as(OTHER_USER, args, &out), 1);
    assert_non_null(strstr(out, "you do not own job"));
    free(out);
  }
}

/* A spec like job.json with init_from and another hidden layer size. */
static void write_finetune(const char *file, const char *from, int units,
                           double lr) {
  char text[1024];
  snprintf(text, sizeof text,
           "{\"name\": \"ft\", \"init_from\": \"%s\", \"data\": {\"train\": "
           "{\"csv\": \"train.csv\", \"label_columns\": [\"label\"]}, "
           "\"validation\": {\"csv\": \"val.csv\", \"label_columns\": "
           "[\"label\"]}}, \"model\": {\"layers\": [{\"type\": \"dense\", "
           "\"units\": %d, \"activation\": \"relu\"}, {\"type\": \"dense\", "
           "\"units\": 3, \"activation\": \"softmax\"}]}, \"loss\": "
           "\"sparse_categorical_crossentropy\", \"optimizer\": {\"name\": "
           "\"sgd\", \"learning_rate\": %g}, \"epochs\": 1, \"batch_size\": 16, "
           "\"seed\": 9}", from, units, lr);
  write_file(file, text);
}

static void test_init_from_starts_from_the_trained_weights(void **s) {
  (void)s;
  train();
  char *out, args[256], ft[32];
  /* A learning rate too small to move the weights: the new job's
   * validation loss is the source's (a fresh start would be near ln 3). */
  write_finetune("ft.json", job, 8, 1e-9);
  /* 3: done, with a diagnosis (such a learning rate is one). */
  int rc = client("--json submit ft.json --follow", &out);
  assert_true(rc == 0 || rc == 3);
  job_id_of(out, ft);
  assert_non_null(strstr(out, "\"state\":\"done\""));
  free(out);
  snprintf(args, sizeof args, "--json evaluate %s val.csv", ft);
  assert_int_equal(client(args, &out), 0);
  assert_true(fabs(last_number(out, "loss") - val_loss) < 1e-4);
  assert_true(fabs(last_number(out, "accuracy") - val_acc) < 1e-9);
  free(out);

  /* Another architecture: refused at submit, naming both. */
  write_finetune("ft_wide.json", job, 16, 0.01);
  assert_int_equal(client("submit ft_wide.json", &out), 1);
  assert_non_null(strstr(out, "layers of 8-3 units, this spec 16-3"));
  free(out);
  /* No such job; a misspelt key gets its name offered. */
  write_finetune("ft_none.json", "j99999", 8, 0.01);
  assert_int_equal(client("submit ft_none.json", &out), 1);
  assert_non_null(strstr(out, "init_from: no job j99999"));
  free(out);
  write_file("ft_typo.json", "{\"init_frm\": \"j1\"}");
  assert_int_equal(client("check ft_typo.json", &out), 1);
  assert_non_null(strstr(out, "init_from"));
  free(out);
  /* Only from one's own jobs. */
  if (have_other_user()) {
    write_finetune("ft_other.json", job, 8, 0.01);
    assert_int_equal(client_as(OTHER_USER, "submit ft_other.json", &out), 1);
    assert_non_null(strstr(out, "fine-tuning starts only from your own jobs"));
    free(out);
  }
}

/* name: src without its header line, with ';' for ','. */
static void write_headerless(const char *name, const char *src) {
  char cmd[512];
  snprintf(cmd, sizeof cmd, "cd '%s' && tail -n +2 %s | tr , ';' > %s", dir, src,
           name);
  assert_int_equal(system(cmd), 0);
}

static void test_headerless_semicolon_csv_keeps_every_row(void **s) {
  (void)s;
  write_headerless("train_nh.csv", "train.csv");
  write_headerless("val_nh.csv", "val.csv");
  write_file("nh.json",
             "{\"name\": \"nh\", \"data\": {\"train\": {\"csv\": "
             "\"train_nh.csv\", \"label_columns\": [4], \"delimiter\": \";\"}, "
             "\"validation\": {\"csv\": \"val_nh.csv\", \"label_columns\": "
             "[4], \"delimiter\": \";\"}}, \"model\": {\"layers\": [{\"type\": "
             "\"dense\", \"units\": 3, \"activation\": \"softmax\"}]}, "
             "\"loss\": \"sparse_categorical_crossentropy\", \"epochs\": 1, "
             "\"seed\": 1}");
  char *out, id[32], args[256];
  int rc = client("--json submit nh.json --follow", &out);
  assert_true(rc == 0 || rc == 3);
  job_id_of(out, id);
  assert_non_null(strstr(out, "\"state\":\"done\""));
  free(out);
  /* All 90 rows: the first one is data, not a header. */
  snprintf(args, sizeof args, "--json evaluate %s val_nh.csv", id);
  assert_int_equal(client(args, &out), 0);
  assert_true(last_number(out, "rows") == 90);
  free(out);
  /* A label named as if there were a header: the reason and the fix. */
  write_file("nh_named.json",
             "{\"data\": {\"train\": {\"csv\": \"train_nh.csv\", "
             "\"label_columns\": [\"label\"], \"delimiter\": \";\"}}, "
             "\"model\": {\"layers\": [{\"type\": \"dense\", \"units\": 3, "
             "\"activation\": \"softmax\"}]}, \"loss\": "
             "\"sparse_categorical_crossentropy\"}");
  client("check nh_named.json", &out);
  assert_non_null(strstr(out, "no header row"));
  free(out);
  /* "header" on a .npy source is named as wrong. */
  write_file("nh_npy.json",
             "{\"data\": {\"train\": {\"features\": \"x.npy\", \"labels\": "
             "\"y.npy\", \"header\": false}}, \"model\": {\"layers\": "
             "[{\"type\": \"dense\", \"units\": 3}]}, \"loss\": "
             "\"sparse_categorical_crossentropy\"}");
  assert_int_not_equal(client("check nh_npy.json", &out), 0);
  assert_non_null(strstr(out, "data.train.header: applies to CSV sources only"));
  free(out);
}

static bool holds(const char *buf, size_t n, const char *needle) {
  return memmem(buf, n, needle, strlen(needle)) != NULL;
}

static void test_standardize_is_kept_and_applied_by_predict(void **s) {
  (void)s;
  /* Features in the thousands: standardized, they train at once. */
  write_file("std.json",
             "{\"name\": \"std\", \"data\": {\"normalize\": \"standardize\", "
             "\"train\": {\"csv\": \"train.csv\", \"label_columns\": "
             "[\"label\"], \"scale\": 1000}, \"validation\": {\"csv\": "
             "\"val.csv\", \"label_columns\": [\"label\"], \"scale\": 1000}}, "
             "\"model\": {\"layers\": [{\"type\": \"dense\", \"units\": 3, "
             "\"activation\": \"softmax\"}]}, \"loss\": "
             "\"sparse_categorical_crossentropy\", \"optimizer\": {\"name\": "
             "\"sgd\", \"learning_rate\": 0.05}, \"epochs\": 2, \"batch_size\": "
             "16, \"seed\": 2}");
  char *out, id[32], args[256];
  int rc = client("--json submit std.json --follow", &out);
  assert_true(rc == 0 || rc == 3);
  job_id_of(out, id);
  double acc = last_number(out, "val_accuracy"), loss = last_number(out, "val_loss");
  free(out);
  /* predict and evaluate standardize the rows with the training
   * statistics (else features in the thousands give another loss). */
  snprintf(args, sizeof args, "--json evaluate %s val.csv", id);
  assert_int_equal(client(args, &out), 0);
  assert_true(fabs(last_number(out, "accuracy") - acc) < 1e-9);
  assert_true(fabs(last_number(out, "loss") - loss) <= 1e-4 * fabs(loss) + 1e-6);
  free(out);
  /* The export says what to do to new data. */
  snprintf(args, sizeof args, "export %s -o std.safetensors", id);
  assert_int_equal(client(args, &out), 0);
  free(out);
  char path[256];
  snprintf(path, sizeof path, "%s/std.safetensors", dir);
  FILE *f = fopen(path, "rb");
  assert_non_null(f);
  char head[4096] = "";
  size_t n = fread(head, 1, sizeof head - 1, f);
  fclose(f);
  assert_true(holds(head, n, "\"normalize\":\"standardize\""));
  assert_true(holds(head, n, "\"normalize_mean\":\"["));
  assert_true(holds(head, n, "\"normalize_std\":\"["));
  assert_true(holds(head, n, "\"scale\":\"1000\""));
  /* A wrong value is named. */
  write_file("std_bad.json",
             "{\"data\": {\"normalize\": \"minmax\", \"train\": {\"csv\": "
             "\"train.csv\", \"label_columns\": [\"label\"]}}, \"model\": "
             "{\"layers\": [{\"type\": \"dense\", \"units\": 3}]}, \"loss\": "
             "\"sparse_categorical_crossentropy\"}");
  assert_int_not_equal(client("check std_bad.json", &out), 0);
  assert_non_null(strstr(out, "data.normalize: expected \"standardize\" or \"none\""));
  free(out);
}

/* Issue 12: a job trained on class names. Its export names the classes
 * (sorted: ids are their order), evaluate takes labels given as names
 * (relabelled by the model's, whatever names the file holds), predict
 * prints each row's name next to its id. */
static void test_class_names_kept_and_used_by_predict(void **s) {
  (void)s;
  char *out, id[32], args[256], cmd[512], path[256], line[512];
  /* The ids of train.csv/val.csv as names, not in sorted order. */
  static const char *awk =
      "awk -F, 'BEGIN{OFS=\",\"; n[0]=\"virginica\"; n[1]=\"setosa\"; "
      "n[2]=\"versicolor\"} NR>1{$NF=n[$NF]} 1'";
  snprintf(cmd, sizeof cmd, "cd '%s' && %s train.csv > ntrain.csv && %s "
           "val.csv > nval.csv", dir, awk, awk);
  assert_int_equal(system(cmd), 0);
  write_file("names.json",
             "{\"name\": \"names\", \"data\": {\"train\": {\"csv\": "
             "\"ntrain.csv\", \"label_columns\": [\"label\"]}, \"validation\": "
             "{\"csv\": \"nval.csv\", \"label_columns\": [\"label\"]}}, "
             "\"model\": {\"layers\": [{\"type\": \"dense\", \"units\": 3, "
             "\"activation\": \"softmax\"}]}, \"loss\": "
             "\"sparse_categorical_crossentropy\", \"optimizer\": {\"name\": "
             "\"sgd\", \"learning_rate\": 0.02}, \"epochs\": 2, "
             "\"batch_size\": 16, \"seed\": 3}");
  int rc = client("--json submit names.json --follow", &out);
  assert_true(rc == 0 || rc == 3);
  job_id_of(out, id);
  double acc = last_number(out, "val_accuracy");
  free(out);
  snprintf(args, sizeof args, "--json evaluate %s nval.csv", id);
  assert_int_equal(client(args, &out), 0);
  assert_true(fabs(last_number(out, "accuracy") - acc) < 1e-9);
  assert_non_null(strstr(out, "\"class_names\":[\"setosa\",\"versicolor\","
                              "\"virginica\"]"));
  free(out);

  /* predict: a name column; the names right as often as the job said. */
  snprintf(args, sizeof args, "predict %s nval.csv -o npred.csv", id);
  assert_int_equal(client(args, &out), 0);
  free(out);
  static const char *const sorted[3] = {"setosa", "versicolor", "virginica"};
  static const int by_old_id[3] = {2, 0, 1}; /* val.csv's id -> name's id */
  int truth[90];
  assert_int_equal(read_labels("val.csv", truth, 90), 90);
  snprintf(path, sizeof path, "%s/npred.csv", dir);
  FILE *f = fopen(path, "r");
  assert_non_null(f);
  assert_non_null(fgets(line, sizeof line, f));
  assert_string_equal(line, "class,name,p0,p1,p2\n");
  int n = 0, right = 0;
  while (fgets(line, sizeof line, f)) {
    int cls = -1;
    char name[32];
    assert_int_equal(sscanf(line, "%d,%31[^,],", &cls, name), 2);
    assert_true(cls >= 0 && cls < 3);
    assert_string_equal(name, sorted[cls]);
    right += n < 90 && cls == by_old_id[truth[n]];
    n++;
  }
  fclose(f);
  assert_int_equal(n, 90);
  assert_int_equal(right, (int)lround(acc * 90));

  /* The export's "classes", as docs/model-format.md has it. */
  snprintf(args, sizeof args, "export %s -o names.safetensors", id);
  assert_int_equal(client(args, &out), 0);
  free(out);
  snprintf(path, sizeof path, "%s/names.safetensors", dir);
  f = fopen(path, "rb");
  assert_non_null(f);
  char head[4096] = "";
  size_t got = fread(head, 1, sizeof head - 1, f);
  fclose(f);
  assert_true(holds(head, got, "\"classes\":\"[\\\"setosa\\\",\\\"versicolor\\\","
                               "\\\"virginica\\\"]\""));

  /* A name the model does not know is named with its row; ids where the
   * model has names are refused, not read as the wrong classes. */
  write_file("cow.csv", "a,b,c,d,label\n1,2,3,4,setosa\n1,2,3,4,cow\n");
  snprintf(args, sizeof args, "evaluate %s cow.csv", id);
  assert_int_equal(client(args, &out), 1);
  assert_non_null(strstr(out, "row 2: class name \"cow\" is not among the 3 "
                              "names of job"));
  free(out);
  snprintf(args, sizeof args, "evaluate %s val.csv", id);
  assert_int_equal(client(args, &out), 1);
  assert_non_null(strstr(out, "labels are class ids (numbers)"));
  free(out);
}

/* .npy data: features alone for predict (labels never read), features
 * and labels for evaluate, which refuses features alone. */
static void test_npy_features_only_and_with_labels(void **s) {
  (void)s;
  char text[1024], *out, id[32], args[512];
  snprintf(text, sizeof text,
           "{\"name\": \"npy\", \"data\": {\"train\": {\"features\": "
           "\"%s/examples/article/data/p1_x.npy\", \"labels\": "
           "\"%s/examples/article/data/p1_y.npy\"}}, \"model\": {\"layers\": "
           "[{\"type\": \"dense\", \"units\": 3, \"activation\": "
           "\"softmax\"}]}, \"loss\": \"sparse_categorical_crossentropy\", "
           "\"epochs\": 1, \"batch_size\": 32}",
           FL_SOURCE_DIR, FL_SOURCE_DIR);
  write_file("npy.json", text);
  int rc = client("--json submit npy.json --follow", &out);
  assert_true(rc == 0 || rc == 3);
  job_id_of(out, id);
  free(out);
  snprintf(args, sizeof args, "predict %s %s/examples/article/data/p1_x.npy "
           "-o npy.csv", id, FL_SOURCE_DIR);
  assert_int_equal(client(args, &out), 0);
  free(out);
  char path[256], line[512];
  snprintf(path, sizeof path, "%s/npy.csv", dir);
  FILE *f = fopen(path, "r");
  assert_non_null(f);
  int n = 0;
  while (fgets(line, sizeof line, f)) n++;
  fclose(f);
  assert_int_equal(n, 1 + 100); /* header and every row */
  snprintf(args, sizeof args, "--json evaluate %s %s/examples/article/data/p1_x.npy "
           "%s/examples/article/data/p1_y.npy", id, FL_SOURCE_DIR, FL_SOURCE_DIR);
  assert_int_equal(client(args, &out), 0);
  assert_true(last_number(out, "rows") == 100);
  assert_true(last_number(out, "accuracy") >= 0);
  free(out);
  snprintf(args, sizeof args, "evaluate %s %s/examples/article/data/p1_x.npy", id,
           FL_SOURCE_DIR);
  assert_int_equal(client(args, &out), 1);
  assert_non_null(strstr(out, "evaluate needs labels"));
  free(out);
}

/* Issue 13: a conv job whose spec has no input_shape took its image
 * (6x5x2) from the 4-D .npy it trained on; predict reads it back from the
 * model file, and rows of the same 60 values as (N, 60) get the same
 * probabilities. */
static void test_cnn_image_shape_kept_for_predict(void **s) {
  (void)s;
  image_set_write(dir, "img_x.npy", "img_y.npy", 40, "(40, 6, 5, 2)");
  image_set_write(dir, "flat_x.npy", "flat_y.npy", 40, "(40, 60)");
  write_file("img.json",
             "{\"name\": \"img\", \"data\": {\"train\": {\"features\": "
             "\"img_x.npy\", \"labels\": \"img_y.npy\"}}, \"model\": "
             "{\"layers\": [{\"type\": \"conv2d\", \"filters\": 2, "
             "\"kernel_size\": 3, \"activation\": \"relu\"}, {\"type\": "
             "\"flatten\"}, {\"type\": \"dense\", \"units\": 3, \"activation\": "
             "\"softmax\"}]}, \"loss\": \"sparse_categorical_crossentropy\", "
             "\"epochs\": 1, \"batch_size\": 8, \"seed\": 2}");
  char *out, id[32], args[256];
  int rc = client("--json submit img.json --follow", &out);
  if (rc != 0 && rc != 3) fail_msg("submit exited %d:\n%s", rc, out);
  assert_non_null(strstr(out, "\"state\":\"done\""));
  job_id_of(out, id);
  free(out);
  char *pred[2];
  const char *files[2] = {"img_x.npy", "flat_x.npy"};
  for (int i = 0; i < 2; i++) {
    snprintf(args, sizeof args, "predict %s %s -o img%d.csv", id, files[i], i);
    rc = client(args, &out);
    if (rc != 0) fail_msg("predict on %s exited %d:\n%s", files[i], rc, out);
    free(out);
    char path[256];
    snprintf(path, sizeof path, "%s/img%d.csv", dir, i);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    pred[i] = calloc(1, 8192);
    assert_non_null(pred[i]);
    size_t got = fread(pred[i], 1, 8191, f);
    fclose(f);
    assert_true(got > 0 && got < 8191);
    assert_int_equal(count(pred[i], "\n"), 1 + 40); /* header and every row */
  }
  assert_string_equal(pred[0], pred[1]);
  free(pred[0]);
  free(pred[1]);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_predict_matches_last_validation_epoch),
      cmocka_unit_test(test_predict_unlabelled_csv),
      cmocka_unit_test(test_evaluate_gives_loss_accuracy_confusion),
      cmocka_unit_test(test_predict_npy_output),
      cmocka_unit_test(test_predict_refusals),
      cmocka_unit_test(test_init_from_starts_from_the_trained_weights),
      cmocka_unit_test(test_headerless_semicolon_csv_keeps_every_row),
      cmocka_unit_test(test_standardize_is_kept_and_applied_by_predict),
      cmocka_unit_test(test_npy_features_only_and_with_labels),
      cmocka_unit_test(test_class_names_kept_and_used_by_predict),
      cmocka_unit_test(test_cnn_image_shape_kept_for_predict),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
