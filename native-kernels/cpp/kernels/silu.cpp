// silu / silu_backward: the CoLA bottleneck activation z = SiLU(h) = h * sigmoid(h)
// and its backward dh = dz * s * (1 + h * (1 - s)), s = sigmoid(h).
// Contract: include/lowrank_native.h.
//
// Fast path: one vector of h per step, vexp (Cephes expf on all lanes) and an
// IEEE division for the sigmoid, masked load/store for the tail; blocks of 4096
// elements over the OpenMP threads.
#include <math.h>

#include "internal.h"
#include "vmath.h"

#if LR_ISA == 0
namespace {
inline double sig(double x) { return 1.0 / (1.0 + exp(-x)); }
}  // namespace

extern "C" void lr_ref_silu(const float* h, float* z, int64_t n) {
  for (int64_t i = 0; i < n; ++i) z[i] = (float)((double)h[i] * sig(h[i]));
}

extern "C" void lr_ref_silu_backward(const float* h, const float* dz, float* dh, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const double x = h[i], s = sig(x);
    dh[i] = (float)((double)dz[i] * s * (1.0 + x * (1.0 - s)));
  }
}

extern "C" void lr_silu(const float* h, float* z, int64_t n) {
  switch (lr_get_isa()) {
#if defined(LR_HAVE_AVX512_TU)
    case LR_ISA_AVX512: lr::silu_avx512(h, z, n); return;
#endif
#if defined(LR_HAVE_AVX2_TU)
    case LR_ISA_AVX2: lr::silu_avx2(h, z, n); return;
#endif
    default: lr::silu_scalar(h, z, n); return;
  }
}

extern "C" void lr_silu_backward(const float* h, const float* dz, float* dh, int64_t n) {
  switch (lr_get_isa()) {
#if defined(LR_HAVE_AVX512_TU)
    case LR_ISA_AVX512: lr::silu_backward_avx512(h, dz, dh, n); return;
#endif
#if defined(LR_HAVE_AVX2_TU)
    case LR_ISA_AVX2: lr::silu_backward_avx2(h, dz, dh, n); return;
#endif
    default: lr::silu_backward_scalar(h, dz, dh, n); return;
  }
}
#endif  // LR_ISA == 0

namespace {

void silu_block(const float* h, float* z, int64_t n) {
  int64_t i = 0;
  for (; i + F::W <= n; i += F::W) F::store(z + i, silu_v(F::load(h + i)));
  if (i < n) {
    const F::m k = F::mask(n - i);
    F::storem(z + i, silu_v(F::loadm(h + i, k, F::zero())), k);
  }
}

void silu_backward_block(const float* h, const float* dz, float* dh, int64_t n) {
  int64_t i = 0;
  for (; i + F::W <= n; i += F::W) F::store(dh + i, silu_grad_v(F::load(h + i), F::load(dz + i)));
  if (i < n) {
    const F::m k = F::mask(n - i);
    F::storem(dh + i, silu_grad_v(F::loadm(h + i, k, F::zero()), F::loadm(dz + i, k, F::zero())), k);
  }
}

}  // namespace

void lr::LR_SUFFIX(silu)(const float* h, float* z, int64_t n) {
  parallel_blocks(n, kExpCost, [=](int64_t from, int64_t len) { silu_block(h + from, z + from, len); });
}

void lr::LR_SUFFIX(silu_backward)(const float* h, const float* dz, float* dh, int64_t n) {
  parallel_blocks(n, kExpCost, [=](int64_t from, int64_t len) {
    silu_backward_block(h + from, dz + from, dh + from, len);
  });
}
