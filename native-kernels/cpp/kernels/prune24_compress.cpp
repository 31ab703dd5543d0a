// prune24_compress: dense X[rows, cols] -> 2:4 compressed (vals, meta, tail).
// Layout and selection rule: include/lowrank_native.h.
//
// Compiled once per ISA (LR_ISA = 0 scalar + reference + dispatcher, 1 AVX2,
// 2 AVX-512). Rows are independent: OpenMP over rows.
//
// Fast paths, per row:
//   AVX-512: 4 groups (16 floats) per step. Keys = bits & 0x7fffffff; every
//     lane is compared with the 3 other lanes of its group through in-lane
//     rotations (vpshufd); "j beats i" = key_j > key_i | (== and j < i); a
//     lane is kept unless >= 2 lanes beat it (majority of the 3 beat masks).
//     vcompressps packs the 8 kept values in feature order.
//   AVX2: same ranking on 2 groups (8 floats) per step, packing with
//     vpermps and a 256-entry index table.
//   scalar: the same ranking with integer compares, one group at a time.
#include <string.h>

#include "internal.h"
#include "simd.h"

#if LR_ISA == 0
extern "C" void lr_ref_prune24_compress(const float* x, int64_t ldx, int64_t rows, int64_t cols,
                                        float* vals, uint8_t* meta, float* tail) {
  const int64_t G = cols / 4, T = cols % 4;
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * ldx;
    for (int64_t g = 0; g < G; ++g) {
      uint32_t key[4];
      for (int j = 0; j < 4; ++j) {
        uint32_t u;
        memcpy(&u, &xr[4 * g + j], 4);
        key[j] = u & 0x7fffffffu;  // |x| order, NaN above inf
      }
      int a = 0;  // first maximum (strict >: lower index wins ties)
      for (int j = 1; j < 4; ++j)
        if (key[j] > key[a]) a = j;
      int b = -1;  // first maximum of the rest
      for (int j = 0; j < 4; ++j)
        if (j != a && (b < 0 || key[j] > key[b])) b = j;
      int i0 = a < b ? a : b, i1 = a < b ? b : a;
      vals[r * 2 * G + 2 * g] = xr[4 * g + i0];
      vals[r * 2 * G + 2 * g + 1] = xr[4 * g + i1];
      meta[r * G + g] = (uint8_t)(i0 | i1 << 2);
    }
    for (int64_t t = 0; t < T; ++t) tail[r * T + t] = xr[4 * G + t];
  }
}

extern "C" void lr_prune24_compress(const float* x, int64_t ldx, int64_t rows, int64_t cols,
                                    float* vals, uint8_t* meta, float* tail) {
  switch (lr_get_isa()) {
#if defined(LR_HAVE_AVX512_TU)
    case LR_ISA_AVX512: lr::prune24_compress_avx512(x, ldx, rows, cols, vals, meta, tail); return;
#endif
#if defined(LR_HAVE_AVX2_TU)
    case LR_ISA_AVX2: lr::prune24_compress_avx2(x, ldx, rows, cols, vals, meta, tail); return;
#endif
    default: lr::prune24_compress_scalar(x, ldx, rows, cols, vals, meta, tail); return;
  }
}
#endif  // LR_ISA == 0

