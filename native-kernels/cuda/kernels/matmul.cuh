// Every dense product of the GPU backend goes through this one cuBLASLt wrapper (llm.c's
// matmul.cuh), in the CPU backend's row-major convention:
//   C[b] = alpha op(A[b]) op(B[b]) + beta C[b],  b < batch, X[b] = X + b * strideX (elements)
// with leading dimensions (strided views) and transposes. Precision: F32 = float32 operands,
// COMPUTE_32F (TF32 off: the parity path); BF16 = bf16 operands, float32 accumulation and
// float32 C. cuBLASLt is column-major: the row-major product is run as C^T = op(B)^T op(A)^T.
// cuBLASLt is dlopen'ed (cublaslt/lt_api.h); the workspace (32 MiB) is allocated once.
#pragma once
#include <cuda_runtime.h>
#include "../cublaslt/lt_api.h"

namespace lr {

enum class Precision { F32 = 0, BF16 = 1 };

struct Matmul {
    lt::Api api;
    lt::Handle handle = nullptr;
    void* workspace = nullptr;
    size_t workspace_bytes = 32u << 20;
};

/** Loads cuBLASLt, creates the handle, allocates the workspace. 0, or non-zero with err set. */
int matmul_init(Matmul* mm, char* err, size_t err_len);
void matmul_destroy(Matmul* mm);

/**
 * Row-major strided-batched product (see the file comment). A and B are float* (F32) or bf16
 * bits (uint16_t*, BF16); C is float*. beta = 0 does not read C. Returns 0 or the cuBLASLt
 * status (err names the call and the shape).
 */
int matmul(Matmul* mm, Precision prec, bool trans_a, bool trans_b, int m, int n, int k, float alpha, const void* a,
           int lda, long long stride_a, const void* b, int ldb, long long stride_b, float beta, float* c, int ldc,
           long long stride_c, int batch, cudaStream_t stream, char* err, size_t err_len);

}  // namespace lr
