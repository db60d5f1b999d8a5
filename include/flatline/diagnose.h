/* flatline/diagnose.h — why is the loss flat? Pure C on numbers (no
 * OpenCL): preflight checks on a spec and its dataset statistics, live
 * detectors on the per-epoch metrics, the choice of probes, and the
 * interpretation of probe results into ranked causes (DESIGN.md §4; cause
 * codes are a contract). The daemon's worker runs the probes with the
 * engine and feeds their numbers back here. */
#ifndef FLATLINE_DIAGNOSE_H
#define FLATLINE_DIAGNOSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "flatline/common.h"
#include "flatline/data.h"
#include "flatline/engine.h"
#include "flatline/protocol.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The stable cause codes (DESIGN.md §4), one list. */
#define FL_CAUSE_MAP(X)                  \
  X(INVALID_DATA, "invalid_data")        \
  X(LABEL_ENCODING_MISMATCH, "label_encoding_mismatch") \
  X(LABELS_OUT_OF_RANGE, "labels_out_of_range") \
  X(OUTPUT_LOSS_MISMATCH, "output_loss_mismatch") \
  X(DEVICE_OUT_OF_MEMORY, "device_out_of_memory") \
  X(LABELS_UNINFORMATIVE, "labels_uninformative") \
  X(CLASS_IMBALANCE, "class_imbalance")  \
  X(INSUFFICIENT_CAPACITY, "insufficient_capacity") \
  X(LEARNING_RATE_TOO_HIGH, "learning_rate_too_high") \
  X(LEARNING_RATE_TOO_LOW, "learning_rate_too_low") \
  X(POOR_INITIALIZATION, "poor_initialization") \
  X(DEAD_RELU, "dead_relu")              \
  X(SATURATED_ACTIVATION, "saturated_activation") \
  X(VANISHING_GRADIENT, "vanishing_gradient") \
  X(EXPLODING_GRADIENT, "exploding_gradient") \
  X(NUMERICAL_INSTABILITY, "numerical_instability") \
  X(UNNORMALIZED_INPUTS, "unnormalized_inputs") \
  X(OPTIMIZER_CHOICE, "optimizer_choice") \
  X(OVERFITTING, "overfitting")

typedef enum {
  FL_CAUSE_NONE = 0,
#define FL__CAUSE_ENUM(id, name) FL_CAUSE_##id,
  FL_CAUSE_MAP(FL__CAUSE_ENUM)
#undef FL__CAUSE_ENUM
  FL_CAUSE_COUNT
} fl_cause;

const char *fl_cause_name(fl_cause c); /* "learning_rate_too_high"; NULL for NONE */

#define FL_TEXT_MAX 512
/* A cause's evidence: the signals, a probe or two and the paired reruns'
 * interval (bench/diagnosis's test jobs reach 511 bytes with 512, cut
 * mid-sentence). */
#define FL_EVIDENCE_MAX 1024
#define FL_FIX_MAX 4096

/* ---- statistics (diagnose/stats.c) ---- */

/* z of a two-sided 95% interval. */
#define FL_Z95 1.959963984540054

typedef struct {
  double lo, hi;
} fl_interval;

/* Wilson score interval of a proportion successes/n. */
fl_interval fl_wilson(double successes, double n, double z);
/* Newcombe's hybrid score interval of p1 - p2 (independent samples; for
 * the same rows scored twice it is conservative). */
fl_interval fl_newcombe_diff(double s1, double n1, double s2, double n2, double z);
/* z of a two-sided interval with coverage 1 - alpha (FL_Z95 for 0.05);
 * with alpha / m, a Bonferroni interval for the best of m. */
double fl_z_two_sided(double alpha);
/* Student's t 95% interval of the mean of d[0..n) (2 <= n <= 31): for
 * paired differences over seeds. */
fl_interval fl_t_interval95(const double *d, int n);
void fl_sort_doubles(double *v, size_t n); /* ascending, for quantiles */
/* SplitMix64: the seeded stream behind every shuffle of rows and labels
 * (the label test, the probes' subsets), so that a seed repeats exactly. */
