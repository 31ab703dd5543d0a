package io.lowrank.worker.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.lowrank.worker.model.Initializer;
import io.lowrank.worker.model.LayerType;
import io.lowrank.worker.model.LlamaModel;
import io.lowrank.worker.model.ModelConfig;
import io.lowrank.worker.model.ModelLayout;
import io.lowrank.worker.model.ParameterStore;
import io.lowrank.worker.optim.AdamW;
import io.lowrank.worker.optim.GradClip;
import io.lowrank.worker.tensor.Backend;
import io.lowrank.worker.tensor.BackendChoice;
import io.lowrank.worker.tensor.Backends;
import io.lowrank.nativekernels.NativeLibrary;
import io.lowrank.worker.tensor.DType;
import io.lowrank.worker.tensor.FusedOpsBench;
import io.lowrank.worker.tensor.Nd4jCpuBackend;
import io.lowrank.worker.tensor.Tensor;
import io.lowrank.worker.train.Batches;
import io.lowrank.worker.train.RunConfig;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

import java.util.Arrays;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;

/**
 * Throughput of full training steps (forward, backward, clip, AdamW: the training data path with
 * token windows from memory) after warm-up steps, reported as medians; and the machine's sgemm
 * peak through the same backend, so the step's GFLOP/s can be read as a fraction of it.
 */
@Command(name = "bench", description = "time training steps, sgemm, 2:4 spmm or the fused kernels (--suite)")
public final class BenchCommand implements Callable<Integer> {
    private static final ObjectMapper JSON = new ObjectMapper();
    /** Untimed and timed products of each shape in one run of the sgemm peak probe. */
    static final int PROBE_WARMUP = 2, PROBE_REPS = 5;

    @Mixin
    BenchOptions options = new BenchOptions();

    @Override
    public Integer call() throws Exception { return run(options); }

    /** Runs one of the single-process suites. */
    public static int run(BenchOptions o) throws Exception {
        switch (o.suite) {
            case "train": return train(o);
            case "sgemm": return sgemm(o);
            case "spmm24": return spmm24(o);
            case "fused": return fused(o);
            case "generate": return generate(o);
            default: throw new UsageException("bench: unknown --suite '" + o.suite + "' (train, sgemm, spmm24, fused, generate"
                    + (o.suite.equals("allreduce") ? "; allreduce runs on Spark: use bin/lowrank bench --suite allreduce" : "") + ")");
        }
    }

    /** --suite generate: prefill and decode speed and memory of the families side by side ({@link GenerateBench}). */
    private static int generate(BenchOptions o) throws Exception {
        GenerateBench.Options g = new GenerateBench.Options(o.required(o.preset, "--preset"),
                Arrays.asList(o.required(o.layer, "--layer").split(",")), o.batch != null ? o.batch : 1, o.promptLen, o.newTokens,
                o.steps != null ? o.steps : 3, o.warmup, o.threads());
        System.out.println(JSON.writeValueAsString(GenerateBench.run(g, System.out)));
        return 0;
    }

    /** One model's benchmark state: its own backend so that peak bytes are per model. */
    static final class Setup implements AutoCloseable {
        final String layer;
        final Backend be;
        final ModelConfig mc;
        final ParameterStore ps;
        final LlamaModel model;
        final AdamW opt;
        final int[] windows, in, tg;
        final int batch, seqLen;
        final double[] ms;
        final long modelBytes;
        long allocationsBefore;

        final BackendChoice choice;

        /**
         * choice: the backend; on the CPU its native kernels (false: the float32 2:4 and fused
         * element-wise ops in Java, as -Dlowrank.native.disable=true) and product library (as -Dlowrank.gemm).
         */
        Setup(RunConfig rc, String layer, int batch, int seqLen, int steps, BackendChoice choice) {
            this.layer = layer;
            this.batch = batch;
            this.seqLen = seqLen;
            this.choice = choice;
            this.be = Backends.open(choice);
            // the preset's own vocabulary: a byte-level study preset's step is mostly blocks, a 32k one's mostly head
            this.mc = rc.model(io.lowrank.worker.data.Tokenizers.vocabSize(rc.tokenizer()));
            this.ps = new ParameterStore(be, ModelLayout.of(mc));
            Initializer.initialize(ps, mc, 1);
            long before = be.memory().liveBytes();
            this.model = new LlamaModel(be, mc, ps, batch, seqLen);
            this.modelBytes = be.memory().liveBytes() - before;   // activations, recompute and gradient buffers
            model.switches().setSparseActivations(true);         // ELAS: time the sparse steady state, not the dense warmup
            this.opt = new AdamW(be, (int) ps.count(), 0.9, 0.999, 1e-8, 0.01);
            SplittableRandom r = new SplittableRandom(7);
            windows = new int[batch * (seqLen + 1)];
            in = new int[batch * seqLen];
            tg = new int[batch * seqLen];
            for (int i = 0; i < windows.length; i++) windows[i] = r.nextInt(mc.vocabSize);
            ms = new double[steps];
        }

