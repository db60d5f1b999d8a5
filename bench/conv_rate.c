/* bench/conv_rate.c — the time of every op of the CNN's two conv
 * layers at batch 128 (issue 13: conv(32, 3x3, relu) - maxpool 2 -
 * conv(64, 3x3, relu) - maxpool 2 on 28x28x1), as the trainer launches
 * them (engine/conv.c), and the forward pass through CLBlast's NCHW
 * convgemm with the transposes flatline's channels-last tensors would need
 * around it, so that the two forward paths can be compared on the same
 * device in the same run (bench/README.md, "CLBlast's convgemm").
 *
 * usage: fl_conv_rate [--batch B] [DEVICE]       (DEVICE default "auto")
 *
 * Our forward per layer: im2col (B*oh*ow, kh*kw*c) + the NN GEMM with the
 *   fused bias + relu epilogue -> z (B, oh, ow, f), then max pooling.
 * CLBlast's: x (B, h, w, c) -> (B, c, h, w) (skipped when c == 1: the same
 *   bytes), W (kh, kw, c, f) -> (f, c, kh, kw), CLBlastSconvgemm ->
 *   (B, f, oh, ow), then one kernel that transposes back to (B, oh, ow, f)
 *   and adds the bias and applies relu (the cheapest way to give the next
 *   op what it reads; CLBlast has no epilogue). The two outputs are
 *   compared element by element before anything is timed.
 * Backward per layer (ours only): pool_backward, act_backward, bias_grad,
 *   the TN GEMM for dW, and for the second layer the NT GEMM for dcol and
 *   col2im. */
#include <clblast_c.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine_internal.h"

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* The transposes CLBlast's layout needs; one work-item per output. */
static const char transpose_src[] =
    "__kernel void nhwc_to_nchw(__global float *y, __global const float *x,\n"
    "                           uint hw, uint c, uint n) {\n"
    "  uint i = get_global_id(0); if (i >= n) return;\n"
    "  uint p = i % hw, t = i / hw, ci = t % c, b = t / c;\n"
    "  y[i] = x[(b * hw + p) * c + ci];\n"
    "}\n"
    "__kernel void nchw_to_nhwc_bias_relu(__global float *y,\n"
    "    __global const float *x, __global const float *bias, uint hw,\n"
    "    uint c, uint n) {\n"
    "  uint i = get_global_id(0); if (i >= n) return;\n"
    "  uint ci = i % c, t = i / c, p = t % hw, b = t / hw;\n"
    "  y[i] = fmax(x[(b * c + ci) * hw + p] + bias[ci], 0.0f);\n"
    "}\n"
    "__kernel void w_to_fckk(__global float *y, __global const float *w,\n"
    "                        uint kk, uint c, uint f, uint n) {\n"
    "  uint i = get_global_id(0); if (i >= n) return;\n"
    "  uint q = i % kk, t = i / kk, ci = t % c, fi = t / c;\n"
    "  y[i] = w[(q * c + ci) * f + fi];\n"
    "}\n";

enum op {
  OP_IM2COL, OP_GEMM_FWD, OP_POOL_FWD, OP_POOL_BWD, OP_ACT_BWD, OP_BIAS_GRAD,
  OP_BIAS_GRAD_CHUNKED, OP_GEMM_DW, OP_GEMM_DW_CHUNKED, OP_GEMM_DCOL, OP_COL2IM,
  OP_CB_TO_NCHW, OP_CB_W, OP_CB_CONVGEMM, OP_CB_TO_NHWC, OP_COUNT
};
static const char *op_name[OP_COUNT] = {
    "im2col", "GEMM NN + bias + relu", "max pool forward",
    "max pool backward + relu'", "relu backward", "bias grad (one pass)",
    "bias grad, chunks of 512 rows", "GEMM TN (dW)", "GEMM TN (dW), k in chunks",
    "GEMM NT (dcol)", "col2im", "CLBlast: x NHWC -> NCHW",
    "CLBlast: W -> (f, c, kh, kw)", "CLBlast: Sconvgemm",
    "CLBlast: z NCHW -> NHWC + bias + relu"};

