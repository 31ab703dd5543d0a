package io.lowrank.worker.tensor;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

/**
 * The fused element-wise ops of the float32 backend timed on both paths in the same run: a backend
 * with the FloatKernels Java loops and one with the native kernels, the same inputs, the two calls
 * alternating (Java, native, Java, native, ...) so that both see the same machine load; medians of
 * {@code reps} after {@code warmup}. Ops go through the {@link Backend} methods the training step
 * calls, except attention's causal softmax, which is timed on its own over the (batch, head) blocks
 * spread on the kernel threads exactly as {@link Nd4jCpuBackend#attention} does (without the two
 * products around it). In-place ops (cross-entropy, AdamW, causal softmax forward) run each rep on
 * the previous rep's output, identically on both paths; the softmax backward's upstream gradient is
 * restored (untimed) before each call, since repeated application would shrink it into denormals.
 * RoPE (forward and inverse) rotates q in place on the model's cos/sin table, each rep the previous
 * rep's output (a rotation: the values stay bounded).
 */
public final class FusedOpsBench {
    private FusedOpsBench() {}

    /** One kernel's result: per-rep times of both paths and ||native - java|| / ||java|| of its outputs. */
    public static final class Result {
        public final String kernel, shape;
        public final double[] javaMs, nativeMs;
        public final double relDiff;

        Result(String kernel, String shape, double[] javaMs, double[] nativeMs, double relDiff) {
            this.kernel = kernel;
            this.shape = shape;
            this.javaMs = javaMs;
            this.nativeMs = nativeMs;
            this.relDiff = relDiff;
        }

        public double javaMedian() { return median(javaMs); }
        public double nativeMedian() { return median(nativeMs); }
    }

    /** Shapes of one model: tokens = batch * seqLen. */
    public static final class Shapes {
        public final int batch, seqLen, hidden, intermediate, rank, vocab, heads;
        public final long params;

        public Shapes(int batch, int seqLen, int hidden, int intermediate, int rank, int vocab, int heads, long params) {
            this.batch = batch;
            this.seqLen = seqLen;
            this.hidden = hidden;
            this.intermediate = intermediate;
            this.rank = rank;
            this.vocab = vocab;
            this.heads = heads;
            this.params = params;
        }
    }

    private interface Op { void run(Nd4jCpuBackend be, Object[] t); }
    private interface Setup { Object[] make(Nd4jCpuBackend be); }
    private interface Outputs { float[][] of(Object[] t); }

