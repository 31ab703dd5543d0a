// Minimal SIMD traits for the generic kernel bodies, one set per LR_ISA.
// Included only by kernel TUs; everything is in an anonymous namespace (see
// the ODR note in internal.h).
#ifndef LOWRANK_SIMD_H
#define LOWRANK_SIMD_H

#include <stdint.h>
#if LR_ISA > 0
#include <immintrin.h>
#endif

namespace {

#if LR_ISA == 2
struct V {
  typedef __m512 f;
  typedef __mmask16 m;
  enum { W = 16 };
  static inline f zero() { return _mm512_setzero_ps(); }
  static inline f set1(float x) { return _mm512_set1_ps(x); }
  static inline f load(const float* p) { return _mm512_loadu_ps(p); }
  static inline void store(float* p, f v) { _mm512_storeu_ps(p, v); }
  static inline f fma(f a, f b, f c) { return _mm512_fmadd_ps(a, b, c); }
  static inline f add(f a, f b) { return _mm512_add_ps(a, b); }
  static inline f mul(f a, f b) { return _mm512_mul_ps(a, b); }
  // lanes [0, k) with 1 <= k <= W
  static inline m mask(int k) { return (__mmask16)((1u << k) - 1u); }
  static inline f loadm(const float* p, m k) { return _mm512_maskz_loadu_ps(k, p); }
  static inline void storem(float* p, f v, m k) { _mm512_mask_storeu_ps(p, k, v); }
  // keep a loaded value in a register (stops GCC from folding one load into
  // several FMAs as memory operands, which doubles the load traffic)
  static inline f reg(f x) {
    __asm__("" : "+v"(x));
    return x;
  }
};
#elif LR_ISA == 1
struct V {
  typedef __m256 f;
  typedef __m256i m;
  enum { W = 8 };
  static inline f zero() { return _mm256_setzero_ps(); }
  static inline f set1(float x) { return _mm256_set1_ps(x); }
  static inline f load(const float* p) { return _mm256_loadu_ps(p); }
  static inline void store(float* p, f v) { _mm256_storeu_ps(p, v); }
  static inline f fma(f a, f b, f c) { return _mm256_fmadd_ps(a, b, c); }
  static inline f add(f a, f b) { return _mm256_add_ps(a, b); }
  static inline f mul(f a, f b) { return _mm256_mul_ps(a, b); }
  static inline m mask(int k) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(k), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  }
  static inline f loadm(const float* p, m k) { return _mm256_maskload_ps(p, k); }
  static inline void storem(float* p, f v, m k) { _mm256_maskstore_ps(p, k, v); }
  static inline f reg(f x) {
    __asm__("" : "+x"(x));
    return x;
  }
};
#else
struct V {
  typedef float f;
  typedef int m;
  enum { W = 1 };
  static inline f zero() { return 0.0f; }
  static inline f set1(float x) { return x; }
  static inline f load(const float* p) { return *p; }
  static inline void store(float* p, f v) { *p = v; }
  static inline f fma(f a, f b, f c) { return a * b + c; }
  static inline f add(f a, f b) { return a + b; }
  static inline f mul(f a, f b) { return a * b; }
  static inline m mask(int k) { return k; }
  static inline f loadm(const float* p, m) { return *p; }
  static inline void storem(float* p, f v, m) { *p = v; }
  static inline f reg(f x) { return x; }
};
#endif

inline int64_t imin(int64_t a, int64_t b) { return a < b ? a : b; }
inline int64_t imax(int64_t a, int64_t b) { return a > b ? a : b; }

// magnitude key: IEEE bits with the sign cleared (total order, NaN largest)
inline uint32_t mag_key(float x) {
  uint32_t u;
  __builtin_memcpy(&u, &x, 4);
  return u & 0x7fffffffu;
}

// 4-bit keep mask of one group: rank of i = #{j beating i}; keep iff rank < 2.
// j beats i  <=>  key_j > key_i  or  (key_j == key_i and j < i).
inline unsigned keep_mask4(const float* x) {
  uint32_t k0 = mag_key(x[0]), k1 = mag_key(x[1]), k2 = mag_key(x[2]), k3 = mag_key(x[3]);
  unsigned r0 = (k1 > k0) + (k2 > k0) + (k3 > k0);
  unsigned r1 = (k0 >= k1) + (k2 > k1) + (k3 > k1);
  unsigned r2 = (k0 >= k2) + (k1 >= k2) + (k3 > k2);
  unsigned r3 = (k0 >= k3) + (k1 >= k3) + (k2 >= k3);
  return (unsigned)(r0 < 2) | (unsigned)(r1 < 2) << 1 | (unsigned)(r2 < 2) << 2 |
         (unsigned)(r3 < 2) << 3;
}

}  // namespace

#endif
