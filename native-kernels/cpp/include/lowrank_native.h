/*
 * lowrank_native: CPU kernels for ELAS 2:4 activation sparsity (methods.md §6).
 *
 * ---------------------------------------------------------------------------
 * The 2:4 compressed layout ("S24") of a dense row-major matrix X[rows, cols]
 * (a row = one token, a column = one feature):
 *
 *   G = cols / 4        full groups of 4 consecutive features per row
 *   T = cols % 4        tail features per row (kept dense, never pruned)
 *
 *   vals[rows, 2*G]  float32, contiguous. Row r, group g: vals[r*2G + 2g + 0]
 *                    is the kept value with the LOWER feature index,
 *                    vals[r*2G + 2g + 1] the one with the HIGHER index
 *                    (kept values are in feature order).
 *   meta[rows, G]    uint8, contiguous, ONE BYTE PER GROUP:
 *                      bits 0-1 = i0, bits 2-3 = i1, bits 4-7 = 0,
 *                    where 0 <= i0 < i1 <= 3 are the positions of the two kept
 *                    features inside the group (features 4g+i0 and 4g+i1).
 *                    So the byte is one of 0x04,0x08,0x0C,0x09,0x0D,0x0E.
 *   tail[rows, T]    float32, contiguous, the last T features of every row,
 *                    copied unchanged (may be NULL when T == 0).
 *
 * Selection rule (prune24_compress): in each group keep the two features of
 * largest magnitude. Magnitude order is the order of the IEEE-754 bit pattern
 * with the sign bit cleared, i.e. |x| for ordinary numbers, -0 == +0, and a
 * NaN counts as larger than +inf. Ties go to the LOWER index. This is a total
 * order, so exactly two features are kept in every group, deterministically,
 * identically in every code path (reference, scalar, AVX2, AVX-512, Java).
 *
 * Kernels only look at bits 0-3 of a metadata byte, so any byte is memory-safe;
 * bytes not produced by prune24_compress (i0 >= i1) give unspecified values.
 *
 * Dense operands are row-major with a leading dimension (elements between the
 * starts of consecutive rows, >= the row width). Compressed operands are
 * always contiguous as above. Pointers must not alias outputs.
 *
 * beta: Y = beta*Y + product. beta == 0 overwrites Y without reading it
 * (BLAS convention: NaN/Inf already in Y do not propagate); beta == 1 is the
 * accumulate variant.
 * ---------------------------------------------------------------------------
 */
#ifndef LOWRANK_NATIVE_H
#define LOWRANK_NATIVE_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define LR_API __attribute__((visibility("default")))

/* Instruction-set levels of the fast paths. */
#define LR_ISA_SCALAR 0 /* portable C++ (compiler-vectorised SSE2 at most) */
#define LR_ISA_AVX2 1   /* AVX2 + FMA */
#define LR_ISA_AVX512 2 /* AVX-512 F/BW/VL/DQ/VBMI2 + FMA */

/* Best ISA this CPU supports (runtime check via __builtin_cpu_supports). */
LR_API int lr_cpu_isa(void);
/* ISA the dispatcher currently uses. Defaults to lr_cpu_isa(), or to the value
 * of the environment variable LOWRANK_ISA (scalar|avx2|avx512) if lower. */
LR_API int lr_get_isa(void);
/* Force a lower ISA (tests, benchmarks). Clamped to lr_cpu_isa(); returns the
 * ISA now in use. */
LR_API int lr_set_isa(int isa);
LR_API const char* lr_isa_name(int isa);

/* OpenMP thread count used by all kernels (process-wide, not per calling
 * thread). Default: omp_get_max_threads() at load time (OMP_NUM_THREADS).
 * n < 1 is treated as 1. */
LR_API void lr_set_num_threads(int n);
LR_API int lr_get_num_threads(void);

LR_API const char* lr_version(void);

/* Dense X[rows, cols] (leading dim ldx) -> vals, meta, tail. */
LR_API void lr_prune24_compress(const float* x, int64_t ldx, int64_t rows, int64_t cols,
                                float* vals, uint8_t* meta, float* tail);

/* vals, meta, tail -> dense Y[rows, cols] (leading dim ldy); pruned = 0. */
LR_API void lr_decompress24(const float* vals, const uint8_t* meta, const float* tail,
                            int64_t rows, int64_t cols, float* y, int64_t ldy);

