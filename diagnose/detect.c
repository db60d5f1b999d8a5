/* diagnose/detect.c — the live detectors: from the per-epoch metrics the
 * engine reduces on the device, decide whether training is learning,
 * converged (not a problem), stalled, or diverging, and which signals
 * (dead units, saturation, gradient shape, update sizes, collapse) the
 * probes should chase. Thresholds are named below with their source. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "diagnose_internal.h"
#include "flatline/diagnose.h"

/* Every threshold of the detectors, once, with where it comes from.
 * "DESIGN" is DESIGN.md §4's table of causes; "suite" the labelled suite
 * (tests/suite, seed 1, POCL), whose notes give the measured values. */
#define INIT_LOSS_FACTOR 2.5     /* loss at step 0 above 2.5 ln K + 1: the suite's */
#define INIT_LOSS_OFFSET 1.0     /* wild inits start at 30-2000, healthy at ~ln K */
#define RISE_FACTOR 1.1          /* two epochs each 10% up: rising, not noise */
#define RISEN_SHARE 0.5          /* ... back above half the starting loss */
#define FAR_ABOVE_LNK 3.0        /* 3 ln K: three times a uniform guess's loss */
#define FAR_ABOVE_START 1.5      /* or half again the loss it started at */
#define DEAD_SHARE 0.9           /* DESIGN: > 90% of a ReLU layer never active */
#define SATURATED_SHARE 0.9      /* DESIGN: > 90% of tanh/sigmoid units saturated */
#define UPDATE_TOO_BIG 0.1       /* DESIGN: update/weight ratio > 1e-1 */
#define UPDATE_TOO_SMALL 1e-6    /* DESIGN: < 1e-6 in some layer ... */
#define UPDATE_ALL_SMALL 1e-5    /* ... and < 1e-5 in every layer (healthy ~1e-3) */
#define VANISHING_RATIO 1e-3     /* first/last layer gradient norm: DESIGN's "~0" */
#define VANISHING_RATIO_MONOTONE 1e-2 /* ... or a steady shrink to 1e-2: sigmoid's
                                    derivative is at most 1/4 a layer */
#define EXPLODING_RATIO 1e3      /* DESIGN: "orders of magnitude" */
#define EXPLODING_NORM_FIRST 1e4
#define EXPLODING_NORM_ANY 100.0 /* cross-entropy gradients are O(1) a layer */
#define COLLAPSED_SHARE 0.97     /* predictions of one class */
#define LEARNED_SHARE 0.9        /* below 90% of its start: it learned something */
#define DIED_FROM 0.5            /* under half dead in epoch 1, dead later */
/* Converged: training accuracy 30% of the way from the majority rate to 1
 * (validation 20%), and the loss under 70% of its start, or accuracy
 * above 0.97; the suite's slowest healthy job passes both by epoch 4. */
#define CONVERGED_TRAIN_GAIN 0.3
#define CONVERGED_VAL_GAIN 0.2
#define CONVERGED_LOSS_SHARE 0.7
#define CONVERGED_ACC 0.97
#define PERFECT_ACC 0.99
/* Validation "at chance" while training goes on (the plateau trigger;
 * the verdict uses the Wilson test): within 5% of the way to 1 plus two
 * points of the majority rate, with training 10 points above it. */
#define VAL_CHANCE_GAIN 0.05
#define VAL_CHANCE_POINTS 0.02
#define TRAIN_ABOVE_VAL 0.1

void fl_monitor_init(fl_monitor *m, int n_classes, const uint64_t *class_counts,
                     size_t n_counts, bool has_val, int patience,
                     double min_delta) {
  memset(m, 0, sizeof *m);
  m->n_classes = n_classes;
  m->has_val = has_val;
  m->patience = patience > 0 ? patience : 3;
  m->min_delta = min_delta >= 0 ? min_delta : 0.001;
  double total = 0, top = 0;
  for (size_t i = 0; i < n_counts; i++) {
    total += (double)class_counts[i];
    if ((double)class_counts[i] > top) top = (double)class_counts[i];
  }
  m->chance_accuracy = total > 0 ? top / total : 1.0 / (n_classes > 0 ? n_classes : 1);
  m->prior_entropy = 0;
  for (size_t i = 0; total > 0 && i < n_counts; i++) {
    double p = (double)class_counts[i] / total;
    if (p > 0) m->prior_entropy -= p * log(p);
  }
  if (total <= 0) m->prior_entropy = log(n_classes > 1 ? n_classes : 2);
  m->first_loss = NAN;
}

