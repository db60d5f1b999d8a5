/* fuzz/fuzz_frame.c — libFuzzer harness for the wire frame decoder
 * (protocol/frame.c) and, behind it, the request parser: the input is a
 * byte stream from a hostile client.
 *
 * The stream is decoded three ways — all at once, one byte at a time, and
 * in pseudo-random pieces derived from the input — and the three must agree
 * on every frame and on where (and with which code) the stream broke: the
 * decoder may not depend on how reads happen to split the bytes. Every JSON
 * frame is then parsed as a request, as the daemon would. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "flatline/protocol.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_FRAMES 64

/* What one decoding of the stream saw. */
typedef struct {
  int n;
  uint8_t kind[MAX_FRAMES];
  size_t len[MAX_FRAMES];
  uint64_t hash[MAX_FRAMES];
  int final_rc;    /* 0, or the error code that ended the stream */
  size_t consumed; /* bytes consumed when it ended */
} outcome;

static uint64_t fnv1a(const uint8_t *p, size_t n) {
  uint64_t h = 1469598103934665603u;
  for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 1099511628211u;
  return h;
}

/* piece(state) gives the size of the next read (0: everything left). */
static void decode(const uint8_t *data, size_t size,
                   size_t (*piece)(uint64_t *), uint64_t state, outcome *o,
                   bool parse_requests) {
  memset(o, 0, sizeof *o);
  fl_frame_decoder d;
  fl_frame_decoder_init(&d);
  size_t at = 0;
  while (at < size && o->final_rc == 0 && o->n < MAX_FRAMES) {
    size_t want = piece(&state);
    if (want == 0 || want > size - at) want = size - at;
    const uint8_t *p = data + at;
    size_t left = want;
    while (left > 0 && o->n < MAX_FRAMES) {
      size_t used = 0;
      fl_frame f;
      fl_error err;
      int rc = fl_frame_decode(&d, p, left, &used, &f, &err);
      if (used > left) abort();
      p += used;
      left -= used;
      o->consumed += used;
      if (rc < 0) {
        if (err.code != rc || err.msg[0] == '\0') abort();
        o->final_rc = rc;
        break;
      }
      if (rc == 0) {
        if (left != 0) abort(); /* 0 means every byte was taken */
        break;
      }
      if (f.len >
          (f.kind == FL_FRAME_JSON ? FL_FRAME_MAX_JSON : FL_FRAME_MAX_BINARY)) {
        abort();
      }
      o->kind[o->n] = f.kind;
      o->len[o->n] = f.len;
      o->hash[o->n] = fnv1a(f.data, f.len);
      o->n++;
      if (parse_requests && f.kind == FL_FRAME_JSON) {
        fl_request r;
        fl_error rerr;
        int prc = fl_request_parse(f.data, f.len, &r, &rerr);
        if (prc != 0 && (rerr.code != prc || rerr.msg[0] == '\0')) abort();
        fl_request_free(&r);
      }
    }
    at += want;
  }
  fl_frame_decoder_free(&d);
}

static size_t all_at_once(uint64_t *s) {
  (void)s;
  return 0;
}

static size_t one_byte(uint64_t *s) {
  (void)s;
  return 1;
}

static size_t random_piece(uint64_t *s) {
  *s = *s * 6364136223846793005u + 1442695040888963407u;
  return 1 + (size_t)(*s >> 33) % 17;
}

static void same(const outcome *a, const outcome *b) {
  if (a->n != b->n || a->final_rc != b->final_rc) abort();
  for (int i = 0; i < a->n; i++) {
    if (a->kind[i] != b->kind[i] || a->len[i] != b->len[i] ||
        a->hash[i] != b->hash[i]) {
      abort();
    }
  }
  /* Where the stream broke is the same byte however it was split (past
   * MAX_FRAMES the runs stop at piece boundaries, so only compare errors). */
  if (a->final_rc != 0 && a->consumed != b->consumed) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  outcome whole, bytes, pieces;
  decode(data, size, all_at_once, 0, &whole, true);
  decode(data, size, one_byte, 0, &bytes, false);
  decode(data, size, random_piece, fnv1a(data, size), &pieces, false);
  same(&whole, &bytes);
  same(&whole, &pieces);
  return 0;
}
