// Correctness test of sgemm (C = alpha op(A) op(B) + beta C): every ISA path, every
// transposition and thread count against the double-accumulating reference on fresh random
// inputs. Shapes cover the edges of the blocking: m, n not multiples of the micro-tile, k across
// several KC slices, n across NC blocks, m across MC blocks, a C of 2^20+ elements in one k
// slice, and leading dimensions wider than the rows. Bound: ||C - Cref||_F / ||Cref||_F <= 1e-5
// (fp32 FMA accumulation over up to ~1100 products; observed ~1e-7). beta = 0 must not read C
// (C starts as NaN), beta = 1 accumulates, beta = 0.5 scales; padding columns (ld > n) and the
// element after C stay untouched. Each in every op(A) mode: packed, read in place (its ragged
// last micro-panel packed) and the per-product default.
// The grouped products (lr_sgemm_shared_a: parts along n sharing op(A); lr_sgemm_sum_k: parts
// along k summed into one C) against the reference run part by part, with parts of widths that
// are not multiples of the micro-tile, empty parts, and k slices that span parts. The SiLU
// epilogues (single and grouped) bit for bit against lr_sgemm followed by lr_silu /
// lr_silu_backward.
#include "test_util.h"

using namespace lrt;

namespace {
struct Case {
  int64_t m, n, k;
};
// A [rows, cols] with ld >= cols, NaN-free random values; C-side padding set to the sentinel
struct Mat {
  int64_t rows, cols, ld;
  std::vector<float> v;
  Mat(int64_t r, int64_t c, Rng& rng) : rows(r), cols(c), ld(c + rng.below(3)), v(randn((size_t)(r * ld + 1), rng, 1.0f)) {}
};

constexpr float kSentinel = -777.0f;

// C [m, n] for a product: padding columns and the element after C hold the sentinel; beta = 0
// starts C as NaN (it must not be read)
Mat c_matrix(int64_t m, int64_t n, float beta, Rng& rng) {
  Mat c(m, n, rng);
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < c.ld; ++j)
      c.v[i * c.ld + j] = j >= n ? kSentinel : beta == 0.0f ? NAN : c.v[i * c.ld + j];
  c.v.back() = kSentinel;
  return c;
}

bool pad_intact(const Mat& c) {
  bool ok = c.v.back() == kSentinel;
  for (int64_t i = 0; i < c.rows; ++i)
    for (int64_t j = c.cols; j < c.ld; ++j) ok &= c.v[i * c.ld + j] == kSentinel;
  return ok;
}

