/* kernels/gemm_tiled.cl — the GEMMs flatline uses on CPU devices (POCL),
 * where CLBlast's work-group-shaped kernels run far below the core's FMA
 * rate. One work-item computes one tile of C with the tile's accumulators
 * in vector registers: the register-blocked "micro-kernel" of CPU BLAS
 * libraries, written so that POCL's LLVM keeps it in AVX registers (the
 * loops over the tile are fully unrolled; the work-group is one item, so
 * POCL adds no work-item loop around it).
 *
 *   C (M, N) = alpha op(A) op(B) + beta C, row-major, offsets in elements
 *   gemm_nn_*: A (M, K), B (K, N)            forward: X · W
 *   gemm_tn_*: A stored (K, M), B (K, N)     weight gradient: X^T · dZ
 *   gemm_nt:   A (M, K), B stored (N, K)     input gradient: dZ · W^T
 *
 * NN/TN tiles are MR rows x 8*NV columns: per k, NV vector loads of B's
 * row and MR broadcasts of A feed MR*NV fused multiply-adds. Tiles are
 * numbered with M fastest, so work-items that run one after another on a
 * core share B's column panel (K x 8*NV floats) in its caches. Edge tiles
 * clamp A's row index (computing a few rows twice, storing them once) and
 * load B's last columns lane by lane. With beta == 0, C is not read (it may
 * hold NaN from an earlier use of the buffer).
 *
 * gemm_nt tiles are 3 x 3 dot products along K, vectorised 8 wide over K:
 * both operands are then read contiguously. A work-item walks a strip of
 * FL_NT_STRIP tiles along N: with a small K (10 classes) a tile is a few
 * dozen instructions, and one work-group per tile would cost more in
 * POCL's per-group overhead than the arithmetic.
 *
 * Epilogues, so that a dense layer's pass is one launch, not two:
 *   gemm_nn_*: with act >= 0, C = act(alpha A B + beta C + bias), bias (N)
 *              at bias_off (the forward pass: z = x W + b, a = act(z));
 *   gemm_nt:   with act >= 0, C *= act'(from aout), aout laid out as C
 *              (the backward pass into the previous layer's activation).
 * act < 0 means none; gemm_tn_* ignores it. Softmax never comes here (it is
 * row-wise; the host passes -1 and runs softmax.cl). */

inline float8 fl_act8(int act, float8 x) {
  switch (act) {
    case FL_ACT_RELU: return fmax(x, 0.0f);
    case FL_ACT_LEAKY_RELU: return select(FL_LEAKY_SLOPE * x, x, x > 0.0f);
    case FL_ACT_TANH: return tanh(x);
    case FL_ACT_SIGMOID: return 1.0f / (1.0f + exp(-x));
    default: return x;
  }
}

inline float8 fl_load8_edge(__global const float *p, uint valid) {
  float t[8];
  _Pragma("unroll") for (uint l = 0; l < 8; l++) t[l] = l < valid ? p[l] : 0.0f;
  return vload8(0, t);
}

/* p[0 .. valid) = act(alpha acc + beta p + add); act < 0: no activation. */
inline void fl_store8(float8 acc, __global float *p, uint valid, float alpha,
                      float beta, float8 add, int act) {
  float8 v = alpha * acc;
  if (beta != 0.0f) v += beta * (valid >= 8 ? vload8(0, p) : fl_load8_edge(p, valid));
  v += add;
  if (act >= 0) v = fl_act8(act, v);
  if (valid >= 8) {
    vstore8(v, 0, p);
    return;
  }
  float t[8];
  vstore8(v, 0, t);
  for (uint l = 0; l < valid; l++) p[l] = t[l];
}

/* The tile loop of NN (TA 0) and TN (TA 1), for full-width tiles (LOAD =
 * vload8) and the right edge (LOAD = fl_load8_edge). */
#define FL_TILE_LOOP(MR, NV, TA, LOADB)                                      \
  for (uint k = 0; k < K; k++) {                                             \
    float8 bv[NV];                                                           \
    __global const float *brow = B + b_off + (size_t)k * ldb + j0;           \
    _Pragma("unroll") for (int v = 0; v < NV; v++) bv[v] = LOADB;            \
    _Pragma("unroll") for (int r = 0; r < MR; r++) {                         \
      float8 av = (float8)(TA ? A[a_off + (size_t)k * lda + row[r]]          \
                              : A[a_off + (size_t)row[r] * lda + k]);        \
      _Pragma("unroll") for (int v = 0; v < NV; v++)                         \
          acc[r][v] = fma(av, bv[v], acc[r][v]);                             \
    }                                                                        \
  }

