// cross_entropy: loss and gradient of the LM head in one kernel, in place over
// logits[rows, vocab]. Per row with target t (t == ignore_index: row zeroed, loss 0):
//   m = max_j x_j;  e_j = exp(x_j - m);  S = sum_j e_j (double);
//   loss_r = log S + m - x_t;  x_j = e_j * (grad_scale / S)  (j != t)
//   x_t = -grad_scale * (S - e_t) / S   (= grad_scale (softmax_t - 1), in double:
//        e_t * grad_scale/S - grad_scale in float would cancel when softmax_t ~ 1)
// returns sum_r loss_r, added in row order (independent of the thread count).
// Contract: include/lowrank_native.h.
//
// Fast path: rows over the OpenMP threads; three vector passes per row (max;
// exp, store and sum widened to double; scale), a 32000-float row (125 KiB)
// stays in L2 between the passes, so memory sees one read and one write.
#include <math.h>
#include <stdlib.h>

#include "internal.h"
#include "vmath.h"

#if LR_ISA == 0
extern "C" double lr_ref_cross_entropy(float* logits, int64_t rows, int64_t vocab,
                                       const int32_t* targets, int32_t ignore_index,
                                       float grad_scale) {
  double total = 0;
  for (int64_t r = 0; r < rows; ++r) {
    float* x = logits + r * vocab;
    const int32_t t = targets[r];
    if (t == ignore_index) {
      for (int64_t j = 0; j < vocab; ++j) x[j] = 0.0f;
      continue;
    }
    double mx = -INFINITY;
    for (int64_t j = 0; j < vocab; ++j) mx = x[j] > mx ? x[j] : mx;
    double s = 0;
    for (int64_t j = 0; j < vocab; ++j) s += exp((double)x[j] - mx);
    const double lse = log(s) + mx;
    total += lse - x[t];
    for (int64_t j = 0; j < vocab; ++j) {
      const double g = exp((double)x[j] - lse) * grad_scale - (j == t ? (double)grad_scale : 0.0);
      x[j] = (float)g;
    }
  }
  return total;
}

extern "C" double lr_cross_entropy(float* logits, int64_t rows, int64_t vocab,
                                   const int32_t* targets, int32_t ignore_index, float grad_scale) {
  if (rows <= 0) return 0.0;
  double* loss = (double*)malloc((size_t)rows * sizeof(double));
  if (loss == nullptr) abort();
  switch (lr_get_isa()) {
#if defined(LR_HAVE_AVX512_TU)
    case LR_ISA_AVX512:
      lr::cross_entropy_avx512(logits, rows, vocab, targets, ignore_index, grad_scale, loss);
      break;
#endif
#if defined(LR_HAVE_AVX2_TU)
    case LR_ISA_AVX2:
      lr::cross_entropy_avx2(logits, rows, vocab, targets, ignore_index, grad_scale, loss);
      break;
#endif
    default: lr::cross_entropy_scalar(logits, rows, vocab, targets, ignore_index, grad_scale, loss); break;
  }
  double total = 0;
  for (int64_t r = 0; r < rows; ++r) total += loss[r];
  free(loss);
  return total;
}
#endif  // LR_ISA == 0

namespace {

double ce_row(float* x, int64_t vocab, int32_t t, float scale) {
  const vf ninf = F::set1(-INFINITY);
  // pass 1: max
  vf mv = ninf;
  int64_t j = 0;
  for (; j + F::W <= vocab; j += F::W) mv = F::max(mv, F::load(x + j));
  if (j < vocab) mv = F::max(mv, F::loadm(x + j, F::mask(vocab - j), ninf));
  const float mx = F::hmax(mv);
  const float xt = x[t];  // before the exp: exp(x_t - m) may underflow to 0
  // pass 2: e = exp(x - m), stored; S in double (masked lanes are -inf: exp = 0)
  const vf m = F::set1(mx);
  F::d s0 = F::zerod(), s1 = F::zerod();
  for (j = 0; j + F::W <= vocab; j += F::W) {
    const vf e = vexp(F::sub(F::load(x + j), m));
    F::store(x + j, e);
    F::accd(s0, s1, e);
  }
  if (j < vocab) {
    const F::m k = F::mask(vocab - j);
    const vf e = vexp(F::sub(F::loadm(x + j, k, ninf), m));
    F::storem(x + j, e, k);
    F::accd(s0, s1, e);
  }
  const double sum = F::hsumd(F::addd(s0, s1));
  const float et = x[t];
  // pass 3: scale
  const vf inv = F::set1((float)((double)scale / sum));
  for (j = 0; j + F::W <= vocab; j += F::W) F::store(x + j, F::mul(F::load(x + j), inv));
  if (j < vocab) {
    const F::m k = F::mask(vocab - j);
    F::storem(x + j, F::mul(F::loadm(x + j, k, F::zero()), inv), k);
  }
  x[t] = (float)(-(double)scale * ((sum - (double)et) / sum));
  return log(sum) + (double)mx - (double)xt;
}

}  // namespace

void lr::LR_SUFFIX(cross_entropy)(float* logits, int64_t rows, int64_t vocab,
                                  const int32_t* targets, int32_t ignore_index, float grad_scale,
                                  double* row_loss) {
  const int nt = lr::threads_for((double)rows * (double)vocab * kExpCost);
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
  for (int64_t r = 0; r < rows; ++r) {
    float* x = logits + r * vocab;
    if (targets[r] == ignore_index) {
      for (int64_t j = 0; j < vocab; ++j) x[j] = 0.0f;
      row_loss[r] = 0.0;
    } else {
      row_loss[r] = ce_row(x, vocab, targets[r], grad_scale);
    }
  }
}