double grouped(Counter& C, Rng& rng) {
  double worst = 0;
  // extents of the parts (n_g along n, k_g along k) and the shared dimensions
  struct GroupCase {
    int64_t m, other;
    std::vector<int64_t> ext;
  };
  const GroupCase cases[] = {{37, 65, {128}},          {64, 96, {128, 128, 128}}, {29, 300, {5, 0, 33, 16}},
                             {130, 70, {100, 300, 250}}, {9, 17, {1, 2, 3, 4, 5, 6, 7, 8}},
                             {170, 513, {96, 128}}};   // m over two MC blocks, k over two KC slices
  for (const GroupCase& gc : cases)
    for (int along_k = 0; along_k < 2; ++along_k)
      for (int ta = 0; ta < 2; ++ta)
        for (int tb = 0; tb < 2; ++tb)
          for (float beta : {0.0f, 1.0f, 0.5f}) {
            const float alpha = beta == 0.5f ? 0.7f : 1.0f;
            const int parts = (int)gc.ext.size();
            const int64_t m = gc.m;
            // along n: shared k = other, part g is n_g wide; along k: shared n = other, part g is k_g deep
            std::vector<Mat> as, bs, cs;
            std::vector<int64_t> n(parts), k(parts), lda(parts), ldb(parts), ldc(parts);
            for (int g = 0; g < parts; ++g) {
              n[g] = along_k ? gc.other : gc.ext[g];
              k[g] = along_k ? gc.ext[g] : gc.other;
              if (along_k || g == 0) as.emplace_back(ta ? k[g] : m, ta ? m : k[g], rng);
              bs.emplace_back(tb ? n[g] : k[g], tb ? k[g] : n[g], rng);
              if (!along_k || g == 0) cs.push_back(c_matrix(m, n[g], beta, rng));
            }
            std::vector<const float*> ap, bp;
            std::vector<float*> cp;
            for (int g = 0; g < parts; ++g) {
              const Mat& a = as[along_k ? g : 0];
              ap.push_back(a.v.data());
              lda[g] = a.ld;
              bp.push_back(bs[g].v.data());
              ldb[g] = bs[g].ld;
            }
            // reference: part by part (along k: the first with beta, the rest accumulating)
            std::vector<Mat> ref = cs;
            for (int g = 0; g < parts; ++g) {
              Mat& r = ref[along_k ? 0 : g];
              lr_ref_sgemm(ta, tb, m, n[g], k[g], alpha, ap[g], lda[g], bp[g], ldb[g],
                           along_k && g > 0 ? 1.0f : beta, r.v.data(), r.ld);
            }
            for (int isa : isas()) {
              lr_set_isa(isa);
              for (int th : {1, 2, 3})
                for (int mode : {LR_SGEMM_A_AUTO, LR_SGEMM_A_PACKED, LR_SGEMM_A_IN_PLACE}) {
                  lr_set_num_threads(th);
                  lr_sgemm_set_a_mode(mode);
                  std::vector<Mat> out = cs;
                  cp.clear();
                  for (int g = 0; g < (int)out.size(); ++g) {
                    cp.push_back(out[g].v.data());
                    ldc[g] = out[g].ld;
                  }
                  const int rc = along_k ? lr_sgemm_sum_k(ta, tb, m, gc.other, parts, k.data(), alpha, ap.data(),
                                                          lda.data(), bp.data(), ldb.data(), beta, cp[0], ldc[0], 0)
                                         : lr_sgemm_shared_a(ta, tb, m, gc.other, alpha, ap[0], lda[0], parts,
                                                             n.data(), bp.data(), ldb.data(), beta, cp.data(),
                                                             ldc.data(), LR_SGEMM_EPI_NONE, nullptr, nullptr, 0);
                  lr_sgemm_set_a_mode(LR_SGEMM_A_AUTO);
                  double e = 0;
                  bool pad = true;
                  for (size_t g = 0; g < out.size(); ++g) {
                    if (out[g].cols > 0 && m > 0)
                      e = std::max(e, rel_err_2d(out[g].v.data(), ref[g].v.data(), m, out[g].cols, out[g].ld));
                    pad &= pad_intact(out[g]);
                  }
                  char buf[240];
                  snprintf(buf, sizeof buf,
                           "sgemm %s %c%c m %ld other %ld parts %d beta %g isa %s threads %d A mode %d: rc %d rel "
                           "err %.3g pad %d",
                           along_k ? "sum_k" : "shared_a", ta ? 'T' : 'N', tb ? 'T' : 'N', (long)m, (long)gc.other,
                           parts, beta, lr_isa_name(isa), th, mode, rc, e, pad);
                  C.check(rc == 0 && e <= 1e-5 && pad, buf);
                  worst = std::max(worst, e);
                }
            }
          }
  // parts outside 1..LR_SGEMM_MAX_PARTS are refused before anything is touched
  {
    int64_t ext[LR_SGEMM_MAX_PARTS + 1] = {}, ld[LR_SGEMM_MAX_PARTS + 1] = {};
    const float* ptr[LR_SGEMM_MAX_PARTS + 1] = {};
    float* cptr[LR_SGEMM_MAX_PARTS + 1] = {};
    float c = 1.0f;
    for (int parts : {0, LR_SGEMM_MAX_PARTS + 1}) {
      C.check(lr_sgemm_shared_a(0, 0, 1, 1, 1.0f, &c, 1, parts, ext, ptr, ld, 0.0f, cptr, ld, 0, nullptr, nullptr, 0) == -2,
              "shared_a refuses parts outside 1..max");
      C.check(lr_sgemm_sum_k(0, 0, 1, 1, parts, ext, 1.0f, ptr, ld, ptr, ld, 0.0f, &c, 1, 0) == -2,
              "sum_k refuses parts outside 1..max");
    }
    C.check(c == 1.0f, "a refused grouped product writes nothing");
  }
  lr_set_num_threads(2);
  return worst;
}

