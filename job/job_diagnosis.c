/* job/job_diagnosis.c — the diagnosis across a job's life (see
 * job_internal.h). One diagnosis runs the probes its signals call for
 * (within what is left of the job's probe budget), then fl_decide with the
 * label test; the verdict at the end reuses the latest diagnosis unless
 * the end brought new evidence. What it measures stops when the job's
 * stop check says so; a diagnosis stopped that way counts for nothing
 * but the measurements it completed. */
#include "job_internal.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flatline/job.h"

/* Probe time over the whole job: a fifth of its time so far (so probes
 * stay under 20% of a long job), but 10 s for a short one, so that a job
 * of a few seconds still gets its measurements (DESIGN.md §4). */
#define PROBE_SHARE 0.2
/* Sanitizer builds (CMake FL_SANITIZE) define FL_PROBE_TIME_SCALE: their
 * probes run several times slower, so the floor grows with them. */
#ifndef FL_PROBE_TIME_SCALE
#define FL_PROBE_TIME_SCALE 1
#endif
#define PROBE_FLOOR_S (10.0 * FL_PROBE_TIME_SCALE)
/* A job that learned but whose epoch loss once passed SUSPECT_PEAK_LNK ln
 * K (initial weights give about ln K, so its first steps drove the loss
 * up: Adam at 0.1 on Fashion-MNIST peaks at 2.6 ln K and ends at 0.5
 * accuracy where 0.01 reaches 0.8) is suspected of a rate too high. Only
 * a suspicion: the rate ladder down tests it at the end, and the cause
 * stands only when the lower rate's probe ends significantly above the
 * whole job (fix_still_ahead). */
#define SUSPECT_PEAK_LNK 1.5

void fl_job_diag_init(fl_job_diag *d, fl_device *dev, const char *job_id,
                      const fl_job_spec *spec, const fl_dataset *train,
                      const fl_dataset *val, const fl_findings *preflight,
                      double t_start) {
  memset(d, 0, sizeof *d);
  d->dev = dev;
  d->job_id = job_id;
  d->spec = spec;
  d->train = train;
  d->val = val;
  d->preflight = preflight;
  d->t_start = t_start;
  d->last_trigger = FL_VERDICT_OK;
}

static double budget_left(const fl_job_diag *d) {
  return fmax(PROBE_SHARE * (fl__now() - d->t_start), PROBE_FLOOR_S) - d->probe_seconds;
}

bool fl__job_stop_check(fl_job_stop *s) {
  if (!s || !s->progress || s->stopped) return s && s->stopped;
  double now = fl__now();
  if (now - s->last_poll < s->every_s) return false;
  s->last_poll = now;
  s->stopped = s->progress(s->ctx, s->epoch, s->steps, s->steps) != 0;
  return s->stopped;
}

/* The label test, once per job. It is not polled inside (diagnose/ runs
 * it on the host in about a second at its largest, label_test.c), only
 * not started once the job must stop; a stopped job runs it after its
 * resume. */
static int ensure_labels(fl_job_diag *d) {
  if (d->labels_done) return 0;
  if (fl__job_stop_check(&d->stop)) return FL_ECANCELED;
  d->labels_done = true;
  size_t k = (size_t)fl_spec_classes(d->spec);
  double t0 = fl__now();
  if (fl_label_test_run(d->train, d->val, k, d->spec->seed ^ 0x6c6162656c73ull, &d->labels) != 0)
    d->labels.run = false;
  d->probe_seconds += fl__now() - t0;
  return 0;
}

static void write_causes(fl_jw *w, const fl_diagnosis *d) {
  fl_jw_array_begin(w, "causes");
  for (int i = 0; i < d->n; i++) {
    const fl_cause_report *r = &d->items[i];
    fl_jw_object_begin(w, NULL);
    fl_jw_str(w, "cause", fl_cause_name(r->cause));
    fl_jw_num(w, "confidence", r->confidence);
    fl_jw_str(w, "evidence", r->evidence);
    fl_jw_str(w, "advice", r->advice);
    fl__jw_fix(w, r->fix);
    fl_jw_object_end(w);
  }
  fl_jw_array_end(w);
}

static void write_label_test(fl_jw *w, const fl_label_test *t) {
  if (!t->run) return;
  fl_jw_object_begin(w, "label_test");
  fl_jw_str(w, "method", t->method);
  fl_jw_int(w, "rows", (long long)t->rows);
  fl_jw_num(w, "balanced_accuracy", t->accuracy);
  fl_jw_num(w, "permuted_mean", t->null_mean);
  fl_jw_num(w, "permuted_q95", t->null_q95);
  fl_jw_int(w, "permutations", t->permutations);
  fl_jw_num(w, "p_value", t->p_value);
  if (t->val_rows) {
    fl_jw_int(w, "validation_rows", (long long)t->val_rows);
    fl_jw_num(w, "validation_accuracy", t->val_accuracy);
  }
  fl_jw_object_end(w);
}