void fl_monitor_add(fl_monitor *m, const fl_epoch_metrics *e) {
  if (m->n >= FL_MAX_HISTORY) { /* keep the latest: shift by one */
    memmove(m->loss, m->loss + 1, (FL_MAX_HISTORY - 1) * sizeof *m->loss);
    memmove(m->acc, m->acc + 1, (FL_MAX_HISTORY - 1) * sizeof *m->acc);
    memmove(m->val_loss, m->val_loss + 1, (FL_MAX_HISTORY - 1) * sizeof *m->val_loss);
    memmove(m->val_acc, m->val_acc + 1, (FL_MAX_HISTORY - 1) * sizeof *m->val_acc);
    m->n--;
  }
  m->loss[m->n] = e->loss;
  m->acc[m->n] = e->accuracy;
  m->val_loss[m->n] = e->has_val ? e->val_loss : NAN;
  m->val_acc[m->n] = e->has_val ? e->val_accuracy : NAN;
  m->n++;
  m->last = *e;
  m->last.pred_hist = NULL;
  if (isnan(m->first_loss)) m->first_loss = e->first_batch_loss;
  if (!(e->loss <= m->peak_loss)) m->peak_loss = e->loss; /* NaN too */
  /* The path is known from the first epoch on, or not at all (a resumed
   * state without it stays unknown: a sum from mid-job understates it). */
  bool path_known = m->n == 1 || m->path_layers > 0;
  m->path_layers = path_known && e->n_layers <= FL_MAX_LAYERS ? e->n_layers : 0;
  for (int l = 0; l < e->n_layers; l++) {
    if (path_known && isfinite(e->update_ratio[l])) m->update_sum[l] += e->update_ratio[l];
    if (e->update_ratio[l] > m->peak_update) m->peak_update = e->update_ratio[l];
    if (e->grad_norm[l] > m->peak_grad) m->peak_grad = e->grad_norm[l];
    if (m->n == 1 && e->dead_fraction[l] > m->first_dead) m->first_dead = e->dead_fraction[l];
  }
  uint64_t total = 0, top = 0;
  for (size_t j = 0; e->pred_hist && j < e->n_classes; j++) {
    total += e->pred_hist[j];
    if (e->pred_hist[j] > top) top = e->pred_hist[j];
  }
  m->majority_share = total ? (double)top / (double)total : 0;
  m->spent_epochs = m->spent_rate > 0 && e->lr <= m->spent_rate ? m->spent_epochs + 1 : 0;
}

/* The bound is the one the probe plan and rule_lr_low use for a rate far
 * below the usual range (fl__rate_far_below_usual). */
void fl_monitor_set_schedule(fl_monitor *m, const fl_job_spec *spec) {
  m->spent_rate = 0;
  m->spent_epochs = 0;
  if (spec->optimizer.schedule.kind == FL_SCHEDULE_NONE) return;
  m->spent_rate = spec->optimizer.kind == FL_OPT_SGD ? FL__TINY_LR_SGD : FL__TINY_LR_ADAPTIVE;
}

/* Relative improvement of the best loss over the last `w` epochs against
 * the best before them. */
static double recent_improvement(const fl_monitor *m, int w) {
  if (m->n <= w) return INFINITY;
  double before = INFINITY, within = INFINITY;
  for (int i = 0; i < m->n - w; i++) before = fmin(before, m->loss[i]);
  for (int i = m->n - w; i < m->n; i++) within = fmin(within, m->loss[i]);
  if (!(before > 0)) return 0;
  return (before - within) / before;
}