    /** java: a backend built with nativeKernels=false; nat: one whose nativeFused() is true. */
    public static List<Result> run(Nd4jCpuBackend java, Nd4jCpuBackend nat, Shapes s, int reps, int warmup) {
        if (java.nativeFused() || !nat.nativeFused()) throw new IllegalArgumentException("need a Java and a native backend");
        int tokens = s.batch * s.seqLen;
        List<Result> out = new ArrayList<>();
        SplittableRandom r = new SplittableRandom(11);

        // cross-entropy: logits [tokens, vocab], loss + gradient in place
        float[] logits = randn(r, tokens * s.vocab, 3.0);
        int[] targets = new int[tokens];
        for (int i = 0; i < tokens; i++) targets[i] = r.nextInt(s.vocab);
        out.add(timeWithReset("cross_entropy", "[" + tokens + ", " + s.vocab + "]", java, nat, reps, warmup,
                be -> new Object[]{be.allocate(tokens, s.vocab), tensor(be, logits, tokens, s.vocab)},
                (be, t) -> be.copy((Tensor) t[1], (Tensor) t[0]),
                (be, t) -> be.crossEntropy((Tensor) t[0], targets, -100, 1.0 / tokens),
                t -> new float[][]{((Tensor) t[0]).toFloatArray()}));

        // SiLU on the CoLA bottleneck h = x A [tokens, rank]
        float[] h = randn(r, tokens * s.rank, 2.0), dz = randn(r, tokens * s.rank, 1.0);
        Setup silu = be -> new Object[]{tensor(be, h, tokens, s.rank), be.allocate(tokens, s.rank), tensor(be, dz, tokens, s.rank), be.allocate(tokens, s.rank)};
        out.add(time("silu_fwd", "[" + tokens + ", " + s.rank + "]", java, nat, reps, warmup, silu,
                (be, t) -> be.silu((Tensor) t[0], (Tensor) t[1]), t -> new float[][]{((Tensor) t[1]).toFloatArray()}));
        out.add(time("silu_bwd", "[" + tokens + ", " + s.rank + "]", java, nat, reps, warmup, silu,
                (be, t) -> be.siluBackward((Tensor) t[0], (Tensor) t[2], (Tensor) t[3]), t -> new float[][]{((Tensor) t[3]).toFloatArray()}));

        // SwiGLU gated product act = SiLU(g) * u [tokens, intermediate]
        float[] g = randn(r, tokens * s.intermediate, 2.0), u = randn(r, tokens * s.intermediate, 1.0), dy = randn(r, tokens * s.intermediate, 1.0);
        Setup glu = be -> new Object[]{tensor(be, g, tokens, s.intermediate), tensor(be, u, tokens, s.intermediate), be.allocate(tokens, s.intermediate),
                tensor(be, dy, tokens, s.intermediate), be.allocate(tokens, s.intermediate), be.allocate(tokens, s.intermediate)};
        out.add(time("swiglu_fwd", "[" + tokens + ", " + s.intermediate + "]", java, nat, reps, warmup, glu,
                (be, t) -> be.gatedProduct((Tensor) t[0], (Tensor) t[1], (Tensor) t[2], true), t -> new float[][]{((Tensor) t[2]).toFloatArray()}));
        out.add(time("swiglu_bwd", "[" + tokens + ", " + s.intermediate + "]", java, nat, reps, warmup, glu,
                (be, t) -> be.gatedProductBackward((Tensor) t[0], (Tensor) t[1], (Tensor) t[3], (Tensor) t[4], (Tensor) t[5], true),
                t -> new float[][]{((Tensor) t[4]).toFloatArray(), ((Tensor) t[5]).toFloatArray()}));

        // RMSNorm [tokens, hidden]
        float[] x = randn(r, tokens * s.hidden, 1.0), w = randn(r, s.hidden, 1.0), gy = randn(r, tokens * s.hidden, 1.0);
        Setup norm = be -> {
            Tensor tx = tensor(be, x, tokens, s.hidden), tw = tensor(be, w, s.hidden), o = be.allocate(tokens, s.hidden), inv = be.allocate(tokens);
            be.rmsNorm(tx, tw, 1e-6, o, inv);
            return new Object[]{tx, tw, o, inv, tensor(be, gy, tokens, s.hidden), be.allocate(tokens, s.hidden), be.allocate(s.hidden)};
        };
        out.add(time("rmsnorm_fwd", "[" + tokens + ", " + s.hidden + "]", java, nat, reps, warmup, norm,
                (be, t) -> be.rmsNorm((Tensor) t[0], (Tensor) t[1], 1e-6, (Tensor) t[2], (Tensor) t[3]), t -> new float[][]{((Tensor) t[2]).toFloatArray()}));
        out.add(time("rmsnorm_bwd", "[" + tokens + ", " + s.hidden + "]", java, nat, reps, warmup, norm,
                (be, t) -> be.rmsNormBackward((Tensor) t[0], (Tensor) t[1], (Tensor) t[3], (Tensor) t[4], (Tensor) t[5], (Tensor) t[6]),
                t -> new float[][]{((Tensor) t[5]).toFloatArray()}));

        // RoPE on q (or k) [tokens, hidden] = heads x headDim, the model's table [seqLen, headDim / 2]
        // (norm-preserving, so rotating the previous rep's output stays bounded); inverse = backward
        int hd = s.hidden / s.heads, half = hd / 2;
        float[] q = randn(r, tokens * s.hidden, 1.0), rc = new float[s.seqLen * half], rs = new float[s.seqLen * half];
        for (int t = 0; t < s.seqLen; t++) {
            for (int i = 0; i < half; i++) {
                double a = t / Math.pow(10000.0, 2.0 * i / hd);
                rc[t * half + i] = (float) Math.cos(a);
                rs[t * half + i] = (float) Math.sin(a);
            }
        }
        Setup rope = be -> new Object[]{tensor(be, q, tokens, s.hidden), tensor(be, rc, s.seqLen, half), tensor(be, rs, s.seqLen, half)};
        String ropeShape = "[" + tokens + ", " + s.heads + "x" + hd + "]";
        out.add(time("rope_fwd", ropeShape, java, nat, reps, warmup, rope,
                (be, t) -> be.rope((Tensor) t[0], s.seqLen, s.heads, (Tensor) t[1], (Tensor) t[2], false), t -> new float[][]{((Tensor) t[0]).toFloatArray()}));
        out.add(time("rope_bwd", ropeShape, java, nat, reps, warmup, rope,
                (be, t) -> be.rope((Tensor) t[0], s.seqLen, s.heads, (Tensor) t[1], (Tensor) t[2], true), t -> new float[][]{((Tensor) t[0]).toFloatArray()}));

        // ELAS squared ReLU y2 = ReLU(y1)^2 and dy1 = 2 ReLU(y1) dy2 [tokens, intermediate]
        float[] y1 = randn(r, tokens * s.intermediate, 1.0), dy2 = randn(r, tokens * s.intermediate, 1.0);
        Setup relu2 = be -> new Object[]{tensor(be, y1, tokens, s.intermediate), be.allocate(tokens, s.intermediate),
                tensor(be, dy2, tokens, s.intermediate), be.allocate(tokens, s.intermediate)};
        out.add(time("relu2_fwd", "[" + tokens + ", " + s.intermediate + "]", java, nat, reps, warmup, relu2,
                (be, t) -> be.reluSquare((Tensor) t[0], (Tensor) t[1]), t -> new float[][]{((Tensor) t[1]).toFloatArray()}));
        out.add(time("relu2_bwd", "[" + tokens + ", " + s.intermediate + "]", java, nat, reps, warmup, relu2,
                (be, t) -> be.reluSquareBackward((Tensor) t[0], (Tensor) t[2], (Tensor) t[3]), t -> new float[][]{((Tensor) t[3]).toFloatArray()}));

        // causal softmax of the attention probabilities: batch * heads blocks [seqLen, seqLen]
        int blocks = s.batch * s.heads, tt = s.seqLen * s.seqLen;
        float[] scores = randn(r, blocks * tt, 3.0), dp = randn(r, blocks * tt, 1.0);
        Setup att = be -> {
            Tensor p = tensor(be, scores, blocks * tt);
            Tensor p2 = tensor(be, scores, blocks * tt);
            perBlock(be, blocks, (bk) -> be.floatKernels().causalSoftmaxRows(p2, bk * tt, s.seqLen));
            return new Object[]{p, p2, tensor(be, dp, blocks * tt), be.allocate(blocks * tt)};
        };
        out.add(time("causal_softmax_fwd", blocks + " x [" + s.seqLen + ", " + s.seqLen + "]", java, nat, reps, warmup, att,
                (be, t) -> perBlock(be, blocks, bk -> be.floatKernels().causalSoftmaxRows((Tensor) t[0], bk * tt, s.seqLen)),
                t -> new float[][]{((Tensor) t[0]).toFloatArray()}));
        out.add(timeWithReset("causal_softmax_bwd", blocks + " x [" + s.seqLen + ", " + s.seqLen + "]", java, nat, reps, warmup, att,
                (be, t) -> be.copy((Tensor) t[2], (Tensor) t[3]),
                (be, t) -> perBlock(be, blocks, bk -> be.floatKernels().softmaxBackwardRows((Tensor) t[1], bk * tt,
                        ((Tensor) t[3]).view(bk * tt, s.seqLen, s.seqLen), s.seqLen)),
                t -> new float[][]{((Tensor) t[3]).toFloatArray()}));

        // AdamW over the flat parameter vector
        int n = (int) s.params;
        float[] p0 = randn(r, n, 0.02), g0 = randn(r, n, 1e-3);
        out.add(time("adamw", "[" + n + "]", java, nat, reps, warmup,
                be -> new Object[]{tensor(be, p0, n), tensor(be, g0, n), be.allocate(n), be.allocate(n)},
                (be, t) -> be.adamw((Tensor) t[0], (Tensor) t[1], (Tensor) t[2], (Tensor) t[3], 1e-3, 0.9, 0.999, 1e-8, 0.01, 10),
                t -> new float[][]{((Tensor) t[0]).toFloatArray(), ((Tensor) t[2]).toFloatArray(), ((Tensor) t[3]).toFloatArray()}));
        return out;
    }