// The epilogues give the bits of the product followed by the separate SiLU kernels
void epilogues(Counter& C, Rng& rng) {
  struct EpiCase {
    int64_t m, n, k;
  };
  const EpiCase cases[] = {{37, 70, 300}, {64, 128, 512}, {29, 33, 1100}, {8, 32, 0}, {130, 5, 17}};
  for (const EpiCase& s : cases)
    for (int ta = 0; ta < 2; ++ta)
      for (int tb = 0; tb < 2; ++tb)
        for (int epi : {LR_SGEMM_EPI_SILU, LR_SGEMM_EPI_SILU_GRAD})
          for (float beta : {0.0f, 0.5f}) {
            Mat a(ta ? s.k : s.m, ta ? s.m : s.k, rng), b(tb ? s.n : s.k, tb ? s.k : s.n, rng);
            Mat c0 = c_matrix(s.m, s.n, beta, rng), aux0 = c_matrix(s.m, s.n, 1.0f, rng);
            for (int isa : isas()) {
              lr_set_isa(isa);
              for (int th : {1, 2}) {
                lr_set_num_threads(th);
                // expected: the plain product, then the separate kernel row by row
                Mat want = c0, want_aux = aux0;
                lr_sgemm(ta, tb, s.m, s.n, s.k, 0.5f, a.v.data(), a.ld, b.v.data(), b.ld, beta, want.v.data(), want.ld, 0);
                for (int64_t i = 0; i < s.m; ++i) {
                  float* ci = want.v.data() + i * want.ld;
                  float* xi = want_aux.v.data() + i * want_aux.ld;
                  if (epi == LR_SGEMM_EPI_SILU) lr_silu(ci, xi, s.n);
                  else lr_silu_backward(xi, ci, ci, s.n);
                }
                Mat got = c0, got_aux = aux0;
                int rc = lr_sgemm_ep(ta, tb, s.m, s.n, s.k, 0.5f, a.v.data(), a.ld, b.v.data(), b.ld, beta,
                                     got.v.data(), got.ld, epi, got_aux.v.data(), got_aux.ld, 0);
                // the same product as a group of two parts (columns [0, n1) and [n1, n))
                Mat grp = c0, grp_aux = aux0;
                const int64_t n1 = s.n / 3;
                const int64_t nn[2] = {n1, s.n - n1}, ldb2[2] = {b.ld, b.ld}, ldc2[2] = {grp.ld, grp.ld},
                              ldx2[2] = {grp_aux.ld, grp_aux.ld};
                const float* b2[2] = {b.v.data(), b.v.data() + (tb ? n1 * b.ld : n1)};
                float* c2[2] = {grp.v.data(), grp.v.data() + n1};
                float* x2[2] = {grp_aux.v.data(), grp_aux.v.data() + n1};
                const int rc2 = lr_sgemm_shared_a(ta, tb, s.m, s.k, 0.5f, a.v.data(), a.ld, 2, nn, b2, ldb2, beta, c2,
                                                  ldc2, epi, x2, ldx2, 0);
                const size_t bytes = sizeof(float) * want.v.size(), aux_bytes = sizeof(float) * want_aux.v.size();
                char buf[200];
                snprintf(buf, sizeof buf, "sgemm epilogue %d %c%c m %ld n %ld k %ld beta %g isa %s threads %d: rc %d/%d",
                         epi, ta ? 'T' : 'N', tb ? 'T' : 'N', (long)s.m, (long)s.n, (long)s.k, beta, lr_isa_name(isa),
                         th, rc, rc2);
                C.check(rc == 0 && bits_equal(got.v.data(), want.v.data(), bytes) &&
                            bits_equal(got_aux.v.data(), want_aux.v.data(), aux_bytes), buf);
                C.check(rc2 == 0 && bits_equal(grp.v.data(), want.v.data(), bytes) &&
                            bits_equal(grp_aux.v.data(), want_aux.v.data(), aux_bytes), buf);
              }
            }
          }
  float c = 1.0f;
  C.check(lr_sgemm_ep(0, 0, 1, 1, 1, 1.0f, &c, 1, &c, 1, 0.0f, &c, 1, 3, &c, 1, 0) == -2 && c == 1.0f,
          "an unknown epilogue is refused before anything is written");
  lr_set_isa(lr_cpu_isa());
  lr_set_num_threads(2);
}
}  // namespace