static char *diagnosis_event(const fl_job_diag *jd, int epoch, const fl_diagnosis *d,
                             const fl_probe_result *probes, const fl_signals *s) {
  fl_jw w;
  fl_event_begin(&w, FL_EVENT_DIAGNOSIS, jd->job_id);
  fl_jw_int(&w, "epoch", epoch);
  write_causes(&w, d);
  fl_jw_str(&w, "signals", s->summary);
  fl_jw_array_begin(&w, "probes");
  for (int k = 0; k < FL_PROBE_COUNT; k++) {
    const fl_probe_result *p = &probes[k];
    if (!p->run) continue;
    fl_jw_object_begin(&w, NULL);
    fl_jw_str(&w, "probe", fl_probe_name((fl_probe_kind)k));
    fl_jw_num(&w, "loss_start", p->loss_start);
    fl_jw_num(&w, "loss_end", p->loss_end);
    fl_jw_num(&w, "val_accuracy", p->val_acc);
    fl_jw_int(&w, "held_rows", p->held_rows);
    fl_jw_int(&w, "steps", p->steps);
    fl_jw_num(&w, "seconds", p->seconds);
    fl_jw_bool(&w, "failed", p->failed);
    fl_jw_object_end(&w);
  }
  fl_jw_array_end(&w);
  write_label_test(&w, &jd->labels);
  fl_jw_num(&w, "probe_seconds", d->probe_seconds);
  fl_jw_object_end(&w);
  return fl_jw_finish(&w);
}

/* Steps of every probe of this job, chosen at its first probes and kept
 * (results are reused across diagnoses, and probes compare only at equal
 * steps): FL_PROBE_STEPS, unless at the job's own pace (its latest
 * epoch's rows per second, on the same device and model) the baseline
 * alone would take more than PROBE_STEP_SHARE of the budget left. Then
 * as many as fit, FL_PROBE_MIN_STEPS at the least. A CNN of eight
 * 16-filter layers on 28x28 images trains ~700 rows/s on a 2-core CPU:
 * 150 steps of 128 rows took 27 s per probe, and a 3.6 s job spent 56 s
 * on two probes (gen_conv.py job 20112). A quarter: the baseline, the
 * probe the signals call for first and two more fit the budget. */
#define PROBE_STEP_SHARE 0.25
/* The two probes that always run (fl_probes_run: the baseline and the
 * first one the signals call for) must end within the budget left however
 * slow the model: FL_PROBE_MIN_STEPS gives way to what fits in
 * PROBE_PAIR_SHARE of it each (a tenth kept for the pace's error), down
 * to FL_PROBE_FLOOR_STEPS. gen_conv.py development job 20112, eight conv
 * layers: 30 steps took about 5.5 s a probe, and the 19 s job spent
 * 14.3 s on its label test and two probes, past the 10 s a short job
 * allows. */
#define PROBE_PAIR_SHARE 0.45

static int probe_steps(fl_job_diag *d, const fl_monitor *mon, double left) {
  if (d->probe_steps > 0) return d->probe_steps;
  int steps = FL_PROBE_STEPS;
  double rate = mon->last.samples_per_s;
  if (rate > 0 && d->spec->batch_size > 0) {
    double step_s = d->spec->batch_size / rate;
    double fit = PROBE_STEP_SHARE * left / step_s;
    if (fit < steps) steps = fit > FL_PROBE_MIN_STEPS ? (int)fit : FL_PROBE_MIN_STEPS;
    double pair = PROBE_PAIR_SHARE * left / step_s;
    if (pair < steps) steps = pair > FL_PROBE_FLOOR_STEPS ? (int)pair : FL_PROBE_FLOOR_STEPS;
  }
  d->probe_steps = steps;
  return steps;
}

/* The probe that names the first cause, against the baseline, over more
 * seeds on the same rows: the paired differences of held-out accuracy
 * (the probe's minus the baseline's, seed by seed) and their Student t
 * 95% interval go into the evidence. Two more seeds (three pairs in all)
 * when the budget holds them; a repair that flips sign from one seed to
 * the next shows as an interval across 0. Evidence, not a new decision:
 * the decision was made on the first seed's rows. */
#define PAIRED_SEEDS 2

