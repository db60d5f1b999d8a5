/* daemon/predict.c — owns the `predict` request (docs/protocol.md): a done
 * job's model applied to uploaded data, on the device, by the device's
 * worker thread between jobs (never on the loop).
 *
 * Loop: check (ownership is checked by the caller, requests.c), queue a
 * task on the worker of the device the job ran on, and later, from the
 * worker's mail, reply: for evaluate, loss, accuracy and a confusion
 * matrix; for predict, the probabilities (rows, classes) as little-endian
 * float32 in binary chunks after the reply, streamed from a temporary
 * file in the job's folder by the pump (as an export is), the file
 * removed as soon as the pump holds it open.
 * Worker: load the data under the daemon's memory budget (job_data.c's
 * rules: header-only bound reserved first, links not followed), build a
 * trainer for the job's model, load model.safetensors into it, and run
 * the forward pass (fl_trainer_predict / fl_trainer_evaluate). */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "client.h"
#include "fsutil.h"
#include "job_data.h"
#include "predict.h"

/* A confusion matrix goes into the JSON reply only up to this many
 * classes: 100 x 100 counts are at most about 200 KB of JSON, within the
 * 1 MiB frame (FL_FRAME_MAX_JSON) with room for the rest. */
#define PREDICT_MAX_CONFUSION_CLASSES 100

/* A predict waits this long at most for the data memory budget: it holds
 * the device's worker, which queued jobs wait for. */
#define PREDICT_MAX_WAIT_S 30.0

/* The model file is read whole; a model flatline can train (FL_MAX_LAYERS
 * layers of at most 65536 x 65536) is far below this, and a file past it
 * is not one flatline wrote. */
#define PREDICT_MODEL_MAX_BYTES ((size_t)4 << 30)

struct fl_predict_task {
  fl_client *c;
  fl_daemon *d;
  int64_t id;
  uid_t uid;
  char job_id[FL_JOB_ID_MAX];
  char job_dir[4096];
  char *spec_text;
  size_t spec_len;
  char form[8];
  char features[FL_SHA256_HEX];
  char labels[FL_SHA256_HEX]; /* "" when none was sent */
  char name[FL_PATH_MAX];
  bool evaluate;
  /* Filled by the worker. */
  int rc;
  fl_error err;
  char out_path[4300]; /* predict: the probabilities file */
  size_t n, k;
  bool has_labels;
  double loss, accuracy;
  uint64_t *confusion; /* (k, k) true x predicted, k small enough */
  char *classes;       /* the model's class names, a JSON array; or NULL */
  struct fl_predict_task *next;
};

fl_predict_task *fl_predict_task_next(const fl_predict_task *t) {
  return t->next;
}

static void task_free(fl_predict_task *t) {
  if (!t) return;
  if (t->out_path[0]) unlink(t->out_path);
  free(t->spec_text);
  free(t->confusion);
  free(t->classes);
  free(t);
}


/* ---- loop: the request ---- */

