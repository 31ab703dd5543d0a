// Benchmark of softmax_causal at the 60m CoLA shapes (attention probabilities, batch 8 x heads 8 blocks of [256, 256], one thread per block as in the worker (here all blocks on the calling thread)): median ms of the
// double-precision reference and of every ISA path (threads: LOWRANK_BENCH_THREADS,
// default OMP_NUM_THREADS; reps LOWRANK_BENCH_REPS), and GB/s moved by the fastest.
#include "bench_util.h"
#include "test_util.h"

int main() {
  const int th = lrb::bench_threads(), reps = lrb::bench_reps();
  lr_set_num_threads(th);
  printf("softmax_causal_bench: threads %d, reps %d (median)\n", th, reps);
  printf("%-28s | %9s %9s %9s %9s | %7s\n", "op", "ref ms", "scalar", "avx2", "avx512", "GB/s");
  lrt::Rng rng(5);
  {
    const int64_t B = 64, S = 256, n = B * S * S; std::vector<float> p = lrt::randn(n, rng, 3.0f);  // each rep re-normalises the previous rep's probabilities
    auto ref = [&] { for (int64_t b = 0; b < B; ++b) lr_ref_causal_softmax(p.data() + b * S * S, S, S); };
    auto fast = [&] { for (int64_t b = 0; b < B; ++b) lr_causal_softmax(p.data() + b * S * S, S, S); };
    lrb::isa_row("causal softmax fwd 64x[256x256]", ref, fast, reps, 8.0 * n);
  }
  {
    const int64_t B = 64, S = 256, n = B * S * S; std::vector<float> p = lrt::randn(n, rng, 3.0f), g = lrt::randn(n, rng, 1.0f); for (int64_t b = 0; b < B; ++b) lr_causal_softmax(p.data() + b * S * S, S, S);
    auto ref = [&] { for (int64_t b = 0; b < B; ++b) lr_ref_causal_softmax_backward(p.data() + b * S * S, S, g.data() + b * S * S, S, S); };
    auto fast = [&] { for (int64_t b = 0; b < B; ++b) lr_causal_softmax_backward(p.data() + b * S * S, S, g.data() + b * S * S, S, S); };
    lrb::isa_row("causal softmax bwd 64x[256x256]", ref, fast, reps, 12.0 * n);
  }
  return 0;
}
