// JNI glue of io.lowrank.worker.tensor.cuda.CudaNative (compiled, not yet run on a GPU; on a
// machine without a driver it is what reports "no NVIDIA driver or GPU found"). Failures throw
// io.lowrank.worker.tensor.cuda.CudaUnavailableException with the library's message.
#include <jni.h>
#include <cstdio>
#include "../cuda_api.h"

namespace {

const char* kUnavailable = "io/lowrank/worker/tensor/cuda/CudaUnavailableException";

void throw_unavailable(JNIEnv* env, const char* msg) {
    jclass c = env->FindClass(kUnavailable);
    if (c) env->ThrowNew(c, msg);
}

LrcContext* ctx_of(jlong h) { return reinterpret_cast<LrcContext*>(static_cast<uintptr_t>(h)); }

}  // namespace

extern "C" {

// The JNI glue's version: CudaNative checks it right after loading, so a library built without
// this file (no jni.h at build time) or from other sources fails at load with a clear message.
JNIEXPORT jint JNICALL Java_io_lowrank_worker_tensor_cuda_CudaNative_nAbiVersion(JNIEnv*, jclass) { return 1; }

// Returns "<status> <message>": status 0 = usable, else an LrcStatus.
JNIEXPORT jstring JNICALL Java_io_lowrank_worker_tensor_cuda_CudaNative_nProbe(JNIEnv* env, jclass, jint device) {
    char msg[4096];
    int s = lrc_probe(device, msg, sizeof msg);
    char out[4200];
    std::snprintf(out, sizeof out, "%d %s", s, msg);
    return env->NewStringUTF(out);
}

JNIEXPORT jlong JNICALL Java_io_lowrank_worker_tensor_cuda_CudaNative_nOpen(JNIEnv* env, jclass, jint device,
                                                                            jint precision) {
    char msg[4096] = {0};
    int status = 0;
    LrcContext* ctx = lrc_open(device, precision, &status, msg, sizeof msg);
    if (!ctx) {
        throw_unavailable(env, msg);
        return 0;
    }
    return static_cast<jlong>(reinterpret_cast<uintptr_t>(ctx));
}

JNIEXPORT void JNICALL Java_io_lowrank_worker_tensor_cuda_CudaNative_nClose(JNIEnv*, jclass, jlong ctx) {
    lrc_close(ctx_of(ctx));
}

JNIEXPORT jstring JNICALL Java_io_lowrank_worker_tensor_cuda_CudaNative_nDescribe(JNIEnv* env, jclass, jlong ctx) {
    char out[2048];
    std::snprintf(out, sizeof out, "%s, cuBLASLt %s", lrc_device_name(ctx_of(ctx)), lrc_cublaslt_path(ctx_of(ctx)));
    return env->NewStringUTF(out);
}

JNIEXPORT jlong JNICALL Java_io_lowrank_worker_tensor_cuda_CudaNative_nMalloc(JNIEnv* env, jclass, jlong ctx, jlong bytes) {
    char msg[1024];
    uint64_t p = lrc_malloc(ctx_of(ctx), (size_t) bytes, msg, sizeof msg);
    if (!p) {
        jclass c = env->FindClass("java/lang/OutOfMemoryError");
        if (c) env->ThrowNew(c, msg);
    }
    return (jlong) p;
}

JNIEXPORT void JNICALL Java_io_lowrank_worker_tensor_cuda_CudaNative_nFree(JNIEnv*, jclass, jlong ctx, jlong ptr) {
    lrc_free(ctx_of(ctx), (uint64_t) ptr);
}

// Copies floats [off, off + n) of a Java array to / from device address dev.
JNIEXPORT void JNICALL Java_io_lowrank_worker_tensor_cuda_CudaNative_nCopyToDevice(JNIEnv* env, jclass, jlong ctx,
                                                                                   jlong dev, jfloatArray src, jint off,
                                                                                   jint n) {
    char msg[1024];
    jfloat* p = env->GetFloatArrayElements(src, nullptr);
    int e = lrc_copy_to_device(ctx_of(ctx), (uint64_t) dev, p + off, (size_t) n * sizeof(float), msg, sizeof msg);
    env->ReleaseFloatArrayElements(src, p, JNI_ABORT);
    if (e) {
        jclass c = env->FindClass("java/lang/IllegalStateException");
        if (c) env->ThrowNew(c, msg);
    }
}

JNIEXPORT void JNICALL Java_io_lowrank_worker_tensor_cuda_CudaNative_nCopyToHost(JNIEnv* env, jclass, jlong ctx,
                                                                                 jlong dev, jfloatArray dst, jint off,
                                                                                 jint n) {
    char msg[1024];
    jfloat* p = env->GetFloatArrayElements(dst, nullptr);
    int e = lrc_copy_to_host(ctx_of(ctx), p + off, (uint64_t) dev, (size_t) n * sizeof(float), msg, sizeof msg);
    env->ReleaseFloatArrayElements(dst, p, e ? JNI_ABORT : 0);
    if (e) {
        jclass c = env->FindClass("java/lang/IllegalStateException");
        if (c) env->ThrowNew(c, msg);
    }
}

}  // extern "C"
