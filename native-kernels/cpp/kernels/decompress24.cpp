// decompress24: 2:4 compressed (vals, meta, tail) -> dense Y[rows, cols],
// zeros at pruned positions. Layout: include/lowrank_native.h.
//
// Fast paths, per row:
//   AVX-512: 4 groups per step: 16-bit lane mask from the 4 metadata nibbles,
//     vexpandps scatters the 8 values to their lanes (zeros elsewhere).
//   AVX2: 2 groups per step: vpermilps with per-nibble index/mask tables.
//   scalar: zero the group, write the two kept values.
#include <string.h>

#include "internal.h"
#include "simd.h"

#if LR_ISA == 0
extern "C" void lr_ref_decompress24(const float* vals, const uint8_t* meta, const float* tail,
                                    int64_t rows, int64_t cols, float* y, int64_t ldy) {
  const int64_t G = cols / 4, T = cols % 4;
  for (int64_t r = 0; r < rows; ++r) {
    float* yr = y + r * ldy;
    for (int64_t g = 0; g < G; ++g) {
      unsigned m = meta[r * G + g];
      for (int j = 0; j < 4; ++j) yr[4 * g + j] = 0.0f;
      yr[4 * g + (m & 3)] = vals[r * 2 * G + 2 * g];
      yr[4 * g + ((m >> 2) & 3)] = vals[r * 2 * G + 2 * g + 1];
    }
    for (int64_t t = 0; t < T; ++t) yr[4 * G + t] = tail[r * T + t];
  }
}

extern "C" void lr_decompress24(const float* vals, const uint8_t* meta, const float* tail,
                                int64_t rows, int64_t cols, float* y, int64_t ldy) {
  switch (lr_get_isa()) {
#if defined(LR_HAVE_AVX512_TU)
    case LR_ISA_AVX512: lr::decompress24_avx512(vals, meta, tail, rows, cols, y, ldy); return;
#endif
#if defined(LR_HAVE_AVX2_TU)
    case LR_ISA_AVX2: lr::decompress24_avx2(vals, meta, tail, rows, cols, y, ldy); return;
#endif
    default: lr::decompress24_scalar(vals, meta, tail, rows, cols, y, ldy); return;
  }
}
#endif  // LR_ISA == 0

namespace {

#if LR_ISA == 1
struct DecLut {
  int32_t idx[16][4];   // vpermilps selector per position (0: v0, 1: v1)
  int32_t mask[16][4];  // -1 where the position is kept
  constexpr DecLut() : idx{}, mask{} {
    for (int nib = 0; nib < 16; ++nib) {
      int i0 = nib & 3, i1 = nib >> 2;
      for (int p = 0; p < 4; ++p) {
        idx[nib][p] = (p == i1) ? 1 : 0;
        mask[nib][p] = (p == i0 || p == i1) ? -1 : 0;
      }
    }
  }
};
constexpr DecLut kDec{};
#endif

void decompress_row(const float* v, const uint8_t* m, const float* t, int64_t G, int64_t T,
                    float* y) {
  int64_t g = 0;
#if LR_ISA == 2
  for (; g + 4 <= G; g += 4) {
    uint32_t mm;
    memcpy(&mm, m + g, 4);
    unsigned k = lr::kNibKeep[mm & 15] | lr::kNibKeep[(mm >> 8) & 15] << 4 |
                 lr::kNibKeep[(mm >> 16) & 15] << 8 | lr::kNibKeep[(mm >> 24) & 15] << 12;
    __m512 src = _mm512_castps256_ps512(_mm256_loadu_ps(v + 2 * g));
    _mm512_storeu_ps(y + 4 * g, _mm512_maskz_expand_ps((__mmask16)k, src));
  }
#elif LR_ISA == 1
  const __m256i two = _mm256_setr_epi32(0, 0, 0, 0, 2, 2, 2, 2);
  for (; g + 2 <= G; g += 2) {
    unsigned ma = m[g] & 15, mb = m[g + 1] & 15;
    __m128 src = _mm_loadu_ps(v + 2 * g);  // a0 a1 b0 b1
    __m256 vv = _mm256_set_m128(src, src);
    __m256i idx = _mm256_set_m128i(_mm_loadu_si128((const __m128i*)kDec.idx[mb]),
                                   _mm_loadu_si128((const __m128i*)kDec.idx[ma]));
    idx = _mm256_add_epi32(idx, two);
    __m256i msk = _mm256_set_m128i(_mm_loadu_si128((const __m128i*)kDec.mask[mb]),
                                   _mm_loadu_si128((const __m128i*)kDec.mask[ma]));
    _mm256_storeu_ps(y + 4 * g,
                     _mm256_and_ps(_mm256_permutevar_ps(vv, idx), _mm256_castsi256_ps(msk)));
  }
#endif
  for (; g < G; ++g) {
    unsigned mg = m[g];
    float* yg = y + 4 * g;
    yg[0] = yg[1] = yg[2] = yg[3] = 0.0f;
    yg[mg & 3] = v[2 * g];
    yg[(mg >> 2) & 3] = v[2 * g + 1];
  }
  for (int64_t i = 0; i < T; ++i) y[4 * G + i] = t[i];
}

}  // namespace

void lr::LR_SUFFIX(decompress24)(const float* vals, const uint8_t* meta, const float* tail,
                                 int64_t rows, int64_t cols, float* y, int64_t ldy) {
  const int64_t G = cols / 4, T = cols % 4;
  const int nt = lr::threads_for((double)rows * (double)cols * 0.25);
#pragma omp parallel for num_threads(nt) schedule(static)
  for (int64_t r = 0; r < rows; ++r)
    decompress_row(vals + r * 2 * G, meta + r * G, tail + r * T, G, T, y + r * ldy);
}
