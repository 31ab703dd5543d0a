// Benchmark of sgemm against OpenBLAS's cblas_sgemm at the products of a 60m / 350m CoLA step
// (2048 / 1024 tokens, rank 128 / 256) and attention's 64-row blocks (the latter on one thread,
// as the backend issues them: one head per worker thread). Columns: ours (the default), packA /
// inplA (op(A) always packed / always read in place), avx2 (the AVX2 path), blas (OpenBLAS).
// Runs are interleaved (one of each per rep) and the median of LOWRANK_BENCH_REPS (default 7)
// is reported.
// Threads: LOWRANK_BENCH_THREADS, else OMP_NUM_THREADS. One shape: LOWRANK_BENCH_SHAPE=i.
// Then the grouped products of projections that share an input (q/k/v, gate/up): the parts one
// call each against one lr_sgemm_shared_a / lr_sgemm_sum_k call, each timing after a 64 MiB
// write that evicts the operands, as in a training step (where the last touch of x or dx was
// several products earlier). LOWRANK_BENCH_GROUPED=0 skips them, =only runs only them; the
// SiLU epilogues against the product followed by lr_silu / lr_silu_backward come with them.
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
// A grouped product and its parts as separate products: shared_a (C_g = op(A) op(B_g), parts along
// n) or sum_k (C = sum_g op(A_g) op(B_g), parts along k)
struct GroupShape {
  const char* name;
  int sum_k, ta, tb;
  int64_t m, other, ext;  // parts of extent ext: n_g along n (other = k) or k_g along k (other = n)
  int parts;
};
const GroupShape kGroupShapes[] = {
    {"60m qkv h=xA", 0, 0, 0, 2048, 512, 128, 3},     {"60m qkv dA=x'dh", 0, 1, 0, 512, 2048, 128, 3},
    {"60m qkv dx=dhA'", 1, 0, 1, 2048, 512, 128, 3},  {"60m gate/up h=xA", 0, 0, 0, 2048, 512, 128, 2},
    {"60m gate/up dA", 0, 1, 0, 512, 2048, 128, 2},   {"60m gate/up dx", 1, 0, 1, 2048, 512, 128, 2},
    {"350m qkv h=xA", 0, 0, 0, 1024, 1024, 256, 3},   {"350m qkv dA", 0, 1, 0, 1024, 1024, 256, 3},
    {"350m qkv dx", 1, 0, 1, 1024, 1024, 256, 3},     {"60m full qkv y=xW'", 0, 0, 1, 2048, 512, 512, 3},
    {"60m full qkv dx=dyW", 1, 0, 0, 2048, 512, 512, 3},
};

