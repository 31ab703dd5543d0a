// rmsnorm / rmsnorm_backward over the rows of x[rows, d]:
//   forward   inv_r = 1 / sqrt(sum_j x_rj^2 / d + eps),  out_rj = w_j * (x_rj * inv_r)
//   backward  xhat = x inv, dx_rj = inv_r (dout_rj w_j - xhat_rj * mean_j(dout w xhat)),
//             dw_j += sum_r dout_rj xhat_rj
// Contract: include/lowrank_native.h. The row sums (sum of squares, the dot
// product) and dw's column sums accumulate float products in double, as the
// Java path does.
//
// Fast path: rows over the OpenMP threads; per row one vector pass for the sum
// (float products widened into two double accumulators) and one for the
// output. Backward: one pass per row computes dx and adds dout * xhat into the
// double partial dw of its fixed chunk of kRmsChunk rows; the chunks' partials
// are then added in chunk order, so dw does not depend on the thread count.
#include <math.h>
#include <stdlib.h>

#include "internal.h"
#include "vmath.h"

#if LR_ISA == 0
extern "C" void lr_ref_rmsnorm(const float* x, const float* w, double eps, float* out,
                               float* inv_rms, int64_t rows, int64_t d) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * d;
    double ss = 0;
    for (int64_t j = 0; j < d; ++j) ss += (double)xr[j] * xr[j];
    const double inv = 1.0 / sqrt(ss / d + eps);
    inv_rms[r] = (float)inv;
    for (int64_t j = 0; j < d; ++j) out[r * d + j] = (float)((double)w[j] * xr[j] * inv);
  }
}

extern "C" void lr_ref_rmsnorm_backward(const float* x, const float* w, const float* inv_rms,
                                        const float* dout, float* dx, float* dw, int64_t rows,
                                        int64_t d) {
  double* acc = (double*)calloc((size_t)(d > 0 ? d : 1), sizeof(double));
  for (int64_t r = 0; r < rows; ++r) {
    const double inv = inv_rms[r];
    double dot = 0;
    for (int64_t j = 0; j < d; ++j) {
      const double xhat = x[r * d + j] * inv, dy = dout[r * d + j];
      dot += dy * w[j] * xhat;
      acc[j] += dy * xhat;
    }
    const double mean = dot / d;
    for (int64_t j = 0; j < d; ++j) {
      const double xhat = x[r * d + j] * inv;
      dx[r * d + j] = (float)(inv * (dout[r * d + j] * (double)w[j] - xhat * mean));
    }
  }
  for (int64_t j = 0; j < d; ++j) dw[j] = (float)(dw[j] + acc[j]);
  free(acc);
}

extern "C" void lr_rmsnorm(const float* x, const float* w, double eps, float* out, float* inv_rms,
                           int64_t rows, int64_t d) {
  switch (lr_get_isa()) {
#if defined(LR_HAVE_AVX512_TU)
    case LR_ISA_AVX512: lr::rmsnorm_avx512(x, w, eps, out, inv_rms, rows, d); return;
#endif
#if defined(LR_HAVE_AVX2_TU)
    case LR_ISA_AVX2: lr::rmsnorm_avx2(x, w, eps, out, inv_rms, rows, d); return;
#endif
    default: lr::rmsnorm_scalar(x, w, eps, out, inv_rms, rows, d); return;
  }
}

extern "C" void lr_rmsnorm_backward(const float* x, const float* w, const float* inv_rms,
                                    const float* dout, float* dx, float* dw, int64_t rows,
                                    int64_t d) {
  if (rows <= 0 || d <= 0) return;
  const int64_t chunks = (rows + lr::kRmsChunk - 1) / lr::kRmsChunk;
  double* partial = (double*)malloc((size_t)(chunks * d) * sizeof(double));
  if (partial == nullptr) abort();
  switch (lr_get_isa()) {
#if defined(LR_HAVE_AVX512_TU)
    case LR_ISA_AVX512: lr::rmsnorm_backward_avx512(x, w, inv_rms, dout, dx, dw, rows, d, partial); break;
#endif
#if defined(LR_HAVE_AVX2_TU)
    case LR_ISA_AVX2: lr::rmsnorm_backward_avx2(x, w, inv_rms, dout, dx, dw, rows, d, partial); break;
#endif
    default: lr::rmsnorm_backward_scalar(x, w, inv_rms, dout, dx, dw, rows, d, partial); break;
  }
  free(partial);
}
#endif  // LR_ISA == 0

