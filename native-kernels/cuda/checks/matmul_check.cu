// GPU check of the cuBLASLt wrapper (compiled, not yet run on a GPU): every transpose pair with
// odd sizes, strided views (leading dimensions wider than the rows), beta accumulation,
// strided-batched products, f32 with TF32 off (a 1e-5 bound that TF32's 10-bit mantissa would
// miss) and bf16 operands with f32 accumulation (references on the bf16-rounded inputs).
// "bench": TFLOP/s of square and CoLA-shaped products in f32 and bf16.
#include "../kernels/matmul.cuh"
#include "../kernels/elementwise.cuh"
#include "gpu_util.cuh"

static lr::Matmul mm;

static int run_case(lrt::Report& rep, lrt::Rng& rng, lr::Precision prec, bool ta, bool tb, int m, int n, int k,
                    int pad, int batch, float beta) {
    // stored shapes: A is [m,k] (or [k,m] if ta), B is [k,n] (or [n,k]); pad extra columns
    int ar = ta ? k : m, ac = ta ? m : k, br = tb ? n : k, bc = tb ? k : n;
    int lda = ac + pad, ldb = bc + pad, ldc = n + pad;
    long long sa = (long long) ar * lda + 3, sb = (long long) br * ldb + 5, sc = (long long) m * ldc + 7;
    std::vector<float> a = rng.normals(sa * batch), b = rng.normals(sb * batch), c = rng.normals(sc * batch);
    if (prec == lr::Precision::BF16) {
        for (auto& v : a) v = lr::round_bf16(v);
        for (auto& v : b) v = lr::round_bf16(v);
    }
    DevBuf<float> da(a), db(b), dc(c);
    DevBuf<uint16_t> ha(a.size()), hb(b.size());
    const void* pa = da.p;
    const void* pb = db.p;
    if (prec == lr::Precision::BF16) {
        lr::cast_bf16(da.p, ha.p, (long long) a.size(), 0);
        lr::cast_bf16(db.p, hb.p, (long long) b.size(), 0);
        pa = ha.p;
        pb = hb.p;
    }
    char err[512] = {0};
    int s = lr::matmul(&mm, prec, ta, tb, m, n, k, 1.0f, pa, lda, sa, pb, ldb, sb, beta, dc.p, ldc, sc, batch, 0, err,
                       sizeof err);
    char shape[160];
    std::snprintf(shape, sizeof shape, "%s m%d n%d k%d tA%d tB%d pad%d batch%d beta%.1f",
                  prec == lr::Precision::BF16 ? "bf16" : "f32", m, n, k, ta, tb, pad, batch, beta);
    if (s != 0) {
        std::printf("{\"kernel\":\"matmul\",\"error\":\"%s\"}\n", err);
        return rep.check("matmul call", INFINITY, 0, shape);
    }
    std::vector<float> got = dc.down();
    std::vector<double> want, out;
    for (int q = 0; q < batch; q++) {
        std::vector<double> r((size_t) m * n);
        ref::gemm(ta, tb, m, n, k, &a[q * sa], lda, &b[q * sb], ldb, r.data(), n);
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++) {
                want.push_back(r[(size_t) i * n + j] + beta * c[q * sc + (long long) i * ldc + j]);
                out.push_back(got[q * sc + (long long) i * ldc + j]);
            }
    }
    // untouched padding stays untouched
    long bad = 0;
    for (int q = 0; q < batch; q++)
        for (int i = 0; i < m; i++)
            for (int j = n; j < ldc; j++) bad += got[q * sc + (long long) i * ldc + j] != c[q * sc + (long long) i * ldc + j];
    rep.check("padding of C untouched (changed)", (double) bad, 0, shape);
    return rep.check("matmul", lrt::rel_err(out, want, out.size()), 1e-5, shape);
}

int main(int argc, char** argv) {
    uint64_t seed = lrt::fresh_seed();
    lrt::Rng rng(seed);
    lrt::Report rep("matmul", seed);
    char err[1024] = {0};
    if (lr::matmul_init(&mm, err, sizeof err) != 0) {
        std::printf("{\"kernel\":\"matmul\",\"error\":\"%s\"}\n", err);
        return 2;
    }
    std::printf("{\"kernel\":\"matmul\",\"cublaslt\":\"%s\",\"version\":%zu}\n", mm.api.path, mm.api.GetVersion());
    for (int p = 0; p < 2; p++) {
        lr::Precision prec = p ? lr::Precision::BF16 : lr::Precision::F32;
        for (int ta = 0; ta < 2; ta++)
            for (int tb = 0; tb < 2; tb++) run_case(rep, rng, prec, ta, tb, 67, 45, 131, 0, 1, 0.0f);
        run_case(rep, rng, prec, false, true, 33, 29, 71, 5, 1, 0.5f);   // strided views + beta
        run_case(rep, rng, prec, true, false, 17, 23, 257, 3, 7, 1.0f);  // batched + accumulate
        run_case(rep, rng, prec, false, false, 1, 1, 1, 0, 1, 0.0f);
    }
    if (bench_mode(argc, argv)) {
        const int shapes[][3] = {{8192, 4096, 4096}, {8192, 256, 1024}, {8192, 1024, 256}, {8192, 2752, 1024}};
        for (auto& sh : shapes)
            for (int p = 0; p < 2; p++) {
                int M = sh[0], N = sh[1], K = sh[2];
                lr::Precision prec = p ? lr::Precision::BF16 : lr::Precision::F32;
                size_t el = p ? 2 : 4;
                DevBuf<char> A((size_t) M * K * el), B((size_t) K * N * el);
                DevBuf<float> C((size_t) M * N);
                CK(cudaMemset(A.p, 0, A.n));
                CK(cudaMemset(B.p, 0, B.n));
                double us = bench_us([&] { lr::matmul(&mm, prec, false, false, M, N, K, 1.0f, A.p, K, 0, B.p, N, 0, 0.0f, C.p, N, 0, 1, 0, err, sizeof err); });
                std::printf("{\"kernel\":\"matmul\",\"bench\":true,\"precision\":\"%s\",\"shape\":\"%dx%dx%d\",\"median_us\":%.1f,\"TFLOP_per_s\":%.1f}\n",
                            p ? "bf16" : "f32", M, N, K, us, 2.0 * M * N * K / (us * 1e6));
            }
    }
    CK(cudaGetLastError());
    lr::matmul_destroy(&mm);
    return rep.finish();
}
