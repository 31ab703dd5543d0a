// sgemm: C[m, n] = alpha * op(A)[m, k] . op(B)[k, n] + beta * C, row-major with leading
// dimensions (cblas_sgemm's RowMajor contract), for the products OpenBLAS runs slowest in a
// training step: the rank-r factors of the low-rank layers (one dimension 128-256 against 2048
// tokens) and attention's 64-row blocks.
//
// Why not OpenBLAS for these: on thin products its threads split the small dimension and
// synchronise per panel, and it packs the large operand; through ND4J's OpenBLAS 0.3.19 the
// 60m CoLA products run at 110-150 GFLOP/s in a step against 170-190 for square ones.
// Here each thread owns a contiguous slice of C's larger dimension (no synchronisation between
// threads at all), and everything is the textbook (Goto/BLIS) blocking:
//   for each NC-column block of C, for each KC-deep slice of k:
//     pack op(B)[KC, NC] into NR-column micro-panels (L2/L3)
//     for each MC-row block of op(A) (L2):
//       for each micro-tile: MR x NR accumulators in registers over the KC slice (the packed
//       B micro-panel stays in L1, or in L2 at AVX-512's KC, while the A micro-panels stream past)
// Packing reads B in either orientation, so one micro-kernel serves NN, NT, TN, TT. op(A) is
// read where it lies by default (MR row pointers for row-major A, one strided pointer for A^T):
// its elements are only broadcast, so it needs no vector layout, and the copy into micro-panels
// (BLIS's packed A, kept as LR_SGEMM_A_PACKED and for a ragged last panel) cost more than it saved
// at every shape of a training step, where n is often only the rank (128-256).
// beta is applied on the first KC slice only; beta == 0 never reads C (BLAS convention).
// Grouped products (lr_sgemm_shared_a, lr_sgemm_sum_k) run the same blocking over a virtual
// operand: parts side by side along n (sharing op(A): q/k/v reading one input) or one after
// another along k (summed into one C: the gradient into that input); a plain product is a group of
// one. CoLA's SiLU / SiLU' run as an epilogue on each finished C tile (lr_sgemm_ep), while the
// tile is in registers, instead of as a separate pass over memory.
#include <omp.h>
#include <stdlib.h>

#include "internal.h"
#include "simd.h"
#include "vmath.h"

#if LR_ISA == 0
extern "C" void lr_ref_sgemm(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                             const float* a, int64_t lda, const float* b, int64_t ldb, float beta,
                             float* c, int64_t ldc) {
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) {
      double acc = 0.0;
      for (int64_t p = 0; p < k; ++p) {
        const double x = trans_a ? a[p * lda + i] : a[i * lda + p];
        const double y = trans_b ? b[j * ldb + p] : b[p * ldb + j];
        acc += x * y;
      }
      float* cij = &c[i * ldc + j];
      *cij = beta == 0.0f ? (float)(alpha * acc) : (float)(beta * (double)*cij + alpha * acc);
    }
}

namespace {
int run_sgemm(const lr::GemmSpec& s) {
  switch (lr_get_isa()) {
#if defined(LR_HAVE_AVX512_TU)
    case LR_ISA_AVX512:
      return lr::sgemm_avx512(s);
#endif
#if defined(LR_HAVE_AVX2_TU)
    case LR_ISA_AVX2:
      return lr::sgemm_avx2(s);
#endif
    default:
      return lr::sgemm_scalar(s);
  }
}

lr::GemmSpec spec(int trans_a, int trans_b, bool along_k, int64_t m, int64_t n, int64_t k, float alpha,
                  float beta, int parts, int max_threads) {
  lr::GemmSpec s{};
  s.trans_a = trans_a;
  s.trans_b = trans_b;
  s.along_k = along_k;
  s.m = m;
  s.n = n;
  s.k = k;
  s.alpha = alpha;
  s.beta = beta;
  s.parts = parts;
  s.max_threads = max_threads;
  return s;
}

bool known_epilogue(int e) {
  return e == LR_SGEMM_EPI_NONE || e == LR_SGEMM_EPI_SILU || e == LR_SGEMM_EPI_SILU_GRAD;
}
}  // namespace

