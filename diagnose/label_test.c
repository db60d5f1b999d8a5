/* diagnose/label_test.c — do the labels carry information about the
 * features? A permutation test of cross-validated accuracy (Ojala &
 * Garriga, "Permutation tests for studying classifier performance", JMLR
 * 11, 2010, test 1; scikit-learn's permutation_test_score), on the host,
 * with no training: it costs well under a second and needs no device.
 *
 * The classifiers are two that need no fitting beyond sums, so that each
 * permutation is cheap: leave-one-out 5-nearest-neighbours (local, non-linear
 * structure: rings, spirals, XOR, images) and leave-one-out nearest class
 * centroid (a linear mean shift spread over many weak features). Both run
 * on standardized features, off one Gram matrix G (m x m) of a seeded
 * sample of m rows. The statistic is the larger of their balanced
 * accuracies (mean recall per class, so that a majority class cannot win
 * it); the same maximum over the permuted labels gives its null
 * distribution, so the test stays exact under its one assumption: rows are
 * exchangeable (independent draws) when the labels carry no information.
 *
 * Given validation rows, the winning rule, fitted on the same sampled
 * training rows, also classifies them: a model-free measure of whether the
 * validation rows follow the training rows (decide.c,
 * val_unrelated_to_training). Leave-one-out accuracy estimates the rule's
 * accuracy on new rows drawn like the training rows, so the two plain
 * accuracies differ only by sampling noise when they are so drawn. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "flatline/diagnose.h"

/* Rows used: all up to 1000, fewer for wide rows so that G (m^2 d / 2
 * multiply-adds) stays near 4e8 — about a quarter of a second. */
#define LT_MAX_ROWS 1000
#define LT_MIN_ROWS 200
#define LT_GRAM_BUDGET 4e8
#define LT_NEIGHBOURS 5
/* 999 permutations: p-values resolve to 1/1000, the alpha the decision
 * uses (FL_LABEL_TEST_ALPHA), and the test costs 1000 passes of O(m^2):
 * about a second at 1000 rows. */
#define LT_PERMUTATIONS 999
/* The centroid scratch is (m, k) doubles: 8 MB at 1000 classes. */
#define LT_MAX_CLASSES 1000
/* Rows a class needs in the sample to take part: a class of 2 or 3 rows
 * cannot win a 5-neighbour vote of its own rows (it has 1 or 2 others),
 * so its recall is 0 under any labels and only dilutes the statistic;
 * with one class left the test has no power at all (a 190:1 job on
 * blobs, 2 rows in each rare class, drew p = 1.000 and was told its
 * labels carried nothing: generated test job 9349). */
#define LT_MIN_CLASS_ROWS 5

static int class_of(const fl_dataset *ds, size_t i, size_t k) {
  if (ds->label_kind == FL_LABELS_IDS) {
    int32_t c = ds->ids[i];
    return c >= 0 && (size_t)c < k ? c : -1;
  }
  size_t best = 0;
  for (size_t j = 1; j < ds->k; j++)
    if (ds->y[i * ds->k + j] > ds->y[i * ds->k + best]) best = j;
  return best < k && isfinite(ds->y[i * ds->k + best]) ? (int)best : -1;
}

typedef struct {
  size_t m, k;     /* rows, classes */
  double *g;       /* (m, m) Gram matrix of standardized rows */
  uint32_t *nbr;   /* (m, nn) nearest other rows, nearest first */
  size_t nn;
  double *a;       /* (m, k) scratch: x_i . S_c */
  double *s2;      /* (k) |S_c|^2 */
  size_t *count;   /* (k) rows per class */
  size_t *hits;    /* (k) right predictions per class */
  size_t *votes;   /* (k) scratch for the neighbours' votes */
} lt_work;

/* Mean recall over the classes present. */
static double balanced(const lt_work *w) {
  double sum = 0;
  size_t present = 0;
  for (size_t c = 0; c < w->k; c++)
    if (w->count[c]) sum += (double)w->hits[c] / (double)w->count[c], present++;
  return present ? sum / (double)present : 0;
}

