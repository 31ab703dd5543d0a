// Host test of SiLU, SiLU' (CoLA bottleneck) and SwiGLU's gated product against double loops.
#include "../kernels/swiglu.cuh"
#include "check_util.h"
#include "reference.h"

int main() {
    uint64_t seed = lrt::fresh_seed();
    lrt::Rng rng(seed);
    lrt::Report rep("silu_swiglu", seed);
    const int n = 65537;
    std::vector<float> h = rng.normals(n, 4.0f), dz = rng.normals(n), u = rng.normals(n);
    h[0] = 90.0f; h[1] = -90.0f;  // exp overflow on one side
    std::vector<float> z(n), dh(n), o(n), dg(n), du(n), o2(n), dg2(n), du2(n);
    std::vector<double> rz(n), rdh(n), ro(n), rdg(n), rdu(n), ro2(n), rdg2(n), rdu2(n);
    for (int i = 0; i < n; i++) {
        z[i] = lr::silu(h[i]);
        dh[i] = dz[i] * lr::silu_grad(h[i]);
        rz[i] = ref::silu(h[i]);
        rdh[i] = (double) dz[i] * ref::silu_grad(h[i]);
        o[i] = lr::gated(h[i], u[i], true);
        lr::gated_backward(h[i], u[i], dz[i], true, &dg[i], &du[i]);
        ro[i] = ref::silu(h[i]) * u[i];
        rdg[i] = (double) dz[i] * u[i] * ref::silu_grad(h[i]);
        rdu[i] = (double) dz[i] * ref::silu(h[i]);
        o2[i] = lr::gated(h[i], u[i], false);
        lr::gated_backward(h[i], u[i], dz[i], false, &dg2[i], &du2[i]);
        ro2[i] = (double) h[i] * u[i];
        rdg2[i] = (double) dz[i] * u[i];
        rdu2[i] = (double) dz[i] * h[i];
    }
    rep.check("silu", lrt::rel_err(z, rz, n), 1e-6, "65537");
    rep.check("silu_backward", lrt::rel_err(dh, rdh, n), 1e-6, "65537");
    rep.check("swiglu", lrt::rel_err(o, ro, n), 1e-6, "65537");
    rep.check("swiglu_backward dg", lrt::rel_err(dg, rdg, n), 1e-6, "65537");
    rep.check("swiglu_backward du", lrt::rel_err(du, rdu, n), 1e-6, "65537");
    rep.check("gated identity", lrt::rel_err(o2, ro2, n), 1e-7, "65537");
    rep.check("gated identity dg", lrt::rel_err(dg2, rdg2, n), 1e-7, "65537");
    rep.check("gated identity du", lrt::rel_err(du2, rdu2, n), 1e-7, "65537");
    return rep.finish();
}
