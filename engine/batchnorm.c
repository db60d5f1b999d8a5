/* engine/batchnorm.c — host-side launchers of batch normalization
 * (kernels/batchnorm.cl): the batch or moving statistics of a layer, the
 * normalization itself (with the activation that follows it), and its
 * backward pass. Shapes and buffers: engine_internal.h, fl__bn_layer. */
#include <stdint.h>

#include "engine_internal.h"

#define ARG(kernel, i, v)                                                     \
  FL_CL_CHECK(err, clSetKernelArg((kernel), (i), sizeof(v), &(v)))

/* Every index the kernels compute must fit their uint arguments. */
static int fits(const fl__bn_layer *bn, size_t rows, fl_error *err) {
  size_t top = bn->stat_off + 2 * bn->n;
  if (rows * bn->n > UINT32_MAX || top > UINT32_MAX ||
      (bn->gamma_off != FL__NO_OFF && bn->gamma_off + bn->n > UINT32_MAX) ||
      (bn->beta_off != FL__NO_OFF && bn->beta_off + bn->n > UINT32_MAX))
    return fl_error_set(err, FL_ETOOBIG, "batch normalization of %zu rows "
                        "of %zu units exceeds the kernels' 32-bit index "
                        "range", rows, bn->n);
  return 0;
}

fl__bn_layer fl__bn_of(const fl__layer_layout *l, const fl_layer_spec *ls) {
  return (fl__bn_layer){l->out, l->stat_off, l->gamma_off, l->beta_off,
                        ls->bn_momentum, ls->bn_epsilon};
}

int fl__op_bn_stats(fl_device *dev, cl_mem x, size_t rows,
                    const fl__bn_layer *bn, bool training, cl_mem stats,
                    cl_mem norm, fl_error *err) {
  if (fits(bn, rows, err)) return err->code;
  cl_kernel k = dev->k[FL_K_bn_stats];
  cl_uint r = (cl_uint)rows, n = (cl_uint)bn->n, so = (cl_uint)bn->stat_off;
  cl_int tr = training;
  ARG(k, 0, x); ARG(k, 1, r); ARG(k, 2, n); ARG(k, 3, tr);
  ARG(k, 4, bn->momentum); ARG(k, 5, bn->epsilon); ARG(k, 6, stats);
  ARG(k, 7, so); ARG(k, 8, norm);
  return fl__launch_1d(dev, k, bn->n, err);
}

/* The gamma/beta arguments (index i: has_gamma, gamma_off, has_beta,
 * beta_off); an absent one is passed as offset 0 and never read. */
static int gamma_beta_args(cl_kernel k, cl_uint i, const fl__bn_layer *bn,
                           fl_error *err) {
  cl_int hg = bn->gamma_off != FL__NO_OFF, hb = bn->beta_off != FL__NO_OFF;
  cl_uint go = hg ? (cl_uint)bn->gamma_off : 0, bo = hb ? (cl_uint)bn->beta_off : 0;
  ARG(k, i, hg); ARG(k, i + 1, go); ARG(k, i + 2, hb); ARG(k, i + 3, bo);
  return 0;
}

int fl__op_bn_apply(fl_device *dev, cl_mem y, cl_mem x, size_t rows,
                    const fl__bn_layer *bn, cl_mem norm, cl_mem params,
                    fl_activation act, fl_error *err) {
  if (fits(bn, rows, err)) return err->code;
  cl_kernel k = dev->k[FL_K_bn_apply];
  cl_uint r = (cl_uint)rows, n = (cl_uint)bn->n, so = (cl_uint)bn->stat_off;
  /* softmax is never normalized (the output layer has no BN) */
  cl_int a = act == FL_ACT_SOFTMAX ? FL_ACT_LINEAR : (cl_int)act;
  ARG(k, 0, y); ARG(k, 1, x); ARG(k, 2, r); ARG(k, 3, n); ARG(k, 4, norm);
  ARG(k, 5, so); ARG(k, 6, params);
  int rc = gamma_beta_args(k, 7, bn, err);
  if (rc) return rc;
  ARG(k, 11, a);
  return fl__launch_1d(dev, k, rows * bn->n, err);
}

int fl__op_bn_backward(fl_device *dev, cl_mem dy, cl_mem x, size_t rows,
                       const fl__bn_layer *bn, cl_mem norm, cl_mem params,
                       cl_mem g, fl_error *err) {
  if (fits(bn, rows, err)) return err->code;
  cl_kernel k = dev->k[FL_K_bn_backward];
  cl_uint r = (cl_uint)rows, n = (cl_uint)bn->n, so = (cl_uint)bn->stat_off;
  ARG(k, 0, dy); ARG(k, 1, x); ARG(k, 2, r); ARG(k, 3, n); ARG(k, 4, norm);
  ARG(k, 5, so); ARG(k, 6, params);
  int rc = gamma_beta_args(k, 7, bn, err);
  if (rc) return rc;
  ARG(k, 11, g);
  return fl__launch_1d(dev, k, bn->n, err);
}
