// Shared helpers for the C++ correctness tests (header-only, no framework).
#ifndef LOWRANK_TEST_UTIL_H
#define LOWRANK_TEST_UTIL_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vector>

#include "lowrank_native.h"

namespace lrt {

struct Rng {
  uint64_t s;
  explicit Rng(uint64_t seed) : s(seed * 0x9E3779B97F4A7C15ull + 0x1234567ull) {}
  uint64_t next() {  // splitmix64
    uint64_t z = (s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  float uniform() { return (float)((next() >> 40) * (1.0 / 16777216.0)); }  // [0,1)
  float sym() { return 2.0f * uniform() - 1.0f; }                           // [-1,1)
  int below(int n) { return (int)(next() % (uint64_t)n); }
};

// Random values, never all zero: mostly uniform(-1,1) with some exact ties
// (small integers, +-duplicates, signed zeros) so that the tie rule is
// exercised; `relu2` makes them look like ELAS's y2 = relu(y1)^2 (>= 0, many
// zeros inside groups, but never a whole row of zeros).
inline void fill(std::vector<float>& v, Rng& rng, bool ties, bool relu2 = false) {
  for (auto& x : v) {
    if (ties && rng.below(4) == 0) {
      static const float pool[] = {1.0f, -1.0f, 0.5f, -0.5f, 0.0f, -0.0f, 2.0f, -2.0f};
      x = pool[rng.below(8)];
    } else {
      x = rng.sym();
    }
    if (relu2) x = x > 0 ? x * x : 0.0f;
  }
  if (!v.empty()) v[0] = 0.75f;  // never all zeros
}

// Gaussian (Box-Muller) times scale, never exactly zero: fresh inputs for the
// fused kernels.
inline float normal(Rng& r) {
  double u = 1.0 - (r.next() >> 11) * (1.0 / 9007199254740992.0), v = (r.next() >> 11) * (1.0 / 9007199254740992.0);
  return (float)(sqrt(-2.0 * log(u)) * cos(6.283185307179586 * v));
}
inline std::vector<float> randn(size_t n, Rng& r, float scale, size_t guard = 0) {
  std::vector<float> v(n + guard, -777.0f);  // guard: sentinel past the end
  for (size_t i = 0; i < n; ++i) {
    float x;
    do x = scale * normal(r); while (x == 0.0f);
    v[i] = x;
  }
  return v;
}
// the sentinels after element n are untouched
inline bool guard_ok(const std::vector<float>& v, size_t n) {
  for (size_t i = n; i < v.size(); ++i)
    if (v[i] != -777.0f) return false;
  return true;
}

inline double rel_err(const float* out, const float* ref, size_t n) {
  double num = 0, den = 0;
  for (size_t i = 0; i < n; ++i) {
    double d = (double)out[i] - (double)ref[i];
    num += d * d;
    den += (double)ref[i] * (double)ref[i];
  }
  if (den == 0) return num == 0 ? 0 : INFINITY;
  return sqrt(num / den);
}

// relative Frobenius error over the [rows, n] part of ld-strided matrices
inline double rel_err_2d(const float* out, const float* ref, int64_t rows, int64_t n, int64_t ld) {
  double num = 0, den = 0;
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < n; ++c) {
      double d = (double)out[r * ld + c] - (double)ref[r * ld + c];
      num += d * d;
      den += (double)ref[r * ld + c] * (double)ref[r * ld + c];
    }
  if (den == 0) return num == 0 ? 0 : INFINITY;
  return sqrt(num / den);
}

inline bool bits_equal(const void* a, const void* b, size_t bytes) { return memcmp(a, b, bytes) == 0; }

struct Counter {
  int run = 0, failed = 0;
  void check(bool ok, const char* what) {
    ++run;
    if (!ok) {
      ++failed;
      fprintf(stderr, "FAIL: %s\n", what);
    }
  }
  int finish(const char* name) {
    printf("%s: %d checks, %d failed\n", name, run, failed);
    return failed == 0 ? 0 : 1;
  }
};

// ISAs this CPU can run (scalar always), each to be tested against the reference.
inline std::vector<int> isas() {
  std::vector<int> v;
  for (int i = LR_ISA_SCALAR; i <= lr_cpu_isa(); ++i) v.push_back(i);
  return v;
}

// Compressed-size helpers
inline int64_t nvals(int64_t rows, int64_t cols) { return rows * 2 * (cols / 4); }
inline int64_t nmeta(int64_t rows, int64_t cols) { return rows * (cols / 4); }
inline int64_t ntail(int64_t rows, int64_t cols) { return rows * (cols % 4); }

struct Compressed {
  int64_t rows, cols;
  std::vector<float> vals, tail;
  std::vector<uint8_t> meta;
  Compressed(int64_t r, int64_t c)
      : rows(r), cols(c), vals(nvals(r, c) + 1), tail(ntail(r, c) + 1), meta(nmeta(r, c) + 1) {}
};

inline Compressed random_compressed(int64_t rows, int64_t cols, Rng& rng, bool relu2 = false) {
  std::vector<float> x((size_t)(rows * cols));
  fill(x, rng, true, relu2);
  Compressed s(rows, cols);
  lr_ref_prune24_compress(x.data(), cols, rows, cols, s.vals.data(), s.meta.data(), s.tail.data());
  return s;
}

}  // namespace lrt

#endif