/* The class the n nearest rows (near, nearest first) vote for; ties go to
 * the class of the nearest neighbour among them. votes: k scratch. */
static int vote(const int *y, const uint32_t *near, size_t n, size_t *votes, size_t k) {
  size_t top = 0;
  memset(votes, 0, k * sizeof *votes);
  for (size_t t = 0; t < n; t++) {
    size_t v = ++votes[y[near[t]]];
    if (v > top) top = v;
  }
  for (size_t t = 0; t < n; t++)
    if (votes[y[near[t]]] == top) return y[near[t]];
  return -1;
}

static double knn_accuracy(lt_work *w, const int *y) {
  memset(w->hits, 0, w->k * sizeof *w->hits);
  for (size_t i = 0; i < w->m; i++)
    if (vote(y, w->nbr + i * w->nn, w->nn, w->votes, w->k) == y[i]) w->hits[y[i]]++;
  return balanced(w);
}

/* Leave-one-out nearest centroid from G alone: with S_c the sum of class
 * c's rows and n_c its size, |x_i - S_c/n_c|^2 = G_ii - 2 a_ic/n_c +
 * |S_c|^2/n_c^2, where a_ic = x_i . S_c; for i's own class, S_c - x_i and
 * n_c - 1 take their place. */
static double centroid_accuracy(lt_work *w, const int *y) {
  size_t m = w->m, k = w->k;
  memset(w->a, 0, m * k * sizeof *w->a);
  memset(w->s2, 0, k * sizeof *w->s2);
  memset(w->hits, 0, k * sizeof *w->hits);
  for (size_t i = 0; i < m; i++) {
    const double *gi = w->g + i * m;
    double *ai = w->a + i * k;
    for (size_t j = 0; j < m; j++) ai[y[j]] += gi[j];
  }
  for (size_t i = 0; i < m; i++) w->s2[y[i]] += w->a[i * k + y[i]];
  for (size_t i = 0; i < m; i++) {
    double gii = w->g[i * m + i], best = INFINITY;
    int pred = -1;
    for (size_t c = 0; c < k; c++) {
      double n = (double)w->count[c], a = w->a[i * k + c], s2 = w->s2[c];
      if ((int)c == y[i]) {
        n -= 1;
        s2 += gii - 2 * a;
        a -= gii;
      }
      if (n < 1) continue;
      double d = gii - 2 * a / n + s2 / (n * n);
      if (d < best) best = d, pred = (int)c;
    }
    if (pred == y[i]) w->hits[y[i]]++;
  }
  return balanced(w);
}

static size_t hits_total(const lt_work *w) {
  size_t n = 0;
  for (size_t c = 0; c < w->k; c++) n += w->hits[c];
  return n;
}

/* The statistic, and which classifier gave it (*knn_won) with its plain
 * (not balanced) hit count. */
static double statistic(lt_work *w, const int *y, bool *knn_won, size_t *hits, double *linear) {
  double knn = knn_accuracy(w, y);
  size_t knn_hits = hits_total(w);
  double cen = centroid_accuracy(w, y);
  if (knn_won) *knn_won = knn >= cen;
  if (hits) *hits = knn >= cen ? knn_hits : hits_total(w);
  if (linear) *linear = cen;
  return fmax(knn, cen);
}

/* Row j at squared distance d into the short sorted list (dist, out) of
 * the nn nearest so far, *have of them filled: insertion, as nn is 5. */
static void keep_nearest(double *dist, uint32_t *out, size_t *have, size_t nn, double d,
                         uint32_t j) {
  if (*have == nn && d >= dist[nn - 1]) return;
  size_t at = *have < nn ? (*have)++ : nn - 1;
  while (at > 0 && dist[at - 1] > d) {
    dist[at] = dist[at - 1];
    out[at] = out[at - 1];
    at--;
  }
  dist[at] = d;
  out[at] = j;
}

