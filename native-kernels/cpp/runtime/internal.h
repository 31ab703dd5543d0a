// Internal declarations shared by the kernel translation units.
//
// Every kernel file (kernels/<name>.cpp) is compiled once per ISA with
// -DLR_ISA=0 (scalar), 1 (AVX2+FMA) and 2 (AVX-512); LR_SUFFIX(name) gives
// the per-ISA symbol. The LR_ISA=0 compilation also holds the slow reference
// and the public C entry point that dispatches on lr_get_isa().
//
// ODR caution: SIMD translation units must not instantiate inline functions
// or templates that other TUs also instantiate (std::min, std::vector, ...),
// because the linker may keep the AVX-512 copy for everyone. Everything in a
// SIMD TU lives in an anonymous namespace except its LR_SUFFIX entry points.
#ifndef LOWRANK_INTERNAL_H
#define LOWRANK_INTERNAL_H

#include <stdint.h>

#include <atomic>
#include "lowrank_native.h"

#ifndef LR_ISA
#define LR_ISA 0
#endif

#if LR_ISA == 2
#define LR_SUFFIX(name) name##_avx512
#elif LR_ISA == 1
#define LR_SUFFIX(name) name##_avx2
#else
#define LR_SUFFIX(name) name##_scalar
#endif

#define LR_DECLARE_ISA_VARIANTS(name, params) \
  void name##_scalar params;                  \
  void name##_avx2 params;                    \
  void name##_avx512 params;

namespace lr {

LR_DECLARE_ISA_VARIANTS(prune24_compress,
                        (const float* x, int64_t ldx, int64_t rows, int64_t cols, float* vals,
                         uint8_t* meta, float* tail))
LR_DECLARE_ISA_VARIANTS(decompress24,
                        (const float* vals, const uint8_t* meta, const float* tail, int64_t rows,
                         int64_t cols, float* y, int64_t ldy))
LR_DECLARE_ISA_VARIANTS(spmm24_nn,
                        (const float* vals, const uint8_t* meta, const float* tail, int64_t rows,
                         int64_t cols, const float* w, int64_t ldw, int64_t n, float beta, float* y,
                         int64_t ldy))
LR_DECLARE_ISA_VARIANTS(spmm24_tn,
                        (const float* vals, const uint8_t* meta, const float* tail, int64_t rows,
                         int64_t cols, const float* g, int64_t ldg, int64_t n, float beta, float* dw,
                         int64_t lddw))

// fused element-wise kernels (kernels/{silu,swiglu,rmsnorm,cross_entropy,adamw,softmax_causal,rope,relu_square}.cpp)
LR_DECLARE_ISA_VARIANTS(silu, (const float* h, float* z, int64_t n))
LR_DECLARE_ISA_VARIANTS(silu_backward, (const float* h, const float* dz, float* dh, int64_t n))
LR_DECLARE_ISA_VARIANTS(swiglu, (const float* g, const float* u, float* out, int64_t n, int silu_on_gate))
LR_DECLARE_ISA_VARIANTS(swiglu_backward,
                        (const float* g, const float* u, const float* dout, float* dg, float* du,
                         int64_t n, int silu_on_gate))
LR_DECLARE_ISA_VARIANTS(rmsnorm,
                        (const float* x, const float* w, double eps, float* out, float* inv_rms,
                         int64_t rows, int64_t d))
LR_DECLARE_ISA_VARIANTS(rmsnorm_backward,
                        (const float* x, const float* w, const float* inv_rms, const float* dout,
                         float* dx, float* dw, int64_t rows, int64_t d, double* partial))
LR_DECLARE_ISA_VARIANTS(cross_entropy,
                        (float* logits, int64_t rows, int64_t vocab, const int32_t* targets,
                         int32_t ignore_index, float grad_scale, double* row_loss))
LR_DECLARE_ISA_VARIANTS(adamw,
                        (float* p, const float* g, float* m, float* v, int64_t n, float b1, float b2,
                         float c1, float c2, float step_size, float inv_bc2_sqrt, float decay,
                         float eps))
LR_DECLARE_ISA_VARIANTS(rope,
                        (float* x, const float* cos, const float* sin, int64_t rows, int64_t seq_len,
                         int64_t heads, int64_t head_dim, int inverse))
LR_DECLARE_ISA_VARIANTS(relu_square, (const float* x, float* y, int64_t n))
LR_DECLARE_ISA_VARIANTS(relu_square_backward, (const float* x, const float* dy, float* dx, int64_t n))
LR_DECLARE_ISA_VARIANTS(causal_softmax, (float* p, int64_t n, int64_t ldp))
LR_DECLARE_ISA_VARIANTS(causal_softmax_backward,
                        (const float* p, int64_t ldp, float* dp, int64_t lddp, int64_t n))

// dense products (kernels/sgemm.cpp). A plain product is one part along n. Along n, the parts
// share op(A) (part[0].a) and each has its own B, C and extent n_g; along k, they share C
// (part[0].c) and each has its own A, B and extent k_g; m and the other extent are the spec's.
struct GemmPart {
  const float* a;
  int64_t lda;
  const float* b;
  int64_t ldb;
  float* c;
  int64_t ldc;
  float* aux;   // the epilogue's matrix (along n only), laid out like c
  int64_t ldaux;
  int64_t extent;
};
struct GemmSpec {
  int trans_a, trans_b;
  bool along_k;
  int64_t m, n, k;   // along n: k; along k: n (the parts' extents give the other)
  float alpha, beta;
  int epilogue;   // LR_SGEMM_EPI_* (along n only)
  int parts;
  GemmPart part[LR_SGEMM_MAX_PARTS];
  int max_threads;
};
// 0, or -1 when a packing buffer could not be allocated
int sgemm_scalar(const GemmSpec& s);
int sgemm_avx2(const GemmSpec& s);
int sgemm_avx512(const GemmSpec& s);
// lr_sgemm_set_a_mode's value (LR_SGEMM_A_*)
extern std::atomic<int> g_sgemm_a_mode;

// rmsnorm_backward: rows per dWeight partial sum. Fixed (not per thread) so that
// the result does not depend on the thread count.
constexpr int64_t kRmsChunk = 64;

// Threads to use for a kernel doing about `work` multiply-adds / element ops:
// small problems run on the calling thread (thread start-up would dominate).
int threads_for(double work);

// Metadata helpers (same tables everywhere). Nibble = meta & 15.
//   kNibKeep[nib]  : 4-bit keep mask (1<<i0)|(1<<i1)
//   kKeepMeta[keep]: meta byte for a 4-bit keep mask with exactly 2 bits set
//                    (other masks map to 0, never produced by the kernels)
//   kNibClass[nib] : pair class 0..5 of (i0,i1), or 6 for an invalid nibble
//   kClassPair[c]  : (i0, i1) of class c
extern const uint8_t kNibKeep[16];
extern const uint8_t kKeepMeta[16];
extern const uint8_t kNibClass[16];
extern const uint8_t kClassPair[6][2];

}  // namespace lr

#endif