typedef struct {
  fl_device *dev;
  const fl_layer_spec *ls;
  const fl_layer_shape *g;
  size_t B, K, M, f;
  cl_mem x, col, w, bias, z, act, argmax, dz, dw, dcol, dx, xt, wt, zt;
  cl_mem part, flags, active, sat; /* bias grad's chunks and trackers */
  cl_kernel to_nchw, to_nhwc, w_t;
} layer_ctx;

static int set_args(cl_kernel k, fl_error *err, int n, ...);

static int run_op(layer_ctx *c, enum op op, fl_error *err) {
  fl_device *dev = c->dev;
  fl__gemm_fused ep = {FL__EP_BIAS_ACT, FL_ACT_RELU, c->w, c->K * c->f, NULL,
                       NULL, 0};
  fl__gemm_fused none = {FL__EP_NONE, FL_ACT_LINEAR, NULL, 0, NULL, NULL, 0};
  size_t hw = (size_t)c->g->h * c->g->w, ohw = (size_t)c->g->oh * c->g->ow;
  cl_uint u[4];
  switch (op) {
  case OP_IM2COL:
    return fl__op_im2col(dev, c->col, c->x, 0, c->B, c->ls, c->g, err);
  case OP_GEMM_FWD:
    return fl__op_gemm_ep(dev, 0, 0, c->M, c->f, c->K, c->col, 0, c->K, c->w,
                          0, c->f, c->z, &ep, err);
  case OP_POOL_FWD:
    return fl__op_pool_forward(dev, c->act, c->z, c->argmax, c->B, (int)c->f,
                               FL_POOL_MAX, c->g, err);
  case OP_POOL_BWD:
    /* relu' fused in, as the trainer calls it */
    return fl__op_pool_backward(dev, c->dz, c->act, c->argmax, c->B,
                                (int)c->f, FL_POOL_MAX, c->z, FL_ACT_RELU,
                                c->g, err);
  case OP_ACT_BWD:
    return fl__op_act_backward(dev, c->dz, c->z, c->M, c->f, FL_ACT_RELU, err);
  case OP_BIAS_GRAD:
    /* with the unit trackers, as the trainer calls it */
    return fl__op_bias_grad(dev, c->dw, c->K * c->f, c->dz, c->z, c->M, c->f,
                            FL_ACT_RELU, c->active, c->sat, 0, err);
  case OP_BIAS_GRAD_CHUNKED: /* the trainer's call since 03e6a07 */
    return fl__op_bias_grad_tall(dev, c->dw, c->K * c->f, c->dz, c->z, c->M,
                                 c->f, FL_ACT_RELU, c->active, c->sat, 0,
                                 c->part, c->flags, err);
  case OP_GEMM_DW:
    return fl__op_gemm_ep_with(dev, &dev->gemm, 1, 0, c->K, c->f, c->M, 1.0f,
                               c->col, 0, c->K, c->dz, 0, c->f, 0.0f, c->dw, 0,
                               c->f, &none, err);
  case OP_GEMM_DW_CHUNKED: {
    size_t chunk = getenv("FL_DW_CHUNK") ? (size_t)atoi(getenv("FL_DW_CHUNK")) : 1024;
    for (size_t k0 = 0; k0 < c->M; k0 += chunk) {
      size_t kc = c->M - k0 < chunk ? c->M - k0 : chunk;
      if (fl__op_gemm_ep_with(dev, &dev->gemm, 1, 0, c->K, c->f, kc, 1.0f,
                              c->col, k0 * c->K, c->K, c->dz, k0 * c->f, c->f,
                              k0 ? 1.0f : 0.0f, c->dw, 0, c->f, &none, err))
        return err->code;
    }
    return 0;
  }
  case OP_GEMM_DCOL:
    return fl__op_gemm_ep(dev, 0, 1, c->M, c->K, c->f, c->dz, 0, c->f, c->w,
                          0, c->f, c->dcol, &none, err);
  case OP_COL2IM:
    return fl__op_col2im(dev, c->dx, c->dcol, c->B, c->ls, c->g, err);
  case OP_CB_TO_NCHW:
    if (c->g->c == 1) return 0;
    u[0] = (cl_uint)hw, u[1] = (cl_uint)c->g->c, u[2] = (cl_uint)(c->B * hw * c->g->c);
    if (set_args(c->to_nchw, err, 5, &c->xt, &c->x, &u[0], &u[1], &u[2]))
      return err->code;
    return fl__launch_1d(dev, c->to_nchw, u[2], err);
  case OP_CB_W:
    u[0] = (cl_uint)(c->ls->kernel_size[0] * c->ls->kernel_size[1]);
    u[1] = (cl_uint)c->g->c, u[2] = (cl_uint)c->f, u[3] = (cl_uint)(c->K * c->f);
    if (set_args(c->w_t, err, 6, &c->wt, &c->w, &u[0], &u[1], &u[2], &u[3]))
      return err->code;
    return fl__launch_1d(dev, c->w_t, u[3], err);
  case OP_CB_CONVGEMM: {
    CLBlastStatusCode s = CLBlastSconvgemm(
        CLBlastKernelModeCrossCorrelation, (size_t)c->g->c, (size_t)c->g->h,
        (size_t)c->g->w, (size_t)c->ls->kernel_size[0],
        (size_t)c->ls->kernel_size[1], 0, 0, 1, 1, 1, 1, c->f, c->B,
        c->g->c == 1 ? c->x : c->xt, 0, c->wt, 0, c->zt, 0, &dev->queue, NULL);
    if (s != CLBlastSuccess)
      return fl__blas_fail(err, s, "CLBlastSconvgemm", __FILE__, __LINE__);
    return 0;
  }
  case OP_CB_TO_NHWC:
    u[0] = (cl_uint)ohw, u[1] = (cl_uint)c->f, u[2] = (cl_uint)(c->M * c->f);
    if (set_args(c->to_nhwc, err, 6, &c->z, &c->zt, &c->bias, &u[0], &u[1], &u[2]))
      return err->code;
    return fl__launch_1d(dev, c->to_nhwc, u[2], err);
  default:
    return 0;
  }
}