uint64_t fl_splitmix64(uint64_t *state);
void fl_shuffle_u32(uint32_t *a, size_t n, uint64_t *state); /* Fisher-Yates */
/* P(X >= x) for X chi-square with dof degrees of freedom. */
double fl_chi2_sf(double x, double dof);
/* Pearson's chi-square test that two rows of class counts (a[0..k),
 * b[0..k)) come from one distribution: its p-value (1 when fewer than two
 * classes occur). *min_expected (may be NULL) gets the smallest expected
 * count: the chi-square approximation wants it >= 1 (Cochran). */
double fl_chi2_homogeneity(const uint64_t *a, const uint64_t *b, size_t k, double *min_expected);

/* ---- labels vs features (diagnose/label_test.c) ---- */

/* A permutation test of cross-validated accuracy: the labels carry
 * information about the features when p_value <= FL_LABEL_TEST_ALPHA (no
 * permutation of 999 reached the real labels' accuracy). 0.001 and not
 * 0.01: the job people run most is random labels (the seed article), and
 * at 0.01 one such job in a hundred would be told its labels are fine; a
 * signal too weak for 0.001 on 1000 rows is too weak for a network too,
 * and a network that does better than chance on held-out rows overrides
 * the test anyway. */
#define FL_LABEL_TEST_ALPHA 0.001

typedef struct {
  bool run;
  size_t rows;          /* rows used: a seeded sample of the training rows */
  int permutations;
  double accuracy;      /* cross-validated balanced accuracy, real labels */
  double chance;        /* 1 / classes present */
  double null_mean;     /* the same with the labels permuted: mean */
  double null_q95;      /* ... and 95th percentile */
  double p_value;       /* (1 + #{permuted >= real}) / (permutations + 1) */
  const char *method;   /* the classifier that gave `accuracy` */
  double linear_accuracy; /* the nearest-centroid (linear) rule's balanced
                             accuracy on the real labels, whichever won */
  double rule_accuracy; /* the winning rule's plain leave-one-out accuracy
                           on the `rows` training rows */
  size_t val_rows;      /* validation rows the winning rule classified, fitted
                           on the training rows (0: no validation set) */
  double val_accuracy;  /* ... its plain accuracy on them */
} fl_label_test;

/* Runs the test on ds's rows with k classes (class ids, or argmax of dense
 * labels); deterministic for a seed. With val (may be NULL; its width must
 * be ds's), the winning rule also classifies a seeded sample of its rows,
 * up to 1000, fewer for wide rows (val_rows, val_accuracy). Classes with
 * under 5 rows in its sample sit out (their recall is 0 under any
 * labels). FL_EINVAL when it cannot apply (under 4 labelled rows, no
 * features, k < 2 or > 1000, fewer than two classes of 5 rows),
 * FL_ENOMEM. */
int fl_label_test_run(const fl_dataset *ds, const fl_dataset *val, size_t k, uint64_t seed,
                      fl_label_test *out);

/* ---- preflight (diagnose/preflight.c) ---- */

typedef enum { FL_SEVERITY_WARNING, FL_SEVERITY_ERROR } fl_severity;

typedef struct {
  fl_severity severity;
  fl_cause cause;
  char message[FL_TEXT_MAX];  /* evidence: the numbers that show it */
  char fix[FL_FIX_MAX];       /* RFC 7386 merge patch on the spec, "" if none */
} fl_finding;

#define FL_MAX_FINDINGS 16

typedef struct {
  int n;
  fl_finding items[FL_MAX_FINDINGS];
} fl_findings;

typedef struct {
  const fl_job_spec *spec;
  const fl_dataset_stats *train;      /* required */
  const fl_dataset_stats *validation; /* NULL when there is none */
  uint64_t memory_needed;             /* fl_train_memory_estimate */
  uint64_t device_memory;             /* 0: unknown (no check) */
  const char *device_name;
} fl_preflight_input;

/* Checks spec against data: every error cause of §4 plus the warnings
 * (class imbalance, feature scale). Errors reject the job. */
void fl_preflight(const fl_preflight_input *in, fl_findings *out);
bool fl_findings_have_error(const fl_findings *f);
/* The first finding of cause c (error or warning), NULL if none or f is. */
const fl_finding *fl_findings_find(const fl_findings *f, fl_cause c);

