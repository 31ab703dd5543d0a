// Correctness test of silu / silu_backward: every ISA path and 1-3 threads
// against the double-precision reference (exp from libm) on fresh Gaussian
// inputs (scale 4, plus a few values beyond the exp range), odd sizes (1, not
// multiples of 8/16, across the 4096-element blocks, above the 2^19 elements
// from which the element-wise kernels use several threads).
// Bounds: ||out - ref|| / ||ref|| <= 1e-6 forward and backward; in place
// (z == h) gives the same bits; results do not depend on the thread count
// (bit-identical); nothing past n is written.
#include "test_util.h"

using namespace lrt;

static const double kBound = 1e-6;

int main() {
  Counter C;
  Rng rng(11);
  const int64_t sizes[] = {1, 2, 7, 9, 15, 17, 31, 33, 100, 1001, 4095, 4097, 12289, 262151, 600011};
  const int G = 16;
  for (int64_t n : sizes) {
    std::vector<float> h = randn(n, rng, 4.0f), dz = randn(n, rng, 1.0f);
    if (n > 8) { h[1] = 95.0f; h[3] = -95.0f; h[5] = 88.0f; h[7] = -87.0f; }
    std::vector<float> rz(n), rd(n);
    lr_ref_silu(h.data(), rz.data(), n);
    lr_ref_silu_backward(h.data(), dz.data(), rd.data(), n);
    for (int isa : isas()) {
      lr_set_isa(isa);
      std::vector<float> z1, d1;
      for (int th : {1, 2, 3}) {
        lr_set_num_threads(th);
        std::vector<float> z(n + G, -777.0f), d(n + G, -777.0f);
        lr_silu(h.data(), z.data(), n);
        lr_silu_backward(h.data(), dz.data(), d.data(), n);
        char buf[160];
        const double ez = rel_err(z.data(), rz.data(), n), ed = rel_err(d.data(), rd.data(), n);
        snprintf(buf, sizeof buf, "silu n %ld isa %s threads %d: fwd %.2e bwd %.2e (bound %.0e)", (long)n,
                 lr_isa_name(isa), th, ez, ed, kBound);
        C.check(ez <= kBound && ed <= kBound, buf);
        C.check(guard_ok(z, n) && guard_ok(d, n), "silu writes nothing past n");
        if (th == 1) {
          z1 = z;
          d1 = d;
          std::vector<float> inplace(h.begin(), h.begin() + n);
          lr_silu(inplace.data(), inplace.data(), n);
          C.check(bits_equal(inplace.data(), z.data(), 4 * n), "silu in place == out of place");
        } else {
          C.check(bits_equal(z.data(), z1.data(), 4 * n) && bits_equal(d.data(), d1.data(), 4 * n),
                  "silu bits independent of the thread count");
        }
        if (n == 262151 && th == 2) printf("silu isa %s n %ld: fwd %.2e bwd %.2e\n", lr_isa_name(isa), (long)n, ez, ed);
      }
    }
  }
  lr_set_isa(lr_cpu_isa());
  return C.finish("silu_test");
}