/* Arguments 0..n-1 of k: cl_mem pointers first, then cl_uint pointers (a
 * cl_mem and a cl_uint differ in size, told apart by the kernel's order). */
static int set_args(cl_kernel k, fl_error *err, int n, ...) {
  va_list ap;
  va_start(ap, n);
  for (int i = 0; i < n; i++) {
    void *p = va_arg(ap, void *);
    size_t sz = sizeof(cl_mem);
    char name[64] = "";
    clGetKernelInfo(k, CL_KERNEL_FUNCTION_NAME, sizeof name, name, NULL);
    /* the buffers: 2 for the transposes, 3 for the one with a bias */
    int nbuf = strcmp(name, "nchw_to_nhwc_bias_relu") == 0 ? 3 : 2;
    if (i >= nbuf) sz = sizeof(cl_uint);
    cl_int e = clSetKernelArg(k, (cl_uint)i, sz, p);
    if (e != CL_SUCCESS) {
      va_end(ap);
      return fl__cl_fail(err, e, "clSetKernelArg", __FILE__, __LINE__);
    }
  }
  va_end(ap);
  return 0;
}

/* Seconds per call of op, over at least 0.3 s after two warm-up calls. */
static double time_op(layer_ctx *c, enum op op, fl_error *err) {
  for (int i = 0; i < 2; i++)
    if (run_op(c, op, err)) return -1;
  clFinish(c->dev->queue);
  int reps = 0;
  double t0 = now(), el = 0;
  while (el < 0.3 || reps < 3) {
    if (run_op(c, op, err)) return -1;
    reps++;
    clFinish(c->dev->queue);
    el = now() - t0;
  }
  return el / reps;
}

static int buf(fl_device *dev, size_t n, cl_mem *out, fl_error *err) {
  float *h = malloc(n * sizeof *h);
  if (!h) return fl_error_set(err, FL_ENOMEM, "out of memory");
  for (size_t i = 0; i < n; i++) h[i] = (float)((i * 7919) % 1000) / 1000.0f - 0.5f;
  int rc = fl__buffer_create(dev, n * sizeof *h, h, out, err);
  free(h);
  return rc;
}

