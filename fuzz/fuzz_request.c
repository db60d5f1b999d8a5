/* fuzz/fuzz_request.c — libFuzzer harness for fl_request_parse
 * (protocol/request.c): any bytes as one JSON frame's payload. A request
 * that parses must hold what protocol.h promises (valid digests, paths and
 * job ids, a NUL-terminated spec of the stated length); one that does not
 * must come with its code and a message. ASan/UBSan catch the rest. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "flatline/protocol.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const fl_request *r) {
  if (r->type < FL_REQ_HELLO || r->type > FL_REQ_PREDICT) abort();
  if (r->type != FL_REQ_HELLO && r->id < 1) abort();
  if (r->n_blobs < 0 || r->n_blobs > FL_MAX_BLOB_CHECK) abort();
  for (int i = 0; i < r->n_blobs; i++) {
    if (!fl_sha256_hex_valid(r->blobs[i])) abort();
  }
  if (r->n_files < 0 || r->n_files > FL_MAX_REQUEST_FILES) abort();
  for (int i = 0; i < r->n_files; i++) {
    size_t n = strnlen(r->files[i].path, FL_PATH_MAX);
    if (n == 0 || n >= FL_PATH_MAX) abort();
    if (!fl_sha256_hex_valid(r->files[i].sha256)) abort();
  }
  switch (r->type) {
    case FL_REQ_SUBMIT:
    case FL_REQ_CHECK:
      if (!r->spec_text || strlen(r->spec_text) != r->spec_len) abort();
      if (r->spec_len == 0 || r->spec_len > FL_SPEC_MAX_BYTES) abort();
      break;
    case FL_REQ_BLOB_PUT:
      if (!fl_sha256_hex_valid(r->sha256)) abort();
      break;
    case FL_REQ_FOLLOW:
    case FL_REQ_SHOW:
    case FL_REQ_CANCEL:
    case FL_REQ_EXPORT:
      if (r->job[0] != 'j' || strnlen(r->job, FL_JOB_ID_MAX) >= FL_JOB_ID_MAX) {
        abort();
      }
      break;
    case FL_REQ_PREDICT:
      if (r->job[0] != 'j' || strnlen(r->job, FL_JOB_ID_MAX) >= FL_JOB_ID_MAX)
        abort();
      if (!fl_sha256_hex_valid(r->sha256)) abort();
      if (r->labels_sha256[0] && !fl_sha256_hex_valid(r->labels_sha256)) abort();
      if (strcmp(r->form, "npy") && strcmp(r->form, "csv") && strcmp(r->form, "idx"))
        abort();
      if (!r->data_name[0] || strnlen(r->data_name, FL_PATH_MAX) >= FL_PATH_MAX)
        abort();
      break;
    default:
      break;
  }
  if (strnlen(r->build, sizeof r->build) >= sizeof r->build) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fl_request r;
  fl_error err;
  int rc = fl_request_parse(data, size, &r, &err);
  if (rc == 0) {
    check(&r);
    /* What the client library makes of the type, for the reply. */
    if (!fl_request_type_name(r.type)[0]) abort();
  } else {
    if (err.code != rc || err.msg[0] == '\0') abort();
    if (r.spec_text || r.files || r.blobs) abort(); /* nothing left behind */
  }
  fl_request_free(&r);
  return 0;
}
