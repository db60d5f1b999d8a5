/* client/cmd_predict.c — owns `flatline predict ID DATA [LABELS] [-o FILE]`
 * and `flatline evaluate ID DATA [LABELS]`: the data files are uploaded as
 * blobs (as submit does), the daemon runs the job's model on them
 * (docs/protocol.md, `predict`), and the answer is printed: for predict
 * the probabilities, which arrive as float32 binary chunks after the
 * reply, as CSV (class id, then one probability per class) or as a .npy
 * array; for evaluate the loss, accuracy and confusion matrix. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "session.h"

/* The predictions are held in memory before they are written: at most as
 * much as one data file may hold in the daemon (FL_DATA_MAX_BYTES of
 * flatline/data.h, 4 GiB; the client does not link the data library). */
#define PREDICT_MAX_BYTES ((uint64_t)4 << 30)
/* A layer's most units (docs/spec.md), so the most classes. */
#define PREDICT_MAX_CLASSES 65536

static const char *form_of(const char *path) {
  size_t n = strlen(path);
  if (n >= 4 && strcmp(path + n - 4, ".csv") == 0) return "csv";
  if (n >= 4 && strcmp(path + n - 4, ".npy") == 0) return "npy";
  return "idx"; /* MNIST's names: train-images-idx3-ubyte(.gz) */
}

static bool ends_with(const char *s, const char *tail) {
  size_t n = strlen(s), t = strlen(tail);
  return n >= t && strcmp(s + n - t, tail) == 0;
}

/* Connect, hash and upload DATA (and LABELS), send the request. */
static int request(fl_cli_session *s, const fl_cli_args *a, const fl_cli_out *o,
                   bool evaluate, fl_json **reply) {
  fl_cli_job_files jf;
  memset(&jf, 0, sizeof jf);
  jf.spec_path = a->data;
  const char *paths[2] = {a->data, a->labels};
  for (int i = 0; i < 2 && paths[i]; i++) {
    fl_cli_data_file *f = &jf.files[jf.n_files++];
    f->key = i ? "labels" : "features";
    snprintf(f->path, sizeof f->path, "%s", paths[i]);
    f->resolved = strdup(paths[i]);
    if (!f->resolved) {
      fl_cli_job_files_free(&jf);
      return FL_EXIT_FAILED;
    }
  }
  const char *verb = evaluate ? "evaluate" : "predict";
  fl_error err = {0};
  if (fl_cli_spec_hash(&jf, &err)) {
    fprintf(o->err, "flatline: %s %s: %s\n", verb, a->job, err.msg);
    fl_cli_job_files_free(&jf);
    return FL_EXIT_FAILED;
  }
  int rc = fl_cli_session_open(s, a, o, verb, a->job);
  if (!rc) rc = fl_cli_upload(s, &jf);
  if (!rc) {
    fl_jw w;
    int64_t id = fl_cli_request_begin(s, &w, "predict");
    fl_jw_str(&w, "job", a->job);
    fl_jw_str(&w, "form", form_of(a->data));
    fl_jw_str(&w, "features", jf.files[0].sha256);
    if (jf.n_files > 1) fl_jw_str(&w, "labels", jf.files[1].sha256);
    char name[FL_PATH_MAX];
    const char *slash = strrchr(a->data, '/');
    snprintf(name, sizeof name, "%s", slash ? slash + 1 : a->data);
    fl_jw_str(&w, "name", name);
    fl_jw_bool(&w, "evaluate", evaluate);
    rc = fl_cli_request(s, &w, id, reply);
  }
  fl_cli_job_files_free(&jf);
  return rc;
}

static bool get_count(const fl_json *reply, const char *key, double max,
                      uint64_t *out) {
  double v = -1;
  if (!fl_json_number(fl_json_get(reply, key), &v) || !(v >= 0) || v > max ||
      v != floor(v))
    return false;
  *out = (uint64_t)v;
  return true;
}

/* size bytes of binary chunks into buf. */
static int receive(fl_cli_session *s, uint8_t *buf, uint64_t size) {
  uint64_t got = 0;
  while (got < size) {
    fl_frame f;
    fl_error err = {0};
    if (fl_conn_recv(&s->conn, &f, &err) < 0) {
      fl_cli_session_error(s, "the predictions broke off after %llu of %llu "
                           "bytes: %s", (unsigned long long)got,
                           (unsigned long long)size, err.msg);
      return FL_EXIT_FAILED;
    }
    if (f.kind != FL_FRAME_BINARY || f.len > size - got) {
      fl_cli_session_error(s, "the daemon sent something other than the %llu "
                           "bytes of predictions it announced",
                           (unsigned long long)size);
      return FL_EXIT_FAILED;
    }
    memcpy(buf + got, f.data, f.len);
    got += f.len;
  }
  return 0;
}

