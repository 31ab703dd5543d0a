// ELAS's squared ReLU y = max(x, 0)^2 and dx = 2 max(x, 0) dy. NaN propagates (as Java's
// Math.max, which the CPU backend uses), unlike fmaxf.
#pragma once
#include "common.cuh"

namespace lr {

LR_HD float relu_nan(float x) { return x != x ? x : (x > 0.0f ? x : 0.0f); }
LR_HD float relu_square(float x) { float r = relu_nan(x); return r * r; }
LR_HD float relu_square_grad(float x, float dy) { return 2.0f * relu_nan(x) * dy; }

}  // namespace lr

#if LR_DEVICE_CODE
namespace lr {

__global__ void relu_square_kernel(const float* x, float* y, long long n) {
    long long i = blockIdx.x * (long long) blockDim.x + threadIdx.x;
    if (i < n) y[i] = relu_square(x[i]);
}
__global__ void relu_square_backward_kernel(const float* x, const float* dy, float* dx, long long n) {
    long long i = blockIdx.x * (long long) blockDim.x + threadIdx.x;
    if (i < n) dx[i] = relu_square_grad(x[i], dy[i]);
}
inline void relu_square(const float* x, float* y, long long n, cudaStream_t st) {
    if (n > 0) relu_square_kernel<<<ceil_div(n, 256), 256, 0, st>>>(x, y, n);
}
inline void relu_square_backward(const float* x, const float* dy, float* dx, long long n, cudaStream_t st) {
    if (n > 0) relu_square_backward_kernel<<<ceil_div(n, 256), 256, 0, st>>>(x, dy, dx, n);
}

}  // namespace lr
#endif
