// GPU check of SwiGLU's gated product and its backward (compiled, not yet run on a GPU).
#include "../kernels/swiglu.cuh"
#include "gpu_util.cuh"

int main(int argc, char** argv) {
    uint64_t seed = lrt::fresh_seed();
    lrt::Rng rng(seed);
    lrt::Report rep("swiglu", seed);
    const long long n = 131 * 347;
    std::vector<float> g = rng.normals(n, 3.0f), u = rng.normals(n), d = rng.normals(n);
    DevBuf<float> dg_(g), du_(u), dd(d), out(n), dg(n), du(n);
    for (int silu_gate = 0; silu_gate < 2; silu_gate++) {
        lr::gated_forward(dg_.p, du_.p, out.p, n, silu_gate, 0);
        lr::gated_backward(dg_.p, du_.p, dd.p, dg.p, du.p, n, silu_gate, 0);
        std::vector<double> ro(n), rg(n), ru(n);
        for (long long i = 0; i < n; i++) {
            double a = silu_gate ? ref::silu(g[i]) : g[i], da = silu_gate ? ref::silu_grad(g[i]) : 1.0;
            ro[i] = a * u[i]; rg[i] = d[i] * u[i] * da; ru[i] = d[i] * a;
        }
        const char* shape = silu_gate ? "131x347 silu" : "131x347 identity";
        rep.check("gated forward", lrt::rel_err(out.down(), ro, n), 1e-6, shape);
        rep.check("gated backward dgate", lrt::rel_err(dg.down(), rg, n), 1e-6, shape);
        rep.check("gated backward dup", lrt::rel_err(du.down(), ru, n), 1e-6, shape);
    }
    if (bench_mode(argc, argv)) {
        const long long big = 8192ll * 2752;
        DevBuf<float> a(big), b(big), c(big), e(big), f(big);
        bench_line("swiglu_forward", "8192x2752", bench_us([&] { lr::gated_forward(a.p, b.p, c.p, big, true, 0); }), 12.0 * big);
        bench_line("swiglu_backward", "8192x2752", bench_us([&] { lr::gated_backward(a.p, b.p, c.p, e.p, f.p, big, true, 0); }), 20.0 * big);
    }
    CK(cudaGetLastError());
    return rep.finish();
}