void fl_predict_request(fl_client *c, const fl_request *r, fl_job *job) {
  fl_daemon *d = c->d;
  const char *verb = r->evaluate ? "evaluate" : "predict";
  if (job->state != FL_JOB_DONE) {
    fl_reply_error(c, r->id, "not_found", "job %s has no trained model (state "
                "%s); %s needs a job that is done", job->id,
                fl_job_state_name(job->state), verb);
    return;
  }
  char model[4200];
  struct stat st;
  snprintf(model, sizeof model, "%s/model.safetensors", job->dir);
  if (lstat(model, &st) != 0 || !S_ISREG(st.st_mode)) {
    fl_reply_error(c, r->id, "not_found", "job %s is done but its model file is "
                "missing or unreadable", job->id);
    return;
  }
  const char *shas[2] = {r->sha256, r->labels_sha256};
  for (int i = 0; i < 2; i++)
    if (shas[i][0] && !fl_blob_exists(d, c->uid, shas[i], NULL)) {
      fl_reply_error(c, r->id, "not_found", "blob %.12s… is not uploaded for "
                  "you; upload it first (blob_put)", shas[i]);
      return;
    }
  if (r->evaluate && !r->labels_sha256[0] && strcmp(r->form, "csv") != 0) {
    fl_reply_error(c, r->id, "bad_request", "evaluate needs labels: give the "
                "labels file after the features (flatline evaluate %s X.npy "
                "y.npy)", job->id);
    return;
  }
  if (d->n_workers < 1) {
    fl_reply_error(c, r->id, "unavailable", "the daemon has no device");
    return;
  }
  fl_predict_task *t = calloc(1, sizeof *t);
  fl_error err = {0};
  if (!t || fl_job_read_spec(job, &t->spec_text, &t->spec_len, &err)) {
    fl_reply_error(c, r->id, "internal", "%s", t ? err.msg : "out of memory");
    free(t);
    return;
  }
  t->c = c;
  t->d = d;
  t->id = r->id;
  t->uid = c->uid;
  snprintf(t->job_id, sizeof t->job_id, "%s", job->id);
  snprintf(t->job_dir, sizeof t->job_dir, "%s", job->dir);
  snprintf(t->form, sizeof t->form, "%s", r->form);
  memcpy(t->features, r->sha256, FL_SHA256_HEX);
  memcpy(t->labels, r->labels_sha256, FL_SHA256_HEX);
  snprintf(t->name, sizeof t->name, "%s", r->data_name);
  t->evaluate = r->evaluate;
  /* The device the job trained on: its model fits there. */
  fl_worker *w = &d->workers[job->device >= 0 && job->device < d->n_workers
                                 ? job->device : 0];
  c->pending++;
  pthread_mutex_lock(&w->lock);
  fl_predict_task **tail = &w->tasks;
  while (*tail) tail = &(*tail)->next;
  *tail = t;
  pthread_cond_signal(&w->wake);
  pthread_mutex_unlock(&w->lock);
}

/* ---- worker: the forward pass ---- */

typedef struct {
  const fl_predict_task *t;
  const char *labels_name;
} task_resolver;

static int resolve_task_blob(void *ctx, const char *spec_path, char *out,
                             size_t out_size, fl_error *err) {
  const task_resolver *r = ctx;
  const char *sha = strcmp(spec_path, r->labels_name) == 0 ? r->t->labels
                                                           : r->t->features;
  if (fl_blob_path(r->t->d, r->t->uid, sha, out, out_size))
    return fl_error_set(err, FL_ETOOBIG, "%s: blob path too long", spec_path);
  return 0;
}

/* Features without labels (npy or idx, or a CSV without the job's label
 * columns): read under the budget, labels all 0 so that the trainer takes
 * the set; they are never read. */
