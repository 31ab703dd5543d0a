// ELAS 2:4 activation sparsity on the GPU, in the CPU kernels' compressed layout (S24, see
// native-kernels/README.md): for X [rows, cols], G = cols/4 groups, T = cols%4 tail columns,
//   vals [rows, 2G] (kept values, lower column first), meta [rows, G] bytes (bits 0-1 = i0,
//   bits 2-3 = i1, i0 < i1), tail [rows, T] dense.
// Selection: the two largest |x| compared as IEEE bits with the sign cleared (-0 == +0, NaN
// above +inf), ties to the lower index. Own prune+compress kernel: one thread per group
// (cuSPARSELt's compress is too slow to run every step, spec/gpu.md).
// Products: spmm24_nn Y = S W + beta Y and spmm24_tn dW = S^T G + beta dW, one thread per output
// element over the compressed operand: the simple, correct kernel. The fast path (cuSPARSELt,
// whose compressed format differs) is not written yet; the dense fallback is decompress24 and a
// dense cuBLASLt product.
#pragma once
#include "common.cuh"

namespace lr {

LR_HD uint32_t abs_key(float x) { return f32_bits(x) & 0x7FFFFFFFu; }

/** Kept positions of one group of 4: meta byte i0 | i1 << 2, i0 < i1. */
LR_HD uint8_t prune24_select(float x0, float x1, float x2, float x3) {
    uint32_t k[4] = {abs_key(x0), abs_key(x1), abs_key(x2), abs_key(x3)};
    int a = 0;
    for (int q = 1; q < 4; q++)
        if (k[q] > k[a]) a = q;  // strict: ties keep the lower index
    int b = a == 0 ? 1 : 0;
    for (int q = b + 1; q < 4; q++)
        if (q != a && k[q] > k[b]) b = q;
    int i0 = a < b ? a : b, i1 = a < b ? b : a;
    return (uint8_t) (i0 | (i1 << 2));
}

/** Group g of row r: writes the 2 kept values and the meta byte. */
LR_HD void prune24_group(const float* x_row, int g, float* vals_row, uint8_t* meta_row) {
    const float* p = x_row + 4 * g;
    uint8_t m = prune24_select(p[0], p[1], p[2], p[3]);
    meta_row[g] = m;
    vals_row[2 * g] = p[m & 3];
    vals_row[2 * g + 1] = p[(m >> 2) & 3];
}

/** Entry (r, c) of the dense matrix the compressed row represents. */
LR_HD float sparse24_entry(const float* vals_row, const uint8_t* meta_row, const float* tail_row, int G, int c) {
    int g = c / 4;
    if (g >= G) return tail_row[c - 4 * G];
    int q = c % 4, m = meta_row[g];
    if ((m & 3) == q) return vals_row[2 * g];
    if (((m >> 2) & 3) == q) return vals_row[2 * g + 1];
    return 0.0f;
}

/** Y[r, j] of S W for one row: the sum over the kept entries of the row, in column order. */
LR_HD float spmm24_row_dot(const float* vals_row, const uint8_t* meta_row, const float* tail_row, int G, int T,
                           const float* w, long long ldw, int j) {
    float s = 0.0f;
    for (int g = 0; g < G; g++) {
        int m = meta_row[g];
        s += vals_row[2 * g] * w[(long long) (4 * g + (m & 3)) * ldw + j];
        s += vals_row[2 * g + 1] * w[(long long) (4 * g + ((m >> 2) & 3)) * ldw + j];
    }
    for (int q = 0; q < T; q++) s += tail_row[q] * w[(long long) (4 * G + q) * ldw + j];
    return s;
}

}  // namespace lr

