/* protocol/frame.c — owns the wire framing of docs/protocol.md: the
 * incremental frame decoder (bytes in, whole frames out) and the 5-byte
 * frame header encoder.
 *
 * A frame is [4-byte big-endian payload length][1 kind byte][payload]. The
 * decoder is fed whatever a read returned — one byte, or several frames at
 * once — and hands back one frame per call, so a caller loops:
 *
 *   while (len > 0) {
 *     rc = fl_frame_decode(&d, buf, len, &used, &frame, &err);
 *     buf += used; len -= used;
 *     if (rc < 0) { reply with err.msg, close; }
 *     if (rc == 1) { handle frame; }
 *   }
 *
 * The header is judged (kind known, length under that kind's cap) before a
 * byte of payload memory is allocated, so a peer announcing 4 GiB costs
 * nothing. A zero-length frame is a frame: an empty JSON payload is the
 * request parser's to reject, an empty binary chunk is allowed. */
#include <stdlib.h>
#include <string.h>

#include "flatline/protocol.h"

/* Smallest payload buffer: avoids a realloc per byte of growth for the
 * small JSON frames that make up most traffic. */
#define PAYLOAD_MIN_CAP 256u

/* Non-NULL data for a zero-length frame read before any buffer exists. */
static const uint8_t empty_payload[1];

void fl_frame_decoder_init(fl_frame_decoder *d) { memset(d, 0, sizeof *d); }

void fl_frame_decoder_free(fl_frame_decoder *d) {
  if (!d) return;
  free(d->payload);
  memset(d, 0, sizeof *d);
}

void fl_frame_header(uint8_t kind, uint32_t len, uint8_t out[FL_FRAME_HEADER]) {
  out[0] = (uint8_t)(len >> 24);
  out[1] = (uint8_t)(len >> 16);
  out[2] = (uint8_t)(len >> 8);
  out[3] = (uint8_t)len;
  out[4] = kind;
}

/* Judges a complete header; sets d->len and d->kind. Called again on every
 * later call while the header stands, so a rejected header keeps failing
 * (the decoder is not usable after an error, and must not look usable). */
static int check_header(fl_frame_decoder *d, fl_error *err) {
  const uint8_t *h = d->header;
  uint32_t len = (uint32_t)h[0] << 24 | (uint32_t)h[1] << 16 |
                 (uint32_t)h[2] << 8 | (uint32_t)h[3];
  uint8_t kind = h[4];
  d->kind = kind;
  d->len = len;
  if (kind == FL_FRAME_JSON) {
    if (len > FL_FRAME_MAX_JSON) {
      return fl_error_set(err, FL_ETOOBIG,
                          "frame: a JSON frame of %u bytes exceeds the limit "
                          "of %u bytes",
                          (unsigned)len, (unsigned)FL_FRAME_MAX_JSON);
    }
  } else if (kind == FL_FRAME_BINARY) {
    if (len > FL_FRAME_MAX_BINARY) {
      return fl_error_set(err, FL_ETOOBIG,
                          "frame: a binary chunk of %u bytes exceeds the "
                          "limit of %u bytes (send larger data in several "
                          "chunks)",
                          (unsigned)len, (unsigned)FL_FRAME_MAX_BINARY);
    }
  } else {
    return fl_error_set(err, FL_EPARSE,
                        "frame: unknown frame kind %u (expected 0 for JSON "
                        "or 1 for binary)",
                        (unsigned)kind);
  }
  return 0;
}

/* Makes room for d->len payload bytes; d->len is already capped, so the
 * rounded capacity stays within FL_FRAME_MAX_BINARY (a power of two). */
static int reserve_payload(fl_frame_decoder *d, fl_error *err) {
  if (d->len <= d->payload_cap) return 0;
  size_t cap = PAYLOAD_MIN_CAP;
  while (cap < d->len) cap *= 2;
  uint8_t *grown = realloc(d->payload, cap);
  if (!grown) {
    return fl_error_set(err, FL_ENOMEM,
                        "frame: cannot allocate %zu bytes for a frame", cap);
  }
  d->payload = grown;
  d->payload_cap = cap;
  return 0;
}

int fl_frame_decode(fl_frame_decoder *d, const uint8_t *buf, size_t len,
                    size_t *used, fl_frame *frame, fl_error *err) {
  size_t at = 0;
  *used = 0;
  if (!buf && len > 0) {
    return fl_error_set(err, FL_EINVAL, "fl_frame_decode: buf is NULL");
  }

  if (d->header_have < FL_FRAME_HEADER) {
    size_t take = FL_FRAME_HEADER - d->header_have;
    if (take > len) take = len;
    if (take) memcpy(d->header + d->header_have, buf, take);
    d->header_have += take;
    at += take;
    *used = at;
    if (d->header_have < FL_FRAME_HEADER) return 0;
  }

  int rc = check_header(d, err);
  if (rc) return rc;
  if ((rc = reserve_payload(d, err))) return rc;

  size_t take = d->len - d->payload_have;
  if (take > len - at) take = len - at;
  if (take) memcpy(d->payload + d->payload_have, buf + at, take);
  d->payload_have += take;
  at += take;
  *used = at;
  if (d->payload_have < d->len) return 0;

  frame->kind = d->kind;
  frame->len = d->len;
  frame->data = d->payload ? d->payload : empty_payload;
  /* Ready for the next header; the payload buffer stays for reuse and
   * keeps this frame's bytes until the next call overwrites them. */
  d->header_have = 0;
  d->payload_have = 0;
  return 1;
}
