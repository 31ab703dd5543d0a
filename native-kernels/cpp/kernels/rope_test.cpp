// Correctness test of rope (forward and inverse): every ISA path and 1-3
// threads against the double-precision reference on fresh Gaussian x and
// Gaussian cos/sin tables (any values: the kernel must not assume c^2 + s^2 = 1),
// odd shapes (half = head_dim / 2 odd or not a multiple of 8/16, several heads,
// rows not a multiple of seq_len, one shape above the 2^19 elements from which
// the kernel uses several threads).
// Bounds: ||out - ref|| / ||ref|| <= 1e-6 forward and inverse; with a real
// table (angles t / 10000^(2i/hd)) forward then inverse gives x back to
// <= 1e-6; bit-identical across thread counts; nothing past x is written.
#include "test_util.h"

using namespace lrt;

static const double kBound = 1e-6;

int main() {
  Counter C;
  Rng rng(14);
  // rows, seq_len, heads, head_dim
  const int64_t shapes[][4] = {{1, 1, 1, 2},   {3, 3, 1, 6},    {7, 7, 3, 10},   {11, 4, 2, 18},
                               {10, 5, 2, 34}, {51, 17, 3, 64}, {66, 33, 5, 30}, {1052, 263, 5, 110}};
  const int G = 16;
  for (auto& s : shapes) {
    const int64_t rows = s[0], seq = s[1], heads = s[2], hd = s[3], half = hd / 2, n = rows * heads * hd;
    std::vector<float> x = randn(n, rng, 1.0f, G), cs = randn(seq * half, rng, 1.0f), sn = randn(seq * half, rng, 1.0f);
    for (int inv : {0, 1}) {
      std::vector<float> ref(x);
      lr_ref_rope(ref.data(), cs.data(), sn.data(), rows, seq, heads, hd, inv);
      for (int isa : isas()) {
        lr_set_isa(isa);
        std::vector<float> o1;
        for (int th : {1, 2, 3}) {
          lr_set_num_threads(th);
          std::vector<float> o(x);
          lr_rope(o.data(), cs.data(), sn.data(), rows, seq, heads, hd, inv);
          const double e = rel_err(o.data(), ref.data(), n);
          char buf[200];
          snprintf(buf, sizeof buf, "rope [%ld rows, seq %ld, %ld heads x %ld] inverse %d isa %s threads %d: %.2e (bound %.0e)",
                   (long)rows, (long)seq, (long)heads, (long)hd, inv, lr_isa_name(isa), th, e, kBound);
          C.check(e <= kBound, buf);
          C.check(guard_ok(o, n), "rope writes nothing past x");
          if (th == 1) o1 = o;
          else C.check(bits_equal(o.data(), o1.data(), 4 * n), "rope bits independent of the thread count");
          if (rows == 1052 && th == 2) printf("rope inverse %d isa %s n %ld: %.2e\n", inv, lr_isa_name(isa), (long)n, e);
        }
      }
    }
    // forward then inverse with a real table is the identity up to rounding
    std::vector<float> rc(seq * half), rs(seq * half);
    for (int64_t t = 0; t < seq; ++t)
      for (int64_t i = 0; i < half; ++i) {
        const double a = (double)t / pow(10000.0, 2.0 * i / hd);
        rc[t * half + i] = (float)cos(a);
        rs[t * half + i] = (float)sin(a);
      }
    for (int isa : isas()) {
      lr_set_isa(isa);
      std::vector<float> o(x);
      lr_rope(o.data(), rc.data(), rs.data(), rows, seq, heads, hd, 0);
      lr_rope(o.data(), rc.data(), rs.data(), rows, seq, heads, hd, 1);
      const double e = rel_err(o.data(), x.data(), n);
      char buf[160];
      snprintf(buf, sizeof buf, "rope inverse(forward(x)) == x, %ld rows isa %s: %.2e (bound %.0e)", (long)rows,
               lr_isa_name(isa), e, kBound);
      C.check(e <= kBound, buf);
    }
  }
  lr_set_isa(lr_cpu_isa());
  return C.finish("rope_test");
}
