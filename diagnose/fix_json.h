/* diagnose/fix_json.h — internal to fl_diagnose: fixes written as RFC 7386
 * merge patches on the job spec (JSON text, with fl_jw), for preflight
 * findings and for live diagnoses.
 *
 * Merge-patch facts these helpers are built around:
 *   - Objects merge key by key, so {"loss": {...}} touches only the loss.
 *   - Arrays are replaced whole, so a layers patch carries every layer with
 *     every field (type, units, activation, both initializers).
 *   - A string replaced by an object keeps nothing of it: a loss or an
 *     optimizer patch therefore always names its "name", and an optimizer
 *     patch nulls the keys the new optimizer does not take (the spec parser
 *     rejects foreign keys, and a name-less optimizer object means adam).
 *
 * Two ways to use them: the whole-patch functions (fl__fix_loss,
 * fl__fix_layers, ...) write a complete patch into a caller's buffer; or
 * fl__fix_begin, any fl__fix_put_* pieces, then fl__fix_finish, for a patch
 * that changes several parts at once.
 *
 * Every function that fills `out` returns 0, FL_ETOOBIG when the patch does
 * not fit in size bytes, or FL_ENOMEM; on error out is "" (size > 0), which
 * reads as "no fix" to every consumer of fl_finding / fl_cause_report. */
#ifndef FL_DIAGNOSE_FIX_JSON_H
#define FL_DIAGNOSE_FIX_JSON_H

#include <stdbool.h>
#include <stddef.h>

#include "flatline/protocol.h"

/* ---- pieces: open the top-level patch object, add parts, close ---- */

void fl__fix_begin(fl_jw *w);

/* "loss": "name", or {"name": ..., "from_logits": true} when from_logits is
 * set on a cross-entropy (mean_squared_error takes no from_logits). */
void fl__fix_put_loss(fl_jw *w, const fl_loss_spec *loss);

/* "model": {"layers": [ {type, units, activation, kernel_initializer,
 * bias_initializer, kernel_regularizer when set}, then the entries the
 * layer folded: batch_normalization, activation (normalization before the
 * activation), dropout, ... ]}, all n layers. With all_fields false, fields
 * equal to the spec's defaults (linear, glorot_uniform, zeros) are left out:
 * the same spec in fewer bytes, for models too large for FL_FIX_MAX. */
void fl__fix_put_layers(fl_jw *w, const fl_layer_spec *layers, int n,
                        bool all_fields);

/* "optimizer": {"name": ..., every hyper-parameter of that optimizer, and
 * null for the keys of the other optimizers}. */
void fl__fix_put_optimizer(fl_jw *w, const fl_optimizer_spec *opt);

/* "callbacks": [...], all n with every field of their kind (the array is
 * replaced whole, so a fix that adds one carries the others too). */
void fl__fix_put_callbacks(fl_jw *w, const fl_callback_spec *cbs, int n);

/* "data": {"train": {"scale": s}} and, when has_validation, the same for
 * "validation" with val_scale. */
void fl__fix_put_scale(fl_jw *w, double train_scale, bool has_validation,
                       double val_scale);

/* Close the patch and copy it into out (size bytes). Resets w. */
int fl__fix_finish(fl_jw *w, char *out, size_t size);

/* ---- whole patches ---- */

int fl__fix_loss(const fl_loss_spec *loss, char *out, size_t size);
/* {"class_weight": "balanced"}: the class_imbalance fix. */
int fl__fix_class_weight_balanced(char *out, size_t size);

/* Tries all fields first and falls back to the compact form when that does
 * not fit. */
int fl__fix_layers(const fl_layer_spec *layers, int n, char *out, size_t size);

/* loss and layers in one patch (same fallback as fl__fix_layers). */
int fl__fix_loss_layers(const fl_loss_spec *loss, const fl_layer_spec *layers,
                        int n, char *out, size_t size);

int fl__fix_optimizer(const fl_optimizer_spec *opt, char *out, size_t size);

int fl__fix_scale(double train_scale, bool has_validation, double val_scale,
                  char *out, size_t size);

/* {"data":{"validation":{"scale":val_scale}}}: the validation set's scale
 * alone. */
int fl__fix_validation_scale(double val_scale, char *out, size_t size);

/* The shortest decimal that reads back as the same float (0.05f -> 0.05,
 * not 0.0500000007), as a double for fl_jw_num. */
double fl__fix_float(float v);

#endif
