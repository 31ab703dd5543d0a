// SwiGLU's gated product out = act(g) u, act = SiLU or identity, and its backward.
#pragma once
#include "silu.cuh"

namespace lr {

LR_HD float gated(float g, float u, bool silu_gate) { return (silu_gate ? silu(g) : g) * u; }

/** dg = dout u act'(g), du = dout act(g). */
LR_HD void gated_backward(float g, float u, float dout, bool silu_gate, float* dg, float* du) {
    *dg = dout * u * (silu_gate ? silu_grad(g) : 1.0f);
    *du = dout * (silu_gate ? silu(g) : g);
}

}  // namespace lr

#if LR_DEVICE_CODE
namespace lr {

__global__ void gated_forward_kernel(const float* g, const float* u, float* out, long long n, bool silu_gate) {
    long long i = blockIdx.x * (long long) blockDim.x + threadIdx.x;
    if (i < n) out[i] = gated(g[i], u[i], silu_gate);
}
__global__ void gated_backward_kernel(const float* g, const float* u, const float* dout, float* dg, float* du,
                                      long long n, bool silu_gate) {
    long long i = blockIdx.x * (long long) blockDim.x + threadIdx.x;
    if (i >= n) return;
    float a, b;
    gated_backward(g[i], u[i], dout[i], silu_gate, &a, &b);
    dg[i] = a;
    du[i] = b;
}

inline void gated_forward(const float* g, const float* u, float* out, long long n, bool silu_gate, cudaStream_t st) {
    if (n > 0) gated_forward_kernel<<<ceil_div(n, 256), 256, 0, st>>>(g, u, out, n, silu_gate);
}
inline void gated_backward(const float* g, const float* u, const float* dout, float* dg, float* du, long long n,
                           bool silu_gate, cudaStream_t st) {
    if (n > 0) gated_backward_kernel<<<ceil_div(n, 256), 256, 0, st>>>(g, u, dout, dg, du, n, silu_gate);
}

}  // namespace lr
#endif
