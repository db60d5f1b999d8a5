/* engine/checkpoint.c — a trainer's state at an epoch boundary as a
 * versioned, checksummed binary, and loading it back into a trainer of the
 * same model (a new one after a restart, or the same one after a cancelled
 * epoch), so that training continues bit-identically.
 *
 * Layout, little-endian (L layers, P parameters, S moving statistics):
 *    0  char[8]  magic "FLCKPT01"
 *    8  u32      format version (3; version 1 ends at the arrays, versions
 *                1 and 2 have 12-byte layers and no statistics)
 *   12  u32      header size H = 88 + 16 L: where the arrays start
 *   16  u32      L
 *   20  u32      optimizer kind (m and v mean something else per optimizer)
 *   24  u64      P
 *   32  u64      step: optimizer steps taken (Adam's bias correction)
 *   40  u32      epoch: epochs completed
 *   44  f32      learning rate (it may have been changed since the start)
 *   48  f64      first_batch_loss (reported with every epoch's metrics)
 *   56  u64[4]   rng state (xoshiro256**: the next epochs' shuffles)
 *   88  L x {u32 in, u32 out, u32 activation, u32 batch normalization:
 *                bit 0 on, bit 1 before the activation, bit 2 center,
 *                bit 3 scale}
 *    H  f32[P]   params, then f32[P] m, then f32[P] v
 * H+12P f32[S]   batch normalization's moving statistics (the layout's)
 *       u32      kept_epoch: epoch of the kept (best) parameters, 0: none
 *       f32[P+S] the kept parameters and statistics, when kept_epoch > 0
 *       u32      N: bytes of the note (the job's callback state), then
 *       u8[N]    the note, without a NUL
 *  end  u32      CRC-32 (zlib's) of every byte before it
 *
 * The permutation is not stored: each epoch draws it afresh from the rng
 * (identity without shuffle). grads and prev are scratch. */
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "engine_internal.h"

#define CKPT_MAGIC "FLCKPT01"
#define CKPT_VERSION 3u
#define CKPT_VERSION_1 1u /* no kept parameters, no note: still read */
#define CKPT_VERSION_2 2u /* 12-byte layers, no statistics: still read */
#define CKPT_NOTE_MAX (1u << 20) /* a note is one line of callback state */
#define CKPT_FIXED 88  /* bytes before the layer table */
#define CKPT_LAYER 16  /* bytes per layer: in, out, activation, bn */
#define CKPT_LAYER_V2 12 /* versions 1 and 2: no bn */
#define CKPT_CRC 4

/* zlib's crc32 takes uInt lengths: feed it in pieces. */
static uint32_t crc32_of(const uint8_t *p, size_t n) {
  uLong crc = crc32(0L, Z_NULL, 0);
  while (n > 0) {
    uInt chunk = n > (1u << 30) ? (1u << 30) : (uInt)n;
    crc = crc32(crc, p, chunk);
    p += chunk;
    n -= chunk;
  }
  return (uint32_t)crc;
}

/* The layer table's batch normalization word. */
static uint32_t bn_flags(const fl_layer_spec *ls) {
  if (!ls->bn) return 0;
  return 1u | (ls->bn_before_act ? 2u : 0) | (ls->bn_center ? 4u : 0) |
         (ls->bn_scale ? 8u : 0);
}

