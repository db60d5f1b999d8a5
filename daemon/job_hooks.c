/* daemon/job_hooks.c — the job-folder work behind a job's training hooks,
 * one copy for the service's worker (worker.c) and the foreground runner
 * (jobdir.c); see job_hooks.h. Nothing here prints: the callers report. */
#include "job_hooks.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fsutil.h"

bool fl_event_is(const char *json, const char *name) {
  static const char head[] = "{\"event\":\"";
  size_t n = strlen(name);
  return strncmp(json, head, sizeof head - 1) == 0 &&
         strncmp(json + sizeof head - 1, name, n) == 0 && json[sizeof head - 1 + n] == '"';
}

const char *fl_job_event_logged_before(const fl_job_log_facts *facts, const char *json) {
  if (facts->has_verdict && fl_event_is(json, FL_EVENT_VERDICT)) return "verdict";
  if (facts->has_preflight && fl_event_is(json, FL_EVENT_PREFLIGHT)) return "preflight";
  return NULL;
}

int fl_job_file_write(const char *dir, const char *name, const void *buf, size_t len,
                      int *e, fl_error *err) {
  char path[4200];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  int rc = fl_write_atomic(path, buf, len, err);
  *e = rc ? errno : 0;
  return rc;
}

int fl_job_checkpoint_write(const char *dir, fl_trainer *t, int *e, fl_error *err) {
  uint8_t *buf = NULL;
  size_t len = 0;
  *e = 0;
  int rc = fl_trainer_save_checkpoint(t, &buf, &len, err);
  if (!rc) rc = fl_job_file_write(dir, FL_CHECKPOINT_FILE, buf, len, e, err);
  free(buf);
  return rc;
}

fl_resume_result fl_job_checkpoint_resume(const char *dir, fl_trainer *t, int last_epoch,
                                          int *ckpt_epoch, fl_error *err) {
  char path[4200], *buf = NULL;
  size_t len = 0;
  *ckpt_epoch = 0;
  snprintf(path, sizeof path, "%s/%s", dir, FL_CHECKPOINT_FILE);
  if (fl_read_small(path, FL_CHECKPOINT_MAX, &buf, &len, NULL) != 0) return FL_RESUME_NONE;
  /* The fresh trainer's own state, to go back to if the checkpoint is
   * ahead of the log. */
  uint8_t *fresh = NULL;
  size_t fresh_len = 0;
  fl_error ferr = {0};
  if (fl_trainer_save_checkpoint(t, &fresh, &fresh_len, &ferr) != 0) fresh = NULL;
  fl_resume_result r;
  if (fl_trainer_load_checkpoint(t, (const uint8_t *)buf, len, err) != 0) {
    r = FL_RESUME_UNUSABLE;
  } else if ((*ckpt_epoch = fl_trainer_epoch(t)) <= last_epoch) {
    r = FL_RESUME_AFTER;
  } else {
    r = fresh && fl_trainer_load_checkpoint(t, fresh, fresh_len, &ferr) == 0
            ? FL_RESUME_AHEAD
            : FL_RESUME_AHEAD_KEPT;
  }
  free(fresh);
  free(buf);
  return r;
}

/* (d) floats as a JSON array, %.9g (float32 round-trips); malloc'd. */
static char *float_array_json(const float *v, size_t d) {
  fl_jw w;
  fl_jw_init(&w);
  fl_jw_array_begin(&w, NULL);
  for (size_t i = 0; i < d; i++) fl_jw_num(&w, NULL, (double)v[i]);
  fl_jw_array_end(&w);
  return fl_jw_finish(&w);
}

/* The class names as a JSON array's text, index = class id (malloc'd). */
static char *names_json(const char *names, size_t n) {
  fl_jw w;
  fl_jw_init(&w);
  fl_jw_array_begin(&w, NULL);
  for (size_t i = 0; i < n; i++, names += strlen(names) + 1) fl_jw_str(&w, NULL, names);
  fl_jw_array_end(&w);
  return fl_jw_finish(&w);
}

int fl_job_model_write(const char *dir, fl_trainer *t, const fl_job_spec *spec,
                       const fl_dataset *train, int *e, fl_error *err) {
  uint8_t *model = NULL;
  size_t len = 0;
  fl_export_meta meta[5];
  int n_meta = 0;
  char scale[32], *mean = NULL, *std = NULL, *classes = NULL;
  *e = 0;
  if (spec && spec->train.has_scale) {
    snprintf(scale, sizeof scale, "%.9g", (double)spec->train.scale);
    meta[n_meta++] = (fl_export_meta){"scale", scale};
  }
  if (train && train->norm_mean) {
    mean = float_array_json(train->norm_mean, train->d);
    std = float_array_json(train->norm_std, train->d);
    meta[n_meta++] = (fl_export_meta){"normalize", "standardize"};
    meta[n_meta++] = (fl_export_meta){"normalize_mean", mean};
    meta[n_meta++] = (fl_export_meta){"normalize_std", std};
  }
  if (train && train->class_names) {
    classes = names_json(train->class_names, train->n_class_names);
    meta[n_meta++] = (fl_export_meta){"classes", classes};
  }
  int rc = ((train && train->norm_mean && (!mean || !std)) ||
            (train && train->class_names && !classes))
               ? fl_error_set(err, FL_ENOMEM, "out of memory")
               : fl_trainer_export_safetensors_ex(t, meta, n_meta, &model, &len, err);
  free(mean);
  free(std);
  free(classes);
  if (!rc) rc = fl_job_file_write(dir, FL_MODEL_FILE, model, len, e, err);
  free(model);
  return rc;
}

char *fl_job_diagnosis_state_read(const char *dir) {
  char path[4200], *text = NULL;
  size_t len = 0;
  snprintf(path, sizeof path, "%s/%s", dir, FL_DIAGNOSIS_STATE_FILE);
  return fl_read_small(path, FL_DIAGNOSIS_STATE_MAX, &text, &len, NULL) == 0 ? text : NULL;
}

void fl_job_diagnosis_state_remove(const char *dir) {
  char path[4200];
  snprintf(path, sizeof path, "%s/%s", dir, FL_DIAGNOSIS_STATE_FILE);
  unlink(path); /* none (ENOENT): nothing to do */
}