#if LR_DEVICE_CODE
namespace lr {

// One thread per group or tail column of a row: items per row = G + T.
__global__ void prune24_kernel(const float* x, float* vals, uint8_t* meta, float* tail, int rows, int cols) {
    int G = cols / 4, T = cols % 4;
    long long k = blockIdx.x * (long long) blockDim.x + threadIdx.x;
    if (k >= (long long) rows * (G + T)) return;
    int r = (int) (k / (G + T)), g = (int) (k % (G + T));
    const float* xr = x + (long long) r * cols;
    if (g < G) prune24_group(xr, g, vals + (long long) r * 2 * G, meta + (long long) r * G);
    else tail[(long long) r * T + (g - G)] = xr[4 * G + (g - G)];
}

__global__ void decompress24_kernel(const float* vals, const uint8_t* meta, const float* tail, float* x, int rows, int cols) {
    int G = cols / 4, T = cols % 4;
    long long k = blockIdx.x * (long long) blockDim.x + threadIdx.x;
    if (k >= (long long) rows * cols) return;
    int r = (int) (k / cols), c = (int) (k % cols);
    x[k] = sparse24_entry(vals + (long long) r * 2 * G, meta + (long long) r * G, tail + (long long) r * T, G, c);
}

__global__ void spmm24_nn_kernel(const float* vals, const uint8_t* meta, const float* tail, const float* w, float* y,
                                 int rows, int cols, int n, float beta) {
    int G = cols / 4, T = cols % 4;
    long long k = blockIdx.x * (long long) blockDim.x + threadIdx.x;
    if (k >= (long long) rows * n) return;
    int r = (int) (k / n), j = (int) (k % n);
    float s = spmm24_row_dot(vals + (long long) r * 2 * G, meta + (long long) r * G, tail + (long long) r * T, G, T, w, n, j);
    y[k] = beta == 0.0f ? s : s + beta * y[k];
}

__global__ void spmm24_tn_kernel(const float* vals, const uint8_t* meta, const float* tail, const float* gmat, float* dw,
                                 int rows, int cols, int n, float beta) {
    int G = cols / 4, T = cols % 4;
    long long k = blockIdx.x * (long long) blockDim.x + threadIdx.x;
    if (k >= (long long) cols * n) return;
    int c = (int) (k / n), j = (int) (k % n);
    float s = 0.0f;
    for (int r = 0; r < rows; r++)
        s += sparse24_entry(vals + (long long) r * 2 * G, meta + (long long) r * G, tail + (long long) r * T, G, c) *
             gmat[(long long) r * n + j];
    dw[k] = beta == 0.0f ? s : s + beta * dw[k];
}

inline void prune24(const float* x, float* vals, uint8_t* meta, float* tail, int rows, int cols, cudaStream_t st) {
    long long items = (long long) rows * (cols / 4 + cols % 4);
    if (items > 0) prune24_kernel<<<ceil_div(items, 256), 256, 0, st>>>(x, vals, meta, tail, rows, cols);
}
inline void decompress24(const float* vals, const uint8_t* meta, const float* tail, float* x, int rows, int cols,
                         cudaStream_t st) {
    long long items = (long long) rows * cols;
    if (items > 0) decompress24_kernel<<<ceil_div(items, 256), 256, 0, st>>>(vals, meta, tail, x, rows, cols);
}
/** Y [rows, n] = S W + beta Y, W [cols, n]; beta = 0 does not read Y. */
inline void spmm24_nn(const float* vals, const uint8_t* meta, const float* tail, const float* w, float* y, int rows,
                      int cols, int n, float beta, cudaStream_t st) {
    long long items = (long long) rows * n;
    if (items > 0) spmm24_nn_kernel<<<ceil_div(items, 256), 256, 0, st>>>(vals, meta, tail, w, y, rows, cols, n, beta);
}
/** dW [cols, n] = S^T G + beta dW, G [rows, n]; beta = 0 does not read dW. */
inline void spmm24_tn(const float* vals, const uint8_t* meta, const float* tail, const float* g, float* dw, int rows,
                      int cols, int n, float beta, cudaStream_t st) {
    long long items = (long long) cols * n;
    if (items > 0) spmm24_tn_kernel<<<ceil_div(items, 256), 256, 0, st>>>(vals, meta, tail, g, dw, rows, cols, n, beta);
}

}  // namespace lr
#endif
