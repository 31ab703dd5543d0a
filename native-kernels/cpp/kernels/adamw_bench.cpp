// Benchmark of adamw at the 60m CoLA shapes (the 60m CoLA parameter vector (~38M, here 38e6 elements)): median ms of the
// double-precision reference and of every ISA path (threads: LOWRANK_BENCH_THREADS,
// default OMP_NUM_THREADS; reps LOWRANK_BENCH_REPS), and GB/s moved by the fastest.
#include "bench_util.h"
#include "test_util.h"

int main() {
  const int th = lrb::bench_threads(), reps = lrb::bench_reps();
  lr_set_num_threads(th);
  printf("adamw_bench: threads %d, reps %d (median)\n", th, reps);
  printf("%-28s | %9s %9s %9s %9s | %7s\n", "op", "ref ms", "scalar", "avx2", "avx512", "GB/s");
  lrt::Rng rng(5);
  {
    const int64_t n = 38000000; std::vector<float> p = lrt::randn(n, rng, 1.0f), g = lrt::randn(n, rng, 0.1f), m(n, 0.0f), v(n, 0.0f);
    auto ref = [&] { lr_ref_adamw(p.data(), g.data(), m.data(), v.data(), n, 1e-3, 0.9, 0.999, 1e-8, 0.01, 10); };
    auto fast = [&] { lr_adamw(p.data(), g.data(), m.data(), v.data(), n, 1e-3, 0.9, 0.999, 1e-8, 0.01, 10); };
    const double tr = lrb::median_ms(ref, 3, 1);
    double t[3] = {-1, -1, -1};
    for (int isa = 0; isa <= lr_cpu_isa(); ++isa) {
      lr_set_isa(isa);
      t[isa] = lrb::median_ms(fast, reps);
    }
    lr_set_isa(lr_cpu_isa());
    printf("%-28s | %9.3f %9.3f %9.3f %9.3f | %7.1f\n", "adamw [38e6]", tr, t[0], t[1], t[2], (28.0 * n) / (t[lr_cpu_isa()] * 1e6));
  }
  return 0;
}