extern "C" int lr_sgemm(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                         const float* a, int64_t lda, const float* b, int64_t ldb, float beta,
                         float* c, int64_t ldc, int max_threads) {
  lr::GemmSpec s = spec(trans_a, trans_b, false, m, n, k, alpha, beta, 1, max_threads);
  s.part[0] = {a, lda, b, ldb, c, ldc, nullptr, 0, n};
  return run_sgemm(s);
}

extern "C" int lr_sgemm_ep(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                            const float* a, int64_t lda, const float* b, int64_t ldb, float beta,
                            float* c, int64_t ldc, int epilogue, float* aux, int64_t ldaux,
                            int max_threads) {
  if (!known_epilogue(epilogue)) return -2;
  lr::GemmSpec s = spec(trans_a, trans_b, false, m, n, k, alpha, beta, 1, max_threads);
  s.epilogue = epilogue;
  s.part[0] = {a, lda, b, ldb, c, ldc, aux, ldaux, n};
  return run_sgemm(s);
}

extern "C" int lr_sgemm_shared_a(int trans_a, int trans_b, int64_t m, int64_t k, float alpha,
                                  const float* a, int64_t lda, int parts, const int64_t* n,
                                  const float* const* b, const int64_t* ldb, float beta,
                                  float* const* c, const int64_t* ldc, int epilogue,
                                  float* const* aux, const int64_t* ldaux, int max_threads) {
  if (parts < 1 || parts > LR_SGEMM_MAX_PARTS || !known_epilogue(epilogue)) return -2;
  lr::GemmSpec s = spec(trans_a, trans_b, false, m, 0, k, alpha, beta, parts, max_threads);
  s.epilogue = epilogue;
  const bool ep = epilogue != LR_SGEMM_EPI_NONE;
  for (int g = 0; g < parts; ++g) {
    if (n[g] < 0) return -2;
    s.part[g] = {a, lda, b[g], ldb[g], c[g], ldc[g], ep ? aux[g] : nullptr, ep ? ldaux[g] : 0, n[g]};
    s.n += n[g];
  }
  return run_sgemm(s);
}

extern "C" int lr_sgemm_sum_k(int trans_a, int trans_b, int64_t m, int64_t n, int parts,
                               const int64_t* k, float alpha, const float* const* a,
                               const int64_t* lda, const float* const* b, const int64_t* ldb,
                               float beta, float* c, int64_t ldc, int max_threads) {
  if (parts < 1 || parts > LR_SGEMM_MAX_PARTS) return -2;
  lr::GemmSpec s = spec(trans_a, trans_b, true, m, n, 0, alpha, beta, parts, max_threads);
  for (int g = 0; g < parts; ++g) {
    if (k[g] < 0) return -2;
    s.part[g] = {a[g], lda[g], b[g], ldb[g], c, ldc, nullptr, 0, k[g]};
    s.k += k[g];
  }
  return run_sgemm(s);
}
#endif  // LR_ISA == 0

