// Shared helpers for the C++ benchmarks: timing and an optional dense
// baseline (OpenBLAS cblas_sgemm, loaded with dlopen so that the build has no
// BLAS dependency; override the library with LOWRANK_BLAS=/path/libopenblas.so).
#ifndef LOWRANK_BENCH_UTIL_H
#define LOWRANK_BENCH_UTIL_H

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <algorithm>
#include <functional>
#include <vector>

#include "lowrank_native.h"

namespace lrb {

// LOWRANK_BENCH_CPUTIME=1: time = CPU time of the calling thread, which is
// immune to being descheduled on a busy machine (valid with 1 thread only).
inline double now_ms() {
  static const bool cpu = getenv("LOWRANK_BENCH_CPUTIME") != nullptr;
  timespec ts;
  clock_gettime(cpu ? CLOCK_THREAD_CPUTIME_ID : CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec * 1e-6;
}

// median wall time of `reps` runs after `warm` warm-up runs
template <class F>
double median_ms(F&& f, int reps, int warm = 2) {
  for (int i = 0; i < warm; ++i) f();
  std::vector<double> t;
  for (int i = 0; i < reps; ++i) {
    double t0 = now_ms();
    f();
    t.push_back(now_ms() - t0);
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

// Median ms of `fast` on every ISA this CPU has (t[isa]; -1 where it has none), then the CPU's
// best ISA is selected again.
template <class F>
void isa_ms(F&& fast, int reps, double t[3]) {
  for (int isa = 0; isa < 3; ++isa) t[isa] = -1;
  for (int isa = 0; isa <= lr_cpu_isa(); ++isa) {
    lr_set_isa(isa);
    t[isa] = median_ms(fast, reps);
  }
  lr_set_isa(lr_cpu_isa());
}

// One row of the element-wise benches' table: the reference path (3 runs), every ISA, and GB/s
// at the best ISA for an op that moves `bytes`.
template <class R, class F>
void isa_row(const char* name, R&& ref, F&& fast, int reps, double bytes) {
  const double tr = median_ms(ref, 3, 1);
  double t[3];
  isa_ms(fast, reps, t);
  printf("%-28s | %9.3f %9.3f %9.3f %9.3f | %7.1f\n", name, tr, t[0], t[1], t[2], bytes / (t[lr_cpu_isa()] * 1e6));
}

// Median times of several functions run interleaved (f0, f1, ..., f0, f1, ...)
// so that load from other processes on a shared machine hits all of them alike.
inline std::vector<double> interleaved_ms(const std::vector<std::function<void()>>& fs, int reps,
                                          int warm = 2) {
  for (int i = 0; i < warm; ++i)
    for (auto& f : fs) f();
  std::vector<std::vector<double>> t(fs.size());
  for (int i = 0; i < reps; ++i)
    for (size_t k = 0; k < fs.size(); ++k) {
      double t0 = now_ms();
      fs[k]();
      t[k].push_back(now_ms() - t0);
    }
  std::vector<double> med;
  for (auto& v : t) {
    std::sort(v.begin(), v.end());
    med.push_back(getenv("LOWRANK_BENCH_MIN") ? v[0] : v[v.size() / 2]);
  }
  return med;
}

// only the shape with this index (LOWRANK_BENCH_SHAPE), or all (-1)
inline int bench_shape() {
  const char* e = getenv("LOWRANK_BENCH_SHAPE");
  return e ? atoi(e) : -1;
}

// CBLAS enums
enum { RowMajor = 101, NoTrans = 111, Trans = 112 };
typedef void (*sgemm_fn)(int, int, int, int, int, int, float, const float*, int, const float*, int,
                         float, float*, int);

struct Blas {
  sgemm_fn sgemm = nullptr;
  void (*set_threads)(int) = nullptr;
  char* (*corename)() = nullptr;
  const char* lib = nullptr;
  Blas() {
    const char* cands[] = {getenv("LOWRANK_BLAS"), "libopenblas.so.0", "libopenblas.so",
                           "/usr/lib/x86_64-linux-gnu/openblas-pthread/libopenblas.so.0"};
    for (const char* c : cands) {
      if (c == nullptr) continue;
      void* h = dlopen(c, RTLD_NOW | RTLD_LOCAL);
      if (h == nullptr) continue;
      sgemm = (sgemm_fn)dlsym(h, "cblas_sgemm");
      set_threads = (void (*)(int))dlsym(h, "openblas_set_num_threads");
      corename = (char* (*)())dlsym(h, "openblas_get_corename");
      if (sgemm != nullptr) {
        lib = c;
        break;
      }
    }
  }
  bool ok() const { return sgemm != nullptr; }
  void describe() const {
    if (!ok())
      printf("dense baseline: none (OpenBLAS not found; set LOWRANK_BLAS)\n");
    else
      printf("dense baseline: OpenBLAS cblas_sgemm from %s (core %s)\n", lib,
             corename ? corename() : "?");
  }
};

inline int bench_threads() {
  const char* e = getenv("LOWRANK_BENCH_THREADS");
  return e ? atoi(e) : lr_get_num_threads();
}

inline int bench_reps() {
  const char* e = getenv("LOWRANK_BENCH_REPS");
  return e ? atoi(e) : 7;
}

// The ELAS FFN shapes: tokens 2048; (cols = d_ff', n) for 60m and 350m.
struct Shape {
  const char* name;
  int rows, cols, n;
};
static const Shape kShapes[] = {
    {"60m  down  (n=d)", 2048, 2064, 512},   {"60m  down  (n=r)", 2048, 2064, 128},
    {"350m down  (n=d)", 2048, 4104, 1024},  {"350m down  (n=r)", 2048, 4104, 256},
};

}  // namespace lrb

#endif
