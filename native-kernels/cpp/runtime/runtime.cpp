// ISA detection / dispatch state, thread count, shared metadata tables.
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include <atomic>

#include "internal.h"

namespace lr {

const uint8_t kNibKeep[16] = {
    // nib = i0 | i1<<2
    0x1 | 0x1, 0x2 | 0x1, 0x4 | 0x1, 0x8 | 0x1,  // i1 = 0 (invalid unless i0>i1..)
    0x1 | 0x2, 0x2 | 0x2, 0x4 | 0x2, 0x8 | 0x2,  // i1 = 1
    0x1 | 0x4, 0x2 | 0x4, 0x4 | 0x4, 0x8 | 0x4,  // i1 = 2
    0x1 | 0x8, 0x2 | 0x8, 0x4 | 0x8, 0x8 | 0x8,  // i1 = 3
};

// keep mask -> meta byte
const uint8_t kKeepMeta[16] = {
    0,            0,            0,            0 | 1 << 2, /* 0b0011: i0=0,i1=1 */
    0,            0 | 2 << 2,   1 | 2 << 2,   0,          /* 0b0101, 0b0110 */
    0,            0 | 3 << 2,   1 | 3 << 2,   0,          /* 0b1001, 0b1010 */
    2 | 3 << 2,   0,            0,            0,          /* 0b1100 */
};

// class order: (0,1) (0,2) (0,3) (1,2) (1,3) (2,3)
const uint8_t kClassPair[6][2] = {{0, 1}, {0, 2}, {0, 3}, {1, 2}, {1, 3}, {2, 3}};
const uint8_t kNibClass[16] = {
    6, 6, 6, 6,  // i1 = 0
    0, 6, 6, 6,  // i1 = 1: (0,1)
    1, 3, 6, 6,  // i1 = 2: (0,2) (1,2)
    2, 4, 5, 6,  // i1 = 3: (0,3) (1,3) (2,3)
};

namespace {

int max_compiled_isa() {
#if defined(LR_HAVE_AVX512_TU)
  return LR_ISA_AVX512;
#elif defined(LR_HAVE_AVX2_TU)
  return LR_ISA_AVX2;
#else
  return LR_ISA_SCALAR;
#endif
}

int detect_cpu_isa() {
  __builtin_cpu_init();
  int isa = LR_ISA_SCALAR;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
    isa = LR_ISA_AVX2;
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") &&
        __builtin_cpu_supports("avx512vbmi2"))
      isa = LR_ISA_AVX512;
  }
  int maxc = max_compiled_isa();
  return isa < maxc ? isa : maxc;
}

int initial_isa() {
  int isa = detect_cpu_isa();
  const char* env = getenv("LOWRANK_ISA");
  if (env != nullptr) {
    int want = isa;
    if (strcmp(env, "scalar") == 0) want = LR_ISA_SCALAR;
    else if (strcmp(env, "avx2") == 0) want = LR_ISA_AVX2;
    else if (strcmp(env, "avx512") == 0) want = LR_ISA_AVX512;
    if (want < isa) isa = want;
  }
  return isa;
}

int initial_threads() {
  int n = omp_get_max_threads();
  return n < 1 ? 1 : n;
}

std::atomic<int> g_isa{initial_isa()};
std::atomic<int> g_threads{initial_threads()};

// LOWRANK_SGEMM_A=packed|in_place: A/B runs of whole training steps (default: auto)
int initial_sgemm_a_mode() {
  const char* env = getenv("LOWRANK_SGEMM_A");
  if (env != nullptr && strcmp(env, "packed") == 0) return LR_SGEMM_A_PACKED;
  if (env != nullptr && strcmp(env, "in_place") == 0) return LR_SGEMM_A_IN_PLACE;
  return LR_SGEMM_A_AUTO;
}

}  // namespace

std::atomic<int> g_sgemm_a_mode{initial_sgemm_a_mode()};

int threads_for(double work) {
  int n = g_threads.load(std::memory_order_relaxed);
  // ~2^18 multiply-adds per thread at least
  double cap = work / 262144.0;
  if (cap < 1.0) return 1;
  if (cap < n) n = (int)cap;
  return n < 1 ? 1 : n;
}

}  // namespace lr

extern "C" {

int lr_cpu_isa(void) { return lr::detect_cpu_isa(); }
int lr_get_isa(void) { return lr::g_isa.load(std::memory_order_relaxed); }
int lr_sgemm_set_a_mode(int mode) {
  if (mode < LR_SGEMM_A_AUTO || mode > LR_SGEMM_A_IN_PLACE) mode = LR_SGEMM_A_AUTO;
  lr::g_sgemm_a_mode.store(mode, std::memory_order_relaxed);
  return mode;
}
int lr_set_isa(int isa) {
  int cpu = lr::detect_cpu_isa();
  if (isa > cpu) isa = cpu;
  if (isa < LR_ISA_SCALAR) isa = LR_ISA_SCALAR;
  lr::g_isa.store(isa, std::memory_order_relaxed);
  return isa;
}
const char* lr_isa_name(int isa) {
  switch (isa) {
    case LR_ISA_AVX512: return "avx512";
    case LR_ISA_AVX2: return "avx2";
    case LR_ISA_SCALAR: return "scalar";
    default: return "unknown";
  }
}
void lr_set_num_threads(int n) { lr::g_threads.store(n < 1 ? 1 : n, std::memory_order_relaxed); }
int lr_get_num_threads(void) { return lr::g_threads.load(std::memory_order_relaxed); }
const char* lr_version(void) { return "lowrank_native 0.1.0"; }

}  // extern "C"
