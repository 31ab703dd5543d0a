// Benchmark of rmsnorm at the 60m CoLA shapes (x [2048 tokens, hidden 512]): median ms of the
// double-precision reference and of every ISA path (threads: LOWRANK_BENCH_THREADS,
// default OMP_NUM_THREADS; reps LOWRANK_BENCH_REPS), and GB/s moved by the fastest.
#include "bench_util.h"
#include "test_util.h"

int main() {
  const int th = lrb::bench_threads(), reps = lrb::bench_reps();
  lr_set_num_threads(th);
  printf("rmsnorm_bench: threads %d, reps %d (median)\n", th, reps);
  printf("%-28s | %9s %9s %9s %9s | %7s\n", "op", "ref ms", "scalar", "avx2", "avx512", "GB/s");
  lrt::Rng rng(5);
  {
    const int64_t R = 2048, D = 512, n = R * D; std::vector<float> x = lrt::randn(n, rng, 1.0f), w = lrt::randn(D, rng, 1.0f), o(n), inv(R);
    auto ref = [&] { lr_ref_rmsnorm(x.data(), w.data(), 1e-6, o.data(), inv.data(), R, D); };
    auto fast = [&] { lr_rmsnorm(x.data(), w.data(), 1e-6, o.data(), inv.data(), R, D); };
    lrb::isa_row("rmsnorm fwd [2048x512]", ref, fast, reps, 8.0 * n);
  }
  {
    const int64_t R = 2048, D = 512, n = R * D; std::vector<float> x = lrt::randn(n, rng, 1.0f), w = lrt::randn(D, rng, 1.0f), g = lrt::randn(n, rng, 1.0f), dx(n), dw(D), inv(R); lr_rmsnorm(x.data(), w.data(), 1e-6, dx.data(), inv.data(), R, D);
    auto ref = [&] { lr_ref_rmsnorm_backward(x.data(), w.data(), inv.data(), g.data(), dx.data(), dw.data(), R, D); };
    auto fast = [&] { lr_rmsnorm_backward(x.data(), w.data(), inv.data(), g.data(), dx.data(), dw.data(), R, D); };
    lrb::isa_row("rmsnorm bwd [2048x512]", ref, fast, reps, 12.0 * n);
  }
  return 0;
}
