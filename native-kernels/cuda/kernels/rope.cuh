// Rotary embedding in place on x [rows, heads * hd], row r at position r % seq_len, rotate-half
// pairs (i, hd/2 + i) turned by the angle of table entry [pos, i] (cos/sin [seq_len, hd/2]);
// inverse turns by the opposite angle (the backward).
#pragma once
#include "common.cuh"

namespace lr {

LR_HD void rope_pair(float x0, float x1, float c, float s, bool inverse, float* y0, float* y1) {
    if (inverse) s = -s;
    *y0 = x0 * c - x1 * s;
    *y1 = x0 * s + x1 * c;
}

/** The pair (i, hd/2 + i) of head h of row r, for flat work item k over rows * heads * hd/2. */
LR_HD void rope_apply_item(float* x, const float* cos_t, const float* sin_t, long long k, int seq_len, int heads,
                           int hd, bool inverse) {
    int half = hd / 2;
    int i = (int) (k % half);
    long long rh = k / half;
    int h = (int) (rh % heads);
    long long r = rh / heads;
    int pos = (int) (r % seq_len);
    float* p = x + r * (long long) heads * hd + (long long) h * hd;
    float y0, y1;
    rope_pair(p[i], p[half + i], cos_t[(long long) pos * half + i], sin_t[(long long) pos * half + i], inverse, &y0, &y1);
    p[i] = y0;
    p[half + i] = y1;
}

}  // namespace lr

#if LR_DEVICE_CODE
namespace lr {

__global__ void rope_kernel(float* x, const float* cos_t, const float* sin_t, long long items, int seq_len, int heads,
                            int hd, bool inverse) {
    long long k = blockIdx.x * (long long) blockDim.x + threadIdx.x;
    if (k < items) rope_apply_item(x, cos_t, sin_t, k, seq_len, heads, hd, inverse);
}
inline void rope(float* x, const float* cos_t, const float* sin_t, long long rows, int seq_len, int heads, int hd,
                 bool inverse, cudaStream_t st) {
    long long items = rows * heads * (hd / 2);
    if (items > 0) rope_kernel<<<ceil_div(items, 256), 256, 0, st>>>(x, cos_t, sin_t, items, seq_len, heads, hd, inverse);
}

}  // namespace lr
#endif
