// GPU check of ELAS's squared ReLU: bit-exact against the double result rounded once (compiled,
// not yet run on a GPU).
#include "../kernels/relu2.cuh"
#include "gpu_util.cuh"

int main(int argc, char** argv) {
    uint64_t seed = lrt::fresh_seed();
    lrt::Rng rng(seed);
    lrt::Report rep("relu2", seed);
    const long long n = 100003;
    std::vector<float> x = rng.normals(n), dy = rng.normals(n);
    x[3] = std::nanf("");
    DevBuf<float> dx_(x), ddy(dy), y(n), dx(n);
    lr::relu_square(dx_.p, y.p, n, 0);
    lr::relu_square_backward(dx_.p, ddy.p, dx.p, n, 0);
    std::vector<float> gy = y.down(), gdx = dx.down();
    long bad = 0;
    for (long long i = 0; i < n; i++) {
        double r = ref::relu(x[i]);
        float wy = (float) (r * r), wd = (float) (2.0 * r * dy[i]);
        bool ny = std::isnan(wy), nd = std::isnan(wd);
        bad += ny ? !std::isnan(gy[i]) : gy[i] != wy;
        bad += nd ? !std::isnan(gdx[i]) : gdx[i] != wd;
    }
    rep.check("relu_square fwd+bwd bit-exact, NaN propagates (mismatches)", (double) bad, 0, "100003");
    if (bench_mode(argc, argv)) {
        const long long big = 8192ll * 2752;
        DevBuf<float> a(big), b(big);
        bench_line("relu_square", "8192x2752", bench_us([&] { lr::relu_square(a.p, b.p, big, 0); }), 8.0 * big);
    }
    CK(cudaGetLastError());
    return rep.finish();
}
