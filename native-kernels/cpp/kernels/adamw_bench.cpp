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
    lrb::isa_row("adamw [38e6]", ref, fast, reps, 28.0 * n);
  }
  return 0;
}