int main() {
  Counter C;
  Rng rng(77);
  double worst = 0;
  const Case cases[] = {{1, 1, 1},   {5, 7, 3},     {6, 16, 256}, {13, 33, 257}, {128, 96, 64},
                        {61, 2100, 40}, {300, 40, 1100}, {37, 130, 513}, {64, 64, 192}, {7, 300, 2},
                        // C of >= 2^20 elements with k <= 512: one k slice (kc = k), wider B blocks
                        {1030, 1020, 40}, {1025, 1024, 200}};
  for (const Case& s : cases) {
    for (int ta = 0; ta < 2; ++ta)
      for (int tb = 0; tb < 2; ++tb)
        for (float beta : {0.0f, 1.0f, 0.5f}) {
          const float alpha = beta == 0.5f ? 0.7f : 1.0f;
          const int64_t arows = ta ? s.k : s.m, acols = ta ? s.m : s.k;
          const int64_t brows = tb ? s.n : s.k, bcols = tb ? s.k : s.n;
          const int64_t lda = acols + rng.below(3), ldb = bcols + rng.below(3), ldc = s.n + 2 * rng.below(2);
          std::vector<float> a = randn((size_t)(arows * lda), rng, 1.0f), b = randn((size_t)(brows * ldb), rng, 1.0f);
          std::vector<float> c0 = randn((size_t)(s.m * ldc), rng, 1.0f, 1);
          const float sentinel = -777.0f;  // randn's guard value, also in the padding columns
          for (int64_t i = 0; i < s.m; ++i)
            for (int64_t j = s.n; j < ldc; ++j) c0[i * ldc + j] = sentinel;
          if (beta == 0.0f)
            for (int64_t i = 0; i < s.m; ++i)
              for (int64_t j = 0; j < s.n; ++j) c0[i * ldc + j] = NAN;
          std::vector<float> ref = c0;
          lr_ref_sgemm(ta, tb, s.m, s.n, s.k, alpha, a.data(), lda, b.data(), ldb, beta, ref.data(), ldc);
          for (int isa : isas()) {
            lr_set_isa(isa);
            for (int th : {1, 2, 3}) {
              lr_set_num_threads(th);
              for (int maxt : {0, 1})
              for (int mode : {LR_SGEMM_A_AUTO, LR_SGEMM_A_PACKED, LR_SGEMM_A_IN_PLACE}) {
                lr_sgemm_set_a_mode(mode);
                std::vector<float> c = c0;
                const int rc = lr_sgemm(ta, tb, s.m, s.n, s.k, alpha, a.data(), lda, b.data(), ldb, beta,
                                        c.data(), ldc, maxt);
                lr_sgemm_set_a_mode(LR_SGEMM_A_AUTO);
                const double e = rel_err_2d(c.data(), ref.data(), s.m, s.n, ldc);
                bool pad = c.back() == sentinel;
                for (int64_t i = 0; i < s.m; ++i)
                  for (int64_t j = s.n; j < ldc; ++j) pad &= c[i * ldc + j] == sentinel;
                char buf[240];
                snprintf(buf, sizeof buf,
                         "sgemm %c%c m %ld n %ld k %ld lda %ld ldb %ld ldc %ld beta %g isa %s threads %d max %d: "
                         "A mode %d: rc %d rel err %.3g pad %d",
                         ta ? 'T' : 'N', tb ? 'T' : 'N', (long)s.m, (long)s.n, (long)s.k, (long)lda, (long)ldb,
                         (long)ldc, beta, lr_isa_name(isa), th, maxt, mode, rc, e, pad);
                C.check(rc == 0 && e <= 1e-5 && pad, buf);
                if (e > worst) worst = e;
              }
            }
          }
        }
  }
  // k = 0: C = beta C (no product), beta = 0 clears NaN
  {
    std::vector<float> c = {NAN, NAN, 3.0f, 4.0f};
    lr_set_isa(lr_cpu_isa());
    lr_sgemm(0, 0, 1, 2, 0, 1.0f, nullptr, 1, nullptr, 2, 0.0f, c.data(), 2, 0);
    lr_sgemm(0, 0, 1, 2, 0, 1.0f, nullptr, 1, nullptr, 2, 0.5f, c.data() + 2, 2, 0);
    C.check(c[0] == 0.0f && c[1] == 0.0f && c[2] == 1.5f && c[3] == 2.0f, "k = 0 scales C by beta");
  }
  worst = std::max(worst, grouped(C, rng));
  epilogues(C, rng);
  lr_set_isa(lr_cpu_isa());
  printf("sgemm worst relative error %.3g (bound 1e-5)\n", worst);
  return C.finish("sgemm_test");
}