/* FL_ECANCELED when the stop check stopped the reruns. */
static int paired_evidence(fl_job_diag *d, const fl_probe_result *probes, fl_diagnosis *out) {
  if (out->n == 0) return 0;
  fl_cause_report *r = &out->items[0];
  int k = r->probe;
  if (k <= FL_PROBE_BASELINE || k >= FL_PROBE_COUNT || k == FL_PROBE_PERMUTED) return 0;
  const fl_probe_result *b0 = &probes[FL_PROBE_BASELINE], *p0 = &probes[k];
  if (!b0->run || !p0->run || b0->failed || p0->failed) return 0;
  double cost = PAIRED_SEEDS * (b0->seconds + p0->seconds), left = budget_left(d);
  if (left < cost) return 0;
  fl_probe_result base[PAIRED_SEEDS], probe[PAIRED_SEEDS]; /* cleared by fl_probes_paired */
  double spent = 0;
  int rc = fl_probes_paired(d->dev, d->spec, d->train, d->val, (fl_probe_kind)k, PAIRED_SEEDS,
                            d->probe_steps, left, &d->stop, base, probe, &spent);
  d->probe_seconds += spent;
  if (rc == FL_ECANCELED) return rc;
  if (rc) return 0; /* out of memory: the evidence goes without the reruns */
  double diff[1 + PAIRED_SEEDS], loss_b = b0->loss_end, loss_p = p0->loss_end;
  int n = 0;
  diff[n++] = p0->val_acc - b0->val_acc;
  for (int s = 0; s < PAIRED_SEEDS; s++) {
    if (!base[s].run || !probe[s].run) continue;
    /* A run that broke (NaN) scores its held-out accuracy as measured. */
    diff[n++] = probe[s].val_acc - base[s].val_acc;
    loss_b += base[s].loss_end;
    loss_p += probe[s].loss_end;
  }
  if (n < 2) return 0;
  fl_interval t = fl_t_interval95(diff, n);
  double mean = 0;
  for (int i = 0; i < n; i++) mean += diff[i];
  mean /= n;
  /* Whole or not at all: a clause cut mid-number misleads. */
  char paired[256];
  int len = snprintf(paired, sizeof paired,
                     "; paired over %d seeds (same rows, other initializations): held-out "
                     "accuracy %+.3f (95%% t-interval %+.3f to %+.3f), mean training loss "
                     "%.4g vs %.4g",
                     n, mean, t.lo, t.hi, loss_p / n, loss_b / n);
  size_t used = strlen(r->evidence);
  if (len > 0 && (size_t)len < sizeof paired && used + (size_t)len < sizeof r->evidence)
    memcpy(r->evidence + used, paired, (size_t)len + 1);
  return 0;
}

/* fl_decide on what this job knows: its spec, preflight and label test. */
static void decide(const fl_job_diag *d, const fl_monitor *mon, const fl_signals *sig,
                   const fl_probe_result *probes, fl_diagnosis *out) {
  fl_decide_input in = {d->spec, mon, sig, d->preflight, probes,
                        d->labels.run ? &d->labels : NULL,
                        d->whole[FL_PROBE_WIDER].run ? d->whole : NULL};
  fl_decide(&in, out);
  out->probe_seconds = d->probe_seconds;
}

/* What one diagnosis measures before it decides. */
typedef enum {
  MEASURE_PROBES,  /* the label test, the probes the signals call for (the
                      budget allowing) and the paired reruns */
  MEASURE_LABELS,  /* the label test only: the job's own metrics are the
                      evidence (overfitting, a job that learned) */
  MEASURE_NOTHING, /* nothing new: decides on the probes already run (a
                      cancelled job's verdict, which must not wait) */
} measure_level;

/* One diagnosis: measures what `level` allows, then decides. FL_ECANCELED
 * when the stop check stopped it: nothing of it counts then, but the
 * label test and the probes that completed (kept in d for the next). */
static int diagnose(fl_job_diag *d, const fl_monitor *mon, const fl_signals *sig, int epoch,
                    measure_level level, fl_probe_result *probes, fl_diagnosis *out) {
  memset(probes, 0, FL_PROBE_COUNT * sizeof *probes);
  int rc = 0;
  if (level != MEASURE_NOTHING) rc = ensure_labels(d);
  double left = budget_left(d);
  if (!rc && level == MEASURE_PROBES && left > 0) {
    double spent = 0;
    rc = fl_probes_run(d->dev, d->spec, d->train, d->val, sig, left, probe_steps(d, mon, left),
                       d->fixed ? NULL : d->tried, &d->stop, probes, &spent);
    if (rc != FL_ECANCELED) rc = 0; /* out of memory: decided without probes, as before */
    d->probe_seconds += spent;
    for (int k = 0; k < FL_PROBE_COUNT; k++)
      if (probes[k].run) d->tried[k] = probes[k];
  }
  if (level == MEASURE_NOTHING && !d->fixed) memcpy(probes, d->tried, sizeof d->tried);
  if (rc) return rc;
  decide(d, mon, sig, probes, out);
  if (level == MEASURE_PROBES && (rc = paired_evidence(d, probes, out))) return rc;
  out->probe_seconds = d->probe_seconds;
  d->diagnoses++;
  d->last_epoch = epoch;
  d->last_found = out->n > 0;
  if (out->n == 0) return 0;
  /* A later diagnosis adds to what earlier ones found: its causes first,
   * the earlier ones after, except that a later overfitting (seen from
   * the job's own metrics) goes after probe-backed causes found earlier
   * (an initialization measured early is not erased by it). */
  bool late_overfit = out->items[0].cause == FL_CAUSE_OVERFITTING && d->last.n > 0;
  const fl_diagnosis *first = late_overfit ? &d->last : out, *then = late_overfit ? out : &d->last;
  fl_diagnosis merged = *first;
  for (int i = 0; i < then->n && merged.n < FL_MAX_CAUSES; i++) {
    bool seen = false;
    for (int j = 0; j < merged.n; j++) seen |= merged.items[j].cause == then->items[i].cause;
    if (!seen) merged.items[merged.n++] = then->items[i];
  }
  /* Then by confidence, stably: a weak claim found earlier (a label test
   * below the conventional level) does not outrank a confident later one. */
  fl_diagnosis_rank(&merged);
  merged.probe_seconds = out->probe_seconds;
  d->last = merged;
  return 0;
}