/* Y[rows, n] = beta*Y + S[rows, cols] . W[cols, n]. W leading dim ldw. */
LR_API void lr_spmm24_nn(const float* vals, const uint8_t* meta, const float* tail,
                         int64_t rows, int64_t cols, const float* w, int64_t ldw, int64_t n,
                         float beta, float* y, int64_t ldy);

/* dW[cols, n] = beta*dW + S^T[cols, rows] . G[rows, n]. */
LR_API void lr_spmm24_tn(const float* vals, const uint8_t* meta, const float* tail,
                         int64_t rows, int64_t cols, const float* g, int64_t ldg, int64_t n,
                         float beta, float* dw, int64_t lddw);

/* ---------------------------------------------------------------------------
 * Fused float32 element-wise kernels of the training step (the float32 fast
 * paths of the worker's FloatKernels, same equations). Contiguous operands of
 * n elements / [rows, d] row-major. An output may be the same pointer as an
 * input where noted ("in place"); otherwise outputs must not overlap inputs.
 * exp is the Cephes expf polynomial (~1 ulp, +inf above 88.376, 0 below
 * -87.337). Results do not depend on the thread count.
 * ------------------------------------------------------------------------- */

/* z = h * sigmoid(h). In place (z == h) allowed. */
LR_API void lr_silu(const float* h, float* z, int64_t n);
/* dh = dz * s (1 + h (1 - s)), s = sigmoid(h). dh may be h or dz. */
LR_API void lr_silu_backward(const float* h, const float* dz, float* dh, int64_t n);
/* SwiGLU gated product: out = act(g) * u, act = SiLU (silu_on_gate != 0) or identity.
 * out may be g or u. */
LR_API void lr_swiglu(const float* g, const float* u, float* out, int64_t n, int silu_on_gate);
/* Backward: du = dout * act(g), dg = dout * u * act'(g). dg, du distinct; each may
 * alias dout. */
LR_API void lr_swiglu_backward(const float* g, const float* u, const float* dout, float* dg,
                               float* du, int64_t n, int silu_on_gate);
/* RMSNorm over rows of x[rows, d]: inv_rms[r] = 1/sqrt(mean(x_r^2) + eps) (sum of
 * squares in double), out = w * (x * inv_rms). */
LR_API void lr_rmsnorm(const float* x, const float* w, double eps, float* out, float* inv_rms,
                       int64_t rows, int64_t d);
/* Backward: dx = inv (dout w - xhat mean_j(dout w xhat)) (writes), xhat = x inv;
 * dw += sum_rows dout * xhat (accumulates; the sum in double). */
LR_API void lr_rmsnorm_backward(const float* x, const float* w, const float* inv_rms,
                                const float* dout, float* dx, float* dw, int64_t rows, int64_t d);
/* Cross-entropy over logits[rows, vocab] against targets (0 <= t < vocab, or
 * ignore_index: that row's loss is 0 and its gradient row 0). Replaces the
 * logits in place by grad_scale * (softmax - onehot(t)) and returns the sum of
 * the rows' -log softmax[t] (double). The target's entry is computed as
 * -grad_scale * (S - e_t) / S in double (S = sum of the row's exps), without
 * the cancellation of softmax_t - 1 when softmax_t ~ 1. The caller checked
 * every target. */
LR_API double lr_cross_entropy(float* logits, int64_t rows, int64_t vocab, const int32_t* targets,
                               int32_t ignore_index, float grad_scale);
/* AdamW step `step` >= 1 (PyTorch torch.optim.AdamW; the worker's AdamW/FloatKernels):
 *   m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g^2;
 *   p = p (1 - lr wd) - (lr / (1 - b1^step)) m / (sqrt(v) / sqrt(1 - b2^step) + eps). */
LR_API void lr_adamw(float* p, const float* g, float* m, float* v, int64_t n, double lr,
                     double beta1, double beta2, double eps, double weight_decay, int64_t step);
/* Attention probabilities of one (batch, head): row i of the [n, n] block p
 * (leading dim ldp) becomes softmax over columns 0..i, columns > i become 0.
 * Runs on the calling thread (the worker calls it from its own threads, one
 * head each). */
LR_API void lr_causal_softmax(float* p, int64_t n, int64_t ldp);
/* Its backward, in place over dp: dp_ij = p_ij (dp_ij - sum_k dp_ik p_ik) for
 * j <= i, 0 above. Calling thread only. */
