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
    lrb::isa_row("swiglu fwd [2048x1376]", ref, fast, reps, 12.0 * n);
  }
  {
    const int64_t n = 2048 * 1376; std::vector<float> g = lrt::randn(n, rng, 3.0f), u = lrt::randn(n, rng, 1.0f), dy = lrt::randn(n, rng, 1.0f), dg(n), du(n);
    auto ref = [&] { lr_ref_swiglu_backward(g.data(), u.data(), dy.data(), dg.data(), du.data(), n, 1); };
    auto fast = [&] { lr_swiglu_backward(g.data(), u.data(), dy.data(), dg.data(), du.data(), n, 1); };
    lrb::isa_row("swiglu bwd [2048x1376]", ref, fast, reps, 20.0 * n);
  }
  return 0;
}
