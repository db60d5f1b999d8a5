/* fuzz/fuzz_spec.c — libFuzzer harness for fl_spec_parse (protocol/spec*.c):
 * any bytes as a job spec, as a client's submit carries it. A spec that
 * parses must be within the caps the engine relies on; one that does not
 * must come with a message. ASan/UBSan catch the rest. */
#include <stdint.h>
#include <stdlib.h>

#include "flatline/protocol.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fl_job_spec spec;
  fl_error err;
  int rc = fl_spec_parse((const char *)data, size, &spec, &err);
  if (rc == 0) {
    if (spec.n_layers < 1 || spec.n_layers > FL_MAX_LAYERS) abort();
    for (int i = 0; i < spec.n_layers; i++) {
      if (spec.layers[i].units < 1 || spec.layers[i].units > FL_MAX_UNITS) {
        abort();
      }
    }
    if (spec.epochs < 1 || spec.batch_size < 1) abort();
    if (spec.train.kind == FL_SRC_NONE) abort();
  } else if (err.code != rc || err.msg[0] == '\0') {
    abort();
  }
  fl_spec_free(&spec);
  return 0;
}
