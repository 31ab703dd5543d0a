// Correctness test of swiglu / swiglu_backward (SiLU gate and identity gate):
// every ISA path and 1-3 threads against the double-precision reference on
// fresh Gaussian inputs of odd sizes (up to 600011: above the 2^19 elements
// from which the element-wise kernels use several threads).
// Bounds: ||out - ref|| / ||ref|| <= 1e-6 for out, dg and du; bit-identical
// across thread counts; nothing past n is written.
#include "test_util.h"

using namespace lrt;

static const double kBound = 1e-6;

int main() {
  Counter C;
  Rng rng(12);
  const int64_t sizes[] = {1, 3, 8, 9, 16, 17, 63, 65, 1000, 4097, 8193, 100003, 600011};
  const int G = 16;
  for (int64_t n : sizes) {
    std::vector<float> g = randn(n, rng, 3.0f), u = randn(n, rng, 1.0f), dy = randn(n, rng, 1.0f);
    for (int silu : {1, 0}) {
      std::vector<float> ro(n), rdg(n), rdu(n);
      lr_ref_swiglu(g.data(), u.data(), ro.data(), n, silu);
      lr_ref_swiglu_backward(g.data(), u.data(), dy.data(), rdg.data(), rdu.data(), n, silu);
      for (int isa : isas()) {
        lr_set_isa(isa);
        std::vector<float> o1, g1, u1;
        for (int th : {1, 2, 3}) {
          lr_set_num_threads(th);
          std::vector<float> o(n + G, -777.0f), dg(n + G, -777.0f), du(n + G, -777.0f);
          lr_swiglu(g.data(), u.data(), o.data(), n, silu);
          lr_swiglu_backward(g.data(), u.data(), dy.data(), dg.data(), du.data(), n, silu);
          const double eo = rel_err(o.data(), ro.data(), n), eg = rel_err(dg.data(), rdg.data(), n),
                       eu = rel_err(du.data(), rdu.data(), n);
          char buf[200];
          snprintf(buf, sizeof buf, "swiglu silu=%d n %ld isa %s threads %d: out %.2e dg %.2e du %.2e (bound %.0e)",
                   silu, (long)n, lr_isa_name(isa), th, eo, eg, eu, kBound);
          C.check(eo <= kBound && eg <= kBound && eu <= kBound, buf);
          C.check(guard_ok(o, n) && guard_ok(dg, n) && guard_ok(du, n), "swiglu writes nothing past n");
          if (th == 1) {
            o1 = o; g1 = dg; u1 = du;
          } else {
            C.check(bits_equal(o.data(), o1.data(), 4 * n) && bits_equal(dg.data(), g1.data(), 4 * n) &&
                        bits_equal(du.data(), u1.data(), 4 * n),
                    "swiglu bits independent of the thread count");
          }
          if (n == 100003 && th == 2)
            printf("swiglu silu=%d isa %s n %ld: out %.2e dg %.2e du %.2e\n", silu, lr_isa_name(isa), (long)n, eo, eg, eu);
        }
      }
    }
  }
  lr_set_isa(lr_cpu_isa());
  return C.finish("swiglu_test");
}