        /** One full training step on the training data path; returns its wall time in ms. */
        double step() {
            long t0 = System.nanoTime();
            be.fill(ps.grads(), 0.0);
            Batches.split(windows, batch, seqLen, in, tg);
            model.forwardMean(in, tg, 1.0);
            model.backward();
            GradClip.clip(be, ps.grads(), 1.0);
            opt.step(ps.values(), ps.grads(), 1e-4);
            return (System.nanoTime() - t0) / 1e6;
        }

        ObjectNode result() {
            double median = median(ms);
            double flops = trainFlopsPerToken(mc, seqLen) * batch * seqLen;
            ObjectNode out = JSON.createObjectNode();
            out.put("layer", mc.layerType.id).put("backend", choice.kind.id());
            if (choice.kind == BackendChoice.Kind.CPU) {
                out.put("native_kernels", ((Nd4jCpuBackend) be).nativeFused()).put("gemm_isa", SgemmProbe.isa(be));
            } else {
                out.put("precision", choice.precision.id()).put("device", choice.device).put("gemm_isa", SgemmProbe.isa(be));
            }
            out.put("gemm", gemmName(choice, be))
                    .put("tokens_per_s", batch * seqLen / (median / 1000.0))
                    .put("step_ms_median", median)
                    .put("gflops_per_s", flops / (median / 1000.0) / 1e9)
                    .put("flops_per_step", flops)
                    .put("peak_bytes", be.memory().peakBytes())
                    .put("activation_bytes", model.activationBytes())
                    .put("layer_activation_bytes", model.layerActivationBytes())
                    .put("recompute_flops_per_step", model.recomputeFlops())
                    .put("model_allocated_bytes", modelBytes)
                    .put("parameters", ps.count())
                    .put("allocations_in_timed_steps", be.memory().allocations() - allocationsBefore);
            out.putPOJO("step_ms", ms);
            return out;
        }

        @Override
        public void close() { be.close(); }
    }

