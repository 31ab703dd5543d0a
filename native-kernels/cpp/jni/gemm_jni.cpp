// JNI glue for io.lowrank.nativekernels.Gemm: the dense product on raw addresses (ND4J memory).
// The Java side has checked dimensions, leading dimensions and non-zero addresses; the caller
// (the worker's backend) has checked every operand's extent against its tensor.
#include <jni.h>
#include <stdint.h>

#include "lowrank_native.h"

// The grouped products: part arrays copied into stack arrays (no pinning, no allocation). The
// Java side has checked parts (1..LR_SGEMM_MAX_PARTS) and the arrays' lengths.
namespace {
template <typename T>
void read_longs(JNIEnv* env, jlongArray from, int parts, T* to) {
  jlong tmp[LR_SGEMM_MAX_PARTS];
  env->GetLongArrayRegion(from, 0, parts, tmp);
  for (int g = 0; g < parts; ++g) to[g] = (T)(intptr_t)tmp[g];
}
}  // namespace

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

JNIEXPORT jint JNICALL Java_io_lowrank_nativekernels_Gemm_nSgemmEp(JNIEnv*, jclass, jboolean ta, jboolean tb, jlong m,
                                                                   jlong n, jlong k, jfloat alpha, jlong a, jlong lda,
                                                                   jlong b, jlong ldb, jfloat beta, jlong c, jlong ldc,
                                                                   jint epilogue, jlong aux, jlong ldaux,
                                                                   jint max_threads) {
  return lr_sgemm_ep(ta ? 1 : 0, tb ? 1 : 0, m, n, k, alpha, reinterpret_cast<const float*>(static_cast<intptr_t>(a)),
                     lda, reinterpret_cast<const float*>(static_cast<intptr_t>(b)), ldb, beta,
                     reinterpret_cast<float*>(static_cast<intptr_t>(c)), ldc, epilogue,
                     reinterpret_cast<float*>(static_cast<intptr_t>(aux)), ldaux, max_threads);
}

JNIEXPORT jint JNICALL Java_io_lowrank_nativekernels_Gemm_nSgemmSharedA(
    JNIEnv* env, jclass, jboolean ta, jboolean tb, jlong m, jlong k, jfloat alpha, jlong a, jlong lda, jint parts,
    jlongArray n, jlongArray b, jlongArray ldb, jfloat beta, jlongArray c, jlongArray ldc, jint epilogue,
    jlongArray aux, jlongArray ldaux, jint max_threads) {
  if (parts < 1 || parts > LR_SGEMM_MAX_PARTS) return -2;
  int64_t n_[LR_SGEMM_MAX_PARTS], ldb_[LR_SGEMM_MAX_PARTS], ldc_[LR_SGEMM_MAX_PARTS], ldaux_[LR_SGEMM_MAX_PARTS] = {};
  const float* b_[LR_SGEMM_MAX_PARTS];
  float* c_[LR_SGEMM_MAX_PARTS];
  float* aux_[LR_SGEMM_MAX_PARTS] = {};
  read_longs(env, n, parts, n_);
  read_longs(env, b, parts, b_);
  read_longs(env, ldb, parts, ldb_);
  read_longs(env, c, parts, c_);
  read_longs(env, ldc, parts, ldc_);
  if (epilogue != LR_SGEMM_EPI_NONE) {
    read_longs(env, aux, parts, aux_);
    read_longs(env, ldaux, parts, ldaux_);
  }
  return lr_sgemm_shared_a(ta ? 1 : 0, tb ? 1 : 0, m, k, alpha, reinterpret_cast<const float*>(static_cast<intptr_t>(a)),
                           lda, parts, n_, b_, ldb_, beta, c_, ldc_, epilogue, aux_, ldaux_, max_threads);
}

JNIEXPORT jint JNICALL Java_io_lowrank_nativekernels_Gemm_nSgemmSumK(
    JNIEnv* env, jclass, jboolean ta, jboolean tb, jlong m, jlong n, jint parts, jlongArray k, jfloat alpha,
    jlongArray a, jlongArray lda, jlongArray b, jlongArray ldb, jfloat beta, jlong c, jlong ldc, jint max_threads) {
  if (parts < 1 || parts > LR_SGEMM_MAX_PARTS) return -2;
  int64_t k_[LR_SGEMM_MAX_PARTS], lda_[LR_SGEMM_MAX_PARTS], ldb_[LR_SGEMM_MAX_PARTS];
  const float* a_[LR_SGEMM_MAX_PARTS];
  const float* b_[LR_SGEMM_MAX_PARTS];
  read_longs(env, k, parts, k_);
  read_longs(env, a, parts, a_);
  read_longs(env, lda, parts, lda_);
  read_longs(env, b, parts, b_);
  read_longs(env, ldb, parts, ldb_);
  return lr_sgemm_sum_k(ta ? 1 : 0, tb ? 1 : 0, m, n, parts, k_, alpha, a_, lda_, b_, ldb_, beta,
                        reinterpret_cast<float*>(static_cast<intptr_t>(c)), ldc, max_threads);
}

}  // extern "C"
