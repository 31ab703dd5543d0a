import io.lowrank.worker.model.*;
import io.lowrank.worker.optim.AdamW;
import io.lowrank.worker.optim.GradClip;
import io.lowrank.worker.tensor.*;
import io.lowrank.worker.train.Batches;
import io.lowrank.worker.train.RunConfig;

import java.lang.reflect.InvocationHandler;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.util.*;

/**
 * Where a training step's time goes, by backend op: every Backend call of the bench's step is
 * timed through a java.lang.reflect.Proxy (gemm calls keyed by m x n x k and transposes), summed
 * over the timed steps and divided by their count. The models alternate steps as in bench.
 * args: preset batch seqLen steps layer[,layer...]   (the proxy costs about 1 us per call)
 */
public class StepProfile {
    static final int AGAIN = Integer.getInteger("again", 0);   // > 0: time each product's AGAIN-th rerun too
    static final boolean REPEAT = AGAIN > 0;
    static final String MODE = System.getProperty("again.mode", "");

    static final class Timed implements InvocationHandler {
        final Backend be;
        final Map<String, long[]> ns = new TreeMap<>();   // key -> {total ns, calls}
        boolean on;
        final Tensor flush;
        Timed(Backend be) { this.be = be; this.flush = MODE.equals("flush") ? be.allocate(32 << 20) : null; }
        @Override public Object invoke(Object proxy, Method m, Object[] a) throws Throwable {
            long t0 = System.nanoTime();
            Object r;
            try { r = m.invoke(be, a); } catch (InvocationTargetException e) { throw e.getCause(); }
            if (on) {
                String key = m.getName();
                if (key.equals("gemm")) key = String.format("gemm %s%s %5d x %5d x %5d", (Boolean) a[0] ? "T" : "N", (Boolean) a[1] ? "T" : "N", a[2], a[3], a[4]);
                if (key.equals("matmul")) {   // (a, transA, b, transB, c, beta): m x n x k of C = op(A) op(B)
                    Tensor x = (Tensor) a[0], y = (Tensor) a[2];
                    boolean ta = (Boolean) a[1], tb = (Boolean) a[3];
                    key = String.format("matmul %s%s %5d x %5d x %5d", ta ? "T" : "N", tb ? "T" : "N",
                            ta ? x.dim(1) : x.dim(0), tb ? y.dim(0) : y.dim(1), ta ? x.dim(0) : x.dim(1));
                }
                long[] s = ns.computeIfAbsent(key, k -> new long[2]);
                s[0] += System.nanoTime() - t0;
                s[1]++;
                // the same product again right after, its operands now in cache (an accumulating
                // product then adds twice: the gradients are wrong, the timings of what follows are not)
                if (REPEAT && m.getName().equals("matmul")) {
                    for (int i = 1; i < AGAIN; i++) m.invoke(be, a);
                    if (MODE.equals("flush")) be.fill(flush, 1.0);     // operands out of the caches, threads awake
                    if (MODE.equals("sleep")) Thread.sleep(2);         // operands in cache, threads (and vCPUs) idle
                    long t1 = System.nanoTime();
                    m.invoke(be, a);
                    long[] h = ns.computeIfAbsent("  again " + key, k -> new long[2]);
                    h[0] += System.nanoTime() - t1;
                    h[1]++;
                }
            }
            return r;
        }
    }

    public static void main(String[] args) throws Exception {
        String preset = args[0];
        int batch = Integer.parseInt(args[1]), seqLen = Integer.parseInt(args[2]), steps = Integer.parseInt(args[3]);
        String[] layers = args[4].split(",");
        int n = layers.length;
        Timed[] timed = new Timed[n];
        Backend[] bes = new Backend[n];
        ParameterStore[] pss = new ParameterStore[n];
        LlamaModel[] models = new LlamaModel[n];
        AdamW[] opts = new AdamW[n];
        double[][] stepMs = new double[n][steps];
        int[] windows = null, in = new int[batch * seqLen], tg = new int[batch * seqLen];
        for (int l = 0; l < n; l++) {
            RunConfig rc = RunConfig.load(preset, layers[l]);
            ModelConfig mc = rc.model(32000);
            timed[l] = new Timed(new Nd4jCpuBackend(DType.F32, 2));
            bes[l] = (Backend) Proxy.newProxyInstance(Backend.class.getClassLoader(), new Class<?>[]{Backend.class}, timed[l]);
            pss[l] = new ParameterStore(bes[l], ModelLayout.of(mc));
            Initializer.initialize(pss[l], mc, 1);
            models[l] = new LlamaModel(bes[l], mc, pss[l], batch, seqLen);
            opts[l] = new AdamW(bes[l], (int) pss[l].count(), 0.9, 0.999, 1e-8, 0.01);
            if (windows == null) {
                SplittableRandom r = new SplittableRandom(7);
                windows = new int[batch * (seqLen + 1)];
                for (int i = 0; i < windows.length; i++) windows[i] = r.nextInt(mc.vocabSize);
            }
        }
        for (int s = -2; s < steps; s++) {
            for (int l = 0; l < n; l++) {
                timed[l].on = s >= 0;
                long t0 = System.nanoTime();
                bes[l].fill(pss[l].grads(), 0.0);
                Batches.split(windows, batch, seqLen, in, tg);
                models[l].forwardMean(in, tg, 1.0);
                models[l].backward();
                GradClip.clip(bes[l], pss[l].grads(), 1.0);
                opts[l].step(pss[l].values(), pss[l].grads(), 1e-4);
                if (s >= 0) stepMs[l][s] = (System.nanoTime() - t0) / 1e6;
            }
        }
        for (int l = 0; l < n; l++) {
            double[] sorted = stepMs[l].clone();
            Arrays.sort(sorted);
            double total = 0;
            for (long[] v : timed[l].ns.values()) total += v[0];
            System.out.printf("## %s %s batch %d seq %d: step median %.1f ms; backend calls %.1f ms/step%n",
                    preset, layers[l], batch, seqLen, sorted[steps / 2], total / 1e6 / steps);
            List<Map.Entry<String, long[]>> rows = new ArrayList<>(timed[l].ns.entrySet());
            rows.sort((x, y) -> Long.compare(y.getValue()[0], x.getValue()[0]));
            for (Map.Entry<String, long[]> e : rows) {
                System.out.printf("%9.2f ms/step %6.1f%% %5d calls/step  %s%n", e.getValue()[0] / 1e6 / steps,
                        100.0 * e.getValue()[0] / total, e.getValue()[1] / steps, e.getKey());
            }
            bes[l].close();
        }
    }
}