static float le_float(const uint8_t *p) {
  uint32_t u = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
               (uint32_t)p[3] << 24;
  float v;
  memcpy(&v, &u, sizeof v);
  return v;
}

/* A class name as a CSV field: quoted (RFC 4180, "" for ") when it holds
 * a delimiter, a quote or a line end. */
static void write_csv_name(FILE *f, const char *name) {
  if (!strpbrk(name, ",;|\t\"\r\n")) {
    fputs(name, f);
    return;
  }
  fputc('"', f);
  for (; *name; name++) {
    if (*name == '"') fputc('"', f);
    fputc(*name, f);
  }
  fputc('"', f);
}

/* CSV: "class,p0,...,pK-1" then a row per data row; floats with 9
 * significant digits, which round-trip float32 exactly. A model trained
 * on class names (names: the reply's "class_names", else NULL) adds a
 * "name" column after "class"; an id past the names has an empty one. */
static int write_csv(FILE *f, const uint8_t *probs, uint64_t n, uint64_t k,
                     const fl_json *names) {
  fprintf(f, names ? "class,name" : "class");
  for (uint64_t j = 0; j < k; j++) fprintf(f, ",p%llu", (unsigned long long)j);
  fputc('\n', f);
  for (uint64_t i = 0; i < n; i++) {
    const uint8_t *row = probs + i * k * 4;
    uint64_t best = 0;
    for (uint64_t j = 1; j < k; j++)
      if (le_float(row + j * 4) > le_float(row + best * 4)) best = j;
    fprintf(f, "%llu", (unsigned long long)best);
    if (names) {
      const char *name = fl_json_string(fl_json_array_at(names, (size_t)best));
      fputc(',', f);
      write_csv_name(f, name ? name : "");
    }
    for (uint64_t j = 0; j < k; j++) fprintf(f, ",%.9g", (double)le_float(row + j * 4));
    fputc('\n', f);
  }
  return ferror(f) ? -1 : 0;
}

/* NumPy .npy v1.0: '<f4', C order, shape (n, k); the header padded with
 * spaces to a multiple of 64 bytes, as numpy writes it. */
static int write_npy(FILE *f, const uint8_t *probs, uint64_t n, uint64_t k) {
  char dict[128];
  int len = snprintf(dict, sizeof dict, "{'descr': '<f4', 'fortran_order': "
                     "False, 'shape': (%llu, %llu), }", (unsigned long long)n,
                     (unsigned long long)k);
  size_t total = 10 + (size_t)len + 1;
  size_t pad = (64 - total % 64) % 64;
  uint16_t hlen = (uint16_t)(len + pad + 1);
  fwrite("\x93NUMPY\x01\x00", 1, 8, f);
  fputc(hlen & 0xff, f);
  fputc(hlen >> 8, f);
  fwrite(dict, 1, (size_t)len, f);
  for (size_t i = 0; i < pad; i++) fputc(' ', f);
  fputc('\n', f);
  fwrite(probs, 4, n * k, f); /* already little-endian float32 */
  return ferror(f) ? -1 : 0;
}

static int write_output(fl_cli_session *s, const char *file,
                        const uint8_t *probs, uint64_t n, uint64_t k,
                        const fl_json *names) {
  if (!file) return write_csv(stdout, probs, n, k, names) || fflush(stdout) ? FL_EXIT_FAILED : 0;
  char tmp[FL_PATH_MAX + 8];
  if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp", file) >= sizeof tmp) {
    fl_cli_session_error(s, "the output path is too long");
    return FL_EXIT_FAILED;
  }
  /* O_NOFOLLOW: a planted FILE.tmp link must not redirect the write. */
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0666);
  FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
  if (!f) {
    fl_cli_session_error(s, "cannot create %s: %s (is the folder writable?)",
                         tmp, strerror(errno));
    if (fd >= 0) close(fd);
    return FL_EXIT_FAILED;
  }
  int bad = ends_with(file, ".npy") ? write_npy(f, probs, n, k)
                                    : write_csv(f, probs, n, k, names);
  if (fflush(f) || fsync(fileno(f))) bad = -1;
  if (fclose(f)) bad = -1;
  if (bad || rename(tmp, file) < 0) {
    fl_cli_session_error(s, "cannot write %s: %s", file, strerror(errno));
    unlink(tmp);
    return FL_EXIT_FAILED;
  }
  return 0;
}

