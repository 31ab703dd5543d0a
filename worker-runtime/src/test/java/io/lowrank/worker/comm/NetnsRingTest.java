package io.lowrank.worker.comm;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedReader;
import java.io.DataInputStream;
import java.io.File;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.FloatBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.ThreadLocalRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The Aeron ring across real network interfaces: one network namespace per worker host, veth
 * links to a router namespace, one JVM per rank ({@code ip netns exec}), every ring link through a
 * UDP fault proxy in the router namespace ({@link UdpFaultProxy}; this kernel has no netem).
 * Loss, delay and reordering leave the sums bitwise those of the in-process twin; a link cut fails
 * every rank within the peer timeout, and when the link returns a retried attempt (the next stage
 * attempt's session token, as {@code WorkerRing} builds it) completes on the same hosts and ports
 * while rejecting the failed attempt's frames. Needs root and iproute2 (CI runs as root); elsewhere
 * the tests are skipped saying why.
 */
class NetnsRingTest {
    private static final int WORLD = 3, RANK_PORT = 40100, PROXY_PORT = 40200;
    private NetnsHosts hosts;
    private final List<Process> processes = new ArrayList<>();

    @BeforeEach
    void hosts() throws IOException {
        String why = NetnsHosts.unavailableReason();
        assumeTrue(why == null, why);
        hosts = new NetnsHosts(WORLD);
    }

    @AfterEach
    void cleanup() {
        for (Process p : processes) p.destroyForcibly();
        for (Process p : processes) {
            try {
                p.waitFor(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        if (hosts != null) hosts.close();
    }

    @Test
    @Timeout(180)
    void lossDelayAndReorderingBetweenHostsGiveBitwiseTheInProcessResult(@TempDir Path tmp) throws Exception {
        long seed = 20261207;
        Child proxy = startProxy(0.01, 5, 3);
        List<Child> ranks = new ArrayList<>();
        for (int r = 0; r < WORLD; r++) {
            ranks.add(startRank(r, 77, seed, 3, 20_000, tmp.resolve("rank" + r + ".bin")));
        }
        for (Child c : ranks) c.awaitLine("DONE", 150);
        for (Child c : ranks) c.process.getOutputStream().close();   // every rank is done: they may close their rings
        for (Child c : ranks) c.awaitExit(30);
        for (int r = 0; r < WORLD; r++) {
            assertEquals(0, ranks.get(r).process.exitValue(), "rank " + r + ": " + ranks.get(r).lines);
        }
        proxy.process.getOutputStream().close();   // the proxy prints its counts and exits
        proxy.awaitExit(20);
        String stats = proxy.lines.stream().filter(l -> l.startsWith("STATS")).findFirst().orElseThrow(() -> new AssertionError(proxy.lines.toString()));
        long dropped = Long.parseLong(stats.replaceAll(".*dropped=(\\d+).*", "$1"));
        long reordered = Long.parseLong(stats.replaceAll(".*reordered=(\\d+).*", "$1"));
        assertTrue(dropped > 0 && reordered > 0, "the proxy must have lost and reordered packets: " + stats);
        System.err.println("fault proxy: " + stats);

        float[] twin = inProcessTwin(seed);
        for (int r = 0; r < WORLD; r++) assertBitwiseEqual(twin, readFloats(tmp.resolve("rank" + r + ".bin")), "rank " + r);
    }

    @Test
    @Timeout(240)
    void aLinkTakenDownMidRunFailsEveryWorkerNamingThePeerAndTheRetriedAttemptCompletesWhenItReturns(@TempDir Path tmp) throws Exception {
        long peerTimeoutMs = 2000, seed = 5, runToken = ThreadLocalRandom.current().nextLong();
        int chunk = 3;
        long failedToken = RingSessionToken.forAttempt(runToken, chunk, 0);
        long retryToken = RingSessionToken.forAttempt(runToken, chunk, 1);   // the retried stage attempt (WorkerRing)
        startProxy(0, 0, 0);
        List<Child> ranks = new ArrayList<>();
        for (int r = 0; r < WORLD; r++) ranks.add(startRank(r, failedToken, seed, 1_000_000, peerTimeoutMs, null));
        for (Child c : ranks) c.awaitLine("PASS 3", 120);
        long down = System.nanoTime();
        hosts.setLink(1, false);   // rank 1's host loses its link, in the middle of the passes
        for (Child c : ranks) c.awaitExit(30);
        for (int rank = 0; rank < WORLD; rank++) {
            final int r = rank;
            Child c = ranks.get(r);
            double seconds = (c.exitNanos - down) / 1e9;
            String failure = c.lines.stream().filter(l -> l.startsWith("FAILED")).findFirst()
                    .orElseThrow(() -> new AssertionError("rank " + r + " did not fail: " + c.lines));
            assertEquals(3, c.process.exitValue());
            // detection takes the peer timeout; allow the JVM's exit and a loaded machine on top
            assertTrue(seconds < peerTimeoutMs / 1000.0 + 4, "rank " + r + " failed " + seconds + " s after the link went down: " + failure);
            // rank 0 publishes to rank 1 across the cut: it names rank 1. The ring then stalls end to end, so the
            // others name the neighbour that stopped answering them first (rank 1 itself lost both of its own)
            String expected = r == 0 ? "right neighbour rank 1 (" : "neighbour rank ";
            assertTrue(failure.contains(expected) && failure.contains(":" + (r == 0 ? PROXY_PORT : "")), "rank " + r + ": " + failure);
            System.err.printf("link down: rank %d failed after %.2f s: %s%n", r, seconds, failure.substring(0, Math.min(160, failure.length())));
        }

        // The link returns and the chunk is retried: a new stage attempt, hence a new session token, on the same
        // hosts and (the worst case for stale frames) the same ports and proxy links. A leftover of the failed
        // attempt on host 1 keeps sending rank 1's frames of that attempt into the same link to rank 2; they are
        // well-formed and differ from the retry's only in their token. Rank 2 waits until it has rejected some
        // before it starts, so the check cannot pass by the leftover arriving too late.
        hosts.setLink(1, true);
        List<String> staleEndpoints = endpointsSeenBy(1);
        staleEndpoints.set(1, NetnsHosts.address(1) + ":" + (RANK_PORT + 10));   // its own port: the retry's rank 1 holds 40101
        Child stale = start(NetnsHosts.inNamespace(hosts.host(1), rankCommand(1, staleEndpoints, failedToken, seed, 1, 120_000, null)));
        long retryStart = System.nanoTime();
        List<Child> retry = new ArrayList<>();
        for (int r = 0; r < WORLD; r++) {
            List<String> extra = r == 2 ? List.of("--await-rejected", "1") : List.of();
            retry.add(start(NetnsHosts.inNamespace(hosts.host(r),
                    rankCommand(r, endpointsSeenBy(r), retryToken, seed, 1, 10_000, tmp.resolve("retry" + r + ".bin"), extra))));
        }
        for (Child c : retry) c.awaitLine("DONE", 120);
        for (Child c : retry) c.process.getOutputStream().close();
        for (Child c : retry) c.awaitExit(30);
        for (int r = 0; r < WORLD; r++) assertEquals(0, retry.get(r).process.exitValue(), "retried rank " + r + ": " + retry.get(r).lines);
        assertTrue(stale.process.isAlive(), "the failed attempt's leftover must still be sending during the retry: " + stale.lines);
        long rejected = Long.parseLong(retry.get(2).lines.stream().filter(l -> l.startsWith("REJECTED ")).findFirst()
                .orElseThrow(() -> new AssertionError(retry.get(2).lines.toString())).substring("REJECTED ".length()));
        assertTrue(rejected >= 1, "rank 2 rejected " + rejected + " frames of the failed attempt");
        float[] twin = inProcessTwin(seed);
        for (int r = 0; r < WORLD; r++) assertBitwiseEqual(twin, readFloats(tmp.resolve("retry" + r + ".bin")), "retried rank " + r);
        System.err.printf("retry: completed in %.2f s after the link returned, rank 2 rejected %d frames of the failed attempt%n",
                (System.nanoTime() - retryStart) / 1e9, rejected);
    }

    /** The same inputs and buckets through the in-process twin: the reference every rank must match bit for bit. */
    private static float[] inProcessTwin(long seed) throws Exception {
        FloatBuffer[] inputs = NetnsRingChild.inputs(WORLD, seed);
        List<InProcessAllReduce> rings = new InProcessAllReduce.Group(WORLD).joinAll();
        FloatBuffer[] data = CommTestSupport.copies(inputs);
        try {
            Throwable[] failures = CommTestSupport.runRanks(WORLD, 60, rank -> {
                int offset = 0;
                for (int len : NetnsRingChild.BUCKETS) {
                    rings.get(rank).submit(data[rank], offset, len);
                    offset += len;
                }
                rings.get(rank).awaitAll();
            });
            for (Throwable t : failures) if (t != null) throw new AssertionError(t);
        } finally {
            for (InProcessAllReduce r : rings) r.close();
        }
        float[] out = new float[NetnsRingChild.LENGTH];
        for (int i = 0; i < out.length; i++) out[i] = data[0].get(i);
        for (int r = 1; r < WORLD; r++) {
            for (int i = 0; i < out.length; i++) assertEquals(Float.floatToRawIntBits(out[i]), Float.floatToRawIntBits(data[r].get(i)));
        }
        return out;
    }

    private Child startProxy(double loss, double delayMs, double jitterMs) throws Exception {
        List<String> cmd = java(UdpFaultProxy.class);
        cmd.addAll(List.of("--loss", Double.toString(loss), "--delay-ms", Double.toString(delayMs), "--jitter-ms", Double.toString(jitterMs),
                "--seed", Long.toString(ThreadLocalRandom.current().nextLong())));
        for (int i = 0; i < WORLD; i++) {
            int next = (i + 1) % WORLD;
            cmd.addAll(List.of("--link", NetnsHosts.gateway(i) + ":" + (PROXY_PORT + i) + "=" + NetnsHosts.address(next) + ":" + (RANK_PORT + next)));
        }
        Child proxy = start(NetnsHosts.inNamespace(hosts.router(), cmd));
        proxy.awaitLine("READY", 60);
        return proxy;
    }

    /** Rank r subscribes on its own address and publishes to the proxy on its link, which relays to rank r+1. */
    private Child startRank(int r, long token, long seed, int passes, long peerTimeoutMs, Path out) throws Exception {
        return start(NetnsHosts.inNamespace(hosts.host(r), rankCommand(r, endpointsSeenBy(r), token, seed, passes, peerTimeoutMs, out)));
    }

    /** Every rank's endpoint as rank r sees it: its right neighbour is the proxy on r's link. */
    private static List<String> endpointsSeenBy(int r) {
        List<String> endpoints = new ArrayList<>();
        for (int k = 0; k < WORLD; k++) endpoints.add(NetnsHosts.address(k) + ":" + (RANK_PORT + k));
        endpoints.set((r + 1) % WORLD, NetnsHosts.gateway(r) + ":" + (PROXY_PORT + r));
        return endpoints;
    }

    private static List<String> rankCommand(int r, List<String> endpoints, long token, long seed, int passes, long peerTimeoutMs, Path out,
                                            List<String> extra) {
        List<String> cmd = java(NetnsRingChild.class);
        cmd.addAll(List.of("--rank", Integer.toString(r), "--endpoints", String.join(",", endpoints), "--token", Long.toString(token),
                "--seed", Long.toString(seed), "--passes", Integer.toString(passes), "--peer-timeout-ms", Long.toString(peerTimeoutMs)));
        if (out != null) cmd.addAll(List.of("--out", out.toString()));
        cmd.addAll(extra);
        return cmd;
    }

    private static List<String> rankCommand(int r, List<String> endpoints, long token, long seed, int passes, long peerTimeoutMs, Path out) {
        return rankCommand(r, endpoints, token, seed, passes, peerTimeoutMs, out, List.of());
    }

    private static void assertBitwiseEqual(float[] twin, float[] got, String who) {
        assertEquals(twin.length, got.length, who);
        for (int i = 0; i < twin.length; i++) {
            if (Float.floatToRawIntBits(twin[i]) != Float.floatToRawIntBits(got[i])) {
                throw new AssertionError(who + " element " + i + ": " + got[i] + " over the network, " + twin[i] + " in process");
            }
        }
    }

    private static List<String> java(Class<?> main) {
        List<String> cmd = new ArrayList<>();
        cmd.add(System.getProperty("java.home") + File.separator + "bin" + File.separator + "java");
        cmd.addAll(List.of("-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "--add-exports=java.base/jdk.internal.misc=ALL-UNNAMED",
                "--add-opens=java.base/sun.nio.ch=ALL-UNNAMED", "-cp",
                System.getProperty("surefire.test.class.path", System.getProperty("java.class.path")), main.getName()));
        return cmd;
    }

    private Child start(List<String> command) throws IOException {
        Process p = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.INHERIT).start();
        processes.add(p);
        return new Child(p);
    }

    private static float[] readFloats(Path f) throws IOException {
        int n = (int) (Files.size(f) / 4);
        float[] out = new float[n];
        try (DataInputStream in = new DataInputStream(new java.io.BufferedInputStream(Files.newInputStream(f)))) {
            for (int i = 0; i < n; i++) out[i] = Float.intBitsToFloat(in.readInt());
        }
        return out;
    }

    /** A child process whose stdout lines are collected as they come. */
    private static final class Child {
        final Process process;
        final List<String> lines = new CopyOnWriteArrayList<>();
        volatile long exitNanos;

        Child(Process p) {
            this.process = p;
            Thread reader = new Thread(() -> {
                try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
                    for (String line; (line = r.readLine()) != null; ) {
                        lines.add(line);
                        synchronized (this) { notifyAll(); }
                    }
                } catch (IOException ignored) {
                    // the process ended
                }
                synchronized (this) { notifyAll(); }
            }, "child-stdout");
            reader.setDaemon(true);
            reader.start();
            p.onExit().thenRun(() -> exitNanos = System.nanoTime());
        }

        synchronized void awaitLine(String line, long seconds) throws InterruptedException {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
            while (!lines.contains(line)) {
                long left = deadline - System.nanoTime();
                if (left <= 0 || (!process.isAlive() && !lines.contains(line))) {
                    if (lines.contains(line)) return;
                    throw new AssertionError("no '" + line + "' in " + seconds + " s (alive " + process.isAlive() + "): " + lines);
                }
                wait(Math.max(1, Math.min(200, left / 1_000_000)));
            }
        }

        void awaitExit(long seconds) throws InterruptedException {
            if (!process.waitFor(seconds, TimeUnit.SECONDS)) {
                throw new AssertionError("process did not exit in " + seconds + " s: " + lines);
            }
            process.onExit().join();
            while (exitNanos == 0) Thread.onSpinWait();
        }
    }
}
