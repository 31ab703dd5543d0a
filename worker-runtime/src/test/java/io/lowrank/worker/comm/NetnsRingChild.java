package io.lowrank.worker.comm;

import java.io.DataOutputStream;
import java.io.FileOutputStream;
import java.io.BufferedOutputStream;
import java.nio.FloatBuffer;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * One rank of the Aeron ring in its own process (started inside a network namespace by
 * {@link NetnsRingTest}). Reduces the test's deterministic inputs ({@link #inputs}) in the test's
 * buckets ({@link #BUCKETS}, all in flight at once) and writes the result floats to a file; with
 * {@code --passes N} it repeats that (restoring its inputs) N times, printing {@code PASS k} after
 * each, so that a test can take a link down mid-run. With {@code --await-rejected N} it first waits,
 * before submitting anything (its agent thread polls the subscription meanwhile), until it has
 * rejected N frames with a foreign session token (a retried attempt proving that a leftover of the
 * failed one cannot feed it), and prints {@code REJECTED <count>} after its passes. A failure prints
 * {@code FAILED <ms since the last pass> <message>} and exits 3.
 */
public final class NetnsRingChild {
    /** Bucket lengths in floats: uneven sizes, one smaller than the world (chunks of 0 or 1 element). */
    static final int[] BUCKETS = {120_000, 250_000, 2, 79_998, 150_000};
    static final int LENGTH = java.util.Arrays.stream(BUCKETS).sum();

    static FloatBuffer[] inputs(int world, long seed) {
        return CommTestSupport.randomInputs(world, LENGTH, seed, false);
    }

    public static void main(String[] args) throws Exception {
        int rank = -1, world = -1, passes = 1, awaitRejected = 0;
        long token = 0, seed = 1, peerTimeoutMs = 10_000;
        List<String> endpoints = null;
        String out = null;
        for (int i = 0; i < args.length; i += 2) {
            switch (args[i]) {
                case "--rank" -> rank = Integer.parseInt(args[i + 1]);
                case "--endpoints" -> endpoints = List.of(args[i + 1].split(","));
                case "--token" -> token = Long.parseLong(args[i + 1]);
                case "--seed" -> seed = Long.parseLong(args[i + 1]);
                case "--peer-timeout-ms" -> peerTimeoutMs = Long.parseLong(args[i + 1]);
                case "--passes" -> passes = Integer.parseInt(args[i + 1]);
                case "--out" -> out = args[i + 1];
                case "--await-rejected" -> awaitRejected = Integer.parseInt(args[i + 1]);
                default -> throw new IllegalArgumentException("unknown option " + args[i]);
            }
        }
        world = endpoints.size();
        RingConfig config = RingConfig.builder().rank(rank).endpoints(endpoints).sessionToken(token)
                .mtu(8192).peerTimeoutNs(TimeUnit.MILLISECONDS.toNanos(peerTimeoutMs)).build();
        FloatBuffer mine = inputs(world, seed)[rank];
        FloatBuffer data = CommTestSupport.directFloats(LENGTH);
        long lastPass = System.nanoTime();
        AeronRingAllReduce ring = AeronRingAllReduce.launchWithEmbeddedDriver(config);
        try {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (ring.rejectedFrameCount() < awaitRejected) {
                if (System.nanoTime() > deadline) {
                    throw new AllReduceException("rank " + rank + ": only " + ring.rejectedFrameCount() + " of the "
                            + awaitRejected + " foreign-token frames it waits for arrived in 60 s");
                }
                if (ring.failure() != null) throw ring.failure();
                java.util.concurrent.locks.LockSupport.parkNanos(1_000_000);   // the ring's own agent thread polls
            }
            for (int pass = 1; pass <= passes; pass++) {
                for (int i = 0; i < LENGTH; i++) data.put(i, mine.get(i));
                int offset = 0;
                for (int len : BUCKETS) {
                    ring.submit(data, offset, len);
                    offset += len;
                }
                ring.awaitAll();
                lastPass = System.nanoTime();
                System.out.println("PASS " + pass);
                System.out.flush();
            }
            if (awaitRejected > 0) System.out.println("REJECTED " + ring.rejectedFrameCount());
            if (out != null) {
                try (DataOutputStream o = new DataOutputStream(new BufferedOutputStream(new FileOutputStream(out)))) {
                    for (int i = 0; i < LENGTH; i++) o.writeInt(Float.floatToRawIntBits(data.get(i)));
                }
            }
            // A rank that has sent its last message may still have to retransmit it (a lost packet): the ring
            // stays open until every rank is done, which the parent signals by closing stdin (in Spark the
            // chunk's closing allGather plays this part)
            System.out.println("DONE");
            System.out.flush();
            while (System.in.read() >= 0) { /* wait for EOF */ }
        } catch (AllReduceException e) {
            System.out.println("FAILED " + (System.nanoTime() - lastPass) / 1_000_000 + " " + e.getMessage().replace('\n', ' '));
            System.out.flush();
            System.exit(3);
        } finally {
            ring.close();
        }
        System.exit(0);
    }
}