    /**
     * --layer full,cola runs the models in the same process, alternating their steps (full, cola,
     * full, cola, ...) so that both see the same machine load; the ratio is of medians. --native
     * both runs every layer twice the same way, once with the native kernels (results key
     * LAYER+native) and once with the Java paths (LAYER+java, as -Dlowrank.native.disable=true).
     * --gemm both likewise runs every layer with its products in OpenBLAS (LAYER+openblas) and in
     * the native kernels' sgemm (LAYER+native-gemm); --gemm openblas|native|auto picks one.
     */
    static int train(BenchOptions a) throws Exception {
        String[] layerArgs = a.required(a.layer, "--layer").split(",");
        String preset = a.required(a.preset, "--preset");
        int steps = a.steps != null ? a.steps : 5, warmup = a.warmup;
        int threads = a.threads();
        BackendChoice choice = a.backendChoice();
        String nativeMode = a.nativeMode == null ? "default" : a.nativeMode;
        if (!Set.of("default", "both").contains(nativeMode)) throw new UsageException("bench: --native must be 'both' (or absent)");
        String gemmMode = a.gemm == null ? "default" : a.gemm;
        if (!Set.of("default", "both", "auto", "openblas", "native").contains(gemmMode)) {
            throw new UsageException("bench: --gemm must be both, auto, openblas or native, not '" + gemmMode + "'");
        }
        if (choice.kind != BackendChoice.Kind.CPU && (!nativeMode.equals("default") || !gemmMode.equals("default"))) {
            throw new UsageException("bench: --native and --gemm choose the cpu backend's kernels; they do not apply to --backend " + choice.kind.id());
        }
        boolean gemmBoth = gemmMode.equals("both");
        if (gemmBoth && nativeMode.equals("both")) throw new UsageException("bench: --native both and --gemm both cannot be combined");
        String gemm = gemmMode.equals("default") || gemmBoth ? null : gemmEngine(gemmMode);   // null: -Dlowrank.gemm
        boolean both = nativeMode.equals("both") || gemmBoth;
        String[] variants = gemmBoth ? new String[]{"+openblas", "+native-gemm"} : new String[]{"+java", "+native"};
        String[] layers = both ? new String[2 * layerArgs.length] : layerArgs;
        if (both) {
            for (int l = 0; l < layerArgs.length; l++) {
                layers[2 * l] = layerArgs[l] + variants[0];
                layers[2 * l + 1] = layerArgs[l] + variants[1];
            }
        }
        Setup[] setups = new Setup[layers.length];
        try {
            for (int l = 0; l < layers.length; l++) {
                String layer = both ? layers[l].substring(0, layers[l].indexOf('+')) : layers[l];
                RunConfig rc = TrainOverrides.applySets(RunConfig.load(preset, layer), a.set);  // --steps/--batch here mean the benchmark's
                int seqLen = a.seqLen != null ? a.seqLen : rc.seqLen(), batch = a.batch != null ? a.batch : rc.batchSize();
                BackendChoice c = choice.kind == BackendChoice.Kind.CPU ? choice.withCpuKernels(null, gemm) : choice;
                if (both && gemmBoth) {
                    c = choice.withCpuKernels(null, layers[l].endsWith("+native-gemm") ? "native" : "openblas");
                } else if (both) {
                    boolean nativeKernels = layers[l].endsWith("+native");
                    // the Java paths: no native code at all
                    c = choice.withCpuKernels(nativeKernels, nativeKernels ? gemm : "openblas");
                }
                setups[l] = new Setup(rc, layers[l], batch, seqLen, steps, c);
            }
            // sgemm peak of each product library the setups use (SgemmProbe), measured before and
            // after the steps on its own backend (its allocations stay out of the models' counts)
            java.util.Map<String, SgemmProbe.Result> peaks = new java.util.TreeMap<>();
            java.util.List<SgemmProbe.Shape> shapes = null;
            if (a.sgemmSize != null) {
                java.util.List<ModelConfig> models = new java.util.ArrayList<>();
                for (Setup u : setups) models.add(u.mc);
                shapes = SgemmProbe.shapes(a.sgemmSize, models, setups[0].batch * setups[0].seqLen);
                for (Setup u : setups) peaks.putIfAbsent(gemmName(u.choice, u.be), null);
                for (String engine : peaks.keySet()) {
                    peaks.put(engine, SgemmProbe.run(engine, peakChoice(choice, engine), threads, shapes, PROBE_WARMUP, PROBE_REPS));
                    System.out.println("before the steps: " + peaks.get(engine).line());
                }
            }
            for (int s = -warmup; s < steps; s++) {
                for (Setup u : setups) {
                    if (s == 0) {
                        u.be.memory().resetPeak();
                        u.allocationsBefore = u.be.memory().allocations();
                    }
                    double t = u.step();
                    if (s >= 0) u.ms[s] = t;
                    System.out.printf("%s step %d: %.0f ms%n", u.layer, s, t);
                }
            }
            for (String engine : peaks.keySet()) {
                SgemmProbe.Result after = SgemmProbe.run(engine, peakChoice(choice, engine), threads, shapes, PROBE_WARMUP, PROBE_REPS);
                System.out.println("after the steps: " + after.line());
                peaks.put(engine, peaks.get(engine).max(after));
            }
            ObjectNode out;
            if (setups.length == 1) {
                out = setups[0].result();
            } else {
                out = JSON.createObjectNode();
                ObjectNode per = out.putObject("results");
                for (Setup u : setups) per.set(u.layer, u.result());
                for (int l = 1; l < setups.length; l++) {
                    out.put("speedup_" + setups[l].layer + "_over_" + setups[0].layer, median(setups[0].ms) / median(setups[l].ms));
                }
            }
            out.put("preset", preset).put("backend", choice.kind.id()).put("seq_len", setups[0].seqLen).put("batch", setups[0].batch).put("threads", threads)
                    .put("steps", steps).put("warmup", warmup);
            if (!peaks.isEmpty()) {
                // the fraction is of the peak of the library the step's products ran in
                double best = 0;
                ObjectNode probe = out.putObject("sgemm_probe");
                for (java.util.Map.Entry<String, SgemmProbe.Result> e : peaks.entrySet()) {
                    best = Math.max(best, e.getValue().peak());
                    out.put("sgemm_peak_gflops_" + e.getKey(), e.getValue().peak());
                    probe.set(e.getKey(), e.getValue().toJson());
                }
                out.put("sgemm_peak_gflops", best);
                for (Setup u : setups) {
                    ObjectNode r = setups.length == 1 ? out : (ObjectNode) out.get("results").get(u.layer);
                    r.put("fraction_of_sgemm_peak", r.get("gflops_per_s").asDouble() / peaks.get(gemmName(u.choice, u.be)).peak());
                }
            }
            System.out.println(JSON.writeValueAsString(out));
        } finally {
            for (Setup u : setups) if (u != null) u.close();
        }
        return 0;
    }

