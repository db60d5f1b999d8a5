/* data/stats.c — owns fl_dataset_stats: the numbers preflight reads off a
 * dataset (class counts, label sanity counts, per-feature ranges, means and
 * standard deviations over finite values, non-finite counts).
 *
 * Conventions (data.h gives the fields):
 * - Feature statistics skip NaN/Inf values; a feature with no finite value
 *   gets NaN min/max/mean/std and is left out of mean_std. std is the
 *   population std (numpy's default, ddof=0), by two passes in double.
 * - Ids: k = max_id + 1 (0 when no id is >= 0), even when max_id is beyond
 *   FL_DATA_MAX_CLASSES - 1; class_counts then has only FL_DATA_MAX_CLASSES
 *   entries (n_classes) and larger ids are not counted there, so that a
 *   stray id of 2e9 cannot make us allocate 16 GB. Negative ids are counted
 *   in n_negative_ids only.
 * - Dense labels: a row with a NaN/Inf entry counts in n_label_nonfinite
 *   and in nothing else; other rows count in class_counts by argmax (first
 *   maximum on ties), in n_rows_negative when an entry is < 0, and in
 *   n_rows_bad_sum when the row sum is off 1 by more than 1e-3. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "data_internal.h"

#define FL__DENSE_SUM_TOLERANCE 1e-3

static int feature_stats(const fl_dataset *ds, fl_dataset_stats *st) {
  const size_t n = ds->n, d = ds->d, dd = d ? d : 1;
  double *sum = calloc(dd, sizeof *sum);
  double *sq = calloc(dd, sizeof *sq);
  size_t *cnt = calloc(dd, sizeof *cnt);
  st->feat_min = malloc(dd * sizeof(float));
  st->feat_max = malloc(dd * sizeof(float));
  st->feat_mean = malloc(dd * sizeof(float));
  st->feat_std = malloc(dd * sizeof(float));
  int rc = 0;
  if (!sum || !sq || !cnt || !st->feat_min || !st->feat_max ||
      !st->feat_mean || !st->feat_std) {
    rc = FL_ENOMEM;
    goto out;
  }
  for (size_t j = 0; j < d; j++) {
    st->feat_min[j] = INFINITY;
    st->feat_max[j] = -INFINITY;
  }
  double abs_max = 0.0;
  for (size_t i = 0; i < n; i++) {
    const float *row = ds->x + i * d; /* (d) */
    for (size_t j = 0; j < d; j++) {
      float v = row[j];
      if (!isfinite(v)) {
        st->n_nonfinite++;
        continue;
      }
      cnt[j]++;
      sum[j] += v;
      if (v < st->feat_min[j]) st->feat_min[j] = v;
      if (v > st->feat_max[j]) st->feat_max[j] = v;
      if (fabs((double)v) > abs_max) abs_max = fabs((double)v);
    }
  }
  for (size_t j = 0; j < d; j++) sum[j] = cnt[j] ? sum[j] / (double)cnt[j] : 0;
  /* Second pass around the mean: no cancellation for features with a large
   * offset (pixel values 0..255, timestamps). */
  for (size_t i = 0; i < n; i++) {
    const float *row = ds->x + i * d;
    for (size_t j = 0; j < d; j++) {
      if (!isfinite(row[j])) continue;
      double dev = (double)row[j] - sum[j];
      sq[j] += dev * dev;
    }
  }
  double std_total = 0.0;
  size_t std_features = 0;
  for (size_t j = 0; j < d; j++) {
    if (cnt[j] == 0) {
      st->feat_min[j] = st->feat_max[j] = NAN;
      st->feat_mean[j] = st->feat_std[j] = NAN;
      continue;
    }
    double sd = sqrt(sq[j] / (double)cnt[j]);
    st->feat_mean[j] = (float)sum[j];
    st->feat_std[j] = (float)sd;
    std_total += sd;
    std_features++;
  }
  st->abs_max = abs_max;
  st->mean_std = std_features ? std_total / (double)std_features : 0.0;
out:
  free(sum);
  free(sq);
  free(cnt);
  return rc;
}

static int id_stats(const fl_dataset *ds, fl_dataset_stats *st) {
  int64_t lo = 0, hi = -1;
  for (size_t i = 0; i < ds->n; i++) {
    int64_t v = ds->ids[i];
    if (i == 0 || v < lo) lo = v;
    if (i == 0 || v > hi) hi = v;
    if (v < 0) st->n_negative_ids++;
  }
  st->min_id = ds->n ? lo : 0;
  st->max_id = ds->n ? hi : 0;
  st->k = (ds->n && hi >= 0) ? (size_t)hi + 1 : 0;
  st->n_classes = st->k < FL_DATA_MAX_CLASSES ? st->k : FL_DATA_MAX_CLASSES;
  st->class_counts = calloc(st->n_classes ? st->n_classes : 1,
                            sizeof *st->class_counts);
  if (!st->class_counts) return FL_ENOMEM;
  for (size_t i = 0; i < ds->n; i++) {
    int32_t v = ds->ids[i];
    if (v >= 0 && (size_t)v < st->n_classes) st->class_counts[v]++;
  }
  return 0;
}

static int dense_stats(const fl_dataset *ds, fl_dataset_stats *st) {
  const size_t k = ds->k;
  st->k = k;
  st->n_classes = k;
  st->class_counts = calloc(k ? k : 1, sizeof *st->class_counts);
  if (!st->class_counts) return FL_ENOMEM;
  for (size_t i = 0; i < ds->n; i++) {
    const float *row = ds->y + i * k; /* (k) */
    bool finite = true, negative = false;
    double sum = 0.0;
    size_t arg = 0;
    for (size_t j = 0; j < k; j++) {
      if (!isfinite(row[j])) finite = false;
      if (row[j] < 0) negative = true;
      if (row[j] > row[arg]) arg = j;
      sum += row[j];
    }
    if (!finite) {
      st->n_label_nonfinite++;
      continue;
    }
    if (negative) st->n_rows_negative++;
    if (fabs(sum - 1.0) > FL__DENSE_SUM_TOLERANCE) st->n_rows_bad_sum++;
    if (k) st->class_counts[arg]++;
  }
  return 0;
}

int fl_dataset_stats_compute(const fl_dataset *ds, fl_dataset_stats *st,
                             fl_error *err) {
  memset(st, 0, sizeof *st);
  if (!ds || (ds->n && (!ds->x || (ds->label_kind == FL_LABELS_IDS
                                       ? !ds->ids
                                       : !ds->y))))
    return fl_error_set(err, FL_EINVAL, "dataset statistics: no dataset");
  st->n = ds->n;
  st->d = ds->d;
  st->label_kind = ds->label_kind;
  int rc = feature_stats(ds, st);
  if (!rc)
    rc = ds->label_kind == FL_LABELS_IDS ? id_stats(ds, st)
                                          : dense_stats(ds, st);
  if (rc) {
    fl_dataset_stats_free(st);
    return fl_error_set(err, rc,
                        "dataset statistics: out of memory for %zu features",
                        ds->d);
  }
  return 0;
}

void fl_dataset_stats_free(fl_dataset_stats *st) {
  if (!st) return;
  free(st->class_counts);
  free(st->feat_min);
  free(st->feat_max);
  free(st->feat_mean);
  free(st->feat_std);
  memset(st, 0, sizeof *st);
}