static bool has_cause(const fl_diagnosis *d, fl_cause c) {
  for (int i = 0; i < d->n; i++)
    if (d->items[i].cause == c) return true;
  return false;
}

int fl_job_diag_epoch(fl_job_diag *d, const fl_monitor *mon, fl_verdict v,
                      const fl_signals *sig, int epoch, char **event) {
  bool go = false;
  measure_level level = MEASURE_PROBES;
  *event = NULL;
  switch (v) {
    case FL_VERDICT_OK:
      return 0;
    case FL_VERDICT_OVERFITTING: /* the job's own metrics are the evidence */
      go = !d->overfit_reported;
      level = MEASURE_LABELS;
      break;
    case FL_VERDICT_DIVERGED: /* new unless the latest one saw it; NaN after a
                                 rising loss is new (it ranks first, DESIGN.md §4) */
      go = d->diagnoses == 0 || d->last_trigger != FL_VERDICT_DIVERGED ||
           (sig->nonfinite && !has_cause(&d->last, FL_CAUSE_NUMERICAL_INSTABILITY));
      break;
    case FL_VERDICT_PLATEAU: /* again when the last found nothing, after patience */
      go = d->diagnoses == 0 ||
           (!d->last_found && epoch - d->last_epoch >= mon->patience && budget_left(d) > 0);
      break;
  }
  if (!go) return 0;
  fl_probe_result probes[FL_PROBE_COUNT];
  fl_diagnosis diag;
  bool again = d->diagnoses > 0;
  int rc = diagnose(d, mon, sig, epoch, level, probes, &diag);
  if (rc) return rc; /* not fired: the same evidence triggers it again */
  d->last_trigger = v;
  if (v == FL_VERDICT_OVERFITTING) d->overfit_reported = true;
  /* A second "no cause" says nothing new: no event. */
  if (again && diag.n == 0) return 0;
  *event = diagnosis_event(d, epoch, &diag, probes, sig);
  return 0;
}

const fl_cause_report *fl_job_diag_top(const fl_job_diag *d) {
  return d->last.n > 0 ? &d->last.items[0] : NULL;
}

/* One probe's line: "<name>: failed (...)" or "<name><ok_tail>: loss 1.1
 * -> 0.41 in 150 steps, held-out accuracy 0.860 of 512 rows". */
static void probe_line(fl_jw *w, const char *name, const char *ok_tail,
                       const fl_probe_result *r) {
  char line[320];
  if (r->failed || !isfinite(r->loss_end))
    snprintf(line, sizeof line, "%s: failed (NaN/Inf or error)", name);
  else
    snprintf(line, sizeof line, "%s%s: loss %.4g -> %.4g in %d steps, held-out accuracy %.3f of %d rows",
             name, ok_tail, r->loss_start, r->loss_end, r->steps, r->val_acc, r->held_rows);
  fl_jw_str(w, NULL, line);
}

/* The label test, each short probe, then each run over the job's steps. */
static void tried_lines(fl_jw *w, const fl_job_diag *d) {
  fl_jw_array_begin(w, "tried");
  char line[320];
  if (d->labels.run) {
    snprintf(line, sizeof line,
             "label permutation test: %s balanced accuracy %.3f on %zu rows vs %.3f "
             "with the labels permuted (%d times), p = %.3g",
             d->labels.method, d->labels.accuracy, d->labels.rows, d->labels.null_mean,
             d->labels.permutations, d->labels.p_value);
    fl_jw_str(w, NULL, line);
  }
  for (int k = 0; k < FL_PROBE_COUNT; k++)
    if (d->tried[k].run) probe_line(w, fl_probe_name((fl_probe_kind)k), "", &d->tried[k]);
  for (int k = 0; k < FL_PROBE_COUNT; k++) {
    if (!d->whole[k].run) continue;
    snprintf(line, sizeof line, "%s over the job's steps", fl_probe_name((fl_probe_kind)k));
    probe_line(w, line, ", from fresh weights", &d->whole[k]);
  }
  fl_jw_array_end(w);
}