    /**
     * Training FLOPs per token (forward + backward = 3x forward): 2 per multiply-add of every matmul
     * weight (projections and LM head) plus attention's QK^T and PV (computed as full seq x seq products).
     */
    static double trainFlopsPerToken(ModelConfig c, int seqLen) {
        double matmulParams = (double) c.vocabSize * c.hiddenSize;
        for (String p : new String[]{"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"}) {
            int[] io = ModelLayout.projectionDims(c, p);
            matmulParams += c.layerType == LayerType.FULL ? (double) io[0] * io[1] * c.numLayers
                    : (double) (io[0] + io[1]) * c.rank * c.numLayers;
        }
        double attention = 2.0 * 2.0 * seqLen * c.hiddenSize * c.numLayers;
        return 3.0 * (2.0 * matmulParams + attention);
    }

    /** --gemm auto|openblas|native (a usage error otherwise), as the CPU backend's product library. */
    static String gemmEngine(String v) {
        if (!Set.of("auto", "openblas", "native").contains(v)) {
            throw new UsageException("bench: --gemm must be auto, openblas or native here, not '" + v + "'");
        }
        return v;
    }

    /**
     * The library of a backend's float32 products: "native" or "openblas" on the CPU, "cuda-f32" or
     * "cuda-bf16" on the GPU (the CPU class is only named on the CPU path: the cuda path loads no ND4J).
     */
    static String gemmName(BackendChoice c, Backend be) {
        if (c.kind == BackendChoice.Kind.CUDA) return "cuda-" + c.precision.id();
        return ((Nd4jCpuBackend) be).nativeGemm() ? "native" : "openblas";
    }

    /** The backend on which the sgemm peak of the named product library is measured. */
    static BackendChoice peakChoice(BackendChoice bench, String engine) {
        return engine.startsWith("cuda") ? bench : bench.withCpuKernels(null, engine);
    }

    static double sgemmGflops(Backend be, int n, int reps) {
        Tensor x = be.allocate(n, n), y = be.allocate(n, n), z = be.allocate(n, n);
        SplittableRandom r = new SplittableRandom(1);
        for (int i = 0; i < x.size; i++) { x.set(i, r.nextDouble() - 0.5); y.set(i, r.nextDouble() - 0.5); }
        be.matmul(x, false, y, false, z, 0.0);
        double[] gf = new double[reps];
        for (int i = 0; i < reps; i++) {
            long t0 = System.nanoTime();
            be.matmul(x, false, y, false, z, 0.0);
            gf[i] = 2.0 * n * n * n / (System.nanoTime() - t0);
        }
        return median(gf);
    }

    static int sgemm(BenchOptions a) {
        int n = a.size, reps = a.steps != null ? a.steps : 7;
        int threads = a.threads();
        BackendChoice c = a.backendChoice();
        if (c.kind == BackendChoice.Kind.CPU) c = c.withCpuKernels(null, a.gemm == null ? null : gemmEngine(a.gemm));
        else if (a.gemm != null) throw new UsageException("bench: --gemm chooses the cpu backend's product library; not with --backend " + c.kind.id());
        try (Backend be = Backends.open(c)) {
            ObjectNode out = JSON.createObjectNode();
            out.put("suite", "sgemm").put("size", n).put("threads", threads).put("backend", c.kind.id()).put("gemm", gemmName(c, be))
                    .put("gemm_isa", SgemmProbe.isa(be)).put("gflops_median", sgemmGflops(be, n, reps));
            System.out.println(out);
        }
        return 0;
    }

