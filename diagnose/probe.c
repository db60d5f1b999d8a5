/* diagnose/probe.c — which short side experiments to run for the signals
 * seen, and what each one changes in the job. A probe is the job's own
 * spec with one thing changed, trained briefly from the job's own seed on a
 * subset of its data (the daemon's worker runs them); comparing it with
 * the unchanged baseline turns a suspicion into a measurement. */
#include <math.h>
#include <string.h>

#include "diagnose_internal.h"

/* The wider probe's hidden dense layers get 4x their units, and at least
 * this many: Keras' examples' usual small width, half the 128 units the
 * probe gives a model with no hidden layer (see FL_PROBE_WIDER below). */
#define WIDER_MIN_UNITS 64

static const char *const probe_names[FL_PROBE_COUNT] = {
    "baseline", "learning rate / 10", "learning rate x 10", "Adam (lr 0.001)",
    "wider model (4x, 64 units at least)", "labels shuffled across rows", "standardized inputs",
    "He/Glorot initialization", "leaky ReLU", "ReLU hidden layers",
    "softmax output with cross-entropy", "learning rate / 100",
    "learning rate x 100", "learning rate x 1000", "the usual learning rate",
    "the peak learning rate held (no schedule)"};

const char *fl_probe_name(fl_probe_kind p) {
  return p < FL_PROBE_COUNT ? probe_names[p] : "?";
}

static bool has_hidden(const fl_job_spec *s, fl_activation a) {
  for (int i = 0; i + 1 < s->n_layers; i++)
    if (s->layers[i].activation == a) return true;
  return false;
}

static bool is_default_init(const fl_layer_spec *l) {
  return (l->kernel_init.kind == FL_INIT_GLOROT_UNIFORM ||
          l->kernel_init.kind == FL_INIT_GLOROT_NORMAL ||
          l->kernel_init.kind == FL_INIT_HE_NORMAL ||
          l->kernel_init.kind == FL_INIT_HE_UNIFORM) &&
         l->bias_init.kind == FL_INIT_ZEROS;
}

/* Some tanh/sigmoid hidden layer starts from initializers other than
 * the defaults: what the re-initialization probe would change there. */
static bool bounded_init_changed(const fl_job_spec *s) {
  for (int i = 0; i + 1 < s->n_layers; i++) {
    const fl_layer_spec *l = &s->layers[i];
    if ((l->activation == FL_ACT_TANH || l->activation == FL_ACT_SIGMOID) && !is_default_init(l))
      return true;
  }
  return false;
}

/* The highest rate of o's schedule (the rate itself without one): what
 * the ladder's cap and the usual rate compare with. */
static double peak_rate(const fl_optimizer_spec *o) {
  const fl_lr_schedule *s = &o->schedule;
  double peak = o->learning_rate;
  if (s->kind == FL_SCHEDULE_PIECEWISE)
    for (int i = 0; i <= s->n_boundaries && i <= FL_SCHEDULE_MAX_BOUNDARIES; i++)
      peak = fmax(peak, s->values[i]);
  if (s->kind == FL_SCHEDULE_COSINE && s->warmup) peak = fmax(peak, s->warmup_target);
  return peak;
}