LR_API void lr_causal_softmax_backward(const float* p, int64_t ldp, float* dp, int64_t lddp,
                                       int64_t n);

/* Rotary position embedding in place over x[rows, heads * head_dim] (row-major,
 * contiguous), the rotate-half (GPT-NeoX / Hugging Face LLaMA) form: row r is
 * position t = r % seq_len; in every head, for i < half = head_dim / 2, with
 * c = cos[t * half + i], s = sign * sin[t * half + i] (cos, sin: [seq_len, half]
 * contiguous; sign = -1 if inverse else +1):
 *   x1 = x[h*hd + i], x2 = x[h*hd + half + i];
 *   x[h*hd + i] = x1 c - x2 s;  x[h*hd + half + i] = x2 c + x1 s.
 * inverse != 0 rotates by the opposite angle: the backward of the forward
 * (R(-a) = R(a)^T). head_dim is even (the caller checked), seq_len >= 1. */
LR_API void lr_rope(float* x, const float* cos, const float* sin, int64_t rows, int64_t seq_len,
                    int64_t heads, int64_t head_dim, int inverse);
/* ELAS squared ReLU: y = max(x, 0)^2. In place (y == x) allowed. A NaN in x
 * gives NaN (as Java's Math.max). */
LR_API void lr_relu_square(const float* x, float* y, int64_t n);
/* Backward: dx = 2 max(x, 0) dy. dx may be x or dy. */
LR_API void lr_relu_square_backward(const float* x, const float* dy, float* dx, int64_t n);
/* Dense product C[m, n] = alpha * op(A)[m, k] . op(B)[k, n] + beta * C,
 * row-major with leading dimensions: cblas_sgemm(CblasRowMajor, ...) with
 * trans_a/trans_b != 0 for Trans. op(A) = A [m, k] (lda >= k) or A^T with A
 * [k, m] (lda >= m); likewise B. beta == 0 does not read C. Runs on up to
 * max_threads threads (<= 0: the lr_set_num_threads count); 1 never starts
 * an OpenMP region, so it may be called from several threads at once.
 * Returns 0, or -1 when its per-thread packing buffers (~1-2 MiB, allocated
 * once per thread) could not be allocated (C is then unspecified). */
LR_API int lr_sgemm(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                    const float* a, int64_t lda, const float* b, int64_t ldb, float beta, float* c,
                    int64_t ldc, int max_threads);
/* lr_sgemm with an epilogue on the finished C (after alpha and beta), for
 * CoLA's bottleneck, with the bits of the separate lr_silu / lr_silu_backward:
 * LR_SGEMM_EPI_SILU: also writes aux = SiLU(C) (h = x A and z = SiLU(h));
 * LR_SGEMM_EPI_SILU_GRAD: C = (product) * SiLU'(aux), aux read (dh = (dy B^T)
 * * SiLU'(h)). aux [m, n] with ldaux >= n must not overlap C; NONE ignores it. */
#define LR_SGEMM_EPI_NONE 0
#define LR_SGEMM_EPI_SILU 1
#define LR_SGEMM_EPI_SILU_GRAD 2
LR_API int lr_sgemm_ep(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                       const float* a, int64_t lda, const float* b, int64_t ldb, float beta, float* c,
                       int64_t ldc, int epilogue, float* aux, int64_t ldaux, int max_threads);
/* Grouped products, for projections that share an input (q/k/v, gate/up):
 * one call instead of `parts` (at most LR_SGEMM_MAX_PARTS), every part in the
 * same blocks, so the shared operand is read once per block for all parts.
 * lr_sgemm_shared_a: C_g[m, n_g] = alpha op(A)[m, k] op(B_g)[k, n_g] + beta C_g
 *   for g < parts (b[g], ldb[g], c[g], ldc[g], n[g]), with the epilogue on
 *   each part (aux[g], ldaux[g]; both may be NULL for LR_SGEMM_EPI_NONE).
 * lr_sgemm_sum_k: C[m, n] = alpha sum_g op(A_g)[m, k_g] op(B_g)[k_g, n] + beta C
 *   (a[g], lda[g], b[g], ldb[g], k[g]); C is written once per KC of the summed k.
 * Contracts otherwise as lr_sgemm's; returns 0, -1 (packing buffers) or -2
 * (parts outside 1..LR_SGEMM_MAX_PARTS, a negative extent, an unknown epilogue). */
