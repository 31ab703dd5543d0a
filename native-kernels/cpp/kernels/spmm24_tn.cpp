// spmm24_tn: dW[cols, n] = beta*dW + S^T[cols, rows] . G[rows, n], S 2:4
// compressed (the ELAS backward weight gradient, taking the compressed y2).
// Layout: include/lowrank_native.h.
//
// dW row 4g+i receives s[r,4g+i] * G[r,:] from every token r that kept
// feature i of group g. Which row a token feeds is data-dependent, so tokens
// are bucketed per group by their pair class (i0,i1) (6 classes); inside one
// class the two destination rows are fixed, and the products accumulate in
// 2*NV vector registers (acc_i0 += v0*G[r], acc_i1 += v1*G[r]: one G load
// feeds two FMAs), flushed into dW once per (class, token block). Half the
// multiply-adds of the dense product, no read-modify-write of dW per token.
//
// Blocking, per OpenMP tile of GR groups x up to NT columns (tiles own
// disjoint dW blocks, no atomics):
//   beta-scale the dW block;
//   for each block of RBT tokens:
//     bucket the tokens of every group of the tile by class: bit sets from
//     one row-major pass over the metadata, then per group the 6 token lists
//     (AVX-512: vpcompressb), reused for all column chunks;
//     for each chunk of NB = NV vectors columns: pack the G block (RBT x NB)
//     contiguously into L1 (power-of-two ldg would thrash cache sets); per
//     group the 4 dW rows (4 x NV vectors) live in registers while the 6
//     classes (unrolled at compile time, so their rows are fixed) stream
//     their tokens: one G load feeds two FMAs; then one add into dW.
//   The dense tail features (cols % 4) go with the tile holding the last
//   group range.
#include <stdlib.h>

#include "internal.h"
#include "simd.h"

#if LR_ISA == 0
extern "C" void lr_ref_spmm24_tn(const float* vals, const uint8_t* meta, const float* tail,
                                 int64_t rows, int64_t cols, const float* g, int64_t ldg, int64_t n,
                                 float beta, float* dw, int64_t lddw) {
  const int64_t G = cols / 4, T = cols % 4;
  double* acc = (double*)calloc((size_t)(n > 0 ? n : 1), sizeof(double));
  for (int64_t j = 0; j < cols; ++j) {
    for (int64_t c = 0; c < n; ++c) acc[c] = 0.0;
    for (int64_t r = 0; r < rows; ++r) {
      double s = 0.0;  // S[r, j] from the compressed form
      if (j < 4 * G) {
        const int64_t grp = j / 4, i = j % 4;
        unsigned m = meta[r * G + grp];
        if ((m & 3) == i) s += vals[r * 2 * G + 2 * grp];
        if (((m >> 2) & 3) == i) s += vals[r * 2 * G + 2 * grp + 1];
      } else {
        s = tail[r * T + (j - 4 * G)];
      }
      if (s != 0.0)
        for (int64_t c = 0; c < n; ++c) acc[c] += s * g[r * ldg + c];
    }
    for (int64_t c = 0; c < n; ++c) {
      float* d = &dw[j * lddw + c];
      *d = beta == 0.0f ? (float)acc[c] : (float)(beta * (double)*d + acc[c]);
    }
  }
  free(acc);
}

extern "C" void lr_spmm24_tn(const float* vals, const uint8_t* meta, const float* tail,
                             int64_t rows, int64_t cols, const float* g, int64_t ldg, int64_t n,
                             float beta, float* dw, int64_t lddw) {
  switch (lr_get_isa()) {
#if defined(LR_HAVE_AVX512_TU)
    case LR_ISA_AVX512:
      lr::spmm24_tn_avx512(vals, meta, tail, rows, cols, g, ldg, n, beta, dw, lddw);
      return;
#endif
#if defined(LR_HAVE_AVX2_TU)
    case LR_ISA_AVX2:
      lr::spmm24_tn_avx2(vals, meta, tail, rows, cols, g, ldg, n, beta, dw, lddw);
      return;
#endif
    default: lr::spmm24_tn_scalar(vals, meta, tail, rows, cols, g, ldg, n, beta, dw, lddw); return;
  }
}
#endif  // LR_ISA == 0

