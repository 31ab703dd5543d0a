// The device context behind LrcContext* (cuda_api.h): what one worker holds on its GPU. Scratch
// buffers grow to the largest size a step asks for and are then reused: a steady-state step
// allocates nothing.
#pragma once
#include <cuda_runtime.h>
#include "kernels/matmul.cuh"

struct LrcScratch {
    void* p = nullptr;
    size_t bytes = 0;
    /** At least `need` bytes; grows (cudaFree + cudaMalloc) only when a larger size is asked for. */
    cudaError_t ensure(size_t need) {
        if (need <= bytes) return cudaSuccess;
        if (p) cudaFree(p);  // synchronises with the device
        p = nullptr;
        bytes = 0;
        cudaError_t e = cudaMalloc(&p, need);
        if (e == cudaSuccess) bytes = need;
        return e;
    }
    void release() {
        if (p) cudaFree(p);
        p = nullptr;
        bytes = 0;
    }
    template <class T> T* as() const { return static_cast<T*>(p); }
};

struct LrcContext {
    int device = 0;
    int precision = 0;  // 0 = f32, 1 = bf16 operands of the products
    cudaStream_t compute = nullptr;
    cudaStream_t copy = nullptr;
    cudaEvent_t compute_done = nullptr;
    lr::Matmul matmul;
    char name[256] = {0};
    // scratch: bf16 operand copies, attention's head-major tensors and dP, ids/targets, losses,
    // reduction partials and result
    LrcScratch bf16_a, bf16_b, heads[7], dprobs, ints, losses, partials, result;
    void release_scratch() {
        bf16_a.release();
        bf16_b.release();
        for (auto& h : heads) h.release();
        dprobs.release();
        ints.release();
        losses.release();
        partials.release();
        result.release();
    }
};
