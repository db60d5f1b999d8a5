/* tests/test_frame.c — cmocka tests of the wire frame decoder and header
 * encoder (protocol/frame.c): the header's byte order, a stream of frames
 * fed one byte at a time, all at once and in random pieces, the exact caps
 * (1 MiB JSON and 4 MiB binary pass, one byte more fails before anything is
 * allocated), unknown kinds, and zero-length frames. */
/* cmocka.h needs these four first */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "flatline/protocol.h"

/* ---- a byte stream of frames ------------------------------------------- */

typedef struct {
  uint8_t *bytes;
  size_t len;
} stream;

static void stream_add(stream *s, uint8_t kind, const void *payload,
                       size_t len) {
  s->bytes = realloc(s->bytes, s->len + FL_FRAME_HEADER + len);
  assert_non_null(s->bytes);
  fl_frame_header(kind, (uint32_t)len, s->bytes + s->len);
  if (len) memcpy(s->bytes + s->len + FL_FRAME_HEADER, payload, len);
  s->len += FL_FRAME_HEADER + len;
}

/* What a decoded frame was, kept past the next decode call. */
typedef struct {
  uint8_t kind;
  size_t len;
  uint8_t *data;
} frame_copy;

#define MAX_FRAMES 16

typedef struct {
  frame_copy frames[MAX_FRAMES];
  int n;
} frame_log;

static void log_frame(frame_log *log, const fl_frame *f) {
  assert_true(log->n < MAX_FRAMES);
  assert_non_null(f->data); /* even for a zero-length frame */
  frame_copy *c = &log->frames[log->n++];
  c->kind = f->kind;
  c->len = f->len;
  c->data = malloc(f->len ? f->len : 1);
  assert_non_null(c->data);
  if (f->len) memcpy(c->data, f->data, f->len);
}

static void log_free(frame_log *log) {
  for (int i = 0; i < log->n; i++) free(log->frames[i].data);
  log->n = 0;
}

/* Feeds s in pieces whose sizes come from next_piece (0: the rest), the
 * way a read loop does: call, advance by *used, until the piece is gone. */
static void feed(const stream *s, size_t (*next_piece)(unsigned *state),
                 unsigned seed, frame_log *log) {
  fl_frame_decoder d;
  fl_frame_decoder_init(&d);
  unsigned state = seed;
  size_t at = 0;
  while (at < s->len) {
    size_t piece = next_piece(&state);
    if (piece == 0 || piece > s->len - at) piece = s->len - at;
    const uint8_t *p = s->bytes + at;
    size_t left = piece;
    do {
      size_t used = 0;
      fl_frame f;
      fl_error err;
      int rc = fl_frame_decode(&d, p, left, &used, &f, &err);
      if (rc < 0) fail_msg("unexpected decode error: %s", err.msg);
      assert_true(used <= left);
      if (rc == 0) assert_int_equal(used, left); /* 0: all consumed */
      if (rc == 1) log_frame(log, &f);
      p += used;
      left -= used;
    } while (left > 0);
    at += piece;
  }
  assert_int_equal(d.header_have, 0); /* nothing left half-read */
  fl_frame_decoder_free(&d);
}

static size_t one_byte(unsigned *state) {
  (void)state;
  return 1;
}

static size_t everything(unsigned *state) {
  (void)state;
  return 0;
}

static size_t random_piece(unsigned *state) {
  *state = *state * 1103515245u + 12345u;
  return 1 + (*state >> 16) % 23;
}

/* Four frames: JSON, binary with every byte value, an empty binary chunk,
 * an empty JSON frame. */
static void sample_stream(stream *s, uint8_t *binary, size_t binary_len) {
  static const char json[] = "{\"type\":\"list\",\"id\":1}";
  for (size_t i = 0; i < binary_len; i++) binary[i] = (uint8_t)(i * 7 + 3);
  stream_add(s, FL_FRAME_JSON, json, strlen(json));
  stream_add(s, FL_FRAME_BINARY, binary, binary_len);
  stream_add(s, FL_FRAME_BINARY, NULL, 0);
  stream_add(s, FL_FRAME_JSON, NULL, 0);
}

static void check_sample(const frame_log *log, const uint8_t *binary,
                         size_t binary_len) {
  static const char json[] = "{\"type\":\"list\",\"id\":1}";
  assert_int_equal(log->n, 4);
  assert_int_equal(log->frames[0].kind, FL_FRAME_JSON);
  assert_int_equal(log->frames[0].len, strlen(json));
  assert_memory_equal(log->frames[0].data, json, strlen(json));
  assert_int_equal(log->frames[1].kind, FL_FRAME_BINARY);
  assert_int_equal(log->frames[1].len, binary_len);
  assert_memory_equal(log->frames[1].data, binary, binary_len);
  assert_int_equal(log->frames[2].kind, FL_FRAME_BINARY);
  assert_int_equal(log->frames[2].len, 0);
  assert_int_equal(log->frames[3].kind, FL_FRAME_JSON);
  assert_int_equal(log->frames[3].len, 0);
}

