// causal_softmax / causal_softmax_backward: the softmax between attention's two
// products, per (batch, head) [n, n] block (n = seq_len), in place:
//   forward   row i: p_ij = exp(s_ij - m_i) / sum_{k<=i} exp(s_ik - m_i) for j <= i, 0 for j > i
//   backward  row i: dp_ij = p_ij (dp_ij - sum_{k<=i} dp_ik p_ik) for j <= i, 0 for j > i
// Contract: include/lowrank_native.h. No OpenMP: the worker runs one (batch,
// head) per kernel thread and calls this from each of them.
//
// Fast path: per row, vector passes over the i+1 causal columns (max; exp,
// store, float sum; scale) and a vector zero fill of the masked part.
#include <math.h>

#include "internal.h"
#include "vmath.h"

#if LR_ISA == 0
extern "C" void lr_ref_causal_softmax(float* p, int64_t n, int64_t ldp) {
  for (int64_t i = 0; i < n; ++i) {
    float* row = p + i * ldp;
    double mx = -INFINITY, s = 0;
    for (int64_t j = 0; j <= i; ++j) mx = row[j] > mx ? row[j] : mx;
    for (int64_t j = 0; j <= i; ++j) s += exp((double)row[j] - mx);
    for (int64_t j = 0; j <= i; ++j) row[j] = (float)(exp((double)row[j] - mx) / s);
    for (int64_t j = i + 1; j < n; ++j) row[j] = 0.0f;
  }
}

extern "C" void lr_ref_causal_softmax_backward(const float* p, int64_t ldp, float* dp, int64_t lddp,
                                               int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const float* pr = p + i * ldp;
    float* gr = dp + i * lddp;
    double dot = 0;
    for (int64_t j = 0; j <= i; ++j) dot += (double)gr[j] * pr[j];
    for (int64_t j = 0; j <= i; ++j) gr[j] = (float)(pr[j] * ((double)gr[j] - dot));
    for (int64_t j = i + 1; j < n; ++j) gr[j] = 0.0f;
  }
}

extern "C" void lr_causal_softmax(float* p, int64_t n, int64_t ldp) {
  switch (lr_get_isa()) {
#if defined(LR_HAVE_AVX512_TU)
    case LR_ISA_AVX512: lr::causal_softmax_avx512(p, n, ldp); return;
#endif
#if defined(LR_HAVE_AVX2_TU)
    case LR_ISA_AVX2: lr::causal_softmax_avx2(p, n, ldp); return;
#endif
    default: lr::causal_softmax_scalar(p, n, ldp); return;
  }
}

extern "C" void lr_causal_softmax_backward(const float* p, int64_t ldp, float* dp, int64_t lddp,
                                           int64_t n) {
  switch (lr_get_isa()) {
#if defined(LR_HAVE_AVX512_TU)
    case LR_ISA_AVX512: lr::causal_softmax_backward_avx512(p, ldp, dp, lddp, n); return;
#endif
#if defined(LR_HAVE_AVX2_TU)
    case LR_ISA_AVX2: lr::causal_softmax_backward_avx2(p, ldp, dp, lddp, n); return;
#endif
    default: lr::causal_softmax_backward_scalar(p, ldp, dp, lddp, n); return;
  }
}
#endif  // LR_ISA == 0

namespace {

void zero_range(float* x, int64_t from, int64_t to) {
  int64_t j = from;
  for (; j + F::W <= to; j += F::W) F::store(x + j, F::zero());
  if (j < to) F::storem(x + j, F::zero(), F::mask(to - j));
}

void softmax_row(float* x, int64_t len, int64_t n) {
  const vf ninf = F::set1(-INFINITY);
  vf mv = ninf;
  int64_t j = 0;
  for (; j + F::W <= len; j += F::W) mv = F::max(mv, F::load(x + j));
  if (j < len) mv = F::max(mv, F::loadm(x + j, F::mask(len - j), ninf));
  const vf m = F::set1(F::hmax(mv));
  vf sv = F::zero();
  for (j = 0; j + F::W <= len; j += F::W) {
    const vf e = vexp(F::sub(F::load(x + j), m));
    F::store(x + j, e);
    sv = F::add(sv, e);
  }
  if (j < len) {
    const F::m k = F::mask(len - j);
    const vf e = vexp(F::sub(F::loadm(x + j, k, ninf), m));
    F::storem(x + j, e, k);
    sv = F::add(sv, e);
  }
  const vf inv = F::set1(1.0f / F::hsum(sv));
  for (j = 0; j + F::W <= len; j += F::W) F::store(x + j, F::mul(F::load(x + j), inv));
  if (j < len) {
    const F::m k = F::mask(len - j);
    F::storem(x + j, F::mul(F::loadm(x + j, k, F::zero()), inv), k);
  }
  zero_range(x, len, n);
}

void softmax_back_row(const float* p, float* g, int64_t len, int64_t n) {
  vf dv = F::zero();
  int64_t j = 0;
  for (; j + F::W <= len; j += F::W) dv = F::fma(F::load(g + j), F::load(p + j), dv);
  if (j < len) {
    const F::m k = F::mask(len - j);
    dv = F::fma(F::loadm(g + j, k, F::zero()), F::loadm(p + j, k, F::zero()), dv);
  }
  const vf dot = F::set1(F::hsum(dv));
  for (j = 0; j + F::W <= len; j += F::W) F::store(g + j, F::mul(F::load(p + j), F::sub(F::load(g + j), dot)));
  if (j < len) {
    const F::m k = F::mask(len - j);
    F::storem(g + j, F::mul(F::loadm(p + j, k, F::zero()), F::sub(F::loadm(g + j, k, F::zero()), dot)), k);
  }
  zero_range(g, len, n);
}

}  // namespace

void lr::LR_SUFFIX(causal_softmax)(float* p, int64_t n, int64_t ldp) {
  for (int64_t i = 0; i < n; ++i) softmax_row(p + i * ldp, i + 1, n);
}

void lr::LR_SUFFIX(causal_softmax_backward)(const float* p, int64_t ldp, float* dp, int64_t lddp,
                                            int64_t n) {
  for (int64_t i = 0; i < n; ++i) softmax_back_row(p + i * ldp, dp + i * lddp, i + 1, n);
}
