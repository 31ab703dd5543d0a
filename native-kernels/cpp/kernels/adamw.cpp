// adamw: one AdamW step (PyTorch torch.optim.AdamW, decoupled weight decay,
// bias-corrected moments, eps added to the corrected sqrt(v)) over flat
// float32 p, g, m, v of n elements, in the float arithmetic of the worker's
// FloatKernels.adamw:
//   step_size = lr / (1 - b1^step), inv_bc2_sqrt = 1 / sqrt(1 - b2^step), decay = 1 - lr wd
//   (all in double, then rounded to float), and per element
//   m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g g;
//   p = p decay - step_size m / (sqrt(v) inv_bc2_sqrt + eps)
// Contract: include/lowrank_native.h.
//
// Fast path: memory-bound (reads p g m v, writes p m v: 28 bytes per element);
// one vector per step, IEEE sqrt and division, 4096-element blocks over the
// OpenMP threads.
#include <math.h>

#include "internal.h"
#include "vmath.h"

#if LR_ISA == 0
extern "C" void lr_ref_adamw(float* p, const float* g, float* m, float* v, int64_t n, double lr,
                             double b1, double b2, double eps, double wd, int64_t step) {
  const double bc1 = 1.0 - pow(b1, (double)step), bc2 = 1.0 - pow(b2, (double)step);
  for (int64_t i = 0; i < n; ++i) {
    const double gi = g[i];
    const double mi = b1 * m[i] + (1 - b1) * gi;
    const double vi = b2 * v[i] + (1 - b2) * gi * gi;
    m[i] = (float)mi;
    v[i] = (float)vi;
    p[i] = (float)(p[i] * (1.0 - lr * wd) - lr / bc1 * mi / (sqrt(vi) / sqrt(bc2) + eps));
  }
}

extern "C" void lr_adamw(float* p, const float* g, float* m, float* v, int64_t n, double lr,
                         double b1, double b2, double eps, double wd, int64_t step) {
  const double bc1 = 1.0 - pow(b1, (double)step), bc2 = 1.0 - pow(b2, (double)step);
  const float step_size = (float)(lr / bc1), inv_bc2_sqrt = (float)(1.0 / sqrt(bc2)),
              decay = (float)(1.0 - lr * wd);
  const float fb1 = (float)b1, fb2 = (float)b2, c1 = (float)(1 - b1), c2 = (float)(1 - b2),
              feps = (float)eps;
  switch (lr_get_isa()) {
#if defined(LR_HAVE_AVX512_TU)
    case LR_ISA_AVX512:
      lr::adamw_avx512(p, g, m, v, n, fb1, fb2, c1, c2, step_size, inv_bc2_sqrt, decay, feps);
      return;
#endif
#if defined(LR_HAVE_AVX2_TU)
    case LR_ISA_AVX2:
      lr::adamw_avx2(p, g, m, v, n, fb1, fb2, c1, c2, step_size, inv_bc2_sqrt, decay, feps);
      return;
#endif
    default: lr::adamw_scalar(p, g, m, v, n, fb1, fb2, c1, c2, step_size, inv_bc2_sqrt, decay, feps); return;
  }
}
#endif  // LR_ISA == 0

namespace {

struct AdamC {
  vf b1, b2, c1, c2, step, ibc2, decay, eps;
};

inline void adam_v(const AdamC& c, vf pv, vf gv, vf mv, vf vv, vf* po, vf* mo, vf* vo) {
  const vf mi = F::fma(c.b1, mv, F::mul(c.c1, gv));
  const vf vi = F::fma(c.b2, vv, F::mul(F::mul(c.c2, gv), gv));
  *mo = mi;
  *vo = vi;
  const vf den = F::fma(F::sqrt(vi), c.ibc2, c.eps);
  *po = F::sub(F::mul(pv, c.decay), F::div(F::mul(c.step, mi), den));
}

void adam_block(const AdamC& c, float* p, const float* g, float* m, float* v, int64_t n) {
  int64_t i = 0;
  vf po, mo, vo;
  for (; i + F::W <= n; i += F::W) {
    adam_v(c, F::load(p + i), F::load(g + i), F::load(m + i), F::load(v + i), &po, &mo, &vo);
    F::store(p + i, po);
    F::store(m + i, mo);
    F::store(v + i, vo);
  }
  if (i < n) {
    const F::m k = F::mask(n - i);
    const vf z = F::zero();
    adam_v(c, F::loadm(p + i, k, z), F::loadm(g + i, k, z), F::loadm(m + i, k, z),
           F::loadm(v + i, k, z), &po, &mo, &vo);
    F::storem(p + i, po, k);
    F::storem(m + i, mo, k);
    F::storem(v + i, vo, k);
  }
}

}  // namespace

void lr::LR_SUFFIX(adamw)(float* p, const float* g, float* m, float* v, int64_t n, float b1,
                          float b2, float c1, float c2, float step_size, float inv_bc2_sqrt,
                          float decay, float eps) {
  const AdamC c = {F::set1(b1), F::set1(b2), F::set1(c1), F::set1(c2),
                   F::set1(step_size), F::set1(inv_bc2_sqrt), F::set1(decay), F::set1(eps)};
  parallel_blocks(n, 4.0, [&](int64_t f, int64_t len) { adam_block(c, p + f, g + f, m + f, v + f, len); });
}
