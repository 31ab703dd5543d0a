// Benchmark of silu at the 60m CoLA shapes (bottleneck h [2048 tokens, rank 128]): median ms of the
// double-precision reference and of every ISA path (threads: LOWRANK_BENCH_THREADS,
// default OMP_NUM_THREADS; reps LOWRANK_BENCH_REPS), and GB/s moved by the fastest.
#include "bench_util.h"
#include "test_util.h"

int main() {
  const int th = lrb::bench_threads(), reps = lrb::bench_reps();
  lr_set_num_threads(th);
  printf("silu_bench: threads %d, reps %d (median)\n", th, reps);
  printf("%-28s | %9s %9s %9s %9s | %7s\n", "op", "ref ms", "scalar", "avx2", "avx512", "GB/s");
  lrt::Rng rng(5);
  {
    const int64_t n = 2048 * 128; std::vector<float> h = lrt::randn(n, rng, 3.0f), z(n), dz = lrt::randn(n, rng, 1.0f), dh(n);
    auto ref = [&] { lr_ref_silu(h.data(), z.data(), n); };
    auto fast = [&] { lr_silu(h.data(), z.data(), n); };
    lrb::isa_row("silu fwd [2048x128]", ref, fast, reps, 8.0 * n);
  }
  {
    const int64_t n = 2048 * 128; std::vector<float> h = lrt::randn(n, rng, 3.0f), dz = lrt::randn(n, rng, 1.0f), dh(n);
    auto ref = [&] { lr_ref_silu_backward(h.data(), dz.data(), dh.data(), n); };
    auto fast = [&] { lr_silu_backward(h.data(), dz.data(), dh.data(), n); };
    lrb::isa_row("silu bwd [2048x128]", ref, fast, reps, 12.0 * n);
  }
  return 0;
}
