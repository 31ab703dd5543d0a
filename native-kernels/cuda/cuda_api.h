// C ABI of liblowrank_cuda.so (compiled, not yet run on a GPU): a device context (device, one
// compute stream, one copy stream, the cuBLASLt wrapper) and plain device memory. The kernels of
// kernels/*.cuh are compiled into the library through cuda_api.cu; the entry points the JNI glue
// calls are these.
#pragma once
#include <cstddef>
#include <cstdint>

extern "C" {

enum LrcStatus {
    LRC_OK = 0,
    LRC_NO_DRIVER = 1,    // no NVIDIA driver (or one too old for this CUDA runtime) or no GPU
    LRC_BAD_DEVICE = 2,   // the ordinal is outside [0, device count)
    LRC_NO_CUBLASLT = 3,  // cuBLASLt could not be loaded (message lists the paths searched)
    LRC_CUDA_ERROR = 4,   // any other CUDA error (message names it)
};

/** Checks driver, device and cuBLASLt; writes a one-line description or the error to msg. */
int lrc_probe(int device, char* msg, size_t msg_len);

struct LrcContext;
/** precision 0 = f32, 1 = bf16. NULL on failure, with *status and msg set. */
LrcContext* lrc_open(int device, int precision, int* status, char* msg, size_t msg_len);
void lrc_close(LrcContext* ctx);

/** cudaMalloc; 0 on failure (msg set). */
uint64_t lrc_malloc(LrcContext* ctx, size_t bytes, char* msg, size_t msg_len);
void lrc_free(LrcContext* ctx, uint64_t ptr);
/** Synchronous copies on the copy stream (after the compute stream's work): 0 or a CUDA error. */
int lrc_copy_to_device(LrcContext* ctx, uint64_t dst, const void* src, size_t bytes, char* msg, size_t msg_len);
int lrc_copy_to_host(LrcContext* ctx, void* dst, uint64_t src, size_t bytes, char* msg, size_t msg_len);
/** The name of the device the context runs on. */
const char* lrc_device_name(LrcContext* ctx);
/** The cuBLASLt file the context loaded. */
const char* lrc_cublaslt_path(LrcContext* ctx);
}
