// Correctness test of cross_entropy: every ISA path and 1-3 threads against
// the double-precision reference on fresh Gaussian logits (scale 3), odd
// shapes (one row, vocab 1, 2 and 3 where softmax_t is often ~1, not a
// multiple of 8/16, the 32000 vocabulary),
// every third row ignored (ignore_index -100), grad_scale 0.37.
// Bounds: gradient ||out - ref|| / ||ref|| <= 1e-6, loss |out - ref| / |ref|
// <= 1e-6 (vocab 1: loss and gradient are exactly 0); ignored rows exactly 0;
// bit-identical across thread counts.
#include "test_util.h"

using namespace lrt;

static const double kBound = 1e-6;

int main() {
  Counter C;
  Rng rng(14);
  struct S { int64_t rows, vocab; };
  const S shapes[] = {{1, 1}, {1, 2}, {64, 2}, {33, 3}, {3, 7}, {2, 17}, {5, 100}, {9, 1000}, {4, 32000}, {70, 333}, {1, 32001}};
  const int32_t ignore = -100;
  const float scale = 0.37f;
  for (const S& s : shapes) {
    const int64_t n = s.rows * s.vocab;
    std::vector<float> x = randn(n, rng, 3.0f);
    std::vector<int32_t> t(s.rows);
    for (int64_t r = 0; r < s.rows; ++r) t[r] = (r % 3 == 2) ? ignore : rng.below((int)s.vocab);
    std::vector<float> ref(x);
    const double rl = lr_ref_cross_entropy(ref.data(), s.rows, s.vocab, t.data(), ignore, scale);
    for (int isa : isas()) {
      lr_set_isa(isa);
      std::vector<float> o1;
      double l1 = 0;
      for (int th : {1, 2, 3}) {
        lr_set_num_threads(th);
        std::vector<float> o(x);
        o.resize(n + 16, -777.0f);
        const double l = lr_cross_entropy(o.data(), s.rows, s.vocab, t.data(), ignore, scale);
        const double eg = rel_err(o.data(), ref.data(), n), el = s.vocab == 1 ? fabs(l) : fabs(l - rl) / fabs(rl);
        char buf[200];
        snprintf(buf, sizeof buf, "cross_entropy %ldx%ld isa %s threads %d: grad %.2e loss %.2e (bound %.0e)",
                 (long)s.rows, (long)s.vocab, lr_isa_name(isa), th, eg, el, kBound);
        C.check(eg <= kBound && el <= kBound && (rl > 0 || s.vocab == 1), buf);
        C.check(guard_ok(o, n), "cross_entropy writes nothing past the logits");
        bool zero = true;
        for (int64_t r = 0; r < s.rows; ++r)
          if (t[r] == ignore)
            for (int64_t j = 0; j < s.vocab; ++j) zero &= o[r * s.vocab + j] == 0.0f;
        C.check(zero, "cross_entropy: ignored rows are 0");
        if (th == 1) {
          o1 = o;
          l1 = l;
        } else {
          C.check(bits_equal(o.data(), o1.data(), 4 * n) && l == l1, "cross_entropy bits independent of the thread count");
        }
        if (s.vocab == 32000 && th == 2) printf("cross_entropy isa %s 4x32000: grad %.2e loss %.2e\n", lr_isa_name(isa), eg, el);
      }
    }
  }
  lr_set_isa(lr_cpu_isa());
  return C.finish("cross_entropy_test");
}