namespace {

inline void compress_group(const float* x, float* v, uint8_t* m) {
  uint8_t mb = lr::kKeepMeta[keep_mask4(x)];
  v[0] = x[mb & 3];
  v[1] = x[(mb >> 2) & 3];
  *m = mb;
}

#if LR_ISA == 1
// keep byte (2 groups) -> vpermps indices of the 4 kept lanes
struct PermLut {
  int32_t idx[256][4];
  constexpr PermLut() : idx{} {
    for (int k = 0; k < 256; ++k) {
      int o = 0;
      for (int p = 0; p < 8 && o < 4; ++p)
        if (k >> p & 1) idx[k][o++] = p;
    }
  }
};
constexpr PermLut kPerm{};
#endif

void compress_row(const float* x, int64_t G, int64_t T, float* v, uint8_t* m, float* t) {
  int64_t g = 0;
#if LR_ISA == 2
  const __m512i absm = _mm512_set1_epi32(0x7fffffff);
  for (; g + 4 <= G; g += 4) {
    __m512 xv = _mm512_loadu_ps(x + 4 * g);
    __m512i k = _mm512_and_si512(_mm512_castps_si512(xv), absm);
    __m512i k1 = _mm512_shuffle_epi32(k, (_MM_PERM_ENUM)_MM_SHUFFLE(0, 3, 2, 1));  // (i+1)&3
    __m512i k2 = _mm512_shuffle_epi32(k, (_MM_PERM_ENUM)_MM_SHUFFLE(1, 0, 3, 2));  // (i+2)&3
    __m512i k3 = _mm512_shuffle_epi32(k, (_MM_PERM_ENUM)_MM_SHUFFLE(2, 1, 0, 3));  // (i+3)&3
    // j = (i+s)&3 < i  <=>  i >= 4-s
    __mmask16 b1 = _mm512_cmpgt_epi32_mask(k1, k) | (_mm512_cmpeq_epi32_mask(k1, k) & 0x8888);
    __mmask16 b2 = _mm512_cmpgt_epi32_mask(k2, k) | (_mm512_cmpeq_epi32_mask(k2, k) & 0xCCCC);
    __mmask16 b3 = _mm512_cmpgt_epi32_mask(k3, k) | (_mm512_cmpeq_epi32_mask(k3, k) & 0xEEEE);
    unsigned keep = ~((b1 & b2) | (b1 & b3) | (b2 & b3)) & 0xFFFFu;
    __m512 c = _mm512_maskz_compress_ps((__mmask16)keep, xv);
    _mm256_storeu_ps(v + 2 * g, _mm512_castps512_ps256(c));
    m[g] = lr::kKeepMeta[keep & 15];
    m[g + 1] = lr::kKeepMeta[(keep >> 4) & 15];
    m[g + 2] = lr::kKeepMeta[(keep >> 8) & 15];
    m[g + 3] = lr::kKeepMeta[(keep >> 12) & 15];
  }
#elif LR_ISA == 1
  const __m256i absm = _mm256_set1_epi32(0x7fffffff);
  const __m256i pos1 = _mm256_setr_epi32(0, 0, 0, -1, 0, 0, 0, -1);
  const __m256i pos2 = _mm256_setr_epi32(0, 0, -1, -1, 0, 0, -1, -1);
  const __m256i pos3 = _mm256_setr_epi32(0, -1, -1, -1, 0, -1, -1, -1);
  for (; g + 2 <= G; g += 2) {
    __m256 xv = _mm256_loadu_ps(x + 4 * g);
    __m256i k = _mm256_and_si256(_mm256_castps_si256(xv), absm);
    __m256i k1 = _mm256_shuffle_epi32(k, _MM_SHUFFLE(0, 3, 2, 1));
    __m256i k2 = _mm256_shuffle_epi32(k, _MM_SHUFFLE(1, 0, 3, 2));
    __m256i k3 = _mm256_shuffle_epi32(k, _MM_SHUFFLE(2, 1, 0, 3));
    __m256i b1 = _mm256_or_si256(_mm256_cmpgt_epi32(k1, k),
                                 _mm256_and_si256(_mm256_cmpeq_epi32(k1, k), pos1));
    __m256i b2 = _mm256_or_si256(_mm256_cmpgt_epi32(k2, k),
                                 _mm256_and_si256(_mm256_cmpeq_epi32(k2, k), pos2));
    __m256i b3 = _mm256_or_si256(_mm256_cmpgt_epi32(k3, k),
                                 _mm256_and_si256(_mm256_cmpeq_epi32(k3, k), pos3));
    __m256i maj = _mm256_or_si256(_mm256_or_si256(_mm256_and_si256(b1, b2), _mm256_and_si256(b1, b3)),
                                  _mm256_and_si256(b2, b3));
    unsigned keep = ~(unsigned)_mm256_movemask_ps(_mm256_castsi256_ps(maj)) & 0xFFu;
    __m256i idx = _mm256_castsi128_si256(_mm_loadu_si128((const __m128i*)kPerm.idx[keep]));
    __m256 p = _mm256_permutevar8x32_ps(xv, idx);
    _mm_storeu_ps(v + 2 * g, _mm256_castps256_ps128(p));
    m[g] = lr::kKeepMeta[keep & 15];
    m[g + 1] = lr::kKeepMeta[keep >> 4];
  }
#endif
  for (; g < G; ++g) compress_group(x + 4 * g, v + 2 * g, m + g);
  for (int64_t i = 0; i < T; ++i) t[i] = x[4 * G + i];
}

}  // namespace

void lr::LR_SUFFIX(prune24_compress)(const float* x, int64_t ldx, int64_t rows, int64_t cols,
                                     float* vals, uint8_t* meta, float* tail) {
  const int64_t G = cols / 4, T = cols % 4;
  const int nt = lr::threads_for((double)rows * (double)cols * 0.25);
#pragma omp parallel for num_threads(nt) schedule(static)
  for (int64_t r = 0; r < rows; ++r)
    compress_row(x + r * ldx, G, T, vals + r * 2 * G, meta + r * G, tail + r * T);
}