#define FL_GEMM_TILED(NAME, MR, NV, TA)                                      \
  __attribute__((reqd_work_group_size(1, 1, 1)))                             \
  __kernel void NAME(uint M, uint N, uint K, float alpha,                    \
                     __global const float *A, uint a_off, uint lda,          \
                     __global const float *B, uint b_off, uint ldb,          \
                     float beta, __global float *C, uint c_off, uint ldc,    \
                     __global const float *bias, uint bias_off, int act) {   \
    uint mt = (M + MR - 1) / MR, g = get_global_id(0);                       \
    uint i0 = (g % mt) * MR, j0 = (g / mt) * (8 * NV);                       \
    if (i0 >= M || j0 >= N) return;                                          \
    uint row[MR];                                                            \
    _Pragma("unroll") for (int r = 0; r < MR; r++)                           \
        row[r] = min(i0 + (uint)r, M - 1);                                   \
    float8 acc[MR][NV];                                                      \
    _Pragma("unroll") for (int r = 0; r < MR; r++)                           \
        _Pragma("unroll") for (int v = 0; v < NV; v++) acc[r][v] = 0.0f;     \
    if (j0 + 8 * NV <= N) {                                                  \
      FL_TILE_LOOP(MR, NV, TA, vload8(v, brow))                              \
    } else {                                                                 \
      FL_TILE_LOOP(MR, NV, TA,                                               \
                   fl_load8_edge(brow + 8 * v,                               \
                                 j0 + 8 * v < N ? N - j0 - 8 * v : 0))       \
    }                                                                        \
    float8 add[NV];                                                          \
    _Pragma("unroll") for (int v = 0; v < NV; v++) {                         \
      uint j = j0 + 8 * v;                                                   \
      add[v] = act >= 0 && !TA && j < N                                      \
                   ? fl_load8_edge(bias + bias_off + j, N - j)               \
                   : 0.0f;                                                   \
    }                                                                        \
    _Pragma("unroll") for (int r = 0; r < MR; r++) {                         \
      if (i0 + r >= M) break;                                                \
      _Pragma("unroll") for (int v = 0; v < NV; v++) {                       \
        uint j = j0 + 8 * v;                                                 \
        if (j < N)                                                           \
          fl_store8(acc[r][v], C + c_off + (size_t)(i0 + r) * ldc + j,       \
                    N - j, alpha, beta, add[v], TA ? -1 : act);              \
      }                                                                      \
    }                                                                        \
  }

/* The variants `flatlined --tune` chooses from (engine/tune.c); the names
 * say rows x columns of a tile. Keep in step with FL_GEMM_VARIANTS in
 * engine/engine_internal.h. */
FL_GEMM_TILED(gemm_nn_6x16, 6, 2, 0)
FL_GEMM_TILED(gemm_nn_8x8, 8, 1, 0)
FL_GEMM_TILED(gemm_nn_4x16, 4, 2, 0)
FL_GEMM_TILED(gemm_tn_6x16, 6, 2, 1)
FL_GEMM_TILED(gemm_tn_8x8, 8, 1, 1)
FL_GEMM_TILED(gemm_tn_4x16, 4, 2, 1)

inline float fl_hsum8(float8 v) {
  float4 s = v.lo + v.hi;
  float2 t = s.lo + s.hi;
  return t.x + t.y;
}

#define FL_NT 3
#define FL_NT_STRIP 16 /* tiles per work-item along N (see the header) */
__attribute__((reqd_work_group_size(1, 1, 1)))
__kernel void gemm_nt(uint M, uint N, uint K, float alpha,
                      __global const float *A, uint a_off, uint lda,
                      __global const float *B, uint b_off, uint ldb,
                      float beta, __global float *C, uint c_off, uint ldc,
                      __global const float *aout, int act) {
  uint mt = (M + FL_NT - 1) / FL_NT, g = get_global_id(0);
  uint i0 = (g % mt) * FL_NT, jb = (g / mt) * (FL_NT * FL_NT_STRIP);
  if (i0 >= M || jb >= N) return;
  __global const float *a[FL_NT];
  _Pragma("unroll") for (int r = 0; r < FL_NT; r++)
      a[r] = A + a_off + (size_t)min(i0 + (uint)r, M - 1) * lda;
  uint k8 = K & ~7u;
  uint jend = min(jb + FL_NT * FL_NT_STRIP, N);
  for (uint j0 = jb; j0 < jend; j0 += FL_NT) {
    __global const float *b[FL_NT];
    _Pragma("unroll") for (int c = 0; c < FL_NT; c++)
        b[c] = B + b_off + (size_t)min(j0 + (uint)c, N - 1) * ldb;
    float8 acc[FL_NT][FL_NT];
    _Pragma("unroll") for (int r = 0; r < FL_NT; r++)
        _Pragma("unroll") for (int c = 0; c < FL_NT; c++) acc[r][c] = 0.0f;
    for (uint k = 0; k < k8; k += 8) {
      float8 av[FL_NT];
      _Pragma("unroll") for (int r = 0; r < FL_NT; r++) av[r] = vload8(0, a[r] + k);
      _Pragma("unroll") for (int c = 0; c < FL_NT; c++) {
        float8 bv = vload8(0, b[c] + k);
        _Pragma("unroll") for (int r = 0; r < FL_NT; r++)
            acc[r][c] = fma(av[r], bv, acc[r][c]);
      }
    }
    _Pragma("unroll") for (int r = 0; r < FL_NT; r++) {
      if (i0 + r >= M) break;
      _Pragma("unroll") for (int c = 0; c < FL_NT; c++) {
        if (j0 + c >= N) break;
        float s = fl_hsum8(acc[r][c]);
        for (uint k = k8; k < K; k++) s = fma(a[r][k], b[c][k], s);
        size_t at = c_off + (size_t)(i0 + r) * ldc + j0 + c;
        float v = beta != 0.0f ? alpha * s + beta * C[at] : alpha * s;
        if (act >= 0) v *= fl_act_grad_from_output(act, aout[at]);
        C[at] = v;
      }
    }
  }
}
