// JNI glue for io.lowrank.nativekernels.Fused (the fused float32 element-wise
// kernels), without copies of the float data.
//
// Every float operand arrives as a pair (Buffer b, long off): b != null is a
// direct java.nio buffer and off a byte offset into it (the checked buffer
// API); b == null means off is the absolute address (the address API, ND4J
// memory). The Java side has checked shapes, extents, byte order and
// writability before the call; here a heap buffer, or a null buffer with an
// address below 4096, raises IllegalArgumentException as a last guard.
// cross_entropy's targets (int[rows], checked in Java) are copied with
// GetIntArrayRegion (8 KiB for 2048 tokens; no GC pinning during the kernel).
#include <jni.h>
#include <stdlib.h>

#include "lowrank_native.h"

namespace {

float* at(JNIEnv* env, jobject b, jlong off, bool* failed) {
  if (*failed) return nullptr;
  if (b == nullptr) {
    if (off >= 0 && off < 4096) {
      env->ThrowNew(env->FindClass("java/lang/IllegalArgumentException"), "null address");
      *failed = true;
      return nullptr;
    }
    return reinterpret_cast<float*>(static_cast<intptr_t>(off));
  }
  char* p = static_cast<char*>(env->GetDirectBufferAddress(b));
  if (p == nullptr) {
    env->ThrowNew(env->FindClass("java/lang/IllegalArgumentException"), "buffer is not a direct buffer");
    *failed = true;
    return nullptr;
  }
  return reinterpret_cast<float*>(p + off);
}

}  // namespace

#define JNI_FN(name) JNIEXPORT JNICALL Java_io_lowrank_nativekernels_Fused_##name

