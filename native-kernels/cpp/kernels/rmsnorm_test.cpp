// Correctness test of rmsnorm / rmsnorm_backward: every ISA path and 1-3
// threads against the double-precision reference on fresh Gaussian inputs,
// odd shapes (one row, d not a multiple of 8/16, rows across the 64-row dw
// chunks, 300 x 2051 above the 2^19 elements from which it uses several
// threads). dw accumulates onto a random start value.
// Bounds: ||out - ref|| / ||ref|| <= 1e-6 for out, inv_rms, dx and dw
// (dx not for d = 1: there xhat = +-1 and dx = inv g w (1 - xhat^2) is 0 up to
// eps, pure cancellation in any float implementation);
// bit-identical across thread counts; nothing past the outputs is written.
#include "test_util.h"

using namespace lrt;

static const double kBound = 1e-6;

int main() {
  Counter C;
  Rng rng(13);
  struct S { int64_t rows, d; };
  const S shapes[] = {{1, 1}, {1, 7}, {3, 8}, {2, 9}, {5, 17}, {65, 33}, {130, 100}, {1, 512},
                      {129, 512}, {200, 1376}, {193, 67}, {7, 4099}, {300, 2051}};
  const int G = 16;
  const double eps = 1e-6;
  for (const S& s : shapes) {
    const int64_t n = s.rows * s.d;
    std::vector<float> x = randn(n, rng, 2.0f), w = randn(s.d, rng, 1.0f), g = randn(n, rng, 1.0f),
                       dw0 = randn(s.d, rng, 0.5f);
    std::vector<float> ro(n), ri(s.rows), rdx(n), rdw(dw0);
    lr_ref_rmsnorm(x.data(), w.data(), eps, ro.data(), ri.data(), s.rows, s.d);
    lr_ref_rmsnorm_backward(x.data(), w.data(), ri.data(), g.data(), rdx.data(), rdw.data(), s.rows, s.d);
    for (int isa : isas()) {
      lr_set_isa(isa);
      std::vector<float> o1, dx1, dw1;
      for (int th : {1, 2, 3}) {
        lr_set_num_threads(th);
        std::vector<float> o(n + G, -777.0f), inv(s.rows + G, -777.0f), dx(n + G, -777.0f), dw(dw0);
        dw.resize(s.d + G, -777.0f);
        lr_rmsnorm(x.data(), w.data(), eps, o.data(), inv.data(), s.rows, s.d);
        // backward from the reference inv_rms, so that it is tested on its own
        lr_rmsnorm_backward(x.data(), w.data(), ri.data(), g.data(), dx.data(), dw.data(), s.rows, s.d);
        const double eo = rel_err(o.data(), ro.data(), n), ei = rel_err(inv.data(), ri.data(), s.rows),
                     ex = rel_err(dx.data(), rdx.data(), n), ew = rel_err(dw.data(), rdw.data(), s.d);
        char buf[220];
        snprintf(buf, sizeof buf, "rmsnorm %ldx%ld isa %s threads %d: out %.2e inv %.2e dx %.2e dw %.2e (bound %.0e)",
                 (long)s.rows, (long)s.d, lr_isa_name(isa), th, eo, ei, ex, ew, kBound);
        C.check(eo <= kBound && ei <= kBound && (ex <= kBound || s.d == 1) && ew <= kBound, buf);
        C.check(guard_ok(o, n) && guard_ok(inv, s.rows) && guard_ok(dx, n) && guard_ok(dw, s.d),
                "rmsnorm writes nothing past its outputs");
        if (th == 1) {
          o1 = o; dx1 = dx; dw1 = dw;
        } else {
          C.check(bits_equal(o.data(), o1.data(), 4 * n) && bits_equal(dx.data(), dx1.data(), 4 * n) &&
                      bits_equal(dw.data(), dw1.data(), 4 * s.d),
                  "rmsnorm bits independent of the thread count");
        }
        if (s.rows == 200 && th == 2)
          printf("rmsnorm isa %s 200x1376: out %.2e inv %.2e dx %.2e dw %.2e\n", lr_isa_name(isa), eo, ei, ex, ew);
      }
    }
  }
  lr_set_isa(lr_cpu_isa());
  return C.finish("rmsnorm_test");
}