namespace {

#if LR_ISA == 2
constexpr int NVMAX = 4;  // 64 columns: 4 dW rows x 4 zmm accumulators
constexpr bool ROWS_IN_REGS = true;
#elif LR_ISA == 1
constexpr int NVMAX = 4;  // 32 columns: 2 class slots x 4 ymm accumulators (16 ymm only)
constexpr bool ROWS_IN_REGS = false;
#else
constexpr int NVMAX = 4;
constexpr bool ROWS_IN_REGS = false;
#endif
#ifndef LR_TN_GR
#define LR_TN_GR 64
#endif
#ifndef LR_TN_RBT
#define LR_TN_RBT 128
#endif
constexpr int NB = NVMAX * V::W;
constexpr int64_t RBT = LR_TN_RBT;  // tokens per block (uint8 token offsets)
constexpr int NW = (int)(RBT / 64);   // 64-bit mask words per (group, class)
constexpr int64_t GR = LR_TN_GR;    // groups per tile (at most; fewer when tiles are scarce)
constexpr int64_t NT = 512;         // columns per tile (only wide n is split)
constexpr int64_t LSTR = RBT + 64;  // list bytes per group (64 B slack for vector stores)

struct Args {
  const float* vals;
  const uint8_t* meta;
  const float* tail;
  int64_t rows, G, T;
  const float* g;
  int64_t ldg;
  float beta;
  float* dw;
  int64_t lddw;
};

// per-thread scratch
struct Scratch {
  uint64_t* mask;  // [GR][8][NW]: bit t = token tb+t has pair class c in group g
  uint8_t* list;   // [GR][LSTR]: token offsets grouped by class (ascending in each)
  uint16_t* off;   // [GR][8]: class c occupies list[off[c], off[c+1])
  float* gp;       // [RBT][NB] packed G block
};
constexpr size_t kMaskWords = GR * 8 * NW, kListBytes = GR * LSTR, kGpFloats = RBT * NB;

// Per token block: class bit sets by one row-major pass over the metadata
// (contiguous reads, independent mask words; invalid nibbles land in class
// 6, never read), then per group the token lists of the 6 classes.
void build_lists(const Args& a, const Scratch& S, int64_t ga, int64_t gb, int64_t tb, int64_t nb) {
  const int64_t ng = gb - ga;
  uint64_t* __restrict mk = S.mask;
  for (int64_t i = 0; i < ng * 8 * NW; ++i) mk[i] = 0;
  for (int64_t t = 0; t < nb; ++t) {
    const uint8_t* __restrict mrow = a.meta + (tb + t) * a.G + ga;
    const uint64_t bit = 1ull << (t & 63);
    uint64_t* __restrict mw = mk + (t >> 6);
    for (int64_t i = 0; i < ng; ++i) mw[(i * 8 + lr::kNibClass[mrow[i] & 15]) * NW] |= bit;
  }
#if LR_ISA == 2
  const __m512i iota = _mm512_set_epi8(
      63, 62, 61, 60, 59, 58, 57, 56, 55, 54, 53, 52, 51, 50, 49, 48, 47, 46, 45, 44, 43, 42, 41,
      40, 39, 38, 37, 36, 35, 34, 33, 32, 31, 30, 29, 28, 27, 26, 25, 24, 23, 22, 21, 20, 19, 18,
      17, 16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0);
#endif
  for (int64_t i = 0; i < ng; ++i) {
    uint8_t* lst = S.list + i * LSTR;
    uint16_t* off = S.off + i * 8;
    unsigned pos = 0;
    for (int c = 0; c < 6; ++c) {
      off[c] = (uint16_t)pos;
      for (int w = 0; w < NW; ++w) {
        uint64_t m = mk[(i * 8 + c) * NW + w];
#if LR_ISA == 2
        const __m512i ids = _mm512_add_epi8(iota, _mm512_set1_epi8((char)(64 * w)));
        _mm512_storeu_si512(lst + pos, _mm512_maskz_compress_epi8(m, ids));
        pos += (unsigned)__builtin_popcountll(m);
#else
        while (m != 0) {
          lst[pos++] = (uint8_t)(64 * w + __builtin_ctzll(m));
          m &= m - 1;
        }
#endif
      }
    }
    off[6] = (uint16_t)pos;
  }
}

// All tokens of one pair class (A,B) of one group: dW rows A and B of the
// group accumulate in registers (r[A], r[B]: 2*NV independent FMA chains).
template <int NV, int A, int B>
inline void class_pass(V::f (&r)[4][NV], const uint8_t* lst, unsigned ne, const float* gp,
                       const float* vg, int64_t vs) {
  constexpr int64_t LDP = NV * V::W;
  for (unsigned e = 0; e < ne; ++e) {
    const int64_t t = lst[e];
    const float* gr = gp + t * LDP;
    const float* vp = vg + t * vs;
    const V::f s0 = V::set1(vp[0]), s1 = V::set1(vp[1]);
    for (int v = 0; v < NV; ++v) {
      const V::f x = V::reg(V::load(gr + v * V::W));
      r[A][v] = V::fma(s0, x, r[A][v]);
      r[B][v] = V::fma(s1, x, r[B][v]);
    }
  }
}

// Same, for ISAs with too few registers for 4 x NV row accumulators: the
// class accumulates in 2*NV temporaries, added to the group's row block rb
// (4 x NV vectors in L1) at the end of the class.
template <int NV>
inline void class_pass_tmp(float* rb, int A, int B, const uint8_t* lst, unsigned ne,
                           const float* gp, const float* vg, int64_t vs) {
  constexpr int64_t LDP = NV * V::W;
  if (ne == 0) return;
  V::f a0[NV], a1[NV];
  for (int v = 0; v < NV; ++v) a0[v] = a1[v] = V::zero();
  for (unsigned e = 0; e < ne; ++e) {
    const int64_t t = lst[e];
    const float* gr = gp + t * LDP;
    const float* vp = vg + t * vs;
    const V::f s0 = V::set1(vp[0]), s1 = V::set1(vp[1]);
    for (int v = 0; v < NV; ++v) {
      const V::f x = V::reg(V::load(gr + v * V::W));
      a0[v] = V::fma(s0, x, a0[v]);
      a1[v] = V::fma(s1, x, a1[v]);
    }
  }
  for (int v = 0; v < NV; ++v) {
    V::store(rb + A * LDP + v * V::W, V::add(V::load(rb + A * LDP + v * V::W), a0[v]));
    V::store(rb + B * LDP + v * V::W, V::add(V::load(rb + B * LDP + v * V::W), a1[v]));
  }
}

template <int NV, bool PART>
inline void add_into(float* d, const V::f* acc, V::m km) {
  for (int v = 0; v < NV; ++v) {
    if (PART && v == NV - 1)
      V::storem(d + v * V::W, V::add(V::loadm(d + v * V::W, km), acc[v]), km);
    else
      V::store(d + v * V::W, V::add(V::load(d + v * V::W), acc[v]));
  }
}

// One column chunk [c, c+nc) of one token block for all groups of the tile.
template <int NV, bool PART>
void chunk(const Args& a, const Scratch& S, int64_t ga, int64_t gb, int64_t tb, int64_t nb,
           int64_t c, int64_t nc, V::m km, bool with_tail) {
  constexpr int64_t LDP = NV * V::W;
  // pack the G block (power-of-two ldg would thrash L1 sets), zero padded
  for (int64_t t = 0; t < nb; ++t) {
    const float* src = a.g + (tb + t) * a.ldg + c;
    float* dst = S.gp + t * LDP;
    int64_t k = 0;
    for (; k < nc; ++k) dst[k] = src[k];
    for (; k < LDP; ++k) dst[k] = 0.0f;
  }
  const int64_t vs = 2 * a.G;
  const float* gp = S.gp;
  for (int64_t g = ga; g < gb; ++g) {
    const float* vg = a.vals + tb * vs + 2 * g;
    const uint8_t* lst = S.list + (g - ga) * LSTR;
    const uint16_t* off = S.off + (g - ga) * 8;
    float* d = a.dw + 4 * g * a.lddw + c;
    if constexpr (ROWS_IN_REGS) {
      V::f r[4][NV];
      for (int j = 0; j < 4; ++j)
        for (int v = 0; v < NV; ++v) r[j][v] = V::zero();
      class_pass<NV, 0, 1>(r, lst + off[0], off[1] - off[0], gp, vg, vs);
      class_pass<NV, 0, 2>(r, lst + off[1], off[2] - off[1], gp, vg, vs);
      class_pass<NV, 0, 3>(r, lst + off[2], off[3] - off[2], gp, vg, vs);
      class_pass<NV, 1, 2>(r, lst + off[3], off[4] - off[3], gp, vg, vs);
      class_pass<NV, 1, 3>(r, lst + off[4], off[5] - off[4], gp, vg, vs);
      class_pass<NV, 2, 3>(r, lst + off[5], off[6] - off[5], gp, vg, vs);
      for (int j = 0; j < 4; ++j) add_into<NV, PART>(d + j * a.lddw, r[j], km);
    } else {
      alignas(64) float rb[4 * LDP];
      for (int k = 0; k < 4 * LDP; ++k) rb[k] = 0.0f;
      for (int cls = 0; cls < 6; ++cls)
        class_pass_tmp<NV>(rb, lr::kClassPair[cls][0], lr::kClassPair[cls][1], lst + off[cls],
                           off[cls + 1] - off[cls], gp, vg, vs);
      V::f r[NV];
      for (int j = 0; j < 4; ++j) {
        for (int v = 0; v < NV; ++v) r[v] = V::load(rb + j * LDP + v * V::W);
        add_into<NV, PART>(d + j * a.lddw, r, km);
      }
    }
  }
  if (with_tail) {
    for (int64_t tf = 0; tf < a.T; ++tf) {
      V::f acc[NV];
      for (int v = 0; v < NV; ++v) acc[v] = V::zero();
      for (int64_t t = 0; t < nb; ++t) {
        const V::f s = V::set1(a.tail[(tb + t) * a.T + tf]);
        for (int v = 0; v < NV; ++v) acc[v] = V::fma(s, V::load(gp + t * LDP + v * V::W), acc[v]);
      }
      add_into<NV, PART>(a.dw + (4 * a.G + tf) * a.lddw + c, acc, km);
    }
  }
}

template <int NV>
void chunk_nv(const Args& a, const Scratch& S, int64_t ga, int64_t gb, int64_t tb, int64_t nb,
              int64_t c, int64_t nc, bool with_tail) {
  if (nc == (int64_t)NV * V::W)
    chunk<NV, false>(a, S, ga, gb, tb, nb, c, nc, V::mask(V::W), with_tail);
  else
    chunk<NV, true>(a, S, ga, gb, tb, nb, c, nc, V::mask((int)(nc - (NV - 1) * V::W)), with_tail);
}

template <int NV>
void dispatch_nv(int nv, const Args& a, const Scratch& S, int64_t ga, int64_t gb, int64_t tb,
                 int64_t nb, int64_t c, int64_t nc, bool with_tail) {
  if constexpr (NV > 1) {
    if (nv < NV) return dispatch_nv<NV - 1>(nv, a, S, ga, gb, tb, nb, c, nc, with_tail);
  }
  chunk_nv<NV>(a, S, ga, gb, tb, nb, c, nc, with_tail);
}

void scale_rows(float* d, int64_t ld, int64_t j0, int64_t j1, int64_t c0, int64_t c1, float beta) {
  if (beta == 1.0f) return;
  for (int64_t j = j0; j < j1; ++j) {
    float* p = d + j * ld;
    if (beta == 0.0f)
      for (int64_t c = c0; c < c1; ++c) p[c] = 0.0f;
    else
      for (int64_t c = c0; c < c1; ++c) p[c] *= beta;
  }
}

void tile(const Args& a, const Scratch& S, int64_t ga, int64_t gb, int64_t c0, int64_t c1) {
  const bool with_tail = gb == a.G && a.T > 0;
  scale_rows(a.dw, a.lddw, 4 * ga, with_tail ? 4 * gb + a.T : 4 * gb, c0, c1, a.beta);
  for (int64_t tb = 0; tb < a.rows; tb += RBT) {
    const int64_t nb = imin(RBT, a.rows - tb);
    build_lists(a, S, ga, gb, tb, nb);
    for (int64_t c = c0; c < c1; c += NB) {
      const int64_t nc = imin((int64_t)NB, c1 - c);
      dispatch_nv<NVMAX>((int)((nc + V::W - 1) / V::W), a, S, ga, gb, tb, nb, c, nc, with_tail);
    }
  }
}

}  // namespace