/* The end of a job at chance: no evidence of doing better than the
 * majority class, NaN, predictions collapsed, or a loss running away. A
 * validation set too small to tell is not evidence of chance
 * (fl_monitor_val_unclear). */
static bool ends_at_chance(const fl_monitor *mon, const fl_signals *sig, fl_verdict v) {
  return sig->nonfinite || (sig->at_chance && !fl_monitor_val_unclear(mon, sig)) || sig->collapsed ||
         v == FL_VERDICT_DIVERGED;
}

/* The probe that backs the latest diagnosis (its fix) reached a held-out
 * accuracy significantly above the one the job ends with: Newcombe's 95%
 * interval of the difference, probe minus job, lies above 0 (validation
 * rows when the job has them, else its training rows). Learning something
 * (Adam at 0.1: 92% dead ReLUs, 0.28 where lr/10 reaches 0.81) does not
 * disprove a cause whose one change does that much better. */
static bool fix_still_ahead(const fl_job_diag *d, const fl_monitor *mon,
                            const fl_cause_report *cause) {
  int k = cause->probe;
  if (k < 0 || k >= FL_PROBE_COUNT || mon->n == 0) return false;
  const fl_probe_result *r = &d->tried[k];
  if (!r->run || r->failed || r->held_rows <= 0 || k == FL_PROBE_PERMUTED) return false;
  bool val = mon->has_val && mon->val_rows > 0;
  double n = (double)(val ? mon->val_rows : mon->train_rows);
  double acc = val ? mon->val_acc[mon->n - 1] : mon->acc[mon->n - 1];
  if (!(n > 0)) return false;
  double nr = r->held_rows;
  return fl_newcombe_diff(round(r->val_acc * nr), nr, round(acc * n), n, FL_Z95).lo > 0;
}

/* The causes a probe on a job that learned names (the suspicions of
 * fl_job_diag_verdict), which the job's end must not outdo. Not
 * poor_initialization: constant or far too wide kernels are a defect of
 * the spec even where the job learns. */
static bool confirmed_by_probe(fl_cause c) {
  return c == FL_CAUSE_LEARNING_RATE_TOO_HIGH || c == FL_CAUSE_UNNORMALIZED_INPUTS ||
         c == FL_CAUSE_INSUFFICIENT_CAPACITY || c == FL_CAUSE_LEARNING_RATE_TOO_LOW ||
         c == FL_CAUSE_OPTIMIZER_CHOICE;
}

/* A shortfall that matters: decide.c's CAPACITY_SHORTFALL, a quarter of
 * the gain over chance, the share by which bench/diagnosis's truth check
 * calls a fault harmful. */
#define LABEL_TEST_SHORTFALL 0.25

/* The share of the budget left that the probes over the job's steps may
 * be priced at: the rest is kept for what the short probe's seconds
 * per step do not count (an evaluation of the held-out rows per epoch, a
 * loaded machine); the run is cut at the budget's end all the same. */
#define WHOLE_RUN_SHARE 0.8

/* The job learned, yet ends far below what its rows support: the label
 * test's cross-validated balanced accuracy significantly above the job's
 * accuracy (validation rows, else its training rows, which overstate it;
 * Newcombe 95%), and by more than LABEL_TEST_SHORTFALL of the label
 * test's gain over chance. Three spirals through one layer of 3 ReLUs
 * (question round 7) ended at 0.67 of 600 validation rows, still creeping
 * up, where the neighbours' rule reached 1.000: told healthy, no probe
 * run. */
static bool short_of_label_test(const fl_job_diag *d, const fl_monitor *mon) {
  const fl_label_test *lt = &d->labels;
  if (!lt->run || lt->p_value > FL_LABEL_TEST_ALPHA || lt->rows == 0 || mon->n == 0) return false;
  bool val = mon->has_val && mon->val_rows > 0;
  double n = (double)(val ? mon->val_rows : mon->train_rows);
  double acc = val ? mon->val_acc[mon->n - 1] : mon->acc[mon->n - 1];
  double lr = (double)lt->rows;
  if (!(n > 0) || !(lt->accuracy - acc > LABEL_TEST_SHORTFALL * (lt->accuracy - lt->chance)))
    return false;
  return fl_newcombe_diff(round(lt->accuracy * lr), lr, round(acc * n), n, FL_Z95).lo > 0;
}

/* The job's end disproves the latest diagnosis: with the spec as
 * submitted (an applied fix says the spec had the problem), it ended
 * neither stuck nor overfitting, and learned: on validation rows with a
 * loss below a uniform guess's (accuracy above chance with a validation
 * loss in the hundreds is not learning), else on its training rows, which
 * disproves "it cannot learn" but not "its labels carry nothing" (a model
 * can memorize random labels). Claims that it could do better (a wider
 * model, other initial weights) or that it overfits are not disproved by
 * its learning. */