static int load_features_only(fl_predict_task *t, const fl_data_source *src,
                              fl_dataset *ds, uint64_t *held, fl_error *err) {
  char path[4200];
  uint64_t bound = 0;
  fl_data_form form = src->kind == FL_SRC_IDX   ? FL_FORM_IDX
                      : src->kind == FL_SRC_CSV ? FL_FORM_CSV
                                                : FL_FORM_NPY;
  int rc;
  if (fl_blob_path(t->d, t->uid, t->features, path, sizeof path))
    return fl_error_set(err, FL_ETOOBIG, "%s: blob path too long", t->name);
  if ((rc = fl_data_load_bound(path, form, FL_READ_NOFOLLOW, &bound, err))) {
    fl_error_prefix(err, "%s", t->name);
    return rc;
  }
  /* The zero labels, 4 bytes a row: at most a quarter of the float32 x. */
  bound += bound / 4;
  if ((rc = fl_mem_acquire(&t->d->mem, bound, &t->d->stopping,
                           PREDICT_MAX_WAIT_S, "the data to predict on", err)))
    return rc;
  *held = bound;
  uint8_t *buf = NULL;
  size_t len = 0;
  fl_array x = {0}, y = {0};
  rc = fl_file_read_ex(path, FL_DATA_MAX_BYTES, FL_READ_NOFOLLOW, &buf, &len, err);
  if (!rc && form == FL_FORM_CSV) {
    fl_csv_options opt = {(fl_csv_header)src->csv_header, src->delimiter, false};
    fl_array none = {0};
    rc = fl_csv_parse_ex(buf, len, t->name, &opt, NULL, NULL, 0, &x, &none, err);
    fl_array_free(&none);
  } else if (!rc) {
    rc = (form == FL_FORM_IDX ? fl_idx_parse : fl_npy_parse)(buf, len, t->name,
                                                             &x, err);
  }
  free(buf);
  if (!rc && (x.ndim < 1 || x.shape[0] == 0))
    rc = fl_error_set(err, FL_EDATA, "%s: no rows to predict on", t->name);
  if (!rc) {
    y.ndim = 1;
    y.shape[0] = y.count = x.shape[0];
    y.integral = true;
    snprintf(y.dtype, sizeof y.dtype, "<i4");
    y.data = calloc(y.count, sizeof(float));
    if (!y.data) rc = fl_error_set(err, FL_ENOMEM, "out of host memory");
  }
  if (!rc)
    rc = fl_dataset_from_arrays(&x, &y, src->has_scale ? src->scale : 1.0f,
                                t->name, t->name, ds, err);
  fl_array_free(&x);
  fl_array_free(&y);
  return rc;
}

static int load_task_data(fl_predict_task *t, const fl_job_spec *job_spec,
                          fl_dataset *ds, uint64_t *held, fl_error *err) {
  const fl_data_source *train = &job_spec->train;
  fl_source_kind kind = strcmp(t->form, "csv") == 0   ? FL_SRC_CSV
                        : strcmp(t->form, "idx") == 0 ? FL_SRC_IDX
                                                      : FL_SRC_NPY;
  /* The job's own source settings: its scale and its CSV label columns. */
  fl_data_source src = {.kind = kind, .has_scale = train->has_scale,
                        .scale = train->scale};
  snprintf(src.features, sizeof src.features, "%s", t->name);
  if (kind == FL_SRC_CSV) {
    if (train->kind != FL_SRC_CSV)
      return fl_error_set(err, FL_EDATA, "%s: job %s trained on %s files, not "
                          "CSV; give the data in the form the job had", t->name,
                          t->job_id, train->kind == FL_SRC_IDX ? "IDX" : ".npy");
    src.csv_header = train->csv_header;
    src.delimiter = train->delimiter;
    src.n_label_columns = train->n_label_columns;
    src.label_columns = train->label_columns; /* borrowed, not freed here */
  } else if (!t->labels[0]) {
    return load_features_only(t, &src, ds, held, err);
  } else {
    snprintf(src.labels, sizeof src.labels, "%s labels", t->name);
  }
  fl_job_spec one = {0};
  one.train = src;
  task_resolver res = {t, src.labels};
  fl_load_opts opts = {.read_flags = FL_READ_NOFOLLOW, .budget = &t->d->mem,
                       .stop = &t->d->stopping, .max_wait_s = PREDICT_MAX_WAIT_S};
  fl_dataset none = {0};
  bool has_val = false;
  int rc = fl_job_load_data_ex(&one, resolve_task_blob, &res, &opts, ds, &none,
                               &has_val, err);
  *held = opts.held;
  t->has_labels = rc == 0;
  /* A CSV without the job's label columns: unlabelled rows, every column
   * a feature (evaluate needs the labels: it says which are missing). */
  if (rc == FL_EDATA && kind == FL_SRC_CSV && !t->evaluate &&
      strstr(err->msg, "is not in the header")) {
    fl_error why = *err;
    memset(err, 0, sizeof *err);
    rc = load_features_only(t, &src, ds, held, err);
    if (rc == FL_EDATA && strstr(err->msg, "expected a number"))
      *err = why; /* text columns: the label column's absence is the news */
  }
  return rc;
}

