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

/* The vector helpers, once per width: float8 (a ymm register) and
 * float16 (a zmm register where the device has AVX-512). */
#define FL_VEC_HELPERS(W)                                                    \
  inline float##W fl_act##W(int act, float##W x) {                          \
    switch (act) {                                                           \
      case FL_ACT_RELU: return fmax(x, 0.0f);                                \
      case FL_ACT_LEAKY_RELU: return select(FL_LEAKY_SLOPE * x, x, x > 0.0f); \
      case FL_ACT_TANH: return tanh(x);                                      \
      case FL_ACT_SIGMOID: return 1.0f / (1.0f + exp(-x));                   \
      default: return x;                                                     \
    }                                                                        \
  }                                                                          \
  inline float##W fl_load##W##_edge(__global const float *p, uint valid) {   \
    float t[W];                                                              \
    _Pragma("unroll") for (uint l = 0; l < W; l++) t[l] = l < valid ? p[l] : 0.0f; \
    return vload##W(0, t);                                                   \
  }                                                                          \
  inline float##W fl_act_grad##W(int act, float##W a) {                     \
    switch (act) {                                                           \
      case FL_ACT_RELU: return select((float##W)0.0f, (float##W)1.0f, a > 0.0f); \
      case FL_ACT_LEAKY_RELU:                                                \
        return select((float##W)FL_LEAKY_SLOPE, (float##W)1.0f, a > 0.0f);   \
      case FL_ACT_TANH: return 1.0f - a * a;                                 \
      case FL_ACT_SIGMOID: return a * (1.0f - a);                            \
      default: return 1.0f;                                                  \
    }                                                                        \
  }                                                                          \
  /* p[0 .. valid) = act(alpha acc + beta p + add); act < 0: no activation. \
   * With g (not NULL): p = (alpha acc + beta p) * act'(g[0 .. valid)). */  \
  inline void fl_store##W##_g(float##W acc, __global float *p, uint valid,   \
                              float alpha, float beta, float##W add, int act, \
                              __global const float *g) {                     \
    float##W v = alpha * acc;                                                \
    if (beta != 0.0f)                                                        \
      v += beta * (valid >= W ? vload##W(0, p) : fl_load##W##_edge(p, valid)); \
    if (g) {                                                                 \
      if (act >= 0)                                                          \
        v *= fl_act_grad##W(act, valid >= W ? vload##W(0, g)                 \
                                            : fl_load##W##_edge(g, valid));  \
    } else {                                                                 \
      v += add;                                                              \
      if (act >= 0) v = fl_act##W(act, v);                                   \
    }                                                                        \
    if (valid >= W) {                                                        \
      vstore##W(v, 0, p);                                                    \
      return;                                                                \
    }                                                                        \
    float t[W];                                                              \
    vstore##W(v, 0, t);                                                      \
    for (uint l = 0; l < valid; l++) p[l] = t[l];                            \
  }
FL_VEC_HELPERS(8)
FL_VEC_HELPERS(16)

inline void fl_store8(float8 acc, __global float *p, uint valid, float alpha,
                      float beta, float8 add, int act) {
  fl_store8_g(acc, p, valid, alpha, beta, add, act, 0);
}

/* The tile loop. A and B are walked by pointers bumped once per k, never
 * by index arithmetic: with `A[k * lda + row]` LLVM kept the indices in
 * memory and spilled accumulators, and the kernel ran 20-40% slower.
 *   NN: ap[r] is row r's pointer, moving right by one float per k;
 *   AT (TN, or a packed A): at is row k of A stored (K, M), or of the
 *       tile's packed panel (K, MR), moving down by astep (lda, or MR) per
 *       k, and the tile's values sit at at[AOFF(r)] (r itself on full
 *       tiles and in a panel).
 * With gather_t (TN with gather), A's rows are rows arows[arows_off + i]
 * of the buffer (the training set through the epoch's permutation): NN
 * looks its MR row pointers up once, TN looks row k up at each step.
 * LOADB(W) reads vector v of B's row k at bp + v * bvo (vloadW on
 * full-width tiles, lane by lane at the right edge); bp moves by bstep:
 * ldb, or 16 in a packed B. */
#define FL_TILE_LOOP(MR, NV, W, AT, AOFF, LOADB)                             \
  for (uint k = 0; k < K; k++) {                                             \
    if ((AT) && gather_t) at = A + a_off + (size_t)arows[arows_off + k] * lda + i0; \
    float##W bv[NV];                                                         \
    _Pragma("unroll") for (int v = 0; v < NV; v++) bv[v] = LOADB(W);         \
    bp += bstep;                                                             \
    _Pragma("unroll") for (int r = 0; r < MR; r++) {                         \
      float##W av = (float##W)((AT) ? at[AOFF(r)] : *ap[r]++);               \
      _Pragma("unroll") for (int v = 0; v < NV; v++)                         \
          acc[r][v] = fma(av, bv[v], acc[r][v]);                             \
    }                                                                        \
    at += (AT) && !gather_t ? astep : 0;                                     \
  }

/* Tile g of an mt x nt grid, in blocks of FL_BLOCK_M x FL_BLOCK_N tiles
 * (M fastest inside a block, blocks M fastest): work-items that run close
 * in time then share both A's rows and B's columns in a core's L2, instead
 * of streaming all of A once per column panel (1.6 MB for a 512-row batch
 * of 784 features, three times L2). */
#ifndef FL_BLOCK_M
#define FL_BLOCK_M 4
#endif
#ifndef FL_BLOCK_N
#define FL_BLOCK_N 16
#endif
inline void fl_tile_order(uint g, uint mt, uint nt, uint *it, uint *jt) {
  uint band = g / (mt * FL_BLOCK_N), idx = g - band * mt * FL_BLOCK_N;
  uint bn = min((uint)FL_BLOCK_N, nt - min(nt, band * FL_BLOCK_N));
  if (bn == 0) { *it = mt; *jt = nt; return; } /* past the grid */
  uint rb = idx / (FL_BLOCK_M * bn), idx2 = idx - rb * FL_BLOCK_M * bn;
  uint bm = min((uint)FL_BLOCK_M, mt - min(mt, rb * FL_BLOCK_M));
  if (bm == 0) { *it = mt; *jt = nt; return; }
  *it = rb * FL_BLOCK_M + idx2 % bm;
  *jt = band * FL_BLOCK_N + idx2 / bm;
}

#define FL_ROW_SELF(r) (r)
#define FL_ROW_CLAMPED(r) (row[r] - i0)
#define FL_LOAD_FULL(W) vload##W(0, bp + v * bvo)
#define FL_LOAD_EDGE(W)                                                      \
  (j0 + W * v + W <= N                                                       \
       ? vload##W(0, bp + v * bvo)                                           \
       : fl_load##W##_edge(bp + v * bvo, j0 + W * v < N ? N - j0 - W * v : 0))

/* A tile of MR rows x NV vectors of W floats (W 8: float8; W 16: float16).
 * Tiles are at least 16 columns wide or 8 (8x8): a float8 tile never
 * straddles two of pack_panels' 16-column panels, so its vectors sit 8
 * floats apart in a packed B as in a plain one; a float16 vector is a
 * whole panel, the next one 16 K floats further on.
 * AP (packed A): A at a_off is pack_a_panels' copy, ceil(M / MR) panels of
 * K x MR floats, rows past M repeating row M - 1; the tile reads its MR
 * values of each k from one contiguous stream, instead of MR rows of A
 * (NN) or a line every lda floats (TN), and gather and transposition were
 * done by the packing (both forms run the same code). The sums are the
 * same products in the same k order as without packing: the same bits. */
#define FL_GEMM_TILED_W(NAME, MR, NV, W, TA, AP)                             \
  __attribute__((reqd_work_group_size(1, 1, 1)))                             \
  __kernel void NAME(uint M, uint N, uint K, float alpha,                    \
                     __global const float *A, uint a_off, uint lda,          \
                     __global const float *B, uint b_off, uint ldb,          \
                     float beta, __global float *C, uint c_off, uint ldc,    \
                     __global const float *bias, uint bias_off, int act,     \
                     __global const uint *arows, uint arows_off,             \
                     int gather, int bpacked, __global const float *aout,    \
                     int grad) {                                             \
    uint it, jt;                                                             \
    fl_tile_order(get_global_id(0), (M + MR - 1) / MR,                       \
                  (N + W * NV - 1) / (W * NV), &it, &jt);                    \
    uint i0 = it * MR, j0 = jt * (W * NV);                                   \
    if (i0 >= M || j0 >= N) return;                                          \
    uint row[MR];                                                            \
    _Pragma("unroll") for (int r = 0; r < MR; r++)                           \
        row[r] = min(i0 + (uint)r, M - 1);                                   \
    float##W acc[MR][NV];                                                    \
    _Pragma("unroll") for (int r = 0; r < MR; r++)                           \
        _Pragma("unroll") for (int v = 0; v < NV; v++) acc[r][v] = 0.0f;     \
    __global const float *ap[MR],                                            \
        *at = A + a_off + (AP ? (size_t)it * K * MR : TA ? i0 : 0);          \
    size_t astep = AP ? MR : lda;                                            \
    int gather_t = TA && !AP && gather;                                      \
    _Pragma("unroll") for (int r = 0; r < MR; r++)                           \
        ap[r] = A + a_off +                                                  \
                (size_t)(gather && !TA ? arows[arows_off + row[r]] : row[r]) * \
                    lda;                                                     \
    __global const float *bp =                                               \
        bpacked ? B + (size_t)(j0 / 16) * K * 16 + j0 % 16 : B + b_off + j0; \
    size_t bstep = bpacked ? 16 : ldb;                                       \
    size_t bvo = W == 16 && bpacked ? (size_t)K * 16 : W;                    \
    /* A packed B is zero up to its last panel's end, not to the tile's. */  \
    uint bfull = bpacked ? (W == 8 ? N + W * NV : (N + 15) & ~15u) : N;      \
    if ((AP || i0 + MR <= M) && j0 + W * NV <= bfull) {                      \
      FL_TILE_LOOP(MR, NV, W, TA || AP, FL_ROW_SELF, FL_LOAD_FULL)           \
    } else if (AP) {                                                         \
      FL_TILE_LOOP(MR, NV, W, 1, FL_ROW_SELF, FL_LOAD_EDGE)                  \
    } else {                                                                 \
      FL_TILE_LOOP(MR, NV, W, TA, FL_ROW_CLAMPED, FL_LOAD_EDGE)              \
    }                                                                        \
    float##W add[NV];                                                        \
    _Pragma("unroll") for (int v = 0; v < NV; v++) {                         \
      uint j = j0 + W * v;                                                   \
      add[v] = act >= 0 && !TA && !grad && j < N                             \
                   ? fl_load##W##_edge(bias + bias_off + j, N - j)           \
                   : 0.0f;                                                   \
    }                                                                        \
    _Pragma("unroll") for (int r = 0; r < MR; r++) {                         \
      if (i0 + r >= M) break;                                                \
      _Pragma("unroll") for (int v = 0; v < NV; v++) {                       \
        uint j = j0 + W * v;                                                 \
        size_t at = c_off + (size_t)(i0 + r) * ldc + j;                      \
        if (j < N)                                                           \
          fl_store##W##_g(acc[r][v], C + at, N - j, alpha, beta, add[v],     \
                          TA ? -1 : act, grad && !TA ? aout + at : 0);       \
      }                                                                      \
    }                                                                        \
  }
#define FL_GEMM_TILED(NAME, MR, NV, TA) FL_GEMM_TILED_W(NAME, MR, NV, 8, TA, 0)
#define FL_GEMM_TILED16(NAME, MR, NV, TA) FL_GEMM_TILED_W(NAME, MR, NV, 16, TA, 0)
#define FL_GEMM_TILED16_AP(NAME, MR, NV, TA) FL_GEMM_TILED_W(NAME, MR, NV, 16, TA, 1)

/* The variants `flatlined --tune` chooses from (engine/tune.c); the names
 * say rows x columns of a tile. Keep in step with FL_GEMM_VARIANTS in
 * engine/engine_internal.h. POCL's LLVM (15, skylake-avx512) keeps float8
 * in ymm and float16 in zmm registers, one vector each (objdump of its
 * cache: bench/README.md). The first three are AVX2's: 12 or 8 of its 16
 * ymm registers hold accumulators. 8x32 and 12x32 hold 16 and 24 zmm
 * accumulators of AVX-512's 32 registers (their inner loops have no
 * spills); 12x16 is a float8 tile that only fits AVX-512's 32 registers.
 * Measured on the Xeon (2 cores, GFLOP/s, quick search): NN 128x256x784
 * 6x16 95, 8x32 139, 12x32 114; TN 784x256x128 6x16 75, 8x32 115, 12x32
 * 126; with N = 10 the float8 tiles win (12x16 37 against 8x32 10). 4x64
 * and 16x16 float16 tiles were tried too and won no shape.
 * 8x32p and 12x32p are 8x32 and 12x32 over a packed A (AP above). In
 * 8x32's NN loop the eight row pointers were reloaded from the stack each
 * k, and in TN each k read a new line of A: with A in L1 (a timing hack)
 * both ran 25-35% faster, so A's stream was the cost. Packed, 12x32p's NN
 * loop is 2 loads of B, 12 broadcasts from one pointer, 24 FMAs and 3
 * loop instructions. At batch 512 (interleaved medians, load 2.3-6), the
 * copy (pack_a_panels) included: TN 12x32p 1.16-1.30x 12x32's rate,
 * 8x32p 0.96-1.06x 8x32's on NN and 1.05-1.11x on NT (a packed NN). */
FL_GEMM_TILED(gemm_nn_6x16, 6, 2, 0)
FL_GEMM_TILED(gemm_nn_8x8, 8, 1, 0)
FL_GEMM_TILED(gemm_nn_4x16, 4, 2, 0)
FL_GEMM_TILED16(gemm_nn_8x32, 8, 2, 0)
FL_GEMM_TILED16(gemm_nn_12x32, 12, 2, 0)
FL_GEMM_TILED(gemm_nn_12x16, 12, 2, 0)
FL_GEMM_TILED(gemm_tn_6x16, 6, 2, 1)
FL_GEMM_TILED(gemm_tn_8x8, 8, 1, 1)
FL_GEMM_TILED(gemm_tn_4x16, 4, 2, 1)
FL_GEMM_TILED16(gemm_tn_8x32, 8, 2, 1)
FL_GEMM_TILED16(gemm_tn_12x32, 12, 2, 1)
FL_GEMM_TILED(gemm_tn_12x16, 12, 2, 1)
FL_GEMM_TILED16_AP(gemm_nn_8x32p, 8, 2, 0)
FL_GEMM_TILED16_AP(gemm_nn_12x32p, 12, 2, 0)
FL_GEMM_TILED16_AP(gemm_tn_8x32p, 8, 2, 1)
FL_GEMM_TILED16_AP(gemm_tn_12x32p, 12, 2, 1)

/* pack_a_panels: op(A) (M, K) rewritten as ceil(M / mr) panels of K x mr
 * floats, contiguous, rows past M repeating row M - 1:
 *   dst[(p * K + k) * mr + r] = op(A)[min(p mr + r, M - 1)][k]
 * op(A) is A (M, K) at a_off with leading dimension lda (NN; with gather,
 * row i is buffer row arows[arows_off + i]) or, ta, A stored (K, M) (TN;
 * with gather, stored row k is buffer row arows[arows_off + k]). The
 * *p variants above read it. One work-item per panel and 16 values of k;
 * mr at most FL_APACK_MR. */
#define FL_APACK_MR 12
/* Writes n (<= 12) floats of v at p: a vector store for 8, a vector and
 * four floats for 12 (with vstore4 there, Oclgrind 21.10 reported the
 * four floats as uninitialized whatever v held). */
inline void fl_store_mr(__global float *p, float16 v, uint n) {
  if (n == 8) {
    vstore8(v.lo, 0, p);
  } else if (n == 12) {
    vstore8(v.lo, 0, p);
    p[8] = v.s8, p[9] = v.s9, p[10] = v.sa, p[11] = v.sb;
  } else {
    float t[16];
    vstore16(v, 0, t);
    for (uint r = 0; r < n; r++) p[r] = t[r];
  }
}
__kernel void pack_a_panels(__global float *dst, uint dst_off,
                            __global const float *A,
                            uint a_off, uint lda, uint M, uint K, uint mr,
                            int ta, __global const uint *arows,
                            uint arows_off, int gather) {
  uint kc = (K + 15) / 16, g = get_global_id(0);
  uint p = g / kc, k0 = (g % kc) * 16;
  if (p * mr >= M || mr > FL_APACK_MR) return;
  uint kv = min(16u, K - k0), i0 = p * mr;
  __global float *out = dst + dst_off + ((size_t)p * K + k0) * mr;
  if (ta) {
    /* Row k of the stored A holds the panel's mr values side by side. */
    for (uint k = 0; k < kv; k++) {
      __global const float *src =
          A + a_off + (size_t)(gather ? arows[arows_off + k0 + k] : k0 + k) * lda;
      float16 v = 0.0f; /* lanes past mr are not stored */
      if (i0 + mr <= M && mr == 8) {
        v.lo = vload8(0, src + i0);
      } else if (i0 + mr <= M && mr == 12) {
        v.lo = vload8(0, src + i0);
        v.s89ab = vload4(0, src + i0 + 8);
      } else {
        float t[16];
        for (uint r = 0; r < 16; r++) t[r] = src[min(i0 + min(r, mr - 1), M - 1)];
        v = vload16(0, t);
      }
      fl_store_mr(out + (size_t)k * mr, v, mr);
    }
  } else {
    /* mr rows of 16 values of k, written k by k. */
    float t[FL_APACK_MR][16];
    _Pragma("unroll") for (uint r = 0; r < FL_APACK_MR; r++) {
      uint i = min(i0 + min(r, mr - 1), M - 1);
      __global const float *row =
          A + a_off + (size_t)(gather ? arows[arows_off + i] : i) * lda + k0;
      vstore16(kv == 16 ? vload16(0, row) : fl_load16_edge(row, kv), 0, t[r]);
    }
    for (uint k = 0; k < kv; k++) {
      float col[16];
      _Pragma("unroll") for (uint r = 0; r < 16; r++)
          col[r] = r < FL_APACK_MR ? t[r][k] : 0.0f;
      fl_store_mr(out + (size_t)k * mr, vload16(0, col), mr);
    }
  }
}

/* pack_panels: B (K, N) at b_off with leading dimension ldb, rewritten as
 * ceil(N / 16) panels of K x 16 floats, contiguous, columns past N zero:
 *   dst[(p * K + k) * 16 + c] = B[b_off + k * ldb + 16 p + c]
 * so that a tile's B loads walk memory in order (bpacked above) instead of
 * one cache line per k at stride ldb: 15-35% faster NN/TN on the large
 * shapes of this CPU. One work-item per panel and 16 rows. */
/* A short weight gradient, C (M, N) = A^T B with A stored (K, M) (a conv
 * layer's col: K patches of M <= FL_TN_SMALL_M values) and B (K, N) (its
 * dz), in parts: item (chunk s, columns j0 .. j0 + 7) sums rows
 * s*per .. s*per + per - 1 of the product into part (chunks, M, N); the
 * host adds the chunks in chunk order (bias_grad_reduce, dense.cl). Why:
 * the tiled TN kernel makes one item per C tile, and the issue's first
 * conv layer's dW (9 x 32 over K = 86528 patches at batch 128) is one
 * 12x32 tile: one core walked 14 MB (1.5 ms a step) while the other
 * waited. A chunk's items are neighbours: they share its rows in cache. */
#define FL_TN_SMALL_M 16
__kernel void gemm_tn_small_part(__global float *restrict part,
                                 __global const float *restrict A,
                                 uint a_off, __global const float *restrict B,
                                 uint b_off, uint M, uint N, uint K,
                                 uint per) {
  uint ng = (N + 7) / 8, id = get_global_id(0);
  uint s = id / ng, j0 = (id % ng) * 8, k0 = s * per;
  if (k0 >= K || M > FL_TN_SMALL_M) return;
  uint k1 = min(k0 + per, K), valid = min(8u, N - j0);
  float8 acc[FL_TN_SMALL_M];
  _Pragma("unroll") for (int r = 0; r < FL_TN_SMALL_M; r++) acc[r] = 0.0f;
  __global const float *ap = A + a_off + (size_t)k0 * M;
  __global const float *bp = B + b_off + (size_t)k0 * N + j0;
  for (uint k = k0; k < k1; k++, ap += M, bp += N) {
    float8 bv = valid == 8 ? vload8(0, bp) : fl_load8_edge(bp, valid);
    _Pragma("unroll") for (uint r = 0; r < FL_TN_SMALL_M; r++)
      if (r < M) acc[r] = fma((float8)ap[r], bv, acc[r]);
  }
  __global float *out = part + (size_t)s * M * N + j0;
  for (uint r = 0; r < M; r++)
    fl_store8(acc[r], out + (size_t)r * N, valid, 1.0f, 0.0f, 0.0f, -1);
}

__kernel void pack_panels(__global float *dst, __global const float *B,
                          uint b_off, uint ldb, uint K, uint N) {
  uint kc = (K + 15) / 16, g = get_global_id(0);
  uint p = g / kc, k0 = (g % kc) * 16;
  if (p * 16 >= N) return;
  uint valid = min(16u, N - p * 16);
  for (uint k = k0; k < min(k0 + 16, K); k++) {
    __global const float *src = B + b_off + (size_t)k * ldb + p * 16;
    __global float *out = dst + ((size_t)p * K + k) * 16;
    if (valid == 16) {
      vstore8(vload8(0, src), 0, out);
      vstore8(vload8(1, src), 1, out);
    } else {
      vstore8(fl_load8_edge(src, valid), 0, out);
      vstore8(fl_load8_edge(src + 8, valid > 8 ? valid - 8 : 0), 1, out);
    }
  }
}

/* pack_panels_t: the same panels from B stored transposed, (N, K) at b_off
 * with leading dimension ldb: dst[(p * K + k) * 16 + c] = B[(16 p + c) ldb
 * + k]. With it the NT form (input gradient, dZ · W^T) runs as a packed NN
 * GEMM, twice the speed of dot products on large shapes. One work-item per
 * panel and 16 values of k: a 16 x 16 block read along k, written along c. */
__kernel void pack_panels_t(__global float *dst, __global const float *B,
                            uint b_off, uint ldb, uint K, uint N) {
  uint kc = (K + 15) / 16, g = get_global_id(0);
  uint p = g / kc, k0 = (g % kc) * 16;
  if (p * 16 >= N) return;
  uint kv = min(16u, K - k0);
  float t[16][16];
  for (uint c = 0; c < 16; c++) {
    uint j = p * 16 + c;
    __global const float *src = B + b_off + (size_t)min(j, N - 1) * ldb + k0;
    float8 lo = kv >= 8 ? vload8(0, src) : fl_load8_edge(src, kv);
    float8 hi = kv >= 16 ? vload8(1, src) : fl_load8_edge(src + 8, kv > 8 ? kv - 8 : 0);
    if (j >= N) lo = hi = 0.0f;
    vstore8(lo, 0, t[c]);
    vstore8(hi, 1, t[c]);
  }
  for (uint k = 0; k < kv; k++) {
    float col[16];
    _Pragma("unroll") for (int c = 0; c < 16; c++) col[c] = t[c][k];
    __global float *out = dst + ((size_t)p * K + k0 + k) * 16;
    vstore8(vload8(0, col), 0, out);
    vstore8(vload8(1, col), 1, out);
  }
}

inline float fl_hsum8(float8 v) {
  float4 s = v.lo + v.hi;
  float2 t = s.lo + s.hi;
  return t.x + t.y;
}

/* FL_NT (tile side) and FL_NT_STRIP (tiles per work-item along N) come
 * from the host's build options (engine/device.c), so that the launch
 * sizes in ops.c and these kernels cannot disagree. */
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

/* gemm_nt_smallk: the NT form when K is at most FL_NT_KMAX — the input
 * gradient below a 10-class output layer, (B, in) = dZ (B, 10) · W^T. Dot
 * products 10 long leave gemm_nt all overhead (6 GFLOP/s); instead a
 * work-item copies B's K x 16 panel, transposed, into private memory once
 * and runs the broadcast tiles of the NN kernel over FL_NTS_ROWS rows of C
 * with it. */
/* FL_NT_KMAX (largest K) and FL_NTS_ROWS (rows of C per work-item, whole
 * tiles of 6) come from the host's build options, as above. */


__attribute__((reqd_work_group_size(1, 1, 1)))
__kernel void gemm_nt_smallk(uint M, uint N, uint K, float alpha,
                             __global const float *A, uint a_off, uint lda,
                             __global const float *B, uint b_off, uint ldb,
                             float beta, __global float *C, uint c_off,
                             uint ldc, __global const float *aout, int act) {
  uint mb = (M + FL_NTS_ROWS - 1) / FL_NTS_ROWS, g = get_global_id(0);
  uint ib = (g % mb) * FL_NTS_ROWS, j0 = (g / mb) * 16;
  if (ib >= M || j0 >= N || K > FL_NT_KMAX) return;
  float8 pan[FL_NT_KMAX][2]; /* pan[k][v] lane l = B[j0 + 8v + l][k] */
  for (uint k = 0; k < K; k++)
    _Pragma("unroll") for (int v = 0; v < 2; v++) {
      float t[8];
      _Pragma("unroll") for (int l = 0; l < 8; l++) {
        uint j = j0 + 8 * v + l;
        t[l] = j < N ? B[b_off + (size_t)j * ldb + k] : 0.0f;
      }
      pan[k][v] = vload8(0, t);
    }
  uint iend = min(ib + FL_NTS_ROWS, M);
  for (uint i0 = ib; i0 < iend; i0 += 6) {
    __global const float *ap[6];
    _Pragma("unroll") for (int r = 0; r < 6; r++)
        ap[r] = A + a_off + (size_t)min(i0 + (uint)r, M - 1) * lda;
    float8 acc[6][2];
    _Pragma("unroll") for (int r = 0; r < 6; r++)
        _Pragma("unroll") for (int v = 0; v < 2; v++) acc[r][v] = 0.0f;
    for (uint k = 0; k < K; k++) {
      float8 b0 = pan[k][0], b1 = pan[k][1];
      _Pragma("unroll") for (int r = 0; r < 6; r++) {
        float8 x = (float8)(ap[r][k]);
        acc[r][0] = fma(x, b0, acc[r][0]);
        acc[r][1] = fma(x, b1, acc[r][1]);
      }
    }
    _Pragma("unroll") for (int r = 0; r < 6; r++) {
      if (i0 + r >= M) break;
      _Pragma("unroll") for (int v = 0; v < 2; v++) {
        uint j = j0 + 8 * v;
        if (j >= N) break;
        uint valid = N - j;
        size_t at = c_off + (size_t)(i0 + r) * ldc + j;
        float8 o = alpha * acc[r][v];
        if (beta != 0.0f)
          o += beta * (valid >= 8 ? vload8(0, C + at) : fl_load8_edge(C + at, valid));
        if (act >= 0)
          o *= fl_act_grad8(act, valid >= 8 ? vload8(0, aout + at)
                                            : fl_load8_edge(aout + at, valid));
        fl_store8(o, C + at, valid, 1.0f, 0.0f, 0.0f, -1);
      }
    }
  }
}
