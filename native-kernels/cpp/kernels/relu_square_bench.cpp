// Benchmark of relu_square at the 60m ELAS shapes (y1 [2048 tokens, ff 2064]): median ms of the
// double-precision reference and of every ISA path (threads: LOWRANK_BENCH_THREADS,
// default OMP_NUM_THREADS; reps LOWRANK_BENCH_REPS), and GB/s moved by the fastest.
#include "bench_util.h"
#include "test_util.h"

int main() {
  const int th = lrb::bench_threads(), reps = lrb::bench_reps();
  lr_set_num_threads(th);
  printf("relu_square_bench: threads %d, reps %d (median)\n", th, reps);
  printf("%-28s | %9s %9s %9s %9s | %7s\n", "op", "ref ms", "scalar", "avx2", "avx512", "GB/s");
  lrt::Rng rng(6);
  {
    const int64_t n = 2048 * 2064; std::vector<float> x = lrt::randn(n, rng, 1.0f), y(n);
    auto ref = [&] { lr_ref_relu_square(x.data(), y.data(), n); };
    auto fast = [&] { lr_relu_square(x.data(), y.data(), n); };
    lrb::isa_row("relu2 fwd [2048x2064]", ref, fast, reps, 8.0 * n);
  }
  {
    const int64_t n = 2048 * 2064; std::vector<float> x = lrt::randn(n, rng, 1.0f), dy = lrt::randn(n, rng, 1.0f), dx(n);
    auto ref = [&] { lr_ref_relu_square_backward(x.data(), dy.data(), dx.data(), n); };
    auto fast = [&] { lr_relu_square_backward(x.data(), dy.data(), dx.data(), n); };
    lrb::isa_row("relu2 bwd [2048x2064]", ref, fast, reps, 12.0 * n);
  }
  return 0;
}