/* The nn nearest other rows of each row, nearest first. */
static void neighbours(lt_work *w) {
  size_t m = w->m, nn = w->nn;
  double dist[LT_NEIGHBOURS];
  for (size_t i = 0; i < m; i++) {
    size_t have = 0;
    for (size_t j = 0; j < m; j++)
      if (j != i)
        keep_nearest(dist, w->nbr + i * nn, &have, nn,
                     w->g[i * m + i] + w->g[j * m + j] - 2 * w->g[i * m + j], (uint32_t)j);
  }
}

/* Standardized features of the sampled rows: (m, d), NaN/Inf as 0; the
 * columns' means and inverse deviations into means, invs (d each). */
static float *standardized(const fl_dataset *ds, const uint32_t *rows, size_t m, double *means,
                           double *invs) {
  size_t d = ds->d;
  float *z = malloc(m * d * sizeof *z);
  if (!z) return NULL;
  for (size_t j = 0; j < d; j++) {
    double s = 0, s2 = 0;
    size_t n = 0;
    for (size_t i = 0; i < m; i++) {
      double v = ds->x[(size_t)rows[i] * d + j];
      if (isfinite(v)) s += v, s2 += v * v, n++;
    }
    double mean = n ? s / (double)n : 0, var = n ? s2 / (double)n - mean * mean : 0;
    double inv = var > 1e-12 * (1 + mean * mean) ? 1 / sqrt(var) : 0; /* constant: drop */
    means[j] = mean, invs[j] = inv;
    for (size_t i = 0; i < m; i++) {
      float v = ds->x[(size_t)rows[i] * d + j];
      z[i * d + j] = isfinite(v) ? (float)((v - mean) * inv) : 0.0f;
    }
  }
  return z;
}

static void gram(const float *z, size_t m, size_t d, double *g) {
  for (size_t i = 0; i < m; i++)
    for (size_t j = 0; j <= i; j++) {
      const float *a = z + i * d, *b = z + j * d;
      float acc = 0; /* float lanes vectorize; rows are short */
      for (size_t t = 0; t < d; t++) acc += a[t] * b[t];
      g[i * m + j] = g[j * m + i] = acc;
    }
}

/* The class the 5-NN rule gives a new row from its squared norm vv and its
 * dot products with the m training rows; votes: k scratch. */
static int knn_predict(const lt_work *w, const int *y, const double *dot, double vv,
                       size_t *votes) {
  size_t m = w->m, nn = w->nn, have = 0;
  uint32_t near[LT_NEIGHBOURS];
  double dist[LT_NEIGHBOURS];
  for (size_t i = 0; i < m; i++)
    keep_nearest(dist, near, &have, nn, vv + w->g[i * m + i] - 2 * dot[i], (uint32_t)i);
  return vote(y, near, have, votes, w->k);
}

/* The class the nearest-centroid rule gives a new row v:
 * |v - S_c/n_c|^2 = |v|^2 - 2 v.S_c/n_c + |S_c|^2/n_c^2, with v.S_c summed
 * from dot (sdot: k scratch) and |S_c|^2 in w->s2. */
static int centroid_predict(const lt_work *w, const int *y, const double *dot, double vv,
                            double *sdot) {
  memset(sdot, 0, w->k * sizeof *sdot);
  for (size_t i = 0; i < w->m; i++) sdot[y[i]] += dot[i];
  double best = INFINITY;
  int pred = -1;
  for (size_t c = 0; c < w->k; c++) {
    double n = (double)w->count[c];
    if (n < 1) continue;
    double dd = vv - 2 * sdot[c] / n + w->s2[c] / (n * n);
    if (dd < best) best = dd, pred = (int)c;
  }
  return pred;
}

/* The rule that won, fitted on the m sampled training rows z (labels y,
 * after centroid_accuracy on them: w->s2 holds |S_c|^2), classifies a
 * seeded sample of up to LT_MAX_ROWS rows of val (fewer for wide rows),
 * standardized by the training columns' means and inverse deviations:
 * out->val_rows, out->val_accuracy (plain). Rows whose class is outside
 * [0, k) do not count. */