int fl_trainer_save_checkpoint(fl_trainer *t, uint8_t **buf, size_t *len,
                               fl_error *err) {
  *buf = NULL;
  *len = 0;
  if (t->in_epoch)
    return fl_error_set(err, FL_EINVAL,
                        "cannot checkpoint: epoch %d did not finish (it was "
                        "cancelled or failed), so the state is mid-epoch; "
                        "load the last checkpoint or finish an epoch first",
                        t->epoch + 1);
  size_t L = (size_t)t->lay.n_layers, P = t->lay.n_params, S = t->lay.n_stats;
  size_t H = CKPT_FIXED + CKPT_LAYER * L;
  if (P > (SIZE_MAX - H - CKPT_CRC) / 12)
    return fl_error_set(err, FL_ETOOBIG, "%zu parameters are too many to "
                        "checkpoint", P);
  for (size_t l = 0; l < L; l++)
    if (t->lay.l[l].in > UINT32_MAX)
      return fl_error_set(err, FL_ETOOBIG, "layer %zu has %zu inputs; a "
                          "checkpoint stores at most %u", l, t->lay.l[l].in,
                          UINT32_MAX);
  size_t kept = t->kept && t->kept_epoch > 0 ? P + S : 0;
  size_t note = t->note ? strlen(t->note) : 0;
  if (note > CKPT_NOTE_MAX || S > P ||
      P > (SIZE_MAX - H - 8 - CKPT_NOTE_MAX - CKPT_CRC) / 24)
    return fl_error_set(err, FL_ETOOBIG, "cannot checkpoint: the note has %zu "
                        "bytes (at most %u) or the %zu parameters kept twice "
                        "are too many", note, CKPT_NOTE_MAX, P);
  size_t extras = H + 12 * P + 4 * S; /* where kept_epoch goes */
  size_t total = extras + 4 + 4 * kept + 4 + note + CKPT_CRC;
  uint8_t *b = malloc(total);
  float *host = malloc((P + S ? P + S : 1) * sizeof(float));
  if (!b || !host) {
    free(b);
    free(host);
    return fl_error_set(err, FL_ENOMEM, "out of host memory for a %zu-byte "
                        "checkpoint", total);
  }

  memcpy(b, CKPT_MAGIC, 8);
  fl__le_put32(b + 8, CKPT_VERSION);
  fl__le_put32(b + 12, (uint32_t)H);
  fl__le_put32(b + 16, (uint32_t)L);
  fl__le_put32(b + 20, (uint32_t)t->cfg.optimizer.kind);
  fl__le_put64(b + 24, P);
  fl__le_put64(b + 32, (uint64_t)t->step);
  fl__le_put32(b + 40, (uint32_t)t->epoch);
  fl__le_put_floats(b + 44, &t->lr, 1);
  union { double d; uint64_t u; } fbl = {.d = t->first_batch_loss};
  fl__le_put64(b + 48, fbl.u);
  for (int i = 0; i < 4; i++) fl__le_put64(b + 56 + 8 * i, t->rng.s[i]);
  for (size_t l = 0; l < L; l++) {
    uint8_t *p = b + CKPT_FIXED + CKPT_LAYER * l;
    fl__le_put32(p, (uint32_t)t->lay.l[l].in);
    fl__le_put32(p + 4, (uint32_t)t->lay.l[l].out);
    fl__le_put32(p + 8, (uint32_t)t->layers[l].activation);
    fl__le_put32(p + 12, bn_flags(&t->layers[l]));
  }
  /* The reads wait for the queued steps: the state is the finished epoch's. */
  cl_mem arrays[3] = {t->params, t->m, t->v};
  int rc = 0;
  for (int a = 0; a < 3 && !rc; a++) {
    rc = fl__buffer_read(t->dev, arrays[a], 0, P * sizeof(float), host, err);
    if (!rc) fl__le_put_floats(b + H + (size_t)a * 4 * P, host, P);
  }
  if (!rc && S) {
    rc = fl__buffer_read(t->dev, t->stats, 0, S * sizeof(float), host, err);
    if (!rc) fl__le_put_floats(b + H + 12 * P, host, S);
  }
  fl__le_put32(b + extras, (uint32_t)(kept ? t->kept_epoch : 0));
  if (!rc && kept) {
    rc = fl__buffer_read(t->dev, t->kept, 0, kept * sizeof(float), host, err);
    if (!rc) fl__le_put_floats(b + extras + 4, host, kept);
  }
  free(host);
  if (rc) {
    free(b);
    return rc;
  }
  fl__le_put32(b + extras + 4 + 4 * kept, (uint32_t)note);
  if (note) memcpy(b + extras + 8 + 4 * kept, t->note, note);
  fl__le_put32(b + total - CKPT_CRC, crc32_of(b, total - CKPT_CRC));
  *buf = b;
  *len = total;
  return 0;
}