static void print_metrics(const fl_cli_out *o, const fl_json *reply,
                          const char *job, const char *event, FILE *text_to) {
  double loss = NAN, acc = NAN;
  bool has = fl_json_number(fl_json_get(reply, "loss"), &loss) &&
             fl_json_number(fl_json_get(reply, "accuracy"), &acc);
  if (o->json) {
    fl_jw w;
    fl_jw_init(&w);
    fl_jw_object_begin(&w, NULL);
    fl_jw_str(&w, "event", event);
    fl_jw_str(&w, "job", job);
    uint64_t rows = 0, classes = 0;
    get_count(reply, "rows", 1e15, &rows);
    get_count(reply, "classes", 1e15, &classes);
    fl_jw_int(&w, "rows", (long long)rows);
    fl_jw_int(&w, "classes", (long long)classes);
    if (has) {
      fl_jw_num(&w, "loss", loss);
      fl_jw_num(&w, "accuracy", acc);
    }
    char *names = fl_json_print(fl_json_get(reply, "class_names"));
    if (names) fl_jw_raw(&w, "class_names", names);
    free(names);
    char *conf = fl_json_print(fl_json_get(reply, "confusion"));
    if (conf) fl_jw_raw(&w, "confusion", conf);
    free(conf);
    fl_cli_print_jw(o, &w);
    return;
  }
  if (!has) return;
  fprintf(text_to, "loss %.6g  accuracy %.4f\n", loss, acc);
  const fl_json *conf = fl_json_get(reply, "confusion");
  size_t k = fl_json_array_size(conf);
  if (!k || text_to != o->out) return;
  fprintf(o->out, "confusion (rows: true class, columns: predicted)\n");
  for (size_t i = 0; i < k; i++) {
    const fl_json *row = fl_json_array_at(conf, i);
    fprintf(o->out, "%4zu |", i);
    for (size_t j = 0; j < fl_json_array_size(row); j++) {
      double v = 0;
      fl_json_number(fl_json_array_at(row, j), &v);
      fprintf(o->out, " %6.0f", v);
    }
    fputc('\n', o->out);
  }
}

int fl_cli_cmd_predict(const fl_cli_args *a, const fl_cli_out *o) {
  if (o->json && !a->output) {
    fprintf(o->err, "flatline: predict --json prints one JSON object; the "
            "predictions need a file: add -o predictions.csv\n");
    return FL_EXIT_USAGE;
  }
  fl_cli_session s;
  memset(&s, 0, sizeof s);
  fl_json *reply = NULL;
  int rc = request(&s, a, o, false, &reply);
  uint64_t n = 0, k = 0, size = 0;
  if (!rc && (!get_count(reply, "rows", 1e15, &n) ||
              !get_count(reply, "classes", PREDICT_MAX_CLASSES, &k) ||
              !get_count(reply, "size", (double)PREDICT_MAX_BYTES, &size) ||
              size != n * k * 4)) {
    fl_cli_session_error(&s, "the daemon's reply gives no valid size of the "
                         "predictions");
    rc = FL_EXIT_FAILED;
  }
  uint8_t *probs = NULL;
  if (!rc && !(probs = malloc(size ? size : 1))) {
    fl_cli_session_error(&s, "out of memory for %llu bytes of predictions",
                         (unsigned long long)size);
    rc = FL_EXIT_FAILED;
  }
  if (!rc) rc = receive(&s, probs, size);
  /* Class names, when the model was trained on them (docs/protocol.md). */
  const fl_json *names = fl_json_get(reply, "class_names");
  if (!fl_json_array_size(names)) names = NULL;
  if (!rc) rc = write_output(&s, a->output, probs, n, k, names);
  /* Stdout may hold the CSV: the people's summary goes to stderr. */
  if (!rc) print_metrics(o, reply, a->job, "predicted", o->json ? o->out : o->err);
  free(probs);
  fl_json_free(reply);
  if (s.connected) fl_cli_session_close(&s);
  return rc;
}

int fl_cli_cmd_evaluate(const fl_cli_args *a, const fl_cli_out *o) {
  fl_cli_session s;
  memset(&s, 0, sizeof s);
  fl_json *reply = NULL;
  int rc = request(&s, a, o, true, &reply);
  if (!rc) print_metrics(o, reply, a->job, "evaluation", o->out);
  fl_json_free(reply);
  if (s.connected) fl_cli_session_close(&s);
  return rc;
}
