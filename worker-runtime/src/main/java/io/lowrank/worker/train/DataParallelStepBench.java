package io.lowrank.worker.train;

import io.lowrank.worker.comm.AeronRingAllReduce;
import io.lowrank.worker.comm.RingConfig;
import io.lowrank.worker.data.NpyTokens;
import io.lowrank.worker.data.TokenCursor;
import io.lowrank.worker.model.ModelConfig;
import io.lowrank.worker.tensor.Backend;
import io.lowrank.worker.tensor.DType;
import io.lowrank.worker.tensor.Nd4jCpuBackend;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.zip.CRC32;

/**
 * One data-parallel worker of a training step in its own process: the trainer of a chunk task
 * ({@code ChunkTask} without Spark), its gradients summed over an Aeron ring by
 * {@link GradientSync} (buckets submitted during the backward pass), every rank reading its own
 * windows of the same token file. Run one per network namespace ({@code bin/netns-ring-bench
 * --train}) to see how much of the all-reduce a capped link leaves hidden behind the backward pass.
 *
 * <p>Per step, both ranks first meet in a one-float all-reduce (so one rank's late start is not
 * counted as the other's communication), then train the step, then time an all-reduce of the same
 * gradient bytes alone ({@link GradientSync#timeStandaloneAllReduce}; the next step zeroes the
 * gradients anyway). Printed per step, as one line {@code STEP {json}}:
 * {@code step_s} (trainOneStep), {@code exposed_s} (the trainer's wait for the all-reduce after its
 * backward pass), {@code compute_s} = step_s - exposed_s, {@code standalone_s}, and
 * {@code hidden_fraction} = 1 - exposed_s / standalone_s (as DistributedTraining reports it), the
 * loss and its raw bits. With {@code --bucket-mb 0.5,25} the bucket sizes take turns, step by step
 * (an A/B comparison under the same machine load). At the end {@code RESULT {json}} with the gradient bytes and a digest of the
 * weights (equal on every rank, and equal to an in-process run of the same ranks: see
 * {@link #weightsDigest}).
 *
 * <p>A rank that finished its last all-reduce may still have to retransmit its last message to a
 * neighbour that lost a packet, so the ring stays open until every rank has written
 * {@code <done-dir>/rank-<r>.done}.
 *
 * <pre>java ... DataParallelStepBench --rank 0 --endpoints 10.0.0.2:40100,10.0.1.2:40100 --token 7
 *     --preset study-s --layer full --vocab 257 --set train.batch_size=2 --bucket-mb 0.5,25 --steps 8 --done-dir /tmp/x</pre>
 */
public final class DataParallelStepBench {
    private DataParallelStepBench() {}

    public static void main(String[] args) throws Exception {
        Map<String, String> o = new LinkedHashMap<>();
        Map<String, String> overrides = new LinkedHashMap<>();
        for (int i = 0; i < args.length; i += 2) {
            if (i + 1 >= args.length) throw new IllegalArgumentException("option " + args[i] + " needs a value");
            if (args[i].equals("--set")) {
                String[] kv = args[i + 1].split("=", 2);
                if (kv.length != 2) throw new IllegalArgumentException("--set " + args[i + 1] + ": expected key=value (train.batch_size=2)");
                overrides.put(kv[0], kv[1]);
            } else if (args[i].startsWith("--")) {
                o.put(args[i].substring(2), args[i + 1]);
            } else {
                throw new IllegalArgumentException("unexpected argument " + args[i]);
            }
        }
        int rank = Integer.parseInt(require(o, "rank"));
        List<String> endpoints = List.of(require(o, "endpoints").split(","));
        int world = endpoints.size();
        int steps = Integer.parseInt(o.getOrDefault("steps", "6"));
        int vocab = Integer.parseInt(o.getOrDefault("vocab", "257"));
        Path doneDir = Path.of(require(o, "done-dir"));
        RunConfig rc = config(o.getOrDefault("preset", "study-s"), o.getOrDefault("layer", "full"), overrides, steps);
        ModelConfig mc = rc.model(vocab);
        Path data = o.containsKey("data") ? Path.of(o.get("data"))
                : syntheticTokens(doneDir.resolve("tokens-rank" + rank + ".npy"), vocab, (long) world * (steps + 1) * rc.batchSize() * rc.gradAccum() * (rc.seqLen() + 1));

        RingConfig ringConfig = RingConfig.builder().rank(rank).endpoints(endpoints)
                .sessionToken(Long.parseLong(o.getOrDefault("token", "0")))
                .mtu(Integer.parseInt(o.getOrDefault("mtu", "8192")))
                .peerTimeoutNs(TimeUnit.MILLISECONDS.toNanos(Long.parseLong(o.getOrDefault("peer-timeout-ms", "30000"))))
                .build();
        FloatBuffer meet = ByteBuffer.allocateDirect(Float.BYTES).order(ByteOrder.nativeOrder()).asFloatBuffer();
        try (Backend be = new Nd4jCpuBackend(DType.F32, rc.threads());
             Trainer trainer = new Trainer(be, rc, mc, new TokenCursor(List.of(data), rank, world), null, null, new PrintStream(new ByteArrayOutputStream()));
             AeronRingAllReduce ring = AeronRingAllReduce.launchWithEmbeddedDriver(ringConfig)) {
            // several bucket sizes take turns step by step, so that they meet the same machine load (A/B in one run)
            String[] bucketList = o.getOrDefault("bucket-mb", Double.toString(rc.bucketMb())).split(",");
            GradientSync[] syncs = new GradientSync[bucketList.length];
            for (int k = 0; k < syncs.length; k++) {
                syncs[k] = new GradientSync(ring, trainer.params().grads(), Double.parseDouble(bucketList[k]));
            }
            long bytesPerStep = 0;
            for (int s = 0; s < steps; s++) {
                GradientSync sync = syncs[s % syncs.length];
                trainer.setGradientSync(sync);
                ring.allReduceSum(meet, 0, 1);
                long exposedBefore = sync.exposedNanos(), bytesBefore = sync.bytes(), bucketsBefore = sync.buckets();
                long t0 = System.nanoTime();
                double loss = trainer.trainOneStep();
                double stepSeconds = (System.nanoTime() - t0) / 1e9;
                double exposed = (sync.exposedNanos() - exposedBefore) / 1e9;
                bytesPerStep = sync.bytes() - bytesBefore;
                long buckets = sync.buckets() - bucketsBefore;
                ring.allReduceSum(meet, 0, 1);
                double standalone = sync.timeStandaloneAllReduce();
                System.out.printf(Locale.ROOT, "STEP {\"rank\":%d,\"step\":%d,\"step_s\":%.6f,\"compute_s\":%.6f,\"exposed_s\":%.6f,"
                                + "\"standalone_s\":%.6f,\"hidden_fraction\":%.4f,\"bucket_mb\":%s,\"buckets\":%d,\"loss\":%.9f,\"loss_bits\":\"%016x\"}%n",
                        rank, s, stepSeconds, stepSeconds - exposed, exposed, standalone, 1 - exposed / standalone, bucketList[s % syncs.length].trim(), buckets, loss,
                        Double.doubleToRawLongBits(loss));
                System.out.flush();
            }
            // the standalone all-reduces overwrote the last step's gradients, not the weights
            System.out.printf(Locale.ROOT, "RESULT {\"rank\":%d,\"params\":%d,\"grad_bytes\":%d,\"batch\":%d,\"seq_len\":%d,"
                            + "\"threads\":%d,\"weights_crc32\":\"%08x\",\"rejected_frames\":%d}%n",
                    rank, trainer.params().count(), bytesPerStep, rc.batchSize(), rc.seqLen(), rc.threads(),
                    weightsDigest(trainer), ring.rejectedFrameCount());
            System.out.flush();
            awaitEveryRank(doneDir, rank, world);
        }
    }