bool fl_probe_spec(fl_probe_kind p, const fl_job_spec *base, fl_job_spec *out) {
  *out = *base;
  fl_optimizer_spec *o = &out->optimizer;
  switch (p) {
    case FL_PROBE_BASELINE:
    case FL_PROBE_PERMUTED:
    case FL_PROBE_STANDARDIZED:
      return true;
    /* The learning-rate ladder: one change, in decades, so that the
     * smallest step that repairs the job can name the fix. Rates above 10
     * are not tried (no optimizer trains there). */
    case FL_PROBE_LR_DOWN:
      fl_optimizer_scale_rate(o, 0.1);
      return true;
    case FL_PROBE_LR_DOWN100:
      fl_optimizer_scale_rate(o, 0.01);
      return true;
    case FL_PROBE_LR_UP:
      fl_optimizer_scale_rate(o, 10);
      return peak_rate(o) <= 10.0;
    case FL_PROBE_LR_UP100:
      fl_optimizer_scale_rate(o, 100);
      return peak_rate(o) <= 10.0;
    case FL_PROBE_LR_UP1000:
      fl_optimizer_scale_rate(o, 1000);
      return peak_rate(o) <= 10.0;
    case FL_PROBE_LR_USUAL: {
      /* Keras' defaults; only past the ladder's last rung, up (x 1000)
       * or down (/ 100): Adam at 7.4 is still at 0.074 there, where a
       * CNN's ReLU filters die in the first steps (development job 20042,
       * gen_conv.py), and the usual 0.001 learns. */
      double usual = fl__lr_usual(base), peak = peak_rate(o);
      if (!(peak > 0 && (peak * 1000 < usual || peak > 100 * usual))) return false;
      fl_optimizer_scale_rate(o, usual / peak);
      return true;
    }
    case FL_PROBE_SCHEDULE_OFF:
      /* A schedule that takes the rate far below the usual range within
       * the job: the same optimizer at the schedule's highest rate. */
      if (o->schedule.kind == FL_SCHEDULE_NONE) return false;
      o->learning_rate = (float)peak_rate(o);
      memset(&o->schedule, 0, sizeof o->schedule);
      o->schedule.kind = FL_SCHEDULE_NONE;
      return true;
    case FL_PROBE_ADAM:
      if (o->kind == FL_OPT_ADAM || o->kind == FL_OPT_ADAMW) return false;
      fl_optimizer_defaults(o, FL_OPT_ADAM);
      return true;
    case FL_PROBE_WIDER: {
      if (base->n_layers == 1) {
        /* No hidden layer: add one. */
        if (base->n_layers + 1 > FL_MAX_LAYERS) return false;
        out->layers[1] = base->layers[0];
        memset(&out->layers[0], 0, sizeof out->layers[0]);
        out->layers[0].units = 128;
        out->layers[0].activation = FL_ACT_RELU;
        out->layers[0].kernel_init.kind = FL_INIT_HE_NORMAL;
        out->layers[0].bias_init.kind = FL_INIT_ZEROS;
        out->n_layers = 2;
        return true;
      }
      for (int i = 0; i + 1 < out->n_layers; i++) {
        /* a conv layer's filters double (issue 13): 4x filters would make
         * the probe's patches GEMMs 4x slower for no clearer answer */
        if (out->layers[i].kind == FL_LAYER_CONV2D) {
          int f = out->layers[i].units * 2;
          out->layers[i].units = f > 512 ? (out->layers[i].units > 512 ? out->layers[i].units : 512) : f;
          continue;
        }
        /* At least WIDER_MIN_UNITS: four times a handful of units is still
         * a handful, and its gain does not show within a probe's ~150
         * steps (gen_jobs.py development jobs from seed 30000: one or two
         * layers of 2 to 4 units on rings and spirals, where the 32x
         * wider twin reaches 0.99; with 8 to 16 units in the probe,
         * capacity was named on 5 of 38, the rest told healthy, a rate
         * too low or unexplained; with 64 at least, on 11). */
        int u = out->layers[i].units * 4;
        if (u < WIDER_MIN_UNITS) u = WIDER_MIN_UNITS;
        out->layers[i].units = u > 1024 ? (out->layers[i].units > 1024 ? out->layers[i].units : 1024) : u;
      }
      return true;
    }
    case FL_PROBE_REINIT: {
      bool changed = false;
      for (int i = 0; i < out->n_layers; i++) {
        fl_layer_spec *l = &out->layers[i];
        if (is_default_init(l)) continue;
        bool relu = l->activation == FL_ACT_RELU || l->activation == FL_ACT_LEAKY_RELU;
        l->kernel_init.kind = relu ? FL_INIT_HE_NORMAL : FL_INIT_GLOROT_UNIFORM;
        l->kernel_init.param = 0;
        l->bias_init.kind = FL_INIT_ZEROS;
        l->bias_init.param = 0;
        changed = true;
      }
      return changed;
    }
    case FL_PROBE_LEAKY:
      if (!has_hidden(base, FL_ACT_RELU)) return false;
      for (int i = 0; i + 1 < out->n_layers; i++)
        if (out->layers[i].activation == FL_ACT_RELU) out->layers[i].activation = FL_ACT_LEAKY_RELU;
      return true;
    case FL_PROBE_RELU: {
      /* tanh/sigmoid hidden layers, or the hidden layers of a model left
       * linear throughout (fl__model_linear): ReLU in both cases. */
      bool linear = fl__model_linear(base), changed = false;
      for (int i = 0; i + 1 < out->n_layers; i++) {
        fl_layer_spec *l = &out->layers[i];
        if (l->activation != FL_ACT_TANH && l->activation != FL_ACT_SIGMOID &&
            !(linear && l->activation == FL_ACT_LINEAR))
          continue;
        l->activation = FL_ACT_RELU;
        l->kernel_init.kind = FL_INIT_HE_NORMAL;
        l->kernel_init.param = 0;
        changed = true;
      }
      return changed;
    }
    case FL_PROBE_LOGITS: {
      fl_layer_spec *last = &out->layers[out->n_layers - 1];
      if (base->loss.kind == FL_LOSS_MSE) return false;
      bool ok_pair = (last->activation == FL_ACT_SOFTMAX && !base->loss.from_logits) ||
                     (last->activation == FL_ACT_LINEAR && base->loss.from_logits);
      if (ok_pair) return false;
      last->activation = FL_ACT_SOFTMAX;
      out->loss.from_logits = false;
      return true;
    }
    case FL_PROBE_COUNT:
      break;
  }
  return false;
}