/* The input width of the model file: layers.0.kernel's first dimension,
 * read from the header text flatline wrote (engine/safetensors.c); for a
 * conv2d first layer also its image (H, W, C) into image (else all 0). */
static size_t model_input_dim(const uint8_t *buf, size_t len, size_t image[3]) {
  image[0] = image[1] = image[2] = 0;
  if (len < 8) return 0;
  uint64_t n = 0;
  for (int i = 7; i >= 0; i--) n = n << 8 | buf[i];
  if (n > len - 8) return 0;
  const char *key = "\"layers.0.kernel\":{\"dtype\":\"F32\",\"shape\":[";
  size_t kl = strlen(key);
  for (size_t i = 8; i + kl < 8 + n; i++)
    if (memcmp(buf + i, key, kl) == 0) {
      size_t v = 0, j = i + kl;
      for (; j < 8 + n && buf[j] >= '0' && buf[j] <= '9'; j++)
        v = v * 10 + (size_t)(buf[j] - '0');
      /* a conv2d first layer (kernel (kh, kw, cin, filters)): the width
       * is its image's h*w*c, the first input_shape of the "conv2d"
       * metadata (a JSON string, so its quotes are escaped) */
      int commas = 0;
      for (size_t q = j; q < 8 + n && buf[q] != ']'; q++) commas += buf[q] == ',';
      if (commas == 3) {
        const char *shape = "\\\"input_shape\\\":[";
        size_t sl = strlen(shape);
        for (size_t a = 8; a + sl < 8 + n; a++)
          if (memcmp(buf + a, shape, sl) == 0) {
            size_t prod = 1, b = a + sl, hwc[3];
            for (int d = 0; d < 3; d++, b++) {
              size_t x = 0;
              /* sides and channels have at most 4 digits (spec_conv.c's
               * limits): a 9-digit one is no model flatline wrote, and
               * refusing it keeps prod from overflowing */
              for (int digits = 0; b < 8 + n && buf[b] >= '0' && buf[b] <= '9';
                   b++, digits++) {
                if (digits == 9) return 0;
                x = x * 10 + (size_t)(buf[b] - '0');
              }
              hwc[d] = x;
              prod *= x;
            }
            memcpy(image, hwc, sizeof hwc);
            return prod;
          }
        return 0;
      }
      return v;
    }
  return 0;
}

/* The metadata entry key, a JSON string holding a JSON array of d
 * numbers (engine/safetensors.c writes it with no escapes: digits, signs,
 * '.', 'e' and commas), into a new (d) array; NULL when absent, or when
 * it does not hold d numbers (*bad set). */
static float *meta_floats(const uint8_t *hdr, size_t hdr_len, const char *key,
                          size_t d, bool *bad) {
  char pat[64];
  int pl = snprintf(pat, sizeof pat, "\"%s\":\"[", key);
  const char *h = (const char *)hdr, *at = NULL;
  for (size_t i = 0; i + (size_t)pl <= hdr_len; i++)
    if (memcmp(h + i, pat, (size_t)pl) == 0) {
      at = h + i + pl;
      break;
    }
  if (!at) return NULL;
  float *v = malloc((d ? d : 1) * sizeof *v);
  const char *end = h + hdr_len;
  for (size_t j = 0; v && j < d; j++) {
    char num[64];
    size_t n = 0;
    while (at + n < end && n < sizeof num - 1 && strchr("0123456789+-.eE", at[n]))
      n++;
    memcpy(num, at, n);
    num[n] = '\0';
    char *stop;
    double x = strtod(num, &stop);
    char want = j + 1 < d ? ',' : ']';
    if (n == 0 || *stop || at + n >= end || at[n] != want) {
      free(v);
      v = NULL;
      break;
    }
    v[j] = (float)x;
    at += n + 1;
  }
  if (!v) *bad = true;
  return v;
}

