// The subset of cuBLASLt this project calls, declared by hand: the build machine has no cuBLAS
// headers, and the library is loaded at run time with dlopen (lt_loader.cpp). Every value and
// struct size here is checked against the real cublasLt.h by check_decls.cpp, compiled on the GPU
// machine (run-gpu-tests.sh). Values from the public headers (spec/gpu.md).
#pragma once

#include <cstddef>
#include <cstdint>

namespace lt {

typedef int Status;  // cublasStatus_t, 0 = CUBLAS_STATUS_SUCCESS
typedef void* Handle;         // cublasLtHandle_t (pointer to an opaque context)
typedef void* MatmulDesc;     // cublasLtMatmulDesc_t
typedef void* MatrixLayout;   // cublasLtMatrixLayout_t
typedef void* Preference;     // cublasLtMatmulPreference_t
typedef void* Stream;         // cudaStream_t

struct MatmulAlgo {           // cublasLtMatmulAlgo_t
    uint64_t data[8];
};

struct HeuristicResult {      // cublasLtMatmulHeuristicResult_t, written as an array by the library
    MatmulAlgo algo;
    size_t workspaceSize;
    Status state;
    float wavesCount;
    int reserved[4];
};

enum : int {
    STATUS_SUCCESS = 0,
    OP_N = 0,                  // cublasOperation_t
    OP_T = 1,
    R_32F = 0,                 // cudaDataType_t
    R_16F = 2,
    R_16BF = 14,
    COMPUTE_32F = 68,          // cublasComputeType_t
    COMPUTE_32F_FAST_TF32 = 77,
    DESC_TRANSA = 3,           // cublasLtMatmulDescAttributes_t
    DESC_TRANSB = 4,
    DESC_EPILOGUE = 7,
    DESC_BIAS_POINTER = 8,
    LAYOUT_BATCH_COUNT = 5,    // cublasLtMatrixLayoutAttribute_t
    LAYOUT_STRIDED_BATCH_OFFSET = 6,
    PREF_MAX_WORKSPACE_BYTES = 1,  // cublasLtMatmulPreferenceAttributes_t
    EPILOGUE_DEFAULT = 1,      // cublasLtEpilogue_t
    EPILOGUE_RELU = 2,
    EPILOGUE_BIAS = 4,
};

/** Function pointers filled by load(); the signatures of cublasLt.h. */
struct Api {
    void* lib = nullptr;
    char path[1024] = {0};
    size_t (*GetVersion)();
    Status (*Create)(Handle*);
    Status (*Destroy)(Handle);
    Status (*MatmulDescCreate)(MatmulDesc*, int computeType, int scaleType);
    Status (*MatmulDescDestroy)(MatmulDesc);
    Status (*MatmulDescSetAttribute)(MatmulDesc, int attr, const void* buf, size_t size);
    Status (*MatrixLayoutCreate)(MatrixLayout*, int type, uint64_t rows, uint64_t cols, int64_t ld);
    Status (*MatrixLayoutDestroy)(MatrixLayout);
    Status (*MatrixLayoutSetAttribute)(MatrixLayout, int attr, const void* buf, size_t size);
    Status (*MatmulPreferenceCreate)(Preference*);
    Status (*MatmulPreferenceDestroy)(Preference);
    Status (*MatmulPreferenceSetAttribute)(Preference, int attr, const void* buf, size_t size);
    Status (*MatmulAlgoGetHeuristic)(Handle, MatmulDesc, MatrixLayout a, MatrixLayout b, MatrixLayout c, MatrixLayout d,
                                     Preference, int requested, HeuristicResult* results, int* returned);
    Status (*Matmul)(Handle, MatmulDesc, const void* alpha, const void* A, MatrixLayout a, const void* B, MatrixLayout b,
                     const void* beta, const void* C, MatrixLayout c, void* D, MatrixLayout d, const MatmulAlgo* algo,
                     void* workspace, size_t workspaceSize, Stream stream);
};

/**
 * dlopens libcublasLt.so.13 from, in order: $LOWRANK_CUBLASLT (a file), python3's site-packages
 * nvidia/cu13/lib and nvidia/cublas/lib, $CUDA_HOME/lib64, /usr/local/cuda/lib64, each
 * $LD_LIBRARY_PATH entry, then the plain soname (the loader's cache). Returns 0, or -1 with a
 * message in err naming every path tried and what failed.
 */
int load(Api* api, char* err, size_t err_len);

}  // namespace lt
