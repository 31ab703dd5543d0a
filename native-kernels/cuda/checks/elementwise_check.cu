// GPU check of the element-wise helpers and the bf16 cast against the host (compiled, not yet
// run on a GPU). "bench" argument: bandwidth of axpy and the cast.
#include "../kernels/elementwise.cuh"
#include "gpu_util.cuh"

int main(int argc, char** argv) {
    uint64_t seed = lrt::fresh_seed();
    lrt::Rng rng(seed);
    lrt::Report rep("elementwise", seed);
    const long long n = 1000003;
    std::vector<float> x = rng.normals(n), y = rng.normals(n), b = rng.normals(n);
    DevBuf<float> dx(x), dy(y), db(b), out(n);
    DevBuf<uint16_t> cast(n);
    lr::add(dx.p, db.p, out.p, n, 0);
    std::vector<double> want(n);
    for (long long i = 0; i < n; i++) want[i] = (double) x[i] + b[i];
    rep.check("add", lrt::rel_err(out.down(), want, n), 1e-7, "1000003");
    lr::axpy(-0.3f, dx.p, dy.p, n, 0);
    for (long long i = 0; i < n; i++) want[i] = (double) y[i] - 0.3 * x[i];
    rep.check("axpy", lrt::rel_err(dy.down(), want, n), 1e-6, "1000003");
    lr::scale(db.p, 1.7f, n, 0);
    for (long long i = 0; i < n; i++) want[i] = 1.7 * b[i];
    rep.check("scale", lrt::rel_err(db.down(), want, n), 1e-6, "1000003");
    lr::fill(out.p, 2.5f, n, 0);
    std::vector<float> o = out.down();
    rep.check("fill (mismatches)", (double) std::count_if(o.begin(), o.end(), [](float v) { return v != 2.5f; }), 0, "1000003");
    lr::cast_bf16(dx.p, cast.p, n, 0);
    std::vector<uint16_t> c = cast.down();
    long bad = 0;
    for (long long i = 0; i < n; i++) bad += c[i] != lr::f32_to_bf16_bits(x[i]);
    rep.check("cast_bf16 = host rounding (mismatches)", (double) bad, 0, "1000003");
    if (bench_mode(argc, argv)) {
        const long long big = 64ll << 20;
        DevBuf<float> bx(big), by(big);
        DevBuf<uint16_t> bc(big);
        bench_line("axpy", "64Mi", bench_us([&] { lr::axpy(0.5f, bx.p, by.p, big, 0); }), 12.0 * big);
        bench_line("cast_bf16", "64Mi", bench_us([&] { lr::cast_bf16(bx.p, bc.p, big, 0); }), 6.0 * big);
    }
    CK(cudaGetLastError());
    return rep.finish();
}
