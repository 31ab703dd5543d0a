// GPU-side helpers of the check executables (run on the GPU machine only): device buffers,
// a hard-failing CUDA check, and a CUDA-event benchmark with the L2 cache flushed between runs
// (llm.c dev/cuda). Every check prints JSON lines (check_util.h) and exits non-zero on failure.
#pragma once
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>
#include "../kernels/common.cuh"
#include "../host_tests/check_util.h"
#include "../host_tests/reference.h"

#define CK(call)                                                                                       \
    do {                                                                                               \
        cudaError_t e_ = (call);                                                                       \
        if (e_ != cudaSuccess) {                                                                       \
            std::printf("{\"error\":\"%s\",\"at\":\"%s:%d\"}\n", cudaGetErrorString(e_), __FILE__, __LINE__); \
            std::exit(2);                                                                              \
        }                                                                                              \
    } while (0)

template <class T>
struct DevBuf {
    T* p = nullptr;
    size_t n = 0;
    explicit DevBuf(size_t count) : n(count) { CK(cudaMalloc(&p, std::max<size_t>(1, n) * sizeof(T))); }
    DevBuf(const std::vector<T>& h) : DevBuf(h.size()) { up(h); }
    ~DevBuf() { cudaFree(p); }
    DevBuf(const DevBuf&) = delete;
    DevBuf& operator=(const DevBuf&) = delete;
    void up(const std::vector<T>& h) { CK(cudaMemcpy(p, h.data(), h.size() * sizeof(T), cudaMemcpyHostToDevice)); }
    std::vector<T> down() const {
        std::vector<T> h(n);
        CK(cudaDeviceSynchronize());
        CK(cudaMemcpy(h.data(), p, n * sizeof(T), cudaMemcpyDeviceToHost));
        return h;
    }
};

inline bool bench_mode(int argc, char** argv) { return argc > 1 && std::strcmp(argv[1], "bench") == 0; }

/** Median microseconds of `reps` runs of f, each after flushing L2 (a 128 MiB memset). */
template <class F>
double bench_us(F f, int reps = 20) {
    static DevBuf<char> flush(128u << 20);
    cudaEvent_t a, b;
    CK(cudaEventCreate(&a));
    CK(cudaEventCreate(&b));
    std::vector<float> t;
    f();  // warm up
    for (int i = 0; i < reps; i++) {
        CK(cudaMemset(flush.p, i, flush.n));
        CK(cudaEventRecord(a));
        f();
        CK(cudaEventRecord(b));
        CK(cudaEventSynchronize(b));
        float ms;
        CK(cudaEventElapsedTime(&ms, a, b));
        t.push_back(ms * 1000.0f);
    }
    CK(cudaGetLastError());
    CK(cudaEventDestroy(a));
    CK(cudaEventDestroy(b));
    std::sort(t.begin(), t.end());
    return t[t.size() / 2];
}

inline void bench_line(const char* kernel, const char* shape, double us, double bytes) {
    std::printf("{\"kernel\":\"%s\",\"bench\":true,\"shape\":\"%s\",\"median_us\":%.2f,\"GB_per_s\":%.1f}\n", kernel,
                shape, us, bytes / (us * 1e3));
}
