// Benchmark of spmm24_nn at the ELAS FFN shapes against a dense sgemm of the
// same shape (OpenBLAS, Y[rows,n] = X[rows,cols] . W[cols,n], X = the
// decompressed S). Runs are interleaved (sparse, sparse-avx2, dense, ...) and
// the median of LOWRANK_BENCH_REPS (default 7) is reported.
// Threads: LOWRANK_BENCH_THREADS, else OMP_NUM_THREADS. One shape: LOWRANK_BENCH_SHAPE=i.
#include "bench_util.h"
#include "test_util.h"

int main() {
  lrb::Blas blas;
  const int th = lrb::bench_threads(), reps = lrb::bench_reps(), only = lrb::bench_shape();
  lr_set_num_threads(th);
  if (blas.set_threads) blas.set_threads(th);
  printf("spmm24_nn_bench: threads %d, reps %d (median, interleaved), cpu isa %s\n", th, reps,
         lr_isa_name(lr_cpu_isa()));
  blas.describe();
  printf("%-18s %5s %5s %5s | %9s %9s | %9s %8s | %7s\n", "shape", "rows", "cols", "n", "sparse ms",
         "avx2 ms", "dense ms", "speedup", "GFLOP/s");
  lrt::Rng rng(1);
  int idx = -1;
  for (const auto& s : lrb::kShapes) {
    if (++idx != only && only >= 0) continue;
    std::vector<float> x((size_t)s.rows * s.cols), w((size_t)s.cols * s.n), y((size_t)s.rows * s.n);
    lrt::fill(x, rng, false, true);
    lrt::fill(w, rng, false);
    lrt::Compressed c(s.rows, s.cols);
    lr_prune24_compress(x.data(), s.cols, s.rows, s.cols, c.vals.data(), c.meta.data(), c.tail.data());
    lr_decompress24(c.vals.data(), c.meta.data(), c.tail.data(), s.rows, s.cols, x.data(), s.cols);
    const int best = lr_cpu_isa();
    auto sparse = [&](int isa) {
      lr_set_isa(isa);
      lr_spmm24_nn(c.vals.data(), c.meta.data(), c.tail.data(), s.rows, s.cols, w.data(), s.n, s.n,
                   0.0f, y.data(), s.n);
      lr_set_isa(best);
    };
    std::vector<std::function<void()>> fs = {[&] { sparse(best); }};
    if (best > LR_ISA_AVX2) fs.push_back([&] { sparse(LR_ISA_AVX2); });
    if (blas.ok())
      fs.push_back([&] {
        blas.sgemm(lrb::RowMajor, lrb::NoTrans, lrb::NoTrans, s.rows, s.n, s.cols, 1.0f, x.data(),
                   s.cols, w.data(), s.n, 0.0f, y.data(), s.n);
      });
    std::vector<double> t = lrb::interleaved_ms(fs, reps);
    const double t_sp = t[0], t_avx2 = best > LR_ISA_AVX2 ? t[1] : -1, t_d = blas.ok() ? t.back() : -1;
    const double flops = 2.0 * s.rows * (s.cols / 2 + s.cols % 4) * (double)s.n;
    printf("%-18s %5d %5d %5d | %9.2f %9.2f | %9.2f %7.2fx | %7.1f\n", s.name, s.rows, s.cols, s.n,
           t_sp, t_avx2, t_d, t_d > 0 ? t_d / t_sp : 0.0, flops / (t_sp * 1e6));
  }
  return 0;
}
