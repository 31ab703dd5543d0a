package io.lowrank.worker.comm;

import io.lowrank.worker.data.NpyTokens;
import io.lowrank.worker.data.TokenCursor;
import io.lowrank.worker.model.ModelConfig;
import io.lowrank.worker.tensor.Backend;
import io.lowrank.worker.tensor.DType;
import io.lowrank.worker.tensor.Nd4jCpuBackend;
import io.lowrank.worker.train.DataParallelStepBench;
import io.lowrank.worker.train.GradientSync;
import io.lowrank.worker.train.RunConfig;
import io.lowrank.worker.train.Trainer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The training step of {@code bin/netns-ring-bench --train} in CI size: two worker hosts (network
 * namespaces, links capped by tbf), one {@link DataParallelStepBench} JVM in each, training a small
 * model with its gradients all-reduced over the Aeron ring during the backward pass. Every step's
 * loss on each rank and the final weights must be bitwise those of the same two ranks trained in
 * one process over {@link InProcessAllReduce} (CPU float32 with one thread is deterministic, and the
 * ring's sums are bitwise the in-process twin's, as {@link NetnsRingTest} shows), and the two ranks
 * must have seen different windows (different losses).
 */
class NetnsTrainStepTest {
    private static final int WORLD = 2, PORT = 40150, STEPS = 4, VOCAB = 97;
    private static final Map<String, String> OVERRIDES = Map.of(
            "model.hidden_size", "24", "model.intermediate_size", "40", "model.num_attention_heads", "3",
            "train.seq_len", "12", "train.batch_size", "3", "train.lr", "0.01",
            // a few thousand floats per bucket: several buckets per step, submitted mid-backward
            "train.bucket_mb", "0.01");
    private NetnsHosts hosts;
    private final List<Process> processes = new ArrayList<>();

    @AfterEach
    void cleanup() throws InterruptedException {
        for (Process p : processes) p.destroyForcibly();
        for (Process p : processes) p.waitFor(10, TimeUnit.SECONDS);
        if (hosts != null) hosts.close();
    }

    @Test
    @Timeout(120)
    void twoHostsTrainingOverACappedLinkMatchTheInProcessRunBitForBit(@TempDir Path tmp) throws Exception {
        String why = NetnsHosts.unavailableReason();
        assumeTrue(why == null, why);
        hosts = new NetnsHosts(WORLD);
        for (int i = 0; i < WORLD; i++) hosts.capLink(i, "200mbit");
        Path data = tokens(tmp);
        String endpoints = NetnsHosts.address(0) + ":" + PORT + "," + NetnsHosts.address(1) + ":" + PORT;
        List<Path> outputs = new ArrayList<>();
        for (int r = 0; r < WORLD; r++) {
            Path out = tmp.resolve("rank" + r + ".txt");
            outputs.add(out);
            List<String> cmd = new ArrayList<>(List.of(System.getProperty("java.home") + File.separator + "bin" + File.separator + "java",
                    "-Xmx512m", "-XX:+UseSerialGC", "-Dorg.bytedeco.javacpp.maxbytes=2G", "--add-exports=java.base/jdk.internal.misc=ALL-UNNAMED",
                    "--add-opens=java.base/sun.nio.ch=ALL-UNNAMED", "--enable-native-access=ALL-UNNAMED", "-cp",
                    System.getProperty("surefire.test.class.path", System.getProperty("java.class.path")),
                    DataParallelStepBench.class.getName(), "--rank", Integer.toString(r), "--endpoints", endpoints, "--token", "11",
                    "--preset", "tiny", "--layer", "full", "--vocab", Integer.toString(VOCAB), "--steps", Integer.toString(STEPS),
                    "--data", data.toString(), "--done-dir", tmp.resolve("done").toString()));
            for (Map.Entry<String, String> e : OVERRIDES.entrySet()) cmd.addAll(List.of("--set", e.getKey() + "=" + e.getValue()));
            processes.add(new ProcessBuilder(NetnsHosts.inNamespace(hosts.host(r), cmd))
                    .redirectOutput(out.toFile()).redirectError(ProcessBuilder.Redirect.INHERIT).start());
        }
        for (int r = 0; r < WORLD; r++) {
            Process p = processes.get(r);
            assertTrue(p.waitFor(100, TimeUnit.SECONDS), "rank " + r + " did not finish: " + Files.readString(outputs.get(r)));
            assertEquals(0, p.exitValue(), "rank " + r + ": " + Files.readString(outputs.get(r)));
        }

        Twin twin = inProcess(data);
        for (int r = 0; r < WORLD; r++) {
            List<String> lines = Files.readAllLines(outputs.get(r), StandardCharsets.UTF_8);
            List<String> lossBits = lines.stream().filter(l -> l.startsWith("STEP ")).map(l -> field(l, "loss_bits")).toList();
            assertEquals(STEPS, lossBits.size(), "rank " + r + ": " + lines);
            for (int s = 0; s < STEPS; s++) {
                assertEquals(twin.lossBits[r][s], lossBits.get(s), "rank " + r + " step " + s + " loss over the network vs in process");
            }
            String result = lines.stream().filter(l -> l.startsWith("RESULT ")).findFirst().orElseThrow(() -> new AssertionError(lines.toString()));
            assertEquals(twin.weightsCrc, field(result, "weights_crc32"), "rank " + r + " weights over the network vs in process");
            System.err.println("netns train step, rank " + r + ": " + lines.get(lines.size() - 2));
        }
        // each rank trained on its own windows: the same losses would mean the cursor ignored the rank
        assertTrue(!twin.lossBits[0][0].equals(twin.lossBits[1][0]), "both ranks saw the same micro-batch");
    }