static bool end_disproves(const fl_job_diag *d, const fl_monitor *mon, const fl_signals *sig,
                          bool stuck) {
  if (d->last.n == 0 || d->fixed || stuck || sig->overfitting) return false;
  /* A loss that never came below 90% of its start over the whole job
   * learned nothing, whatever its initial weights happened to score: Iris
   * under RMSprop at 3.3e-7 held 0.73 of 37 validation rows (validation
   * loss 0.67 < ln 3) from its first epoch to its last, its training
   * loss 0.847 throughout (generated test job 11443, told healthy). */
  if (sig->never_learned) return false;
  fl_cause top = d->last.items[0].cause;
  /* A rate too low shows as slowness: a job still improving at its end
   * is a slow start (healthy), even where the higher rate got further;
   * unless the probes ran as long as the whole job, where the higher
   * rate's probe is where the job could have ended (fix_still_ahead). */
  const fl_probe_result *b = &d->tried[FL_PROBE_BASELINE];
  bool covered = b->run && !b->failed && fl_probes_cover_job(d->spec, mon->train_rows, b->steps);
  bool slow = top == FL_CAUSE_LEARNING_RATE_TOO_LOW && !sig->stalled && !covered;
  if (!slow && fix_still_ahead(d, mon, &d->last.items[0])) return false;
  double lnk = log(mon->n_classes > 1 ? mon->n_classes : 2);
  bool learned = mon->has_val ? mon->n > 0 && mon->val_loss[mon->n - 1] < lnk
                              : top != FL_CAUSE_LABELS_UNINFORMATIVE || fl_monitor_fits_rows(mon);
  return learned && !has_cause(&d->last, FL_CAUSE_OVERFITTING) &&
         top != FL_CAUSE_INSUFFICIENT_CAPACITY && top != FL_CAUSE_POOR_INITIALIZATION;
}

/* A job that learned is told its rate was too high, its inputs unscaled,
 * its model too small (or, from the probes beside the wider one, its
 * rate too low or its optimizer wrong) only when that cause's short probe
 * already ends significantly above the whole job: an early spike that
 * training recovered from, a scale the model coped with, are no problem.
 * A cause measured on the job's own end (from_job: a linear model
 * fitting far less than the label test's neighbours reach; the wider
 * model over the job's own steps) needs no probe to confirm it: when the
 * first cause is unconfirmed, only such causes stay. */
static void keep_confirmed(const fl_job_diag *d, const fl_monitor *mon, fl_diagnosis *final) {
  if (final->n == 0 || !confirmed_by_probe(final->items[0].cause) || final->items[0].from_job ||
      fix_still_ahead(d, mon, &final->items[0]))
    return;
  int kept = 0;
  for (int i = 0; i < final->n; i++)
    if (final->items[i].from_job) final->items[kept++] = final->items[i];
  final->n = kept;
}

/* The verdict's last measurement for a job that ends far short of what
 * the label test shows its rows support, where no short probe confirmed
 * a cause: the job itself with one change, trained for as many steps as
 * it took from fresh weights, within the budget left. The wider probe's
 * model; and, when the job was still improving at its end (not stalled),
 * the rate x 10 too, since a model that is only slow ends short as well
 * and a wider one may merely learn faster (generated healthy development
 * job 12800, softmax regression on digits under Adam 5e-4, 0.55 of 42
 * rows after 40 epochs: the wider model's 280 steps reached 0.76).
 * Steps: the job's when they fit, else as many as do (fewer steps only
 * understate the changed job); priced from the short probes' seconds per
 * step, and nothing runs when fewer than the short probes' steps fit or
 * a short probe's price is unknown; when one run is cut at the budget's
 * end, none counts. 0, or FL_ECANCELED when the stop check stopped it. */
static int whole_job_runs(fl_job_diag *d, const fl_monitor *mon, const fl_signals *sig) {
  fl_probe_kind kinds[2] = {FL_PROBE_WIDER, FL_PROBE_LR_UP};
  int n = sig->stalled ? 1 : 2;
  double per_step = 0;
  int short_steps = 0;
  for (int i = 0; i < n; i++) {
    const fl_probe_result *r = &d->tried[kinds[i]];
    if (!r->run || r->failed || r->steps <= 0 || !(r->seconds > 0)) return 0;
    per_step += r->seconds / r->steps;
    short_steps = r->steps;
  }
  double job_steps = (double)fl_job_steps_taken(d->spec, mon);
  if (!(job_steps > 0)) return 0;
  double left = budget_left(d);
  double steps = fmin(job_steps, WHOLE_RUN_SHARE * left / per_step);
  if (!(steps > short_steps) || steps > INT_MAX) return 0;
  for (int i = 0; i < n; i++) {
    double spent = 0, now_left = budget_left(d);
    int rc = fl_probe_long(d->dev, d->spec, d->train, d->val, kinds[i], (int)steps, now_left,
                           &d->stop, &d->whole[kinds[i]], &spent);
    d->probe_seconds += spent;
    if (rc == FL_ECANCELED) return rc;
    if (!d->whole[kinds[i]].run) {
      /* Cut at the budget's end: the wider run alone cannot tell a slow
       * job from a small one, so neither counts. */
      memset(d->whole, 0, sizeof d->whole);
      break;
    }
  }
  return 0;
}

