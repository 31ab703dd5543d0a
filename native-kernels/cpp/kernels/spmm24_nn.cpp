// spmm24_nn: Y[rows, n] = beta*Y + S[rows, cols] . W[cols, n], S 2:4 compressed
// (the ELAS down-projection forward y2s x W). Layout: include/lowrank_native.h.
//
// Each kept value s = S[r, 4g+i] is an axpy of W's row 4g+i into Y's row r,
// so half the multiply-adds of the dense product. Blocking (per OpenMP tile
// of RB rows x NB columns, NB = NVMAX vectors):
//   for each block of KBG groups: pack the W block (4*KBG rows x NB columns)
//   contiguously (no cache-set conflicts from power-of-two ldw; sized to stay
//   in L1 while all RB rows of the tile stream past it), then
//     for each pair of rows: 2*NV accumulators in registers, loaded from Y
//     (or beta*Y / zero on the first block), then per kept value one
//     broadcast and NV FMAs whose W operand comes straight from L1 at the
//     row the metadata selects; written back once per block.
// Tail features (cols % 4) are dense and handled after the last block.
#include "internal.h"
#include "simd.h"

#if LR_ISA == 0
extern "C" void lr_ref_spmm24_nn(const float* vals, const uint8_t* meta, const float* tail,
                                 int64_t rows, int64_t cols, const float* w, int64_t ldw, int64_t n,
                                 float beta, float* y, int64_t ldy) {
  const int64_t G = cols / 4, T = cols % 4;
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t c = 0; c < n; ++c) {
      double acc = 0.0;
      for (int64_t g = 0; g < G; ++g) {
        unsigned m = meta[r * G + g];
        acc += (double)vals[r * 2 * G + 2 * g] * w[(4 * g + (m & 3)) * ldw + c];
        acc += (double)vals[r * 2 * G + 2 * g + 1] * w[(4 * g + ((m >> 2) & 3)) * ldw + c];
      }
      for (int64_t t = 0; t < T; ++t) acc += (double)tail[r * T + t] * w[(4 * G + t) * ldw + c];
      float* yc = &y[r * ldy + c];
      *yc = beta == 0.0f ? (float)acc : (float)(beta * (double)*yc + acc);
    }
  }
}

extern "C" void lr_spmm24_nn(const float* vals, const uint8_t* meta, const float* tail,
                             int64_t rows, int64_t cols, const float* w, int64_t ldw, int64_t n,
                             float beta, float* y, int64_t ldy) {
  switch (lr_get_isa()) {
#if defined(LR_HAVE_AVX512_TU)
    case LR_ISA_AVX512:
      lr::spmm24_nn_avx512(vals, meta, tail, rows, cols, w, ldw, n, beta, y, ldy);
      return;
#endif
#if defined(LR_HAVE_AVX2_TU)
    case LR_ISA_AVX2:
      lr::spmm24_nn_avx2(vals, meta, tail, rows, cols, w, ldw, n, beta, y, ldy);
      return;
#endif
    default: lr::spmm24_nn_scalar(vals, meta, tail, rows, cols, w, ldw, n, beta, y, ldy); return;
  }
}
#endif  // LR_ISA == 0

