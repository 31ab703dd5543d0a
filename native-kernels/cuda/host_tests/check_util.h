// Test helpers shared by the host tests (g++, ctest) and the GPU checks (nvcc, run on the GPU
// machine): a seeded generator with a FRESH seed per run (printed, LR_SEED=... reproduces it),
// relative errors ||out - ref|| / ||ref||, and one JSON line per check.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <vector>

namespace lrt {

inline uint64_t fresh_seed() {
    const char* s = std::getenv("LR_SEED");
    if (s && *s) return std::strtoull(s, nullptr, 10);
    std::random_device rd;
    return ((uint64_t) rd() << 32) ^ rd();
}

struct Rng {
    std::mt19937_64 g;
    explicit Rng(uint64_t seed) : g(seed) {}
    float normal() { return std::normal_distribution<float>(0.0f, 1.0f)(g); }
    float uniform(float lo, float hi) { return std::uniform_real_distribution<float>(lo, hi)(g); }
    int below(int n) { return (int) (g() % (uint64_t) n); }
    std::vector<float> normals(size_t n, float scale = 1.0f) {
        std::vector<float> v(n);
        for (auto& x : v) x = scale * normal();
        return v;
    }
};

template <class A, class B>
double rel_err(const A& out, const B& ref, size_t n) {
    double num = 0, den = 0;
    for (size_t i = 0; i < n; i++) {
        double d = (double) out[i] - (double) ref[i];
        num += d * d;
        den += (double) ref[i] * (double) ref[i];
    }
    if (den == 0) return num == 0 ? 0.0 : INFINITY;
    return std::sqrt(num / den);
}

/** Counts failures; every check prints one JSON line. */
struct Report {
    const char* kernel;
    uint64_t seed;
    int failures = 0, checks = 0;
    Report(const char* k, uint64_t s) : kernel(k), seed(s) {}
    bool check(const char* what, double err, double bound, const char* shape) {
        bool ok = std::isfinite(err) && err <= bound;
        checks++;
        if (!ok) failures++;
        std::printf("{\"kernel\":\"%s\",\"check\":\"%s\",\"shape\":\"%s\",\"rel_err\":%.3e,\"bound\":%.1e,"
                    "\"seed\":%llu,\"ok\":%s}\n",
                    kernel, what, shape, err, bound, (unsigned long long) seed, ok ? "true" : "false");
        return ok;
    }
    int finish() {
        std::printf("{\"kernel\":\"%s\",\"summary\":true,\"checks\":%d,\"failures\":%d}\n", kernel, checks, failures);
        return failures == 0 ? 0 : 1;
    }
};

}  // namespace lrt
