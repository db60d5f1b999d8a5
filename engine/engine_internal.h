/* engine/engine_internal.h — what the engine's source files share: the
 * device handle's layout, the kernel table, OpenCL/CLBlast error checks, and
 * the op launchers (ops.c) that tests call directly against the plain-C
 * reference (reference.h). */
#ifndef FL_ENGINE_INTERNAL_H
#define FL_ENGINE_INTERNAL_H

#include <CL/cl.h>
#include <CL/cl_ext.h> /* CL_PLATFORM_NOT_FOUND_KHR */

#include "flatline/engine.h"

/* Every kernel the program provides; one list, so names and slots agree. */
#define FL_KERNEL_MAP(X) \
  X(gather_rows)         \
  X(gather_elems)        \
  X(bias_act_forward)    \
  X(act_backward)        \
  X(bias_grad)           \
  X(bias_grad_wg)        \
  X(softmax_forward)     \
  X(softmax_backward)    \
  X(loss_rows)           \
  X(batch_metrics)       \
  X(batch_metrics_wg)    \
  X(sgd_update)          \
  X(adam_update)         \
  X(rmsprop_update)      \
  X(segment_sumsq)       \
  X(clip_by_value)       \
  X(clip_by_norm)        \
  X(dropout_forward)     \
  X(dropout_backward)    \
  X(regularize)          \
  X(bn_stats)            \
  X(bn_apply)            \
  X(bn_backward)         \
  X(im2col)              \
  X(col2im)              \
  X(pool_forward)        \
  X(pool_backward)       \
  X(bias_grad_part)      \
  X(bias_grad_reduce)    \
  X(gemm_tn_small_part)  \
  X(gemm_nn_6x16)        \
  X(gemm_nn_8x8)         \
  X(gemm_nn_4x16)        \
  X(gemm_nn_8x32)        \
  X(gemm_nn_12x32)       \
  X(gemm_nn_12x16)       \
  X(gemm_nn_8x32p)       \
  X(gemm_nn_12x32p)      \
  X(gemm_tn_6x16)        \
  X(gemm_tn_8x8)         \
  X(gemm_tn_4x16)        \
  X(gemm_tn_8x32)        \
  X(gemm_tn_12x32)       \
  X(gemm_tn_12x16)       \
  X(gemm_tn_8x32p)       \
  X(gemm_tn_12x32p)      \
  X(gemm_nt)             \
  X(gemm_nt_smallk)      \
  X(pack_panels)         \
  X(pack_panels_t)       \
  X(pack_a_panels)

typedef enum {
#define FL__KERNEL_ENUM(name) FL_K_##name,
  FL_KERNEL_MAP(FL__KERNEL_ENUM)
#undef FL__KERNEL_ENUM
  FL_K_COUNT
} fl__kernel_id;

/* Work-group size of segment_sumsq (matches FL_NORM_WG in norms.cl). */
#define FL__NORM_WG 64
/* bias_grad_wg's work-group: units x row slices (kernels/dense.cl). */
#define FL__BG_UNITS 16
#define FL__BG_SLICES 16
/* batch_metrics_wg's work-group (kernels/loss.cl); a power of two. */
#define FL__BM_WG 256

/* Loss modes; match FL_LOSS_* in kernels/common.cl. */
typedef enum {
  FL__LOSS_SOFTMAX_CE = 0,
  FL__LOSS_PROBS_CE = 1,
  FL__LOSS_MSE = 2,
  FL__LOSS_BCE_LOGITS = 3, /* binary_crossentropy on a logit (one unit) */
  FL__LOSS_BCE_PROBS = 4,  /* ... on a probability, clipped (Keras) */
} fl__loss_mode;

/* Slots of the uint metric accumulator (match loss.cl). */
#define FL__MU_CORRECT 0
#define FL__MU_ROWS 1
#define FL__MU_NONFINITE 2
#define FL__MU_HIST 4

/* The tiled GEMM variants of kernels/gemm_tiled.cl, in kernel-map order:
 * name, tile rows, tile columns, and for a variant that reads a packed A
 * (the *p tiles: pack_a_panels first), the variant it runs on a GEMM too
 * small to pack (ops.c); -1 for the others. */
