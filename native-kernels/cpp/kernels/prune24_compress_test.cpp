// Correctness test of prune24_compress: every ISA path (and thread count) must
// equal the reference BIT FOR BIT (vals, meta, tail): the selection is a pure
// comparison, so the bound is ||out - ref|| = 0. Also checks the selection
// rule itself on hand-made groups (ties, signed zeros, NaN, inf) and that
// nothing is written past the outputs.
#include <math.h>

#include "test_util.h"

using namespace lrt;

static void check_group(Counter& C, float a, float b, float c, float d, int i0, int i1,
                        const char* what) {
  float x[4] = {a, b, c, d};
  float v[2];
  uint8_t m;
  for (int isa : isas()) {
    lr_set_isa(isa);
    for (int ref = 0; ref < 2; ++ref) {
      if (ref)
        lr_ref_prune24_compress(x, 4, 1, 4, v, &m, nullptr);
      else
        lr_prune24_compress(x, 4, 1, 4, v, &m, nullptr);
      bool ok = m == (uint8_t)(i0 | i1 << 2) && memcmp(&v[0], &x[i0], 4) == 0 &&
                memcmp(&v[1], &x[i1], 4) == 0;
      char buf[160];
      snprintf(buf, sizeof buf, "rule %s (isa %s, %s): got meta 0x%02x", what, lr_isa_name(isa),
               ref ? "ref" : "fast", m);
      C.check(ok, buf);
    }
  }
  lr_set_isa(lr_cpu_isa());
}

int main() {
  Counter C;
  const float inf = INFINITY, nan = NAN;
  // the rule: two largest |x|, ties to the lower index, NaN above inf, -0 == +0
  check_group(C, 1, 1, 1, 1, 0, 1, "all equal");
  check_group(C, 0.1f, -3, 2, 0.5f, 1, 2, "plain");
  check_group(C, 0, -1, 1, 0, 1, 2, "|-1| == |1|");
  check_group(C, 1, 2, 2, 1, 1, 2, "middle pair");
  check_group(C, 2, 1, 1, 2, 0, 3, "outer pair");
  check_group(C, 1, 1, 2, 1, 0, 2, "tie for second");
  check_group(C, -0.0f, 0.0f, 0.0f, -0.0f, 0, 1, "signed zeros");
  check_group(C, 1, nan, inf, 2, 1, 2, "nan > inf");
  check_group(C, -inf, 3, 4, inf, 0, 3, "+-inf");
  check_group(C, 1e-40f, 0, -2e-40f, 0, 0, 2, "denormals");
  check_group(C, 0.25f, 0.5f, 0.75f, 1.0f, 2, 3, "increasing");

  // random shapes: odd cols, tails, rows = 1, strided input
  struct S { int64_t rows, cols, pad; };
  const S shapes[] = {{1, 1, 0},   {1, 3, 0},    {1, 4, 0},     {1, 5, 2},    {2, 7, 0},
                      {3, 13, 1},  {5, 16, 0},   {7, 33, 3},    {1, 2064, 0}, {9, 63, 0},
                      {17, 130, 5}, {33, 257, 0}, {64, 2063, 1}, {100, 2064, 0}, {129, 4105, 3},
                      {0, 9, 0}};
  Rng rng(42);
  for (const S& s : shapes) {
    const int64_t ldx = s.cols + s.pad;
    for (int relu2 = 0; relu2 < 2; ++relu2) {
      std::vector<float> x((size_t)(s.rows * ldx) + 1);
      fill(x, rng, true, relu2 != 0);
      Compressed ref(s.rows, s.cols);
      lr_ref_prune24_compress(x.data(), ldx, s.rows, s.cols, ref.vals.data(), ref.meta.data(),
                              ref.tail.data());
      for (int isa : isas()) {
        lr_set_isa(isa);
        for (int th : {1, 2, 3}) {
          lr_set_num_threads(th);
          Compressed out(s.rows, s.cols);
          const float sentinel = -12345.0f;
          for (auto& v : out.vals) v = sentinel;
          for (auto& v : out.tail) v = sentinel;
          for (auto& v : out.meta) v = 0xAB;
          lr_prune24_compress(x.data(), ldx, s.rows, s.cols, out.vals.data(), out.meta.data(),
                              out.tail.data());
          const size_t nv = nvals(s.rows, s.cols), nm = nmeta(s.rows, s.cols),
                       nt = ntail(s.rows, s.cols);
          char buf[160];
          snprintf(buf, sizeof buf, "compress %ldx%ld ld %ld relu2 %d isa %s threads %d",
                   (long)s.rows, (long)s.cols, (long)ldx, relu2, lr_isa_name(isa), th);
          C.check(bits_equal(out.vals.data(), ref.vals.data(), nv * 4) &&
                      bits_equal(out.meta.data(), ref.meta.data(), nm) &&
                      bits_equal(out.tail.data(), ref.tail.data(), nt * 4),
                  buf);
          C.check(out.vals[nv] == sentinel && out.tail[nt] == sentinel && out.meta[nm] == 0xAB,
                  "no write past the outputs");
        }
      }
      // property of the reference: exactly the two largest magnitudes, in order
      bool prop = true;
      const int64_t G = s.cols / 4;
      for (int64_t r = 0; r < s.rows; ++r)
        for (int64_t g = 0; g < G; ++g) {
          const unsigned m = ref.meta[r * G + g];
          const int i0 = m & 3, i1 = (m >> 2) & 3;
          prop &= (m >> 4) == 0 && i0 < i1;
          for (int j = 0; j < 4; ++j) {
            if (j == i0 || j == i1) continue;
            const float xj = fabsf(x[r * ldx + 4 * g + j]);
            prop &= fabsf(x[r * ldx + 4 * g + i0]) >= xj && fabsf(x[r * ldx + 4 * g + i1]) >= xj;
            // ties go to the lower index: a pruned j below a kept one must be strictly smaller
            if (j < i0) prop &= fabsf(x[r * ldx + 4 * g + i0]) > xj;
            if (j < i1) prop &= fabsf(x[r * ldx + 4 * g + i1]) > xj;
          }
          prop &= ref.vals[r * 2 * G + 2 * g] == x[r * ldx + 4 * g + i0] &&
                  ref.vals[r * 2 * G + 2 * g + 1] == x[r * ldx + 4 * g + i1];
        }
      C.check(prop, "reference keeps the two largest magnitudes, ties to the lower index");
    }
  }
  lr_set_isa(lr_cpu_isa());
  return C.finish("prune24_compress_test");
}
