// Shared by every CUDA kernel family: the __host__ __device__ qualifier macro, bf16 <-> f32
// conversion with a host implementation, and (under nvcc only) launch-error checking.
//
// Why a macro: each family header keeps its per-element / per-row math in LR_HD functions that
// the GPU kernels call and that g++ compiles too, so the host tests (ctest, no GPU) check the
// exact code the device runs. Only launch shapes, shared memory and warp reductions are GPU-only.
#pragma once

#include <cstdint>
#include <cstring>
#include <cmath>

#ifdef __CUDACC__
#include <cuda_runtime.h>
#include <cuda_bf16.h>
#define LR_HD __host__ __device__ __forceinline__
#define LR_DEVICE_CODE 1
#else
#define LR_HD inline
#define LR_DEVICE_CODE 0
#endif

namespace lr {

// ---- bf16 as raw bits: the same code on host and device ----------------------------------

LR_HD uint32_t f32_bits(float x) {
#if defined(__CUDA_ARCH__)
    return __float_as_uint(x);
#else
    uint32_t u; std::memcpy(&u, &x, 4); return u;
#endif
}

LR_HD float bits_f32(uint32_t u) {
#if defined(__CUDA_ARCH__)
    return __uint_as_float(u);
#else
    float x; std::memcpy(&x, &u, 4); return x;
#endif
}

/** float -> bf16 bits, round to nearest even; NaN stays a (quiet) NaN. */
LR_HD uint16_t f32_to_bf16_bits(float x) {
    uint32_t u = f32_bits(x);
    if ((u & 0x7F800000u) == 0x7F800000u && (u & 0x007FFFFFu) != 0) return (uint16_t) ((u >> 16) | 0x0040u);
    uint32_t lsb = (u >> 16) & 1u;
    u += 0x7FFFu + lsb;
    return (uint16_t) (u >> 16);
}

LR_HD float bf16_bits_to_f32(uint16_t b) { return bits_f32(((uint32_t) b) << 16); }

/** x rounded to the nearest bf16 value, as a float. */
LR_HD float round_bf16(float x) { return bf16_bits_to_f32(f32_to_bf16_bits(x)); }

// ---- online softmax: (running max, running sum of exp(x - max)) ----------------------------
// One pair per partial row. merge is associative and commutative up to rounding, so a warp
// reduction, a block reduction and a sequential host loop all use it.

struct MaxSum {
    float m;  // running maximum (-inf when empty)
    float s;  // sum of exp(x - m)
};

LR_HD MaxSum maxsum_empty() { return MaxSum{-INFINITY, 0.0f}; }

LR_HD MaxSum maxsum_add(MaxSum a, float x) {
    if (x > a.m) return MaxSum{x, a.s * expf(a.m - x) + 1.0f};
    return MaxSum{a.m, a.s + expf(x - a.m)};
}

LR_HD MaxSum maxsum_merge(MaxSum a, MaxSum b) {
    if (b.s == 0.0f) return a;
    if (a.s == 0.0f) return b;
    float m = a.m > b.m ? a.m : b.m;
    return MaxSum{m, a.s * expf(a.m - m) + b.s * expf(b.m - m)};
}

}  // namespace lr

#if LR_DEVICE_CODE
#include <cstdio>
#define LR_CUDA_CHECK(call)                                                                     \
    do {                                                                                        \
        cudaError_t lr_err_ = (call);                                                           \
        if (lr_err_ != cudaSuccess) {                                                           \
            std::fprintf(stderr, "CUDA error %s at %s:%d: %s\n", cudaGetErrorName(lr_err_),     \
                         __FILE__, __LINE__, cudaGetErrorString(lr_err_));                       \
            return (int) lr_err_;                                                               \
        }                                                                                       \
    } while (0)

namespace lr {
__device__ __forceinline__ float warp_sum(float v) {
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xFFFFFFFFu, v, o);
    return v;
}
__device__ __forceinline__ double warp_sum(double v) {
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xFFFFFFFFu, v, o);
    return v;
}
__device__ __forceinline__ MaxSum warp_maxsum(MaxSum v) {
    for (int o = 16; o > 0; o >>= 1) {
        MaxSum w{__shfl_xor_sync(0xFFFFFFFFu, v.m, o), __shfl_xor_sync(0xFFFFFFFFu, v.s, o)};
        v = maxsum_merge(v, w);
    }
    return v;
}
inline unsigned ceil_div(long long n, long long d) { return (unsigned) ((n + d - 1) / d); }
}  // namespace lr
#endif
