// Element-wise helpers: fill, copy, add, axpy, scale, and the f32 -> bf16 cast that feeds bf16
// operands to the products. All float32 in, float32 out except the cast.
#pragma once
#include "common.cuh"

namespace lr {

LR_HD float axpy_element(float alpha, float x, float y) { return y + alpha * x; }

}  // namespace lr

#if LR_DEVICE_CODE
namespace lr {

__global__ void fill_kernel(float* x, float v, long long n) {
    long long i = blockIdx.x * (long long) blockDim.x + threadIdx.x;
    if (i < n) x[i] = v;
}
__global__ void add_kernel(const float* a, const float* b, float* out, long long n) {
    long long i = blockIdx.x * (long long) blockDim.x + threadIdx.x;
    if (i < n) out[i] = a[i] + b[i];
}
__global__ void axpy_kernel(float alpha, const float* x, float* y, long long n) {
    long long i = blockIdx.x * (long long) blockDim.x + threadIdx.x;
    if (i < n) y[i] = axpy_element(alpha, x[i], y[i]);
}
__global__ void scale_kernel(float* x, float alpha, long long n) {
    long long i = blockIdx.x * (long long) blockDim.x + threadIdx.x;
    if (i < n) x[i] *= alpha;
}
__global__ void cast_bf16_kernel(const float* x, uint16_t* out, long long n) {
    long long i = blockIdx.x * (long long) blockDim.x + threadIdx.x;
    if (i < n) out[i] = f32_to_bf16_bits(x[i]);
}

inline void fill(float* x, float v, long long n, cudaStream_t st) {
    if (n > 0) fill_kernel<<<ceil_div(n, 256), 256, 0, st>>>(x, v, n);
}
inline void add(const float* a, const float* b, float* out, long long n, cudaStream_t st) {
    if (n > 0) add_kernel<<<ceil_div(n, 256), 256, 0, st>>>(a, b, out, n);
}
inline void axpy(float alpha, const float* x, float* y, long long n, cudaStream_t st) {
    if (n > 0) axpy_kernel<<<ceil_div(n, 256), 256, 0, st>>>(alpha, x, y, n);
}
inline void scale(float* x, float alpha, long long n, cudaStream_t st) {
    if (n > 0) scale_kernel<<<ceil_div(n, 256), 256, 0, st>>>(x, alpha, n);
}
inline void cast_bf16(const float* x, uint16_t* out, long long n, cudaStream_t st) {
    if (n > 0) cast_bf16_kernel<<<ceil_div(n, 256), 256, 0, st>>>(x, out, n);
}

}  // namespace lr
#endif
