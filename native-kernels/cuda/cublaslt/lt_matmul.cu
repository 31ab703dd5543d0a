// The cuBLASLt loader (dlopen + dlsym over the documented search path) and the one product
// wrapper of kernels/matmul.cuh. Compiled here; run only on the GPU machine (matmul_check).
#include <dlfcn.h>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>
#include "../kernels/matmul.cuh"

namespace lt {

static std::string python_nvidia_dir() {
    // pip's wheels: <site-packages>/nvidia/{cu13,cublas}/lib; ask python3 where nvidia lives
    FILE* f = popen("python3 -c 'import nvidia, os; print(os.path.dirname(nvidia.__path__[0]))' 2>/dev/null", "r");
    if (!f) return "";
    char buf[1024] = {0};
    std::string out = fgets(buf, sizeof buf, f) ? std::string(buf) : std::string();
    pclose(f);
    while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
    return out;
}

template <class F>
static bool sym(void* lib, const char* name, F* fp, std::string& missing) {
    *fp = reinterpret_cast<F>(dlsym(lib, name));
    if (!*fp) missing += std::string(missing.empty() ? "" : ", ") + name;
    return *fp != nullptr;
}

int load(Api* api, char* err, size_t err_len) {
    const char* soname = "libcublasLt.so.13";
    std::vector<std::string> tries;
    if (const char* e = std::getenv("LOWRANK_CUBLASLT")) tries.push_back(e);
    std::string site = python_nvidia_dir();
    if (!site.empty()) {
        tries.push_back(site + "/nvidia/cu13/lib/" + soname);
        tries.push_back(site + "/nvidia/cublas/lib/" + soname);
    }
    if (const char* h = std::getenv("CUDA_HOME")) tries.push_back(std::string(h) + "/lib64/" + soname);
    tries.push_back(std::string("/usr/local/cuda/lib64/") + soname);
    if (const char* lp = std::getenv("LD_LIBRARY_PATH")) {
        std::string s(lp);
        size_t p = 0;
        while (p <= s.size()) {
            size_t q = s.find(':', p);
            if (q == std::string::npos) q = s.size();
            if (q > p) tries.push_back(s.substr(p, q - p) + "/" + soname);
            p = q + 1;
        }
    }
    tries.push_back(soname);
    std::string searched;
    for (const std::string& t : tries) {
        void* lib = dlopen(t.c_str(), RTLD_NOW | RTLD_LOCAL);
        if (!lib) {
            searched += (searched.empty() ? "" : ", ") + t;
            continue;
        }
        std::string missing;
        sym(lib, "cublasLtGetVersion", &api->GetVersion, missing);
        sym(lib, "cublasLtCreate", &api->Create, missing);
        sym(lib, "cublasLtDestroy", &api->Destroy, missing);
        sym(lib, "cublasLtMatmulDescCreate", &api->MatmulDescCreate, missing);
        sym(lib, "cublasLtMatmulDescDestroy", &api->MatmulDescDestroy, missing);
        sym(lib, "cublasLtMatmulDescSetAttribute", &api->MatmulDescSetAttribute, missing);
        sym(lib, "cublasLtMatrixLayoutCreate", &api->MatrixLayoutCreate, missing);
        sym(lib, "cublasLtMatrixLayoutDestroy", &api->MatrixLayoutDestroy, missing);
        sym(lib, "cublasLtMatrixLayoutSetAttribute", &api->MatrixLayoutSetAttribute, missing);
        sym(lib, "cublasLtMatmulPreferenceCreate", &api->MatmulPreferenceCreate, missing);
        sym(lib, "cublasLtMatmulPreferenceDestroy", &api->MatmulPreferenceDestroy, missing);
        sym(lib, "cublasLtMatmulPreferenceSetAttribute", &api->MatmulPreferenceSetAttribute, missing);
        sym(lib, "cublasLtMatmulAlgoGetHeuristic", &api->MatmulAlgoGetHeuristic, missing);
        sym(lib, "cublasLtMatmul", &api->Matmul, missing);
        if (!missing.empty()) {
            std::snprintf(err, err_len, "%s lacks %s", t.c_str(), missing.c_str());
            dlclose(lib);
            return -1;
        }
        api->lib = lib;
        std::snprintf(api->path, sizeof api->path, "%s", t.c_str());
        return 0;
    }
    std::snprintf(err, err_len,
                  "cuBLASLt (%s) not found; searched: %s. Install the pip wheel nvidia-cublas (CUDA 13) or set "
                  "LOWRANK_CUBLASLT to the library file",
                  soname, searched.c_str());
    return -1;
}

}  // namespace lt