    private static void perBlock(Nd4jCpuBackend be, int blocks, java.util.function.IntConsumer body) {
        be.workerPool().run(blocks, (part, from, to) -> { for (int b = from; b < to; b++) body.accept(b); });
    }

    private static Result time(String kernel, String shape, Nd4jCpuBackend java, Nd4jCpuBackend nat, int reps, int warmup,
                               Setup setup, Op op, Outputs outputs) {
        return timeWithReset(kernel, shape, java, nat, reps, warmup, setup, null, op, outputs);
    }

    private static Result timeWithReset(String kernel, String shape, Nd4jCpuBackend java, Nd4jCpuBackend nat, int reps, int warmup,
                                        Setup setup, Op reset, Op op, Outputs outputs) {
        Object[] tj = setup.make(java), tn = setup.make(nat);
        double[] jm = new double[reps], nm = new double[reps];
        for (int i = -warmup; i < reps; i++) {
            if (reset != null) reset.run(java, tj);
            long t0 = System.nanoTime();
            op.run(java, tj);
            long t1 = System.nanoTime();
            if (reset != null) reset.run(nat, tn);
            long t2 = System.nanoTime();
            op.run(nat, tn);
            long t3 = System.nanoTime();
            if (i >= 0) {
                jm[i] = (t1 - t0) / 1e6;
                nm[i] = (t3 - t2) / 1e6;
            }
        }
        float[][] oj = outputs.of(tj), on = outputs.of(tn);
        double num = 0, den = 0;
        for (int k = 0; k < oj.length; k++) {
            for (int i = 0; i < oj[k].length; i++) {
                double d = (double) on[k][i] - oj[k][i];
                num += d * d;
                den += (double) oj[k][i] * oj[k][i];
            }
        }
        return new Result(kernel, shape, jm, nm, den == 0 ? (num == 0 ? 0 : Double.POSITIVE_INFINITY) : Math.sqrt(num / den));
    }

    private static Tensor tensor(Backend be, float[] a, int... shape) {
        Tensor t = be.allocate(shape);
        t.storage.f.put(t.offset, a);   // bulk copy into the direct buffer
        return t;
    }

    private static float[] randn(SplittableRandom r, int n, double scale) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            float v;
            do {
                double u1 = 1.0 - r.nextDouble(), u2 = r.nextDouble();
                v = (float) (scale * Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2));
            } while (v == 0f);
            a[i] = v;
        }
        return a;
    }

    static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        return s.length % 2 == 1 ? s[s.length / 2] : 0.5 * (s[s.length / 2 - 1] + s[s.length / 2]);
    }
}
