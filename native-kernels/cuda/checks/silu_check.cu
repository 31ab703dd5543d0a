// GPU check of CoLA's fused SiLU forward / backward (with the bf16 operand copies) against
// double references (compiled, not yet run on a GPU). "bench": bandwidth at 60m/350m sizes.
#include "../kernels/silu.cuh"
#include "gpu_util.cuh"

int main(int argc, char** argv) {
    uint64_t seed = lrt::fresh_seed();
    lrt::Rng rng(seed);
    lrt::Report rep("silu", seed);
    const long long n = 257 * 129;
    std::vector<float> h = rng.normals(n, 4.0f), dz = rng.normals(n);
    DevBuf<float> dh_(h), ddz(dz), z(n), dh(n);
    DevBuf<uint16_t> zb(n), dhb(n);
    lr::silu_forward(dh_.p, z.p, zb.p, n, 0);
    lr::silu_backward(dh_.p, ddz.p, dh.p, dhb.p, n, 0);
    std::vector<double> rz(n), rdh(n);
    for (long long i = 0; i < n; i++) { rz[i] = ref::silu(h[i]); rdh[i] = dz[i] * ref::silu_grad(h[i]); }
    std::vector<float> gz = z.down(), gdh = dh.down();
    rep.check("silu forward", lrt::rel_err(gz, rz, n), 1e-6, "257x129");
    rep.check("silu backward", lrt::rel_err(gdh, rdh, n), 1e-6, "257x129");
    std::vector<uint16_t> b1 = zb.down(), b2 = dhb.down();
    long bad = 0;
    for (long long i = 0; i < n; i++) bad += (b1[i] != lr::f32_to_bf16_bits(gz[i])) + (b2[i] != lr::f32_to_bf16_bits(gdh[i]));
    rep.check("bf16 copies = rounding of the f32 outputs (mismatches)", (double) bad, 0, "257x129");
    lr::silu_backward(dh_.p, ddz.p, ddz.p, nullptr, n, 0);  // in place over dz
    rep.check("silu backward in place", lrt::rel_err(ddz.down(), rdh, n), 1e-6, "257x129");
    if (bench_mode(argc, argv)) {
        const long long big = 8192ll * 1024;  // 8 x 1024 tokens x rank 1024
        DevBuf<float> a(big), b(big);
        DevBuf<uint16_t> c(big);
        bench_line("silu_forward+bf16", "8192x1024", bench_us([&] { lr::silu_forward(a.p, b.p, c.p, big, 0); }), 10.0 * big);
        bench_line("silu_backward", "8192x1024", bench_us([&] { lr::silu_backward(a.p, b.p, b.p, nullptr, big, 0); }), 12.0 * big);
    }
    CK(cudaGetLastError());
    return rep.finish();
}
