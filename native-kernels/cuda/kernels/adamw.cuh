// AdamW (PyTorch torch.optim.AdamW) on fp32 master weights and fp32 moments, in the float
// arithmetic of the CPU kernel (native-kernels/cpp/kernels/adamw.cpp):
//   step_size = lr / (1 - b1^t), inv_bc2_sqrt = 1 / sqrt(1 - b2^t), decay = 1 - lr wd (double,
//   rounded to float once per step, on the host), then per element
//   m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2; p = p decay - step_size m / (sqrt(v) inv_bc2_sqrt + eps)
// bf16 option: the updated p is also written as bf16 (the next step's product operand).
#pragma once
#include <cmath>
#include "common.cuh"

namespace lr {

struct AdamScalars {
    float b1, b2, c1, c2, step_size, inv_bc2_sqrt, decay, eps;
};

inline AdamScalars adam_scalars(double lr, double b1, double b2, double eps, double wd, long long step) {
    double bc1 = 1.0 - std::pow(b1, (double) step), bc2 = 1.0 - std::pow(b2, (double) step);
    return AdamScalars{(float) b1, (float) b2, (float) (1 - b1), (float) (1 - b2), (float) (lr / bc1),
                       (float) (1.0 / std::sqrt(bc2)), (float) (1.0 - lr * wd), (float) eps};
}

LR_HD void adamw_element(float* p, float g, float* m, float* v, const AdamScalars& a) {
    float mi = a.b1 * *m + a.c1 * g;
    float vi = a.b2 * *v + a.c2 * g * g;
    *m = mi;
    *v = vi;
    *p = *p * a.decay - a.step_size * mi / (sqrtf(vi) * a.inv_bc2_sqrt + a.eps);
}

}  // namespace lr

#if LR_DEVICE_CODE
namespace lr {

__global__ void adamw_kernel(float* p, const float* g, float* m, float* v, uint16_t* p_bf16, long long n, AdamScalars a) {
    long long i = blockIdx.x * (long long) blockDim.x + threadIdx.x;
    if (i >= n) return;
    float pi = p[i], mi = m[i], vi = v[i];
    adamw_element(&pi, g[i], &mi, &vi, a);
    p[i] = pi;
    m[i] = mi;
    v[i] = vi;
    if (p_bf16) p_bf16[i] = f32_to_bf16_bits(pi);
}

/** p_bf16 may be null (f32 runs). */
inline void adamw(float* p, const float* g, float* m, float* v, uint16_t* p_bf16, long long n, const AdamScalars& a,
                  cudaStream_t st) {
    if (n > 0) adamw_kernel<<<ceil_div(n, 256), 256, 0, st>>>(p, g, m, v, p_bf16, n, a);
}

}  // namespace lr
#endif