/* Where a checkpoint's parts after the arrays are (versions 2 and 3). */
typedef struct {
  uint32_t version;
  size_t layer_bytes;  /* CKPT_LAYER or CKPT_LAYER_V2 */
  size_t n_stats;      /* S: moving statistics after v (version 3) */
  uint32_t kept_epoch; /* 0: no kept parameters */
  size_t kept_at;      /* offset of the kept f32[P + S] */
  size_t note_at, note_len;
} ckpt_extras;

/* S of a version 3 checkpoint from its layer table: 2 out per layer with
 * batch normalization. The table is inside the checked header. */
static size_t stats_in_table(const uint8_t *buf, uint32_t nl) {
  size_t S = 0;
  for (uint32_t l = 0; l < nl; l++) {
    const uint8_t *p = buf + CKPT_FIXED + CKPT_LAYER * l;
    if (fl__le_get32(p + 12) & 1u) S += 2 * (size_t)fl__le_get32(p + 4);
  }
  return S;
}

/* Checks that the bytes are a whole, intact checkpoint; *H and *P say where
 * its arrays are, *x where the kept parameters and the note are. Nothing
 * about this trainer yet. */
static int check_envelope(const uint8_t *buf, size_t len, size_t *H,
                          size_t *P, ckpt_extras *x, fl_error *err) {
  if (len >= 8 && memcmp(buf, CKPT_MAGIC, 8) != 0)
    return fl_error_set(err, FL_EDATA, "not a flatline checkpoint: the "
                        "file does not start with \"%s\"", CKPT_MAGIC);
  if (len < CKPT_FIXED)
    return fl_error_set(err, FL_EDATA, "checkpoint is truncated: %zu bytes, "
                        "shorter than its %d-byte header", len, CKPT_FIXED);
  uint32_t version = fl__le_get32(buf + 8);
  if (version != CKPT_VERSION && version != CKPT_VERSION_2 &&
      version != CKPT_VERSION_1)
    return fl_error_set(err, FL_EDATA, "checkpoint format version %u is not "
                        "supported; this flatline reads versions %u to %u",
                        version, CKPT_VERSION_1, CKPT_VERSION);
  size_t lb = version == CKPT_VERSION ? CKPT_LAYER : CKPT_LAYER_V2;
  uint32_t nl = fl__le_get32(buf + 16), hs = fl__le_get32(buf + 12);
  if (nl < 1 || nl > FL_MAX_LAYERS)
    return fl_error_set(err, FL_EDATA, "checkpoint header is corrupted: it "
                        "says %u layers (1..%d are possible)", nl,
                        FL_MAX_LAYERS);
  if (hs != CKPT_FIXED + lb * nl)
    return fl_error_set(err, FL_EDATA, "checkpoint header is corrupted: "
                        "header size %u does not fit %u layers (%zu bytes)",
                        hs, nl, CKPT_FIXED + lb * nl);
  if (len < hs + CKPT_CRC)
    return fl_error_set(err, FL_EDATA, "checkpoint is truncated: %zu bytes, "
                        "shorter than its %u-byte header", len, hs);
  uint64_t np = fl__le_get64(buf + 24);
  if (np > (SIZE_MAX - hs - 8 - CKPT_NOTE_MAX - CKPT_CRC) / 24)
    return fl_error_set(err, FL_EDATA, "checkpoint header is corrupted: it "
                        "says %llu parameters", (unsigned long long)np);
  memset(x, 0, sizeof *x);
  x->version = version;
  x->layer_bytes = lb;
  /* 2 out per normalized layer: at most 2 FL_MAX_UNITS FL_MAX_LAYERS */
  x->n_stats = version == CKPT_VERSION ? stats_in_table(buf, nl) : 0;
  size_t arrays = 12 * (size_t)np + 4 * x->n_stats;
  size_t want = hs + arrays + CKPT_CRC;
  if (version != CKPT_VERSION_1) {
    /* Each length is read only once the bytes before it are known to be
     * there; the sizes above keep every sum below SIZE_MAX. */
    size_t at = hs + arrays;
    if (len < at + 4 + CKPT_CRC)
      return fl_error_set(err, FL_EDATA, "checkpoint is truncated: %zu bytes, "
                          "it ends before its kept-parameters field", len);
    x->kept_epoch = fl__le_get32(buf + at);
    x->kept_at = at + 4;
    at += 4 + (x->kept_epoch ? 4 * ((size_t)np + x->n_stats) : 0);
    if (len < at + 4 + CKPT_CRC)
      return fl_error_set(err, FL_EDATA, "checkpoint is truncated: %zu bytes, "
                          "it ends before its note", len);
    x->note_len = fl__le_get32(buf + at);
    if (x->note_len > CKPT_NOTE_MAX)
      return fl_error_set(err, FL_EDATA, "checkpoint is corrupted: its note "
                          "says %zu bytes (at most %u)", x->note_len, CKPT_NOTE_MAX);
    x->note_at = at + 4;
    want = x->note_at + x->note_len + CKPT_CRC;
  }
  if (len < want)
    return fl_error_set(err, FL_EDATA, "checkpoint is truncated: %zu bytes "
                        "of the %zu its header announces", len, want);
  if (len > want)
    return fl_error_set(err, FL_EDATA, "checkpoint has %zu bytes after its "
                        "end (%zu bytes expected)", len - want, want);
  uint32_t stored = fl__le_get32(buf + want - CKPT_CRC);
  uint32_t actual = crc32_of(buf, want - CKPT_CRC);
  if (stored != actual)
    return fl_error_set(err, FL_EDATA, "checkpoint is corrupted: its "
                        "CRC-32 checksum is %08x but the contents give %08x",
                        stored, actual);
  *H = hs;
  *P = (size_t)np;
  return 0;
}