/* ---- tests ------------------------------------------------------------- */

static void test_header_encoding(void **state) {
  (void)state;
  uint8_t h[FL_FRAME_HEADER];
  fl_frame_header(FL_FRAME_BINARY, 0x01020304u, h);
  const uint8_t want[] = {0x01, 0x02, 0x03, 0x04, 0x01};
  assert_memory_equal(h, want, sizeof want);
  fl_frame_header(FL_FRAME_JSON, 0xFFFFFFFFu, h);
  const uint8_t want_max[] = {0xFF, 0xFF, 0xFF, 0xFF, 0x00};
  assert_memory_equal(h, want_max, sizeof want_max);
  fl_frame_header(FL_FRAME_JSON, 300, h);
  const uint8_t want_300[] = {0x00, 0x00, 0x01, 0x2C, 0x00};
  assert_memory_equal(h, want_300, sizeof want_300);
}

static void test_byte_at_a_time(void **state) {
  (void)state;
  uint8_t binary[1000];
  stream s = {0};
  sample_stream(&s, binary, sizeof binary);
  frame_log log = {0};
  feed(&s, one_byte, 0, &log);
  check_sample(&log, binary, sizeof binary);
  log_free(&log);
  free(s.bytes);
}

static void test_many_frames_in_one_buffer(void **state) {
  (void)state;
  uint8_t binary[70000]; /* more than one read's worth */
  stream s = {0};
  sample_stream(&s, binary, sizeof binary);

  /* One call returns one frame and says how far it read. */
  fl_frame_decoder d;
  fl_frame_decoder_init(&d);
  fl_frame f;
  fl_error err;
  size_t used = 0;
  assert_int_equal(fl_frame_decode(&d, s.bytes, s.len, &used, &f, &err), 1);
  assert_int_equal(used, FL_FRAME_HEADER + f.len);
  assert_int_equal(f.kind, FL_FRAME_JSON);
  fl_frame_decoder_free(&d);

  frame_log log = {0};
  feed(&s, everything, 0, &log);
  check_sample(&log, binary, sizeof binary);
  log_free(&log);
  free(s.bytes);
}

static void test_random_pieces(void **state) {
  (void)state;
  uint8_t binary[5000];
  stream s = {0};
  sample_stream(&s, binary, sizeof binary);
  for (unsigned seed = 1; seed <= 50; seed++) {
    frame_log log = {0};
    feed(&s, random_piece, seed, &log);
    check_sample(&log, binary, sizeof binary);
    log_free(&log);
  }
  free(s.bytes);
}

/* A frame of exactly len bytes of kind decodes (fed in one go). */
static void expect_frame_ok(uint8_t kind, size_t len) {
  stream s = {0};
  uint8_t *payload = malloc(len);
  assert_non_null(payload);
  memset(payload, 'x', len);
  payload[len - 1] = 'z';
  stream_add(&s, kind, payload, len);
  fl_frame_decoder d;
  fl_frame_decoder_init(&d);
  fl_frame f;
  fl_error err;
  size_t used = 0;
  int rc = fl_frame_decode(&d, s.bytes, s.len, &used, &f, &err);
  if (rc != 1)
    fail_msg("a %zu-byte frame of kind %u: %d %s", len, kind, rc, err.msg);
  assert_int_equal(used, s.len);
  assert_int_equal(f.len, len);
  assert_int_equal(f.data[len - 1], 'z');
  /* The buffer grows to the frame, not without bound. */
  assert_true(d.payload_cap >= len && d.payload_cap <= FL_FRAME_MAX_BINARY);
  fl_frame_decoder_free(&d);
  free(payload);
  free(s.bytes);
}

/* A header announcing len bytes of kind fails with code before any payload
 * memory exists, and keeps failing. */
static void expect_header_rejected(uint8_t kind, uint32_t len, int code,
                                   const char *phrase) {
  uint8_t h[FL_FRAME_HEADER + 3];
  fl_frame_header(kind, len, h);
  memset(h + FL_FRAME_HEADER, 'x', 3);
  fl_frame_decoder d;
  fl_frame_decoder_init(&d);
  fl_frame f;
  fl_error err = {0};
  size_t used = 99;
  /* The first four bytes are only a partial header. */
  assert_int_equal(fl_frame_decode(&d, h, 4, &used, &f, &err), 0);
  assert_int_equal(used, 4);
  int rc = fl_frame_decode(&d, h + 4, sizeof h - 4, &used, &f, &err);
  assert_int_equal(rc, code);
  assert_int_equal(err.code, code);
  if (!strstr(err.msg, phrase))
    fail_msg("\"%s\" lacks \"%s\"", err.msg, phrase);
  assert_int_equal(used, 1); /* the kind byte, no payload */
  assert_null(d.payload);
  assert_int_equal(d.payload_cap, 0);
  /* Sticky: a broken stream does not resynchronise on garbage. */
  rc = fl_frame_decode(&d, h + FL_FRAME_HEADER, 3, &used, &f, &err);
  assert_int_equal(rc, code);
  assert_null(d.payload);
  fl_frame_decoder_free(&d);
}