#define FL_GEMM_VARIANTS(X)                                                 \
  X("6x16", 6, 16, -1) X("8x8", 8, 8, -1) X("4x16", 4, 16, -1)             \
  X("8x32", 8, 32, -1) X("12x32", 12, 32, -1) X("12x16", 12, 16, -1)       \
  X("8x32p", 8, 32, 3) X("12x32p", 12, 32, 4)
#define FL__GEMM_NVARIANTS 8
/* What the 32-column variants run on GEMMs at most 16 wide (ops.c): 12x16. */
#define FL__GEMM_VARIANT_NARROW 5
/* Handed to the kernels as FL_NT, FL_NT_STRIP, FL_NT_KMAX, FL_NTS_ROWS. */
#define FL__GEMM_NT_TILE 3   /* gemm_nt's square tile */
#define FL__GEMM_NT_STRIP 16 /* its tiles per work-item along N */
#define FL__GEMM_NT_KMAX 16  /* gemm_nt_smallk up to this K */
#define FL__GEMM_NTS_ROWS 48 /* its rows of C per work-item (tiles of 6) */

typedef enum { FL__GEMM_CLBLAST = 0, FL__GEMM_TILED = 1 } fl__gemm_impl;

/* How a device runs its GEMMs. device.c starts from fl__gemm_untuned; a
 * tuning result (tune.c) replaces it with measured choices. nn/tn: tiled
 * variant per form. */
typedef struct {
  fl__gemm_impl impl;
  int nn, tn;
} fl__gemm_plan;
/* The plan before any tuning (tune.c): tiled kernels on CPUs, sized by
 * the device's native float vector width; CLBlast elsewhere. */
fl__gemm_plan fl__gemm_untuned(const struct fl_device *dev);

/* Profile slots: one per kernel, then CLBlast's GEMMs, then transfers
 * and fills (fl_device_profile_*). */
#define FL__PROF_CLBLAST FL_K_COUNT
#define FL__PROF_OTHER (FL_K_COUNT + 1)
#define FL__PROF_SLOTS (FL_K_COUNT + 2)

/* A device buffer that grows to the largest request and is kept: GEMM
 * scratch space is then never allocated per call (fl__scratch_reserve). */
typedef struct {
  cl_mem buf;
  size_t bytes;
} fl__scratch;

struct fl_device {
  fl_device_info info;
  cl_platform_id platform;
  cl_device_id id;
  cl_context ctx;
  cl_command_queue queue; /* in-order */
  cl_program program;
  cl_kernel k[FL_K_COUNT];
  fl__gemm_plan gemm;
  fl__scratch gemm_tmp;   /* CLBlast's scratch for indirect GEMMs */
  fl__scratch pack_tmp;   /* tiled GEMMs: B, then A, packed in panels (pack_*) */
  size_t pack_min_volume; /* pack B when m * n * k reaches this (tests: 0) */
  /* GPU-shaped variants (gather_elems, bias_grad_wg, batch_metrics_wg):
   * many work-items and coalesced loads instead of a CPU's one loop per
   * work-item. On for non-CPU devices; tests flip it to check both shapes
   * on any device. */
  bool wide_kernels;
  bool profiling;         /* queue has CL_QUEUE_PROFILING_ENABLE; ops wait */
  struct {
    double seconds;
    long calls;
  } prof[FL__PROF_SLOTS];
};

extern const char fl__kernel_source[];
extern const size_t fl__kernel_source_len;

const char *fl__cl_error_name(cl_int e);

/* Log-free checks: turn a failed call into an error code and a message with
 * the call site, then return it. For functions returning int. */