/* Largest |ours - CLBlast's| of the forward output (before pooling). */
static int compare(layer_ctx *c, double *max_diff, fl_error *err) {
  size_t n = c->M * c->f;
  float *a = malloc(n * sizeof *a), *b = malloc(n * sizeof *b);
  if (!a || !b) {
    free(a), free(b);
    return fl_error_set(err, FL_ENOMEM, "out of memory");
  }
  int rc = run_op(c, OP_IM2COL, err);
  if (!rc) rc = run_op(c, OP_GEMM_FWD, err);
  if (!rc) rc = clEnqueueReadBuffer(c->dev->queue, c->z, CL_TRUE, 0, n * 4, a,
                                    0, NULL, NULL) ? FL_EIO : 0;
  for (int op = OP_CB_TO_NCHW; !rc && op <= OP_CB_TO_NHWC; op++)
    rc = run_op(c, (enum op)op, err);
  if (!rc) rc = clEnqueueReadBuffer(c->dev->queue, c->z, CL_TRUE, 0, n * 4, b,
                                    0, NULL, NULL) ? FL_EIO : 0;
  *max_diff = 0;
  for (size_t i = 0; !rc && i < n; i++)
    if (fabs((double)a[i] - b[i]) > *max_diff) *max_diff = fabs((double)a[i] - b[i]);
  free(a), free(b);
  return rc;
}

