// JNI glue for io.lowrank.nativekernels.Gemm: the dense product on raw addresses (ND4J memory).
// The Java side has checked dimensions, leading dimensions and non-zero addresses; the caller
// (the worker's backend) has checked every operand's extent against its tensor.
#include <jni.h>
#include <stdint.h>

#include "lowrank_native.h"

extern "C" {

JNIEXPORT jint JNICALL Java_io_lowrank_nativekernels_Gemm_nSgemm(JNIEnv*, jclass, jboolean ta, jboolean tb,
                                                                 jlong m, jlong n, jlong k, jfloat alpha,
                                                                 jlong a, jlong lda, jlong b, jlong ldb,
                                                                 jfloat beta, jlong c, jlong ldc,
                                                                 jint max_threads) {
  return lr_sgemm(ta ? 1 : 0, tb ? 1 : 0, m, n, k, alpha, reinterpret_cast<const float*>(static_cast<intptr_t>(a)),
                  lda, reinterpret_cast<const float*>(static_cast<intptr_t>(b)), ldb, beta,
                  reinterpret_cast<float*>(static_cast<intptr_t>(c)), ldc, max_threads);
}

}  // extern "C"
