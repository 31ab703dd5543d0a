// Benchmark of cross_entropy at the 60m CoLA shapes (logits [2048 tokens, vocab 32000]; in place: each rep runs on the previous rep's gradient): median ms of the
// double-precision reference and of every ISA path (threads: LOWRANK_BENCH_THREADS,
// default OMP_NUM_THREADS; reps LOWRANK_BENCH_REPS), and GB/s moved by the fastest.
#include "bench_util.h"
#include "test_util.h"

int main() {
  const int th = lrb::bench_threads(), reps = lrb::bench_reps();
  lr_set_num_threads(th);
  printf("cross_entropy_bench: threads %d, reps %d (median)\n", th, reps);
  printf("%-28s | %9s %9s %9s %9s | %7s\n", "op", "ref ms", "scalar", "avx2", "avx512", "GB/s");
  lrt::Rng rng(5);
  {
    const int64_t R = 2048, V = 32000, n = R * V; std::vector<float> x = lrt::randn(n, rng, 3.0f); std::vector<int32_t> tg(R); for (auto& e : tg) e = rng.below((int)V);
    auto ref = [&] { lr_ref_cross_entropy(x.data(), R, V, tg.data(), -100, 1.0f / R); };
    auto fast = [&] { lr_cross_entropy(x.data(), R, V, tg.data(), -100, 1.0f / R); };
    lrb::isa_row("cross_entropy [2048x32000]", ref, fast, reps, 8.0 * n);
  }
  return 0;
}
