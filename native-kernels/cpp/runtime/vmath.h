// Vector math for the fused element-wise kernels, one set per LR_ISA:
// F (float vector ops, masked tails, horizontal reductions, float -> double
// accumulation) and vexp / vsigmoid, the Cephes expf of the Java path
// (FloatKernels.expf: range reduction by ln 2, degree-6 polynomial, ~1 ulp on
// [-87.3, 88.4], +inf above, 0 below, NaN propagates) on a whole vector.
// Included only by kernel TUs; everything is in an anonymous namespace (see
// the ODR note in internal.h).
#ifndef LOWRANK_VMATH_H
#define LOWRANK_VMATH_H

#include <math.h>
#include <stdint.h>
#if LR_ISA > 0
#include <immintrin.h>
#endif

// GCC 12 reports its own _mm512_undefined_* placeholders inside the AVX-512
// intrinsics (max, sqrt, roundscale, ...) as "may be used uninitialized" once
// they are inlined at -O3: a known false positive (GCC PR 105593).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

namespace {

// Cephes expf constants (FloatKernels.expf)
constexpr float kExpHi = 88.3762626647949f;
constexpr float kExpLo = -87.3365447505531f;
constexpr float kLog2e = 1.44269504088896341f;
constexpr float kLn2Hi = 0.693359375f;
constexpr float kLn2Lo = -2.12194440e-4f;
constexpr float kP0 = 1.9875691500E-4f, kP1 = 1.3981999507E-3f, kP2 = 8.3334519073E-3f,
                kP3 = 4.1665795894E-2f, kP4 = 1.6666665459E-1f, kP5 = 5.0000001201E-1f;

#if LR_ISA == 2
struct F {
  typedef __m512 f;
  typedef __m512d d;  // half a float vector widened to double
  typedef __mmask16 m;
  enum { W = 16 };
  static inline f set1(float x) { return _mm512_set1_ps(x); }
  static inline f zero() { return _mm512_setzero_ps(); }
  static inline d zerod() { return _mm512_setzero_pd(); }
  static inline f load(const float* p) { return _mm512_loadu_ps(p); }
  static inline void store(float* p, f v) { _mm512_storeu_ps(p, v); }
  // lanes [0, k), 1 <= k < W; the other lanes read as `fill`, are never written
  static inline m mask(int64_t k) { return (__mmask16)((1u << k) - 1u); }
  static inline f loadm(const float* p, m k, f fill) { return _mm512_mask_loadu_ps(fill, k, p); }
  static inline void storem(float* p, f v, m k) { _mm512_mask_storeu_ps(p, k, v); }
  static inline f add(f a, f b) { return _mm512_add_ps(a, b); }
  static inline f sub(f a, f b) { return _mm512_sub_ps(a, b); }
  static inline f mul(f a, f b) { return _mm512_mul_ps(a, b); }
  static inline f div(f a, f b) { return _mm512_div_ps(a, b); }
  static inline f fma(f a, f b, f c) { return _mm512_fmadd_ps(a, b, c); }   // a*b + c
  static inline f fnma(f a, f b, f c) { return _mm512_fnmadd_ps(a, b, c); } // c - a*b
  static inline f sqrt(f a) { return _mm512_sqrt_ps(a); }
  // max/min return the SECOND operand when either is NaN (x86 semantics)
  static inline f max(f a, f b) { return _mm512_max_ps(a, b); }
  static inline f min(f a, f b) { return _mm512_min_ps(a, b); }
  static inline f floor(f a) { return _mm512_roundscale_ps(a, _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC); }
  static inline f pow2i(f z) {  // 2^z for integral z in [-126, 128] (128 gives +inf)
    __m512i e = _mm512_slli_epi32(_mm512_add_epi32(_mm512_cvttps_epi32(z), _mm512_set1_epi32(127)), 23);
    return _mm512_castsi512_ps(e);
  }
  static inline f select_gt(f x, f t, f a, f b) {  // x > t ? a : b
    return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(x, t, _CMP_GT_OQ), b, a);
  }
  static inline f select_lt(f x, f t, f a, f b) {  // x < t ? a : b
    return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(x, t, _CMP_LT_OQ), b, a);
  }
  static inline float hmax(f a) { return _mm512_reduce_max_ps(a); }
  static inline float hsum(f a) { return _mm512_reduce_add_ps(a); }
  static inline void accd(d& lo, d& hi, f x) {  // lo/hi += double(x)
    lo = _mm512_add_pd(lo, _mm512_cvtps_pd(_mm512_castps512_ps256(x)));
    hi = _mm512_add_pd(hi, _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(x), 1))));
  }
  static inline double hsumd(d a) { return _mm512_reduce_add_pd(a); }
  static inline d addd(d a, d b) { return _mm512_add_pd(a, b); }
};
#elif LR_ISA == 1
struct F {
  typedef __m256 f;
  typedef __m256d d;
  typedef __m256i m;
  enum { W = 8 };
  static inline f set1(float x) { return _mm256_set1_ps(x); }
  static inline f zero() { return _mm256_setzero_ps(); }
  static inline d zerod() { return _mm256_setzero_pd(); }
  static inline f load(const float* p) { return _mm256_loadu_ps(p); }
  static inline void store(float* p, f v) { _mm256_storeu_ps(p, v); }
  static inline m mask(int64_t k) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32((int)k), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  }
  static inline f loadm(const float* p, m k, f fill) {
    return _mm256_blendv_ps(fill, _mm256_maskload_ps(p, k), _mm256_castsi256_ps(k));
  }
  static inline void storem(float* p, f v, m k) { _mm256_maskstore_ps(p, k, v); }
  static inline f add(f a, f b) { return _mm256_add_ps(a, b); }
  static inline f sub(f a, f b) { return _mm256_sub_ps(a, b); }
  static inline f mul(f a, f b) { return _mm256_mul_ps(a, b); }
  static inline f div(f a, f b) { return _mm256_div_ps(a, b); }
  static inline f fma(f a, f b, f c) { return _mm256_fmadd_ps(a, b, c); }
  static inline f fnma(f a, f b, f c) { return _mm256_fnmadd_ps(a, b, c); }
  static inline f sqrt(f a) { return _mm256_sqrt_ps(a); }
  static inline f max(f a, f b) { return _mm256_max_ps(a, b); }
  static inline f min(f a, f b) { return _mm256_min_ps(a, b); }
  static inline f floor(f a) { return _mm256_floor_ps(a); }
  static inline f pow2i(f z) {
    __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvttps_epi32(z), _mm256_set1_epi32(127)), 23);
    return _mm256_castsi256_ps(e);
  }
  static inline f select_gt(f x, f t, f a, f b) { return _mm256_blendv_ps(b, a, _mm256_cmp_ps(x, t, _CMP_GT_OQ)); }
  static inline f select_lt(f x, f t, f a, f b) { return _mm256_blendv_ps(b, a, _mm256_cmp_ps(x, t, _CMP_LT_OQ)); }
  static inline float hmax(f a) {
    __m128 x = _mm_max_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
    x = _mm_max_ps(x, _mm_movehl_ps(x, x));
    x = _mm_max_ss(x, _mm_shuffle_ps(x, x, 1));
    return _mm_cvtss_f32(x);
  }
  static inline float hsum(f a) {
    __m128 x = _mm_add_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
    x = _mm_add_ps(x, _mm_movehl_ps(x, x));
    x = _mm_add_ss(x, _mm_shuffle_ps(x, x, 1));
    return _mm_cvtss_f32(x);
  }
  static inline void accd(d& lo, d& hi, f x) {
    lo = _mm256_add_pd(lo, _mm256_cvtps_pd(_mm256_castps256_ps128(x)));
    hi = _mm256_add_pd(hi, _mm256_cvtps_pd(_mm256_extractf128_ps(x, 1)));
  }
  static inline double hsumd(d a) {
    __m128d x = _mm_add_pd(_mm256_castpd256_pd128(a), _mm256_extractf128_pd(a, 1));
    x = _mm_add_sd(x, _mm_unpackhi_pd(x, x));
    return _mm_cvtsd_f64(x);
  }
  static inline d addd(d a, d b) { return _mm256_add_pd(a, b); }
};
#else
struct F {
  typedef float f;
  typedef double d;
  typedef int m;
  enum { W = 1 };
  static inline f set1(float x) { return x; }
  static inline f zero() { return 0.0f; }
  static inline d zerod() { return 0.0; }
  static inline f load(const float* p) { return *p; }
  static inline void store(float* p, f v) { *p = v; }
  static inline m mask(int64_t k) { return (int)k; }
  static inline f loadm(const float* p, m, f) { return *p; }  // never reached: W == 1 has no tail
  static inline void storem(float* p, f v, m) { *p = v; }
  static inline f add(f a, f b) { return a + b; }
  static inline f sub(f a, f b) { return a - b; }
  static inline f mul(f a, f b) { return a * b; }
  static inline f div(f a, f b) { return a / b; }
  static inline f fma(f a, f b, f c) { return a * b + c; }
  static inline f fnma(f a, f b, f c) { return c - a * b; }
  static inline f sqrt(f a) { return __builtin_sqrtf(a); }
  static inline f max(f a, f b) { return a > b ? a : b; }  // NaN in a or b: b (as x86)
  static inline f min(f a, f b) { return a < b ? a : b; }
  static inline f floor(f a) { return __builtin_floorf(a); }
  static inline f pow2i(f z) {
    if (!(z >= -127.0f && z <= 128.0f)) return z;  // NaN stays NaN (no UB cast)
    uint32_t e = (uint32_t)((int32_t)z + 127) << 23;
    float r;
    __builtin_memcpy(&r, &e, 4);
    return r;
  }
  static inline f select_gt(f x, f t, f a, f b) { return x > t ? a : b; }
  static inline f select_lt(f x, f t, f a, f b) { return x < t ? a : b; }
  static inline float hmax(f a) { return a; }
  static inline float hsum(f a) { return a; }
  static inline void accd(d& lo, d&, f x) { lo += (double)x; }
  static inline double hsumd(d a) { return a; }
  static inline d addd(d a, d b) { return a + b; }
};
#endif

