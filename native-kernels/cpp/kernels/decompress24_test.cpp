// Correctness test of decompress24: every ISA path and thread count must equal
// the reference bit for bit (bound ||out - ref|| = 0); round trip
// decompress(compress(x)) keeps x exactly at the kept positions and zeros the
// rest; padding between rows (ldy > cols) is never written.
#include <math.h>

#include "test_util.h"

using namespace lrt;

int main() {
  Counter C;
  struct S { int64_t rows, cols, pad; };
  const S shapes[] = {{1, 1, 0},   {1, 3, 0},    {1, 4, 0},    {1, 5, 2},     {2, 7, 0},
                      {3, 13, 1},  {5, 16, 0},   {7, 33, 3},   {1, 2064, 0},  {9, 63, 0},
                      {17, 130, 5}, {33, 257, 0}, {64, 2063, 1}, {129, 4105, 3}, {0, 9, 0}};
  Rng rng(7);
  for (const S& s : shapes) {
    const int64_t ldy = s.cols + s.pad;
    std::vector<float> x((size_t)(s.rows * s.cols) + 1);
    fill(x, rng, true);
    Compressed c(s.rows, s.cols);
    lr_ref_prune24_compress(x.data(), s.cols, s.rows, s.cols, c.vals.data(), c.meta.data(),
                            c.tail.data());
    const float sentinel = -777.0f;
    std::vector<float> ref((size_t)(s.rows * ldy) + 1, sentinel);
    lr_ref_decompress24(c.vals.data(), c.meta.data(), c.tail.data(), s.rows, s.cols, ref.data(), ldy);
    // round trip: x exactly at the kept positions, +0 elsewhere, tail copied
    bool rt = true;
    const int64_t G = s.cols / 4;
    for (int64_t r = 0; r < s.rows; ++r) {
      for (int64_t j = 0; j < s.cols; ++j) {
        const float d = ref[r * ldy + j], o = x[r * s.cols + j];
        bool kept = j >= 4 * G;
        if (!kept) {
          const unsigned m = c.meta[r * G + j / 4];
          kept = (int64_t)(m & 3) == j % 4 || (int64_t)((m >> 2) & 3) == j % 4;
        }
        rt &= kept ? memcmp(&d, &o, 4) == 0 : (d == 0.0f && !signbit(d));
      }
      for (int64_t j = s.cols; j < ldy; ++j) rt &= ref[r * ldy + j] == sentinel;
    }
    C.check(rt, "round trip keeps kept values exactly, zeros elsewhere, padding untouched");
    for (int isa : isas()) {
      lr_set_isa(isa);
      for (int th : {1, 2, 3}) {
        lr_set_num_threads(th);
        std::vector<float> out((size_t)(s.rows * ldy) + 1, sentinel);
        lr_decompress24(c.vals.data(), c.meta.data(), c.tail.data(), s.rows, s.cols, out.data(), ldy);
        char buf[160];
        snprintf(buf, sizeof buf, "decompress %ldx%ld ld %ld isa %s threads %d", (long)s.rows,
                 (long)s.cols, (long)ldy, lr_isa_name(isa), th);
        C.check(bits_equal(out.data(), ref.data(), out.size() * 4), buf);
      }
    }
  }
  lr_set_isa(lr_cpu_isa());
  return C.finish("decompress24_test");
}
