// Correctness test of relu_square / relu_square_backward: every ISA path and
// 1-3 threads against the double-precision reference on fresh Gaussian inputs
// (never zero; about half negative), odd sizes (1, not multiples of 8/16,
// across the 4096-element blocks, above the 2^19 elements from which the
// element-wise kernels use several threads).
// Bounds: ||out - ref|| / ||ref|| == 0 forward and backward: both products
// round once, so the float results are the reference rounded, bit for bit
// (checked as such). In place (y == x; dx == dy as ElasMlp calls it; dx == x)
// gives the same bits; results do not depend on the thread count; nothing past
// n is written; a NaN in x propagates to y and dx.
#include "test_util.h"

using namespace lrt;

int main() {
  Counter C;
  Rng rng(13);
  const int64_t sizes[] = {1, 2, 7, 9, 15, 17, 31, 33, 100, 1001, 4095, 4097, 12289, 262151, 600011};
  const int G = 16;
  for (int64_t n : sizes) {
    std::vector<float> x = randn(n, rng, 2.0f), dy = randn(n, rng, 1.0f);
    std::vector<float> ry(n), rd(n);
    lr_ref_relu_square(x.data(), ry.data(), n);
    lr_ref_relu_square_backward(x.data(), dy.data(), rd.data(), n);
    for (int isa : isas()) {
      lr_set_isa(isa);
      std::vector<float> y1, d1;
      for (int th : {1, 2, 3}) {
        lr_set_num_threads(th);
        std::vector<float> y(n + G, -777.0f), d(n + G, -777.0f);
        lr_relu_square(x.data(), y.data(), n);
        lr_relu_square_backward(x.data(), dy.data(), d.data(), n);
        char buf[200];
        const double ey = rel_err(y.data(), ry.data(), n), ed = rel_err(d.data(), rd.data(), n);
        snprintf(buf, sizeof buf, "relu_square n %ld isa %s threads %d: fwd %.2e bwd %.2e (bit-identical to the reference)",
                 (long)n, lr_isa_name(isa), th, ey, ed);
        C.check(bits_equal(y.data(), ry.data(), 4 * n) && bits_equal(d.data(), rd.data(), 4 * n), buf);
        C.check(guard_ok(y, n) && guard_ok(d, n), "relu_square writes nothing past n");
        if (th == 1) {
          y1 = y;
          d1 = d;
          std::vector<float> a(x.begin(), x.begin() + n);
          lr_relu_square(a.data(), a.data(), n);
          C.check(bits_equal(a.data(), y.data(), 4 * n), "relu_square in place (y == x) == out of place");
          std::vector<float> b(dy.begin(), dy.begin() + n);
          lr_relu_square_backward(x.data(), b.data(), b.data(), n);
          C.check(bits_equal(b.data(), d.data(), 4 * n), "relu_square_backward dx == dy == out of place");
          std::vector<float> c(x.begin(), x.begin() + n);
          lr_relu_square_backward(c.data(), dy.data(), c.data(), n);
          C.check(bits_equal(c.data(), d.data(), 4 * n), "relu_square_backward dx == x == out of place");
        } else {
          C.check(bits_equal(y.data(), y1.data(), 4 * n) && bits_equal(d.data(), d1.data(), 4 * n),
                  "relu_square bits independent of the thread count");
        }
      }
      if (n >= 9) {  // NaN propagates (Math.max semantics), in a full vector and in the tail
        std::vector<float> xn(x.begin(), x.begin() + n), y(n), d(n);
        xn[3] = NAN;
        xn[n - 1] = NAN;
        lr_relu_square(xn.data(), y.data(), n);
        lr_relu_square_backward(xn.data(), dy.data(), d.data(), n);
        C.check(isnan(y[3]) && isnan(y[n - 1]) && isnan(d[3]) && isnan(d[n - 1]), "relu_square NaN propagates");
      }
    }
  }
  lr_set_isa(lr_cpu_isa());
  return C.finish("relu_square_test");
}