/* ---- live detectors (diagnose/detect.c) ---- */

#define FL_MAX_HISTORY 4096

/* What the detectors know of a job so far. */
typedef struct {
  int n_classes;
  double chance_accuracy;  /* largest class share (train stats) */
  double prior_entropy;    /* entropy of the class distribution (nats) */
  bool has_val;
  int patience;
  double min_delta;
  int n;                   /* epochs seen */
  fl_epoch_metrics last;   /* pred_hist not kept: see majority_share */
  double majority_share;   /* last epoch's largest predicted-class share */
  double first_loss;       /* loss of the first batch, before any update */
  double peak_loss;        /* highest epoch training loss so far */
  double peak_update;      /* highest update/weight ratio so far */
  double peak_grad;        /* highest layer gradient norm so far */
  /* Per layer, the sum over epochs of the epoch's update/weight ratio (an
   * RMS over its steps): times the steps per epoch, an upper bound on how
   * far that layer's weights travelled over the whole job, relative to
   * their norm (the path, not the displacement). path_layers 0: unknown
   * (a state written before it was kept). */
  double update_sum[FL_MAX_LAYERS];
  int path_layers;
  double first_dead;       /* largest dead-ReLU fraction in epoch 1 */
  size_t train_rows;       /* rows behind the accuracies (set after init; */
  size_t val_rows;         /* 0: unknown, no interval test) */
  size_t input_dim;        /* features per row (set after init; 0: unknown) */
  double val_min_share;    /* smallest class's share of the validation rows,
                              over all n_classes (set after init; 0: unknown,
                              or a class has no validation rows) */
  double val_max_share;    /* largest class's share of the validation rows
                              (set after init; 0: unknown) */
  double spent_rate;       /* a learning-rate schedule's rate at or below
                              which it has spent the rate (set by
                              fl_monitor_set_schedule; 0: no schedule) */
  int spent_epochs;        /* epochs in a row, up to the last, whose last
                              update was at or below spent_rate */
  double loss[FL_MAX_HISTORY], val_loss[FL_MAX_HISTORY];
  double acc[FL_MAX_HISTORY], val_acc[FL_MAX_HISTORY];
} fl_monitor;

void fl_monitor_init(fl_monitor *m, int n_classes, const uint64_t *class_counts,
                     size_t n_counts, bool has_val, int patience,
                     double min_delta);
void fl_monitor_add(fl_monitor *m, const fl_epoch_metrics *e);
/* A job whose learning rate follows a schedule (a time table, unlike
 * reduce_lr_on_plateau, which lowers the rate because the job stalled):
 * the monitor counts the epochs the schedule has kept the rate far below
 * the usual range, where a stall is the schedule's doing, not
 * convergence. No-op for a constant rate. */
void fl_monitor_set_schedule(fl_monitor *m, const fl_job_spec *spec);

typedef enum {
  FL_VERDICT_OK,          /* learning, or converged: nothing to say */
  FL_VERDICT_PLATEAU,     /* stalled or never learned: probe */
  FL_VERDICT_DIVERGED,    /* NaN/Inf or loss blowing up: probe at once */
  FL_VERDICT_OVERFITTING, /* validation loss rising: no probe needed */
} fl_verdict;

