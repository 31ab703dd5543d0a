// Benchmark of rope at the 60m shapes (q or k [2048 tokens = 8 x 256, 8 heads x 64], table
// [256, 32]), forward and inverse, in place (each rep rotates the previous rep's output; the table
// is a real one, so the values stay bounded): median ms of the double-precision reference and of
// every ISA path (threads: LOWRANK_BENCH_THREADS, default OMP_NUM_THREADS; reps
// LOWRANK_BENCH_REPS), and GB/s moved by the fastest (x read and written).
#include "bench_util.h"
#include "test_util.h"

int main() {
  const int th = lrb::bench_threads(), reps = lrb::bench_reps();
  lr_set_num_threads(th);
  printf("rope_bench: threads %d, reps %d (median)\n", th, reps);
  printf("%-28s | %9s %9s %9s %9s | %7s\n", "op", "ref ms", "scalar", "avx2", "avx512", "GB/s");
  lrt::Rng rng(7);
  const int64_t seq = 256, rows = 8 * seq, heads = 8, hd = 64, half = hd / 2, n = rows * heads * hd;
  std::vector<float> x = lrt::randn(n, rng, 1.0f), c(seq * half), s(seq * half);
  for (int64_t t = 0; t < seq; ++t)
    for (int64_t i = 0; i < half; ++i) {
      const double a = (double)t / pow(10000.0, 2.0 * i / hd);
      c[t * half + i] = (float)cos(a);
      s[t * half + i] = (float)sin(a);
    }
  for (int inv : {0, 1}) {
    auto ref = [&] { lr_ref_rope(x.data(), c.data(), s.data(), rows, seq, heads, hd, inv); };
    auto fast = [&] { lr_rope(x.data(), c.data(), s.data(), rows, seq, heads, hd, inv); };
    lrb::isa_row(inv ? "rope inverse [2048x8x64]" : "rope fwd [2048x8x64]", ref, fast, reps, 8.0 * n);
  }
  return 0;
}
