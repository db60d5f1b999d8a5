/* diagnose/decide.c — from the detectors' signals and the probes' numbers
 * to ranked causes, each with the evidence (measured), advice, and a fix as
 * a merge patch that the probe showed to work. A cause needs both: a sign
 * in the job's own metrics (or its spec) and a probe that, changing only
 * that, clearly does better from the same start. Healthy or converged
 * training never reaches this code (fl_monitor_check says OK). */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "diagnose_internal.h"

typedef struct {
  const fl_decide_input *in;
  fl_diagnosis *out;
} ctx;

static const fl_probe_result *probe(const ctx *c, fl_probe_kind k) {
  const fl_probe_result *r = &c->in->probes[k];
  return r->run ? r : NULL;
}

static bool finite_run(const fl_probe_result *r) {
  return r && !r->failed && isfinite(r->loss_end) && isfinite(r->loss_start);
}

/* Relative fall of the training loss during the probe. */
static double fall(const fl_probe_result *r) {
  if (!finite_run(r) || !(r->loss_start > 0)) return 0;
  return (r->loss_start - r->loss_end) / r->loss_start;
}

/* `a` clearly beats `base`: a final loss at least 25% lower, or held-out
 * accuracy 8 points higher at no worse loss; any finite learning beats a
 * baseline that broke. */
static bool beats(const fl_probe_result *a, const fl_probe_result *base) {
  if (!finite_run(a)) return false;
  if (!finite_run(base)) return fall(a) > 0.05;
  return a->loss_end < 0.75 * base->loss_end ||
         (a->val_acc > base->val_acc + 0.15 && a->loss_end <= base->loss_end);
}

/* `a` beats `base` by far: half the loss and 20 points of accuracy. */
static bool crushes(const fl_probe_result *a, const fl_probe_result *base) {
  return beats(a, base) && finite_run(base) && a->loss_end < 0.5 * base->loss_end &&
         a->val_acc > base->val_acc + 0.2;
}

static void add(ctx *c, fl_cause cause, double confidence, const char *fix,
                const char *advice, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));
static void add(ctx *c, fl_cause cause, double confidence, const char *fix,
                const char *advice, const char *fmt, ...) {
  fl_diagnosis *d = c->out;
  for (int i = 0; i < d->n; i++)
    if (d->items[i].cause == cause) {
      if (confidence > d->items[i].confidence) d->items[i].confidence = confidence;
      return;
    }
  if (d->n == FL_MAX_CAUSES) return;
  fl_cause_report *r = &d->items[d->n++];
  memset(r, 0, sizeof *r);
  r->cause = cause;
  r->confidence = confidence;
  snprintf(r->fix, sizeof r->fix, "%s", fix ? fix : "");
  snprintf(r->advice, sizeof r->advice, "%s", advice);
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(r->evidence, sizeof r->evidence, fmt, ap);
  va_end(ap);
}

/* "lr/10: loss 2.30 -> 0.41 (held-out acc 0.86)" */
static void describe(const ctx *c, fl_probe_kind k, char *out, size_t size) {
  const fl_probe_result *r = probe(c, k);
  if (!r) {
    snprintf(out, size, "%s: not run", fl_probe_name(k));
  } else if (!finite_run(r)) {
    snprintf(out, size, "%s: loss became NaN/Inf", fl_probe_name(k));
  } else {
    snprintf(out, size, "%s: loss %.4g -> %.4g in %d steps (held-out accuracy %.3f)",
             fl_probe_name(k), r->loss_start, r->loss_end, r->steps, r->val_acc);
  }
}

static void probe_fix(const ctx *c, fl_probe_kind k, char *out, size_t size) {
  fl_job_spec changed;
  out[0] = '\0';
  if (fl_probe_spec(k, c->in->spec, &changed))
    fl__spec_patch(c->in->spec, &changed, out, size);
}

static const fl_finding *prior(const ctx *c, fl_cause cause) {
  const fl_findings *f = c->in->preflight;
  for (int i = 0; f && i < f->n; i++)
    if (f->items[i].cause == cause) return &f->items[i];
  return NULL;
}

static bool symmetric_init(const fl_job_spec *s) {
  for (int i = 0; i + 1 < s->n_layers; i++) {
    fl_init_kind k = s->layers[i].kernel_init.kind;
    if (s->layers[i].units > 1 &&
        (k == FL_INIT_ZEROS || k == FL_INIT_ONES || k == FL_INIT_CONSTANT))
      return true;
  }
  return false;
}

/* Random kernels much wider than He's sqrt(2 / fan_in) (fan_in known for
 * layers after the first), or >= 1 anywhere. */
