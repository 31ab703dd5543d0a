// Compiles the hand-written cuBLASLt declarations on their own with -Wall -Werror (CI, no cuBLAS
// headers). The real check is check_decls.cpp, compiled on the GPU machine.
#include "lt_api.h"

static_assert(sizeof(lt::MatmulAlgo) == 64, "cublasLtMatmulAlgo_t is 8 uint64");
static_assert(sizeof(lt::HeuristicResult) == 96, "cublasLtMatmulHeuristicResult_t is 96 bytes on LP64");
