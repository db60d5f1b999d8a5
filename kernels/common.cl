/* kernels/common.cl — types and helpers shared by every flatline kernel.
 * All kernels are float32, row-major; sizes are passed as uint. The host
 * concatenates this file first, then the others in name order, into one
 * program per device. */
#ifndef FL_LEAKY_SLOPE
#define FL_LEAKY_SLOPE 0.2f /* Keras LeakyReLU default negative slope */
#endif

/* Activation codes; must match fl_activation in flatline/protocol.h. */
#define FL_ACT_LINEAR 0
#define FL_ACT_RELU 1
#define FL_ACT_LEAKY_RELU 2
#define FL_ACT_TANH 3
#define FL_ACT_SIGMOID 4
#define FL_ACT_SOFTMAX 5

/* Loss modes; must match fl__loss_mode in engine/ops.h. */
#define FL_LOSS_SOFTMAX_CE 0 /* softmax of the input, then cross-entropy */
#define FL_LOSS_PROBS_CE 1   /* input normalized to sum 1, clipped, CE (Keras) */
#define FL_LOSS_MSE 2        /* mean over classes of squared error */
#define FL_LOSS_BCE_LOGITS 3 /* binary CE of one logit (k = 1) */
#define FL_LOSS_BCE_PROBS 4  /* binary CE of one probability, clipped */

#define FL_CE_EPSILON 1e-7f  /* Keras backend epsilon used for clipping */

/* Label kinds; must match fl_label_kind in flatline/data.h. */
#define FL_LABELS_IDS 0
#define FL_LABELS_DENSE 1

/* Target value of class j for dataset row r: class ids are one-hot. */
inline float fl_target(int label_kind, __global const int *ids,
                       __global const float *y, uint r, uint k, uint j) {
  if (label_kind == FL_LABELS_IDS) return ids[r] == (int)j ? 1.0f : 0.0f;
  return y[(size_t)r * k + j];
}

/* The activations and their derivatives from the output (dense.cl,
 * batchnorm.cl, gemm_tiled.cl). */
inline float fl_act(int act, float x) {
  switch (act) {
    case FL_ACT_RELU: return fmax(x, 0.0f);
    case FL_ACT_LEAKY_RELU: return x > 0.0f ? x : FL_LEAKY_SLOPE * x;
    case FL_ACT_TANH: return tanh(x);
    case FL_ACT_SIGMOID: return 1.0f / (1.0f + exp(-x));
    default: return x;
  }
}

inline float fl_act_grad_from_output(int act, float a) {
  switch (act) {
    case FL_ACT_RELU: return a > 0.0f ? 1.0f : 0.0f;
    case FL_ACT_LEAKY_RELU: return a > 0.0f ? 1.0f : FL_LEAKY_SLOPE;
    case FL_ACT_TANH: return 1.0f - a * a;
    case FL_ACT_SIGMOID: return a * (1.0f - a);
    default: return 1.0f;
  }
}
