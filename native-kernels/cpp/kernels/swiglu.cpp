// swiglu / swiglu_backward: the SwiGLU MLP's gated product out = act(g) * u
// (act = SiLU, or identity for CoLA's only_lr_act) and its backward
//   du = dout * act(g),  dg = dout * u * act'(g),  act'(g) = s (1 + g (1 - s)).
// Contract: include/lowrank_native.h.
//
// Fast path: as silu.cpp (one vector per step, vexp, masked tail, 4096-element
// blocks over the OpenMP threads); backward reads g, u, dout once and writes
// dg, du in the same pass.
#include <math.h>

#include "internal.h"
#include "vmath.h"

#if LR_ISA == 0
namespace {
inline double sig(double x) { return 1.0 / (1.0 + exp(-x)); }
}  // namespace

extern "C" void lr_ref_swiglu(const float* g, const float* u, float* out, int64_t n,
                              int silu_on_gate) {
  for (int64_t i = 0; i < n; ++i) {
    const double x = g[i];
    out[i] = (float)((silu_on_gate ? x * sig(x) : x) * (double)u[i]);
  }
}

extern "C" void lr_ref_swiglu_backward(const float* g, const float* u, const float* dout, float* dg,
                                       float* du, int64_t n, int silu_on_gate) {
  for (int64_t i = 0; i < n; ++i) {
    const double x = g[i], up = u[i], dy = dout[i];
    if (silu_on_gate) {
      const double s = sig(x);
      du[i] = (float)(dy * x * s);
      dg[i] = (float)(dy * up * s * (1.0 + x * (1.0 - s)));
    } else {
      du[i] = (float)(dy * x);
      dg[i] = (float)(dy * up);
    }
  }
}

extern "C" void lr_swiglu(const float* g, const float* u, float* out, int64_t n, int silu_on_gate) {
  switch (lr_get_isa()) {
#if defined(LR_HAVE_AVX512_TU)
    case LR_ISA_AVX512: lr::swiglu_avx512(g, u, out, n, silu_on_gate); return;
#endif
#if defined(LR_HAVE_AVX2_TU)
    case LR_ISA_AVX2: lr::swiglu_avx2(g, u, out, n, silu_on_gate); return;
#endif
    default: lr::swiglu_scalar(g, u, out, n, silu_on_gate); return;
  }
}

extern "C" void lr_swiglu_backward(const float* g, const float* u, const float* dout, float* dg,
                                   float* du, int64_t n, int silu_on_gate) {
  switch (lr_get_isa()) {
#if defined(LR_HAVE_AVX512_TU)
    case LR_ISA_AVX512: lr::swiglu_backward_avx512(g, u, dout, dg, du, n, silu_on_gate); return;
#endif
#if defined(LR_HAVE_AVX2_TU)
    case LR_ISA_AVX2: lr::swiglu_backward_avx2(g, u, dout, dg, du, n, silu_on_gate); return;
#endif
    default: lr::swiglu_backward_scalar(g, u, dout, dg, du, n, silu_on_gate); return;
  }
}
#endif  // LR_ISA == 0

namespace {

template <bool kSilu>
inline vf fwd_v(vf x, vf up) {
  return F::mul(kSilu ? F::mul(x, vsigmoid(x)) : x, up);
}

template <bool kSilu>
inline void bwd_v(vf x, vf up, vf dy, vf* dg, vf* du) {
  if (kSilu) {
    const vf s = vsigmoid(x), one = F::set1(1.0f);
    *du = F::mul(F::mul(dy, x), s);
    *dg = F::mul(F::mul(F::mul(dy, up), s), F::fma(x, F::sub(one, s), one));
  } else {
    *du = F::mul(dy, x);
    *dg = F::mul(dy, up);
  }
}

template <bool kSilu>
void fwd_block(const float* g, const float* u, float* out, int64_t n) {
  int64_t i = 0;
  for (; i + F::W <= n; i += F::W) F::store(out + i, fwd_v<kSilu>(F::load(g + i), F::load(u + i)));
  if (i < n) {
    const F::m k = F::mask(n - i);
    F::storem(out + i, fwd_v<kSilu>(F::loadm(g + i, k, F::zero()), F::loadm(u + i, k, F::zero())), k);
  }
}

template <bool kSilu>
void bwd_block(const float* g, const float* u, const float* dout, float* dg, float* du, int64_t n) {
  int64_t i = 0;
  vf a, b;
  for (; i + F::W <= n; i += F::W) {
    bwd_v<kSilu>(F::load(g + i), F::load(u + i), F::load(dout + i), &a, &b);
    F::store(dg + i, a);
    F::store(du + i, b);
  }
  if (i < n) {
    const F::m k = F::mask(n - i);
    bwd_v<kSilu>(F::loadm(g + i, k, F::zero()), F::loadm(u + i, k, F::zero()),
                 F::loadm(dout + i, k, F::zero()), &a, &b);
    F::storem(dg + i, a, k);
    F::storem(du + i, b, k);
  }
}

}  // namespace

void lr::LR_SUFFIX(swiglu)(const float* g, const float* u, float* out, int64_t n, int silu_on_gate) {
  if (silu_on_gate)
    parallel_blocks(n, kExpCost, [=](int64_t f, int64_t len) { fwd_block<true>(g + f, u + f, out + f, len); });
  else
    parallel_blocks(n, 2.0, [=](int64_t f, int64_t len) { fwd_block<false>(g + f, u + f, out + f, len); });
}

void lr::LR_SUFFIX(swiglu_backward)(const float* g, const float* u, const float* dout, float* dg,
                                    float* du, int64_t n, int silu_on_gate) {
  if (silu_on_gate)
    parallel_blocks(n, kExpCost, [=](int64_t f, int64_t len) {
      bwd_block<true>(g + f, u + f, dout + f, dg + f, du + f, len);
    });
  else
    parallel_blocks(n, 2.0, [=](int64_t f, int64_t len) {
      bwd_block<false>(g + f, u + f, dout + f, dg + f, du + f, len);
    });
}
