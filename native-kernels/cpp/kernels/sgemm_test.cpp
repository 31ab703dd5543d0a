// Correctness test of sgemm (C = alpha op(A) op(B) + beta C): every ISA path, every
// transposition and thread count against the double-accumulating reference on fresh random
// inputs. Shapes cover the edges of the blocking: m, n not multiples of the micro-tile, k across
// several KC slices, n across NC blocks, m across MC blocks, a C of 2^20+ elements in one k
// slice, and leading dimensions wider than the rows. Bound: ||C - Cref||_F / ||Cref||_F <= 1e-5
// (fp32 FMA accumulation over up to ~1100 products; observed ~1e-7). beta = 0 must not read C
// (C starts as NaN), beta = 1 accumulates, beta = 0.5 scales; padding columns (ld > n) and the
// element after C stay untouched. Each in every op(A) mode: packed, read in place (its ragged
// last micro-panel packed) and the per-product default.
#include "test_util.h"

using namespace lrt;

namespace {
struct Case {
  int64_t m, n, k;
};
}  // namespace

int main() {
  Counter C;
  Rng rng(77);
  double worst = 0;
  const Case cases[] = {{1, 1, 1},   {5, 7, 3},     {6, 16, 256}, {13, 33, 257}, {128, 96, 64},
                        {61, 2100, 40}, {300, 40, 1100}, {37, 130, 513}, {64, 64, 192}, {7, 300, 2},
                        // C of >= 2^20 elements with k <= 512: one k slice (kc = k), wider B blocks
                        {1030, 1020, 40}, {1025, 1024, 200}};
  for (const Case& s : cases) {
    for (int ta = 0; ta < 2; ++ta)
      for (int tb = 0; tb < 2; ++tb)
        for (float beta : {0.0f, 1.0f, 0.5f}) {
          const float alpha = beta == 0.5f ? 0.7f : 1.0f;
          const int64_t arows = ta ? s.k : s.m, acols = ta ? s.m : s.k;
          const int64_t brows = tb ? s.n : s.k, bcols = tb ? s.k : s.n;
          const int64_t lda = acols + rng.below(3), ldb = bcols + rng.below(3), ldc = s.n + 2 * rng.below(2);
          std::vector<float> a = randn((size_t)(arows * lda), rng, 1.0f), b = randn((size_t)(brows * ldb), rng, 1.0f);
          std::vector<float> c0 = randn((size_t)(s.m * ldc), rng, 1.0f, 1);
          const float sentinel = -777.0f;  // randn's guard value, also in the padding columns
          for (int64_t i = 0; i < s.m; ++i)
            for (int64_t j = s.n; j < ldc; ++j) c0[i * ldc + j] = sentinel;
          if (beta == 0.0f)
            for (int64_t i = 0; i < s.m; ++i)
              for (int64_t j = 0; j < s.n; ++j) c0[i * ldc + j] = NAN;
          std::vector<float> ref = c0;
          lr_ref_sgemm(ta, tb, s.m, s.n, s.k, alpha, a.data(), lda, b.data(), ldb, beta, ref.data(), ldc);
          for (int isa : isas()) {
            lr_set_isa(isa);
            for (int th : {1, 2, 3}) {
              lr_set_num_threads(th);
              for (int maxt : {0, 1})
              for (int mode : {LR_SGEMM_A_AUTO, LR_SGEMM_A_PACKED, LR_SGEMM_A_IN_PLACE}) {
                lr_sgemm_set_a_mode(mode);
                std::vector<float> c = c0;
                const int rc = lr_sgemm(ta, tb, s.m, s.n, s.k, alpha, a.data(), lda, b.data(), ldb, beta,
                                        c.data(), ldc, maxt);
                lr_sgemm_set_a_mode(LR_SGEMM_A_AUTO);
                const double e = rel_err_2d(c.data(), ref.data(), s.m, s.n, ldc);
                bool pad = c.back() == sentinel;
                for (int64_t i = 0; i < s.m; ++i)
                  for (int64_t j = s.n; j < ldc; ++j) pad &= c[i * ldc + j] == sentinel;
                char buf[240];
                snprintf(buf, sizeof buf,
                         "sgemm %c%c m %ld n %ld k %ld lda %ld ldb %ld ldc %ld beta %g isa %s threads %d max %d: "
                         "A mode %d: rc %d rel err %.3g pad %d",
                         ta ? 'T' : 'N', tb ? 'T' : 'N', (long)s.m, (long)s.n, (long)s.k, (long)lda, (long)ldb,
                         (long)ldc, beta, lr_isa_name(isa), th, maxt, mode, rc, e, pad);
                C.check(rc == 0 && e <= 1e-5 && pad, buf);
                if (e > worst) worst = e;
              }
            }
          }
        }
  }
  // k = 0: C = beta C (no product), beta = 0 clears NaN
  {
    std::vector<float> c = {NAN, NAN, 3.0f, 4.0f};
    lr_set_isa(lr_cpu_isa());
    lr_sgemm(0, 0, 1, 2, 0, 1.0f, nullptr, 1, nullptr, 2, 0.0f, c.data(), 2, 0);
    lr_sgemm(0, 0, 1, 2, 0, 1.0f, nullptr, 1, nullptr, 2, 0.5f, c.data() + 2, 2, 0);
    C.check(c[0] == 0.0f && c[1] == 0.0f && c[2] == 1.5f && c[3] == 2.0f, "k = 0 scales C by beta");
  }
  lr_set_isa(lr_cpu_isa());
  printf("sgemm worst relative error %.3g (bound 1e-5)\n", worst);
  return C.finish("sgemm_test");
}
