// JNI glue of io.lowrank.worker.tensor.cuda.CudaNative (compiled, not yet run on a GPU; on a
// machine without a driver it is what reports "no NVIDIA driver or GPU found"). Opening failures
// throw io.lowrank.worker.tensor.cuda.CudaUnavailableException with the library's message; a
// failed launch or product throws IllegalStateException naming the operation and the CUDA error.
// Device pointers travel as jlong; every kernel runs on the context's compute stream.
#include <jni.h>
#include <cstdio>
#include <vector>
#include "../cuda_api.h"
#include "../cuda_context.cuh"
#include "../kernels/adamw.cuh"
#include "../kernels/attention.cuh"
#include "../kernels/classifier.cuh"
#include "../kernels/elementwise.cuh"
#include "../kernels/encoder.cuh"
#include "../kernels/global_norm.cuh"
#include "../kernels/relu2.cuh"
#include "../kernels/rmsnorm.cuh"
#include "../kernels/rope.cuh"
#include "../kernels/silu.cuh"
#include "../kernels/sparse24.cuh"
#include "../kernels/swiglu.cuh"

namespace {

const char* kUnavailable = "io/lowrank/worker/tensor/cuda/CudaUnavailableException";

void throw_unavailable(JNIEnv* env, const char* msg) {
    jclass c = env->FindClass(kUnavailable);
    if (c) env->ThrowNew(c, msg);
}

LrcContext* ctx_of(jlong h) { return reinterpret_cast<LrcContext*>(static_cast<uintptr_t>(h)); }

void throw_state(JNIEnv* env, const char* msg) {
    jclass c = env->FindClass("java/lang/IllegalStateException");
    if (c) env->ThrowNew(c, msg);
}

/** After a launch: throws naming the operation when CUDA reports an error; true when fine. */
bool launched(JNIEnv* env, const char* op) {
    cudaError_t e = cudaGetLastError();
    if (e == cudaSuccess) return true;
    char msg[512];
    std::snprintf(msg, sizeof msg, "CUDA %s failed: %s (%s)", op, cudaGetErrorName(e), cudaGetErrorString(e));
    throw_state(env, msg);
    return false;
}

bool ensured(JNIEnv* env, LrcScratch& s, size_t bytes, const char* what) {
    cudaError_t e = s.ensure(bytes);
    if (e == cudaSuccess) return true;
    char msg[512];
    std::snprintf(msg, sizeof msg, "cudaMalloc of %zu bytes for %s: %s", bytes, what, cudaGetErrorString(e));
    throw_state(env, msg);
    return false;
}

template <class T> T* dptr(jlong p) { return reinterpret_cast<T*>(static_cast<uintptr_t>(p)); }

/** Host ints to the context's int scratch (after the compute stream's work so far). */
int* upload_ints(JNIEnv* env, LrcContext* c, jintArray a, jint n, size_t offset_ints = 0) {
    if (!ensured(env, c->ints, (offset_ints + (size_t) n) * sizeof(int), "token ids")) return nullptr;
    jint* h = env->GetIntArrayElements(a, nullptr);
    char msg[512];
    int e = lrc_copy_to_device(c, (uint64_t) (uintptr_t) (c->ints.as<int>() + offset_ints), h, (size_t) n * sizeof(int), msg, sizeof msg);
    env->ReleaseIntArrayElements(a, h, JNI_ABORT);
    if (e) { throw_state(env, msg); return nullptr; }
    return c->ints.as<int>() + offset_ints;
}

/** One product through the cuBLASLt wrapper; bf16 contexts cast the operands' extents first. */
bool gemm(JNIEnv* env, LrcContext* c, bool ta, bool tb, int m, int n, int k, float alpha, const float* a, int lda,
          long long sa, const float* b, int ldb, long long sb, float beta, float* cc, int ldc, long long sc, int batch,
          bool allow_bf16) {
    char err[512];
    const void* pa = a;
    const void* pb = b;
    lr::Precision prec = lr::Precision::F32;
    if (c->precision == 1 && allow_bf16) {
        // the stored extent of each operand: rows of the stored layout times its leading dimension
        long long ea = (long long) (batch - 1) * sa + (long long) ((ta ? k : m) - 1) * lda + (ta ? m : k);
        long long eb = (long long) (batch - 1) * sb + (long long) ((tb ? n : k) - 1) * ldb + (tb ? k : n);
        if (!ensured(env, c->bf16_a, (size_t) ea * 2, "bf16 operand A") || !ensured(env, c->bf16_b, (size_t) eb * 2, "bf16 operand B"))
            return false;
        lr::cast_bf16(a, c->bf16_a.as<uint16_t>(), ea, c->compute);
        lr::cast_bf16(b, c->bf16_b.as<uint16_t>(), eb, c->compute);
        pa = c->bf16_a.p;
        pb = c->bf16_b.p;
        prec = lr::Precision::BF16;
    }
    int s = lr::matmul(&c->matmul, prec, ta, tb, m, n, k, alpha, pa, lda, sa, pb, ldb, sb, beta, cc, ldc, sc, batch,
                       c->compute, err, sizeof err);
    if (s != 0) { throw_state(env, err); return false; }
    return launched(env, "cast/product");
}

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


#define JNI_FN(ret, name) JNIEXPORT ret JNICALL Java_io_lowrank_worker_tensor_cuda_CudaNative_##name

JNI_FN(void, nMemsetZero)(JNIEnv* env, jclass, jlong ctx, jlong p, jlong bytes) {
    cudaMemsetAsync(dptr<void>(p), 0, (size_t) bytes, ctx_of(ctx)->compute);
    launched(env, "memset");
}

JNI_FN(void, nCopyDevice)(JNIEnv* env, jclass, jlong ctx, jlong dst, jlong src, jlong bytes) {
    cudaMemcpyAsync(dptr<void>(dst), dptr<void>(src), (size_t) bytes, cudaMemcpyDeviceToDevice, ctx_of(ctx)->compute);
    launched(env, "device copy");
}

JNI_FN(void, nSynchronize)(JNIEnv* env, jclass, jlong ctx) {
    cudaStreamSynchronize(ctx_of(ctx)->compute);
    launched(env, "synchronize");
}

JNI_FN(void, nGemm)(JNIEnv* env, jclass, jlong ctx, jboolean ta, jboolean tb, jint m, jint n, jint k, jfloat alpha,
                    jlong a, jint lda, jlong b, jint ldb, jfloat beta, jlong c, jint ldc) {
    gemm(env, ctx_of(ctx), ta, tb, m, n, k, alpha, dptr<float>(a), lda, 0, dptr<float>(b), ldb, 0, beta, dptr<float>(c),
         ldc, 0, 1, true);
}

JNI_FN(void, nFill)(JNIEnv* env, jclass, jlong ctx, jlong x, jfloat v, jlong n) {
    lr::fill(dptr<float>(x), v, n, ctx_of(ctx)->compute);
    launched(env, "fill");
}
JNI_FN(void, nAdd)(JNIEnv* env, jclass, jlong ctx, jlong a, jlong b, jlong out, jlong n) {
    lr::add(dptr<float>(a), dptr<float>(b), dptr<float>(out), n, ctx_of(ctx)->compute);
    launched(env, "add");
}
JNI_FN(void, nAxpy)(JNIEnv* env, jclass, jlong ctx, jfloat alpha, jlong x, jlong y, jlong n) {
    lr::axpy(alpha, dptr<float>(x), dptr<float>(y), n, ctx_of(ctx)->compute);
    launched(env, "axpy");
}
JNI_FN(void, nScale)(JNIEnv* env, jclass, jlong ctx, jlong x, jfloat alpha, jlong n) {
    lr::scale(dptr<float>(x), alpha, n, ctx_of(ctx)->compute);
    launched(env, "scale");
}
JNI_FN(void, nSilu)(JNIEnv* env, jclass, jlong ctx, jlong h, jlong z, jlong n) {
    lr::silu_forward(dptr<float>(h), dptr<float>(z), nullptr, n, ctx_of(ctx)->compute);
    launched(env, "silu");
}
JNI_FN(void, nSiluBackward)(JNIEnv* env, jclass, jlong ctx, jlong h, jlong dz, jlong dh, jlong n) {
    lr::silu_backward(dptr<float>(h), dptr<float>(dz), dptr<float>(dh), nullptr, n, ctx_of(ctx)->compute);
    launched(env, "silu backward");
}
JNI_FN(void, nGated)(JNIEnv* env, jclass, jlong ctx, jlong g, jlong u, jlong out, jlong n, jboolean silu) {
    lr::gated_forward(dptr<float>(g), dptr<float>(u), dptr<float>(out), n, silu, ctx_of(ctx)->compute);
    launched(env, "gated product");
}
JNI_FN(void, nGatedBackward)(JNIEnv* env, jclass, jlong ctx, jlong g, jlong u, jlong dout, jlong dg, jlong du, jlong n,
                             jboolean silu) {
    lr::gated_backward(dptr<float>(g), dptr<float>(u), dptr<float>(dout), dptr<float>(dg), dptr<float>(du), n, silu,
                       ctx_of(ctx)->compute);
    launched(env, "gated product backward");
}
JNI_FN(void, nReluSquare)(JNIEnv* env, jclass, jlong ctx, jlong x, jlong y, jlong n) {
    lr::relu_square(dptr<float>(x), dptr<float>(y), n, ctx_of(ctx)->compute);
    launched(env, "relu square");
}
JNI_FN(void, nReluSquareBackward)(JNIEnv* env, jclass, jlong ctx, jlong x, jlong dy, jlong dx, jlong n) {
    lr::relu_square_backward(dptr<float>(x), dptr<float>(dy), dptr<float>(dx), n, ctx_of(ctx)->compute);
    launched(env, "relu square backward");
}

JNI_FN(void, nPrune24)(JNIEnv* env, jclass, jlong ctx, jlong x, jlong vals, jlong meta, jlong tail, jint rows, jint cols) {
    lr::prune24(dptr<float>(x), dptr<float>(vals), dptr<uint8_t>(meta), dptr<float>(tail), rows, cols, ctx_of(ctx)->compute);
    launched(env, "prune24");
}
JNI_FN(void, nDecompress24)(JNIEnv* env, jclass, jlong ctx, jlong vals, jlong meta, jlong tail, jlong x, jint rows, jint cols) {
    lr::decompress24(dptr<float>(vals), dptr<uint8_t>(meta), dptr<float>(tail), dptr<float>(x), rows, cols, ctx_of(ctx)->compute);
    launched(env, "decompress24");
}
JNI_FN(void, nSpmm24)(JNIEnv* env, jclass, jlong ctx, jlong vals, jlong meta, jlong tail, jlong w, jlong y, jint rows,
                      jint cols, jint n, jfloat beta) {
    lr::spmm24_nn(dptr<float>(vals), dptr<uint8_t>(meta), dptr<float>(tail), dptr<float>(w), dptr<float>(y), rows, cols, n,
                  beta, ctx_of(ctx)->compute);
    launched(env, "spmm24");
}
JNI_FN(void, nSpmm24T)(JNIEnv* env, jclass, jlong ctx, jlong vals, jlong meta, jlong tail, jlong g, jlong dw, jint rows,
                       jint cols, jint n, jfloat beta) {
    lr::spmm24_tn(dptr<float>(vals), dptr<uint8_t>(meta), dptr<float>(tail), dptr<float>(g), dptr<float>(dw), rows, cols, n,
                  beta, ctx_of(ctx)->compute);
    launched(env, "spmm24 transposed");
}

JNI_FN(void, nRmsNorm)(JNIEnv* env, jclass, jlong ctx, jlong x, jlong w, jlong out, jlong inv, jint rows, jint d, jfloat eps) {
    lr::rmsnorm_forward(dptr<float>(x), dptr<float>(w), dptr<float>(out), dptr<float>(inv), rows, d, eps, ctx_of(ctx)->compute);
    launched(env, "rmsnorm");
}
JNI_FN(void, nRmsNormBackward)(JNIEnv* env, jclass, jlong ctx, jlong x, jlong w, jlong inv, jlong dout, jlong dx, jlong dw,
                               jint rows, jint d) {
    lr::rmsnorm_backward(dptr<float>(x), dptr<float>(w), dptr<float>(inv), dptr<float>(dout), dptr<float>(dx), dptr<float>(dw),
                         rows, d, ctx_of(ctx)->compute);
    launched(env, "rmsnorm backward");
}
JNI_FN(void, nRope)(JNIEnv* env, jclass, jlong ctx, jlong x, jlong cos_t, jlong sin_t, jint rows, jint seq_len, jint heads,
                    jint hd, jboolean inverse) {
    lr::rope(dptr<float>(x), dptr<float>(cos_t), dptr<float>(sin_t), rows, seq_len, heads, hd, inverse, ctx_of(ctx)->compute);
    launched(env, "rope");
}

// Attention (batched products + stored causal softmax): heads[0..2] = Q, K, V head-major
// [B, H, T, hd]; heads[3] = O or dO; heads[4..6] = dQ, dK, dV; dprobs = dP [B, H, T, T].
JNI_FN(void, nAttention)(JNIEnv* env, jclass, jlong ctx, jlong q, jlong k, jlong v, jint B, jint T, jint H, jint hd,
                         jlong probs, jlong out) {
    LrcContext* c = ctx_of(ctx);
    size_t bytes = (size_t) B * T * H * hd * sizeof(float);
    for (int i = 0; i < 4; i++)
        if (!ensured(env, c->heads[i], bytes, "attention heads")) return;
    float *Q = c->heads[0].as<float>(), *K = c->heads[1].as<float>(), *V = c->heads[2].as<float>(), *O = c->heads[3].as<float>();
    lr::permute_to_heads(dptr<float>(q), Q, B, T, H, hd, c->compute);
    lr::permute_to_heads(dptr<float>(k), K, B, T, H, hd, c->compute);
    lr::permute_to_heads(dptr<float>(v), V, B, T, H, hd, c->compute);
    if (!launched(env, "attention permute")) return;
    float* P = dptr<float>(probs);
    long long sh = (long long) T * hd, sp = (long long) T * T;
    int bh = B * H;
    if (!gemm(env, c, false, true, T, T, hd, 1.0f, Q, hd, sh, K, hd, sh, 0.0f, P, T, sp, bh, false)) return;  // S = Q K^T
    lr::causal_softmax(P, P, (long long) bh * T, T, 1.0f / sqrtf((float) hd), c->compute);
    if (!launched(env, "causal softmax")) return;
    if (!gemm(env, c, false, false, T, hd, T, 1.0f, P, T, sp, V, hd, sh, 0.0f, O, hd, sh, bh, false)) return;  // O = P V
    lr::permute_from_heads(O, dptr<float>(out), B, T, H, hd, false, c->compute);
    launched(env, "attention permute back");
}

JNI_FN(void, nAttentionBackward)(JNIEnv* env, jclass, jlong ctx, jlong q, jlong k, jlong v, jlong probs, jlong dout, jint B,
                                 jint T, jint H, jint hd, jlong dq, jlong dk, jlong dv) {
    LrcContext* c = ctx_of(ctx);
    size_t bytes = (size_t) B * T * H * hd * sizeof(float);
    for (int i = 0; i < 7; i++)
        if (!ensured(env, c->heads[i], bytes, "attention heads")) return;
    if (!ensured(env, c->dprobs, (size_t) B * H * T * T * sizeof(float), "attention dP")) return;
    float *Q = c->heads[0].as<float>(), *K = c->heads[1].as<float>(), *V = c->heads[2].as<float>(), *dO = c->heads[3].as<float>();
    float *dQ = c->heads[4].as<float>(), *dK = c->heads[5].as<float>(), *dV = c->heads[6].as<float>(), *dP = c->dprobs.as<float>();
    lr::permute_to_heads(dptr<float>(q), Q, B, T, H, hd, c->compute);
    lr::permute_to_heads(dptr<float>(k), K, B, T, H, hd, c->compute);
    lr::permute_to_heads(dptr<float>(v), V, B, T, H, hd, c->compute);
    lr::permute_to_heads(dptr<float>(dout), dO, B, T, H, hd, c->compute);
    if (!launched(env, "attention permute")) return;
    const float* P = dptr<float>(probs);
    long long sh = (long long) T * hd, sp = (long long) T * T;
    int bh = B * H;
    if (!gemm(env, c, true, false, T, hd, T, 1.0f, P, T, sp, dO, hd, sh, 0.0f, dV, hd, sh, bh, false)) return;   // dV = P^T dO
    if (!gemm(env, c, false, true, T, T, hd, 1.0f, dO, hd, sh, V, hd, sh, 0.0f, dP, T, sp, bh, false)) return;   // dP = dO V^T
    lr::causal_softmax_backward(P, dP, dP, (long long) bh * T, T, 1.0f / sqrtf((float) hd), c->compute);        // dS (scaled)
    if (!launched(env, "causal softmax backward")) return;
    if (!gemm(env, c, false, false, T, hd, T, 1.0f, dP, T, sp, K, hd, sh, 0.0f, dQ, hd, sh, bh, false)) return;  // dQ = dS K
    if (!gemm(env, c, true, false, T, hd, T, 1.0f, dP, T, sp, Q, hd, sh, 0.0f, dK, hd, sh, bh, false)) return;   // dK = dS^T Q
    lr::permute_from_heads(dQ, dptr<float>(dq), B, T, H, hd, false, c->compute);
    lr::permute_from_heads(dK, dptr<float>(dk), B, T, H, hd, false, c->compute);
    lr::permute_from_heads(dV, dptr<float>(dv), B, T, H, hd, false, c->compute);
    launched(env, "attention permute back");
}

JNI_FN(void, nEmbedding)(JNIEnv* env, jclass, jlong ctx, jlong table, jintArray ids, jlong out, jint n, jint C) {
    LrcContext* c = ctx_of(ctx);
    int* d_ids = upload_ints(env, c, ids, n);
    if (!d_ids) return;
    lr::embedding_forward(dptr<float>(table), d_ids, dptr<float>(out), n, C, c->compute);
    launched(env, "embedding");
}

JNI_FN(void, nEmbeddingBackward)(JNIEnv* env, jclass, jlong ctx, jlong dtable, jintArray ids, jlong dout, jint n, jint C,
                                 jint vocab) {
    LrcContext* c = ctx_of(ctx);
    std::vector<int> h_ids(n), counts(vocab), packed(2 * (size_t) vocab + 1 + n);  // unique | starts | order
    env->GetIntArrayRegion(ids, 0, n, h_ids.data());
    int* uniq = packed.data();
    int* starts = uniq + vocab;
    int* order = starts + vocab + 1;
    int u = lr::embedding_buckets(h_ids.data(), n, vocab, counts.data(), uniq, starts, order);
    if (u < 0) {
        throw_state(env, "embedding backward: a token id is outside [0, vocab)");
        return;
    }
    jintArray staged = env->NewIntArray((jsize) packed.size());
    env->SetIntArrayRegion(staged, 0, (jsize) packed.size(), packed.data());
    int* d = upload_ints(env, c, staged, (jint) packed.size());
    env->DeleteLocalRef(staged);
    if (!d) return;
    lr::embedding_backward(dptr<float>(dtable), dptr<float>(dout), C, d, d + vocab, d + 2 * vocab + 1, u, c->compute);
    launched(env, "embedding backward");
}

JNI_FN(jdouble, nCrossEntropy)(JNIEnv* env, jclass, jlong ctx, jlong logits, jintArray targets, jint rows, jint V,
                               jint ignore_index, jfloat scale) {
    LrcContext* c = ctx_of(ctx);
    int* d_t = upload_ints(env, c, targets, rows);
    if (!d_t || !ensured(env, c->losses, (size_t) rows * sizeof(float), "losses")) return 0.0;
    lr::cross_entropy(dptr<float>(logits), d_t, c->losses.as<float>(), rows, V, ignore_index, scale, c->compute);
    if (!launched(env, "cross entropy")) return 0.0;
    std::vector<float> h(rows);
    char msg[512];
    if (lrc_copy_to_host(c, h.data(), (uint64_t) (uintptr_t) c->losses.p, (size_t) rows * sizeof(float), msg, sizeof msg)) {
        throw_state(env, msg);
        return 0.0;
    }
    double sum = 0.0;  // in row order, as the CPU backend
    for (int r = 0; r < rows; r++) sum += h[r];
    return sum;
}

static jdouble finish_partials(JNIEnv* env, LrcContext* c) {
    lr::sum_partials(c->partials.as<double>(), lr::NORM_SLICES, c->result.as<double>(), c->compute);
    if (!launched(env, "reduction")) return 0.0;
    double out = 0.0;
    char msg[512];
    if (lrc_copy_to_host(c, &out, (uint64_t) (uintptr_t) c->result.p, sizeof out, msg, sizeof msg)) throw_state(env, msg);
    return out;
}

JNI_FN(jdouble, nSumOfSquares)(JNIEnv* env, jclass, jlong ctx, jlong x, jlong n) {
    LrcContext* c = ctx_of(ctx);
    if (!ensured(env, c->partials, lr::NORM_SLICES * sizeof(double), "partials") || !ensured(env, c->result, sizeof(double), "result"))
        return 0.0;
    lr::sumsq_partials(dptr<float>(x), n, c->partials.as<double>(), c->compute);
    return finish_partials(env, c);
}

JNI_FN(jdouble, nDot)(JNIEnv* env, jclass, jlong ctx, jlong a, jlong b, jlong n) {
    LrcContext* c = ctx_of(ctx);
    if (!ensured(env, c->partials, lr::NORM_SLICES * sizeof(double), "partials") || !ensured(env, c->result, sizeof(double), "result"))
        return 0.0;
    lr::dot_partials(dptr<float>(a), dptr<float>(b), n, c->partials.as<double>(), c->compute);
    return finish_partials(env, c);
}

JNI_FN(void, nAdamw)(JNIEnv* env, jclass, jlong ctx, jlong p, jlong g, jlong m, jlong v, jlong n, jdouble lr_, jdouble b1,
                     jdouble b2, jdouble eps, jdouble wd, jlong step) {
    lr::adamw(dptr<float>(p), dptr<float>(g), dptr<float>(m), dptr<float>(v), nullptr, n,
              lr::adam_scalars(lr_, b1, b2, eps, wd, step), ctx_of(ctx)->compute);
    launched(env, "adamw");
}

}  // extern "C"