    /**
     * The ELAS down-projection's forward product t = y2s W_in at a preset's shapes: y2s the 2:4 form
     * of ReLU(y1)^2 [tokens, intermediate_size] (y1 standard normal), W_in [intermediate_size, rank].
     * The backend's spmm24 against the dense sgemm (backend matmul) of the decompressed y2s, in the
     * same run and alternating, medians of --steps (7) after --warmup (2); rel_err = |t_sparse -
     * t_dense| / |t_dense|. native: whether the native kernels ran (else Sparse24Java). Run with
     * OMP_WAIT_POLICY=passive and OPENBLAS_THREAD_TIMEOUT=4 (bin/lowrank's defaults): spinning
     * OpenMP threads of the sparse kernel would slow the dense product that follows it, and spinning
     * OpenBLAS workers the sparse kernel.
     */
    static int spmm24(BenchOptions a) throws Exception {
        String preset = a.required(a.preset, "--preset");
        int tokens = a.tokens, reps = a.steps != null ? a.steps : 7, warmup = a.warmup;
        int threads = a.threads();
        ModelConfig mc = TrainOverrides.applySets(RunConfig.load(preset, "elas"), a.set).model(32000);
        int cols = mc.intermediateSize, n = mc.rank;
        cpuOnly(a, "spmm24");
        try (Nd4jCpuBackend be = (Nd4jCpuBackend) Backends.open(BackendChoice.cpu(DType.F32, threads))) {
            Tensor y2 = be.allocate(tokens, cols), dense = be.allocate(tokens, cols), w = be.allocate(cols, n);
            Tensor ySparse = be.allocate(tokens, n), yDense = be.allocate(tokens, n);
            SplittableRandom r = new SplittableRandom(5);
            for (int i = 0; i < y2.size; i++) y2.set(i, nextGaussian(r));
            be.reluSquare(y2, y2);
            double scale = 1.0 / Math.sqrt(cols);
            for (int i = 0; i < w.size; i++) w.set(i, nextGaussian(r) * scale);
            Backend.Sparse24 s = be.allocateSparse24(tokens, cols);
            be.prune24(y2, s);
            be.decompress24(s, dense);
            double[] sparseMs = new double[reps], denseMs = new double[reps];
            for (int i = -warmup; i < reps; i++) {
                long t0 = System.nanoTime();
                be.spmm24(s, w, ySparse, 0.0);
                long t1 = System.nanoTime();
                be.matmul(dense, false, w, false, yDense, 0.0);
                long t2 = System.nanoTime();
                if (i >= 0) {
                    sparseMs[i] = (t1 - t0) / 1e6;
                    denseMs[i] = (t2 - t1) / 1e6;
                }
            }
            double diff = 0, ref = 0;
            for (int i = 0; i < yDense.size; i++) {
                double d = ySparse.get(i) - yDense.get(i);
                diff += d * d;
                ref += yDense.get(i) * yDense.get(i);
            }
            double sp = median(sparseMs), de = median(denseMs);
            ObjectNode out = JSON.createObjectNode();
            out.put("suite", "spmm24").put("sparse_ms", sp).put("dense_ms", de).put("speedup", de / sp)
                    .put("rel_err", Math.sqrt(diff / ref)).put("native", be.nativeSparse24()).put("preset", preset)
                    .put("rows", tokens).put("cols", cols).put("n", n).put("threads", threads).put("reps", reps)
                    .put("warmup", warmup).put("backend", be.describe())
                    .put("omp_wait_policy", String.valueOf(System.getenv("OMP_WAIT_POLICY")))   // bin/lowrank: passive
                    .put("openblas_thread_timeout", String.valueOf(System.getenv("OPENBLAS_THREAD_TIMEOUT")));
            out.putPOJO("sparse_ms_all", sparseMs);
            out.putPOJO("dense_ms_all", denseMs);
            System.out.println(JSON.writeValueAsString(out));
        }
        return 0;
    }