/* Signals the detectors raised, for the probe plan and the evidence. */
typedef struct {
  bool nonfinite;
  bool diverging;          /* loss rising or far above ln K */
  bool diverged_before;    /* an earlier epoch was far above ln K, or took
                              updates > 1e-1 of the weights */
  bool died_in_training;   /* ReLU units alive in epoch 1, dead later */
  bool never_learned;      /* not meaningfully below its start */
  bool stalled;            /* improvement < min_delta for patience epochs */
  bool converged;          /* fell a lot and flattened: not a problem */
  bool collapsed;          /* predictions collapse to one class */
  bool val_at_chance;      /* training improves, validation at chance */
  bool init_loss_off;      /* first loss far from ln K */
  bool update_too_big;     /* update/weight ratio > 1e-1 */
  bool update_too_small;   /* < 1e-6 with non-zero gradients */
  double lr_now;           /* the rate of the last epoch's last update */
  bool rate_spent;         /* a schedule has held the rate far below the
                              usual range for more than patience epochs */
  int dead_layer;          /* > 90% dead ReLU units, -1 none */
  int saturated_layer;     /* > 90% saturated tanh/sigmoid, -1 none */
  bool vanishing;          /* first layers' gradient ~0 vs the last */
  bool exploding;          /* gradient norms orders of magnitude up */
  bool overfitting;        /* validation loss above its best for patience
                              epochs while the training loss went on down */
  int best_val_epoch;      /* epoch (1-based) of the lowest validation loss */
  bool at_chance;          /* accuracy (validation, else training) not above
                              the majority-class rate: Wilson 95% interval */
  bool underfit;           /* loss still above 90% of the labels' entropy */
  /* Set by the caller, not the detectors: */
  bool suspect_init;       /* the spec's hidden kernels are constant or far
                              wider than He/Glorot (fl_spec_suspect_init) */
  bool suspect_lr_high;    /* a job that learned after a start far above
                              ln K (diverged_before): its rate may be what
                              kept it low; the rate ladder down tests it */
  bool suspect_inputs;     /* preflight's scale warning stands, a note on a
                              job that learned: the standardized probe
                              tests it */
  bool suspect_capacity;   /* a job that learned ends far below what the
                              label test says its rows support: the
                              wider model tests it */
  bool confirm_only;       /* plan only the baseline and the probes that
                              test a suspicion (a job that is not stuck) */
  char summary[FL_TEXT_MAX]; /* what was seen, in numbers */
} fl_signals;

fl_verdict fl_monitor_check(const fl_monitor *m, fl_signals *s);

/* A job with no validation rows that fits its training rows: its last
 * epoch's training accuracy covers at least FL_FITS_ROWS_SHARE of the way
 * from the majority rate to 1. Such a fit says nothing of the labels (a
 * network can memorize random ones) and nothing against them: only
 * held-out rows could tell learning from memorizing. */
#define FL_FITS_ROWS_SHARE 0.75
bool fl_monitor_fits_rows(const fl_monitor *m);

/* Validation "at chance" that says nothing: the validation rows are too
 * few to tell. The last epoch's validation accuracy's Wilson interval
 * reaches the majority rate (s->at_chance); the mean of the last
 * `patience` epochs' is above it, and its interval (on val_rows) also
 * reaches a converged job's validation gain (a fifth of the way from the
 * majority rate to 1, detect.c's CONVERGED_VAL_GAIN); and the training
 * accuracy is significantly above the majority rate (Wilson over
 * train_rows). Such a job is not one at chance. */
bool fl_monitor_val_unclear(const fl_monitor *m, const fl_signals *s);

/* ---- probes and diagnosis (diagnose/probe.c, diagnose/decide.c) ---- */

typedef enum {
  FL_PROBE_BASELINE,     /* the job as it is, on the probe subset */
  FL_PROBE_LR_DOWN,      /* learning rate / 10 */
  FL_PROBE_LR_UP,        /* learning rate x 10 */
  FL_PROBE_ADAM,         /* Adam at its default rate */
  FL_PROBE_WIDER,        /* hidden layers 4x wider, 64 units at least (or one hidden layer added) */
  FL_PROBE_PERMUTED,     /* labels shuffled across rows (with the best config) */
  FL_PROBE_STANDARDIZED, /* features standardized per column */
  FL_PROBE_REINIT,       /* he/glorot kernels, zero biases */
  FL_PROBE_LEAKY,        /* ReLU layers as leaky_relu */
  FL_PROBE_RELU,         /* tanh/sigmoid hidden layers as relu + he_normal */
  FL_PROBE_LOGITS,       /* the output/loss pairing fixed */
  FL_PROBE_LR_DOWN100,   /* learning rate / 100: the ladder's second step */
  FL_PROBE_LR_UP100,     /* learning rate x 100 */
  FL_PROBE_LR_UP1000,    /* learning rate x 1000 */
  FL_PROBE_LR_USUAL,     /* the usual rate (SGD 0.01, others 0.001), when
                            even x 1000 is below it or / 100 above it */
  FL_PROBE_SCHEDULE_OFF, /* the schedule's peak rate held, no schedule */
  FL_PROBE_COUNT
} fl_probe_kind;