void lr::LR_SUFFIX(spmm24_tn)(const float* vals, const uint8_t* meta, const float* tail,
                              int64_t rows, int64_t cols, const float* g, int64_t ldg, int64_t n,
                              float beta, float* dw, int64_t lddw) {
  if (cols <= 0 || n <= 0) return;
  const Args a{vals, meta, tail, rows, cols / 4, cols % 4, g, ldg, beta, dw, lddw};
  const int nt = lr::threads_for((double)rows * (double)(cols / 2 + 1) * (double)n);
  const int64_t nct = (n + NT - 1) / NT;
  // smaller group ranges when there would be fewer than ~4 tiles per thread
  int64_t gr = GR;
  while (gr > 16 && imax(1, (a.G + gr - 1) / gr) * nct < 4 * (int64_t)nt) gr /= 2;
  const int64_t ngr = imax(1, (a.G + gr - 1) / gr);
  const int64_t ntiles = ngr * nct;
#pragma omp parallel num_threads(nt)
  {
    alignas(64) uint64_t maskbuf[kMaskWords];
    alignas(64) uint8_t listbuf[kListBytes];
    alignas(64) uint16_t offbuf[GR * 8];
    alignas(64) float gpbuf[kGpFloats];
    const Scratch S{maskbuf, listbuf, offbuf, gpbuf};
#pragma omp for schedule(dynamic, 1)
    for (int64_t t = 0; t < ntiles; ++t) {
      const int64_t gi = t / nct, ci = t % nct;
      const int64_t ga = gi * gr, gb = imin(a.G, ga + gr);
      const int64_t c0 = ci * NT, c1 = imin(n, c0 + NT);
      tile(a, S, ga, gb, c0, c1);
    }
  }
}