typedef F::f vf;

// Cephes expf on every lane (see the header comment). NaN: min(hi, x) and
// max(lo, .) return the NaN (second operand), the polynomial keeps it.
inline vf vexp(vf x) {
  const vf hi = F::set1(kExpHi), lo = F::set1(kExpLo);
  vf xc = F::max(lo, F::min(hi, x));
  vf z = F::floor(F::fma(xc, F::set1(kLog2e), F::set1(0.5f)));
  vf r = F::fnma(z, F::set1(kLn2Hi), xc);
  r = F::fnma(z, F::set1(kLn2Lo), r);
  vf p = F::fma(F::set1(kP0), r, F::set1(kP1));
  p = F::fma(p, r, F::set1(kP2));
  p = F::fma(p, r, F::set1(kP3));
  p = F::fma(p, r, F::set1(kP4));
  p = F::fma(p, r, F::set1(kP5));
  p = F::fma(p, F::mul(r, r), F::add(r, F::set1(1.0f)));
  // z in [-126, 128]; a NaN z converts to garbage bits but p is NaN too: the product stays NaN
  vf e = F::mul(p, F::pow2i(z));
  e = F::select_gt(x, hi, F::set1(INFINITY), e);
  return F::select_lt(x, lo, F::zero(), e);
}

// 1 / (1 + exp(-x)), an IEEE division as in FloatKernels.sigmoidf
inline vf vsigmoid(vf x) {
  const vf one = F::set1(1.0f);
  return F::div(one, F::add(one, vexp(F::sub(F::zero(), x))));
}