namespace {

#if LR_ISA == 2 && defined(LR_NN_NV)
constexpr int NVMAX = LR_NN_NV;
constexpr int KBG = LR_NN_KBG;
#elif LR_ISA == 2
constexpr int NVMAX = 8;   // 128 columns: 2 rows x 8 zmm accumulators
constexpr int KBG = 16;    // 64 W rows x 512 B = 32 KiB
#elif LR_ISA == 1
constexpr int NVMAX = 4;   // 32 columns: 2 rows x 4 ymm accumulators
constexpr int KBG = 64;    // 256 W rows x 128 B = 32 KiB
#else
constexpr int NVMAX = 8;
constexpr int KBG = 64;
#endif
#ifdef LR_NN_NR
constexpr int NR = LR_NN_NR;
#else
constexpr int NR = 2;  // rows per micro-kernel call
#endif
#ifdef LR_NN_RB
constexpr int64_t RB = LR_NN_RB;
#else
constexpr int64_t RB = 128;  // rows per tile
#endif
constexpr int NB = NVMAX * V::W;

struct Args {
  const float* vals;
  const uint8_t* meta;
  const float* tail;
  int64_t G, T;
  const float* w;
  int64_t ldw;
  float beta;
  float* y;
  int64_t ldy;
};

template <int NV, bool PART>
inline void load_acc(V::f* acc, const float* yr, bool first, float beta, V::m km) {
  if (first && beta == 0.0f) {
    for (int v = 0; v < NV; ++v) acc[v] = V::zero();
  } else {
    for (int v = 0; v < NV; ++v)
      acc[v] = (PART && v == NV - 1) ? V::loadm(yr + v * V::W, km) : V::load(yr + v * V::W);
    if (first && beta != 1.0f) {
      V::f b = V::set1(beta);
      for (int v = 0; v < NV; ++v) acc[v] = V::mul(acc[v], b);
    }
  }
}

template <int NV, bool PART>
inline void store_acc(const V::f* acc, float* yr, V::m km) {
  for (int v = 0; v < NV; ++v) {
    if (PART && v == NV - 1)
      V::storem(yr + v * V::W, acc[v], km);
    else
      V::store(yr + v * V::W, acc[v]);
  }
}

// rows [r, r+NR) (NR = 1 or 2), columns [c0, c0 + NV*W) (last vector masked
// if PART), groups [ga, gb) whose W rows are packed in wp (row stride NV*W,
// zero padded), plus the tail features (packed after them) if do_tail.
template <int NR, int NV, bool PART>
inline void row_block(const Args& a, int64_t r, int64_t c0, V::m km, int64_t ga, int64_t gb,
                      const float* wp, bool first, bool do_tail) {
  constexpr int64_t LDP = NV * V::W;
  V::f acc[NR][NV];
  for (int i = 0; i < NR; ++i)
    load_acc<NV, PART>(acc[i], a.y + (r + i) * a.ldy + c0, first, a.beta, km);
  const float* vr[NR];
  const uint8_t* mr[NR];
  for (int i = 0; i < NR; ++i) {
    vr[i] = a.vals + (r + i) * 2 * a.G;
    mr[i] = a.meta + (r + i) * a.G;
  }
  const float* wg = wp;
  for (int64_t g = ga; g < gb; ++g, wg += 4 * LDP) {
    for (int i = 0; i < NR; ++i) {
      const unsigned m = mr[i][g];
      const float* wa = wg + (m & 3) * LDP;
      const float* wb = wg + ((m >> 2) & 3) * LDP;
      const V::f sa = V::set1(vr[i][2 * g]);
      const V::f sb = V::set1(vr[i][2 * g + 1]);
      for (int v = 0; v < NV; ++v) acc[i][v] = V::fma(sa, V::load(wa + v * V::W), acc[i][v]);
      for (int v = 0; v < NV; ++v) acc[i][v] = V::fma(sb, V::load(wb + v * V::W), acc[i][v]);
    }
  }
  if (do_tail) {
    for (int64_t t = 0; t < a.T; ++t) {
      const float* wt = wg + t * LDP;
      for (int i = 0; i < NR; ++i) {
        const V::f s = V::set1(a.tail[(r + i) * a.T + t]);
        for (int v = 0; v < NV; ++v) acc[i][v] = V::fma(s, V::load(wt + v * V::W), acc[i][v]);
      }
    }
  }
  for (int i = 0; i < NR; ++i) store_acc<NV, PART>(acc[i], a.y + (r + i) * a.ldy + c0, km);
}

// copy W rows [j0, j1) x columns [c0, c0+nc) to wp, row stride ldp, zero padded
inline void pack_rows(const float* w, int64_t ldw, int64_t j0, int64_t j1, int64_t c0, int64_t nc,
                      float* wp, int64_t ldp) {
  for (int64_t j = j0; j < j1; ++j, wp += ldp) {
    const float* src = w + j * ldw + c0;
    int64_t c = 0;
    for (; c < nc; ++c) wp[c] = src[c];
    for (; c < ldp; ++c) wp[c] = 0.0f;
  }
}

template <int NV, bool PART>
void tile(const Args& a, int64_t r0, int64_t r1, int64_t c0, int64_t nc, V::m km) {
  constexpr int64_t LDP = NV * V::W;
  alignas(64) float wp[(4 * KBG + 3) * LDP];
  const int64_t G = a.G;
  int64_t ga = 0;
  do {
    const int64_t gb = imin(G, ga + KBG);
    const bool first = ga == 0, last = gb == G;
    pack_rows(a.w, a.ldw, 4 * ga, 4 * gb, c0, nc, wp, LDP);
    if (last) pack_rows(a.w, a.ldw, 4 * G, 4 * G + a.T, c0, nc, wp + 4 * (gb - ga) * LDP, LDP);
    int64_t r = r0;
    for (; r + NR <= r1; r += NR) row_block<NR, NV, PART>(a, r, c0, km, ga, gb, wp, first, last);
    for (; r < r1; ++r) row_block<1, NV, PART>(a, r, c0, km, ga, gb, wp, first, last);
    ga = gb;
  } while (ga < G);
}

template <int NV>
void tile_nv(const Args& a, int64_t r0, int64_t r1, int64_t c0, int64_t nc) {
  if (nc == (int64_t)NV * V::W)
    tile<NV, false>(a, r0, r1, c0, nc, V::mask(V::W));
  else
    tile<NV, true>(a, r0, r1, c0, nc, V::mask((int)(nc - (NV - 1) * V::W)));
}

template <int NV>
void dispatch_nv(int nv, const Args& a, int64_t r0, int64_t r1, int64_t c0, int64_t nc) {
  if constexpr (NV > 1) {
    if (nv < NV) return dispatch_nv<NV - 1>(nv, a, r0, r1, c0, nc);
  }
  tile_nv<NV>(a, r0, r1, c0, nc);
}

}  // namespace

void lr::LR_SUFFIX(spmm24_nn)(const float* vals, const uint8_t* meta, const float* tail,
                              int64_t rows, int64_t cols, const float* w, int64_t ldw, int64_t n,
                              float beta, float* y, int64_t ldy) {
  if (rows <= 0 || n <= 0) return;
  const Args a{vals, meta, tail, cols / 4, cols % 4, w, ldw, beta, y, ldy};
  const int64_t nrb = (rows + RB - 1) / RB, ncb = (n + NB - 1) / NB;
  const int64_t ntiles = nrb * ncb;
  const int nt = lr::threads_for((double)rows * (double)(cols / 2 + 1) * (double)n);
#pragma omp parallel for num_threads(nt) schedule(dynamic, 1)
  for (int64_t t = 0; t < ntiles; ++t) {
    const int64_t rb = t / ncb, cb = t % ncb;
    const int64_t r0 = rb * RB, r1 = imin(rows, r0 + RB);
    const int64_t c0 = cb * NB, nc = imin(n - c0, (int64_t)NB);
    const int nv = (int)((nc + V::W - 1) / V::W);
    dispatch_nv<NVMAX>(nv, a, r0, r1, c0, nc);
  }
}