extern "C" {

void JNI_FN(nSilu)(JNIEnv* env, jclass, jobject h, jlong ho, jobject z, jlong zo, jlong n) {
  bool f = false;
  float* ph = at(env, h, ho, &f);
  float* pz = at(env, z, zo, &f);
  if (!f) lr_silu(ph, pz, n);
}

void JNI_FN(nSiluBackward)(JNIEnv* env, jclass, jobject h, jlong ho, jobject dz, jlong dzo, jobject dh,
                           jlong dho, jlong n) {
  bool f = false;
  float* ph = at(env, h, ho, &f);
  float* pz = at(env, dz, dzo, &f);
  float* pd = at(env, dh, dho, &f);
  if (!f) lr_silu_backward(ph, pz, pd, n);
}

void JNI_FN(nSwiglu)(JNIEnv* env, jclass, jobject g, jlong go, jobject u, jlong uo, jobject out,
                     jlong oo, jlong n, jboolean silu) {
  bool f = false;
  float* pg = at(env, g, go, &f);
  float* pu = at(env, u, uo, &f);
  float* po = at(env, out, oo, &f);
  if (!f) lr_swiglu(pg, pu, po, n, silu ? 1 : 0);
}

void JNI_FN(nSwigluBackward)(JNIEnv* env, jclass, jobject g, jlong go, jobject u, jlong uo,
                             jobject dout, jlong doo, jobject dg, jlong dgo, jobject du, jlong duo,
                             jlong n, jboolean silu) {
  bool f = false;
  float* pg = at(env, g, go, &f);
  float* pu = at(env, u, uo, &f);
  float* pd = at(env, dout, doo, &f);
  float* pdg = at(env, dg, dgo, &f);
  float* pdu = at(env, du, duo, &f);
  if (!f) lr_swiglu_backward(pg, pu, pd, pdg, pdu, n, silu ? 1 : 0);
}

void JNI_FN(nRmsNorm)(JNIEnv* env, jclass, jobject x, jlong xo, jobject w, jlong wo, jdouble eps,
                      jobject out, jlong oo, jobject inv, jlong io, jlong rows, jlong d) {
  bool f = false;
  float* px = at(env, x, xo, &f);
  float* pw = at(env, w, wo, &f);
  float* po = at(env, out, oo, &f);
  float* pi = at(env, inv, io, &f);
  if (!f) lr_rmsnorm(px, pw, eps, po, pi, rows, d);
}

void JNI_FN(nRmsNormBackward)(JNIEnv* env, jclass, jobject x, jlong xo, jobject w, jlong wo,
                              jobject inv, jlong io, jobject dout, jlong doo, jobject dx, jlong dxo,
                              jobject dw, jlong dwo, jlong rows, jlong d) {
  bool f = false;
  float* px = at(env, x, xo, &f);
  float* pw = at(env, w, wo, &f);
  float* pi = at(env, inv, io, &f);
  float* pd = at(env, dout, doo, &f);
  float* pdx = at(env, dx, dxo, &f);
  float* pdw = at(env, dw, dwo, &f);
  if (!f) lr_rmsnorm_backward(px, pw, pi, pd, pdx, pdw, rows, d);
}

jdouble JNI_FN(nCrossEntropy)(JNIEnv* env, jclass, jobject logits, jlong lo, jlong rows, jlong vocab,
                              jintArray targets, jint tOff, jint ignore, jfloat scale) {
  bool f = false;
  float* px = at(env, logits, lo, &f);
  if (f) return 0.0;
  if (rows <= 0) return 0.0;
  int32_t* t = static_cast<int32_t*>(malloc(sizeof(int32_t) * (size_t)rows));
  if (t == nullptr) {
    env->ThrowNew(env->FindClass("java/lang/OutOfMemoryError"), "cross_entropy targets");
    return 0.0;
  }
  env->GetIntArrayRegion(targets, tOff, (jsize)rows, reinterpret_cast<jint*>(t));
  double loss = 0.0;
  if (!env->ExceptionCheck()) loss = lr_cross_entropy(px, rows, vocab, t, ignore, scale);
  free(t);
  return loss;
}

void JNI_FN(nAdamw)(JNIEnv* env, jclass, jobject p, jlong po, jobject g, jlong go, jobject m, jlong mo,
                    jobject v, jlong vo, jlong n, jdouble lr, jdouble b1, jdouble b2, jdouble eps,
                    jdouble wd, jlong step) {
  bool f = false;
  float* pp = at(env, p, po, &f);
  float* pg = at(env, g, go, &f);
  float* pm = at(env, m, mo, &f);
  float* pv = at(env, v, vo, &f);
  if (!f) lr_adamw(pp, pg, pm, pv, n, lr, b1, b2, eps, wd, step);
}

void JNI_FN(nCausalSoftmax)(JNIEnv* env, jclass, jobject p, jlong po, jlong n, jlong ldp) {
  bool f = false;
  float* pp = at(env, p, po, &f);
  if (!f) lr_causal_softmax(pp, n, ldp);
}

void JNI_FN(nCausalSoftmaxBackward)(JNIEnv* env, jclass, jobject p, jlong po, jlong ldp, jobject dp,
                                    jlong dpo, jlong lddp, jlong n) {
  bool f = false;
  float* pp = at(env, p, po, &f);
  float* pd = at(env, dp, dpo, &f);
  if (!f) lr_causal_softmax_backward(pp, ldp, pd, lddp, n);
}

void JNI_FN(nRope)(JNIEnv* env, jclass, jobject x, jlong xo, jobject cos, jlong co, jobject sin, jlong so,
                   jlong rows, jlong seqLen, jlong heads, jlong headDim, jboolean inverse) {
  bool f = false;
  float* px = at(env, x, xo, &f);
  float* pc = at(env, cos, co, &f);
  float* ps = at(env, sin, so, &f);
  if (!f) lr_rope(px, pc, ps, rows, seqLen, heads, headDim, inverse ? 1 : 0);
}

void JNI_FN(nReluSquare)(JNIEnv* env, jclass, jobject x, jlong xo, jobject y, jlong yo, jlong n) {
  bool f = false;
  float* px = at(env, x, xo, &f);
  float* py = at(env, y, yo, &f);
  if (!f) lr_relu_square(px, py, n);
}

void JNI_FN(nReluSquareBackward)(JNIEnv* env, jclass, jobject x, jlong xo, jobject dy, jlong dyo,
                                 jobject dx, jlong dxo, jlong n) {
  bool f = false;
  float* px = at(env, x, xo, &f);
  float* pdy = at(env, dy, dyo, &f);
  float* pdx = at(env, dx, dxo, &f);
  if (!f) lr_relu_square_backward(px, pdy, pdx, n);
}

}  // extern "C"