#define LR_SGEMM_MAX_PARTS 8
LR_API int lr_sgemm_shared_a(int trans_a, int trans_b, int64_t m, int64_t k, float alpha,
                             const float* a, int64_t lda, int parts, const int64_t* n,
                             const float* const* b, const int64_t* ldb, float beta,
                             float* const* c, const int64_t* ldc, int epilogue, float* const* aux,
                             const int64_t* ldaux, int max_threads);
LR_API int lr_sgemm_sum_k(int trans_a, int trans_b, int64_t m, int64_t n, int parts,
                          const int64_t* k, float alpha, const float* const* a,
                          const int64_t* lda, const float* const* b, const int64_t* ldb,
                          float beta, float* c, int64_t ldc, int max_threads);
/* How lr_sgemm reads op(A) (tests, benchmarks): AUTO is the library's choice
 * (at present in place for every product), PACKED always copies it into
 * micro-panels first, IN_PLACE reads it where it lies. Any other value means
 * AUTO; returns the mode now in use. Default: AUTO, or
 * LOWRANK_SGEMM_A=packed|in_place from the environment at load time. */
#define LR_SGEMM_A_AUTO 0
#define LR_SGEMM_A_PACKED 1
#define LR_SGEMM_A_IN_PLACE 2
LR_API int lr_sgemm_set_a_mode(int mode);

/* The slow, obvious references (single-threaded, double accumulation for the
 * products). Same contracts as above; used by the tests and benches. */
LR_API void lr_ref_prune24_compress(const float* x, int64_t ldx, int64_t rows, int64_t cols,
                                    float* vals, uint8_t* meta, float* tail);
LR_API void lr_ref_decompress24(const float* vals, const uint8_t* meta, const float* tail,
                                int64_t rows, int64_t cols, float* y, int64_t ldy);
LR_API void lr_ref_spmm24_nn(const float* vals, const uint8_t* meta, const float* tail,
                             int64_t rows, int64_t cols, const float* w, int64_t ldw, int64_t n,
                             float beta, float* y, int64_t ldy);
LR_API void lr_ref_spmm24_tn(const float* vals, const uint8_t* meta, const float* tail,
                             int64_t rows, int64_t cols, const float* g, int64_t ldg, int64_t n,
                             float beta, float* dw, int64_t lddw);
LR_API void lr_ref_sgemm(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                         const float* a, int64_t lda, const float* b, int64_t ldb, float beta,
                         float* c, int64_t ldc);

/* Fused kernels' references: the same equations in double precision on the
 * float inputs (exp = libm exp), single-threaded; outputs rounded to float.
 * Used by the C++ tests. */
LR_API void lr_ref_silu(const float* h, float* z, int64_t n);
LR_API void lr_ref_silu_backward(const float* h, const float* dz, float* dh, int64_t n);
LR_API void lr_ref_swiglu(const float* g, const float* u, float* out, int64_t n, int silu_on_gate);
LR_API void lr_ref_swiglu_backward(const float* g, const float* u, const float* dout, float* dg,
                                   float* du, int64_t n, int silu_on_gate);
LR_API void lr_ref_rmsnorm(const float* x, const float* w, double eps, float* out, float* inv_rms,
                           int64_t rows, int64_t d);
LR_API void lr_ref_rmsnorm_backward(const float* x, const float* w, const float* inv_rms,
                                    const float* dout, float* dx, float* dw, int64_t rows, int64_t d);
LR_API double lr_ref_cross_entropy(float* logits, int64_t rows, int64_t vocab,
                                   const int32_t* targets, int32_t ignore_index, float grad_scale);
LR_API void lr_ref_adamw(float* p, const float* g, float* m, float* v, int64_t n, double lr,
                         double beta1, double beta2, double eps, double weight_decay, int64_t step);
LR_API void lr_ref_causal_softmax(float* p, int64_t n, int64_t ldp);
LR_API void lr_ref_causal_softmax_backward(const float* p, int64_t ldp, float* dp, int64_t lddp,
                                           int64_t n);
LR_API void lr_ref_rope(float* x, const float* cos, const float* sin, int64_t rows, int64_t seq_len,
                        int64_t heads, int64_t head_dim, int inverse);
LR_API void lr_ref_relu_square(const float* x, float* y, int64_t n);
LR_API void lr_ref_relu_square_backward(const float* x, const float* dy, float* dx, int64_t n);

#ifdef __cplusplus
}
#endif
#endif
