// Benchmark of swiglu at the 60m CoLA shapes (gate/up [2048 tokens, intermediate 1376]): median ms of the
// double-precision reference and of every ISA path (threads: LOWRANK_BENCH_THREADS,
// default OMP_NUM_THREADS; reps LOWRANK_BENCH_REPS), and GB/s moved by the fastest.
#include "bench_util.h"
#include "test_util.h"

int main() {
  const int th = lrb::bench_threads(), reps = lrb::bench_reps();
  lr_set_num_threads(th);
  printf("swiglu_bench: threads %d, reps %d (median)\n", th, reps);
  printf("%-28s | %9s %9s %9s %9s | %7s\n", "op", "ref ms", "scalar", "avx2", "avx512", "GB/s");
  lrt::Rng rng(5);
  {
    const int64_t n = 2048 * 1376; std::vector<float> g = lrt::randn(n, rng, 3.0f), u = lrt::randn(n, rng, 1.0f), o(n);
    auto ref = [&] { lr_ref_swiglu(g.data(), u.data(), o.data(), n, 1); };
    auto fast = [&] { lr_swiglu(g.data(), u.data(), o.data(), n, 1); };
    const double tr = lrb::median_ms(ref, 3, 1);
    double t[3] = {-1, -1, -1};
    for (int isa = 0; isa <= lr_cpu_isa(); ++isa) {
      lr_set_isa(isa);
      t[isa] = lrb::median_ms(fast, reps);
    }
    lr_set_isa(lr_cpu_isa());
    printf("%-28s | %9.3f %9.3f %9.3f %9.3f | %7.1f\n", "swiglu fwd [2048x1376]", tr, t[0], t[1], t[2], (12.0 * n) / (t[lr_cpu_isa()] * 1e6));
  }
  {
    const int64_t n = 2048 * 1376; std::vector<float> g = lrt::randn(n, rng, 3.0f), u = lrt::randn(n, rng, 1.0f), dy = lrt::randn(n, rng, 1.0f), dg(n), du(n);
    auto ref = [&] { lr_ref_swiglu_backward(g.data(), u.data(), dy.data(), dg.data(), du.data(), n, 1); };
    auto fast = [&] { lr_swiglu_backward(g.data(), u.data(), dy.data(), dg.data(), du.data(), n, 1); };
    const double tr = lrb::median_ms(ref, 3, 1);
    double t[3] = {-1, -1, -1};
    for (int isa = 0; isa <= lr_cpu_isa(); ++isa) {
      lr_set_isa(isa);
      t[isa] = lrb::median_ms(fast, reps);
    }
    lr_set_isa(lr_cpu_isa());
    printf("%-28s | %9.3f %9.3f %9.3f %9.3f | %7.1f\n", "swiglu bwd [2048x1376]", tr, t[0], t[1], t[2], (20.0 * n) / (t[lr_cpu_isa()] * 1e6));
  }
  return 0;
}
