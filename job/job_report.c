/* job/job_report.c — owns the end-of-job classification report (issue 12):
 * the trained model's confusion matrix, per-class precision, recall and
 * F1, accuracy and the asked-for top-k accuracy, on the validation rows
 * (else the training rows), as the "metrics" object of the verdict event.
 *
 * {"on": "validation"|"training", "rows": N, "accuracy": a,
 *  "top_5_accuracy": t,                      (when the spec asks)
 *  "per_class": [{"class": c, "precision": p, "recall": r, "f1": f,
 *                 "support": n}, ...],       (C entries)
 *  "macro_f1": m,
 *  "confusion": [[...], ...]}                (C x C, rows = true class;
 *                                             left out past
 *                                             FL_REPORT_MAX_CONFUSION) */
#include <stdio.h>
#include <stdlib.h>

#include "job_internal.h"

/* A C x C matrix of counts must stay far below the 1 MiB event frame (a
 * 100-class matrix is ~60 KB); per-class scores go up to FL_REPORT_MAX_CLASSES. */
#define FL_REPORT_MAX_CONFUSION 100
#define FL_REPORT_MAX_CLASSES 1000

char *fl__job_report_json(fl_trainer *t, const fl_job_spec *spec,
                          double *balanced_lo, fl_error *err) {
  fl_class_report r;
  *balanced_lo = -1;
  if (fl_trainer_class_report(t, spec->top_k, &r, err) != 0) return NULL;
  /* Balanced accuracy, cautiously: the mean over classes with rows of the
   * lower end of each recall's 95% Wilson interval. */
  double lo = 0;
  size_t present = 0;
  for (size_t c = 0; c < r.n_classes; c++) {
    double p, rec, f1;
    uint64_t support;
    fl_class_report_scores(&r, c, &p, &rec, &f1, &support);
    if (!support) continue;
    lo += fl_wilson((double)r.confusion[c * r.n_classes + c], (double)support,
                    FL_Z95).lo;
    present++;
  }
  if (present) *balanced_lo = lo / (double)present;
  fl_jw w;
  fl_jw_init(&w);
  fl_jw_object_begin(&w, NULL);
  fl_jw_str(&w, "on", r.on_validation ? "validation" : "training");
  fl_jw_int(&w, "rows", (long long)r.rows);
  uint64_t right = 0;
  for (size_t c = 0; c < r.n_classes; c++) right += r.confusion[c * r.n_classes + c];
  fl_jw_num(&w, "accuracy", r.rows ? (double)right / (double)r.rows : 0.0);
  if (r.top_k) {
    char key[32];
    snprintf(key, sizeof key, "top_%d_accuracy", r.top_k);
    fl_jw_num(&w, key, r.rows ? (double)r.top_k_correct / (double)r.rows : 0.0);
  }
  if (r.n_classes <= FL_REPORT_MAX_CLASSES) {
    double macro = 0;
    fl_jw_array_begin(&w, "per_class");
    for (size_t c = 0; c < r.n_classes; c++) {
      double p, rec, f1;
      uint64_t support;
      fl_class_report_scores(&r, c, &p, &rec, &f1, &support);
      macro += f1;
      fl_jw_object_begin(&w, NULL);
      fl_jw_int(&w, "class", (long long)c);
      fl_jw_num(&w, "precision", p);
      fl_jw_num(&w, "recall", rec);
      fl_jw_num(&w, "f1", f1);
      fl_jw_int(&w, "support", (long long)support);
      fl_jw_object_end(&w);
    }
    fl_jw_array_end(&w);
    fl_jw_num(&w, "macro_f1", r.n_classes ? macro / (double)r.n_classes : 0.0);
  }
  if (r.n_classes <= FL_REPORT_MAX_CONFUSION) {
    fl_jw_array_begin(&w, "confusion");
    for (size_t i = 0; i < r.n_classes; i++) {
      fl_jw_array_begin(&w, NULL);
      for (size_t j = 0; j < r.n_classes; j++)
        fl_jw_int(&w, NULL, (long long)r.confusion[i * r.n_classes + j]);
      fl_jw_array_end(&w);
    }
    fl_jw_array_end(&w);
  }
  fl_jw_object_end(&w);
  fl_class_report_free(&r);
  char *json = fl_jw_finish(&w);
  if (!json) fl_error_set(err, FL_ENOMEM, "out of memory for the class report");
  return json;
}