/* The metadata "classes" of the header text (hdr_len bytes): a JSON
 * array of strings, reprinted (malloc'd) into *out; *out NULL when the
 * model has none. FL_EDATA when it is there but not such an array. */
static int meta_classes(const uint8_t *hdr, size_t hdr_len, const char *path,
                        char **out, fl_error *err) {
  *out = NULL;
  fl_error perr = {0};
  fl_json *root = fl_json_parse((const char *)hdr, hdr_len, &perr);
  const char *text =
      fl_json_string(fl_json_get(fl_json_get(root, "__metadata__"), "classes"));
  fl_json *arr = text ? fl_json_parse(text, strlen(text), &perr) : NULL;
  bool ok = !text || (arr && fl_json_array_size(arr) > 0);
  for (size_t i = 0; ok && arr && i < fl_json_array_size(arr); i++)
    ok = fl_json_string(fl_json_array_at(arr, i)) != NULL;
  if (ok && arr && !(*out = fl_json_print(arr)))
    ok = false;
  fl_json_free(arr);
  fl_json_free(root);
  if (!ok)
    return fl_error_set(err, FL_EDATA, "%s: its \"classes\" metadata is not "
                        "a JSON array of class names", path);
  return 0;
}

int fl_model_read_params(const char *path, float **params, size_t *n,
                         size_t *input_dim, size_t image[3], float **mean,
                         float **std, char **classes, fl_error *err) {
  uint8_t *model = NULL;
  size_t len = 0, hwc[3] = {0, 0, 0};
  *params = NULL;
  *n = *input_dim = 0;
  if (image) memcpy(image, hwc, sizeof hwc);
  if (mean) *mean = NULL;
  if (std) *std = NULL;
  if (classes) *classes = NULL;
  int rc = fl_file_read_ex(path, PREDICT_MODEL_MAX_BYTES, FL_READ_NOFOLLOW,
                           &model, &len, err);
  if (rc) return rc;
  uint64_t hdr = 0;
  for (int i = 7; len >= 8 && i >= 0; i--) hdr = hdr << 8 | model[i];
  if (len < 8 || hdr > len - 8 || (len - 8 - hdr) % sizeof(float) != 0) {
    free(model);
    return fl_error_set(err, FL_EDATA, "%s is not a model flatline wrote", path);
  }
  size_t P = (len - 8 - hdr) / sizeof(float);
  float *out = malloc((P ? P : 1) * sizeof *out);
  if (!out) {
    free(model);
    return fl_error_set(err, FL_ENOMEM, "out of host memory for %zu parameters", P);
  }
  const uint8_t *p = model + 8 + hdr;
  for (size_t i = 0; i < P; i++) { /* little-endian float32, any host */
    uint32_t u = (uint32_t)p[4 * i] | (uint32_t)p[4 * i + 1] << 8 |
                 (uint32_t)p[4 * i + 2] << 16 | (uint32_t)p[4 * i + 3] << 24;
    memcpy(&out[i], &u, sizeof u);
  }
  *input_dim = model_input_dim(model, len, hwc);
  if (image) memcpy(image, hwc, sizeof hwc);
  bool bad = false;
  if (mean && std) {
    *mean = meta_floats(model + 8, hdr, "normalize_mean", *input_dim, &bad);
    *std = meta_floats(model + 8, hdr, "normalize_std", *input_dim, &bad);
    if (bad || !*mean != !*std) {
      free(*mean);
      free(*std);
      *mean = *std = NULL;
      free(model);
      free(out);
      return fl_error_set(err, FL_EDATA, "%s: its normalization metadata "
                          "does not hold %zu numbers each", path, *input_dim);
    }
  }
  if (classes && (rc = meta_classes(model + 8, hdr, path, classes, err))) {
    if (mean) free(*mean);
    if (std) free(*std);
    if (mean) *mean = NULL;
    if (std) *std = NULL;
    free(model);
    free(out);
    return rc;
  }
  free(model);
  *params = out;
  *n = P;
  return 0;
}

