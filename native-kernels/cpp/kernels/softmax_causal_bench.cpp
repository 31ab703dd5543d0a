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
    const double tr = lrb::median_ms(ref, 3, 1);
    double t[3] = {-1, -1, -1};
    for (int isa = 0; isa <= lr_cpu_isa(); ++isa) {
      lr_set_isa(isa);
      t[isa] = lrb::median_ms(fast, reps);
    }
    lr_set_isa(lr_cpu_isa());
    printf("%-28s | %9.3f %9.3f %9.3f %9.3f | %7.1f\n", "causal softmax fwd 64x[256x256]", tr, t[0], t[1], t[2], (8.0 * n) / (t[lr_cpu_isa()] * 1e6));
  }
  {
    const int64_t B = 64, S = 256, n = B * S * S; std::vector<float> p = lrt::randn(n, rng, 3.0f), g = lrt::randn(n, rng, 1.0f); for (int64_t b = 0; b < B; ++b) lr_causal_softmax(p.data() + b * S * S, S, S);
    auto ref = [&] { for (int64_t b = 0; b < B; ++b) lr_ref_causal_softmax_backward(p.data() + b * S * S, S, g.data() + b * S * S, S, S); };
    auto fast = [&] { for (int64_t b = 0; b < B; ++b) lr_causal_softmax_backward(p.data() + b * S * S, S, g.data() + b * S * S, S, S); };
    const double tr = lrb::median_ms(ref, 3, 1);
    double t[3] = {-1, -1, -1};
    for (int isa = 0; isa <= lr_cpu_isa(); ++isa) {
      lr_set_isa(isa);
      t[isa] = lrb::median_ms(fast, reps);
    }
    lr_set_isa(lr_cpu_isa());
    printf("%-28s | %9.3f %9.3f %9.3f %9.3f | %7.1f\n", "causal softmax bwd 64x[256x256]", tr, t[0], t[1], t[2], (12.0 * n) / (t[lr_cpu_isa()] * 1e6));
  }
  return 0;
}