static int score_validation(const lt_work *w, const float *z, const int *y, const fl_dataset *val,
                            const double *means, const double *invs, bool knn, uint64_t seed,
                            fl_label_test *out) {
  size_t m = w->m, k = w->k, d = val->d, nv = val->n < LT_MAX_ROWS ? val->n : LT_MAX_ROWS;
  /* m d multiply-adds a row: as many rows as the Gram matrix's budget
   * buys, at least LT_MIN_ROWS (510 rows of 784 pixels against 1000). */
  size_t by_budget = (size_t)(LT_GRAM_BUDGET / ((double)m * (double)d));
  if (nv > by_budget) nv = by_budget > LT_MIN_ROWS ? by_budget : LT_MIN_ROWS;
  uint32_t *order = malloc(val->n * sizeof *order);
  float *v = malloc(d * sizeof *v);
  double *dot = malloc(m * sizeof *dot), *sdot = malloc(k * sizeof *sdot);
  size_t *votes = malloc(k * sizeof *votes);
  int rc = FL_ENOMEM;
  if (!order || !v || !dot || !sdot || !votes) goto done;
  for (size_t i = 0; i < val->n; i++) order[i] = (uint32_t)i;
  fl_shuffle_u32(order, val->n, &seed);
  size_t scored = 0, hits = 0;
  for (size_t r = 0; r < val->n && scored < nv; r++) {
    int truth = class_of(val, order[r], k);
    if (truth < 0) continue;
    const float *x = val->x + (size_t)order[r] * d;
    double vv = 0;
    for (size_t j = 0; j < d; j++) {
      v[j] = isfinite(x[j]) ? (float)((x[j] - means[j]) * invs[j]) : 0.0f;
      vv += (double)v[j] * v[j];
    }
    for (size_t i = 0; i < m; i++) {
      const float *zi = z + i * d;
      float acc = 0; /* as gram() */
      for (size_t j = 0; j < d; j++) acc += v[j] * zi[j];
      dot[i] = acc;
    }
    int pred = knn ? knn_predict(w, y, dot, vv, votes) : centroid_predict(w, y, dot, vv, sdot);
    hits += pred == truth;
    scored++;
  }
  out->val_rows = scored;
  out->val_accuracy = scored ? (double)hits / (double)scored : 0;
  rc = 0;
done:
  free(order);
  free(v);
  free(dot);
  free(sdot);
  free(votes);
  return rc;
}