int fl_job_diag_verdict(fl_job_diag *d, const fl_monitor *mon, int epoch, bool measure,
                        char **event, const char **top) {
  *event = NULL;
  *top = NULL;
  fl_signals sig;
  memset(&sig, 0, sizeof sig);
  fl_verdict v = mon->n > 0 ? fl_monitor_check(mon, &sig) : FL_VERDICT_OK;
  bool at_chance = ends_at_chance(mon, &sig, v);
  /* class_weight trades majority-class accuracy for the rare classes on
   * purpose: such a job is at chance only if its balanced accuracy is
   * (the class report's cautious bound against 1 / classes). */
  if (at_chance && d->spec->class_weight.mode != FL_CLASS_WEIGHT_NONE &&
      mon->n_classes > 0 && d->balanced_recall_lo > 1.0 / mon->n_classes)
    at_chance = false;
  /* Stuck: at chance, or underfit (above chance, loss near the labels'
   * entropy: maybe a hard task, a problem only if a probe does better). */
  bool stuck = at_chance || sig.underfit;
  fl_cause top_cause = d->last.n > 0 ? d->last.items[0].cause : FL_CAUSE_NONE;
  bool disproved = end_disproves(d, mon, &sig, stuck);
  fl_diagnosis final = d->last;
  if (disproved) memset(&final, 0, sizeof final);
  if (!sig.overfitting) { /* an overfitting that the end no longer shows */
    int kept = 0;
    for (int i = 0; i < final.n; i++)
      if (final.items[i].cause != FL_CAUSE_OVERFITTING) final.items[kept++] = final.items[i];
    final.n = kept;
  }
  if (top_cause == FL_CAUSE_INSUFFICIENT_CAPACITY && !d->fixed) {
    /* A capacity claim depends on how far the job got: decide again on
     * its final metrics with the probes already run (nothing new runs). */
    decide(d, mon, &sig, d->tried, &final);
  }
  bool seen = d->diagnoses > 0 && d->last_epoch >= epoch - mon->patience;
  sig.suspect_init = fl_spec_suspect_init(d->spec, d->train->d);
  if (final.n == 0 && mon->n > 0 && !(seen && !d->last_found && !disproved && !stuck)) {
    /* The end is new evidence: the label test on every job (a job can
     * learn its training rows from labels that carry nothing), probes when
     * it is stuck and no recent diagnosis probed it, and for a job that
     * learned, the probe that tests a defect in its spec (constant or
     * far too wide kernels learn, but worse), nothing else. */
    fl_probe_result probes[FL_PROBE_COUNT];
    double lnk = log(mon->n_classes > 1 ? mon->n_classes : 2);
    sig.suspect_lr_high = !stuck && !sig.nonfinite &&
                          (sig.diverged_before || mon->peak_loss > SUSPECT_PEAK_LNK * lnk);
    /* Preflight's scale warning is a claim (DESIGN.md §4): on a job that
     * learned, the standardized probe confirms it only by ending
     * significantly above the whole job (below), as the rate does; sigmoid
     * layers on raw pixels reached 0.68 of 800 validation rows under Adam
     * (question round 7), told healthy with the warning a note. */
    sig.suspect_inputs = !stuck && !sig.nonfinite &&
                         fl_findings_find(d->preflight, FL_CAUSE_UNNORMALIZED_INPUTS);
    /* The label test first (the diagnosis below would run it anyway): it
     * says what the rows support. */
    if (measure && !stuck && ensure_labels(d) == FL_ECANCELED) return FL_ECANCELED;
    sig.suspect_capacity = !stuck && !sig.nonfinite && short_of_label_test(d, mon);
    sig.confirm_only = !stuck && (sig.suspect_init || sig.suspect_lr_high || sig.suspect_inputs ||
                                  sig.suspect_capacity);
    measure_level level = !measure                               ? MEASURE_NOTHING
                          : (stuck && !seen) || sig.confirm_only ? MEASURE_PROBES
                                                                 : MEASURE_LABELS;
    int rc = diagnose(d, mon, &sig, epoch, level, probes, &final);
    if (rc) return rc;
    if (sig.confirm_only) keep_confirmed(d, mon, &final);
    /* Far short of what the rows support, with nothing confirmed (a job
     * that learned) or found (a stuck one, whose short probes did not
     * tell a higher rate from a wider model): the job again with one
     * change, for as many steps as it took (whole_job_runs). Generated
     * development jobs 29342 and 34148, narrow models on spirals: 2-3
     * ReLU units at 0.43 of their 600 rows (the rate x 100 and the wider
     * model at 0.70 and 0.74 of 120 held-out rows after 152 steps, each
     * short of beating the other), 3 tanh units at 0.22 of 399
     * validation rows; 5-NN 0.997 and 0.845; told healthy and
     * unexplained. */
    bool far_short = sig.suspect_capacity ||
                     (stuck && !sig.nonfinite && short_of_label_test(d, mon));
    if (final.n == 0 && measure && far_short && !d->fixed) {
      if ((rc = whole_job_runs(d, mon, &sig)) != 0) return rc;
      if (d->whole[FL_PROBE_WIDER].run) {
        decide(d, mon, &sig, d->tried, &final);
        if (sig.confirm_only) keep_confirmed(d, mon, &final);
      }
    }
  }
  /* At chance after fewer steps than a probe took, while the baseline
   * probe (the same model and rate, more steps) does significantly better
   * than the majority rate on held-out rows: the job is short, not stuck. */
  const char *short_note = NULL;
  const fl_probe_result *b = &d->tried[FL_PROBE_BASELINE];
  if (final.n == 0 && at_chance && !sig.nonfinite && b->run && !b->failed && b->held_rows > 0) {
    fl_interval w = fl_wilson(round(b->val_acc * b->held_rows), b->held_rows, FL_Z95);
    if (w.lo > mon->chance_accuracy) {
      at_chance = false;
      short_note = "the job stopped before its model learned; the same model and learning "
                   "rate learn in the baseline probe's longer run (see tried): give it more epochs";
    }
  }
  const char *verdict = final.n > 0   ? FL_VERDICT_IS_PROBLEM
                        : at_chance     ? FL_VERDICT_IS_UNEXPLAINED
                                        : FL_VERDICT_IS_HEALTHY;
  *top = final.n > 0 ? fl_cause_name(final.items[0].cause) : NULL;
  fl_jw w;
  fl_event_begin(&w, FL_EVENT_VERDICT, d->job_id);
  fl_jw_int(&w, "epoch", epoch);
  fl_jw_str(&w, "verdict", verdict);
  write_causes(&w, &final);
  tried_lines(&w, d);
  /* A fit with no held-out rows and a label test that found nothing: the
   * labels claim is not made (rule_labels), and the user is told what
   * stays unknown. */
  bool unverified_fit = final.n == 0 && fl_monitor_fits_rows(mon) && d->labels.run &&
                        d->labels.p_value > FL_LABEL_TEST_ALPHA;
  if (short_note) fl_jw_str(&w, "note", short_note);
  else if (unverified_fit) {
    char note[512];
    snprintf(note, sizeof note,
             "%s fit its training rows, but with no validation data nothing shows whether it "
             "learned them or memorized them, and the label test found no signal in them (see "
             "tried; on few or hard rows that does not show there is none): add validation "
             "data to check",
             disproved ? "an earlier diagnosis was withdrawn: the job went on to" : "the job");
    fl_jw_str(&w, "note", note);
  }
  else if (disproved && final.n == 0)
    /* Only when the verdict names no cause: the end's own diagnosis can
     * find one again (gen_conv.py test job 22741, Adam at 3.2e-7: a slow
     * start at epoch 3's measure, still far short at its end of what the
     * rate x 10 reached in the probe's steps), and a problem verdict
     * saying its diagnosis was withdrawn contradicts itself. */
    fl_jw_str(&w, "note", "an earlier diagnosis was withdrawn: the job went on to learn "
              "(above chance, no divergence or overfitting)");
  fl_jw_num(&w, "probe_seconds", d->probe_seconds);
  if (d->metrics) fl_jw_raw(&w, "metrics", d->metrics);
  fl_jw_object_end(&w);
  *event = fl_jw_finish(&w);
  return 0;
}