namespace lr {

int matmul_init(Matmul* mm, char* err, size_t err_len) {
    if (lt::load(&mm->api, err, err_len) != 0) return -1;
    lt::Status s = mm->api.Create(&mm->handle);
    if (s != lt::STATUS_SUCCESS) {
        std::snprintf(err, err_len, "cublasLtCreate failed with status %d (%s)", s, mm->api.path);
        return s;
    }
    cudaError_t e = cudaMalloc(&mm->workspace, mm->workspace_bytes);
    if (e != cudaSuccess) {
        std::snprintf(err, err_len, "cudaMalloc of the %zu-byte cuBLASLt workspace: %s", mm->workspace_bytes,
                      cudaGetErrorString(e));
        return (int) e;
    }
    return 0;
}

void matmul_destroy(Matmul* mm) {
    if (mm->workspace) cudaFree(mm->workspace);
    if (mm->handle) mm->api.Destroy(mm->handle);
    if (mm->api.lib) dlclose(mm->api.lib);
    mm->workspace = nullptr;
    mm->handle = nullptr;
    mm->api.lib = nullptr;
}

namespace {

// Column-major layout of an operand with optional batching.
lt::Status make_layout(const lt::Api& api, lt::MatrixLayout* l, int type, int rows, int cols, int ld, int batch,
                       long long stride) {
    lt::Status s = api.MatrixLayoutCreate(l, type, (uint64_t) rows, (uint64_t) cols, (int64_t) ld);
    if (s != lt::STATUS_SUCCESS || batch <= 1) return s;
    int32_t bc = batch;
    int64_t st = stride;
    s = api.MatrixLayoutSetAttribute(*l, lt::LAYOUT_BATCH_COUNT, &bc, sizeof bc);
    if (s == lt::STATUS_SUCCESS) s = api.MatrixLayoutSetAttribute(*l, lt::LAYOUT_STRIDED_BATCH_OFFSET, &st, sizeof st);
    return s;
}

}  // namespace

int matmul(Matmul* mm, Precision prec, bool trans_a, bool trans_b, int m, int n, int k, float alpha, const void* a,
           int lda, long long stride_a, const void* b, int ldb, long long stride_b, float beta, float* c, int ldc,
           long long stride_c, int batch, cudaStream_t stream, char* err, size_t err_len) {
    const lt::Api& api = mm->api;
    const int ab_type = prec == Precision::BF16 ? lt::R_16BF : lt::R_32F;
    // Row-major C[m,n] = op(A) op(B)  <=>  column-major C^T[n,m] = op(B)^T op(A)^T: the
    // library's first operand is our B (as stored: column-major [cols_B, rows_B]).
    const int32_t op_first = trans_b ? lt::OP_T : lt::OP_N, op_second = trans_a ? lt::OP_T : lt::OP_N;
    lt::MatmulDesc desc = nullptr;
    lt::MatrixLayout la = nullptr, lb = nullptr, lc = nullptr;
    lt::Preference pref = nullptr;
    lt::HeuristicResult heur[1];
    int found = 0;
    const char* stage = "cublasLtMatmulDescCreate";
    lt::Status s = api.MatmulDescCreate(&desc, lt::COMPUTE_32F, lt::R_32F);
    if (s == 0) { stage = "TRANSA"; s = api.MatmulDescSetAttribute(desc, lt::DESC_TRANSA, &op_first, sizeof op_first); }
    if (s == 0) { stage = "TRANSB"; s = api.MatmulDescSetAttribute(desc, lt::DESC_TRANSB, &op_second, sizeof op_second); }
    // first operand (our B): op N -> stored [n, k] column-major; op T -> stored [k, n]
    if (s == 0) { stage = "layout B"; s = make_layout(api, &la, ab_type, trans_b ? k : n, trans_b ? n : k, ldb, batch, stride_b); }
    // second operand (our A): op N -> stored [k, m]; op T -> stored [m, k]
    if (s == 0) { stage = "layout A"; s = make_layout(api, &lb, ab_type, trans_a ? m : k, trans_a ? k : m, lda, batch, stride_a); }
    if (s == 0) { stage = "layout C"; s = make_layout(api, &lc, lt::R_32F, n, m, ldc, batch, stride_c); }
    if (s == 0) { stage = "preference"; s = api.MatmulPreferenceCreate(&pref); }
    if (s == 0) {
        uint64_t ws = mm->workspace_bytes;
        s = api.MatmulPreferenceSetAttribute(pref, lt::PREF_MAX_WORKSPACE_BYTES, &ws, sizeof ws);
    }
    if (s == 0) {
        stage = "cublasLtMatmulAlgoGetHeuristic";
        s = api.MatmulAlgoGetHeuristic(mm->handle, desc, la, lb, lc, lc, pref, 1, heur, &found);
        if (s == 0 && found == 0) s = -2;
    }
    if (s == 0) {
        stage = "cublasLtMatmul";
        s = api.Matmul(mm->handle, desc, &alpha, b, la, a, lb, &beta, c, lc, c, lc, &heur[0].algo, mm->workspace,
                       mm->workspace_bytes, stream);
    }
    if (s != 0)
        std::snprintf(err, err_len, "%s failed (status %d) for %s product m=%d n=%d k=%d batch=%d transA=%d transB=%d",
                      stage, s, prec == Precision::BF16 ? "bf16" : "f32", m, n, k, batch, trans_a, trans_b);
    if (pref) api.MatmulPreferenceDestroy(pref);
    if (lc) api.MatrixLayoutDestroy(lc);
    if (lb) api.MatrixLayoutDestroy(lb);
    if (la) api.MatrixLayoutDestroy(la);
    if (desc) api.MatmulDescDestroy(desc);
    return s;
}

}  // namespace lr