void grouped_bench(int th, int reps) {
  printf("\ngrouped products, operands evicted before each call (64 MiB write), median of %d, threads %d\n", reps, th);
  printf("%-20s %-8s %2s %5s %5s %5s %5s | %8s %8s %7s\n", "group", "kind", "op", "m", "other", "ext", "parts",
         "parts ms", "group ms", "speedup");
  std::vector<float> evict((size_t)16 << 20);
  lrt::Rng rng(9);
  for (const GroupShape& s : kGroupShapes) {
    const int P = s.parts;
    const int64_t n = s.sum_k ? s.other : s.ext, k = s.sum_k ? s.ext : s.other;
    std::vector<std::vector<float>> as, bs, cs;
    for (int g = 0; g < P; ++g) {
      if (s.sum_k || g == 0) as.push_back(lrt::randn((size_t)(s.m * k), rng, 1.0f));
      bs.push_back(lrt::randn((size_t)(k * n), rng, 1.0f));
      if (!s.sum_k || g == 0) cs.push_back(std::vector<float>((size_t)(s.m * n)));
    }
    const int64_t lda = s.ta ? s.m : k, ldb = s.tb ? k : n, ldc = n;
    std::vector<const float*> ap, bp;
    std::vector<float*> cp;
    std::vector<int64_t> ext(P, s.ext), ldas(P, lda), ldbs(P, ldb), ldcs(P, ldc);
    for (int g = 0; g < P; ++g) {
      ap.push_back(as[s.sum_k ? g : 0].data());
      bp.push_back(bs[g].data());
      cp.push_back(cs[s.sum_k ? 0 : g].data());
    }
    auto parts = [&] {
      for (int g = 0; g < P; ++g)
        lr_sgemm(s.ta, s.tb, s.m, n, k, 1.0f, ap[g], lda, bp[g], ldb, s.sum_k && g > 0 ? 1.0f : 0.0f, cp[g], ldc, th);
    };
    auto group = [&] {
      if (s.sum_k)
        lr_sgemm_sum_k(s.ta, s.tb, s.m, n, P, ext.data(), 1.0f, ap.data(), ldas.data(), bp.data(), ldbs.data(), 0.0f,
                       cp[0], ldc, th);
      else
        lr_sgemm_shared_a(s.ta, s.tb, s.m, k, 1.0f, ap[0], lda, P, ext.data(), bp.data(), ldbs.data(), 0.0f,
                          cp.data(), ldcs.data(), LR_SGEMM_EPI_NONE, nullptr, nullptr, th);
    };
    std::vector<double> tp, tg;
    for (int r = -2; r < reps; ++r)
      for (int which = 0; which < 2; ++which) {
        for (size_t i = 0; i < evict.size(); i += 16) evict[i] = (float)r;
        const double t0 = lrb::now_ms();
        if (which == 0) parts(); else group();
        const double t = lrb::now_ms() - t0;
        if (r >= 0) (which == 0 ? tp : tg).push_back(t);
      }
    std::sort(tp.begin(), tp.end());
    std::sort(tg.begin(), tg.end());
    const double mp = tp[tp.size() / 2], mg = tg[tg.size() / 2];
    printf("%-20s %-8s %c%c %5ld %5ld %5ld %5d | %8.3f %8.3f %6.2fx\n", s.name, s.sum_k ? "sum_k" : "shared_a",
           s.ta ? 'T' : 'N', s.tb ? 'T' : 'N', (long)s.m, (long)s.other, (long)s.ext, P, mp, mg, mp / mg);
  }
}
// CoLA's h = x A with z = SiLU(h), and dh = (dy B^T) * SiLU'(h): the fused epilogue against the
// product followed by the separate kernel, interleaved, hot operands
void epilogue_bench(int th, int reps) {
  struct EpiShape {
    const char* name;
    int epi;
    int64_t m, n, k;
  };
  const EpiShape shapes[] = {{"60m h=xA, z", LR_SGEMM_EPI_SILU, 2048, 128, 512},
                             {"60m ffn h=xA, z", LR_SGEMM_EPI_SILU, 2048, 128, 1376},
                             {"60m dh=dyB'*silu'", LR_SGEMM_EPI_SILU_GRAD, 2048, 128, 512},
                             {"60m ffn dh", LR_SGEMM_EPI_SILU_GRAD, 2048, 128, 1376},
                             {"350m h=xA, z", LR_SGEMM_EPI_SILU, 1024, 256, 1024},
                             {"350m dh", LR_SGEMM_EPI_SILU_GRAD, 1024, 256, 1024}};
  printf("\nSiLU epilogues, median of %d (interleaved), threads %d\n", reps, th);
  printf("%-20s %5s %5s %5s | %9s %9s %7s\n", "product", "m", "n", "k", "sep ms", "fused ms", "speedup");
  lrt::Rng rng(11);
  for (const EpiShape& s : shapes) {
    const int tb = s.epi == LR_SGEMM_EPI_SILU_GRAD;   // dy B^T: B [n, k]
    std::vector<float> a = lrt::randn((size_t)(s.m * s.k), rng, 1.0f), b = lrt::randn((size_t)(s.k * s.n), rng, 0.05f);
    std::vector<float> c((size_t)(s.m * s.n)), aux = lrt::randn((size_t)(s.m * s.n), rng, 1.0f);
    const int64_t ldb = tb ? s.k : s.n;
    std::vector<std::function<void()>> fs = {
        [&] {
          lr_sgemm(0, tb, s.m, s.n, s.k, 1.0f, a.data(), s.k, b.data(), ldb, 0.0f, c.data(), s.n, th);
          if (s.epi == LR_SGEMM_EPI_SILU) lr_silu(c.data(), aux.data(), s.m * s.n);
          else lr_silu_backward(aux.data(), c.data(), c.data(), s.m * s.n);
        },
        [&] {
          lr_sgemm_ep(0, tb, s.m, s.n, s.k, 1.0f, a.data(), s.k, b.data(), ldb, 0.0f, c.data(), s.n, s.epi, aux.data(),
                      s.n, th);
        }};
    std::vector<double> t = lrb::interleaved_ms(fs, reps);
    printf("%-20s %5ld %5ld %5ld | %9.3f %9.3f %6.2fx\n", s.name, (long)s.m, (long)s.n, (long)s.k, t[0], t[1], t[0] / t[1]);
  }
}
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
  const char* grouped = getenv("LOWRANK_BENCH_GROUPED");
  const bool grouped_only = grouped && strcmp(grouped, "only") == 0;
  for (const auto& s : kGemmShapes) {
    if ((++idx != only && only >= 0) || grouped_only) continue;
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
  if (only < 0 && !(grouped && grouped[0] == '0')) {
    grouped_bench(th, reps);
    epilogue_bench(th, reps);
  }
  return 0;
}