const char *fl_probe_name(fl_probe_kind p);

/* Constant (symmetric) hidden kernels, or random ones far wider than
 * He's sqrt(2 / fan_in): a defect in the spec itself, for a probe to
 * confirm. input_dim: the first layer's fan_in (0: unknown). */
bool fl_spec_suspect_init(const fl_job_spec *spec, size_t input_dim);

/* The job's whole training is no longer than a probe's run of
 * probe_steps: its planned steps (epochs x batches of train_rows) at most
 * that. A probe then shows where the job can get by its end, not only how
 * fast it starts. */
bool fl_probes_cover_job(const fl_job_spec *spec, size_t train_rows, int probe_steps);

/* The steps the job has taken after its m->n epochs (batches of
 * m->train_rows each; a batch_size of 0 counts as Keras' 32); 0 when
 * none. */
size_t fl_job_steps_taken(const fl_job_spec *spec, const fl_monitor *m);

typedef struct {
  bool run;
  bool failed;          /* error or non-finite */
  double loss_start;    /* first batch */
  double loss_end;      /* last epoch's training loss */
  double val_acc;       /* accuracy on the probe's held-out rows */
  double val_loss;      /* loss on them */
  int held_rows;        /* how many: the n of every interval on val_acc */
  double held_majority; /* the largest class's share of those rows: what
                           always predicting one class scores on them
                           (0: not known, a state written before it) */
  double seconds;
  int steps;
} fl_probe_result;

/* Which probes to run for these signals, in priority order; returns n. */
int fl_probe_plan(const fl_job_spec *spec, const fl_signals *s,
                  fl_probe_kind *out, int max);

/* Turn a probe kind into a modified spec (copy of base). Returns false if
 * the probe does not apply to this model. For FL_PROBE_PERMUTED and
 * FL_PROBE_STANDARDIZED the spec is unchanged (the data change). */
bool fl_probe_spec(fl_probe_kind p, const fl_job_spec *base, fl_job_spec *out);

typedef struct {
  fl_cause cause;
  double confidence;            /* 0..1 */
  char evidence[FL_EVIDENCE_MAX];
  char advice[FL_TEXT_MAX];
  char fix[FL_FIX_MAX];         /* merge patch, "" if no spec change fixes it */
  int probe;                    /* the fl_probe_kind whose result is the
                                   evidence, FL_PROBE_COUNT when none */
  bool from_job;                /* measured on the job's own metrics at the
                                   time of the decision (against the label
                                   test), not a probe's short run: a job's
                                   end does not need a probe to confirm it */
} fl_cause_report;

#define FL_MAX_CAUSES 8

typedef struct {
  int n;
  fl_cause_report items[FL_MAX_CAUSES]; /* ranked, most likely first */
  double probe_seconds;
} fl_diagnosis;

typedef struct {
  const fl_job_spec *spec;
  const fl_monitor *monitor;
  const fl_signals *signals;
  const fl_findings *preflight;  /* warnings kept as priors; may be NULL */
  const fl_probe_result *probes; /* [FL_PROBE_COUNT], .run says which ran */
  const fl_label_test *labels;   /* the permutation test; NULL: not run */
  /* [FL_PROBE_COUNT]: probes trained for as many steps as the job took
   * (at most), from fresh weights: the job itself with one change, run at
   * a job's end short of what its rows support (the wider model, and the
   * rate x 10 where the job was still improving). NULL: none ran. */
  const fl_probe_result *whole;
} fl_decide_input;

void fl_decide(const fl_decide_input *in, fl_diagnosis *out);
/* Sorts d's causes by confidence, highest first, keeping the order of
 * equal ones (fl_decide's ranking; a job's merged diagnoses use it too). */
void fl_diagnosis_rank(fl_diagnosis *d);

/* JSON text of a merge patch for a changed field of the spec, for fixes. */
int fl_fix_learning_rate(const fl_job_spec *spec, double lr, char *out, size_t size);

#ifdef __cplusplus
}
#endif
#endif
