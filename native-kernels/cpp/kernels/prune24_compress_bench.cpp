// Benchmark of prune24_compress (and the reference) at the ELAS y2 shapes.
// Memory-bound: reports median ms and GB/s moved (read x, write vals+meta+tail).
#include "bench_util.h"
#include "test_util.h"

int main() {
  const int th = lrb::bench_threads(), reps = lrb::bench_reps();
  lr_set_num_threads(th);
  printf("prune24_compress_bench: threads %d, reps %d (median)\n", th, reps);
  printf("%-10s %6s %6s | %9s %9s %9s %9s | %7s\n", "shape", "rows", "cols", "ref ms", "scalar", "avx2",
         "avx512", "GB/s");
  lrt::Rng rng(3);
  const int shapes[][2] = {{2048, 2064}, {2048, 4104}};
  for (const auto& s : shapes) {
    const int rows = s[0], cols = s[1];
    std::vector<float> x((size_t)rows * cols);
    lrt::fill(x, rng, false, true);
    lrt::Compressed c(rows, cols);
    auto fast = [&] { lr_prune24_compress(x.data(), cols, rows, cols, c.vals.data(), c.meta.data(), c.tail.data()); };
    const double tr = lrb::median_ms([&] {
      lr_ref_prune24_compress(x.data(), cols, rows, cols, c.vals.data(), c.meta.data(), c.tail.data());
    }, 3, 1);
    double t[3];
    lrb::isa_ms(fast, reps, t);
    const double bytes = (double)rows * cols * 4 * 1.5 + (double)rows * (cols / 4);
    printf("%-10s %6d %6d | %9.3f %9.3f %9.3f %9.3f | %7.1f\n", cols == 2064 ? "60m y2" : "350m y2",
           rows, cols, tr, t[0], t[1], t[2], bytes / (t[lr_cpu_isa()] * 1e6));
  }
  return 0;
}
