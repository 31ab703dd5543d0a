// JNI glue for io.lowrank.nativekernels.Sparse24.
//
// Two entry styles, both without copies:
//  - "Addr" natives take raw addresses (long) already offset by the Java side
//    (address + element offset * element size); used with ND4J / Unsafe /
//    MemorySegment memory. Java checks shapes, not the extent of the memory.
//  - "Buf" natives take direct java.nio buffers plus a byte offset; the Java
//    side has checked capacities, shapes and byte order before the call.
// Kernels never throw; a null buffer address (heap buffer slipped through)
// raises IllegalArgumentException here as a last guard.
#include <jni.h>

#include "lowrank_native.h"

namespace {

inline float* fptr(jlong a) { return reinterpret_cast<float*>(static_cast<intptr_t>(a)); }
inline uint8_t* bptr(jlong a) { return reinterpret_cast<uint8_t*>(static_cast<intptr_t>(a)); }

// direct buffer address + byte offset; nullptr (and a pending exception) if
// the buffer is not direct. A null buffer object is allowed (returns nullptr
// without exception) only where `optional`.
char* buf(JNIEnv* env, jobject b, jlong byteOff, bool optional, bool* failed) {
  if (b == nullptr) {
    if (!optional) {
      env->ThrowNew(env->FindClass("java/lang/IllegalArgumentException"), "null buffer");
      *failed = true;
    }
    return nullptr;
  }
  char* p = static_cast<char*>(env->GetDirectBufferAddress(b));
  if (p == nullptr) {
    env->ThrowNew(env->FindClass("java/lang/IllegalArgumentException"),
                  "buffer is not a direct buffer");
    *failed = true;
    return nullptr;
  }
  return p + byteOff;
}

}  // namespace

#define JNI_FN(name) JNIEXPORT JNICALL Java_io_lowrank_nativekernels_Sparse24_##name

extern "C" {

jint JNI_FN(nCpuIsa)(JNIEnv*, jclass) { return lr_cpu_isa(); }
jint JNI_FN(nGetIsa)(JNIEnv*, jclass) { return lr_get_isa(); }
jint JNI_FN(nSetIsa)(JNIEnv*, jclass, jint isa) { return lr_set_isa(isa); }
void JNI_FN(nSetNumThreads)(JNIEnv*, jclass, jint n) { lr_set_num_threads(n); }
jint JNI_FN(nGetNumThreads)(JNIEnv*, jclass) { return lr_get_num_threads(); }
jstring JNI_FN(nVersion)(JNIEnv* env, jclass) { return env->NewStringUTF(lr_version()); }

// ---- raw addresses ----------------------------------------------------------
void JNI_FN(nPrune24CompressAddr)(JNIEnv*, jclass, jlong x, jlong ldx, jint rows, jint cols,
                                  jlong vals, jlong meta, jlong tail) {
  lr_prune24_compress(fptr(x), ldx, rows, cols, fptr(vals), bptr(meta), fptr(tail));
}

void JNI_FN(nDecompress24Addr)(JNIEnv*, jclass, jlong vals, jlong meta, jlong tail, jint rows,
                               jint cols, jlong y, jlong ldy) {
  lr_decompress24(fptr(vals), bptr(meta), fptr(tail), rows, cols, fptr(y), ldy);
}

void JNI_FN(nSpmm24nnAddr)(JNIEnv*, jclass, jlong vals, jlong meta, jlong tail, jint rows,
                           jint cols, jlong w, jlong ldw, jint n, jfloat beta, jlong y, jlong ldy) {
  lr_spmm24_nn(fptr(vals), bptr(meta), fptr(tail), rows, cols, fptr(w), ldw, n, beta, fptr(y), ldy);
}

void JNI_FN(nSpmm24tnAddr)(JNIEnv*, jclass, jlong vals, jlong meta, jlong tail, jint rows,
                           jint cols, jlong g, jlong ldg, jint n, jfloat beta, jlong dw, jlong lddw) {
  lr_spmm24_tn(fptr(vals), bptr(meta), fptr(tail), rows, cols, fptr(g), ldg, n, beta, fptr(dw), lddw);
}

// ---- direct buffers (byte offsets) -----------------------------------------
void JNI_FN(nPrune24CompressBuf)(JNIEnv* env, jclass, jobject x, jlong xo, jlong ldx, jint rows,
                                 jint cols, jobject vals, jlong vo, jobject meta, jlong mo,
                                 jobject tail, jlong to) {
  bool f = false;
  float* px = (float*)buf(env, x, xo, false, &f);
  float* pv = f ? nullptr : (float*)buf(env, vals, vo, false, &f);
  uint8_t* pm = f ? nullptr : (uint8_t*)buf(env, meta, mo, false, &f);
  float* pt = f ? nullptr : (float*)buf(env, tail, to, true, &f);
  if (f) return;
  lr_prune24_compress(px, ldx, rows, cols, pv, pm, pt);
}

void JNI_FN(nDecompress24Buf)(JNIEnv* env, jclass, jobject vals, jlong vo, jobject meta, jlong mo,
                              jobject tail, jlong to, jint rows, jint cols, jobject y, jlong yo,
                              jlong ldy) {
  bool f = false;
  float* pv = (float*)buf(env, vals, vo, false, &f);
  uint8_t* pm = f ? nullptr : (uint8_t*)buf(env, meta, mo, false, &f);
  float* pt = f ? nullptr : (float*)buf(env, tail, to, true, &f);
  float* py = f ? nullptr : (float*)buf(env, y, yo, false, &f);
  if (f) return;
  lr_decompress24(pv, pm, pt, rows, cols, py, ldy);
}

void JNI_FN(nSpmm24nnBuf)(JNIEnv* env, jclass, jobject vals, jlong vo, jobject meta, jlong mo,
                          jobject tail, jlong to, jint rows, jint cols, jobject w, jlong wo,
                          jlong ldw, jint n, jfloat beta, jobject y, jlong yo, jlong ldy) {
  bool f = false;
  float* pv = (float*)buf(env, vals, vo, false, &f);
  uint8_t* pm = f ? nullptr : (uint8_t*)buf(env, meta, mo, false, &f);
  float* pt = f ? nullptr : (float*)buf(env, tail, to, true, &f);
  float* pw = f ? nullptr : (float*)buf(env, w, wo, false, &f);
  float* py = f ? nullptr : (float*)buf(env, y, yo, false, &f);
  if (f) return;
  lr_spmm24_nn(pv, pm, pt, rows, cols, pw, ldw, n, beta, py, ldy);
}

void JNI_FN(nSpmm24tnBuf)(JNIEnv* env, jclass, jobject vals, jlong vo, jobject meta, jlong mo,
                          jobject tail, jlong to, jint rows, jint cols, jobject g, jlong go,
                          jlong ldg, jint n, jfloat beta, jobject dw, jlong dwo, jlong lddw) {
  bool f = false;
  float* pv = (float*)buf(env, vals, vo, false, &f);
  uint8_t* pm = f ? nullptr : (uint8_t*)buf(env, meta, mo, false, &f);
  float* pt = f ? nullptr : (float*)buf(env, tail, to, true, &f);
  float* pg = f ? nullptr : (float*)buf(env, g, go, false, &f);
  float* pd = f ? nullptr : (float*)buf(env, dw, dwo, false, &f);
  if (f) return;
  lr_spmm24_tn(pv, pm, pt, rows, cols, pg, ldg, n, beta, pd, lddw);
}

}  // extern "C"
