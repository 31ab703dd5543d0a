// Benchmark of sgemm against OpenBLAS's cblas_sgemm at the products of a 60m / 350m CoLA step
// (2048 / 1024 tokens, rank 128 / 256) and attention's 64-row blocks (the latter on one thread,
// as the backend issues them: one head per worker thread). Columns: ours (the default), packA /
// inplA (op(A) always packed / always read in place), avx2 (the AVX2 path), blas (OpenBLAS).
// Runs are interleaved (one of each per rep) and the median of LOWRANK_BENCH_REPS (default 7)
// is reported.
// Threads: LOWRANK_BENCH_THREADS, else OMP_NUM_THREADS. One shape: LOWRANK_BENCH_SHAPE=i.
#include "bench_util.h"
#include "test_util.h"

namespace {
struct GemmShape {
  const char* name;
  int ta, tb, m, n, k, one_thread;
};
const GemmShape kGemmShapes[] = {
    {"60m h=xA", 0, 0, 2048, 128, 512, 0},        {"60m y=zB", 0, 0, 2048, 512, 128, 0},
    {"60m dB=z'dy", 1, 0, 128, 512, 2048, 0},     {"60m dz=dyB'", 0, 1, 2048, 128, 512, 0},
    {"60m dA=x'dh", 1, 0, 512, 128, 2048, 0},     {"60m dx=dhA'", 0, 1, 2048, 512, 128, 0},
    {"60m ffn h=xA", 0, 0, 2048, 128, 1376, 0},   {"60m ffn y=zB", 0, 0, 2048, 1376, 128, 0},
    {"60m qkv h=xA", 0, 0, 2048, 384, 512, 0},    {"60m dense", 0, 0, 2048, 512, 512, 0},
    {"head logits", 0, 1, 2048, 32000, 512, 0},   {"head dW", 1, 0, 32000, 512, 2048, 0},
    {"head dh", 0, 0, 2048, 512, 32000, 0},       {"350m h=xA", 0, 0, 1024, 256, 1024, 0},      {"350m dB=z'dy", 1, 0, 256, 1024, 1024, 0},
    {"350m dx=dhA'", 0, 1, 1024, 1024, 256, 0},   {"attn s=qk' 64", 0, 1, 64, 192, 64, 1},
    {"attn o=pv 64", 0, 0, 64, 64, 192, 1},       {"attn dk=ds'q", 1, 0, 64, 64, 192, 1},
};
}  // namespace

int main() {
  lrb::Blas blas;
  const int th = lrb::bench_threads(), reps = lrb::bench_reps(), only = lrb::bench_shape();
  lr_set_num_threads(th);
  printf("sgemm_bench: threads %d, reps %d (median, interleaved), cpu isa %s\n", th, reps,
         lr_isa_name(lr_cpu_isa()));
  blas.describe();
  printf("%-16s %2s %5s %5s %5s %3s | %8s %8s %8s %8s | %8s %7s | %7s %7s\n", "shape", "op", "m", "n", "k",
         "thr", "ours ms", "packA ms", "inplA ms", "avx2 ms", "blas ms", "speedup", "GFLOP/s", "blas");
  lrt::Rng rng(5);
  int idx = -1;
  for (const auto& s : kGemmShapes) {
    if (++idx != only && only >= 0) continue;
    const int t = s.one_thread ? 1 : th;
    std::vector<float> a = lrt::randn((size_t)s.m * s.k, rng, 1.0f), b = lrt::randn((size_t)s.k * s.n, rng, 1.0f);
    std::vector<float> c((size_t)s.m * s.n);
    const int lda = s.ta ? s.m : s.k, ldb = s.tb ? s.k : s.n;
    const int best = lr_cpu_isa();
    auto ours = [&](int isa, int a_mode) {
      lr_set_isa(isa);
      lr_sgemm_set_a_mode(a_mode);
      lr_sgemm(s.ta, s.tb, s.m, s.n, s.k, 1.0f, a.data(), lda, b.data(), ldb, 0.0f, c.data(), s.n, t);
      lr_sgemm_set_a_mode(LR_SGEMM_A_AUTO);
      lr_set_isa(best);
    };
    // the default (AUTO), then op(A) always packed and always read in place
    std::vector<std::function<void()>> fs = {[&] { ours(best, LR_SGEMM_A_AUTO); },
                                             [&] { ours(best, LR_SGEMM_A_PACKED); },
                                             [&] { ours(best, LR_SGEMM_A_IN_PLACE); }};
    if (best > LR_ISA_AVX2) fs.push_back([&] { ours(LR_ISA_AVX2, LR_SGEMM_A_AUTO); });
    if (blas.ok())
      fs.push_back([&] {
        if (blas.set_threads) blas.set_threads(t);
        blas.sgemm(lrb::RowMajor, s.ta ? lrb::Trans : lrb::NoTrans, s.tb ? lrb::Trans : lrb::NoTrans, s.m, s.n,
                   s.k, 1.0f, a.data(), lda, b.data(), ldb, 0.0f, c.data(), s.n);
      });
    std::vector<double> tm = lrb::interleaved_ms(fs, reps);
    const double t_o = tm[0], t_pk = tm[1], t_ip = tm[2], t_a = best > LR_ISA_AVX2 ? tm[3] : -1;
    const double t_b = blas.ok() ? tm.back() : -1;
    const double gf = 2.0 * s.m * s.n * (double)s.k / 1e6;
    printf("%-16s %c%c %5d %5d %5d %3d | %8.3f %8.3f %8.3f %8.3f | %8.3f %6.2fx | %7.1f %7.1f\n", s.name,
           s.ta ? 'T' : 'N', s.tb ? 'T' : 'N', s.m, s.n, s.k, t, t_o, t_pk, t_ip, t_a, t_b,
           t_b > 0 ? t_b / t_o : 0.0, gf / t_o,
           t_b > 0 ? gf / t_b : 0.0);
  }
  return 0;
}
