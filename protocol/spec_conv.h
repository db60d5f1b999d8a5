/* protocol/spec_conv.h — the conv2d and pooling decoders of spec_conv.c,
 * for spec_model.c (the layer list). */
#ifndef FL_PROTOCOL_SPEC_CONV_H
#define FL_PROTOCOL_SPEC_CONV_H

#include "spec_internal.h"

/* "input_shape" of layers[index] (only index 0 may carry it) into layer. */
int fl__decode_input_shape(const cJSON *obj, const char *path, int index,
                           fl_layer_spec *layer, fl_error *err);
/* A {"type": "conv2d", ...} object's own keys into layer (kind, filters as
 * units, kernel_size, strides, padding); the keys it shares with dense
 * (activation, initializers, kernel_regularizer) are decoded by the caller. */
int fl__decode_conv(const cJSON *obj, const char *path, fl_layer_spec *layer,
                    fl_error *err);
/* A pooling entry (pool: fl_pool_kind) folded into the conv2d layer below
 * (NULL or not a conv2d: an error naming the fix). */
int fl__decode_pool(const cJSON *obj, const char *path, int pool,
                    fl_layer_spec *below, fl_error *err);

#endif
