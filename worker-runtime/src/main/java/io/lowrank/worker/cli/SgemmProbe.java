package io.lowrank.worker.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.lowrank.nativekernels.NativeLibrary;
import io.lowrank.nativekernels.Sparse24;
import io.lowrank.worker.model.ModelConfig;
import io.lowrank.worker.tensor.Backend;
import io.lowrank.worker.tensor.BackendChoice;
import io.lowrank.worker.tensor.Backends;
import io.lowrank.worker.tensor.Nd4jCpuBackend;
import io.lowrank.worker.tensor.Tensor;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * The sgemm peak that {@code bench --sgemm-size N} compares a training step's GFLOP/s with: the
 * best rate of float32 products through a backend built like the steps' (same gemm engine, same
 * thread count), over a square N x N x N product and the products a training step of the benchmarked
 * models runs (projections, MLP, low-rank factors, LM head, a weight gradient). Each shape gets
 * untimed warm-up products first (thread pools awake, pages touched, caches and CPU clocks up),
 * then timed ones; a shape's figure is its best product (a peak is the best the library reached,
 * not its typical rate), and the peak is the best shape. A square product alone under-estimates
 * the peak when the library is faster at the step's skinny shapes, and a step then seemed to run
 * above it (fraction_of_sgemm_peak 1.58 on an AVX2 CPU): with the step's own shapes in the probe
 * the fraction means what it says.
 */
final class SgemmProbe {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** C[m x n] = op(A)[m x k] B[k x n], op = transpose when transA (A stored k x m, as in a weight gradient X^T dY). */
    record Shape(String name, int m, int k, int n, boolean transA) {
        double flops() { return 2.0 * m * k * n; }
    }

    /** The figures of one shape: GFLOP/s of the best and of the median timed product. */
    record Figure(Shape shape, double bestGflops, double medianGflops) {}

    /** A probe of one engine: what ran it, and its figures. */
    record Result(String engine, String isa, int threads, int warmup, int reps, List<Figure> figures) {
        double peak() {
            double p = 0;
            for (Figure f : figures) p = Math.max(p, f.bestGflops);
            return p;
        }

        /** The shape-wise best of two probes of the same engine and shapes (run before and after the steps). */
        Result max(Result other) {
            List<Figure> out = new ArrayList<>();
            for (int i = 0; i < figures.size(); i++) {
                Figure a = figures.get(i), b = other.figures.get(i);
                out.add(new Figure(a.shape, Math.max(a.bestGflops, b.bestGflops), Math.max(a.medianGflops, b.medianGflops)));
            }
            return new Result(engine, isa, threads, warmup, reps + other.reps, out);
        }

        ObjectNode toJson() {
            ObjectNode o = JSON.createObjectNode();
            o.put("engine", engine).put("isa", isa).put("threads", threads).put("warmup", warmup).put("reps", reps)
                    .put("peak_gflops", peak());
            ArrayNode a = o.putArray("shapes");
            for (Figure f : figures) {
                a.addObject().put("name", f.shape.name).put("m", f.shape.m).put("k", f.shape.k).put("n", f.shape.n)
                        .put("trans_a", f.shape.transA).put("gflops_best", f.bestGflops).put("gflops_median", f.medianGflops);
            }
            return o;
        }

        String line() {
            StringBuilder sb = new StringBuilder(String.format("sgemm peak %s (%s, %d threads): %.1f GFLOP/s, best of", engine, isa, threads, peak()));
            for (Figure f : figures) sb.append(String.format("  %s %.1f", f.shape.name, f.bestGflops));
            return sb.toString();
        }
    }

    private SgemmProbe() {}