#define FL_CL_CHECK(err, call)                                               \
  do {                                                                       \
    cl_int fl__e = (call);                                                   \
    if (fl__e != CL_SUCCESS)                                                 \
      return fl__cl_fail(err, fl__e, #call, __FILE__, __LINE__);             \
  } while (0)

int fl__cl_fail(fl_error *err, cl_int e, const char *what, const char *file,
                int line);
int fl__blas_fail(fl_error *err, int status, const char *what,
                  const char *file, int line);

/* A 1-D launch of `global` work-items as every elementwise op's (CPU
 * work-groups of 16, profiling when on), for launchers in other files. */
int fl__launch_1d(fl_device *dev, cl_kernel k, size_t global, fl_error *err);

/* ---- op launchers (ops.c). Sizes are elements; buffers are float unless
 * said. All enqueue on dev->queue and do not wait. ---- */

/* dst (rows, d) = src[perm[start + r], :] */
int fl__op_gather_rows(fl_device *dev, cl_mem dst, cl_mem src, cl_mem perm,
                       size_t start, size_t rows, size_t d, fl_error *err);

/* C (m, n) = alpha op(A) op(B) + beta C, row-major, offsets in elements;
 * by dev->gemm's plan (TT always goes to CLBlast). */
int fl__op_gemm(fl_device *dev, int trans_a, int trans_b, size_t m, size_t n,
                size_t k, float alpha, cl_mem a, size_t a_off, size_t lda,
                cl_mem b, size_t b_off, size_t ldb, float beta, cl_mem c,
                size_t c_off, size_t ldc, fl_error *err);

/* The same through one implementation, for tests and tuning. */
int fl__op_gemm_with(fl_device *dev, const fl__gemm_plan *plan, int trans_a,
                     int trans_b, size_t m, size_t n, size_t k, float alpha,
                     cl_mem a, size_t a_off, size_t lda, cl_mem b,
                     size_t b_off, size_t ldb, float beta, cl_mem c,
                     size_t c_off, size_t ldc, fl_error *err);

/* What is fused into a GEMM: where A's rows come from, and what a dense
 * layer does right after its GEMM.
 *
 * a_rows (uint, NULL: none), NN and TN only, tiled plans only: row i of A
 *   (for TN, row k of the stored A) is row a_rows[a_rows_off + i] of the
 *   buffer — the first layer reads its batch straight from the resident
 *   training set through the epoch's permutation, with no gather pass.
 *   fl__gemm_gathers(dev) says whether the device's plan takes it.
 *
 * The epilogue is fused into the tiled kernels' store (one launch instead
 * of two) and runs as the separate kernels below otherwise (CLBlast; then
 * C must be packed: c_off 0, ldc == n).
 *   FL__EP_BIAS_ACT (NN, the forward pass): C = act(C + bias), bias (n) at
 *     bias_off; softmax counts as linear here (softmax_forward follows).
 *   FL__EP_ACT_GRAD (NT, backward into the previous layer):
 *     C *= act'(out), out (m, n) the activation output, laid out as C. */
typedef enum { FL__EP_NONE, FL__EP_BIAS_ACT, FL__EP_ACT_GRAD } fl__ep_kind;
typedef struct {
  fl__ep_kind kind;
  fl_activation act;
  cl_mem bias;
  size_t bias_off;
  cl_mem out;
  cl_mem a_rows;
  size_t a_rows_off;
} fl__gemm_fused;

static inline bool fl__gemm_gathers(const fl_device *dev) {
  return dev->gemm.impl == FL__GEMM_TILED;
}

int fl__op_gemm_ep_with(fl_device *dev, const fl__gemm_plan *plan,
                        int trans_a, int trans_b, size_t m, size_t n,
                        size_t k, float alpha, cl_mem a, size_t a_off,
                        size_t lda, cl_mem b, size_t b_off, size_t ldb,
                        float beta, cl_mem c, size_t c_off, size_t ldc,
                        const fl__gemm_fused *ep, fl_error *err);
/* By dev->gemm's plan. */
int fl__op_gemm_ep(fl_device *dev, int trans_a, int trans_b, size_t m,
                   size_t n, size_t k, cl_mem a, size_t a_off, size_t lda,
                   cl_mem b, size_t b_off, size_t ldb, cl_mem c,
                   const fl__gemm_fused *ep, fl_error *err);

/* z (rows, n) <- act(z + bias); bias at bias_off in a (flat) buffer. */
int fl__op_bias_act_forward(fl_device *dev, cl_mem z, cl_mem bias,
                            size_t bias_off, size_t rows, size_t n,
                            fl_activation act, fl_error *err);
int fl__op_act_backward(fl_device *dev, cl_mem da, cl_mem a, size_t rows,
                        size_t n, fl_activation act, fl_error *err);
/* db (n) at db_off = column sums of dz (rows, n); with active/sat (uint, n,
 * at unit_off) non-NULL, also updates the unit trackers. */
int fl__op_bias_grad(fl_device *dev, cl_mem db, size_t db_off, cl_mem dz,
                     cl_mem a, size_t rows, size_t n, fl_activation act,
                     cl_mem active, cl_mem sat, size_t unit_off,
                     fl_error *err);
/* The same for tall dz (a conv layer's rows = B*oh*ow patches) on CPU
 * devices (kernels/dense.cl, bias_grad_part): the rows in chunks of
 * FL__BG_CHUNK_ROWS summed on all cores into part (at least
 * fl__bias_grad_chunks(rows) * n floats) and flags (twice as many uints),
 * then added in chunk order. Elsewhere (a GPU, or rows under
 * FL__BG_CHUNK_ROWS * 2) it is fl__op_bias_grad and part / flags are not
 * touched. Requires a (the trackers always read it). */
#define FL__BG_CHUNK_ROWS 512
size_t fl__bias_grad_chunks(size_t rows);
int fl__op_bias_grad_tall(fl_device *dev, cl_mem db, size_t db_off,
                          cl_mem dz, cl_mem a, size_t rows, size_t n,
                          fl_activation act, cl_mem active, cl_mem sat,
                          size_t unit_off, cl_mem part, cl_mem flags,
                          fl_error *err);
int fl__op_softmax_forward(fl_device *dev, cl_mem a, size_t rows, size_t n,
                           fl_error *err);
int fl__op_softmax_backward(fl_device *dev, cl_mem da, cl_mem a, size_t rows,
                            size_t n, fl_error *err);

typedef struct {
  fl__loss_mode mode;
  fl_label_kind label_kind;
  cl_mem ids, y;   /* one of them is a real buffer, the other may be NULL */
  cl_mem perm;     /* NULL: rows are start + r */
  size_t start;
  float grad_scale;
  cl_mem class_weight; /* (k) per-class loss weights; NULL: all 1 */
} fl__loss_args;

int fl__op_loss_rows(fl_device *dev, cl_mem out, size_t rows, size_t k,
                     const fl__loss_args *la, cl_mem dout, cl_mem row_loss,
                     cl_mem row_pred, cl_mem row_correct, fl_error *err);
int fl__op_batch_metrics(fl_device *dev, cl_mem row_loss, cl_mem row_pred,
                         cl_mem row_correct, size_t rows, size_t k, int first,
                         cl_mem mf, cl_mem mu, fl_error *err);

/* Dropout (kernels/dropout.cl): dst (rows, n) = src with each element
 * kept with probability 1 - rate and scaled by 1 / (1 - rate), the mask
 * drawn from stream (fl__dropout_stream); backward applies the same mask
 * to da (rows, n) in place. rate in (0, 1). */
#define FL__DROPOUT_ONE 16777216.0 /* 2^24: the mask's bits per element */
uint64_t fl__dropout_stream(uint64_t seed, long step, int layer);
int fl__op_dropout_forward(fl_device *dev, cl_mem dst, cl_mem src,
                           size_t rows, size_t n, float rate, uint64_t stream,
                           fl_error *err);
int fl__op_dropout_backward(fl_device *dev, cl_mem da, size_t rows, size_t n,
                            float rate, uint64_t stream, fl_error *err);

/* Batch normalization (kernels/batchnorm.cl, launched from
 * engine/batchnorm.c). One layer's: x (rows, n) is what is normalized;
 * stats (moving_mean (n) at stat_off, then moving_variance (n)) and norm
 * (mean (n), then 1/sqrt(var + eps) (n), at stat_off) are the trainer's
 * stats and bn_norm buffers; gamma and beta are in params at the layout's
 * offsets (FL__NO_OFF: scale / center off).
 *   stats: training, the batch's mean and biased variance into norm and
 *     the moving statistics updated with momentum (Keras); inference,
 *     norm from the moving statistics.
 *   apply: y (rows, n) = act(gamma (x - mean) invstd + beta).
 *   backward: dy (rows, n) -> dx in place; g at gamma_off / beta_off =
 *     dgamma, dbeta (overwritten, as bias_grad does). */
typedef struct {
  size_t n, stat_off, gamma_off, beta_off;
  float momentum, epsilon;
} fl__bn_layer;
int fl__op_bn_stats(fl_device *dev, cl_mem x, size_t rows,
                    const fl__bn_layer *bn, bool training, cl_mem stats,
                    cl_mem norm, fl_error *err);
int fl__op_bn_apply(fl_device *dev, cl_mem y, cl_mem x, size_t rows,
                    const fl__bn_layer *bn, cl_mem norm, cl_mem params,
                    fl_activation act, fl_error *err);
int fl__op_bn_backward(fl_device *dev, cl_mem dy, cl_mem x, size_t rows,
                       const fl__bn_layer *bn, cl_mem norm, cl_mem params,
                       cl_mem g, fl_error *err);

/* Convolutions (kernels/conv.cl, kernels/pool.cl, launched from
 * engine/conv.c); g: the layer's shapes (fl_model_shapes), rows: images.
 *   im2col: col (rows*oh*ow, kh*kw*c) from x (rows, h, w, c) at x_off.
 *   col2im: dx (rows, h, w, c) = the patches' dcol summed back (gather).
 *   pool_forward: y (rows, ph, pw, f) from x (rows, oh, ow, f); max pooling
 *     writes argmax (uint, rows*ph*pw*f), the flat index of each max in x.
 *   pool_backward: dx (rows, oh, ow, f) from dy (rows, ph, pw, f), below.
 * A work-item per pixel (its channels in a loop), not per element. */
int fl__op_im2col(fl_device *dev, cl_mem col, cl_mem x, size_t x_off,
                  size_t rows, const fl_layer_spec *ls,
                  const fl_layer_shape *g, fl_error *err);
int fl__op_col2im(fl_device *dev, cl_mem dx, cl_mem dcol, size_t rows,
                  const fl_layer_spec *ls, const fl_layer_shape *g,
                  fl_error *err);
int fl__op_pool_forward(fl_device *dev, cl_mem y, cl_mem x, cl_mem argmax,
                        size_t rows, int filters, int pool,
                        const fl_layer_shape *g, fl_error *err);
/* dx (rows, oh, ow, f) = the pooling's gradient of dy (rows, ph, pw, f);
 * with a (the conv's activation output, laid out as dx) non-NULL, times
 * act'(a) as fl__op_act_backward would (same bits, one pass fewer). */
int fl__op_pool_backward(fl_device *dev, cl_mem dx, cl_mem dy, cl_mem argmax,
                         size_t rows, int filters, int pool, cl_mem a,
                         fl_activation act, const fl_layer_shape *g,
                         fl_error *err);

/* kernel_regularizer over W = w[off, off + count) (kernels/regularize.cl):
 * g (may be NULL: evaluation) += its gradient; mf[0] += loss_scale *
 * (l1 sum|w| + l2 sum w^2). */
int fl__op_regularize(fl_device *dev, cl_mem w, cl_mem g, size_t off,
                      size_t count, float l1, float l2, float loss_scale,
                      cl_mem mf, fl_error *err);

/* Gradient clipping (kernels/clip.cl) of g (p) in place: by value, or by
 * the L2 norm of each of nseg segments (boundaries off (nseg + 1), their
 * sums of squares in sumsq (nseg), which this fills first). */
int fl__op_clip_by_value(fl_device *dev, cl_mem g, float v, size_t p,
                         fl_error *err);
int fl__op_clip_by_norm(fl_device *dev, cl_mem g, cl_mem off, size_t nseg,
                        cl_mem sumsq, float c, size_t p, fl_error *err);

/* What engine/train_extras.c adds to a training step: the learning rate
 * of a schedule, gradient clipping, and the kept (best) parameters.
 * base: the rate that fl_trainer_set_learning_rate's rates scale against
 * (learning_rate, or a warm-up's target when it starts from 0). */
float fl__base_learning_rate(const fl_optimizer_spec *opt);
/* The rate of the next update (t->step updates done); sets t->lr_now. */
float fl__step_learning_rate(fl_trainer *t);
int fl__clip_setup(fl_trainer *t, fl_error *err);   /* buffers, at create */
int fl__clip_grads(fl_trainer *t, fl_error *err);   /* grads, before update */
void fl__trainer_extras_free(fl_trainer *t);        /* at destroy */

/* Optimizer step over p parameters. step is 1-based (Adam's correction). */
int fl__op_optimizer_step(fl_device *dev, const fl_optimizer_spec *opt,
                          float lr, long step, cl_mem w, cl_mem g, cl_mem m,
                          cl_mem v, size_t p, fl_error *err);

/* acc[acc_off + s] += ||a - b||^2 over segment s of off (uint, nseg + 1);
 * b may be NULL. */
int fl__op_segment_sumsq(fl_device *dev, cl_mem a, cl_mem b, cl_mem off,
                         size_t nseg, cl_mem acc, size_t acc_off,
                         fl_error *err);

/* Host <-> device helpers. */
int fl__buffer_create(fl_device *dev, size_t bytes, const void *host,
                      cl_mem *out, fl_error *err);
int fl__buffer_read(fl_device *dev, cl_mem buf, size_t off_bytes,
                    size_t bytes, void *host, fl_error *err);
int fl__buffer_write(fl_device *dev, cl_mem buf, size_t off_bytes,
                     size_t bytes, const void *host, fl_error *err);
int fl__buffer_zero(fl_device *dev, cl_mem buf, size_t bytes, fl_error *err);
void fl__buffer_release(cl_mem *buf);
/* s holds at least `bytes` afterwards (its old contents are not kept). */
int fl__scratch_reserve(fl_device *dev, fl__scratch *s, size_t bytes,
                        fl_error *err);


/* ---- model layout (model.c) ---- */

/* Where layer l lives in the flat parameter buffer: W_l (in, out) row-major
 * at w_off, then b_l (out) at b_off, then with batch normalization its
 * gamma (out) at gamma_off (scale) and beta (out) at beta_off (center);
 * FL__NO_OFF where absent. The moving statistics are not trained: they
 * live in a second buffer (stats, n_stats floats), moving_mean (out) at
 * stat_off and moving_variance (out) right after. Its units' trackers at
 * unit_off. Layer l's parameters are [w_off, the next layer's w_off). */
#define FL__NO_OFF SIZE_MAX
/* A conv2d layer (conv true): in = h*w*c and out = ph*pw*filters per row
 * (channels-last images, flattened); W (w_rows = kh*kw*c, units =
 * filters) as Keras stores a Conv2D kernel; positions = oh*ow output
 * pixels per image (the GEMM's rows per image); shape: fl_model_shapes'.
 * A dense layer: w_rows = in, units = out, positions 1. Bias and unit
 * trackers have `units` entries (one per filter: a filter is a unit). */
typedef struct {
  size_t in, out;
  size_t w_rows, units, positions;
  bool conv;
  fl_layer_shape shape;
  size_t w_off, b_off;
  size_t gamma_off, beta_off; /* params; FL__NO_OFF: none */
  size_t stat_off;            /* stats; FL__NO_OFF: no batch norm */
  size_t unit_off;
} fl__layer_layout;

typedef struct {
  int n_layers;
  fl__layer_layout l[FL_MAX_LAYERS];
  size_t n_params;  /* trained floats: all W, b, gamma and beta */
  size_t n_stats;   /* moving statistics: 2 out per normalized layer */
  size_t n_units;   /* sum of units over layers (trackers) */
  size_t n_act;     /* sum of out over layers (activations per row) */
} fl__model_layout;

void fl__model_layout_compute(const fl_train_config *cfg, fl__model_layout *lay);
/* Layer l's batch normalization as the ops take it (batchnorm.c). */
fl__bn_layer fl__bn_of(const fl__layer_layout *l, const fl_layer_spec *ls);
/* The model's shapes for cfg, checked (fl_model_shapes on cfg->input_dim):
 * 0, or FL_EINVAL with the fix in err. */
int fl__model_check_shapes(const fl_train_config *cfg, fl_error *err);

/* A conv layer's forward and backward passes (engine/conv.c), on the
 * trainer's buffers: forward reads `in` (rows, l->in) at in_off and
 * writes act[i] (with pooling through pre[i]); backward takes dact[i]
 * (the gradient at act[i], after dropout's mask), writes the layer's
 * gradients into grads and, for i > 0, dact[i - 1] (the gradient at the
 * layer below's output, before its activation's derivative). track:
 * update the unit trackers (per filter). */
int fl__conv_forward(fl_trainer *t, int i, cl_mem in, size_t in_off,
                     size_t rows, fl_error *err);
int fl__conv_backward(fl_trainer *t, int i, size_t rows, bool track,
                      fl_error *err);
/* Allocate / free a trainer's conv buffers (alloc_state, destroy). */
int fl__conv_alloc(fl_trainer *t, fl_error *err);
void fl__conv_free(fl_trainer *t);

/* The loss mode for a config; *fused_last when the last layer's softmax is
 * folded into the loss (softmax + cross-entropy from the logits). */
fl__loss_mode fl__pick_loss_mode(const fl_train_config *cfg, bool *fused_last);

/* ---- seeded randomness and initializers (init.c) ---- */

typedef struct {
  uint64_t s[4]; /* xoshiro256** state */
} fl__rng;

void fl__rng_seed(fl__rng *r, uint64_t seed);
uint64_t fl__rng_next(fl__rng *r);
double fl__rng_uniform(fl__rng *r);                /* [0, 1) */
double fl__rng_normal(fl__rng *r);                 /* N(0, 1) */
uint32_t fl__rng_below(fl__rng *r, uint32_t n);    /* [0, n), unbiased */

/* splitmix64's finalizer (Steele, Lea, Flood 2014); kernels/dropout.cl
 * has the same function, and its masks must equal the reference's. */
static inline uint64_t fl__mix64(uint64_t z) {
  z += UINT64_C(0x9E3779B97F4A7C15);
  z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
  z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
  return z ^ (z >> 31);
}

/* Fill params (lay->n_params) from the layers' initializers, Keras'
 * formulas, deterministically from rng. */
void fl__init_params(const fl_train_config *cfg, const fl__model_layout *lay,
                     fl__rng *rng, float *params);
/* The moving statistics' start values (lay->n_stats floats). */
void fl__init_stats(const fl__model_layout *lay, float *stats);
void fl__init_fill(const fl_initializer *init, size_t fan_in, size_t fan_out,
                   fl__rng *rng, float *out, size_t count);

/* The class weights a trainer uses (trainer.c), for tests: *out (k)
 * malloc'd, NULL when cw asks for none. */
int fl__class_weights(const fl_class_weight_spec *cw, const fl_dataset *train,
                      size_t k, float **out, fl_error *err);

/* ---- the trainer's state (trainer.c; read by checkpoint.c, safetensors.c)
 *
 * Shapes (B = rows of the current batch, L layers, layer l: in_l -> out_l):
 *   x_train (n, d), labels ids (n) or y (n, k); perm (n)
 *   params/grads/m/v/prev (P) flat: W_l (in_l, out_l), b_l (out_l), then
 *     with batch normalization gamma_l, beta_l (out_l each, when present)
 *   stats, bn_norm (S): moving_mean_l, moving_variance_l (out_l each) of
 *     each normalized layer; the mean and 1/std in use, same offsets
 *   bn_in[l] (B, out_l): what layer l's batch normalization normalizes
 *   xb (B, d) gathered batch; act[l], dact[l], drop[l] (B, out_l)
 *   row_loss/row_pred/row_correct (B); mf (2) float, mu (4 + k) uint
 *   unit_active/unit_sat (sum out_l); norm_acc (3L): grad, update, weight
 *
 * What a checkpoint must carry to continue bit-identically: params, m, v,
 * stats, step, epoch, lr, rng and first_batch_loss. The rest is rebuilt: perm from
 * rng at the next epoch's start (identity when not shuffling), and grads,
 * prev, activations and accumulators are overwritten before being read. */
struct fl_trainer {
  fl_device *dev;
  fl_train_config cfg;
  fl_layer_spec layers[FL_MAX_LAYERS];
  fl__model_layout lay;
  size_t n_train, n_val, d, k;
  size_t n_cls; /* classes: k, or 2 for binary_crossentropy's one unit */
  fl_label_kind label_kind;
  fl__loss_mode loss_mode;
  bool fused_last; /* last layer's softmax is folded into the loss */
  float lr;
  long step; /* optimizer steps taken, all epochs */
  int epoch; /* epochs completed */
  bool in_epoch; /* an epoch started and did not finish (cancelled, failed):
                    the state is mid-epoch and not worth a checkpoint */
  double first_batch_loss; /* of the job's very first batch */
  fl__rng rng;

  fl_progress_fn progress_fn;
  void *progress_ctx;
  double progress_every, progress_last; /* seconds; monotonic clock */
  cl_event window_mark; /* end of the previous step window (progress only) */

  cl_mem x_train, ids_train, y_train, perm;
  cl_mem x_val, ids_val, y_val;
  cl_mem params, grads, m, v, prev, seg_off, norm_acc;
  cl_mem xb, act[FL_MAX_LAYERS], dact[FL_MAX_LAYERS];
  cl_mem drop[FL_MAX_LAYERS]; /* (B, out_l) act[l] after dropout; NULL for
                                 layers without dropout */
  cl_mem class_weight;        /* (k) loss weight per class; NULL: none */
  /* Batch normalization (NULL without): the moving statistics (S), the
   * statistics of the latest forward pass (S), and per normalized layer
   * its input (B, out_l) for the backward pass. */
  cl_mem stats, bn_norm;
  cl_mem bn_in[FL_MAX_LAYERS];
  /* Conv layers (NULL for dense ones): col[l] (B*positions, w_rows) the
   * im2col patches, kept for dW; with pooling, pre[l] / dpre[l]
   * (B*positions, units) the activation before pooling and its gradient,
   * pool_arg[l] (uint, B*out) max pooling's argmax; dcol (B*positions,
   * w_rows) of the largest conv layer above the first, shared. */
  cl_mem col[FL_MAX_LAYERS], pre[FL_MAX_LAYERS], dpre[FL_MAX_LAYERS];
  cl_mem pool_arg[FL_MAX_LAYERS], dcol;
  /* conv layers' bias-gradient chunks (fl__op_bias_grad_tall) and short
   * weight-gradient chunks (conv.c, weight_grad), shared */
  cl_mem bias_part, bias_flags, dw_part;
  cl_mem row_loss, row_pred, row_correct;
  cl_mem mf, mu, unit_active, unit_sat;
  /* Gradient clipping by norm: clip_off (nseg + 1) segment boundaries
   * (each W_l and b_l, or all of P), clip_sumsq (nseg); NULL without. */
  cl_mem clip_off, clip_sumsq;
  size_t clip_nseg;
  float lr_now; /* the learning rate of the latest step (schedules) */
  /* The best epoch's parameters and moving statistics (P + S) and the
   * job's callback state, both
   * carried by checkpoints (engine/kept.c); NULL until kept / set. */
  cl_mem kept;
  int kept_epoch;
  char *note;

  uint32_t *perm_host; /* (n) the epoch's permutation before upload */
  uint32_t *mu_host;   /* (4 + k) */
  uint32_t *active_host, *sat_host; /* (n_units) */
};

/* Little-endian encoding for the engine's file formats (checkpoints,
 * safetensors), whatever the host's byte order. */
static inline void fl__le_put32(uint8_t *p, uint32_t v) {
  for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static inline void fl__le_put64(uint8_t *p, uint64_t v) {
  for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static inline uint32_t fl__le_get32(const uint8_t *p) {
  uint32_t v = 0;
  for (int i = 0; i < 4; i++) v |= (uint32_t)p[i] << (8 * i);
  return v;
}
static inline uint64_t fl__le_get64(const uint8_t *p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; i++) v |= (uint64_t)p[i] << (8 * i);
  return v;
}
/* dst (4n bytes) <- src (n floats), and back. */
static inline void fl__le_put_floats(uint8_t *dst, const float *src, size_t n) {
  for (size_t i = 0; i < n; i++) {
    union { float f; uint32_t u; } c = {.f = src[i]};
    fl__le_put32(dst + 4 * i, c.u);
  }
}
static inline void fl__le_get_floats(float *dst, const uint8_t *src, size_t n) {
  for (size_t i = 0; i < n; i++) {
    union { float f; uint32_t u; } c = {.u = fl__le_get32(src + 4 * i)};
    dst[i] = c.f;
  }
}

#endif
