// rope: the rotary position embedding of the attention's q and k, in place,
// forward (inverse = 0) and its backward / inverse rotation (inverse != 0):
// row r of x[rows, heads * head_dim] is position t = r % seq_len, and in every
// head the pair (x[i], x[half + i]) is rotated by the angle of table entry
// (t, i) (rotate-half form, FloatKernels.rope). Contract: include/lowrank_native.h.
//
// Fast path: per (row, head), vectors of i over [0, half): the cos/sin of the
// row's position, the two halves of the head, x1 c - x2 s and x2 c + x1 s with
// FMAs, masked tail when half is not a multiple of the vector width. Rows are
// independent: split over the OpenMP threads, on the calling thread below 2^19
// elements (the element-wise kernels' threshold, vmath.h parallel_blocks).
#include "internal.h"
#include "vmath.h"

#if LR_ISA == 0
extern "C" void lr_ref_rope(float* x, const float* cos, const float* sin, int64_t rows, int64_t seq_len,
                            int64_t heads, int64_t head_dim, int inverse) {
  const int64_t d = heads * head_dim, half = head_dim / 2;
  const double sign = inverse ? -1.0 : 1.0;
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t t = r % seq_len;
    for (int64_t h = 0; h < heads; ++h) {
      float* o = x + r * d + h * head_dim;
      for (int64_t i = 0; i < half; ++i) {
        const double c = cos[t * half + i], s = sign * (double)sin[t * half + i];
        const double x1 = o[i], x2 = o[half + i];
        o[i] = (float)(x1 * c - x2 * s);
        o[half + i] = (float)(x2 * c + x1 * s);
      }
    }
  }
}

extern "C" void lr_rope(float* x, const float* cos, const float* sin, int64_t rows, int64_t seq_len,
                        int64_t heads, int64_t head_dim, int inverse) {
  switch (lr_get_isa()) {
#if defined(LR_HAVE_AVX512_TU)
    case LR_ISA_AVX512: lr::rope_avx512(x, cos, sin, rows, seq_len, heads, head_dim, inverse); return;
#endif
#if defined(LR_HAVE_AVX2_TU)
    case LR_ISA_AVX2: lr::rope_avx2(x, cos, sin, rows, seq_len, heads, head_dim, inverse); return;
#endif
    default: lr::rope_scalar(x, cos, sin, rows, seq_len, heads, head_dim, inverse); return;
  }
}
#endif  // LR_ISA == 0

namespace {

// one head: o[0, half) and o[half, 2 half) rotated by (c[i], sign * s[i])
inline void rope_head(float* o, const float* c, const float* s, int64_t half, vf sign) {
  float* o2 = o + half;
  int64_t i = 0;
  for (; i + F::W <= half; i += F::W) {
    const vf cv = F::load(c + i), sv = F::mul(sign, F::load(s + i));
    const vf x1 = F::load(o + i), x2 = F::load(o2 + i);
    F::store(o + i, F::fnma(x2, sv, F::mul(x1, cv)));   // x1 c - x2 s
    F::store(o2 + i, F::fma(x1, sv, F::mul(x2, cv)));   // x2 c + x1 s
  }
  if (i < half) {
    const F::m k = F::mask(half - i);
    const vf cv = F::loadm(c + i, k, F::zero()), sv = F::mul(sign, F::loadm(s + i, k, F::zero()));
    const vf x1 = F::loadm(o + i, k, F::zero()), x2 = F::loadm(o2 + i, k, F::zero());
    F::storem(o + i, F::fnma(x2, sv, F::mul(x1, cv)), k);
    F::storem(o2 + i, F::fma(x1, sv, F::mul(x2, cv)), k);
  }
}

}  // namespace

void lr::LR_SUFFIX(rope)(float* x, const float* cos, const float* sin, int64_t rows, int64_t seq_len,
                         int64_t heads, int64_t head_dim, int inverse) {
  const int64_t d = heads * head_dim, half = head_dim / 2, n = rows * d;
  // 4 multiply-adds per rotated pair, 2 elements per pair
  const int nt = n < kMinParallel ? 1 : lr::threads_for((double)n * 2.0);
  const vf sign = F::set1(inverse ? -1.0f : 1.0f);
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t t = r % seq_len;
    const float* c = cos + t * half;
    const float* s = sin + t * half;
    float* row = x + r * d;
    for (int64_t h = 0; h < heads; ++h) rope_head(row + h * head_dim, c, s, half, sign);
  }
}