static void test_json_cap(void **state) {
  (void)state;
  expect_frame_ok(FL_FRAME_JSON, FL_FRAME_MAX_JSON);
  expect_header_rejected(FL_FRAME_JSON, FL_FRAME_MAX_JSON + 1, FL_ETOOBIG,
                         "1048577 bytes exceeds the limit of 1048576");
  expect_header_rejected(FL_FRAME_JSON, 0xFFFFFFFFu, FL_ETOOBIG, "JSON frame");
}

static void test_binary_cap(void **state) {
  (void)state;
  expect_frame_ok(FL_FRAME_BINARY, FL_FRAME_MAX_BINARY);
  expect_header_rejected(FL_FRAME_BINARY, FL_FRAME_MAX_BINARY + 1, FL_ETOOBIG,
                         "binary chunk of 4194305 bytes");
  /* Binary allows more than JSON: 2 MiB is a fine chunk. */
  expect_frame_ok(FL_FRAME_BINARY, 2u << 20);
}

static void test_unknown_kind(void **state) {
  (void)state;
  expect_header_rejected(2, 10, FL_EPARSE, "unknown frame kind 2");
  expect_header_rejected(255, 0, FL_EPARSE, "unknown frame kind 255");
  /* An unknown kind is reported even when its length is also too big. */
  expect_header_rejected(7, 0xFFFFFFFFu, FL_EPARSE, "kind 7");
}

static void test_zero_length_frames(void **state) {
  (void)state;
  stream s = {0};
  stream_add(&s, FL_FRAME_JSON, NULL, 0);
  fl_frame_decoder d;
  fl_frame_decoder_init(&d);
  fl_frame f;
  fl_error err;
  size_t used = 0;
  assert_int_equal(fl_frame_decode(&d, s.bytes, s.len, &used, &f, &err), 1);
  assert_int_equal(used, FL_FRAME_HEADER);
  assert_int_equal(f.len, 0);
  assert_non_null(f.data);
  /* The frame is fine; as a request it is not. */
  fl_request r;
  assert_int_equal(fl_request_parse(f.data, f.len, &r, &err), FL_EPARSE);
  assert_non_null(strstr(err.msg, "empty JSON frame"));
  fl_request_free(&r);
  fl_frame_decoder_free(&d);
  free(s.bytes);
}

/* The payload buffer is reused: it grows to the largest frame seen. */
static void test_buffer_reuse(void **state) {
  (void)state;
  stream s = {0};
  uint8_t big[3000], small[10];
  memset(big, 'b', sizeof big);
  memset(small, 's', sizeof small);
  stream_add(&s, FL_FRAME_BINARY, small, sizeof small);
  stream_add(&s, FL_FRAME_BINARY, big, sizeof big);
  stream_add(&s, FL_FRAME_BINARY, small, sizeof small);
  fl_frame_decoder d;
  fl_frame_decoder_init(&d);
  const uint8_t *p = s.bytes;
  size_t left = s.len, caps[3];
  for (int i = 0; i < 3; i++) {
    fl_frame f;
    fl_error err;
    size_t used;
    assert_int_equal(fl_frame_decode(&d, p, left, &used, &f, &err), 1);
    assert_int_equal(f.data[0], i == 1 ? 'b' : 's');
    caps[i] = d.payload_cap;
    p += used;
    left -= used;
  }
  assert_int_equal(left, 0);
  assert_true(caps[1] >= sizeof big);
  assert_int_equal(caps[2], caps[1]);
  fl_frame_decoder_free(&d);
  fl_frame_decoder_free(&d); /* twice is fine */
  free(s.bytes);
}

/* Nothing to read: 0, nothing used. */
static void test_empty_input(void **state) {
  (void)state;
  fl_frame_decoder d;
  fl_frame_decoder_init(&d);
  fl_frame f;
  fl_error err;
  size_t used = 7;
  uint8_t b = 0;
  assert_int_equal(fl_frame_decode(&d, &b, 0, &used, &f, &err), 0);
  assert_int_equal(used, 0);
  assert_int_equal(d.header_have, 0);
  fl_frame_decoder_free(&d);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_header_encoding),
      cmocka_unit_test(test_byte_at_a_time),
      cmocka_unit_test(test_many_frames_in_one_buffer),
      cmocka_unit_test(test_random_pieces),
      cmocka_unit_test(test_json_cap),
      cmocka_unit_test(test_binary_cap),
      cmocka_unit_test(test_unknown_kind),
      cmocka_unit_test(test_zero_length_frames),
      cmocka_unit_test(test_buffer_reuse),
      cmocka_unit_test(test_empty_input),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