namespace {

#ifdef LR_GEMM_MR
constexpr int MR = LR_GEMM_MR;
#else
// rows of a micro-tile: MR x NV accumulators + NV B vectors + 1 broadcast in registers (AVX2:
// 12 + 2 + 1 of 16; AVX-512: 16 + 2 + 1 of 32). 6, 8 and 12 rows ran within noise of each other
// on AVX-512; 8 divides every m of a training step. With op(A) in place and KC 512, 6 x 64 and
// 4 x 64 tiles (LR_GEMM_NV=4) were within noise of 8 x 32 too, 12 x 32 5-10% slower
// (docs/bench/2026-11-26-sgemm-tiles.txt).
constexpr int MR = LR_ISA == 2 ? 8 : 6;
#endif
#ifdef LR_GEMM_NV
constexpr int NV = LR_GEMM_NV;
#else
constexpr int NV = 2;               // vectors per micro-tile row
#endif
constexpr int NR = NV * V::W;       // columns of a micro-tile: 16 (AVX2), 32 (AVX-512)
#ifdef LR_GEMM_KC
constexpr int64_t KC = LR_GEMM_KC;
#else
// Depth of a k slice. AVX-512: 512, so the B micro-panel (KC x NR, 64 KiB) streams from L2
// rather than sitting in L1, but C is re-read once per 512 of k instead of per 192: 3-12%
// faster than 192 at every product of a training step once op(A) was read in place, 768 and
// 1024 no better (docs/bench/2026-11-26-sgemm-kc.txt). AVX2 (not measurable on an AVX2 part
// here): the B micro-panel in L1.
constexpr int64_t KC = LR_ISA == 2 ? 512 : 256;
#endif
#ifdef LR_GEMM_MCB
constexpr int64_t MC = LR_GEMM_MCB * MR;
#else
constexpr int64_t MC = 20 * MR;     // A block MC x KC in L2 (in place: the rows it spans)
#endif
// B block KC x NC packed per thread: 1.5 MiB (AVX-512) / 2 MiB (AVX2) of floats, NC = this / KC
constexpr int64_t B_BLOCK = (LR_ISA == 2 ? 192 : 256) * (2048 / NR * NR);
// A product whose whole k fits in one slice of at most KC_ONE and whose C is large writes C once
// instead of re-reading it per KC slice: the LM head's logits (2048 x 32000 x 512, C 250 MiB)
// ran 305-310 -> 364-374 GFLOP/s in one slice of 512 (its B micro-panel then streams from L2).
constexpr int64_t KC_ONE = KC > 512 ? KC : 512;
constexpr int64_t C_LARGE = int64_t(1) << 20;   // elements of C

// op(X)[i, j] = t ? p[j * ld + i] : p[i * ld + j]
struct Operand {
  const float* p;
  int64_t ld;
  bool t;
};

#if LR_ISA > 0
// dst[c * ldd + r] = src[r * lds + c] for an 8 x 8 block: in registers (unpack, shuffle, lane
// permute). Packing the row-major A of NN/NT products (and the B^T of NT products) element by
// element runs at ~1 float per cycle: 12-25% of a 2048 x 128 x 512 product.
inline void transpose8x8(const float* src, int64_t lds, float* dst, int64_t ldd) {
  const __m256 r0 = _mm256_loadu_ps(src + 0 * lds), r1 = _mm256_loadu_ps(src + 1 * lds);
  const __m256 r2 = _mm256_loadu_ps(src + 2 * lds), r3 = _mm256_loadu_ps(src + 3 * lds);
  const __m256 r4 = _mm256_loadu_ps(src + 4 * lds), r5 = _mm256_loadu_ps(src + 5 * lds);
  const __m256 r6 = _mm256_loadu_ps(src + 6 * lds), r7 = _mm256_loadu_ps(src + 7 * lds);
  const __m256 t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1);
  const __m256 t2 = _mm256_unpacklo_ps(r2, r3), t3 = _mm256_unpackhi_ps(r2, r3);
  const __m256 t4 = _mm256_unpacklo_ps(r4, r5), t5 = _mm256_unpackhi_ps(r4, r5);
  const __m256 t6 = _mm256_unpacklo_ps(r6, r7), t7 = _mm256_unpackhi_ps(r6, r7);
  const __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE);
  const __m256 u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE);
  const __m256 u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xEE);
  const __m256 u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xEE);
  _mm256_storeu_ps(dst + 0 * ldd, _mm256_permute2f128_ps(u0, u4, 0x20));
  _mm256_storeu_ps(dst + 1 * ldd, _mm256_permute2f128_ps(u1, u5, 0x20));
  _mm256_storeu_ps(dst + 2 * ldd, _mm256_permute2f128_ps(u2, u6, 0x20));
  _mm256_storeu_ps(dst + 3 * ldd, _mm256_permute2f128_ps(u3, u7, 0x20));
  _mm256_storeu_ps(dst + 4 * ldd, _mm256_permute2f128_ps(u0, u4, 0x31));
  _mm256_storeu_ps(dst + 5 * ldd, _mm256_permute2f128_ps(u1, u5, 0x31));
  _mm256_storeu_ps(dst + 6 * ldd, _mm256_permute2f128_ps(u2, u6, 0x31));
  _mm256_storeu_ps(dst + 7 * ldd, _mm256_permute2f128_ps(u3, u7, 0x31));
}
#endif