char *fl_verdict_rejected_event(const char *job_id, const fl_findings *f) {
  fl_jw w;
  fl_event_begin(&w, FL_EVENT_VERDICT, job_id);
  fl_jw_int(&w, "epoch", 0);
  fl_jw_str(&w, "verdict", FL_VERDICT_IS_PROBLEM);
  fl_jw_array_begin(&w, "causes");
  for (int i = 0; i < f->n; i++) {
    const fl_finding *x = &f->items[i];
    if (x->severity != FL_SEVERITY_ERROR) continue;
    fl_jw_object_begin(&w, NULL);
    fl_jw_str(&w, "cause", fl_cause_name(x->cause));
    fl_jw_num(&w, "confidence", 1.0); /* a check on the spec and data, not an estimate */
    fl_jw_str(&w, "evidence", x->message);
    fl_jw_str(&w, "advice", "see the preflight finding");
    fl__jw_fix(&w, x->fix);
    fl_jw_object_end(&w);
  }
  fl_jw_array_end(&w);
  fl_jw_array_begin(&w, "tried");
  fl_jw_str(&w, NULL, "preflight checks of the spec against the data");
  fl_jw_array_end(&w);
  fl_jw_num(&w, "probe_seconds", 0);
  fl_jw_object_end(&w);
  return fl_jw_finish(&w);
}
