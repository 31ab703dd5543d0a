// Sum of squares of many gradient tensors (global gradient norm for clipping), deterministic:
// each tensor is split into a FIXED number of slices (NORM_SLICES, independent of the GPU), slice
// s of a tensor holds the elements i = s, s + NORM_SLICES, ... and its sum (in double, in index
// order) goes to partial[slot]; a single thread then adds all partials in slot order in double.
// Same result on every run and every GPU. Double throughout, as the CPU backend: squares of large
// but finite gradients must not overflow a float partial, since a non-finite norm skips the step,
// and float slices of ~100 elements were measured at 1e-8 relative error (a flaky bound).
#pragma once
#include "common.cuh"

namespace lr {

constexpr int NORM_SLICES = 1024;

/** Sum of squares of slice s: elements s, s + slices, s + 2 slices, ... */
LR_HD double sumsq_slice(const float* x, long long n, int s, int slices) {
    double acc = 0.0;
    for (long long i = s; i < n; i += slices) acc += (double) x[i] * x[i];
    return acc;
}

/** sum a_i b_i of slice s (the same slicing): the backend's dot product. */
LR_HD double dot_slice(const float* a, const float* b, long long n, int s, int slices) {
    double acc = 0.0;
    for (long long i = s; i < n; i += slices) acc += (double) a[i] * b[i];
    return acc;
}

LR_HD double sum_partials(const double* partial, int count) {
    double s = 0.0;
    for (int i = 0; i < count; i++) s += partial[i];
    return s;
}

}  // namespace lr

#if LR_DEVICE_CODE
namespace lr {

__global__ void sumsq_slices_kernel(const float* x, long long n, double* partial) {
    int s = blockIdx.x * blockDim.x + threadIdx.x;
    if (s < NORM_SLICES) partial[s] = sumsq_slice(x, n, s, NORM_SLICES);
}
__global__ void dot_slices_kernel(const float* a, const float* b, long long n, double* partial) {
    int s = blockIdx.x * blockDim.x + threadIdx.x;
    if (s < NORM_SLICES) partial[s] = dot_slice(a, b, n, s, NORM_SLICES);
}
__global__ void sum_partials_kernel(const double* partial, int count, double* out) {
    if (blockIdx.x == 0 && threadIdx.x == 0) *out = sum_partials(partial, count);
}

/** Writes NORM_SLICES partials of tensor x at partial[0 .. NORM_SLICES). */
inline void sumsq_partials(const float* x, long long n, double* partial, cudaStream_t st) {
    sumsq_slices_kernel<<<NORM_SLICES / 256, 256, 0, st>>>(x, n, partial);
}
/** Writes NORM_SLICES partials of a . b at partial[0 .. NORM_SLICES). */
inline void dot_partials(const float* a, const float* b, long long n, double* partial, cudaStream_t st) {
    dot_slices_kernel<<<NORM_SLICES / 256, 256, 0, st>>>(a, b, n, partial);
}
/** out = sum of count partials, in order, in double. */
inline void sum_partials(const double* partial, int count, double* out, cudaStream_t st) {
    sum_partials_kernel<<<1, 1, 0, st>>>(partial, count, out);
}

}  // namespace lr
#endif
