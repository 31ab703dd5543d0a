// Correctness test of adamw: every ISA path and 1-3 threads against the
// double-precision reference (PyTorch's AdamW equations) on fresh Gaussian
// p, g, m and positive v, odd sizes (up to 600001, multi-threaded above 2^19),
// steps 1, 2, 10 and 1000 (bias
// corrections), lr 0.05 so that the update is not lost in p's rounding.
// Bounds: ||out - ref|| / ||ref|| <= 1e-6 for p, m and v, and <= 1e-5 for the
// update p_new - p_old (its rounding: half an ulp of p against an update of
// ~lr); bit-identical across thread counts; nothing past n is written.
#include "test_util.h"

using namespace lrt;

static const double kBound = 1e-6, kBoundUpdate = 1e-5;

int main() {
  Counter C;
  Rng rng(15);
  const int64_t sizes[] = {1, 3, 8, 9, 17, 100, 4095, 4097, 50001, 600001};
  const int64_t steps[] = {1, 2, 10, 1000};
  const int G = 16;
  for (int64_t n : sizes) {
    for (int64_t step : steps) {
      const double lr = 0.05, b1 = 0.9, b2 = 0.999, eps = 1e-8, wd = step == 10 ? 0.1 : 0.01;
      std::vector<float> p = randn(n, rng, 1.0f), g = randn(n, rng, 0.1f), m = randn(n, rng, 0.01f),
                         v = randn(n, rng, 0.01f);
      if (step == 1) std::fill(m.begin(), m.end(), 0.0f), std::fill(v.begin(), v.end(), 0.0f);  // PyTorch's start
      for (auto& e : v) e = e * e;  // v >= 0
      std::vector<float> rp(p), rm(m), rv(v);
      lr_ref_adamw(rp.data(), g.data(), rm.data(), rv.data(), n, lr, b1, b2, eps, wd, step);
      std::vector<double> rdelta(n);
      for (int64_t i = 0; i < n; ++i) rdelta[i] = (double)rp[i] - p[i];
      for (int isa : isas()) {
        lr_set_isa(isa);
        std::vector<float> p1;
        for (int th : {1, 2, 3}) {
          lr_set_num_threads(th);
          std::vector<float> op(p), om(m), ov(v);
          op.resize(n + G, -777.0f), om.resize(n + G, -777.0f), ov.resize(n + G, -777.0f);
          lr_adamw(op.data(), g.data(), om.data(), ov.data(), n, lr, b1, b2, eps, wd, step);
          double num = 0, den = 0;
          for (int64_t i = 0; i < n; ++i) {
            const double dd = ((double)op[i] - p[i]) - rdelta[i];
            num += dd * dd;
            den += rdelta[i] * rdelta[i];
          }
          const double ep = rel_err(op.data(), rp.data(), n), em = rel_err(om.data(), rm.data(), n),
                       ev = rel_err(ov.data(), rv.data(), n), ed = sqrt(num / den);
          char buf[220];
          snprintf(buf, sizeof buf, "adamw n %ld step %ld isa %s threads %d: p %.2e m %.2e v %.2e update %.2e",
                   (long)n, (long)step, lr_isa_name(isa), th, ep, em, ev, ed);
          C.check(ep <= kBound && em <= kBound && ev <= kBound && ed <= kBoundUpdate, buf);
          C.check(guard_ok(op, n) && guard_ok(om, n) && guard_ok(ov, n), "adamw writes nothing past n");
          if (th == 1) p1 = op;
          else C.check(bits_equal(op.data(), p1.data(), 4 * n), "adamw bits independent of the thread count");
          if (n == 50001 && th == 2 && step == 10) printf("%s\n", buf);
        }
      }
    }
  }
  lr_set_isa(lr_cpu_isa());
  return C.finish("adamw_test");
}
