// CoLA's bottleneck nonlinearity, fused with its neighbours: the forward reads the product
// h = x A once and writes z = SiLU(h) (and, for bf16 runs, the bf16 copy of z that is the next
// product's operand); the backward reads h and dz = dy B^T once and writes dh = dz SiLU'(h)
// (in place over dz allowed, plus the optional bf16 copy). cuBLASLt has no SiLU epilogue.
#pragma once
#include "common.cuh"

namespace lr {

LR_HD float sigmoid(float h) { return 1.0f / (1.0f + expf(-h)); }
LR_HD float silu(float h) { return h * sigmoid(h); }
/** SiLU'(h) = s (1 + h (1 - s)), s = sigmoid(h): the CPU backend's formula. */
LR_HD float silu_grad(float h) { float s = sigmoid(h); return s * (1.0f + h * (1.0f - s)); }

}  // namespace lr

#if LR_DEVICE_CODE
namespace lr {

__global__ void silu_forward_kernel(const float* h, float* z, uint16_t* z_bf16, long long n) {
    long long i = blockIdx.x * (long long) blockDim.x + threadIdx.x;
    if (i >= n) return;
    float v = silu(h[i]);
    z[i] = v;
    if (z_bf16) z_bf16[i] = f32_to_bf16_bits(v);
}

__global__ void silu_backward_kernel(const float* h, const float* dz, float* dh, uint16_t* dh_bf16, long long n) {
    long long i = blockIdx.x * (long long) blockDim.x + threadIdx.x;
    if (i >= n) return;
    float v = dz[i] * silu_grad(h[i]);
    dh[i] = v;
    if (dh_bf16) dh_bf16[i] = f32_to_bf16_bits(v);
}

/** z = SiLU(h); z_bf16 may be null. */
inline void silu_forward(const float* h, float* z, uint16_t* z_bf16, long long n, cudaStream_t st) {
    if (n > 0) silu_forward_kernel<<<ceil_div(n, 256), 256, 0, st>>>(h, z, z_bf16, n);
}
/** dh = dz * SiLU'(h) (dh may alias dz); dh_bf16 may be null. */
inline void silu_backward(const float* h, const float* dz, float* dh, uint16_t* dh_bf16, long long n, cudaStream_t st) {
    if (n > 0) silu_backward_kernel<<<ceil_div(n, 256), 256, 0, st>>>(h, dz, dh, dh_bf16, n);
}

}  // namespace lr
#endif