static bool wild_init(const fl_job_spec *s) {
  for (int i = 0; i < s->n_layers; i++) {
    const fl_initializer *k = &s->layers[i].kernel_init;
    if (k->kind != FL_INIT_RANDOM_NORMAL && k->kind != FL_INIT_RANDOM_UNIFORM) continue;
    double sd = k->kind == FL_INIT_RANDOM_UNIFORM ? k->param / sqrt(3.0) : k->param;
    if (sd >= 1.0 || (i > 0 && sd > 2 * sqrt(2.0 / s->layers[i - 1].units))) return true;
  }
  return false;
}

static void rank(fl_diagnosis *d) {
  for (int i = 1; i < d->n; i++)
    for (int j = i; j > 0 && d->items[j].confidence > d->items[j - 1].confidence; j--) {
      fl_cause_report t = d->items[j];
      d->items[j] = d->items[j - 1];
      d->items[j - 1] = t;
    }
}

void fl_decide(const fl_decide_input *in, fl_diagnosis *out) {
  memset(out, 0, sizeof *out);
  ctx c = {in, out};
  const fl_signals *s = in->signals;
  const fl_monitor *m = in->monitor;
  const fl_job_spec *spec = in->spec;
  const fl_probe_result *base = probe(&c, FL_PROBE_BASELINE);
  double chance = m->chance_accuracy;
  char fix[FL_FIX_MAX], a[256], b[256];

  /* Labels: no configuration does better than chance on held-out rows,
   * and shuffling the labels across rows changes nothing. */
  const fl_probe_result *perm = probe(&c, FL_PROBE_PERMUTED);
  const fl_finding *imb = prior(&c, FL_CAUSE_CLASS_IMBALANCE);
  /* With most rows in one class, accuracy says nothing about the labels. */
  bool imbalanced_data = imb || chance >= 0.5;
  bool uninformative = false;
  if (finite_run(perm) && !imbalanced_data) {
    double best_val = 0, best_fall = 0;
    for (int k = 0; k < FL_PROBE_COUNT; k++) {
      const fl_probe_result *r = probe(&c, (fl_probe_kind)k);
      if (k == FL_PROBE_PERMUTED || !finite_run(r)) continue;
      best_val = fmax(best_val, r->val_acc);
      best_fall = fmax(best_fall, fall(r));
    }
    double margin = 0.05 * (1 - chance) + 0.03;
    uninformative = best_val <= chance + margin && perm->val_acc >= best_val - 0.05 &&
                    (best_fall > 0.02 || s->val_at_chance);
    if (uninformative) {
      describe(&c, FL_PROBE_PERMUTED, a, sizeof a);
      add(&c, FL_CAUSE_LABELS_UNINFORMATIVE, 0.9, "",
          "the labels carry no information the model can use about the features: "
          "check that features and labels are aligned row by row (same order, no "
          "shuffle of one without the other) and that the labels are right; no "
          "change of model, loss encoding or optimizer can fix this",
          "no probe reached a held-out accuracy above chance (best %.3f, chance "
          "%.3f), and with the labels shuffled across rows the result is the "
          "same (%s)%s%s",
          best_val, chance, a, s->summary[0] ? "; " : "", s->summary);
    }
  }

  /* NaN/Inf. */
  const fl_probe_result *down = probe(&c, FL_PROBE_LR_DOWN);
  if (s->nonfinite) {
    if (finite_run(down) && fall(down) > 0.05) {
      describe(&c, FL_PROBE_LR_DOWN, a, sizeof a);
      fl_fix_learning_rate(spec, spec->optimizer.learning_rate / 10, fix, sizeof fix);
      add(&c, FL_CAUSE_NUMERICAL_INSTABILITY, 0.9, fix,
          "the NaN/Inf comes from steps too large for these weights: lower the "
          "learning rate (the fix uses a tenth, which the probe showed to train)",
          "%s; from the same start %s", s->summary, a);
      add(&c, FL_CAUSE_LEARNING_RATE_TOO_HIGH, 0.8, fix,
          "lower the learning rate (the probe used a tenth of it)",
          "%s; from the same start %s", s->summary, a);
    } else {
      add(&c, FL_CAUSE_NUMERICAL_INSTABILITY, 0.8, "",
          "find the first non-finite value: inputs with extreme values, a loss "
          "on outputs that can be 0 or negative, an epsilon too small; a lower "
          "learning rate did not help",
          "%s", s->summary);
    }
  }

  /* Learning rate too high, without NaN. */
  bool lr_high_sign = s->diverging || s->update_too_big || s->diverged_before ||
                      s->died_in_training ||
                      (base && finite_run(base) && base->loss_end > 1.5 * log(fmax(m->n_classes, 2)));
  bool lr_high = false;
  if (!s->nonfinite && ((lr_high_sign && beats(down, base)) || crushes(down, base))) {
    describe(&c, FL_PROBE_BASELINE, a, sizeof a);
    describe(&c, FL_PROBE_LR_DOWN, b, sizeof b);
    fl_fix_learning_rate(spec, spec->optimizer.learning_rate / 10, fix, sizeof fix);
    add(&c, FL_CAUSE_LEARNING_RATE_TOO_HIGH, lr_high_sign ? 0.9 : 0.7,
        fix, "lower the learning rate; the probe at a tenth learns from the same start",
        "%s; %s; %s", s->summary, a, b);
    lr_high = true;
  }

  if (uninformative) { /* only lr problems add to a labels diagnosis */
    rank(out);
    return;
  }

  /* Class imbalance: predictions collapse to the majority, loss at the
   * prior's entropy. */
  double loss = m->n ? m->loss[m->n - 1] : NAN;
  if (imbalanced_data && fabs(loss - m->prior_entropy) < 0.35 * m->prior_entropy + 0.05 &&
      (s->collapsed || m->acc[m->n - 1] <= chance + 0.02)) {
    add(&c, FL_CAUSE_CLASS_IMBALANCE, 0.85, "",
        "rebalance the training data (oversample the rare classes or undersample "
        "the majority) or weight the loss per class; check whether the rare "
        "classes have enough rows to be learned at all",
        "training loss %.4g sits at the entropy of the class distribution (%.4g); "
        "%s%s%s", loss, m->prior_entropy, s->summary, imb ? "; " : "",
        imb ? imb->message : "");
  }

  /* Learning rate too low. */
  const fl_probe_result *up = probe(&c, FL_PROBE_LR_UP);
  if (beats(up, base) && fall(base) < 0.1) {
    describe(&c, FL_PROBE_BASELINE, a, sizeof a);
    describe(&c, FL_PROBE_LR_UP, b, sizeof b);
    probe_fix(&c, FL_PROBE_LR_UP, fix, sizeof fix);
    /* Far below the usual range (SGD 1e-3..1e-1, adaptive 1e-4..1e-2) or
     * measured tiny updates: the rate itself. Otherwise other causes that
     * a probe also repairs may rank above it. */
    float lr = spec->optimizer.learning_rate;
    bool tiny = spec->optimizer.kind == FL_OPT_SGD ? lr < 1e-4f : lr < 1e-5f;
    add(&c, FL_CAUSE_LEARNING_RATE_TOO_LOW, s->update_too_small || tiny ? 0.9 : 0.65, fix,
        "raise the learning rate; the probe at the rate in the fix learns from the same start",
        "%s%s%s; %s", s->summary, s->summary[0] ? "; " : "", a, b);
  }

  /* Structure: dead units, saturation, vanishing or exploding gradients,
   * initialization. The probe that repairs it gives the fix. */
  const fl_probe_result *reinit = probe(&c, FL_PROBE_REINIT), *leaky = probe(&c, FL_PROBE_LEAKY),
                        *relu = probe(&c, FL_PROBE_RELU), *stdz = probe(&c, FL_PROBE_STANDARDIZED);
  bool structural = false;
  if (s->dead_layer >= 0 && (beats(reinit, base) || beats(leaky, base))) {
    fl_probe_kind k = beats(reinit, base) && (!finite_run(leaky) || reinit->loss_end <= leaky->loss_end)
                          ? FL_PROBE_REINIT : FL_PROBE_LEAKY;
    describe(&c, k, a, sizeof a);
    probe_fix(&c, k, fix, sizeof fix);
    add(&c, FL_CAUSE_DEAD_RELU, lr_high && s->died_in_training ? 0.6 : 0.85, fix,
        "ReLU units that never fire pass no gradient: initialize biases at zero "
        "and kernels with he_normal, use leaky_relu, or lower the learning rate",
        "%s; %s", s->summary, a);
    structural = true;
  }
  if (s->saturated_layer >= 0 && (beats(relu, base) || beats(stdz, base) || beats(reinit, base))) {
    fl_probe_kind k = beats(relu, base) ? FL_PROBE_RELU : beats(reinit, base) ? FL_PROBE_REINIT
                                                                              : FL_PROBE_STANDARDIZED;
    describe(&c, k, a, sizeof a);
    probe_fix(&c, k, fix, sizeof fix);
    add(&c, FL_CAUSE_SATURATED_ACTIVATION, 0.8, k == FL_PROBE_STANDARDIZED ? "" : fix,
        "saturated tanh/sigmoid units have ~0 gradient: scale the inputs, use "
        "smaller initial weights (glorot), or ReLU hidden layers",
        "%s; %s", s->summary, a);
    structural = true;
  }
  if (s->vanishing && beats(relu, base)) {
    describe(&c, FL_PROBE_RELU, a, sizeof a);
    probe_fix(&c, FL_PROBE_RELU, fix, sizeof fix);
    /* Zero (symmetric) kernels also give zero hidden gradients: then the
     * initialization is the cause, not the depth. */
    add(&c, FL_CAUSE_VANISHING_GRADIENT, symmetric_init(spec) ? 0.6 : 0.85, fix,
        "gradients shrink layer by layer through sigmoid/tanh: use ReLU hidden "
        "layers with he_normal initialization, or fewer layers",
        "%s; %s", s->summary, a);
    structural = true;
  }
  if (s->exploding && (beats(down, base) || beats(reinit, base))) {
    fl_probe_kind k = beats(reinit, base) ? FL_PROBE_REINIT : FL_PROBE_LR_DOWN;
    describe(&c, k, a, sizeof a);
    probe_fix(&c, k, fix, sizeof fix);
    add(&c, FL_CAUSE_EXPLODING_GRADIENT, 0.85, fix,
        "gradients grow layer by layer: use glorot/he initialization (variance "
        "~1/fan_in), a lower learning rate, or fewer layers",
        "%s; %s", s->summary, a);
    structural = true;
  }
  if ((s->init_loss_off || symmetric_init(spec) || wild_init(spec)) && beats(reinit, base)) {
    describe(&c, FL_PROBE_REINIT, a, sizeof a);
    probe_fix(&c, FL_PROBE_REINIT, fix, sizeof fix);
    add(&c, FL_CAUSE_POOR_INITIALIZATION, symmetric_init(spec) ? 0.9 : structural ? 0.7 : 0.85, fix,
        symmetric_init(spec)
            ? "identical initial weights make every unit of a layer learn the same "
              "thing: use glorot_uniform or he_normal kernels"
            : "use glorot_uniform or he_normal kernels and zero biases",
        "%s%s%s%s; %s", symmetric_init(spec) ? "a hidden layer starts with identical (constant) weights" : "",
        symmetric_init(spec) && s->summary[0] ? "; " : "", s->summary,
        wild_init(spec) ? "; initial weights with a standard deviation >= 1" : "", a);
    structural = true;
  }

  /* Inputs. */
  const fl_finding *scale = prior(&c, FL_CAUSE_UNNORMALIZED_INPUTS);
  if (scale && beats(stdz, base)) {
    describe(&c, FL_PROBE_STANDARDIZED, a, sizeof a);
    bool dominant = !finite_run(down) || stdz->loss_end < 0.5 * down->loss_end;
    add(&c, FL_CAUSE_UNNORMALIZED_INPUTS, dominant ? 0.92 : 0.85, scale->fix,
        "scale the features to about unit range (the fix sets data scale; "
        "standardizing per feature is better still)",
        "%s; %s", scale->message, a);
  }

  /* Optimizer. */
  const fl_probe_result *adam = probe(&c, FL_PROBE_ADAM);
  if (spec->optimizer.kind == FL_OPT_SGD && beats(adam, base) &&
      (!finite_run(up) || adam->loss_end < 0.9 * up->loss_end)) {
    describe(&c, FL_PROBE_ADAM, a, sizeof a);
    probe_fix(&c, FL_PROBE_ADAM, fix, sizeof fix);
    add(&c, FL_CAUSE_OPTIMIZER_CHOICE, structural || lr_high ? 0.5 : 0.75, fix,
        "plain SGD stalls here where Adam learns: switch to Adam (or add momentum "
        "and tune the learning rate)",
        "%s%s%s", s->summary, s->summary[0] ? "; " : "", a);
  }

  /* Output/loss pairing (preflight rejects the clear cases). */
  if (beats(probe(&c, FL_PROBE_LOGITS), base)) {
    describe(&c, FL_PROBE_LOGITS, a, sizeof a);
    probe_fix(&c, FL_PROBE_LOGITS, fix, sizeof fix);
    add(&c, FL_CAUSE_OUTPUT_LOSS_MISMATCH, 0.8, fix,
        "use a softmax output with from_logits false (or a linear output with "
        "from_logits true)", "%s", a);
  }

  /* Capacity: it learns, but a wider model clearly does better. */
  const fl_probe_result *wide = probe(&c, FL_PROBE_WIDER);
  if (out->n == 0 && beats(wide, base) && fall(base) > 0.02 && !beats(down, base) &&
      !beats(up, base)) {
    describe(&c, FL_PROBE_BASELINE, a, sizeof a);
    describe(&c, FL_PROBE_WIDER, b, sizeof b);
    probe_fix(&c, FL_PROBE_WIDER, fix, sizeof fix);
    add(&c, FL_CAUSE_INSUFFICIENT_CAPACITY, 0.75, fix,
        "the model underfits: add units or a hidden layer",
        "training and validation both underfit; %s; %s", a, b);
  }
  rank(out);
}
