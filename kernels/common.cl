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