size_t fl_model_param_count(const fl_job_spec *spec, size_t input_dim) {
  size_t total = 0, in = input_dim;
  /* conv2d layers (issue 13): kernel (kh, kw, cin, filters), bias
   * (filters); the shapes give cin and the next layer's width */
  fl_layer_shape shapes[FL_MAX_LAYERS];
  bool known;
  fl_error ignored = {0};
  if (fl_model_shapes(spec->layers, spec->n_layers, input_dim, shapes, &known,
                      &ignored))
    return 0;
  for (int l = 0; l < spec->n_layers; l++) {
    size_t out = (size_t)spec->layers[l].units;
    const fl_layer_spec *ls = &spec->layers[l];
    if (ls->kind == FL_LAYER_CONV2D) {
      total += (size_t)ls->kernel_size[0] * (size_t)ls->kernel_size[1] *
                   (size_t)shapes[l].c * out + out;
      in = shapes[l].flat_out;
      continue;
    }
    total += in * out + out; /* kernel (in, out), bias (out) */
    /* batch normalization: gamma, beta (out, when scale / center) and the
     * moving mean and variance (out each), all in the model file */
    if (ls->bn) total += out * (2 + (ls->bn_scale ? 1 : 0) + (ls->bn_center ? 1 : 0));
    in = out;
  }
  return total;
}

/* Relabel ds (read from class names) by the model's names, t->classes. */
static int map_model_names(fl_predict_task *t, fl_dataset *ds, fl_error *err) {
  if (!t->classes && !ds->class_names) return 0;
  fl_json *arr = t->classes ? fl_json_parse(t->classes, strlen(t->classes), err)
                            : NULL;
  size_t n = fl_json_array_size(arr), bytes = 1;
  for (size_t i = 0; i < n; i++)
    bytes += strlen(fl_json_string(fl_json_array_at(arr, i))) + 1;
  char *names = malloc(bytes), *at = names;
  if (!names) {
    fl_json_free(arr);
    return fl_error_set(err, FL_ENOMEM, "out of host memory");
  }
  for (size_t i = 0; i < n; i++) {
    const char *s = fl_json_string(fl_json_array_at(arr, i));
    memcpy(at, s, strlen(s) + 1);
    at += strlen(s) + 1;
  }
  char what[128];
  snprintf(what, sizeof what, "job %s's model", t->job_id);
  int rc = fl_dataset_map_names(ds, names, n, what, t->name, err);
  free(names);
  fl_json_free(arr);
  return rc;
}