    /** The run's configuration: a preset and layer family, the caller's overrides, and what a bench needs. */
    public static RunConfig config(String preset, String layer, Map<String, String> overrides, int steps) throws IOException {
        Map<String, String> all = new LinkedHashMap<>();
        all.put("train.steps", Integer.toString(steps));
        all.put("train.warmup_steps", "1");
        all.put("train.checkpoint_every", "0");
        all.put("train.eval_every", "0");
        all.put("train.threads", "1");
        all.putAll(overrides);
        return RunConfig.load(preset, layer).with(all);
    }

    /** CRC32 of the weights' float bits: equal digests mean bitwise equal weights. */
    public static long weightsDigest(Trainer trainer) {
        FloatBuffer w = trainer.params().values().storage().floatBuffer();
        int base = trainer.params().values().offset(), n = trainer.params().values().size;
        CRC32 crc = new CRC32();
        ByteBuffer bytes = ByteBuffer.allocate(4096).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < n; i++) {
            if (!bytes.hasRemaining()) {
                crc.update(bytes.flip());
                bytes.clear();
            }
            bytes.putInt(Float.floatToRawIntBits(w.get(base + i)));
        }
        crc.update(bytes.flip());
        return crc.getValue();
    }

    /** Uniform random tokens with a learnable pattern (every 7th token is 5); the same file on every rank. */
    private static Path syntheticTokens(Path file, int vocab, long minTokens) throws IOException {
        int n = (int) Math.min(Integer.MAX_VALUE - 8, Math.max(minTokens, 1 << 16));
        SplittableRandom r = new SplittableRandom(20261207);
        int[] t = new int[n];
        for (int i = 0; i < n; i++) t[i] = (i % 7 == 0) ? 5 % vocab : r.nextInt(vocab);
        Files.createDirectories(file.getParent());
        NpyTokens.writeInt32(file, t);
        return file;
    }

    /** Marks this rank done, then keeps the ring open until every rank is (condition: their marker files). */
    private static void awaitEveryRank(Path doneDir, int rank, int world) throws IOException {
        Files.createDirectories(doneDir);
        Files.writeString(doneDir.resolve("rank-" + rank + ".done"), "done\n");
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        for (int r = 0; r < world; r++) {
            while (!Files.exists(doneDir.resolve("rank-" + r + ".done"))) {
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException("rank " + r + " did not finish within 120 s of rank " + rank + " (no "
                            + doneDir.resolve("rank-" + r + ".done") + ")");
                }
                LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(20));
            }
        }
    }

    private static String require(Map<String, String> o, String key) {
        String v = o.get(key);
        if (v == null) throw new IllegalArgumentException("missing --" + key);
        return v;
    }
}