    /**
     * The fused element-wise ops at a preset's shapes (tokens = --batch x --seq-len, default the
     * preset's batch_size x seq_len; hidden, intermediate, rank, heads and the parameter count of
     * the model; vocabulary 32000): each op on a backend with the FloatKernels Java loops and on one
     * with the native kernels, alternating in the same run, medians of --steps (7) after --warmup
     * (2); ratio = java_ms / native_ms; rel_diff = ||native - java|| / ||java|| of the op's outputs
     * (see FusedOpsBench). One line per op, then the JSON object on the last line.
     */
    static int fused(BenchOptions a) throws Exception {
        String preset = a.required(a.preset, "--preset");
        String layer = a.layer == null ? "cola" : a.layer;
        int reps = a.steps != null ? a.steps : 7, warmup = a.warmup;
        int threads = a.threads();
        RunConfig rc = TrainOverrides.applySets(RunConfig.load(preset, layer), a.set);
        ModelConfig mc = rc.model(32000);
        int seqLen = a.seqLen != null ? a.seqLen : rc.seqLen(), batch = a.batch != null ? a.batch : rc.batchSize();
        cpuOnly(a, "fused");
        if (!NativeLibrary.isAvailable()) {
            throw new IllegalStateException("bench --suite fused compares the Java loops with the native kernels, which are unavailable: "
                    + NativeLibrary.unavailableReason());
        }
        long params = 0;
        for (int[] shape : ModelLayout.of(mc).values()) {
            long n = 1;
            for (int dim : shape) n *= dim;
            params += n;
        }
        FusedOpsBench.Shapes shapes = new FusedOpsBench.Shapes(batch, seqLen, mc.hiddenSize, mc.intermediateSize,
                mc.rank > 0 ? mc.rank : mc.hiddenSize, mc.vocabSize, mc.numHeads, params);
        try (Nd4jCpuBackend java = (Nd4jCpuBackend) Backends.open(BackendChoice.cpu(DType.F32, threads).withCpuKernels(false, null));
             Nd4jCpuBackend nat = (Nd4jCpuBackend) Backends.open(BackendChoice.cpu(DType.F32, threads).withCpuKernels(true, null))) {
            java.util.List<FusedOpsBench.Result> results = FusedOpsBench.run(java, nat, shapes, reps, warmup);
            ObjectNode out = JSON.createObjectNode();
            out.put("suite", "fused").put("preset", preset).put("layer", mc.layerType.id).put("tokens", batch * seqLen)
                    .put("batch", batch).put("seq_len", seqLen).put("threads", threads).put("reps", reps).put("warmup", warmup)
                    .put("backend", nat.describe()).put("omp_wait_policy", String.valueOf(System.getenv("OMP_WAIT_POLICY")));
            com.fasterxml.jackson.databind.node.ArrayNode arr = out.putArray("kernels");
            double javaTotal = 0, nativeTotal = 0;
            System.out.printf("%-20s %-22s %10s %10s %8s %10s%n", "kernel", "shape", "java_ms", "native_ms", "ratio", "rel_diff");
            for (FusedOpsBench.Result r : results) {
                double jm = r.javaMedian(), nm = r.nativeMedian();
                javaTotal += jm;
                nativeTotal += nm;
                System.out.printf("%-20s %-22s %10.3f %10.3f %8.2f %10.2e%n", r.kernel, r.shape, jm, nm, jm / nm, r.relDiff);
                ObjectNode k = arr.addObject();
                k.put("kernel", r.kernel).put("shape", r.shape).put("java_ms", jm).put("native_ms", nm).put("ratio", jm / nm)
                        .put("rel_diff", r.relDiff);
                k.putPOJO("java_ms_all", r.javaMs);
                k.putPOJO("native_ms_all", r.nativeMs);
            }
            out.put("java_ms_sum", javaTotal).put("native_ms_sum", nativeTotal).put("ratio_sum", javaTotal / nativeTotal);
            System.out.println(JSON.writeValueAsString(out));
        }
        return 0;
    }

    /** The suites that compare the CPU backend's own kernels: --backend cuda is a usage error there. */
    private static void cpuOnly(BenchOptions a, String suite) {
        if (a.backendChoice().kind != BackendChoice.Kind.CPU || a.precision != null) {
            throw new UsageException("bench --suite " + suite + " compares the cpu backend's kernels; it takes no --backend " + a.backend
                    + (a.precision != null ? " or --precision" : ""));
        }
    }

    private static double nextGaussian(SplittableRandom r) {
        double u = 1.0 - r.nextDouble(), v = r.nextDouble();
        return Math.sqrt(-2.0 * Math.log(u)) * Math.cos(2.0 * Math.PI * v);
    }

    static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        return s.length % 2 == 1 ? s[s.length / 2] : 0.5 * (s[s.length / 2 - 1] + s[s.length / 2]);
    }
}