namespace {

void rms_row(const float* x, const float* w, double eps, float* out, float* inv_out, int64_t d) {
  F::d s0 = F::zerod(), s1 = F::zerod();
  int64_t j = 0;
  for (; j + F::W <= d; j += F::W) {
    const vf v = F::load(x + j);
    F::accd(s0, s1, F::mul(v, v));
  }
  if (j < d) {
    const vf v = F::loadm(x + j, F::mask(d - j), F::zero());
    F::accd(s0, s1, F::mul(v, v));
  }
  const double ss = F::hsumd(F::addd(s0, s1));
  const float inv = (float)(1.0 / sqrt(ss / (double)d + eps));
  *inv_out = inv;
  const vf vi = F::set1(inv);
  for (j = 0; j + F::W <= d; j += F::W) F::store(out + j, F::mul(F::load(w + j), F::mul(F::load(x + j), vi)));
  if (j < d) {
    const F::m k = F::mask(d - j);
    F::storem(out + j, F::mul(F::loadm(w + j, k, F::zero()), F::mul(F::loadm(x + j, k, F::zero()), vi)), k);
  }
}

// dx of one row; adds dout * xhat into acc[0, d) (double)
void rms_back_row(const float* x, const float* w, float inv, const float* g, float* dx, double* acc,
                  int64_t d) {
  const vf vi = F::set1(inv);
  F::d s0 = F::zerod(), s1 = F::zerod();
  int64_t j = 0;
  for (; j + F::W <= d; j += F::W) {
    const vf xhat = F::mul(F::load(x + j), vi);
    F::accd(s0, s1, F::mul(F::mul(F::load(g + j), F::load(w + j)), xhat));
  }
  if (j < d) {
    const F::m k = F::mask(d - j);
    const vf xhat = F::mul(F::loadm(x + j, k, F::zero()), vi);
    F::accd(s0, s1, F::mul(F::mul(F::loadm(g + j, k, F::zero()), F::loadm(w + j, k, F::zero())), xhat));
  }
  const float meanf = (float)(F::hsumd(F::addd(s0, s1)) / (double)d);
  const vf mean = F::set1(meanf);
  for (j = 0; j + F::W <= d; j += F::W) {
    const vf gv = F::load(g + j), xhat = F::mul(F::load(x + j), vi);
    F::store(dx + j, F::mul(vi, F::fnma(xhat, mean, F::mul(gv, F::load(w + j)))));
    // acc += double(g * xhat): a float product widened, as the Java path
    F::d a0, a1;
#if LR_ISA == 2
    a0 = _mm512_loadu_pd(acc + j);
    a1 = _mm512_loadu_pd(acc + j + 8);
    F::accd(a0, a1, F::mul(gv, xhat));
    _mm512_storeu_pd(acc + j, a0);
    _mm512_storeu_pd(acc + j + 8, a1);
#elif LR_ISA == 1
    a0 = _mm256_loadu_pd(acc + j);
    a1 = _mm256_loadu_pd(acc + j + 4);
    F::accd(a0, a1, F::mul(gv, xhat));
    _mm256_storeu_pd(acc + j, a0);
    _mm256_storeu_pd(acc + j + 4, a1);
#else
    (void)a1;
    acc[j] += (double)(gv * xhat);
    (void)a0;
#endif
  }
  for (; j < d; ++j) {  // tail, scalar (same float products)
    const float xhat = x[j] * inv, gv = g[j];
    dx[j] = inv * (gv * w[j] - xhat * meanf);
    acc[j] += (double)(gv * xhat);
  }
}

}  // namespace

void lr::LR_SUFFIX(rmsnorm)(const float* x, const float* w, double eps, float* out, float* inv_rms,
                            int64_t rows, int64_t d) {
  const int nt = rows * d < kMinParallel ? 1 : lr::threads_for((double)rows * (double)d * 3.0);
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
  for (int64_t r = 0; r < rows; ++r) rms_row(x + r * d, w, eps, out + r * d, inv_rms + r, d);
}

void lr::LR_SUFFIX(rmsnorm_backward)(const float* x, const float* w, const float* inv_rms,
                                     const float* dout, float* dx, float* dw, int64_t rows,
                                     int64_t d, double* partial) {
  const int64_t chunks = (rows + lr::kRmsChunk - 1) / lr::kRmsChunk;
  const int nt = rows * d < kMinParallel ? 1 : lr::threads_for((double)rows * (double)d * 6.0);
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
  for (int64_t c = 0; c < chunks; ++c) {
    double* acc = partial + c * d;
    for (int64_t j = 0; j < d; ++j) acc[j] = 0.0;
    const int64_t r1 = (c + 1) * lr::kRmsChunk < rows ? (c + 1) * lr::kRmsChunk : rows;
    for (int64_t r = c * lr::kRmsChunk; r < r1; ++r)
      rms_back_row(x + r * d, w, inv_rms[r], dout + r * d, dx + r * d, acc, d);
  }
  for (int64_t j = 0; j < d; ++j) {
    double s = 0;
    for (int64_t c = 0; c < chunks; ++c) s += partial[c * d + j];
    dw[j] = dw[j] + (float)s;
  }
}