int fl_probe_plan(const fl_job_spec *spec, const fl_signals *s,
                  fl_probe_kind *out, int max) {
  int n = 0;
  bool seen[FL_PROBE_COUNT] = {false};
#define ADD(p)                                                   \
  do {                                                           \
    fl_job_spec tmp_;                                            \
    if (n < max && !seen[p] && fl_probe_spec((p), spec, &tmp_)) { \
      out[n++] = (p);                                            \
      seen[p] = true;                                            \
    }                                                            \
  } while (0)
  /* Hidden layers, all left linear: the ReLU probe gives them relu. */
  const bool linear_hidden = spec->n_layers > 1 && fl__model_linear(spec);
  ADD(FL_PROBE_BASELINE);
  /* A schedule whose rate is now far below the usual range: holding its
   * peak is the one change that tests it (the ladder scales the whole
   * schedule, and it decays all the same). */
  if (spec->optimizer.schedule.kind != FL_SCHEDULE_NONE && s->lr_now >= 0 &&
      fl__rate_far_below_usual(spec, s->lr_now))
    ADD(FL_PROBE_SCHEDULE_OFF);
  if (s->suspect_init) ADD(FL_PROBE_REINIT);
  if (s->suspect_lr_high) {
    ADD(FL_PROBE_LR_DOWN);
    ADD(FL_PROBE_LR_DOWN100);
    ADD(FL_PROBE_LR_USUAL);
  }
  if (s->suspect_inputs) ADD(FL_PROBE_STANDARDIZED);
  /* The wider model, and the changes that keep the job's layer sizes but
   * train them otherwise (a step up the ladder, Adam for SGD): the model
   * limits the job only when it beats those too (rule_capacity). A deep
   * narrow net under plain SGD ends low for want of Adam, not units
   * (development jobs 10258, 10582). */
  if (s->suspect_capacity) {
    /* A model linear throughout gains nothing from width: its hidden
     * layers need an activation (rule_capacity's beyond_linear). */
    if (linear_hidden) ADD(FL_PROBE_RELU);
    ADD(FL_PROBE_WIDER);
    ADD(FL_PROBE_LR_UP);
    if (spec->optimizer.kind == FL_OPT_SGD) ADD(FL_PROBE_ADAM);
  }
  if (s->confirm_only) return n;
  bool sgd = spec->optimizer.kind == FL_OPT_SGD;
  /* Blown-up activations from the first step point at the weights' scale,
   * and so do saturated tanh/sigmoid layers the spec initialized its own
   * way (a bias of -12.6, kernels of sd 3): re-initialize before anything
   * else, the rate ladder included. A loss rising under such a bias reads
   * as a rate too high (gen_conv.py job 20979: tanh conv filters with
   * bias 18, the budget spent on the ladder before re-initialization). */
  if (s->exploding || s->init_loss_off) ADD(FL_PROBE_REINIT);
  if (s->saturated_layer >= 0 && bounded_init_changed(spec)) ADD(FL_PROBE_REINIT);
  bool too_high = s->nonfinite || s->diverging || s->update_too_big || s->exploding ||
                  s->diverged_before;
  if (too_high) {
    ADD(FL_PROBE_LR_DOWN);
    ADD(FL_PROBE_LR_DOWN100);
    ADD(FL_PROBE_LR_USUAL);
    ADD(FL_PROBE_STANDARDIZED);
    ADD(FL_PROBE_REINIT);
  }
  /* A rate far below the usual range is a sign by itself: with batches of
   * a few rows the first batch's loss is a noisy start, and a job that
   * learned nothing can read as having fallen from it (development job
   * 8688, Adam at 5.7e-7 on digits: first batch 13.9, epochs at 11.2, so
   * not "never learned", and the ladder's upper steps were not run). */
  if (s->update_too_small || fl__lr_far_below_usual(spec)) {
    ADD(FL_PROBE_LR_UP);
    ADD(FL_PROBE_LR_UP100);
    ADD(FL_PROBE_LR_UP1000);
    ADD(FL_PROBE_LR_USUAL);
  }
  if (s->dead_layer >= 0) {
    ADD(FL_PROBE_REINIT);
    ADD(FL_PROBE_LEAKY);
  }
  if (s->saturated_layer >= 0 || s->vanishing) {
    /* Saturated layers the spec initialized its own way were given the
     * re-initialization probe above: the initializers are the smaller
     * change; the ReLU probe keeps such a bias and kills the units
     * instead (gen_conv.py job 20627: tanh conv filters with bias -12.6,
     * the budget spent on ReLU and standardized inputs before
     * re-initialization was reached). */
    ADD(FL_PROBE_RELU);
    ADD(FL_PROBE_STANDARDIZED);
  }
  if (s->init_loss_off) ADD(FL_PROBE_REINIT);
  ADD(FL_PROBE_LOGITS);
  /* Labels first among the general ones: nothing else can help if they
   * carry no information about the features. */
  if (s->val_at_chance || s->never_learned || s->collapsed) ADD(FL_PROBE_PERMUTED);
  /* The ladder before the optimizer: the smaller change names the cause. */
  ADD(FL_PROBE_LR_UP);
  ADD(FL_PROBE_LR_DOWN);
  if (s->never_learned || s->update_too_small) {
    ADD(FL_PROBE_LR_UP100);
    ADD(FL_PROBE_LR_UP1000);
    ADD(FL_PROBE_LR_USUAL);
  }
  if (too_high) ADD(FL_PROBE_LR_DOWN100);
  if (sgd) ADD(FL_PROBE_ADAM);
  /* Deep tanh/sigmoid stacks stall without a visible sign at times: the
   * ReLU probe tests them. */
  if (s->never_learned || s->stalled || linear_hidden) ADD(FL_PROBE_RELU);
  ADD(FL_PROBE_WIDER);
  ADD(FL_PROBE_STANDARDIZED);
  ADD(FL_PROBE_REINIT);
  ADD(FL_PROBE_PERMUTED);
#undef ADD
  return n;
}
