package io.lowrank.spark.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.lowrank.spark.cli.SparkSetup;
import io.lowrank.worker.comm.AllReduceBench;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.SparkSession;
import picocli.CommandLine.Option;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.IntStream;

/**
 * {@code bench --suite allreduce --procs P --size-mb M}: the Aeron ring all-reduce between P
 * processes on loopback next to the plain Aeron point-to-point ceiling measured in the same run
 * ({@link AllReduceBench}), and next to what Spark itself offers for the same job: a
 * {@code treeAggregate} of P gradients of M MB on {@code local-cluster[P,1,..]} (executors in
 * separate JVMs) followed by a broadcast of the sum that every executor reads. All three are
 * reported as bus bandwidth, busbw = (bytes / median time) x 2(p-1)/p.
 */
public final class AllReduceSuite {
    /** The allreduce suite's own options (its --warmup is bench's, shared with the other suites). */
    public static final class Options {
        @Option(names = "--procs", paramLabel = "P", defaultValue = "2", description = "[allreduce] processes in the ring, >= 2 (default: ${DEFAULT-VALUE})")
        int procs;

        @Option(names = "--size-mb", paramLabel = "M", defaultValue = "64", description = "[allreduce] gradient size in MiB (default: ${DEFAULT-VALUE})")
        int sizeMb;

        @Option(names = "--iterations", paramLabel = "N", defaultValue = "5", description = "[allreduce] timed all-reduces (default: ${DEFAULT-VALUE})")
        int iterations;

        @Option(names = "--mtu", paramLabel = "BYTES", description = "[allreduce] Aeron MTU (default: 65504, the largest)")
        Integer mtu;

        @Option(names = "--term-mb", paramLabel = "M", description = "[allreduce] Aeron term length in MiB (default: 16)")
        Integer termMb;

        @Option(names = "--window-mb", paramLabel = "M", defaultValue = "4", description = "[allreduce] Aeron receiver window in MiB (default: ${DEFAULT-VALUE})")
        int windowMb;

        @Option(names = "--threading", paramLabel = "MODE", defaultValue = "shared", description = "[allreduce] Aeron media driver threading: shared, shared_network, dedicated (default: ${DEFAULT-VALUE})")
        String threading;

        @Option(names = "--tree-iterations", paramLabel = "N", defaultValue = "3", description = "[allreduce] timed Spark treeAggregate rounds (default: ${DEFAULT-VALUE})")
        int treeIterations;
    }

    private AllReduceSuite() {}

    public static int run(Options a, int warmup) throws Exception {
        List<String> ring = new ArrayList<>(List.of("--procs", Integer.toString(a.procs), "--size-mb", Integer.toString(a.sizeMb),
                "--iterations", Integer.toString(a.iterations), "--warmup", Integer.toString(warmup),
                "--window-mb", Integer.toString(a.windowMb), "--threading", a.threading));
        if (a.mtu != null) ring.addAll(List.of("--mtu", Integer.toString(a.mtu)));
        if (a.termMb != null) ring.addAll(List.of("--term-mb", Integer.toString(a.termMb)));
        ObjectNode result = (ObjectNode) new ObjectMapper().readTree(lastLine(() -> AllReduceBench.main(ring.toArray(new String[0]))));
        double tree = treeAggregateBusbw(a.procs, a.sizeMb, a.treeIterations);
        result.put("tree_aggregate_gb_s", tree);
        result.put("speedup_vs_tree_aggregate", result.get("busbw_gb_s").asDouble() / tree);
        result.put("fraction_of_aeron_ceiling", result.get("busbw_gb_s").asDouble() / result.get("aeron_ceiling_gb_s").asDouble());
        result.remove("note");
        System.out.println(result);
        return 0;
    }

    static double treeAggregateBusbw(int procs, int sizeMb, int iterations) {
        int n = sizeMb * (1 << 20) / Float.BYTES;
        int executorMb = Math.max(1024, 4 * sizeMb + 512);
        // a whole gradient is one task result and one broadcast: Spark's defaults (64 MB Kryo buffer,
        // 1 GB executors) are sized for rows, not for this
        System.setProperty("spark.kryoserializer.buffer.max", Math.min(2047, 2 * sizeMb + 64) + "m");
        System.setProperty("spark.driver.maxResultSize", "0");
        System.setProperty("spark.executor.memory", executorMb + "m");
        SparkSession spark = SparkSetup.session("lowrank bench treeAggregate", "local-cluster[" + procs + ",1,"
                + executorMb + "]", 1, 600);
        try {
            JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
            JavaRDD<Integer> ranks = jsc.parallelize(IntStream.range(0, procs).boxed().toList(), procs).cache();
            ranks.count();
            double[] seconds = new double[iterations];
            for (int it = -1; it < iterations; it++) {
                long t0 = System.nanoTime();
                float[] sum = ranks.map(r -> gradient(r, n)).treeAggregate(new float[n], AllReduceSuite::add, AllReduceSuite::add, 2);
                Broadcast<float[]> b = jsc.broadcast(sum);
                long seen = ranks.map(r -> (long) b.value().length).reduce(Long::sum);
                long t1 = System.nanoTime();
                b.destroy();
                if (seen != (long) n * procs) throw new IllegalStateException("broadcast read " + seen + " floats");
                if (it >= 0) seconds[it] = (t1 - t0) / 1e9;
            }
            Arrays.sort(seconds);
            double median = seconds[iterations / 2];
            return (double) n * Float.BYTES / median * 2.0 * (procs - 1) / procs / 1e9;
        } finally {
            spark.stop();
            System.clearProperty("spark.kryoserializer.buffer.max");
            System.clearProperty("spark.driver.maxResultSize");
            System.clearProperty("spark.executor.memory");
        }
    }

    private static float[] gradient(int rank, int n) {
        float[] g = new float[n];
        for (int i = 0; i < n; i++) g[i] = (i % 97) * 1e-3f + rank;
        return g;
    }

    private static float[] add(float[] a, float[] b) {
        for (int i = 0; i < a.length; i++) a[i] += b[i];
        return a;
    }

    interface Body { void run() throws Exception; }

    private static String lastLine(Body body) throws Exception {
        PrintStream saved = System.out;
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        System.setOut(new PrintStream(buf, true));
        try {
            body.run();
        } finally {
            System.setOut(saved);
        }
        String[] lines = buf.toString().trim().split("\n");
        return lines[lines.length - 1];
    }
}