    /** The square product and the distinct products of a training step of each model (tokens = batch x seq_len). */
    static List<Shape> shapes(int square, List<ModelConfig> models, int tokens) {
        Map<String, Shape> s = new LinkedHashMap<>();
        s.put("square", new Shape("square " + square, square, square, square, false));
        for (ModelConfig c : models) {
            int d = c.hiddenSize, ff = c.intermediateSize;
            add(s, new Shape("proj " + tokens + "x" + d + "x" + d, tokens, d, d, false));
            add(s, new Shape("mlp-up " + tokens + "x" + d + "x" + ff, tokens, d, ff, false));
            add(s, new Shape("mlp-down " + tokens + "x" + ff + "x" + d, tokens, ff, d, false));
            add(s, new Shape("lm-head " + tokens + "x" + d + "x" + c.vocabSize, tokens, d, c.vocabSize, false));
            add(s, new Shape("weight-grad " + d + "x" + tokens + "x" + ff, d, tokens, ff, true));
            if (c.rank > 0) {
                add(s, new Shape("low-rank " + tokens + "x" + d + "x" + c.rank, tokens, d, c.rank, false));
                add(s, new Shape("low-rank " + tokens + "x" + c.rank + "x" + ff, tokens, c.rank, ff, false));
            }
        }
        return new ArrayList<>(s.values());
    }

    private static void add(Map<String, Shape> s, Shape shape) { s.putIfAbsent(shape.name, shape); }

    /** Probes one engine (named as the steps' results name it) on a backend of that choice, at the steps' thread count. */
    static Result run(String engine, BackendChoice choice, int threads, List<Shape> shapes, int warmup, int reps) {
        try (Backend be = Backends.open(choice)) {
            List<Figure> figures = new ArrayList<>();
            for (Shape s : shapes) figures.add(time(be, s, warmup, reps));
            return new Result(engine, isa(be), threads, warmup, reps, figures);
        }
    }

    static Figure time(Backend be, Shape s, int warmup, int reps) {
        Tensor a = s.transA ? be.allocate(s.k, s.m) : be.allocate(s.m, s.k), b = be.allocate(s.k, s.n), c = be.allocate(s.m, s.n);
        SplittableRandom r = new SplittableRandom(1);
        be.copyFromHost(random(a.size, r), a);
        be.copyFromHost(random(b.size, r), b);
        double[] gf = new double[reps];
        for (int i = -warmup; i < reps; i++) {
            long t0 = System.nanoTime();
            be.matmul(a, s.transA, b, false, c, 0.0);
            long t1 = System.nanoTime();
            if (i >= 0) gf[i] = s.flops() / (t1 - t0);
        }
        double best = 0;
        for (double g : gf) best = Math.max(best, g);
        return new Figure(s, best, BenchCommand.median(gf));
    }

    /**
     * The instruction set a figure's products ran with: the native kernels' own (they dispatch on
     * it), or for OpenBLAS the CPU's (OpenBLAS's dynamic-arch build picks its kernels for the CPU
     * at load time; the JavaCPP binding does not expose which).
     */
    static String isa(Backend be) {
        if (!(be instanceof Nd4jCpuBackend cpu)) return "GPU (" + be.describe() + ")";
        if (cpu.nativeGemm()) return "native kernels " + isaName(Sparse24.isa());
        return "OpenBLAS on a CPU with " + cpuIsa();
    }

    private static float[] random(long n, SplittableRandom r) {
        float[] v = new float[Math.toIntExact(n)];
        for (int i = 0; i < v.length; i++) v[i] = (float) (r.nextDouble() - 0.5);
        return v;
    }

    static String cpuIsa() {
        if (NativeLibrary.isAvailable()) return isaName(Sparse24.cpuIsa());
        try {
            String info = Files.readString(Path.of("/proc/cpuinfo"));
            if (info.contains(" avx512f")) return "avx512";
            if (info.contains(" avx2") && info.contains(" fma")) return "avx2";
            return "neither avx2 nor avx512";
        } catch (IOException e) {
            return "unknown isa (" + e.getMessage() + ")";
        }
    }

    private static String isaName(int isa) {
        return isa == Sparse24.ISA_AVX512 ? "avx512" : isa == Sparse24.ISA_AVX2 ? "avx2" : "scalar";
    }
}