/* The checkpoint must come from this model and optimizer: anything else
 * would load numbers into the wrong places. */
static int check_same_model(const fl_trainer *t, const uint8_t *buf, size_t P,
                            const ckpt_extras *x, fl_error *err) {
  uint32_t nl = fl__le_get32(buf + 16);
  if (nl != (uint32_t)t->lay.n_layers)
    return fl_error_set(err, FL_EINVAL, "checkpoint is of a different model: "
                        "%u layers there, %d here", nl, t->lay.n_layers);
  for (uint32_t l = 0; l < nl; l++) {
    const uint8_t *p = buf + CKPT_FIXED + x->layer_bytes * l;
    uint32_t in = fl__le_get32(p), out = fl__le_get32(p + 4);
    uint32_t act = fl__le_get32(p + 8);
    uint32_t bn = x->layer_bytes == CKPT_LAYER ? fl__le_get32(p + 12) : 0;
    const fl__layer_layout *ll = &t->lay.l[l];
    fl_activation here = t->layers[l].activation;
    if (in != ll->in || out != ll->out || act != (uint32_t)here)
      return fl_error_set(err, FL_EINVAL, "checkpoint is of a different "
                          "model: layer %u is %u -> %u %s there, %zu -> %zu "
                          "%s here", l, in, out,
                          fl_activation_name((fl_activation)act), ll->in,
                          ll->out, fl_activation_name(here));
    if (bn != bn_flags(&t->layers[l]))
      return fl_error_set(err, FL_EINVAL, "checkpoint is of a different "
                          "model: layer %u's batch_normalization differs "
                          "(%s there, %s here)", l,
                          bn ? "present" : "none",
                          t->layers[l].bn ? "present" : "none");
  }
  if (x->n_stats != t->lay.n_stats)
    return fl_error_set(err, FL_EINVAL, "checkpoint is of a different model: "
                        "%zu moving statistics there, %zu here", x->n_stats,
                        t->lay.n_stats);
  if (P != t->lay.n_params) /* implied by the layers; checked all the same */
    return fl_error_set(err, FL_EINVAL, "checkpoint is of a different model: "
                        "%zu parameters there, %zu here", P, t->lay.n_params);
  uint32_t opt = fl__le_get32(buf + 20);
  if (opt != (uint32_t)t->cfg.optimizer.kind)
    return fl_error_set(err, FL_EINVAL, "checkpoint was trained with the %s "
                        "optimizer but this job uses %s; its optimizer state "
                        "would not fit",
                        fl_optimizer_name((fl_optimizer_kind)opt),
                        fl_optimizer_name(t->cfg.optimizer.kind));
  return 0;
}