    private record Twin(String[][] lossBits, String weightsCrc) {}

    /** The same two ranks on threads of this JVM, summed by the in-process all-reduce. */
    private static Twin inProcess(Path data) throws Exception {
        List<InProcessAllReduce> rings = new InProcessAllReduce.Group(WORLD).joinAll();
        ExecutorService pool = Executors.newFixedThreadPool(WORLD);
        try {
            List<Future<Object[]>> futures = new ArrayList<>();
            for (int r = 0; r < WORLD; r++) {
                final int rank = r;
                futures.add(pool.submit(() -> {
                    RunConfig rc = DataParallelStepBench.config("tiny", "full", new LinkedHashMap<>(OVERRIDES), STEPS);
                    ModelConfig mc = rc.model(VOCAB);
                    try (Backend be = new Nd4jCpuBackend(DType.F32, 1);
                         Trainer t = new Trainer(be, rc, mc, new TokenCursor(List.of(data), rank, WORLD), null, null,
                                 new PrintStream(new ByteArrayOutputStream()))) {
                        t.setGradientSync(new GradientSync(rings.get(rank), t.params().grads(), rc.bucketMb()));
                        String[] bits = new String[STEPS];
                        for (int s = 0; s < STEPS; s++) bits[s] = String.format("%016x", Double.doubleToRawLongBits(t.trainOneStep()));
                        return new Object[]{bits, String.format("%08x", DataParallelStepBench.weightsDigest(t))};
                    }
                }));
            }
            String[][] bits = new String[WORLD][];
            String crc = null;
            for (int r = 0; r < WORLD; r++) {
                Object[] o = futures.get(r).get(60, TimeUnit.SECONDS);
                bits[r] = (String[]) o[0];
                if (crc != null) assertEquals(crc, o[1], "in-process ranks disagree on the weights");
                crc = (String) o[1];
            }
            return new Twin(bits, crc);
        } finally {
            pool.shutdownNow();
            for (InProcessAllReduce r : rings) r.close();
        }
    }

    private static String field(String line, String key) {
        String quoted = "\"" + key + "\":\"";
        int i = line.indexOf(quoted);
        if (i < 0) throw new AssertionError("no " + key + " in " + line);
        int start = i + quoted.length();
        return line.substring(start, line.indexOf('"', start));
    }

    private static Path tokens(Path dir) throws IOException {
        SplittableRandom r = new SplittableRandom(3);
        int[] t = new int[4000];
        for (int i = 0; i < t.length; i++) t[i] = (i % 7 == 0) ? 5 : r.nextInt(VOCAB);   // a learnable pattern plus noise
        Path f = dir.resolve("train.npy");
        NpyTokens.writeInt32(f, t);
        return f;
    }
}