// op(A)[i0 + i, p0 + p] -> ap[(i / MR) * MR * kcs + p * MR + i % MR], rows past mc zero; kcs >= kc
// is the depth of the whole slice when this packs only part of it (a part of a k-sum)
void pack_a(const Operand& a, int64_t i0, int64_t mc, int64_t p0, int64_t kc, int64_t kcs, float* ap) {
  for (int64_t ir = 0; ir < mc; ir += MR, ap += MR * kcs) {
    const int64_t mr = imin(MR, mc - ir);
    if (!a.t) {
#if LR_ISA > 0
      if (MR == 8 && mr == 8) {
        const float* src = a.p + (i0 + ir) * a.ld + p0;
        int64_t p = 0;
        for (; p + 8 <= kc; p += 8) transpose8x8(src + p, a.ld, ap + p * MR, MR);
        for (; p < kc; ++p)
          for (int64_t i = 0; i < MR; ++i) ap[p * MR + i] = src[i * a.ld + p];
        continue;
      }
#endif
      for (int64_t i = 0; i < mr; ++i) {
        const float* src = a.p + (i0 + ir + i) * a.ld + p0;
        for (int64_t p = 0; p < kc; ++p) ap[p * MR + i] = src[p];
      }
      for (int64_t i = mr; i < MR; ++i)
        for (int64_t p = 0; p < kc; ++p) ap[p * MR + i] = 0.0f;
    } else {
      for (int64_t p = 0; p < kc; ++p) {
        const float* src = a.p + (p0 + p) * a.ld + i0 + ir;
        int64_t i = 0;
        for (; i < mr; ++i) ap[p * MR + i] = src[i];
        for (; i < MR; ++i) ap[p * MR + i] = 0.0f;
      }
    }
  }
}

// op(B)[p0 + p, j0 + j] -> bp[p * NR + j] for one micro-panel of nr <= NR columns, the rest zero
void pack_b_panel(const Operand& b, int64_t p0, int64_t kc, int64_t j0, int64_t nr, float* bp) {
  if (!b.t) {
    for (int64_t p = 0; p < kc; ++p) {
      const float* src = b.p + (p0 + p) * b.ld + j0;
      float* dst = bp + p * NR;
      if (nr == NR) {
        for (int v = 0; v < NV; ++v) V::store(dst + v * V::W, V::load(src + v * V::W));
      } else {
        int64_t j = 0;
        for (; j < nr; ++j) dst[j] = src[j];
        for (; j < NR; ++j) dst[j] = 0.0f;
      }
    }
    return;
  }
  int64_t j = 0;
#if LR_ISA > 0
  for (; j + 8 <= nr; j += 8) {  // 8 columns of op(B) = 8 rows of B at a time
    const float* src = b.p + (j0 + j) * b.ld + p0;
    int64_t p = 0;
    for (; p + 8 <= kc; p += 8) transpose8x8(src + p, b.ld, bp + p * NR + j, NR);
    for (; p < kc; ++p)
      for (int64_t jj = 0; jj < 8; ++jj) bp[p * NR + j + jj] = src[jj * b.ld + p];
  }
#endif
  for (; j < nr; ++j) {
    const float* src = b.p + (j0 + j) * b.ld + p0;
    for (int64_t p = 0; p < kc; ++p) bp[p * NR + j] = src[p];
  }
  for (j = nr; j < NR; ++j)
    for (int64_t p = 0; p < kc; ++p) bp[p * NR + j] = 0.0f;
}