int fl_trainer_load_checkpoint(fl_trainer *t, const uint8_t *buf, size_t len,
                               fl_error *err) {
  size_t H = 0, P = 0;
  ckpt_extras x;
  int rc;
  char *note = NULL;
  if ((rc = check_envelope(buf, len, &H, &P, &x, err)) ||
      (rc = check_same_model(t, buf, P, &x, err)))
    return rc;
  uint64_t step = fl__le_get64(buf + 32);
  uint32_t epoch = fl__le_get32(buf + 40);
  float lr;
  fl__le_get_floats(&lr, buf + 44, 1);
  union { uint64_t u; double d; } fbl = {.u = fl__le_get64(buf + 48)};
  fl__rng rng;
  for (int i = 0; i < 4; i++) rng.s[i] = fl__le_get64(buf + 56 + 8 * i);
  /* An intact checksum over impossible values: written by something else. */
  if (step > LONG_MAX || epoch > INT_MAX || !(lr > 0.0f) || !isfinite(lr) ||
      (rng.s[0] | rng.s[1] | rng.s[2] | rng.s[3]) == 0)
    return fl_error_set(err, FL_EDATA, "checkpoint holds impossible values "
                        "(step %llu, epoch %u, learning rate %g, rng state "
                        "%s)", (unsigned long long)step, epoch, (double)lr,
                        (rng.s[0] | rng.s[1] | rng.s[2] | rng.s[3]) ? "set" : "all zero");

  if (x.kept_epoch > INT_MAX || x.kept_epoch > epoch || memchr(buf + x.note_at, 0, x.note_len))
    return fl_error_set(err, FL_EDATA, "checkpoint holds impossible values "
                        "(parameters kept at epoch %u of %u, or a NUL in its "
                        "note)", x.kept_epoch, epoch);
  if (x.note_len && !(note = malloc(x.note_len + 1)))
    return fl_error_set(err, FL_ENOMEM, "out of host memory");
  if (note) {
    memcpy(note, buf + x.note_at, x.note_len);
    note[x.note_len] = '\0';
  }
  size_t S = x.n_stats;
  if (x.kept_epoch && !t->kept &&
      (rc = fl__buffer_create(t->dev, (P + S) * sizeof(float), NULL, &t->kept,
                              err))) {
    free(note);
    return rc;
  }
  float *host = malloc((P + S ? P + S : 1) * sizeof(float));
  if (!host) {
    free(note);
    return fl_error_set(err, FL_ENOMEM, "out of host memory");
  }
  /* params, m, v (P each), the statistics (S), the kept copy (P + S) */
  cl_mem arrays[5] = {t->params, t->m, t->v, t->stats, t->kept};
  const uint8_t *from[5] = {buf + H, buf + H + 4 * P, buf + H + 8 * P,
                            buf + H + 12 * P, buf + x.kept_at};
  size_t count[5] = {P, P, P, S, P + S};
  for (int a = 0; a < 5 && !rc; a++) {
    if (count[a] == 0 || (a == 4 && !x.kept_epoch)) continue;
    fl__le_get_floats(host, from[a], count[a]);
    /* Blocking write: host is reused for the next array. */
    rc = fl__buffer_write(t->dev, arrays[a], 0, count[a] * sizeof(float),
                          host, err);
  }
  free(host);
  if (rc) free(note);
  if (rc) {
    fl_error_prefix(err, "loading a checkpoint (the trainer's state is now "
                    "undefined)");
    return rc;
  }
  t->step = (long)step;
  t->epoch = (int)epoch;
  t->lr = lr;
  t->first_batch_loss = fbl.d;
  t->rng = rng;
  t->in_epoch = false;
  t->kept_epoch = (int)x.kept_epoch;
  free(t->note);
  t->note = note;
  return 0;
}