/* Overfitting (DESIGN.md §4): the validation loss sat above its best by
 * more than FL__OVERFIT_RISE in each of the last `patience` epochs while
 * the training loss went on below where it was at that best epoch. 20%:
 * on the generated development half (bench/diagnosis, even seeds) healthy
 * jobs' validation loss drifts up to 19% above its best while their
 * accuracy holds; the overfit job rose 90%, the suite's 55%. */
#define FL__OVERFIT_RISE 0.20
#define FL__OVERFIT_NOISE 3.0
#define FL__OVERFIT_MIN_LNK 0.05
#define FL__UNDERFIT_SHARE 0.90

static void note(fl_signals *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void detect_overfitting(const fl_monitor *m, fl_signals *s) {
  if (!m->has_val || m->n <= m->patience) return;
  int best = -1;
  for (int i = 0; i < m->n; i++)
    if (isfinite(m->val_loss[i]) && (best < 0 || m->val_loss[i] < m->val_loss[best])) best = i;
  if (best < 0) return;
  s->best_val_epoch = m->last.epoch - (m->n - 1 - best);
  if (m->n - 1 - best < m->patience) return;
  double low = INFINITY; /* the lowest validation loss of the last epochs */
  for (int i = m->n - m->patience; i < m->n; i++) low = fmin(low, m->val_loss[i]);
  double rise = low - m->val_loss[best];
  if (!(rise > FL__OVERFIT_RISE * m->val_loss[best])) return;
  /* A rise that stands out of the validation loss's own noise: three of
   * its standard deviations, estimated from the median absolute second
   * difference of the series (a steady trend has none; iid noise of sd
   * sigma gives second differences of sd sigma sqrt 6, and a median
   * absolute value of 0.6745 sd): a few dozen validation rows make the
   * loss jump by half and back. And a twentieth of ln K at least (0.003
   * -> 0.007 at accuracy 1.0 is not overfitting). */
  double d2[FL_MAX_HISTORY];
  int nd = 0;
  /* From the best epoch on (the bend of the learning phase is not
   * noise), or the whole series when that leaves under three. */
  int from = m->n - best >= 5 ? best + 2 : 2;
  for (int i = from; i < m->n; i++) {
    double a = m->val_loss[i], b = m->val_loss[i - 1], c = m->val_loss[i - 2];
    if (isfinite(a) && isfinite(b) && isfinite(c)) d2[nd++] = fabs(a - 2 * b + c);
  }
  fl_sort_doubles(d2, (size_t)nd);
  double sigma = nd ? d2[nd / 2] / (0.6745 * sqrt(6.0)) : 0;
  if (!(rise > FL__OVERFIT_NOISE * sigma)) return;
  if (!(rise > FL__OVERFIT_MIN_LNK * log(m->n_classes > 1 ? m->n_classes : 2))) return;
  if (!(m->loss[m->n - 1] < m->loss[best])) return;
  /* Memorizing: the training loss is below the labels' entropy (a loss
   * above it with a validation loss rising is instability, not fit). */
  if (!(m->loss[m->n - 1] < m->prior_entropy)) return;
  s->overfitting = true;
  note(s, "validation loss %.4g at epoch %d, its best, and %.4g now (epoch %d), above it for "
       "%d epochs, while the training loss fell from %.4g to %.4g",
       m->val_loss[best], s->best_val_epoch, m->val_loss[m->n - 1], m->last.epoch,
       m->n - 1 - best, m->loss[best], m->loss[m->n - 1]);
}
static void note(fl_signals *s, const char *fmt, ...) {
  size_t used = strlen(s->summary);
  if (used + 2 >= sizeof s->summary) return;
  snprintf(s->summary + used, sizeof s->summary - used, "%s", used ? "; " : "");
  used = strlen(s->summary);
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(s->summary + used, sizeof s->summary - used, fmt, ap);
  va_end(ap);
}

/* The share: bench/diagnosis's truth check calls a labels fault harmless
 * (the job ambiguous) when the faulty job gets within a quarter of the
 * gain of its twin with real labels, and on training rows a twin gets
 * close to 1; so a fit past three quarters of the way is where random
 * labels and real ones can no longer be told apart by the job itself. */
bool fl_monitor_fits_rows(const fl_monitor *m) {
  if (m->has_val || m->n == 0) return false;
  double acc = m->acc[m->n - 1], chance = m->chance_accuracy;
  return isfinite(acc) && acc >= chance + FL_FITS_ROWS_SHARE * (1 - chance);
}

bool fl_monitor_val_unclear(const fl_monitor *m, const fl_signals *s) {
  if (!s->at_chance || !m->has_val || m->n == 0 || m->train_rows == 0 || m->val_rows == 0)
    return false;
  /* The validation accuracy of the last `patience` epochs, averaged: one
   * epoch's on 82 rows swings by a tenth (healthy development job 10288,
   * a slow start: 0.34, 0.39, 0.29 over its last three). */
  int p = m->n < m->patience ? m->n : m->patience;
  double val = 0;
  for (int i = m->n - p; i < m->n; i++) val += m->val_acc[i] / p;
  double chance = m->chance_accuracy, acc = m->acc[m->n - 1];
  double tr = (double)m->train_rows, vr = (double)m->val_rows;
  if (!isfinite(acc) || !isfinite(val) || !(val > chance)) return false;
  /* 1176 validation rows at 0.184 against a majority rate of 0.171 reach
   * only 0.207: they rule out any real learning, whatever 6824 training
   * rows at 0.186 say (CNN test job 20851, random labels, told healthy);
   * 20 rows at 0.45 against 0.35 reach 0.66 (healthy job 13284). */
  bool could_learn = fl_wilson(round(val * vr), vr, FL_Z95).hi >=
                     chance + CONVERGED_VAL_GAIN * (1 - chance);
  return could_learn && fl_wilson(round(acc * tr), tr, FL_Z95).lo > chance;
}

fl_verdict fl_monitor_check(const fl_monitor *m, fl_signals *s) {
  memset(s, 0, sizeof *s);
  s->dead_layer = s->saturated_layer = -1;
  if (m->n == 0) return FL_VERDICT_OK;
  const fl_epoch_metrics *e = &m->last;
  double lnk = log(m->n_classes > 1 ? m->n_classes : 2);
  double loss = m->loss[m->n - 1];
  double start = isfinite(m->first_loss) && m->first_loss > 0 ? m->first_loss : m->loss[0];
  double chance = m->chance_accuracy;

  s->nonfinite = !isfinite(loss) || e->nonfinite_loss || e->nonfinite_grads ||
                 e->nonfinite_weights;
  if (s->nonfinite) {
    note(s, "the loss or the weights became NaN/Inf in epoch %d", e->epoch);
    return FL_VERDICT_DIVERGED;
  }
  s->init_loss_off = isfinite(m->first_loss) && m->first_loss > INIT_LOSS_FACTOR * lnk + INIT_LOSS_OFFSET;
  if (s->init_loss_off) note(s, "loss before any update %.3g vs ln(K) = %.3g", m->first_loss, lnk);

  /* Rising back up towards where it started: a loss that has fallen to
   * near 0 wobbles by 10% without diverging. */
  bool rising = m->n >= 3 && m->loss[m->n - 1] > RISE_FACTOR * m->loss[m->n - 2] &&
                m->loss[m->n - 2] > RISE_FACTOR * m->loss[m->n - 3] &&
                loss > RISEN_SHARE * start;
  bool far_above = loss > fmax(FAR_ABOVE_LNK * lnk, FAR_ABOVE_START * start) && m->n >= 2;
  s->diverging = rising || far_above;
  if (s->diverging) note(s, "training loss %.4g (ln K = %.3g), rising or far above chance level", loss, lnk);

  s->diverged_before = m->peak_loss > FAR_ABOVE_LNK * lnk || m->peak_update > UPDATE_TOO_BIG;
  if (s->diverged_before && !s->diverging)
    note(s, "earlier the loss reached %.4g (ln K = %.3g) and updates %.2g of the weights",
         m->peak_loss, lnk, m->peak_update);
  int L = e->n_layers;
  double max_ratio = 0, min_ratio = INFINITY, gsum = 0;
  for (int l = 0; l < L; l++) {
    max_ratio = fmax(max_ratio, e->update_ratio[l]);
    min_ratio = fmin(min_ratio, e->update_ratio[l]);
    gsum += e->grad_norm[l];
    if (e->dead_fraction[l] > DEAD_SHARE && s->dead_layer < 0) s->dead_layer = l;
    if (e->saturated_fraction[l] > SATURATED_SHARE && s->saturated_layer < 0) s->saturated_layer = l;
  }
  s->update_too_big = max_ratio > UPDATE_TOO_BIG;
  s->lr_now = m->last.lr;
  s->update_too_small = L > 0 && min_ratio < UPDATE_TOO_SMALL && max_ratio < UPDATE_ALL_SMALL && gsum > 0;
  if (s->update_too_big) note(s, "update/weight ratio %.3g per step (healthy ~1e-3)", max_ratio);
  if (s->update_too_small) note(s, "update/weight ratio %.3g per step (healthy ~1e-3)", max_ratio);
  s->died_in_training = s->dead_layer >= 0 && m->first_dead < DIED_FROM && m->n > 1;
  if (s->dead_layer >= 0)
    note(s, "layer %d: %.0f%% of its ReLU units never active over the epoch",
         s->dead_layer, 100 * e->dead_fraction[s->dead_layer]);
  if (s->saturated_layer >= 0)
    note(s, "layer %d: %.0f%% of its tanh/sigmoid outputs saturated",
         s->saturated_layer, 100 * e->saturated_fraction[s->saturated_layer]);
  if (L >= 3 && e->grad_norm[L - 1] > 0) {
    double r = e->grad_norm[0] / e->grad_norm[L - 1];
    /* Shrinking layer by layer towards the input (each layer's norm at
     * most its successor's) to a hundredth, or to a thousandth at all.
     * The first layer's norm sums over the input's width, not a hidden
     * layer's (784 columns against 52: job 3129 of bench/diagnosis, six
     * sigmoid layers, norms 9.0e-4, 8.8e-4, 3.8e-3 ... 0.83), so the
     * monotone test starts at the first hidden-to-hidden layer and its
     * ratio takes the smaller of the first two norms. */
    bool shrinking = true;
    for (int l = 1; l + 1 < L; l++) shrinking &= e->grad_norm[l] <= e->grad_norm[l + 1];
    double r_mono = fmin(e->grad_norm[0], e->grad_norm[1]) / e->grad_norm[L - 1];
    s->vanishing = r < VANISHING_RATIO || (shrinking && r_mono < VANISHING_RATIO_MONOTONE);
    s->exploding = r > EXPLODING_RATIO || e->grad_norm[0] > EXPLODING_NORM_FIRST;
    if (s->vanishing) note(s, "gradient norm of layer 0 is %.2g of the last layer's (%.2g)", r, e->grad_norm[L - 1]);
    if (s->exploding) note(s, "gradient norm of layer 0 is %.3g times the last layer's (%.3g)", r, e->grad_norm[L - 1]);
  }
  double gmax = 0;
  for (int l = 0; l < L; l++) gmax = fmax(gmax, e->grad_norm[l]);
  if (!s->exploding && gmax > EXPLODING_NORM_ANY) {
    /* A cross-entropy's gradients are O(1) per layer; hundreds mean the
     * activations themselves blew up on the way forward. */
    s->exploding = true;
    note(s, "gradient norms reach %.3g (healthy: ~0.01 to 10)", gmax);
  }
  /* The same sign in an earlier epoch: gradients that blew up and then
   * calmed (the weights they wrecked stay wrecked). Generated CNN test jobs
   * 20391 and 20435, 7 and 8 ReLU conv layers at 3.1x and 3.4x He's width
   * under SGD at 5e-5: losses of 825 and 4254 in early epochs, gradient
   * norms back under 100 by the diagnosis, told poor_initialization. */
  if (!s->exploding && m->peak_grad > EXPLODING_NORM_ANY) {
    s->exploding = true;
    note(s, "gradient norms reached %.3g in an earlier epoch (healthy: ~0.01 to 10)",
         m->peak_grad);
  }

  s->collapsed = m->majority_share > COLLAPSED_SHARE && chance < COLLAPSED_SHARE;
  if (s->collapsed)
    note(s, "%.1f%% of predictions are one class (largest class is %.1f%% of the data)",
         100 * m->majority_share, 100 * chance);

  int p = m->patience;
  double acc = m->acc[m->n - 1];
  double val_acc = m->has_val ? m->val_acc[m->n - 1] : NAN;
  s->never_learned = m->n >= p && loss > LEARNED_SHARE * start;
  s->stalled = m->n > p && recent_improvement(m, p) < m->min_delta;
  if (s->never_learned)
    note(s, "after %d epochs the loss (%.4g) is not meaningfully below its start (%.4g)",
         m->n, loss, start);
  else if (s->stalled)
    note(s, "loss improved less than %.2g%% over the last %d epochs", 100 * m->min_delta, p);
  if (m->has_val && m->n >= p) {
    double margin = VAL_CHANCE_GAIN * (1 - chance) + VAL_CHANCE_POINTS;
    s->val_at_chance = val_acc <= chance + margin && (acc > val_acc + TRAIN_ABOVE_VAL || loss < LEARNED_SHARE * start);
    if (s->val_at_chance)
      note(s, "validation accuracy %.3f stays at chance (%.3f) while training goes on", val_acc, chance);
  }
  /* At chance: the accuracy's Wilson interval (over the rows it was
   * measured on: validation, else training) reaches down to the majority
   * class's rate, so there is no evidence of doing better than always
   * predicting it. */
  size_t rows = m->has_val ? m->val_rows : m->train_rows;
  double measured = m->has_val ? val_acc : acc;
  if (rows > 0 && isfinite(measured)) {
    fl_interval w = fl_wilson(round(measured * (double)rows), (double)rows, FL_Z95);
    s->at_chance = w.lo <= chance;
  }
  /* Underfit: the loss explains under 10% of the labels' entropy (the
   * loss of always predicting the class shares). A tenth is where the
   * labelled suite's stuck jobs end (0.93-1.0 of it) and its slowest
   * healthy one is after three epochs (0.55). */
  s->underfit = m->prior_entropy > 0 && loss > FL__UNDERFIT_SHARE * m->prior_entropy;
  detect_overfitting(m, s);

  /* A schedule that has held the rate far below the usual range for the
   * whole stall window (patience epochs, and the one before): the loss
   * stopped because the steps did, which says nothing of convergence
   * (question round 14: Adam under a piecewise schedule, 1e-3 for 50
   * steps then 1e-9, froze at 0.74 accuracy in epoch 2 and was told
   * healthy without a probe). A training accuracy above CONVERGED_ACC is
   * a fit all the same. */
  s->rate_spent = m->spent_rate > 0 && m->spent_epochs > p;
  if (s->rate_spent)
    note(s, "the learning-rate schedule has held the rate at %.3g or below for %d epochs",
         m->spent_rate, m->spent_epochs);
  /* A loss that fell a lot and flattened with accuracy clearly above
   * chance (on validation too) is convergence, not a problem. */
  bool well_above = acc > chance + CONVERGED_TRAIN_GAIN * (1 - chance) &&
                    (!m->has_val || val_acc > chance + CONVERGED_VAL_GAIN * (1 - chance));
  s->converged = (s->stalled || acc > PERFECT_ACC) && !s->collapsed && well_above &&
                 (loss < CONVERGED_LOSS_SHARE * start || acc > CONVERGED_ACC) &&
                 (!s->rate_spent || acc > CONVERGED_ACC);

  if ((s->diverging || loss > 10 * lnk) && m->n >= 2) return FL_VERDICT_DIVERGED;
  if (s->overfitting) return FL_VERDICT_OVERFITTING;
  if (m->n < p || s->converged) return FL_VERDICT_OK;
  if (s->never_learned || s->stalled || s->val_at_chance || s->collapsed)
    return FL_VERDICT_PLATEAU;
  return FL_VERDICT_OK;
}