// C tile [mr, nr] (mr <= MR, nr <= NR) = alpha * op(A) Bp + (read_c ? beta * C : 0), with the
// A micro-panel read as a[i * rs + p * cs]: RowStride false: rs = 1, cs = step (a packed panel,
// step MR, or A^T in place, step lda); RowStride true: rs = step, cs = 1 (row-major A in place,
// step lda; one pointer per row so the broadcasts need no index arithmetic).
// epi (the last k slice only): LR_SGEMM_EPI_SILU also writes aux = SiLU(C tile);
// LR_SGEMM_EPI_SILU_GRAD writes C tile * SiLU'(aux) instead of the C tile. Both with
// silu_v / silu_grad_v, so the bits equal lr_silu's / lr_silu_backward's on the stored C.
// The epilogue on one row of nr <= NR finished C values t (NR floats, the rest ignored): the same
// vector functions as a full tile on a zero-padded copy, so the bits do not depend on the edge.
void epilogue_row(float* t, int64_t nr, int epi, float* aux) {
  alignas(64) float x[NR];
  for (int64_t j = 0; j < NR; ++j) x[j] = epi == LR_SGEMM_EPI_SILU_GRAD && j < nr ? aux[j] : 0.0f;
  for (int v = 0; v < NV; ++v) {
    const V::f r = V::load(t + v * V::W);
    if (epi == LR_SGEMM_EPI_SILU) V::store(x + v * V::W, silu_v(r));
    else V::store(t + v * V::W, silu_grad_v(V::load(x + v * V::W), r));
  }
  if (epi == LR_SGEMM_EPI_SILU)
    for (int64_t j = 0; j < nr; ++j) aux[j] = x[j];
}

template <bool RowStride>
void micro_tile(int64_t kc, const float* a, int64_t step, const float* bp, float* c, int64_t ldc,
                int64_t mr, int64_t nr, float alpha, float beta, bool read_c, int epi, float* aux,
                int64_t ldaux) {
  V::f acc[MR][NV];
  for (int i = 0; i < MR; ++i)
    for (int v = 0; v < NV; ++v) acc[i][v] = V::zero();
  if (RowStride) {
    const float* row[MR];
    for (int i = 0; i < MR; ++i) row[i] = a + i * step;
    for (int64_t p = 0; p < kc; ++p, bp += NR) {
      V::f bv[NV];
      for (int v = 0; v < NV; ++v) bv[v] = V::reg(V::load(bp + v * V::W));
      for (int i = 0; i < MR; ++i) {
        const V::f av = V::set1(row[i][p]);
        for (int v = 0; v < NV; ++v) acc[i][v] = V::fma(av, bv[v], acc[i][v]);
      }
    }
  } else {
    for (int64_t p = 0; p < kc; ++p, a += step, bp += NR) {
      V::f bv[NV];
      for (int v = 0; v < NV; ++v) bv[v] = V::reg(V::load(bp + v * V::W));
      for (int i = 0; i < MR; ++i) {
        const V::f av = V::set1(a[i]);
        for (int v = 0; v < NV; ++v) acc[i][v] = V::fma(av, bv[v], acc[i][v]);
      }
    }
  }
  const V::f al = V::set1(alpha), be = V::set1(beta);
  if (mr == MR && nr == NR) {
    for (int i = 0; i < MR; ++i)
      for (int v = 0; v < NV; ++v) {
        float* cp = c + i * ldc + v * V::W;
        V::f r = V::mul(al, acc[i][v]);
        if (read_c) r = beta == 1.0f ? V::add(V::load(cp), r) : V::fma(be, V::load(cp), r);
        if (epi == LR_SGEMM_EPI_SILU) V::store(aux + i * ldaux + v * V::W, silu_v(r));
        else if (epi == LR_SGEMM_EPI_SILU_GRAD) r = silu_grad_v(V::load(aux + i * ldaux + v * V::W), r);
        V::store(cp, r);
      }
    return;
  }
  alignas(64) float t[MR * NR];
  for (int i = 0; i < MR; ++i)
    for (int v = 0; v < NV; ++v) V::store(t + i * NR + v * V::W, acc[i][v]);
  for (int64_t i = 0; i < mr; ++i) {
    float* const ti = t + i * NR;
    for (int64_t j = 0; j < nr; ++j) {
      const float r = alpha * ti[j];
      ti[j] = read_c ? beta * c[i * ldc + j] + r : r;
    }
    if (epi != LR_SGEMM_EPI_NONE) epilogue_row(ti, nr, epi, aux + i * ldaux);
    for (int64_t j = 0; j < nr; ++j) c[i * ldc + j] = ti[j];
  }
}

