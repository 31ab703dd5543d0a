// liblowrank_cuda.so: device context and memory (compiled, not yet run on a GPU); the kernels
// are compiled into the library through the JNI glue (jni/cuda_jni.cu), their only caller.
// "no NVIDIA driver or GPU found" replaces cudart's "CUDA driver version is insufficient for CUDA
// runtime version", which is what a machine without a driver reports.
#include <cstdio>
#include <cstring>
#include "cuda_api.h"
#include "cuda_context.cuh"
#include "kernels/matmul.cuh"

namespace {

int device_status(int device, char* msg, size_t len, cudaDeviceProp* prop) {
    int count = 0;
    cudaError_t e = cudaGetDeviceCount(&count);
    if (e == cudaErrorInsufficientDriver || e == cudaErrorNoDevice || (e == cudaSuccess && count == 0)) {
        std::snprintf(msg, len, "no NVIDIA driver or GPU found (cudaGetDeviceCount: %s)",
                      e == cudaSuccess ? "0 devices" : cudaGetErrorString(e));
        return LRC_NO_DRIVER;
    }
    if (e != cudaSuccess) {
        std::snprintf(msg, len, "cudaGetDeviceCount failed: %s", cudaGetErrorString(e));
        return LRC_CUDA_ERROR;
    }
    if (device < 0 || device >= count) {
        std::snprintf(msg, len, "GPU ordinal %d does not exist: this machine has %d GPU(s), ordinals 0..%d", device,
                      count, count - 1);
        return LRC_BAD_DEVICE;
    }
    e = cudaGetDeviceProperties(prop, device);
    if (e != cudaSuccess) {
        std::snprintf(msg, len, "cudaGetDeviceProperties(%d): %s", device, cudaGetErrorString(e));
        return LRC_CUDA_ERROR;
    }
    return LRC_OK;
}

}  // namespace

extern "C" {

int lrc_probe(int device, char* msg, size_t len) {
    cudaDeviceProp prop;
    int s = device_status(device, msg, len, &prop);
    if (s != LRC_OK) return s;
    lt::Api api;
    char err[2048];
    if (lt::load(&api, err, sizeof err) != 0) {
        std::snprintf(msg, len, "%s", err);
        return LRC_NO_CUBLASLT;
    }
    std::snprintf(msg, len, "GPU %d: %s (sm_%d%d, %.1f GiB), cuBLASLt %zu at %s", device, prop.name, prop.major,
                  prop.minor, prop.totalGlobalMem / 1073741824.0, api.GetVersion(), api.path);
    return LRC_OK;
}

LrcContext* lrc_open(int device, int precision, int* status, char* msg, size_t len) {
    cudaDeviceProp prop;
    *status = device_status(device, msg, len, &prop);
    if (*status != LRC_OK) return nullptr;
    LrcContext* ctx = new LrcContext();
    ctx->device = device;
    ctx->precision = precision;
    std::snprintf(ctx->name, sizeof ctx->name, "%s", prop.name);
    cudaError_t e = cudaSetDevice(device);
    if (e == cudaSuccess) e = cudaStreamCreateWithFlags(&ctx->compute, cudaStreamNonBlocking);
    if (e == cudaSuccess) e = cudaStreamCreateWithFlags(&ctx->copy, cudaStreamNonBlocking);
    if (e == cudaSuccess) e = cudaEventCreateWithFlags(&ctx->compute_done, cudaEventDisableTiming);
    if (e != cudaSuccess) {
        std::snprintf(msg, len, "creating the streams on GPU %d: %s", device, cudaGetErrorString(e));
        *status = LRC_CUDA_ERROR;
        lrc_close(ctx);
        return nullptr;
    }
    if (lr::matmul_init(&ctx->matmul, msg, len) != 0) {
        *status = ctx->matmul.api.lib ? LRC_CUDA_ERROR : LRC_NO_CUBLASLT;
        lrc_close(ctx);
        return nullptr;
    }
    return ctx;
}

void lrc_close(LrcContext* ctx) {
    if (!ctx) return;
    cudaSetDevice(ctx->device);
    ctx->release_scratch();
    lr::matmul_destroy(&ctx->matmul);
    if (ctx->compute_done) cudaEventDestroy(ctx->compute_done);
    if (ctx->copy) cudaStreamDestroy(ctx->copy);
    if (ctx->compute) cudaStreamDestroy(ctx->compute);
    delete ctx;
}

uint64_t lrc_malloc(LrcContext* ctx, size_t bytes, char* msg, size_t len) {
    void* p = nullptr;
    cudaError_t e = cudaMalloc(&p, bytes);
    if (e != cudaSuccess) {
        std::snprintf(msg, len, "cudaMalloc(%zu bytes) on GPU %d: %s", bytes, ctx->device, cudaGetErrorString(e));
        return 0;
    }
    return (uint64_t) (uintptr_t) p;
}

void lrc_free(LrcContext*, uint64_t ptr) { cudaFree((void*) (uintptr_t) ptr); }

static int copy(LrcContext* ctx, void* dst, const void* src, size_t bytes, cudaMemcpyKind kind, char* msg, size_t len) {
    // the copy stream waits for the compute stream's work so far, then copies
    cudaError_t e = cudaEventRecord(ctx->compute_done, ctx->compute);
    if (e == cudaSuccess) e = cudaStreamWaitEvent(ctx->copy, ctx->compute_done, 0);
    if (e == cudaSuccess) e = cudaMemcpyAsync(dst, src, bytes, kind, ctx->copy);
    if (e == cudaSuccess) e = cudaStreamSynchronize(ctx->copy);
    if (e != cudaSuccess) std::snprintf(msg, len, "copy of %zu bytes on GPU %d: %s", bytes, ctx->device, cudaGetErrorString(e));
    return (int) e;
}

int lrc_copy_to_device(LrcContext* ctx, uint64_t dst, const void* src, size_t bytes, char* msg, size_t len) {
    return copy(ctx, (void*) (uintptr_t) dst, src, bytes, cudaMemcpyHostToDevice, msg, len);
}

int lrc_copy_to_host(LrcContext* ctx, void* dst, uint64_t src, size_t bytes, char* msg, size_t len) {
    return copy(ctx, dst, (const void*) (uintptr_t) src, bytes, cudaMemcpyDeviceToHost, msg, len);
}

const char* lrc_device_name(LrcContext* ctx) { return ctx->name; }
const char* lrc_cublaslt_path(LrcContext* ctx) { return ctx->matmul.api.path; }

}  // extern "C"