static int run_task(fl_device *dev, fl_predict_task *t, fl_error *err) {
  fl_daemon *d = t->d;
  fl_job_spec spec = {0};
  fl_dataset ds = {0};
  fl_trainer *tr = NULL;
  float *params = NULL, *probs = NULL, *mean = NULL, *std = NULL;
  uint64_t held = 0;
  int rc;
  char path[4200];
  if (atomic_load(&d->stopping))
    return fl_error_set(err, FL_ECANCELED, "the daemon is stopping; run it "
                        "again once the daemon is back");
  if ((rc = fl_spec_parse(t->spec_text, t->spec_len, &spec, err))) goto out;
  if ((rc = fl_blob_verify(d, t->uid, t->features, t->name, err)) ||
      (t->labels[0] && (rc = fl_blob_verify(d, t->uid, t->labels, t->name, err))))
    goto out;
  if ((rc = load_task_data(t, &spec, &ds, &held, err))) goto out;
  snprintf(path, sizeof path, "%s/model.safetensors", t->job_dir);
  size_t in = 0, P = 0, image[3];
  if ((rc = fl_model_read_params(path, &params, &P, &in, image, &mean, &std,
                                  &t->classes, err)))
    goto out;
  /* A conv model whose spec has no input_shape took its image from the
   * training file's header; the model file kept it. */
  if ((rc = fl_model_input_from_data(spec.layers, spec.n_layers, image, path,
                                     err)))
    goto out;
  /* Labels given as class names: the ids of the model's names. */
  if (t->has_labels && (rc = map_model_names(t, &ds, err))) goto out;
  if (in != ds.d) {
    rc = fl_error_set(err, FL_EDATA, "%s: rows have %zu features; job %s's "
                      "model takes %zu (the training data's width)", t->name,
                      ds.d, t->job_id, in);
    goto out;
  }
  /* The job's standardization, with its training statistics. */
  if (mean) fl_dataset_apply_norm(&ds, mean, std);
  fl_train_config cfg = {.input_dim = ds.d, .n_layers = spec.n_layers,
                         .layers = spec.layers, .loss = spec.loss,
                         .optimizer = spec.optimizer,
                         .batch_size = spec.batch_size, .seed = spec.seed,
                         .shuffle = false};
  if ((rc = fl_trainer_create(dev, &cfg, &ds, NULL, &tr, err))) goto out;
  if (P != fl_trainer_param_count(tr)) {
    rc = fl_error_set(err, FL_EDATA, "job %s's model file does not match its "
                      "spec (%zu parameters expected, %zu found)", t->job_id,
                      fl_trainer_param_count(tr), P);
    goto out;
  }
  t->n = ds.n;
  t->k = (size_t)fl_spec_classes(&spec); /* binary_crossentropy: 2 */
  /* The probabilities are host memory too: under the same budget. */
  uint64_t probs_bytes = (uint64_t)t->n * t->k * sizeof *probs;
  if ((rc = fl_mem_acquire(&d->mem, probs_bytes, &d->stopping,
                           PREDICT_MAX_WAIT_S, "the predictions", err)))
    goto out;
  held += probs_bytes;
  probs = malloc(probs_bytes ? probs_bytes : 1);
  if (!probs) {
    rc = fl_error_set(err, FL_ENOMEM, "out of host memory for %zu rows of "
                      "%zu classes", t->n, t->k);
    goto out;
  }
  if ((rc = fl_trainer_set_params(tr, params, P, err)) ||
      (rc = fl_trainer_predict(tr, &ds, probs, err)))
    goto out;
  if (t->has_labels) {
    if ((rc = fl_trainer_evaluate(tr, &ds, &t->loss, &t->accuracy, err))) goto out;
    if (t->k <= PREDICT_MAX_CONFUSION_CLASSES) {
      t->confusion = calloc(t->k * t->k, sizeof *t->confusion);
      if (!t->confusion) {
        rc = fl_error_set(err, FL_ENOMEM, "out of host memory");
        goto out;
      }
      for (size_t i = 0; i < t->n; i++) {
        const float *row = probs + i * t->k;
        size_t pred = 0, truth = 0;
        for (size_t j = 1; j < t->k; j++)
          if (row[j] > row[pred]) pred = j;
        if (ds.label_kind == FL_LABELS_IDS) {
          truth = (size_t)ds.ids[i];
        } else {
          const float *y = ds.y + i * ds.k;
          for (size_t j = 1; j < ds.k; j++)
            if (y[j] > y[truth]) truth = j;
        }
        if (truth < t->k) t->confusion[truth * t->k + pred]++;
      }
    }
  }
  if (!t->evaluate) {
    /* Little-endian float32, as the wire's binary chunks carry it. */
    size_t bytes = t->n * t->k * sizeof(float);
    uint8_t *le = (uint8_t *)probs;
    for (size_t i = 0; i < t->n * t->k; i++) {
      uint32_t u;
      memcpy(&u, &probs[i], sizeof u);
      le[4 * i] = (uint8_t)u;
      le[4 * i + 1] = (uint8_t)(u >> 8);
      le[4 * i + 2] = (uint8_t)(u >> 16);
      le[4 * i + 3] = (uint8_t)(u >> 24);
    }
    snprintf(t->out_path, sizeof t->out_path, "%s/predict-%lld.bin", t->job_dir,
             (long long)t->id);
    if ((rc = fl_write_atomic(t->out_path, le, bytes, err))) t->out_path[0] = '\0';
  }
out:
  fl_trainer_destroy(tr);
  fl_dataset_free(&ds);
  fl_mem_release(&d->mem, held);
  fl_spec_free(&spec);
  free(mean);
  free(std);
  free(params);
  free(probs);
  return rc;
}

