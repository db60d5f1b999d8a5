/* daemon/runner.c — the foreground runner: spec file -> datasets -> device
 * -> epochs, printed as events (JSON lines) or as a table for people. */
#include "runner.h"

#include <libgen.h>
#include <stdlib.h>
#include <string.h>

#include "flatline/engine.h"
#include "events.h"
#include "job_data.h"

static void print_line(FILE *out, char *text) {
  if (text) {
    fprintf(out, "%s\n", text);
    fflush(out);
  }
  free(text);
}

static void emit_end(FILE *out, FILE *err_out, bool json, const char *job,
                     const char *state, int code, const char *message) {
  if (!json) {
    if (code) fprintf(err_out, "flatlined: %s: %s\n", state, message);
    return;
  }
  print_line(out, fl_event_end(job, state, code ? fl_cause_of_error(code) : NULL,
                               code ? message : NULL));
}

static void emit_epoch_table(FILE *out, int epochs, const fl_epoch_metrics *m) {
  if (m->epoch == 1)
    fprintf(out, "%7s  %9s  %8s  %9s  %8s  %8s  %10s\n", "epoch", "loss",
            "accuracy", "val_loss", "val_acc", "seconds", "samples/s");
  char val_loss[16] = "-", val_acc[16] = "-";
  if (m->has_val) {
    snprintf(val_loss, sizeof val_loss, "%.4f", m->val_loss);
    snprintf(val_acc, sizeof val_acc, "%.4f", m->val_accuracy);
  }
  fprintf(out, "%3d/%-3d  %9.4f  %8.4f  %9s  %8s  %8.1f  %10.0f\n", m->epoch,
          epochs, m->loss, m->accuracy, val_loss, val_acc, m->seconds,
          m->samples_per_s);
  fflush(out);
}

static size_t n_classes_of(const fl_job_spec *spec) {
  return (size_t)spec->layers[spec->n_layers - 1].units;
}

int fl_run_foreground(const char *spec_path, bool json, FILE *out,
                      FILE *err_out) {
  fl_error err = {0};
  fl_job_spec spec;
  memset(&spec, 0, sizeof spec);
  fl_dataset train = {0}, val = {0};
  bool has_val = false;
  fl_device *dev = NULL;
  fl_trainer *trainer = NULL;
  const char *job = "local";
  const char *state = "rejected";
  uint8_t *text = NULL;
  size_t len = 0;
  int rc;

  if ((rc = fl_file_read(spec_path, FL_SPEC_MAX_BYTES, &text, &len, &err)) ||
      (rc = fl_spec_parse((const char *)text, len, &spec, &err))) {
    fl_error_prefix(&err, "%s", spec_path);
    goto done;
  }
  job = spec.name;
  char *dir_copy = strdup(spec_path);
  if (!dir_copy) {
    rc = fl_error_set(&err, FL_ENOMEM, "out of memory");
    goto done;
  }
  rc = fl_job_load_data(&spec, fl_resolve_relative, dirname(dir_copy), &train,
                        &val, &has_val, &err);
  free(dir_copy);
  if (rc) goto done;

  fl_device_info devs[FL_MAX_DEVICES];
  int ndev = fl_devices_list(devs, FL_MAX_DEVICES, &err), idx;
  if (ndev < 0) {
    rc = ndev;
    goto done;
  }
  if ((rc = fl_device_resolve(devs, ndev, spec.device, &idx, &err)) ||
      (rc = fl_device_open(idx, &dev, &err)))
    goto done;

  fl_train_config cfg = {
      .input_dim = train.d, .n_layers = spec.n_layers, .layers = spec.layers,
      .loss = spec.loss, .optimizer = spec.optimizer,
      .batch_size = spec.batch_size, .seed = spec.seed, .shuffle = spec.shuffle};
  if ((rc = fl_trainer_create(dev, &cfg, &train, has_val ? &val : NULL,
                              &trainer, &err)))
    goto done;
  if (!json) {
    fprintf(out, "flatlined: training \"%s\" on %s (%s)\n", spec.name,
            devs[idx].name, devs[idx].platform);
    fprintf(out, "  %zu training rows, %zu validation rows, %zu features, "
            "%zu classes, %zu parameters\n",
            train.n, has_val ? val.n : 0, train.d, n_classes_of(&spec),
            fl_trainer_param_count(trainer));
  }
  state = "failed";
  fl_epoch_metrics m = {0};
  for (int e = 0; e < spec.epochs; e++) {
    if ((rc = fl_trainer_run_epoch(trainer, &m, &err))) goto done;
    if (json) print_line(out, fl_event_epoch(job, &m));
    else emit_epoch_table(out, spec.epochs, &m);
  }
  state = "done";
  rc = 0;

done:
  emit_end(out, err_out, json, job, state, rc, err.msg);
  fl_trainer_destroy(trainer);
  fl_device_close(dev);
  fl_dataset_free(&train);
  if (has_val) fl_dataset_free(&val);
  fl_spec_free(&spec);
  free(text);
  return rc ? 1 : 0;
}
