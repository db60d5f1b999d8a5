/* engine/init.c — seeded randomness (xoshiro256** seeded by splitmix64) and
 * the Keras initializers. Everything random in a job comes from here, on the
 * host, so a seed gives the same run on every device. */
#include <math.h>

#include "engine_internal.h"

static uint64_t splitmix64(uint64_t *x) {
  uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

void fl__rng_seed(fl__rng *r, uint64_t seed) {
  for (int i = 0; i < 4; i++) r->s[i] = splitmix64(&seed);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t fl__rng_next(fl__rng *r) {
  uint64_t *s = r->s;
  uint64_t out = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = rotl(s[3], 45);
  return out;
}

double fl__rng_uniform(fl__rng *r) {
  return (double)(fl__rng_next(r) >> 11) * 0x1.0p-53;
}

double fl__rng_normal(fl__rng *r) {
  /* Box-Muller, one value per call: simpler state, speed is irrelevant. */
  double u1 = fl__rng_uniform(r), u2 = fl__rng_uniform(r);
  if (u1 < 1e-300) u1 = 1e-300;
  return sqrt(-2.0 * log(u1)) * cos(6.283185307179586476925 * u2);
}

uint32_t fl__rng_below(fl__rng *r, uint32_t n) {
  /* Lemire's multiply-shift with rejection: no modulo bias. */
  uint64_t m = (uint64_t)(uint32_t)fl__rng_next(r) * n;
  uint32_t lo = (uint32_t)m;
  if (lo < n) {
    uint32_t thresh = (uint32_t)(-n) % n;
    while (lo < thresh) {
      m = (uint64_t)(uint32_t)fl__rng_next(r) * n;
      lo = (uint32_t)m;
    }
  }
  return (uint32_t)(m >> 32);
}

/* Keras' truncated normal: redraw beyond 2 stddev. */
static double truncated_normal(fl__rng *r) {
  for (;;) {
    double x = fl__rng_normal(r);
    if (fabs(x) <= 2.0) return x;
  }
}

/* stddev of N(0,1) truncated at ±2: Keras divides by it so that the
 * truncated draw has the intended variance. */
#define FL__TRUNC_STD 0.87962566103423978

void fl__init_fill(const fl_initializer *init, size_t fan_in, size_t fan_out,
                   fl__rng *rng, float *out, size_t count) {
  double fi = (double)fan_in, fo = (double)fan_out, lim, sd;
  switch (init->kind) {
    case FL_INIT_ZEROS:
    case FL_INIT_ONES:
    case FL_INIT_CONSTANT: {
      float v = init->kind == FL_INIT_ZEROS  ? 0.0f
                : init->kind == FL_INIT_ONES ? 1.0f
                                             : init->param;
      for (size_t i = 0; i < count; i++) out[i] = v;
      return;
    }
    case FL_INIT_GLOROT_UNIFORM: lim = sqrt(6.0 / (fi + fo)); goto uniform;
    case FL_INIT_HE_UNIFORM: lim = sqrt(6.0 / fi); goto uniform;
    case FL_INIT_RANDOM_UNIFORM: lim = init->param; goto uniform;
    case FL_INIT_GLOROT_NORMAL: sd = sqrt(2.0 / (fi + fo)) / FL__TRUNC_STD; goto trunc;
    case FL_INIT_HE_NORMAL: sd = sqrt(2.0 / fi) / FL__TRUNC_STD; goto trunc;
    case FL_INIT_RANDOM_NORMAL:
      for (size_t i = 0; i < count; i++)
        out[i] = (float)(init->param * fl__rng_normal(rng));
      return;
  }
  return;
uniform:
  for (size_t i = 0; i < count; i++)
    out[i] = (float)((2.0 * fl__rng_uniform(rng) - 1.0) * lim);
  return;
trunc:
  for (size_t i = 0; i < count; i++) out[i] = (float)(sd * truncated_normal(rng));
}

void fl__init_params(const fl_train_config *cfg, const fl__model_layout *lay,
                     fl__rng *rng, float *params) {
  for (int i = 0; i < lay->n_layers; i++) {
    const fl__layer_layout *l = &lay->l[i];
    /* Keras' fans: a Dense kernel (in, out) has in and out; a Conv2D
     * kernel (kh, kw, cin, filters) has kh*kw*cin and kh*kw*filters. */
    size_t field = l->conv ? l->w_rows / (size_t)l->shape.c : 1;
    fl__init_fill(&cfg->layers[i].kernel_init, l->w_rows, field * l->units,
                  rng, params + l->w_off, l->w_rows * l->units);
    /* A bias vector's fans are both its length, as in Keras. */
    fl__init_fill(&cfg->layers[i].bias_init, l->units, l->units, rng,
                  params + l->b_off, l->units);
    /* Keras' BatchNormalization: gamma ones, beta zeros (no draws, so the
     * other layers' values do not depend on whether a layer is normalized) */
    for (size_t j = 0; l->gamma_off != FL__NO_OFF && j < l->out; j++)
      params[l->gamma_off + j] = 1.0f;
    for (size_t j = 0; l->beta_off != FL__NO_OFF && j < l->out; j++)
      params[l->beta_off + j] = 0.0f;
  }
}

void fl__init_stats(const fl__model_layout *lay, float *stats) {
  /* moving_mean zeros, moving_variance ones (Keras) */
  for (int i = 0; i < lay->n_layers; i++) {
    const fl__layer_layout *l = &lay->l[i];
    if (l->stat_off == FL__NO_OFF) continue;
    for (size_t j = 0; j < l->out; j++) {
      stats[l->stat_off + j] = 0.0f;
      stats[l->stat_off + l->out + j] = 1.0f;
    }
  }
}
