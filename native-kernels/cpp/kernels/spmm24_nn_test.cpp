// Correctness test of spmm24_nn (Y = beta*Y + S.W): every ISA path and thread
// count against the double-accumulating reference on fresh random inputs.
// Bound: ||Y - Yref||_F / ||Yref||_F <= 1e-5 (fp32 FMA accumulation over up to
// ~2000 products; observed ~1e-7). beta = 0 must not read Y (Y starts as NaN),
// beta = 1 accumulates, beta = 0.5 scales; padding columns (ld > n) stay untouched.
#include "spmm_cases.h"
#include "test_util.h"

using namespace lrt;

int main() {
  Counter C;
  Rng rng(2024);
  double worst = 0;
  for (const SpmmCase& k : kSpmmCases) {
    for (float beta : {0.0f, 1.0f, 0.5f}) {
      Compressed s = random_compressed(k.rows, k.cols, rng, beta == 0.5f);
      const int64_t ldw = k.n + (rng.below(2) ? 3 : 0), ldy = k.n + (rng.below(2) ? 5 : 0);
      std::vector<float> w((size_t)(k.cols * ldw) + 1);
      fill(w, rng, false);
      std::vector<float> y0((size_t)(k.rows * ldy) + 1);
      fill(y0, rng, false);
      const float sentinel = -999.0f;
      for (int64_t r = 0; r < k.rows; ++r)
        for (int64_t c = k.n; c < ldy; ++c) y0[r * ldy + c] = sentinel;
      y0.back() = sentinel;
      if (beta == 0.0f)
        for (int64_t r = 0; r < k.rows; ++r)
          for (int64_t c = 0; c < k.n; ++c) y0[r * ldy + c] = NAN;
      std::vector<float> ref = y0;
      lr_ref_spmm24_nn(s.vals.data(), s.meta.data(), s.tail.data(), k.rows, k.cols, w.data(), ldw,
                       k.n, beta, ref.data(), ldy);
      for (int isa : isas()) {
        lr_set_isa(isa);
        for (int th : {1, 2, 3}) {
          lr_set_num_threads(th);
          std::vector<float> y = y0;
          lr_spmm24_nn(s.vals.data(), s.meta.data(), s.tail.data(), k.rows, k.cols, w.data(), ldw,
                       k.n, beta, y.data(), ldy);
          const double e = rel_err_2d(y.data(), ref.data(), k.rows, k.n, ldy);
          bool pad = y.back() == sentinel;
          for (int64_t r = 0; r < k.rows; ++r)
            for (int64_t c = k.n; c < ldy; ++c) pad &= y[r * ldy + c] == sentinel;
          char buf[200];
          snprintf(buf, sizeof buf, "nn rows %ld cols %ld n %ld beta %g isa %s threads %d: rel err %.3g pad %d",
                   (long)k.rows, (long)k.cols, (long)k.n, beta, lr_isa_name(isa), th, e, pad);
          C.check(e <= 1e-5 && pad, buf);
          if (e > worst) worst = e;
        }
      }
    }
  }
  lr_set_isa(lr_cpu_isa());
  printf("spmm24_nn worst relative error %.3g (bound 1e-5)\n", worst);
  return C.finish("spmm24_nn_test");
}