// Per-thread packing buffers, allocated on a thread's first product and kept for its life: a
// training step allocates nothing.
struct PackBuffers {
  float* a = nullptr;
  float* b = nullptr;
  bool ensure() {
    if (a == nullptr) a = static_cast<float*>(aligned_alloc(64, sizeof(float) * MC * KC_ONE));
    if (b == nullptr) b = static_cast<float*>(aligned_alloc(64, sizeof(float) * B_BLOCK));
    return a != nullptr && b != nullptr;
  }
  ~PackBuffers() {
    free(a);
    free(b);
  }
};
thread_local PackBuffers t_pack;

// A (grouped) product on the blocking's coordinates. Along n, part g owns the virtual columns
// [start[g], start[g + 1]): its n_g rounded up to NR, so no micro-panel spans two parts (and the
// pad columns are never stored). Along k, part g owns the summed k's rows [start[g], start[g + 1])
// and a k slice may span parts: B is packed row segment by row segment and A is then packed too
// (in place, a micro-tile would need one A pointer per part).
struct Problem {
  bool along_k;
  int parts;
  Operand a[LR_SGEMM_MAX_PARTS], b[LR_SGEMM_MAX_PARTS];
  float* c[LR_SGEMM_MAX_PARTS];
  int64_t ldc[LR_SGEMM_MAX_PARTS];
  float* aux[LR_SGEMM_MAX_PARTS];   // the epilogue's second matrix, laid out like C
  int64_t ldaux[LR_SGEMM_MAX_PARTS];
  int64_t extent[LR_SGEMM_MAX_PARTS];
  int64_t start[LR_SGEMM_MAX_PARTS + 1];
  int64_t k;        // summed k (along k) or the shared k
  int64_t kc, nc;   // slice depth and B block width (kc * nc <= B_BLOCK: the packing buffer)
  float alpha, beta;
  int epi;          // LR_SGEMM_EPI_*, applied with the last k slice
  bool a_in_place;  // micro-tiles read op(A) where it lies; only a ragged last panel is packed

  // the part owning virtual index v (a column along n, a row of the summed k along k)
  int part_of(int64_t v) const {
    int g = 0;
    while (g + 1 < parts && v >= start[g + 1]) ++g;
    return g;
  }
};

// op(B)[pc:pc+kc, jc:jc+nc] of the virtual B into NR-column micro-panels at bp (panel jr at
// bp + jr * kc)
void pack_b(const Problem& g, int64_t pc, int64_t kc, int64_t jc, int64_t nc, float* bp) {
  if (!g.along_k) {
    for (int64_t jr = 0; jr < nc; jr += NR) {
      const int q = g.part_of(jc + jr);
      const int64_t j0 = jc + jr - g.start[q];
      pack_b_panel(g.b[q], pc, kc, j0, imin(NR, g.extent[q] - j0), bp + jr * kc);
    }
    return;
  }
  for (int64_t jr = 0; jr < nc; jr += NR) {
    const int64_t nr = imin(NR, nc - jr);
    for (int64_t p = pc; p < pc + kc;) {   // row segments of the parts this slice spans
      const int q = g.part_of(p);
      const int64_t len = imin(pc + kc, g.start[q + 1]) - p;
      pack_b_panel(g.b[q], p - g.start[q], len, jc + jr, nr, bp + jr * kc + (p - pc) * NR);
      p += len;
    }
  }
}

// op(A)[i0:i0+mc, pc:pc+kc] of the virtual A into micro-panels at ap
void pack_a_block(const Problem& g, int64_t i0, int64_t mc, int64_t pc, int64_t kc, float* ap) {
  if (!g.along_k) {
    pack_a(g.a[0], i0, mc, pc, kc, kc, ap);
    return;
  }
  for (int64_t p = pc; p < pc + kc;) {
    const int q = g.part_of(p);
    const int64_t len = imin(pc + kc, g.start[q + 1]) - p;
    pack_a(g.a[q], i0, mc, p - g.start[q], len, kc, ap + (p - pc) * MR);
    p += len;
  }
}

