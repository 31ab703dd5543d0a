// Compiled ONLY on the GPU machine (run-gpu-tests.sh), where pip's nvidia/cu13/include holds the
// real cublasLt.h: static_asserts every hand-written value and struct size of lt_api.h, and that
// every function pointer has the real signature. Compiling is the test.
#include <type_traits>
#include <cublasLt.h>
#include "lt_api.h"

#define SAME(a, b) static_assert((int) (a) == (int) (b), #a " != " #b)
SAME(lt::STATUS_SUCCESS, CUBLAS_STATUS_SUCCESS);
SAME(lt::OP_N, CUBLAS_OP_N);
SAME(lt::OP_T, CUBLAS_OP_T);
SAME(lt::R_32F, CUDA_R_32F);
SAME(lt::R_16F, CUDA_R_16F);
SAME(lt::R_16BF, CUDA_R_16BF);
SAME(lt::COMPUTE_32F, CUBLAS_COMPUTE_32F);
SAME(lt::COMPUTE_32F_FAST_TF32, CUBLAS_COMPUTE_32F_FAST_TF32);
SAME(lt::DESC_TRANSA, CUBLASLT_MATMUL_DESC_TRANSA);
SAME(lt::DESC_TRANSB, CUBLASLT_MATMUL_DESC_TRANSB);
SAME(lt::DESC_EPILOGUE, CUBLASLT_MATMUL_DESC_EPILOGUE);
SAME(lt::DESC_BIAS_POINTER, CUBLASLT_MATMUL_DESC_BIAS_POINTER);
SAME(lt::LAYOUT_BATCH_COUNT, CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT);
SAME(lt::LAYOUT_STRIDED_BATCH_OFFSET, CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET);
SAME(lt::PREF_MAX_WORKSPACE_BYTES, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES);
SAME(lt::EPILOGUE_DEFAULT, CUBLASLT_EPILOGUE_DEFAULT);
SAME(lt::EPILOGUE_RELU, CUBLASLT_EPILOGUE_RELU);
SAME(lt::EPILOGUE_BIAS, CUBLASLT_EPILOGUE_BIAS);
static_assert(sizeof(lt::MatmulAlgo) == sizeof(cublasLtMatmulAlgo_t), "algo size");
static_assert(sizeof(lt::HeuristicResult) == sizeof(cublasLtMatmulHeuristicResult_t), "heuristic result size");
static_assert(offsetof(lt::HeuristicResult, workspaceSize) == offsetof(cublasLtMatmulHeuristicResult_t, workspaceSize), "ws");
static_assert(offsetof(lt::HeuristicResult, state) == offsetof(cublasLtMatmulHeuristicResult_t, state), "state");
static_assert(offsetof(lt::HeuristicResult, wavesCount) == offsetof(cublasLtMatmulHeuristicResult_t, wavesCount), "waves");
static_assert(sizeof(cublasStatus_t) == sizeof(lt::Status), "status size");
static_assert(sizeof(cublasLtHandle_t) == sizeof(lt::Handle), "handle is a pointer");
static_assert(sizeof(cublasLtMatmulDesc_t) == sizeof(lt::MatmulDesc), "desc is a pointer");
static_assert(sizeof(cublasLtMatrixLayout_t) == sizeof(lt::MatrixLayout), "layout is a pointer");
static_assert(sizeof(cublasLtMatmulPreference_t) == sizeof(lt::Preference), "preference is a pointer");
// attribute value types the wrapper passes
static_assert(sizeof(cublasOperation_t) == sizeof(int32_t), "TRANSA/B values are int32");
static_assert(sizeof(cublasLtEpilogue_t) == sizeof(int32_t), "EPILOGUE value is int32");
// argument counts and kinds: a pointer to the real function converts to ours only through the
// same parameter list with our pointer-sized stand-ins; check the arity at least.
template <class R, class... A> constexpr int arity(R (*)(A...)) { return sizeof...(A); }
static_assert(arity(&cublasLtMatmul) == 16, "cublasLtMatmul arity");
static_assert(arity(&cublasLtMatmulAlgoGetHeuristic) == 10, "cublasLtMatmulAlgoGetHeuristic arity");
static_assert(arity(&cublasLtMatrixLayoutCreate) == 5, "cublasLtMatrixLayoutCreate arity");
static_assert(arity(&cublasLtMatmulDescCreate) == 3, "cublasLtMatmulDescCreate arity");
static_assert(arity(&cublasLtMatmulDescSetAttribute) == 4, "cublasLtMatmulDescSetAttribute arity");
static_assert(std::is_same<decltype(&cublasLtGetVersion), size_t (*)()>::value, "cublasLtGetVersion");

int main() { return 0; }
