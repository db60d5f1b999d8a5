/* engine/reference.h — plain-C reference of every device op, the yardstick
 * the tests hold the OpenCL kernels to. Same shapes and conventions as the
 * launchers in engine_internal.h; row-major float32. */
#ifndef FL_ENGINE_REFERENCE_H
#define FL_ENGINE_REFERENCE_H

#include "engine_internal.h"

/* C (m, n) = alpha op(A) op(B) + beta C */
void fl__ref_gemm(int trans_a, int trans_b, size_t m, size_t n, size_t k,
                  float alpha, const float *a, size_t lda, const float *b,
                  size_t ldb, float beta, float *c, size_t ldc);
float fl__ref_act(fl_activation act, float x);
float fl__ref_act_grad_from_output(fl_activation act, float a);
/* z (rows, n) <- act(z + b); softmax acts as linear (see softmax_forward) */
void fl__ref_bias_act_forward(float *z, const float *b, size_t rows, size_t n,
                              fl_activation act);
void fl__ref_act_backward(float *da, const float *a, size_t rows, size_t n,
                          fl_activation act);
void fl__ref_bias_grad(float *db, const float *dz, size_t rows, size_t n);
void fl__ref_softmax_forward(float *a, size_t rows, size_t n);
void fl__ref_softmax_backward(float *da, const float *a, size_t rows,
                              size_t n);
/* labels: ids (n) or y (n, k) by label_kind; row r uses label row
 * perm ? perm[start + r] : start + r. */
void fl__ref_loss_rows(const float *out, size_t rows, size_t k,
                       fl__loss_mode mode, fl_label_kind label_kind,
                       const int32_t *ids, const float *y,
                       const uint32_t *perm, size_t start, float grad_scale,
                       float *dout, float *row_loss, uint32_t *row_pred,
                       uint32_t *row_correct);
/* As fl__ref_loss_rows, each row's loss and gradient times
 * class_weight[truth] when class_weight (k) is not NULL (kernels/loss.cl). */
void fl__ref_loss_rows_weighted(const float *out, size_t rows, size_t k,
                                fl__loss_mode mode, fl_label_kind label_kind,
                                const int32_t *ids, const float *y,
                                const uint32_t *perm, size_t start,
                                float grad_scale, const float *class_weight,
                                float *dout, float *row_loss,
                                uint32_t *row_pred, uint32_t *row_correct);
/* Inverted dropout with the kernels' mask (kernels/dropout.cl):
 * dst (rows, n) = keep ? src / (1 - rate) : 0; backward in place on da. */
void fl__ref_dropout_forward(float *dst, const float *src, size_t rows,
                             size_t n, float rate, uint64_t stream);
void fl__ref_dropout_backward(float *da, size_t rows, size_t n, float rate,
                              uint64_t stream);
/* Batch normalization (kernels/batchnorm.cl), same order of operations.
 * stats: training, mean and biased variance of x (rows, n) per column into
 *   mean, invstd = 1/sqrt(var + eps) (n each), and mm, mv (n each, the
 *   moving statistics) = mm * momentum + batch * (1 - momentum);
 *   inference, mean and invstd from mm, mv.
 * apply: y (rows, n) = act(gamma (x - mean) invstd + beta); gamma, beta
 *   NULL: 1, 0.
 * backward: dy (rows, n) -> dx in place; dgamma, dbeta (n; NULL: none)
 *   = sum dy xhat, sum dy. */
void fl__ref_bn_stats(const float *x, size_t rows, size_t n, bool training,
                      float momentum, float eps, float *mm, float *mv,
                      float *mean, float *invstd);
void fl__ref_bn_apply(float *y, const float *x, size_t rows, size_t n,
                      const float *mean, const float *invstd,
                      const float *gamma, const float *beta,
                      fl_activation act);
void fl__ref_bn_backward(float *dy, const float *x, size_t rows, size_t n,
                         const float *mean, const float *invstd,
                         const float *gamma, float *dgamma, float *dbeta);
/* kernel_regularizer on w (count): g (may be NULL) += l1 sign(w) + 2 l2 w;
 * returns l1 sum|w| + l2 sum w^2. */
double fl__ref_regularize(const float *w, float *g, size_t count, float l1,
                          float l2);
/* Gradient clipping of g (p) as opt asks (Keras 3): clipvalue clamps each
 * element; clipnorm scales each of the lay's variables (each W_l, each
 * b_l, each gamma_l and beta_l) to a norm of at most clipnorm; global_clipnorm all of g at once. */
void fl__ref_clip_grads(const fl_optimizer_spec *opt,
                        const fl__model_layout *lay, float *g);
void fl__ref_optimizer_step(const fl_optimizer_spec *opt, float lr, long step,
                            float *w, const float *g, float *m, float *v,
                            size_t p);
void fl__ref_gather_rows(float *dst, const float *src, const uint32_t *perm,
                         size_t start, size_t rows, size_t d);

/* Conv2d and pooling (engine/reference_conv.c), shapes as the launchers
 * of engine_internal.h (fl__op_im2col, ...); f: filters (channels of the
 * pooled tensor). */
void fl__ref_im2col(float *col, const float *x, size_t rows,
                    const fl_layer_spec *ls, const fl_layer_shape *g);
void fl__ref_col2im(float *dx, const float *dcol, size_t rows,
                    const fl_layer_spec *ls, const fl_layer_shape *g);
void fl__ref_pool_forward(float *y, const float *x, uint32_t *argmax,
                          size_t rows, int f, int pool,
                          const fl_layer_shape *g);
void fl__ref_pool_backward(float *dx, const float *dy, const uint32_t *argmax,
                           size_t rows, int f, int pool,
                           const fl_layer_shape *g);

/* Whole-model mean loss over `rows` rows of x (rows, d) with labels of rows
 * [0, rows), computed as the trainer does (same loss-mode choice); when
 * grads (P) is not NULL, also its gradient w.r.t. the flat params. params
 * holds P + S floats, fl_trainer_get_params' layout: the trained
 * parameters, then the moving statistics of batch normalization (S = 0
 * without). */
double fl__ref_model_loss(const fl_train_config *cfg, const float *params,
                          const float *x, size_t rows,
                          fl_label_kind label_kind, const int32_t *ids,
                          const float *y, float *grads);
/* The same with what a training step adds: dropout masks of optimizer step
 * `step` (training true; cfg->seed seeds them, as the trainer does), the
 * layers' kernel_regularizer penalties, and class weights (k, or NULL). */
double fl__ref_model_loss_train(const fl_train_config *cfg,
                                const float *params, const float *x,
                                size_t rows, fl_label_kind label_kind,
                                const int32_t *ids, const float *y,
                                bool training, long step,
                                const float *class_weight, float *grads);
/* The same, and with training and new_stats (S) not NULL, the moving
 * statistics after the step (batch normalization's update). Training
 * normalizes with the batch's statistics, inference with the moving
 * ones. */
double fl__ref_model_loss_step(const fl_train_config *cfg,
                               const float *params, const float *x,
                               size_t rows, fl_label_kind label_kind,
                               const int32_t *ids, const float *y,
                               bool training, long step,
                               const float *class_weight, float *grads,
                               float *new_stats);

#endif
