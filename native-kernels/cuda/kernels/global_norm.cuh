// Sum of squares of many gradient tensors (global gradient norm for clipping), deterministic:
// each tensor is split into a FIXED number of slices (NORM_SLICES, independent of the GPU), slice
// s of a tensor holds the elements i = s, s + NORM_SLICES, ... and its sum (float, in index
// order within a thread's chunk as written below) goes to partial[slot]; a single thread then
// adds all partials in slot order in double. Same result on every run and every GPU.
#pragma once
#include "common.cuh"

namespace lr {

constexpr int NORM_SLICES = 1024;

/** Sum of squares of slice s: elements s, s + slices, s + 2 slices, ... */
LR_HD float sumsq_slice(const float* x, long long n, int s, int slices) {
    float acc = 0.0f;
    for (long long i = s; i < n; i += slices) acc += x[i] * x[i];
    return acc;
}

/** sum a_i b_i of slice s (the same slicing): the backend's dot product. */
LR_HD float dot_slice(const float* a, const float* b, long long n, int s, int slices) {
    float acc = 0.0f;
    for (long long i = s; i < n; i += slices) acc += a[i] * b[i];
    return acc;
}

LR_HD double sum_partials(const float* partial, int count) {
    double s = 0.0;
    for (int i = 0; i < count; i++) s += (double) partial[i];
    return s;
}

}  // namespace lr

#if LR_DEVICE_CODE
namespace lr {

__global__ void sumsq_slices_kernel(const float* x, long long n, float* partial) {
    int s = blockIdx.x * blockDim.x + threadIdx.x;
    if (s < NORM_SLICES) partial[s] = sumsq_slice(x, n, s, NORM_SLICES);
}
__global__ void dot_slices_kernel(const float* a, const float* b, long long n, float* partial) {
    int s = blockIdx.x * blockDim.x + threadIdx.x;
    if (s < NORM_SLICES) partial[s] = dot_slice(a, b, n, s, NORM_SLICES);
}
__global__ void sum_partials_kernel(const float* partial, int count, double* out) {
    if (blockIdx.x == 0 && threadIdx.x == 0) *out = sum_partials(partial, count);
}

/** Writes NORM_SLICES partials of tensor x at partial[0 .. NORM_SLICES). */
inline void sumsq_partials(const float* x, long long n, float* partial, cudaStream_t st) {
    sumsq_slices_kernel<<<NORM_SLICES / 256, 256, 0, st>>>(x, n, partial);
}
/** Writes NORM_SLICES partials of a . b at partial[0 .. NORM_SLICES). */
inline void dot_partials(const float* a, const float* b, long long n, float* partial, cudaStream_t st) {
    dot_slices_kernel<<<NORM_SLICES / 256, 256, 0, st>>>(a, b, n, partial);
}
/** out = sum of count partials, in order, in double. */
inline void sum_partials(const float* partial, int count, double* out, cudaStream_t st) {
    sum_partials_kernel<<<1, 1, 0, st>>>(partial, count, out);
}

}  // namespace lr
#endif
