// Correctness test of causal_softmax / causal_softmax_backward: every ISA
// path against the double-precision reference on fresh Gaussian scores
// (scale 3) and upstream gradients, block sizes 1..257 (tails, not multiples
// of 8/16), leading dimension n and n + 3 (padding never written).
// Bounds: ||out - ref|| / ||ref|| <= 1e-6 forward, <= 5e-6 backward (the row
// dot product is a float sum of up to n terms); masked entries exactly 0.
#include "test_util.h"

using namespace lrt;

static const double kBound = 1e-6, kBoundBack = 5e-6;

int main() {
  Counter C;
  Rng rng(16);
  const int64_t sizes[] = {1, 2, 7, 8, 9, 17, 33, 64, 100, 256, 257};
  for (int64_t n : sizes) {
    for (int64_t pad : {0, 3}) {
      const int64_t ld = n + pad, tot = n * ld;
      std::vector<float> s = randn(tot, rng, 3.0f), dp = randn(tot, rng, 1.0f);
      std::vector<float> rp(s), rg(dp);
      lr_ref_causal_softmax(rp.data(), n, ld);
      lr_ref_causal_softmax_backward(rp.data(), ld, rg.data(), ld, n);
      for (int isa : isas()) {
        lr_set_isa(isa);
        std::vector<float> p(s), g(dp);
        lr_causal_softmax(p.data(), n, ld);
        lr_causal_softmax_backward(rp.data(), ld, g.data(), ld, n);  // from the reference p
        const double ep = rel_err_2d(p.data(), rp.data(), n, n, ld), eg = rel_err_2d(g.data(), rg.data(), n, n, ld);
        char buf[200];
        snprintf(buf, sizeof buf, "causal_softmax n %ld ld %ld isa %s: fwd %.2e bwd %.2e (bounds %.0e %.0e)", (long)n,
                 (long)ld, lr_isa_name(isa), ep, eg, kBound, kBoundBack);
        C.check(ep <= kBound && eg <= kBoundBack, buf);
        bool ok = true;
        for (int64_t i = 0; i < n; ++i) {
          for (int64_t j = i + 1; j < n; ++j) ok &= p[i * ld + j] == 0.0f && g[i * ld + j] == 0.0f;
          for (int64_t j = n; j < ld; ++j) ok &= p[i * ld + j] == s[i * ld + j] && g[i * ld + j] == dp[i * ld + j];
        }
        C.check(ok, "causal_softmax: masked entries 0, padding untouched");
        if (n == 256 && pad == 0) printf("causal_softmax isa %s n 256: fwd %.2e bwd %.2e\n", lr_isa_name(isa), ep, eg);
      }
    }
  }
  lr_set_isa(lr_cpu_isa());
  return C.finish("softmax_causal_test");
}