// C[ic:ic+mc, jc:jc+nc] (+)= op(A)[ic:ic+mc, pc:pc+kc] Bp for one packed B block bp (the k slice
// pc of virtual columns jc..); ap: room for a packed A block.
void sweep_block(const Problem& g, int64_t ic, int64_t mc, int64_t pc, int64_t kc, int64_t jc, int64_t nc,
                 const float* bp, float* ap) {
  const bool first = pc == 0;
  const float beta = first ? g.beta : 1.0f;
  const bool read_c = !first || g.beta != 0.0f;
  // micro-panels [0, full) are read in place when a_in_place, the rest from ap
  const int64_t full = g.a_in_place ? mc / MR * MR : 0;
  if (full < mc) pack_a_block(g, ic + full, mc - full, pc, kc, ap + full * kc);
  const Operand& a = g.a[0];
  const int epi = pc + kc >= g.k ? g.epi : LR_SGEMM_EPI_NONE;
  for (int64_t jr = 0; jr < nc; jr += NR) {
    int q = 0;
    int64_t j0 = jc + jr, nr = imin(NR, nc - jr);
    if (!g.along_k) {
      q = g.part_of(jc + jr);
      j0 -= g.start[q];
      nr = imin(NR, g.extent[q] - j0);
    }
    float* const cq = g.c[q] + j0;
    float* const xq = epi != LR_SGEMM_EPI_NONE ? g.aux[q] + j0 : nullptr;
    const int64_t ldc = g.ldc[q], ldx = g.ldaux[q];
    for (int64_t ir = 0; ir < mc; ir += MR) {
      float* const ct = cq + (ic + ir) * ldc;
      float* const xt = xq != nullptr ? xq + (ic + ir) * ldx : nullptr;
      const int64_t mr = imin(MR, mc - ir);
      if (ir >= full)
        micro_tile<false>(kc, ap + ir * kc, MR, bp + jr * kc, ct, ldc, mr, nr, g.alpha, beta, read_c, epi, xt, ldx);
      else if (a.t)
        micro_tile<false>(kc, a.p + pc * a.ld + ic + ir, a.ld, bp + jr * kc, ct, ldc, mr, nr, g.alpha,
                          beta, read_c, epi, xt, ldx);
      else
        micro_tile<true>(kc, a.p + (ic + ir) * a.ld + pc, a.ld, bp + jr * kc, ct, ldc, mr, nr, g.alpha,
                         beta, read_c, epi, xt, ldx);
    }
  }
}

// C[m0:m1, n0:n1] (virtual columns) on the calling thread
void gemm_slice(const Problem& g, int64_t m0, int64_t m1, int64_t n0, int64_t n1, float* ap,
                float* bp) {
  for (int64_t jc = n0; jc < n1; jc += g.nc) {
    const int64_t nc = imin(g.nc, n1 - jc);
    for (int64_t pc = 0; pc < g.k; pc += g.kc) {
      const int64_t kc = imin(g.kc, g.k - pc);
      pack_b(g, pc, kc, jc, nc, bp);
      for (int64_t ic = m0; ic < m1; ic += MC) sweep_block(g, ic, imin(MC, m1 - ic), pc, kc, jc, nc, bp, ap);
    }
  }
}

// C = beta * C when there is no product to add (k == 0), then the epilogue
void scale_c(float* c, int64_t ldc, int64_t m, int64_t n, float beta, int epi = LR_SGEMM_EPI_NONE,
             float* aux = nullptr, int64_t ldaux = 0) {
  for (int64_t i = 0; i < m; ++i) {
    for (int64_t j = 0; j < n; ++j) c[i * ldc + j] = beta == 0.0f ? 0.0f : beta * c[i * ldc + j];
    if (epi == LR_SGEMM_EPI_NONE) continue;
    for (int64_t j = 0; j < n; j += NR) {
      alignas(64) float t[NR];
      const int64_t nr = imin(NR, n - j);
      for (int64_t q = 0; q < NR; ++q) t[q] = q < nr ? c[i * ldc + j + q] : 0.0f;
      epilogue_row(t, nr, epi, aux + i * ldaux + j);
      for (int64_t q = 0; q < nr; ++q) c[i * ldc + j + q] = t[q];
    }
  }
}

}  // namespace