// CoLA's bottleneck activation (kernels/silu.cpp, and sgemm's epilogues, which must give the same
// bits): SiLU(x) = x * sigmoid(x) and its backward dz * SiLU'(x)
inline vf silu_v(vf x) { return F::mul(x, vsigmoid(x)); }

inline vf silu_grad_v(vf x, vf dz) {
  const vf s = vsigmoid(x), one = F::set1(1.0f);
  // dz * s * (1 + x * (1 - s)), left to right as FloatKernels
  return F::mul(F::mul(dz, s), F::fma(x, F::sub(one, s), one));
}

// Runs body(from, len) over [0, n) in blocks of kBlock elements (a multiple of
// every vector width, so only the last block has a tail), on
// threads_for(n * cost) OpenMP threads, or on the calling thread below
// kMinParallel elements: an element-wise pass over fewer is ~0.1 ms on one
// AVX-512 core, and waking a second thread on a busy machine costs more
// (measured: SiLU on 2048 x 128, 0.06 ms alone, 1-4 ms with 2 threads while
// another process loaded both cores). Element-wise results do not depend on
// the split. (Needs internal.h.)
constexpr int64_t kBlock = 4096;
constexpr int64_t kMinParallel = int64_t(1) << 19;
template <class Body>
inline void parallel_blocks(int64_t n, double cost, Body body) {
  const int64_t nb = (n + kBlock - 1) / kBlock;
  const int nt = n < kMinParallel ? 1 : lr::threads_for((double)n * cost);
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
  for (int64_t b = 0; b < nb; ++b) {
    const int64_t from = b * kBlock, len = n - from < kBlock ? n - from : kBlock;
    body(from, len);
  }
}

// Work estimate per element (threads_for units ~ multiply-adds) of a kernel with one exp.
constexpr double kExpCost = 24.0;

}  // namespace

#endif