void fl_predict_run(fl_device *dev, fl_predict_task *t) {
  if (!dev)
    t->rc = fl_error_set(&t->err, FL_ENODEV, "the job's device could not be "
                         "opened; see the daemon's log");
  else
    t->rc = run_task(dev, t, &t->err);
  fl_mail *m = calloc(1, sizeof *m);
  if (!m) return; /* the client waits: out of memory at this size is fatal anyway */
  m->kind = FL_MAIL_PREDICTED;
  m->task = t;
  fl_daemon_post(t->d, m);
}

/* ---- loop: the reply ---- */

static const char *code_of(int rc) {
  switch (rc) {
    case FL_EDATA:
    case FL_ELABELS:
    case FL_EPARSE:
    case FL_EINVAL:
      return "bad_request";
    case FL_ENOTFOUND:
      return "not_found";
    case FL_ETOOBIG:
    case FL_EDEVMEM:
      return "limit";
    case FL_ECANCELED:
      return "unavailable";
    default:
      return "internal";
  }
}

void fl_predict_done(fl_predict_task *t) {
  fl_client *c = t->c;
  c->pending--;
  if (c->closed) {
    if (c->pending == 0) fl_client_free(c);
    task_free(t);
    return;
  }
  if (t->rc) {
    fl_reply_error(c, t->id, code_of(t->rc), "%s", t->err.msg);
  } else {
    fl_jw w;
    fl_reply_begin(&w, t->id, true);
    fl_jw_str(&w, "job", t->job_id);
    fl_jw_int(&w, "rows", (long long)t->n);
    fl_jw_int(&w, "classes", (long long)t->k);
    if (t->classes) fl_jw_raw(&w, "class_names", t->classes);
    if (t->has_labels) {
      fl_jw_num(&w, "loss", t->loss);
      fl_jw_num(&w, "accuracy", t->accuracy);
      if (t->confusion) {
        fl_jw_array_begin(&w, "confusion");
        for (size_t i = 0; i < t->k; i++) {
          fl_jw_array_begin(&w, NULL);
          for (size_t j = 0; j < t->k; j++)
            fl_jw_int(&w, NULL, (long long)t->confusion[i * t->k + j]);
          fl_jw_array_end(&w);
        }
        fl_jw_array_end(&w);
      }
    }
    uint64_t size = t->evaluate ? 0 : (uint64_t)t->n * t->k * sizeof(float);
    if (!t->evaluate) {
      fl_jw_int(&w, "size", (long long)size);
      fl_jw_str(&w, "format", "f32le");
    }
    fl_reply_end(c, &w);
    uint64_t sent = 0;
    fl_error err = {0};
    if (!t->evaluate) {
      if (fl_pump_export(c, t->out_path, &sent, &err))
        fl_client_fail(c, "cannot send the predictions: %s", err.msg);
      else if (sent != size)
        fl_client_fail(c, "the predictions file changed while it was sent");
    }
  }
  fl_client_resume_if_drained(c);
  task_free(t); /* removes the file: the pump holds it open */
}