int lr::LR_SUFFIX(sgemm)(const lr::GemmSpec& s) {
  const int64_t m = s.m;
  Problem g{};
  g.along_k = s.along_k;
  g.parts = s.parts;
  g.alpha = s.alpha;
  g.beta = s.beta;
  g.epi = s.along_k ? LR_SGEMM_EPI_NONE : s.epilogue;
  int64_t n = 0;   // virtual columns
  g.start[0] = 0;
  for (int q = 0; q < s.parts; ++q) {
    const lr::GemmPart& p = s.part[q];
    g.a[q] = {p.a, p.lda, s.trans_a != 0};
    g.b[q] = {p.b, p.ldb, s.trans_b != 0};
    g.c[q] = p.c;
    g.ldc[q] = p.ldc;
    g.aux[q] = p.aux;
    g.ldaux[q] = p.ldaux;
    g.extent[q] = p.extent;
    g.start[q + 1] = g.start[q] + (s.along_k ? p.extent : (p.extent + NR - 1) / NR * NR);
  }
  if (s.along_k) {
    n = s.n;
    g.k = g.start[s.parts];
  } else {
    n = g.start[s.parts];
    g.k = s.k;
  }
  if (m <= 0 || n <= 0) return 0;
  if (g.k <= 0) {
    if (s.along_k) scale_c(g.c[0], g.ldc[0], m, n, s.beta);
    else
      for (int q = 0; q < s.parts; ++q) scale_c(g.c[q], g.ldc[q], m, g.extent[q], s.beta, g.epi, g.aux[q], g.ldaux[q]);
    return 0;
  }
  const int64_t n_real = s.along_k ? n : s.n;   // without the parts' pad columns
  const int64_t k = g.k;
  g.kc = m * n_real >= C_LARGE && k <= KC_ONE ? k : KC;
  g.nc = imax(NR, B_BLOCK / g.kc / NR * NR);
  const int a_mode = g_sgemm_a_mode.load(std::memory_order_relaxed);
  // op(A) in place by default: packing it cost more than it saved at every shape of a training
  // step (sgemm_bench, 2 threads: 0-13% faster in place, e.g. dA = x'dh 0.96 -> 0.84 ms). A k-sum
  // of several parts packs it (a micro-tile reads one A).
  g.a_in_place = a_mode != LR_SGEMM_A_PACKED && !(s.along_k && s.parts > 1);
  int nt = lr::threads_for((double)m * (double)n_real * (double)k);
  if (s.max_threads > 0 && nt > s.max_threads) nt = s.max_threads;
  // Each thread takes a contiguous slice of m or n, cut at micro-tile boundaries, and goes through
  // all of the other operand: packs all of B (k x n) when m is split, reads all of A (m x k) when
  // n is. Splitting the larger of m and n does that for the smaller operand (dB = z^T dy at
  // 128 x 512 x 2048: split n).
  const int64_t tiles_m = (m + MR - 1) / MR, tiles_n = (n + NR - 1) / NR;
  bool split_m = m >= n;
  if (split_m ? tiles_m < nt : tiles_n < nt) split_m = tiles_m >= tiles_n;
  const int64_t tiles = split_m ? tiles_m : tiles_n;
  if (nt > tiles) nt = (int)tiles;
  if (nt < 1) nt = 1;
  auto run = [&g](int64_t m0, int64_t m1, int64_t n0, int64_t n1) {
    if (!t_pack.ensure()) return false;
    gemm_slice(g, m0, m1, n0, n1, t_pack.a, t_pack.b);
    return true;
  };
  if (nt <= 1) return run(0, m, 0, n) ? 0 : -1;
  int failed = 0;
#pragma omp parallel num_threads(nt) reduction(| : failed)
  {
    const int t = omp_get_thread_num(), nth = omp_get_num_threads();
    const int64_t t0 = tiles * t / nth, t1 = tiles * (t + 1) / nth;
    const bool ok = split_m ? run(t0 * MR, imin(m, t1 * MR), 0, n) : run(0, m, t0 * NR, imin(n, t1 * NR));
    if (!ok) failed = 1;
  }
  return failed ? -1 : 0;
}
