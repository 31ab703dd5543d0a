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
    const double tr = lrb::median_ms(ref, 3, 1);
    double t[3] = {-1, -1, -1};
    for (int isa = 0; isa <= lr_cpu_isa(); ++isa) {
      lr_set_isa(isa);
      t[isa] = lrb::median_ms(fast, reps);
    }
    lr_set_isa(lr_cpu_isa());
    printf("%-28s | %9.3f %9.3f %9.3f %9.3f | %7.1f\n", "rmsnorm fwd [2048x512]", tr, t[0], t[1], t[2], (8.0 * n) / (t[lr_cpu_isa()] * 1e6));
  }
  {
    const int64_t R = 2048, D = 512, n = R * D; std::vector<float> x = lrt::randn(n, rng, 1.0f), w = lrt::randn(D, rng, 1.0f), g = lrt::randn(n, rng, 1.0f), dx(n), dw(D), inv(R); lr_rmsnorm(x.data(), w.data(), 1e-6, dx.data(), inv.data(), R, D);
    auto ref = [&] { lr_ref_rmsnorm_backward(x.data(), w.data(), inv.data(), g.data(), dx.data(), dw.data(), R, D); };
    auto fast = [&] { lr_rmsnorm_backward(x.data(), w.data(), inv.data(), g.data(), dx.data(), dw.data(), R, D); };
    const double tr = lrb::median_ms(ref, 3, 1);
    double t[3] = {-1, -1, -1};
    for (int isa = 0; isa <= lr_cpu_isa(); ++isa) {
      lr_set_isa(isa);
      t[isa] = lrb::median_ms(fast, reps);
    }
    lr_set_isa(lr_cpu_isa());
    printf("%-28s | %9.3f %9.3f %9.3f %9.3f | %7.1f\n", "rmsnorm bwd [2048x512]", tr, t[0], t[1], t[2], (12.0 * n) / (t[lr_cpu_isa()] * 1e6));
  }
  return 0;
}
