// relu_square / relu_square_backward: ELAS's squared ReLU y = max(x, 0)^2 (the
// activation of the MLP's first product, methods.md §6) and its backward
// dx = 2 max(x, 0) dy. Contract: include/lowrank_native.h.
//
// Fast path: as silu.cpp (one vector per step, masked tail, 4096-element
// blocks over the OpenMP threads, one thread below 2^19 elements). max(0, x)
// takes x's NaN (x86 max returns its second operand), as Java's Math.max.
// Both products round once, as the Java loop's: the results are those of the
// double reference rounded to float, bit for bit.
#include "internal.h"
#include "vmath.h"

#if LR_ISA == 0
extern "C" void lr_ref_relu_square(const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const double v = x[i], r = v != v ? v : (v > 0.0 ? v : 0.0);
    y[i] = (float)(r * r);
  }
}

extern "C" void lr_ref_relu_square_backward(const float* x, const float* dy, float* dx, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const double v = x[i], r = v != v ? v : (v > 0.0 ? v : 0.0);
    dx[i] = (float)(2.0 * r * (double)dy[i]);
  }
}

extern "C" void lr_relu_square(const float* x, float* y, int64_t n) {
  switch (lr_get_isa()) {
#if defined(LR_HAVE_AVX512_TU)
    case LR_ISA_AVX512: lr::relu_square_avx512(x, y, n); return;
#endif
#if defined(LR_HAVE_AVX2_TU)
    case LR_ISA_AVX2: lr::relu_square_avx2(x, y, n); return;
#endif
    default: lr::relu_square_scalar(x, y, n); return;
  }
}

extern "C" void lr_relu_square_backward(const float* x, const float* dy, float* dx, int64_t n) {
  switch (lr_get_isa()) {
#if defined(LR_HAVE_AVX512_TU)
    case LR_ISA_AVX512: lr::relu_square_backward_avx512(x, dy, dx, n); return;
#endif
#if defined(LR_HAVE_AVX2_TU)
    case LR_ISA_AVX2: lr::relu_square_backward_avx2(x, dy, dx, n); return;
#endif
    default: lr::relu_square_backward_scalar(x, dy, dx, n); return;
  }
}
#endif  // LR_ISA == 0

namespace {

// max(0, x): NaN in x stays NaN (second operand)
inline vf relu_v(vf x) { return F::max(F::zero(), x); }

inline vf relu2_v(vf x) {
  const vf r = relu_v(x);
  return F::mul(r, r);
}

// (2 r) dy, left to right as FloatKernels (2 r is exact)
inline vf relu2_grad_v(vf x, vf dy) { return F::mul(F::mul(F::set1(2.0f), relu_v(x)), dy); }

void fwd_block(const float* x, float* y, int64_t n) {
  int64_t i = 0;
  for (; i + F::W <= n; i += F::W) F::store(y + i, relu2_v(F::load(x + i)));
  if (i < n) {
    const F::m k = F::mask(n - i);
    F::storem(y + i, relu2_v(F::loadm(x + i, k, F::zero())), k);
  }
}

void bwd_block(const float* x, const float* dy, float* dx, int64_t n) {
  int64_t i = 0;
  for (; i + F::W <= n; i += F::W) F::store(dx + i, relu2_grad_v(F::load(x + i), F::load(dy + i)));
  if (i < n) {
    const F::m k = F::mask(n - i);
    F::storem(dx + i, relu2_grad_v(F::loadm(x + i, k, F::zero()), F::loadm(dy + i, k, F::zero())), k);
  }
}

}  // namespace

void lr::LR_SUFFIX(relu_square)(const float* x, float* y, int64_t n) {
  parallel_blocks(n, 2.0, [=](int64_t f, int64_t len) { fwd_block(x + f, y + f, len); });
}

void lr::LR_SUFFIX(relu_square_backward)(const float* x, const float* dy, float* dx, int64_t n) {
  parallel_blocks(n, 2.0, [=](int64_t f, int64_t len) { bwd_block(x + f, dy + f, dx + f, len); });
}