int fl_label_test_run(const fl_dataset *ds, const fl_dataset *val, size_t k, uint64_t seed,
                      fl_label_test *out) {
  memset(out, 0, sizeof *out);
  if (!ds || ds->n < 4 || ds->d == 0 || k < 2) return FL_EINVAL;
  if (k > LT_MAX_CLASSES) return FL_EINVAL;
  size_t m = ds->n < LT_MAX_ROWS ? ds->n : LT_MAX_ROWS;
  size_t by_width = (size_t)sqrt(2 * LT_GRAM_BUDGET / (double)ds->d);
  if (m > by_width) m = by_width > LT_MIN_ROWS ? by_width : LT_MIN_ROWS;
  if (m > ds->n) m = ds->n;

  int rc = FL_ENOMEM;
  uint32_t *order = malloc(ds->n * sizeof *order);
  int *y = malloc(ds->n * sizeof *y), *perm = malloc(ds->n * sizeof *perm);
  lt_work w = {.k = k};
  float *z = NULL;
  double *means = malloc(ds->d * sizeof *means), *invs = malloc(ds->d * sizeof *invs);
  if (!order || !y || !perm || !means || !invs) goto done;
  for (size_t i = 0; i < ds->n; i++) order[i] = (uint32_t)i;
  fl_shuffle_u32(order, ds->n, &seed);
  /* The first m rows of the shuffle with a valid label. */
  size_t used = 0;
  for (size_t i = 0; i < ds->n && used < m; i++) {
    int c = class_of(ds, order[i], k);
    if (c < 0) continue;
    order[used] = order[i];
    y[used++] = c;
  }
  /* Drop the rows of classes too small to take part (LT_MIN_CLASS_ROWS);
   * fewer than two classes left: the test cannot run. */
  size_t *per = calloc(k, sizeof *per);
  if (!per) goto done;
  for (size_t i = 0; i < used; i++) per[y[i]]++;
  size_t kept = 0, classes = 0;
  for (size_t c = 0; c < k; c++) classes += per[c] >= LT_MIN_CLASS_ROWS;
  for (size_t i = 0; i < used; i++)
    if (per[y[i]] >= LT_MIN_CLASS_ROWS) order[kept] = order[i], y[kept++] = y[i];
  free(per);
  w.m = m = kept;
  rc = FL_EINVAL;
  if (m < 4 || classes < 2) goto done;
  rc = FL_ENOMEM;
  w.nn = LT_NEIGHBOURS < m - 1 ? LT_NEIGHBOURS : m - 1;
  w.g = malloc(m * m * sizeof *w.g);
  w.nbr = malloc(m * w.nn * sizeof *w.nbr);
  w.a = malloc(m * k * sizeof *w.a);
  w.s2 = malloc(k * sizeof *w.s2);
  w.count = calloc(k, sizeof *w.count);
  w.hits = malloc(k * sizeof *w.hits);
  w.votes = malloc(k * sizeof *w.votes);
  z = standardized(ds, order, m, means, invs);
  if (!w.g || !w.nbr || !w.a || !w.s2 || !w.count || !w.hits || !w.votes || !z) goto done;
  gram(z, m, ds->d, w.g);
  neighbours(&w);
  for (size_t i = 0; i < m; i++) w.count[y[i]]++;

  bool knn_won = false;
  size_t hits = 0;
  out->accuracy = statistic(&w, y, &knn_won, &hits, &out->linear_accuracy);
  out->method = knn_won ? "leave-one-out 5-nearest-neighbours" : "leave-one-out nearest centroid";
  out->rule_accuracy = (double)hits / (double)m;
  /* Now, before the permutations: w.s2 holds the real labels' sums. */
  if (val && val->d == ds->d && val->n > 0 &&
      (rc = score_validation(&w, z, y, val, means, invs, knn_won, seed ^ 0x76616cull, out)) != 0)
    goto done;
  rc = FL_ENOMEM;
  out->chance = 1.0 / (double)classes; /* the classes that took part */
  memcpy(perm, y, m * sizeof *perm);
  int at_least = 0;
  double sum = 0, null[LT_PERMUTATIONS];
  for (int p = 0; p < LT_PERMUTATIONS; p++) {
    for (size_t i = m; i > 1; i--) { /* Fisher-Yates on the labels */
      size_t j = (size_t)(fl_splitmix64(&seed) % i);
      int t = perm[i - 1];
      perm[i - 1] = perm[j];
      perm[j] = t;
    }
    null[p] = statistic(&w, perm, NULL, NULL, NULL);
    sum += null[p];
    at_least += null[p] >= out->accuracy;
  }
  /* 95th percentile of the null: the 950th of 999 sorted values. */
  fl_sort_doubles(null, LT_PERMUTATIONS);
  out->run = true;
  out->rows = m;
  out->permutations = LT_PERMUTATIONS;
  out->null_mean = sum / LT_PERMUTATIONS;
  out->null_q95 = null[(int)(0.95 * (LT_PERMUTATIONS + 1)) - 1];
  out->p_value = (1.0 + at_least) / (LT_PERMUTATIONS + 1.0);
  rc = 0;
done:
  free(order);
  free(y);
  free(perm);
  free(z);
  free(means);
  free(invs);
  free(w.g);
  free(w.nbr);
  free(w.a);
  free(w.s2);
  free(w.count);
  free(w.hits);
  free(w.votes);
  return rc;
}