int main(int argc, char **argv) {
  fl_error err = {0};
  fl_device_info infos[FL_MAX_DEVICES];
  fl_device *dev = NULL;
  const char *sel = "auto";
  size_t B = 128;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--batch") == 0 && i + 1 < argc) {
      B = (size_t)atoi(argv[++i]);
    } else if (argv[i][0] != '-') {
      sel = argv[i];
    } else {
      fprintf(stderr, "usage: fl_conv_rate [--batch B] [DEVICE]\n");
      return 2;
    }
  }
  int n = fl_devices_list(infos, FL_MAX_DEVICES, &err), idx;
  if (B < 1 || n <= 0 || fl_device_resolve(infos, n, sel, &idx, &err) ||
      fl_device_open(idx, &dev, &err)) {
    fprintf(stderr, "fl_conv_rate: %s\n", err.msg[0] ? err.msg : "no OpenCL device or bad batch");
    return 1;
  }
  /* the two conv layers */
  fl_layer_spec ls[2];
  memset(ls, 0, sizeof ls);
  for (int i = 0; i < 2; i++) {
    ls[i].kind = FL_LAYER_CONV2D;
    ls[i].units = i ? 64 : 32;
    ls[i].activation = FL_ACT_RELU;
    ls[i].kernel_size[0] = ls[i].kernel_size[1] = 3;
    ls[i].strides[0] = ls[i].strides[1] = 1;
    ls[i].pool = FL_POOL_MAX;
    ls[i].pool_size[0] = ls[i].pool_size[1] = 2;
    ls[i].pool_strides[0] = ls[i].pool_strides[1] = 2;
  }
  ls[0].input_shape[0] = ls[0].input_shape[1] = 28, ls[0].input_shape[2] = 1;
  fl_layer_shape g[2];
  bool known = false;
  if (fl_model_shapes(ls, 2, 784, g, &known, &err)) {
    fprintf(stderr, "fl_conv_rate: %s\n", err.msg);
    return 1;
  }
  cl_int e;
  cl_program prog = clCreateProgramWithSource(dev->ctx, 1, (const char *[]){transpose_src},
                                              NULL, &e);
  if (e || clBuildProgram(prog, 1, &dev->id, "-cl-denorms-are-zero", NULL, NULL)) {
    fprintf(stderr, "fl_conv_rate: building the transposes failed\n");
    return 1;
  }
  printf("device: %s; batch %zu; plan: %s (NN variant %d, TN variant %d)\n",
         dev->info.name, B, dev->gemm.impl == FL__GEMM_TILED ? "tiled" : "CLBlast",
         dev->gemm.nn, dev->gemm.tn);
  for (int li = 0; li < 2; li++) {
    layer_ctx c = {.dev = dev, .ls = &ls[li], .g = &g[li], .B = B};
    c.K = (size_t)9 * g[li].c;
    c.M = B * g[li].oh * g[li].ow;
    c.f = (size_t)ls[li].units;
    size_t in = B * g[li].flat_in, out = B * g[li].flat_out;
    c.to_nchw = clCreateKernel(prog, "nhwc_to_nchw", &e);
    c.to_nhwc = clCreateKernel(prog, "nchw_to_nhwc_bias_relu", &e);
    c.w_t = clCreateKernel(prog, "w_to_fckk", &e);
    if (buf(dev, in, &c.x, &err) || buf(dev, c.M * c.K, &c.col, &err) ||
        buf(dev, c.K * c.f + c.f, &c.w, &err) || buf(dev, c.f, &c.bias, &err) ||
        buf(dev, c.M * c.f, &c.z, &err) || buf(dev, out, &c.act, &err) ||
        fl__buffer_create(dev, out * 4, NULL, &c.argmax, &err) ||
        buf(dev, c.M * c.f, &c.dz, &err) || buf(dev, c.K * c.f + c.f, &c.dw, &err) ||
        buf(dev, c.M * c.K, &c.dcol, &err) || buf(dev, in, &c.dx, &err) ||
        buf(dev, in, &c.xt, &err) || buf(dev, c.K * c.f, &c.wt, &err) ||
        buf(dev, c.M * c.f, &c.zt, &err) ||
        buf(dev, fl__bias_grad_chunks(c.M) * c.f, &c.part, &err) ||
        buf(dev, 2 * fl__bias_grad_chunks(c.M) * c.f, &c.flags, &err) ||
        buf(dev, c.f, &c.active, &err) || buf(dev, c.f, &c.sat, &err)) {
      fprintf(stderr, "fl_conv_rate: %s\n", err.msg);
      return 1;
    }
    /* the bias both paths add: W's buffer holds it after the kernel */
    clEnqueueCopyBuffer(dev->queue, c.w, c.bias, c.K * c.f * 4, 0, c.f * 4, 0,
                        NULL, NULL);
    double diff = 0;
    if (compare(&c, &diff, &err)) {
      fprintf(stderr, "fl_conv_rate: %s\n", err.msg);
      return 1;
    }
    printf("\nlayer %d: x (%zu, %d, %d, %d) -> z (%zu, %d, %d, %zu); GEMM m %zu n %zu k %zu; "
           "ours vs CLBlast forward: max |diff| %.2g\n",
           li + 1, B, g[li].h, g[li].w, g[li].c, B, g[li].oh, g[li].ow, c.f, c.M,
           c.f, c.K, diff);
    printf("  %-40s %10s %9s\n", "op", "us/call", "GFLOP/s");
    double ours = 0, cb = 0, bwd = 0;
    for (int op = 0; op < OP_COUNT; op++) {
      /* the first layer has no input gradient; relu' is fused into the
       * pooling's backward pass (the trainer launches no act_backward) */
      if ((li == 0 && (op == OP_GEMM_DCOL || op == OP_COL2IM)) || op == OP_ACT_BWD)
        continue;
      double s = time_op(&c, (enum op)op, &err);
      if (s < 0) {
        fprintf(stderr, "fl_conv_rate: %s: %s\n", op_name[op], err.msg);
        return 1;
      }
      double flops = op == OP_GEMM_FWD || op == OP_GEMM_DW || op == OP_GEMM_DCOL ||
                             op == OP_GEMM_DW_CHUNKED ||
                             op == OP_CB_CONVGEMM
                         ? 2.0 * (double)(c.M * c.f * c.K)
                         : 0;
      if (op <= OP_GEMM_FWD) ours += s;
      else if (op >= OP_CB_TO_NCHW) cb += s;
      else if (op != OP_POOL_FWD && op != OP_GEMM_DW_CHUNKED &&
               op != OP_BIAS_GRAD_CHUNKED)
        bwd += s;
      printf("  %-40s %10.1f", op_name[op], s * 1e6);
      if (flops > 0) printf(" %9.1f", flops / s / 1e9);
      printf("\n");
    }
    printf("  forward conv (before pooling): ours %.1f us, CLBlast path %.1f us "
           "(CLBlast / ours %.2f); backward (ours, no pool forward) %.1f us\n",
           ours * 1e6, cb * 1e6, cb / ours, bwd * 1e6);
    cl_mem *all[] = {&c.x, &c.col, &c.w, &c.bias, &c.z, &c.act, &c.argmax, &c.dz,
                     &c.dw, &c.dcol, &c.dx, &c.xt, &c.wt, &c.zt, &c.part,
                     &c.flags, &c.active, &c.sat};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++) fl__buffer_release(all[i]);
    clReleaseKernel(c.to_nchw), clReleaseKernel(c.to_nhwc), clReleaseKernel(c.w_t);
  }
  clReleaseProgram(prog);
  fl_device_close(dev);
  return 0;
}
