package io.lowrank.worker.comm;

import io.aeron.Aeron;
import io.aeron.AeronCounters;
import io.aeron.ExclusivePublication;
import io.aeron.Publication;
import io.aeron.Subscription;
import io.aeron.driver.ThreadingMode;
import io.aeron.logbuffer.BufferClaim;
import io.aeron.logbuffer.FragmentHandler;
import org.agrona.CloseHelper;
import org.agrona.concurrent.IdleStrategy;
import org.agrona.concurrent.UnsafeBuffer;

import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStreamReader;
import java.lang.management.ManagementFactory;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Measures the Aeron ring all-reduce across real processes on loopback (no Spark).
 *
 * <pre>
 *   java --add-exports=java.base/jdk.internal.misc=ALL-UNNAMED -cp CLASSPATH io.lowrank.worker.comm.AllReduceBench \
 *       --procs 2 --size-mb 64 [--iterations 5] [--warmup 2] [--mtu 65504] [--term-mb 16] [--window-mb 4] \
 *       [--threading shared|shared_network|dedicated]
 * </pre>
 *
 * The parent starts {@code procs} JVMs (the current java, class path and JVM flags), each with its own embedded media
 * driver, that reduce {@code size-mb} MB per iteration; before each timed iteration a one-float all-reduce lines the
 * ranks up, and an iteration's time is the slowest rank's. It also measures a plain Aeron UDP point-to-point transfer
 * of the same size with the same settings and message size between two more JVMs (sender times until the receiver's
 * acknowledgement). The last line of stdout is one JSON object:
 * {@code {"busbw_gb_s":..,"algbw_gb_s":..,"aeron_ceiling_gb_s":..,"tree_aggregate_gb_s":null,"procs":P,"size_mb":M,..}}
 * with algbw = bytes / median time, busbw = algbw * 2(p-1)/p (NCCL's bus bandwidth). {@code tree_aggregate_gb_s} is
 * null: Spark's treeAggregate comparison belongs to the Spark module.
 */
public final class AllReduceBench
{
    private static final String RESULT_PREFIX = "RESULT ";
    private static final long CHILD_TIMEOUT_S = 300;
    private static final int P2P_STREAM_ID = RingConfig.DEFAULT_STREAM_ID + 1;

    private AllReduceBench()
    {
    }

    public static void main(final String[] args) throws Exception
    {
        final Map<String, String> options = parse(args);
        final String role = options.getOrDefault("child", "parent");
        switch (role)
        {
            case "parent":
                runParent(options);
                break;
            case "ring":
                runRingChild(options);
                break;
            case "p2p-sender":
                runP2pSender(options);
                break;
            case "p2p-receiver":
                runP2pReceiver(options);
                break;
            default:
                throw new IllegalArgumentException("unknown --child role: " + role);
        }
    }

    // ----------------------------------------------------------------------------------------------------------------
    // Parent
    // ----------------------------------------------------------------------------------------------------------------

    private static void runParent(final Map<String, String> options) throws Exception
    {
        final int procs = Integer.parseInt(require(options, "procs"));
        final int sizeMb = Integer.parseInt(require(options, "size-mb"));
        if (procs < 2)
        {
            throw new IllegalArgumentException("--procs must be >= 2 (a ring of one process moves no data)");
        }
        final List<String> common = new ArrayList<>();
        for (final String key : List.of("size-mb", "iterations", "warmup", "mtu", "term-mb", "window-mb", "threading"))
        {
            if (options.containsKey(key))
            {
                common.add("--" + key);
                common.add(options.get(key));
            }
        }

        // Plain Aeron point-to-point ceiling with the same settings.
        final List<String> p2pEndpoints = freeLoopbackEndpoints(2);
        final List<Process> p2p = new ArrayList<>();
        p2p.add(startChild("p2p-receiver", 1, p2pEndpoints, 0, common));
        p2p.add(startChild("p2p-sender", 0, p2pEndpoints, 0, common));
        final List<String> p2pResults = collect(p2p);
        final double ceilingSeconds = jsonNumber(p2pResults.get(1), "median_s");
        final long bytes = (long)sizeMb * 1024 * 1024;
        final double ceilingGbPerS = bytes / ceilingSeconds / 1e9;

        // The ring.
        final List<String> endpoints = freeLoopbackEndpoints(procs);
        final long token = ThreadLocalRandom.current().nextLong();
        final List<Process> ring = new ArrayList<>();
        for (int rank = 0; rank < procs; rank++)
        {
            ring.add(startChild("ring", rank, endpoints, token, common));
        }
        final List<String> ringResults = collect(ring);
        final double[][] secondsByRank = new double[procs][];
        for (int rank = 0; rank < procs; rank++)
        {
            secondsByRank[rank] = jsonArray(ringResults.get(rank), "iteration_s");
            System.err.println("rank " + rank + ": " + ringResults.get(rank));
        }
        final int iterations = secondsByRank[0].length;
        final double[] slowest = new double[iterations];
        for (int i = 0; i < iterations; i++)
        {
            for (int rank = 0; rank < procs; rank++)
            {
                slowest[i] = Math.max(slowest[i], secondsByRank[rank][i]);
            }
        }
        final double medianSeconds = median(slowest);
        final double algbw = bytes / medianSeconds / 1e9;
        final double busbw = algbw * 2.0 * (procs - 1) / procs;

        System.out.println(String.format(Locale.ROOT,
            "{\"busbw_gb_s\":%.4f,\"algbw_gb_s\":%.4f,\"aeron_ceiling_gb_s\":%.4f,\"tree_aggregate_gb_s\":null," +
            "\"procs\":%d,\"size_mb\":%d,\"iterations\":%d,\"median_s\":%.6f,\"iteration_s\":%s," +
            "\"mtu\":%s,\"term_mb\":%s,\"window_mb\":%s,\"threading\":\"%s\"," +
            "\"note\":\"tree_aggregate_gb_s: Spark treeAggregate comparison comes with the Spark module\"}",
            busbw, algbw, ceilingGbPerS, procs, sizeMb, iterations, medianSeconds, Arrays.toString(slowest),
            options.getOrDefault("mtu", String.valueOf(RingConfig.MAX_MTU)),
            options.getOrDefault("term-mb", String.valueOf(RingConfig.DEFAULT_TERM_LENGTH >> 20)),
            options.getOrDefault("window-mb", "4"),
            options.getOrDefault("threading", "shared")));
    }

    private static Process startChild(
        final String role, final int rank, final List<String> endpoints, final long token, final List<String> common)
        throws IOException
    {
        final List<String> command = new ArrayList<>();
        command.add(System.getProperty("java.home") + File.separator + "bin" + File.separator + "java");
        final List<String> jvmFlags = ManagementFactory.getRuntimeMXBean().getInputArguments();
        command.addAll(jvmFlags);
        if (!jvmFlags.contains("--add-exports=java.base/jdk.internal.misc=ALL-UNNAMED"))
        {
            command.add("--add-exports=java.base/jdk.internal.misc=ALL-UNNAMED");
        }
        command.add("-cp");
        command.add(System.getProperty("java.class.path"));
        command.add(AllReduceBench.class.getName());
        command.addAll(List.of("--child", role, "--rank", String.valueOf(rank),
            "--endpoints", String.join(",", endpoints), "--token", String.valueOf(token)));
        command.addAll(common);
        return new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.INHERIT).start();
    }

    /**
     * @return each child's RESULT line (without the prefix), in order; fails if a child fails or times out.
     */
    private static List<String> collect(final List<Process> processes) throws Exception
    {
        final List<String> results = new ArrayList<>();
        final String[] resultByChild = new String[processes.size()];
        final List<Thread> readers = new ArrayList<>();
        for (int i = 0; i < processes.size(); i++)
        {
            final int child = i;
            final Thread reader = new Thread(() ->
            {
                try (BufferedReader lines = new BufferedReader(
                    new InputStreamReader(processes.get(child).getInputStream(), StandardCharsets.UTF_8)))
                {
                    String line;
                    while (null != (line = lines.readLine()))
                    {
                        if (line.startsWith(RESULT_PREFIX))
                        {
                            resultByChild[child] = line.substring(RESULT_PREFIX.length());
                        }
                        else
                        {
                            System.err.println("[child " + child + "] " + line);
                        }
                    }
                }
                catch (final IOException ignore)
                {
                }
            });
            reader.start();
            readers.add(reader);
        }
        for (int i = 0; i < processes.size(); i++)
        {
            final Process process = processes.get(i);
            if (!process.waitFor(CHILD_TIMEOUT_S, TimeUnit.SECONDS))
            {
                processes.forEach(Process::destroyForcibly);
                throw new IllegalStateException("benchmark child " + i + " did not finish in " + CHILD_TIMEOUT_S + " s");
            }
            readers.get(i).join();
            if (0 != process.exitValue() || null == resultByChild[i])
            {
                processes.forEach(Process::destroyForcibly);
                throw new IllegalStateException("benchmark child " + i + " failed (exit " + process.exitValue() +
                    "): see its stderr above");
            }
            results.add(resultByChild[i]);
        }
        return results;
    }

    // ----------------------------------------------------------------------------------------------------------------
    // Children
    // ----------------------------------------------------------------------------------------------------------------

    private static RingConfig childConfig(final Map<String, String> options)
    {
        return RingConfig.builder()
            .rank(Integer.parseInt(require(options, "rank")))
            .endpoints(List.of(require(options, "endpoints").split(",")))
            .sessionToken(Long.parseLong(options.getOrDefault("token", "0")))
            .mtu(Integer.parseInt(options.getOrDefault("mtu", String.valueOf(RingConfig.MAX_MTU))))
            .termLength(Integer.parseInt(options.getOrDefault("term-mb",
                String.valueOf(RingConfig.DEFAULT_TERM_LENGTH >> 20))) * 1024 * 1024)
            .receiverWindowBytes(Integer.parseInt(options.getOrDefault("window-mb", "4")) * 1024 * 1024)
            .peerTimeoutNs(TimeUnit.SECONDS.toNanos(30))
            .build();
    }

    private static EmbeddedMediaDriver launchDriver(final RingConfig config, final Map<String, String> options)
    {
        final ThreadingMode mode = ThreadingMode.valueOf(
            options.getOrDefault("threading", "shared").toUpperCase(Locale.ROOT));
        return EmbeddedMediaDriver.launch(EmbeddedMediaDriver.Settings.forRing(config).threadingMode(mode));
    }

    private static void runRingChild(final Map<String, String> options)
    {
        final RingConfig config = childConfig(options);
        final int sizeMb = Integer.parseInt(require(options, "size-mb"));
        final int iterations = Integer.parseInt(options.getOrDefault("iterations", "5"));
        final int warmup = Integer.parseInt(options.getOrDefault("warmup", "2"));
        final int length = sizeMb * 1024 * 1024 / Float.BYTES;
        final int p = config.worldSize();
        final float expected = p * (p + 1) / 2.0f;

        final FloatBuffer data = ByteBuffer.allocateDirect(length * Float.BYTES).order(ByteOrder.nativeOrder())
            .asFloatBuffer();
        final FloatBuffer barrier = ByteBuffer.allocateDirect(Float.BYTES).order(ByteOrder.nativeOrder())
            .asFloatBuffer();
        final double[] seconds = new double[iterations];
        try (EmbeddedMediaDriver driver = launchDriver(config, options);
            AeronRingAllReduce allReduce = new AeronRingAllReduce(config, driver.aeronDirectoryName()))
        {
            for (int i = 0; i < warmup + iterations; i++)
            {
                for (int e = 0; e < length; e++)
                {
                    data.put(e, config.rank() + 1);
                }
                allReduce.allReduceSum(barrier, 0, 1);
                final long startNs = System.nanoTime();
                allReduce.allReduceSum(data, 0, length);
                final long elapsedNs = System.nanoTime() - startNs;
                for (int e = 0; e < length; e += 997)
                {
                    if (data.get(e) != expected)
                    {
                        throw new IllegalStateException("rank " + config.rank() + " element " + e + " = " +
                            data.get(e) + ", expected " + expected);
                    }
                }
                if (i >= warmup)
                {
                    seconds[i - warmup] = elapsedNs / 1e9;
                }
            }
            System.out.println(RESULT_PREFIX + "{\"rank\":" + config.rank() + ",\"iteration_s\":" +
                Arrays.toString(seconds) + ",\"elements_per_message\":" + allReduce.elementsPerMessage() +
                ",\"rejected_frames\":" + allReduce.rejectedFrameCount() +
                ",\"naks_sent\":" + allReduce.driverSystemCounter(AeronCounters.SYSTEM_COUNTER_ID_NAK_MESSAGES_SENT) +
                ",\"retransmits_sent\":" + allReduce.driverSystemCounter(AeronCounters.SYSTEM_COUNTER_ID_RETRANSMITS_SENT) +
                ",\"short_sends\":" + allReduce.driverSystemCounter(AeronCounters.SYSTEM_COUNTER_ID_SHORT_SENDS) +
                ",\"driver_errors\":" + allReduce.driverSystemCounter(AeronCounters.SYSTEM_COUNTER_ID_ERRORS) + "}");
        }
    }

    private static void runP2pSender(final Map<String, String> options)
    {
        final RingConfig config = childConfig(options);
        final long bytes = Long.parseLong(require(options, "size-mb")) * 1024 * 1024;
        final int iterations = Integer.parseInt(options.getOrDefault("iterations", "5"));
        final int warmup = Integer.parseInt(options.getOrDefault("warmup", "2"));
        final int messageLength = config.messageBytes();
        final int payloadLength = messageLength - AllReduceFrame.HEADER_LENGTH;
        final UnsafeBuffer source = new UnsafeBuffer(ByteBuffer.allocateDirect((int)bytes));
        final IdleStrategy idle = config.newIdleStrategy();
        final BufferClaim claim = new BufferClaim();
        final double[] seconds = new double[iterations];
        final int[] acks = new int[1];
        final FragmentHandler onAck = (buffer, offset, length, header) -> acks[0]++;

        try (EmbeddedMediaDriver driver = launchDriver(config, options);
            Aeron aeron = Aeron.connect(new Aeron.Context().aeronDirectoryName(driver.aeronDirectoryName()));
            ExclusivePublication publication = aeron.addExclusivePublication(config.publicationChannel(), P2P_STREAM_ID);
            Subscription acknowledgements = aeron.addSubscription(config.subscriptionChannel(), P2P_STREAM_ID))
        {
            awaitConnected(publication, acknowledgements, idle);
            for (int i = 0; i < warmup + iterations; i++)
            {
                final long startNs = System.nanoTime();
                for (long sent = 0; sent < bytes; )
                {
                    final int chunk = (int)Math.min(payloadLength, bytes - sent);
                    final long result = publication.tryClaim(AllReduceFrame.HEADER_LENGTH + chunk, claim);
                    if (result > 0)
                    {
                        claim.buffer().putBytes(claim.offset() + AllReduceFrame.HEADER_LENGTH, source, (int)sent, chunk);
                        claim.commit();
                        sent += chunk;
                        idle.reset();
                    }
                    else
                    {
                        checkPublication(result);
                        acknowledgements.poll(onAck, 1);
                        idle.idle();
                    }
                }
                while (acks[0] <= i)
                {
                    idle.idle(acknowledgements.poll(onAck, 1));
                }
                if (i >= warmup)
                {
                    seconds[i - warmup] = (System.nanoTime() - startNs) / 1e9;
                }
            }
            System.out.println(RESULT_PREFIX + "{\"median_s\":" + median(seconds.clone()) + ",\"iteration_s\":" +
                Arrays.toString(seconds) + ",\"message_bytes\":" + messageLength + "}");
        }
    }

    private static void runP2pReceiver(final Map<String, String> options)
    {
        final RingConfig config = childConfig(options);
        final long bytes = Long.parseLong(require(options, "size-mb")) * 1024 * 1024;
        final int rounds = Integer.parseInt(options.getOrDefault("iterations", "5")) +
            Integer.parseInt(options.getOrDefault("warmup", "2"));
        final UnsafeBuffer target = new UnsafeBuffer(ByteBuffer.allocateDirect((int)bytes));
        final UnsafeBuffer ack = new UnsafeBuffer(ByteBuffer.allocateDirect(8));
        final IdleStrategy idle = config.newIdleStrategy();
        final long[] received = new long[1];
        final FragmentHandler onData = (buffer, offset, length, header) ->
        {
            final int payload = length - AllReduceFrame.HEADER_LENGTH;
            target.putBytes((int)(received[0] % bytes), buffer, offset + AllReduceFrame.HEADER_LENGTH, payload);
            received[0] += payload;
        };

        try (EmbeddedMediaDriver driver = launchDriver(config, options);
            Aeron aeron = Aeron.connect(new Aeron.Context().aeronDirectoryName(driver.aeronDirectoryName()));
            ExclusivePublication acknowledgements =
                aeron.addExclusivePublication(config.publicationChannel(), P2P_STREAM_ID);
            Subscription subscription = aeron.addSubscription(config.subscriptionChannel(), P2P_STREAM_ID))
        {
            awaitConnected(acknowledgements, subscription, idle);
            for (int round = 1; round <= rounds; round++)
            {
                while (received[0] < round * bytes)
                {
                    idle.idle(subscription.poll(onData, 64));
                }
                long result;
                while ((result = acknowledgements.offer(ack, 0, 8)) < 0)
                {
                    checkPublication(result);
                    idle.idle();
                }
            }
            System.out.println(RESULT_PREFIX + "{\"received_bytes\":" + received[0] + "}");
        }
    }

    private static void awaitConnected(final Publication publication, final Subscription subscription,
        final IdleStrategy idle)
    {
        final long deadlineNs = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!publication.isConnected() || !subscription.isConnected())
        {
            if (System.nanoTime() > deadlineNs)
            {
                throw new IllegalStateException("point-to-point peers did not connect within 30 s");
            }
            idle.idle();
        }
        idle.reset();
    }

    private static void checkPublication(final long result)
    {
        if (Publication.CLOSED == result || Publication.MAX_POSITION_EXCEEDED == result)
        {
            throw new IllegalStateException("publication failed: " + Publication.errorString(result));
        }
    }

    // ----------------------------------------------------------------------------------------------------------------
    // Helpers
    // ----------------------------------------------------------------------------------------------------------------

    private static Map<String, String> parse(final String[] args)
    {
        final Map<String, String> options = new HashMap<>();
        for (int i = 0; i < args.length; i++)
        {
            if (!args[i].startsWith("--") || i + 1 >= args.length)
            {
                throw new IllegalArgumentException("usage: AllReduceBench --procs P --size-mb M [--iterations N] " +
                    "[--warmup W] [--mtu BYTES] [--term-mb MB] [--window-mb MB] [--threading shared|dedicated]; " +
                    "bad argument: " + args[i]);
            }
            options.put(args[i].substring(2), args[++i]);
        }
        return options;
    }

    private static String require(final Map<String, String> options, final String key)
    {
        final String value = options.get(key);
        if (null == value)
        {
            throw new IllegalArgumentException("missing --" + key);
        }
        return value;
    }

    /** {@code count} distinct free UDP ports on loopback (also used by the comm tests). */
    static List<String> freeLoopbackEndpoints(final int count) throws IOException
    {
        final List<DatagramSocket> sockets = new ArrayList<>();
        final List<String> endpoints = new ArrayList<>();
        try
        {
            for (int i = 0; i < count; i++)
            {
                final DatagramSocket socket = new DatagramSocket(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
                sockets.add(socket);
                endpoints.add("127.0.0.1:" + socket.getLocalPort());
            }
        }
        finally
        {
            sockets.forEach(CloseHelper::quietClose);
        }
        return endpoints;
    }

    private static double median(final double[] values)
    {
        final double[] sorted = values.clone();
        Arrays.sort(sorted);
        final int n = sorted.length;
        return 0 == n % 2 ? (sorted[n / 2 - 1] + sorted[n / 2]) / 2 : sorted[n / 2];
    }

    private static double jsonNumber(final String json, final String key)
    {
        final Matcher matcher = Pattern.compile("\"" + key + "\":([-0-9.eE]+)").matcher(json);
        if (!matcher.find())
        {
            throw new IllegalStateException("no " + key + " in " + json);
        }
        return Double.parseDouble(matcher.group(1));
    }

    private static double[] jsonArray(final String json, final String key)
    {
        final Matcher matcher = Pattern.compile("\"" + key + "\":\\[([^\\]]*)]").matcher(json);
        if (!matcher.find())
        {
            throw new IllegalStateException("no " + key + " in " + json);
        }
        return Arrays.stream(matcher.group(1).split(",")).map(String::trim).mapToDouble(Double::parseDouble).toArray();
    }
}
